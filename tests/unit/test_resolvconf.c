/*
 * Unit tests for resolvconf: nameserver and search lines, comments, the
 * warnings for bad lines, and which file is read.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/resolvconf.h"

/* Every test works in a directory of its own, made and removed here. */
static char dir[] = "/tmp/pldns-test-resolvconf.XXXXXX";
static const char *const files[] = { "r.conf", "env.conf", "set.conf" };

static void
write_file(const char *name, const char *text)
{
	FILE *f = fopen(name, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static int
group_setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL || chdir(dir) == -1 ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return chdir("/") == -1 ? -1 : rmdir(dir);
}

/* Each test starts without files and with the default path. */
static int
reset(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (unlink(files[i]) == -1 && errno != ENOENT)
			return -1;
	resolvconf_set_path(NULL);
	unsetenv("PLDNS_RESOLV_CONF");
	return 0;
}

/* Writes TEXT to r.conf and reads it into RC, every message into D. */
static int
read_text(const char *text, struct resolvconf *rc, struct diag *d)
{
	write_file("r.conf", text);
	diag_init(d);
	return resolvconf_read(rc, "r.conf", d);
}

static void
assert_diag(struct diag *d, const char *expected)
{
	char *all = diag_join(d);

	assert_string_equal(all ? all : "", expected);
	free(all);
}

/* RC's nameservers as "addr:port@line", space-separated (static buffer). */
static const char *
ns_list(const struct resolvconf *rc)
{
	static char buf[1024];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < rc->nns; i++) {
		char a[128];

		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s@%lu",
		    i ? " " : "", addr_str(&rc->ns[i].addr, a, sizeof(a)),
		    rc->ns[i].line);
		assert_true(len < sizeof(buf));
	}
	return buf;
}

