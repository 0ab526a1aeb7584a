/*
 * control: the HTTP control endpoint (see control.h): routes, authorization,
 * the handlers and /status.  The Prometheus text is control_metrics.c's;
 * the status page is src/control_page.html, compiled in by the build.
 *
 * Everything here runs on the main thread's event loop and only between
 * queries' events, so it may allocate freely: it is not the query path.
 *
 * POST authorization: with token_file, "Authorization: Bearer TOKEN" (the
 * file's content, surrounding white space removed) is required from every
 * client; without token_file, POSTs are accepted from loopback peers only.
 * The token is read once by control_new(), before privileges are dropped, so
 * the file may stay readable by root only; a new token needs a restart.
 * A POST carrying an Origin header that is not this endpoint's own origin is
 * refused, so that a web page in a local browser cannot reload or flush
 * through a loopback-only endpoint (cross-site request forgery).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "engine/cache.h"
#include "runtime/control.h"
#include "util/log.h"
#include "engine/missing.h"
#include "util/util.h"
#include "wire/wire.h"

#define TOKEN_MAX	4096
#define UPSTREAMS_MAX	256

struct control {
	struct evhttp *http;
	struct control_ops ops;
	char *token;		/* NULL: POSTs from loopback peers only */
	size_t tokenlen;
	/* Whether the last reload failed: 1, 0, or -1 unknown.  struct
	 * reload_state keeps the last error after a later success and its
	 * times are in seconds, so the counters' changes decide. */
	int last_failed;
	uint64_t seen_reloads, seen_failures;
};

/* ---- state gathered for one request ---- */

struct state {
	struct metrics m;
	struct upstream_info *up;
	size_t nup;
	struct snapshot *snap;		/* a reference, or NULL */
	struct reload_state rs;
	const struct cache_info *ci;
	struct cache_info cibuf;
	struct missing *missing;	/* or NULL */
};

/* Follows the reload counters: the one that moved says how the last
 * reload went (both moved: unknown). */
static void
reload_track(struct control *c, const struct reload_state *rs)
{
	bool dr = rs->reloads != c->seen_reloads;
	bool df = rs->failures != c->seen_failures;

	if (dr || df)
		c->last_failed = dr && df ? -1 : df;
	c->seen_reloads = rs->reloads;
	c->seen_failures = rs->failures;
}

static void
state_get(struct control *c, struct state *st)
{
	memset(st, 0, sizeof(*st));
	if (c->ops.metrics != NULL)
		c->ops.metrics(c->ops.arg, &st->m);
	st->up = xcalloc(UPSTREAMS_MAX, sizeof(*st->up));
	if (c->ops.upstreams != NULL)
		st->nup = c->ops.upstreams(c->ops.arg, st->up, UPSTREAMS_MAX);
	if (st->nup > UPSTREAMS_MAX)
		st->nup = UPSTREAMS_MAX;
	if (c->ops.snapshot != NULL)
		st->snap = c->ops.snapshot(c->ops.arg);
	if (c->ops.reload_state != NULL) {
		c->ops.reload_state(c->ops.arg, &st->rs);
		reload_track(c, &st->rs);
	}
	if (c->ops.cache != NULL) {
		c->ops.cache(c->ops.arg, &st->cibuf);
		st->ci = &st->cibuf;
	}
	if (c->ops.missing != NULL)
		st->missing = c->ops.missing(c->ops.arg);
}

static void
state_clear(struct state *st)
{
	free(st->up);
	if (st->snap != NULL)
		snapshot_unref(st->snap);
	missing_free(st->missing);
}

/* ---- replies ---- */

static void
reply(struct evhttp_request *req, int code, const char *reason,
    const char *ctype, const char *body, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b;

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if ((b = evbuffer_new()) == NULL || evbuffer_add(b, body, len) != 0) {
		if (b != NULL)
			evbuffer_free(b);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

static void
reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	size_t n = strlen(text);
	char *t;

	/* Every text body ends with exactly one newline, for curl and ctl. */
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
		n--;
	t = xmalloc(n + 2);
	memcpy(t, text, n);
	t[n] = '\n';
	t[n + 1] = '\0';
	reply(req, code, reason, "text/plain; charset=utf-8", t, n + 1);
	free(t);
}

/* ---- authorization ---- */

static bool
peer_is_loopback(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	char *host = NULL;
	ev_uint16_t port;
	struct in_addr a4;
	struct in6_addr a6;

	if (conn == NULL)
		return false;
	evhttp_connection_get_peer(conn, &host, &port);
	if (host == NULL)
		return false;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
	}
	return false;
}

