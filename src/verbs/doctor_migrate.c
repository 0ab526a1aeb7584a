/*
 * doctor_migrate: the Azure Migrate checks of "pldns doctor" (doctor.h):
 * from the record names alone, whether a Migrate project's zones have
 * records and each Site Recovery vault has all of its names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verbs/doctor.h"
#include "util/util.h"

#define ASR_MARK	"-asr-pod01-"
#define LABEL_MAX	63

int
doctor_asr_split(const char *name, char *vault, char *type, char *geo)
{
	const char *dot = strchr(name, '.'), *mark, *g, *gend;
	size_t vl, tl, gl;

	if (dot == NULL || dot == name || dot[-1] != '-')
		return -1;
	if ((mark = strstr(name, ASR_MARK)) == NULL || mark >= dot)
		return -1;
	vl = (size_t)(mark - name);
	tl = (size_t)(dot - 1 - (mark + strlen(ASR_MARK)));
	if (vl == 0 || vl > LABEL_MAX || tl == 0 || tl > LABEL_MAX)
		return -1;
	g = dot + 1;
	if ((gend = strchr(g, '.')) == NULL || gend == g ||
	    strncmp(gend + 1, "privatelink.siterecovery.", 25) != 0)
		return -1;
	gl = (size_t)(gend - g);
	if (gl > LABEL_MAX)
		return -1;
	memcpy(vault, name, vl);
	vault[vl] = '\0';
	memcpy(type, mark + strlen(ASR_MARK), tl);
	type[tl] = '\0';
	memcpy(geo, g, gl);
	geo[gl] = '\0';
	return 0;
}

/* The Azure Migrate zones per cloud (AZURE-DNS.md 1.1, 2.2). */
static const struct migrate_cloud {
	const char *migrate, *asr, *vault, *blob;
} migrate_clouds[] = {
	{ "privatelink.prod.migration.windowsazure.com",
	  "privatelink.siterecovery.windowsazure.com",
	  "privatelink.vaultcore.azure.net",
	  "privatelink.blob.core.windows.net" },
	{ "privatelink.prod.migration.windowsazure.us",
	  "privatelink.siterecovery.windowsazure.us",
	  "privatelink.vaultcore.usgovcloudapi.net",
	  "privatelink.blob.core.usgovcloudapi.net" },
};

/* The five names a Recovery Services vault's private endpoint adds. */
static const char *const asr_types[] = { "id1", "prot2", "rcm1", "srs1", "tel1" };

struct asr_vault {
	char vault[LABEL_MAX + 1], geo[LABEL_MAX + 1];
	bool have[nitems(asr_types)];
};

static size_t
count_under(const char *const *names, size_t n, const char *zone)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += doctor_name_below(names[i], zone);
	return c;
}

static void
migrate_zone(struct doctor_report *r, const char *zone, size_t count,
    const char *expected, enum doctor_status missing, const char *hint)
{
	char got[64];

	if (count > 0)
		snprintf(got, sizeof(got), "%zu record%s", count,
		    count == 1 ? "" : "s");
	else
		pl_strlcpy(got, "none", sizeof(got));
	doctor_add(r, "migrate", count > 0 ? DOCTOR_OK : missing, zone, zone,
	    expected, got, count > 0 ? NULL : hint);
}

static void
check_asr(struct doctor_report *r, const char *zone, const char *const *names,
    size_t n)
{
	struct asr_vault *v = NULL;
	size_t nv = 0;

	for (size_t i = 0; i < n; i++) {
		char vault[LABEL_MAX + 1], type[LABEL_MAX + 1], geo[LABEL_MAX + 1];
		size_t k;

		if (!doctor_name_below(names[i], zone) ||
		    doctor_asr_split(names[i], vault, type, geo) == -1)
			continue;
		for (k = 0; k < nv; k++)
			if (strcmp(v[k].vault, vault) == 0 && strcmp(v[k].geo, geo) == 0)
				break;
		if (k == nv) {
			v = xreallocarray(v, nv + 1, sizeof(*v));
			memset(&v[nv], 0, sizeof(*v));
			pl_strlcpy(v[nv].vault, vault, sizeof(v[nv].vault));
			pl_strlcpy(v[nv].geo, geo, sizeof(v[nv].geo));
			nv++;
		}
		for (size_t t = 0; t < nitems(asr_types); t++)
			if (strcmp(type, asr_types[t]) == 0)
				v[k].have[t] = true;
	}
	for (size_t k = 0; k < nv; k++) {
		char name[AZURE_NAME_MAX * 2], got[128] = "", exp[64];
		size_t missing = 0;

		for (size_t t = 0; t < nitems(asr_types); t++) {
			if (v[k].have[t]) {
				size_t used = strlen(got);

				snprintf(got + used, sizeof(got) - used, "%s%s",
				    used > 0 ? ", " : "", asr_types[t]);
				continue;
			}
			missing++;
			snprintf(name, sizeof(name), "%s" ASR_MARK "%s-.%s.%s",
			    v[k].vault, asr_types[t], v[k].geo, zone);
			doctor_add(r, "site-recovery", DOCTOR_PROBLEM, zone, name,
			    "an address record", "missing", "the private endpoint "
			    "of a Recovery Services vault adds five names (id1, "
			    "prot2, rcm1, srs1, tel1) and this one is not in the "
			    "sources: download DNS settings again (Migration and "
			    "modernization, Properties), or add it from the "
			    "endpoint's DNS configuration");
		}
		if (missing == 0) {
			snprintf(name, sizeof(name), "%s" ASR_MARK "*-.%s.%s",
			    v[k].vault, v[k].geo, zone);
			snprintf(exp, sizeof(exp), "id1, prot2, rcm1, srs1, tel1");
			doctor_add(r, "site-recovery", DOCTOR_OK, zone, name, exp,
			    got, NULL);
		}
	}
	free(v);
}

void
doctor_check_migrate(struct doctor_report *r, const char *const *names, size_t n)
{
	for (size_t c = 0; c < nitems(migrate_clouds); c++) {
		const struct migrate_cloud *m = &migrate_clouds[c];
		size_t nm = count_under(names, n, m->migrate);
		size_t ns = count_under(names, n, m->asr);

		/* Key vaults and storage accounts are everywhere; only the
		 * Migrate and Site Recovery zones say Azure Migrate is used. */
		if (nm == 0 && ns == 0)
			continue;
		migrate_zone(r, m->migrate, nm, "records of the Azure Migrate "
		    "project", DOCTOR_PROBLEM, "no Azure Migrate service names "
		    "(discovery, assessment, hub): download DNS settings again "
		    "from Azure Migrate (Discovery and assessment, Properties) "
		    "and add the file to [records] sources");
		migrate_zone(r, m->asr, ns, "Site Recovery records",
		    DOCTOR_WARNING, "no Site Recovery names: they are needed to "
		    "replicate servers; once the vault's private endpoint exists, "
		    "download DNS settings again (Migration and modernization, "
		    "Properties)");
		migrate_zone(r, m->vault, count_under(names, n, m->vault),
		    "the project's key vault", DOCTOR_PROBLEM, "the key vault "
		    "of the Migrate project has no record: download DNS settings "
		    "again; it lists the key vault's name and private address");
		migrate_zone(r, m->blob, count_under(names, n, m->blob),
		    "the project's storage account", DOCTOR_PROBLEM, "no storage "
		    "account record: download DNS settings again; a cache or "
		    "replication storage account you chose yourself is not in "
		    "that file: take its FQDN and IP from Storage account, "
		    "Networking, Private endpoint connections, DNS configuration");
		check_asr(r, m->asr, names, n);
	}
}
