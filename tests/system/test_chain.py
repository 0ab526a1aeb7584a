#!/usr/bin/python3
"""System tests: one answer per name, however it is reached.

A public name whose privatelink twin pldns holds gets the private address
when a client asks for it directly; it must get the same when the client
reaches it through another name's CNAME (a custom domain, a CDN or a static
site name), whatever chain the upstream sends.  An upstream speaks only for
the names pldns asks it about: a [forward] server that answers for names
outside its suffix is not believed, the chain goes on through the route
pldns uses for the target.  Nothing about locally answered names comes
from an upstream, in any section.

The default upstream is a real recursive resolver: BIND (named, recursion
on), forwarding every question to a second named that is authoritative for
fake public zones (contoso.com, blob.core.windows.net, the public side of
privatelink.blob.core.windows.net, store.core.windows.net, other.com), so
that BIND returns whole chains across zones, as in production.  The
[forward "partner.example"] server is a hostile fake upstream (fakeup.py
with fixed answers) that injects records about names outside its suffix.
Every answer is checked over UDP and TCP, fresh and from the cache.

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_chain.py [NAME...]
"""

import threading
import time

import dns.name
import dns.rdatatype

import named_common
from harness import (SLOW, Dir, Fakeup, Pldns, Shared, Skip, daemon_extra, eq, expect,
                     expect_empty, expect_rcode, expect_section, free_port, main,
                     make_config, query, show, test, watch)

BLOB = "privatelink.blob.core.windows.net"
RECORDS_TTL = 10            # [records] ttl default: the synthesized CNAME's TTL
SOA = "1 3600 300 2419200 10"

LOCAL_ZONE = """$ORIGIN %s.
$TTL 10
@      IN SOA ns.pldns.test. hostmaster.pldns.test. %s
acct   IN A 10.1.0.5
acct2  IN A 10.1.0.6
stale  IN A 10.1.0.7
ext    IN CNAME www.contoso.com.
""" % (BLOB, SOA)

# The public zones, as the authoritative named serves them.
PUBLIC = {
    "contoso.com": """
@      MX 10 acct.blob.core.windows.net.
files  CNAME acct.blob.core.windows.net.
stale  CNAME stale.blob.core.windows.net.
via    CNAME acct2.blob.core.windows.net.
www    CNAME acct.privatelink.blob.core.windows.net.
""",
    # acct: flattened to its public address; acct2: the usual chain through
    # privatelink; stale: a re-created endpoint, no privatelink step.
    "blob.core.windows.net": """
acct   A 52.239.1.1
acct2  CNAME acct2.privatelink.blob.core.windows.net.
stale  CNAME blob.xyz.store.core.windows.net.
""",
    BLOB: """
acct   CNAME blob.def.store.core.windows.net.
acct2  CNAME blob.abc.store.core.windows.net.
stale  CNAME blob.xyz.store.core.windows.net.
""",
    "store.core.windows.net": """
blob.xyz  A 52.239.2.2
blob.abc  A 52.239.3.3
blob.def  A 52.239.4.4
""",
    "other.com": """
www    A 192.0.2.80
mail   A 192.0.2.25
loop   CNAME loop.partner.example.
slow   A 192.0.2.81
""",
}
PUBLIC_ADDRS = ("52.239.1.1", "52.239.2.2", "52.239.3.3", "52.239.4.4", "6.6.6.6")


def public_zone(origin, body):
    return ("$ORIGIN %s.\n$TTL 300\n@ IN SOA ns.%s. h.%s. %s\n@ IN NS ns.%s.\n"
            "ns IN A 127.0.0.1\n%s" % (origin, origin, origin, SOA, origin, body))


def _rr(owner, rtype, rdata, ttl=300):
    return "%s. %d IN %s %s" % (owner, ttl, rtype, rdata)


