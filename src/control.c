/*
 * control: the HTTP control endpoint (see control.h).
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

#include "cache.h"
#include "control.h"
#include "log.h"
#include "missing.h"
#include "util.h"
#include "wire.h"

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

/* ---- Prometheus exposition ---- */

static const char *const rcode_names[24] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI",
	"RCODE12", "RCODE13", "RCODE14", "RCODE15", "BADVERS", "BADKEY",
	"BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC", "BADCOOKIE"
};

/* Rcodes whose series are always present, so that rate() works from the
 * first scrape; the others appear once counted. */
static bool
rcode_always(int rc)
{
	return rc <= RCODE_REFUSED || rc == RCODE_BADVERS;
}

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the text format requires. */
static void
label_value(FILE *f, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void
sample(FILE *f, const char *name, const char *label, const char *value,
    uint64_t v)
{
	fputs(name, f);
	if (label != NULL) {
		fprintf(f, "{%s=\"", label);
		label_value(f, value);
		fputs("\"}", f);
	}
	fprintf(f, " %" PRIu64 "\n", v);
}

static void
counter1(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "counter", help);
	sample(f, name, NULL, NULL, v);
}

static void
gauge1(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "gauge", help);
	sample(f, name, NULL, NULL, v);
}

/* Microseconds as decimal seconds without trailing zeros: 50 -> 0.00005. */
static void
seconds_str(uint64_t us, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
	n = strlen(buf);
	while (buf[n - 1] == '0')
		buf[--n] = '\0';
	if (buf[n - 1] == '.')
		buf[--n] = '\0';
}

static void
render_queries(FILE *f, const struct metrics *m)
{
	static const char *const transports[MT_COUNT] = { "udp", "tcp" };
	uint64_t cum = 0;
	char le[32], sum[32];

	family(f, "pldns_queries_total", "counter",
	    "Queries answered, by transport.");
	for (int t = 0; t < MT_COUNT; t++)
		sample(f, "pldns_queries_total", "transport", transports[t],
		    m->queries[t]);

	family(f, "pldns_queries_by_qtype_total", "counter",
	    "Queries answered, by query type (other: every type not listed).");
	for (int i = 0; i < METRICS_QTYPES; i++)
		sample(f, "pldns_queries_by_qtype_total", "qtype",
		    metrics_qtype_names[i], m->qtype[i]);

	family(f, "pldns_queries_by_rcode_total", "counter",
	    "Queries answered, by response code.");
	for (int i = 0; i < 24; i++)
		if (rcode_always(i) || m->rcode[i] != 0)
			sample(f, "pldns_queries_by_rcode_total", "rcode",
			    rcode_names[i], m->rcode[i]);

	family(f, "pldns_queries_by_path_total", "counter",
	    "Queries answered, by how the answer was made.");
	for (int i = 0; i < PATH_COUNT; i++)
		sample(f, "pldns_queries_by_path_total", "path",
		    answer_path_names[i], m->path[i]);

	family(f, "pldns_query_duration_seconds", "histogram",
	    "Time from receiving a query to sending its answer.");
	for (int b = 0; b < METRICS_LAT_BUCKETS; b++) {
		cum += m->latency[b];
		if (b < METRICS_LAT_BUCKETS - 1)
			seconds_str(metrics_lat_bounds_us[b], le, sizeof(le));
		else
			pl_strlcpy(le, "+Inf", sizeof(le));
		sample(f, "pldns_query_duration_seconds_bucket", "le", le, cum);
	}
	seconds_str(m->latency_sum_us, sum, sizeof(sum));
	fprintf(f, "pldns_query_duration_seconds_sum %s\n", sum);
	/* The +Inf bucket, not m->answers: a reader racing a worker could
	 * otherwise see a count that disagrees with the buckets. */
	fprintf(f, "pldns_query_duration_seconds_count %" PRIu64 "\n", cum);
}

static void
render_protocol(FILE *f, const struct metrics *m)
{
	family(f, "pldns_queries_dropped_total", "counter",
	    "Queries dropped without an answer, by reason.");
	sample(f, "pldns_queries_dropped_total", "reason", "malformed", m->dropped);
	sample(f, "pldns_queries_dropped_total", "reason", "acl", m->dropped_acl);
	sample(f, "pldns_queries_dropped_total", "reason", "rrl", m->rrl_dropped);

	family(f, "pldns_queries_rejected_total", "counter",
	    "Queries answered with an error before being looked at, by reason.");
	sample(f, "pldns_queries_rejected_total", "reason", "formerr", m->formerr);
	sample(f, "pldns_queries_rejected_total", "reason", "notimp", m->notimp);
	sample(f, "pldns_queries_rejected_total", "reason", "badvers", m->badvers);
	sample(f, "pldns_queries_rejected_total", "reason", "acl", m->refused_acl);

	counter1(f, "pldns_out_of_memory_total",
	    "Queries answered SERVFAIL or TCP connections closed because memory ran out.",
	    m->alloc_failed);
	counter1(f, "pldns_rrl_slipped_total",
	    "Responses sent truncated instead of dropped by rate limiting.",
	    m->rrl_slipped);
	counter1(f, "pldns_responses_truncated_total",
	    "Responses sent with TC=1 because they did not fit.", m->truncated);

	counter1(f, "pldns_tcp_connections_accepted_total",
	    "TCP connections accepted.", m->tcp_accepted);
	counter1(f, "pldns_tcp_connections_rejected_total",
	    "TCP connections refused because of the connection limits.",
	    m->tcp_rejected);
	counter1(f, "pldns_tcp_connections_idle_closed_total",
	    "TCP connections closed after tcp_idle_ms without a query.",
	    m->tcp_idle_closed);

	family(f, "pldns_cookies_total", "counter",
	    "DNS cookies (RFC 7873) in queries: a valid server cookie of ours, "
	    "an invalid or expired one, or a client cookie alone.");
	sample(f, "pldns_cookies_total", "result", "valid", m->cookies_valid);
	sample(f, "pldns_cookies_total", "result", "invalid", m->cookies_invalid);
	sample(f, "pldns_cookies_total", "result", "new", m->cookies_new);
}

