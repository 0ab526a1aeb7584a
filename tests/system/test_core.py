#!/usr/bin/python3
"""System tests for the core daemon (issue 2): local zones, forwarding,
upstream failure handling, transport, EDNS, malformed input, the CLI.

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_core.py [NAME-SUBSTRING...]
"""

import json
import os
import random
import re
import socket
import multiprocessing
import struct
import time
import urllib.request

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype

from harness import (SLOW, Shared, Skip, Timer, answer_ttls, eq, expect, expect_empty,
                     expect_flag, expect_rcode, expect_section, free_port,
                     ipv6_ok, make_config, make_query, query, query_wire,
                     question_bytes, run_pldns, send, show, tcp_read_msg,
                     test, watch, daemon_extra, Fakeup, Pldns, Dir, main)

BLOB = "privatelink.blob.core.windows.net"
VAULT = "privatelink.vaultcore.azure.net"
SOA_BLOB = ("%s. 3600 SOA azureprivatedns.net. azureprivatedns-host.microsoft.com. "
            "1 3600 300 2419200 10" % BLOB)

BIG_N = 40
BLOB_ZONE = """$ORIGIN %s.
$TTL 10
@          3600 IN SOA   azureprivatedns.net. azureprivatedns-host.microsoft.com. 1 3600 300 2419200 10
@          3600 IN NS    azureprivatedns.net.
acct         10 IN A     10.1.0.5
acct         10 IN TXT   "owner=test"
dual         10 IN A     10.1.0.6
dual         10 IN AAAA  fd00::6
alias        10 IN CNAME acct
alias2       10 IN CNAME alias.%s.
*.wild       10 IN A     10.9.9.9
host.wild    10 IN A     10.9.9.1
deep.ent     10 IN A     10.8.0.1
loopa        10 IN CNAME loopb
loopb        10 IN CNAME loopa
mx           10 IN MX    10 mail.example.com.
unk          10 IN TYPE65280 \\# 4 0a000001
""" % (BLOB, BLOB) + "".join("big          10 IN A     10.7.0.%d\n" % i
                             for i in range(1, BIG_N + 1))

# a zone file without SOA and NS: pldns synthesizes them
VAULT_ZONE = """$ORIGIN %s.
kv           10 IN A     10.2.0.5
""" % VAULT

UP_DATA = {
    "records": [
        "example.net. 3600 SOA ns.example.net. hostmaster.example.net. 1 3600 300 2419200 300",
        "example. 3600 SOA ns.example. hostmaster.example. 1 3600 300 2419200 300",
        "www.example.net. 300 A 93.184.216.34",
        "www.example.net. 300 AAAA 2606:2800:220:1:248:1893:25c8:1946",
        "*.fwd.example.net. 300 A 192.0.2.10",
        "*.slow.example.net. 300 A 192.0.2.1",
        "tc.example.net. 300 A 192.0.2.2",
        "tc.example.net. 300 A 192.0.2.3",
        "tc.example.net. 300 A 192.0.2.4",
        "spoof.example.net. 300 A 192.0.2.80",
        "spoofq.example.net. 300 A 192.0.2.81",
        "spoofp.example.net. 300 A 192.0.2.82",
        "unk.example.net. 300 TYPE65280 \\# 4 0a000001",
        "xcorp.example. 300 A 192.0.2.99",
        "host.corp.example. 300 A 192.0.2.98",   # must not be used: forwarded
    ] + ["big.example.net. 300 A 192.0.2.%d" % i for i in range(100, 100 + BIG_N)],
    "behaviours": {
        "*.slow.example.net.": ["delay 800"],
        "tc.example.net.": ["truncate"],
        "spoof.example.net.": ["spoof"],
        "spoofq.example.net.": ["spoof-qname"],
        "spoofp.example.net.": ["spoof-port"],
    },
}
CORP_DATA = {"records": [
    "corp.example. 3600 SOA ns.corp.example. hostmaster.corp.example. 1 3600 300 2419200 300",
    "host.corp.example. 300 A 10.20.0.1",
    "host.dept.corp.example. 300 A 10.20.0.2",  # must not be used
]}
DEPT_DATA = {"records": [
    "dept.corp.example. 3600 SOA ns.dept.corp.example. hostmaster.dept.corp.example. 1 3600 300 2419200 300",
    "host.dept.corp.example. 300 A 10.30.0.1",
]}


def _core():
    d = Dir("core")
    up = Fakeup(UP_DATA, d, name="up")
    corp = Fakeup(CORP_DATA, d, name="corp")
    dept = Fakeup(DEPT_DATA, d, name="dept")
    port = free_port()
    conf = make_config(port, upstreams=[up.addr], timeout_ms=1000,
                       deadline_ms=2000,
                       forwards=[("corp.example", [corp.addr]),
                                 ("dept.corp.example", [dept.addr])],
                       zones=[(BLOB, {"file": "blob.zone"}),
                              (VAULT, {"file": "vault.zone"})],
                       extra=daemon_extra())
    p = Pldns(d, conf, {"blob.zone": BLOB_ZONE, "vault.zone": VAULT_ZONE},
              port=port)
    watch(p)
    return {"port": port, "up": up, "corp": corp, "dept": dept, "pldns": p,
            "dir": d}


CORE = Shared(_core)


def core():
    return CORE.get()


def uniq(prefix):
    return "%s-%d-%d" % (prefix, os.getpid(), random.randrange(1 << 30))


# ------------------------------------------------------------------ CLI

@test("pldns version exits 0 and prints a version")
def t_version(t):
    rc, out, err = run_pldns(["version"])
    eq(rc, 0, "exit code of 'pldns version'")
    expect(out.strip() != "", "'pldns version' prints something", got=repr(out))


@test("pldns --help exits 0 and names the verbs")
def t_help(t):
    rc, out, err = run_pldns(["--help"])
    eq(rc, 0, "exit code of 'pldns --help'")
    text = out + err
    for verb in ("serve", "check-config", "version"):
        expect(verb in text, "--help mentions %s" % verb, got=text[:500])


@test("pldns serve --help and check-config --help exit 0")
def t_verb_help(t):
    for verb in ("serve", "check-config"):
        rc, out, err = run_pldns([verb, "--help"])
        eq(rc, 0, "exit code of 'pldns %s --help'" % verb)
        expect("-c" in out + err, "'%s --help' documents -c" % verb,
               got=(out + err)[:500])


@test("unknown verb: usage error, exit 64")
def t_bad_verb(t):
    rc, out, err = run_pldns(["no-such-verb"])
    eq(rc, 64, "exit code of 'pldns no-such-verb'")


def _roff_text(line):
    """The text of one roff line of a synopsis: font macros (.B, .RB, ...)
    and escapes removed, as man would print it."""
    line = line.replace("\\-", "-").replace("\\~", " ")
    line = re.sub(r"\\f[BIRP]", "", line)
    m = re.match(r"^\.(B|I|BR|RB|IR|RI|BI|IB)\s+(.*)$", line)
    if m is None:
        return line
    args = re.findall(r'"[^"]*"|\S+', m.group(2))
    args = [a.strip('"') for a in args]
    # .B and .I set their words in one font; the others alternate fonts
    # and join their arguments without spaces.
    return (" " if m.group(1) in ("B", "I") else "").join(args)


def _man_synopsis():
    """{verb: synopsis} from pldns(8), lower-case, blanks folded."""
    text = open(os.path.join(os.environ.get("PLDNS_SRCDIR", ".."), "man",
                             "pldns.8")).read()
    body = text.split(".SH SYNOPSIS\n", 1)[1].split("\n.SH ", 1)[0]
    out = {}
    for entry in body.split("\n.br\n"):
        words = " ".join(_roff_text(l) for l in entry.splitlines()).split()
        if len(words) >= 2 and words[0] == "pldns" and words[1] != "verb":
            out[words[1]] = " ".join(words[2:]).lower()
    return out


def _usage_synopsis(verb):
    """The synopsis of 'pldns VERB --help' (its usage line and the lines
    that continue it), lower-case, blanks folded."""
    rc, out, err = run_pldns([verb, "--help"])
    eq(rc, 0, "exit code of 'pldns %s --help'" % verb)
    lines = out.splitlines()
    lead = "usage: pldns %s" % verb
    expect(lines and lines[0].startswith(lead), "usage line of %s" % verb,
           got=out[:300])
    syn = [lines[0][len(lead):]]
    for l in lines[1:]:
        if not re.match(r"^ {%d}\S" % (len(lead) + 1), l):
            break
        syn.append(l)
    return " ".join(" ".join(syn).split()).lower()


