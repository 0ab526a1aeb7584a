/* Unit tests for addr: address and CIDR parsing, matching, formatting. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "util/addr.h"

/* Parses S and returns its addr_str() form (static buffer). */
static const char *
roundtrip(const char *s, int def)
{
	static char buf[128];
	struct pl_addr a;
	const char *err = NULL;

	if (addr_parse(s, def, &a, &err) == -1)
		return err;
	return addr_str(&a, buf, sizeof(buf));
}

static const char *
parse_err(const char *s)
{
	struct pl_addr a;
	const char *err = NULL;

	assert_int_equal(addr_parse(s, 53, &a, &err), -1);
	assert_non_null(err);
	return err;
}

static void
test_parse_v4(void **state)
{
	struct pl_addr a;
	const char *err;

	(void)state;
	assert_string_equal(roundtrip("192.0.2.1", 53), "192.0.2.1:53");
	assert_string_equal(roundtrip("192.0.2.1:5353", 53), "192.0.2.1:5353");
	assert_string_equal(roundtrip("0.0.0.0:1", 53), "0.0.0.0:1");
	assert_string_equal(roundtrip("10.1.2.3:65535", 53), "10.1.2.3:65535");
	assert_int_equal(addr_parse("127.0.0.1", 8053, &a, &err), 0);
	assert_int_equal(a.ss.ss_family, AF_INET);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	assert_int_equal(addr_port(&a), 8053);
}

static void
test_parse_v6(void **state)
{
	struct pl_addr a;
	const char *err;

	(void)state;
	assert_string_equal(roundtrip("[::1]:5353", 53), "[::1]:5353");
	assert_string_equal(roundtrip("[2001:db8::1]", 53), "[2001:db8::1]:53");
	assert_string_equal(roundtrip("::1", 53), "[::1]:53");
	assert_string_equal(roundtrip("2001:db8::53", 853), "[2001:db8::53]:853");
	/* Bare IPv6: the last group is part of the address, not a port. */
	assert_string_equal(roundtrip("2001:db8::1:53", 53), "[2001:db8::1:53]:53");
	assert_string_equal(roundtrip("::ffff:192.0.2.1", 53),
	    "[::ffff:192.0.2.1]:53");
	assert_int_equal(addr_parse("[::1]:53", 0, &a, &err), 0);
	assert_int_equal(a.ss.ss_family, AF_INET6);
	assert_int_equal(a.len, sizeof(struct sockaddr_in6));
	assert_int_equal(addr_port(&a), 53);
}

static void
test_parse_scope(void **state)
{
	struct pl_addr a;
	const char *err;

	(void)state;
	/* Interface 1 is the loopback on Linux. */
	assert_string_equal(roundtrip("fe80::1%1", 53), "[fe80::1%lo]:53");
	assert_string_equal(roundtrip("[fe80::1%lo]:54", 53), "[fe80::1%lo]:54");
	assert_int_equal(addr_parse("fe80::1%lo", 53, &a, &err), 0);
	assert_int_equal(((struct sockaddr_in6 *)&a.ss)->sin6_scope_id, 1);
	assert_string_equal(parse_err("fe80::1%"), "empty scope after '%'");
	assert_string_equal(parse_err("fe80::1%nosuchif0"), "unknown interface");
	assert_string_equal(parse_err("fe80::1%1x"), "bad scope");
}

static void
test_parse_ports(void **state)
{
	(void)state;
	assert_string_equal(parse_err("192.0.2.1:0"), "port out of range (1..65535)");
	assert_string_equal(parse_err("192.0.2.1:65536"),
	    "port out of range (1..65535)");
	assert_string_equal(parse_err("192.0.2.1:99999999999999999999"),
	    "port out of range (1..65535)");
	assert_string_equal(parse_err("[::1]:0"), "port out of range (1..65535)");
	assert_string_equal(parse_err("[::1]:70000"), "port out of range (1..65535)");
	assert_string_equal(parse_err("192.0.2.1:"), "missing port");
	assert_string_equal(parse_err("[::1]:"), "missing port");
	assert_string_equal(parse_err("192.0.2.1:5x"), "bad port");
	assert_string_equal(parse_err("192.0.2.1:-1"), "bad port");
	assert_string_equal(parse_err("192.0.2.1: 53"), "bad port");
}

