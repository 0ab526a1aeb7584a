/*
 * Unit tests for azure_zones: placement of privatelink and public names,
 * placeholders, longest match, twins, and the table's coverage of every
 * zone named in AZURE-DNS.md section 2.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "data/azure_zones.h"

/* Places NAME and checks the result, zone and privatelink name. */
static void
check_place(const char *name, int want, const char *wzone, const char *wpl)
{
	char zone[AZURE_NAME_MAX], pl[AZURE_NAME_MAX];
	int r = azure_zone_place(name, zone, pl);

	if (r != want)
		fail_msg("%s: placed %d, want %d (zone %s)", name, r, want,
		    r > 0 ? zone : "-");
	if (want > 0) {
		assert_string_equal(zone, wzone);
		assert_string_equal(pl, wpl);
	}
}

static void
test_private_names(void **state)
{
	(void)state;
	check_place("acct.privatelink.blob.core.windows.net", 1,
	    "privatelink.blob.core.windows.net", "acct.privatelink.blob.core.windows.net");
	/* The apex is inside the zone. */
	check_place("privatelink.blob.core.windows.net", 1,
	    "privatelink.blob.core.windows.net", "privatelink.blob.core.windows.net");
	check_place("kv.privatelink.vaultcore.azure.net", 1,
	    "privatelink.vaultcore.azure.net", "kv.privatelink.vaultcore.azure.net");
	/* Several labels inside a zone, the ASR "-." kept as written. */
	check_place("3456789012345678901-asr-pod01-rcm1-.eus.privatelink.siterecovery.windowsazure.com",
	    1, "privatelink.siterecovery.windowsazure.com",
	    "3456789012345678901-asr-pod01-rcm1-.eus.privatelink.siterecovery.windowsazure.com");
	check_place("04b8c9c73f3d477e966c8d00f352889c-agent.cus.disc.privatelink.prod.migration.windowsazure.com",
	    1, "privatelink.prod.migration.windowsazure.com",
	    "04b8c9c73f3d477e966c8d00f352889c-agent.cus.disc.privatelink.prod.migration.windowsazure.com");
	check_place("g-agent.uga.disc.privatelink.prod.migration.windowsazure.us", 1,
	    "privatelink.prod.migration.windowsazure.us",
	    "g-agent.uga.disc.privatelink.prod.migration.windowsazure.us");
	check_place("app.scm.privatelink.azurewebsites.net", 1,
	    "scm.privatelink.azurewebsites.net", "app.scm.privatelink.azurewebsites.net");
	check_place("reg.eastus.data.privatelink.azurecr.io", 1,
	    "privatelink.azurecr.io", "reg.eastus.data.privatelink.azurecr.io");
	check_place("x.privatelink-global.wvd.microsoft.com", 1,
	    "privatelink-global.wvd.microsoft.com", "x.privatelink-global.wvd.microsoft.com");
	check_place("acct.privatelink.blob.core.chinacloudapi.cn", 1,
	    "privatelink.blob.core.chinacloudapi.cn", "acct.privatelink.blob.core.chinacloudapi.cn");
}

static void
test_public_names(void **state)
{
	(void)state;
	check_place("acct.blob.core.windows.net", 2,
	    "privatelink.blob.core.windows.net", "acct.privatelink.blob.core.windows.net");
	check_place("kv.vault.azure.net", 2,
	    "privatelink.vaultcore.azure.net", "kv.privatelink.vaultcore.azure.net");
	check_place("kv.vaultcore.azure.net", 2,
	    "privatelink.vaultcore.azure.net", "kv.privatelink.vaultcore.azure.net");
	check_place("x.eus.siterecovery.windowsazure.com", 2,
	    "privatelink.siterecovery.windowsazure.com",
	    "x.eus.privatelink.siterecovery.windowsazure.com");
	check_place("guid-agent.cus.disc.prod.migration.windowsazure.com", 2,
	    "privatelink.prod.migration.windowsazure.com",
	    "guid-agent.cus.disc.privatelink.prod.migration.windowsazure.com");
	check_place("kv.vault.usgovcloudapi.net", 2,
	    "privatelink.vaultcore.usgovcloudapi.net", "kv.privatelink.vaultcore.usgovcloudapi.net");
	check_place("kv.vault.azure.cn", 2,
	    "privatelink.vaultcore.azure.cn", "kv.privatelink.vaultcore.azure.cn");
	check_place("ws-ondemand.sql.azuresynapse.net", 2,
	    "privatelink.sql.azuresynapse.net", "ws-ondemand.privatelink.sql.azuresynapse.net");
	check_place("acct.eastus.batch.azure.com", 2,
	    "privatelink.batch.azure.com", "acct.eastus.privatelink.batch.azure.com");
	check_place("sig.service.signalr.azure.cn", 2,
	    "privatelink.signalr.azure.cn", "sig.privatelink.signalr.azure.cn");
	/* Public names in upper case are the caller's job: names arrive lower-case. */
}

