#!/usr/bin/python3
"""System tests for the reload guard: emptied or shrunken data is held
back, not served; every change is visible record by record; status tells
the truth.

An empty source at start is refused with file:line.  A reload (file
change, SIGHUP, pldns ctl reload, POST /reload) that would empty a zone or
remove more than [records] max_drop percent of the records is held: the
old answers stay, /status, the log and a metric say so, and only
"pldns ctl reload --force" or "POST /reload?force=1" applies it.
"""

import http.client
import json
import os
import re
import signal
import subprocess
import time

from harness import (SLOW, eq, expect, free_port, main, make_config, pldns_bin, query,
                     run_pldns, test, StartError)

VAULT = "privatelink.vaultcore.azure.net"
BLOB = "privatelink.blob.core.windows.net"
HEADER = "FQDN,IP Address\r\n"
TOKEN = "guard-T0ken-42"
HELD_METRIC = "pldns_reload_held"


def csv(rows):
    return HEADER + "".join("%s,%s\r\n" % r for r in rows)


def a_of(port, name, proto="udp"):
    r = query(port, name, proto=proto, timeout=3)
    return sorted(rd.to_text() for rr in r.answer for rd in rr if rr.rdtype == 1)


def wait_for(pred, what, timeout=8.0):
    end = time.monotonic() + timeout * SLOW
    last = None
    while time.monotonic() < end:
        last = pred()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


# The public side as Azure's resolvers give it: the public name is a CNAME
# into privatelink, whose public answer is a public address.
PUBLIC = {"records": [
    "vault.azure.net. 300 SOA ns1.example. h.example. 1 3600 300 86400 60",
    "kv.vault.azure.net. 60 CNAME kv.%s." % VAULT,
    "kv.%s. 60 A 52.160.1.2" % VAULT,
    "www.example.net. 300 A 192.0.2.80",
]}


class Daemon:
    """pldns with a control endpoint, an upstream modelling public Azure
    DNS, and its records in dns.csv."""

    def __init__(self, t, rows, records=None, token=False, upstream=True, workers=None):
        self.t = t
        self.port, self.cport = free_port(), free_port()
        self.up = t.fakeup(PUBLIC) if upstream else None
        control = {"listen": "127.0.0.1:%d" % self.cport}
        files = {"dns.csv": csv(rows)}
        if token:
            control["token_file"] = "token"
            files["token"] = TOKEN + "\n"
        recs = {"sources": "dns.csv"}
        recs.update(records or {})
        ups = [self.up.addr] if self.up else ["127.0.0.1:%d" % free_port()]
        conf = make_config(self.port, upstreams=ups, timeout_ms=300, deadline_ms=600,
                           records=recs, extra=[("control", control)],
                           server={"workers": str(workers)} if workers else None)
        self.d = t.pldns(conf, files, port=self.port)
        self.csv = self.d.dir.join("dns.csv")

    def http(self, method, path, token=None):
        hc = http.client.HTTPConnection("127.0.0.1", self.cport, timeout=20 * SLOW)
        try:
            h = {}
            if token is not None:
                h["Authorization"] = "Bearer " + token
            hc.request(method, path, headers=h)
            r = hc.getresponse()
            return r.status, r.read().decode(errors="replace")
        finally:
            hc.close()

    def status(self):
        code, body = self.http("GET", "/status")
        eq(code, 200, "GET /status")
        return json.loads(body)

    def metric(self, name):
        code, body = self.http("GET", "/metrics")
        eq(code, 200, "GET /metrics")
        m = re.search(r"^%s (\d+)$" % re.escape(name), body, re.M)
        return int(m.group(1)) if m else None

    def ctl(self, *args):
        return subprocess.run([pldns_bin(), "ctl", "-c", self.d.conf] + list(args),
                              capture_output=True, text=True, timeout=30 * SLOW)

    def log(self):
        return self.d.log_text()

    def held(self):
        return self.status()["reload"]["state"] == "held"