static void
render_cache(FILE *f, const struct metrics *m, const struct cache_info *ci)
{
	counter1(f, "pldns_cache_hits_total",
	    "Queries answered from the cache.", m->cache_hits);
	counter1(f, "pldns_cache_misses_total",
	    "Cache lookups that found nothing usable.", m->cache_misses);
	counter1(f, "pldns_cache_stale_hits_total",
	    "Queries answered from expired cache entries (RFC 8767).",
	    m->cache_stale_served);
	counter1(f, "pldns_cache_prefetches_total",
	    "Queries sent upstream in the background to refresh popular cache "
	    "entries close to expiry.", m->cache_prefetches);
	if (ci == NULL)
		return;
	gauge1(f, "pldns_cache_entries", "Entries in the cache.", ci->entries);
	gauge1(f, "pldns_cache_bytes",
	    "Memory used by the cache, entry overhead included.", ci->bytes);
	gauge1(f, "pldns_cache_max_bytes",
	    "Memory the cache may use ([cache] size).", ci->max_bytes);
	counter1(f, "pldns_cache_inserts_total",
	    "Upstream answers stored in the cache.", ci->inserts);
	counter1(f, "pldns_cache_evictions_total",
	    "Entries evicted to make room.", ci->evictions);
	counter1(f, "pldns_cache_expired_total",
	    "Entries removed because they expired.", ci->expired);
	counter1(f, "pldns_cache_sibling_hits_total",
	    "Answers found in another worker's cache when the upstream failed "
	    "or was late.", ci->sibling_hits);
}

static void
render_upstreams(FILE *f, const struct metrics *m,
    const struct upstream_info *up, size_t nup)
{
	char (*names)[64];
	char rtt[32];

	counter1(f, "pldns_upstream_tcp_retries_total",
	    "Truncated upstream answers asked again over TCP.", m->up_tcp_retries);
	counter1(f, "pldns_upstream_failed_total",
	    "Forwarded queries that no upstream server answered in time.",
	    m->up_failed);
	counter1(f, "pldns_upstream_overflow_total",
	    "Forwarded queries refused because max_inflight was reached.",
	    m->up_overflow);
	counter1(f, "pldns_upstream_coalesced_total",
	    "Queries that joined an identical query already sent upstream.",
	    m->up_coalesced);
	counter1(f, "pldns_spoofed_replies_total",
	    "Upstream replies ignored because their ID or question did not "
	    "match (RFC 5452).", m->up_spoofed);
	counter1(f, "pldns_upstream_late_replies_total",
	    "Upstream replies to a try of a query that had already been answered "
	    "by another try or given up: slow, not forged.", m->up_late);
	counter1(f, "pldns_upstream_tcp_failures_total",
	    "TCP attempts after a truncated upstream answer that failed (refused, "
	    "closed or timed out without an answer).", m->up_tcp_failures);
	if (nup == 0)
		return;

	names = xcalloc(nup, sizeof(*names));
	for (size_t i = 0; i < nup; i++)
		addr_str(&up[i].addr, names[i], sizeof(names[i]));

	family(f, "pldns_upstream_up", "gauge",
	    "Whether the upstream server answers (0 after consecutive failures).");
	for (size_t i = 0; i < nup; i++)
		sample(f, "pldns_upstream_up", "server", names[i], up[i].up ? 1 : 0);
	family(f, "pldns_upstream_rtt_seconds", "gauge",
	    "Smoothed round-trip time to the upstream server (0 when unknown).");
	for (size_t i = 0; i < nup; i++) {
		seconds_str((uint64_t)up[i].rtt_ms * 1000, rtt, sizeof(rtt));
		fputs("pldns_upstream_rtt_seconds{server=\"", f);
		label_value(f, names[i]);
		fprintf(f, "\"} %s\n", rtt);
	}
	family(f, "pldns_upstream_queries_total", "counter",
	    "Queries sent to the upstream server.");
	for (size_t i = 0; i < nup; i++)
		sample(f, "pldns_upstream_queries_total", "server", names[i], up[i].sent);
	family(f, "pldns_upstream_answers_total", "counter",
	    "Valid answers received from the upstream server.");
	for (size_t i = 0; i < nup; i++)
		sample(f, "pldns_upstream_answers_total", "server", names[i],
		    up[i].answered);
	family(f, "pldns_upstream_timeouts_total", "counter",
	    "Tries to the upstream server that timed out.");
	for (size_t i = 0; i < nup; i++)
		sample(f, "pldns_upstream_timeouts_total", "server", names[i],
		    up[i].timeouts);
	family(f, "pldns_upstream_refused_total", "counter",
	    "Tries to the upstream server refused by ICMP or REFUSED, or that "
	    "could not be sent (no route).");
	for (size_t i = 0; i < nup; i++)
		sample(f, "pldns_upstream_refused_total", "server", names[i],
		    up[i].refused);
	family(f, "pldns_upstream_spoofed_total", "counter",
	    "Replies from the upstream server's address that did not match.");
	for (size_t i = 0; i < nup; i++)
		sample(f, "pldns_upstream_spoofed_total", "server", names[i],
		    up[i].spoofed);
	family(f, "pldns_upstream_inflight", "gauge",
	    "Queries waiting for an answer from the upstream server.");
	for (size_t i = 0; i < nup; i++)
		sample(f, "pldns_upstream_inflight", "server", names[i], up[i].inflight);
	family(f, "pldns_upstream_errors_total", "counter",
	    "Tries the upstream server answered SERVFAIL, NOTIMP or FORMERR.");
	for (size_t i = 0; i < nup; i++)
		sample(f, "pldns_upstream_errors_total", "server", names[i],
		    up[i].errors);
	free(names);
}

