/*
 * Unit tests for upstream: replies routed by ID on shared sockets, held
 * queries sent together, sockets retired after their share of queries,
 * forged and late replies ignored, a refused port failing at once.
 *
 * The "server" is a UDP socket on 127.0.0.1 that the test reads and answers
 * itself, between turns of the pool's event loop.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "engine/upstream.h"
#include "util/util.h"
#include "wire/wire.h"

struct env {
	struct event_base *base;
	struct upstream_pool *pool;
	int sfd;			/* the fake server's socket */
	struct pl_addr srv;		/* its address */
};

struct result {
	bool done;
	enum upstream_status st;
	char qname[256];		/* question of the response */
	uint8_t addr[4];		/* its first A record */
	int rcode;			/* its RCODE */
};

static void
query_for(struct wire_query *q, const char *name)
{
	uint8_t mem[512], wname[WIRE_NAME_MAX];
	const char *err = NULL;
	struct wire_buf b;
	struct wire_hdr h = { 0x1234, WIRE_RD, 1, 0, 0, 0 };

	assert_int_not_equal(wire_name_from_str(name, wname, &err), -1);
	wire_buf_init(&b, mem, sizeof(mem));
	wire_put_hdr(&b, &h);
	wire_put_name(&b, wname, false);
	wire_put_u16(&b, TYPE_A);
	wire_put_u16(&b, CLASS_IN);
	assert_false(b.overflow);
	assert_int_equal(wire_query_parse(mem, b.len, q), WIRE_OK);
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct sockaddr_in *sin = (struct sockaddr_in *)&e->srv.ss;
	socklen_t len = sizeof(*sin);
	struct upstream_opts o = { .cookies = false };

	e->base = event_base_new();
	e->pool = upstream_pool_new(e->base);
	upstream_pool_configure(e->pool, &o);
	e->sfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(e->sfd >= 0);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(e->sfd, (struct sockaddr *)sin, len), 0);
	assert_int_equal(getsockname(e->sfd, (struct sockaddr *)sin, &len), 0);
	e->srv.len = len;
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	upstream_pool_free(e->pool);
	event_base_free(e->base);
	close(e->sfd);
	free(e);
	return 0;
}

static void
done_cb(void *arg, enum upstream_status st, const uint8_t *resp, size_t len)
{
	struct result *r = arg;
	uint8_t name[WIRE_NAME_MAX];
	size_t pos = WIRE_HDR_LEN;

	r->done = true;
	r->st = st;
	if (st != UPSTREAM_OK)
		return;
	assert_true(wire_name_read(resp, len, &pos, name) >= 0);
	wire_name_to_str(name, r->qname, sizeof(r->qname));
	r->rcode = WIRE_RCODE(wire_get_u16(resp + 2));
	if (wire_get_u16(resp + 6) == 0)
		return;		/* no answer: ADDR stays 0 */
	/* question type and class, then the answer's pointer, type, class,
	 * TTL and length */
	pos += 4 + 2 + 2 + 2 + 4 + 2;
	assert_true(pos + 4 <= len);
	memcpy(r->addr, resp + pos, 4);
}

/* Turns the event loop until every result is done or MS pass. */
static void
run_until(struct env *e, struct result *res, size_t n, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	for (;;) {
		size_t left = 0;
		for (size_t i = 0; i < n; i++)
			left += !res[i].done;
		if (left == 0 || now_ms() >= end)
			return;
		event_base_loop(e->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		nanosleep(&(struct timespec){ 0, 200000 }, NULL);
	}
}

/* A query the fake server has read. */
struct got {
	uint8_t msg[512];
	size_t len;
	struct sockaddr_in from;
};

/* Reads what the server has been sent (waiting up to MS for the first). */
static size_t
srv_read_fd(int fd, struct got *g, size_t max, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	size_t n = 0;

	while (n < max) {
		socklen_t fl = sizeof(g[n].from);
		ssize_t k = recvfrom(fd, g[n].msg, sizeof(g[n].msg), 0,
		    (struct sockaddr *)&g[n].from, &fl);
		if (k < 0) {
			if (n > 0 || now_ms() >= end)
				break;
			nanosleep(&(struct timespec){ 0, 200000 }, NULL);
			continue;
		}
		g[n++].len = (size_t)k;
	}
	return n;
}

static size_t
srv_read(struct env *e, struct got *g, size_t max, unsigned ms)
{
	return srv_read_fd(e->sfd, g, max, ms);
}

/*
 * Writes into OUT a reply to G under ID with RCODE: for NOERROR one A
 * record, 192.0.2.LAST; for anything else no record.  Returns its length.
 * The question is G's, as sent (tests change it to play a spoofer).
 */
static size_t
mkreply(const struct got *g, uint16_t id, uint8_t rcode, uint8_t last, uint8_t *out)
{
	size_t pos = WIRE_HDR_LEN;
	uint8_t name[WIRE_NAME_MAX];
	static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,
	    192, 0, 2 };

	assert_true(wire_name_read(g->msg, g->len, &pos, name) >= 0);
	pos += 4;
	memcpy(out, g->msg, pos);
	out[0] = (uint8_t)(id >> 8);
	out[1] = (uint8_t)id;
	out[2] = 0x81;			/* QR, RD */
	out[3] = (uint8_t)(0x80 | rcode);	/* RA */
	memcpy(out + 4, "\0\1\0\1\0\0\0\0", 8);
	if (rcode != 0) {
		out[7] = 0;		/* no answer */
		return pos;
	}
	memcpy(out + pos, rr, sizeof(rr));
	out[pos + sizeof(rr)] = last;
	return pos + sizeof(rr) + 1;
}

static void
srv_send(int fd, const uint8_t *msg, size_t len, const struct got *g)
{
	assert_true(sendto(fd, msg, len, 0, (const struct sockaddr *)&g->from,
	    sizeof(g->from)) > 0);
}

/* Answers G with one A record, 192.0.2.LAST, under ID. */
static void
srv_answer(struct env *e, const struct got *g, uint16_t id, uint8_t last)
{
	uint8_t out[600];

	srv_send(e->sfd, out, mkreply(g, id, 0, last, out), g);
}

static struct upstream_req *
send_one(struct env *e, const char *name, struct result *r, unsigned timeout_ms,
    unsigned deadline_ms)
{
	struct wire_query q;

	query_for(&q, name);
	return upstream_send(e->pool, &e->srv, 1, timeout_ms, deadline_ms, &q, done_cb, r);
}

