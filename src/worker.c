/* worker: a thread's event loop, its sockets and the query path. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/listener.h>

#include "acl.h"
#include "answer.h"
#include "log.h"
#include "rrl.h"
#include "util.h"
#include "worker.h"
#include "xfr.h"

#define BATCH		32	/* datagrams per recvmmsg */
#define UDP_ROUNDS	64	/* batches per turn at most */
#define UDP_TURN_US	1000	/* and no new batch after this long */
#define UDP_STREAM	2	/* a batch this long: more is on its way */
#define RRL_TABLE	65536

struct worker;

struct listener {
	struct worker *w;
	struct pl_addr addr;
	int udp_fd;
	struct event udp_ev;
	struct evconnlistener *tcp;
	struct event tcp_resume;	/* re-enables accept after EMFILE */
};

struct tcp_conn {
	struct worker *w;
	struct bufferevent *bev;
	struct tcp_conn *prev, *next;
	struct pl_addr peer;
	unsigned pending;		/* forwarded queries not answered yet */
	unsigned nqueries;
	bool closed;			/* socket gone; freed when pending is 0 */
	bool draining;			/* query limit reached: close when answered */
	struct event partial;		/* a started message must complete in time */
	bool partial_set;
};

/*
 * A query waiting for an upstream answer.  A prefetch (a refresh of a cache
 * entry that no client waits for) is one too, with no client of its own:
 * it leads like any other, so that a client asking the same question while
 * it is on its way joins it rather than sending a second query.
 */
struct fquery {
	struct worker *w;
	struct fquery *prev, *next;
	struct snapshot *snap;		/* keeps the server list alive */
	struct wire_query q;		/* the client's question */
	struct wire_query uq;		/* the question asked upstream */
	bool fallback;
	bool prefetch;			/* no client: only refreshes the cache */
	size_t limit;
	int udp_fd;			/* UDP: the socket to answer from */
	struct pl_addr client;
	struct tcp_conn *conn;		/* TCP: the connection, else NULL */
	struct upstream_req *req;	/* the leader's; NULL for followers */
	uint64_t start_us;
	/* Coalescing: identical questions in flight share one upstream query.
	 * The leader owns the request; followers wait on its list. */
	struct fquery *hnext;		/* leader hash chain */
	struct fquery *followers;	/* leader: the waiting queries */
	struct fquery *fnext;		/* follower: next in the leader's list */
	struct fquery *leader;		/* follower: its leader */
	const struct pl_addr *servers;
	uint32_t hash;
};

#define COALESCE_BUCKETS 4096

struct worker {
	int id;
	pthread_t thread;
	bool started;
	struct event_base *base;
	struct snapshot *snap;
	struct upstream_pool *up;
	struct cache *cache;
	struct rrl *rrl;
	struct listener *ls;
	size_t nls;
	struct metrics m;

	/* Mailbox: other threads leave work here and activate ev_mail. */
	pthread_mutex_t mail_lock;
	struct event ev_mail;
	atomic_bool mail_pending;	/* set before ev_mail is activated */
	/* The snapshot this worker answers from, published for the main
	 * thread (worker_serves); only compared, never dereferenced. */
	_Atomic(const struct snapshot *) serving;
	struct snapshot *mail_snap;
	bool mail_flush_all, mail_stop;
	uint8_t (*mail_flush)[WIRE_NAME_MAX];
	size_t nmail_flush;

	struct event ev_stop;
	uint64_t stop_deadline;
	bool stopping;

	struct tcp_conn *conns;
	size_t nconns;
	struct fquery *fqueries;
	size_t nfqueries;
	size_t nprefetch;		/* of nfqueries, prefetches */
	struct fquery *inflight[COALESCE_BUCKETS];
	uint64_t coalesced;
	uint64_t snap_gen;		/* counts snapshots taken: replies kept in
					 * the cache are for one of them */

	/* The clock, read once per batch of datagrams (or per event) rather
	 * than per query: a clock read costs as much as a quarter of a local
	 * answer on some virtual machines. */
	uint64_t now_us;

