#!/usr/bin/python3
"""System tests for split horizon (issue 4): public Azure names answered
with the private endpoint's address, like Azure's resolver for a network
linked to the private DNS zones.

The fake upstream models public Azure DNS (data/azure_public.py): every
service name is a CNAME to its privatelink name, itself a CNAME to a public
front end with a public address.  pldns holds the privatelink zones locally.

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_split.py [NAME-SUBSTRING...]
"""

import os
import random
import signal
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from harness import (HERE, SLOW, Dir, Fakeup, Pldns, Shared, Timer,
                     daemon_extra, eq, expect, expect_flag,
                     expect_rcode, expect_section, free_port, main, make_config,
                     make_query, query, query_wire, question_bytes, show, test,
                     watch)

AZURE = os.path.join(HERE, "data", "azure_public.py")

BLOB = "privatelink.blob.core.windows.net"
VAULT = "privatelink.vaultcore.azure.net"
MIGRATE = "privatelink.prod.migration.windowsazure.com"
ASR = "privatelink.siterecovery.windowsazure.com"
OPENAI = "privatelink.openai.azure.com"
GUID = "04b8c9c73f3d477e966c8d00f352889c"
RECORDS_TTL = 10            # [records] ttl default: the synthesized CNAME's TTL

SOA_LINE = "@ 3600 IN SOA azureprivatedns.net. azureprivatedns-host.microsoft.com. 1 3600 300 2419200 10\n"


def zone(origin, body):
    return "$ORIGIN %s.\n$TTL 10\n%s%s" % (origin, SOA_LINE, body)


FILES = {
    "blob.zone": zone(BLOB, """acct   10 IN A 10.1.0.5
gone   10 IN A 10.1.0.9
loopa  10 IN CNAME loopb
loopb  10 IN CNAME loopa
loopy  10 IN CNAME loopy.example.net.
"""),
    "vault.zone": zone(VAULT, "kv 10 IN A 10.2.0.5\n"),
    "migrate.zone": zone(MIGRATE, "%s-agent.cus.disc 10 IN A 10.3.0.4\n" % GUID),
    "asr.zone": zone(ASR, "vid-asr-pod01-srs1-.eus 10 IN A 10.4.0.7\n"),
    "openai.zone": zone(OPENAI, "myai 10 IN A 10.5.0.8\n"),
}
ZONES = [(BLOB, {"file": "blob.zone"}),
         (VAULT, {"file": "vault.zone", "missing": "fallback"}),
         (MIGRATE, {"file": "migrate.zone"}),
         (ASR, {"file": "asr.zone"}),
         (OPENAI, {"file": "openai.zone"})]

SOA_FIELDS = {"mname": "azureprivatedns.net.",
              "rname": "azureprivatedns-host.microsoft.com.",
              "refresh": 3600, "retry": 300, "expire": 2419200, "minimum": 10}


def _live():
    d = Dir("split")
    up = Fakeup(AZURE, d, name="azure")
    port = free_port()
    conf = make_config(port, upstreams=[up.addr], timeout_ms=800,
                       deadline_ms=2000, zones=ZONES, extra=daemon_extra())
    p = Pldns(d, conf, FILES, port=port)
    watch(p)
    return {"port": port, "up": up, "pldns": p}


def _dead():
    """Every upstream unreachable: one port closed, one never answering."""
    d = Dir("split-dead")
    dead = Fakeup(AZURE, d, name="dead", behaviours=["drop"])
    port = free_port()
    conf = make_config(port, upstreams=["127.0.0.1:%d" % free_port(), dead.addr],
                       timeout_ms=300, deadline_ms=800, zones=ZONES,
                       extra=daemon_extra())
    p = Pldns(d, conf, FILES, port=port)
    watch(p)
    return {"port": port, "up": dead, "pldns": p}


LIVE = Shared(_live)
DEAD = Shared(_dead)

