#!/usr/bin/python3
"""System tests for pldns doctor (issue 7): the real daemon, fake upstreams
and the doctor, all on loopback.

The shared daemon serves data "A" (SERVED); each test runs the doctor with a
configuration whose sources may say otherwise (a wrong IP, a public IP, a
name pldns does not serve), or whose upstreams are dead or give public
answers without the privatelink CNAME, and asserts the findings (table and
--json) and the exit code.  Every doctor run gets PLDNS_RESOLV_CONF pointing
at a loopback nameserver, so nothing is ever sent elsewhere.

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_doctor.py [NAME-SUBSTRING...]
"""

import json
import os
import re
import subprocess
import time

from harness import (HERE, Dir, Fail, Fakeup, Pldns, Shared, daemon_extra, eq,
                     expect, free_port, ini, ipv6_ok, main, pldns_bin, test,
                     watch)

AZURE = os.path.join(HERE, "data", "azure_public.py")

BLOB = "privatelink.blob.core.windows.net"
VAULT = "privatelink.vaultcore.azure.net"
MIGRATE = "privatelink.prod.migration.windowsazure.com"
ASR = "privatelink.siterecovery.windowsazure.com"
GUID = "04b8c9c73f3d477e966c8d00f352889c"
MIG_PL = "%s-agent.cus.disc.%s" % (GUID, MIGRATE)

# What the shared pldns serves ("data A").
SERVED = """FQDN,IP Address
acct.blob.core.windows.net,10.1.0.5
kv.vault.azure.net,10.2.0.5
%s,10.3.0.4
""" % MIG_PL

KEYS = ["check", "status", "zone", "name", "server", "expected", "got",
        "hint", "where", "rtt_ms"]
CHECKS = {"listen", "server", "upstream", "resolver", "sources", "privatelink",
          "public", "public-chain", "address", "duplicate-address",
          "duplicate-name", "migrate", "site-recovery", "missing-name"}
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


def _live():
    d = Dir("doctor")
    up = Fakeup(AZURE, d, name="azure")
    port = free_port()
    conf = ini([("server", {"listen": "127.0.0.1:%d" % port}),
                ("upstream", {"servers": up.addr, "timeout_ms": 800,
                              "deadline_ms": 1500}),
                ("records", {"sources": "served.csv"})] + daemon_extra())
    p = Pldns(d, conf, {"served.csv": SERVED}, port=port)
    watch(p)
    return {"port": port, "up": up, "pldns": p, "dir": d}


LIVE = Shared(_live)


def live():
    return LIVE.get()


class Run:
    """One doctor run: exit code, stdout, stderr, and (with --json) the
    findings."""

    def __init__(self, rc, out, err, findings):
        self.rc, self.out, self.err, self.findings = rc, out, err, findings

    def show(self):
        return "exit %s\n--- stdout:\n%s\n--- stderr:\n%s" % (
            self.rc, self.out[-6000:], self.err[-3000:])

    def find(self, check, name=None, status=None):
        return [f for f in self.findings if f["check"] == check and
                (name is None or f["name"] == name) and
                (status is None or f["status"] == status)]

    def one(self, check, name=None, status=None):
        got = self.find(check, name, status)
        if len(got) != 1:
            raise Fail("expected one %s finding for %s%s, got %d:\n%s" % (
                check, name, " (%s)" % status if status else "", len(got),
                json.dumps(self.findings, indent=1)[-6000:]))
        return got[0]


def resolv(t, *servers):
    return t.dir.write("resolv.conf", "".join(
        "nameserver %s\n" % s for s in servers))


