/*
 * doctor: "pldns doctor", the DNS steps of Microsoft's "troubleshoot network
 * connectivity" for private endpoints, run in seconds from what pldns knows.
 *
 * How it runs:
 *  1. Load the configuration and every record source (as pldns would); the
 *     A/AAAA records are the expectations, each with its "file:line".
 *  2. Probe the infrastructure, every query at once: the server under test
 *     and each listen address (UDP and TCP), each upstream and [forward]
 *     server (UDP, with RTT), each nameserver of this machine's resolv.conf.
 *  3. Per record, again all at once: pldns for the privatelink name and for
 *     its public twin (UDP and TCP), and the upstreams that answered the
 *     probe for the public name.  A transport or server that failed its
 *     probe is reported once there and not asked again per record, so that
 *     a dead server costs one timeout, not one per record.
 *  4. Judge the replies and the data (private range, expect_subnets,
 *     duplicates, the Azure Migrate set); print a table or JSON.
 *
 * Queries go only to the addresses the configuration, --server and
 * resolv.conf name.  This file is the verb: options, gathering the facts,
 * the order of the steps.  The verdicts on those facts are in
 * doctor_verdict.c, the Azure Migrate checks in doctor_migrate.c (both
 * doctor.h), the query engine in doctor_query.c (doctor_query.h), the
 * report's sorting and printing in doctor_report.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/addr.h"
#include "data/azure_zones.h"
#include "data/config.h"
#include "util/diag.h"
#include "verbs/doctor.h"
#include "verbs/doctor_query.h"
#include "data/records.h"
#include "data/records_load.h"
#include "util/resolvconf.h"
#include "util/util.h"
#include "verbs/verbs.h"
#include "wire/wire.h"

#define DEFAULT_TIMEOUT_MS	1500

/* Appends SRC to the string DST of SIZE bytes, truncating. */
static void
str_cat(char *dst, const char *src, size_t size)
{
	size_t n = strlen(dst);

	if (n < size)
		pl_strlcpy(dst + n, src, size - n);
}

/* ------------------------------------------------------------ the verb */

/* One expected RRset: a name and type with the addresses the sources give. */
struct expect {
	struct doctor_rrset rr;		/* the privatelink name's */
	char pubname[AZURE_NAME_MAX];	/* "" when the zone has no twin */
	uint8_t wpl[WIRE_NAME_MAX], wpub[WIRE_NAME_MAX];
	size_t zone;			/* index into the recset's zones */
	uint16_t type;
	bool selected;
	long qpl[2], qpub[2];		/* query indexes per transport, -1 none */
	size_t qup, nqup;		/* the upstream queries for the public name */
};

/* A server the doctor asks. */
struct target {
	struct pl_addr addr;
	char str[64];
	const char *fwd;		/* [forward] zone; NULL for [upstream] */
	bool listen, under_test;
	long probe[2];			/* probe query per transport, -1 none */
	bool alive[2];
};

struct doctor {
	const struct config *cfg;
	struct recset *rs;
	unsigned timeout_ms;
	struct expect *e;
	const struct doctor_rrset **rrs;	/* each e's rr, for the checks */
	size_t ne, sample, rsample;	/* sample for probes, for the resolver */
	struct target *pl;		/* [0] is the server under test */
	size_t npl;
	struct target *up;
	size_t nup;
	struct target *ns;		/* resolv.conf nameservers */
	size_t nns;
	const char *resolv_path;
	char resolv_err[160];
	struct dqset qs;
	struct doctor_report rep;
	/* The names clients miss, from the running pldns's control endpoint,
	 * with their privatelink and public forms and upstream queries. */
	struct doctor_missed *missed;
	size_t nmissed;
	struct missed_q {
		char pl[AZURE_NAME_MAX], pub[AZURE_NAME_MAX];
		bool held;		/* a source holds PL */
		size_t q0, nq;		/* the upstream queries */
	} *mq;
};

static const char *const transports[] = { "udp", "tcp" };

struct sortkey {
	const char *zone;
	char name[AZURE_NAME_MAX];
	uint16_t type;
	size_t rec;
};

static int
sortkey_cmp(const void *a, const void *b)
{
	const struct sortkey *x = a, *y = b;
	int c;

	if ((c = strcmp(x->zone, y->zone)) != 0)
		return c;
	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return x->rec < y->rec ? -1 : x->rec > y->rec;
}

