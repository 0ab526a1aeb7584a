#!/usr/bin/python3
"""EDNS, opcode, flag and cookie conformance: the cases of ISC's DNS
compliance tester (genreport: plain, edns, edns1, edns@512, ednsopt,
edns1opt, do, ednsflags, optlist, zflag, opcode, opcodeflg, tc, type666,
tcp, ednstcp, and the cookie cases), each checked against what RFC 6891,
RFC 7873 / 9018 and RFC 1035 require, for a local answer and a forwarded
one, over UDP and TCP.

Where the RFCs leave a choice, pldns does what BIND 9.18 was seen to do
(named 9.18.49 on loopback): classes ANY and NONE (and 0) FORMERR, CH and
HS REFUSED (pldns has no version.bind); NOTIMP with QR and the opcode alone;
error replies without RA; a query with TC=1 answered.  Cookies are not
enforced: a bad server cookie is answered as usual with a fresh one, but a
query for a cookie alone (QDCOUNT 0) learns BADCOOKIE, as RFC 7873 5.4 says.

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_conformance.py [NAME...]
"""

import os
import struct
import urllib.request

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from harness import (Fail, Fakeup, Dir, Pldns, Shared, Skip, eq, expect, free_port,
                     ini, main, make_query, query_wire, test)

BLOB = "privatelink.blob.core.windows.net"
SECRET = "e5e973e5a6b2a43f48e7dc849e37bfcf"
ZONE = """$ORIGIN %s.
$TTL 10
@     3600 IN SOA  azureprivatedns.net. azureprivatedns-host.microsoft.com. 1 3600 300 2419200 10
@     3600 IN NS   azureprivatedns.net.
acct       IN A    10.1.0.5
""" % BLOB + "".join("big IN A 10.7.0.%d\n" % i for i in range(1, 41))
UP = {"records": [
    "example.net. 3600 SOA ns.example.net. hostmaster.example.net. 1 3600 300 2419200 300",
    "www.example.net. 300 A 192.0.2.1",
] + ["big.example.net. 300 A 192.0.2.%d" % i for i in range(100, 140)]}

# (what, zone apex asked for SOA, a name with 40 A records)
WHERE = (("local", BLOB, "big." + BLOB), ("forwarded", "example.net", "big.example.net"))
PROTOS = ("udp", "tcp")
COOKIE = 10


def _daemon():
    d = Dir("conformance")
    up = Fakeup(UP, d, name="up")
    port, cport = free_port(), free_port()
    conf = ini([
        ("server", {"listen": "127.0.0.1:%d" % port, "cookie_secret": SECRET}),
        ("upstream", {"servers": up.addr, "timeout_ms": 1000, "deadline_ms": 2000}),
        ('zone "%s"' % BLOB, {"file": "blob.zone"}),
        ("control", {"listen": "127.0.0.1:%d" % cport}),
    ])
    p = Pldns(d, conf, {"blob.zone": ZONE}, port=port)
    return {"pldns": p, "up": up, "port": port, "cport": cport}


DAEMON = Shared(_daemon)


def port():
    return DAEMON.get()["port"]


def hdr(w):
    """(id, flags, qdcount, ancount, nscount, arcount) of raw reply W."""
    if w is None or len(w) < 12:
        raise Fail("no reply, or one shorter than a header")
    return struct.unpack("!6H", w[:12])


def ask(q, proto, wire=None, to=None):
    """Raw reply bytes to Q (a Message) or WIRE, over PROTO, from pldns or
    the server on port TO."""
    w = query_wire(to or port(), wire if wire is not None else q.to_wire(), proto,
                   timeout=3.0)
    if w is None:
        raise Fail("no reply over %s" % proto)
    return w


def parse(w):
    return dns.message.from_wire(w, ignore_trailing=False)


def opt_options(m):
    return {o.otype: o for o in m.options}


def each(fn):
    """Runs FN(what, apex, big, proto) for a local and a forwarded name, UDP and TCP."""
    for what, apex, big in WHERE:
        for proto in PROTOS:
            fn(what, apex, big, proto, "%s, %s" % (what, proto))


def soa_answer(m, apex, ctx):
    eq(dns.rcode.to_text(m.rcode()), "NOERROR", "rcode (%s)" % ctx)
    expect(len(m.answer) == 1 and m.answer[0].rdtype == dns.rdatatype.SOA,
           "the SOA in the answer (%s)" % ctx, m.to_text())


# ---------------------------------------------------------------- EDNS

