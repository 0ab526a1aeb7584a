/*
 * azure_sync_run: the daemon's side of the Azure sync (a thread doing
 * blocking HTTP, timers and results on the main loop).  The pldns sync
 * verb is sync_now.c.
 *
 * Why a thread with blocking libcurl calls rather than curl multi on the
 * main loop: a sync is a long chain of dependent requests (token, zone
 * list, each zone's pages, links), written most plainly as straight-line
 * code with retries and back-off; the main loop keeps only timers and one
 * event for results, so a slow Azure never delays a reload, the control
 * endpoint or a worker.  One thread serves every section in turn: one
 * request in flight, which is also what ARM's throttling asks for.
 *
 * Everything a sync costs in proportion to its records is done by the sync
 * thread, at the lowest priority: the comparison with the data in service,
 * the state file, and freeing the trees the main thread lets go of.  The
 * main thread shares a CPU with a worker, and its milliseconds of JSON were
 * milliseconds added to the queries behind them (doc/design.md, "What a
 * sync costs the queries").  Only a sync that changes something costs the
 * main thread more: the reload, like any other.
 *
 * So the sync thread keeps its own copy of the last data it fetched for
 * each section, and numbers its fetches.  A job names the fetch whose data
 * the store holds; a fetch equal to it comes back as "unchanged" with no
 * data at all.  No tree is ever shared between the threads: a tree changes
 * hands through the job and result lists, under their mutex.
 */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sync/azure_sync.h"
#include "sync/http.h"
#include "util/log.h"
#include "data/records.h"
#include "data/records_load.h"
#include "util/util.h"

#define LOG_REPEAT_S	600	/* the same error is logged again after this */

enum job_kind {
	JOB_FETCH,		/* sync a section */
	JOB_WRITE,		/* keep a fetch's data in the state file */
	JOB_DROP		/* free a tree */
};

struct job {
	enum job_kind kind;
	struct snapshot *snap;	/* FETCH, WRITE: holds the config read */
	size_t ai;		/* FETCH: index of the [azure] section in it */
	char *name;		/* WRITE: the section */
	uint64_t fetch;		/* FETCH: the fetch whose data is in the store
				 * (0: none); WRITE: the fetch to keep */
	uint64_t synced_at;	/* WRITE */
	json_t *drop;		/* DROP: a tree the main thread let go of */
	struct job *next;
};

struct result {
	enum job_kind kind;	/* FETCH, or WRITE (which failed) */
	char *name;
	json_t *data;		/* NULL: failed, or unchanged */
	uint64_t fetch;		/* the fetch DATA is; unchanged: the store's */
	bool differs;		/* DATA was compared with the store's: not equal */
	char *err;		/* NULL: success */
	struct azure_fetch_stats st;
	uint64_t ms;
	struct result *next;
};

/* The sync thread's copy of a section's last fetched data. */
struct kept {
	char *name;
	json_t *data;		/* NULL when the copy failed */
	uint64_t fetch;
};

struct tokslot {
	char *key;		/* who the token is for (name, auth, ids, URLs) */
	struct azure_token tok;
};

struct sect {
	struct azure_sync *sync;
	char *name;
	unsigned interval;
	bool present;		/* in the config in service */
	bool busy;		/* a job is queued or running */
	bool again;		/* asked for while busy */
	struct event *timer;
	uint64_t last_success, last_attempt;	/* wall seconds */
	char *last_error;
	char *held;		/* the store's data is held by the reload
				 * guard (not in service): why, or NULL */
	uint64_t errors, syncs;
	uint64_t fetch;		/* the fetch whose data is in the store (0:
				 * the state file's, or none) */
	char *logged;		/* the last error logged, and when */
	uint64_t logged_at;
};

struct azure_sync {
	struct event_base *base;
	struct snapshot *snap;
	azure_reload_fn reload;
	void *arg;
	struct sect **sects;
	size_t nsects;

