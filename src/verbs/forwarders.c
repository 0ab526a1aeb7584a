/*
 * forwarders: "pldns forwarders", conditional forwarders for the site's DNS
 * servers (Windows DNS, BIND, Unbound, dnsmasq, CoreDNS) pointing the zones
 * pldns answers at pldns.
 *
 * The zones are the public twins of every zone loaded (the Azure table's
 * twins with their {region} filled in by the zones actually present, plus
 * [zone] twin =), because clients ask for the public names: pldns answers
 * acct.blob.core.windows.net itself (CNAME into privatelink, then the private
 * address), even without internet access, while a forwarder for the
 * privatelink zone alone leaves the public name to the internet, which gives
 * the public address.  A loaded zone that is not below one of those twins is
 * listed too (a CNAME target a site resolver may look up on its own).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "util/addr.h"
#include "data/config.h"
#include "data/records.h"
#include "data/records_load.h"
#include "util/util.h"
#include "verbs/verbs.h"

enum fmt { F_WINDOWS, F_BIND, F_UNBOUND, F_DNSMASQ, F_COREDNS };

static const char *const fmt_names[] = {
	"windows", "bind", "unbound", "dnsmasq", "coredns"
};

/* One line, in each format's comment syntax. */
static const char why[] =
    "pldns: forward the public zones, not privatelink.*: clients ask for the "
    "public names, which pldns answers with the private address even "
    "without internet access.";

struct server {
	char ip[64];		/* address without port or brackets */
	int port;
	bool v6;
	bool loopback;
};

/* --windows-scope: the -ReplicationScope value, NULL for none. */
static const char *const scope_names[] = { "none", "domain", "forest" };
static const char *const scope_values[] = { NULL, "Domain", "Forest" };

struct windows_opts {
	const char *scope;	/* -ReplicationScope value or NULL */
	const char *computer;	/* -ComputerName value or NULL */
};

