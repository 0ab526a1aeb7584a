/* tsig: RFC 8945 transaction signatures on wire-form messages. */
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "engine/tsig.h"

#define CLASS_ANY_	255
#define MAX_UNSIGNED	99	/* RFC 8945 5.3.1: every 100th message is signed */

static const struct {
	const char *digest;		/* OpenSSL name */
	const uint8_t *name;		/* wire */
	size_t mac_len;
} algs[] = {
	[KEY_HMAC_SHA256] = { "SHA256", (const uint8_t *)"\013hmac-sha256", 32 },
	[KEY_HMAC_SHA1] = { "SHA1", (const uint8_t *)"\011hmac-sha1", 20 },
	[KEY_HMAC_SHA224] = { "SHA224", (const uint8_t *)"\013hmac-sha224", 28 },
	[KEY_HMAC_SHA384] = { "SHA384", (const uint8_t *)"\013hmac-sha384", 48 },
	[KEY_HMAC_SHA512] = { "SHA512", (const uint8_t *)"\013hmac-sha512", 64 },
};
#define NALGS	(sizeof(algs) / sizeof(algs[0]))

/* ---- HMAC through OpenSSL's EVP_MAC ---- */

static EVP_MAC *hmac_impl;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void
hmac_fetch(void)
{
	/* An EVP_MAC is reference counted and may be shared across threads. */
	hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static EVP_MAC_CTX *
hmac_begin(const struct tsig_key *k)
{
	EVP_MAC_CTX *m;
	OSSL_PARAM params[2];

	pthread_once(&hmac_once, hmac_fetch);
	if (hmac_impl == NULL || (m = EVP_MAC_CTX_new(hmac_impl)) == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)algs[k->alg].digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(m, k->secret, k->secret_len, params)) {
		EVP_MAC_CTX_free(m);
		return NULL;
	}
	return m;
}

static void
hmac_update(EVP_MAC_CTX *m, const void *p, size_t n)
{
	if (n > 0)
		EVP_MAC_update(m, p, n);
}

static void
hmac_u16(EVP_MAC_CTX *m, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	hmac_update(m, b, 2);
}

static void
hmac_u48(EVP_MAC_CTX *m, uint64_t v)
{
	uint8_t b[6];

	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(v >> (40 - 8 * i));
	hmac_update(m, b, 6);
}

/* Finishes M into OUT (TSIG_MAC_MAX); returns the length, 0 on failure. */
static size_t
hmac_end(EVP_MAC_CTX *m, uint8_t *out)
{
	size_t n = 0;

	if (!EVP_MAC_final(m, out, &n, TSIG_MAC_MAX))
		n = 0;
	EVP_MAC_CTX_free(m);
	return n;
}

/* ---- keys and names ---- */

int
tsig_key_init(struct tsig_key *k, const struct key_conf *kc)
{
	const char *err;
	int n;

	memset(k, 0, sizeof(*k));
	if (kc->secret_len > sizeof(k->secret) || kc->algorithm < 0 ||
	    (size_t)kc->algorithm >= NALGS)
		return -1;
	if ((n = wire_name_from_str(kc->name, k->name, &err)) < 0)
		return -1;
	wire_name_lower(k->name, k->name, (size_t)n);
	k->alg = kc->algorithm;
	memcpy(k->secret, kc->secret_bin, kc->secret_len);
	k->secret_len = kc->secret_len;
	return 0;
}

const uint8_t *
tsig_alg_name(int alg, size_t *mac_len)
{
	if (alg < 0 || (size_t)alg >= NALGS)
		return NULL;
	if (mac_len != NULL)
		*mac_len = algs[alg].mac_len;
	return algs[alg].name;
}

const char *
tsig_error_str(int error)
{
	switch (error) {
	case TSIG_NOERROR:
		return "NOERROR";
	case TSIG_BADSIG:
		return "BADSIG";
	case TSIG_BADKEY:
		return "BADKEY";
	case TSIG_BADTIME:
		return "BADTIME";
	case TSIG_BADTRUNC:
		return "BADTRUNC";
	case -1:
		return "malformed TSIG";
	default:
		return "TSIG error";
	}
}

static size_t
name_len(const uint8_t *n)
{
	return (size_t)wire_name_len(n, WIRE_NAME_MAX);
}

