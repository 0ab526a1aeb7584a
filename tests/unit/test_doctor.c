/*
 * Unit tests for doctor: the pure parts (reading replies, judging them,
 * the Azure Migrate set, the JSON and the table), no network.
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
#include <sys/socket.h>

#include <jansson.h>

#include "util/addr.h"
#include "verbs/doctor.h"
#include "util/util.h"
#include "wire/wire.h"

static struct doctor_ip
ip(const char *s)
{
	struct doctor_ip x;

	memset(&x, 0, sizeof(x));
	x.family = strchr(s, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(x.family, s, x.addr), 1);
	return x;
}

static void
wname(const char *s, uint8_t *out)
{
	assert_true(wire_name_from_str(s, out, NULL) > 0);
}

/* A reply from "the wire": an answer made of CNAMEs (compressed) and
 * addresses. */
struct msg {
	uint8_t buf[1024];
	size_t len;
};

static void
build_reply(struct msg *m, uint16_t id, const char *qname, uint16_t qtype,
    int rcode, bool tc, const char *const *cnames, size_t ncn,
    const char *const *addrs, size_t nad)
{
	struct wire_buf b;
	struct wire_hdr h;
	uint8_t owner[WIRE_NAME_MAX], target[WIRE_NAME_MAX];

	memset(&h, 0, sizeof(h));
	h.id = id;
	h.flags = (uint16_t)(WIRE_QR | WIRE_RD | WIRE_RA | (tc ? WIRE_TC : 0) |
	    rcode);
	h.qdcount = 1;
	h.ancount = (uint16_t)(ncn + nad);
	wire_buf_init(&b, m->buf, sizeof(m->buf));
	wire_put_hdr(&b, &h);
	wname(qname, owner);
	wire_put_name(&b, owner, true);
	wire_put_u16(&b, qtype);
	wire_put_u16(&b, CLASS_IN);
	for (size_t i = 0; i < ncn; i++) {
		size_t rdlen_off;

		wire_put_name(&b, owner, true);
		wire_put_u16(&b, TYPE_CNAME);
		wire_put_u16(&b, CLASS_IN);
		wire_put_u32(&b, 60);
		rdlen_off = b.len;
		wire_put_u16(&b, 0);
		wname(cnames[i], target);
		/* Compressed, as upstream resolvers send them. */
		wire_put_name(&b, target, true);
		wire_set_u16(&b, rdlen_off, (uint16_t)(b.len - rdlen_off - 2));
		memcpy(owner, target, sizeof(owner));
	}
	for (size_t i = 0; i < nad; i++) {
		struct doctor_ip a = ip(addrs[i]);

		wire_put_name(&b, owner, true);
		wire_put_u16(&b, a.family == AF_INET ? TYPE_A : TYPE_AAAA);
		wire_put_u16(&b, CLASS_IN);
		wire_put_u32(&b, 60);
		wire_put_u16(&b, a.family == AF_INET ? 4 : 16);
		wire_put_bytes(&b, a.addr, a.family == AF_INET ? 4 : 16);
	}
	assert_false(b.overflow);
	m->len = b.len;
}

/* ---- replies ---- */

static void
test_reply_parse(void **state)
{
	static const char *const chain[] = {
		"acct.privatelink.blob.core.windows.net",
		"blob.xyz.store.core.windows.net"
	};
	static const char *const addrs[] = { "20.60.1.1" };
	struct msg m;
	struct doctor_reply r;
	uint8_t q[WIRE_NAME_MAX], other[WIRE_NAME_MAX];

	(void)state;
	wname("Acct.Blob.Core.Windows.Net", q);
	wname("other.blob.core.windows.net", other);
	build_reply(&m, 0x1234, "acct.blob.core.windows.net", TYPE_A, 0, false,
	    chain, 2, addrs, 1);
	memset(&r, 0, sizeof(r));
	/* Case does not matter for the question. */
	assert_int_equal(doctor_reply_parse(m.buf, m.len, 0x1234, q, TYPE_A, &r), 0);
	assert_int_equal(r.outcome, DOCTOR_ANSWER);
	assert_int_equal(r.rcode, 0);
	assert_false(r.tc);
	assert_int_equal(r.nchain, 2);
	assert_string_equal(r.chain[0], "acct.privatelink.blob.core.windows.net");
	assert_string_equal(r.chain[1], "blob.xyz.store.core.windows.net");
	assert_int_equal(r.naddrs, 1);
	assert_int_equal(r.addrs[0].family, AF_INET);
	assert_memory_equal(r.addrs[0].addr, ip("20.60.1.1").addr, 4);

	/* Not ours: another ID, another name, another type. */
	assert_int_equal(doctor_reply_parse(m.buf, m.len, 0x1235, q, TYPE_A, &r), -1);
	assert_int_equal(doctor_reply_parse(m.buf, m.len, 0x1234, other, TYPE_A, &r), -1);
	assert_int_equal(doctor_reply_parse(m.buf, m.len, 0x1234, q, TYPE_AAAA, &r), -1);
	/* A query (QR clear) is not a reply. */
	m.buf[2] &= 0x7f;
	assert_int_equal(doctor_reply_parse(m.buf, m.len, 0x1234, q, TYPE_A, &r), -1);
	m.buf[2] |= 0x80;

	/* Cut inside the answer: malformed. */
	assert_int_equal(doctor_reply_parse(m.buf, m.len - 3, 0x1234, q, TYPE_A, &r), 0);
	assert_int_equal(r.outcome, DOCTOR_BADREPLY);
	assert_string_equal(r.error, "malformed answer section");

	/* NXDOMAIN, no records; an IPv6 answer. */
	build_reply(&m, 7, "acct.blob.core.windows.net", TYPE_AAAA, RCODE_NXDOMAIN,
	    false, NULL, 0, NULL, 0);
	assert_int_equal(doctor_reply_parse(m.buf, m.len, 7, q, TYPE_AAAA, &r), 0);
	assert_int_equal(r.rcode, RCODE_NXDOMAIN);
	assert_int_equal(r.naddrs, 0);
	assert_int_equal(r.nchain, 0);
	{
		static const char *const v6[] = { "fd00::5", "10.0.0.1" };

		build_reply(&m, 8, "acct.blob.core.windows.net", TYPE_AAAA, 0, true,
		    NULL, 0, v6, 2);
		assert_int_equal(doctor_reply_parse(m.buf, m.len, 8, q, TYPE_AAAA,
		    &r), 0);
		assert_true(r.tc);
		assert_int_equal(r.naddrs, 2);
		assert_int_equal(r.addrs[0].family, AF_INET6);
		assert_int_equal(r.addrs[1].family, AF_INET);
	}
	/* Too short for a header. */
	assert_int_equal(doctor_reply_parse(m.buf, 11, 8, q, TYPE_AAAA, &r), -1);
}

