/*
 * xfr_testserver: a one-thread stand-in for the daemon that runs the zone
 * transfer code exactly where the workers and the main thread will, so that
 * tests/system/test_xfr.py and the BIND interop can run before the daemon
 * integrates it.  It is also the reference for that integration: every
 * xfr_* call below is one the lead adds to worker.c or server.c.
 *
 *   xfr_testserver serve -f -c CONF
 *
 * Answers local data (answer_local), AXFR/IXFR (xfr_serve), NOTIFY
 * (xfr_secondary_notify), TSIG-signed queries (xfr_answer_signed), SERVFAIL
 * for unavailable secondary zones; never forwards (REFUSED).  SIGHUP reloads
 * (journal, NOTIFY, secondary reconfiguration); the secondary's changed()
 * reloads too; SIGTERM/SIGINT stop.  Logs "serving" when ready, like pldns.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "answer.h"
#include "log.h"
#include "records.h"
#include "snapshot.h"
#include "util.h"
#include "xfr.h"

struct ts;

struct conn {
	struct ts *ts;
	struct bufferevent *bev;
	struct pl_addr peer;
	struct conn *next;
};

struct ts {
	const char *conf;
	struct event_base *base;
	struct snapshot *snap;
	struct xfr_journal *journal;
	struct xfr_notifier *notifier;
	struct xfr_secondary *sec;
	int udp[8];
	struct event *uev[8];
	struct evconnlistener *tcp[8];
	size_t nls;
	struct event *sig[3];
	struct conn *conns;
	uint8_t out[WIRE_MAX_MSG];
};

static struct snapshot *
load(const char *path, const struct snapshot *prev)
{
	struct diag d;
	struct config *cfg;
	struct recset rs;
	struct snapshot *s = NULL;

	diag_init(&d);
	if ((cfg = config_load(path, &d)) != NULL) {
		recset_init(&rs);
		if (records_load(cfg, &rs, &d) == 0)
			s = snapshot_new(cfg, &rs, prev, &d);
		else {
			recset_clear(&rs);
			config_free(cfg);
		}
	}
	for (size_t i = 0; i < d.n; i++)
		log_warnx("%s", d.msgs[i].text);
	diag_clear(&d);
	return s;
}

/* What server_reload() adds after a new snapshot is in service. */
static void
reload(struct ts *ts)
{
	struct snapshot *s = load(ts->conf, ts->snap), *old = ts->snap;

	if (s == NULL) {
		log_warnx("reload rejected");
		return;
	}
	ts->snap = s;					/* worker_post_snapshot() */
	xfr_journal_update(ts->journal, old, s);
	xfr_notify_changed(ts->notifier, old, s);
	xfr_secondary_reconfigure(ts->sec, snapshot_config(s));
	snapshot_unref(old);
	log_info("reloaded: %zu zones, %zu records", snapshot_nzones(s),
	    snapshot_nrecords(s));
}

static void
changed_cb(void *arg)
{
	reload(arg);
}

/* The query path: what handle_query() adds.  EMIT sends one reply. */
static void
handle(struct ts *ts, const uint8_t *pkt, size_t len, const struct pl_addr *peer,
    bool tcp, void (*emit)(void *, const uint8_t *, size_t), void *arg)
{
	const struct sockaddr *sa = (const struct sockaddr *)&peer->ss;
	struct wire_query q;
	struct answer_info info;
	size_t olen;

	memset(&info, 0, sizeof(info));
	switch (xfr_classify(pkt, len)) {
	case XFR_TRANSFER:
		xfr_serve(ts->snap, ts->journal, pkt, len, sa, tcp, emit, arg);
		return;
	case XFR_NOTIFY:
		xfr_secondary_notify(ts->sec, pkt, len, sa, ts->out, sizeof(ts->out),
		    &olen);
		if (olen > 0)
			emit(arg, ts->out, olen);
		return;
	case XFR_SIGNED:
		xfr_answer_signed(ts->snap, pkt, len, sa, tcp, ts->out, sizeof(ts->out),
		    &olen);
		if (olen > 0)
			emit(arg, ts->out, olen);
		return;
	case XFR_NONE:
		break;
	}
	switch (wire_query_parse(pkt, len, &q)) {
	case WIRE_DROP:
		return;
	case WIRE_OK:
		break;
	default:
		answer_error(&q, RCODE_FORMERR, -1, ts->out, sizeof(ts->out), &info);
		emit(arg, ts->out, info.len);
		return;
	}
	if (xfr_secondary_unavailable(ts->snap, q.lname)) {
		answer_error(&q, RCODE_SERVFAIL, -1, ts->out, sizeof(ts->out), &info);
	} else if (answer_local(ts->snap, &q, ts->out, sizeof(ts->out),
	    tcp ? WIRE_MAX_MSG : answer_udp_limit(&q), &info) != ANSWER_DONE)
		answer_error(&q, RCODE_REFUSED, -1, ts->out, sizeof(ts->out), &info);
	emit(arg, ts->out, info.len);
}

struct udp_dst {
	int fd;
	const struct pl_addr *peer;
};

static void
udp_emit(void *arg, const uint8_t *msg, size_t len)
{
	struct udp_dst *u = arg;

	sendto(u->fd, msg, len, 0, (const struct sockaddr *)&u->peer->ss, u->peer->len);
}