static void
render_zones(FILE *f, const struct snapshot *s)
{
	size_t nz = s != NULL ? snapshot_nzones(s) : 0;

	gauge1(f, "pldns_zones", "Local zones loaded.", nz);
	gauge1(f, "pldns_records", "Local records loaded, in every zone.",
	    s != NULL ? snapshot_nrecords(s) : 0);
	if (nz == 0)
		return;
	family(f, "pldns_zone_records", "gauge", "Records loaded in the zone.");
	for (size_t i = 0; i < nz; i++) {
		const struct szone *z = snapshot_zone_at(s, i);
		sample(f, "pldns_zone_records", "zone", szone_name(z), szone_nrecords(z));
	}
	family(f, "pldns_zone_serial", "gauge", "SOA serial of the zone being served.");
	for (size_t i = 0; i < nz; i++) {
		const struct szone *z = snapshot_zone_at(s, i);
		sample(f, "pldns_zone_serial", "zone", szone_name(z), szone_serial(z));
	}
}

/* The reload guard (doc/guard.md). */
static void
render_guard(FILE *f, const struct reload_state *rs)
{
	gauge1(f, "pldns_reload_held",
	    "Whether the last reload was held back by the guard (1: older data "
	    "is being served than the files hold).", rs->held ? 1 : 0);
	counter1(f, "pldns_reloads_held_total",
	    "Reloads held back by the guard (a zone or a source emptied, or "
	    "more than max_drop of the records removed).", rs->holds);
}

static void
render_reload(FILE *f, const struct reload_state *rs)
{
	gauge1(f, "pldns_ready", "Whether the data is loaded and being served.",
	    rs->ready ? 1 : 0);
	counter1(f, "pldns_reloads_total", "Reloads put into service.", rs->reloads);
	counter1(f, "pldns_reload_failures_total",
	    "Reloads rejected (the previous data kept being served).", rs->failures);
	counter1(f, "pldns_reload_out_of_memory_total",
	    "Reloads rejected because memory ran out.", rs->oom_failures);
	gauge1(f, "pldns_last_reload_success_timestamp_seconds",
	    "When the last successful reload happened (0: never).", rs->last_success);
	gauge1(f, "pldns_last_reload_attempt_timestamp_seconds",
	    "When the last reload was tried (0: never).", rs->last_attempt);
	render_guard(f, rs);
}

char *
control_render_metrics(const struct metrics *m, const struct upstream_info *up,
    size_t nup, const struct snapshot *s, const struct reload_state *rs,
    const struct cache_info *ci)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&out, &len)) == NULL)
		abort();
	family(f, "pldns_build_info", "gauge", "The running version of pldns.");
	sample(f, "pldns_build_info", "version", PACKAGE_VERSION, 1);
	render_queries(f, m);
	render_protocol(f, m);
	render_cache(f, m, ci);
	render_upstreams(f, m, up, nup);
	render_zones(f, s);
	if (rs != NULL)
		render_reload(f, rs);
	if (fclose(f) != 0)
		abort();
	return out;
}

/*
 * No name in a label: the names are unbounded and chosen by whoever sends
 * queries (a flood of random names under a public twin is one), every new
 * label value would be a series kept for the whole retention, and a top-N
 * would churn series as names change rank.  The count of names and of
 * queries is what an alert needs; /status and pldns doctor give the names.
 */
char *
control_render_missing(uint64_t queries, size_t names)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&out, &len)) == NULL)
		abort();
	counter1(f, "pldns_missing_queries_total",
	    "Queries for names the local zones lack (NXDOMAIN from local data, "
	    "the public answer under missing = fallback, NXDOMAIN under a "
	    "public twin).", queries);
	gauge1(f, "pldns_missing_names",
	    "Distinct names held in the workers' tables of names clients miss "
	    "(at most 1000 per worker; the names are in /status).", names);
	if (fclose(f) != 0)
		abort();
	return out;
}

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

