/*
 * sync_now: pldns sync, one sync of every [azure] section (or one) without
 * the daemon: fetched, checked as a reload would check it, its changes
 * printed and its data kept in state_dir.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/azure_store.h"
#include "sync/azure_sync.h"
#include "sync/http.h"
#include "data/records.h"
#include "data/records_load.h"
#include "util/util.h"
#include "verbs/verbs.h"

static int
sync_run(struct verb_args *a)
{
	const char *path = verb_get(a, 'c', VERB_DEFAULT_CONFIG);
	const char *only = a->argc > 0 ? a->argv[0] : NULL;
	bool dry = verb_has(a, 'n');
	struct config *cfg;
	struct diag d;
	int status = 0, done = 0;

	diag_init(&d);
	if ((cfg = config_load(path, &d)) == NULL) {
		diag_print(&d, stderr);
		diag_clear(&d);
		return 78;
	}
	diag_clear(&d);
	http_global_init();
	for (size_t i = 0; i < cfg->nazures; i++) {
		const struct azure_conf *az = &cfg->azures[i];
		struct azure_token tok = { 0 };
		struct azure_fetch_stats st;
		struct store_ent *e;
		struct recset rs;
		json_t *data, *old;
		char err[2048], *spath;
		uint64_t oldat;
		int r;

		if (only != NULL && strcmp(az->name, only) != 0)
			continue;
		done++;
		spath = azure_state_path(cfg, az->name);
		e = azure_store_get(az->name, true);
		r = azure_state_read(spath, &old, &oldat, err, sizeof(err));
		if (r == -1)
			fprintf(stderr, "%s: ignored: %s\n", spath, err);
		r = azure_sync_fetch(cfg, az, &tok, NULL, &data, &st, err,
		    sizeof(err));
		azure_token_clear(&tok);
		if (r == -1) {
			fprintf(stderr, "azure \"%s\": sync failed: %s\n", az->name,
			    err);
			if (!dry)
				azure_state_error(cfg, az->name, err);
			if (old != NULL)
				json_decref(old);
			free(spath);
			status = status ? status : 69;
			continue;
		}
		/* Checked as a reload would check it, with every other source. */
		e->tried = true;
		azure_store_set(e, json_incref(data), now_wall());
		diag_init(&d);
		recset_init(&rs);
		r = records_load(cfg, &rs, &d);
		recset_clear(&rs);
		if (r != 0) {
			diag_print(&d, stderr);
			fprintf(stderr, "azure \"%s\": the synced data fails the "
			    "checks: nothing written\n", az->name);
			status = 65;
		} else {
			size_t n = azure_sync_diff(old, data, stdout);

			printf("azure \"%s\": %zu records, %zu change%s (%u zones, "
			    "%u requests)%s\n", az->name, azure_sync_count(data), n,
			    n == 1 ? "" : "s", st.zones, st.requests, dry ?
			    "; dry run, nothing written" : "");
			if (!dry && azure_state_write(spath, az->name, data,
			    e->synced_at, err, sizeof(err)) == -1) {
				fprintf(stderr, "%s\n", err);
				status = 73;
			} else if (!dry)
				azure_state_error(cfg, az->name, NULL);
		}
		diag_clear(&d);
		if (old != NULL)
			json_decref(old);
		json_decref(data);
		free(spath);
	}
	if (only != NULL && done == 0) {
		fprintf(stderr, "%s: no [azure \"%s\"] section\n", path, only);
		status = 78;
	} else if (done == 0)
		fprintf(stderr, "%s: no [azure] section: nothing to sync\n", path);
	azure_store_clear();
	config_free(cfg);
	return status;
}

const struct verb verb_sync = {
	.name = "sync",
	.usage = "[-c FILE] [--dry-run] [NAME]",
	.help = "sync records from Azure now, print what changed",
	.text =
"Syncs every [azure] section (or NAME) from Azure now, checks the data as\n"
"a reload would, prints what changed record by record (+ added, - removed,\n"
"~ changed) and keeps the data in state_dir, which a pldns started later\n"
"serves until its own first sync.  A running pldns syncs by itself: pldns\n"
"ctl sync makes it sync now.  --dry-run writes nothing.  Exit status: 0 ok,\n"
"65 the data fails a check, 69 a sync failed, 73 cannot write state_dir,\n"
"78 configuration error.\n",
	.opts = (const struct verb_opt[]){
	    VERB_OPT_CONFIG, { 'n', "dry-run", 0 }, VERB_OPT_END },
	.lower = 0, .upper = 1,
	.run = sync_run,
};