@test("pldns(8) SYNOPSIS and the verbs' usage agree, verb by verb")
def t_man_synopsis(t):
    man = _man_synopsis()
    rc, out, err = run_pldns(["--help"])
    listed = [l.split()[0] for l in out.splitlines()
              if re.match(r"^  [a-z]", l)]
    eq(sorted(listed), sorted(man), "verbs of 'pldns --help' and of pldns(8)")
    for verb in sorted(man):
        eq(_usage_synopsis(verb), man[verb], "synopsis of %s" % verb)


@test("an operand a verb does not take is a usage error, exit 64")
def t_stray_operand(t):
    for args in (["check-config", "pldns.ini"], ["serve", "extra"],
                 ["version", "extra"], ["sync", "a", "b"]):
        rc, out, err = run_pldns(args)
        eq(rc, 64, "exit code of 'pldns %s'" % " ".join(args))
        expect(err.startswith("usage: pldns %s" % args[0]),
               "usage on stderr", got=err[:200])
        eq(out, "", "nothing on stdout")


@test("every verb reads the same configuration without -c")
def t_default_config(t):
    paths = {}
    for verb in (["check-config"], ["sync"], ["forwarders", "--server",
                 "10.0.0.53", "--format", "bind"], ["doctor"]):
        rc, out, err = run_pldns(verb)
        m = re.search(r"^(\S+pldns\.ini): ", out + err, re.M)
        expect(m is not None, "%s names the configuration" % verb[0],
               got=out + err)
        paths[verb[0]] = m.group(1)
    eq(len(set(paths.values())), 1, "one default configuration: %r" % paths)


def _good_conf(t):
    port = free_port()
    t.dir.write("blob.zone", BLOB_ZONE)
    return t.dir.write("good.ini", make_config(
        port, upstreams=["127.0.0.1:%d" % free_port()], timeout_ms=500,
        zones=[(BLOB, {"file": "blob.zone"})], extra=daemon_extra()))


@test("check-config: a good config prints 'configuration OK', exit 0")
def t_check_ok(t):
    conf = _good_conf(t)
    rc, out, err = run_pldns(["check-config", "-c", conf])
    eq(rc, 0, "exit code (stdout %r, stderr %r)" % (out, err))
    expect("configuration OK" in out + err, "prints 'configuration OK'",
           got=out + err)


BAD_CONF = """[server]
listen = 127.0.0.1:%d
bogus_key = 1

[upstream]
servers = 127.0.0.1:%d
timeout_ms = soon

[no_such_section]
x = 1
"""


@test("check-config: bad config reports every error as file:line, exit 78")
def t_check_bad(t):
    conf = t.dir.write("bad.ini", BAD_CONF % (free_port(), free_port()))
    rc, out, err = run_pldns(["check-config", "-c", conf])
    text = out + err
    t.note("output:\n" + text)
    eq(rc, 78, "exit code of check-config on a bad config")
    for line, what in ((3, "unknown key"), (7, "bad value"), (9, "unknown section")):
        want = "%s:%d:" % (conf, line)
        alt = "bad.ini:%d:" % line
        expect(want in text or alt in text,
               "%s reported with file:line" % what, expected=want, got=text)
    expect("configuration OK" not in text, "no 'configuration OK'", got=text)


@test("check-config: missing zone file is an error with file:line, exit 78")
def t_check_missing_file(t):
    conf = t.dir.write("mz.ini", make_config(
        free_port(), upstreams=["127.0.0.1:%d" % free_port()],
        zones=[(BLOB, {"file": "does-not-exist.zone"})], extra=daemon_extra()))
    rc, out, err = run_pldns(["check-config", "-c", conf])
    text = out + err
    eq(rc, 78, "exit code (output %r)" % text)
    expect("does-not-exist.zone" in text, "names the missing file", got=text)
    expect(any(re.search(r"mz\.ini:\d+:", l) for l in text.splitlines()
               if "does-not-exist.zone" in l),
           "the message names the file and carries mz.ini:LINE:", got=text)


@test("serve refuses a bad config: exits 78 with file:line, never serves")
def t_serve_bad(t):
    conf = t.dir.write("bad.ini", BAD_CONF % (free_port(), free_port()))
    rc, out, err = run_pldns(["serve", "-f", "-c", conf], timeout=15)
    text = out + err
    expect(rc != 0, "serve exits non-zero on a bad config", got=rc)
    eq(rc, 78, "exit code of serve on a bad config (output %r)" % text)
    expect("bad.ini:3:" in text, "says why with file:line", got=text)
    expect("serving" not in text, "never logs 'serving'", got=text)


# ------------------------------------------------------------------ local zones

@test("local A from a zone file: AA, exact answer (UDP and TCP)")
def t_local_a(t):
    c = core()
    for proto in ("udp", "tcp"):
        r = query(c["port"], "acct.%s." % BLOB, "A", proto=proto)
        expect_rcode(r, "NOERROR", proto)
        expect_flag(r, dns.flags.AA, True, proto)
        expect_flag(r, dns.flags.RD, True, "(echoed) " + proto)
        expect_flag(r, dns.flags.TC, False, proto)
        expect_section(r.answer, ["acct.%s. 10 A 10.1.0.5" % BLOB], "answer " + proto)


@test("NXDOMAIN carries the zone SOA in authority (RFC 2308)")
def t_nxdomain(t):
    c = core()
    for proto in ("udp", "tcp"):
        r = query(c["port"], "nosuch.%s." % BLOB, "A", proto=proto)
        expect_rcode(r, "NXDOMAIN", proto)
        expect_flag(r, dns.flags.AA, True, proto)
        expect_empty(r.answer, "answer " + proto)
        _expect_soa(r, BLOB, proto)


def _expect_soa(r, zone, what, fields=None):
    soas = [rrs for rrs in r.authority if rrs.rdtype == dns.rdatatype.SOA]
    expect(len(soas) == 1, "one SOA in authority (%s)" % what, got=show(r))
    s = soas[0]
    eq(s.name.to_text().lower(), zone + ".", "SOA owner (%s)" % what)
    rd = s[0]
    want = fields or {"mname": "azureprivatedns.net.",
                      "rname": "azureprivatedns-host.microsoft.com.",
                      "refresh": 3600, "retry": 300, "expire": 2419200,
                      "minimum": 10}
    for k, v in want.items():
        got = getattr(rd, k)
        got = got.to_text().lower() if k in ("mname", "rname") else got
        eq(got, v, "SOA %s (%s)" % (k, what))
    expect(s.ttl in (3600, 10), "SOA TTL is the SOA's (3600) or its minimum "
           "(10, RFC 2308) (%s)" % what, got=s.ttl)
    return s


@test("NODATA: NOERROR, empty answer, SOA in authority")
def t_nodata(t):
    c = core()
    r = query(c["port"], "acct.%s." % BLOB, "AAAA")
    expect_rcode(r, "NOERROR")
    expect_flag(r, dns.flags.AA, True)
    expect_empty(r.answer, "answer")
    _expect_soa(r, BLOB, "AAAA")
    # an empty non-terminal exists: NODATA, not NXDOMAIN
    r = query(c["port"], "ent.%s." % BLOB, "A")
    expect_rcode(r, "NOERROR", "for the empty non-terminal ent")
    expect_empty(r.answer, "answer for ent")
    _expect_soa(r, BLOB, "ent")


@test("wildcard (RFC 4592): matches, deeper names, existing name blocks it")
def t_wildcard(t):
    c = core()
    p = c["port"]
    r = query(p, "foo.wild.%s." % BLOB)
    expect_rcode(r, "NOERROR", "foo.wild")
    expect_flag(r, dns.flags.AA, True, "foo.wild")
    expect_section(r.answer, ["foo.wild.%s. 10 A 10.9.9.9" % BLOB], "foo.wild answer")
    r = query(p, "a.b.wild.%s." % BLOB)
    expect_section(r.answer, ["a.b.wild.%s. 10 A 10.9.9.9" % BLOB], "a.b.wild answer")
    r = query(p, "host.wild.%s." % BLOB)
    expect_section(r.answer, ["host.wild.%s. 10 A 10.9.9.1" % BLOB],
                   "host.wild (exact match beats the wildcard)")
    r = query(p, "x.host.wild.%s." % BLOB)
    expect_rcode(r, "NXDOMAIN", "x.host.wild: host.wild exists and blocks *.wild")
    expect_empty(r.answer, "x.host.wild answer")
    r = query(p, "foo.wild.%s." % BLOB, "AAAA")
    expect_rcode(r, "NOERROR", "foo.wild AAAA")
    expect_empty(r.answer, "foo.wild AAAA answer (NODATA)")
    _expect_soa(r, BLOB, "wildcard NODATA")
    r = query(p, "wild.%s." % BLOB)
    expect_rcode(r, "NOERROR", "wild itself is an empty non-terminal")
    expect_empty(r.answer, "wild answer")
    r = query(p, "*.wild.%s." % BLOB)
    expect_section(r.answer, ["*.wild.%s. 10 A 10.9.9.9" % BLOB], "the * name itself")


