#!/usr/bin/python3
"""System tests for "safe on a network" (issue 8): access control, response
rate limiting, TCP limits (per client, slowloris), upstream in-flight cap,
0x20 and DNS cookies towards upstreams.

All traffic is on loopback.  Different clients are different loopback
source addresses (127.0.0.1, 127.0.1.1: two /24 networks).
"""

import socket
import struct
import time

import dns.edns
import dns.message
import dns.rcode

from harness import (daemon_extra, eq, expect, expect_rcode, free_port, main,
                     make_config, make_query, query, test)

BLOB = "privatelink.blob.core.windows.net"
ZONE = "$ORIGIN %s.\n$TTL 10\nacct A 10.1.0.5\n" % BLOB
UPDATA = {"records": ["www.example.net. 300 A 192.0.2.80",
                      "slow.example.net. 300 A 192.0.2.81"],
          "behaviours": {"slow.example.net.": "delay 1500"}}


def daemon(t, server=None, upstream=None, extra=()):
    port = free_port()
    ups = [upstream.addr] if upstream else ["127.0.0.1:%d" % free_port()]
    conf = make_config(port, upstreams=ups, timeout_ms=2000, deadline_ms=3000,
                       zones=[(BLOB, {"file": "blob.zone"})],
                       extra=([("server", server)] if server else []) + list(extra) +
                       daemon_extra())
    # make_config writes [server] listen; merge our keys into that section.
    if server:
        head = "[server]\nlisten = 127.0.0.1:%d\n" % port
        body = "".join("%s = %s\n" % kv for kv in server.items())
        conf = conf.replace(head, head + body, 1)
        conf = conf.replace("[server]\n" + body, "", 1)
    d = t.pldns(conf, {"blob.zone": ZONE}, port=port)
    return port, d