def synth(public, plname, tail, ttl=RECORDS_TTL):
    """Expected answer: public CNAME plname, then TAIL lines."""
    return ["%s %d CNAME %s" % (public, ttl, plname)] + tail


def no_public(r, *addrs):
    """No public front-end address anywhere in the response."""
    text = r.to_text()
    for a in addrs + ("20.60.1.1", "20.60.2.2", "52.168.109.101", "52.165.1.20",
                      "40.71.1.7", "20.42.7.7", "2603:1030:1::1", "6.6.6.6"):
        expect(a not in text, "public address %s not in the response" % a, got=text)


def soa_check(r, zone_name, what):
    soas = [x for x in r.authority if x.rdtype == dns.rdatatype.SOA]
    expect(len(soas) == 1, "one SOA in authority (%s)" % what, got=show(r))
    eq(soas[0].name.to_text().lower(), zone_name + ".", "SOA owner (%s)" % what)
    for k, v in SOA_FIELDS.items():
        got = getattr(soas[0][0], k)
        got = got.to_text().lower() if k in ("mname", "rname") else got
        eq(got, v, "SOA %s: the local zone's SOA (%s)" % (k, what))


ACCT = synth("acct.blob.core.windows.net.", "acct.%s." % BLOB,
             ["acct.%s. 10 A 10.1.0.5" % BLOB])
KV = synth("kv.vault.azure.net.", "kv.%s." % VAULT, ["kv.%s. 10 A 10.2.0.5" % VAULT])
MIG_PUBLIC = "%s-agent.cus.disc.prod.migration.windowsazure.com." % GUID
MIG_PL = "%s-agent.cus.disc.%s." % (GUID, MIGRATE)
MIG = synth(MIG_PUBLIC, MIG_PL, ["%s 10 A 10.3.0.4" % MIG_PL])


# ------------------------------------------------------------------ synthesis

@test("synthesized answer with every upstream dead (blob, vault, Migrate)")
def t_synth_dead(t):
    c = DEAD.get()
    for proto in ("udp", "tcp"):
        for qname, want in (("acct.blob.core.windows.net.", ACCT),
                            ("kv.vault.azure.net.", KV), (MIG_PUBLIC, MIG)):
            with Timer() as tm:
                r = query(c["port"], qname, proto=proto, timeout=3)
            expect_rcode(r, "NOERROR", "%s %s" % (qname, proto))
            expect_flag(r, dns.flags.AA, False, "(not authoritative for the public zone)")
            expect_section(r.answer, want, "%s over %s" % (qname, proto), order=True)
            no_public(r)
            expect(tm.elapsed < 0.5 * SLOW, "answered at once, no upstream wait",
                   got="%.3f s" % tm.elapsed)
    eq(c["up"].count(), 0, "queries that reached the (dead) upstream")


@test("synthesized answer does not query the upstream when it is alive")
def t_synth_live(t):
    c = LIVE.get()
    c["up"].reset()
    r = query(c["port"], "acct.blob.core.windows.net.")
    expect_section(r.answer, ACCT, "answer", order=True)
    no_public(r)
    r = query(c["port"], "kv.vault.azure.net.", proto="tcp")
    expect_section(r.answer, KV, "answer", order=True)
    eq(c["up"].qcount("acct.blob.core.windows.net"), 0, "upstream queries for acct")
    eq(c["up"].qcount("kv.vault.azure.net"), 0, "upstream queries for kv")


@test("upstream NXDOMAIN for a public name with local data: local wins")
def t_gone(t):
    for c in (LIVE.get(), DEAD.get()):
        r = query(c["port"], "gone.blob.core.windows.net.")
        expect_rcode(r, "NOERROR")
        expect_section(r.answer, synth("gone.blob.core.windows.net.", "gone.%s." % BLOB,
                                       ["gone.%s. 10 A 10.1.0.9" % BLOB]),
                       "answer", order=True)
    # the upstream really says NXDOMAIN for it
    c = LIVE.get()
    r = query(c["up"].port, "gone.blob.core.windows.net.")
    expect_rcode(r, "NXDOMAIN", "(fake upstream)")


