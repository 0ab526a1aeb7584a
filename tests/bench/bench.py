#!/usr/bin/python3
"""bench.py: the side-by-side benchmark of issue 10 (run it through run.sh).

    bench.py --pldns PLDNS --floor FLOOR [--before OLD_PLDNS]

Starts the floor responder (floor.c), pldns with workers=1 and workers=2,
Unbound, BIND, dnsmasq and dnsdist, each pinned to BENCH_SERVER_CPU (1) with
the same 10,000 privatelink A records and the same fake upstream (tests/
system/fakeup.py with data/azure_public.py plus the benchmark's own chains),
and drives them with dnsperf pinned to BENCH_LOAD_CPU (0), over 127.0.0.1
only.  The cache-miss scenario's names (under miss.example.net) are
forwarded by every server to a second floor responder on the load CPU, so
that unique names can be sent at full speed (the Python fake upstream
answers about 2,000 a second).  dnsdist, a proxy with no local data, runs the
forwarded scenarios only (hit through its packet cache, miss without one).

For every scenario and server: QPS at full load, server CPU per completed
query (the run time of its threads, /proc/PID/task/*/schedstat, around the
run), p50 / p99 latency at
a fixed BENCH_RATE (10000) queries/s (dnsperf -v), RSS; over BENCH_ROUNDS
rounds, servers in alternating order (forwards, then backwards) so that drift
cancels; ratios pldns / floor and pldns / best peer are taken within each
round and their median reported.

Environment (defaults; BENCH_QUICK=1 changes the ones marked *):
  BENCH_ROUNDS 3 (*1)          BENCH_DURATION 3 s per full-load run (*2)
  BENCH_FIXED_DURATION 5 s (*2) per fixed-rate (latency) run (at least 4 s for
    the runs with one query in flight).  Not less: at 10,000 q/s one stall
    of the machine of 20 ms (a virtual CPU descheduled by its host) delays
    1% of a 2 s run's queries, and so sets its p99 alone.
  BENCH_RATE 10000
  BENCH_BIG_ROWS 1000000 (*200000)   BENCH_DEAD_WAIT 30 s (*12)
  BENCH_SCENARIOS local,synth,hit,spliced,miss,dead,big
  BENCH_CLIENTS 4, BENCH_OUTSTANDING 200 (dnsperf -c / -q at full load)
  BENCH_WORKDIR (default: a new /tmp/pldns-bench-*; kept)
"""

import argparse
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK") == "1"
ROUNDS = int(os.environ.get("BENCH_ROUNDS") or (1 if QUICK else 3))
DUR = float(os.environ.get("BENCH_DURATION") or (2 if QUICK else 3))
FDUR = float(os.environ.get("BENCH_FIXED_DURATION") or (2 if QUICK else 5))
RATE = int(os.environ.get("BENCH_RATE") or 10000)
BIG_ROWS = int(os.environ.get("BENCH_BIG_ROWS") or (200000 if QUICK else 1000000))
DEAD_WAIT = float(os.environ.get("BENCH_DEAD_WAIT") or (12 if QUICK else 30))
SCEN = (os.environ.get("BENCH_SCENARIOS") or
        "local,synth,hit,spliced,miss,dead,big").split(",")
NREC = 10000
NSPLICE = 2000
NHIT = 2000
WARM_RATE = 3000
PEERS = ("unbound", "bind", "dnsmasq", "dnsdist")
PROXY_SCENARIOS = ("hit", "miss")    # what dnsdist (no local data) runs

TITLES = {
    "local": "local answers (privatelink names from local data)",
    "synth": "synthesized (public names with local data; pldns answers "
             "locally, the peers forward and answer from their cache)",
    "hit": "forwarded, cache hit (names only upstream has)",
    "spliced": "spliced (custom names whose upstream CNAME chain runs into a "
               "privatelink name; cache warm)",
    "miss": "forwarded, cache miss (unique names, forwarded to a floor "
            "responder on the load CPU)",
}


def out(*a):
    print(*a, flush=True)


