/*
 * upstream: UDP tries with TCP on truncation, failover by health and RTT,
 * a deadline per request.  The messages (0x20, cookies, the checks on a
 * reply) are upstream_msg.c's, DNS over TLS upstream_tls.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event_struct.h>
#include <openssl/ssl.h>

#include "util/log.h"
#include "wire/tcpframe.h"
#include "engine/upstream_int.h"
#include "util/util.h"

/* ---- options, server state ---- */

struct upstream_pool *
upstream_pool_new(struct event_base *base)
{
	struct upstream_pool *p = xcalloc(1, sizeof(*p));

	p->base = base;
	p->txtail = &p->txq;
	p->rx = xcalloc(USOCK_READ_BATCH, sizeof(*p->rx));
	p->opts.cookies = true;
	return p;
}

static void req_free(struct upstream_req *r);
static void req_tcp(struct upstream_req *r);
static void usock_retire(struct usock *us);
static void req_tcp_failed(struct upstream_req *r, const char *what, int err);
static void req_server_failed(struct upstream_req *r);

void
upstream_pool_free(struct upstream_pool *p)
{
	if (p == NULL)
		return;
	while (p->pending != NULL)
		req_free(p->pending);
	for (size_t i = 0; i < p->nservers; i++) {
		if (p->servers[i].conn != NULL)
			upstream_dot_close(p->servers[i].conn, false);
		for (size_t j = 0; j < USOCK_PER_SERVER; j++)
			if (p->servers[i].us[j] != NULL)
				usock_retire(p->servers[i].us[j]);
	}
	while (p->freereqs != NULL) {
		struct upstream_req *r = p->freereqs;
		p->freereqs = r->next;
		free(r);
	}
	free(p->rx);
	if (p->ssl_ctx != NULL)
		SSL_CTX_free(p->ssl_ctx);
	free(p->tls);
	free(p->ca_file);
	free(p);
}

const struct upstream_stats *
upstream_pool_stats(const struct upstream_pool *p)
{
	return &p->stats;
}

size_t
upstream_pool_pending(const struct upstream_pool *p)
{
	return p->npending;
}

size_t
upstream_pool_info(const struct upstream_pool *p, struct upstream_info *out, size_t max)
{
	/* The main thread asks while the worker counts: every figure is read
	 * on its own, atomically, and slots are read only once filled. */
	size_t n = atomic_load_explicit(&p->nservers, memory_order_acquire);

	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		const struct srvstate *s = &p->servers[i];

		memset(&out[i], 0, sizeof(out[i]));
		out[i].addr = s->info.addr;
		out[i].tls = COUNTER_GET(s->info.tls);
		out[i].rtt_ms = COUNTER_GET(s->srtt_us) / 1000;
		out[i].up = COUNTER_GET(s->down_until) <= now_ms();
		out[i].sent = COUNTER_GET(s->info.sent);
		out[i].answered = COUNTER_GET(s->info.answered);
		out[i].timeouts = COUNTER_GET(s->info.timeouts);
		out[i].refused = COUNTER_GET(s->info.refused);
		out[i].spoofed = COUNTER_GET(s->info.spoofed);
		out[i].inflight = COUNTER_GET(s->info.inflight);
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
	struct srvstate *s = &p->servers[p->nservers];
	memset(s, 0, sizeof(*s));
	s->info.addr = *a;
	s->info.up = true;
	random_bytes(s->cookie.client, sizeof(s->cookie.client));
	atomic_store_explicit(&p->nservers, p->nservers + 1, memory_order_release);
	return s;
}

void
upstream_pool_configure(struct upstream_pool *p, const struct upstream_opts *opts)
{
	bool ca_changed = (opts->tls_ca_file == NULL) != (p->ca_file == NULL) ||
	    (opts->tls_ca_file != NULL && strcmp(opts->tls_ca_file, p->ca_file) != 0);
	bool new_ca = ca_changed || (opts->ntls > 0 && p->ssl_ctx == NULL);
	struct addr_tls *tls = NULL;
	char *ca = NULL;

	/* Everything allocated first: without memory the previous settings
	 * stay whole (a DNS over TLS server must not be asked in clear). */
	if ((opts->ntls > 0 && (tls = try_calloc(opts->ntls, sizeof(*tls))) == NULL) ||
	    (new_ca && opts->tls_ca_file != NULL &&
	    (ca = try_calloc(1, strlen(opts->tls_ca_file) + 1)) == NULL)) {
		free(tls);
		log_warnx("upstreams: out of memory: the previous settings stay");
		return;
	}
	free(p->tls);
	p->tls = tls;
	p->opts = *opts;
	if (opts->ntls > 0)
		memcpy(p->tls, opts->tls, opts->ntls * sizeof(*p->tls));
	p->opts.tls = p->tls;
	if (new_ca) {
		free(p->ca_file);
		p->ca_file = ca != NULL ? strcpy(ca, opts->tls_ca_file) : NULL;
		p->opts.tls_ca_file = p->ca_file;
		if (p->ssl_ctx != NULL)
			SSL_CTX_free(p->ssl_ctx);
		p->ssl_ctx = opts->ntls > 0 ? upstream_tls_ctx_new(p->ca_file) : NULL;
	} else
		p->opts.tls_ca_file = p->ca_file;
	for (size_t i = 0; i < p->nservers; i++)
		p->servers[i].info.tls = false;
	for (size_t i = 0; i < opts->ntls; i++) {
		struct srvstate *s = srv_state(p, &opts->tls[i].addr);
		if (s == NULL)
			continue;
		s->info.tls = true;
		if (strcmp(s->tls_name, opts->tls[i].name) != 0 && s->conn != NULL)
			upstream_dot_close(s->conn, true);	/* the name to verify changed */
		pl_strlcpy(s->tls_name, opts->tls[i].name, sizeof(s->tls_name));
	}
}