@test("plain: no EDNS in, none out; the SOA answered")
def t_plain(ctx):
    def one(what, apex, big, proto, c):
        m = parse(ask(make_query(apex, "SOA", edns=None), proto))
        soa_answer(m, apex, c)
        eq(m.edns, -1, "no OPT in the reply (%s)" % c)
    each(one)


@test("edns: EDNS 0 answered with OPT version 0, no options, MBZ clear")
def t_edns(ctx):
    def one(what, apex, big, proto, c):
        m = parse(ask(make_query(apex, "SOA", edns=0), proto))
        soa_answer(m, apex, c)
        eq(m.edns, 0, "OPT version (%s)" % c)
        eq(m.ednsflags, 0, "EDNS flags (%s)" % c)
        eq(list(m.options), [], "options (%s)" % c)
    each(one)


@test("edns1: EDNS version 1 gets BADVERS, OPT version 0, no answer (RFC 6891 6.1.3)")
def t_edns1(ctx):
    def one(what, apex, big, proto, c):
        m = parse(ask(make_query(apex, "SOA", edns=1), proto))
        eq(dns.rcode.to_text(m.rcode()), "BADVERS", "rcode (%s)" % c)
        eq(m.edns, 0, "OPT version (%s)" % c)
        eq(len(m.answer), 0, "answer records (%s)" % c)
    each(one)


@test("edns@512: DO and a 512-octet buffer: the reply fits 512 or has TC")
def t_edns512(ctx):
    def one(what, apex, big, proto, c):
        w = ask(make_query(big, "A", edns=0, payload=512, do=True), proto)
        m = parse(w)
        eq(dns.rcode.to_text(m.rcode()), "NOERROR", "rcode (%s)" % c)
        eq(m.edns, 0, "OPT version (%s)" % c)
        expect(m.ednsflags & dns.flags.DO, "DO copied (RFC 3225) (%s)" % c)
        if proto == "udp":
            expect(len(w) <= 512, "no more than 512 octets over UDP (%s)" % c, len(w))
            expect(m.flags & dns.flags.TC, "TC: 40 addresses do not fit (%s)" % c)
        else:
            expect(not m.flags & dns.flags.TC and len(m.answer[0]) == 40,
                   "the whole RRset over TCP (%s)" % c, m.to_text())
    each(one)


@test("ednsopt / edns1opt: an unknown option is ignored, never echoed")
def t_ednsopt(ctx):
    def one(what, apex, big, proto, c):
        for ver, want in ((0, "NOERROR"), (1, "BADVERS")):
            q = make_query(apex, "SOA", edns=None)
            q.use_edns(ver, 0, 1232, options=[dns.edns.GenericOption(100, b"")])
            m = parse(ask(q, proto))
            eq(dns.rcode.to_text(m.rcode()), want, "rcode, version %d (%s)" % (ver, c))
            eq(m.edns, 0, "OPT version (%s)" % c)
            expect(100 not in opt_options(m), "option 100 not echoed (%s)" % c,
                   m.options)
    each(one)


@test("do: DO=1 is copied into the reply's OPT (RFC 3225 3)")
def t_do(ctx):
    def one(what, apex, big, proto, c):
        m = parse(ask(make_query(apex, "SOA", edns=0, do=True), proto))
        soa_answer(m, apex, c)
        eq(m.ednsflags & 0xffff, dns.flags.DO, "EDNS flags: DO alone (%s)" % c)
    each(one)


@test("ednsflags: unknown EDNS flags are not copied (RFC 6891 6.1.4)")
def t_ednsflags(ctx):
    def one(what, apex, big, proto, c):
        q = make_query(apex, "SOA", edns=None)
        q.use_edns(0, 0x0080 | 0x4000, 1232)
        m = parse(ask(q, proto))
        soa_answer(m, apex, c)
        eq(m.ednsflags & 0xffff, 0, "EDNS flags (%s)" % c)
    each(one)


@test("optlist: NSID, ECS, EXPIRE, COOKIE, KEEPALIVE, PADDING, CHAIN: "
      "answered, only the cookie echoed")
def t_optlist(ctx):
    def one(what, apex, big, proto, c):
        q = make_query(apex, "SOA", edns=None)
        opts = [dns.edns.GenericOption(3, b""),
                dns.edns.GenericOption(8, b"\x00\x01\x18\x00\xc0\x00\x02"),
                dns.edns.GenericOption(9, b""),
                dns.edns.GenericOption(COOKIE, b"12345678"),
                dns.edns.GenericOption(11, b""),
                dns.edns.GenericOption(12, b"\x00" * 8),
                dns.edns.GenericOption(13, b"\x00")]
        q.use_edns(0, 0, 1232, options=opts)
        m = parse(ask(q, proto))
        soa_answer(m, apex, c)
        eq(sorted(opt_options(m)), [COOKIE], "options in the reply (%s)" % c)
    each(one)


