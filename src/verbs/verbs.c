/* verbs: the verbs' option parser, usage and dispatch (see verbs.h). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "verbs/verbs.h"

#define LIST_COLUMN	30	/* where "pldns --help" starts a verb's line */

static int
usage_status(const struct verb *v)
{
	return v->usage_status != 0 ? v->usage_status : VERB_EX_USAGE;
}

/* getopt's option string and long options for V, with -h and --help. */
static void
getopt_spec(const struct verb *v, char *shortopts, size_t len,
    struct option *longopts)
{
	size_t s = 0, l = 0;

	for (const struct verb_opt *o = v->opts; o != NULL && o->ch != 0; o++) {
		if (!(o->flags & VERB_LONG) && s + 3 < len) {
			shortopts[s++] = (char)o->ch;
			if (o->flags & VERB_ARG)
				shortopts[s++] = ':';
		}
		if (o->name != NULL)
			longopts[l++] = (struct option){ o->name, (o->flags &
			    VERB_ARG) ? required_argument : no_argument, NULL,
			    o->ch };
	}
	shortopts[s++] = 'h';
	shortopts[s] = '\0';
	longopts[l++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[l] = (struct option){ NULL, 0, NULL, 0 };
}

enum verb_parsed
verb_parse(const struct verb *v, int argc, char **argv, struct verb_args *a)
{
	struct option *longopts;
	char shortopts[64];
	size_t nopts = 0;
	int ch;

	memset(a, 0, sizeof(*a));
	a->verb = v;
	for (const struct verb_opt *o = v->opts; o != NULL && o->ch != 0; o++)
		nopts++;
	longopts = xcalloc(nopts + 2, sizeof(*longopts));
	getopt_spec(v, shortopts, sizeof(shortopts), longopts);
	a->v = xcalloc((size_t)argc + 1, sizeof(*a->v));
	/* 0, not 1: GNU getopt starts afresh, whatever an earlier parse left. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (ch == 'h' || ch == '?' || ch == ':') {
			free(longopts);
			verb_args_clear(a);
			return ch == 'h' ? VERB_HELP : VERB_USAGE;
		}
		a->v[a->nv].ch = ch;
		a->v[a->nv++].val = optarg;
	}
	free(longopts);
	a->argv = argv + optind;
	a->argc = argc - optind;
	if (a->argc < v->lower || (v->upper != VERB_ANY && a->argc > v->upper)) {
		verb_args_clear(a);
		return VERB_USAGE;
	}
	return VERB_RUN;
}

void
verb_args_clear(struct verb_args *a)
{
	free(a->v);
	a->v = NULL;
	a->nv = 0;
}

int
verb_exec(const struct verb *v, int argc, char **argv)
{
	struct verb_args a;
	int status;

	switch (verb_parse(v, argc, argv, &a)) {
	case VERB_HELP:
		verb_usage(v, stdout);
		return 0;
	case VERB_USAGE:
		verb_usage(v, stderr);
		return usage_status(v);
	case VERB_RUN:
		break;
	}
	status = v->run(&a);
	verb_args_clear(&a);
	return status;
}

bool
verb_has(const struct verb_args *a, int ch)
{
	for (size_t i = 0; i < a->nv; i++)
		if (a->v[i].ch == ch)
			return true;
	return false;
}

const char *
verb_get(const struct verb_args *a, int ch, const char *def)
{
	const char *val = def;

	/* The last one given counts, as with getopt loops. */
	for (size_t i = 0; i < a->nv; i++)
		if (a->v[i].ch == ch)
			val = a->v[i].val;
	return val;
}

const char *
verb_next(const struct verb_args *a, int ch, size_t *i)
{
	for (; *i < a->nv; (*i)++)
		if (a->v[*i].ch == ch)
			return a->v[(*i)++].val;
	return NULL;
}

/* LEAD, then the synopsis S with its continuation lines under INDENT
 * spaces; returns the width of the last line. */
static size_t
print_synopsis(FILE *f, const char *lead, const char *s, size_t indent)
{
	size_t width = strlen(lead);
	const char *nl;

	fputs(lead, f);
	while ((nl = strchr(s, '\n')) != NULL) {
		fprintf(f, "%.*s\n%*s", (int)(nl - s), s, (int)indent, "");
		s = nl + 1;
		width = indent;
	}
	fputs(s, f);
	return width + strlen(s);
}

void
verb_usage(const struct verb *v, FILE *f)
{
	char lead[64];

	snprintf(lead, sizeof(lead), "usage: pldns %s%s", v->name,
	    v->usage[0] != '\0' ? " " : "");
	print_synopsis(f, lead, v->usage, strlen(lead));
	fprintf(f, "\n%s", v->text);
}

int
verb_error(const struct verb *v, bool usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pldns: %s: ", v->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (usage)
		verb_usage(v, stderr);
	return usage_status(v);
}

/* True when NAME is one of the '|'-separated names in LIST. */
static bool
name_in(const char *list, const char *name)
{
	size_t len = strlen(name);

	while (list != NULL) {
		const char *bar = strchr(list, '|');
		size_t n = bar != NULL ? (size_t)(bar - list) : strlen(list);

		if (n == len && strncmp(list, name, n) == 0)
			return true;
		list = bar != NULL ? bar + 1 : NULL;
	}
	return false;
}

const struct verb *
verb_find(const struct verb *const *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i]->name, name) == 0 ||
		    name_in(table[i]->alias, name))
			return table[i];
	return NULL;
}

void
verb_list(const struct verb *const *table, size_t n, FILE *f)
{
	fputs("usage: pldns VERB [options]\n\nverbs:\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct verb *v = table[i];
		char lead[64];
		size_t w;

		if (v->help == NULL)
			continue;
		snprintf(lead, sizeof(lead), "  %s%s", v->name,
		    v->usage[0] != '\0' ? " " : "");
		w = print_synopsis(f, lead, v->usage, strlen(lead));
		if (w + 2 > LIST_COLUMN)
			fprintf(f, "\n%*s%s\n", LIST_COLUMN, "", v->help);
		else
			fprintf(f, "%*s%s\n", (int)(LIST_COLUMN - w), "", v->help);
	}
	fputs("\npldns VERB --help describes one verb.  See pldns(8) and "
	    "pldns.ini(5).\n", f);
}
