/* server: the main thread: workers, signals, reloads, control, privileges. */
#include <assert.h>
#include <errno.h>
#include <setjmp.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "sync/azure_sync.h"
#include "runtime/control.h"
#include "util/log.h"
#include "engine/missing.h"
#include "data/rdiff.h"
#include "data/records.h"
#include "data/records_load.h"
#include "runtime/sdnotify.h"
#include "runtime/server.h"
#include "runtime/server_conns.h"
#include "util/util.h"
#include "runtime/watch.h"
#include "runtime/worker.h"
#include "xfr/xfr.h"

#define MAX_WORKERS	64
#define XFR_JOURNAL_CHANGES	100000	/* IXFR history per zone, in records */

#define RETIRED_MAX	8
#define RETIRE_CHECK_MS	10
#define MAIL_WAIT_MS	2000	/* bound on waiting for workers to act on mail */
#define LOG_DIFF_MAX	10	/* lines of a reload's diff in the log */
#define STATUS_DIFF_MAX	50	/* lines of a reload's diff kept for /status */
#define ORIGINS_MAX	100000	/* new records whose file:line a reload keeps */

struct server {
	struct event_base *base;
	char *config_path;
	struct snapshot *snap;		/* the data in service (main's reference) */
	struct worker *workers[MAX_WORKERS];
	int nworkers;
	struct event *sig[4];
	struct control *control;
	struct watch *watch;
	struct xfr_journal *journal;	/* IXFR history, read by workers */
	struct xfr_notifier *notifier;
	struct xfr_secondary *sec;
	struct azure_sync *sync;		/* [azure] sections */
	struct reload_state rs;
	struct snapshot *retired[RETIRED_MAX];	/* replaced, freed here when
						 * nobody else holds them */
	int nretired;
	struct event *ev_retire;
	char *last_error;
	uint64_t start_time;
	int status;
	struct reload_change held;	/* what the guard holds back (rs.held) */
	struct reload_change last;	/* the last change put in service */
	char **stale;			/* sources unreadable at the last reload */
	/* Invariants checked by assert(): one reload at a time (a reload
	 * that started another from a callback would post a snapshot while
	 * the workers still take the first), and each worker's mail tickets
	 * only go up (WAITED: the last one waited for). */
	bool reloading;
	uint64_t waited[MAX_WORKERS];
	/* What the workers share and the process must not: TCP client
	 * counts for the connection limits, and the log's rate limiter. */
	struct server_conns conns;
	struct log_limiter limiter;
};

static void retire_snapshot(struct server *srv, struct snapshot *s);

/* server_load(); sources without records go to EMPTY when it is not NULL
 * (records_load_held), and the origins of what changes against PREV to
 * ORIGINS when it is not NULL.  Runs under load_guarded()'s guard. */
static struct snapshot *
load(const char *path, const struct snapshot *prev, struct diag *d,
    struct diag *empty, struct rdiff_origins *origins)
{
	struct config *cfg;
	struct recset rs;

	if ((cfg = config_load(path, d)) == NULL)
		return NULL;
	recset_init(&rs);
	if (records_load_held(cfg, &rs, d, empty) != 0) {
		recset_clear(&rs);
		config_free(cfg);
		return NULL;
	}
	if (origins != NULL)
		rdiff_origins_collect(origins, &rs, prev);
	return snapshot_new(cfg, &rs, prev, d);
}

/*
 * Everything a load allocates is recorded by a guard (util.h): when memory
 * runs out half way, all of it is freed and the load fails like one with
 * a bad file, leaving the data in service alone.  D, EMPTY and ORIGINS get
 * what the load found only once it is over: what the guard frees must not
 * stay reachable from them.
 */
static struct snapshot *
load_guarded(const char *path, const struct snapshot *prev, struct diag *d,
    struct diag *empty, struct rdiff_origins *origins)
{
	struct oom_guard g;
	struct diag ld, le;
	struct rdiff_origins lo;
	struct snapshot *s;

	diag_init(&ld);
	diag_init(&le);
	rdiff_origins_init(&lo, origins != NULL ? origins->max : 0);
	oom_guard_begin(&g);
	if (setjmp(g.env) != 0) {
		oom_guard_unwind(&g);
		malloc_trim(0);
		diag_add(d, DIAG_ERROR, path, 0, "%s", SERVER_OOM_TEXT);
		return NULL;
	}
	s = load(path, prev, &ld, empty != NULL ? &le : NULL,
	    origins != NULL ? &lo : NULL);
	oom_guard_end(&g);
	diag_move(d, &ld);
	if (empty != NULL)
		diag_move(empty, &le);
	if (origins != NULL) {
		rdiff_origins_clear(origins);
		*origins = lo;
	}
	/* Loading a large source leaves much freed heap behind: give it back,
	 * so that steady memory is the snapshot's and not the loader's peak. */
	malloc_trim(0);
	return s;
}