	/* Between the main thread and the sync thread. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *jobs, **jobs_tail;
	struct result *results;
	struct event *ev_result;
	atomic_int stop;
	bool thread_started;
	pthread_t thread;

	/* The sync thread's own (the main thread's once it has joined). */
	struct tokslot *toks;
	size_t ntoks;
	struct kept *kept;
	size_t nkept;
	uint64_t fetches;
};

/* ---- the sync thread ---- */

static struct azure_token *
token_for(struct azure_sync *s, const struct azure_conf *az)
{
	char *key;

	xasprintf(&key, "%s|%d|%s|%s|%s|%s|%s", az->name, az->auth,
	    az->tenant ? az->tenant : "", az->client_id ? az->client_id : "",
	    az->management_url, az->login_url, az->identity_url);
	for (size_t i = 0; i < s->ntoks; i++)
		if (strcmp(s->toks[i].key, key) == 0) {
			free(key);
			return &s->toks[i].tok;
		}
	s->toks = xreallocarray(s->toks, s->ntoks + 1, sizeof(*s->toks));
	memset(&s->toks[s->ntoks], 0, sizeof(s->toks[0]));
	s->toks[s->ntoks].key = key;
	return &s->toks[s->ntoks++].tok;
}

static struct kept *
kept_for(struct azure_sync *s, const char *name)
{
	for (size_t i = 0; i < s->nkept; i++)
		if (strcmp(s->kept[i].name, name) == 0)
			return &s->kept[i];
	s->kept = xreallocarray(s->kept, s->nkept + 1, sizeof(*s->kept));
	memset(&s->kept[s->nkept], 0, sizeof(s->kept[0]));
	s->kept[s->nkept].name = xstrdup(name);
	return &s->kept[s->nkept++];
}

static void
post_result(struct azure_sync *s, struct result *r)
{
	pthread_mutex_lock(&s->mu);
	r->next = s->results;
	s->results = r;
	pthread_mutex_unlock(&s->mu);
	event_active(s->ev_result, EV_READ, 0);
}

/* A sync of the section J names: its new data, or "unchanged" when the
 * data equals the store's (J->fetch). */
static void
run_fetch(struct azure_sync *s, struct job *j)
{
	const struct config *cfg = snapshot_config(j->snap);
	const struct azure_conf *az = &cfg->azures[j->ai];
	struct result *r = xcalloc(1, sizeof(*r));
	struct kept *k;
	json_t *data = NULL;
	char err[2048];
	uint64_t t0;

	r->kind = JOB_FETCH;
	r->name = xstrdup(az->name);
	t0 = now_ms();
	err[0] = '\0';
	if (azure_sync_fetch(cfg, az, token_for(s, az), &s->stop, &data,
	    &r->st, err, sizeof(err)) == -1)
		r->err = xstrdup(err);
	else {
		bool comparable;

		k = kept_for(s, az->name);
		/* The copy is of the fetch the store holds. */
		comparable = j->fetch != 0 && k->fetch == j->fetch &&
		    k->data != NULL;
		if (comparable && json_equal(k->data, data)) {
			json_decref(data);
			r->fetch = j->fetch;
		} else {
			r->differs = comparable;
			if (k->data != NULL)
				json_decref(k->data);
			/* Without a copy the next fetch goes to the main
			 * thread whole, which compares it with the store. */
			k->data = json_deep_copy(data);
			k->fetch = r->fetch = ++s->fetches;
			r->data = data;
		}
	}
	r->ms = now_ms() - t0;
	post_result(s, r);
}

/* Writes the state file of the section J names, if the fetch J names is
 * the one kept.  Returns NULL, or why it failed (to free). */
static char *
run_write(struct azure_sync *s, struct job *j)
{
	const struct config *cfg = snapshot_config(j->snap);
	struct kept *k = kept_for(s, j->name);
	char *path, err[512];
	int rc;

	/* Another fetch since: its data, if it goes in service, is kept by
	 * a job of its own. */
	if (k->fetch != j->fetch || k->data == NULL)
		return NULL;
	path = azure_state_path(cfg, j->name);
	rc = azure_state_write(path, j->name, k->data, j->synced_at, err,
	    sizeof(err));
	free(path);
	return rc == -1 ? xstrdup(err) : NULL;
}

