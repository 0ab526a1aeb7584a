/*
 * azure_sync: records that keep themselves current, read from Azure
 * Resource Manager for each [azure "NAME"] section.
 *
 * A sync reads the section's subscriptions (private DNS zones' record sets
 * and virtual network links, private endpoints' DNS configurations and
 * zone groups), pages by nextLink exactly as given, and honours throttling.
 * It runs on a thread of its own with blocking libcurl calls, never on a
 * worker nor on the main loop; its result is posted to the main loop.
 *
 * The last good data of each section is kept in memory (the store) and in
 * <state_dir>/azure-NAME.json (written atomically), which is what a start
 * serves before the first sync.  records_load() takes the store's data
 * through the record sources' common layer (azure_store.h), so synced
 * records get every check other sources get.  A new sync that differs from
 * the store is put in the store and a normal reload is asked for; when the
 * reload rejects it, the store goes back to the previous data.  A sync that
 * changes nothing reloads nothing; one that fails changes nothing.
 */
#ifndef PLDNS_AZURE_SYNC_H
#define PLDNS_AZURE_SYNC_H

#include <stdatomic.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "data/config.h"
#include "util/diag.h"
#include "data/records.h"
#include "data/snapshot.h"
#include "data/azure_store.h"

/* A token kept across syncs of one section. */
struct azure_token {
	char *value;
	uint64_t renew_ms;	/* monotonic: get a new one from then on */
};

void azure_token_clear(struct azure_token *t);

struct azure_fetch_stats {
	unsigned requests;	/* HTTP requests, tokens and retries included */
	unsigned zones;		/* private DNS zones synced */
	unsigned sets;		/* record sets */
};

/*
 * One whole sync of AZ (a section of CFG), blocking: *DATA gets
 * {"zones": [...], "fallback": [...], "sets": [...]} (see azure_arm.h for a
 * set), sorted, or the call returns -1 with the reason in ERR.  TOK is
 * used and renewed as needed; STOP (may be NULL) cuts the sync short.
 */
int azure_sync_fetch(const struct config *cfg, const struct azure_conf *az,
    struct azure_token *tok, const atomic_int *stop, json_t **data,
    struct azure_fetch_stats *st, char *err, size_t errlen);

/*
 * Writes the differences between synced data OLD (may be NULL) and NEW,
 * record by record, to F: "+ name A ip", "- name A ip",
 * "~ name A old -> new".  Returns the number of lines.
 */
size_t azure_sync_diff(json_t *old, json_t *new, FILE *f);

/* ---- in the daemon ---- */

struct azure_sync;

/* Asks for a reload; 0 when the new data is in service (*TEXT: what happened,
 * caller frees). */
typedef int (*azure_reload_fn)(void *arg, char **text);

/*
 * Starts syncing every [azure] section of SNAP's config on BASE (the main
 * loop): the first sync at once, then every interval.  RELOAD is called on
 * the main thread when a sync changed the data.  With no [azure] section
 * nothing is started (no thread, no network).
 */
struct azure_sync *azure_sync_new(struct event_base *base, struct snapshot *snap,
    azure_reload_fn reload, void *arg);

/* The config of SNAP is now in service: sections added, changed, removed. */
void azure_sync_reconfigure(struct azure_sync *s, struct snapshot *snap);

/* Sync section NAME (NULL: every section) now.  -1 when there is no such
 * section. */
int azure_sync_request(struct azure_sync *s, const char *name);

/*
 * Per section: {"name", "last_success", "last_attempt" (wall seconds, 0
 * never), "last_error" (or null), "errors", "syncs", "records",
 * "age" (seconds since the data was synced, or null), "interval"}.
 * New reference.
 */
json_t *azure_sync_status(struct azure_sync *s);

/* Stops the thread (cutting a sync short) and frees everything. */
void azure_sync_free(struct azure_sync *s);

#endif