struct snapshot *
server_load(const char *path, const struct snapshot *prev, struct diag *d)
{
	return load_guarded(path, prev, d, NULL, NULL);
}

bool
server_load_oom(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->msgs[i].text, SERVER_OOM_TEXT) != NULL)
			return true;
	return false;
}

static int
nworkers_for(const struct config *cfg)
{
	long n = cfg->workers;

	if (n <= 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		if (n < 1)
			n = 1;
	}
	return n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

/* Every file of CFG whose change should trigger a reload. */
static void
watch_update(struct server *srv, const struct config *cfg)
{
	char **paths = xcalloc(cfg->nzones + cfg->nsources + cfg->nsource_dirs + 1,
	    sizeof(char *));
	size_t n = 0;

	paths[n++] = xstrdup(srv->config_path);
	/* A secondary zone's file is written by the transfer itself, which
	 * reloads: watching it too would reload twice. */
	for (size_t i = 0; i < cfg->nzones; i++)
		if (cfg->zones[i].file != NULL && cfg->zones[i].nprimaries == 0)
			paths[n++] = xstrdup(cfg->zones[i].file);
	for (size_t i = 0; i < cfg->nsources; i++) {
		const char *s = cfg->sources[i];
		const char *colon = strchr(s, ':');
		/* "csv:/path": the prefix is not part of the file name. */
		if (colon != NULL && colon - s <= 5 && colon[1] == '/')
			s = colon + 1;
		paths[n++] = xstrdup(s);
	}
	for (size_t i = 0; i < cfg->nsource_dirs; i++)
		paths[n++] = xstrdup(cfg->source_dirs[i]);
	if (srv->watch != NULL)
		watch_set(srv->watch, paths, n);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

/*
 * Waits until every worker has acted on the mail of its TICKETS[i].  A
 * reload is done, and its NOTIFY may go out, only then: a secondary asks
 * for the SOA as soon as NOTIFY arrives, and a worker still on the old data
 * would answer with the old serial, which tells the secondary it is up to
 * date.  Likewise a flush is done when no worker can answer from what was
 * flushed.  Workers take their mail within a turn (about a millisecond) and
 * never wait for this thread, so the bound is only a safeguard.
 */
static void
wait_workers(struct server *srv, const uint64_t *tickets, const char *what)
{
	const struct timespec step = { 0, 100 * 1000 };
	uint64_t end = now_ms() + MAIL_WAIT_MS;

	for (int i = 0; i < srv->nworkers; i++) {
		assert(tickets[i] > srv->waited[i]);
		srv->waited[i] = tickets[i];
	}
	for (int i = 0; i < srv->nworkers; i++) {
		while (!worker_mail_done(srv->workers[i], tickets[i])) {
			if (now_ms() >= end) {
				log_warnx("%s: worker %d has not acted on it after %d ms",
				    what, i, MAIL_WAIT_MS);
				return;
			}
			nanosleep(&step, NULL);
		}
	}
}

static bool
listen_changed(const struct config *a, const struct config *b)
{
	if (a->nlisten != b->nlisten)
		return true;
	for (size_t i = 0; i < a->nlisten; i++)
		if (!addr_equal(&a->listen[i], &b->listen[i]))
			return true;
	return false;
}

/* ---- the reload guard (doc/guard.md) ---- */

static void
change_clear(struct reload_change *c)
{
	strv_free(c->reasons);
	strv_free(c->diff);
	memset(c, 0, sizeof(*c));
}

/* Remembers what DF changes from BEFORE to AFTER records, with REASONS
 * (taken over) when it is held. */
static void
change_set(struct reload_change *c, const struct rdiff *df, size_t before,
    size_t after, char **reasons)
{
	char line[2048];
	size_t n = df->n < STATUS_DIFF_MAX ? df->n : STATUS_DIFF_MAX;

	change_clear(c);
	c->time = now_wall();
	c->added = df->added;
	c->removed = df->removed;
	c->changed = df->changed;
	c->before = before;
	c->after = after;
	c->reasons = reasons;
	c->diff = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		c->diff[i] = xstrdup(rdiff_format(&df->v[i], line, sizeof(line)));
	c->more = df->n - n;
}

/* V's strings joined by SEP (caller frees). */
static char *
strv_join(char *const *v, const char *sep)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL)
		abort();
	for (size_t i = 0; v[i] != NULL; i++)
		fprintf(f, "%s%s", i ? sep : "", v[i]);
	if (fclose(f) != 0)
		abort();
	return out;
}