static void
test_placeholders(void **state)
{
	(void)state;
	/* Backup: the region code goes after "privatelink.". */
	check_place("x.eus.backup.windowsazure.com", 2,
	    "privatelink.eus.backup.windowsazure.com", "x.privatelink.eus.backup.windowsazure.com");
	check_place("a.b.privatelink.eus.backup.windowsazure.com", 1,
	    "privatelink.eus.backup.windowsazure.com", "a.b.privatelink.eus.backup.windowsazure.com");
	check_place("privatelink.eus.backup.windowsazure.com", 1,
	    "privatelink.eus.backup.windowsazure.com", "privatelink.eus.backup.windowsazure.com");
	check_place("x.eus.backup.windowsazure.us", 2,
	    "privatelink.eus.backup.windowsazure.us", "x.privatelink.eus.backup.windowsazure.us");
	/* SQL Database vs Managed Instance: a twin takes only names below it. */
	check_place("myserver.database.windows.net", 2,
	    "privatelink.database.windows.net", "myserver.privatelink.database.windows.net");
	check_place("mi1.abc123.database.windows.net", 2,
	    "privatelink.abc123.database.windows.net", "mi1.privatelink.abc123.database.windows.net");
	check_place("myserver.privatelink.database.windows.net", 1,
	    "privatelink.database.windows.net", "myserver.privatelink.database.windows.net");
	check_place("mi1.privatelink.abc123.database.windows.net", 1,
	    "privatelink.abc123.database.windows.net", "mi1.privatelink.abc123.database.windows.net");
	check_place("c.eastus.kusto.windows.net", 2,
	    "privatelink.eastus.kusto.windows.net", "c.privatelink.eastus.kusto.windows.net");
	check_place("c.eastus.azmk8s.io", 2,
	    "privatelink.eastus.azmk8s.io", "c.privatelink.eastus.azmk8s.io");
	check_place("sub.privatelink.eastus.azmk8s.io", 1,
	    "privatelink.eastus.azmk8s.io", "sub.privatelink.eastus.azmk8s.io");
	check_place("app.azurestaticapps.net", 2,
	    "privatelink.azurestaticapps.net", "app.privatelink.azurestaticapps.net");
	check_place("app.3.azurestaticapps.net", 2,
	    "privatelink.3.azurestaticapps.net", "app.privatelink.3.azurestaticapps.net");
	check_place("w.eastus.prometheus.monitor.azure.com", 2,
	    "privatelink.eastus.prometheus.monitor.azure.com",
	    "w.privatelink.eastus.prometheus.monitor.azure.com");
}

static void
test_longest_match(void **state)
{
	(void)state;
	/* The vaultcore.azure.net twin never takes names in the private zone. */
	check_place("privatelink.vaultcore.azure.net", 1,
	    "privatelink.vaultcore.azure.net", "privatelink.vaultcore.azure.net");
	/* Monitor: the agentsvc zone is more specific than azure-automation.net. */
	check_place("w.agentsvc.azure-automation.net", 2,
	    "privatelink.agentsvc.azure-automation.net", "w.privatelink.agentsvc.azure-automation.net");
	check_place("a.eus.azure-automation.net", 2,
	    "privatelink.azure-automation.net", "a.eus.privatelink.azure-automation.net");
	check_place("x.dicom.azurehealthcareapis.com", 2,
	    "privatelink.dicom.azurehealthcareapis.com", "x.privatelink.dicom.azurehealthcareapis.com");
	check_place("app.scm.azurewebsites.net", 2,
	    "scm.privatelink.azurewebsites.net", "app.scm.privatelink.azurewebsites.net");
	check_place("acct.documents.azure.com", 2,
	    "privatelink.documents.azure.com", "acct.privatelink.documents.azure.com");
	check_place("management.azure.com", 2,
	    "privatelink.azure.com", "management.privatelink.azure.com");
}

