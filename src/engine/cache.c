/*
 * cache: a bounded, per-worker cache of upstream responses (see cache.h).
 *
 * Layout: a power-of-two array of bucket chains that doubles as entries
 * come (load at most 1), up to a size set from the byte budget.  Starting
 * small matters: a lookup's first memory access is its bucket, and an
 * array sized for a full 64 MB cache (2 MB) turns every hit of a small
 * working set into a cache and TLB miss.  Each entry is one allocation holding the key, the offsets of every
 * TTL field and the stored message, so that a hit is one hash, one chain walk,
 * one memcpy and a loop over the TTL offsets: no name is parsed again.
 *
 * Choices worth knowing:
 *  - Each RR's TTL is rewritten when stored: clamped to [min_ttl, max_ttl]
 *    (a TTL with the high bit set means 0, as RFC 2181 8 says and Unbound
 *    does: answer.c tells clients the same of a first, uncached reply), and
 *    the SOA of a negative answer
 *    gets the negative TTL itself (RFC 2308 5).  A hit then only subtracts
 *    the age, stopping at 0.  Additional-section TTLs take no part in the
 *    entry's lifetime, so they may reach 0 before the entry expires.
 *  - OPT is hop-by-hop and TSIG belongs to one transaction; the additional
 *    section is cut at the first of them, dropping any RR after it.  Cutting
 *    rather than splicing keeps every compression pointer valid (pointers
 *    only point backwards), and additional data is optional anyway.
 *  - The key carries the CD bit as well as DO: an answer fetched with
 *    checking disabled may hold data the upstream's validator would have
 *    refused, and must not reach clients that did not ask for that.
 *  - A response whose TTL works out to 0 is not stored and removes the
 *    entry it would have replaced, which it supersedes.  A failure (SERVFAIL
 *    and the like, a malformed or truncated response) leaves the existing
 *    entry alone, so that it can still be served stale.
 *  - Eviction is CLOCK over the bucket array: the hand sweeps a whole bucket
 *    at a time, clearing reference bits and freeing entries that were not
 *    referenced since the last pass (or are past their stale window), until
 *    the new entry fits.  New entries start unreferenced, so a scan of
 *    one-off names cannot push out entries that are being hit.
 *  - Prefetch state is two small fields of the entry: a saturating count of
 *    fresh hits and a bit set when a refresh was handed out.  The bit is
 *    what keeps a popular name from sending one refresh per hit while the
 *    first is on its way; it needs no clearing, since the refresh stores a
 *    new entry.  The threshold is compared in milliseconds, so that short
 *    TTLs get a window too (a 5 s entry: its last 500 ms).
 *  - The hash is keyed (hash.h, a random key per process), so that chains
 *    cannot be made long by choosing names without knowing it.
 *  - Entries are bounded by bytes counting the entry header, key, offsets,
 *    message and an estimate of the allocator's own overhead; the bucket
 *    array and the cache structure come out of the same budget.
 *
 * Sharing with the other workers' caches (cache_link): the owner is the
 * only thread that changes a cache, and it reads it without a lock.  What a
 * sibling reads -- the bucket array, the chains, an entry's key, times and
 * message -- the owner changes only while holding the cache's mutex
 * (storing, evicting, growing, flushing, dropping a dead entry), and a
 * sibling reads it only while holding that mutex.  What the owner changes
 * on a hit without the mutex (reference bit, hit count, prefetch bit, the
 * kept reply, the counters) no sibling reads: those are fields of their own,
 * not sharing a memory location with anything a sibling reads.  So the hit
 * path is as it was, the owner pays an uncontended lock per store, and the
 * lock is contended only while a sibling looks, which happens only when an
 * upstream has failed or is late.
 */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "engine/cache.h"
#include "util/hash.h"
#include "util/util.h"

#define KEY_DO		0x01
#define KEY_CD		0x02
#define TYPE_TSIG	250