/* Three queries in flight, answered in reverse order: each gets its own. */
static void
test_routed_by_id(void **state)
{
	struct env *e = *state;
	struct result res[3] = { 0 };
	struct got g[3];
	const char *names[3] = { "a.example.net", "b.example.net", "c.example.net" };

	for (int i = 0; i < 3; i++)
		assert_non_null(send_one(e, names[i], &res[i], 1000, 2000));
	assert_int_equal(srv_read(e, g, 3, 1000), 3);
	for (int i = 2; i >= 0; i--)
		srv_answer(e, &g[i], wire_get_u16(g[i].msg), (uint8_t)(10 + i));
	run_until(e, res, 3, 2000);
	for (int i = 0; i < 3; i++) {
		assert_true(res[i].done);
		uint8_t name[WIRE_NAME_MAX];
		char text[256];
		size_t pos = WIRE_HDR_LEN;
		int k;

		assert_true(res[i].done);
		assert_int_equal(res[i].st, UPSTREAM_OK);
		/* The server answered g[j] with 10 + j: find which query
		 * was names[i]. */
		for (k = 0; k < 3; k++) {
			pos = WIRE_HDR_LEN;
			wire_name_read(g[k].msg, g[k].len, &pos, name);
			wire_name_to_str(name, text, sizeof(text));
			if (strcasecmp(text, res[i].qname) == 0)
				break;
		}
		assert_true(k < 3);
		assert_int_equal(res[i].addr[3], 10 + k);
		assert_true(strncasecmp(res[i].qname, names[i], strlen(names[i])) == 0);
	}
	assert_int_equal(upstream_pool_stats(e->pool)->answered, 3);
	assert_int_equal(upstream_pool_pending(e->pool), 0);
}

/*
 * A query sent while memory runs out, at each allocation it makes in turn:
 * never an abort; refused at once (the caller answers SERVFAIL) or sent,
 * and the same query goes through once there is memory.
 */
static void
test_send_out_of_memory(void **state)
{
	struct env *e = *state;
	struct result res = { 0 };
	struct got g[1];
	unsigned long n;

	for (n = 1; n < 100; n++) {
		struct upstream_req *r;

		memset(&res, 0, sizeof(res));
		util_fail_alloc_after(n);
		r = send_one(e, "a.example.net", &res, 1000, 2000);
		if (util_fail_alloc_after(0) < n) {
			assert_non_null(r);
			break;
		}
		if (r == NULL)
			assert_int_equal(upstream_pool_pending(e->pool), 0);
		else
			upstream_cancel(r);
	}
	assert_true(n > 1 && n < 100);
	assert_int_equal(srv_read(e, g, 1, 1000), 1);
	srv_answer(e, &g[0], wire_get_u16(g[0].msg), 10);
	run_until(e, &res, 1, 2000);
	assert_true(res.done);
	assert_int_equal(res.st, UPSTREAM_OK);
}

/* Held queries wait for the flush, then leave together on one socket. */
static void
test_hold_flush(void **state)
{
	struct env *e = *state;
	struct result res[10] = { 0 };
	struct got g[10];
	char name[64];

	upstream_pool_hold(e->pool);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "h%d.example.net", i);
		assert_non_null(send_one(e, name, &res[i], 1000, 2000));
	}
	assert_int_equal(srv_read(e, g, 10, 50), 0);
	upstream_pool_flush(e->pool);
	assert_int_equal(srv_read(e, g, 10, 1000), 10);
	for (int i = 1; i < 10; i++)
		assert_int_equal(g[i].from.sin_port, g[0].from.sin_port);
	for (int i = 0; i < 10; i++)
		srv_answer(e, &g[i], wire_get_u16(g[i].msg), 1);
	run_until(e, res, 10, 2000);
	for (int i = 0; i < 10; i++) {
		assert_true(res[i].done);
		assert_int_equal(res[i].st, UPSTREAM_OK);
	}
}

/* Holds nest: only the outermost flush sends. */
static void
test_hold_nests(void **state)
{
	struct env *e = *state;
	struct result res = { 0 };
	struct got g;

	upstream_pool_hold(e->pool);
	upstream_pool_hold(e->pool);
	assert_non_null(send_one(e, "n.example.net", &res, 1000, 2000));
	upstream_pool_flush(e->pool);
	assert_int_equal(srv_read(e, &g, 1, 50), 0);
	upstream_pool_flush(e->pool);
	assert_int_equal(srv_read(e, &g, 1, 1000), 1);
}

/* A request cancelled while held is never sent. */
static void
test_cancel_held(void **state)
{
	struct env *e = *state;
	struct result res[2] = { 0 };
	struct upstream_req *r;
	struct got g[2];

	upstream_pool_hold(e->pool);
	r = send_one(e, "gone.example.net", &res[0], 1000, 2000);
	assert_non_null(send_one(e, "kept.example.net", &res[1], 1000, 2000));
	upstream_cancel(r);
	upstream_pool_flush(e->pool);
	assert_int_equal(srv_read(e, g, 2, 200), 1);
	assert_false(res[0].done);
}

/*
 * Sockets are shared and replaced: 1,000 queries come from more ports than
 * the eight open at once, none carrying more than 128, and far fewer ports
 * than queries.  IDs are (nearly) all different.
 */
static void
test_sockets_rotate(void **state)
{
	struct env *e = *state;
	enum { N = 1000 };
	static uint16_t ports[N], ids[N];
	size_t nports = 0, nids = 0;
	unsigned maxuse = 0;

	for (int i = 0; i < N; i++) {
		struct result res = { 0 };
		struct got g;
		char name[64];

		snprintf(name, sizeof(name), "r%d.example.net", i);
		assert_non_null(send_one(e, name, &res, 1000, 2000));
		assert_int_equal(srv_read(e, &g, 1, 1000), 1);
		srv_answer(e, &g, wire_get_u16(g.msg), 1);
		run_until(e, &res, 1, 1000);
		assert_true(res.done);
		assert_int_equal(res.st, UPSTREAM_OK);
		ports[i] = g.from.sin_port;
		ids[i] = wire_get_u16(g.msg);
	}
	for (int i = 0; i < N; i++) {
		unsigned use = 0;
		bool seen = false, seenid = false;
		for (int j = 0; j < N; j++)
			use += ports[j] == ports[i];
		for (int j = 0; j < i; j++) {
			seen |= ports[j] == ports[i];
			seenid |= ids[j] == ids[i];
		}
		nports += !seen;
		nids += !seenid;
		if (use > maxuse)
			maxuse = use;
	}
	assert_true(maxuse <= 128);
	assert_true(nports >= N / 128);
	assert_true(nports <= 8 + N / 64);
	assert_true(nids >= N - 30);
}

/*
 * Sends the forged reply OUT/LEN to the query G: it is ignored and counted
 * as spoofed; then the real answer (192.0.2.7) is the one taken.
 */
static void
forged_then_real(struct env *e, struct result *res, const struct got *g,
    const uint8_t *out, size_t len)
{
	unsigned long spoofed = upstream_pool_stats(e->pool)->spoofed;

	srv_send(e->sfd, out, len, g);
	run_until(e, res, 1, 100);
	assert_false(res->done);
	assert_int_equal(upstream_pool_stats(e->pool)->spoofed, spoofed + 1);
	srv_answer(e, g, wire_get_u16(g->msg), 7);
	run_until(e, res, 1, 1000);
	assert_true(res->done);
	assert_int_equal(res->st, UPSTREAM_OK);
	assert_int_equal(res->addr[3], 7);
}

