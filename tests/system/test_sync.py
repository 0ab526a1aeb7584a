#!/usr/bin/python3
"""System tests for records synced from Azure Resource Manager: [azure]
sections against a fake ARM + login + identity endpoint (fakearm.py) on
loopback, over HTTPS with a CA made here with openssl.

Each auth mode, paging by opaque nextLinks, changes in Azure showing up
within one interval, reloads only on change, every fault keeping the last
good data, a restart from state_dir with Azure unreachable, no secret or
token in any output, and pldns sync --dry-run.
"""

import copy
import json
import os
import time

from harness import (Fail, daemon_extra, eq, expect, free_port, main,
                     make_config, query, run_pldns, test, tmproot, wait_until)
import fakearm
from fakearm import CLIENT, SECRET, SUB1, SUB2, TENANT, FakeArm, make_pki, zone_rr

BLOB = "privatelink.blob.core.windows.net"
_pki = {}


def pki(kind="good"):
    """One CA and server certificate for the run; "wrongname" has a
    certificate for another name, "untrusted" one from a CA not given."""
    if kind not in _pki:
        d = os.path.join(tmproot(), "pki-" + kind)
        os.makedirs(d, exist_ok=True)
        names = ("DNS:wrong.example",) if kind == "wrongname" else ("IP:127.0.0.1", "DNS:localhost")
        _pki[kind] = make_pki(d, names, prefix=kind + "-")
    return _pki[kind]


def a_of(port, name):
    r = query(port, name, timeout=2)
    return sorted(rd.to_text() for rr in r.answer for rd in rr if rr.rdtype == 1)


def rcode_of(port, name):
    import dns.rcode
    return dns.rcode.to_text(query(port, name, timeout=2).rcode())


wait_for = wait_until


def azure_section(arm, auth="secret", name="contoso", interval=1, ca=None, **kw):
    sec = {"auth": auth, "subscriptions": SUB1, "interval": interval,
           "management_url": arm.url, "login_url": arm.url,
           "ca_file": ca or pki()["ca"], "proxy": "none"}
    if auth in ("secret", "certificate", "federated"):
        sec.update(tenant=TENANT, client_id=CLIENT)
    if auth == "secret":
        sec["secret_file"] = "secret"
    if auth in ("arc", "vm"):
        sec["identity_url"] = arm.ident_url
    sec.update(kw)
    return ('azure "%s"' % name, {k: v for k, v in sec.items() if v is not None})


class Setup:
    def __init__(self, t, data=None, page=100, sections=None, zones=(), start=True,
                 records=None, **kw):
        self.t = t
        self.arm = FakeArm(pki(), data, page)
        t.owned.append(self.arm)
        self.port = free_port()
        self.dir = t.dir
        p = t.dir.write("secret", SECRET + "\n")
        os.chmod(p, 0o600)
        self.state = t.dir.join("state")
        secs = sections(self.arm) if sections else [azure_section(self.arm, **kw)]
        self.conf = make_config(self.port, upstreams=["127.0.0.1:%d" % free_port()],
                                timeout_ms=200, deadline_ms=400, zones=zones,
                                records=records,
                                server={"state_dir": self.state},
                                extra=secs + daemon_extra())
        self.d = t.pldns(self.conf, port=self.port) if start else None
        if not start:
            self.conf_path = t.dir.write("pldns.ini", self.conf)

    def log(self):
        return self.d.log_text()

    def count(self, text):
        return self.log().count(text)

    def wait_synced(self, n=1, timeout=10.0):
        wait_for(lambda: self.count("\": synced ") >= n, "%d syncs logged" % n, timeout)

    def state_path(self):
        """The section's state file, once written."""
        path = os.path.join(self.state, "azure-contoso.json")
        wait_for(lambda: os.path.exists(path), "the state file written")
        return path

    def zone_lists(self):
        return sum(1 for m, p in self.arm.requests() if "/privateDnsZones?" in p)


@test("sync (auth = secret): private DNS zone records are served, and kept in state_dir")
def t_secret(t):
    s = Setup(t)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "acct1 served")
    eq(a_of(s.port, "acct2.blob.core.windows.net."), ["10.1.0.5"], "public twin name")
    # contoso.example is in no table nor [zone]: not read at all.
    expect(not any("contoso.example" in p for m, p in s.arm.requests()),
           "a zone outside the table and the config is not read",
           [p for m, p in s.arm.requests()])
    path = s.state_path()
    st = json.load(open(path))
    eq(st["azure"], "contoso", "state file names its section")
    eq(sorted(x["name"] for x in st["data"]["sets"]),
       ["acct1." + BLOB, "acct2." + BLOB], "state file holds the record sets")


