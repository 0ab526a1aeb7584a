/* Unit tests for rrl: token buckets per /24 and /56 driven by a fake clock,
 * SLIP, table reuse, counters.  What one rrl_check costs is measured by
 * tests/bench/rrl_cost.c (make bench). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "engine/rrl.h"

/* A client address from "a.b.c.d" or an IPv6 literal.  Each call returns a
 * separate buffer (a ring of 8) so a test can hold several. */
static const struct sockaddr *
client(const char *s)
{
	static struct sockaddr_storage ss[8];
	static int next;
	struct sockaddr_storage *p = &ss[next++ % 8];
	struct sockaddr_in *sin = (struct sockaddr_in *)p;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)p;

	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(33333);
	} else {
		assert_int_equal(inet_pton(AF_INET6, s, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(33333);
	}
	return (const struct sockaddr *)p;
}

struct tally { unsigned send, slip, drop; };

static void
count(struct tally *t, enum rrl_verdict v)
{
	if (v == RRL_SEND)
		t->send++;
	else if (v == RRL_SLIP)
		t->slip++;
	else
		t->drop++;
}

static void
assert_info(const struct rrl *r, uint64_t sent, uint64_t slipped, uint64_t dropped)
{
	struct rrl_info info;

	rrl_get_info(r, &info);
	assert_int_equal(info.sent, sent);
	assert_int_equal(info.slipped, slipped);
	assert_int_equal(info.dropped, dropped);
}

static void
test_rate_zero(void **state)
{
	struct rrl *r = rrl_new(0, 2, 64);
	const struct sockaddr *sa = client("192.0.2.1");

	(void)state;
	for (int i = 0; i < 100000; i++)
		assert_int_equal(rrl_check(r, sa, 0), RRL_SEND);
	assert_info(r, 100000, 0, 0);
	rrl_free(r);
}

/*
 * One client at 10x the rate (a query every millisecond against 100/s) for
 * ten seconds, while another /24 asks ten times a second.
 */
static void
test_flood(void **state)
{
	enum { RATE = 100, SECONDS = 10 };
	struct rrl *r = rrl_new(RATE, 2, 1024);
	const struct sockaddr *flood = client("192.0.2.1");
	const struct sockaddr *other = client("198.51.100.1");
	struct tally total = { 0 }, other_t = { 0 };

	(void)state;
	for (int s = 0; s < SECONDS; s++) {
		struct tally sec = { 0 };

		for (int ms = 0; ms < 1000; ms++) {
			uint64_t now = 1000000 + (uint64_t)s * 1000 + (uint64_t)ms;

			count(&sec, rrl_check(r, flood, now));
			if (ms % 100 == 0)
				count(&other_t, rrl_check(r, other, now));
		}
		print_message("second %d: %u sent, %u slipped, %u dropped\n",
		    s, sec.send, sec.slip, sec.drop);
		if (s == 0) {
			/* The burst (RATE) plus a second's refill. */
			assert_in_range(sec.send, 2 * RATE - 2, 2 * RATE);
		} else
			assert_in_range(sec.send, RATE - 1, RATE + 1);
		/* Half the excess slips, half is dropped. */
		assert_in_range(sec.slip, sec.drop - 1, sec.drop + 1);
		total.send += sec.send;
		total.slip += sec.slip;
		total.drop += sec.drop;
	}
	assert_int_equal(total.send + total.slip + total.drop, SECONDS * 1000);
	assert_in_range(total.send, (SECONDS + 1) * RATE - 2, (SECONDS + 1) * RATE);
	/* The first query over the limit slips: ceil(excess / 2). */
	assert_int_equal(total.slip, (total.slip + total.drop + 1) / 2);
	/* The other network never noticed. */
	assert_int_equal(other_t.send, SECONDS * 10);
	assert_int_equal(other_t.slip + other_t.drop, 0);
	assert_info(r, total.send + other_t.send, total.slip, total.drop);
	rrl_free(r);
}

static void
test_slip_zero(void **state)
{
	struct rrl *r = rrl_new(10, 0, 64);
	const struct sockaddr *sa = client("192.0.2.1");
	struct tally t = { 0 };

	(void)state;
	for (int i = 0; i < 1000; i++)
		count(&t, rrl_check(r, sa, 5000));
	assert_int_equal(t.send, 10);
	assert_int_equal(t.slip, 0);
	assert_int_equal(t.drop, 990);
	assert_info(r, 10, 0, 990);
	rrl_free(r);
}

static void
test_slip_one_and_three(void **state)
{
	struct rrl *r = rrl_new(10, 1, 64);
	const struct sockaddr *sa = client("192.0.2.1");
	struct tally t = { 0 };

	(void)state;
	for (int i = 0; i < 100; i++)
		count(&t, rrl_check(r, sa, 5000));
	assert_int_equal(t.send, 10);
	assert_int_equal(t.slip, 90);
	assert_int_equal(t.drop, 0);
	rrl_free(r);

	r = rrl_new(10, 3, 64);
	memset(&t, 0, sizeof(t));
	for (int i = 0; i < 100; i++)
		count(&t, rrl_check(r, sa, 5000));
	assert_int_equal(t.send, 10);
	assert_int_equal(t.slip, 30);
	assert_int_equal(t.drop, 60);
	/* Over the limit: slip, drop, drop, slip, ... */
	rrl_free(r);
	r = rrl_new(1, 3, 64);
	assert_int_equal(rrl_check(r, sa, 0), RRL_SEND);
	assert_int_equal(rrl_check(r, sa, 0), RRL_SLIP);
	assert_int_equal(rrl_check(r, sa, 0), RRL_DROP);
	assert_int_equal(rrl_check(r, sa, 0), RRL_DROP);
	assert_int_equal(rrl_check(r, sa, 0), RRL_SLIP);
	rrl_free(r);
}

static void
test_refill(void **state)
{
	struct rrl *r = rrl_new(100, 0, 64);
	const struct sockaddr *sa = client("203.0.113.9");

	(void)state;
	for (int i = 0; i < 100; i++)
		assert_int_equal(rrl_check(r, sa, 10000), RRL_SEND);
	assert_int_equal(rrl_check(r, sa, 10000), RRL_DROP);
	/* 100/s is one token per 10 ms. */
	assert_int_equal(rrl_check(r, sa, 10009), RRL_DROP);
	assert_int_equal(rrl_check(r, sa, 10010), RRL_SEND);
	assert_int_equal(rrl_check(r, sa, 10010), RRL_DROP);
	/* A clock going backwards refills nothing. */
	assert_int_equal(rrl_check(r, sa, 9000), RRL_DROP);
	/* A long pause refills to the burst, not beyond. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(rrl_check(r, sa, 10000000), RRL_SEND);
	assert_int_equal(rrl_check(r, sa, 10000000), RRL_DROP);
	rrl_free(r);
}

static void
test_same_network_shares(void **state)
{
	struct rrl *r = rrl_new(50, 0, 64);
	const struct sockaddr *a = client("192.0.2.1");
	const struct sockaddr *b = client("192.0.2.254");
	const struct sockaddr *c = client("::ffff:192.0.2.77");
	const struct sockaddr *d = client("192.0.3.1");
	struct tally t = { 0 };

	(void)state;
	for (int i = 0; i < 60; i++) {
		count(&t, rrl_check(r, a, 0));
		count(&t, rrl_check(r, b, 0));
		count(&t, rrl_check(r, c, 0));
	}
	/* Three hosts of one /24 (one of them v4-mapped) share 50. */
	assert_int_equal(t.send, 50);
	assert_int_equal(t.drop, 130);
	/* The next /24 has its own bucket. */
	for (int i = 0; i < 50; i++)
		assert_int_equal(rrl_check(r, d, 0), RRL_SEND);
	assert_int_equal(rrl_check(r, d, 0), RRL_DROP);
	rrl_free(r);
}

static void
test_ipv6_56(void **state)
{
	struct rrl *r = rrl_new(20, 0, 64);
	/* 2001:db8:0:ff00::/56 */
	const struct sockaddr *a = client("2001:db8:0:ff00::1");
	const struct sockaddr *b = client("2001:db8:0:ffaa:1234:5678:9abc:def0");
	const struct sockaddr *c = client("2001:db8:0:ffff::53");
	/* neighbouring /56s */
	const struct sockaddr *d = client("2001:db8:0:fe00::1");
	const struct sockaddr *e = client("2001:db8:0:100::1");
	/* an IPv4 /24 whose bits could look like a prefix of it */
	const struct sockaddr *f = client("32.1.13.1");
	struct tally t = { 0 };

	(void)state;
	for (int i = 0; i < 10; i++) {
		count(&t, rrl_check(r, a, 0));
		count(&t, rrl_check(r, b, 0));
		count(&t, rrl_check(r, c, 0));
	}
	assert_int_equal(t.send, 20);
	assert_int_equal(t.drop, 10);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(rrl_check(r, d, 0), RRL_SEND);
		assert_int_equal(rrl_check(r, e, 0), RRL_SEND);
		assert_int_equal(rrl_check(r, f, 0), RRL_SEND);
	}
	assert_int_equal(rrl_check(r, d, 0), RRL_DROP);
	assert_int_equal(rrl_check(r, e, 0), RRL_DROP);
	assert_int_equal(rrl_check(r, f, 0), RRL_DROP);
	rrl_free(r);
}

