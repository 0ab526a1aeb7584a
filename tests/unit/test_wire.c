/* Unit tests for wire: names, query checks, RR reading, the writer. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wire/wire.h"

/* ---- helpers ---- */

/* A packet under construction, independent of the writer under test. */
struct pkt {
	uint8_t b[8192];
	size_t n;
};

static void
p_u8(struct pkt *p, uint8_t v)
{
	assert_true(p->n < sizeof(p->b));
	p->b[p->n++] = v;
}

static void
p_u16(struct pkt *p, uint16_t v)
{
	p_u8(p, (uint8_t)(v >> 8));
	p_u8(p, (uint8_t)v);
}

static void
p_u32(struct pkt *p, uint32_t v)
{
	p_u16(p, (uint16_t)(v >> 16));
	p_u16(p, (uint16_t)v);
}

static void
p_bytes(struct pkt *p, const void *d, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

/* Appends the presentation name S uncompressed; returns its offset. */
static size_t
p_name(struct pkt *p, const char *s)
{
	uint8_t w[WIRE_NAME_MAX];
	const char *err = NULL;
	int n = wire_name_from_str(s, w, &err);
	size_t at = p->n;

	assert_true(n > 0);
	p_bytes(p, w, (size_t)n);
	return at;
}

/* Appends labels of S without the root octet (to be followed by a pointer). */
static size_t
p_labels(struct pkt *p, const char *s)
{
	size_t at = p_name(p, s);
	p->n--;
	return at;
}

static void
p_ptr(struct pkt *p, size_t off)
{
	p_u16(p, (uint16_t)(0xc000 | off));
}

static void
p_hdr(struct pkt *p, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
    uint16_t ns, uint16_t ar)
{
	p->n = 0;
	p_u16(p, id);
	p_u16(p, flags);
	p_u16(p, qd);
	p_u16(p, an);
	p_u16(p, ns);
	p_u16(p, ar);
}

static void
p_opt(struct pkt *p, uint16_t udp, uint32_t ttl, const uint8_t *rd,
    uint16_t rdlen)
{
	p_u8(p, 0);
	p_u16(p, TYPE_OPT);
	p_u16(p, udp);
	p_u32(p, ttl);
	p_u16(p, rdlen);
	if (rdlen)
		p_bytes(p, rd, rdlen);
}

/* A standard query for NAME/TYPE IN, optionally with an empty OPT. */
static void
p_query(struct pkt *p, uint16_t flags, const char *name, uint16_t type,
    bool edns)
{
	p_hdr(p, 0xbeef, flags, 1, 0, 0, edns ? 1 : 0);
	p_name(p, name);
	p_u16(p, type);
	p_u16(p, CLASS_IN);
	if (edns)
		p_opt(p, 4096, 0, NULL, 0);
}

/* Parses from a heap copy of exactly N octets, so that ASan sees any read
 * past the end; the cookie pointer is rebased onto D. */
static enum wire_verdict
parse_exact(const uint8_t *d, size_t n, struct wire_query *q)
{
	uint8_t *c = malloc(n ? n : 1);
	assert_non_null(c);
	memcpy(c, d, n);
	enum wire_verdict v = wire_query_parse(c, n, q);
	if (q->edns.cookie != NULL)
		q->edns.cookie = d + (q->edns.cookie - c);
	free(c);
	return v;
}

static int
name_read_exact(const uint8_t *d, size_t n, size_t *pos, uint8_t *out)
{
	uint8_t *c = malloc(n ? n : 1);
	assert_non_null(c);
	memcpy(c, d, n);
	int r = wire_name_read(c, n, pos, out);
	free(c);
	return r;
}

static int
from_str(const char *s, uint8_t *w)
{
	const char *err = NULL;
	int n = wire_name_from_str(s, w, &err);
	assert_int_not_equal(n, -1);
	return n;
}

static void
assert_from_str_err(const char *s, const char *want)
{
	uint8_t w[WIRE_NAME_MAX];
	const char *err = NULL;

	assert_int_equal(wire_name_from_str(s, w, &err), -1);
	assert_non_null(err);
	assert_string_equal(err, want);
}

static void
assert_to_str(const uint8_t *w, const char *want)
{
	char buf[1024];

	assert_int_equal(wire_name_to_str(w, buf, sizeof(buf)), (int)strlen(want));
	assert_string_equal(buf, want);
}

static uint64_t rng_state;

static uint32_t
rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return (uint32_t)(x >> 32);
}

/* ---- presentation <-> wire ---- */

static void
test_from_str_basic(void **state)
{
	uint8_t a[WIRE_NAME_MAX], b[WIRE_NAME_MAX];
	static const uint8_t want[] = "\003www\007Example\003com";

	(void)state;
	assert_int_equal(from_str("www.Example.com", a), 17);
	assert_memory_equal(a, want, 17);
	assert_int_equal(from_str("www.Example.com.", b), 17);
	assert_memory_equal(a, b, 17);
	assert_int_equal(from_str("a", a), 3);
	assert_memory_equal(a, "\001a\000", 3);
}

static void
test_from_str_root(void **state)
{
	uint8_t w[WIRE_NAME_MAX];

	(void)state;
	memset(w, 0xff, sizeof(w));
	assert_int_equal(from_str("", w), 1);
	assert_int_equal(w[0], 0);
	memset(w, 0xff, sizeof(w));
	assert_int_equal(from_str(".", w), 1);
	assert_int_equal(w[0], 0);
}

static void
test_from_str_escapes(void **state)
{
	uint8_t w[WIRE_NAME_MAX];

	(void)state;
	assert_int_equal(from_str("a\\.b.c", w), 7);
	assert_memory_equal(w, "\003a.b\001c\000", 7);
	assert_int_equal(from_str("\\065bc", w), 5);
	assert_memory_equal(w, "\003Abc\000", 5);
	assert_int_equal(from_str("\\000\\255", w), 4);
	assert_memory_equal(w, "\002\000\377\000", 4);
	assert_int_equal(from_str("a\\\\b", w), 5);
	assert_memory_equal(w, "\003a\\b\000", 5);
	/* \X for a non-digit X is X itself. */
	assert_int_equal(from_str("\\a\\@", w), 4);
	assert_memory_equal(w, "\002a@\000", 4);
	/* An escaped dot at the end is part of the label, not a root dot. */
	assert_int_equal(from_str("a\\.", w), 4);
	assert_memory_equal(w, "\002a.\000", 4);
}

static void
test_from_str_empty_label(void **state)
{
	(void)state;
	assert_from_str_err("a..b", "empty label");
	assert_from_str_err(".a", "empty label");
	assert_from_str_err("..", "empty label");
	assert_from_str_err("a..", "empty label");
}

static void
test_from_str_label_length(void **state)
{
	char s[80];
	uint8_t w[WIRE_NAME_MAX];

	(void)state;
	memset(s, 'x', 63);
	strcpy(s + 63, ".com");
	assert_int_equal(from_str(s, w), 69);
	assert_int_equal(w[0], 63);
	memset(s, 'x', 64);
	strcpy(s + 64, ".com");
	assert_from_str_err(s, "label longer than 63 octets");
	/* Escapes count as one octet. */
	strcpy(s, "\\120");
	memset(s + 4, 'x', 62);
	s[66] = '\0';
	assert_int_equal(from_str(s, w), 65);
	strcat(s, "x");
	assert_from_str_err(s, "label longer than 63 octets");
}

/* A name of exactly LEN wire octets made of 63-octet labels and one rest. */
static void
make_long_name(char *s, size_t wirelen)
{
	size_t left = wirelen - 1;	/* minus the root */
	char *p = s;

	while (left > 0) {
		size_t l = left - 1 > 63 ? 63 : left - 1;
		if (left - (l + 1) == 1)	/* never leave a lone length octet */
			l--;
		memset(p, 'a', l);
		p += l;
		*p++ = '.';
		left -= l + 1;
	}
	*p = '\0';
}

static void
test_from_str_name_length(void **state)
{
	char s[600];
	uint8_t w[WIRE_NAME_MAX];

	(void)state;
	make_long_name(s, 255);
	assert_int_equal(from_str(s, w), 255);
	assert_int_equal(wire_name_len(w, WIRE_NAME_MAX), 255);
	make_long_name(s, 256);
	assert_from_str_err(s, "name longer than 255 octets");
	make_long_name(s, 300);
	assert_from_str_err(s, "name longer than 255 octets");
	/* 128 one-octet labels: 257 octets. */
	for (int i = 0; i < 128; i++) {
		s[2 * i] = 'a';
		s[2 * i + 1] = '.';
	}
	s[256] = '\0';
	assert_from_str_err(s, "name longer than 255 octets");
	s[254] = '\0';	/* 127 labels: 255 octets */
	assert_int_equal(from_str(s, w), 255);
}

static void
test_from_str_bad_escape(void **state)
{
	(void)state;
	assert_from_str_err("a\\", "bad escape");
	assert_from_str_err("\\1", "bad escape");
	assert_from_str_err("\\12", "bad escape");
	assert_from_str_err("\\12.", "bad escape");
	assert_from_str_err("\\1a2", "bad escape");
	assert_from_str_err("\\256", "bad escape");
	assert_from_str_err("\\999.com", "bad escape");
}

static void
test_to_str(void **state)
{
	uint8_t w[WIRE_NAME_MAX];

	(void)state;
	assert_to_str((const uint8_t *)"", ".");
	from_str("www.Example.com", w);
	assert_to_str(w, "www.Example.com.");
	memcpy(w, "\003a.b\001\\\000", 8);
	assert_to_str(w, "a\\.b.\\\\.");
	memcpy(w, "\010\"();$@ \177\000", 10);
	assert_to_str(w, "\\\"\\(\\)\\;\\$\\@\\032\\127.");
	memcpy(w, "\002\000\377\000", 4);
	assert_to_str(w, "\\000\\255.");
}

static void
test_to_str_small_buffer(void **state)
{
	uint8_t w[WIRE_NAME_MAX];
	char buf[32];

	(void)state;
	from_str("ab.c", w);	/* "ab.c." = 5 chars + NUL */
	assert_int_equal(wire_name_to_str(w, buf, 6), 5);
	assert_string_equal(buf, "ab.c.");
	assert_int_equal(wire_name_to_str(w, buf, 5), -1);
	assert_int_equal(wire_name_to_str(w, buf, 0), -1);
	assert_int_equal(wire_name_to_str((const uint8_t *)"", buf, 1), -1);
	assert_int_equal(wire_name_to_str((const uint8_t *)"", buf, 2), 1);
	from_str("\\000", w);
	assert_int_equal(wire_name_to_str(w, buf, 5), -1);
	assert_int_equal(wire_name_to_str(w, buf, 6), 5);
	assert_string_equal(buf, "\\000.");
}

static void
test_name_roundtrip_all_octets(void **state)
{
	uint8_t w[WIRE_NAME_MAX], back[WIRE_NAME_MAX];
	char s[1024];

	(void)state;
	/* Every octet value, 50 per label, 4 labels per name. */
	for (int base = 0; base < 256; base += 200) {
		size_t o = 0;
		for (int l = 0; l < 4; l++) {
			w[o++] = 50;
			for (int i = 0; i < 50; i++)
				w[o++] = (uint8_t)(base + l * 50 + i);
		}
		w[o++] = 0;
		int n = wire_name_to_str(w, s, sizeof(s));
		assert_true(n > 0);
		assert_int_equal(from_str(s, back), (int)o);
		assert_memory_equal(w, back, o);
	}
	/* The longest escape-heavy name fits in 1024 bytes. */
	memset(w, 0, sizeof(w));
	for (size_t o = 0; o < 252; o += 63) {
		w[o] = 62;
	}
	w[252] = 1;
	w[254] = 0;
	assert_int_equal(wire_name_len(w, WIRE_NAME_MAX), 255);
	int n = wire_name_to_str(w, s, sizeof(s));
	assert_int_equal(n, 249 * 4 + 5);
	assert_int_equal(from_str(s, back), 255);
	assert_memory_equal(w, back, 255);
}

/* ---- uncompressed name helpers ---- */

static void
test_name_len(void **state)
{
	uint8_t w[WIRE_NAME_MAX + 8];

	(void)state;
	assert_int_equal(wire_name_len((const uint8_t *)"", 1), 1);
	assert_int_equal(wire_name_len((const uint8_t *)"\001a", 3), 3);
	assert_int_equal(wire_name_len((const uint8_t *)"\001a", 2), -1);
	assert_int_equal(wire_name_len((const uint8_t *)"\001a", 0), -1);
	/* 0x40 (64) and 0xc0 are not label lengths. */
	memset(w, 'a', sizeof(w));
	w[0] = 64;
	w[65] = 0;
	assert_int_equal(wire_name_len(w, sizeof(w)), -1);
	w[0] = 0xc0;
	assert_int_equal(wire_name_len(w, sizeof(w)), -1);
	/* Over 255 octets even when MAX allows more. */
	for (int i = 0; i < 4; i++)
		w[i * 64] = 63;
	w[256] = 0;
	assert_int_equal(wire_name_len(w, sizeof(w)), -1);
}

