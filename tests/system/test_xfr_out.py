#!/usr/bin/python3
"""System tests for zone transfers served out (pldns as a primary) under
load: a transfer of 100,000 records, a transfer that the client holds open
without reading, one read slowly, clients that go away in the middle.  A
transfer goes out as the client reads it: it must not stall the worker's
other clients, nor sit in the server's memory whole.

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_xfr_out.py [NAME-SUBSTRING...]
"""

import socket
import struct
import time

import dns.message
import dns.rcode
import dns.rdatatype

from harness import SLOW, Fail, eq, expect, free_port, main, query, test
from xfr_common import (KEYRING, SECRET, ZONE, _rrs, axfr_records, config, hup,
                        raw_tcp, rcode_of, wait_for, xfr_query)

BIG = 100000
HUGE = 400000
NAME = "host-000001." + ZONE


def hosts(n):
    """A hosts file of N names in ZONE: with the SOA and NS that pldns gives
    a zone without a file, a zone of N + 2 records."""
    return "".join("10.%d.%d.%d host-%06d.%s\n" % (1 + i // 62500, (i // 250) % 250,
                                                  i % 250, i, ZONE) for i in range(n))


def start(ctx, n, key=False, **server):
    """pldns with one worker serving ZONE of N records (from a hosts file),
    transferred only with TSIG key xk when KEY."""
    port = free_port()
    srv = {"workers": "1"}
    srv.update(server)
    zone = {"allow_transfer": "127.0.0.0/8"}
    if key:
        zone["key"] = "xk"
    cfg = config(port, [(ZONE, zone)], keys=[("xk", SECRET)] if key else (),
                 server=srv)
    cfg += "\n[records]\nsources = hosts:h.hosts\n"
    return port, ctx.pldns(cfg, {"h.hosts": hosts(n - 2)})


