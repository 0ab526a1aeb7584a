/*
 * control_metrics: the Prometheus text exposition of what the control
 * endpoint shows (control.h: control_render_metrics, control_render_missing,
 * control_render_sync).  Pure: it formats the state it is given and reads
 * nothing else, so the tests render fixed states.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control.h"
#include "util.h"

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
	for (int i = 0; i < METRICS_RCODES; i++)
		if (metrics_rcode_always(i) || m->rcode[i] != 0)
			sample(f, "pldns_queries_by_rcode_total", "rcode",
			    metrics_rcode_names[i], m->rcode[i]);

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

char *
control_render_sync(json_t *arr)
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
	json_t *o;
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
	return out;
}
