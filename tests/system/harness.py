"""harness: what every tests/system/test_*.py needs.

  - free loopback ports (UDP and TCP both free), per-test temp dirs
  - Fakeup: a fake upstream (fakeup.py) in a child process, with its control
    queries (count, last query, mode) as methods
  - Pldns: the daemon under test, started with "serve -f -c CONF", ready when
    it logs a line containing "serving"; its stderr is kept in a log file that
    is shown when a test fails
  - query helpers over UDP and TCP, to 127.0.0.1 or ::1 only
  - checks that raise Fail with expected vs got
  - a TAP runner: each test is a function registered with @test

Everything started is stopped at the end of its test (or of the run, for
shared fixtures) and by atexit; every wait is bounded.
"""

import atexit
import ipaddress
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fakeup  # noqa: E402

PYTHON = "/usr/bin/python3"
SRCDIR = os.environ.get("PLDNS_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
LOOPBACK = ("127.0.0.1", "::1")
START_TIMEOUT = float(os.environ.get("PLDNS_START_TIMEOUT", "20"))
TEST_TIMEOUT = int(os.environ.get("PLDNS_TEST_TIMEOUT", "60"))
# Time limits in tests are multiplied by this (e.g. 10 under valgrind).
SLOW = float(os.environ.get("PLDNS_TIME_SCALE", "1"))


def pldns_bin():
    b = os.environ.get("PLDNS_BIN")
    if b:
        return b
    for c in (os.path.join(SRCDIR, "pldns"), "/tmp/build-sys/pldns"):
        if os.access(c, os.X_OK):
            return c
    return os.path.join(SRCDIR, "pldns")


class Fail(Exception):
    """A failed check; the message holds expected vs got."""


class Skip(Exception):
    """The test cannot run here (reason in the message)."""


# ---------------------------------------------------------------- resources

_procs = []          # every child process still possibly running
_given_ports = set()
_tmproot = None
KEEP = os.environ.get("PLDNS_KEEP_TMP") == "1"


def tmproot():
    global _tmproot
    if _tmproot is None:
        _tmproot = tempfile.mkdtemp(prefix="pldns-systest-")
    return _tmproot


def _kill(p, grace=3.0):
    if p.poll() is not None:
        return
    try:
        p.terminate()
        p.wait(grace)
    except subprocess.TimeoutExpired:
        p.kill()
        try:
            p.wait(3)
        except subprocess.TimeoutExpired:
            pass
    except OSError:
        pass


def _cleanup_all():
    for p in list(_procs):
        _kill(p, 1.0)
    _procs.clear()


atexit.register(_cleanup_all)


def _on_signal(sig, frame):
    _cleanup_all()
    print("Bail out! killed by signal %d" % sig, flush=True)
    os._exit(1)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


def free_port(host="127.0.0.1"):
    """A port free for both UDP and TCP on HOST (loopback only)."""
    assert host in LOOPBACK, host
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(100):
        u = socket.socket(fam, socket.SOCK_DGRAM)
        t = socket.socket(fam, socket.SOCK_STREAM)
        try:
            u.bind((host, 0))
            port = u.getsockname()[1]
            if port in _given_ports:
                continue
            t.bind((host, port))
            if fam == socket.AF_INET and ipv6_ok():
                # the daemon may listen on [::1] with the same port later
                for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s6 = socket.socket(socket.AF_INET6, typ)
                    try:
                        s6.bind(("::1", port))
                    finally:
                        s6.close()
            _given_ports.add(port)
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free loopback port")


_ipv6 = None


def ipv6_ok():
    global _ipv6
    if _ipv6 is None:
        try:
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.bind(("::1", 0))
            s.close()
            _ipv6 = True
        except OSError:
            _ipv6 = False
    return _ipv6


class Dir:
    """A temp dir for one test or fixture."""

    def __init__(self, name):
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:40]
        self.path = tempfile.mkdtemp(prefix=safe + "-", dir=tmproot())

    def write(self, name, text):
        p = os.path.join(self.path, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def join(self, name):
        return os.path.join(self.path, name)


# ---------------------------------------------------------------- fakeup

class Fakeup:
    """A fake upstream in a child process.  DATA is a dict (see fakeup.py)
    or a path to a data file."""

    def __init__(self, data, d, behaviours=(), host="127.0.0.1", port=None,
                 tcp=True, name="fakeup"):
        self.host = host
        self.name = name
        if isinstance(data, dict):
            import json
            path = d.write(name + ".json", json.dumps(data, indent=1))
        else:
            path = data
        self.logpath = d.join(name + ".log")
        self.errpath = d.join(name + ".stderr")
        args = [PYTHON, os.path.join(HERE, "fakeup.py"), "--addr", host,
                "--port", str(port or 0), "--data", path,
                "--lifetime", "1800", "--log", self.logpath]
        if not tcp:
            args.append("--no-tcp")
        for b in behaviours:
            args += ["--behaviour", b]
        self.err = open(self.errpath, "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=self.err, stdin=subprocess.DEVNULL)
        _procs.append(self.proc)
        line = _readline(self.proc.stdout, 15.0)
        if not line.startswith("fakeup ready port="):
            self.stop()
            raise RuntimeError("fakeup did not start: %r; stderr: %s" %
                               (line, _tail(self.errpath)))
        self.port = int(line.split("=", 1)[1])

    @property
    def addr(self):
        """host:port as pldns configs write it."""
        if ":" in self.host:
            return "[%s]:%d" % (self.host, self.port)
        return "%s:%d" % (self.host, self.port)

    def control(self, qname):
        if self.proc.poll() is not None:
            raise Fail("fake upstream %s exited (%s):\n%s" % (
                self.name, self.proc.returncode, _tail(self.errpath)))
        q = dns.message.make_query(qname, "TXT")
        try:
            r = dns.query.udp(q, self.host, port=self.port, timeout=3.0)
        except dns.exception.Timeout:
            raise Fail("fake upstream %s does not answer control queries:\n%s"
                       % (self.name, _tail(self.errpath)))
        return [s.decode() for rr in r.answer for rd in rr for s in rd.strings]

    def count(self, transport=None):
        return int(self.control("count.%sfakeup." %
                                (transport + "." if transport else ""))[0])

    def qcount(self, qname):
        qname = qname.rstrip(".") + "."
        return int(self.control("qcount.%sfakeup." % qname)[0])

    def last(self, qname=None):
        """The last query (for QNAME) as a dict of strings, or None."""
        s = self.control("last.fakeup." if qname is None else
                         "lastq.%sfakeup." % (qname.rstrip(".") + "."))
        if s == ["none"]:
            return None
        return dict(x.split("=", 1) for x in s)

    def reset(self):
        self.control("reset.fakeup.")

    def mode(self, b):
        r = self.control("mode.%s.fakeup." % b.replace(" ", "-"))
        if r != ["ok"]:
            raise RuntimeError("fakeup mode %s: %s" % (b, r))

    def stop(self):
        _kill(self.proc)
        if self.proc in _procs:
            _procs.remove(self.proc)
        self.err.close()


def _readline(f, timeout):
    """One line from the pipe F within TIMEOUT seconds ('' otherwise)."""
    end = time.monotonic() + timeout
    buf = b""
    fd = f.fileno()
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], max(0, end - time.monotonic()))
        if not r:
            break
        c = os.read(fd, 1)
        if not c:
            break
        if c == b"\n":
            return buf.decode(errors="replace")
        buf += c
    return buf.decode(errors="replace")


