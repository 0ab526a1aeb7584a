"""benchlib: what the benchmark (run.sh), the reload benchmark (reload.sh)
and contrib/sidebyside.sh share.

  - free loopback ports, a work directory, every child process stopped at
    exit (by its own pid, never by name)
  - the record data (N privatelink A records in two zones with public twins)
    and the same data written for pldns (CSV), Unbound (local-zone /
    local-data), BIND (zone files) and dnsmasq (host-record)
  - the fake upstream (tests/system/fakeup.py) with tests/system/data/
    azure_public.py plus the benchmark's own public chains
  - starting each server pinned to a CPU (taskset), ready when it answers
  - dnsperf runs (QPS, lost, latency percentiles from -v), server CPU time
    from /proc/PID/task/*/schedstat (nanoseconds; utime+stime where the
    kernel keeps no schedstat), VmRSS / VmHWM from /proc/PID/status

Traffic goes to 127.0.0.1 only.  Every wait is bounded.
"""

import atexit
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.dirname(os.path.dirname(HERE))
SYSTEST = os.path.join(SRCDIR, "tests", "system")
PYTHON = "/usr/bin/python3"
CLK = os.sysconf("SC_CLK_TCK")
SERVER_CPU = os.environ.get("BENCH_SERVER_CPU", "1")
LOAD_CPU = os.environ.get("BENCH_LOAD_CPU", "0")
HOST = "127.0.0.1"

import dns.flags          # noqa: E402
import dns.message        # noqa: E402
import dns.query          # noqa: E402
import dns.rcode          # noqa: E402
import dns.rdatatype      # noqa: E402
import dns.exception      # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes

_procs = []


def _stop_proc(p, grace=3.0):
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


def cleanup():
    for p in list(_procs):
        _stop_proc(p, 2.0)
    _procs.clear()


atexit.register(cleanup)


def _on_signal(sig, frame):
    cleanup()
    log("bench: stopped by signal %d" % sig)
    os._exit(1)


for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_s, _on_signal)


def spawn(argv, logpath=None, cpu=None, cwd=None, stdout=None):
    """Starts ARGV (pinned to CPU with taskset when given); tracked for
    cleanup.  taskset execs the program, so the pid is the server's.
    Output goes to LOGPATH; with STDOUT (e.g. a pipe) only stderr does."""
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu)] + list(argv)
    log = open(logpath, "w") if logpath else subprocess.DEVNULL
    if stdout is None:
        out, err = log, subprocess.STDOUT
    else:
        out, err = stdout, log
    p = subprocess.Popen(argv, stdout=out, stderr=err,
                         stdin=subprocess.DEVNULL, cwd=cwd)
    _procs.append(p)
    return p


def stop(p, grace=5.0):
    _stop_proc(p, grace)
    if p in _procs:
        _procs.remove(p)


_given = set()


def free_port():
    """A port on 127.0.0.1 free for both UDP and TCP (the kernel picks it,
    so it does not collide with other programs' fixed ports)."""
    for _ in range(200):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind((HOST, 0))
            port = u.getsockname()[1]
            if port in _given:
                continue
            t.bind((HOST, port))
            _given.add(port)
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free loopback port")


def workdir(prefix):
    d = os.environ.get("BENCH_WORKDIR")
    if d:
        os.makedirs(d, exist_ok=True)
        return d
    return tempfile.mkdtemp(prefix=prefix)


# ---------------------------------------------------------------- /proc

def cpu_seconds(pid):
    """CPU time of process PID (all its threads), in seconds: the
    scheduler's run time of each thread (/proc/PID/task/*/schedstat, in
    nanoseconds), or where the kernel keeps no schedstat, utime+stime (in
    clock ticks: 10 ms, coarse for a 2 s run at 10,000 queries/s)."""
    total, seen = 0, False
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        tasks = []
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
                seen = True
        except (OSError, ValueError, IndexError):
            pass        # a thread that just ended
    if seen:
        return total / 1e9
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def status_kb(pid, key):
    """VmRSS / VmHWM of PID in kB (0 when gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_hwm(pid):
    """Resets VmHWM to the current RSS (Linux >= 4.0); False when refused."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- queries