def fmt(x, nd=1):
    if x is None or x != x:
        return "-"
    return "%.*f" % (nd, x)


# ------------------------------------------------------------------ setup

def start_all(work, args, fu, csv, recs, mu):
    pairs = B.pairs_of(recs)
    zones = [z[0] for z in B.ZONES]
    probe, want = recs[-1][0], recs[-1][2][0]
    makers = [
        ("floor", lambda: B.floor_server(work, args.floor)),
        ("pldns-w1", lambda: B.pldns_server(work, args.pldns, fu.addr, csv,
                                            probe, want, workers=1,
                                            miss_up=mu)),
        ("pldns-w2", lambda: B.pldns_server(work, args.pldns, fu.addr, csv,
                                            probe, want, workers=2,
                                            miss_up=mu)),
    ] + ([
        # --before: another pldns binary, workers=1, in the same rounds.
        ("pldns-old", lambda: B.pldns_server(work, args.before, fu.addr, csv,
                                             probe, want, workers=1,
                                             name="pldns-old", miss_up=mu)),
    ] if args.before else []) + [
        ("unbound", lambda: B.unbound_server(work, fu.addr, pairs, zones,
                                             probe, want, miss_up=mu)),
        ("bind", lambda: B.bind_server(work, fu.addr, pairs, zones, probe,
                                       want, miss_up=mu)),
        ("dnsmasq", lambda: B.dnsmasq_server(work, fu.addr, pairs, probe,
                                             want, miss_up=mu)),
        ("dnsdist", lambda: B.dnsdist_server(work, fu.addr,
                                             "first.%s" % B.MISS_DOMAIN,
                                             miss_up=mu)),
    ]
    servers = []
    for name, mk in makers:
        try:
            s = mk().start(90)
            servers.append(s)
            B.log("bench: %-9s pid %d port %d ready in %.2f s" %
                  (s.name, s.pid, s.port, s.load_time))
        except Exception as e:      # a missing peer is reported, not fatal
            B.log("bench: %s: %s" % (name, e))
            if name.startswith("pldns") or name == "floor":
                raise
    return servers


def answers_table(servers, samples):
    out("\nWhat each server answers (one sample name per scenario):")
    w = max(len(s.name) for s in servers)
    for scen, name in samples:
        out("  %-8s %s" % (scen, name))
        for s in servers:
            out("      %-*s  %s" % (w, s.name, B.classify(B.query(s.port, name, timeout=3))))


def warm(servers, files, fu):
    """Passes over every forwarded file at WARM_RATE until the fake upstream
    sees no new query (at most 12 passes: pldns keeps one cache per worker,
    and SO_REUSEPORT sends each dnsperf socket to one of them, so with
    workers=2 a name must have reached both), so that the measured runs are
    cache hits for every server that caches the answer.  The upstream
    queries during measured runs are reported (column "upstrm q")."""
    for s in servers:
        if s.kind == "floor":
            continue
        passes = []
        for k in range(12):
            c0 = fu.count()
            for f in files:
                n = sum(1 for _ in open(f))
                rate = WARM_RATE if k == 0 else 3 * WARM_RATE
                B.dnsperf(s.port, f, n / rate + 10, rate=rate,
                          maxruns=1, clients=16, outstanding=100)
            passes.append(fu.count() - c0)
            if passes[-1] == 0 or (k > 0 and s.kind == "dnsmasq"):
                break
        B.log("bench: warm-up %s: upstream queries per pass %s" %
              (s.name, passes))
    B.log("bench: warm-up done (fake upstream saw %d queries)" % fu.count())


# ------------------------------------------------------------------ rounds

