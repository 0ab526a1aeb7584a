#!/usr/bin/python3
"""System tests for a site's pair of pldns servers (doc/deployment.md): a
primary A on 127.0.0.2 with the portal CSV in a records directory and a
secondary B on 127.0.0.3 pulling its zone over TSIG-signed transfers, both
listed by a real Unbound (Debian package unbound) in the forward-zone
clauses that "pldns forwarders --server A,B" prints.  With the primary
killed, clients of Unbound keep getting private answers (from B); once
the primary is back with a changed CSV, B catches up and so do the
clients.

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_pair.py [NAME-SUBSTRING...]
"""

import os
import shutil
import socket
import subprocess
import time

import dns.rcode
import dns.rdatatype

from harness import (SLOW, Fail, Skip, _kill, _procs, daemon_extra, eq, expect,
                     free_port, ini, query, run_pldns, show, test, main)

A, B = "127.0.0.2", "127.0.0.3"
ZONE = "privatelink.blob.core.windows.net"
SECRET = "cGFpci1wYWlyLXBhaXItcGFpci1wYWlyLXBhaXItcGE="
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
CLIENT_TIMEOUT = 5.0      # glibc's resolver: RES_TIMEOUT

# The portal's "Download DNS settings" CSV: six storage accounts.
CSV = "FQDN,IP Address\n" + "".join(
    "acct%d.%s,10.1.0.%d\n" % (i, ZONE, 10 + i) for i in range(1, 7))


def pair_port():
    """A port free for UDP and TCP on A, B and 127.0.0.1 alike, so that
    both servers listen on the same port, as at a site."""
    for _ in range(50):
        port = free_port()
        socks = []
        try:
            for host in (A, B):
                for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(socket.AF_INET, typ)
                    socks.append(s)
                    s.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise Fail("no port free on %s and %s" % (A, B))


def serial_at(host, port):
    try:
        r = query(port, ZONE, "SOA", host=host, timeout=0.5 * SLOW)
    except Fail:
        return None
    if r.rcode() != dns.rcode.NOERROR or not r.answer:
        return None
    return r.answer[0][0].serial


def wait_for(cond, timeout, what):
    end = time.monotonic() + timeout * SLOW
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise Fail("%s: not within %.1f s" % (what, timeout * SLOW))


def addresses(r):
    return sorted(rd.address for rrset in r.answer
                  if rrset.rdtype == dns.rdatatype.A for rd in rrset)