# ------------------------------------------------------------------ splicing

FILES_CHAIN = ["files.contoso.example.com. 120 CNAME acct.blob.core.windows.net.",
               "acct.blob.core.windows.net. %d CNAME acct.%s." % (RECORDS_TTL, BLOB),
               "acct.%s. 10 A 10.1.0.5" % BLOB]


@test("spliced: upstream chain cut at the local name, finished locally (UDP, TCP)")
def t_splice(t):
    c = LIVE.get()
    for proto in ("udp", "tcp"):
        r = query(c["port"], "files.contoso.example.com.", proto=proto, timeout=3)
        expect_rcode(r, "NOERROR", proto)
        expect_flag(r, dns.flags.AA, False, proto)
        # kept part: upstream TTLs (maybe counted down by a cache); local part: local TTL
        expect_section(r.answer[:2], FILES_CHAIN[:2], "kept upstream part (%s)" % proto,
                       ttl="any", order=True)
        expect_section(r.answer[2:], FILES_CHAIN[2:], "local part (%s)" % proto, order=True)
        no_public(r)
    expect(c["up"].qcount("files.contoso.example.com") >= 1, "it was forwarded")


@test("spliced TTLs: upstream TTLs for the kept part, local TTLs for the local part")
def t_splice_ttls(t):
    # The chain is cut at the public name whose twin is local, and the rest
    # is what a direct query of it gives: the public->privatelink CNAME
    # synthesized with [records] ttl (10), not the upstream's (60).
    c = LIVE.get()
    name = "t%d.cdn.contoso.example.com." % random.randrange(1 << 24)
    r = query(c["port"], name)
    expect_section(r.answer[:1], ["%s 120 CNAME acct.blob.core.windows.net." % name],
                   "kept part", ttl="max", slack=5)
    expect_section(r.answer[1:], FILES_CHAIN[1:], "local part", order=True)
    r = query(c["port"], "chat.contoso-ai.example.com.")
    expect_section(r.answer[:7], HOPS[:7], "7-hop kept part", ttl="max", order=True)
    expect_section(r.answer[7:8], HOPS[7:], "the synthesized hop", order=True)
    expect_section(r.answer[8:], ["myai.%s. 10 A 10.5.0.8" % OPENAI], "8-hop local part")


@test("spliced again from cache: same answer (splice at answer time)")
def t_splice_cached(t):
    c = LIVE.get()
    name = "files.contoso.example.com."
    for i in range(3):
        r = query(c["port"], name)
        expect_section(r.answer, FILES_CHAIN, "answer %d" % i, ttl="any", order=True)
        eq(r.answer[-1].ttl, 10, "local A TTL (answer %d)" % i)
        no_public(r)


@test("spliced: upstream authority/additional about the cut part dropped")
def t_splice_sections(t):
    c = LIVE.get()
    r = query(c["port"], "shop.contoso.example.com.")
    expect_rcode(r, "NOERROR")
    expect_section(r.answer, ["shop.contoso.example.com. 120 CNAME acct.blob.core.windows.net.",
                              "acct.blob.core.windows.net. 60 CNAME acct.%s." % BLOB,
                              "acct.%s. 10 A 10.1.0.5" % BLOB], "answer", ttl="any",
                   order=True)
    for sec, recs in (("authority", r.authority), ("additional", r.additional)):
        for rrs in recs:
            expect(not rrs.name.to_text().lower().endswith("store.core.windows.net."),
                   "no upstream %s record about the front end" % sec, got=show(r))
    no_public(r, "20.60.0.53")