# ---------------------------------------------------------------- header

@test("zflag: the header's Z bit is not copied (RFC 1035 4.1.1)")
def t_zflag(ctx):
    def one(what, apex, big, proto, c):
        q = make_query(apex, "SOA", edns=None)
        q.flags |= 0x0040
        w = ask(q, proto)
        soa_answer(parse(w), apex, c)
        eq(hdr(w)[1] & 0x0040, 0, "Z in the reply (%s)" % c)
    each(one)


def opcode15(apex, edns, flags=0):
    q = make_query(apex, "SOA", edns=edns)
    w = bytearray(q.to_wire())
    w[2] = (w[2] & 0x87) | (15 << 3)
    f = struct.unpack("!H", w[2:4])[0] | flags
    w[2:4] = struct.pack("!H", f)
    return bytes(w)


@test("opcode: opcode 15 gets NOTIMP, with OPT when the query had one")
def t_opcode(ctx):
    def one(what, apex, big, proto, c):
        for edns in (None, 0):
            h = hdr(ask(None, proto, opcode15(apex, edns)))
            eq(h[1] & 0xf, 4, "rcode (NOTIMP) (%s, edns %s)" % (c, edns))
            eq((h[1] >> 11) & 0xf, 15, "opcode echoed (%s)" % c)
            eq(h[3], 0, "no answer (%s)" % c)
            eq(h[5], 0 if edns is None else 1, "OPT (%s, edns %s)" % (c, edns))
    each(one)


@test("opcodeflg: opcode 15 with TC RD RA AD CD Z: NOTIMP with QR and the opcode alone")
def t_opcodeflg(ctx):
    def one(what, apex, big, proto, c):
        w = opcode15(apex, None, 0x0200 | 0x0100 | 0x0080 | 0x0020 | 0x0010 | 0x0040)
        h = hdr(ask(None, proto, w))
        eq(h[1], 0x8000 | 15 << 11 | 4, "flags, as BIND 9.18: QR, opcode, NOTIMP (%s)" % c)
    each(one)


@test("tc: a query with TC=1 is answered, TC clear in the reply")
def t_tc(ctx):
    def one(what, apex, big, proto, c):
        q = make_query(apex, "SOA", edns=0)
        q.flags |= dns.flags.TC
        m = parse(ask(q, proto))
        soa_answer(m, apex, c)
        expect(not m.flags & dns.flags.TC, "TC clear (%s)" % c)
    each(one)


@test("type666: an unknown type gets NOERROR without answer (RFC 3597)")
def t_type666(ctx):
    def one(what, apex, big, proto, c):
        m = parse(ask(make_query(apex, "TYPE666", edns=0), proto))
        eq(dns.rcode.to_text(m.rcode()), "NOERROR", "rcode (%s)" % c)
        eq(len(m.answer), 0, "answer records (%s)" % c)
        eq(m.edns, 0, "OPT version (%s)" % c)
    each(one)


@test("tcp / ednstcp: over TCP, with and without EDNS")
def t_tcp(ctx):
    for what, apex, big in WHERE:
        for edns in (None, 0):
            m = parse(ask(make_query(apex, "SOA", edns=edns), "tcp"))
            soa_answer(m, apex, "%s, edns %s" % (what, edns))
            eq(m.edns, -1 if edns is None else 0, "OPT (%s)" % what)


@test("classes: CH and HS REFUSED, ANY, NONE and 0 FORMERR; errors without RA")
def t_classes(ctx):
    def one(what, apex, big, proto, c):
        for cls, want in (("CH", 5), ("HS", 5), ("ANY", 1), ("NONE", 1), (0, 1)):
            q = make_query(apex, "SOA", edns=0)
            w = bytearray(q.to_wire())
            num = dns.rdataclass.from_text(cls) if isinstance(cls, str) else cls
            w[-13:-11] = struct.pack("!H", num)   # the question's class, before the OPT
            h = hdr(ask(None, proto, bytes(w)))
            eq(h[1] & 0xf, want, "rcode for class %s (%s)" % (cls, c))
            eq(h[1] & 0x0080, 0, "RA clear (%s)" % c)
            eq(h[1] & 0x0100, 0x0100, "RD echoed (%s)" % c)
            eq(h[5], 1, "OPT in the error reply (RFC 6891 7) (%s)" % c)
    each(one)


