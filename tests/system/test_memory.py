#!/usr/bin/python3
"""System tests for running short of memory or disk.

A reload that cannot get memory is rejected like a bad file: the old data
keeps being served over UDP and TCP, one log line says why, /status and the
metrics show it.  A start whose data does not fit exits 71 with a message,
not by a signal.  "pldns import" is all or nothing: a full disk (a file size
limit: EFBIG) or a kill leaves the previous zone files as they were, and the
next run removes what a killed run left behind.  Blank lines cost no memory.

The address-space limit is set on the running daemon (prlimit), after
start-up: a sanitizer build maps terabytes of shadow memory when it starts
and could not start under any limit.  It is told to return NULL from a
failed allocation rather than report it (allocator_may_return_null).
"""

import http.client
import socket
import struct
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time

import dns.message

import harness
from harness import (daemon_extra, eq, expect, expect_rcode, free_port, main,
                     make_config, query, run_pldns, test)

BLOB = "privatelink.blob.core.windows.net"
VAULT = "privatelink.vaultcore.azure.net"

_asan = os.environ.get("ASAN_OPTIONS", "")
os.environ["ASAN_OPTIONS"] = (_asan + ":" if _asan else "") + "allocator_may_return_null=1"


def sanitized():
    with open(harness.pldns_bin(), "rb") as f:
        return b"__asan_init" in f.read()


def csv_rows(n, prefix, net=0):
    """N names PREFIX<i> in 10.(16 NET + i / 65536).x.y."""
    out = ["FQDN,IP Address\n"]
    for i in range(n):
        out.append("%s%d.blob.core.windows.net,10.%d.%d.%d\n" %
                   (prefix, i, net * 16 + ((i >> 16) & 15), (i >> 8) & 255, i & 255))
    return "".join(out)