/* The families of the [azure] sections, one sample per section. */
static char *
sync_metrics(struct control *c)
{
	static const struct {
		const char *name, *type, *help, *key;
	} fams[] = {
		{ "pldns_sync_errors_total", "counter",
		  "Syncs from Azure that failed or whose data was rejected.",
		  "errors" },
		{ "pldns_sync_last_success_timestamp_seconds", "gauge",
		  "When the last sync from Azure succeeded (0: never).",
		  "last_success" },
		{ "pldns_sync_records", "gauge",
		  "Records of the last good sync from Azure.", "records" },
	};
	json_t *arr = c->ops.sync_status != NULL ?
	    c->ops.sync_status(c->ops.arg) : NULL, *o;
	char *out = NULL;
	size_t len = 0, i;
	FILE *f;

	if ((f = open_memstream(&out, &len)) == NULL)
		abort();
	for (size_t k = 0; arr != NULL && json_array_size(arr) > 0 &&
	    k < nitems(fams); k++) {
		family(f, fams[k].name, fams[k].type, fams[k].help);
		json_array_foreach(arr, i, o)
			sample(f, fams[k].name, "azure",
			    json_string_value(json_object_get(o, "name")),
			    (uint64_t)json_integer_value(json_object_get(o,
			    fams[k].key)));
	}
	if (fclose(f) != 0)
		abort();
	if (arr != NULL)
		json_decref(arr);
	return out;
}