def doctor(t, conf, args=(), resolv_conf=None, json_out=True, timeout=30):
    """Runs pldns doctor -c CONF ARGS (with --json unless JSON_OUT is
    False).  RESOLV_CONF defaults to one naming a closed loopback port."""
    if resolv_conf is None:
        resolv_conf = resolv(t, "127.0.0.1:%d" % free_port())
    env = dict(os.environ, PLDNS_RESOLV_CONF=resolv_conf)
    argv = [pldns_bin(), "doctor", "-c", conf] + list(args)
    if json_out:
        argv.append("--json")
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, env=env)
    except subprocess.TimeoutExpired:
        raise Fail("pldns doctor did not exit within %d s" % timeout)
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    for m in SANITIZER_MARKS:
        expect(m not in err, "no %s report from the doctor" % m, got=err[-3000:])
    findings = []
    if json_out and p.returncode in (0, 1):
        try:
            findings = json.loads(out)
        except ValueError as e:
            raise Fail("--json output is not JSON (%s):\n%s" % (e, out[-3000:]))
        check_json(findings)
    return Run(p.returncode, out, err, findings)


def check_json(findings):
    """The documented shape: an array of objects with exactly KEYS."""
    expect(isinstance(findings, list), "JSON: an array", got=type(findings))
    for f in findings:
        eq(list(f.keys()), KEYS, "JSON keys (and their order) of %r" % f)
        expect(f["check"] in CHECKS, "a documented check name", got=f["check"])
        expect(f["status"] in ("ok", "warning", "problem"), "status word",
               got=f["status"])
        for k in KEYS:
            v = f[k]
            if k == "rtt_ms":
                expect(v is None or (isinstance(v, int) and v >= 0),
                       "rtt_ms: null or a count", got=v)
            elif k == "check" or k == "status":
                expect(isinstance(v, str), "%s is a string" % k, got=v)
            else:
                expect(v is None or isinstance(v, str),
                       "%s is a string or null" % k, got=v)
        if f["status"] == "ok":
            expect(f["hint"] is None, "no hint when ok", got=f)
        else:
            expect(isinstance(f["hint"], str) and f["hint"], "a hint when not ok",
                   got=f)


def dconf(t, port, sources, upstreams=None, records=None, extra=(),
          files=None, listen=None, name="doctor.ini"):
    """A doctor config: listen on the shared daemon's PORT, SOURCES
    {file: text} as [records] sources."""
    for fname, text in (files or {}).items():
        t.dir.write(fname, text)
    for fname, text in sources.items():
        t.dir.write(fname, text)
    rec = {"sources": ", ".join(sources)}
    rec.update(records or {})
    secs = [("server", {"listen": listen or "127.0.0.1:%d" % port})]
    if upstreams is not None:
        secs.append(("upstream", {"servers": ", ".join(upstreams)}
                     if upstreams else {"servers": ""}))
    secs.append(("records", rec))
    secs.extend(extra)
    # Like the daemon it describes (daemon_extra): no control endpoint, so
    # the doctor does not look for one (the names clients miss are tested
    # in test_missing.py).
    if not any(sec == "control" for sec, _ in extra):
        secs.append(("control", {"listen": "none"}))
    return t.dir.write(name, ini(secs))


def statuses(run):
    c = {"ok": 0, "warning": 0, "problem": 0}
    for f in run.findings:
        c[f["status"]] += 1
    return c


# ------------------------------------------------------------------ all well

