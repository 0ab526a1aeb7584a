/*
 * worker: a thread's event loop, its UDP sockets and the query path.
 * Forwarding is in worker_fwd.c, TCP clients in worker_tcp.c.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/acl.h"
#include "util/log.h"
#include "runtime/querylog.h"
#include "util/util.h"
#include "runtime/worker_int.h"

#define UDP_ROUNDS	64	/* batches per turn at most */
#define UDP_TURN_US	1000	/* and no new batch after this long */
#define UDP_STREAM	2	/* a batch this long: more is on its way */
#define RRL_TABLE	65536

/* One line of the query log (querylog.h) for the reply in w->out. */
static void
query_log(struct worker *w, const struct pl_addr *client, const struct wire_query *q,
    const struct answer_info *info, bool tcp, uint64_t us)
{
	char line[QUERYLOG_LINE_MAX];

	log_query("%s", querylog_format(line, sizeof(line), client, tcp, q, info, w->out,
	    info->len <= sizeof(w->out) ? info->len : 0, us));
}

/*
 * Counts a name the local zones lack (missing.h): answer.c names the zone
 * when local data had no such name (NXDOMAIN, or fallback to the public
 * answer); an NXDOMAIN from upstream counts too when the name lies under a
 * public twin, where a new private endpoint's public name shows first.
 */
static void
note_missing(struct worker *w, const struct wire_query *q, const struct answer_info *info)
{
	const struct szone *z = info->miss_zone;

	if (z == NULL) {
		uint8_t pl[WIRE_NAME_MAX];
		bool twin = false;

		z = snapshot_route(w->snap, q->lname, pl, &twin);
		if (z == NULL || !twin)
			return;
	}
	COUNTER_INC(w->m.missing);
	missing_note(w->missing, q->lname, szone_name(z), w->now_us / 1000000);
}

void
worker_account(struct worker *w, const struct pl_addr *client, const struct wire_query *q,
    const struct answer_info *info, bool tcp, uint64_t start_us)
{
	/* Answers made within one batch count the batch's time: for local
	 * answers that is well under the smallest latency bucket. */
	uint64_t now = w->now_us;
	uint64_t lat = now > start_us ? now - start_us : 0;

	metrics_answer(&w->m, tcp ? MT_TCP : MT_UDP, q->qtype, info->rcode, info->path, lat);
	if (info->truncated)
		w->m.truncated++;
	if (info->miss_zone != NULL || info->rcode == RCODE_NXDOMAIN)
		note_missing(w, q, info);
	if (log_query_enabled())
		query_log(w, client, q, info, tcp, lat);
}

/* ---- UDP replies ---- */

/* Sends a UDP reply now (replies outside a receive batch). */
static void
udp_send(struct worker *w, int fd, const struct pl_addr *client, const uint8_t *msg,
    size_t len)
{
	if (sendto(fd, msg, len, MSG_DONTWAIT, (const struct sockaddr *)&client->ss,
	    client->len) < 0)
		log_ratelimited(LOG_RL_SEND, "sendto: %s", strerror(errno));
}

/*
 * Sends MSG to a UDP client through the rate limiter: over the limit the
 * reply is dropped, or sent truncated so that a real client retries over
 * TCP.  BATCHED replies are queued for one sendmmsg at the end of the batch.
 */