/* A reply with another ID is counted and ignored; the real one is taken. */
static void
test_wrong_id_ignored(void **state)
{
	struct env *e = *state;
	struct result res = { 0 };
	struct got g;
	uint8_t out[600];

	assert_non_null(send_one(e, "spoof.example.net", &res, 1000, 2000));
	assert_int_equal(srv_read(e, &g, 1, 1000), 1);
	forged_then_real(e, &res, &g, out,
	    mkreply(&g, (uint16_t)(wire_get_u16(g.msg) ^ 0x5a5a), 0, 66, out));
}

/*
 * A try that timed out is asked again with a new ID, and stays live: the
 * reply to the first, slower than the timeout, answers the request (the
 * link is slow, not the server gone); the reply to the retransmission,
 * after that, is late, not spoofed.
 */
static void
test_late_reply_taken(void **state)
{
	struct env *e = *state;
	struct result res = { 0 }, spin = { 0 };
	struct got g[8];
	size_t n;

	assert_non_null(send_one(e, "late.example.net", &res, 200, 3000));
	assert_int_equal(srv_read(e, &g[0], 1, 1000), 1);
	run_until(e, &res, 1, 300);	/* the first try times out */
	n = srv_read(e, &g[1], 7, 1000);
	assert_true(n >= 1);
	assert_int_not_equal(wire_get_u16(g[0].msg), wire_get_u16(g[n].msg));
	srv_answer(e, &g[0], wire_get_u16(g[0].msg), 66);
	run_until(e, &res, 1, 1000);
	assert_true(res.done);
	assert_int_equal(res.st, UPSTREAM_OK);
	assert_int_equal(res.addr[3], 66);
	srv_answer(e, &g[n], wire_get_u16(g[n].msg), 8);
	run_until(e, &spin, 1, 300);	/* nothing ends: the loop runs 300 ms */
	assert_true(upstream_pool_stats(e->pool)->timeouts >= 1);
	assert_int_equal(upstream_pool_stats(e->pool)->spoofed, 0);
	assert_int_equal(upstream_pool_stats(e->pool)->late, 1);
}

/*
 * A lost query is asked again after the server's RTO, not after
 * timeout_ms, which is only the ceiling (RFC 6298): a first answer after
 * 150 ms gives SRTT 150 ms and RTTVAR 75 ms, so an RTO of SRTT + 4 RTTVAR,
 * about 450 ms: later than SRTT alone or the 200 ms floor, well before
 * the 2000 ms ceiling.  A loaded machine only delays timers, which can
 * make the first check pass more easily, never fail.
 */
static void
test_retransmit_by_rto(void **state)
{
	struct env *e = *state;
	struct result res = { 0 }, res2 = { 0 };
	struct got g, g2;

	assert_non_null(send_one(e, "rtt.example.net", &res, 2000, 5000));
	assert_int_equal(srv_read(e, &g, 1, 1000), 1);
	nanosleep(&(struct timespec){ 0, 150000000 }, NULL);
	srv_answer(e, &g, wire_get_u16(g.msg), 1);
	run_until(e, &res, 1, 1000);
	assert_true(res.done);
	assert_int_equal(res.st, UPSTREAM_OK);

	assert_non_null(send_one(e, "lost.example.net", &res2, 2000, 5000));
	assert_int_equal(srv_read(e, &g, 1, 1000), 1);
	run_until(e, &res2, 1, 300);
	assert_int_equal(srv_read(e, &g2, 1, 0), 0);	/* not yet at 300 ms */
	run_until(e, &res2, 1, 1000);
	assert_int_equal(srv_read(e, &g2, 1, 0), 1);	/* by 1300 ms */
	assert_int_not_equal(wire_get_u16(g.msg), wire_get_u16(g2.msg));
	assert_false(res2.done);
}

/*
 * A closed port answers with ICMP port unreachable: failure at once, held
 * or not, long before the deadline.  The first query's error is pending on
 * its socket before the others go out, so a send on that socket may be the
 * call that reports it: the first query must fail fast all the same.
 */
static void
test_refused_fast(void **state)
{
	struct env *e = *state;
	struct pl_addr dead = e->srv;
	struct result res[21];
	struct wire_query q;
	uint64_t t0;

	memset(res, 0, sizeof(res));
	close(e->sfd);		/* the port is now closed */
	e->sfd = socket(AF_INET, SOCK_DGRAM, 0);
	query_for(&q, "dead.example.net");
	t0 = now_ms();
	assert_non_null(upstream_send(e->pool, &dead, 1, 1000, 5000, &q, done_cb, &res[0]));
	nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	for (int i = 1; i < 11; i++)
		assert_non_null(upstream_send(e->pool, &dead, 1, 1000, 5000, &q, done_cb,
		    &res[i]));
	upstream_pool_hold(e->pool);
	for (int i = 11; i < 21; i++)
		assert_non_null(upstream_send(e->pool, &dead, 1, 1000, 5000, &q, done_cb,
		    &res[i]));
	upstream_pool_flush(e->pool);
	run_until(e, res, 21, 3000);
	for (int i = 0; i < 21; i++) {
		assert_true(res[i].done);
		assert_int_equal(res[i].st, UPSTREAM_UNREACHABLE);	/* not a timeout */
	}
	assert_true(now_ms() - t0 < 500);
	assert_true(upstream_pool_stats(e->pool)->refused >= 2);
}


/* ---- replies that are not answers ---- */

/* A second fake server on 127.0.0.1: its socket, its address in *A. */
static int
srv_second(struct pl_addr *a)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	memset(a, 0, sizeof(*a));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)sin, len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	a->len = len;
	return fd;
}

/* The pool's view of server A. */
static struct upstream_info
info_of(struct env *e, const struct pl_addr *a)
{
	struct upstream_info inf[8];
	size_t n = upstream_pool_info(e->pool, inf, 8);

	for (size_t i = 0; i < n; i++)
		if (addr_equal(&inf[i].addr, a))
			return inf[i];
	fail_msg("no state for the server");
	return inf[0];
}

/*
 * SERVFAIL, REFUSED and NOTIMP are failed tries: the next server answers,
 * and the one that failed three times in a row is down.
 */