def query(port, qname, rdtype="A", timeout=1.0):
    """One UDP query to 127.0.0.1:PORT; the response or None."""
    q = dns.message.make_query(qname, rdtype, use_edns=False)
    try:
        return dns.query.udp(q, HOST, port=port, timeout=timeout,
                             ignore_unexpected=True)
    except (dns.exception.Timeout, OSError, dns.exception.DNSException):
        return None


def addresses(r):
    """Every A/AAAA address in the answer section of R."""
    if r is None:
        return []
    return [rd.address for rrs in r.answer
            if rrs.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
            for rd in rrs]


def is_private(a):
    import ipaddress
    ip = ipaddress.ip_address(a)
    return ip.is_private and not ip.is_loopback


def classify(r):
    """'private 10.x', 'public 20.x', 'NXDOMAIN', 'no answer', ..."""
    if r is None:
        return "no answer"
    rc = dns.rcode.to_text(r.rcode())
    a = addresses(r)
    if rc != "NOERROR":
        return rc
    if not a:
        return "NODATA"
    if all(is_private(x) for x in a):
        return "private " + ",".join(a)
    if any(is_private(x) for x in a):
        return "mixed " + ",".join(a)
    return "public " + ",".join(a)


def wait_answer(port, qname, deadline, proc=None, want=None, every=0.02):
    """Polls until QNAME is answered (with an address in WANT when given);
    returns the elapsed time from now, or None on timeout / exit."""
    t0 = time.monotonic()
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return None
        r = query(port, qname, timeout=0.25)
        if r is not None and r.rcode() == dns.rcode.NOERROR and \
                (want is None or want in addresses(r)):
            return time.monotonic() - t0
        time.sleep(every)
    return None


# ---------------------------------------------------------------- data

# (privatelink zone, public twin, label form)
ZONES = (
    ("privatelink.blob.core.windows.net", "blob.core.windows.net", "st%d"),
    ("privatelink.vaultcore.azure.net", "vault.azure.net", "kv%d"),
)
SPLICE_DOMAIN = "bench.example.com"
HIT_DOMAIN = "hit.example.net"
MISS_DOMAIN = "miss.example.net"
BENCH_TTL = 3600     # longer than any run: no expiry in the middle


def ip_of(i, second=0, half=0):
    return "10.%d.%d.%d" % (second, ((i >> 8) & 127) + 128 * half, i & 255)


def records(n, second=0, multi=False):
    """[(privatelink name, public name, [addresses])], N <= 32768."""
    assert n <= 32768
    out = []
    for i in range(n):
        zone, twin, form = ZONES[i % len(ZONES)]
        label = form % i
        ips = [ip_of(i, second)]
        if multi:
            ips.append(ip_of(i, second, 1))
        out.append(("%s.%s" % (label, zone), "%s.%s" % (label, twin), ips))
    return out


