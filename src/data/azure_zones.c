/*
 * azure_zones: the table of Azure private DNS zones and their public twins.
 *
 * Source: "Azure Private Endpoint private DNS zone values"
 * (learn.microsoft.com/azure/private-link/private-endpoint-dns), newest
 * tables for the public, Government and China clouds; see
 * ../shared/AZURE-DNS.md section 2.  To add or change a zone, edit the table
 * below; nothing else needs to change.
 *
 * How a row reads:
 *  - zone: the private zone as Azure names it.  One label may be a
 *    placeholder "{...}" (any single label), e.g. the region code of Backup.
 *  - twins: public suffixes whose names map into the zone by replacing the
 *    suffix with the zone (acct.blob.core.windows.net ->
 *    acct.privatelink.blob.core.windows.net).  A twin may carry the same
 *    placeholder as its zone; the label it matches is used in the zone.
 *    Where the docs give a forwarder with a leading placeholder but the zone
 *    has none ({regionCode}.siterecovery.windowsazure.com ->
 *    privatelink.siterecovery.windowsazure.com), the twin is written without
 *    it: the region label then stays in the record name
 *    (x.eus.siterecovery.windowsazure.com ->
 *    x.eus.privatelink.siterecovery.windowsazure.com), which is how Azure
 *    names those records.
 *  - Rows where the docs list only the zone use the usual rule: the twin is
 *    the zone without "privatelink.".
 *
 * Left out on purpose (the mapping is not a suffix replacement, so a twin
 * would place names in the wrong spot): blob.storage.azure.net (managed
 * disks: md-x.z7.blob.storage.azure.net -> md-x.privatelink.blob...),
 * services.visualstudio.com and applicationinsights.azure.com (Azure Monitor
 * forwarders without a zone of their own), the AML extras instances.azureml.ms,
 * aznbcontent.net and inference.ml.azure.com, and the 2021/2023 zone names
 * that Azure has since replaced (see AZURE-DNS.md 2.4).
 * {subzone}.privatelink.{regionName}.azmk8s.io and
 * {regionName}.data.privatelink.azurecr.io are not separate zones: their
 * names fall inside privatelink.{regionName}.azmk8s.io and
 * privatelink.azurecr.io.
 *
 * Matching: the longest match wins, a zone beats a twin of the same length
 * (so the vaultcore.azure.net twin never takes names inside
 * privatelink.vaultcore.azure.net), a twin matches only names strictly below
 * it (myserver.database.windows.net is SQL Database, not a SQL Managed
 * Instance dnsPrefix), and a placeholder never matches a label starting
 * with "privatelink".
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/azure_zones.h"
#include "util/hash.h"
#include "util/util.h"

struct azure_row {
	const char *zone;
	const char *cloud;
	const char *service;
	const char *twins[AZURE_TWINS_MAX + 1];	/* NULL terminated */
};

#define PUB	"public"
#define GOV	"usgov"
#define CN	"china"