def kv_private(dm, what):
    for proto in ("udp", "tcp"):
        eq(a_of(dm.port, "kv.vault.azure.net.", proto), ["10.1.2.3"],
           "%s: kv.vault.azure.net over %s" % (what, proto))


@test("a header-only CSV at start is refused with file:line; allow_empty = yes accepts it")
def t_empty_at_start(t):
    port = free_port()
    conf = make_config(port, upstreams=["127.0.0.1:%d" % free_port()],
                       records={"sources": "dns.csv"}, extra=[("control", {"listen": "none"})])
    try:
        d = t.pldns(conf, {"dns.csv": HEADER}, port=port)
        d.stop()
        raise AssertionError("pldns started on an empty source")
    except StartError as e:
        text = str(e)
    expect("exited with 78" in text, "exit status 78 (configuration error)", text[-600:])
    expect("dns.csv:1: no records found (an empty source is an error unless "
           "[records] allow_empty = yes)" in text, "the reason, with file:1", text[-600:])

    # check-config says the same.
    confpath = t.dir.join("pldns.ini")
    rc, out, err = run_pldns(["check-config", "-c", confpath])
    eq(rc, 78, "check-config exit status")
    expect("dns.csv:1: no records found" in out + err, "check-config names file:1", out + err)

    conf2 = conf.replace("sources = dns.csv", "sources = dns.csv\nallow_empty = yes")
    d = t.pldns(conf2, {"dns.csv": HEADER}, port=port, name="allowed")
    expect("dns.csv: warning: no records found" in d.log_text(), "a warning only",
           d.log_text()[-600:])


@test("a header-only CSV on reload is held: old answers, /status, metric, log; --force applies it")
def t_empty_reload_held(t):
    dm = Daemon(t, [("kv.vault.azure.net", "10.1.2.3"), ("acct.blob.core.windows.net", "10.1.2.4")])
    kv_private(dm, "before")
    eq(dm.metric(HELD_METRIC), 0, "held metric before")
    write_atomic(dm.csv, HEADER)
    # The diff follows the "reload held" line, one log line each.
    wait_for(lambda: "- kv.%s A 10.1.2.3" % VAULT in dm.log(), "a held reload in the log")
    kv_private(dm, "held")
    log = dm.log()
    expect("would remove every record of zone %s" % VAULT in log, "the log names the emptied zone",
           log[-1500:])
    expect("- kv.%s A 10.1.2.3" % VAULT in log, "the log shows the diff", log[-1500:])
    st = dm.status()
    eq(st["reload"]["state"], "held", "/status reload state")
    held = st["reload"]["held"]
    eq(held["removed"], 2, "held: records removed")
    eq(held["added"], 0, "held: records added")
    expect("- kv.%s A 10.1.2.3" % VAULT in held["diff"], "held diff lines", held["diff"])
    expect(any("dns.csv:1: no records found" in r for r in held["reasons"]),
           "held reasons name the empty source", held["reasons"])
    eq(st["status"], "degraded", "/status says degraded")
    expect(any("held" in r for r in st["reasons"]), "a degraded reason for the hold",
           st["reasons"])
    eq(dm.metric(HELD_METRIC), 1, "held metric")
    code, _ = dm.http("GET", "/readyz")
    eq(code, 200, "/readyz stays ready")

    r = dm.ctl("status")
    eq(r.returncode, 0, "ctl status exit (still ready)")
    expect("a reload was HELD at" in r.stdout and "- kv.%s A 10.1.2.3" % VAULT in r.stdout,
           "ctl status shows the held reload and its changes", r.stdout)
    expect("\nDEGRADED:\n" in r.stdout, "ctl status says degraded", r.stdout)

    # A plain reload holds again; the data stays.
    r = dm.ctl("reload")
    eq(r.returncode, 1, "ctl reload exit while the data would empty a zone")
    expect("held" in r.stderr, "ctl says held", r.stderr)
    kv_private(dm, "after a plain reload")

    r = dm.ctl("reload", "--force")
    eq(r.returncode, 0, "ctl reload --force exit: %s" % r.stderr)
    eq(a_of(dm.port, "kv.vault.azure.net."), ["52.160.1.2"], "forced: the public answer")
    eq(dm.metric(HELD_METRIC), 0, "held metric after --force")
    st = dm.status()
    eq(st["reload"]["state"], "ok", "/status after --force")
    eq(st["reload"]["held"], None, "no held reload after --force")
    eq(st["reload"]["last_change"]["removed"], 2, "the last change removed 2 records")
    eq(st["status"], "ok", "no longer degraded")


