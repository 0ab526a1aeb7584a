/* Unit tests for cache: keys, TTLs, negative answers, stale, flush, bounds. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "engine/cache.h"
#include "wire/wire.h"

#define TYPE_TSIG	250

#define MS	1000ull

/* ---- helpers ---- */

/* Parses a query for NAME/TYPE/CLASS, with an OPT when EDNS (DO when DO). */
static void
query_full(struct wire_query *q, const char *name, uint16_t type,
    uint16_t qclass, bool edns, bool do_bit, bool cd)
{
	uint8_t mem[512], wname[WIRE_NAME_MAX];
	const char *err = NULL;
	struct wire_buf b;
	struct wire_hdr h = { 0x4242, WIRE_RD | (cd ? WIRE_CD : 0), 1, 0, 0,
	    edns ? 1 : 0 };

	assert_int_not_equal(wire_name_from_str(name, wname, &err), -1);
	wire_buf_init(&b, mem, sizeof(mem));
	wire_put_hdr(&b, &h);
	wire_put_name(&b, wname, false);
	wire_put_u16(&b, type);
	wire_put_u16(&b, qclass);
	if (edns)
		wire_put_opt(&b, 1232, 0, do_bit, -1);
	assert_false(b.overflow);
	assert_int_equal(wire_query_parse(mem, b.len, q), WIRE_OK);
}

static void
query(struct wire_query *q, const char *name, uint16_t type)
{
	query_full(q, name, type, CLASS_IN, false, false, false);
}

/* A response, built by ldns from RRs in presentation form. */
struct resp {
	const char *qname;
	uint16_t qtype;
	int rcode;
	bool tc, edns, do_bit;
	const char *an[8], *ns[8], *ar[8];
};

static void
push(ldns_pkt *p, ldns_pkt_section sec, const char *const *rrs)
{
	for (int i = 0; i < 8 && rrs[i] != NULL; i++) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, rrs[i], 0, NULL,
		    NULL), LDNS_STATUS_OK);
		assert_true(ldns_pkt_push_rr(p, sec, rr));
	}
}

static size_t
build(const struct resp *r, uint8_t *out, size_t cap)
{
	ldns_rdf *owner = ldns_dname_new_frm_str(r->qname);
	assert_non_null(owner);
	ldns_pkt *p = ldns_pkt_query_new(owner, (ldns_rr_type)r->qtype,
	    LDNS_RR_CLASS_IN, LDNS_RD);
	assert_non_null(p);
	ldns_pkt_set_id(p, 0x1234);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_tc(p, r->tc);
	ldns_pkt_set_rcode(p, (uint8_t)r->rcode);
	push(p, LDNS_SECTION_ANSWER, r->an);
	push(p, LDNS_SECTION_AUTHORITY, r->ns);
	push(p, LDNS_SECTION_ADDITIONAL, r->ar);
	if (r->edns) {
		ldns_pkt_set_edns_udp_size(p, 1232);
		ldns_pkt_set_edns_do(p, r->do_bit);
	}
	uint8_t *w = NULL;
	size_t n = 0;
	assert_int_equal(ldns_pkt2wire(&w, p, &n), LDNS_STATUS_OK);
	assert_true(n <= cap);
	memcpy(out, w, n);
	free(w);
	ldns_pkt_free(p);
	return n;
}

/* TTLs and types of every RR of a message, in order; returns the count. */
static int
rrs_of(const uint8_t *m, size_t len, uint32_t *ttl, uint16_t *type,
    size_t *ttl_off, int max)
{
	struct wire_hdr h;
	struct wire_rr rr;
	uint8_t name[WIRE_NAME_MAX];
	size_t pos = WIRE_HDR_LEN;
	int n = 0;

	assert_int_equal(wire_hdr_read(m, len, &h), 0);
	for (unsigned i = 0; i < h.qdcount; i++) {
		assert_int_not_equal(wire_name_read(m, len, &pos, name), -1);
		pos += 4;
	}
	unsigned total = (unsigned)h.ancount + h.nscount + h.arcount;
	for (unsigned i = 0; i < total; i++) {
		assert_int_equal(wire_rr_read(m, len, &pos, &rr), 0);
		assert_true(n < max);
		if (ttl != NULL)
			ttl[n] = rr.ttl;
		if (type != NULL)
			type[n] = rr.type;
		if (ttl_off != NULL)
			ttl_off[n] = rr.rdata_off - 6;
		n++;
	}
	assert_int_equal(pos, len);
	return n;
}

/* Asserts that A and B are byte for byte the same outside B's TTL fields. */
static void
assert_same_but_ttls(const uint8_t *a, size_t alen, const uint8_t *b,
    size_t blen)
{
	size_t off[64];
	uint8_t x[4096], y[4096];

	assert_int_equal(alen, blen);
	assert_true(alen <= sizeof(x));
	memcpy(x, a, alen);
	memcpy(y, b, blen);
	int n = rrs_of(b, blen, NULL, NULL, off, 64);
	for (int i = 0; i < n; i++) {
		memset(x + off[i], 0, 4);
		memset(y + off[i], 0, 4);
	}
	assert_memory_equal(x, y, alen);
}

static enum cache_result
lookup(struct cache *c, const struct wire_query *q, uint64_t now, bool stale_ok,
    uint8_t *out, size_t *len)
{
	return cache_lookup(c, q, now, stale_ok, out, 4096, len, NULL);
}

/* The TTL of the first RR of the copy returned for Q at NOW, or -1 on miss. */
static int64_t
first_ttl(struct cache *c, const struct wire_query *q, uint64_t now)
{
	uint8_t out[4096];
	uint32_t ttl[64];
	size_t len = 0;

	if (lookup(c, q, now, false, out, &len) != CACHE_HIT)
		return -1;
	assert_true(rrs_of(out, len, ttl, NULL, NULL, 64) > 0);
	return ttl[0];
}

static struct cache *
mkcache(void)
{
	return cache_new(1 << 20, 0, 86400);
}

static size_t
simple_a(uint8_t *out, const char *name, const char *rr)
{
	struct resp r = { .qname = name, .qtype = TYPE_A, .an = { rr } };
	return build(&r, out, 4096);
}

enum counter { ENTRIES, HITS, MISSES, STALE_HITS, INSERTS, EVICTIONS, EXPIRED };

static uint64_t
count(const struct cache *c, enum counter which)
{
	struct cache_info i;

	cache_get_info(c, &i);
	switch (which) {
	case ENTRIES: return i.entries;
	case HITS: return i.hits;
	case MISSES: return i.misses;
	case STALE_HITS: return i.stale_hits;
	case INSERTS: return i.inserts;
	case EVICTIONS: return i.evictions;
	case EXPIRED: return i.expired;
	}
	return 0;
}

/* ---- tests ---- */

static void
test_hit_ttl_decremented(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096], out[4096];
	size_t n = simple_a(resp, "www.example.com.",
	    "www.example.com. 300 IN A 192.0.2.1"), len = 0;
	struct cache_hit hit;
	uint32_t ttl[4];

	query(&q, "www.example.com.", TYPE_A);
	assert_int_equal(cache_lookup(c, &q, 0, false, out, sizeof(out), &len,
	    NULL), CACHE_MISS);
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(cache_lookup(c, &q, 100 * MS, false, out, sizeof(out),
	    &len, &hit), CACHE_HIT);
	assert_int_equal(rrs_of(out, len, ttl, NULL, NULL, 4), 1);
	assert_int_equal(ttl[0], 200);
	assert_int_equal(hit.remaining, 200);
	assert_int_equal(hit.ttl, 300);
	assert_int_equal(hit.hits, 1);
	assert_same_but_ttls(resp, n, out, len);

	/* Whole seconds of age count; part of a second does not. */
	assert_int_equal(first_ttl(c, &q, 0), 300);
	assert_int_equal(first_ttl(c, &q, 999), 300);
	assert_int_equal(first_ttl(c, &q, 1000), 299);
	assert_int_equal(first_ttl(c, &q, 299999), 1);

	/* The original response stayed untouched in the cache. */
	assert_int_equal(first_ttl(c, &q, 0), 300);

	assert_int_equal(count(c, HITS), 6);
	assert_int_equal(count(c, MISSES), 1);
	assert_int_equal(count(c, INSERTS), 1);
	assert_int_equal(count(c, ENTRIES), 1);
	cache_free(c);
}