/* The A/AAAA RRsets of RS, sorted by zone and name. */
static void
build_expects(struct doctor *d)
{
	struct recset *rs = d->rs;
	struct sortkey *k = xcalloc(rs->nrecs ? rs->nrecs : 1, sizeof(*k));
	size_t nk = 0;

	for (size_t i = 0; i < rs->nrecs; i++) {
		const struct rec *r = &rs->recs[i];

		if ((r->type != TYPE_A || r->rdlen != 4) &&
		    (r->type != TYPE_AAAA || r->rdlen != 16))
			continue;
		doctor_name_str(r->owner, k[nk].name, sizeof(k[nk].name));
		/* A wildcard has no single name to ask for. */
		if (strncmp(k[nk].name, "*.", 2) == 0 ||
		    strcmp(k[nk].name, "*") == 0)
			continue;
		k[nk].zone = rs->zones[r->zone].name;
		k[nk].type = r->type;
		k[nk].rec = i;
		nk++;
	}
	qsort(k, nk, sizeof(*k), sortkey_cmp);
	d->e = xcalloc(nk ? nk : 1, sizeof(*d->e));
	for (size_t i = 0; i < nk; i++) {
		const struct rec *r = &rs->recs[k[i].rec];
		const struct rzone *z = &rs->zones[r->zone];
		struct expect *e;
		struct doctor_ip ip;

		memset(&ip, 0, sizeof(ip));
		ip.family = r->type == TYPE_A ? AF_INET : AF_INET6;
		memcpy(ip.addr, r->rdata, r->rdlen);
		if (d->ne > 0 && strcmp(d->e[d->ne - 1].rr.name, k[i].name) == 0 &&
		    d->e[d->ne - 1].type == k[i].type) {
			e = &d->e[d->ne - 1];
			if (e->rr.nips < DOCTOR_MAX_ADDRS &&
			    !doctor_ip_in(&ip, e->rr.ips, e->rr.nips)) {
				e->rr.wheres[e->rr.nips] = recset_where_str(rs, r);
				e->rr.ips[e->rr.nips++] = ip;
			}
			continue;
		}
		e = &d->e[d->ne++];
		pl_strlcpy(e->rr.name, k[i].name, sizeof(e->rr.name));
		memcpy(e->wpl, r->owner, (size_t)wire_name_len(r->owner,
		    WIRE_NAME_MAX));
		e->zone = r->zone;
		e->type = r->type;
		e->rr.ips[0] = ip;
		e->rr.wheres[0] = recset_where_str(rs, r);
		e->rr.nips = 1;
		e->qpl[0] = e->qpl[1] = e->qpub[0] = e->qpub[1] = -1;
		if (z->ntwins > 0 &&
		    doctor_public_name(e->rr.name, z->name, z->twins[0],
		    e->pubname) == 0 &&
		    wire_name_from_str(e->pubname, e->wpub, NULL) < 0)
			e->pubname[0] = '\0';
	}
	free(k);
	d->rrs = xcalloc(d->ne ? d->ne : 1, sizeof(*d->rrs));
	for (size_t i = 0; i < d->ne; i++)
		d->rrs[i] = &d->e[i].rr;
}