/* How much of a reply is read: the question and the answer section,
 * which a truncated reply (TC) may leave cut short. */
static void
test_reply_parse_bounds(void **state)
{
	static const char *const v6[] = { "fd00::5", "10.0.0.1" };
	struct msg m;
	struct doctor_reply r;
	uint8_t q[WIRE_NAME_MAX];

	(void)state;
	wname("acct.blob.core.windows.net", q);
	/* TC: what was read before the cut stays. */
	build_reply(&m, 8, "acct.blob.core.windows.net", TYPE_AAAA, 0, true,
	    NULL, 0, v6, 2);
	assert_int_equal(doctor_reply_parse(m.buf, m.len - 3, 8, q, TYPE_AAAA,
	    &r), 0);
	assert_int_equal(r.outcome, DOCTOR_ANSWER);
	assert_int_equal(r.naddrs, 1);
	assert_int_equal(r.addrs[0].family, AF_INET6);
	/* One answer more said than there is: malformed, unless TC. */
	m.buf[7]++;
	assert_int_equal(doctor_reply_parse(m.buf, m.len, 8, q, TYPE_AAAA, &r), 0);
	assert_int_equal(r.outcome, DOCTOR_ANSWER);
	assert_int_equal(r.naddrs, 2);
	m.buf[2] &= (uint8_t)~(WIRE_TC >> 8);
	assert_int_equal(doctor_reply_parse(m.buf, m.len, 8, q, TYPE_AAAA, &r), 0);
	assert_int_equal(r.outcome, DOCTOR_BADREPLY);
	assert_string_equal(r.error, "malformed answer section");
	m.buf[7]--;
	/* What follows the answer section is not read: an authority RR
	 * said and absent, or trailing octets. */
	m.buf[9] = 1;
	m.buf[m.len] = 0xff;
	assert_int_equal(doctor_reply_parse(m.buf, m.len + 1, 8, q, TYPE_AAAA,
	    &r), 0);
	assert_int_equal(r.outcome, DOCTOR_ANSWER);
	assert_int_equal(r.naddrs, 2);
	/* No question is fine; two are not ours; a question cut short. */
	build_reply(&m, 9, "acct.blob.core.windows.net", TYPE_AAAA, 0, false,
	    NULL, 0, NULL, 0);
	m.buf[5] = 2;
	assert_int_equal(doctor_reply_parse(m.buf, m.len, 9, q, TYPE_AAAA, &r), -1);
	m.buf[5] = 1;
	assert_int_equal(doctor_reply_parse(m.buf, m.len - 1, 9, q, TYPE_AAAA,
	    &r), -1);
	m.buf[5] = 0;
	assert_int_equal(doctor_reply_parse(m.buf, 12, 9, q, TYPE_AAAA, &r), 0);
	assert_int_equal(r.outcome, DOCTOR_ANSWER);
	assert_int_equal(r.naddrs, 0);
}

static void
test_ips(void **state)
{
	struct doctor_ip a[] = { ip("10.1.0.5"), ip("fd00::1") };
	struct doctor_ip b[] = { ip("fd00::1"), ip("10.1.0.5") };
	struct doctor_ip c[] = { ip("10.1.0.5") };
	char buf[128];

	(void)state;
	assert_true(doctor_ips_same(a, 2, b, 2));
	assert_false(doctor_ips_same(a, 2, c, 1));
	assert_false(doctor_ips_same(c, 1, a, 2));
	assert_string_equal(doctor_ips_str(a, 2, buf, sizeof(buf)),
	    "10.1.0.5, fd00::1");
	assert_string_equal(doctor_ips_str(a, 0, buf, sizeof(buf)), "");
}

/* ---- pldns's answers ---- */

static struct doctor_reply
reply(enum doctor_outcome o, int rcode, const char *a1, const char *a2)
{
	struct doctor_reply r;

	memset(&r, 0, sizeof(r));
	r.outcome = o;
	r.rcode = rcode;
	if (a1 != NULL)
		r.addrs[r.naddrs++] = ip(a1);
	if (a2 != NULL)
		r.addrs[r.naddrs++] = ip(a2);
	return r;
}

