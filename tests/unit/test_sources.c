/*
 * Unit tests for the record sources (sources.c and the CSV, JSON and hosts
 * importers) and for "pldns import".
 *
 * The tests run in tests/data/sources and load fixtures by their plain file
 * names, so that every message reads "file.csv:LINE: ..." as an operator
 * sees it.  Every malformed input asserts the whole text of every message.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data/config.h"
#include "util/diag.h"
#include "verbs/import.h"
#include "data/records.h"
#include "data/records_load.h"
#include "data/sources.h"
#include "util/util.h"
#include "wire/wire.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

#define EXAMPLE_CSV	"../../../zones/example-dns-settings.csv"

/* Message tails shared by many cases. */
#define NAME_COLS	"name columns: FQDN, Fully Qualified Domain Name, Domain " \
	"Name, DNS Name, Name, Record Name, Record, Host Name, Hostname"
#define ADDR_COLS	"address columns: IP, IP Address, IP Addresses, Private " \
	"IP, Private IP Address, IPv4 Address, IPAddress, Address"
#define NOT_PRIVATE	" is not private (private endpoints use 10/8, 172.16/12, " \
	"192.168/16, 100.64/10 or fc00::/7; allow_public = yes accepts it)"
#define OUTSIDE		" is outside every known privatelink zone (add a [zone] " \
	"section for its zone, or set strict = no to skip such names)"
#define EMPTY_TAIL	" (an empty source is an error unless [records] " \
	"allow_empty = yes)"
#define ONE_ADDR(z)	"; a private endpoint name has one address (multi = yes " \
	"in [zone \"" z "\"] allows several)"

static char oldcwd[PATH_MAX];
static char tmpdir[PATH_MAX];

/* ---- helpers ---- */

static struct config *
cfg_new(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->record_ttl = 10;
	cfg->strict = true;
	cfg->allow_public = false;
	cfg->missing = MISSING_NXDOMAIN;
	cfg->dir = xstrdup(".");
	return cfg;
}

static void
cfg_zone(struct config *cfg, const char *name, int multi, const char *file,
    const char *twin)
{
	struct zone_conf *zc;

	cfg->zones = xreallocarray(cfg->zones, cfg->nzones + 1, sizeof(*cfg->zones));
	zc = &cfg->zones[cfg->nzones++];
	memset(zc, 0, sizeof(*zc));
	zc->name = xstrdup(name);
	zc->file = file ? xstrdup(file) : NULL;
	zc->missing = -1;
	zc->multi = multi;
	zc->where = xstrdup("test.ini:1");
	if (twin != NULL) {
		zc->twins = xcalloc(2, sizeof(char *));
		zc->twins[0] = xstrdup(twin);
		zc->ntwins = 1;
	}
}

static void
cfg_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nzones; i++) {
		free(cfg->zones[i].name);
		free(cfg->zones[i].file);
		free(cfg->zones[i].where);
		strv_free(cfg->zones[i].twins);
	}
	free(cfg->zones);
	free(cfg->dir);
	free(cfg);
}

/*
 * Loads SPECS (NULL-terminated) into RS as records_load() would: each source,
 * then the cross-source checks when every source loaded.  Returns the joined
 * messages (caller frees; NULL when none); *RC gets 0 or -1.
 */
static char *
load_v(struct config *cfg, struct recset *rs, int *rc, const char *const *specs)
{
	struct diag d;
	char *msgs;

	diag_init(&d);
	*rc = 0;
	for (size_t i = 0; specs[i] != NULL; i++)
		if (source_load(cfg, specs[i], rs, &d) != 0)
			*rc = -1;
	if (*rc == 0 && sources_finish(cfg, rs, &d) != 0)
		*rc = -1;
	msgs = diag_join(&d);
	diag_clear(&d);
	return msgs;
}

/* Loads one source with the default config; asserts it loads cleanly. */
static void
load_ok(struct recset *rs, const char *spec)
{
	struct config *cfg = cfg_new();
	const char *specs[] = { spec, NULL };
	int rc;
	char *m;

	recset_init(rs);
	m = load_v(cfg, rs, &rc, specs);
	if (rc != 0 || m != NULL)
		fail_msg("%s: rc %d: %s", spec, rc, m ? m : "");
	cfg_free(cfg);
}

/* The record NAME/ADDR, or NULL. */
static const struct rec *
find(const struct recset *rs, const char *name, const char *addr)
{
	uint8_t owner[WIRE_NAME_MAX], a[16];
	const char *err;
	uint16_t type = TYPE_A, len = 4;

	assert_true(wire_name_from_str(name, owner, &err) > 0);
	if (inet_pton(AF_INET, addr, a) != 1) {
		assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
		type = TYPE_AAAA;
		len = 16;
	}
	for (size_t i = 0; i < rs->nrecs; i++) {
		const struct rec *r = &rs->recs[i];
		if (r->type == type && r->rdlen == len && memcmp(r->rdata, a, len) == 0 &&
		    wire_name_equal(r->owner, owner))
			return r;
	}
	return NULL;
}

/* Asserts record NAME/ADDR exists in ZONE with TTL and origin WHERE. */
static void
expect(const struct recset *rs, const char *name, const char *addr,
    const char *zone, uint32_t ttl, const char *where)
{
	const struct rec *r = find(rs, name, addr);

	if (r == NULL)
		fail_msg("no record %s %s", name, addr);
	assert_string_equal(rs->zones[r->zone].name, zone);
	assert_int_equal(r->ttl, ttl);
	if (where != NULL) {
		char buf[4096];
		assert_non_null(recset_where(r, buf, sizeof(buf)));
		assert_string_equal(buf, where);
	}
}

/* Loads SPEC with CFG and asserts the exact messages and rc. */
static void
expect_msgs(struct config *cfg, const char *spec, int want_rc, const char *want)
{
	const char *specs[] = { spec, NULL };
	struct recset rs;
	int rc;
	char *m;

	recset_init(&rs);
	m = load_v(cfg, &rs, &rc, specs);
	if (m == NULL || strcmp(m, want) != 0)
		fail_msg("%s:\n got: %s\nwant: %s", spec, m ? m : "(none)", want);
	assert_int_equal(rc, want_rc);
	if (want_rc != 0) {
		/* Taken whole or not at all: not even its zones. */
		assert_int_equal(rs.nrecs, 0);
		assert_int_equal(rs.nzones, 0);
	}
	free(m);
	recset_clear(&rs);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
group_setup(void **state)
{
	(void)state;
	if (getcwd(oldcwd, sizeof(oldcwd)) == NULL)
		return -1;
	return chdir(TEST_DATA_DIR "/sources");
}

static int
group_teardown(void **state)
{
	(void)state;
	return chdir(oldcwd);
}

static int
tmp_setup(void **state)
{
	char tmpl[] = "/tmp/pldns-test-sources.XXXXXX";

	(void)state;
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, tmpdir) == NULL)
		return -1;
	return 0;
}

static int
tmp_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
tmp_path(const char *name)
{
	char *p;

	xasprintf(&p, "%s/%s", tmpdir, name);
	return p;
}

/* ---- CSV ---- */

static void
test_csv_portal_example(void **state)
{
	struct recset rs;
	const char *w = EXAMPLE_CSV;

	(void)state;
	load_ok(&rs, w);
	assert_int_equal(rs.nrecs, 10);
	assert_int_equal(rs.nzones, 4);
	expect(&rs, "7f3a9c2e41d84b0fa6e5c1d2b3a49f80-agent.eus.disc.privatelink.prod.migration.windowsazure.com",
	    "10.10.1.4", "privatelink.prod.migration.windowsazure.com", 10, EXAMPLE_CSV ":2");
	expect(&rs, "7f3a9c2e41d84b0fa6e5c1d2b3a49f80-agent.eus.hub.privatelink.prod.migration.windowsazure.com",
	    "10.10.1.6", "privatelink.prod.migration.windowsazure.com", 10, NULL);
	expect(&rs, "3456789012345678901-asr-pod01-id1-.eus.privatelink.siterecovery.windowsazure.com",
	    "10.10.1.7", "privatelink.siterecovery.windowsazure.com", 10, EXAMPLE_CSV ":5");
	expect(&rs, "3456789012345678901-asr-pod01-tel1-.eus.privatelink.siterecovery.windowsazure.com",
	    "10.10.1.11", "privatelink.siterecovery.windowsazure.com", 10, NULL);
	/* Public names stored under their privatelink names. */
	expect(&rs, "mig-kv-7f3a.privatelink.vaultcore.azure.net", "10.10.1.12",
	    "privatelink.vaultcore.azure.net", 10, EXAMPLE_CSV ":10");
	expect(&rs, "migstorage7f3ausa.privatelink.blob.core.windows.net", "10.10.1.13",
	    "privatelink.blob.core.windows.net", 10, EXAMPLE_CSV ":11");
	/* The zones carry their public twins. */
	for (size_t i = 0; i < rs.nzones; i++)
		if (strcmp(rs.zones[i].name, "privatelink.vaultcore.azure.net") == 0) {
			assert_int_equal(rs.zones[i].ntwins, 2);
			assert_string_equal(rs.zones[i].twins[0], "vault.azure.net");
		}
	recset_clear(&rs);
}

static void
test_csv_semicolon_bom_crlf(void **state)
{
	struct recset rs;

	(void)state;
	load_ok(&rs, "semicolon-bom-crlf.csv");
	assert_int_equal(rs.nrecs, 2);
	expect(&rs, "acct1.privatelink.blob.core.windows.net", "10.1.0.4",
	    "privatelink.blob.core.windows.net", 300, "semicolon-bom-crlf.csv:2");
	/* Upper case, stray spaces, a blank line before it, an empty TTL. */
	expect(&rs, "acct2.privatelink.blob.core.windows.net", "10.1.0.5",
	    "privatelink.blob.core.windows.net", 10, "semicolon-bom-crlf.csv:4");
	recset_clear(&rs);
}

