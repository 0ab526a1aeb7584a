/*
 * import: the "pldns import" verb.  Reads record sources, validates them as
 * the daemon would, and writes one RFC 1035 zone file per privatelink zone.
 */
#ifndef PLDNS_IMPORT_H
#define PLDNS_IMPORT_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes (sysexits.h). */
#define IMPORT_OK		0
#define IMPORT_DATAERR		65
#define IMPORT_NOINPUT		66
#define IMPORT_CANTCREAT	73

/*
 * CONFIG_PATH may be NULL (defaults: ttl 10, strict, no allow_public).
 * FILES are source specs as in [records] sources (relative to the current
 * directory).  Writes zone files into ZONE_DIR (created if missing) unless
 * DRY_RUN; prints the summary to OUT and problems to ERR.  A DRY_RUN
 * prints every change record by record before the counts: against the
 * zone files in ZONE_DIR, or, with CONFIG_PATH, against what the
 * configuration's [records] sources give now.  Returns an exit code.
 */
int import_run(const char *config_path, const char *zone_dir, bool dry_run,
    char *const *files, int nfiles, FILE *out, FILE *err);

#endif