@test("SIGHUP on a header-only CSV is held too")
def t_empty_sighup(t):
    dm = Daemon(t, [("kv.vault.azure.net", "10.1.2.3")])
    with open(dm.csv, "w") as f:
        f.write(HEADER)
    dm.d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload held" in dm.log(), "a held reload in the log")
    kv_private(dm, "held after SIGHUP")
    expect(dm.held(), "/status held")


@test("a held configuration's new source is watched: fixing it reloads by itself")
def t_held_watch(t):
    dm = Daemon(t, [("kv.vault.azure.net", "10.1.2.3")])
    b = dm.d.dir.write("b.csv", HEADER)
    conf = open(dm.d.conf).read().replace("sources = dns.csv", "sources = dns.csv, b.csv")
    write_atomic(dm.d.conf, conf)
    wait_for(lambda: "b.csv:1: no records found" in dm.log(), "the held reload")
    expect(dm.held(), "/status held")
    write_atomic(b, csv([("acct.blob.core.windows.net", "10.1.2.9")]))
    wait_for(lambda: a_of(dm.port, "acct.%s." % BLOB) == ["10.1.2.9"],
             "the fixed source loaded without a signal")
    expect(not dm.held(), "no longer held")


@test("POST /reload?force=1 needs the same authorization as POST /reload")
def t_force_post_token(t):
    dm = Daemon(t, [("kv.vault.azure.net", "10.1.2.3")], token=True)
    write_atomic(dm.csv, HEADER)
    wait_for(lambda: "reload held" in dm.log(), "a held reload in the log")
    code, body = dm.http("POST", "/reload?force=1")
    eq(code, 401, "force without the token: %s" % body)
    code, body = dm.http("POST", "/reload?force=1", token="wrong")
    eq(code, 401, "force with a wrong token: %s" % body)
    kv_private(dm, "after unauthorized forces")
    code, body = dm.http("POST", "/reload", token=TOKEN)
    eq(code, 409, "a plain reload is held again: %s" % body)
    expect("held" in body and "--force" in body, "the body says held and how to apply", body)
    kv_private(dm, "after a held POST /reload")
    code, body = dm.http("POST", "/reload?force=1", token=TOKEN)
    eq(code, 200, "force with the token: %s" % body)
    eq(a_of(dm.port, "kv.vault.azure.net.", "tcp"), ["52.160.1.2"], "forced over TCP")
    expect(not dm.held(), "no longer held")


def many(n, net=2, skip=()):
    return [("h%02d.blob.core.windows.net" % i, "10.%d.0.%d" % (net, i + 1))
            for i in range(n) if i not in skip]