static void
strv_push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 2, sizeof(char *));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/* Whether zone Z (of a snapshot) is a secondary zone in CFG or OLD_CFG. */
static bool
is_secondary(const struct szone *z, const struct config *cfg,
    const struct config *old_cfg)
{
	const struct zone_conf *a = config_zone(cfg, szone_name(z));
	const struct zone_conf *b = config_zone(old_cfg, szone_name(z));

	return (a != NULL && a->nprimaries > 0) || (b != NULL && b->nprimaries > 0);
}

/*
 * Why the change from OLD to NW (DF) must not go into service unasked:
 * sources that gave nothing (EMPTY), zones it empties, or more records
 * removed than max_drop allows.  Secondary zones do not count: their data
 * is what their primary transferred, not a local file.  NULL-terminated
 * (caller frees), or NULL.
 */
static char **
guard_reasons(const struct snapshot *old, const struct snapshot *nw,
    const struct rdiff *df, const struct diag *empty)
{
	const struct config *cfg = snapshot_config(nw), *ocfg = snapshot_config(old);
	size_t before = snapshot_nrecords(old), removed = 0, n = 0;
	char **v = NULL, **gone, *r;

	for (size_t i = 0; i < snapshot_nzones(old); i++) {
		const struct szone *z = snapshot_zone_at(old, i);
		if (is_secondary(z, cfg, ocfg))
			before -= szone_nrecords(z);
	}
	for (size_t i = 0; i < df->n; i++) {
		const struct szone *z;
		if (df->v[i].op != RDIFF_DEL)
			continue;
		z = snapshot_find_zone(old, df->v[i].old.owner);
		if (z == NULL || !is_secondary(z, cfg, ocfg))
			removed++;
	}
	for (size_t i = 0; i < empty->n; i++)
		strv_push(&v, &n, xstrdup(empty->msgs[i].text));
	if ((gone = rdiff_emptied_zones(old, nw)) != NULL) {
		for (size_t i = 0; gone[i] != NULL; i++) {
			const struct szone *z = snapshot_zone_named(old, gone[i]);
			if (z != NULL && is_secondary(z, cfg, ocfg))
				continue;
			xasprintf(&r, "would remove every record of zone %s", gone[i]);
			strv_push(&v, &n, r);
		}
		strv_free(gone);
	}
	if (rdiff_drop_exceeds(before, removed, cfg->max_drop)) {
		xasprintf(&r, "would remove %zu of %zu records (more than max_drop "
		    "= %u%%)", removed, before, cfg->max_drop);
		strv_push(&v, &n, r);
	}
	return v;
}

/* Logs the first lines of DF, at LEVEL (a log function). */
static void
log_diff(const struct rdiff *df, void (*logf)(const char *, ...))
{
	char line[2048];

	for (size_t i = 0; i < df->n && i < LOG_DIFF_MAX; i++)
		logf("  %s", rdiff_format(&df->v[i], line, sizeof(line)));
	if (df->n > LOG_DIFF_MAX)
		logf("  and %zu more", df->n - LOG_DIFF_MAX);
}

/* Sources of CFG (and its zone files) that cannot be read now: their
 * records in service come from an earlier load. */
static void
stale_update(struct server *srv, const struct config *cfg)
{
	size_t n = 0;

	strv_free(srv->stale);
	srv->stale = NULL;
	for (size_t i = 0; i < cfg->nsources + cfg->nzones; i++) {
		const char *p;
		char *r;

		if (i < cfg->nsources) {
			const char *colon = strchr(cfg->sources[i], ':');
			p = cfg->sources[i];
			if (colon != NULL && colon - p <= 5 && colon[1] == '/')
				p = colon + 1;
		} else if ((p = cfg->zones[i - cfg->nsources].file) == NULL ||
		    cfg->zones[i - cfg->nsources].nprimaries > 0)
			continue;
		if (access(p, R_OK) == 0)
			continue;
		xasprintf(&r, "record source %s cannot be read (%s); its records "
		    "are from an earlier load", p, strerror(errno));
		strv_push(&srv->stale, &n, r);
	}
	srv->rs.stale = srv->stale;
}