	struct answer_scratch *scratch;
	struct xfr_journal *journal;	/* zone transfers (not owned) */
	struct xfr_secondary *sec;
	uint8_t out[WIRE_MAX_MSG];
	uint8_t cbuf[WIRE_MAX_MSG];	/* cache copies */
	uint8_t tcpin[WIRE_MAX_MSG];
	/* UDP batches. */
	uint8_t rx[BATCH][4096];
	struct mmsghdr rmsg[BATCH];
	int rused;			/* rmsg[0 .. rused) were filled last */
	struct wire_query rq[BATCH];	/* the batch's queries, parsed */
	enum wire_verdict rv[BATCH];
	struct answer_route rr[BATCH];	/* and routed */
	struct iovec riov[BATCH];
	struct sockaddr_storage rsrc[BATCH];
	uint8_t tx[BATCH][1232 + 64];
	struct mmsghdr tmsg[BATCH];
	struct iovec tiov[BATCH];
	struct sockaddr_storage taddr[BATCH];	/* the clients, copied: a
						 * forwarded query's is freed
						 * before the flush */
	int tfd[BATCH];				/* the socket of each reply */
	int ntx;
	bool up_batch;			/* answering a batch of upstream replies */
};

/*
 * TCP connection limits are for the whole server, not per worker, so the
 * count of connections (in total and per client address) is shared.  Only
 * accept and close touch it, never a query.
 */
struct conn_count {
	struct sockaddr_storage host;	/* port ignored */
	unsigned n;
};

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn_count *conn_counts;
static size_t nconn_counts, capconn_counts;
static unsigned conn_total;

static bool same_host(const struct sockaddr_storage *a, const struct sockaddr *b);

/* Takes a connection slot for SA; false when a limit says no. */
static bool
conn_admit(const struct sockaddr *sa, unsigned max_total, unsigned max_per_client)
{
	size_t i;
	bool ok = false;

	pthread_mutex_lock(&conn_lock);
	for (i = 0; i < nconn_counts; i++)
		if (same_host(&conn_counts[i].host, sa))
			break;
	if (conn_total >= max_total)
		goto out;
	if (i < nconn_counts && max_per_client > 0 && conn_counts[i].n >= max_per_client)
		goto out;
	if (i == nconn_counts) {
		if (nconn_counts == capconn_counts) {
			capconn_counts = capconn_counts ? capconn_counts * 2 : 64;
			conn_counts = xreallocarray(conn_counts, capconn_counts,
			    sizeof(*conn_counts));
		}
		memset(&conn_counts[i], 0, sizeof(conn_counts[i]));
		memcpy(&conn_counts[i].host, sa, sa->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		nconn_counts++;
	}
	conn_counts[i].n++;
	conn_total++;
	ok = true;
out:
	pthread_mutex_unlock(&conn_lock);
	return ok;
}

static void
conn_release(const struct sockaddr_storage *ss)
{
	pthread_mutex_lock(&conn_lock);
	for (size_t i = 0; i < nconn_counts; i++)
		if (same_host(&conn_counts[i].host, (const struct sockaddr *)ss)) {
			if (--conn_counts[i].n == 0)
				conn_counts[i] = conn_counts[--nconn_counts];
			break;
		}
	conn_total--;
	if (nconn_counts == 0) {
		free(conn_counts);
		conn_counts = NULL;
		capconn_counts = 0;
	}
	pthread_mutex_unlock(&conn_lock);
}

static uint64_t
clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
query_log(const struct pl_addr *client, const struct wire_query *q,
    const struct answer_info *info, bool tcp, uint64_t us)
{
	char a[64], name[1024];

	addr_str(client, a, sizeof(a));
	wire_name_to_str(q->qname, name, sizeof(name));
	log_query("query %s %s %s type %u rcode %d path %s %.3f ms", tcp ? "tcp" : "udp",
	    a, name, q->qtype, info->rcode, answer_path_names[info->path], us / 1000.0);
}

static void
account(struct worker *w, const struct pl_addr *client, const struct wire_query *q,
    const struct answer_info *info, bool tcp, uint64_t start_us)
{
	/* Answers made within one batch count the batch's time: for local
	 * answers that is well under the smallest latency bucket. */
	uint64_t now = w->now_us;
	uint64_t lat = now > start_us ? now - start_us : 0;

	metrics_answer(&w->m, tcp ? MT_TCP : MT_UDP, q->qtype, info->rcode, info->path, lat);
	if (info->truncated)
		w->m.truncated++;
	if (log_query_enabled())
		query_log(client, q, info, tcp, lat);
}

/* ---- TCP connections ---- */

static void
conn_free(struct tcp_conn *c)
{
	struct worker *w = c->w;

	if (c->partial_set)
		event_del(&c->partial);
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		conn_release(&c->peer.ss);
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
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
		conn_release(&c->peer.ss);
	}
	if (c->partial_set) {
		event_del(&c->partial);
		c->partial_set = false;
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

static void udp_flush(struct worker *w);

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
			udp_flush(w);
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

static void
reply(struct worker *w, int udp_fd, const struct pl_addr *client, struct tcp_conn *conn,
    const uint8_t *msg, size_t len, bool batched)
{
	if (conn != NULL)
		conn_send(conn, msg, len);
	else
		udp_reply(w, udp_fd, client, msg, len, batched);
}

/* ---- forwarding ---- */

static uint32_t
fq_hash(const struct wire_query *q, const struct pl_addr *servers)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < q->qname_len; i++)
		h = (h ^ q->lname[i]) * 16777619u;
	h = (h ^ q->qtype) * 16777619u;
	h = (h ^ (uint32_t)((q->edns.flags & EDNS_DO) ? 1 : 0)) * 16777619u;
	h = (h ^ (uint32_t)((q->hdr.flags & WIRE_CD) ? 1 : 0)) * 16777619u;
	return h ^ (uint32_t)(uintptr_t)servers;
}