/* Compares in time independent of where the first difference is. */
static bool
token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char diff = alen != blen;

	for (size_t i = 0; i < alen && i < blen; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* A POST carrying an Origin must come from a page of this endpoint. */
static bool
origin_ok(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *origin = evhttp_find_header(h, "Origin");
	const char *host = evhttp_find_header(h, "Host");

	if (origin == NULL)
		return true;
	if (host == NULL || strncmp(origin, "http://", 7) != 0)
		return false;
	return str_casecmp(origin + 7, host) == 0;
}

/* True when REQ may change state; otherwise the reply has been sent. */
static bool
authorized(struct control *c, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *auth;

	if (!origin_ok(req)) {
		reply_text(req, 403, "Forbidden",
		    "refused: a cross-origin request may not change pldns's state");
		return false;
	}
	if (c->token == NULL) {
		if (peer_is_loopback(req))
			return true;
		reply_text(req, 403, "Forbidden",
		    "refused: without a token_file in [control], only loopback "
		    "clients may reload or flush");
		return false;
	}
	auth = evhttp_find_header(h, "Authorization");
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
		const char *t = auth + 7;
		while (*t == ' ')
			t++;
		if (token_equal(t, strlen(t), c->token, c->tokenlen))
			return true;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "WWW-Authenticate", "Bearer realm=\"pldns\"");
	reply_text(req, 401, "Unauthorized",
	    auth == NULL ? "unauthorized: this request needs "
	    "\"Authorization: Bearer TOKEN\" (the token in [control] token_file)" :
	    "unauthorized: wrong bearer token");
	return false;
}

/* ---- handlers ---- */

static void
handle_metrics(struct control *c, struct evhttp_request *req)
{
	struct state st;
	char *text, *all, *sync, *miss;
	json_t *arr;

	state_get(c, &st);
	text = control_render_metrics(&st.m, st.up, st.nup, st.snap, &st.rs, st.ci);
	miss = control_render_missing(st.m.missing,
	    st.missing != NULL ? missing_size(st.missing) : 0);
	arr = c->ops.sync_status != NULL ? c->ops.sync_status(c->ops.arg) : NULL;
	sync = control_render_sync(arr);
	if (arr != NULL)
		json_decref(arr);
	xasprintf(&all, "%s# HELP pldns_start_time_seconds When pldns started.\n"
	    "# TYPE pldns_start_time_seconds gauge\n"
	    "pldns_start_time_seconds %" PRIu64 "\n%s%s", text, c->ops.start_time,
	    miss, sync);
	free(sync);
	reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", all,
	    strlen(all));
	free(all);
	free(miss);
	free(text);
	state_clear(&st);
}

static void
handle_healthz(struct control *c, struct evhttp_request *req)
{
	(void)c;
	reply_text(req, 200, "OK", "ok");
}

static void
handle_readyz(struct control *c, struct evhttp_request *req)
{
	struct reload_state rs;

	memset(&rs, 0, sizeof(rs));
	if (c->ops.reload_state != NULL)
		c->ops.reload_state(c->ops.arg, &rs);
	if (rs.ready)
		reply_text(req, 200, "OK", "ready");
	else
		reply_text(req, 503, "Service Unavailable", "not ready: data not loaded");
}

static json_t *
jnum(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/* Keys and numbers of an object of /status, in their order. */
struct num {
	const char *key;
	uint64_t v;
};

static void
set_nums(json_t *o, const struct num *n, size_t count)
{
	for (size_t i = 0; i < count; i++)
		json_object_set_new(o, n[i].key, jnum(n[i].v));
}

/* SET_NUMS(o, { "key", value }, ...) */
#define SET_NUMS(o, ...) set_nums((o), (const struct num[]){ __VA_ARGS__ }, \
	sizeof((const struct num[]){ __VA_ARGS__ }) / sizeof(struct num))

