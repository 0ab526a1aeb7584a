/* hash: the keyed hash of every hash table, and its key. */
#include "util/hash.h"
#include "util/util.h"

uint64_t hash_key[4];

/* splitmix64's step: spreads one seed over the four words of the key. */
static uint64_t
seed_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
hash_seed_fixed(uint64_t seed)
{
	for (size_t i = 0; i < 4; i++)
		hash_key[i] = seed_next(&seed);
}

void
hash_seed_random(void)
{
	random_bytes(hash_key, sizeof(hash_key));
}

/*
 * Keyed before main, so that no table (not even one a test or a verb
 * builds before it thinks of it) is ever hashed with the key unset.
 */
__attribute__((constructor)) static void
hash_seed_at_start(void)
{
	hash_seed_random();
}
