#!/usr/bin/python3
"""System tests for zone transfers (issue 9): pldns as a primary (AXFR,
IXFR from its journal, fallbacks, allow_transfer, TSIG, NOTIFY) and as a
secondary of another pldns (pull on start, NOTIFY, restart from disk,
expiry, wrong key).  BIND interop is in test_xfr_bind.py.

dnspython is the client and the fake secondary; everything is on loopback.

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_xfr.py [NAME-SUBSTRING...]
"""

import os
import select
import socket
import time

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import dns.xfr

from harness import (SLOW, Fail, ask_every_worker, eq, expect, expect_rcode, free_port,
                     main, query, test)
from xfr_common import (KEYRING, SECRET, WRONG, WRONG_KEYRING, ZONE, _answer_types,
                        axfr_records, big_body, config, hup, raw_tcp, raw_udp,
                        rcode_of, serial_of, tsig_error_of, wait_for, wait_serial,
                        xfr_query, zone_text)

# ---------------------------------------------------------------- primary

@test("primary: AXFR of a zone, SOA first and last, every record once")
def t_axfr(ctx):
    port = free_port()
    ctx.pldns(config(port, [(ZONE, {"file": "z.zone",
                                    "allow_transfer": "127.0.0.0/8"})]),
              {"z.zone": zone_text(5, big_body(3000))})
    recs, nmsg = axfr_records(port)
    eq(recs[0][1], dns.rdatatype.SOA, "first record")
    eq(recs[-1], recs[0], "last record")
    eq(len(recs), 3000 + 5, "records (SOA twice, NS, ns1, www, 3000 hosts)")
    eq(len(set(recs[1:-1])), len(recs) - 2, "distinct records")
    expect(nmsg > 1, "a zone of 3000 records in several messages", nmsg)
    expect(any(r[0] == "host-02999.xfr.example." for r in recs), "last host present")


@test("primary: allow_transfer refuses other clients; AXFR over UDP refused")
def t_refused(ctx):
    port = free_port()
    ctx.pldns(config(port, [(ZONE, {"file": "z.zone", "allow_transfer": "127.0.0.2"}),
                            ("closed.example", {"file": "c.zone"})]),
              {"z.zone": zone_text(1), "c.zone": zone_text(1, origin="closed.example")})
    for src, want in (("127.0.0.1", "REFUSED"), ("127.0.0.2", "NOERROR")):
        try:
            axfr_records(port, source=src)
            got = "NOERROR"
        except dns.xfr.TransferError as e:
            got = dns.rcode.to_text(e.rcode)
        eq(got, want, "AXFR from %s" % src)
    w = raw_tcp(port, xfr_query("closed.example", "AXFR").to_wire())
    eq(dns.rcode.to_text(rcode_of(w[0])), "REFUSED", "zone without allow_transfer")
    w = raw_tcp(port, xfr_query("www.xfr.example", "AXFR").to_wire())
    eq(dns.rcode.to_text(rcode_of(w[0])), "NOTAUTH", "AXFR of a name that is no zone apex")
    r = query(port, xfr_query(ZONE, "AXFR"), proto="udp")
    expect_rcode(r, "REFUSED", "AXFR over UDP")


@test("primary: [server] allow comes first: a client outside it gets no transfer")
def t_allow_first(ctx):
    port = free_port()
    ctx.pldns(config(port, [(ZONE, {"file": "z.zone", "allow_transfer": "127.0.0.0/8"})],
                     server={"allow": "127.0.0.2/32"}),
              {"z.zone": zone_text(1)})
    for src, want in (("127.0.0.1", "REFUSED"), ("127.0.0.2", "NOERROR")):
        try:
            axfr_records(port, source=src)
            got = "NOERROR"
        except dns.xfr.TransferError as e:
            got = dns.rcode.to_text(e.rcode)
        eq(got, want, "AXFR from %s" % src)


@test("primary: TSIG: unsigned refused, right key served and signed, "
      "wrong key NOTAUTH/BADSIG, unknown key BADKEY")
