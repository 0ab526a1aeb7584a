/*
 * worker_fwd: a worker's questions to upstream servers: the answer cache
 * first, then one upstream query per distinct question in flight (clients
 * asking the same join it), replies spliced against the current local data,
 * stale answers when upstream fails or is late (RFC 8767), from this
 * worker's cache or another's, and prefetch of popular entries.  A query
 * with RD clear gets the cache or REFUSED, never an upstream query.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/cache.h"
#include "util/hash.h"
#include "engine/upstream.h"
#include "util/util.h"
#include "runtime/worker_int.h"

/* Keyed (hash.h): clients choose the names. */
static uint32_t
fq_hash(const struct wire_query *q, const struct pl_addr *servers)
{
	uint64_t h = hash_bytes(q->lname, (size_t)q->qname_len);

	h = hash_word(h, (uint64_t)q->qtype << 2 |
	    (uint64_t)((q->edns.flags & EDNS_DO) ? 2 : 0) |
	    (uint64_t)((q->hdr.flags & WIRE_CD) ? 1 : 0));
	return (uint32_t)hash_word(h, (uint64_t)(uintptr_t)servers);
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

/* FQ leads the query in flight for its question: others join it. */
static void
fq_hash_in(struct worker *w, struct fquery *fq)
{
	LIST_INSERT_HEAD(&w->inflight[fq->hash % COALESCE_BUCKETS], fq, hentry);
	fq->hashed = true;
}

static void
fq_unhash(struct fquery *fq)
{
	if (fq->hashed) {
		LIST_REMOVE(fq, hentry);
		fq->hashed = false;
	}
}

/* Drops CH's responses from the N-th on. */
static void
chain_cut(struct fchain *ch, int n)
{
	while (ch->n > n)
		free((void *)ch->parts[--ch->n].msg);
}

static void
chain_free(struct fchain *ch)
{
	if (ch != NULL) {
		chain_cut(ch, 0);
		free(ch);
	}
}

/* Appends a copy of MSG to CH; false when out of memory. */
static bool
chain_add(struct fchain *ch, const uint8_t *msg, size_t len)
{
	uint8_t *m;

	if (ch->n >= ANSWER_MAX_PARTS || (m = malloc(len)) == NULL)
		return false;
	memcpy(m, msg, len);
	ch->parts[ch->n].msg = m;
	ch->parts[ch->n++].len = len;
	return true;
}

/* SERVFAIL, nothing more said: a chain that cannot go on. */
static void
chain_servfail(struct worker *w, const struct wire_query *q, struct answer_info *info)
{
	answer_info_clear(info);
	answer_error(q, RCODE_SERVFAIL, -1, w->out, sizeof(w->out), info);
	info->path = PATH_ERROR;
}

static void
fquery_free(struct fquery *fq)
{
	struct worker *w = fq->w;

	LIST_REMOVE(fq, entry);
	w->nfqueries--;
	if (fq->prefetch)
		w->nprefetch--;
	if (fq->stale_armed)
		evtimer_del(&fq->stale_ev);
	if (fq->conn != NULL)
		worker_tcp_answered(fq->conn);
	snapshot_unref(fq->snap);
	chain_free(fq->chain);
	free(fq);
}

/*
 * Answers Q in w->out (INFO filled) from what a cache holds for UQ, after
 * the responses of CH (NULL: none) when UQ is a follow-up, for a client
 * whose upstream failed or is late: this worker's entry, else another
 * worker's; a fresh one, else (when allowed) a stale one.  False when
 * there is none.
 */
static bool
forward_stale(struct worker *w, const struct wire_query *q, const struct wire_query *uq,
    const struct fchain *ch, size_t limit, struct answer_info *info)
{
	const struct config *cfg = snapshot_config(w->snap);
	struct answer_part parts[ANSWER_MAX_PARTS];
	int n = ch != NULL ? ch->n : 0;
	uint64_t now = w->now_us / 1000;
	enum cache_result r;
	size_t len;

	if (n >= ANSWER_MAX_PARTS)
		return false;
	r = cache_lookup(w->cache, uq, now, cfg->serve_stale, w->cbuf,
	    sizeof(w->cbuf), &len, NULL);
	/* The client landed on this worker, the name may have been asked
	 * through another (SO_REUSEPORT spreads clients by port). */
	if (r == CACHE_MISS)
		r = cache_lookup_siblings(w->cache, uq, now, cfg->serve_stale,
		    w->cbuf, sizeof(w->cbuf), &len);
	if (r == CACHE_MISS)
		return false;
	if (n > 0)
		memcpy(parts, ch->parts, (size_t)n * sizeof(parts[0]));
	parts[n].msg = w->cbuf;
	parts[n].len = len;
	/* RFC 8767: an expired answer beats no answer.  Spliced now, like
	 * every answer; one that needs yet another upstream answer is none. */
	if (answer_upstream(w->snap, q, parts, n + 1, false, w->scratch, w->out,
	    sizeof(w->out), limit, info) != ANSWER_DONE)
		return false;
	info->path = PATH_CACHE;
	if (r == CACHE_STALE) {
		info->stale = true;
		w->m.cache_stale_served++;
		/* Extended DNS Error 3, Stale Answer (RFC 8914), within
		 * what the client takes. */
		if (q->edns.present)
			info->len = wire_add_ede(w->out, info->len, limit, 3);
	}
	return true;
}

/*
 * Answers Q as forward_stale() does, else with SERVFAIL and an Extended DNS
 * Error (RFC 8914) that says why: 23 Network Error when no server could
 * even be reached over the network (no route, port unreachable), 22 No
 * Reachable Authority otherwise (they did not answer, or answered
 * SERVFAIL, REFUSED...).
 */
static void
forward_fail(struct worker *w, const struct wire_query *q, const struct wire_query *uq,
    const struct fchain *ch, size_t limit, enum upstream_status st,
    struct answer_info *info)
{
	if (forward_stale(w, q, uq, ch, limit, info))
		return;
	answer_info_clear(info);
	answer_error(q, RCODE_SERVFAIL, st == UPSTREAM_UNREACHABLE ? 23 : 22, w->out,
	    sizeof(w->out), info);
	info->path = PATH_ERROR;
}

static bool forward_follow(struct worker *w, const struct fquery *from,
    struct fchain *ch, struct answer_info *info);

/* Replies to one waiting query with the upstream's outcome, or asks the
 * follow-up its chain needs. */
static void
forward_reply(struct worker *w, struct fquery *fq, enum upstream_status st,
    const uint8_t *resp, size_t len)
{
	struct answer_part parts[ANSWER_MAX_PARTS];
	struct answer_info info;
	int n = fq->chain != NULL ? fq->chain->n : 0;

	if (fq->answered || (fq->conn != NULL && fq->conn->closed))
		return;
	if (st == UPSTREAM_OK) {
		if (n > 0)
			memcpy(parts, fq->chain->parts, (size_t)n * sizeof(parts[0]));
		parts[n].msg = resp;
		parts[n].len = len;
		/* Spliced against the data current now, not when the query
		 * arrived: a reload takes effect at once. */
		if (answer_upstream(w->snap, &fq->q, parts, n + 1, fq->fallback, w->scratch,
		    w->out, sizeof(w->out), fq->limit, &info) == ANSWER_FORWARD) {
			/* The chain goes on elsewhere: the responses it
			 * keeps go with the follow-up. */
			struct fchain *ch = try_calloc(1, sizeof(*ch));
			bool ok = ch != NULL;

			for (int i = 0; i < info.nparts && ok; i++)
				ok = chain_add(ch, parts[i].msg, parts[i].len);
			if (!ok) {
				w->m.alloc_failed++;
				chain_free(ch);
				chain_servfail(w, &fq->q, &info);
			} else if (!forward_follow(w, fq, ch, &info))
				return;
		}
	} else
		forward_fail(w, &fq->q, &fq->uq, fq->chain, fq->limit, st, &info);
	if (info.miss_zone == NULL)
		info.miss_zone = fq->miss_zone;
	worker_reply(w, fq->udp_fd, &fq->client, fq->conn, w->out, info.len, w->up_batch);
	worker_account(w, &fq->client, &fq->q, &info, fq->conn != NULL, fq->start_us);
}

/*
 * The upstream pool hands over a batch of replies: their answers are
 * queued meanwhile and go out together.
 */
void
worker_upstream_replies(void *arg, bool done)
{
	struct worker *w = arg;

	w->up_batch = !done;
	if (done)
		worker_udp_flush(w);
}

static void
forward_done_cb(void *arg, enum upstream_status st, const uint8_t *resp, size_t len)
{
	struct fquery *fq = arg, *f, *next;
	struct worker *w = fq->w;

	w->now_us = worker_clock_us();
	fq->req = NULL;
	fq_unhash(fq);
	/* A failed prefetch stores nothing: the entry it was to refresh stays,
	 * to be served until it expires and then stale. */
	if (st == UPSTREAM_OK)
		cache_store(w->cache, &fq->uq, resp, len, w->now_us / 1000);
	if (!fq->prefetch)
		forward_reply(w, fq, st, resp, len);
	for (f = SLIST_FIRST(&fq->followers); f != NULL; f = next) {
		next = SLIST_NEXT(f, fentry);
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
	struct fquery *l;

	LIST_FOREACH(l, &w->inflight[h % COALESCE_BUCKETS], hentry)
		if (l->hash == h && fq_same(l, uq, servers))
			return l;
	return NULL;
}

static void
fq_link(struct worker *w, struct fquery *fq)
{
	fq->snap = w->snap;
	snapshot_ref(fq->snap);
	LIST_INSERT_HEAD(&w->fqueries, fq, entry);
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
	fq_hash_in(w, fq);
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

/* Sets in F what fq_send() and forward_follow() read of a client (the
 * rest stays as it is: a cache hit does not pay for clearing it all). */
static void
fq_client(struct fquery *f, const struct wire_query *q, bool fallback,
    const struct szone *miss_zone, size_t limit, int udp_fd, const struct pl_addr *client,
    struct tcp_conn *conn, uint64_t start)
{
	f->q = *q;
	f->fallback = fallback;
	f->miss_zone = miss_zone;
	f->limit = limit;
	f->udp_fd = udp_fd;
	f->client = *client;
	f->conn = conn;
	f->start_us = start;
}

/* UQ: Q's question for the name NAME (lower-case). */
static void
follow_question(struct wire_query *uq, const struct wire_query *q, const uint8_t *name)
{
	*uq = *q;
	uq->qname_len = wire_name_len(name, WIRE_NAME_MAX);
	memcpy(uq->qname, name, (size_t)uq->qname_len);
	memcpy(uq->lname, name, (size_t)uq->qname_len);
}

/* The client response timer of FQ fired: the client gets a cached answer
 * now if any worker has one; the query goes on for the cache. */
static void
stale_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fquery *fq = arg;
	struct worker *w = fq->w;
	struct answer_info info;

	(void)fd;
	(void)what;
	fq->stale_armed = false;
	if (fq->conn != NULL && fq->conn->closed)
		return;
	w->now_us = worker_clock_us();
	if (!forward_stale(w, &fq->q, &fq->uq, fq->chain, fq->limit, &info))
		return;
	worker_reply(w, fq->udp_fd, &fq->client, fq->conn, w->out, info.len, false);
	worker_account(w, &fq->client, &fq->q, &info, fq->conn != NULL, fq->start_us);
	fq->answered = true;
	if (fq->conn != NULL) {
		/* Answered as far as the connection goes. */
		worker_tcp_answered(fq->conn);
		fq->conn = NULL;
	}
}

/* Starts FQ's client response timer, which runs from the client's query:
 * not when a stale answer would not come before the deadline anyway. */
static void
stale_timer_start(struct worker *w, struct fquery *fq)
{
	const struct config *cfg = snapshot_config(w->snap);
	uint64_t spent = (w->now_us - fq->start_us) / 1000, wait;
	struct timeval tv;

	if (!cfg->serve_stale || cfg->stale_client_timeout_ms >= cfg->deadline_ms)
		return;
	wait = spent < cfg->stale_client_timeout_ms ?
	    cfg->stale_client_timeout_ms - spent : 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000 * 1000);
	evtimer_assign(&fq->stale_ev, w->base, stale_timer_cb, fq);
	evtimer_add(&fq->stale_ev, &tv);
	fq->stale_armed = true;
}

/*
 * Sends UQ upstream (or joins the same question on its way) for the client
 * of FROM, with the earlier responses of its chain CH (owned from now on;
 * NULL: none).  False: the reply goes when upstream answers.  True: it is
 * in w->out now (INFO filled), because no upstream can be asked or the
 * client's deadline has passed.
 */
static bool
fq_send(struct worker *w, const struct fquery *from, const struct wire_query *uq,
    struct fchain *ch, struct answer_info *info)
{
	const struct config *cfg = snapshot_config(w->snap);
	const struct pl_addr *servers;
	struct fquery *fq, *l;
	uint64_t spent = (w->now_us - from->start_us) / 1000;
	size_t n;

	if (!(from->q.hdr.flags & WIRE_RD)) {
		/*
		 * RD clear: the client wants what pldns knows, not a lookup
		 * (RFC 1034 4.3.1, 5.3.1).  Nothing in the cache: REFUSED with
		 * Extended DNS Error 20, Not Authoritative (RFC 8914), as
		 * Unbound does; never an upstream query, not even one joined.
		 */
		chain_free(ch);
		answer_info_clear(info);
		answer_error(&from->q, RCODE_REFUSED, 20, w->out, sizeof(w->out), info);
		info->path = PATH_REFUSED;
		return true;
	}
	servers = forward_servers(w, uq, &n);
	if ((fq = try_calloc(1, sizeof(*fq))) == NULL) {
		w->m.alloc_failed++;
		forward_fail(w, &from->q, uq, ch, from->limit, UPSTREAM_FAIL, info);
		chain_free(ch);
		return true;
	}
	fq->w = w;
	fq->q = from->q;
	fq->uq = *uq;
	fq->chain = ch;
	fq->fallback = from->fallback;
	fq->limit = from->limit;
	fq->udp_fd = from->udp_fd;
	fq->client = from->client;
	fq->conn = from->conn;
	fq->start_us = from->start_us;
	fq->miss_zone = from->miss_zone;
	fq->servers = servers;
	fq->hash = fq_hash(uq, servers);
	if ((l = fq_find(w, uq, servers, fq->hash)) != NULL) {
		/* Join the query already on its way (RFC 5452 9.1: never two
		 * identical questions outstanding), a prefetch's too. */
		fq->leader = l;
		SLIST_INSERT_HEAD(&l->followers, fq, fentry);
		w->coalesced++;
	} else {
		/* A follow-up has what is left of the client's deadline. */
		if (spent < cfg->deadline_ms)
			fq->req = upstream_send(w->up, servers, n, cfg->timeout_ms,
			    cfg->deadline_ms - (unsigned)spent, uq, forward_done_cb, fq);
		if (fq->req == NULL) {
			/* No upstream at all, every one at its in-flight cap,
			 * or no time left. */
			forward_fail(w, &from->q, uq, ch, from->limit, UPSTREAM_FAIL, info);
			if (info->miss_zone == NULL)
				info->miss_zone = from->miss_zone;
			chain_free(ch);
			free(fq);
			return true;
		}
		fq_hash_in(w, fq);
	}
	if (fq->conn != NULL)
		fq->conn->pending++;
	fq_link(w, fq);
	stale_timer_start(w, fq);
	return false;
}

/*
 * The chain of FROM's client goes on at INFO->next after the responses
 * CH[0 .. INFO->nparts) (CH owned from now on): from the cache while it
 * has the follow-ups, else upstream.  Returns as fq_send() does.
 */
static bool
forward_follow(struct worker *w, const struct fquery *from, struct fchain *ch,
    struct answer_info *info)
{
	/* Each round adds a response that answer_upstream() keeps, up to
	 * ANSWER_MAX_PARTS; the bound is for safety only. */
	for (int round = 0; round < 2 * ANSWER_MAX_PARTS; round++) {
		struct wire_query uq;
		struct cache_hit hit;
		size_t len;

		chain_cut(ch, info->nparts);
		follow_question(&uq, &from->q, info->next);
		memset(&hit, 0, sizeof(hit));
		hit.gen = w->snap_gen;	/* room 0: the entry, never a kept reply */
		hit.fallback = from->fallback;
		if (cache_lookup(w->cache, &uq, w->now_us / 1000, false, w->cbuf,
		    sizeof(w->cbuf), &len, &hit) != CACHE_HIT) {
			COUNTER_INC(w->m.cache_misses);
			return fq_send(w, from, &uq, ch, info);
		}
		COUNTER_INC(w->m.cache_hits);
		if (hit.prefetch)
			prefetch(w, &uq);
		if (!chain_add(ch, w->cbuf, len))
			break;
		if (answer_upstream(w->snap, &from->q, ch->parts, ch->n, from->fallback,
		    w->scratch, w->out, sizeof(w->out), from->limit, info) == ANSWER_DONE) {
			if (info->path == PATH_UPSTREAM)
				info->path = PATH_CACHE;
			chain_free(ch);
			return true;
		}
	}
	chain_free(ch);
	chain_servfail(w, &from->q, info);
	return true;
}

bool
worker_forward(struct worker *w, const struct wire_query *q, size_t limit, int udp_fd,
    const struct pl_addr *client, struct tcp_conn *conn, struct answer_info *info)
{
	const bool fallback = info->fallback;
	const struct szone *miss_zone = info->miss_zone;
	struct fquery from;	/* the client, for fq_send() and forward_follow() */
	struct wire_query uq;
	struct cache_hit hit;
	bool done = true;
	size_t len;

	/* The question for upstream: INFO's next name, which is Q's name
	 * unless a local CNAME led out of local data.  Read before anything
	 * writes INFO. */
	follow_question(&uq, q, info->next);
	hit.gen = w->snap_gen;
	hit.room = answer_replay_room(q, limit);
	hit.fallback = fallback;
	if (cache_lookup(w->cache, &uq, w->now_us / 1000, false, w->cbuf, sizeof(w->cbuf), &len,
	    &hit) == CACHE_HIT) {
		COUNTER_INC(w->m.cache_hits);
		if (hit.reply == NULL || !answer_replay(q, hit.reply, hit.age, w->out,
		    sizeof(w->out), limit, info)) {
			struct answer_part part;

			if (hit.reply != NULL)
				/* Not replayable after all: the entry itself. */
				cache_lookup(w->cache, &uq, w->now_us / 1000, false,
				    w->cbuf, sizeof(w->cbuf), &len, NULL);
			part.msg = w->cbuf;
			part.len = len;
			if (answer_upstream(w->snap, q, &part, 1, fallback, w->scratch,
			    w->out, sizeof(w->out), limit, info) == ANSWER_FORWARD) {
				struct fchain *ch = try_calloc(1, sizeof(*ch));

				fq_client(&from, q, fallback, miss_zone, limit, udp_fd, client, conn,
				    w->now_us);
				if (ch == NULL) {
					w->m.alloc_failed++;
					chain_servfail(w, q, info);
					done = true;
				} else {
					if (info->nparts > 0 && !chain_add(ch, w->cbuf, len))
						info->nparts = 0;
					done = forward_follow(w, &from, ch, info);
				}
			} else {
				if (info->path == PATH_UPSTREAM)
					info->path = PATH_CACHE;
				keep_reply(w, q, &uq, fallback, info, hit.age);
			}
		}
		/* After the answer is made: the refresh only sends a query,
		 * and the reply goes out with this batch all the same.  It
		 * keeps an entry fresh for everyone, so an RD=0 hit asks for
		 * it too (the cache hands the refresh out once). */
		if (hit.prefetch)
			prefetch(w, &uq);
		return done;
	}
	COUNTER_INC(w->m.cache_misses);
	fq_client(&from, q, fallback, miss_zone, limit, udp_fd, client, conn, w->now_us);
	return fq_send(w, &from, &uq, NULL, info);
}

void
worker_forward_free_all(struct worker *w)
{
	while (!LIST_EMPTY(&w->fqueries)) {
		struct fquery *fq = LIST_FIRST(&w->fqueries);
		if (fq->req != NULL)
			upstream_cancel(fq->req);
		fquery_free(fq);
	}
}