static void
test_min_over_rrs(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096], out[4096];
	struct resp r = { .qname = "example.com.", .qtype = TYPE_A,
	    .an = { "example.com. 300 IN A 192.0.2.1",
		"example.com. 300 IN A 192.0.2.2" },
	    .ns = { "example.com. 200 IN NS ns1.example.com.",
		"example.com. 100 IN NS ns2.example.com." },
	    /* Additional data does not shorten the entry's life. */
	    .ar = { "ns1.example.com. 5 IN A 192.0.2.53" } };
	size_t n = build(&r, resp, sizeof(resp)), len = 0;
	struct cache_hit hit;
	uint32_t ttl[8];

	query(&q, "example.com.", TYPE_A);
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(cache_lookup(c, &q, 10 * MS, false, out, sizeof(out),
	    &len, &hit), CACHE_HIT);
	assert_int_equal(hit.remaining, 90);
	assert_int_equal(rrs_of(out, len, ttl, NULL, NULL, 8), 5);
	assert_int_equal(ttl[0], 290);
	assert_int_equal(ttl[1], 290);
	assert_int_equal(ttl[2], 190);
	assert_int_equal(ttl[3], 90);
	assert_int_equal(ttl[4], 0);	/* never below 0 */

	assert_int_equal(first_ttl(c, &q, 99999), 201);
	assert_int_equal(first_ttl(c, &q, 100000), -1);
	cache_free(c);
}

static void
test_clamps(void **state)
{
	(void)state;
	struct cache *c = cache_new(1 << 20, 60, 3600);
	struct wire_query q;
	uint8_t resp[4096];
	size_t n;

	/* Raised to min_ttl: the entry lives that long and says so. */
	query(&q, "short.example.", TYPE_A);
	n = simple_a(resp, "short.example.", "short.example. 10 IN A 192.0.2.1");
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(first_ttl(c, &q, 0), 60);
	assert_int_equal(first_ttl(c, &q, 59 * MS), 1);
	assert_int_equal(first_ttl(c, &q, 60 * MS), -1);

	/* Lowered to max_ttl. */
	query(&q, "long.example.", TYPE_A);
	n = simple_a(resp, "long.example.", "long.example. 604800 IN A 192.0.2.1");
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(first_ttl(c, &q, 0), 3600);
	assert_int_equal(first_ttl(c, &q, 3600 * MS), -1);

	/* A TTL with the high bit set means 0 (RFC 2181 8, as Unbound
	 * reads it), so min_ttl; ldns refuses to print one, so patch the
	 * wire.  2^31 - 1 is a TTL like any other: max_ttl. */
	query(&q, "huge.example.", TYPE_A);
	n = simple_a(resp, "huge.example.", "huge.example. 1 IN A 192.0.2.1");
	size_t off[2];
	assert_int_equal(rrs_of(resp, n, NULL, NULL, off, 2), 1);
	resp[off[0]] = 0x80;
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(first_ttl(c, &q, 0), 60);
	assert_int_equal(first_ttl(c, &q, 10 * MS), 50);
	query(&q, "max.example.", TYPE_A);
	n = simple_a(resp, "max.example.", "max.example. 2147483647 IN A 192.0.2.1");
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(first_ttl(c, &q, 0), 3600);
	cache_free(c);

	/* min_ttl 0: a top-bit TTL is not stored, like a TTL of 0. */
	c = mkcache();
	query(&q, "huge.example.", TYPE_A);
	n = simple_a(resp, "huge.example.", "huge.example. 1 IN A 192.0.2.1");
	assert_int_equal(rrs_of(resp, n, NULL, NULL, off, 2), 1);
	resp[off[0]] = 0x80;
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(count(c, ENTRIES), 0);
	cache_free(c);

	/* min_ttl 0: a TTL of 0 is not stored at all. */
	c = mkcache();
	query(&q, "zero.example.", TYPE_A);
	n = simple_a(resp, "zero.example.", "zero.example. 0 IN A 192.0.2.1");
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(count(c, ENTRIES), 0);
	cache_free(c);
}

static void
test_nxdomain_soa(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096], out[4096];
	struct resp r = { .qname = "nope.example.com.", .qtype = TYPE_A,
	    .rcode = RCODE_NXDOMAIN,
	    .ns = { "example.com. 3600 IN SOA ns1.example.com. "
		"hostmaster.example.com. 1 7200 900 1209600 300" } };
	size_t n = build(&r, resp, sizeof(resp)), len = 0;
	struct cache_hit hit;
	uint32_t ttl[4];
	uint16_t type[4];
	struct wire_hdr h;

	query(&q, "nope.example.com.", TYPE_A);
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(cache_lookup(c, &q, 100 * MS, false, out, sizeof(out),
	    &len, &hit), CACHE_HIT);
	assert_int_equal(hit.remaining, 200);
	assert_int_equal(wire_hdr_read(out, len, &h), 0);
	assert_int_equal(WIRE_RCODE(h.flags), RCODE_NXDOMAIN);
	assert_int_equal(rrs_of(out, len, ttl, type, NULL, 4), 1);
	assert_int_equal(type[0], TYPE_SOA);
	/* The SOA says how long the negative answer lasts (RFC 2308 5). */
	assert_int_equal(ttl[0], 200);
	assert_same_but_ttls(resp, n, out, len);
	assert_int_equal(first_ttl(c, &q, 300 * MS), -1);
	cache_free(c);
}

static void
test_nodata(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096];
	/* SOA TTL below its MINIMUM: the TTL wins. */
	struct resp r = { .qname = "www.example.com.", .qtype = TYPE_AAAA,
	    .ns = { "example.com. 120 IN SOA ns1.example.com. "
		"hostmaster.example.com. 1 7200 900 1209600 3600" } };
	size_t n = build(&r, resp, sizeof(resp));

	query(&q, "www.example.com.", TYPE_AAAA);
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(first_ttl(c, &q, 20 * MS), 100);
	assert_int_equal(first_ttl(c, &q, 120 * MS), -1);

	/* NODATA at the end of a CNAME chain: the SOA MINIMUM still caps. */
	struct resp r2 = { .qname = "alias.example.com.", .qtype = TYPE_AAAA,
	    .an = { "alias.example.com. 600 IN CNAME www.example.com." },
	    .ns = { "example.com. 3600 IN SOA ns1.example.com. "
		"hostmaster.example.com. 1 7200 900 1209600 60" } };
	n = build(&r2, resp, sizeof(resp));
	query(&q, "alias.example.com.", TYPE_AAAA);
	cache_store(c, &q, resp, n, 0);
	uint8_t out[4096];
	struct cache_hit hit;
	uint32_t ttl[4];
	size_t len = 0;
	assert_int_equal(cache_lookup(c, &q, 0, false, out, sizeof(out), &len,
	    &hit), CACHE_HIT);
	assert_int_equal(hit.remaining, 60);
	assert_int_equal(rrs_of(out, len, ttl, NULL, NULL, 4), 2);
	assert_int_equal(ttl[0], 600);
	assert_int_equal(ttl[1], 60);
	cache_free(c);
}

static void
test_negative_without_soa(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096];

	query(&q, "nope.example.com.", TYPE_A);
	struct resp nx = { .qname = "nope.example.com.", .qtype = TYPE_A,
	    .rcode = RCODE_NXDOMAIN };
	cache_store(c, &q, resp, build(&nx, resp, sizeof(resp)), 0);
	assert_int_equal(first_ttl(c, &q, 0), -1);

	/* A referral is no answer either. */
	struct resp ref = { .qname = "nope.example.com.", .qtype = TYPE_A,
	    .ns = { "example.com. 3600 IN NS ns1.example.com." } };
	cache_store(c, &q, resp, build(&ref, resp, sizeof(resp)), 0);
	assert_int_equal(first_ttl(c, &q, 0), -1);

	/* Nor is a CNAME alone, without the data asked for. */
	struct resp cn = { .qname = "nope.example.com.", .qtype = TYPE_A,
	    .an = { "nope.example.com. 300 IN CNAME x.example.net." } };
	cache_store(c, &q, resp, build(&cn, resp, sizeof(resp)), 0);
	assert_int_equal(first_ttl(c, &q, 0), -1);
	assert_int_equal(count(c, ENTRIES), 0);
	assert_int_equal(count(c, INSERTS), 0);
	cache_free(c);
}