static void
write_failed(const char *name, const char *err)
{
	log_warnx("azure \"%s\": cannot keep the synced data: %s", name, err);
}

static void
job_free(struct job *j)
{
	if (j->snap != NULL)
		snapshot_unref(j->snap);
	if (j->drop != NULL)
		json_decref(j->drop);
	free(j->name);
	free(j);
}

static void *
sync_thread(void *arg)
{
	struct azure_sync *s = arg;

	/*
	 * Background work: on a CPU shared with a worker, the worker first.
	 * SCHED_IDLE rather than nice 19: a thread at nice 19 that the
	 * scheduler has picked keeps the CPU for its slice (milliseconds)
	 * when a worker wakes, while a SCHED_IDLE thread yields at once.
	 * Measured by tests/bench/sync_bench.py: p99 1.4 ms during unchanged
	 * syncs at nice 19, against 0.2 ms without syncs.  (Linux: the
	 * policy and the nice value are the thread's own.)
	 */
	{
		struct sched_param sp = { .sched_priority = 0 };

		if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0 &&
		    setpriority(PRIO_PROCESS, (id_t)gettid(), 19) == -1)
			log_debug("%s: cannot lower the sync thread's priority",
			    __func__);
	}

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&s->mu);
		while (s->jobs == NULL && !atomic_load(&s->stop))
			pthread_cond_wait(&s->cv, &s->mu);
		if (atomic_load(&s->stop)) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		j = s->jobs;
		s->jobs = j->next;
		if (s->jobs == NULL)
			s->jobs_tail = &s->jobs;
		pthread_mutex_unlock(&s->mu);

		if (j->kind == JOB_FETCH)
			run_fetch(s, j);
		else if (j->kind == JOB_WRITE) {
			struct result *r = xcalloc(1, sizeof(*r));

			/* A failure is logged by the main thread. */
			if ((r->err = run_write(s, j)) != NULL) {
				r->kind = JOB_WRITE;
				r->name = xstrdup(j->name);
				post_result(s, r);
			} else
				free(r);
		}
		job_free(j);
	}
	return NULL;
}

/* ---- the main thread ---- */

static void
result_free(struct result *r)
{
	if (r->data != NULL)
		json_decref(r->data);
	free(r->err);
	free(r->name);
	free(r);
}

