#!/usr/bin/python3
"""sync_bench: figures for the Azure sync (not a test; loopback only).

A full sync of BENCH_ZONES (50) private DNS zones holding BENCH_SETS
(10,000) record sets in pages of BENCH_PAGE (100), plus BENCH_ENDPOINTS
(1,000) private endpoints, from tests/system/fakearm.py: wall time, HTTP
requests, pldns's CPU time and peak RSS; then the p99 latency of local
answers at BENCH_RATE (10,000) q/s for BENCH_SECONDS (10) without syncs and
while syncs run back to back, in BENCH_ROUNDS (5) rounds: syncs that change
nothing, syncs that each change an address (so each one reloads), and, as a
control, the same syncs made by another process (pldns sync --dry-run as
SCHED_IDLE on pldns's CPU), which loads the CPUs as pldns's own syncs do
while pldns does nothing.

  PLDNS_BIN=build/pldns /usr/bin/python3 tests/bench/sync_bench.py

pldns runs on CPU BENCH_SERVER_CPU (1), dnsperf on BENCH_LOAD_CPU (0), the
fake on BENCH_FAKE_CPU (pldns's), as SCHED_IDLE.
"""

import json
import os
import re
import subprocess
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
WATCH = 0.2            # seconds between looks at /status, in every column
FAKE_CPU = os.environ.get("BENCH_FAKE_CPU", B.SERVER_CPU)
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
    # The fake runs as SCHED_IDLE (at nice 19 it would keep a CPU for a
    # slice of milliseconds when something else wakes there), on
    # BENCH_FAKE_CPU: by default pldns's, so that dnsperf has its CPU to
    # itself and measures pldns rather than the fake's 1,212 HTTPS answers
    # per sync, while pldns's worker shares its CPU with the fake as with
    # its own sync thread.
    fake = B.spawn(["chrt", "--idle", "0", B.PYTHON, os.path.join(B.SYSTEST, "fakearm.py"), "--dir", w,
                    "--zones", str(ZONES), "--sets", str(SETS), "--endpoints",
                    str(ENDPOINTS), "--page", str(PAGE)], os.path.join(w, "fakearm.log"),
                   cpu=FAKE_CPU, stdout=subprocess.PIPE)
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

    def syncs_done():
        return json.loads(urllib.request.urlopen(
            "http://127.0.0.1:%d/status" % cport, timeout=10).read())["azure"][0]["syncs"]

    def main_thread_cpu():
        """The main thread's run time (s): what a worker sharing its CPU
        waits behind."""
        with open("/proc/%d/task/%d/schedstat" % (p.pid, p.pid)) as f:
            return int(f.read().split()[0]) / 1e9

    # Syncs one at a time, idle otherwise: what each costs, and where.  The
    # main thread's share is net of the GET /status that see each sync end
    # (their own cost measured first).
    m0 = main_thread_cpu()
    for _ in range(20):
        syncs_done()
    per_poll = (main_thread_cpu() - m0) / 20
    for what, change in (("unchanged", False), ("reloading", True)):
        c0, m0, n0 = B.cpu_seconds(p.pid), main_thread_cpu(), log_text(plog).count("reloaded:")
        polls = 0
        for _ in range(3):
            before = syncs_done()
            if change:
                os.kill(fake.pid, 10)
            post_sync()
            polls += 2
            while syncs_done() <= before:
                polls += 1
                time.sleep(0.1)
        time.sleep(0.5)     # what the sync thread frees after its result
        print("%s sync: pldns CPU %.2f s, of which the main thread %.1f ms; reloads %d "
              "(means of 3; GET /status: %.2f ms of the main thread each)"
              % (what, (B.cpu_seconds(p.pid) - c0) / 3,
                 (main_thread_cpu() - m0 - polls * per_poll) / 3 * 1000,
                 log_text(plog).count("reloaded:") - n0, per_poll * 1000))

    names = ["n%d.%s" % (k // ZONES, z) for k, z in
             ((k, list(fakearm.bench_data(ZONES, ZONES, 0)["subscriptions"][fakearm.SUB1]["zones"])[k % ZONES])
              for k in range(min(SETS, 5000)))]
    qfile = B.write_queries(os.path.join(w, "queries.txt"), names)

    # Every column watches /status at the same rate (the syncs' loop needs
    # to see each one end), so that what the watching costs the main
    # thread, which shares the worker's CPU, is in every column alike.
    def run(mode):
        """p99 (ms) of local answers at RATE q/s with MODE going on; and how
        many syncs ran.  MODE: quiet (no syncs), same (syncs back to back
        that change nothing), changed (each changes an address, so each
        reloads), or other (the same syncs made by another process,
        pldns sync --dry-run as SCHED_IDLE on pldns's CPU: the same work
        on the same CPUs as pldns's own syncs, but none of it pldns's)."""
        proc, finish = B.dnsperf(port, qfile, SECONDS, rate=RATE, verbose=True, popen=True)
        n = 0
        while proc.poll() is None:
            before, other = syncs_done(), None
            if mode == "changed":
                os.kill(fake.pid, 10)
            if mode in ("same", "changed"):
                post_sync()
            elif mode == "other":
                other = subprocess.Popen(["taskset", "-c", str(B.SERVER_CPU), "chrt", "--idle", "0",
                                          pldns, "sync", "--dry-run", "-c", conf],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Until this sync ends (quiet: until dnsperf does), watching.
            while proc.poll() is None:
                time.sleep(WATCH)
                ended = syncs_done() > before if other is None else other.poll() is not None
                if mode != "quiet" and ended:
                    n += 1
                    break
            if other is not None:
                other.wait()
        r = finish()
        return B.pct(r["lat"], 99) * 1000, n, r

    modes = ("quiet", "same", "changed", "other")
    p99 = {m: [] for m in modes}
    count = {m: 0 for m in modes}
    for rnd in range(ROUNDS):
        lost = []
        for m in modes:
            x, n, r = run(m)
            p99[m].append(x)
            count[m] += n
            lost.append(r["lost"])
        print("round %d: p99 %.3f ms without syncs, %.3f ms during syncs that change "
              "nothing, %.3f ms during syncs that each reload, %.3f ms during another "
              "process's syncs (lost %s)" % (rnd + 1, p99["quiet"][-1], p99["same"][-1],
                                            p99["changed"][-1], p99["other"][-1],
                                            ", ".join(map(str, lost))), flush=True)
    # Ratios within a round, then their median: the machine's load moves
    # the figures of a round together far more than it moves their ratio.
    for m, what in (("same", "unchanged syncs"), ("changed", "reloading syncs"),
                    ("other", "another process's syncs")):
        ratio = B.median([y / x for x, y in zip(p99["quiet"], p99[m])])
        print("p99 at %d q/s during %d %s: %.3f ms against %.3f ms without "
              "(medians of %d rounds); median ratio within a round %+.1f%%"
              % (RATE, count[m], what, B.median(p99[m]), B.median(p99["quiet"]), ROUNDS,
                 (ratio - 1) * 100))
    print("peak RSS over the run: %d MB" % (B.status_kb(p.pid, "VmHWM") // 1024))
    B.stop(p)
    B.stop(fake)


if __name__ == "__main__":
    try:
        main()
    finally:
        B.cleanup()