/* Expected size of an entry, for sizing the bucket array (load about 1). */
#define AVG_ENTRY	256
#define INITIAL_BUCKETS	1024
#define MAX_BUCKETS	(1u << 24)
/* What malloc keeps beside each block, charged to the entry. */
#define MALLOC_OVERHEAD	16
/* No entry may take more than this fraction of the budget. */
#define ENTRY_SHARE	8
/* Shortest RR: root owner, type, class, ttl, rdlength. */
#define RR_MIN_LEN	11
#define MAX_RRS		((WIRE_MAX_MSG - WIRE_HDR_LEN) / RR_MIN_LEN + 1)
#define HITS_MAX	127	/* the hits bit-field */

#if CACHE_PREFETCH_HITS > HITS_MAX
#error "CACHE_PREFETCH_HITS does not fit the entry's hit count"
#endif

struct entry {
	LIST_ENTRY(entry) link;		/* its bucket's chain */
	uint64_t	 stored;	/* ms */
	uint64_t	 expire;	/* ms: stored + ttl */
	uint64_t	 dead;		/* ms: expire + CACHE_STALE_MAX */
	uint32_t	 tag;		/* high half of the key hash */
	uint32_t	 ttl;		/* s */
	uint32_t	 charge;	/* bytes counted against the budget */
	uint16_t	 qtype, qclass;
	uint16_t	 nttl, msglen;
	uint8_t		 keylen, flags, ref;
	unsigned	 hits:7;	/* fresh hits, saturating */
	unsigned	 prefetched:1;	/* a refresh was handed out */
	struct cache_reply *reply;	/* kept client reply, or NULL */
	uint8_t		 data[];	/* key, even pad, u16 TTL offsets, message */
};

LIST_HEAD(entry_list, entry);

struct cache {
	struct entry_list *buckets;
	size_t		  mask;		/* nbuckets - 1; buckets NULL when off */
	size_t		  maxbuckets;	/* the most it may grow to */
	size_t		  hand;		/* CLOCK position */
	size_t		  size;		/* configured bound */
	size_t		  fixed;	/* bytes of this struct and the buckets */
	size_t		  budget;	/* bytes left for entries */
	size_t		  used;		/* bytes charged by entries */
	uint64_t	  nentries;
	uint32_t	  min_ttl, max_ttl;
	bool		  prefetch;
	uint64_t	  hits, misses, stale_hits, inserts, evictions, expired;
	uint64_t	  prefetches, sibling_hits;
	/* Sharing (see the top): LOCK guards what siblings read; SHARED
	 * is set once, before any thread but the creator uses the cache. */
	pthread_mutex_t	  lock;
	bool		  shared;
	struct cache	**sibs;		/* the other workers' caches */
	size_t		  nsibs;
	uint16_t	  scratch[MAX_RRS];	/* TTL offsets while storing */
};

/* Changes to what siblings read are made under the owner's lock. */
static inline void
wlock(struct cache *c)
{
	if (c->shared)
		pthread_mutex_lock(&c->lock);
}

static inline void
wunlock(struct cache *c)
{
	if (c->shared)
		pthread_mutex_unlock(&c->lock);
}

/* ---- keys ---- */

/* The keyed hash of hash.h over the name, then the rest of the key. */
static inline uint64_t
key_hash(const uint8_t *name, size_t len, uint16_t qtype, uint16_t qclass,
    uint8_t flags)
{
	return hash_word(hash_bytes(name, len), (uint64_t)qtype << 32 |
	    (uint64_t)qclass << 16 | flags);
}

static inline uint8_t
key_flags(const struct wire_query *q)
{
	uint8_t f = 0;

	if (q->edns.present && (q->edns.flags & EDNS_DO))
		f |= KEY_DO;
	if (q->hdr.flags & WIRE_CD)
		f |= KEY_CD;
	return f;
}

static inline size_t
key_room(size_t keylen)
{
	return (keylen + 1) & ~(size_t)1;
}

static inline uint16_t *
entry_offs(struct entry *e)
{
	return (uint16_t *)(void *)(e->data + key_room(e->keylen));
}

static inline uint8_t *
entry_msg(struct entry *e)
{
	return (uint8_t *)(entry_offs(e) + e->nttl);
}

