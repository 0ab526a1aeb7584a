/*
 * azure_sync_int: the store of last good synced data, shared by
 * azure_sync.c (records, state files, one sync) and azure_sync_run.c (the
 * daemon's thread and timers, pldns sync).  Main thread only.
 */
#ifndef PLDNS_AZURE_SYNC_INT_H
#define PLDNS_AZURE_SYNC_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct store_ent {
	char *name;		/* the [azure] section */
	json_t *data;		/* the last good data, or NULL */
	uint64_t synced_at;	/* wall seconds: when DATA was read from Azure */
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

#endif
