/*
 * Unit tests for zone transfers: xfr_serve() (AXFR, IXFR from the journal,
 * fallbacks, refusals, TSIG), the journal, TSIG against ldns's own
 * implementation both ways, NOTIFY handling by the secondary, and a
 * secondary pulling from an in-process primary (AXFR, IXFR after a NOTIFY,
 * restart from disk, expiry, wrong key).
 *
 * Each test runs in a fresh directory under /tmp.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <ldns/ldns.h>
#include <openssl/evp.h>

#include "unit_tmpdir.h"
#include "engine/answer.h"
#include "data/config.h"
#include "util/diag.h"
#include "data/records.h"
#include "data/records_load.h"
#include "data/snapshot.h"
#include "engine/tsig.h"
#include "util/util.h"
#include "wire/wire.h"
#include "xfr/xfr.h"

#define SECRET	"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="	/* 32 bytes */
#define SECRET2	"b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItb3Q="
#define SECRET_SHA1	"c2hhMS1rZXktc2hhMS1rZXk="
#define SECRET_SHA512	"c2hhNTEyLWtleS1zaGE1MTIta2V5LXNoYTUxMi1rZXktc2hhNTEyLWtleQ=="



static int
setup(void **state)
{
	(void)state;
	return tmpdir_enter("xfr");
}


static int
teardown(void **state)
{
	(void)state;
	return tmpdir_leave();
}

/* ---- data ---- */

static const char base_ini[] =
    "[server]\nlisten = 127.0.0.1:5353\n"
    "[upstream]\nservers = 192.0.2.53\n"
    "[zone \"xfr.example\"]\nfile = z.zone\nallow_transfer = 127.0.0.0/8, ::1\n"
    "[zone \"keyed.example\"]\nfile = k.zone\nallow_transfer = 127.0.0.0/8\n"
    "key = xfr-key\n"
    "[zone \"closed.example\"]\nfile = c.zone\n"
    "[key \"xfr-key\"]\nsecret = " SECRET "\n"
    "[key \"other-key\"]\nalgorithm = hmac-sha1\nsecret = " SECRET_SHA1 "\n";

#define SOA(serial) "@ 3600 IN SOA ns1 hostmaster " #serial " 3600 600 86400 60\n"

static const char zone_v1[] =
    "$ORIGIN xfr.example.\n$TTL 300\n"
    SOA(1)
    "@ 3600 IN NS ns1\n"
    "ns1 A 10.0.0.1\n"
    "www A 10.0.0.2\n"
    "www A 10.0.0.3\n"
    "mail MX 10 www\n"
    "txt TXT \"hello\"\n";

static const char zone_v2[] =
    "$ORIGIN xfr.example.\n$TTL 300\n"
    SOA(2)
    "@ 3600 IN NS ns1\n"
    "ns1 A 10.0.0.1\n"
    "www A 10.0.0.2\n"
    "new A 10.0.0.9\n"
    "mail MX 10 www\n"
    "txt 600 TXT \"hello\"\n";

static const char zone_v3[] =
    "$ORIGIN xfr.example.\n$TTL 300\n"
    SOA(3)
    "@ 3600 IN NS ns1\n"
    "ns1 A 10.0.0.1\n"
    "www A 10.0.0.2\n"
    "new A 10.0.0.9\n"
    "x3 A 10.0.0.10\n"
    "mail MX 10 www\n"
    "txt 600 TXT \"hello\"\n";

static const char keyed_zone[] =
    "$ORIGIN keyed.example.\n$TTL 300\n"
    SOA(7)
    "@ 3600 IN NS ns1\n"
    "ns1 A 10.0.0.1\n";

static const char closed_zone[] =
    "$ORIGIN closed.example.\n" SOA(1) "@ 3600 IN NS ns1\nns1 A 10.0.0.1\n";

/* A zone of N A records besides the SOA and NS. */
static char *
big_zone(const char *origin, unsigned serial, unsigned n)
{
	size_t cap = 256 + (size_t)n * 48, len = 0;
	char *s = xmalloc(cap);

	len += (size_t)snprintf(s + len, cap - len, "$ORIGIN %s.\n$TTL 300\n"
	    "@ 3600 IN SOA ns1 hostmaster %u 3600 600 86400 60\n"
	    "@ 3600 IN NS ns1\nns1 A 10.0.0.1\n", origin, serial);
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len,
		    "host-%05u A 10.%u.%u.%u\n", i, 1 + i / 65536, (i / 256) % 256,
		    i % 256);
	return s;
}

/* Loads INI (as pldns.ini) and its zone files into a snapshot. */
static struct snapshot *
load_snap(const char *ini, const struct snapshot *prev)
{
	struct diag d;
	struct config *cfg;
	struct recset rs;
	struct snapshot *s;

	write_file("pldns.ini", ini);
	diag_init(&d);
	cfg = config_load("pldns.ini", &d);
	if (cfg == NULL)
		diag_print(&d, stderr);
	assert_non_null(cfg);
	recset_init(&rs);
	if (records_load(cfg, &rs, &d) != 0)
		diag_print(&d, stderr);
	assert_int_equal(d.nerrors, 0);
	s = snapshot_new(cfg, &rs, prev, &d);
	assert_non_null(s);
	diag_clear(&d);
	return s;
}

static struct snapshot *
load_base(const char *zone, const struct snapshot *prev)
{
	write_file("z.zone", zone);
	write_file("k.zone", keyed_zone);
	write_file("c.zone", closed_zone);
	return load_snap(base_ini, prev);
}

/* ---- requests and captured replies ---- */

static size_t
make_query(uint8_t *buf, size_t cap, uint16_t id, const char *zone, uint16_t qtype,
    uint16_t qclass, long serial)
{
	struct wire_buf b;
	struct wire_hdr h;
	uint8_t name[WIRE_NAME_MAX], rd[WIRE_NAME_MAX * 2 + 20];
	const char *err;
	size_t rl = 0;

	assert_true(wire_name_from_str(zone, name, &err) > 0);
	memset(&h, 0, sizeof(h));
	h.id = id;
	h.qdcount = 1;
	h.nscount = serial >= 0 ? 1 : 0;
	wire_buf_init(&b, buf, cap);
	wire_put_hdr(&b, &h);
	wire_put_name(&b, name, true);
	wire_put_u16(&b, qtype);
	wire_put_u16(&b, qclass);
	if (serial >= 0) {
		memcpy(rd, "\003ns1\000\012hostmaster\000", 17);
		rl = 17;
		memset(rd + rl, 0, 20);
		rd[rl] = (uint8_t)((uint32_t)serial >> 24);
		rd[rl + 1] = (uint8_t)((uint32_t)serial >> 16);
		rd[rl + 2] = (uint8_t)((uint32_t)serial >> 8);
		rd[rl + 3] = (uint8_t)serial;
		wire_put_rr(&b, name, TYPE_SOA, CLASS_IN, 3600, rd, (uint16_t)(rl + 20));
	}
	assert_false(b.overflow);
	return b.len;
}

struct cap {
	uint8_t *msg[8192];
	size_t len[8192];
	size_t n;
};

static void
cap_emit(void *arg, const uint8_t *m, size_t l)
{
	struct cap *c = arg;

	assert_true(c->n < 8192);
	c->msg[c->n] = xmalloc(l);
	memcpy(c->msg[c->n], m, l);
	c->len[c->n++] = l;
}

static void
cap_free(struct cap *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->msg[i]);
	c->n = 0;
}

static struct sockaddr_storage peer_ss;