@test("sync: CNAME record sets are served; a CNAME beside an address is rejected")
def t_cname(t):
    data = fakearm.sample_data()
    z = data["subscriptions"][SUB1]["zones"][BLOB]
    z["records"].append(zone_rr("alias", ["acct1.%s." % BLOB], rtype="CNAME"))
    s = Setup(t, data)
    r = wait_for(lambda: (lambda r: r if r.answer else None)(query(s.port, "alias.%s." % BLOB)),
                 "the alias answered")
    got = sorted((rr.rdtype, rd.to_text()) for rr in r.answer for rd in rr)
    eq(got, [(1, "10.1.0.4"), (5, "acct1.%s." % BLOB)], "CNAME and its target's address")
    z["records"].append(zone_rr("alias", ["10.1.0.77"]))
    s.arm.set_data(data)
    wait_for(lambda: "CNAME cannot coexist" in s.log(), "the conflict reported")
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.4"], "data kept")


@test("sync: pages are followed by nextLink as given (pages of 1)")
def t_paging(t):
    data = fakearm.sample_data()
    z = data["subscriptions"][SUB1]["zones"][BLOB]
    z["records"] = [zone_rr("n%d" % i, ["10.2.0.%d" % (i + 1)]) for i in range(7)]
    s = Setup(t, data, page=1)
    wait_for(lambda: a_of(s.port, "n6.%s." % BLOB) == ["10.2.0.7"], "last page's name served")
    for i in range(7):
        eq(a_of(s.port, "n%d.%s." % (i, BLOB)), ["10.2.0.%d" % (i + 1)], "name from page %d" % i)
    pages = [p for m, p in s.arm.requests() if p.startswith("/_page/")]
    expect(len(pages) >= 7, "opaque nextLinks were followed", pages)


@test("sync: a record added, changed and removed in Azure shows within one interval")
def t_changes(t):
    data = fakearm.sample_data()
    s = Setup(t, data, interval=1)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "first sync")
    z = data["subscriptions"][SUB1]["zones"][BLOB]
    z["records"] = [zone_rr("acct1", ["10.1.0.44"]), zone_rr("acct3", ["10.1.0.6"])]
    s.arm.set_data(data)
    t0 = time.monotonic()
    wait_for(lambda: a_of(s.port, "acct3.%s." % BLOB) == ["10.1.0.6"], "added name", 5)
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.44"], "changed address")
    eq(rcode_of(s.port, "acct2.%s." % BLOB), "NXDOMAIN", "removed name")
    expect(time.monotonic() - t0 < 3.5, "within about one interval (1 s)", time.monotonic() - t0)


@test("sync: a sync that changes nothing reloads nothing")
def t_no_change(t):
    s = Setup(t, interval=1)
    s.wait_synced()
    reloads = s.count("reloaded:")
    n = s.zone_lists()
    wait_for(lambda: s.zone_lists() >= n + 3, "three more syncs")
    eq(s.count("reloaded:"), reloads, "reloads after syncs that changed nothing")


def fault_keeps_data(t, what, add_fault, expect_text, timeout=15, **kw):
    s = Setup(t, interval=1, **kw)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "first sync")
    add_fault(s.arm)
    wait_for(lambda: expect_text in s.log(), "the error logged (%s)" % expect_text, timeout)
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.4"], "data kept after " + what)
    eq(a_of(s.port, "acct2.%s." % BLOB), ["10.1.0.5"], "zone not emptied after " + what)
    return s


@test("faults: 500 on a zone's record sets keeps the last good data")
def t_fault_500(t):
    fault_keeps_data(t, "500", lambda a: a.add_fault("/ALL?", status=500, times=-1),
                     "500 (after retries)")


@test("faults: 403 names the missing permission")
def t_fault_403(t):
    s = fault_keeps_data(t, "403", lambda a: a.add_fault(
        "/privateDnsZones?", status=403, code="AuthorizationFailed", times=-1,
        message="The client does not have authorization to perform action "
                "'Microsoft.Network/privateDnsZones/read'"), "403: permission missing")
    expect("Reader on the subscription or on the private DNS zones" in s.log(),
           "the message says which role", s.log()[-1500:])


@test("faults: 404 subscription")
def t_fault_404(t):
    fault_keeps_data(t, "404", lambda a: a.add_fault(
        "/privateDnsZones?", status=404, code="SubscriptionNotFound", times=-1),
        "subscription %s not found" % SUB1)


@test("faults: a body cut short, a body that is not JSON, JSON of the wrong shape")
def t_fault_bodies(t):
    s = fault_keeps_data(t, "truncated body", lambda a: a.add_fault("/ALL?", truncate=True, times=-1),
                         "cannot reach")
    s.arm.clear_faults()
    s.arm.add_fault("/ALL?", status=200, raw="<html>gateway</html>", times=-1)
    wait_for(lambda: "is not JSON" in s.log(), "non-JSON body reported")
    s.arm.clear_faults()
    s.arm.add_fault("/ALL?", status=200, body={"value": {"not": "a list"}}, times=-1)
    wait_for(lambda: "has no \"value\" array" in s.log(), "wrong shape reported")
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.4"], "data kept")


