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
