/*
 * worker_tcp: a worker's TCP clients (RFC 7766): accepting them within the
 * server's connection limits, reading length-prefixed queries with bounds
 * on slow and idle clients, sending zone transfers as the client reads
 * them, and closing them once their answers are out.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "engine/acl.h"
#include "util/log.h"
#include "wire/tcpframe.h"
#include "util/util.h"
#include "runtime/worker_int.h"

static void
conn_free(struct tcp_conn *c)
{
	struct worker *w = c->w;

	xfr_transfer_free(c->xfr);
	if (c->partial_set)
		event_del(&c->partial);
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		server_conns_release(w->tcp_counts,
		    (const struct sockaddr *)&c->peer.ss);
	}
	LIST_REMOVE(c, entry);
	w->nconns--;
	free(c);
}

/* Closes the socket now; the struct lives on while answers are pending. */
static void
conn_close(struct tcp_conn *c)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		server_conns_release(c->w->tcp_counts,
		    (const struct sockaddr *)&c->peer.ss);
	}
	if (c->partial_set) {
		event_del(&c->partial);
		c->partial_set = false;
	}
	/* A transfer cut short (the client went away or stopped reading)
	 * lets go of its snapshot now, not when the last answer is in. */
	xfr_transfer_free(c->xfr);
	c->xfr = NULL;
	c->xfr_tail = false;
	c->closed = true;
	if (c->pending == 0)
		conn_free(c);
}

void
worker_tcp_send(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	if (c->closed || c->bev == NULL)
		return;
	/* Length and message in one buffer, written together (RFC 7766 8).
	 * No room: this answer is lost, so the client gets no more on this
	 * connection, which closes once what is queued is out. */
	if (tcpframe_write(bufferevent_get_output(c->bev), msg, len) == -1) {
		c->w->m.alloc_failed++;
		c->draining = true;
		bufferevent_disable(c->bev, EV_READ);
	}
}

/*
 * A client that starts a message must finish it within tcp_idle_ms: the
 * idle timeout alone restarts with every byte, which a slow drip
 * (slowloris) would use to hold a connection for ever.
 */
static void
tcp_partial_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;

	c->partial_set = false;
	c->w->m.tcp_idle_closed++;
	conn_close(c);
}

static void
tcp_partial_arm(struct tcp_conn *c, bool incomplete)
{
	const struct config *cfg = snapshot_config(c->w->snap);
	struct timeval tv = { cfg->tcp_idle_ms / 1000, (cfg->tcp_idle_ms % 1000) * 1000 };

	if (incomplete && !c->partial_set) {
		evtimer_assign(&c->partial, c->w->base, tcp_partial_cb, c);
		evtimer_add(&c->partial, &tv);
		c->partial_set = true;
	} else if (!incomplete && c->partial_set) {
		event_del(&c->partial);
		c->partial_set = false;
	}
}

static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	struct worker *w = c->w;
	const struct config *cfg = snapshot_config(w->snap);
	struct evbuffer *in = bufferevent_get_input(bev);

	w->now_us = worker_clock_us();
	while (!c->closed && !c->draining && c->xfr == NULL && !c->xfr_tail) {
		size_t len;

		switch (tcpframe_read(in, w->tcpin, WIRE_HDR_LEN,
		    sizeof(w->tcpin), &len)) {
		case TCPFRAME_MORE:
			tcp_partial_arm(c, evbuffer_get_length(in) > 0);
			return;
		case TCPFRAME_BAD:
			/* Nothing shorter than a header is a query. */
			conn_close(c);
			return;
		case TCPFRAME_MSG:
			break;
		}
		c->nqueries++;
		worker_handle_query(w, w->tcpin, len, -1, &c->peer, c);
		if (!c->closed && cfg->tcp_max_queries > 0 &&
		    c->nqueries >= cfg->tcp_max_queries) {
			/* Stop reading; close once the answers are out. */
			c->draining = true;
			bufferevent_disable(bev, EV_READ);
		}
	}
	if (!c->closed)
		tcp_partial_arm(c, false);
}

/*
 * A transfer goes out a few messages ahead of the socket: the next ones
 * are made when what is queued has drained to XFR_LOW octets, so a client
 * that reads slowly, or not at all, costs the worker neither time nor
 * memory (NSD's axfr.c works the same way).
 */
#define XFR_AHEAD	(4 * XFR_MSG_SIZE)	/* queued octets to stop at */
#define XFR_LOW		XFR_MSG_SIZE		/* queued octets to go on at */

/* xfr_start()'s EMIT: one message with its length, on the connection. */
static void
tcp_xfr_emit(void *arg, const uint8_t *msg, size_t len)
{
	worker_tcp_send(arg, msg, len);
}

/*
 * Queues C's transfer up to XFR_AHEAD.  After its last message C reads
 * again once the output is empty (tcp_write_cb), so that idle timeouts
 * and later queries see the connection as they would without a transfer.
 */
static void
tcp_xfr_fill(struct tcp_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	while (evbuffer_get_length(out) < XFR_AHEAD) {
		if (!xfr_next(c->xfr)) {
			xfr_transfer_free(c->xfr);
			c->xfr = NULL;
			c->xfr_tail = true;
			bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
			/* Nothing left to write (a transfer cut by a record
			 * too large): no write will call tcp_write_cb. */
			if (evbuffer_get_length(out) == 0)
				bufferevent_trigger(c->bev, EV_WRITE,
				    BEV_TRIG_DEFER_CALLBACKS);
			return;
		}
	}
}