@test("version.bind CH TXT is REFUSED: pldns does not answer for itself")
def t_version_bind(ctx):
    q = dns.message.make_query("version.bind", "TXT", rdclass=dns.rdataclass.CH)
    m = parse(ask(q, "udp"))
    eq(dns.rcode.to_text(m.rcode()), "REFUSED", "rcode")


@test("FORMERR (two questions) echoes RD, sets no RA, carries OPT")
def t_formerr_flags(ctx):
    q = make_query(BLOB, "SOA", edns=0)
    w = bytearray(q.to_wire())
    qlen = len(w) - 12 - 11
    w = bytes(w[:4]) + b"\x00\x02" + bytes(w[6:12 + qlen]) + bytes(w[12:12 + qlen]) + \
        bytes(w[12 + qlen:])
    for proto in PROTOS:
        h = hdr(ask(None, proto, w))
        eq(h[1] & 0xf, 1, "rcode FORMERR (%s)" % proto)
        eq(h[1] & 0x0180, 0x0100, "RD echoed, RA clear (%s)" % proto)
        eq(h[5], 1, "OPT (%s)" % proto)


# ---------------------------------------------------------------- cookies

def cookie_query(name, data, proto, qdcount=1):
    q = make_query(name, "SOA", edns=None)
    q.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(COOKIE, data)])
    w = q.to_wire()
    if qdcount == 0:
        qlen = len(w) - 12 - 11 - 4 - len(data)
        w = w[:4] + b"\x00\x00" + w[6:12] + w[12 + qlen:]
    return ask(None, proto, w)


def cookie_of(m, ctx):
    o = opt_options(m).get(COOKIE)
    expect(o is not None, "a COOKIE option in the reply (%s)" % ctx, m.to_text())
    data = o.to_wire()
    eq(len(data), 24, "client cookie and a 16-octet server cookie (%s)" % ctx)
    eq(data[8], 1, "server cookie version 1 (RFC 9018) (%s)" % ctx)
    return data


def metric(name):
    cport = DAEMON.get()["cport"]
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % cport, timeout=5) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise Fail("no %s in /metrics" % name)


@test("cookies: a client cookie gets a server cookie; it is recognised and "
      "returned; a bad one is answered with a fresh one; counted")
def t_cookies(ctx):
    def one(what, apex, big, proto, c):
        v0 = metric('pldns_cookies_total{result="valid"}')
        b0 = metric('pldns_cookies_total{result="invalid"}')
        m = parse(cookie_query(apex, b"clientck", proto))
        soa_answer(m, apex, c)
        data = cookie_of(m, c)
        eq(data[:8], b"clientck", "client cookie echoed (%s)" % c)
        m2 = parse(cookie_query(apex, data, proto))
        soa_answer(m2, apex, c)
        eq(cookie_of(m2, c), data, "a young valid cookie comes back the same (%s)" % c)
        bad = data[:-1] + bytes([data[-1] ^ 1])
        m3 = parse(cookie_query(apex, bad, proto))
        soa_answer(m3, apex, "bad server cookie, not enforced: " + c)
        expect(cookie_of(m3, c) != bad, "a fresh server cookie for a bad one (%s)" % c)
        eq(metric('pldns_cookies_total{result="valid"}') - v0, 1, "valid counted (%s)" % c)
        eq(metric('pldns_cookies_total{result="invalid"}') - b0, 1,
           "invalid counted (%s)" % c)
    each(one)


@test("cookies: malformed lengths (7, 9, 15, 41) are FORMERR with OPT (RFC 7873 5.2.2)")
def t_cookie_malformed(ctx):
    for proto in PROTOS:
        for n in (7, 9, 15, 41):
            m = parse(cookie_query(BLOB, b"k" * n, proto))
            eq(dns.rcode.to_text(m.rcode()), "FORMERR", "rcode for %d octets (%s)" % (n, proto))
            eq(m.edns, 0, "OPT (%s)" % proto)


@test("cookies: QDCOUNT 0 gets NOERROR and a cookie, or BADCOOKIE for a bad "
      "server cookie (RFC 7873 5.4); no question and no cookie is FORMERR")
def t_cookie_only(ctx):
    for proto in PROTOS:
        m = parse(cookie_query(BLOB, b"clientck", proto, qdcount=0))
        eq(dns.rcode.to_text(m.rcode()), "NOERROR", "client cookie alone (%s)" % proto)
        eq(len(m.question), 0, "no question (%s)" % proto)
        data = cookie_of(m, proto)
        m = parse(cookie_query(BLOB, data, proto, qdcount=0))
        eq(dns.rcode.to_text(m.rcode()), "NOERROR", "valid server cookie (%s)" % proto)
        m = parse(cookie_query(BLOB, data[:-1] + bytes([data[-1] ^ 1]), proto, qdcount=0))
        eq(m.rcode(), 23, "BADCOOKIE for a bad server cookie (%s)" % proto)
        cookie_of(m, proto)
        w = bytes.fromhex("12340100000000000000000100002904d0000000000000")
        eq(hdr(ask(None, proto, w))[1] & 0xf, 1, "no question, no cookie (%s)" % proto)