/* Same question, same DO and CD, same servers: one upstream answer serves both. */
static bool
fq_same(const struct fquery *a, const struct wire_query *q, const struct pl_addr *servers)
{
	return a->servers == servers && a->uq.qtype == q->qtype &&
	    a->uq.qclass == q->qclass && a->uq.qname_len == q->qname_len &&
	    ((a->uq.edns.flags ^ q->edns.flags) & EDNS_DO) == 0 &&
	    ((a->uq.hdr.flags ^ q->hdr.flags) & WIRE_CD) == 0 &&
	    memcmp(a->uq.lname, q->lname, (size_t)q->qname_len) == 0;
}

static void
fq_unhash(struct worker *w, struct fquery *fq)
{
	struct fquery **pp = &w->inflight[fq->hash % COALESCE_BUCKETS];

	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == fq) {
			*pp = fq->hnext;
			return;
		}
}

static void
fquery_free(struct fquery *fq)
{
	struct worker *w = fq->w;

	if (fq->prev != NULL)
		fq->prev->next = fq->next;
	else
		w->fqueries = fq->next;
	if (fq->next != NULL)
		fq->next->prev = fq->prev;
	w->nfqueries--;
	if (fq->prefetch)
		w->nprefetch--;
	if (fq->conn != NULL) {
		struct tcp_conn *c = fq->conn;
		c->pending--;
		if (c->closed && c->pending == 0)
			conn_free(c);
		else if (c->draining && c->pending == 0 && c->bev != NULL)
			bufferevent_enable(c->bev, EV_WRITE);	/* closes after flush */
	}
	snapshot_unref(fq->snap);
	free(fq);
}

/* Answers Q from the stale cache entry for UQ when allowed, else SERVFAIL. */
static void
forward_fail(struct worker *w, const struct wire_query *q, const struct wire_query *uq,
    size_t limit, struct answer_info *info)
{
	const struct config *cfg = snapshot_config(w->snap);
	size_t len;

	if (cfg->serve_stale && cache_lookup(w->cache, uq, w->now_us / 1000, true, w->cbuf,
	    sizeof(w->cbuf), &len, NULL) == CACHE_STALE) {
		/* RFC 8767: an expired answer beats no answer.  Spliced now,
		 * like every answer. */
		answer_upstream(w->snap, q, w->cbuf, len, false, w->scratch, w->out,
		    sizeof(w->out), limit, info);
		info->path = PATH_CACHE;
		w->m.cache_stale_served++;
		/* Extended DNS Error 3, Stale Answer (RFC 8914). */
		if (q->edns.present)
			info->len = wire_add_ede(w->out, info->len, sizeof(w->out), 3);
		return;
	}
	answer_info_clear(info);
	answer_error(q, RCODE_SERVFAIL, 22 /* No Reachable Authority */, w->out,
	    sizeof(w->out), info);
	info->path = PATH_ERROR;
}

