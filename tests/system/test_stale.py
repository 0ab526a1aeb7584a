#!/usr/bin/python3
"""System tests for serve-stale (RFC 8767) with more than one worker.

Each worker keeps its own cache; a client's query reaches one worker or
another by its source port (SO_REUSEPORT).  An answer cached by one worker
must still answer, fresh or stale, a query that lands on another one when
the upstream is gone, and a slow upstream must not keep a client waiting
longer than [cache] stale_answer_client_timeout_ms when a stale answer
exists: it gets that at once (EDE 3, Stale Answer), and the upstream's
answer refreshes the cache when it comes.

The cache is always warmed through ONE UDP socket, so through one worker;
the questions then come from many source ports, so to every worker.
"""

import socket
import time
import urllib.request

import dns.edns
import dns.message

from harness import (Fail, eq, expect, free_port, ini, main, make_query, show,
                     test, SLOW)

WORKERS = 2
OLD_TTL = 2		# expires during the test: served stale
FRESH_TTL = 600		# still fresh on the worker that fetched it
NAMES = 8
PORTS = 16		# source ports per question

DATA = {
    "records":
        ["old%d.example.net. %d A 192.0.2.%d" % (i, OLD_TTL, 10 + i) for i in range(NAMES)] +
        ["fresh%d.example.net. %d A 192.0.2.%d" % (i, FRESH_TTL, 100 + i) for i in range(NAMES)],
}


def addr_of(name):
    i = int(name.split(".")[0].lstrip("oldfresh"))
    return "192.0.2.%d" % ((10 if name.startswith("old") else 100) + i)


def ede_codes(r):
    return [o.code for o in r.options if o.otype == dns.edns.EDE]


def start(t, up, deadline_ms=1500, timeout_ms=1000, client_timeout=None,
          cport=None):
    port = free_port()
    cache = {}
    if client_timeout is not None:
        cache["stale_answer_client_timeout_ms"] = client_timeout
    secs = [("server", {"listen": "127.0.0.1:%d" % port, "workers": WORKERS}),
            ("upstream", {"servers": up.addr, "timeout_ms": timeout_ms,
                          "deadline_ms": deadline_ms})]
    if cache:
        secs.append(("cache", cache))
    secs.append(("control", {"listen": "127.0.0.1:%d" % cport if cport else "none"}))
    t.pldns(ini(secs), port=port)
    return port