size_t
tsig_rr_size(const struct tsig_ctx *c)
{
	return name_len(c->key.name) + 10 + name_len(algs[c->key.alg].name) + 10 +
	    algs[c->key.alg].mac_len + 6 + 6;
}

/* ---- finding the TSIG RR ---- */

/* Reads the RDATA of the TSIG RR RR of MSG into T; 0, or -1 when malformed. */
static int
tsig_rdata(const uint8_t *msg, const struct wire_iter_rr *rr, struct tsig_rr *t)
{
	size_t end = rr->end, p = rr->rdata_off;
	int n;

	/* The algorithm name is never compressed (RFC 8945 4.2). */
	if ((n = wire_name_len(msg + p, end - p)) < 0)
		return -1;
	wire_name_lower(t->alg, msg + p, (size_t)n);
	p += (size_t)n;
	if (end - p < 10)
		return -1;
	t->time_signed = (uint64_t)wire_get_u16(msg + p) << 32 |
	    wire_get_u32(msg + p + 2);
	t->fudge = wire_get_u16(msg + p + 6);
	t->mac_len = wire_get_u16(msg + p + 8);
	p += 10;
	if (end - p < (size_t)t->mac_len + 6)
		return -1;
	t->mac = msg + p;
	p += t->mac_len;
	t->orig_id = wire_get_u16(msg + p);
	t->error = wire_get_u16(msg + p + 2);
	t->other_len = wire_get_u16(msg + p + 4);
	p += 6;
	if (end - p != t->other_len)
		return -1;
	t->other = msg + p;
	return 0;
}

int
tsig_find(const uint8_t *msg, size_t len, struct tsig_rr *t)
{
	struct wire_iter it;
	struct wire_iter_rr rr;
	uint8_t owner[WIRE_NAME_MAX];
	bool found = false;
	int r;

	if (wire_iter_init(&it, msg, len) == -1)
		return -1;
	while ((r = wire_iter_find(&it, TYPE_TSIG, &rr)) == 1) {
		/* Only once, and only as the very last record (RFC 8945 5.1). */
		if (found || rr.index != it.nrr - 1 ||
		    rr.section != WIRE_SEC_ADDITIONAL)
			return -1;
		found = true;
		memset(t, 0, sizeof(*t));
		t->rr_off = rr.off;
		wire_name_lower(t->name, owner, (size_t)wire_iter_owner(&it, &rr, owner));
		if (rr.rclass != CLASS_ANY_ || rr.ttl != 0 ||
		    tsig_rdata(msg, &rr, t) == -1)
			return -1;
	}
	if (r == -1 || !wire_iter_end(&it))
		return -1;
	return found ? 1 : 0;
}

/* ---- digests ---- */

/*
 * Feeds MSG without its TSIG RR (which starts at TSIG_OFF; LEN when none)
 * to M: the header with ID replaced by ORIG_ID and ARCOUNT less one.
 */
static void
digest_message(EVP_MAC_CTX *m, const uint8_t *msg, size_t len, size_t tsig_off,
    bool has_tsig, uint16_t orig_id)
{
	uint8_t hdr[WIRE_HDR_LEN];

	memcpy(hdr, msg, WIRE_HDR_LEN);
	if (has_tsig) {
		uint16_t ar = wire_get_u16(msg + 10) - 1;

		hdr[0] = (uint8_t)(orig_id >> 8);
		hdr[1] = (uint8_t)orig_id;
		hdr[10] = (uint8_t)(ar >> 8);
		hdr[11] = (uint8_t)ar;
	}
	hmac_update(m, hdr, WIRE_HDR_LEN);
	hmac_update(m, msg + WIRE_HDR_LEN, (has_tsig ? tsig_off : len) - WIRE_HDR_LEN);
}

/* The TSIG variables (RFC 8945 4.3.3), or with TIMERS_ONLY the timers. */
static void
digest_vars(EVP_MAC_CTX *m, const struct tsig_key *k, uint64_t time_signed,
    uint16_t fudge, uint16_t error, const uint8_t *other, uint16_t other_len,
    bool timers_only)
{
	uint8_t ttl[4] = { 0, 0, 0, 0 };

	if (!timers_only) {
		hmac_update(m, k->name, name_len(k->name));
		hmac_u16(m, CLASS_ANY_);
		hmac_update(m, ttl, 4);
		hmac_update(m, algs[k->alg].name, name_len(algs[k->alg].name));
	}
	hmac_u48(m, time_signed);
	hmac_u16(m, fudge);
	if (!timers_only) {
		hmac_u16(m, error);
		hmac_u16(m, other_len);
		hmac_update(m, other, other_len);
	}
}

