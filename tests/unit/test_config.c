/*
 * Unit tests for config: every section and key, defaults, the resolv.conf
 * default, and the exact text of every kind of error.
 *
 * Each test runs in a fresh directory under /tmp and loads "pldns.ini" from
 * there, so that messages start with "pldns.ini:LINE:" as an operator sees
 * them.
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
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit_tmpdir.h"
#include "util/addr.h"
#include "data/config.h"
#include "util/diag.h"
#include "util/util.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

static int
setup(void **state)
{
	(void)state;
	if (tmpdir_enter("config") == -1)
		return -1;
	/* Every test gets one upstream unless it says otherwise. */
	write_file("resolv.conf", "nameserver 192.0.2.53\n");
	config_set_resolv_conf("resolv.conf");
	unsetenv("PLDNS_RESOLV_CONF");
	return 0;
}


static int
teardown(void **state)
{
	(void)state;
	config_set_resolv_conf(NULL);
	unsetenv("PLDNS_RESOLV_CONF");
	return tmpdir_leave();
}

/* Writes TEXT to pldns.ini and loads it. */
static struct config *
load(const char *text, struct diag *d)
{
	write_file("pldns.ini", text);
	diag_init(d);
	return config_load("pldns.ini", d);
}

/* All messages of D, one a line; "" when none. */
static void
assert_diag(struct diag *d, const char *expected)
{
	char *all = diag_join(d);

	assert_string_equal(all ? all : "", expected);
	free(all);
}

/* Loads TEXT, which must fail with exactly EXPECTED. */
static void
assert_load_fails(const char *text, const char *expected)
{
	struct diag d;
	struct config *cfg = load(text, &d);

	assert_null(cfg);
	assert_diag(&d, expected);
	diag_clear(&d);
}

/* Loads TEXT, which must succeed without any message. */
static struct config *
load_ok(const char *text)
{
	struct diag d;
	struct config *cfg = load(text, &d);

	assert_diag(&d, "");
	assert_non_null(cfg);
	diag_clear(&d);
	return cfg;
}

static const char *
astr(const struct pl_addr *a)
{
	static char bufs[4][128];
	static int n;

	n = (n + 1) % 4;
	return addr_str(a, bufs[n], sizeof(bufs[n]));
}

static const char *
cstr(const struct pl_cidr *c)
{
	static char bufs[4][128];
	static int n;
	char host[INET6_ADDRSTRLEN];

	n = (n + 1) % 4;
	inet_ntop(c->family, c->addr, host, sizeof(host));
	snprintf(bufs[n], sizeof(bufs[n]), "%s/%d", host, c->prefix);
	return bufs[n];
}

/* "<tmpdir>/NAME" (static buffer). */
static const char *
tpath(const char *name)
{
	static char buf[PATH_MAX + 64];

	snprintf(buf, sizeof(buf), "%s/%s", tmpdir, name);
	return buf;
}

/* ---- defaults and the key table ---- */

static void
check_defaults(const struct config *cfg)
{
	static const char *const allow[] = {
		"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12",
		"192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "fe80::/10"
	};

	assert_int_equal(cfg->nlisten, 2);
	assert_string_equal(astr(&cfg->listen[0]), "127.0.0.1:53");
	assert_string_equal(astr(&cfg->listen[1]), "[::1]:53");
	assert_int_equal(cfg->workers, 0);
	assert_int_equal(cfg->tcp_idle_ms, 10000);
	assert_int_equal(cfg->tcp_max_conns, 256);
	assert_int_equal(cfg->tcp_max_per_client, 32);
	assert_int_equal(cfg->tcp_max_queries, 0);
	assert_null(cfg->user);
	assert_int_equal(cfg->nallow, nitems(allow));
	for (size_t i = 0; i < nitems(allow); i++)
		assert_string_equal(cstr(&cfg->allow[i]), allow[i]);
	assert_null(cfg->allow_forward);
	assert_int_equal(cfg->nallow_forward, 0);
	assert_int_equal(cfg->refuse_action, REFUSE_REFUSE);
	assert_int_equal(cfg->rrl_rate, 0);
	assert_int_equal(cfg->rrl_slip, 2);

	assert_non_null(cfg->upstream_specs);
	assert_null(cfg->upstream_specs[0]);
	assert_int_equal(cfg->nupstream_specs, 0);
	assert_int_equal(cfg->timeout_ms, 1000);
	assert_int_equal(cfg->deadline_ms, 2800);
	assert_int_equal(cfg->max_inflight, 1000);
	assert_false(cfg->trust_ad);

	assert_int_equal(cfg->cache_size, 64 * 1024 * 1024);
	assert_int_equal(cfg->cache_min_ttl, 0);
	assert_int_equal(cfg->cache_max_ttl, 86400);
	assert_true(cfg->serve_stale);
	assert_true(cfg->prefetch);
	assert_int_equal(cfg->stale_client_timeout_ms, 1000);

	assert_non_null(cfg->sources);
	assert_null(cfg->sources[0]);
	assert_int_equal(cfg->nsources, 0);
	assert_int_equal(cfg->record_ttl, 10);
	assert_false(cfg->allow_public);
	assert_false(cfg->allow_empty);
	assert_int_equal(cfg->max_drop, 10);
	assert_true(cfg->strict);
	assert_int_equal(cfg->missing, MISSING_NXDOMAIN);

	assert_int_equal(cfg->log_level, 2);
	assert_false(cfg->query_log);

	assert_string_equal(cfg->control_listen, "127.0.0.1:8053");
	assert_string_equal(astr(&cfg->control_addr), "127.0.0.1:8053");
	assert_null(cfg->token_file);

	assert_int_equal(cfg->nforwards, 0);
	assert_int_equal(cfg->nzones, 0);
}

static void
test_new_defaults(void **state)
{
	struct config *cfg = config_new();

	(void)state;
	check_defaults(cfg);
	assert_null(cfg->path);
	assert_null(cfg->dir);
	/* config_new() never reads resolv.conf. */
	assert_int_equal(cfg->nupstreams, 0);
	assert_null(cfg->upstreams);
	assert_false(cfg->upstreams_from_resolv_conf);
	assert_null(config_zone(cfg, "example.com"));
	config_free(cfg);
	config_free(NULL);
}

static void
test_key_table(void **state)
{
	size_t n = 0;

	(void)state;
	for (const struct config_key *k = config_keys; k->section != NULL; k++) {
		size_t hl = strlen(k->help);

		n++;
		assert_non_null(k->name);
		/* One sentence for the man page: capital, full stop. */
		assert_true(hl > 10);
		assert_true(k->help[0] >= 'A' && k->help[0] <= 'Z');
		assert_int_equal(k->help[hl - 1], '.');
		if (k->type == CT_ENUM)
			assert_non_null(k->values);
		if (k->type == CT_UINT)
			assert_true(k->min <= k->max);
		for (const struct config_key *o = config_keys; o < k; o++)
			assert_false(strcmp(o->section, k->section) == 0 &&
			    strcmp(o->name, k->name) == 0);
	}
	assert_int_equal(n, 67);
}

static void
test_empty_file(void **state)
{
	struct config *cfg = load_ok("; nothing but a comment\n");

	(void)state;
	check_defaults(cfg);
	assert_string_equal(cfg->path, "pldns.ini");
	assert_string_equal(cfg->dir, tmpdir);
	assert_int_equal(cfg->nupstreams, 1);
	assert_string_equal(astr(&cfg->upstreams[0]), "192.0.2.53:53");
	assert_true(cfg->upstreams_from_resolv_conf);
	assert_int_equal(cfg->nupstream_specs, 0);
	config_free(cfg);
}

/* ---- every section ---- */