def udp_from(src, port, q, timeout=1.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    try:
        s.sendto(q.to_wire(), ("127.0.0.1", port))
        return dns.message.from_wire(s.recv(65535))
    except socket.timeout:
        return None
    finally:
        s.close()


def ede_codes(r):
    return [o.code for o in r.options if o.otype == dns.edns.EDE]


@test("access control: a client outside allow gets REFUSED with EDE 18")
def t_acl_refused(t):
    port, _ = daemon(t, server={"allow": "10.0.0.0/8"})
    r = query(port, "acct.%s." % BLOB)
    expect_rcode(r, "REFUSED", "client outside allow")
    eq(ede_codes(r), [18], "Extended DNS Error codes")


@test("access control: refuse_action = drop sends nothing")
def t_acl_drop(t):
    port, _ = daemon(t, server={"allow": "10.0.0.0/8", "refuse_action": "drop"})
    r = udp_from("127.0.0.1", port, make_query("acct.%s." % BLOB))
    eq(r, None, "reply to a dropped client")


@test("access control: allow_forward keeps other clients to local data")
def t_acl_forward(t):
    up = t.fakeup(UPDATA)
    port, _ = daemon(t, server={"allow_forward": "127.0.1.0/24"}, upstream=up)
    r = udp_from("127.0.0.1", port, make_query("acct.%s." % BLOB))
    expect_rcode(r, "NOERROR", "local data for a client without forwarding")
    r = udp_from("127.0.0.1", port, make_query("www.example.net."))
    expect_rcode(r, "REFUSED", "forwarding for a client not in allow_forward")
    eq(ede_codes(r), [18], "EDE")
    r = udp_from("127.0.1.1", port, make_query("www.example.net."), timeout=3)
    expect_rcode(r, "NOERROR", "forwarding for a client in allow_forward")


@test("rate limiting: a flooding client is held to its rate, another is answered")
def t_rrl(t):
    port, _ = daemon(t, server={"rrl_rate": 50, "rrl_slip": 2, "workers": 1})
    flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    flood.bind(("127.0.0.1", 0))
    flood.setblocking(False)
    wire = make_query("acct.%s." % BLOB).to_wire()
    sent = full = slipped = 0
    end = time.monotonic() + 2.0
    while time.monotonic() < end and sent < 20000:   # bounded both ways
        try:
            flood.sendto(wire, ("127.0.0.1", port))
            sent += 1
        except BlockingIOError:
            pass
        while True:
            try:
                r = dns.message.from_wire(flood.recv(65535))
            except (BlockingIOError, dns.exception.DNSException):
                break
            if r.flags & dns.flags.TC:
                slipped += 1
            else:
                full += 1
        if sent % 20 == 0:
            time.sleep(0.001)
    time.sleep(0.2)
    while True:
        try:
            r = dns.message.from_wire(flood.recv(65535))
            slipped += bool(r.flags & dns.flags.TC)
            full += not (r.flags & dns.flags.TC)
        except (BlockingIOError, dns.exception.DNSException):
            break
    flood.close()
    t.note("sent %d, full answers %d, truncated %d" % (sent, full, slipped))
    expect(sent > 1000, "the flood was a flood", sent)
    # 2 s at 50/s plus a burst of 50: about 150 full answers, never many more.
    expect(50 <= full <= 250, "full answers held near the rate", full)
    expect(slipped > 0, "some answers slipped (TC=1)", slipped)
    other = udp_from("127.0.1.1", port, make_query("acct.%s." % BLOB))
    expect(other is not None and other.rcode() == 0 and not (other.flags & dns.flags.TC),
           "another network is answered normally", other)


@test("TCP: connections per client are capped; others still connect")
def t_tcp_per_client(t):
    port, _ = daemon(t, server={"tcp_max_per_client": 2, "tcp_max_conns": 50})
    socks = []
    try:
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            socks.append(s)
        time.sleep(0.2)
        s3 = socket.socket()
        s3.settimeout(2)
        s3.connect(("127.0.0.1", port))
        socks.append(s3)
        wire = make_query("acct.%s." % BLOB).to_wire()
        try:
            s3.sendall(struct.pack("!H", len(wire)) + wire)
            data = s3.recv(2)
        except OSError:
            data = b""
        eq(data, b"", "the third connection from one client is closed")
        s4 = socket.socket()
        s4.bind(("127.0.1.1", 0))
        s4.settimeout(2)
        s4.connect(("127.0.0.1", port))
        socks.append(s4)
        s4.sendall(struct.pack("!H", len(wire)) + wire)
        expect(len(s4.recv(2)) == 2, "another client is served over TCP")
    finally:
        for s in socks:
            s.close()


@test("TCP: a message dripped byte by byte (slowloris) is cut off")
def t_slowloris(t):
    port, _ = daemon(t, server={"tcp_idle_ms": 600})
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    wire = make_query("acct.%s." % BLOB).to_wire()
    msg = struct.pack("!H", len(wire)) + wire
    closed = False
    start = time.monotonic()
    try:
        for b in msg:          # one byte every 0.2 s: never idle for 0.6 s
            s.sendall(bytes([b]))
            time.sleep(0.2)
            if time.monotonic() - start > 5:
                break
    except OSError:
        closed = True
    if not closed:
        try:
            s.settimeout(2)
            closed = s.recv(2) == b""
        except socket.timeout:
            closed = False      # still open: the drip was not cut off
        except OSError:
            closed = True
    s.close()
    expect(closed, "the connection was closed before the message completed")
    expect(time.monotonic() - start < 4, "within about tcp_idle_ms of the first byte",
           time.monotonic() - start)


@test("upstream in-flight cap: overflow answers SERVFAIL at once, others go on")
def t_inflight_cap(t):
    up = t.fakeup(UPDATA)
    port, _ = daemon(t, server={"workers": 1}, upstream=up,
                     extra=[("upstream", {"max_inflight": 2})])
    conf_socks = []
    for i in range(4):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(4)
        q = make_query("slow.example.net." if i < 2 else "n%d.slow.example.net." % i)
        s.sendto(q.to_wire(), ("127.0.0.1", port))
        conf_socks.append(s)
    # the first two share one upstream query (coalesced); the other two
    # are distinct names: one more fits under the cap of 2, one does not.
    rcodes = []
    for s in conf_socks:
        try:
            rcodes.append(dns.message.from_wire(s.recv(65535)).rcode())
        except socket.timeout:
            rcodes.append("timeout")
        s.close()
    expect(dns.rcode.SERVFAIL in rcodes, "an overflow SERVFAIL", rcodes)
    expect(rcodes.count(dns.rcode.NOERROR) + rcodes.count(dns.rcode.NXDOMAIN) >= 2,
           "queries within the cap are answered", rcodes)


@test("0x20 and cookies: upstream sees mixed case and a client cookie; answers accepted")
def t_0x20_cookies(t):
    up = t.fakeup(UPDATA)
    port, _ = daemon(t, upstream=up,
                     extra=[("upstream", {"case_randomization": "yes", "cookies": "yes"})])
    name = "abcdefghijklmnop.example.net."
    r = query(port, name, timeout=3)
    expect(r.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN), "an answer", r.rcode())
    last = up.last()
    expect(last is not None, "the upstream saw the query")
    expect(last["qname"].lower() == name and last["qname"] != name,
           "the question's case was randomized", last["qname"])
    expect("10" in last["opts"].split(","), "a cookie option (10) was sent", last["opts"])


if __name__ == "__main__":
    main()
