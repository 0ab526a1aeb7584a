/*
 * control: the HTTP control endpoint (libevent's evhttp) on [control] listen.
 *
 *   GET  /metrics      Prometheus text exposition format
 *   GET  /healthz      200 while serving
 *   GET  /readyz       200 once data is loaded
 *   GET  /status       JSON: version, uptime, zones, sources, upstreams, reloads
 *   GET  /             a self-contained HTML status page with a live QPS chart
 *   POST /reload       reload now; the body says what happened
 *   POST /cache/flush  flush the whole cache, or ?name=NAME
 *   POST /sync         sync [azure] sections from Azure now, or ?name=NAME
 * POST requests need "Authorization: Bearer TOKEN" (token_file); 401 otherwise.
 *
 * It runs on the main thread's event loop; everything it shows comes through
 * struct control_ops, so it knows nothing of workers or sockets.
 */
#ifndef PLDNS_CONTROL_H
#define PLDNS_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "engine/cache.h"
#include "data/config.h"
#include "util/diag.h"
#include "runtime/metrics.h"
#include "data/snapshot.h"
#include "engine/upstream.h"

/* What a reload changed, or would have changed had it not been held
 * (doc/guard.md).  Owned by the server. */
struct reload_change {
	uint64_t time;			/* wall-clock seconds */
	size_t added, removed, changed;	/* records */
	size_t before, after;		/* records in service, and in the new data */
	char **reasons;			/* why it is held (NULL-terminated), or NULL */
	char **diff;			/* the first lines of the diff (NULL-terminated) */
	size_t more;			/* lines of the diff left out */
};

/* What the last reloads did. */
struct reload_state {
	uint64_t reloads;		/* successful reloads since start */
	uint64_t failures;		/* rejected reloads since start */
	uint64_t last_success;		/* wall-clock seconds, 0 never */
	uint64_t last_attempt;		/* wall-clock seconds, 0 never */
	const char *last_error;		/* text of the last failure, or NULL (owned by the server) */
	bool ready;			/* data loaded and serving */
	/* The reload guard. */
	bool held;			/* the last reload was held back */
	uint64_t holds;			/* reloads held since start */
	const struct reload_change *held_change;	/* what is held, when HELD */
	const struct reload_change *last_change;	/* the last change put in
							   service, or NULL */
	char *const *stale;		/* record sources that could not be read at
					   the last reload (NULL-terminated), or NULL */
	uint64_t oom_failures;		/* of the failures: out of memory */
};

struct control_ops {
	void *arg;
	/* Sums every worker's counters into *SUM (zeroed by the callee). */
	void (*metrics)(void *arg, struct metrics *sum);
	/* Per-upstream state; returns how many were written (at most MAX). */
	size_t (*upstreams)(void *arg, struct upstream_info *out, size_t max);
	/* The snapshot being served, with a reference the caller must drop
	 * with snapshot_unref(). */
	struct snapshot *(*snapshot)(void *arg);
	void (*reload_state)(void *arg, struct reload_state *out);
	/* Reloads now.  Returns 0 when the new data is in service, -1 when it
	 * was rejected, 1 when the guard held it back (doc/guard.md); *TEXT
	 * (caller frees) is the human-readable result. */
	int (*reload)(void *arg, char **text);
	/* Flushes the answer cache: everything when NAME is NULL, else the
	 * entries for NAME (presentation form) and below. */
	void (*flush)(void *arg, const char *name);
	/* The answer caches, summed over workers. */
	void (*cache)(void *arg, struct cache_info *out);
	uint64_t start_time;		/* wall-clock seconds */
	/* The names clients miss (missing.h), merged over workers, times in
	 * wall-clock seconds; the caller frees it with missing_free(). */
	struct missing *(*missing)(void *arg);
	/* Reloads even when the guard would hold the new data back; returns
	 * as reload does. */
	int (*reload_force)(void *arg, char **text);
	/* Starts a sync of [azure] section NAME (NULL: every one) at once;
	 * -1 when there is no such section.  *TEXT (caller frees) says what
	 * was started. */
	int (*sync)(void *arg, const char *name, char **text);
	/* The [azure] sections' sync state (azure_sync_status()), a new
	 * reference. */
	json_t *(*sync_status)(void *arg);
};

struct control;

/* Starts the endpoint on CFG's control address (none when disabled: returns
 * NULL and adds nothing to D).  On a bind error, NULL with the reason in D. */
struct control *control_new(struct event_base *base, const struct config *cfg,
    const struct control_ops *ops, struct diag *d);
void control_free(struct control *c);

/*
 * The bearer token in the file PATH: one word of printable ASCII, white
 * space around it trimmed.  NULL when it cannot be read or is not such a
 * word, with the reason in D located at LOC ("LOC: message").  Caller
 * frees (and should explicit_bzero() it first).
 */
char *control_read_token(const char *path, const char *loc, struct diag *d);

/* Renders the Prometheus exposition of the given state into a new string
 * (caller frees).  Exposed for tests. */
char *control_render_metrics(const struct metrics *m, const struct upstream_info *up,
    size_t nup, const struct snapshot *s, const struct reload_state *rs,
    const struct cache_info *ci);

/* The Prometheus families of the names clients miss: QUERIES (a counter)
 * and NAMES (distinct names held), as a new string (caller frees). */
char *control_render_missing(uint64_t queries, size_t names);

/* Into the /status object ROOT: every counter of metrics_counters.h from
 * M, each under its object (made when ROOT has none) and key, then CACHE's
 * figures (when not NULL) in the object "cache". */
void control_counters_json(json_t *root, const struct metrics *m,
    const struct cache_info *ci);

/* The /status object of upstream server U (a new reference). */
json_t *control_upstream_json(const struct upstream_info *u);

/* Adds another worker's view of the same upstream server SRC to DST: the
 * counts summed, down when either is, the longer round-trip time. */
void control_upstream_add(struct upstream_info *dst, const struct upstream_info *src);

/* DST += SRC, member by member (another worker's cache). */
void control_cache_add(struct cache_info *dst, const struct cache_info *src);

/* The families of the [azure] sections, one sample per section of ARR
 * (azure_sync_status(); NULL: none), as a new string (caller frees). */
char *control_render_sync(json_t *arr);

/* The status page served at GET / (src/control_page.html, compiled in by
 * the build), CONTROL_PAGE_LEN bytes. */
extern const char control_page[];
extern const size_t control_page_len;

#endif
