/* Unit tests for querylog: the query log line (mnemonics for class, type
 * and rcode, RFC 3597 forms for unknown ones, the path words, the addresses
 * of the answer, capped) and the whole line's exact text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "runtime/querylog.h"

static void
test_types(void **state)
{
	char b[16];

	(void)state;
	assert_string_equal(querylog_type(TYPE_A, b, sizeof(b)), "A");
	assert_string_equal(querylog_type(TYPE_AAAA, b, sizeof(b)), "AAAA");
	assert_string_equal(querylog_type(TYPE_CNAME, b, sizeof(b)), "CNAME");
	assert_string_equal(querylog_type(TYPE_SOA, b, sizeof(b)), "SOA");
	assert_string_equal(querylog_type(TYPE_PTR, b, sizeof(b)), "PTR");
	assert_string_equal(querylog_type(TYPE_MX, b, sizeof(b)), "MX");
	assert_string_equal(querylog_type(TYPE_TXT, b, sizeof(b)), "TXT");
	assert_string_equal(querylog_type(TYPE_SRV, b, sizeof(b)), "SRV");
	assert_string_equal(querylog_type(TYPE_DS, b, sizeof(b)), "DS");
	assert_string_equal(querylog_type(64, b, sizeof(b)), "SVCB");
	assert_string_equal(querylog_type(65, b, sizeof(b)), "HTTPS");
	assert_string_equal(querylog_type(257, b, sizeof(b)), "CAA");
	assert_string_equal(querylog_type(TYPE_AXFR, b, sizeof(b)), "AXFR");
	assert_string_equal(querylog_type(TYPE_IXFR, b, sizeof(b)), "IXFR");
	assert_string_equal(querylog_type(TYPE_ANY, b, sizeof(b)), "ANY");
	/* RFC 3597 for every type without a mnemonic. */
	assert_string_equal(querylog_type(65534, b, sizeof(b)), "TYPE65534");
	assert_string_equal(querylog_type(0, b, sizeof(b)), "TYPE0");
	assert_string_equal(querylog_type(54, b, sizeof(b)), "TYPE54");
	assert_string_equal(querylog_type(65535, b, sizeof(b)), "TYPE65535");
}

static void
test_classes(void **state)
{
	char b[16];

	(void)state;
	assert_string_equal(querylog_class(1, b, sizeof(b)), "IN");
	assert_string_equal(querylog_class(3, b, sizeof(b)), "CH");
	assert_string_equal(querylog_class(4, b, sizeof(b)), "HS");
	assert_string_equal(querylog_class(254, b, sizeof(b)), "NONE");
	assert_string_equal(querylog_class(255, b, sizeof(b)), "ANY");
	assert_string_equal(querylog_class(2, b, sizeof(b)), "CLASS2");
	assert_string_equal(querylog_class(65280, b, sizeof(b)), "CLASS65280");
}

static void
test_rcodes(void **state)
{
	static const char *const want[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
		"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI"
	};
	char b[16];

	(void)state;
	for (int i = 0; i < 12; i++)
		assert_string_equal(querylog_rcode(i, b, sizeof(b)), want[i]);
	assert_string_equal(querylog_rcode(12, b, sizeof(b)), "RCODE12");
	assert_string_equal(querylog_rcode(15, b, sizeof(b)), "RCODE15");
	assert_string_equal(querylog_rcode(RCODE_BADVERS, b, sizeof(b)), "BADVERS");
	assert_string_equal(querylog_rcode(23, b, sizeof(b)), "BADCOOKIE");
	assert_string_equal(querylog_rcode(24, b, sizeof(b)), "RCODE24");
	assert_string_equal(querylog_rcode(4095, b, sizeof(b)), "RCODE4095");
}

static void
test_paths(void **state)
{
	(void)state;
	assert_string_equal(querylog_path(PATH_LOCAL, false), "local");
	assert_string_equal(querylog_path(PATH_SYNTH, false), "synth");
	assert_string_equal(querylog_path(PATH_SPLICED, false), "spliced");
	assert_string_equal(querylog_path(PATH_UPSTREAM, false), "forwarded");
	assert_string_equal(querylog_path(PATH_CACHE, false), "cache");
	assert_string_equal(querylog_path(PATH_CACHE, true), "stale");
	assert_string_equal(querylog_path(PATH_SPLICED, true), "stale");
	assert_string_equal(querylog_path(PATH_REFUSED, false), "refused");
	assert_string_equal(querylog_path(PATH_ERROR, false), "error");
}

