#!/usr/bin/python3
"""reload.py: issue 5's reload benchmarks (run it through reload.sh).

    reload.py --pldns PLDNS

(a) 1,000,000 CSV records (tests/bench/gen_csv.py): pldns serving them
    (idle), then SIGHUP RELOAD_BIG_N times: time from the signal to the
    "reloaded" log line, steady VmRSS before, peak during the swap (VmRSS
    sampled every 5 ms and VmHWM, reset before each signal through
    /proc/PID/clear_refs), VmRSS after, and peak / steady.

(b) 10,000 names (two addresses each) under continuous dnsperf load at
    RELOAD_RATE q/s, RELOAD_COUNT reloads alternating between data set A
    (10.0.x.y) and B (10.1.x.y): the file is renamed into place and SIGHUP
    sent; pldns's file watch then reloads the same data once more, so
    every cycle swaps the snapshot twice.  A separate checker
    (reload_check.py) queries without pause and verifies every answer is
    entirely A or entirely B.  Reports dnsperf's lost queries and latency,
    wrong answers, p99 inside the swap windows and outside them, and answers
    from the previous data set seen after a reload had completed.

pldns on BENCH_SERVER_CPU (1), dnsperf and the checker on BENCH_LOAD_CPU
(0), 127.0.0.1 only.  Environment: RELOAD_BIG_ROWS (1000000),
RELOAD_BIG_N (3; quick 1), RELOAD_COUNT (100; quick 20), RELOAD_RATE
(10000), RELOAD_WORKERS (2), RELOAD_PARTS (ab), RELOAD_BASELINE (10 s of
the same load without reloads first, as the control; quick 5),
BENCH_SERVER_CPU (1; "0,1" lets pldns use both), BENCH_QUICK, BENCH_WORKDIR.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK") == "1"
BIG_ROWS = int(os.environ.get("RELOAD_BIG_ROWS") or 1000000)
BIG_N = int(os.environ.get("RELOAD_BIG_N") or (1 if QUICK else 3))
COUNT = int(os.environ.get("RELOAD_COUNT") or (20 if QUICK else 100))
RATE = int(os.environ.get("RELOAD_RATE") or 10000)
WORKERS = int(os.environ.get("RELOAD_WORKERS") or 2)
PARTS = os.environ.get("RELOAD_PARTS") or "ab"
BASELINE = float(os.environ.get("RELOAD_BASELINE") or (5 if QUICK else 10))
NREC = 10000
RELOAD_BOUND = 300.0     # seconds for one reload of 1M records


def out(*a):
    print(*a, flush=True)


class LogWatch:
    """Follows a pldns log file; events are (monotonic time seen, kind,
    line) with kind 'reloaded', 'rejected' or 'changed'."""

    def __init__(self, path):
        self.path, self.pos, self.buf = path, 0, ""
        self.events = []
        self.n_reloaded = 0

    def poll(self):
        try:
            with open(self.path, errors="replace") as f:
                f.seek(self.pos)
                data = f.read()
                self.pos = f.tell()
        except OSError:
            return
        now = time.monotonic()
        self.buf += data
        *lines, self.buf = self.buf.split("\n")
        for line in lines:
            if "reloaded:" in line:
                self.n_reloaded += 1
                self.events.append((now, "reloaded", line))
            elif "reload rejected" in line:
                self.events.append((now, "rejected", line))
            elif "changed: reloading" in line:
                self.events.append((now, "changed", line))

    def wait_reloaded(self, n, deadline, every=0.002, fn=None):
        """Polls until N 'reloaded' lines have been seen; calls FN each
        time round.  True when reached."""
        while time.monotonic() < deadline:
            self.poll()
            if self.n_reloaded >= n:
                return True
            if fn:
                fn()
            time.sleep(every)
        return False


def own_ms(line):
    m = re.search(r"in (\d+) ms", line)
    return int(m.group(1)) if m else None


# ------------------------------------------------------------------ (a)

def part_a(work, pldns):
    out("\n== (a) reload of %d CSV records via SIGHUP (idle server, workers=%d)"
        % (BIG_ROWS, WORKERS))
    csv = os.path.join(work, "big.csv")
    with open(csv, "w") as f:
        subprocess.run([B.PYTHON, os.path.join(B.HERE, "gen_csv.py"),
                        str(BIG_ROWS)], stdout=f, check=True, timeout=600)
    with open(csv) as f:
        last = f.readlines()[-1].strip().split(",")
    probe, want = B.to_private(last[0]), last[1]
    dead = "%s:%d" % (B.HOST, B.free_port())
    s = B.pldns_server(work, pldns, dead, csv, probe, want, workers=WORKERS,
                       name="reload-big")
    s.start(RELOAD_BOUND)
    lw = LogWatch(s.logpath)
    lw.poll()
    time.sleep(0.5)
    initial = s.rss_kb()
    out("   initial load: %.2f s to the first answer; VmRSS %.1f MB, VmHWM %.1f MB"
        % (s.load_time, s.rss_kb() / 1024, s.hwm_kb() / 1024))
    time.sleep(1.0)
    rows = []
    for k in range(BIG_N):
        steady = s.rss_kb()
        hwm_reset = B.reset_hwm(s.pid)
        peak = [steady]

        def sample():
            peak[0] = max(peak[0], s.rss_kb())
        n0 = lw.n_reloaded
        t0 = time.monotonic()
        os.kill(s.pid, signal.SIGHUP)
        ok = lw.wait_reloaded(n0 + 1, t0 + RELOAD_BOUND, every=0.005, fn=sample)
        t1 = time.monotonic()
        hwm = s.hwm_kb() if hwm_reset else 0
        p = max(peak[0], hwm)
        time.sleep(1.0)
        after = s.rss_kb()
        ok2 = B.wait_answer(s.port, probe, time.monotonic() + 5, want=want)
        line = lw.events[-1][2] if ok else "(no reloaded line within %g s)" % RELOAD_BOUND
        rows.append({"time_s": t1 - t0 if ok else None, "own_ms": own_ms(line),
                     "steady_kb": steady, "peak_kb": p, "after_kb": after,
                     "answers": ok2 is not None, "initial_kb": initial})
        out("   reload %d: %s s signal -> log line (pldns says %s ms); steady %.1f MB, "
            "peak %.1f MB (x%.2f), after %.1f MB; still answers: %s" % (
                k + 1, "%.2f" % (t1 - t0) if ok else "-", own_ms(line),
                steady / 1024, p / 1024, p / steady, after / 1024,
                "yes" if ok2 is not None else "NO"))
    s.stop()
    return rows


# ------------------------------------------------------------------ (b)

def part_b(work, pldns):
    out("\n== (b) %d reloads alternating two data sets under dnsperf at %d q/s "
        "(%d names x 2 addresses, workers=%d)" % (COUNT, RATE, NREC, WORKERS))
    ra = B.records(NREC, 0, multi=True)
    rb = B.records(NREC, 1, multi=True)
    d = os.path.join(work, "swap")
    os.makedirs(d, exist_ok=True)
    csv = os.path.join(d, "records.csv")
    B.write_csv(csv, ra)
    names = os.path.join(work, "names.json")
    with open(names, "w") as f:
        json.dump([[a[0], a[1], a[2], b[2]] for a, b in zip(ra, rb)], f)
    qf = B.write_queries(os.path.join(work, "q-swap.txt"),
                         [r[0] for r in ra] + [r[1] for r in ra])
    extra = "".join('\n[zone "%s"]\nmulti = yes\n' % z for z, _t, _f in B.ZONES)
    dead = "%s:%d" % (B.HOST, B.free_port())
    s = B.pldns_server(work, pldns, dead, csv, ra[-1][0], ra[-1][2][0],
                       workers=WORKERS, name="reload-swap", extra=extra)
    s.start(60)
    lw = LogWatch(s.logpath)
    lw.poll()
    chk_out = os.path.join(work, "check.json")
    chk = B.spawn([B.PYTHON, os.path.join(B.HERE, "reload_check.py"),
                   "--port", str(s.port), "--names", names, "--out", chk_out,
                   "--duration", str(COUNT * 5 + 120)],
                  os.path.join(work, "check.log"), cpu=B.LOAD_CPU)
    # the same load without reloads first, as the control
    base = B.dnsperf(s.port, qf, BASELINE, rate=RATE, verbose=True,
                     outpath=os.path.join(work, "dnsperf-base.out"), timeout_s=2)
    t_base_end = time.monotonic()
    dp, finish = B.dnsperf(s.port, qf, COUNT * 5 + 120, rate=RATE, verbose=True,
                           outpath=os.path.join(work, "dnsperf-swap.out"),
                           popen=True, timeout_s=2)
    time.sleep(2.0)         # a stretch without swaps, for comparison
    windows = []            # (start, end) of every swap seen
    expect = []             # (from, to, data set) once a reload completed
    times = []
    t_begin = time.monotonic()
    cycle_bound = 60.0
    for k in range(COUNT):
        nxt = rb if k % 2 == 0 else ra
        label = "B" if k % 2 == 0 else "A"
        B.write_csv(csv, nxt)           # write + rename into place
        n0 = lw.n_reloaded
        t0 = time.monotonic()
        os.kill(s.pid, signal.SIGHUP)
        if not lw.wait_reloaded(n0 + 1, t0 + cycle_bound):
            out("   reload %d: no 'reloaded' line within %g s; stopping" %
                (k + 1, cycle_bound))
            break
        t1 = lw.events[-1][0]
        times.append(t1 - t0)
        windows.append((t0, t1))
        # the file watch's own reload of the same file follows (debounced,
        # after two looks 250 ms apart); wait for it, bounded
        lw.wait_reloaded(n0 + 2, time.monotonic() + 1.5)
        expect.append((t1 + 0.05, None, label))
        if len(expect) > 1:
            expect[-2] = (expect[-2][0], t0, expect[-2][2])
    tN = time.monotonic()
    lw.poll()
    # watch-triggered swaps: from "changed: reloading" to its "reloaded"
    ev = lw.events
    for i, (t, kind, _l) in enumerate(ev):
        if kind == "changed":
            end = next((u for u, k2, _ in ev[i + 1:] if k2 == "reloaded"), t + 1)
            windows.append((t, end))
    if expect:
        expect[-1] = (expect[-1][0], tN, expect[-1][2])
    time.sleep(2.0)
    dp.send_signal(signal.SIGINT)
    res = finish(30)
    chk.send_signal(signal.SIGTERM)
    try:
        chk.wait(30)
    except subprocess.TimeoutExpired:
        B.stop(chk)
    rejected = sum(1 for _t, k, _l in lw.events if k == "rejected")
    alive = s.alive()
    s.stop()
    try:
        cr = json.load(open(chk_out))
    except (OSError, ValueError):
        cr = {"counts": {}, "examples": [], "samples": []}
    samples = cr["samples"]

    def in_windows(t):
        for a, b in windows:
            if a - 0.001 <= t <= b + 0.05:
                return True
        return False
    lat_base = sorted(x[1] for x in samples if x[2] in ("A", "B") and x[0] < t_base_end)
    lat_in = sorted(x[1] for x in samples if x[2] in ("A", "B") and in_windows(x[0]))
    lat_out = sorted(x[1] for x in samples if x[2] in ("A", "B") and
                     x[0] >= t_base_end and not in_windows(x[0]))
    stale = 0
    for t, _lat, cls in samples:
        if cls not in ("A", "B"):
            continue
        for a, b, want in expect:
            if a <= t < b:
                if cls != want:
                    stale += 1
                break
    wrong = sum(v for k, v in cr["counts"].items() if k not in ("A", "B"))
    lat = res.get("lat", [])
    times.sort()
    out("   reloads: %d by SIGHUP + %d by the file watch = %d swaps in %.1f s; "
        "rejected %d; pldns alive: %s" % (
            len(times), lw.n_reloaded - len(times), lw.n_reloaded, tN - t_begin,
            rejected, "yes" if alive else "NO"))
    if times:
        out("   SIGHUP -> 'reloaded' line: median %.1f ms, max %.1f ms" % (
            B.median(times) * 1000, times[-1] * 1000))
    bl = base.get("lat", [])
    out("   control, %g s of the same load without reloads: dnsperf lost %d; p50 "
        "%.3f ms, p99 %.3f ms, max %.3f ms; checker p99 %.3f ms" % (
            BASELINE, base["lost"], B.pct(bl, 50) * 1000, B.pct(bl, 99) * 1000,
            (bl[-1] if bl else float("nan")) * 1000, B.pct(lat_base, 99) * 1000))
    out("   dnsperf: sent %d, completed %d, lost %d, interrupted at the end %d; "
        "latency p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms" % (
            res["sent"], res["completed"], res["lost"], res["interrupted"],
            B.pct(lat, 50) * 1000, B.pct(lat, 99) * 1000, B.pct(lat, 99.9) * 1000,
            (lat[-1] if lat else float("nan")) * 1000))
    out("   checker: %d answers checked (%s); wrong answers %d; answers from "
        "the previous data set after a reload had completed (+50 ms): %d" % (
            len(samples), ", ".join("%s %d" % kv for kv in sorted(cr["counts"].items())),
            wrong, stale))
    out("   checker latency while reloading: p99 inside swap windows %.3f ms "
        "(%d answers), outside %.3f ms (%d answers); max inside %.3f ms" % (
            B.pct(lat_in, 99) * 1000, len(lat_in), B.pct(lat_out, 99) * 1000,
            len(lat_out), (lat_in[-1] if lat_in else float("nan")) * 1000))
    for e in cr["examples"][:5]:
        out("   wrong answer example: %s" % json.dumps(e)[:600])
    return {"reloads": len(times), "swaps": lw.n_reloaded, "lost": res["lost"],
            "sent": res["sent"], "wrong": wrong, "stale": stale,
            "p99_ms": B.pct(lat, 99) * 1000,
            "p99_base_ms": B.pct(bl, 99) * 1000,
            "p99_in_ms": B.pct(lat_in, 99) * 1000,
            "p99_out_ms": B.pct(lat_out, 99) * 1000,
            "checked": len(samples), "alive": alive,
            "median_reload_ms": B.median(times) * 1000 if times else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pldns", required=True)
    args = ap.parse_args()
    t_start = time.monotonic()
    work = B.workdir("pldns-reload-")
    out("pldns reload benchmark: work dir %s; load average %s" % (
        work, open("/proc/loadavg").read().strip()))
    a = part_a(work, args.pldns) if "a" in PARTS else None
    b = part_b(work, args.pldns) if "b" in PARTS else None
    out("\n== summary against issue 5's targets")
    if a:
        ts = [r["time_s"] for r in a if r["time_s"] is not None]
        ratio = max(r["peak_kb"] / r["initial_kb"] for r in a)
        ratio2 = max(r["peak_kb"] / r["steady_kb"] for r in a)
        out("   reload of %d records: %s s (target <= 2 s): %s" % (
            BIG_ROWS, " ".join("%.2f" % t for t in ts),
            "MET" if ts and max(ts) <= 2 else "NOT MET"))
        out("   peak RSS during the swap / steady RSS after the first load "
            "(%.1f MB): max %.2f (target <= 2.2): %s; / RSS just before each "
            "reload: max %.2f; RSS after the last reload %.1f MB" % (
                a[0]["initial_kb"] / 1024, ratio,
                "MET" if ratio <= 2.2 else "NOT MET", ratio2,
                a[-1]["after_kb"] / 1024))
    if b:
        out("   %d swaps under load: lost %d (target 0): %s; wrong answers %d "
            "(target 0): %s;\n   dnsperf p99 while reloading %.3f ms (target "
            "< 10 ms): %s; control without reloads %.3f ms; the checker's "
            "(Python) p99 inside swaps %.3f ms vs outside %.3f ms" % (
                b["swaps"], b["lost"], "MET" if b["lost"] == 0 else "NOT MET",
                b["wrong"], "MET" if b["wrong"] == 0 else "NOT MET",
                b["p99_ms"], "MET" if b["p99_ms"] < 10 else "NOT MET",
                b["p99_base_ms"], b["p99_in_ms"], b["p99_out_ms"]))
    out("\ntotal %.0f s; load average %s; details in %s" % (
        time.monotonic() - t_start, open("/proc/loadavg").read().strip(), work))


if __name__ == "__main__":
    main()