static void
srv_failed(struct srvstate *s)
{
	if (s == NULL)
		return;
	if (++s->fails >= UPSTREAM_DOWN_AFTER)
		s->down_until = now_ms() + UPSTREAM_DOWN_MS;
}

/*
 * The system could not even send to server A (S may be NULL): no route, a
 * firewall, a closed port reported by ICMP.  Logged; a server the system
 * has no route to is down at once, since asking it again soon cannot help.
 * The caller counts the failed try.
 */
void
upstream_srv_neterr(struct srvstate *s, const struct pl_addr *a, const char *what, int err)
{
	char buf[64];

	log_ratelimited(LOG_RL_UPSTREAM, "upstream %s: %s: %s",
	    addr_str(a, buf, sizeof(buf)), what, strerror(err));
	if (s == NULL)
		return;
	switch (err) {
	case ENETUNREACH: case EHOSTUNREACH: case ENETDOWN: case EACCES:
	case EPERM: case EADDRNOTAVAIL: case EAFNOSUPPORT:
		s->fails = UPSTREAM_DOWN_AFTER;
		s->down_until = now_ms() + UPSTREAM_DOWN_MS;
		break;
	}
}

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * A reply to the try sent at SENT_US (0: no RTT sample).  Each try has its own ID, so the
 * reply names the try it answers and the sample is exact even for a
 * retransmitted question: Karn's ambiguity does not arise, and every
 * answer gives a sample (RFC 6298 2.2, 2.3; the RTO computed afresh
 * also ends a backoff, 5.7).
 */
static void
srv_answered(struct srvstate *s, uint64_t sent_us)
{
	uint64_t now = mono_us();
	uint32_t rtt = now > sent_us ? (uint32_t)MIN(now - sent_us, 60000000) : 1;

	if (s == NULL)
		return;
	s->fails = 0;
	s->down_until = 0;
	s->heard_ms = now_ms();
	COUNTER_INC(s->info.answered);
	if (sent_us == 0)
		return;
	if (s->srtt_us == 0) {
		s->srtt_us = rtt;
		s->rttvar_us = rtt / 2;
	} else {
		uint32_t d = s->srtt_us > rtt ? s->srtt_us - rtt : rtt - s->srtt_us;
		s->rttvar_us = (s->rttvar_us * 3 + d) / 4;
		s->srtt_us = (s->srtt_us * 7 + rtt) / 8;
	}
	s->rto_us = s->srtt_us + MAX(RTO_G_US, 4 * s->rttvar_us);
}

/*
 * How long a try to S waits before the next one goes out: the RTO, at
 * least RTO_MIN_MS, at most CEIL_MS (timeout_ms), which is also the first
 * guess for a server never heard from (RFC 6298 2.1's 1 s).  The floor is
 * higher than Unbound's 50 ms because pldns's upstream is a recursive
 * resolver: a question it does not have cached takes it tens to hundreds
 * of milliseconds, and one it is still working on gains nothing from being
 * asked again, while a burst of queries queued at a busy resolver would
 * otherwise be sent twice and make it busier.
 */
static unsigned
srv_rto(const struct srvstate *s, unsigned ceil_ms)
{
	unsigned ms;

	if (s == NULL || s->srtt_us == 0)
		return ceil_ms;
	ms = s->rto_us / 1000;
	return ms < RTO_MIN_MS ? MIN(RTO_MIN_MS, ceil_ms) : MIN(ms, ceil_ms);
}

/*
 * A try to S timed out: the RTO doubles (RFC 6298 5.5), at most once per
 * RTO however many requests' tries time out together, so that a server
 * gone silent reaches the ceiling in a few rounds while a lossy one, whose
 * answers keep giving samples, is retransmitted to at its RTT.
 */
static void
srv_backoff(struct srvstate *s, unsigned ceil_ms)
{
	uint64_t now = now_ms();
	unsigned cur;

	if (s == NULL || s->srtt_us == 0)
		return;
	cur = srv_rto(s, ceil_ms);
	if (now - s->backoff_ms < cur)
		return;
	s->backoff_ms = now;
	s->rto_us = (uint32_t)MIN((uint64_t)s->rto_us * 2, (uint64_t)ceil_ms * 1000);
}

/*
 * A TCP attempt to S failed (refused, closed or timed out without an
 * answer, or a reply that did not match): after TCP_DOWN_AFTER in a row,
 * no TCP to it for TCP_DOWN_MS, doubling with each further failure; a
 * truncated answer from it then fails over at once instead of opening
 * yet another connection.
 */
