/*
 * Unit tests for util's allocation under an oom_guard, and for a load that
 * runs out of memory at every one of its allocations in turn: each must
 * fail cleanly (the "out of memory" error, nothing left allocated: the
 * sanitizer build's leak check runs at exit) and never abort.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unit_tmpdir.h"
#include "data/config.h"
#include "util/diag.h"
#include "runtime/server.h"
#include "data/snapshot.h"
#include "util/util.h"

/*
 * The one allocation a failed load leaves behind: inih's line buffer (a
 * few hundred bytes), taken inside ini_parse_stream() where nothing of
 * pldns can free it.  Everything else must be gone.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:ini_parse_stream\n";
}




static int
setup(void **state)
{
	(void)state;
	if (tmpdir_enter("util") == -1)
		return -1;
	write_file("resolv.conf", "nameserver 192.0.2.53\n");
	config_set_resolv_conf("resolv.conf");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	util_fail_alloc_after(0);
	return tmpdir_leave();
}

/* What is allocated under a guard and not freed is freed by the unwind;
 * what was freed is not freed twice; older memory is left alone. */
static void
test_guard_unwind(void **state)
{
	struct oom_guard g;
	char *volatile old = xstrdup("older than the guard");
	volatile int jumped = 0;

	(void)state;
	oom_guard_begin(&g);
	if (setjmp(g.env) != 0) {
		oom_guard_unwind(&g);
		jumped = 1;
	} else {
		char *a = xmalloc(100), *b = xstrdup("kept until unwind");
		void *m = bigmem_alloc(BIGMEM_MIN * 2);
		char *s;

		assert_true(oom_guarded());
		free(a);
		xasprintf(&s, "%s %d", b, 1);
		/* Moves, and stays older than the guard. */
		old = xrealloc(old, 4096);
		bigmem_free(m, BIGMEM_MIN * 2);
		(void)bigmem_alloc(BIGMEM_MIN * 4);
		(void)strv_split("a, b, c", ",", NULL);
		util_fail_alloc_after(1);
		(void)xmalloc(10);
		fail_msg("the failed allocation returned");
	}
	assert_int_equal(jumped, 1);
	assert_false(oom_guarded());
	assert_string_equal(old, "older than the guard");
	free(old);
}

/* Ended, the guard keeps what was allocated. */
static void
test_guard_end(void **state)
{
	struct oom_guard g;
	char *p;

	(void)state;
	oom_guard_begin(&g);
	if (setjmp(g.env) != 0)
		fail_msg("no allocation failed");
	p = xstrdup("kept");
	oom_guard_end(&g);
	assert_false(oom_guarded());
	assert_string_equal(p, "kept");
	free(p);
}

/* The query path's allocations return NULL. */
static void
test_try_alloc(void **state)
{
	void *p;

	(void)state;
	util_fail_alloc_after(1);
	assert_null(try_calloc(1, 64));
	util_fail_alloc_after(2);
	p = try_calloc(1, 64);
	assert_non_null(p);
	assert_null(try_reallocarray(p, 2, 64));
	free(p);
	util_fail_alloc_after(0);
	assert_null(try_reallocarray(NULL, SIZE_MAX / 2, 4));
}

static const char zone_text[] =
    "$ORIGIN privatelink.queue.core.windows.net.\n"
    "$TTL 300\n"
    "@ IN SOA ns. host. 1 3600 300 2419200 10\n"
    "@ IN NS ns.\n"
    "acct IN A 10.1.0.1\n"
    "www IN CNAME acct\n";

static const char json_text[] =
    "[{\"name\": \"pe-kv\", \"customDnsConfigs\": [{\"fqdn\": "
    "\"kv1.vault.azure.net\", \"ipAddresses\": [\"10.3.0.4\"]}]}]\n";

static const char csv_text[] =
    "FQDN,IP Address\n"
    "a1.blob.core.windows.net,10.2.0.1\n"
    "a2.blob.core.windows.net,10.2.0.2\n"
    "\n"
    "db1.privatelink.database.windows.net,10.2.0.3\n";

