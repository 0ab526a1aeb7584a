#!/usr/bin/python3
"""reload_check.py: the wrong-answer checker of reload.sh.

    reload_check.py --port P --names FILE --out FILE [--duration S] [--window N]

Sends A queries to 127.0.0.1:P without pause (N outstanding), for random
names of FILE (JSON: [[privatelink name, public name, [addresses of data
set A], [addresses of data set B]], ...]), each as its privatelink name or
its public twin, and checks every answer whole: the privatelink form must
answer exactly the A set or exactly the B set; the public form the CNAME to
the privatelink name and then exactly one of the two sets.  Anything else
(a mix of A and B, another address, a missing CNAME, another rcode, no
answer within 2 s) is a wrong answer.

Runs until SIGTERM / SIGINT or --duration, then writes to --out a JSON
object: counts per class, up to 20 examples of wrong answers, and per query
[monotonic send time, latency s, class] (class: A, B, or the error).
"""

import argparse
import json
import random
import select
import signal
import socket
import struct
import sys
import time

import dns.message
import dns.rcode
import dns.rdatatype

stop = False


def on_sig(*_):
    global stop
    stop = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--names", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--window", type=int, default=16)
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_sig)
    signal.signal(signal.SIGINT, on_sig)
    names = json.load(open(a.names))
    sets = [(p.lower() + ".", q.lower() + ".", frozenset(x), frozenset(y))
            for p, q, x, y in names]
    rnd = random.Random(5)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", a.port))
    s.setblocking(False)
    pending = {}        # id -> (t_send, index, public?)
    samples = []
    counts = {}
    examples = []
    next_id = rnd.randrange(65536)
    end = time.monotonic() + a.duration

    def send_one():
        nonlocal next_id
        for _ in range(65536):
            next_id = (next_id + 1) & 0xffff
            if next_id not in pending:
                break
        i = rnd.randrange(len(sets))
        pub = rnd.random() < 0.5
        q = dns.message.make_query(sets[i][1] if pub else sets[i][0], "A",
                                   use_edns=False)
        q.id = next_id
        try:
            s.send(q.to_wire())
        except (BlockingIOError, ConnectionRefusedError):
            return
        pending[next_id] = (time.monotonic(), i, pub)

    def record(t0, lat, cls, detail=None):
        counts[cls] = counts.get(cls, 0) + 1
        samples.append((round(t0, 6), round(lat, 6), cls))
        if cls not in ("A", "B") and len(examples) < 20:
            examples.append({"t": t0, "class": cls, "detail": detail})

    def check(wire):
        t1 = time.monotonic()
        if len(wire) < 12:
            return
        qid = struct.unpack("!H", wire[:2])[0]
        p = pending.pop(qid, None)
        if p is None:
            return
        t0, i, pub = p
        priv, pubn, sa, sb = sets[i]
        try:
            r = dns.message.from_wire(wire)
        except Exception as e:
            record(t0, t1 - t0, "unparsable", str(e))
            return
        if r.rcode() != dns.rcode.NOERROR:
            record(t0, t1 - t0, "rcode " + dns.rcode.to_text(r.rcode()),
                   r.to_text())
            return
        an = list(r.answer)
        if pub:
            if not an or an[0].rdtype != dns.rdatatype.CNAME or \
                    an[0].name.to_text().lower() != pubn or \
                    an[0][0].target.to_text().lower() != priv:
                record(t0, t1 - t0, "bad CNAME", r.to_text())
                return
            an = an[1:]
        if len(an) != 1 or an[0].rdtype != dns.rdatatype.A or \
                an[0].name.to_text().lower() != priv:
            record(t0, t1 - t0, "bad A RRset", r.to_text())
            return
        got = frozenset(rd.address for rd in an[0])
        if got == sa:
            record(t0, t1 - t0, "A")
        elif got == sb:
            record(t0, t1 - t0, "B")
        elif got <= (sa | sb):
            record(t0, t1 - t0, "mix", r.to_text())
        else:
            record(t0, t1 - t0, "other", r.to_text())

    while not stop and time.monotonic() < end:
        while len(pending) < a.window:
            send_one()
        rl, _, _ = select.select([s], [], [], 0.05)
        if rl:
            for _ in range(64):
                try:
                    check(s.recv(4096))
                except BlockingIOError:
                    break
                except ConnectionRefusedError:
                    break
        now = time.monotonic()
        for qid, (t0, i, pub) in list(pending.items()):
            if now - t0 > 2.0:
                del pending[qid]
                record(t0, now - t0, "timeout")
    # answers still in flight get their 2 s
    deadline = time.monotonic() + 2.0
    while pending and time.monotonic() < deadline:
        rl, _, _ = select.select([s], [], [], 0.05)
        if rl:
            try:
                check(s.recv(4096))
            except (BlockingIOError, ConnectionRefusedError):
                pass
    for qid, (t0, i, pub) in pending.items():
        record(t0, 2.0, "timeout")
    with open(a.out, "w") as f:
        json.dump({"counts": counts, "examples": examples,
                   "samples": samples}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
