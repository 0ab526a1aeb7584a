/*
 * doctor_verdict: the verdicts of "pldns doctor" (doctor.h): each decides
 * one finding from facts the verb gathered (a reply, the addresses the
 * sources give, the configuration's subnets); none does any I/O, so that
 * tests/unit/test_doctor.c checks every one of them without a network.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/addr.h"
#include "verbs/doctor.h"
#include "util/util.h"
#include "wire/wire.h"

static void
vset(struct doctor_verdict *v, enum doctor_status st, const char *hintfmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
vset(struct doctor_verdict *v, enum doctor_status st, const char *hintfmt, ...)
{
	va_list ap;

	v->status = st;
	v->hint[0] = '\0';
	if (hintfmt == NULL)
		return;
	va_start(ap, hintfmt);
	vsnprintf(v->hint, sizeof(v->hint), hintfmt, ap);
	va_end(ap);
}

static void
vgot(struct doctor_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
vgot(struct doctor_verdict *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->got, sizeof(v->got), fmt, ap);
	va_end(ap);
}

const char *
doctor_ip_str(const struct doctor_ip *ip, char *buf, size_t len)
{
	if (inet_ntop(ip->family, ip->addr, buf, (socklen_t)len) == NULL)
		pl_strlcpy(buf, "?", len);
	return buf;
}

const char *
doctor_ips_str(const struct doctor_ip *ips, size_t n, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		char a[INET6_ADDRSTRLEN];
		int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
		    doctor_ip_str(&ips[i], a, sizeof(a)));

		if (w < 0)
			break;
		used += (size_t)w;
	}
	return buf;
}

static bool
ip_equal(const struct doctor_ip *a, const struct doctor_ip *b)
{
	return a->family == b->family &&
	    memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

bool
doctor_ip_in(const struct doctor_ip *ip, const struct doctor_ip *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ip_equal(ip, &set[i]))
			return true;
	return false;
}

bool
doctor_ips_same(const struct doctor_ip *a, size_t na, const struct doctor_ip *b,
    size_t nb)
{
	for (size_t i = 0; i < na; i++)
		if (!doctor_ip_in(&a[i], b, nb))
			return false;
	for (size_t i = 0; i < nb; i++)
		if (!doctor_ip_in(&b[i], a, na))
			return false;
	return true;
}

static bool
any_public(const struct doctor_ip *ips, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!addr_is_private(ips[i].family, ips[i].addr))
			return true;
	return false;
}

static const char *
rcode_name(int rcode)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
		"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"
	};
	static char buf[16];

	if (rcode >= 0 && (size_t)rcode < nitems(names))
		return names[rcode];
	snprintf(buf, sizeof(buf), "RCODE%d", rcode);
	return buf;
}

/* Verdict for a query that got no reply; true when it applied. */
static bool
judge_no_reply(const char *server, const char *transport,
    const struct doctor_reply *r, struct doctor_verdict *v)
{
	switch (r->outcome) {
	case DOCTOR_ANSWER:
		return false;
	case DOCTOR_TIMEOUT:
		vgot(v, "timeout");
		vset(v, DOCTOR_PROBLEM, "pldns at %s did not answer over %s: check "
		    "that it is running (pldns ctl status, systemctl status pldns) "
		    "and that no firewall drops DNS over %s; if it is busy, try a "
		    "longer --timeout", server, transport, transport);
		break;
	case DOCTOR_CLOSED:
		vgot(v, "port closed");
		vset(v, DOCTOR_PROBLEM, "nothing listens on %s over %s: start pldns "
		    "(systemctl start pldns), or give --server the address in "
		    "[server] listen", server, transport);
		break;
	case DOCTOR_NETERR:
		vgot(v, "%s", r->error);
		vset(v, DOCTOR_PROBLEM, "cannot reach %s over %s: check the "
		    "address, the route and the firewall", server, transport);
		break;
	case DOCTOR_BADREPLY:
		vgot(v, "bad reply: %s", r->error);
		vset(v, DOCTOR_PROBLEM, "%s sent a reply that is not proper DNS: "
		    "check that --server points at pldns", server);
		break;
	}
	return true;
}

void
doctor_judge_pldns(const struct doctor_ip *want, size_t nwant, bool public_name,
    const char *server, const char *transport, const struct doctor_reply *r,
    struct doctor_verdict *v)
{
	char got[256], exp[256];