static void
job_post(struct azure_sync *s, struct job *j)
{
	pthread_mutex_lock(&s->mu);
	*s->jobs_tail = j;
	s->jobs_tail = &j->next;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Lets go of DATA: the sync thread frees it (a tree of thousands of
 * records takes milliseconds to free). */
static void
sync_drop(struct azure_sync *s, json_t *data)
{
	struct job *j;

	if (data == NULL)
		return;
	if (!s->thread_started) {
		json_decref(data);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->kind = JOB_DROP;
	j->drop = data;
	job_post(s, j);
}

static struct sect *
sect_find(struct azure_sync *s, const char *name)
{
	for (size_t i = 0; i < s->nsects; i++)
		if (strcmp(s->sects[i]->name, name) == 0)
			return s->sects[i];
	return NULL;
}

static void
sect_schedule(struct sect *c, unsigned secs)
{
	struct timeval tv = { secs, 0 };

	evtimer_add(c->timer, &tv);
}

/* Queues a sync of C (unless one is queued or running). */
static void
sect_start(struct sect *c)
{
	struct azure_sync *s = c->sync;
	const struct config *cfg = snapshot_config(s->snap);
	struct job *j;
	size_t ai;

	if (c->busy) {
		c->again = true;
		return;
	}
	for (ai = 0; ai < cfg->nazures; ai++)
		if (strcmp(cfg->azures[ai].name, c->name) == 0)
			break;
	if (ai == cfg->nazures)
		return;
	if (!s->thread_started) {
		http_global_init();
		if (pthread_create(&s->thread, NULL, sync_thread, s) != 0) {
			log_warnx("azure \"%s\": cannot start the sync thread",
			    c->name);
			sect_schedule(c, c->interval);
			return;
		}
		s->thread_started = true;
	}
	c->busy = true;
	c->last_attempt = now_wall();
	j = xcalloc(1, sizeof(*j));
	j->kind = JOB_FETCH;
	snapshot_ref(s->snap);
	j->snap = s->snap;
	j->ai = ai;
	j->fetch = c->fetch;
	job_post(s, j);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	sect_start(arg);
}

/* An error of C: counted, shown in the status, logged (not every time). */
static void
sect_error(struct sect *c, const char *msg)
{
	uint64_t now = now_wall();

	c->errors++;
	free(c->last_error);
	c->last_error = xstrdup(msg);
	azure_state_error(snapshot_config(c->sync->snap), c->name, msg);
	if (c->logged != NULL && strcmp(c->logged, msg) == 0 &&
	    now - c->logged_at < LOG_REPEAT_S)
		return;
	free(c->logged);
	c->logged = xstrdup(msg);
	c->logged_at = now;
	if (msg == c->held)
		log_warnx("azure \"%s\": %s", c->name, msg);
	else
		log_warnx("azure \"%s\": sync failed, still serving the previous "
		    "data: %s", c->name, msg);
}

/* The reasons of a held reload's TEXT (its indented lines), one line. */
static char *
held_msg(const char *text)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	const char *sep = "";

	if (f == NULL)
		abort();
	fprintf(f, "the synced data is held by the reload guard: ");
	for (const char *p = text; p != NULL && *p != '\0'; ) {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if (n > 2 && strncmp(p, "  ", 2) == 0) {
			fprintf(f, "%s%.*s", sep, (int)(n - 2), p + 2);
			sep = "; ";
		}
		p = nl != NULL ? nl + 1 : NULL;
	}
	if (*sep == '\0')
		fprintf(f, "reload held");
	fprintf(f, " (pldns ctl reload --force applies it)");
	if (fclose(f) != 0)
		abort();
	return out;
}

/* The data of C in the store is in service now: the sync succeeded, and
 * it is the last good sync to start from. */
static void
sect_in_service(struct sect *c, const struct config *cfg, uint64_t now)
{
	struct store_ent *e = azure_store_get(c->name, false);
	struct job *j;

	free(c->held);
	c->held = NULL;
	c->last_success = now;
	azure_state_error(cfg, c->name, NULL);
	free(c->last_error);
	c->last_error = NULL;
	free(c->logged);
	c->logged = NULL;
	if (e == NULL || e->data == NULL)
		return;
	/* The sync thread writes its copy of the same fetch. */
	assert(c->fetch != 0 && c->sync->thread_started);
	j = xcalloc(1, sizeof(*j));
	j->kind = JOB_WRITE;
	snapshot_ref(c->sync->snap);
	j->snap = c->sync->snap;
	j->name = xstrdup(c->name);
	j->fetch = c->fetch;
	j->synced_at = e->synced_at;
	job_post(c->sync, j);
}

static void
sect_result(struct azure_sync *s, struct sect *c, struct result *r)
{
	const struct config *cfg = snapshot_config(s->snap);
	struct store_ent *e = azure_store_get(c->name, true);
	uint64_t now = now_wall(), old_at, old_fetch;
	char *text = NULL;
	json_t *old, *bad;
	int rc;

	c->syncs++;
	if (r->err != NULL) {
		sect_error(c, r->err);
		return;
	}
	/* No data: the sync thread found it equal to the store's.  Data the
	 * thread had nothing to compare with (the first sync, or one after
	 * a rejected sync) is compared here. */
	if (r->data == NULL || (!r->differs && e->data != NULL &&
	    json_equal(e->data, r->data))) {
		/* Nothing changed: nothing to swap; the data is fresh. */
		if (r->data != NULL) {
			/* The thread's copy is this fetch: the store's data. */
			c->fetch = r->fetch;
			sync_drop(s, r->data);
			r->data = NULL;
		}
		e->synced_at = now;
		if (c->held != NULL) {
			/* Still not in service: no success to report. */
			sect_error(c, c->held);
			return;
		}
		sect_in_service(c, cfg, now);
		return;
	}
	old = e->data != NULL ? json_incref(e->data) : NULL;
	old_at = e->synced_at;
	old_fetch = c->fetch;
	azure_store_set(e, r->data, now);
	r->data = NULL;
	c->fetch = r->fetch;
	rc = s->reload(s->arg, &text);
	if (rc == 1) {
		/* Held: the new data stays in the store, where a forced reload
		 * finds it; azure_sync_reconfigure() sees it go in service. */
		sync_drop(s, old);
		free(c->held);
		c->held = held_msg(text);
		free(text);
		sect_error(c, c->held);
		return;
	}
	if (rc != 0) {
		char *msg;

		/* Rejected: the previous data stays, in the store too, as old
		 * as it was. */
		bad = json_incref(e->data);
		azure_store_set(e, old, old_at);
		sync_drop(s, bad);
		c->fetch = old_fetch;
		xasprintf(&msg, "the synced data was rejected: %s",
		    text ? text : "reload failed");
		/* One line for the log. */
		for (char *p = msg; *p != '\0'; p++)
			if (*p == '\n')
				*p = ' ';
		sect_error(c, msg);
		free(msg);
		free(text);
		return;
	}
	free(text);
	sync_drop(s, old);
	sect_in_service(c, cfg, now);
	log_info("azure \"%s\": synced %zu records (%u zones, %u requests, "
	    "%llu ms)", c->name, e->records, r->st.zones, r->st.requests,
	    (unsigned long long)r->ms);
}

static void
result_cb(evutil_socket_t fd, short what, void *arg)
{
	struct azure_sync *s = arg;
	struct result *list, *r;

	pthread_mutex_lock(&s->mu);
	list = s->results;
	s->results = NULL;
	pthread_mutex_unlock(&s->mu);
	while ((r = list) != NULL) {
		struct sect *c = sect_find(s, r->name);

		list = r->next;
		if (r->kind == JOB_WRITE)
			write_failed(r->name, r->err);
		else if (c != NULL) {
			c->busy = false;
			if (c->present)
				sect_result(s, c, r);
			if (c->present && c->again) {
				c->again = false;
				sect_start(c);
			} else if (c->present)
				sect_schedule(c, c->interval);
		}
		result_free(r);
	}
}

/* At start: how old the data served until the first sync is. */
static void
sect_report_age(const struct sect *c)
{
	struct store_ent *e = azure_store_get(c->name, false);
	uint64_t now = now_wall();

	if (e != NULL && e->data != NULL)
		log_info("azure \"%s\": serving %zu records from the last good "
		    "sync, %llu s old, until the first sync", c->name,
		    e->records, (unsigned long long)(now >
		    e->synced_at ? now - e->synced_at : 0));
	else
		log_info("azure \"%s\": no synced data yet", c->name);
}

struct azure_sync *
azure_sync_new(struct event_base *base, struct snapshot *snap,
    azure_reload_fn reload, void *arg)
{
	struct azure_sync *s = xcalloc(1, sizeof(*s));

	s->base = base;
	s->reload = reload;
	s->arg = arg;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->jobs_tail = &s->jobs;
	atomic_init(&s->stop, 0);
	s->ev_result = event_new(base, -1, 0, result_cb, s);
	azure_sync_reconfigure(s, snap);
	return s;
}

void
azure_sync_reconfigure(struct azure_sync *s, struct snapshot *snap)
{
	const struct config *cfg = snapshot_config(snap);

	snapshot_ref(snap);
	if (s->snap != NULL)
		snapshot_unref(s->snap);
	s->snap = snap;
	for (size_t i = 0; i < s->nsects; i++)
		s->sects[i]->present = false;
	for (size_t i = 0; i < cfg->nazures; i++) {
		const struct azure_conf *az = &cfg->azures[i];
		struct sect *c = sect_find(s, az->name);

		if (c == NULL) {
			c = xcalloc(1, sizeof(*c));
			c->sync = s;
			c->name = xstrdup(az->name);
			c->timer = evtimer_new(s->base, timer_cb, c);
			s->sects = xreallocarray(s->sects, s->nsects + 1,
			    sizeof(*s->sects));
			s->sects[s->nsects++] = c;
			c->interval = az->interval;
			c->present = true;
			/* The first sync at once: the state file may be old. */
			sect_schedule(c, 0);
			sect_report_age(c);
			continue;
		}
		c->present = true;
		/* A reload succeeded: the data the guard held (still in the
		 * store, which every reload reads) is in service now. */
		if (c->held != NULL) {
			log_info("azure \"%s\": the held synced data is in "
			    "service", c->name);
			sect_in_service(c, cfg, now_wall());
		}
		if (c->interval != az->interval) {
			c->interval = az->interval;
			if (!c->busy)
				sect_schedule(c, c->interval);
		}
	}
	for (size_t i = 0; i < s->nsects; i++)
		if (!s->sects[i]->present)
			evtimer_del(s->sects[i]->timer);
}

int
azure_sync_request(struct azure_sync *s, const char *name)
{
	bool found = false;

	for (size_t i = 0; i < s->nsects; i++) {
		struct sect *c = s->sects[i];

		if (!c->present || (name != NULL && strcmp(c->name, name) != 0))
			continue;
		found = true;
		evtimer_del(c->timer);
		sect_start(c);
	}
	return found || name == NULL ? 0 : -1;
}

json_t *
azure_sync_status(struct azure_sync *s)
{
	json_t *arr = json_array();
	uint64_t now = now_wall();

	for (size_t i = 0; s != NULL && i < s->nsects; i++) {
		struct sect *c = s->sects[i];
		struct store_ent *e = azure_store_get(c->name, false);
		json_t *o;

		if (!c->present)
			continue;
		o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:i}", "name", c->name,
		    "last_success", (json_int_t)c->last_success,
		    "last_attempt", (json_int_t)c->last_attempt,
		    "errors", (json_int_t)c->errors, "syncs", (json_int_t)c->syncs,
		    "interval", (int)c->interval);
		json_object_set_new(o, "last_error", c->last_error ?
		    json_string(c->last_error) : json_null());
		json_object_set_new(o, "records", json_integer((json_int_t)(e &&
		    e->data ? e->records : 0)));
		json_object_set_new(o, "synced_at", e && e->data ?
		    json_integer((json_int_t)e->synced_at) : json_null());
		json_object_set_new(o, "age", e && e->data ? json_integer(
		    (json_int_t)(now > e->synced_at ? now - e->synced_at : 0)) :
		    json_null());
		json_array_append_new(arr, o);
	}
	return arr;
}

