/*
 * Unit tests for rdiff: record-by-record differences between two record
 * lists or two snapshots, their order and text, and the reload guard's
 * drop rule.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/config.h"
#include "data/rdiff.h"
#include "data/records.h"
#include "data/snapshot.h"
#include "util/util.h"
#include "wire/wire.h"

#define BLOB	"privatelink.blob.core.windows.net"
#define VAULT	"privatelink.vaultcore.azure.net"

/* Records for rdiff_recs: owners and data live in this pool. */
struct pool {
	uint8_t bytes[8192];
	size_t used;
};

static const uint8_t *
pool_put(struct pool *p, const void *data, size_t n)
{
	uint8_t *at = p->bytes + p->used;

	assert_true(p->used + n <= sizeof(p->bytes));
	memcpy(at, data, n);
	p->used += n;
	return at;
}

/* An A or AAAA record NAME ADDR with TTL, from FILE:LINE (FILE may be NULL). */
static struct rdiff_rec
rec(struct pool *p, const char *name, const char *addr, uint32_t ttl,
    const char *file, uint32_t line)
{
	struct rdiff_rec r;
	uint8_t w[WIRE_NAME_MAX], a[16];
	const char *err;
	int n = wire_name_from_str(name, w, &err);

	assert_true(n > 0);
	memset(&r, 0, sizeof(r));
	r.owner = pool_put(p, w, (size_t)n);
	if (inet_pton(AF_INET, addr, a) == 1) {
		r.type = TYPE_A;
		r.rdlen = 4;
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
		r.type = TYPE_AAAA;
		r.rdlen = 16;
	}
	r.rdata = pool_put(p, a, r.rdlen);
	r.ttl = ttl;
	r.file = file;
	r.line = line;
	return r;
}

/* Every change of DF as text, one a line (caller frees). */
static char *
all_lines(const struct rdiff *df)
{
	return rdiff_text(df, SIZE_MAX);
}

static void
test_recs_add_remove_change(void **state)
{
	struct pool p = { .used = 0 };
	struct rdiff df;
	struct rdiff_rec old[3], nw[3];
	char *t;

	(void)state;
	old[0] = rec(&p, "a." BLOB, "10.0.0.1", 10, NULL, 0);
	old[1] = rec(&p, "c." BLOB, "10.0.0.3", 10, NULL, 0);
	old[2] = rec(&p, "b." BLOB, "10.0.0.2", 10, NULL, 0);
	nw[0] = rec(&p, "d." BLOB, "10.0.0.4", 10, "new.csv", 3);
	nw[1] = rec(&p, "b." BLOB, "10.0.0.9", 10, "new.csv", 2);
	nw[2] = rec(&p, "A." BLOB, "10.0.0.1", 10, "new.csv", 1);
	/* Owners are compared as given: the caller lower-cases them. */
	nw[2].owner = old[0].owner;
	rdiff_init(&df);
	rdiff_recs(&df, old, 3, nw, 3);
	rdiff_sort(&df);
	t = all_lines(&df);
	assert_string_equal(t,
	    "~ b." BLOB " A 10.0.0.2 -> 10.0.0.9\n"
	    "- c." BLOB " A 10.0.0.3\n"
	    "+ d." BLOB " A 10.0.0.4 (new.csv:3)\n");
	free(t);
	assert_int_equal(df.added, 1);
	assert_int_equal(df.removed, 1);
	assert_int_equal(df.changed, 1);
	assert_int_equal(df.sets_added, 1);
	assert_int_equal(df.sets_removed, 1);
	assert_int_equal(df.sets_changed, 1);
	assert_int_equal(df.sets_same, 1);
	rdiff_clear(&df);
}

/* Several addresses of one name: what is common stays, the rest pairs up
 * as changes, and what is left over is added or removed. */