static void
digest_prior(EVP_MAC_CTX *m, const uint8_t *mac, size_t mac_len)
{
	hmac_u16(m, (uint16_t)mac_len);
	hmac_update(m, mac, mac_len);
}

/* ---- contexts ---- */

void
tsig_ctx_init(struct tsig_ctx *c, const struct tsig_key *key)
{
	memset(c, 0, sizeof(*c));
	if (key != NULL) {
		c->key = *key;
		c->active = true;
	}
}

void
tsig_ctx_clear(struct tsig_ctx *c)
{
	if (c->pending != NULL)
		EVP_MAC_CTX_free(c->pending);
	explicit_bzero(c, sizeof(*c));
}

static bool
u48_diff_over(uint64_t a, uint64_t b, uint16_t fudge)
{
	return (a > b ? a - b : b - a) > fudge;
}

int
tsig_verify_request(struct tsig_ctx *c, const struct tsig_key *keys, size_t nkeys,
    const uint8_t *msg, size_t len, const struct tsig_rr *t, uint64_t now)
{
	const struct tsig_key *k = NULL;
	uint8_t mac[TSIG_MAC_MAX];
	size_t full = 0, n;
	EVP_MAC_CTX *m;

	memset(c, 0, sizeof(*c));
	c->time_signed = t->time_signed;
	for (size_t i = 0; i < nkeys; i++) {
		if (wire_name_equal(keys[i].name, t->name) &&
		    wire_name_equal(algs[keys[i].alg].name, t->alg)) {
			k = &keys[i];
			break;
		}
	}
	if (k == NULL) {
		/* The error answer names the key and algorithm asked for. */
		memcpy(c->key.name, t->name, name_len(t->name));
		c->key.alg = KEY_HMAC_SHA256;
		for (size_t i = 0; i < NALGS; i++)
			if (wire_name_equal(algs[i].name, t->alg))
				c->key.alg = (int)i;
		c->active = true;
		return TSIG_BADKEY;
	}
	c->key = *k;
	c->active = true;
	full = algs[k->alg].mac_len;
	if (t->mac_len > full)
		return TSIG_BADSIG;	/* FORMERR per 5.2.2.1; BADSIG tells more */
	if (t->mac_len < full)
		/* Truncated MACs (RFC 8945 5.2.2.1) are not accepted. */
		return t->mac_len == 0 ? TSIG_BADSIG : TSIG_BADTRUNC;
	if ((m = hmac_begin(k)) == NULL)
		return TSIG_BADSIG;
	digest_message(m, msg, len, t->rr_off, true, t->orig_id);
	digest_vars(m, k, t->time_signed, t->fudge, t->error, t->other,
	    t->other_len, false);
	n = hmac_end(m, mac);
	if (n != full || CRYPTO_memcmp(mac, t->mac, full) != 0)
		return TSIG_BADSIG;
	memcpy(c->mac, t->mac, full);
	c->mac_len = full;
	if (u48_diff_over(now, t->time_signed, t->fudge))
		return TSIG_BADTIME;
	return TSIG_NOERROR;
}

