#!/usr/bin/python3
"""fakearm: a fake Azure Resource Manager, Entra login endpoint and Azure
Arc / VM identity endpoint, on loopback, for pldns's sync tests and
benchmark.

Bodies follow the documented REST shapes: private DNS zones and their
record sets (properties.aRecords[].ipv4Address, fqdn with a trailing dot),
virtual network links (properties.resolutionPolicy), private endpoints
(properties.customDnsConfigs[]) and their zone groups
(privateDnsZoneConfigs[].properties.recordSets[]), GET /subscriptions.
Lists are paged; nextLink is an opaque URL (as Azure's own may leave the
zone out of the path), so a client that builds page URLs itself fails.

ARM and login speak HTTPS (certificate given), the identity endpoint plain
HTTP, each on its own loopback port.  Every request needs a valid token
(ARM) or credential (login) and an api-version.  Faults are injected by
path substring: a status with a body and headers, a broken body, a
nextLink loop, a delay, N times or for ever.

In a test:  arm = FakeArm(pki, data); ... arm.stop()
By hand:    fakearm.py --dir DIR [--zones N --sets N --endpoints N --page N]
            prints "fakearm ready arm=PORT identity=PORT ca=FILE" and serves
            until killed (for tests/bench/sync_bench.py).
"""

import base64
import copy
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SECRET = "s3cr3t-Value~with.special&chars="
SUB1 = "00000000-0000-0000-0000-000000000001"
SUB2 = "00000000-0000-0000-0000-000000000002"
API_DNS = "2024-06-01"
API_NET = "2025-09-01"


def make_pki(d, names=("IP:127.0.0.1", "DNS:localhost"), prefix=""):
    """A CA and a server certificate signed by it, with openssl.
    Returns {"ca": file, "cert": file, "key": file}."""
    ca_key = os.path.join(d, prefix + "ca.key")
    ca = os.path.join(d, prefix + "ca.pem")
    key = os.path.join(d, prefix + "server.key")
    csr = os.path.join(d, prefix + "server.csr")
    cert = os.path.join(d, prefix + "server.pem")
    ext = os.path.join(d, prefix + "ext.cnf")

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key,
        "-out", ca, "-days", "2", "-subj", "/CN=pldns test CA " + prefix)
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=fake arm")
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\n" % ",".join(names))
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
        "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
    return {"ca": ca, "cert": cert, "key": key}


def zone_rr(name, ips, ttl=10, rtype="A"):
    return {"name": name, "type": rtype, "ttl": ttl, "ips": list(ips)}


def sample_data():
    """One subscription, one zone with two names, one link."""
    return {
        "subscriptions": {
            SUB1: {
                "zones": {
                    "privatelink.blob.core.windows.net": {
                        "rg": "rg-dns",
                        "records": [zone_rr("acct1", ["10.1.0.4"]),
                                    zone_rr("acct2", ["10.1.0.5"])],
                        "links": [{"name": "hub", "resolutionPolicy": "Default"}],
                    },
                    "contoso.example": {"rg": "rg-dns", "records": [
                        zone_rr("app", ["10.9.9.9"])], "links": []},
                },
                "endpoints": [],
            },
        },
    }