static void
test_server_section(void **state)
{
	struct config *cfg = load_ok(
	    "[server]\n"
	    "listen = 127.0.0.1:5353, [::1]:5353 192.0.2.1\n"
	    "workers = 4\n"
	    "tcp_idle_ms = 5000\n"
	    "tcp_max_conns = 100\n"
	    "tcp_max_per_client = 10\n"
	    "tcp_max_queries = 50\n"
	    "user = nobody\n"
	    "allow = 10.1.0.0/16, 2001:db8::/32, 192.0.2.7\n"
	    "allow_forward = 10.1.2.0/24\n"
	    "refuse_action = drop\n"
	    "rrl_rate = 20\n"
	    "rrl_slip = 0\n");

	(void)state;
	assert_int_equal(cfg->nlisten, 3);
	assert_string_equal(astr(&cfg->listen[0]), "127.0.0.1:5353");
	assert_string_equal(astr(&cfg->listen[1]), "[::1]:5353");
	assert_string_equal(astr(&cfg->listen[2]), "192.0.2.1:53");
	assert_int_equal(cfg->workers, 4);
	assert_int_equal(cfg->tcp_idle_ms, 5000);
	assert_int_equal(cfg->tcp_max_conns, 100);
	assert_int_equal(cfg->tcp_max_per_client, 10);
	assert_int_equal(cfg->tcp_max_queries, 50);
	assert_string_equal(cfg->user, "nobody");
	assert_int_equal(cfg->nallow, 3);
	assert_string_equal(cstr(&cfg->allow[0]), "10.1.0.0/16");
	assert_string_equal(cstr(&cfg->allow[1]), "2001:db8::/32");
	assert_string_equal(cstr(&cfg->allow[2]), "192.0.2.7/32");
	assert_int_equal(cfg->nallow_forward, 1);
	assert_string_equal(cstr(&cfg->allow_forward[0]), "10.1.2.0/24");
	assert_int_equal(cfg->refuse_action, REFUSE_DROP);
	assert_int_equal(cfg->rrl_rate, 20);
	assert_int_equal(cfg->rrl_slip, 0);
	config_free(cfg);

	cfg = load_ok("[server]\nworkers = auto\nuser =\nrefuse_action = REFUSE\n");
	assert_int_equal(cfg->workers, 0);
	assert_null(cfg->user);
	assert_int_equal(cfg->refuse_action, REFUSE_REFUSE);
	config_free(cfg);
}

static void
test_upstream_section(void **state)
{
	struct config *cfg = load_ok(
	    "[upstream]\n"
	    "servers = 192.0.2.1, 192.0.2.2:5300 [2001:db8::1]:53, 2001:db8::2,"
	    " tls://192.0.2.3#dns.example.net, tls://[2001:db8::3]:8853,"
	    " tls://192.0.2.4:853\n"
	    "timeout_ms = 500\n"
	    "deadline_ms = 5000\n"
	    "max_inflight = 200\n"
	    "trust_ad = yes\n");
	static const char *const specs[] = {
		"192.0.2.1", "192.0.2.2:5300", "[2001:db8::1]:53", "2001:db8::2",
		"tls://192.0.2.3#dns.example.net", "tls://[2001:db8::3]:8853",
		"tls://192.0.2.4:853"
	};

	(void)state;
	assert_int_equal(cfg->nupstream_specs, nitems(specs));
	for (size_t i = 0; i < nitems(specs); i++)
		assert_string_equal(cfg->upstream_specs[i], specs[i]);
	assert_null(cfg->upstream_specs[nitems(specs)]);
	assert_int_equal(cfg->nupstreams, 4);
	assert_string_equal(astr(&cfg->upstreams[0]), "192.0.2.1:53");
	assert_string_equal(astr(&cfg->upstreams[1]), "192.0.2.2:5300");
	assert_string_equal(astr(&cfg->upstreams[2]), "[2001:db8::1]:53");
	assert_string_equal(astr(&cfg->upstreams[3]), "[2001:db8::2]:53");
	assert_false(cfg->upstreams_from_resolv_conf);
	assert_int_equal(cfg->timeout_ms, 500);
	assert_int_equal(cfg->deadline_ms, 5000);
	assert_int_equal(cfg->max_inflight, 200);
	assert_true(cfg->trust_ad);
	config_free(cfg);
}

static void
test_cache_section(void **state)
{
	static const struct {
		const char *text;
		size_t bytes;
	} sizes[] = {
		{ "0", 0 }, { "1000", 1000 }, { "16K", 16384 }, { "2k", 2048 },
		{ "64M", 64UL << 20 }, { "1G", 1UL << 30 }, { "3g", 3UL << 30 },
	};
	struct config *cfg;

	(void)state;
	cfg = load_ok("[cache]\nsize = 128M\nmin_ttl = 30\nmax_ttl = 3600\n"
	    "serve_stale = no\nprefetch = no\nstale_answer_client_timeout_ms = 0\n");
	assert_int_equal(cfg->cache_size, 128UL << 20);
	assert_int_equal(cfg->cache_min_ttl, 30);
	assert_int_equal(cfg->cache_max_ttl, 3600);
	assert_false(cfg->serve_stale);
	assert_false(cfg->prefetch);
	assert_int_equal(cfg->stale_client_timeout_ms, 0);
	config_free(cfg);
	assert_load_fails("[cache]\nstale_answer_client_timeout_ms = 120001\n",
	    "pldns.ini:2: bad value for stale_answer_client_timeout_ms: 120001 is "
	    "out of range (0..120000)");

	for (size_t i = 0; i < nitems(sizes); i++) {
		char text[64];

		snprintf(text, sizeof(text), "[cache]\nsize = %s\n", sizes[i].text);
		cfg = load_ok(text);
		assert_int_equal(cfg->cache_size, sizes[i].bytes);
		config_free(cfg);
	}
}

static void
test_records_section(void **state)
{
	struct config *cfg;
	char text[PATH_MAX + 1024], expect[PATH_MAX + 64];

	(void)state;
	assert_int_equal(mkdir("data", 0755), 0);
	write_file("data/a.csv", "");
	write_file("data/b.json", "");
	write_file("hosts", "");
	write_file("db.zone", "");
	write_file("plain.txt", "");
	snprintf(text, sizeof(text),
	    "[records]\n"
	    "sources = csv:data/a.csv, json: data/b.json, hosts:%s/hosts,"
	    " ZONE:db.zone, plain.txt\n"
	    "ttl = 300\n"
	    "allow_public = yes\n"
	    "strict = off\n"
	    "missing = fallback\n"
	    "allow_empty = yes\n"
	    "max_drop = 25\n", tmpdir);
	cfg = load_ok(text);
	assert_int_equal(cfg->nsources, 5);
	snprintf(expect, sizeof(expect), "csv:%s/data/a.csv", tmpdir);
	assert_string_equal(cfg->sources[0], expect);
	snprintf(expect, sizeof(expect), "json:%s/data/b.json", tmpdir);
	assert_string_equal(cfg->sources[1], expect);
	snprintf(expect, sizeof(expect), "hosts:%s/hosts", tmpdir);
	assert_string_equal(cfg->sources[2], expect);
	snprintf(expect, sizeof(expect), "zone:%s/db.zone", tmpdir);
	assert_string_equal(cfg->sources[3], expect);
	assert_string_equal(cfg->sources[4], tpath("plain.txt"));
	assert_null(cfg->sources[5]);
	assert_int_equal(cfg->record_ttl, 300);
	assert_true(cfg->allow_public);
	assert_false(cfg->strict);
	assert_int_equal(cfg->missing, MISSING_FALLBACK);
	assert_true(cfg->allow_empty);
	assert_int_equal(cfg->max_drop, 25);
	config_free(cfg);
}

static void
test_log_and_control_sections(void **state)
{
	static const char *const levels[] = { "error", "warning", "info", "debug" };
	struct config *cfg;

	(void)state;
	for (size_t i = 0; i < nitems(levels); i++) {
		char text[128];

		snprintf(text, sizeof(text), "[log]\nlevel = %s\nquery_log = yes\n",
		    levels[i]);
		cfg = load_ok(text);
		assert_int_equal(cfg->log_level, (int)i);
		assert_true(cfg->query_log);
		config_free(cfg);
	}

	cfg = load_ok("[control]\nlisten = [::1]\ntoken_file = secret/token\n");
	assert_string_equal(cfg->control_listen, "[::1]");
	assert_string_equal(astr(&cfg->control_addr), "[::1]:8053");
	assert_string_equal(cfg->token_file, tpath("secret/token"));
	config_free(cfg);

	cfg = load_ok("[control]\nlisten = none\ntoken_file = /etc/pldns/token\n");
	assert_string_equal(cfg->control_listen, "");
	assert_int_equal(cfg->control_addr.ss.ss_family, AF_UNSPEC);
	assert_string_equal(cfg->token_file, "/etc/pldns/token");
	config_free(cfg);

	cfg = load_ok("[control]\nlisten =\n");
	assert_string_equal(cfg->control_listen, "");
	config_free(cfg);
}

