/*
 * missing: the names clients ask for that the local zones do not hold (an
 * NXDOMAIN from local data, or the public answer under missing = fallback),
 * counted in a table of bounded size that keeps the most frequent ones.
 *
 * The table is a space-saving counter (Metwally, Agrawal, El Abbadi 2005):
 * while there is room every new name gets a slot; when it is full a new
 * name takes the slot of the least counted one (the least recently seen
 * among equals) and inherits its count, plus one.  So a name asked more
 * often than the table's smallest count is always in it, its count is
 * never below the truth, and it overstates by at most its ERROR.  Noting a
 * name is a hash lookup and a sift in a binary heap: O(log size), no
 * allocation, whatever the stream of names.
 *
 * Each worker owns one table and is its only writer; a reader gets a copy
 * through the worker's mailbox (worker.h) and merges the copies with
 * missing_merge().  Nothing here locks.  Times are the caller's clock (a
 * worker uses monotonic seconds; the reader turns them into wall-clock
 * time).
 */
#ifndef PLDNS_MISSING_H
#define PLDNS_MISSING_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

/* Names a worker's table holds at most. */
#define MISSING_TOP		1000
/* A zone name's presentation form, NUL included. */
#define MISSING_ZONE_MAX	256

struct missing_entry {
	uint8_t name[WIRE_NAME_MAX];	/* lower-case wire, as asked */
	char zone[MISSING_ZONE_MAX];	/* the local zone it falls in (or whose
					 * public twin it falls in) */
	uint64_t count;			/* queries; at most ERROR too many */
	uint64_t error;			/* the count inherited from an evicted name */
	uint64_t first_seen;		/* since it took its slot */
	uint64_t last_seen;
	uint32_t hash;
};

struct missing;

/* A table for CAP names (at least 1).  Caller frees with missing_free(). */
struct missing *missing_new(size_t cap);
void missing_free(struct missing *m);

/* Counts one query for NAME (lower-case wire) in ZONE (presentation) at
 * NOW.  Never allocates. */
void missing_note(struct missing *m, const uint8_t *name, const char *zone,
    uint64_t now);

/* Names held (at most the capacity). */
size_t missing_size(const struct missing *m);
size_t missing_capacity(const struct missing *m);
/* Every query noted (and merged in), those of evicted names included. */
uint64_t missing_queries(const struct missing *m);

/* The entry for NAME, or NULL. */
const struct missing_entry *missing_find(const struct missing *m,
    const uint8_t *name);

/* Makes DST (of at least SRC's size) a copy of SRC: what a worker hands a
 * reader.  Copies only the names held. */
void missing_copy(struct missing *dst, const struct missing *src);

/*
 * Adds SRC's names into DST: counts and errors summed, first seen the
 * earliest, last seen the latest, and SRC's queries to DST's.  A name new
 * to a full DST takes the place of DST's least counted name only when its
 * count is larger; a reader that merges several tables makes DST as large
 * as their sizes together, so that nothing is lost.
 */
void missing_merge(struct missing *dst, const struct missing *src);

/* Adds DELTA to every first and last seen time: from the workers'
 * monotonic clock to the wall clock. */
void missing_shift_times(struct missing *m, int64_t delta);

/*
 * The names held, most counted first (then most recently seen, then by
 * name), at most MAX of them into OUT (pointers into M, valid until M
 * changes).  Returns how many.
 */
size_t missing_top(const struct missing *m, const struct missing_entry **out,
    size_t max);

#endif
