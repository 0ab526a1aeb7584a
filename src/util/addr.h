/*
 * addr: socket addresses and CIDR prefixes as the configuration writes them.
 *   "192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:53", "2001:db8::1"
 *   "10.0.0.0/8", "fc00::/7", "192.0.2.1" (a /32)
 */
#ifndef PLDNS_ADDR_H
#define PLDNS_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct pl_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct pl_cidr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network order, host bits cleared */
	int prefix;
};

/* Parses "addr[:port]" / "[v6]:port" / bare v6; DEFAULT_PORT when none.
 * Returns 0, or -1 with a static reason in *ERR.
 * Only IP addresses ("not an IP address" for host names); ports 1..65535;
 * DEFAULT_PORT 0 makes the port mandatory; an IPv6 address may carry a
 * "%scope" (interface name or index).  ERR may be NULL. */
int addr_parse(const char *s, int default_port, struct pl_addr *out, const char **err);

/* "addr:port" / "[v6]:port" into BUF (at least 64 bytes). */
const char *addr_str(const struct pl_addr *a, char *buf, size_t buflen);

/* Same address and port (and scope); 192.0.2.1 and ::ffff:192.0.2.1 differ. */
bool addr_equal(const struct pl_addr *a, const struct pl_addr *b);
int addr_port(const struct pl_addr *a);

/*
 * Which host an address names, for reaching pldns and for not forwarding
 * to it.  Ports and IPv6 scopes are not looked at; an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) is an IPv6 address here, as a socket of each
 * family sees it.
 */
/* 0.0.0.0 or :: (a wildcard listen address; "this host" in resolv.conf). */
bool addr_is_unspecified(const struct pl_addr *a);
/* 127.0.0.0/8 or ::1. */
bool addr_is_loopback(const struct pl_addr *a);
/* Loopback, or an address of one of this host's interfaces (getifaddrs();
 * false when that fails). */
bool addr_is_local(const struct pl_addr *a);
/* The same family and IP address. */
bool addr_same_host(const struct pl_addr *a, const struct pl_addr *b);
/* A wildcard address becomes its family's loopback address (0.0.0.0 ->
 * 127.0.0.1, :: -> ::1), the port kept: where a client on this host
 * reaches a server listening on it.  Any other address is left alone. */
void addr_unwildcard(struct pl_addr *a);
/*
 * Whether a socket bound to LISTEN receives what is sent to DEST: the same
 * port, and the same address, or LISTEN a wildcard and DEST an address of
 * this host (an IPv6 wildcard is dual-stack and gets IPv4 too).
 */
bool addr_listen_gets(const struct pl_addr *listen, const struct pl_addr *dest);

/* Parses "prefix/len" or a bare address (a /32 or /128); host bits are
 * cleared ("192.0.2.7/24" is 192.0.2.0/24).  Returns 0, or -1 with a static
 * reason in *ERR (which may be NULL). */
int cidr_parse(const char *s, struct pl_cidr *out, const char **err);
/* True when SA (AF_INET or AF_INET6; v4-mapped v6 is matched as v4) is inside C.
 * An IPv4 address is matched against an IPv6 prefix as ::ffff:a.b.c.d. */
bool cidr_match(const struct pl_cidr *c, const struct sockaddr *sa);
/* Same for a raw address of FAMILY. */
bool cidr_match_raw(const struct pl_cidr *c, int family, const void *addr);

/* True for 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7 (private
 * endpoint address ranges).  FAMILY AF_INET / AF_INET6, ADDR network order.
 * A v4-mapped IPv6 address (::ffff:a.b.c.d) is judged as its IPv4 address. */
bool addr_is_private(int family, const void *addr);

/* A DNS over TLS upstream: its address and the name its certificate must
 * carry (also sent as SNI); an empty name means "verify the IP address". */
struct addr_tls {
	struct pl_addr addr;
	char name[256];
};

/*
 * Parses "tls://ADDR[:PORT][#NAME]" (port 853 when none).  Returns 0, or -1
 * with a static reason in *ERR.
 */
int addr_parse_tls(const char *spec, struct addr_tls *out,
    const char **err);

#endif