@test("CNAME inside a local zone is followed (chain in order)")
def t_local_cname(t):
    c = core()
    r = query(c["port"], "alias2.%s." % BLOB)
    expect_rcode(r, "NOERROR")
    expect_flag(r, dns.flags.AA, True)
    expect_section(r.answer, [
        "alias2.%s. 10 CNAME alias.%s." % (BLOB, BLOB),
        "alias.%s. 10 CNAME acct.%s." % (BLOB, BLOB),
        "acct.%s. 10 A 10.1.0.5" % BLOB], "answer", order=True)
    r = query(c["port"], "alias.%s." % BLOB, "CNAME")
    expect_section(r.answer, ["alias.%s. 10 CNAME acct.%s." % (BLOB, BLOB)],
                   "qtype CNAME: the CNAME alone")


@test("local CNAME loop: answered (no hang), daemon alive")
def t_local_loop(t):
    c = core()
    r = query(c["port"], "loopa.%s." % BLOB)
    t.note("loop answer:\n" + show(r))
    expect(rcode_ok_or_servfail(r), "NOERROR or SERVFAIL", got=dns.rcode.to_text(r.rcode()))
    expect(len(r.answer) <= 17, "bounded answer", got=len(r.answer))
    r = query(c["port"], "acct.%s." % BLOB)
    expect_rcode(r, "NOERROR", "after the loop")


def rcode_ok_or_servfail(r):
    return r.rcode() in (dns.rcode.NOERROR, dns.rcode.SERVFAIL)


@test("names match case-insensitively; question echoed byte for byte")
def t_case(t):
    c = core()
    qn = "AcCt.PrivateLink.BLOB.core.WINDOWS.net."
    for proto in ("udp", "tcp"):
        q = make_query(qn, "A")
        qwire = q.to_wire()
        if proto == "udp":
            rwire = query_wire(c["port"], qwire, "udp", timeout=2)
        else:
            rwire = query_wire(c["port"], qwire, "tcp", timeout=2)
        expect(rwire is not None, "an answer over %s" % proto)
        eq(question_bytes(rwire), question_bytes(qwire),
           "question section bytes (%s)" % proto)
        r = dns.message.from_wire(rwire)
        expect_rcode(r, "NOERROR", proto)
        expect_section(r.answer, ["acct.%s. 10 A 10.1.0.5" % BLOB], "answer " + proto)


@test("ANY is answered minimally (RFC 8482)")
def t_any(t):
    c = core()
    for proto in ("udp", "tcp"):
        r = query(c["port"], "acct.%s." % BLOB, "ANY", proto=proto)
        expect_rcode(r, "NOERROR", proto)
        expect(len(r.answer) == 1, "exactly one RRset (%s)" % proto, got=show(r))
        rrs = r.answer[0]
        ok = (rrs.rdtype == dns.rdatatype.HINFO and "RFC8482" in rrs[0].to_text()) \
            or (rrs.rdtype == dns.rdatatype.A and
                {x.to_text() for x in rrs} == {"10.1.0.5"}) \
            or (rrs.rdtype == dns.rdatatype.TXT)
        expect(ok, "the RRset is one of acct's or HINFO RFC8482 (%s)" % proto,
               got=show(r))


@test("other record types from zones are served (MX, SOA, NS, unknown type)")
def t_other_types(t):
    c = core()
    p = c["port"]
    r = query(p, "mx.%s." % BLOB, "MX")
    expect_section(r.answer, ["mx.%s. 10 MX 10 mail.example.com." % BLOB], "MX")
    r = query(p, "unk.%s." % BLOB, "TYPE65280")
    expect_section(r.answer, ["unk.%s. 10 TYPE65280 \\# 4 0a000001" % BLOB],
                   "unknown type (RFC 3597)")
    r = query(p, "%s." % BLOB, "SOA")
    expect_flag(r, dns.flags.AA, True, "SOA")
    expect_section(r.answer, [SOA_BLOB], "SOA at apex")
    r = query(p, "%s." % BLOB, "NS")
    expect_section(r.answer, ["%s. 3600 NS azureprivatedns.net." % BLOB], "NS at apex")


@test("other classes (CH, HS): REFUSED, never answered from IN data")
def t_other_classes(t):
    c = core()
    for cls in ("CH", "HS"):
        for proto in ("udp", "tcp"):
            r = query(c["port"], make_query("acct.%s." % BLOB, "A", rdclass=cls),
                      proto=proto)
            expect_rcode(r, "REFUSED", "class %s over %s" % (cls, proto))
            expect_empty(r.answer, "class %s answer" % cls)


@test("zone without SOA/NS: synthesized SOA with Azure's defaults")
def t_synth_soa(t):
    c = core()
    r = query(c["port"], "kv.%s." % VAULT)
    expect_section(r.answer, ["kv.%s. 10 A 10.2.0.5" % VAULT], "kv")
    r = query(c["port"], "nosuch.%s." % VAULT)
    expect_rcode(r, "NXDOMAIN")
    _expect_soa(r, VAULT, "synthesized", {"refresh": 3600, "retry": 300,
                                          "expire": 2419200, "minimum": 10})
    r = query(c["port"], "%s." % VAULT, "SOA")
    expect(len(r.answer) == 1 and r.answer[0].rdtype == dns.rdatatype.SOA,
           "SOA query at the apex answers the synthesized SOA", got=show(r))
    eq(r.answer[0].ttl, 3600, "synthesized SOA TTL")
    r = query(c["port"], "%s." % VAULT, "NS")
    expect(len(r.answer) == 1 and r.answer[0].rdtype == dns.rdatatype.NS,
           "NS query at the apex answers a synthesized NS", got=show(r))


@test("a name under a local zone never goes upstream")
def t_local_not_upstream(t):
    c = core()
    for f in (c["up"], c["corp"], c["dept"]):
        f.reset()
    p = c["port"]
    for proto in ("udp", "tcp"):
        for name, typ in (("acct", "A"), ("acct", "AAAA"), ("nosuch", "A"),
                          ("x.wild", "A"), ("acct", "ANY"), ("deep.nosuch", "MX"),
                          ("Acct", "TXT"), ("ent", "A")):
            query(p, "%s.%s." % (name, BLOB), typ, proto=proto)
        query(p, "nosuch.%s." % VAULT, "A", proto=proto)
    for f in (c["up"], c["corp"], c["dept"]):
        eq(f.count(), 0, "queries seen by upstream %s" % f.name)


# ------------------------------------------------------------------ forwarding

@test("forwarded answer: RD/RA set, AA clear, answer equal to the upstream's")
def t_forward(t):
    c = core()
    direct = query(c["up"].port, "www.example.net.", "A")
    for proto in ("udp", "tcp"):
        r = query(c["port"], "www.example.net.", "A", proto=proto)
        expect_rcode(r, "NOERROR", proto)
        expect_flag(r, dns.flags.RD, True, proto)
        expect_flag(r, dns.flags.RA, True, proto)
        expect_flag(r, dns.flags.AA, False, proto)
        expect_section(r.answer, ["www.example.net. 300 A 93.184.216.34"],
                       "answer " + proto, ttl="max")
        expect_section(r.answer, [x.to_text() for x in direct.answer],
                       "answer equals the upstream's direct answer (%s)" % proto,
                       ttl="max")


@test("forwarded: client's ID and question case restored")
def t_forward_case(t):
    c = core()
    name = "MiXeD-%d.Fwd.Example.NET." % random.randrange(1 << 20)
    for proto, qid in (("udp", 0x1234), ("tcp", 0xBEEF)):
        q = make_query(name, "A", qid=qid)
        qwire = q.to_wire()
        rwire = query_wire(c["port"], qwire, proto, timeout=3)
        expect(rwire is not None, "an answer (%s)" % proto)
        eq(struct.unpack("!H", rwire[:2])[0], qid, "response ID (%s)" % proto)
        eq(question_bytes(rwire), question_bytes(qwire), "question bytes (%s)" % proto)
        r = dns.message.from_wire(rwire)
        expect_section(r.answer, ["%s 300 A 192.0.2.10" % name.lower()],
                       "answer (%s)" % proto, ttl="max")
    last = c["up"].last(name)
    expect(last is not None, "upstream saw the query")
    expect(last["id"] not in (str(0x1234), str(0xBEEF)),
           "upstream query uses its own ID, not the client's", got=last["id"])


@test("forwarded NXDOMAIN passes through with the upstream's SOA")
def t_forward_nx(t):
    c = core()
    r = query(c["port"], "nosuch-%d.example.net." % random.randrange(1 << 20))
    expect_rcode(r, "NXDOMAIN")
    expect_flag(r, dns.flags.AA, False)
    expect(any(x.rdtype == dns.rdatatype.SOA and x.name.to_text() == "example.net."
               for x in r.authority), "upstream SOA in authority", got=show(r))