static void
test_name_lower_equal(void **state)
{
	uint8_t a[WIRE_NAME_MAX], b[WIRE_NAME_MAX], c[WIRE_NAME_MAX];

	(void)state;
	int n = from_str("WwW.ExAmPlE.CoM", a);
	from_str("www.example.com", b);
	wire_name_lower(c, a, (size_t)n);
	assert_memory_equal(c, b, (size_t)n);
	wire_name_lower(a, a, (size_t)n);	/* in place */
	assert_memory_equal(a, b, (size_t)n);

	from_str("WWW.example.COM", a);
	assert_true(wire_name_equal(a, b));
	from_str("www.example.co", a);
	assert_false(wire_name_equal(a, b));
	from_str("www.example.com.x", a);
	assert_false(wire_name_equal(a, b));
	/* Only ASCII folds: 0xc1 and 0xe1 differ. */
	from_str("\\193", a);
	from_str("\\225", c);
	assert_false(wire_name_equal(a, c));
	/* '@' (0x40) and '`' (0x60) are not letters. */
	from_str("\\@", a);
	from_str("`", c);
	assert_false(wire_name_equal(a, c));
	assert_true(wire_name_equal((const uint8_t *)"", (const uint8_t *)""));
}

/* The folding of names eight bytes at a time, against the byte rule. */
static void
test_name_fold_every_byte(void **state)
{
	uint8_t a[WIRE_NAME_MAX], b[WIRE_NAME_MAX], c[WIRE_NAME_MAX];

	(void)state;
	for (int v = 1; v < 256; v++) {
		uint8_t want = v >= 'A' && v <= 'Z' ? (uint8_t)(v + 32) : (uint8_t)v;
		/* Labels of every length to 20 (words, overlapping tails, single
		 * bytes), of 'X', byte POS replaced. */
		for (int len = 1; len <= 20; len++)
			for (int pos = 1; pos <= len; pos++) {
				a[0] = (uint8_t)len;
				memset(a + 1, 'X', (size_t)len);
				a[len + 1] = 0;
				a[pos] = (uint8_t)v;
				memcpy(b, a, (size_t)len + 2);
				memset(b + 1, 'x', (size_t)len);
				b[pos] = want;
				wire_name_lower(c, a, (size_t)len + 2);
				assert_memory_equal(c, b, (size_t)len + 2);
				assert_true(wire_name_equal(a, b));
				assert_true(wire_name_equal(b, a));
				/* A byte that does not fold to the same differs. */
				b[pos] = (uint8_t)(want ^ 0x01);
				assert_false(wire_name_equal(a, b));
				b[pos] = (uint8_t)(want ^ 0x80);
				assert_false(wire_name_equal(a, b));
			}
	}
}

static void
test_name_under_labels_parent(void **state)
{
	uint8_t n[WIRE_NAME_MAX], z[WIRE_NAME_MAX];

	(void)state;
	from_str("a.B.example.com", n);
	from_str("example.COM", z);
	assert_true(wire_name_under(n, z));
	assert_true(wire_name_under(z, z));
	assert_true(wire_name_under(n, (const uint8_t *)""));
	assert_false(wire_name_under(z, n));
	from_str("ample.com", z);
	assert_false(wire_name_under(n, z));
	from_str("b.example.org", z);
	assert_false(wire_name_under(n, z));

	assert_int_equal(wire_name_labels(n), 4);
	assert_int_equal(wire_name_labels((const uint8_t *)""), 0);
	const uint8_t *p = wire_name_parent(n);
	assert_ptr_equal(p, n + 2);
	p = wire_name_parent(p);
	assert_ptr_equal(p, n + 4);
	assert_null(wire_name_parent((const uint8_t *)""));
	from_str("b.example.com", z);
	assert_true(wire_name_equal(wire_name_parent(n), z));
}

/* ---- reading names ---- */

static void
test_name_read_plain(void **state)
{
	struct pkt p = { .n = 0 };
	uint8_t out[WIRE_NAME_MAX];

	(void)state;
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_name(&p, "Foo.example");
	p_u8(&p, 0xaa);
	size_t pos = 12;
	assert_int_equal(name_read_exact(p.b, p.n, &pos, out), 13);
	assert_int_equal(pos, 25);
	assert_memory_equal(out, "\003Foo\007example\000", 13);
	/* Root. */
	pos = 24;
	assert_int_equal(name_read_exact(p.b, p.n, &pos, out), 1);
	assert_int_equal(pos, 25);
}

static void
test_name_read_compressed(void **state)
{
	struct pkt p = { .n = 0 };
	uint8_t out[WIRE_NAME_MAX], want[WIRE_NAME_MAX];

	(void)state;
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	size_t com = p_name(&p, "com");
	size_t ex = p_labels(&p, "example");
	p_ptr(&p, com);
	size_t www = p_labels(&p, "www");
	p_ptr(&p, ex);
	size_t direct = p.n;
	p_ptr(&p, www);
	p_u8(&p, 0x55);

	size_t pos = www;
	int n = name_read_exact(p.b, p.n, &pos, out);
	assert_int_equal(n, from_str("www.example.com", want));
	assert_memory_equal(out, want, (size_t)n);
	assert_int_equal(pos, direct);	/* just past the first pointer */

	pos = direct;
	n = name_read_exact(p.b, p.n, &pos, out);
	assert_memory_equal(out, want, (size_t)n);
	assert_int_equal(pos, direct + 2);

	/* A pointer into the middle of a label run ("example.com" at ex). */
	struct pkt q = p;
	size_t mid = q.n;
	p_ptr(&q, ex);
	pos = mid;
	n = name_read_exact(q.b, q.n, &pos, out);
	assert_int_equal(n, from_str("example.com", want));
	assert_memory_equal(out, want, (size_t)n);
}

/* wire_name_skip() accepts and ends where wire_name_read() does, or fails. */
static void
test_name_skip(void **state)
{
	struct pkt p = { .n = 0 };
	uint8_t out[WIRE_NAME_MAX];

	(void)state;
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	size_t com = p_name(&p, "com");
	size_t www = p_labels(&p, "www.example");
	p_ptr(&p, com);
	size_t bad = p.n;
	p_u8(&p, 0x40);			/* extended label type */
	size_t fwd = p.n;
	p_u8(&p, 0xc0);			/* pointer forwards */
	p_u8(&p, (uint8_t)(fwd + 2));
	size_t cut = p.n;
	p_u8(&p, 5);			/* label running past the end */
	p_u8(&p, 'a');

	size_t starts[] = { com, www, bad, fwd, cut, p.n };
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		size_t a = starts[i], b = starts[i];
		int r = wire_name_read(p.b, p.n, &a, out);
		int k = wire_name_skip(p.b, p.n, &b);
		assert_int_equal(k, r == -1 ? -1 : 0);
		assert_int_equal(b, a);
	}

	/* 255 octets is a name, 256 is not (with and without a pointer). */
	struct pkt q = { .n = 0 };
	for (int extra = 0; extra <= 1; extra++) {
		q.n = 0;
		p_hdr(&q, 0, 0, 0, 0, 0, 0);
		for (int i = 0; i < 3; i++) {
			p_u8(&q, 63);
			for (int j = 0; j < 63; j++)
				p_u8(&q, 'a');
		}
		p_u8(&q, (uint8_t)(61 + extra));
		for (int j = 0; j < 61 + extra; j++)
			p_u8(&q, 'a');
		p_u8(&q, 0);
		size_t a = WIRE_HDR_LEN, b = WIRE_HDR_LEN;
		int r = wire_name_read(q.b, q.n, &a, out);
		assert_int_equal(r, extra ? -1 : 255);
		assert_int_equal(wire_name_skip(q.b, q.n, &b), extra ? -1 : 0);
		assert_int_equal(b, a);
	}
}

static void
test_name_read_self_pointer(void **state)
{
	struct pkt p = { .n = 0 };
	uint8_t out[WIRE_NAME_MAX];

	(void)state;
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_ptr(&p, 12);
	size_t pos = 12;
	assert_int_equal(name_read_exact(p.b, p.n, &pos, out), -1);
	assert_int_equal(pos, 12);
	/* Labels, then a pointer back to their own start. */
	p.n = 12;
	p_labels(&p, "x");
	p_ptr(&p, 12);
	pos = 12;
	assert_int_equal(name_read_exact(p.b, p.n, &pos, out), -1);
	assert_int_equal(pos, 12);
	pos = 14;
	assert_int_equal(name_read_exact(p.b, p.n, &pos, out), -1);
	assert_int_equal(pos, 14);
}

static void
test_name_read_mutual_pointers(void **state)
{
	struct pkt p = { .n = 0 };
	uint8_t out[WIRE_NAME_MAX];

	(void)state;
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_ptr(&p, 14);
	p_ptr(&p, 12);
	for (size_t start = 12; start <= 14; start += 2) {
		size_t pos = start;
		assert_int_equal(name_read_exact(p.b, p.n, &pos, out), -1);
		assert_int_equal(pos, start);
	}
	/*
	 * Every pointer below is backwards from where it sits, yet following
	 * them would loop: 20 -> 12, labels up to 16 -> 14, labels up to 16...
	 */
	p.n = 12;
	p_u8(&p, 1);
	p_u8(&p, 'a');
	p_u8(&p, 1);
	p_u8(&p, 'b');
	p_ptr(&p, 14);
	p_u16(&p, 0);
	p_ptr(&p, 12);
	size_t pos = 20;
	assert_int_equal(name_read_exact(p.b, p.n, &pos, out), -1);
	assert_int_equal(pos, 20);
}

static void
test_name_read_forward_pointer(void **state)
{
	struct pkt p = { .n = 0 };
	uint8_t out[WIRE_NAME_MAX];

	(void)state;
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	p_ptr(&p, 14);
	p_name(&p, "ok");
	size_t pos = 12;
	assert_int_equal(name_read_exact(p.b, p.n, &pos, out), -1);
	assert_int_equal(pos, 12);
	/* Beyond the message entirely. */
	p.n = 12;
	p_u16(&p, 0xffff);
	pos = 12;
	assert_int_equal(name_read_exact(p.b, p.n, &pos, out), -1);
}

static void
test_name_read_label_types(void **state)
{
	struct pkt p = { .n = 0 };
	uint8_t out[WIRE_NAME_MAX];
	static const uint8_t bad[] = { 0x40, 0x41, 0x7f, 0x80, 0x81, 0xbf };

	(void)state;
	for (size_t i = 0; i < sizeof(bad); i++) {
		p_hdr(&p, 0, 0, 0, 0, 0, 0);
		p_u8(&p, bad[i]);
		for (int j = 0; j < 0x80; j++)
			p_u8(&p, 'a');
		p_u8(&p, 0);
		size_t pos = 12;
		assert_int_equal(name_read_exact(p.b, p.n, &pos, out), -1);
		assert_int_equal(pos, 12);
	}
}

static void
test_name_read_too_long(void **state)
{
	struct pkt p = { .n = 0 };
	uint8_t out[WIRE_NAME_MAX];
	char l63[64], l61[62];

	(void)state;
	memset(l63, 'a', 63);
	l63[63] = '\0';
	memset(l61, 'b', 61);
	l61[61] = '\0';
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	char s[256];
	snprintf(s, sizeof(s), "%s.%s.%s", l63, l63, l63);
	size_t base = p_name(&p, s);		/* 193 octets */
	size_t ok = p_labels(&p, l61);	/* 62 + 193 = 255 */
	p_ptr(&p, base);
	size_t bad = p_labels(&p, l63);	/* 64 + 193 = 257 */
	p_ptr(&p, base);
	size_t pos = ok;
	assert_int_equal(name_read_exact(p.b, p.n, &pos, out), 255);
	pos = bad;
	assert_int_equal(name_read_exact(p.b, p.n, &pos, out), -1);
	assert_int_equal(pos, bad);
	/* Plain, no compression: 4 * 64 + 1. */
	p.n = 12;
	for (int i = 0; i < 4; i++)
		p_labels(&p, l63);
	p_u8(&p, 0);
	pos = 12;
	assert_int_equal(name_read_exact(p.b, p.n, &pos, out), -1);
}

static void
test_name_read_truncated(void **state)
{
	struct pkt p = { .n = 0 };
	uint8_t out[WIRE_NAME_MAX];

	(void)state;
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	size_t ex = p_name(&p, "example.com");
	size_t start = p_labels(&p, "www");
	p_ptr(&p, ex);
	for (size_t n = start; n < p.n; n++) {
		size_t pos = start;
		assert_int_equal(name_read_exact(p.b, n, &pos, out), -1);
		assert_int_equal(pos, start);
	}
	size_t pos = start;
	assert_int_equal(name_read_exact(p.b, p.n, &pos, out), 17);
	/* The first name truncated too. */
	for (size_t n = ex; n < start; n++) {
		pos = ex;
		assert_int_equal(name_read_exact(p.b, n, &pos, out), -1);
	}
}

static void
test_name_read_hops(void **state)
{
	struct pkt p = { .n = 0 };
	uint8_t out[WIRE_NAME_MAX];
	size_t at[130];

	(void)state;
	p_hdr(&p, 0, 0, 0, 0, 0, 0);
	at[0] = p.n;
	p_u8(&p, 0);
	p_u8(&p, 0);	/* keep pointers at even offsets, irrelevant */
	for (int i = 1; i < 130; i++) {
		at[i] = p.n;
		p_ptr(&p, at[i - 1]);
	}
	size_t pos = at[127];
	assert_int_equal(name_read_exact(p.b, p.n, &pos, out), 1);
	assert_int_equal(pos, at[127] + 2);
	pos = at[128];
	assert_int_equal(name_read_exact(p.b, p.n, &pos, out), -1);
	assert_int_equal(pos, at[128]);
}

/* ---- header and queries ---- */

