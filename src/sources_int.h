/*
 * sources_int: the interface between the common layer of the record sources
 * (sources.c) and the importers (source_csv.c, source_json.c,
 * source_hosts.c).  Not for use outside the sources.
 *
 * An importer reads a file that sources.c has already read into memory
 * (UTF-8, byte-order mark removed, UTF-16 converted) and hands each entry it
 * finds to source_add(): a name, its addresses, an optional TTL and zone, and
 * where the entry is.  The common layer validates the entry, places the name
 * into its privatelink zone and keeps the records pending; they reach the
 * recset only when the whole source had no error.  Importers report their
 * own syntax problems through source_error().
 */
#ifndef PLDNS_SOURCES_INT_H
#define PLDNS_SOURCES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "diag.h"

/* One source being loaded (opaque to the importers). */
struct source;

struct source_entry {
	const char *name;	/* as written (trimmed by the common layer); NULL or "" = missing */
	const char *zone;	/* zone the name may be relative to, or NULL */
	const char *const *addrs;	/* addresses as written */
	size_t naddrs;
	int64_t ttl;		/* -1: the configured record_ttl */
	const char *loc;	/* the entry: "file:line" or "file: $[0].customDnsConfigs[1]";
				   also the origin remembered with its records */
	const char *name_loc;	/* for problems with the name; NULL: loc */
	const char *const *addr_locs;	/* per address, for problems with it; NULL: loc */
	bool only_placeable;	/* hosts: silently skip a name outside every zone */
};

/* The file name used in messages. */
const char *source_path(const struct source *s);

/* Adds every problem of an entry to the diag; keeps the valid records. */
void source_add(struct source *s, const struct source_entry *e);

/* Problems found by an importer; LOC as in source_entry.loc (NULL: the file). */
void source_error(struct source *s, const char *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void source_warning(struct source *s, const char *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses a TTL written as decimal digits (0 .. 2147483647, RFC 2181). */
int source_parse_ttl(const char *text, uint32_t *ttl);

/*
 * The importers: each parses BUF (LEN bytes, NUL-terminated at BUF[LEN]) and
 * calls source_add()/source_error().  They return nothing: the common layer counts
 * the errors.
 */
void source_csv_parse(struct source *s, const char *buf, size_t len);
void source_json_parse(struct source *s, const char *buf, size_t len);
void source_hosts_parse(struct source *s, const char *buf, size_t len);

#endif