static void
test_failures_not_cached(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096];
	static const int rcodes[] = { RCODE_SERVFAIL, RCODE_REFUSED,
	    RCODE_FORMERR, RCODE_NOTIMP };

	query(&q, "www.example.com.", TYPE_A);
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
		struct resp r = { .qname = "www.example.com.",
		    .qtype = TYPE_A, .rcode = rcodes[i],
		    .an = { "www.example.com. 300 IN A 192.0.2.1" } };
		cache_store(c, &q, resp, build(&r, resp, sizeof(resp)), 0);
		assert_int_equal(first_ttl(c, &q, 0), -1);
	}

	/* A failure leaves a cached answer alone: it may be served stale. */
	size_t n = simple_a(resp, "www.example.com.",
	    "www.example.com. 300 IN A 192.0.2.1");
	cache_store(c, &q, resp, n, 0);
	struct resp sf = { .qname = "www.example.com.", .qtype = TYPE_A,
	    .rcode = RCODE_SERVFAIL };
	cache_store(c, &q, resp, build(&sf, resp, sizeof(resp)), 400 * MS);
	assert_int_equal(first_ttl(c, &q, 0), 300);
	cache_free(c);
}

static void
test_extended_rcode_not_cached(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096];
	struct resp r = { .qname = "www.example.com.", .qtype = TYPE_A,
	    .edns = true,
	    .an = { "www.example.com. 300 IN A 192.0.2.1" } };
	size_t n = build(&r, resp, sizeof(resp));

	/* The OPT is last and empty: TTL then RDLENGTH end the message, and
	 * the TTL's top octet is the upper part of the rcode. */
	query_full(&q, "www.example.com.", TYPE_A, CLASS_IN, true, false,
	    false);
	resp[n - 6] = 1;	/* NOERROR becomes BADVERS (16) */
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(count(c, ENTRIES), 0);
	resp[n - 6] = 0;
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(count(c, ENTRIES), 1);
	cache_free(c);
}

static void
test_tc_not_cached(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096];
	struct resp r = { .qname = "www.example.com.", .qtype = TYPE_A,
	    .tc = true, .an = { "www.example.com. 300 IN A 192.0.2.1" } };

	query(&q, "www.example.com.", TYPE_A);
	cache_store(c, &q, resp, build(&r, resp, sizeof(resp)), 0);
	assert_int_equal(first_ttl(c, &q, 0), -1);
	assert_int_equal(count(c, ENTRIES), 0);
	cache_free(c);
}

/* A response must be to the question asked: another name, type or class
 * is not stored under the question's key. */
static void
test_other_question_not_cached(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096];
	struct resp type = { .qname = "www.example.com.", .qtype = TYPE_TXT,
	    .an = { "www.example.com. 300 IN A 192.0.2.1" } };
	struct resp name = { .qname = "other.example.com.", .qtype = TYPE_A,
	    .an = { "www.example.com. 300 IN A 192.0.2.1" } };

	query(&q, "www.example.com.", TYPE_A);
	cache_store(c, &q, resp, build(&type, resp, sizeof(resp)), 0);
	cache_store(c, &q, resp, build(&name, resp, sizeof(resp)), 0);
	assert_int_equal(first_ttl(c, &q, 0), -1);
	assert_int_equal(count(c, ENTRIES), 0);
	cache_free(c);
}

static void
test_key_bits(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query plain, edns, dob, cd, upper, aaaa, chaos;
	uint8_t resp[4096];

	query(&plain, "www.example.com.", TYPE_A);
	query_full(&edns, "www.example.com.", TYPE_A, CLASS_IN, true, false,
	    false);
	query_full(&dob, "www.example.com.", TYPE_A, CLASS_IN, true, true,
	    false);
	query_full(&cd, "www.example.com.", TYPE_A, CLASS_IN, false, false,
	    true);
	query(&upper, "WwW.ExAmple.COM.", TYPE_A);
	query(&aaaa, "www.example.com.", TYPE_AAAA);
	query_full(&chaos, "www.example.com.", TYPE_A, 3, false, false, false);

	size_t n = simple_a(resp, "www.example.com.",
	    "www.example.com. 300 IN A 192.0.2.1");
	cache_store(c, &plain, resp, n, 0);
	/* EDNS without DO is the same key; DO, CD, type, class are not. */
	assert_int_equal(first_ttl(c, &plain, 0), 300);
	assert_int_equal(first_ttl(c, &edns, 0), 300);
	assert_int_equal(first_ttl(c, &upper, 0), 300);
	assert_int_equal(first_ttl(c, &dob, 0), -1);
	assert_int_equal(first_ttl(c, &cd, 0), -1);
	assert_int_equal(first_ttl(c, &aaaa, 0), -1);
	assert_int_equal(first_ttl(c, &chaos, 0), -1);

	n = simple_a(resp, "www.example.com.",
	    "www.example.com. 100 IN A 192.0.2.1");
	cache_store(c, &dob, resp, n, 0);
	assert_int_equal(first_ttl(c, &dob, 0), 100);
	assert_int_equal(first_ttl(c, &plain, 0), 300);
	assert_int_equal(count(c, ENTRIES), 2);

	/* Stored under an upper-case question, found under lower case. */
	n = simple_a(resp, "MiXeD.example.com.",
	    "MiXeD.example.com. 50 IN A 192.0.2.9");
	struct wire_query m1, m2;
	query(&m1, "MiXeD.example.com.", TYPE_A);
	query(&m2, "mixed.EXAMPLE.com.", TYPE_A);
	cache_store(c, &m1, resp, n, 0);
	assert_int_equal(first_ttl(c, &m2, 0), 50);

	/* A response to another question is not stored under this one. */
	n = simple_a(resp, "other.example.com.",
	    "other.example.com. 50 IN A 192.0.2.9");
	cache_store(c, &aaaa, resp, n, 0);
	cache_store(c, &plain, resp, n, 0);
	assert_int_equal(first_ttl(c, &aaaa, 0), -1);
	assert_int_equal(first_ttl(c, &plain, 0), 300);
	cache_free(c);
}

static void
test_expiry_and_stale(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096], out[4096];
	struct resp r = { .qname = "example.com.", .qtype = TYPE_MX,
	    .an = { "example.com. 300 IN MX 10 mx.example.com." },
	    .ar = { "mx.example.com. 7200 IN A 192.0.2.25" } };
	size_t n = build(&r, resp, sizeof(resp)), len = 0;
	struct cache_hit hit = { .remaining = 99 };
	uint32_t ttl[4];

	query(&q, "example.com.", TYPE_MX);
	cache_store(c, &q, resp, n, 1000);
	assert_int_equal(lookup(c, &q, 1000 + 300 * MS - 1, false, out, &len),
	    CACHE_HIT);
	assert_int_equal(lookup(c, &q, 1000 + 300 * MS, false, out, &len),
	    CACHE_MISS);
	assert_int_equal(cache_lookup(c, &q, 1000 + 300 * MS, true, out,
	    sizeof(out), &len, &hit), CACHE_STALE);
	assert_int_equal(hit.remaining, 0);
	assert_int_equal(hit.ttl, 300);
	assert_int_equal(rrs_of(out, len, ttl, NULL, NULL, 4), 2);
	assert_int_equal(ttl[0], CACHE_STALE_TTL);
	assert_int_equal(ttl[1], CACHE_STALE_TTL);
	assert_same_but_ttls(resp, n, out, len);
	assert_int_equal(count(c, STALE_HITS), 1);

	uint64_t last = 1000 + (300 + CACHE_STALE_MAX) * MS;
	assert_int_equal(lookup(c, &q, last - 1, true, out, &len), CACHE_STALE);
	assert_int_equal(count(c, ENTRIES), 1);
	assert_int_equal(lookup(c, &q, last, true, out, &len), CACHE_MISS);
	assert_int_equal(count(c, ENTRIES), 0);
	assert_int_equal(count(c, EXPIRED), 1);
	assert_int_equal(count(c, STALE_HITS), 2);
	assert_int_equal(count(c, HITS), 1);
	assert_int_equal(count(c, MISSES), 2);

	/* A clock read before the store counts as no age. */
	cache_store(c, &q, resp, n, 5000);
	assert_int_equal(first_ttl(c, &q, 10), 300);
	cache_free(c);
}