	memset(v, 0, sizeof(*v));
	if (judge_no_reply(server, transport, r, v))
		return;
	doctor_ips_str(r->addrs, r->naddrs, got, sizeof(got));
	doctor_ips_str(want, nwant, exp, sizeof(exp));
	switch (r->rcode) {
	case RCODE_NOERROR:
		break;
	case RCODE_NXDOMAIN:
		vgot(v, "NXDOMAIN");
		vset(v, DOCTOR_PROBLEM, "the running pldns does not serve this "
		    "name although the sources have it: reload pldns (pldns ctl "
		    "reload, or systemctl reload pldns) and check that %s is the "
		    "pldns that reads this configuration", server);
		return;
	case RCODE_SERVFAIL:
		vgot(v, "SERVFAIL");
		vset(v, DOCTOR_PROBLEM, "pldns could not answer %s: see its log "
		    "(journalctl -u pldns) for the cause, and run pldns "
		    "check-config on this configuration", public_name ?
		    "the public name" : "from its local data");
		return;
	case RCODE_REFUSED:
		vgot(v, "REFUSED");
		vset(v, DOCTOR_PROBLEM, "pldns refuses queries from this machine: "
		    "add its address to [server] allow (and allow_forward when "
		    "that is set)");
		return;
	default:
		vgot(v, "%s", rcode_name(r->rcode));
		vset(v, DOCTOR_PROBLEM, "pldns answered %s: see its log "
		    "(journalctl -u pldns)", rcode_name(r->rcode));
		return;
	}
	if (r->naddrs == 0) {
		if (r->tc) {
			vgot(v, "truncated, no address");
			vset(v, DOCTOR_WARNING, "the answer did not fit in UDP: "
			    "clients retry over TCP, which costs a round trip");
			return;
		}
		vgot(v, "no address (NODATA)");
		vset(v, DOCTOR_PROBLEM, "the running pldns has no address for "
		    "this name although the sources have one: reload pldns "
		    "(pldns ctl reload) and check that %s is the pldns that "
		    "reads this configuration", server);
		return;
	}
	if (doctor_ips_same(want, nwant, r->addrs, r->naddrs)) {
		vgot(v, "%s", got);
		vset(v, DOCTOR_OK, NULL);
		return;
	}
	vgot(v, "%s", got);
	if (any_public(r->addrs, r->naddrs)) {
		vset(v, DOCTOR_PROBLEM, "the answer holds a public address: %s "
		    "passed on the public answer instead of the local record: "
		    "reload pldns (pldns ctl reload) so that it serves the "
		    "current sources, and check that %s is pldns", public_name ?
		    "pldns" : "the server", server);
		return;
	}
	vset(v, DOCTOR_PROBLEM, "pldns serves %s but the sources say %s: reload "
	    "pldns (pldns ctl reload) if the sources are newer; if the sources "
	    "are out of date, download DNS settings again", got, exp);
}

bool
doctor_chain_has(const struct doctor_reply *r, const char *name)
{
	for (size_t i = 0; i < r->nchain; i++)
		if (str_casecmp(r->chain[i], name) == 0)
			return true;
	return false;
}

void
doctor_judge_upstream(const struct doctor_ip *want, size_t nwant,
    const char *plname, bool soft_no_cname, const struct doctor_reply *r,
    struct doctor_verdict *v)
{
	char got[256], exp[256];
	bool cname, priv;

	memset(v, 0, sizeof(*v));
	switch (r->outcome) {
	case DOCTOR_ANSWER:
		break;
	case DOCTOR_TIMEOUT:
		vgot(v, "timeout");
		vset(v, DOCTOR_WARNING, "the upstream did not answer for this "
		    "name in time, so its public chain was not checked");
		return;
	default:
		vgot(v, "no answer (%s)", r->outcome == DOCTOR_CLOSED ?
		    "port closed" : r->error);
		vset(v, DOCTOR_WARNING, "the upstream did not answer for this "
		    "name, so its public chain was not checked");
		return;
	}
	doctor_ips_str(r->addrs, r->naddrs, got, sizeof(got));
	doctor_ips_str(want, nwant, exp, sizeof(exp));
	cname = doctor_chain_has(r, plname);
	priv = r->naddrs > 0 && !any_public(r->addrs, r->naddrs);