@test("Site Recovery: public name spliced at the '-.' privatelink name")
def t_asr(t):
    c = LIVE.get()
    pl = "vid-asr-pod01-srs1-.eus.%s." % ASR
    r = query(c["port"], "vid-asr-pod01-srs1.eus.hypervrecoverymanager.windowsazure.com.")
    expect_rcode(r, "NOERROR")
    expect_section(r.answer, [
        "vid-asr-pod01-srs1.eus.hypervrecoverymanager.windowsazure.com. 60 CNAME " + pl,
        pl + " 10 A 10.4.0.7"], "answer", ttl="max", order=True)
    no_public(r)
    r = query(c["port"], pl)
    expect_rcode(r, "NOERROR", "direct query")
    expect_flag(r, dns.flags.AA, True, "direct query of the privatelink name")
    expect_section(r.answer, [pl + " 10 A 10.4.0.7"], "direct answer")


@test("Migrate: public name synthesized, privatelink name authoritative")
def t_migrate(t):
    c = LIVE.get()
    r = query(c["port"], MIG_PUBLIC)
    expect_section(r.answer, MIG, "public name", order=True)
    r = query(c["port"], MIG_PL)
    expect_flag(r, dns.flags.AA, True, "privatelink name")
    expect_section(r.answer, ["%s 10 A 10.3.0.4" % MIG_PL], "privatelink name")


HOPS = ["chat.contoso-ai.example.com. 300 CNAME hop1.contoso-ai.example.com."] + \
    ["hop%d.contoso-ai.example.com. 300 CNAME hop%d.contoso-ai.example.com." % (i, i + 1)
     for i in range(1, 6)] + \
    ["hop6.contoso-ai.example.com. 300 CNAME myai.openai.azure.com.",
     "myai.openai.azure.com. %d CNAME myai.%s." % (RECORDS_TTL, OPENAI)]


@test("8-hop CNAME chain into a local zone (Azure OpenAI)")
def t_8hop(t):
    c = LIVE.get()
    eq(len(HOPS), 8, "(test) hops")
    for proto in ("udp", "tcp"):
        r = query(c["port"], "chat.contoso-ai.example.com.", proto=proto, timeout=3)
        expect_rcode(r, "NOERROR", proto)
        expect_section(r.answer[:8], HOPS, "the 8 kept CNAMEs (%s)" % proto, ttl="any",
                       order=True)
        expect_section(r.answer[8:], ["myai.%s. 10 A 10.5.0.8" % OPENAI],
                       "the local A (%s)" % proto)
        no_public(r)


@test("16-CNAME chain into a local zone is still followed")
def t_16hop(t):
    c = LIVE.get()
    chain = ["l%d.chain16.example.com. 300 CNAME l%d.chain16.example.com." % (i, i + 1)
             for i in range(15)] + \
        ["l15.chain16.example.com. 300 CNAME myai.%s." % OPENAI]
    r = query(c["port"], "l0.chain16.example.com.", timeout=3)
    expect_rcode(r, "NOERROR")
    expect_section(r.answer, chain + ["myai.%s. 10 A 10.5.0.8" % OPENAI], "answer",
                   ttl="max", order=True)
    no_public(r)


def _loops(names):
    c = LIVE.get()
    for qname in names:
        with Timer() as tm:
            r = query(c["port"], qname, timeout=4)
        expect_rcode(r, "SERVFAIL", "for %s" % qname)
        expect(tm.elapsed < 2.5, "answered within the deadline", got=tm.elapsed)
    expect(c["pldns"].alive(), "daemon alive after loops")


@test("CNAME loops: SERVFAIL (upstream loop, loop inside a local zone)")
def t_loops(t):
    _loops(["loop1.example.net.", "loopa.%s." % BLOB])


@test("CNAME loop through a local zone and back out to the public name: SERVFAIL")
def t_loops_mixed(t):
    # loopy.example.net -> loopy.blob.core.windows.net -> (local)
    # loopy.privatelink.blob.core.windows.net -> loopy.example.net
    # For loopy.blob.core.windows.net this needs pldns to chase the local
    # CNAME's public target upstream (as a resolver for stub clients must);
    # an answer ending in a dangling CNAME to loopy.example.net hides the
    # loop from pldns and hands it to the client.
    _loops(["loopy.example.net.", "loopy.blob.core.windows.net."])