static bool
has_name(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* True when NAME is ZONE or below it (presentation, lower-case). */
static bool
name_under(const char *name, const char *zone)
{
	size_t nl = strlen(name), zl = strlen(zone);

	if (nl == zl)
		return strcmp(name, zone) == 0;
	return nl > zl && name[nl - zl - 1] == '.' && strcmp(name + nl - zl, zone) == 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The zones to forward, sorted, each once (caller frees with strv_free). */
static char **
forward_zones(const struct recset *rs, size_t *count)
{
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;

	for (size_t z = 0; z < rs->nzones; z++)
		for (size_t t = 0; t < rs->zones[z].ntwins; t++)
			if (!has_name(v, n, rs->zones[z].twins[t])) {
				v = xreallocarray(v, n + 2, sizeof(char *));
				v[n++] = xstrdup(rs->zones[z].twins[t]);
				v[n] = NULL;
			}
	for (size_t z = 0; z < rs->nzones; z++) {
		bool covered = false;

		for (size_t t = 0; t < n && !covered; t++)
			covered = name_under(rs->zones[z].name, v[t]);
		if (covered || has_name(v, n, rs->zones[z].name))
			continue;
		v = xreallocarray(v, n + 2, sizeof(char *));
		v[n++] = xstrdup(rs->zones[z].name);
		v[n] = NULL;
	}
	qsort(v, n, sizeof(char *), name_cmp);
	*count = n;
	return v;
}

static int
parse_servers(const char *list, struct server **out, size_t *nout)
{
	size_t n = 0;
	char **v = strv_split(list, ",", &n);
	struct server *s;

	if (n == 0) {
		strv_free(v);
		fprintf(stderr, "pldns: forwarders: --server: no address given\n");
		return -1;
	}
	s = xcalloc(n, sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		struct pl_addr a;
		const char *err = NULL;
		char buf[64];
		char *colon;

		if (addr_parse(v[i], 53, &a, &err) == -1) {
			fprintf(stderr, "pldns: forwarders: --server %s: %s\n", v[i], err);
			strv_free(v);
			free(s);
			return -1;
		}
		addr_str(&a, buf, sizeof(buf));
		s[i].port = addr_port(&a);
		s[i].v6 = a.ss.ss_family == AF_INET6;
		s[i].loopback = addr_is_loopback(&a);
		/* addr_str gives "ip:port" or "[ip]:port". */
		colon = strrchr(buf, ':');
		*colon = '\0';
		if (s[i].v6) {
			colon[-1] = '\0';
			pl_strlcpy(s[i].ip, buf + 1, sizeof(s[i].ip));
		} else {
			pl_strlcpy(s[i].ip, buf, sizeof(s[i].ip));
		}
	}
	strv_free(v);
	*out = s;
	*nout = n;
	return 0;
}

/*
 * One statement per zone that creates the forwarder or, when the zone is
 * there already (a second run, new addresses), sets its servers, so that
 * the script can be run again.  Set- takes -MasterServers or
 * -ReplicationScope, not both: an existing forwarder keeps its scope.
 */
static void
print_windows(char **zones, size_t nz, const struct server *s, size_t ns,
    const struct windows_opts *wo)
{
	char cn[300] = "", *list = xstrdup(""), *t;

	for (size_t i = 0; i < ns; i++) {
		xasprintf(&t, "%s%s%s", list, i ? "," : "", s[i].ip);
		free(list);
		list = t;
	}
	if (wo->computer != NULL)
		snprintf(cn, sizeof(cn), " -ComputerName \"%s\"", wo->computer);
	printf("# %s\n", why);
	printf("# Safe to run again: an existing forwarder gets these servers.\n");
	if (wo->scope == NULL)
		printf("# Kept by this DNS server alone (no -ReplicationScope), which works on "
		    "any Windows DNS server; pldns forwarders --windows-scope domain|forest "
		    "stores them in Active Directory instead.\n");
	for (size_t z = 0; z < nz; z++) {
		printf("if (Get-DnsServerZone -Name \"%s\"%s -ErrorAction SilentlyContinue) "
		    "{ Set-DnsServerConditionalForwarderZone -Name \"%s\"%s -MasterServers %s } "
		    "else { Add-DnsServerConditionalForwarderZone -Name \"%s\"%s "
		    "-MasterServers %s", zones[z], cn, zones[z], cn, list, zones[z], cn, list);
		if (wo->scope != NULL)
			printf(" -ReplicationScope %s", wo->scope);
		printf(" }\n");
	}
	free(list);
}

static void
print_bind(char **zones, size_t nz, const struct server *s, size_t ns)
{
	printf("// %s\n", why);
	for (size_t z = 0; z < nz; z++) {
		printf("zone \"%s\" { type forward; forward only; forwarders { ",
		    zones[z]);
		for (size_t i = 0; i < ns; i++) {
			if (s[i].port != 53)
				printf("%s port %d; ", s[i].ip, s[i].port);
			else
				printf("%s; ", s[i].ip);
		}
		printf("}; };\n");
	}
}

/*
 * private-domain: the answers are private addresses, which an Unbound
 * hardened with private-address: would otherwise remove (RFC 1918 ranges
 * are the usual list).  It lives in the server: clause, which may be given
 * again in an included file.
 */
static void
print_unbound(char **zones, size_t nz, const struct server *s, size_t ns)
{
	bool loopback = false;

	for (size_t i = 0; i < ns; i++)
		loopback = loopback || s[i].loopback;
	printf("# %s\n", why);
	printf("# private-domain: the answers are private addresses, which "
	    "private-address: would remove.\n");
	printf("server:\n");
	if (loopback)
		printf("\t# pldns on this host: Unbound does not query loopback "
		    "addresses unless told.\n\tdo-not-query-localhost: no\n");
	for (size_t z = 0; z < nz; z++)
		printf("\tprivate-domain: \"%s.\"\n", zones[z]);
	for (size_t z = 0; z < nz; z++) {
		printf("forward-zone:\n\tname: \"%s.\"\n", zones[z]);
		for (size_t i = 0; i < ns; i++) {
			if (s[i].port != 53)
				printf("\tforward-addr: %s@%d\n", s[i].ip, s[i].port);
			else
				printf("\tforward-addr: %s\n", s[i].ip);
		}
	}
}

/* rebind-domain-ok: the answers are private addresses, which
 * stop-dns-rebind would refuse. */
static void
print_dnsmasq(char **zones, size_t nz, const struct server *s, size_t ns)
{
	printf("# %s\n", why);
	printf("# rebind-domain-ok: the answers are private addresses, which "
	    "stop-dns-rebind would refuse.\n");
	for (size_t z = 0; z < nz; z++) {
		for (size_t i = 0; i < ns; i++) {
			if (s[i].port != 53)
				printf("server=/%s/%s#%d\n", zones[z], s[i].ip, s[i].port);
			else
				printf("server=/%s/%s\n", zones[z], s[i].ip);
		}
		printf("rebind-domain-ok=/%s/\n", zones[z]);
	}
}

static void
print_coredns(char **zones, size_t nz, const struct server *s, size_t ns)
{
	printf("# %s\n", why);
	for (size_t z = 0; z < nz; z++)
		printf("%s%s", zones[z], z + 1 < nz ? " " : " {\n");
	printf("    forward .");
	for (size_t i = 0; i < ns; i++) {
		if (s[i].port == 53)
			printf(" %s", s[i].ip);
		else if (s[i].v6)
			printf(" [%s]:%d", s[i].ip, s[i].port);
		else
			printf(" %s:%d", s[i].ip, s[i].port);
	}
	printf("\n}\n");
}

/* A -ComputerName that PowerShell takes as one word inside double quotes:
 * a host name or an address, nothing that could end the string. */
static bool
computer_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-_:") == n;
}

/* Checks --windows-scope SCOPE and --windows-computer into WO; -1 after a
 * message when they are wrong or given for another format. */
static int
windows_options(int f, const char *scope, struct windows_opts *wo)
{
	if (f != F_WINDOWS && (scope != NULL || wo->computer != NULL)) {
		fprintf(stderr, "pldns: forwarders: --windows-scope and "
		    "--windows-computer go with --format windows\n");
		return -1;
	}
	if (scope != NULL) {
		size_t i;

		for (i = 0; i < nitems(scope_names); i++)
			if (strcmp(scope, scope_names[i]) == 0)
				break;
		if (i == nitems(scope_names)) {
			fprintf(stderr, "pldns: forwarders: unknown --windows-scope "
			    "\"%s\" (none, domain or forest)\n", scope);
			return -1;
		}
		wo->scope = scope_values[i];
	}
	if (wo->computer != NULL && !computer_ok(wo->computer)) {
		fprintf(stderr, "pldns: forwarders: --windows-computer \"%s\": not "
		    "a host name or address\n", wo->computer);
		return -1;
	}
	return 0;
}

static int
forwarders_run(struct verb_args *a)
{
	struct windows_opts wo = { NULL, verb_get(a, 'C', NULL) };
	const char *scope = verb_get(a, 'S', NULL);
	const char *cfgpath = verb_get(a, 'c', VERB_DEFAULT_CONFIG);
	const char *servers = verb_get(a, 's', NULL);
	const char *format = verb_get(a, 'f', NULL);
	struct server *srv = NULL;
	struct config *cfg;
	struct recset rs;
	struct diag d;
	char **zones;
	size_t ns = 0, nz = 0;
	int f = -1;

	if (servers == NULL || format == NULL) {
		verb_usage(a->verb, stderr);
		return EX_USAGE;
	}
	for (size_t i = 0; i < nitems(fmt_names); i++)
		if (strcmp(format, fmt_names[i]) == 0)
			f = (int)i;
	if (f == -1)
		return verb_error(a->verb, false, "unknown format \"%s\" "
		    "(windows, bind, unbound, dnsmasq or coredns)", format);
	if (windows_options(f, scope, &wo) == -1)
		return EX_USAGE;
	if (parse_servers(servers, &srv, &ns) == -1)
		return EX_USAGE;
	if (f == F_WINDOWS)
		for (size_t i = 0; i < ns; i++)
			if (srv[i].port != 53) {
				fprintf(stderr, "pldns: forwarders: Windows DNS forwards "
				    "to port 53 only; pldns must listen on %s port 53\n",
				    srv[i].ip);
				free(srv);
				return EX_USAGE;
			}

	diag_init(&d);
	if ((cfg = config_load(cfgpath, &d)) == NULL) {
		diag_print(&d, stderr);
		diag_clear(&d);
		free(srv);
		return EX_CONFIG;
	}
	recset_init(&rs);
	if (records_load(cfg, &rs, &d) != 0) {
		diag_print(&d, stderr);
		diag_clear(&d);
		recset_clear(&rs);
		config_free(cfg);
		free(srv);
		return EX_CONFIG;
	}
	diag_clear(&d);
	zones = forward_zones(&rs, &nz);
	recset_clear(&rs);
	config_free(cfg);
	if (nz == 0) {
		fprintf(stderr, "pldns: forwarders: %s loads no zone: there is "
		    "nothing to forward\n", cfgpath);
		strv_free(zones);
		free(srv);
		return EX_DATAERR;
	}
	switch (f) {
	case F_WINDOWS:
		print_windows(zones, nz, srv, ns, &wo);
		break;
	case F_BIND:
		print_bind(zones, nz, srv, ns);
		break;
	case F_UNBOUND:
		print_unbound(zones, nz, srv, ns);
		break;
	case F_DNSMASQ:
		print_dnsmasq(zones, nz, srv, ns);
		break;
	default:
		print_coredns(zones, nz, srv, ns);
		break;
	}
	strv_free(zones);
	free(srv);
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

const struct verb verb_forwarders = {
	.name = "forwarders",
	.usage = "[-c FILE] --server IP[,IP...]\n"
	    "--format windows|bind|unbound|dnsmasq|coredns\n"
	    "[--windows-scope none|domain|forest] [--windows-computer NAME]",
	.help = "print conditional forwarders for the site's DNS servers",
	.text =
"Prints conditional forwarders that send the public zones pldns answers\n"
"(blob.core.windows.net, vault.azure.net, ...) to pldns at IP.\n"
"  -c FILE            configuration (default " VERB_DEFAULT_CONFIG ")\n"
"  -s, --server IP    pldns's addresses as the site's DNS servers reach it;\n"
"                     comma-separated, each with an optional :PORT\n"
"  -f, --format F     windows (PowerShell), bind, unbound, dnsmasq or coredns\n"
"  --windows-scope none|domain|forest\n"
"                     none (default): a forwarder of this DNS server alone, on\n"
"                     any Windows DNS server; domain, forest: stored in Active\n"
"                     Directory and replicated (domain controllers only)\n"
"  --windows-computer NAME\n"
"                     the DNS server to change (-ComputerName), default this one\n"
"The Windows script is safe to run again: it updates existing forwarders.\n"
"Exit status: 0 printed, 64 usage, 65 no zone to forward, 78 configuration error.\n",
	.opts = (const struct verb_opt[]){
	    VERB_OPT_CONFIG, VERB_OPT_SERVER, { 'f', "format", VERB_ARG },
	    { 'S', "windows-scope", VERB_ARG | VERB_LONG },
	    { 'C', "windows-computer", VERB_ARG | VERB_LONG }, VERB_OPT_END },
	.lower = 0, .upper = 0,
	.run = forwarders_run,
};