@test("unknown RR type passes through forwarding (RFC 3597)")
def t_forward_unknown(t):
    c = core()
    r = query(c["port"], "unk.example.net.", "TYPE65280")
    expect_rcode(r, "NOERROR")
    expect_section(r.answer, ["unk.example.net. 300 TYPE65280 \\# 4 0a000001"],
                   "answer", ttl="max")


@test("conditional forward: longest suffix wins, label boundaries respected")
def t_cond_forward(t):
    c = core()
    for f in (c["up"], c["corp"], c["dept"]):
        f.reset()
    r = query(c["port"], "host.corp.example.")
    expect_section(r.answer, ["host.corp.example. 300 A 10.20.0.1"],
                   "host.corp.example via [forward corp.example]", ttl="max")
    r = query(c["port"], "host.dept.corp.example.")
    expect_section(r.answer, ["host.dept.corp.example. 300 A 10.30.0.1"],
                   "host.dept.corp.example via [forward dept.corp.example]", ttl="max")
    r = query(c["port"], "xcorp.example.")
    expect_section(r.answer, ["xcorp.example. 300 A 192.0.2.99"],
                   "xcorp.example is not under corp.example: default upstream",
                   ttl="max")
    eq(c["corp"].qcount("host.corp.example"), 1, "corp upstream saw host.corp.example")
    eq(c["corp"].qcount("host.dept.corp.example"), 0,
       "corp upstream saw host.dept.corp.example")
    eq(c["dept"].qcount("host.dept.corp.example"), 1, "dept upstream saw host.dept")
    eq(c["up"].qcount("host.corp.example"), 0, "default upstream saw host.corp")
    eq(c["up"].qcount("xcorp.example"), 1, "default upstream saw xcorp.example")


def _one_daemon(t, upstreams, timeout_ms, deadline_ms, **kw):
    port = free_port()
    conf = make_config(port, upstreams=upstreams, timeout_ms=timeout_ms,
                       deadline_ms=deadline_ms,
                       zones=[(BLOB, {"file": "blob.zone"})],
                       extra=daemon_extra(), **kw)
    t.pldns(conf, {"blob.zone": BLOB_ZONE}, port=port)
    return port


@test("upstream dead (never answers): SERVFAIL within deadline_ms")
def t_upstream_dead(t):
    dead = t.fakeup(UP_DATA, behaviours=["drop"], name="dead")
    port = _one_daemon(t, [dead.addr], 300, 800)
    for proto in ("udp", "tcp"):
        with Timer() as tm:
            r = query(port, "www.example.net.", proto=proto, timeout=5)
        t.note("%s: %s after %.3f s" % (proto, dns.rcode.to_text(r.rcode()), tm.elapsed))
        expect_rcode(r, "SERVFAIL", proto)
        eq(ede_codes(r), [22], "EDE No Reachable Authority (%s)" % proto)
        expect(tm.elapsed <= 0.8 + 0.4, "answered within deadline_ms 800 + 400 ms slack",
               got="%.3f s" % tm.elapsed)
    expect(dead.count() >= 1, "the dead upstream was asked", got=dead.count())
    r = query(port, "acct.%s." % BLOB)
    expect_rcode(r, "NOERROR", "local data still served")


@test("upstream port closed: SERVFAIL well before timeout_ms and deadline_ms")
def t_upstream_closed(t):
    # The ICMP port unreachable ends the wait at once; without it pldns
    # would wait for timeout_ms (20 s here).  "Fast" is a fifth of that, a
    # bound no machine load reaches but a missed ICMP always exceeds.
    closed = free_port()
    port = _one_daemon(t, ["127.0.0.1:%d" % closed], 20000, 20000)
    limit = 4.0
    for proto in ("udp", "tcp"):
        with Timer() as tm:
            r = query(port, "www.example.net.", proto=proto, timeout=25)
        t.note("%s: %s after %.3f s" % (proto, dns.rcode.to_text(r.rcode()), tm.elapsed))
        expect_rcode(r, "SERVFAIL", proto)
        eq(ede_codes(r), [23], "EDE Network Error (%s)" % proto)
        expect(tm.elapsed < limit, "SERVFAIL in < %.0f s, timeout_ms 20 s "
               "(ICMP port unreachable)" % limit, got="%.3f s" % tm.elapsed)


@test("second upstream tried after the first times out")
def t_failover(t):
    dead = t.fakeup(UP_DATA, behaviours=["drop"], name="dead")
    good = t.fakeup(UP_DATA, name="good")
    port = _one_daemon(t, [dead.addr, good.addr], 300, 2000)
    times = []
    for i in range(3):
        name = "fo%d-%d.fwd.example.net." % (i, random.randrange(1 << 20))
        with Timer() as tm:
            r = query(port, name, timeout=5)
        times.append(tm.elapsed)
        expect_rcode(r, "NOERROR", name)
        expect_section(r.answer, ["%s 300 A 192.0.2.10" % name], "answer", ttl="max")
        expect(tm.elapsed < 0.3 + 0.6, "answered soon after timeout_ms 300",
               got="%.3f s" % tm.elapsed)
    t.note("times: %s; dead saw %d, good saw %d" % (
        ["%.3f" % x for x in times], dead.count(), good.count()))
    expect(good.count() >= 3, "the second server answered", got=good.count())
    expect(dead.count() >= 1, "the first server was tried first at least once",
           got=dead.count())


@test("two closed upstreams then a good one: next server at once on refusal")
def t_failover_refused(t):
    good = t.fakeup(UP_DATA, name="good")
    port = _one_daemon(t, ["127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port(),
                           good.addr], 1500, 3000)
    with Timer() as tm:
        r = query(port, "www.example.net.", timeout=5)
    expect_rcode(r, "NOERROR")
    expect(tm.elapsed < 0.5, "answered in < 0.5 s", got="%.3f s" % tm.elapsed)


@test("spoofed upstream reply with a wrong ID is ignored, the right one used")
def t_spoof_id(t):
    c = core()
    with Timer() as tm:
        r = query(c["port"], "spoof.example.net.", timeout=4)
    expect_rcode(r, "NOERROR")
    expect_section(r.answer, ["spoof.example.net. 300 A 192.0.2.80"], "answer", ttl="max")
    expect(tm.elapsed >= 0.045, "the answer is the one sent 50 ms later",
           got="%.3f s" % tm.elapsed)


@test("upstream reply for another question is ignored (RFC 5452)")
def t_spoof_qname(t):
    c = core()
    r = query(c["port"], "spoofq.example.net.", timeout=4)
    expect_rcode(r, "NOERROR")
    expect_section(r.answer, ["spoofq.example.net. 300 A 192.0.2.81"], "answer", ttl="max")


@test("upstream reply from another source port is ignored (RFC 5452)")
def t_spoof_port(t):
    c = core()
    r = query(c["port"], "spoofp.example.net.", timeout=4)
    expect_rcode(r, "NOERROR")
    expect_section(r.answer, ["spoofp.example.net. 300 A 192.0.2.82"], "answer", ttl="max")


@test("TC=1 from upstream: retried over TCP, full answer")
def t_upstream_tc(t):
    c = core()
    r = query(c["port"], "tc.example.net.", timeout=4)
    expect_rcode(r, "NOERROR")
    expect_flag(r, dns.flags.TC, False)
    expect_section(r.answer, ["tc.example.net. 300 A 192.0.2.%d" % i for i in (2, 3, 4)],
                   "answer", ttl="max")
    last = c["up"].last("tc.example.net")
    eq(last and last["transport"], "tcp", "transport of pldns's last query for tc.example.net")


# ------------------------------------------------- upstream failures, upstream data

FAIL_DATA = {
    "records": [
        "example.net. 3600 SOA ns.example.net. hostmaster.example.net. 1 3600 300 2419200 300",
        "*.fwd.example.net. 300 A 192.0.2.10",
        "wq.example.net. 300 A 192.0.2.21",
        "wc.example.net. 300 A 192.0.2.22",
        "case.example.net. 300 A 192.0.2.23",
        "tcpid.example.net. 300 A 192.0.2.24",
        "huge.example.net. 300 A 192.0.2.25",
        "max.example.net. 2147483647 A 192.0.2.26",
        "ad.example.net. 300 A 192.0.2.27",
    ],
    "behaviours": {
        "wq.example.net.": ["wrong-qtype"],
        "wc.example.net.": ["wrong-qclass"],
        "case.example.net.": ["wrong-case"],
        "tcpid.example.net.": ["tcp-wrong-id"],
        "huge.example.net.": ["ttl-topbit"],
        "ad.example.net.": ["ad"],
    },
}


def ede_codes(r):
    return [o.code for o in r.options if o.otype == dns.edns.EDE]


