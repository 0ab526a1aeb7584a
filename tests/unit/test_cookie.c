/* Unit tests for cookie: the RFC 9018 appendix A vectors, the time window,
 * secret rollover, and what a client sending another server's cookie gets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wire/cookie.h"

static const struct sockaddr *
client(const char *s)
{
	static struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, s, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return (const struct sockaddr *)&ss;
}

static size_t
unhex(const char *h, uint8_t *out)
{
	size_t n = strlen(h) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void
secrets(struct cookie_secrets *cs, const char *a, const char *b)
{
	char *v[2] = { (char *)(uintptr_t)a, (char *)(uintptr_t)b };

	assert_int_equal(cookie_secrets_set(cs, v, b != NULL ? 2 : 1), 0);
}

/* Judges the option OPT (hex) from IP at NOW; the reply's option in hex must
 * be WANT (when not NULL). */
static enum cookie_verdict
judge(struct cookie_mac *m, const struct cookie_secrets *cs, const char *opt,
    const char *ip, uint32_t now, const char *want)
{
	uint8_t o[40], out[COOKIE_REPLY_LEN], w[COOKIE_REPLY_LEN];
	size_t n = unhex(opt, o);
	enum cookie_verdict v = cookie_check(m, cs, o, n, client(ip), now, out);

	if (want != NULL) {
		assert_int_equal(unhex(want, w), COOKIE_REPLY_LEN);
		assert_memory_equal(out, w, COOKIE_REPLY_LEN);
	}
	return v;
}

#define A1_REPLY "2464c4abcf10c957010000005cf79f111f8130c3eee29480"