static void
test_hdr_read(void **state)
{
	static const uint8_t h[12] = { 1, 2, 0x81, 0x80, 0, 1, 0, 2, 0, 3, 0, 4 };
	struct wire_hdr hd;

	(void)state;
	assert_int_equal(wire_hdr_read(h, 11, &hd), -1);
	assert_int_equal(wire_hdr_read(h, 12, &hd), 0);
	assert_int_equal(hd.id, 0x0102);
	assert_int_equal(hd.flags, 0x8180);
	assert_int_equal(hd.qdcount, 1);
	assert_int_equal(hd.ancount, 2);
	assert_int_equal(hd.nscount, 3);
	assert_int_equal(hd.arcount, 4);
	assert_int_equal(WIRE_OPCODE(0x7800), 15);
	assert_int_equal(WIRE_RCODE(0x8183), 3);
}

static void
test_query_ok(void **state)
{
	struct pkt p;
	struct wire_query q;
	uint8_t want[WIRE_NAME_MAX];

	(void)state;
	p_query(&p, WIRE_RD, "WWW.Example.com", TYPE_AAAA, false);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_OK);
	assert_int_equal(q.hdr.id, 0xbeef);
	assert_int_equal(q.hdr.flags, WIRE_RD);
	assert_int_equal(q.qname_len, 17);
	from_str("WWW.Example.com", want);
	assert_memory_equal(q.qname, want, 17);
	from_str("www.example.com", want);
	assert_memory_equal(q.lname, want, 17);
	assert_int_equal(q.qtype, TYPE_AAAA);
	assert_int_equal(q.qclass, CLASS_IN);
	assert_int_equal(q.question_end, p.n);
	assert_false(q.edns.present);
	assert_null(q.edns.cookie);

	/* Root name, odd class, AD and CD set: all fine. */
	p_query(&p, WIRE_AD | WIRE_CD, ".", TYPE_NS, false);
	p.b[p.n - 1] = 3;	/* class CH */
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_OK);
	assert_int_equal(q.qname_len, 1);
	assert_int_equal(q.qclass, 3);
}

static void
test_query_edns(void **state)
{
	struct pkt p;
	struct wire_query q;
	uint8_t rd[64];
	size_t n = 0;

	(void)state;
	/* Padding, then a client cookie, then another option. */
	rd[n++] = 0; rd[n++] = EDNS_OPT_PADDING; rd[n++] = 0; rd[n++] = 3;
	n += 3;
	rd[n++] = 0; rd[n++] = EDNS_OPT_COOKIE; rd[n++] = 0; rd[n++] = 8;
	size_t ck = n;
	memcpy(rd + n, "12345678", 8);
	n += 8;
	rd[n++] = 0xff; rd[n++] = 0xfe; rd[n++] = 0; rd[n++] = 0;

	p_hdr(&p, 7, 0, 1, 0, 0, 1);
	p_name(&p, "a.example");
	p_u16(&p, TYPE_A);
	p_u16(&p, CLASS_IN);
	size_t qend = p.n;
	p_opt(&p, 1400, 0x00008000 | 0x12, rd, (uint16_t)n);
	size_t rdoff = p.n - n;
	assert_int_equal(wire_query_parse(p.b, p.n, &q), WIRE_OK);
	assert_int_equal(q.question_end, qend);
	assert_true(q.edns.present);
	assert_int_equal(q.edns.udp_size, 1400);
	assert_int_equal(q.edns.version, 0);
	assert_int_equal(q.edns.ext_rcode, 0);
	assert_int_equal(q.edns.flags, EDNS_DO | 0x12);
	assert_ptr_equal(q.edns.cookie, p.b + rdoff + ck);
	assert_int_equal(q.edns.cookie_len, 8);

	/* Client + server cookie (8 + 16), udp size below 512 kept as is. */
	n = 0;
	rd[n++] = 0; rd[n++] = EDNS_OPT_COOKIE; rd[n++] = 0; rd[n++] = 24;
	memset(rd + n, 'c', 24);
	n += 24;
	p_query(&p, 0, "a.example", TYPE_A, false);
	p.b[11] = 1;
	p_opt(&p, 100, 0, rd, (uint16_t)n);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_OK);
	assert_int_equal(q.edns.udp_size, 100);
	assert_int_equal(q.edns.flags, 0);
	assert_ptr_equal(q.edns.cookie, p.b + p.n - 24);
	assert_int_equal(q.edns.cookie_len, 24);
}

static void
test_query_short(void **state)
{
	struct pkt p;
	struct wire_query q;

	(void)state;
	p_query(&p, 0, "example.com", TYPE_A, true);
	for (size_t n = 0; n < WIRE_HDR_LEN; n++) {
		assert_int_equal(parse_exact(p.b, n, &q), WIRE_DROP);
		assert_int_equal(q.question_end, 0);
	}
	/* A bare header saying qdcount 1: the question is missing. */
	assert_int_equal(parse_exact(p.b, WIRE_HDR_LEN, &q), WIRE_FORMERR);
	assert_int_equal(q.hdr.id, 0xbeef);
	assert_int_equal(q.question_end, 0);
	/* Every truncation of a full query is FORMERR. */
	for (size_t n = WIRE_HDR_LEN; n < p.n; n++)
		assert_int_equal(parse_exact(p.b, n, &q), WIRE_FORMERR);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_OK);
}

static void
test_query_qr_dropped(void **state)
{
	struct pkt p;
	struct wire_query q;

	(void)state;
	p_query(&p, WIRE_QR | WIRE_RD, "example.com", TYPE_A, false);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_DROP);
	/* Even a broken response is dropped, not answered. */
	p_hdr(&p, 1, WIRE_QR, 5, 5, 5, 5);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_DROP);
}

static void
test_query_qdcount(void **state)
{
	struct pkt p;
	struct wire_query q;

	(void)state;
	p_hdr(&p, 1, 0, 0, 0, 0, 0);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
	assert_int_equal(q.question_end, 0);

	p_hdr(&p, 1, 0, 2, 0, 0, 0);
	p_name(&p, "a.example");
	p_u16(&p, TYPE_A);
	p_u16(&p, CLASS_IN);
	p_name(&p, "b.example");
	p_u16(&p, TYPE_A);
	p_u16(&p, CLASS_IN);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
	assert_int_equal(q.question_end, 0);

	/* qdcount 0 with an OPT: FORMERR, but the OPT is known. */
	p_hdr(&p, 1, 0, 0, 0, 0, 1);
	p_opt(&p, 1232, 0, NULL, 0);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
	assert_true(q.edns.present);
}

static void
test_query_notimp(void **state)
{
	struct pkt p;
	struct wire_query q;
	uint8_t want[WIRE_NAME_MAX];

	(void)state;
	p_query(&p, 2 << 11 | WIRE_RD, "Example.com", TYPE_A, true);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_NOTIMP);
	assert_int_equal(WIRE_OPCODE(q.hdr.flags), 2);
	assert_int_equal(q.question_end, p.n - 11);
	int n = from_str("Example.com", want);
	assert_int_equal(q.qname_len, n);
	assert_memory_equal(q.qname, want, (size_t)n);
	assert_true(q.edns.present);

	/* NOTIFY-like with other sections, UPDATE without a question. */
	p_query(&p, 4 << 11 | WIRE_AA, "example.com", TYPE_SOA, false);
	p.b[7] = 1;	/* ancount */
	p_ptr(&p, 12);
	p_u16(&p, TYPE_SOA);
	p_u16(&p, CLASS_IN);
	p_u32(&p, 0);
	p_u16(&p, 0);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_NOTIMP);
	assert_int_not_equal(q.question_end, 0);

	p_hdr(&p, 1, 5 << 11, 0, 0, 0, 0);
	p_u8(&p, 0xff);	/* garbage too */
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_NOTIMP);
	assert_int_equal(q.question_end, 0);

	/* A broken question under another opcode: NOTIMP, nothing echoed. */
	p_hdr(&p, 1, 1 << 11, 1, 0, 0, 0);
	p_u8(&p, 5);
	p_u8(&p, 'a');
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_NOTIMP);
	assert_int_equal(q.question_end, 0);
}

static void
test_query_tc(void **state)
{
	struct pkt p;
	struct wire_query q;

	(void)state;
	/* TC means nothing in a query (RFC 1035 4.1.1 speaks of messages
	 * truncated in transit): answered, as BIND and Unbound do. */
	p_query(&p, WIRE_TC | WIRE_RD, "example.com", TYPE_A, false);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_OK);
	assert_int_equal(q.question_end, p.n);
}

/* The meta classes ANY and NONE and the reserved class 0 cannot be asked
 * for in a question: FORMERR, as BIND 9.18 answers.  CH and HS are real
 * classes, left to the server to refuse. */
static void
test_query_meta_class(void **state)
{
	static const uint16_t bad[] = { 0, 254, 255 }, good[] = { 3, 4, 2 };
	struct pkt p;
	struct wire_query q;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		p_query(&p, WIRE_RD, "example.com", TYPE_A, false);
		p.b[p.n - 1] = (uint8_t)bad[i];
		p.b[p.n - 2] = (uint8_t)(bad[i] >> 8);
		assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
		assert_int_equal(q.qclass, bad[i]);
		assert_int_equal(q.question_end, p.n);	/* echoed */
		p.b[p.n - 1] = (uint8_t)good[i];
		p.b[p.n - 2] = 0;
		assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_OK);
		assert_int_equal(q.qclass, good[i]);
	}
}

static void
test_query_answer_authority(void **state)
{
	struct pkt p;
	struct wire_query q;

	(void)state;
	for (int sect = 0; sect < 2; sect++) {
		p_query(&p, 0, "example.com", TYPE_A, false);
		p.b[sect ? 9 : 7] = 1;
		p_ptr(&p, 12);
		p_u16(&p, TYPE_A);
		p_u16(&p, CLASS_IN);
		p_u32(&p, 60);
		p_u16(&p, 4);
		p_u32(&p, 0x7f000001);
		assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
		assert_int_not_equal(q.question_end, 0);
	}
	/* The OPT that follows is still found for the reply. */
	p.b[11] = 1;
	p_opt(&p, 1232, 0, NULL, 0);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
	assert_true(q.edns.present);
}

static void
test_query_opt_twice(void **state)
{
	struct pkt p;
	struct wire_query q;

	(void)state;
	p_query(&p, 0, "example.com", TYPE_A, true);
	p.b[11] = 2;
	p_opt(&p, 512, 0, NULL, 0);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
	assert_true(q.edns.present);
	assert_int_equal(q.edns.udp_size, 4096);	/* the first one */
}

static void
test_query_opt_in_answer(void **state)
{
	struct pkt p;
	struct wire_query q;

	(void)state;
	for (int sect = 0; sect < 2; sect++) {
		p_query(&p, 0, "example.com", TYPE_A, false);
		p.b[sect ? 9 : 7] = 1;
		p_opt(&p, 4096, 0, NULL, 0);
		assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
		assert_false(q.edns.present);
	}
}

static void
test_query_opt_owner(void **state)
{
	struct pkt p;
	struct wire_query q;

	(void)state;
	p_query(&p, 0, "example.com", TYPE_A, false);
	p.b[11] = 1;
	p_ptr(&p, 12);		/* owner example.com */
	p_u16(&p, TYPE_OPT);
	p_u16(&p, 4096);
	p_u32(&p, 0);
	p_u16(&p, 0);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
}

static void
test_query_badvers(void **state)
{
	struct pkt p;
	struct wire_query q;

	(void)state;
	p_query(&p, WIRE_RD, "example.com", TYPE_A, false);
	p.b[11] = 1;
	p_opt(&p, 1232, 1u << 16 | EDNS_DO, NULL, 0);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_BADVERS);
	assert_true(q.edns.present);
	assert_int_equal(q.edns.version, 1);
	assert_int_equal(q.edns.flags, EDNS_DO);
	assert_int_not_equal(q.question_end, 0);

	/* FORMERR wins over BADVERS. */
	p_u8(&p, 0);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
}

static void
test_query_trailing(void **state)
{
	struct pkt p;
	struct wire_query q;

	(void)state;
	p_query(&p, 0, "example.com", TYPE_A, false);
	p_u8(&p, 0);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
	assert_int_equal(q.question_end, p.n - 1);

	p_query(&p, 0, "example.com", TYPE_A, true);
	p_u16(&p, 0xdead);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);

	/* Fewer records than arcount says. */
	p_query(&p, 0, "example.com", TYPE_A, true);
	p.b[11] = 2;
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
}

static void
test_query_tsig_skipped(void **state)
{
	struct pkt p;
	struct wire_query q;

	(void)state;
	p_query(&p, 0, "example.com", TYPE_A, true);
	p.b[11] = 2;
	p_name(&p, "key.example");
	p_u16(&p, 250);		/* TSIG */
	p_u16(&p, CLASS_ANY);
	p_u32(&p, 0);
	p_u16(&p, 5);
	p_bytes(&p, "abcde", 5);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_OK);
	assert_true(q.edns.present);
	/* RDATA running past the end. */
	p.b[p.n - 6] = 6;
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
	/* A bad owner. */
	p_query(&p, 0, "example.com", TYPE_A, false);
	p.b[11] = 1;
	p_ptr(&p, p.n);
	p_u16(&p, 250);
	p_u16(&p, CLASS_ANY);
	p_u32(&p, 0);
	p_u16(&p, 0);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
}

