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
 * resolv.conf name.  The query engine is in doctor_query.c (doctor_int.h),
 * the report's sorting and printing in doctor_report.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "azure_zones.h"
#include "config.h"
#include "diag.h"
#include "azure_sync.h"
#include "doctor.h"
#include "doctor_int.h"
#include "records.h"
#include "util.h"
#include "verbs.h"
#include "wire.h"

#define DEFAULT_TIMEOUT_MS	1500

/* ------------------------------------------------------------ replies */

/* Appends SRC to the string DST of SIZE bytes, truncating. */
static void
str_cat(char *dst, const char *src, size_t size)
{
	size_t n = strlen(dst);

	if (n < size)
		pl_strlcpy(dst + n, src, size - n);
}

static void
name_str(const uint8_t *wname, char *out, size_t len)
{
	size_t n;

	if (wire_name_to_str(wname, out, len) < 0) {
		pl_strlcpy(out, "?", len);
		return;
	}
	n = strlen(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

int
doctor_reply_parse(const uint8_t *pkt, size_t len, uint16_t id,
    const uint8_t *qname, uint16_t qtype, struct doctor_reply *r)
{
	struct wire_hdr h;
	size_t pos = WIRE_HDR_LEN;

	if (wire_hdr_read(pkt, len, &h) == -1 || h.id != id ||
	    !(h.flags & WIRE_QR))
		return -1;
	if (h.qdcount > 1)
		return -1;
	if (h.qdcount == 1) {
		uint8_t n[WIRE_NAME_MAX];

		if (wire_name_read(pkt, len, &pos, n) == -1 || len - pos < 4)
			return -1;
		if (!wire_name_equal(n, qname) || wire_get_u16(pkt + pos) != qtype ||
		    wire_get_u16(pkt + pos + 2) != CLASS_IN)
			return -1;
		pos += 4;
	}
	r->outcome = DOCTOR_ANSWER;
	r->rcode = WIRE_RCODE(h.flags);
	r->tc = (h.flags & WIRE_TC) != 0;
	r->naddrs = 0;
	r->nchain = 0;
	for (unsigned i = 0; i < h.ancount; i++) {
		struct wire_rr rr;

		if (wire_rr_read(pkt, len, &pos, &rr) == -1) {
			/* A truncated UDP reply may stop anywhere. */
			if (r->tc)
				break;
			r->outcome = DOCTOR_BADREPLY;
			pl_strlcpy(r->error, "malformed answer section",
			    sizeof(r->error));
			return 0;
		}
		if (rr.rclass != CLASS_IN)
			continue;
		if (rr.type == TYPE_CNAME && r->nchain < DOCTOR_MAX_CHAIN) {
			uint8_t t[WIRE_NAME_MAX];

			if (wire_rdata_expand(pkt, len, &rr, t, sizeof(t)) == -1 ||
			    wire_name_len(t, sizeof(t)) == -1) {
				r->outcome = DOCTOR_BADREPLY;
				pl_strlcpy(r->error, "malformed CNAME",
				    sizeof(r->error));
				return 0;
			}
			name_str(t, r->chain[r->nchain++], AZURE_NAME_MAX);
		} else if ((rr.type == TYPE_A && rr.rdlen == 4) ||
		    (rr.type == TYPE_AAAA && rr.rdlen == 16)) {
			struct doctor_ip *ip;

			if (r->naddrs == DOCTOR_MAX_ADDRS)
				continue;
			ip = &r->addrs[r->naddrs++];
			memset(ip, 0, sizeof(*ip));
			ip->family = rr.type == TYPE_A ? AF_INET : AF_INET6;
			memcpy(ip->addr, pkt + rr.rdata_off, rr.rdlen);
		}
	}
	return 0;
}

/* ------------------------------------------------------------ verdicts */

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

static const char *
ip_str(const struct doctor_ip *ip, char *buf, size_t len)
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
		    ip_str(&ips[i], a, sizeof(a)));

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

static bool
ip_in(const struct doctor_ip *ip, const struct doctor_ip *set, size_t n)
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
		if (!ip_in(&a[i], b, nb))
			return false;
	for (size_t i = 0; i < nb; i++)
		if (!ip_in(&b[i], a, na))
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
	vgot(v, "%s", ip_str(ip, a, sizeof(a)));
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

/* ------------------------------------------------------------ names */

/* True when NAME is strictly below ZONE (presentation, lower-case). */
static bool
name_below(const char *name, const char *zone)
{
	size_t nl = strlen(name), zl = strlen(zone);

	return nl > zl && name[nl - zl - 1] == '.' &&
	    strcmp(name + nl - zl, zone) == 0;
}

static bool
name_under(const char *name, const char *zone)
{
	return strcmp(name, zone) == 0 || name_below(name, zone);
}

int
doctor_public_name(const char *plname, const char *zone, const char *twin,
    char *out)
{
	size_t nl = strlen(plname), zl = strlen(zone);

	if (!name_below(plname, zone))
		return -1;
	if ((nl - zl) + strlen(twin) >= AZURE_NAME_MAX)
		return -1;
	memcpy(out, plname, nl - zl);
	strcpy(out + (nl - zl), twin);
	return 0;
}

#define ASR_MARK	"-asr-pod01-"
#define LABEL_MAX	63

int
doctor_asr_split(const char *name, char *vault, char *type, char *geo)
{
	const char *dot = strchr(name, '.'), *mark, *g, *gend;
	size_t vl, tl, gl;

	if (dot == NULL || dot == name || dot[-1] != '-')
		return -1;
	if ((mark = strstr(name, ASR_MARK)) == NULL || mark >= dot)
		return -1;
	vl = (size_t)(mark - name);
	tl = (size_t)(dot - 1 - (mark + strlen(ASR_MARK)));
	if (vl == 0 || vl > LABEL_MAX || tl == 0 || tl > LABEL_MAX)
		return -1;
	g = dot + 1;
	if ((gend = strchr(g, '.')) == NULL || gend == g ||
	    strncmp(gend + 1, "privatelink.siterecovery.", 25) != 0)
		return -1;
	gl = (size_t)(gend - g);
	if (gl > LABEL_MAX)
		return -1;
	memcpy(vault, name, vl);
	vault[vl] = '\0';
	memcpy(type, mark + strlen(ASR_MARK), tl);
	type[tl] = '\0';
	memcpy(geo, g, gl);
	geo[gl] = '\0';
	return 0;
}

/* The Azure Migrate zones per cloud (AZURE-DNS.md 1.1, 2.2). */
static const struct migrate_cloud {
	const char *migrate, *asr, *vault, *blob;
} migrate_clouds[] = {
	{ "privatelink.prod.migration.windowsazure.com",
	  "privatelink.siterecovery.windowsazure.com",
	  "privatelink.vaultcore.azure.net",
	  "privatelink.blob.core.windows.net" },
	{ "privatelink.prod.migration.windowsazure.us",
	  "privatelink.siterecovery.windowsazure.us",
	  "privatelink.vaultcore.usgovcloudapi.net",
	  "privatelink.blob.core.usgovcloudapi.net" },
};

/* The five names a Recovery Services vault's private endpoint adds. */
static const char *const asr_types[] = { "id1", "prot2", "rcm1", "srs1", "tel1" };

struct asr_vault {
	char vault[LABEL_MAX + 1], geo[LABEL_MAX + 1];
	bool have[nitems(asr_types)];
};

static size_t
count_under(const char *const *names, size_t n, const char *zone)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += name_below(names[i], zone);
	return c;
}