static const struct sockaddr *
peer(const char *ip)
{
	memset(&peer_ss, 0, sizeof(peer_ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&peer_ss;

		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&peer_ss;

		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return (const struct sockaddr *)&peer_ss;
}

/* Serves the request and captures the replies; returns the rcode. */
static int
serve(const struct snapshot *s, struct xfr_journal *j, const uint8_t *q, size_t ql,
    const char *ip, bool tcp, struct cap *c)
{
	memset(c, 0, sizeof(*c));
	return xfr_serve(s, j, q, ql, peer(ip), tcp, cap_emit, c);
}

/* A normalised text of an RR (as ldns prints it). */
static char *
norm(const char *line)
{
	ldns_rr *rr = NULL;
	char *s;

	assert_int_equal(ldns_rr_new_frm_str(&rr, line, 300, NULL, NULL), LDNS_STATUS_OK);
	s = ldns_rr2str(rr);
	ldns_rr_free(rr);
	return s;
}

/* Every answer RR of the captured messages, in order, as text. */
static char **
answers(const struct cap *c, size_t *n)
{
	char **v = NULL;

	*n = 0;
	for (size_t i = 0; i < c->n; i++) {
		ldns_pkt *p = NULL;
		ldns_rr_list *an;

		assert_int_equal(ldns_wire2pkt(&p, c->msg[i], c->len[i]), LDNS_STATUS_OK);
		an = ldns_pkt_answer(p);
		for (size_t k = 0; k < ldns_rr_list_rr_count(an); k++) {
			v = xreallocarray(v, *n + 1, sizeof(*v));
			v[(*n)++] = ldns_rr2str(ldns_rr_list_rr(an, k));
		}
		ldns_pkt_free(p);
	}
	return v;
}

static void
strs_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* GOT[from..to) holds exactly the records WANT (NULL terminated), in any order. */
static void
assert_set(char **got, size_t from, size_t to, const char *const *want)
{
	size_t n = 0;
	char **w;

	while (want[n] != NULL)
		n++;
	if (to - from != n) {
		for (size_t i = from; i < to; i++)
			fprintf(stderr, "got: %s", got[i]);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "want: %s\n", want[i]);
	}
	assert_int_equal(to - from, n);
	w = xcalloc(n ? n : 1, sizeof(*w));
	for (size_t i = 0; i < n; i++)
		w[i] = norm(want[i]);
	qsort(w, n, sizeof(*w), str_cmp);
	{
		char **g = xcalloc(n ? n : 1, sizeof(*g));

		memcpy(g, got + from, n * sizeof(*g));
		qsort(g, n, sizeof(*g), str_cmp);
		for (size_t i = 0; i < n; i++)
			assert_string_equal(g[i], w[i]);
		free(g);
	}
	strs_free(w, n);
}

static void
assert_soa(const char *got, unsigned serial)
{
	char line[256], *want;

	snprintf(line, sizeof(line), "xfr.example. 3600 IN SOA ns1.xfr.example. "
	    "hostmaster.xfr.example. %u 3600 600 86400 60", serial);
	want = norm(line);
	assert_string_equal(got, want);
	free(want);
}

static struct wire_hdr
hdr_of(const struct cap *c, size_t i)
{
	struct wire_hdr h;

	assert_true(i < c->n);
	assert_int_equal(wire_hdr_read(c->msg[i], c->len[i], &h), 0);
	return h;
}

#define V1_RRS \
	"xfr.example. 3600 IN NS ns1.xfr.example.", \
	"ns1.xfr.example. 300 IN A 10.0.0.1", \
	"www.xfr.example. 300 IN A 10.0.0.2", \
	"www.xfr.example. 300 IN A 10.0.0.3", \
	"mail.xfr.example. 300 IN MX 10 www.xfr.example.", \
	"txt.xfr.example. 300 IN TXT \"hello\""

/* ---- classification ---- */

static void
test_classify(void **state)
{
	uint8_t q[512];
	size_t l;

	(void)state;
	l = make_query(q, sizeof(q), 1, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	assert_int_equal(xfr_classify(q, l), XFR_TRANSFER);
	l = make_query(q, sizeof(q), 1, "xfr.example", TYPE_IXFR, CLASS_IN, 5);
	assert_int_equal(xfr_classify(q, l), XFR_TRANSFER);
	l = make_query(q, sizeof(q), 1, "xfr.example", TYPE_A, CLASS_IN, -1);
	assert_int_equal(xfr_classify(q, l), XFR_NONE);
	q[2] |= 4 << 3;		/* opcode NOTIFY */
	assert_int_equal(xfr_classify(q, l), XFR_NOTIFY);
	q[2] |= 0x80;		/* a response */
	assert_int_equal(xfr_classify(q, l), XFR_NONE);
	assert_int_equal(xfr_classify(q, 5), XFR_NONE);
	/* A signed ordinary query. */
	{
		struct tsig_key k;
		struct key_conf kc = { .name = "xfr-key", .algorithm = KEY_HMAC_SHA256,
		    .secret_bin = (uint8_t *)"0123456789abcdef", .secret_len = 16 };
		struct tsig_ctx c;

		assert_int_equal(tsig_key_init(&k, &kc), 0);
		l = make_query(q, sizeof(q), 1, "xfr.example", TYPE_SOA, CLASS_IN, -1);
		tsig_ctx_init(&c, &k);
		assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
		tsig_ctx_clear(&c);
		assert_int_equal(xfr_classify(q, l), XFR_SIGNED);
	}
}

/* A message cut short, or counting more RRs than it holds, before any
 * TSIG: not signed (the query path answers FORMERR). */
static void
test_classify_malformed(void **state)
{
	struct tsig_key k;
	struct key_conf kc = { .name = "xfr-key", .algorithm = KEY_HMAC_SHA256,
	    .secret_bin = (uint8_t *)"0123456789abcdef", .secret_len = 16 };
	struct tsig_ctx c;
	uint8_t q[512];
	size_t l;

	(void)state;
	assert_int_equal(tsig_key_init(&k, &kc), 0);
	l = make_query(q, sizeof(q), 1, "xfr.example", TYPE_SOA, CLASS_IN, -1);
	tsig_ctx_init(&c, &k);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	tsig_ctx_clear(&c);
	assert_int_equal(xfr_classify(q, l - 1), XFR_NONE);
	/* One RR more said than there is: the walk stops at the TSIG,
	 * taken here for an authority RR, before it would notice (where
	 * the TSIG may lie is for tsig_find to judge). */
	q[WIRE_OFF_NS + 1] = 1;
	assert_int_equal(xfr_classify(q, l), XFR_SIGNED);
	/* One additional RR said, none there; the question cut short. */
	l = make_query(q, sizeof(q), 1, "xfr.example", TYPE_SOA, CLASS_IN, -1);
	q[WIRE_OFF_AR + 1] = 1;
	assert_int_equal(xfr_classify(q, l), XFR_NONE);
	assert_int_equal(xfr_classify(q, l - 1), XFR_NONE);
	/* Whatever follows the question of a transfer is the transfer's. */
	l = make_query(q, sizeof(q), 1, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	q[WIRE_OFF_AR + 1] = 1;
	assert_int_equal(xfr_classify(q, l), XFR_TRANSFER);
}

/* ---- AXFR ---- */

static void
test_axfr_small(void **state)
{
	static const char *const want[] = { V1_RRS, NULL };
	struct snapshot *s = load_base(zone_v1, NULL);
	uint8_t q[512];
	size_t l, n;
	struct cap c;
	struct wire_hdr h;
	char **rr;

	(void)state;
	l = make_query(q, sizeof(q), 0x1234, "XFR.example", TYPE_AXFR, CLASS_IN, -1);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_NOERROR);
	assert_int_equal(c.n, 1);
	h = hdr_of(&c, 0);
	assert_int_equal(h.id, 0x1234);
	assert_true(h.flags & WIRE_QR);
	assert_true(h.flags & WIRE_AA);
	assert_int_equal(WIRE_RCODE(h.flags), 0);
	assert_int_equal(h.qdcount, 1);
	/* The question is echoed as asked (case preserved). */
	assert_memory_equal(c.msg[0] + 12, "\003XFR\007example", 13);
	rr = answers(&c, &n);
	assert_int_equal(n, 8);
	assert_soa(rr[0], 1);
	assert_soa(rr[n - 1], 1);
	assert_set(rr, 1, n - 1, want);
	strs_free(rr, n);
	cap_free(&c);

	/* Over IPv6 too. */
	assert_int_equal(serve(s, NULL, q, l, "::1", true, &c), RCODE_NOERROR);
	cap_free(&c);
	snapshot_unref(s);
}

static void
test_axfr_many_messages(void **state)
{
	char *zone = big_zone("xfr.example", 9, 5000);
	struct snapshot *s;
	uint8_t q[512];
	size_t l, n, total = 0;
	struct cap c;
	char **rr;

	(void)state;
	write_file("k.zone", keyed_zone);
	write_file("c.zone", closed_zone);
	write_file("z.zone", zone);
	free(zone);
	s = load_snap(base_ini, NULL);
	l = make_query(q, sizeof(q), 7, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_NOERROR);
	assert_true(c.n > 5);
	for (size_t i = 0; i < c.n; i++) {
		struct wire_hdr h = hdr_of(&c, i);

		assert_int_equal(h.id, 7);
		assert_int_equal(h.qdcount, i == 0 ? 1 : 0);
		assert_true(h.ancount > 0);
		assert_true(c.len[i] <= XFR_MSG_SIZE);
		total += h.ancount;
	}
	rr = answers(&c, &n);
	assert_int_equal(n, total);
	assert_int_equal(n, 5000 + 4);
	assert_string_equal(rr[0], rr[n - 1]);
	for (size_t i = 1; i < n - 1; i++)
		assert_null(strstr(rr[i], "SOA"));
	/* Every name exactly once. */
	qsort(rr + 1, n - 2, sizeof(*rr), str_cmp);
	for (size_t i = 2; i < n - 1; i++)
		assert_true(strcmp(rr[i - 1], rr[i]) != 0);
	strs_free(rr, n);
	cap_free(&c);
	snapshot_unref(s);
}

static void
assert_error_reply(const struct cap *c, uint16_t id, int rcode)
{
	struct wire_hdr h;

	assert_int_equal(c->n, 1);
	h = hdr_of(c, 0);
	assert_int_equal(h.id, id);
	assert_true(h.flags & WIRE_QR);
	assert_int_equal(WIRE_RCODE(h.flags), rcode);
	assert_int_equal(h.ancount, 0);
}

static void
test_refusals(void **state)
{
	struct snapshot *s = load_base(zone_v1, NULL);
	uint8_t q[512];
	size_t l;
	struct cap c;

	(void)state;
	/* Not in allow_transfer. */
	l = make_query(q, sizeof(q), 9, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	assert_int_equal(serve(s, NULL, q, l, "192.0.2.1", true, &c), RCODE_REFUSED);
	assert_error_reply(&c, 9, RCODE_REFUSED);
	cap_free(&c);
	assert_int_equal(serve(s, NULL, q, l, "::2", true, &c), RCODE_REFUSED);
	cap_free(&c);
	/* No allow_transfer at all. */
	l = make_query(q, sizeof(q), 9, "closed.example", TYPE_AXFR, CLASS_IN, -1);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_REFUSED);
	cap_free(&c);
	/* A zone with a key, asked without TSIG. */
	l = make_query(q, sizeof(q), 9, "keyed.example", TYPE_AXFR, CLASS_IN, -1);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_REFUSED);
	cap_free(&c);
	/* AXFR over UDP, class CH. */
	l = make_query(q, sizeof(q), 9, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", false, &c), RCODE_REFUSED);
	cap_free(&c);
	l = make_query(q, sizeof(q), 9, "xfr.example", TYPE_AXFR, 3, -1);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_REFUSED);
	cap_free(&c);
	/* Not a zone apex here. */
	l = make_query(q, sizeof(q), 9, "www.xfr.example", TYPE_AXFR, CLASS_IN, -1);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_NOTAUTH);
	assert_error_reply(&c, 9, RCODE_NOTAUTH);
	cap_free(&c);
	l = make_query(q, sizeof(q), 9, "elsewhere.example", TYPE_AXFR, CLASS_IN, -1);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_NOTAUTH);
	cap_free(&c);
	/* IXFR without the client's SOA; garbage after the question. */
	l = make_query(q, sizeof(q), 9, "xfr.example", TYPE_IXFR, CLASS_IN, -1);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_FORMERR);
	assert_error_reply(&c, 9, RCODE_FORMERR);
	cap_free(&c);
	l = make_query(q, sizeof(q), 9, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	q[l++] = 0;
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_FORMERR);
	cap_free(&c);
	/* The client's SOA cut short, or two said and one there. */
	l = make_query(q, sizeof(q), 9, "xfr.example", TYPE_IXFR, CLASS_IN, 5);
	assert_int_equal(serve(s, NULL, q, l - 1, "127.0.0.1", true, &c), RCODE_FORMERR);
	assert_error_reply(&c, 9, RCODE_FORMERR);
	cap_free(&c);
	q[WIRE_OFF_NS + 1] = 2;
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_FORMERR);
	cap_free(&c);
	/* An answer RR said in a request: FORMERR, even for AXFR. */
	l = make_query(q, sizeof(q), 9, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	q[WIRE_OFF_AN + 1] = 1;
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_FORMERR);
	cap_free(&c);
	snapshot_unref(s);
}

/* ---- IXFR and the journal ---- */

