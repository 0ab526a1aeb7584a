/*
 * Unit tests for server_conns: the TCP connection counts every worker
 * shares (limits in total and per client address, ports ignored) and what
 * running out of memory does to them.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/addr.h"
#include "runtime/server_conns.h"
#include "util/util.h"

/* "addr:port" or "[v6]:port". */
static struct sockaddr_storage
at(const char *s)
{
	struct pl_addr a;

	assert_int_equal(addr_parse(s, 53, &a, NULL), 0);
	return a.ss;
}

#define SA(ss)	((const struct sockaddr *)&(ss))

static void
test_per_client(void **state)
{
	struct server_conns c;
	struct sockaddr_storage a1 = at("127.0.0.1:1000"), a2 = at("127.0.0.1:2000"),
	    a3 = at("127.0.0.1:3000"), b = at("127.0.0.2:1000");

	(void)state;
	server_conns_init(&c);
	/* Two per client: the port does not make another client. */
	assert_int_equal(server_conns_admit(&c, SA(a1), 10, 2), SERVER_CONNS_OK);
	assert_int_equal(server_conns_admit(&c, SA(a2), 10, 2), SERVER_CONNS_OK);
	assert_int_equal(server_conns_admit(&c, SA(a3), 10, 2), SERVER_CONNS_LIMIT);
	assert_int_equal(server_conns_admit(&c, SA(b), 10, 2), SERVER_CONNS_OK);
	assert_int_equal(server_conns_from(&c, SA(a3)), 2);
	assert_int_equal(server_conns_from(&c, SA(b)), 1);
	assert_int_equal(server_conns_total(&c), 3);
	/* A slot given back is there again. */
	server_conns_release(&c, SA(a1));
	assert_int_equal(server_conns_admit(&c, SA(a3), 10, 2), SERVER_CONNS_OK);
	/* 0: no limit per client. */
	assert_int_equal(server_conns_admit(&c, SA(a3), 10, 0), SERVER_CONNS_OK);
	assert_int_equal(server_conns_from(&c, SA(a1)), 3);
	server_conns_release(&c, SA(a1));
	server_conns_release(&c, SA(a2));
	server_conns_release(&c, SA(a3));
	server_conns_release(&c, SA(b));
	assert_int_equal(server_conns_total(&c), 0);
	assert_int_equal(server_conns_from(&c, SA(b)), 0);
	server_conns_clear(&c);
}

static void
test_total(void **state)
{
	struct server_conns c;
	struct sockaddr_storage a = at("10.0.0.1:53"), b = at("[::1]:53"),
	    b2 = at("[::2]:53");

	(void)state;
	server_conns_init(&c);
	assert_int_equal(server_conns_admit(&c, SA(a), 2, 0), SERVER_CONNS_OK);
	assert_int_equal(server_conns_admit(&c, SA(b), 2, 0), SERVER_CONNS_OK);
	assert_int_equal(server_conns_admit(&c, SA(b2), 2, 0), SERVER_CONNS_LIMIT);
	/* IPv6 addresses are told apart. */
	assert_int_equal(server_conns_from(&c, SA(b)), 1);
	assert_int_equal(server_conns_from(&c, SA(b2)), 0);
	server_conns_release(&c, SA(a));
	assert_int_equal(server_conns_admit(&c, SA(b2), 2, 0), SERVER_CONNS_OK);
	server_conns_release(&c, SA(b));
	server_conns_release(&c, SA(b2));
	assert_int_equal(server_conns_total(&c), 0);
	server_conns_clear(&c);
}

/* Out of memory for a new address: NOMEM (not LIMIT), nothing counted,
 * and the next one is admitted once memory is back. */
static void
test_no_memory(void **state)
{
	struct server_conns c;
	struct sockaddr_storage a = at("192.0.2.1:53"), b = at("192.0.2.2:53");

	(void)state;
	server_conns_init(&c);
	util_fail_alloc_after(1);
	assert_int_equal(server_conns_admit(&c, SA(a), 10, 2), SERVER_CONNS_NOMEM);
	util_fail_alloc_after(0);
	assert_int_equal(server_conns_total(&c), 0);
	assert_int_equal(server_conns_admit(&c, SA(a), 10, 2), SERVER_CONNS_OK);
	/* A known address needs no memory. */
	util_fail_alloc_after(1);
	assert_int_equal(server_conns_admit(&c, SA(a), 10, 2), SERVER_CONNS_OK);
	assert_int_equal(util_fail_alloc_after(0), 0);
	assert_int_equal(server_conns_admit(&c, SA(b), 10, 2), SERVER_CONNS_OK);
	assert_int_equal(server_conns_total(&c), 3);
	server_conns_release(&c, SA(a));
	server_conns_release(&c, SA(a));
	server_conns_release(&c, SA(b));
	server_conns_clear(&c);
}

#ifndef NDEBUG
/* Giving back a slot never taken breaks an invariant: assert() stops it
 * (in a child, which must die of SIGABRT) rather than the count wrapping. */
static void
test_release_unadmitted(void **state)
{
	struct sockaddr_storage a = at("192.0.2.1:53");
	int status;
	pid_t pid;

	(void)state;
	fflush(NULL);
	if ((pid = fork()) == 0) {
		struct server_conns c;

		/* The report on stderr is expected: keep the TAP output clean. */
		freopen("/dev/null", "w", stderr);
		server_conns_init(&c);
		server_conns_release(&c, SA(a));
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_client),
		cmocka_unit_test(test_total),
		cmocka_unit_test(test_no_memory),
#ifndef NDEBUG
		cmocka_unit_test(test_release_unadmitted),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