def with_upstream_keys(conf, **kw):
    """CONF with more keys in its [upstream] section."""
    more = "".join("%s = %s\n" % kv for kv in kw.items())
    return conf.replace("[upstream]\n", "[upstream]\n" + more, 1)


@test("upstream answering REFUSED, SERVFAIL or NOTIMP: the next server answers 6/6")
def t_rcode_failover(t):
    good = t.fakeup(FAIL_DATA, name="good")
    for mode in ("refused", "servfail", "notimp"):
        bad = t.fakeup(FAIL_DATA, behaviours=[mode], name="bad-" + mode)
        port = _one_daemon(t, [bad.addr, good.addr], 1000, 2000)
        got = []
        for i in range(6):
            name = "%s%d-%d.fwd.example.net." % (mode, i, random.randrange(1 << 20))
            r = query(port, name, timeout=3)
            got.append(dns.rcode.to_text(r.rcode()))
            if r.rcode() == dns.rcode.NOERROR:
                expect_section(r.answer, ["%s 300 A 192.0.2.10" % name],
                               "answer (%s)" % mode, ttl="max")
        eq(got, ["NOERROR"] * 6, "rcodes with the first server answering %s" % mode)
        expect(bad.count() >= 1, "the %s server was asked" % mode, got=bad.count())


@test("every upstream fails with an rcode: SERVFAIL + EDE 22 at once, not their REFUSED/FORMERR")
def t_rcode_all_fail(t):
    refused = t.fakeup(FAIL_DATA, behaviours=["refused"], name="refused")
    formerr = t.fakeup(FAIL_DATA, behaviours=["formerr"], name="formerr")
    port = _one_daemon(t, [refused.addr, formerr.addr], 1000, 2000)
    for proto in ("udp", "tcp"):
        with Timer() as tm:
            r = query(port, "x%d.fwd.example.net." % random.randrange(1 << 20),
                      proto=proto, timeout=5)
        expect_rcode(r, "SERVFAIL", proto)
        eq(ede_codes(r), [22], "EDE (%s)" % proto)
        expect(tm.elapsed < 0.5, "at once, not at deadline_ms (%s)" % proto,
               got="%.3f s" % tm.elapsed)
    expect(refused.count() >= 1 and formerr.count() >= 1, "both servers asked",
           got=(refused.count(), formerr.count()))


@test("upstream without EDNS (FORMERR to EDNS): asked again without, and remembered")
def t_formerr_edns(t):
    old = t.fakeup(FAIL_DATA, behaviours=["formerr-edns"], name="old")
    port = _one_daemon(t, [old.addr], 1000, 2000, server={"workers": "1"})
    for i in range(2):
        name = "e%d-%d.fwd.example.net." % (i, random.randrange(1 << 20))
        r = query(port, name, do=True, timeout=3)
        expect_rcode(r, "NOERROR", name)
        expect_section(r.answer, ["%s 300 A 192.0.2.10" % name], "answer", ttl="max")
        expect(r.edns == 0, "the client still gets our OPT", got=r.edns)
        eq(old.qcount(name), 2 if i == 0 else 1,
           "queries for %s (first: with EDNS, then without)" % name)
        eq(old.last(name)["edns"], "-1", "the last query carried no OPT")


@test("upstream replies with another QTYPE, QCLASS or letter case are ignored (0x20)")
def t_spoof_question(t):
    up = t.fakeup(FAIL_DATA, name="up")
    port = free_port()
    conf = make_config(port, upstreams=[up.addr], timeout_ms=1000, deadline_ms=2000,
                       zones=[(BLOB, {"file": "blob.zone"})], extra=daemon_extra())
    t.pldns(with_upstream_keys(conf, case_randomization="yes"),
            {"blob.zone": BLOB_ZONE}, port=port)
    for name, addr in (("wq", 21), ("wc", 22), ("case", 23)):
        r = query(port, "%s.example.net." % name, timeout=3)
        expect_rcode(r, "NOERROR", name)
        expect_section(r.answer, ["%s.example.net. 300 A 192.0.2.%d" % (name, addr)],
                       "the real answer, not the forged one (%s)" % name, ttl="max")


@test("TCP retry: a reply with another ID is not taken (SERVFAIL, not its data)")
def t_tcp_wrong_id(t):
    up = t.fakeup(FAIL_DATA, name="up")
    port = _one_daemon(t, [up.addr], 1000, 2000)
    r = query(port, "tcpid.example.net.", timeout=4)
    t.note(show(r))
    expect(not any("6.6.6.6" in x.to_text() for x in r.answer),
           "the wrong-ID reply's data is not passed on", got=show(r))
    expect_rcode(r, "SERVFAIL")
    eq(up.last("tcpid.example.net")["transport"], "tcp", "asked over TCP")


@test("upstream TTLs: top bit means 0, max_ttl bounds the first answer and cached ones")
def t_upstream_ttls(t):
    up = t.fakeup(FAIL_DATA, name="up")
    port = free_port()
    conf = make_config(port, upstreams=[up.addr], timeout_ms=1000, deadline_ms=2000,
                       zones=[(BLOB, {"file": "blob.zone"})], server={"workers": "1"},
                       extra=daemon_extra() + [("cache", {"max_ttl": 3600})])
    t.pldns(conf, {"blob.zone": BLOB_ZONE}, port=port)
    for i in range(2):
        for proto in ("udp", "tcp"):
            # dnspython reads a top-bit TTL as 0 itself: look at the octets.
            w = query_wire(port, make_query("huge.example.net.").to_wire(), proto,
                           timeout=3)
            eq(answer_ttls(w), [0], "TTL 0x8000012c as 0 (%s, %d)" % (proto, i))
            r = query(port, "max.example.net.", proto=proto)
            expect(len(r.answer) == 1 and 3590 <= r.answer[0].ttl <= 3600,
                   "TTL 2^31-1 bounded by max_ttl (%s, %d)" % (proto, i), got=show(r))


@test("AD from upstream: cleared unless [upstream] trust_ad = yes (fresh, cached, kept)")
def t_upstream_ad(t):
    up = t.fakeup(FAIL_DATA, name="up")
    for trust in ("no", "yes"):
        port = free_port()
        conf = make_config(port, upstreams=[up.addr], timeout_ms=1000, deadline_ms=2000,
                           zones=[(BLOB, {"file": "blob.zone"})], server={"workers": "1"},
                           extra=daemon_extra())
        if trust == "yes":
            conf = with_upstream_keys(conf, trust_ad="yes")
        t.pldns(conf, {"blob.zone": BLOB_ZONE}, port=port)
        for i in range(3):
            r = query(port, "ad.example.net.", do=True)
            expect_rcode(r, "NOERROR")
            expect_flag(r, dns.flags.AD, trust == "yes",
                        "trust_ad = %s, answer %d" % (trust, i))


@test("RD=0: answered from cache only, else REFUSED with EDE 20; never forwarded")
def t_rd0(t):
    up = t.fakeup(FAIL_DATA, name="up")
    port = _one_daemon(t, [up.addr], 1000, 2000, server={"workers": "1"})
    name = "rd0-%d.fwd.example.net." % random.randrange(1 << 20)
    for proto in ("udp", "tcp"):
        r = query(port, name, rd=False, proto=proto)
        expect_rcode(r, "REFUSED", "not cached (%s)" % proto)
        eq(ede_codes(r), [20], "EDE Not Authoritative (%s)" % proto)
    eq(up.qcount(name), 0, "upstream queries for an RD=0 question")
    r = query(port, name)
    expect_rcode(r, "NOERROR", "RD=1")
    for proto in ("udp", "tcp"):
        r = query(port, name, rd=False, proto=proto)
        expect_rcode(r, "NOERROR", "cached (%s)" % proto)
        expect_section(r.answer, ["%s 300 A 192.0.2.10" % name], "from the cache",
                       ttl="max")
    eq(up.qcount(name), 1, "upstream queries: the RD=1 one only")
    r = query(port, "acct.%s." % BLOB, rd=False)
    expect_rcode(r, "NOERROR", "local data is answered with RD=0")


