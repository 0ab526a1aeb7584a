#!/usr/bin/python3
"""Side by side with Unbound 1.17 as a forwarder (no validator), against the
same fake upstreams: what a client gets when an upstream answers REFUSED or
SERVFAIL, for top-bit and huge TTLs, and for an upstream's AD bit.  pldns
must give what Unbound gives.  Skipped when /usr/sbin/unbound is missing.

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_vs_unbound.py [NAME-SUBSTRING...]
"""

import os
import random
import subprocess
import time

import dns.flags
import dns.rcode

import harness
from harness import (Skip, answer_ttls, daemon_extra, eq, expect, free_port,
                     make_config, main, query, query_wire, make_query, test)

UNBOUND = "/usr/sbin/unbound"
BLOB = "privatelink.blob.core.windows.net"
ZONE = """$ORIGIN %s.
@ 3600 IN SOA azureprivatedns.net. azureprivatedns-host.microsoft.com. 1 3600 300 2419200 10
acct 10 IN A 10.1.0.5
""" % BLOB

DATA = {
    "records": [
        "example.net. 3600 SOA ns.example.net. hostmaster.example.net. 1 3600 300 2419200 300",
        "*.fwd.example.net. 300 A 192.0.2.10",
        "huge.example.net. 300 A 192.0.2.25",
        "max.example.net. 2147483647 A 192.0.2.26",
        "ad.example.net. 300 A 192.0.2.27",
    ],
    "behaviours": {
        "huge.example.net.": ["ttl-topbit"],
        "ad.example.net.": ["ad"],
    },
}


class Unbound:
    """Unbound forwarding "." to UPSTREAMS (host:port), one thread, no
    validator, in the test's directory."""

    def __init__(self, d, upstreams, name="unbound"):
        if not os.access(UNBOUND, os.X_OK):
            raise Skip("no %s" % UNBOUND)
        self.port = free_port()
        lines = ["server:",
                 "  interface: 127.0.0.1@%d" % self.port,
                 "  port: %d" % self.port,
                 "  do-ip6: no",
                 "  num-threads: 1",
                 "  username: \"\"",
                 "  chroot: \"\"",
                 "  directory: \"%s\"" % d.path,
                 "  pidfile: \"%s\"" % d.join(name + ".pid"),
                 "  use-syslog: no",
                 "  logfile: \"\"",
                 "  verbosity: 1",
                 "  module-config: \"iterator\"",
                 "  do-not-query-localhost: no",
                 "  access-control: 127.0.0.0/8 allow_snoop",
                 "  qname-minimisation: no",
                 "  local-zone: \"%s.\" static" % BLOB,
                 "  local-data: \"acct.%s. 10 IN A 10.1.0.5\"" % BLOB,
                 "forward-zone:", "  name: \".\""]
        lines += ["  forward-addr: %s@%s" % tuple(u.rsplit(":", 1)) for u in upstreams]
        lines += ["remote-control:", "  control-enable: no", ""]
        conf = d.write(name + ".conf", "\n".join(lines))
        self.err = open(d.join(name + ".log"), "w")
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", conf], stdout=self.err,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        harness._procs.append(self.proc)
        end = time.monotonic() + 15
        while time.monotonic() < end:
            try:
                query(self.port, "acct.%s." % BLOB, timeout=0.3)
                return
            except harness.Fail:
                if self.proc.poll() is not None:
                    break
        self.stop()
        raise RuntimeError("unbound did not start (see %s)" % d.join(name + ".log"))

    def stop(self):
        harness._kill(self.proc)
        if self.proc in harness._procs:
            harness._procs.remove(self.proc)
        self.err.close()


def both(t, upstreams, server=None, cache=None):
    """pldns and Unbound forwarding to UPSTREAMS: {name: port}."""
    port = free_port()
    extra = daemon_extra() + ([("cache", cache)] if cache else [])
    conf = make_config(port, upstreams=upstreams, timeout_ms=1000, deadline_ms=3000,
                       zones=[(BLOB, {"file": "blob.zone"})], server=server,
                       extra=extra)
    t.pldns(conf, {"blob.zone": ZONE}, port=port)
    u = Unbound(t.dir, upstreams)
    t.owned.append(u)
    return {"pldns": port, "unbound": u.port}


@test("an upstream answering REFUSED or SERVFAIL: pldns and Unbound both answer 6/6 from the other")
def t_failover(t):
    good = t.fakeup(DATA, name="good")
    for mode in ("refused", "servfail"):
        bad = t.fakeup(DATA, behaviours=[mode], name="bad-" + mode)
        ports = both(t, [bad.addr, good.addr])
        for who, port in sorted(ports.items()):
            got = []
            for i in range(6):
                name = "%s-%s%d-%d.fwd.example.net." % (who, mode, i,
                                                        random.randrange(1 << 20))
                got.append(dns.rcode.to_text(query(port, name, timeout=5).rcode()))
            t.note("%s, first server %s: %s" % (who, mode, got))
            eq(got, ["NOERROR"] * 6, "%s with the first server answering %s" % (who, mode))
        expect(bad.count() >= 1, "the %s server was asked" % mode, got=bad.count())


@test("upstream TTLs (top bit set, 2^31-1) and AD: pldns tells clients what Unbound does")
def t_ttl_ad(t):
    up = t.fakeup(DATA, name="up")
    ports = both(t, [up.addr], server={"workers": "1"})
    seen = {}
    for who, port in sorted(ports.items()):
        got = []
        for name in ("huge.example.net.", "max.example.net."):
            for i in range(2):      # the first answer, then the cached one
                w = query_wire(port, make_query(name).to_wire(), timeout=3)
                got.append((name, answer_ttls(w)))
        r = query(port, "ad.example.net.", do=True)
        got.append(("AD", bool(r.flags & dns.flags.AD)))
        t.note("%s: %s" % (who, got))
        seen[who] = got
    # A cached TTL may have aged by a second on one side and not the other.
    same = len(seen["pldns"]) == len(seen["unbound"]) and all(
        a[0] == b[0] and (a[1] == b[1] if a[0] == "AD" else
                          len(a[1]) == len(b[1]) and
                          all(abs(x - y) <= 2 for x, y in zip(a[1], b[1])))
        for a, b in zip(seen["pldns"], seen["unbound"]))
    expect(same, "pldns's TTLs and AD as Unbound's (within 2 s of aging)",
           got="pldns %s, unbound %s" % (seen["pldns"], seen["unbound"]))


if __name__ == "__main__":
    main()