static void
test_rcode_failover(void **state)
{
	struct env *e = *state;
	static const uint8_t rcodes[] = { RCODE_SERVFAIL, RCODE_REFUSED, RCODE_NOTIMP };
	struct pl_addr srv[2];
	int fd2 = srv_second(&srv[1]);

	srv[0] = e->srv;
	for (size_t i = 0; i < sizeof(rcodes); i++) {
		struct result res = { 0 };
		struct wire_query q;
		struct got g;
		uint8_t out[600];

		query_for(&q, "fo.example.net");
		assert_non_null(upstream_send(e->pool, srv, 2, 1000, 5000, &q, done_cb,
		    &res));
		assert_int_equal(srv_read(e, &g, 1, 1000), 1);
		srv_send(e->sfd, out, mkreply(&g, wire_get_u16(g.msg), rcodes[i], 0, out),
		    &g);
		run_until(e, &res, 1, 300);
		assert_false(res.done);		/* not the first server's rcode */
		assert_int_equal(srv_read_fd(fd2, &g, 1, 1000), 1);
		srv_send(fd2, out, mkreply(&g, wire_get_u16(g.msg), 0, 9, out), &g);
		run_until(e, &res, 1, 1000);
		assert_true(res.done);
		assert_int_equal(res.st, UPSTREAM_OK);
		assert_int_equal(res.addr[3], 9);
	}
	assert_false(info_of(e, &srv[0]).up);
	assert_true(info_of(e, &srv[1]).up);
	close(fd2);
}

/* Every server answered REFUSED: failure at once, not at the deadline. */
static void
test_rcode_all_fail(void **state)
{
	struct env *e = *state;
	struct result res = { 0 };
	struct got g;
	uint8_t out[600];
	uint64_t t0 = now_ms();

	assert_non_null(send_one(e, "acl.example.net", &res, 1000, 5000));
	assert_int_equal(srv_read(e, &g, 1, 1000), 1);
	srv_send(e->sfd, out, mkreply(&g, wire_get_u16(g.msg), RCODE_REFUSED, 0, out), &g);
	run_until(e, &res, 1, 3000);
	assert_true(res.done);
	assert_int_equal(res.st, UPSTREAM_FAIL);
	assert_true(now_ms() - t0 < 900);
	assert_int_equal(upstream_pool_stats(e->pool)->answered, 0);
}

/* The ARCOUNT of a query the server read (1: it carried our OPT). */
#define ARCOUNT(g)	wire_get_u16((g).msg + WIRE_OFF_AR)

/*
 * FORMERR to a query with EDNS: asked again at once without EDNS (RFC 6891
 * 7), and the server is then asked without EDNS; FORMERR to a query
 * without EDNS is a failed try like any other.
 */
static void
test_formerr_edns(void **state)
{
	struct env *e = *state;
	struct result res = { 0 }, res2 = { 0 };
	struct got g;
	uint8_t out[600];

	assert_non_null(send_one(e, "old.example.net", &res, 1000, 5000));
	assert_int_equal(srv_read(e, &g, 1, 1000), 1);
	assert_int_equal(ARCOUNT(g), 1);
	srv_send(e->sfd, out, mkreply(&g, wire_get_u16(g.msg), RCODE_FORMERR, 0, out), &g);
	run_until(e, &res, 1, 100);
	assert_false(res.done);
	assert_int_equal(srv_read(e, &g, 1, 1000), 1);
	assert_int_equal(ARCOUNT(g), 0);
	srv_answer(e, &g, wire_get_u16(g.msg), 5);
	run_until(e, &res, 1, 1000);
	assert_true(res.done);
	assert_int_equal(res.st, UPSTREAM_OK);
	assert_int_equal(res.addr[3], 5);

	/* Remembered: the next query goes without EDNS from the start. */
	assert_non_null(send_one(e, "old2.example.net", &res2, 1000, 5000));
	assert_int_equal(srv_read(e, &g, 1, 1000), 1);
	assert_int_equal(ARCOUNT(g), 0);
	srv_send(e->sfd, out, mkreply(&g, wire_get_u16(g.msg), RCODE_FORMERR, 0, out), &g);
	run_until(e, &res2, 1, 1000);
	assert_true(res2.done);
	assert_int_equal(res2.st, UPSTREAM_FAIL);
}

/* A reply for another QTYPE or QCLASS is a spoof: ignored, counted. */
static void
test_wrong_qtype_qclass_ignored(void **state)
{
	struct env *e = *state;

	for (int k = 0; k < 2; k++) {
		struct result res = { 0 };
		struct got g;
		uint8_t out[600];
		size_t len, qend = WIRE_HDR_LEN;
		uint8_t name[WIRE_NAME_MAX];

		assert_non_null(send_one(e, "qt.example.net", &res, 1000, 2000));
		assert_int_equal(srv_read(e, &g, 1, 1000), 1);
		len = mkreply(&g, wire_get_u16(g.msg), 0, 66, out);
		assert_true(wire_name_read(out, len, &qend, name) >= 0);
		if (k == 0)
			out[qend + 1] = TYPE_AAAA;	/* QTYPE */
		else
			out[qend + 3] = 3;		/* QCLASS CH */
		forged_then_real(e, &res, &g, out, len);
	}
}

/* The same, checked on the matching function itself. */
static void
test_reply_matches_question(void **state)
{
	struct env *e = *state;
	struct result res = { 0 };
	struct got g;
	uint8_t out[600];
	size_t len, qend = WIRE_HDR_LEN;
	uint8_t name[WIRE_NAME_MAX];

	assert_non_null(send_one(e, "m.example.net", &res, 1000, 2000));
	assert_int_equal(srv_read(e, &g, 1, 1000), 1);
	len = mkreply(&g, wire_get_u16(g.msg), 0, 1, out);
	assert_true(wire_name_read(out, len, &qend, name) >= 0);
	assert_true(upstream_reply_matches(g.msg, g.len, out, len));
	out[qend + 1] ^= 0x40;
	assert_false(upstream_reply_matches(g.msg, g.len, out, len));
	out[qend + 1] ^= 0x40;
	out[qend + 3] = 3;
	assert_false(upstream_reply_matches(g.msg, g.len, out, len));
	out[qend + 3] = 1;
	out[1] ^= 1;
	assert_false(upstream_reply_matches(g.msg, g.len, out, len));
}

/* With 0x20, a reply whose question comes back in another case is a spoof. */
static void
test_case_mismatch_ignored(void **state)
{
	struct env *e = *state;
	struct upstream_opts o = { .cookies = false, .case_randomization = true };
	struct result res = { 0 };
	struct got g;
	uint8_t out[600];
	size_t len;
	int letters = 0;

	upstream_pool_configure(e->pool, &o);
	assert_non_null(send_one(e, "casematters.example.net", &res, 1000, 2000));
	assert_int_equal(srv_read(e, &g, 1, 1000), 1);
	len = mkreply(&g, wire_get_u16(g.msg), 0, 66, out);
	for (size_t i = WIRE_HDR_LEN; out[i] != 0; i += 1 + out[i])
		for (size_t j = 1; j <= out[i]; j++)
			if (isalpha(out[i + j])) {
				out[i + j] ^= 0x20;
				letters++;
			}
	assert_true(letters > 10);
	forged_then_real(e, &res, &g, out, len);
}