def write_csv(path, recs):
    """The portal's "Download DNS settings" shape; several addresses in one
    cell separated by ';'."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("FQDN,IP Address\r\n")
        for priv, _pub, ips in recs:
            f.write("%s,%s\r\n" % (priv, ";".join(ips)))
    os.rename(tmp, path)


def zone_of(name, zones):
    for z in zones:
        if name.endswith("." + z):
            return z
    return None


def by_zone(pairs, zones):
    """[(name, ip)] -> {zone: [(name, ip)]}"""
    out = {z: [] for z in zones}
    for name, ip in pairs:
        out[zone_of(name, zones)].append((name, ip))
    return out


def to_private(name):
    """A public twin name (gen_csv.py writes some) -> its privatelink name,
    which is how pldns stores it; other names unchanged."""
    for zone, twin, _f in ZONES:
        if name.endswith("." + twin) and not name.endswith("." + zone):
            return name[:-len(twin)] + zone
    return name


def pairs_of(recs):
    return [(priv, ip) for priv, _pub, ips in recs for ip in ips]


def fakeup_data(nsynth, nsplice):
    """Public Azure (azure_public.py) plus, for the benchmark names: the
    public CNAME chain of every twin name (public name -> privatelink name ->
    public front end), NSPLICE custom names whose chain runs into them, and
    wildcards for forwarded names."""
    sys.path.insert(0, os.path.join(SYSTEST, "data"))
    import azure_public
    d = json.loads(json.dumps(azure_public.DATA))
    recs = d["records"]
    t = BENCH_TTL
    recs += [
        "blob.bench.store.core.windows.net. %d A 20.60.9.9" % t,
        "azkms-bench.eastus.cloudapp.azure.com. %d A 52.168.109.200" % t,
        "*.%s. %d A 93.184.216.34" % (HIT_DOMAIN, t),
        "*.%s. %d A 93.184.216.35" % (MISS_DOMAIN, t),
    ]
    front = {ZONES[0][0]: "blob.bench.store.core.windows.net.",
             ZONES[1][0]: "azkms-bench.eastus.cloudapp.azure.com."}
    for priv, pub, _ips in records(nsynth):
        z = zone_of(priv, [x[0] for x in ZONES])
        recs.append("%s. %d CNAME %s." % (pub, t, priv))
        recs.append("%s. %d CNAME %s" % (priv, t, front[z]))
    for i, (priv, pub, _ips) in enumerate(records(nsplice)):
        recs.append("app%d.%s. %d CNAME %s." % (i, SPLICE_DOMAIN, t, pub))
    return d


class Fakeup:
    """tests/system/fakeup.py in a child process on 127.0.0.1."""

    def __init__(self, d, data, name="fakeup", behaviours=(), cpu=LOAD_CPU,
                 lifetime=3600):
        path = data if isinstance(data, str) else os.path.join(d, name + ".json")
        if not isinstance(data, str):
            with open(path, "w") as f:
                json.dump(data, f)
        args = [PYTHON, os.path.join(SYSTEST, "fakeup.py"), "--addr", HOST,
                "--port", "0", "--data", path, "--lifetime", str(lifetime),
                "--quiet"]
        for b in behaviours:
            args += ["--behaviour", b]
        self.errpath = os.path.join(d, name + ".stderr")
        self.proc = spawn(args, self.errpath, cpu=cpu, stdout=subprocess.PIPE)
        line = _readline(self.proc.stdout, 120.0)
        if not line.startswith("fakeup ready port="):
            stop(self.proc)
            try:
                err = open(self.errpath, errors="replace").read()[-2000:]
            except OSError:
                err = ""
            raise RuntimeError("fakeup did not start: %r\n%s" % (line, err))
        self.port = int(line.split("=", 1)[1])
        self.addr = "%s:%d" % (HOST, self.port)

    def count(self):
        r = query(self.port, "count.fakeup.", "TXT", timeout=3)
        if r is None:
            return -1
        return int(r.answer[0][0].strings[0])

    def stop(self):
        stop(self.proc)


def _readline(f, timeout):
    import select
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


# ---------------------------------------------------------------- servers

class Server:
    """One server under test: NAME, its argv, its port; started pinned to
    SERVER_CPU, ready when PROBE (a name it answers with an address)
    resolves."""

    def __init__(self, name, kind, d, port, argv, probe, want=None,
                 cpu=SERVER_CPU):
        self.name, self.kind, self.dir, self.port = name, kind, d, port
        self.argv, self.probe, self.want, self.cpu = argv, probe, want, cpu
        self.logpath = os.path.join(d, "server.log")
        self.proc = None
        self.load_time = None

    def start(self, timeout=60.0):
        t0 = time.monotonic()
        self.proc = spawn(self.argv, self.logpath, cpu=self.cpu, cwd=self.dir)
        el = wait_answer(self.port, self.probe, t0 + timeout, self.proc,
                         self.want)
        if el is None:
            tail = self.log_tail()
            self.stop()
            raise RuntimeError("%s did not answer %s within %.0f s:\n%s" %
                               (self.name, self.probe, timeout, tail))
        self.load_time = time.monotonic() - t0
        return self

    @property
    def pid(self):
        return self.proc.pid

    def cpu_s(self):
        return cpu_seconds(self.pid)

    def rss_kb(self):
        return status_kb(self.pid, "VmRSS")

    def hwm_kb(self):
        return status_kb(self.pid, "VmHWM")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=20):
        try:
            with open(self.logpath, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            stop(self.proc)


def _mkdir(base, name):
    d = os.path.join(base, name)
    os.makedirs(d, exist_ok=True)
    return d


def floor_server(base, floor_bin, name="floor", cpu=SERVER_CPU, mode=None):
    """MODE: None, "epoll" or "spin=NS" (see floor.c)."""
    d = _mkdir(base, name)
    port = free_port()
    return Server(name, "floor", d, port,
                  [floor_bin, str(port), "7200"] + ([mode] if mode else []),
                  "probe.floor.", "10.0.0.1", cpu=cpu)


def pldns_server(base, pldns_bin, upstream, recs_csv, probe, want=None,
                 workers=1, name=None, extra="", deadline_ms=None,
                 level="info", miss_up=None, also_listen=()):
    """pldns with records from the CSV file RECS_CSV (a path); MISS_UP:
    the server MISS_DOMAIN is forwarded to; ALSO_LISTEN: more IPv4
    addresses to listen on, with the same port, besides the one the
    benchmark asks."""
    name = name or "pldns-w%d" % workers
    d = _mkdir(base, name)
    port = free_port()
    up = "servers = %s\n" % upstream if upstream else ""
    if deadline_ms:
        up += "deadline_ms = %d\n" % deadline_ms
    conf = ("[server]\nlisten = %s\nworkers = %d\n\n"
            "[upstream]\n%s\n"
            "[records]\nsources = %s\nttl = 10\n\n"
            "[control]\nlisten = none\n\n"
            "[log]\nlevel = %s\nquery_log = no\n%s"
            % (", ".join("%s:%d" % (a, port) for a in (HOST,) + tuple(also_listen)),
               workers, up, os.path.abspath(recs_csv), level,
               extra))
    if miss_up:
        conf += '\n[forward "%s"]\nservers = %s\n' % (MISS_DOMAIN, miss_up)
    with open(os.path.join(d, "pldns.ini"), "w") as f:
        f.write(conf)
    return Server(name, "pldns", d, port,
                  [pldns_bin, "serve", "-f", "-c", os.path.join(d, "pldns.ini")],
                  probe, want)


def unbound_server(base, upstream, pairs, zones, probe, want=None,
                   name="unbound", miss_up=None):
    """Unbound 1.17: local-zone static + local-data, forward-zone "." to
    UPSTREAM, no validator, one thread."""
    d = _mkdir(base, name)
    port = free_port()
    uh, up = upstream.rsplit(":", 1)
    lines = [
        "server:",
        "  interface: %s@%d" % (HOST, port),
        "  port: %d" % port,
        "  do-ip6: no",
        "  num-threads: 1",
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
        "  msg-cache-size: 64m",
        "  rrset-cache-size: 128m",
        "  num-queries-per-thread: 4096",
        "  outgoing-range: 8192",
        "  so-reuseport: no",
        "  qname-minimisation: no",
    ]
    for z in zones:
        lines.append("  local-zone: \"%s.\" static" % z)
    for n, ip in pairs:
        lines.append("  local-data: \"%s. 10 IN A %s\"" % (n, ip))
    if miss_up:
        mh, mp = miss_up.rsplit(":", 1)
        lines += ["forward-zone:", "  name: \"%s.\"" % MISS_DOMAIN,
                  "  forward-addr: %s@%s" % (mh, mp)]
    if upstream:
        lines += ["forward-zone:", "  name: \".\"",
                  "  forward-addr: %s@%s" % (uh, up)]
    lines += ["remote-control:", "  control-enable: no", ""]
    conf = os.path.join(d, "unbound.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines))
    return Server(name, "unbound", d, port,
                  ["/usr/sbin/unbound", "-d", "-c", conf], probe, want)


def bind_server(base, upstream, pairs, zones, probe, want=None, name="bind",
                options="", miss_up=None):
    """BIND 9.18: one primary zone per privatelink zone, forwarders to
    UPSTREAM (forward only), no DNSSEC validation, one worker (-n 1);
    OPTIONS: more statements for the options block."""
    d = _mkdir(base, name)
    port = free_port()
    uh, up = upstream.rsplit(":", 1)
    zl = []
    for z, recs in by_zone(pairs, zones).items():
        zf = os.path.join(d, z + ".zone")
        with open(zf, "w") as f:
            f.write("$TTL 10\n@ 3600 IN SOA azureprivatedns.net. "
                    "azureprivatedns-host.microsoft.com. 1 3600 300 "
                    "2419200 10\n@ 3600 IN NS localhost.\n")
            for n, ip in recs:
                f.write("%s. A %s\n" % (n, ip))
        zl.append('zone "%s" { type primary; file "%s"; notify no; };' % (z, zf))
    if miss_up:
        mh, mp = miss_up.rsplit(":", 1)
        zl.append('zone "%s" { type forward; forward only; forwarders '
                  '{ %s port %s; }; };' % (MISS_DOMAIN, mh, mp))
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
	forwarders { %(uh)s port %(up)s; };
	forward only;
	dnssec-validation no;
	qname-minimization off;
	minimal-responses yes;
	empty-zones-enable no;
	max-cache-size 256m;
	querylog no;
	notify no;
	%(options)s
};
controls { };
%(zones)s
""" % {"d": d, "port": port, "uh": uh, "up": up, "zones": "\n".join(zl),
       "options": options})
    return Server(name, "bind", d, port,
                  ["/usr/sbin/named", "-g", "-n", "1", "-c", conf], probe, want)