# The hostile [forward "partner.example"] server: what it says about
# names outside partner.example is made up.
PARTNER = {
    "records": [
        "partner.example. 300 IN SOA ns.partner.example. h.partner.example. " + SOA,
        "in.partner.example. 300 IN CNAME ok.partner.example.",
        "ok.partner.example. 300 IN A 198.51.100.7",
    ],
    "answers": {
        "www.partner.example. A": {
            "answer": [_rr("www.partner.example", "CNAME", "www.other.com."),
                       _rr("www.other.com", "A", "6.6.6.6")],
            "authority": [_rr("other.com", "NS", "ns.evil.example.")],
            "additional": [_rr("www.other.com", "A", "6.6.6.6"),
                           _rr("ns.evil.example", "A", "6.6.6.6")]},
        "slow.partner.example. A": {
            "answer": [_rr("slow.partner.example", "CNAME", "slow.other.com."),
                       _rr("slow.other.com", "A", "6.6.6.6")]},
        "www2.partner.example. A": {
            "answer": [_rr("www2.partner.example", "CNAME", "www.other.com."),
                       _rr("www.other.com", "A", "6.6.6.6")]},
        "inj.partner.example. A": {
            "answer": [_rr("inj.partner.example", "CNAME", "acct.blob.core.windows.net."),
                       _rr("acct.blob.core.windows.net", "CNAME", "evil.example."),
                       _rr("evil.example", "A", "6.6.6.6")],
            "additional": [_rr("acct.blob.core.windows.net", "A", "6.6.6.6")]},
        "mx.partner.example. MX": {
            "answer": [_rr("mx.partner.example", "MX", "10 mail.other.com.")],
            "additional": [_rr("mail.other.com", "A", "6.6.6.6"),
                           _rr("acct.blob.core.windows.net", "A", "6.6.6.6")]},
        "loop.partner.example. A": {
            "answer": [_rr("loop.partner.example", "CNAME", "loop.other.com.")]},
        "hole.partner.example. A": {
            "answer": [_rr("hole.partner.example", "CNAME", "x.blackhole.example.")]},
    },
    # slow enough for the clients to overlap, and below pldns's smallest
    # retransmission timeout (200 ms): one request, one query to count
    "behaviours": {"slow.partner.example.": ["delay 150"]},
}
DEADLINE_MS = 1500


def _env():
    d = Dir("chain")
    auth_port, rec_port = free_port(), free_port()
    zones = "".join('zone "%s" { type primary; file "%s.zone"; };\n' % (z, z)
                    for z in PUBLIC)
    auth = named_common.Named(
        d, "auth", auth_port, zones,
        files={z + ".zone": public_zone(z, body) for z, body in PUBLIC.items()},
        options="  recursion no;\n  dnssec-validation no;\n")
    # The recursive resolver: every question goes to the authoritative
    # named (no root servers, nothing leaves loopback); it follows
    # chains across zones and answers with them whole.
    rec = named_common.Named(
        d, "recursor", rec_port, "",
        options="""  recursion yes;
  allow-recursion { 127.0.0.0/8; };
  dnssec-validation no;
  minimal-responses no;
  forward only;
  forwarders { 127.0.0.1 port %d; };
""" % auth_port)
    partner = Fakeup(PARTNER, d, name="partner")
    hole = Fakeup({"records": []}, d, name="hole", behaviours=["drop"])
    port = free_port()
    conf = make_config(port, upstreams=["127.0.0.1:%d" % rec_port],
                       timeout_ms=500, deadline_ms=DEADLINE_MS,
                       forwards=[("partner.example", [partner.addr]),
                                 ("blackhole.example", [hole.addr])],
                       zones=[(BLOB, {"file": "blob.zone"})],
                       server={"workers": 1},      # one in-flight table: coalescing is seen
                       extra=daemon_extra())
    p = Pldns(d, conf, {"blob.zone": LOCAL_ZONE}, port=port)
    watch(p)
    return {"port": port, "pldns": p, "auth": auth, "rec": rec, "rec_port": rec_port,
            "partner": partner, "hole": hole}


ENV = Shared(_env)


def env():
    e = ENV.get()
    if e is None:               # named is not installed: Skip was raised once
        raise Skip("named not installed (apt-get install bind9)")
    return e


def no_public(r):
    text = r.to_text()
    for a in PUBLIC_ADDRS:
        expect(a not in text, "public address %s not in the response" % a, got=text)