static const char *
reload_word(const struct control *c, const struct reload_state *rs)
{
	if (rs->last_attempt == 0)
		return "never";
	if (rs->held)
		return "held";
	if (c->last_failed != -1)
		return c->last_failed ? "failed" : "ok";
	/* Unknown: a failure in the same second as the last success is
	 * taken as the later of the two. */
	if (rs->last_error != NULL && rs->last_success <= rs->last_attempt)
		return "failed";
	return "ok";
}

/* The lines of the last reload error that name SRC (a source as configured,
 * maybe "csv:"-prefixed), or NULL when there are none. */
static json_t *
source_errors(const struct control *c, const char *src,
    const struct reload_state *rs)
{
	static const char *const prefixes[] = { "csv:", "json:", "hosts:", "zone:" };
	const char *path = src, *p, *nl;
	json_t *a = NULL;

	for (size_t i = 0; i < nitems(prefixes); i++)
		if (strncmp(src, prefixes[i], strlen(prefixes[i])) == 0)
			path = src + strlen(prefixes[i]);
	if (strcmp(reload_word(c, rs), "failed") != 0)
		return NULL;
	for (p = rs->last_error; *p != '\0'; p = nl + (*nl != '\0')) {
		size_t plen = strlen(path);
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		if ((size_t)(nl - p) > plen && strncmp(p, path, plen) == 0 &&
		    p[plen] == ':') {
			if (a == NULL)
				a = json_array();
			json_array_append_new(a, json_stringn(p, nl - p));
		}
	}
	return a;
}

/* The names clients miss, most asked first (doc/missing.md), into O (which
 * has the count of queries for them). */
static void
missing_json(const struct state *st, json_t *o)
{
	const struct missing_entry **top;
	json_t *a = json_array();
	size_t n = 0;

	json_object_set_new(o, "names",
	    jnum(st->missing != NULL ? missing_size(st->missing) : 0));
	json_object_set_new(o, "limit", jnum(MISSING_TOP));
	top = xcalloc(MISSING_TOP, sizeof(*top));
	if (st->missing != NULL)
		n = missing_top(st->missing, top, MISSING_TOP);
	for (size_t i = 0; i < n; i++) {
		char name[4 * WIRE_NAME_MAX + 4];
		int l = wire_name_to_str(top[i]->name, name, sizeof(name));

		if (l > 1)
			name[l - 1] = '\0';	/* no final dot, as zones are written */
		json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}",
		    "name", l > 0 ? name : "?", "zone", top[i]->zone,
		    "count", (json_int_t)top[i]->count,
		    "error", (json_int_t)top[i]->error,
		    "first_seen", (json_int_t)top[i]->first_seen,
		    "last_seen", (json_int_t)top[i]->last_seen));
	}
	free(top);
	json_object_set_new(o, "top", a);
}

static json_t *
change_json(const struct reload_change *ch)
{
	json_t *o, *a;

	if (ch == NULL)
		return json_null();
	o = json_object();
	SET_NUMS(o, { "time", ch->time }, { "added", ch->added },
	    { "removed", ch->removed }, { "changed", ch->changed },
	    { "records_before", ch->before }, { "records_after", ch->after });
	if (ch->reasons != NULL) {
		a = json_array();
		for (size_t i = 0; ch->reasons[i] != NULL; i++)
			json_array_append_new(a, json_string(ch->reasons[i]));
		json_object_set_new(o, "reasons", a);
	}
	a = json_array();
	for (size_t i = 0; ch->diff != NULL && ch->diff[i] != NULL; i++)
		json_array_append_new(a, json_string(ch->diff[i]));
	json_object_set_new(o, "diff", a);
	json_object_set_new(o, "more", jnum(ch->more));
	return o;
}

/*
 * Whether what is served is less than it should be, and why: the last
 * reload failed or was held (older data than the files hold), a source
 * could not be read, or no upstream server answers.  /readyz does not
 * change: pldns still answers.
 */