def t_tsig(ctx):
    port = free_port()
    ctx.pldns(config(port, [(ZONE, {"file": "z.zone", "allow_transfer": "127.0.0.0/8",
                                    "key": "xk"})], keys=[("xk", SECRET)]),
              {"z.zone": zone_text(3, big_body(1500))})
    w = raw_tcp(port, xfr_query(ZONE, "AXFR").to_wire())
    eq(dns.rcode.to_text(rcode_of(w[0])), "REFUSED", "unsigned AXFR of a keyed zone")
    # dnspython verifies every message's TSIG (and raises when one is bad).
    recs, nmsg = axfr_records(port, keyring=KEYRING)
    eq(len(recs), 1500 + 5, "records with TSIG")
    expect(nmsg > 1, "several signed messages", nmsg)
    w = raw_tcp(port, xfr_query(ZONE, "AXFR", keyring=WRONG_KEYRING).to_wire())
    eq(dns.rcode.to_text(rcode_of(w[0])), "NOTAUTH", "wrong secret")
    eq(tsig_error_of(w[0]), (16, 0), "TSIG error BADSIG, no MAC")
    other = dns.tsigkeyring.from_text({"nokey": ("hmac-sha256", SECRET)})
    q = xfr_query(ZONE, "AXFR")
    q.use_tsig(other, keyname="nokey")
    w = raw_tcp(port, q.to_wire())
    eq(dns.rcode.to_text(rcode_of(w[0])), "NOTAUTH", "unknown key")
    eq(tsig_error_of(w[0]), (17, 0), "TSIG error BADKEY")
    # A signed SOA query (what a secondary sends first) is answered signed.
    r = dns.query.udp(xfr_query(ZONE, "SOA", keyring=KEYRING), "127.0.0.1",
                      port=port, timeout=2 * SLOW)
    eq(r.answer[0][0].serial, 3, "signed SOA answer")
    expect(r.had_tsig, "the SOA answer is signed")


@test("primary: IXFR of one change among 20000 records is one message under 1 KB")
def t_ixfr(ctx):
    port = free_port()
    p = ctx.pldns(config(port, [(ZONE, {"file": "z.zone",
                                        "allow_transfer": "127.0.0.0/8"})]),
                  {"z.zone": zone_text(1, big_body(20000))})
    ctx.dir.write("z.zone", zone_text(2, big_body(20000, changed=42)))
    hup(p)
    wait_serial(port, 2, 10)
    w = raw_tcp(port, xfr_query(ZONE, "IXFR", serial=1).to_wire(), until_soas=4)
    eq(len(w), 1, "messages")
    expect(len(w[0]) < 1024, "IXFR of one change under 1 KB", len(w[0]))
    m = dns.message.from_wire(w[0], xfr=True, one_rr_per_rrset=True)
    got = [(r.name.to_text(), dns.rdatatype.to_text(r.rdtype), r[0].to_text())
           for r in m.answer]
    want_soa = lambda s: (ZONE + ".", "SOA",
                          "ns1.%s. hostmaster.%s. %d 3600 600 86400 60" % (ZONE, ZONE, s))
    eq(got, [want_soa(2), want_soa(1),
             ("host-00042.%s." % ZONE, "A", "10.1.0.42"), want_soa(2),
             ("host-00042.%s." % ZONE, "A", "10.1.0.9"), want_soa(2)],
       "IXFR answer")
    # dnspython applies it as a client would.
    recs, _ = axfr_records(port, rdtype="IXFR", serial=1)
    eq(len(recs), 6, "IXFR records through dnspython")
    # Current serial: the SOA alone; over UDP too.
    w = raw_tcp(port, xfr_query(ZONE, "IXFR", serial=2).to_wire())
    eq(_answer_types(w[0]), [6], "IXFR from the current serial")
    r = query(port, xfr_query(ZONE, "IXFR", serial=1), proto="udp")
    eq(len(r.answer), 1, "IXFR over UDP: the SOA alone")
    # A serial the journal never saw: the whole zone, AXFR-style.
    recs, _ = axfr_records(port, rdtype="IXFR", serial=0)
    eq(len(recs), 20000 + 5, "IXFR fallback to a full zone")


@test("primary: NOTIFY to notify= targets on change, signed, repeated until answered")
def t_notify_sent(ctx):
    port = free_port()
    sec, sport = _udp_socket()
    try:
        p = ctx.pldns(config(port, [(ZONE, {"file": "z.zone", "key": "xk",
                                            "notify": "127.0.0.1:%d" % sport})],
                             keys=[("xk", SECRET)]),
                      {"z.zone": zone_text(1)})
        # One at start; answered, so not repeated.
        m, addr = _recv_notify(sec, 3.0)
        eq(m.answer[0][0].serial, 1, "serial in the start-up NOTIFY")
        _answer_notify(sec, m, addr)
        ctx.dir.write("z.zone", zone_text(2))
        t0 = time.monotonic()
        hup(p)
        m, addr = _recv_notify(sec, 5.0)
        eq(m.answer[0][0].serial, 2, "serial in the NOTIFY after a change")
        expect(m.had_tsig, "NOTIFY signed with the zone's key")
        expect(time.monotonic() - t0 < 2.0 * SLOW, "NOTIFY soon after the reload",
               time.monotonic() - t0)
        # Unanswered: sent again after about a second.
        m2, _ = _recv_notify(sec, 3.0)
        eq(m2.id, m.id, "the repeat has the same ID")
        _answer_notify(sec, m2, addr)
        r, _, _ = select.select([sec], [], [], 2.5 * SLOW)
        expect(not r, "no more NOTIFY once answered")
    finally:
        sec.close()