@test("cookies: an anycast twin with the same cookie_secret accepts the cookie")
def t_cookie_twin(ctx):
    cookie = cookie_of(parse(cookie_query(BLOB, b"clientck", "udp")), "first server")
    port2 = free_port()
    conf = ini([("server", {"listen": "127.0.0.1:%d" % port2, "cookie_secret": SECRET}),
                ("upstream", {"servers": DAEMON.get()["up"].addr}),
                ('zone "%s"' % BLOB, {"file": "blob.zone"}),
                ("control", {"listen": "none"})])
    ctx.pldns(conf, {"blob.zone": ZONE}, port=port2)
    q = make_query(BLOB, "SOA", edns=None)
    q.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(COOKIE, cookie)])
    w = query_wire(port2, q.to_wire(), "udp", timeout=3.0)
    eq(cookie_of(parse(w), "twin"), cookie, "the twin hands the same cookie back")


# ---------------------------------------------------------------- BIND

def observe(to, proto):
    """What a server does with the cases where the RFCs leave a choice."""
    seen = {}
    for cls in ("CH", "HS", "ANY", "NONE", 0):
        q = make_query(BLOB, "SOA", edns=0)
        w = bytearray(q.to_wire())
        num = dns.rdataclass.from_text(cls) if isinstance(cls, str) else cls
        w[-13:-11] = struct.pack("!H", num)
        seen["class %s rcode" % cls] = hdr(ask(None, proto, bytes(w), to))[1] & 0xf
    seen["opcodeflg flags"] = hex(hdr(ask(None, proto, opcode15(
        BLOB, None, 0x0200 | 0x0100 | 0x0080 | 0x0020 | 0x0010 | 0x0040), to))[1])
    q = make_query(BLOB, "SOA", edns=0)
    q.flags |= dns.flags.TC | 0x0040
    h = hdr(ask(q, proto, None, to))
    seen["tc and z: rcode, TC, Z"] = (h[1] & 0xf, h[1] & 0x0200, h[1] & 0x0040)
    w = make_query(BLOB, "SOA", edns=None).to_wire()
    h = hdr(ask(None, proto, w[:4] + b"\x00\x02" + w[6:] + w[12:], to))
    seen["two questions: rcode, RD, RA"] = (h[1] & 0xf, h[1] & 0x0100, h[1] & 0x0080)
    seen["edns1 rcode"] = parse(ask(make_query(BLOB, "SOA", edns=1), proto, None,
                                    to)).rcode()
    w = bytes.fromhex("12340100000000000000000100002904d000000000000c000a0008") + \
        b"clientck"
    seen["cookie alone rcode"] = hdr(ask(None, proto, w, to))[1] & 0xf
    return seen


@test("side by side with BIND 9.18: the same answers where the RFCs leave a choice")
def t_bind(ctx):
    import shutil
    import subprocess
    import time
    import harness
    named = shutil.which("named") or "/usr/sbin/named"
    if not os.access(named, os.X_OK):
        raise Skip("named not installed (apt-get install bind9)")
    bport = free_port()
    d = ctx.dir.join("bind")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "blob.zone"), "w") as f:
        f.write(ZONE)
    with open(os.path.join(d, "named.conf"), "w") as f:
        f.write("""options { directory "%s"; pid-file "%s/named.pid";
  listen-on port %d { 127.0.0.1; }; listen-on-v6 { none; };
  recursion no; dnssec-validation no; };
controls { };
zone "%s" { type primary; file "blob.zone"; };
""" % (d, d, bport, BLOB))
    args = [named, "-g", "-c", os.path.join(d, "named.conf")]
    if os.geteuid() == 0:
        args += ["-u", "root"]
    log = open(os.path.join(d, "named.log"), "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    harness._procs.append(proc)
    try:
        end = time.monotonic() + 15
        while time.monotonic() < end and "running" not in open(log.name).read():
            time.sleep(0.05)
        for proto in PROTOS:
            ours, bind = observe(None, proto), observe(bport, proto)
            for k in bind:
                eq(ours[k], bind[k], "%s over %s, as BIND" % (k, proto))
    finally:
        harness._kill(proc, 5.0)
        harness._procs.remove(proc)
        log.close()


if __name__ == "__main__":
    main()