void
worker_tcp_transfer(struct tcp_conn *c, const uint8_t *pkt, size_t len)
{
	struct worker *w = c->w;
	struct xfr_transfer *x;

	if (c->closed || c->bev == NULL)
		return;
	(void)xfr_start(w->snap, w->journal, pkt, len,
	    (const struct sockaddr *)&c->peer.ss, true, tcp_xfr_emit, c, &x);
	if (x == NULL)
		return;
	/* Not reading while it goes out: later queries wait, as they would
	 * behind a transfer written whole, and the read timeout, which a
	 * client busy reading never resets, cannot cut the transfer. */
	c->xfr = x;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, XFR_LOW, 0);
	tcp_xfr_fill(c);
}

static void
tcp_write_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;

	if (c->xfr != NULL) {
		tcp_xfr_fill(c);
		return;
	}
	if (c->xfr_tail) {
		/* The last of a transfer is out: on to the queries that
		 * waited behind it. */
		c->xfr_tail = false;
		if (!c->draining) {
			bufferevent_enable(bev, EV_READ);
			tcp_read_cb(bev, c);
			return;
		}
	}
	if (c->draining && c->pending == 0)
		conn_close(c);
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_conn *c = arg;

	if ((what & BEV_EVENT_TIMEOUT) && c->pending > 0 && c->xfr == NULL &&
	    !c->xfr_tail) {
		/* Idle means no query in either direction; answers are due. */
		bufferevent_enable(bev, EV_READ | EV_WRITE);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		c->w->m.tcp_idle_closed++;
	/* libevent's buffers could not grow to read or write. */
	else if ((what & BEV_EVENT_ERROR) && EVUTIL_SOCKET_ERROR() == ENOMEM)
		c->w->m.alloc_failed++;
	conn_close(c);
}

static void
tcp_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	if (l->tcp != NULL && !l->w->stopping)
		evconnlistener_enable(l->tcp);
}

static void
tcp_accept_error_cb(struct evconnlistener *el, void *arg)
{
	struct listener *l = arg;
	struct timeval tv = { 1, 0 };
	int err = EVUTIL_SOCKET_ERROR();

	log_ratelimited(LOG_RL_ACCEPT, "accept: %s", strerror(err));
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		/* Out of descriptors: pause accepting, or the listener fires
		 * in a loop; try again in a second. */
		evconnlistener_disable(el);
		evtimer_add(&l->tcp_resume, &tv);
	}
}

static void
tcp_accept_cb(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct listener *l = arg;
	struct worker *w = l->w;
	const struct config *cfg = snapshot_config(w->snap);
	struct timeval idle = { cfg->tcp_idle_ms / 1000, (cfg->tcp_idle_ms % 1000) * 1000 };
	struct tcp_conn *c;

	if (acl_check(cfg, sa) == ACL_DROP) {
		w->m.dropped_acl++;
		evutil_closesocket(fd);
		return;
	}
	switch (server_conns_admit(w->tcp_counts, sa, cfg->tcp_max_conns,
	    cfg->tcp_max_per_client)) {
	case SERVER_CONNS_OK:
		break;
	case SERVER_CONNS_LIMIT:
		w->m.tcp_rejected++;
		evutil_closesocket(fd);
		return;
	case SERVER_CONNS_NOMEM:
		w->m.alloc_failed++;
		evutil_closesocket(fd);
		return;
	}
	if ((c = try_calloc(1, sizeof(*c))) == NULL) {
		w->m.alloc_failed++;
		evutil_closesocket(fd);
		server_conns_release(w->tcp_counts, sa);
		return;
	}
	c->w = w;
	memcpy(&c->peer.ss, sa, (size_t)salen);
	c->peer.len = (socklen_t)salen;
	c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		w->m.alloc_failed++;
		evutil_closesocket(fd);
		server_conns_release(w->tcp_counts,
		    (const struct sockaddr *)&c->peer.ss);
		free(c);
		return;
	}
	LIST_INSERT_HEAD(&w->conns, c, entry);
	w->nconns++;
	w->m.tcp_accepted++;
	bufferevent_setcb(c->bev, tcp_read_cb, tcp_write_cb, tcp_event_cb, c);
	/* The same timeout also bounds a slow client's partial length or
	 * message (slowloris): no byte for tcp_idle_ms closes it. */
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

void
worker_tcp_listen(struct listener *l, int fd, struct diag *d)
{
	evtimer_assign(&l->tcp_resume, l->w->base, tcp_resume_cb, l);
	if (fd == -1)
		return;
	l->tcp = evconnlistener_new(l->w->base, tcp_accept_cb, l, LEV_OPT_CLOSE_ON_FREE,
	    128, fd);
	if (l->tcp == NULL) {
		close(fd);
		diag_add(d, DIAG_ERROR, NULL, 0, "listen failed");
	} else
		evconnlistener_set_error_cb(l->tcp, tcp_accept_error_cb);
}

void
worker_tcp_answered(struct tcp_conn *c)
{
	c->pending--;
	if (c->closed && c->pending == 0)
		conn_free(c);
	else if (c->draining && c->pending == 0 && c->bev != NULL)
		bufferevent_enable(c->bev, EV_WRITE);	/* closes after flush */
}

bool
worker_tcp_flushed(const struct worker *w)
{
	const struct tcp_conn *c;

	LIST_FOREACH(c, &w->conns, entry)
		if (c->bev != NULL && (c->xfr != NULL ||
		    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0))
			return false;
	return true;
}

void
worker_tcp_free_all(struct worker *w)
{
	while (!LIST_EMPTY(&w->conns)) {
		struct tcp_conn *c = LIST_FIRST(&w->conns);
		c->pending = 0;
		conn_free(c);
	}
}