@test("upstream the system cannot reach (no route): next server, logged, down in /status")
def t_unreachable(t):
    good = t.fakeup(FAIL_DATA, name="good")
    # The broadcast address: a UDP socket may not connect to it (EACCES),
    # so nothing leaves the machine.
    port, cport = free_port(), free_port()
    conf = make_config(port, upstreams=["255.255.255.255:53", good.addr], timeout_ms=1000,
                       deadline_ms=2000, zones=[(BLOB, {"file": "blob.zone"})],
                       extra=daemon_extra())
    conf = conf.replace("[control]\nlisten = none", "[control]\nlisten = 127.0.0.1:%d" % cport)
    d = t.pldns(conf, {"blob.zone": BLOB_ZONE}, port=port)
    for i in range(3):
        name = "nr%d-%d.fwd.example.net." % (i, random.randrange(1 << 20))
        with Timer() as tm:
            r = query(port, name, timeout=3)
        expect_rcode(r, "NOERROR", name)
        expect(tm.elapsed < 0.5, "answered at once", got="%.3f s" % tm.elapsed)
    st = json.loads(urllib.request.urlopen("http://127.0.0.1:%d/status" % cport,
                                           timeout=5).read())
    ups = {u["server"]: u for u in st["upstreams"]}
    t.note(json.dumps(st["upstreams"]))
    bad = ups.get("255.255.255.255:53") or ups.get("255.255.255.255")
    expect(bad is not None, "the unreachable server is in /status", got=list(ups))
    eq(bad["up"], False, "/status: up")
    expect(bad["refused"] >= 1, "/status: its failed tries counted", got=bad["refused"])
    metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % cport,
                                     timeout=5).read().decode()
    expect(re.search(r'pldns_upstream_up\{server="255\.255\.255\.255(:53)?"\} 0', metrics),
           "metrics: pldns_upstream_up 0", got=[l for l in metrics.split("\n")
                                                if "upstream_up" in l])
    expect("255.255.255.255" in d.log_text(), "logged", got=d.log_text()[-1500:])


@test("only unreachable upstreams: SERVFAIL with EDE 23 (Network Error) at once")
def t_unreachable_only(t):
    port = _one_daemon(t, ["255.255.255.255:53", "127.0.0.1:%d" % free_port()], 1500, 2000)
    for proto in ("udp", "tcp"):
        with Timer() as tm:
            r = query(port, "www.example.net.", proto=proto, timeout=5)
        expect_rcode(r, "SERVFAIL", proto)
        eq(ede_codes(r), [23], "EDE (%s)" % proto)
        expect(tm.elapsed < 0.5, "at once (%s)" % proto, got="%.3f s" % tm.elapsed)


@test("forwarded queries use random IDs; source ports are shared by a few, then replaced")
def t_random_ids(t):
    # pldns keeps eight UDP sockets per upstream, each on a random port and
    # retired after 128 queries (src/engine/upstream.c): 1,200 queries must show
    # fresh ports coming in and no port carrying more than 128.
    c = core()
    tag = "%d-%d" % (os.getpid(), random.randrange(1 << 20))
    names = ["rnd%d-%s.fwd.example.net." % (i, tag) for i in range(1200)]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    got = 0
    try:
        for k in range(0, len(names), 100):
            for i in range(k, k + 100):
                s.sendto(make_query(names[i], "A", qid=i + 1).to_wire(),
                         ("127.0.0.1", c["port"]))
            end = time.monotonic() + 5
            want = k + 100
            while got < want and time.monotonic() < end:
                s.settimeout(max(0.01, end - time.monotonic()))
                try:
                    s.recv(65535)
                    got += 1
                except socket.timeout:
                    break
    finally:
        s.close()
    eq(got, len(names), "answers to 1,200 forwarded queries")
    ids, ports, asked = set(), {}, set()
    with open(c["up"].logpath) as f:
        for line in f:
            e = json.loads(line)
            if e.get("qname", "").lower().endswith("-%s.fwd.example.net." % tag):
                ids.add(e["id"])
                asked.add(e["qname"].lower())
                ports[e["srcport"]] = ports.get(e["srcport"], 0) + 1
    # A machine slow enough (valgrind) retransmits some: each try has an
    # ID and a socket of its own, and counts like a query below.
    eq(len(asked), len(names), "names the upstream was asked")
    tries = sum(ports.values())
    expect(len(ids) >= tries - 50, "%d tries, (nearly) all IDs different" % tries,
           got=len(ids))
    expect(max(ports.values()) <= 128, "no source port carries more than 128 queries",
           got=sorted(ports.values(), reverse=True)[:5])
    expect(len(ports) >= 1200 // 128, "source ports are replaced as they wear out",
           got="%d ports" % len(ports))
    expect(len(ports) <= 100, "sockets are shared, not one per query",
           got="%d ports" % len(ports))


@test("burst: 300 UDP queries in flight (local and forwarded), all answered right")
def t_burst(t):
    c = core()
    tag = random.randrange(1 << 20)
    want = {}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    try:
        for i in range(300):
            if i % 3 == 0:
                name, addr = "acct.%s." % BLOB, "10.1.0.5"
            else:
                name, addr = "b%d-%d.fwd.example.net." % (i, tag), "192.0.2.10"
            q = make_query(name, "A", qid=i + 1)
            want[i + 1] = (name, addr)
            s.sendto(q.to_wire(), ("127.0.0.1", c["port"]))
            if i % 50 == 49:
                time.sleep(0.01)
        got = {}
        end = time.monotonic() + 6
        while len(got) < len(want) and time.monotonic() < end:
            s.settimeout(max(0.01, end - time.monotonic()))
            try:
                w = s.recv(65535)
            except socket.timeout:
                break
            r = dns.message.from_wire(w)
            got[r.id] = r
    finally:
        s.close()
    missing = sorted(set(want) - set(got))
    expect(not missing, "every query answered", got="%d missing, e.g. IDs %s"
           % (len(missing), missing[:10]))
    for qid, r in got.items():
        name, addr = want[qid]
        eq(r.question[0].name.to_text().lower(), name, "question of ID %d" % qid)
        ans = [rd.to_text() for rrs in r.answer for rd in rrs]
        eq(ans, [addr], "answer of ID %d (%s)" % (qid, name))