static void
test_recs_sets(void **state)
{
	struct pool p = { .used = 0 };
	struct rdiff df;
	struct rdiff_rec old[3], nw[4];
	char *t;

	(void)state;
	old[0] = rec(&p, "m." BLOB, "10.0.0.2", 10, NULL, 0);
	old[1] = rec(&p, "m." BLOB, "10.0.0.1", 10, NULL, 0);
	old[2] = rec(&p, "m." BLOB, "fd00::1", 10, NULL, 0);
	nw[0] = rec(&p, "m." BLOB, "10.0.0.4", 10, "n.json: $[1]", 0);
	nw[1] = rec(&p, "m." BLOB, "10.0.0.1", 10, "n.json: $[0]", 0);
	nw[2] = rec(&p, "m." BLOB, "10.0.0.3", 10, "n.json: $[0]", 0);
	/* Only the TTL of this one changes. */
	nw[3] = rec(&p, "m." BLOB, "fd00::1", 300, "n.json: $[2]", 0);
	rdiff_init(&df);
	rdiff_recs(&df, old, 3, nw, 4);
	rdiff_sort(&df);
	t = all_lines(&df);
	assert_string_equal(t,
	    "~ m." BLOB " A 10.0.0.2 -> 10.0.0.3\n"
	    "+ m." BLOB " A 10.0.0.4 (n.json: $[1])\n"
	    "~ m." BLOB " AAAA fd00::1 ttl 10 -> 300\n");
	free(t);
	assert_int_equal(df.added, 1);
	assert_int_equal(df.removed, 0);
	assert_int_equal(df.changed, 2);
	assert_int_equal(df.sets_changed, 2);
	rdiff_clear(&df);
}

/* Names in canonical order (RFC 4034 6.1): right to left by label, so the
 * changes of a zone stay together; the order of the input does not
 * matter. */
static void
test_recs_order(void **state)
{
	struct pool p = { .used = 0 };
	struct rdiff df;
	struct rdiff_rec nw[4], rev[4];
	char *t, *t2;

	(void)state;
	nw[0] = rec(&p, "z." BLOB, "10.0.0.1", 10, "x", 1);
	nw[1] = rec(&p, "kv." VAULT, "10.0.0.2", 10, "x", 2);
	nw[2] = rec(&p, "a.b." BLOB, "10.0.0.3", 10, "x", 3);
	nw[3] = rec(&p, "b." BLOB, "10.0.0.4", 10, "x", 4);
	for (int i = 0; i < 4; i++)
		rev[i] = nw[3 - i];
	rdiff_init(&df);
	rdiff_recs(&df, NULL, 0, nw, 4);
	rdiff_sort(&df);
	t = all_lines(&df);
	assert_string_equal(t,
	    "+ kv." VAULT " A 10.0.0.2 (x:2)\n"
	    "+ b." BLOB " A 10.0.0.4 (x:4)\n"
	    "+ a.b." BLOB " A 10.0.0.3 (x:3)\n"
	    "+ z." BLOB " A 10.0.0.1 (x:1)\n");
	rdiff_clear(&df);
	rdiff_init(&df);
	rdiff_recs(&df, NULL, 0, rev, 4);
	rdiff_sort(&df);
	t2 = all_lines(&df);
	assert_string_equal(t, t2);
	free(t);
	free(t2);
	rdiff_clear(&df);
}

static void
test_text_capped(void **state)
{
	struct pool p = { .used = 0 };
	struct rdiff df;
	struct rdiff_rec old[5];
	char name[64], *t;

	(void)state;
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "n%d." BLOB, i);
		old[i] = rec(&p, name, "10.0.0.1", 10, NULL, 0);
	}
	rdiff_init(&df);
	rdiff_recs(&df, old, 5, NULL, 0);
	rdiff_sort(&df);
	t = rdiff_text(&df, 3);
	assert_string_equal(t,
	    "- n0." BLOB " A 10.0.0.1\n"
	    "- n1." BLOB " A 10.0.0.1\n"
	    "- n2." BLOB " A 10.0.0.1\n"
	    "and 2 more\n");
	free(t);
	t = rdiff_text(&df, 5);
	assert_null(strstr(t, "more"));
	free(t);
	rdiff_clear(&df);

	/* Nothing changed: no text at all. */
	rdiff_init(&df);
	t = rdiff_text(&df, 3);
	assert_string_equal(t, "");
	free(t);
	rdiff_clear(&df);
}

/* ---- snapshots ---- */

static void
add(struct recset *rs, size_t z, const char *name, uint16_t type,
    const void *rd, uint16_t rdlen)
{
	uint8_t w[WIRE_NAME_MAX];
	const char *err;

	assert_true(wire_name_from_str(name, w, &err) > 0);
	assert_non_null(recset_add(rs, z, w, type, 10, rd, rdlen, "t.csv:1"));
}

