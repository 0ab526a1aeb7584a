/*
 * gen-man-ini: prints the pldns.ini(5) manual page (troff, man macros) from
 * config_keys[], the table the configuration parser itself checks keys
 * against, so that the page cannot drift from what pldns accepts.  Only the
 * prose around the keys (what each section is for, the syntax, examples) is
 * written here.  Links with libpldns.a:
 *
 *   gen-man-ini > man/pldns.ini.5
 *
 * The output has no date, so that the same sources give the same page.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/config.h"

/* What each section is for; NAMED sections are written [section "NAME"]. */
static const struct {
	const char *section;
	bool named;
	const char *intro;
} sections[] = {
	{ "server", false,
	  "How pldns listens for DNS queries, whom it answers and as which user "
	  "it runs." },
	{ "upstream", false,
	  "The resolvers that pldns forwards queries to when the name is not "
	  "in a local zone.  A try that times out or is refused moves on to the "
	  "next server at once; a query that no server answers within "
	  "deadline_ms gets SERVFAIL." },
	{ "cache", false,
	  "The cache of upstream answers (negative answers as RFC 2308 says, "
	  "expired answers as RFC 8767 says).  Local data never goes through "
	  "the cache: a reload changes answers at once." },
	{ "records", false,
	  "Where the local private endpoint records come from and how names "
	  "that the local zones do not hold are answered.  A source is taken "
	  "whole or not at all: one bad line rejects the file, and on a reload "
	  "the previous data keeps being served." },
	{ "log", false,
	  "Logging goes to standard error when pldns runs in the foreground "
	  "(-f) and to syslog otherwise.  Errors that repeat under load, such "
	  "as upstream timeouts, are logged at most once every 10 seconds with "
	  "a count of the lines left out." },
	{ "control", false,
	  "The HTTP control endpoint: GET /metrics (Prometheus), /healthz, "
	  "/readyz, /status (JSON), the status page at /, and POST /reload and "
	  "/cache/flush[?name=NAME], which pldns ctl uses.  POST requests "
	  "must carry \"Authorization: Bearer TOKEN\" with the token read from "
	  "token_file; without token_file they are accepted from loopback "
	  "addresses (127.0.0.0/8, ::1) only.  The token is read once at "
	  "start-up, before pldns gives up root, so the file may be readable "
	  "by root only; a new token takes a restart.  GET requests need no "
	  "token: keep listen on a loopback or management address." },
	{ "doctor", false,
	  "What pldns doctor expects of the local records." },
	{ "forward", true,
	  "Conditional forwarding: queries for NAME and the names below it go "
	  "to these servers instead of the [upstream] servers; the longest "
	  "matching NAME wins.  There may be any number of such sections." },
	{ "zone", true,
	  "Options of the local zone NAME, a privatelink zone or any other zone "
	  "pldns answers for.  Zones also come into being from the names in "
	  "record sources; a section is needed only to change a zone's options "
	  "or to give it a zone file." },
	{ "key", true,
	  "A TSIG key (RFC 8945), named by the key option of [zone] sections." },
	{ "azure", true,
	  "An identity whose private endpoint records pldns reads from Azure "
	  "Resource Manager every interval seconds (see doc/sync.md): the "
	  "record sets of private DNS zones, and the DNS configurations of "
	  "private endpoints.  The records go through the same checks as "
	  "every other source; a sync that fails, or whose data fails a "
	  "check, changes nothing.  The last good sync is kept in state_dir, "
	  "so that a restart serves it at once.  There may be any number of "
	  "such sections." },
};

/* Writes S as troff text: backslashes escaped, no line starting a request;
 * in CODE, '-' is the minus sign that commands and values are written with. */
static void
troff(const char *s, bool code)
{
	bool bol = true;

	for (; *s != '\0'; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", stdout);
		bol = *s == '\n';
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-' && code)
			fputs("\\-", stdout);
		else
			putchar(*s);
	}
}

static void
text(const char *s)
{
	troff(s, false);
}

static void
bold(const char *s)
{
	fputs("\\fB", stdout);
	troff(s, true);
	fputs("\\fR", stdout);
}

static void
italic(const char *s)
{
	fputs("\\fI", stdout);
	troff(s, true);
	fputs("\\fR", stdout);
}