static void
test_judge_pldns(void **state)
{
	struct doctor_ip want[] = { ip("10.1.0.5") };
	struct doctor_verdict v;
	struct doctor_reply r;

	(void)state;
	r = reply(DOCTOR_ANSWER, 0, "10.1.0.5", NULL);
	doctor_judge_pldns(want, 1, false, "127.0.0.1:53", "udp", &r, &v);
	assert_int_equal(v.status, DOCTOR_OK);
	assert_string_equal(v.got, "10.1.0.5");
	assert_string_equal(v.hint, "");

	r = reply(DOCTOR_ANSWER, 0, "10.1.0.6", NULL);
	doctor_judge_pldns(want, 1, false, "127.0.0.1:53", "udp", &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.got, "10.1.0.6");
	assert_string_equal(v.hint, "pldns serves 10.1.0.6 but the sources say "
	    "10.1.0.5: reload pldns (pldns ctl reload) if the sources are newer; "
	    "if the sources are out of date, download DNS settings again");

	/* One more address than the sources: a mismatch too. */
	r = reply(DOCTOR_ANSWER, 0, "10.1.0.5", "10.1.0.6");
	doctor_judge_pldns(want, 1, false, "127.0.0.1:53", "tcp", &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.got, "10.1.0.5, 10.1.0.6");

	r = reply(DOCTOR_ANSWER, 0, "20.60.1.1", NULL);
	doctor_judge_pldns(want, 1, true, "127.0.0.1:53", "udp", &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_non_null(strstr(v.hint, "the answer holds a public address: pldns "
	    "passed on the public answer instead of the local record"));

	r = reply(DOCTOR_ANSWER, RCODE_NXDOMAIN, NULL, NULL);
	doctor_judge_pldns(want, 1, false, "127.0.0.1:5353", "udp", &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.got, "NXDOMAIN");
	assert_string_equal(v.hint, "the running pldns does not serve this name "
	    "although the sources have it: reload pldns (pldns ctl reload, or "
	    "systemctl reload pldns) and check that 127.0.0.1:5353 is the pldns "
	    "that reads this configuration");

	r = reply(DOCTOR_ANSWER, 0, NULL, NULL);
	doctor_judge_pldns(want, 1, false, "127.0.0.1:53", "udp", &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.got, "no address (NODATA)");
	r.tc = true;
	doctor_judge_pldns(want, 1, false, "127.0.0.1:53", "udp", &r, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);
	assert_string_equal(v.got, "truncated, no address");

	r = reply(DOCTOR_ANSWER, RCODE_SERVFAIL, NULL, NULL);
	doctor_judge_pldns(want, 1, true, "127.0.0.1:53", "udp", &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.got, "SERVFAIL");
	assert_string_equal(v.hint, "pldns could not answer the public name: see "
	    "its log (journalctl -u pldns) for the cause, and run pldns "
	    "check-config on this configuration");

	r = reply(DOCTOR_ANSWER, RCODE_REFUSED, NULL, NULL);
	doctor_judge_pldns(want, 1, false, "127.0.0.1:53", "udp", &r, &v);
	assert_string_equal(v.got, "REFUSED");
	assert_non_null(strstr(v.hint, "[server] allow"));

	r = reply(DOCTOR_ANSWER, RCODE_NOTIMP, NULL, NULL);
	doctor_judge_pldns(want, 1, false, "127.0.0.1:53", "udp", &r, &v);
	assert_string_equal(v.got, "NOTIMP");

	r = reply(DOCTOR_TIMEOUT, 0, NULL, NULL);
	doctor_judge_pldns(want, 1, false, "127.0.0.1:53", "tcp", &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.got, "timeout");
	assert_string_equal(v.hint, "pldns at 127.0.0.1:53 did not answer over "
	    "tcp: check that it is running (pldns ctl status, systemctl status "
	    "pldns) and that no firewall drops DNS over tcp; if it is busy, try a "
	    "longer --timeout");

	r = reply(DOCTOR_CLOSED, 0, NULL, NULL);
	doctor_judge_pldns(want, 1, false, "127.0.0.1:53", "udp", &r, &v);
	assert_string_equal(v.got, "port closed");
	assert_string_equal(v.hint, "nothing listens on 127.0.0.1:53 over udp: "
	    "start pldns (systemctl start pldns), or give --server the address "
	    "in [server] listen");

	r = reply(DOCTOR_BADREPLY, 0, NULL, NULL);
	pl_strlcpy(r.error, "malformed CNAME", sizeof(r.error));
	doctor_judge_pldns(want, 1, false, "127.0.0.1:53", "udp", &r, &v);
	assert_string_equal(v.got, "bad reply: malformed CNAME");
}

/* ---- the upstreams' public answers ---- */

static void
test_judge_upstream(void **state)
{
	static const char pl[] = "acct.privatelink.blob.core.windows.net";
	struct doctor_ip want[] = { ip("10.1.0.5") };
	struct doctor_verdict v;
	struct doctor_reply r;

	(void)state;
	/* Public chain through the privatelink name to a public front end. */
	r = reply(DOCTOR_ANSWER, 0, "20.60.1.1", NULL);
	pl_strlcpy(r.chain[r.nchain++], pl, AZURE_NAME_MAX);
	pl_strlcpy(r.chain[r.nchain++], "blob.xyz.store.core.windows.net",
	    AZURE_NAME_MAX);
	doctor_judge_upstream(want, 1, pl, false, &r, &v);
	assert_int_equal(v.status, DOCTOR_OK);
	assert_string_equal(v.got, "privatelink CNAME -> 20.60.1.1");

	/* No privatelink hop: no private endpoint for the name. */
	r = reply(DOCTOR_ANSWER, 0, "20.60.1.1", NULL);
	pl_strlcpy(r.chain[r.nchain++], "blob.xyz.store.core.windows.net",
	    AZURE_NAME_MAX);
	doctor_judge_upstream(want, 1, pl, false, &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.got, "no privatelink CNAME (20.60.1.1)");
	assert_string_equal(v.hint, "public DNS has no private endpoint for this "
	    "name: check the name or the endpoint (does the private endpoint "
	    "exist and is its connection approved?)");
	/* ... a warning only for Site Recovery. */
	doctor_judge_upstream(want, 1, pl, true, &r, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);

	/* An upstream that already answers the private address. */
	r = reply(DOCTOR_ANSWER, 0, "10.1.0.5", NULL);
	pl_strlcpy(r.chain[r.nchain++], pl, AZURE_NAME_MAX);
	doctor_judge_upstream(want, 1, pl, false, &r, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);
	assert_string_equal(v.got, "10.1.0.5 (private, after the privatelink "
	    "CNAME)");
	assert_non_null(strstr(v.hint, "an upstream already answers with the "
	    "private address"));

	/* ... or another private address. */
	r = reply(DOCTOR_ANSWER, 0, "10.9.9.9", NULL);
	doctor_judge_upstream(want, 1, pl, false, &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.got, "10.9.9.9 (private)");
	assert_non_null(strstr(v.hint, "an upstream answers with another private "
	    "address (10.9.9.9, the sources say 10.1.0.5): another internal "
	    "resolver or a conflicting private DNS zone"));

	/* The chain ends in NXDOMAIN at the privatelink name. */
	r = reply(DOCTOR_ANSWER, RCODE_NXDOMAIN, NULL, NULL);
	pl_strlcpy(r.chain[r.nchain++], pl, AZURE_NAME_MAX);
	doctor_judge_upstream(want, 1, pl, false, &r, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);
	assert_string_equal(v.got, "privatelink CNAME -> NXDOMAIN");

	r = reply(DOCTOR_ANSWER, RCODE_NXDOMAIN, NULL, NULL);
	doctor_judge_upstream(want, 1, pl, false, &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.got, "NXDOMAIN");
	assert_string_equal(v.hint, "public DNS has no such name: check the name; "
	    "the resource may have been deleted or renamed");

	r = reply(DOCTOR_ANSWER, RCODE_SERVFAIL, NULL, NULL);
	doctor_judge_upstream(want, 1, pl, false, &r, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);
	assert_string_equal(v.got, "SERVFAIL");

	r = reply(DOCTOR_TIMEOUT, 0, NULL, NULL);
	doctor_judge_upstream(want, 1, pl, false, &r, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);
	assert_string_equal(v.got, "timeout");

	r = reply(DOCTOR_CLOSED, 0, NULL, NULL);
	doctor_judge_upstream(want, 1, pl, false, &r, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);
	assert_string_equal(v.got, "no answer (port closed)");
}

/* ---- addresses ---- */

static void
test_judge_address(void **state)
{
	struct pl_cidr nets[2];
	struct doctor_verdict v;
	struct doctor_ip a;
	char exp[128];

	(void)state;
	assert_int_equal(cidr_parse("10.1.0.0/16", &nets[0], NULL), 0);
	assert_int_equal(cidr_parse("fd00::/8", &nets[1], NULL), 0);

	a = ip("10.1.2.3");
	doctor_judge_address(&a, NULL, 0, exp, sizeof(exp), &v);
	assert_int_equal(v.status, DOCTOR_OK);
	assert_string_equal(exp, "a private address");
	assert_string_equal(v.got, "10.1.2.3");
	doctor_judge_address(&a, nets, 2, exp, sizeof(exp), &v);
	assert_int_equal(v.status, DOCTOR_OK);
	assert_string_equal(exp, "inside 10.1.0.0/16, fd00::/8");

	a = ip("10.2.0.4");
	doctor_judge_address(&a, nets, 2, exp, sizeof(exp), &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_non_null(strstr(v.hint, "outside [doctor] expect_subnets"));

	a = ip("fd00::7");
	doctor_judge_address(&a, nets, 2, exp, sizeof(exp), &v);
	assert_int_equal(v.status, DOCTOR_OK);

	a = ip("52.1.2.3");
	doctor_judge_address(&a, NULL, 0, exp, sizeof(exp), &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.got, "52.1.2.3");
	assert_string_equal(v.hint, "the A record holds a public IP: a private "
	    "endpoint always gets a private address from its subnet; take the "
	    "address from the private endpoint's DNS configuration, or download "
	    "DNS settings again");
	/* A public address is reported as public even inside the subnets. */
	assert_int_equal(cidr_parse("52.0.0.0/8", &nets[0], NULL), 0);
	doctor_judge_address(&a, nets, 1, exp, sizeof(exp), &v);
	assert_non_null(strstr(v.hint, "the A record holds a public IP"));
}

/* ---- names ---- */

static void
test_public_name(void **state)
{
	char out[AZURE_NAME_MAX];

	(void)state;
	assert_int_equal(doctor_public_name("acct.privatelink.blob.core.windows.net",
	    "privatelink.blob.core.windows.net", "blob.core.windows.net", out), 0);
	assert_string_equal(out, "acct.blob.core.windows.net");
	assert_int_equal(doctor_public_name("kv.privatelink.vaultcore.azure.net",
	    "privatelink.vaultcore.azure.net", "vault.azure.net", out), 0);
	assert_string_equal(out, "kv.vault.azure.net");
	assert_int_equal(doctor_public_name(
	    "x-asr-pod01-rcm1-.eus.privatelink.siterecovery.windowsazure.com",
	    "privatelink.siterecovery.windowsazure.com",
	    "siterecovery.windowsazure.com", out), 0);
	assert_string_equal(out, "x-asr-pod01-rcm1-.eus.siterecovery.windowsazure.com");
	/* The apex and names outside the zone have none. */
	assert_int_equal(doctor_public_name("privatelink.blob.core.windows.net",
	    "privatelink.blob.core.windows.net", "blob.core.windows.net", out), -1);
	assert_int_equal(doctor_public_name("acct.xprivatelink.blob.core.windows.net",
	    "privatelink.blob.core.windows.net", "blob.core.windows.net", out), -1);
}

static void
test_asr_split(void **state)
{
	char vault[64], type[64], geo[64];

	(void)state;
	assert_int_equal(doctor_asr_split(
	    "3456789012345678901-asr-pod01-prot2-.eus.privatelink.siterecovery."
	    "windowsazure.com", vault, type, geo), 0);
	assert_string_equal(vault, "3456789012345678901");
	assert_string_equal(type, "prot2");
	assert_string_equal(geo, "eus");
	assert_int_equal(doctor_asr_split(
	    "v-asr-pod01-tel1-.ugv.privatelink.siterecovery.windowsazure.us",
	    vault, type, geo), 0);
	assert_string_equal(geo, "ugv");
	/* Not the documented form. */
	assert_int_equal(doctor_asr_split(
	    "v-asr-pod01-tel1.eus.privatelink.siterecovery.windowsazure.com",
	    vault, type, geo), -1);
	assert_int_equal(doctor_asr_split(
	    "-asr-pod01-tel1-.eus.privatelink.siterecovery.windowsazure.com",
	    vault, type, geo), -1);
	assert_int_equal(doctor_asr_split(
	    "v-asr-pod01--.eus.privatelink.siterecovery.windowsazure.com",
	    vault, type, geo), -1);
	assert_int_equal(doctor_asr_split("v-asr-pod01-tel1-.eus.example.com",
	    vault, type, geo), -1);
	assert_int_equal(doctor_asr_split("vault", vault, type, geo), -1);
}

/* ---- the Azure Migrate set ---- */

#define MIG	"privatelink.prod.migration.windowsazure.com"
#define ASR	"privatelink.siterecovery.windowsazure.com"
#define KV	"privatelink.vaultcore.azure.net"
#define BLOB	"privatelink.blob.core.windows.net"
#define V	"3456789012345678901-asr-pod01-"

static const struct doctor_finding *
find(const struct doctor_report *r, const char *check, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->f[i].check, check) == 0 && r->f[i].name != NULL &&
		    strcmp(r->f[i].name, name) == 0)
			return &r->f[i];
	return NULL;
}

