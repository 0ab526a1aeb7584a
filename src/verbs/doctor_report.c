/* doctor_report: the findings of "pldns doctor", sorted, as a table or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "verbs/doctor.h"
#include "util/util.h"

void
doctor_report_init(struct doctor_report *r)
{
	memset(r, 0, sizeof(*r));
}

static void
finding_clear(struct doctor_finding *f)
{
	free(f->check);
	free(f->zone);
	free(f->name);
	free(f->server);
	free(f->expected);
	free(f->got);
	free(f->hint);
	free(f->where);
}

void
doctor_report_clear(struct doctor_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		finding_clear(&r->f[i]);
	free(r->f);
	memset(r, 0, sizeof(*r));
}

void
doctor_set(char **field, const char *s)
{
	free(*field);
	*field = s != NULL ? xstrdup(s) : NULL;
}

struct doctor_finding *
doctor_add(struct doctor_report *r, const char *check, enum doctor_status status,
    const char *zone, const char *name, const char *expected, const char *got,
    const char *hint)
{
	struct doctor_finding *f;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->f = xreallocarray(r->f, r->cap, sizeof(*r->f));
	}
	f = &r->f[r->n++];
	memset(f, 0, sizeof(*f));
	f->check = xstrdup(check);
	f->status = status;
	doctor_set(&f->zone, zone);
	doctor_set(&f->name, name);
	doctor_set(&f->expected, expected);
	doctor_set(&f->got, got);
	doctor_set(&f->hint, hint != NULL && *hint != '\0' ? hint : NULL);
	f->rtt_ms = -1;
	return f;
}

void
doctor_count(const struct doctor_report *r, size_t *ok, size_t *warnings,
    size_t *problems)
{
	size_t c[3] = { 0, 0, 0 };

	for (size_t i = 0; i < r->n; i++)
		c[r->f[i].status]++;
	if (ok != NULL)
		*ok = c[DOCTOR_OK];
	if (warnings != NULL)
		*warnings = c[DOCTOR_WARNING];
	if (problems != NULL)
		*problems = c[DOCTOR_PROBLEM];
}

int
doctor_exit_status(const struct doctor_report *r)
{
	size_t problems;

	doctor_count(r, NULL, NULL, &problems);
	return problems ? DOCTOR_EXIT_PROBLEMS : DOCTOR_EXIT_OK;
}

void
doctor_sort(struct doctor_report *r)
{
	struct doctor_finding *out;
	char **zones;
	size_t nz = 0, k = 0;

	if (r->n == 0)
		return;
	/* Zones in order of first appearance; infrastructure is group 0. */
	zones = xcalloc(r->n, sizeof(*zones));
	for (size_t i = 0; i < r->n; i++) {
		size_t z;

		if (r->f[i].zone == NULL)
			continue;
		for (z = 0; z < nz; z++)
			if (strcmp(zones[z], r->f[i].zone) == 0)
				break;
		if (z == nz)
			zones[nz++] = r->f[i].zone;
	}
	out = xcalloc(r->cap, sizeof(*out));
	for (size_t i = 0; i < r->n; i++)
		if (r->f[i].zone == NULL)
			out[k++] = r->f[i];
	for (size_t z = 0; z < nz; z++)
		for (size_t i = 0; i < r->n; i++)
			if (r->f[i].zone != NULL && strcmp(r->f[i].zone, zones[z]) == 0)
				out[k++] = r->f[i];
	free(zones);
	free(r->f);
	r->f = out;
}

static const char *const status_words[] = { "ok", "warning", "problem" };
static const char *const status_marks[] = { "\u2713", "!", "\u2717" };

static json_t *
jstr(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

char *
doctor_json(const struct doctor_report *r)
{
	json_t *a = json_array();
	char *text, *out;

	for (size_t i = 0; i < r->n; i++) {
		const struct doctor_finding *f = &r->f[i];
		json_t *o = json_object();

		json_object_set_new(o, "check", jstr(f->check));
		json_object_set_new(o, "status", json_string(status_words[f->status]));
		json_object_set_new(o, "zone", jstr(f->zone));
		json_object_set_new(o, "name", jstr(f->name));
		json_object_set_new(o, "server", jstr(f->server));
		json_object_set_new(o, "expected", jstr(f->expected));
		json_object_set_new(o, "got", jstr(f->got));
		json_object_set_new(o, "hint", jstr(f->hint));
		json_object_set_new(o, "where", jstr(f->where));
		json_object_set_new(o, "rtt_ms", f->rtt_ms >= 0 ?
		    json_integer(f->rtt_ms) : json_null());
		json_array_append_new(a, o);
	}
	text = json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(a);
	if (text == NULL)
		abort();
	xasprintf(&out, "%s\n", text);
	free(text);
	return out;
}

const char *
doctor_summary(const struct doctor_report *r, char *buf, size_t len)
{
	size_t ok, warnings, problems;

	doctor_count(r, &ok, &warnings, &problems);
	snprintf(buf, len, "%zu check%s: %zu ok, %zu problem%s, %zu warning%s",
	    r->n, r->n == 1 ? "" : "s", ok, problems, problems == 1 ? "" : "s",
	    warnings, warnings == 1 ? "" : "s");
	return buf;
}

static size_t
width_of(const char *s, size_t cap)
{
	size_t n = s != NULL ? strlen(s) : 1;

	return n < cap ? n : cap;
}

void
doctor_print_table(const struct doctor_report *r, FILE *f)
{
	size_t wc = 5, wn = 4, we = 8, wg = 3;
	const char *group = NULL;
	char sum[160];

	for (size_t i = 0; i < r->n; i++) {
		const struct doctor_finding *x = &r->f[i];
		size_t w;

		if ((w = width_of(x->check, 16)) > wc)
			wc = w;
		if ((w = width_of(x->name, 64)) > wn)
			wn = w;
		if ((w = width_of(x->expected, 32)) > we)
			we = w;
		if ((w = width_of(x->got, 40)) > wg)
			wg = w;
	}
	fprintf(f, "  %-*s  %-*s  %-*s  %-*s  %s\n", (int)wc, "CHECK", (int)wn,
	    "NAME", (int)we, "EXPECTED", (int)wg, "GOT", "HINT");
	for (size_t i = 0; i < r->n; i++) {
		const struct doctor_finding *x = &r->f[i];
		const char *g = x->zone != NULL ? x->zone : "infrastructure";

		if (group == NULL || strcmp(group, g) != 0) {
			fprintf(f, "%s%s\n", group == NULL ? "" : "\n", g);
			group = g;
		}
		fprintf(f, "%s %-*s  %-*s  %-*s  ", status_marks[x->status],
		    (int)wc, x->check, (int)wn, x->name ? x->name : "-",
		    (int)we, x->expected ? x->expected : "-");
		/* No trailing blanks when the hint column is empty. */
		if (x->hint != NULL)
			fprintf(f, "%-*s  %s\n", (int)wg, x->got ? x->got : "-",
			    x->hint);
		else
			fprintf(f, "%s\n", x->got ? x->got : "-");
	}
	fprintf(f, "\n%s\n", doctor_summary(r, sum, sizeof(sum)));
}