static void
add_a(struct recset *rs, size_t z, const char *name, const char *ip)
{
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, ip, a), 1);
	add(rs, z, name, TYPE_A, a, 4);
}

static struct snapshot *
snap(struct recset *rs)
{
	struct diag d;
	struct snapshot *s;

	diag_init(&d);
	s = snapshot_new(config_new(), rs, NULL, &d);
	assert_non_null(s);
	diag_clear(&d);
	recset_clear(rs);
	return s;
}

static void
test_snapshots(void **state)
{
	struct config *cfg = config_new();
	struct recset rs;
	struct snapshot *a, *b, *c;
	struct rdiff df;
	uint8_t target[WIRE_NAME_MAX];
	const char *err;
	char *t, **gone;
	size_t z;
	int n;

	(void)state;
	recset_init(&rs);
	z = recset_zone(&rs, cfg, BLOB, "test");
	add_a(&rs, z, "acct." BLOB, "10.1.0.5");
	add_a(&rs, z, "other." BLOB, "10.1.0.6");
	add_a(&rs, z, "same." BLOB, "10.1.0.8");
	z = recset_zone(&rs, cfg, VAULT, "test");
	add_a(&rs, z, "kv." VAULT, "10.1.0.7");
	a = snap(&rs);

	recset_init(&rs);
	z = recset_zone(&rs, cfg, BLOB, "test");
	add_a(&rs, z, "acct." BLOB, "10.1.0.9");
	add_a(&rs, z, "same." BLOB, "10.1.0.8");
	n = wire_name_from_str("acct." BLOB, target, &err);
	assert_true(n > 0);
	add(&rs, z, "alias." BLOB, TYPE_CNAME, target, (uint16_t)n);
	/* The vault zone is declared but holds nothing now. */
	(void)recset_zone(&rs, cfg, VAULT, "test");
	b = snap(&rs);

	rdiff_init(&df);
	rdiff_snapshots(&df, a, b);
	rdiff_sort(&df);
	t = all_lines(&df);
	/* The synthesized SOA and NS of each zone are no data of the
	 * sources: they do not show. */
	assert_string_equal(t,
	    "- kv." VAULT " A 10.1.0.7\n"
	    "~ acct." BLOB " A 10.1.0.5 -> 10.1.0.9\n"
	    "+ alias." BLOB " CNAME acct." BLOB ".\n"
	    "- other." BLOB " A 10.1.0.6\n");
	free(t);
	assert_int_equal(df.added, 1);
	assert_int_equal(df.removed, 2);
	assert_int_equal(df.changed, 1);
	rdiff_clear(&df);

	/* Zones that lose every record. */
	gone = rdiff_emptied_zones(a, b);
	assert_non_null(gone);
	assert_string_equal(gone[0], VAULT);
	assert_null(gone[1]);
	strv_free(gone);
	assert_null(rdiff_emptied_zones(b, a));

	/* A zone gone from the new data altogether. */
	recset_init(&rs);
	z = recset_zone(&rs, cfg, BLOB, "test");
	add_a(&rs, z, "acct." BLOB, "10.1.0.9");
	c = snap(&rs);
	gone = rdiff_emptied_zones(a, c);
	assert_non_null(gone);
	assert_string_equal(gone[0], VAULT);
	assert_null(gone[1]);
	strv_free(gone);

	/* The same data: nothing. */
	rdiff_init(&df);
	rdiff_snapshots(&df, a, a);
	assert_int_equal(df.n, 0);
	rdiff_clear(&df);

	/* From nothing: everything is added. */
	rdiff_init(&df);
	rdiff_snapshots(&df, NULL, c);
	rdiff_sort(&df);
	t = all_lines(&df);
	assert_string_equal(t, "+ acct." BLOB " A 10.1.0.9\n");
	free(t);
	rdiff_clear(&df);

	snapshot_unref(a);
	snapshot_unref(b);
	snapshot_unref(c);
	config_free(cfg);
}

/* What a reload adds shows where it came from, taken from the recset
 * before the snapshot consumes it. */