def dnsmasq_server(base, upstream, pairs, probe, want=None, name="dnsmasq",
                   miss_up=None):
    """dnsmasq 2.90: host-record lines, server= UPSTREAM, a large cache."""
    d = _mkdir(base, name)
    port = free_port()
    uh, up = upstream.rsplit(":", 1)
    conf = os.path.join(d, "dnsmasq.conf")
    with open(conf, "w") as f:
        f.write("port=%d\nlisten-address=%s\nbind-interfaces\nno-resolv\n"
                "no-hosts\nno-poll\nno-negcache\nserver=%s#%s\n"
                "cache-size=150000\ndns-forward-max=5000\nlocal-ttl=10\n"
                "pid-file=\nuser=root\n" % (port, HOST, uh, up))
        if miss_up:
            mh, mp = miss_up.rsplit(":", 1)
            f.write("server=/%s/%s#%s\n" % (MISS_DOMAIN, mh, mp))
        for n, ip in pairs:
            f.write("host-record=%s,%s\n" % (n, ip))
    return Server(name, "dnsmasq", d, port,
                  ["/usr/sbin/dnsmasq", "-k", "--conf-file=" + conf,
                   "--log-facility=-"], probe, want)


def dnsdist_server(base, upstream, probe, want=None, name="dnsdist",
                   miss_up=None):
    """dnsdist 1.7: a proxy, no local data; forwards to UPSTREAM through a
    packet cache, and MISS_DOMAIN to MISS_UP without one (the stateless
    proxy the issue measures).  Runs only the forwarded scenarios."""
    d = _mkdir(base, name)
    port = free_port()
    lines = [
        'setLocal("%s:%d")' % (HOST, port),
        'setACL({"127.0.0.0/8"})',
        'setSecurityPollSuffix("")',
        'newServer({address="%s", pool="", checkInterval=3600})' % upstream,
        'pc = newPacketCache(200000, {maxTTL=86400, minTTL=0})',
        'getPool(""):setCache(pc)',
    ]
    if miss_up:
        lines += ['newServer({address="%s", pool="miss", checkInterval=3600})'
                  % miss_up,
                  'addAction({"%s."}, PoolAction("miss"))' % MISS_DOMAIN]
    conf = os.path.join(d, "dnsdist.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return Server(name, "dnsdist", d, port,
                  ["/usr/bin/dnsdist", "--supervised", "--disable-syslog",
                   "-C", conf], probe, want)