static void
store_name(struct cache *c, const char *name, uint64_t now)
{
	struct wire_query q;
	uint8_t resp[4096];
	char rr[300];

	snprintf(rr, sizeof(rr), "%s 300 IN A 192.0.2.1", name);
	query(&q, name, TYPE_A);
	cache_store(c, &q, resp, simple_a(resp, name, rr), now);
}

static bool
cached(struct cache *c, const char *name)
{
	struct wire_query q;

	query(&q, name, TYPE_A);
	return first_ttl(c, &q, 0) != -1;
}

static void
test_flush(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	static const char *names[] = { "example.com.", "www.example.com.",
	    "a.b.EXAMPLE.com.", "notexample.com.", "example.net.", "com." };
	uint8_t zone[WIRE_NAME_MAX];
	const char *err = NULL;
	struct cache_info before, after;

	for (size_t i = 0; i < 6; i++)
		store_name(c, names[i], 0);
	assert_int_equal(count(c, ENTRIES), 6);
	cache_get_info(c, &before);

	assert_int_not_equal(wire_name_from_str("www.example.com", zone, &err),
	    -1);
	cache_flush(c, zone);
	assert_false(cached(c, "www.example.com."));
	assert_true(cached(c, "example.com."));
	assert_int_equal(count(c, ENTRIES), 5);

	assert_int_not_equal(wire_name_from_str("example.com", zone, &err), -1);
	cache_flush(c, zone);
	assert_false(cached(c, "example.com."));
	assert_false(cached(c, "a.b.example.com."));
	assert_true(cached(c, "notexample.com."));
	assert_true(cached(c, "example.net."));
	assert_true(cached(c, "com."));
	assert_int_equal(count(c, ENTRIES), 3);

	cache_flush(c, NULL);
	assert_int_equal(count(c, ENTRIES), 0);
	cache_get_info(c, &after);
	assert_true(after.bytes < before.bytes);
	assert_false(cached(c, "com."));

	/* Usable again after a flush. */
	store_name(c, "example.com.", 0);
	assert_true(cached(c, "example.com."));
	cache_free(c);
}

static void
test_byte_bound(void **state)
{
	(void)state;
	struct cache *c = cache_new(64 * 1024, 0, 86400);
	struct cache_info i;
	char name[64];

	store_name(c, "hot.example.", 0);
	for (int k = 0; k < 10000; k++) {
		snprintf(name, sizeof(name), "n%d.example.", k);
		store_name(c, name, 0);
		cache_get_info(c, &i);
		assert_true(i.bytes <= i.max_bytes);
		/* Hit all along, the hot entry keeps its second chance. */
		assert_true(cached(c, "hot.example."));
	}
	cache_get_info(c, &i);
	assert_int_equal(i.max_bytes, 64 * 1024);
	assert_int_equal(i.inserts, 10001);
	assert_true(i.entries > 50 && i.entries < 10001);
	assert_int_equal(i.evictions + i.expired, i.inserts - i.entries);
	assert_int_equal(i.expired, 0);
	assert_true(i.evictions > 9000);
	assert_true(cached(c, name));	/* the newest is there */
	assert_false(cached(c, "n0.example."));
	cache_free(c);

	/* Size 0 stores nothing; neither does a size too small for the table. */
	size_t sizes[] = { 0, 100 };
	for (size_t k = 0; k < 2; k++) {
		c = cache_new(sizes[k], 0, 86400);
		store_name(c, "example.com.", 0);
		assert_false(cached(c, "example.com."));
		cache_get_info(c, &i);
		assert_int_equal(i.entries, 0);
		assert_true(i.bytes <= i.max_bytes);
		cache_flush(c, NULL);
		cache_free(c);
	}
}

static void
test_dead_entries_go_first(void **state)
{
	(void)state;
	struct cache *c = cache_new(64 * 1024, 0, 86400);
	char name[64];

	for (int k = 0; k < 100; k++) {
		snprintf(name, sizeof(name), "old%d.example.", k);
		store_name(c, name, 0);
	}
	uint64_t later = (300 + CACHE_STALE_MAX) * MS;
	for (int k = 0; k < 1000; k++) {
		snprintf(name, sizeof(name), "new%d.example.", k);
		store_name(c, name, later);
	}
	assert_int_equal(count(c, EXPIRED), 100);
	cache_free(c);
}

static void
test_replace(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096], out[4096];
	size_t n, len = 0;
	struct cache_info a, b;

	query(&q, "www.example.com.", TYPE_A);
	n = simple_a(resp, "www.example.com.",
	    "www.example.com. 300 IN A 192.0.2.1");
	cache_store(c, &q, resp, n, 0);
	cache_get_info(c, &a);
	n = simple_a(resp, "www.example.com.",
	    "www.example.com. 600 IN A 192.0.2.2");
	cache_store(c, &q, resp, n, 10 * MS);
	cache_get_info(c, &b);
	assert_int_equal(b.entries, 1);
	assert_int_equal(b.bytes, a.bytes);
	assert_int_equal(b.inserts, 2);
	assert_int_equal(lookup(c, &q, 10 * MS, false, out, &len), CACHE_HIT);
	assert_same_but_ttls(resp, n, out, len);
	assert_int_equal(first_ttl(c, &q, 10 * MS), 600);

	/* A fresh answer with TTL 0 supersedes the entry. */
	n = simple_a(resp, "www.example.com.",
	    "www.example.com. 0 IN A 192.0.2.3");
	cache_store(c, &q, resp, n, 20 * MS);
	assert_int_equal(count(c, ENTRIES), 0);
	cache_free(c);
}

static void
test_opt_stripped(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096], bare[4096], out[4096];
	struct resp r = { .qname = "example.com.", .qtype = TYPE_NS,
	    .edns = true, .do_bit = true,
	    .an = { "example.com. 300 IN NS ns1.example.com." },
	    .ar = { "ns1.example.com. 300 IN A 192.0.2.53" } };
	size_t n = build(&r, resp, sizeof(resp)), len = 0;
	struct wire_hdr h;

	r.edns = false;
	r.do_bit = false;
	size_t nb = build(&r, bare, sizeof(bare));
	assert_true(nb < n);

	query_full(&q, "example.com.", TYPE_NS, CLASS_IN, true, true, false);
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(lookup(c, &q, 0, false, out, &len), CACHE_HIT);
	assert_int_equal(len, nb);
	assert_memory_equal(out, bare, nb);
	assert_int_equal(wire_hdr_read(out, len, &h), 0);
	assert_int_equal(h.arcount, 1);

	/* An OPT ahead of other additional data: the section is cut there,
	 * so that no compression pointer can be left dangling. */
	uint8_t m[512];
	struct wire_buf b;
	uint8_t wn[WIRE_NAME_MAX], ns1[WIRE_NAME_MAX], a[4] = { 192, 0, 2, 1 };
	const char *err = NULL;
	struct wire_hdr rh = { 7, WIRE_QR | WIRE_RD | WIRE_RA, 1, 1, 0, 3 };
	assert_int_not_equal(wire_name_from_str("example.com", wn, &err), -1);
	assert_int_not_equal(wire_name_from_str("ns1.example.com", ns1, &err),
	    -1);
	wire_buf_init(&b, m, sizeof(m));
	wire_put_hdr(&b, &rh);
	wire_put_name(&b, wn, true);
	wire_put_u16(&b, TYPE_A);
	wire_put_u16(&b, CLASS_IN);
	wire_put_rr(&b, wn, TYPE_A, CLASS_IN, 300, a, 4);
	size_t opt_at = b.len;
	wire_put_opt(&b, 1232, 0, true, -1);
	wire_put_rr(&b, ns1, TYPE_A, CLASS_IN, 300, a, 4);
	wire_put_rr(&b, ns1, TYPE_AAAA, CLASS_IN, 300,
	    (const uint8_t *)"0123456789abcdef", 16);
	assert_false(b.overflow);
	query_full(&q, "example.com.", TYPE_A, CLASS_IN, true, true, false);
	cache_store(c, &q, m, b.len, 0);
	assert_int_equal(lookup(c, &q, 0, false, out, &len), CACHE_HIT);
	assert_int_equal(len, opt_at);
	assert_int_equal(wire_hdr_read(out, len, &h), 0);
	assert_int_equal(h.arcount, 0);
	assert_int_equal(rrs_of(out, len, NULL, NULL, NULL, 4), 1);
	cache_free(c);
}

