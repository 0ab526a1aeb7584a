/*
 * azure_store: the last good data of each [azure "NAME"] section, in
 * memory (the store) and in <state_dir>/azure-NAME.json, and the records
 * it feeds to the loader.  The sync (azure_sync.h) writes it; loading
 * records reads it, so the data layer needs nothing of the sync itself.
 * Main thread only.
 */
#ifndef PLDNS_AZURE_STORE_H
#define PLDNS_AZURE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "data/config.h"
#include "util/diag.h"
#include "data/records.h"

struct store_ent {
	char *name;		/* the [azure] section */
	json_t *data;		/* the last good data, or NULL */
	uint64_t synced_at;	/* wall seconds: when DATA was read from Azure */
	size_t records;		/* azure_sync_count(DATA), counted once: /status
				 * and /metrics ask for it at every scrape */
	bool loaded;		/* DATA was set (from a sync or the state file) */
	bool tried;		/* the state file was read, or tried */
};

/* The entry for NAME; created when CREATE (NULL otherwise). */
struct store_ent *azure_store_get(const char *name, bool create);

/* Replaces the entry's data (its reference taken) and time. */
void azure_store_set(struct store_ent *e, json_t *data, uint64_t synced_at);

/* Forgets every entry (at exit). */
void azure_store_clear(void);

/* Writes a state file atomically.  Returns 0 or -1 (ERR). */
int azure_state_write(const char *path, const char *name, json_t *data,
    uint64_t synced_at, char *err, size_t errlen);

/* Reads a state file: 0 (*DATA, *SYNCED_AT), 1 when there is none, -1 (ERR). */
int azure_state_read(const char *path, json_t **data, uint64_t *synced_at,
    char *err, size_t errlen);


/*
 * Feeds the last good data of every [azure] section of CFG into RS, as a
 * source labelled azure "NAME".  The first time a section is met, its data
 * is read from state_dir (a missing file is no data; a damaged one a
 * warning).  Returns 0, or -1 when the data of a section fails a check.
 */
int azure_sync_records(const struct config *cfg, struct recset *rs,
    struct diag *d);

/* The number of records (addresses and targets) in synced DATA. */
size_t azure_sync_count(json_t *data);

/* <state_dir>/azure-NAME.json; caller frees. */
char *azure_state_path(const struct config *cfg, const char *name);

/*
 * Remembers in state_dir the last error of section NAME (MSG), or forgets
 * it (MSG NULL: the last sync succeeded), for pldns doctor.
 */
void azure_state_error(const struct config *cfg, const char *name,
    const char *msg);

/*
 * The last error remembered for section NAME, without its time stamp, in
 * BUF (empty when none).  Returns BUF.
 */
char *azure_state_last_error(const struct config *cfg, const char *name,
    char *buf, size_t len);

/* Whether pldns answers for ZONE: a zone of the table or a configured one.
 * A sync keeps only those. */
bool azure_zone_wanted(const struct config *cfg, const char *zone);

#endif