@test("faults: a nextLink loop is detected")
def t_fault_loop(t):
    data = fakearm.sample_data()
    s = Setup(t, data, page=1, interval=1)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "first sync")
    first = "/subscriptions/%s/providers/Microsoft.Network/privateDnsZones?api-version=2024-06-01" % SUB1
    s.arm.add_fault("/_page/", status=200, times=-1,
                    body={"value": [], "nextLink": s.arm.url + first})
    wait_for(lambda: "nextLink loop" in s.log(), "loop reported")
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.4"], "data kept")


@test("faults: a nextLink on another host is not followed: the token never leaves for it")
def t_fault_link_host(t):
    data = fakearm.sample_data()
    s = Setup(t, data, page=1, interval=1)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "first sync")
    # localhost is this very server, but not the management_url's host.
    other = s.arm.url.replace("127.0.0.1", "localhost") + "/_elsewhere?x=1"
    s.arm.add_fault("/_page/", status=200, times=-1, body={"value": [], "nextLink": other})
    wait_for(lambda: "not followed" in s.log(), "the foreign nextLink reported")
    expect("/_elsewhere" not in " ".join(p for m, p in s.arm.requests()),
           "nothing was asked of the other host", s.arm.requests()[-5:])
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.4"], "data kept")


@test("faults: 429 with Retry-After is waited out, then the sync succeeds")
def t_fault_429(t):
    data = fakearm.sample_data()
    s = Setup(t, data, interval=1)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "first sync")
    s.arm.add_fault("/ALL?", status=429, headers={"Retry-After": "1"}, times=2)
    data["subscriptions"][SUB1]["zones"][BLOB]["records"].append(zone_rr("late", ["10.1.0.9"]))
    s.arm.set_data(data)
    wait_for(lambda: a_of(s.port, "late.%s." % BLOB) == ["10.1.0.9"], "sync after 429s", 10)
    expect("sync failed" not in s.log(), "429 within the retries is no failure", s.log()[-1500:])


@test("faults: a public address in Azure rejects the whole sync")
def t_fault_public(t):
    data = fakearm.sample_data()
    s = Setup(t, data, interval=1)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "first sync")
    z = data["subscriptions"][SUB1]["zones"][BLOB]
    z["records"] = [zone_rr("acct1", ["10.1.0.4"]), zone_rr("acct3", ["10.1.0.7"]),
                    zone_rr("bad", ["8.8.8.8"])]
    s.arm.set_data(data)
    wait_for(lambda: "8.8.8.8" in s.log(), "the public address reported")
    log = s.log()
    expect("azure \"contoso\": /subscriptions/%s/resourceGroups/rg-dns/providers/Microsoft.Network/"
           "privateDnsZones/%s/A/bad" % (SUB1, BLOB) in log, "the message names the record set", log[-2000:])
    eq(rcode_of(s.port, "acct3.%s." % BLOB), "NXDOMAIN", "no part of the rejected sync served")
    eq(a_of(s.port, "acct2.%s." % BLOB), ["10.1.0.5"], "previous data kept")


@test("faults: after a rejected sync the store holds the previous data, so other changes still load")
def t_fault_rejected_store(t):
    data = fakearm.sample_data()
    t.dir.write("dns.csv", "FQDN,IP Address\r\nkv8.vault.azure.net,10.6.0.8\r\n")
    s = Setup(t, data, interval=1, records={"sources": "dns.csv"})
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "first sync")
    z = data["subscriptions"][SUB1]["zones"][BLOB]
    z["records"].append(zone_rr("bad", ["8.8.8.8"]))
    s.arm.set_data(data)
    wait_for(lambda: "8.8.8.8" in s.log(), "the public address reported")
    # A change of another source, while Azure still says 8.8.8.8: the
    # reload it causes takes the store's data, which must be the last good.
    t.dir.write("dns.csv", "FQDN,IP Address\r\nkv9.vault.azure.net,10.6.0.9\r\n")
    wait_for(lambda: a_of(s.port, "kv9.vault.azure.net.") == ["10.6.0.9"],
             "the CSV change is in service", 10)
    eq(a_of(s.port, "acct2.%s." % BLOB), ["10.1.0.5"], "the synced data kept")
    eq(rcode_of(s.port, "bad.%s." % BLOB), "NXDOMAIN", "nothing of the rejected sync")