/* Writes a response header and the question for NAME/A. */
static void
raw_start(struct wire_buf *b, uint8_t *mem, size_t cap, const char *name,
    uint16_t flags, uint16_t an, uint16_t ns, uint16_t ar)
{
	uint8_t wn[WIRE_NAME_MAX];
	const char *err = NULL;
	struct wire_hdr h = { 1, flags, 1, an, ns, ar };

	assert_int_not_equal(wire_name_from_str(name, wn, &err), -1);
	wire_buf_init(b, mem, cap);
	wire_put_hdr(b, &h);
	wire_put_name(b, wn, true);
	wire_put_u16(b, TYPE_A);
	wire_put_u16(b, CLASS_IN);
}

/* Writes 192.0.2.1, owned by the question's name, as an A RR. */
static void
raw_a(struct wire_buf *b)
{
	uint8_t a[4] = { 192, 0, 2, 1 };

	wire_put_u16(b, 0xc00c);
	wire_put_u16(b, TYPE_A);
	wire_put_u16(b, CLASS_IN);
	wire_put_u32(b, 300);
	wire_put_u16(b, 4);
	wire_put_bytes(b, a, 4);
}

static void
test_malformed_ignored(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096], bad[4096];
	size_t n = simple_a(resp, "www.example.com.",
	    "www.example.com. 300 IN A 192.0.2.1");

	query(&q, "www.example.com.", TYPE_A);
	/* Every truncation, and trailing garbage. */
	for (size_t k = 0; k < n; k++) {
		uint8_t *t = malloc(k ? k : 1);
		memcpy(t, resp, k);
		cache_store(c, &q, t, k, 0);
		free(t);
	}
	memcpy(bad, resp, n);
	bad[n] = 0;
	cache_store(c, &q, bad, n + 1, 0);
	/* QR clear. */
	memcpy(bad, resp, n);
	bad[2] &= 0x7f;
	cache_store(c, &q, bad, n, 0);
	/* Opcode other than QUERY. */
	memcpy(bad, resp, n);
	bad[2] |= 0x10;
	cache_store(c, &q, bad, n, 0);
	/* Answer count past the end. */
	memcpy(bad, resp, n);
	bad[7] = 2;
	cache_store(c, &q, bad, n, 0);
	/* RDLENGTH past the end. */
	memcpy(bad, resp, n);
	bad[n - 5] = 5;
	cache_store(c, &q, bad, n, 0);
	assert_int_equal(count(c, ENTRIES), 0);

	uint8_t m[512];
	struct wire_buf b;
	uint8_t a[4] = { 192, 0, 2, 1 };

	/* A forward compression pointer in the answer owner. */
	raw_start(&b, m, sizeof(m), "www.example.com", WIRE_QR, 1, 0, 0);
	wire_put_u16(&b, (uint16_t)(0xc000 | (b.len + 2)));
	wire_put_u16(&b, TYPE_A);
	wire_put_u16(&b, CLASS_IN);
	wire_put_u32(&b, 300);
	wire_put_u16(&b, 4);
	wire_put_bytes(&b, a, 4);
	cache_store(c, &q, m, b.len, 0);

	/* OPT in the answer section. */
	raw_start(&b, m, sizeof(m), "www.example.com", WIRE_QR, 2, 0, 0);
	raw_a(&b);
	wire_put_opt(&b, 1232, 0, false, -1);
	cache_store(c, &q, m, b.len, 0);

	/* Two OPTs. */
	raw_start(&b, m, sizeof(m), "www.example.com", WIRE_QR, 1, 0, 2);
	raw_a(&b);
	wire_put_opt(&b, 1232, 0, false, -1);
	wire_put_opt(&b, 1232, 0, false, -1);
	cache_store(c, &q, m, b.len, 0);

	/* An NXDOMAIN whose SOA RDATA is short. */
	raw_start(&b, m, sizeof(m), "www.example.com", WIRE_QR | 3, 0, 1, 0);
	wire_put_u16(&b, 0xc010);	/* example.com */
	wire_put_u16(&b, TYPE_SOA);
	wire_put_u16(&b, CLASS_IN);
	wire_put_u32(&b, 300);
	wire_put_u16(&b, 4 + 16);
	wire_put_u16(&b, 0xc010);
	wire_put_u16(&b, 0xc010);
	for (int k = 0; k < 4; k++)
		wire_put_u32(&b, 300);
	assert_false(b.overflow);
	cache_store(c, &q, m, b.len, 0);

	/* Two questions. */
	memcpy(bad, resp, n);
	bad[5] = 2;
	cache_store(c, &q, bad, n, 0);

	assert_int_equal(count(c, ENTRIES), 0);
	assert_int_equal(count(c, INSERTS), 0);

	/* The well-formed one is stored, once. */
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(count(c, ENTRIES), 1);
	cache_free(c);
}

/* An A answer to www.example.com/A, its one additional RR of TYPE owned
 * by the two octets OWNER (0: the root label and a pad octet of RDATA). */
static size_t
one_additional(uint8_t *m, size_t cap, uint16_t ns, uint16_t owner,
    uint16_t type)
{
	struct wire_buf b;

	raw_start(&b, m, cap, "www.example.com", WIRE_QR, 1, ns, 1 - ns);
	raw_a(&b);
	if (owner == 0)
		wire_put_u8(&b, 0);
	else
		wire_put_u16(&b, owner);
	wire_put_u16(&b, type);
	wire_put_u16(&b, 1232);
	wire_put_u32(&b, 0);
	wire_put_u16(&b, 0);
	assert_false(b.overflow);
	return b.len;
}

/* Whose OPT is kept: the root's, even behind a pointer (the question's
 * last octet), not another name's; a TSIG only in the additional section. */
static void
test_opt_owner(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t m[512], out[4096];
	size_t len = 0, n;

	query(&q, "www.example.com.", TYPE_A);
	/* 0xc010: example.com; 0xc01c: the root that ends the question. */
	cache_store(c, &q, m, one_additional(m, sizeof(m), 0, 0xc010, TYPE_OPT), 0);
	cache_store(c, &q, m, one_additional(m, sizeof(m), 1, 0, TYPE_TSIG), 0);
	cache_store(c, &q, m, one_additional(m, sizeof(m), 1, 0, TYPE_OPT), 0);
	assert_int_equal(count(c, ENTRIES), 0);
	assert_int_equal(m[0x1c], 0);
	n = one_additional(m, sizeof(m), 0, 0xc01c, TYPE_OPT);
	cache_store(c, &q, m, n, 0);
	assert_int_equal(count(c, ENTRIES), 1);
	assert_int_equal(lookup(c, &q, 0, false, out, &len), CACHE_HIT);
	assert_int_equal(len, n - 12);	/* the OPT cut off */
	cache_free(c);
}