class Pair:
    """Primary A, secondary B, and the configurations to restart them."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.port = pair_port()
        self.up = ctx.fakeup(os.path.join(os.path.dirname(__file__), "data",
                                          "azure_public.py"), name="azure")
        os.makedirs(ctx.dir.join("a-records"))
        ctx.dir.write("a-records/10-portal.csv", CSV)
        key = ('key "xfr"', {"algorithm": "hmac-sha256", "secret": SECRET})
        self.a_conf = ini([
            ("server", {"listen": "%s:%d" % (A, self.port)}),
            ("upstream", {"servers": self.up.addr, "timeout_ms": 500}),
            ("records", {"sources": "a-records/"}),
            ('zone "%s"' % ZONE, {"allow_transfer": "127.0.0.0/8",
                                  "notify": "%s:%d" % (B, self.port),
                                  "key": "xfr"}),
            key] + daemon_extra())
        self.b_conf = ini([
            ("server", {"listen": "%s:%d" % (B, self.port),
                        "state_dir": "b-state"}),
            ("upstream", {"servers": self.up.addr, "timeout_ms": 500}),
            ('zone "%s"' % ZONE, {"primary": "%s:%d" % (A, self.port),
                                  "key": "xfr"}),
            key] + daemon_extra())
        self.a = self.start_a()
        self.b = ctx.pldns(self.b_conf, name="b")
        serial = wait_for(lambda: serial_at(A, self.port), 5, "A's serial")
        wait_for(lambda: serial_at(B, self.port) == serial, 10,
                 "B pulling serial %d from A" % serial)

    def start_a(self):
        return self.ctx.pldns(self.a_conf, name="a")

    def kill_a(self):
        self.a.proc.kill()
        self.a.stop()


class Unbound:
    """Unbound on 127.0.0.1 with the forwarders snippet for the pair."""

    def __init__(self, ctx, pair):
        if not os.access(UNBOUND, os.X_OK):
            raise Skip("%s not installed (apt-get install unbound)" % UNBOUND)
        rc, snip, err = run_pldns(["forwarders", "-c", pair.a.conf, "--server",
                                   "%s:%d,%s:%d" % (A, pair.port, B, pair.port),
                                   "--format", "unbound"])
        eq(rc, 0, "pldns forwarders --format unbound exit status")
        expect("forward-addr: %s@%d" % (A, pair.port) in snip and
               "forward-addr: %s@%d" % (B, pair.port) in snip,
               "the snippet lists both servers of the pair", got=snip)
        self.port = free_port()
        path = ctx.dir.write("pldns-forwarders.conf", snip)
        conf = ctx.dir.write("unbound.conf", "\n".join([
            "server:",
            "\tinterface: 127.0.0.1",
            "\tport: %d" % self.port,
            "\tdo-daemonize: no",
            '\tusername: ""',
            '\tchroot: ""',
            '\tdirectory: "%s"' % ctx.dir.path,
            '\tpidfile: ""',
            "\tuse-syslog: no",
            "\tdo-ip6: no",
            "\taccess-control: 127.0.0.0/8 allow",
            '\tmodule-config: "iterator"',
            'include: "%s"' % path, ""]))
        self.logpath = ctx.dir.join("unbound.log")
        self.log = open(self.logpath, "w")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", conf],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        _procs.append(self.proc)
        ctx.owned.append(self)
        end = time.monotonic() + 15
        while time.monotonic() < end and self.proc.poll() is None:
            try:
                query(self.port, "ready.invalid", timeout=0.3)
                return
            except Fail:
                time.sleep(0.1)
        raise Fail("unbound did not start:\n" + open(self.logpath).read())

    def ask(self, name):
        """NAME asked through Unbound as a stub resolver asks (glibc: 5 s,
        then once more), and the seconds until the answer came."""
        t0 = time.monotonic()
        try:
            r = query(self.port, name, timeout=CLIENT_TIMEOUT * SLOW)
        except Fail:
            r = query(self.port, name, timeout=CLIENT_TIMEOUT * SLOW)
        return r, time.monotonic() - t0

    def stop(self):
        _kill(self.proc, 3.0)
        if self.proc in _procs:
            _procs.remove(self.proc)
        self.log.close()


def public(i):
    return "acct%d.blob.core.windows.net" % i


@test("pair: with the primary killed, Unbound's clients keep getting private "
      "answers from the secondary")
def t_primary_down(ctx):
    pair = Pair(ctx)
    ub = Unbound(ctx, pair)
    r, dt = ub.ask(public(1))
    eq(addresses(r), ["10.1.0.11"], "%s through Unbound with both up" % public(1))
    pair.kill_a()
    expect(query(pair.port, public(2), host=B).answer,
           "B answers on its own", got="no answer")
    worst = 0.0
    # Names Unbound has not cached: each goes to a pldns of the pair.
    for i in range(2, 7):
        r, dt = ub.ask(public(i))
        ctx.note("%s through Unbound, primary down: %.3f s\n%s" %
                 (public(i), dt, show(r)))
        eq(addresses(r), ["10.1.0.%d" % (10 + i)],
           "%s through Unbound with the primary down" % public(i))
        worst = max(worst, dt)
    ctx.note("slowest answer with the primary down: %.3f s" % worst)
    # Unbound's first try may go to the dead primary; its failover must
    # fit in a client's first try.
    expect(worst < CLIENT_TIMEOUT * SLOW, "every answer within a client's "
           "first try (%g s) with the primary down" % CLIENT_TIMEOUT,
           got="%.3f s" % worst)


@test("pair: a change made while the primary was down reaches the secondary "
      "and Unbound's clients once the primary is back")
def t_secondary_catches_up(ctx):
    pair = Pair(ctx)
    ub = Unbound(ctx, pair)
    old = serial_at(B, pair.port)
    pair.kill_a()
    ctx.dir.write("a-records/20-new.csv",
                  "FQDN,IP Address\nacct7.%s,10.1.0.77\n" % ZONE)
    r = query(pair.port, public(7), host=B)
    expect(not addresses(r), "B does not know acct7 yet", got=show(r))
    # Down for a while, as a primary is when it matters: serials count
    # seconds, and a fresh start knows no earlier serial to step past, so a
    # restart within the second of the first start would reuse it.
    time.sleep(max(0.0, pair.a.t0 + 1.5 - time.monotonic()))
    pair.a = pair.start_a()
    new = wait_for(lambda: serial_at(A, pair.port), 5, "A's serial after restart")
    expect(new != old, "A has a new serial after the change", got=new)
    t0 = time.monotonic()
    wait_for(lambda: serial_at(B, pair.port) == new, 5,
             "B at A's new serial %s (NOTIFY at A's start)" % new)
    ctx.note("B caught up %.3f s after A was serving again" % (time.monotonic() - t0))
    eq(addresses(query(pair.port, public(7), host=B)), ["10.1.0.77"],
       "%s from B" % public(7))
    pair.kill_a()
    r, dt = ub.ask(public(7))
    eq(addresses(r), ["10.1.0.77"],
       "%s through Unbound, the primary down again" % public(7))


if __name__ == "__main__":
    main()