static void
test_migrate_complete(void **state)
{
	static const char *const names[] = {
		"guid-agent.eus.disc." MIG, "guid-agent.eus.asm." MIG,
		V "id1-.eus." ASR, V "prot2-.eus." ASR, V "rcm1-.eus." ASR,
		V "srs1-.eus." ASR, V "tel1-.eus." ASR,
		"mig-kv.privatelink.vaultcore.azure.net",
		"migusa.privatelink.blob.core.windows.net",
	};
	struct doctor_report r;
	const struct doctor_finding *f;

	(void)state;
	doctor_report_init(&r);
	doctor_check_migrate(&r, names, nitems(names));
	assert_int_equal(r.n, 5);
	assert_int_equal(doctor_exit_status(&r), 0);
	f = find(&r, "migrate", MIG);
	assert_non_null(f);
	assert_string_equal(f->got, "2 records");
	assert_string_equal(f->zone, MIG);
	assert_null(f->hint);
	f = find(&r, "migrate", KV);
	assert_string_equal(f->expected, "the project's key vault");
	assert_string_equal(f->got, "1 record");
	f = find(&r, "migrate", BLOB);
	assert_string_equal(f->expected, "the project's storage account");
	f = find(&r, "site-recovery", V "*-.eus." ASR);
	assert_non_null(f);
	assert_int_equal(f->status, DOCTOR_OK);
	assert_string_equal(f->got, "id1, prot2, rcm1, srs1, tel1");
	doctor_report_clear(&r);
}