/* Q's entry (hash H), or NULL. */
static inline struct entry *
find(struct cache *c, const struct wire_query *q, uint8_t flags, uint64_t h)
{
	struct entry *e;
	uint32_t tag = (uint32_t)(h >> 32);
	uint8_t keylen = (uint8_t)q->qname_len;

	LIST_FOREACH(e, &c->buckets[h & c->mask], link)
		if (e->tag == tag && e->qtype == q->qtype &&
		    e->qclass == q->qclass && e->flags == flags &&
		    e->keylen == keylen &&
		    memcmp(e->data, q->lname, keylen) == 0)
			break;
	return e;
}

static void
unlink_entry(struct cache *c, struct entry *e)
{
	LIST_REMOVE(e, link);
	c->used -= e->charge;
	c->nentries--;
	free(e->reply);
	free(e);
}

static inline void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- life cycle ---- */

struct cache *
cache_new(size_t size, uint32_t min_ttl, uint32_t max_ttl)
{
	struct cache *c = xcalloc(1, sizeof(*c));
	size_t n = 16;

	pthread_mutex_init(&c->lock, NULL);
	c->size = size;
	c->min_ttl = min_ttl;
	c->max_ttl = max_ttl;
	if (size == 0)
		return c;
	while (n < MAX_BUCKETS && n * 2 <= size / AVG_ENTRY)
		n *= 2;
	/* The budget is charged for the largest array from the start, so
	 * that growing never pushes entries out. */
	c->fixed = sizeof(*c) + n * sizeof(*c->buckets);
	if (c->fixed >= size)
		return c;	/* too small to hold anything: stores nothing */
	c->maxbuckets = n;
	n = n < INITIAL_BUCKETS ? n : INITIAL_BUCKETS;
	c->buckets = xcalloc(n, sizeof(*c->buckets));
	c->mask = n - 1;
	c->budget = size - c->fixed;
	return c;
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	cache_flush(c, NULL);
	free(c->buckets);
	free(c->sibs);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void
cache_link(struct cache *const *caches, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cache *c = caches[i];

		free(c->sibs);
		c->sibs = n > 1 ? xcalloc(n - 1, sizeof(*c->sibs)) : NULL;
		c->nsibs = 0;
		for (size_t j = 0; j < n; j++)
			if (j != i)
				c->sibs[c->nsibs++] = caches[j];
		c->shared = n > 1;
	}
}

void
cache_set_prefetch(struct cache *c, bool on)
{
	c->prefetch = on;
}

/* ---- storing ---- */

/* What scanning a response found. */
struct scan {
	size_t keep;		/* octets stored: the additional section is cut at OPT/TSIG */
	unsigned nttl;		/* TTL offsets in c->scratch */
	unsigned dropped;	/* additional RRs cut */
	unsigned an, ns;
	uint32_t ttl;		/* before clamping */
	bool negative;
};

static inline uint32_t
ttl_value(uint32_t t)
{
	return cache_ttl_clean(t, 0, UINT32_MAX);
}

/* Checks the SOA's RDATA shape and returns its MINIMUM, or -1. */
static int64_t
soa_minimum(const uint8_t *resp, const struct wire_iter_rr *rr)
{
	uint8_t name[WIRE_NAME_MAX];
	size_t p = rr->rdata_off, end = rr->rdata_off + rr->rdlen;

	if (wire_name_read(resp, end, &p, name) == -1 ||
	    wire_name_read(resp, end, &p, name) == -1 || end - p != 20)
		return -1;
	return ttl_value(wire_get_u32(resp + p + 16));
}

/*
 * Walks the whole response, checking it is a cacheable answer to Q, and
 * records every TTL offset.  Returns 0, or -1 when it must not be stored.
 */
