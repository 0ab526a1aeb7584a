/* upstream: UDP tries with TCP on truncation, failover, deadline. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event_struct.h>

#include "log.h"
#include "upstream.h"
#include "util.h"

/* What the pool knows of one server: health, speed, load. */
struct srvstate {
	struct upstream_info info;
	uint32_t srtt_us;		/* smoothed RTT, microseconds; 0 unknown */
	unsigned fails;			/* consecutive failed tries */
	uint64_t down_until;		/* ms; sorted last until then */
};

#define UPSTREAM_MAX_SERVERS	16
#define UPSTREAM_DOWN_AFTER	3	/* consecutive failures */
#define UPSTREAM_DOWN_MS	10000	/* then tried last for this long */

struct upstream_req {
	struct upstream_pool *pool;
	struct upstream_req *prev, *next;	/* pool's pending list */
	const struct pl_addr *servers;
	size_t nservers, cur;			/* position in order[] of the current try */
	uint8_t order[UPSTREAM_MAX_SERVERS];	/* servers, best first */
	struct srvstate *st;			/* state of the current try's server */
	uint64_t sent_ms;			/* when the current try was sent */
	unsigned tries;
	unsigned refused;			/* tries refused outright */
	unsigned timeout_ms;
	upstream_cb cb;
	void *arg;

	uint8_t msg[512 + WIRE_NAME_MAX];	/* the query as sent */
	size_t msglen;

	int fd;					/* UDP socket of the current try, or -1 */
	struct event ev_read;
	struct event ev_try;			/* per-try timeout */
	struct event ev_deadline;
	bool ev_read_set;
	struct bufferevent *tcp;		/* TCP retry in progress */
};

struct upstream_pool {
	struct event_base *base;
	struct upstream_req *pending;
	size_t npending;
	struct upstream_stats stats;
	struct srvstate servers[UPSTREAM_MAX_SERVERS * 2];
	size_t nservers;
	unsigned max_inflight;		/* per server; 0 unlimited */
	uint8_t rbuf[WIRE_MAX_MSG];
};

struct upstream_pool *
upstream_pool_new(struct event_base *base)
{
	struct upstream_pool *p = xcalloc(1, sizeof(*p));

	p->base = base;
	return p;
}

static void req_free(struct upstream_req *r);

void
upstream_pool_free(struct upstream_pool *p)
{
	if (p == NULL)
		return;
	while (p->pending != NULL)
		req_free(p->pending);
	free(p);
}

const struct upstream_stats *
upstream_pool_stats(const struct upstream_pool *p)
{
	return &p->stats;
}

void
upstream_pool_set_limit(struct upstream_pool *p, unsigned max_inflight)
{
	p->max_inflight = max_inflight;
}

size_t
upstream_pool_info(const struct upstream_pool *p, struct upstream_info *out, size_t max)
{
	size_t n = p->nservers < max ? p->nservers : max;

	for (size_t i = 0; i < n; i++) {
		out[i] = p->servers[i].info;
		out[i].rtt_ms = p->servers[i].srtt_us / 1000;
		out[i].up = p->servers[i].down_until <= now_ms();
	}
	return n;
}

/* The state slot of server A, created on first use; NULL when the table is full. */
static struct srvstate *
srv_state(struct upstream_pool *p, const struct pl_addr *a)
{
	for (size_t i = 0; i < p->nservers; i++)
		if (addr_equal(&p->servers[i].info.addr, a))
			return &p->servers[i];
	if (p->nservers == sizeof(p->servers) / sizeof(p->servers[0]))
		return NULL;
	struct srvstate *s = &p->servers[p->nservers++];
	memset(s, 0, sizeof(*s));
	s->info.addr = *a;
	s->info.up = true;
	return s;
}

static void
srv_failed(struct srvstate *s)
{
	if (s == NULL)
		return;
	if (++s->fails >= UPSTREAM_DOWN_AFTER)
		s->down_until = now_ms() + UPSTREAM_DOWN_MS;
}

static void
srv_answered(struct srvstate *s, uint64_t sent_ms)
{
	uint32_t rtt;

	if (s == NULL)
		return;
	rtt = (uint32_t)((now_ms() - sent_ms) * 1000);
	s->srtt_us = s->srtt_us == 0 ? rtt : (s->srtt_us * 7 + rtt) / 8;
	s->fails = 0;
	s->down_until = 0;
	s->info.answered++;
}

