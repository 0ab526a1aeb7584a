/*
 * doctor_missing: the names clients miss, as the running pldns counts them
 * (GET /status, doc/missing.md), judged against public DNS.  The querying
 * is in doctor.c with the other checks; here are the parsing and the
 * verdicts, pure so that they are tested without a network.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "verbs/doctor.h"
#include "util/util.h"
#include "wire/wire.h"

int
doctor_missed_parse(const char *json, struct doctor_missed **out, size_t *n)
{
	json_t *root, *top;
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	if ((root = json_loads(json, 0, NULL)) == NULL)
		return -1;
	top = json_object_get(json_object_get(root, "missing"), "top");
	if (!json_is_array(top)) {
		json_decref(root);
		return -1;
	}
	*out = xcalloc(json_array_size(top) + 1, sizeof(**out));
	for (i = 0; i < json_array_size(top); i++) {
		json_t *e = json_array_get(top, i);
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *zone = json_string_value(json_object_get(e, "zone"));
		json_t *count = json_object_get(e, "count");

		if (name == NULL || zone == NULL || !json_is_integer(count) ||
		    json_integer_value(count) < 0)
			continue;
		pl_strlcpy((*out)[k].name, name, sizeof((*out)[k].name));
		pl_strlcpy((*out)[k].zone, zone, sizeof((*out)[k].zone));
		(*out)[k].count = (uint64_t)json_integer_value(count);
		k++;
	}
	*n = k;
	json_decref(root);
	return 0;
}

static void verdict(struct doctor_verdict *v, enum doctor_status st,
    const char *hint, ...) __attribute__((format(printf, 3, 4)));

static void
verdict(struct doctor_verdict *v, enum doctor_status st, const char *hint, ...)
{
	va_list ap;

	v->status = st;
	va_start(ap, hint);
	vsnprintf(v->hint, sizeof(v->hint), hint, ap);
	va_end(ap);
}

void
doctor_judge_missed(const struct doctor_missed *m, const char *plname,
    bool held, const struct doctor_reply *r, struct doctor_verdict *v)
{
	static const char *const rcodes[] = { "NOERROR", "FORMERR", "SERVFAIL",
	    "NXDOMAIN", "NOTIMP", "REFUSED" };
	char asked[64], addrs[256];
	size_t n;

	memset(v, 0, sizeof(*v));
	snprintf(asked, sizeof(asked), "asked %" PRIu64 " time%s", m->count,
	    m->count == 1 ? "" : "s");
	if (held) {
		snprintf(v->got, sizeof(v->got), "%s; in the sources now", asked);
		v->status = DOCTOR_OK;
		return;
	}
	if (r == NULL || r->outcome != DOCTOR_ANSWER) {
		snprintf(v->got, sizeof(v->got), "%s; public DNS: %s", asked,
		    r == NULL ? "not asked" : r->outcome == DOCTOR_TIMEOUT ?
		    "timeout" : r->outcome == DOCTOR_CLOSED ? "port closed" :
		    r->error);
		verdict(v, DOCTOR_WARNING, "clients asked for %s %" PRIu64 " time%s "
		    "and no source holds it; no upstream answered for it, so "
		    "whether it has a private endpoint is unknown: look it up "
		    "in the Azure portal", m->name, m->count, m->count == 1 ?
		    "" : "s");
		return;
	}
	if (doctor_chain_has(r, plname)) {
		snprintf(v->got, sizeof(v->got), "%s; public DNS: CNAME to %s",
		    asked, plname);
		verdict(v, DOCTOR_PROBLEM, "clients asked for %s %" PRIu64 " time%s; "
		    "public DNS says it has a private endpoint (CNAME to %s); no "
		    "source holds it: download DNS settings again", m->name,
		    m->count, m->count == 1 ? "" : "s", plname);
		return;
	}
	if (r->rcode != RCODE_NOERROR) {
		snprintf(v->got, sizeof(v->got), "%s; public DNS: %s", asked,
		    r->rcode >= 0 && (size_t)r->rcode < sizeof(rcodes) /
		    sizeof(rcodes[0]) ? rcodes[r->rcode] : "an error");
		if (r->rcode == RCODE_NXDOMAIN)
			verdict(v, DOCTOR_WARNING, "public DNS does not know %s "
			    "either: clients ask for a name that does not exist "
			    "(a typo, a deleted resource); fix the clients' "
			    "configuration", m->name);
		else
			verdict(v, DOCTOR_WARNING, "public DNS could not say "
			    "whether %s has a private endpoint: check the name in "
			    "the Azure portal", m->name);
		return;
	}
	n = r->naddrs;
	snprintf(v->got, sizeof(v->got), "%s; public DNS: no privatelink CNAME%s%s",
	    asked, n > 0 ? ", " : "", n > 0 ? doctor_ips_str(r->addrs, n, addrs,
	    sizeof(addrs)) : "");
	verdict(v, DOCTOR_WARNING, "public DNS has no private endpoint for %s: "
	    "clients reach it at its public address; if it should be private, "
	    "create its private endpoint, then download DNS settings again",
	    m->name);
}