static void
test_parse_default_port_required(void **state)
{
	struct pl_addr a;
	const char *err = NULL;

	(void)state;
	/* A default port of 0 makes the port mandatory. */
	assert_int_equal(addr_parse("192.0.2.1", 0, &a, &err), -1);
	assert_string_equal(err, "missing port");
	assert_int_equal(addr_parse("::1", 0, &a, &err), -1);
	assert_string_equal(err, "missing port");
	assert_int_equal(addr_parse("[::1]", 0, &a, &err), -1);
	assert_string_equal(err, "missing port");
	assert_int_equal(addr_parse("192.0.2.1:1", 0, &a, &err), 0);
}

static void
test_parse_garbage(void **state)
{
	struct pl_addr a;

	(void)state;
	assert_string_equal(parse_err(""), "empty address");
	assert_string_equal(parse_err("example.com"), "not an IP address");
	assert_string_equal(parse_err("example.com:53"), "not an IP address");
	assert_string_equal(parse_err("localhost"), "not an IP address");
	assert_string_equal(parse_err("1.2.3"), "not an IP address");
	assert_string_equal(parse_err("1.2.3.256"), "not an IP address");
	assert_string_equal(parse_err(" 1.2.3.4"), "not an IP address");
	assert_string_equal(parse_err(":53"), "not an IP address");
	assert_string_equal(parse_err("::g"), "not an IP address");
	assert_string_equal(parse_err("[::1"), "missing ']'");
	assert_string_equal(parse_err("[::1]53"), "expected ':port' after ']'");
	assert_string_equal(parse_err("[]:53"), "not an IP address");
	assert_string_equal(parse_err("[192.0.2.1]:53"),
	    "brackets are only for IPv6 addresses");
	assert_string_equal(parse_err("[example.com]:53"), "not an IP address");
	/* A NULL error pointer is allowed. */
	assert_int_equal(addr_parse("nope", 53, &a, NULL), -1);
}

static void
test_equal_and_port(void **state)
{
	struct pl_addr a, b, c, d, e;
	const char *err;

	(void)state;
	assert_int_equal(addr_parse("192.0.2.1:53", 0, &a, &err), 0);
	assert_int_equal(addr_parse("192.0.2.1", 53, &b, &err), 0);
	assert_int_equal(addr_parse("192.0.2.1:54", 0, &c, &err), 0);
	assert_int_equal(addr_parse("[::1]:53", 0, &d, &err), 0);
	assert_int_equal(addr_parse("::1", 53, &e, &err), 0);
	assert_true(addr_equal(&a, &b));
	assert_false(addr_equal(&a, &c));
	assert_false(addr_equal(&a, &d));
	assert_true(addr_equal(&d, &e));
	assert_int_equal(addr_port(&c), 54);
	assert_int_equal(addr_port(&d), 53);
}

static void
test_str_small_buffer(void **state)
{
	struct pl_addr a;
	const char *err;
	char buf[8];

	(void)state;
	assert_int_equal(addr_parse("192.0.2.123:5353", 0, &a, &err), 0);
	assert_string_equal(addr_str(&a, buf, sizeof(buf)), "192.0.2");
}

static const char *
cidr_str(const char *s)
{
	static char buf[80];
	char host[INET6_ADDRSTRLEN];
	struct pl_cidr c;
	const char *err = NULL;

	if (cidr_parse(s, &c, &err) == -1)
		return err;
	inet_ntop(c.family, c.addr, host, sizeof(host));
	snprintf(buf, sizeof(buf), "%s/%d", host, c.prefix);
	return buf;
}

static void
test_cidr_parse(void **state)
{
	(void)state;
	assert_string_equal(cidr_str("10.0.0.0/8"), "10.0.0.0/8");
	assert_string_equal(cidr_str("fc00::/7"), "fc00::/7");
	assert_string_equal(cidr_str("192.0.2.1"), "192.0.2.1/32");
	assert_string_equal(cidr_str("2001:db8::1"), "2001:db8::1/128");
	assert_string_equal(cidr_str("0.0.0.0/0"), "0.0.0.0/0");
	assert_string_equal(cidr_str("::/0"), "::/0");
	/* Host bits are accepted and cleared. */
	assert_string_equal(cidr_str("192.0.2.77/24"), "192.0.2.0/24");
	assert_string_equal(cidr_str("172.31.255.255/12"), "172.16.0.0/12");
	assert_string_equal(cidr_str("10.255.255.255/0"), "0.0.0.0/0");
	assert_string_equal(cidr_str("fdff:ffff::1/7"), "fc00::/7");
	assert_string_equal(cidr_str("2001:db8:ffff:ffff::/33"), "2001:db8:8000::/33");
}