int
tsig_sign(struct tsig_ctx *c, uint8_t *msg, size_t *len, size_t cap, uint16_t error,
    uint64_t now)
{
	const struct tsig_key *k = &c->key;
	const uint8_t *alg = algs[k->alg].name;
	size_t nlen = name_len(k->name), alen = name_len(alg);
	uint8_t mac[TSIG_MAC_MAX], other[6];
	size_t mac_len = 0, p = *len, rdlen;
	uint16_t other_len = 0, id = wire_get_u16(msg);
	uint64_t ts = now;
	bool request = c->nsigned == 0 && c->mac_len == 0;
	bool sign = error == TSIG_NOERROR || error == TSIG_BADTIME;
	EVP_MAC_CTX *m;

	if (error == TSIG_BADTIME) {
		/* The request's time, and ours in Other Data (RFC 8945 5.2.3). */
		ts = c->time_signed;
		for (int i = 0; i < 6; i++)
			other[i] = (uint8_t)(now >> (40 - 8 * i));
		other_len = 6;
	}
	if (sign) {
		bool timers_only = c->nsigned > 0;

		if ((m = hmac_begin(k)) == NULL)
			return -1;
		if (!request)
			digest_prior(m, c->mac, c->mac_len);
		digest_message(m, msg, *len, *len, false, id);
		digest_vars(m, k, ts, TSIG_FUDGE, error, other, other_len,
		    timers_only);
		if ((mac_len = hmac_end(m, mac)) == 0)
			return -1;
	}
	rdlen = alen + 10 + mac_len + 6 + other_len;
	if (cap < p || cap - p < nlen + 10 + rdlen)
		return -1;
	memcpy(msg + p, k->name, nlen);
	p += nlen;
	msg[p++] = 0;
	msg[p++] = TYPE_TSIG;
	msg[p++] = 0;
	msg[p++] = CLASS_ANY_;
	memset(msg + p, 0, 4);
	p += 4;
	msg[p++] = (uint8_t)(rdlen >> 8);
	msg[p++] = (uint8_t)rdlen;
	memcpy(msg + p, alg, alen);
	p += alen;
	for (int i = 0; i < 6; i++)
		msg[p++] = (uint8_t)(ts >> (40 - 8 * i));
	msg[p++] = TSIG_FUDGE >> 8;
	msg[p++] = TSIG_FUDGE & 0xff;
	msg[p++] = (uint8_t)(mac_len >> 8);
	msg[p++] = (uint8_t)mac_len;
	memcpy(msg + p, mac, mac_len);
	p += mac_len;
	msg[p++] = (uint8_t)(id >> 8);
	msg[p++] = (uint8_t)id;
	msg[p++] = (uint8_t)(error >> 8);
	msg[p++] = (uint8_t)error;
	msg[p++] = (uint8_t)(other_len >> 8);
	msg[p++] = (uint8_t)other_len;
	memcpy(msg + p, other, other_len);
	p += other_len;
	{
		uint16_t ar = wire_get_u16(msg + 10) + 1;

		msg[10] = (uint8_t)(ar >> 8);
		msg[11] = (uint8_t)ar;
	}
	*len = p;
	if (sign) {
		if (request)
			c->time_signed = ts;
		else
			c->nsigned++;
		memcpy(c->mac, mac, mac_len);
		c->mac_len = mac_len;
	}
	return 0;
}

int
tsig_verify_response(struct tsig_ctx *c, const uint8_t *msg, size_t len, uint64_t now)
{
	struct tsig_rr t;
	const struct tsig_key *k = &c->key;
	uint8_t mac[TSIG_MAC_MAX];
	size_t full = algs[k->alg].mac_len, n;
	EVP_MAC_CTX *m;
	int r = tsig_find(msg, len, &t);
	bool first = c->nsigned == 0;

	if (r == -1)
		return -1;
	if (r == 0) {
		/* The first response and the last must be signed; the caller
		 * checks the last. */
		if (first || c->nunsigned >= MAX_UNSIGNED)
			return TSIG_BADSIG;
		if (c->pending == NULL) {
			if ((c->pending = hmac_begin(k)) == NULL)
				return TSIG_BADSIG;
			digest_prior(c->pending, c->mac, c->mac_len);
		}
		digest_message(c->pending, msg, len, len, false, 0);
		c->nunsigned++;
		return 1;
	}
	if (!wire_name_equal(t.name, k->name) || !wire_name_equal(t.alg, algs[k->alg].name))
		return TSIG_BADKEY;
	if (t.error != TSIG_NOERROR)
		return t.error;
	if (t.mac_len != full)
		return t.mac_len < full ? TSIG_BADTRUNC : TSIG_BADSIG;
	if (c->pending != NULL) {
		m = c->pending;
		c->pending = NULL;
	} else {
		if ((m = hmac_begin(k)) == NULL)
			return TSIG_BADSIG;
		digest_prior(m, c->mac, c->mac_len);
	}
	digest_message(m, msg, len, t.rr_off, true, t.orig_id);
	digest_vars(m, k, t.time_signed, t.fudge, t.error, t.other, t.other_len, !first);
	n = hmac_end(m, mac);
	if (n != full || CRYPTO_memcmp(mac, t.mac, full) != 0)
		return TSIG_BADSIG;
	memcpy(c->mac, mac, full);
	c->mac_len = full;
	c->nsigned++;
	c->nunsigned = 0;
	if (u48_diff_over(now, t.time_signed, t.fudge))
		return TSIG_BADTIME;
	return TSIG_NOERROR;
}