/*
 * A TCP listener on the fake server's port: the UDP socket moves to the
 * port the listener got, which may already be taken for UDP; a few tries.
 */
static int
tcp_listener(struct env *e)
{
	for (int i = 0; i < 20; i++) {
		struct pl_addr a = e->srv;
		struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;
		int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		socklen_t len = sizeof(*sin);

		assert_true(lfd >= 0 && ufd >= 0);
		sin->sin_port = 0;
		assert_int_equal(bind(lfd, (struct sockaddr *)sin, len), 0);
		assert_int_equal(getsockname(lfd, (struct sockaddr *)sin, &len), 0);
		if (bind(ufd, (struct sockaddr *)sin, len) == 0) {
			assert_int_equal(listen(lfd, 4), 0);
			close(e->sfd);
			e->sfd = ufd;
			e->srv = a;
			return lfd;
		}
		close(lfd);
		close(ufd);
	}
	fail_msg("no port free for both UDP and TCP");
	return -1;
}

/* Accepts one TCP connection on LFD and reads one query from it. */
static int
tcp_take_query(struct env *e, int lfd, struct got *g)
{
	uint64_t end = now_ms() + 2000;
	int c = -1;
	size_t have = 0;
	uint8_t buf[600];

	while (now_ms() < end) {
		event_base_loop(e->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (c < 0)
			c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		if (c >= 0) {
			ssize_t k = read(c, buf + have, sizeof(buf) - have);
			if (k > 0)
				have += (size_t)k;
			if (have >= 2 && have >= 2 + (size_t)wire_get_u16(buf))
				break;
		}
		nanosleep(&(struct timespec){ 0, 200000 }, NULL);
	}
	assert_true(c >= 0 && have >= 2);
	g->len = wire_get_u16(buf);
	assert_true(g->len <= sizeof(g->msg) && have >= 2 + g->len);
	memcpy(g->msg, buf + 2, g->len);
	return c;
}

/*
 * Truncated over UDP, then over TCP a reply with another ID: not taken,
 * and the server, which sent it on our own connection, is not asked again.
 */
static void
test_tcp_wrong_id_ignored(void **state)
{
	struct env *e = *state;
	struct result res = { 0 };
	struct got g, tg;
	uint8_t out[600], framed[602];
	size_t len;
	int lfd = tcp_listener(e), c;

	assert_non_null(send_one(e, "tcpid.example.net", &res, 1000, 5000));
	assert_int_equal(srv_read(e, &g, 1, 1000), 1);
	len = mkreply(&g, wire_get_u16(g.msg), 0, 1, out);
	out[2] |= 0x02;			/* TC */
	srv_send(e->sfd, out, len, &g);
	c = tcp_take_query(e, lfd, &tg);
	assert_int_equal(upstream_pool_stats(e->pool)->tcp_retries, 1);
	len = mkreply(&tg, (uint16_t)(wire_get_u16(tg.msg) ^ 0x0101), 0, 66, out);
	framed[0] = (uint8_t)(len >> 8);
	framed[1] = (uint8_t)len;
	memcpy(framed + 2, out, len);
	assert_int_equal(write(c, framed, len + 2), (ssize_t)(len + 2));
	run_until(e, &res, 1, 1000);
	assert_true(res.done);
	assert_int_not_equal(res.addr[3], 66);
	assert_int_equal(res.st, UPSTREAM_FAIL);
	assert_int_equal(upstream_pool_stats(e->pool)->spoofed, 1);
	close(c);
	close(lfd);
}

/*
 * TC=1, then the TCP connection is closed without an answer: the request
 * fails at once (its only server failed), with one connection and no UDP
 * try after it.  After two such failures in a row the server gets no TCP:
 * a third truncated answer fails at once without a connection.
 */
static void
test_tc_then_close(void **state)
{
	struct env *e = *state;
	int lfd = tcp_listener(e);

	for (int i = 0; i < 3; i++) {
		struct result res = { 0 };
		struct got g, tg;
		uint8_t out[600];
		size_t len;
		char name[64];

		snprintf(name, sizeof(name), "tcclose%d.example.net", i);
		assert_non_null(send_one(e, name, &res, 1000, 5000));
		assert_int_equal(srv_read(e, &g, 1, 1000), 1);
		len = mkreply(&g, wire_get_u16(g.msg), 0, 1, out);
		out[2] |= 0x02;			/* TC */
		srv_send(e->sfd, out, len, &g);
		if (i < 2) {
			int c = tcp_take_query(e, lfd, &tg);
			close(c);
		}
		run_until(e, &res, 1, 1000);
		assert_true(res.done);
		assert_int_equal(res.st, UPSTREAM_FAIL);
		assert_int_equal(upstream_pool_stats(e->pool)->tcp_retries, i < 2 ? i + 1 : 2);
		assert_int_equal(upstream_pool_stats(e->pool)->tcp_failures, i < 2 ? i + 1 : 2);
		assert_int_equal(srv_read(e, &g, 1, 100), 0);	/* not asked again */
	}
	assert_int_equal(accept4(lfd, NULL, NULL, SOCK_NONBLOCK), -1);
	close(lfd);
}

/*
 * A server the system has no route to (connect fails: here the broadcast
 * address, which a UDP socket may not connect to, so nothing is sent) is
 * a failed try: the next server answers, and the first is down at once.
 * Alone, it fails the request at once, as unreachable.
 */
static void
test_unreachable(void **state)
{
	struct env *e = *state;
	struct pl_addr srv[2];
	struct sockaddr_in *sin = (struct sockaddr_in *)&srv[0].ss;
	struct result res = { 0 }, res2 = { 0 };
	struct wire_query q;
	struct got g;
	uint64_t t0;

	memset(&srv[0], 0, sizeof(srv[0]));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_BROADCAST);
	sin->sin_port = htons(53);
	srv[0].len = sizeof(*sin);
	srv[1] = e->srv;
	query_for(&q, "noroute.example.net");
	assert_non_null(upstream_send(e->pool, srv, 2, 1000, 5000, &q, done_cb, &res));
	assert_int_equal(srv_read(e, &g, 1, 1000), 1);
	srv_answer(e, &g, wire_get_u16(g.msg), 4);
	run_until(e, &res, 1, 1000);
	assert_true(res.done);
	assert_int_equal(res.st, UPSTREAM_OK);
	assert_int_equal(res.addr[3], 4);
	assert_false(info_of(e, &srv[0]).up);
	assert_true(info_of(e, &srv[0]).refused >= 1);
	assert_true(info_of(e, &srv[1]).up);

	t0 = now_ms();
	assert_non_null(upstream_send(e->pool, srv, 1, 1000, 5000, &q, done_cb, &res2));
	run_until(e, &res2, 1, 3000);
	assert_true(res2.done);
	assert_int_equal(res2.st, UPSTREAM_UNREACHABLE);
	assert_true(now_ms() - t0 < 500);
}