# ---------------------------------------------------------------- dnsperf

def write_queries(path, names, rdtype="A", shuffle=True, seed=1):
    names = list(names)
    if shuffle:
        random.Random(seed).shuffle(names)
    with open(path, "w") as f:
        for n in names:
            f.write("%s %s\n" % (n, rdtype))
    return path


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, int(p / 100.0 * len(sorted_vals)))
    return sorted_vals[k]


def dnsperf(port, qfile, dur, rate=None, clients=None, outstanding=None,
            verbose=False, maxruns=None, timeout_s=None, outpath=None,
            cpu=LOAD_CPU, popen=False):
    """Runs dnsperf (pinned to CPU) against 127.0.0.1:PORT; returns a dict:
    sent, completed, lost, qps, avg_ms, and with VERBOSE the per-query
    latencies (seconds, sorted) in 'lat'.  POPEN: returns (proc, parse)."""
    clients = clients or int(os.environ.get("BENCH_CLIENTS", "4"))
    outstanding = outstanding or int(os.environ.get("BENCH_OUTSTANDING", "200"))
    argv = ["taskset", "-c", str(cpu), "dnsperf", "-s", HOST, "-p", str(port),
            "-d", qfile, "-l", "%g" % dur, "-c", str(clients),
            "-q", str(outstanding)]
    if rate:
        argv += ["-Q", str(int(rate))]
    if maxruns:
        argv += ["-n", str(maxruns)]
    if timeout_s:
        argv += ["-t", str(timeout_s)]
    if verbose:
        argv.append("-v")
    outpath = outpath or (qfile + ".dnsperf.out")
    out = open(outpath, "w")
    p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    _procs.append(p)

    def finish(wait=dur + 60):
        try:
            p.wait(wait)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in _procs:
            _procs.remove(p)
        out.close()
        return parse_dnsperf(outpath, verbose)
    if popen:
        return p, finish
    return finish()