static void
test_cidr_parse_errors(void **state)
{
	struct pl_cidr c;

	(void)state;
	assert_string_equal(cidr_str("10.0.0.0/33"), "prefix length out of range (0..32)");
	assert_string_equal(cidr_str("fc00::/129"), "prefix length out of range (0..128)");
	assert_string_equal(cidr_str("10.0.0.0/99999999999999999"),
	    "prefix length out of range (0..32)");
	assert_string_equal(cidr_str("10.0.0.0/"), "missing prefix length after '/'");
	assert_string_equal(cidr_str("10.0.0.0/-1"), "bad prefix length");
	assert_string_equal(cidr_str("10.0.0.0/8x"), "bad prefix length");
	assert_string_equal(cidr_str("/8"), "not an IP address");
	assert_string_equal(cidr_str("10.0.0/8"), "not an IP address");
	assert_string_equal(cidr_str("example.com/8"), "not an IP address");
	assert_string_equal(cidr_str(""), "empty prefix");
	assert_int_equal(cidr_parse("x", &c, NULL), -1);
}

static struct pl_cidr
cidr(const char *s)
{
	struct pl_cidr c;
	const char *err;

	assert_int_equal(cidr_parse(s, &c, &err), 0);
	return c;
}

static bool
match4(const char *prefix, const char *ip)
{
	struct pl_cidr c = cidr(prefix);
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return cidr_match(&c, (struct sockaddr *)&sin);
}

static bool
match6(const char *prefix, const char *ip)
{
	struct pl_cidr c = cidr(prefix);
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
	return cidr_match(&c, (struct sockaddr *)&sin6);
}

static void
test_cidr_match(void **state)
{
	(void)state;
	assert_true(match4("10.0.0.0/8", "10.255.1.2"));
	assert_false(match4("10.0.0.0/8", "11.0.0.0"));
	assert_true(match4("172.16.0.0/12", "172.31.255.255"));
	assert_false(match4("172.16.0.0/12", "172.32.0.0"));
	assert_true(match4("192.0.2.1", "192.0.2.1"));
	assert_false(match4("192.0.2.1", "192.0.2.2"));
	assert_true(match4("0.0.0.0/0", "203.0.113.9"));
	assert_true(match4("100.64.0.0/10", "100.127.255.255"));
	assert_false(match4("100.64.0.0/10", "100.128.0.0"));
	assert_true(match6("fc00::/7", "fdab::1"));
	assert_false(match6("fc00::/7", "fe80::1"));
	assert_true(match6("::1/128", "::1"));
	assert_false(match6("::1/128", "::2"));
	assert_true(match6("2001:db8::/33", "2001:db8:7fff::1"));
	assert_false(match6("2001:db8::/33", "2001:db8:8000::1"));
	assert_true(match6("::/0", "2001:db8::1"));
}

static void
test_cidr_match_mapped(void **state)
{
	struct pl_cidr c = cidr("10.0.0.0/8");
	struct sockaddr_un_like { sa_family_t f; char pad[30]; } other;
	uint8_t v4[4] = { 10, 1, 2, 3 };

	(void)state;
	/* A v4-mapped client is matched as the IPv4 address it is. */
	assert_true(match6("10.0.0.0/8", "::ffff:10.1.2.3"));
	assert_false(match6("10.0.0.0/8", "::ffff:11.1.2.3"));
	assert_false(match6("10.0.0.0/8", "::10.1.2.3"));
	assert_true(match6("127.0.0.0/8", "::ffff:127.0.0.1"));
	/* An IPv4 client against an IPv6 prefix is compared as ::ffff:a.b.c.d. */
	assert_true(match4("::ffff:0:0/96", "192.0.2.1"));
	assert_false(match4("fc00::/7", "10.0.0.1"));
	assert_true(match4("::/0", "10.0.0.1"));
	assert_true(cidr_match_raw(&c, AF_INET, v4));
	assert_false(cidr_match_raw(&c, AF_UNIX, v4));
	memset(&other, 0, sizeof(other));
	other.f = AF_UNIX;
	assert_false(cidr_match(&c, (struct sockaddr *)&other));
}