static void
test_nowhere(void **state)
{
	char zone[AZURE_NAME_MAX], pl[AZURE_NAME_MAX];

	(void)state;
	check_place("www.example.com", 0, NULL, NULL);
	check_place("blob.core.windows.net", 0, NULL, NULL);	/* the twin itself */
	check_place("vault.azure.net", 0, NULL, NULL);
	check_place("core.windows.net", 0, NULL, NULL);
	check_place("net", 0, NULL, NULL);
	check_place("", 0, NULL, NULL);
	check_place("a..blob.core.windows.net", 0, NULL, NULL);
	check_place("eus.backup.windowsazure.com", 0, NULL, NULL);
	/* China has no Migrate zone. */
	check_place("x.prod.migration.windowsazure.cn", 0, NULL, NULL);

	/* A privatelink form that would not fit. */
	char longname[AZURE_NAME_MAX];
	memset(longname, 'a', 230);
	strcpy(longname + 230, ".vault.azure.net");
	assert_int_equal(azure_zone_place(longname, zone, pl), -1);
}

/*
 * The memo gives what the table gives, whatever came before: names of one
 * zone in a row, zones taking turns (more than the memo has entries),
 * placeholders that differ under one suffix, twins against their apex, and
 * names the memo must not answer from the suffix alone.
 */
static void
test_memo(void **state)
{
	static const char *const base[] = {
		"acct.privatelink.blob.core.windows.net",
		"privatelink.blob.core.windows.net",
		"acct.blob.core.windows.net",
		"blob.core.windows.net",
		"core.windows.net",
		"kv.vault.azure.net",
		"kv.vaultcore.azure.net",
		"privatelink.vaultcore.azure.net",
		"kv.privatelink.vaultcore.azure.net",
		"x.eus.backup.windowsazure.com",
		"x.wus.backup.windowsazure.com",
		"x.privatelink.backup.windowsazure.com",
		"a.b.privatelink.eus.backup.windowsazure.com",
		"privatelink.eus.backup.windowsazure.com",
		"eus.backup.windowsazure.com",
		"myserver.database.windows.net",
		"mi1.abc123.database.windows.net",
		"mi1.privatelink.abc123.database.windows.net",
		"myserver.privatelink.database.windows.net",
		"x.eus.siterecovery.windowsazure.com",
		"34567891-asr-pod01-rcm1-.eus.privatelink.siterecovery.windowsazure.com",
		"g-agent.cus.disc.prod.migration.windowsazure.com",
		"g-agent.cus.disc.privatelink.prod.migration.windowsazure.com",
		"x.prod.migration.windowsazure.cn",
		"w.agentsvc.azure-automation.net",
		"a.eus.azure-automation.net",
		"app.scm.azurewebsites.net",
		"app.azurewebsites.net",
		"app.3.azurestaticapps.net",
		"app.azurestaticapps.net",
		"c.eastus.azmk8s.io",
		"sub.privatelink.eastus.azmk8s.io",
		"management.azure.com",
		"acct.documents.azure.com",
		"www.example.com",
		"a.www.example.com",
		"net",
		"a..blob.core.windows.net",
		"..blob.core.windows.net",
		"a.b..vault.azure.net",
	};
	static const char *const prefix[] = { "", "p.", "q.r.", "", "s-1.t." };
	char name[AZURE_NAME_MAX * 2], z1[AZURE_NAME_MAX], p1[AZURE_NAME_MAX];
	char z2[AZURE_NAME_MAX], p2[AZURE_NAME_MAX];
	struct azure_place_memo memo;
	size_t n = sizeof(base) / sizeof(base[0]);

	(void)state;
	memset(&memo, 0, sizeof(memo));
	/* Forwards and backwards, each name under several prefixes. */
	for (int pass = 0; pass < 4; pass++) {
		for (size_t k = 0; k < n; k++) {
			size_t i = pass % 2 ? n - 1 - k : k;
			for (size_t j = 0; j < sizeof(prefix) / sizeof(prefix[0]); j++) {
				int r1, r2;

				snprintf(name, sizeof(name), "%s%s",
				    prefix[(j + (size_t)pass) % 5], base[i]);
				r1 = azure_zone_place(name, z1, p1);
				r2 = azure_zone_place_memo(&memo, name, z2, p2);
				if (r1 != r2)
					fail_msg("%s: memo %d, table %d", name, r2, r1);
				if (r1 > 0) {
					assert_string_equal(z1, z2);
					assert_string_equal(p1, p2);
				}
			}
		}
	}

	/* One suffix, another placeholder: the memo keeps the region label. */
	memset(&memo, 0, sizeof(memo));
	assert_int_equal(azure_zone_place_memo(&memo, "a.eus.backup.windowsazure.com",
	    z2, p2), 2);
	assert_int_equal(azure_zone_place_memo(&memo, "b.wus.backup.windowsazure.com",
	    z2, p2), 2);
	assert_string_equal(z2, "privatelink.wus.backup.windowsazure.com");
	assert_string_equal(p2, "b.privatelink.wus.backup.windowsazure.com");
	/* The twin's apex after a name below it: not placed. */
	assert_int_equal(azure_zone_place_memo(&memo, "acct.blob.core.windows.net",
	    z2, p2), 2);
	assert_int_equal(azure_zone_place_memo(&memo, "blob.core.windows.net",
	    z2, p2), 0);
	/* The twin's outcome holds for labels other than the zone's own. */
	assert_int_equal(azure_zone_place_memo(&memo, "privatelink.blob.core.windows.net",
	    z2, p2), 1);
	assert_string_equal(z2, "privatelink.blob.core.windows.net");
	assert_string_equal(p2, "privatelink.blob.core.windows.net");
	assert_int_equal(azure_zone_place_memo(&memo, "acct2.blob.core.windows.net",
	    z2, p2), 2);
	assert_string_equal(p2, "acct2.privatelink.blob.core.windows.net");
	/* An empty label in what the memo did not look at. */
	assert_int_equal(azure_zone_place_memo(&memo, "a..blob.core.windows.net",
	    z2, p2), 0);
	/* The privatelink form too long, after a short name of the twin. */
	memset(name, 'a', 230);
	strcpy(name + 230, ".vault.azure.net");
	assert_int_equal(azure_zone_place_memo(&memo, "kv.vault.azure.net", z2, p2), 2);
	assert_int_equal(azure_zone_place_memo(&memo, name, z2, p2), -1);
	assert_int_equal(azure_zone_place_memo(&memo, "kv2.vault.azure.net", z2, p2), 2);
	assert_string_equal(p2, "kv2.privatelink.vaultcore.azure.net");
}

