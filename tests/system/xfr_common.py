"""xfr_common: what test_xfr.py and test_xfr_bind.py share: zone text,
configurations, waiting for serials, raw TCP/UDP exchanges and a small
message walker for replies dnspython would refuse to parse (TSIG errors).
"""

import signal
import socket
import struct
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsigkeyring

from harness import SLOW, Fail, daemon_extra, ini, query

ZONE = "xfr.example"
SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="
WRONG = "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItb3Q="
KEYRING = dns.tsigkeyring.from_text({"xk": ("hmac-sha256", SECRET)})
WRONG_KEYRING = dns.tsigkeyring.from_text({"xk": ("hmac-sha256", WRONG)})
DEAD_UPSTREAM = "127.0.0.1:9"     # never asked: every name here is local


def zone_text(serial, body="", origin=ZONE, refresh=3600, retry=600,
              expire=86400):
    return ("$ORIGIN %s.\n$TTL 300\n"
            "@ 3600 IN SOA ns1 hostmaster %d %d %d %d 60\n"
            "@ 3600 IN NS ns1\n"
            "ns1 A 10.0.0.1\n"
            "www A 10.0.0.2\n"
            "%s" % (origin, serial, refresh, retry, expire, body))


def big_body(n, changed=None):
    out = []
    for i in range(n):
        last = 9 if i == changed else i % 256
        out.append("host-%05d A 10.%d.%d.%d\n" % (i, 1 + i // 65536,
                                                    (i // 256) % 256, last))
    return "".join(out)


def config(port, zones, keys=(), server=None):
    """INI text: ZONES [(name, {k: v})], KEYS [(name, secret)]."""
    srv = {"listen": "127.0.0.1:%d" % port}
    srv.update(server or {})
    secs = [("server", srv), ("upstream", {"servers": DEAD_UPSTREAM})]
    for name, kv in zones:
        secs.append(('zone "%s"' % name, kv))
    for name, secret in keys:
        secs.append(('key "%s"' % name, {"secret": secret}))
    secs.extend(daemon_extra())
    return ini(secs)


def hup(p):
    p.proc.send_signal(signal.SIGHUP)


def serial_of(port, zone=ZONE, timeout=1.0):
    """The zone's serial at PORT, or None (no answer, an error)."""
    try:
        r = query(port, zone, "SOA", timeout=timeout * SLOW)
    except Fail:
        return None
    if r.rcode() != dns.rcode.NOERROR or not r.answer:
        return None
    return r.answer[0][0].serial


def wait_for(cond, timeout, what, step=0.02):
    """COND() true within TIMEOUT seconds (times PLDNS_TIME_SCALE)."""
    timeout *= SLOW
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise Fail("%s: not within %.1f s" % (what, timeout))


def wait_serial(port, serial, timeout, zone=ZONE):
    return wait_for(lambda: serial_of(port, zone) == serial, timeout,
                    "serial %d at port %d" % (serial, port))


def axfr_records(port, zone=ZONE, keyring=None, source=None, rdtype="AXFR",
                 serial=0):
    """Every answer RR of a transfer as (name, type, text) in order, and the
    number of messages."""
    kw = {}
    if keyring is not None:
        kw = {"keyring": keyring, "keyname": "xk"}
    out = []
    n = 0
    for m in dns.query.xfr("127.0.0.1", zone, rdtype=rdtype, port=port,
                           timeout=5 * SLOW, lifetime=20 * SLOW, source=source,
                           serial=serial, relativize=False, **kw):
        n += 1
        for rrset in m.answer:
            for rd in rrset:
                out.append((rrset.name.to_text(), rrset.rdtype,
                            "%d %s" % (rrset.ttl, rd.to_text())))
    return out, n


def raw_tcp(port, wire, timeout=3.0, until_soas=None):
    """Sends WIRE over TCP; returns the reply messages (bytes).  Reads one
    message, or until UNTIL_SOAS SOA records were seen in the answers."""
    timeout *= SLOW
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    msgs = []
    try:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        soas = 0
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            h = _recv_exact(s, 2, end)
            if h is None:
                break
            m = _recv_exact(s, struct.unpack("!H", h)[0], end)
            if m is None:
                break
            msgs.append(m)
            if until_soas is None:
                break
            soas += sum(1 for rr in _answer_types(m) if rr == 6)
            if soas >= until_soas:
                break
    finally:
        s.close()
    return msgs


def _recv_exact(s, n, end):
    buf = b""
    while len(buf) < n:
        left = end - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            c = s.recv(n - len(buf))
        except OSError:
            return None
        if not c:
            return None
        buf += c
    return buf


def _skip_name(w, p):
    while True:
        n = w[p]
        if n == 0:
            return p + 1
        if n & 0xC0 == 0xC0:
            return p + 2
        p += 1 + n


def _rrs(w):
    """(section, type, rdata offset, rdlen) of every RR of message W."""
    qd, an, ns, ar = struct.unpack("!HHHH", w[4:12])
    p = 12
    for _ in range(qd):
        p = _skip_name(w, p) + 4
    out = []
    for i in range(an + ns + ar):
        p = _skip_name(w, p)
        t, _, _, rdlen = struct.unpack("!HHIH", w[p:p + 10])
        sec = 1 if i < an else 2 if i < an + ns else 3
        out.append((sec, t, p + 10, rdlen))
        p += 10 + rdlen
    return out


def _answer_types(w):
    return [t for sec, t, _, _ in _rrs(w) if sec == 1]


def rcode_of(w):
    return struct.unpack("!H", w[2:4])[0] & 0xF


def tsig_error_of(w):
    """(error, mac length) of the TSIG RR of W, or None."""
    for sec, t, off, rdlen in _rrs(w):
        if t == 250:
            p = _skip_name(w, off) + 6 + 2
            maclen = struct.unpack("!H", w[p:p + 2])[0]
            p += 2 + maclen + 2
            return struct.unpack("!H", w[p:p + 2])[0], maclen
    return None


def xfr_query(zone, rdtype, serial=None, keyring=None, qid=None):
    q = dns.message.make_query(zone, rdtype, use_edns=False)
    q.flags = 0
    if qid is not None:
        q.id = qid
    if serial is not None:
        soa = dns.rrset.from_text(zone + ".", 3600, "IN", "SOA",
                                  "ns1.%s. hostmaster.%s. %d 3600 600 86400 60"
                                  % (zone, zone, serial))
        q.authority.append(soa)
    if keyring is not None:
        q.use_tsig(keyring, keyname="xk")
    return q


def raw_udp(port, wire, timeout=2.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    timeout *= SLOW
    try:
        s.settimeout(timeout)
        s.sendto(wire, ("127.0.0.1", port))
        return s.recvfrom(65535)[0]
    except socket.timeout:
        raise Fail("no answer over UDP within %.1f s" % timeout)
    finally:
        s.close()