def run_rounds(servers, qfiles, fu, work):
    """results[scen][server] = [per-round dicts]"""
    res = {}
    for r in range(ROUNDS):
        order = servers if r % 2 == 0 else list(reversed(servers))
        for scen in ("local", "synth", "hit", "spliced", "miss"):
            if scen not in SCEN:
                continue
            B.log("bench: round %d/%d %s" % (r + 1, ROUNDS, scen))
            for s in order:
                if not s.alive():
                    continue
                if s.kind == "dnsdist" and scen not in PROXY_SCENARIOS:
                    continue
                u0 = fu.count()
                if scen == "miss":
                    # Unique names, never asked before: every query is a
                    # miss (dnsperf -n 1 stops at the end of the file).
                    qf = B.write_queries(os.path.join(work, "q-miss.txt"),
                                         ("r%d-%s-%d.%s" % (r, s.name, i, B.MISS_DOMAIN)
                                          for i in range(int(200000 * DUR))),
                                         shuffle=False)
                    m = B.measure(s, qf, DUR, maxruns=1)
                    qf = B.write_queries(os.path.join(work, "q-miss.txt"),
                                         ("f%d-%s-%d.%s" % (r, s.name, i, B.MISS_DOMAIN)
                                          for i in range(int(RATE * FDUR * 1.2) + 100)),
                                         shuffle=False)
                    mfix = B.measure(s, qf, FDUR, rate=RATE, verbose=True,
                                     maxruns=1)
                else:
                    m = B.measure(s, qfiles[scen], DUR)
                    mfix = B.measure(s, qfiles[scen], FDUR, rate=RATE,
                                     verbose=True)
                mser = {"cpu_us": None}
                if s.kind == "pldns" and scen != "miss":
                    # One query in flight: every query is a wake-up of
                    # its own for either worker count, so workers=2 /
                    # workers=1 shows the cost of shared state alone.
                    mser = B.measure(s, qfiles[scen], max(FDUR, 4.0),
                                     clients=1, outstanding=1)
                u1 = fu.count()
                rec = {"qps": m["qps"], "lost": m["lost"], "sent": m["sent"],
                       "cpu_us": m["cpu_us"], "cpu_us_fixed": mfix["cpu_us"],
                       "cpu_us_serial": mser["cpu_us"],
                       "p50_ms": mfix.get("p50_ms"), "p99_ms": mfix.get("p99_ms"),
                       "lost_fixed": mfix["lost"],
                       "rss_kb": s.rss_kb(), "upstream_q": u1 - u0,
                       "rcodes": m["rcodes"]}
                res.setdefault(scen, {}).setdefault(s.name, []).append(rec)
    return res


def per_round_ratio(res, scen, a, bfun, key="cpu_us"):
    """median over rounds of res[scen][a][key] / bfun(round)."""
    rows = res.get(scen, {})
    if a not in rows:
        return float("nan"), []
    rs = []
    for i, rec in enumerate(rows[a]):
        b = bfun(i)
        if b and b == b and rec.get(key) == rec.get(key):
            rs.append(rec[key] / b)
    return B.median(rs), rs


def best_peer(res, scen, i):
    rows = res.get(scen, {})
    vals = [(rows[p][i]["cpu_us"], p) for p in PEERS if p in rows and len(rows[p]) > i]
    return min(vals) if vals else (float("nan"), None)