static void
udp_reply(struct worker *w, int fd, const struct pl_addr *client, const uint8_t *msg,
    size_t len, bool batched)
{
	uint8_t slip[WIRE_HDR_LEN + WIRE_NAME_MAX + 4];

	switch (rrl_check(w->rrl, (const struct sockaddr *)&client->ss, w->now_us / 1000)) {
	case RRL_DROP:
		w->m.rrl_dropped++;
		return;
	case RRL_SLIP: {
		/* Header and question only, TC set. */
		size_t qlen = WIRE_HDR_LEN;
		size_t pos = WIRE_HDR_LEN;
		uint8_t tmp[WIRE_NAME_MAX];
		if (wire_get_u16(msg + 4) == 1 && wire_name_read(msg, len, &pos, tmp) >= 0 &&
		    pos + 4 <= len)
			qlen = pos + 4;
		if (qlen > sizeof(slip))
			qlen = WIRE_HDR_LEN;
		memcpy(slip, msg, qlen);
		slip[2] |= 0x02;
		memset(slip + 6, 0, 6);
		if (qlen == WIRE_HDR_LEN)
			memset(slip + 4, 0, 2);
		w->m.rrl_slipped++;
		msg = slip;
		len = qlen;
		break;
	}
	case RRL_SEND:
		break;
	}
	if (batched && len <= sizeof(w->tx[0])) {
		if (w->ntx == BATCH)
			worker_udp_flush(w);
		int i = w->ntx++;
		memcpy(w->tx[i], msg, len);
		memcpy(&w->taddr[i], &client->ss, client->len);
		w->tfd[i] = fd;
		w->tiov[i].iov_base = w->tx[i];
		w->tiov[i].iov_len = len;
		memset(&w->tmsg[i].msg_hdr, 0, sizeof(w->tmsg[i].msg_hdr));
		w->tmsg[i].msg_hdr.msg_name = &w->taddr[i];
		w->tmsg[i].msg_hdr.msg_namelen = client->len;
		w->tmsg[i].msg_hdr.msg_iov = &w->tiov[i];
		w->tmsg[i].msg_hdr.msg_iovlen = 1;
		return;
	}
	udp_send(w, fd, client, msg, len);
}

void
worker_reply(struct worker *w, int udp_fd, const struct pl_addr *client, struct tcp_conn *conn,
    const uint8_t *msg, size_t len, bool batched)
{
	if (conn != NULL)
		worker_tcp_send(conn, msg, len);
	else
		udp_reply(w, udp_fd, client, msg, len, batched);
}

/* ---- the query path ---- */

/* Where xfr_serve() sends each message of a transfer. */
struct xfr_dst {
	struct worker *w;
	int udp_fd;
	const struct pl_addr *client;
	struct tcp_conn *conn;
};

static void
xfr_emit_cb(void *arg, const uint8_t *msg, size_t len)
{
	struct xfr_dst *d = arg;

	if (d->conn != NULL)
		worker_tcp_send(d->conn, msg, len);
	else
		udp_send(d->w, d->udp_fd, d->client, msg, len);
}

/*
 * Zone transfers, NOTIFY and TSIG-signed queries (xfr.h), which reply
 * themselves because their replies carry TSIG.  True when handled.
 */
static bool
handle_xfr(struct worker *w, const uint8_t *pkt, size_t len, int udp_fd,
    const struct pl_addr *client, struct tcp_conn *conn)
{
	const struct sockaddr *sa = (const struct sockaddr *)&client->ss;
	struct xfr_dst dst = { w, udp_fd, client, conn };
	size_t olen = 0;

	switch (xfr_classify(pkt, len)) {
	case XFR_NONE:
		return false;
	case XFR_TRANSFER:
		if (conn != NULL)
			worker_tcp_transfer(conn, pkt, len);
		else
			(void)xfr_serve(w->snap, w->journal, pkt, len, sa, false,
			    xfr_emit_cb, &dst);
		return true;
	case XFR_NOTIFY:
		(void)xfr_secondary_notify(w->sec, pkt, len, sa, w->out, sizeof(w->out),
		    &olen);
		break;
	case XFR_SIGNED:
		(void)xfr_answer_signed(w->snap, pkt, len, sa, conn != NULL, w->out,
		    sizeof(w->out), &olen);
		break;
	}
	if (olen > 0)
		worker_reply(w, udp_fd, client, conn, w->out, olen, true);
	return true;
}

/* The secrets of the configuration now in use (cookie.h). */
static void
cookie_configure(struct worker *w)
{
	const struct config *cfg = snapshot_config(w->snap);

	(void)cookie_secrets_set(&w->csec, cfg->cookie_secret, cfg->ncookie_secret);
}

/*
 * Q carries a well-formed COOKIE option: judges it and puts the option to
 * answer with into Q, so that every reply with OPT carries it (RFC 7873
 * 5.2).  Returns the verdict; cookies are counted, never required.
 */