@test("all well: every record right over UDP and TCP, exit 0, JSON documented")
def t_all_well(t):
    L = live()
    conf = dconf(t, L["port"], {"dns.csv": SERVED}, upstreams=[L["up"].addr])
    r = doctor(t, conf, resolv_conf=resolv(t, "127.0.0.1:%d" % L["port"]))
    eq(r.rc, 0, "exit code with nothing wrong\n" + r.show())
    f = r.one("privatelink", "acct." + BLOB)
    eq((f["status"], f["expected"], f["got"], f["zone"]),
       ("ok", "10.1.0.5", "10.1.0.5", BLOB), "privatelink name via pldns")
    eq(f["server"], "127.0.0.1:%d" % L["port"], "server asked")
    expect(f["where"].endswith("dns.csv:2"), "where is the CSV line",
           got=f["where"])
    f = r.one("public", "acct.blob.core.windows.net")
    eq((f["status"], f["got"]), ("ok", "10.1.0.5"), "public name via pldns")
    f = r.one("public", "kv.vault.azure.net")
    eq((f["status"], f["got"]), ("ok", "10.2.0.5"), "key vault public name")
    f = r.one("public", MIG_PL.replace(".privatelink.", ".", 1))
    eq(f["status"], "ok", "Migrate public name")
    f = r.one("public-chain", "acct.blob.core.windows.net")
    eq((f["status"], f["got"], f["server"]),
       ("ok", "privatelink CNAME -> 20.60.1.1", L["up"].addr),
       "upstream's public chain reaches the privatelink name")
    f = r.one("listen", "127.0.0.1:%d" % L["port"])
    eq(f["status"], "ok", "listen address answers")
    expect(re.match(r"udp \d+ ms, tcp \d+ ms$", f["got"]), "RTTs", got=f["got"])
    f = r.one("upstream", L["up"].addr)
    eq(f["status"], "ok", "upstream answers")
    expect(isinstance(f["rtt_ms"], int), "upstream RTT", got=f)
    f = r.one("resolver", "acct.blob.core.windows.net")
    eq((f["status"], f["got"]), ("ok", "10.1.0.5"),
       "resolv.conf naming pldns reaches it")
    for a in ("acct." + BLOB, "kv." + VAULT, MIG_PL):
        eq(r.one("address", a)["status"], "ok", "address check of " + a)
    # Migrate is in use: the four zones; Site Recovery absent is a warning.
    eq(r.one("migrate", MIGRATE)["status"], "ok", "Migrate zone")
    eq(r.one("migrate", VAULT)["status"], "ok", "key vault present")
    eq(r.one("migrate", BLOB)["status"], "ok", "storage account present")
    eq(r.one("migrate", ASR)["status"], "warning", "no Site Recovery names")
    eq(statuses(r)["problem"], 0, "no problem at all\n" + r.show())


@test("table: marks, groups by zone, summary line; exit 0")
def t_table(t):
    L = live()
    conf = dconf(t, L["port"], {"dns.csv": SERVED}, upstreams=[L["up"].addr])
    r = doctor(t, conf, json_out=False,
               resolv_conf=resolv(t, "127.0.0.1:%d" % L["port"]))
    eq(r.rc, 0, "exit code\n" + r.show())
    lines = r.out.rstrip("\n").split("\n")
    expect(re.match(r"^\d+ checks: \d+ ok, 0 problems, 1 warning$", lines[-1]),
           "summary line last", got=lines[-1])
    n = int(lines[-1].split()[0])
    rows = [l for l in lines if l[:2] in ("\u2713 ", "\u2717 ", "! ")]
    eq(len(rows), n, "one row per check")
    for zone in ("infrastructure", BLOB, VAULT, MIGRATE):
        expect(zone in lines, "group header %s" % zone, got=r.out)
    expect(lines.index("infrastructure") < lines.index(BLOB),
           "infrastructure first", got=r.out)
    expect(any(l.startswith("\u2713 privatelink") and "acct." + BLOB in l
               for l in rows), "a ✓ row for acct", got=r.out)
    expect(any(l.startswith("! migrate") and ASR in l for l in rows),
           "a ! row for the missing Site Recovery zone", got=r.out)
    for l in lines:
        expect(l == l.rstrip(), "no trailing blanks", got=repr(l))


# ------------------------------------------------------------------ data problems

