/*
 * doctor_azure: pldns doctor's check of the [azure] sections: how old the
 * last good sync is, and the last error the sync remembered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/azure_store.h"
#include "verbs/doctor.h"
#include "util/util.h"

void
azure_sync_doctor(const struct config *cfg, struct doctor_report *r)
{
	for (size_t i = 0; i < cfg->nazures; i++) {
		const struct azure_conf *az = &cfg->azures[i];
		char *path = azure_state_path(cfg, az->name);
		char want[128], got[128], hint[2300], err[2048], line[2100];
		uint64_t at = 0, now = now_wall(), max = 3ULL * az->interval;
		json_t *data = NULL;
		int rs;

		rs = azure_state_read(path, &data, &at, err, sizeof(err));
		if (data != NULL)
			json_decref(data);
		free(path);
		azure_state_last_error(cfg, az->name, line, sizeof(line));
		snprintf(want, sizeof(want), "a good sync in the last %llu s (three "
		    "intervals)", (unsigned long long)max);
		if (rs != 0)
			snprintf(got, sizeof(got), "no synced data");
		else
			snprintf(got, sizeof(got), "the last good sync %llu s ago",
			    (unsigned long long)(now > at ? now - at : 0));
		/* The error file starts with when it happened. */
		snprintf(hint, sizeof(hint), "%s%s", line[0] ? "last error: " :
		    "no error recorded; is pldns running? (pldns sync -c FILE "
		    "syncs now)", line[0] ? line + strcspn(line, " ") + 1 : "");
		doctor_add(r, "azure-sync", rs == 0 && now - at <= max ? DOCTOR_OK :
		    DOCTOR_PROBLEM, NULL, az->name, want, got,
		    rs == 0 && now - at <= max ? NULL : hint);
	}
}