/* The text a held reload answers with (caller frees). */
static char *
held_text(const struct reload_change *c)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL)
		abort();
	fprintf(f, "reload held: still serving the previous data; pldns ctl "
	    "reload --force (POST /reload?force=1) applies it\n");
	for (size_t i = 0; c->reasons != NULL && c->reasons[i] != NULL; i++)
		fprintf(f, "  %s\n", c->reasons[i]);
	fprintf(f, "%zu added, %zu removed, %zu changed (%zu records in service, "
	    "%zu in the new data)\n", c->added, c->removed, c->changed, c->before,
	    c->after);
	for (size_t i = 0; c->diff[i] != NULL; i++)
		fprintf(f, "%s\n", c->diff[i]);
	if (c->more > 0)
		fprintf(f, "and %zu more\n", c->more);
	if (fclose(f) != 0)
		abort();
	return out;
}

/* Ends a reload that returns RC: MSG goes to *TEXT, or is freed. */
static int
reload_finish(char *msg, char **text, int rc)
{
	sdnotify_ready();
	if (text != NULL)
		*text = msg;
	else
		free(msg);
	return rc;
}

/* The load failed with D: counted, and kept for /status; the answer text. */
static char *
reload_reject(struct server *srv, const struct diag *d)
{
	char *all = diag_join(d), *msg;

	srv->rs.failures++;
	/* Whatever was held is now behind a newer, broken state. */
	srv->rs.held = false;
	srv->rs.held_change = NULL;
	if (server_load_oom(d))
		srv->rs.oom_failures++;
	free(srv->last_error);
	xasprintf(&srv->last_error, "%s", all ? all : "reload failed");
	srv->rs.last_error = srv->last_error;
	xasprintf(&msg, "reload rejected: %zu error%s; still serving the previous data\n%s\n",
	    d->nerrors, d->nerrors == 1 ? "" : "s", all ? all : "");
	log_warnx("reload rejected: %zu errors; still serving the previous data",
	    d->nerrors);
	free(all);
	return msg;
}

/* The reload guard holds S back for REASONS (taken over); DF is its change
 * from the BEFORE records in service.  The answer text. */
static char *
reload_hold(struct server *srv, const struct snapshot *s, const struct rdiff *df,
    size_t before, char **reasons)
{
	char *why = strv_join(reasons, "; ");

	change_set(&srv->held, df, before, snapshot_nrecords(s), reasons);
	srv->rs.held = true;
	srv->rs.holds++;
	srv->rs.held_change = &srv->held;
	log_warnx("reload held: %s; %zu added, %zu removed, %zu changed; "
	    "still serving the previous data (pldns ctl reload --force "
	    "applies it)", why, df->added, df->removed, df->changed);
	log_diff(df, log_warnx);
	free(why);
	/* The files to fix are those of the held configuration. */
	watch_update(srv, snapshot_config(s));
	return held_text(&srv->held);
}

/*
 * Puts S in service: the IXFR journal, every worker (waited for), NOTIFY,
 * the secondaries, the Azure sync, then the main thread's own reference.
 * DF is the change from the BEFORE records in service.
 */
static void
reload_switch(struct server *srv, struct snapshot *s, const struct rdiff *df,
    size_t before)
{
	uint64_t tickets[MAX_WORKERS];

	if (listen_changed(snapshot_config(srv->snap), snapshot_config(s)))
		log_warnx("listen addresses changed: they take effect at the next restart");
	/* The journal first: a worker still on the old data can serve IXFR
	 * up to its serial from it, one on the new data up to the new. */
	xfr_journal_update(srv->journal, srv->snap, s);
	xfr_secondary_publish(srv->sec, s);
	for (int i = 0; i < srv->nworkers; i++)
		tickets[i] = worker_post_snapshot(srv->workers[i], s);
	wait_workers(srv, tickets, "reload");
	xfr_notify_changed(srv->notifier, srv->snap, s);
	xfr_secondary_reconfigure(srv->sec, snapshot_config(s));
	/* The diff points into the old snapshot: keep it as text first. */
	change_clear(&srv->held);
	srv->rs.held = false;
	srv->rs.held_change = NULL;
	if (df->n > 0) {
		change_set(&srv->last, df, before, snapshot_nrecords(s), NULL);
		srv->rs.last_change = &srv->last;
	}
	azure_sync_reconfigure(srv->sync, s);
	retire_snapshot(srv, srv->snap);
	srv->snap = s;
	log_setlevel(snapshot_config(s)->log_level);
	log_query_enable(snapshot_config(s)->query_log);
	srv->rs.reloads++;
	srv->rs.last_success = now_wall();
	watch_update(srv, snapshot_config(s));
}