/*
 * Orders the request's servers: healthy before down, then by smoothed RTT
 * (unknown RTT counts as fast, so every server gets measured), keeping the
 * configured order among equals.
 */
static void
req_order(struct upstream_req *r)
{
	uint64_t now = now_ms();
	uint64_t key[UPSTREAM_MAX_SERVERS];

	for (size_t i = 0; i < r->nservers; i++) {
		struct srvstate *s = srv_state(r->pool, &r->servers[i]);
		uint64_t k = 0;
		if (s != NULL) {
			if (s->down_until > now)
				k |= 1ULL << 62;
			if (r->pool->max_inflight && s->info.inflight >= r->pool->max_inflight)
				k |= 1ULL << 61;
			k |= (uint64_t)s->srtt_us << 8;
		}
		key[i] = k | i;
		r->order[i] = (uint8_t)i;
	}
	for (size_t i = 1; i < r->nservers; i++)
		for (size_t j = i; j > 0 && key[j] < key[j - 1]; j--) {
			uint64_t t = key[j];
			uint8_t o = r->order[j];
			key[j] = key[j - 1];
			r->order[j] = r->order[j - 1];
			key[j - 1] = t;
			r->order[j - 1] = o;
		}
}

size_t
upstream_pool_pending(const struct upstream_pool *p)
{
	return p->npending;
}

size_t
upstream_build_query(const struct wire_query *q, uint16_t id, uint8_t *out, size_t cap)
{
	struct wire_buf b;
	struct wire_hdr h = {
		.id = id,
		.flags = WIRE_RD | (q->hdr.flags & WIRE_CD),
		.qdcount = 1,
		.arcount = 1,
	};

	wire_buf_init(&b, out, cap);
	wire_put_hdr(&b, &h);
	wire_put_name(&b, q->lname, false);
	wire_put_u16(&b, q->qtype);
	wire_put_u16(&b, q->qclass);
	wire_put_opt(&b, 1232, 0, (q->edns.flags & EDNS_DO) != 0, -1);
	return b.overflow ? 0 : b.len;
}

bool
upstream_reply_matches(const uint8_t *query, size_t qlen, const uint8_t *resp,
    size_t rlen)
{
	uint8_t qn[WIRE_NAME_MAX], rn[WIRE_NAME_MAX];
	size_t qp = WIRE_HDR_LEN, rp = WIRE_HDR_LEN;

	if (rlen < WIRE_HDR_LEN || qlen < WIRE_HDR_LEN)
		return false;
	if (memcmp(query, resp, 2) != 0 || !(resp[2] & 0x80))
		return false;
	/* A reply without a question (some servers' FORMERR) cannot be
	 * matched to ours: ignore it like any other stray packet. */
	if (wire_get_u16(resp + 4) != 1)
		return false;
	if (wire_name_read(query, qlen, &qp, qn) < 0 ||
	    wire_name_read(resp, rlen, &rp, rn) < 0)
		return false;
	if (qp + 4 > qlen || rp + 4 > rlen)
		return false;
	return wire_name_equal(qn, rn) && memcmp(query + qp, resp + rp, 4) == 0;
}

static void
req_close_try(struct upstream_req *r)
{
	if (r->st != NULL) {
		r->st->info.inflight--;
		r->st = NULL;
	}
	if (r->ev_read_set) {
		event_del(&r->ev_read);
		r->ev_read_set = false;
	}
	if (r->fd != -1) {
		close(r->fd);
		r->fd = -1;
	}
	if (r->tcp != NULL) {
		bufferevent_free(r->tcp);
		r->tcp = NULL;
	}
	event_del(&r->ev_try);
}

static void
req_free(struct upstream_req *r)
{
	struct upstream_pool *p = r->pool;

	req_close_try(r);
	event_del(&r->ev_deadline);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		p->pending = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	p->npending--;
	free(r);
}

static void
req_done(struct upstream_req *r, enum upstream_status st, const uint8_t *resp,
    size_t len)
{
	upstream_cb cb = r->cb;
	void *arg = r->arg;

	if (st == UPSTREAM_OK) {
		r->pool->stats.answered++;
		srv_answered(r->st, r->sent_ms);
	} else
		r->pool->stats.failed++;
	req_free(r);
	cb(arg, st, resp, len);
}