/* The syntax of a value of K, after "key = ". */
static void
syntax(const struct config_key *k)
{
	switch (k->type) {
	case CT_BOOL:
		bold("yes");
		fputs(" | ", stdout);
		bold("no");
		break;
	case CT_UINT:
		italic("number");
		if (k->flags & CK_AUTO) {
			fputs(" | ", stdout);
			bold("auto");
		}
		break;
	case CT_SIZE:
		italic("bytes");
		fputs("[\\fBK\\fR|\\fBM\\fR|\\fBG\\fR]", stdout);
		break;
	case CT_STRING:
		italic(strcmp(k->name, "user") == 0 ? "user" :
		    strcmp(k->name, "listen") == 0 ? "address" :
		    strcmp(k->name, "key") == 0 ? "name" :
		    strcmp(k->name, "secret") == 0 ? "base64" : "string");
		if (k->flags & CK_NONE) {
			fputs(" | ", stdout);
			bold("none");
		}
		break;
	case CT_PATH:
		italic(k->name[strlen(k->name) - 1] == 'r' ? "directory" : "file");
		break;
	case CT_ADDRLIST:
		italic("address");
		fputs("[\\fB:\\fR\\fIport\\fR], ...", stdout);
		break;
	case CT_CIDRLIST:
		italic("prefix");
		fputs("[\\fB/\\fR\\fIlength\\fR], ...", stdout);
		break;
	case CT_PATHLIST:
		fputs("[\\fIformat\\fR\\fB:\\fR]\\fIfile\\fR, ...", stdout);
		break;
	case CT_ENUM: {
		const char *v = k->values != NULL ? k->values : "";

		while (*v != '\0') {
			size_t n = strcspn(v, "|");
			char word[64];

			snprintf(word, sizeof(word), "%.*s", (int)n, v);
			bold(word);
			v += n;
			if (*v == '|') {
				fputs(" | ", stdout);
				v++;
			}
		}
		break;
	}
	case CT_STRLIST:
		italic(k->flags & CK_DOMAIN ? "domain" : "value");
		fputs(", ...", stdout);
		break;
	}
}

/* What the table knows beyond the help sentence: range, list rules. */
static void
details(const struct config_key *k)
{
	char range[64];

	snprintf(range, sizeof(range), "from %lu to %lu", k->min, k->max);
	/* The range, unless the help sentence already gives it. */
	if (k->type == CT_UINT && !(k->min == 0 && k->max >= UINT_MAX) &&
	    strstr(k->help, range) == NULL) {
		if (k->max >= UINT_MAX)
			printf("At least %lu.\n", k->min);
		else
			printf("From %lu to %lu%s.\n", k->min, k->max,
			    k->flags & CK_AUTO ? ", or auto" : "");
	}
	if (k->type == CT_ADDRLIST || k->type == CT_CIDRLIST ||
	    k->type == CT_PATHLIST || k->type == CT_STRLIST)
		printf("Entries are separated by commas%s%s.\n",
		    k->flags & CK_SPACES ? " or white space" : "",
		    k->flags & CK_NONEMPTY ? "; the list must not be empty" : "");
	if (k->flags & CK_READ)
		printf("The file must be readable when pldns loads the "
		    "configuration.\n");
}

static void
key_entry(const struct config_key *k)
{
	printf(".TP\n");
	bold(k->name);
	fputs(" = ", stdout);
	syntax(k);
	putchar('\n');
	text(k->help);
	putchar('\n');
	details(k);
	if (k->flags & CK_REQUIRED) {
		size_t n = strlen(k->help);
		if (n < 9 || strcmp(k->help + n - 9, "required.") != 0)
			printf("Required.\n");
	} else if (k->def == NULL) {
		printf("Not set by default.\n");
	} else if (k->def[0] == '\0') {
		printf("Empty by default.\n");
	} else if (k->flags & CK_UNSET) {
		fputs("Default: ", stdout);
		text(k->def);
		printf(".\n");
	} else {
		fputs("Default: ", stdout);
		bold(k->def);
		printf(".\n");
	}
}

static void
section(const char *name)
{
	const char *intro = NULL;
	bool named = false;

	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(sections[i].section, name) == 0) {
			intro = sections[i].intro;
			named = sections[i].named;
		}
	printf(".SS [%s%s]\n", name, named ? " \\(dqNAME\\(dq" : "");
	if (intro != NULL) {
		text(intro);
		putchar('\n');
	}
	for (const struct config_key *k = config_keys; k->section != NULL; k++)
		if (strcmp(k->section, name) == 0)
			key_entry(k);
}

