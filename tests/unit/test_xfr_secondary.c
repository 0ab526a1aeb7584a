/*
 * Unit tests for the secondary's parts without I/O (xfr_secondary_int.h):
 * the record store and SOA fields (xfr_store.c), and the answer of a
 * transfer taken in and applied (xfr_receive.c).  Whole refreshes against
 * a primary are in test_xfr.c.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "wire/wire.h"
#include "xfr/xfr_secondary_int.h"

static void
name(uint8_t *w, const char *s)
{
	const char *err;

	assert_true(wire_name_from_str(s, w, &err) > 0);
}

/* SOA RDATA "ns1.z. h.z. SERIAL 3600 600 EXPIRE 60" into RD; its length. */
static uint16_t
soa_rd(uint8_t *rd, uint32_t serial, uint32_t expire)
{
	struct wire_buf b;
	uint8_t n[WIRE_NAME_MAX];

	wire_buf_init(&b, rd, 512);
	name(n, "ns1.z.example");
	wire_put_name(&b, n, false);
	name(n, "h.z.example");
	wire_put_name(&b, n, false);
	wire_put_u32(&b, serial);
	wire_put_u32(&b, 3600);
	wire_put_u32(&b, 600);
	wire_put_u32(&b, expire);
	wire_put_u32(&b, 60);
	assert_false(b.overflow);
	return (uint16_t)b.len;
}

static size_t
store_count(const struct rrstore *st)
{
	size_t n = 0, i = 0;

	while (xfr_store_next(st, &i) != NULL)
		n++;
	return n;
}

static void
test_store(void **state)
{
	struct rrstore st;
	uint8_t o[WIRE_NAME_MAX], o2[WIRE_NAME_MAX], a[4] = { 10, 0, 0, 1 };
	const struct srec *r;
	size_t i = 0;

	(void)state;
	memset(&st, 0, sizeof(st));
	name(o, "www.z.example");
	name(o2, "mail.z.example");
	assert_null(xfr_store_next(&st, &i));
	assert_int_equal(xfr_store_add(&st, o, TYPE_A, 300, a, 4), 1);
	/* The same record again: kept once, its TTL the new one. */
	assert_int_equal(xfr_store_add(&st, o, TYPE_A, 60, a, 4), 0);
	assert_int_equal(st.n, 1);
	i = 0;
	r = xfr_store_next(&st, &i);
	assert_non_null(r);
	assert_int_equal(r->ttl, 60);
	assert_int_equal(r->type, TYPE_A);
	assert_memory_equal(r->data, o, r->olen);
	assert_memory_equal(r->data + r->olen, a, 4);
	assert_null(xfr_store_next(&st, &i));
	/* Another owner, another RDATA: other records. */
	assert_int_equal(xfr_store_add(&st, o2, TYPE_A, 300, a, 4), 1);
	a[3] = 2;
	assert_int_equal(xfr_store_add(&st, o, TYPE_A, 300, a, 4), 1);
	assert_int_equal(store_count(&st), 3);
	/* Removed: gone from the walk; a record not there: -1. */
	assert_int_equal(xfr_store_del(&st, o, TYPE_A, a, 4), 0);
	assert_int_equal(xfr_store_del(&st, o, TYPE_A, a, 4), -1);
	assert_int_equal(xfr_store_del(&st, o, TYPE_AAAA, a, 4), -1);
	assert_int_equal(store_count(&st), 2);
	/* Added back into the tombstone's place. */
	assert_int_equal(xfr_store_add(&st, o, TYPE_A, 300, a, 4), 1);
	assert_int_equal(store_count(&st), 3);
	xfr_store_clear(&st);
	assert_int_equal(st.n, 0);
	assert_int_equal(store_count(&st), 0);
}