static void
udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ts *ts = arg;
	uint8_t buf[65536];
	struct pl_addr peer;
	struct udp_dst u;
	ssize_t n;

	for (;;) {
		peer.len = sizeof(peer.ss);
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer.ss,
		    &peer.len);
		if (n < 0)
			return;
		u.fd = fd;
		u.peer = &peer;
		handle(ts, buf, (size_t)n, &peer, false, udp_emit, &u);
	}
}

static void
tcp_emit(void *arg, const uint8_t *msg, size_t len)
{
	struct conn *c = arg;
	uint8_t lb[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add(out, lb, 2);
	evbuffer_add(out, msg, len);
}

static void
conn_free(struct conn *c)
{
	struct conn **cp;

	for (cp = &c->ts->conns; *cp != c; cp = &(*cp)->next)
		;
	*cp = c->next;
	bufferevent_free(c->bev);
	free(c);
}

static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t lb[2], *msg;
	size_t len;

	while (evbuffer_get_length(in) >= 2) {
		evbuffer_copyout(in, lb, 2);
		len = wire_get_u16(lb);
		if (evbuffer_get_length(in) < 2 + len)
			return;
		evbuffer_drain(in, 2);
		msg = xmalloc(len ? len : 1);
		evbuffer_remove(in, msg, len);
		handle(c->ts, msg, len, &c->peer, true, tcp_emit, c);
		free(msg);
	}
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	conn_free(arg);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct ts *ts = arg;
	struct conn *c = xcalloc(1, sizeof(*c));
	struct timeval idle = { 30, 0 };

	c->ts = ts;
	memcpy(&c->peer.ss, sa, (size_t)salen);
	c->peer.len = (socklen_t)salen;
	c->bev = bufferevent_socket_new(ts->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, tcp_read_cb, NULL, tcp_event_cb, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = ts->conns;
	ts->conns = c;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct ts *ts = arg;

	if (sig == SIGHUP) {
		reload(ts);
		return;
	}
	log_info("stopping");
	event_base_loopexit(ts->base, NULL);
}

static int
listen_all(struct ts *ts)
{
	const struct config *cfg = snapshot_config(ts->snap);
	char a[64];
	int on = 1;

	for (size_t i = 0; i < cfg->nlisten && i < 8; i++) {
		const struct pl_addr *l = &cfg->listen[i];
		int fam = l->ss.ss_family;
		int u = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int t = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (l->ss.ss_family == AF_INET6) {
			setsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
			setsockopt(t, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		}
		if (bind(u, (const struct sockaddr *)&l->ss, l->len) == -1 ||
		    bind(t, (const struct sockaddr *)&l->ss, l->len) == -1 ||
		    listen(t, 64) == -1) {
			log_warn("cannot listen on %s", addr_str(l, a, sizeof(a)));
			close(u);
			close(t);
			return -1;
		}
		ts->udp[ts->nls] = u;
		ts->uev[ts->nls] = event_new(ts->base, u, EV_READ | EV_PERSIST, udp_cb, ts);
		event_add(ts->uev[ts->nls], NULL);
		ts->tcp[ts->nls] = evconnlistener_new(ts->base, accept_cb, ts,
		    LEV_OPT_CLOSE_ON_FREE, -1, t);
		ts->nls++;
		log_info("listening on %s (udp, tcp)", addr_str(l, a, sizeof(a)));
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const int sigs[3] = { SIGHUP, SIGTERM, SIGINT };
	struct ts ts;

	if (argc != 5 || strcmp(argv[1], "serve") != 0 || strcmp(argv[2], "-f") != 0 ||
	    strcmp(argv[3], "-c") != 0) {
		fprintf(stderr, "usage: xfr_testserver serve -f -c CONF\n");
		return 64;
	}
	log_init(1, LOG_LVL_INFO);
	memset(&ts, 0, sizeof(ts));
	ts.conf = argv[4];
	if ((ts.snap = load(ts.conf, NULL)) == NULL)
		return 78;
	log_setlevel(snapshot_config(ts.snap)->log_level);
	/* As server_new(): workers (here none) activate main-thread events. */
	evthread_use_pthreads();
	ts.base = event_base_new();
	signal(SIGPIPE, SIG_IGN);
	if (listen_all(&ts) == -1)
		return 1;
	/* Start-up, in server_new() / main(), after the first snapshot. */
	ts.journal = xfr_journal_new(100000);
	ts.notifier = xfr_notifier_new(ts.base);
	ts.sec = xfr_secondary_new(ts.base, snapshot_config(ts.snap), changed_cb, &ts);
	xfr_notify_changed(ts.notifier, NULL, ts.snap);
	for (int i = 0; i < 3; i++) {
		ts.sig[i] = evsignal_new(ts.base, sigs[i], signal_cb, &ts);
		evsignal_add(ts.sig[i], NULL);
	}
	log_info("serving %zu zones, %zu records", snapshot_nzones(ts.snap),
	    snapshot_nrecords(ts.snap));
	event_base_dispatch(ts.base);

	/* Shutdown, in server_free(): after the workers are joined. */
	xfr_secondary_free(ts.sec);
	xfr_notifier_free(ts.notifier);
	xfr_journal_free(ts.journal);
	while (ts.conns != NULL)
		conn_free(ts.conns);
	for (size_t i = 0; i < ts.nls; i++) {
		event_free(ts.uev[i]);
		close(ts.udp[i]);
		evconnlistener_free(ts.tcp[i]);
	}
	for (int i = 0; i < 3; i++)
		event_free(ts.sig[i]);
	event_base_free(ts.base);
	snapshot_unref(ts.snap);
	log_info("stopped");
	return 0;
}
