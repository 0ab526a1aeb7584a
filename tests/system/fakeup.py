#!/usr/bin/python3
"""fakeup: a scriptable fake upstream DNS server for pldns system tests,
benchmarks and side-by-side comparisons.

It answers like a recursive resolver would (whole CNAME chains in one
answer, NXDOMAIN/NODATA with the SOA of the closest zone), from a small
declarative data set, and can misbehave on purpose per name: delay, drop,
truncate over UDP, spoof (wrong ID / question / source port first), fixed
error codes.  It listens on one loopback address, UDP and TCP on the same
port, in one thread (selectors + a timer heap), so delays never block other
queries and TCP connections may carry pipelined queries answered out of
order.

Usage:
  fakeup.py --port P --data FILE [--addr 127.0.0.1] [--no-tcp]
            [--behaviour B]... [--log FILE] [--lifetime SECONDS]
  fakeup.py --check --data FILE      # parse the data and exit

--port 0 picks a free port.  When ready, one line "fakeup ready port=P" is
printed on stdout.  Only loopback addresses are accepted.

Data file: JSON (*.json) or Python (*.py defining DATA), a dict with
  "records":  ["owner [ttl] [IN] TYPE rdata", ...]   zone-file lines, owners
              absolute (a missing final dot is added); an SOA line makes its
              owner a zone apex used for negative answers; "*.x." owners are
              wildcards (RFC 4592: an existing name blocks them).
  "ttl":      default TTL (300).
  "answers":  {"qname. TYPE": {"rcode": "NOERROR", "aa": false,
              "answer": [lines], "authority": [lines], "additional": [lines]}}
              fixed answers that bypass resolution ("qname. *" for any type).
  "behaviours": {"name.": ["delay 500", ...], "*.suffix.": [...], "*": [...]}
              exact name, any name strictly below suffix, or every query.
  "max_chain": CNAME hops followed (default 32).  A CNAME loop is returned
              as the looping chain with NOERROR, as some resolvers do.

Behaviours (also --behaviour, applying to every query):
  drop            never answer (TCP: keep the connection, never answer)
  delay N         answer after N ms
  truncate        UDP: TC=1 with empty sections; TCP: the full answer
  spoof           UDP: first a reply with a wrong ID (bogus A 6.6.6.6),
                  the real reply 50 ms later
  spoof-qname     same, the bogus reply for another question
  spoof-port      same, the bogus reply (right ID) from another source port
  wrong-qtype     same, the bogus reply (right ID) with another QTYPE in
                  its question (A for AAAA, AAAA for anything else)
  wrong-qclass    same, the bogus reply with QCLASS CH
  wrong-case      same, the bogus reply with every letter of the question
                  in the other case (caught by 0x20)
  tcp-wrong-id    UDP: TC=1 with empty sections; TCP: only the bogus reply
                  (wrong ID, A 6.6.6.6)
  servfail | refused | nxdomain | notimp | formerr   that rcode, no records
  noedns          answer without OPT even when the query had one
  formerr-edns    FORMERR (without OPT) to a query with EDNS, as a server
                  that does not know EDNS does; a normal answer otherwise
  ttl-topbit      answer records with the top bit of their TTL set
  ad              the AD bit set, as a validating resolver does
  close           TCP: close the connection instead of answering; UDP: drop
  tc-always       TC=1 over UDP and TCP (an upstream that never gives it)
  tc-close        UDP: TC=1 with empty sections; TCP: close the connection
                  without answering (a firewall or load balancer that takes
                  the connection and drops it)

Control queries (any type, any class, never counted, never misbehave): names
under "fakeup." answered with TXT "key=value" strings:
  count.fakeup.            total queries; also count.udp. / count.tcp.;
                           count.conns. TCP connections accepted
  qcount.<qname>.fakeup.   queries for <qname> (case-insensitive, any type)
  last.fakeup.             the last query: qname, qtype, id, flags, rd, cd,
                           ad, edns, do, payload, transport, opts
  lastq.<qname>.fakeup.    the last query for <qname>
  reset.fakeup.            zero the counters and forget the last queries
  mode.<b>.fakeup.         behaviour for every query from now on
                           (mode.normal. clears; "delay-300" for "delay 300")
"""

import argparse
import heapq
import ipaddress
import json
import selectors
import signal
import socket
import struct
import sys
import time
import traceback

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