	if (r->rcode != RCODE_NOERROR && r->rcode != RCODE_NXDOMAIN) {
		vgot(v, "%s", rcode_name(r->rcode));
		vset(v, DOCTOR_WARNING, "the upstream could not resolve the "
		    "public name (%s), so its chain was not checked: does it "
		    "reach the internet?", rcode_name(r->rcode));
		return;
	}
	if (priv) {
		vgot(v, "%s%s", got, cname ? " (private, after the privatelink "
		    "CNAME)" : " (private)");
		if (doctor_ips_same(want, nwant, r->addrs, r->naddrs))
			vset(v, DOCTOR_WARNING, "an upstream already answers with "
			    "the private address: another internal resolver or a "
			    "private DNS zone is in the path; keep it in step with "
			    "pldns, or forward this zone to one place only");
		else
			vset(v, DOCTOR_PROBLEM, "an upstream answers with another "
			    "private address (%s, the sources say %s): another "
			    "internal resolver or a conflicting private DNS zone "
			    "holds a different record; update or remove that zone, "
			    "or download DNS settings again if the sources are the "
			    "stale side", got, exp);
		return;
	}
	if (cname) {
		if (r->rcode == RCODE_NXDOMAIN || r->naddrs == 0) {
			vgot(v, "privatelink CNAME -> %s", r->rcode ==
			    RCODE_NXDOMAIN ? "NXDOMAIN" : "no address");
			vset(v, DOCTOR_WARNING, "the upstream path ends at the "
			    "privatelink name without an address: a resolver "
			    "there holds the privatelink zone without this record; "
			    "pldns answers from its own data, but clients that "
			    "bypass pldns fail");
			return;
		}
		vgot(v, "privatelink CNAME -> %s", got);
		vset(v, DOCTOR_OK, NULL);
		return;
	}
	if (r->rcode == RCODE_NXDOMAIN) {
		vgot(v, "NXDOMAIN");
		vset(v, soft_no_cname ? DOCTOR_WARNING : DOCTOR_PROBLEM,
		    "public DNS has no such name: check the name; the resource "
		    "may have been deleted or renamed");
		return;
	}
	if (r->naddrs > 0)
		vgot(v, "no privatelink CNAME (%s)", got);
	else
		vgot(v, "no privatelink CNAME");
	vset(v, soft_no_cname ? DOCTOR_WARNING : DOCTOR_PROBLEM,
	    "public DNS has no private endpoint for this name: check the name or "
	    "the endpoint (does the private endpoint exist and is its "
	    "connection approved?)");
}

void
doctor_judge_address(const struct doctor_ip *ip, const struct pl_cidr *subnets,
    size_t nsubnets, char *expected, size_t len, struct doctor_verdict *v)
{
	char a[INET6_ADDRSTRLEN];
	bool inside = false;

	memset(v, 0, sizeof(*v));
	vgot(v, "%s", doctor_ip_str(ip, a, sizeof(a)));
	if (nsubnets == 0) {
		pl_strlcpy(expected, "a private address", len);
	} else {
		size_t used = 0;

		used += (size_t)snprintf(expected, len, "inside ");
		for (size_t i = 0; i < nsubnets && used < len; i++) {
			char net[INET6_ADDRSTRLEN];
			int w;

			if (inet_ntop(subnets[i].family, subnets[i].addr, net,
			    sizeof(net)) == NULL)
				pl_strlcpy(net, "?", sizeof(net));
			w = snprintf(expected + used, len - used, "%s%s/%d",
			    i ? ", " : "", net, subnets[i].prefix);
			if (w < 0)
				break;
			used += (size_t)w;
			inside |= cidr_match_raw(&subnets[i], ip->family, ip->addr);
		}
	}
	if (!addr_is_private(ip->family, ip->addr)) {
		vset(v, DOCTOR_PROBLEM, "the A record holds a public IP: a private "
		    "endpoint always gets a private address from its subnet; take "
		    "the address from the private endpoint's DNS configuration, or "
		    "download DNS settings again");
		return;
	}
	if (nsubnets > 0 && !inside) {
		vset(v, DOCTOR_PROBLEM, "the address is outside [doctor] "
		    "expect_subnets: the private endpoint may be in another "
		    "virtual network or the record is stale; check the endpoint's "
		    "subnet, download DNS settings again, or add the subnet to "
		    "expect_subnets");
		return;
	}
	vset(v, DOCTOR_OK, NULL);
}