static void req_try(struct upstream_req *r);

/* The current try failed: on to the next server at once. */
static void
req_next(struct upstream_req *r)
{
	req_close_try(r);
	r->cur = (r->cur + 1) % r->nservers;
	req_try(r);
}

/*
 * The server refused (ICMP port unreachable, TCP RST).  When every server
 * has refused there is nobody to wait for: fail now instead of spinning
 * until the deadline.
 */
static void
req_refused(struct upstream_req *r)
{
	r->pool->stats.refused++;
	if (r->st != NULL)
		r->st->info.refused++;
	srv_failed(r->st);
	if (++r->refused >= r->nservers) {
		req_done(r, UPSTREAM_FAIL, NULL, 0);
		return;
	}
	req_next(r);
}

/* Binds FD to a port drawn from the CSPRNG (RFC 5452 section 9.2). */
static void
bind_random_port(int fd, int family)
{
	for (int i = 0; i < 10; i++) {
		uint16_t port = (uint16_t)(1024 + random_u16() % (65536 - 1024));
		struct sockaddr_storage ss;
		socklen_t len;

		memset(&ss, 0, sizeof(ss));
		if (family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
			sin->sin_family = AF_INET;
			sin->sin_port = htons(port);
			len = sizeof(*sin);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(port);
			len = sizeof(*sin6);
		}
		if (bind(fd, (struct sockaddr *)&ss, len) == 0)
			return;
		if (errno != EADDRINUSE && errno != EACCES)
			return;
	}
	/* Ten collisions in a row: let the kernel pick (also random on Linux). */
}

static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct upstream_req *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t lenb[2];
	size_t len;

	if (evbuffer_get_length(in) < 2)
		return;
	evbuffer_copyout(in, lenb, 2);
	len = wire_get_u16(lenb);
	if (evbuffer_get_length(in) < 2 + len)
		return;
	evbuffer_drain(in, 2);
	evbuffer_remove(in, r->pool->rbuf, len);
	if (!upstream_reply_matches(r->msg, r->msglen, r->pool->rbuf, len)) {
		r->pool->stats.spoofed++;
		req_next(r);
		return;
	}
	req_done(r, UPSTREAM_OK, r->pool->rbuf, len);
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct upstream_req *r = arg;

	if (what & BEV_EVENT_ERROR)
		req_refused(r);
	else if (what & BEV_EVENT_EOF)
		req_next(r);
}

/* The server truncated its answer: ask again over TCP (RFC 7766). */
static void
req_tcp(struct upstream_req *r)
{
	const struct pl_addr *srv = &r->servers[r->order[r->cur]];
	uint8_t lenb[2] = { (uint8_t)(r->msglen >> 8), (uint8_t)r->msglen };
	struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };

	if (r->ev_read_set) {
		event_del(&r->ev_read);
		r->ev_read_set = false;
	}
	if (r->fd != -1) {
		close(r->fd);
		r->fd = -1;
	}
	r->pool->stats.tcp_retries++;
	r->tcp = bufferevent_socket_new(r->pool->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (r->tcp == NULL) {
		req_next(r);
		return;
	}
	bufferevent_setcb(r->tcp, tcp_read_cb, NULL, tcp_event_cb, r);
	bufferevent_enable(r->tcp, EV_READ | EV_WRITE);
	bufferevent_write(r->tcp, lenb, 2);
	bufferevent_write(r->tcp, r->msg, r->msglen);
	event_add(&r->ev_try, &tv);
	if (bufferevent_socket_connect(r->tcp, (const struct sockaddr *)&srv->ss,
	    (int)srv->len) < 0)
		req_refused(r);
}

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_req *r = arg;
	struct upstream_pool *p = r->pool;

	for (;;) {
		ssize_t n = recv(fd, p->rbuf, sizeof(p->rbuf), 0);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			/* ECONNREFUSED: the ICMP port unreachable of a dead server. */
			char a[64];
			log_ratelimited(LOG_RL_UPSTREAM, "upstream %s: %s",
			    addr_str(&r->servers[r->order[r->cur]], a, sizeof(a)),
			    strerror(errno));
			req_refused(r);
			return;
		}
		if (!upstream_reply_matches(r->msg, r->msglen, p->rbuf, (size_t)n)) {
			p->stats.spoofed++;
			if (r->st != NULL)
				r->st->info.spoofed++;
			continue;
		}
		if (p->rbuf[2] & 0x02) {	/* TC */
			req_tcp(r);
			return;
		}
		req_done(r, UPSTREAM_OK, p->rbuf, (size_t)n);
		return;
	}
}