@test("wrong IP: pldns serves A, the sources say B: mismatch over UDP and TCP, exit 1")
def t_wrong_ip(t):
    L = live()
    conf = dconf(t, L["port"], {"dns.csv": SERVED.replace("10.1.0.5", "10.1.0.6")},
                 upstreams=[L["up"].addr])
    r = doctor(t, conf)
    eq(r.rc, 1, "exit code with a problem\n" + r.show())
    for check, name in (("privatelink", "acct." + BLOB),
                        ("public", "acct.blob.core.windows.net")):
        f = r.one(check, name)
        eq((f["status"], f["expected"], f["got"]),
           ("problem", "10.1.0.6", "10.1.0.5"), "%s mismatch" % check)
        eq(f["hint"], "pldns serves 10.1.0.5 but the sources say 10.1.0.6: "
           "reload pldns (pldns ctl reload) if the sources are newer; if the "
           "sources are out of date, download DNS settings again", "hint")
    # The others are right.
    eq(r.one("privatelink", "kv." + VAULT)["status"], "ok", "kv unaffected")


@test("public IP in a record (allow_public = yes): address problem, exit 1")
def t_public_ip(t):
    L = live()
    conf = dconf(t, L["port"], {"dns.csv": SERVED.replace("10.2.0.5", "52.1.2.3")},
                 upstreams=[L["up"].addr], records={"allow_public": "yes"})
    r = doctor(t, conf)
    eq(r.rc, 1, "exit code\n" + r.show())
    f = r.one("address", "kv." + VAULT)
    eq((f["status"], f["got"], f["expected"]),
       ("problem", "52.1.2.3", "a private address"), "address finding")
    expect(f["hint"].startswith("the A record holds a public IP: "), "hint",
           got=f["hint"])
    eq(r.one("privatelink", "kv." + VAULT)["status"], "problem",
       "pldns serves another address")
    eq(r.one("address", "acct." + BLOB)["status"], "ok", "private one is fine")


@test("missing record: the sources have a name pldns does not serve: NXDOMAIN, exit 1")
def t_missing(t):
    L = live()
    conf = dconf(t, L["port"], {"dns.csv": SERVED +
                                "gone.blob.core.windows.net,10.1.0.9\n"},
                 upstreams=[L["up"].addr])
    r = doctor(t, conf)
    eq(r.rc, 1, "exit code\n" + r.show())
    f = r.one("privatelink", "gone." + BLOB)
    eq((f["status"], f["got"]), ("problem", "NXDOMAIN"), "privatelink name")
    expect("reload pldns" in f["hint"], "hint says reload", got=f["hint"])
    f = r.one("public", "gone.blob.core.windows.net")
    eq(f["status"], "problem", "public name")
    # Public DNS does not know it either (azure_public has no "gone").
    f = r.one("public-chain", "gone.blob.core.windows.net")
    eq((f["status"], f["got"]), ("problem", "NXDOMAIN"), "public chain")
    eq(r.one("privatelink", "acct." + BLOB)["status"], "ok", "acct still fine")


@test("--name: only the named records (public or privatelink); unknown name reported")
def t_names(t):
    L = live()
    conf = dconf(t, L["port"], {"dns.csv": SERVED}, upstreams=[L["up"].addr])
    r = doctor(t, conf, ["--name", "KV.vault.azure.net.", "--name",
                         "nosuch.blob.core.windows.net,acct." + BLOB])
    eq(r.rc, 1, "exit code (unknown name)\n" + r.show())
    names = {f["name"] for f in r.findings if f["check"] == "privatelink"}
    eq(names, {"kv." + VAULT, "acct." + BLOB}, "only the named records")
    f = r.one("sources", "nosuch.blob.core.windows.net")
    eq((f["status"], f["zone"], f["got"]), ("problem", BLOB, "none"),
       "unknown name")
    eq(r.find("migrate"), [], "no Migrate set check with --name")


