/* Unit tests for missing: the bounded table of names clients miss (counts,
 * first and last seen, eviction, copies and the merge of several workers'
 * tables); prints the cost of one missing_note on a full table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/missing.h"
#include "wire/wire.h"

#define ZONE	"privatelink.blob.core.windows.net"

/* NAME in lower-case wire form; a ring of 8 buffers. */
static const uint8_t *
w(const char *name)
{
	static uint8_t buf[8][WIRE_NAME_MAX];
	static int next;
	uint8_t *b = buf[next++ % 8];

	assert_true(wire_name_from_str(name, b, NULL) > 0);
	wire_name_lower(b, b, (size_t)wire_name_len(b, WIRE_NAME_MAX));
	return b;
}

static const struct missing_entry *
get(const struct missing *m, const char *name)
{
	return missing_find(m, w(name));
}

static void
assert_entry(const struct missing *m, const char *name, uint64_t count,
    uint64_t first, uint64_t last)
{
	const struct missing_entry *e = get(m, name);

	assert_non_null(e);
	assert_int_equal(e->count, count);
	assert_int_equal(e->first_seen, first);
	assert_int_equal(e->last_seen, last);
}

static void
test_counts_first_last(void **state)
{
	struct missing *m = missing_new(10);

	(void)state;
	assert_int_equal(missing_size(m), 0);
	assert_int_equal(missing_capacity(m), 10);
	missing_note(m, w("acct9.blob.core.windows.net"), ZONE, 100);
	missing_note(m, w("acct9.blob.core.windows.net"), ZONE, 105);
	missing_note(m, w("x.privatelink.blob.core.windows.net"), ZONE, 106);
	missing_note(m, w("acct9.blob.core.windows.net"), ZONE, 110);
	assert_int_equal(missing_size(m), 2);
	assert_int_equal(missing_queries(m), 4);
	assert_entry(m, "acct9.blob.core.windows.net", 3, 100, 110);
	assert_entry(m, "x.privatelink.blob.core.windows.net", 1, 106, 106);
	assert_string_equal(get(m, "acct9.blob.core.windows.net")->zone, ZONE);
	assert_int_equal(get(m, "acct9.blob.core.windows.net")->error, 0);
	assert_null(get(m, "other.blob.core.windows.net"));
	missing_free(m);
}

/* A full table: the least counted name gives its slot, and its count plus
 * one, to the newcomer; among equals the least recently seen goes. */
static void
test_bounded_eviction(void **state)
{
	struct missing *m = missing_new(3);

	(void)state;
	missing_note(m, w("a.example"), ZONE, 1);
	missing_note(m, w("a.example"), ZONE, 2);
	missing_note(m, w("b.example"), ZONE, 3);
	missing_note(m, w("c.example"), ZONE, 4);
	/* b and c have 1 each; b was seen longer ago. */
	missing_note(m, w("d.example"), ZONE, 5);
	assert_int_equal(missing_size(m), 3);
	assert_int_equal(missing_queries(m), 5);
	assert_null(get(m, "b.example"));
	assert_entry(m, "d.example", 2, 5, 5);
	assert_int_equal(get(m, "d.example")->error, 1);
	assert_entry(m, "a.example", 2, 1, 2);
	assert_entry(m, "c.example", 1, 4, 4);
	/* c is the least counted now. */
	missing_note(m, w("e.example"), ZONE, 6);
	assert_null(get(m, "c.example"));
	assert_entry(m, "e.example", 2, 6, 6);
	/* a, d, e at 2: a was seen first. */
	missing_note(m, w("f.example"), ZONE, 7);
	assert_null(get(m, "a.example"));
	assert_entry(m, "f.example", 3, 7, 7);
	assert_int_equal(get(m, "f.example")->error, 2);
	assert_int_equal(missing_size(m), 3);
	missing_free(m);
}

/* The space-saving guarantee under a flood of names asked once: a name
 * asked more often than the table's smallest count stays, never undercounted. */
