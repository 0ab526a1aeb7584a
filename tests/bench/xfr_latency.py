#!/usr/bin/python3
"""xfr_latency: what zone transfers out cost a worker's other clients.

pldns with one worker serves a zone of RECORDS records (from a hosts file)
while CLIENTS connections each take an AXFR of it at once, read as fast as
they come by one process that only checks the framing, the answer count and
the closing SOA (ten dig processes would parse 100,000 records each and
take the CPU the UDP client needs to time its answers); meanwhile one UDP
client asks the same worker for a name of the zone every millisecond (one
query in flight) and times each answer.  The ten transfers run WAVES times
one wave after the other (a wave takes a few tenths of a second), so that
the percentiles rest on a thousand answers or more.  Reported per
binary: the UDP latency (p50, p99, max) while the transfers run, and for
reference while nothing else does; the server's peak RSS while the
transfers run (VmHWM, reset just before they start) and its growth over the
RSS before; the transfers' wall time and how many got every record.

Two binaries side by side (--before, --after), alternating which goes first
in each of ROUNDS rounds; the summary gives the median and the range over
the rounds.  The server runs pinned to CPU 1, dig and the UDP client to
CPU 0 (BENCH_SERVER_CPU, BENCH_LOAD_CPU).  On a shared machine the absolute
figures move from run to run: compare within a round.

    tests/bench/xfr_latency.py --before /tmp/build-before/pldns \\
        --after ./pldns [--records 100000] [--clients 10] [--waves 5] [--rounds 5]

Traffic to 127.0.0.1 only; every wait is
bounded; every process started here is stopped by its own pid.
"""

import argparse
import os
import select
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B    # noqa: E402

ZONE = "xfr.example"
NAME = "host-000001." + ZONE
PROBE_EVERY = 0.001


def write_data(d, n, port):
    with open(os.path.join(d, "h.hosts"), "w") as f:
        for i in range(n - 2):
            f.write("10.%d.%d.%d host-%06d.%s\n" % (1 + i // 62500, (i // 250) % 250,
                                                   i % 250, i, ZONE))
    path = os.path.join(d, "pldns-%d.ini" % port)
    with open(path, "w") as f:
        f.write("[server]\nlisten = %s:%d\nworkers = 1\n"
                "[upstream]\nservers = 127.0.0.1:9\n"
                "[records]\nsources = hosts:h.hosts\n"
                "[zone \"%s\"]\nallow_transfer = 127.0.0.0/8\n"
                "[control]\nlisten = none\n" % (B.HOST, port, ZONE))
    return path


def wire_query(qid):
    q = bytearray(struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0))
    for label in NAME.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", 1, 1)
    return bytes(q)


class Prober:
    """One UDP query in flight, one every PROBE_EVERY seconds."""

    def __init__(self, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.connect((B.HOST, port))
        self.qid = 0
        self.lat, self.lost = [], 0

    def one(self):
        self.qid = (self.qid + 1) & 0xFFFF
        t0 = time.perf_counter()
        self.s.send(wire_query(self.qid))
        self.s.settimeout(2.0)
        try:
            while True:
                r = self.s.recv(4096)
                if struct.unpack("!H", r[:2])[0] == self.qid:
                    break
            self.lat.append(time.perf_counter() - t0)
        except socket.timeout:
            self.lost += 1
        left = PROBE_EVERY - (time.perf_counter() - t0)
        if left > 0:
            time.sleep(left)

    def stats(self):
        v = sorted(self.lat)
        return {"n": len(v), "lost": self.lost, "p50": B.pct(v, 50) * 1e3,
                "p99": B.pct(v, 99) * 1e3, "max": (v[-1] if v else float("nan")) * 1e3}


def axfr_query(qid):
    q = bytearray(struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0))
    for label in ZONE.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", 252, 1)
    return struct.pack("!H", len(q)) + bytes(q)


def last_type(m):
    """The type of the last answer RR of message M."""
    def skip(p):
        while m[p] and m[p] & 0xC0 != 0xC0:
            p += 1 + m[p]
        return p + (2 if m[p] else 1)
    qd, an = struct.unpack("!HH", m[4:8])
    p, t = 12, None
    for _ in range(qd):
        p = skip(p) + 4
    for _ in range(an):
        p = skip(p)
        t, rdlen = struct.unpack("!H", m[p:p + 2])[0], struct.unpack("!H", m[p + 8:p + 10])[0]
        p += 10 + rdlen
    return t


def sink_wave(port, n, clients):
    """CLIENTS AXFRs at once, each read as fast as it comes: how many ended
    with N + 1 answer records, the last of them an SOA."""
    conns = []
    for i in range(clients):
        s = socket.create_connection((B.HOST, port), timeout=10)
        s.sendall(axfr_query(i + 1))
        s.setblocking(False)
        conns.append([s, bytearray(), 0, False])
    open_ = {c[0].fileno(): c for c in conns}
    end = time.monotonic() + 300
    while open_ and time.monotonic() < end:
        ready, _, _ = select.select(list(open_), [], [], 1.0)
        for fd in ready:
            c = open_[fd]
            data = c[0].recv(1 << 20)
            if not data:
                del open_[fd]
                continue
            c[1] += data
            while len(c[1]) >= 2 and len(c[1]) >= 2 + struct.unpack("!H", c[1][:2])[0]:
                ln = struct.unpack("!H", c[1][:2])[0]
                m = bytes(c[1][2:2 + ln])
                del c[1][:2 + ln]
                c[2] += struct.unpack("!H", m[6:8])[0]
                if c[2] >= n + 1:
                    c[3] = c[2] == n + 1 and last_type(m) == 6     # SOA
                    del open_[fd]
                    break
    for c in conns:
        c[0].close()
    return sum(1 for c in conns if c[3])


