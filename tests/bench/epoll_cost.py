#!/usr/bin/python3
"""What a query's CPU time at full load is made of (issue 10).

    epoll_cost.py --floor FLOOR --pldns PLDNS [--rounds N] [--dur S]

Runs side by side, in alternating rounds, dnsperf at full load (the local
scenario: 10,000 privatelink names) against:
  floor         the floor responder (floor.c): waits in recvmmsg;
  floor-epoll   the same, its socket also in an epoll set never waited on;
  floor-spin    the same, each answer first busy-waiting SPIN ns (500);
  pldns         pldns with workers = 1;
  pldns-2addr   the same, listening on 127.0.0.2 too (dnsperf still asks
                127.0.0.1): a worker with two UDP sockets cannot wait in
                recvmmsg, and reads a stream until the socket is empty.
and prints per round the server's CPU per completed query (us), its ratio
to the floor's and dnsperf's rate, then the medians.

Two facts come out of it on a machine where dnsperf sets the pace:
  - work per query shows at half its cost or less: floor-spin adds 0.5 us
    to every answer (a tenth of the floor's CPU per query) and costs 1 to 5%
    more per query, because the server then takes more per recvmmsg and
    makes fewer system calls per query;
  - a socket in an epoll set costs more than that: every datagram that
    reaches it runs epoll's wake-up callback in the sender's context, which
    slows dnsperf by up to a tenth and raises the server's CPU per query by
    7 to 13%.  This is why a pldns worker under a stream of datagrams takes its
    socket out of the epoll set and waits in recvmmsg (worker.c,
    udp_may_wait).
127.0.0.1 only; every run is bounded by --dur.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--floor", required=True)
    ap.add_argument("--pldns", required=True)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--dur", type=float, default=2.0)
    ap.add_argument("--spin", type=int, default=500, help="ns per answer")
    args = ap.parse_args()

    work = B.workdir("epoll-cost")
    recs = B.records(10000)
    csv = os.path.join(work, "recs.csv")
    B.write_csv(csv, recs)
    probe, want = recs[-1][0], recs[-1][2][0]
    qf = B.write_queries(os.path.join(work, "local.q"), [r[0] for r in recs])
    servers = []
    try:
        servers.append(B.floor_server(work, args.floor).start(30))
        servers.append(B.floor_server(work, args.floor, name="floor-epoll",
                                      mode="epoll").start(30))
        servers.append(B.floor_server(work, args.floor, name="floor-spin",
                                      mode="spin=%d" % args.spin).start(30))
        servers.append(B.pldns_server(work, args.pldns, None, csv, probe, want,
                                      workers=1, name="pldns").start(60))
        servers.append(B.pldns_server(work, args.pldns, None, csv, probe, want,
                                      workers=1, name="pldns-2addr",
                                      also_listen=["127.0.0.2"]).start(60))
        res = {s.name: [] for s in servers}
        for r in range(args.rounds):
            order = servers if r % 2 == 0 else servers[::-1]
            for s in order:
                res[s.name].append(B.measure(s, qf, args.dur))
            f = res["floor"][-1]["cpu_us"]
            print("round %d: " % r + "  ".join(
                "%s %.2f us (%.3f) %.0f q/s" % (
                    s.name, res[s.name][-1]["cpu_us"],
                    res[s.name][-1]["cpu_us"] / f, res[s.name][-1]["qps"])
                for s in servers), flush=True)
        print("median CPU per query / floor's: " + "  ".join(
            "%s %.3f" % (s.name, B.median(
                [res[s.name][i]["cpu_us"] / res["floor"][i]["cpu_us"]
                 for i in range(args.rounds)])) for s in servers))
        print("median q/s: " + "  ".join(
            "%s %.0f" % (s.name, B.median([m["qps"] for m in res[s.name]]))
            for s in servers))
    finally:
        for s in servers:
            s.stop()


if __name__ == "__main__":
    main()