@test("faults: rejected syncs leave the served data as old as it is, in /status and state_dir")
def t_fault_rejected_age(t):
    data = fakearm.sample_data()
    s = control_setup(t, data, interval=1)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "first sync")
    path = s.state_path()

    def section():
        return json.loads(http(s.cport, "GET", "/status")[1])["azure"][0]
    data["subscriptions"][SUB1]["zones"][BLOB]["records"].append(zone_rr("bad", ["8.8.8.8"]))
    s.arm.set_data(data)
    wait_for(lambda: "8.8.8.8" in s.log(), "the public address reported")
    at = section()["synced_at"]
    n = s.zone_lists()
    wait_for(lambda: s.zone_lists() >= n + 2, "two more syncs, rejected too")
    az = section()
    eq(az["synced_at"], at, "synced_at after more rejected syncs")
    expect(az["age"] >= 2, "the age grows while syncs are rejected", az)
    eq(json.load(open(path))["synced_at"], at, "the state file's time is the data's")
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.4"], "the previous data still served")


@test("sync: syncs that change nothing keep the state file's time current")
def t_state_fresh(t):
    s = Setup(t, interval=1)
    s.wait_synced()
    path = s.state_path()
    first = json.load(open(path))
    wait_for(lambda: json.load(open(path))["synced_at"] >= first["synced_at"] + 2,
             "the state file rewritten by later syncs", 10)
    eq(json.load(open(path))["data"], first["data"], "the same data")
    eq(s.count("\": synced "), 1, "one sync changed something")


@test("faults: a conflict with a CSV source names both origins")
def t_fault_conflict(t):
    s = Setup(t, interval=1, start=False, records={"sources": "dns.csv"})
    t.dir.write("dns.csv", "FQDN,IP Address\r\nacct1.blob.core.windows.net,10.1.0.99\r\n")
    from harness import Pldns
    d = Pldns(t.dir, s.conf, port=s.port)
    t.owned.append(d)
    s.d = d
    wait_for(lambda: "sync failed" in s.log(), "the conflict reported")
    log = s.log()
    expect("dns.csv:2" in log and "privateDnsZones/%s/A/acct1" % BLOB in log,
           "both origins named", log[-2000:])
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.99"], "the CSV's data still served")


@test("faults: TLS with a certificate for another name, and from an untrusted CA")
def t_fault_tls(t):
    for kind, text in (("wrongname", "SSL"), ("untrusted", "SSL")):
        arm = FakeArm(pki(kind))
        t.owned.append(arm)
        port = free_port()
        conf = make_config(port, upstreams=["127.0.0.1:%d" % free_port()],
                           server={"state_dir": t.dir.join("state-" + kind)},
                           extra=[azure_section(arm, interval=1, ca=pki("good")["ca"])] + daemon_extra())
        os.chmod(t.dir.write("secret", SECRET), 0o600)
        from harness import Pldns
        d = Pldns(t.dir, conf, port=port, name="pldns-" + kind)
        t.owned.append(d)
        wait_for(lambda: "sync failed" in d.log_text(), "TLS failure (%s) reported" % kind)
        expect(text in d.log_text(), "the TLS problem is named (%s)" % kind, d.log_text()[-1000:])
        expect(len(arm.requests()) == 0, "no request got through (%s)" % kind, arm.requests())


@test("faults: an unreachable login endpoint, a world-readable secret file")
def t_fault_login(t):
    s = fault_keeps_data(t, "login down", lambda a: (a.revoke_tokens(), a.add_fault(
        "/oauth2/v2.0/token", status=503, times=-1)), "no token", timeout=20)
    os.chmod(s.dir.join("secret"), 0o644)
    s.arm.clear_faults()
    s.arm.revoke_tokens()
    wait_for(lambda: "may be read by its group or others" in s.log(), "mode refused")
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.4"], "data kept")


@test("restart with Azure unreachable serves the last good sync from state_dir")
def t_restart(t):
    s = Setup(t, interval=1)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "first sync")
    s.d.stop()
    s.arm.stop()
    t.owned.remove(s.arm)
    from harness import Pldns
    d2 = Pldns(t.dir, s.conf, port=s.port, name="pldns2")
    t.owned.append(d2)
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.4"], "served at once after restart")
    expect("serving 2 records from the last good sync" in d2.log_text(),
           "the data's age reported at start", d2.log_text()[-1000:])
    wait_for(lambda: "sync failed" in d2.log_text(), "the failed sync reported")
    eq(a_of(s.port, "acct2.%s." % BLOB), ["10.1.0.5"], "still served")


@test("restart with Azure reachable: a first sync equal to state_dir's data reloads nothing")
def t_restart_same(t):
    s = control_setup(t, interval=3600)
    s.wait_synced()
    path = s.state_path()
    s.d.stop()
    from harness import Pldns
    d2 = Pldns(t.dir, s.conf, port=s.port, name="pldns2")
    t.owned.append(d2)
    wait_for(lambda: json.loads(http(s.cport, "GET", "/status")[1])["azure"][0]["syncs"] >= 1,
             "the first sync after the restart")
    az = json.loads(http(s.cport, "GET", "/status")[1])["azure"][0]
    eq(az["last_error"], None, "the sync succeeded")
    log = d2.log_text()
    eq(log.count("reloaded:"), 0, "reloads after a sync equal to the state file")
    expect("\": synced " not in log, "the sync changed nothing", log[-1500:])
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.4"], "served")