static void
test_ixfr_diff(void **state)
{
	static const char *const del12[] = {
		"www.xfr.example. 300 IN A 10.0.0.3",
		"txt.xfr.example. 300 IN TXT \"hello\"", NULL
	};
	static const char *const add12[] = {
		"new.xfr.example. 300 IN A 10.0.0.9",
		"txt.xfr.example. 600 IN TXT \"hello\"", NULL
	};
	static const char *const none[] = { NULL };
	static const char *const add23[] = { "x3.xfr.example. 300 IN A 10.0.0.10", NULL };
	struct xfr_journal *j = xfr_journal_new(1000);
	struct snapshot *s1 = load_base(zone_v1, NULL), *s2, *s3;
	uint8_t q[512];
	size_t l, n;
	struct cap c;
	char **rr;

	(void)state;
	xfr_journal_update(j, NULL, s1);
	assert_int_equal(xfr_journal_depth(j, "xfr.example"), 0);
	s2 = load_base(zone_v2, s1);
	xfr_journal_update(j, s1, s2);
	assert_int_equal(xfr_journal_depth(j, "xfr.example"), 1);
	assert_int_equal(xfr_journal_depth(j, "keyed.example"), 0);

	l = make_query(q, sizeof(q), 3, "xfr.example", TYPE_IXFR, CLASS_IN, 1);
	assert_int_equal(serve(s2, j, q, l, "127.0.0.1", true, &c), RCODE_NOERROR);
	assert_int_equal(c.n, 1);
	rr = answers(&c, &n);
	assert_int_equal(n, 8);
	assert_soa(rr[0], 2);
	assert_soa(rr[1], 1);
	assert_set(rr, 2, 4, del12);
	assert_soa(rr[4], 2);
	assert_set(rr, 5, 7, add12);
	assert_soa(rr[7], 2);
	strs_free(rr, n);
	cap_free(&c);

	s3 = load_base(zone_v3, s2);
	xfr_journal_update(j, s2, s3);
	assert_int_equal(xfr_journal_depth(j, "xfr.example"), 2);
	/* From 1: both differences in turn. */
	assert_int_equal(serve(s3, j, q, l, "127.0.0.1", true, &c), RCODE_NOERROR);
	rr = answers(&c, &n);
	assert_int_equal(n, 11);
	assert_soa(rr[0], 3);
	assert_soa(rr[1], 1);
	assert_set(rr, 2, 4, del12);
	assert_soa(rr[4], 2);
	assert_set(rr, 5, 7, add12);
	assert_soa(rr[7], 2);
	assert_set(rr, 8, 8, none);	/* nothing deleted from 2 to 3 */
	assert_soa(rr[8], 3);
	assert_set(rr, 9, 10, add23);
	assert_soa(rr[10], 3);
	strs_free(rr, n);
	cap_free(&c);
	/* From 2: the last one. */
	l = make_query(q, sizeof(q), 3, "xfr.example", TYPE_IXFR, CLASS_IN, 2);
	assert_int_equal(serve(s3, j, q, l, "127.0.0.1", true, &c), RCODE_NOERROR);
	rr = answers(&c, &n);
	assert_int_equal(n, 5);
	assert_soa(rr[0], 3);
	assert_soa(rr[1], 2);
	assert_soa(rr[2], 3);
	assert_set(rr, 3, 4, add23);
	assert_soa(rr[4], 3);
	strs_free(rr, n);
	cap_free(&c);

	/* A worker still on s2 while the journal reached 3: serial 1 to 2 only. */
	l = make_query(q, sizeof(q), 3, "xfr.example", TYPE_IXFR, CLASS_IN, 1);
	assert_int_equal(serve(s2, j, q, l, "127.0.0.1", true, &c), RCODE_NOERROR);
	rr = answers(&c, &n);
	assert_int_equal(n, 8);
	assert_soa(rr[0], 2);
	assert_soa(rr[7], 2);
	strs_free(rr, n);
	cap_free(&c);

	snapshot_unref(s1);
	snapshot_unref(s2);
	snapshot_unref(s3);
	xfr_journal_free(j);
}

/*
 * Recording a difference that runs out of memory at its first allocation,
 * its second, and so on: never an abort, nothing left allocated (the
 * leak check), and the zone's history reset (secondaries get AXFR).
 */
static void
test_ixfr_diff_out_of_memory(void **state)
{
	struct snapshot *s1 = load_base(zone_v1, NULL), *s2 = load_base(zone_v2, s1);
	struct snapshot *s3 = load_base(zone_v3, s2);
	unsigned long n;

	(void)state;
	for (n = 1; n < 10000; n++) {
		struct xfr_journal *j = xfr_journal_new(1000);
		unsigned long made;

		xfr_journal_update(j, s1, s2);
		assert_int_equal(xfr_journal_depth(j, "xfr.example"), 1);
		util_fail_alloc_after(n);
		xfr_journal_update(j, s2, s3);
		made = util_fail_alloc_after(0);
		if (made < n) {
			assert_int_equal(xfr_journal_depth(j, "xfr.example"), 2);
			xfr_journal_free(j);
			break;
		}
		assert_int_equal(xfr_journal_depth(j, "xfr.example"), 0);
		xfr_journal_free(j);
	}
	assert_true(n > 3);
	assert_true(n < 10000);
	snapshot_unref(s1);
	snapshot_unref(s2);
	snapshot_unref(s3);
}

static void
test_ixfr_current_and_udp(void **state)
{
	struct xfr_journal *j = xfr_journal_new(1000);
	struct snapshot *s1 = load_base(zone_v1, NULL), *s2 = load_base(zone_v2, s1);
	uint8_t q[512];
	size_t l, n;
	struct cap c;
	char **rr;

	(void)state;
	xfr_journal_update(j, s1, s2);
	/* Current, newer (serial arithmetic), and over UDP: the SOA alone. */
	static const long serials[] = { 2, 5, 0x80000003L };
	for (size_t i = 0; i < nitems(serials); i++) {
		l = make_query(q, sizeof(q), 4, "xfr.example", TYPE_IXFR, CLASS_IN,
		    serials[i]);
		assert_int_equal(serve(s2, j, q, l, "127.0.0.1", true, &c), 0);
		rr = answers(&c, &n);
		if (serials[i] == 0x80000003L) {
			/* More than 2^31 ahead is behind: a full zone. */
			assert_true(n > 1);
		} else {
			assert_int_equal(n, 1);
			assert_soa(rr[0], 2);
		}
		strs_free(rr, n);
		cap_free(&c);
	}
	l = make_query(q, sizeof(q), 4, "xfr.example", TYPE_IXFR, CLASS_IN, 1);
	assert_int_equal(serve(s2, j, q, l, "127.0.0.1", false, &c), 0);
	rr = answers(&c, &n);
	assert_int_equal(n, 1);
	assert_soa(rr[0], 2);
	strs_free(rr, n);
	cap_free(&c);
	snapshot_unref(s1);
	snapshot_unref(s2);
	xfr_journal_free(j);
}

static void
test_ixfr_fallback(void **state)
{
	static const char *const v2rrs[] = {
		"xfr.example. 3600 IN NS ns1.xfr.example.",
		"ns1.xfr.example. 300 IN A 10.0.0.1",
		"www.xfr.example. 300 IN A 10.0.0.2",
		"new.xfr.example. 300 IN A 10.0.0.9",
		"mail.xfr.example. 300 IN MX 10 www.xfr.example.",
		"txt.xfr.example. 600 IN TXT \"hello\"", NULL
	};
	struct xfr_journal *j = xfr_journal_new(3), *full = xfr_journal_new(100);
	struct snapshot *s1 = load_base(zone_v1, NULL), *s2 = load_base(zone_v2, s1);
	struct snapshot *s0;
	uint8_t q[512];
	size_t l, n;
	struct cap c;
	char **rr;

	(void)state;
	/* Four changes do not fit a journal of three. */
	xfr_journal_update(j, s1, s2);
	assert_int_equal(xfr_journal_depth(j, "xfr.example"), 0);
	l = make_query(q, sizeof(q), 5, "xfr.example", TYPE_IXFR, CLASS_IN, 1);
	assert_int_equal(serve(s2, j, q, l, "127.0.0.1", true, &c), 0);
	rr = answers(&c, &n);
	assert_int_equal(n, 8);
	assert_soa(rr[0], 2);
	assert_soa(rr[n - 1], 2);
	assert_set(rr, 1, n - 1, v2rrs);
	strs_free(rr, n);
	cap_free(&c);
	/* A serial the journal never saw; no journal at all. */
	xfr_journal_update(full, s1, s2);
	l = make_query(q, sizeof(q), 5, "xfr.example", TYPE_IXFR, CLASS_IN, 0);
	assert_int_equal(serve(s2, full, q, l, "127.0.0.1", true, &c), 0);
	rr = answers(&c, &n);
	assert_int_equal(n, 8);
	strs_free(rr, n);
	cap_free(&c);
	l = make_query(q, sizeof(q), 5, "xfr.example", TYPE_IXFR, CLASS_IN, 1);
	assert_int_equal(serve(s2, NULL, q, l, "127.0.0.1", true, &c), 0);
	rr = answers(&c, &n);
	assert_int_equal(n, 8);
	strs_free(rr, n);
	cap_free(&c);
	/* The serial going back drops the history; a zone gone drops it too. */
	s0 = load_base(zone_v1, s2);
	xfr_journal_update(full, s2, s0);
	assert_int_equal(xfr_journal_depth(full, "xfr.example"), 0);
	xfr_journal_update(full, s0, s2);
	assert_int_equal(xfr_journal_depth(full, "xfr.example"), 1);
	{
		struct snapshot *none;

		write_file("pldns2.ini", "[upstream]\nservers = 192.0.2.53\n");
		none = load_snap("[upstream]\nservers = 192.0.2.53\n", NULL);
		xfr_journal_update(full, s2, none);
		assert_int_equal(xfr_journal_depth(full, "xfr.example"), 0);
		snapshot_unref(none);
	}
	snapshot_unref(s0);
	snapshot_unref(s1);
	snapshot_unref(s2);
	xfr_journal_free(j);
	xfr_journal_free(full);
}

/* The journal keeps the newest differences within its limit. */
static void
test_journal_limit(void **state)
{
	struct xfr_journal *j = xfr_journal_new(5);
	struct snapshot *s1 = load_base(zone_v1, NULL), *s2, *s3;
	uint8_t q[512];
	size_t l, n;
	struct cap c;
	char **rr;

	(void)state;
	s2 = load_base(zone_v2, s1);
	s3 = load_base(zone_v3, s2);
	xfr_journal_update(j, s1, s2);		/* 4 changes */
	xfr_journal_update(j, s2, s3);		/* 1 more: 5 */
	assert_int_equal(xfr_journal_depth(j, "xfr.example"), 2);
	xfr_journal_free(j);
	j = xfr_journal_new(4);
	xfr_journal_update(j, s1, s2);
	xfr_journal_update(j, s2, s3);		/* the first goes */
	assert_int_equal(xfr_journal_depth(j, "xfr.example"), 1);
	l = make_query(q, sizeof(q), 6, "xfr.example", TYPE_IXFR, CLASS_IN, 1);
	assert_int_equal(serve(s3, j, q, l, "127.0.0.1", true, &c), 0);
	rr = answers(&c, &n);
	assert_int_equal(n, 9);		/* AXFR-style */
	strs_free(rr, n);
	cap_free(&c);
	l = make_query(q, sizeof(q), 6, "xfr.example", TYPE_IXFR, CLASS_IN, 2);
	assert_int_equal(serve(s3, j, q, l, "127.0.0.1", true, &c), 0);
	rr = answers(&c, &n);
	assert_int_equal(n, 5);
	strs_free(rr, n);
	cap_free(&c);
	snapshot_unref(s1);
	snapshot_unref(s2);
	snapshot_unref(s3);
	xfr_journal_free(j);
}

/* Readers serve IXFR while the main thread rewrites and trims the journal:
 * every answer is a whole, well-framed transfer (ASan checks the rest). */
struct reader {
	const struct snapshot *s;
	struct xfr_journal *j;
	struct sockaddr_in peer;	/* each its own: peer() is not thread-safe */
	unsigned ixfr, axfr;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	uint8_t q[512];
	struct cap *c = xcalloc(1, sizeof(*c));

	for (unsigned i = 0; i < 300; i++) {
		size_t l = make_query(q, sizeof(q), (uint16_t)i, "xfr.example", TYPE_IXFR,
		    CLASS_IN, 1 + (long)(i % 5));
		size_t n;
		char **rr;

		memset(c, 0, sizeof(*c));
		if (xfr_serve(r->s, r->j, q, l, (const struct sockaddr *)&r->peer, true,
		    cap_emit, c) != 0)
			abort();
		rr = answers(c, &n);
		if (n < 2 || strcmp(rr[0], rr[n - 1]) != 0 || strstr(rr[0], " 6 ") == NULL)
			abort();
		if (strstr(rr[1], "SOA") != NULL)
			r->ixfr++;
		else
			r->axfr++;
		strs_free(rr, n);
		cap_free(c);
	}
	free(c);
	return NULL;
}

