/*
 * sources: importers for record sources (the Azure portal's "Download DNS
 * settings" CSV, az / PowerShell JSON, hosts files, RFC 1035 zone files).
 *
 * Each importer reads one file and yields entries (a name, one or more
 * addresses, an optional TTL and zone, and the entry's location).  The common
 * layer (sources.c) validates them, places each name into its privatelink zone
 * and adds the records to a recset.
 */
#ifndef PLDNS_SOURCES_H
#define PLDNS_SOURCES_H

#include "data/config.h"
#include "util/diag.h"
#include "data/records.h"

enum source_format { SRC_AUTO, SRC_CSV, SRC_JSON, SRC_HOSTS, SRC_ZONE };

/*
 * Loads one source SPEC ("path" or "csv:path", "json:path", "hosts:path",
 * "zone:path"; the path already resolved against the config directory) into
 * RS.  Returns 0, or -1 when the source has any error (then nothing of it is
 * in RS: a source is taken whole or not at all).
 */
int source_load(const struct config *cfg, const char *spec, struct recset *rs,
    struct diag *d);

/* Loads an RFC 1035 zone file for the zone ZONE (presentation) into RS
 * (with ldns).  Returns 0 or -1 (nothing added). */
int source_zone_file(const struct config *cfg, const char *zone, const char *path,
    struct recset *rs, struct diag *d);

/*
 * Checks that span sources, run once after every source was loaded: the same
 * name with different addresses in two places (an error naming both, unless
 * the zone has multi = yes), exact duplicates merged.  Returns 0 or -1.
 */
int sources_finish(const struct config *cfg, struct recset *rs, struct diag *d);

/* Format detection from content (first non-blank bytes). */
enum source_format source_detect(const char *path, const char *head, size_t len);

#endif