@test("tokens are renewed before they expire")
def t_token_renewal(t):
    def sections(arm):
        arm.state.token_life = 4
        return [azure_section(arm, interval=1)]
    s = Setup(t, sections=sections)
    s.wait_synced()
    wait_for(lambda: s.arm.state.logins >= 4, "tokens renewed", 15)
    eq(s.arm.state.unauthorized, 0, "ARM requests refused for an expired token")


@test("no secret, assertion or token in the log, the state file or sync's output")
def t_no_secrets(t):
    s = Setup(t, interval=1)
    s.wait_synced()
    s.arm.add_fault("/oauth2/v2.0/token", status=401, times=-1, body={
        "error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
    s.arm.revoke_tokens()
    wait_for(lambda: "AADSTS7000215" in s.log(), "login failure logged")
    with s.arm.state.lock:
        tokens = list(s.arm.state.tokens) + [h[7:] for h in s.arm.state.seen_headers
                                             if h.startswith("Bearer ")]
    outputs = [s.log(), open(os.path.join(s.state, "azure-contoso.json")).read()]
    rc, out, err = run_pldns(["sync", "-c", s.d.conf, "--dry-run"])
    outputs += [out, err]
    for text in outputs:
        for secret in [SECRET] + tokens:
            expect(secret not in text, "no secret or token in output", secret)


@test("pldns sync --dry-run prints the changes record by record and writes nothing")
def t_dry_run(t):
    data = fakearm.sample_data()
    s = Setup(t, data, start=False)
    rc, out, err = run_pldns(["sync", "-c", s.conf_path])
    eq(rc, 0, "first sync exit status (stderr: %s)" % err)
    expect("+ acct1.%s A 10.1.0.4" % BLOB in out, "added record printed", out)
    z = data["subscriptions"][SUB1]["zones"][BLOB]
    z["records"] = [zone_rr("acct1", ["10.1.0.40"]), zone_rr("acct3", ["10.1.0.6"])]
    s.arm.set_data(data)
    before = open(os.path.join(s.state, "azure-contoso.json")).read()
    rc, out, err = run_pldns(["sync", "-c", s.conf_path, "--dry-run", "contoso"])
    eq(rc, 0, "dry run exit status (stderr: %s)" % err)
    lines = [l for l in out.splitlines() if l[:2] in ("+ ", "- ", "~ ")]
    eq(lines, ["~ acct1.%s A 10.1.0.4 -> 10.1.0.40" % BLOB,
               "- acct2.%s A 10.1.0.5" % BLOB,
               "+ acct3.%s A 10.1.0.6" % BLOB], "the diff")
    eq(open(os.path.join(s.state, "azure-contoso.json")).read(), before, "state file unchanged")
    rc, out, err = run_pldns(["sync", "-c", s.conf_path, "nosuch"])
    eq(rc, 78, "unknown section")


def assertion_checker(pem):
    """Checks a client assertion as Entra would: PS256 over header.claims
    with the certificate's key, x5t#S256 its thumbprint."""
    import base64
    import hashlib
    import subprocess

    def b64d(s):
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

    def check(a):
        h, c, sig = a.split(".")
        hdr, cl = json.loads(b64d(h)), json.loads(b64d(c))
        der = subprocess.run(["openssl", "x509", "-in", pem, "-outform", "DER"],
                             capture_output=True, check=True).stdout
        want = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
        if hdr.get("alg") != "PS256" or hdr.get("x5t#S256") != want:
            return False
        if cl.get("iss") != CLIENT or cl.get("sub") != CLIENT or not cl.get("jti"):
            return False
        if not cl["nbf"] <= time.time() + 5 < cl["exp"] <= time.time() + 660:
            return False
        d = os.path.dirname(pem)
        open(os.path.join(d, "in.bin"), "wb").write((h + "." + c).encode())
        open(os.path.join(d, "sig.bin"), "wb").write(b64d(sig))
        subprocess.run(["openssl", "x509", "-in", pem, "-pubkey", "-noout", "-out",
                        os.path.join(d, "pub.pem")], check=True)
        r = subprocess.run(["openssl", "dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss",
                            "-sigopt", "rsa_pss_saltlen:32", "-verify", os.path.join(d, "pub.pem"),
                            "-signature", os.path.join(d, "sig.bin"), os.path.join(d, "in.bin")],
                           capture_output=True)
        return r.returncode == 0
    return check


@test("auth = certificate: a PS256 client assertion with x5t#S256")
def t_auth_certificate(t):
    d = t.dir.path
    key, crt = os.path.join(d, "app.key"), os.path.join(d, "app.crt")
    import subprocess
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "1", "-subj", "/CN=pldns app"], check=True,
                   capture_output=True)
    pem = t.dir.write("app.pem", open(crt).read() + open(key).read())
    os.chmod(pem, 0o600)

    def sections(arm):
        arm.state.auth["assertion"] = assertion_checker(pem)
        return [azure_section(arm, auth="certificate", certificate_file=pem)]
    s = Setup(t, sections=sections)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "synced with a certificate")