static void
test_doctor_section(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok("[doctor]\nexpect_subnets = 10.1.0.0/16 10.2.3.7, fd00::/8\n");
	assert_int_equal(cfg->nexpect_subnets, 3);
	assert_string_equal(cstr(&cfg->expect_subnets[0]), "10.1.0.0/16");
	assert_string_equal(cstr(&cfg->expect_subnets[1]), "10.2.3.7/32");
	assert_string_equal(cstr(&cfg->expect_subnets[2]), "fd00::/8");
	config_free(cfg);

	/* Default and empty: any private address. */
	cfg = load_ok("[doctor]\nexpect_subnets =\n");
	assert_null(cfg->expect_subnets);
	assert_int_equal(cfg->nexpect_subnets, 0);
	config_free(cfg);
	cfg = config_new();
	assert_null(cfg->expect_subnets);
	assert_int_equal(cfg->nexpect_subnets, 0);
	config_free(cfg);

	assert_load_fails("[doctor]\n"
	    "expect_subnets = 10.1.0.0/16, 10.300.0.0/16\n"
	    "expect = 10.0.0.0/8\n"
	    "[doctor \"x\"]\n",
	    "pldns.ini:2: bad value for expect_subnets: \"10.300.0.0/16\": not an "
	    "IP address\n"
	    "pldns.ini:3: unknown key \"expect\" in [doctor]\n"
	    "pldns.ini:4: [doctor] takes no name");
}

static void
test_forward_sections(void **state)
{
	struct config *cfg = load_ok(
	    "[forward \"Corp.Example.COM.\"]\n"
	    "servers = 10.0.0.53, 10.0.1.53:5353\n"
	    "\n"
	    "[forward \"_msdcs.ad.example\"]\n"
	    "servers = [fd00::53]:53\n");

	(void)state;
	assert_int_equal(cfg->nforwards, 2);
	assert_string_equal(cfg->forwards[0].name, "corp.example.com");
	assert_int_equal(cfg->forwards[0].nservers, 2);
	assert_string_equal(astr(&cfg->forwards[0].servers[0]), "10.0.0.53:53");
	assert_string_equal(astr(&cfg->forwards[0].servers[1]), "10.0.1.53:5353");
	assert_string_equal(cfg->forwards[0].where, "pldns.ini:1");
	assert_string_equal(cfg->forwards[1].name, "_msdcs.ad.example");
	assert_int_equal(cfg->forwards[1].nservers, 1);
	assert_string_equal(astr(&cfg->forwards[1].servers[0]), "[fd00::53]:53");
	assert_string_equal(cfg->forwards[1].where, "pldns.ini:4");
	config_free(cfg);
}

static void
test_zone_sections(void **state)
{
	struct config *cfg;
	const struct zone_conf *z;

	(void)state;
	assert_int_equal(mkdir("zones", 0755), 0);
	write_file("zones/blob.zone", "");
	cfg = load_ok(
	    "[zone \"privatelink.blob.core.windows.net\"]\n"
	    "file = zones/blob.zone\n"
	    "twin = blob.core.windows.net, Blob.Storage.Azure.NET.\n"
	    "missing = fallback\n"
	    "multi = yes\n"
	    "[zone \"privatelink.vaultcore.azure.net.\"]\n"
	    "multi = false\n"
	    "[zone \"corp.internal\"]\n"
	    "twin =\n");

	assert_int_equal(cfg->nzones, 3);
	z = config_zone(cfg, "privatelink.blob.core.windows.net");
	assert_non_null(z);
	assert_ptr_equal(z, &cfg->zones[0]);
	assert_string_equal(z->file, tpath("zones/blob.zone"));
	assert_int_equal(z->ntwins, 2);
	assert_string_equal(z->twins[0], "blob.core.windows.net");
	assert_string_equal(z->twins[1], "blob.storage.azure.net");
	assert_null(z->twins[2]);
	assert_int_equal(z->missing, MISSING_FALLBACK);
	assert_int_equal(z->multi, 1);
	assert_string_equal(z->where, "pldns.ini:1");

	/* Keys not given stay unset. */
	z = config_zone(cfg, "privatelink.vaultcore.azure.net");
	assert_non_null(z);
	assert_null(z->file);
	assert_null(z->twins);
	assert_int_equal(z->ntwins, 0);
	assert_int_equal(z->missing, -1);
	assert_int_equal(z->multi, 0);
	assert_string_equal(z->where, "pldns.ini:6");

	/* An empty twin list is given, not unset. */
	z = config_zone(cfg, "corp.internal");
	assert_non_null(z);
	assert_non_null(z->twins);
	assert_null(z->twins[0]);
	assert_int_equal(z->ntwins, 0);
	assert_int_equal(z->multi, -1);

	assert_null(config_zone(cfg, "privatelink.vaultcore.azure.net."));
	assert_null(config_zone(cfg, "other.example"));
	config_free(cfg);
}

/* Zone transfer keys: [zone] allow_transfer, notify, primary, key; [key];
 * [server] state_dir and the secondary zone file. */
static void
test_transfer_keys(void **state)
{
	struct config *cfg;
	const struct zone_conf *z;
	const struct key_conf *k;
	char *f;

	(void)state;
	cfg = load_ok(
	    "[zone \"a.example\"]\n"
	    "allow_transfer = 127.0.0.0/8, ::1 192.0.2.7\n"
	    "notify = 192.0.2.1, [2001:db8::1]:5300\n"
	    "key = XFR-Key.\n"
	    "[zone \"b.example\"]\n"
	    "primary = 192.0.2.10:5353 192.0.2.11\n"
	    "key = other\n"
	    "[key \"xfr-key\"]\n"
	    "secret = c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=\n"
	    "[key \"other\"]\n"
	    "algorithm = HMAC-SHA512\n"
	    "secret = AAEC/w==\n");

	z = config_zone(cfg, "a.example");
	assert_int_equal(z->nallow_transfer, 3);
	assert_string_equal(cstr(&z->allow_transfer[0]), "127.0.0.0/8");
	assert_string_equal(cstr(&z->allow_transfer[1]), "::1/128");
	assert_string_equal(cstr(&z->allow_transfer[2]), "192.0.2.7/32");
	assert_int_equal(z->nnotify, 2);
	assert_string_equal(astr(&z->notify[0]), "192.0.2.1:53");
	assert_string_equal(astr(&z->notify[1]), "[2001:db8::1]:5300");
	assert_int_equal(z->nprimaries, 0);
	assert_null(z->primaries);
	assert_string_equal(z->key, "xfr-key");
	assert_null(z->file);

	z = config_zone(cfg, "b.example");
	assert_int_equal(z->nallow_transfer, 0);
	assert_null(z->allow_transfer);
	assert_int_equal(z->nnotify, 0);
	assert_int_equal(z->nprimaries, 2);
	assert_string_equal(astr(&z->primaries[0]), "192.0.2.10:5353");
	assert_string_equal(astr(&z->primaries[1]), "192.0.2.11:53");
	assert_string_equal(z->key, "other");
	/* Not transferred yet: no file. */
	assert_null(z->file);

	assert_int_equal(cfg->nkeys, 2);
	k = config_key(cfg, "xfr-key");
	assert_non_null(k);
	assert_ptr_equal(k, &cfg->keys[0]);
	assert_int_equal(k->algorithm, KEY_HMAC_SHA256);
	assert_string_equal(k->secret, "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=");
	assert_int_equal(k->secret_len, 32);
	assert_memory_equal(k->secret_bin, "secret-secret-secret-secret-secr", 32);
	assert_string_equal(k->where, "pldns.ini:8");
	k = config_key(cfg, "other");
	assert_int_equal(k->algorithm, KEY_HMAC_SHA512);
	assert_int_equal(k->secret_len, 4);
	assert_memory_equal(k->secret_bin, "\x00\x01\x02\xff", 4);
	assert_null(config_key(cfg, "nokey"));

	/* state_dir: next to the configuration unless given. */
	assert_string_equal(cfg->state_dir, tpath("secondary"));
	f = config_secondary_file(cfg, z);
	assert_string_equal(f, tpath("secondary/b.example.zone"));
	free(f);
	config_free(cfg);

	/* Once the file exists, the zone is read from it. */
	assert_int_equal(mkdir("st", 0755), 0);
	write_file("st/b.example.zone", "");
	cfg = load_ok("[server]\nstate_dir = st\n"
	    "[zone \"b.example\"]\nprimary = 192.0.2.10\n");
	assert_string_equal(cfg->state_dir, tpath("st"));
	assert_string_equal(config_zone(cfg, "b.example")->file,
	    tpath("st/b.example.zone"));
	config_free(cfg);

	cfg = config_new();
	assert_null(cfg->state_dir);
	assert_int_equal(cfg->nkeys, 0);
	config_free(cfg);
}