static void
test_twins(void **state)
{
	char t[AZURE_TWINS_MAX][AZURE_NAME_MAX];

	(void)state;
	assert_int_equal(azure_zone_twins("privatelink.vaultcore.azure.net", t,
	    AZURE_TWINS_MAX), 2);
	assert_string_equal(t[0], "vault.azure.net");
	assert_string_equal(t[1], "vaultcore.azure.net");
	assert_int_equal(azure_zone_twins("privatelink.eus.backup.windowsazure.com",
	    t, AZURE_TWINS_MAX), 1);
	assert_string_equal(t[0], "eus.backup.windowsazure.com");
	assert_int_equal(azure_zone_twins("privatelink.siterecovery.windowsazure.com",
	    t, AZURE_TWINS_MAX), 1);
	assert_string_equal(t[0], "siterecovery.windowsazure.com");
	assert_int_equal(azure_zone_twins("privatelink.prod.migration.windowsazure.com",
	    t, AZURE_TWINS_MAX), 1);
	assert_string_equal(t[0], "prod.migration.windowsazure.com");
	assert_int_equal(azure_zone_twins("privatelink.vaultcore.azure.net", t, 1), 1);
	assert_int_equal(azure_zone_twins("privatelink.example.com", t,
	    AZURE_TWINS_MAX), 0);
	assert_int_equal(azure_zone_twins("privatelink-global.wvd.microsoft.com", t,
	    AZURE_TWINS_MAX), 0);

	assert_true(azure_zone_known("privatelink.blob.core.windows.net"));
	assert_true(azure_zone_known("privatelink.weu.backup.windowsazure.com"));
	assert_false(azure_zone_known("privatelink.backup.windowsazure.com"));
	assert_false(azure_zone_known("blob.core.windows.net"));
	assert_false(azure_zone_known("x.privatelink.blob.core.windows.net"));
}