/* Logs what a reload that started at T0 put in service (DF: the change);
 * the answer text. */
static char *
reload_report(const struct snapshot *s, const struct rdiff *df, uint64_t t0)
{
	char *msg, *lines, *all;

	xasprintf(&msg, "reloaded: %zu zones, %zu records in %llu ms\n", snapshot_nzones(s),
	    snapshot_nrecords(s), (unsigned long long)(now_ms() - t0));
	log_info("%.*s", (int)strlen(msg) - 1, msg);
	if (df->n == 0)
		return msg;
	lines = rdiff_text(df, LOG_DIFF_MAX);
	log_info("changed: %zu added, %zu removed, %zu changed", df->added,
	    df->removed, df->changed);
	log_diff(df, log_info);
	xasprintf(&all, "%s%zu added, %zu removed, %zu changed\n%s", msg,
	    df->added, df->removed, df->changed, lines);
	free(lines);
	free(msg);
	return all;
}

static int
reload_run(struct server *srv, bool force, char **text)
{
	struct diag d, empty;
	struct snapshot *s;
	struct rdiff df;
	struct rdiff_origins origins;
	uint64_t t0 = now_ms();
	char *msg, **reasons;
	size_t before = snapshot_nrecords(srv->snap);

	sdnotify_reloading();
	srv->rs.last_attempt = now_wall();
	diag_init(&d);
	diag_init(&empty);
	rdiff_origins_init(&origins, ORIGINS_MAX);
	s = load_guarded(srv->config_path, srv->snap, &d, &empty, &origins);
	for (size_t i = 0; i < d.n; i++)
		log_warnx("%s", d.msgs[i].text);
	stale_update(srv, snapshot_config(s != NULL ? s : srv->snap));
	if (s == NULL) {
		msg = reload_reject(srv, &d);
		diag_clear(&d);
		diag_clear(&empty);
		rdiff_origins_clear(&origins);
		return reload_finish(msg, text, -1);
	}
	diag_clear(&d);
	rdiff_init(&df);
	rdiff_snapshots(&df, srv->snap, s);
	rdiff_sort(&df);
	/* DF borrows the origins' file names from here on. */
	rdiff_origins_apply(&df, &origins);
	reasons = guard_reasons(srv->snap, s, &df, &empty);
	diag_clear(&empty);
	if (reasons != NULL && !force) {
		msg = reload_hold(srv, s, &df, before, reasons);
		rdiff_clear(&df);
		rdiff_origins_clear(&origins);
		snapshot_unref(s);
		return reload_finish(msg, text, 1);
	}
	if (reasons != NULL)
		for (size_t i = 0; reasons[i] != NULL; i++)
			log_warnx("reload forced: %s", reasons[i]);
	strv_free(reasons);
	reload_switch(srv, s, &df, before);
	msg = reload_report(s, &df, t0);
	rdiff_clear(&df);
	rdiff_origins_clear(&origins);
	return reload_finish(msg, text, 0);
}

int
server_reload(struct server *srv, bool force, char **text)
{
	int rc;

	assert(!srv->reloading);
	srv->reloading = true;
	rc = reload_run(srv, force, text);
	srv->reloading = false;
	return rc;
}

/*
 * Frees the replaced snapshots that only this thread still holds.  The last
 * reference would otherwise often be a worker's, and freeing a large
 * snapshot (a million records: 130 MB to unmap) would stall that worker's
 * queries for milliseconds in the middle of a reload.
 */
static void
retire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct timeval tv = { 0, RETIRE_CHECK_MS * 1000 };
	bool freed = false;
	int k = 0;

	for (int i = 0; i < srv->nretired; i++) {
		if (snapshot_refs(srv->retired[i]) == 1) {
			snapshot_unref(srv->retired[i]);
			freed = true;
		} else
			srv->retired[k++] = srv->retired[i];
	}
	srv->nretired = k;
	if (freed)
		malloc_trim(0);
	if (srv->nretired > 0)
		evtimer_add(srv->ev_retire, &tv);
}