@test("a reload removing more than max_drop of the records is held; a small change applies with its diff")
def t_shrink(t):
    dm = Daemon(t, many(100))
    # 80 of 100: 20 removed, 20% > 10%.
    write_atomic(dm.csv, csv(many(80)))
    # The diff follows the "reload held" line, one log line each.
    wait_for(lambda: "and 10 more" in dm.log(), "a held reload in the log, its diff last")
    eq(a_of(dm.port, "h95.%s." % BLOB), ["10.2.0.96"], "a removed name still answers")
    eq(a_of(dm.port, "h95.%s." % BLOB, "tcp"), ["10.2.0.96"], "... over TCP")
    log = dm.log()
    expect("would remove 20 of 100 records (more than max_drop = 10%)" in log,
           "the log gives the numbers", log[-3000:])
    expect("- h80.%s A 10.2.0.81" % BLOB in log, "the log shows the diff", log[-3000:])
    expect("and 10 more" in log, "the logged diff is capped", log[-3000:])
    held = dm.status()["reload"]["held"]
    eq(held["removed"], 20, "held removed")
    eq(len(held["diff"]), 20, "held diff lines in /status")
    eq(dm.metric(HELD_METRIC), 1, "held metric")
    eq(dm.metric("pldns_reloads_held_total"), 1, "held reloads counted")

    # A small change to the 100: one removed, one changed, one added.
    rows = many(100, skip=(5,))
    rows[0] = ("h00.blob.core.windows.net", "10.2.1.1")
    rows.append(("new.blob.core.windows.net", "10.2.9.9"))
    write_atomic(dm.csv, csv(rows))
    wait_for(lambda: a_of(dm.port, "new.%s." % BLOB) == ["10.2.9.9"], "the small change applied")
    want = ["~ h00.%s A 10.2.0.1 -> 10.2.1.1" % BLOB,
            "- h05.%s A 10.2.0.6" % BLOB,
            "+ new.%s A 10.2.9.9 (%s:101)" % (BLOB, dm.csv)]
    wait_for(lambda: want[2] in dm.log(), "the added record in the log, with file:line")
    log = dm.log()
    for w in want:
        expect(w in log, "the change in the log: %s" % w, log[-2000:])
    st = dm.status()
    eq(st["reload"]["state"], "ok", "state after the small change")
    lc = st["reload"]["last_change"]
    eq((lc["added"], lc["removed"], lc["changed"]), (1, 1, 1), "last change counts")
    eq(lc["diff"], want, "last change diff in /status")
    eq(st["reload"]["held"], None, "no held reload any more")
    eq(dm.metric(HELD_METRIC), 0, "not held")

    # max_drop = 50 in the config lets the same shrink through.
    conf = open(dm.d.conf).read().replace("sources = dns.csv", "sources = dns.csv\nmax_drop = 50")
    write_atomic(dm.d.conf, conf)
    wait_for(lambda: "max_drop = 50" in open(dm.d.conf).read() and
             dm.status()["reload"]["reloads"] >= 2, "config reloaded")
    write_atomic(dm.csv, csv(many(80)))
    wait_for(lambda: query(dm.port, "h95.%s." % BLOB).rcode() == 3, "the shrink applied")


@test("status says degraded when every upstream is down and when a source cannot be read")
def t_degraded(t):
    dm = Daemon(t, [("kv.vault.azure.net", "10.1.2.3")], upstream=False, workers=1)
    st = dm.status()
    eq(st["status"], "ok", "status at start")
    eq(st["reasons"], [], "no reasons at start")
    for i in range(6):
        try:
            query(dm.port, "n%d.example.net." % i, timeout=2)
        except Exception:  # noqa: BLE001
            pass
    wait_for(lambda: "every upstream server is down" in dm.status()["reasons"],
             "the upstream reason")
    eq(dm.status()["status"], "degraded", "degraded with every upstream down")
    os.unlink(dm.csv)
    dm.d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: dm.status()["reload"]["state"] == "failed", "a failed reload")
    st = dm.status()
    expect(any(r.startswith("the last reload failed") for r in st["reasons"]),
           "the failed reload is a reason", st["reasons"])
    expect(any("record source %s cannot be read" % dm.csv in r for r in st["reasons"]),
           "the stale source is a reason", st["reasons"])
    code, _ = dm.http("GET", "/readyz")
    eq(code, 200, "/readyz stays as it is")
    kv_private_udp = a_of(dm.port, "kv.vault.azure.net.")
    eq(kv_private_udp, ["10.1.2.3"], "the old data is still served")
    code, page = dm.http("GET", "/")
    expect("degraded" in page, "the page knows the degraded state", "")


