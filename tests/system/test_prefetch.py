#!/usr/bin/python3
"""System tests for cache prefetch ([cache] prefetch): a popular forwarded
answer close to expiry is asked again in the background, so that clients
keep getting it from the cache; with prefetch = no it expires and the next
client waits for the upstream.

The fake upstream answers every name below example.net only after UP_DELAY,
so that a client answer that had to wait for it stands out from a cache hit
by its latency.  One worker, so that every query meets the same cache.
"""

import time
import urllib.request

from harness import (eq, expect, free_port, ini, main, query, test, SLOW)

TTL = 10
UP_DELAY = 0.4
# A cache hit is answered well inside this; an upstream answer is not.
FAST = 0.25
PERIOD = 0.2
DATA = {
    "records": ["hot.example.net. %d A 192.0.2.10" % TTL,
                "cold.example.net. %d A 192.0.2.11" % TTL],
    "behaviours": {"*.example.net.": "delay %d" % int(UP_DELAY * 1000)},
}


def start(t, prefetch):
    up = t.fakeup(DATA)
    port, cport = free_port(), free_port()
    conf = ini([
        ("server", {"listen": "127.0.0.1:%d" % port, "workers": 1}),
        ("upstream", {"servers": up.addr, "timeout_ms": 1500,
                      "deadline_ms": 2000}),
        ("cache", {"prefetch": "yes" if prefetch else "no"}),
        ("control", {"listen": "127.0.0.1:%d" % cport}),
    ])
    t.pldns(conf, port=port)
    return port, cport, up


def metric(cport, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % cport,
                                timeout=5) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no %s in /metrics" % name)


def ask(port, name):
    """(latency, TTL, address) of one answer from the cache or upstream."""
    t0 = time.monotonic()
    r = query(port, name, "A", timeout=3.0 * SLOW)
    lat = time.monotonic() - t0
    eq(r.rcode(), 0, "rcode for %s" % name)
    expect(len(r.answer) == 1, "one answer RRset for %s" % name, r.to_text())
    return lat, r.answer[0].ttl, r.answer[0][0].address


def run(port, up, until):
    """Stores hot and cold, then asks for hot every PERIOD seconds until
    UNTIL seconds after it was stored, and for cold once, late in its life.
    Returns the samples (seconds since stored, latency, TTL) of hot and
    the fake upstream's count for hot just before the prefetch window."""
    lat, ttl, addr = ask(port, "hot.example.net")
    stored = time.monotonic()
    expect(lat >= UP_DELAY * 0.9, "the first query for hot waited for upstream",
           "%.3f s" % lat)
    lat, ttl, addr = ask(port, "cold.example.net")
    cold_stored = time.monotonic()
    cold_asked = False
    before = None
    samples = []
    while True:
        now = time.monotonic() - stored
        if now >= until:
            break
        if before is None and now >= TTL * 0.85:
            before = up.qcount("hot.example.net")
        if not cold_asked and time.monotonic() - cold_stored >= TTL * 0.93:
            cold_asked = True
            lat, ttl, addr = ask(port, "cold.example.net")
            eq(addr, "192.0.2.11", "cold's address")
            # Its first hit since stored: not popular.
            expect(lat < FAST, "cold answered from the cache", "%.3f s" % lat)
        t = time.monotonic() - stored
        lat, ttl, addr = ask(port, "hot.example.net")
        eq(addr, "192.0.2.10", "hot's address")
        samples.append((t, lat, ttl))
        time.sleep(PERIOD)
    expect(cold_asked, "cold was asked late in its life")
    return samples, before


def fmt(samples):
    return "\n      " + "\n      ".join("t=%.2f s latency %.3f s TTL %d" % s
                                        for s in samples)


@test("prefetch = yes: a popular answer near expiry is refreshed by one "
      "background query and never misses", timeout=60)
def t_prefetch(t):
    port, cport, up = start(t, True)
    samples, before = run(port, up, TTL + 2.5)
    eq(before, 1, "upstream queries for hot before the prefetch window")
    # The miss that stored it and one prefetch, no more: the refreshed
    # entry is not near its own expiry yet.
    eq(up.qcount("hot.example.net"), 2, "upstream queries for hot")
    eq(up.qcount("cold.example.net"), 1,
       "upstream queries for cold (hit once near expiry: not popular)")
    slow = [s for s in samples if s[1] >= FAST]
    expect(not slow, "every answer for hot came from the cache at once",
           fmt(slow), "latency < %.2f s" % FAST)
    jumps = [(a, b) for a, b in zip(samples, samples[1:]) if b[2] > a[2]]
    expect(len(jumps) == 1 and jumps[0][0][2] <= 1 and jumps[0][1][2] >= TTL - 1,
           "hot's TTL counts down to 1 or 0 and jumps back up once", fmt(samples))
    late = [s for s in samples if s[0] >= TTL + 0.5]
    expect(late and all(s[2] >= TTL - 4 for s in late),
           "past the first entry's expiry hot has a fresh TTL", fmt(late))
    eq(metric(cport, "pldns_cache_prefetches_total"), 1, "pldns_cache_prefetches_total")
    eq(metric(cport, "pldns_cache_misses_total"), 2,
       "pldns_cache_misses_total (the first query of hot and of cold)")


@test("prefetch = no: the answer expires and the next client waits for "
      "upstream", timeout=60)
def t_no_prefetch(t):
    port, cport, up = start(t, False)
    samples, before = run(port, up, TTL + 1.5)
    eq(before, 1, "upstream queries for hot before the window")
    eq(up.qcount("hot.example.net"), 2,
       "upstream queries for hot (the store, and the miss after expiry)")
    pre = [s for s in samples if s[0] < TTL - 0.1]
    expect(all(s[1] < FAST for s in pre), "answers before expiry from the cache",
           fmt(pre))
    slow = [s for s in samples if s[1] >= UP_DELAY * 0.9]
    expect(len(slow) == 1 and slow[0][0] >= TTL - 0.1,
           "exactly one client waited for upstream, after expiry", fmt(samples))
    eq(metric(cport, "pldns_cache_prefetches_total"), 0, "pldns_cache_prefetches_total")


if __name__ == "__main__":
    main()