static void
test_journal_threads(void **state)
{
	struct snapshot *v[7] = { NULL };
	struct xfr_journal *j = xfr_journal_new(4);
	struct reader rd[4];
	pthread_t t[4];
	char zone[1024], *p = zone;

	(void)state;
	for (int k = 1; k <= 6; k++) {
		p = zone + snprintf(zone, sizeof(zone), "$ORIGIN xfr.example.\n"
		    "@ 3600 IN SOA ns1 hostmaster %d 3600 600 86400 60\n"
		    "@ 3600 IN NS ns1\n", k);
		for (int i = 1; i <= k; i++)
			p += snprintf(p, sizeof(zone) - (size_t)(p - zone),
			    "h%d 300 A 10.0.0.%d\n", i, i);
		v[k] = load_base(zone, v[k - 1]);
	}
	for (int i = 0; i < 4; i++) {
		rd[i].s = v[6];
		rd[i].j = j;
		rd[i].ixfr = rd[i].axfr = 0;
		memset(&rd[i].peer, 0, sizeof(rd[i].peer));
		rd[i].peer.sin_family = AF_INET;
		rd[i].peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(pthread_create(&t[i], NULL, reader_main, &rd[i]), 0);
	}
	for (int round = 0; round < 40; round++) {
		for (int k = 1; k < 6; k++)
			xfr_journal_update(j, v[k], v[k + 1]);
		xfr_journal_update(j, v[6], v[1]);	/* back: history dropped */
	}
	for (int k = 1; k < 6; k++)
		xfr_journal_update(j, v[k], v[k + 1]);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int k = 1; k <= 6; k++)
		snapshot_unref(v[k]);
	xfr_journal_free(j);
}

/* IXFR of one change in a big zone is small. */
static void
test_ixfr_small_in_big_zone(void **state)
{
	struct xfr_journal *j = xfr_journal_new(10000);
	char *z1 = big_zone("xfr.example", 1, 20000);
	char *z2 = big_zone("xfr.example", 2, 20000);
	struct snapshot *s1, *s2;
	uint8_t q[512];
	size_t l;
	struct cap c;
	char *p;

	(void)state;
	/* One address changed. */
	p = strstr(z2, "host-00042 A 10.1.0.42");
	assert_non_null(p);
	memcpy(p + strlen("host-00042 A 10."), "9", 1);
	s1 = load_base(z1, NULL);
	s2 = load_base(z2, s1);
	xfr_journal_update(j, s1, s2);
	l = make_query(q, sizeof(q), 8, "xfr.example", TYPE_IXFR, CLASS_IN, 1);
	assert_int_equal(serve(s2, j, q, l, "127.0.0.1", true, &c), 0);
	assert_int_equal(c.n, 1);
	assert_true(c.len[0] < 1024);
	assert_int_equal(hdr_of(&c, 0).ancount, 6);
	cap_free(&c);
	free(z1);
	free(z2);
	snapshot_unref(s1);
	snapshot_unref(s2);
	xfr_journal_free(j);
}

/* xfr_start()'s captured messages: one per xfr_next(), counted. */
static void
step_all(struct xfr_transfer *x, struct cap *c)
{
	for (;;) {
		size_t n = c->n;
		bool more = xfr_next(x);

		assert_int_equal(c->n, n + 1);
		if (!more)
			break;
	}
	assert_false(xfr_next(x));
	xfr_transfer_free(x);
}

static void
assert_same(const struct cap *a, const struct cap *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(a->len[i], b->len[i]);
		assert_memory_equal(a->msg[i], b->msg[i], a->len[i]);
	}
}

/*
 * The request Q/L served whole into WHOLE (several messages), and started in
 * steps into STEPS (its first message): the transfer, to go on with.
 */
static struct xfr_transfer *
serve_twice(struct snapshot *s, struct xfr_journal *j, const uint8_t *q, size_t l,
    struct cap *whole, struct cap *steps)
{
	struct xfr_transfer *x;

	assert_int_equal(serve(s, j, q, l, "127.0.0.1", true, whole), RCODE_NOERROR);
	assert_true(whole->n > 5);
	memset(steps, 0, sizeof(*steps));
	assert_int_equal(xfr_start(s, j, q, l, peer("127.0.0.1"), true, cap_emit,
	    steps, &x), RCODE_NOERROR);
	assert_non_null(x);
	assert_int_equal(steps->n, 1);
	return x;
}

/*
 * A transfer in steps sends what xfr_serve() sends, byte for byte, one
 * message per step, and keeps what it sends alive by itself: its snapshot
 * after the caller lets go (a reload), its journal differences after the
 * journal drops them.  One abandoned half way leaves nothing behind.
 */
static void
test_transfer_steps(void **state)
{
	struct xfr_journal *j = xfr_journal_new(100000);
	char *z1 = big_zone("xfr.example", 1, 5000);
	char *z2 = big_zone("xfr.example", 2, 5000);
	struct snapshot *s1, *s2, *s3;
	struct xfr_transfer *x;
	uint8_t q[512];
	size_t l;
	struct cap whole, steps;

	(void)state;
	/* Every address changes: an IXFR of 10,000 changes, many messages. */
	for (char *p = strstr(z2, " A 10."); p != NULL; p = strstr(p + 1, " A 10."))
		p[3] = '2';
	s1 = load_base(z1, NULL);
	s2 = load_base(z2, s1);
	xfr_journal_update(j, s1, s2);

	l = make_query(q, sizeof(q), 21, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	x = serve_twice(s1, j, q, l, &whole, &steps);
	assert_int_equal(snapshot_refs(s1), 2);
	snapshot_unref(s1);		/* the transfer's reference is the last */
	step_all(x, &steps);
	assert_same(&whole, &steps);
	cap_free(&whole);
	cap_free(&steps);

	l = make_query(q, sizeof(q), 22, "xfr.example", TYPE_IXFR, CLASS_IN, 1);
	x = serve_twice(s2, j, q, l, &whole, &steps);
	/* The serial goes back: the journal forgets the zone's history. */
	s3 = load_base(z1, s2);
	xfr_journal_update(j, s2, s3);
	assert_int_equal(xfr_journal_depth(j, "xfr.example"), 0);
	step_all(x, &steps);
	assert_same(&whole, &steps);
	cap_free(&whole);
	cap_free(&steps);

	/* Cut short after two messages; an answer of one message is no transfer. */
	l = make_query(q, sizeof(q), 23, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	assert_int_equal(xfr_start(s2, NULL, q, l, peer("127.0.0.1"), true, cap_emit,
	    &steps, &x), RCODE_NOERROR);
	assert_true(xfr_next(x));
	assert_int_equal(snapshot_refs(s2), 2);
	xfr_transfer_free(x);
	assert_int_equal(snapshot_refs(s2), 1);
	cap_free(&steps);
	l = make_query(q, sizeof(q), 24, "keyed.example", TYPE_AXFR, CLASS_IN, -1);
	assert_int_equal(xfr_start(s2, NULL, q, l, peer("127.0.0.1"), true, cap_emit,
	    &steps, &x), RCODE_REFUSED);
	assert_null(x);
	assert_error_reply(&steps, 24, RCODE_REFUSED);
	cap_free(&steps);
	l = make_query(q, sizeof(q), 25, "xfr.example", TYPE_IXFR, CLASS_IN, 2);
	assert_int_equal(xfr_start(s2, NULL, q, l, peer("127.0.0.1"), true, cap_emit,
	    &steps, &x), RCODE_NOERROR);
	assert_null(x);
	assert_int_equal(steps.n, 1);
	cap_free(&steps);
	free(z1);
	free(z2);
	snapshot_unref(s2);
	snapshot_unref(s3);
	xfr_journal_free(j);
}

/* ---- TSIG ---- */

static struct tsig_key
key_of(const char *name, int alg, const char *b64)
{
	struct key_conf kc;
	struct tsig_key k;
	uint8_t bin[512];
	int n = EVP_DecodeBlock(bin, (const unsigned char *)b64, (int)strlen(b64));

	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (strlen(b64) >= 2 && b64[strlen(b64) - 1] == '=')
		n--;
	if (strlen(b64) >= 2 && b64[strlen(b64) - 2] == '=')
		n--;
	memset(&kc, 0, sizeof(kc));
	kc.name = (char *)(uintptr_t)name;
	kc.algorithm = alg;
	kc.secret_bin = bin;
	kc.secret_len = (size_t)n;
	assert_int_equal(tsig_key_init(&k, &kc), 0);
	return k;
}

/* Our signature verified by ldns, and ldns's by us, for three algorithms. */
static void
test_tsig_ldns_interop(void **state)
{
	static const struct {
		int alg;
		const char *ldns_alg, *secret;
	} cases[] = {
		{ KEY_HMAC_SHA256, "hmac-sha256.", SECRET },
		{ KEY_HMAC_SHA1, "hmac-sha1.", SECRET_SHA1 },
		{ KEY_HMAC_SHA512, "hmac-sha512.", SECRET_SHA512 },
	};

	(void)state;
	for (size_t i = 0; i < nitems(cases); i++) {
		struct tsig_key k = key_of("xfr-key", cases[i].alg, cases[i].secret);
		struct tsig_ctx c, sc;
		struct tsig_rr t;
		uint8_t q[1024], *w = NULL;
		size_t l, wl;
		ldns_pkt *p = NULL;

		/* Ours, checked by ldns. */
		l = make_query(q, sizeof(q), 0x4242, "xfr.example", TYPE_SOA, CLASS_IN, -1);
		tsig_ctx_init(&c, &k);
		assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
		assert_int_equal(ldns_wire2pkt(&p, q, l), LDNS_STATUS_OK);
		assert_true(ldns_pkt_tsig_verify(p, q, l, "xfr-key.", cases[i].secret,
		    NULL));
		assert_false(ldns_pkt_tsig_verify(p, q, l, "xfr-key.", SECRET2, NULL));
		ldns_pkt_free(p);
		tsig_ctx_clear(&c);

		/* ldns's, checked by us. */
		l = make_query(q, sizeof(q), 0x4343, "xfr.example", TYPE_SOA, CLASS_IN, -1);
		assert_int_equal(ldns_wire2pkt(&p, q, l), LDNS_STATUS_OK);
		assert_int_equal(ldns_pkt_tsig_sign(p, "xfr-key.", cases[i].secret, 300,
		    cases[i].ldns_alg, NULL), LDNS_STATUS_OK);
		assert_int_equal(ldns_pkt2wire(&w, p, &wl), LDNS_STATUS_OK);
		assert_int_equal(tsig_find(w, wl, &t), 1);
		assert_int_equal(tsig_verify_request(&sc, &k, 1, w, wl, &t, now_wall()),
		    TSIG_NOERROR);
		tsig_ctx_clear(&sc);
		/* One bit off: BADSIG.  Another key: BADKEY.  Late: BADTIME. */
		w[5] ^= 1;
		assert_int_equal(tsig_verify_request(&sc, &k, 1, w, wl, &t, now_wall()),
		    TSIG_BADSIG);
		tsig_ctx_clear(&sc);
		w[5] ^= 1;
		assert_int_equal(tsig_verify_request(&sc, &k, 0, w, wl, &t, now_wall()),
		    TSIG_BADKEY);
		tsig_ctx_clear(&sc);
		assert_int_equal(tsig_verify_request(&sc, &k, 1, w, wl, &t,
		    now_wall() + 301), TSIG_BADTIME);
		tsig_ctx_clear(&sc);
		free(w);
		ldns_pkt_free(p);
	}
}

/* A signed AXFR of several messages: every message verifies, by us and by ldns. */
static void
test_tsig_axfr(void **state)
{
	char *zone = big_zone("keyed.example", 7, 3000);
	struct tsig_key k = key_of("xfr-key", KEY_HMAC_SHA256, SECRET);
	struct snapshot *s;
	struct tsig_ctx c;
	struct tsig_rr t;
	uint8_t q[1024], prior[TSIG_MAC_MAX];
	size_t l, prior_len;
	struct cap cp;

	(void)state;
	write_file("z.zone", zone_v1);
	write_file("c.zone", closed_zone);
	write_file("k.zone", zone);
	free(zone);
	s = load_snap(base_ini, NULL);
	l = make_query(q, sizeof(q), 11, "keyed.example", TYPE_AXFR, CLASS_IN, -1);
	tsig_ctx_init(&c, &k);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	memcpy(prior, c.mac, c.mac_len);
	prior_len = c.mac_len;
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &cp), 0);
	assert_true(cp.n > 2);
	for (size_t i = 0; i < cp.n; i++) {
		ldns_pkt *p = NULL;
		ldns_rdf *mac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA,
		    prior_len + 2, (uint8_t[TSIG_MAC_MAX + 2]){ 0 });

		/* ldns wants the prior MAC as INT16_DATA: length, then bytes. */
		ldns_rdf_data(mac)[0] = (uint8_t)(prior_len >> 8);
		ldns_rdf_data(mac)[1] = (uint8_t)prior_len;
		memcpy(ldns_rdf_data(mac) + 2, prior, prior_len);
		assert_int_equal(ldns_wire2pkt(&p, cp.msg[i], cp.len[i]), LDNS_STATUS_OK);
		assert_true(ldns_pkt_tsig_verify_next(p, cp.msg[i], cp.len[i], "xfr-key.",
		    SECRET, mac, i > 0));
		ldns_rdf_deep_free(mac);
		ldns_pkt_free(p);
		assert_int_equal(tsig_verify_response(&c, cp.msg[i], cp.len[i],
		    now_wall()), 0);
		assert_int_equal(tsig_find(cp.msg[i], cp.len[i], &t), 1);
		memcpy(prior, t.mac, t.mac_len);
		prior_len = t.mac_len;
	}
	tsig_ctx_clear(&c);
	cap_free(&cp);

	/* Signed with the other key: refused, but signed (the key is known). */
	k = key_of("other-key", KEY_HMAC_SHA1, SECRET_SHA1);
	l = make_query(q, sizeof(q), 12, "keyed.example", TYPE_AXFR, CLASS_IN, -1);
	tsig_ctx_init(&c, &k);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &cp), RCODE_REFUSED);
	assert_error_reply(&cp, 12, RCODE_REFUSED);
	assert_int_equal(tsig_verify_response(&c, cp.msg[0], cp.len[0], now_wall()), 0);
	tsig_ctx_clear(&c);
	cap_free(&cp);

	/* The TSIG of a zone without key is checked all the same. */
	l = make_query(q, sizeof(q), 13, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	tsig_ctx_init(&c, &k);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &cp), 0);
	for (size_t i = 0; i < cp.n; i++)
		assert_int_equal(tsig_verify_response(&c, cp.msg[i], cp.len[i],
		    now_wall()), 0);
	tsig_ctx_clear(&c);
	cap_free(&cp);
	snapshot_unref(s);
}