def _stream(port, stop, counts):
    """Local queries to PORT, as fast as they go, until STOP (10 s at
    most), but never more than 150 unanswered: the worker's socket is
    seldom empty, and its buffer does not overflow even when the worker is
    slow (valgrind)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    w = make_query("acct.%s." % BLOB, "A", qid=7).to_wire()
    end = time.monotonic() + 10
    sent = answered = 0
    last = time.monotonic()
    try:
        while not stop.is_set() and time.monotonic() < end:
            for _ in range(16):
                if sent - answered >= 150:
                    if time.monotonic() - last > 0.2:
                        answered = sent     # lost: start again
                    break
                try:
                    s.sendto(w, ("127.0.0.1", port))
                    sent += 1
                except BlockingIOError:
                    break
            while True:
                try:
                    s.recv(512)
                except BlockingIOError:
                    break
                answered += 1
                last = time.monotonic()
            counts[0], counts[1] = sent, answered
    finally:
        counts[0], counts[1] = sent, answered
        s.close()


def _udp_stream(t, second):
    """Under a stream of datagrams a worker keeps reading its socket, out
    of the event loop, for a turn of 1 ms at most (waiting in recvmmsg when
    it has one UDP socket): with one worker, a TCP client, a forwarded query
    and, with SECOND, a client of another listening address must not wait
    for the stream to end."""
    c = core()
    port = free_port()
    listen = "127.0.0.1:%d" % port + (", 127.0.0.2:%d" % port if second else "")
    conf = make_config(port, upstreams=[c["up"].addr], timeout_ms=1000,
                       zones=[(BLOB, {"file": "blob.zone"})], listen=listen,
                       server={"workers": 1}, extra=daemon_extra())
    t.pldns(conf, {"blob.zone": BLOB_ZONE}, port=port)
    stop = multiprocessing.Event()
    counts = multiprocessing.Array("q", 2)      # sent, answered

    local = ["acct.%s. 10 A 10.1.0.5" % BLOB]
    # A process of its own, so that the test's own queries never pause it.
    th = multiprocessing.Process(target=_stream, args=(port, stop, counts),
                                 daemon=True)
    th.start()
    try:
        time.sleep(0.3)
        before = counts[1]
        worst = 0.0
        for i in range(5):
            with Timer() as tm:
                r = query(port, "acct.%s." % BLOB, proto="tcp", timeout=2.0)
            worst = max(worst, tm.elapsed)
            expect_section(r.answer, local, "TCP answer %d during the stream" % i)
        if second:
            for i, proto in enumerate(("udp", "tcp") * 5):
                with Timer() as tm:
                    r = query(port, "acct.%s." % BLOB, proto=proto,
                              host="127.0.0.2", timeout=2.0)
                worst = max(worst, tm.elapsed)
                expect_section(r.answer, local,
                               "%s answer %d on the other address" % (proto, i))
        name = "stream-%d.fwd.example.net." % random.randrange(1 << 20)
        with Timer() as fw:
            r = query(port, name, timeout=2.0)
        expect_section(r.answer, ["%s 300 A 192.0.2.10" % name],
                       "forwarded answer during the stream", ttl="max")
        slow = "stream-%d.slow.example.net." % random.randrange(1 << 20)
        with Timer() as sl:
            r = query(port, slow, timeout=3.0)
        expect_section(r.answer, ["%s 300 A 192.0.2.1" % slow],
                       "slow upstream's answer during the stream", ttl="max")
        during = counts[1] - before
    finally:
        stop.set()
        th.join(5)
        if th.is_alive():
            th.kill()
    t.note("stream: %d sent, %d answered (%d while the others were asked); "
           "worst other %.3f s, forwarded %.3f s, slow %.3f s" % (
               counts[0], counts[1], during, worst,
               fw.elapsed, sl.elapsed))
    expect(during > 1000 / SLOW, "the stream went on while the others were asked",
           got=during)
    expect(worst < 0.3 * SLOW, "every other answer within 0.3 s", got="%.3f s" % worst)
    expect(fw.elapsed < 0.3 * SLOW, "the forwarded answer within 0.3 s",
           got="%.3f s" % fw.elapsed)
    expect(sl.elapsed < 0.8 + 0.3 * SLOW,
           "the slow answer (800 ms upstream) within 1.1 s",
           got="%.3f s" % sl.elapsed)


@test("UDP stream to one worker: TCP, forwarded and slow queries answered at once")
def t_udp_stream(t):
    _udp_stream(t, False)


@test("UDP stream on one address: the other address, TCP and forwarded answered at once")
def t_udp_stream_two(t):
    _udp_stream(t, True)


# ------------------------------------------------------------------ EDNS

@test("EDNS: pldns answers with its own OPT (version 0, 1232); none without")
def t_edns(t):
    c = core()
    for name in ("acct.%s." % BLOB, "www.example.net."):
        r = query(c["port"], name, edns=0, payload=4096)
        eq(r.edns, 0, "EDNS version of the response for %s" % name)
        eq(r.payload, 1232, "advertised UDP size for %s" % name)
        r = query(c["port"], name, edns=None)
        eq(r.edns, -1, "no OPT in the response to a query without EDNS (%s)" % name)
    # the upstream query carries pldns's OPT
    name = "edns-%d.fwd.example.net." % random.randrange(1 << 20)
    query(c["port"], name, edns=0, payload=4000)
    last = c["up"].last(name)
    eq(last["edns"], "0", "upstream query EDNS version")
    eq(last["payload"], "1232", "upstream query advertised size")
    name = "noedns-%d.fwd.example.net." % random.randrange(1 << 20)
    query(c["port"], name, edns=None)
    last = c["up"].last(name)
    eq(last["edns"], "0", "upstream query has EDNS even when the client had none")


@test("answer larger than the client's UDP size: TC=1; full over TCP")
def t_truncation(t):
    c = core()
    p = c["port"]
    for name, ttl, fmt, first in (("big.%s." % BLOB, "exact", "10 A 10.7.0.%d", 1),
                                  ("big.example.net.", "max", "300 A 192.0.2.%d", 100)):
        full = ["%s %s" % (name, fmt % i) for i in range(first, first + BIG_N)]
        for edns, payload in ((None, 512), (0, 512)):
            q = make_query(name, "A", edns=edns, payload=payload)
            rwire = query_wire(p, q.to_wire(), "udp", timeout=3)
            expect(rwire is not None, "an answer for %s" % name)
            expect(len(rwire) <= 512, "reply fits 512 bytes (edns %s)" % edns,
                   got=len(rwire))
            r = dns.message.from_wire(rwire)
            expect_flag(r, dns.flags.TC, True, "%s, client size 512, edns %s" % (name, edns))
        r = query(p, name, edns=0, payload=1232)
        expect_flag(r, dns.flags.TC, False, "%s with EDNS 1232" % name)
        expect_section(r.answer, full, "%s over UDP with EDNS 1232" % name, ttl=ttl)
        r = query(p, name, proto="tcp", edns=None)
        expect_flag(r, dns.flags.TC, False, "%s over TCP" % name)
        expect_section(r.answer, full, "%s over TCP" % name, ttl=ttl)


@test("UDP answers: DF set, path MTU ignored, never fragmented (RFC 9715)")
def t_dont_fragment(t):
    c = core()
    try:
        cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                            socket.htons(0x0800))
    except (PermissionError, OSError) as e:
        raise Skip("no packet capture here (%s)" % e)
    try:
        cap.bind(("lo", 0x0800))
        cap.settimeout(0.2)
        cli = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        cli.bind(("127.0.0.1", 0))
        cport = cli.getsockname()[1]
        # A small answer and one of about 700 octets (40 A records).
        for name, payload in (("acct.%s." % BLOB, 1232), ("big.%s." % BLOB, 1232)):
            q = make_query(name, "A", edns=0, payload=payload)
            cli.sendto(q.to_wire(), ("127.0.0.1", c["port"]))
            seen, deadline = None, time.monotonic() + 3
            while seen is None and time.monotonic() < deadline:
                try:
                    pkt = cap.recv(70000)
                except socket.timeout:
                    continue
                ihl = (pkt[0] & 0x0f) * 4
                if pkt[0] >> 4 != 4 or pkt[9] != 17 or len(pkt) < ihl + 8:
                    continue
                sport, dport = struct.unpack("!HH", pkt[ihl:ihl + 4])
                if sport == c["port"] and dport == cport:
                    seen = pkt
            expect(seen is not None, "the answer to %s seen on lo" % name)
            frag = struct.unpack("!H", seen[6:8])[0]
            expect(frag & 0x4000, "DF set on the answer to %s" % name,
                   got=hex(frag))
            eq(frag & 0x3fff, 0, "no fragment offset or MF for %s" % name)
            # Linux sets DF on any datagram that fits the route's MTU; a
            # socket in IP_PMTUDISC_PROBE mode (path MTU ignored, never
            # fragmented) also leaves the IPv4 ID at 0.
            eq(struct.unpack("!H", seen[4:6])[0], 0,
               "IPv4 ID of a DF answer from a socket that ignores path MTU (%s)" % name)
            r = dns.message.from_wire(seen[(seen[0] & 0x0f) * 4 + 8:])
            expect(len(r.answer) > 0, "an answer in the captured reply for %s" % name)
        cli.close()
    finally:
        cap.close()


@test("DO bit passed to upstream (and not invented)")
def t_do_bit(t):
    c = core()
    on = "do-on-%d.fwd.example.net." % random.randrange(1 << 20)
    off = "do-off-%d.fwd.example.net." % random.randrange(1 << 20)
    r = query(c["port"], on, do=True)
    expect_rcode(r, "NOERROR", "DO=1 query")
    eq(c["up"].last(on)["do"], "1", "DO in the upstream query for a DO=1 client")
    if not r.ednsflags & dns.flags.DO:
        t.note("response to a DO=1 query has DO clear (RFC 3225 says copy it)")
    query(c["port"], off, do=False)
    eq(c["up"].last(off)["do"], "0", "DO in the upstream query for a DO=0 client")


# ------------------------------------------------------------------ TCP

@test("pipelined TCP: 3 queries at once, answers out of order, IDs match")
def t_pipeline(t):
    c = core()
    slow = "p-%d.slow.example.net." % random.randrange(1 << 20)
    qs = [make_query(slow, "A", qid=101),
          make_query("acct.%s." % BLOB, "A", qid=102),
          make_query("dual.%s." % BLOB, "AAAA", qid=103)]
    s = socket.create_connection(("127.0.0.1", c["port"]), timeout=3)
    try:
        s.sendall(b"".join(struct.pack("!H", len(w)) + w
                           for w in (q.to_wire() for q in qs)))
        got = []
        for _ in range(3):
            w = tcp_read_msg(s, 4.0)
            expect(w is not None, "3 answers on the connection", got=len(got))
            got.append(dns.message.from_wire(w))
    finally:
        s.close()
    order = [r.id for r in got]
    t.note("answer order: %s" % order)
    byid = {q.id: q for q in qs}
    for r in got:
        expect(r.id in byid, "known ID", got=r.id)
        eq(r.question[0].name, byid[r.id].question[0].name, "question of ID %d" % r.id)
        eq(r.question[0].rdtype, byid[r.id].question[0].rdtype, "qtype of ID %d" % r.id)
    eq(order[2], 101, "the slow upstream answer comes last")
    eq(sorted(order[:2]), [102, 103], "local answers first")
    expect_section(got[order.index(101)].answer, ["%s 300 A 192.0.2.1" % slow],
                   "slow answer", ttl="max")


@test("TCP: many queries in sequence on one connection")
def t_tcp_many(t):
    c = core()
    s = socket.create_connection(("127.0.0.1", c["port"]), timeout=3)
    try:
        for i in range(20):
            q = make_query("acct.%s." % BLOB, "A", qid=1000 + i)
            w = q.to_wire()
            s.sendall(struct.pack("!H", len(w)) + w)
            rw = tcp_read_msg(s, 3.0)
            expect(rw is not None, "answer %d on the same connection" % i)
            r = dns.message.from_wire(rw)
            eq(r.id, 1000 + i, "ID of answer %d" % i)
    finally:
        s.close()


def _tcp_daemon(t, **server):
    port = free_port()
    conf = make_config(port, upstreams=["127.0.0.1:%d" % free_port()],
                       zones=[(BLOB, {"file": "blob.zone"})],
                       server=server, extra=daemon_extra())
    t.pldns(conf, {"blob.zone": BLOB_ZONE}, port=port)
    return port


def _tcp_ask(s, qid):
    w = make_query("acct.%s." % BLOB, "A", qid=qid).to_wire()
    s.sendall(struct.pack("!H", len(w)) + w)
    return tcp_read_msg(s, 2.0)


def _closed_by_peer(s, timeout):
    """True when the peer closes S within TIMEOUT seconds."""
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


@test("TCP: idle connection closed after tcp_idle_ms")
def t_tcp_idle(t):
    port = _tcp_daemon(t, tcp_idle_ms=400)
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        expect(_tcp_ask(s, 1) is not None, "an answer first")
        with Timer() as tm:
            closed = _closed_by_peer(s, 3.0)
        expect(closed, "connection closed by pldns when idle")
        expect(0.3 <= tm.elapsed <= 1.5, "closed after about 400 ms",
               got="%.3f s" % tm.elapsed)
    finally:
        s.close()


@test("TCP: connection cap (tcp_max_conns) enforced, service continues")
def t_tcp_cap(t):
    port = _tcp_daemon(t, tcp_max_conns=4, tcp_max_per_client=4)
    socks = [socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(4)]
    try:
        for i, s in enumerate(socks):
            expect(_tcp_ask(s, 10 + i) is not None, "connection %d within the cap answered" % i)
        extra = socket.create_connection(("127.0.0.1", port), timeout=2)
        try:
            try:
                got = _tcp_ask(extra, 99)
            except OSError:
                got = None
            expect(got is None, "the 5th connection is refused (closed, no answer)",
                   got="an answer")
        finally:
            extra.close()
        r = query(port, "acct.%s." % BLOB, proto="udp")
        expect_rcode(r, "NOERROR", "UDP while TCP is full")
    finally:
        for s in socks:
            s.close()
    time.sleep(0.3)
    r = query(port, "acct.%s." % BLOB, proto="tcp")
    expect_rcode(r, "NOERROR", "TCP again once connections closed")


@test("TCP: tcp_max_queries answered, then the connection closes")
def t_tcp_max_queries(t):
    port = _tcp_daemon(t, tcp_max_queries=3)
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        for i in range(3):
            rw = _tcp_ask(s, 20 + i)
            expect(rw is not None, "answer %d of 3" % (i + 1))
        # pldns may close right after the 3rd answer or when a 4th arrives
        try:
            rw = _tcp_ask(s, 99)
        except OSError:
            rw = None
        expect(rw is None, "no 4th answer on the connection", got="an answer")
        expect(_closed_by_peer(s, 2.0), "connection closed after 3 queries")
    finally:
        s.close()


@test("IPv6: listens on [::1] too (UDP and TCP)")
def t_ipv6(t):
    if not ipv6_ok():
        raise Skip("no IPv6 loopback")
    port = free_port()
    conf = make_config(port, upstreams=["127.0.0.1:%d" % free_port()],
                       listen="127.0.0.1:%d, [::1]:%d" % (port, port),
                       zones=[(BLOB, {"file": "blob.zone"})], extra=daemon_extra())
    t.pldns(conf, {"blob.zone": BLOB_ZONE}, port=port)
    for host in ("127.0.0.1", "::1"):
        for proto in ("udp", "tcp"):
            r = query(port, "acct.%s." % BLOB, proto=proto, host=host)
            expect_section(r.answer, ["acct.%s. 10 A 10.1.0.5" % BLOB],
                           "answer via %s %s" % (host, proto))


# ------------------------------------------------------------------ malformed

def _hdr(qid, flags, qd, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def _question(name="acct.%s." % BLOB, qtype=1):
    q = make_query(name, qtype, edns=None)
    return q.to_wire()[12:]


@test("malformed: QR set is dropped (no answer)")
def t_mal_qr(t):
    c = core()
    w = _hdr(0x4242, 0x8100, 1) + _question()
    eq(query_wire(c["port"], w, "udp", timeout=0.7), None, "reply to a QR=1 packet")


@test("malformed: QDCOUNT 0 and 2 -> FORMERR")
def t_mal_qdcount(t):
    c = core()
    for qd, body in ((0, b""), (2, _question() + _question("dual.%s." % BLOB))):
        for proto in ("udp", "tcp"):
            w = _hdr(0x4343, 0x0100, qd) + body
            rw = query_wire(c["port"], w, proto, timeout=2)
            expect(rw is not None, "a reply to QDCOUNT %d (%s)" % (qd, proto))
            eq(struct.unpack("!H", rw[:2])[0], 0x4343, "reply ID")
            flags = struct.unpack("!H", rw[2:4])[0]
            expect(flags & 0x8000, "QR set in the reply")
            eq(flags & 0xF, 1, "RCODE for QDCOUNT %d (%s) (1 = FORMERR)" % (qd, proto))


@test("malformed: opcode STATUS (2) and UPDATE (5) -> NOTIMP")
def t_mal_opcode(t):
    c = core()
    for op in (2, 5):
        w = _hdr(0x4444, (op << 11) | 0x0100, 1) + _question()
        rw = query_wire(c["port"], w, "udp", timeout=2)
        expect(rw is not None, "a reply to opcode %d" % op)
        flags = struct.unpack("!H", rw[2:4])[0]
        eq(flags & 0xF, 4, "RCODE for opcode %d (4 = NOTIMP)" % op)
        eq((flags >> 11) & 0xF, op, "opcode echoed")


@test("malformed: EDNS version 1 -> BADVERS with OPT version 0")
def t_mal_badvers(t):
    c = core()
    for name in ("acct.%s." % BLOB, "www.example.net."):
        q = make_query(name, "A", edns=1)
        r = send(c["port"], q, "udp", timeout=2)
        eq(r.edns, 0, "OPT version in the reply (%s)" % name)
        eq(dns.rcode.to_text(r.rcode()), "BADVERS", "extended RCODE (%s)" % name)
        expect_empty(r.answer, "answer")


@test("malformed: garbage over UDP and TCP never kills the daemon")
def t_mal_garbage(t):
    c = core()
    p = c["port"]
    rnd = random.Random(4242)
    packets = [b"", b"\x00", b"\x12\x34\x01", _hdr(1, 0x0100, 1),
               _hdr(2, 0x0100, 1) + b"\x3facct",                  # label past the end
               _hdr(3, 0x0100, 1) + b"\xc0\x0c\x00\x01\x00\x01",  # pointer to itself
               _hdr(4, 0x0100, 1) + b"\x07example\xc0\x0c\x00\x01\x00\x01",
               _hdr(5, 0x0100, 1, 0, 0, 1) + _question() + b"\x00\x00\x29",  # cut OPT
               _hdr(6, 0x0100, 1, 0, 0, 2) + _question() +
               (b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00") * 2,      # 2 OPTs
               _hdr(7, 0x0100, 1) + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01",
               _hdr(8, 0x0100, 1) + (b"\x3f" + b"a" * 63) * 5 + b"\x00\x00\x01\x00\x01",
               _hdr(9, 0x0100, 1, 65535, 65535, 65535) + _question()]
    packets += [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300)))
                for _ in range(200)]
    packets += [_hdr(rnd.randrange(65536), rnd.randrange(65536) & 0x7fff, 1) +
                bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 40)))
                for _ in range(200)]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for w in packets:
            s.sendto(w, ("127.0.0.1", p))
    finally:
        s.close()
    for w in packets[:40]:
        try:
            query_wire(p, w, "tcp", timeout=0.3)
        except OSError:
            pass
    # a TCP length prefix promising more than is sent, then close
    try:
        s = socket.create_connection(("127.0.0.1", p), timeout=2)
        s.sendall(b"\xff\xff" + b"x" * 10)
        s.close()
    except OSError:
        pass
    time.sleep(0.2)
    expect(c["pldns"].alive(), "daemon still running")
    for proto in ("udp", "tcp"):
        r = query(p, "acct.%s." % BLOB, proto=proto)
        expect_section(r.answer, ["acct.%s. 10 A 10.1.0.5" % BLOB],
                       "normal answer afterwards (%s)" % proto)


@test("daemon still running at the end (no crash during the suite)")
def t_alive_end(t):
    c = core()
    expect(c["pldns"].alive(), "pldns alive")
    query(c["port"], "www.example.net.")      # answers at all
    rc = c["pldns"].stop()
    expect(rc in (0, -15), "SIGTERM: clean exit", got=rc)
    log = c["pldns"].log_text()
    for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
        expect(bad not in log, "no %s report in the log" % bad, got=log[-2000:])


if __name__ == "__main__":
    main()