static void
test_booleans(void **state)
{
	static const struct {
		const char *text;
		bool value;
	} bools[] = {
		{ "yes", true }, { "no", false }, { "true", true },
		{ "false", false }, { "on", true }, { "off", false },
		{ "1", true }, { "0", false }, { "YES", true }, { "Off", false },
	};

	(void)state;
	for (size_t i = 0; i < nitems(bools); i++) {
		char text[64];
		struct config *cfg;

		snprintf(text, sizeof(text), "[log]\nquery_log = %s\n",
		    bools[i].text);
		cfg = load_ok(text);
		assert_int_equal(cfg->query_log, bools[i].value);
		config_free(cfg);
	}
}

static void
test_file_syntax(void **state)
{
	/* BOM, CRLF, comments of both kinds, inline comments, indented keys,
	 * "key: value", and section and key names in any case. */
	struct config *cfg = load_ok(
	    "\xef\xbb\xbf; pldns test\r\n"
	    "# hash comment\n"
	    "\n"
	    "  [ Server ]   ; the server\n"
	    "    workers = 3   ; three\r\n"
	    "\tTCP_Max_Conns = 7 # seven\n"
	    "rrl_rate: 9\n"
	    "[upstream]\n"
	    "servers = 192.0.2.1 tls://192.0.2.1:853#dns.example\n");

	(void)state;
	assert_int_equal(cfg->workers, 3);
	assert_int_equal(cfg->tcp_max_conns, 7);
	assert_int_equal(cfg->rrl_rate, 9);
	assert_string_equal(cfg->upstream_specs[1], "tls://192.0.2.1:853#dns.example");
	config_free(cfg);
}

static void
test_long_lines(void **state)
{
	char *text, *p;
	struct config *cfg;
	size_t n = 500;

	(void)state;
	/* Far longer than inih's built-in 200 characters. */
	text = xmalloc(64 + n * 24);
	p = text + sprintf(text, "[server]\nallow = ");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "10.%zu.%zu.0/24, ", i / 256, i % 256);
	strcpy(p, "192.0.2.0/24\nworkers = 2\n");
	assert_true(strlen(text) > 5000);
	cfg = load_ok(text);
	assert_int_equal(cfg->nallow, n + 1);
	assert_string_equal(cstr(&cfg->allow[n - 1]), "10.1.243.0/24");
	assert_string_equal(cstr(&cfg->allow[n]), "192.0.2.0/24");
	assert_int_equal(cfg->workers, 2);
	config_free(cfg);
	free(text);

	/* Exactly the limit is fine, one more is not. */
	text = xmalloc(8200 + 64);
	p = text + sprintf(text, "[server]\nuser = ");
	memset(p, 'x', 8192 - 7);
	strcpy(p + 8192 - 7, "\r\n");
	cfg = load_ok(text);
	assert_int_equal(strlen(cfg->user), 8192 - 7);
	config_free(cfg);
	p = text + sprintf(text, "[server]\nuser = ");
	memset(p, 'x', 8192 - 6);
	strcpy(p + 8192 - 6, "\n");
	assert_load_fails(text,
	    "pldns.ini:2: line too long (more than 8192 characters)");
	free(text);

	text = xmalloc(9000 + 64);
	p = text + sprintf(text, "[server]\nuser = ");
	memset(p, 'x', 9000);
	strcpy(p + 9000, "\nworkers = 0\n");
	assert_load_fails(text,
	    "pldns.ini:2: line too long (more than 8192 characters)\n"
	    "pldns.ini:3: bad value for workers: 0 is out of range (1..64)");
	free(text);
}

static void
test_relative_to_config_dir(void **state)
{
	struct config *cfg;
	struct diag d;
	char expect[PATH_MAX + 64];

	(void)state;
	assert_int_equal(mkdir("etc", 0755), 0);
	assert_int_equal(mkdir("etc/zones", 0755), 0);
	write_file("etc/zones/corp.zone", "");
	write_file("etc/recs.csv", "");
	write_file("etc/pldns.ini",
	    "[records]\nsources = csv:recs.csv\n"
	    "[zone \"corp.example\"]\nfile = zones/corp.zone\n"
	    "[control]\ntoken_file = ../token\n");
	diag_init(&d);
	cfg = config_load("etc/pldns.ini", &d);
	assert_diag(&d, "");
	assert_non_null(cfg);
	assert_string_equal(cfg->path, "etc/pldns.ini");
	assert_string_equal(cfg->dir, tpath("etc"));
	snprintf(expect, sizeof(expect), "csv:%s/etc/recs.csv", tmpdir);
	assert_string_equal(cfg->sources[0], expect);
	assert_string_equal(cfg->zones[0].file, tpath("etc/zones/corp.zone"));
	assert_string_equal(cfg->token_file, tpath("etc/../token"));
	assert_string_equal(cfg->zones[0].where, "etc/pldns.ini:3");
	config_free(cfg);
	diag_clear(&d);
}

static void
test_data_dir_example(void **state)
{
	struct config *cfg;
	struct diag d;

	(void)state;
	diag_init(&d);
	cfg = config_load(TEST_DATA_DIR "/config/full.ini", &d);
	assert_diag(&d, "");
	assert_non_null(cfg);
	assert_int_equal(cfg->nlisten, 2);
	assert_string_equal(astr(&cfg->listen[0]), "127.0.0.1:5300");
	assert_int_equal(cfg->nsources, 2);
	assert_true(strncmp(cfg->sources[0], "csv:/", 5) == 0);
	assert_non_null(strstr(cfg->sources[0], "/config/records/endpoints.csv"));
	assert_true(strncmp(cfg->sources[1], "hosts:/", 7) == 0);
	assert_int_equal(cfg->nforwards, 1);
	assert_string_equal(cfg->forwards[0].name, "corp.example.com");
	assert_int_equal(cfg->nzones, 1);
	assert_non_null(strstr(cfg->zones[0].file, "/config/zones/corp.internal.zone"));
	assert_int_equal(cfg->nupstreams, 2);
	assert_int_equal(cfg->nupstream_specs, 3);
	config_free(cfg);
	diag_clear(&d);
}

/* ---- resolv.conf ---- */

static void
test_resolv_conf_default(void **state)
{
	struct config *cfg;

	(void)state;
	write_file("resolv.conf",
	    "# written by hand\n"
	    "search example.com\n"
	    "nameserver 127.0.0.1\n"		/* ourselves: skipped */
	    "nameserver 0.0.0.0\n"		/* "this host": skipped */
	    "nameserver 192.0.2.1\n"
	    "nameserver ::1\n"			/* ourselves: skipped */
	    "  nameserver\t2001:db8::53   # trailing words\n"
	    "nameserver 192.0.2.1\n"		/* twice: once */
	    "nameserver 127.0.0.53\n"
	    "options edns0\n");
	cfg = load_ok("");
	assert_true(cfg->upstreams_from_resolv_conf);
	assert_int_equal(cfg->nupstreams, 3);
	assert_string_equal(astr(&cfg->upstreams[0]), "192.0.2.1:53");
	assert_string_equal(astr(&cfg->upstreams[1]), "[2001:db8::53]:53");
	assert_string_equal(astr(&cfg->upstreams[2]), "127.0.0.53:53");
	/* Nothing from resolv.conf is a spec written in the config. */
	assert_int_equal(cfg->nupstream_specs, 0);
	config_free(cfg);
}

static void
test_resolv_conf_other_port(void **state)
{
	struct config *cfg;

	(void)state;
	/* Listening on 5353, 127.0.0.1:53 is another server. */
	write_file("resolv.conf", "nameserver 127.0.0.1\nnameserver ::1\n");
	cfg = load_ok("[server]\nlisten = 127.0.0.1:5353, [::1]:53\n");
	assert_int_equal(cfg->nupstreams, 1);
	assert_string_equal(astr(&cfg->upstreams[0]), "127.0.0.1:53");
	config_free(cfg);
}

