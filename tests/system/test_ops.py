#!/usr/bin/python3
"""System tests for running pldns like a site DNS server (issue 6):
sd_notify datagrams, privilege drop, signals (SIGUSR1 statistics, SIGTERM
graceful stop with queries in flight), the query log, and the control
endpoint driven by "pldns ctl".
"""

import os
import pwd
import re
import signal
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import http.client

import dns.message
import dns.rcode

import harness

from harness import (ask_every_worker, daemon_extra, eq, expect, expect_rcode, free_port, main,
                     make_config, make_query, pldns_bin, query, test, Skip)

BLOB = "privatelink.blob.core.windows.net"
ZONE = "$ORIGIN %s.\n$TTL 10\nacct A 10.1.0.5\n" % BLOB
SLOW = {"records": ["slow.example.net. 300 A 192.0.2.81"],
        "behaviours": {"slow.example.net.": "delay 800"}}


def conf_for(port, up=None, extra=()):
    return make_config(port, upstreams=[up.addr] if up else ["127.0.0.1:%d" % free_port()],
                       timeout_ms=1500, deadline_ms=2000,
                       zones=[(BLOB, {"file": "blob.zone"})],
                       extra=list(extra) + daemon_extra())


@test("sd_notify: READY=1 once serving, RELOADING=1 and READY=1 around a reload, STOPPING=1")
def t_sdnotify(t):
    path = t.dir.join("notify.sock")
    short = None
    if len(path.encode()) >= 100:
        # sun_path holds 108 octets: a deep TMPDIR (mutate.py's) gets a
        # directory of its own right under /tmp.
        short = tempfile.mkdtemp(prefix="pldns-notify-", dir="/tmp")
        path = os.path.join(short, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    port = free_port()
    d = t.dir
    d.write("blob.zone", ZONE)
    conf = d.write("pldns.ini", conf_for(port))
    env = dict(os.environ, NOTIFY_SOCKET=path)
    log = open(d.join("pldns.log"), "w")
    p = subprocess.Popen([pldns_bin(), "serve", "-f", "-c", conf], stdout=log,
                         stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL)
    got = []
    try:
        def recv_until(word):
            end = time.monotonic() + 10
            while time.monotonic() < end:
                msg = sock.recv(4096).decode()
                got.append(msg)
                if word in msg.split("\n"):
                    return
            raise AssertionError("no %s in %r" % (word, got))
        recv_until("READY=1")
        expect_rcode(query(port, "acct.%s." % BLOB), "NOERROR", "serving after READY=1")
        p.send_signal(signal.SIGHUP)
        recv_until("RELOADING=1")
        recv_until("READY=1")
        p.send_signal(signal.SIGTERM)
        recv_until("STOPPING=1")
        p.wait(10)
        eq(p.returncode, 0, "exit status after SIGTERM")
    finally:
        if p.poll() is None:
            p.kill()
        log.close()
        sock.close()
        if short is not None:
            shutil.rmtree(short, ignore_errors=True)


@test("privileges: started as root, pldns drops to [server] user and keeps serving")
def t_privdrop(t):
    if os.geteuid() != 0:
        raise Skip("needs root")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("no user nobody")
    port = free_port()
    conf = conf_for(port).replace("[server]\n", "[server]\nuser = nobody\n", 1)
    d = t.pldns(conf, {"blob.zone": ZONE}, port=port)
    os.chmod(d.dir.path, 0o755)
    with open("/proc/%d/status" % d.proc.pid) as f:
        status = f.read()
    uids = [l for l in status.splitlines() if l.startswith("Uid:")][0].split()[1:]
    gids = [l for l in status.splitlines() if l.startswith("Gid:")][0].split()[1:]
    eq(set(uids), {str(nobody.pw_uid)}, "real, effective, saved and fs uid")
    eq(set(gids), {str(nobody.pw_gid)}, "real, effective, saved and fs gid")
    caps = [l for l in status.splitlines() if l.startswith("CapEff:")][0].split()[1]
    eq(caps, "0000000000000000", "effective capabilities after the drop")
    expect_rcode(query(port, "acct.%s." % BLOB), "NOERROR", "still answering")


@test("SIGTERM: queries in flight are answered before pldns exits")
def t_graceful(t):
    up = t.fakeup(SLOW)
    port = free_port()
    d = t.pldns(conf_for(port, up), {"blob.zone": ZONE}, port=port)
    result = {}

    def ask():
        try:
            result["r"] = query(port, "slow.example.net.", timeout=4)
        except Exception as e:  # noqa: BLE001
            result["e"] = repr(e)
    th = threading.Thread(target=ask)
    th.start()
    time.sleep(0.2)            # the query is waiting for the slow upstream
    d.proc.send_signal(signal.SIGTERM)
    th.join(6)
    expect("r" in result, "the in-flight query was answered", result)
    expect_rcode(result["r"], "NOERROR", "in-flight answer")
    d.proc.wait(5)
    eq(d.proc.returncode, 0, "exit status")
    t0 = time.monotonic()
    expect(time.monotonic() - t0 < 3, "stopped within 2 s of the last answer")


@test("SIGUSR1 writes statistics to the log; query_log writes one line per query")
def t_usr1_querylog(t):
    port = free_port()
    conf = conf_for(port).replace("[log]", "[logx]") + "\n[log]\nquery_log = yes\n"
    d = t.pldns(conf, {"blob.zone": ZONE}, port=port)
    expect_rcode(query(port, "acct.%s." % BLOB), "NOERROR", "a query")
    d.proc.send_signal(signal.SIGUSR1)
    end = time.monotonic() + 5
    while "stats:" not in d.log_text() and time.monotonic() < end:
        time.sleep(0.05)
    log = d.log_text()
    expect("stats: queries udp 1" in log, "statistics line with the query count", log[-600:])
    line = [l for l in log.splitlines() if "pldns: client " in l]
    expect(len(line) == 1, "one query-log line", log[-600:])
    want = r"pldns: client 127\.0\.0\.1#\d+ udp: acct\.%s IN A NOERROR local " \
        r"\d+\.\d{3}ms 10\.1\.0\.5$" % re.escape(BLOB)
    expect(re.match(want, line[0]), "query log line (doc: src/runtime/querylog.h)",
           got=line[0], expected=want)


@test("pldns ctl: status, stats, reload (good and rejected) and flush against the daemon")
def t_ctl(t):
    port, cport = free_port(), free_port()
    conf = conf_for(port).replace("[control]\nlisten = none", "[control]\nlisten = 127.0.0.1:%d" % cport)
    d = t.pldns(conf, {"blob.zone": ZONE}, port=port)

    def ctl(*args):
        return subprocess.run([pldns_bin(), "ctl", "-c", d.conf] + list(args),
                              capture_output=True, text=True, timeout=20)
    r = ctl("status")
    eq(r.returncode, 0, "ctl status exit")
    expect(BLOB in r.stdout, "status names the zone", r.stdout)
    r = ctl("stats")
    eq(r.returncode, 0, "ctl stats exit")
    r = ctl("flush")
    eq(r.returncode, 0, "ctl flush exit")
    r = ctl("reload")
    eq(r.returncode, 0, "ctl reload exit (good data)")
    with open(d.dir.join("blob.zone"), "a") as f:
        f.write("bad A 10.1.0.300\n")
    r = ctl("reload")
    eq(r.returncode, 1, "ctl reload exit (bad data rejected)")
    expect("blob.zone:4" in (r.stdout + r.stderr), "the rejection names file:line",
           r.stdout + r.stderr)
    expect_rcode(query(port, "acct.%s." % BLOB), "NOERROR", "old data still served")



@test("control: reload and flush return once every worker sees the change")
def t_ctl_sync(t):
    # A script that reloads (or flushes) and then queries must see the new
    # data, whichever worker its query reaches.  Each request follows a
    # burst of queries, which leaves every worker reading its socket (a
    # turn), the moment its mail is slowest to be read.
    up = t.fakeup({"records": ["x.example.net. 300 A 192.0.2.7"]})
    port, cport = free_port(), free_port()
    conf = make_config(port, upstreams=[up.addr], zones=[(BLOB, {"file": "blob.zone"})],
                       server={"workers": "4"}, extra=daemon_extra())
    conf = conf.replace("[control]\nlisten = none",
                        "[control]\nlisten = 127.0.0.1:%d" % cport)
    d = t.pldns(conf, {"blob.zone": ZONE}, port=port)
    hc = http.client.HTTPConnection("127.0.0.1", cport, timeout=10 * harness.SLOW)

    def post(path):
        hc.request("POST", path)
        r = hc.getresponse()
        body = r.read().decode(errors="replace")
        eq(r.status, 200, "POST %s" % path)
        return body

    try:
        for n in range(5):
            with open(d.dir.join("blob.zone"), "a") as f:
                f.write("new%d A 10.1.0.%d\n" % (n, 10 + n))
            ask_every_worker(port, "acct.%s." % BLOB)
            post("/reload")
            rcodes = [dns.rcode.to_text(r.rcode()) for r in
                      ask_every_worker(port, "new%d.%s." % (n, BLOB))]
            eq(rcodes, ["NOERROR"] * 16, "reload %d: the new name from every worker" % n)

        # Cached answers count their TTL down; one fetched after the flush
        # has all of it.
        ask_every_worker(port, "x.example.net.")
        for n in range(5):
            time.sleep(1.1)
            ask_every_worker(port, "x.example.net.")
            post("/cache/flush?name=x.example.net")
            ttls = sorted(r.answer[0].ttl for r in ask_every_worker(port, "x.example.net."))
            eq(ttls, [300] * 16, "flush %d: no answer from before it" % n)
    finally:
        hc.close()


if __name__ == "__main__":
    main()