static bool
private4(const char *ip)
{
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, ip, a), 1);
	return addr_is_private(AF_INET, a);
}

static bool
private6(const char *ip)
{
	uint8_t a[16];

	assert_int_equal(inet_pton(AF_INET6, ip, a), 1);
	return addr_is_private(AF_INET6, a);
}

static void
test_is_private(void **state)
{
	(void)state;
	assert_true(private4("10.0.0.0"));
	assert_true(private4("10.255.255.255"));
	assert_false(private4("11.0.0.0"));
	assert_false(private4("172.15.255.255"));
	assert_true(private4("172.16.0.0"));
	assert_true(private4("172.31.255.255"));
	assert_false(private4("172.32.0.0"));
	assert_true(private4("192.168.0.1"));
	assert_false(private4("192.169.0.1"));
	assert_false(private4("100.63.255.255"));
	assert_true(private4("100.64.0.0"));
	assert_true(private4("100.127.255.255"));
	assert_false(private4("100.128.0.0"));
	assert_false(private4("127.0.0.1"));
	assert_false(private4("8.8.8.8"));
	assert_true(private6("fc00::1"));
	assert_true(private6("fdff:ffff::1"));
	assert_false(private6("fe80::1"));
	assert_false(private6("fbff::1"));
	assert_false(private6("2001:db8::1"));
	assert_false(private6("::1"));
	assert_true(private6("::ffff:10.0.0.1"));
	assert_false(private6("::ffff:8.8.8.8"));
	assert_false(addr_is_private(AF_UNIX, "\x0a\0\0\0"));
}

/* S parsed (port 53 when none); the test fails when it does not parse. */
static struct pl_addr
A(const char *s)
{
	struct pl_addr a;

	assert_int_equal(addr_parse(s, 53, &a, NULL), 0);
	return a;
}

/* F(S): one of the predicates on a single address. */
static bool
is(bool (*f)(const struct pl_addr *), const char *s)
{
	struct pl_addr a = A(s);

	return f(&a);
}

#define unspecified(s)	is(addr_is_unspecified, s)
#define loopback(s)	is(addr_is_loopback, s)
#define local(s)	is(addr_is_local, s)

static bool
same_host(const char *x, const char *y)
{
	struct pl_addr a = A(x), b = A(y);

	return addr_same_host(&a, &b);
}

static bool
listen_gets(const char *listen, const char *dest)
{
	struct pl_addr l = A(listen), d = A(dest);

	return addr_listen_gets(&l, &d);
}

/* S with addr_unwildcard() applied, as addr_str() writes it. */
static const char *
unwildcard(const char *s)
{
	static char buf[128];
	struct pl_addr a = A(s);

	addr_unwildcard(&a);
	return addr_str(&a, buf, sizeof(buf));
}

static void
test_unspecified_loopback(void **state)
{
	(void)state;
	assert_true(unspecified("0.0.0.0"));
	assert_true(unspecified("[::]:5353"));
	assert_false(unspecified("0.0.0.1"));
	assert_false(unspecified("::1"));
	assert_false(unspecified("::ffff:0.0.0.0"));
	assert_false(unspecified("fe80::%1"));

	assert_true(loopback("127.0.0.1"));
	assert_true(loopback("127.255.0.9:5353"));
	assert_true(loopback("::1"));
	assert_false(loopback("128.0.0.1"));
	assert_false(loopback("126.0.0.1"));
	assert_false(loopback("0.0.0.0"));
	assert_false(loopback("::"));
	assert_false(loopback("::2"));
	assert_false(loopback("1::1"));
	/* A v4-mapped loopback is an IPv6 address to a socket. */
	assert_false(loopback("::ffff:127.0.0.1"));
}

static void
test_unwildcard(void **state)
{
	(void)state;
	assert_string_equal(unwildcard("0.0.0.0:5353"), "127.0.0.1:5353");
	assert_string_equal(unwildcard("[::]:8053"), "[::1]:8053");
	assert_string_equal(unwildcard("192.0.2.1:53"), "192.0.2.1:53");
	assert_string_equal(unwildcard("127.0.0.2:53"), "127.0.0.2:53");
	assert_string_equal(unwildcard("[2001:db8::1]:53"), "[2001:db8::1]:53");
	assert_string_equal(unwildcard("::ffff:0.0.0.0"), "[::ffff:0.0.0.0]:53");
}