static enum cookie_verdict
cookie_take(struct worker *w, struct wire_query *q, const struct pl_addr *client)
{
	enum cookie_verdict cv;

	if (w->cmac == NULL)
		return COOKIE_CLIENT_ONLY;
	cv = cookie_check(w->cmac, &w->csec, q->edns.cookie, q->edns.cookie_len,
	    (const struct sockaddr *)&client->ss, (uint32_t)time(NULL), q->cookie_reply);
	q->cookie_reply_len = COOKIE_REPLY_LEN;
	if (cv == COOKIE_VALID)
		COUNTER_INC(w->m.cookies_valid);
	else if (cv == COOKIE_BAD)
		COUNTER_INC(w->m.cookies_invalid);
	else
		COUNTER_INC(w->m.cookies_new);
	return cv;
}

/*
 * Handles one query PKT/LEN, for which wire_query_parse() gave Q and V,
 * and answer_route() RT (or NULL: answer_local() routes it).  Replies made
 * at once go out through worker_reply() (batched for UDP); forwarded queries
 * reply later from forward_done_cb().
 */
static void
handle_parsed(struct worker *w, const uint8_t *pkt, size_t len, int udp_fd,
    const struct pl_addr *client, struct tcp_conn *conn,
    struct wire_query *q, enum wire_verdict v,
    const struct answer_route *rt)
{
	const struct config *cfg = snapshot_config(w->snap);
	struct answer_info info;
	enum answer_result ar;
	enum acl_verdict av;
	uint64_t start = w->now_us;
	size_t limit;
	int rcode = -1, ede = -1;

	answer_info_clear(&info);
	av = acl_check(cfg, (const struct sockaddr *)&client->ss);
	/* Zone transfers, NOTIFY and TSIG-signed requests go to xfr before
	 * the verdict is acted on, which takes IXFR's authority SOA for a
	 * FORMERR and NOTIFY's opcode for a NOTIMP.  After the ACL, which
	 * answers everyone else as for any query. */
	if (av == ACL_ALLOW && xfr_may_concern(q, v) &&
	    handle_xfr(w, pkt, len, udp_fd, client, conn))
		return;
	enum cookie_verdict cv = COOKIE_CLIENT_ONLY;
	if (q->edns.cookie != NULL && v != WIRE_DROP && av == ACL_ALLOW)
		cv = cookie_take(w, q, client);
	switch (v) {
	case WIRE_DROP:
		w->m.dropped++;
		return;
	case WIRE_FORMERR:
		w->m.formerr++;
		rcode = RCODE_FORMERR;
		break;
	case WIRE_NOTIMP:
		w->m.notimp++;
		rcode = RCODE_NOTIMP;
		break;
	case WIRE_BADVERS:
		w->m.badvers++;
		rcode = RCODE_BADVERS;
		break;
	case WIRE_COOKIE:
		/* RFC 7873 5.4: the cookie alone, NOERROR, or BADCOOKIE when
		 * the server cookie sent was not good. */
		rcode = cv == COOKIE_BAD ? RCODE_BADCOOKIE : RCODE_NOERROR;
		break;
	case WIRE_OK:
		break;
	}
	switch (av) {
	case ACL_DROP:
		w->m.dropped_acl++;
		return;
	case ACL_REFUSE:
		w->m.refused_acl++;
		rcode = RCODE_REFUSED;
		ede = 18;	/* Prohibited */
		break;
	case ACL_ALLOW:
		break;
	}
	if (rcode < 0 && (q->qclass != CLASS_IN || q->qtype == TYPE_AXFR ||
	    q->qtype == TYPE_IXFR || q->qtype == TYPE_OPT)) {
		/* Other classes and zone transfers are not served here. */
		rcode = RCODE_REFUSED;
	}
	if (rcode >= 0) {
		answer_error(q, rcode, ede, w->out, sizeof(w->out), &info);
		info.path = rcode == RCODE_REFUSED ? PATH_REFUSED : PATH_ERROR;
		worker_reply(w, udp_fd, client, conn, w->out, info.len, true);
		if (v == WIRE_OK)
			worker_account(w, client, q, &info, conn != NULL, start);
		return;
	}
	if (xfr_secondary_unavailable(w->snap, q->lname)) {
		/* A secondary zone not transferred yet, or expired. */
		answer_error(q, RCODE_SERVFAIL, 22, w->out, sizeof(w->out), &info);
		info.path = PATH_ERROR;
		worker_reply(w, udp_fd, client, conn, w->out, info.len, true);
		worker_account(w, client, q, &info, conn != NULL, start);
		return;
	}
	limit = conn != NULL ? WIRE_MAX_MSG : answer_udp_limit(q);
	if (rt != NULL)
		ar = answer_local_routed(w->snap, q, rt, w->out, sizeof(w->out), limit,
		    &info);
	else
		ar = answer_local(w->snap, q, w->out, sizeof(w->out), limit, &info);
	if (ar != ANSWER_DONE) {
		if (!acl_may_forward(cfg, (const struct sockaddr *)&client->ss)) {
			w->m.refused_acl++;
			answer_error(q, RCODE_REFUSED, 18, w->out, sizeof(w->out), &info);
			info.path = PATH_REFUSED;
		} else if (!worker_forward(w, q, limit, udp_fd, client, conn, &info))
			return;
	}
	worker_reply(w, udp_fd, client, conn, w->out, info.len, true);
	worker_account(w, client, q, &info, conn != NULL, start);
}