/* Every zone AZURE-DNS.md section 2 names, per cloud. */
static const char *const doc_zones[] = {
	/* 2.1 public */
	"privatelink.blob.core.windows.net", "privatelink.table.core.windows.net",
	"privatelink.queue.core.windows.net", "privatelink.file.core.windows.net",
	"privatelink.web.core.windows.net", "privatelink.dfs.core.windows.net",
	"privatelink.afs.azure.net", "privatelink.prod.migration.windowsazure.com",
	"privatelink.siterecovery.windowsazure.com",
	"privatelink.{regionCode}.backup.windowsazure.com",
	"privatelink.azure-automation.net", "privatelink.monitor.azure.com",
	"privatelink.oms.opinsights.azure.com", "privatelink.ods.opinsights.azure.com",
	"privatelink.agentsvc.azure-automation.net", "privatelink.purview.azure.com",
	"privatelink.purviewstudio.azure.com", "privatelink.purview-service.microsoft.com",
	"privatelink.azure.com", "privatelink.grafana.azure.com",
	"privatelink.{regionName}.prometheus.monitor.azure.com",
	"privatelink.vaultcore.azure.net", "privatelink.managedhsm.azure.net",
	"privatelink.azconfig.io", "privatelink.attest.azure.net",
	"privatelink.database.windows.net", "privatelink.{dnsPrefix}.database.windows.net",
	"privatelink.documents.azure.com", "privatelink.mongo.cosmos.azure.com",
	"privatelink.cassandra.cosmos.azure.com", "privatelink.gremlin.cosmos.azure.com",
	"privatelink.table.cosmos.azure.com", "privatelink.analytics.cosmos.azure.com",
	"privatelink.postgres.cosmos.azure.com", "privatelink.mongocluster.cosmos.azure.com",
	"privatelink.postgres.database.azure.com", "privatelink.mysql.database.azure.com",
	"privatelink.mariadb.database.azure.com", "privatelink.redis.cache.windows.net",
	"privatelink.redisenterprise.cache.azure.net", "privatelink.redis.azure.net",
	"privatelink.azurewebsites.net", "scm.privatelink.azurewebsites.net",
	"privatelink.search.windows.net", "privatelink.service.signalr.net",
	"privatelink.webpubsub.azure.com", "privatelink.azurestaticapps.net",
	"privatelink.{partitionId}.azurestaticapps.net", "privatelink.account.maps.azure.com",
	"privatelink.servicebus.windows.net", "privatelink.eventgrid.azure.net",
	"privatelink.ts.eventgrid.azure.net", "privatelink.azure-api.net",
	"privatelink.azurehealthcareapis.com", "privatelink.dicom.azurehealthcareapis.com",
	"privatelink.azure-devices.net", "privatelink.azure-devices-provisioning.net",
	"privatelink.api.adu.microsoft.com", "privatelink.azureiotcentral.com",
	"privatelink.digitaltwins.azure.net", "privatelink.media.azure.net",
	"privatelink.api.videoindexer.ai", "privatelink.api.azureml.ms",
	"privatelink.notebooks.azure.net", "privatelink.cognitiveservices.azure.com",
	"privatelink.openai.azure.com", "privatelink.services.ai.azure.com",
	"privatelink.directline.botframework.com", "privatelink.token.botframework.com",
	"privatelink.sql.azuresynapse.net", "privatelink.dev.azuresynapse.net",
	"privatelink.azuresynapse.net", "privatelink.datafactory.azure.net",
	"privatelink.adf.azure.com", "privatelink.azurehdinsight.net",
	"privatelink.{regionName}.kusto.windows.net", "privatelink.analysis.windows.net",
	"privatelink.pbidedicated.windows.net", "privatelink.prod.powerquery.microsoft.com",
	"privatelink.azuredatabricks.net", "privatelink.fabric.microsoft.com",
	"privatelink.batch.azure.com", "privatelink-global.wvd.microsoft.com",
	"privatelink.wvd.microsoft.com", "privatelink.{regionName}.azmk8s.io",
	"privatelink.{regionName}.azurecontainerapps.io", "privatelink.azurecr.io",
	"privatelink.his.arc.azure.com", "privatelink.guestconfiguration.azure.com",
	"privatelink.dp.kubernetesconfiguration.azure.com",
	/* 2.2 Government */
	"privatelink.blob.core.usgovcloudapi.net", "privatelink.table.core.usgovcloudapi.net",
	"privatelink.queue.core.usgovcloudapi.net", "privatelink.file.core.usgovcloudapi.net",
	"privatelink.web.core.usgovcloudapi.net", "privatelink.dfs.core.usgovcloudapi.net",
	"privatelink.vaultcore.usgovcloudapi.net", "privatelink.prod.migration.windowsazure.us",
	"privatelink.siterecovery.windowsazure.us",
	"privatelink.{regionCode}.backup.windowsazure.us", "privatelink.azure-automation.us",
	"privatelink.monitor.azure.us", "privatelink.adx.monitor.azure.us",
	"privatelink.oms.opinsights.azure.us", "privatelink.ods.opinsights.azure.us",
	"privatelink.agentsvc.azure-automation.us", "privatelink.purview.azure.us",
	"privatelink.purviewstudio.azure.us", "privatelink.database.usgovcloudapi.net",
	"privatelink.{dnsPrefix}.database.usgovcloudapi.net", "privatelink.documents.azure.us",
	"privatelink.mongo.cosmos.azure.us", "privatelink.cassandra.cosmos.azure.us",
	"privatelink.gremlin.cosmos.azure.us", "privatelink.table.cosmos.azure.us",
	"privatelink.postgres.database.usgovcloudapi.net",
	"privatelink.mysql.database.usgovcloudapi.net",
	"privatelink.mariadb.database.usgovcloudapi.net",
	"privatelink.redis.cache.usgovcloudapi.net", "privatelink.servicebus.usgovcloudapi.net",
	"privatelink.eventgrid.azure.us", "privatelink.azure-devices.us",
	"privatelink.servicebus.windows.us", "privatelink.azure-devices-provisioning.us",
	"privatelink.workspace.azurehealthcareapis.us", "privatelink.fhir.azurehealthcareapis.us",
	"privatelink.dicom.azurehealthcareapis.us", "privatelink.azurewebsites.us",
	"scm.privatelink.azurewebsites.us", "privatelink.search.azure.us",
	"privatelink.azconfig.azure.us", "privatelink.cognitiveservices.azure.us",
	"privatelink.api.ml.azure.us", "privatelink.notebooks.usgovcloudapi.net",
	"privatelink.sql.azuresynapse.usgovcloudapi.net",
	"privatelink.dev.azuresynapse.usgovcloudapi.net",
	"privatelink.azuresynapse.usgovcloudapi.net", "privatelink.datafactory.azure.us",
	"privatelink.adf.azure.us", "privatelink.azurehdinsight.us",
	"privatelink.databricks.azure.us", "privatelink.batch.usgovcloudapi.net",
	"privatelink-global.wvd.azure.us", "privatelink.wvd.azure.us", "privatelink.azurecr.us",
	/* 2.3 China */
	"privatelink.blob.core.chinacloudapi.cn", "privatelink.table.core.chinacloudapi.cn",
	"privatelink.queue.core.chinacloudapi.cn", "privatelink.file.core.chinacloudapi.cn",
	"privatelink.web.core.chinacloudapi.cn", "privatelink.dfs.core.chinacloudapi.cn",
	"privatelink.afs.azure.cn", "privatelink.vaultcore.azure.cn",
	"privatelink.database.chinacloudapi.cn", "privatelink.documents.azure.cn",
	"privatelink.mongo.cosmos.azure.cn", "privatelink.cassandra.cosmos.azure.cn",
	"privatelink.gremlin.cosmos.azure.cn", "privatelink.table.cosmos.azure.cn",
	"privatelink.postgres.database.chinacloudapi.cn",
	"privatelink.mysql.database.chinacloudapi.cn",
	"privatelink.mariadb.database.chinacloudapi.cn",
	"privatelink.redis.cache.chinacloudapi.cn", "privatelink.servicebus.chinacloudapi.cn",
	"privatelink.azure-devices.cn", "privatelink.azure-devices-provisioning.cn",
	"privatelink.chinacloudsites.cn", "privatelink.signalr.azure.cn",
	"privatelink.azure-automation.cn", "privatelink.datafactory.azure.cn",
	"privatelink.adf.azure.cn", "privatelink.azurehdinsight.cn",
	"privatelink.{regionName}.kusto.windows.cn", "privatelink.batch.chinacloudapi.cn",
	"privatelink-global.wvd.azure.cn", "privatelink.wvd.azure.cn",
	"privatelink.api.ml.azure.cn", "privatelink.notebooks.chinacloudapi.cn",
	"privatelink.eventgrid.azure.cn",
};