static void
handle_metrics(struct control *c, struct evhttp_request *req)
{
	struct state st;
	char *text, *all, *sync, *miss;

	state_get(c, &st);
	text = control_render_metrics(&st.m, st.up, st.nup, st.snap, &st.rs, st.ci);
	miss = control_render_missing(st.m.missing,
	    st.missing != NULL ? missing_size(st.missing) : 0);
	sync = sync_metrics(c);
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

/* The names clients miss, most asked first (doc/missing.md). */
static json_t *
missing_json(const struct state *st)
{
	const struct missing_entry **top;
	json_t *o = json_object(), *a = json_array();
	size_t n = 0;

	json_object_set_new(o, "queries", jnum(st->m.missing));
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
	return o;
}

static json_t *
change_json(const struct reload_change *ch)
{
	json_t *o, *a;

	if (ch == NULL)
		return json_null();
	o = json_object();
	json_object_set_new(o, "time", jnum(ch->time));
	json_object_set_new(o, "added", jnum(ch->added));
	json_object_set_new(o, "removed", jnum(ch->removed));
	json_object_set_new(o, "changed", jnum(ch->changed));
	json_object_set_new(o, "records_before", jnum(ch->before));
	json_object_set_new(o, "records_after", jnum(ch->after));
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

static json_t *
status_json(const struct control *c, const struct state *st)
{
	const struct config *cfg = st->snap != NULL ? snapshot_config(st->snap) : NULL;
	uint64_t now = now_wall(), total = 0;
	json_t *root = json_object(), *zones = json_array(), *srcs = json_array();
	json_t *ups = json_array(), *q, *byp, *byr, *rl, *cache;
	char buf[64];

	json_object_set_new(root, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(root, "now", jnum(now));
	json_object_set_new(root, "start_time", jnum(c->ops.start_time));
	json_object_set_new(root, "uptime_seconds",
	    jnum(now > c->ops.start_time ? now - c->ops.start_time : 0));
	json_object_set_new(root, "ready", json_boolean(st->rs.ready));
	json_object_set_new(root, "config",
	    cfg != NULL && cfg->path != NULL ? json_string(cfg->path) : json_null());

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

	for (size_t i = 0; i < st->nup; i++) {
		const struct upstream_info *u = &st->up[i];
		json_array_append_new(ups, json_pack(
		    "{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		    "server", addr_str(&u->addr, buf, sizeof(buf)),
		    "up", u->up,
		    "rtt_ms", (json_int_t)u->rtt_ms,
		    "sent", (json_int_t)u->sent,
		    "answered", (json_int_t)u->answered,
		    "timeouts", (json_int_t)u->timeouts,
		    "refused", (json_int_t)u->refused,
		    "spoofed", (json_int_t)u->spoofed,
		    "inflight", (json_int_t)u->inflight,
		    "errors", (json_int_t)u->errors));
	}
	json_object_set_new(root, "upstreams", ups);

	rl = json_object();
	json_object_set_new(rl, "state", json_string(reload_word(c, &st->rs)));
	json_object_set_new(rl, "reloads", jnum(st->rs.reloads));
	json_object_set_new(rl, "failures", jnum(st->rs.failures));
	json_object_set_new(rl, "last_success", jnum(st->rs.last_success));
	json_object_set_new(rl, "last_attempt", jnum(st->rs.last_attempt));
	json_object_set_new(rl, "last_error", st->rs.last_error != NULL ?
	    json_string(st->rs.last_error) : json_null());
	json_object_set_new(root, "reload", rl);

	q = json_object();
	byp = json_object();
	byr = json_object();
	for (int t = 0; t < MT_COUNT; t++)
		total += st->m.queries[t];
	json_object_set_new(q, "total", jnum(total));
	json_object_set_new(q, "udp", jnum(st->m.queries[MT_UDP]));
	json_object_set_new(q, "tcp", jnum(st->m.queries[MT_TCP]));
	for (int i = 0; i < PATH_COUNT; i++)
		json_object_set_new(byp, answer_path_names[i], jnum(st->m.path[i]));
	for (int i = 0; i < 24; i++)
		if (rcode_always(i) || st->m.rcode[i] != 0)
			json_object_set_new(byr, rcode_names[i], jnum(st->m.rcode[i]));
	json_object_set_new(q, "by_path", byp);
	json_object_set_new(q, "by_rcode", byr);
	json_object_set_new(root, "queries", q);

	cache = json_pack("{s:I, s:I, s:I, s:I}",
	    "hits", (json_int_t)st->m.cache_hits,
	    "misses", (json_int_t)st->m.cache_misses,
	    "stale_hits", (json_int_t)st->m.cache_stale_served,
	    "prefetches", (json_int_t)st->m.cache_prefetches);
	if (st->ci != NULL) {
		json_object_set_new(cache, "entries", jnum(st->ci->entries));
		json_object_set_new(cache, "bytes", jnum(st->ci->bytes));
		json_object_set_new(cache, "max_bytes", jnum(st->ci->max_bytes));
		json_object_set_new(cache, "evictions", jnum(st->ci->evictions));
	}
	json_object_set_new(root, "cache", cache);
	json_object_set_new(root, "missing", missing_json(st));
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

/* The status page: one file, no external assets, so it works on an
 * isolated network.  It polls /status every second. */
static const char status_page[] =
"<!DOCTYPE html>\n"
"<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
"<title>pldns</title>\n"
"<style>\n"
":root{--fg:#1d2530;--mut:#5d6b7a;--bg:#f6f8fa;--card:#fff;--line:#d8dee4;"
"--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700;--acc:#0969da}\n"
"*{box-sizing:border-box}\n"
"body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
"color:var(--fg);background:var(--bg)}\n"
"header{display:flex;flex-wrap:wrap;gap:12px;align-items:baseline;"
"padding:14px 20px;background:#24292f;color:#fff}\n"
"header h1{margin:0;font-size:20px}\n"
"header .sub{color:#c9d1d9}\n"
"main{max-width:1100px;margin:0 auto;padding:16px 20px;display:grid;gap:16px}\n"
"section{background:var(--card);border:1px solid var(--line);border-radius:6px;"
"padding:12px 16px}\n"
"h2{font-size:15px;margin:0 0 8px}\n"
"table{border-collapse:collapse;width:100%}\n"
"th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);"
"vertical-align:top}\n"
"th{color:var(--mut);font-weight:600}\n"
"td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\n"
".badge{display:inline-block;padding:0 8px;border-radius:10px;color:#fff;"
"font-size:12px;font-weight:600}\n"
".ok{background:var(--ok)}.bad{background:var(--bad)}.warn{background:var(--warn)}\n"
"pre{white-space:pre-wrap;margin:6px 0;padding:8px;background:#fff8f8;"
"border:1px solid #f1c0c0;border-radius:4px;font-size:12px}\n"
"pre.diff{background:#f6f8fa;border-color:var(--line)}\n"
"canvas{width:100%;height:220px;display:block}\n"
".kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px}\n"
".kv dt{color:var(--mut)}.kv dd{margin:0}\n"
".row{display:flex;flex-wrap:wrap;gap:8px;align-items:center}\n"
"button{font:inherit;padding:3px 12px;border:1px solid var(--line);"
"border-radius:5px;background:#f3f4f6;cursor:pointer}\n"
"input{font:inherit;padding:3px 6px;border:1px solid var(--line);border-radius:5px}\n"
"#msg{color:var(--mut)}\n"
".mut{color:var(--mut)}\n"
"</style></head><body>\n"
"<header><h1>pldns</h1><span class=\"sub\" id=\"ver\"></span>"
"<span id=\"ready\"></span><span id=\"health\"></span>"
"<span class=\"sub\" id=\"up\"></span>"
"<span class=\"sub\" id=\"conn\">connecting&hellip;</span></header>\n"
"<main>\n"
"<section id=\"degraded\" hidden><h2>Degraded</h2><ul id=\"reasons\"></ul>"
"</section>\n"
"<section><h2>Queries per second <span class=\"mut\" id=\"qps\"></span></h2>"
"<canvas id=\"chart\" width=\"1000\" height=\"220\"></canvas></section>\n"
"<section><h2>Reload</h2><dl class=\"kv\" id=\"reload\"></dl>"
"<div id=\"reloaderr\"></div><div id=\"changes\"></div>\n"
"<div class=\"row\"><button id=\"bt-reload\">Reload now</button>"
"<button id=\"bt-flush\">Flush cache</button>"
"<input id=\"token\" type=\"password\" placeholder=\"bearer token (if configured)\" "
"autocomplete=\"off\"><span id=\"msg\"></span></div></section>\n"
"<section><h2>Zones <span class=\"mut\" id=\"zsum\"></span></h2><table>"
"<thead><tr><th>Zone</th><th class=\"n\">Records</th><th class=\"n\">Serial</th>"
"<th>Missing names</th></tr></thead><tbody id=\"zones\"></tbody></table></section>\n"
"<section><h2>Names clients miss <span class=\"mut\" id=\"msum\"></span></h2>"
"<table><thead><tr><th>Name</th><th>Zone</th><th class=\"n\">Queries</th>"
"<th>First seen</th><th>Last seen</th></tr></thead><tbody id=\"missing\">"
"</tbody></table></section>\n"
"<section><h2>Record sources</h2><table><thead><tr><th>Source</th>"
"<th>Last load</th></tr></thead><tbody id=\"sources\"></tbody></table></section>\n"
"<section><h2>Synced from Azure</h2><table><thead><tr><th>Section</th>"
"<th>State</th><th class=\"n\">Records</th><th>Data age</th><th>Last success</th>"
"<th class=\"n\">Errors</th></tr></thead><tbody id=\"azure\"></tbody></table>"
"</section>\n"
"<section><h2>Upstream servers</h2><table><thead><tr><th>Server</th><th>State</th>"
"<th class=\"n\">RTT</th><th class=\"n\">Sent</th><th class=\"n\">Answered</th>"
"<th class=\"n\">Timeouts</th><th class=\"n\">Refused</th><th class=\"n\">Spoofed</th>"
"<th class=\"n\">In flight</th></tr></thead><tbody id=\"ups\"></tbody></table>"
"</section>\n"
"<section><h2>Answers by path</h2><table><tbody id=\"paths\"></tbody></table>"
"</section>\n"
"</main>\n"
"<script>\n"
"'use strict';\n"
"const N = 120, hist = [];\n"
"let last = null;\n"
"const $ = (id) => document.getElementById(id);\n"
"function esc(s) {\n"
"  return String(s).replace(/[&<>\"']/g, (c) => ({'&': '&amp;', '<': '&lt;',\n"
"    '>': '&gt;', '\"': '&quot;', \"'\": '&#39;'}[c]));\n"
"}\n"
"function when(t) { return t ? new Date(t * 1000).toLocaleString() : 'never'; }\n"
"function dur(s) {\n"
"  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24,\n"
"    m = Math.floor(s / 60) % 60;\n"
"  return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + m + 'm ' + (s % 60) + 's';\n"
"}\n"
"function badge(ok, yes, no) {\n"
"  return '<span class=\"badge ' + (ok ? 'ok' : 'bad') + '\">' + (ok ? yes : no) +\n"
"    '</span>';\n"
"}\n"
"function diffBlock(title, c) {\n"
"  if (!c) return '';\n"
"  return '<div class=\"mut\">' + esc(title) + ': ' + c.added + ' added, ' +\n"
"    c.removed + ' removed, ' + c.changed + ' changed, ' + esc(when(c.time)) +\n"
"    '</div>' + ((c.reasons || []).length ? '<ul>' + c.reasons.map((x) =>\n"
"    '<li>' + esc(x) + '</li>').join('') + '</ul>' : '') +\n"
"    (c.diff.length ? '<pre class=\"diff\">' + esc(c.diff.join('\\n') +\n"
"    (c.more ? '\\nand ' + c.more + ' more' : '')) + '</pre>' : '');\n"
"}\n"
"function renderGuard(st) {\n"
"  const bad = st.status === 'degraded', r = st.reload;\n"
"  $('health').innerHTML = bad ? badge(false, '', 'degraded') : badge(true, 'ok', '');\n"
"  $('health').title = (st.reasons || []).join('\\n');\n"
"  $('degraded').hidden = !bad;\n"
"  $('reasons').innerHTML = (st.reasons || []).map((x) => '<li>' + esc(x) +\n"
"    '</li>').join('');\n"
"  $('changes').innerHTML = diffBlock('Held back (pldns ctl reload --force ' +\n"
"    'applies it)', r.held) + diffBlock('Last change', r.last_change);\n"
"}\n"
"function render(st) {\n"
"  $('ver').textContent = 'version ' + st.version;\n"
"  $('ready').innerHTML = badge(st.ready, 'ready', 'not ready');\n"
"  $('up').textContent = 'up ' + dur(st.uptime_seconds);\n"
"  const r = st.reload;\n"
"  const stateb = r.state === 'failed' ? badge(false, '', 'last reload failed') :\n"
"    r.state === 'held' ? '<span class=\"badge warn\">last reload held</span>' :\n"
"    r.state === 'ok' ? badge(true, 'ok', '') :\n"
"    '<span class=\"badge warn\">no reload yet</span>';\n"
"  $('reload').innerHTML = '<dt>State</dt><dd>' + stateb + '</dd>' +\n"
"    '<dt>Reloads</dt><dd>' + r.reloads + ' succeeded, ' + r.failures +\n"
"    ' rejected</dd><dt>Last success</dt><dd>' + esc(when(r.last_success)) +\n"
"    '</dd><dt>Last attempt</dt><dd>' + esc(when(r.last_attempt)) + '</dd>' +\n"
"    (st.config ? '<dt>Configuration</dt><dd>' + esc(st.config) + '</dd>' : '');\n"
"  renderGuard(st);\n"
"  $('reloaderr').innerHTML = r.last_error ?\n"
"    '<div class=\"mut\">Last error' + (r.state === 'failed' ? '' :\n"
"    ' (since resolved)') + ':</div><pre>' + esc(r.last_error) + '</pre>' : '';\n"
"  $('zsum').textContent = st.zones.length + ' zones, ' + st.records + ' records';\n"
"  $('zones').innerHTML = st.zones.map((z) => '<tr><td>' + esc(z.name) +\n"
"    '</td><td class=\"n\">' + z.records + '</td><td class=\"n\">' + z.serial +\n"
"    '</td><td>' + esc(z.missing) + '</td></tr>').join('') ||\n"
"    '<tr><td colspan=\"4\" class=\"mut\">no zones loaded</td></tr>';\n"
"  const ms = st.missing || {top: [], names: 0, queries: 0};\n"
"  $('msum').textContent = ms.names + (ms.names === 1 ? ' name, ' : ' names, ') +\n"
"    ms.queries + (ms.queries === 1 ? ' query' : ' queries') +\n"
"    (ms.top.length > 20 ? ' (the first 20; all in /status)' : '');\n"
"  $('missing').innerHTML = ms.top.slice(0, 20).map((m) => '<tr><td>' +\n"
"    esc(m.name) + '</td><td>' + esc(m.zone) + '</td><td class=\"n\">' +\n"
"    m.count + '</td><td>' + esc(when(m.first_seen)) + '</td><td>' +\n"
"    esc(when(m.last_seen)) + '</td></tr>').join('') ||\n"
"    '<tr><td colspan=\"5\" class=\"mut\">none: the local zones held every "
"name asked</td></tr>';\n"
"  $('sources').innerHTML = st.sources.map((s) => '<tr><td>' + esc(s.source) +\n"
"    '</td><td>' + (s.result === 'loaded' ? badge(true, 'loaded', '') :\n"
"    badge(false, '', 'error') + '<pre>' + esc((s.errors || []).join('\\n')) +\n"
"    '</pre>') + '</td></tr>').join('') ||\n"
"    '<tr><td colspan=\"2\" class=\"mut\">no [records] sources</td></tr>';\n"
"  $('azure').innerHTML = (st.azure || []).map((a) => '<tr><td>' +\n"
"    esc(a.name) + '</td><td>' + (a.last_error ? badge(false, '', 'failing') +\n"
"    '<pre>' + esc(a.last_error) + '</pre>' : a.last_success ?\n"
"    badge(true, 'ok', '') : '<span class=\"badge warn\">not synced yet</span>') +\n"
"    '</td><td class=\"n\">' + a.records + '</td><td>' +\n"
"    (a.age === null ? '&ndash;' : esc(dur(a.age))) + '</td><td>' +\n"
"    esc(when(a.last_success)) + '</td><td class=\"n\">' + a.errors +\n"
"    '</td></tr>').join('') ||\n"
"    '<tr><td colspan=\"6\" class=\"mut\">no [azure] sections</td></tr>';\n"
"  $('ups').innerHTML = st.upstreams.map((u) => '<tr><td>' + esc(u.server) +\n"
"    '</td><td>' + badge(u.up, 'up', 'down') + '</td><td class=\"n\">' +\n"
"    (u.rtt_ms ? u.rtt_ms + ' ms' : '&ndash;') + '</td>' +\n"
"    ['sent', 'answered', 'timeouts', 'refused', 'spoofed', 'inflight']\n"
"    .map((k) => '<td class=\"n\">' + u[k] + '</td>').join('') + '</tr>')\n"
"    .join('') || '<tr><td colspan=\"9\" class=\"mut\">no upstream servers</td></tr>';\n"
"  $('paths').innerHTML = Object.keys(st.queries.by_path).map((k) =>\n"
"    '<tr><td>' + esc(k) + '</td><td class=\"n\">' + st.queries.by_path[k] +\n"
"    '</td></tr>').join('');\n"
"}\n"
"function nice(v) {\n"
"  if (v <= 1) return 1;\n"
"  const p = Math.pow(10, Math.floor(Math.log10(v))), f = v / p;\n"
"  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;\n"
"}\n"
"function draw() {\n"
"  const cv = $('chart'), dpr = window.devicePixelRatio || 1;\n"
"  const w = cv.clientWidth || 1000, h = cv.clientHeight || 220;\n"
"  cv.width = w * dpr; cv.height = h * dpr;\n"
"  const g = cv.getContext('2d');\n"
"  g.setTransform(dpr, 0, 0, dpr, 0, 0);\n"
"  g.clearRect(0, 0, w, h);\n"
"  const L = 48, R = 10, T = 10, B = 22, pw = w - L - R, ph = h - T - B;\n"
"  const top = nice(Math.max(1, ...hist));\n"
"  g.font = '11px system-ui, sans-serif';\n"
"  g.fillStyle = '#5d6b7a'; g.strokeStyle = '#d8dee4'; g.lineWidth = 1;\n"
"  g.textAlign = 'right'; g.textBaseline = 'middle';\n"
"  for (let i = 0; i <= 4; i++) {\n"
"    const y = T + ph - ph * i / 4;\n"
"    g.beginPath(); g.moveTo(L, y + 0.5); g.lineTo(L + pw, y + 0.5); g.stroke();\n"
"    g.fillText(String(+(top * i / 4).toPrecision(3)), L - 6, y);\n"
"  }\n"
"  g.textAlign = 'center'; g.textBaseline = 'top';\n"
"  for (let s = 0; s <= N; s += 30)\n"
"    g.fillText(s ? '-' + s + 's' : 'now', L + pw - pw * s / N, T + ph + 6);\n"
"  if (hist.length > 1) {\n"
"    const x = (i) => L + pw - pw * (hist.length - 1 - i) / N;\n"
"    const y = (v) => T + ph - ph * v / top;\n"
"    g.beginPath(); g.moveTo(x(0), y(hist[0]));\n"
"    hist.forEach((v, i) => g.lineTo(x(i), y(v)));\n"
"    g.strokeStyle = '#0969da'; g.lineWidth = 2; g.stroke();\n"
"    g.lineTo(x(hist.length - 1), T + ph); g.lineTo(x(0), T + ph); g.closePath();\n"
"    g.fillStyle = 'rgba(9,105,218,0.12)'; g.fill();\n"
"  }\n"
"  cv.dataset.points = hist.length;\n"
"  document.body.dataset.chart = 'drawn';\n"
"}\n"
"async function poll() {\n"
"  try {\n"
"    const res = await fetch('status', {cache: 'no-store'});\n"
"    if (!res.ok) throw new Error('HTTP ' + res.status);\n"
"    const st = await res.json(), t = performance.now() / 1000;\n"
"    render(st);\n"
"    if (last && t > last.t && st.queries.total >= last.q) {\n"
"      hist.push((st.queries.total - last.q) / (t - last.t));\n"
"      if (hist.length > N) hist.shift();\n"
"    }\n"
"    last = {t: t, q: st.queries.total};\n"
"    $('qps').textContent = hist.length ?\n"
"      '(now ' + hist[hist.length - 1].toFixed(1) + ')' : '';\n"
"    $('conn').textContent = 'live';\n"
"  } catch (e) {\n"
"    $('conn').textContent = 'cannot reach pldns: ' + e.message;\n"
"  }\n"
"  draw();\n"
"}\n"
"async function post(path) {\n"
"  const tok = $('token').value.trim(), h = {};\n"
"  if (tok) h['Authorization'] = 'Bearer ' + tok;\n"
"  $('msg').textContent = '\\u2026';\n"
"  try {\n"
"    const res = await fetch(path, {method: 'POST', headers: h});\n"
"    $('msg').textContent = res.status + ': ' + (await res.text()).trim();\n"
"  } catch (e) {\n"
"    $('msg').textContent = e.message;\n"
"  }\n"
"  poll();\n"
"}\n"
"$('bt-reload').onclick = () => post('reload');\n"
"$('bt-flush').onclick = () => post('cache/flush');\n"
"window.addEventListener('resize', draw);\n"
"draw();\n"
"poll();\n"
"setInterval(poll, 1000);\n"
"</script>\n"
"</body></html>\n";

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
	reply(req, 200, "OK", "text/html; charset=utf-8", status_page,
	    sizeof(status_page) - 1);
}

/* Whether POST /reload asks for ?force=1 (or force=yes, force=true). */
static bool
reload_forced(struct evhttp_request *req)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	const char *v;
	bool force = false;

	TAILQ_INIT(&params);
	if (query == NULL || evhttp_parse_query_str(query, &params) != 0)
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

static void
handle_flush(struct control *c, struct evhttp_request *req)
{
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	const char *name = NULL, *err = NULL;
	uint8_t wire[WIRE_NAME_MAX];
	char *norm = NULL, *msg;

	TAILQ_INIT(&params);
	if (query != NULL && evhttp_parse_query_str(query, &params) != 0) {
		reply_text(req, 400, "Bad Request", "bad query string");
		return;
	}
	name = evhttp_find_header(&params, "name");
	if (name != NULL) {
		size_t n;

		if (*name == '\0' || wire_name_from_str(name, wire, &err) < 0) {
			xasprintf(&msg, "bad name \"%s\": %s", name,
			    *name == '\0' ? "empty" : err != NULL ? err : "invalid");
			reply_text(req, 400, "Bad Request", msg);
			free(msg);
			evhttp_clear_headers(&params);
			return;
		}
		/* The cache keys names lower-case; "." is the whole cache. */
		norm = xstrdup(name);
		for (char *p = norm; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		n = strlen(norm);
		if (n > 1 && norm[n - 1] == '.' && (n < 2 || norm[n - 2] != '\\'))
			norm[n - 1] = '\0';
		if (strcmp(norm, ".") == 0) {
			free(norm);
			norm = NULL;
		}
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
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	char *text = NULL;
	int r;

	TAILQ_INIT(&params);
	if (query != NULL && evhttp_parse_query_str(query, &params) != 0) {
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