static void
migrate_zone(struct doctor_report *r, const char *zone, size_t count,
    const char *expected, enum doctor_status missing, const char *hint)
{
	char got[64];

	if (count > 0)
		snprintf(got, sizeof(got), "%zu record%s", count,
		    count == 1 ? "" : "s");
	else
		pl_strlcpy(got, "none", sizeof(got));
	doctor_add(r, "migrate", count > 0 ? DOCTOR_OK : missing, zone, zone,
	    expected, got, count > 0 ? NULL : hint);
}

static void
check_asr(struct doctor_report *r, const char *zone, const char *const *names,
    size_t n)
{
	struct asr_vault *v = NULL;
	size_t nv = 0;

	for (size_t i = 0; i < n; i++) {
		char vault[LABEL_MAX + 1], type[LABEL_MAX + 1], geo[LABEL_MAX + 1];
		size_t k;

		if (!name_below(names[i], zone) ||
		    doctor_asr_split(names[i], vault, type, geo) == -1)
			continue;
		for (k = 0; k < nv; k++)
			if (strcmp(v[k].vault, vault) == 0 && strcmp(v[k].geo, geo) == 0)
				break;
		if (k == nv) {
			v = xreallocarray(v, nv + 1, sizeof(*v));
			memset(&v[nv], 0, sizeof(*v));
			pl_strlcpy(v[nv].vault, vault, sizeof(v[nv].vault));
			pl_strlcpy(v[nv].geo, geo, sizeof(v[nv].geo));
			nv++;
		}
		for (size_t t = 0; t < nitems(asr_types); t++)
			if (strcmp(type, asr_types[t]) == 0)
				v[k].have[t] = true;
	}
	for (size_t k = 0; k < nv; k++) {
		char name[AZURE_NAME_MAX * 2], got[128] = "", exp[64];
		size_t missing = 0;

		for (size_t t = 0; t < nitems(asr_types); t++) {
			if (v[k].have[t]) {
				if (got[0] != '\0')
					str_cat(got, ", ", sizeof(got));
				str_cat(got, asr_types[t], sizeof(got));
				continue;
			}
			missing++;
			snprintf(name, sizeof(name), "%s" ASR_MARK "%s-.%s.%s",
			    v[k].vault, asr_types[t], v[k].geo, zone);
			doctor_add(r, "site-recovery", DOCTOR_PROBLEM, zone, name,
			    "an address record", "missing", "the private endpoint "
			    "of a Recovery Services vault adds five names (id1, "
			    "prot2, rcm1, srs1, tel1) and this one is not in the "
			    "sources: download DNS settings again (Migration and "
			    "modernization, Properties), or add it from the "
			    "endpoint's DNS configuration");
		}
		if (missing == 0) {
			snprintf(name, sizeof(name), "%s" ASR_MARK "*-.%s.%s",
			    v[k].vault, v[k].geo, zone);
			snprintf(exp, sizeof(exp), "id1, prot2, rcm1, srs1, tel1");
			doctor_add(r, "site-recovery", DOCTOR_OK, zone, name, exp,
			    got, NULL);
		}
	}
	free(v);
}