static void
test_store_grows(void **state)
{
	struct rrstore st;
	uint8_t o[WIRE_NAME_MAX], a[4] = { 10, 0, 0, 0 };
	char s[64];

	(void)state;
	memset(&st, 0, sizeof(st));
	for (int k = 0; k < 5000; k++) {
		snprintf(s, sizeof(s), "h%d.z.example", k);
		name(o, s);
		a[2] = (uint8_t)(k >> 8);
		a[3] = (uint8_t)k;
		assert_int_equal(xfr_store_add(&st, o, TYPE_A, 300, a, 4), 1);
		if (k % 2 == 1)
			assert_int_equal(xfr_store_del(&st, o, TYPE_A, a, 4), 0);
	}
	assert_int_equal(st.n, 2500);
	assert_int_equal(store_count(&st), 2500);
	/* Every even one is still found (deleting it works), no odd one. */
	for (int k = 0; k < 5000; k++) {
		snprintf(s, sizeof(s), "h%d.z.example", k);
		name(o, s);
		a[2] = (uint8_t)(k >> 8);
		a[3] = (uint8_t)k;
		assert_int_equal(xfr_store_del(&st, o, TYPE_A, a, 4), k % 2 ? -1 : 0);
	}
	assert_int_equal(store_count(&st), 0);
	xfr_store_clear(&st);
}

static void
test_soa(void **state)
{
	uint8_t rd[512];
	uint16_t len = soa_rd(rd, 42, 86400);
	uint32_t v[4];
	struct soa s;

	(void)state;
	assert_true(xfr_soa_fields(rd, len, v));
	assert_int_equal(v[0], 42);
	assert_int_equal(v[1], 3600);
	assert_int_equal(v[2], 600);
	assert_int_equal(v[3], 86400);
	/* One octet short, one too many, a broken name: malformed. */
	assert_false(xfr_soa_fields(rd, len - 1, v));
	assert_false(xfr_soa_fields(rd, len + 1, v));
	rd[0] = 63;
	assert_false(xfr_soa_fields(rd, len, v));
	len = soa_rd(rd, 7, 5);
	memset(&s, 0, sizeof(s));
	assert_true(xfr_soa_set(&s, 3600, rd, len));
	assert_int_equal(s.ttl, 3600);
	assert_int_equal(xfr_soa_field(&s, 0), 7);
	assert_int_equal(xfr_soa_field(&s, 3), 5);
	/* A bad one leaves S as it was. */
	assert_false(xfr_soa_set(&s, 1, rd, len - 2));
	assert_int_equal(s.ttl, 3600);
	assert_int_equal(xfr_soa_field(&s, 0), 7);
}

/* ---- the answer of a transfer ---- */

static char zname[] = "z.example";

struct fixture {
	struct szn z;
	struct pull p;
	struct pl_addr prim;
};

/* A zone z.example holding serial HAVE (0: no data), asking ID 7 with IXFR
 * when IXFR. */
static void
fixture_init(struct fixture *f, uint32_t have, bool ixfr)
{
	uint8_t rd[512];
	const char *err;

	memset(f, 0, sizeof(*f));
	assert_int_equal(addr_parse("127.0.0.1:53", 53, &f->prim, &err), 0);
	f->z.name = zname;
	name(f->z.apex, "z.example");
	f->z.primaries = &f->prim;
	f->z.nprimaries = 1;
	if (have != 0) {
		f->z.have_data = true;
		assert_true(xfr_soa_set(&f->z.soa, 3600, rd, soa_rd(rd, have, 86400)));
	}
	f->p.z = &f->z;
	f->p.id = 7;
	f->p.ixfr = ixfr;
	f->p.fd = -1;
}

static void
fixture_clear(struct fixture *f)
{
	free(f->p.rrs);
	xfr_store_clear(&f->z.store);
}

struct msg {
	uint8_t buf[4096];
	struct wire_buf b;
	uint16_t an;
};

