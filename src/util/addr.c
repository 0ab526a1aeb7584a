/* addr: socket addresses and CIDR prefixes as the configuration writes them. */

#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/addr.h"
#include "util/util.h"

/* "53" -> 53; digits only, 1..65535.  Returns -1 with a reason. */
static int
parse_port(const char *s, const char **err)
{
	unsigned long v = 0;

	if (*s == '\0') {
		*err = "missing port";
		return -1;
	}
	for (const char *p = s; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p)) {
			*err = "bad port";
			return -1;
		}
		/* Saturate rather than overflow: "99999999999" is out of range. */
		if (v <= 65535)
			v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535) {
		*err = "port out of range (1..65535)";
		return -1;
	}
	return (int)v;
}

/*
 * An IPv6 address with an optional "%scope" (interface name or number), as
 * resolv.conf writes link-local name servers.
 */
static int
parse_v6(const char *s, struct in6_addr *a, uint32_t *scope, const char **err)
{
	const char *pct = strchr(s, '%');
	char tmp[INET6_ADDRSTRLEN];
	size_t len = pct ? (size_t)(pct - s) : strlen(s);

	*scope = 0;
	if (len == 0 || len >= sizeof(tmp)) {
		*err = "not an IP address";
		return -1;
	}
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET6, tmp, a) != 1) {
		*err = "not an IP address";
		return -1;
	}
	if (pct != NULL) {
		const char *sc = pct + 1;
		char *end;

		if (*sc == '\0') {
			*err = "empty scope after '%'";
			return -1;
		}
		if (isdigit((unsigned char)*sc)) {
			unsigned long v = strtoul(sc, &end, 10);
			if (*end != '\0' || v > UINT32_MAX) {
				*err = "bad scope";
				return -1;
			}
			*scope = (uint32_t)v;
		} else if ((*scope = if_nametoindex(sc)) == 0) {
			*err = "unknown interface";
			return -1;
		}
	}
	return 0;
}

static void
set_v4(struct pl_addr *out, const struct in_addr *a, int port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;

	memset(out, 0, sizeof(*out));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	sin->sin_addr = *a;
	out->len = sizeof(*sin);
}

static void
set_v6(struct pl_addr *out, const struct in6_addr *a, uint32_t scope, int port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

	memset(out, 0, sizeof(*out));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	sin6->sin6_addr = *a;
	sin6->sin6_scope_id = scope;
	out->len = sizeof(*sin6);
}

int
addr_parse(const char *s, int default_port, struct pl_addr *out, const char **err)
{
	const char *reason = NULL;
	struct in_addr a4;
	struct in6_addr a6;
	uint32_t scope;
	int port = default_port;
	const char *colon;

	if (err == NULL)
		err = &reason;
	if (s == NULL || *s == '\0') {
		*err = "empty address";
		return -1;
	}

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		char tmp[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
		size_t len;

		if (close == NULL) {
			*err = "missing ']'";
			return -1;
		}
		len = (size_t)(close - s - 1);
		if (len >= sizeof(tmp)) {
			*err = "not an IP address";
			return -1;
		}
		memcpy(tmp, s + 1, len);
		tmp[len] = '\0';
		if (inet_pton(AF_INET, tmp, &a4) == 1) {
			*err = "brackets are only for IPv6 addresses";
			return -1;
		}
		if (parse_v6(tmp, &a6, &scope, err) == -1)
			return -1;
		if (close[1] == ':') {
			if ((port = parse_port(close + 2, err)) == -1)
				return -1;
		} else if (close[1] != '\0') {
			*err = "expected ':port' after ']'";
			return -1;
		}
		if (port <= 0 || port > 65535) {
			*err = "missing port";
			return -1;
		}
		set_v6(out, &a6, scope, port);
		return 0;
	}

	colon = strchr(s, ':');
	if (colon != NULL && strchr(colon + 1, ':') != NULL) {
		/* Two or more colons: a bare IPv6 address, which cannot carry
		 * a port (that needs brackets). */
		if (parse_v6(s, &a6, &scope, err) == -1)
			return -1;
		if (port <= 0 || port > 65535) {
			*err = "missing port";
			return -1;
		}
		set_v6(out, &a6, scope, port);
		return 0;
	}

	{
		char tmp[INET_ADDRSTRLEN];
		size_t len = colon ? (size_t)(colon - s) : strlen(s);

		if (len == 0 || len >= sizeof(tmp)) {
			*err = "not an IP address";
			return -1;
		}
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		if (inet_pton(AF_INET, tmp, &a4) != 1) {
			*err = "not an IP address";
			return -1;
		}
	}
	if (colon != NULL && (port = parse_port(colon + 1, err)) == -1)
		return -1;
	if (port <= 0 || port > 65535) {
		*err = "missing port";
		return -1;
	}
	set_v4(out, &a4, port);
	return 0;
}