class State:
    def __init__(self, data, page=100):
        self.lock = threading.Lock()
        self.data = copy.deepcopy(data)
        self.page = page
        self.faults = []          # dicts: match, status, body, headers, times, ...
        self.requests = []        # (method, path)
        self.tokens = {}          # token -> expiry (monotonic)
        self.token_life = 3599
        self.auth = {}            # what login/identity accept, set by FakeArm
        self.pages = {}           # opaque page id -> (items, start)
        self.next_page = 1
        self.logins = 0
        self.unauthorized = 0     # ARM requests refused for their token
        self.seen_headers = []    # every Authorization header and form seen


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        # Headers and body go out in two writes: without this, Nagle and
        # delayed ACKs hold every answer on a kept-alive connection 40 ms.
        import socket
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        BaseHTTPRequestHandler.setup(self)

    @property
    def st(self):
        return self.server.state

    def send_json(self, status, obj, headers=None, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def fault(self):
        """The first fault matching this request, consumed; or None."""
        with self.st.lock:
            for f in self.st.faults:
                if f["match"] in self.path and f.get("times", 1) != 0:
                    if f.get("times", -1) > 0:
                        f["times"] -= 1
                    return dict(f)
        return None

    def apply_fault(self, f):
        if f.get("delay"):
            time.sleep(f["delay"])
        if f.get("truncate"):
            body = b'{"value": [{"name": "tru'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) + 100))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return True
        if "status" in f:
            raw = f.get("raw")
            self.send_json(f["status"], f.get("body", {"error": {
                "code": f.get("code", "Fault"), "message": f.get("message", "injected")}}),
                headers=f.get("headers"), raw=raw.encode() if raw is not None else None)
            return True
        return False

    # ---- login ----
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        with self.st.lock:
            self.st.requests.append(("POST", self.path))
            self.st.seen_headers.append(body)
        f = self.fault()
        if f and self.apply_fault(f):
            return
        u = urllib.parse.urlparse(self.path)
        form = urllib.parse.parse_qs(body)
        if not u.path.endswith("/oauth2/v2.0/token"):
            return self.send_json(404, {"error": "not_found"})
        tenant = u.path.split("/")[1]
        want = self.st.auth
        ok = (tenant == TENANT and form.get("grant_type") == ["client_credentials"]
              and form.get("client_id") == [CLIENT]
              and form.get("scope") == [want.get("scope")])
        if "client_secret" in form:
            ok = ok and form["client_secret"] == [want.get("secret")]
        elif form.get("client_assertion_type") == [
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]:
            a = form.get("client_assertion", [""])[0]
            check = want.get("assertion")
            ok = ok and check is not None and check(a)
        else:
            ok = False
        if not ok:
            return self.send_json(401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"})
        self.st.logins += 1
        self.send_json(200, {"token_type": "Bearer", "expires_in": self.st.token_life,
                             "access_token": self.new_token()})

    def new_token(self):
        with self.st.lock:
            t = "tok-%d-%s" % (len(self.st.tokens) + 1, base64.urlsafe_b64encode(os.urandom(9)).decode())
            self.st.tokens[t] = time.monotonic() + self.st.token_life
        return t

    # ---- identity (Arc, VM) and ARM ----
    def do_GET(self):
        with self.st.lock:
            self.st.requests.append(("GET", self.path))
            self.st.seen_headers.append(self.headers.get("Authorization", ""))
        f = self.fault()
        if f and self.apply_fault(f):
            return
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path == "/metadata/identity/oauth2/token":
            return self.identity(q)
        auth = self.headers.get("Authorization", "")
        tok = auth[7:] if auth.startswith("Bearer ") else None
        with self.st.lock:
            exp = self.st.tokens.get(tok)
        if exp is None or exp < time.monotonic():
            with self.st.lock:
                self.st.unauthorized += 1
            return self.send_json(401, {"error": {"code": "InvalidAuthenticationToken",
                                                  "message": "The access token is invalid."}})
        if "api-version" not in q:
            return self.send_json(400, {"error": {"code": "MissingApiVersionParameter",
                                                  "message": "The api-version query parameter is required."}})
        if u.path.startswith("/_page/"):
            return self.page(u.path[7:], q)
        return self.arm(u.path, q)

    def identity(self, q):
        want = self.st.auth
        if self.headers.get("Metadata") != "true":
            return self.send_json(400, {"error": "bad_request", "error_description": "Metadata header"})
        if q.get("resource") != [want.get("resource")]:
            return self.send_json(400, {"error": "invalid_resource"})
        mode = want.get("identity")
        if mode == "arc":
            auth = self.headers.get("Authorization")
            if auth is None:
                realm = want.get("realm")
                return self.send_json(401, {"error": "unauthorized"},
                                      headers={"WWW-Authenticate": "Basic realm=%s" % realm})
            if auth != "Basic " + want.get("challenge", "\0"):
                return self.send_json(401, {"error": "invalid challenge"})
        elif mode != "vm":
            return self.send_json(404, {"error": "no identity"})
        self.st.logins += 1
        # Managed identity endpoints write numbers as strings.
        self.send_json(200, {"access_token": self.new_token(),
                             "expires_in": str(self.st.token_life),
                             "resource": want.get("resource"), "token_type": "Bearer"})

    def paged(self, items, base_query):
        """The first page of ITEMS; later pages by an opaque nextLink."""
        n = self.st.page
        if len(items) <= n:
            return self.send_json(200, {"value": items})
        with self.st.lock:
            pid = "p%d" % self.st.next_page
            self.st.next_page += 1
            self.st.pages[pid] = items
        self.send_json(200, {"value": items[:n], "nextLink": self.link(pid, n)})

    def link(self, pid, start):
        host = self.headers.get("Host")
        return "https://%s/_page/%s?api-version=%s&$skipToken=%s" % (
            host, pid, API_DNS, base64.urlsafe_b64encode(str(start).encode()).decode())

    def page(self, pid, q):
        with self.st.lock:
            items = self.st.pages.get(pid)
        if items is None:
            return self.send_json(404, {"error": {"code": "NotFound", "message": "no page"}})
        start = int(base64.urlsafe_b64decode(q["$skipToken"][0]).decode())
        n = self.st.page
        out = {"value": items[start:start + n]}
        if start + n < len(items):
            out["nextLink"] = self.link(pid, start + n)
        self.send_json(200, out)

    def arm(self, path, q):
        parts = path.strip("/").split("/")
        # set_data() replaces the whole dict: a reference is a snapshot.
        with self.st.lock:
            data = self.st.data
        subs = data["subscriptions"]
        if parts == ["subscriptions"]:
            return self.paged([{"id": "/subscriptions/" + s, "subscriptionId": s,
                                "displayName": "sub " + s[-1], "state": "Enabled"}
                               for s in subs], q)
        if len(parts) < 2 or parts[0] != "subscriptions":
            return self.send_json(404, {"error": {"code": "NotFound", "message": path}})
        sub = parts[1]
        if sub not in subs:
            return self.send_json(404, {"error": {"code": "SubscriptionNotFound",
                                                  "message": "The subscription '%s' could not be found." % sub}})
        s = subs[sub]
        if parts[2:] == ["providers", "Microsoft.Network", "privateDnsZones"]:
            return self.paged([self.zone_obj(sub, z, zd) for z, zd in s.get("zones", {}).items()], q)
        if parts[2:] == ["providers", "Microsoft.Network", "privateEndpoints"]:
            return self.paged([self.pe_obj(sub, pe) for pe in s.get("endpoints", [])], q)
        # /subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/privateDnsZones/Z/ALL
        if len(parts) >= 9 and parts[6] == "privateDnsZones":
            z = parts[7]
            zd = s.get("zones", {}).get(z)
            if zd is None or zd["rg"] != parts[3]:
                return self.send_json(404, {"error": {"code": "ResourceNotFound", "message": z}})
            if parts[8] == "ALL":
                return self.paged([self.rrset_obj(sub, z, zd, r) for r in zd["records"]]
                                  + [self.soa_obj(sub, z, zd)], q)
            if parts[8] == "virtualNetworkLinks":
                return self.paged([{"id": self.zone_id(sub, z, zd) + "/virtualNetworkLinks/" + l["name"],
                                    "name": l["name"], "type": "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
                                    "properties": {"registrationEnabled": False,
                                                   "resolutionPolicy": l.get("resolutionPolicy", "Default"),
                                                   "virtualNetworkLinkState": "Completed",
                                                   "provisioningState": "Succeeded"}}
                                   for l in zd.get("links", [])], q)
        if len(parts) >= 9 and parts[6] == "privateEndpoints" and parts[8] == "privateDnsZoneGroups":
            for pe in s.get("endpoints", []):
                if pe["name"] == parts[7]:
                    groups = []
                    if pe.get("zoneGroup"):
                        groups.append(self.group_obj(sub, pe))
                    return self.paged(groups, q)
            return self.send_json(404, {"error": {"code": "ResourceNotFound", "message": parts[7]}})
        return self.send_json(404, {"error": {"code": "NotFound", "message": path}})

    @staticmethod
    def zone_id(sub, z, zd):
        return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/privateDnsZones/%s" % (
            sub, zd["rg"], z)

    def zone_obj(self, sub, z, zd):
        return {"id": self.zone_id(sub, z, zd), "name": z, "type": "Microsoft.Network/privateDnsZones",
                "location": "global", "properties": {"numberOfRecordSets": len(zd["records"]) + 1}}

    def rrset_obj(self, sub, z, zd, r):
        t = r.get("type", "A")
        props = {"ttl": r.get("ttl", 10), "fqdn": "%s.%s." % (r["name"], z) if r["name"] != "@" else z + ".",
                 "isAutoRegistered": False, "metadata": r.get("metadata", {})}
        if t == "A":
            props["aRecords"] = [{"ipv4Address": ip} for ip in r["ips"]]
        elif t == "AAAA":
            props["aaaaRecords"] = [{"ipv6Address": ip} for ip in r["ips"]]
        elif t == "CNAME":
            props["cnameRecord"] = {"cname": r["ips"][0]}
        return {"id": "%s/%s/%s" % (self.zone_id(sub, z, zd), t, r["name"]), "name": r["name"],
                "type": "Microsoft.Network/privateDnsZones/" + t, "etag": "e", "properties": props}

    def soa_obj(self, sub, z, zd):
        return {"id": self.zone_id(sub, z, zd) + "/SOA/@", "name": "@",
                "type": "Microsoft.Network/privateDnsZones/SOA",
                "properties": {"ttl": 3600, "fqdn": z + ".", "soaRecord": {
                    "email": "azureprivatedns-host.microsoft.com", "host": "azureprivatedns.net",
                    "serialNumber": 1, "minimumTtl": 10, "refreshTime": 3600, "retryTime": 300,
                    "expireTime": 2419200}}}

    @staticmethod
    def pe_id(sub, pe):
        return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/privateEndpoints/%s" % (
            sub, pe.get("rg", "rg-pe"), pe["name"])

    def pe_obj(self, sub, pe):
        return {"id": self.pe_id(sub, pe), "name": pe["name"], "type": "Microsoft.Network/privateEndpoints",
                "location": "eastus", "properties": {
                    "provisioningState": "Succeeded",
                    "customDnsConfigs": [{"fqdn": c["fqdn"], "ipAddresses": c["ips"]}
                                         for c in pe.get("customDnsConfigs", [])]}}

    def group_obj(self, sub, pe):
        g = pe["zoneGroup"]
        return {"id": self.pe_id(sub, pe) + "/privateDnsZoneGroups/default", "name": "default",
                "properties": {"provisioningState": "Succeeded", "privateDnsZoneConfigs": [
                    {"name": zc["zone"].replace(".", "-"), "properties": {
                        "privateDnsZoneId": "/subscriptions/%s/resourceGroups/rg-dns/providers/"
                                            "Microsoft.Network/privateDnsZones/%s" % (sub, zc["zone"]),
                        "recordSets": [{"recordType": "A", "recordSetName": rs["name"],
                                        "fqdn": "%s.%s" % (rs["name"], zc["zone"]), "ttl": 10,
                                        "ipAddresses": rs["ips"], "provisioningState": "Succeeded"}
                                       for rs in zc["recordSets"]]}}
                    for zc in g]}}