static void
test_origins(void **state)
{
	struct config *cfg = config_new();
	struct recset rs;
	struct snapshot *a, *b;
	struct rdiff df;
	struct rdiff_origins o;
	uint8_t w[WIRE_NAME_MAX], ip[4];
	const char *err;
	char *t;
	size_t z;

	(void)state;
	recset_init(&rs);
	z = recset_zone(&rs, cfg, BLOB, "test");
	add_a(&rs, z, "acct." BLOB, "10.1.0.5");
	add_a(&rs, z, "gone." BLOB, "10.1.0.6");
	a = snap(&rs);

	recset_init(&rs);
	z = recset_zone(&rs, cfg, BLOB, "test");
	assert_true(wire_name_from_str("acct." BLOB, w, &err) > 0);
	assert_int_equal(inet_pton(AF_INET, "10.1.0.9", ip), 1);
	assert_non_null(recset_add_at(&rs, z, w, TYPE_A, 10, ip, 4, "dns.csv", 7));
	assert_true(wire_name_from_str("new." BLOB, w, &err) > 0);
	assert_int_equal(inet_pton(AF_INET, "10.1.0.10", ip), 1);
	assert_non_null(recset_add_at(&rs, z, w, TYPE_A, 10, ip, 4, "dns.csv", 8));
	rdiff_origins_init(&o, 100);
	rdiff_origins_collect(&o, &rs, a);
	assert_int_equal(o.n, 2);
	b = snap(&rs);

	rdiff_init(&df);
	rdiff_snapshots(&df, a, b);
	rdiff_sort(&df);
	rdiff_origins_apply(&df, &o);
	t = all_lines(&df);
	assert_string_equal(t,
	    "~ acct." BLOB " A 10.1.0.5 -> 10.1.0.9\n"
	    "- gone." BLOB " A 10.1.0.6\n"
	    "+ new." BLOB " A 10.1.0.10 (dns.csv:8)\n");
	free(t);
	rdiff_clear(&df);
	rdiff_origins_clear(&o);

	/* Bounded: beyond MAX, additions have no origin. */
	recset_init(&rs);
	z = recset_zone(&rs, cfg, BLOB, "test");
	assert_non_null(recset_add_at(&rs, z, w, TYPE_A, 10, ip, 4, "dns.csv", 3));
	rdiff_origins_init(&o, 0);
	rdiff_origins_collect(&o, &rs, a);
	assert_int_equal(o.n, 0);
	rdiff_origins_clear(&o);
	recset_clear(&rs);

	snapshot_unref(a);
	snapshot_unref(b);
	config_free(cfg);
}

/* ---- the drop rule ---- */

static void
test_drop_rule(void **state)
{
	(void)state;
	/* A site of 5 records: one or two may go (a private endpoint
	 * retired); three of five is more than a routine change. */
	assert_false(rdiff_drop_exceeds(5, 0, 10));
	assert_false(rdiff_drop_exceeds(5, 1, 10));
	assert_false(rdiff_drop_exceeds(5, 2, 10));
	assert_true(rdiff_drop_exceeds(5, 3, 10));
	assert_true(rdiff_drop_exceeds(5, 5, 10));
	/* 50,000 records: 10% is 5,000. */
	assert_false(rdiff_drop_exceeds(50000, 1, 10));
	assert_false(rdiff_drop_exceeds(50000, 5000, 10));
	assert_true(rdiff_drop_exceeds(50000, 5001, 10));
	assert_true(rdiff_drop_exceeds(50000, 50000, 10));
	/* The floor holds for max_drop = 0 too. */
	assert_false(rdiff_drop_exceeds(50000, 2, 0));
	assert_true(rdiff_drop_exceeds(50000, 3, 0));
	/* 100% never holds on the percentage. */
	assert_false(rdiff_drop_exceeds(50000, 50000, 100));
	/* Nothing before: nothing to drop. */
	assert_false(rdiff_drop_exceeds(0, 0, 10));
	/* No overflow with huge counts. */
	assert_false(rdiff_drop_exceeds(SIZE_MAX / 2, SIZE_MAX / 40, 10));
	assert_true(rdiff_drop_exceeds(SIZE_MAX / 2, SIZE_MAX / 10, 10));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recs_add_remove_change),
		cmocka_unit_test(test_recs_sets),
		cmocka_unit_test(test_recs_order),
		cmocka_unit_test(test_text_capped),
		cmocka_unit_test(test_snapshots),
		cmocka_unit_test(test_origins),
		cmocka_unit_test(test_drop_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