/* Replies to one waiting query with the upstream's outcome. */
static void
forward_reply(struct worker *w, struct fquery *fq, enum upstream_status st,
    const uint8_t *resp, size_t len)
{
	struct answer_info info;

	if (fq->conn != NULL && fq->conn->closed)
		return;
	if (st == UPSTREAM_OK)
		/* Spliced against the data current now, not when the query
		 * arrived: a reload takes effect at once. */
		answer_upstream(w->snap, &fq->q, resp, len, fq->fallback, w->scratch,
		    w->out, sizeof(w->out), fq->limit, &info);
	else
		forward_fail(w, &fq->q, &fq->uq, fq->limit, &info);
	reply(w, fq->udp_fd, &fq->client, fq->conn, w->out, info.len, w->up_batch);
	account(w, &fq->client, &fq->q, &info, fq->conn != NULL, fq->start_us);
}

/*
 * The upstream pool hands over a batch of replies: their answers are
 * queued meanwhile and go out together.
 */
static void
upstream_replies(void *arg, bool done)
{
	struct worker *w = arg;

	w->up_batch = !done;
	if (done)
		udp_flush(w);
}

static void
forward_done_cb(void *arg, enum upstream_status st, const uint8_t *resp, size_t len)
{
	struct fquery *fq = arg, *f, *next;
	struct worker *w = fq->w;

	w->now_us = clock_us();
	fq->req = NULL;
	fq_unhash(w, fq);
	/* A failed prefetch stores nothing: the entry it was to refresh stays,
	 * to be served until it expires and then stale. */
	if (st == UPSTREAM_OK)
		cache_store(w->cache, &fq->uq, resp, len, w->now_us / 1000);
	if (!fq->prefetch)
		forward_reply(w, fq, st, resp, len);
	for (f = fq->followers; f != NULL; f = next) {
		next = f->fnext;
		forward_reply(w, f, st, resp, len);
		fquery_free(f);
	}
	fquery_free(fq);
}

/* The servers for UQ's name: a [forward] rule's, else the default ones. */
static const struct pl_addr *
forward_servers(struct worker *w, const struct wire_query *uq, size_t *n)
{
	const struct forward_conf *fw = snapshot_forward(w->snap, uq->lname);

	if (fw != NULL) {
		*n = fw->nservers;
		return fw->servers;
	}
	return snapshot_upstreams(w->snap, n);
}

/* The query in flight for UQ to SERVERS (with hash H), or NULL. */
static struct fquery *
fq_find(struct worker *w, const struct wire_query *uq,
    const struct pl_addr *servers, uint32_t h)
{
	for (struct fquery *l = w->inflight[h % COALESCE_BUCKETS]; l != NULL;
	    l = l->hnext)
		if (l->hash == h && fq_same(l, uq, servers))
			return l;
	return NULL;
}

static void
fq_link(struct worker *w, struct fquery *fq)
{
	fq->snap = w->snap;
	snapshot_ref(fq->snap);
	fq->next = w->fqueries;
	if (w->fqueries != NULL)
		w->fqueries->prev = fq;
	w->fqueries = fq;
	w->nfqueries++;
}

/*
 * Refreshes the cache entry for UQ in the background.  Nothing is sent when
 * the same question is already on its way (its answer refreshes the entry),
 * when every server is at its in-flight cap (clients come first; the entry
 * simply expires) or when the worker is stopping.
 */
static void
prefetch(struct worker *w, const struct wire_query *uq)
{
	const struct config *cfg = snapshot_config(w->snap);
	const struct pl_addr *servers;
	struct fquery *fq;
	size_t n;
	uint32_t h;

	if (w->stopping)
		return;
	servers = forward_servers(w, uq, &n);
	h = fq_hash(uq, servers);
	if (fq_find(w, uq, servers, h) != NULL)
		return;
	/* Optional work: out of memory, the entry just expires. */
	if ((fq = calloc(1, sizeof(*fq))) == NULL)
		return;
	fq->w = w;
	fq->q = *uq;
	fq->uq = *uq;
	fq->prefetch = true;
	fq->udp_fd = -1;
	fq->servers = servers;
	fq->hash = h;
	fq->req = upstream_send(w->up, servers, n, cfg->timeout_ms, cfg->deadline_ms,
	    uq, forward_done_cb, fq);
	if (fq->req == NULL) {
		free(fq);
		return;
	}
	fq->hnext = w->inflight[h % COALESCE_BUCKETS];
	w->inflight[h % COALESCE_BUCKETS] = fq;
	fq_link(w, fq);
	w->nprefetch++;
	w->m.cache_prefetches++;
}