static const struct azure_row azure_rows[] = {
	/* ---- public cloud: storage ---- */
	{ "privatelink.blob.core.windows.net", PUB, "Storage blob, Backup, Monitor",
	    { "blob.core.windows.net" } },
	{ "privatelink.table.core.windows.net", PUB, "Storage table",
	    { "table.core.windows.net" } },
	{ "privatelink.queue.core.windows.net", PUB, "Storage queue, Backup",
	    { "queue.core.windows.net" } },
	{ "privatelink.file.core.windows.net", PUB, "Storage file",
	    { "file.core.windows.net" } },
	{ "privatelink.web.core.windows.net", PUB, "Storage static website",
	    { "web.core.windows.net" } },
	{ "privatelink.dfs.core.windows.net", PUB, "Data Lake Storage Gen2",
	    { "dfs.core.windows.net" } },
	{ "privatelink.afs.azure.net", PUB, "File Sync",
	    { "afs.azure.net" } },

	/* ---- public cloud: management and governance (the Migrate set) ---- */
	{ "privatelink.prod.migration.windowsazure.com", PUB, "Azure Migrate",
	    { "prod.migration.windowsazure.com" } },
	{ "privatelink.siterecovery.windowsazure.com", PUB, "Site Recovery",
	    { "siterecovery.windowsazure.com" } },
	{ "privatelink.{regionCode}.backup.windowsazure.com", PUB, "Backup",
	    { "{regionCode}.backup.windowsazure.com" } },
	{ "privatelink.azure-automation.net", PUB, "Automation",
	    { "azure-automation.net" } },
	{ "privatelink.monitor.azure.com", PUB, "Azure Monitor",
	    { "monitor.azure.com" } },
	{ "privatelink.oms.opinsights.azure.com", PUB, "Azure Monitor (Log Analytics)",
	    { "oms.opinsights.azure.com" } },
	{ "privatelink.ods.opinsights.azure.com", PUB, "Azure Monitor (Log Analytics)",
	    { "ods.opinsights.azure.com" } },
	{ "privatelink.agentsvc.azure-automation.net", PUB, "Azure Monitor (agent service)",
	    { "agentsvc.azure-automation.net" } },
	{ "privatelink.purview.azure.com", PUB, "Purview",
	    { "purview.azure.com" } },
	{ "privatelink.purviewstudio.azure.com", PUB, "Purview studio",
	    { "purviewstudio.azure.com" } },
	{ "privatelink.purview-service.microsoft.com", PUB, "Purview (new)",
	    { "purview-service.microsoft.com" } },
	{ "privatelink.azure.com", PUB, "Resource Manager private link",
	    { "azure.com" } },
	{ "privatelink.grafana.azure.com", PUB, "Managed Grafana",
	    { "grafana.azure.com" } },
	{ "privatelink.{regionName}.prometheus.monitor.azure.com", PUB, "Managed Prometheus",
	    { "{regionName}.prometheus.monitor.azure.com" } },

	/* ---- public cloud: security ---- */
	{ "privatelink.vaultcore.azure.net", PUB, "Key Vault",
	    { "vault.azure.net", "vaultcore.azure.net" } },
	{ "privatelink.managedhsm.azure.net", PUB, "Managed HSM",
	    { "managedhsm.azure.net" } },
	{ "privatelink.azconfig.io", PUB, "App Configuration",
	    { "azconfig.io" } },
	{ "privatelink.attest.azure.net", PUB, "Attestation",
	    { "attest.azure.net" } },

	/* ---- public cloud: databases ---- */
	{ "privatelink.database.windows.net", PUB, "SQL Database",
	    { "database.windows.net" } },
	{ "privatelink.{dnsPrefix}.database.windows.net", PUB, "SQL Managed Instance",
	    { "{dnsPrefix}.database.windows.net" } },
	{ "privatelink.documents.azure.com", PUB, "Cosmos DB (NoSQL)",
	    { "documents.azure.com" } },
	{ "privatelink.mongo.cosmos.azure.com", PUB, "Cosmos DB (MongoDB)",
	    { "mongo.cosmos.azure.com" } },
	{ "privatelink.cassandra.cosmos.azure.com", PUB, "Cosmos DB (Cassandra)",
	    { "cassandra.cosmos.azure.com" } },
	{ "privatelink.gremlin.cosmos.azure.com", PUB, "Cosmos DB (Gremlin)",
	    { "gremlin.cosmos.azure.com" } },
	{ "privatelink.table.cosmos.azure.com", PUB, "Cosmos DB (Table)",
	    { "table.cosmos.azure.com" } },
	{ "privatelink.analytics.cosmos.azure.com", PUB, "Cosmos DB (analytical)",
	    { "analytics.cosmos.azure.com" } },
	{ "privatelink.postgres.cosmos.azure.com", PUB, "Cosmos DB for PostgreSQL",
	    { "postgres.cosmos.azure.com" } },
	{ "privatelink.mongocluster.cosmos.azure.com", PUB, "Cosmos DB (MongoDB vCore)",
	    { "mongocluster.cosmos.azure.com" } },
	{ "privatelink.postgres.database.azure.com", PUB, "Database for PostgreSQL",
	    { "postgres.database.azure.com" } },
	{ "privatelink.mysql.database.azure.com", PUB, "Database for MySQL",
	    { "mysql.database.azure.com" } },
	{ "privatelink.mariadb.database.azure.com", PUB, "Database for MariaDB",
	    { "mariadb.database.azure.com" } },
	{ "privatelink.redis.cache.windows.net", PUB, "Cache for Redis",
	    { "redis.cache.windows.net" } },
	{ "privatelink.redisenterprise.cache.azure.net", PUB, "Cache for Redis Enterprise",
	    { "redisenterprise.cache.azure.net" } },
	{ "privatelink.redis.azure.net", PUB, "Managed Redis",
	    { "redis.azure.net" } },

	/* ---- public cloud: web, integration, IoT, media ---- */
	{ "privatelink.azurewebsites.net", PUB, "App Service, Functions",
	    { "azurewebsites.net" } },
	{ "scm.privatelink.azurewebsites.net", PUB, "App Service (scm)",
	    { "scm.azurewebsites.net" } },
	{ "privatelink.search.windows.net", PUB, "AI Search",
	    { "search.windows.net" } },
	{ "privatelink.service.signalr.net", PUB, "SignalR",
	    { "service.signalr.net" } },
	{ "privatelink.webpubsub.azure.com", PUB, "Web PubSub",
	    { "webpubsub.azure.com" } },
	{ "privatelink.azurestaticapps.net", PUB, "Static Web Apps",
	    { "azurestaticapps.net" } },
	{ "privatelink.{partitionId}.azurestaticapps.net", PUB, "Static Web Apps",
	    { "{partitionId}.azurestaticapps.net" } },
	{ "privatelink.account.maps.azure.com", PUB, "Azure Maps",
	    { "account.maps.azure.com" } },
	{ "privatelink.servicebus.windows.net", PUB, "Service Bus, Event Hubs, Relay",
	    { "servicebus.windows.net" } },
	{ "privatelink.eventgrid.azure.net", PUB, "Event Grid",
	    { "eventgrid.azure.net" } },
	{ "privatelink.ts.eventgrid.azure.net", PUB, "Event Grid (topic spaces)",
	    { "ts.eventgrid.azure.net" } },
	{ "privatelink.azure-api.net", PUB, "API Management",
	    { "azure-api.net" } },
	{ "privatelink.azurehealthcareapis.com", PUB, "Health Data Services",
	    { "azurehealthcareapis.com" } },
	{ "privatelink.dicom.azurehealthcareapis.com", PUB, "Health Data Services (DICOM)",
	    { "dicom.azurehealthcareapis.com" } },
	{ "privatelink.azure-devices.net", PUB, "IoT Hub",
	    { "azure-devices.net" } },
	{ "privatelink.azure-devices-provisioning.net", PUB, "IoT Hub Device Provisioning",
	    { "azure-devices-provisioning.net" } },
	{ "privatelink.api.adu.microsoft.com", PUB, "Device Update for IoT Hub",
	    { "api.adu.microsoft.com" } },
	{ "privatelink.azureiotcentral.com", PUB, "IoT Central",
	    { "azureiotcentral.com" } },
	{ "privatelink.digitaltwins.azure.net", PUB, "Digital Twins",
	    { "digitaltwins.azure.net" } },
	{ "privatelink.media.azure.net", PUB, "Media Services",
	    { "media.azure.net" } },
	{ "privatelink.api.videoindexer.ai", PUB, "Video Indexer",
	    { "api.videoindexer.ai" } },

	/* ---- public cloud: analytics, AI, compute, containers, hybrid ---- */
	{ "privatelink.api.azureml.ms", PUB, "Machine Learning",
	    { "api.azureml.ms" } },
	{ "privatelink.notebooks.azure.net", PUB, "Machine Learning (notebooks)",
	    { "notebooks.azure.net" } },
	{ "privatelink.cognitiveservices.azure.com", PUB, "AI services",
	    { "cognitiveservices.azure.com" } },
	{ "privatelink.openai.azure.com", PUB, "Azure OpenAI",
	    { "openai.azure.com" } },
	{ "privatelink.services.ai.azure.com", PUB, "AI Foundry",
	    { "services.ai.azure.com" } },
	{ "privatelink.directline.botframework.com", PUB, "Bot Service (Direct Line)",
	    { "directline.botframework.com" } },
	{ "privatelink.token.botframework.com", PUB, "Bot Service (token)",
	    { "token.botframework.com" } },
	{ "privatelink.sql.azuresynapse.net", PUB, "Synapse SQL",
	    { "sql.azuresynapse.net" } },
	{ "privatelink.dev.azuresynapse.net", PUB, "Synapse Dev",
	    { "dev.azuresynapse.net" } },
	{ "privatelink.azuresynapse.net", PUB, "Synapse Studio",
	    { "azuresynapse.net" } },
	{ "privatelink.datafactory.azure.net", PUB, "Data Factory",
	    { "datafactory.azure.net" } },
	{ "privatelink.adf.azure.com", PUB, "Data Factory (portal)",
	    { "adf.azure.com" } },
	{ "privatelink.azurehdinsight.net", PUB, "HDInsight",
	    { "azurehdinsight.net" } },
	{ "privatelink.{regionName}.kusto.windows.net", PUB, "Data Explorer",
	    { "{regionName}.kusto.windows.net" } },
	{ "privatelink.analysis.windows.net", PUB, "Power BI",
	    { "analysis.windows.net" } },
	{ "privatelink.pbidedicated.windows.net", PUB, "Power BI (dedicated)",
	    { "pbidedicated.windows.net" } },
	{ "privatelink.prod.powerquery.microsoft.com", PUB, "Power BI (Power Query)",
	    { "prod.powerquery.microsoft.com" } },
	{ "privatelink.azuredatabricks.net", PUB, "Databricks",
	    { "azuredatabricks.net" } },
	{ "privatelink.fabric.microsoft.com", PUB, "Fabric",
	    { "fabric.microsoft.com" } },
	{ "privatelink.batch.azure.com", PUB, "Batch",
	    { "batch.azure.com" } },
	/* The global (feed discovery) zone shares the wvd.microsoft.com suffix
	 * with the regional one; its records are placed by their privatelink
	 * names only. */
	{ "privatelink-global.wvd.microsoft.com", PUB, "Virtual Desktop (global)",
	    { NULL } },
	{ "privatelink.wvd.microsoft.com", PUB, "Virtual Desktop",
	    { "wvd.microsoft.com" } },
	{ "privatelink.{regionName}.azmk8s.io", PUB, "Kubernetes Service",
	    { "{regionName}.azmk8s.io" } },
	{ "privatelink.{regionName}.azurecontainerapps.io", PUB, "Container Apps",
	    { "{regionName}.azurecontainerapps.io" } },
	{ "privatelink.azurecr.io", PUB, "Container Registry",
	    { "azurecr.io" } },
	{ "privatelink.his.arc.azure.com", PUB, "Arc (hybrid compute)",
	    { "his.arc.azure.com" } },
	{ "privatelink.guestconfiguration.azure.com", PUB, "Arc (guest configuration)",
	    { "guestconfiguration.azure.com" } },
	{ "privatelink.dp.kubernetesconfiguration.azure.com", PUB, "Arc (Kubernetes configuration)",
	    { "dp.kubernetesconfiguration.azure.com" } },

	/* ---- Azure Government ---- */
	{ "privatelink.blob.core.usgovcloudapi.net", GOV, "Storage blob, Backup, Monitor",
	    { "blob.core.usgovcloudapi.net" } },
	{ "privatelink.table.core.usgovcloudapi.net", GOV, "Storage table",
	    { "table.core.usgovcloudapi.net" } },
	{ "privatelink.queue.core.usgovcloudapi.net", GOV, "Storage queue, Backup",
	    { "queue.core.usgovcloudapi.net" } },
	{ "privatelink.file.core.usgovcloudapi.net", GOV, "Storage file",
	    { "file.core.usgovcloudapi.net" } },
	{ "privatelink.web.core.usgovcloudapi.net", GOV, "Storage static website",
	    { "web.core.usgovcloudapi.net" } },
	{ "privatelink.dfs.core.usgovcloudapi.net", GOV, "Data Lake Storage Gen2",
	    { "dfs.core.usgovcloudapi.net" } },
	{ "privatelink.vaultcore.usgovcloudapi.net", GOV, "Key Vault",
	    { "vault.usgovcloudapi.net", "vaultcore.usgovcloudapi.net" } },
	{ "privatelink.prod.migration.windowsazure.us", GOV, "Azure Migrate",
	    { "prod.migration.windowsazure.us" } },
	{ "privatelink.siterecovery.windowsazure.us", GOV, "Site Recovery",
	    { "siterecovery.windowsazure.us" } },
	{ "privatelink.{regionCode}.backup.windowsazure.us", GOV, "Backup",
	    { "{regionCode}.backup.windowsazure.us" } },
	{ "privatelink.azure-automation.us", GOV, "Automation",
	    { "azure-automation.us" } },
	{ "privatelink.monitor.azure.us", GOV, "Azure Monitor",
	    { "monitor.azure.us" } },
	{ "privatelink.adx.monitor.azure.us", GOV, "Azure Monitor (ADX)",
	    { "adx.monitor.azure.us" } },
	{ "privatelink.oms.opinsights.azure.us", GOV, "Azure Monitor (Log Analytics)",
	    { "oms.opinsights.azure.us" } },
	{ "privatelink.ods.opinsights.azure.us", GOV, "Azure Monitor (Log Analytics)",
	    { "ods.opinsights.azure.us" } },
	{ "privatelink.agentsvc.azure-automation.us", GOV, "Azure Monitor (agent service)",
	    { "agentsvc.azure-automation.us" } },
	{ "privatelink.purview.azure.us", GOV, "Purview",
	    { "purview.azure.us" } },
	{ "privatelink.purviewstudio.azure.us", GOV, "Purview studio",
	    { "purviewstudio.azure.us" } },
	{ "privatelink.database.usgovcloudapi.net", GOV, "SQL Database",
	    { "database.usgovcloudapi.net" } },
	{ "privatelink.{dnsPrefix}.database.usgovcloudapi.net", GOV, "SQL Managed Instance",
	    { "{dnsPrefix}.database.usgovcloudapi.net" } },
	{ "privatelink.documents.azure.us", GOV, "Cosmos DB (NoSQL)",
	    { "documents.azure.us" } },
	{ "privatelink.mongo.cosmos.azure.us", GOV, "Cosmos DB (MongoDB)",
	    { "mongo.cosmos.azure.us" } },
	{ "privatelink.cassandra.cosmos.azure.us", GOV, "Cosmos DB (Cassandra)",
	    { "cassandra.cosmos.azure.us" } },
	{ "privatelink.gremlin.cosmos.azure.us", GOV, "Cosmos DB (Gremlin)",
	    { "gremlin.cosmos.azure.us" } },
	{ "privatelink.table.cosmos.azure.us", GOV, "Cosmos DB (Table)",
	    { "table.cosmos.azure.us" } },
	{ "privatelink.postgres.database.usgovcloudapi.net", GOV, "Database for PostgreSQL",
	    { "postgres.database.usgovcloudapi.net" } },
	{ "privatelink.mysql.database.usgovcloudapi.net", GOV, "Database for MySQL",
	    { "mysql.database.usgovcloudapi.net" } },
	{ "privatelink.mariadb.database.usgovcloudapi.net", GOV, "Database for MariaDB",
	    { "mariadb.database.usgovcloudapi.net" } },
	{ "privatelink.redis.cache.usgovcloudapi.net", GOV, "Cache for Redis",
	    { "redis.cache.usgovcloudapi.net" } },
	{ "privatelink.servicebus.usgovcloudapi.net", GOV, "Service Bus, Event Hubs, Relay",
	    { "servicebus.usgovcloudapi.net" } },
	{ "privatelink.eventgrid.azure.us", GOV, "Event Grid",
	    { "eventgrid.azure.us" } },
	{ "privatelink.azure-devices.us", GOV, "IoT Hub",
	    { "azure-devices.us" } },
	{ "privatelink.servicebus.windows.us", GOV, "IoT Hub (built-in endpoint)",
	    { "servicebus.windows.us" } },
	{ "privatelink.azure-devices-provisioning.us", GOV, "IoT Hub Device Provisioning",
	    { "azure-devices-provisioning.us" } },
	{ "privatelink.workspace.azurehealthcareapis.us", GOV, "Health Data Services",
	    { "workspace.azurehealthcareapis.us" } },
	{ "privatelink.fhir.azurehealthcareapis.us", GOV, "Health Data Services (FHIR)",
	    { "fhir.azurehealthcareapis.us" } },
	{ "privatelink.dicom.azurehealthcareapis.us", GOV, "Health Data Services (DICOM)",
	    { "dicom.azurehealthcareapis.us" } },
	{ "privatelink.azurewebsites.us", GOV, "App Service, Functions",
	    { "azurewebsites.us" } },
	{ "scm.privatelink.azurewebsites.us", GOV, "App Service (scm)",
	    { "scm.azurewebsites.us" } },
	{ "privatelink.search.azure.us", GOV, "AI Search",
	    { "search.azure.us" } },
	{ "privatelink.azconfig.azure.us", GOV, "App Configuration",
	    { "azconfig.azure.us" } },
	{ "privatelink.cognitiveservices.azure.us", GOV, "AI services",
	    { "cognitiveservices.azure.us" } },
	{ "privatelink.api.ml.azure.us", GOV, "Machine Learning",
	    { "api.ml.azure.us" } },
	{ "privatelink.notebooks.usgovcloudapi.net", GOV, "Machine Learning (notebooks)",
	    { "notebooks.usgovcloudapi.net" } },
	{ "privatelink.sql.azuresynapse.usgovcloudapi.net", GOV, "Synapse SQL",
	    { "sql.azuresynapse.usgovcloudapi.net" } },
	{ "privatelink.dev.azuresynapse.usgovcloudapi.net", GOV, "Synapse Dev",
	    { "dev.azuresynapse.usgovcloudapi.net" } },
	{ "privatelink.azuresynapse.usgovcloudapi.net", GOV, "Synapse Studio",
	    { "azuresynapse.usgovcloudapi.net" } },
	{ "privatelink.datafactory.azure.us", GOV, "Data Factory",
	    { "datafactory.azure.us" } },
	{ "privatelink.adf.azure.us", GOV, "Data Factory (portal)",
	    { "adf.azure.us" } },
	{ "privatelink.azurehdinsight.us", GOV, "HDInsight",
	    { "azurehdinsight.us" } },
	{ "privatelink.databricks.azure.us", GOV, "Databricks",
	    { "databricks.azure.us" } },
	{ "privatelink.batch.usgovcloudapi.net", GOV, "Batch",
	    { "batch.usgovcloudapi.net" } },
	{ "privatelink-global.wvd.azure.us", GOV, "Virtual Desktop (global)",
	    { NULL } },
	{ "privatelink.wvd.azure.us", GOV, "Virtual Desktop",
	    { "wvd.azure.us" } },
	{ "privatelink.azurecr.us", GOV, "Container Registry",
	    { "azurecr.us" } },

	/* ---- Azure China (21Vianet); no Migrate, Site Recovery or Backup ---- */
	{ "privatelink.blob.core.chinacloudapi.cn", CN, "Storage blob",
	    { "blob.core.chinacloudapi.cn" } },
	{ "privatelink.table.core.chinacloudapi.cn", CN, "Storage table",
	    { "table.core.chinacloudapi.cn" } },
	{ "privatelink.queue.core.chinacloudapi.cn", CN, "Storage queue",
	    { "queue.core.chinacloudapi.cn" } },
	{ "privatelink.file.core.chinacloudapi.cn", CN, "Storage file",
	    { "file.core.chinacloudapi.cn" } },
	{ "privatelink.web.core.chinacloudapi.cn", CN, "Storage static website",
	    { "web.core.chinacloudapi.cn" } },
	{ "privatelink.dfs.core.chinacloudapi.cn", CN, "Data Lake Storage Gen2",
	    { "dfs.core.chinacloudapi.cn" } },
	{ "privatelink.afs.azure.cn", CN, "File Sync",
	    { "afs.azure.cn" } },
	/* The docs list vaultcore.azure.cn only; vault.azure.cn is the public
	 * Key Vault suffix in China and maps like vault.azure.net (inference). */
	{ "privatelink.vaultcore.azure.cn", CN, "Key Vault",
	    { "vault.azure.cn", "vaultcore.azure.cn" } },
	{ "privatelink.database.chinacloudapi.cn", CN, "SQL Database",
	    { "database.chinacloudapi.cn" } },
	{ "privatelink.documents.azure.cn", CN, "Cosmos DB (NoSQL)",
	    { "documents.azure.cn" } },
	{ "privatelink.mongo.cosmos.azure.cn", CN, "Cosmos DB (MongoDB)",
	    { "mongo.cosmos.azure.cn" } },
	{ "privatelink.cassandra.cosmos.azure.cn", CN, "Cosmos DB (Cassandra)",
	    { "cassandra.cosmos.azure.cn" } },
	{ "privatelink.gremlin.cosmos.azure.cn", CN, "Cosmos DB (Gremlin)",
	    { "gremlin.cosmos.azure.cn" } },
	{ "privatelink.table.cosmos.azure.cn", CN, "Cosmos DB (Table)",
	    { "table.cosmos.azure.cn" } },
	{ "privatelink.postgres.database.chinacloudapi.cn", CN, "Database for PostgreSQL",
	    { "postgres.database.chinacloudapi.cn" } },
	{ "privatelink.mysql.database.chinacloudapi.cn", CN, "Database for MySQL",
	    { "mysql.database.chinacloudapi.cn" } },
	{ "privatelink.mariadb.database.chinacloudapi.cn", CN, "Database for MariaDB",
	    { "mariadb.database.chinacloudapi.cn" } },
	{ "privatelink.redis.cache.chinacloudapi.cn", CN, "Cache for Redis",
	    { "redis.cache.chinacloudapi.cn" } },
	{ "privatelink.servicebus.chinacloudapi.cn", CN, "Service Bus, Event Hubs, Relay",
	    { "servicebus.chinacloudapi.cn" } },
	{ "privatelink.azure-devices.cn", CN, "IoT Hub",
	    { "azure-devices.cn" } },
	{ "privatelink.azure-devices-provisioning.cn", CN, "IoT Hub Device Provisioning",
	    { "azure-devices-provisioning.cn" } },
	{ "privatelink.chinacloudsites.cn", CN, "App Service, Functions",
	    { "chinacloudsites.cn" } },
	{ "privatelink.signalr.azure.cn", CN, "SignalR",
	    { "service.signalr.azure.cn" } },
	{ "privatelink.azure-automation.cn", CN, "Automation",
	    { "azure-automation.cn" } },
	{ "privatelink.datafactory.azure.cn", CN, "Data Factory",
	    { "datafactory.azure.cn" } },
	{ "privatelink.adf.azure.cn", CN, "Data Factory (portal)",
	    { "adf.azure.cn" } },
	{ "privatelink.azurehdinsight.cn", CN, "HDInsight",
	    { "azurehdinsight.cn" } },
	{ "privatelink.{regionName}.kusto.windows.cn", CN, "Data Explorer",
	    { "{regionName}.kusto.windows.cn" } },
	{ "privatelink.batch.chinacloudapi.cn", CN, "Batch",
	    { "batch.chinacloudapi.cn" } },
	{ "privatelink-global.wvd.azure.cn", CN, "Virtual Desktop (global)",
	    { NULL } },
	{ "privatelink.wvd.azure.cn", CN, "Virtual Desktop",
	    { "wvd.azure.cn" } },
	{ "privatelink.api.ml.azure.cn", CN, "Machine Learning",
	    { "api.ml.azure.cn" } },
	{ "privatelink.notebooks.chinacloudapi.cn", CN, "Machine Learning (notebooks)",
	    { "notebooks.chinacloudapi.cn" } },
	{ "privatelink.eventgrid.azure.cn", CN, "Event Grid",
	    { "eventgrid.azure.cn" } },
};

