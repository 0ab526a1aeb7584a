/*
 * worker_fwd: a worker's questions to upstream servers: the answer cache
 * first, then one upstream query per distinct question in flight (clients
 * asking the same join it), replies spliced against the current local data,
 * stale answers when upstream fails, and prefetch of popular entries.  A
 * query with RD clear gets the cache or REFUSED, never an upstream query.
 */
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "upstream.h"
#include "util.h"
#include "worker_int.h"

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
	if (fq->conn != NULL)
		worker_tcp_answered(fq->conn);
	snapshot_unref(fq->snap);
	free(fq);
}

/*
 * Answers Q from the stale cache entry for UQ when allowed, else SERVFAIL
 * with an Extended DNS Error (RFC 8914) that says why: 23 Network Error
 * when no server could even be reached over the network (no route, port
 * unreachable), 22 No Reachable Authority otherwise (they did not answer,
 * or answered SERVFAIL, REFUSED...).
 */
static void
forward_fail(struct worker *w, const struct wire_query *q, const struct wire_query *uq,
    size_t limit, enum upstream_status st, struct answer_info *info)
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
		info->stale = true;
		w->m.cache_stale_served++;
		/* Extended DNS Error 3, Stale Answer (RFC 8914). */
		if (q->edns.present)
			info->len = wire_add_ede(w->out, info->len, limit, 3);
		return;
	}
	answer_info_clear(info);
	answer_error(q, RCODE_SERVFAIL, st == UPSTREAM_UNREACHABLE ? 23 : 22, w->out,
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
		forward_fail(w, &fq->q, &fq->uq, fq->limit, st, &info);
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

bool
worker_forward(struct worker *w, const struct wire_query *q, size_t limit, int udp_fd,
    const struct pl_addr *client, struct tcp_conn *conn, struct answer_info *info)
{
	const struct config *cfg = snapshot_config(w->snap);
	const bool fallback = info->fallback;
	const struct szone *miss_zone = info->miss_zone;
	const uint64_t start = w->now_us;
	const struct pl_addr *servers;
	struct fquery *fq, *l;
	struct wire_query uq;
	struct cache_hit hit;
	size_t n, len;

	/* The question for upstream: INFO's next name, which is Q's name
	 * unless a local CNAME led out of local data.  Read before anything
	 * writes INFO. */
	uq = *q;
	uq.qname_len = wire_name_len(info->next, WIRE_NAME_MAX);
	memcpy(uq.qname, info->next, (size_t)uq.qname_len);
	memcpy(uq.lname, info->next, (size_t)uq.qname_len);
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
		 * and the reply goes out with this batch all the same.  It
		 * keeps an entry fresh for everyone, so an RD=0 hit asks for
		 * it too (the cache hands the refresh out once). */
		if (hit.prefetch)
			prefetch(w, &uq);
		return true;
	}
	w->m.cache_misses++;
	if (!(q->hdr.flags & WIRE_RD)) {
		/*
		 * RD clear: the client wants what pldns knows, not a lookup
		 * (RFC 1034 4.3.1, 5.3.1).  Nothing in the cache: REFUSED with
		 * Extended DNS Error 20, Not Authoritative (RFC 8914), as
		 * Unbound does; never an upstream query, not even one joined.
		 */
		answer_info_clear(info);
		answer_error(q, RCODE_REFUSED, 20, w->out, sizeof(w->out), info);
		info->path = PATH_REFUSED;
		return true;
	}
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
	fq->miss_zone = miss_zone;
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
			forward_fail(w, q, &uq, limit, UPSTREAM_FAIL, info);
			if (info->miss_zone == NULL)
				info->miss_zone = miss_zone;
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

void
worker_forward_free_all(struct worker *w)
{
	while (w->fqueries != NULL) {
		struct fquery *fq = w->fqueries;
		if (fq->req != NULL)
			upstream_cancel(fq->req);
		fquery_free(fq);
	}
}