void
azure_sync_free(struct azure_sync *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	atomic_store(&s->stop, 1);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	/* The thread is gone: a state file still to write is written now. */
	while (s->jobs != NULL) {
		struct job *j = s->jobs;
		char *err = j->kind == JOB_WRITE ? run_write(s, j) : NULL;

		s->jobs = j->next;
		if (err != NULL)
			write_failed(j->name, err);
		free(err);
		job_free(j);
	}
	while (s->results != NULL) {
		struct result *r = s->results;

		s->results = r->next;
		result_free(r);
	}
	for (size_t i = 0; i < s->nsects; i++) {
		struct sect *c = s->sects[i];

		event_free(c->timer);
		free(c->name);
		free(c->last_error);
		free(c->held);
		free(c->logged);
		free(c);
	}
	free(s->sects);
	for (size_t i = 0; i < s->ntoks; i++) {
		azure_token_clear(&s->toks[i].tok);
		free(s->toks[i].key);
	}
	free(s->toks);
	for (size_t i = 0; i < s->nkept; i++) {
		if (s->kept[i].data != NULL)
			json_decref(s->kept[i].data);
		free(s->kept[i].name);
	}
	free(s->kept);
	if (s->ev_result != NULL)
		event_free(s->ev_result);
	if (s->snap != NULL)
		snapshot_unref(s->snap);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
	azure_store_clear();
}
