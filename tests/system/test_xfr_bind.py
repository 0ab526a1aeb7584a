#!/usr/bin/python3
"""Zone transfer interop with BIND from Debian (issue 9), on loopback:

  - BIND as secondary pulls from pldns: AXFR, then IXFR after a change,
    with TSIG, started by pldns's NOTIFY within 1 s;
  - pldns as secondary pulls from a BIND primary: AXFR, then IXFR after a
    dynamic update, started by BIND's NOTIFY within 1 s;
  - a wrong TSIG key is refused both ways.

BIND's SOA queries after a NOTIFY go through a rate limiter that, at its
default serial-query-rate of 20, releases them in ticks of 500 ms; the test
raises the rate so that the 1 s measures pldns's NOTIFY and IXFR, not that
tick (with the default, BIND caught up 0.47 s after pldns in every run here).

named runs in the foreground (-g) from a generated named.conf in the test's
temp dir, listening on 127.0.0.1 only, with no control channel.  Tests are
skipped when named is not installed.

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_xfr_bind.py [NAME...]
"""

import time

import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update

import named_common
from harness import SLOW, Fail, eq, expect, expect_rcode, free_port, main, query, test
from xfr_common import (SECRET, WRONG, ZONE, config, hup, wait_for,
                        wait_serial, zone_text)

KEYRING = dns.tsigkeyring.from_text({"xk": ("hmac-sha256", SECRET)})
BIND_ZONE = "bind.example"


# What the transfer tests need of named: no recursion, NOTIFY at once, SOA
# queries after a NOTIFY not held back (see above), the TSIG key.
XFR_OPTIONS = """  recursion no;
  dnssec-validation no;
  notify-delay 0;
  serial-query-rate 1000;
"""


def named(ctx, name, port, zones_conf, files=None, secret=SECRET):
    return named_common.named(
        ctx, name, port, zones_conf, files=files, options=XFR_OPTIONS,
        extra='key "xk" { algorithm hmac-sha256; secret "%s"; };' % secret)


def _notes(ctx, *daemons):
    for d in daemons:
        ctx.note("%s log:\n%s" % (d.logpath, d.log_text()[-2500:]))


# ---------------------------------------------------------------- BIND secondary

def _bind_secondary(ctx, secret):
    pport, bport = free_port(), free_port()
    p = ctx.pldns(config(pport, [(ZONE, {"file": "z.zone",
                                         "allow_transfer": "127.0.0.0/8",
                                         "notify": "127.0.0.1:%d" % bport,
                                         "key": "xk"})],
                         keys=[("xk", SECRET)]),
                  {"z.zone": zone_text(1, "".join("h%d A 10.9.0.%d\n" % (i, i)
                                                  for i in range(1, 200)))})
    n = named(ctx, "bind-secondary", bport, """zone "%s" {
  type secondary;
  file "%s.bk";
  primaries { 127.0.0.1 port %d key xk; };
};""" % (ZONE, ZONE, pport), secret=secret)
    return p, pport, n, bport


@test("BIND secondary: AXFR from pldns with TSIG, then IXFR on NOTIFY within 1 s")
def t_bind_secondary(ctx):
    p, pport, n, bport = _bind_secondary(ctx, SECRET)
    try:
        wait_serial(bport, 1, 10)
        eq(query(bport, "h7." + ZONE).answer[0][0].address, "10.9.0.7",
           "BIND answers from the zone it got from pldns")
        expect("transferred serial 1: TSIG 'xk'" in n.log_text(),
               "BIND: signed transfer of serial 1")
        expect("AXFR of %s" % ZONE in p.log_text(), "pldns served an AXFR")

        ctx.dir.write("z.zone", zone_text(2, "".join(
            "h%d A 10.9.0.%d\n" % (i, i) for i in range(1, 200) if i != 7)
            + "new A 10.9.1.1\n"))
        hup(p)
        wait_serial(pport, 2, 10)
        t0 = time.monotonic()
        wait_serial(bport, 2, 1.0)
        ctx.note("BIND caught up %.3f s after pldns" % (time.monotonic() - t0))
        eq(query(bport, "new." + ZONE).answer[0][0].address, "10.9.1.1", "added")
        expect_rcode(query(bport, "h7." + ZONE), "NXDOMAIN", "deleted")
        wait_for(lambda: "IXFR of %s to 127.0.0.1" % ZONE in p.log_text(), 2.0,
                 "pldns served an IXFR")
        expect("transferred serial 2: TSIG 'xk'" in n.log_text(),
               "BIND: signed transfer of serial 2")
    except Fail:
        _notes(ctx, n)
        raise