/*
 * A load (configuration, a zone file, CSV, JSON and hosts sources, the
 * snapshot) made to run out of memory at its first allocation, its
 * second, and so on until one goes through: every failure is the "out of
 * memory" error, and PREV, the data in service, is untouched.
 */
static void
test_load_fails_at_every_allocation(void **state)
{
	struct snapshot *prev, *s;
	struct diag d;
	unsigned long n;
	size_t nrecords;

	(void)state;
	write_file("queue.zone", zone_text);
	write_file("dns.csv", csv_text);
	write_file("pe.json", json_text);
	write_file("hosts", "10.4.0.1 h1.file.core.windows.net\n");
	write_file("pldns.ini",
	    "[server]\nlisten = 127.0.0.1:5353\n"
	    "[upstream]\nservers = 192.0.2.1\n"
	    "[zone \"privatelink.queue.core.windows.net\"]\nfile = queue.zone\n"
	    "[records]\nsources = dns.csv, pe.json, hosts:hosts\n");
	diag_init(&d);
	prev = server_load("pldns.ini", NULL, &d);
	diag_print(&d, stderr);
	assert_non_null(prev);
	assert_int_equal(d.nerrors, 0);
	diag_clear(&d);
	nrecords = snapshot_nrecords(prev);
	assert_true(nrecords >= 6);

	for (n = 1; n < 100000; n++) {
		diag_init(&d);
		util_fail_alloc_after(n);
		s = server_load("pldns.ini", prev, &d);
		if (util_fail_alloc_after(0) < n) {
			/* No allocation left to fail: the load went through. */
			assert_non_null(s);
			assert_int_equal(d.nerrors, 0);
			snapshot_unref(s);
			diag_clear(&d);
			break;
		}
		assert_null(s);
		assert_int_equal(d.nerrors, 1);
		assert_true(server_load_oom(&d));
		assert_string_equal(d.msgs[0].text,
		    "pldns.ini: " SERVER_OOM_TEXT);
		diag_clear(&d);
		assert_false(oom_guarded());
	}
	assert_true(n > 20);
	assert_true(n < 100000);
	assert_int_equal(snapshot_nrecords(prev), nrecords);
	snapshot_unref(prev);
}

/* The VmFlags of the mapping of /proc/self/smaps that holds P, or "". */
static void
vmflags_of(const void *p, char *out, size_t outlen)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;

	out[0] = '\0';
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;

		/* A mapping's first line is "lo-hi perms ..."; no key of the
		 * lines after it reads as two hex numbers with a dash. */
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(out, outlen, "%s", line + 8);
			break;
		}
	}
	fclose(f);
}

/* A token's copy: the same text, in pages left out of core dumps. */
static void
test_secret_strdup(void **state)
{
	char big[9000], flags[512];
	char *a, *b;

	(void)state;
	a = secret_strdup("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.token");
	assert_string_equal(a, "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.token");
	vmflags_of(a, flags, sizeof(flags));
	if (strstr(flags, " dd") == NULL)
		fail_msg("the secret's pages are not left out of core dumps: "
		    "VmFlags:%s", flags);
	/* Longer than a page. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	b = secret_strdup(big);
	assert_string_equal(b, big);
	vmflags_of(b + sizeof(big) - 2, flags, sizeof(flags));
	assert_non_null(strstr(flags, " dd"));
	secret_free(a);
	secret_free(b);
	secret_free(NULL);
	/* Ordinary memory is dumped: the check can tell. */
	a = malloc(64);
	vmflags_of(a, flags, sizeof(flags));
	assert_true(flags[0] != '\0');
	assert_null(strstr(flags, " dd"));
	free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guard_unwind),
		cmocka_unit_test(test_guard_end),
		cmocka_unit_test(test_try_alloc),
		cmocka_unit_test(test_secret_strdup),
		cmocka_unit_test_setup_teardown(test_load_fails_at_every_allocation,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