static void
test_rfc9018_vectors(void **state)
{
	struct cookie_mac *m = cookie_mac_new();
	struct cookie_secrets cs;

	(void)state;
	assert_non_null(m);
	secrets(&cs, "e5e973e5a6b2a43f48e7dc849e37bfcf", NULL);
	/* A.1: a first contact learns a server cookie. */
	assert_int_equal(judge(m, &cs, "2464c4abcf10c957", "198.51.100.100",
	    1559731985, A1_REPLY), COOKIE_CLIENT_ONLY);
	/* A.2: 40 minutes later it is valid, and renewed. */
	assert_int_equal(judge(m, &cs, A1_REPLY, "198.51.100.100", 1559734385,
	    "2464c4abcf10c957010000005cf7a871d4a564a1442aca77"), COOKIE_VALID);
	/* A.3: reserved octets the client sent are hashed as received. */
	assert_int_equal(judge(m, &cs, "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5",
	    "203.0.113.203", 0x5cf78f71 + 10, NULL), COOKIE_VALID);
	/* ... and its reply, made fresh at A.3's time. */
	judge(m, &cs, "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5",
	    "203.0.113.203", 1559734700,
	    "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e");
	/* A.4: IPv6, made with the previous secret, renewed with the new. */
	secrets(&cs, "445536bcd2513298075a5d379663c962",
	    "dd3bdf9344b678b185a6f5cb60fca715");
	assert_int_equal(judge(m, &cs, "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
	    "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961,
	    "22681ab97d52c298010000005cf7c609a6bb79d16625507a"), COOKIE_VALID);
	/* Without the previous secret it is not ours. */
	secrets(&cs, "445536bcd2513298075a5d379663c962", NULL);
	assert_int_equal(judge(m, &cs, "22681ab97d52c298010000005cf7c57926556bd0934c72f8",
	    "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961, NULL), COOKIE_BAD);
	cookie_mac_free(m);
}

/* RFC 9018 4.3: from 5 minutes ahead to an hour old; the same cookie back
 * while under half an hour; another address or a changed octet is bad. */
static void
test_window(void **state)
{
	struct cookie_mac *m = cookie_mac_new();
	struct cookie_secrets cs;
	const uint32_t t = 1559731985;

	(void)state;
	secrets(&cs, "e5e973e5a6b2a43f48e7dc849e37bfcf", NULL);
	assert_int_equal(judge(m, &cs, A1_REPLY, "198.51.100.100", t, A1_REPLY),
	    COOKIE_VALID);
	assert_int_equal(judge(m, &cs, A1_REPLY, "198.51.100.100", t + 1799, A1_REPLY),
	    COOKIE_VALID);
	assert_int_equal(judge(m, &cs, A1_REPLY, "198.51.100.100", t + 3600, NULL),
	    COOKIE_VALID);
	assert_int_equal(judge(m, &cs, A1_REPLY, "198.51.100.100", t + 3601, NULL),
	    COOKIE_BAD);
	assert_int_equal(judge(m, &cs, A1_REPLY, "198.51.100.100", t - 300, NULL),
	    COOKIE_VALID);
	assert_int_equal(judge(m, &cs, A1_REPLY, "198.51.100.100", t - 301, NULL),
	    COOKIE_BAD);
	assert_int_equal(judge(m, &cs, A1_REPLY, "198.51.100.101", t, NULL), COOKIE_BAD);
	assert_int_equal(judge(m, &cs, "2464c4abcf10c957010000005cf79f111f8130c3eee29481",
	    "198.51.100.100", t, NULL), COOKIE_BAD);
	/* Another server's cookie of another length or version. */
	assert_int_equal(judge(m, &cs, "2464c4abcf10c9570102030405060708",
	    "198.51.100.100", t, NULL), COOKIE_BAD);
	assert_int_equal(judge(m, &cs, "2464c4abcf10c957020000005cf79f111f8130c3eee29480",
	    "198.51.100.100", t, A1_REPLY), COOKIE_BAD);
	cookie_mac_free(m);
}

static void
test_secrets(void **state)
{
	struct cookie_secrets a, b;
	char *bad[] = { "e5e973e5a6b2a43f48e7dc849e37bfc" };
	char *many[] = { "e5e973e5a6b2a43f48e7dc849e37bfcf", "e5e973e5a6b2a43f48e7dc849e37bfcf",
	    "e5e973e5a6b2a43f48e7dc849e37bfcf", "e5e973e5a6b2a43f48e7dc849e37bfcf",
	    "e5e973e5a6b2a43f48e7dc849e37bfcf" };

	(void)state;
	assert_true(cookie_secret_ok("E5E973E5a6b2a43f48e7dc849e37bfcf"));
	assert_false(cookie_secret_ok("e5e973e5a6b2a43f48e7dc849e37bfc"));
	assert_false(cookie_secret_ok("g5e973e5a6b2a43f48e7dc849e37bfcf"));
	/* None: the process's random secret, the same every time. */
	assert_int_equal(cookie_secrets_set(&a, NULL, 0), 0);
	assert_int_equal(cookie_secrets_set(&b, NULL, 0), 0);
	assert_int_equal(a.n, 1);
	assert_memory_equal(a.key[0], b.key[0], COOKIE_SECRET_LEN);
	assert_int_equal(cookie_secrets_set(&b, bad, 1), -1);
	assert_memory_equal(a.key[0], b.key[0], COOKIE_SECRET_LEN);
	assert_int_equal(cookie_secrets_set(&b, many, 5), -1);
}

/* The cost of judging a cookie on the query path (printed, not judged). */
static void
test_cost(void **state)
{
	enum { N = 100000 };
	struct cookie_mac *m = cookie_mac_new();
	struct cookie_secrets cs;
	uint8_t o[24], out[COOKIE_REPLY_LEN];
	const struct sockaddr *c = client("198.51.100.100");
	struct timespec t0, t1;
	unsigned valid = 0;

	(void)state;
	secrets(&cs, "e5e973e5a6b2a43f48e7dc849e37bfcf", NULL);
	assert_int_equal(unhex(A1_REPLY, o), 24);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < N; i++)
		valid += cookie_check(m, &cs, o, 24, c, 1559731985 + i % 1000, out) ==
		    COOKIE_VALID;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(valid, N);
	print_message("cookie_check, a valid cookie: %.0f ns\n",
	    ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / N);
	cookie_mac_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9018_vectors),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_cost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