/* handle_parsed() for a query not parsed yet. */
void
worker_handle_query(struct worker *w, const uint8_t *pkt, size_t len, int udp_fd,
    const struct pl_addr *client, struct tcp_conn *conn)
{
	struct wire_query q;
	enum wire_verdict v = wire_query_parse(pkt, len, &q);

	handle_parsed(w, pkt, len, udp_fd, client, conn, &q, v, NULL);
}

/* Sends the queued replies: one sendmmsg per run of replies on one socket. */
void
worker_udp_flush(struct worker *w)
{
	int off = 0;

	while (off < w->ntx) {
		int fd = w->tfd[off], run = 1, n;

		while (off + run < w->ntx && w->tfd[off + run] == fd)
			run++;
		n = sendmmsg(fd, w->tmsg + off, (unsigned)run, MSG_DONTWAIT);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			log_ratelimited(LOG_RL_SEND, "sendmmsg: %s", strerror(errno));
			/* Skip the datagram that failed and carry on. */
			off++;
			continue;
		}
		off += n;
	}
	w->ntx = 0;
}

/*
 * A turn: under a stream of datagrams, udp_read_cb keeps reading its socket
 * with the socket out of the event loop's epoll set, for UDP_TURN_US at
 * most.
 *
 * While a socket is in an epoll set, every datagram that reaches it runs
 * epoll's wake-up callback, in the sender's context and under a lock the
 * worker's epoll_wait takes too, even when the worker is busy and waits for
 * nothing.  Measured with the benchmark's floor (tests/bench/floor.c): the
 * same loop with its socket merely registered in an epoll set costs 1.07 to
 * 1.13 times as much CPU per query, more than all of pldns's own work on a
 * local answer.  A thread blocked in recvmmsg is woken only when it sleeps.
 *
 * So after a batch the worker reads again at once: without waiting when the
 * batch says more is on its way (UDP_STREAM datagrams or more) and the turn
 * ends at the first empty read; or, when nothing else can need the worker,
 * waiting in recvmmsg, which saves another 3 to 4% of the floor's CPU per
 * query (no empty reads).  Nothing else can need it when this is its only UDP
 * socket and it has no TCP connection, no query out to an upstream and no
 * mail; the last wait ends at the socket's receive timeout (UDP_TURN_US,
 * which the kernel rounds up to a clock tick).  Either way a timer, a new
 * TCP connection or another socket's datagram is late by a turn and a tick
 * at most.
 */