class FakeArm:
    """ARM + login on HTTPS (PKI from make_pki), identity on HTTP; each in a
    thread of this process."""

    def __init__(self, pki, data=None, page=100):
        self.state = State(data if data is not None else sample_data(), page)
        self.arm = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.arm.daemon_threads = True
        self.arm.state = self.state
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki["cert"], pki["key"])
        self.arm.socket = ctx.wrap_socket(self.arm.socket, server_side=True)
        self.ident = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.ident.daemon_threads = True
        self.ident.state = self.state
        self.port = self.arm.server_address[1]
        self.ident_port = self.ident.server_address[1]
        self.url = "https://127.0.0.1:%d" % self.port
        self.ident_url = "http://127.0.0.1:%d" % self.ident_port
        self.state.auth = {"scope": self.url + "/.default", "resource": self.url,
                           "secret": SECRET}
        self.threads = [threading.Thread(target=s.serve_forever, daemon=True)
                        for s in (self.arm, self.ident)]
        for t in self.threads:
            t.start()

    def set_data(self, data):
        with self.state.lock:
            self.state.data = copy.deepcopy(data)

    def add_fault(self, match, **kw):
        f = dict(kw, match=match)
        with self.state.lock:
            self.state.faults.append(f)
        return f

    def clear_faults(self):
        with self.state.lock:
            self.state.faults.clear()

    def requests(self):
        with self.state.lock:
            return list(self.state.requests)

    def revoke_tokens(self):
        with self.state.lock:
            self.state.tokens.clear()

    def stop(self):
        for s in (self.arm, self.ident):
            s.shutdown()
            s.server_close()