static void
test_csv_tab(void **state)
{
	struct recset rs;

	(void)state;
	load_ok(&rs, "tab.csv");
	assert_int_equal(rs.nrecs, 2);
	expect(&rs, "db1.privatelink.postgres.database.azure.com", "10.1.1.4",
	    "privatelink.postgres.database.azure.com", 10, "tab.csv:2");
	expect(&rs, "db2.privatelink.postgres.database.azure.com", "10.1.1.5",
	    "privatelink.postgres.database.azure.com", 10, "tab.csv:3");
	recset_clear(&rs);
}

static void
test_csv_quoted(void **state)
{
	struct recset rs;

	(void)state;
	load_ok(&rs, "quoted.csv");
	assert_int_equal(rs.nrecs, 7);
	/* A name relative to the zone column. */
	expect(&rs, "kv1.privatelink.vaultcore.azure.net", "10.2.0.4",
	    "privatelink.vaultcore.azure.net", 10, "quoted.csv:2");
	/* "@" and two addresses in one cell (one entry: not a conflict). */
	expect(&rs, "privatelink.azconfig.io", "10.2.0.5", "privatelink.azconfig.io", 10,
	    "quoted.csv:3");
	expect(&rs, "privatelink.azconfig.io", "10.2.0.6", "privatelink.azconfig.io", 10,
	    "quoted.csv:3");
	/* Space and comma separated addresses; a zone with a trailing dot. */
	expect(&rs, "web1.privatelink.azurewebsites.net", "10.2.0.7",
	    "privatelink.azurewebsites.net", 10, "quoted.csv:4");
	expect(&rs, "web1.privatelink.azurewebsites.net", "10.2.0.8",
	    "privatelink.azurewebsites.net", 10, NULL);
	expect(&rs, "web1.privatelink.azurewebsites.net", "10.2.0.9",
	    "privatelink.azurewebsites.net", 10, NULL);
	/* The row after a three-line quoted field starts on line 7. */
	expect(&rs, "sa2.privatelink.file.core.windows.net", "10.2.0.10",
	    "privatelink.file.core.windows.net", 10, "quoted.csv:7");
	recset_clear(&rs);
}

static void
test_csv_ipv6(void **state)
{
	struct recset rs;

	(void)state;
	load_ok(&rs, "ipv6.csv");
	assert_int_equal(rs.nrecs, 3);
	expect(&rs, "v6acct.privatelink.blob.core.windows.net", "fd00:10::4",
	    "privatelink.blob.core.windows.net", 10, "ipv6.csv:2");
	expect(&rs, "v4v6.privatelink.blob.core.windows.net", "10.1.2.4",
	    "privatelink.blob.core.windows.net", 10, "ipv6.csv:3");
	expect(&rs, "v4v6.privatelink.blob.core.windows.net", "fd00:10::5",
	    "privatelink.blob.core.windows.net", 10, "ipv6.csv:3");
	assert_int_equal(find(&rs, "v6acct.privatelink.blob.core.windows.net",
	    "fd00:10::4")->type, TYPE_AAAA);
	recset_clear(&rs);
}

static void
test_csv_sep_titles_dups(void **state)
{
	struct recset rs;

	(void)state;
	/* Excel's "sep=;" line. */
	load_ok(&rs, "sep.csv");
	assert_int_equal(rs.nrecs, 1);
	expect(&rs, "q1.privatelink.queue.core.windows.net", "10.3.0.4",
	    "privatelink.queue.core.windows.net", 10, "sep.csv:3");
	recset_clear(&rs);

	/* "Record_Name", "IP-Address": case, '_' and '-' ignored; other
	 * columns ignored. */
	load_ok(&rs, "titles.csv");
	assert_int_equal(rs.nrecs, 1);
	expect(&rs, "kv2.privatelink.vaultcore.azure.net", "10.3.1.4",
	    "privatelink.vaultcore.azure.net", 10, "titles.csv:2");
	recset_clear(&rs);

	/* The same name and address four times, as public and private name,
	 * in any case, with a trailing dot: one record. */
	load_ok(&rs, "dups.csv");
	assert_int_equal(rs.nrecs, 1);
	expect(&rs, "acct3.privatelink.blob.core.windows.net", "10.4.0.4",
	    "privatelink.blob.core.windows.net", 10, "dups.csv:2");
	recset_clear(&rs);
}

static void
test_csv_header_only(void **state)
{
	struct config *cfg = cfg_new();

	(void)state;
	/* An empty export, an interrupted download or a truncated file: an
	 * error, or every name of its zones would vanish. */
	expect_msgs(cfg, "headeronly.csv", -1, "headeronly.csv:1: no records found"
	    EMPTY_TAIL);
	/* allow_empty = yes accepts it, with a warning. */
	cfg->allow_empty = true;
	expect_msgs(cfg, "headeronly.csv", 0, "headeronly.csv: warning: no records found");
	cfg_free(cfg);
}

/* Through records_load, an empty source goes to the diag given for it (a
 * reload holds on it) instead of failing the load. */
static void
test_empty_source_held(void **state)
{
	struct config *cfg = cfg_new();
	struct recset rs;
	struct diag d, empty;
	char *m;

	(void)state;
	cfg->sources = xcalloc(3, sizeof(char *));
	cfg->sources[0] = xstrdup("tab.csv");
	cfg->sources[1] = xstrdup("headeronly.csv");
	cfg->nsources = 2;
	recset_init(&rs);
	diag_init(&d);
	diag_init(&empty);
	assert_int_equal(records_load_held(cfg, &rs, &d, &empty), 0);
	assert_int_equal(d.n, 0);
	m = diag_join(&empty);
	assert_string_equal(m, "headeronly.csv:1: no records found" EMPTY_TAIL);
	free(m);
	assert_true(rs.nrecs > 0);
	recset_clear(&rs);
	diag_clear(&empty);

	/* Without a diag for them they are errors. */
	recset_init(&rs);
	assert_int_equal(records_load(cfg, &rs, &d), -1);
	m = diag_join(&d);
	assert_string_equal(m, "headeronly.csv:1: no records found" EMPTY_TAIL);
	free(m);
	recset_clear(&rs);
	diag_clear(&d);
	strv_free(cfg->sources);
	cfg->sources = NULL;
	cfg->nsources = 0;
	cfg_free(cfg);
}

/*
 * Lines without a quote are split without libcsv.  The same rows with every
 * field quoted (which only libcsv reads) must give the same records, with
 * the same lines, and the same messages.
 */
struct fast_case {
	char delim;
	const char *eol;
	const char *rows[16];		/* fields separated by '|'; NULL ends */
	const char *msgs;		/* what the unquoted file gives ("@": its path) */
};

static const struct fast_case fast_cases[] = {
	{ ',', "\r\n", {
	    "FQDN | IP Address |TTL|Zone",
	    "kv1|10.0.0.1||privatelink.vaultcore.azure.net",
	    "",
	    " st1.blob.core.windows.net \t| 10.0.0.2 ||",
	    "st2.blob.core.windows.net|10.0.0.4;10.0.0.5|60|",
	    "   ",
	    "|||",
	    "st3.privatelink.blob.core.windows.net|10.0.0.6||",
	    NULL }, NULL },
	{ ';', "\n", {
	    "Name | IP",
	    "kv2.vault.azure.net| 10.0.0.1, 10.0.0.2 |extra",
	    "kv3.vault.azure.net|10.0.0.3|",
	    NULL }, NULL },
	{ '\t', "\n", {
	    "Name|IP Address",
	    "  kv4.vault.azure.net  | 10.0.0.4 10.0.0.5 ",
	    NULL }, NULL },
	{ ',', "\n", {
	    "FQDN|IP Address|TTL",
	    "st1.blob.core.windows.net|10.0.0.1|",
	    "st1.privatelink.blob.core.windows.net|10.0.0.3|",
	    "st3.blob.core.windows.net|bad|",
	    "st4.blob.core.windows.net|10.0.0.6|x",
	    "|10.0.0.7|",
	    "www.example.com|10.0.0.8|",
	    "st5.blob.core.windows.net|8.8.8.8|",
	    "st6.blob.core.windows.net||",
	    NULL },
	    "@:3: st1.privatelink.blob.core.windows.net has address 10.0.0.3 "
	    "here and 10.0.0.1 at @:2; a private endpoint name has one address "
	    "(multi = yes in [zone \"privatelink.blob.core.windows.net\"] allows "
	    "several)\n"
	    "@:4: bad address \"bad\" for st3.blob.core.windows.net\n"
	    "@:5: bad TTL \"x\" (0 to 2147483647 seconds)\n"
	    "@:6: missing name\n"
	    "@:7: www.example.com is outside every known privatelink zone (add "
	    "a [zone] section for its zone, or set strict = no to skip such "
	    "names)\n"
	    "@:8: address 8.8.8.8 of st5.blob.core.windows.net is not private "
	    "(private endpoints use 10/8, 172.16/12, 192.168/16, 100.64/10 or "
	    "fc00::/7; allow_public = yes accepts it)\n"
	    "@:9: missing address for st6.blob.core.windows.net" },
};

/* Writes the rows of C, every field quoted when QUOTE. */
static void
fast_write(const char *path, const struct fast_case *c, bool quote, bool last_eol)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (size_t i = 0; c->rows[i] != NULL; i++) {
		const char *r = c->rows[i];
		bool blank = strspn(r, " ") == strlen(r);

		if (!blank && quote)
			fputc('"', f);
		for (; *r != '\0'; r++) {
			if (*r != '|')
				fputc(*r, f);
			else if (quote)
				fprintf(f, "\"%c\"", c->delim);
			else
				fputc(c->delim, f);
		}
		if (!blank && quote)
			fputc('"', f);
		if (c->rows[i + 1] != NULL || last_eol)
			fputs(c->eol, f);
	}
	assert_int_equal(fclose(f), 0);
}