static void
test_frequent_survives_flood(void **state)
{
	struct missing *m = missing_new(50);
	char name[64];
	uint64_t asked = 0;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		if (i % 4 == 0) {
			missing_note(m, w("acct9.blob.core.windows.net"), ZONE,
			    (uint64_t)i);
			asked++;
		} else {
			snprintf(name, sizeof(name), "r%d.blob.core.windows.net", i);
			missing_note(m, w(name), ZONE, (uint64_t)i);
		}
		assert_true(missing_size(m) <= 50);
	}
	const struct missing_entry *e = get(m, "acct9.blob.core.windows.net");
	assert_non_null(e);
	assert_true(e->count >= asked);
	assert_true(e->count - e->error <= asked);
	assert_int_equal(e->first_seen, 0);
	assert_int_equal(missing_queries(m), 20000);

	const struct missing_entry *top[3];
	assert_int_equal(missing_top(m, top, 3), 3);
	assert_ptr_equal(top[0], e);
	missing_free(m);
}

static void
test_top_order(void **state)
{
	struct missing *m = missing_new(10);
	const struct missing_entry *top[10];

	(void)state;
	missing_note(m, w("one.example"), ZONE, 1);
	for (int i = 0; i < 3; i++)
		missing_note(m, w("three.example"), ZONE, 2);
	missing_note(m, w("two.example"), ZONE, 3);
	missing_note(m, w("two.example"), ZONE, 3);
	missing_note(m, w("also-one.example"), ZONE, 9);
	assert_int_equal(missing_top(m, top, 10), 4);
	assert_memory_equal(top[0]->name, w("three.example"), 15);
	assert_memory_equal(top[1]->name, w("two.example"), 13);
	/* Equal counts: the most recently seen first. */
	assert_memory_equal(top[2]->name, w("also-one.example"), 18);
	assert_memory_equal(top[3]->name, w("one.example"), 13);
	assert_int_equal(missing_top(m, top, 2), 2);
	assert_memory_equal(top[1]->name, w("two.example"), 13);
	missing_free(m);
}

/* Several workers' tables: counts summed, first seen the earliest, last
 * seen the latest, queries summed, every distinct name kept. */
static void
test_merge_workers(void **state)
{
	struct missing *a = missing_new(5), *b = missing_new(5), *c = missing_new(5);
	struct missing *all;

	(void)state;
	for (int i = 0; i < 4; i++)
		missing_note(a, w("acct9.blob.core.windows.net"), ZONE, 10 + i);
	missing_note(a, w("only-a.privatelink.blob.core.windows.net"), ZONE, 12);
	for (int i = 0; i < 3; i++)
		missing_note(b, w("acct9.blob.core.windows.net"), ZONE, 5 + i);
	missing_note(b, w("kv9.vault.azure.net"), "privatelink.vaultcore.azure.net", 30);
	missing_note(c, w("acct9.blob.core.windows.net"), ZONE, 40);
	missing_note(c, w("kv9.vault.azure.net"), "privatelink.vaultcore.azure.net", 20);

	all = missing_new(missing_size(a) + missing_size(b) + missing_size(c));
	missing_merge(all, a);
	missing_merge(all, b);
	missing_merge(all, c);
	assert_int_equal(missing_size(all), 3);
	assert_int_equal(missing_queries(all), 5 + 4 + 2);
	assert_entry(all, "acct9.blob.core.windows.net", 8, 5, 40);
	assert_entry(all, "kv9.vault.azure.net", 2, 20, 30);
	assert_string_equal(get(all, "kv9.vault.azure.net")->zone,
	    "privatelink.vaultcore.azure.net");
	assert_entry(all, "only-a.privatelink.blob.core.windows.net", 1, 12, 12);
	/* The sources are left alone. */
	assert_entry(a, "acct9.blob.core.windows.net", 4, 10, 13);
	missing_free(all);
	missing_free(a);
	missing_free(b);
	missing_free(c);
}

/* Merged into a full table, a new name needs a larger count than the
 * smallest held; errors add up. */
