/*
 * Unit tests for startup: the checks serve and check-config share, each
 * with its exact message and the line of the key concerned.
 *
 * Each test runs in a fresh directory under /tmp and loads "pldns.ini"
 * from there, so that messages start with "pldns.ini:LINE:".
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
#include <sys/stat.h>
#include <unistd.h>

#include "unit_tmpdir.h"
#include "data/config.h"
#include "util/diag.h"
#include "runtime/startup.h"
#include "util/util.h"



static int
setup(void **state)
{
	(void)state;
	if (tmpdir_enter("startup") == -1)
		return -1;
	write_file("resolv.conf", "nameserver 192.0.2.53\n");
	config_set_resolv_conf("resolv.conf");
	return 0;
}


static int
teardown(void **state)
{
	(void)state;
	config_set_resolv_conf(NULL);
	return tmpdir_leave();
}

/* EXPECTED with every "%s" replaced by the test's directory (caller frees). */
static char *
expand(const char *expected)
{
	size_t n = strlen(expected) + 1, dl = strlen(tmpdir);
	char *out, *o;

	for (const char *p = expected; (p = strstr(p, "%s")) != NULL; p += 2)
		n += dl;
	o = out = xmalloc(n);
	for (const char *p = expected; *p != '\0';) {
		if (p[0] == '%' && p[1] == 's') {
			memcpy(o, tmpdir, dl);
			o += dl;
			p += 2;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	return out;
}

/*
 * Loads TEXT (which must be a good configuration) and runs the checks:
 * every message must be EXPECTED ("" for none), where "%s" stands for the
 * test's directory.
 */
static void
assert_check(const char *text, const char *expected)
{
	struct config *cfg;
	struct diag d;
	char *want, *all;
	int rc;

	write_file("pldns.ini", text);
	diag_init(&d);
	cfg = config_load("pldns.ini", &d);
	assert_non_null(cfg);
	diag_clear(&d);
	rc = startup_check(cfg, &d);
	all = diag_join(&d);
	want = expand(expected);
	assert_string_equal(all ? all : "", want);
	assert_int_equal(rc, *want == '\0' ? 0 : -1);
	/* Errors, one a line. */
	assert_int_equal(d.nerrors, d.n);
	free(want);
	free(all);
	diag_clear(&d);
	config_free(cfg);
}

static void
test_token(void **state)
{
	(void)state;
	assert_check("[control]\nlisten = 127.0.0.1:8053\ntoken_file = tok\n",
	    "pldns.ini:3: token_file %s/tok: cannot read the control token: "
	    "No such file or directory");
	write_file("tok", "\n\n");
	assert_check("[control]\ntoken_file = tok\n",
	    "pldns.ini:2: token_file %s/tok: the control token file is empty");
	write_file("tok", "a\tb\n");
	assert_check("[control]\ntoken_file = tok\n",
	    "pldns.ini:2: token_file %s/tok: the control token must be one "
	    "word of printable ASCII characters");
	write_file("tok", "s3cret-Token\n");
	assert_check("[control]\ntoken_file = tok\n", "");
	/* Without an endpoint serve never reads it. */
	assert_check("[control]\nlisten = none\ntoken_file = nothere\n", "");
}

static void
test_user(void **state)
{
	(void)state;
	assert_check("[server]\nlisten = 127.0.0.1:5353\nuser = pldns-no-such-user\n",
	    "pldns.ini:3: user \"pldns-no-such-user\" does not exist");
	assert_check("[server]\nuser = root\n", "");
	assert_check("[server]\n", "");
}

static void
test_state_dir(void **state)
{
	static const char zone[] = "\n[zone \"example.test\"]\nprimary = 192.0.2.1\n";
	char *text;

	(void)state;
	write_file("afile", "x\n");
	xasprintf(&text, "[server]\nstate_dir = afile\n%s", zone);
	assert_check(text, "pldns.ini:2: state_dir %s/afile: not a directory");
	free(text);
	xasprintf(&text, "[server]\nstate_dir = afile/sub/deeper\n%s", zone);
	assert_check(text, "pldns.ini:2: state_dir %s/afile/sub/deeper: cannot "
	    "create it: Not a directory");
	free(text);
	/* Missing but creatable, existing: fine; nothing is created here. */
	xasprintf(&text, "[server]\nstate_dir = new/sub\n%s", zone);
	assert_check(text, "");
	assert_int_equal(access("new", F_OK), -1);
	free(text);
	assert_int_equal(mkdir("dir", 0755), 0);
	xasprintf(&text, "[server]\nstate_dir = dir\n%s", zone);
	assert_check(text, "");
	free(text);
	/* The default directory is blamed on the first secondary zone. */
	write_file("secondary", "x\n");
	assert_check(zone + 1, "pldns.ini:1: state_dir %s/secondary: not a directory");
	/* Without a secondary zone the directory is never used. */
	assert_check("[server]\nstate_dir = afile\n", "");
}

static void
test_ca_file(void **state)
{
	(void)state;
	assert_check("[upstream]\ntls_ca_file = ca.pem\n",
	    "pldns.ini:2: tls_ca_file %s/ca.pem: cannot read: No such file or directory");
	write_file("ca.pem", "-----BEGIN CERTIFICATE-----\nnonsense\n"
	    "-----END CERTIFICATE-----\n");
	assert_check("[upstream]\ntls_ca_file = ca.pem\n",
	    "pldns.ini:2: tls_ca_file %s/ca.pem: no PEM certificate in it");
	if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0)
		assert_check("[upstream]\ntls_ca_file = /etc/ssl/certs/ca-certificates.crt\n", "");
}

/* Every problem, not only the first. */
static void
test_all_together(void **state)
{
	(void)state;
	write_file("afile", "x\n");
	assert_check("[server]\nuser = pldns-no-such-user\nstate_dir = afile\n"
	    "[upstream]\ntls_ca_file = none.pem\n[control]\ntoken_file = tok\n"
	    "[zone \"example.test\"]\nprimary = 192.0.2.1\n",
	    "pldns.ini:2: user \"pldns-no-such-user\" does not exist\n"
	    "pldns.ini:3: state_dir %s/afile: not a directory\n"
	    "pldns.ini:5: tls_ca_file %s/none.pem: cannot read: No such file or directory\n"
	    "pldns.ini:7: token_file %s/tok: cannot read the control token: "
	    "No such file or directory");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_token),
		T(test_user),
		T(test_state_dir),
		T(test_ca_file),
		T(test_all_together),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