static void
test_migrate_gaps(void **state)
{
	static const char *const names[] = {
		"guid-agent.eus.disc." MIG,
		V "id1-.eus." ASR, V "prot2-.eus." ASR, V "srs1-.eus." ASR,
		V "tel1-.eus." ASR,
		/* a second vault in another geo, complete */
		"999-asr-pod01-id1-.weu." ASR, "999-asr-pod01-prot2-.weu." ASR,
		"999-asr-pod01-rcm1-.weu." ASR, "999-asr-pod01-srs1-.weu." ASR,
		"999-asr-pod01-tel1-.weu." ASR,
		"acct.privatelink.blob.core.windows.net",
	};
	static const char *const gov[] = {
		"guid-agent.uga.disc.privatelink.prod.migration.windowsazure.us",
	};
	static const char *const none[] = {
		"acct.privatelink.blob.core.windows.net",
		"kv.privatelink.vaultcore.azure.net",
	};
	struct doctor_report r;
	const struct doctor_finding *f;
	size_t ok, warn, prob;

	(void)state;
	doctor_report_init(&r);
	doctor_check_migrate(&r, names, nitems(names));
	/* The key vault is missing, and rcm1 of the first vault. */
	f = find(&r, "migrate", KV);
	assert_non_null(f);
	assert_int_equal(f->status, DOCTOR_PROBLEM);
	assert_string_equal(f->got, "none");
	assert_non_null(strstr(f->hint, "download DNS settings again"));
	f = find(&r, "site-recovery", V "rcm1-.eus." ASR);
	assert_non_null(f);
	assert_int_equal(f->status, DOCTOR_PROBLEM);
	assert_string_equal(f->got, "missing");
	assert_string_equal(f->expected, "an address record");
	assert_null(find(&r, "site-recovery", V "*-.eus." ASR));
	assert_non_null(find(&r, "site-recovery", "999-asr-pod01-*-.weu." ASR));
	doctor_count(&r, &ok, &warn, &prob);
	assert_int_equal(prob, 2);
	assert_int_equal(warn, 0);
	assert_int_equal(ok, 4);
	assert_int_equal(doctor_exit_status(&r), 1);
	doctor_report_clear(&r);

	/* Government: its own zones; Site Recovery missing is a warning. */
	doctor_report_init(&r);
	doctor_check_migrate(&r, gov, nitems(gov));
	assert_int_equal(r.n, 4);
	f = find(&r, "migrate", "privatelink.siterecovery.windowsazure.us");
	assert_int_equal(f->status, DOCTOR_WARNING);
	f = find(&r, "migrate", "privatelink.vaultcore.usgovcloudapi.net");
	assert_int_equal(f->status, DOCTOR_PROBLEM);
	f = find(&r, "migrate", "privatelink.blob.core.usgovcloudapi.net");
	assert_int_equal(f->status, DOCTOR_PROBLEM);
	assert_non_null(strstr(f->hint, "DNS configuration"));
	doctor_report_clear(&r);

	/* Storage and key vault alone are not Azure Migrate. */
	doctor_report_init(&r);
	doctor_check_migrate(&r, none, nitems(none));
	assert_int_equal(r.n, 0);
	doctor_report_clear(&r);
}

/* ---- output ---- */

static void
sample_report(struct doctor_report *r)
{
	struct doctor_finding *f;

	doctor_report_init(r);
	f = doctor_add(r, "privatelink", DOCTOR_OK, BLOB,
	    "acct." BLOB, "10.1.0.5", "10.1.0.5", NULL);
	doctor_set(&f->server, "127.0.0.1:5353");
	doctor_set(&f->where, "dns.csv:2");
	f->rtt_ms = 3;
	doctor_add(r, "address", DOCTOR_PROBLEM, KV, "kv." KV,
	    "a private address", "52.1.2.3", "the A record holds a public IP");
	f = doctor_add(r, "upstream", DOCTOR_WARNING, NULL, "127.0.0.1:5300",
	    "answers", "SERVFAIL in 2 ms", "");
	doctor_add(r, "public", DOCTOR_OK, BLOB, "acct.blob.core.windows.net",
	    "10.1.0.5", "10.1.0.5", NULL);
}

static void
test_report_sort_count(void **state)
{
	struct doctor_report r;
	size_t ok, warn, prob;
	char buf[128];

	(void)state;
	sample_report(&r);
	/* An empty hint is no hint. */
	assert_null(r.f[2].hint);
	doctor_sort(&r);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.f[0].check, "upstream");
	assert_string_equal(r.f[1].check, "privatelink");
	assert_string_equal(r.f[2].check, "public");
	assert_string_equal(r.f[3].check, "address");
	doctor_count(&r, &ok, &warn, &prob);
	assert_int_equal(ok, 2);
	assert_int_equal(warn, 1);
	assert_int_equal(prob, 1);
	assert_int_equal(doctor_exit_status(&r), 1);
	assert_string_equal(doctor_summary(&r, buf, sizeof(buf)),
	    "4 checks: 2 ok, 1 problem, 1 warning");
	doctor_report_clear(&r);

	doctor_report_init(&r);
	assert_int_equal(doctor_exit_status(&r), 0);
	doctor_sort(&r);
	doctor_add(&r, "listen", DOCTOR_WARNING, NULL, "x", NULL, NULL, "h");
	assert_int_equal(doctor_exit_status(&r), 0);
	assert_string_equal(doctor_summary(&r, buf, sizeof(buf)),
	    "1 check: 0 ok, 0 problems, 1 warning");
	doctor_report_clear(&r);
}