static void
try_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_req *r = arg;

	r->pool->stats.timeouts++;
	if (r->st != NULL)
		r->st->info.timeouts++;
	srv_failed(r->st);
	log_ratelimited(LOG_RL_UPSTREAM, "upstream timeout after %u ms", r->timeout_ms);
	req_next(r);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	req_done(arg, UPSTREAM_FAIL, NULL, 0);
}

/* Starts a try with the current server. */
static void
req_try(struct upstream_req *r)
{
	const struct pl_addr *srv = &r->servers[r->order[r->cur]];
	struct timeval tv = { r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000 };
	uint16_t id = random_u16();
	int family = srv->ss.ss_family;

	r->tries++;
	/* A fresh ID per try: a late answer to an earlier try is then a
	 * mismatch, and the ID never repeats predictably. */
	r->msg[0] = (uint8_t)(id >> 8);
	r->msg[1] = (uint8_t)id;
	r->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0) {
		log_ratelimited(LOG_RL_UPSTREAM, "upstream socket: %s", strerror(errno));
		event_add(&r->ev_try, &tv);	/* retry after the try timeout */
		return;
	}
	bind_random_port(r->fd, family);
	event_add(&r->ev_try, &tv);
	if (connect(r->fd, (const struct sockaddr *)&srv->ss, srv->len) < 0 ||
	    send(r->fd, r->msg, r->msglen, 0) < 0) {
		/* Unroutable or refused at once.  Callbacks must not run
		 * inside upstream_send, so this try just waits for its timer
		 * (or the deadline) unless another server remains. */
		r->pool->stats.refused++;
		close(r->fd);
		r->fd = -1;
		if (++r->refused < r->nservers) {
			event_del(&r->ev_try);
			r->cur = (r->cur + 1) % r->nservers;
			req_try(r);
		}
		return;
	}
	r->pool->stats.sent++;
	r->st = srv_state(r->pool, srv);
	if (r->st != NULL) {
		r->st->info.sent++;
		r->st->info.inflight++;
	}
	r->sent_ms = now_ms();
	event_assign(&r->ev_read, r->pool->base, r->fd, EV_READ | EV_PERSIST,
	    udp_read_cb, r);
	event_add(&r->ev_read, NULL);
	r->ev_read_set = true;
}

struct upstream_req *
upstream_send(struct upstream_pool *p, const struct pl_addr *servers, size_t n,
    unsigned timeout_ms, unsigned deadline_ms, const struct wire_query *q,
    upstream_cb cb, void *arg)
{
	struct upstream_req *r;
	struct timeval dl = { deadline_ms / 1000, (deadline_ms % 1000) * 1000 };

	if (n == 0)
		return NULL;
	if (n > UPSTREAM_MAX_SERVERS)
		n = UPSTREAM_MAX_SERVERS;
	r = xcalloc(1, sizeof(*r));
	r->pool = p;
	r->servers = servers;
	r->nservers = n;
	req_order(r);
	if (p->max_inflight) {
		/* Every server at its cap: refuse rather than pile on (the
		 * caller answers SERVFAIL). */
		struct srvstate *best = srv_state(p, &servers[r->order[0]]);
		if (best != NULL && best->info.inflight >= p->max_inflight) {
			p->stats.overflow++;
			free(r);
			return NULL;
		}
	}
	r->timeout_ms = timeout_ms < deadline_ms ? timeout_ms : deadline_ms;
	r->cb = cb;
	r->arg = arg;
	r->fd = -1;
	r->msglen = upstream_build_query(q, 0, r->msg, sizeof(r->msg));
	evtimer_assign(&r->ev_try, p->base, try_timeout_cb, r);
	evtimer_assign(&r->ev_deadline, p->base, deadline_cb, r);
	evtimer_add(&r->ev_deadline, &dl);
	r->next = p->pending;
	if (p->pending != NULL)
		p->pending->prev = r;
	p->pending = r;
	p->npending++;
	req_try(r);
	return r;
}

void
upstream_cancel(struct upstream_req *r)
{
	if (r != NULL)
		req_free(r);
}