static void
test_resolv_conf_wildcard(void **state)
{
	struct config *cfg;

	(void)state;
	/* On 0.0.0.0:53 pldns is every local IPv4 address, not ::1. */
	write_file("resolv.conf", "nameserver 127.0.0.53\nnameserver ::1\n"
	    "nameserver 192.0.2.9\n");
	cfg = load_ok("[server]\nlisten = 0.0.0.0\n");
	assert_int_equal(cfg->nupstreams, 2);
	assert_string_equal(astr(&cfg->upstreams[0]), "[::1]:53");
	assert_string_equal(astr(&cfg->upstreams[1]), "192.0.2.9:53");
	config_free(cfg);

	/* On [::]:53 (dual-stack) it is both. */
	cfg = load_ok("[server]\nlisten = ::\n");
	assert_int_equal(cfg->nupstreams, 1);
	assert_string_equal(astr(&cfg->upstreams[0]), "192.0.2.9:53");
	config_free(cfg);
}

static void
test_resolv_conf_nothing_left(void **state)
{
	struct diag d;
	struct config *cfg;

	(void)state;
	write_file("resolv.conf", "nameserver 127.0.0.1\nnameserver bogus\n");
	cfg = load("", &d);
	assert_non_null(cfg);
	assert_int_equal(d.nerrors, 0);
	assert_diag(&d,
	    "resolv.conf:2: warning: ignoring nameserver \"bogus\": not an IP address\n"
	    "pldns.ini: warning: no upstream servers: forwarding will answer SERVFAIL");
	assert_int_equal(cfg->nupstreams, 0);
	config_free(cfg);
	diag_clear(&d);
}

static void
test_resolv_conf_missing(void **state)
{
	struct diag d;
	struct config *cfg;

	(void)state;
	config_set_resolv_conf("no-such-resolv.conf");
	cfg = load("[server]\n", &d);
	assert_non_null(cfg);
	assert_diag(&d,
	    "no-such-resolv.conf: warning: cannot open: No such file or directory\n"
	    "pldns.ini: warning: no upstream servers: forwarding will answer SERVFAIL");
	config_free(cfg);
	diag_clear(&d);
}

static void
test_resolv_conf_env(void **state)
{
	struct config *cfg;

	(void)state;
	write_file("env-resolv.conf", "nameserver 198.51.100.1\n");
	config_set_resolv_conf(NULL);
	setenv("PLDNS_RESOLV_CONF", "env-resolv.conf", 1);
	cfg = load_ok("");
	assert_int_equal(cfg->nupstreams, 1);
	assert_string_equal(astr(&cfg->upstreams[0]), "198.51.100.1:53");
	config_free(cfg);

	/* The function overrides the environment. */
	config_set_resolv_conf("resolv.conf");
	cfg = load_ok("");
	assert_string_equal(astr(&cfg->upstreams[0]), "192.0.2.53:53");
	config_free(cfg);
}

static void
test_servers_given_empty(void **state)
{
	struct diag d;
	struct config *cfg;

	(void)state;
	/* An explicit empty list means no upstreams, not resolv.conf's. */
	cfg = load("[upstream]\nservers =\n", &d);
	assert_non_null(cfg);
	assert_diag(&d, "pldns.ini:2: warning: no upstream servers: "
	    "forwarding will answer SERVFAIL");
	assert_false(cfg->upstreams_from_resolv_conf);
	assert_int_equal(cfg->nupstreams, 0);
	config_free(cfg);
	diag_clear(&d);
}

/* ---- errors ---- */

static void
test_err_no_file(void **state)
{
	struct diag d;

	(void)state;
	diag_init(&d);
	assert_null(config_load("missing.ini", &d));
	assert_diag(&d, "missing.ini: cannot open: No such file or directory");
	diag_clear(&d);
}

static void
test_err_unknown_key(void **state)
{
	(void)state;
	assert_load_fails("[server]\n\n\n\n\n\nlistn = 127.0.0.1\n",
	    "pldns.ini:7: unknown key \"listn\" in [server]");
	assert_load_fails("[forward \"corp.example\"]\nservers = 10.0.0.1\nfile = x\n",
	    "pldns.ini:3: unknown key \"file\" in [forward \"corp.example\"]");
	/* A [forward] key in a [zone] and the other way round. */
	assert_load_fails("[zone \"a.example\"]\nservers = 10.0.0.1\n",
	    "pldns.ini:2: unknown key \"servers\" in [zone \"a.example\"]");
	assert_load_fails("[cache]\nlisten = 127.0.0.1\n",
	    "pldns.ini:2: unknown key \"listen\" in [cache]");
}

/* [azure "NAME"]: defaults by cloud and auth, GUIDs, URLs, what to read. */
static void
test_azure_sections(void **state)
{
	struct config *cfg;
	const struct azure_conf *a;

	(void)state;
	cfg = load_ok(
	    "[azure \"Contoso\"]\n"
	    "auth = secret\n"
	    "tenant = 11111111-2222-3333-4444-55555555555A\n"
	    "client_id = aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\n"
	    "secret_file = app.secret\n"
	    "subscriptions = 00000000-0000-0000-0000-000000000001 "
	    "00000000-0000-0000-0000-000000000002\n"
	    "read = endpoints, zones\n"
	    "interval = 60\n"
	    "cloud = usgov\n"
	    "[azure \"arc\"]\n"
	    "subscriptions = all\n"
	    "management_url = https://arm.local:8443/\n"
	    "proxy = none\n");
	assert_int_equal(cfg->nazures, 2);
	a = config_azure(cfg, "contoso");
	assert_non_null(a);
	assert_int_equal(a->auth, AZ_AUTH_SECRET);
	assert_string_equal(a->tenant, "11111111-2222-3333-4444-55555555555a");
	assert_string_equal(a->secret_file, tpath("app.secret"));
	assert_int_equal(a->nsubscriptions, 2);
	assert_int_equal(a->read_mask, AZ_READ_ZONES | AZ_READ_ENDPOINTS);
	assert_int_equal(a->interval, 60);
	assert_string_equal(a->management_url, "https://management.usgovcloudapi.net");
	assert_string_equal(a->login_url, "https://login.microsoftonline.us");
	assert_null(a->proxy);
	assert_string_equal(a->where, "pldns.ini:1");
	a = config_azure(cfg, "arc");
	assert_int_equal(a->auth, AZ_AUTH_ARC);
	assert_string_equal(a->subscriptions[0], "all");
	assert_int_equal(a->read_mask, AZ_READ_ZONES);
	assert_int_equal(a->interval, 300);
	assert_string_equal(a->management_url, "https://arm.local:8443");
	assert_string_equal(a->login_url, "https://login.microsoftonline.com");
	assert_string_equal(a->identity_url, "http://127.0.0.1:40342");
	assert_string_equal(a->identity_key_dir, "/var/opt/azcmagent/tokens");
	assert_string_equal(a->proxy, "");
	config_free(cfg);

	assert_load_fails("[azure \"x\"]\nauth = federated\n",
	    "pldns.ini:1: [azure \"x\"]: subscriptions is required\n"
	    "pldns.ini:1: [azure \"x\"]: tenant is required with auth = federated\n"
	    "pldns.ini:1: [azure \"x\"]: client_id is required with auth = federated\n"
	    "pldns.ini:1: [azure \"x\"]: token_file is required with auth = federated");
	assert_load_fails("[azure \"x\"]\nsubscriptions = all, "
	    "00000000-0000-0000-0000-000000000001\nlogin_url = ftp://x\n"
	    "interval = 0\n",
	    "pldns.ini:4: bad value for interval: 0 is out of range (1..604800)\n"
	    "pldns.ini:2: bad value for subscriptions: all stands alone\n"
	    "pldns.ini:3: bad value for login_url: \"ftp://x\" is not an https:// URL");
	assert_load_fails("[azure \"x\"]\nsubscriptions = 1\n[azure \"x\"]\n"
	    "subscriptions = all\n",
	    "pldns.ini:2: bad value for subscriptions: \"1\" is not a GUID (as "
	    "00000000-0000-0000-0000-000000000000)\n"
	    "pldns.ini:3: duplicate section [azure \"x\"] (first on line 1)");
}

static void
test_err_unknown_section(void **state)
{
	(void)state;
	/* Keys of an unknown section are not reported one by one. */
	assert_load_fails("[server]\nworkers = 2\n\n[serevr]\nlisten = x\n",
	    "pldns.ini:4: unknown section [serevr]");
	assert_load_fails("[forwarder \"x.example\"]\n",
	    "pldns.ini:1: unknown section [forwarder \"x.example\"]");
}