def vmsize(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize for %d" % pid)


def a_of(port, name, proto):
    r = query(port, name, proto=proto, timeout=3)
    return sorted(rd.to_text() for rr in r.answer for rd in rr if rr.rdtype == 1)


def http_get(cport, path):
    hc = http.client.HTTPConnection("127.0.0.1", cport, timeout=20 * harness.SLOW)
    try:
        hc.request("GET", path)
        r = hc.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        hc.close()


def metric(text, name):
    m = re.search(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


@test("a reload that cannot get memory is rejected; the old data keeps serving", timeout=300)
def t_reload_oom(t):
    port, cport = free_port(), free_port()
    conf = make_config(port, upstreams=["127.0.0.1:%d" % free_port()], timeout_ms=200,
                       deadline_ms=400,
                       # The new data replaces all of the old: max_drop 100
                       # so that the reload guard lets it through once it fits.
                       records={"sources": "dns.csv", "max_drop": "100"},
                       server={"workers": "2"}, extra=daemon_extra())
    conf = conf.replace("[control]\nlisten = none",
                        "[control]\nlisten = 127.0.0.1:%d" % cport)
    d = t.pldns(conf, {"dns.csv": csv_rows(50, "old")}, port=port)
    eq(a_of(port, "old7.%s." % BLOB, "udp"), ["10.0.0.7"], "before, UDP")
    eq(a_of(port, "old7.%s." % BLOB, "tcp"), ["10.0.0.7"], "before, TCP")
    # Half a million records need far more than 24 MB more address space.
    d.dir.write("dns.csv", csv_rows(500000, "new", 1))
    # The soft limit only: it can be raised again.
    lim = vmsize(d.proc.pid) + (24 << 20)
    resource.prlimit(d.proc.pid, resource.RLIMIT_AS, (lim, resource.RLIM_INFINITY))
    size0 = d.log_size()
    d.proc.send_signal(signal.SIGHUP)
    end = time.monotonic() + 120 * harness.SLOW
    while time.monotonic() < end and d.alive() and "reload rejected" not in d.log_text():
        time.sleep(0.1)
    expect(d.alive(), "the daemon is alive after the reload (exit %s)" % d.proc.returncode)
    log = d.log_text()[size0:]
    expect("out of memory" in log, "the log says the reload ran out of memory", log[-2000:])
    expect("reload rejected" in log, "the log says the reload was rejected", log[-2000:])
    for proto in ("udp", "tcp"):
        eq(a_of(port, "old7.%s." % BLOB, proto), ["10.0.0.7"], "old data after, %s" % proto)
        eq(a_of(port, "new7.%s." % BLOB, proto), [], "no new data, %s" % proto)
    # Room again: the control port answers what happened.
    resource.prlimit(d.proc.pid, resource.RLIMIT_AS,
                     (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    st, body = http_get(cport, "/status")
    eq(st, 200, "/status")
    rl = json.loads(body)["reload"]
    eq(rl.get("state"), "failed", "/status reload state")
    expect("out of memory" in (rl.get("last_error") or ""), "/status last_error", rl)
    st, body = http_get(cport, "/metrics")
    eq(metric(body, "pldns_reload_failures_total"), 1.0, "pldns_reload_failures_total")
    eq(metric(body, "pldns_reload_out_of_memory_total"), 1.0,
       "pldns_reload_out_of_memory_total")
    # Once the memory is there, the same data loads.
    d.proc.send_signal(signal.SIGHUP)
    end = time.monotonic() + 240 * harness.SLOW
    while time.monotonic() < end and a_of(port, "new7.%s." % BLOB, "udp") == []:
        time.sleep(0.5)
    eq(a_of(port, "new7.%s." % BLOB, "tcp"), ["10.16.0.7"], "the new data once there is room")


@test("a start whose data does not fit exits 71 with a message, not a signal", timeout=300)
def t_start_oom(t):
    port = free_port()
    conf = make_config(port, upstreams=["127.0.0.1:%d" % free_port()],
                       records={"sources": "dns.csv"}, server={"workers": "1"},
                       extra=daemon_extra())
    # What the daemon maps once serving small data: more than the start
    # needs before it loads (worker threads come after).
    small = t.pldns(conf, {"dns.csv": csv_rows(10, "small")}, port=port)
    base = vmsize(small.proc.pid)
    small.stop()
    t.dir.write("dns.csv", csv_rows(500000, "big"))
    cpath = t.dir.write("pldns.ini", conf)
    errpath = t.dir.join("stderr")
    asan = sanitized()

    def limit():
        lim = base + (24 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))

    with open(errpath, "w") as ef:
        p = subprocess.Popen([harness.pldns_bin(), "serve", "-f", "-c", cpath],
                             stdout=subprocess.DEVNULL, stderr=ef,
                             stdin=subprocess.DEVNULL,
                             preexec_fn=None if asan else limit)
        try:
            if asan:
                # The shadow memory is mapped first thing: then the limit.
                end = time.monotonic() + 10
                while time.monotonic() < end and p.poll() is None and \
                        vmsize(p.pid) < (1 << 40):
                    time.sleep(0.001)
                lim = vmsize(p.pid) + (24 << 20)
                resource.prlimit(p.pid, resource.RLIMIT_AS, (lim, resource.RLIM_INFINITY))
            rc = p.wait(timeout=240 * harness.SLOW)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    with open(errpath, errors="replace") as f:
        err = f.read()
    eq(rc, 71, "exit status (negative: a signal)")
    expect("out of memory" in err, "stderr says why", err[-2000:])
    expect("AddressSanitizer" not in err, "no sanitizer report", err[-2000:])


# ---------------------------------------------------------------- import

def zone_files(d):
    return sorted(f for f in os.listdir(d) if not f.endswith(".csv"))


def read_all(d):
    out = {}
    for f in zone_files(d):
        with open(os.path.join(d, f)) as fp:
            out[f] = fp.read()
    return out


def no_serial(files):
    """The zone files without their SOA records (a serial goes up each time
    a run writes)."""
    return {f: [ln for ln in text.split("\n") if "\tSOA\t" not in ln]
            for f, text in files.items()}


def import_csv(t, n_blob, n_vault, ip_net):
    rows = ["FQDN,IP Address\n"]
    for i in range(n_blob):
        rows.append("b%d.blob.core.windows.net,10.%d.%d.%d\n" % (i, ip_net, (i >> 8) & 255, i & 255))
    for i in range(n_vault):
        rows.append("k%d.vault.azure.net,10.%d.%d.%d\n" % (i, ip_net, (i >> 8) & 255, i & 255))
    return "".join(rows)


def import_run(args, cwd, preexec=None):
    p = subprocess.run([harness.pldns_bin(), "import"] + args, cwd=cwd,
                       capture_output=True, stdin=subprocess.DEVNULL,
                       preexec_fn=preexec, timeout=240)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def first_import(t):
    """The zone directory after importing a.csv: three names in each of
    two zones."""
    zd = t.dir.join("zones")
    t.dir.write("a.csv", import_csv(t, 3, 3, 1))
    rc, out, err = import_run(["--zone-dir", zd, "a.csv"], t.dir.path)
    eq(rc, 0, "first import: %s" % err)
    return zd


@test("import: a full disk (file size limit) leaves every old zone file as it was")
def t_import_enospc(t):
    zd = first_import(t)
    before = read_all(zd)
    eq(sorted(before), ["%s.zone" % BLOB, "%s.zone" % VAULT], "zone files")
    # The blob zone stays small and is written first; the vault zone grows
    # past the limit.
    t.dir.write("b.csv", import_csv(t, 4, 20000, 2))

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))

    rc, out, err = import_run(["--zone-dir", zd, "b.csv"], t.dir.path, small_files)
    eq(rc, 73, "exit status when a file cannot be written")
    expect("cannot write" in err, "stderr says what failed", err)
    eq(read_all(zd), before, "every zone file as it was, nothing left behind")


@test("import: the next run removes what a killed run left; a kill never leaves a partial file",
      timeout=600)
def t_import_kill(t):
    zd = first_import(t)
    old = read_all(zd)
    # What a run killed while writing leaves: a temporary file.
    left = os.path.join(zd, ".%s.zone.Ab12Cd" % BLOB)
    with open(left, "w") as f:
        f.write("; half a zone\n")
    rc, out, err = import_run(["--zone-dir", zd, "a.csv"], t.dir.path)
    eq(rc, 0, "a run after a kill: %s" % err)
    eq(read_all(zd), old, "the leftover temporary file is removed; the zones unchanged")

    # Kills at points spread over a run: every file is whole and is either
    # all old or all new, and the next run finishes the job.
    t.dir.write("b.csv", import_csv(t, 30000, 30000, 2))
    t0 = time.monotonic()
    rc, out, err = import_run(["--zone-dir", t.dir.join("probe"), "b.csv"], t.dir.path)
    eq(rc, 0, "a whole run: %s" % err)
    full = time.monotonic() - t0
    with open(os.path.join(t.dir.join("probe"), "%s.zone" % BLOB)) as f:
        new_blob = f.read()
    for k in range(1, 10):
        p = subprocess.Popen([harness.pldns_bin(), "import", "--zone-dir", zd, "b.csv"],
                             cwd=t.dir.path, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        time.sleep(full * k / 10.0)
        p.kill()
        p.wait()
        for f, text in read_all(zd).items():
            if f.startswith("."):
                continue
            expect(f in old, "killed at %d/10: only zone files, found %s" % (k, f))
            expect(text.endswith("\n") and "; half" not in text,
                   "killed at %d/10: %s is whole" % (k, f))
        rc, out, err = import_run(["--zone-dir", zd, "a.csv"], t.dir.path)
        eq(rc, 0, "the run after kill %d: %s" % (k, err))
        eq(no_serial(read_all(zd)), no_serial(old),
           "after kill %d/10 and a run of the old input" % k)
    rc, out, err = import_run(["--zone-dir", zd, "b.csv"], t.dir.path)
    eq(rc, 0, "the last run: %s" % err)
    eq(no_serial(read_all(zd))["%s.zone" % BLOB],
       no_serial({"b": new_blob})["b"],
       "the new blob zone")


@test("import: a run killed after its commit is finished by the next run")
def t_import_roll_forward(t):
    zd = first_import(t)
    old = read_all(zd)
    # What a run killed between its commit and its renames leaves: the new
    # file under its temporary name, and the journal naming it.
    t.dir.write("b.csv", import_csv(t, 5, 3, 1))
    probe = t.dir.join("probe")
    rc, out, err = import_run(["--zone-dir", probe, "b.csv"], t.dir.path)
    eq(rc, 0, "import into another directory: %s" % err)
    with open(os.path.join(probe, "%s.zone" % BLOB)) as f:
        new_blob = f.read()
    tmp = ".%s.zone.Zx81Qa" % BLOB
    with open(os.path.join(zd, tmp), "w") as f:
        f.write(new_blob)
    with open(os.path.join(zd, ".pldns-import.journal"), "w") as f:
        f.write("%s\t%s.zone\n" % (tmp, BLOB))
    rc, out, err = import_run(["--zone-dir", zd, "b.csv"], t.dir.path)
    eq(rc, 0, "the next run: %s" % err)
    expect("%s: 5 records, unchanged" % BLOB in out,
           "the blob zone was put in place before the run compared", out)
    now = read_all(zd)
    eq(sorted(now), sorted(old), "no journal or temporary file left")
    eq(now["%s.zone" % BLOB], new_blob, "the committed file")


@test("import: ten million blank lines cost no memory")
def t_import_blank_lines(t):
    path = t.dir.join("blank.csv")
    with open(path, "w") as f:
        f.write("FQDN,IP Address\n")
        f.write("\n" * 10000000)
        f.write("acct.blob.core.windows.net,10.9.0.1\n")
    # Measured in a process of its own: ru_maxrss is the largest child's.
    probe = ("import resource, subprocess, sys\n"
             "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
             "sys.stderr.write(p.stderr.decode(errors='replace'))\n"
             "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    p = subprocess.run([sys.executable, "-c", probe, harness.pldns_bin(), "import",
                        "--zone-dir", t.dir.join("zones"), "blank.csv"],
                       cwd=t.dir.path, capture_output=True, timeout=240)
    rc, peak = (int(x) for x in p.stdout.decode().split())
    eq(rc, 0, "import: %s" % p.stderr.decode(errors="replace"))
    # In KB; a sanitizer build starts near 30 MB.
    expect(peak < 120 * 1024, "peak RSS %d KB under 120 MB" % peak)


# ---------------------------------------------------------------- query path

def failalloc_lib():
    """tests/system/failalloc.so of the build tree (make check builds it)."""
    build = os.environ.get("PLDNS_BUILDDIR") or os.path.dirname(harness.pldns_bin())
    lib = os.path.join(build, "tests", "system", "failalloc.so")
    expect(os.path.exists(lib), "%s is built (make check builds it)" % lib)
    return lib


def tcp_open(port):
    return socket.create_connection(("127.0.0.1", port), timeout=3)


def tcp_ask(s, name):
    """Sends a query for NAME on the TCP connection S; the response, or
    None when the connection is closed without one."""
    q = harness.make_query(name).to_wire()
    s.sendall(struct.pack("!H", len(q)) + q)
    buf = b""
    try:
        while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
            more = s.recv(65535)
            if not more:
                return None
            buf += more
    except ConnectionResetError:
        return None
    return dns.message.from_wire(buf[2:])


@test("the query path out of memory: SERVFAIL or a closed connection, counted; "
      "then answers again", timeout=120)
def t_query_oom(t):
    up = t.fakeup({"records": ["fwd%d.example.net. 300 A 192.0.2.%d" % (i, i)
                               for i in range(1, 20)]})
    port, cport = free_port(), free_port()
    conf = make_config(port, upstreams=[up.addr], server={"workers": "1"},
                       records={"sources": "dns.csv"}, extra=daemon_extra())
    conf = conf.replace("[control]\nlisten = none",
                        "[control]\nlisten = 127.0.0.1:%d" % cport)
    flag = t.dir.join("failing")
    env = {"LD_PRELOAD": failalloc_lib(), "PLDNS_FAILALLOC": flag,
           "ASAN_OPTIONS": os.environ["ASAN_OPTIONS"] + ":verify_asan_link_order=0"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        d = t.pldns(conf, {"dns.csv": csv_rows(10, "loc")}, port=port)
    finally:
        for k, v in saved.items():
            if v is None:
                del os.environ[k]
            else:
                os.environ[k] = v
    eq(a_of(port, "fwd1.example.net.", "udp"), ["192.0.2.1"], "forwarded, before")
    conn = tcp_open(port)
    # Accepted (the worker may be waiting in recvmmsg for a clock tick).
    eq(a_of(port, "loc1.%s." % BLOB, "udp"), ["10.0.0.1"], "local data, before")
    time.sleep(0.1)
    with open(flag, "w"):
        pass
    time.sleep(0.1)
    try:
        for i in (2, 3):
            r = query(port, "fwd%d.example.net." % i, timeout=3)
            expect_rcode(r, "SERVFAIL", "fwd%d over UDP while memory fails" % i)
        # A connection made before: SERVFAIL, or closed when even its
        # input cannot be read (libevent's buffers need memory).
        r = tcp_ask(conn, "fwd4.example.net.")
        if r is not None:
            expect_rcode(r, "SERVFAIL", "fwd4 over TCP while memory fails")
        # Local data needs no memory.
        eq(a_of(port, "loc3.%s." % BLOB, "udp"), ["10.0.0.3"], "local data while memory fails")
        s = tcp_open(port)
        try:
            expect(tcp_ask(s, "loc3.%s." % BLOB) is None,
                   "a new TCP connection is closed while memory fails")
        finally:
            s.close()
        expect(d.alive(), "alive while memory fails (exit %s)" % d.proc.returncode,
               d.log_text()[-3000:])
    finally:
        os.unlink(flag)
        conn.close()
    time.sleep(0.1)
    expect(d.alive(), "alive after (exit %s)" % d.proc.returncode, d.log_text()[-3000:])
    for i, proto in ((2, "udp"), (5, "tcp")):
        eq(a_of(port, "fwd%d.example.net." % i, proto), ["192.0.2.%d" % i],
           "fwd%d over %s once memory is back" % (i, proto))
    eq(a_of(port, "loc3.%s." % BLOB, "tcp"), ["10.0.0.3"], "local data over TCP after")
    st, body = http_get(cport, "/metrics")
    oom = metric(body, "pldns_out_of_memory_total")
    # Two over UDP, the connection made before, the new one.
    expect(oom is not None and oom >= 4, "pldns_out_of_memory_total counts them", oom)

if __name__ == "__main__":
    main()