/* The query sent upstream carries the client's CD and DO bits and nothing
 * it did not ask for (RFC 6840 5.9, RFC 3225 3). */
static void
test_query_bits(void **state)
{
	uint8_t mem[512], out[512];
	struct wire_buf b;
	struct wire_query q, sent;
	size_t len;

	(void)state;
	for (int cd = 0; cd < 2; cd++)
		for (int dob = 0; dob < 2; dob++) {
			struct wire_hdr h = { 0x1234, (uint16_t)(WIRE_RD | (cd ? WIRE_CD : 0)),
			    1, 0, 0, 1 };
			wire_buf_init(&b, mem, sizeof(mem));
			wire_put_hdr(&b, &h);
			wire_put_name(&b, (const uint8_t *)"\3www\7example\3com", false);
			wire_put_u16(&b, TYPE_A);
			wire_put_u16(&b, CLASS_IN);
			wire_put_opt(&b, 4096, 0, dob, -1);
			assert_int_equal(wire_query_parse(mem, b.len, &q), WIRE_OK);
			len = upstream_build_query(&q, 0x4321, out, sizeof(out));
			assert_true(len > 0);
			assert_int_equal(wire_query_parse(out, len, &sent), WIRE_OK);
			assert_int_equal(sent.hdr.id, 0x4321);
			assert_int_equal(sent.hdr.flags & WIRE_CD, cd ? WIRE_CD : 0);
			assert_true(sent.hdr.flags & WIRE_RD);
			assert_true(sent.edns.present);
			assert_int_equal(sent.edns.flags & EDNS_DO, dob ? EDNS_DO : 0);
		}
}

/* A reply whose question section does not hold exactly our question is
 * not ours, even when its first question is (RFC 5452 9.1). */
static void
test_reply_two_questions(void **state)
{
	uint8_t q[512], r[512];
	struct wire_buf b;
	struct wire_hdr qh = { 0x1234, WIRE_RD, 1, 0, 0, 0 };
	struct wire_hdr rh = { 0x1234, WIRE_QR | WIRE_RD, 2, 0, 0, 0 };
	const uint8_t *name = (const uint8_t *)"\3www\7example\3com";
	size_t ql;

	(void)state;
	wire_buf_init(&b, q, sizeof(q));
	wire_put_hdr(&b, &qh);
	wire_put_name(&b, name, false);
	wire_put_u16(&b, TYPE_A);
	wire_put_u16(&b, CLASS_IN);
	ql = b.len;
	memcpy(r, q, ql);
	r[2] |= 0x80;
	assert_true(upstream_reply_matches(q, ql, r, ql));
	wire_buf_init(&b, r, sizeof(r));
	wire_put_hdr(&b, &rh);
	wire_put_name(&b, name, false);
	wire_put_u16(&b, TYPE_A);
	wire_put_u16(&b, CLASS_IN);
	wire_put_name(&b, (const uint8_t *)"\5other\7example\3com", false);
	wire_put_u16(&b, TYPE_A);
	wire_put_u16(&b, CLASS_IN);
	assert_false(upstream_reply_matches(q, ql, r, b.len));
}

/* Answers G (one A record, 192.0.2.LAST) with an OPT carrying a cookie:
 * client part CC, then an 8-octet server part. */
static void
srv_answer_cookie(struct env *e, const struct got *g, const uint8_t *cc, uint8_t last)
{
	uint8_t out[600];
	size_t pos = WIRE_HDR_LEN;
	uint8_t name[WIRE_NAME_MAX];
	static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,
	    192, 0, 2 };
	static const uint8_t opt[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 20,
	    0, 10, 0, 16 };

	assert_true(wire_name_read(g->msg, g->len, &pos, name) >= 0);
	pos += 4;
	memcpy(out, g->msg, pos);
	out[2] = 0x81;
	out[3] = 0x80;
	memcpy(out + 4, "\0\1\0\1\0\0\0\1", 8);
	memcpy(out + pos, rr, sizeof(rr));
	pos += sizeof(rr);
	out[pos++] = last;
	memcpy(out + pos, opt, sizeof(opt));
	pos += sizeof(opt);
	memcpy(out + pos, cc, 8);
	memcpy(out + pos + 8, "servercK", 8);
	pos += 16;
	assert_true(sendto(e->sfd, out, pos, 0, (const struct sockaddr *)&g->from,
	    sizeof(g->from)) > 0);
}

/* With cookies on, a reply whose cookie names another client is not ours
 * (RFC 7873 5.3); the one with ours is. */
static void
test_cookie_checked(void **state)
{
	struct env *e = *state;
	struct upstream_opts o = { .cookies = true };
	struct result res = { 0 };
	struct got g;
	uint8_t cc[8];

	upstream_pool_configure(e->pool, &o);
	assert_non_null(send_one(e, "cookie.example.net", &res, 1000, 2000));
	assert_int_equal(srv_read(e, &g, 1, 1000), 1);
	/* The query ends with our OPT's cookie option: the client part alone. */
	assert_true(g.len > 12 + 8);
	assert_int_equal(wire_get_u16(g.msg + g.len - 12), 10);
	assert_int_equal(wire_get_u16(g.msg + g.len - 10), 8);
	memcpy(cc, g.msg + g.len - 8, 8);
	cc[0] ^= 0xff;
	srv_answer_cookie(e, &g, cc, 66);
	run_until(e, &res, 1, 100);
	assert_false(res.done);
	assert_int_equal(upstream_pool_stats(e->pool)->spoofed, 1);
	cc[0] ^= 0xff;
	srv_answer_cookie(e, &g, cc, 7);
	run_until(e, &res, 1, 1000);
	assert_true(res.done);
	assert_int_equal(res.st, UPSTREAM_OK);
	assert_int_equal(res.addr[3], 7);
}

/* When every server has refused (here: ICMP port unreachable, a network
 * error), the request fails then: it does not ask the refusing server again. */
static void
test_refused_once(void **state)
{
	struct env *e = *state;
	struct pl_addr dead = e->srv;
	struct result res = { 0 };
	struct wire_query q;

	close(e->sfd);		/* the port is now closed */
	e->sfd = socket(AF_INET, SOCK_DGRAM, 0);
	query_for(&q, "once.example.net");
	assert_non_null(upstream_send(e->pool, &dead, 1, 1000, 5000, &q, done_cb, &res));
	run_until(e, &res, 1, 3000);
	assert_true(res.done);
	assert_int_equal(res.st, UPSTREAM_UNREACHABLE);
	assert_int_equal(upstream_pool_stats(e->pool)->sent, 1);
	assert_int_equal(upstream_pool_stats(e->pool)->refused, 1);
}

/* ---- the message part alone (upstream_msg.h), without sockets ---- */

/* A reply to QUERY/QLEN with nothing in it but the question and the OPT:
 * the query with QR set.  Returns its length. */
static size_t
echo_reply(const uint8_t *query, size_t qlen, uint8_t *out)
{
	memcpy(out, query, qlen);
	out[2] |= 0x80;
	return qlen;
}