static void
test_err_bad_numbers(void **state)
{
	(void)state;
	assert_load_fails("[upstream]\nservers = 192.0.2.1\ntimeout_ms = abc\n",
	    "pldns.ini:3: bad value for timeout_ms: \"abc\" is not a number");
	assert_load_fails("[upstream]\ntimeout_ms = 10\n",
	    "pldns.ini:2: bad value for timeout_ms: 10 is out of range (50..60000)");
	assert_load_fails("[upstream]\ndeadline_ms = 120001\n",
	    "pldns.ini:2: bad value for deadline_ms: 120001 is out of range "
	    "(100..120000)");
	assert_load_fails("[records]\nmax_drop = 101\n",
	    "pldns.ini:2: bad value for max_drop: 101 is out of range (0..100)");
	assert_load_fails("[upstream]\ntimeout_ms = -5\n",
	    "pldns.ini:2: bad value for timeout_ms: \"-5\" is not a number");
	assert_load_fails("[upstream]\ntimeout_ms = 1500ms\n",
	    "pldns.ini:2: bad value for timeout_ms: \"1500ms\" is not a number");
	assert_load_fails("[upstream]\ntimeout_ms =\n",
	    "pldns.ini:2: bad value for timeout_ms: \"\" is not a number");
	assert_load_fails("[records]\nttl = 99999999999999999999999\n",
	    "pldns.ini:2: bad value for ttl: 99999999999999999999999 is out of "
	    "range (0..2147483647)");
	assert_load_fails("[server]\nworkers = 65\n",
	    "pldns.ini:2: bad value for workers: 65 is out of range (1..64)");
	assert_load_fails("[server]\nworkers = many\n",
	    "pldns.ini:2: bad value for workers: \"many\" is not a number or auto");
	assert_load_fails("[server]\nrrl_slip = 11\n",
	    "pldns.ini:2: bad value for rrl_slip: 11 is out of range (0..10)");
}

static void
test_err_bad_size(void **state)
{
	(void)state;
	assert_load_fails("[cache]\nsize = 64X\n",
	    "pldns.ini:2: bad value for size: \"64X\" is not a size (a number "
	    "with an optional K, M or G suffix)");
	assert_load_fails("[cache]\nsize = M\n",
	    "pldns.ini:2: bad value for size: \"M\" is not a size (a number "
	    "with an optional K, M or G suffix)");
	assert_load_fails("[cache]\nsize = 64MB\n",
	    "pldns.ini:2: bad value for size: \"64MB\" is not a size (a number "
	    "with an optional K, M or G suffix)");
	assert_load_fails("[cache]\nsize = 99999999999999G\n",
	    "pldns.ini:2: bad value for size: 99999999999999G is too large");
}

static void
test_err_bad_bool_and_enum(void **state)
{
	(void)state;
	assert_load_fails("[cache]\nserve_stale = maybe\n",
	    "pldns.ini:2: bad value for serve_stale: \"maybe\" is not a boolean "
	    "(yes, no, true, false, on, off, 1 or 0)");
	assert_load_fails("[log]\nlevel = verbose\n",
	    "pldns.ini:2: bad value for level: \"verbose\" is not one of "
	    "error, warning, info, debug");
	assert_load_fails("[server]\nrefuse_action = ignore\n",
	    "pldns.ini:2: bad value for refuse_action: \"ignore\" is not one of "
	    "refuse, drop");
	assert_load_fails("[records]\nmissing = servfail\n",
	    "pldns.ini:2: bad value for missing: \"servfail\" is not one of "
	    "nxdomain, fallback");
	assert_load_fails("[zone \"z.example\"]\nmissing = x\nmulti = 2\n",
	    "pldns.ini:2: bad value for missing: \"x\" is not one of "
	    "nxdomain, fallback\n"
	    "pldns.ini:3: bad value for multi: \"2\" is not a boolean "
	    "(yes, no, true, false, on, off, 1 or 0)");
}

static void
test_cookie_secret(void **state)
{
	struct config *cfg = load_ok("[server]\ncookie_secret = "
	    "e5e973e5a6b2a43f48e7dc849e37bfcf, 445536BCD2513298075A5D379663C962\n");

	(void)state;
	assert_int_equal(cfg->ncookie_secret, 2);
	assert_string_equal(cfg->cookie_secret[1], "445536BCD2513298075A5D379663C962");
	config_free(cfg);
	cfg = load_ok("");
	assert_int_equal(cfg->ncookie_secret, 0);
	config_free(cfg);
	assert_load_fails("[server]\ncookie_secret = e5e973e5a6b2a43f48e7dc849e37bfc\n",
	    "pldns.ini:2: bad value for cookie_secret: "
	    "\"e5e973e5a6b2a43f48e7dc849e37bfc\": not 32 hexadecimal digits");
	assert_load_fails("[server]\ncookie_secret = "
	    "00000000000000000000000000000000 00000000000000000000000000000001 "
	    "00000000000000000000000000000002 00000000000000000000000000000003 "
	    "00000000000000000000000000000004\n",
	    "pldns.ini:2: bad value for cookie_secret: more than 4 secrets");
}

static void
test_err_bad_addresses(void **state)
{
	(void)state;
	/* Every bad entry of a list is reported. */
	assert_load_fails("[server]\nlisten = 127.0.0.1:0, dns.example, [::1]:53, "
	    "127.0.0.1:99999\n",
	    "pldns.ini:2: bad value for listen: \"127.0.0.1:0\": port out of "
	    "range (1..65535)\n"
	    "pldns.ini:2: bad value for listen: \"dns.example\": not an IP address\n"
	    "pldns.ini:2: bad value for listen: \"127.0.0.1:99999\": port out of "
	    "range (1..65535)");
	assert_load_fails("[server]\nlisten = 127.0.0.1, 127.0.0.1:53\n",
	    "pldns.ini:2: bad value for listen: \"127.0.0.1:53\" is given twice");
	assert_load_fails("[control]\nlisten = localhost:8053\n",
	    "pldns.ini:2: bad value for listen: \"localhost:8053\": not an IP "
	    "address");
	assert_load_fails("[forward \"x.example\"]\nservers = 10.0.0.1:53x\n",
	    "pldns.ini:2: bad value for servers: \"10.0.0.1:53x\": bad port");
}

static void
test_err_empty_lists(void **state)
{
	(void)state;
	assert_load_fails("[server]\nlisten =\nallow = ,\n"
	    "[forward \"a.example\"]\nservers =\n",
	    "pldns.ini:2: bad value for listen: the list is empty\n"
	    "pldns.ini:3: bad value for allow: the list is empty\n"
	    "pldns.ini:5: bad value for servers: the list is empty");
}

static void
test_err_bad_cidrs(void **state)
{
	(void)state;
	assert_load_fails("[server]\nallow = 10.0.0.0/33, fc00::/7, 192.168.0.0/x\n"
	    "allow_forward = 10.0.0.0/8 corp\n",
	    "pldns.ini:2: bad value for allow: \"10.0.0.0/33\": prefix length out "
	    "of range (0..32)\n"
	    "pldns.ini:2: bad value for allow: \"192.168.0.0/x\": bad prefix length\n"
	    "pldns.ini:3: bad value for allow_forward: \"corp\": not an IP address");
}

static void
test_err_upstream_specs(void **state)
{
	(void)state;
	/* A bad list leaves no upstreams and does not fall back on
	 * resolv.conf; the error is enough, so no warning either. */
	assert_load_fails("[upstream]\nservers = 192.0.2.1, dns.google, "
	    "tls://dns.google, tls://192.0.2.1#bad..name, https://192.0.2.1/q, "
	    "tls://192.0.2.1:0\n",
	    "pldns.ini:2: bad value for servers: \"dns.google\": not an IP address\n"
	    "pldns.ini:2: bad value for servers: \"tls://dns.google\": not an IP "
	    "address\n"
	    "pldns.ini:2: bad value for servers: \"tls://192.0.2.1#bad..name\": bad "
	    "name after '#': empty label\n"
	    "pldns.ini:2: bad value for servers: \"https://192.0.2.1/q\": "
	    "unsupported scheme \"https\" (only tls:// is supported)\n"
	    "pldns.ini:2: bad value for servers: \"tls://192.0.2.1:0\": port out "
	    "of range (1..65535)");
}