@test("primary: NOTIFY only once every worker serves the new serial")
def t_notify_after_swap(ctx):
    # A secondary asks for the SOA the moment NOTIFY arrives; a worker still
    # on the old data would answer with the old serial and the secondary
    # would conclude it is up to date (BIND then waits for its refresh).
    # SOA queries from many source ports reach every worker (SO_REUSEPORT
    # hashes the source), right after each of 15 reloads.
    port = free_port()
    sec, sport = _udp_socket()
    try:
        p = ctx.pldns(config(port, [(ZONE, {"file": "z.zone",
                                            "notify": "127.0.0.1:%d" % sport})],
                             server={"workers": "4"}),
                      {"z.zone": zone_text(1)})
        m, addr = _recv_notify(sec, 3.0)
        _answer_notify(sec, m, addr)
        stale = []
        for serial in range(2, 17):
            ctx.dir.write("z.zone", zone_text(serial))
            hup(p)
            m, addr = _recv_notify(sec, 5.0)
            eq(m.answer[0][0].serial, serial, "serial in the NOTIFY")
            for r in ask_every_worker(port, ZONE, "SOA"):
                if r.answer[0][0].serial != serial:
                    stale.append((serial, r.answer[0][0].serial))
            _answer_notify(sec, m, addr)
        eq(stale, [], "SOA serials older than the NOTIFY just received")
    finally:
        sec.close()