@test("DNAME into a local zone is spliced; a public DNAME passes through")
def t_dname(t):
    c = LIVE.get()
    r = query(c["port"], "acct.dn.example.com.")
    expect_rcode(r, "NOERROR", "acct.dn.example.com")
    expect_section(r.answer, [
        "dn.example.com. 300 DNAME privatelink.blob.core.windows.net.",
        "acct.dn.example.com. 300 CNAME acct.%s." % BLOB,
        "acct.%s. 10 A 10.1.0.5" % BLOB], "spliced DNAME answer", ttl="any", order=True)
    no_public(r)
    r = query(c["port"], "www.dn2.example.com.")
    expect_rcode(r, "NOERROR", "www.dn2.example.com")
    expect_section(r.answer, [
        "dn2.example.com. 300 DNAME example.net.",
        "www.dn2.example.com. 300 CNAME www.example.net.",
        "www.example.net. 300 A 93.184.216.34"], "public DNAME answer", ttl="max",
        order=True)


# ------------------------------------------------------------------ missing names

@test("missing name, missing = nxdomain: chain + NXDOMAIN + local SOA (RFC 6604)")
def t_missing_nxdomain(t):
    c = LIVE.get()
    for proto in ("udp", "tcp"):
        r = query(c["port"], "other.blob.core.windows.net.", proto=proto)
        expect_rcode(r, "NXDOMAIN", proto)
        expect_section(r.answer, ["other.blob.core.windows.net. 60 CNAME other.%s." % BLOB],
                       "the chain so far (%s)" % proto, ttl="max")
        soa_check(r, BLOB, proto)
        no_public(r)


@test("missing name, missing = fallback: the upstream's public answer")
def t_missing_fallback(t):
    c = LIVE.get()
    for qname in ("other-kv.vault.azure.net.", "other-kv.%s." % VAULT):
        direct = query(c["up"].port, qname)
        expect_rcode(direct, "NOERROR", "(fake upstream) " + qname)
        for proto in ("udp", "tcp"):
            r = query(c["port"], qname, proto=proto, timeout=3)
            expect_rcode(r, "NOERROR", "%s %s" % (qname, proto))
            expect_section(r.answer, [x.to_text() for x in direct.answer],
                           "public answer for %s (%s)" % (qname, proto), ttl="max",
                           order=True)
    # the zone's local data is still used where it exists
    r = query(c["port"], "kv.vault.azure.net.")
    expect_section(r.answer, KV, "kv (local data) in the fallback zone", order=True)


@test("public name without private endpoint: public answer passed on")
def t_no_pe(t):
    c = LIVE.get()
    r = query(c["port"], "nope.blob.core.windows.net.")
    expect_rcode(r, "NOERROR")
    expect_section(r.answer, ["nope.blob.core.windows.net. 60 CNAME blob.xyz.store.core.windows.net.",
                              "blob.xyz.store.core.windows.net. 60 A 20.60.1.1"],
                   "answer", ttl="max", order=True)


@test("not authoritative for public zones: unknown public name forwarded")
def t_public_nx(t):
    c = LIVE.get()
    name = "zz%d.blob.core.windows.net." % random.randrange(1 << 20)
    r = query(c["port"], name)
    expect_rcode(r, "NXDOMAIN")
    expect_flag(r, dns.flags.AA, False)
    expect(any(x.rdtype == dns.rdatatype.SOA and x.name.to_text() == "core.windows.net."
               for x in r.authority), "the upstream's SOA (core.windows.net)", got=show(r))
    expect(c["up"].qcount(name) >= 1, "asked upstream")