static void
test_query_edns_bad_options(void **state)
{
	struct pkt p;
	struct wire_query q;
	static const struct {
		uint8_t rd[16];
		uint16_t len;
	} bad[] = {
		{ { 0 }, 1 },				/* half an option code */
		{ { 0, 12, 0 }, 3 },			/* half a length */
		{ { 0, 12, 0, 1 }, 4 },		/* data missing */
		{ { 0, 12, 0, 0, 0, 12, 0, 5, 1, 2, 3, 4 }, 12 },
		{ { 0, 10, 0, 5, 1, 2, 3, 4, 5 }, 9 },	/* cookie too short */
		{ { 0, 10, 0, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 14 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p_query(&p, 0, "example.com", TYPE_A, false);
		p.b[11] = 1;
		p_opt(&p, 1232, 0, bad[i].rd, bad[i].len);
		assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
		assert_true(q.edns.present);	/* so the reply carries OPT */
		assert_null(q.edns.cookie);
	}
	/* An option length beyond the OPT's RDATA but inside the message. */
	p_query(&p, 0, "example.com", TYPE_A, false);
	p.b[11] = 1;
	static const uint8_t rd[] = { 0, 12, 0, 4 };
	p_opt(&p, 1232, 0, rd, 4);
	p_u32(&p, 0);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);

	/* Cookie lengths: 8 and 16..40 are well-formed, 41 is not. */
	uint8_t ck[4 + 41];
	ck[0] = 0;
	ck[1] = EDNS_OPT_COOKIE;
	ck[2] = 0;
	memset(ck + 4, 'k', 41);
	for (int l = 0; l <= 41; l++) {
		ck[3] = (uint8_t)l;
		p_query(&p, 0, "example.com", TYPE_A, false);
		p.b[11] = 1;
		p_opt(&p, 1232, 0, ck, (uint16_t)(4 + l));
		bool good = l == 8 || (l >= 16 && l <= 40);
		assert_int_equal(parse_exact(p.b, p.n, &q),
		    good ? WIRE_OK : WIRE_FORMERR);
		if (good)
			assert_int_equal(q.edns.cookie_len, l);
	}
}

static void
test_query_bad_qname(void **state)
{
	struct pkt p;
	struct wire_query q;

	(void)state;
	p_hdr(&p, 1, 0, 1, 0, 0, 0);
	p_u8(&p, 0x40);
	p_u8(&p, 0);
	p_u16(&p, TYPE_A);
	p_u16(&p, CLASS_IN);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
	assert_int_equal(q.question_end, 0);

	p_hdr(&p, 1, 0, 1, 0, 0, 0);
	p_ptr(&p, 12);
	p_u16(&p, TYPE_A);
	p_u16(&p, CLASS_IN);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
	assert_int_equal(q.question_end, 0);
}

/* ---- resource records ---- */

/* A response: question example.com, then CNAME, MX and SOA compressed. */
struct resp {
	struct pkt p;
	size_t qname, rr_cname, rr_mx, rr_soa, end;
};

static void
rr_head(struct pkt *p, size_t owner, uint16_t type, uint16_t rdlen)
{
	p_ptr(p, owner);
	p_u16(p, type);
	p_u16(p, CLASS_IN);
	p_u32(p, 3600);
	p_u16(p, rdlen);
}

static void
build_resp(struct resp *r)
{
	struct pkt *p = &r->p;

	p_hdr(p, 0x4242, WIRE_QR | WIRE_RD | WIRE_RA, 1, 2, 1, 0);
	r->qname = p_name(p, "Example.com");
	p_u16(p, TYPE_MX);
	p_u16(p, CLASS_IN);
	r->rr_cname = p->n;
	rr_head(p, r->qname, TYPE_CNAME, 6);
	p_labels(p, "www");
	p_ptr(p, r->qname);
	r->rr_mx = p->n;
	rr_head(p, r->qname, TYPE_MX, 2 + 5 + 2);
	p_u16(p, 10);
	p_labels(p, "mail");
	p_ptr(p, r->qname);
	r->rr_soa = p->n;
	rr_head(p, r->qname, TYPE_SOA, 5 + 13 + 20);
	p_labels(p, "ns");
	p_ptr(p, r->qname);
	p_labels(p, "hostmaster");
	p_ptr(p, r->qname);
	for (uint32_t i = 1; i <= 5; i++)
		p_u32(p, i);
	r->end = p->n;
}

static void
test_rr_read(void **state)
{
	struct resp r;
	struct wire_rr rr;
	uint8_t want[WIRE_NAME_MAX];

	(void)state;
	build_resp(&r);
	size_t pos = r.rr_cname;
	assert_int_equal(wire_rr_read(r.p.b, r.p.n, &pos, &rr), 0);
	assert_int_equal(pos, r.rr_mx);
	int n = from_str("Example.com", want);
	assert_int_equal(rr.owner_len, n);
	assert_memory_equal(rr.owner, want, (size_t)n);
	assert_int_equal(rr.type, TYPE_CNAME);
	assert_int_equal(rr.rclass, CLASS_IN);
	assert_int_equal(rr.ttl, 3600);
	assert_int_equal(rr.rdlen, 6);
	assert_int_equal(rr.rdata_off, r.rr_cname + 12);
	assert_int_equal(wire_rr_read(r.p.b, r.p.n, &pos, &rr), 0);
	assert_int_equal(rr.type, TYPE_MX);
	assert_int_equal(wire_rr_read(r.p.b, r.p.n, &pos, &rr), 0);
	assert_int_equal(rr.type, TYPE_SOA);
	assert_int_equal(pos, r.end);
	assert_int_equal(wire_rr_read(r.p.b, r.p.n, &pos, &rr), -1);
	assert_int_equal(pos, r.end);
}

static void
test_rr_read_bounds(void **state)
{
	struct resp r;
	struct wire_rr rr;

	(void)state;
	build_resp(&r);
	/* Every truncation of the last RR fails and leaves *pos alone. */
	for (size_t n = r.rr_soa; n < r.end; n++) {
		uint8_t *c = malloc(n);
		memcpy(c, r.p.b, n);
		size_t pos = r.rr_soa;
		assert_int_equal(wire_rr_read(c, n, &pos, &rr), -1);
		assert_int_equal(pos, r.rr_soa);
		free(c);
	}
	/* RDLEN one past the end. */
	r.p.b[r.rr_soa + 11] += 1;
	size_t pos = r.rr_soa;
	assert_int_equal(wire_rr_read(r.p.b, r.p.n, &pos, &rr), -1);
	/* Empty RDATA at the very end is fine. */
	struct pkt p;
	p_hdr(&p, 0, WIRE_QR, 0, 1, 0, 0);
	p_u8(&p, 0);
	p_u16(&p, TYPE_A);
	p_u16(&p, CLASS_IN);
	p_u32(&p, 0xffffffff);
	p_u16(&p, 0);
	pos = 12;
	assert_int_equal(wire_rr_read(p.b, p.n, &pos, &rr), 0);
	assert_int_equal(rr.ttl, 0xffffffff);
	assert_int_equal(rr.rdlen, 0);
	assert_int_equal(rr.rdata_off, p.n);
	assert_int_equal(pos, p.n);
}

static int
expand_at(const struct pkt *p, size_t at, uint8_t *out, size_t outmax)
{
	struct wire_rr rr;
	size_t pos = at;

	assert_int_equal(wire_rr_read(p->b, p->n, &pos, &rr), 0);
	return wire_rdata_expand(p->b, p->n, &rr, out, outmax);
}

static void
test_rdata_expand_cname_mx_soa(void **state)
{
	struct resp r;
	uint8_t out[1024], want[1024];
	size_t n;

	(void)state;
	build_resp(&r);
	n = (size_t)from_str("www.Example.com", want);
	assert_int_equal(expand_at(&r.p, r.rr_cname, out, sizeof(out)), (int)n);
	assert_memory_equal(out, want, n);

	want[0] = 0;
	want[1] = 10;
	n = 2 + (size_t)from_str("mail.Example.com", want + 2);
	assert_int_equal(expand_at(&r.p, r.rr_mx, out, sizeof(out)), (int)n);
	assert_memory_equal(out, want, n);

	n = (size_t)from_str("ns.Example.com", want);
	n += (size_t)from_str("hostmaster.Example.com", want + n);
	for (uint8_t i = 1; i <= 5; i++) {
		memcpy(want + n, "\0\0\0", 3);
		want[n + 3] = i;
		n += 4;
	}
	assert_int_equal(expand_at(&r.p, r.rr_soa, out, sizeof(out)), (int)n);
	assert_memory_equal(out, want, n);
	/* Exactly enough room, then one short. */
	assert_int_equal(expand_at(&r.p, r.rr_soa, out, n), (int)n);
	assert_int_equal(expand_at(&r.p, r.rr_soa, out, n - 1), -1);
	assert_int_equal(expand_at(&r.p, r.rr_soa, out, 3), -1);
}

static void
test_rdata_expand_other_types(void **state)
{
	struct pkt p;
	uint8_t out[1024], want[1024];
	size_t n, at[5];

	(void)state;
	p_hdr(&p, 0, WIRE_QR, 0, 5, 0, 0);
	size_t zone = p_name(&p, "example.org");
	p_u16(&p, 0);	/* not a real question: just padding */
	/* SRV 1 2 53 ns.example.org */
	at[0] = p.n;
	rr_head(&p, zone, TYPE_SRV, 6 + 5);
	p_u16(&p, 1); p_u16(&p, 2); p_u16(&p, 53);
	p_labels(&p, "ns");
	p_ptr(&p, zone);
	/* NAPTR 100 10 "u" "E2U+sip" "!^.*$!sip:x@y!" . */
	at[1] = p.n;
	rr_head(&p, zone, 35, 4 + 2 + 8 + 15 + 2);
	p_u16(&p, 100); p_u16(&p, 10);
	p_bytes(&p, "\001u", 2);
	p_bytes(&p, "\007E2U+sip", 8);
	p_bytes(&p, "\016!^.*$!sip:x@y!", 15);
	p_ptr(&p, zone);
	/* RP mbox.example.org txt.example.org */
	at[2] = p.n;
	rr_head(&p, zone, 17, 7 + 6);
	p_labels(&p, "mbox");
	p_ptr(&p, zone);
	p_labels(&p, "txt");
	p_ptr(&p, zone);
	/* PX 5 example.org map.example.org */
	at[3] = p.n;
	rr_head(&p, zone, 26, 2 + 2 + 6);
	p_u16(&p, 5);
	p_ptr(&p, zone);
	p_labels(&p, "map");
	p_ptr(&p, zone);
	/* A TXT is copied verbatim, even when it looks like a pointer. */
	at[4] = p.n;
	rr_head(&p, zone, TYPE_TXT, 3);
	p_bytes(&p, "\002\300\014", 3);

	n = 6;
	memcpy(want, "\0\001\0\002\0\065", 6);
	n += (size_t)from_str("ns.example.org", want + n);
	assert_int_equal(expand_at(&p, at[0], out, sizeof(out)), (int)n);
	assert_memory_equal(out, want, n);

	memcpy(want, "\0\144\0\012\001u\007E2U+sip\016!^.*$!sip:x@y!", 29);
	n = 29 + (size_t)from_str("example.org", want + 29);
	assert_int_equal(expand_at(&p, at[1], out, sizeof(out)), (int)n);
	assert_memory_equal(out, want, n);

	n = (size_t)from_str("mbox.example.org", want);
	n += (size_t)from_str("txt.example.org", want + n);
	assert_int_equal(expand_at(&p, at[2], out, sizeof(out)), (int)n);
	assert_memory_equal(out, want, n);

	memcpy(want, "\0\005", 2);
	n = 2 + (size_t)from_str("example.org", want + 2);
	n += (size_t)from_str("map.example.org", want + n);
	assert_int_equal(expand_at(&p, at[3], out, sizeof(out)), (int)n);
	assert_memory_equal(out, want, n);

	assert_int_equal(expand_at(&p, at[4], out, sizeof(out)), 3);
	assert_memory_equal(out, "\002\300\014", 3);
	assert_int_equal(expand_at(&p, at[4], out, 2), -1);
}

static void
test_rdata_expand_malformed(void **state)
{
	struct pkt p;
	uint8_t out[1024];
	struct wire_rr rr;

	(void)state;
	p_hdr(&p, 0, WIRE_QR, 0, 1, 0, 0);
	size_t zone = p_name(&p, "example.net");
	/* A CNAME with a spare octet after its name. */
	size_t a = p.n;
	rr_head(&p, zone, TYPE_CNAME, 3);
	p_ptr(&p, zone);
	p_u8(&p, 0);
	/* A CNAME whose name runs past RDLEN into the next RR. */
	size_t b = p.n;
	rr_head(&p, zone, TYPE_CNAME, 2);
	p_labels(&p, "x");
	p_ptr(&p, zone);
	/* An MX with only its preference. */
	size_t c = p.n;
	rr_head(&p, zone, TYPE_MX, 2);
	p_u16(&p, 10);
	/* A SOA one octet short. */
	size_t d = p.n;
	rr_head(&p, zone, TYPE_SOA, 2 + 2 + 19);
	p_ptr(&p, zone);
	p_ptr(&p, zone);
	for (int i = 0; i < 19; i++)
		p_u8(&p, 0);
	/* A NAPTR whose character-string runs past RDLEN. */
	size_t e = p.n;
	rr_head(&p, zone, 35, 4 + 2);
	p_u32(&p, 0);
	p_u8(&p, 3);
	p_u8(&p, 'a');
	/* An NS with a forward pointer. */
	size_t f = p.n;
	rr_head(&p, zone, TYPE_NS, 2);
	p_ptr(&p, f + 12);
	/* Empty RDATA for a name type. */
	size_t g = p.n;
	rr_head(&p, zone, TYPE_PTR, 0);
	p_u8(&p, 0);	/* a root label after it, outside the RDATA */

	size_t bad[] = { a, b, c, d, e, f, g };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(expand_at(&p, bad[i], out, sizeof(out)), -1);

	/* RDATA outside the message (a hand-made wire_rr). */
	size_t pos = a;
	assert_int_equal(wire_rr_read(p.b, p.n, &pos, &rr), 0);
	rr.rdata_off = p.n;
	rr.rdlen = 1;
	assert_int_equal(wire_rdata_expand(p.b, p.n, &rr, out, sizeof(out)), -1);
	rr.type = TYPE_A;
	assert_int_equal(wire_rdata_expand(p.b, p.n, &rr, out, sizeof(out)), -1);
}

/* ---- writer ---- */

static void
test_buf_overflow(void **state)
{
	uint8_t mem[8];
	struct wire_buf b;

	(void)state;
	memset(mem, 0xee, sizeof(mem));
	wire_buf_init(&b, mem, 5);
	wire_put_u32(&b, 0x01020304);
	assert_false(b.overflow);
	wire_put_u16(&b, 0x0506);
	assert_true(b.overflow);
	assert_int_equal(b.len, 4);
	wire_put_u8(&b, 7);		/* would fit, but nothing more is written */
	assert_int_equal(b.len, 4);
	assert_memory_equal(mem, "\001\002\003\004\356\356", 6);

	wire_buf_init(&b, mem, 3);
	wire_put_bytes(&b, "abcd", 4);
	assert_true(b.overflow);
	assert_int_equal(b.len, 0);
	wire_buf_init(&b, mem, 3);
	wire_put_bytes(&b, NULL, 0);
	wire_put_bytes(&b, "abc", 3);
	assert_false(b.overflow);
	wire_put_bytes(&b, NULL, 0);
	assert_false(b.overflow);
	wire_put_u8(&b, 1);
	assert_true(b.overflow);

	struct wire_hdr h = { 1, 2, 3, 4, 5, 6 };
	wire_buf_init(&b, mem, 8);
	wire_put_hdr(&b, &h);
	assert_true(b.overflow);
	assert_int_equal(b.len, 0);
}

static void
test_buf_rollback(void **state)
{
	uint8_t mem[64], n1[WIRE_NAME_MAX], n2[WIRE_NAME_MAX];
	struct wire_buf b;

	(void)state;
	from_str("a.example", n1);
	from_str("b.example", n2);
	wire_buf_init(&b, mem, 40);
	wire_put_u16(&b, 0);
	wire_put_name(&b, n1, true);
	size_t len1 = b.len;
	int nc1 = b.ncomp;
	assert_int_equal(nc1, 2);
	struct wire_mark m = wire_buf_mark(&b);
	wire_put_name(&b, n2, true);	/* "b" + pointer: 4 octets, 1 target */
	assert_int_equal(b.ncomp, 3);
	for (int i = 0; i < 10; i++)
		wire_put_u32(&b, 0);
	assert_true(b.overflow);
	wire_buf_rollback(&b, m);
	assert_false(b.overflow);
	assert_int_equal(b.len, len1);
	assert_int_equal(b.ncomp, nc1);
	/* Usable again; the rolled-back target is not pointed at. */
	wire_put_name(&b, n2, true);
	assert_int_equal(b.len, len1 + 4);
	size_t pos = len1;
	uint8_t out[WIRE_NAME_MAX];
	assert_int_equal(wire_name_read(mem, b.len, &pos, out), 11);
	assert_memory_equal(out, n2, 11);
}

/* The question of wire_put_reply_head() is a target only once a name
 * wants it, and again after a rollback to before that. */
static void
test_reply_head(void **state)
{
	uint8_t mem[128], q[WIRE_NAME_MAX], n[WIRE_NAME_MAX];
	struct wire_buf b;
	int ql;

	(void)state;
	ql = from_str("WWW.Example.com", q);
	wire_buf_init(&b, mem, sizeof(mem));
	wire_put_reply_head(&b, 0xbeef, q, (size_t)ql, TYPE_A, CLASS_IN);
	assert_false(b.overflow);
	assert_int_equal(b.len, 12 + ql + 4);
	assert_memory_equal(mem, "\276\357\0\0\0\1\0\0\0\0\0\0", 12);
	assert_memory_equal(mem + 12, q, (size_t)ql);
	assert_memory_equal(mem + 12 + ql, "\0\1\0\1", 4);
	assert_int_equal(b.ncomp, 0);

	/* An RR owned by the question points at it. */
	wire_put_rr_at(&b, 12, TYPE_A, CLASS_IN, 300, (const uint8_t *)"\12\0\0\1", 4);
	assert_memory_equal(mem + 12 + ql + 4,
	    "\300\014\0\1\0\1\0\0\1\054\0\4\12\0\0\1", 16);
	assert_int_equal(b.ncomp, 0);

	struct wire_mark m = wire_buf_mark(&b);
	size_t at = b.len;
	from_str("mail.example.COM", n);
	wire_put_name(&b, n, true);	/* "mail" + pointer to "Example" at 16 */
	assert_int_equal(b.len, at + 5 + 2);
	assert_memory_equal(mem + at, "\004mail\300\020", 7);
	assert_true(b.ncomp >= 3);
	wire_buf_rollback(&b, m);
	assert_int_equal(b.ncomp, 0);
	assert_int_equal(b.len, at);
	from_str("com", n);
	wire_put_name(&b, n, true);	/* "com" of the question, at 24 */
	assert_memory_equal(mem + at, "\300\030", 2);

	/* No room: overflow, nothing written. */
	wire_buf_init(&b, mem, 12 + (size_t)ql + 3);
	wire_put_reply_head(&b, 1, q, (size_t)ql, TYPE_A, CLASS_IN);
	assert_true(b.overflow);
	assert_int_equal(b.len, 0);
	wire_buf_init(&b, mem, sizeof(mem));
	wire_put_rr_at(&b, 12, TYPE_A, CLASS_IN, 1, (const uint8_t *)"", 0);
	b.cap = b.len + 11;
	wire_put_rr_at(&b, 12, TYPE_A, CLASS_IN, 1, (const uint8_t *)"", 0);
	assert_true(b.overflow);
	assert_int_equal(b.len, 12);
}

static void
test_put_name_compress(void **state)
{
	uint8_t mem[256], n[WIRE_NAME_MAX];
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b, mem, sizeof(mem));
	wire_put_u8(&b, 0xaa);
	from_str("www.example.com", n);
	wire_put_name(&b, n, true);		/* at 1: www 1, example 5, com 13 */
	from_str("mail.example.com", n);
	wire_put_name(&b, n, true);		/* at 18 */
	from_str("example.com", n);
	wire_put_name(&b, n, true);		/* at 25 */
	from_str("com", n);
	wire_put_name(&b, n, true);		/* at 27 */
	from_str("org", n);
	wire_put_name(&b, n, true);		/* at 29 */
	wire_put_name(&b, (const uint8_t *)"", true);	/* at 34 */
	static const uint8_t want[] =
	    "\252\003www\007example\003com\000"
	    "\004mail\300\005"
	    "\300\005"
	    "\300\015"
	    "\003org\000"
	    "\000";
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(mem, want, b.len);
	assert_false(b.overflow);

	/* Names written with a pointer are targets too, with all their labels:
	 * mail.example.com (at 18) is three. */
	size_t at = b.len;
	from_str("x.MAIL.Example.com", n);
	wire_put_name(&b, n, true);
	from_str("Mail.Example.Com", n);
	wire_put_name(&b, n, true);
	static const uint8_t more[] = "\001x\300\022" "\300\022";
	assert_int_equal(b.len - at, sizeof(more) - 1);
	assert_memory_equal(mem + at, more, b.len - at);
}

