/*
 * rrl: response rate limiting.  See rrl.h.
 *
 * Tokens are counted in thousandths so that the refill is exact integer
 * arithmetic at millisecond resolution: RATE tokens a second is RATE
 * milli-tokens a millisecond, and one response costs RRL_UNIT.
 *
 * The table is a power-of-two array probed in a short window from the hash of
 * the network; a network that finds neither its bucket nor a free one takes
 * the bucket in the window that was touched longest ago.  A bucket idle for a
 * second is full again, so reusing the stalest one normally loses nothing;
 * under a spray of networks larger than the table a limited network can get
 * a fresh bucket early, which errs towards answering.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "util/hash.h"
#include "engine/rrl.h"
#include "util/util.h"

#define RRL_UNIT	1000		/* milli-tokens per response */
#define RRL_PROBE	8		/* buckets looked at per lookup */
#define RRL_DEFAULT_SIZE 16384
#define RRL_MAX_SIZE	(1u << 24)

struct rrl_bucket {
	uint64_t key;			/* network | family tag; 0 = free */
	uint64_t last_ms;		/* last refill */
	uint32_t tokens;		/* milli-tokens, at most rate * RRL_UNIT */
	uint32_t over;			/* responses over the limit (for SLIP) */
};

struct rrl {
	unsigned rate, slip;
	uint32_t cap;			/* rate * RRL_UNIT */
	size_t mask;			/* table size - 1 */
	struct rrl_bucket *table;
	struct rrl_info info;
};

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

struct rrl *
rrl_new(unsigned rate, unsigned slip, unsigned table_size)
{
	struct rrl *r = xcalloc(1, sizeof(*r));
	size_t n = RRL_PROBE;

	if (table_size == 0)
		table_size = RRL_DEFAULT_SIZE;
	if (table_size > RRL_MAX_SIZE)
		table_size = RRL_MAX_SIZE;
	while (n < table_size)
		n <<= 1;
	/* The config caps rrl_rate far below this; clamp so cap cannot wrap. */
	if (rate > UINT32_MAX / RRL_UNIT)
		rate = UINT32_MAX / RRL_UNIT;
	r->rate = rate;
	r->slip = slip;
	r->cap = rate * RRL_UNIT;
	r->mask = n - 1;
	r->table = rate ? xcalloc(n, sizeof(*r->table)) : NULL;
	return r;
}

void
rrl_free(struct rrl *r)
{
	if (r == NULL)
		return;
	free(r->table);
	free(r);
}

/*
 * The client's network as a 64-bit key: the /24 or /56 in the upper bits,
 * the family in the low byte (so the key is never 0 and an IPv4 /24 never
 * equals an IPv6 /56).  A v4-mapped client is its IPv4 network.  Returns 0
 * for other families.
 */
static uint64_t
rrl_key(const struct sockaddr *sa)
{
	const uint8_t *a;
	uint64_t k = 0;

	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		if (memcmp(a, v4mapped, sizeof(v4mapped)) != 0) {
			for (int i = 0; i < 7; i++)
				k = k << 8 | a[i];
			return k << 8 | 6;
		}
		a += 12;
	} else
		return 0;
	k = (uint64_t)a[0] << 16 | (uint64_t)a[1] << 8 | a[2];
	return k << 8 | 4;
}

static struct rrl_bucket *
rrl_lookup(struct rrl *r, uint64_t key, uint64_t now)
{
	/* Keyed (hash.h), though an attacker who picks colliding networks
	 * only evicts buckets, and evicted networks start with a full
	 * bucket, never with fewer tokens. */
	size_t h = (size_t)hash_u64(key);
	struct rrl_bucket *stalest = NULL, *b;

	for (size_t i = 0; i < RRL_PROBE; i++) {
		b = &r->table[(h + i) & r->mask];
		if (b->key == key)
			return b;
		if (b->key == 0) {
			stalest = b;
			break;
		}
		if (stalest == NULL || b->last_ms < stalest->last_ms)
			stalest = b;
	}
	stalest->key = key;
	stalest->last_ms = now;
	stalest->tokens = r->cap;
	stalest->over = 0;
	return stalest;
}

enum rrl_verdict
rrl_check(struct rrl *r, const struct sockaddr *sa, uint64_t now)
{
	struct rrl_bucket *b;
	uint64_t key, elapsed, t;

	if (r->rate == 0 || (key = rrl_key(sa)) == 0) {
		r->info.sent++;
		return RRL_SEND;
	}
	b = rrl_lookup(r, key, now);
	/* A clock that went backwards refills nothing.  A second refills
	 * the bucket whatever the rate, so larger gaps cannot overflow. */
	if (now > b->last_ms) {
		elapsed = now - b->last_ms;
		if (elapsed > 1000)
			elapsed = 1000;
		t = b->tokens + elapsed * r->rate;
		b->tokens = t > r->cap ? r->cap : (uint32_t)t;
		b->last_ms = now;
	}
	if (b->tokens >= RRL_UNIT) {
		b->tokens -= RRL_UNIT;
		r->info.sent++;
		return RRL_SEND;
	}
	/* The first response over the limit slips, then every SLIP-th of the
	 * excess, counted across refills so that exactly 1/SLIP of it slips. */
	if (r->slip != 0 && b->over++ % r->slip == 0) {
		r->info.slipped++;
		return RRL_SLIP;
	}
	r->info.dropped++;
	return RRL_DROP;
}

void
rrl_get_info(const struct rrl *r, struct rrl_info *out)
{
	*out = r->info;
}