static void
test_table_covers_doc(void **state)
{
	size_t n = azure_zone_count();

	(void)state;
	for (size_t i = 0; i < sizeof(doc_zones) / sizeof(doc_zones[0]); i++) {
		bool found = false;
		for (size_t j = 0; j < n && !found; j++)
			found = strcmp(azure_zone_pattern(j, NULL, NULL, NULL),
			    doc_zones[i]) == 0;
		if (!found)
			fail_msg("zone %s missing from the table", doc_zones[i]);
	}
}

static void
test_table_rows(void **state)
{
	size_t n = azure_zone_count();
	const char *cloud, *service;
	const char *const *twins;

	(void)state;
	assert_true(n >= 170);
	assert_null(azure_zone_pattern(n, &cloud, &service, &twins));
	for (size_t i = 0; i < n; i++) {
		const char *z = azure_zone_pattern(i, &cloud, &service, &twins);

		assert_non_null(z);
		assert_true(strcmp(cloud, "public") == 0 || strcmp(cloud, "usgov") == 0 ||
		    strcmp(cloud, "china") == 0);
		assert_true(service[0] != '\0');
		assert_non_null(strstr(z, "privatelink"));
		/* Zones are unique. */
		for (size_t j = 0; j < i; j++)
			if (strcmp(z, azure_zone_pattern(j, NULL, NULL, NULL)) == 0)
				fail_msg("zone %s twice", z);
		/* A twin never lies inside its own zone. */
		for (size_t t = 0; twins[t] != NULL; t++)
			assert_null(strstr(twins[t], "privatelink"));
	}
}