def parse_dnsperf(path, verbose):
    res = {"sent": 0, "completed": 0, "lost": 0, "qps": 0.0, "avg_ms": 0.0,
           "interrupted": 0, "lat": [], "rcodes": ""}
    lat = []
    with open(path, errors="replace") as f:
        for line in f:
            if verbose and line.startswith("> "):
                parts = line.split()
                try:
                    lat.append(float(parts[-1]))
                except (ValueError, IndexError):
                    pass
                continue
            s = line.strip()
            try:
                if s.startswith("Queries sent:"):
                    res["sent"] = int(s.split()[2])
                elif s.startswith("Queries completed:"):
                    res["completed"] = int(s.split()[2])
                elif s.startswith("Queries lost:"):
                    res["lost"] = int(s.split()[2])
                elif s.startswith("Queries interrupted:"):
                    res["interrupted"] = int(s.split()[2])
                elif s.startswith("Queries per second:"):
                    res["qps"] = float(s.split()[3])
                elif s.startswith("Average Latency (s):"):
                    res["avg_ms"] = float(s.split()[3]) * 1000
                elif s.startswith("Response codes:"):
                    res["rcodes"] = s.split(":", 1)[1].strip()
            except (ValueError, IndexError):
                pass
    lat.sort()
    res["lat"] = lat
    return res


def measure(server, qfile, dur, rate=None, verbose=False, maxruns=None,
            clients=None, outstanding=None):
    """dnsperf against SERVER, with the server's CPU time around it:
    adds cpu_us (server CPU per completed query) and rss_kb."""
    c0 = server.cpu_s()
    r = dnsperf(server.port, qfile, dur, rate=rate, verbose=verbose,
                maxruns=maxruns, clients=clients, outstanding=outstanding)
    c1 = server.cpu_s()
    r["cpu_s"] = c1 - c0
    r["cpu_us"] = (c1 - c0) * 1e6 / r["completed"] if r["completed"] else float("nan")
    r["rss_kb"] = server.rss_kb()
    if verbose:
        r["p50_ms"] = pct(r["lat"], 50) * 1000
        r["p99_ms"] = pct(r["lat"], 99) * 1000
    r.pop("lat", None)
    return r


def median(xs):
    xs = sorted(x for x in xs if x == x)
    if not xs:
        return float("nan")
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


class Timer(threading.Thread):
    """Calls FN every PERIOD seconds until stopped (for RSS sampling)."""

    def __init__(self, period, fn):
        super().__init__(daemon=True)
        self.period, self.fn, self.ev = period, fn, threading.Event()

    def run(self):
        while not self.ev.wait(self.period):
            self.fn()

    def stop(self):
        self.ev.set()
        self.join(5)