static void
test_merge_full(void **state)
{
	struct missing *dst = missing_new(2), *src = missing_new(3);

	(void)state;
	missing_note(dst, w("a.example"), ZONE, 1);
	missing_note(dst, w("a.example"), ZONE, 1);
	missing_note(dst, w("b.example"), ZONE, 1);
	missing_note(src, w("c.example"), ZONE, 2);
	missing_note(src, w("d.example"), ZONE, 2);
	missing_note(src, w("d.example"), ZONE, 3);
	missing_note(src, w("d.example"), ZONE, 4);
	missing_merge(dst, src);
	assert_int_equal(missing_size(dst), 2);
	assert_int_equal(missing_queries(dst), 3 + 4);
	assert_null(get(dst, "b.example"));
	assert_null(get(dst, "c.example"));
	assert_entry(dst, "d.example", 3, 2, 4);
	assert_entry(dst, "a.example", 2, 1, 1);
	missing_free(dst);
	missing_free(src);
}

/* A copy is a table of its own: same names, counts and order, and it keeps
 * counting (and evicting) correctly. */
static void
test_copy(void **state)
{
	struct missing *m = missing_new(4), *cp = missing_new(4);
	const struct missing_entry *t1[4], *t2[4];
	char name[32];

	(void)state;
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "n%d.example", i % 6);
		for (int k = 0; k <= i % 3; k++)
			missing_note(m, w(name), ZONE, (uint64_t)i);
	}
	missing_note(cp, w("stale.example"), ZONE, 1);
	missing_copy(cp, m);
	assert_null(get(cp, "stale.example"));
	assert_int_equal(missing_size(cp), missing_size(m));
	assert_int_equal(missing_queries(cp), missing_queries(m));
	size_t n = missing_top(m, t1, 4);
	assert_int_equal(missing_top(cp, t2, 4), n);
	for (size_t i = 0; i < n; i++) {
		assert_memory_equal(t1[i]->name, t2[i]->name, WIRE_NAME_MAX);
		assert_int_equal(t1[i]->count, t2[i]->count);
	}
	missing_note(cp, w("new.example"), ZONE, 50);
	assert_non_null(get(cp, "new.example"));
	assert_null(get(m, "new.example"));
	assert_int_equal(missing_size(cp), 4);
	missing_free(m);
	missing_free(cp);
}

static void
test_shift_times(void **state)
{
	struct missing *m = missing_new(4);

	(void)state;
	missing_note(m, w("a.example"), ZONE, 10);
	missing_note(m, w("a.example"), ZONE, 20);
	missing_shift_times(m, 1000);
	assert_entry(m, "a.example", 2, 1010, 1020);
	missing_shift_times(m, -1000);
	assert_entry(m, "a.example", 2, 10, 20);
	missing_free(m);
}

/* Names differing only past a shared prefix, and a table of one. */
static void
test_tiny_and_similar(void **state)
{
	struct missing *m = missing_new(1);

	(void)state;
	missing_note(m, w("a.example"), ZONE, 1);
	missing_note(m, w("a.example."), ZONE, 2);
	assert_entry(m, "a.example", 2, 1, 2);
	missing_note(m, w("a.example.com"), ZONE, 3);
	assert_null(get(m, "a.example"));
	assert_entry(m, "a.example.com", 3, 3, 3);
	missing_free(m);
}

/* The cost of noting a name on a full table where most names are new (each
 * one evicts), as under a flood of random names. */
static void
test_cost(void **state)
{
	struct missing *m = missing_new(MISSING_TOP);
	static uint8_t names[4096][WIRE_NAME_MAX];
	struct timespec t0, t1;
	char s[64];
	const int n = 400000;

	(void)state;
	for (int i = 0; i < 4096; i++) {
		snprintf(s, sizeof(s), "name%d.privatelink.blob.core.windows.net", i);
		memcpy(names[i], w(s), WIRE_NAME_MAX);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++)
		missing_note(m, names[(i * 2654435761u) % 4096], ZONE, (uint64_t)i);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# missing_note on a full table of %d: %.0f ns\n", MISSING_TOP,
	    ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n);
	assert_int_equal(missing_size(m), MISSING_TOP);
	missing_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_first_last),
		cmocka_unit_test(test_bounded_eviction),
		cmocka_unit_test(test_frequent_survives_flood),
		cmocka_unit_test(test_top_order),
		cmocka_unit_test(test_merge_workers),
		cmocka_unit_test(test_merge_full),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_shift_times),
		cmocka_unit_test(test_tiny_and_similar),
		cmocka_unit_test(test_cost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
