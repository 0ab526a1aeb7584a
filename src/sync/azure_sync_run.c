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
 */
#include <pthread.h>
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

struct job {
	struct snapshot *snap;	/* holds the config the job reads */
	size_t ai;		/* index of the [azure] section in it */
	struct job *next;
};

struct result {
	char *name;
	json_t *data;		/* NULL: failed */
	char *err;
	struct azure_fetch_stats st;
	uint64_t ms;
	struct result *next;
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

	/* The sync thread's own. */
	struct tokslot *toks;
	size_t ntoks;
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

static void *
sync_thread(void *arg)
{
	struct azure_sync *s = arg;

	/* Background work: on a CPU shared with a worker, the worker first.
	 * (Linux: a thread's nice value is its own.) */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 19) == -1)
		log_debug("%s: cannot lower the sync thread's priority", __func__);

	for (;;) {
		struct job *j;
		struct result *r;
		const struct config *cfg;
		const struct azure_conf *az;
		char err[2048];
		uint64_t t0;

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

		cfg = snapshot_config(j->snap);
		az = &cfg->azures[j->ai];
		r = xcalloc(1, sizeof(*r));
		r->name = xstrdup(az->name);
		t0 = now_ms();
		err[0] = '\0';
		if (azure_sync_fetch(cfg, az, token_for(s, az), &s->stop, &r->data,
		    &r->st, err, sizeof(err)) == -1)
			r->err = xstrdup(err);
		r->ms = now_ms() - t0;
		snapshot_unref(j->snap);
		free(j);

		pthread_mutex_lock(&s->mu);
		r->next = s->results;
		s->results = r;
		pthread_mutex_unlock(&s->mu);
		event_active(s->ev_result, EV_READ, 0);
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
	snapshot_ref(s->snap);
	j->snap = s->snap;
	j->ai = ai;
	pthread_mutex_lock(&s->mu);
	*s->jobs_tail = j;
	s->jobs_tail = &j->next;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
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
	char *path, err[512];

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
	path = azure_state_path(cfg, c->name);
	if (azure_state_write(path, c->name, e->data, e->synced_at, err,
	    sizeof(err)) == -1)
		log_warnx("azure \"%s\": cannot keep the synced data: %s", c->name,
		    err);
	free(path);
}

static void
sect_result(struct azure_sync *s, struct sect *c, struct result *r)
{
	const struct config *cfg = snapshot_config(s->snap);
	struct store_ent *e = azure_store_get(c->name, true);
	uint64_t now = now_wall();
	char *text = NULL;
	bool changed = false;
	json_t *old;
	int rc;

	c->syncs++;
	if (r->data == NULL) {
		sect_error(c, r->err ? r->err : "failed");
		return;
	}
	if (e->data != NULL && json_equal(e->data, r->data)) {
		/* Nothing changed: nothing to swap; the data is fresh. */
		e->synced_at = now;
		if (c->held != NULL) {
			/* Still not in service: no success to report. */
			sect_error(c, c->held);
			return;
		}
	} else {
		old = e->data != NULL ? json_incref(e->data) : NULL;
		azure_store_set(e, json_incref(r->data), now);
		rc = s->reload(s->arg, &text);
		if (rc == 1) {
			/* Held: the new data stays in the store, where a forced
			 * reload finds it; azure_sync_reconfigure() sees it go
			 * in service. */
			if (old != NULL)
				json_decref(old);
			free(c->held);
			c->held = held_msg(text);
			free(text);
			sect_error(c, c->held);
			return;
		}
		if (rc != 0) {
			char *msg;

			/* Rejected: the previous data stays, in the store too. */
			if (old != NULL)
				azure_store_set(e, old, e->synced_at);
			else {
				json_decref(e->data);
				e->data = NULL;
				e->records = 0;
			}
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
		if (old != NULL)
			json_decref(old);
		changed = true;
	}
	sect_in_service(c, cfg, now);
	if (changed)
		log_info("azure \"%s\": synced %zu records (%u zones, %u requests, "
		    "%llu ms)", c->name, azure_sync_count(r->data), r->st.zones,
		    r->st.requests, (unsigned long long)r->ms);
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
		if (c != NULL) {
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
	while (s->jobs != NULL) {
		struct job *j = s->jobs;

		s->jobs = j->next;
		snapshot_unref(j->snap);
		free(j);
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
	if (s->ev_result != NULL)
		event_free(s->ev_result);
	if (s->snap != NULL)
		snapshot_unref(s->snap);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
	azure_store_clear();
}