/* A reply to NAME/QTYPE with NA A records 10.0.0.1.., one AAAA fd00::1
 * when AAAA, behind a CNAME when CNAME; returns its length. */
static size_t
reply(uint8_t *out, size_t cap, const char *name, uint16_t qtype, int na,
    bool aaaa, bool cname)
{
	struct wire_buf b;
	uint8_t qn[WIRE_NAME_MAX], tn[WIRE_NAME_MAX];
	int ql = wire_name_from_str(name, qn, NULL);
	int tl = wire_name_from_str("target.example", tn, NULL);
	uint16_t an = 0;

	assert_true(ql > 0 && tl > 0);
	wire_buf_init(&b, out, cap);
	wire_put_reply_head(&b, 0x1234, qn, (size_t)ql, qtype, CLASS_IN);
	if (cname) {
		wire_put_rr(&b, qn, TYPE_CNAME, CLASS_IN, 10, tn, (uint16_t)tl);
		an++;
	}
	for (int i = 0; i < na; i++) {
		uint8_t a[4] = { 10, 0, 0, (uint8_t)(i + 1) };
		wire_put_rr(&b, cname ? tn : qn, TYPE_A, CLASS_IN, 10, a, 4);
		an++;
	}
	if (aaaa) {
		uint8_t a6[16];
		inet_pton(AF_INET6, "fd00::1", a6);
		wire_put_rr(&b, cname ? tn : qn, TYPE_AAAA, CLASS_IN, 10, a6, 16);
		an++;
	}
	/* An A record in the additional section is not part of the answer. */
	uint8_t x[4] = { 192, 0, 2, 9 };
	wire_put_rr(&b, tn, TYPE_A, CLASS_IN, 10, x, 4);
	wire_set_u16(&b, 2, 0x8180);
	wire_set_u16(&b, WIRE_OFF_AN, an);
	wire_set_u16(&b, WIRE_OFF_AR, 1);
	assert_false(b.overflow);
	return b.len;
}

static void
test_addrs(void **state)
{
	uint8_t msg[2048];
	char b[256];
	size_t n;

	(void)state;
	n = reply(msg, sizeof(msg), "a.example", TYPE_A, 1, false, false);
	assert_string_equal(querylog_addrs(msg, n, b, sizeof(b)), "10.0.0.1");
	n = reply(msg, sizeof(msg), "a.example", TYPE_A, 2, true, true);
	assert_string_equal(querylog_addrs(msg, n, b, sizeof(b)),
	    "10.0.0.1,10.0.0.2,fd00::1");
	n = reply(msg, sizeof(msg), "a.example", TYPE_A, 4, false, false);
	assert_string_equal(querylog_addrs(msg, n, b, sizeof(b)),
	    "10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4");
	/* Capped: the rest counted. */
	n = reply(msg, sizeof(msg), "a.example", TYPE_A, 7, true, false);
	assert_string_equal(querylog_addrs(msg, n, b, sizeof(b)),
	    "10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,+4");
	/* No address: a CNAME only, or nothing. */
	n = reply(msg, sizeof(msg), "a.example", TYPE_CNAME, 0, false, true);
	assert_string_equal(querylog_addrs(msg, n, b, sizeof(b)), "-");
	n = reply(msg, sizeof(msg), "a.example", TYPE_A, 0, false, false);
	assert_string_equal(querylog_addrs(msg, n, b, sizeof(b)), "-");
	/* A reply that cannot be read (cut short), or a bare header. */
	n = reply(msg, sizeof(msg), "a.example", TYPE_A, 2, false, false);
	assert_string_equal(querylog_addrs(msg, n - 40, b, sizeof(b)), "-");
	assert_string_equal(querylog_addrs(msg, 5, b, sizeof(b)), "-");
}

/* Only the question and the answer section are read: what follows them
 * may be cut short, and an answer count larger than the message hides
 * nothing. */
static void
test_addrs_bounds(void **state)
{
	uint8_t msg[2048];
	char b[256];
	size_t n;

	(void)state;
	/* The additional A record loses its last octet. */
	n = reply(msg, sizeof(msg), "a.example", TYPE_A, 2, false, false);
	assert_string_equal(querylog_addrs(msg, n - 1, b, sizeof(b)),
	    "10.0.0.1,10.0.0.2");
	/* Four answers said, three records in the message. */
	msg[WIRE_OFF_AN] = 0;
	msg[WIRE_OFF_AN + 1] = 4;
	assert_string_equal(querylog_addrs(msg, n, b, sizeof(b)), "-");
}