/* A TSIG error reply: NOTAUTH, with the error in the TSIG RR. */
static void
assert_tsig_error(const struct cap *cp, uint16_t id, int error, bool signed_)
{
	struct tsig_rr t;

	assert_error_reply(cp, id, RCODE_NOTAUTH);
	assert_int_equal(tsig_find(cp->msg[0], cp->len[0], &t), 1);
	assert_int_equal(t.error, error);
	if (signed_) {
		assert_int_equal(t.mac_len, 32);
		assert_int_equal(t.other_len, 6);
	} else
		assert_int_equal(t.mac_len, 0);
}

static void
test_tsig_errors(void **state)
{
	struct snapshot *s = load_base(zone_v1, NULL);
	struct tsig_key good = key_of("xfr-key", KEY_HMAC_SHA256, SECRET);
	struct tsig_key bad = key_of("xfr-key", KEY_HMAC_SHA256, SECRET2);
	struct tsig_key unknown = key_of("nobody", KEY_HMAC_SHA256, SECRET);
	struct tsig_key wrongalg = key_of("xfr-key", KEY_HMAC_SHA512, SECRET);
	struct tsig_ctx c;
	uint8_t q[1024];
	size_t l;
	struct cap cp;

	(void)state;
	/* The wrong secret: BADSIG, unsigned. */
	l = make_query(q, sizeof(q), 21, "keyed.example", TYPE_AXFR, CLASS_IN, -1);
	tsig_ctx_init(&c, &bad);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &cp), RCODE_NOTAUTH);
	assert_tsig_error(&cp, 21, TSIG_BADSIG, false);
	/* The client sees it as the server's BADSIG. */
	assert_int_equal(tsig_verify_response(&c, cp.msg[0], cp.len[0], now_wall()),
	    TSIG_BADSIG);
	tsig_ctx_clear(&c);
	cap_free(&cp);
	/* An unknown key, a known name with another algorithm: BADKEY. */
	l = make_query(q, sizeof(q), 22, "keyed.example", TYPE_AXFR, CLASS_IN, -1);
	tsig_ctx_init(&c, &unknown);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &cp), RCODE_NOTAUTH);
	assert_tsig_error(&cp, 22, TSIG_BADKEY, false);
	tsig_ctx_clear(&c);
	cap_free(&cp);
	l = make_query(q, sizeof(q), 23, "keyed.example", TYPE_AXFR, CLASS_IN, -1);
	tsig_ctx_init(&c, &wrongalg);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &cp), RCODE_NOTAUTH);
	assert_tsig_error(&cp, 23, TSIG_BADKEY, false);
	tsig_ctx_clear(&c);
	cap_free(&cp);
	/* Signed an hour ago: BADTIME, signed, our time in Other Data. */
	l = make_query(q, sizeof(q), 24, "keyed.example", TYPE_AXFR, CLASS_IN, -1);
	tsig_ctx_init(&c, &good);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall() - 3600), 0);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &cp), RCODE_NOTAUTH);
	assert_tsig_error(&cp, 24, TSIG_BADTIME, true);
	tsig_ctx_clear(&c);
	cap_free(&cp);
	/* Two TSIG RRs, or one not last: FORMERR. */
	l = make_query(q, sizeof(q), 25, "keyed.example", TYPE_AXFR, CLASS_IN, -1);
	tsig_ctx_init(&c, &good);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	tsig_ctx_clear(&c);
	tsig_ctx_init(&c, &good);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	tsig_ctx_clear(&c);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &cp), RCODE_FORMERR);
	cap_free(&cp);
	/* Signed an hour from now: BADTIME too (RFC 8945 5.2.3 looks both
	 * ways: a request from the future could be replayed later). */
	l = make_query(q, sizeof(q), 26, "keyed.example", TYPE_AXFR, CLASS_IN, -1);
	tsig_ctx_init(&c, &good);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall() + 3600), 0);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &cp), RCODE_NOTAUTH);
	assert_tsig_error(&cp, 26, TSIG_BADTIME, true);
	tsig_ctx_clear(&c);
	cap_free(&cp);
	/* A truncated MAC is BADTRUNC (RFC 8945 5.2.2.1: not accepted here),
	 * no MAC at all BADSIG. */
	l = make_query(q, sizeof(q), 28, "keyed.example", TYPE_AXFR, CLASS_IN, -1);
	tsig_ctx_init(&c, &good);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	tsig_ctx_clear(&c);
	{
		struct tsig_rr t;
		struct tsig_ctx sc;

		assert_int_equal(tsig_find(q, l, &t), 1);
		t.mac_len = 16;
		assert_int_equal(tsig_verify_request(&sc, &good, 1, q, l, &t, now_wall()),
		    TSIG_BADTRUNC);
		tsig_ctx_clear(&sc);
		t.mac_len = 0;
		assert_int_equal(tsig_verify_request(&sc, &good, 1, q, l, &t, now_wall()),
		    TSIG_BADSIG);
		tsig_ctx_clear(&sc);
	}
	/* A response changed on the way (one letter's case): BADSIG at the
	 * client. */
	l = make_query(q, sizeof(q), 27, "keyed.example", TYPE_AXFR, CLASS_IN, -1);
	tsig_ctx_init(&c, &good);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &cp), 0);
	cp.msg[0][WIRE_HDR_LEN + 1] ^= 0x20;
	assert_int_equal(tsig_verify_response(&c, cp.msg[0], cp.len[0], now_wall()),
	    TSIG_BADSIG);
	tsig_ctx_clear(&c);
	cap_free(&cp);
	snapshot_unref(s);
}