static bool
udp_may_wait(struct worker *w)
{
	return w->nls == 1 && w->nconns == 0 && w->nfqueries == 0 && !w->stopping &&
	    !atomic_load_explicit(&w->mail_pending, memory_order_relaxed);
}

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	struct worker *w = l->w;
	int flags = MSG_DONTWAIT;
	bool alone = false;		/* out of the epoll set */
	uint64_t since_us = 0;

	/* A turn of UDP_TURN_US at most, so that one busy socket cannot
	 * starve the others, the timers or the mailbox. */
	for (int round = 0; round < UDP_ROUNDS; round++) {
		int n;

		/* The headers were set up by worker_new; the kernel changes
		 * only the address lengths of those it fills (and the flags,
		 * an output). */
		for (int i = 0; i < w->rused; i++)
			w->rmsg[i].msg_hdr.msg_namelen = sizeof(w->rsrc[i]);
		n = recvmmsg(fd, w->rmsg, BATCH, flags, NULL);
		w->rused = n > 0 ? n : 0;
		if (n <= 0)
			break;		/* drained, or the wait timed out */
		w->now_us = worker_clock_us();
		if (round == 0)
			since_us = w->now_us;
		else if (alone)
			/* Timers a query sets start from the loop's clock. */
			event_base_update_cache_time(w->base);
		struct pl_addr clients[BATCH];
		/* The batch's upstream queries leave together, in one
		 * sendmmsg per server. */
		upstream_pool_hold(w->up);
		/*
		 * A lookup among many names is three cache misses in a row
		 * (table slot, node, owner), dearer than the rest of a local
		 * answer.  The whole batch is parsed and routed first, then
		 * each level is fetched for all its queries at once, so that
		 * their misses overlap (answer_route).
		 */
		for (int i = 0; i < n; i++) {
			w->rr[i].z = NULL;
			w->rr[i].guess = NULL;
			/* Datagrams larger than our buffer were cut: such a
			 * query is malformed anyway. */
			if (w->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			w->rv[i] = wire_query_parse(w->rx[i], w->rmsg[i].msg_len, &w->rq[i]);
			if (w->rv[i] == WIRE_OK)
				answer_route(w->snap, &w->rq[i], &w->rr[i]);
		}
		for (int i = 0; i < n; i++)
			answer_fetch_node(&w->rr[i]);
		for (int i = 0; i < n; i++)
			answer_fetch_owner(&w->rr[i]);
		for (int i = 0; i < n; i++) {
			clients[i].len = w->rmsg[i].msg_hdr.msg_namelen;
			if (clients[i].len > sizeof(clients[i].ss))
				clients[i].len = sizeof(clients[i].ss);
			memcpy(&clients[i].ss, &w->rsrc[i], clients[i].len);
			if (w->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			handle_parsed(w, w->rx[i], w->rmsg[i].msg_len, fd, &clients[i], NULL,
			    &w->rq[i], w->rv[i], w->rv[i] == WIRE_OK ? &w->rr[i] : NULL);
		}
		upstream_pool_flush(w->up);
		worker_udp_flush(w);
		if (w->now_us - since_us >= UDP_TURN_US)
			break;
		/* A lone datagram says nothing of the next: reading again
		 * without waiting would most likely be a wasted call. */
		if (n == BATCH)
			flags = MSG_DONTWAIT;
		else if (udp_may_wait(w))
			flags = MSG_WAITFORONE;
		else if (n >= UDP_STREAM)
			flags = MSG_DONTWAIT;
		else
			break;
		if (n < BATCH && !alone) {
			event_del(&l->udp_ev);
			alone = true;
		}
	}
	if (alone)
		event_add(&l->udp_ev, NULL);
}

/* ---- sockets ---- */

/*
 * Answers leave with DF set and are never fragmented here (RFC 9715 3.1):
 * a UDP answer is at most 1232 octets (answer_udp_limit), which fits any
 * path, and a longer one goes over TCP.  PROBE rather than DO: the path MTU
 * the kernel would learn from ICMP is ignored, so forged "fragmentation
 * needed" messages cannot shrink the answers to a client.  With DF set the
 * kernel also leaves the IPv4 ID at 0 instead of drawing it from its shared
 * hashed counters, which is about 2% of the CPU an answer costs.
 */
static void
udp_no_fragments(int fd, int family)
{
	int v;

	if (family == AF_INET) {
		v = IP_PMTUDISC_PROBE;
		(void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
	} else if (family == AF_INET6) {
		v = IPV6_PMTUDISC_PROBE;
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof(v));
	}
}

static int
open_socket(const struct pl_addr *a, int type, struct diag *d)
{
	char buf[64];
	int fd, on = 1;

	/* A UDP socket blocks, so that udp_read_cb can wait in recvmmsg; every
	 * other call on it passes MSG_DONTWAIT. */
	fd = socket(a->ss.ss_family, type | (type == SOCK_DGRAM ? 0 : SOCK_NONBLOCK) |
	    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		diag_add(d, DIAG_ERROR, NULL, 0, "socket for %s: %s",
		    addr_str(a, buf, sizeof(buf)), strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* Every worker binds the same address: the kernel spreads packets and
	 * connections over them. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on));
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (type == SOCK_DGRAM) {
		struct timeval tmo = { 0, UDP_TURN_US };

		/* Without its timeout a wait could outlast a stream for ever;
		 * a non-blocking socket never waits. */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)) < 0)
			(void)fcntl(fd, F_SETFL, O_NONBLOCK);
		udp_no_fragments(fd, a->ss.ss_family);
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		diag_add(d, DIAG_ERROR, NULL, 0, "cannot listen on %s (%s): %s",
		    addr_str(a, buf, sizeof(buf)), type == SOCK_DGRAM ? "udp" : "tcp",
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- mailbox, stop ---- */

/* Upstream options follow the snapshot's configuration. */
static void
worker_configure_upstreams(struct worker *w)
{
	const struct config *cfg = snapshot_config(w->snap);
	struct upstream_opts o = {
		.max_inflight = cfg->max_inflight,
		.case_randomization = cfg->case_randomization,
		.cookies = cfg->cookies,
		.tls_ca_file = cfg->tls_ca_file,
	};

	o.tls = snapshot_tls(w->snap, &o.ntls);
	upstream_pool_configure(w->up, &o);
}

static void stop_check_cb(evutil_socket_t fd, short what, void *arg);

static void
worker_begin_stop(struct worker *w)
{
	struct timeval tv = { 0, 20000 };

	if (w->stopping)
		return;
	w->stopping = true;
	for (size_t i = 0; i < w->nls; i++) {
		if (w->ls[i].udp_fd != -1)
			event_del(&w->ls[i].udp_ev);
		if (w->ls[i].tcp != NULL)
			evconnlistener_disable(w->ls[i].tcp);
		evtimer_del(&w->ls[i].tcp_resume);
	}
	w->stop_deadline = now_ms() + 2000;
	evtimer_assign(&w->ev_stop, w->base, stop_check_cb, w);
	evtimer_add(&w->ev_stop, &tv);
}

/* In-flight queries get up to two seconds to finish; a prefetch that no
 * client has joined holds up nobody. */
static void
stop_check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval tv = { 0, 20000 };

	if ((w->nfqueries == w->nprefetch && worker_tcp_flushed(w)) ||
	    now_ms() >= w->stop_deadline) {
		event_base_loopexit(w->base, NULL);
		return;
	}
	evtimer_add(&w->ev_stop, &tv);
}

