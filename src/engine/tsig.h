/*
 * tsig: transaction signatures (RFC 8945) on messages in wire form, with
 * HMAC-SHA1, -SHA224, -SHA256, -SHA384 and -SHA512 from OpenSSL.
 *
 * Why not ldns's ldns_pkt_tsig_sign/verify: they work on ldns_pkt, so every
 * message of a zone transfer would be parsed and re-encoded; verification
 * answers only yes or no, where a server must tell BADKEY, BADSIG, BADTIME
 * and BADTRUNC apart and answer each its own way (RFC 8945 5.3.2); and
 * multi-message verification cannot take the unsigned messages a signer may
 * leave between signed ones (RFC 8945 5.3.1).  The unit tests check this
 * module against ldns both ways.
 *
 * A struct tsig_ctx is one exchange: a request and its response(s).  On the
 * server: tsig_verify_request(), then tsig_sign() for each response message
 * (the first covers the request MAC, the next ones the previous MAC and the
 * timers only).  On the client: tsig_sign() the request, then
 * tsig_verify_response() for each response message.  Contexts allocate (an
 * OpenSSL HMAC context): zone transfers, NOTIFY and SOA checks are not the
 * query path.
 */
#ifndef PLDNS_TSIG_H
#define PLDNS_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/config.h"
#include "wire/wire.h"

#define TYPE_TSIG	250
#define RCODE_NOTAUTH	9

/* TSIG error codes (RFC 8945 3). */
enum {
	TSIG_NOERROR = 0, TSIG_BADSIG = 16, TSIG_BADKEY = 17, TSIG_BADTIME = 18,
	TSIG_BADTRUNC = 22
};

#define TSIG_MAC_MAX	64	/* HMAC-SHA512 */
#define TSIG_SECRET_MAX	512
#define TSIG_FUDGE	300	/* seconds, as BIND and RFC 8945 recommend */
/* Room a TSIG RR needs at the end of a message we sign. */
#define TSIG_RESERVE	(2 * WIRE_NAME_MAX + 10 + 16 + TSIG_MAC_MAX + 6)

struct tsig_key {
	uint8_t name[WIRE_NAME_MAX];	/* wire, lower-case */
	int alg;			/* enum key_algorithm */
	uint8_t secret[TSIG_SECRET_MAX];
	size_t secret_len;
};

/* A TSIG RR as found in a message (pointers into that message). */
struct tsig_rr {
	size_t rr_off;			/* where the TSIG RR (its owner) starts */
	uint8_t name[WIRE_NAME_MAX];	/* key name, lower-case */
	uint8_t alg[WIRE_NAME_MAX];	/* algorithm name, lower-case */
	uint64_t time_signed;
	uint16_t fudge;
	uint16_t mac_len;
	const uint8_t *mac;
	uint16_t orig_id;
	uint16_t error;
	uint16_t other_len;
	const uint8_t *other;
};

struct tsig_ctx {
	struct tsig_key key;
	uint8_t mac[TSIG_MAC_MAX];	/* the last MAC: request, then each response */
	size_t mac_len;
	uint64_t time_signed;		/* of the request (BADTIME answers echo it) */
	unsigned nsigned;		/* messages signed/verified since the request */
	unsigned nunsigned;		/* unsigned messages since the last signed one */
	void *pending;			/* verifier: HMAC over those unsigned messages */
	bool active;			/* a key is in use */
};

/* Fills K from a [key] section.  0, or -1 when the secret is too long. */
int tsig_key_init(struct tsig_key *k, const struct key_conf *kc);

/* The algorithm's name in wire form ("\013hmac-sha256"); MAC length in *LEN. */
const uint8_t *tsig_alg_name(int alg, size_t *mac_len);

/*
 * Finds the TSIG RR of MSG: 1 found (T filled), 0 none, -1 malformed (a TSIG
 * RR that is not the last RR of the additional section, bad RDATA, or a
 * message that does not parse to its end).
 */
int tsig_find(const uint8_t *msg, size_t len, struct tsig_rr *t);

/* Starts a client exchange with KEY (copied). */
void tsig_ctx_init(struct tsig_ctx *c, const struct tsig_key *key);
/* Frees what a context holds; it may be initialised again. */
void tsig_ctx_clear(struct tsig_ctx *c);

/*
 * Server side: verifies the request MSG whose TSIG RR is T against KEYS.
 * Returns TSIG_NOERROR with C ready to sign the response(s), or the TSIG
 * error to answer with: BADKEY (no key of that name and algorithm), BADSIG,
 * BADTRUNC, BADTIME (checked after the MAC, as RFC 8945 5.2.3 says).  For
 * BADTIME C is ready too: that answer is signed.  For the other errors C is
 * set up to produce the unsigned error TSIG (see tsig_sign()).
 */
int tsig_verify_request(struct tsig_ctx *c, const struct tsig_key *keys,
    size_t nkeys, const uint8_t *msg, size_t len, const struct tsig_rr *t,
    uint64_t now);

/*
 * Appends a TSIG RR to the message MSG (*LEN bytes, room for CAP) and
 * increments ARCOUNT.  ERROR is the TSIG error to send: with TSIG_NOERROR
 * and TSIG_BADTIME the message is signed (a request when C has seen nothing
 * yet, else a response chained to the previous MAC); with BADKEY, BADSIG
 * or BADTRUNC the RR carries an empty MAC (RFC 8945 5.3.2).  0, or -1 when
 * there is no room.
 */
int tsig_sign(struct tsig_ctx *c, uint8_t *msg, size_t *len, size_t cap,
    uint16_t error, uint64_t now);

/*
 * Client side: verifies one response message after tsig_sign() signed the
 * request.  Returns 0 when the message was signed and verified, 1 when it was
 * unsigned and may be (a message in the middle of a transfer: it is covered
 * by the next signed one; at most 99 in a row, and never the first), a TSIG
 * error code when verification failed or the server reported one, or -1
 * for a malformed TSIG RR.  The last message of an exchange must return 0.
 */
int tsig_verify_response(struct tsig_ctx *c, const uint8_t *msg, size_t len,
    uint64_t now);

/* The size of the TSIG RR tsig_sign() appends with C (BADTIME's included). */
size_t tsig_rr_size(const struct tsig_ctx *c);

/* "BADSIG" and so on, for logs. */
const char *tsig_error_str(int error);

#endif