void
doctor_check_migrate(struct doctor_report *r, const char *const *names, size_t n)
{
	for (size_t c = 0; c < nitems(migrate_clouds); c++) {
		const struct migrate_cloud *m = &migrate_clouds[c];
		size_t nm = count_under(names, n, m->migrate);
		size_t ns = count_under(names, n, m->asr);

		/* Key vaults and storage accounts are everywhere; only the
		 * Migrate and Site Recovery zones say Azure Migrate is used. */
		if (nm == 0 && ns == 0)
			continue;
		migrate_zone(r, m->migrate, nm, "records of the Azure Migrate "
		    "project", DOCTOR_PROBLEM, "no Azure Migrate service names "
		    "(discovery, assessment, hub): download DNS settings again "
		    "from Azure Migrate (Discovery and assessment, Properties) "
		    "and add the file to [records] sources");
		migrate_zone(r, m->asr, ns, "Site Recovery records",
		    DOCTOR_WARNING, "no Site Recovery names: they are needed to "
		    "replicate servers; once the vault's private endpoint exists, "
		    "download DNS settings again (Migration and modernization, "
		    "Properties)");
		migrate_zone(r, m->vault, count_under(names, n, m->vault),
		    "the project's key vault", DOCTOR_PROBLEM, "the key vault "
		    "of the Migrate project has no record: download DNS settings "
		    "again; it lists the key vault's name and private address");
		migrate_zone(r, m->blob, count_under(names, n, m->blob),
		    "the project's storage account", DOCTOR_PROBLEM, "no storage "
		    "account record: download DNS settings again; a cache or "
		    "replication storage account you chose yourself is not in "
		    "that file: take its FQDN and IP from Storage account, "
		    "Networking, Private endpoint connections, DNS configuration");
		check_asr(r, m->asr, names, n);
	}
}

/* ------------------------------------------------------------ the verb */