void
doctor_merge(struct doctor_verdict *out, const struct doctor_verdict *u,
    const struct doctor_verdict *t)
{
	const struct doctor_verdict *worse;

	if (u == NULL || t == NULL) {
		*out = u != NULL ? *u : *t;
		return;
	}
	if (u->status == t->status && strcmp(u->got, t->got) == 0) {
		*out = *u;
		return;
	}
	worse = t->status > u->status ? t : u;
	out->status = worse->status;
	snprintf(out->got, sizeof(out->got), "udp: %.200s; tcp: %.200s", u->got,
	    t->got);
	pl_strlcpy(out->hint, worse->hint[0] != '\0' ? worse->hint :
	    (worse == u ? t->hint : u->hint), sizeof(out->hint));
}

void
doctor_judge_reach(const char *server, const char *fwd, bool pldns,
    const char *probe, const char *transport, const struct doctor_reply *r,
    struct doctor_verdict *v)
{
	char where[128];

	memset(v, 0, sizeof(*v));
	if (fwd != NULL)
		snprintf(where, sizeof(where), "[forward \"%s\"] servers", fwd);
	else
		pl_strlcpy(where, "[upstream] servers", sizeof(where));
	if (pldns) {
		if (judge_no_reply(server, transport, r, v))
			return;
	} else if (r->outcome == DOCTOR_TIMEOUT || r->outcome == DOCTOR_CLOSED ||
	    r->outcome == DOCTOR_NETERR) {
		vgot(v, "%s", r->outcome == DOCTOR_TIMEOUT ? "timeout" :
		    r->outcome == DOCTOR_CLOSED ? "port closed" : r->error);
		vset(v, DOCTOR_PROBLEM, "the upstream %s does not answer%s: fix "
		    "%s in the configuration or make the server reachable; pldns "
		    "forwards every name it does not hold there and answers "
		    "SERVFAIL while it is dead", server, r->outcome ==
		    DOCTOR_CLOSED ? " (nothing listens on that port)" : "", where);
		return;
	} else if (r->outcome == DOCTOR_BADREPLY) {
		vgot(v, "bad reply: %s", r->error);
		vset(v, DOCTOR_PROBLEM, "the upstream %s sends replies that are "
		    "not proper DNS: check %s", server, where);
		return;
	}
	if (r->rcode == RCODE_REFUSED) {
		vgot(v, "REFUSED");
		if (pldns)
			vset(v, DOCTOR_PROBLEM, "pldns refuses queries from this "
			    "machine: add its address to [server] allow");
		else
			vset(v, DOCTOR_PROBLEM, "the upstream %s refuses queries "
			    "from this machine: allow pldns's address for "
			    "recursion on it, or change %s", server, where);
		return;
	}
	vgot(v, "%s in %u ms", rcode_name(r->rcode), r->rtt_ms);
	if (!pldns && r->rcode == RCODE_SERVFAIL) {
		vset(v, DOCTOR_WARNING, "the upstream %s answered SERVFAIL for %s: "
		    "check that it reaches the internet (or the zone it serves)",
		    server, probe);
		return;
	}
	vset(v, DOCTOR_OK, NULL);
}

void
doctor_judge_resolver(const struct doctor_resolver_want *w, const char *server,
    const struct doctor_reply *r, struct doctor_verdict *v)
{
	const char *fwds = w->nzones == 1 ? "a conditional forwarder for" :
	    "conditional forwarders for";
	char got[256];

	memset(v, 0, sizeof(*v));
	doctor_ips_str(r->addrs, r->naddrs, got, sizeof(got));
	if (r->outcome != DOCTOR_ANSWER)
		vgot(v, "%s", r->outcome == DOCTOR_TIMEOUT ? "timeout" :
		    r->outcome == DOCTOR_CLOSED ? "port closed" : r->error);
	else if (r->rcode != RCODE_NOERROR || r->naddrs == 0)
		vgot(v, "%s", r->rcode != RCODE_NOERROR ?
		    rcode_name(r->rcode) : "no address");
	else
		vgot(v, "%s%s", got, any_public(r->addrs, r->naddrs) ?
		    " (public)" : "");
	if (r->outcome == DOCTOR_ANSWER && r->rcode == RCODE_NOERROR &&
	    r->naddrs > 0 && doctor_ips_same(w->ips, w->nips, r->addrs,
	    r->naddrs)) {
		vset(v, DOCTOR_OK, NULL);
	} else if (r->outcome == DOCTOR_ANSWER && r->naddrs > 0 &&
	    !any_public(r->addrs, r->naddrs)) {
		vset(v, DOCTOR_PROBLEM, "this machine's resolver %s answers %s "
		    "with another private address: another internal resolver "
		    "or private DNS zone holds a different record; fix that "
		    "zone, or give the resolver %s %s pointing at %s instead",
		    server, w->name, fwds, w->zones, w->here);
	} else {
		vset(v, DOCTOR_WARNING, "this machine's resolver %s (from %s) "
		    "does not reach pldns for %s: add %s %s pointing at %s on it "
		    "(pldns forwarders -c %s prints them for Windows DNS, BIND, "
		    "Unbound, dnsmasq and CoreDNS)", server, w->resolv_path,
		    w->name, fwds, w->zones, w->here, w->config);
	}
}