@test("a secondary zone follows its primary: the guard holds local files, not transfers")
def t_secondary_not_held(t):
    from xfr_common import ZONE, big_body, config, wait_serial, zone_text
    pport, sport, cport = free_port(), free_port(), free_port()
    pconf = config(pport, [(ZONE, {"file": "z.zone", "allow_transfer": "127.0.0.0/8",
                                   "notify": "127.0.0.1:%d" % sport})])
    pconf = pconf.replace("[control]\nlisten = none", "[control]\nlisten = 127.0.0.1:%d" % cport)
    prim = t.pldns(pconf, {"z.zone": zone_text(1, big_body(50))}, name="primary")
    sec = t.pldns(config(sport, [(ZONE, {"primary": "127.0.0.1:%d" % pport})],
                         server={"state_dir": "sec-state"}), name="secondary")
    wait_serial(sport, 1, 10)
    # The primary's own file loses 50 of its 54 records: held there ...
    t.dir.write("z.zone", zone_text(2))
    prim.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload held" in prim.log_text(), "the primary holding its file")
    expect(query(pport, "host-00010." + ZONE).rcode() == 0, "the primary still serves it")
    # ... until forced; then the secondary takes the transfer as it is.
    hc = http.client.HTTPConnection("127.0.0.1", cport, timeout=20)
    hc.request("POST", "/reload?force=1")
    r = hc.getresponse()
    body = r.read().decode()
    hc.close()
    eq(r.status, 200, "force on the primary: %s" % body)
    wait_serial(pport, 2, 10)
    wait_serial(sport, 2, 10)
    eq(query(sport, "host-00010." + ZONE).rcode(), 3, "the secondary follows the primary")
    expect("reload held" not in sec.log_text(), "the secondary held nothing",
           sec.log_text()[-1500:])


@test("pldns import --dry-run prints every change record by record, then the counts")
def t_import_dry_run(t):
    d = t.dir
    zones = d.join("zones")
    d.write("old.csv", csv([("a1.blob.core.windows.net", "10.3.0.1"),
                            ("a2.blob.core.windows.net", "10.3.0.2"),
                            ("a3.blob.core.windows.net", "10.3.0.3")]))
    rc, out, err = run_pldns(["import", "--zone-dir", zones, d.join("old.csv")])
    eq(rc, 0, "import: %s" % err)
    new = d.write("new.csv", csv([("a1.blob.core.windows.net", "10.3.0.1"),
                                  ("a2.blob.core.windows.net", "10.3.0.20"),
                                  ("a4.blob.core.windows.net", "10.3.0.4")]))
    rc, out, err = run_pldns(["import", "--zone-dir", zones, "--dry-run", new])
    eq(rc, 0, "dry run: %s" % err)
    lines = out.splitlines()
    eq(lines[:3], ["~ a2.%s A 10.3.0.2 -> 10.3.0.20" % BLOB,
                   "- a3.%s A 10.3.0.3" % BLOB,
                   "+ a4.%s A 10.3.0.4 (%s:4)" % (BLOB, new)], "the changes")
    eq(lines[-1], "1 zone, 3 records: 1 added, 1 changed, 1 removed (dry run: nothing written)",
       "the counts last")

    # With -c: against what the configuration's sources give now.
    port = free_port()
    d.write("pldns.ini", make_config(port, records={"sources": "old.csv"}))
    rc, out, err = run_pldns(["import", "-c", d.join("pldns.ini"), "--dry-run", new])
    eq(rc, 0, "dry run -c: %s" % err)
    lines = out.splitlines()
    eq(lines[:3], ["~ a2.%s A 10.3.0.2 -> 10.3.0.20" % BLOB,
                   "- a3.%s A 10.3.0.3" % BLOB,
                   "+ a4.%s A 10.3.0.4 (%s:4)" % (BLOB, new)], "the changes against -c")
    eq(lines[-1], "1 zone, 3 records: 1 added, 1 changed, 1 removed (dry run: nothing written)",
       "the counts last (-c)")

    # An empty file is reported as in the daemon.
    empty = d.write("empty.csv", HEADER)
    rc, out, err = run_pldns(["import", "--zone-dir", zones, "--dry-run", empty])
    eq(rc, 65, "import of an empty source")
    expect("%s:1: no records found" % empty in err, "import names file:1", err)


if __name__ == "__main__":
    main()