static int
scan_response(struct cache *c, const struct wire_query *q, const uint8_t *resp,
    size_t len, struct scan *s)
{
	uint8_t name[WIRE_NAME_MAX];
	struct wire_iter it;
	struct wire_iter_q qq;
	struct wire_iter_rr rr;
	const struct wire_hdr *h = &it.hdr;
	size_t cut = 0;
	uint32_t min = UINT32_MAX, soa_min = UINT32_MAX;
	bool seen_opt = false, has_soa = false, has_answer = false;
	int r;

	if (len > WIRE_MAX_MSG || wire_iter_init(&it, resp, len) == -1)
		return -1;
	int rcode = WIRE_RCODE(h->flags);
	if (!(h->flags & WIRE_QR) || WIRE_OPCODE(h->flags) != 0 ||
	    (h->flags & WIRE_TC) || h->qdcount != 1 ||
	    (rcode != RCODE_NOERROR && rcode != RCODE_NXDOMAIN))
		return -1;

	/* The answer must be to the question asked. */
	if (wire_iter_question(&it, &qq, name) != 1 ||
	    qq.name_len != q->qname_len || !wire_name_equal(name, q->lname) ||
	    qq.qtype != q->qtype || qq.qclass != q->qclass)
		return -1;

	s->nttl = 0;
	s->dropped = 0;
	while ((r = wire_iter_next(&it, &rr)) == 1) {
		if (rr.type == TYPE_OPT || rr.type == TYPE_TSIG) {
			if (rr.section != WIRE_SEC_ADDITIONAL)
				return -1;
			if (rr.type == TYPE_OPT) {
				/* RFC 6891 6.1.1: one OPT, owned by the root;
				 * an extended rcode is not NOERROR/NXDOMAIN. */
				if (seen_opt || !wire_iter_owner_root(&it, &rr) ||
				    (rr.ttl >> 24) != 0)
					return -1;
				seen_opt = true;
			}
			if (cut == 0)
				cut = rr.off;
		}
		if (cut != 0) {
			s->dropped++;
			continue;
		}
		c->scratch[s->nttl++] = (uint16_t)(rr.rdata_off - 6);
		if (rr.section == WIRE_SEC_ADDITIONAL)
			continue;
		uint32_t t = ttl_value(rr.ttl);
		if (t < min)
			min = t;
		if (rr.section == WIRE_SEC_ANSWER) {
			if (rr.type == q->qtype || q->qtype == TYPE_ANY)
				has_answer = true;
		} else if (rr.type == TYPE_SOA) {
			int64_t m = soa_minimum(resp, &rr);
			if (m == -1)
				return -1;
			has_soa = true;
			if ((uint32_t)m < soa_min)
				soa_min = (uint32_t)m;
		}
	}
	if (r == -1 || !wire_iter_end(&it))
		return -1;

	/* RFC 2308: NXDOMAIN, or no data of the type asked (possibly after
	 * a CNAME chain), is cached only from the SOA. */
	s->negative = rcode == RCODE_NXDOMAIN || !has_answer;
	if (s->negative) {
		if (!has_soa)
			return -1;
		if (soa_min < min)
			min = soa_min;
	}
	s->ttl = min;
	s->keep = cut != 0 ? cut : len;
	s->an = h->ancount;
	s->ns = h->nscount;
	return 0;
}

static uint32_t
clamp_ttl(const struct cache *c, uint32_t t)
{
	return cache_ttl_clean(t, c->min_ttl, c->max_ttl);
}