static void
mail_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct snapshot *snap, *old = NULL;
	bool flush_all, stop, copy_missing;
	uint8_t (*names)[WIRE_NAME_MAX];
	size_t nnames;
	uint64_t ticket;

	atomic_store_explicit(&w->mail_pending, false, memory_order_relaxed);
	pthread_mutex_lock(&w->mail_lock);
	snap = w->mail_snap;
	w->mail_snap = NULL;
	flush_all = w->mail_flush_all;
	w->mail_flush_all = false;
	names = w->mail_flush;
	nnames = w->nmail_flush;
	w->mail_flush = NULL;
	w->nmail_flush = 0;
	stop = w->mail_stop;
	copy_missing = w->mail_missing;
	w->mail_missing = false;
	ticket = w->mail_posted;
	pthread_mutex_unlock(&w->mail_lock);
	/* Tickets only go up: what is published as done never goes back. */
	assert(ticket >= atomic_load_explicit(&w->mail_done,
	    memory_order_relaxed));

	if (snap != NULL) {
		old = w->snap;
		w->snap = snap;
		w->snap_gen++;
		cookie_configure(w);
		worker_configure_upstreams(w);
		cache_set_prefetch(w->cache, snapshot_config(snap)->prefetch);
		snapshot_unref(old);
	}
	if (flush_all)
		cache_flush(w->cache, NULL);
	for (size_t i = 0; i < nnames; i++)
		cache_flush(w->cache, names[i]);
	free(names);
	if (copy_missing)
		missing_copy(w->missing_out, w->missing);
	if (stop)
		worker_begin_stop(w);
	atomic_store_explicit(&w->mail_done, ticket, memory_order_release);
}

