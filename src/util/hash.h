/*
 * hash: the one hash function of pldns's hash tables (snapshot zones, the
 * record index, the answer cache, the missing-name table, the rate
 * limiter, the Azure zone memo).
 *
 * Keyed: a 256-bit key drawn from getrandom() when the program starts
 * (before main), so that nobody who does not know it can choose names
 * that fall into one chain or one run of slots (hash flooding: a client
 * asking for crafted names, or a source file written to slow a load).
 * Tests that need the same values on every run call hash_seed_fixed()
 * before they build any table.
 *
 * The construction is a folded multiply: two 64-bit words of input, each
 * XORed with key material, are multiplied into 128 bits and the halves
 * XORed together; 16 octets of input cost one multiplication.  A table
 * keeps hashes only for as long as the process runs (the key changes from
 * one run to the next): nothing hashed here may be stored on disk.
 *
 * Input is hashed as given: a table of names stores and looks up the
 * lower-case wire form (the caller folds case), so that names equal but
 * for case hash equal.
 *
 * The functions are inline: the answer cache and the snapshot hash every
 * query's name.
 */
#ifndef PLDNS_HASH_H
#define PLDNS_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The key (set once at start-up; read-only afterwards). */
extern uint64_t hash_key[4];

/* Replaces the key with one derived from SEED, for reproducible tests.
 * Every table built before is invalid afterwards. */
void hash_seed_fixed(uint64_t seed);

/* Replaces the key with a fresh one from getrandom() (done at start-up). */
void hash_seed_random(void);

static inline uint64_t
hash_fold(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t
hash_load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t
hash_load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The state a hash starts from. */
static inline uint64_t
hash_start(void)
{
	return hash_key[0];
}

/*
 * Continues the state H over N octets at P and returns the new state,
 * itself a usable hash: hash_more(hash_more(s, a), b) hashes a then b,
 * which is how the snapshot hashes every suffix of a name in one pass.
 * The length goes in, so that pieces cut differently hash differently.
 */
static inline uint64_t
hash_more(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t lo, hi;

	h ^= (uint64_t)n * 0x9e3779b97f4a7c15ULL;
	for (; n > 16; n -= 16, b += 16)
		h = hash_fold(hash_load64(b) ^ hash_key[1],
		    hash_load64(b + 8) ^ h);
	/* The last 1 to 16 octets in two words, read so that they overlap
	 * rather than byte by byte: for a given N every octet is in one. */
	if (n >= 8) {
		lo = hash_load64(b);
		hi = hash_load64(b + n - 8);
	} else if (n >= 4) {
		lo = hash_load32(b);
		hi = hash_load32(b + n - 4);
	} else if (n > 0) {
		lo = (uint64_t)b[0] | (uint64_t)b[n / 2] << 8 |
		    (uint64_t)b[n - 1] << 16;
		hi = 0;
	} else
		lo = hi = 0;
	return hash_fold(lo ^ hash_key[1], hi ^ h);
}

/* Continues the state H over the integer X. */
static inline uint64_t
hash_word(uint64_t h, uint64_t x)
{
	return hash_fold(h ^ hash_key[2], x ^ hash_key[3]);
}

/* The hash of N octets at P. */
static inline uint64_t
hash_bytes(const void *p, size_t n)
{
	return hash_more(hash_start(), p, n);
}

/* The hash of an integer (a key that is a number, not a string). */
static inline uint64_t
hash_u64(uint64_t x)
{
	return hash_word(hash_start(), x);
}

#endif