def rss_kb(p):
    with open("/proc/%d/status" % p.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise Fail("no VmRSS for pid %d" % p.proc.pid)


def axfr_socket(port, rcvbuf=None):
    """A TCP connection to PORT that has asked for an AXFR of ZONE and
    has read nothing yet.  RCVBUF, when given, is set before connecting, so
    that the window the server sees stays small."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5 * SLOW)
    s.connect(("127.0.0.1", port))
    w = xfr_query(ZONE, "AXFR").to_wire()
    s.sendall(struct.pack("!H", len(w)) + w)
    return s


def answer_types(m):
    return [t for sec, t, _, _ in _rrs(m) if sec == 1]


def read_messages(s, timeout, pace=None, enough=lambda m: False):
    """Reads messages from S until ENOUGH(the last one) is true, EOF or
    TIMEOUT.  PACE (bytes, seconds): read that many bytes, then sleep, and
    so on.  Returns (the messages, whether ENOUGH said so, whether EOF)."""
    end = time.monotonic() + timeout * SLOW
    buf = b""
    msgs = []
    burst = 0
    while time.monotonic() < end:
        s.settimeout(max(0.01, end - time.monotonic()))
        try:
            c = s.recv(65536)
        except (socket.timeout, OSError):
            break
        if not c:
            return msgs, False, True
        buf += c
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
            n = struct.unpack("!H", buf[:2])[0]
            m, buf = buf[2:2 + n], buf[2 + n:]
            msgs.append(m)
            if enough(m):
                return msgs, True, False
        burst += len(c)
        if pace and burst >= pace[0]:
            time.sleep(pace[1])
            burst = 0
    return msgs, False, False


def read_transfer(s, timeout, pace=None):
    """read_messages() up to the second SOA in the answers.  Returns
    (messages, answer RRs, ended at the closing SOA)."""
    soas = []

    def closing_soa(m):
        soas.extend(t for t in answer_types(m) if t == 6)
        return len(soas) >= 2

    msgs, done, _ = read_messages(s, timeout, pace, closing_soa)
    return msgs, sum(len(answer_types(m)) for m in msgs), done


def soa_ends(msgs):
    """The first and last answer RR of a transfer, parsed."""
    first = dns.message.from_wire(msgs[0], xfr=True, one_rr_per_rrset=True)
    last = dns.message.from_wire(msgs[-1], xfr=True, one_rr_per_rrset=True)
    return first.answer[0], last.answer[-1]


def read_whole(s, n, pace=None):
    """Reads the rest of a transfer of a zone of N records on S, and closes
    S: N + 1 answer records, the same SOA first and last.  The messages."""
    try:
        msgs, nrr, done = read_transfer(s, 60, pace)
    finally:
        s.close()
    expect(done, "the transfer completes", (len(msgs), nrr))
    eq(nrr, n + 1, "records")
    first, last = soa_ends(msgs)
    eq(first.rdtype, dns.rdatatype.SOA, "the first record")
    eq(first.to_text(), last.to_text(), "the same SOA first and last")
    return msgs


def udp_latencies(port, n, spacing):
    """N UDP queries for NAME, one every SPACING seconds: the time each
    took.  Each must be answered (NOERROR) within 2 s."""
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        r = query(port, NAME, timeout=2.0 * SLOW)
        out.append(time.monotonic() - t0)
        eq(dns.rcode.to_text(r.rcode()), "NOERROR", "UDP answer during the transfer")
        time.sleep(spacing)
    return out


@test("transfer out: an AXFR of 100,000 records over TCP, SOA first and last",
      timeout=120)
def t_axfr_big(ctx):
    port, _ = start(ctx, BIG)
    recs, nmsg = axfr_records(port)
    eq(len(recs), BIG + 1, "records (the SOA twice)")
    eq(recs[0][1], dns.rdatatype.SOA, "first record")
    eq(recs[-1], recs[0], "the last record is the first SOA again")
    eq(len(set(recs[1:-1])), BIG - 1, "distinct records between the SOAs")
    expect(any(r[0] == "host-099997.%s." % ZONE and r[2].endswith(" 10.2.149.247")
               for r in recs), "the last host is there", recs[-2])
    ctx.note("%d messages" % nmsg)


@test("transfer out: a TSIG-signed AXFR of 100,000 records, every message verified",
      timeout=180)
def t_axfr_big_tsig(ctx):
    port, _ = start(ctx, BIG, key=True)
    # dnspython checks the TSIG of every message, chained to the one
    # before (RFC 8945 5.3.1), and raises at the first that fails.
    recs, nmsg = axfr_records(port, keyring=KEYRING)
    eq(len(recs), BIG + 1, "records")
    eq(recs[-1], recs[0], "SOA first and last")
    expect(nmsg > 100, "many messages, most made as the client read", nmsg)


@test("transfer out: one worker, an AXFR held unread: UDP still answered, "
      "the transfer waits for its reader and not in the server's memory",
      timeout=120)
def t_axfr_held(ctx):
    # About 11 MB: more than the kernel's socket buffers take in, so that
    # most of it is still to be sent while the client does not read.
    port, p = start(ctx, HUGE)
    serial = query(port, ZONE, "SOA").answer[0][0].serial
    before = rss_kb(p)
    s = axfr_socket(port, rcvbuf=4096)
    try:
        lat = udp_latencies(port, 40, 0.025)
        held = rss_kb(p)
        logged_early = "AXFR of %s" % ZONE in p.log_text()
    except BaseException:
        s.close()
        raise
    msgs = read_whole(s, HUGE)
    eq(soa_ends(msgs)[1][0].serial, serial, "serial of the closing SOA")
    total = sum(len(m) + 2 for m in msgs)
    grew = held - before
    ctx.note("transfer %d KB, RSS %d -> %d KB while held (+%d KB); UDP max %.1f ms"
             % (total // 1024, before, held, grew, max(lat) * 1000))
    expect(not logged_early, "the transfer was not served whole before the client read it")
    # Under AddressSanitizer the memory of the messages already handed to
    # the kernel stays resident a while (its quarantine): hence half.
    expect(grew * 1024 < total // 2,
           "RSS growth while the transfer is held under half its %d KB"
           % (total // 1024), "%d KB" % grew)


@test("transfer out: a reload in the middle of a transfer: the transfer goes on "
      "with the data it started with", timeout=120)
def t_axfr_reload(ctx):
    port, p = start(ctx, HUGE)
    s = axfr_socket(port, rcvbuf=4096)
    try:
        time.sleep(0.3 * SLOW)
        lines = hosts(HUGE - 2).splitlines(True)
        lines[0] = "10.99.99.99 host-000000.%s\n" % ZONE
        ctx.dir.write("h.hosts", "".join(lines))
        hup(p)
        wait_for(lambda: query(port, "host-000000." + ZONE).answer[0][0].address
                 == "10.99.99.99", 30, "the reloaded data served")
    except BaseException:
        s.close()
        raise
    msgs = read_whole(s, HUGE)
    got = [r for m in msgs[:3]
           for r in dns.message.from_wire(m, xfr=True, one_rr_per_rrset=True).answer
           if r.name.to_text() == "host-000000.%s." % ZONE]
    eq([r[0].address for r in got], ["10.1.0.0"], "host-000000 in the transfer")


@test("transfer out: a client reading slowly for longer than tcp_idle_ms gets it all",
      timeout=120)
def t_axfr_slow_reader(ctx):
    port, _ = start(ctx, BIG, tcp_idle_ms="700")
    s = axfr_socket(port, rcvbuf=4096)
    t0 = time.monotonic()
    msgs = read_whole(s, BIG, pace=(65536, 0.1))
    took = time.monotonic() - t0
    ctx.note("%d messages in %.1f s" % (len(msgs), took))
    expect(took > 1.4, "the slow read lasts over twice tcp_idle_ms", took)


@test("transfer out: a client that stops reading is dropped after tcp_idle_ms")
def t_axfr_stalled(ctx):
    port, p = start(ctx, BIG, tcp_idle_ms="500")
    s = axfr_socket(port, rcvbuf=4096)
    try:
        time.sleep(2.0 * SLOW)
        msgs, nrr, done = read_transfer(s, 5)
    finally:
        s.close()
    expect(not done, "the connection was closed before the end of the transfer",
           (len(msgs), nrr))
    expect(nrr < BIG, "only part of the transfer reached the client", nrr)
    eq(dns.rcode.to_text(query(port, NAME).rcode()), "NOERROR", "still answering")
    expect(p.alive(), "daemon running")


@test("transfer out: clients that go away mid-transfer: the daemon serves on, "
      "nothing left behind", timeout=120)
def t_axfr_abandoned(ctx):
    port, p = start(ctx, 20000)
    for k in range(10):
        s = axfr_socket(port, rcvbuf=4096)
        try:
            s.recv(1000 * (k + 1))
            if k % 2:
                # A reset rather than a FIN.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
        finally:
            s.close()
    time.sleep(0.5 * SLOW)
    eq(dns.rcode.to_text(query(port, NAME).rcode()), "NOERROR",
       "UDP answer after the abandoned transfers")
    recs, _ = axfr_records(port)
    eq(len(recs), 20000 + 1, "a whole transfer after them")
    w = raw_tcp(port, xfr_query(ZONE, "SOA").to_wire())
    eq(dns.rcode.to_text(rcode_of(w[0])), "NOERROR", "a TCP query after them")
    expect(p.alive(), "daemon running")


@test("transfer out: queries behind a transfer on its connection are answered "
      "after it, in order; tcp_max_queries closes the connection after the last")
def t_axfr_pipelined(ctx):
    port, _ = start(ctx, 20000, tcp_max_queries="3")
    wire = b""
    for qid, rdtype in ((1, "AXFR"), (2, "SOA"), (3, "AXFR")):
        w = xfr_query(ZONE, rdtype, qid=qid).to_wire()
        wire += struct.pack("!H", len(w)) + w
    s = socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW)
    try:
        s.sendall(wire)
        msgs, _, closed = read_messages(s, 30)
    finally:
        s.close()
    ids = []
    for m in msgs:
        qid = struct.unpack("!H", m[:2])[0]
        if not ids or ids[-1][0] != qid:
            ids.append([qid, 0])
        ids[-1][1] += len(answer_types(m))
    eq([i for i, _ in ids], [1, 2, 3], "replies by ID, in order")
    eq([n for _, n in ids], [20001, 1, 20001], "answer records of each")
    expect(closed, "the connection closed after the third query's answer")


if __name__ == "__main__":
    main()
