/* pldns: verbs, options, start-up and shutdown order. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/config.h"
#include "verbs/import.h"
#include "util/log.h"
#include "data/records.h"
#include "runtime/server.h"
#include "data/snapshot.h"
#include "runtime/startup.h"
#include "util/util.h"
#include "verbs/verbs.h"

#define EX_OK_		0
#define EX_UNAVAILABLE_	69
#define EX_OSERR_	71
#define EX_CONFIG_	78

/*
 * The configuration and records of PATH, with what serve needs from the
 * system (startup.h); NULL when anything is wrong, with every problem in D.
 * serve and check-config both load through here, so that they refuse the
 * same things with the same messages.
 */
static struct snapshot *
load_checked(const char *path, struct diag *d)
{
	struct snapshot *snap = server_load(path, NULL, d);
	struct config *cfg;
	struct diag again;

	if (snap != NULL) {
		if (startup_check(snapshot_config(snap), d) == 0)
			return snap;
		snapshot_unref(snap);
		return NULL;
	}
	/* Out of memory: loading the configuration alone again could not
	 * be undone. */
	if (server_load_oom(d))
		return NULL;
	/* Bad records do not hide the other problems of a good configuration;
	 * a bad configuration was reported already. */
	diag_init(&again);
	if ((cfg = config_load(path, &again)) != NULL) {
		startup_check(cfg, d);
		config_free(cfg);
	}
	diag_clear(&again);
	return NULL;
}

static int
cmd_serve(struct verb_args *a)
{
	const char *path = verb_get(a, 'c', VERB_DEFAULT_CONFIG);
	bool fg = verb_has(a, 'f');
	struct diag d;
	struct snapshot *snap;
	struct server *srv;

	/*
	 * Large blocks (arena chunks, record arrays, hash tables) come from
	 * mmap and go straight back to the system when freed.  Without a fixed
	 * threshold glibc raises it after the first large free, and a reload
	 * would leave the old snapshot's memory in the heap for good.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	log_init(1, LOG_LVL_INFO);
	diag_init(&d);
	snap = load_checked(path, &d);
	diag_print(&d, stderr);
	if (snap == NULL && server_load_oom(&d)) {
		/* No configuration error: this host (or its limits) has too
		 * little memory for the data. */
		fputs("pldns: not starting: out of memory loading the data\n", stderr);
		diag_clear(&d);
		return EX_OSERR_;
	}
	if (snap == NULL) {
		fprintf(stderr, "pldns: not starting: %zu error%s in the configuration or records\n",
		    d.nerrors, d.nerrors == 1 ? "" : "s");
		diag_clear(&d);
		return EX_CONFIG_;
	}
	diag_clear(&d);
	log_setlevel(snapshot_config(snap)->log_level);
	log_query_enable(snapshot_config(snap)->query_log);

	diag_init(&d);
	srv = server_new(path, snap, &d);
	diag_clear(&d);
	/* What is left to fail is no configuration error: a port in use, an
	 * address not on this host (server_new logged why). */
	if (srv == NULL)
		return EX_UNAVAILABLE_;
	if (server_drop_privileges(srv) != 0) {
		server_free(srv);
		return EX_OSERR_;
	}
	if (!fg) {
		/* The workers are threads: daemon() must come before they start
		 * (server_run), and it does. */
		if (daemon(0, 0) < 0)
			fatal("daemon");
		log_init(0, snapshot_config(snap)->log_level);
	}
	int status = server_run(srv);
	server_free(srv);
	return status;
}

static int
cmd_check(struct verb_args *a)
{
	const char *path = verb_get(a, 'c', VERB_DEFAULT_CONFIG);
	struct diag d;
	struct snapshot *snap;

	diag_init(&d);
	snap = load_checked(path, &d);
	diag_print(&d, stdout);
	if (snap == NULL) {
		diag_clear(&d);
		return EX_CONFIG_;
	}
	printf("configuration OK: %zu zones, %zu records\n", snapshot_nzones(snap),
	    snapshot_nrecords(snap));
	snapshot_unref(snap);
	diag_clear(&d);
	return EX_OK_;
}