static void
test_put_name_case_insensitive(void **state)
{
	uint8_t mem[256], n[WIRE_NAME_MAX], out[WIRE_NAME_MAX];
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b, mem, sizeof(mem));
	from_str("WWW.Example.COM", n);
	wire_put_name(&b, n, true);
	from_str("www.example.com", n);
	wire_put_name(&b, n, true);
	from_str("ftp.EXAMPLE.com", n);
	wire_put_name(&b, n, true);
	assert_int_equal(b.len, 17 + 2 + 6);
	assert_memory_equal(mem + 17, "\300\000\003ftp\300\004", 8);
	/* Case of the target is what a reader sees. */
	size_t pos = 19;
	assert_int_equal(wire_name_read(mem, b.len, &pos, out), 17);
	assert_memory_equal(out, "\003ftp\007Example\003COM\000", 17);
}

static void
test_put_name_nested(void **state)
{
	static const char *names[] = {
		"c", "b.c", "a.b.c", "x.b.c", "y.x.b.c", "z.y.x.b.c",
		"q.a.b.c", "d", "e.d", "b.c.d", "z.y.x.b.c",
	};
	uint8_t mem[512], n[WIRE_NAME_MAX], out[WIRE_NAME_MAX];
	size_t at[sizeof(names) / sizeof(names[0]) + 1];
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b, mem, sizeof(mem));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		at[i] = b.len;
		from_str(names[i], n);
		wire_put_name(&b, n, true);
	}
	at[sizeof(names) / sizeof(names[0])] = b.len;
	/* Each name after the first costs one label plus a pointer. */
	for (size_t i = 1; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t cost = at[i + 1] - at[i];
		if (i == 7)
			assert_int_equal(cost, 3);	/* "d": new */
		else if (i == 10)
			assert_int_equal(cost, 2);	/* repeat: one pointer */
		else if (i == 9)
			assert_int_equal(cost, 6);	/* "b.c" + ptr to d */
		else
			assert_int_equal(cost, 4);
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t pos = at[i];
		int len = from_str(names[i], n);
		assert_int_equal(wire_name_read(mem, b.len, &pos, out), len);
		assert_memory_equal(out, n, (size_t)len);
		assert_int_equal(pos, at[i + 1]);
	}
}

static void
test_put_name_longest_suffix(void **state)
{
	uint8_t mem[256], n[WIRE_NAME_MAX];
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b, mem, sizeof(mem));
	from_str("x.com", n);
	wire_put_name(&b, n, true);		/* com at 2 */
	from_str("y.example.com", n);
	wire_put_name(&b, n, true);		/* at 7: y, example at 9 */
	from_str("www.example.com", n);
	wire_put_name(&b, n, true);
	assert_memory_equal(mem + 19, "\003www\300\011", 6);
	assert_int_equal(b.len, 25);
}

static void
test_put_name_no_compress(void **state)
{
	uint8_t mem[256], n[WIRE_NAME_MAX];
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b, mem, sizeof(mem));
	from_str("example.com", n);
	wire_put_name(&b, n, true);
	from_str("www.example.com", n);
	wire_put_name(&b, n, false);		/* verbatim at 13, targets kept */
	assert_int_equal(b.len, 13 + 17);
	assert_memory_equal(mem + 13, n, 17);
	wire_put_name(&b, n, true);		/* points at the verbatim copy */
	assert_int_equal(b.len, 32);
	assert_memory_equal(mem + 30, "\300\015", 2);
}

static void
test_put_name_far_offsets(void **state)
{
	static uint8_t mem[0x4100];
	uint8_t n[WIRE_NAME_MAX];
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b, mem, sizeof(mem));
	static uint8_t pad[0x3ffe];
	wire_put_bytes(&b, pad, sizeof(pad));
	from_str("a.b", n);
	wire_put_name(&b, n, true);		/* "a" at 0x3ffe, "b" at 0x4000 */
	assert_int_equal(b.ncomp, 1);
	assert_int_equal(b.comp[0], 0x3ffe);
	from_str("b", n);
	wire_put_name(&b, n, true);		/* no target for "b": written */
	assert_int_equal(b.len, 0x3ffe + 5 + 3);
	from_str("a.b", n);
	wire_put_name(&b, n, true);		/* pointer to 0x3ffe */
	assert_memory_equal(mem + b.len - 2, "\377\376", 2);
}

static void
test_put_name_comp_max(void **state)
{
	static uint8_t mem[8192];
	uint8_t n[WIRE_NAME_MAX], out[WIRE_NAME_MAX];
	size_t at[200];
	struct wire_buf b;
	char s[32];

	(void)state;
	wire_buf_init(&b, mem, sizeof(mem));
	for (int i = 0; i < 200; i++) {
		at[i] = b.len;
		snprintf(s, sizeof(s), "h%d.z%d", i, i % 7);
		from_str(s, n);
		wire_put_name(&b, n, true);
		assert_true(b.ncomp <= WIRE_COMP_MAX);
	}
	assert_false(b.overflow);
	assert_int_equal(b.ncomp, WIRE_COMP_MAX);
	for (int i = 0; i < 200; i++) {
		size_t pos = at[i];
		snprintf(s, sizeof(s), "h%d.z%d", i, i % 7);
		int len = from_str(s, n);
		assert_int_equal(wire_name_read(mem, b.len, &pos, out), len);
		assert_memory_equal(out, n, (size_t)len);
	}
}

static void
test_put_name_overflow(void **state)
{
	uint8_t mem[32], n[WIRE_NAME_MAX];
	struct wire_buf b;

	(void)state;
	from_str("example.com", n);
	wire_buf_init(&b, mem, 12);
	wire_put_name(&b, n, true);
	assert_true(b.overflow);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.ncomp, 0);
	wire_buf_init(&b, mem, 13);
	wire_put_name(&b, n, true);
	assert_false(b.overflow);
	assert_int_equal(b.len, 13);
	/* Room for the pointer but not for the new label. */
	from_str("www.example.com", n);
	wire_buf_init(&b, mem, 18);
	from_str("example.com", n);
	wire_put_name(&b, n, true);
	from_str("www.example.com", n);
	wire_put_name(&b, n, true);
	assert_true(b.overflow);
	assert_int_equal(b.len, 13);
	assert_int_equal(b.ncomp, 2);
	/* An invalid name is refused as an overflow. */
	wire_buf_init(&b, mem, sizeof(mem));
	wire_put_name(&b, (const uint8_t *)"\100", true);
	assert_true(b.overflow);
	assert_int_equal(b.len, 0);
}

