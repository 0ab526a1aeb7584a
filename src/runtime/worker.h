/*
 * worker: one event loop on its own thread, with its own sockets (bound with
 * SO_REUSEPORT so the kernel spreads clients over workers), upstream pool,
 * answer cache, rate limiter and counters.  Workers share nothing on the
 * query path but the read-only snapshot, which each holds one reference to
 * and trades for a new one through its mailbox between events.
 */
#ifndef PLDNS_WORKER_H
#define PLDNS_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "util/addr.h"
#include "engine/cache.h"
#include "runtime/metrics.h"
#include "data/snapshot.h"
#include "engine/upstream.h"

struct worker;

struct server_conns;

/*
 * Creates worker ID with its own sockets on every listen address of SNAP's
 * config (UDP and TCP, SO_REUSEPORT).  Takes a new reference to SNAP.
 * Its TCP clients are counted in CONNS (the server's, shared by every
 * worker; it must outlive the worker).  Returns NULL with the reason in D
 * when a socket cannot be bound.
 */
struct worker *worker_new(int id, struct snapshot *snap,
    struct server_conns *conns, struct diag *d);

struct xfr_journal;
struct xfr_secondary;

/* Before worker_start(): lets the N workers of WS answer from each
 * other's caches when an upstream fails or is late (cache_link()).  The
 * caches must then outlive every one of the workers: worker_join() them
 * all before the first worker_join_free(). */
void worker_share_caches(struct worker *const *ws, int n);

/* Waits for W's thread to end (after worker_post_stop()). */
void worker_join(struct worker *w);

/* Before worker_start(): the IXFR journal and the secondary zones that
 * transfers and NOTIFY go to (either may be NULL; not owned). */
void worker_set_xfr(struct worker *w, struct xfr_journal *j, struct xfr_secondary *sec);

/* Starts the worker's thread.  0 or -1. */
int worker_start(struct worker *w);

/*
 * Mail to a worker, from any thread.  Each post returns a ticket: once
 * worker_mail_done() says so, the worker has acted on it (and on all mail
 * posted before it), and every query it answers from then on sees it.
 */

/* Install SNAP (the worker takes a new reference). */
uint64_t worker_post_snapshot(struct worker *w, struct snapshot *snap);
/* Flush the cache (NAME NULL: all; else lower-case wire). */
uint64_t worker_post_flush(struct worker *w, const uint8_t *name);
/* True once W has acted on the mail of TICKET. */
bool worker_mail_done(const struct worker *w, uint64_t ticket);
/* From any thread: stop accepting, finish in-flight queries (up to 2 s), exit. */
void worker_post_stop(struct worker *w);

struct missing;

/* Copy the table of names clients miss (missing.h) for one reader at a
 * time.  Once worker_mail_done() says so, worker_missing() is the copy,
 * which the worker leaves alone until the next post. */
uint64_t worker_post_missing(struct worker *w);
const struct missing *worker_missing(const struct worker *w);

/* Waits for the thread to end, then frees everything. */
void worker_join_free(struct worker *w);

/* Counter copies, safe from any thread (see metrics.h for the race model). */
void worker_metrics(const struct worker *w, struct metrics *out);
size_t worker_upstreams(const struct worker *w, struct upstream_info *out, size_t max);
void worker_cache_info(const struct worker *w, struct cache_info *out);

#endif