static void
test_compression_kept(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096], out[4096];
	struct resp r = { .qname = "www.example.com.", .qtype = TYPE_A,
	    .edns = true,
	    .an = { "www.example.com. 300 IN CNAME web.example.com.",
		"web.example.com. 200 IN A 192.0.2.1",
		"web.example.com. 200 IN A 192.0.2.2" },
	    .ns = { "example.com. 3600 IN NS ns1.example.com.",
		"example.com. 3600 IN NS ns2.example.com." },
	    .ar = { "ns1.example.com. 3600 IN A 192.0.2.53",
		"ns2.example.com. 3600 IN AAAA 2001:db8::53" } };
	size_t n = build(&r, resp, sizeof(resp)), len = 0;
	ldns_pkt *orig = NULL, *copy = NULL;

	/* ldns did compress (otherwise this proves nothing). */
	bool ptr = false;
	size_t off[16];
	int nrr = rrs_of(resp, n, NULL, NULL, off, 16);
	for (int i = 0; i < nrr; i++)
		if ((resp[off[i] - 6] & 0xc0) == 0xc0)
			ptr = true;
	assert_true(ptr);

	query_full(&q, "www.example.com.", TYPE_A, CLASS_IN, true, false,
	    false);
	cache_store(c, &q, resp, n, 0);
	assert_int_equal(lookup(c, &q, 50 * MS, false, out, &len), CACHE_HIT);
	assert_int_equal(ldns_wire2pkt(&orig, resp, n), LDNS_STATUS_OK);
	assert_int_equal(ldns_wire2pkt(&copy, out, len), LDNS_STATUS_OK);

	ldns_pkt_section secs[] = { LDNS_SECTION_ANSWER,
	    LDNS_SECTION_AUTHORITY, LDNS_SECTION_ADDITIONAL };
	for (size_t s = 0; s < 3; s++) {
		ldns_rr_list *a = ldns_pkt_get_section_clone(orig, secs[s]);
		ldns_rr_list *b = ldns_pkt_get_section_clone(copy, secs[s]);
		assert_int_equal(ldns_rr_list_rr_count(a),
		    ldns_rr_list_rr_count(b));
		for (size_t i = 0; i < ldns_rr_list_rr_count(a); i++) {
			ldns_rr *x = ldns_rr_list_rr(a, i);
			ldns_rr *y = ldns_rr_list_rr(b, i);
			assert_int_equal(ldns_rr_ttl(x) - 50, ldns_rr_ttl(y));
			ldns_rr_set_ttl(y, ldns_rr_ttl(x));
			char *sx = ldns_rr2str(x), *sy = ldns_rr2str(y);
			assert_string_equal(sx, sy);
			free(sx);
			free(sy);
		}
		ldns_rr_list_deep_free(a);
		ldns_rr_list_deep_free(b);
	}
	ldns_pkt_free(orig);
	ldns_pkt_free(copy);
	cache_free(c);
}

static void
test_small_buffer(void **state)
{
	(void)state;
	struct cache *c = mkcache();
	struct wire_query q;
	uint8_t resp[4096], out[4096];
	size_t n = simple_a(resp, "www.example.com.",
	    "www.example.com. 300 IN A 192.0.2.1"), len = 7;

	query(&q, "www.example.com.", TYPE_A);
	cache_store(c, &q, resp, n, 0);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(cache_lookup(c, &q, 0, false, out, n - 1, &len, NULL),
	    CACHE_MISS);
	assert_int_equal(len, 7);
	assert_int_equal(out[0], 0xee);
	assert_int_equal(cache_lookup(c, &q, 0, false, out, n, &len, NULL),
	    CACHE_HIT);
	assert_int_equal(len, n);
	assert_int_equal(count(c, MISSES), 1);
	cache_free(c);
}

static double
elapsed_ns(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e9 +
	    (double)(b->tv_nsec - a->tv_nsec);
}

/* ---- prefetch ---- */

/* A cache with prefetch on holding NAME/A with TTL seconds, stored at 0. */
static struct cache *
prefetch_cache(struct wire_query *q, const char *name, uint32_t ttl)
{
	struct cache *c = mkcache();
	uint8_t resp[4096];
	char rr[300];

	cache_set_prefetch(c, true);
	snprintf(rr, sizeof(rr), "%s %u IN A 192.0.2.1", name, ttl);
	query(q, name, TYPE_A);
	cache_store(c, q, resp, simple_a(resp, name, rr), 0);
	return c;
}

/* Looks Q up at NOW, expecting a fresh hit; returns whether it says to
 * refresh the entry. */
static bool
prefetch_due(struct cache *c, const struct wire_query *q, uint64_t now)
{
	struct cache_hit hit;
	uint8_t out[4096];
	size_t len = 0;

	memset(&hit, 0xff, sizeof(hit));
	assert_int_equal(cache_lookup(c, q, now, false, out, sizeof(out), &len,
	    &hit), CACHE_HIT);
	return hit.prefetch;
}

static uint64_t
prefetches(const struct cache *c)
{
	struct cache_info i;

	cache_get_info(c, &i);
	return i.prefetches;
}

/* Due only with less than 10% of the TTL left, counted in milliseconds. */
static void
test_prefetch_window(void **state)
{
	(void)state;
	struct wire_query q;
	struct cache *c = prefetch_cache(&q, "pf.example.com.", 100);
	struct cache_hit hit;
	uint8_t out[4096];
	size_t len = 0;

	assert_false(prefetch_due(c, &q, 10 * MS));
	assert_false(prefetch_due(c, &q, 50 * MS));
	/* Exactly 10% left is not less than 10%. */
	assert_false(prefetch_due(c, &q, 90 * MS));
	assert_int_equal(prefetches(c), 0);
	assert_int_equal(cache_lookup(c, &q, 90 * MS + 1, false, out,
	    sizeof(out), &len, &hit), CACHE_HIT);
	assert_true(hit.prefetch);
	assert_int_equal(hit.ttl, 100);
	assert_int_equal(hit.remaining, 10);
	assert_int_equal(hit.hits, 4);
	assert_int_equal(prefetches(c), 1);
	cache_free(c);

	/* A short TTL gets a window too: 5 s, the last 500 ms. */
	c = prefetch_cache(&q, "short.example.com.", 5);
	assert_false(prefetch_due(c, &q, 1 * MS));
	assert_false(prefetch_due(c, &q, 4500));
	assert_true(prefetch_due(c, &q, 4501));
	cache_free(c);

	/* And 1 s, the last 100 ms. */
	c = prefetch_cache(&q, "one.example.com.", 1);
	assert_false(prefetch_due(c, &q, 0));
	assert_false(prefetch_due(c, &q, 900));
	assert_true(prefetch_due(c, &q, 901));
	cache_free(c);
}

/* An entry hit fewer than CACHE_PREFETCH_HITS times is left to expire. */
static void
test_prefetch_popularity(void **state)
{
	(void)state;
	struct wire_query q;
	struct cache *c = prefetch_cache(&q, "pf.example.com.", 100);

	assert_int_equal(CACHE_PREFETCH_HITS, 2);
	/* The first hit since the store, in the window: not popular yet. */
	assert_false(prefetch_due(c, &q, 95 * MS));
	assert_true(prefetch_due(c, &q, 96 * MS));
	cache_free(c);

	/* Hits before the window count: the first one in it is enough. */
	c = prefetch_cache(&q, "pf.example.com.", 100);
	assert_false(prefetch_due(c, &q, 1 * MS));
	assert_true(prefetch_due(c, &q, 95 * MS));
	cache_free(c);

	/* Stale answers are no hits and never ask for a refresh. */
	c = prefetch_cache(&q, "pf.example.com.", 100);
	struct cache_hit hit;
	uint8_t out[4096];
	size_t len = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cache_lookup(c, &q, 100 * MS + i, true, out,
		    sizeof(out), &len, &hit), CACHE_STALE);
		assert_false(hit.prefetch);
	}
	assert_int_equal(prefetches(c), 0);
	cache_free(c);
}