static void
msg_begin(struct msg *m, uint16_t id)
{
	struct wire_hdr h;
	uint8_t q[WIRE_NAME_MAX];

	memset(&h, 0, sizeof(h));
	h.id = id;
	h.flags = WIRE_QR | WIRE_AA;
	h.qdcount = 1;
	wire_buf_init(&m->b, m->buf, sizeof(m->buf));
	wire_put_hdr(&m->b, &h);
	name(q, "z.example");
	wire_put_name(&m->b, q, false);
	wire_put_u16(&m->b, TYPE_AXFR);
	wire_put_u16(&m->b, CLASS_IN);
	m->an = 0;
}

static void
msg_soa(struct msg *m, uint32_t serial)
{
	uint8_t o[WIRE_NAME_MAX], rd[512];

	name(o, "z.example");
	wire_put_rr(&m->b, o, TYPE_SOA, CLASS_IN, 3600, rd, soa_rd(rd, serial, 86400));
	m->an++;
}

static void
msg_a(struct msg *m, const char *owner, uint8_t last)
{
	uint8_t o[WIRE_NAME_MAX], a[4] = { 10, 0, 0, last };

	name(o, owner);
	wire_put_rr(&m->b, o, TYPE_A, CLASS_IN, 300, a, 4);
	m->an++;
}

static int
msg_send(struct fixture *f, struct msg *m)
{
	assert_false(m->b.overflow);
	wire_set_u16(&m->b, WIRE_OFF_AN, m->an);
	return xfr_receive_message(&f->p, m->b.data, m->b.len);
}

static bool
has_a(const struct rrstore *st, const char *owner, uint8_t last)
{
	uint8_t o[WIRE_NAME_MAX], a[4] = { 10, 0, 0, last };
	size_t i = 0;
	const struct srec *r;

	name(o, owner);
	while ((r = xfr_store_next(st, &i)) != NULL)
		if (r->type == TYPE_A && wire_name_equal(r->data, o) &&
		    r->rdlen == 4 && memcmp(r->data + r->olen, a, 4) == 0)
			return true;
	return false;
}

static void
test_receive_axfr(void **state)
{
	struct fixture f;
	struct msg m;

	(void)state;
	fixture_init(&f, 0, false);
	/* Two messages: SOA, www; mail, SOA. */
	msg_begin(&m, 7);
	msg_soa(&m, 3);
	msg_a(&m, "www.z.example", 1);
	assert_int_equal(msg_send(&f, &m), 0);
	msg_begin(&m, 7);
	msg_a(&m, "mail.z.example", 2);
	msg_soa(&m, 3);
	assert_int_equal(msg_send(&f, &m), 1);
	assert_int_equal(f.p.mode, M_AXFR);
	assert_int_equal(xfr_apply_axfr(&f.p), 0);
	assert_int_equal(xfr_soa_field(&f.z.soa, 0), 3);
	assert_int_equal(f.z.store.n, 2);
	assert_true(has_a(&f.z.store, "www.z.example", 1));
	assert_true(has_a(&f.z.store, "mail.z.example", 2));
	/* Anything after the final SOA is refused. */
	msg_begin(&m, 7);
	msg_a(&m, "late.z.example", 3);
	assert_int_equal(msg_send(&f, &m), -1);
	fixture_clear(&f);
}