static void
test_json(void **state)
{
	static const char *const keys[] = {
		"check", "status", "zone", "name", "server", "expected", "got",
		"hint", "where", "rtt_ms"
	};
	struct doctor_report r;
	json_error_t err;
	json_t *a, *o;
	char *text;
	const char *k;
	size_t i;

	(void)state;
	sample_report(&r);
	text = doctor_json(&r);
	assert_int_equal(text[strlen(text) - 1], '\n');
	a = json_loads(text, 0, &err);
	assert_non_null(a);
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 4);
	/* Every object has every key, in the documented order. */
	json_array_foreach(a, i, o) {
		size_t n = 0;
		json_t *val;

		json_object_foreach(o, k, val) {
			assert_true(n < nitems(keys));
			assert_string_equal(k, keys[n]);
			n++;
		}
		assert_int_equal(n, nitems(keys));
	}
	o = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(o, "check")),
	    "privatelink");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "ok");
	assert_string_equal(json_string_value(json_object_get(o, "zone")), BLOB);
	assert_string_equal(json_string_value(json_object_get(o, "server")),
	    "127.0.0.1:5353");
	assert_string_equal(json_string_value(json_object_get(o, "where")),
	    "dns.csv:2");
	assert_int_equal(json_integer_value(json_object_get(o, "rtt_ms")), 3);
	o = json_array_get(a, 1);
	assert_string_equal(json_string_value(json_object_get(o, "status")),
	    "problem");
	assert_string_equal(json_string_value(json_object_get(o, "hint")),
	    "the A record holds a public IP");
	assert_true(json_is_null(json_object_get(o, "server")));
	assert_true(json_is_null(json_object_get(o, "where")));
	assert_true(json_is_null(json_object_get(o, "rtt_ms")));
	o = json_array_get(a, 2);
	assert_string_equal(json_string_value(json_object_get(o, "status")),
	    "warning");
	assert_true(json_is_null(json_object_get(o, "zone")));
	assert_true(json_is_null(json_object_get(o, "hint")));
	json_decref(a);
	free(text);

	/* No findings: an empty array. */
	doctor_report_clear(&r);
	doctor_report_init(&r);
	text = doctor_json(&r);
	assert_string_equal(text, "[]\n");
	free(text);
	doctor_report_clear(&r);
}

static void
test_table(void **state)
{
	struct doctor_report r;
	char *text = NULL, *line, *save;
	size_t len = 0;
	FILE *f;
	int n = 0;

	(void)state;
	sample_report(&r);
	doctor_sort(&r);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	doctor_print_table(&r, f);
	assert_int_equal(fclose(f), 0);

	assert_non_null(strstr(text, "CHECK"));
	assert_non_null(strstr(text, "\ninfrastructure\n! upstream "));
	assert_non_null(strstr(text, "\n\n" BLOB "\n\u2713 privatelink "));
	assert_non_null(strstr(text, "\n\n" KV "\n\u2717 address "));
	/* The hint closes the line, after the padded got column. */
	line = strstr(text, "52.1.2.3 ");
	assert_non_null(line);
	assert_non_null(strstr(line, "  the A record holds a public IP\n"));
	assert_true(strstr(line, "  the A record holds a public IP\n") <
	    strchr(line, '\n'));
	/* Ends with the summary line. */
	len = strlen(text);
	assert_true(len > 40);
	assert_string_equal(text + len - strlen("4 checks: 2 ok, 1 problem, "
	    "1 warning\n"), "4 checks: 2 ok, 1 problem, 1 warning\n");
	/* No line ends with blanks. */
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), n++)
		assert_int_not_equal(line[strlen(line) - 1], ' ');
	assert_true(n >= 9);
	free(text);
	doctor_report_clear(&r);
}

/* ---- names clients miss ---- */