static void
retire_snapshot(struct server *srv, struct snapshot *s)
{
	struct timeval tv = { 0, RETIRE_CHECK_MS * 1000 };

	if (srv->nretired == RETIRED_MAX) {
		/* Reloads faster than readers let go: the oldest is released
		 * (and freed by whoever holds it last). */
		snapshot_unref(srv->retired[0]);
		memmove(srv->retired, srv->retired + 1,
		    (RETIRED_MAX - 1) * sizeof(srv->retired[0]));
		srv->nretired--;
	}
	srv->retired[srv->nretired++] = s;
	evtimer_add(srv->ev_retire, &tv);
}

/* A secondary zone was transferred and written: serve it. */
static void
secondary_changed_cb(void *arg)
{
	server_reload(arg, false, NULL);
}

static void
watch_fired_cb(void *arg)
{
	log_info("a configuration or record file changed: reloading");
	server_reload(arg, false, NULL);
}

static void
log_stats(struct server *srv)
{
	struct metrics m, t;

	memset(&m, 0, sizeof(m));
	for (int i = 0; i < srv->nworkers; i++) {
		worker_metrics(srv->workers[i], &t);
		metrics_add(&m, &t);
	}
	log_info("stats: queries udp %llu tcp %llu; local %llu synthesized %llu spliced %llu "
	    "upstream %llu cache %llu refused %llu error %llu; truncated %llu formerr %llu "
	    "dropped %llu; upstream sent %llu answered %llu timeouts %llu refused %llu "
	    "spoofed %llu; rate limit dropped %llu truncated %llu; reloads %llu failed %llu",
	    (unsigned long long)m.queries[MT_UDP], (unsigned long long)m.queries[MT_TCP],
	    (unsigned long long)m.path[PATH_LOCAL], (unsigned long long)m.path[PATH_SYNTH],
	    (unsigned long long)m.path[PATH_SPLICED], (unsigned long long)m.path[PATH_UPSTREAM],
	    (unsigned long long)m.path[PATH_CACHE], (unsigned long long)m.path[PATH_REFUSED],
	    (unsigned long long)m.path[PATH_ERROR], (unsigned long long)m.truncated,
	    (unsigned long long)m.formerr, (unsigned long long)m.dropped,
	    (unsigned long long)m.up_sent, (unsigned long long)m.up_answered,
	    (unsigned long long)m.up_timeouts, (unsigned long long)m.up_refused,
	    (unsigned long long)m.up_spoofed, (unsigned long long)m.rrl_dropped,
	    (unsigned long long)m.rrl_slipped, (unsigned long long)srv->rs.reloads,
	    (unsigned long long)srv->rs.failures);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("stopping");
		sdnotify_stopping();
		/* Workers stop accepting, finish what is in flight (2 s at
		 * most) and end; then the main loop ends. */
		for (int i = 0; i < srv->nworkers; i++)
			worker_post_stop(srv->workers[i]);
		event_base_loopexit(srv->base, NULL);
		break;
	case SIGHUP:
		server_reload(srv, false, NULL);
		break;
	case SIGUSR1:
		log_stats(srv);
		break;
	}
}

/* ---- control endpoint glue ---- */

static void
ctl_metrics(void *arg, struct metrics *sum)
{
	struct server *srv = arg;
	struct metrics t;

	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i < srv->nworkers; i++) {
		worker_metrics(srv->workers[i], &t);
		metrics_add(sum, &t);
	}
}

static size_t
ctl_upstreams(void *arg, struct upstream_info *out, size_t max)
{
	struct server *srv = arg;
	struct upstream_info tmp[64];
	size_t n = 0;

	/* Merge the workers' views of each server. */
	for (int i = 0; i < srv->nworkers; i++) {
		size_t k = worker_upstreams(srv->workers[i], tmp, 64);
		for (size_t j = 0; j < k; j++) {
			size_t m;
			for (m = 0; m < n; m++)
				if (addr_equal(&out[m].addr, &tmp[j].addr))
					break;
			if (m == n) {
				if (n == max)
					continue;
				out[n++] = tmp[j];
				continue;
			}
			control_upstream_add(&out[m], &tmp[j]);
		}
	}
	return n;
}

static struct snapshot *
ctl_snapshot(void *arg)
{
	struct server *srv = arg;

	snapshot_ref(srv->snap);
	return srv->snap;
}

static void
ctl_reload_state(void *arg, struct reload_state *out)
{
	struct server *srv = arg;

	*out = srv->rs;
}

static int
ctl_reload(void *arg, char **text)
{
	return server_reload(arg, false, text);
}