static const char head[] =
".\\\" Generated by contrib/gen-man-ini from config_keys[] in src/data/config.c.\n"
".\\\" Do not edit: change the key table, then run gen-man-ini.\n"
".TH PLDNS.INI 5 \"\" \"pldns " PACKAGE_VERSION "\" \"File Formats\"\n"
".nh\n"
".SH NAME\n"
"pldns.ini \\- configuration file of pldns\n"
".SH SYNOPSIS\n"
".I /etc/pldns/pldns.ini\n"
".SH DESCRIPTION\n"
".BR pldns (8)\n"
"reads its configuration from an INI file: section headers in brackets,\n"
"then\n"
".IB key \" = \" value\n"
"lines.\n"
"Comments start with\n"
".B ;\n"
"or\n"
".B #\n"
"at the beginning of a line, and with white space and\n"
".B ;\n"
"after a value.\n"
"Names of sections and keys are lower case.\n"
"Lists are separated by commas.\n"
"Relative file names are taken from the directory of the configuration\n"
"file, not from the current directory.\n"
".PP\n"
"pldns checks every key and value against the table below.\n"
"An unknown section or key, a bad value or a missing file is an error\n"
"reported as\n"
".IR file : line : \" message\" ;\n"
"pldns reports every problem, not only the first, and refuses to start\n"
"(exit status 78), or, on a reload, keeps serving the previous\n"
"configuration.\n"
".B pldns check\\-config\n"
"runs the same checks without starting.\n"
".PP\n"
"Addresses are IP addresses, never host names; an IPv6 address followed by\n"
"a port is written in brackets, as in\n"
".BR [2001:db8::53]:5353 .\n"
"Prefixes are written\n"
".IR address / length ;\n"
"a bare address is a /32 or /128.\n"
"Boolean values are\n"
".BR yes ,\n"
".BR true ,\n"
".BR on ,\n"
".B 1\n"
"or\n"
".BR no ,\n"
".BR false ,\n"
".BR off ,\n"
".BR 0 .\n"
".SH SECTIONS AND KEYS\n";

static const char tail[] =
".SH SPLIT HORIZON\n"
"For a name under the public twin of a local zone\n"
"(acct.blob.core.windows.net for privatelink.blob.core.windows.net),\n"
"pldns answers by itself when the zone holds the privatelink name:\n"
"a CNAME to acct.privatelink.blob.core.windows.net and the local address,\n"
"even with every upstream server down.\n"
"Otherwise it forwards the query and cuts the upstream CNAME chain where it\n"
"enters a local zone; a name the zone does not hold is then answered as\n"
".B missing\n"
"says:\n"
".B nxdomain\n"
"with the zone's SOA (what Azure's resolver does for a linked zone), or\n"
".B fallback\n"
"with the public answer (Azure's \\(lqfallback to internet\\(rq).\n"
".SH EXAMPLES\n"
"Serve the portal's DNS settings file, forward the rest to two resolvers\n"
"and one domain to the domain controllers:\n"
".PP\n"
".RS 4\n"
".nf\n"
"[server]\n"
"listen = 10.0.0.53, 127.0.0.1\n"
"\n"
"[upstream]\n"
"servers = 192.0.2.1, 192.0.2.2\n"
"\n"
"[forward \"corp.example.com\"]\n"
"servers = 10.0.0.10, 10.0.0.11\n"
"\n"
"[records]\n"
"sources = dns\\-settings.csv, json:private\\-endpoints.json\n"
"missing = nxdomain\n"
"\n"
"[zone \"privatelink.database.windows.net\"]\n"
"file = privatelink.database.windows.net.zone\n"
"\n"
"[control]\n"
"listen = 127.0.0.1:8053\n"
"token_file = /etc/pldns/control.token\n"
".fi\n"
".RE\n"
".SH FILES\n"
".TP\n"
".I /etc/pldns/pldns.ini\n"
"The configuration file that\n"
".B pldns serve\n"
"and the other commands read when no\n"
".B \\-c\n"
"is given.\n"
".SH SEE ALSO\n"
".BR pldns (8),\n"
".BR resolv.conf (5)\n";

int
main(void)
{
	const char *seen[64];
	size_t nseen = 0;

	fputs(head, stdout);
	for (const struct config_key *k = config_keys; k->section != NULL; k++) {
		bool done = false;

		for (size_t i = 0; i < nseen; i++)
			done |= strcmp(seen[i], k->section) == 0;
		if (done || nseen == sizeof(seen) / sizeof(seen[0]))
			continue;
		seen[nseen++] = k->section;
		section(k->section);
	}
	fputs(tail, stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}
