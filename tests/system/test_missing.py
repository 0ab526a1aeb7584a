#!/usr/bin/python3
"""System tests for the query log and the names clients miss: exact query
log lines over UDP and TCP; with two workers, names missing under a local
zone and under a public twin (NXDOMAIN and fallback) counted, merged and
shown in /status, /metrics and by pldns doctor, which checks each one
against the (fake) public DNS.

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_missing.py [NAME-SUBSTRING...]
"""

import json
import os
import re
import subprocess
import time
import urllib.request

import dns.message
import dns.query

from harness import (HERE, Fail, Shared, ask_every_worker, eq, expect, expect_rcode,
                     free_port, ini, main, make_query, pldns_bin, query, test, watch,
                     Dir, Fakeup, Pldns)

AZURE = os.path.join(HERE, "data", "azure_public.py")
BLOB = "privatelink.blob.core.windows.net"
VAULT = "privatelink.vaultcore.azure.net"
BLOB_ZONE = """$ORIGIN %s.
$TTL 10
acct A 10.1.0.5
many A 10.1.0.11
many A 10.1.0.12
many A 10.1.0.13
many A 10.1.0.14
many A 10.1.0.15
many A 10.1.0.16
""" % BLOB
VAULT_ZONE = "$ORIGIN %s.\n$TTL 10\nkv A 10.2.0.5\n" % VAULT


def config(port, cport, up, workers, query_log):
    return ini([
        ("server", {"listen": "127.0.0.1:%d" % port, "workers": workers}),
        ("upstream", {"servers": up.addr, "timeout_ms": 800, "deadline_ms": 1500}),
        ('zone "%s"' % BLOB, {"file": "blob.zone", "multi": "yes"}),
        ('zone "%s"' % VAULT, {"file": "vault.zone", "missing": "fallback"}),
        ("log", {"query_log": "yes" if query_log else "no"}),
        ("control", {"listen": "127.0.0.1:%d" % cport}),
    ])


def _daemon(workers, query_log):
    d = Dir("missing-%d" % workers)
    up = Fakeup(AZURE, d, name="azure")
    port, cport = free_port(), free_port()
    p = Pldns(d, config(port, cport, up, workers, query_log),
              {"blob.zone": BLOB_ZONE, "vault.zone": VAULT_ZONE}, port=port)
    watch(p)
    return {"port": port, "cport": cport, "up": up, "pldns": p, "dir": d}


LOGGED = Shared(lambda: _daemon(1, True))
TWO = Shared(lambda: _daemon(2, False))


def http_get(cport, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (cport, path),
                                timeout=10) as r:
        return r.read().decode()


def log_lines(p, since):
    """The query log lines written after offset SINCE, times as T."""
    with open(p.logpath, errors="replace") as f:
        f.seek(since)
        text = f.read()
    return [re.sub(r" \d+\.\d{3}ms ", " Tms ", l[len("pldns: "):])
            for l in text.splitlines() if l.startswith("pldns: client ")]


def wait_lines(p, since, n):
    end = time.monotonic() + 5
    while time.monotonic() < end:
        got = log_lines(p, since)
        if len(got) >= n:
            return got
        time.sleep(0.05)
    return log_lines(p, since)


@test("query log: one exact line per query over UDP and TCP (mnemonics, path, addresses)")
def t_query_log(t):
    s = LOGGED.get()
    port, p = s["port"], s["pldns"]
    cases = [
        ("acct.blob.core.windows.net", "A", "IN", "udp",
         "IN A NOERROR synth Tms 10.1.0.5"),
        ("Acct.Privatelink.Blob.Core.Windows.Net", "A", "IN", "tcp",
         "IN A NOERROR local Tms 10.1.0.5"),
        ("many.%s" % BLOB, "A", "IN", "udp",
         "IN A NOERROR local Tms 10.1.0.11,10.1.0.12,10.1.0.13,10.1.0.14,+2"),
        ("other.blob.core.windows.net", "AAAA", "IN", "udp",
         "IN AAAA NXDOMAIN spliced Tms -"),
        ("x1.%s" % BLOB, "A", "IN", "tcp", "IN A NXDOMAIN local Tms -"),
        ("nope.blob.core.windows.net", "A", "IN", "udp",
         "IN A NOERROR forwarded Tms 20.60.1.1"),
        ("nope.blob.core.windows.net", "A", "IN", "tcp",
         "IN A NOERROR cache Tms 20.60.1.1"),
        ("nope.blob.core.windows.net", "TYPE65534", "IN", "udp",
         "IN TYPE65534 NOERROR forwarded Tms -"),
        ("acct.blob.core.windows.net", "TXT", "CH", "udp",
         "CH TXT REFUSED refused Tms -"),
    ]
    since = os.path.getsize(p.logpath)
    want = []
    for name, rdtype, rdclass, proto, tail in cases:
        # A port of its own each time: a TCP port closed by the client
        # waits a while before it may be bound again.
        sport = free_port()
        q = make_query(name, rdtype, rdclass=rdclass)
        if proto == "udp":
            dns.query.udp(q, "127.0.0.1", port=port, timeout=3, source="127.0.0.1",
                          source_port=sport)
        else:
            dns.query.tcp(q, "127.0.0.1", port=port, timeout=3, source="127.0.0.1",
                          source_port=sport)
        want.append("client 127.0.0.1#%d %s: %s %s" % (sport, proto, name, tail))
        # The next line must be about this query: one at a time.
        got = wait_lines(p, since, len(want))
        eq(got, want, "query log lines so far")


def status(cport):
    return json.loads(http_get(cport, "/status"))