CONTROL = dns.name.from_text("fakeup.")
ROOT_SOA = ("a.root-servers.net. nstld.verisign-grs.com. "
            "2024010100 1800 900 604800 86400")
RCODES = {"servfail": dns.rcode.SERVFAIL, "refused": dns.rcode.REFUSED,
          "nxdomain": dns.rcode.NXDOMAIN, "notimp": dns.rcode.NOTIMP,
          "formerr": dns.rcode.FORMERR}
SPOOFS = ("spoof", "spoof-qname", "spoof-port", "wrong-qtype", "wrong-qclass",
          "wrong-case")
SIMPLE = {"drop", "truncate", "noedns", "close", "tc-always", "tc-close",
          "formerr-edns",
          "ttl-topbit", "ad", "tcp-wrong-id"} | set(SPOOFS) | set(RCODES)


class DataError(Exception):
    pass


def parse_behaviour(text):
    """'delay 500' / 'delay-500' / 'drop' -> ('delay', 500) / ('drop', None)."""
    t = text.strip().lower().replace("_", "-")
    if t.startswith("delay"):
        rest = t[5:].strip(" -=")
        try:
            ms = int(rest)
        except ValueError:
            raise DataError("bad behaviour %r: delay needs milliseconds" % text)
        if ms < 0 or ms > 600000:
            raise DataError("bad behaviour %r: delay out of range" % text)
        return ("delay", ms)
    if t in SIMPLE:
        return (t, None)
    raise DataError("unknown behaviour %r" % text)


def abs_name(text):
    text = text.strip()
    if not text.endswith("."):
        text += "."
    return dns.name.from_text(text)


def parse_rr(line, default_ttl):
    """One zone-file line -> (owner, ttl, rdata)."""
    toks = line.split()
    if len(toks) < 3:
        raise DataError("bad record line %r" % line)
    owner = abs_name(toks[0])
    i = 1
    ttl = default_ttl
    if toks[i].isdigit():
        ttl = int(toks[i])
        i += 1
    if toks[i].upper() in ("IN", "CH", "HS"):
        if toks[i].upper() != "IN":
            raise DataError("only class IN in data: %r" % line)
        i += 1
    if i >= len(toks):
        raise DataError("bad record line %r" % line)
    try:
        rdtype = dns.rdatatype.from_text(toks[i])
        rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype,
                                    " ".join(toks[i + 1:]),
                                    origin=dns.name.root, relativize=False)
    except (dns.exception.DNSException, ValueError) as e:
        raise DataError("bad record line %r: %s" % (line, e))
    return owner, ttl, rdata