@test("auth = federated: the token file is read again at each use")
def t_auth_federated(t):
    tokfile = t.dir.write("fed.jwt", "header.first.sig\n")
    seen = []

    def sections(arm):
        arm.state.auth["assertion"] = lambda a: seen.append(a) or a in ("header.first.sig", "header.second.sig")
        return [azure_section(arm, auth="federated", token_file=tokfile)]
    s = Setup(t, sections=sections)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "synced with a federated token")
    with open(tokfile, "w") as f:
        f.write("header.second.sig\n")
    s.arm.revoke_tokens()
    wait_for(lambda: "header.second.sig" in seen, "the new token file used")


@test("auth = arc: the challenge file inside identity_key_dir; a path outside it refused")
def t_auth_arc(t):
    keydir = t.dir.join("tokens")
    os.makedirs(keydir)
    keyfile = os.path.join(keydir, "abc.key")
    with open(keyfile, "w") as f:
        f.write("challenge-content-123")

    def sections(arm):
        arm.state.auth.update(identity="arc", realm=keyfile, challenge="challenge-content-123")
        return [azure_section(arm, auth="arc", identity_key_dir=keydir)]
    s = Setup(t, sections=sections)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "synced with Arc")
    outside = t.dir.write("evil.key", "x")
    s.arm.state.auth["realm"] = outside
    s.arm.revoke_tokens()
    wait_for(lambda: "outside identity_key_dir" in s.log(), "path outside refused")
    expect("challenge-content-123" not in s.log(), "challenge content not logged")
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.4"], "data kept")


