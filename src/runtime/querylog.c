/* querylog: the query log line (see querylog.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "runtime/querylog.h"

/* IANA's DNS parameters: the types a resolver's log meets in practice. */
static const struct {
	uint16_t type;
	const char *name;
} types[] = {
	{ 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 12, "PTR" },
	{ 13, "HINFO" }, { 15, "MX" }, { 16, "TXT" }, { 17, "RP" }, { 18, "AFSDB" },
	{ 24, "SIG" }, { 25, "KEY" }, { 28, "AAAA" }, { 29, "LOC" }, { 33, "SRV" },
	{ 35, "NAPTR" }, { 36, "KX" }, { 37, "CERT" }, { 39, "DNAME" },
	{ 41, "OPT" }, { 42, "APL" }, { 43, "DS" }, { 44, "SSHFP" },
	{ 45, "IPSECKEY" }, { 46, "RRSIG" }, { 47, "NSEC" }, { 48, "DNSKEY" },
	{ 49, "DHCID" }, { 50, "NSEC3" }, { 51, "NSEC3PARAM" }, { 52, "TLSA" },
	{ 53, "SMIMEA" }, { 55, "HIP" }, { 59, "CDS" }, { 60, "CDNSKEY" },
	{ 61, "OPENPGPKEY" }, { 62, "CSYNC" }, { 63, "ZONEMD" }, { 64, "SVCB" },
	{ 65, "HTTPS" }, { 99, "SPF" }, { 249, "TKEY" }, { 250, "TSIG" },
	{ 251, "IXFR" }, { 252, "AXFR" }, { 253, "MAILB" }, { 254, "MAILA" },
	{ 255, "ANY" }, { 256, "URI" }, { 257, "CAA" },
};

static const char *const rcodes[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI",
	NULL, NULL, NULL, NULL,
	"BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG",
	"BADTRUNC", "BADCOOKIE"
};

const char *
querylog_type(uint16_t type, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	snprintf(buf, len, "TYPE%u", type);
	return buf;
}

const char *
querylog_class(uint16_t rclass, char *buf, size_t len)
{
	switch (rclass) {
	case 1:
		return "IN";
	case 3:
		return "CH";
	case 4:
		return "HS";
	case 254:
		return "NONE";
	case 255:
		return "ANY";
	}
	snprintf(buf, len, "CLASS%u", rclass);
	return buf;
}

const char *
querylog_rcode(int rcode, char *buf, size_t len)
{
	if (rcode >= 0 && (size_t)rcode < sizeof(rcodes) / sizeof(rcodes[0]) &&
	    rcodes[rcode] != NULL)
		return rcodes[rcode];
	snprintf(buf, len, "RCODE%d", rcode);
	return buf;
}

const char *
querylog_path(enum answer_path path, bool stale)
{
	static const char *const words[PATH_COUNT] = {
		"local", "synth", "spliced", "forwarded", "cache", "refused", "error"
	};

	if (stale)
		return "stale";
	return path < PATH_COUNT ? words[path] : "error";
}

const char *
querylog_addrs(const uint8_t *msg, size_t len, char *buf, size_t cap)
{
	struct wire_iter it;
	struct wire_iter_rr rr;
	size_t o = 0;
	unsigned shown = 0, more = 0;
	int r = 0;

	buf[0] = '\0';
	if (msg == NULL || wire_iter_init(&it, msg, len) == -1)
		goto none;
	/* The walk stops after the answer section: what follows it is not
	 * read, so a reply cut short there still shows its addresses. */
	while (it.next < it.hdr.ancount && (r = wire_iter_next(&it, &rr)) == 1) {
		char a[INET6_ADDRSTRLEN];
		int af;

		if (rr.type == TYPE_A && rr.rdlen == 4)
			af = AF_INET;
		else if (rr.type == TYPE_AAAA && rr.rdlen == 16)
			af = AF_INET6;
		else
			continue;
		if (shown == QUERYLOG_MAX_ADDRS) {
			more++;
			continue;
		}
		inet_ntop(af, msg + rr.rdata_off, a, sizeof(a));
		o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, "%s%s",
		    shown ? "," : "", a);
		shown++;
	}
	if (r == -1)
		goto none;
	if (more > 0)
		o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, ",+%u", more);
	if (shown > 0 && o < cap)
		return buf;
none:
	/* Nothing, or a reply we could not read: not worth a line of its own. */
	snprintf(buf, cap, "-");
	return buf;
}

/* "127.0.0.1#40000", "::1#53": how BIND's and Unbound's logs write a client. */
static const char *
client_str(const struct pl_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)(const void *)&a->ss;
		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		port = ntohs(s->sin_port);
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)(const void *)&a->ss;
		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		port = ntohs(s->sin6_port);
	}
	snprintf(buf, len, "%s#%u", ip, port);
	return buf;
}

const char *
querylog_format(char *buf, size_t cap, const struct pl_addr *client, bool tcp,
    const struct wire_query *q, const struct answer_info *info,
    const uint8_t *msg, size_t len, uint64_t us)
{
	char c[INET6_ADDRSTRLEN + 8], name[4 * WIRE_NAME_MAX + 4], addrs[256];
	char tb[16], cb[16], rb[16];
	int n;

	n = wire_name_to_str(q->qname, name, sizeof(name));
	if (n < 0)
		snprintf(name, sizeof(name), "?");
	else if (n > 1)
		name[n - 1] = '\0';	/* the final dot, as BIND writes names */
	snprintf(buf, cap, "client %s %s: %s %s %s %s %s %" PRIu64 ".%03" PRIu64
	    "ms %s", client_str(client, c, sizeof(c)), tcp ? "tcp" : "udp", name,
	    querylog_class(q->qclass, cb, sizeof(cb)),
	    querylog_type(q->qtype, tb, sizeof(tb)),
	    querylog_rcode(info->rcode, rb, sizeof(rb)),
	    querylog_path(info->path, info->stale), us / 1000, us % 1000,
	    querylog_addrs(msg, len, addrs, sizeof(addrs)));
	return buf;
}