static void
test_put_rr(void **state)
{
	uint8_t mem[128], n[WIRE_NAME_MAX];
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b, mem, sizeof(mem));
	from_str("ex", n);
	wire_put_rr(&b, n, TYPE_A, CLASS_IN, 0x01020304,
	    (const uint8_t *)"\177\000\000\001", 4);
	wire_put_rr(&b, n, TYPE_TXT, CLASS_IN, 7, (const uint8_t *)"\001x", 2);
	static const uint8_t want[] =
	    "\002ex\000" "\000\001\000\001\001\002\003\004\000\004\177\000\000\001"
	    "\300\000" "\000\020\000\001\000\000\000\007\000\002\001x";
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(mem, want, b.len);
	/* Too small: overflow, the caller rolls back. */
	wire_buf_init(&b, mem, 16);
	wire_put_rr(&b, n, TYPE_A, CLASS_IN, 1, (const uint8_t *)"abcd", 4);
	assert_true(b.overflow);
}

static void
test_put_opt(void **state)
{
	uint8_t mem[64];
	struct wire_buf b;

	(void)state;
	wire_buf_init(&b, mem, sizeof(mem));
	wire_put_opt(&b, 1232, 0, false, -1);
	assert_int_equal(b.len, 11);
	assert_memory_equal(mem, "\000\000\051\004\320\000\000\000\000\000\000", 11);

	wire_buf_init(&b, mem, sizeof(mem));
	wire_put_opt(&b, 4096, 1, true, 22);
	assert_int_equal(b.len, 17);
	assert_memory_equal(mem, "\000\000\051\020\000\001\000\200\000\000\006"
	    "\000\017\000\002\000\026", 17);

	wire_buf_init(&b, mem, 16);
	wire_put_opt(&b, 4096, 0, false, 0);
	assert_true(b.overflow);
}

static void
test_count_set(void **state)
{
	uint8_t mem[32];
	struct wire_buf b;
	struct wire_hdr h = { 0 };

	(void)state;
	wire_buf_init(&b, mem, sizeof(mem));
	h.ancount = 0x00ff;
	h.arcount = 0xffff;
	wire_put_hdr(&b, &h);
	wire_count_inc(&b, WIRE_OFF_QD);
	wire_count_inc(&b, WIRE_OFF_AN);
	wire_count_inc(&b, WIRE_OFF_NS);
	wire_count_inc(&b, WIRE_OFF_NS);
	wire_count_inc(&b, WIRE_OFF_AR);
	struct wire_hdr r;
	assert_int_equal(wire_hdr_read(mem, b.len, &r), 0);
	assert_int_equal(r.qdcount, 1);
	assert_int_equal(r.ancount, 0x100);
	assert_int_equal(r.nscount, 2);
	assert_int_equal(r.arcount, 0);	/* wraps, as 16 bits do */

	wire_set_u16(&b, 0, 0xabcd);
	assert_memory_equal(mem, "\253\315", 2);
	/* Past the written data: ignored. */
	mem[12] = mem[13] = 0x11;
	wire_set_u16(&b, 11, 0x2222);
	wire_set_u16(&b, 12, 0x2222);
	wire_count_inc(&b, 11);
	assert_int_equal(mem[11], 0);
	assert_int_equal(mem[12], 0x11);
	assert_int_equal(b.len, 12);
	assert_false(b.overflow);
}

static void
test_error_reply_plain(void **state)
{
	struct pkt p;
	struct wire_query q;
	uint8_t mem[512];
	struct wire_buf b;

	(void)state;
	/* No question, no OPT: a bare header. */
	p_hdr(&p, 0x1234, WIRE_RD | WIRE_CD, 0, 0, 0, 0);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
	wire_buf_init(&b, mem, sizeof(mem));
	wire_put_u32(&b, 0xffffffff);	/* whatever was there is replaced */
	wire_error_reply(&b, &q, RCODE_FORMERR, 5);
	assert_false(b.overflow);
	assert_int_equal(b.len, 12);
	/* RA clear: nothing was resolved (BIND 9.18 sets it on none of its
	 * error replies but SERVFAIL); RD echoed, as BIND does. */
	assert_memory_equal(mem, "\022\064\201\001\0\0\0\0\0\0\0\0", 12);
}

static void
test_error_reply_question_edns(void **state)
{
	struct pkt p;
	struct wire_query q;
	uint8_t mem[512];
	struct wire_buf b;

	(void)state;
	p_query(&p, WIRE_RD | WIRE_CD, "Example.com", TYPE_A, false);
	p.b[11] = 1;
	p_opt(&p, 4096, EDNS_DO, NULL, 0);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_OK);
	wire_buf_init(&b, mem, sizeof(mem));
	wire_error_reply(&b, &q, RCODE_SERVFAIL, 22);
	static const uint8_t want[] =
	    "\276\357\201\202\000\001\000\000\000\000\000\001"
	    "\007Example\003com\000\000\001\000\001"
	    "\000\000\051\004\320\000\000\200\000\000\006"
	    "\000\017\000\002\000\026";
	assert_false(b.overflow);
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(mem, want, b.len);

	/* Without EDE, and DO clear. */
	q.edns.flags = 0;
	wire_error_reply(&b, &q, RCODE_REFUSED, -1);
	assert_int_equal(b.len, 12 + 17 + 11);
	assert_memory_equal(mem + 2, "\201\005", 2);
	assert_memory_equal(mem + 29, "\000\000\051\004\320\000\000\000\000\000\000", 11);
}

static void
test_error_reply_badvers(void **state)
{
	struct pkt p;
	struct wire_query q;
	uint8_t mem[512];
	struct wire_buf b;

	(void)state;
	p_query(&p, 0, "a", TYPE_TXT, false);
	p.b[11] = 1;
	p_opt(&p, 512, 3u << 16 | EDNS_DO, NULL, 0);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_BADVERS);
	wire_buf_init(&b, mem, sizeof(mem));
	wire_error_reply(&b, &q, RCODE_BADVERS, -1);
	static const uint8_t want[] =
	    "\276\357\200\000\000\001\000\000\000\000\000\001"
	    "\001a\000\000\020\000\001"
	    "\000\000\051\004\320\001\000\200\000\000\000";
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(mem, want, b.len);
	/* The reply parses back as a response with extended rcode 16. */
	struct wire_hdr h;
	struct wire_rr rr;
	assert_int_equal(wire_hdr_read(mem, b.len, &h), 0);
	size_t pos = 12 + 7;
	assert_int_equal(wire_rr_read(mem, b.len, &pos, &rr), 0);
	assert_int_equal(rr.type, TYPE_OPT);
	assert_int_equal((rr.ttl >> 24) << 4 | WIRE_RCODE(h.flags), 16);
	assert_int_equal(pos, b.len);
}

static void
test_error_reply_notimp(void **state)
{
	struct pkt p;
	struct wire_query q;
	uint8_t mem[512];
	struct wire_buf b;

	(void)state;
	p_query(&p, 2 << 11 | WIRE_RD, "x.Example", TYPE_A, false);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_NOTIMP);
	wire_buf_init(&b, mem, sizeof(mem));
	wire_error_reply(&b, &q, RCODE_NOTIMP, 0);	/* no OPT: no EDE */
	/* The opcode echoed, RD and RA not (BIND 9.18: "QR" and the opcode). */
	static const uint8_t want[] =
	    "\276\357\220\004\000\001\000\000\000\000\000\000"
	    "\001x\007Example\000\000\001\000\001";
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(mem, want, b.len);

	/* Too small a buffer overflows rather than truncating silently. */
	wire_buf_init(&b, mem, 20);
	wire_error_reply(&b, &q, RCODE_NOTIMP, -1);
	assert_true(b.overflow);
}

/* RFC 7873 5.4: a query with no question and a COOKIE option asks for a
 * server cookie; without the option it is still FORMERR. */
static void
test_query_cookie_only(void **state)
{
	static const uint8_t ck[] = { 0, EDNS_OPT_COOKIE, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	struct pkt p;
	struct wire_query q;

	(void)state;
	p_hdr(&p, 1, WIRE_RD, 0, 0, 0, 1);
	p_opt(&p, 1232, 0, ck, sizeof(ck));
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_COOKIE);
	assert_int_equal(q.question_end, 0);
	assert_int_equal(q.edns.cookie_len, 8);
	/* Version 1: BADVERS first. */
	p_hdr(&p, 1, 0, 0, 0, 0, 1);
	p_opt(&p, 1232, 1u << 16, ck, sizeof(ck));
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_BADVERS);
	/* Other sections, or another opcode: not a cookie query. */
	p_hdr(&p, 1, 0, 0, 0, 0, 1);
	p_opt(&p, 1232, 0, ck, sizeof(ck));
	p.b[7] = 1;
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_FORMERR);
	p_hdr(&p, 1, 2 << 11, 0, 0, 0, 1);
	p_opt(&p, 1232, 0, ck, sizeof(ck));
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_NOTIMP);
}

/* The server cookie a query was given goes in every OPT we send it, after
 * any EDE; the room for it is counted. */
static void
test_reply_cookie(void **state)
{
	static const uint8_t ck[] = { 0, EDNS_OPT_COOKIE, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	struct pkt p;
	struct wire_query q;
	uint8_t mem[512];
	struct wire_buf b;

	(void)state;
	p_hdr(&p, 1, 0, 0, 0, 0, 1);
	p_opt(&p, 1232, 0, ck, sizeof(ck));
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_COOKIE);
	assert_int_equal(wire_reply_opt_len(&q), 11);
	for (int i = 0; i < 24; i++)
		q.cookie_reply[i] = (uint8_t)(0xa0 + i);
	q.cookie_reply_len = 24;
	assert_int_equal(wire_reply_opt_len(&q), 11 + 28);
	wire_buf_init(&b, mem, sizeof(mem));
	wire_error_reply(&b, &q, 23 /* BADCOOKIE */, 1);
	assert_int_equal(b.len, 12 + 11 + 6 + 28);
	/* Header rcode 7, extended rcode 1: 23. */
	assert_memory_equal(mem + 2, "\200\007\000\000\000\000\000\000\000\001", 10);
	assert_memory_equal(mem + 12, "\000\000\051\004\320\001\000\000\000\000\042"
	    "\000\017\000\002\000\001\000\012\000\030", 21);
	assert_memory_equal(mem + 33, q.cookie_reply, 24);
}

/* ---- robustness ---- */

static void
build_fuzz_seeds(struct pkt *seeds, int *nseeds)
{
	struct pkt *p;
	int n = 0;

	p = &seeds[n++];
	p_query(p, WIRE_RD, "www.example.com", TYPE_A, true);

	p = &seeds[n++];
	static const uint8_t ck[] = { 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,
	    0, 12, 0, 2, 0, 0 };
	p_query(p, WIRE_RD | WIRE_CD, "a.b.c.d.e.f", TYPE_AAAA, false);
	p->b[11] = 2;
	p_opt(p, 1232, EDNS_DO, ck, sizeof(ck));
	p_labels(p, "key");
	p_ptr(p, 12 + 2);
	p_u16(p, 250);
	p_u16(p, CLASS_ANY);
	p_u32(p, 0);
	p_u16(p, 4);
	p_u32(p, 0x01020304);

	struct resp r;
	build_resp(&r);
	seeds[n++] = r.p;

	p = &seeds[n++];
	p_query(p, 0, "\\000.x", TYPE_ANY, false);
	*nseeds = n;
}

static void
mutate(uint8_t *d, size_t *n, size_t cap)
{
	int rounds = 1 + (int)(rng() % 4);

	for (int i = 0; i < rounds; i++) {
		uint32_t r = rng();
		size_t at = *n ? rng() % *n : 0;
		switch (r % 8) {
		case 0:
			if (*n)
				d[at] = (uint8_t)rng();
			break;
		case 1:
			if (*n)
				d[at] ^= (uint8_t)(1u << (rng() % 8));
			break;
		case 2:
			if (*n)
				d[at] = (uint8_t)(0xc0 | (rng() % 2));
			if (at + 1 < *n)
				d[at + 1] = (uint8_t)(rng() % (*n + 8));
			break;
		case 3:
			*n = *n ? rng() % *n : 0;
			break;
		case 4:
			if (*n < cap)
				d[(*n)++] = (uint8_t)rng();
			break;
		case 5:
			if (*n >= 12)
				d[4 + rng() % 8] = (uint8_t)(rng() % 4);
			break;
		case 6:
			if (*n)
				d[at] = (uint8_t)(rng() % 64);
			break;
		default:
			if (*n > 2 && *n + 8 <= cap) {
				size_t len = 1 + rng() % 8;
				if (at + len > *n)
					len = *n - at;
				memmove(d + at + len, d + at, *n - at);
				*n += len;
			}
			break;
		}
	}
}