static void
test_nameservers(void **state)
{
	struct resolvconf rc;
	struct diag d;

	(void)state;
	assert_int_equal(read_text(
	    "nameserver 192.0.2.1\n"
	    "nameserver 2001:db8::53\n"
	    "nameserver fe80::1%7\n"
	    "nameserver 0.0.0.0\n"		/* kept: the caller decides */
	    "nameserver 192.0.2.1\n"		/* a repeat, kept */
	    "\n"
	    "nameserver\n"			/* nothing to take */
	    "options edns0 ndots:2\n"
	    "sortlist 130.155.160.0/255.255.240.0\n"
	    "nameserver 198.51.100.7\n", &rc, &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(rc.path, "r.conf");
	assert_int_equal(rc.err, 0);
	assert_int_equal(rc.nns, 6);
	assert_string_equal(ns_list(&rc), "192.0.2.1:53@1 [2001:db8::53]:53@2 "
	    "[fe80::1%7]:53@3 0.0.0.0:53@4 192.0.2.1:53@5 198.51.100.7:53@10");
	assert_null(rc.search);
	assert_int_equal(rc.nsearch, 0);
	resolvconf_clear(&rc);
	assert_null(rc.path);
	assert_null(rc.ns);
	assert_int_equal(rc.nns, 0);
	diag_clear(&d);
}

static void
test_comments_and_spacing(void **state)
{
	struct resolvconf rc;
	struct diag d;

	(void)state;
	assert_int_equal(read_text(
	    "# nameserver 192.0.2.9\n"
	    "; nameserver 192.0.2.9\n"
	    "#nameserver 192.0.2.9\n"
	    ";nameserver 192.0.2.9\n"
	    "nameserver 192.0.2.1 # the site resolver\n"
	    "  nameserver\t192.0.2.2\r\n"
	    "nameserver 192.0.2.3 ; also\n"
	    "Nameserver 192.0.2.9\n"		/* keywords are lower case */
	    "nameservers 192.0.2.9\n"
	    "nameserver 192.0.2.4", &rc, &d), 0);	/* no final newline */
	assert_int_equal(d.n, 0);
	assert_string_equal(ns_list(&rc), "192.0.2.1:53@5 192.0.2.2:53@6 "
	    "192.0.2.3:53@7 192.0.2.4:53@10");
	resolvconf_clear(&rc);
	diag_clear(&d);
}

static void
test_bad_lines(void **state)
{
	struct resolvconf rc;
	struct diag d;

	(void)state;
	assert_int_equal(read_text(
	    "nameserver bogus\n"
	    "nameserver 192.0.2.1\n"
	    "nameserver 192.0.2.300\n"
	    "nameserver fe80::1%\n"
	    "nameserver [2001:db8::1\n", &rc, &d), 0);
	assert_diag(&d,
	    "r.conf:1: warning: ignoring nameserver \"bogus\": not an IP address\n"
	    "r.conf:3: warning: ignoring nameserver \"192.0.2.300\": not an IP "
	    "address\n"
	    "r.conf:4: warning: ignoring nameserver \"fe80::1%\": empty scope "
	    "after '%'\n"
	    "r.conf:5: warning: ignoring nameserver \"[2001:db8::1\": missing ']'");
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.nwarnings, 4);
	assert_string_equal(ns_list(&rc), "192.0.2.1:53@2");
	resolvconf_clear(&rc);
	diag_clear(&d);

	/* Without a diag the bad lines are left out all the same. */
	write_file("r.conf", "nameserver bogus\nnameserver 192.0.2.1\n");
	assert_int_equal(resolvconf_read(&rc, "r.conf", NULL), 0);
	assert_string_equal(ns_list(&rc), "192.0.2.1:53@2");
	resolvconf_clear(&rc);
}

static void
test_search(void **state)
{
	struct resolvconf rc;
	struct diag d;

	(void)state;
	assert_int_equal(read_text(
	    "search a.example b.example\n"
	    "nameserver 192.0.2.1\n"
	    "search corp.example\tlab.example ; old list\n", &rc, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(rc.nsearch, 2);
	assert_string_equal(rc.search[0], "corp.example");
	assert_string_equal(rc.search[1], "lab.example");
	assert_null(rc.search[2]);
	resolvconf_clear(&rc);
	assert_null(rc.search);
	diag_clear(&d);

	/* domain is one name, and replaces an earlier search line. */
	assert_int_equal(read_text(
	    "search a.example b.example\n"
	    "domain corp.example other.example\n", &rc, &d), 0);
	assert_int_equal(rc.nsearch, 1);
	assert_string_equal(rc.search[0], "corp.example");
	assert_null(rc.search[1]);
	resolvconf_clear(&rc);
	diag_clear(&d);

	/* A later search line replaces domain; an empty one empties it. */
	assert_int_equal(read_text("domain corp.example\nsearch\n", &rc, &d), 0);
	assert_non_null(rc.search);
	assert_int_equal(rc.nsearch, 0);
	assert_null(rc.search[0]);
	resolvconf_clear(&rc);
	diag_clear(&d);
}

static void
test_missing_file(void **state)
{
	struct resolvconf rc;
	struct diag d;

	(void)state;
	diag_init(&d);
	assert_int_equal(resolvconf_read(&rc, "no-such.conf", &d), -1);
	assert_int_equal(rc.err, ENOENT);
	assert_string_equal(rc.path, "no-such.conf");
	assert_int_equal(rc.nns, 0);
	assert_null(rc.search);
	assert_diag(&d,
	    "no-such.conf: warning: cannot open: No such file or directory");
	resolvconf_clear(&rc);
	diag_clear(&d);

	/* Without a diag, the return and err tell it alone. */
	assert_int_equal(resolvconf_read(&rc, "no-such.conf", NULL), -1);
	assert_int_equal(rc.err, ENOENT);
	resolvconf_clear(&rc);
}

static void
test_path(void **state)
{
	struct resolvconf rc;

	(void)state;
	assert_string_equal(resolvconf_path(), "/etc/resolv.conf");
	setenv("PLDNS_RESOLV_CONF", "", 1);
	assert_string_equal(resolvconf_path(), "/etc/resolv.conf");
	setenv("PLDNS_RESOLV_CONF", "env.conf", 1);
	assert_string_equal(resolvconf_path(), "env.conf");
	resolvconf_set_path("set.conf");
	assert_string_equal(resolvconf_path(), "set.conf");
	resolvconf_set_path(NULL);
	assert_string_equal(resolvconf_path(), "env.conf");

	/* Without a path, the read follows resolvconf_path(). */
	write_file("env.conf", "nameserver 198.51.100.1\n");
	write_file("set.conf", "nameserver 198.51.100.2\n");
	assert_int_equal(resolvconf_read(&rc, NULL, NULL), 0);
	assert_string_equal(rc.path, "env.conf");
	assert_string_equal(ns_list(&rc), "198.51.100.1:53@1");
	resolvconf_clear(&rc);
	resolvconf_set_path("set.conf");
	assert_int_equal(resolvconf_read(&rc, NULL, NULL), 0);
	assert_string_equal(rc.path, "set.conf");
	assert_string_equal(ns_list(&rc), "198.51.100.2:53@1");
	resolvconf_clear(&rc);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, reset, reset)
	const struct CMUnitTest tests[] = {
		T(test_nameservers),
		T(test_comments_and_spacing),
		T(test_bad_lines),
		T(test_search),
		T(test_missing_file),
		T(test_path),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