static void
mail_wake(struct worker *w)
{
	/* Ends a turn of udp_read_cb sooner (udp_may_wait). */
	atomic_store_explicit(&w->mail_pending, true, memory_order_relaxed);
	event_active(&w->ev_mail, EV_READ, 0);
}

uint64_t
worker_post_snapshot(struct worker *w, struct snapshot *snap)
{
	struct snapshot *old;
	uint64_t t;

	snapshot_ref(snap);
	pthread_mutex_lock(&w->mail_lock);
	old = w->mail_snap;		/* a newer one replaces one not yet taken */
	w->mail_snap = snap;
	t = ++w->mail_posted;
	pthread_mutex_unlock(&w->mail_lock);
	snapshot_unref(old);
	mail_wake(w);
	return t;
}

bool
worker_mail_done(const struct worker *w, uint64_t ticket)
{
	return atomic_load_explicit(&w->mail_done, memory_order_acquire) >= ticket;
}

uint64_t
worker_post_flush(struct worker *w, const uint8_t *name)
{
	uint64_t t;

	pthread_mutex_lock(&w->mail_lock);
	if (name == NULL)
		w->mail_flush_all = true;
	else {
		void *nf = try_reallocarray(w->mail_flush, w->nmail_flush + 1,
		    sizeof(*w->mail_flush));

		if (nf == NULL)
			/* No room to say what: more is flushed, not less. */
			w->mail_flush_all = true;
		else {
			w->mail_flush = nf;
			memcpy(w->mail_flush[w->nmail_flush++], name,
			    (size_t)wire_name_len(name, WIRE_NAME_MAX));
		}
	}
	t = ++w->mail_posted;
	pthread_mutex_unlock(&w->mail_lock);
	mail_wake(w);
	return t;
}

uint64_t
worker_post_missing(struct worker *w)
{
	uint64_t t;

	/* The copy is made on the reader's first request: most daemons are
	 * never asked.  The worker sees it through the mail lock. */
	if (w->missing_out == NULL)
		w->missing_out = missing_new(MISSING_TOP);
	pthread_mutex_lock(&w->mail_lock);
	w->mail_missing = true;
	t = ++w->mail_posted;
	pthread_mutex_unlock(&w->mail_lock);
	mail_wake(w);
	return t;
}

const struct missing *
worker_missing(const struct worker *w)
{
	return w->missing_out;
}

void
worker_post_stop(struct worker *w)
{
	pthread_mutex_lock(&w->mail_lock);
	w->mail_stop = true;
	pthread_mutex_unlock(&w->mail_lock);
	mail_wake(w);
}

/* ---- life cycle ---- */

struct worker *
worker_new(int id, struct snapshot *snap, struct server_conns *conns,
    struct diag *d)
{
	const struct config *cfg = snapshot_config(snap);
	struct worker *w = xcalloc(1, sizeof(*w));