def sink(port, n, clients, waves):
    """WAVES rounds of sink_wave() one after the other; prints the number
    of complete transfers."""
    print(sum(sink_wave(port, n, clients) for _ in range(waves)))


def run_one(binary, d, n, clients, waves):
    port = B.free_port()
    ini = write_data(d, n, port)
    p = B.spawn([binary, "serve", "-f", "-c", ini], os.path.join(d, "pldns-%d.log" % port),
                cpu=B.SERVER_CPU)
    try:
        end = time.monotonic() + 120
        while B.query(port, NAME, timeout=0.5) is None:
            if time.monotonic() > end or p.poll() is not None:
                raise RuntimeError("%s did not start (see %s)" % (binary, d))
            time.sleep(0.1)
        idle = Prober(port)
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            idle.one()
        rss0 = B.status_kb(p.pid, "VmRSS")
        B.reset_hwm(p.pid)
        busy = Prober(port)
        t0 = time.monotonic()
        g = B.spawn([B.PYTHON, os.path.abspath(__file__), "--sink", str(port), str(n),
                     str(clients), str(waves)], cpu=B.LOAD_CPU, stdout=subprocess.PIPE)
        hwm = 0
        while g.poll() is None and time.monotonic() - t0 < 300:
            busy.one()
            hwm = max(hwm, B.status_kb(p.pid, "VmHWM"))
        wall = time.monotonic() - t0
        out = g.stdout.read().decode(errors="replace").strip() if g.stdout else ""
        B.stop(g)
        complete = int(out) if out.isdigit() else 0
        hwm = max(hwm, B.status_kb(p.pid, "VmHWM"))
    finally:
        B.stop(p)
    return {"idle": idle.stats(), "busy": busy.stats(), "rss0": rss0 / 1024.0,
            "peak": hwm / 1024.0, "wall": wall, "complete": complete}


def spread(xs, fmt):
    return ("%s [%s..%s]" % (fmt, fmt, fmt)) % (B.median(xs), min(xs), max(xs))


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "--sink":
        sink(*(int(v) for v in sys.argv[2:]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--waves", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    d = B.workdir("pldns-xfr-latency.")
    bins = [("before", a.before), ("after", a.after)]
    res = {k: [] for k, _ in bins}
    print("%d records, %d waves of %d concurrent AXFRs, UDP probe every %.0f ms, "
          "workers = 1" % (a.records, a.waves, a.clients, PROBE_EVERY * 1e3))
    print("%-6s %-6s %9s %9s %9s %9s %6s %8s %8s %7s %5s" % (
        "round", "binary", "idle p99", "p50 ms", "p99 ms", "max ms", "lost",
        "RSS MB", "peak MB", "wall s", "ok"))
    for r in range(a.rounds):
        for name, b in (bins if r % 2 == 0 else bins[::-1]):
            x = run_one(b, d, a.records, a.clients, a.waves)
            res[name].append(x)
            print("%-6d %-6s %9.2f %9.2f %9.2f %9.1f %6d %8.1f %8.1f %7.2f %3d/%d" % (
                r + 1, name, x["idle"]["p99"], x["busy"]["p50"], x["busy"]["p99"],
                x["busy"]["max"], x["busy"]["lost"], x["rss0"], x["peak"], x["wall"],
                x["complete"], a.clients * a.waves), flush=True)
    print("\nmedian [min..max] over %d rounds" % a.rounds)
    print("%-28s %-26s %-26s" % ("", "before", "after"))
    rows = (("UDP p50 during AXFRs, ms", lambda x: x["busy"]["p50"], "%.2f"),
            ("UDP p99 during AXFRs, ms", lambda x: x["busy"]["p99"], "%.2f"),
            ("UDP max during AXFRs, ms", lambda x: x["busy"]["max"], "%.1f"),
            ("UDP p99 idle, ms", lambda x: x["idle"]["p99"], "%.2f"),
            ("peak RSS during AXFRs, MB", lambda x: x["peak"], "%.1f"),
            ("peak RSS - RSS before, MB", lambda x: x["peak"] - x["rss0"], "%.1f"),
            ("AXFRs wall time, s", lambda x: x["wall"], "%.2f"))
    for label, f, fmt in rows:
        print("%-28s %-26s %-26s" % (label, spread([f(x) for x in res["before"]], fmt),
                                     spread([f(x) for x in res["after"]], fmt)))
    bad = sum(x["complete"] != a.clients * a.waves for v in res.values() for x in v)
    if bad:
        print("FAIL: %d runs where not every AXFR got every record" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
