/*
 * cache: a bounded cache of upstream responses, one per worker.  The owner
 * reads its cache without a lock; the other workers' caches, linked with
 * cache_link(), can be read too (cache_lookup_siblings) when an upstream
 * fails or is late.
 *
 * Keyed by (lower-cased qname, qtype, qclass, DO).  It stores upstream
 * responses as received (any OPT removed: it is hop-by-hop, RFC 6891), with
 * the time they were stored and their TTL:
 *   - positive answers: the smallest TTL in the answer and authority
 *     sections, clamped to [min_ttl, max_ttl];
 *   - NXDOMAIN and NODATA: min(SOA TTL, SOA MINIMUM) of the SOA in the
 *     authority section (RFC 2308), clamped; not cached without an SOA;
 *   - SERVFAIL, REFUSED and other failures: not stored here (the caller
 *     applies its own short back-off, RFC 9520);
 *   - TC=1 responses are never stored.
 * A lookup copies the response out with every TTL decreased by its age
 * (RFC 2181 8); TTLs are stored as cache_ttl_clean() makes them.
 * Splicing is applied by the caller after the lookup, so local data changes
 * answers at once even for cached entries.
 * Entries past their TTL are served only as stale (RFC 8767) when asked, for
 * up to STALE_MAX seconds, with every TTL set to 30.
 * Memory is bounded by SIZE bytes (entry overhead included); CLOCK eviction.
 *
 * Prefetch (as Unbound's "prefetch: yes"): a fresh hit on a popular entry
 * close to expiry tells the caller to refresh it in the background, so that
 * names in steady use never expire for clients.  "Close" is less than
 * CACHE_PREFETCH_PERCENT of the stored TTL left; "popular" is at least
 * CACHE_PREFETCH_HITS fresh hits since the entry was stored, the deciding
 * one included.  Each stored entry asks for this once: the refresh that
 * succeeds stores a new entry (with its own count), and one that fails
 * leaves the old entry, already asked, to expire and be served stale.
 *
 * The CD bit is part of the key too: an answer fetched with checking
 * disabled must not reach clients that left it on.  A copied response keeps
 * the question octets of the query that filled the entry, so its qname case
 * may differ from the client's (same length: the caller can copy it over).
 */
#ifndef PLDNS_CACHE_H
#define PLDNS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define CACHE_STALE_TTL		30
#define CACHE_STALE_MAX		86400
#define CACHE_PREFETCH_PERCENT	10
#define CACHE_PREFETCH_HITS	2

struct cache;
struct szone;

struct cache_info {
	uint64_t entries, bytes, max_bytes;
	uint64_t hits, misses, stale_hits, inserts, evictions, expired;
	uint64_t prefetches;	/* refreshes handed out by cache_lookup */
	uint64_t sibling_hits;	/* answers found by cache_lookup_siblings */
};

/*
 * A client reply built from an entry, kept with it (cache_keep_reply): a
 * later hit for the same question under the same local data sends it again
 * after patching the ID, the question's case, the flags, the OPT and the
 * TTLs, instead of parsing and splicing the entry again.
 */
struct cache_reply {
	uint64_t gen;		/* the local data it was built against (caller's count) */
	uint16_t len;		/* octets, without OPT */
	uint16_t ar;		/* additional records, without OPT */
	uint16_t nttl;		/* TTL fields that age with the entry */
	int rcode;		/* the reply's (extended) RCODE */
	bool ad;		/* the upstream's AD, for clients that ask for it */
	bool spliced;		/* local data was spliced in */
	bool fallback;		/* built for a query forwarded by missing = fallback */
	/* answer_info's miss_zone: a zone of the snapshot of GEN, so valid
	 * whenever the reply is */
	const struct szone *miss_zone;
	const uint16_t *ttloff;	/* where those TTLs are */
	const uint32_t *ttl0;	/* their values at age 0 */
	const uint8_t *msg;
};

/* What a lookup tells the caller about the entry it answered from. */
struct cache_hit {
	uint64_t gen;		/* in: a reply kept for this generation is wanted, */
	size_t room;		/* in: no longer than this (without OPT), */
	bool fallback;		/* in: built with this fallback */
	uint32_t remaining;	/* seconds left; 0 for a stale answer */
	uint32_t ttl;		/* seconds the entry was stored for */
	uint32_t hits;		/* fresh hits since it was stored, this one included */
	uint32_t age;		/* seconds since it was stored */
	bool prefetch;		/* refresh the entry now (see above) */
	const struct cache_reply *reply;	/* the kept reply for GEN, if any */
};

