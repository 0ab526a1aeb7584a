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


def unbound_conf(d, port, up_port, client_ms):
    lines = [
        "server:",
        "  interface: %s@%d" % (bl.HOST, port),
        "  port: %d" % port,
        "  do-ip6: no",
        "  num-threads: 2",
        "  username: \"\"",
        "  chroot: \"\"",
        "  directory: \"%s\"" % d,
        "  pidfile: \"%s/unbound.pid\"" % d,
        "  use-syslog: no",
        "  logfile: \"\"",
        "  verbosity: 1",
        "  module-config: \"iterator\"",
        "  do-not-query-localhost: no",
        "  access-control: 127.0.0.0/8 allow",
        "  so-reuseport: yes",
        "  qname-minimisation: no",
        "  serve-expired: yes",
        "  serve-expired-client-timeout: %d" % client_ms,
        "forward-zone:",
        "  name: \".\"",
        "  forward-addr: %s@%d" % (bl.HOST, up_port),
        "remote-control:",
        "  control-enable: no",
        "",
    ]
    conf = os.path.join(d, "unbound.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines))
    return ["/usr/sbin/unbound", "-d", "-c", conf]


def bind_conf(d, port, up_port, client_ms):
    conf = os.path.join(d, "named.conf")
    with open(conf, "w") as f:
        f.write("""options {
	directory "%(d)s";
	pid-file "%(d)s/named.pid";
	session-keyfile "%(d)s/session.key";
	managed-keys-directory "%(d)s";
	listen-on port %(port)d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion yes;
	allow-query { 127.0.0.0/8; };
	allow-recursion { 127.0.0.0/8; };
	forwarders { 127.0.0.1 port %(up)d; };
	forward only;
	dnssec-validation no;
	qname-minimization off;
	empty-zones-enable no;
	querylog no;
	notify no;
	stale-answer-enable yes;
	stale-cache-enable yes;
	stale-answer-client-timeout %(cms)d;
};
controls { };
""" % {"d": d, "port": port, "up": up_port, "cms": client_ms})
    return ["/usr/sbin/named", "-g", "-n", "2", "-c", conf]


def pldns_conf(d, port, up_port, client_ms, pldns):
    conf = os.path.join(d, "pldns.ini")
    with open(conf, "w") as f:
        f.write("[server]\nlisten = %s:%d\nworkers = 2\n\n"
                "[upstream]\nservers = %s:%d\n\n"
                "[cache]\nserve_stale = yes\n"
                "stale_answer_client_timeout_ms = %d\n\n"
                "[control]\nlisten = none\n\n[log]\nquery_log = no\n"
                % (bl.HOST, port, bl.HOST, up_port, client_ms))
    return [pldns, "serve", "-f", "-c", conf]


def one(kind, base, a, pldns=None):
    d = os.path.join(base, kind)
    os.makedirs(d, exist_ok=True)
    port, up_port = bl.free_port(), bl.free_port()
    data = fakeup_data(a.names, a.ttl)
    dur = a.queries / a.rate
    flap = Flapper(d, up_port, data, a.up, a.down, time.monotonic() + dur + 60)
    if kind == "pldns":
        argv = pldns_conf(d, port, up_port, a.client_ms, pldns)
        if a.old_pldns:
            # a pldns from before the key: the same without it
            with open(argv[-1]) as f:
                text = f.read()
            with open(argv[-1], "w") as f:
                f.write(text.replace("stale_answer_client_timeout_ms = %d\n"
                                     % a.client_ms, ""))
    elif kind == "unbound":
        argv = unbound_conf(d, port, up_port, a.client_ms)
    else:
        argv = bind_conf(d, port, up_port, a.client_ms)
    srv = bl.Server(kind, kind, d, port, argv, name_of(0), addr_of(0))
    try:
        srv.start()
        warmed = warm(port, a.names, 3.0)
        flap.start()
        c = run_load(port, a)
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
        rows.append((kind, one(kind, base, a, a.pldns)))
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