/* Unsigned messages between signed ones (RFC 8945 5.3.1), built by hand. */
static void
test_tsig_unsigned_middle(void **state)
{
	struct tsig_key k = key_of("xfr-key", KEY_HMAC_SHA256, SECRET);
	struct tsig_ctx cl, sv;
	struct tsig_rr t;
	uint8_t q[512], a[512], b[512], c[512], data[4096], mac[64];
	size_t ql, al, bl, cl_len, dl = 0, maclen = 0, p;
	uint64_t now = now_wall();

	(void)state;
	ql = make_query(q, sizeof(q), 31, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	tsig_ctx_init(&cl, &k);
	assert_int_equal(tsig_sign(&cl, q, &ql, sizeof(q), 0, now), 0);
	assert_int_equal(tsig_find(q, ql, &t), 1);
	assert_int_equal(tsig_verify_request(&sv, &k, 1, q, ql, &t, now), 0);
	/* Three response messages: A signed, B not, C signed over B and C. */
	al = make_query(a, sizeof(a), 31, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	a[2] |= 0x80;
	assert_int_equal(tsig_sign(&sv, a, &al, sizeof(a), 0, now), 0);
	bl = make_query(b, sizeof(b), 31, "b.xfr.example", TYPE_A, CLASS_IN, -1);
	b[2] |= 0x80;
	cl_len = make_query(c, sizeof(c), 31, "c.xfr.example", TYPE_A, CLASS_IN, -1);
	c[2] |= 0x80;
	/* Prior MAC (A's), B whole, C before its TSIG, then the timers. */
	data[dl++] = 0;
	data[dl++] = (uint8_t)sv.mac_len;
	memcpy(data + dl, sv.mac, sv.mac_len);
	dl += sv.mac_len;
	memcpy(data + dl, b, bl);
	dl += bl;
	memcpy(data + dl, c, cl_len);
	dl += cl_len;
	for (int i = 0; i < 6; i++)
		data[dl++] = (uint8_t)(now >> (40 - 8 * i));
	data[dl++] = 300 >> 8;
	data[dl++] = 300 & 0xff;
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k.secret,
	    k.secret_len, data, dl, mac, sizeof(mac), &maclen));
	assert_int_equal(maclen, 32);
	/* C's TSIG RR. */
	p = cl_len;
	/* Owner, type TSIG, class ANY, TTL 0. */
	memcpy(c + p, "\007xfr-key\000\000\372\000\377\000\000\000\000", 17);
	p += 17;
	c[p++] = 0;
	c[p++] = (uint8_t)(13 + 10 + 32 + 6);
	memcpy(c + p, "\013hmac-sha256\000", 13);
	p += 13;
	for (int i = 0; i < 6; i++)
		c[p++] = (uint8_t)(now >> (40 - 8 * i));
	c[p++] = 300 >> 8;
	c[p++] = 300 & 0xff;
	c[p++] = 0;
	c[p++] = 32;
	memcpy(c + p, mac, 32);
	p += 32;
	c[p++] = 0;
	c[p++] = 31;
	memset(c + p, 0, 4);
	p += 4;
	c[11] = 1;
	assert_int_equal(tsig_verify_response(&cl, a, al, now), 0);
	assert_int_equal(tsig_verify_response(&cl, b, bl, now), 1);
	assert_int_equal(tsig_verify_response(&cl, c, p, now), 0);
	tsig_ctx_clear(&cl);
	tsig_ctx_clear(&sv);

	/* The first response unsigned: refused. */
	tsig_ctx_init(&cl, &k);
	ql = make_query(q, sizeof(q), 32, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	assert_int_equal(tsig_sign(&cl, q, &ql, sizeof(q), 0, now), 0);
	assert_int_equal(tsig_verify_response(&cl, b, bl, now), TSIG_BADSIG);
	tsig_ctx_clear(&cl);
}

/* A signed SOA query is answered from local data and signed. */
static void
test_signed_query(void **state)
{
	struct snapshot *s = load_base(zone_v1, NULL);
	struct tsig_key k = key_of("xfr-key", KEY_HMAC_SHA256, SECRET);
	struct tsig_key bad = key_of("xfr-key", KEY_HMAC_SHA256, SECRET2);
	struct tsig_ctx c;
	uint8_t q[512], out[WIRE_MAX_MSG];
	size_t l, ol;
	struct wire_hdr h;
	struct tsig_rr t;

	(void)state;
	l = make_query(q, sizeof(q), 41, "xfr.example", TYPE_SOA, CLASS_IN, -1);
	tsig_ctx_init(&c, &k);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	assert_int_equal(xfr_answer_signed(s, q, l, peer("127.0.0.1"), false, out,
	    sizeof(out), &ol), 0);
	assert_int_equal(wire_hdr_read(out, ol, &h), 0);
	assert_int_equal(h.id, 41);
	assert_int_equal(h.ancount, 1);
	assert_true(h.flags & WIRE_AA);
	assert_int_equal(tsig_verify_response(&c, out, ol, now_wall()), 0);
	tsig_ctx_clear(&c);
	/* Not local: refused, signed. */
	l = make_query(q, sizeof(q), 42, "www.example.com", TYPE_A, CLASS_IN, -1);
	tsig_ctx_init(&c, &k);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	assert_int_equal(xfr_answer_signed(s, q, l, peer("127.0.0.1"), true, out,
	    sizeof(out), &ol), RCODE_REFUSED);
	assert_int_equal(tsig_verify_response(&c, out, ol, now_wall()), 0);
	tsig_ctx_clear(&c);
	/* A bad signature: NOTAUTH/BADSIG. */
	l = make_query(q, sizeof(q), 43, "xfr.example", TYPE_SOA, CLASS_IN, -1);
	tsig_ctx_init(&c, &bad);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	assert_int_equal(xfr_answer_signed(s, q, l, peer("127.0.0.1"), false, out,
	    sizeof(out), &ol), RCODE_NOTAUTH);
	assert_int_equal(tsig_find(out, ol, &t), 1);
	assert_int_equal(t.error, TSIG_BADSIG);
	tsig_ctx_clear(&c);
	snapshot_unref(s);
}

/* ---- the secondary: NOTIFY and the SERVFAIL registry ---- */

static const char sec_ini_fmt[] =
    "[server]\nlisten = 127.0.0.1:5353\nstate_dir = state\n"
    "[upstream]\nservers = 192.0.2.53\n"
    "[zone \"xfr.example\"]\nprimary = 127.0.0.1:%d\n"
    "[zone \"keyed.example\"]\nprimary = 127.0.0.1:%d\nkey = xfr-key\n"
    "[key \"xfr-key\"]\nsecret = %s\n";

static struct config *
sec_config(int port, const char *secret)
{
	char ini[2048];
	struct diag d;
	struct config *cfg;

	snprintf(ini, sizeof(ini), sec_ini_fmt, port, port, secret);
	if (mkdir("sec", 0755) == -1)
		assert_int_equal(errno, EEXIST);
	write_file("sec/pldns.ini", ini);
	diag_init(&d);
	cfg = config_load("sec/pldns.ini", &d);
	if (cfg == NULL)
		diag_print(&d, stderr);
	assert_non_null(cfg);
	diag_clear(&d);
	return cfg;
}

/* The snapshot a secondary daemon would serve from sec/pldns.ini. */
static struct snapshot *
sec_snap(void)
{
	struct diag d;
	struct config *cfg;
	struct recset rs;
	struct snapshot *s;

	diag_init(&d);
	cfg = config_load("sec/pldns.ini", &d);
	assert_non_null(cfg);
	recset_init(&rs);
	assert_int_equal(records_load(cfg, &rs, &d), 0);
	s = snapshot_new(cfg, &rs, NULL, &d);
	assert_non_null(s);
	diag_clear(&d);
	return s;
}

static size_t
make_notify(uint8_t *buf, size_t cap, uint16_t id, const char *zone)
{
	size_t l = make_query(buf, cap, id, zone, TYPE_SOA, CLASS_IN, -1);

	buf[2] = (uint8_t)(4 << 3 | 0x04);	/* opcode NOTIFY, AA */
	return l;
}

static void
test_notify(void **state)
{
	struct event_base *base = event_base_new();
	struct config *cfg = sec_config(9, SECRET);
	struct xfr_secondary *sec = xfr_secondary_new(base, cfg, NULL, NULL);
	struct tsig_key k = key_of("xfr-key", KEY_HMAC_SHA256, SECRET);
	struct tsig_key bad = key_of("xfr-key", KEY_HMAC_SHA256, SECRET2);
	struct xfr_zone_status st;
	struct tsig_ctx c;
	struct wire_hdr h;
	uint8_t q[512], r[1024];
	size_t l, rl;

	(void)state;
	/* From the primary's address: accepted, refresh started. */
	l = make_notify(q, sizeof(q), 51, "xfr.example");
	assert_int_equal(xfr_secondary_notify(sec, q, l, peer("127.0.0.1"), r, sizeof(r),
	    &rl), RCODE_NOERROR);
	assert_int_equal(wire_hdr_read(r, rl, &h), 0);
	assert_int_equal(h.id, 51);
	assert_int_equal(h.flags, WIRE_QR | 4 << 11 | WIRE_AA);
	assert_int_equal(h.qdcount, 1);
	assert_memory_equal(r + 12, q + 12, l - 12);
	event_base_loop(base, EVLOOP_NONBLOCK);
	xfr_secondary_status(sec, "xfr.example", &st);
	assert_true(st.known);
	assert_false(st.have_data);
	/* Elsewhere: refused.  Another zone: NOTAUTH.  Not SOA: FORMERR. */
	assert_int_equal(xfr_secondary_notify(sec, q, l, peer("127.0.0.2"), r, sizeof(r),
	    &rl), RCODE_REFUSED);
	assert_int_equal(wire_hdr_read(r, rl, &h), 0);
	assert_int_equal(WIRE_RCODE(h.flags), RCODE_REFUSED);
	l = make_notify(q, sizeof(q), 52, "other.example");
	assert_int_equal(xfr_secondary_notify(sec, q, l, peer("127.0.0.1"), r, sizeof(r),
	    &rl), RCODE_NOTAUTH);
	assert_int_equal(xfr_secondary_notify(NULL, q, l, peer("127.0.0.1"), r, sizeof(r),
	    &rl), RCODE_NOTAUTH);
	l = make_query(q, sizeof(q), 53, "xfr.example", TYPE_A, CLASS_IN, -1);
	q[2] = 4 << 3;
	assert_int_equal(xfr_secondary_notify(sec, q, l, peer("127.0.0.1"), r, sizeof(r),
	    &rl), RCODE_FORMERR);

	/* A zone with a key: unsigned refused, even from the primary. */
	l = make_notify(q, sizeof(q), 54, "keyed.example");
	assert_int_equal(xfr_secondary_notify(sec, q, l, peer("127.0.0.1"), r, sizeof(r),
	    &rl), RCODE_REFUSED);
	/* Signed: accepted from anywhere, the answer signed. */
	tsig_ctx_init(&c, &k);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	assert_int_equal(xfr_secondary_notify(sec, q, l, peer("192.0.2.7"), r, sizeof(r),
	    &rl), RCODE_NOERROR);
	assert_int_equal(tsig_verify_response(&c, r, rl, now_wall()), 0);
	tsig_ctx_clear(&c);
	/* The wrong secret: NOTAUTH, BADSIG. */
	l = make_notify(q, sizeof(q), 55, "keyed.example");
	tsig_ctx_init(&c, &bad);
	assert_int_equal(tsig_sign(&c, q, &l, sizeof(q), 0, now_wall()), 0);
	assert_int_equal(xfr_secondary_notify(sec, q, l, peer("127.0.0.1"), r, sizeof(r),
	    &rl), RCODE_NOTAUTH);
	assert_int_equal(tsig_verify_response(&c, r, rl, now_wall()), TSIG_BADSIG);
	tsig_ctx_clear(&c);

	xfr_secondary_free(sec);
	config_free(cfg);
	event_base_free(base);
}

static void
test_unavailable(void **state)
{
	struct event_base *base = event_base_new();
	struct config *cfg = sec_config(9, SECRET);
	struct xfr_secondary *sec;
	struct snapshot *s, *s2;
	uint8_t w[WIRE_NAME_MAX];
	const char *err;
	struct recset rs;
	struct diag d;

	(void)state;
	diag_init(&d);
	recset_init(&rs);
	assert_int_equal(records_load(cfg, &rs, &d), 0);
	s = snapshot_new(cfg, &rs, NULL, &d);
	assert_non_null(s);
	assert_true(wire_name_from_str("www.xfr.example", w, &err) > 0);
	assert_false(xfr_secondary_unavailable(s, w));
	sec = xfr_secondary_new(base, snapshot_config(s), NULL, NULL);
	/* Not in service yet: not marked. */
	assert_false(xfr_secondary_unavailable(s, w));
	xfr_secondary_publish(sec, s);
	/* Nothing transferred yet: SERVFAIL. */
	assert_true(xfr_secondary_unavailable(s, w));
	/* The next snapshot put in service is marked before workers see it. */
	s2 = sec_snap();
	assert_false(xfr_secondary_unavailable(s2, w));
	xfr_secondary_publish(sec, s2);
	assert_true(xfr_secondary_unavailable(s2, w));
	assert_true(wire_name_from_str("keyed.example", w, &err) > 0);
	assert_true(xfr_secondary_unavailable(s, w));
	assert_true(wire_name_from_str("www.example.com", w, &err) > 0);
	assert_false(xfr_secondary_unavailable(s, w));
	xfr_secondary_free(sec);
	assert_true(wire_name_from_str("www.xfr.example", w, &err) > 0);
	assert_false(xfr_secondary_unavailable(s2, w));
	snapshot_unref(s2);
	snapshot_unref(s);
	diag_clear(&d);
	event_base_free(base);
}

/* ---- a secondary against an in-process primary ---- */

struct primary {
	struct event_base *base;
	struct snapshot *snap;
	struct xfr_journal *j;
	int udp;
	struct event *uev;
	struct evconnlistener *tcp;
	int port;
	unsigned transfers;
};

static void
prim_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct primary *p = arg;
	uint8_t in[4096], out[4096];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&ss, &sl);
	struct wire_query q;
	struct answer_info info;
	size_t ol = 0;

	if (n <= 0)
		return;
	if (xfr_classify(in, (size_t)n) == XFR_SIGNED)
		xfr_answer_signed(p->snap, in, (size_t)n, (struct sockaddr *)&ss, false,
		    out, sizeof(out), &ol);
	else if (wire_query_parse(in, (size_t)n, &q) == WIRE_OK &&
	    answer_local(p->snap, &q, out, sizeof(out), 1232, &info) == ANSWER_DONE)
		ol = info.len;
	if (ol > 0)
		sendto(fd, out, ol, 0, (struct sockaddr *)&ss, sl);
}

