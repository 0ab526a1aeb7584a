/*
 * records_load: fills a recset from everything a configuration names (zone
 * files of [zone] sections, every [records] source, the records synced from
 * Azure), then runs the checks that span sources.
 *
 * Apart from records.c, which is the data structure alone: the loader
 * depends on the sources, and the sources on the recset they fill.
 */
#ifndef PLDNS_RECORDS_LOAD_H
#define PLDNS_RECORDS_LOAD_H

#include "data/config.h"
#include "util/diag.h"
#include "data/records.h"

/*
 * Loads everything CFG names: zone files of [zone] sections and every
 * [records] source.  Problems go to D as "file:line: message".  Returns 0 when
 * there was no error (warnings allowed), -1 otherwise; on -1 RS must not be
 * used (it may be partly filled; clear it).
 */
int records_load(const struct config *cfg, struct recset *rs, struct diag *d);

/*
 * records_load(), except that a source yielding no records (without
 * allow_empty) is not an error of the load: its message goes to EMPTY, as
 * an error there, and the load goes on.  A reload holds its data back on
 * such messages instead of rejecting it, so that --force can apply it.
 */
int records_load_held(const struct config *cfg, struct recset *rs,
    struct diag *d, struct diag *empty);

#endif