def _tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return "(no %s)" % path
    return "".join(lines[-n:])


# ---------------------------------------------------------------- pldns

def ini(sections):
    """[(section, {key: value})] or a dict -> INI text (values as given)."""
    if isinstance(sections, dict):
        sections = list(sections.items())
    out = []
    for sec, kv in sections:
        out.append("[%s]" % sec)
        for k, v in kv.items():
            if isinstance(v, (list, tuple)):
                v = ", ".join(str(x) for x in v)
            out.append("%s = %s" % (k, v))
        out.append("")
    return "\n".join(out)


def make_config(port, upstreams=(), timeout_ms=None, deadline_ms=None,
                forwards=(), zones=(), records=None, listen=None, extra=(),
                server=None):
    """The INI text of a pldns config.

    upstreams: ["127.0.0.1:P", ...]; forwards: [(name, [servers])];
    zones: [(name, {"file": ..., "missing": ...})]; records: {key: value}
    for [records]; server: more [server] keys; extra: more (section,
    {k: v}) pairs.
    """
    secs = [("server", dict({"listen": listen or "127.0.0.1:%d" % port},
                            **(server or {})))]
    up = {}
    if upstreams:
        up["servers"] = list(upstreams)
    if timeout_ms is not None:
        up["timeout_ms"] = timeout_ms
    if deadline_ms is not None:
        up["deadline_ms"] = deadline_ms
    if up:
        secs.append(("upstream", up))
    for name, servers in forwards:
        secs.append(('forward "%s"' % name, {"servers": list(servers)}))
    for name, kv in zones:
        secs.append(('zone "%s"' % name, dict(kv)))
    if records:
        secs.append(("records", dict(records)))
    secs.extend(extra)
    return ini(secs)


