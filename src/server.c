/* server: listeners, TCP connections and the query path. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event_struct.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "answer.h"
#include "log.h"
#include "server.h"
#include "upstream.h"
#include "util.h"

struct server;

struct listener {
	struct server *srv;
	struct pl_addr addr;
	int udp_fd;
	struct event udp_ev;
	struct evconnlistener *tcp;
	struct event tcp_resume;	/* re-enables accept after EMFILE */
};

struct tcp_conn {
	struct server *srv;
	struct bufferevent *bev;
	struct tcp_conn *prev, *next;
	struct pl_addr peer;
	unsigned pending;		/* forwarded queries not answered yet */
	unsigned nqueries;
	bool closed;			/* socket gone; freed when pending is 0 */
};

/* A query waiting for an upstream answer. */
struct fquery {
	struct server *srv;
	struct fquery *prev, *next;
	struct snapshot *snap;		/* keeps the server list alive */
	struct wire_query q;
	bool fallback;
	size_t limit;
	int udp_fd;			/* UDP: the socket to answer from */
	struct pl_addr client;
	struct tcp_conn *conn;		/* TCP: the connection, else NULL */
	struct upstream_req *req;
	uint64_t start_ms;
};

struct server {
	struct event_base *base;
	struct snapshot *snap;
	struct upstream_pool *up;
	struct listener *ls;
	size_t nls;
	struct event *sig[4];
	struct event *stop_timer;
	uint64_t stop_deadline;
	struct server_stats stats;
	struct tcp_conn *conns;
	size_t nconns;
	struct fquery *fqueries;
	size_t nfqueries;
	bool stopping;
	server_reload_fn reload;
	char *config_path;
	struct answer_scratch *scratch;
	uint8_t in[WIRE_MAX_MSG];
	uint8_t out[WIRE_MAX_MSG];
};

static void
query_log(const struct server *srv, const struct pl_addr *client,
    const struct wire_query *q, const struct answer_info *info, bool tcp,
    uint64_t start_ms)
{
	char a[64], name[1024];

	if (!log_query_enabled())
		return;
	addr_str(client, a, sizeof(a));
	wire_name_to_str(q->qname, name, sizeof(name));
	log_query("query %s %s %s type %u rcode %d path %s %llu ms", tcp ? "tcp" : "udp",
	    a, name, q->qtype, info->rcode, answer_path_names[info->path],
	    (unsigned long long)(now_ms() - start_ms));
}

static void
count_answer(struct server *srv, const struct answer_info *info)
{
	srv->stats.by_path[info->path]++;
	if (info->rcode == RCODE_SERVFAIL)
		srv->stats.servfail++;
	if (info->truncated)
		srv->stats.truncated++;
}

/* ---- TCP connections ---- */

static void
conn_free(struct tcp_conn *c)
{
	struct server *srv = c->srv;

	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	free(c);
}

/* Closes the socket now; the struct lives on while answers are pending. */
static void
conn_close(struct tcp_conn *c)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	c->closed = true;
	if (c->pending == 0)
		conn_free(c);
}