@test("duplicates across sources: one IP for two names, one name with two IPs")
def t_duplicates(t):
    L = live()
    files = {"a.csv": "FQDN,IP Address\nacct.blob.core.windows.net,10.1.0.5\n"
                      "twin.blob.core.windows.net,10.1.0.5\n",
             "b.csv": "FQDN,IP Address\nacct.blob.core.windows.net,10.1.0.8\n"}
    conf = dconf(t, L["port"], files, upstreams=[L["up"].addr],
                 extra=[('zone "%s"' % BLOB, {"multi": "yes"})])
    r = doctor(t, conf)
    eq(r.rc, 1, "exit code\n" + r.show())
    f = r.one("duplicate-address", "twin." + BLOB)
    eq(f["status"], "warning", "same IP, two names")
    expect(f["got"].startswith("10.1.0.5 is also acct.%s (" % BLOB), "got",
           got=f["got"])
    eq(r.one("duplicate-address", "acct." + BLOB)["status"], "warning",
       "reported for both names")
    f = r.one("duplicate-name", "acct." + BLOB)
    eq(f["status"], "warning", "same name, two IPs from two files")
    expect(re.match(r"10\.1\.0\.5 \(.*a\.csv:2\), 10\.1\.0\.8 \(.*b\.csv:2\)$",
                    f["got"]), "both addresses with their origin", got=f["got"])
    # pldns serves one address only: a mismatch.
    eq(r.one("privatelink", "acct." + BLOB)["status"], "problem", "mismatch")


@test("[doctor] expect_subnets: an address outside is a problem")
def t_subnets(t):
    L = live()
    conf = dconf(t, L["port"], {"dns.csv": SERVED}, upstreams=[L["up"].addr],
                 extra=[("doctor", {"expect_subnets": "10.1.0.0/16, 10.3.0.0/24"})])
    r = doctor(t, conf)
    eq(r.rc, 1, "exit code\n" + r.show())
    f = r.one("address", "kv." + VAULT)
    eq((f["status"], f["expected"], f["got"]),
       ("problem", "inside 10.1.0.0/16, 10.3.0.0/24", "10.2.0.5"), "outside")
    expect("expect_subnets" in f["hint"], "hint", got=f["hint"])
    eq(r.one("address", "acct." + BLOB)["status"], "ok", "inside")
    eq(r.one("address", MIG_PL)["status"], "ok", "inside too")


@test("Azure Migrate set: a Site Recovery vault with four of its five names")
def t_migrate_set(t):
    L = live()
    asr = "".join("3456789012345678901-asr-pod01-%s-.eus.%s,10.4.0.%d\n" %
                  (typ, ASR, i) for i, typ in
                  enumerate(("id1", "prot2", "srs1", "tel1"), 1))
    conf = dconf(t, L["port"], {"dns.csv": SERVED + asr},
                 upstreams=[L["up"].addr])
    r = doctor(t, conf, ["--timeout", "500"])
    eq(r.rc, 1, "exit code\n" + r.show())
    f = r.one("site-recovery", "3456789012345678901-asr-pod01-rcm1-.eus." + ASR)
    eq((f["status"], f["got"], f["zone"]), ("problem", "missing", ASR),
       "missing rcm1")
    expect("download DNS settings again" in f["hint"], "hint", got=f["hint"])
    eq(r.one("migrate", ASR)["status"], "ok", "Site Recovery zone has records")
    # pldns does not serve them (not in its data): reported, not fatal.
    eq(r.one("privatelink", "3456789012345678901-asr-pod01-id1-.eus." + ASR)
       ["got"], "NXDOMAIN", "not served")


# ------------------------------------------------------------------ upstreams

@test("dead upstreams: closed port and a server that never answers, with RTT of the live one")
def t_dead_upstream(t):
    L = live()
    drop = t.fakeup(AZURE, behaviours=["drop"], name="drop")
    closed = "127.0.0.1:%d" % free_port()
    conf = dconf(t, L["port"], {"dns.csv": SERVED},
                 upstreams=[L["up"].addr, closed, drop.addr])
    with_timer = time.monotonic()
    r = doctor(t, conf, ["--timeout", "400"])
    took = time.monotonic() - with_timer
    eq(r.rc, 1, "exit code\n" + r.show())
    f = r.one("upstream", closed)
    eq((f["status"], f["got"], f["rtt_ms"]), ("problem", "port closed", None),
       "closed port")
    expect("fix [upstream] servers" in f["hint"], "hint", got=f["hint"])
    f = r.one("upstream", drop.addr)
    eq((f["status"], f["got"]), ("problem", "timeout"), "never answers")
    eq(r.one("upstream", L["up"].addr)["status"], "ok", "the live one")
    # Per-name public chains only from the live upstream, not one timeout
    # per record.
    servers = {f["server"] for f in r.find("public-chain")}
    eq(servers, {L["up"].addr}, "public chains asked of live upstreams only")
    expect(took < 3.0, "dead upstreams cost one timeout, not one per record",
           got="%.1f s" % took)


