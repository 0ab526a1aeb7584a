#!/usr/bin/python3
"""faults: pldns, BIND and Unbound side by side over a bad link.

Each resolver forwards to tests/bench/relay.py (loss, delay, jitter in user
space on loopback), which forwards to one fake upstream
(tests/system/fakeup.py, answering *.link.example).  A bounded load client
sends each resolver the same number of queries at the same rate, each for a
name never asked before (so no cache helps), waits up to WAIT seconds for
each answer without asking again (a stub's single try: glibc waits 5 s),
and counts the NOERROR answers.  The resolvers run one after another, each
with a relay of its own, against the same upstream.

Rows (select some by name on the command line; all by default):
  loss30   30 % loss each way, 80 ms round trip
  loss60   60 % loss each way, 80 ms round trip
  slow     round trip 400-800 ms (jittered, reordered), pldns timeout_ms = 400
  tcclose  the upstream answers TC=1 over UDP and closes TCP connections
           without answering: TCP connections the upstream saw for the
           first client question alone, then for the next ones together

Usage: PLDNS_BIN=build/pldns tests/bench/faults.py [ROW...]
  FAULTS_QUERIES  queries per run (default 600; tcclose: a tenth)
  FAULTS_QPS      rate (default 60)
  FAULTS_WAIT     seconds a query waits for its answer (default 5)
  FAULTS_ONLY     comma-separated subset of pldns,bind,unbound
A full run takes about 6 minutes.  Traffic goes to 127.0.0.1 only.
"""

import os
import select
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "system"))

import dns.message   # noqa: E402
import dns.rcode     # noqa: E402

import harness       # noqa: E402
from harness import Dir, Fakeup, Pldns, free_port, make_config, _kill, _readline  # noqa: E402
from named_common import Named  # noqa: E402

PY = "/usr/bin/python3"
RELAY = os.path.join(HERE, "relay.py")
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
UP = {"records": [
    "link.example. 3600 SOA ns.link.example. hostmaster.link.example. 1 3600 300 2419200 300",
    "*.link.example. 300 A 192.0.2.7",
]}

ROWS = {
    "loss30": ("30 % loss each way, 80 ms",
               ["--loss-up", "0.3", "--loss-down", "0.3", "--delay", "40"], {}, None),
    "loss60": ("60 % loss each way, 80 ms",
               ["--loss-up", "0.6", "--loss-down", "0.6", "--delay", "40"], {}, None),
    "slow": ("RTT 400-800 ms, pldns timeout_ms = 400",
             ["--delay", "200", "--jitter", "200"], {"timeout_ms": 400}, None),
    "tcclose": ("upstream answers TC=1, then closes TCP", [], {}, "tc-close"),
}
QUERIES = int(os.environ.get("FAULTS_QUERIES", "600"))
QPS = float(os.environ.get("FAULTS_QPS", "60"))
WAIT = float(os.environ.get("FAULTS_WAIT", "5"))
ONLY = os.environ.get("FAULTS_ONLY", "pldns,bind,unbound").split(",")


class Proc:
    def __init__(self, args, logpath, ready=None):
        self.log = open(logpath, "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE if ready else self.log,
                                     stderr=self.log, stdin=subprocess.DEVNULL)
        harness._procs.append(self.proc)
        self.line = _readline(self.proc.stdout, 15.0) if ready else ""
        if ready and not self.line.startswith(ready):
            self.stop()
            raise RuntimeError("%s did not start: %r" % (args[1], self.line))

    def stop(self):
        _kill(self.proc)
        if self.proc in harness._procs:
            harness._procs.remove(self.proc)
        self.log.close()


def wait_answering(port, what, proc):
    end = time.monotonic() + 20
    # a control name of the fake upstream: answered plainly whatever its
    # behaviour, so that starting a resolver costs no TCP connection
    q = dns.message.make_query("count.fakeup.", "TXT")
    while time.monotonic() < end:
        if proc.poll() is not None:
            break
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.settimeout(0.5)
            s.sendto(q.to_wire(), ("127.0.0.1", port))
            s.recv(4096)
            return
        except OSError:
            time.sleep(0.2)
        finally:
            s.close()
    raise RuntimeError("%s does not answer on port %d" % (what, port))


def start_pldns(d, relay, up_opts):
    port = free_port()
    conf = make_config(port, upstreams=[relay], extra=[("control", {"listen": "none"})],
                       **up_opts)
    p = Pldns(d, conf, port=port)
    return port, p.stop


def start_unbound(d, relay):
    port = free_port()
    host, rport = relay.rsplit(":", 1)
    conf = d.write("unbound.conf", "\n".join([
        "server:", "  interface: 127.0.0.1@%d" % port, "  port: %d" % port,
        "  do-ip6: no", "  num-threads: 1", '  username: ""', '  chroot: ""',
        '  directory: "%s"' % d.path, '  pidfile: "%s"' % d.join("unbound.pid"),
        "  use-syslog: no", '  logfile: ""', "  verbosity: 0",
        '  module-config: "iterator"', "  do-not-query-localhost: no",
        "  access-control: 127.0.0.0/8 allow", "  qname-minimisation: no",
        "forward-zone:", '  name: "."', "  forward-addr: %s@%s" % (host, rport),
        "remote-control:", "  control-enable: no", ""]))
    p = Proc([UNBOUND, "-d", "-c", conf], d.join("unbound.log"))
    wait_answering(port, "unbound", p.proc)
    return port, p.stop


