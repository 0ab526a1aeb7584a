/*
 * records: the normalised local data every source produces and every
 * snapshot is built from.
 *
 * A recset holds zones (each a local authoritative zone with its options and
 * public twins) and records (owner, type, TTL, RDATA in uncompressed wire
 * form), each record remembering where it came from (a file and line) for
 * messages.  Building a recset allocates freely (start-up and reload only).
 *
 * Owners and RDATA live in a pool laid out for the snapshot: a snapshot built
 * from a recset takes the pool over instead of copying a million names and
 * addresses.
 */
#ifndef PLDNS_RECORDS_H
#define PLDNS_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/config.h"
#include "util/diag.h"
#include "wire/wire.h"

/*
 * A bump allocator over a list of chunks: a million small objects cost a
 * few large allocations, and freeing is a walk over a short list.
 */
struct recpool_chunk;

struct recpool {
	struct recpool_chunk *head;	/* newest first */
};

/* A point in a pool to go back to. */
struct recpool_mark {
	struct recpool_chunk *chunk;
	size_t used;
};

/* N bytes aligned to ALIGN (a power of two); never fails. */
void *recpool_get(struct recpool *p, size_t n, size_t align);
void recpool_free(struct recpool *p);
/* Moves every chunk of SRC to DST (SRC is left empty). */
void recpool_take(struct recpool *dst, struct recpool *src);
void recpool_mark(const struct recpool *p, struct recpool_mark *m);
/* Frees what was taken from P since M. */
void recpool_rewind(struct recpool *p, const struct recpool_mark *m);

/*
 * One record.  RDATA is preceded by its length (two octets, network order),
 * as RRset data is laid out, so that a snapshot serves a record that is
 * alone in its RRset from where it lies.
 */
struct rec {
	const uint8_t *owner;		/* wire, lower-case, absolute */
	const uint8_t *rdata;
	const char *file;		/* a file name, or a whole location when
					   LINE is 0 (interned in the recset) */
	uint32_t line;
	uint32_t ttl;
	uint32_t zone;			/* index into recset.zones */
	uint16_t type;
	uint16_t rdlen;
};

struct rzone {
	char *name;			/* presentation, lower-case, no trailing dot */
	uint8_t apex[WIRE_NAME_MAX];	/* wire, lower-case */
	char **twins;			/* public twin suffixes (presentation), NULL terminated */
	size_t ntwins;
	int missing;			/* enum missing_policy */
	bool multi;			/* several addresses per name allowed */
	bool from_file;			/* filled by a zone file given with [zone] file = */
	char *where;			/* where the zone was declared (config or first record) */
};

/*
 * An index of records by (owner, type), open addressing: the sources build
 * it as they add records (to find repeats and conflicts) and the checks
 * across sources walk it instead of sorting every record.
 */
struct recidx_slot {
	uint32_t hash;
	uint32_t head;			/* newest record index + 1; 0: empty */
};

struct recidx {
	struct recidx_slot *slots;
	size_t cap, n;			/* cap is a power of two */
	uint32_t *next;			/* per record: the older one of its key, + 1 */
	size_t capnext;
};

struct recset {
	struct rzone *zones;
	size_t nzones, capzones;
	struct rec *recs;		/* mapped apart from the heap (see recset_release) */
	size_t nrecs, caprecs;
	size_t recs_mapped;		/* bytes mapped at recs */
	size_t recs_gone;		/* bytes at the start of recs given back */
	struct recpool pool;		/* owners and RDATA */
	struct recpool strs;		/* interned locations */
	const char *last_file;		/* the location interned last */
	struct recidx idx;
	struct diag *empty;		/* NULL, or where sources that yield no
					   records are reported instead of
					   failing the load (records_load_held) */
};

/* A recset's size, to go back to when a source fails. */
struct recset_mark {
	size_t nrecs, nzones;
	struct recpool_mark pool;
};

void recset_init(struct recset *rs);
void recset_clear(struct recset *rs);

/* Makes room for N more records (so that a large source does not double
 * the array past what it needs). */
void recset_reserve(struct recset *rs, size_t n);

/* Returns the index of zone NAME, adding it (with twins from the Azure table
 * and options from CFG's [zone] section, when any) if it is not there yet. */
size_t recset_zone(struct recset *rs, const struct config *cfg, const char *name,
    const char *where);

/*
 * Adds a record to zone Z (RDATA copied) that came from FILE, line LINE
 * (LINE 0: FILE is the whole location, as "a.json: $[0]").  FILE is interned:
 * consecutive records of one file share one copy.
 */
struct rec *recset_add_at(struct recset *rs, size_t z, const uint8_t *owner,
    uint16_t type, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen,
    const char *file, unsigned long line);

/* recset_add_at() with a whole location WHERE (may be NULL). */
struct rec *recset_add(struct recset *rs, size_t z, const uint8_t *owner,
    uint16_t type, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen,
    const char *where);

/* Returns FILE as interned in RS (a copy is made the first time). */
const char *recset_file(struct recset *rs, const char *file);

/*
 * Where R came from, "file:line" (or its whole location), written into BUF
 * (LEN bytes); returns BUF, or NULL when R has no location.
 */
const char *recset_where(const struct rec *r, char *buf, size_t len);

/*
 * The index: the slot for (OWNER, OLEN octets, TYPE), which is its own or the
 * empty one it would take (the index grows first when it must, so that a
 * slot stays valid until the next call).  recidx_link() makes record I the
 * newest of the key of SLOT.  recidx_next() walks from newer to older: both
 * give an index + 1, 0 at the end.  recidx_clear() frees the index.
 */
size_t recidx_slot(struct recset *rs, const uint8_t *owner, size_t olen,
    uint16_t type);
void recidx_link(struct recset *rs, size_t slot, size_t i);
/* Starts bringing in the slot of (OWNER, OLEN, TYPE) ahead of
 * recidx_slot(): a large index is far bigger than the caches. */
void recidx_prefetch(const struct recset *rs, const uint8_t *owner, size_t olen,
    uint16_t type);
static inline uint32_t
recidx_head(const struct recset *rs, size_t slot)
{
	return rs->idx.slots[slot].head;
}
static inline uint32_t
recidx_next(const struct recset *rs, size_t i)
{
	return rs->idx.next[i];
}
void recidx_clear(struct recset *rs);
/* Sizes the index for N more keys. */
void recidx_reserve(struct recset *rs, size_t n);

/* recset_where() as a string that lives as long as RS (or NULL). */
const char *recset_where_str(struct recset *rs, const struct rec *r);

/* Remembers the size of RS, and goes back to it: records, their bytes and
 * zones added since M are forgotten. */
void recset_mark(const struct recset *rs, struct recset_mark *m);
void recset_rewind(struct recset *rs, const struct recset_mark *m);

/*
 * Gives back to the system the memory of RS->recs[0 .. UPTO) (whole pages
 * only); those records must not be read again.  For a consumer that walks
 * the records once, so that they do not outlive their use.  Only
 * recset_clear() may follow (no more records may be added).
 */
void recset_release(struct recset *rs, size_t upto);

#endif