@test("[forward] servers are checked too; DNS over TLS upstreams are named, not asked")
def t_forward_upstream(t):
    L = live()
    closed = "127.0.0.1:%d" % free_port()
    tls = "tls://127.0.0.1:%d#dns.example.net" % free_port()
    conf = dconf(t, L["port"], {"dns.csv": SERVED},
                 upstreams=[L["up"].addr, tls],
                 extra=[('forward "corp.example.com"', {"servers": closed})])
    r = doctor(t, conf, ["--timeout", "400"])
    f = r.one("upstream", tls)
    eq((f["status"], f["got"]), ("warning", "not checked (DNS over TLS)"),
       "TLS upstream")
    eq(r.one("upstream", L["up"].addr)["status"], "ok", "plain upstream")
    f = r.one("upstream", closed)
    eq((f["status"], f["expected"]), ("problem", "answers (forward corp.example.com)"),
       "forward server")
    expect('[forward "corp.example.com"] servers' in f["hint"], "hint",
           got=f["hint"])


@test("upstream public answer without the privatelink CNAME: no private endpoint")
def t_no_cname(t):
    L = live()
    data = {"records": [
        "core.windows.net. 3600 SOA ns1. hostmaster. 1 3600 300 2419200 60",
        "acct.blob.core.windows.net. 60 CNAME blob.xyz.store.core.windows.net.",
        "blob.xyz.store.core.windows.net. 60 A 20.60.1.1",
    ]}
    up = t.fakeup(data, name="nocname")
    conf = dconf(t, L["port"], {"dns.csv": SERVED}, upstreams=[up.addr])
    r = doctor(t, conf, ["--name", "acct.blob.core.windows.net"])
    eq(r.rc, 1, "exit code\n" + r.show())
    f = r.one("public-chain", "acct.blob.core.windows.net")
    eq((f["status"], f["got"], f["expected"], f["server"]),
       ("problem", "no privatelink CNAME (20.60.1.1)", "privatelink CNAME",
        up.addr), "finding")
    expect(f["hint"].startswith("public DNS has no private endpoint for this "
                                "name: check the name or the endpoint"),
           "hint", got=f["hint"])
    # pldns itself still answers from its own data.
    eq(r.one("public", "acct.blob.core.windows.net")["status"], "ok",
       "pldns answers the public name anyway")


@test("upstream already returns a private IP: same is a warning, different a problem")
def t_upstream_private(t):
    L = live()
    data = {"records": [
        "core.windows.net. 3600 SOA ns1. hostmaster. 1 3600 300 2419200 60",
        "azure.net. 3600 SOA ns1. hostmaster. 1 3600 300 2419200 60",
        "acct.blob.core.windows.net. 60 CNAME acct.privatelink.blob.core.windows.net.",
        "acct.privatelink.blob.core.windows.net. 60 A 10.1.0.5",
        "kv.vault.azure.net. 60 CNAME kv.privatelink.vaultcore.azure.net.",
        "kv.privatelink.vaultcore.azure.net. 60 A 10.9.9.9",
    ]}
    up = t.fakeup(data, name="internal")
    conf = dconf(t, L["port"], {"dns.csv": SERVED}, upstreams=[up.addr])
    r = doctor(t, conf, ["--name", "acct.blob.core.windows.net,kv.vault.azure.net"])
    eq(r.rc, 1, "exit code\n" + r.show())
    f = r.one("public-chain", "acct.blob.core.windows.net")
    eq((f["status"], f["got"]),
       ("warning", "10.1.0.5 (private, after the privatelink CNAME)"), "same IP")
    expect("an upstream already answers with the private address" in f["hint"],
           "hint", got=f["hint"])
    f = r.one("public-chain", "kv.vault.azure.net")
    eq(f["status"], "problem", "another private IP")
    expect("another internal resolver or a conflicting private DNS zone" in
           f["hint"], "hint", got=f["hint"])


