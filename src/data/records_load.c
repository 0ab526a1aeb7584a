/* records_load: a recset from every source a configuration names. */
#include "data/azure_store.h"
#include "data/records_load.h"
#include "data/sources.h"

int
records_load(const struct config *cfg, struct recset *rs, struct diag *d)
{
	int rc = 0;

	/* Zones declared in the config exist even when empty, so that their
	 * names answer NXDOMAIN rather than being forwarded. */
	for (size_t i = 0; i < cfg->nzones; i++) {
		const struct zone_conf *zc = &cfg->zones[i];
		size_t z = recset_zone(rs, cfg, zc->name, zc->where);

		if (zc->file != NULL) {
			rs->zones[z].from_file = true;
			if (source_zone_file(cfg, zc->name, zc->file, rs, d) != 0)
				rc = -1;
		}
	}
	for (size_t i = 0; i < cfg->nsources; i++)
		if (source_load(cfg, cfg->sources[i], rs, d) != 0)
			rc = -1;
	/* Records synced from Azure: a source like the others. */
	if (azure_sync_records(cfg, rs, d) != 0)
		rc = -1;
	if (rc == 0 && sources_finish(cfg, rs, d) != 0)
		rc = -1;
	return rc;
}

int
records_load_held(const struct config *cfg, struct recset *rs, struct diag *d,
    struct diag *empty)
{
	int rc;

	rs->empty = empty;
	rc = records_load(cfg, rs, d);
	rs->empty = NULL;
	return rc;
}