static int
ctl_reload_force(void *arg, char **text)
{
	return server_reload(arg, true, text);
}

static int
ctl_sync(void *arg, const char *name, char **text)
{
	struct server *srv = arg;

	if (azure_sync_request(srv->sync, name) == -1) {
		xasprintf(text, "no [azure \"%s\"] section\n", name);
		return -1;
	}
	xasprintf(text, "sync started%s%s%s\n", name ? " for azure \"" : "",
	    name ? name : "", name ? "\"" : "");
	return 0;
}

static json_t *
ctl_sync_status(void *arg)
{
	struct server *srv = arg;

	return azure_sync_status(srv->sync);
}

static void
ctl_flush(void *arg, const char *name)
{
	struct server *srv = arg;
	uint64_t tickets[MAX_WORKERS];
	uint8_t w[WIRE_NAME_MAX];
	const char *err;
	int l;

	if (name != NULL) {
		if ((l = wire_name_from_str(name, w, &err)) < 0)
			return;
		wire_name_lower(w, w, (size_t)l);
	}
	for (int i = 0; i < srv->nworkers; i++)
		tickets[i] = worker_post_flush(srv->workers[i], name != NULL ? w : NULL);
	wait_workers(srv, tickets, "flush");
}

static void
ctl_cache(void *arg, struct cache_info *out)
{
	struct server *srv = arg;
	struct cache_info t;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < srv->nworkers; i++) {
		worker_cache_info(srv->workers[i], &t);
		control_cache_add(out, &t);
	}
}

/*
 * The workers' tables of names clients miss, merged.  Each worker copies
 * its own table when its mail asks, so nothing on the query path locks; a
 * worker that has not acted on the request within the bound is left out
 * (its copy may still be being written).  Workers count in monotonic
 * seconds; the result is in wall-clock seconds.
 */
static struct missing *
ctl_missing(void *arg)
{
	struct server *srv = arg;
	uint64_t tickets[MAX_WORKERS];
	bool done[MAX_WORKERS];
	struct missing *all;
	struct timespec ts;
	size_t total = 0;

	for (int i = 0; i < srv->nworkers; i++)
		tickets[i] = worker_post_missing(srv->workers[i]);
	wait_workers(srv, tickets, "missing names");
	for (int i = 0; i < srv->nworkers; i++) {
		done[i] = worker_mail_done(srv->workers[i], tickets[i]);
		if (done[i])
			total += missing_size(worker_missing(srv->workers[i]));
	}
	/* Room for every name of every worker: the merge loses nothing. */
	all = missing_new(total > 0 ? total : 1);
	for (int i = 0; i < srv->nworkers; i++)
		if (done[i])
			missing_merge(all, worker_missing(srv->workers[i]));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	missing_shift_times(all, (int64_t)now_wall() - (int64_t)ts.tv_sec);
	return all;
}

/* ---- life cycle ---- */

/* server_new() failed: the reasons go out before server_free() says "stopped". */
static struct server *
new_failed(struct server *srv, const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		log_err("%s", d->msgs[i].text);
	server_free(srv);
	return NULL;
}

