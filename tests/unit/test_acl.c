/* Unit tests for acl: the default allow list, refuse_action, allow_forward,
 * v4-mapped clients. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "engine/acl.h"
#include "util/addr.h"
#include "data/config.h"
#include "util/util.h"

/* A client address from "a.b.c.d" or an IPv6 literal (port 53). */
static const struct sockaddr *
client(const char *s)
{
	static struct sockaddr_storage ss[4];
	static int next;
	struct sockaddr_storage *p = &ss[next++ % 4];
	struct sockaddr_in *sin = (struct sockaddr_in *)p;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)p;

	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(53);
	} else {
		assert_int_equal(inet_pton(AF_INET6, s, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(53);
	}
	return (const struct sockaddr *)p;
}

/* Replaces a prefix list of CFG (heap, so config_free frees it). */
static void
set_list(struct pl_cidr **list, size_t *n, const char *const *v)
{
	size_t i;

	free(*list);
	for (i = 0; v[i] != NULL; i++)
		;
	*list = xcalloc(i ? i : 1, sizeof(**list));
	for (i = 0; v[i] != NULL; i++) {
		const char *err = NULL;

		assert_int_equal(cidr_parse(v[i], &(*list)[i], &err), 0);
	}
	*n = i;
}

static void
test_default_allowed(void **state)
{
	static const char *const ok[] = {
		"127.0.0.1", "127.255.255.254", "::1",
		"10.0.0.1", "10.255.255.255",
		"172.16.0.1", "172.31.255.255",
		"192.168.0.1", "192.168.255.255",
		"100.64.0.1", "100.127.255.255",
		"fc00::1", "fd12:3456:789a::53",
		"fe80::1", "febf:ffff::1",
	};
	struct config *cfg = config_new();

	(void)state;
	assert_int_equal(cfg->refuse_action, REFUSE_REFUSE);
	for (size_t i = 0; i < nitems(ok); i++) {
		enum acl_verdict v = acl_check(cfg, client(ok[i]));

		if (v != ACL_ALLOW)
			print_message("%s: verdict %d\n", ok[i], v);
		assert_int_equal(v, ACL_ALLOW);
		/* allow_forward empty: every allowed client may forward. */
		assert_true(acl_may_forward(cfg, client(ok[i])));
	}
	config_free(cfg);
}

static void
test_default_refused(void **state)
{
	static const char *const bad[] = {
		"8.8.8.8", "1.1.1.1", "9.9.9.9", "0.0.0.0", "255.255.255.255",
		"11.0.0.1", "9.255.255.255",
		"172.15.255.255", "172.32.0.1",
		"192.167.255.255", "192.169.0.1",
		"100.63.255.255", "100.128.0.1",
		"128.0.0.1", "126.255.255.255",
		"2001:db8::", "2001:db8::1", "2606:4700:4700::1111",
		"::", "::2", "fe00::1", "fec0::1", "ff02::1",
		"fbff:ffff::1",
		"::ffff:8.8.8.8",
		/* IPv4-compatible (deprecated) is not v4-mapped. */
		"::10.0.0.1",
	};
	struct config *cfg = config_new();

	(void)state;
	for (size_t i = 0; i < nitems(bad); i++) {
		enum acl_verdict v = acl_check(cfg, client(bad[i]));

		if (v != ACL_REFUSE)
			print_message("%s: verdict %d\n", bad[i], v);
		assert_int_equal(v, ACL_REFUSE);
		assert_false(acl_may_forward(cfg, client(bad[i])));
	}
	config_free(cfg);
}

static void
test_v4_mapped(void **state)
{
	static const char *const only10[] = { "10.0.0.0/8", NULL };
	struct config *cfg = config_new();

	(void)state;
	/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d. */
	assert_int_equal(acl_check(cfg, client("::ffff:127.0.0.1")), ACL_ALLOW);
	assert_int_equal(acl_check(cfg, client("::ffff:10.1.2.3")), ACL_ALLOW);
	assert_int_equal(acl_check(cfg, client("::ffff:172.20.0.1")), ACL_ALLOW);
	assert_int_equal(acl_check(cfg, client("::ffff:192.168.1.1")), ACL_ALLOW);
	assert_int_equal(acl_check(cfg, client("::ffff:100.64.0.1")), ACL_ALLOW);
	assert_int_equal(acl_check(cfg, client("::ffff:8.8.8.8")), ACL_REFUSE);
	assert_int_equal(acl_check(cfg, client("::ffff:11.0.0.1")), ACL_REFUSE);

	set_list(&cfg->allow, &cfg->nallow, only10);
	assert_int_equal(acl_check(cfg, client("10.9.9.9")), ACL_ALLOW);
	assert_int_equal(acl_check(cfg, client("::ffff:10.9.9.9")), ACL_ALLOW);
	assert_int_equal(acl_check(cfg, client("::ffff:127.0.0.1")), ACL_REFUSE);
	assert_int_equal(acl_check(cfg, client("127.0.0.1")), ACL_REFUSE);
	assert_int_equal(acl_check(cfg, client("::1")), ACL_REFUSE);
	config_free(cfg);
}

static void
test_refuse_vs_drop(void **state)
{
	struct config *cfg = config_new();

	(void)state;
	assert_int_equal(acl_check(cfg, client("8.8.8.8")), ACL_REFUSE);
	assert_int_equal(acl_check(cfg, client("2001:db8::")), ACL_REFUSE);
	cfg->refuse_action = REFUSE_DROP;
	assert_int_equal(acl_check(cfg, client("8.8.8.8")), ACL_DROP);
	assert_int_equal(acl_check(cfg, client("2001:db8::")), ACL_DROP);
	assert_int_equal(acl_check(cfg, client("::ffff:8.8.8.8")), ACL_DROP);
	/* Allowed clients are unaffected by refuse_action. */
	assert_int_equal(acl_check(cfg, client("127.0.0.1")), ACL_ALLOW);
	assert_int_equal(acl_check(cfg, client("fd00::1")), ACL_ALLOW);
	config_free(cfg);
}

static void
test_custom_allow(void **state)
{
	static const char *const v[] = {
		"192.0.2.0/24", "2001:db8:1::/48", "198.51.100.7", NULL
	};
	struct config *cfg = config_new();

	(void)state;
	set_list(&cfg->allow, &cfg->nallow, v);
	assert_int_equal(acl_check(cfg, client("192.0.2.0")), ACL_ALLOW);
	assert_int_equal(acl_check(cfg, client("192.0.2.255")), ACL_ALLOW);
	assert_int_equal(acl_check(cfg, client("192.0.3.0")), ACL_REFUSE);
	assert_int_equal(acl_check(cfg, client("198.51.100.7")), ACL_ALLOW);
	assert_int_equal(acl_check(cfg, client("198.51.100.8")), ACL_REFUSE);
	assert_int_equal(acl_check(cfg, client("2001:db8:1:ffff::1")), ACL_ALLOW);
	assert_int_equal(acl_check(cfg, client("2001:db8:2::1")), ACL_REFUSE);
	/* The defaults are gone: the list replaces them. */
	assert_int_equal(acl_check(cfg, client("127.0.0.1")), ACL_REFUSE);
	assert_int_equal(acl_check(cfg, client("10.0.0.1")), ACL_REFUSE);
	config_free(cfg);
}

static void
test_allow_everything(void **state)
{
	static const char *const v[] = { "0.0.0.0/0", "::/0", NULL };
	struct config *cfg = config_new();

	(void)state;
	set_list(&cfg->allow, &cfg->nallow, v);
	assert_int_equal(acl_check(cfg, client("8.8.8.8")), ACL_ALLOW);
	assert_int_equal(acl_check(cfg, client("2001:db8::1")), ACL_ALLOW);
	assert_int_equal(acl_check(cfg, client("::ffff:8.8.8.8")), ACL_ALLOW);
	config_free(cfg);
}

static void
test_allow_forward(void **state)
{
	static const char *const fwd[] = { "127.0.0.0/8", "::1", "10.1.0.0/16", NULL };
	struct config *cfg = config_new();

	(void)state;
	set_list(&cfg->allow_forward, &cfg->nallow_forward, fwd);
	/* In allow and in allow_forward. */
	assert_true(acl_may_forward(cfg, client("127.0.0.1")));
	assert_true(acl_may_forward(cfg, client("::1")));
	assert_true(acl_may_forward(cfg, client("10.1.2.3")));
	assert_true(acl_may_forward(cfg, client("::ffff:10.1.2.3")));
	/* In allow only: local data only. */
	assert_int_equal(acl_check(cfg, client("10.2.0.1")), ACL_ALLOW);
	assert_false(acl_may_forward(cfg, client("10.2.0.1")));
	assert_false(acl_may_forward(cfg, client("::ffff:10.2.0.1")));
	assert_int_equal(acl_check(cfg, client("192.168.1.1")), ACL_ALLOW);
	assert_false(acl_may_forward(cfg, client("192.168.1.1")));
	assert_false(acl_may_forward(cfg, client("fd00::1")));
	assert_false(acl_may_forward(cfg, client("fe80::1")));
	/* Not allowed at all: never forwarded. */
	assert_false(acl_may_forward(cfg, client("8.8.8.8")));
	config_free(cfg);
}

static void
test_allow_forward_cannot_widen(void **state)
{
	static const char *const fwd[] = { "0.0.0.0/0", "::/0", NULL };
	struct config *cfg = config_new();

	(void)state;
	set_list(&cfg->allow_forward, &cfg->nallow_forward, fwd);
	assert_true(acl_may_forward(cfg, client("10.0.0.1")));
	assert_int_equal(acl_check(cfg, client("8.8.8.8")), ACL_REFUSE);
	assert_false(acl_may_forward(cfg, client("8.8.8.8")));
	assert_false(acl_may_forward(cfg, client("2001:db8::1")));
	config_free(cfg);
}

static void
test_other_family(void **state)
{
	struct sockaddr_un sun;
	struct config *cfg = config_new();

	(void)state;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(acl_check(cfg, (struct sockaddr *)&sun), ACL_REFUSE);
	assert_false(acl_may_forward(cfg, (struct sockaddr *)&sun));
	cfg->refuse_action = REFUSE_DROP;
	assert_int_equal(acl_check(cfg, (struct sockaddr *)&sun), ACL_DROP);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_allowed),
		cmocka_unit_test(test_default_refused),
		cmocka_unit_test(test_v4_mapped),
		cmocka_unit_test(test_refuse_vs_drop),
		cmocka_unit_test(test_custom_allow),
		cmocka_unit_test(test_allow_everything),
		cmocka_unit_test(test_allow_forward),
		cmocka_unit_test(test_allow_forward_cannot_widen),
		cmocka_unit_test(test_other_family),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