static void
srv_tcp_failed(struct srvstate *s)
{
	if (s == NULL)
		return;
	srv_failed(s);
	if (++s->tcp_fails >= TCP_DOWN_AFTER) {
		unsigned k = MIN(s->tcp_fails - TCP_DOWN_AFTER, 5);
		s->tcp_down_until = now_ms() + MIN((uint64_t)TCP_DOWN_MS << k,
		    (uint64_t)TCP_DOWN_MAX_MS);
	}
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
			if (r->pool->opts.max_inflight &&
			    s->info.inflight >= r->pool->opts.max_inflight)
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

/* ---- queries ---- */

/*
 * Builds this try's query: a fresh ID, the question (case randomized with
 * 0x20), our OPT with the server's cookie and, over TLS, padding.
 */
static void
req_build(struct upstream_req *r, struct srvstate *st, bool tls)
{
	struct upstream_pool *p = r->pool;
	uint8_t cased[WIRE_NAME_MAX];
	struct upstream_try_opts o = {
		.cookie = p->opts.cookies && st != NULL ? &st->cookie : NULL,
		.pad = tls,
	};

	/* Every try of a request asks with the same case: a reply to any of
	 * them is checked against r->msg's question (its own ID aside). */
	if (p->opts.case_randomization && r->msglen != 0) {
		memcpy(cased, r->msg + WIRE_HDR_LEN, MIN((size_t)r->q.qname_len,
		    sizeof(cased)));
		o.cased = cased;
	} else
		o.randomize_case = p->opts.case_randomization;
	/* It answered FORMERR to EDNS: asked without, for a while. */
	r->noedns = st != NULL && st->noedns_until > now_ms();
	o.edns = !r->noedns;
	r->msglen = upstream_build_try(&r->q, random_u16(), &o, r->msg, sizeof(r->msg));
}

/* ---- request life ---- */

/*
 * The timeval to arm a timer of MS milliseconds with.  Every request's
 * timers have one of a few lengths, so libevent's common timeouts (a queue
 * per length) replace a heap insertion and removal per timer.
 */
static const struct timeval *
pool_timeout(struct upstream_pool *p, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	const struct timeval *c;

	for (size_t i = 0; i < p->ntmo; i++)
		if (p->tmo[i].ms == ms)
			return p->tmo[i].tv;
	if (p->ntmo == sizeof(p->tmo) / sizeof(p->tmo[0]) ||
	    (c = event_base_init_common_timeout(p->base, &tv)) == NULL) {
		p->tmo_scratch = tv;	/* event_add copies it */
		return &p->tmo_scratch;
	}
	p->tmo[p->ntmo].ms = ms;
	p->tmo[p->ntmo++].tv = c;
	return c;
}

/* ---- shared UDP sockets ---- */

static void usock_read_cb(evutil_socket_t fd, short what, void *arg);

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

/*
 * A socket connected to SRV, so that the kernel drops datagrams from any
 * other source and reports the server's ICMP port unreachable as
 * ECONNREFUSED.  NULL with errno set when the system refuses (no socket,
 * no route).
 */
static struct usock *
usock_new(struct upstream_pool *p, const struct pl_addr *srv, struct srvstate *st)
{
	struct usock *us;
	int fd = socket(srv->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return NULL;
	bind_random_port(fd, srv->ss.ss_family);
	if (connect(fd, (const struct sockaddr *)&srv->ss, srv->len) < 0) {
		int err = errno;	/* for the caller's log line */
		close(fd);
		errno = err;
		return NULL;
	}
	if ((us = try_calloc(1, sizeof(*us))) == NULL) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	us->pool = p;
	us->st = st;
	us->fd = fd;
	event_assign(&us->ev, p->base, fd, EV_READ | EV_PERSIST, usock_read_cb, us);
	event_add(&us->ev, NULL);
	return us;
}

/* Closes a retired socket once nothing waits on it. */
static void
usock_release(struct usock *us)
{
	if (!us->retired || us->refs > 0)
		return;
	event_del(&us->ev);
	close(us->fd);
	free(us);
}

/* Takes US out of service: no new query goes out on it. */
static void
usock_retire(struct usock *us)
{
	if (us->st != NULL)
		for (size_t i = 0; i < USOCK_PER_SERVER; i++)
			if (us->st->us[i] == us)
				us->st->us[i] = NULL;
	if (us->st != NULL && us->st->held == us)
		us->st->held = NULL;
	us->retired = true;
	usock_release(us);
}

static bool
usock_id_taken(const struct usock *us, uint16_t id)
{
	const struct utry *o;

	LIST_FOREACH(o, &us->byid[id % USOCK_BUCKETS], idlink)
		if (o->id == id)
			return true;
	return false;
}

/* Whether ID was a try of a request that has ended (a late reply). */
static bool
usock_id_gone(const struct usock *us, uint16_t id)
{
	for (unsigned i = 0; i < MIN(us->ngone, USOCK_GONE); i++)
		if (us->gone[i] == id)
			return true;
	return false;
}

/*
 * Puts R's current try on a socket to its server, giving it an ID no other
 * try waiting there has.  Returns false when no socket can be had.
 */
static bool
usock_attach(struct upstream_req *r, const struct pl_addr *srv, struct srvstate *st)
{
	struct usock *us = NULL, **slot = NULL;
	struct utry *t = r->ct;
	uint16_t id;

	if (st != NULL && st->held != NULL)
		us = st->held;		/* one sendmmsg for the batch */
	else if (st != NULL) {
		slot = &st->us[random_u16() % USOCK_PER_SERVER];
		us = *slot;
	}
	if (us == NULL) {
		if ((us = usock_new(r->pool, srv, st)) == NULL)
			return false;
		if (slot != NULL)
			*slot = us;
		else
			us->retired = true;	/* one-off: closed after this try */
	}
	id = wire_get_u16(r->msg);
	while (usock_id_taken(us, id))
		id = random_u16();
	r->msg[0] = (uint8_t)(id >> 8);
	r->msg[1] = (uint8_t)id;
	t->id = id;
	LIST_INSERT_HEAD(&us->byid[id % USOCK_BUCKETS], t, idlink);
	t->us = us;
	us->refs++;
	if (st != NULL && r->pool->hold > 0) {
		st->held = us;
		r->pool->held = true;
	}
	if (++us->uses >= USOCK_USES && !us->retired)
		usock_retire(us);
	return true;
}

/*
 * The kernel reported the server's port closed while sending on US (the
 * ICMP error of an earlier query, given to whichever call comes next):
 * every request waiting on US meets the same closed port.  They fail over
 * from the event loop, since no callback may run where sends are made.
 */
static void
usock_refuse_later(struct usock *us)
{
	/* Only requests whose current try is here: an earlier try's request
	 * has moved on and may be waiting on another server. */
	struct utry *t;

	for (size_t b = 0; b < USOCK_BUCKETS; b++)
		LIST_FOREACH(t, &us->byid[b], idlink)
			if (t->req->ct == t && !t->req->send_failed) {
				t->req->send_failed = true;
				event_active(&t->req->ev_try, EV_TIMEOUT, 1);
			}
	if (!us->retired)
		usock_retire(us);	/* last: it may free US */
	else
		usock_release(us);
}

/* Takes try T off its socket; GONE: its request has ended, so that a
 * reply still on its way is told apart from a forged one. */
static void
usock_detach(struct utry *t, bool gone)
{
	struct usock *us = t->us;

	if (us == NULL)
		return;
	LIST_REMOVE(t, idlink);
	if (gone)
		us->gone[us->ngone++ % USOCK_GONE] = t->id;
	t->us = NULL;
	us->refs--;
	usock_release(us);
}

static void
txq_remove(struct upstream_req *r)
{
	struct upstream_pool *p = r->pool;
	struct upstream_req **pp;

	for (pp = &p->txq; *pp != NULL; pp = &(*pp)->txnext)
		if (*pp == r) {
			*pp = r->txnext;
			if (p->txtail == &r->txnext)
				p->txtail = pp;
			break;
		}
	r->txnext = NULL;
	r->queued = false;
}

/*
 * Ends the current try.  KEEP: a UDP try that timed out stays on its
 * socket, so that its reply, when it comes, still answers the request.
 */
static void
req_close_try(struct upstream_req *r, bool keep)
{
	if (r->queued)
		txq_remove(r);
	r->send_failed = false;
	if (r->st != NULL) {
		COUNTER_ADD(r->st->info.inflight, -1);
		r->st = NULL;
	}
	if (r->ct != NULL && !keep)
		usock_detach(r->ct, false);
	if (r->tcp != NULL) {
		bufferevent_free(r->tcp);
		r->tcp = NULL;
	}
	upstream_dot_unlink(r);
	event_del(&r->ev_try);
}

static void
req_free(struct upstream_req *r)
{
	struct upstream_pool *p = r->pool;

	req_close_try(r, false);
	for (unsigned i = 0; i < r->ntries; i++)
		usock_detach(&r->t[i], true);
	event_del(&r->ev_deadline);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		p->pending = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	p->npending--;
	if (p->nfree < REQ_FREE_MAX) {
		r->next = p->freereqs;
		p->freereqs = r;
		p->nfree++;
	} else
		free(r);
}

static void
req_done(struct upstream_req *r, enum upstream_status st, const uint8_t *resp,
    size_t len)
{
	upstream_cb cb = r->cb;
	void *arg = r->arg;

	if (st == UPSTREAM_OK) {
		COUNTER_INC(r->pool->stats.answered);
		/* Over TCP the time includes the handshake: no sample. */
		if (r->st != NULL)
			srv_answered(r->st, r->tcp != NULL ? 0 : r->ct->sent_us);
	} else
		r->pool->stats.failed++;
	req_free(r);
	cb(arg, st, resp, len);
}

static void req_try(struct upstream_req *r);

/* Whether every server of the request has failed outright. */
static bool
req_all_failed(const struct upstream_req *r)
{
	return r->failed == (uint32_t)((1ULL << r->nservers) - 1);
}

/* Steps R->cur to the next server that has not failed outright (back to
 * the current one when it is the only one left). */
static void
req_advance(struct upstream_req *r)
{
	for (size_t i = 0; i < r->nservers; i++) {
		r->cur = (r->cur + 1) % r->nservers;
		if (!(r->failed & (1u << r->order[r->cur])))
			return;
	}
}

/* The current try failed: on to the next server at once. */
void
upstream_req_next(struct upstream_req *r)
{
	req_close_try(r, false);
	req_advance(r);
	req_try(r);
}

/*
 * The current server failed outright (refused, unreachable, an error
 * rcode): it is not asked again for this request.  When every server has
 * failed there is nobody to wait for: fail now instead of spinning until
 * the deadline, as unreachable when nothing but the network failed.
 */
static void
req_server_failed(struct upstream_req *r)
{
	r->failed |= 1u << r->order[r->cur];
	if (req_all_failed(r)) {
		req_done(r, r->not_net ? UPSTREAM_FAIL : UPSTREAM_UNREACHABLE, NULL, 0);
		return;
	}
	upstream_req_next(r);
}

/* The server refused (ICMP port unreachable, TCP RST, TLS failure). */
void
upstream_req_refused(struct upstream_req *r)
{
	r->pool->stats.refused++;
	if (r->st != NULL)
		r->st->info.refused++;
	srv_failed(r->st);
	req_server_failed(r);
}

/*
 * The server answered, but not with an answer: SERVFAIL (its own upstreams
 * or its validation failed), REFUSED (it will not serve us), NOTIMP, or
 * FORMERR to a query it should have understood.  Another server may do
 * better, as with BIND and Unbound; passing the rcode on would make the
 * client take the upstream's policy or parse error for pldns's own.
 */
static void
req_rcode_failed(struct upstream_req *r, int rcode)
{
	char a[64];

	r->pool->stats.rcode_failures++;
	if (r->st != NULL) {
		if (rcode == RCODE_REFUSED)
			r->st->info.refused++;
		else
			r->st->info.errors++;
	}
	srv_failed(r->st);
	log_ratelimited(LOG_RL_UPSTREAM, "upstream %s: answered %s, trying the next server",
	    addr_str(&r->servers[r->order[r->cur]], a, sizeof(a)),
	    upstream_rcode_name(rcode));
	r->not_net = true;
	req_server_failed(r);
}

/*
 * A reply that matched our question: BADCOOKIE is retried once with the
 * server cookie it carried (RFC 7873 5.3); anything else is the answer.
 * TC means ask again over TCP (not for TLS, which is a stream already).
 */
void
upstream_req_reply(struct upstream_req *r, const uint8_t *resp, size_t len, bool stream)
{
	struct upstream_pool *p = r->pool;
	int rcode = upstream_reply_rcode(resp, len);
	char a[64];

	switch (upstream_reply_action(rcode, (resp[2] & 0x02) != 0, stream,
	    r->badcookie_retried, !r->noedns && r->st != NULL)) {
	case UPSTREAM_RETRY_COOKIE:
		p->stats.badcookie++;
		r->badcookie_retried = true;
		req_close_try(r, false);
		req_try(r);
		return;
	case UPSTREAM_RETRY_NOEDNS:
		/* Ask it again at once without EDNS, and keep doing so for a
		 * while rather than pay a round trip each time. */
		log_ratelimited(LOG_RL_UPSTREAM, "upstream %s: FORMERR to EDNS; "
		    "asking it without EDNS for %u minutes",
		    addr_str(&r->st->info.addr, a, sizeof(a)), UPSTREAM_NOEDNS_MS / 60000);
		r->st->noedns_until = now_ms() + UPSTREAM_NOEDNS_MS;
		req_close_try(r, false);
		req_try(r);
		return;
	case UPSTREAM_FAILOVER:
		req_rcode_failed(r, rcode);
		return;
	case UPSTREAM_TRUNCATED:
		req_tcp(r);
		return;
	case UPSTREAM_ANSWER:
		break;
	}
	req_done(r, UPSTREAM_OK, resp, len);
}

/*
 * Whether RESP is a reply to try T of R (NULL: the current query, over TCP
 * or TLS); counts it as spoofed if not.  Every try asks the same question
 * in the same case (req_build), so r->msg serves with T's ID in it.
 */
bool
upstream_req_accepts(struct upstream_req *r, const struct utry *t, const uint8_t *resp,
    size_t len)
{
	struct upstream_pool *p = r->pool;
	struct srvstate *st = t != NULL ? t->st : r->st;
	uint8_t id0 = r->msg[0], id1 = r->msg[1];
	bool ok;

	if (t != NULL) {
		r->msg[0] = (uint8_t)(t->id >> 8);
		r->msg[1] = (uint8_t)t->id;
	}
	ok = upstream_reply_matches(r->msg, r->msglen, resp, len) &&
	    (!p->opts.case_randomization ||
	    upstream_case_matches(r->msg, r->msglen, resp, len)) &&
	    (!p->opts.cookies || st == NULL || upstream_cookie_check(&st->cookie, resp, len));
	r->msg[0] = id0;
	r->msg[1] = id1;
	if (!ok) {
		p->stats.spoofed++;
		if (st != NULL)
			st->info.spoofed++;
	}
	return ok;
}

/*
 * A reply to T, an earlier try of R: it becomes the current try (the one
 * whose server the answer is from), and the try that was current stays
 * live.  False when the reply is of no use: its server already failed for
 * this request, or it is truncated and that server was asked over TCP
 * already (one TCP attempt per server per request).
 */
static bool
req_adopt(struct upstream_req *r, struct utry *t, bool truncated)
{
	uint32_t bit = 1u << t->srv;

	if (t == r->ct)
		return true;
	if ((r->failed & bit) || (truncated && (r->tcp_tried & bit)))
		return false;
	req_close_try(r, true);
	r->ct = t;
	for (size_t i = 0; i < r->nservers; i++)
		if (r->order[i] == t->srv)
			r->cur = i;
	r->st = t->st;
	if (r->st != NULL)
		r->st->info.inflight++;
	r->noedns = t->noedns;
	r->msg[0] = (uint8_t)(t->id >> 8);	/* also the ID over TCP */
	r->msg[1] = (uint8_t)t->id;
	return true;
}

/* ---- TCP after truncation ---- */

static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct upstream_req *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	enum tcpframe_status fs;

	fs = tcpframe_read(in, r->pool->rbuf, 1, sizeof(r->pool->rbuf), &len);
	if (fs == TCPFRAME_MORE)
		return;
	if (fs == TCPFRAME_BAD)
		len = 0;	/* an empty message, which matches no question */
	if (!upstream_req_accepts(r, NULL, r->pool->rbuf, len)) {
		/* On a connection of our own a reply that does not match is
		 * the server's doing, not a forger's: it is not asked again. */
		req_tcp_failed(r, "answered another question over TCP", 0);
		return;
	}
	if (r->st != NULL)
		r->st->tcp_fails = 0;
	upstream_req_reply(r, r->pool->rbuf, len, true);
}

/*
 * The TCP attempt after a truncated answer failed (ERR: the system's
 * error, 0 for the server's doing).  It counts against the server's
 * health and its TCP (srv_tcp_failed), and the server is not asked again
 * for this request: asking it over UDP would only bring back the truncated
 * answer and another connection.
 */
static void
req_tcp_failed(struct upstream_req *r, const char *what, int err)
{
	const struct pl_addr *srv = &r->servers[r->order[r->cur]];
	char a[64];

	r->pool->stats.tcp_failures++;
	if (err != 0) {
		upstream_srv_neterr(r->st, srv, what, err);
		r->pool->stats.refused++;
		if (r->st != NULL)
			r->st->info.refused++;
	} else {
		log_ratelimited(LOG_RL_UPSTREAM, "upstream %s: %s",
		    addr_str(srv, a, sizeof(a)), what);
		r->not_net = true;
	}
	srv_tcp_failed(r->st);
	req_server_failed(r);
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct upstream_req *r = arg;

	if (what & BEV_EVENT_ERROR)
		req_tcp_failed(r, "over TCP", EVUTIL_SOCKET_ERROR());
	else if (what & BEV_EVENT_EOF)
		req_tcp_failed(r, "closed the TCP connection without an answer", 0);
}

/*
 * The server truncated its answer: ask again over TCP (RFC 7766), once
 * per server per request and UPSTREAM_MAX_TCP times per request at most,
 * and not a server whose TCP keeps failing: that server has failed for
 * this request, and the next one is asked.  Whatever the upstreams do, a
 * client's question costs a handful of connections at most.
 */
static void
req_tcp(struct upstream_req *r)
{
	const struct pl_addr *srv = &r->servers[r->order[r->cur]];
	uint32_t bit = 1u << r->order[r->cur];

	if ((r->tcp_tried & bit) || __builtin_popcount(r->tcp_tried) >= UPSTREAM_MAX_TCP ||
	    (r->st != NULL && r->st->tcp_down_until > now_ms())) {
		char a[64];
		log_ratelimited(LOG_RL_UPSTREAM, "upstream %s: truncated answer, and no "
		    "TCP to it now (it failed over TCP)", addr_str(srv, a, sizeof(a)));
		r->not_net = true;
		srv_failed(r->st);
		req_server_failed(r);
		return;
	}
	r->tcp_tried |= bit;
	usock_detach(r->ct, false);
	r->pool->stats.tcp_retries++;
	r->tcp = bufferevent_socket_new(r->pool->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (r->tcp == NULL) {
		upstream_req_next(r);
		return;
	}
	bufferevent_setcb(r->tcp, tcp_read_cb, NULL, tcp_event_cb, r);
	bufferevent_enable(r->tcp, EV_READ | EV_WRITE);
	(void)tcpframe_write(bufferevent_get_output(r->tcp), r->msg, r->msglen);
	event_del(&r->ev_try);
	event_add(&r->ev_try, pool_timeout(r->pool, r->timeout_ms));
	if (bufferevent_socket_connect(r->tcp, (const struct sockaddr *)&srv->ss,
	    (int)srv->len) < 0)
		req_tcp_failed(r, "cannot connect over TCP", EVUTIL_SOCKET_ERROR());
}

/* ---- UDP ---- */

/*
 * Replies on a shared socket: each goes to the request waiting with its ID.
 * ECONNREFUSED (the server's ICMP port unreachable) fails over every
 * request waiting on the socket, which is then replaced.
 */
static void
usock_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct usock *us = arg;
	struct upstream_pool *p = us->pool;
	struct mmsghdr mm[USOCK_READ_BATCH];
	struct iovec iov[USOCK_READ_BATCH];
	int n;

	for (int i = 0; i < USOCK_READ_BATCH; i++) {
		iov[i].iov_base = p->rx[i];
		iov[i].iov_len = USOCK_RX_SIZE;
		memset(&mm[i].msg_hdr, 0, sizeof(mm[i].msg_hdr));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(fd, mm, USOCK_READ_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		int err = errno;
		struct utry *t;

		if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
			return;
		us->refs++;
		if (!us->retired)
			usock_retire(us);
		for (size_t b = 0; b < USOCK_BUCKETS; b++)
			while ((t = LIST_FIRST(&us->byid[b])) != NULL) {
				struct upstream_req *r = t->req;
				if (r->ct != t) {
					/* An earlier try: its request has moved on. */
					usock_detach(t, false);
					continue;
				}
				upstream_srv_neterr(r->st, &r->servers[r->order[r->cur]],
				    "no answer", err);
				upstream_req_refused(r);
			}
		us->refs--;
		usock_release(us);
		return;
	}
	us->refs++;		/* a reply may end the last request waiting */
	upstream_pool_hold(p);	/* what the replies lead to goes out together */
	if (p->around != NULL)
		p->around(p->around_arg, false);
	for (int i = 0; i < n; i++) {
		const uint8_t *buf = p->rx[i];
		size_t len = mm[i].msg_len;
		struct utry *t = NULL;
		bool trunc = (mm[i].msg_hdr.msg_flags & MSG_TRUNC) ||
		    (len > 2 && (buf[2] & 0x02));

		if (len >= 2)
			LIST_FOREACH(t, &us->byid[wire_get_u16(buf) %
			    USOCK_BUCKETS], idlink)
				if (t->id == wire_get_u16(buf))
					break;
		if (t == NULL) {
			/* No try waits with this ID: a reply to a request
			 * that has ended (answered, or failed), or forged. */
			if (len >= 2 && usock_id_gone(us, wire_get_u16(buf)))
				p->stats.late++;
			else {
				p->stats.spoofed++;
				if (us->st != NULL)
					us->st->info.spoofed++;
			}
			continue;
		}
		if (!upstream_req_accepts(t->req, t, buf, len))
			continue;
		if (!req_adopt(t->req, t, trunc)) {
			p->stats.late++;
			continue;
		}
		if (mm[i].msg_hdr.msg_flags & MSG_TRUNC)
			req_tcp(t->req);	/* larger than we take over UDP */
		else
			upstream_req_reply(t->req, buf, len, false);
	}
	upstream_pool_flush(p);
	us->refs--;
	usock_release(us);
	if (p->around != NULL)
		p->around(p->around_arg, true);
}

/*
 * Sends the held queries: those on one socket in one sendmmsg.  Runs no
 * callback (the caller may be in the middle of its own batch): a query the
 * kernel refuses has its try timer fire at once instead.
 */
void
upstream_pool_flush(struct upstream_pool *p)
{
	struct mmsghdr mm[TX_BATCH];
	struct iovec iov[TX_BATCH];

	if (p->hold > 0 && --p->hold > 0)
		return;
	if (!p->held && p->txq == NULL)
		return;		/* the common case for a batch of local answers */
	for (size_t i = 0; i < p->nservers; i++)
		p->servers[i].held = NULL;
	p->held = false;
	while (p->txq != NULL) {
		struct usock *us = p->txq->ct->us;
		struct upstream_req **pp = &p->txq, *r;
		int n = 0, sent;

		while ((r = *pp) != NULL && n < TX_BATCH) {
			if (r->ct->us != us) {
				pp = &r->txnext;
				continue;
			}
			*pp = r->txnext;
			if (p->txtail == &r->txnext)
				p->txtail = pp;
			r->txnext = NULL;
			r->queued = false;
			iov[n].iov_base = r->msg;
			iov[n].iov_len = r->msglen;
			memset(&mm[n].msg_hdr, 0, sizeof(mm[n].msg_hdr));
			mm[n].msg_hdr.msg_iov = &iov[n];
			mm[n].msg_hdr.msg_iovlen = 1;
			n++;
		}
		for (int k = 0; k < n; k += sent > 0 ? sent : 1) {
			sent = sendmmsg(us->fd, mm + k, (unsigned)(n - k), 0);
			if (sent > 0)
				continue;
			/* batch[k] was not sent; the rest are tried again.
			 * A full buffer loses it like the network would (its
			 * try timer moves on); anything else (a pending ICMP
			 * error, no route) is a refusal. */
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ||
			    errno == EINTR)
				continue;
			if (us->st != NULL)
				upstream_srv_neterr(us->st, &us->st->info.addr, "cannot send", errno);
			p->stats.refused++;
			usock_refuse_later(us);	/* the rest of the batch too */
			break;
		}
	}
	p->txtail = &p->txq;
}

void
upstream_pool_hold(struct upstream_pool *p)
{
	p->hold++;
}

void
upstream_pool_on_replies(struct upstream_pool *p, void (*fn)(void *, bool), void *arg)
{
	p->around = fn;
	p->around_arg = arg;
}

static void
try_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_req *r = arg;
	char a[64];

	if (r->send_failed) {
		/* Its socket's port was found closed while sending (see
		 * usock_refuse_later), or every server refused in req_try. */
		r->send_failed = false;
		if (req_all_failed(r))
			req_done(r, r->not_net ? UPSTREAM_FAIL : UPSTREAM_UNREACHABLE,
			    NULL, 0);
		else
			upstream_req_refused(r);
		return;
	}
	r->not_net = true;
	r->pool->stats.timeouts++;
	if (r->st != NULL)
		r->st->info.timeouts++;
	if (r->tcp != NULL) {
		req_tcp_failed(r, "no answer over TCP", 0);
		return;
	}
	/* On a lossy link tries time out while the server answers others:
	 * only a server silent for timeout_ms is failing. */
	if (r->st != NULL && now_ms() - r->st->heard_ms >= r->timeout_ms)
		srv_failed(r->st);
	log_ratelimited(LOG_RL_UPSTREAM, "upstream %s: no answer in %u ms",
	    addr_str(&r->servers[r->order[r->cur]], a, sizeof(a)), r->try_ms);
	if (r->dot != NULL) {
		/* A stream: the query is not lost, a retransmission would
		 * only queue behind it.  On to the next server. */
		upstream_req_next(r);
		return;
	}
	/* Retransmit, to the next server in line (the same one when it is
	 * the only one); the try that timed out stays live. */
	srv_backoff(r->st, r->timeout_ms);
	req_close_try(r, true);
	req_advance(r);
	req_try(r);
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
	struct srvstate *st = srv_state(r->pool, srv);
	struct utry *t;

	if (r->ntries == UPSTREAM_MAX_TRIES)
		return;		/* the tries out there are all it gets */
	t = r->ct = &r->t[r->ntries++];
	t->req = r;
	t->st = st;
	t->srv = r->order[r->cur];
	/* A fresh ID (and cookie) per try: a reply names the try it answers. */
	req_build(r, st, st != NULL && st->info.tls);
	t->noedns = r->noedns;
	t->sent_us = mono_us();
	r->try_ms = st != NULL && st->info.tls ? r->timeout_ms : srv_rto(st, r->timeout_ms);
	event_add(&r->ev_try, pool_timeout(r->pool, r->try_ms));
	if (st != NULL && st->info.tls) {
		r->st = st;
		COUNTER_INC(st->info.sent);
		COUNTER_INC(st->info.inflight);
		COUNTER_INC(r->pool->stats.sent);
		upstream_dot_send(r, st);
		return;
	}
	if (!usock_attach(r, srv, st)) {
		upstream_srv_neterr(st, srv, "cannot reach", errno);
		r->pool->stats.refused++;
		goto refused;
	}
	if (r->pool->hold > 0) {
		r->queued = true;
		r->txnext = NULL;
		*r->pool->txtail = r;
		r->pool->txtail = &r->txnext;
	} else if (send(t->us->fd, r->msg, r->msglen, 0) < 0) {
		/* Refused at once (a pending ICMP error on the socket, or no
		 * route): on to the next server now, or failure from the
		 * event loop when none remains. */
		struct usock *us = t->us;
		upstream_srv_neterr(st, srv, "cannot send", errno);
		r->pool->stats.refused++;
		us->refs++;		/* kept for usock_refuse_later */
		usock_detach(t, false);
		us->refs--;
		usock_refuse_later(us);
		goto refused;
	}
	COUNTER_INC(r->pool->stats.sent);
	r->st = st;
	if (st != NULL) {
		COUNTER_INC(st->info.sent);
		COUNTER_INC(st->info.inflight);
	}
	return;
refused:
	if (st != NULL)
		st->info.refused++;
	srv_failed(st);
	r->failed |= 1u << r->order[r->cur];
	if (!req_all_failed(r)) {
		event_del(&r->ev_try);
		req_advance(r);
		req_try(r);
		return;
	}
	/* Every server refused: nobody to wait for.  The failure is
	 * reported from the event loop (no callback may run here). */
	r->send_failed = true;
	event_active(&r->ev_try, EV_TIMEOUT, 1);
}

