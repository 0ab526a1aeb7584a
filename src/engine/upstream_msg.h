/*
 * upstream_msg: the messages pldns exchanges with its upstreams, apart from
 * any socket: the query a try sends (a fresh ID, 0x20 case, EDNS, a client
 * cookie, padding over TLS) and the checks a reply must pass before it is
 * taken (ID and question, exact case, cookie), then what its rcode means
 * for the request.  Nothing here allocates or keeps state but the cookie
 * the caller passes.
 */
#ifndef PLDNS_UPSTREAM_MSG_H
#define PLDNS_UPSTREAM_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define UPSTREAM_COOKIE_CLIENT_LEN	8
#define UPSTREAM_COOKIE_SERVER_MAX	32
#define UPSTREAM_PAD_BLOCK		128	/* RFC 8467: queries padded to 128 */

/* The cookies of one server (RFC 7873): ours, and the last it sent. */
struct upstream_cookie {
	uint8_t client[UPSTREAM_COOKIE_CLIENT_LEN];
	uint8_t server[UPSTREAM_COOKIE_SERVER_MAX];
	uint8_t server_len;
};

/* Builds the query sent upstream into OUT: ID, RD=1, CD copied, the question
 * lower-cased, an OPT advertising 1232 octets with the client's DO bit.
 * Returns the length (0: no room). */
size_t upstream_build_query(const struct wire_query *q, uint16_t id, uint8_t *out,
    size_t cap);

/* How one try asks. */
struct upstream_try_opts {
	const uint8_t *cased;	/* the question name in the case to repeat (an
				   earlier try's, Q's qname_len octets), or NULL */
	bool randomize_case;	/* with CASED NULL: each letter a random case (0x20) */
	bool edns;		/* an OPT; without it no cookie nor padding either */
	const struct upstream_cookie *cookie;	/* the COOKIE option to send, or NULL */
	bool pad;		/* padded to a multiple of UPSTREAM_PAD_BLOCK (TLS) */
};

/* upstream_build_query() for a try asking as O says, into OUT (CAP octets).
 * Returns the length, 0 when it does not fit. */
size_t upstream_build_try(const struct wire_query *q, uint16_t id,
    const struct upstream_try_opts *o, uint8_t *out, size_t cap);

/* True when RESP answers the question in QUERY/QLEN (ID, QR, question, the
 * name in any case). */
bool upstream_reply_matches(const uint8_t *query, size_t qlen, const uint8_t *resp,
    size_t rlen);

/* True when RESP's question name has the exact case of QUERY's (0x20). */
bool upstream_case_matches(const uint8_t *query, size_t qlen, const uint8_t *resp,
    size_t rlen);

/*
 * Checks the reply's cookies (RFC 7873 5.3): every COOKIE option in an OPT
 * of the additional section must carry C's client cookie; a server cookie
 * of 8 to 32 octets is kept in C for the next query.  False for a reply to
 * drop; a malformed reply passes (its answer processing fails it).
 */
bool upstream_cookie_check(struct upstream_cookie *c, const uint8_t *resp,
    size_t rlen);

/* The 12-bit rcode of a reply (the extended bits from its first OPT, in
 * whatever section, before any malformed part), or -1 without a header. */
int upstream_reply_rcode(const uint8_t *resp, size_t rlen);

/* What a request does with a reply that passed the checks. */
enum upstream_action {
	UPSTREAM_ANSWER,	/* it is the answer */
	UPSTREAM_RETRY_COOKIE,	/* BADCOOKIE: ask again, once, with the server
				   cookie it carried */
	UPSTREAM_RETRY_NOEDNS,	/* FORMERR to EDNS: ask again without (RFC 6891 7) */
	UPSTREAM_FAILOVER,	/* SERVFAIL, REFUSED, NOTIMP, FORMERR, BADVERS:
				   the next server */
	UPSTREAM_TRUNCATED	/* TC over UDP: ask again over TCP */
};

/*
 * The action for a reply with RCODE (upstream_reply_rcode()) and TC bit
 * TRUNCATED, received over a stream (TCP, TLS) or not, to a request that
 * has COOKIE_RETRIED already, or sent EDNS_SENT its query with an OPT.
 */
enum upstream_action upstream_reply_action(int rcode, bool truncated, bool stream,
    bool cookie_retried, bool edns_sent);

/* "SERVFAIL" and the others UPSTREAM_FAILOVER names, for logs. */
const char *upstream_rcode_name(int rcode);

#endif
