#!/usr/bin/python3
"""sync_bench: figures for the Azure sync (not a test; loopback only).

A full sync of BENCH_ZONES (50) private DNS zones holding BENCH_SETS
(10,000) record sets in pages of BENCH_PAGE (100), plus BENCH_ENDPOINTS
(1,000) private endpoints, from tests/system/fakearm.py: wall time, HTTP
requests, pldns's CPU time and peak RSS; then the p99 latency of local
answers at BENCH_RATE (10,000) q/s for BENCH_SECONDS (10) without syncs and
while syncs run back to back, in BENCH_ROUNDS (5) rounds: syncs that change
nothing, and syncs that each change an address (so each one reloads).

  PLDNS_BIN=build/pldns /usr/bin/python3 tests/bench/sync_bench.py

pldns runs on CPU BENCH_SERVER_CPU (1), dnsperf and the fake on
BENCH_LOAD_CPU (0).
"""

import json
import os
import re
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as B  # noqa: E402

ZONES = int(os.environ.get("BENCH_ZONES", "50"))
SETS = int(os.environ.get("BENCH_SETS", "10000"))
ENDPOINTS = int(os.environ.get("BENCH_ENDPOINTS", "1000"))
PAGE = int(os.environ.get("BENCH_PAGE", "100"))
RATE = int(os.environ.get("BENCH_RATE", "10000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SYNCED = re.compile(r'synced (\d+) records \((\d+) zones, (\d+) requests, (\d+) ms\)')


def log_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def wait_synced(path, n, timeout=600):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = SYNCED.findall(log_text(path))
        if len(m) >= n:
            return m[n - 1]
        time.sleep(0.05)
    raise RuntimeError("no sync %d within %d s:\n%s" % (n, timeout, log_text(path)[-2000:]))


def main():
    pldns = os.environ.get("PLDNS_BIN") or os.path.join(B.SRCDIR, "pldns")
    w = B.workdir("pldns-syncbench-")
    # The fake shares dnsperf's CPU: at the lowest priority, so that
    # serving the sync does not hold dnsperf's own measurements back.
    fake = B.spawn(["nice", "-n", "19", B.PYTHON, os.path.join(B.SYSTEST, "fakearm.py"), "--dir", w,
                    "--zones", str(ZONES), "--sets", str(SETS), "--endpoints",
                    str(ENDPOINTS), "--page", str(PAGE)], os.path.join(w, "fakearm.log"),
                   cpu=B.LOAD_CPU, stdout=__import__("subprocess").PIPE)
    line = B._readline(fake.stdout, 120)
    m = re.match(r"fakearm ready arm=(\d+) identity=(\d+) ca=(\S+)", line or "")
    if not m:
        raise RuntimeError("fakearm did not start: %r" % line)
    arm = "https://127.0.0.1:%s" % m.group(1)
    sys.path.insert(0, B.SYSTEST)
    import fakearm
    port, cport = B.free_port(), B.free_port()
    conf = os.path.join(w, "pldns.ini")
    with open(conf, "w") as f:
        f.write("[server]\nlisten = 127.0.0.1:%d\nworkers = 1\nstate_dir = %s/state\n\n"
                "[upstream]\nservers = 127.0.0.1:9\n\n[control]\nlisten = 127.0.0.1:%d\n\n"
                "[log]\nlevel = info\n\n"
                "[azure \"bench\"]\nauth = secret\ntenant = %s\nclient_id = %s\n"
                "secret_file = %s/secret\nsubscriptions = %s\nread = zones, endpoints\n"
                "interval = 86400\nmanagement_url = %s\nlogin_url = %s\nca_file = %s\n"
                "proxy = none\n" % (port, w, cport, fakearm.TENANT, fakearm.CLIENT, w,
                                    fakearm.SUB1, arm, arm, m.group(3)))
    plog = os.path.join(w, "pldns.log")
    t0 = time.monotonic()
    p = B.spawn([pldns, "serve", "-f", "-c", conf], plog, cpu=B.SERVER_CPU)
    c0 = B.cpu_seconds(p.pid)
    recs, zones, reqs, ms = wait_synced(plog, 1)
    wall = time.monotonic() - t0
    cpu = B.cpu_seconds(p.pid) - c0
    hwm = B.status_kb(p.pid, "VmHWM")
    print("full sync: %s records, %s zones, %s requests, %s ms in pldns's log "
          "(%.2f s from start), pldns CPU %.2f s, peak RSS %d MB"
          % (recs, zones, reqs, ms, wall, cpu, hwm // 1024))

    def post_sync():
        req = urllib.request.Request("http://127.0.0.1:%d/sync" % cport, method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    # An unchanged sync: no reload.
    c0 = B.cpu_seconds(p.pid)
    n0 = log_text(plog).count("reloaded:")
    post_sync()
    time.sleep(1)
    while json.loads(urllib.request.urlopen("http://127.0.0.1:%d/status" % cport,
                                            timeout=10).read())["azure"][0]["syncs"] < 2:
        time.sleep(0.1)
    print("unchanged sync: pldns CPU %.2f s, reloads %d"
          % (B.cpu_seconds(p.pid) - c0, log_text(plog).count("reloaded:") - n0))

    names = ["n%d.%s" % (k // ZONES, z) for k, z in
             ((k, list(fakearm.bench_data(ZONES, ZONES, 0)["subscriptions"][fakearm.SUB1]["zones"])[k % ZONES])
              for k in range(min(SETS, 5000)))]
    qfile = B.write_queries(os.path.join(w, "queries.txt"), names)
    server = type("S", (), {"port": port, "cpu_s": lambda self: B.cpu_seconds(p.pid),
                            "rss_kb": lambda self: B.status_kb(p.pid, "VmRSS")})()
    def during_syncs(change):
        """p99 (ms) while syncs run back to back; CHANGE: each one changes
        an address (and so reloads)."""
        proc, finish = B.dnsperf(port, qfile, SECONDS, rate=RATE, verbose=True, popen=True)
        n = 0
        while proc.poll() is None:
            before = json.loads(urllib.request.urlopen(
                "http://127.0.0.1:%d/status" % cport, timeout=10).read())["azure"][0]["syncs"]
            if change:
                os.kill(fake.pid, 10)
            post_sync()
            end = time.monotonic() + SECONDS + 30
            while time.monotonic() < end and json.loads(urllib.request.urlopen(
                    "http://127.0.0.1:%d/status" % cport, timeout=10).read())["azure"][0]["syncs"] <= before:
                time.sleep(0.05)
            n += 1
        r = finish()
        return B.pct(r["lat"], 99) * 1000, n, r

    quiet, same, changed, nsame, nchanged = [], [], [], 0, 0
    for rnd in range(ROUNDS):
        r = B.measure(server, qfile, SECONDS, rate=RATE, verbose=True)
        quiet.append(r["p99_ms"])
        p99, n, r1 = during_syncs(False)
        same.append(p99)
        nsame += n
        p99, n, r2 = during_syncs(True)
        changed.append(p99)
        nchanged += n
        print("round %d: p99 %.3f ms without syncs, %.3f ms during syncs that change "
              "nothing, %.3f ms during syncs that each reload (lost %d, %d, %d)"
              % (rnd + 1, quiet[-1], same[-1], changed[-1], r["lost"], r1["lost"], r2["lost"]))
    # Ratios within a round, then their median: the machine's load moves
    # the figures of a round together far more than it moves their ratio.
    for what, xs, n in (("unchanged", same, nsame), ("reloading", changed, nchanged)):
        ratio = B.median([y / x for x, y in zip(quiet, xs)])
        print("p99 at %d q/s during %d %s syncs: %.3f ms against %.3f ms without "
              "(medians of %d rounds); median ratio within a round %+.1f%%"
              % (RATE, n, what, B.median(xs), B.median(quiet), ROUNDS, (ratio - 1) * 100))
    print("peak RSS over the run: %d MB" % (B.status_kb(p.pid, "VmHWM") // 1024))
    B.stop(p)
    B.stop(fake)


if __name__ == "__main__":
    try:
        main()
    finally:
        B.cleanup()