def report_rounds(res, servers):
    summary = {}
    for scen in ("local", "synth", "hit", "spliced", "miss"):
        rows = res.get(scen)
        if not rows:
            continue
        out("\n== %s" % TITLES[scen])
        out("   (medians over %d round%s of %g s per run; CPU = server run time "
            "per completed query)" % (ROUNDS, "" if ROUNDS == 1 else "s", DUR))
        if True:
            out("   %-9s %10s %7s %9s %11s %8s %8s %8s %8s" % (
                "server", "QPS(max)", "lost", "CPU us/q", "CPU@%dk" % (RATE // 1000),
                "p50 ms", "p99 ms", "RSS MB", "upstrm q"))
        for s in servers:
            if s.name not in rows:
                continue
            L = rows[s.name]
            med = {k: B.median([x[k] for x in L if x[k] is not None])
                   for k in ("qps", "cpu_us", "cpu_us_fixed", "p50_ms",
                             "p99_ms", "rss_kb")}
            lost = sum(x["lost"] for x in L)
            upq = sum(x["upstream_q"] for x in L)
            if True:
                out("   %-9s %10.0f %7d %9s %11s %8s %8s %8.1f %8d" % (
                    s.name, med["qps"], lost, fmt(med["cpu_us"], 2),
                    fmt(med["cpu_us_fixed"], 2), fmt(med["p50_ms"], 3),
                    fmt(med["p99_ms"], 3), med["rss_kb"] / 1024, upq))
            summary.setdefault(scen, {})[s.name] = med
        fl = rows.get("floor")
        line = []
        for w in ("pldns-w1", "pldns-w2"):
            rf, rfl = per_round_ratio(res, scen, w, lambda i: fl[i]["cpu_us"] if fl else None)
            rb, rbl = per_round_ratio(res, scen, w, lambda i: best_peer(res, scen, i)[0])
            summary[scen][w + "/floor"] = rf
            summary[scen][w + "/best"] = rb
            line.append("%s/floor %s [%s]   %s/best peer %s [%s]" % (
                w, fmt(rf, 2), " ".join(fmt(x, 2) for x in rfl), w, fmt(rb, 2),
                " ".join(fmt(x, 2) for x in rbl)))
        r21, _ = per_round_ratio(res, scen, "pldns-w2",
                                 lambda i: rows["pldns-w1"][i]["cpu_us"]
                                 if "pldns-w1" in rows else None)
        summary[scen]["w2/w1"] = r21
        # At a fixed rate every query is a wake-up for either setup, so
        # this ratio shows shared state (locks, contended lines) without
        # the batching that two threads on one core lose at full load.
        r21f, _ = per_round_ratio(res, scen, "pldns-w2",
                                  lambda i: rows["pldns-w1"][i]["cpu_us_fixed"]
                                  if "pldns-w1" in rows else None,
                                  key="cpu_us_fixed")
        summary[scen]["w2/w1 fixed"] = r21f
        r21s, r21sl = per_round_ratio(res, scen, "pldns-w2",
                                      lambda i: rows["pldns-w1"][i]["cpu_us_serial"]
                                      if "pldns-w1" in rows else None,
                                      key="cpu_us_serial")
        summary[scen]["w2/w1 serial"] = r21s
        if "dnsdist" in rows:
            rd, rdl = per_round_ratio(res, scen, "pldns-w1",
                                      lambda i: rows["dnsdist"][i]["cpu_us"]
                                      if len(rows["dnsdist"]) > i else None)
            summary[scen]["w1/dnsdist"] = rd
            line.append("pldns-w1/dnsdist %s [%s]" % (
                fmt(rd, 2), " ".join(fmt(x, 2) for x in rdl)))
        bp = [best_peer(res, scen, i)[1] for i in range(ROUNDS)]
        summary[scen]["best_peer"] = max(set(bp), key=bp.count) if bp else None
        out("   ratios of CPU per query, per round in brackets:")
        for x in line:
            out("     " + x)
        out("     pldns-w2/pldns-w1 %s at full load, %s at %d q/s, %s with one "
            "query in flight [%s]    best peer by CPU: %s" % (
                fmt(r21, 3), fmt(r21f, 3), RATE, fmt(r21s, 3),
                " ".join(fmt(x, 2) for x in r21sl), summary[scen]["best_peer"]))
    return summary


# ------------------------------------------------------------------ dead

def dead_upstream(work, args, recs):
    """Time to the first answer for an uncached forwarded name when the
    upstream drops every query (blackhole) or its port is closed
    (ICMP port unreachable); each wait bounded by DEAD_WAIT."""
    out("\n== upstream dead (one uncached query each; waits bounded at %g s)"
        % DEAD_WAIT)
    few = recs[:100]
    csv = os.path.join(work, "dead.csv")
    B.write_csv(csv, few)
    pairs = B.pairs_of(few)
    zones = [z[0] for z in B.ZONES]
    probe, want = few[-1][0], few[-1][2][0]
    hole = B.Fakeup(work, {"records": []}, name="blackhole",
                    behaviours=["drop"])
    closed = "%s:%d" % (B.HOST, B.free_port())
    servers = []
    for label, up in (("blackhole", hole.addr), ("refused", closed)):
        mk = [
            lambda n: B.pldns_server(work, args.pldns, up, csv, probe, want,
                                     workers=1, name=n),
            lambda n: B.unbound_server(work, up, pairs, zones, probe, want,
                                       name=n),
            lambda n: B.bind_server(work, up, pairs, zones, probe, want, name=n),
            lambda n: B.dnsmasq_server(work, up, pairs, probe, want, name=n),
        ]
        for kind, m in zip(("pldns", "unbound", "bind", "dnsmasq"), mk):
            try:
                s = m("dead-%s-%s" % (label, kind)).start(60)
                servers.append((label, kind, s))
            except Exception as e:
                B.log("bench: %s/%s: %s" % (label, kind, e))
    results = {}

    def one(label, kind, s):
        name = "dead-%s-%s-%d.example.net" % (label, kind, int(time.time()))
        t0 = time.monotonic()
        r = B.query(s.port, name, timeout=DEAD_WAIT)
        el = time.monotonic() - t0
        results[(label, kind)] = (el, B.classify(r) if r is not None else None)

    th = [threading.Thread(target=one, args=x) for x in servers]
    for t in th:
        t.start()
    for t in th:
        t.join(DEAD_WAIT + 10)
    summ = {}
    out("   %-9s %-28s %-28s" % ("server", "upstream drops (blackhole)",
                                  "upstream port closed"))
    for kind in ("pldns", "unbound", "bind", "dnsmasq"):
        cells = []
        for label in ("blackhole", "refused"):
            el, c = results.get((label, kind), (None, None))
            if el is None:
                cells.append("not run")
            elif c is None:
                cells.append("no answer in %g s" % DEAD_WAIT)
            else:
                cells.append("%s after %.3f s" % (c, el))
            summ[(kind, label)] = cells[-1]
        out("   %-9s %-28s %-28s" % (kind, cells[0], cells[1]))
    for _l, _k, s in servers:
        s.stop()
    hole.stop()
    return summ


# ------------------------------------------------------------------ 1M

def big_records(work, args, fu):
    out("\n== %d records (tests/bench/gen_csv.py): load, RSS, CPU per query"
        % BIG_ROWS)
    csv = os.path.join(work, "big.csv")
    t0 = time.monotonic()
    with open(csv, "w") as f:
        import subprocess
        subprocess.run([B.PYTHON, os.path.join(B.HERE, "gen_csv.py"),
                        str(BIG_ROWS)], stdout=f, check=True, timeout=600)
    pairs = []
    with open(csv) as f:
        next(f)
        for line in f:
            n, ip = line.strip().split(",")
            pairs.append((B.to_private(n), ip))
    zones = sorted({".".join(n.split(".")[n.split(".").index("privatelink"):])
                    for n, _ in pairs[:10]})
    B.log("bench: %d rows generated in %.1f s; zones %s" %
          (len(pairs), time.monotonic() - t0, ", ".join(zones)))
    probe, want = pairs[-1]
    import random
    sample = random.Random(7).sample(pairs, 10000)
    qf = B.write_queries(os.path.join(work, "q-big.txt"), (n for n, _ in sample))
    res = {}
    makers = [
        ("floor", lambda: B.floor_server(work, args.floor, name="big-floor")),
        ("pldns-w1", lambda: B.pldns_server(work, args.pldns, fu.addr, csv,
                                            probe, want, workers=1,
                                            name="big-pldns")),
        ("unbound", lambda: B.unbound_server(work, fu.addr, pairs, zones,
                                             probe, want, name="big-unbound")),
        ("dnsmasq", lambda: B.dnsmasq_server(work, fu.addr, pairs, probe, want,
                                             name="big-dnsmasq")),
    ]
    for name, mk in makers:
        try:
            s = mk()
            s.start(float(os.environ.get("BENCH_BIG_TIMEOUT", "300")))
        except Exception as e:
            B.log("bench: %s: %s" % (name, e))
            res[name] = None
            continue
        rss, hwm = s.rss_kb(), s.hwm_kb()
        m = B.measure(s, qf, DUR)
        mfix = B.measure(s, qf, FDUR, rate=RATE, verbose=True)
        res[name] = {"load_s": s.load_time, "rss_kb": rss, "hwm_kb": hwm,
                     "rss_after_kb": s.rss_kb(), "cpu_us": m["cpu_us"],
                     "qps": m["qps"], "lost": m["lost"],
                     "p99_ms": mfix["p99_ms"], "p50_ms": mfix["p50_ms"],
                     "rcodes": m["rcodes"]}
        B.log("bench: big %s: %s" % (name, json.dumps(res[name])))
        s.stop()
    out("   %-9s %9s %9s %9s %10s %9s %8s %8s" % (
        "server", "load s", "RSS MB", "peak MB", "QPS(max)", "CPU us/q",
        "p50 ms", "p99 ms"))
    for name in ("floor", "pldns-w1", "unbound", "dnsmasq"):
        r = res.get(name)
        if not r:
            out("   %-9s (did not start)" % name)
            continue
        out("   %-9s %9.2f %9.1f %9.1f %10.0f %9.2f %8.3f %8.3f" % (
            name, r["load_s"], r["rss_kb"] / 1024, r["hwm_kb"] / 1024, r["qps"],
            r["cpu_us"], r["p50_ms"], r["p99_ms"]))
    out("   (load = from exec to the first correct answer for the last row; "
        "RSS after load; peak = VmHWM; one round)")
    return res


# ------------------------------------------------------------------ summary

def final_summary(summary, dead, big):
    out("\n================ summary (CPU us per query, medians; ratios "
        "within rounds) ================")
    old = any("pldns-old" in (summary.get(sc) or {}) for sc in summary)
    cols = ("floor", "pldns-w1", "pldns-w2") + (("pldns-old",) if old else ()) + PEERS
    out("%-9s" % "scenario" + "".join("%10s" % c for c in cols) +
        "%8s %8s %7s %9s %8s" % ("p1/flr", "p1/best", "w2/w1", "p99 p1", "p99 best"))
    for scen in ("local", "synth", "hit", "spliced", "miss"):
        row = summary.get(scen)
        if not row:
            continue
        cells = "".join("%10s" % (fmt(row[c]["cpu_us"], 2) if c in row else "-")
                        for c in cols)
        bp = row.get("best_peer")
        p99b = min((row[p]["p99_ms"] for p in PEERS if p in row), default=float("nan"))
        out("%-9s%s%8s %8s %7s %9s %8s" % (
            scen, cells, fmt(row.get("pldns-w1/floor"), 2),
            fmt(row.get("pldns-w1/best"), 2), fmt(row.get("w2/w1"), 3),
            fmt(row["pldns-w1"]["p99_ms"], 3) if "pldns-w1" in row else "-",
            fmt(p99b, 3)))
    if old:
        out("pldns-w1 / pldns-old (--before), CPU per query at full load, "
            "at %d q/s, and p99 at %d q/s (ms):" % (RATE, RATE))
        for scen in ("local", "synth", "hit", "spliced", "miss"):
            row = summary.get(scen) or {}
            n, o = row.get("pldns-w1"), row.get("pldns-old")
            if n and o:
                out("  %-8s %s  %s  p99 %s vs %s" % (
                    scen, fmt(n["cpu_us"] / o["cpu_us"], 3),
                    fmt(n["cpu_us_fixed"] / o["cpu_us_fixed"], 3)
                    if n["cpu_us_fixed"] and o["cpu_us_fixed"] else "-",
                    fmt(n["p99_ms"], 3), fmt(o["p99_ms"], 3)))
    if big:
        b = big
        cells = "".join("%10s" % (fmt(b[c]["cpu_us"], 2) if b.get(c) else "-")
                        for c in cols)
        fl = b.get("floor") and b["floor"]["cpu_us"]
        p1 = b.get("pldns-w1")
        peers = [b[p]["cpu_us"] for p in PEERS if b.get(p)]
        out("%-9s%s%8s %8s %7s %9s %8s" % (
            "1M-recs" if BIG_ROWS == 1000000 else "%dk-recs" % (BIG_ROWS // 1000),
            cells, fmt(p1["cpu_us"] / fl, 2) if p1 and fl else "-",
            fmt(p1["cpu_us"] / min(peers), 2) if p1 and peers else "-", "-",
            fmt(p1["p99_ms"], 3) if p1 else "-",
            fmt(min((b[p]["p99_ms"] for p in PEERS if b.get(p)), default=float("nan")), 3)))
    out("\nTargets (issue 10) against this run:")

    def verdict(ok):
        return "MET" if ok else "NOT MET"
    for scen, lim in (("local", 1.10), ("synth", 1.10), ("hit", 1.15),
                      ("spliced", 1.15)):
        row = summary.get(scen)
        if row and "pldns-w1/floor" in row:
            r = row["pldns-w1/floor"]
            out("  %-8s pldns/floor %s (target <= %.2f): %s" % (
                scen, fmt(r, 3), lim, verdict(r <= lim)))
    row = summary.get("miss")
    if row and "pldns-w1" in row:
        c = row["pldns-w1"]["cpu_us"]
        rd = row.get("w1/dnsdist")
        if rd is not None and rd == rd:
            out("  miss     pldns/dnsdist CPU per query %s (target <= 0.80): %s"
                % (fmt(rd, 3), verdict(rd <= 0.80)))
        out("  miss     pldns %s us/q against the issue's dnsdist figure "
            "(16.9 us -> <= 13.5 us): %s" % (fmt(c, 2), verdict(c <= 13.5)))
    for scen in ("local", "synth", "hit", "spliced"):
        row = summary.get(scen)
        if row and "pldns-w1" in row:
            p99b = min((row[p]["p99_ms"] for p in PEERS if p in row), default=None)
            if p99b is not None:
                out("  %-8s p99 at %d q/s: pldns %s ms vs best peer %s ms: %s" % (
                    scen, RATE, fmt(row["pldns-w1"]["p99_ms"], 3), fmt(p99b, 3),
                    verdict(row["pldns-w1"]["p99_ms"] <= p99b)))
        if row and "w2/w1" in row and row["w2/w1"] == row["w2/w1"]:
            ser = row.get("w2/w1 serial", float("nan"))
            out("  %-8s workers=2 / workers=1 CPU per query %s at full load, "
                "%s at %d q/s, %s with one query in flight (target within 5%%; "
                "both threads share core %s, the load generator has the "
                "other): %s / %s / %s" % (
                    scen, fmt(row["w2/w1"], 3), fmt(row.get("w2/w1 fixed"), 3),
                    RATE, fmt(ser, 3), B.SERVER_CPU,
                    verdict(abs(row["w2/w1"] - 1) <= 0.05),
                    verdict(abs(row.get("w2/w1 fixed", 9) - 1) <= 0.05),
                    verdict(ser == ser and abs(ser - 1) <= 0.05)))
    if big and big.get("pldns-w1"):
        p = big["pldns-w1"]
        if big.get("unbound"):
            out("  big      load %.2f s vs Unbound %.2f s: ratio %.2f (target <= 0.25): %s"
                % (p["load_s"], big["unbound"]["load_s"],
                   p["load_s"] / big["unbound"]["load_s"],
                   verdict(p["load_s"] <= 0.25 * big["unbound"]["load_s"])))
        if big.get("dnsmasq"):
            out("  big      RSS %.0f MB vs dnsmasq %.0f MB (target <=): %s" % (
                p["rss_kb"] / 1024, big["dnsmasq"]["rss_kb"] / 1024,
                verdict(p["rss_kb"] <= big["dnsmasq"]["rss_kb"])))
        if big.get("floor"):
            r = p["cpu_us"] / big["floor"]["cpu_us"]
            out("  big      CPU/q %.2f x floor (target <= 1.25): %s" % (
                r, verdict(r <= 1.25)))
    if dead:
        def secs(cell):
            try:
                return float(cell.split(" after ")[1].split()[0]) \
                    if cell.startswith("SERVFAIL after") else None
            except (IndexError, ValueError, AttributeError):
                return None
        bh, rf = dead.get(("pldns", "blackhole")), dead.get(("pldns", "refused"))
        tb, tr = secs(bh), secs(rf)
        out("  dead     pldns blackhole: %s (target: SERVFAIL within deadline_ms "
            "2000, 50 ms allowed for timers): %s" % (
                bh, verdict(tb is not None and tb <= 2.05)))
        out("  dead     pldns refused port: %s (target: within 0.1 s): %s" % (
            rf, verdict(tr is not None and tr <= 0.1)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pldns", required=True)
    ap.add_argument("--floor", required=True)
    ap.add_argument("--before", default=os.environ.get("BENCH_BEFORE") or None,
                    help="a second pldns binary run beside --pldns (workers=1), "
                    "for a before/after table in the same rounds")
    args = ap.parse_args()
    t_start = time.monotonic()
    work = B.workdir("pldns-bench-")
    out("pldns benchmark: work dir %s; %s; rounds %d, %g s per run; servers on "
        "CPU %s, dnsperf and the fake upstream on CPU %s" % (
            work, "QUICK" if QUICK else "full", ROUNDS, DUR, B.SERVER_CPU,
            B.LOAD_CPU))
    out("load average at start: %s" % open("/proc/loadavg").read().strip())
    recs = B.records(NREC)
    csv = os.path.join(work, "records.csv")
    B.write_csv(csv, recs)
    fu = B.Fakeup(work, B.fakeup_data(NREC, NSPLICE), lifetime=3600)
    B.log("bench: fake upstream on %s" % fu.addr)
    missup = B.floor_server(work, args.floor, name="miss-upstream",
                            cpu=B.LOAD_CPU).start(30)
    mu = "%s:%d" % (B.HOST, missup.port)
    B.log("bench: cache-miss upstream (floor) on %s" % mu)
    summary, dead, big = {}, None, None
    if set(SCEN) & {"local", "synth", "hit", "spliced", "miss"}:
        servers = start_all(work, args, fu, csv, recs, mu)
        qfiles = {
            "local": B.write_queries(os.path.join(work, "q-local.txt"),
                                     (p for p, _, _ in recs)),
            "synth": B.write_queries(os.path.join(work, "q-synth.txt"),
                                     (q for _, q, _ in recs)),
            "hit": B.write_queries(os.path.join(work, "q-hit.txt"),
                                   ("h%d.%s" % (i, B.HIT_DOMAIN) for i in range(NHIT))),
            "spliced": B.write_queries(os.path.join(work, "q-spliced.txt"),
                                       ("app%d.%s" % (i, B.SPLICE_DOMAIN)
                                        for i in range(NSPLICE))),
        }
        answers_table(servers, [("local", recs[10][0]), ("synth", recs[11][1]),
                                ("hit", "h5.%s" % B.HIT_DOMAIN),
                                ("spliced", "app7.%s" % B.SPLICE_DOMAIN),
                                ("miss", "first.%s" % B.MISS_DOMAIN)])
        warm(servers, [qfiles[k] for k in ("synth", "hit", "spliced")
                       if k in SCEN], fu)
        res = run_rounds(servers, qfiles, fu, work)
        with open(os.path.join(work, "results.json"), "w") as f:
            json.dump(res, f, indent=1)
        summary = report_rounds(res, servers)
        for s in servers:
            s.stop()
    if "dead" in SCEN:
        dead = dead_upstream(work, args, recs)
    if "big" in SCEN:
        big = big_records(work, args, fu)
    fu.stop()
    missup.stop()
    final_summary(summary, dead, big)
    out("\nload average at end: %s; total %.0f s; details in %s" % (
        open("/proc/loadavg").read().strip(), time.monotonic() - t_start, work))


if __name__ == "__main__":
    main()