static void
prim_emit(void *arg, const uint8_t *msg, size_t len)
{
	struct bufferevent *bev = arg;
	uint8_t lb[2] = { (uint8_t)(len >> 8), (uint8_t)len };

	bufferevent_write(bev, lb, 2);
	bufferevent_write(bev, msg, len);
}

static void
prim_read_cb(struct bufferevent *bev, void *arg)
{
	struct primary *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t lb[2], msg[WIRE_MAX_MSG];
	struct sockaddr_in sa;
	size_t len;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (evbuffer_get_length(in) >= 2) {
		evbuffer_copyout(in, lb, 2);
		len = wire_get_u16(lb);
		if (evbuffer_get_length(in) < 2 + len)
			return;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, msg, len);
		if (xfr_classify(msg, len) == XFR_TRANSFER) {
			p->transfers++;
			xfr_serve(p->snap, p->j, msg, len, (struct sockaddr *)&sa, true,
			    prim_emit, bev);
		}
	}
}

static void
prim_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void
prim_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct primary *p = arg;
	struct bufferevent *bev = bufferevent_socket_new(p->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);

	bufferevent_setcb(bev, prim_read_cb, NULL, prim_event_cb, p);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void
prim_start(struct primary *p, struct event_base *base, struct snapshot *s)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int tfd;

	memset(p, 0, sizeof(*p));
	p->base = base;
	p->snap = s;
	p->j = xfr_journal_new(1000);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* One port for both: bind TCP first, then UDP on its port. */
	tfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(tfd >= 0);
	assert_int_equal(bind(tfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(tfd, (struct sockaddr *)&sa, &sl), 0);
	p->port = ntohs(sa.sin_port);
	assert_int_equal(listen(tfd, 16), 0);
	p->tcp = evconnlistener_new(base, prim_accept_cb, p, LEV_OPT_CLOSE_ON_FREE,
	    -1, tfd);
	p->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_int_equal(bind(p->udp, (struct sockaddr *)&sa, sizeof(sa)), 0);
	p->uev = event_new(base, p->udp, EV_READ | EV_PERSIST, prim_udp_cb, p);
	event_add(p->uev, NULL);
}

static void
prim_stop(struct primary *p)
{
	if (p->uev != NULL) {
		event_free(p->uev);
		close(p->udp);
		evconnlistener_free(p->tcp);
		p->uev = NULL;
	}
}

static void
prim_set(struct primary *p, struct snapshot *s)
{
	xfr_journal_update(p->j, p->snap, s);
	snapshot_unref(p->snap);
	p->snap = s;
}

static int nchanged;

static void
changed_cb(void *arg)
{
	nchanged++;
	event_base_loopbreak(arg);
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Runs BASE for MS, or less when changed() is called first.  A timer of our
 * own, not event_base_loopexit(), which would outlive an early break. */
static void
run_for(struct event_base *base, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *ev = evtimer_new(base, stop_cb, base);

	evtimer_add(ev, &tv);
	event_base_dispatch(base);
	event_free(ev);
}

/* Runs BASE until changed() is called; fails after MS. */
static void
run_until_changed(struct event_base *base, int ms)
{
	int before = nchanged;

	run_for(base, ms);
	assert_true(nchanged > before);
}

/* The records of the zone file the secondary wrote, as served: an AXFR. */
static char **
secondary_axfr(const char *zone, size_t *n)
{
	struct diag d;
	struct config *cfg;
	struct recset rs;
	struct snapshot *s;
	uint8_t q[512];
	size_t l;
	struct cap c;
	char **v;

	diag_init(&d);
	cfg = config_load("sec/pldns.ini", &d);
	assert_non_null(cfg);
	assert_non_null(config_zone(cfg, zone)->file);
	recset_init(&rs);
	assert_int_equal(records_load(cfg, &rs, &d), 0);
	/* The secondary's own zones have no allow_transfer: allow it here. */
	for (size_t i = 0; i < cfg->nzones; i++) {
		cfg->zones[i].allow_transfer = xcalloc(1, sizeof(struct pl_cidr));
		assert_int_equal(cidr_parse("127.0.0.1", cfg->zones[i].allow_transfer,
		    NULL), 0);
		cfg->zones[i].nallow_transfer = 1;
		free(cfg->zones[i].key);
		cfg->zones[i].key = NULL;
	}
	s = snapshot_new(cfg, &rs, NULL, &d);
	assert_non_null(s);
	l = make_query(q, sizeof(q), 1, zone, TYPE_AXFR, CLASS_IN, -1);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), 0);
	v = answers(&c, n);
	cap_free(&c);
	snapshot_unref(s);
	diag_clear(&d);
	return v;
}

static char **
primary_axfr(const struct primary *p, const char *zone, size_t *n)
{
	uint8_t q[1024];
	size_t l;
	struct cap c;
	char **v;
	struct tsig_key k = key_of("xfr-key", KEY_HMAC_SHA256, SECRET);
	struct tsig_ctx t;

	l = make_query(q, sizeof(q), 1, zone, TYPE_AXFR, CLASS_IN, -1);
	tsig_ctx_init(&t, &k);
	assert_int_equal(tsig_sign(&t, q, &l, sizeof(q), 0, now_wall()), 0);
	assert_int_equal(serve(p->snap, NULL, q, l, "127.0.0.1", true, &c), 0);
	tsig_ctx_clear(&t);
	v = answers(&c, n);
	cap_free(&c);
	return v;
}

static void
assert_same_zone(const struct primary *p, const char *zone)
{
	size_t n1, n2;
	char **a = primary_axfr(p, zone, &n1), **b = secondary_axfr(zone, &n2);

	assert_int_equal(n1, n2);
	qsort(a, n1, sizeof(*a), str_cmp);
	qsort(b, n2, sizeof(*b), str_cmp);
	for (size_t i = 0; i < n1; i++)
		assert_string_equal(a[i], b[i]);
	strs_free(a, n1);
	strs_free(b, n2);
}

static void
test_secondary_pull(void **state)
{
	struct event_base *base = event_base_new();
	struct primary p;
	struct config *cfg;
	struct xfr_secondary *sec;
	struct xfr_zone_status st;
	struct snapshot *s;
	uint8_t q[512], r[1024];
	size_t l, rl;
	char *big = big_zone("keyed.example", 7, 2000);
	struct stat sb;
	uint8_t www[WIRE_NAME_MAX];
	const char *err;

	(void)state;
	write_file("z.zone", zone_v1);
	write_file("c.zone", closed_zone);
	write_file("k.zone", big);
	free(big);
	prim_start(&p, base, load_snap(base_ini, NULL));
	cfg = sec_config(p.port, SECRET);

	/* On start: no data (SERVFAIL), an AXFR of each zone. */
	nchanged = 0;
	sec = xfr_secondary_new(base, cfg, changed_cb, base);
	s = sec_snap();
	xfr_secondary_publish(sec, s);
	assert_true(wire_name_from_str("www.xfr.example", www, &err) > 0);
	assert_true(xfr_secondary_unavailable(s, www));
	run_until_changed(base, 5000);
	for (int i = 0; i < 100; i++) {
		struct xfr_zone_status a, b;

		xfr_secondary_status(sec, "xfr.example", &a);
		xfr_secondary_status(sec, "keyed.example", &b);
		if (a.have_data && b.have_data)
			break;
		run_for(base, 50);
	}
	/* Transferred: the snapshot in service answers again at once. */
	assert_false(xfr_secondary_unavailable(s, www));
	snapshot_unref(s);
	xfr_secondary_status(sec, "xfr.example", &st);
	assert_true(st.have_data);
	assert_int_equal(st.serial, 1);
	assert_int_equal(st.transfers, 1);
	assert_int_equal(st.ixfrs, 0);
	xfr_secondary_status(sec, "keyed.example", &st);
	assert_true(st.have_data);
	assert_int_equal(st.serial, 7);
	assert_int_equal(stat("sec/state/xfr.example.zone", &sb), 0);
	assert_int_equal(stat("sec/state/keyed.example.zone", &sb), 0);
	assert_same_zone(&p, "xfr.example");
	assert_same_zone(&p, "keyed.example");

	/* A change, a NOTIFY: an IXFR. */
	write_file("z.zone", zone_v2);
	prim_set(&p, load_snap(base_ini, p.snap));
	l = make_notify(q, sizeof(q), 61, "xfr.example");
	assert_int_equal(xfr_secondary_notify(sec, q, l, peer("127.0.0.1"), r, sizeof(r),
	    &rl), 0);
	run_until_changed(base, 5000);
	xfr_secondary_status(sec, "xfr.example", &st);
	assert_int_equal(st.serial, 2);
	assert_int_equal(st.transfers, 2);
	assert_int_equal(st.ixfrs, 1);
	assert_same_zone(&p, "xfr.example");

	/* A NOTIFY without a change: an SOA check, no transfer. */
	l = make_notify(q, sizeof(q), 62, "xfr.example");
	assert_int_equal(xfr_secondary_notify(sec, q, l, peer("127.0.0.1"), r, sizeof(r),
	    &rl), 0);
	run_for(base, 300);
	xfr_secondary_status(sec, "xfr.example", &st);
	assert_int_equal(st.transfers, 2);
	assert_false(st.refreshing);

	/* A restart serves what is on disk at once. */
	xfr_secondary_free(sec);
	sec = xfr_secondary_new(base, cfg, changed_cb, base);
	xfr_secondary_status(sec, "xfr.example", &st);
	assert_true(st.have_data);
	assert_false(st.expired);
	assert_int_equal(st.serial, 2);
	assert_int_equal(st.transfers, 0);
	s = sec_snap();
	xfr_secondary_publish(sec, s);
	assert_false(xfr_secondary_unavailable(s, www));
	/* keyed.example is on disk too, and current. */
	assert_true(wire_name_from_str("keyed.example", www, &err) > 0);
	assert_false(xfr_secondary_unavailable(s, www));
	snapshot_unref(s);
	run_for(base, 300);
	xfr_secondary_status(sec, "xfr.example", &st);
	assert_int_equal(st.transfers, 0);	/* serial 2 is current */

	xfr_secondary_free(sec);
	config_free(cfg);
	prim_stop(&p);
	snapshot_unref(p.snap);
	xfr_journal_free(p.j);
	event_base_free(base);
}