static void
test_missed_parse(void **state)
{
	struct doctor_missed *m;
	size_t n;

	(void)state;
	assert_int_equal(doctor_missed_parse("{\"version\": \"1\", \"missing\": "
	    "{\"queries\": 40, \"names\": 2, \"limit\": 1000, \"top\": ["
	    "{\"name\": \"acct9.blob.core.windows.net\", \"zone\": "
	    "\"privatelink.blob.core.windows.net\", \"count\": 37, \"error\": 0, "
	    "\"first_seen\": 1, \"last_seen\": 2},"
	    "{\"name\": 7, \"zone\": \"z\", \"count\": 1},"
	    "{\"name\": \"x.privatelink.vaultcore.azure.net\", \"zone\": "
	    "\"privatelink.vaultcore.azure.net\", \"count\": 3}]}}", &m, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(m[0].name, "acct9.blob.core.windows.net");
	assert_string_equal(m[0].zone, "privatelink.blob.core.windows.net");
	assert_int_equal(m[0].count, 37);
	assert_string_equal(m[1].name, "x.privatelink.vaultcore.azure.net");
	assert_int_equal(m[1].count, 3);
	free(m);
	/* An older pldns, or not a /status document at all. */
	assert_int_equal(doctor_missed_parse("{\"version\": \"1\"}", &m, &n), -1);
	assert_null(m);
	assert_int_equal(doctor_missed_parse("<html>", &m, &n), -1);
	assert_int_equal(n, 0);
}

static void
test_judge_missed(void **state)
{
	struct doctor_missed m = { "acct9.blob.core.windows.net",
	    "privatelink.blob.core.windows.net", 37 };
	const char *pl = "acct9.privatelink.blob.core.windows.net";
	struct doctor_reply r = reply(DOCTOR_ANSWER, RCODE_NOERROR, "20.60.1.1", NULL);
	struct doctor_verdict v;

	(void)state;
	r.nchain = 2;
	pl_strlcpy(r.chain[0], pl, sizeof(r.chain[0]));
	pl_strlcpy(r.chain[1], "blob.xyz.store.core.windows.net", sizeof(r.chain[1]));
	doctor_judge_missed(&m, pl, false, &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.got, "asked 37 times; public DNS: CNAME to "
	    "acct9.privatelink.blob.core.windows.net");
	assert_string_equal(v.hint, "clients asked for acct9.blob.core.windows.net "
	    "37 times; public DNS says it has a private endpoint (CNAME to "
	    "acct9.privatelink.blob.core.windows.net); no source holds it: "
	    "download DNS settings again");
	/* Held by a source now: fixed (a reload away at most). */
	doctor_judge_missed(&m, pl, true, &r, &v);
	assert_int_equal(v.status, DOCTOR_OK);
	assert_string_equal(v.got, "asked 37 times; in the sources now");
	/* No privatelink CNAME: a public resource. */
	r.nchain = 1;
	pl_strlcpy(r.chain[0], "blob.xyz.store.core.windows.net", sizeof(r.chain[0]));
	doctor_judge_missed(&m, pl, false, &r, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);
	assert_string_equal(v.got, "asked 37 times; public DNS: no privatelink "
	    "CNAME, 20.60.1.1");
	/* NXDOMAIN: a name that does not exist. */
	m.count = 1;
	r = reply(DOCTOR_ANSWER, RCODE_NXDOMAIN, NULL, NULL);
	doctor_judge_missed(&m, pl, false, &r, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);
	assert_string_equal(v.got, "asked 1 time; public DNS: NXDOMAIN");
	assert_non_null(strstr(v.hint, "does not exist"));
	/* No upstream answered, or none to ask. */
	r = reply(DOCTOR_TIMEOUT, 0, NULL, NULL);
	doctor_judge_missed(&m, pl, false, &r, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);
	assert_string_equal(v.got, "asked 1 time; public DNS: timeout");
	doctor_judge_missed(&m, pl, false, NULL, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);
	assert_string_equal(v.got, "asked 1 time; public DNS: not asked");
}

/* ---- the infrastructure: reachability, UDP and TCP as one, resolver ---- */

static void
test_judge_reach(void **state)
{
	struct doctor_verdict v;
	struct doctor_reply r;

	(void)state;
	r = reply(DOCTOR_ANSWER, RCODE_NOERROR, "10.1.0.5", NULL);
	r.rtt_ms = 3;
	doctor_judge_reach("127.0.0.1:53", NULL, true, "a.example", "udp", &r, &v);
	assert_int_equal(v.status, DOCTOR_OK);
	assert_string_equal(v.got, "NOERROR in 3 ms");

	/* pldns: no reply is a problem with pldns's own hint. */
	r = reply(DOCTOR_CLOSED, 0, NULL, NULL);
	doctor_judge_reach("127.0.0.1:53", NULL, true, "a.example", "tcp", &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.got, "port closed");
	assert_string_equal(v.hint, "nothing listens on 127.0.0.1:53 over tcp: "
	    "start pldns (systemctl start pldns), or give --server the address "
	    "in [server] listen");
	r = reply(DOCTOR_ANSWER, RCODE_REFUSED, NULL, NULL);
	doctor_judge_reach("127.0.0.1:53", NULL, true, "a.example", "udp", &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.hint, "pldns refuses queries from this machine: "
	    "add its address to [server] allow");

	/* An upstream: its section is named, SERVFAIL is only a warning. */
	r = reply(DOCTOR_TIMEOUT, 0, NULL, NULL);
	doctor_judge_reach("192.0.2.1:53", "corp.example", false, "corp.example",
	    "udp", &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.got, "timeout");
	assert_string_equal(v.hint, "the upstream 192.0.2.1:53 does not answer: "
	    "fix [forward \"corp.example\"] servers in the configuration or make "
	    "the server reachable; pldns forwards every name it does not hold "
	    "there and answers SERVFAIL while it is dead");
	r = reply(DOCTOR_CLOSED, 0, NULL, NULL);
	doctor_judge_reach("192.0.2.1:53", NULL, false, "b.example", "udp", &r, &v);
	assert_non_null(strstr(v.hint, "does not answer (nothing listens on that "
	    "port): fix [upstream] servers"));
	r = reply(DOCTOR_ANSWER, RCODE_SERVFAIL, NULL, NULL);
	doctor_judge_reach("192.0.2.1:53", NULL, false, "b.example", "udp", &r, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);
	assert_string_equal(v.hint, "the upstream 192.0.2.1:53 answered SERVFAIL "
	    "for b.example: check that it reaches the internet (or the zone it "
	    "serves)");
	r = reply(DOCTOR_ANSWER, RCODE_REFUSED, NULL, NULL);
	doctor_judge_reach("192.0.2.1:53", NULL, false, "b.example", "udp", &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_non_null(strstr(v.hint, "allow pldns's address for recursion on "
	    "it, or change [upstream] servers"));
	r = reply(DOCTOR_BADREPLY, 0, NULL, NULL);
	pl_strlcpy(r.error, "short", sizeof(r.error));
	doctor_judge_reach("192.0.2.1:53", NULL, false, "b.example", "udp", &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.got, "bad reply: short");
}

static void
test_merge(void **state)
{
	struct doctor_verdict u, t, m;

	(void)state;
	memset(&u, 0, sizeof(u));
	memset(&t, 0, sizeof(t));
	pl_strlcpy(u.got, "10.1.0.5", sizeof(u.got));
	pl_strlcpy(t.got, "10.1.0.5", sizeof(t.got));
	doctor_merge(&m, &u, &t);
	assert_int_equal(m.status, DOCTOR_OK);
	assert_string_equal(m.got, "10.1.0.5");

	/* Only one transport asked. */
	t.status = DOCTOR_PROBLEM;
	pl_strlcpy(t.got, "timeout", sizeof(t.got));
	pl_strlcpy(t.hint, "tcp hint", sizeof(t.hint));
	doctor_merge(&m, NULL, &t);
	assert_int_equal(m.status, DOCTOR_PROBLEM);
	assert_string_equal(m.got, "timeout");

	/* They differ: the worse status and its hint, both answers. */
	doctor_merge(&m, &u, &t);
	assert_int_equal(m.status, DOCTOR_PROBLEM);
	assert_string_equal(m.got, "udp: 10.1.0.5; tcp: timeout");
	assert_string_equal(m.hint, "tcp hint");
	/* The worse one without a hint borrows the other's. */
	u.status = DOCTOR_WARNING;
	pl_strlcpy(u.hint, "udp hint", sizeof(u.hint));
	t.hint[0] = '\0';
	doctor_merge(&m, &u, &t);
	assert_string_equal(m.hint, "udp hint");
}

static void
test_judge_resolver(void **state)
{
	struct doctor_ip want[] = { ip("10.1.0.5") };
	struct doctor_resolver_want w = {
		.resolv_path = "/etc/resolv.conf",
		.name = "acct.blob.core.windows.net",
		.ips = want, .nips = 1,
		.zones = "blob.core.windows.net", .nzones = 1,
		.here = "this server (10.0.0.53)",
		.config = "/etc/pldns/pldns.ini",
	};
	struct doctor_verdict v;
	struct doctor_reply r;

	(void)state;
	r = reply(DOCTOR_ANSWER, RCODE_NOERROR, "10.1.0.5", NULL);
	doctor_judge_resolver(&w, "10.0.0.1:53", &r, &v);
	assert_int_equal(v.status, DOCTOR_OK);
	assert_string_equal(v.got, "10.1.0.5");

	r = reply(DOCTOR_ANSWER, RCODE_NOERROR, "10.9.9.9", NULL);
	doctor_judge_resolver(&w, "10.0.0.1:53", &r, &v);
	assert_int_equal(v.status, DOCTOR_PROBLEM);
	assert_string_equal(v.hint, "this machine's resolver 10.0.0.1:53 answers "
	    "acct.blob.core.windows.net with another private address: another "
	    "internal resolver or private DNS zone holds a different record; fix "
	    "that zone, or give the resolver a conditional forwarder for "
	    "blob.core.windows.net pointing at this server (10.0.0.53) instead");

	/* The public answer: it does not reach pldns. */
	w.nzones = 2;
	w.zones = "blob.core.windows.net, vault.azure.net";
	r = reply(DOCTOR_ANSWER, RCODE_NOERROR, "20.60.1.1", NULL);
	doctor_judge_resolver(&w, "10.0.0.1:53", &r, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);
	assert_string_equal(v.got, "20.60.1.1 (public)");
	assert_string_equal(v.hint, "this machine's resolver 10.0.0.1:53 (from "
	    "/etc/resolv.conf) does not reach pldns for acct.blob.core.windows.net: "
	    "add conditional forwarders for blob.core.windows.net, vault.azure.net "
	    "pointing at this server (10.0.0.53) on it (pldns forwarders -c "
	    "/etc/pldns/pldns.ini prints them for Windows DNS, BIND, Unbound, "
	    "dnsmasq and CoreDNS)");
	r = reply(DOCTOR_ANSWER, RCODE_NXDOMAIN, NULL, NULL);
	doctor_judge_resolver(&w, "10.0.0.1:53", &r, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);
	assert_string_equal(v.got, "NXDOMAIN");
	r = reply(DOCTOR_ANSWER, RCODE_NOERROR, NULL, NULL);
	doctor_judge_resolver(&w, "10.0.0.1:53", &r, &v);
	assert_string_equal(v.got, "no address");
	r = reply(DOCTOR_TIMEOUT, 0, NULL, NULL);
	doctor_judge_resolver(&w, "10.0.0.1:53", &r, &v);
	assert_int_equal(v.status, DOCTOR_WARNING);
	assert_string_equal(v.got, "timeout");
}

static void
test_small_helpers(void **state)
{
	struct doctor_ip set[] = { ip("10.1.0.5"), ip("fd00::5") };
	struct doctor_ip x = ip("fd00::5"), y = ip("10.1.0.6");
	char buf[64];

	(void)state;
	assert_true(doctor_ip_in(&x, set, 2));
	assert_false(doctor_ip_in(&x, set, 1));
	assert_false(doctor_ip_in(&y, set, 2));
	assert_string_equal(doctor_ip_str(&x, buf, sizeof(buf)), "fd00::5");
	assert_string_equal(doctor_ip_str(&y, buf, 4), "?");
	assert_true(doctor_name_below("a.blob.core.windows.net",
	    "blob.core.windows.net"));
	assert_false(doctor_name_below("blob.core.windows.net",
	    "blob.core.windows.net"));
	assert_false(doctor_name_below("ablob.core.windows.net",
	    "blob.core.windows.net"));
}

static struct doctor_rrset
rrset(const char *name, const char *a1, const char *w1, const char *a2,
    const char *w2)
{
	struct doctor_rrset s;

	memset(&s, 0, sizeof(s));
	pl_strlcpy(s.name, name, sizeof(s.name));
	s.ips[s.nips] = ip(a1);
	s.wheres[s.nips++] = w1;
	if (a2 != NULL) {
		s.ips[s.nips] = ip(a2);
		s.wheres[s.nips++] = w2;
	}
	return s;
}

static void
test_duplicates(void **state)
{
	const char *zone = BLOB;
	struct doctor_rrset s[4];
	const struct doctor_rrset *all[4];
	struct doctor_report r;

	(void)state;
	s[0] = rrset("a." BLOB, "10.1.0.5", "pe.csv:2", NULL, NULL);
	s[1] = rrset("b." BLOB, "10.1.0.5", "pe.csv:3", NULL, NULL);
	s[2] = rrset("c." BLOB, "10.1.0.5", "old.csv:9", NULL, NULL);
	/* The same name as A for AAAA: not another name. */
	s[3] = rrset("a." BLOB, "10.1.0.5", "pe.csv:4", "fd00::5", "pe.csv:5");
	for (size_t i = 0; i < 4; i++)
		all[i] = &s[i];

	doctor_report_init(&r);
	doctor_check_duplicates(&r, zone, &s[0], all, 4);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.f[0].check, "duplicate-address");
	assert_int_equal(r.f[0].status, DOCTOR_WARNING);
	assert_string_equal(r.f[0].zone, zone);
	assert_string_equal(r.f[0].name, "a." BLOB);
	assert_string_equal(r.f[0].got, "10.1.0.5 is also b." BLOB
	    " (pe.csv:3) and 1 more");
	assert_string_equal(r.f[0].where, "pe.csv:2");
	doctor_report_clear(&r);

	/* One name, its addresses from one file: nothing. */
	doctor_report_init(&r);
	s[1] = rrset("b." BLOB, "10.1.0.6", "pe.csv:3", "10.1.0.7", "pe.csv:8");
	doctor_check_duplicates(&r, zone, &s[1], all, 4);
	assert_int_equal(r.n, 0);

	/* From two files: one of them is stale. */
	s[1] = rrset("b." BLOB, "10.1.0.6", "pe.csv:3", "10.1.0.7", "old.csv:1");
	doctor_check_duplicates(&r, zone, &s[1], all, 4);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.f[0].check, "duplicate-name");
	assert_string_equal(r.f[0].got, "10.1.0.6 (pe.csv:3), 10.1.0.7 "
	    "(old.csv:1)");
	assert_string_equal(r.f[0].where, "pe.csv:3");
	assert_non_null(strstr(r.f[0].hint, "two sources give this name "
	    "different addresses"));
	doctor_report_clear(&r);

	/* A file named without a line counts as that file. */
	doctor_report_init(&r);
	s[1] = rrset("b." BLOB, "10.1.0.6", "pe.csv", "10.1.0.7", "pe.csv:9");
	doctor_check_duplicates(&r, zone, &s[1], all, 4);
	assert_int_equal(r.n, 0);
	doctor_report_clear(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_parse),
		cmocka_unit_test(test_reply_parse_bounds),
		cmocka_unit_test(test_ips),
		cmocka_unit_test(test_judge_pldns),
		cmocka_unit_test(test_judge_upstream),
		cmocka_unit_test(test_judge_address),
		cmocka_unit_test(test_public_name),
		cmocka_unit_test(test_asr_split),
		cmocka_unit_test(test_migrate_complete),
		cmocka_unit_test(test_migrate_gaps),
		cmocka_unit_test(test_report_sort_count),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_missed_parse),
		cmocka_unit_test(test_judge_missed),
		cmocka_unit_test(test_judge_reach),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_judge_resolver),
		cmocka_unit_test(test_small_helpers),
		cmocka_unit_test(test_duplicates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