/* PAT with its placeholder label, if any, replaced by "xq9". */
static void
fill(char *out, size_t outlen, const char *pat)
{
	const char *a = strchr(pat, '{'), *b = a != NULL ? strchr(a, '}') : NULL;

	if (a == NULL)
		snprintf(out, outlen, "%s", pat);
	else
		snprintf(out, outlen, "%.*sxq9%s", (int)(a - pat), pat, b + 1);
}

/* Whether ZONE is a row's zone, found by walking the whole table. */
static bool
is_row(const char *zone)
{
	char z[AZURE_NAME_MAX];

	for (size_t i = 0; i < azure_zone_count(); i++) {
		fill(z, sizeof(z), azure_zone_pattern(i, NULL, NULL, NULL));
		if (strcmp(z, zone) == 0)
			return true;
	}
	return false;
}

/* Every row, looked up by its own zone: known, and exactly its twins. */
static void
test_table_lookups(void **state)
{
	size_t n = azure_zone_count();
	const char *cloud, *service;
	const char *const *twins;
	char zone[AZURE_NAME_MAX], got[AZURE_TWINS_MAX][AZURE_NAME_MAX],
	    want[AZURE_NAME_MAX], bad[AZURE_NAME_MAX + 8];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		size_t nt = 0;
		int k;

		fill(zone, sizeof(zone), azure_zone_pattern(i, &cloud, &service,
		    &twins));
		if (!azure_zone_known(zone))
			fail_msg("row %zu: %s not known", i, zone);
		while (twins[nt] != NULL)
			nt++;
		k = azure_zone_twins(zone, got, AZURE_TWINS_MAX);
		if (k != (int)nt)
			fail_msg("row %zu: %s has %d twins, not %zu", i, zone, k, nt);
		for (size_t t = 0; t < nt; t++) {
			fill(want, sizeof(want), twins[t]);
			assert_string_equal(got[t], want);
		}
		/* One label more is another zone; one label less is one only
		 * when the table has it as a row of its own. */
		snprintf(bad, sizeof(bad), "a.%s", zone);
		assert_false(azure_zone_known(bad));
		assert_int_equal(azure_zone_known(strchr(zone, '.') + 1),
		    is_row(strchr(zone, '.') + 1));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_private_names),
		cmocka_unit_test(test_public_names),
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_longest_match),
		cmocka_unit_test(test_nowhere),
		cmocka_unit_test(test_memo),
		cmocka_unit_test(test_twins),
		cmocka_unit_test(test_table_covers_doc),
		cmocka_unit_test(test_table_rows),
		cmocka_unit_test(test_table_lookups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