/* ---- compiled patterns ---- */

#define PAT_LABELS_MAX	16

/* One zone or twin pattern split into labels, for matching from the right. */
struct azure_pat {
	const char *s;
	size_t row;
	int twin;			/* -1 for the zone, else the twin index */
	int nlabels;
	int ph;				/* placeholder label index, or -1 */
	uint16_t off[PAT_LABELS_MAX];
	uint8_t len[PAT_LABELS_MAX];
	char key[64];			/* the last two labels: the bucket */
};

static struct azure_pat *pats;
static size_t npats;
static pthread_once_t pats_once = PTHREAD_ONCE_INIT;

static bool
is_placeholder(const char *l, size_t len)
{
	return len >= 2 && l[0] == '{' && l[len - 1] == '}';
}

/* The last two labels of NAME (or all of it) as a pointer into NAME. */
static const char *
last_two(const char *name, size_t len)
{
	int dots = 0;

	for (size_t i = len; i > 0; i--) {
		if (name[i - 1] == '.' && ++dots == 2)
			return name + i;
	}
	return name;
}

static void
pat_compile(struct azure_pat *p, const char *s, size_t row, int twin)
{
	const char *l = s;

	memset(p, 0, sizeof(*p));
	p->s = s;
	p->row = row;
	p->twin = twin;
	p->ph = -1;
	for (;;) {
		const char *dot = strchr(l, '.');
		size_t len = dot ? (size_t)(dot - l) : strlen(l);

		if (p->nlabels == PAT_LABELS_MAX)
			abort();	/* a table row is malformed */
		p->off[p->nlabels] = (uint16_t)(l - s);
		p->len[p->nlabels] = (uint8_t)len;
		if (is_placeholder(l, len))
			p->ph = p->nlabels;
		p->nlabels++;
		if (dot == NULL)
			break;
		l = dot + 1;
	}
	/* The bucket key must be literal, or lookups by a name's last two
	 * labels would miss the row. */
	if (pl_strlcpy(p->key, last_two(s, strlen(s)), sizeof(p->key)) >=
	    sizeof(p->key) || strchr(p->key, '{') != NULL)
		abort();
}