static void
check_query(const uint8_t *d, size_t n)
{
	struct wire_query q;
	uint8_t *c = malloc(n ? n : 1);
	uint8_t mem[512], low[WIRE_NAME_MAX];
	struct wire_buf b;

	assert_non_null(c);
	memcpy(c, d, n);
	enum wire_verdict v = wire_query_parse(c, n, &q);
	if (q.question_end != 0) {
		assert_true(q.question_end <= n);
		assert_int_equal(wire_name_len(q.qname, WIRE_NAME_MAX), q.qname_len);
		wire_name_lower(low, q.qname, (size_t)q.qname_len);
		assert_memory_equal(low, q.lname, (size_t)q.qname_len);
	}
	if (q.edns.cookie != NULL) {
		assert_true(q.edns.cookie >= c && q.edns.cookie + q.edns.cookie_len <= c + n);
		volatile uint8_t sink = 0;
		for (uint16_t i = 0; i < q.edns.cookie_len; i++)
			sink ^= q.edns.cookie[i];
		(void)sink;
	}
	if (v != WIRE_DROP) {
		wire_buf_init(&b, mem, sizeof(mem));
		wire_error_reply(&b, &q, v == WIRE_BADVERS ? RCODE_BADVERS :
		    RCODE_FORMERR, 0);
		assert_false(b.overflow);
		struct wire_query back;
		/* The reply is a response: a server must drop it. */
		assert_int_equal(wire_query_parse(mem, b.len, &back), WIRE_DROP);
	}
	if (v == WIRE_OK)
		assert_int_not_equal(q.question_end, 0);
	free(c);
}

static void
check_rrs(const uint8_t *d, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	uint8_t name[WIRE_NAME_MAX], out[2048];
	struct wire_rr rr;

	assert_non_null(c);
	memcpy(c, d, n);
	size_t pos = 12;
	if (n >= 12 && wire_name_read(c, n, &pos, name) > 0 && n - pos >= 4) {
		pos += 4;
		for (int i = 0; i < 64; i++) {
			size_t before = pos;
			if (wire_rr_read(c, n, &pos, &rr) == -1) {
				assert_int_equal(pos, before);
				break;
			}
			assert_true(pos > before && pos <= n);
			assert_true(rr.rdata_off + rr.rdlen == pos);
			size_t outmax = rng() % 2 ? sizeof(out) : rng() % 64;
			int e = wire_rdata_expand(c, n, &rr, out, outmax);
			assert_true(e >= -1 && e <= (int)outmax);
		}
	}
	free(c);
}

static void
test_fuzz_query_parse(void **state)
{
	struct pkt seeds[8];
	int nseeds;
	static uint8_t d[1024];

	(void)state;
	build_fuzz_seeds(seeds, &nseeds);
	rng_state = 0x9e3779b97f4a7c15ull;
	for (int it = 0; it < 200000; it++) {
		size_t n;
		if (it % 10 == 0) {
			n = rng() % 64;
			for (size_t i = 0; i < n; i++)
				d[i] = (uint8_t)rng();
			if (n > 2)
				d[2] &= 0x7f;	/* mostly queries */
		} else {
			const struct pkt *s = &seeds[rng() % (uint32_t)nseeds];
			memcpy(d, s->b, s->n);
			n = s->n;
			mutate(d, &n, sizeof(d));
		}
		check_query(d, n);
	}
}

static void
test_fuzz_rr_read(void **state)
{
	struct pkt seeds[8];
	int nseeds;
	static uint8_t d[1024];

	(void)state;
	build_fuzz_seeds(seeds, &nseeds);
	rng_state = 0x0123456789abcdefull;
	for (int it = 0; it < 200000; it++) {
		const struct pkt *s = &seeds[rng() % (uint32_t)nseeds];
		memcpy(d, s->b, s->n);
		size_t n = s->n;
		mutate(d, &n, sizeof(d));
		check_rrs(d, n);
	}
}

static void
test_fuzz_names(void **state)
{
	uint8_t w[WIRE_NAME_MAX], back[WIRE_NAME_MAX], mem[600];
	char s[1024];
	struct wire_buf b;

	(void)state;
	rng_state = 42;
	for (int it = 0; it < 20000; it++) {
		/* A random valid wire name. */
		size_t o = 0;
		int target = (int)(rng() % 255) + 1;
		while ((int)o + 2 < target) {
			size_t l = 1 + rng() % 63;
			if ((int)(o + 1 + l + 1) > target)
				l = (size_t)target - o - 2;
			w[o++] = (uint8_t)l;
			for (size_t i = 0; i < l; i++)
				w[o++] = (uint8_t)(rng() % 4 ? 'a' + rng() % 3 : rng());
		}
		w[o++] = 0;
		assert_int_equal(wire_name_len(w, WIRE_NAME_MAX), (int)o);
		int sn = wire_name_to_str(w, s, sizeof(s));
		assert_int_equal(sn, (int)strlen(s));
		const char *err = NULL;
		assert_int_equal(wire_name_from_str(s, back, &err), (int)o);
		assert_memory_equal(w, back, o);
		/* Written twice compressed, read back twice. */
		wire_buf_init(&b, mem, sizeof(mem));
		wire_put_u8(&b, 0);
		wire_put_name(&b, w, true);
		size_t second = b.len;
		wire_put_name(&b, back, true);
		assert_false(b.overflow);
		size_t pos = second;
		assert_int_equal(wire_name_read(mem, b.len, &pos, back), (int)o);
		assert_true(wire_name_equal(w, back));
		assert_int_equal(pos, b.len);
		/* Arbitrary strings never overrun: just check they terminate. */
		size_t sl = rng() % 40;
		for (size_t i = 0; i < sl; i++)
			s[i] = "ab.\\09"[rng() % 6];
		s[sl] = '\0';
		err = NULL;
		int r = wire_name_from_str(s, back, &err);
		if (r == -1)
			assert_non_null(err);
		else
			assert_int_equal(wire_name_len(back, WIRE_NAME_MAX), r);
	}
}

/* ---- the message iterator ---- */

/* What a walk over a heap copy of exactly N octets saw (ASan sees any read
 * past the end): the RRs, the last return, whether it ended cleanly. */
struct walk {
	struct wire_iter_rr rr[16];
	uint8_t owner[16][WIRE_NAME_MAX];
	bool owner_root[16];
	int n, last;
	bool end;
	struct wire_opt opt;
	bool init_failed;
};

static void
walk_exact(const uint8_t *d, size_t len, struct walk *w)
{
	uint8_t *c = malloc(len ? len : 1);
	struct wire_iter it;
	int r;

	memset(w, 0, sizeof(*w));
	assert_non_null(c);
	memcpy(c, d, len);
	if (wire_iter_init(&it, c, len) == -1) {
		w->init_failed = true;
		free(c);
		return;
	}
	while (w->n < 16 && (r = wire_iter_next(&it, &w->rr[w->n])) == 1) {
		assert_int_not_equal(wire_iter_owner(&it, &w->rr[w->n], w->owner[w->n]), -1);
		w->owner_root[w->n] = wire_iter_owner_root(&it, &w->rr[w->n]);
		w->n++;
	}
	w->last = r;
	/* A walk that stopped stays stopped. */
	if (r == -1)
		assert_int_equal(wire_iter_next(&it, &w->rr[0]), -1);
	w->end = wire_iter_end(&it);
	/* The walk that expands owners as it goes sees the same RRs and
	 * owners, and stops where the other stopped. */
	assert_int_equal(wire_iter_init(&it, c, len), 0);
	for (int i = 0; i <= w->n && i < 16; i++) {
		struct wire_iter_rr rr;
		uint8_t owner[WIRE_NAME_MAX];
		int olen = -1;

		r = wire_iter_next_owner(&it, &rr, owner, &olen);
		if (i == w->n) {
			assert_int_equal(r, w->last);
			break;
		}
		assert_int_equal(r, 1);
		assert_int_equal(rr.off, w->rr[i].off);
		assert_int_equal(rr.end, w->rr[i].end);
		assert_int_equal(rr.type, w->rr[i].type);
		assert_int_equal(rr.section, w->rr[i].section);
		assert_true(olen > 0);
		assert_memory_equal(owner, w->owner[i], (size_t)olen);
	}
	assert_int_equal(wire_iter_init(&it, c, len), 0);
	wire_iter_opt(&it, &w->opt);
	free(c);
}

/* A response: example.com A, an answer with a compressed owner, an
 * authority NS, an additional OPT. */
static void
p_response(struct pkt *p)
{
	p_hdr(p, 0x1234, WIRE_QR | WIRE_RD, 1, 1, 1, 1);
	p_name(p, "example.com");
	p_u16(p, TYPE_A);
	p_u16(p, CLASS_IN);
	p_ptr(p, 12);
	p_u16(p, TYPE_A);
	p_u16(p, CLASS_IN);
	p_u32(p, 300);
	p_u16(p, 4);
	p_bytes(p, "\300\000\002\001", 4);
	p_ptr(p, 12);
	p_u16(p, TYPE_NS);
	p_u16(p, CLASS_IN);
	p_u32(p, 3600);
	p_u16(p, 2);
	p_ptr(p, 12);
	p_opt(p, 1232, 0x00008000, NULL, 0);
}

static void
test_iter_walk(void **state)
{
	struct pkt p;
	struct walk w;
	uint8_t name[WIRE_NAME_MAX];

	(void)state;
	p_response(&p);
	walk_exact(p.b, p.n, &w);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.last, 0);
	assert_true(w.end);
	assert_int_equal(w.rr[0].section, WIRE_SEC_ANSWER);
	assert_int_equal(w.rr[1].section, WIRE_SEC_AUTHORITY);
	assert_int_equal(w.rr[2].section, WIRE_SEC_ADDITIONAL);
	assert_int_equal(w.rr[0].off, 12 + 13 + 4);
	assert_int_equal(w.rr[0].type, TYPE_A);
	assert_int_equal(w.rr[0].rclass, CLASS_IN);
	assert_int_equal(w.rr[0].ttl, 300);
	assert_int_equal(w.rr[0].rdlen, 4);
	assert_int_equal(w.rr[0].rdata_off, w.rr[0].off + 12);
	assert_memory_equal(p.b + w.rr[0].rdata_off, "\300\000\002\001", 4);
	assert_int_equal(w.rr[1].off, w.rr[0].end);
	assert_int_equal(w.rr[2].end, p.n);
	for (int i = 0; i < 3; i++)
		assert_int_equal(w.rr[i].index, i);
	from_str("example.com", name);
	assert_memory_equal(w.owner[0], name, 13);
	assert_false(w.owner_root[0]);
	assert_true(w.owner_root[2]);
	assert_true(w.opt.found);
	assert_false(w.opt.bad);
	assert_true(w.opt.complete);
	assert_int_equal(w.opt.rr.off, w.rr[2].off);
	assert_int_equal(w.opt.rr.rclass, 1232);

	/* The question, read on its own, then the RRs after it. */
	struct wire_iter it;
	struct wire_iter_q q;
	struct wire_iter_rr rr;
	struct wire_rr full;
	assert_int_equal(wire_iter_init(&it, p.b, p.n), 0);
	assert_int_equal(it.hdr.id, 0x1234);
	assert_int_equal(wire_iter_question(&it, &q, name), 1);
	assert_int_equal(q.off, 12);
	assert_int_equal(q.name_len, 13);
	assert_int_equal(q.qtype, TYPE_A);
	assert_int_equal(q.qclass, CLASS_IN);
	assert_int_equal(wire_iter_question(&it, &q, NULL), 0);
	assert_int_equal(wire_iter_find(&it, TYPE_NS, &rr), 1);
	assert_int_equal(rr.index, 1);
	assert_int_equal(wire_iter_rr_read(&it, &rr, &full), 0);
	assert_int_equal(full.type, TYPE_NS);
	assert_int_equal(full.owner_len, 13);
	assert_int_equal(full.rdata_off, rr.rdata_off);
	assert_int_equal(wire_iter_find(&it, TYPE_NS, &rr), 0);
	assert_true(wire_iter_end(&it));

	/* Shorter than a header: no walk. */
	walk_exact(p.b, 11, &w);
	assert_true(w.init_failed);
}

static void
test_iter_truncated(void **state)
{
	struct pkt p;
	struct walk w;

	(void)state;
	p_response(&p);
	/* Every cut inside the records stops the walk at the RR it cuts. */
	for (size_t cut = 12 + 17; cut < p.n; cut++) {
		walk_exact(p.b, cut, &w);
		assert_int_equal(w.last, -1);
		assert_false(w.end);
		assert_false(w.opt.complete);
		assert_false(w.opt.found);
		assert_true(w.n < 3);
	}
	/* Cut inside the question: no RR at all. */
	for (size_t cut = 12; cut < 12 + 17; cut++) {
		walk_exact(p.b, cut, &w);
		assert_int_equal(w.n, 0);
		assert_int_equal(w.last, -1);
	}
}

static void
test_iter_rdlength_past_end(void **state)
{
	struct pkt p;
	struct walk w;

	(void)state;
	p_response(&p);
	/* The answer's RDLENGTH (4) becomes 255, past the end; so does the
	 * OPT's when its RDLENGTH becomes 1. */
	p.b[12 + 17 + 11] = 0xff;
	walk_exact(p.b, p.n, &w);
	assert_int_equal(w.n, 0);
	assert_int_equal(w.last, -1);
	p_response(&p);
	p.b[p.n - 1] = 1;
	walk_exact(p.b, p.n, &w);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.last, -1);
	assert_false(w.opt.found);
}

static void
test_iter_counts_too_large(void **state)
{
	struct pkt p;
	struct walk w;

	(void)state;
	p_response(&p);
	p.b[11] = 2;		/* two additional records, one there */
	walk_exact(p.b, p.n, &w);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.last, -1);
	assert_false(w.end);
	/* The OPT was read before the message ran out, but the walk is not
	 * complete. */
	assert_true(w.opt.found);
	assert_false(w.opt.complete);
	p_response(&p);
	p.b[4] = 0xff;		/* 65,281 questions */
	p.b[5] = 0x01;
	walk_exact(p.b, p.n, &w);
	assert_int_equal(w.n, 0);
	assert_int_equal(w.last, -1);
}

