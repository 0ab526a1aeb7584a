/*
 * cookie: server DNS cookies (RFC 7873) in the interoperable form of
 * RFC 9018, so that the servers of an anycast pair that share a secret
 * accept each other's cookies.
 *
 * A server cookie is 16 octets: version 1, three reserved octets, a
 * timestamp (UNIX seconds, serial arithmetic) and SipHash-2-4 over the
 * client cookie, those first eight octets and the client's address, keyed
 * with a 128-bit secret.  One is valid from 5 minutes before its timestamp
 * (clocks differ) to an hour after; after half an hour a fresh one is
 * handed out.  The secret is random per process unless [server]
 * cookie_secret gives one; further secrets listed there are still accepted
 * (the previous one, while a new one is rolled out).
 *
 * pldns never requires a cookie: a query without one, or with a bad one, is
 * answered as usual (with a fresh cookie), as BIND does by default; only a
 * query for a cookie alone (no question, RFC 7873 5.4) learns that its
 * server cookie was bad (BADCOOKIE).
 */
#ifndef PLDNS_COOKIE_H
#define PLDNS_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#define COOKIE_SECRET_LEN	16
#define COOKIE_MAX_SECRETS	4
#define COOKIE_CLIENT_LEN	8
#define COOKIE_SERVER_LEN	16
/* The option data pldns sends back: the client cookie and ours. */
#define COOKIE_REPLY_LEN	(COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN)

#define COOKIE_LIFETIME		3600	/* RFC 9018 4.3: valid an hour */
#define COOKIE_SKEW		300	/* and from 5 minutes ahead */
#define COOKIE_RENEW		1800	/* renewed after half an hour */

enum cookie_verdict {
	COOKIE_CLIENT_ONLY,	/* a client cookie alone: a first contact */
	COOKIE_VALID,		/* a server cookie we made, still valid */
	COOKIE_BAD		/* a server cookie we did not make, or expired */
};

/* The first secret makes cookies; every one is accepted. */
struct cookie_secrets {
	uint8_t key[COOKIE_MAX_SECRETS][COOKIE_SECRET_LEN];
	size_t n;
};

/*
 * Fills CS from HEX[0..N) (32 hexadecimal digits each), or, when N is 0,
 * with the process's own random secret (the same for every caller).
 * Returns -1 when an entry is not 32 hex digits or there are more than
 * COOKIE_MAX_SECRETS (CS is then left with the random secret).
 */
int cookie_secrets_set(struct cookie_secrets *cs, char *const *hex, size_t n);

/* True when TEXT is a valid cookie_secret entry (32 hex digits). */
bool cookie_secret_ok(const char *text);

/* A SipHash context for one thread (the query path never allocates). */
struct cookie_mac;
struct cookie_mac *cookie_mac_new(void);
void cookie_mac_free(struct cookie_mac *m);

/*
 * Judges the COOKIE option data OPT/LEN that CLIENT (AF_INET or AF_INET6)
 * sent at NOW (UNIX seconds): LEN is 8 or 16 to 40, as wire_query_parse()
 * checked.  Writes to OUT the option data to answer with: the client cookie
 * and a server cookie (the one received when valid and under half an hour
 * old, else a fresh one).
 */
enum cookie_verdict cookie_check(struct cookie_mac *m, const struct cookie_secrets *cs,
    const uint8_t *opt, size_t len, const struct sockaddr *client, uint32_t now,
    uint8_t out[COOKIE_REPLY_LEN]);

#endif
