/* cookie: RFC 7873 server cookies, RFC 9018 format, SipHash-2-4 from OpenSSL. */
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "wire/cookie.h"
#include "util/log.h"
#include "wire/wire.h"

struct cookie_mac {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

static pthread_once_t random_once = PTHREAD_ONCE_INIT;
static uint8_t random_secret[COOKIE_SECRET_LEN];

static void
random_init(void)
{
	/* Without a good random secret, cookies could be forged: stop. */
	if (RAND_bytes(random_secret, sizeof(random_secret)) != 1)
		fatalx("cannot make a random cookie secret");
}

bool
cookie_secret_ok(const char *text)
{
	size_t i;

	for (i = 0; text[i] != '\0'; i++)
		if (!isxdigit((unsigned char)text[i]))
			return false;
	return i == 2 * COOKIE_SECRET_LEN;
}

static int
hexval(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

int
cookie_secrets_set(struct cookie_secrets *cs, char *const *hex, size_t n)
{
	memset(cs, 0, sizeof(*cs));
	if (n > COOKIE_MAX_SECRETS)
		goto random;
	for (size_t i = 0; i < n; i++) {
		if (!cookie_secret_ok(hex[i]))
			goto random;
		for (size_t k = 0; k < COOKIE_SECRET_LEN; k++)
			cs->key[i][k] = (uint8_t)(hexval(hex[i][2 * k]) << 4 |
			    hexval(hex[i][2 * k + 1]));
	}
	cs->n = n;
	if (n > 0)
		return 0;
random:
	pthread_once(&random_once, random_init);
	memcpy(cs->key[0], random_secret, COOKIE_SECRET_LEN);
	cs->n = 1;
	return n == 0 ? 0 : -1;
}

struct cookie_mac *
cookie_mac_new(void)
{
	struct cookie_mac *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	if ((m->mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL)) == NULL ||
	    (m->ctx = EVP_MAC_CTX_new(m->mac)) == NULL) {
		cookie_mac_free(m);
		return NULL;
	}
	return m;
}

void
cookie_mac_free(struct cookie_mac *m)
{
	if (m == NULL)
		return;
	EVP_MAC_CTX_free(m->ctx);
	EVP_MAC_free(m->mac);
	free(m);
}

/*
 * The hash of RFC 9018 4.4 into OUT (8 octets): SipHash-2-4 keyed with KEY
 * over the client cookie CC, the first 8 octets of the server cookie HEAD
 * (version, reserved, timestamp) and the client's address.
 */
static bool
cookie_hash(struct cookie_mac *m, const uint8_t *key, const uint8_t *cc,
    const uint8_t *head, const uint8_t *ip, size_t iplen, uint8_t *out)
{
	size_t size = 8, outl = 0;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end()
	};

	return EVP_MAC_init(m->ctx, key, COOKIE_SECRET_LEN, params) == 1 &&
	    EVP_MAC_update(m->ctx, cc, COOKIE_CLIENT_LEN) == 1 &&
	    EVP_MAC_update(m->ctx, head, 8) == 1 &&
	    EVP_MAC_update(m->ctx, ip, iplen) == 1 &&
	    EVP_MAC_final(m->ctx, out, &outl, 8) == 1 && outl == 8;
}

enum cookie_verdict
cookie_check(struct cookie_mac *m, const struct cookie_secrets *cs,
    const uint8_t *opt, size_t len, const struct sockaddr *client, uint32_t now,
    uint8_t out[COOKIE_REPLY_LEN])
{
	const uint8_t *ip;
	size_t iplen;
	enum cookie_verdict v = COOKIE_CLIENT_ONLY;
	uint8_t *sc = out + COOKIE_CLIENT_LEN;

	if (client->sa_family == AF_INET6) {
		ip = ((const struct sockaddr_in6 *)(const void *)client)->sin6_addr.s6_addr;
		iplen = 16;
	} else {
		ip = (const uint8_t *)&((const struct sockaddr_in *)(const void *)client)->sin_addr;
		iplen = 4;
	}
	memcpy(out, opt, COOKIE_CLIENT_LEN);
	if (len > COOKIE_CLIENT_LEN) {
		const uint8_t *rs = opt + COOKIE_CLIENT_LEN;
		/* Serial arithmetic: a timestamp a little ahead is negative. */
		int32_t age = (int32_t)(now - wire_get_u32(rs + 4));
		uint8_t h[8];
		size_t i = 0;

		v = COOKIE_BAD;
		/* Another format or version, or out of its time: not ours.
		 * The reserved octets are hashed as received (RFC 9018 4.2). */
		if (len == COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN && rs[0] == 1 &&
		    age >= -COOKIE_SKEW && age <= COOKIE_LIFETIME) {
			for (; i < cs->n; i++)
				if (cookie_hash(m, cs->key[i], opt, rs, ip, iplen, h) &&
				    CRYPTO_memcmp(h, rs + 8, 8) == 0) {
					v = COOKIE_VALID;
					break;
				}
		}
		if (v == COOKIE_VALID && age < COOKIE_RENEW && i == 0) {
			/* Ours, with the current secret, and young: the same. */
			memcpy(sc, rs, COOKIE_SERVER_LEN);
			return v;
		}
	}
	sc[0] = 1;
	sc[1] = sc[2] = sc[3] = 0;
	wire_write_u32(sc + 4, now);
	if (!cookie_hash(m, cs->key[0], opt, sc, ip, iplen, sc + 8))
		memset(sc + 8, 0, 8);	/* never valid: the client asks again */
	return v;
}