const char *
addr_str(const struct pl_addr *a, char *buf, size_t buflen)
{
	char host[INET6_ADDRSTRLEN];

	if (buflen == 0)
		return buf;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, buflen, "%s:%d", host, ntohs(sin->sin_port));
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
		char scope[IF_NAMESIZE + 2] = "";

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		if (sin6->sin6_scope_id != 0) {
			char ifname[IF_NAMESIZE];

			if (if_indextoname(sin6->sin6_scope_id, ifname) != NULL)
				snprintf(scope, sizeof(scope), "%%%s", ifname);
			else
				snprintf(scope, sizeof(scope), "%%%u",
				    (unsigned)sin6->sin6_scope_id);
		}
		snprintf(buf, buflen, "[%s%s]:%d", host, scope,
		    ntohs(sin6->sin6_port));
	} else
		snprintf(buf, buflen, "(unknown address family %d)",
		    (int)a->ss.ss_family);
	return buf;
}

bool
addr_equal(const struct pl_addr *a, const struct pl_addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss;
		const struct sockaddr_in *y = (const struct sockaddr_in *)&b->ss;

		return x->sin_port == y->sin_port &&
		    x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->ss;

		return x->sin6_port == y->sin6_port &&
		    x->sin6_scope_id == y->sin6_scope_id &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
	}
	return false;
}

int
addr_port(const struct pl_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return 0;
}

/* The raw address of A (4 or 16 bytes), or NULL for another family. */
static const uint8_t *
addr_raw(const struct pl_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return (const uint8_t *)
		    &((const struct sockaddr_in *)(const void *)&a->ss)->sin_addr;
	if (a->ss.ss_family == AF_INET6)
		return (const uint8_t *)
		    &((const struct sockaddr_in6 *)(const void *)&a->ss)->sin6_addr;
	return NULL;
}

static size_t
addr_rawlen(const struct pl_addr *a)
{
	return a->ss.ss_family == AF_INET ? 4 : 16;
}

bool
addr_is_unspecified(const struct pl_addr *a)
{
	static const uint8_t zero[16];
	const uint8_t *raw = addr_raw(a);

	return raw != NULL && memcmp(raw, zero, addr_rawlen(a)) == 0;
}

bool
addr_is_loopback(const struct pl_addr *a)
{
	static const uint8_t v6loop[16] = { [15] = 1 };
	const uint8_t *raw = addr_raw(a);

	if (raw == NULL)
		return false;
	if (a->ss.ss_family == AF_INET)
		return raw[0] == 127;
	return memcmp(raw, v6loop, 16) == 0;
}

bool
addr_same_host(const struct pl_addr *a, const struct pl_addr *b)
{
	const uint8_t *ra = addr_raw(a), *rb = addr_raw(b);

	return ra != NULL && a->ss.ss_family == b->ss.ss_family &&
	    memcmp(ra, rb, addr_rawlen(a)) == 0;
}

bool
addr_is_local(const struct pl_addr *a)
{
	struct ifaddrs *ifs;
	bool local = false;

	if (addr_is_loopback(a))
		return true;
	if (addr_raw(a) == NULL || getifaddrs(&ifs) == -1)
		return false;
	for (struct ifaddrs *i = ifs; i != NULL && !local; i = i->ifa_next) {
		struct pl_addr ia;

		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != a->ss.ss_family)
			continue;
		memset(&ia, 0, sizeof(ia));
		ia.len = a->ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6);
		memcpy(&ia.ss, i->ifa_addr, ia.len);
		local = addr_same_host(&ia, a);
	}
	freeifaddrs(ifs);
	return local;
}

void
addr_unwildcard(struct pl_addr *a)
{
	if (!addr_is_unspecified(a))
		return;
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)(void *)&a->ss)->sin_addr.s_addr =
		    htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)(void *)&a->ss)->sin6_addr =
		    in6addr_loopback;
}