static void
test_receive_refuses(void **state)
{
	struct fixture f;
	struct msg m;
	uint8_t o[WIRE_NAME_MAX], rd[WIRE_NAME_MAX];

	(void)state;
	/* Another ID: not ours. */
	fixture_init(&f, 0, false);
	msg_begin(&m, 8);
	msg_soa(&m, 3);
	assert_int_equal(msg_send(&f, &m), -1);
	fixture_clear(&f);
	/* A record outside the zone. */
	fixture_init(&f, 0, false);
	msg_begin(&m, 7);
	msg_soa(&m, 3);
	msg_a(&m, "www.other.example", 1);
	assert_int_equal(msg_send(&f, &m), -1);
	fixture_clear(&f);
	/* The first record not the SOA. */
	fixture_init(&f, 0, false);
	msg_begin(&m, 7);
	msg_a(&m, "www.z.example", 1);
	assert_int_equal(msg_send(&f, &m), -1);
	fixture_clear(&f);
	/* A closing SOA with another serial. */
	fixture_init(&f, 0, false);
	msg_begin(&m, 7);
	msg_soa(&m, 3);
	msg_soa(&m, 4);
	assert_int_equal(msg_send(&f, &m), -1);
	fixture_clear(&f);
	/* A delegation below the apex. */
	fixture_init(&f, 0, false);
	msg_begin(&m, 7);
	msg_soa(&m, 3);
	name(o, "sub.z.example");
	name(rd, "ns.elsewhere.example");
	wire_put_rr(&m.b, o, TYPE_NS, CLASS_IN, 300, rd,
	    (uint16_t)wire_name_len(rd, WIRE_NAME_MAX));
	m.an++;
	assert_int_equal(msg_send(&f, &m), -1);
	fixture_clear(&f);
}

static void
test_receive_ixfr(void **state)
{
	struct fixture f;
	struct msg m;

	(void)state;
	/* The zone at serial 1 holds www 1 and old 9. */
	fixture_init(&f, 1, true);
	{
		uint8_t o[WIRE_NAME_MAX], a[4] = { 10, 0, 0, 1 };

		name(o, "www.z.example");
		assert_int_equal(xfr_store_add(&f.z.store, o, TYPE_A, 300, a, 4), 1);
		name(o, "old.z.example");
		a[3] = 9;
		assert_int_equal(xfr_store_add(&f.z.store, o, TYPE_A, 300, a, 4), 1);
	}
	/* 1 -> 2: old goes; 2 -> 3: new comes. */
	msg_begin(&m, 7);
	msg_soa(&m, 3);
	msg_soa(&m, 1);
	msg_a(&m, "old.z.example", 9);
	msg_soa(&m, 2);
	msg_soa(&m, 2);
	msg_soa(&m, 3);
	msg_a(&m, "new.z.example", 5);
	msg_soa(&m, 3);
	assert_int_equal(msg_send(&f, &m), 1);
	assert_int_equal(f.p.mode, M_IXFR);
	assert_int_equal(xfr_apply_ixfr(&f.p), 0);
	assert_int_equal(xfr_soa_field(&f.z.soa, 0), 3);
	assert_int_equal(f.z.store.n, 2);
	assert_true(has_a(&f.z.store, "www.z.example", 1));
	assert_true(has_a(&f.z.store, "new.z.example", 5));
	assert_false(has_a(&f.z.store, "old.z.example", 9));
	fixture_clear(&f);

	/* A deletion of what the zone does not hold: it does not apply. */
	fixture_init(&f, 1, true);
	msg_begin(&m, 7);
	msg_soa(&m, 2);
	msg_soa(&m, 1);
	msg_a(&m, "never.z.example", 9);
	msg_soa(&m, 2);
	msg_soa(&m, 2);
	assert_int_equal(msg_send(&f, &m), 1);
	assert_int_equal(xfr_apply_ixfr(&f.p), -1);
	fixture_clear(&f);

	/* The SOA alone, not newer: up to date. */
	fixture_init(&f, 5, true);
	msg_begin(&m, 7);
	msg_soa(&m, 5);
	assert_int_equal(msg_send(&f, &m), 1);
	assert_int_equal(f.p.mode, M_UPTODATE);
	fixture_clear(&f);
	/* Newer but not sent: fails, asking for AXFR. */
	fixture_init(&f, 5, true);
	msg_begin(&m, 7);
	msg_soa(&m, 6);
	assert_int_equal(msg_send(&f, &m), -1);
	assert_true(f.p.force_axfr);
	fixture_clear(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_store_grows),
		cmocka_unit_test(test_soa),
		cmocka_unit_test(test_receive_axfr),
		cmocka_unit_test(test_receive_refuses),
		cmocka_unit_test(test_receive_ixfr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
