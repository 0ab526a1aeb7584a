/*
 * metrics: the counters a worker keeps about the queries it handles.
 *
 * Each worker owns one struct metrics and is its only writer, so counting
 * is a relaxed load and store (COUNTER_INC, util.h) with no lock and no
 * atomic read-modify-write on the query path.  Readers (the control
 * endpoint, SIGUSR1) sum the workers' structs with metrics_add(), which
 * reads each counter atomically: a count may be one query old, never torn.
 * The plain counters are listed once, in metrics_counters.h, with how the
 * exposition and /status show them; adding one is adding its line there.
 */
#ifndef PLDNS_METRICS_H
#define PLDNS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/answer.h"
#include "runtime/metrics_counters.h"

/* Query types broken out by name; everything else counts as "other". */
#define METRICS_QTYPES	12
extern const char *const metrics_qtype_names[METRICS_QTYPES];
int metrics_qtype_index(uint16_t qtype);

/* Response codes counted one by one (0..23), by name; extended rcodes
 * above 23 are not counted. */
#define METRICS_RCODES	24
extern const char *const metrics_rcode_names[METRICS_RCODES];
/* Whether RC's series is always shown, so that rate() works from the
 * first scrape; the others appear once counted. */
bool metrics_rcode_always(int rc);

/* Latency histogram bucket upper bounds in microseconds; the last is +Inf. */
#define METRICS_LAT_BUCKETS 12
extern const uint64_t metrics_lat_bounds_us[METRICS_LAT_BUCKETS - 1];

enum metrics_transport { MT_UDP, MT_TCP, MT_COUNT };

struct metrics {
	_Atomic uint64_t queries[MT_COUNT];
	_Atomic uint64_t qtype[METRICS_QTYPES];
	_Atomic uint64_t rcode[METRICS_RCODES];
	_Atomic uint64_t path[PATH_COUNT];
	_Atomic uint64_t latency[METRICS_LAT_BUCKETS];
	_Atomic uint64_t latency_sum_us;
	_Atomic uint64_t answers;		/* = sum of latency buckets */

	/* The plain counters, one field per line of metrics_counters.h. */
#define METRICS_FIELD(field, ...) _Atomic uint64_t field;
	METRICS_COUNTERS(METRICS_FIELD)
#undef METRICS_FIELD

	/* The upstream pools' totals, summed over servers, for the SIGUSR1
	 * log line (the exposition and /status have them per server). */
	_Atomic uint64_t up_sent, up_answered, up_timeouts, up_refused;
};

/* Where the exposition shows a counter of metrics_counters.h. */
enum metrics_group { MG_PROTOCOL, MG_CACHE, MG_UPSTREAM, MG_MISSING };

/* A line of metrics_counters.h, as data (the columns are described there). */
struct metrics_counter {
	size_t offset;			/* of its field in struct metrics */
	enum metrics_group group;
	const char *family, *label, *value, *help, *object, *key;
};
extern const struct metrics_counter metrics_counters[];
extern const size_t metrics_ncounters;

/* The value of counter K in M. */
uint64_t metrics_counter_get(const struct metrics *m, const struct metrics_counter *k);

/* Counts one answered query. */
void metrics_answer(struct metrics *m, enum metrics_transport t, uint16_t qtype,
    int rcode, enum answer_path path, uint64_t latency_us);

/* DST += SRC, field by field (every field, so a counter added to the list
 * is summed with no more ado); SRC may be a worker's live struct. */
void metrics_add(struct metrics *dst, const struct metrics *src);

#endif
