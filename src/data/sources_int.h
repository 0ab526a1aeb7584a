/*
 * sources_int: the interface between the common layer of the record sources
 * (sources.c) and the importers (source_csv.c, source_json.c,
 * source_hosts.c).  Not for use outside the sources.
 *
 * An importer reads text that sources.c has already checked (UTF-8,
 * byte-order mark removed, UTF-16 converted, no NUL byte) and hands each
 * entry it finds to source_add(): a name, its addresses, an optional TTL and
 * zone, and where the entry is.  The common layer validates the entry,
 * places the name into its privatelink zone and adds the records to the
 * recset, which is cut back when the source had any error.  Importers report
 * their own syntax problems through source_error().
 */
#ifndef PLDNS_SOURCES_INT_H
#define PLDNS_SOURCES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/azure_zones.h"
#include "data/config.h"
#include "util/diag.h"
#include "data/records.h"

/* One source being loaded (the importers use only the functions below). */
struct source {
	const struct config *cfg;
	const char *path;
	struct diag *d;
	size_t nerrors0;
	struct recset *rs;
	struct recset_mark mark;	/* the recset before this source */
	size_t entry_first;		/* the current entry's first record */
	uint32_t last_zone;		/* the zone the last entry fell into */
	bool have_zone;
	size_t nskipped;		/* hosts names outside every zone */
	size_t nsuppressed;		/* errors past SRC_MAX_ERRORS */
	struct azure_place_memo memo;	/* placement of the zones met so far */

	/* Reading (see source_read). */
	int fd;				/* -1: the whole text is in buf */
	char *buf;
	size_t blen, bcap;		/* bytes in buf; its size (+ 1 for a NUL) */
	size_t boff;			/* where the next block starts */
	size_t saved_at;		/* a block's terminating NUL went here... */
	char saved;			/* ...over this byte */
	bool eof, started, failed;
};

struct source_entry {
	const char *name;	/* as written (trimmed by the common layer); NULL or "" = missing */
	const char *zone;	/* zone the name may be relative to, or NULL */
	const char *const *addrs;	/* addresses as written */
	size_t naddrs;
	int64_t ttl;		/* -1: the configured record_ttl */
	const char *loc;	/* the entry: "file: $[0].customDnsConfigs[1]"; also
				   the origin remembered with its records.  NULL: LINE */
	unsigned long line;	/* with LOC NULL: the entry is at line LINE of the file
				   (cheaper than a string per row) */
	const char *name_loc;	/* for problems with the name; NULL: loc */
	const char *const *addr_locs;	/* per address, for problems with it; NULL: loc */
	bool only_placeable;	/* hosts: silently skip a name outside every zone */
	const char *cname;	/* not NULL: a CNAME to this name (lower-case, no
				   trailing dot) instead of addresses */
};

/* The file name used in messages. */
const char *source_path(const struct source *s);

/* Adds every problem of an entry to the diag; keeps the valid records. */
void source_add(struct source *s, const struct source_entry *e);

/*
 * A problem with the source, of LEVEL; LOC as in source_entry.loc (NULL:
 * the file).  Past a thousand errors in one source the rest are only
 * counted.  source_error() and source_warning() are its two levels.
 */
void source_msg(struct source *s, enum diag_level level, const char *loc,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define source_error(s, loc, ...) \
	source_msg((s), DIAG_ERROR, (loc), __VA_ARGS__)
#define source_warning(s, loc, ...) \
	source_msg((s), DIAG_WARNING, (loc), __VA_ARGS__)

/*
 * A source at PATH gave no records (WHAT says so): a warning with
 * allow_empty; otherwise an error, in RS->empty when the caller collects
 * them there (then 0 is returned), else in D (-1).
 */
int source_empty(const struct config *cfg, const char *path, const char *what,
    struct recset *rs, struct diag *d);

/* Parses a TTL written as decimal digits (0 .. 2147483647, RFC 2181). */
int source_parse_ttl(const char *text, uint32_t *ttl);

/*
 * The text of the file a block at a time: each block is whole lines (the
 * file's last line may lack its newline), NUL-terminated at BUF[*LEN], and
 * the importer may write into it until the next call.  NULL at the end (or
 * on a read error, which is reported).
 */
char *source_read(struct source *s, size_t *len);

/*
 * The importers call source_add()/source_error().  They return nothing: the
 * common layer counts the errors.  CSV and hosts files are line oriented and
 * read with source_read(); JSON is given whole: BUF (LEN bytes,
 * NUL-terminated at BUF[LEN]).
 */
void source_csv_parse(struct source *s);
void source_json_parse(struct source *s, const char *buf, size_t len);
void source_hosts_parse(struct source *s);

/*
 * A source whose entries come from memory rather than a file (records
 * synced from Azure): FILL calls source_add() for each entry, with ARG.
 * LABEL names the source in messages.  The same checks and the same rule
 * as source_load(): taken whole or not at all.  Returns 0 or -1.
 */
int source_load_entries(const struct config *cfg, const char *label,
    void (*fill)(struct source *s, void *arg), void *arg, struct recset *rs,
    struct diag *d);

/* The recset being filled (for zones a memory source declares). */
struct recset *source_recset(struct source *s);

#endif