/* Our query for www.example.com with DO set: the one every pure test asks. */
static void
pure_query(struct wire_query *q)
{
	uint8_t mem[512];
	struct wire_buf b;
	struct wire_hdr h = { 0x1234, WIRE_RD, 1, 0, 0, 1 };

	wire_buf_init(&b, mem, sizeof(mem));
	wire_put_hdr(&b, &h);
	wire_put_name(&b, (const uint8_t *)"\3www\7Example\3com", false);
	wire_put_u16(&b, TYPE_A);
	wire_put_u16(&b, CLASS_IN);
	wire_put_opt(&b, 4096, 0, true, -1);
	assert_int_equal(wire_query_parse(mem, b.len, q), WIRE_OK);
}

/* pure_query() asked with O and ID into M (512 octets, length in *QL), and
 * its echo_reply() in R; returns the reply's length. */
static size_t
pure_exchange(struct wire_query *q, const struct upstream_try_opts *o, uint16_t id,
    uint8_t *m, size_t *ql, uint8_t *r)
{
	pure_query(q);
	*ql = upstream_build_try(q, id, o, m, 512);
	assert_true(*ql > 0);
	return echo_reply(m, *ql, r);
}

/* Replies with another ID, another question, another type or class, or no
 * QR do not match; the name in another case does (0x20 is checked apart). */
static void
test_msg_match(void **state)
{
	struct wire_query q;
	struct upstream_try_opts o = { .edns = true };
	uint8_t sent[512], r[512];
	size_t ql, rl;

	(void)state;
	rl = pure_exchange(&q, &o, 0xabcd, sent, &ql, r);
	assert_true(upstream_reply_matches(sent, ql, r, rl));
	r[1] ^= 1;					/* the ID */
	assert_false(upstream_reply_matches(sent, ql, r, rl));
	r[1] ^= 1;
	r[2] &= 0x7f;					/* QR clear */
	assert_false(upstream_reply_matches(sent, ql, r, rl));
	r[2] |= 0x80;
	r[WIRE_HDR_LEN + 1] = 'x';			/* xww.example.com */
	assert_false(upstream_reply_matches(sent, ql, r, rl));
	r[WIRE_HDR_LEN + 1] = 'W';			/* only the case differs */
	assert_true(upstream_reply_matches(sent, ql, r, rl));
	r[WIRE_HDR_LEN + 18] = TYPE_AAAA;		/* QTYPE */
	assert_false(upstream_reply_matches(sent, ql, r, rl));
	r[WIRE_HDR_LEN + 18] = TYPE_A;
	r[WIRE_HDR_LEN + 20] = 3;			/* QCLASS CH */
	assert_false(upstream_reply_matches(sent, ql, r, rl));
	r[WIRE_HDR_LEN + 20] = CLASS_IN;
	assert_true(upstream_reply_matches(sent, ql, r, rl));
	assert_false(upstream_reply_matches(sent, ql, r, 11));
	assert_false(upstream_reply_matches(sent, ql, r, WIRE_HDR_LEN + 10));
}

/* 0x20: the try asks in a random case, kept by later tries, and a reply
 * with any letter in another case fails the case check. */
static void
test_msg_case(void **state)
{
	struct wire_query q;
	struct upstream_try_opts o = { .randomize_case = true, .edns = true };
	uint8_t sent[512], again[512], r[512];
	size_t ql, rl;
	bool mixed = false;

	(void)state;
	pure_query(&q);
	/* 13 letters: all lower (as asked) once in 8,192 tries; 20 tries
	 * all lower-case would be a broken randomizer. */
	for (int i = 0; i < 20 && !mixed; i++) {
		ql = upstream_build_try(&q, 1, &o, sent, sizeof(sent));
		assert_true(ql > 0);
		mixed = memcmp(sent + WIRE_HDR_LEN, q.lname, (size_t)q.qname_len) != 0;
		assert_true(wire_name_equal(sent + WIRE_HDR_LEN, q.lname));
	}
	assert_true(mixed);
	rl = echo_reply(sent, ql, r);
	assert_true(upstream_case_matches(sent, ql, r, rl));
	for (int i = 1; i < q.qname_len - 1; i++) {
		if (!isalpha(r[WIRE_HDR_LEN + i]))
			continue;
		r[WIRE_HDR_LEN + i] ^= 0x20;		/* mangled by a forger */
		assert_true(upstream_reply_matches(sent, ql, r, rl));
		assert_false(upstream_case_matches(sent, ql, r, rl));
		r[WIRE_HDR_LEN + i] ^= 0x20;
	}
	/* A later try repeats the case it is given. */
	struct upstream_try_opts o2 = { .cased = sent + WIRE_HDR_LEN, .edns = true };
	assert_int_equal(upstream_build_try(&q, 2, &o2, again, sizeof(again)), ql);
	assert_memory_equal(again + WIRE_HDR_LEN, sent + WIRE_HDR_LEN, (size_t)q.qname_len);
	/* Without 0x20 the question goes lower-cased. */
	struct upstream_try_opts o3 = { .edns = true };
	upstream_build_try(&q, 3, &o3, again, sizeof(again));
	assert_memory_equal(again + WIRE_HDR_LEN, q.lname, (size_t)q.qname_len);
}

/* A reply to QUERY/QLEN (whose OPT is empty) whose OPT carries a COOKIE
 * option of LEN octets, the client part CC; returns its length. */
static size_t
cookie_reply(const uint8_t *query, size_t qlen, const uint8_t *cc, size_t len,
    uint8_t *r)
{
	size_t n = echo_reply(query, qlen, r);
	/* The query's OPT is last and empty: give it the option. */
	wire_write_u16(r + n - 2, (uint16_t)(4 + len));
	wire_write_u16(r + n, EDNS_OPT_COOKIE);
	wire_write_u16(r + n + 2, (uint16_t)len);
	memcpy(r + n + 4, cc, 8);
	memcpy(r + n + 12, "ServerCookie0123456789abcdefghij", len - 8);
	return n + 4 + len;
}

/* Cookies: the query carries ours (and the server's, once known); a reply
 * with another client cookie is dropped, a good one teaches the server's. */