struct upstream_req *
upstream_send(struct upstream_pool *p, const struct pl_addr *servers, size_t n,
    unsigned timeout_ms, unsigned deadline_ms, const struct wire_query *q,
    upstream_cb cb, void *arg)
{
	struct upstream_req *r;

	if (n == 0)
		return NULL;
	if (n > UPSTREAM_MAX_SERVERS)
		n = UPSTREAM_MAX_SERVERS;
	if ((r = p->freereqs) != NULL) {
		p->freereqs = r->next;
		p->nfree--;
		memset(r, 0, offsetof(struct upstream_req, msg));
	} else if ((r = try_calloc(1, sizeof(*r))) == NULL)
		/* Answered SERVFAIL by the caller, as when every server is
		 * at its cap. */
		return NULL;
	r->pool = p;
	r->servers = servers;
	r->nservers = n;
	req_order(r);
	if (p->opts.max_inflight) {
		/* Every server at its cap: refuse rather than pile on (the
		 * caller answers SERVFAIL). */
		struct srvstate *best = srv_state(p, &servers[r->order[0]]);
		if (best != NULL && best->info.inflight >= p->opts.max_inflight) {
			p->stats.overflow++;
			r->next = p->freereqs;
			p->freereqs = r;
			p->nfree++;
			return NULL;
		}
	}
	r->timeout_ms = timeout_ms < deadline_ms ? timeout_ms : deadline_ms;
	r->cb = cb;
	r->arg = arg;
	r->q = *q;
	evtimer_assign(&r->ev_try, p->base, try_timeout_cb, r);
	evtimer_assign(&r->ev_deadline, p->base, deadline_cb, r);
	evtimer_add(&r->ev_deadline, pool_timeout(p, deadline_ms));
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