/*
 * An upstream TTL as pldns stores and passes it on, on every path: a TTL
 * with the top bit set means 0 (RFC 2181 8; Unbound reads it so too), and
 * the rest is bounded by [MIN, MAX] ([cache] min_ttl and max_ttl).
 */
static inline uint32_t
cache_ttl_clean(uint32_t ttl, uint32_t min, uint32_t max)
{
	if (ttl & 0x80000000u)
		ttl = 0;
	return ttl < min ? min : ttl > max ? max : ttl;
}

/* SIZE 0 gives a cache that stores nothing. */
struct cache *cache_new(size_t size, uint32_t min_ttl, uint32_t max_ttl);
void cache_free(struct cache *c);

/*
 * Links the N caches of CACHES (one per worker thread) so that each can
 * look into the others with cache_lookup_siblings().  Called once, before
 * any of them is used by another thread; from then on none may be freed
 * before every thread using any of them is done.
 */
void cache_link(struct cache *const *caches, size_t n);

/* Prefetch on or off (off when created); see above. */
void cache_set_prefetch(struct cache *c, bool on);

/* Stores the response RESP/LEN to the question of Q, at NOW (milliseconds,
 * monotonic).  Replaces an existing entry for the same key. */
void cache_store(struct cache *c, const struct wire_query *q, const uint8_t *resp,
    size_t len, uint64_t now);

enum cache_result { CACHE_MISS, CACHE_HIT, CACHE_STALE };

/*
 * Looks up Q's question.  On CACHE_HIT the response (with decremented TTLs
 * and the stored ID) is copied into OUT (CAP bytes) and *LEN set.  An expired
 * entry gives CACHE_STALE (copied the same way, TTLs 30) only when STALE_OK,
 * else CACHE_MISS.  HIT, when not NULL, is filled on CACHE_HIT and
 * CACHE_STALE.  HIT->prefetch is set at most once per stored entry, and only
 * for a caller that passes HIT: one that does must then refresh the entry
 * (a query for Q's question whose answer goes to cache_store), as no later
 * hit will ask again.
 */
enum cache_result cache_lookup(struct cache *c, const struct wire_query *q,
    uint64_t now, bool stale_ok, uint8_t *out, size_t cap, size_t *len,
    struct cache_hit *hit);

/*
 * Looks up Q's question in the caches linked with C (not in C itself), for
 * a worker whose own cache missed and whose upstream failed or is late.
 * Safe against their owners storing and evicting meanwhile: it takes each
 * sibling's lock, which owners take only to change what it reads (never on
 * a hit).  Returns and copies as cache_lookup() does, without HIT: the
 * freshest entry found (CACHE_HIT), else the most recently expired one
 * when STALE_OK (CACHE_STALE).  Changes nothing in the siblings (no hit
 * counts, no reference bits, no prefetch).
 */
enum cache_result cache_lookup_siblings(struct cache *c,
    const struct wire_query *q, uint64_t now, bool stale_ok, uint8_t *out,
    size_t cap, size_t *len);

/*
 * With HIT given and a fresh entry holding a reply kept for HIT->gen that
 * matches HIT->room and HIT->fallback, cache_lookup sets HIT->reply and
 * copies nothing (*LEN is 0): the caller builds the client's reply from
 * HIT->reply and HIT->age (answer_replay).
 *
 * cache_keep_reply keeps REP (copied; REP->ttl0 holds the TTLs as written
 * in REP->msg, which were aged by AGE seconds) with Q's entry, replacing
 * any reply kept before.  Nothing is kept when the entry is gone or the
 * budget has no room.
 */
void cache_keep_reply(struct cache *c, const struct wire_query *q,
    const struct cache_reply *rep, uint32_t age);

/* Removes every entry (NAME NULL) or the entries for NAME (lower-case wire)
 * and every name below it. */
void cache_flush(struct cache *c, const uint8_t *name);

void cache_get_info(const struct cache *c, struct cache_info *out);

#endif
