#!/usr/bin/python3
"""flap: answers lost while the upstream is killed and restarted every few
seconds (tests/bench/flap.sh runs it; not part of make check).

For each server (pldns with two workers, Unbound with two threads, BIND
with two) in the same run: a fake upstream (tests/system/fakeup.py) holding
NAMES names with a short TTL, every name asked once through one socket (so
one pldns worker caches them all), then QUERIES queries spread over the
names and over SOCKETS source ports (so over every worker) at RATE per
second, while the upstream is up for UP seconds, killed for DOWN seconds,
restarted on the same port, and so on.  Every server serves stale answers
with a client response timer of CLIENT_MS.

A query is lost when its answer is not NOERROR with the name's address, or
does not come within TIMEOUT seconds.  Printed per server: answers, lost
(SERVFAIL, other, none), and how many came stale (EDE 3 or TTL 30).

Every loop is bounded by time; traffic goes to 127.0.0.1 only.
"""

import argparse
import os
import random
import selectors
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl          # noqa: E402

import dns.edns                # noqa: E402
import dns.exception           # noqa: E402
import dns.message             # noqa: E402

DOMAIN = "flap.example.net"


def name_of(i):
    return "n%d.%s." % (i, DOMAIN)


def addr_of(i):
    return "10.77.%d.%d" % (i // 250, 1 + i % 250)


def fakeup_data(n, ttl):
    return {"records": ["%s %d A %s" % (name_of(i), ttl, addr_of(i))
                        for i in range(n)]}


class Flapper(threading.Thread):
    """The fake upstream on PORT: up UP seconds, down DOWN seconds, again,
    until stopped (bounded by the run's end anyway)."""

    def __init__(self, d, port, data, up, down, until):
        super().__init__(daemon=True)
        self.d, self.port, self.data = d, port, data
        self.up, self.down, self.until = up, down, until
        self.proc = None
        self.kills = 0
        self.halt = threading.Event()
        self.start_up()

    def start_up(self):
        import json
        path = os.path.join(self.d, "fakeup.json")
        with open(path, "w") as f:
            json.dump(self.data, f)
        args = [bl.PYTHON, os.path.join(bl.SYSTEST, "fakeup.py"), "--addr",
                bl.HOST, "--port", str(self.port), "--data", path,
                "--lifetime", "600", "--quiet"]
        for _ in range(50):
            p = bl.spawn(args, os.path.join(self.d, "fakeup.stderr"),
                         cpu=bl.LOAD_CPU, stdout=bl.subprocess.PIPE)
            line = bl._readline(p.stdout, 30.0)
            if line.startswith("fakeup ready port="):
                self.proc = p
                return
            # the port may linger a moment after the kill
            bl.stop(p)
            time.sleep(0.1)
        raise RuntimeError("fakeup did not restart on port %d" % self.port)

    def run(self):
        while not self.halt.is_set() and time.monotonic() < self.until:
            if self.halt.wait(self.up):
                break
            bl.stop(self.proc, grace=0.5)
            self.proc = None
            self.kills += 1
            if self.halt.wait(self.down):
                break
            self.start_up()

    def stop(self):
        self.halt.set()
        self.join(30)
        if self.proc is not None:
            bl.stop(self.proc)


def warm(port, n, timeout):
    """Every name once, through one socket (one source port)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((bl.HOST, 0))
    s.settimeout(timeout)
    ok = 0
    try:
        for i in range(n):
            q = dns.message.make_query(name_of(i), "A")
            s.sendto(q.to_wire(), (bl.HOST, port))
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                try:
                    r = dns.message.from_wire(s.recv(65535))
                except (socket.timeout, dns.exception.DNSException):
                    break
                if r.id == q.id:
                    ok += r.rcode() == 0
                    break
    finally:
        s.close()
    return ok


def run_load(port, a):
    """QUERIES queries at RATE over SOCKETS sockets; the counts."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(a.sockets):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((bl.HOST, 0))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    rnd = random.Random(1)
    pending = {}            # (socket index, id) -> (name index, deadline)
    c = {"ok": 0, "stale": 0, "servfail": 0, "other": 0, "none": 0}
    t0 = time.monotonic()
    sent = 0
    end = t0 + a.queries / a.rate + a.timeout + 5
    try:
        while (sent < a.queries or pending) and time.monotonic() < end:
            now = time.monotonic()
            while sent < a.queries and t0 + sent / a.rate <= now:
                k = sent % a.sockets
                i = rnd.randrange(a.names)
                q = dns.message.make_query(name_of(i), "A")
                q.id = (sent // a.sockets) & 0xffff
                try:
                    socks[k].sendto(q.to_wire(), (bl.HOST, port))
                except OSError:
                    pass
                pending[(k, q.id)] = (i, now + a.timeout)
                sent += 1
            for key, _ in sel.select(0.002):
                s = key.fileobj
                k = socks.index(s)
                while True:
                    try:
                        wire = s.recv(65535)
                    except (BlockingIOError, OSError):
                        break
                    try:
                        r = dns.message.from_wire(wire)
                    except dns.exception.DNSException:
                        continue
                    got = pending.pop((k, r.id), None)
                    if got is None:
                        continue
                    addrs = [rd.address for rr in r.answer for rd in rr
                             if rr.rdtype == 1]
                    if r.rcode() == 0 and addrs == [addr_of(got[0])]:
                        c["ok"] += 1
                        if any(o.otype == dns.edns.EDE and o.code == 3
                               for o in r.options) or r.answer[0].ttl == 30:
                            c["stale"] += 1
                    elif r.rcode() == 2:
                        c["servfail"] += 1
                    else:
                        c["other"] += 1
            now = time.monotonic()
            for key in [k for k, v in pending.items() if v[1] <= now]:
                del pending[key]
                c["none"] += 1
        c["none"] += len(pending)
    finally:
        for s in socks:
            sel.unregister(s)
            s.close()
    c["sent"] = sent
    c["lost"] = c["servfail"] + c["other"] + c["none"]
    return c


def unbound(base, up, a):
    """benchlib's Unbound, with two threads and serve-expired."""
    srv = bl.unbound_server(base, up, [], [], name_of(0), addr_of(0))
    conf = srv.argv[-1]
    with open(conf) as f:
        text = f.read()
    text = text.replace("  num-threads: 1\n", "  num-threads: 2\n"
                        "  serve-expired: yes\n"
                        "  serve-expired-client-timeout: %d\n" % a.client_ms)
    with open(conf, "w") as f:
        f.write(text.replace("so-reuseport: no", "so-reuseport: yes"))
    return srv


def bind(base, up, a):
    """benchlib's BIND, with two threads and stale answers."""
    srv = bl.bind_server(base, up, [], [], name_of(0), addr_of(0), options=(
        "stale-answer-enable yes; stale-cache-enable yes; "
        "stale-answer-client-timeout %d;" % a.client_ms))
    srv.argv[srv.argv.index("-n") + 1] = "2"
    return srv


def pldns(base, up, a, binary):
    d = os.path.join(base, "pldns")
    os.makedirs(d, exist_ok=True)
    port = bl.free_port()
    conf = os.path.join(d, "pldns.ini")
    timer = "" if a.old_pldns else \
        "stale_answer_client_timeout_ms = %d\n" % a.client_ms
    with open(conf, "w") as f:
        f.write("[server]\nlisten = %s:%d\nworkers = 2\n\n"
                "[upstream]\nservers = %s\n\n"
                "[cache]\nserve_stale = yes\n%s\n"
                "[control]\nlisten = none\n\n[log]\nquery_log = no\n"
                % (bl.HOST, port, up, timer))
    return bl.Server("pldns", "pldns", d, port,
                     [binary, "serve", "-f", "-c", conf], name_of(0), addr_of(0))


def one(kind, base, a):
    up_port = bl.free_port()
    up = "%s:%d" % (bl.HOST, up_port)
    if kind == "pldns":
        srv = pldns(base, up, a, a.pldns)
    elif kind == "unbound":
        srv = unbound(base, up, a)
    else:
        srv = bind(base, up, a)
    flap = Flapper(srv.dir, up_port, fakeup_data(a.names, a.ttl), a.up, a.down,
                   time.monotonic() + a.queries / a.rate + 60)
    try:
        srv.start()
        warmed = warm(srv.port, a.names, 3.0)
        flap.start()
        c = run_load(srv.port, a)
        c["warmed"] = warmed
        c["kills"] = flap.kills
        c["alive"] = srv.alive()
        return c
    finally:
        flap.stop()
        srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pldns", required=True)
    ap.add_argument("--servers", default="pldns,unbound,bind")
    ap.add_argument("--names", type=int, default=200)
    ap.add_argument("--queries", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=250.0)
    ap.add_argument("--sockets", type=int, default=64)
    ap.add_argument("--ttl", type=int, default=2)
    ap.add_argument("--up", type=float, default=2.0)
    ap.add_argument("--down", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--client-ms", type=int, default=1000)
    ap.add_argument("--old-pldns", action="store_true",
                    help="a pldns without stale_answer_client_timeout_ms")
    a = ap.parse_args()
    base = bl.workdir("flap")
    rows = []
    for kind in a.servers.split(","):
        if kind != "pldns" and not os.path.exists(
                {"unbound": "/usr/sbin/unbound", "bind": "/usr/sbin/named"}[kind]):
            bl.log("flap: %s not installed, left out" % kind)
            continue
        bl.log("flap: %s ..." % kind)
        rows.append((kind, one(kind, base, a)))
    print("upstream up %.1f s / down %.1f s, %d names (TTL %d s), 2 workers "
          "or threads, %d queries at %.0f/s from %d ports, client timer %d ms"
          % (a.up, a.down, a.names, a.ttl, a.queries, a.rate, a.sockets,
             a.client_ms))
    print("%-8s %6s %6s %6s %6s %6s %6s %6s %6s" % (
        "server", "warmed", "kills", "sent", "ok", "stale", "LOST",
        "srvfl", "none"))
    for kind, c in rows:
        print("%-8s %6d %6d %6d %6d %6d %6d %6d %6d%s" % (
            kind, c["warmed"], c["kills"], c["sent"], c["ok"], c["stale"],
            c["lost"], c["servfail"], c["none"] + c["other"],
            "" if c["alive"] else "  (died)"))


if __name__ == "__main__":
    main()
