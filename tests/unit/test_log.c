/*
 * Unit tests for log's rate limiter: one line per key per interval, the
 * count of the lines held back handed to the next one written, keys apart.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/log.h"

static void
test_limiter(void **state)
{
	struct log_limiter l;
	unsigned long sup = 99;
	uint64_t t0 = 5000;

	(void)state;
	log_limiter_init(&l);
	assert_true(log_limiter_pass(&l, LOG_RL_UPSTREAM, t0, &sup));
	assert_int_equal(sup, 0);
	/* Within the interval: held back and counted. */
	assert_false(log_limiter_pass(&l, LOG_RL_UPSTREAM, t0 + 1, &sup));
	assert_false(log_limiter_pass(&l, LOG_RL_UPSTREAM,
	    t0 + LOG_RL_INTERVAL_MS - 1, &sup));
	/* Another key is not. */
	assert_true(log_limiter_pass(&l, LOG_RL_ACCEPT, t0 + 2, &sup));
	assert_int_equal(sup, 0);
	/* The interval over: written, with the count of what was held back. */
	assert_true(log_limiter_pass(&l, LOG_RL_UPSTREAM, t0 + LOG_RL_INTERVAL_MS,
	    &sup));
	assert_int_equal(sup, 2);
	assert_false(log_limiter_pass(&l, LOG_RL_UPSTREAM,
	    t0 + LOG_RL_INTERVAL_MS + 1, &sup));
	assert_true(log_limiter_pass(&l, LOG_RL_UPSTREAM,
	    t0 + 3 * LOG_RL_INTERVAL_MS, &sup));
	assert_int_equal(sup, 1);
	log_limiter_clear(&l);
}

/* Two limiters keep apart: nothing of one is process-wide. */
static void
test_limiters_apart(void **state)
{
	struct log_limiter a, b;
	unsigned long sup = 0;

	(void)state;
	log_limiter_init(&a);
	log_limiter_init(&b);
	assert_true(log_limiter_pass(&a, LOG_RL_SEND, 100, &sup));
	assert_false(log_limiter_pass(&a, LOG_RL_SEND, 200, &sup));
	assert_true(log_limiter_pass(&b, LOG_RL_SEND, 200, &sup));
	assert_int_equal(sup, 0);
	log_limiter_clear(&a);
	log_limiter_clear(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limiter),
		cmocka_unit_test(test_limiters_apart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