static int
pat_cmp(const void *a, const void *b)
{
	const struct azure_pat *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	/* Stable by table order. */
	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	return x->twin - y->twin;
}

static void
pats_build(void)
{
	size_t n = 0;

	for (size_t i = 0; i < nitems(azure_rows); i++) {
		n++;
		for (int t = 0; azure_rows[i].twins[t] != NULL; t++)
			n++;
	}
	/* The table lives as long as the process, whichever load first asks
	 * for it: not from xcalloc(), which a load's guard would free on
	 * unwinding.  A few kilobytes, at the first load. */
	if ((pats = calloc(n, sizeof(*pats))) == NULL) {
		fputs("pldns: out of memory\n", stderr);
		abort();
	}
	for (size_t i = 0; i < nitems(azure_rows); i++) {
		pat_compile(&pats[npats++], azure_rows[i].zone, i, -1);
		for (int t = 0; azure_rows[i].twins[t] != NULL; t++)
			pat_compile(&pats[npats++], azure_rows[i].twins[t], i, t);
	}
	qsort(pats, npats, sizeof(*pats), pat_cmp);
}

/* NAME split into labels. */
struct name_labels {
	int n;
	uint16_t off[128];
	uint8_t len[128];
};

static int
name_split(const char *name, size_t nlen, struct name_labels *nl)
{
	size_t start = 0;

	nl->n = 0;
	if (nlen == 0)
		return -1;
	for (size_t i = 0; i <= nlen; i++) {
		if (i == nlen || name[i] == '.') {
			if (i == start || i - start > 255 ||
			    nl->n == (int)nitems(nl->off))
				return -1;
			nl->off[nl->n] = (uint16_t)start;
			nl->len[nl->n] = (uint8_t)(i - start);
			nl->n++;
			start = i + 1;
		}
	}
	return 0;
}