static json_t *
degraded_reasons(const struct control *c, const struct state *st)
{
	json_t *a = json_array();
	size_t up = 0;
	char *r, *nl;

	if (strcmp(reload_word(c, &st->rs), "failed") == 0) {
		const char *e = st->rs.last_error != NULL ? st->rs.last_error : "";

		nl = strchr(e, '\n');
		xasprintf(&r, "the last reload failed (still serving the previous "
		    "data): %.*s", nl != NULL ? (int)(nl - e) : (int)strlen(e), e);
		json_array_append_new(a, json_string(r));
		free(r);
	}
	if (st->rs.held && st->rs.held_change != NULL) {
		const struct reload_change *h = st->rs.held_change;

		xasprintf(&r, "a reload is held (still serving the previous data): "
		    "%s", h->reasons != NULL && h->reasons[0] != NULL ?
		    h->reasons[0] : "held");
		json_array_append_new(a, json_string(r));
		free(r);
	}
	for (size_t i = 0; st->rs.stale != NULL && st->rs.stale[i] != NULL; i++)
		json_array_append_new(a, json_string(st->rs.stale[i]));
	for (size_t i = 0; i < st->nup; i++)
		up += st->up[i].up;
	if (st->nup > 0 && up == 0)
		json_array_append_new(a, json_string("every upstream server is down"));
	return a;
}

/* The guard's part of /status: in ROOT and in its reload object RL. */
static void
status_guard(const struct control *c, const struct state *st, json_t *root,
    json_t *rl)
{
	json_t *reasons = degraded_reasons(c, st);

	json_object_set_new(rl, "holds", jnum(st->rs.holds));
	json_object_set_new(rl, "held", change_json(st->rs.held ?
	    st->rs.held_change : NULL));
	json_object_set_new(rl, "last_change", change_json(st->rs.last_change));
	json_object_set_new(root, "status", json_string(
	    json_array_size(reasons) > 0 ? "degraded" : "ok"));
	json_object_set_new(root, "reasons", reasons);
}

/* The part of /status that says what is loaded: zones and sources. */
static void
status_data(const struct control *c, const struct state *st, json_t *root)
{
	const struct config *cfg = st->snap != NULL ? snapshot_config(st->snap) : NULL;
	json_t *zones = json_array(), *srcs = json_array();

	for (size_t i = 0; st->snap != NULL && i < snapshot_nzones(st->snap); i++) {
		const struct szone *z = snapshot_zone_at(st->snap, i);
		json_array_append_new(zones, json_pack("{s:s, s:I, s:I, s:s}",
		    "name", szone_name(z),
		    "records", (json_int_t)szone_nrecords(z),
		    "serial", (json_int_t)szone_serial(z),
		    "missing", szone_missing(z) == MISSING_FALLBACK ?
		    "fallback" : "nxdomain"));
	}
	json_object_set_new(root, "zones", zones);
	json_object_set_new(root, "records",
	    jnum(st->snap != NULL ? snapshot_nrecords(st->snap) : 0));

	for (size_t i = 0; cfg != NULL && i < cfg->nsources; i++) {
		json_t *errs = source_errors(c, cfg->sources[i], &st->rs);
		json_t *o = json_pack("{s:s, s:s}", "source", cfg->sources[i],
		    "result", errs != NULL ? "error" : "loaded");
		if (errs != NULL)
			json_object_set_new(o, "errors", errs);
		json_array_append_new(srcs, o);
	}
	json_object_set_new(root, "sources", srcs);
}

/* The reload object of /status (the guard adds to it). */
static json_t *
status_reload(const struct control *c, const struct state *st)
{
	json_t *rl = json_object();

	json_object_set_new(rl, "state", json_string(reload_word(c, &st->rs)));
	SET_NUMS(rl, { "reloads", st->rs.reloads }, { "failures", st->rs.failures },
	    { "last_success", st->rs.last_success },
	    { "last_attempt", st->rs.last_attempt });
	json_object_set_new(rl, "last_error", st->rs.last_error != NULL ?
	    json_string(st->rs.last_error) : json_null());
	return rl;
}

/* The queries object of /status: by transport, path and rcode (the
 * counters of metrics_counters.h come after). */
