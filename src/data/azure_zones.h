/*
 * azure_zones: the table of Azure private DNS zones (public, Government and
 * China clouds) and their public twin zones, kept as data in azure_zones.c.
 *
 * A table row pairs a privatelink zone with the public suffixes whose names
 * map into it.  Rows may contain one placeholder label written "{region}"
 * that stands for any single label and must be the same label on both sides:
 *   privatelink.{region}.backup.windowsazure.com <- {region}.backup.windowsazure.com
 * Mapping a public name into the zone replaces the public suffix with the
 * zone: acct.blob.core.windows.net -> acct.privatelink.blob.core.windows.net,
 * kv.vault.azure.net -> kv.privatelink.vaultcore.azure.net.
 *
 * All names here are presentation form, lower-case, without trailing dot.
 */
#ifndef PLDNS_AZURE_ZONES_H
#define PLDNS_AZURE_ZONES_H

#include <stddef.h>

#define AZURE_NAME_MAX	256
#define AZURE_TWINS_MAX	8

/*
 * Finds where NAME belongs:
 *  - NAME inside a privatelink zone of the table (at or below it): *ZONE gets
 *    the concrete zone, *PLNAME gets NAME itself; returns 1.
 *  - NAME inside a public twin of a table row: *ZONE gets the concrete zone,
 *    *PLNAME the privatelink form of NAME; returns 2.
 *  - otherwise returns 0.
 * The longest matching zone or twin wins.  ZONE and PLNAME have
 * AZURE_NAME_MAX bytes.
 */
int azure_zone_place(const char *name, char *zone, char *plname);

/*
 * azure_zone_place() for many names, remembering the outcome for the last
 * labels that decided it, so that the next name of the same zone (or twin)
 * is placed without the table: a file of a million names has a handful of
 * zones.  A memo starts zeroed and is one thread's.
 */
#define AZURE_MEMO_SETS		8	/* a power of two */
#define AZURE_MEMO_WAYS		4	/* zones sharing their last two labels */
#define AZURE_MEMO_EXCL		8

/*
 * An outcome holds for every name whose last DEPTH labels are KEY and whose
 * label left of them exists and is none of EXCL: the table compared no
 * more of the name than that (and those literals are what it compared that
 * label with and found different).
 */
struct azure_place_entry {
	char key[AZURE_NAME_MAX];
	char zone[AZURE_NAME_MAX];
	size_t zlen;
	int depth;			/* 0: empty */
	int tlabels;			/* R 2: the labels of the twin */
	int r;
	int nexcl;
	const char *excl[AZURE_MEMO_EXCL];	/* into the table */
	unsigned char excllen[AZURE_MEMO_EXCL];
};

struct azure_place_memo {
	struct azure_place_entry e[AZURE_MEMO_SETS][AZURE_MEMO_WAYS];
	unsigned char next[AZURE_MEMO_SETS];	/* the way to replace next */
};

int azure_zone_place_memo(struct azure_place_memo *m, const char *name,
    char *zone, char *plname);

/*
 * Writes the public twin suffixes of the concrete privatelink zone ZONE into
 * TWINS (placeholders filled in) and returns how many (0 when ZONE is not in
 * the table).
 */
int azure_zone_twins(const char *zone, char twins[][AZURE_NAME_MAX], int max);

/* True when ZONE is (a concrete instance of) a table zone. */
int azure_zone_known(const char *zone);

/* For docs and the forwarders verb: the row count and row I's zone pattern,
 * its cloud ("public", "usgov", "china") and service, and its twin patterns. */
size_t azure_zone_count(void);
const char *azure_zone_pattern(size_t i, const char **cloud, const char **service,
    const char *const **twins);

#endif