/* One refresh per stored entry; the refreshed entry starts afresh. */
static void
test_prefetch_once_per_entry(void **state)
{
	(void)state;
	struct wire_query q;
	struct cache *c = prefetch_cache(&q, "pf.example.com.", 100);
	struct cache_hit hit;
	uint8_t resp[4096], out[4096];
	size_t n, len = 0;

	assert_false(prefetch_due(c, &q, 10 * MS));
	assert_true(prefetch_due(c, &q, 91 * MS));
	/* While the refresh is on its way, no hit asks again. */
	for (uint64_t t = 92 * MS; t < 100 * MS; t += 250)
		assert_false(prefetch_due(c, &q, t));
	assert_int_equal(prefetches(c), 1);

	/* The refresh stores a new entry: full TTL, counted from zero. */
	n = simple_a(resp, "pf.example.com.",
	    "pf.example.com. 100 IN A 192.0.2.2");
	cache_store(c, &q, resp, n, 92 * MS);
	assert_int_equal(cache_lookup(c, &q, 93 * MS, false, out, sizeof(out),
	    &len, &hit), CACHE_HIT);
	assert_int_equal(hit.remaining, 99);
	assert_int_equal(hit.ttl, 100);
	assert_int_equal(hit.hits, 1);
	assert_false(hit.prefetch);
	assert_false(prefetch_due(c, &q, 182 * MS));	/* 10% left */
	assert_true(prefetch_due(c, &q, 183 * MS));
	assert_false(prefetch_due(c, &q, 184 * MS));
	assert_int_equal(prefetches(c), 2);
	cache_free(c);
}

/* A refresh that fails keeps the old entry, served fresh then stale, and it
 * does not ask again. */
static void
test_prefetch_failure_keeps_entry(void **state)
{
	(void)state;
	struct wire_query q;
	struct cache *c = prefetch_cache(&q, "pf.example.com.", 100);
	struct resp r = { .qname = "pf.example.com.", .qtype = TYPE_A,
	    .rcode = RCODE_SERVFAIL };
	uint8_t resp[4096], out[4096];
	size_t n = build(&r, resp, sizeof(resp)), len = 0;

	assert_false(prefetch_due(c, &q, 1 * MS));
	assert_true(prefetch_due(c, &q, 95 * MS));
	cache_store(c, &q, resp, n, 96 * MS);
	assert_int_equal(first_ttl(c, &q, 97 * MS), 3);
	assert_false(prefetch_due(c, &q, 98 * MS));
	assert_int_equal(lookup(c, &q, 100 * MS, true, out, &len),
	    CACHE_STALE);
	assert_int_equal(prefetches(c), 1);
	cache_free(c);
}

/* Off, or a caller that passes no HIT, never gets (or uses up) a refresh. */
static void
test_prefetch_off(void **state)
{
	(void)state;
	struct wire_query q;
	struct cache *c = prefetch_cache(&q, "pf.example.com.", 100);
	uint8_t out[4096];
	size_t len = 0;

	cache_set_prefetch(c, false);
	assert_false(prefetch_due(c, &q, 1 * MS));
	for (uint64_t t = 91 * MS; t < 100 * MS; t += 500)
		assert_false(prefetch_due(c, &q, t));
	assert_int_equal(prefetches(c), 0);

	/* Turned on again (a reload): the entry may still ask, once. */
	cache_set_prefetch(c, true);
	assert_int_equal(cache_lookup(c, &q, 99 * MS, false, out, sizeof(out),
	    &len, NULL), CACHE_HIT);
	assert_int_equal(prefetches(c), 0);
	assert_true(prefetch_due(c, &q, 99 * MS));
	assert_int_equal(prefetches(c), 1);
	cache_free(c);

	/* A new cache starts with prefetch off. */
	c = mkcache();
	uint8_t resp[4096];
	query(&q, "pf.example.com.", TYPE_A);
	cache_store(c, &q, resp, simple_a(resp, "pf.example.com.",
	    "pf.example.com. 100 IN A 192.0.2.1"), 0);
	assert_false(prefetch_due(c, &q, 1 * MS));
	assert_false(prefetch_due(c, &q, 99 * MS));
	cache_free(c);
}

/* Not asserted: timing under the sanitizers says little. */
/*
 * The bucket array starts small and doubles as entries come: every entry
 * stored before and across the doublings is still found, and the bytes
 * charged do not move (the largest array was charged from the start).
 */
static void
test_grow(void **state)
{
	(void)state;
	struct cache *c = cache_new(64u << 20, 0, 86400);
	static struct wire_query qs[5000];
	uint8_t resp[4096], out[4096];
	char name[64], rr[128];
	struct cache_info info;
	size_t len = 0, fixed;

	cache_get_info(c, &info);
	fixed = info.bytes;
	for (int k = 0; k < 5000; k++) {
		snprintf(name, sizeof(name), "g%d.example.com.", k);
		snprintf(rr, sizeof(rr), "%s 300 IN A 10.1.%d.%d", name, k / 256, k % 256);
		query_full(&qs[k], name, TYPE_A, CLASS_IN, false, false, false);
		cache_store(c, &qs[k], resp, simple_a(resp, name, rr), 0);
	}
	cache_get_info(c, &info);
	assert_int_equal(info.entries, 5000);
	assert_true(info.bytes > fixed);
	for (int k = 0; k < 5000; k++) {
		assert_int_equal(cache_lookup(c, &qs[k], 1000, false, out, sizeof(out),
		    &len, NULL), CACHE_HIT);
		assert_int_equal(out[len - 1], k % 256);
	}
	cache_flush(c, NULL);
	cache_get_info(c, &info);
	assert_int_equal(info.entries, 0);
	assert_int_equal(info.bytes, fixed);
	cache_free(c);
}

/* ---- other workers' caches ---- */

/* The last octet of the A record in OUT/LEN (the test answers' address). */
static int
last_octet(const uint8_t *out, size_t len)
{
	return out[len - 1];
}

static void
store_a(struct cache *c, const char *name, int octet, uint64_t now,
    uint32_t ttl)
{
	struct wire_query q;
	uint8_t resp[4096];
	char rr[128];

	snprintf(rr, sizeof(rr), "%s %u IN A 192.0.2.%d", name, ttl, octet);
	query(&q, name, TYPE_A);
	cache_store(c, &q, resp, simple_a(resp, name, rr), now);
}

static void
test_siblings(void **state)
{
	(void)state;
	struct cache *cs[3] = { mkcache(), mkcache(), mkcache() };
	struct cache *lone = mkcache();
	struct wire_query q;
	uint8_t out[4096];
	uint32_t ttl[4];
	size_t len = 0;

	cache_link(cs, 3);
	query(&q, "a.example.com.", TYPE_A);
	assert_int_equal(cache_lookup_siblings(cs[0], &q, 0, true, out,
	    sizeof(out), &len), CACHE_MISS);

	/* Fresh in worker 1: worker 0 and 2 find it, aged like a hit. */
	store_a(cs[1], "a.example.com.", 1, 0, 300);
	assert_int_equal(lookup(cs[0], &q, 0, true, out, &len), CACHE_MISS);
	assert_int_equal(cache_lookup_siblings(cs[0], &q, 100 * MS, false, out,
	    sizeof(out), &len), CACHE_HIT);
	assert_int_equal(rrs_of(out, len, ttl, NULL, NULL, 4), 1);
	assert_int_equal(ttl[0], 200);
	assert_int_equal(last_octet(out, len), 1);
	assert_int_equal(cache_lookup_siblings(cs[2], &q, 0, false, out,
	    sizeof(out), &len), CACHE_HIT);
	/* Not itself: worker 1's siblings do not have it. */
	assert_int_equal(cache_lookup_siblings(cs[1], &q, 0, true, out,
	    sizeof(out), &len), CACHE_MISS);
	/* Nor a cache that was never linked. */
	assert_int_equal(cache_lookup_siblings(lone, &q, 0, true, out,
	    sizeof(out), &len), CACHE_MISS);
	/* Too small a buffer: nothing copied. */
	assert_int_equal(cache_lookup_siblings(cs[0], &q, 0, true, out, 10,
	    &len), CACHE_MISS);

	/* Expired: stale only when asked for, TTLs CACHE_STALE_TTL. */
	assert_int_equal(cache_lookup_siblings(cs[0], &q, 300 * MS, false, out,
	    sizeof(out), &len), CACHE_MISS);
	assert_int_equal(cache_lookup_siblings(cs[0], &q, 300 * MS, true, out,
	    sizeof(out), &len), CACHE_STALE);
	assert_int_equal(rrs_of(out, len, ttl, NULL, NULL, 4), 1);
	assert_int_equal(ttl[0], CACHE_STALE_TTL);

	/* A fresh entry elsewhere beats a stale one, whatever the order;
	 * of two stale ones the later expiry wins. */
	store_a(cs[2], "a.example.com.", 2, 200 * MS, 300);
	assert_int_equal(cache_lookup_siblings(cs[0], &q, 400 * MS, true, out,
	    sizeof(out), &len), CACHE_HIT);
	assert_int_equal(last_octet(out, len), 2);
	assert_int_equal(cache_lookup_siblings(cs[0], &q, 600 * MS, true, out,
	    sizeof(out), &len), CACHE_STALE);
	assert_int_equal(last_octet(out, len), 2);
	store_a(cs[0], "a.example.com.", 3, 100 * MS, 300);
	assert_int_equal(cache_lookup_siblings(cs[2], &q, 700 * MS, true, out,
	    sizeof(out), &len), CACHE_STALE);
	assert_int_equal(last_octet(out, len), 3);

	/* Past the stale window: a miss, and the owner's entry is left to
	 * the owner (the look changes nothing there). */
	uint64_t dead = 200 * MS + (300 + CACHE_STALE_MAX) * MS;
	assert_int_equal(cache_lookup_siblings(cs[1], &q, dead, true, out,
	    sizeof(out), &len), CACHE_MISS);
	assert_int_equal(count(cs[2], ENTRIES), 1);
	assert_int_equal(count(cs[2], EXPIRED), 0);

	/* The siblings' counters did not move; the asker's did. */
	assert_int_equal(count(cs[1], HITS), 0);
	assert_int_equal(count(cs[1], STALE_HITS), 0);
	assert_int_equal(count(cs[1], MISSES), 0);
	struct cache_info info;
	cache_get_info(cs[0], &info);
	assert_int_equal(info.sibling_hits, 4);
	assert_int_equal(info.hits, 0);

	/* A flushed name is gone for the siblings too. */
	cache_flush(cs[2], NULL);
	cache_flush(cs[0], NULL);
	assert_int_equal(cache_lookup_siblings(cs[1], &q, 400 * MS, true, out,
	    sizeof(out), &len), CACHE_MISS);
	for (int i = 0; i < 3; i++)
		cache_free(cs[i]);
	cache_free(lone);
}