static struct pl_addr
client(const char *s)
{
	struct pl_addr a;

	assert_int_equal(addr_parse(s, 0, &a, NULL), 0);
	return a;
}

static struct wire_query
question(const char *name, uint16_t qtype, uint16_t qclass)
{
	struct wire_query q;

	memset(&q, 0, sizeof(q));
	q.qname_len = wire_name_from_str(name, q.qname, NULL);
	assert_true(q.qname_len > 0);
	wire_name_lower(q.lname, q.qname, (size_t)q.qname_len);
	q.qtype = qtype;
	q.qclass = qclass;
	return q;
}

static void
test_line(void **state)
{
	char line[QUERYLOG_LINE_MAX];
	uint8_t msg[2048];
	struct pl_addr c4 = client("127.0.0.1:40000"), c6 = client("[::1]:5353");
	struct wire_query q = question("Acct.blob.core.windows.net", TYPE_A, CLASS_IN);
	struct answer_info info;
	size_t n;

	(void)state;
	answer_info_clear(&info);
	info.rcode = RCODE_NOERROR;
	info.path = PATH_SYNTH;
	n = reply(msg, sizeof(msg), "Acct.blob.core.windows.net", TYPE_A, 1, false, true);
	assert_string_equal(querylog_format(line, sizeof(line), &c4, false, &q, &info,
	    msg, n, 12),
	    "client 127.0.0.1#40000 udp: Acct.blob.core.windows.net IN A NOERROR "
	    "synth 0.012ms 10.0.0.1");

	q = question("acct9.blob.core.windows.net", TYPE_AAAA, CLASS_IN);
	info.rcode = RCODE_NXDOMAIN;
	info.path = PATH_SPLICED;
	n = reply(msg, sizeof(msg), "acct9.blob.core.windows.net", TYPE_AAAA, 0, false,
	    false);
	assert_string_equal(querylog_format(line, sizeof(line), &c6, true, &q, &info,
	    msg, n, 1534567),
	    "client ::1#5353 tcp: acct9.blob.core.windows.net IN AAAA NXDOMAIN "
	    "spliced 1534.567ms -");

	/* Unknown type and class; a name with a space and a dot in a label;
	 * the root. */
	q = question("a\\032b\\.c.example", 65534, 3);
	info.rcode = RCODE_REFUSED;
	info.path = PATH_REFUSED;
	assert_string_equal(querylog_format(line, sizeof(line), &c4, false, &q, &info,
	    msg, 0, 0),
	    "client 127.0.0.1#40000 udp: a\\032b\\.c.example CH TYPE65534 REFUSED "
	    "refused 0.000ms -");
	q = question(".", TYPE_NS, CLASS_IN);
	info.rcode = RCODE_SERVFAIL;
	info.path = PATH_CACHE;
	info.stale = true;
	assert_string_equal(querylog_format(line, sizeof(line), &c4, false, &q, &info,
	    msg, 0, 999),
	    "client 127.0.0.1#40000 udp: . IN NS SERVFAIL stale 0.999ms -");
}

/* The longest name, every octet escaped, still fits the line. */
static void
test_line_longest(void **state)
{
	char line[QUERYLOG_LINE_MAX];
	struct pl_addr c6 = client("[fd00:1111:2222:3333:4444:5555:6666:7777]:65535");
	struct wire_query q;
	struct answer_info info;
	size_t pos = 0;

	(void)state;
	memset(&q, 0, sizeof(q));
	for (int l = 0; l < 4; l++) {
		int len = l < 3 ? 63 : 61;
		q.qname[pos++] = (uint8_t)len;
		for (int i = 0; i < len; i++)
			q.qname[pos++] = 0x01;
	}
	q.qname[pos++] = 0;
	q.qname_len = (int)pos;
	assert_int_equal(pos, 255);
	q.qtype = 65535;
	q.qclass = 65535;
	answer_info_clear(&info);
	info.rcode = 4095;
	info.path = PATH_ERROR;
	querylog_format(line, sizeof(line), &c6, true, &q, &info, NULL, 0,
	    UINT64_MAX / 2);
	assert_true(strlen(line) < sizeof(line) - 1);
	assert_non_null(strstr(line, " CLASS65535 TYPE65535 RCODE4095 error "));
	assert_int_equal(strncmp(line, "client fd00:1111:2222:3333:4444:5555:6666:7777"
	    "#65535 tcp: \\001\\001", 66), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_rcodes),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_addrs),
		cmocka_unit_test(test_addrs_bounds),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_line_longest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