@test("[records] missing = fallback as the default; a zone's own setting wins")
def t_missing_default(t):
    up = t.fakeup(AZURE, name="azure")
    port = free_port()
    zones = [(BLOB, {"file": "blob.zone"}),
             (VAULT, {"file": "vault.zone", "missing": "nxdomain"})]
    conf = make_config(port, upstreams=[up.addr], timeout_ms=800, deadline_ms=2000,
                       zones=zones, records={"missing": "fallback"},
                       extra=daemon_extra())
    t.pldns(conf, FILES, port=port)
    direct = query(up.port, "other.blob.core.windows.net.")
    r = query(port, "other.blob.core.windows.net.")
    expect_rcode(r, "NOERROR", "blob zone inherits fallback")
    expect_section(r.answer, [x.to_text() for x in direct.answer],
                   "public answer for other.blob", ttl="max", order=True)
    r = query(port, "other-kv.vault.azure.net.")
    expect_rcode(r, "NXDOMAIN", "vault zone says nxdomain itself")
    expect_section(r.answer, ["other-kv.vault.azure.net. 60 CNAME other-kv.%s." % VAULT],
                   "chain so far", ttl="max")
    soa_check(r, VAULT, "vault NXDOMAIN")


@test("a change of local data changes cached spliced answers at once (reload)")
def t_reload_splice(t):
    up = t.fakeup(AZURE, name="azure")
    port = free_port()
    conf = make_config(port, upstreams=[up.addr], timeout_ms=800, deadline_ms=2000,
                       zones=ZONES, extra=daemon_extra())
    p = t.pldns(conf, FILES, port=port)
    for _ in range(2):      # the second one may come from the cache
        r = query(port, "files.contoso.example.com.")
        expect_section(r.answer[2:], FILES_CHAIN[2:], "before the change")
        r = query(port, "acct.blob.core.windows.net.")
        expect_section(r.answer, ACCT, "synthesized, before the change", order=True)
    path = t.dir.join("blob.zone")
    with open(path + ".new", "w") as f:
        f.write(FILES["blob.zone"].replace("10.1.0.5", "10.1.0.77"))
    os.rename(path + ".new", path)
    p.proc.send_signal(signal.SIGHUP)
    want = "acct.%s. 10 A 10.1.0.77" % BLOB
    end = time.monotonic() + 5 * SLOW
    while True:
        r = query(port, "files.contoso.example.com.")
        got = [rd.to_text() for rrs in r.answer for rd in rrs
               if rrs.rdtype == dns.rdatatype.A]
        if got == ["10.1.0.77"] or time.monotonic() > end:
            break
        time.sleep(0.1)
    expect_section(r.answer[2:], [want], "spliced answer after the change (cached "
                   "upstream part, new local part)")
    r = query(port, "acct.blob.core.windows.net.")
    expect_section(r.answer[1:], [want], "synthesized answer after the change")
    expect(p.alive(), "daemon alive after reload")


# ------------------------------------------------------------------ types

@test("AAAA: chain + NODATA with the local SOA, never the public AAAA")
def t_aaaa(t):
    for c in (LIVE.get(), DEAD.get()):
        r = query(c["port"], "acct.blob.core.windows.net.", "AAAA")
        expect_rcode(r, "NOERROR")
        expect_section(r.answer, ACCT[:1], "answer: the CNAME only")
        soa_check(r, BLOB, "AAAA")
        no_public(r)
    c = LIVE.get()
    r = query(c["port"], "files.contoso.example.com.", "AAAA")
    expect_rcode(r, "NOERROR", "spliced AAAA")
    expect_section(r.answer, FILES_CHAIN[:2], "spliced AAAA: the chain only", ttl="any",
                   order=True)
    soa_check(r, BLOB, "spliced AAAA")
    no_public(r)