def warm(port, names):
    """Asks every name through one socket: one source port, one worker."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        s.settimeout(3.0 * SLOW)
        for i, name in enumerate(names):
            q = make_query(name, "A", qid=i)
            s.sendto(q.to_wire(), ("127.0.0.1", port))
            r = dns.message.from_wire(s.recv(65535))
            eq(r.rcode(), 0, "warming %s" % name)
    finally:
        s.close()


def ask_many(port, name, proto, n=PORTS, timeout=3.0):
    """NAME from N source ports at once over PROTO; [(response, seconds)]."""
    socks, sent = [], []
    try:
        for i in range(n):
            if proto == "udp":
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.0.1", 0))
            else:
                s = socket.create_connection(("127.0.0.1", port), timeout=timeout * SLOW)
            s.settimeout(timeout * SLOW)
            socks.append(s)
            w = make_query(name, "A", qid=i).to_wire()
            sent.append(time.monotonic())
            if proto == "udp":
                s.sendto(w, ("127.0.0.1", port))
            else:
                s.sendall(len(w).to_bytes(2, "big") + w)
        out = []
        for i, s in enumerate(socks):
            try:
                if proto == "udp":
                    wire = s.recv(65535)
                else:
                    buf = b""
                    while len(buf) < 2 or len(buf) < 2 + int.from_bytes(buf[:2], "big"):
                        c = s.recv(65535)
                        if not c:
                            raise Fail("TCP connection closed without an answer for %s" % name)
                        buf += c
                    wire = buf[2:]
            except socket.timeout:
                raise Fail("no answer within %.1f s over %s for %s" %
                           (timeout * SLOW, proto, name))
            out.append((dns.message.from_wire(wire), time.monotonic() - sent[i]))
        return out
    finally:
        for s in socks:
            s.close()


def expect_served(name, got, proto, stale):
    """Every response: NOERROR with NAME's address; stale ones with TTL 30
    and EDE 3."""
    bad = []
    for r, _ in got:
        addrs = [rd.address for rr in r.answer for rd in rr]
        ok = r.rcode() == 0 and addrs == [addr_of(name)]
        if ok and stale:
            ok = r.answer[0].ttl == 30 and ede_codes(r) == [3]
        if not ok:
            bad.append(show(r))
    expect(not bad, "%d of %d answers for %s over %s %s" % (
        len(got) - len(bad), len(got), name, proto,
        "stale (TTL 30, EDE 3)" if stale else "from the cache"),
        got=bad[:2])


def metric(cport, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % cport,
                                timeout=5) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise Fail("no %s in /metrics" % name)


def dead_upstream(t, client_timeout):
    up = t.fakeup(DATA)
    cport = free_port()
    port = start(t, up, client_timeout=client_timeout, cport=cport)
    old = ["old%d.example.net." % i for i in range(NAMES)]
    fresh = ["fresh%d.example.net." % i for i in range(NAMES)]
    warm(port, old + fresh)
    time.sleep(OLD_TTL + 0.5)
    up.stop()
    for proto in ("udp", "tcp"):
        for name in old:
            expect_served(name, ask_many(port, name, proto), proto, True)
        for name in fresh:
            expect_served(name, ask_many(port, name, proto), proto, False)
    # About half of 2 x 2 x NAMES x PORTS landed on the worker that has none.
    sib = metric(cport, "pldns_cache_sibling_hits_total")
    expect(sib >= 2 * NAMES, "answers from the other worker's cache counted",
           got=sib)


@test("upstream gone: every worker answers from another worker's cache "
      "(fresh, or stale with EDE 3), 0 SERVFAIL, UDP and TCP", timeout=120)
def t_dead_upstream(t):
    dead_upstream(t, None)


@test("upstream gone, stale_answer_client_timeout_ms = 0: the same",
      timeout=120)
def t_dead_upstream_zero(t):
    dead_upstream(t, 0)


def slow_upstream(t, client_timeout, delay_ms):
    """A stale name, an upstream that answers after DELAY_MS: every worker
    gives the stale answer after about CLIENT_TIMEOUT ms, and the upstream's
    answer, when it comes, refreshes every worker's cache."""
    up = t.fakeup(DATA)
    port = start(t, up, deadline_ms=4000, timeout_ms=3500,
                 client_timeout=client_timeout)
    name = "old0.example.net."
    warm(port, [name])
    time.sleep(OLD_TTL + 0.5)
    before = up.qcount(name)
    up.mode("delay-%d" % delay_ms)
    for proto in ("udp", "tcp"):
        got = ask_many(port, name, proto, timeout=5.0)
        expect_served(name, got, proto, True)
        lat = sorted(x for _, x in got)
        lo = client_timeout / 1000.0
        expect(lat[0] >= lo - 0.05 and lat[-1] < lo + 0.6 * SLOW,
               "stale after about %d ms (%s), not at the upstream's %d ms nor "
               "the deadline" % (client_timeout, proto, delay_ms),
               got="%.3f .. %.3f s" % (lat[0], lat[-1]))
        asked = up.qcount(name) - before
        # One request per worker, each retransmitted while the upstream
        # is silent: at most one try per 200 ms (the retransmission
        # timeout's floor) until the answer comes.
        most = WORKERS * (delay_ms // 200 + 1)
        expect(1 <= asked <= most, "the question still went upstream "
               "(one request per worker at most, %s)" % proto, got=asked)
        # The upstream answers DELAY_MS after the question: the refresh.
        time.sleep(delay_ms / 1000.0 + 0.3)
        before = up.qcount(name)
        got = ask_many(port, name, proto, timeout=1.0)
        expect_served(name, got, proto, False)
        ttls = sorted(r.answer[0].ttl for r, _ in got)
        expect(all(not ede_codes(r) for r, _ in got) and ttls[-1] <= OLD_TTL,
               "then the fresh answer from the refreshed cache (%s)" % proto,
               got=ttls)
        eq(up.qcount(name) - before, 0, "upstream queries for the fresh answers (%s)" % proto)
        # Stale again for the next round.
        time.sleep(OLD_TTL + 0.2)
        before = up.qcount(name)


@test("slow upstream: the stale answer after stale_answer_client_timeout_ms, "
      "not the deadline; then the fresh one", timeout=120)
def t_client_timeout(t):
    slow_upstream(t, 400, 1500)


@test("stale_answer_client_timeout_ms = 0: the stale answer at once, the "
      "refresh goes upstream", timeout=120)
def t_client_timeout_zero(t):
    slow_upstream(t, 0, 1000)


if __name__ == "__main__":
    main()