/*
 * Matches pattern P against the right end of NAME.  Returns the index of the
 * first name label of the match, or -1; PH and PHLEN get the placeholder value.
 */
static int
pat_match(const struct azure_pat *p, const char *name,
    const struct name_labels *nl, const char **ph, size_t *phlen)
{
	int first = nl->n - p->nlabels;

	if (first < 0)
		return -1;
	for (int i = p->nlabels - 1; i >= 0; i--) {
		const char *nlab = name + nl->off[first + i];
		size_t nlen = nl->len[first + i];

		if (i == p->ph) {
			if (strncmp(nlab, "privatelink", 11) == 0)
				return -1;
			*ph = nlab;
			*phlen = nlen;
			continue;
		}
		if (nlen != p->len[i] || memcmp(nlab, p->s + p->off[i], nlen) != 0)
			return -1;
	}
	return first;
}

/* Writes pattern S with its placeholder label replaced by PH into OUT
 * (at offset AT); returns the new end, or -1 when it does not fit. */
static int
pat_fill(char *out, size_t at, const char *s, const char *ph, size_t phlen)
{
	const char *p = s;

	while (*p != '\0') {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		const char *src = p;
		size_t slen = len;

		if (is_placeholder(p, len)) {
			src = ph;
			slen = phlen;
		}
		if (at + slen + 2 > AZURE_NAME_MAX)
			return -1;
		memcpy(out + at, src, slen);
		at += slen;
		if (dot == NULL)
			break;
		out[at++] = '.';
		p = dot + 1;
	}
	out[at] = '\0';
	return (int)at;
}