class Data:
    """The records and the behaviours, with a resolver-like lookup."""

    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise DataError("data must be a dict")
        known = {"records", "ttl", "answers", "behaviours", "max_chain",
                 "comment"}
        extra = set(spec) - known
        if extra:
            raise DataError("unknown data keys: %s" % ", ".join(sorted(extra)))
        self.ttl = int(spec.get("ttl", 300))
        self.max_chain = int(spec.get("max_chain", 32))
        self.nodes = {}         # name -> {rdtype: RRset}
        self.ents = set()       # every proper ancestor of an owner
        self.zones = {dns.name.root: self._rrset(
            dns.name.root, 86400, dns.rdata.from_text(
                dns.rdataclass.IN, dns.rdatatype.SOA, ROOT_SOA,
                relativize=False))}
        for line in spec.get("records", []):
            owner, ttl, rd = parse_rr(line, self.ttl)
            node = self.nodes.setdefault(owner, {})
            rrs = node.get(rd.rdtype)
            if rrs is None:
                rrs = node[rd.rdtype] = dns.rrset.RRset(
                    owner, dns.rdataclass.IN, rd.rdtype)
            rrs.add(rd, ttl)
            if rd.rdtype == dns.rdatatype.SOA:
                self.zones[owner] = rrs
            n = owner
            while n != dns.name.root:
                n = n.parent()
                self.ents.add(n)
        self.answers = {}
        for key, a in spec.get("answers", {}).items():
            parts = key.split()
            if len(parts) != 2:
                raise DataError("answers key %r is not 'qname TYPE'" % key)
            qt = None if parts[1] == "*" else dns.rdatatype.from_text(parts[1])
            self.answers[(abs_name(parts[0]), qt)] = self._fixed(a, key)
        self.behaviours = []    # (kind, name, [behaviour])
        for key, bl in spec.get("behaviours", {}).items():
            if isinstance(bl, str):
                bl = [bl]
            parsed = [parse_behaviour(b) for b in bl]
            if key in ("*", "."):
                self.behaviours.append(("all", None, parsed))
            elif key.startswith("*."):
                self.behaviours.append(("below", abs_name(key[2:]), parsed))
            else:
                self.behaviours.append(("exact", abs_name(key), parsed))

    def _rrset(self, owner, ttl, rd):
        r = dns.rrset.RRset(owner, dns.rdataclass.IN, rd.rdtype)
        r.add(rd, ttl)
        return r

    def _lines(self, lines):
        out = []
        for line in lines:
            owner, ttl, rd = parse_rr(line, self.ttl)
            for r in out:
                if r.name == owner and r.rdtype == rd.rdtype:
                    r.add(rd, ttl)
                    break
            else:
                out.append(self._rrset(owner, ttl, rd))
        return out

    def _fixed(self, a, key):
        extra = set(a) - {"rcode", "aa", "answer", "authority", "additional"}
        if extra:
            raise DataError("answers %r: unknown keys %s" % (key, sorted(extra)))
        return {"rcode": dns.rcode.from_text(a.get("rcode", "NOERROR")),
                "aa": bool(a.get("aa", False)),
                "answer": self._lines(a.get("answer", [])),
                "authority": self._lines(a.get("authority", [])),
                "additional": self._lines(a.get("additional", []))}

    def behaviour_for(self, qname):
        for kind, name, bl in self.behaviours:
            if kind == "all" or (kind == "exact" and qname == name) or \
               (kind == "below" and qname != name and qname.is_subdomain(name)):
                return bl
        return []

    def _node(self, name):
        """RRsets at NAME ({} for an empty non-terminal), wildcards expanded;
        None when the name does not exist."""
        node = self.nodes.get(name)
        if node is not None:
            return node
        if name in self.ents:
            return {}
        # closest encloser, then its wildcard (RFC 4592 4.3.3)
        n = name
        while n != dns.name.root:
            n = n.parent()
            if n in self.nodes or n in self.ents:
                wild = self.nodes.get(dns.name.from_text("*", origin=n))
                if wild is None:
                    return None
                out = {}
                for t, rrs in wild.items():
                    c = dns.rrset.RRset(name, rrs.rdclass, rrs.rdtype)
                    c.update(rrs)
                    out[t] = c
                return out
        return None

    def negative_soa(self, name):
        z = dns.name.root
        for apex in self.zones:
            if name.is_subdomain(apex) and len(apex) > len(z):
                z = apex
        soa = self.zones[z]
        r = dns.rrset.RRset(z, dns.rdataclass.IN, dns.rdatatype.SOA)
        r.add(soa[0], min(soa.ttl, soa[0].minimum))
        return r

    def resolve(self, qname, qtype):
        """-> (rcode, aa, answer, authority, additional)."""
        fixed = self.answers.get((qname, qtype)) or \
            self.answers.get((qname, None))
        if fixed is not None:
            return (fixed["rcode"], fixed["aa"], list(fixed["answer"]),
                    list(fixed["authority"]), list(fixed["additional"]))
        answer = []
        seen = set()
        name = qname
        for _ in range(self.max_chain + 1):
            node = self._node(name)
            if node is None:
                return (dns.rcode.NXDOMAIN, False, answer,
                        [self.negative_soa(name)], [])
            if qtype == dns.rdatatype.ANY and node:
                answer.extend(node.values())
                return (dns.rcode.NOERROR, False, answer, [], [])
            if qtype in node:
                answer.append(node[qtype])
                return (dns.rcode.NOERROR, False, answer, [], [])
            cn = node.get(dns.rdatatype.CNAME)
            if cn is None or qtype == dns.rdatatype.CNAME:
                return (dns.rcode.NOERROR, False, answer,
                        [self.negative_soa(name)], [])
            answer.append(cn)
            seen.add(name)
            name = cn[0].target
            if name in seen:
                break
        return (dns.rcode.NOERROR, False, answer, [], [])