static void
lower_name(const char *in, char *out, size_t len)
{
	size_t n;

	pl_strlcpy(out, in, len);
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	n = strlen(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
}

static void
select_names(struct doctor *d, char **names, size_t nnames)
{
	if (nnames == 0) {
		for (size_t i = 0; i < d->ne; i++)
			d->e[i].selected = true;
		return;
	}
	for (size_t n = 0; n < nnames; n++) {
		char name[AZURE_NAME_MAX], zone[AZURE_NAME_MAX], pl[AZURE_NAME_MAX];
		char hint[512];
		bool found = false;
		int k;

		lower_name(names[n], name, sizeof(name));
		k = azure_zone_place(name, zone, pl);
		for (size_t i = 0; i < d->ne; i++) {
			struct expect *e = &d->e[i];

			if (strcmp(e->rr.name, name) == 0 ||
			    strcmp(e->pubname, name) == 0 ||
			    (k != 0 && strcmp(e->rr.name, pl) == 0)) {
				e->selected = true;
				found = true;
			}
		}
		if (found)
			continue;
		snprintf(hint, sizeof(hint), "no source of %s holds this name: "
		    "check the spelling; for a new private endpoint, download DNS "
		    "settings again (or take the FQDN and IP from the endpoint's "
		    "DNS configuration) and add it to [records] sources",
		    d->cfg->path);
		doctor_add(&d->rep, "sources", DOCTOR_PROBLEM, k ? zone : NULL,
		    name, "a record in the sources", "none", hint);
	}
}

static struct target *
target_add(struct target **v, size_t *n, const struct pl_addr *a,
    const char *fwd)
{
	struct target *t;

	for (size_t i = 0; i < *n; i++)
		if (addr_equal(&(*v)[i].addr, a) && (*v)[i].fwd == fwd)
			return &(*v)[i];
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	t = &(*v)[(*n)++];
	memset(t, 0, sizeof(*t));
	t->addr = *a;
	addr_str(a, t->str, sizeof(t->str));
	t->fwd = fwd;
	t->probe[0] = t->probe[1] = -1;
	return t;
}

/* The machine's resolvers: its resolv.conf's nameservers (a wildcard one
 * asked on loopback). */
static void
read_resolv_conf(struct doctor *d)
{
	struct resolvconf rc;

	d->resolv_path = resolvconf_path();
	if (resolvconf_read(&rc, d->resolv_path, NULL) == -1)
		snprintf(d->resolv_err, sizeof(d->resolv_err), "cannot open: %s",
		    strerror(rc.err));
	for (size_t i = 0; i < rc.nns; i++) {
		struct pl_addr a = rc.ns[i].addr;

		addr_unwildcard(&a);
		target_add(&d->ns, &d->nns, &a, NULL);
	}
	if (rc.err == 0 && d->nns == 0)
		snprintf(d->resolv_err, sizeof(d->resolv_err), "no nameserver line");
	resolvconf_clear(&rc);
}

/* True when NAME is ZONE or below it (presentation, lower-case). */
static bool
name_under(const char *name, const char *zone)
{
	return strcmp(name, zone) == 0 || doctor_name_below(name, zone);
}

/* The servers pldns forwards NAME to: the longest [forward] match, else
 * [upstream] (FWD gets the forward zone or NULL). */
static const char *
forward_zone_for(const struct config *cfg, const char *name)
{
	const char *best = NULL;

	for (size_t i = 0; i < cfg->nforwards; i++) {
		const char *f = cfg->forwards[i].name;

		if (name_under(name, f) && (best == NULL || strlen(f) > strlen(best)))
			best = f;
	}
	return best;
}

static const struct doctor_reply *
reply_of(const struct doctor *d, long q)
{
	return q >= 0 ? &d->qs.q[q].reply : NULL;
}

static struct doctor_finding *
add_verdict(struct doctor *d, const char *check, const char *zone,
    const char *name, const char *expected, const struct doctor_verdict *v)
{
	return doctor_add(&d->rep, check, v->status, zone, name, expected, v->got,
	    v->status == DOCTOR_OK ? NULL : v->hint);
}

static void
probe_all(struct doctor *d)
{
	const struct expect *s = &d->e[d->sample], *rsm = &d->e[d->rsample];
	const uint8_t *upname = s->pubname[0] ? s->wpub : s->wpl;
	const uint8_t *rname = rsm->pubname[0] ? rsm->wpub : rsm->wpl;

	for (size_t i = 0; i < d->npl; i++)
		for (int t = 0; t < 2; t++)
			d->pl[i].probe[t] = (long)dq_add(&d->qs, &d->pl[i].addr,
			    s->wpl, s->type, t == 1, i);
	for (size_t i = 0; i < d->nup; i++) {
		struct target *u = &d->up[i];
		uint8_t fz[WIRE_NAME_MAX];

		if (u->fwd != NULL && wire_name_from_str(u->fwd, fz, NULL) > 0)
			u->probe[0] = (long)dq_add(&d->qs, &u->addr, fz, TYPE_SOA,
			    false, i);
		else
			u->probe[0] = (long)dq_add(&d->qs, &u->addr, upname, s->type,
			    false, i);
	}
	for (size_t i = 0; i < d->nns; i++)
		d->ns[i].probe[0] = (long)dq_add(&d->qs, &d->ns[i].addr, rname,
		    rsm->type, false, i);
	dq_run(&d->qs, d->timeout_ms);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "blob.core.windows.net, vault.azure.net": the public zones clients ask
 * for, which a site resolver should forward to pldns. */
static void
forwarder_zones(const struct doctor *d, char *buf, size_t len, size_t *count)
{
	char **v = xcalloc(d->rs->nzones * (AZURE_TWINS_MAX + 8) + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < d->ne; i++) {
		const struct rzone *z = &d->rs->zones[d->e[i].zone];
		size_t nt = z->ntwins ? z->ntwins : 1;

		for (size_t t = 0; t < nt; t++) {
			const char *name = z->ntwins ? z->twins[t] : z->name;
			bool dup = false;

			for (size_t k = 0; k < n && !dup; k++)
				dup = strcmp(v[k], name) == 0;
			if (!dup)
				v[n++] = (char *)name;
		}
	}
	qsort(v, n, sizeof(*v), str_cmp);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (i)
			str_cat(buf, ", ", len);
		str_cat(buf, v[i], len);
	}
	*count = n;
	free(v);
}

/* The server under test and each listen address: UDP and TCP as one
 * finding; what answers is marked alive for the per-record queries. */
static void
report_listen(struct doctor *d)
{
	const struct expect *s = &d->e[d->sample];

	for (size_t i = 0; i < d->npl; i++) {
		struct target *t = &d->pl[i];
		struct doctor_verdict v[2], m;
		struct doctor_finding *f;
		const struct doctor_reply *r[2];

		for (int k = 0; k < 2; k++) {
			r[k] = reply_of(d, t->probe[k]);
			doctor_judge_reach(t->str, t->fwd, true, s->rr.name,
			    transports[k], r[k], &v[k]);
			t->alive[k] = r[k]->outcome == DOCTOR_ANSWER &&
			    r[k]->rcode != RCODE_REFUSED;
		}
		doctor_merge(&m, &v[0], &v[1]);
		if (v[0].status == DOCTOR_OK && v[1].status == DOCTOR_OK)
			snprintf(m.got, sizeof(m.got), "udp %u ms, tcp %u ms",
			    r[0]->rtt_ms, r[1]->rtt_ms);
		f = add_verdict(d, t->listen ? "listen" : "server", NULL, t->str,
		    "answers over UDP and TCP", &m);
		doctor_set(&f->server, t->str);
		if (r[0]->outcome == DOCTOR_ANSWER)
			f->rtt_ms = (int)r[0]->rtt_ms;
		else if (r[1]->outcome == DOCTOR_ANSWER)
			f->rtt_ms = (int)r[1]->rtt_ms;
	}
}

/* The [upstream] and [forward] servers: DNS over TLS is not checked, none
 * at all is a warning, and what answers is marked alive. */
static void
report_upstreams(struct doctor *d)
{
	const struct expect *s = &d->e[d->sample];
	size_t tls = 0;
	char exp[256];

	for (size_t i = 0; i < d->cfg->nupstream_specs; i++) {
		const char *spec = d->cfg->upstream_specs[i];

		if (strncasecmp(spec, "tls://", 6) != 0)
			continue;
		tls++;
		doctor_add(&d->rep, "upstream", DOCTOR_WARNING, NULL, spec,
		    "answers", "not checked (DNS over TLS)", "the doctor does "
		    "not speak DNS over TLS: check this upstream with kdig +tls "
		    "or in pldns's log (pldns ctl stats)");
	}
	if (d->nup == 0 && tls == 0)
		doctor_add(&d->rep, "upstream", DOCTOR_WARNING, NULL, NULL,
		    "an upstream server", "none", "there is no upstream server: "
		    "pldns answers its local data only and every other name "
		    "fails; set [upstream] servers (or a nameserver in "
		    "resolv.conf)");
	for (size_t i = 0; i < d->nup; i++) {
		struct target *t = &d->up[i];
		const struct doctor_reply *r = reply_of(d, t->probe[0]);
		struct doctor_verdict v;
		struct doctor_finding *f;

		doctor_judge_reach(t->str, t->fwd, false, t->fwd ? t->fwd :
		    (s->pubname[0] ? s->pubname : s->rr.name), "udp", r, &v);
		t->alive[0] = r->outcome == DOCTOR_ANSWER &&
		    r->rcode != RCODE_REFUSED;
		if (t->fwd != NULL)
			snprintf(exp, sizeof(exp), "answers (forward %s)", t->fwd);
		else
			pl_strlcpy(exp, "answers", sizeof(exp));
		f = add_verdict(d, "upstream", NULL, t->str, exp, &v);
		doctor_set(&f->server, t->str);
		if (r->outcome == DOCTOR_ANSWER)
			f->rtt_ms = (int)r->rtt_ms;
	}
}

/* This machine's resolvers (resolv.conf): does each reach pldns for the
 * sample's name, or what should forward to it. */
static void
report_resolvers(struct doctor *d)
{
	const struct expect *rsm = &d->e[d->rsample];
	const char *rname = rsm->pubname[0] ? rsm->pubname : rsm->rr.name;
	char exp[256], zones[1024], hint[2048], here[96];
	struct doctor_resolver_want want;
	size_t nz;

	forwarder_zones(d, zones, sizeof(zones), &nz);
	if (addr_is_loopback(&d->pl[0].addr))
		snprintf(here, sizeof(here), "this server (port %d)",
		    addr_port(&d->pl[0].addr));
	else
		snprintf(here, sizeof(here), "this server (%s)", d->pl[0].str);
	doctor_ips_str(rsm->rr.ips, rsm->rr.nips, exp, sizeof(exp));
	if (d->nns == 0) {
		snprintf(hint, sizeof(hint), "this machine has no usable resolver "
		    "in %s: point it at the site's DNS servers, and give those "
		    "%s %s pointing at %s", d->resolv_path, nz == 1 ?
		    "a conditional forwarder for" : "conditional forwarders for",
		    zones, here);
		doctor_add(&d->rep, "resolver", DOCTOR_WARNING, NULL,
		    d->resolv_path, "a nameserver", d->resolv_err, hint);
	}
	want = (struct doctor_resolver_want){ .resolv_path = d->resolv_path,
	    .name = rname, .ips = rsm->rr.ips, .nips = rsm->rr.nips,
	    .zones = zones, .nzones = nz, .here = here,
	    .config = d->cfg->path };
	for (size_t i = 0; i < d->nns; i++) {
		struct target *t = &d->ns[i];
		const struct doctor_reply *r = reply_of(d, t->probe[0]);
		struct doctor_verdict v;
		struct doctor_finding *f;

		doctor_judge_resolver(&want, t->str, r, &v);
		f = add_verdict(d, "resolver", NULL, rname, exp, &v);
		doctor_set(&f->server, t->str);
		if (r->outcome == DOCTOR_ANSWER)
			f->rtt_ms = (int)r->rtt_ms;
	}
}

/* Step 2's findings: the listen addresses, upstreams and resolvers. */
static void
report_infra(struct doctor *d)
{
	report_listen(d);
	report_upstreams(d);
	report_resolvers(d);
}

static void
query_records(struct doctor *d)
{
	const struct target *pl = &d->pl[0];

	for (size_t i = 0; i < d->ne; i++) {
		struct expect *e = &d->e[i];
		const char *fz;

		if (!e->selected)
			continue;
		for (int t = 0; t < 2; t++) {
			if (!pl->alive[t])
				continue;
			e->qpl[t] = (long)dq_add(&d->qs, &pl->addr, e->wpl, e->type,
			    t == 1, i);
			if (e->pubname[0])
				e->qpub[t] = (long)dq_add(&d->qs, &pl->addr, e->wpub,
				    e->type, t == 1, i);
		}
		if (!e->pubname[0])
			continue;
		fz = forward_zone_for(d->cfg, e->pubname);
		e->qup = d->qs.n;
		for (size_t k = 0; k < d->nup; k++)
			if (d->up[k].alive[0] && d->up[k].fwd == fz)
				dq_add(&d->qs, &d->up[k].addr, e->wpub, e->type,
				    false, k);
		e->nqup = d->qs.n - e->qup;
	}
	dq_run(&d->qs, d->timeout_ms);
}

static bool
soft_cname(const char *zone)
{
	/* Site Recovery's "-." record names are not published as public
	 * twins the way storage or key vault names are. */
	return strncmp(zone, "privatelink.siterecovery.", 25) == 0;
}

static void
report_records(struct doctor *d)
{
	const struct target *pl = &d->pl[0];

	for (size_t i = 0; i < d->ne; i++) {
		const struct expect *e = &d->e[i];
		const char *zone = d->rs->zones[e->zone].name;
		struct doctor_verdict v[2], m;
		struct doctor_finding *f;
		char exp[256];

		if (!e->selected)
			continue;
		doctor_ips_str(e->rr.ips, e->rr.nips, exp, sizeof(exp));
		for (int pub = 0; pub < 2; pub++) {
			const long *q = pub ? e->qpub : e->qpl;

			if (q[0] < 0 && q[1] < 0)
				continue;
			for (int t = 0; t < 2; t++)
				if (q[t] >= 0)
					doctor_judge_pldns(e->rr.ips, e->rr.nips, pub,
					    pl->str, transports[t], reply_of(d, q[t]),
					    &v[t]);
			doctor_merge(&m, q[0] >= 0 ? &v[0] : NULL, q[1] >= 0 ? &v[1] : NULL);
			f = add_verdict(d, pub ? "public" : "privatelink", zone,
			    pub ? e->pubname : e->rr.name, exp, &m);
			doctor_set(&f->server, pl->str);
			doctor_set(&f->where, e->rr.wheres[0]);
			if (q[0] >= 0 && reply_of(d, q[0])->outcome == DOCTOR_ANSWER)
				f->rtt_ms = (int)reply_of(d, q[0])->rtt_ms;
		}
		for (size_t k = 0; k < e->nqup; k++) {
			const struct dq *q = &d->qs.q[e->qup + k];

			doctor_judge_upstream(e->rr.ips, e->rr.nips, e->rr.name,
			    soft_cname(zone), &q->reply, &m);
			f = add_verdict(d, "public-chain", zone, e->pubname,
			    "privatelink CNAME", &m);
			doctor_set(&f->server, d->up[q->tag].str);
			doctor_set(&f->where, e->rr.wheres[0]);
			if (q->reply.outcome == DOCTOR_ANSWER)
				f->rtt_ms = (int)q->reply.rtt_ms;
		}
		for (size_t a = 0; a < e->rr.nips; a++) {
			char want[256];

			doctor_judge_address(&e->rr.ips[a], d->cfg->expect_subnets,
			    d->cfg->nexpect_subnets, want, sizeof(want), &m);
			f = add_verdict(d, "address", zone, e->rr.name, want, &m);
			doctor_set(&f->where, e->rr.wheres[a]);
		}
		doctor_check_duplicates(&d->rep, zone, &e->rr, d->rrs, d->ne);
	}
}

/* The privatelink form PL of a name clients miss, and its public name PUB
 * ("" when its zone has no twin or is not among the sources' zones). */
static void
missed_forms(const struct doctor *d, const struct doctor_missed *m, char *pl,
    char *pub)
{
	const struct rzone *z = NULL;

	pl_strlcpy(pl, m->name, AZURE_NAME_MAX);
	pub[0] = '\0';
	for (size_t i = 0; i < d->rs->nzones; i++)
		if (strcmp(d->rs->zones[i].name, m->zone) == 0)
			z = &d->rs->zones[i];
	if (z == NULL)
		return;
	if (doctor_name_below(m->name, z->name)) {
		if (z->ntwins > 0 && doctor_public_name(m->name, z->name,
		    z->twins[0], pub) != 0)
			pub[0] = '\0';
		return;
	}
	for (size_t t = 0; t < z->ntwins; t++) {
		int head = (int)(strlen(m->name) - strlen(z->twins[t]) - 1);

		if (!doctor_name_below(m->name, z->twins[t]))
			continue;
		if (snprintf(pl, AZURE_NAME_MAX, "%.*s.%s", head, m->name,
		    z->name) >= AZURE_NAME_MAX)
			pl_strlcpy(pl, m->name, AZURE_NAME_MAX);
		else
			pl_strlcpy(pub, m->name, AZURE_NAME_MAX);
		return;
	}
}

/*
 * Asks the running pldns (its [control] listen) for the names clients
 * miss, and queues, for each one no source holds, its public name to the
 * upstreams pldns would forward it to.
 */
static void
query_missed(struct doctor *d)
{
	char err[256], where[64], got[320], hint[512], *body = NULL;
	int status = 0;

	if (d->cfg->control_addr.len == 0)
		return;
	addr_str(&d->cfg->control_addr, where, sizeof(where));
	if (ctl_http_get(&d->cfg->control_addr, "/status", &status, &body, err,
	    sizeof(err)) != 0 || status != 200 ||
	    doctor_missed_parse(body, &d->missed, &d->nmissed) != 0) {
		if (body == NULL)
			snprintf(got, sizeof(got), "%s", err);
		else if (status != 200)
			snprintf(got, sizeof(got), "HTTP %d", status);
		else
			snprintf(got, sizeof(got), "not pldns's /status");
		snprintf(hint, sizeof(hint), "the doctor reads the names clients "
		    "miss from the running pldns's control endpoint ([control] "
		    "listen in %s): start pldns, or fix [control] listen",
		    d->cfg->path);
		doctor_add(&d->rep, "missing-name", DOCTOR_WARNING, NULL, where,
		    "the names clients miss", got, hint);
		free(body);
		return;
	}
	free(body);
	d->mq = xcalloc(d->nmissed + 1, sizeof(*d->mq));
	for (size_t i = 0; i < d->nmissed; i++) {
		struct missed_q *mq = &d->mq[i];
		uint8_t w[WIRE_NAME_MAX];
		const char *ask, *fz;

		missed_forms(d, &d->missed[i], mq->pl, mq->pub);
		for (size_t j = 0; j < d->ne; j++)
			if (strcmp(d->e[j].rr.name, mq->pl) == 0)
				mq->held = true;
		mq->q0 = d->qs.n;
		ask = mq->pub[0] ? mq->pub : mq->pl;
		if (mq->held || wire_name_from_str(ask, w, NULL) < 0)
			continue;
		fz = forward_zone_for(d->cfg, ask);
		for (size_t k = 0; k < d->nup; k++)
			if (d->up[k].alive[0] && d->up[k].fwd == fz)
				dq_add(&d->qs, &d->up[k].addr, w, TYPE_A, false, k);
		mq->nq = d->qs.n - mq->q0;
	}
}

/* One finding per name clients miss: the first upstream that answered. */
static void
report_missed(struct doctor *d)
{
	for (size_t i = 0; i < d->nmissed; i++) {
		const struct missed_q *mq = &d->mq[i];
		const struct doctor_reply *r = NULL;
		const struct target *t = NULL;
		struct doctor_verdict v;
		struct doctor_finding *f;

		for (size_t k = 0; k < mq->nq; k++) {
			const struct dq *q = &d->qs.q[mq->q0 + k];

			if (r == NULL || (r->outcome != DOCTOR_ANSWER &&
			    q->reply.outcome == DOCTOR_ANSWER)) {
				r = &q->reply;
				t = &d->up[q->tag];
			}
		}
		doctor_judge_missed(&d->missed[i], mq->pl, mq->held, r, &v);
		f = add_verdict(d, "missing-name", d->missed[i].zone,
		    d->missed[i].name, "a record in the sources", &v);
		if (t != NULL) {
			doctor_set(&f->server, t->str);
			if (r->outcome == DOCTOR_ANSWER)
				f->rtt_ms = (int)r->rtt_ms;
		}
	}
}

static void
report_migrate(struct doctor *d)
{
	const char **names = xcalloc(d->ne ? d->ne : 1, sizeof(*names));
	size_t n = 0;

	for (size_t i = 0; i < d->ne; i++)
		if (n == 0 || strcmp(names[n - 1], d->e[i].rr.name) != 0)
			names[n++] = d->e[i].rr.name;
	doctor_check_migrate(&d->rep, names, n);
	free(names);
}

static void
doctor_free(struct doctor *d)
{
	free(d->e);
	free(d->rrs);
	free(d->pl);
	free(d->up);
	free(d->ns);
	dq_clear(&d->qs);
	doctor_report_clear(&d->rep);
	free(d->missed);
	free(d->mq);
}

/* What the options ask for. */
struct doctor_opts {
	const char *cfgpath;
	char **names;			/* --name, commas split; NULL-terminated */
	size_t nnames;
	unsigned timeout_ms;
	bool json;
	bool have_server;
	struct pl_addr server;		/* --server */
};

/* Reads and checks the options into O; 0, or the exit status of a bad
 * value (said on stderr). */
static int
doctor_options(struct verb_args *a, struct doctor_opts *o)
{
	const char *server = verb_get(a, 's', NULL), *val, *err = NULL;
	size_t it = 0;

	memset(o, 0, sizeof(*o));
	o->cfgpath = verb_get(a, 'c', VERB_DEFAULT_CONFIG);
	o->json = verb_has(a, 'j');
	o->timeout_ms = DEFAULT_TIMEOUT_MS;
	o->names = xcalloc(1, sizeof(char *));
	while ((val = verb_next(a, 'n', &it)) != NULL) {
		size_t k = 0;
		char **v = strv_split(val, ",", &k);

		o->names = xreallocarray(o->names, o->nnames + k + 1,
		    sizeof(char *));
		for (size_t i = 0; i < k; i++)
			o->names[o->nnames++] = v[i];
		o->names[o->nnames] = NULL;
		free(v);
	}
	if ((val = verb_get(a, 't', NULL)) != NULL) {
		unsigned long ms;
		char *end;

		errno = 0;
		ms = strtoul(val, &end, 10);
		if (errno != 0 || *end != '\0' || end == val || ms < 10 ||
		    ms > 60000)
			return verb_error(a->verb, false, "--timeout %s: "
			    "milliseconds from 10 to 60000", val);
		o->timeout_ms = (unsigned)ms;
	}
	if (server != NULL) {
		if (addr_parse(server, 53, &o->server, &err) == -1)
			return verb_error(a->verb, false, "--server %s: %s", server,
			    err);
		o->have_server = true;
	}
	return 0;
}

/* Loads the configuration PATH and its records into *CFG and RS, as pldns
 * would; -1 when either has an error (said on stderr). */
static int
doctor_load(const char *path, struct config **cfg, struct recset *rs)
{
	struct diag dg;

	diag_init(&dg);
	if ((*cfg = config_load(path, &dg)) == NULL) {
		diag_print(&dg, stderr);
		fprintf(stderr, "pldns: doctor: cannot run: %zu error%s in the "
		    "configuration\n", dg.nerrors, dg.nerrors == 1 ? "" : "s");
		diag_clear(&dg);
		return -1;
	}
	recset_init(rs);
	if (records_load(*cfg, rs, &dg) != 0) {
		diag_print(&dg, stderr);
		fprintf(stderr, "pldns: doctor: cannot run: %zu error%s in the "
		    "records\n", dg.nerrors, dg.nerrors == 1 ? "" : "s");
		diag_clear(&dg);
		recset_clear(rs);
		config_free(*cfg);
		return -1;
	}
	diag_print(&dg, stderr);
	diag_clear(&dg);
	return 0;
}

/* The records the probes ask for: the first selected one, and for the
 * resolver the first selected one with a public name. */
static void
pick_samples(struct doctor *d)
{
	for (size_t i = 0; i < d->ne; i++)
		if (d->e[i].selected) {
			d->sample = i;
			break;
		}
	d->rsample = d->sample;
	for (size_t i = 0; i < d->ne; i++)
		if (d->e[i].selected && d->e[i].pubname[0]) {
			d->rsample = i;
			break;
		}
}

/* The servers to ask: the one under test (SERVER, else the first listen
 * address) first, every listen address, the upstreams and [forward]
 * servers, and this machine's resolvers. */
static void
add_targets(struct doctor *d, const struct pl_addr *server)
{
	const struct config *cfg = d->cfg;
	struct pl_addr srv;

	srv = server != NULL ? *server : cfg->listen[0];
	if (server == NULL)
		addr_unwildcard(&srv);
	target_add(&d->pl, &d->npl, &srv, NULL)->under_test = true;
	for (size_t i = 0; i < cfg->nlisten; i++) {
		struct pl_addr l = cfg->listen[i];

		addr_unwildcard(&l);
		target_add(&d->pl, &d->npl, &l, NULL)->listen = true;
	}
	for (size_t i = 0; i < cfg->nupstreams; i++)
		target_add(&d->up, &d->nup, &cfg->upstreams[i], NULL);
	for (size_t f = 0; f < cfg->nforwards; f++)
		for (size_t i = 0; i < cfg->forwards[f].nservers; i++)
			target_add(&d->up, &d->nup, &cfg->forwards[f].servers[i],
			    cfg->forwards[f].name);
	read_resolv_conf(d);
}

/* Steps 2 to 4: probe, query, judge; the findings sorted in D->rep.  With
 * names picked (ALL false), the names clients miss and the Migrate set,
 * which are about every record, are left out. */
static void
run_checks(struct doctor *d, bool all)
{
	probe_all(d);
	report_infra(d);
	azure_sync_doctor(d->cfg, &d->rep);
	if (all)
		query_missed(d);
	query_records(d);
	report_records(d);
	if (all) {
		report_missed(d);
		report_migrate(d);
	}
	doctor_sort(&d->rep);
}

/* Prints the report (JSON or a table); the exit status. */
static int
print_report(const struct doctor_report *rep, bool json)
{
	int status;

	if (json) {
		char *text = doctor_json(rep);

		fputs(text, stdout);
		free(text);
	} else {
		doctor_print_table(rep, stdout);
	}
	status = doctor_exit_status(rep);
	if (fflush(stdout) != 0)
		status = DOCTOR_EXIT_CANNOT;
	return status;
}

static int
doctor_run(struct verb_args *a)
{
	struct doctor_opts o;
	struct config *cfg;
	struct recset rs;
	struct doctor d;
	int status;

	if ((status = doctor_options(a, &o)) != 0) {
		strv_free(o.names);
		return status;
	}
	if (doctor_load(o.cfgpath, &cfg, &rs) != 0) {
		strv_free(o.names);
		return DOCTOR_EXIT_CANNOT;
	}
	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.rs = &rs;
	d.timeout_ms = o.timeout_ms;
	doctor_report_init(&d.rep);
	build_expects(&d);
	if (d.ne == 0) {
		fprintf(stderr, "pldns: doctor: cannot run: %s gives no address "
		    "record to check (set [records] sources)\n", o.cfgpath);
		status = DOCTOR_EXIT_CANNOT;
	} else {
		select_names(&d, o.names, o.nnames);
		pick_samples(&d);
		add_targets(&d, o.have_server ? &o.server : NULL);
		run_checks(&d, o.nnames == 0);
		status = print_report(&d.rep, o.json);
	}
	doctor_free(&d);
	recset_clear(&rs);
	config_free(cfg);
	strv_free(o.names);
	return status;
}

const struct verb verb_doctor = {
	.name = "doctor",
	.usage = "[-c FILE] [--server ADDR:PORT] [--json] [--name NAME]...\n"
	    "[--timeout MS]",
	.help = "check that every private endpoint name resolves right",
	.text =
"Checks that every private endpoint name of FILE's sources resolves right:\n"
"asks the running pldns (UDP and TCP) for each privatelink name and its\n"
"public name, asks the upstreams for the public name, checks each address,\n"
"the listen addresses, the upstreams, this machine's resolver and the Azure\n"
"Migrate set; without --name, also the names clients asked the running pldns\n"
"for that no source holds ([control] listen).  See doc/doctor.md.\n"
"  -c FILE              configuration (default " VERB_DEFAULT_CONFIG ")\n"
"  -s, --server ADDR    the pldns to ask (default: the first listen address)\n"
"  -j, --json           the findings as a JSON array\n"
"  -n, --name NAME      check only NAME (privatelink or public; repeatable,\n"
"                       or comma-separated)\n"
"  -t, --timeout MS     per query (default 1500)\n"
"Environment: PLDNS_RESOLV_CONF names the resolv.conf to check instead of\n"
"/etc/resolv.conf.\n"
"Exit status: 0 all well (warnings allowed), 1 problems found, 2 could not run.\n",
	.opts = (const struct verb_opt[]){
	    VERB_OPT_CONFIG, VERB_OPT_SERVER, { 'j', "json", 0 },
	    { 'n', "name", VERB_ARG }, { 't', "timeout", VERB_ARG },
	    VERB_OPT_END },
	.lower = 0, .upper = 0,
	.usage_status = DOCTOR_EXIT_CANNOT,
	.run = doctor_run,
};