/* Range of compiled patterns whose bucket is KEY. */
static void
bucket(const char *key, size_t *lo, size_t *hi)
{
	size_t a = 0, b = npats;

	while (a < b) {
		size_t m = (a + b) / 2;
		if (strcmp(pats[m].key, key) < 0)
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	b = npats;
	while (a < b) {
		size_t m = (a + b) / 2;
		if (strcmp(pats[m].key, key) <= 0)
			a = m + 1;
		else
			b = m;
	}
	*hi = a;
}

/*
 * How much of NAME decides whether pattern P matches, looking from the
 * right: the labels compared up to and with the first that differs, or all
 * of P's.  When that last label differs from a literal label of P, *LIT gets
 * that label's index in P (another name with the same labels to its right
 * and another label there that differs too fares the same); else -1.
 * Returns -1 when NAME ends P but is shorter (a longer name may match).
 */
static int
pat_inspect(const struct azure_pat *p, const char *name,
    const struct name_labels *nl, int *lit)
{
	*lit = -1;
	for (int t = 0; t < p->nlabels; t++) {
		int i = p->nlabels - 1 - t, ni = nl->n - 1 - t;
		const char *nlab;
		size_t nlen;

		if (ni < 0)
			return -1;
		nlab = name + nl->off[ni];
		nlen = nl->len[ni];
		if (i == p->ph) {
			if (strncmp(nlab, "privatelink", 11) == 0)
				return t + 1;
			continue;
		}
		if (nlen != p->len[i] || memcmp(nlab, p->s + p->off[i], nlen) != 0) {
			*lit = i;
			return t + 1;
		}
	}
	return p->nlabels;
}

/*
 * azure_zone_place() for NAME split into NL.  With K non-NULL, K->depth,
 * excl and nexcl tell how much of NAME decided (see struct
 * azure_place_entry; depth 0 when NAME alone cannot tell) and K->tlabels
 * the labels of the twin that matched.
 */
static int
place_split(const char *name, size_t nlen, const struct name_labels *nl,
    char *zone, char *plname, struct azure_place_entry *k)
{
	size_t lo, hi;
	const struct azure_pat *best = NULL;
	const char *bestph = NULL;
	size_t bestphlen = 0;
	int bestfirst = 0, bestlabels = 0;

	bucket(last_two(name, nlen), &lo, &hi);
	if (k != NULL) {
		/* The labels that chose the bucket, at least. */
		int depth = 2, lit, t;

		k->nexcl = 0;
		k->tlabels = 0;
		for (size_t i = lo; i < hi && depth > 0; i++) {
			if ((t = pat_inspect(&pats[i], name, nl, &lit)) < 0)
				depth = 0;
			else if (lit >= 0 && t - 1 > depth)
				depth = t - 1;
			else if (lit < 0 && t > depth)
				depth = t;
		}
		/* Literals that differed one label further left: another name
		 * must differ from them there too. */
		for (size_t i = lo; i < hi && depth > 0; i++) {
			if ((t = pat_inspect(&pats[i], name, nl, &lit)) != depth + 1 ||
			    lit < 0)
				continue;
			if (k->nexcl == AZURE_MEMO_EXCL) {
				depth = 0;
				break;
			}
			k->excl[k->nexcl] = pats[i].s + pats[i].off[lit];
			k->excllen[k->nexcl++] = pats[i].len[lit];
		}
		k->depth = depth;
	}
	for (size_t i = lo; i < hi; i++) {
		const struct azure_pat *p = &pats[i];
		const char *ph = NULL;
		size_t phlen = 0;
		int first = pat_match(p, name, nl, &ph, &phlen);

		if (first < 0)
			continue;
		/* A twin takes only names strictly below it. */
		if (p->twin >= 0 && first == 0)
			continue;
		if (p->nlabels < bestlabels)
			continue;
		if (p->nlabels == bestlabels && !(best->twin >= 0 && p->twin < 0))
			continue;
		best = p;
		bestph = ph;
		bestphlen = phlen;
		bestfirst = first;
		bestlabels = p->nlabels;
	}
	if (best == NULL)
		return 0;
	if (pat_fill(zone, 0, azure_rows[best->row].zone, bestph, bestphlen) == -1)
		return 0;
	if (best->twin < 0) {
		if (nlen >= AZURE_NAME_MAX)
			return 0;
		memcpy(plname, name, nlen + 1);
		return 1;
	}
	if (k != NULL)
		k->tlabels = best->nlabels;
	/* The prefix (with its trailing dot) then the zone. */
	size_t plen = nl->off[bestfirst];
	if (plen + strlen(zone) + 1 > AZURE_NAME_MAX)
		return -1;
	memcpy(plname, name, plen);
	strcpy(plname + plen, zone);
	return 2;
}

int
azure_zone_place(const char *name, char *zone, char *plname)
{
	struct name_labels nl;
	size_t nlen = strlen(name);

	pthread_once(&pats_once, pats_build);
	if (name_split(name, nlen, &nl) == -1)
		return 0;
	return place_split(name, nlen, &nl, zone, plname, NULL);
}

/* Whether entry E holds for NAME (split into NL). */
static bool
memo_holds(const struct azure_place_entry *e, const char *name,
    const struct name_labels *nl)
{
	const char *lab;
	size_t len;

	if (e->depth == 0 || nl->n <= e->depth ||
	    strcmp(name + nl->off[nl->n - e->depth], e->key) != 0)
		return false;
	lab = name + nl->off[nl->n - e->depth - 1];
	len = nl->len[nl->n - e->depth - 1];
	for (int i = 0; i < e->nexcl; i++)
		if (len == e->excllen[i] && memcmp(lab, e->excl[i], len) == 0)
			return false;
	return true;
}

int
azure_zone_place_memo(struct azure_place_memo *m, const char *name, char *zone,
    char *plname)
{
	struct azure_place_entry *e, k;
	struct name_labels nl;
	size_t nlen = strlen(name), zlen, set, bucket;
	uint64_t h;
	int r, w;

	pthread_once(&pats_once, pats_build);
	if (name_split(name, nlen, &nl) == -1)
		return 0;
	/* The bucket's labels pick the set: names of one zone meet there. */
	bucket = nl.off[nl.n >= 2 ? nl.n - 2 : 0];
	h = hash_bytes(name + bucket, nlen - bucket);
	set = h & (AZURE_MEMO_SETS - 1);
	for (w = 0; w < AZURE_MEMO_WAYS; w++) {
		e = &m->e[set][w];
		if (!memo_holds(e, name, &nl))
			continue;
		switch (e->r) {
		case 1:
			if (nlen >= AZURE_NAME_MAX)
				return 0;
			memcpy(zone, e->zone, e->zlen + 1);
			memcpy(plname, name, nlen + 1);
			return 1;
		case 2: {
			size_t plen = nl.off[nl.n - e->tlabels];
			if (plen + e->zlen + 1 > AZURE_NAME_MAX)
				return -1;
			memcpy(zone, e->zone, e->zlen + 1);
			memcpy(plname, name, plen);
			memcpy(plname + plen, e->zone, e->zlen + 1);
			return 2;
		}
		default:
			return 0;
		}
	}
	r = place_split(name, nlen, &nl, zone, plname, &k);
	e = &m->e[set][m->next[set]];
	/* Only names with a label left of those that decided, where the
	 * outcome says nothing of the rest (names too long are told afresh
	 * every time). */
	if (r == -1 || k.depth == 0 || nl.n <= k.depth || nlen >= AZURE_NAME_MAX)
		return r;
	zlen = r > 0 ? strlen(zone) : 0;
	e->depth = k.depth;
	e->tlabels = k.tlabels;
	e->nexcl = k.nexcl;
	memcpy(e->excl, k.excl, sizeof(e->excl));
	memcpy(e->excllen, k.excllen, sizeof(e->excllen));
	e->r = r;
	pl_strlcpy(e->key, name + nl.off[nl.n - k.depth], sizeof(e->key));
	memcpy(e->zone, r > 0 ? zone : "", zlen + 1);
	e->zlen = zlen;
	m->next[set] = (unsigned char)((m->next[set] + 1) % AZURE_MEMO_WAYS);
	return r;
}

/*
 * The row whose zone pattern ZONE (split into NL) matches exactly, or -1;
 * fills PH.  Through the compiled patterns' buckets, as a placement: every
 * synced record set asks, and compiling every row's pattern for each took
 * a reload of 11,000 synced records from 44 to 74 ms of the main thread
 * (tests/bench/sync_bench.py's data).
 */
static long
zone_row(const char *zone, const struct name_labels *nl, const char **ph,
    size_t *phlen)
{
	size_t lo, hi;

	pthread_once(&pats_once, pats_build);
	bucket(last_two(zone, strlen(zone)), &lo, &hi);
	/* A bucket is in row order: the first row wins, as in the table. */
	for (size_t i = lo; i < hi; i++) {
		const char *p = NULL;
		size_t plen = 0;

		/* The match starts at the first label: exactly the zone. */
		if (pats[i].twin < 0 &&
		    pat_match(&pats[i], zone, nl, &p, &plen) == 0) {
			*ph = p;
			*phlen = plen;
			return (long)pats[i].row;
		}
	}
	return -1;
}

int
azure_zone_twins(const char *zone, char twins[][AZURE_NAME_MAX], int max)
{
	struct name_labels nl;
	const char *ph = NULL;
	size_t phlen = 0;
	long row;
	int n = 0;

	if (name_split(zone, strlen(zone), &nl) == -1 ||
	    (row = zone_row(zone, &nl, &ph, &phlen)) < 0)
		return 0;
	for (int t = 0; azure_rows[row].twins[t] != NULL && n < max; t++) {
		if (pat_fill(twins[n], 0, azure_rows[row].twins[t], ph,
		    phlen) != -1)
			n++;
	}
	return n;
}

int
azure_zone_known(const char *zone)
{
	struct name_labels nl;
	const char *ph = NULL;
	size_t phlen = 0;

	if (name_split(zone, strlen(zone), &nl) == -1)
		return 0;
	return zone_row(zone, &nl, &ph, &phlen) >= 0;
}

size_t
azure_zone_count(void)
{
	return nitems(azure_rows);
}

const char *
azure_zone_pattern(size_t i, const char **cloud, const char **service,
    const char *const **twins)
{
	if (i >= nitems(azure_rows))
		return NULL;
	if (cloud != NULL)
		*cloud = azure_rows[i].cloud;
	if (service != NULL)
		*service = azure_rows[i].service;
	if (twins != NULL)
		*twins = azure_rows[i].twins;
	return azure_rows[i].zone;
}