@test("proxies: https_proxy is used for ARM unless proxy = none; identity endpoints never use one")
def t_proxy(t):
    dead = "http://127.0.0.1:%d" % free_port()
    saved = {k: os.environ.get(k) for k in ("http_proxy", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY")}
    os.environ.update(http_proxy=dead, https_proxy=dead, HTTPS_PROXY=dead)
    os.environ.pop("no_proxy", None)
    os.environ.pop("NO_PROXY", None)
    keydir = t.dir.join("tokens")
    os.makedirs(keydir)
    with open(os.path.join(keydir, "a.key"), "w") as f:
        f.write("chal")

    def arc(proxy):
        def sections(arm):
            arm.state.auth.update(identity="arc", realm=os.path.join(keydir, "a.key"), challenge="chal")
            return [azure_section(arm, auth="arc", identity_key_dir=keydir, proxy=proxy)]
        return sections
    try:
        s = Setup(t, sections=arc(None))
        wait_for(lambda: "sync failed" in s.log(), "ARM through the dead proxy fails")
        expect("cannot reach" in s.log(), "the proxy's failure reported", s.log()[-1500:])
        expect(s.arm.state.logins >= 1, "the Arc token was got directly, not through the proxy",
               s.arm.requests())
        s.d.stop()
        s2 = Setup(t, sections=arc("none"))
        wait_for(lambda: a_of(s2.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "proxy = none: direct")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@test("auth = vm: the instance metadata identity endpoint")
def t_auth_vm(t):
    def sections(arm):
        arm.state.auth.update(identity="vm")
        return [azure_section(arm, auth="vm")]
    s = Setup(t, sections=sections)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "synced with IMDS")


@test("read = endpoints: custom DNS configs and zone groups; a zone group outside the table rejected")
def t_endpoints(t):
    data = fakearm.sample_data()
    data["subscriptions"][SUB1]["endpoints"] = [
        {"name": "pe-kv", "customDnsConfigs": [{"fqdn": "kv1.vault.azure.net", "ips": ["10.5.0.4"]}],
         "zoneGroup": [{"zone": "privatelink.vaultcore.azure.net",
                        "recordSets": [{"name": "kv1", "ips": ["10.5.0.4"]}]}]},
        {"name": "pe-sql", "customDnsConfigs": [],
         "zoneGroup": [{"zone": "privatelink.database.windows.net",
                        "recordSets": [{"name": "sql1", "ips": ["10.5.0.5"]}]}]},
    ]
    s = Setup(t, data, read="zones, endpoints")
    wait_for(lambda: a_of(s.port, "kv1.vault.azure.net.") == ["10.5.0.4"], "endpoint's name")
    eq(a_of(s.port, "sql1.database.windows.net."), ["10.5.0.5"], "zone group record")
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.4"], "zone records too")
    data["subscriptions"][SUB1]["endpoints"][1]["zoneGroup"][0]["zone"] = "corp.example"
    s.arm.set_data(data)
    wait_for(lambda: "corp.example is not an Azure private link zone" in s.log(), "bad zone group")
    eq(a_of(s.port, "sql1.database.windows.net."), ["10.5.0.5"], "data kept")


@test("NxDomainRedirect links make the zone fall back; an explicit [zone] missing wins")
def t_fallback(t):
    data = fakearm.sample_data()
    zs = data["subscriptions"][SUB1]["zones"]
    zs[BLOB]["links"] = [{"name": "hub", "resolutionPolicy": "NxDomainRedirect"}]
    zs["privatelink.vaultcore.azure.net"] = {"rg": "rg-dns", "records": [zone_rr("kv", ["10.6.0.1"])],
                                             "links": [{"name": "hub", "resolutionPolicy": "NxDomainRedirect"}]}
    # The blob zone has a [zone] section too, but one that says nothing
    # of missing: the link decides.
    s = Setup(t, data, zones=[("privatelink.vaultcore.azure.net", {"missing": "nxdomain"}),
                              (BLOB, {"multi": "yes"})])
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "synced")
    # The upstream is down: a name forwarded gets SERVFAIL, not NXDOMAIN.
    eq(rcode_of(s.port, "nosuch.%s." % BLOB), "SERVFAIL", "missing name forwarded (fallback)")
    eq(rcode_of(s.port, "nosuch.privatelink.vaultcore.azure.net."), "NXDOMAIN",
       "explicit missing = nxdomain wins")


@test("subscriptions = all: every subscription the identity can read")
def t_all_subs(t):
    data = fakearm.sample_data()
    data["subscriptions"][SUB2] = {"zones": {"privatelink.file.core.windows.net": {
        "rg": "rg2", "records": [zone_rr("share", ["10.7.0.1"])], "links": []}}, "endpoints": []}
    s = Setup(t, data, subscriptions="all")
    wait_for(lambda: a_of(s.port, "share.privatelink.file.core.windows.net.") == ["10.7.0.1"],
             "second subscription's zone")
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.4"], "first subscription's zone")


@test("check-config: [azure] keys checked with file:line messages")
def t_check_config(t):
    conf = t.dir.write("bad.ini", "\n".join([
        "[azure \"x\"]", "auth = secret", "subscriptions = not-a-guid",
        "management_url = http://plain.example", "read = zones, dns", ""]))
    rc, out, err = run_pldns(["check-config", "-c", conf])
    eq(rc, 78, "exit status")
    for want in ("bad.ini:3: bad value for subscriptions: \"not-a-guid\" is not a GUID",
                 "bad.ini:4: bad value for management_url",
                 "bad.ini:5: bad value for read: \"dns\" is not one of zones, endpoints",
                 "bad.ini:1: [azure \"x\"]: tenant is required with auth = secret",
                 "bad.ini:1: [azure \"x\"]: secret_file is required with auth = secret"):
        expect(want in out + err, "message: " + want, out + err)


def control_setup(t, data=None, **kw):
    """A daemon with its control endpoint on a free loopback port and a
    token file."""
    cport = free_port()
    tok = t.dir.write("ctl.token", "ctl-token-0123456789abcdef\n")
    os.chmod(tok, 0o600)

    def sections(arm):
        return [azure_section(arm, **kw), ("control", {"listen": "127.0.0.1:%d" % cport,
                                                      "token_file": tok})]
    import harness
    saved = harness.DAEMON_EXTRA
    harness.DAEMON_EXTRA = []
    try:
        s = Setup(t, data, sections=sections)
    finally:
        harness.DAEMON_EXTRA = saved
    s.cport = cport
    s.token = tok
    return s


def http(port, method, path, token=None):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    h = {"Authorization": "Bearer " + token} if token else {}
    c.request(method, path, headers=h)
    r = c.getresponse()
    return r.status, r.read().decode()


@test("pldns ctl sync and POST /sync sync now; they need the token as POST /reload does")
def t_ctl_sync(t):
    data = fakearm.sample_data()
    s = control_setup(t, interval=3600)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "first sync")
    data["subscriptions"][SUB1]["zones"][BLOB]["records"].append(zone_rr("now", ["10.1.0.8"]))
    s.arm.set_data(data)
    st, body = http(s.cport, "POST", "/sync")
    eq(st, 401, "POST /sync without the token")
    rc, out, err = run_pldns(["ctl", "-c", s.d.conf, "sync", "contoso"])
    eq(rc, 0, "ctl sync exit status (%s%s)" % (out, err))
    expect("sync started for azure \"contoso\"" in out, "ctl sync says what it started", out)
    wait_for(lambda: a_of(s.port, "now.%s." % BLOB) == ["10.1.0.8"], "the new name after ctl sync", 5)
    st, body = http(s.cport, "POST", "/sync?name=nosuch", "ctl-token-0123456789abcdef")
    eq(st, 404, "an unknown section")
    st, body = http(s.cport, "POST", "/sync", "ctl-token-0123456789abcdef")
    eq(st, 202, "POST /sync with the token")