static void
test_same_host(void **state)
{
	(void)state;
	assert_true(same_host("192.0.2.1:53", "192.0.2.1:5353"));
	assert_true(same_host("[2001:db8::1]:53", "[2001:db8::1]:54"));
	assert_true(same_host("fe80::1%1", "fe80::1%2"));
	assert_false(same_host("192.0.2.1", "192.0.2.2"));
	assert_false(same_host("2001:db8::1", "2001:db8::2"));
	assert_false(same_host("192.0.2.1", "::ffff:192.0.2.1"));
	assert_false(same_host("0.0.0.0", "::"));
}

/* The first address of FAMILY on an interface of this host, not loopback. */
static bool
some_interface_addr(int family, struct pl_addr *out)
{
	struct ifaddrs *ifs;
	bool found = false;

	if (getifaddrs(&ifs) == -1)
		return false;
	for (struct ifaddrs *i = ifs; i != NULL && !found; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != family)
			continue;
		memset(out, 0, sizeof(*out));
		out->len = family == AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6);
		memcpy(&out->ss, i->ifa_addr, out->len);
		found = !addr_is_loopback(out);
	}
	freeifaddrs(ifs);
	return found;
}

static void
test_local(void **state)
{
	struct pl_addr a;

	(void)state;
	assert_true(local("127.0.0.1"));
	assert_true(local("127.0.0.53"));
	assert_true(local("::1"));
	/* Documentation prefixes are on no interface of a test machine. */
	assert_false(local("192.0.2.77"));
	assert_false(local("2001:db8::77"));
	assert_false(local("0.0.0.0"));
	if (some_interface_addr(AF_INET, &a))
		assert_true(addr_is_local(&a));
	if (some_interface_addr(AF_INET6, &a))
		assert_true(addr_is_local(&a));
}

static void
test_listen_gets(void **state)
{
	struct pl_addr l, d;

	(void)state;
	assert_true(listen_gets("127.0.0.1:53", "127.0.0.1:53"));
	assert_false(listen_gets("127.0.0.1:5353", "127.0.0.1:53"));
	assert_false(listen_gets("127.0.0.1:53", "127.0.0.2:53"));
	assert_true(listen_gets("192.0.2.9:53", "192.0.2.9:53"));
	assert_true(listen_gets("[::1]:53", "[::1]:53"));
	assert_false(listen_gets("[::1]:53", "127.0.0.1:53"));
	/* A wildcard gets every local address of its family... */
	assert_true(listen_gets("0.0.0.0:53", "127.0.0.53:53"));
	assert_false(listen_gets("0.0.0.0:53", "127.0.0.53:54"));
	assert_false(listen_gets("0.0.0.0:53", "[::1]:53"));
	assert_false(listen_gets("0.0.0.0:53", "192.0.2.9:53"));
	/* ...and an IPv6 one IPv4's too. */
	assert_true(listen_gets("[::]:53", "[::1]:53"));
	assert_true(listen_gets("[::]:53", "127.0.0.1:53"));
	assert_false(listen_gets("[::]:53", "192.0.2.9:53"));
	assert_false(listen_gets("[::]:53", "[2001:db8::9]:53"));
	if (some_interface_addr(AF_INET, &d)) {
		((struct sockaddr_in *)&d.ss)->sin_port = htons(53);
		l = A("0.0.0.0");
		assert_true(addr_listen_gets(&l, &d));
		l = A("::");
		assert_true(addr_listen_gets(&l, &d));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_parse_scope),
		cmocka_unit_test(test_parse_ports),
		cmocka_unit_test(test_parse_default_port_required),
		cmocka_unit_test(test_parse_garbage),
		cmocka_unit_test(test_equal_and_port),
		cmocka_unit_test(test_str_small_buffer),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_parse_errors),
		cmocka_unit_test(test_cidr_match),
		cmocka_unit_test(test_cidr_match_mapped),
		cmocka_unit_test(test_is_private),
		cmocka_unit_test(test_unspecified_loopback),
		cmocka_unit_test(test_unwildcard),
		cmocka_unit_test(test_same_host),
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_listen_gets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