@test("BIND secondary with a wrong TSIG key is refused")
def t_bind_secondary_wrong_key(ctx):
    p, pport, n, bport = _bind_secondary(ctx, WRONG)
    try:
        wait_for(lambda: "BADSIG" in p.log_text(), 10.0, "pldns logging BADSIG")
        time.sleep(0.5 * SLOW)
        expect_rcode(query(bport, "h7." + ZONE), "SERVFAIL",
                     "BIND has no zone data")
        expect("AXFR of %s" % ZONE not in p.log_text(), "no AXFR served")
    except Fail:
        _notes(ctx, n)
        raise


# ---------------------------------------------------------------- BIND primary

def _bind_primary(ctx, secret, extra=""):
    bport, sport = free_port(), free_port()
    body = "".join("b%d A 10.8.0.%d\n" % (i, i) for i in range(1, 100)) + extra
    n = named(ctx, "bind-primary", bport, """zone "%s" {
  type primary;
  file "%s.zone";
  allow-transfer { key xk; };
  allow-update { key xk; };
  notify explicit;
  also-notify { 127.0.0.1 port %d key xk; };
};""" % (BIND_ZONE, BIND_ZONE, sport),
        files={BIND_ZONE + ".zone": zone_text(10, body, origin=BIND_ZONE)})
    s = ctx.pldns(config(sport, [(BIND_ZONE, {"primary": "127.0.0.1:%d" % bport,
                                              "key": "xk"})],
                         keys=[("xk", secret)], server={"state_dir": "state"}))
    return n, bport, s, sport


@test("pldns secondary: AXFR from BIND with TSIG, then IXFR on BIND's NOTIFY within 1 s")
def t_pldns_secondary_of_bind(ctx):
    n, bport, s, sport = _bind_primary(ctx, SECRET)
    try:
        wait_serial(sport, 10, 10, zone=BIND_ZONE)
        eq(query(sport, "b5." + BIND_ZONE).answer[0][0].address, "10.8.0.5",
           "pldns answers from the zone it got from BIND")
        expect("AXFR from 127.0.0.1:%d" % bport in s.log_text(), "pldns did an AXFR")
        u = dns.update.UpdateMessage(BIND_ZONE, keyring=KEYRING, keyname="xk")
        u.add("upd", 300, "A", "10.8.1.1")
        u.delete("b5", "A")
        r = dns.query.tcp(u, "127.0.0.1", port=bport, timeout=5 * SLOW)
        eq(dns.rcode.to_text(r.rcode()), "NOERROR", "dynamic update at BIND")
        wait_serial(bport, 11, 5, zone=BIND_ZONE)
        t0 = time.monotonic()
        wait_for(lambda: query(sport, "upd." + BIND_ZONE).answer, 1.0,
                 "the updated record at pldns")
        ctx.note("pldns caught up %.3f s after BIND" % (time.monotonic() - t0))
        expect_rcode(query(sport, "b5." + BIND_ZONE), "NXDOMAIN", "deleted record")
        wait_for(lambda: "IXFR from 127.0.0.1:%d" % bport in s.log_text(), 2.0,
                 "pldns logging an IXFR")
        eq(serial_at(sport), 11, "pldns serial")
    except Fail:
        _notes(ctx, n)
        raise


def serial_at(port):
    return query(port, BIND_ZONE, "SOA").answer[0][0].serial


@test("pldns secondary with a wrong TSIG key gets nothing from BIND")
def t_pldns_secondary_wrong_key(ctx):
    n, bport, s, sport = _bind_primary(ctx, WRONG)
    try:
        wait_for(lambda: "BADSIG" in s.log_text() or "rcode 9" in s.log_text(), 10.0,
                 "pldns logging the TSIG failure")
        expect_rcode(query(sport, "b5." + BIND_ZONE), "SERVFAIL", "no data at pldns")
        # A NOTIFY signed by BIND with the real key does not verify either.
        u = dns.update.UpdateMessage(BIND_ZONE, keyring=KEYRING, keyname="xk")
        u.add("upd", 300, "A", "10.8.1.1")
        dns.query.tcp(u, "127.0.0.1", port=bport, timeout=5 * SLOW)
        time.sleep(1.0 * SLOW)
        expect_rcode(query(sport, "upd." + BIND_ZONE), "SERVFAIL", "still no data")
    except Fail:
        _notes(ctx, n)
        raise


@test("pldns secondary refuses a zone from BIND that delegates a name (NS below the apex)")
def t_pldns_secondary_refuses_delegation(ctx):
    n, bport, s, sport = _bind_primary(ctx, SECRET, "sub NS ns.example.net.\n")
    try:
        wait_for(lambda: "NS records for sub.%s. below the zone apex" % BIND_ZONE
                 in s.log_text(), 10.0, "pldns logging the refused delegation")
        expect_rcode(query(sport, "b5." + BIND_ZONE), "SERVFAIL",
                     "nothing served from the refused transfer")
        expect_rcode(query(sport, "x.sub." + BIND_ZONE), "SERVFAIL",
                     "no authoritative answer for the delegated name")
    except Fail:
        _notes(ctx, n)
        raise


if __name__ == "__main__":
    main()