static void
test_msg_cookie(void **state)
{
	struct wire_query q, sent;
	struct upstream_cookie c = { .client = "ourclien" };
	struct upstream_try_opts o = { .edns = true };
	struct upstream_try_opts oc = { .edns = true, .cookie = &c };
	uint8_t m[512], m0[512], r[600], bad[8];
	size_t ql, ql0, rl;

	(void)state;
	pure_query(&q);
	/* Replies are made from the query without a cookie (its OPT empty). */
	ql0 = upstream_build_try(&q, 7, &o, m0, sizeof(m0));
	ql = upstream_build_try(&q, 7, &oc, m, sizeof(m));
	assert_int_equal(ql, ql0 + 4 + 8);
	assert_int_equal(wire_query_parse(m, ql, &sent), WIRE_OK);
	assert_int_equal(sent.edns.cookie_len, 8);
	assert_memory_equal(sent.edns.cookie, "ourclien", 8);
	assert_true(sent.edns.flags & EDNS_DO);

	memcpy(bad, "ourclieN", 8);
	rl = cookie_reply(m0, ql0, bad, 24, r);
	assert_true(upstream_reply_matches(m, ql, r, rl));
	assert_false(upstream_cookie_check(&c, r, rl));
	assert_int_equal(c.server_len, 0);
	/* Our client cookie alone: ours, nothing to learn; cut short to 7
	 * octets: not ours. */
	rl = cookie_reply(m0, ql0, (const uint8_t *)"ourclien", 8, r);
	assert_true(upstream_cookie_check(&c, r, rl));
	assert_int_equal(c.server_len, 0);
	wire_write_u16(r + rl - 10, 7);
	wire_write_u16(r + rl - 14, 4 + 7);
	assert_false(upstream_cookie_check(&c, r, rl - 1));
	/* Ours, with a server cookie of 16 octets: learnt, and sent next. */
	rl = cookie_reply(m0, ql0, (const uint8_t *)"ourclien", 24, r);
	assert_true(upstream_cookie_check(&c, r, rl));
	assert_int_equal(c.server_len, 16);
	assert_memory_equal(c.server, "ServerCookie0123", 16);
	ql = upstream_build_try(&q, 8, &oc, m, sizeof(m));
	assert_int_equal(wire_query_parse(m, ql, &sent), WIRE_OK);
	assert_int_equal(sent.edns.cookie_len, 24);
	assert_memory_equal(sent.edns.cookie + 8, "ServerCookie0123", 16);
	/* No reply cookie at all: nothing to check. */
	rl = echo_reply(m0, ql0, r);
	assert_true(upstream_cookie_check(&c, r, rl));
}

/* Without EDNS the query has no OPT, so no cookie and no padding; over
 * TLS it is padded to a multiple of 128 octets. */
static void
test_msg_edns_padding(void **state)
{
	struct wire_query q, sent;
	struct upstream_cookie c = { .client = "ourclien" };
	struct upstream_try_opts o = { .edns = false, .cookie = &c, .pad = true };
	uint8_t m[768];
	size_t ql;

	(void)state;
	pure_query(&q);
	ql = upstream_build_try(&q, 7, &o, m, sizeof(m));
	assert_int_equal(ql, WIRE_HDR_LEN + 17 + 4);
	assert_int_equal(wire_query_parse(m, ql, &sent), WIRE_OK);
	assert_false(sent.edns.present);
	o.edns = true;
	ql = upstream_build_try(&q, 7, &o, m, sizeof(m));
	assert_int_equal(ql % UPSTREAM_PAD_BLOCK, 0);
	assert_int_equal(wire_query_parse(m, ql, &sent), WIRE_OK);
	assert_int_equal(sent.edns.cookie_len, 8);
	/* No room: nothing built. */
	assert_int_equal(upstream_build_try(&q, 7, &o, m, 100), 0);
}

/* The rcode, extended by the OPT's bits, and what a request does with it. */
static void
test_msg_rcode_action(void **state)
{
	struct wire_query q;
	struct upstream_try_opts o = { .edns = true };
	uint8_t m[512], r[512];
	size_t ql, rl;

	(void)state;
	rl = pure_exchange(&q, &o, 7, m, &ql, r);
	assert_int_equal(upstream_reply_rcode(r, rl), RCODE_NOERROR);
	r[3] = RCODE_NXDOMAIN;
	assert_int_equal(upstream_reply_rcode(r, rl), RCODE_NXDOMAIN);
	r[3] = RCODE_BADCOOKIE & 0xf;
	r[rl - 6] = RCODE_BADCOOKIE >> 4;		/* the OPT's EXTENDED-RCODE */
	assert_int_equal(upstream_reply_rcode(r, rl), RCODE_BADCOOKIE);
	/* A malformed OPT is not read; a header alone still has its rcode. */
	assert_int_equal(upstream_reply_rcode(r, rl - 1), RCODE_BADCOOKIE & 0xf);
	assert_int_equal(upstream_reply_rcode(r, 11), -1);

	assert_int_equal(upstream_reply_action(RCODE_NOERROR, false, false, false, true),
	    UPSTREAM_ANSWER);
	assert_int_equal(upstream_reply_action(RCODE_NXDOMAIN, false, false, false, true),
	    UPSTREAM_ANSWER);
	assert_int_equal(upstream_reply_action(RCODE_NOERROR, true, false, false, true),
	    UPSTREAM_TRUNCATED);
	assert_int_equal(upstream_reply_action(RCODE_NOERROR, true, true, false, true),
	    UPSTREAM_ANSWER);
	assert_int_equal(upstream_reply_action(RCODE_BADCOOKIE, false, false, false, true),
	    UPSTREAM_RETRY_COOKIE);
	assert_int_equal(upstream_reply_action(RCODE_BADCOOKIE, false, false, true, true),
	    UPSTREAM_ANSWER);
	assert_int_equal(upstream_reply_action(RCODE_FORMERR, false, false, false, true),
	    UPSTREAM_RETRY_NOEDNS);
	assert_int_equal(upstream_reply_action(RCODE_FORMERR, false, false, false, false),
	    UPSTREAM_FAILOVER);
	assert_string_equal(upstream_rcode_name(RCODE_FORMERR), "FORMERR");
	static const int fail[] = { RCODE_SERVFAIL, RCODE_REFUSED, RCODE_NOTIMP,
	    RCODE_BADVERS };
	static const char *const names[] = { "SERVFAIL", "REFUSED", "NOTIMP", "BADVERS" };
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(upstream_reply_action(fail[i], true, false, false, true),
		    UPSTREAM_FAILOVER);
		assert_string_equal(upstream_rcode_name(fail[i]), names[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_routed_by_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_nests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sockets_rotate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_id_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_reply_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retransmit_by_rto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_fast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rcode_failover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rcode_all_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_formerr_edns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_qtype_qclass_ignored, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reply_matches_question, setup, teardown),
		cmocka_unit_test_setup_teardown(test_case_mismatch_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_wrong_id_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_once, setup, teardown),
		cmocka_unit_test(test_query_bits),
		cmocka_unit_test_setup_teardown(test_cookie_checked, setup, teardown),
		cmocka_unit_test(test_reply_two_questions),
		cmocka_unit_test_setup_teardown(test_tc_then_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_out_of_memory, setup, teardown),
		cmocka_unit_test(test_msg_match),
		cmocka_unit_test(test_msg_case),
		cmocka_unit_test(test_msg_cookie),
		cmocka_unit_test(test_msg_edns_padding),
		cmocka_unit_test(test_msg_rcode_action),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