@test("CNAME qtype: the synthesized CNAME alone")
def t_cname_qtype(t):
    for c in (LIVE.get(), DEAD.get()):
        r = query(c["port"], "acct.blob.core.windows.net.", "CNAME")
        expect_rcode(r, "NOERROR")
        expect_section(r.answer, ACCT[:1], "answer")


@test("other types (TXT, MX): chain + NODATA; ANY minimal")
def t_other_types(t):
    c = DEAD.get()
    for typ in ("TXT", "MX", "SRV"):
        r = query(c["port"], "acct.blob.core.windows.net.", typ)
        expect_rcode(r, "NOERROR", typ)
        expect_section(r.answer, ACCT[:1], "answer for %s" % typ)
        soa_check(r, BLOB, typ)
    r = query(c["port"], "acct.blob.core.windows.net.", "ANY")
    expect_rcode(r, "NOERROR", "ANY")
    expect(1 <= len(r.answer) <= 2, "ANY: minimal answer", got=show(r))
    no_public(r)


# ------------------------------------------------------------------ case, EDNS, TCP

@test("mixed case: question echoed byte for byte, chain names match")
def t_case(t):
    c = LIVE.get()
    for qname, want, ttl in (("AcCt.BLOB.Core.Windows.NET.", ACCT, "exact"),
                             ("FILES.Contoso.Example.COM.", FILES_CHAIN, "any")):
        for proto in ("udp", "tcp"):
            q = make_query(qname, "A")
            qw = q.to_wire()
            rw = query_wire(c["port"], qw, proto, timeout=3)
            expect(rw is not None, "an answer for %s (%s)" % (qname, proto))
            eq(question_bytes(rw), question_bytes(qw), "question bytes (%s)" % proto)
            r = dns.message.from_wire(rw)
            expect_rcode(r, "NOERROR", qname)
            expect_section(r.answer, want, "answer for %s (%s)" % (qname, proto),
                           ttl=ttl, order=True)


@test("EDNS and DO: own OPT, DO passed upstream, answer unchanged, no RRSIGs")
def t_edns_do(t):
    c = LIVE.get()
    r = query(c["port"], "acct.blob.core.windows.net.", do=True)
    eq(r.edns, 0, "OPT in the response (synthesized)")
    expect_section(r.answer, ACCT, "synthesized answer with DO=1", order=True)
    r = query(c["port"], "files.contoso.example.com.", do=True, payload=4096)
    eq(r.edns, 0, "OPT in the response (spliced)")
    eq(r.payload, 1232, "advertised size")
    expect_section(r.answer, FILES_CHAIN, "spliced answer with DO=1", ttl="any", order=True)
    expect(not any(x.rdtype == dns.rdatatype.RRSIG for x in r.answer + r.authority),
           "no RRSIG", got=show(r))
    name = "do%d.contoso.example.com." % random.randrange(1 << 20)
    query(c["port"], name, do=True)
    last = c["up"].last(name)
    expect(last is not None, "forwarded")
    eq(last["do"], "1", "DO bit in the upstream query")
    r = query(c["port"], "acct.blob.core.windows.net.", edns=None)
    eq(r.edns, -1, "no OPT when the client sent none")
    expect_section(r.answer, ACCT, "answer without EDNS", order=True)


@test("synthesized answers survive a small client UDP size (512)")
def t_small_udp(t):
    c = LIVE.get()
    r = query(c["port"], MIG_PUBLIC, edns=None)
    expect_flag(r, dns.flags.TC, False, "answer fits in 512")
    expect_section(r.answer, MIG, "answer", order=True)


@test("daemons still running at the end")
def t_alive(t):
    for c in (LIVE.get(), DEAD.get()):
        expect(c["pldns"].alive(), "pldns alive")
        rc = c["pldns"].stop()
        expect(rc in (0, -15), "SIGTERM: clean exit", got=rc)
        log = c["pldns"].log_text()
        for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer"):
            expect(bad not in log, "no %s report in the log" % bad, got=log[-2000:])


if __name__ == "__main__":
    main()
