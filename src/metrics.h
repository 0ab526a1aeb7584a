/*
 * metrics: the counters a worker keeps about the queries it handles.
 *
 * Each worker owns one struct metrics and is its only writer, so counting
 * is a relaxed load and store (COUNTER_INC, util.h) with no lock and no
 * atomic read-modify-write on the query path.  Readers (the control
 * endpoint, SIGUSR1) sum the workers' structs with metrics_add(), which
 * reads each counter atomically: a count may be one query old, never torn.
 */
#ifndef PLDNS_METRICS_H
#define PLDNS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "answer.h"

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

	_Atomic uint64_t dropped;		/* malformed queries dropped (QR set, too short) */
	_Atomic uint64_t formerr, notimp, badvers;
	_Atomic uint64_t refused_acl, dropped_acl;	/* access control */
	_Atomic uint64_t rrl_dropped, rrl_slipped;	/* response rate limiting */
	_Atomic uint64_t truncated;		/* replies sent with TC=1 */

	_Atomic uint64_t tcp_accepted, tcp_rejected, tcp_idle_closed;

	_Atomic uint64_t cache_hits, cache_misses, cache_stale_served;
	_Atomic uint64_t cache_prefetches;	/* background refreshes sent upstream */

	/* Upstream (summed over servers; per-server figures live in upstream.h). */
	_Atomic uint64_t up_sent, up_answered, up_timeouts, up_refused, up_spoofed,
	    up_tcp_retries, up_failed, up_overflow;
	_Atomic uint64_t up_coalesced;		/* queries that joined an identical one in flight */
	_Atomic uint64_t up_late;		/* replies to a try of a request that had ended */
	_Atomic uint64_t up_tcp_failures;	/* TCP attempts after TC that failed */

	/* Names the local zones lack (missing.h): NXDOMAIN or fallback. */
	_Atomic uint64_t missing;
	/* Server cookies (RFC 7873) clients sent: ours and valid, or not. */
	_Atomic uint64_t cookies_valid, cookies_invalid;
	_Atomic uint64_t cookies_new;	/* a client cookie alone: one handed out */
	/* Queries answered SERVFAIL and TCP connections closed because
	 * memory ran out. */
	_Atomic uint64_t alloc_failed;
};

/* Counts one answered query. */
void metrics_answer(struct metrics *m, enum metrics_transport t, uint16_t qtype,
    int rcode, enum answer_path path, uint64_t latency_us);

/* DST += SRC, field by field; SRC may be a worker's live struct. */
void metrics_add(struct metrics *dst, const struct metrics *src);

#endif