MISSED = [
    # name, count, zone, how
    ("other.blob.core.windows.net", 18, BLOB),        # spliced NXDOMAIN (twin)
    ("x9.%s" % BLOB, 10, BLOB),                       # local NXDOMAIN
    ("other-kv.vault.azure.net", 5, VAULT),           # fallback (twin)
    ("y.%s" % VAULT, 4, VAULT),                       # fallback (local zone)
    ("gone.blob.core.windows.net", 3, BLOB),          # upstream NXDOMAIN (twin)
]


def ask_missed(port):
    """MISSED's queries from many source ports and one over TCP each;
    queries for names that are found, which must not count.  The kernel
    spreads source ports over both workers' sockets (SO_REUSEPORT): with
    2 to 17 queries per name, the chance that one worker got them all is
    small, and the counts only add up when the workers' tables are
    merged."""
    for name, count, _ in MISSED:
        for r in ask_every_worker(port, name, n=count - 1):
            expect(r.rcode() in (0, 3), "an answer for %s" % name, got=r)
        query(port, name, proto="tcp", timeout=3)
    for name in ("acct.blob.core.windows.net", "kv.vault.azure.net",
                 "nope.blob.core.windows.net", "acct.%s" % BLOB, "gone.example.com"):
        ask_every_worker(port, name, n=4)


@test("workers = 2: names missed under local zones and public twins merged in /status and /metrics")
def t_status_metrics(t):
    s = TWO.get()
    t0 = int(time.time())
    ask_missed(s["port"])
    st = status(s["cport"])
    m = st["missing"]
    got = [(e["name"], e["count"], e["zone"]) for e in m["top"]]
    eq(got, MISSED, "names clients missed, most asked first, counts over both workers")
    eq(m["queries"], sum(c for _, c, _ in MISSED), "queries counted")
    eq(m["names"], len(MISSED), "distinct names")
    eq(m["limit"], 1000, "the table's bound per worker")
    now = int(time.time())
    for e in m["top"]:
        eq(sorted(e.keys()), ["count", "error", "first_seen", "last_seen", "name",
                              "zone"], "keys of a missing name")
        eq(e["error"], 0, "no eviction in a table this small")
        expect(t0 - 1 <= e["first_seen"] <= e["last_seen"] <= now + 1,
               "first and last seen are wall-clock times of this run",
               got=e, expected="%d <= first <= last <= %d" % (t0 - 1, now + 1))
    met = http_get(s["cport"], "/metrics")
    expect("\npldns_missing_queries_total %d\n" % m["queries"] in met,
           "pldns_missing_queries_total", got=[l for l in met.splitlines()
                                                if "missing" in l])
    expect("\npldns_missing_names %d\n" % len(MISSED) in met, "pldns_missing_names",
           got=[l for l in met.splitlines() if "missing" in l])
    expect("other.blob" not in met, "no name in a metric label")
    ctl = subprocess.run([pldns_bin(), "ctl", "-c", s["pldns"].conf, "status"],
                         capture_output=True, text=True, timeout=20)
    eq(ctl.returncode, 0, "pldns ctl status exit")
    expect("names clients miss: %d, in %d queries" % (len(MISSED), m["queries"])
           in ctl.stdout, "pldns ctl status sums them up", got=ctl.stdout)
    expect(re.search(r"\n  other\.blob\.core\.windows\.net +18  ", ctl.stdout),
           "pldns ctl status lists the most asked", got=ctl.stdout)


def doctor(s, args=()):
    d = s["dir"]
    resolv = d.write("resolv.conf", "nameserver 127.0.0.1:%d\n" % free_port())
    env = dict(os.environ, PLDNS_RESOLV_CONF=resolv)
    p = subprocess.run([pldns_bin(), "doctor", "-c", s["pldns"].conf] + list(args),
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
                       env=env)
    return p.returncode, p.stdout.decode(errors="replace"), \
        p.stderr.decode(errors="replace")


@test("doctor: lists the names clients miss and checks each against public DNS")
def t_doctor(t):
    s = TWO.get()
    st = status(s["cport"])
    if not st["missing"]["top"]:
        ask_missed(s["port"])
    rc, out, err = doctor(s, ["--json"])
    expect(rc == 1, "exit 1: problems found", got="%s\n%s\n%s" % (rc, out[-3000:], err))
    found = {f["name"]: f for f in json.loads(out) if f["check"] == "missing-name"}
    eq(sorted(found), sorted(n for n, _, _ in MISSED), "one missing-name finding per name")
    other = found["other.blob.core.windows.net"]
    eq(other["status"], "problem", "a private endpoint no source holds")
    eq(other["zone"], BLOB, "its zone")
    eq(other["got"], "asked 18 times; public DNS: CNAME to other.%s" % BLOB, "got")
    eq(other["hint"], "clients asked for other.blob.core.windows.net 18 times; "
       "public DNS says it has a private endpoint (CNAME to "
       "other.privatelink.blob.core.windows.net); no source holds it: download DNS "
       "settings again", "the hint names the fix")
    expect(other["server"] == s["up"].addr, "the upstream asked", got=other)
    eq(found["other-kv.vault.azure.net"]["status"], "problem", "fallback in a twin")
    for name in ("gone.blob.core.windows.net", "x9.%s" % BLOB, "y.%s" % VAULT):
        f = found[name]
        eq(f["status"], "warning", "%s: no private endpoint in public DNS" % name)
        expect("NXDOMAIN" in f["got"], "public DNS says NXDOMAIN", got=f)
    rc, out, _ = doctor(s)
    line = [l for l in out.splitlines() if "missing-name" in l and "other.blob" in l]
    expect(len(line) == 1 and line[0].startswith("\u2717"), "one table row, marked a problem",
           got=out[-3000:])


if __name__ == "__main__":
    main()