static void
conn_send(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	uint8_t lenb[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	struct evbuffer *out;

	if (c->closed || c->bev == NULL)
		return;
	/* Length and message in one buffer, written together (RFC 7766 8). */
	out = bufferevent_get_output(c->bev);
	evbuffer_add(out, lenb, 2);
	evbuffer_add(out, msg, len);
}

static void
reply(struct server *srv, int udp_fd, const struct pl_addr *client,
    struct tcp_conn *conn, const uint8_t *msg, size_t len)
{
	if (conn != NULL) {
		conn_send(conn, msg, len);
		return;
	}
	if (sendto(udp_fd, msg, len, 0, (const struct sockaddr *)&client->ss,
	    client->len) < 0)
		log_ratelimited(LOG_RL_SEND, "sendto: %s", strerror(errno));
}

/* ---- forwarding ---- */

static void
fquery_free(struct fquery *fq)
{
	struct server *srv = fq->srv;

	if (fq->prev != NULL)
		fq->prev->next = fq->next;
	else
		srv->fqueries = fq->next;
	if (fq->next != NULL)
		fq->next->prev = fq->prev;
	srv->nfqueries--;
	if (fq->conn != NULL) {
		fq->conn->pending--;
		if (fq->conn->closed && fq->conn->pending == 0)
			conn_free(fq->conn);
	}
	snapshot_unref(fq->snap);
	free(fq);
}

static void
forward_done_cb(void *arg, enum upstream_status st, const uint8_t *resp, size_t len)
{
	struct fquery *fq = arg;
	struct server *srv = fq->srv;
	struct answer_info info;

	fq->req = NULL;
	if (fq->conn == NULL || !fq->conn->closed) {
		if (st == UPSTREAM_OK)
			/* Spliced against the data current now, not when the
			 * query arrived: a reload takes effect at once. */
			answer_upstream(srv->snap, &fq->q, resp, len, fq->fallback,
			    srv->scratch, srv->out, sizeof(srv->out), fq->limit, &info);
		else {
			memset(&info, 0, sizeof(info));
			answer_error(&fq->q, RCODE_SERVFAIL, 22 /* No Reachable Authority */,
			    srv->out, sizeof(srv->out), &info);
			info.path = PATH_ERROR;
		}
		count_answer(srv, &info);
		reply(srv, fq->udp_fd, &fq->client, fq->conn, srv->out, info.len);
		query_log(srv, &fq->client, &fq->q, &info, fq->conn != NULL, fq->start_ms);
	}
	fquery_free(fq);
}

static void
forward_start(struct server *srv, const struct wire_query *q, bool fallback,
    size_t limit, int udp_fd, const struct pl_addr *client, struct tcp_conn *conn,
    uint64_t start)
{
	const struct config *cfg = snapshot_config(srv->snap);
	const struct forward_conf *fw = snapshot_forward(srv->snap, q->lname);
	const struct pl_addr *servers = fw ? fw->servers : cfg->upstreams;
	size_t n = fw ? fw->nservers : cfg->nupstreams;
	struct answer_info info;
	struct fquery *fq;

	if (n == 0) {
		memset(&info, 0, sizeof(info));
		answer_error(q, RCODE_SERVFAIL, 22, srv->out, sizeof(srv->out), &info);
		info.path = PATH_ERROR;
		count_answer(srv, &info);
		reply(srv, udp_fd, client, conn, srv->out, info.len);
		return;
	}
	fq = xcalloc(1, sizeof(*fq));
	fq->srv = srv;
	fq->snap = srv->snap;
	snapshot_ref(fq->snap);
	fq->q = *q;
	fq->fallback = fallback;
	fq->limit = limit;
	fq->udp_fd = udp_fd;
	fq->client = *client;
	fq->conn = conn;
	fq->start_ms = start;
	if (conn != NULL)
		conn->pending++;
	fq->next = srv->fqueries;
	if (srv->fqueries != NULL)
		srv->fqueries->prev = fq;
	srv->fqueries = fq;
	srv->nfqueries++;
	fq->req = upstream_send(srv->up, servers, n, cfg->timeout_ms, cfg->deadline_ms,
	    q, forward_done_cb, fq);
}

/* ---- the query path ---- */

static void
handle_query(struct server *srv, const uint8_t *pkt, size_t len, int udp_fd,
    const struct pl_addr *client, struct tcp_conn *conn)
{
	struct wire_query q;
	struct answer_info info;
	enum wire_verdict v;
	uint64_t start = log_query_enabled() ? now_ms() : 0;
	size_t limit;

	if (conn != NULL)
		srv->stats.queries_tcp++;
	else
		srv->stats.queries_udp++;
	memset(&info, 0, sizeof(info));
	v = wire_query_parse(pkt, len, &q);
	switch (v) {
	case WIRE_DROP:
		srv->stats.dropped++;
		return;
	case WIRE_FORMERR:
		srv->stats.formerr++;
		answer_error(&q, RCODE_FORMERR, -1, srv->out, sizeof(srv->out), &info);
		reply(srv, udp_fd, client, conn, srv->out, info.len);
		return;
	case WIRE_NOTIMP:
		srv->stats.notimp++;
		answer_error(&q, RCODE_NOTIMP, -1, srv->out, sizeof(srv->out), &info);
		reply(srv, udp_fd, client, conn, srv->out, info.len);
		return;
	case WIRE_BADVERS:
		srv->stats.badvers++;
		answer_error(&q, RCODE_BADVERS, -1, srv->out, sizeof(srv->out), &info);
		reply(srv, udp_fd, client, conn, srv->out, info.len);
		return;
	case WIRE_OK:
		break;
	}
	if (q.qclass != CLASS_IN || q.qtype == TYPE_AXFR || q.qtype == TYPE_IXFR ||
	    q.qtype == TYPE_OPT) {
		srv->stats.refused++;
		answer_error(&q, RCODE_REFUSED, -1, srv->out, sizeof(srv->out), &info);
		info.path = PATH_REFUSED;
		count_answer(srv, &info);
		reply(srv, udp_fd, client, conn, srv->out, info.len);
		return;
	}
	limit = conn != NULL ? WIRE_MAX_MSG : answer_udp_limit(&q);
	if (answer_local(srv->snap, &q, srv->out, sizeof(srv->out), limit, &info) ==
	    ANSWER_DONE) {
		count_answer(srv, &info);
		reply(srv, udp_fd, client, conn, srv->out, info.len);
		query_log(srv, client, &q, &info, conn != NULL, start);
		return;
	}
	forward_start(srv, &q, info.fallback, limit, udp_fd, client, conn, start);
}

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	struct server *srv = l->srv;

	/* Bounded, so that one busy socket cannot starve the others. */
	for (int i = 0; i < 64; i++) {
		struct pl_addr client;
		ssize_t n;

		client.len = sizeof(client.ss);
		n = recvfrom(fd, srv->in, sizeof(srv->in), 0,
		    (struct sockaddr *)&client.ss, &client.len);
		if (n < 0)
			return;
		handle_query(srv, srv->in, (size_t)n, fd, &client, NULL);
	}
}