static void
test_iter_compression_loop(void **state)
{
	struct pkt p;
	struct walk w;
	size_t at;

	(void)state;
	/* An answer whose owner points at itself. */
	p_hdr(&p, 1, WIRE_QR, 0, 1, 0, 0);
	at = p.n;
	p_ptr(&p, at);
	p_u16(&p, TYPE_A);
	p_u16(&p, CLASS_IN);
	p_u32(&p, 0);
	p_u16(&p, 0);
	walk_exact(p.b, p.n, &w);
	assert_int_equal(w.n, 0);
	assert_int_equal(w.last, -1);
	/* Two labels pointing at each other: "a" -> "b" -> "a". */
	p_hdr(&p, 1, WIRE_QR, 0, 1, 0, 0);
	p_labels(&p, "a");
	p_ptr(&p, 15);
	p_labels(&p, "b");
	p_ptr(&p, 12);
	p_u16(&p, TYPE_A);
	p_u16(&p, CLASS_IN);
	p_u32(&p, 0);
	p_u16(&p, 0);
	walk_exact(p.b, p.n, &w);
	assert_int_equal(w.last, -1);
	assert_int_equal(w.n, 0);
}

static void
test_iter_opt_placement(void **state)
{
	struct pkt p;
	struct walk w;

	(void)state;
	/* In the answer or authority section: not the OPT, and wrong. */
	for (int sect = 0; sect < 2; sect++) {
		p_query(&p, WIRE_QR, "example.com", TYPE_A, false);
		p.b[sect ? 9 : 7] = 1;
		p_opt(&p, 4096, 0, NULL, 0);
		walk_exact(p.b, p.n, &w);
		assert_int_equal(w.n, 1);
		assert_int_equal(w.rr[0].section, sect ? WIRE_SEC_AUTHORITY : WIRE_SEC_ANSWER);
		assert_false(w.opt.found);
		assert_true(w.opt.bad);
		assert_true(w.opt.complete);
	}
	/* Two: the first is the OPT, the second is wrong. */
	p_query(&p, WIRE_QR, "example.com", TYPE_A, true);
	p.b[11] = 2;
	size_t second = p.n;
	p_opt(&p, 512, 0, NULL, 0);
	walk_exact(p.b, p.n, &w);
	assert_true(w.opt.found);
	assert_true(w.opt.bad);
	assert_int_equal(w.opt.rr.rclass, 4096);
	assert_int_equal(w.rr[1].off, second);
	/* Owned by another name: wrong; a pointer to the root is the root. */
	p_query(&p, WIRE_QR, "example.com", TYPE_A, false);
	p.b[11] = 1;
	p_ptr(&p, 12);
	p_u16(&p, TYPE_OPT);
	p_u16(&p, 4096);
	p_u32(&p, 0);
	p_u16(&p, 0);
	walk_exact(p.b, p.n, &w);
	assert_false(w.opt.found);
	assert_true(w.opt.bad);
	p_query(&p, WIRE_QR, "example.com", TYPE_A, false);
	p.b[11] = 1;
	p_ptr(&p, 12 + 12);	/* the root label that ends the question's name */
	p_u16(&p, TYPE_OPT);
	p_u16(&p, 4096);
	p_u32(&p, 0);
	p_u16(&p, 0);
	walk_exact(p.b, p.n, &w);
	assert_true(w.owner_root[0]);
	assert_true(w.opt.found);
	assert_false(w.opt.bad);
	/* Trailing octets: found, but not complete. */
	p_query(&p, WIRE_QR, "example.com", TYPE_A, true);
	p_u8(&p, 0);
	walk_exact(p.b, p.n, &w);
	assert_true(w.opt.found);
	assert_false(w.opt.complete);
	assert_false(w.end);
	assert_int_equal(w.last, 0);
}

static void
test_msg_edns(void **state)
{
	struct pkt p;
	struct wire_edns e;
	static const uint8_t cookie[] = { 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };

	(void)state;
	p_query(&p, 0, "example.com", TYPE_AXFR, false);
	p.b[11] = 1;
	p_opt(&p, 1400, 0x00008000, cookie, sizeof(cookie));
	assert_int_equal(wire_msg_edns(p.b, p.n, &e), 0);
	assert_true(e.present);
	assert_int_equal(e.udp_size, 1400);
	assert_int_equal(e.flags, EDNS_DO);
	assert_int_equal(e.cookie_len, 8);
	assert_ptr_equal(e.cookie, p.b + p.n - 8);
	/* Whatever follows it, even garbage. */
	p_u8(&p, 0xc0);
	assert_int_equal(wire_msg_edns(p.b, p.n, &e), 0);
	/* None, or one that cannot be reached. */
	p_query(&p, 0, "example.com", TYPE_AXFR, false);
	assert_int_equal(wire_msg_edns(p.b, p.n, &e), -1);
	assert_false(e.present);
	p_query(&p, 0, "example.com", TYPE_AXFR, true);
	assert_int_equal(wire_msg_edns(p.b, p.n - 1, &e), -1);
	/* In the answer section it is not the message's OPT. */
	p_query(&p, 0, "example.com", TYPE_AXFR, false);
	p.b[7] = 1;
	p_opt(&p, 4096, 0, NULL, 0);
	assert_int_equal(wire_msg_edns(p.b, p.n, &e), -1);
}

static void
test_add_ede(void **state)
{
	struct pkt p;
	uint8_t m[512];
	size_t n;

	(void)state;
	p_response(&p);
	memcpy(m, p.b, p.n);
	n = wire_add_ede(m, p.n, sizeof(m), 3);
	assert_int_equal(n, p.n + 6);
	assert_memory_equal(m + p.n - 2, "\000\006\000\017\000\002\000\003", 8);
	/* No room, trailing octets, a malformed message, no OPT last: the
	 * message is left as it was. */
	memcpy(m, p.b, p.n);
	assert_int_equal(wire_add_ede(m, p.n, p.n + 5, 3), p.n);
	m[p.n] = 0;
	assert_int_equal(wire_add_ede(m, p.n + 1, sizeof(m), 3), p.n + 1);
	assert_memory_equal(m, p.b, p.n);
	m[11] = 2;
	assert_int_equal(wire_add_ede(m, p.n, sizeof(m), 3), p.n);
	m[11] = 0;
	assert_int_equal(wire_add_ede(m, p.n - 11, sizeof(m), 3), p.n - 11);
	assert_int_equal(wire_add_ede(m, 11, sizeof(m), 3), 11);
}

/* An error reply written over a reply begun in the same buffer is the one
 * a fresh buffer gets: nothing of the old question stays behind. */
static void
test_error_reply_over_reply(void **state)
{
	struct pkt p;
	struct wire_query q;
	uint8_t a[512], f[512];
	struct wire_buf b, fresh;

	(void)state;
	p_query(&p, WIRE_RD, "www.example.com", TYPE_A, true);
	assert_int_equal(parse_exact(p.b, p.n, &q), WIRE_OK);
	wire_buf_init(&b, a, sizeof(a));
	wire_put_reply_head(&b, q.hdr.id, q.qname, (size_t)q.qname_len, q.qtype,
	    q.qclass);
	wire_error_reply(&b, &q, RCODE_SERVFAIL, -1);
	wire_buf_init(&fresh, f, sizeof(f));
	wire_error_reply(&fresh, &q, RCODE_SERVFAIL, -1);
	assert_false(b.overflow);
	assert_int_equal(b.len, fresh.len);
	assert_memory_equal(a, f, fresh.len);
	assert_int_equal(b.lazy, 0);
	assert_int_equal(b.ncomp, fresh.ncomp);
}

#ifndef NDEBUG
/* Runs FN on a buffer whose state is broken in a child; true when the
 * child was stopped by an assertion (SIGABRT). */
static bool
aborts(void (*fn)(struct wire_buf *))
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t mem[64];
		struct wire_buf b;
		/* No core file, and no report on stderr to read as a failure. */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(2);
		wire_buf_init(&b, mem, sizeof(mem));
		fn(&b);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void
past_cap(struct wire_buf *b)
{
	b->len = b->cap + 1;
	wire_put_u8(b, 1);
}

static void
target_past_len(struct wire_buf *b)
{
	wire_put_name(b, (const uint8_t *)"\3www\7example\3com", true);
	b->len = 3;
	(void)wire_buf_mark(b);
}

static void
lazy_past_len(struct wire_buf *b)
{
	wire_put_reply_head(b, 1, (const uint8_t *)"\3www\0", 5, TYPE_A, CLASS_IN);
	b->len = WIRE_HDR_LEN;
	(void)wire_buf_mark(b);
}

static void
sound(struct wire_buf *b)
{
	wire_put_reply_head(b, 1, (const uint8_t *)"\3www\0", 5, TYPE_A, CLASS_IN);
	wire_put_rr(b, (const uint8_t *)"\3www\0", TYPE_A, CLASS_IN, 60,
	    (const uint8_t *)"\300\0\2\1", 4);
	wire_buf_rollback(b, wire_buf_mark(b));
}

/* The writers check their buffer's state (assert): a length past the
 * memory, a compression target past the end, a question waiting to be
 * targets outside the message stop the program; a sound buffer does not. */
static void
test_buf_invariant(void **state)
{
	(void)state;
	assert_false(aborts(sound));
	assert_true(aborts(past_cap));
	assert_true(aborts(target_past_len));
	assert_true(aborts(lazy_past_len));
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_str_basic),
		cmocka_unit_test(test_from_str_root),
		cmocka_unit_test(test_from_str_escapes),
		cmocka_unit_test(test_from_str_empty_label),
		cmocka_unit_test(test_from_str_label_length),
		cmocka_unit_test(test_from_str_name_length),
		cmocka_unit_test(test_from_str_bad_escape),
		cmocka_unit_test(test_to_str),
		cmocka_unit_test(test_to_str_small_buffer),
		cmocka_unit_test(test_name_roundtrip_all_octets),
		cmocka_unit_test(test_name_len),
		cmocka_unit_test(test_name_lower_equal),
		cmocka_unit_test(test_name_fold_every_byte),
		cmocka_unit_test(test_name_under_labels_parent),
		cmocka_unit_test(test_name_read_plain),
		cmocka_unit_test(test_name_read_compressed),
		cmocka_unit_test(test_name_skip),
		cmocka_unit_test(test_name_read_self_pointer),
		cmocka_unit_test(test_name_read_mutual_pointers),
		cmocka_unit_test(test_name_read_forward_pointer),
		cmocka_unit_test(test_name_read_label_types),
		cmocka_unit_test(test_name_read_too_long),
		cmocka_unit_test(test_name_read_truncated),
		cmocka_unit_test(test_name_read_hops),
		cmocka_unit_test(test_hdr_read),
		cmocka_unit_test(test_query_ok),
		cmocka_unit_test(test_query_edns),
		cmocka_unit_test(test_query_short),
		cmocka_unit_test(test_query_qr_dropped),
		cmocka_unit_test(test_query_qdcount),
		cmocka_unit_test(test_query_notimp),
		cmocka_unit_test(test_query_tc),
		cmocka_unit_test(test_query_meta_class),
		cmocka_unit_test(test_query_cookie_only),
		cmocka_unit_test(test_reply_cookie),
		cmocka_unit_test(test_query_answer_authority),
		cmocka_unit_test(test_query_opt_twice),
		cmocka_unit_test(test_query_opt_in_answer),
		cmocka_unit_test(test_query_opt_owner),
		cmocka_unit_test(test_query_badvers),
		cmocka_unit_test(test_query_trailing),
		cmocka_unit_test(test_query_tsig_skipped),
		cmocka_unit_test(test_query_edns_bad_options),
		cmocka_unit_test(test_query_bad_qname),
		cmocka_unit_test(test_rr_read),
		cmocka_unit_test(test_rr_read_bounds),
		cmocka_unit_test(test_rdata_expand_cname_mx_soa),
		cmocka_unit_test(test_rdata_expand_other_types),
		cmocka_unit_test(test_rdata_expand_malformed),
		cmocka_unit_test(test_buf_overflow),
		cmocka_unit_test(test_buf_rollback),
		cmocka_unit_test(test_reply_head),
		cmocka_unit_test(test_put_name_compress),
		cmocka_unit_test(test_put_name_case_insensitive),
		cmocka_unit_test(test_put_name_nested),
		cmocka_unit_test(test_put_name_longest_suffix),
		cmocka_unit_test(test_put_name_no_compress),
		cmocka_unit_test(test_put_name_far_offsets),
		cmocka_unit_test(test_put_name_comp_max),
		cmocka_unit_test(test_put_name_overflow),
		cmocka_unit_test(test_put_rr),
		cmocka_unit_test(test_put_opt),
		cmocka_unit_test(test_count_set),
		cmocka_unit_test(test_error_reply_plain),
		cmocka_unit_test(test_error_reply_question_edns),
		cmocka_unit_test(test_error_reply_badvers),
		cmocka_unit_test(test_error_reply_notimp),
		cmocka_unit_test(test_fuzz_query_parse),
		cmocka_unit_test(test_fuzz_rr_read),
		cmocka_unit_test(test_fuzz_names),
		cmocka_unit_test(test_iter_walk),
		cmocka_unit_test(test_iter_truncated),
		cmocka_unit_test(test_iter_rdlength_past_end),
		cmocka_unit_test(test_iter_counts_too_large),
		cmocka_unit_test(test_iter_compression_loop),
		cmocka_unit_test(test_iter_opt_placement),
		cmocka_unit_test(test_msg_edns),
		cmocka_unit_test(test_add_ede),
		cmocka_unit_test(test_error_reply_over_reply),
#ifndef NDEBUG
		cmocka_unit_test(test_buf_invariant),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