/* One expected RRset: a name and type with the addresses the sources give. */
struct expect {
	char plname[AZURE_NAME_MAX];
	char pubname[AZURE_NAME_MAX];	/* "" when the zone has no twin */
	uint8_t wpl[WIRE_NAME_MAX], wpub[WIRE_NAME_MAX];
	size_t zone;			/* index into the recset's zones */
	uint16_t type;
	struct doctor_ip ips[DOCTOR_MAX_ADDRS];
	const char *wheres[DOCTOR_MAX_ADDRS];
	size_t nips;
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
		name_str(r->owner, k[nk].name, sizeof(k[nk].name));
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
		if (d->ne > 0 && strcmp(d->e[d->ne - 1].plname, k[i].name) == 0 &&
		    d->e[d->ne - 1].type == k[i].type) {
			e = &d->e[d->ne - 1];
			if (e->nips < DOCTOR_MAX_ADDRS && !ip_in(&ip, e->ips, e->nips)) {
				e->wheres[e->nips] = recset_where_str(rs, r);
				e->ips[e->nips++] = ip;
			}
			continue;
		}
		e = &d->e[d->ne++];
		pl_strlcpy(e->plname, k[i].name, sizeof(e->plname));
		memcpy(e->wpl, r->owner, (size_t)wire_name_len(r->owner,
		    WIRE_NAME_MAX));
		e->zone = r->zone;
		e->type = r->type;
		e->ips[0] = ip;
		e->wheres[0] = recset_where_str(rs, r);
		e->nips = 1;
		e->qpl[0] = e->qpl[1] = e->qpub[0] = e->qpub[1] = -1;
		if (z->ntwins > 0 &&
		    doctor_public_name(e->plname, z->name, z->twins[0],
		    e->pubname) == 0 &&
		    wire_name_from_str(e->pubname, e->wpub, NULL) < 0)
			e->pubname[0] = '\0';
	}
	free(k);
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

			if (strcmp(e->plname, name) == 0 ||
			    strcmp(e->pubname, name) == 0 ||
			    (k != 0 && strcmp(e->plname, pl) == 0)) {
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

/* A wildcard listen address is asked on loopback. */
static void
reachable(const struct pl_addr *a, struct pl_addr *out)
{
	static const uint8_t zero[16];

	*out = *a;
	if (a->ss.ss_family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)(void *)&out->ss;

		if (s->sin_addr.s_addr == htonl(INADDR_ANY))
			s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (a->ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)(void *)&out->ss;

		if (memcmp(&s->sin6_addr, zero, 16) == 0)
			s->sin6_addr = in6addr_loopback;
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

static void
read_resolv_conf(struct doctor *d)
{
	const char *env = getenv("PLDNS_RESOLV_CONF");
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;

	d->resolv_path = env != NULL && *env != '\0' ? env : "/etc/resolv.conf";
	if ((fp = fopen(d->resolv_path, "re")) == NULL) {
		snprintf(d->resolv_err, sizeof(d->resolv_err), "cannot open: %s",
		    strerror(errno));
		return;
	}
	while (getline(&line, &cap, fp) != -1) {
		char *save, *w = strtok_r(line, " \t\r\n", &save);
		struct pl_addr a;

		if (w == NULL || strcmp(w, "nameserver") != 0 ||
		    (w = strtok_r(NULL, " \t\r\n", &save)) == NULL ||
		    addr_parse(w, 53, &a, NULL) == -1)
			continue;
		reachable(&a, &a);
		target_add(&d->ns, &d->nns, &a, NULL);
	}
	free(line);
	fclose(fp);
	if (d->nns == 0)
		snprintf(d->resolv_err, sizeof(d->resolv_err), "no nameserver line");
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

/* UDP and TCP verdicts as one (either may be NULL, not both). */
static void
merge(struct doctor_verdict *out, const struct doctor_verdict *u,
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

static struct doctor_finding *
add_verdict(struct doctor *d, const char *check, const char *zone,
    const char *name, const char *expected, const struct doctor_verdict *v)
{
	return doctor_add(&d->rep, check, v->status, zone, name, expected, v->got,
	    v->status == DOCTOR_OK ? NULL : v->hint);
}

/* Whether a server is there at all (infrastructure checks). */
static void
judge_reach(const struct target *t, bool pldns, const char *probe,
    const struct doctor_reply *r, const char *transport,
    struct doctor_verdict *v)
{
	char where[128];

	memset(v, 0, sizeof(*v));
	if (t->fwd != NULL)
		snprintf(where, sizeof(where), "[forward \"%s\"] servers", t->fwd);
	else
		pl_strlcpy(where, "[upstream] servers", sizeof(where));
	if (pldns) {
		if (judge_no_reply(t->str, transport, r, v))
			return;
	} else if (r->outcome == DOCTOR_TIMEOUT || r->outcome == DOCTOR_CLOSED ||
	    r->outcome == DOCTOR_NETERR) {
		vgot(v, "%s", r->outcome == DOCTOR_TIMEOUT ? "timeout" :
		    r->outcome == DOCTOR_CLOSED ? "port closed" : r->error);
		vset(v, DOCTOR_PROBLEM, "the upstream %s does not answer%s: fix "
		    "%s in the configuration or make the server reachable; pldns "
		    "forwards every name it does not hold there and answers "
		    "SERVFAIL while it is dead", t->str, r->outcome ==
		    DOCTOR_CLOSED ? " (nothing listens on that port)" : "", where);
		return;
	} else if (r->outcome == DOCTOR_BADREPLY) {
		vgot(v, "bad reply: %s", r->error);
		vset(v, DOCTOR_PROBLEM, "the upstream %s sends replies that are "
		    "not proper DNS: check %s", t->str, where);
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
			    "recursion on it, or change %s", t->str, where);
		return;
	}
	vgot(v, "%s in %u ms", rcode_name(r->rcode), r->rtt_ms);
	if (!pldns && r->rcode == RCODE_SERVFAIL) {
		vset(v, DOCTOR_WARNING, "the upstream %s answered SERVFAIL for %s: "
		    "check that it reaches the internet (or the zone it serves)",
		    t->str, probe);
		return;
	}
	vset(v, DOCTOR_OK, NULL);
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

static bool
is_loopback(const struct pl_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)
		    &a->ss)->sin_addr.s_addr) >> 24) == 127;
	return a->ss.ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(
	    &((const struct sockaddr_in6 *)(const void *)&a->ss)->sin6_addr);
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

static void
report_infra(struct doctor *d)
{
	const struct expect *s = &d->e[d->sample], *rsm = &d->e[d->rsample];
	const char *rname = rsm->pubname[0] ? rsm->pubname : rsm->plname;
	char exp[256], zones[1024], hint[2048], here[96];
	size_t nz, tls = 0;

	for (size_t i = 0; i < d->npl; i++) {
		struct target *t = &d->pl[i];
		struct doctor_verdict v[2], m;
		struct doctor_finding *f;
		const struct doctor_reply *r[2];

		for (int k = 0; k < 2; k++) {
			r[k] = reply_of(d, t->probe[k]);
			judge_reach(t, true, s->plname, r[k], transports[k], &v[k]);
			t->alive[k] = r[k]->outcome == DOCTOR_ANSWER &&
			    r[k]->rcode != RCODE_REFUSED;
		}
		merge(&m, &v[0], &v[1]);
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

		judge_reach(t, false, t->fwd ? t->fwd : (s->pubname[0] ?
		    s->pubname : s->plname), r, "udp", &v);
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

	forwarder_zones(d, zones, sizeof(zones), &nz);
	if (is_loopback(&d->pl[0].addr))
		snprintf(here, sizeof(here), "this server (port %d)",
		    addr_port(&d->pl[0].addr));
	else
		snprintf(here, sizeof(here), "this server (%s)", d->pl[0].str);
	doctor_ips_str(rsm->ips, rsm->nips, exp, sizeof(exp));
	if (d->nns == 0) {
		snprintf(hint, sizeof(hint), "this machine has no usable resolver "
		    "in %s: point it at the site's DNS servers, and give those "
		    "%s %s pointing at %s", d->resolv_path, nz == 1 ?
		    "a conditional forwarder for" : "conditional forwarders for",
		    zones, here);
		doctor_add(&d->rep, "resolver", DOCTOR_WARNING, NULL,
		    d->resolv_path, "a nameserver", d->resolv_err, hint);
	}
	for (size_t i = 0; i < d->nns; i++) {
		struct target *t = &d->ns[i];
		const struct doctor_reply *r = reply_of(d, t->probe[0]);
		struct doctor_verdict v;
		struct doctor_finding *f;
		char got[256];

		memset(&v, 0, sizeof(v));
		doctor_ips_str(r->addrs, r->naddrs, got, sizeof(got));
		if (r->outcome != DOCTOR_ANSWER)
			vgot(&v, "%s", r->outcome == DOCTOR_TIMEOUT ? "timeout" :
			    r->outcome == DOCTOR_CLOSED ? "port closed" : r->error);
		else if (r->rcode != RCODE_NOERROR || r->naddrs == 0)
			vgot(&v, "%s", r->rcode != RCODE_NOERROR ?
			    rcode_name(r->rcode) : "no address");
		else
			vgot(&v, "%s%s", got, any_public(r->addrs, r->naddrs) ?
			    " (public)" : "");
		if (r->outcome == DOCTOR_ANSWER && r->rcode == RCODE_NOERROR &&
		    r->naddrs > 0 && doctor_ips_same(rsm->ips, rsm->nips,
		    r->addrs, r->naddrs)) {
			vset(&v, DOCTOR_OK, NULL);
		} else if (r->outcome == DOCTOR_ANSWER && r->naddrs > 0 &&
		    !any_public(r->addrs, r->naddrs)) {
			vset(&v, DOCTOR_PROBLEM, "this machine's resolver %s "
			    "answers %s with another private address: another "
			    "internal resolver or private DNS zone holds a "
			    "different record; fix that zone, or give the resolver "
			    "%s %s pointing at %s instead", t->str, rname, nz == 1 ?
			    "a conditional forwarder for" :
			    "conditional forwarders for", zones, here);
		} else {
			vset(&v, DOCTOR_WARNING, "this machine's resolver %s (from "
			    "%s) does not reach pldns for %s: add %s %s pointing "
			    "at %s on it (pldns forwarders -c %s prints them for "
			    "Windows DNS, BIND, Unbound, dnsmasq and CoreDNS)",
			    t->str, d->resolv_path, rname, nz == 1 ?
			    "a conditional forwarder for" :
			    "conditional forwarders for", zones, here,
			    d->cfg->path);
		}
		f = add_verdict(d, "resolver", NULL, rname, exp, &v);
		doctor_set(&f->server, t->str);
		if (r->outcome == DOCTOR_ANSWER)
			f->rtt_ms = (int)r->rtt_ms;
	}
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

/* The file part of a "file:line" location. */
static size_t
file_len(const char *where)
{
	const char *c = where != NULL ? strchr(where, ':') : NULL;

	return where == NULL ? 0 : c != NULL ? (size_t)(c - where) : strlen(where);
}

static void
report_duplicates(struct doctor *d, const struct expect *e)
{
	const char *zone = d->rs->zones[e->zone].name;

	for (size_t a = 0; a < e->nips; a++) {
		char got[512] = "", ip[INET6_ADDRSTRLEN];
		const char *first = NULL;
		size_t others = 0;

		for (size_t j = 0; j < d->ne; j++) {
			const struct expect *o = &d->e[j];

			if (o == e || strcmp(o->plname, e->plname) == 0 ||
			    !ip_in(&e->ips[a], o->ips, o->nips))
				continue;
			if (others++ == 0)
				first = o->plname;
			else
				continue;
			for (size_t b = 0; b < o->nips; b++)
				if (ip_equal(&o->ips[b], &e->ips[a]))
					snprintf(got, sizeof(got), "%s is also %s "
					    "(%s)", ip_str(&e->ips[a], ip,
					    sizeof(ip)), o->plname, o->wheres[b] ?
					    o->wheres[b] : "?");
		}
		if (first != NULL) {
			struct doctor_finding *f;

			if (others > 1) {
				char more[48];

				snprintf(more, sizeof(more), " and %zu more",
				    others - 1);
				str_cat(got, more, sizeof(got));
			}
			f = doctor_add(&d->rep, "duplicate-address", DOCTOR_WARNING,
			    zone, e->plname, "an address of its own", got, "two "
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
			size_t la = file_len(e->wheres[a]), l0 = file_len(e->wheres[0]);

			across = la != l0 || (la > 0 &&
			    strncmp(e->wheres[a], e->wheres[0], la) != 0);
		}
		if (across) {
			char got[512] = "";
			struct doctor_finding *f;

			for (size_t a = 0; a < e->nips; a++) {
				char ip[INET6_ADDRSTRLEN], one[256];

				snprintf(one, sizeof(one), "%s%s (%s)", a ? ", " : "",
				    ip_str(&e->ips[a], ip, sizeof(ip)),
				    e->wheres[a] ? e->wheres[a] : "?");
				str_cat(got, one, sizeof(got));
			}
			f = doctor_add(&d->rep, "duplicate-name", DOCTOR_WARNING, zone,
			    e->plname, "one address", got, "two sources give this "
			    "name different addresses: one of them is stale; remove "
			    "the old source, or download DNS settings again");
			doctor_set(&f->where, e->wheres[0]);
		}
	}
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
		doctor_ips_str(e->ips, e->nips, exp, sizeof(exp));
		for (int pub = 0; pub < 2; pub++) {
			const long *q = pub ? e->qpub : e->qpl;

			if (q[0] < 0 && q[1] < 0)
				continue;
			for (int t = 0; t < 2; t++)
				if (q[t] >= 0)
					doctor_judge_pldns(e->ips, e->nips, pub,
					    pl->str, transports[t], reply_of(d, q[t]),
					    &v[t]);
			merge(&m, q[0] >= 0 ? &v[0] : NULL, q[1] >= 0 ? &v[1] : NULL);
			f = add_verdict(d, pub ? "public" : "privatelink", zone,
			    pub ? e->pubname : e->plname, exp, &m);
			doctor_set(&f->server, pl->str);
			doctor_set(&f->where, e->wheres[0]);
			if (q[0] >= 0 && reply_of(d, q[0])->outcome == DOCTOR_ANSWER)
				f->rtt_ms = (int)reply_of(d, q[0])->rtt_ms;
		}
		for (size_t k = 0; k < e->nqup; k++) {
			const struct dq *q = &d->qs.q[e->qup + k];

			doctor_judge_upstream(e->ips, e->nips, e->plname,
			    soft_cname(zone), &q->reply, &m);
			f = add_verdict(d, "public-chain", zone, e->pubname,
			    "privatelink CNAME", &m);
			doctor_set(&f->server, d->up[q->tag].str);
			doctor_set(&f->where, e->wheres[0]);
			if (q->reply.outcome == DOCTOR_ANSWER)
				f->rtt_ms = (int)q->reply.rtt_ms;
		}
		for (size_t a = 0; a < e->nips; a++) {
			char want[256];

			doctor_judge_address(&e->ips[a], d->cfg->expect_subnets,
			    d->cfg->nexpect_subnets, want, sizeof(want), &m);
			f = add_verdict(d, "address", zone, e->plname, want, &m);
			doctor_set(&f->where, e->wheres[a]);
		}
		report_duplicates(d, e);
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
	if (name_below(m->name, z->name)) {
		if (z->ntwins > 0 && doctor_public_name(m->name, z->name,
		    z->twins[0], pub) != 0)
			pub[0] = '\0';
		return;
	}
	for (size_t t = 0; t < z->ntwins; t++) {
		int head = (int)(strlen(m->name) - strlen(z->twins[t]) - 1);

		if (!name_below(m->name, z->twins[t]))
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
			if (strcmp(d->e[j].plname, mq->pl) == 0)
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
		if (n == 0 || strcmp(names[n - 1], d->e[i].plname) != 0)
			names[n++] = d->e[i].plname;
	doctor_check_migrate(&d->rep, names, n);
	free(names);
}

static void
doctor_free(struct doctor *d)
{
	free(d->e);
	free(d->pl);
	free(d->up);
	free(d->ns);
	dq_clear(&d->qs);
	doctor_report_clear(&d->rep);
	free(d->missed);
	free(d->mq);
}

static int
doctor_run(struct verb_args *a)
{
	const char *cfgpath = verb_get(a, 'c', VERB_DEFAULT_CONFIG);
	const char *server = verb_get(a, 's', NULL), *val;
	char **names = xcalloc(1, sizeof(char *));
	size_t nnames = 0, it = 0;
	bool json = verb_has(a, 'j');
	unsigned long timeout = DEFAULT_TIMEOUT_MS;
	struct pl_addr srv;
	struct config *cfg;
	struct recset rs;
	struct diag dg;
	struct doctor d;
	int status;

	while ((val = verb_next(a, 'n', &it)) != NULL) {
		size_t k = 0;
		char **v = strv_split(val, ",", &k);

		names = xreallocarray(names, nnames + k + 1, sizeof(char *));
		for (size_t i = 0; i < k; i++)
			names[nnames++] = v[i];
		names[nnames] = NULL;
		free(v);
	}
	if ((val = verb_get(a, 't', NULL)) != NULL) {
		char *end;

		errno = 0;
		timeout = strtoul(val, &end, 10);
		if (errno != 0 || *end != '\0' || end == val ||
		    timeout < 10 || timeout > 60000) {
			strv_free(names);
			return verb_error(a->verb, false, "--timeout %s: "
			    "milliseconds from 10 to 60000", val);
		}
	}
	if (server != NULL) {
		const char *err = NULL;

		if (addr_parse(server, 53, &srv, &err) == -1) {
			strv_free(names);
			return verb_error(a->verb, false, "--server %s: %s", server,
			    err);
		}
	}

	diag_init(&dg);
	if ((cfg = config_load(cfgpath, &dg)) == NULL) {
		diag_print(&dg, stderr);
		fprintf(stderr, "pldns: doctor: cannot run: %zu error%s in the "
		    "configuration\n", dg.nerrors, dg.nerrors == 1 ? "" : "s");
		diag_clear(&dg);
		strv_free(names);
		return DOCTOR_EXIT_CANNOT;
	}
	recset_init(&rs);
	if (records_load(cfg, &rs, &dg) != 0) {
		diag_print(&dg, stderr);
		fprintf(stderr, "pldns: doctor: cannot run: %zu error%s in the "
		    "records\n", dg.nerrors, dg.nerrors == 1 ? "" : "s");
		diag_clear(&dg);
		recset_clear(&rs);
		config_free(cfg);
		strv_free(names);
		return DOCTOR_EXIT_CANNOT;
	}
	diag_print(&dg, stderr);
	diag_clear(&dg);

	memset(&d, 0, sizeof(d));
	d.cfg = cfg;
	d.rs = &rs;
	d.timeout_ms = (unsigned)timeout;
	doctor_report_init(&d.rep);
	build_expects(&d);
	if (d.ne == 0) {
		fprintf(stderr, "pldns: doctor: cannot run: %s gives no address "
		    "record to check (set [records] sources)\n", cfgpath);
		doctor_free(&d);
		recset_clear(&rs);
		config_free(cfg);
		strv_free(names);
		return DOCTOR_EXIT_CANNOT;
	}
	select_names(&d, names, nnames);
	for (size_t i = 0; i < d.ne; i++)
		if (d.e[i].selected) {
			d.sample = i;
			break;
		}
	d.rsample = d.sample;
	for (size_t i = 0; i < d.ne; i++)
		if (d.e[i].selected && d.e[i].pubname[0]) {
			d.rsample = i;
			break;
		}

	/* The server under test first, then every listen address. */
	if (server == NULL)
		reachable(&cfg->listen[0], &srv);
	target_add(&d.pl, &d.npl, &srv, NULL)->under_test = true;
	for (size_t i = 0; i < cfg->nlisten; i++) {
		struct pl_addr l;

		reachable(&cfg->listen[i], &l);
		target_add(&d.pl, &d.npl, &l, NULL)->listen = true;
	}
	for (size_t i = 0; i < cfg->nupstreams; i++)
		target_add(&d.up, &d.nup, &cfg->upstreams[i], NULL);
	for (size_t f = 0; f < cfg->nforwards; f++)
		for (size_t i = 0; i < cfg->forwards[f].nservers; i++)
			target_add(&d.up, &d.nup, &cfg->forwards[f].servers[i],
			    cfg->forwards[f].name);
	read_resolv_conf(&d);

	probe_all(&d);
	report_infra(&d);
	azure_sync_doctor(cfg, &d.rep);
	if (nnames == 0)
		query_missed(&d);
	query_records(&d);
	report_records(&d);
	if (nnames == 0) {
		report_missed(&d);
		report_migrate(&d);
	}
	doctor_sort(&d.rep);

	if (json) {
		char *text = doctor_json(&d.rep);

		fputs(text, stdout);
		free(text);
	} else {
		doctor_print_table(&d.rep, stdout);
	}
	status = doctor_exit_status(&d.rep);
	if (fflush(stdout) != 0)
		status = DOCTOR_EXIT_CANNOT;
	doctor_free(&d);
	recset_clear(&rs);
	config_free(cfg);
	strv_free(names);
	return status;
}

static const struct verb_opt doctor_opts[] = {
	VERB_OPT_CONFIG,
	VERB_OPT_SERVER,
	{ 'j', "json", 0 },
	{ 'n', "name", VERB_ARG },
	{ 't', "timeout", VERB_ARG },
	VERB_OPT_END
};

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
	.opts = doctor_opts,
	.lower = 0, .upper = 0,
	.usage_status = DOCTOR_EXIT_CANNOT,
	.run = doctor_run,
};