def each_way(qname, rdtype, check):
    """CHECK(response, what) on the answers to QNAME over UDP and TCP, each
    asked three times: from upstream, built from the cache entry (and kept
    with it), and the kept reply sent again."""
    e = env()
    for proto in ("udp", "tcp"):
        for i in range(3):
            r = query(e["port"], qname, rdtype, proto=proto, timeout=3 * SLOW)
            check(r, "%s %s over %s, #%d" % (qname, rdtype, proto, i + 1))


def expect_chain(head, name, rdtype, private_lines, what, r):
    """R answers HEAD (the custom name's CNAME lines), then what a direct
    query for NAME gives: PRIVATE_LINES, and nothing public."""
    expect_rcode(r, "NOERROR", what)
    expect_section(r.answer, head + private_lines, what, ttl="max", order=True)
    no_public(r)
    d = query(env()["port"], name, rdtype)
    expect_section(r.answer[len(r.answer) - len(d.answer):], [
        "%s %d %s %s" % (rrs.name, rrs.ttl, dns.rdatatype.to_text(rrs.rdtype), rd.to_text())
        for rrs in d.answer for rd in rrs], what + ": the tail is the direct answer",
        ttl="any", order=True)


def answers(qname, rdtype, lines, also=None):
    """Every way QNAME is asked, the answer is LINES (NOERROR), with no
    public address; ALSO(r, what) checks more."""
    def check(r, what):
        expect_rcode(r, "NOERROR", what)
        expect_section(r.answer, lines, what, ttl="max", order=True)
        no_public(r)
        if also:
            also(r, what)
    each_way(qname, rdtype, check)


def synth(public, pl):
    return "%s %d CNAME %s" % (public, RECORDS_TTL, pl)


def via_twin(custom, label, addr):
    """CUSTOM's CNAME to LABEL.blob.core.windows.net, whose twin holds ADDR:
    the chain, cut there, ends as a direct query for it does."""
    public = "%s.blob.core.windows.net." % label
    head = ["%s 300 CNAME %s" % (custom, public)]
    tail = [synth(public, "%s.%s." % (label, BLOB)), "%s.%s. 10 A %s" % (label, BLOB, addr)]
    each_way(custom, "A", lambda r, what: expect_chain(head, public, "A", tail, what, r))


@test("custom domain -> public twin whose upstream chain skips privatelink: the private address")
def t_stale(ctx):
    via_twin("stale.contoso.com.", "stale", "10.1.0.7")


@test("custom domain -> public twin, AAAA: NODATA with the local SOA, as a direct query")
def t_stale_aaaa(ctx):
    head = ["stale.contoso.com. 300 CNAME stale.blob.core.windows.net."]

    def check(r, what):
        expect_chain(head, "stale.blob.core.windows.net.", "AAAA",
                     [synth("stale.blob.core.windows.net.", "stale.%s." % BLOB)], what, r)
        expect_section(r.authority, ["%s. 10 SOA ns.pldns.test. hostmaster.pldns.test. %s"
                                     % (BLOB, SOA)], what + ": authority", ttl="max")
    each_way("stale.contoso.com.", "AAAA", check)


@test("custom domain -> public twin flattened by the resolver: the private address")
def t_flattened(ctx):
    via_twin("files.contoso.com.", "acct", "10.1.0.5")


@test("custom domain -> public twin -> privatelink (the usual chain): the private address")
def t_usual(ctx):
    via_twin("via.contoso.com.", "acct2", "10.1.0.6")


@test("local CNAME out of local data, upstream chain back into a local zone: cut there")
def t_back_in(ctx):
    answers("ext.%s." % BLOB, "A", ["ext.%s. 10 CNAME www.contoso.com." % BLOB,
                                     "www.contoso.com. 300 CNAME acct.%s." % BLOB,
                                     "acct.%s. 10 A 10.1.0.5" % BLOB])


@test("MX at a custom domain: no public address of a private endpoint in additional")
def t_additional(ctx):
    e = env()
    # The resolver has the target's public address at hand (it puts it in
    # its additional section): what pldns must not pass on.
    query(e["rec_port"], "acct.blob.core.windows.net.", "A")
    r = query(e["rec_port"], "contoso.com.", "MX")
    expect("52.239.1.1" in r.to_text(),
           "precondition: BIND's own answer carries the public address", got=show(r))

    def nothing_about_twin(r, what):
        for rrs in r.additional + r.authority:
            expect(not rrs.name.is_subdomain(dns.name.from_text("acct.blob.core.windows.net.")),
                   "nothing about acct.blob.core.windows.net (%s)" % what, got=show(r))
    answers("contoso.com.", "MX", ["contoso.com. 300 MX 10 acct.blob.core.windows.net."],
            nothing_about_twin)