static void
test_err_duplicate_key(void **state)
{
	(void)state;
	assert_load_fails("[server]\nworkers = 2\nuser = a\nworkers = 3\n",
	    "pldns.ini:4: duplicate key \"workers\" in [server] (first on line 2)");
	/* A section may be opened again, but a key is still given once. */
	assert_load_fails("[server]\nworkers = 2\n[cache]\n[server]\nWorkers = 3\n",
	    "pldns.ini:5: duplicate key \"Workers\" in [server] (first on line 2)");
	assert_load_fails("[forward \"a.example\"]\nservers = 10.0.0.1\n"
	    "servers = 10.0.0.2\n",
	    "pldns.ini:3: duplicate key \"servers\" in [forward \"a.example\"] "
	    "(first on line 2)");
}

static void
test_err_required_key(void **state)
{
	(void)state;
	/* Reported on the header's line, also for a section that ends the file. */
	assert_load_fails("[server]\nworkers = 1\n\n[forward \"x\"]\n\n"
	    "[forward \"y.example\"]\nservers = 10.0.0.1\n[forward \"z\"]\n",
	    "pldns.ini:4: [forward \"x\"]: servers is required\n"
	    "pldns.ini:8: [forward \"z\"]: servers is required");
	/* A bad value is reported, not also as missing. */
	assert_load_fails("[forward \"x\"]\nservers = nope\n",
	    "pldns.ini:2: bad value for servers: \"nope\": not an IP address");
}

static void
test_err_duplicate_sections(void **state)
{
	(void)state;
	/* Names compare lower-cased and without the trailing dot; keys of the
	 * duplicate are still checked. */
	assert_load_fails(
	    "[forward \"corp.example.com\"]\nservers = 10.0.0.1\n"
	    "[zone \"z.example\"]\n"
	    "[forward \"Corp.Example.com.\"]\nservers = bad\n"
	    "[zone \"Z.EXAMPLE\"]\n",
	    "pldns.ini:4: duplicate section [forward \"Corp.Example.com.\"] "
	    "(first on line 1)\n"
	    "pldns.ini:5: bad value for servers: \"bad\": not an IP address\n"
	    "pldns.ini:6: duplicate section [zone \"Z.EXAMPLE\"] (first on line 3)");
}

static void
test_err_section_headers(void **state)
{
	(void)state;
	assert_load_fails(
	    "[forward \"a..b\"]\nservers = 10.0.0.1\n"
	    "[forward corp.example]\nservers = 10.0.0.1\n"
	    "[zone]\nfile = x\n"
	    "[server \"main\"]\nworkers = x\n"
	    "[zone \"bad name.example\"]\n"
	    "[forward \".\"]\nservers = 10.0.0.1\n"
	    "[zone \"x\" \"y\"]\n",
	    "pldns.ini:1: bad name in [forward \"a..b\"]: empty label\n"
	    "pldns.ini:3: bad section header [forward corp.example]: the name "
	    "must be in double quotes, as in [forward \"example.com\"]\n"
	    "pldns.ini:5: [zone] needs a name, as in [zone \"example.com\"]\n"
	    "pldns.ini:7: [server] takes no name\n"
	    "pldns.ini:9: bad name in [zone \"bad name.example\"]: only letters, "
	    "digits, '-' and '_' may form a label\n"
	    "pldns.ini:10: bad name in [forward \".\"]: the root is not allowed "
	    "here\n"
	    "pldns.ini:12: bad section header [zone \"x\" \"y\"]: the name must be "
	    "in double quotes, as in [zone \"example.com\"]");
}

static void
test_err_syntax(void **state)
{
	(void)state;
	assert_load_fails(
	    "[server]\n"
	    "workers\n"
	    "= 4\n"
	    "[cache\n"
	    "size = 1M\n"
	    "[log] level = debug\n"
	    "query_log ; = yes\n"
	    "[records]\n"
	    "ttl = 5\n",
	    "pldns.ini:2: syntax error\n"
	    "pldns.ini:3: syntax error\n"
	    "pldns.ini:4: syntax error\n"
	    "pldns.ini:6: syntax error\n"
	    "pldns.ini:7: syntax error");
	assert_load_fails("workers = 4\n[server]\n",
	    "pldns.ini:1: key \"workers\" outside any section");
}

static void
test_err_missing_files(void **state)
{
	char expect[4 * PATH_MAX];

	(void)state;
	write_file("ok.csv", "");
	assert_int_equal(mkdir("adir", 0755), 0);
	snprintf(expect, sizeof(expect),
	    "pldns.ini:2: cannot read %s/nope.csv: No such file or directory\n"
	    "pldns.ini:2: bad value for sources: \"hosts:adir\": a directory "
	    "takes no format prefix (each file in it is read by its extension: "
	    ".csv, .json, .hosts or .zone)\n"
	    "pldns.ini:2: bad value for sources: \"xml:ok.csv\": unknown format "
	    "\"xml\" (use csv:, json:, hosts: or zone:)\n"
	    "pldns.ini:2: bad value for sources: \"csv:\": empty path\n"
	    "pldns.ini:4: cannot read %s/zones/none.zone: No such file or "
	    "directory",
	    tmpdir, tmpdir);
	assert_load_fails(
	    "[records]\n"
	    "sources = csv:nope.csv, ok.csv, hosts:adir, xml:ok.csv, csv:\n"
	    "[zone \"a.example\"]\n"
	    "file = zones/none.zone\n",
	    expect);
}

/*
 * A directory among the sources: every file in it with a known extension,
 * by that extension, sorted by name; hidden files, other extensions and
 * subdirectories left out; the directory kept for the watch.
 */
static void
test_records_directory(void **state)
{
	struct config *cfg;
	char text[PATH_MAX + 256], expect[PATH_MAX + 64];

	(void)state;
	assert_int_equal(mkdir("records", 0755), 0);
	write_file("records/b.zone", "");
	write_file("records/a.csv", "");
	write_file("records/C.JSON", "");
	write_file("records/d.hosts", "");
	write_file("records/README", "");
	write_file("records/.e.csv.swp", "");
	write_file("records/f.csv.dpkg-old", "");
	write_file("records/g.csv~", "");
	assert_int_equal(mkdir("records/old.csv", 0755), 0);
	assert_int_equal(symlink("../elsewhere.csv", "records/z.csv"), 0);
	write_file("elsewhere.csv", "");
	write_file("last.csv", "");
	snprintf(text, sizeof(text), "[records]\nsources = records, last.csv, "
	    "%s/records/\n", tmpdir);
	cfg = load_ok(text);
	assert_int_equal(cfg->nsources, 11);
	snprintf(expect, sizeof(expect), "json:%s/records/C.JSON", tmpdir);
	assert_string_equal(cfg->sources[0], expect);
	snprintf(expect, sizeof(expect), "csv:%s/records/a.csv", tmpdir);
	assert_string_equal(cfg->sources[1], expect);
	snprintf(expect, sizeof(expect), "zone:%s/records/b.zone", tmpdir);
	assert_string_equal(cfg->sources[2], expect);
	snprintf(expect, sizeof(expect), "hosts:%s/records/d.hosts", tmpdir);
	assert_string_equal(cfg->sources[3], expect);
	snprintf(expect, sizeof(expect), "csv:%s/records/z.csv", tmpdir);
	assert_string_equal(cfg->sources[4], expect);
	assert_string_equal(cfg->sources[5], tpath("last.csv"));
	snprintf(expect, sizeof(expect), "csv:%s/records/a.csv", tmpdir);
	assert_string_equal(cfg->sources[7], expect);
	assert_null(cfg->sources[11]);
	assert_int_equal(cfg->nsource_dirs, 2);
	assert_string_equal(cfg->source_dirs[0], tpath("records/"));
	assert_string_equal(cfg->source_dirs[1], tpath("records/"));
	assert_null(cfg->source_dirs[2]);
	config_free(cfg);
}

/* An empty records directory loads: a new site has no records yet. */
static void
test_records_directory_empty(void **state)
{
	struct config *cfg;

	(void)state;
	assert_int_equal(mkdir("records", 0755), 0);
	cfg = load_ok("[records]\nsources = records/\n");
	assert_int_equal(cfg->nsources, 0);
	assert_null(cfg->sources[0]);
	assert_int_equal(cfg->nsource_dirs, 1);
	assert_string_equal(cfg->source_dirs[0], tpath("records/"));
	config_free(cfg);
}