def top_bit_ttls(wire):
    """WIRE with the top bit set in the TTL of every answer record."""
    out = bytearray(wire)
    an = struct.unpack("!H", wire[6:8])[0]
    pos = 12

    def skip_name(pos):
        while True:
            n = out[pos]
            if n == 0:
                return pos + 1
            if n >= 0xc0:
                return pos + 2
            pos += 1 + n
    pos = skip_name(pos) + 4            # the question
    for _ in range(an):
        pos = skip_name(pos) + 4        # owner, type, class
        out[pos] |= 0x80
        rdlen = struct.unpack("!H", out[pos + 4:pos + 6])[0]
        pos += 6 + rdlen
    return bytes(out)


def load_data(path):
    if path.endswith(".py"):
        ns = {"__file__": path}
        with open(path) as f:
            exec(compile(f.read(), path, "exec"), ns)
        if "DATA" not in ns:
            raise DataError("%s defines no DATA" % path)
        return Data(ns["DATA"])
    with open(path) as f:
        return Data(json.load(f))


def flags_text(flags):
    return dns.flags.to_text(flags) or "-"


class Conn:
    def __init__(self, sock, peer):
        self.sock = sock
        self.peer = peer
        self.rbuf = b""
        self.wbuf = b""
        self.closed = False


class Server:
    def __init__(self, data, addr, port, tcp=True, behaviours=(), log=None,
                 quiet=False):
        self.data = data
        self.mode = list(behaviours)
        self.logf = open(log, "a") if log else None
        self.quiet = quiet
        self.sel = selectors.DefaultSelector()
        self.timers = []
        self.seq = 0
        self.stop = False
        self.reset()
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self.udp, self.port = self._bind_udp(fam, addr, port)
        self.udp.setblocking(False)
        self.sel.register(self.udp, selectors.EVENT_READ, ("udp", None))
        # a second socket, for replies that must come from another port
        self.alt = socket.socket(fam, socket.SOCK_DGRAM)
        self.alt.bind((addr, 0))
        self.tcp = None
        if tcp:
            self.tcp = socket.socket(fam, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.tcp.bind((addr, self.port))
            self.tcp.listen(128)
            self.tcp.setblocking(False)
            self.sel.register(self.tcp, selectors.EVENT_READ, ("listen", None))

    @staticmethod
    def _bind_udp(fam, addr, port):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.bind((addr, port))
        return s, s.getsockname()[1]

    def reset(self):
        self.count = {"total": 0, "udp": 0, "tcp": 0, "conns": 0}
        self.qcount = {}
        self.last = None
        self.lastq = {}
        self.fast = {}

    # ---- timers ----

    def later(self, ms, fn):
        self.seq += 1
        heapq.heappush(self.timers, (time.monotonic() + ms / 1000.0,
                                     self.seq, fn))

    def run(self, lifetime=0):
        end = time.monotonic() + lifetime if lifetime else None
        while not self.stop:
            now = time.monotonic()
            if end is not None and now >= end:
                break
            while self.timers and self.timers[0][0] <= now:
                _, _, fn = heapq.heappop(self.timers)
                try:
                    fn()
                except OSError:
                    pass
            timeout = 1.0
            if self.timers:
                timeout = max(0.0, min(timeout, self.timers[0][0] - now))
            for key, ev in self.sel.select(timeout):
                kind, conn = key.data
                try:
                    if kind == "udp":
                        self._udp_read()
                    elif kind == "listen":
                        self._accept()
                    elif ev & selectors.EVENT_READ:
                        self._tcp_read(conn)
                    if kind == "tcp" and ev & selectors.EVENT_WRITE:
                        self._tcp_flush(conn)
                except OSError:
                    if conn is not None:
                        self._close(conn)
                except Exception:
                    # a bug here must not take the upstream down mid-test
                    traceback.print_exc()
                    if conn is not None:
                        self._close(conn)

    # ---- transports ----

    def _udp_read(self):
        for _ in range(64):
            try:
                wire, peer = self.udp.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionRefusedError:
                continue
            for delay, sock, out in self.handle(wire, "udp", peer):
                self._udp_send(delay, sock, out, peer)

    def _udp_send(self, delay, sock, out, peer):
        s = self.alt if sock == "alt" else self.udp
        if delay:
            self.later(delay, lambda: s.sendto(out, peer))
        else:
            try:
                s.sendto(out, peer)
            except OSError:
                pass

    def _accept(self):
        for _ in range(64):
            try:
                s, peer = self.tcp.accept()
            except (BlockingIOError, InterruptedError):
                return
            s.setblocking(False)
            self.count["conns"] += 1
            c = Conn(s, peer)
            self.sel.register(s, selectors.EVENT_READ, ("tcp", c))

    def _tcp_read(self, c):
        try:
            d = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            d = b""
        if not d:
            self._close(c)
            return
        c.rbuf += d
        while len(c.rbuf) >= 2:
            n = struct.unpack("!H", c.rbuf[:2])[0]
            if len(c.rbuf) < 2 + n:
                break
            wire, c.rbuf = c.rbuf[2:2 + n], c.rbuf[2 + n:]
            for delay, sock, out in self.handle(wire, "tcp", c.peer):
                if out is None:
                    self._close(c)
                    return
                msg = struct.pack("!H", len(out)) + out
                if delay:
                    self.later(delay, lambda m=msg: self._tcp_write(c, m))
                else:
                    self._tcp_write(c, msg)

    def _tcp_write(self, c, msg):
        if c.closed:
            return
        c.wbuf += msg
        self._tcp_flush(c)

    def _tcp_flush(self, c):
        if c.closed:
            return
        while c.wbuf:
            try:
                n = c.sock.send(c.wbuf)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self._close(c)
                return
            c.wbuf = c.wbuf[n:]
        ev = selectors.EVENT_READ | (selectors.EVENT_WRITE if c.wbuf else 0)
        self.sel.modify(c.sock, ev, ("tcp", c))

    def _close(self, c):
        if c.closed:
            return
        c.closed = True
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()

    # ---- queries ----

    @staticmethod
    def _fastkey(wire, transport):
        """A key for the answer cache: everything but the ID, the question
        name lower-cased; None when the question is not plain."""
        n = len(wire)
        pos = 12
        while pos < n:
            ln = wire[pos]
            if ln == 0:
                qend = pos + 5
                if qend > n:
                    return None, 0
                return (transport, wire[2:12], wire[12:qend].lower(),
                        wire[qend:]), qend
            if ln > 63:
                return None, 0
            pos += 1 + ln
        return None, 0

    def handle(self, wire, transport, peer):
        """-> list of (delay_ms, 'main'|'alt', wire or None=close)."""
        # Fast path (benchmarks): the data is static, so a query that differs
        # from an earlier one only in ID and name case gets the earlier
        # answer with its ID and question patched in.  Only plain answers
        # (no behaviour) are cached.
        fk = None
        if not self.mode and len(wire) >= 17:
            fk, qend = self._fastkey(wire, transport)
            e = self.fast.get(fk) if fk is not None else None
            if e is not None:
                tmpl, key = e
                self._count(key, transport, wire, peer)
                return [(0, "main", wire[:2] + tmpl[2:12] + wire[12:qend] + tmpl[qend:])]
        try:
            q = dns.message.from_wire(wire)
        except Exception:
            self._log({"transport": transport, "error": "unparsable",
                       "len": len(wire)})
            return []
        if q.flags & dns.flags.QR or len(q.question) != 1:
            return []
        qn = q.question[0].name
        if qn.is_subdomain(CONTROL):
            return [(0, "main", self.control(q))]
        key = qn.to_text().lower()
        self._count(key, transport, wire, peer)
        bl = self.data.behaviour_for(qn) + self.mode
        b = dict(bl)
        if "drop" in b or ("close" in b and transport == "udp"):
            return []
        if "close" in b or ("tc-close" in b and transport == "tcp"):
            return [(0, "main", None)]
        delay = b.get("delay") or 0
        r = self.response(q, b)
        limit = 65535
        if transport == "udp":
            limit = max(512, q.payload) if q.edns >= 0 else 512
        if "tcp-wrong-id" in b and transport == "tcp":
            return [(delay, "main", self.bogus(q, "spoof"))]
        if (("truncate" in b or "tcp-wrong-id" in b or "tc-close" in b) and
                transport == "udp") or \
                "tc-always" in b:
            r.flags |= dns.flags.TC
            r.answer, r.authority, r.additional = [], [], []
        out = self.to_wire(r, limit)
        if "ttl-topbit" in b:
            out = top_bit_ttls(out)
        if fk is not None and not bl and out[12:qend].lower() == fk[2]:
            if len(self.fast) >= 100000:
                self.fast.clear()
            self.fast[fk] = (out, key)
        replies = []
        if transport == "udp":
            spoof = [k for k in SPOOFS if k in b]
            if spoof:
                replies.append((delay, "alt" if spoof[0] == "spoof-port"
                                else "main", self.bogus(q, spoof[0])))
                delay += 50
        replies.append((delay, "main", out))
        return replies

    def response(self, q, b):
        r = dns.message.Message(id=q.id)
        r.flags = dns.flags.QR | dns.flags.RA | \
            (q.flags & (dns.flags.RD | dns.flags.CD))
        r.set_opcode(q.opcode())
        r.question = q.question
        if "formerr-edns" in b and q.edns >= 0:
            r.set_rcode(dns.rcode.FORMERR)
            return r
        if q.edns >= 0 and "noedns" not in b:
            r.use_edns(0, q.ednsflags & dns.flags.DO, 1232)
        if "ad" in b:
            r.flags |= dns.flags.AD
        for k, rc in RCODES.items():
            if k in b:
                r.set_rcode(rc)
                return r
        if q.opcode() != dns.opcode.QUERY:
            r.set_rcode(dns.rcode.NOTIMP)
            return r
        qq = q.question[0]
        rcode, aa, an, au, ad = self.data.resolve(qq.name, qq.rdtype)
        if an and an[0].name == qq.name and an[0].name.to_text() != qq.name.to_text():
            # answer with the query's case, like a compressing server
            c = dns.rrset.RRset(qq.name, an[0].rdclass, an[0].rdtype)
            c.update(an[0])
            an[0] = c
        r.set_rcode(rcode)
        if aa:
            r.flags |= dns.flags.AA
        r.answer, r.authority, r.additional = an, au, ad
        return r

    @staticmethod
    def to_wire(r, limit):
        try:
            return r.to_wire(max_size=limit)
        except dns.exception.TooBig:
            r.flags |= dns.flags.TC
            r.answer, r.authority, r.additional = [], [], []
            return r.to_wire(max_size=limit)

    def bogus(self, q, kind):
        b = dns.message.Message(id=q.id if kind != "spoof" else (q.id ^ 0x5a5a))
        b.flags = dns.flags.QR | dns.flags.RA | (q.flags & dns.flags.RD)
        qq = q.question[0]
        name = qq.name
        qtype, qclass = qq.rdtype, qq.rdclass
        if kind == "spoof-qname":
            name = dns.name.from_text("spoofed", origin=qq.name)
        elif kind == "wrong-case":
            name = dns.name.from_text(qq.name.to_text().swapcase())
        elif kind == "wrong-qtype":
            qtype = dns.rdatatype.A if qtype == dns.rdatatype.AAAA else \
                dns.rdatatype.AAAA
        elif kind == "wrong-qclass":
            qclass = dns.rdataclass.CH
        b.question = [dns.rrset.RRset(name, qclass, qtype)]
        if q.edns >= 0:
            b.use_edns(0, 0, 1232)
        if qq.rdtype in (dns.rdatatype.A, dns.rdatatype.ANY):
            rr = dns.rrset.RRset(name, dns.rdataclass.IN, dns.rdatatype.A)
            rr.add(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.A,
                                       "6.6.6.6"), 3600)
            b.answer = [rr]
        elif qq.rdtype == dns.rdatatype.AAAA:
            rr = dns.rrset.RRset(name, dns.rdataclass.IN, dns.rdatatype.AAAA)
            rr.add(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.AAAA,
                                       "2001:db8:6666::6"), 3600)
            b.answer = [rr]
        return b.to_wire()

    def _count(self, key, transport, wire, peer):
        self.count["total"] += 1
        self.count[transport] += 1
        self.qcount[key] = self.qcount.get(key, 0) + 1
        # kept raw; parsed only when a control query asks
        rec = (wire, transport, peer[1])
        self.last = rec
        self.lastq[key] = rec
        if self.logf:
            self._log(self.info(rec))

    @staticmethod
    def info(rec):
        wire, transport, srcport = rec
        q = dns.message.from_wire(wire)
        qq = q.question[0]
        return {
            "qname": qq.name.to_text(), "qtype": dns.rdatatype.to_text(qq.rdtype),
            "qclass": dns.rdataclass.to_text(qq.rdclass), "id": q.id,
            "opcode": dns.opcode.to_text(q.opcode()),
            "flags": flags_text(q.flags),
            "rd": int(bool(q.flags & dns.flags.RD)),
            "cd": int(bool(q.flags & dns.flags.CD)),
            "ad": int(bool(q.flags & dns.flags.AD)),
            "edns": q.edns,
            "do": int(bool(q.ednsflags & dns.flags.DO)) if q.edns >= 0 else 0,
            "payload": q.payload if q.edns >= 0 else 0,
            "opts": ",".join(str(int(o.otype)) for o in q.options) or "-",
            "transport": transport, "srcport": srcport,
        }

    def _log(self, info):
        if self.logf:
            info = dict(info, t=round(time.time(), 6))
            self.logf.write(json.dumps(info, sort_keys=True) + "\n")
            self.logf.flush()

    def control(self, q):
        qq = q.question[0]
        rel = qq.name.relativize(CONTROL)
        labels = [l.decode("ascii", "replace").lower() for l in rel.labels]
        strings = ["error=unknown control query"]
        if labels == ["count"]:
            strings = ["%d" % self.count["total"]]
        elif len(labels) == 2 and labels[0] == "count" and labels[1] in ("udp", "tcp", "conns"):
            strings = ["%d" % self.count[labels[1]]]
        elif labels and labels[0] == "qcount":
            key = ".".join(labels[1:]) + "."
            strings = ["%d" % self.qcount.get(key, 0)]
        elif labels == ["last"] or (labels and labels[0] == "lastq"):
            rec = self.last if labels == ["last"] else \
                self.lastq.get(".".join(labels[1:]) + ".")
            strings = ["none"] if rec is None else \
                ["%s=%s" % (k, v) for k, v in sorted(self.info(rec).items())]
        elif labels == ["reset"]:
            self.reset()
            strings = ["ok"]
        elif len(labels) == 2 and labels[0] == "mode":
            try:
                self.mode = [] if labels[1] == "normal" else \
                    [parse_behaviour(labels[1])]
                strings = ["ok"]
            except DataError as e:
                strings = ["error=%s" % e]
        r = dns.message.Message(id=q.id)
        r.flags = dns.flags.QR | dns.flags.AA | (q.flags & dns.flags.RD)
        r.question = q.question
        rr = dns.rrset.RRset(qq.name, qq.rdclass, dns.rdatatype.TXT)
        rr.add(dns.rdata.from_text(qq.rdclass, dns.rdatatype.TXT,
                                   " ".join('"%s"' % s.replace('"', "'")
                                            for s in strings)), 0)
        r.answer = [rr]
        return r.to_wire()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--data", required=True)
    ap.add_argument("--tcp", dest="tcp", action="store_true", default=True,
                    help="listen on TCP too (the default)")
    ap.add_argument("--no-tcp", dest="tcp", action="store_false")
    ap.add_argument("--behaviour", "--behavior", action="append", default=[],
                    help="behaviour for every query (repeatable)")
    ap.add_argument("--log", help="append one JSON line per query")
    ap.add_argument("--lifetime", type=float, default=0,
                    help="exit after this many seconds (0: never)")
    ap.add_argument("--check", action="store_true",
                    help="load the data and exit")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    try:
        data = load_data(a.data)
        beh = [parse_behaviour(b) for b in a.behaviour]
    except (DataError, OSError, SyntaxError) as e:
        print("fakeup: %s" % e, file=sys.stderr)
        return 65
    if a.check:
        print("fakeup: data OK (%d names)" % len(data.nodes))
        return 0
    try:
        if not ipaddress.ip_address(a.addr).is_loopback:
            print("fakeup: refusing non-loopback address %s" % a.addr,
                  file=sys.stderr)
            return 64
    except ValueError:
        print("fakeup: bad address %s" % a.addr, file=sys.stderr)
        return 64
    srv = None
    for _ in range(20):     # --port 0: UDP and TCP must get the same port
        try:
            srv = Server(data, a.addr, a.port, a.tcp, beh, a.log, a.quiet)
            break
        except OSError as e:
            if a.port:
                print("fakeup: %s:%d: %s" % (a.addr, a.port, e), file=sys.stderr)
                return 71
    if srv is None:
        print("fakeup: no free port", file=sys.stderr)
        return 71

    def stop(*_):
        srv.stop = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("fakeup ready port=%d" % srv.port, flush=True)
    srv.run(a.lifetime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