# ------------------------------------------------------------------ infrastructure

@test("this machine's resolver does not reach pldns: conditional forwarder hint")
def t_resolver_hint(t):
    L = live()
    conf = dconf(t, L["port"], {"dns.csv": SERVED.split("kv.")[0]},
                 upstreams=[L["up"].addr])
    r = doctor(t, conf, resolv_conf=resolv(t, L["up"].addr))
    eq(r.rc, 0, "a warning only\n" + r.show())
    f = r.one("resolver", "acct.blob.core.windows.net")
    eq((f["status"], f["server"], f["got"]),
       ("warning", L["up"].addr, "20.60.1.1 (public)"), "finding")
    expect("add a conditional forwarder for blob.core.windows.net pointing at "
           "this server (port %d)" % L["port"] in f["hint"], "hint",
           got=f["hint"])


@test("resolv.conf without nameserver, and missing: a warning naming the file")
def t_resolver_none(t):
    L = live()
    conf = dconf(t, L["port"], {"dns.csv": SERVED}, upstreams=[L["up"].addr])
    empty = t.dir.write("empty-resolv.conf", "search example.com\n")
    r = doctor(t, conf, resolv_conf=empty)
    f = r.one("resolver", empty)
    eq((f["status"], f["got"]), ("warning", "no nameserver line"), "empty")
    r = doctor(t, conf, resolv_conf=t.dir.join("nope.conf"))
    f = r.one("resolver", t.dir.join("nope.conf"))
    expect(f["got"].startswith("cannot open: "), "missing", got=f["got"])


@test("pldns not running (--server on a closed port): server problem, records not asked")
def t_server_down(t):
    L = live()
    conf = dconf(t, L["port"], {"dns.csv": SERVED}, upstreams=[L["up"].addr])
    dead = "127.0.0.1:%d" % free_port()
    r = doctor(t, conf, ["--server", dead])
    eq(r.rc, 1, "exit code\n" + r.show())
    f = r.one("server", dead)
    eq((f["status"], f["got"]), ("problem", "port closed"), "server finding")
    expect("nothing listens on %s over udp" % dead in f["hint"], "hint",
           got=f["hint"])
    eq(r.find("privatelink"), [], "no per-record pldns rows for a dead server")
    eq(r.one("listen", "127.0.0.1:%d" % L["port"])["status"], "ok",
       "the configured listen address still answers")
    # The data checks still run.
    eq(r.one("address", "acct." + BLOB)["status"], "ok", "address check")


@test("pldns that never answers: timeout within --timeout, exit 1")
def t_server_timeout(t):
    L = live()
    mute = t.fakeup(AZURE, behaviours=["drop"], name="mute")
    conf = dconf(t, L["port"], {"dns.csv": SERVED}, upstreams=[L["up"].addr])
    t0 = time.monotonic()
    r = doctor(t, conf, ["--server", mute.addr, "--timeout", "300"])
    took = time.monotonic() - t0
    eq(r.rc, 1, "exit code\n" + r.show())
    f = r.one("server", mute.addr)
    eq((f["status"], f["got"]), ("problem", "timeout"), "finding")
    expect(took < 3.0, "bounded by the timeout", got="%.1f s" % took)