static json_t *
status_queries(const struct metrics *m)
{
	json_t *q = json_object(), *byp = json_object(), *byr = json_object();
	uint64_t total = 0;

	for (int t = 0; t < MT_COUNT; t++)
		total += m->queries[t];
	json_object_set_new(q, "total", jnum(total));
	json_object_set_new(q, "udp", jnum(m->queries[MT_UDP]));
	json_object_set_new(q, "tcp", jnum(m->queries[MT_TCP]));
	for (int i = 0; i < PATH_COUNT; i++)
		json_object_set_new(byp, answer_path_names[i], jnum(m->path[i]));
	for (int i = 0; i < METRICS_RCODES; i++)
		if (metrics_rcode_always(i) || m->rcode[i] != 0)
			json_object_set_new(byr, metrics_rcode_names[i],
			    jnum(m->rcode[i]));
	json_object_set_new(q, "by_path", byp);
	json_object_set_new(q, "by_rcode", byr);
	return q;
}

static json_t *
status_json(const struct control *c, const struct state *st)
{
	const struct config *cfg = st->snap != NULL ? snapshot_config(st->snap) : NULL;
	uint64_t now = now_wall();
	json_t *root = json_object(), *ups = json_array(), *rl;

	json_object_set_new(root, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(root, "now", jnum(now));
	json_object_set_new(root, "start_time", jnum(c->ops.start_time));
	json_object_set_new(root, "uptime_seconds",
	    jnum(now > c->ops.start_time ? now - c->ops.start_time : 0));
	json_object_set_new(root, "ready", json_boolean(st->rs.ready));
	json_object_set_new(root, "config",
	    cfg != NULL && cfg->path != NULL ? json_string(cfg->path) : json_null());
	status_data(c, st, root);
	for (size_t i = 0; i < st->nup; i++)
		json_array_append_new(ups, control_upstream_json(&st->up[i]));
	json_object_set_new(root, "upstreams", ups);
	json_object_set_new(root, "reload", rl = status_reload(c, st));
	json_object_set_new(root, "queries", status_queries(&st->m));
	control_counters_json(root, &st->m, st->ci);
	missing_json(st, json_object_get(root, "missing"));
	status_guard(c, st, root, rl);
	json_object_set_new(root, "azure", c->ops.sync_status != NULL ?
	    c->ops.sync_status(c->ops.arg) : json_array());
	return root;
}

static void
handle_status(struct control *c, struct evhttp_request *req)
{
	struct state st;
	json_t *root;
	char *text;

	state_get(c, &st);
	root = status_json(c, &st);
	text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	state_clear(&st);
	if (text == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	reply(req, 200, "OK", "application/json", text, strlen(text));
	free(text);
}

static void
handle_page(struct control *c, struct evhttp_request *req)
{
	(void)c;
	/* Inline script and style only; nothing may be fetched from elsewhere. */
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Security-Policy", "default-src 'none'; "
	    "script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
	    "connect-src 'self'; img-src data:; base-uri 'none'; "
	    "form-action 'none'; frame-ancestors 'none'");
	reply(req, 200, "OK", "text/html; charset=utf-8", control_page,
	    control_page_len);
}

/* REQ's query string into PARAMS (clear them with evhttp_clear_headers()).
 * -1 when it does not parse. */
static int
query_params(struct evhttp_request *req, struct evkeyvalq *params)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));

	TAILQ_INIT(params);
	if (query != NULL && evhttp_parse_query_str(query, params) != 0)
		return -1;
	return 0;
}

/* Whether POST /reload asks for ?force=1 (or force=yes, force=true). */
static bool
reload_forced(struct evhttp_request *req)
{
	struct evkeyvalq params;
	const char *v;
	bool force = false;

	if (query_params(req, &params) != 0)
		return false;
	if ((v = evhttp_find_header(&params, "force")) != NULL)
		force = strcmp(v, "1") == 0 || str_casecmp(v, "yes") == 0 ||
		    str_casecmp(v, "true") == 0;
	evhttp_clear_headers(&params);
	return force;
}