bool
addr_listen_gets(const struct pl_addr *listen, const struct pl_addr *dest)
{
	if (addr_port(listen) != addr_port(dest))
		return false;
	if (addr_same_host(listen, dest))
		return true;
	/* A wildcard socket gets its family's traffic for every local
	 * address; an IPv6 one gets IPv4's too (it is dual-stack). */
	return addr_is_unspecified(listen) &&
	    (listen->ss.ss_family == AF_INET6 ||
	    listen->ss.ss_family == dest->ss.ss_family) && addr_is_local(dest);
}

static void
clear_host_bits(uint8_t *addr, int bytes, int prefix)
{
	for (int i = 0; i < bytes; i++) {
		int bits = prefix - i * 8;

		if (bits >= 8)
			continue;
		addr[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

int
cidr_parse(const char *s, struct pl_cidr *out, const char **err)
{
	const char *reason = NULL;
	const char *slash;
	char tmp[INET6_ADDRSTRLEN];
	size_t len;
	int max, prefix;

	if (err == NULL)
		err = &reason;
	if (s == NULL || *s == '\0') {
		*err = "empty prefix";
		return -1;
	}
	slash = strchr(s, '/');
	len = slash ? (size_t)(slash - s) : strlen(s);
	if (len == 0 || len >= sizeof(tmp)) {
		*err = "not an IP address";
		return -1;
	}
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, tmp, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tmp, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		*err = "not an IP address";
		return -1;
	}

	prefix = max;
	if (slash != NULL) {
		const char *p = slash + 1;
		long v = 0;

		if (*p == '\0') {
			*err = "missing prefix length after '/'";
			return -1;
		}
		for (; *p != '\0'; p++) {
			if (!isdigit((unsigned char)*p)) {
				*err = "bad prefix length";
				return -1;
			}
			if (v <= 128)
				v = v * 10 + (*p - '0');
		}
		if (v > max) {
			*err = max == 32 ? "prefix length out of range (0..32)" :
			    "prefix length out of range (0..128)";
			return -1;
		}
		prefix = (int)v;
	}
	out->prefix = prefix;
	/* "192.0.2.1/24" means the network the address is on, as ip(8) has it. */
	clear_host_bits(out->addr, max / 8, prefix);
	return 0;
}

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static bool
prefix_equal(const uint8_t *a, const uint8_t *b, int prefix)
{
	int whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool
cidr_match_raw(const struct pl_cidr *c, int family, const void *addr)
{
	const uint8_t *a = addr;
	uint8_t mapped[16];

	if (c->family == AF_INET) {
		if (family == AF_INET6) {
			if (memcmp(a, v4mapped, sizeof(v4mapped)) != 0)
				return false;
			a += 12;
		} else if (family != AF_INET)
			return false;
		return prefix_equal(c->addr, a, c->prefix);
	}
	if (c->family == AF_INET6) {
		if (family == AF_INET) {
			/* Compare as ::ffff:a.b.c.d, so ::ffff:0:0/96 holds
			 * every IPv4 address. */
			memcpy(mapped, v4mapped, sizeof(v4mapped));
			memcpy(mapped + 12, a, 4);
			a = mapped;
		} else if (family != AF_INET6)
			return false;
		return prefix_equal(c->addr, a, c->prefix);
	}
	return false;
}

bool
cidr_match(const struct pl_cidr *c, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return cidr_match_raw(c, AF_INET,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return cidr_match_raw(c, AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return false;
}

bool
addr_is_private(int family, const void *addr)
{
	const uint8_t *a = addr;

	if (family == AF_INET6) {
		if (memcmp(a, v4mapped, sizeof(v4mapped)) != 0)
			return (a[0] & 0xfe) == 0xfc;
		a += 12;
	} else if (family != AF_INET)
		return false;
	return a[0] == 10 ||
	    (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	    (a[0] == 192 && a[1] == 168) ||
	    (a[0] == 100 && (a[1] & 0xc0) == 64);
}

int
addr_parse_tls(const char *spec, struct addr_tls *out, const char **err)
{
	char buf[512], *hash, *a;

	memset(out, 0, sizeof(*out));
	if (strncasecmp(spec, "tls://", 6) != 0) {
		*err = "not a tls:// address";
		return -1;
	}
	pl_strlcpy(buf, spec + 6, sizeof(buf));
	if ((hash = strchr(buf, '#')) != NULL) {
		*hash++ = '\0';
		if (*hash == '\0' || strlen(hash) >= sizeof(out->name)) {
			*err = "bad name after #";
			return -1;
		}
		pl_strlcpy(out->name, hash, sizeof(out->name));
	}
	a = buf;
	return addr_parse(a, 853, &out->addr, err);
}