/* ---- the sources' own data ---- */

/* The file part of a "file:line" location. */
static size_t
file_len(const char *where)
{
	const char *c = where != NULL ? strchr(where, ':') : NULL;

	return where == NULL ? 0 : c != NULL ? (size_t)(c - where) : strlen(where);
}

void
doctor_check_duplicates(struct doctor_report *r, const char *zone,
    const struct doctor_rrset *e, const struct doctor_rrset *const *all,
    size_t n)
{
	for (size_t a = 0; a < e->nips; a++) {
		char got[512] = "", ip[INET6_ADDRSTRLEN];
		const char *first = NULL;
		size_t others = 0;

		for (size_t j = 0; j < n; j++) {
			const struct doctor_rrset *o = all[j];

			if (o == e || strcmp(o->name, e->name) == 0 ||
			    !doctor_ip_in(&e->ips[a], o->ips, o->nips))
				continue;
			if (others++ == 0)
				first = o->name;
			else
				continue;
			for (size_t b = 0; b < o->nips; b++)
				if (doctor_ip_in(&o->ips[b], &e->ips[a], 1))
					snprintf(got, sizeof(got), "%s is also %s "
					    "(%s)", doctor_ip_str(&e->ips[a], ip,
					    sizeof(ip)), o->name, o->wheres[b] ?
					    o->wheres[b] : "?");
		}
		if (first != NULL) {
			struct doctor_finding *f;

			if (others > 1) {
				size_t used = strlen(got);

				snprintf(got + used, sizeof(got) - used,
				    " and %zu more", others - 1);
			}
			f = doctor_add(r, "duplicate-address", DOCTOR_WARNING,
			    zone, e->name, "an address of its own", got, "two "
			    "names share one private address, but each private "
			    "endpoint name gets its own: one of the records is "
			    "probably stale or mistyped; download DNS settings "
			    "again or correct it");
			doctor_set(&f->where, e->wheres[a]);
		}
	}
	if (e->nips > 1) {
		bool across = false;

		for (size_t a = 1; a < e->nips && !across; a++) {
			size_t la = file_len(e->wheres[a]);
			size_t l0 = file_len(e->wheres[0]);

			across = la != l0 || (la > 0 &&
			    strncmp(e->wheres[a], e->wheres[0], la) != 0);
		}
		if (across) {
			char got[512] = "";
			struct doctor_finding *f;

			for (size_t a = 0; a < e->nips; a++) {
				char ip[INET6_ADDRSTRLEN];
				size_t used = strlen(got);

				snprintf(got + used, sizeof(got) - used, "%s%s (%s)",
				    a ? ", " : "", doctor_ip_str(&e->ips[a], ip,
				    sizeof(ip)), e->wheres[a] ? e->wheres[a] : "?");
			}
			f = doctor_add(r, "duplicate-name", DOCTOR_WARNING, zone,
			    e->name, "one address", got, "two sources give this "
			    "name different addresses: one of them is stale; remove "
			    "the old source, or download DNS settings again");
			doctor_set(&f->where, e->wheres[0]);
		}
	}
}

/* ---- names ---- */

bool
doctor_name_below(const char *name, const char *zone)
{
	size_t nl = strlen(name), zl = strlen(zone);

	return nl > zl && name[nl - zl - 1] == '.' &&
	    strcmp(name + nl - zl, zone) == 0;
}

int
doctor_public_name(const char *plname, const char *zone, const char *twin,
    char *out)
{
	size_t nl = strlen(plname), zl = strlen(zone);

	if (!doctor_name_below(plname, zone))
		return -1;
	if ((nl - zl) + strlen(twin) >= AZURE_NAME_MAX)
		return -1;
	memcpy(out, plname, nl - zl);
	strcpy(out + (nl - zl), twin);
	return 0;
}