#define RACE_NAMES	600
#define RACE_ROUNDS	40

struct race {
	struct cache *owner;
	struct wire_query *qs;
	uint8_t (*resp)[128];
	size_t *rlen;
	atomic_bool done;
	atomic_bool seen;	/* the reader found a name at least once */
};

/* The owner: stores every name again and again into a cache too small
 * for them all (eviction, replacement), growing it and flushing it. */
static void *
race_owner(void *arg)
{
	struct race *r = arg;

	/* On a loaded machine the reader may not run at all during the
	 * first rounds: go on (bounded) until it has found something, so
	 * that the test sees a race rather than the scheduler's choice. */
	for (int round = 0; round < RACE_ROUNDS ||
	    (!atomic_load(&r->seen) && round < RACE_ROUNDS * 100); round++) {
		uint64_t now = (uint64_t)(round < RACE_ROUNDS ? round : RACE_ROUNDS - 1) * MS;
		for (int k = 0; k < RACE_NAMES; k++)
			cache_store(r->owner, &r->qs[k], r->resp[k], r->rlen[k], now);
		if (round % 10 == 9)
			cache_flush(r->owner, NULL);
	}
	atomic_store(&r->done, true);
	return NULL;
}

static void
test_siblings_race(void **state)
{
	(void)state;
	/* Room for about a third of the names. */
	struct cache *cs[2] = { mkcache(), cache_new(64 << 10, 0, 86400) };
	static struct wire_query qs[RACE_NAMES];
	static uint8_t resp[RACE_NAMES][128];
	static size_t rlen[RACE_NAMES];
	struct race r = { cs[1], qs, resp, rlen, false, false };
	uint8_t big[4096], out[4096];
	char name[64], rr[128];
	pthread_t t;
	int found = 0, looked = 0;

	cache_link(cs, 2);
	for (int k = 0; k < RACE_NAMES; k++) {
		snprintf(name, sizeof(name), "r%d.example.com.", k);
		snprintf(rr, sizeof(rr), "%s 300 IN A 10.9.%d.%d", name, k / 256,
		    k % 256);
		query(&qs[k], name, TYPE_A);
		rlen[k] = simple_a(big, name, rr);
		assert_true(rlen[k] <= sizeof(resp[k]));
		memcpy(resp[k], big, rlen[k]);
	}
	assert_int_equal(pthread_create(&t, NULL, race_owner, &r), 0);
	/* Every answer found while the owner writes is the whole, right one
	 * (bounded: the owner's work is). */
	for (int i = 0; !atomic_load(&r.done) && i < 20000000; i++) {
		int k = (i * 7) % RACE_NAMES;

		looked++;
		size_t len = 0;
		enum cache_result res = cache_lookup_siblings(cs[0], &qs[k],
		    (uint64_t)RACE_ROUNDS * MS, true, out, sizeof(out), &len);

		if (res == CACHE_MISS)
			continue;
		found++;
		atomic_store(&r.seen, true);
		assert_int_equal(len, rlen[k]);
		assert_same_but_ttls(resp[k], rlen[k], out, len);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	print_message("# %d of %d sibling lookups found their name\n", found,
	    looked);
	assert_true(found > 0);
	cache_free(cs[0]);
	cache_free(cs[1]);
}

static void
test_bench(void **state)
{
	(void)state;
	struct cache *c = cache_new(64u << 20, 0, 86400);
	static struct wire_query qs[10000];
	uint8_t resp[4096], out[4096];
	char name[64], rr[128];
	struct timespec t0, t1;
	size_t len = 0;
	enum { N = 1000000 };

	for (int k = 0; k < 10000; k++) {
		snprintf(name, sizeof(name), "host%d.privatelink.example.com.",
		    k);
		snprintf(rr, sizeof(rr), "%s 300 IN A 10.0.%d.%d", name,
		    k / 256, k % 256);
		query_full(&qs[k], name, TYPE_A, CLASS_IN, true, false, false);
		cache_store(c, &qs[k], resp, simple_a(resp, name, rr), 0);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++)
		if (cache_lookup(c, &qs[0], 1000, false, out, sizeof(out),
		    &len, NULL) != CACHE_HIT)
			fail();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double one = elapsed_ns(&t0, &t1) / N;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++)
		if (cache_lookup(c, &qs[i % 10000], 1000, false, out,
		    sizeof(out), &len, NULL) != CACHE_HIT)
			fail();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double many = elapsed_ns(&t0, &t1) / N;

	printf("# cache lookup hit: %.1f ns (one key), %.1f ns (10,000 keys), "
	    "%zu-octet answer\n", one, many, len);
	cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_ttl_decremented),
		cmocka_unit_test(test_min_over_rrs),
		cmocka_unit_test(test_clamps),
		cmocka_unit_test(test_nxdomain_soa),
		cmocka_unit_test(test_nodata),
		cmocka_unit_test(test_negative_without_soa),
		cmocka_unit_test(test_failures_not_cached),
		cmocka_unit_test(test_extended_rcode_not_cached),
		cmocka_unit_test(test_tc_not_cached),
		cmocka_unit_test(test_other_question_not_cached),
		cmocka_unit_test(test_key_bits),
		cmocka_unit_test(test_expiry_and_stale),
		cmocka_unit_test(test_flush),
		cmocka_unit_test(test_byte_bound),
		cmocka_unit_test(test_dead_entries_go_first),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_opt_stripped),
		cmocka_unit_test(test_malformed_ignored),
		cmocka_unit_test(test_opt_owner),
		cmocka_unit_test(test_compression_kept),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_prefetch_window),
		cmocka_unit_test(test_prefetch_popularity),
		cmocka_unit_test(test_prefetch_once_per_entry),
		cmocka_unit_test(test_prefetch_failure_keeps_entry),
		cmocka_unit_test(test_prefetch_off),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_siblings),
		cmocka_unit_test(test_siblings_race),
		cmocka_unit_test(test_bench),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