static void
handle_reload(struct control *c, struct evhttp_request *req)
{
	char *text = NULL;
	int r;

	int (*fn)(void *, char **) = reload_forced(req) ? c->ops.reload_force :
	    c->ops.reload;

	if (fn == NULL) {
		reply_text(req, 503, "Service Unavailable", "reload is not available");
		return;
	}
	r = fn(c->ops.arg, &text);
	if (c->ops.reload_state != NULL) {
		struct reload_state rs;

		c->ops.reload_state(c->ops.arg, &rs);
		reload_track(c, &rs);
		/* A held reload neither failed nor succeeded. */
		if (r != 1)
			c->last_failed = r != 0;
	}
	if (r == 0)
		reply_text(req, 200, "OK", text != NULL ? text : "reloaded");
	else if (r == 1)
		reply_text(req, 409, "Conflict", text != NULL ? text : "reload held");
	else
		reply_text(req, 500, "Internal Server Error",
		    text != NULL ? text : "reload failed");
	free(text);
}

/*
 * The name of POST /cache/flush?name=NAME as the flush wants it: lower-case
 * (the cache keys names so), without the final dot, NULL for "." (the whole
 * cache).  -1 when NAME is no name, with the reply sent.
 */
static int
flush_name(struct evhttp_request *req, const char *name, char **norm)
{
	uint8_t wire[WIRE_NAME_MAX];
	const char *err = NULL;
	char *msg;
	size_t n;

	*norm = NULL;
	if (*name == '\0' || wire_name_from_str(name, wire, &err) < 0) {
		xasprintf(&msg, "bad name \"%s\": %s", name,
		    *name == '\0' ? "empty" : err != NULL ? err : "invalid");
		reply_text(req, 400, "Bad Request", msg);
		free(msg);
		return -1;
	}
	*norm = xstrdup(name);
	for (char *p = *norm; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	n = strlen(*norm);
	if (n > 1 && (*norm)[n - 1] == '.' && (n < 2 || (*norm)[n - 2] != '\\'))
		(*norm)[n - 1] = '\0';
	if (strcmp(*norm, ".") == 0) {
		free(*norm);
		*norm = NULL;
	}
	return 0;
}

static void
handle_flush(struct control *c, struct evhttp_request *req)
{
	struct evkeyvalq params;
	const char *name;
	char *norm = NULL, *msg;

	if (query_params(req, &params) != 0) {
		reply_text(req, 400, "Bad Request", "bad query string");
		return;
	}
	name = evhttp_find_header(&params, "name");
	if (name != NULL && flush_name(req, name, &norm) != 0) {
		evhttp_clear_headers(&params);
		return;
	}
	evhttp_clear_headers(&params);
	if (c->ops.flush == NULL) {
		free(norm);
		reply_text(req, 503, "Service Unavailable", "flush is not available");
		return;
	}
	c->ops.flush(c->ops.arg, norm);
	if (norm == NULL)
		msg = xstrdup("flushed the whole cache");
	else
		xasprintf(&msg, "flushed %s and the names below it", norm);
	reply_text(req, 200, "OK", msg);
	free(msg);
	free(norm);
}

static void
handle_sync(struct control *c, struct evhttp_request *req)
{
	struct evkeyvalq params;
	char *text = NULL;
	int r;

	if (query_params(req, &params) != 0) {
		reply_text(req, 400, "Bad Request", "bad query string");
		return;
	}
	if (c->ops.sync == NULL) {
		evhttp_clear_headers(&params);
		reply_text(req, 503, "Service Unavailable", "sync is not available");
		return;
	}
	r = c->ops.sync(c->ops.arg, evhttp_find_header(&params, "name"), &text);
	evhttp_clear_headers(&params);
	if (r == 0)
		reply_text(req, 202, "Accepted", text != NULL ? text : "started");
	else
		reply_text(req, 404, "Not Found", text != NULL ? text :
		    "no such [azure] section");
	free(text);
}

struct route {
	const char *path;
	bool post;		/* POST only; otherwise GET and HEAD */
	void (*fn)(struct control *, struct evhttp_request *);
};

static const struct route routes[] = {
	{ "/", false, handle_page },
	{ "/metrics", false, handle_metrics },
	{ "/healthz", false, handle_healthz },
	{ "/readyz", false, handle_readyz },
	{ "/status", false, handle_status },
	{ "/reload", true, handle_reload },
	{ "/cache/flush", true, handle_flush },
	{ "/sync", true, handle_sync },
};

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct control *c = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const struct route *r = NULL;

	if (path == NULL || *path == '\0')
		path = "/";
	for (size_t i = 0; i < nitems(routes); i++)
		if (strcmp(path, routes[i].path) == 0)
			r = &routes[i];
	if (r == NULL) {
		reply_text(req, 404, "Not Found", "not found");
		return;
	}
	if (r->post ? m != EVHTTP_REQ_POST :
	    m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
		    r->post ? "POST" : "GET, HEAD");
		reply_text(req, 405, "Method Not Allowed", "method not allowed");
		return;
	}
	if (r->post && !authorized(c, req))
		return;
	r->fn(c, req);
}