@test("[forward] server's chain out of its suffix: continued through the default upstream")
def t_bailiwick_cname(ctx):
    def no_injected(r, what):
        for rrs in r.authority + r.additional:
            expect("evil" not in rrs.to_text(), "no injected NS (%s)" % what, got=show(r))
    answers("www.partner.example.", "A", ["www.partner.example. 300 CNAME www.other.com.",
                                          "www.other.com. 300 A 192.0.2.80"], no_injected)


@test("[forward] server's chain out of its suffix, the follow-up already in the cache")
def t_bailiwick_cached(ctx):
    # www.other.com is cached before the partner's answer arrives: the
    # follow-up is answered at once, inside the upstream's reply.
    expect_section(query(env()["port"], "www.other.com.").answer,
                   ["www.other.com. 300 A 192.0.2.80"], "direct", ttl="max")
    answers("www2.partner.example.", "A", ["www2.partner.example. 300 CNAME www.other.com.",
                                           "www.other.com. 300 A 192.0.2.80"])


@test("clients asking the same name at once share the query and its follow-up")
def t_coalesced(ctx):
    e = env()
    want = ["slow.partner.example. 300 CNAME slow.other.com.",
            "slow.other.com. 300 A 192.0.2.81"]
    results = [None] * 6

    def ask(i):
        try:
            results[i] = query(e["port"], "slow.partner.example.",
                               proto="tcp" if i % 2 else "udp", timeout=3 * SLOW)
        except Exception as x:          # reported below, in the test's thread
            results[i] = x
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, r in enumerate(results):
        expect(not isinstance(r, Exception), "client %d answered" % i, got=r)
        expect_rcode(r, "NOERROR", "client %d" % i)
        expect_section(r.answer, want, "client %d" % i, ttl="max", order=True)
    eq(e["partner"].qcount("slow.partner.example"), 1, "queries to the partner")


@test("[forward] server's chain through a public twin: cut there, the private address")
def t_bailiwick_twin(ctx):
    head = ["inj.partner.example. 300 CNAME acct.blob.core.windows.net."]
    tail = [synth("acct.blob.core.windows.net.", "acct.%s." % BLOB),
            "acct.%s. 10 A 10.1.0.5" % BLOB]

    def check(r, what):
        expect_chain(head, "acct.blob.core.windows.net.", "A", tail, what, r)
        expect_empty(r.additional, what + ": additional")
    each_way("inj.partner.example.", "A", check)


@test("[forward] server's additional records out of its suffix: dropped")
def t_bailiwick_additional(ctx):
    answers("mx.partner.example.", "MX", ["mx.partner.example. 300 MX 10 mail.other.com."],
            lambda r, what: expect_empty(r.additional, what + ": additional"))


@test("[forward] server's chain inside its suffix: trusted")
def t_bailiwick_inside(ctx):
    answers("in.partner.example.", "A", ["in.partner.example. 300 CNAME ok.partner.example.",
                                         "ok.partner.example. 300 A 198.51.100.7"])


@test("a loop across two upstreams: SERVFAIL")
def t_loop(ctx):
    each_way("loop.partner.example.", "A",
             lambda r, what: expect_rcode(r, "SERVFAIL", what))


@test("a follow-up that gets no answer: SERVFAIL within the client's deadline")
def t_deadline(ctx):
    e = env()
    for proto in ("udp", "tcp"):
        t0 = time.monotonic()
        r = query(e["port"], "hole.partner.example.", "A", proto=proto,
                  timeout=4 * SLOW)
        took = time.monotonic() - t0
        expect_rcode(r, "SERVFAIL", proto)
        expect(took < (DEADLINE_MS + 500) / 1000.0 * SLOW,
               "SERVFAIL within the deadline of %d ms over %s" % (DEADLINE_MS, proto),
               got="%.3f s" % took)
    eq(e["pldns"].alive(), True, "pldns still running")


if __name__ == "__main__":
    main()