	w->id = id;
	w->tcp_counts = conns;
	w->snap = snap;
	w->snap_gen = 1;
	snapshot_ref(snap);
	/* Without SipHash, no cookies: queries are answered all the same. */
	if ((w->cmac = cookie_mac_new()) == NULL)
		log_warnx("worker %d: no SipHash in OpenSSL: no DNS cookies", id);
	cookie_configure(w);
	w->base = event_base_new();
	if (w->base == NULL)
		fatalx("event_base_new failed");
	pthread_mutex_init(&w->mail_lock, NULL);
	atomic_init(&w->mail_pending, false);
	atomic_init(&w->mail_done, 0);
	event_assign(&w->ev_mail, w->base, -1, 0, mail_cb, w);
	for (int i = 0; i < BATCH; i++) {
		w->riov[i].iov_base = w->rx[i];
		w->riov[i].iov_len = sizeof(w->rx[i]);
		w->rmsg[i].msg_hdr.msg_name = &w->rsrc[i];
		w->rmsg[i].msg_hdr.msg_namelen = sizeof(w->rsrc[i]);
		w->rmsg[i].msg_hdr.msg_iov = &w->riov[i];
		w->rmsg[i].msg_hdr.msg_iovlen = 1;
	}
	w->up = upstream_pool_new(w->base);
	upstream_pool_on_replies(w->up, worker_upstream_replies, w);
	worker_configure_upstreams(w);
	w->cache = cache_new(cfg->cache_size, cfg->cache_min_ttl, cfg->cache_max_ttl);
	cache_set_prefetch(w->cache, cfg->prefetch);
	w->rrl = rrl_new(cfg->rrl_rate, cfg->rrl_slip, RRL_TABLE);
	w->scratch = xcalloc(1, sizeof(*w->scratch));
	w->missing = missing_new(MISSING_TOP);
	w->ls = xcalloc(cfg->nlisten ? cfg->nlisten : 1, sizeof(*w->ls));
	for (size_t i = 0; i < cfg->nlisten; i++) {
		struct listener *l = &w->ls[w->nls++];
		int tfd;

		l->w = w;
		l->addr = cfg->listen[i];
		l->udp_fd = open_socket(&l->addr, SOCK_DGRAM, d);
		tfd = open_socket(&l->addr, SOCK_STREAM, d);
		if (l->udp_fd != -1) {
			event_assign(&l->udp_ev, w->base, l->udp_fd, EV_READ | EV_PERSIST,
			    udp_read_cb, l);
			event_add(&l->udp_ev, NULL);
		}
		worker_tcp_listen(l, tfd, d);
	}
	if (d->nerrors > 0) {
		worker_join_free(w);
		return NULL;
	}
	return w;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

void
worker_set_xfr(struct worker *w, struct xfr_journal *j, struct xfr_secondary *sec)
{
	w->journal = j;
	w->sec = sec;
}

int
worker_start(struct worker *w)
{
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return -1;
	w->started = true;
	return 0;
}

void
worker_share_caches(struct worker *const *ws, int n)
{
	struct cache **cs = xcalloc(n > 0 ? (size_t)n : 1, sizeof(*cs));

	for (int i = 0; i < n; i++)
		cs[i] = ws[i]->cache;
	cache_link(cs, (size_t)n);
	free(cs);
}

void
worker_join(struct worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
}

void
worker_join_free(struct worker *w)
{
	if (w == NULL)
		return;
	worker_join(w);
	worker_forward_free_all(w);
	worker_tcp_free_all(w);
	for (size_t i = 0; i < w->nls; i++) {
		struct listener *l = &w->ls[i];
		if (l->udp_fd != -1) {
			event_del(&l->udp_ev);
			close(l->udp_fd);
		}
		if (l->tcp != NULL)
			evconnlistener_free(l->tcp);
		evtimer_del(&l->tcp_resume);
	}
	free(w->ls);
	if (w->stopping)
		evtimer_del(&w->ev_stop);
	event_del(&w->ev_mail);
	upstream_pool_free(w->up);
	cache_free(w->cache);
	rrl_free(w->rrl);
	event_base_free(w->base);
	snapshot_unref(w->mail_snap);
	free(w->mail_flush);
	snapshot_unref(w->snap);
	pthread_mutex_destroy(&w->mail_lock);
	free(w->scratch);
	missing_free(w->missing);
	missing_free(w->missing_out);
	cookie_mac_free(w->cmac);
	free(w);
}

void
worker_metrics(const struct worker *w, struct metrics *out)
{
	const struct upstream_stats *u = upstream_pool_stats(w->up);

	memset(out, 0, sizeof(*out));
	metrics_add(out, &w->m);
	out->up_sent = u->sent;
	out->up_answered = u->answered;
	out->up_timeouts = u->timeouts;
	out->up_refused = u->refused;
	out->up_spoofed = u->spoofed;
	out->up_tcp_retries = u->tcp_retries;
	out->up_failed = u->failed;
	out->up_overflow = u->overflow;
	out->up_coalesced = w->coalesced;
	out->up_late = u->late;
	out->up_tcp_failures = u->tcp_failures;
}

size_t
worker_upstreams(const struct worker *w, struct upstream_info *out, size_t max)
{
	return upstream_pool_info(w->up, out, max);
}

void
worker_cache_info(const struct worker *w, struct cache_info *out)
{
	cache_get_info(w->cache, out);
}
