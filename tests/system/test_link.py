#!/usr/bin/python3
"""System tests for a real link to the upstream: loss, a round trip longer
than timeout_ms, and an upstream that truncates over UDP and then drops
the TCP connection.  The link is tests/bench/relay.py (loss and delay in
user space, on loopback) in front of a fake upstream.

- A reply to any earlier try of a request still pending is taken; one that
  comes after the request was answered is counted as late, not spoofed.
- Tries are retransmitted while the deadline allows, so 30 % loss each way
  still gets (nearly) every query answered.
- After TC=1, each server is asked over TCP at most once per request; a
  failed TCP attempt counts against its health, and a server that keeps
  failing TCP goes to the back of the line.

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_link.py [NAME-SUBSTRING...]
"""

import os
import select
import socket
import subprocess
import time
import urllib.request

import dns.message
import dns.rcode

from harness import (HERE, PYTHON, Fail, _procs, _kill, _readline, eq, expect,
                     free_port, make_config, main, query, test)

RELAY = os.path.join(HERE, "..", "bench", "relay.py")
UP = {"records": [
    "link.example. 3600 SOA ns.link.example. hostmaster.link.example. 1 3600 300 2419200 300",
    "*.link.example. 300 A 192.0.2.7",
]}


class Relay:
    def __init__(self, ctx, upstream, *args):
        self.stats = ctx.dir.join("relay.json")
        self.proc = subprocess.Popen(
            [PYTHON, RELAY, "--listen", "127.0.0.1:0", "--upstream", upstream,
             "--stats", self.stats, "--lifetime", "300", "--seed", "7"] + list(args),
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        _procs.append(self.proc)
        line = _readline(self.proc.stdout, 15.0)
        if not line.startswith("relay ready port="):
            raise Fail("relay did not start: %r" % line)
        self.addr = "127.0.0.1:%s" % line.split("=", 1)[1]
        ctx.owned.append(self)

    def stop(self):
        _kill(self.proc)
        if self.proc in _procs:
            _procs.remove(self.proc)


def daemon(ctx, upstreams, **up):
    port, cport = free_port(), free_port()
    # one worker: each keeps its own view of the servers' health
    conf = make_config(port, upstreams=upstreams, server={"workers": 1},
                       extra=[("control", {"listen": "127.0.0.1:%d" % cport})],
                       **up)
    p = ctx.pldns(conf, port=port)
    p.cport = cport
    return p


def metrics(p):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % p.cport,
                                timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            out[k] = float(v)
    return out


def metric(p, name):
    m = metrics(p)
    if name not in m:
        raise Fail("no %s in /metrics" % name)
    return m[name]


def blast(port, names, wait):
    """Sends one UDP query per name at once, waits up to WAIT seconds for
    the replies; returns {name: rcode} of those answered."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    ids = {}
    for i, n in enumerate(names):
        q = dns.message.make_query(n, "A")
        q.id = i + 1
        ids[q.id] = n
        s.sendto(q.to_wire(), ("127.0.0.1", port))
    got = {}
    end = time.monotonic() + wait
    while len(got) < len(names) and time.monotonic() < end:
        r, _, _ = select.select([s], [], [], max(0, end - time.monotonic()))
        if not r:
            break
        m = dns.message.from_wire(s.recv(65535))
        if m.id in ids and ids[m.id] not in got:
            got[ids[m.id]] = m.rcode() if m.answer or m.rcode() != 0 else -1
    s.close()
    return got


@test("link: replies slower than timeout_ms are taken; those after the answer "
      "count as late, not spoofed")
def t_late(ctx):
    up = ctx.fakeup(UP, behaviours=["delay 700"])
    p = daemon(ctx, [up.addr], timeout_ms=300, deadline_ms=3000)
    names = ["n%d.link.example" % i for i in range(20)]
    got = blast(p.port, names, 5.0)
    ok = sum(1 for v in got.values() if v == dns.rcode.NOERROR)
    eq(ok, len(names), "queries answered with a 700 ms upstream and timeout_ms 300")
    time.sleep(2.5)     # the retransmissions' replies come in too
    eq(metric(p, "pldns_spoofed_replies_total"), 0.0,
       "replies counted as spoofed (all came from the real upstream)")
    late = metric(p, "pldns_upstream_late_replies_total")
    expect(late >= 1, "replies to retransmissions counted as late", late)


@test("link: 30 % loss each way, 40 ms round trip: retransmissions get >= 95 % answered")
def t_loss(ctx):
    up = ctx.fakeup(UP)
    relay = Relay(ctx, up.addr, "--loss-up", "0.3", "--loss-down", "0.3",
                  "--delay", "20")
    p = daemon(ctx, [relay.addr])
    names = ["l%d.link.example" % i for i in range(200)]
    got = blast(p.port, names, 5.0)
    ok = sum(1 for v in got.values() if v == dns.rcode.NOERROR)
    ctx.note("answered %d of %d" % (ok, len(names)))
    expect(ok >= 0.95 * len(names), ">= 95 %% answered (%d of %d)" % (ok, len(names)))


@test("link: TC=1 then TCP closed: at most one TCP connection per server per query")
def t_tc_close(ctx):
    up = ctx.fakeup(UP, behaviours=["tc-close"])
    p = daemon(ctx, [up.addr], timeout_ms=400, deadline_ms=2000)
    r = query(p.port, "t1.link.example", timeout=4.0)
    eq(dns.rcode.to_text(r.rcode()), "SERVFAIL", "rcode with no usable upstream")
    time.sleep(2.2)     # whatever pldns does until the deadline and after
    conns = up.count("conns")
    ctx.note("TCP connections: %d" % conns)
    expect(1 <= conns <= 3, "TCP connections for one client query", conns)


@test("link: a server whose TCP fails after TC is failed over and backed off")
def t_tcp_health(ctx):
    bad = ctx.fakeup(UP, behaviours=["tc-close"], name="bad")
    good = ctx.fakeup(UP, name="good")
    p = daemon(ctx, [bad.addr, good.addr], timeout_ms=400, deadline_ms=2000)
    for i in range(8):
        r = query(p.port, "h%d.link.example" % i, timeout=3.0)
        eq(dns.rcode.to_text(r.rcode()), "NOERROR", "query %d answered by the good server" % i)
    conns = bad.count("conns")
    expect(conns <= 4, "TCP connections to the failing server for 8 queries "
           "(backed off after a few)", conns)
    up = metric(p, 'pldns_upstream_up{server="%s"}' % bad.addr)
    eq(up, 0.0, "the server failing TCP shows as down")


if __name__ == "__main__":
    main()