/* MSGS with every '@' replaced by PATH (caller frees). */
static char *
fast_msgs(const char *msgs, const char *path)
{
	size_t n = 0, pl = strlen(path);
	char *out, *o;

	for (const char *p = msgs; *p != '\0'; p++)
		n += *p == '@' ? pl : 1;
	o = out = xmalloc(n + 1);
	for (const char *p = msgs; *p != '\0'; p++) {
		if (*p == '@') {
			memcpy(o, path, pl);
			o += pl;
		} else
			*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* Loads PATH; the messages (caller frees) and the records in RS. */
static char *
fast_load(const char *path, struct recset *rs, int *rc)
{
	struct config *cfg = cfg_new();
	const char *specs[] = { path, NULL };
	char *m;

	recset_init(rs);
	m = load_v(cfg, rs, rc, specs);
	cfg_free(cfg);
	return m;
}

static void
test_csv_fast_path(void **state)
{
	char *path = tmp_path("fast.csv");

	(void)state;
	for (size_t i = 0; i < nitems(fast_cases); i++) {
		for (int eol = 0; eol < 2; eol++) {
			const struct fast_case *c = &fast_cases[i];
			struct recset a, b;
			char *ma, *mb;
			int rca, rcb;

			fast_write(path, c, false, eol);
			ma = fast_load(path, &a, &rca);
			fast_write(path, c, true, eol);
			mb = fast_load(path, &b, &rcb);
			if ((ma == NULL) != (mb == NULL) ||
			    (ma != NULL && strcmp(ma, mb) != 0))
				fail_msg("case %zu: unquoted:\n%s\nquoted:\n%s", i,
				    ma ? ma : "(none)", mb ? mb : "(none)");
			assert_int_equal(rca, rcb);
			if (c->msgs != NULL) {
				char *want = fast_msgs(c->msgs, path);
				assert_non_null(ma);
				assert_string_equal(ma, want);
				free(want);
			} else {
				assert_null(ma);
				assert_true(a.nrecs > 0);
			}
			assert_int_equal(a.nrecs, b.nrecs);
			assert_int_equal(a.nzones, b.nzones);
			for (size_t k = 0; k < a.nrecs; k++) {
				const struct rec *x = &a.recs[k], *y = &b.recs[k];
				assert_true(wire_name_equal(x->owner, y->owner));
				assert_int_equal(x->type, y->type);
				assert_int_equal(x->ttl, y->ttl);
				assert_int_equal(x->line, y->line);
				assert_int_equal(x->rdlen, y->rdlen);
				assert_memory_equal(x->rdata, y->rdata, x->rdlen);
				assert_string_equal(a.zones[x->zone].name,
				    b.zones[y->zone].name);
			}
			free(ma);
			free(mb);
			recset_clear(&a);
			recset_clear(&b);
		}
	}
	free(path);
}

/*
 * After a line libcsv had to read, the next ones go back to the fast path
 * only once no quoted field is open: a carriage return inside a line ends a
 * row there, and what follows it may open a quoted field.
 */
static void
test_csv_fast_path_resumes(void **state)
{
	char *path = tmp_path("resume.csv");
	struct recset rs;
	char *m;
	int rc;

	(void)state;
	write_file(path, "FQDN,IP Address\n"
	    "kv1.vault.azure.net,10.0.0.1\r\"kv2.vault.azure.net\",\"10.0.0.2\n"
	    "10.0.0.3\n"
	    "10.0.0.9\"\n"
	    "kv4.vault.azure.net,10.0.0.4\n"
	    "\"kv5.vault.azure.net\",\"10.0.0.5\"\n"
	    "kv6.vault.azure.net,10.0.0.6\n");
	m = fast_load(path, &rs, &rc);
	if (m != NULL)
		fail_msg("%s", m);
	assert_int_equal(rc, 0);
	assert_int_equal(rs.nrecs, 7);
	expect(&rs, "kv1.privatelink.vaultcore.azure.net", "10.0.0.1",
	    "privatelink.vaultcore.azure.net", 10, NULL);
	/* The address cell spans lines: "10.0.0.2\n10.0.0.3\n10.0.0.9", the
	 * middle one without a quote of its own. */
	expect(&rs, "kv2.privatelink.vaultcore.azure.net", "10.0.0.2",
	    "privatelink.vaultcore.azure.net", 10, NULL);
	expect(&rs, "kv2.privatelink.vaultcore.azure.net", "10.0.0.3",
	    "privatelink.vaultcore.azure.net", 10, NULL);
	expect(&rs, "kv2.privatelink.vaultcore.azure.net", "10.0.0.9",
	    "privatelink.vaultcore.azure.net", 10, NULL);
	expect(&rs, "kv4.privatelink.vaultcore.azure.net", "10.0.0.4",
	    "privatelink.vaultcore.azure.net", 10, NULL);
	expect(&rs, "kv5.privatelink.vaultcore.azure.net", "10.0.0.5",
	    "privatelink.vaultcore.azure.net", 10, NULL);
	expect(&rs, "kv6.privatelink.vaultcore.azure.net", "10.0.0.6",
	    "privatelink.vaultcore.azure.net", 10, NULL);
	recset_clear(&rs);
	free(path);
}

/* ---- JSON ---- */

static void
test_json_private_endpoints(void **state)
{
	struct recset rs;

	(void)state;
	/* az network private-endpoint show: flattened, one object; the same
	 * name twice is merged. */
	load_ok(&rs, "pe-show-cli.json");
	assert_int_equal(rs.nrecs, 1);
	expect(&rs, "pe1acct.privatelink.blob.core.windows.net", "10.5.0.4",
	    "privatelink.blob.core.windows.net", 10, "pe-show-cli.json: $.customDnsConfigs[0]");
	recset_clear(&rs);

	/* az network private-endpoint list: an array, one with no configs. */
	load_ok(&rs, "pe-list-cli.json");
	assert_int_equal(rs.nrecs, 3);
	expect(&rs, "mig-kv-1.privatelink.vaultcore.azure.net", "10.5.1.4",
	    "privatelink.vaultcore.azure.net", 10, "pe-list-cli.json: $[0].customDnsConfigs[0]");
	expect(&rs, "sql1-ro.privatelink.database.windows.net", "10.5.1.6",
	    "privatelink.database.windows.net", 10, "pe-list-cli.json: $[2].customDnsConfigs[1]");
	recset_clear(&rs);

	/* REST GET: under properties. */
	load_ok(&rs, "pe-get-rest.json");
	assert_int_equal(rs.nrecs, 2);
	expect(&rs, "restacct-secondary.privatelink.file.core.windows.net", "192.168.0.7",
	    "privatelink.file.core.windows.net", 10,
	    "pe-get-rest.json: $.properties.customDnsConfigs[1]");
	recset_clear(&rs);

	/* REST list page: {"value": [...], "nextLink": ...}. */
	load_ok(&rs, "pe-list-rest.json");
	assert_int_equal(rs.nrecs, 1);
	expect(&rs, "ns1.privatelink.servicebus.windows.net", "10.5.2.4",
	    "privatelink.servicebus.windows.net", 10,
	    "pe-list-rest.json: $.value[0].properties.customDnsConfigs[0]");
	recset_clear(&rs);

	/* PowerShell Get-AzPrivateEndpoint | ConvertTo-Json. */
	load_ok(&rs, "ps-endpoint.json");
	assert_int_equal(rs.nrecs, 1);
	expect(&rs, "pskv.privatelink.vaultcore.azure.net", "10.5.7.4",
	    "privatelink.vaultcore.azure.net", 10, "ps-endpoint.json: $.CustomDnsConfigs[0]");
	recset_clear(&rs);

	/* Windows PowerShell "> file": UTF-16LE with BOM and CRLF. */
	load_ok(&rs, "ps-utf16.json");
	assert_int_equal(rs.nrecs, 1);
	expect(&rs, "utf16acct.privatelink.blob.core.windows.net", "10.5.9.4",
	    "privatelink.blob.core.windows.net", 10, "ps-utf16.json: $.CustomDnsConfigs[0]");
	recset_clear(&rs);

	/* UTF-8 with a BOM (Set-Content -Encoding UTF8). */
	load_ok(&rs, "utf8bom.json");
	expect(&rs, "bomacct.privatelink.queue.core.windows.net", "10.5.9.5",
	    "privatelink.queue.core.windows.net", 10, "utf8bom.json: $.customDnsConfigs[0]");
	recset_clear(&rs);
}

static void
test_json_zone_groups(void **state)
{
	struct recset rs;

	(void)state;
	load_ok(&rs, "zone-group-rest.json");
	assert_int_equal(rs.nrecs, 1);
	expect(&rs, "zgkv.privatelink.vaultcore.azure.net", "10.5.3.4",
	    "privatelink.vaultcore.azure.net", 10,
	    "zone-group-rest.json: $.properties.privateDnsZoneConfigs[0].properties.recordSets[0]");
	recset_clear(&rs);

	/* CLI list; the second record set has only recordSetName: the zone
	 * comes from privateDnsZoneId. */
	load_ok(&rs, "zone-group-cli.json");
	assert_int_equal(rs.nrecs, 2);
	expect(&rs, "zgacct.privatelink.blob.core.windows.net", "10.5.4.4",
	    "privatelink.blob.core.windows.net", 10,
	    "zone-group-cli.json: $[0].privateDnsZoneConfigs[0].recordSets[0]");
	expect(&rs, "zgacct.privatelink.queue.core.windows.net", "10.5.4.5",
	    "privatelink.queue.core.windows.net", 10,
	    "zone-group-cli.json: $[0].privateDnsZoneConfigs[1].recordSets[0]");
	recset_clear(&rs);
}

static void
test_json_record_sets(void **state)
{
	struct config *cfg = cfg_new();
	struct recset rs;

	(void)state;
	/* az network private-dns record-set list: fqdn with a trailing dot,
	 * ttl, two A records in one set, the SOA set skipped silently. */
	load_ok(&rs, "recordset-cli.json");
	assert_int_equal(rs.nrecs, 3);
	expect(&rs, "rs1.privatelink.blob.core.windows.net", "10.5.5.4",
	    "privatelink.blob.core.windows.net", 3600, "recordset-cli.json: $[0]");
	expect(&rs, "rs2.privatelink.blob.core.windows.net", "10.5.5.5",
	    "privatelink.blob.core.windows.net", 10, "recordset-cli.json: $[1]");
	expect(&rs, "rs2.privatelink.blob.core.windows.net", "10.5.5.6",
	    "privatelink.blob.core.windows.net", 10, "recordset-cli.json: $[1]");
	recset_clear(&rs);

	/* REST: properties.{fqdn, ttl, aRecords}; an AAAA set without fqdn
	 * (name + the zone in its id). */
	load_ok(&rs, "recordset-rest.json");
	assert_int_equal(rs.nrecs, 2);
	expect(&rs, "restkv.privatelink.vaultcore.azure.net", "10.5.6.4",
	    "privatelink.vaultcore.azure.net", 3600, "recordset-rest.json: $.value[0]");
	expect(&rs, "restkv6.privatelink.vaultcore.azure.net", "fd00:5:6::4",
	    "privatelink.vaultcore.azure.net", 60, "recordset-rest.json: $.value[1]");
	recset_clear(&rs);

	/* PowerShell Get-AzPrivateDnsRecordSet: Name + ZoneName, Records as
	 * objects or (shallow ConvertTo-Json) strings; SOA silent, CNAME noted. */
	expect_msgs(cfg, "ps-recordset.json", 0, "ps-recordset.json: $[3]: warning: "
	    "CNAME record set skipped (only A and AAAA records are imported)");
	{
		const char *specs[] = { "ps-recordset.json", NULL };
		int rc;
		recset_init(&rs);
		free(load_v(cfg, &rs, &rc, specs));
		assert_int_equal(rs.nrecs, 2);
		expect(&rs, "psrs1.privatelink.vaultcore.azure.net", "10.5.8.4",
		    "privatelink.vaultcore.azure.net", 10, "ps-recordset.json: $[0]");
		expect(&rs, "psrs2.privatelink.vaultcore.azure.net", "10.5.8.5",
		    "privatelink.vaultcore.azure.net", 10, "ps-recordset.json: $[1]");
		recset_clear(&rs);
	}
	/* A set whose records were all deleted is skipped, not an error. */
	expect_msgs(cfg, "recordset-empty.json", 0, "recordset-empty.json: $[0]: "
	    "warning: record set without addresses skipped");

	/* An empty list from az: no private endpoints. */
	expect_msgs(cfg, "empty-list.json", -1, "empty-list.json:1: no records found"
	    EMPTY_TAIL);
	cfg_free(cfg);
}

/* ---- hosts and zone files ---- */

static void
test_hosts(void **state)
{
	struct config *cfg = cfg_new();
	struct recset rs;

	(void)state;
	load_ok(&rs, "appliance.hosts");
	/* localhost, the appliance's own names and a broken line that is not
	 * ours are skipped without a word. */
	assert_int_equal(rs.nrecs, 3);
	expect(&rs, "7f3a9c2e41d84b0fa6e5c1d2b3a49f80-agent.eus.disc.privatelink.prod.migration.windowsazure.com",
	    "10.10.1.4", "privatelink.prod.migration.windowsazure.com", 10, "appliance.hosts:6");
	/* Public and private name of one key vault on one line: one record. */
	expect(&rs, "mig-kv-7f3a.privatelink.vaultcore.azure.net", "10.10.1.12",
	    "privatelink.vaultcore.azure.net", 10, "appliance.hosts:7");
	expect(&rs, "migstorage7f3ausa.privatelink.blob.core.windows.net", "fd00::13",
	    "privatelink.blob.core.windows.net", 10, "appliance.hosts:8");
	recset_clear(&rs);

	expect_msgs(cfg, "localhost.hosts", -1, "localhost.hosts:1: no "
	    "privatelink names found (3 other names skipped)" EMPTY_TAIL);
	cfg->allow_empty = true;
	expect_msgs(cfg, "localhost.hosts", 0, "localhost.hosts: warning: no "
	    "privatelink names found (3 other names skipped)");
	cfg_free(cfg);
}

static void
test_zone_source(void **state)
{
	struct recset rs;

	(void)state;
	load_ok(&rs, "example.zone");
	assert_int_equal(rs.nrecs, 1);
	assert_non_null(find(&rs, "cfg1.privatelink.azconfig.io", "10.6.0.4"));
	assert_string_equal(rs.zones[0].name, "privatelink.azconfig.io");
	recset_clear(&rs);
	load_ok(&rs, "zone:example.zone");
	assert_int_equal(rs.nrecs, 1);
	recset_clear(&rs);

	/* ldns reads some garbage as a record of type 0: still an error. */
	struct config *cfg = cfg_new();
	expect_msgs(cfg, "zone:bad-typezero.zone", -1,
	    "bad-typezero.zone:4: not a record: unknown or meta record type");
	/* RFC 3597 form with data an A record cannot hold (found by fuzzing). */
	expect_msgs(cfg, "zone:bad-rdata.zone", -1,
	    "bad-rdata.zone:4: bad record data for its type");
	/* A relative name that the origin makes longer than 255 octets, as
	 * owner and in data (found by fuzzing: ldns does not check). */
	expect_msgs(cfg, "zone:bad-longname.zone", -1,
	    "bad-longname.zone:4: a name longer than 255 octets (with the origin)\n"
	    "bad-longname.zone:5: a name longer than 255 octets (with the origin)");
	cfg_free(cfg);
}

/*
 * A zone file's records arrive one at a time, so their mapping grows by
 * remapping many times.  Huge-page advice on part of it once split the
 * mapping, the next mremap() failed, and a zone file of about 65,000
 * records or more was refused as "out of memory".
 */
static void
test_zone_large(void **state)
{
	char *path = tmp_path("large.zone");
	FILE *f = fopen(path, "w");
	const size_t n = 200000;
	struct recset rs;
	char spec[4200];

	(void)state;
	assert_non_null(f);
	fprintf(f, "$ORIGIN privatelink.blob.core.windows.net.\n$TTL 300\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "h%zu A 10.%zu.%zu.%zu\n", i, (i >> 16) & 255,
		    (i >> 8) & 255, (i & 255) | 1);
	assert_int_equal(fclose(f), 0);
	snprintf(spec, sizeof(spec), "zone:%s", path);
	load_ok(&rs, spec);
	assert_int_equal(rs.nrecs, n);
	recset_clear(&rs);
	unlink(path);
	free(path);
}

/* NS below the apex is a delegation: a forwarder cannot refer its clients
 * to it and Azure Private DNS has none, so it is refused, not served as
 * local data.  NS at the apex is fine. */
static void
test_zone_delegation(void **state)
{
	struct config *cfg = cfg_new();

	(void)state;
	expect_msgs(cfg, "zone:bad-delegation.zone", -1,
	    "bad-delegation.zone:5: NS record for sub.privatelink.azconfig.io. "
	    "below the zone apex: a delegation, which pldns does not serve\n"
	    "bad-delegation.zone:6: NS record for sub.privatelink.azconfig.io. "
	    "below the zone apex: a delegation, which pldns does not serve");
	cfg_free(cfg);
}

/* RFC 2181 10.1 and RFC 6672 2.4: one CNAME (one DNAME) per name, and no
 * other data beside a CNAME; the same record twice is one record. */
static void
test_zone_singletons(void **state)
{
	struct config *cfg = cfg_new();

	(void)state;
	expect_msgs(cfg, "zone:bad-cname.zone", -1,
	    "bad-cname.zone:5: two.privatelink.azconfig.io. has more than one "
	    "CNAME record (first at line 4)\n"
	    "bad-cname.zone:9: both.privatelink.azconfig.io.: CNAME and other "
	    "data (first at line 8)\n"
	    "bad-cname.zone:11: d.privatelink.azconfig.io. has more than one "
	    "DNAME record (first at line 10)\n"
	    "bad-cname.zone:13: dc.privatelink.azconfig.io.: CNAME and other "
	    "data (first at line 12)");
	cfg_free(cfg);
}

static void
test_detect(void **state)
{
	(void)state;
	assert_int_equal(source_detect("x", "FQDN,IP Address\n", 16), SRC_CSV);
	assert_int_equal(source_detect("x", "\xef\xbb\xbfName;IP\n", 11), SRC_CSV);
	assert_int_equal(source_detect("x", "  \n{\"a\":1}", 10), SRC_JSON);
	assert_int_equal(source_detect("x", "[]", 2), SRC_JSON);
	assert_int_equal(source_detect("x", "# hosts\n", 8), SRC_HOSTS);
	assert_int_equal(source_detect("x", "10.0.0.1 a.b\n", 13), SRC_HOSTS);
	assert_int_equal(source_detect("x", "fd00::1\ta.b\n", 12), SRC_HOSTS);
	assert_int_equal(source_detect("x", "$ORIGIN a.\n", 11), SRC_ZONE);
	assert_int_equal(source_detect("x", "; zone\n", 7), SRC_ZONE);
	assert_int_equal(source_detect("x", "@ 3600 IN SOA a. b. 1 2 3 4 5\n", 30), SRC_ZONE);
	assert_int_equal(source_detect("x", "www IN A 10.0.0.1\n", 18), SRC_ZONE);
	/* Headerless data is CSV (and then an error that says so). */
	assert_int_equal(source_detect("x", "a.b,10.0.0.1\n", 13), SRC_CSV);
	/* Nothing to look at: the name decides. */
	assert_int_equal(source_detect("a.json", "", 0), SRC_JSON);
	assert_int_equal(source_detect("a.CSV", "\n", 1), SRC_CSV);
	assert_int_equal(source_detect("db.zone", "", 0), SRC_ZONE);
	assert_int_equal(source_detect("hosts", "", 0), SRC_HOSTS);
}

static void
test_prefix_forcing(void **state)
{
	struct config *cfg = cfg_new();
	struct recset rs;

	(void)state;
	/* Content says hosts; the prefix agrees. */
	load_ok(&rs, "hosts:migrate-hosts.txt");
	expect(&rs, "mig-kv-7f3a.privatelink.vaultcore.azure.net", "10.10.1.12",
	    "privatelink.vaultcore.azure.net", 10, "migrate-hosts.txt:2");
	recset_clear(&rs);
	/* A prefix wins over the content. */
	expect_msgs(cfg, "csv:empty-list.json", -1, "empty-list.json:1: no usable CSV "
	    "header: no name or address column (found \"[]\"); " NAME_COLS "; "
	    ADDR_COLS " (case, spaces, '_' and '-' do not matter)");
	expect_msgs(cfg, "json:headeronly.csv", -1, "headeronly.csv:1: JSON syntax "
	    "error: '[' or '{' expected near 'FQDN' (column 4)");
	cfg_free(cfg);
}

/* ---- malformed input ---- */

static const struct {
	const char *spec, *msg;
} bad[] = {
	/* CSV */
	{ "bad-header.csv", "bad-header.csv:1: no usable CSV header: no name or "
	    "address column (found \"Host\", \"Value\"); " NAME_COLS "; " ADDR_COLS
	    " (case, spaces, '_' and '-' do not matter)" },
	{ "bad-noheader.csv", "bad-noheader.csv:2: no usable CSV header: no name or "
	    "address column (found \"x.privatelink.blob.core.windows.net\", "
	    "\"10.0.0.1\"); " NAME_COLS "; " ADDR_COLS " (case, spaces, '_' and '-' "
	    "do not matter); the first line looks like data: add a header line "
	    "such as \"FQDN,IP Address\"" },
	{ "bad-noaddrcol.csv", "bad-noaddrcol.csv:1: no usable CSV header: no "
	    "address column (found \"FQDN\", \"Value\", \"Comment\"); " NAME_COLS "; "
	    ADDR_COLS " (case, spaces, '_' and '-' do not matter)" },
	{ "bad-empty.csv", "bad-empty.csv: empty file: no CSV header (" NAME_COLS
	    "; " ADDR_COLS ")" },
	{ "bad-blank.csv", "bad-blank.csv: empty file: no CSV header (" NAME_COLS
	    "; " ADDR_COLS ")" },
	{ "bad-quote.csv", "bad-quote.csv:3: malformed CSV quoting (a quote inside "
	    "an unquoted field, or text after a closing quote)" },
	{ "bad-unterminated.csv", "bad-unterminated.csv:3: unterminated quoted field" },
	{ "bad-ip.csv", "bad-ip.csv:2: bad address \"10.0.0.300\" for "
	    "x.privatelink.blob.core.windows.net" },
	{ "bad-public.csv", "bad-public.csv:2: address 8.8.8.8 of kv.vault.azure.net"
	    NOT_PRIVATE },
	{ "bad-v6public.csv", "bad-v6public.csv:2: address 2001:db8::1 of "
	    "v6.privatelink.blob.core.windows.net" NOT_PRIVATE },
	{ "bad-label.csv", "bad-label.csv:2: bad name \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.privatelink.blob.core.windows.net\": "
	    "label longer than 63 octets" },
	{ "bad-long.csv", "bad-long.csv:2: bad name \""
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	    "privatelink.blob.core.windows.net\": name longer than 255 octets" },
	{ "bad-emptylabel.csv", "bad-emptylabel.csv:2: bad name "
	    "\"a..privatelink.blob.core.windows.net\": empty label" },
	{ "bad-char.csv", "bad-char.csv:2: bad name \"my host.privatelink.blob.core."
	    "windows.net\": invalid character ' '" },
	{ "bad-utf8.csv", "bad-utf8.csv:2: bad name \"b\xc3\xbc" "cher.privatelink."
	    "blob.core.windows.net\": invalid character (byte 0xc3; write "
	    "internationalised names in their xn-- form)" },
	{ "bad-outside.csv", "bad-outside.csv:2: www.example.com" OUTSIDE },
	{ "bad-noname.csv", "bad-noname.csv:2: missing name" },
	{ "bad-noaddr.csv", "bad-noaddr.csv:2: missing address for "
	    "x.privatelink.blob.core.windows.net" },
	{ "bad-conflict.csv", "bad-conflict.csv:3: acct.privatelink.blob.core."
	    "windows.net has address 10.0.0.2 here and 10.0.0.1 at bad-conflict.csv:2"
	    ONE_ADDR("privatelink.blob.core.windows.net") },
	{ "bad-twin-conflict.csv", "bad-twin-conflict.csv:4: acct.privatelink.blob."
	    "core.windows.net has address 10.0.0.9 here and 10.0.0.1 at "
	    "bad-twin-conflict.csv:2" ONE_ADDR("privatelink.blob.core.windows.net") },
	{ "bad-ttl.csv", "bad-ttl.csv:2: bad TTL \"ten\" (0 to 2147483647 seconds)" },
	{ "bad-multiline.csv",
	    "bad-multiline.csv:5: bad address \"10.0.0.x\" for "
	    "b.privatelink.blob.core.windows.net\n"
	    "bad-multiline.csv:6: bad name \"c.privatelink.blob.\\x0acore.windows."
	    "net\": invalid character (byte 0x0a)" },
	{ "bad-nul.csv", "bad-nul.csv:3: NUL byte: not a text file (UTF-16 text "
	    "needs a byte-order mark)" },
	{ "bad-many.csv",
	    "bad-many.csv:3: bad address \"10.0.0.1.1\" for "
	    "bad1.privatelink.blob.core.windows.net\n"
	    "bad-many.csv:4: address 192.0.2.1 of bad2.privatelink.blob.core."
	    "windows.net" NOT_PRIVATE "\n"
	    "bad-many.csv:5: bad3.example.net" OUTSIDE "\n"
	    "bad-many.csv:6: bad TTL \"-1\" (0 to 2147483647 seconds)" },
	{ "nonexistent.csv", "nonexistent.csv: cannot read: No such file or directory" },

	/* JSON */
	{ "bad-syntax.json", "bad-syntax.json:3: JSON syntax error: '}' expected "
	    "near '\"ipAddresses\"' (column 52)" },
	{ "bad-shape.json", "bad-shape.json: no customDnsConfigs, "
	    "privateDnsZoneConfigs or private DNS record sets found (expected the "
	    "output of az network private-endpoint show, az network private-dns "
	    "record-set a list, or their PowerShell equivalents)" },
	{ "bad-nofqdn.json", "bad-nofqdn.json: $.customDnsConfigs[0]: missing fqdn" },
	{ "bad-fqdntype.json", "bad-fqdntype.json: $.customDnsConfigs[0].fqdn: fqdn "
	    "is not a string" },
	{ "bad-ipsnotarray.json", "bad-ipsnotarray.json: $.customDnsConfigs[0]."
	    "ipAddresses: ipAddresses is not an array" },
	{ "bad-ipelem.json", "bad-ipelem.json: $.customDnsConfigs[0].ipAddresses[1]: "
	    "address is not a string" },
	{ "bad-ip.json", "bad-ip.json: $[0].properties.customDnsConfigs[0]."
	    "ipAddresses[1]: bad address \"10.0.0.999\" for a.blob.core.windows.net" },
	{ "bad-noips.json", "bad-noips.json: $.customDnsConfigs[0]: missing "
	    "ipAddresses for a.blob.core.windows.net" },
	{ "bad-emptyips.json", "bad-emptyips.json: $.customDnsConfigs[0]: missing "
	    "address for a.blob.core.windows.net" },
	{ "bad-arecord.json", "bad-arecord.json: $[0].aRecords[0]: missing ipv4Address" },
	{ "bad-ttl.json", "bad-ttl.json: $[0].ttl: bad TTL (0 to 2147483647 seconds)" },
	{ "bad-conflict.json", "bad-conflict.json: $[1].customDnsConfigs[0]."
	    "ipAddresses[0]: dup.privatelink.vaultcore.azure.net has address 10.0.0.2 "
	    "here and 10.0.0.1 at bad-conflict.json: $[0].customDnsConfigs[0]"
	    ONE_ADDR("privatelink.vaultcore.azure.net") },
	{ "bad-public.json", "bad-public.json: $.CustomDnsConfigs[0].IpAddresses[0]: "
	    "address 20.1.2.3 of pub.vault.azure.net" NOT_PRIVATE },
	{ "bad-outside.json", "bad-outside.json: $.customDnsConfigs[0].fqdn: "
	    "app.contoso.com" OUTSIDE },

	/* hosts */
	{ "bad-ip.hosts", "bad-ip.hosts:3: bad address \"10.0.0.256\" for "
	    "x.privatelink.blob.core.windows.net" },
	{ "bad-lone.hosts", "bad-lone.hosts:2: \"10.0.0.1\" alone: a hosts line is "
	    "an address followed by names" },
	{ "bad-public.hosts", "bad-public.hosts:2: address 203.0.113.7 of "
	    "acct.blob.core.windows.net" NOT_PRIVATE },
};

static void
test_malformed(void **state)
{
	struct config *cfg = cfg_new();

	(void)state;
	assert_true(nitems(bad) >= 25);
	for (size_t i = 0; i < nitems(bad); i++)
		expect_msgs(cfg, bad[i].spec, -1, bad[i].msg);
	cfg_free(cfg);
}

/* Records keep their file once (interned) and their line apart. */
static void
test_where_interned(void **state)
{
	struct config *cfg = cfg_new();
	struct recset rs;
	char *path = tmp_path("lines.csv"), buf[4096];
	const char *specs[] = { NULL, NULL };
	int rc;
	char *m;

	(void)state;
	write_file(path, "FQDN,IP Address\n"
	    "a.privatelink.blob.core.windows.net,10.0.0.1 10.0.0.2\n"
	    "\n"
	    "b.privatelink.blob.core.windows.net,10.0.0.3\n");
	specs[0] = path;
	cfg_zone(cfg, "privatelink.blob.core.windows.net", 1, NULL, NULL);
	recset_init(&rs);
	m = load_v(cfg, &rs, &rc, specs);
	assert_null(m);
	assert_int_equal(rc, 0);
	assert_int_equal(rs.nrecs, 3);
	for (size_t i = 0; i < rs.nrecs; i++) {
		assert_ptr_equal(rs.recs[i].file, rs.recs[0].file);
		assert_string_equal(rs.recs[i].file, path);
	}
	assert_int_equal(rs.recs[0].line, 2);
	assert_int_equal(rs.recs[1].line, 2);
	assert_int_equal(rs.recs[2].line, 4);
	snprintf(buf, sizeof(buf), "%s:4", path);
	expect(&rs, "b.privatelink.blob.core.windows.net", "10.0.0.3",
	    "privatelink.blob.core.windows.net", 10, buf);
	assert_string_equal(recset_where_str(&rs, &rs.recs[2]), buf);

	/* A whole location (JSON's) is kept as it is. */
	struct rec *r = recset_add(&rs, 0, rs.recs[0].owner, TYPE_A, 5,
	    (const uint8_t *)"\x0a\x00\x00\x09", 4, "x.json: $[3]");
	assert_int_equal(r->line, 0);
	assert_string_equal(recset_where(r, buf, sizeof(buf)), "x.json: $[3]");
	assert_string_equal(recset_where_str(&rs, r), "x.json: $[3]");
	/* RDATA comes with its length before it, as RRset data is laid out. */
	assert_int_equal(r->rdata[-2], 0);
	assert_int_equal(r->rdata[-1], 4);
	recset_clear(&rs);
	cfg_free(cfg);
	free(path);
}

/*
 * A source that fails after good rows leaves nothing of itself: not its
 * records, not its zones, and not in the index the later checks use.
 */
static void
test_failed_source_cut_back(void **state)
{
	struct config *cfg = cfg_new();
	char *good = tmp_path("good.csv"), *failing = tmp_path("bad.csv");
	char *later = tmp_path("later.csv");
	const char *specs[] = { good, failing, later, NULL };
	struct recset rs;
	struct diag d;
	char want[8192];
	char *m;

	(void)state;
	write_file(good, "FQDN,IP Address\n"
	    "a.privatelink.blob.core.windows.net,10.0.0.1\n");
	write_file(failing, "FQDN,IP Address\n"
	    "b.privatelink.blob.core.windows.net,10.0.0.2\n"
	    "kv.privatelink.vaultcore.azure.net,10.0.0.3\n"
	    "c.privatelink.blob.core.windows.net,nope\n");
	/* b again with another address: no conflict, the first b is gone;
	 * a again with another address: a conflict with the good file. */
	write_file(later, "FQDN,IP Address\n"
	    "b.privatelink.blob.core.windows.net,10.0.0.4\n"
	    "a.privatelink.blob.core.windows.net,10.0.0.5\n");
	recset_init(&rs);
	diag_init(&d);
	assert_int_equal(source_load(cfg, specs[0], &rs, &d), 0);
	assert_int_equal(rs.nrecs, 1);
	assert_int_equal(rs.nzones, 1);
	assert_int_equal(source_load(cfg, specs[1], &rs, &d), -1);
	assert_int_equal(rs.nrecs, 1);
	assert_int_equal(rs.nzones, 1);
	assert_null(find(&rs, "b.privatelink.blob.core.windows.net", "10.0.0.2"));
	assert_int_equal(source_load(cfg, specs[2], &rs, &d), 0);
	assert_int_equal(rs.nrecs, 3);
	assert_int_equal(sources_finish(cfg, &rs, &d), -1);
	m = diag_join(&d);
	snprintf(want, sizeof(want), "%s:4: bad address \"nope\" for "
	    "c.privatelink.blob.core.windows.net\n"
	    "%s:3: a.privatelink.blob.core.windows.net has address 10.0.0.5 "
	    "here and 10.0.0.1 at %s:2" ONE_ADDR("privatelink.blob.core.windows.net"),
	    failing, later, good);
	assert_string_equal(m, want);
	free(m);
	diag_clear(&d);
	recset_clear(&rs);
	cfg_free(cfg);
	free(good);
	free(failing);
	free(later);
}

/* recset_mark/recset_rewind: what came after the mark goes, bytes and all. */
static void
test_recset_rewind(void **state)
{
	static const uint8_t owner[] = "\001a\013privatelink\004blob\004core"
	    "\007windows\003net";
	static const uint8_t rd[4] = { 10, 0, 0, 1 };
	struct recset rs;
	struct recset_mark m;
	size_t z;

	(void)state;
	recset_init(&rs);
	z = recset_zone(&rs, NULL, "privatelink.blob.core.windows.net", "t:1");
	recset_add_at(&rs, z, owner, TYPE_A, 10, rd, 4, "t", 1);
	recset_mark(&rs, &m);
	/* Enough to need more pool chunks than the mark's. */
	for (int i = 0; i < 20000; i++)
		recset_add_at(&rs, recset_zone(&rs, NULL,
		    "privatelink.vaultcore.azure.net", "t:2"), owner, TYPE_A, 10,
		    rd, 4, "t", (unsigned long)i + 2);
	assert_int_equal(rs.nzones, 2);
	recset_rewind(&rs, &m);
	assert_int_equal(rs.nrecs, 1);
	assert_int_equal(rs.nzones, 1);
	assert_int_equal(rs.recs[0].line, 1);
	assert_memory_equal(rs.recs[0].rdata, rd, 4);
	/* Adding goes on where it was. */
	recset_add_at(&rs, z, owner, TYPE_A, 10, rd, 4, "t", 7);
	assert_int_equal(rs.nrecs, 2);
	assert_ptr_equal(rs.recs[1].owner, rs.recs[0].owner);
	recset_clear(&rs);
}

/* A source with an error adds nothing, and the sources before it stay. */
static void
test_whole_source_rejected(void **state)
{
	struct config *cfg = cfg_new();
	const char *specs[] = { "tab.csv", "bad-many.csv", NULL };
	struct recset rs;
	int rc;
	char *m;

	(void)state;
	recset_init(&rs);
	m = load_v(cfg, &rs, &rc, specs);
	assert_int_equal(rc, -1);
	assert_non_null(m);
	assert_int_equal(rs.nrecs, 2);
	assert_null(find(&rs, "ok.privatelink.blob.core.windows.net", "10.0.0.1"));
	assert_int_equal(rs.nzones, 1);
	free(m);
	recset_clear(&rs);
	cfg_free(cfg);
}

static void
test_cross_source(void **state)
{
	struct config *cfg = cfg_new();
	const char *specs[] = { "cross-a.csv", "cross-b.json", NULL };
	const char *dups[] = { "dups.csv", "pe-show-cli.json", "recordset-cli.json", NULL };
	struct recset rs;
	int rc;
	char *m;

	(void)state;
	recset_init(&rs);
	m = load_v(cfg, &rs, &rc, specs);
	assert_int_equal(rc, -1);
	assert_string_equal(m, "cross-b.json: $.customDnsConfigs[0]: "
	    "shared.privatelink.blob.core.windows.net has address 10.0.0.2 here and "
	    "10.0.0.1 at cross-a.csv:2" ONE_ADDR("privatelink.blob.core.windows.net"));
	free(m);
	/* The same name and address in both: merged, the first origin kept. */
	expect(&rs, "same.privatelink.blob.core.windows.net", "10.0.0.5",
	    "privatelink.blob.core.windows.net", 10, "cross-a.csv:3");
	size_t n = 0;
	for (size_t i = 0; i < rs.nrecs; i++)
		if (rs.recs[i].rdata[3] == 5)
			n++;
	assert_int_equal(n, 1);
	recset_clear(&rs);

	/* With multi = yes the zone holds both addresses. */
	cfg_zone(cfg, "privatelink.blob.core.windows.net", 1, NULL, NULL);
	recset_init(&rs);
	m = load_v(cfg, &rs, &rc, specs);
	assert_null(m);
	assert_int_equal(rc, 0);
	assert_non_null(find(&rs, "shared.privatelink.blob.core.windows.net", "10.0.0.1"));
	assert_non_null(find(&rs, "shared.privatelink.blob.core.windows.net", "10.0.0.2"));
	assert_int_equal(rs.nrecs, 3);
	recset_clear(&rs);
	cfg_free(cfg);

	/* Unrelated files load together; TTLs of an RRset are made equal. */
	cfg = cfg_new();
	recset_init(&rs);
	m = load_v(cfg, &rs, &rc, dups);
	assert_null(m);
	assert_int_equal(rc, 0);
	assert_int_equal(rs.nrecs, 5);
	recset_clear(&rs);
	cfg_free(cfg);
}

static void
test_options(void **state)
{
	struct config *cfg = cfg_new();
	struct recset rs;
	const char *specs[] = { "bad-public.csv", NULL };
	const char *custom[] = { "custom.csv", NULL };
	const char *ex[] = { EXAMPLE_CSV, NULL };
	int rc;
	char *m;

	(void)state;
	/* strict = no: a name outside every zone is a warning, skipped. */
	cfg->strict = false;
	expect_msgs(cfg, "bad-outside.csv", -1, "bad-outside.csv:2: warning: "
	    "www.example.com is outside every known privatelink zone; skipped\n"
	    "bad-outside.csv:1: no records found" EMPTY_TAIL);
	cfg->strict = true;

	/* allow_public = yes */
	cfg->allow_public = true;
	recset_init(&rs);
	m = load_v(cfg, &rs, &rc, specs);
	assert_null(m);
	expect(&rs, "kv.privatelink.vaultcore.azure.net", "8.8.8.8",
	    "privatelink.vaultcore.azure.net", 10, "bad-public.csv:2");
	recset_clear(&rs);
	cfg->allow_public = false;

	/* multi = yes within one file. */
	cfg_zone(cfg, "privatelink.blob.core.windows.net", 1, NULL, NULL);
	recset_init(&rs);
	specs[0] = "multi.csv";
	m = load_v(cfg, &rs, &rc, specs);
	assert_null(m);
	assert_int_equal(rs.nrecs, 2);
	recset_clear(&rs);
	cfg_free(cfg);

	/* A configured zone and twin the table does not know. */
	cfg = cfg_new();
	cfg->record_ttl = 30;
	cfg_zone(cfg, "privatelink.example.org", -1, NULL, "example.org");
	recset_init(&rs);
	m = load_v(cfg, &rs, &rc, custom);
	assert_null(m);
	expect(&rs, "app.privatelink.example.org", "10.0.0.1", "privatelink.example.org",
	    30, "custom.csv:2");
	expect(&rs, "app2.privatelink.example.org", "10.0.0.2", "privatelink.example.org",
	    30, "custom.csv:3");
	assert_int_equal(rs.zones[0].ntwins, 1);
	assert_string_equal(rs.zones[0].twins[0], "example.org");
	recset_clear(&rs);
	cfg_free(cfg);

	/* A zone filled from its own zone file takes no records from sources. */
	cfg = cfg_new();
	cfg_zone(cfg, "privatelink.vaultcore.azure.net", -1, "kv.zone", NULL);
	expect_msgs(cfg, EXAMPLE_CSV, -1, EXAMPLE_CSV ":10: mig-kv-7f3a.privatelink."
	    "vaultcore.azure.net belongs to zone privatelink.vaultcore.azure.net, "
	    "which is loaded from kv.zone; add the record there");
	(void)ex;
	cfg_free(cfg);
}

/* Past 1000 errors a source only counts them. */
static void
test_error_cap(void **state)
{
	struct config *cfg = cfg_new();
	struct recset rs;
	struct diag d;
	char *path = tmp_path("many.csv");
	FILE *f = fopen(path, "w");

	(void)state;
	assert_non_null(f);
	fprintf(f, "FQDN,IP Address\n");
	for (int i = 0; i < 1005; i++)
		fprintf(f, "n%d.privatelink.blob.core.windows.net,bad\n", i);
	fclose(f);
	recset_init(&rs);
	diag_init(&d);
	assert_int_equal(source_load(cfg, path, &rs, &d), -1);
	assert_int_equal(d.n, 1001);
	char *want;
	xasprintf(&want, "%s: 5 more errors not shown", path);
	assert_string_equal(d.msgs[1000].text, want);
	free(want);
	diag_clear(&d);
	recset_clear(&rs);
	cfg_free(cfg);
	free(path);
}

/* ---- pldns import ---- */

/* Runs import_run; OUT and ERR get what it printed (caller frees). */
static int
run_import(const char *dir, bool dry, const char *const *files, char **out,
    char **err)
{
	size_t ol, el;
	FILE *o = open_memstream(out, &ol), *e = open_memstream(err, &el);
	int n = 0, rc;

	while (files[n] != NULL)
		n++;
	rc = import_run(NULL, dir, dry, (char *const *)(uintptr_t)files, n, o, e);
	fclose(o);
	fclose(e);
	return rc;
}

/* The zone file text with the serial replaced by "SERIAL". */
static char *
zone_text(const char *path, uint32_t *serial)
{
	char *t = read_file(path), *p;

	if (t == NULL)
		return NULL;
	p = strstr(t, "azureprivatedns-host.microsoft.com. ");
	assert_non_null(p);
	p += strlen("azureprivatedns-host.microsoft.com. ");
	*serial = (uint32_t)strtoul(p, NULL, 10);
	memcpy(p, "SERIAL....", 10);
	return t;
}

static uint32_t
today_serial(void)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	return (uint32_t)(tm.tm_year + 1900) * 1000000u +
	    (uint32_t)(tm.tm_mon + 1) * 10000u + (uint32_t)tm.tm_mday * 100u;
}

static void
test_import(void **state)
{
	const char *files[] = { EXAMPLE_CSV, NULL };
	char *out, *err, *dir = tmp_path("zones"), *kv, *text, *want;
	uint32_t serial, serial2;
	struct stat st1, st2;
	int rc;

	(void)state;
	rc = run_import(dir, false, files, &out, &err);
	assert_string_equal(err, "");
	assert_int_equal(rc, IMPORT_OK);
	xasprintf(&want,
	    "privatelink.prod.migration.windowsazure.com: 3 records (3 added, 0 changed, 0 removed), serial %u, wrote %s/privatelink.prod.migration.windowsazure.com.zone\n"
	    "privatelink.siterecovery.windowsazure.com: 5 records (5 added, 0 changed, 0 removed), serial %u, wrote %s/privatelink.siterecovery.windowsazure.com.zone\n"
	    "privatelink.vaultcore.azure.net: 1 record (1 added, 0 changed, 0 removed), serial %u, wrote %s/privatelink.vaultcore.azure.net.zone\n"
	    "privatelink.blob.core.windows.net: 1 record (1 added, 0 changed, 0 removed), serial %u, wrote %s/privatelink.blob.core.windows.net.zone\n"
	    "4 zones, 10 records: 10 added, 0 changed, 0 removed\n",
	    today_serial(), dir, today_serial(), dir, today_serial(), dir,
	    today_serial(), dir);
	assert_string_equal(out, want);
	free(want);
	free(out);
	free(err);

	kv = tmp_path("zones/privatelink.siterecovery.windowsazure.com.zone");
	text = zone_text(kv, &serial);
	assert_int_equal(serial, today_serial());
	assert_string_equal(text,
	    "; Zone privatelink.siterecovery.windowsazure.com, written by pldns import.\n"
	    "; Sources: " EXAMPLE_CSV "\n"
	    "; pldns import replaces this file when the records change: edit the sources instead.\n"
	    "$ORIGIN privatelink.siterecovery.windowsazure.com.\n"
	    "$TTL 10\n"
	    "@\t3600\tIN\tSOA\tazureprivatedns.net. azureprivatedns-host.microsoft.com. SERIAL.... 3600 300 2419200 10\n"
	    "@\t3600\tIN\tNS\tazureprivatedns.net.\n"
	    "3456789012345678901-asr-pod01-id1-.eus\t10\tIN\tA\t10.10.1.7\n"
	    "3456789012345678901-asr-pod01-prot2-.eus\t10\tIN\tA\t10.10.1.8\n"
	    "3456789012345678901-asr-pod01-rcm1-.eus\t10\tIN\tA\t10.10.1.9\n"
	    "3456789012345678901-asr-pod01-srs1-.eus\t10\tIN\tA\t10.10.1.10\n"
	    "3456789012345678901-asr-pod01-tel1-.eus\t10\tIN\tA\t10.10.1.11\n");
	free(text);
	assert_int_equal(stat(kv, &st1), 0);

	/* Again: nothing changed, nothing touched. */
	rc = run_import(dir, false, files, &out, &err);
	assert_int_equal(rc, IMPORT_OK);
	assert_string_equal(out,
	    "privatelink.prod.migration.windowsazure.com: 3 records, unchanged\n"
	    "privatelink.siterecovery.windowsazure.com: 5 records, unchanged\n"
	    "privatelink.vaultcore.azure.net: 1 record, unchanged\n"
	    "privatelink.blob.core.windows.net: 1 record, unchanged\n"
	    "4 zones, 10 records: 0 added, 0 changed, 0 removed\n");
	free(out);
	free(err);
	assert_int_equal(stat(kv, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);

	/* One address changed, one record added, one removed. */
	char *src = tmp_path("settings.csv");
	write_file(src, "FQDN,IP Address\n"
	    "3456789012345678901-asr-pod01-id1-.eus.privatelink.siterecovery.windowsazure.com,10.10.1.70\n"
	    "3456789012345678901-asr-pod01-prot2-.eus.privatelink.siterecovery.windowsazure.com,10.10.1.8\n"
	    "3456789012345678901-asr-pod01-rcm1-.eus.privatelink.siterecovery.windowsazure.com,10.10.1.9\n"
	    "3456789012345678901-asr-pod01-srs1-.eus.privatelink.siterecovery.windowsazure.com,10.10.1.10\n"
	    "3456789012345678901-asr-pod01-new1-.eus.siterecovery.windowsazure.com,10.10.1.20\n");
	const char *files2[] = { src, NULL };
	rc = run_import(dir, true, files2, &out, &err);
	assert_int_equal(rc, IMPORT_OK);
	/* Record by record, in canonical order, with where additions come
	 * from; then the zone; the counts last. */
	xasprintf(&want,
	    "~ 3456789012345678901-asr-pod01-id1-.eus.privatelink.siterecovery.windowsazure.com A 10.10.1.7 -> 10.10.1.70\n"
	    "+ 3456789012345678901-asr-pod01-new1-.eus.privatelink.siterecovery.windowsazure.com A 10.10.1.20 (%s:6)\n"
	    "- 3456789012345678901-asr-pod01-tel1-.eus.privatelink.siterecovery.windowsazure.com A 10.10.1.11\n"
	    "privatelink.siterecovery.windowsazure.com: 5 records (1 added, 1 changed, 1 removed), serial %u, would write %s\n"
	    "1 zone, 5 records: 1 added, 1 changed, 1 removed (dry run: nothing written)\n",
	    src, serial + 1, kv);
	assert_string_equal(out, want);
	free(want);
	free(out);
	free(err);
	assert_int_equal(stat(kv, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);

	rc = run_import(dir, false, files2, &out, &err);
	assert_int_equal(rc, IMPORT_OK);
	free(out);
	free(err);
	text = zone_text(kv, &serial2);
	assert_int_equal(serial2, serial + 1);
	assert_non_null(strstr(text, "; Sources: "));
	assert_non_null(strstr(text, "3456789012345678901-asr-pod01-id1-.eus\t10\tIN\tA\t10.10.1.70\n"
	    "3456789012345678901-asr-pod01-new1-.eus\t10\tIN\tA\t10.10.1.20\n"
	    "3456789012345678901-asr-pod01-prot2-.eus"));
	assert_null(strstr(text, "tel1"));
	free(text);
	/* The untouched zones of the first import are still there. */
	char *blob = tmp_path("zones/privatelink.blob.core.windows.net.zone");
	assert_int_equal(access(blob, R_OK), 0);
	free(blob);
	free(src);
	free(kv);
	free(dir);
}

static void
test_import_serial_and_existing(void **state)
{
	const char *files[] = { "tab.csv", NULL };
	char *out, *err, *dir = tmp_path("z"), *path, *text, *want;
	uint32_t serial;
	int rc;

	(void)state;
	assert_int_equal(mkdir(dir, 0755), 0);
	path = tmp_path("z/privatelink.postgres.database.azure.com.zone");
	/* A zone file someone else wrote, with a far-future serial and an
	 * extra record. */
	write_file(path, "$ORIGIN privatelink.postgres.database.azure.com.\n"
	    "@ 3600 IN SOA ns.example. host.example. 2099123105 3600 300 2419200 10\n"
	    "db1 10 IN A 10.1.1.4\n"
	    "old 10 IN A 10.1.1.9\n"
	    "alias 10 IN CNAME db1\n");
	rc = run_import(dir, false, files, &out, &err);
	assert_int_equal(rc, IMPORT_OK);
	assert_string_equal(err, "");
	xasprintf(&want, "privatelink.postgres.database.azure.com: 2 records (1 added, "
	    "0 changed, 2 removed), serial 2099123106, wrote %s\n"
	    "1 zone, 2 records: 1 added, 0 changed, 2 removed\n", path);
	assert_string_equal(out, want);
	free(want);
	free(out);
	free(err);
	text = zone_text(path, &serial);
	assert_int_equal(serial, 2099123106u);
	assert_non_null(strstr(text, "; Sources: tab.csv\n"));
	free(text);

	/* An existing file ldns cannot read is replaced, with a warning. */
	write_file(path, "this is not a zone file {\n");
	rc = run_import(dir, false, files, &out, &err);
	assert_int_equal(rc, IMPORT_OK);
	assert_non_null(strstr(err, "warning: cannot read the existing zone file"));
	free(out);
	free(err);
	text = zone_text(path, &serial);
	assert_int_equal(serial, today_serial());
	free(text);
	free(path);
	free(dir);
}

static void
test_import_errors(void **state)
{
	const char *badf[] = { "tab.csv", "bad-ip.csv", NULL };
	const char *missing[] = { "tab.csv", "nonexistent.json", NULL };
	const char *good[] = { "tab.csv", NULL };
	char *out, *err, *dir = tmp_path("never"), *file, *sub;
	int rc;

	(void)state;
	rc = run_import(dir, false, badf, &out, &err);
	assert_int_equal(rc, IMPORT_DATAERR);
	assert_string_equal(out, "");
	assert_string_equal(err, "bad-ip.csv:2: bad address \"10.0.0.300\" for "
	    "x.privatelink.blob.core.windows.net\npldns import: 1 error; nothing written\n");
	assert_int_equal(access(dir, F_OK), -1);
	free(out);
	free(err);

	rc = run_import(dir, false, missing, &out, &err);
	assert_int_equal(rc, IMPORT_NOINPUT);
	assert_string_equal(err, "nonexistent.json: cannot read: No such file or directory\n");
	free(out);
	free(err);

	/* The zone directory cannot be created: a file is in the way. */
	file = tmp_path("plainfile");
	write_file(file, "x");
	xasprintf(&sub, "%s/zones", file);
	rc = run_import(sub, false, good, &out, &err);
	assert_int_equal(rc, IMPORT_CANTCREAT);
	char *want;
	xasprintf(&want, "%s: cannot create directory: Not a directory\n", sub);
	assert_string_equal(err, want);
	free(want);
	free(out);
	free(err);

	/* --dry-run needs no directory. */
	rc = run_import(sub, true, good, &out, &err);
	assert_int_equal(rc, IMPORT_OK);
	assert_non_null(strstr(out, "(dry run: nothing written)\n"));
	free(out);
	free(err);
	free(sub);
	free(file);
	free(dir);
}

/* --dry-run -c: against what the configuration's sources give now, zones
 * that only the configuration has included (their records would go). */
static void
test_import_against_config(void **state)
{
	char *conf = tmp_path("pldns.ini"), *src = tmp_path("new.csv"), *text;
	char *out, *err, *want;
	const char *files[] = { src, NULL };
	size_t ol, el;
	FILE *o, *e;
	int rc;

	(void)state;
	xasprintf(&text, "[records]\nsources = %s/sources/tab.csv, %s/sources/dups.csv\n",
	    TEST_DATA_DIR, TEST_DATA_DIR);
	write_file(conf, text);
	free(text);
	write_file(src, "FQDN,IP Address\n"
	    "db1.privatelink.postgres.database.azure.com,10.1.1.4\n"
	    "db2.privatelink.postgres.database.azure.com,10.1.1.50\n"
	    "db3.postgres.database.azure.com,10.1.1.6\n");
	o = open_memstream(&out, &ol);
	e = open_memstream(&err, &el);
	rc = import_run(conf, NULL, true, (char *const *)(uintptr_t)files, 1, o, e);
	fclose(o);
	fclose(e);
	assert_string_equal(err, "");
	assert_int_equal(rc, IMPORT_OK);
	xasprintf(&want,
	    "~ db2.privatelink.postgres.database.azure.com A 10.1.1.5 -> 10.1.1.50\n"
	    "+ db3.privatelink.postgres.database.azure.com A 10.1.1.6 (%s:4)\n"
	    "privatelink.postgres.database.azure.com: 3 records (1 added, 1 changed, 0 removed)\n"
	    "- acct3.privatelink.blob.core.windows.net A 10.4.0.4\n"
	    "privatelink.blob.core.windows.net: 0 records (0 added, 0 changed, 1 removed)\n"
	    "2 zones, 3 records: 1 added, 1 changed, 1 removed (dry run: nothing written)\n",
	    src);
	assert_string_equal(out, want);
	free(want);
	free(out);
	free(err);

	/* The configuration's own sources: nothing changes. */
	o = open_memstream(&out, &ol);
	e = open_memstream(&err, &el);
	rc = import_run(conf, NULL, true, NULL, 0, o, e);
	fclose(o);
	fclose(e);
	assert_int_equal(rc, IMPORT_OK);
	assert_string_equal(out,
	    "privatelink.postgres.database.azure.com: 2 records, unchanged\n"
	    "privatelink.blob.core.windows.net: 1 record, unchanged\n"
	    "2 zones, 3 records: 0 added, 0 changed, 0 removed (dry run: nothing written)\n");
	free(out);
	free(err);
	free(conf);
	free(src);
}

/*
 * TTLs: a name and address given twice keeps the lower TTL, within one
 * source and across sources; a TTL above 2^31 - 1 is an error (RFC 2181 8).
 */
static void
test_ttls(void **state)
{
	struct config *cfg = cfg_new();
	char *a = tmp_path("ttl-a.csv"), *b = tmp_path("ttl-b.csv"), *big = tmp_path("ttl-big.csv");
	const char *one[] = { a, NULL }, *both[] = { a, b, NULL }, *toobig[] = { big, NULL };
	struct recset rs;
	char want[PATH_MAX + 128];
	int rc;
	char *m;

	(void)state;
	write_file(a, "FQDN,IP Address,TTL\n"
	    "ttl1.blob.core.windows.net,10.0.0.1,300\n"
	    "ttl1.blob.core.windows.net,10.0.0.1,60\n"
	    "ttl2.blob.core.windows.net,10.0.0.2,2147483647\n");
	write_file(b, "FQDN,IP Address,TTL\n"
	    "ttl2.blob.core.windows.net,10.0.0.2,30\n");
	write_file(big, "FQDN,IP Address,TTL\n"
	    "ttl3.blob.core.windows.net,10.0.0.3,2147483648\n");
	recset_init(&rs);
	m = load_v(cfg, &rs, &rc, one);
	assert_null(m);
	assert_int_equal(rc, 0);
	expect(&rs, "ttl1.privatelink.blob.core.windows.net", "10.0.0.1",
	    "privatelink.blob.core.windows.net", 60, NULL);
	expect(&rs, "ttl2.privatelink.blob.core.windows.net", "10.0.0.2",
	    "privatelink.blob.core.windows.net", 2147483647, NULL);
	recset_clear(&rs);
	recset_init(&rs);
	m = load_v(cfg, &rs, &rc, both);
	assert_null(m);
	assert_int_equal(rc, 0);
	expect(&rs, "ttl2.privatelink.blob.core.windows.net", "10.0.0.2",
	    "privatelink.blob.core.windows.net", 30, NULL);
	recset_clear(&rs);
	recset_init(&rs);
	m = load_v(cfg, &rs, &rc, toobig);
	snprintf(want, sizeof(want), "%s:2: bad TTL \"2147483648\" (0 to 2147483647 seconds)",
	    big);
	assert_non_null(m);
	assert_string_equal(m, want);
	assert_int_equal(rc, -1);
	free(m);
	recset_clear(&rs);
	free(a);
	free(b);
	free(big);
	cfg_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_portal_example),
		cmocka_unit_test(test_csv_semicolon_bom_crlf),
		cmocka_unit_test(test_csv_tab),
		cmocka_unit_test(test_csv_quoted),
		cmocka_unit_test(test_csv_ipv6),
		cmocka_unit_test(test_csv_sep_titles_dups),
		cmocka_unit_test(test_csv_header_only),
		cmocka_unit_test(test_empty_source_held),
		cmocka_unit_test_setup_teardown(test_csv_fast_path, tmp_setup,
		    tmp_teardown),
		cmocka_unit_test_setup_teardown(test_ttls, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_csv_fast_path_resumes,
		    tmp_setup, tmp_teardown),
		cmocka_unit_test(test_json_private_endpoints),
		cmocka_unit_test(test_json_zone_groups),
		cmocka_unit_test(test_json_record_sets),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_zone_source),
		cmocka_unit_test(test_zone_delegation),
		cmocka_unit_test_setup_teardown(test_zone_large, tmp_setup,
		    tmp_teardown),
		cmocka_unit_test(test_zone_singletons),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_prefix_forcing),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_whole_source_rejected),
		cmocka_unit_test(test_cross_source),
		cmocka_unit_test(test_options),
		cmocka_unit_test_setup_teardown(test_where_interned, tmp_setup,
		    tmp_teardown),
		cmocka_unit_test_setup_teardown(test_failed_source_cut_back,
		    tmp_setup, tmp_teardown),
		cmocka_unit_test(test_recset_rewind),
		cmocka_unit_test_setup_teardown(test_error_cap, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_import, tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_import_against_config,
		    tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_import_serial_and_existing,
		    tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_import_errors, tmp_setup,
		    tmp_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