def _udp_socket():
    """A UDP socket on 127.0.0.1, and its port number."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


def _recv_notify(sock, timeout):
    timeout *= SLOW
    r, _, _ = select.select([sock], [], [], timeout)
    if not r:
        raise Fail("no NOTIFY within %.1f s" % timeout)
    wire, addr = sock.recvfrom(65535)
    m = dns.message.from_wire(wire, keyring=KEYRING)
    eq(m.opcode(), dns.opcode.NOTIFY, "opcode")
    eq(m.question[0].name.to_text(), ZONE + ".", "NOTIFY zone")
    return m, addr


def _answer_notify(sock, m, addr):
    r = dns.message.make_response(m)
    sock.sendto(r.to_wire(), addr)


# ---------------------------------------------------------------- secondary

def _primary_and_secondary(ctx, body="", key=True, sec_secret=SECRET,
                           refresh=3600, retry=600, expire=86400):
    pport, sport = free_port(), free_port()
    zkv = {"file": "z.zone", "allow_transfer": "127.0.0.0/8",
           "notify": "127.0.0.1:%d" % sport}
    if key:
        zkv["key"] = "xk"
    prim = ctx.pldns(config(pport, [(ZONE, zkv)], keys=[("xk", SECRET)]),
                     {"z.zone": zone_text(1, body, refresh=refresh, retry=retry,
                                          expire=expire)}, name="primary")
    skv = {"primary": "127.0.0.1:%d" % pport}
    if key:
        skv["key"] = "xk"
    sconf = config(sport, [(ZONE, skv)], keys=[("xk", sec_secret)],
                   server={"state_dir": "sec-state"})
    sec = ctx.pldns(sconf, name="secondary")
    return prim, pport, sec, sport, sconf


@test("secondary: pulls on start, then an IXFR on NOTIFY within 1 s (TSIG)")
def t_secondary(ctx):
    prim, pport, sec, sport, _ = _primary_and_secondary(ctx, big_body(500))
    wait_serial(sport, 1, 10)
    r = query(sport, "www." + ZONE)
    eq(r.answer[0][0].address, "10.0.0.2", "answer from the transferred zone")
    expect(os.path.exists(ctx.dir.join("sec-state/%s.zone" % ZONE)),
           "zone kept on disk")
    ctx.dir.write("z.zone", zone_text(2, big_body(500) + "new A 10.0.0.77\n"))
    hup(prim)
    wait_serial(pport, 2, 10)
    t0 = time.monotonic()
    wait_for(lambda: query(sport, "new." + ZONE).answer, 1.0,
             "the new record at the secondary after the NOTIFY")
    ctx.note("secondary caught up %.3f s after the primary" % (time.monotonic() - t0))
    wait_for(lambda: "IXFR of %s" % ZONE in prim.log_text(), 2.0,
             "the primary logging an IXFR")


@test("secondary: a restart serves the zone from disk at once, primary down")
def t_secondary_restart(ctx):
    prim, pport, sec, sport, sconf = _primary_and_secondary(ctx)
    wait_serial(sport, 1, 10)
    prim.stop()
    sec.stop()
    sec2 = ctx.pldns(sconf, name="secondary")
    eq(serial_of(sport), 1, "serial right after the restart")
    eq(query(sport, "www." + ZONE).answer[0][0].address, "10.0.0.2",
       "answer right after the restart")
    expect(sec2.alive(), "secondary running without its primary")


@test("secondary: no refresh within expire: SERVFAIL")
def t_secondary_expire(ctx):
    prim, pport, sec, sport, _ = _primary_and_secondary(ctx, refresh=1, retry=1,
                                                         expire=5)
    wait_serial(sport, 1, 10)
    expect_rcode(query(sport, "www." + ZONE), "NOERROR", "before expiry")
    prim.stop()
    t0 = time.monotonic()
    wait_for(lambda: query(sport, "www." + ZONE).rcode() == dns.rcode.SERVFAIL,
             10.0, "SERVFAIL after expire")
    ctx.note("SERVFAIL %.1f s after the primary stopped" % (time.monotonic() - t0))


def _ede_codes(r):
    return [o.code for o in r.options if o.otype == dns.edns.EDE]


@test("secondary: expired: SERVFAIL and EDE 22 over UDP and TCP, on every worker "
      "and across a reload; answers again once a refresh succeeds")
def t_secondary_expire_back(ctx):
    prim, pport, sec, sport, _ = _primary_and_secondary(ctx, refresh=1, retry=1,
                                                         expire=5)
    pconf = ctx.dir.join("primary.ini")
    with open(pconf) as f:
        pconf = f.read()
    wait_serial(sport, 1, 10)
    expect_rcode(query(sport, "www." + ZONE), "NOERROR", "before expiry")
    prim.stop()
    wait_for(lambda: query(sport, "www." + ZONE).rcode() == dns.rcode.SERVFAIL,
             10.0, "SERVFAIL after expire")
    for proto in ("udp", "tcp"):
        r = query(sport, "www." + ZONE, proto=proto)
        expect_rcode(r, "SERVFAIL", "expired zone over %s" % proto)
        eq(_ede_codes(r), [22], "EDE over %s" % proto)
    # A reload builds new data from the zone file on disk: still expired.
    n = sec.log_text().count("reloaded:")
    hup(sec)
    wait_for(lambda: sec.log_text().count("reloaded:") > n, 5.0, "the reload")
    for r in ask_every_worker(sport, "www." + ZONE):
        expect_rcode(r, "SERVFAIL", "expired zone after a reload")
        eq(_ede_codes(r), [22], "EDE after a reload")
    # The primary is back: the next retry finds serial 1 current.
    t0 = time.monotonic()
    ctx.pldns(pconf, name="primary")
    wait_for(lambda: query(sport, "www." + ZONE).rcode() == dns.rcode.NOERROR,
             10.0, "answers once a refresh succeeded")
    ctx.note("answering %.1f s after the primary came back" % (time.monotonic() - t0))
    for r in ask_every_worker(sport, "www." + ZONE):
        expect_rcode(r, "NOERROR", "every worker after the refresh")
        eq(r.answer[0][0].address, "10.0.0.2", "the zone's data")


@test("secondary: a wrong key gets nothing; NOTIFY with a wrong key is NOTAUTH")
def t_secondary_wrong_key(ctx):
    prim, pport, sec, sport, _ = _primary_and_secondary(ctx, sec_secret=WRONG)
    wait_for(lambda: "BADSIG" in sec.log_text() or "BADSIG" in prim.log_text(),
             5.0, "a BADSIG in a log")
    expect_rcode(query(sport, "www." + ZONE), "SERVFAIL", "zone never transferred")
    q = dns.message.make_query(ZONE, "SOA", use_edns=False)
    q.set_opcode(dns.opcode.NOTIFY)
    q.flags |= dns.flags.AA
    q.use_tsig(KEYRING, keyname="xk")     # the primary's secret, not the secondary's
    w = raw_udp(sport, q.to_wire())
    eq(dns.rcode.to_text(rcode_of(w)), "NOTAUTH", "NOTIFY with the wrong key")
    eq(tsig_error_of(w)[0], 16, "BADSIG")


if __name__ == "__main__":
    main()