/* A table of 8: the stalest bucket is the one reused, a recent one is kept. */
static void
test_stalest_reused(void **state)
{
	struct rrl *r = rrl_new(1, 0, 8);
	struct sockaddr_storage a_ss;
	const struct sockaddr *a = (const struct sockaddr *)&a_ss;
	char buf[32];

	(void)state;
	/* Kept: client() reuses its buffers. */
	memcpy(&a_ss, client("192.0.2.1"), sizeof(a_ss));
	assert_int_equal(rrl_check(r, a, 0), RRL_SEND);
	assert_int_equal(rrl_check(r, a, 0), RRL_DROP);
	/* Seven more networks fill the table. */
	for (int i = 1; i <= 7; i++) {
		snprintf(buf, sizeof(buf), "10.0.%d.1", i);
		assert_int_equal(rrl_check(r, client(buf), (uint64_t)i), RRL_SEND);
	}
	/* A is touched again: still limited, and now the freshest. */
	assert_int_equal(rrl_check(r, a, 8), RRL_DROP);
	/* A ninth network takes 10.0.1/24's bucket, the stalest. */
	assert_int_equal(rrl_check(r, client("10.0.8.1"), 9), RRL_SEND);
	assert_int_equal(rrl_check(r, a, 10), RRL_DROP);
	/* 10.0.1/24 comes back with a fresh bucket and evicts 10.0.2/24. */
	assert_int_equal(rrl_check(r, client("10.0.1.1"), 11), RRL_SEND);
	assert_int_equal(rrl_check(r, client("10.0.1.1"), 11), RRL_DROP);
	/* Eight more networks push A out; it then starts afresh. */
	for (int i = 9; i <= 16; i++) {
		snprintf(buf, sizeof(buf), "10.0.%d.1", i);
		assert_int_equal(rrl_check(r, client(buf), (uint64_t)(11 + i)), RRL_SEND);
	}
	assert_int_equal(rrl_check(r, a, 30), RRL_SEND);
	rrl_free(r);
}

/* Many more networks than buckets: every first response is sent. */
static void
test_table_churn(void **state)
{
	struct rrl *r = rrl_new(5, 2, 16);
	struct sockaddr_in sin;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	for (uint32_t i = 0; i < 100000; i++) {
		sin.sin_addr.s_addr = htonl(i << 8 | 1);
		assert_int_equal(rrl_check(r, (struct sockaddr *)&sin, i / 100), RRL_SEND);
	}
	assert_info(r, 100000, 0, 0);
	rrl_free(r);
}

static void
test_other_family(void **state)
{
	struct rrl *r = rrl_new(1, 2, 16);
	struct sockaddr_un sun;

	(void)state;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	for (int i = 0; i < 10; i++)
		assert_int_equal(rrl_check(r, (struct sockaddr *)&sun, 0), RRL_SEND);
	rrl_free(r);
	rrl_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_zero),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_slip_zero),
		cmocka_unit_test(test_slip_one_and_three),
		cmocka_unit_test(test_refill),
		cmocka_unit_test(test_same_network_shares),
		cmocka_unit_test(test_ipv6_56),
		cmocka_unit_test(test_stalest_reused),
		cmocka_unit_test(test_table_churn),
		cmocka_unit_test(test_other_family),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
