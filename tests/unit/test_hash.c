/* Unit tests for hash: keyed, deterministic for one key, every octet and
 * the length count, case is the caller's to fold, chaining. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <string.h>

#include "util/hash.h"

static const uint8_t name_lower[] = "\003www\007example\003com";
static const uint8_t name_mixed[] = "\003WwW\007Example\003COM";

/* Another key, other values: what makes the tables resist flooding. */
static void
test_seed_changes_values(void **state)
{
	uint64_t a[65], b[65];
	uint8_t buf[64];
	int same = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	hash_seed_fixed(1);
	for (size_t n = 0; n <= 64; n++)
		a[n] = hash_bytes(buf, n);
	hash_seed_fixed(2);
	for (size_t n = 0; n <= 64; n++)
		b[n] = hash_bytes(buf, n);
	for (size_t n = 0; n <= 64; n++)
		same += a[n] == b[n];
	assert_int_equal(same, 0);
	uint64_t u2 = hash_u64(12345);
	hash_seed_fixed(1);
	assert_int_not_equal(hash_u64(12345), u2);

	/* The key drawn at start-up is not a fixed one, and a fresh draw
	 * differs from it. */
	hash_seed_random();
	uint64_t r1 = hash_bytes(name_lower, sizeof(name_lower));
	hash_seed_random();
	assert_int_not_equal(r1, hash_bytes(name_lower, sizeof(name_lower)));
}

/* One key: equal input, equal hash, whatever the buffer it lies in. */
static void
test_equal_input_equal_output(void **state)
{
	uint8_t a[80], b[96];

	(void)state;
	hash_seed_fixed(42);
	for (size_t n = 0; n <= 64; n++) {
		for (size_t i = 0; i < n; i++)
			a[i] = b[i + 16] = (uint8_t)(i * 31 + n);
		/* Different bytes after the input must not matter. */
		memset(a + n, 0xaa, sizeof(a) - n);
		memset(b + 16 + n, 0x55, sizeof(b) - 16 - n);
		assert_true(hash_bytes(a, n) == hash_bytes(b + 16, n));
		assert_true(hash_more(7, a, n) == hash_more(7, b + 16, n));
	}
	assert_true(hash_u64(99) == hash_u64(99));
	assert_true(hash_word(5, 99) == hash_word(5, 99));
}

/* Every octet of every length 0..64 counts: flipping one bit of one octet
 * changes the hash, and so does the length (a zero octet more). */
static void
test_every_octet_and_length(void **state)
{
	uint8_t buf[65];
	uint64_t prev = 0;

	(void)state;
	hash_seed_fixed(7);
	for (size_t n = 0; n <= 64; n++) {
		memset(buf, 0, sizeof(buf));
		uint64_t base = hash_bytes(buf, n);
		if (n > 0)
			assert_true(base != prev);	/* n zeros vs n-1 zeros */
		prev = base;
		for (size_t i = 0; i < n; i++)
			for (int bit = 0; bit < 8; bit++) {
				buf[i] = (uint8_t)(1u << bit);
				assert_true(hash_bytes(buf, n) != base);
				buf[i] = 0;
			}
	}
}

/* Names equal but for case hash equal only once the caller folds them. */
static void
test_case_is_the_callers(void **state)
{
	uint8_t folded[sizeof(name_mixed)];

	(void)state;
	hash_seed_fixed(3);
	assert_true(hash_bytes(name_lower, sizeof(name_lower)) !=
	    hash_bytes(name_mixed, sizeof(name_mixed)));
	for (size_t i = 0; i < sizeof(name_mixed); i++)
		folded[i] = (uint8_t)tolower(name_mixed[i]);
	assert_true(hash_bytes(name_lower, sizeof(name_lower)) ==
	    hash_bytes(folded, sizeof(folded)));
}

/* Chaining: the state after A then B depends on both and on where A
 * ends (the labels "ab"+"c" and "a"+"bc" differ). */
static void
test_chaining(void **state)
{
	const uint8_t *s = (const uint8_t *)"abc";

	(void)state;
	hash_seed_fixed(11);
	uint64_t ab_c = hash_more(hash_more(hash_start(), s, 2), s + 2, 1);
	uint64_t a_bc = hash_more(hash_more(hash_start(), s, 1), s + 1, 2);
	assert_true(ab_c != a_bc);
	assert_true(ab_c != hash_bytes(s, 3));
	assert_true(hash_word(hash_bytes(s, 3), 1) !=
	    hash_word(hash_bytes(s, 3), 2));
}

/* Low bits (what a power-of-two table uses) spread: 4096 names into 256
 * slots fill every slot, none with more than 40. */
static void
test_low_bits_spread(void **state)
{
	unsigned count[256] = { 0 };
	uint8_t name[] = "\004h000\007example\003com";

	(void)state;
	hash_seed_fixed(5);
	for (unsigned i = 0; i < 4096; i++) {
		name[2] = (uint8_t)('a' + i % 26);
		name[3] = (uint8_t)('a' + i / 26 % 26);
		name[4] = (uint8_t)('0' + i / 676);
		count[hash_bytes(name, sizeof(name)) & 255]++;
	}
	for (int k = 0; k < 256; k++) {
		assert_true(count[k] > 0);
		assert_true(count[k] <= 40);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_changes_values),
		cmocka_unit_test(test_equal_input_equal_output),
		cmocka_unit_test(test_every_octet_and_length),
		cmocka_unit_test(test_case_is_the_callers),
		cmocka_unit_test(test_chaining),
		cmocka_unit_test(test_low_bits_spread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
