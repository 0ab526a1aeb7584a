#!/usr/bin/python3
"""System tests for "pldns forwarders" against the real resolvers: dnsmasq
and Unbound (Debian packages dnsmasq-base and unbound) run on loopback with
the generated snippet, forwarding to a running pldns, and a public name
asked through them must come back with its private address -- also when
they are hardened against private answers (dnsmasq's stop-dns-rebind,
Unbound's private-address:), which the snippets must exempt their zones
from.  Removing those exemptions from the snippet must make the private
answer disappear: the check that the hardening really is in force.

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_forwarders.py [NAME-SUBSTRING...]
"""

import os
import shutil
import subprocess
import time

import dns.rdatatype

from harness import (HERE, Skip, Shared, Dir, Fakeup, Pldns, _kill, _procs,
                     daemon_extra, expect, free_port, make_config, query,
                     run_pldns, show, test, watch, main)

AZURE = os.path.join(HERE, "data", "azure_public.py")
BLOB = "privatelink.blob.core.windows.net"
VAULT = "privatelink.vaultcore.azure.net"
BLOB_ZONE = "$ORIGIN %s.\n$TTL 10\nacct 10 IN A 10.1.0.5\n" % BLOB
VAULT_ZONE = "$ORIGIN %s.\n$TTL 10\nkv 10 IN A 10.2.0.5\n" % VAULT

# (public name, private address pldns answers it with)
NAMES = [("acct.blob.core.windows.net", "10.1.0.5"),
         ("kv.vault.azure.net", "10.2.0.5")]

# The private ranges an operator tells a resolver to keep out of answers.
PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
           "fd00::/8", "fe80::/10"]

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"


def _site():
    """pldns with two privatelink zones, in front of public Azure DNS."""
    d = Dir("forwarders")
    up = Fakeup(AZURE, d, name="azure")
    port = free_port()
    conf = make_config(port, upstreams=[up.addr], timeout_ms=500,
                       zones=[(BLOB, {"file": "blob.zone"}),
                              (VAULT, {"file": "vault.zone"})],
                       extra=daemon_extra())
    p = Pldns(d, conf, {"blob.zone": BLOB_ZONE, "vault.zone": VAULT_ZONE},
              port=port)
    watch(p)
    return {"port": port, "pldns": p, "up": up}


SITE = Shared(_site)


def snippet(fmt):
    site = SITE.get()
    rc, out, err = run_pldns(["forwarders", "-c", site["pldns"].conf,
                              "--server", "127.0.0.1:%d" % site["port"],
                              "--format", fmt])
    expect(rc == 0, "pldns forwarders --format %s exits 0" % fmt, got=err)
    return out