/* Keeps the reply just built from a cache entry with the entry, for the
 * next hit under the same local data. */
static void
keep_reply(struct worker *w, const struct wire_query *q, const struct wire_query *uq,
    bool fallback, const struct answer_info *info, uint32_t age)
{
	struct cache_reply r;

	if (answer_keepable(q, uq, fallback, info, w->scratch, w->out, w->snap_gen, &r))
		cache_keep_reply(w->cache, uq, &r, age);
}

/*
 * A name that is not (entirely) local: the cache, else upstream.  Returns
 * true when the reply is ready in w->out (INFO filled).
 */
static bool
forward(struct worker *w, const struct wire_query *q, const uint8_t *next, bool fallback,
    size_t limit, int udp_fd, const struct pl_addr *client, struct tcp_conn *conn,
    uint64_t start, struct answer_info *info)
{
	const struct config *cfg = snapshot_config(w->snap);
	const struct pl_addr *servers;
	struct fquery *fq, *l;
	struct wire_query uq;
	struct cache_hit hit;
	size_t n, len;

	/* The question for upstream: NEXT, which is Q's name unless a local
	 * CNAME led out of local data. */
	uq = *q;
	uq.qname_len = wire_name_len(next, WIRE_NAME_MAX);
	memcpy(uq.qname, next, (size_t)uq.qname_len);
	memcpy(uq.lname, next, (size_t)uq.qname_len);
	hit.gen = w->snap_gen;
	hit.room = answer_replay_room(q, limit);
	hit.fallback = fallback;
	if (cache_lookup(w->cache, &uq, w->now_us / 1000, false, w->cbuf, sizeof(w->cbuf), &len,
	    &hit) == CACHE_HIT) {
		w->m.cache_hits++;
		if (hit.reply == NULL || !answer_replay(q, hit.reply, hit.age, w->out,
		    sizeof(w->out), limit, info)) {
			if (hit.reply != NULL)
				/* Not replayable after all: the entry itself. */
				cache_lookup(w->cache, &uq, w->now_us / 1000, false,
				    w->cbuf, sizeof(w->cbuf), &len, NULL);
			answer_upstream(w->snap, q, w->cbuf, len, fallback, w->scratch,
			    w->out, sizeof(w->out), limit, info);
			if (info->path == PATH_UPSTREAM)
				info->path = PATH_CACHE;
			keep_reply(w, q, &uq, fallback, info, hit.age);
		}
		/* After the answer is made: the refresh only sends a query,
		 * and the reply goes out with this batch all the same. */
		if (hit.prefetch)
			prefetch(w, &uq);
		return true;
	}
	w->m.cache_misses++;
	servers = forward_servers(w, &uq, &n);
	fq = xcalloc(1, sizeof(*fq));
	fq->w = w;
	fq->q = *q;
	fq->uq = uq;
	fq->fallback = fallback;
	fq->limit = limit;
	fq->udp_fd = udp_fd;
	fq->client = *client;
	fq->conn = conn;
	fq->start_us = start;
	fq->servers = servers;
	fq->hash = fq_hash(&uq, servers);
	if ((l = fq_find(w, &uq, servers, fq->hash)) != NULL) {
		/* Join the query already on its way (RFC 5452 9.1: never two
		 * identical questions outstanding), a prefetch's too. */
		fq->leader = l;
		fq->fnext = l->followers;
		l->followers = fq;
		w->coalesced++;
	} else {
		fq->req = upstream_send(w->up, servers, n, cfg->timeout_ms, cfg->deadline_ms,
		    &uq, forward_done_cb, fq);
		if (fq->req == NULL) {
			/* No upstream at all, or every one at its in-flight cap. */
			free(fq);
			forward_fail(w, q, &uq, limit, info);
			return true;
		}
		fq->hnext = w->inflight[fq->hash % COALESCE_BUCKETS];
		w->inflight[fq->hash % COALESCE_BUCKETS] = fq;
	}
	if (conn != NULL)
		conn->pending++;
	fq_link(w, fq);
	return false;
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
		conn_send(d->conn, msg, len);
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
		(void)xfr_serve(w->snap, w->journal, pkt, len, sa, conn != NULL,
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
		reply(w, udp_fd, client, conn, w->out, olen, true);
	return true;
}

/*
 * Handles one query PKT/LEN, for which wire_query_parse() gave Q and V,
 * and answer_route() RT (or NULL: answer_local() routes it).  Replies made
 * at once go out through reply() (batched for UDP); forwarded queries
 * reply later from forward_done_cb().
 */
static void
handle_parsed(struct worker *w, const uint8_t *pkt, size_t len, int udp_fd,
    const struct pl_addr *client, struct tcp_conn *conn,
    const struct wire_query *q, enum wire_verdict v,
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
		reply(w, udp_fd, client, conn, w->out, info.len, true);
		if (v == WIRE_OK)
			account(w, client, q, &info, conn != NULL, start);
		return;
	}
	if (xfr_secondary_unavailable(w->snap, q->lname)) {
		/* A secondary zone not transferred yet, or expired. */
		answer_error(q, RCODE_SERVFAIL, 22, w->out, sizeof(w->out), &info);
		info.path = PATH_ERROR;
		reply(w, udp_fd, client, conn, w->out, info.len, true);
		account(w, client, q, &info, conn != NULL, start);
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
		} else if (!forward(w, q, info.next, info.fallback, limit, udp_fd, client,
		    conn, start, &info))
			return;
	}
	reply(w, udp_fd, client, conn, w->out, info.len, true);
	account(w, client, q, &info, conn != NULL, start);
}

