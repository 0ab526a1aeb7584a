/*
 * control_metrics: the counters and figures the control endpoint shows, as
 * the Prometheus text exposition (control_render_metrics,
 * control_render_missing, control_render_sync) and as the objects of
 * /status that hold them (control_counters_json, control_upstream_json).
 * The counters come from the list in metrics_counters.h, the figures of
 * the caches and upstream servers from the tables below, so that each is
 * named once for both.  Pure: it formats the state it is given and reads
 * nothing else, so the tests render fixed states.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "runtime/control.h"
#include "util/util.h"

/* A text being written: open_memstream's buffer and stream. */
struct text {
	char *out;
	size_t len;
	FILE *f;
};

static FILE *
text_open(struct text *t)
{
	t->out = NULL;
	t->len = 0;
	if ((t->f = open_memstream(&t->out, &t->len)) == NULL)
		abort();
	return t->f;
}

/* The text written, a new string (caller frees). */
static char *
text_close(struct text *t)
{
	if (fclose(t->f) != 0)
		abort();
	return t->out;
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

static const char *const transport_names[MT_COUNT] = { "udp", "tcp" };

/* A counter family with a sample per element of an array of struct
 * metrics, labelled with the element's name. */
struct by_label {
	const char *family, *help, *label;
	const char *const *names;
	size_t offset;			/* of the array in struct metrics */
	int n;
	bool (*always)(int);		/* NULL: every sample; else those it
					   says, and the others once counted */
};

static const struct by_label by_labels[] = {
	{ "pldns_queries_total", "Queries answered, by transport.", "transport",
	  transport_names, offsetof(struct metrics, queries), MT_COUNT, NULL },
	{ "pldns_queries_by_qtype_total",
	  "Queries answered, by query type (other: every type not listed).",
	  "qtype", metrics_qtype_names, offsetof(struct metrics, qtype),
	  METRICS_QTYPES, NULL },
	{ "pldns_queries_by_rcode_total", "Queries answered, by response code.",
	  "rcode", metrics_rcode_names, offsetof(struct metrics, rcode),
	  METRICS_RCODES, metrics_rcode_always },
	{ "pldns_queries_by_path_total",
	  "Queries answered, by how the answer was made.", "path",
	  answer_path_names, offsetof(struct metrics, path), PATH_COUNT, NULL },
};

static void
render_by_label(FILE *f, const struct metrics *m, const struct by_label *b)
{
	const _Atomic uint64_t *v = (const _Atomic uint64_t *)(const void *)
	    ((const char *)m + b->offset);

	family(f, b->family, "counter", b->help);
	for (int i = 0; i < b->n; i++) {
		uint64_t x = COUNTER_GET(v[i]);

		if (b->always == NULL || b->always(i) || x != 0)
			sample(f, b->family, b->label, b->names[i], x);
	}
}

static void
render_queries(FILE *f, const struct metrics *m)
{
	uint64_t cum = 0;
	char le[32], sum[32];

	for (size_t k = 0; k < nitems(by_labels); k++)
		render_by_label(f, m, &by_labels[k]);

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

/* The counters of metrics_counters.h shown in part G of the exposition. */
static void
render_counters(FILE *f, const struct metrics *m, enum metrics_group g)
{
	for (size_t i = 0; i < metrics_ncounters; i++) {
		const struct metrics_counter *k = &metrics_counters[i];

		if (k->group != g)
			continue;
		if (k->help != NULL)
			family(f, k->family, "counter", k->help);
		sample(f, k->family, k->label, k->value, metrics_counter_get(m, k));
	}
}

/* A figure of struct cache_info or struct upstream_info: its family, and
 * its key in /status (NULL: not shown there). */
struct figure {
	size_t offset;
	const char *family, *type, *help, *key;
};

static const struct figure cache_figures[] = {
	{ offsetof(struct cache_info, entries), "pldns_cache_entries", "gauge",
	  "Entries in the cache.", "entries" },
	{ offsetof(struct cache_info, bytes), "pldns_cache_bytes", "gauge",
	  "Memory used by the cache, entry overhead included.", "bytes" },
	{ offsetof(struct cache_info, max_bytes), "pldns_cache_max_bytes", "gauge",
	  "Memory the cache may use ([cache] size).", "max_bytes" },
	{ offsetof(struct cache_info, inserts), "pldns_cache_inserts_total",
	  "counter", "Upstream answers stored in the cache.", NULL },
	{ offsetof(struct cache_info, evictions), "pldns_cache_evictions_total",
	  "counter", "Entries evicted to make room.", "evictions" },
	{ offsetof(struct cache_info, expired), "pldns_cache_expired_total",
	  "counter", "Entries removed because they expired.", NULL },
	{ offsetof(struct cache_info, sibling_hits),
	  "pldns_cache_sibling_hits_total", "counter",
	  "Answers found in another worker's cache when the upstream failed "
	  "or was late.", NULL },
};

/* Per server, after pldns_upstream_up and pldns_upstream_rtt_seconds. */
static const struct figure upstream_figures[] = {
	{ offsetof(struct upstream_info, sent), "pldns_upstream_queries_total",
	  "counter", "Queries sent to the upstream server.", "sent" },
	{ offsetof(struct upstream_info, answered), "pldns_upstream_answers_total",
	  "counter", "Valid answers received from the upstream server.",
	  "answered" },
	{ offsetof(struct upstream_info, timeouts), "pldns_upstream_timeouts_total",
	  "counter", "Tries to the upstream server that timed out.", "timeouts" },
	{ offsetof(struct upstream_info, refused), "pldns_upstream_refused_total",
	  "counter", "Tries to the upstream server refused by ICMP or REFUSED, "
	  "or that could not be sent (no route).", "refused" },
	{ offsetof(struct upstream_info, spoofed), "pldns_upstream_spoofed_total",
	  "counter", "Replies from the upstream server's address that did not "
	  "match.", "spoofed" },
	{ offsetof(struct upstream_info, inflight), "pldns_upstream_inflight",
	  "gauge", "Queries waiting for an answer from the upstream server.",
	  "inflight" },
	{ offsetof(struct upstream_info, errors), "pldns_upstream_errors_total",
	  "counter", "Tries the upstream server answered SERVFAIL, NOTIMP or "
	  "FORMERR.", "errors" },
};

static uint64_t
cache_figure(const struct cache_info *ci, const struct figure *k)
{
	return *(const uint64_t *)(const void *)((const char *)ci + k->offset);
}

/* The server's counters are counted by its worker while this reads. */
static uint64_t
upstream_figure(const struct upstream_info *u, const struct figure *k)
{
	return COUNTER_GET(*(const _Atomic uint64_t *)(const void *)
	    ((const char *)u + k->offset));
}

static void
render_cache(FILE *f, const struct metrics *m, const struct cache_info *ci)
{
	render_counters(f, m, MG_CACHE);
	if (ci == NULL)
		return;
	for (size_t k = 0; k < nitems(cache_figures); k++) {
		family(f, cache_figures[k].family, cache_figures[k].type,
		    cache_figures[k].help);
		sample(f, cache_figures[k].family, NULL, NULL,
		    cache_figure(ci, &cache_figures[k]));
	}
}

static void
render_upstreams(FILE *f, const struct metrics *m,
    const struct upstream_info *up, size_t nup)
{
	char (*names)[64];
	char rtt[32];

	render_counters(f, m, MG_UPSTREAM);
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
	for (size_t k = 0; k < nitems(upstream_figures); k++) {
		const struct figure *fig = &upstream_figures[k];

		family(f, fig->family, fig->type, fig->help);
		for (size_t i = 0; i < nup; i++)
			sample(f, fig->family, "server", names[i],
			    upstream_figure(&up[i], fig));
	}
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
	struct text t;
	FILE *f = text_open(&t);

	family(f, "pldns_build_info", "gauge", "The running version of pldns.");
	sample(f, "pldns_build_info", "version", PACKAGE_VERSION, 1);
	render_queries(f, m);
	render_counters(f, m, MG_PROTOCOL);
	render_cache(f, m, ci);
	render_upstreams(f, m, up, nup);
	render_zones(f, s);
	if (rs != NULL)
		render_reload(f, rs);
	return text_close(&t);
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
	struct metrics m;
	struct text t;
	FILE *f = text_open(&t);

	memset(&m, 0, sizeof(m));
	m.missing = queries;
	render_counters(f, &m, MG_MISSING);
	gauge1(f, "pldns_missing_names",
	    "Distinct names held in the workers' tables of names clients miss "
	    "(at most 1000 per worker; the names are in /status).", names);
	return text_close(&t);
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
	struct text t;
	FILE *f = text_open(&t);
	json_t *o;
	size_t i;

	for (size_t k = 0; arr != NULL && json_array_size(arr) > 0 &&
	    k < nitems(fams); k++) {
		family(f, fams[k].name, fams[k].type, fams[k].help);
		json_array_foreach(arr, i, o)
			sample(f, fams[k].name, "azure",
			    json_string_value(json_object_get(o, "name")),
			    (uint64_t)json_integer_value(json_object_get(o,
			    fams[k].key)));
	}
	return text_close(&t);
}

/* The object of ROOT named NAME, made when there is none. */
static json_t *
object_in(json_t *root, const char *name)
{
	json_t *o = json_object_get(root, name);

	if (o == NULL) {
		o = json_object();
		json_object_set_new(root, name, o);
	}
	return o;
}

void
control_counters_json(json_t *root, const struct metrics *m,
    const struct cache_info *ci)
{
	json_t *cache;

	for (size_t i = 0; i < metrics_ncounters; i++) {
		const struct metrics_counter *k = &metrics_counters[i];

		json_object_set_new(object_in(root, k->object), k->key,
		    json_integer((json_int_t)metrics_counter_get(m, k)));
	}
	cache = object_in(root, "cache");
	for (size_t k = 0; ci != NULL && k < nitems(cache_figures); k++)
		if (cache_figures[k].key != NULL)
			json_object_set_new(cache, cache_figures[k].key, json_integer(
			    (json_int_t)cache_figure(ci, &cache_figures[k])));
}

json_t *
control_upstream_json(const struct upstream_info *u)
{
	json_t *o = json_object();
	char buf[64];

	json_object_set_new(o, "server",
	    json_string(addr_str(&u->addr, buf, sizeof(buf))));
	json_object_set_new(o, "up", json_boolean(u->up));
	json_object_set_new(o, "rtt_ms", json_integer((json_int_t)u->rtt_ms));
	for (size_t k = 0; k < nitems(upstream_figures); k++)
		json_object_set_new(o, upstream_figures[k].key, json_integer(
		    (json_int_t)upstream_figure(u, &upstream_figures[k])));
	return o;
}

void
control_upstream_add(struct upstream_info *dst, const struct upstream_info *src)
{
	dst->up = dst->up && src->up;
	if (src->rtt_ms > dst->rtt_ms)
		dst->rtt_ms = src->rtt_ms;
	for (size_t k = 0; k < nitems(upstream_figures); k++) {
		_Atomic uint64_t *d = (_Atomic uint64_t *)(void *)
		    ((char *)dst + upstream_figures[k].offset);

		COUNTER_ADD(*d, upstream_figure(src, &upstream_figures[k]));
	}
}

void
control_cache_add(struct cache_info *dst, const struct cache_info *src)
{
	/* Every member is a uint64_t that sums over workers. */
	uint64_t *d = (uint64_t *)(void *)dst;
	const uint64_t *s = (const uint64_t *)(const void *)src;

	_Static_assert(sizeof(*dst) % sizeof(uint64_t) == 0,
	    "struct cache_info holds uint64_t only");
	for (size_t i = 0; i < sizeof(*dst) / sizeof(uint64_t); i++)
		d[i] += s[i];
}