def start_bind(d, relay):
    port = free_port()
    host, rport = relay.rsplit(":", 1)
    n = Named(d, "named", port, "", options="""  recursion yes;
  allow-query { 127.0.0.0/8; };
  allow-recursion { 127.0.0.0/8; };
  forward only;
  forwarders { %s port %s; };
  dnssec-validation no;
""" % (host, rport))
    wait_answering(port, "named", n.proc)
    return port, n.stop


def load(port, tag, n, qps, wait):
    """N queries at QPS, each for a fresh name, waiting up to WAIT s each;
    returns how many got a NOERROR answer in time."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sent = {}
    ok = set()
    t0 = time.monotonic()
    i = 0
    while True:
        now = time.monotonic()
        while i < n and now >= t0 + i / qps:
            qid = (i % 65535) + 1
            q = dns.message.make_query("%s-%d.link.example" % (tag, i), "A")
            q.id = qid
            s.sendto(q.to_wire(), ("127.0.0.1", port))
            sent[qid] = (i, now)
            i += 1
        if i >= n and now >= t0 + (n - 1) / qps + wait:
            break
        r, _, _ = select.select([s], [], [], 0.01)
        if not r:
            continue
        try:
            m = dns.message.from_wire(s.recv(65535))
        except Exception:
            continue
        e = sent.get(m.id)
        if e is None or time.monotonic() - e[1] > wait:
            continue
        if m.rcode() == dns.rcode.NOERROR and m.answer:
            ok.add(e[0])
    s.close()
    return len(ok)


def run_one(d, who, row, up):
    label, relay_args, up_opts, behaviour = ROWS[row]
    rstats = d.join("relay-%s.json" % who)
    relay = Proc([PY, RELAY, "--listen", "127.0.0.1:0", "--upstream", up.addr,
                  "--stats", rstats, "--lifetime", "600", "--seed", "1"] + relay_args,
                 d.join("relay-%s.log" % who), ready="relay ready port=")
    raddr = "127.0.0.1:%s" % relay.line.split("=", 1)[1]
    stop = None
    try:
        if who == "pldns":
            port, stop = start_pldns(d, raddr, up_opts)
        elif who == "bind":
            port, stop = start_bind(d, raddr)
        else:
            port, stop = start_unbound(d, raddr)
        time.sleep(0.5)
        first = None
        if behaviour:
            # one client question alone: what it costs on its own
            up.reset()
            load(port, "%s-%s-first" % (row, who), 1, 1, 3.0)
            time.sleep(1.0)
            first = up.count("conns")
        up.reset()
        n = QUERIES // 10 if behaviour else QUERIES
        ok = load(port, "%s-%s" % (row, who), n, QPS, WAIT)
        time.sleep(1.0)
        conns = up.count("conns")
    finally:
        if stop:
            stop()
        relay.stop()
    if behaviour:
        return "first %d; then %d for %d" % (first, conns, n)
    return "%.1f %%" % (100.0 * ok / n)


def main(argv):
    rows = argv[1:] or list(ROWS)
    for r in rows:
        if r not in ROWS:
            print("unknown row %r; rows: %s" % (r, " ".join(ROWS)), file=sys.stderr)
            return 64
    d = Dir("faults")
    ups = {}
    results = {}
    try:
        for row in rows:
            b = ROWS[row][3]
            if b not in ups:
                ups[b] = Fakeup(UP, d, behaviours=[b] if b else [],
                                name="up-" + (b or "plain"))
            for who in ("pldns", "bind", "unbound"):
                if who not in ONLY:
                    continue
                t0 = time.monotonic()
                results[(row, who)] = run_one(d, who, row, ups[b])
                print("# %s %s: %s (%.0f s)" % (row, who, results[(row, who)],
                                               time.monotonic() - t0), flush=True)
    finally:
        for u in ups.values():
            u.stop()
    w = 42
    print()
    print("| %-*s | %-24s | %-24s | %-24s |" % (w, "fault", "pldns", "BIND", "Unbound"))
    print("|%s|%s|%s|%s|" % ("-" * (w + 2), "-" * 26, "-" * 26, "-" * 26))
    for row in rows:
        print("| %-*s | %-24s | %-24s | %-24s |" % (
            w, ROWS[row][0], results.get((row, "pldns"), "-"),
            results.get((row, "bind"), "-"), results.get((row, "unbound"), "-")))
    print("\n%d queries per run at %g q/s (tcclose: %d), each waiting up to %g s; "
          "files in %s" % (QUERIES, QPS, QUERIES // 10, WAIT, d.path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