/* A format prefix on a directory, a missing directory, a dangling link. */
static void
test_err_records_directory(void **state)
{
	char expect[4 * PATH_MAX];

	(void)state;
	assert_int_equal(mkdir("records", 0755), 0);
	assert_int_equal(symlink("gone.csv", "records/a.csv"), 0);
	snprintf(expect, sizeof(expect),
	    "pldns.ini:2: cannot read %s/records/a.csv: No such file or "
	    "directory\n"
	    "pldns.ini:2: bad value for sources: \"csv:records/\": a directory "
	    "takes no format prefix (each file in it is read by its extension: "
	    ".csv, .json, .hosts or .zone)\n"
	    "pldns.ini:2: cannot read %s/nodir: No such file or directory",
	    tmpdir, tmpdir);
	assert_load_fails(
	    "[records]\n"
	    "sources = records, csv:records/, nodir/\n",
	    expect);
}

static void
test_err_transfer_keys(void **state)
{
	char expect[2 * PATH_MAX + 2048];

	(void)state;
	snprintf(expect, sizeof(expect),
	    "pldns.ini:2: bad value for allow_transfer: \"10.0.0.0/33\": prefix "
	    "length out of range (0..32)\n"
	    "pldns.ini:3: bad value for notify: \"192.0.2.1:0\": port out of range "
	    "(1..65535)\n"
	    "pldns.ini:4: bad value for primary: the list is empty\n"
	    "pldns.ini:5: bad value for key: \"no key\": only letters, digits, '-' "
	    "and '_' may form a label\n"
	    "pldns.ini:9: cannot read %s/b.zone: No such file or directory\n"
	    "pldns.ini:9: [zone \"b.example\"]: file and primary exclude each other "
	    "(a secondary zone is kept in state_dir)\n"
	    "pldns.ini:11: bad value for algorithm: \"hmac-md5\" is not one of "
	    "hmac-sha256, hmac-sha1, hmac-sha224, hmac-sha384, hmac-sha512\n"
	    "pldns.ini:12: bad value for secret: \"not base64!\" is not base64\n"
	    "pldns.ini:14: bad value for secret: the secret is empty\n"
	    "pldns.ini:15: [key \"k3\"]: secret is required\n"
	    "pldns.ini:17: [key] needs a name, as in [key \"example.com\"]\n"
	    "pldns.ini:18: duplicate section [key \"k1\"] (first on line 10)\n"
	    "pldns.ini:21: bad value for secret: \"YWJ=\" is not base64\n"
	    "pldns.ini:7: bad value for key: no [key \"missing\"] section", tmpdir);
	assert_load_fails(
	    "[zone \"a.example\"]\n"
	    "allow_transfer = 10.0.0.0/33\n"
	    "notify = 192.0.2.1:0\n"
	    "primary =\n"
	    "key = no key\n"
	    "[zone \"b.example\"]\n"
	    "key = missing\n"
	    "primary = 192.0.2.1\n"
	    "file = b.zone\n"
	    "[key \"k1\"]\n"
	    "algorithm = hmac-md5\n"
	    "secret = not base64!\n"
	    "[key \"k2\"]\n"
	    "secret =\n"
	    "[key \"k3\"]\n"
	    "algorithm = hmac-sha1\n"
	    "[key]\n"
	    "[key \"k1\"]\n"
	    "secret = YWJj\n"
	    "[key \"k4\"]\n"
	    "secret = YWJ=\n",
	    expect);
}

static void
test_err_twin_names(void **state)
{
	(void)state;
	assert_load_fails("[zone \"a.example\"]\ntwin = good.example, -x!.example, "
	    "a..b\n",
	    "pldns.ini:2: bad value for twin: \"-x!.example\": only letters, "
	    "digits, '-' and '_' may form a label\n"
	    "pldns.ini:2: bad value for twin: \"a..b\": empty label");
}

static void
test_err_cross_checks(void **state)
{
	(void)state;
	assert_load_fails("[upstream]\ntimeout_ms = 3000\n",
	    "pldns.ini:2: deadline_ms (2800) is less than timeout_ms (3000)");
	assert_load_fails("[upstream]\ndeadline_ms = 1000\ntimeout_ms = 1500\n",
	    "pldns.ini:2: deadline_ms (1000) is less than timeout_ms (1500)");
	assert_load_fails("[cache]\nmax_ttl = 60\nmin_ttl = 300\n",
	    "pldns.ini:3: min_ttl (300) is greater than max_ttl (60)");
	/* A rejected value is not compared with anything. */
	assert_load_fails("[upstream]\ntimeout_ms = 5\ndeadline_ms = 100\n",
	    "pldns.ini:2: bad value for timeout_ms: 5 is out of range (50..60000)");
}

static void
test_err_many_together(void **state)
{
	(void)state;
	/* Every problem, in file order, in one load. */
	assert_load_fails(
	    "[server]\n"
	    "listn = 127.0.0.1\n"
	    "workers = 0\n"
	    "\n"
	    "[upstream]\n"
	    "timeout_ms = abc\n"
	    "this is not a key\n"
	    "[serevr]\n"
	    "[forward \"x\"]\n"
	    "[log]\n"
	    "level = loud\n"
	    "level = debug\n",
	    "pldns.ini:2: unknown key \"listn\" in [server]\n"
	    "pldns.ini:3: bad value for workers: 0 is out of range (1..64)\n"
	    "pldns.ini:6: bad value for timeout_ms: \"abc\" is not a number\n"
	    "pldns.ini:7: syntax error\n"
	    "pldns.ini:8: unknown section [serevr]\n"
	    "pldns.ini:9: [forward \"x\"]: servers is required\n"
	    "pldns.ini:11: bad value for level: \"loud\" is not one of error, "
	    "warning, info, debug\n"
	    "pldns.ini:12: duplicate key \"level\" in [log] (first on line 11)");
}

static void
test_warning_only_keeps_config(void **state)
{
	struct diag d;
	struct config *cfg;

	(void)state;
	write_file("resolv.conf", "");
	cfg = load("[records]\nttl = 60\n", &d);
	assert_non_null(cfg);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.nwarnings, 1);
	assert_int_equal(cfg->record_ttl, 60);
	config_free(cfg);
	diag_clear(&d);
}

/* config_line: the line a global key was given on, 0 for a default. */
static void
test_key_lines(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load_ok("[server]\nlisten = 127.0.0.1:5353\nuser = nobody\n\n"
	    "[control]\nlisten = none\ntoken_file = tok\n");
	assert_int_equal(config_line(cfg, "server", "listen"), 2);
	assert_int_equal(config_line(cfg, "server", "user"), 3);
	assert_int_equal(config_line(cfg, "control", "listen"), 6);
	assert_int_equal(config_line(cfg, "control", "token_file"), 7);
	assert_int_equal(config_line(cfg, "server", "state_dir"), 0);
	assert_int_equal(config_line(cfg, "server", "no_such_key"), 0);
	config_free(cfg);
	cfg = config_new();
	assert_int_equal(config_line(cfg, "server", "listen"), 0);
	config_free(cfg);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_new_defaults),
		T(test_key_table),
		T(test_empty_file),
		T(test_server_section),
		T(test_upstream_section),
		T(test_cache_section),
		T(test_records_section),
		T(test_log_and_control_sections),
		T(test_doctor_section),
		T(test_forward_sections),
		T(test_zone_sections),
		T(test_transfer_keys),
		T(test_booleans),
		T(test_file_syntax),
		T(test_long_lines),
		T(test_relative_to_config_dir),
		T(test_data_dir_example),
		T(test_resolv_conf_default),
		T(test_resolv_conf_other_port),
		T(test_resolv_conf_wildcard),
		T(test_resolv_conf_nothing_left),
		T(test_resolv_conf_missing),
		T(test_resolv_conf_env),
		T(test_servers_given_empty),
		T(test_err_no_file),
		T(test_err_unknown_key),
		T(test_err_unknown_section),
		T(test_azure_sections),
		T(test_err_bad_numbers),
		T(test_err_bad_size),
		T(test_err_bad_bool_and_enum),
		T(test_cookie_secret),
		T(test_err_bad_addresses),
		T(test_err_empty_lists),
		T(test_err_bad_cidrs),
		T(test_err_upstream_specs),
		T(test_err_duplicate_key),
		T(test_err_required_key),
		T(test_err_duplicate_sections),
		T(test_err_section_headers),
		T(test_err_syntax),
		T(test_err_missing_files),
		T(test_err_transfer_keys),
		T(test_records_directory),
		T(test_records_directory_empty),
		T(test_err_records_directory),
		T(test_err_twin_names),
		T(test_err_cross_checks),
		T(test_err_many_together),
		T(test_warning_only_keeps_config),
		T(test_key_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
