/*
 * rdiff: what changes, record by record, between two sets of local records.
 *
 * Records are compared by (owner, type, RDATA): within one owner and type,
 * what both sides hold is unchanged (or changes its TTL), what is left on
 * each side pairs up as changes ("~ old -> new"), and the rest is added or
 * removed.  The changes sort in canonical name order (RFC 4034 6.1: right
 * to left by label, so that a zone's changes stay together), then by type
 * and data, whatever order the input came in.
 *
 * Pure: lists of records or two snapshots in, a list of changes and their
 * text out; nothing is read, written or logged.  pldns import --dry-run,
 * every reload and its guard share it.
 */
#ifndef PLDNS_RDIFF_H
#define PLDNS_RDIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/records.h"
#include "data/snapshot.h"

/* One record.  Pointers are borrowed: what they point at must outlive
 * every rdiff that holds the record. */
struct rdiff_rec {
	const uint8_t *owner;		/* wire, lower-case, absolute */
	const uint8_t *rdata;
	const char *file;		/* where it came from, or NULL; a whole
					   location when LINE is 0 */
	uint32_t line;
	uint32_t ttl;
	uint16_t type;
	uint16_t rdlen;
};

enum rdiff_op { RDIFF_ADD, RDIFF_DEL, RDIFF_CHANGE };

struct rdiff_change {
	enum rdiff_op op;
	struct rdiff_rec old;		/* RDIFF_DEL, RDIFF_CHANGE */
	struct rdiff_rec nw;		/* RDIFF_ADD, RDIFF_CHANGE */
};

struct rdiff {
	struct rdiff_change *v;
	size_t n, cap;
	/* Records: one each per line of the text. */
	size_t added, removed, changed;
	/* RRsets (an owner's records of one type), as "pldns import" counts
	 * records: new, gone, different, and the same on both sides. */
	size_t sets_added, sets_removed, sets_changed, sets_same;
};

/* The drop a reload may always make, whatever the percentage (records). */
#define RDIFF_DROP_FLOOR	2

void rdiff_init(struct rdiff *df);
void rdiff_clear(struct rdiff *df);

/*
 * Adds to DF what changes from the records OLD (NOLD of them) to NW (NNEW).
 * Both arrays are sorted in place; either may be NULL when empty.  Owners
 * must be lower-case.  DF borrows the records' pointers.
 */
void rdiff_recs(struct rdiff *df, struct rdiff_rec *old, size_t nold,
    struct rdiff_rec *nw, size_t nnew);

/*
 * Adds to DF what changes from snapshot OLD to NW (either may be NULL: no
 * data), zone by zone; the SOA and NS records a snapshot makes up for a
 * zone without them are not data and do not count.  Zones whose content
 * is the same are skipped without a walk.  DF borrows from both snapshots:
 * they must outlive it.
 */
void rdiff_snapshots(struct rdiff *df, const struct snapshot *old,
    const struct snapshot *nw);

/* Sorts the changes of DF (see above). */
void rdiff_sort(struct rdiff *df);

/*
 * One change as a line without newline, written into BUF (LEN bytes,
 * truncated when longer): "+ name TYPE data (file:line)", "- name TYPE
 * data", "~ name TYPE old -> new" (and " ttl A -> B" when the TTL
 * changes).  Returns BUF.
 */
const char *rdiff_format(const struct rdiff_change *c, char *buf, size_t len);

/* The first MAX changes, one a line, then "and N more" when there are
 * more; "" when there are none.  Caller frees. */
char *rdiff_text(const struct rdiff *df, size_t max);

/*
 * Where the records that a change adds came from.  A snapshot keeps no
 * origins, and building it consumes the recset that has them, so they are
 * taken before: every record of RS that OLD does not hold as it is (at
 * most MAX of them) is remembered with its file and line.  One lookup in
 * OLD per record.
 */
struct rdiff_origins {
	struct rdiff_rec *v;		/* sorted once collected */
	size_t n, cap, max;
	char **files;			/* copies of the file names (RS's go) */
	size_t nfiles;
};

void rdiff_origins_init(struct rdiff_origins *o, size_t max);
void rdiff_origins_clear(struct rdiff_origins *o);
/* Collects the origins of RS's records that OLD (may be NULL) lacks. */
void rdiff_origins_collect(struct rdiff_origins *o, const struct recset *rs,
    const struct snapshot *old);
/* Gives DF's additions and changes their origin from O, when it has it.
 * DF then borrows O's file names: O must outlive it. */
void rdiff_origins_apply(struct rdiff *df, const struct rdiff_origins *o);

/*
 * The zones that hold records in OLD and none in NW (absent or empty),
 * by name, NULL-terminated (caller frees with strv_free), or NULL when
 * there are none.
 */
char **rdiff_emptied_zones(const struct snapshot *old, const struct snapshot *nw);

/*
 * The guard's rule: whether removing REMOVED of OLD_TOTAL records is more
 * than a reload may do unasked, that is more than MAX_DROP percent of
 * OLD_TOTAL and more than RDIFF_DROP_FLOOR.
 */
bool rdiff_drop_exceeds(size_t old_total, size_t removed, unsigned max_drop);

#endif
