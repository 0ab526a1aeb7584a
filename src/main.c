/* pldns: verbs, options, start-up and shutdown order. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "azure_sync.h"
#include "config.h"
#include "import.h"
#include "log.h"
#include "records.h"
#include "server.h"
#include "snapshot.h"
#include "startup.h"
#include "util.h"
#include "verbs.h"

#define EX_OK_		0
#define EX_USAGE_	64
#define EX_UNAVAILABLE_	69
#define EX_OSERR_	71
#define EX_CONFIG_	78

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/pldns/pldns.ini"

static const char usage_main[] =
"usage: pldns VERB [options]\n"
"\n"
"verbs:\n"
"  serve -c FILE [-f]          run the DNS server (-f: foreground, log to stderr)\n"
"  check-config -c FILE        check the configuration and every record source\n"
"  import [-c FILE] [--zone-dir DIR] [--dry-run] FILE...\n"
"                              validate record sources, write privatelink zone files\n"
"  ctl [-c FILE] status|reload [--force]|flush [NAME]|stats\n"
"                              talk to a running pldns through its control endpoint\n"
"  doctor -c FILE [--server ADDR:PORT] [--json] [--name NAME...]\n"
"                              check that every private endpoint name resolves right\n"
"  forwarders -c FILE --server IP[,IP] --format windows|bind|unbound|dnsmasq|coredns\n"
"                              print conditional forwarders for the site's DNS servers\n"
"  sync -c FILE [--dry-run] [NAME]\n"
"                              sync records from Azure now, print what changed\n"
"  version                     print the version\n"
"\n"
"pldns VERB --help describes one verb.  See pldns(8) and pldns.ini(5).\n";

static const char usage_serve[] =
"usage: pldns serve [-c FILE] [-f]\n"
"  -c FILE   configuration file (default " DEFAULT_CONFIG ")\n"
"  -f        stay in the foreground and log to stderr\n"
"Signals: SIGHUP reloads, SIGTERM/SIGINT stop gracefully, SIGUSR1 logs statistics.\n";

static const char usage_check[] =
"usage: pldns check-config [-c FILE]\n"
"Prints \"configuration OK\", or every problem as file:line: message.\n"
"Exit status 0 when the configuration is valid, 78 otherwise.\n";

static const char usage_import[] =
"usage: pldns import [-c FILE] [--zone-dir DIR] [--dry-run] FILE...\n"
"Reads record sources (portal CSV, az/PowerShell JSON, hosts, zone files),\n"
"validates them and writes one zone file per privatelink zone into DIR\n"
"(default: the current directory).  Exit status: 0 ok, 65 data error,\n"
"66 no input, 73 cannot write.\n"
"--dry-run writes nothing and prints every change, record by record, against\n"
"the zone files in DIR, or with -c against what the configuration's sources\n"
"give now.\n";

static int
wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

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
cmd_serve(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG;
	int fg = 0, ch;
	struct diag d;
	struct snapshot *snap;
	struct server *srv;

	if (wants_help(argc, argv)) {
		fputs(usage_serve, stdout);
		return EX_OK_;
	}
	while ((ch = getopt(argc, argv, "c:f")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			fg = 1;
			break;
		default:
			fputs(usage_serve, stderr);
			return EX_USAGE_;
		}
	}
	if (optind != argc) {
		fputs(usage_serve, stderr);
		return EX_USAGE_;
	}
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
cmd_check(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG;
	struct diag d;
	struct snapshot *snap;
	int ch;

	if (wants_help(argc, argv)) {
		fputs(usage_check, stdout);
		return EX_OK_;
	}
	while ((ch = getopt(argc, argv, "c:")) != -1) {
		if (ch == 'c')
			path = optarg;
		else {
			fputs(usage_check, stderr);
			return EX_USAGE_;
		}
	}
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
cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "zone-dir", required_argument, NULL, 'z' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cfgpath = NULL, *dir = ".";
	bool dry = false;
	int ch;

	if (wants_help(argc, argv)) {
		fputs(usage_import, stdout);
		return EX_OK_;
	}
	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'z':
			dir = optarg;
			break;
		case 'n':
			dry = true;
			break;
		default:
			fputs(usage_import, stderr);
			return EX_USAGE_;
		}
	}
	if (optind >= argc) {
		fputs(usage_import, stderr);
		return EX_USAGE_;
	}
	return import_run(cfgpath, dir, dry, argv + optind, argc - optind, stdout, stderr);
}

int
main(int argc, char **argv)
{
	const char *verb;

	if (argc < 2) {
		fputs(usage_main, stderr);
		return EX_USAGE_;
	}
	verb = argv[1];
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 ||
	    strcmp(verb, "help") == 0) {
		fputs(usage_main, stdout);
		return EX_OK_;
	}
	if (strcmp(verb, "version") == 0 || strcmp(verb, "--version") == 0) {
		printf("pldns %s\n", PACKAGE_VERSION);
		return EX_OK_;
	}
	/* Each verb parses its own options from argv[1] on. */
	argc--;
	argv++;
	optind = 1;
	if (strcmp(verb, "serve") == 0)
		return cmd_serve(argc, argv);
	if (strcmp(verb, "check-config") == 0)
		return cmd_check(argc, argv);
	if (strcmp(verb, "import") == 0)
		return cmd_import(argc, argv);
	if (strcmp(verb, "ctl") == 0)
		return ctl_main(argc, argv);
	if (strcmp(verb, "forwarders") == 0)
		return forwarders_main(argc, argv);
	if (strcmp(verb, "doctor") == 0)
		return doctor_main(argc, argv);
	if (strcmp(verb, "sync") == 0)
		return azure_sync_main(argc, argv);
	fprintf(stderr, "pldns: unknown verb \"%s\"\n\n%s", verb, usage_main);
	return EX_USAGE_;
}