class Resolver:
    """A dnsmasq or Unbound child process on 127.0.0.1:PORT."""

    def __init__(self, t, name, argv, port, logpath):
        self.name = name
        self.port = port
        self.logpath = logpath
        self.log = open(logpath, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        _procs.append(self.proc)
        t.owned.append(self)
        self._wait(t)

    def _wait(self, t):
        # Ready once it answers anything on the port.
        end = time.monotonic() + 15
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                break
            try:
                query(self.port, "ready.invalid", "A", timeout=0.3)
                return
            except Exception:
                time.sleep(0.1)
        t.note("%s log:\n%s" % (self.name, self.log_text()))
        raise AssertionError("%s did not start on 127.0.0.1:%d" % (self.name, self.port))

    def log_text(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def stop(self):
        _kill(self.proc, 3.0)
        if self.proc in _procs:
            _procs.remove(self.proc)
        self.log.close()


def need(path, package):
    if not os.access(path, os.X_OK):
        raise Skip("%s not installed (apt-get install %s)" % (path, package))


def start_dnsmasq(t, text, rebind):
    need(DNSMASQ, "dnsmasq-base")
    conf = t.dir.write("dnsmasq.conf", text)
    port = free_port()
    argv = [DNSMASQ, "--keep-in-foreground", "--conf-file=" + conf,
            "--port=%d" % port, "--listen-address=127.0.0.1", "--bind-interfaces",
            "--no-resolv", "--no-hosts", "--no-poll", "--cache-size=0",
            "--pid-file=", "--user=root", "--log-queries", "--log-facility=-"]
    if rebind:
        argv.append("--stop-dns-rebind")
    return Resolver(t, "dnsmasq", argv, port, t.dir.join("dnsmasq.log"))


def start_unbound(t, text, private):
    need(UNBOUND, "unbound")
    port = free_port()
    snip = t.dir.write("pldns-forwarders.conf", text)
    lines = ["server:",
             "\tinterface: 127.0.0.1",
             "\tport: %d" % port,
             "\tdo-daemonize: no",
             '\tusername: ""',
             '\tchroot: ""',
             '\tdirectory: "%s"' % t.dir.path,
             '\tpidfile: ""',
             "\tuse-syslog: no",
             "\tverbosity: 1",
             "\tdo-ip6: no",
             "\taccess-control: 127.0.0.0/8 allow",
             # Forwarded zones only; no DNSSEC (the test has no internet).
             '\tmodule-config: "iterator"']
    if private:
        lines += ["\tprivate-address: %s" % c for c in PRIVATE]
    lines += ['include: "%s"' % snip]
    conf = t.dir.write("unbound.conf", "\n".join(lines) + "\n")
    chk = subprocess.run(["unbound-checkconf", conf], capture_output=True, text=True)
    expect(chk.returncode == 0, "unbound-checkconf accepts the configuration",
           got=chk.stdout + chk.stderr)
    return Resolver(t, "unbound", [UNBOUND, "-d", "-c", conf], port,
                    t.dir.join("unbound.log"))


def addresses(r):
    return sorted(rd.address for rrset in r.answer if rrset.rdtype == dns.rdatatype.A
                  for rd in rrset)


def expect_private(t, res):
    for name, addr in NAMES:
        r = query(res.port, name, "A", timeout=3.0)
        t.note("%s via %s:\n%s" % (name, res.name, show(r)))
        expect(addresses(r) == [addr], "%s through %s gives the private %s"
               % (name, res.name, addr), got=show(r) + "\n" + res.log_text()[-2000:])


def expect_stripped(t, res):
    for name, addr in NAMES:
        try:
            r = query(res.port, name, "A", timeout=3.0)
        except Exception as e:   # no answer at all is stripped too
            t.note("%s via %s: %s" % (name, res.name, e))
            continue
        t.note("%s via %s:\n%s" % (name, res.name, show(r)))
        expect(addr not in addresses(r), "%s through %s: the private %s is "
               "kept out" % (name, res.name, addr), got=show(r))


def without(text, prefix):
    """TEXT without its lines that start with PREFIX (after white space)."""
    lines = [l for l in text.splitlines() if not l.strip().startswith(prefix)]
    expect(len(lines) < len(text.splitlines()), "the snippet has %s lines" % prefix,
           got=text)
    return "\n".join(lines) + "\n"


# (resolver, format, how it starts, its hardening, the snippet's exemption)
RESOLVERS = [
    ("dnsmasq", "dnsmasq", start_dnsmasq, "stop-dns-rebind", "rebind-domain-ok="),
    ("Unbound", "unbound", start_unbound, "private-address:", "private-domain:"),
]


def make_tests(name, fmt, start, hardening, exemption):
    @test("%s with the snippet: public names give the private address" % name)
    def t_plain(t):
        expect_private(t, start(t, snippet(fmt), False))

    @test("%s with %s and the snippet: still the private address" % (name, hardening))
    def t_hardened(t):
        expect_private(t, start(t, snippet(fmt), True))

    @test("%s with %s, snippet without %s: the private answer is kept out"
          % (name, hardening, exemption))
    def t_control(t):
        expect_stripped(t, start(t, without(snippet(fmt), exemption), True))


for _r in RESOLVERS:
    make_tests(*_r)


if __name__ == "__main__":
    main()