static int
cmd_import(struct verb_args *a)
{
	return import_run(verb_get(a, 'c', NULL), verb_get(a, 'z', "."),
	    verb_has(a, 'n'), a->argv, a->argc, stdout, stderr);
}

static int
cmd_version(struct verb_args *a)
{
	(void)a;
	printf("pldns %s\n", PACKAGE_VERSION);
	return EX_OK_;
}

static int cmd_help(struct verb_args *a);

static const struct verb verb_serve = {
	.name = "serve",
	.usage = "[-c FILE] [-f]",
	.help = "run the DNS server (-f: foreground, log to stderr)",
	.text =
"  -c FILE   configuration file (default " VERB_DEFAULT_CONFIG ")\n"
"  -f        stay in the foreground and log to stderr\n"
"Signals: SIGHUP reloads, SIGTERM/SIGINT stop gracefully, SIGUSR1 logs statistics.\n",
	.opts = (const struct verb_opt[]){
	    { 'c', NULL, VERB_ARG }, { 'f', NULL, 0 }, VERB_OPT_END },
	.lower = 0, .upper = 0,
	.run = cmd_serve,
};

static const struct verb verb_check = {
	.name = "check-config",
	.usage = "[-c FILE]",
	.help = "check the configuration and every record source",
	.text =
"Prints \"configuration OK\", or every problem as file:line: message.\n"
"Exit status 0 when the configuration is valid, 78 otherwise.\n",
	.opts = (const struct verb_opt[]){
	    { 'c', NULL, VERB_ARG }, VERB_OPT_END },
	.lower = 0, .upper = 0,
	.run = cmd_check,
};

static const struct verb verb_import = {
	.name = "import",
	.usage = "[-c FILE] [--zone-dir DIR] [--dry-run] FILE...",
	.help = "validate record sources, write privatelink zone files",
	.text =
"Reads record sources (portal CSV, az/PowerShell JSON, hosts, zone files),\n"
"validates them and writes one zone file per privatelink zone into DIR\n"
"(default: the current directory).  Exit status: 0 ok, 65 data error,\n"
"66 no input, 73 cannot write.\n"
"--dry-run writes nothing and prints every change, record by record, against\n"
"the zone files in DIR, or with -c against what the configuration's sources\n"
"give now.\n",
	.opts = (const struct verb_opt[]){
	    VERB_OPT_CONFIG, { 'z', "zone-dir", VERB_ARG | VERB_LONG },
	    { 'n', "dry-run", VERB_LONG }, VERB_OPT_END },
	.lower = 1, .upper = VERB_ANY,
	.run = cmd_import,
};

static const struct verb verb_version = {
	.name = "version",
	.alias = "--version",
	.usage = "",
	.help = "print the version",
	.text = "",
	.lower = 0, .upper = 0,
	.run = cmd_version,
};

static const struct verb verb_help = {
	.name = "help",
	.alias = "--help|-h",
	.usage = "",
	.text = "Lists the verbs.\n",
	.lower = 0, .upper = VERB_ANY,
	.run = cmd_help,
};

/* Every verb, in the order of pldns(8)'s synopsis. */
static const struct verb *const verbs[] = {
	&verb_serve, &verb_check, &verb_import, &verb_ctl, &verb_sync,
	&verb_doctor, &verb_forwarders, &verb_version, &verb_help,
};

static int
cmd_help(struct verb_args *a)
{
	(void)a;
	verb_list(verbs, nitems(verbs), stdout);
	return EX_OK_;
}

int
main(int argc, char **argv)
{
	const struct verb *v;

	if (argc < 2) {
		verb_list(verbs, nitems(verbs), stderr);
		return VERB_EX_USAGE;
	}
	if ((v = verb_find(verbs, nitems(verbs), argv[1])) == NULL) {
		fprintf(stderr, "pldns: unknown verb \"%s\"\n\n", argv[1]);
		verb_list(verbs, nitems(verbs), stderr);
		return VERB_EX_USAGE;
	}
	/* The verb parses its own options from argv[1] on. */
	return verb_exec(v, argc - 1, argv + 1);
}