def bench_data(zones, sets, endpoints):
    """ZONES zones of the table with SETS record sets in all, and
    ENDPOINTS private endpoints with a customDnsConfig each."""
    table = ["privatelink.blob.core.windows.net", "privatelink.file.core.windows.net",
             "privatelink.queue.core.windows.net", "privatelink.table.core.windows.net",
             "privatelink.vaultcore.azure.net", "privatelink.database.windows.net",
             "privatelink.azurecr.io", "privatelink.servicebus.windows.net"]
    regions = ["eastus", "westus", "northeurope", "westeurope", "uksouth", "japaneast",
               "australiaeast", "centralus", "eastus2", "westus2"]
    names = table + ["privatelink.%s.azmk8s.io" % r for r in regions] + \
        ["privatelink.%s.backup.windowsazure.com" % r for r in regions] + \
        ["privatelink.%s.kusto.windows.net" % r for r in regions] + \
        ["privatelink.%s.prometheus.monitor.azure.com" % r for r in regions] + \
        ["privatelink.%s.azurecontainerapps.io" % r for r in regions]
    zs = {}
    for i in range(zones):
        zs[names[i]] = {"rg": "rg-dns", "records": [], "links": [{"name": "hub"}]}
    zl = list(zs)
    for k in range(sets):
        z = zl[k % zones]
        n = k // zones
        zs[z]["records"].append(zone_rr("n%d" % n, ["10.%d.%d.%d" % (k // 65536 % 256, k // 256 % 256, k % 256)]))
    pes = [{"name": "pe%d" % i, "customDnsConfigs": [
        {"fqdn": "pe%d.vault.azure.net" % i, "ips": ["172.16.%d.%d" % (i // 256, i % 256)]}]}
        for i in range(endpoints)]
    return {"subscriptions": {SUB1: {"zones": zs, "endpoints": pes}}}


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--zones", type=int, default=50)
    ap.add_argument("--sets", type=int, default=10000)
    ap.add_argument("--endpoints", type=int, default=1000)
    ap.add_argument("--page", type=int, default=100)
    a = ap.parse_args()
    pki = make_pki(a.dir)
    arm = FakeArm(pki, bench_data(a.zones, a.sets, a.endpoints), page=a.page)
    with open(os.path.join(a.dir, "secret"), "w") as f:
        f.write(SECRET)
    os.chmod(os.path.join(a.dir, "secret"), 0o600)
    data = bench_data(a.zones, a.sets, a.endpoints)

    def toggle(sig, frame):
        # Each SIGUSR1 changes one address: the next sync has a change.
        z = next(iter(data["subscriptions"][SUB1]["zones"].values()))
        r = z["records"][0]
        r["ips"] = ["10.255.0.1"] if r["ips"] != ["10.255.0.1"] else ["10.255.0.2"]
        arm.set_data(data)
    import signal
    signal.signal(signal.SIGUSR1, toggle)
    print("fakearm ready arm=%d identity=%d ca=%s" % (arm.port, arm.ident_port, pki["ca"]), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        arm.stop()


if __name__ == "__main__":
    main()