@test("/status, the status page, ctl status and /metrics show each section")
def t_status_metrics(t):
    s = control_setup(t, interval=1)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "first sync")
    st, body = http(s.cport, "GET", "/status")
    az = json.loads(body)["azure"]
    eq(len(az), 1, "one section in /status")
    eq((az[0]["name"], az[0]["records"], az[0]["last_error"]), ("contoso", 2, None), "section state")
    expect(az[0]["last_success"] > 0 and az[0]["age"] is not None and az[0]["age"] < 60,
           "last success and age", az[0])
    s.arm.add_fault("/ALL?", status=403, code="AuthorizationFailed", times=-1)
    wait_for(lambda: json.loads(http(s.cport, "GET", "/status")[1])["azure"][0]["last_error"],
             "the error in /status")
    st, metrics = http(s.cport, "GET", "/metrics")
    for want in ('pldns_sync_records{azure="contoso"} 2',
                 'pldns_sync_last_success_timestamp_seconds{azure="contoso"} ',
                 'pldns_sync_errors_total{azure="contoso"} '):
        expect(want in metrics, "metric " + want, [l for l in metrics.splitlines() if "sync" in l])
    errs = [l for l in metrics.splitlines() if l.startswith("pldns_sync_errors_total{")]
    expect(int(errs[0].split()[-1]) >= 1, "errors counted", errs)
    rc, out, err = run_pldns(["ctl", "-c", s.d.conf, "status"])
    expect("azure \"contoso\": 2 records" in out and "403" in out, "ctl status shows the section", out)
    st, page = http(s.cport, "GET", "/")
    expect("Synced from Azure" in page, "the status page has the section")
    for secret in [SECRET, "ctl-token-0123456789abcdef"]:
        expect(secret not in body + metrics + out, "no secret in status or metrics")


@test("a sync the reload guard holds is kept: --force applies it and keeps it in state_dir")
def t_held_force(t):
    data = fakearm.sample_data()
    s = control_setup(t, interval=1)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "first sync")
    path = s.state_path()
    data["subscriptions"][SUB1]["zones"][BLOB]["records"] = []
    s.arm.set_data(data)

    def status():
        return json.loads(http(s.cport, "GET", "/status")[1])
    wait_for(lambda: status()["reload"]["state"] == "held", "the sync's reload held")
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.4"], "old answer while held")
    n = s.zone_lists()
    wait_for(lambda: s.zone_lists() >= n + 2, "more syncs of the same data")
    az = status()["azure"][0]
    expect((az["last_error"] or "").startswith(
        "the synced data is held by the reload guard: ") and
        "pldns ctl reload --force applies it" in az["last_error"],
        "the section says its data is held", az)
    eq(status()["reload"]["state"], "held", "still held after equal syncs")
    eq(a_of(s.port, "acct1.%s." % BLOB), ["10.1.0.4"], "old answer after equal syncs")
    eq(len(json.load(open(path))["data"]["sets"]), 2, "state file keeps the data in service")
    rc, out, err = run_pldns(["ctl", "-c", s.d.conf, "reload", "--force"])
    eq(rc, 0, "ctl reload --force exit status (%s%s)" % (out, err))
    eq(rcode_of(s.port, "acct1.%s." % BLOB), "NXDOMAIN", "the held sync applied")
    # The sync thread writes the state file, just after the reload.
    wait_for(lambda: json.load(open(path))["data"]["sets"] == [],
             "the state file holds the applied data")
    az = status()["azure"][0]
    eq(az["last_error"], None, "the section no longer reports an error")
    expect(az["last_success"] > 0, "the section counts as synced", az)


@test("pldns doctor fails a sync older than three intervals and shows the last error")
def t_doctor(t):
    s = Setup(t, interval=1)
    wait_for(lambda: a_of(s.port, "acct1.%s." % BLOB) == ["10.1.0.4"], "first sync")
    rc, out, err = run_pldns(["doctor", "-c", s.d.conf, "--json"])
    f = [x for x in json.loads(out) if x["check"] == "azure-sync"]
    eq([x["status"] for x in f], ["ok"], "fresh sync: doctor says ok (%s)" % f)
    s.arm.add_fault("/privateDnsZones?", status=403, code="AuthorizationFailed", times=-1,
                    message="no read on privateDnsZones")
    wait_for(lambda: "sync failed" in s.log(), "failure")
    time.sleep(3.5)
    rc, out, err = run_pldns(["doctor", "-c", s.d.conf, "--json"])
    f = [x for x in json.loads(out) if x["check"] == "azure-sync"]
    eq(len(f), 1, "one finding per section")
    eq(f[0]["status"], "problem", "stale sync is a problem (%s)" % f)
    expect("403" in f[0].get("hint", "") and "no read on privateDnsZones" in f[0]["hint"],
           "the last error shown", f)
    expect(rc != 0, "doctor exits non-zero", rc)


if __name__ == "__main__":
    main()