struct server *
server_new(const char *config_path, struct snapshot *snap, struct diag *d)
{
	const struct config *cfg = snapshot_config(snap);
	struct server *srv = xcalloc(1, sizeof(*srv));
	static const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	int n = nworkers_for(cfg);

	/* Workers' mailboxes are activated from this thread. */
	evthread_use_pthreads();
	srv->config_path = xstrdup(config_path);
	srv->snap = snap;
	server_conns_init(&srv->conns);
	log_limiter_init(&srv->limiter);
	log_limiter_use(&srv->limiter);
	srv->start_time = now_wall();
	srv->base = event_base_new();
	if (srv->base == NULL)
		fatalx("event_base_new failed");
	srv->ev_retire = evtimer_new(srv->base, retire_cb, srv);
	for (int i = 0; i < n; i++) {
		struct worker *w = worker_new(i, snap, &srv->conns, d);
		if (w == NULL)
			break;
		srv->workers[srv->nworkers++] = w;
	}
	if (d->nerrors > 0)
		return new_failed(srv, d);
	worker_share_caches(srv->workers, srv->nworkers);
	srv->journal = xfr_journal_new(XFR_JOURNAL_CHANGES);
	srv->notifier = xfr_notifier_new(srv->base);
	srv->sec = xfr_secondary_new(srv->base, cfg, secondary_changed_cb, srv);
	xfr_secondary_publish(srv->sec, snap);
	for (int i = 0; i < srv->nworkers; i++)
		worker_set_xfr(srv->workers[i], srv->journal, srv->sec);
	xfr_notify_changed(srv->notifier, NULL, snap);
	struct control_ops ops = {
		.arg = srv, .metrics = ctl_metrics, .upstreams = ctl_upstreams,
		.snapshot = ctl_snapshot, .reload_state = ctl_reload_state,
		.reload = ctl_reload, .flush = ctl_flush, .cache = ctl_cache,
		.start_time = srv->start_time,
		.reload_force = ctl_reload_force,
		.sync = ctl_sync, .sync_status = ctl_sync_status,
	};
	ops.missing = ctl_missing;
	srv->control = control_new(srv->base, cfg, &ops, d);
	if (d->nerrors > 0)
		return new_failed(srv, d);
	for (int i = 0; i < 4; i++) {
		srv->sig[i] = evsignal_new(srv->base, sigs[i], signal_cb, srv);
		evsignal_add(srv->sig[i], NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	srv->watch = watch_new(srv->base, watch_fired_cb, srv);
	srv->sync = azure_sync_new(srv->base, srv->snap, ctl_reload, srv);
	watch_update(srv, snapshot_config(srv->snap));
	srv->rs.ready = true;
	return srv;
}

int
server_drop_privileges(struct server *srv)
{
	const struct config *cfg = snapshot_config(srv->snap);
	const char *user = cfg->user;
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if (user == NULL) {
		/* Default: the "pldns" user when it exists, else stay (with a
		 * warning: running as root is a choice to make knowingly). */
		if ((pw = getpwnam("pldns")) == NULL) {
			log_warnx("running as root: create a \"pldns\" user or set [server] user");
			return 0;
		}
	} else if ((pw = getpwnam(user)) == NULL) {
		log_warnx("user \"%s\" does not exist", user);
		return -1;
	}
	/* The secondary zones are written after the switch. */
	xfr_secondary_chown(srv->sec, pw->pw_uid, pw->pw_gid);
	if (setgroups(1, &pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		log_warn("cannot drop privileges to %s", pw->pw_name);
		return -1;
	}
	log_info("running as %s", pw->pw_name);
	return 0;
}

int
server_run(struct server *srv)
{
	const struct config *cfg = snapshot_config(srv->snap);
	char buf[64];

	for (int i = 0; i < srv->nworkers; i++)
		if (worker_start(srv->workers[i]) != 0)
			fatal("cannot start worker thread");
	for (size_t i = 0; i < cfg->nlisten; i++)
		log_info("listening on %s (udp, tcp)", addr_str(&cfg->listen[i], buf, sizeof(buf)));
	log_info("serving %zu zones, %zu records; %zu upstreams, %zu forward rules, %d workers",
	    snapshot_nzones(srv->snap), snapshot_nrecords(srv->snap), cfg->nupstreams,
	    cfg->nforwards, srv->nworkers);
	sdnotify_ready();
	event_base_dispatch(srv->base);
	return srv->status;
}

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	/* Joining waits for each worker's graceful stop; all of them before
	 * any is freed, since each may read the others' caches until then. */
	for (int i = 0; i < srv->nworkers; i++)
		worker_join(srv->workers[i]);
	for (int i = 0; i < srv->nworkers; i++)
		worker_join_free(srv->workers[i]);
	/* After the workers: they read the journal and hand NOTIFY over. */
	xfr_secondary_free(srv->sec);
	azure_sync_free(srv->sync);
	xfr_notifier_free(srv->notifier);
	xfr_journal_free(srv->journal);
	control_free(srv->control);
	watch_free(srv->watch);
	/* Every thread that logs or counts connections has ended. */
	log_limiter_use(NULL);
	log_limiter_clear(&srv->limiter);
	server_conns_clear(&srv->conns);
	for (int i = 0; i < 4; i++)
		if (srv->sig[i] != NULL)
			event_free(srv->sig[i]);
	if (srv->ev_retire != NULL)
		event_free(srv->ev_retire);
	if (srv->base != NULL)
		event_base_free(srv->base);
	for (int i = 0; i < srv->nretired; i++)
		snapshot_unref(srv->retired[i]);
	snapshot_unref(srv->snap);
	change_clear(&srv->held);
	change_clear(&srv->last);
	strv_free(srv->stale);
	free(srv->last_error);
	free(srv->config_path);
	free(srv);
	log_info("stopped");
}