/* Appends an OPT RR (payload 1232, DO as asked) to the query Q of *L octets. */
static void
add_opt(uint8_t *q, size_t *l, size_t cap, bool do_bit)
{
	struct wire_buf b;

	wire_buf_init(&b, q, cap);
	b.len = *l;
	wire_put_opt(&b, 1232, 0, do_bit, -1);
	assert_false(b.overflow);
	q[11]++;
	*l = b.len;
}

/* The OPT RR of message M/LEN, which must be the last RR but a TSIG:
 * returns its TTL field (extended rcode, version, flags). */
static uint32_t
opt_of(const uint8_t *m, size_t len)
{
	ldns_pkt *p = NULL;
	uint32_t v;

	assert_int_equal(ldns_wire2pkt(&p, m, len), LDNS_STATUS_OK);
	assert_true(ldns_pkt_edns(p));
	v = (uint32_t)ldns_pkt_edns_extended_rcode(p) << 24 |
	    (uint32_t)ldns_pkt_edns_version(p) << 16 | ldns_pkt_edns_z(p) |
	    (ldns_pkt_edns_do(p) ? EDNS_DO : 0);
	ldns_pkt_free(p);
	return v;
}

/* RFC 6891 7: a request with OPT gets OPT in its response: every message
 * of a transfer (the first too), errors, and replies to NOTIFY. */
static void
test_xfr_opt(void **state)
{
	char *zone = big_zone("xfr.example", 9, 3000);
	struct snapshot *s = load_base(zone, NULL);
	uint8_t q[512], r[1024];
	size_t l, rl;
	struct cap c;

	(void)state;
	free(zone);
	l = make_query(q, sizeof(q), 7, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	add_opt(q, &l, sizeof(q), true);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_NOERROR);
	assert_true(c.n > 1);
	for (size_t i = 0; i < c.n; i++) {
		assert_int_equal(hdr_of(&c, i).arcount, 1);
		assert_int_equal(opt_of(c.msg[i], c.len[i]), EDNS_DO);
	}
	cap_free(&c);
	/* Without OPT in the request, none in the reply. */
	l = make_query(q, sizeof(q), 7, "xfr.example", TYPE_AXFR, CLASS_IN, -1);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_NOERROR);
	assert_int_equal(hdr_of(&c, 0).arcount, 0);
	cap_free(&c);

	/* IXFR over UDP (the SOA alone), and refusals. */
	l = make_query(q, sizeof(q), 8, "xfr.example", TYPE_IXFR, CLASS_IN, 3);
	add_opt(q, &l, sizeof(q), false);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", false, &c), RCODE_NOERROR);
	assert_int_equal(c.n, 1);
	assert_int_equal(opt_of(c.msg[0], c.len[0]), 0);
	cap_free(&c);
	l = make_query(q, sizeof(q), 9, "closed.example", TYPE_AXFR, CLASS_IN, -1);
	add_opt(q, &l, sizeof(q), false);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_REFUSED);
	assert_int_equal(hdr_of(&c, 0).arcount, 1);
	assert_int_equal(opt_of(c.msg[0], c.len[0]), 0);
	cap_free(&c);

	/* A NOTIFY to a secondary that has no such zone: NOTAUTH, with OPT. */
	l = make_notify(q, sizeof(q), 10, "xfr.example");
	add_opt(q, &l, sizeof(q), false);
	xfr_secondary_notify(NULL, q, l, peer("127.0.0.1"), r, sizeof(r), &rl);
	assert_true(rl > 12);
	assert_int_equal(WIRE_RCODE(wire_get_u16(r + 2)), RCODE_NOTAUTH);
	assert_int_equal(wire_get_u16(r + 10), 1);
	assert_int_equal(opt_of(r, rl), 0);

	/* Signed: the OPT before the TSIG, which stays last and verifies. */
	struct tsig_key k = key_of("xfr-key", KEY_HMAC_SHA256, SECRET);
	struct tsig_ctx t;
	l = make_query(q, sizeof(q), 11, "keyed.example", TYPE_AXFR, CLASS_IN, -1);
	add_opt(q, &l, sizeof(q), false);
	tsig_ctx_init(&t, &k);
	assert_int_equal(tsig_sign(&t, q, &l, sizeof(q), 0, now_wall()), 0);
	assert_int_equal(serve(s, NULL, q, l, "127.0.0.1", true, &c), RCODE_NOERROR);
	for (size_t i = 0; i < c.n; i++) {
		assert_int_equal(hdr_of(&c, i).arcount, 2);
		assert_int_equal(tsig_verify_response(&t, c.msg[i], c.len[i], now_wall()),
		    0);
		assert_int_equal(opt_of(c.msg[i], c.len[i]), 0);
	}
	tsig_ctx_clear(&t);
	cap_free(&c);
	snapshot_unref(s);
}

/*
 * A primary whose zone carries a delegation (NS below the apex, which no
 * pldns zone file may hold, so added to the snapshot by hand): the transfer
 * is refused and the secondary keeps serving the serial it had.
 */
static void
test_secondary_refuses_delegation(void **state)
{
	struct event_base *base = event_base_new();
	struct primary p;
	struct config *cfg;
	struct xfr_secondary *sec;
	struct xfr_zone_status st;
	struct diag d;
	struct recset rs;
	struct config *pcfg;
	uint8_t q[512], r[1024], owner[WIRE_NAME_MAX], ns[WIRE_NAME_MAX];
	const char *err;
	size_t l, rl, zi;
	int nl;

	(void)state;
	write_file("z.zone", zone_v1);
	write_file("c.zone", closed_zone);
	write_file("k.zone", keyed_zone);
	prim_start(&p, base, load_snap(base_ini, NULL));
	cfg = sec_config(p.port, SECRET);
	nchanged = 0;
	sec = xfr_secondary_new(base, cfg, changed_cb, base);
	for (int i = 0; i < 100; i++) {
		xfr_secondary_status(sec, "xfr.example", &st);
		if (st.have_data)
			break;
		run_for(base, 50);
	}
	assert_true(st.have_data);
	assert_int_equal(st.serial, 1);

	/* Serial 2 with "sub NS ns.example.net." */
	write_file("z.zone", zone_v2);
	write_file("pldns.ini", base_ini);
	diag_init(&d);
	pcfg = config_load("pldns.ini", &d);
	assert_non_null(pcfg);
	recset_init(&rs);
	assert_int_equal(records_load(pcfg, &rs, &d), 0);
	for (zi = 0; strcmp(rs.zones[zi].name, "xfr.example") != 0; zi++)
		;
	assert_true(wire_name_from_str("sub.xfr.example", owner, &err) > 0);
	assert_true((nl = wire_name_from_str("ns.example.net", ns, &err)) > 0);
	recset_add(&rs, zi, owner, TYPE_NS, 300, ns, (uint16_t)nl, "test");
	prim_set(&p, snapshot_new(pcfg, &rs, p.snap, &d));
	assert_non_null(p.snap);
	diag_clear(&d);

	l = make_notify(q, sizeof(q), 63, "xfr.example");
	assert_int_equal(xfr_secondary_notify(sec, q, l, peer("127.0.0.1"), r, sizeof(r),
	    &rl), 0);
	for (int i = 0; i < 40; i++) {
		run_for(base, 50);
		xfr_secondary_status(sec, "xfr.example", &st);
		if (!st.refreshing)
			break;
	}
	xfr_secondary_status(sec, "xfr.example", &st);
	assert_false(st.refreshing);
	assert_true(st.have_data);
	assert_int_equal(st.serial, 1);
	assert_int_equal(st.transfers, 1);

	xfr_secondary_free(sec);
	config_free(cfg);
	prim_stop(&p);
	snapshot_unref(p.snap);
	xfr_journal_free(p.j);
	event_base_free(base);
}

static void
test_secondary_wrong_key_and_expiry(void **state)
{
	static const char short_expiry[] =
	    "$ORIGIN xfr.example.\n"
	    "@ 3600 IN SOA ns1 hostmaster 5 1 1 2 60\n"
	    "@ 3600 IN NS ns1\nns1 300 A 10.0.0.1\n";
	struct event_base *base = event_base_new();
	struct primary p;
	struct config *cfg;
	struct xfr_secondary *sec;
	struct xfr_zone_status st;
	struct snapshot *s;
	uint8_t w[WIRE_NAME_MAX];
	const char *err;

	(void)state;
	write_file("z.zone", short_expiry);
	write_file("c.zone", closed_zone);
	write_file("k.zone", keyed_zone);
	prim_start(&p, base, load_snap(base_ini, NULL));
	/* The secondary has another secret for xfr-key. */
	cfg = sec_config(p.port, SECRET2);
	nchanged = 0;
	sec = xfr_secondary_new(base, cfg, changed_cb, base);
	run_until_changed(base, 5000);
	run_for(base, 500);
	xfr_secondary_status(sec, "keyed.example", &st);
	assert_false(st.have_data);
	assert_true(st.failures > 0);
	assert_int_equal(nchanged, 1);
	xfr_secondary_status(sec, "xfr.example", &st);
	assert_true(st.have_data);
	assert_int_equal(st.serial, 5);

	/* The primary goes away: after expire (2 s), SERVFAIL. */
	s = sec_snap();
	xfr_secondary_publish(sec, s);
	assert_true(wire_name_from_str("ns1.xfr.example", w, &err) > 0);
	assert_false(xfr_secondary_unavailable(s, w));
	prim_stop(&p);
	run_for(base, 3500);
	xfr_secondary_status(sec, "xfr.example", &st);
	assert_true(st.expired);
	assert_true(xfr_secondary_unavailable(s, w));
	/* And back: the next retry succeeds and the zone serves again. */
	xfr_journal_free(p.j);
	prim_start(&p, base, p.snap);
	{
		/* The primary's port changed: reconfigure to it. */
		struct config *cfg2 = sec_config(p.port, SECRET2);

		xfr_secondary_reconfigure(sec, cfg2);
		run_for(base, 1500);
		config_free(cfg2);
	}
	xfr_secondary_status(sec, "xfr.example", &st);
	assert_false(st.expired);
	assert_false(xfr_secondary_unavailable(s, w));
	snapshot_unref(s);

	xfr_secondary_free(sec);
	config_free(cfg);
	prim_stop(&p);
	snapshot_unref(p.snap);
	xfr_journal_free(p.j);
	event_base_free(base);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_classify),
		T(test_classify_malformed),
		T(test_axfr_small),
		T(test_axfr_many_messages),
		T(test_refusals),
		T(test_ixfr_diff),
		T(test_ixfr_diff_out_of_memory),
		T(test_ixfr_current_and_udp),
		T(test_ixfr_fallback),
		T(test_journal_limit),
		T(test_journal_threads),
		T(test_ixfr_small_in_big_zone),
		T(test_transfer_steps),
		T(test_tsig_ldns_interop),
		T(test_tsig_axfr),
		T(test_tsig_errors),
		T(test_tsig_unsigned_middle),
		T(test_signed_query),
		T(test_notify),
		T(test_unavailable),
		T(test_secondary_pull),
		T(test_secondary_refuses_delegation),
		T(test_xfr_opt),
		T(test_secondary_wrong_key_and_expiry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