/* handle_parsed() for a query not parsed yet. */
static void
handle_query(struct worker *w, const uint8_t *pkt, size_t len, int udp_fd,
    const struct pl_addr *client, struct tcp_conn *conn)
{
	struct wire_query q;
	enum wire_verdict v = wire_query_parse(pkt, len, &q);

	handle_parsed(w, pkt, len, udp_fd, client, conn, &q, v, NULL);
}

/* Sends the queued replies: one sendmmsg per run of replies on one socket. */
static void
udp_flush(struct worker *w)
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
		w->now_us = clock_us();
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
		udp_flush(w);
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

	w->now_us = clock_us();
	while (!c->closed && !c->draining) {
		uint8_t lenb[2];
		size_t len, have = evbuffer_get_length(in);

		if (have < 2) {
			tcp_partial_arm(c, have > 0);
			return;
		}
		evbuffer_copyout(in, lenb, 2);
		len = wire_get_u16(lenb);
		if (len < WIRE_HDR_LEN) {
			/* Nothing shorter than a header is a query. */
			conn_close(c);
			return;
		}
		if (have < 2 + len) {
			tcp_partial_arm(c, true);
			return;
		}
		evbuffer_drain(in, 2);
		evbuffer_remove(in, w->tcpin, len);
		c->nqueries++;
		handle_query(w, w->tcpin, len, -1, &c->peer, c);
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

static void
tcp_write_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;

	if (c->draining && c->pending == 0)
		conn_close(c);
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_conn *c = arg;

	if ((what & BEV_EVENT_TIMEOUT) && c->pending > 0) {
		/* Idle means no query in either direction; answers are due. */
		bufferevent_enable(bev, EV_READ | EV_WRITE);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		c->w->m.tcp_idle_closed++;
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

static bool
same_host(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
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
	if (!conn_admit(sa, cfg->tcp_max_conns, cfg->tcp_max_per_client)) {
		w->m.tcp_rejected++;
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->w = w;
	memcpy(&c->peer.ss, sa, (size_t)salen);
	c->peer.len = (socklen_t)salen;
	c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		conn_release(&c->peer.ss);
		free(c);
		return;
	}
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	w->m.tcp_accepted++;
	bufferevent_setcb(c->bev, tcp_read_cb, tcp_write_cb, tcp_event_cb, c);
	/* The same timeout also bounds a slow client's partial length or
	 * message (slowloris): no byte for tcp_idle_ms closes it. */
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
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
	bool flushed = true;

	for (struct tcp_conn *c = w->conns; c != NULL; c = c->next)
		if (c->bev != NULL &&
		    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
			flushed = false;
	if ((w->nfqueries == w->nprefetch && flushed) ||
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
	bool flush_all, stop;
	uint8_t (*names)[WIRE_NAME_MAX];
	size_t nnames;

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
	pthread_mutex_unlock(&w->mail_lock);

	if (snap != NULL) {
		old = w->snap;
		w->snap = snap;
		w->snap_gen++;
		atomic_store_explicit(&w->serving, snap, memory_order_release);
		worker_configure_upstreams(w);
		cache_set_prefetch(w->cache, snapshot_config(snap)->prefetch);
		snapshot_unref(old);
	}
	if (flush_all)
		cache_flush(w->cache, NULL);
	for (size_t i = 0; i < nnames; i++)
		cache_flush(w->cache, names[i]);
	free(names);
	if (stop)
		worker_begin_stop(w);
}

static void
mail_wake(struct worker *w)
{
	/* Ends a turn of udp_read_cb sooner (udp_may_wait). */
	atomic_store_explicit(&w->mail_pending, true, memory_order_relaxed);
	event_active(&w->ev_mail, EV_READ, 0);
}

void
worker_post_snapshot(struct worker *w, struct snapshot *snap)
{
	struct snapshot *old;

	snapshot_ref(snap);
	pthread_mutex_lock(&w->mail_lock);
	old = w->mail_snap;		/* a newer one replaces one not yet taken */
	w->mail_snap = snap;
	pthread_mutex_unlock(&w->mail_lock);
	snapshot_unref(old);
	mail_wake(w);
}

bool
worker_serves(const struct worker *w, const struct snapshot *snap)
{
	return atomic_load_explicit(&w->serving, memory_order_acquire) == snap;
}

void
worker_post_flush(struct worker *w, const uint8_t *name)
{
	pthread_mutex_lock(&w->mail_lock);
	if (name == NULL)
		w->mail_flush_all = true;
	else {
		w->mail_flush = xreallocarray(w->mail_flush, w->nmail_flush + 1,
		    sizeof(*w->mail_flush));
		memcpy(w->mail_flush[w->nmail_flush++], name,
		    (size_t)wire_name_len(name, WIRE_NAME_MAX));
	}
	pthread_mutex_unlock(&w->mail_lock);
	mail_wake(w);
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
worker_new(int id, struct snapshot *snap, struct diag *d)
{
	const struct config *cfg = snapshot_config(snap);
	struct worker *w = xcalloc(1, sizeof(*w));

	w->id = id;
	w->snap = snap;
	w->snap_gen = 1;
	snapshot_ref(snap);
	w->base = event_base_new();
	if (w->base == NULL)
		fatalx("event_base_new failed");
	pthread_mutex_init(&w->mail_lock, NULL);
	atomic_init(&w->mail_pending, false);
	atomic_init(&w->serving, snap);
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
	upstream_pool_on_replies(w->up, upstream_replies, w);
	worker_configure_upstreams(w);
	w->cache = cache_new(cfg->cache_size, cfg->cache_min_ttl, cfg->cache_max_ttl);
	cache_set_prefetch(w->cache, cfg->prefetch);
	w->rrl = rrl_new(cfg->rrl_rate, cfg->rrl_slip, RRL_TABLE);
	w->scratch = xcalloc(1, sizeof(*w->scratch));
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
		if (tfd != -1) {
			l->tcp = evconnlistener_new(w->base, tcp_accept_cb, l,
			    LEV_OPT_CLOSE_ON_FREE, 128, tfd);
			if (l->tcp == NULL) {
				close(tfd);
				diag_add(d, DIAG_ERROR, NULL, 0, "listen failed");
			} else
				evconnlistener_set_error_cb(l->tcp, tcp_accept_error_cb);
		}
		evtimer_assign(&l->tcp_resume, w->base, tcp_resume_cb, l);
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
worker_join_free(struct worker *w)
{
	if (w == NULL)
		return;
	if (w->started)
		pthread_join(w->thread, NULL);
	while (w->fqueries != NULL) {
		struct fquery *fq = w->fqueries;
		if (fq->req != NULL)
			upstream_cancel(fq->req);
		fquery_free(fq);
	}
	while (w->conns != NULL) {
		struct tcp_conn *c = w->conns;
		c->pending = 0;
		conn_free(c);
	}
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
	free(w);
}

void
worker_metrics(const struct worker *w, struct metrics *out)
{
	const struct upstream_stats *u = upstream_pool_stats(w->up);

	*out = w->m;
	out->up_sent = u->sent;
	out->up_answered = u->answered;
	out->up_timeouts = u->timeouts;
	out->up_refused = u->refused;
	out->up_spoofed = u->spoofed;
	out->up_tcp_retries = u->tcp_retries;
	out->up_failed = u->failed;
	out->up_overflow = u->overflow;
	out->up_coalesced = w->coalesced;
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