static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	struct server *srv = c->srv;
	const struct config *cfg = snapshot_config(srv->snap);
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!c->closed) {
		uint8_t lenb[2];
		size_t len;

		if (evbuffer_get_length(in) < 2)
			return;
		evbuffer_copyout(in, lenb, 2);
		len = wire_get_u16(lenb);
		if (len < WIRE_HDR_LEN) {
			/* Nothing shorter than a header is a query. */
			conn_close(c);
			return;
		}
		if (evbuffer_get_length(in) < 2 + len)
			return;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, srv->in, len);
		c->nqueries++;
		handle_query(srv, srv->in, len, -1, &c->peer, c);
		if (cfg->tcp_max_queries > 0 && c->nqueries >= cfg->tcp_max_queries) {
			/* Stop reading; close once the answers are out. */
			bufferevent_disable(bev, EV_READ);
			return;
		}
	}
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_conn *c = arg;

	if ((what & BEV_EVENT_TIMEOUT) && c->pending > 0) {
		/* Idle means no query in either direction; answers are due. */
		bufferevent_enable(bev, EV_READ);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		c->srv->stats.tcp_closed_idle++;
	conn_close(c);
}

static void
tcp_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	if (l->tcp != NULL && !l->srv->stopping)
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
	struct server *srv = l->srv;
	const struct config *cfg = snapshot_config(srv->snap);
	struct timeval idle = { cfg->tcp_idle_ms / 1000, (cfg->tcp_idle_ms % 1000) * 1000 };
	struct tcp_conn *c;
	unsigned same = 0;

	if (srv->nconns >= cfg->tcp_max_conns) {
		srv->stats.tcp_rejected++;
		evutil_closesocket(fd);
		return;
	}
	for (c = srv->conns; c != NULL; c = c->next)
		if (!c->closed && c->peer.ss.ss_family == sa->sa_family &&
		    ((sa->sa_family == AF_INET &&
		    ((struct sockaddr_in *)&c->peer.ss)->sin_addr.s_addr ==
		    ((struct sockaddr_in *)sa)->sin_addr.s_addr) ||
		    (sa->sa_family == AF_INET6 &&
		    memcmp(&((struct sockaddr_in6 *)&c->peer.ss)->sin6_addr,
		    &((struct sockaddr_in6 *)sa)->sin6_addr, 16) == 0)))
			same++;
	if (cfg->tcp_max_per_client > 0 && same >= cfg->tcp_max_per_client) {
		srv->stats.tcp_rejected++;
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	memcpy(&c->peer.ss, sa, (size_t)salen);
	c->peer.len = (socklen_t)salen;
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;
	srv->stats.tcp_accepted++;
	bufferevent_setcb(c->bev, tcp_read_cb, NULL, tcp_event_cb, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ---- sockets ---- */

static int
open_socket(const struct pl_addr *a, int type, struct diag *d)
{
	char buf[64];
	int fd, on = 1;

	fd = socket(a->ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		diag_add(d, DIAG_ERROR, NULL, 0, "socket for %s: %s",
		    addr_str(a, buf, sizeof(buf)), strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
		diag_add(d, DIAG_ERROR, NULL, 0, "cannot listen on %s (%s): %s",
		    addr_str(a, buf, sizeof(buf)), type == SOCK_DGRAM ? "udp" : "tcp",
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void stop_check_cb(evutil_socket_t fd, short what, void *arg);

static void
server_begin_stop(struct server *srv)
{
	struct timeval tv = { 0, 50000 };

	if (srv->stopping)
		return;
	srv->stopping = true;
	log_info("stopping: %zu queries in flight", srv->nfqueries);
	for (size_t i = 0; i < srv->nls; i++) {
		if (srv->ls[i].udp_fd != -1)
			event_del(&srv->ls[i].udp_ev);
		if (srv->ls[i].tcp != NULL)
			evconnlistener_disable(srv->ls[i].tcp);
	}
	srv->stop_deadline = now_ms() + 2000;
	srv->stop_timer = evtimer_new(srv->base, stop_check_cb, srv);
	evtimer_add(srv->stop_timer, &tv);
}

/* In-flight queries get up to two seconds to finish. */
static void
stop_check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct timeval tv = { 0, 50000 };
	bool flushed = true;

	for (struct tcp_conn *c = srv->conns; c != NULL; c = c->next)
		if (c->bev != NULL &&
		    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
			flushed = false;
	if ((srv->nfqueries == 0 && flushed) || now_ms() >= srv->stop_deadline) {
		event_base_loopexit(srv->base, NULL);
		return;
	}
	evtimer_add(srv->stop_timer, &tv);
}

static void
log_stats(struct server *srv)
{
	const struct server_stats *s = &srv->stats;
	const struct upstream_stats *u = upstream_pool_stats(srv->up);

	log_info("stats: queries udp %lu tcp %lu; local %lu synthesized %lu spliced %lu "
	    "upstream %lu refused %lu error %lu; servfail %lu truncated %lu formerr %lu "
	    "dropped %lu; upstream sent %lu answered %lu timeouts %lu refused %lu "
	    "spoofed %lu tcp %lu; reloads %lu failed %lu",
	    s->queries_udp, s->queries_tcp, s->by_path[PATH_LOCAL], s->by_path[PATH_SYNTH],
	    s->by_path[PATH_SPLICED], s->by_path[PATH_UPSTREAM], s->by_path[PATH_REFUSED],
	    s->by_path[PATH_ERROR], s->servfail, s->truncated, s->formerr, s->dropped,
	    u->sent, u->answered, u->timeouts, u->refused, u->spoofed, u->tcp_retries,
	    s->reloads, s->reload_failures);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		server_begin_stop(srv);
		break;
	case SIGHUP:
		if (srv->reload != NULL) {
			struct snapshot *s = srv->reload(srv->config_path, srv->snap);
			if (s != NULL) {
				server_swap(srv, s);
				srv->stats.reloads++;
			} else
				srv->stats.reload_failures++;
		}
		break;
	case SIGUSR1:
		log_stats(srv);
		break;
	}
}

struct server *
server_new(struct snapshot *snap, struct diag *d)
{
	const struct config *cfg = snapshot_config(snap);
	struct server *srv = xcalloc(1, sizeof(*srv));
	static const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };

	srv->snap = snap;
	srv->base = event_base_new();
	if (srv->base == NULL)
		fatalx("event_base_new failed");
	srv->up = upstream_pool_new(srv->base);
	srv->scratch = xcalloc(1, sizeof(*srv->scratch));
	srv->ls = xcalloc(cfg->nlisten ? cfg->nlisten : 1, sizeof(*srv->ls));
	for (size_t i = 0; i < cfg->nlisten; i++) {
		struct listener *l = &srv->ls[srv->nls++];
		int tfd;

		l->srv = srv;
		l->addr = cfg->listen[i];
		l->udp_fd = open_socket(&l->addr, SOCK_DGRAM, d);
		tfd = open_socket(&l->addr, SOCK_STREAM, d);
		if (l->udp_fd != -1) {
			event_assign(&l->udp_ev, srv->base, l->udp_fd, EV_READ | EV_PERSIST,
			    udp_read_cb, l);
			event_add(&l->udp_ev, NULL);
		}
		if (tfd != -1) {
			l->tcp = evconnlistener_new(srv->base, tcp_accept_cb, l,
			    LEV_OPT_CLOSE_ON_FREE, 128, tfd);
			if (l->tcp == NULL) {
				close(tfd);
				diag_add(d, DIAG_ERROR, NULL, 0, "listen failed");
			} else
				evconnlistener_set_error_cb(l->tcp, tcp_accept_error_cb);
		}
		evtimer_assign(&l->tcp_resume, srv->base, tcp_resume_cb, l);
	}
	for (int i = 0; i < 4; i++) {
		srv->sig[i] = evsignal_new(srv->base, sigs[i], signal_cb, srv);
		evsignal_add(srv->sig[i], NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	if (d->nerrors > 0) {
		server_free(srv);
		return NULL;
	}
	return srv;
}

int
server_run(struct server *srv)
{
	char buf[64];
	const struct config *cfg = snapshot_config(srv->snap);

	for (size_t i = 0; i < srv->nls; i++)
		log_info("listening on %s (udp, tcp)", addr_str(&srv->ls[i].addr, buf, sizeof(buf)));
	log_info("serving %zu zones, %zu records; %zu upstreams, %zu forward rules",
	    snapshot_nzones(srv->snap), snapshot_nrecords(srv->snap), cfg->nupstreams,
	    cfg->nforwards);
	event_base_dispatch(srv->base);
	log_info("stopped");
	return 0;
}

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	while (srv->fqueries != NULL) {
		struct fquery *fq = srv->fqueries;
		upstream_cancel(fq->req);
		fquery_free(fq);
	}
	while (srv->conns != NULL) {
		struct tcp_conn *c = srv->conns;
		if (c->bev != NULL) {
			bufferevent_free(c->bev);
			c->bev = NULL;
		}
		c->pending = 0;
		conn_free(c);
	}
	for (size_t i = 0; i < srv->nls; i++) {
		struct listener *l = &srv->ls[i];
		if (l->udp_fd != -1) {
			event_del(&l->udp_ev);
			close(l->udp_fd);
		}
		if (l->tcp != NULL)
			evconnlistener_free(l->tcp);
		evtimer_del(&l->tcp_resume);
	}
	free(srv->ls);
	for (int i = 0; i < 4; i++)
		if (srv->sig[i] != NULL)
			event_free(srv->sig[i]);
	if (srv->stop_timer != NULL)
		event_free(srv->stop_timer);
	upstream_pool_free(srv->up);
	event_base_free(srv->base);
	snapshot_unref(srv->snap);
	free(srv->config_path);
	free(srv->scratch);
	free(srv);
}

void
server_swap(struct server *srv, struct snapshot *snap)
{
	struct snapshot *old = srv->snap;

	srv->snap = snap;
	log_setlevel(snapshot_config(snap)->log_level);
	log_query_enable(snapshot_config(snap)->query_log);
	snapshot_unref(old);
}

const struct server_stats *
server_stats(const struct server *srv)
{
	return &srv->stats;
}

void
server_set_reload(struct server *srv, server_reload_fn fn, const char *config_path)
{
	srv->reload = fn;
	free(srv->config_path);
	srv->config_path = xstrdup(config_path);
}