/* Doubles the bucket array (when allowed), rehashing every entry. */
static void
grow(struct cache *c)
{
	size_t n = (c->mask + 1) * 2;
	struct entry_list *nb;

	/* Zero-filled: every chain empty. */
	if (n > c->maxbuckets || (nb = calloc(n, sizeof(*nb))) == NULL)
		return;		/* longer chains rather than an abort */
	for (size_t b = 0; b <= c->mask; b++) {
		struct entry *e, *next;
		for (e = LIST_FIRST(&c->buckets[b]); e != NULL; e = next) {
			uint64_t h = key_hash(e->data, e->keylen, e->qtype,
			    e->qclass, e->flags);
			next = LIST_NEXT(e, link);
			LIST_INSERT_HEAD(&nb[h & (n - 1)], e, link);
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->mask = n - 1;
	c->hand &= c->mask;
}

/* Frees entries CLOCK-wise until NEED more bytes fit. */
static void
make_room(struct cache *c, size_t need, uint64_t now)
{
	while (c->used + need > c->budget && c->nentries > 0) {
		struct entry *e, *next;
		for (e = LIST_FIRST(&c->buckets[c->hand]); e != NULL; e = next) {
			next = LIST_NEXT(e, link);
			if (now >= e->dead) {
				unlink_entry(c, e);
				c->expired++;
			} else if (e->ref)
				e->ref = 0;
			else {
				unlink_entry(c, e);
				c->evictions++;
			}
		}
		c->hand = (c->hand + 1) & c->mask;
	}
}

/* Fills E (not linked yet) with the response RESP as S scanned it. */
static void
fill_entry(struct cache *c, struct entry *e, const struct wire_query *q,
    const uint8_t *resp, const struct scan *s, uint64_t h, uint32_t ttl,
    size_t charge, uint64_t now)
{
	e->stored = now;
	e->expire = now + (uint64_t)ttl * 1000;
	e->dead = e->expire + (uint64_t)CACHE_STALE_MAX * 1000;
	e->tag = (uint32_t)(h >> 32);
	e->ttl = ttl;
	e->charge = (uint32_t)charge;
	e->qtype = q->qtype;
	e->qclass = q->qclass;
	e->nttl = (uint16_t)s->nttl;
	e->msglen = (uint16_t)s->keep;
	e->keylen = (uint8_t)q->qname_len;
	e->flags = key_flags(q);
	e->ref = 0;
	e->hits = 0;
	e->prefetched = 0;
	e->reply = NULL;
	memcpy(e->data, q->lname, e->keylen);
	if (key_room(e->keylen) != e->keylen)
		e->data[e->keylen] = 0;

	uint16_t *offs = entry_offs(e);
	uint8_t *msg = entry_msg(e);
	memcpy(offs, c->scratch, s->nttl * sizeof(uint16_t));
	memcpy(msg, resp, s->keep);
	if (s->dropped > 0) {
		uint16_t ar = (uint16_t)(wire_get_u16(msg + WIRE_OFF_AR) -
		    s->dropped);
		msg[WIRE_OFF_AR] = (uint8_t)(ar >> 8);
		msg[WIRE_OFF_AR + 1] = (uint8_t)ar;
	}
	for (unsigned i = 0; i < s->nttl; i++) {
		uint8_t *p = msg + offs[i];
		uint32_t t = clamp_ttl(c, wire_get_u32(p));
		/* The type field sits 4 octets before the TTL. */
		if (s->negative && i >= s->an && i < s->an + s->ns &&
		    wire_get_u16(p - 4) == TYPE_SOA)
			t = ttl;
		put_u32(p, t);
	}
}

void
cache_store(struct cache *c, const struct wire_query *q, const uint8_t *resp,
    size_t len, uint64_t now)
{
	struct scan s;

	if (c->buckets == NULL || q->qname_len <= 0 || q->question_end == 0)
		return;
	if (scan_response(c, q, resp, len, &s) == -1)
		return;

	uint8_t flags = key_flags(q);
	uint64_t h = key_hash(q->lname, (size_t)q->qname_len, q->qtype,
	    q->qclass, flags);
	uint32_t ttl = clamp_ttl(c, s.ttl);
	size_t body = key_room((size_t)q->qname_len) +
	    s.nttl * sizeof(uint16_t) + s.keep;
	size_t charge = sizeof(struct entry) + body + MALLOC_OVERHEAD;
	/* Filled before it is linked: siblings see it whole or not at all. */
	struct entry *e = NULL;
	if (ttl != 0 && charge <= c->budget / ENTRY_SHARE &&
	    (e = malloc(sizeof(*e) + body)) != NULL)
		fill_entry(c, e, q, resp, &s, h, ttl, charge, now);

	wlock(c);
	struct entry *old = find(c, q, flags, h);
	if (old != NULL)
		unlink_entry(c, old);
	if (e != NULL) {
		make_room(c, charge, now);
		if (c->nentries >= c->mask + 1)
			grow(c);
		LIST_INSERT_HEAD(&c->buckets[h & c->mask], e, link);
		c->used += charge;
		c->nentries++;
		c->inserts++;
	}
	wunlock(c);
}


/* ---- lookups ---- */

/* Seconds since E was stored; a clock that went backwards counts as none. */
static inline uint32_t
entry_age(const struct entry *e, uint64_t now)
{
	return now > e->stored ? (uint32_t)((now - e->stored) / 1000) : 0;
}

/* The TTLs of E's message copied to OUT, each less AGE (stopping at 0). */
static inline void
put_aged(uint8_t *out, struct entry *e, uint32_t age)
{
	const uint16_t *offs = entry_offs(e);

	for (unsigned i = 0; i < e->nttl; i++) {
		uint8_t *p = out + offs[i];
		uint32_t t = wire_get_u32(p);
		put_u32(p, t > age ? t - age : 0);
	}
}

/* The TTLs of E's message copied to OUT, all CACHE_STALE_TTL. */
static inline void
put_stale(uint8_t *out, struct entry *e)
{
	const uint16_t *offs = entry_offs(e);

	for (unsigned i = 0; i < e->nttl; i++)
		put_u32(out + offs[i], CACHE_STALE_TTL);
}

enum cache_result
cache_lookup(struct cache *c, const struct wire_query *q, uint64_t now,
    bool stale_ok, uint8_t *out, size_t cap, size_t *len,
    struct cache_hit *hit)
{
	if (c->nentries == 0 || q->qname_len <= 0)
		goto miss;

	uint8_t flags = key_flags(q);
	uint64_t h = key_hash(q->lname, (size_t)q->qname_len, q->qtype,
	    q->qclass, flags);
	struct entry *e = find(c, q, flags, h);
	if (e == NULL)
		goto miss;

	bool stale = now >= e->expire;
	if (stale) {
		if (now >= e->dead) {
			wlock(c);
			unlink_entry(c, e);
			wunlock(c);
			c->expired++;
			goto miss;
		}
		if (!stale_ok)
			goto miss;
	}
	bool replay = !stale && hit != NULL && e->reply != NULL &&
	    e->reply->gen == hit->gen && e->reply->len <= hit->room &&
	    e->reply->fallback == hit->fallback;
	if (!replay && e->msglen > cap)
		goto miss;

	uint32_t left, age = 0;
	bool prefetch = false;
	if (!replay)
		memcpy(out, entry_msg(e), e->msglen);
	if (stale) {
		put_stale(out, e);
		left = 0;
		c->stale_hits++;
	} else {
		if (e->hits < HITS_MAX)
			e->hits++;
		/* Less than the share of the TTL left, in milliseconds:
		 * expire - now is exact, whatever the age in seconds says. */
		if (hit != NULL && c->prefetch && !e->prefetched &&
		    e->hits >= CACHE_PREFETCH_HITS &&
		    (e->expire - now) * 100 <
		    (uint64_t)e->ttl * 1000 * CACHE_PREFETCH_PERCENT) {
			e->prefetched = 1;
			prefetch = true;
			c->prefetches++;
		}
		age = entry_age(e, now);
		if (!replay)
			put_aged(out, e, age);
		left = e->ttl - age;
		c->hits++;
	}
	if (!e->ref)
		e->ref = 1;
	*len = replay ? 0 : e->msglen;
	if (hit != NULL) {
		hit->remaining = left;
		hit->ttl = e->ttl;
		hit->hits = e->hits;
		hit->age = age;
		hit->prefetch = prefetch;
		hit->reply = replay ? e->reply : NULL;
	}
	return stale ? CACHE_STALE : CACHE_HIT;

miss:
	c->misses++;
	return CACHE_MISS;
}

enum cache_result
cache_lookup_siblings(struct cache *c, const struct wire_query *q,
    uint64_t now, bool stale_ok, uint8_t *out, size_t cap, size_t *len)
{
	enum cache_result best = CACHE_MISS;
	uint64_t best_expire = 0;

	if (q->qname_len <= 0)
		return CACHE_MISS;
	uint8_t flags = key_flags(q);
	uint64_t h = key_hash(q->lname, (size_t)q->qname_len, q->qtype,
	    q->qclass, flags);
	for (size_t i = 0; i < c->nsibs && best != CACHE_HIT; i++) {
		struct cache *s = c->sibs[i];
		struct entry *e;

		pthread_mutex_lock(&s->lock);
		if (s->buckets == NULL || s->nentries == 0 ||
		    (e = find(s, q, flags, h)) == NULL || now >= e->dead ||
		    e->msglen > cap) {
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		/* The latest expiry wins: a fresh entry over any stale one,
		 * and of two stale ones the more recent. */
		bool stale = now >= e->expire;
		if ((!stale || stale_ok) &&
		    (best == CACHE_MISS || e->expire > best_expire)) {
			memcpy(out, entry_msg(e), e->msglen);
			if (stale)
				put_stale(out, e);
			else
				put_aged(out, e, entry_age(e, now));
			*len = e->msglen;
			best = stale ? CACHE_STALE : CACHE_HIT;
			best_expire = e->expire;
		}
		pthread_mutex_unlock(&s->lock);
	}
	if (best != CACHE_MISS)
		c->sibling_hits++;
	return best;
}

/* ---- the rest ---- */

void
cache_keep_reply(struct cache *c, const struct wire_query *q,
    const struct cache_reply *rep, uint32_t age)
{
	struct cache_reply *r;
	struct entry *e;
	size_t size, charge;
	uint8_t *p;

	if (c->buckets == NULL || c->nentries == 0 || q->qname_len <= 0)
		return;
	uint8_t flags = key_flags(q);
	uint64_t h = key_hash(q->lname, (size_t)q->qname_len, q->qtype,
	    q->qclass, flags);
	if ((e = find(c, q, flags, h)) == NULL)
		return;
	size = sizeof(*r) + rep->nttl * (sizeof(uint32_t) + sizeof(uint16_t)) +
	    rep->len;
	charge = size + MALLOC_OVERHEAD;
	if (e->reply != NULL) {
		size_t old = sizeof(*r) + e->reply->nttl * (sizeof(uint32_t) +
		    sizeof(uint16_t)) + e->reply->len + MALLOC_OVERHEAD;
		free(e->reply);
		e->reply = NULL;
		e->charge -= (uint32_t)old;
		c->used -= old;
	}
	/* Optional: a full budget keeps entries, not the replies made of them. */
	if (c->used + charge > c->budget || (r = malloc(size)) == NULL)
		return;
	*r = *rep;
	p = (uint8_t *)(r + 1);
	uint32_t *ttl0 = (uint32_t *)(void *)p;
	for (unsigned i = 0; i < rep->nttl; i++)
		ttl0[i] = rep->ttl0[i] + age;	/* a TTL written as 0 stays 0 */
	p += rep->nttl * sizeof(uint32_t);
	memcpy(p, rep->ttloff, rep->nttl * sizeof(uint16_t));
	r->ttloff = (const uint16_t *)(void *)p;
	p += rep->nttl * sizeof(uint16_t);
	memcpy(p, rep->msg, rep->len);
	r->ttl0 = ttl0;
	r->msg = p;
	e->reply = r;
	e->charge += (uint32_t)charge;
	c->used += charge;
}

void
cache_flush(struct cache *c, const uint8_t *name)
{
	if (c->buckets == NULL)
		return;
	wlock(c);
	for (size_t b = 0; b <= c->mask; b++) {
		struct entry *e, *next;
		for (e = LIST_FIRST(&c->buckets[b]); e != NULL; e = next) {
			next = LIST_NEXT(e, link);
			if (name == NULL || wire_name_under(e->data, name))
				unlink_entry(c, e);
		}
	}
	wunlock(c);
}

void
cache_get_info(const struct cache *c, struct cache_info *out)
{
	memset(out, 0, sizeof(*out));
	out->entries = c->nentries;
	out->bytes = c->buckets != NULL ? c->fixed + c->used : 0;
	out->max_bytes = c->size;
	out->hits = c->hits;
	out->misses = c->misses;
	out->stale_hits = c->stale_hits;
	out->inserts = c->inserts;
	out->evictions = c->evictions;
	out->expired = c->expired;
	out->prefetches = c->prefetches;
	out->sibling_hits = c->sibling_hits;
}