# Extra config every test daemon gets (e.g. a control port that cannot
# collide with another daemon); decided once the daemon's keys are known.
DAEMON_EXTRA = [("control", {"listen": "none"})]


def daemon_extra():
    out = []
    for sec, kv in DAEMON_EXTRA:
        out.append((sec, {k: (v() if callable(v) else v) for k, v in kv.items()}))
    return out


class StartError(Exception):
    pass


class Pldns:
    """The daemon under test.  CONFIG is INI text; FILES {name: text} are
    written next to it (zone files, sources)."""

    def __init__(self, d, config, files=None, port=None, wait=True,
                 name="pldns", args=()):
        self.dir = d
        self.port = port
        for fname, text in (files or {}).items():
            d.write(fname, text)
        self.conf = d.write(name + ".ini", config)
        self.logpath = d.join(name + ".log")
        self.log = open(self.logpath, "w")
        self.bin = pldns_bin()
        if not os.access(self.bin, os.X_OK):
            raise StartError("no pldns binary at %s (set PLDNS_BIN)" % self.bin)
        self.t0 = time.monotonic()
        self.stopped = False
        self.proc = subprocess.Popen([self.bin, "serve", "-f", "-c", self.conf]
                                     + list(args), stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        _procs.append(self.proc)
        if wait:
            self.wait_serving()

    def wait_serving(self, timeout=START_TIMEOUT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if "serving" in self.log_text():
                return
            if self.proc.poll() is not None:
                raise StartError("pldns exited with %s before serving:\n%s" %
                                 (self.proc.returncode, self.log_text()[-3000:]))
            time.sleep(0.02)
        raise StartError("pldns did not log 'serving' within %.0f s:\n%s" %
                         (timeout, self.log_text()[-3000:]))

    def log_text(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.logpath)
        except OSError:
            return 0

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.stopped = True
        _kill(self.proc, 5.0)
        if self.proc in _procs:
            _procs.remove(self.proc)
        self.log.close()
        return self.proc.returncode


def run_pldns(args, timeout=20, cwd=None):
    """Runs the binary with ARGS; returns (exit code, stdout, stderr)."""
    b = pldns_bin()
    if not os.access(b, os.X_OK):
        raise StartError("no pldns binary at %s (set PLDNS_BIN)" % b)
    try:
        p = subprocess.run([b] + list(args), capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise Fail("pldns %s did not exit within %d s" % (" ".join(args), timeout))
    return p.returncode, p.stdout.decode(errors="replace"), \
        p.stderr.decode(errors="replace")


# ---------------------------------------------------------------- queries

def make_query(qname, rdtype="A", edns=0, payload=1232, do=False, rd=True,
               qid=None, cd=False, rdclass="IN"):
    """A query; edns=None for none, else the EDNS version."""
    q = dns.message.make_query(qname, rdtype, rdclass, use_edns=False)
    if edns is not None:
        q.use_edns(edns, dns.flags.DO if do else 0, payload)
    if not rd:
        q.flags &= ~dns.flags.RD
    if cd:
        q.flags |= dns.flags.CD
    if qid is not None:
        q.id = qid
    return q


def _check_dest(host):
    try:
        ok = ipaddress.ip_address(host).is_loopback   # 127.0.0.0/8, ::1
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError("refusing to send to %s: loopback only" % host)


def query(port, qname, rdtype="A", proto="udp", host="127.0.0.1",
          timeout=2.0, **kw):
    """Sends one query, returns the response Message (raises Fail on
    timeout).  kw: edns, payload, do, rd, qid, cd."""
    q = qname if isinstance(qname, dns.message.Message) else \
        make_query(qname, rdtype, **kw)
    return send(port, q, proto, host, timeout)


def send(port, q, proto="udp", host="127.0.0.1", timeout=2.0):
    _check_dest(host)
    try:
        if proto == "udp":
            return dns.query.udp(q, host, port=port, timeout=timeout,
                                 ignore_unexpected=True)
        return dns.query.tcp(q, host, port=port, timeout=timeout)
    except dns.exception.Timeout:
        raise Fail("no answer within %.1f s over %s for %s" %
                   (timeout, proto, q.question[0].to_text()
                    if q.question else "(no question)"))


def ask_every_worker(port, qname, rdtype="A", n=16, timeout=3.0):
    """QNAME/RDTYPE over UDP from N source ports at once (SO_REUSEPORT
    spreads them over the workers); the N responses, in the order sent."""
    socks = []
    try:
        for i in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.settimeout(timeout * SLOW)
            socks.append(s)
            q = make_query(qname, rdtype)
            q.id = i
            s.sendto(q.to_wire(), ("127.0.0.1", port))
        out = []
        for s in socks:
            try:
                out.append(dns.message.from_wire(s.recv(65535)))
            except socket.timeout:
                raise Fail("no answer within %.1f s for %s %s" %
                           (timeout * SLOW, qname, rdtype))
        return out
    finally:
        for s in socks:
            s.close()


def query_wire(port, wire, proto="udp", host="127.0.0.1", timeout=1.0):
    """Sends raw bytes; returns the raw reply or None on timeout."""
    _check_dest(host)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    if proto == "udp":
        s = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            s.settimeout(timeout)
            s.sendto(wire, (host, port))
            try:
                return s.recvfrom(65535)[0]
            except (socket.timeout, ConnectionRefusedError):
                return None
        finally:
            s.close()
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        return tcp_read_msg(s, timeout)
    finally:
        s.close()


def tcp_read_msg(s, timeout):
    """One length-prefixed message from socket S, or None."""
    end = time.monotonic() + timeout

    def need(n):
        buf = b""
        while len(buf) < n:
            left = end - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            try:
                c = s.recv(n - len(buf))
            except (socket.timeout, OSError):
                return None
            if not c:
                return None
            buf += c
        return buf
    h = need(2)
    if h is None:
        return None
    return need(struct.unpack("!H", h)[0])


class Timer:
    def __enter__(self):
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *a):
        self.elapsed = time.monotonic() - self.t0


# ---------------------------------------------------------------- checks

def rcode_text(r):
    return dns.rcode.to_text(r.rcode())


def show(msg):
    """A message as text for diagnostics."""
    if msg is None:
        return "(none)"
    return msg.to_text()


def expect(cond, what, got=None, expected=None):
    if not cond:
        text = what
        if expected is not None or got is not None:
            text += "\n  expected: %s\n  got:      %s" % (expected, got)
        raise Fail(text)


def eq(got, expected, what):
    if got != expected:
        raise Fail("%s\n  expected: %r\n  got:      %r" % (what, expected, got))


def expect_rcode(r, rcode, what=""):
    want = rcode if isinstance(rcode, str) else dns.rcode.to_text(rcode)
    if rcode_text(r) != want:
        raise Fail("rcode %s\n  expected: %s\n  got:      %s\n--- response:\n%s"
                   % (what, want, rcode_text(r), show(r)))


def expect_flag(r, flag, on, what=""):
    have = bool(r.flags & flag)
    if have != on:
        raise Fail("flag %s %s\n  expected: %s\n  got:      %s\n--- response:\n%s"
                   % (dns.flags.to_text(flag), what, "set" if on else "clear",
                      "set" if have else "clear", show(r)))


def rrs_of(lines):
    """Expected records ("name ttl TYPE rdata" lines) -> list of tuples."""
    out = []
    for line in lines:
        owner, ttl, rd = fakeup.parse_rr(line, 300)
        out.append((owner, rd.rdtype, rd, ttl))
    return out


def _flat(section):
    return [(rrs.name, rrs.rdtype, rd, rrs.ttl) for rrs in section for rd in rrs]


def _fmt(recs):
    if not recs:
        return "(empty)"
    return "\n      " + "\n      ".join(
        "%s %d %s %s" % (n, t, dns.rdatatype.to_text(ty), rd.to_text())
        for n, ty, rd, t in recs)


def expect_section(got_section, lines, what, ttl="exact", order=False, slack=30):
    """The section holds exactly the records LINES (names compared
    case-insensitively, RDATA exactly).  ttl: 'exact', 'max' (got <= want
    and > want - SLACK, for data that may come from a cache), or 'any'.  order: the RRsets come in
    the order of LINES (for CNAME chains)."""
    want = rrs_of(lines)
    got = _flat(got_section)
    problems = []
    left = list(got)
    for w in want:
        for g in left:
            if g[0] == w[0] and g[1] == w[1] and g[2] == w[2]:
                left.remove(g)
                if ttl == "exact" and g[3] != w[3]:
                    problems.append("TTL of %s %s: expected %d, got %d" % (
                        w[0], dns.rdatatype.to_text(w[1]), w[3], g[3]))
                elif ttl == "max" and not (w[3] - slack < g[3] <= w[3]):
                    problems.append("TTL of %s %s: expected <= %d (and close), got %d" % (
                        w[0], dns.rdatatype.to_text(w[1]), w[3], g[3]))
                break
        else:
            problems.append("missing: %s %s %s" % (
                w[0], dns.rdatatype.to_text(w[1]), w[2].to_text()))
    for g in left:
        problems.append("unexpected: %s %s %s" % (
            g[0], dns.rdatatype.to_text(g[1]), g[2].to_text()))
    if not problems and order:
        wo = []
        for w in want:
            if not wo or wo[-1] != (w[0], w[1]):
                wo.append((w[0], w[1]))
        go = [(rrs.name, rrs.rdtype) for rrs in got_section]
        if wo != go:
            problems.append("RRset order: expected %s, got %s" % (
                [str(n) + "/" + dns.rdatatype.to_text(t) for n, t in wo],
                [str(n) + "/" + dns.rdatatype.to_text(t) for n, t in go]))
    if problems:
        raise Fail("%s:\n  %s\n  expected:%s\n  got:%s" % (
            what, "\n  ".join(problems), _fmt(want), _fmt(got)))


def expect_empty(section, what):
    if section:
        raise Fail("%s: expected empty, got:%s" % (what, _fmt(_flat(section))))


def question_bytes(wire):
    """The raw question section of a message (first question only)."""
    pos = 12
    while True:
        n = wire[pos]
        if n == 0:
            pos += 1
            break
        if n & 0xC0:
            pos += 2
            return wire[12:pos + 4]
        pos += 1 + n
    return wire[12:pos + 4]


def answer_ttls(wire):
    """The TTL fields of the answer records of WIRE as sent (dnspython reads
    a TTL with the top bit set as 0 itself)."""
    def skip_name(pos):
        while wire[pos] != 0:
            if wire[pos] >= 0xc0:
                return pos + 2
            pos += 1 + wire[pos]
        return pos + 1
    pos = skip_name(12) + 4
    out = []
    for _ in range(struct.unpack("!H", wire[6:8])[0]):
        pos = skip_name(pos) + 4
        ttl, rdlen = struct.unpack("!IH", wire[pos:pos + 6])
        out.append(ttl)
        pos += 6 + rdlen
    return out


def wait_until(pred, what, timeout=10.0):
    """Polls PRED until it returns something true (returned), or fails
    after TIMEOUT seconds (times SLOW) with its last value."""
    end = time.monotonic() + timeout * SLOW
    last = None
    while time.monotonic() < end:
        last = pred()
        if last:
            return last
        time.sleep(0.05)
    raise Fail("timed out after %.0f s waiting for %s (last: %r)" % (timeout * SLOW, what, last))


# ---------------------------------------------------------------- shared fixtures

class Shared:
    """A fixture built once on first use (e.g. one daemon for many tests).
    A failure to build it is remembered and fails every test that uses it."""

    all = []

    def __init__(self, build):
        self.build = build
        self.value = None
        self.error = None
        self.done = False
        Shared.all.append(self)

    def get(self):
        if not self.done:
            self.done = True
            try:
                self.value = self.build()
            except Skip:
                raise
            except Exception as e:
                self.error = "%s: %s" % (type(e).__name__, e)
        if self.error:
            raise Fail("shared fixture failed: " + self.error)
        v = self.value
        daemon = v.get("pldns") if isinstance(v, dict) else None
        if daemon is not None and not daemon.alive() and not daemon.stopped:
            raise Fail("the shared pldns has died (exit %s):\n%s" % (
                daemon.proc.returncode, daemon.log_text()[-3000:]))
        return v


# ---------------------------------------------------------------- TAP runner

_tests = []
_watch = []          # daemons whose new log lines are shown on failure


class Ctx:
    """Per-test context: temp dir, owned processes, diagnostics."""

    def __init__(self, name):
        self.name = name
        self._dir = None
        self.owned = []
        self.notes = []

    @property
    def dir(self):
        if self._dir is None:
            self._dir = Dir(self.name)
        return self._dir

    def note(self, text):
        self.notes.append(str(text))

    def fakeup(self, data, **kw):
        f = Fakeup(data, self.dir, **kw)
        self.owned.append(f)
        return f

    def pldns(self, config, files=None, **kw):
        p = Pldns(self.dir, config, files, **kw)
        self.owned.append(p)
        return p

    def close(self, failed):
        """Stops what the test started; returns problems found only now
        (sanitizer reports in a daemon's log)."""
        problems = []
        for o in reversed(self.owned):
            if isinstance(o, Pldns):
                died = not o.alive()
                rc = o.stop()
                log = o.log_text()
                bad = [m for m in SANITIZER_MARKS if m in log]
                if bad:
                    problems.append("%s report in the pldns log" % bad[0])
                if failed or bad:
                    self.notes.append("pldns log (%s):\n%s" % (o.logpath, log[-4000:]))
                    if died:
                        self.notes.append("pldns had exited with %s" % rc)
            else:
                if failed and isinstance(o, Fakeup):
                    err = _tail(o.errpath)
                    if err.strip():
                        self.notes.append("fake upstream %s stderr:\n%s" % (o.name, err))
                o.stop()
        if not failed and not problems and self._dir is not None and not KEEP:
            shutil.rmtree(self._dir.path, ignore_errors=True)
        return problems


SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "PLDNS-VALGRIND-ERROR",
                   "ThreadSanitizer")


def test(name, timeout=None):
    """Registers a test function f(ctx).  A test that fails is reported as
    "not ok" and counts: there is no way to mark a failure as expected, so
    a file cannot turn its own failures into passes."""
    def deco(fn):
        _tests.append((name, fn, timeout or TEST_TIMEOUT))
        return fn
    return deco


class _Alarm(Exception):
    pass


def _alarm(sig, frame):
    raise _Alarm()


def watch(daemon):
    """Show DAEMON's new log lines in the diagnostics of a failing test."""
    _watch.append(daemon)


def _diag(text):
    for line in str(text).rstrip("\n").split("\n"):
        print("# " + line)


def run(argv=None):
    """Runs the registered tests (or those whose names contain argv[1:])
    and prints TAP.  Returns the number of failures."""
    argv = sys.argv if argv is None else argv
    sel = [t for t in _tests if len(argv) < 2 or any(a in t[0] for a in argv[1:])]
    print("1..%d" % len(sel), flush=True)
    failures = 0
    signal.signal(signal.SIGALRM, _alarm)
    for i, (name, fn, tmo) in enumerate(sel, 1):
        ctx = Ctx(name)
        marks = [(d, d.log_size()) for d in _watch]
        failed = False
        skip = None
        msg = None
        t0 = time.monotonic()
        signal.alarm(tmo)
        try:
            fn(ctx)
        except Skip as e:
            skip = str(e)
        except Fail as e:
            failed, msg = True, str(e)
        except _Alarm:
            failed, msg = True, "test timed out after %d s" % tmo
        except StartError as e:
            failed, msg = True, "could not start: %s" % e
        except Exception:
            failed, msg = True, "test error:\n" + traceback.format_exc()
        finally:
            signal.alarm(0)
        dt = time.monotonic() - t0
        if failed:
            for d, off in marks:
                try:
                    with open(d.logpath, errors="replace") as f:
                        f.seek(off)
                        new = f.read()[-3000:]
                except OSError:
                    new = ""
                if new:
                    ctx.notes.append("shared pldns log during this test:\n" + new)
                if not d.alive():
                    ctx.notes.append("shared pldns is no longer running (exit %s)"
                                     % d.proc.returncode)
        try:
            late = ctx.close(failed)
        except Exception as e:
            late = ["cleanup error: %s" % e]
        if late and not failed and skip is None:
            failed, msg = True, "; ".join(late)
        for d, off in marks:
            try:
                with open(d.logpath, errors="replace") as f:
                    f.seek(off)
                    new = f.read()
            except OSError:
                new = ""
            bad = [m for m in SANITIZER_MARKS if m in new]
            if bad and not failed:
                failed, msg = True, "%s report in the shared pldns log:\n%s" % (
                    bad[0], new[-3000:])
        if skip is not None:
            print("ok %d - %s # SKIP %s" % (i, name, skip))
        elif failed:
            print("not ok %d - %s" % (i, name))
            failures += 1
            _diag(msg)
            for n in ctx.notes:
                _diag(n)
            if ctx._dir is not None:
                _diag("files kept in %s" % ctx._dir.path)
        else:
            print("ok %d - %s" % (i, name))
        if os.environ.get("PLDNS_TEST_TIMES"):
            _diag("%.2f s" % dt)
        sys.stdout.flush()
    _cleanup_all()
    if failures == 0 and not KEEP and _tmproot:
        shutil.rmtree(_tmproot, ignore_errors=True)
    elif _tmproot:
        _diag("temp files kept in %s" % _tmproot)
    return failures


def main():
    """Runs the tests; the exit status is 1 when any failed, 2 when the
    harness itself broke, 0 only when every test passed (or was skipped)."""
    try:
        failures = run()
    except Exception:
        print("Bail out! harness error: %s" %
              traceback.format_exc().strip().replace("\n", " | "), flush=True)
        _cleanup_all()
        sys.exit(2)
    sys.exit(1 if failures else 0)
