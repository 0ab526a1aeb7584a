#!/usr/bin/python3
"""instr.py: instructions pldns runs per query, by path (run it through
instr.sh).

    instr.py --pldns PLDNS

CPU time on a shared or virtual machine moves by several percent from run
to run; the count of instructions does not.  Each figure is the instructions
callgrind counts inside the worker's UDP read callback (receive, parse,
answer, send: everything a query costs in pldns's own code and libc) over
10,000 queries, divided by 10,000.  It shows what a change in the query
path costs or saves, before the side-by-side benchmark (run.sh) can.

  local   privatelink names answered from local data
  synth   their public names (CNAME to privatelink, then the address)
  hit     forwarded names answered from the cache: a second pldns on
          127.0.0.1 is the upstream; the third pass over the names, counted
          alone (the first pass misses, the second keeps each reply)

Traffic goes to 127.0.0.1 only; every wait is bounded.
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

N = 10000


def conf(path, port, csv=None, upstream=None):
    with open(path, "w") as f:
        f.write("[server]\nlisten = %s:%d\nworkers = 1\n\n" % (B.HOST, port))
        if upstream:
            f.write("[upstream]\nservers = %s\n\n" % upstream)
        if csv:
            f.write("[records]\nsources = %s\nttl = 3600\n\n" % csv)
        f.write("[control]\nlisten = none\n\n[log]\nlevel = warning\n"
                "query_log = no\n")
    return path


def counted(work, name, pldns, cfg, port, probe, qfile, passes, warm=0):
    """Instructions inside udp_read_cb for PASSES passes over QFILE, after
    WARM passes that are not counted (callgrind_control -z)."""
    out = os.path.join(work, "%s.%d.callgrind" % (name, passes))
    p = B.spawn(["valgrind", "--tool=callgrind", "--toggle-collect=udp_read_cb",
                 "--callgrind-out-file=" + out, pldns, "serve", "-f", "-c", cfg],
                os.path.join(work, "%s.%d.log" % (name, passes)))
    if B.wait_answer(port, probe, time.monotonic() + 120, p) is None:
        B.stop(p)
        raise RuntimeError("%s: pldns under valgrind did not answer" % name)
    # Slow and steady: valgrind runs the daemon about 50 times slower.
    if warm:
        r = B.dnsperf(port, qfile, 600, rate=2000, clients=1, outstanding=20,
                      maxruns=warm)
        if r["completed"] != warm * N:
            B.stop(p)
            raise RuntimeError("%s: %d of %d warm-up queries answered" %
                               (name, r["completed"], warm * N))
        subprocess.run(["callgrind_control", "-z", str(p.pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=120)
    r = B.dnsperf(port, qfile, 600, rate=2000, clients=1, outstanding=20,
                  maxruns=passes)
    B.stop(p)
    if r["completed"] != passes * N:
        raise RuntimeError("%s: %d of %d queries answered" %
                           (name, r["completed"], passes * N))
    with open(out) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError("%s: no totals in %s" % (name, out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pldns", required=True)
    args = ap.parse_args()
    work = B.workdir("pldns-instr-")
    recs = B.records(N)
    csv = os.path.join(work, "recs.csv")
    B.write_csv(csv, recs)
    local_q = B.write_queries(os.path.join(work, "local.q"), [r[0] for r in recs])
    synth_q = B.write_queries(os.path.join(work, "synth.q"), [r[1] for r in recs])
    probe = recs[-1][0]

    port = B.free_port()
    cfg = conf(os.path.join(work, "local.ini"), port, csv=csv)
    res = {}
    res["local"] = counted(work, "local", args.pldns, cfg, port, probe,
                           local_q, 1) / N
    res["synth"] = counted(work, "synth", args.pldns, cfg, port, probe,
                           synth_q, 1) / N

    up_port = B.free_port()
    up = B.spawn([args.pldns, "serve", "-f", "-c",
                  conf(os.path.join(work, "up.ini"), up_port, csv=csv)],
                 os.path.join(work, "up.log"))
    try:
        if B.wait_answer(up_port, probe, time.monotonic() + 60, up) is None:
            raise RuntimeError("upstream pldns did not answer")
        fport = B.free_port()
        fcfg = conf(os.path.join(work, "fwd.ini"), fport,
                    upstream="%s:%d" % (B.HOST, up_port))
        res["hit"] = counted(work, "hit", args.pldns, fcfg, fport, probe,
                             local_q, 1, warm=2) / N
    finally:
        B.stop(up)

    print("instructions per query inside udp_read_cb (callgrind, %d queries "
          "per pass):" % N)
    for k in ("local", "synth", "hit"):
        print("  %-6s %6.0f" % (k, res[k]))
    print("details in %s" % work)


if __name__ == "__main__":
    main()
