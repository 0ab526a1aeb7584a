/*
 * records: the normalised local data every source produces and every
 * snapshot is built from.
 *
 * A recset holds zones (each a local authoritative zone with its options and
 * public twins) and records (owner, type, class, TTL, RDATA in uncompressed
 * wire form), each record remembering where it came from ("file:line") for
 * messages.  Building a recset allocates freely (start-up and reload only).
 */
#ifndef PLDNS_RECORDS_H
#define PLDNS_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "diag.h"
#include "wire.h"

/*
 * One record.  Owner and RDATA live in the recset's pool (freed with it), so
 * a million records cost a few large allocations, not millions of small ones.
 */
struct rec {
	const uint8_t *owner;		/* wire, lower-case, absolute */
	const uint8_t *rdata;
	const char *where;		/* "file:line" (interned in the recset) */
	uint32_t ttl;
	uint32_t zone;			/* index into recset.zones */
	uint16_t type, rclass;
	uint16_t rdlen;
};

struct recpool_chunk;

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

struct recset {
	struct rzone *zones;
	size_t nzones, capzones;
	struct rec *recs;
	size_t nrecs, caprecs;
	const char *last_where;		/* the last "where" string interned */
	struct recpool_chunk *pool;	/* owners, RDATA and "where" strings */
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

/* Adds a record to zone Z (RDATA copied). WHERE is copied (interned). */
struct rec *recset_add(struct recset *rs, size_t z, const uint8_t *owner,
    uint16_t type, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen,
    const char *where);

/*
 * Loads everything CFG names: zone files of [zone] sections and every
 * [records] source.  Problems go to D as "file:line: message".  Returns 0 when
 * there was no error (warnings allowed), -1 otherwise; on -1 RS must not be
 * used (it may be partly filled; clear it).
 */
int records_load(const struct config *cfg, struct recset *rs, struct diag *d);

#endif