@test("listen on IPv4 and IPv6 loopback: both checked over UDP and TCP")
def t_listen_v6(t):
    if not ipv6_ok():
        from harness import Skip
        raise Skip("no IPv6 loopback")
    up = t.fakeup(AZURE, name="azure6")
    port = free_port()
    listen = "127.0.0.1:%d, [::1]:%d" % (port, port)
    conf = ini([("server", {"listen": listen}),
                ("upstream", {"servers": up.addr}),
                ("records", {"sources": "served.csv"})] + daemon_extra())
    t.pldns(conf, {"served.csv": SERVED}, port=port)
    r = doctor(t, t.dir.join("pldns.ini"),
               resolv_conf=resolv(t, "[::1]:%d" % port))
    eq(r.rc, 0, "exit code\n" + r.show())
    eq(r.one("listen", "127.0.0.1:%d" % port)["status"], "ok", "v4")
    eq(r.one("listen", "[::1]:%d" % port)["status"], "ok", "v6")
    eq(r.one("resolver", "acct.blob.core.windows.net")["status"], "ok",
       "resolver on ::1 reaches pldns")


@test("100 records are checked in a few seconds")
def t_many(t):
    up = t.fakeup(AZURE, name="azure100")
    port = free_port()
    csv = "FQDN,IP Address\n" + "".join(
        "acct%03d.blob.core.windows.net,10.1.%d.%d\n" % (i, i // 200, i % 200 + 1)
        for i in range(100))
    conf = ini([("server", {"listen": "127.0.0.1:%d" % port}),
                ("upstream", {"servers": up.addr}),
                ("records", {"sources": "many.csv"})] + daemon_extra())
    t.pldns(conf, {"many.csv": csv}, port=port)
    t0 = time.monotonic()
    r = doctor(t, t.dir.join("pldns.ini"),
               resolv_conf=resolv(t, "127.0.0.1:%d" % port))
    took = time.monotonic() - t0
    # Public DNS does not know these names: public-chain problems.
    eq(r.rc, 1, "exit code\n" + r.show())
    eq(len(r.find("privatelink", status="ok")), 100, "100 privatelink rows ok")
    eq(len(r.find("public", status="ok")), 100, "100 public rows ok")
    eq(len(r.find("public-chain")), 100, "100 public chains")
    expect(took < 5.0, "100 records in a few seconds", got="%.1f s" % took)


# ------------------------------------------------------------------ cannot run

@test("cannot run: bad config, no records, bad options: exit 2 with the reason")
def t_cannot_run(t):
    bad = t.dir.write("bad.ini", "[server]\nlisten = nowhere\n")
    r = doctor(t, bad)
    eq(r.rc, 2, "bad config\n" + r.show())
    expect("bad.ini:2: bad value for listen" in r.err, "file:line message",
           got=r.err)
    empty = t.dir.write("empty.ini", ini([("server", {"listen": "127.0.0.1:%d" %
                                                      free_port()}),
                                          ("upstream", {"servers": ""})]))
    r = doctor(t, empty)
    eq(r.rc, 2, "no records\n" + r.show())
    expect("gives no address record to check" in r.err, "reason", got=r.err)
    missing = t.dir.write("missing.ini", ini([("records", {"sources": "no.csv"})]))
    r = doctor(t, missing)
    eq(r.rc, 2, "missing source\n" + r.show())
    good = dconf(t, free_port(), {"dns.csv": SERVED}, upstreams=[])
    for args, what in ((["--server", "host.example"], "--server not an address"),
                       (["--timeout", "0"], "--timeout out of range"),
                       (["--bogus"], "unknown option"),
                       (["extra"], "stray argument")):
        r = doctor(t, good, args)
        eq(r.rc, 2, what + "\n" + r.show())
        eq(r.out, "", "nothing on stdout (%s)" % what)
    r = doctor(t, good, ["--help"], json_out=False)
    eq(r.rc, 0, "--help")
    expect("usage: pldns doctor" in r.out, "usage on stdout", got=r.out)


if __name__ == "__main__":
    main()