/* ---- set-up ---- */

char *
control_read_token(const char *path, const char *loc, struct diag *d)
{
	char buf[TOKEN_MAX + 1], *tok;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		diag_addloc(d, DIAG_ERROR, loc, "cannot read the control token: %s",
		    strerror(errno));
		return NULL;
	}
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			diag_addloc(d, DIAG_ERROR, loc,
			    "cannot read the control token: %s", strerror(errno));
			close(fd);
			return NULL;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (len == sizeof(buf) - 1) {
		explicit_bzero(buf, sizeof(buf));
		diag_addloc(d, DIAG_ERROR, loc,
		    "the control token is longer than %d bytes", TOKEN_MAX - 1);
		return NULL;
	}
	tok = str_trim(buf);
	if (tok[0] == '\0') {
		diag_addloc(d, DIAG_ERROR, loc, "the control token file is empty");
		return NULL;
	}
	for (char *p = tok; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
			diag_addloc(d, DIAG_ERROR, loc, "the control token must be "
			    "one word of printable ASCII characters");
			explicit_bzero(buf, sizeof(buf));
			return NULL;
		}
	tok = xstrdup(tok);
	explicit_bzero(buf, sizeof(buf));
	return tok;
}

static int
listen_socket(const struct pl_addr *a, struct diag *d, const char *what)
{
	int fd, on = 1;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		diag_add(d, DIAG_ERROR, NULL, 0, "control listen %s: socket: %s",
		    what, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1 ||
	    listen(fd, 64) == -1) {
		diag_add(d, DIAG_ERROR, NULL, 0, "control listen %s: %s", what,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct control *
control_new(struct event_base *base, const struct config *cfg,
    const struct control_ops *ops, struct diag *d)
{
	struct control *c;
	char what[64];
	int fd;

	if (cfg->control_listen == NULL || cfg->control_listen[0] == '\0' ||
	    cfg->control_addr.len == 0)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->ops = *ops;
	c->last_failed = -1;
	if (cfg->token_file != NULL) {
		if ((c->token = control_read_token(cfg->token_file,
		    cfg->token_file, d)) == NULL) {
			free(c);
			return NULL;
		}
		c->tokenlen = strlen(c->token);
	}
	addr_str(&cfg->control_addr, what, sizeof(what));
	if ((fd = listen_socket(&cfg->control_addr, d, what)) == -1)
		goto fail;
	if ((c->http = evhttp_new(base)) == NULL) {
		close(fd);
		diag_add(d, DIAG_ERROR, NULL, 0, "control: evhttp_new failed");
		goto fail;
	}
	/* Every method reaches request_cb, which answers 405 itself (libevent
	 * would answer 501 for a method it was not told about). */
	evhttp_set_allowed_methods(c->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_timeout(c->http, 10);
	evhttp_set_max_headers_size(c->http, 16384);
	evhttp_set_max_body_size(c->http, 65536);
	evhttp_set_gencb(c->http, request_cb, c);
	if (evhttp_accept_socket_with_handle(c->http, fd) == NULL) {
		close(fd);
		diag_add(d, DIAG_ERROR, NULL, 0, "control listen %s: cannot accept",
		    what);
		goto fail;
	}
	log_info("control endpoint on http://%s/ (%s)", what, c->token != NULL ?
	    "POST needs the bearer token" : "POST from loopback only");
	return c;
fail:
	control_free(c);
	return NULL;
}

void
control_free(struct control *c)
{
	if (c == NULL)
		return;
	if (c->http != NULL)
		evhttp_free(c->http);
	if (c->token != NULL) {
		explicit_bzero(c->token, c->tokenlen);
		free(c->token);
	}
	free(c);
}
