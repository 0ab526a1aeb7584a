#!/usr/bin/python3
"""relay: a lossy, slow link between a resolver and its upstream, on loopback.

The kernel here has no netem, so the link is made in user space: the relay
listens on one loopback port (UDP and TCP) and forwards to the real
upstream, dropping and delaying each datagram each way on its own.

Usage:
  relay.py --listen 127.0.0.1:P --upstream 127.0.0.1:U
           [--loss-up F] [--loss-down F] [--delay MS] [--jitter MS]
           [--tcp-delay MS] [--tcp-close] [--stats FILE] [--lifetime S]
           [--seed N]

  --loss-up/--loss-down  probability (0..1) that a datagram towards the
                         upstream / back from it is lost
  --delay, --jitter      one-way delay of each datagram, each way: DELAY plus
                         a uniform draw in [0, JITTER) ms, so the round trip
                         is 2*DELAY .. 2*(DELAY+JITTER); datagrams may be
                         reordered, as on a real path with several routes
  --tcp-delay            one-way delay of TCP data (it is never lost: TCP
                         retransmits underneath)
  --tcp-close            TCP: read the query, then close without answering
                         (a middlebox that lets the handshake through and
                         then drops the connection)
  --stats FILE           JSON counters, rewritten when they change:
                         udp_in, udp_fwd, udp_lost_up, udp_back,
                         udp_lost_down, tcp_conns, tcp_closed_early

--port 0 style: "--listen 127.0.0.1:0" picks a free port; when ready, one
line "relay ready port=P" goes to stdout.  Only loopback addresses are
accepted.  The relay exits after --lifetime seconds (default 900) or on
SIGTERM.
"""

import argparse
import heapq
import ipaddress
import json
import os
import random
import selectors
import signal
import socket
import sys
import time


def hostport(text):
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit("relay: %s is not a loopback address" % host)
    return host, int(port)


class Relay:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.sel = selectors.DefaultSelector()
        self.timers = []
        self.seq = 0
        self.stop = False
        self.stats = {k: 0 for k in ("udp_in", "udp_fwd", "udp_lost_up", "udp_back",
                                     "udp_lost_down", "tcp_conns",
                                     "tcp_closed_early")}
        self.dirty = True
        host, port = hostport(a.listen)
        self.up = hostport(a.upstream)
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.fam = fam
        self.udp = socket.socket(fam, socket.SOCK_DGRAM)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
        self.udp.bind((host, port))
        self.port = self.udp.getsockname()[1]
        self.udp.setblocking(False)
        self.sel.register(self.udp, selectors.EVENT_READ, ("udp", None))
        self.tcp = socket.socket(fam, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((host, self.port))
        self.tcp.listen(256)
        self.tcp.setblocking(False)
        self.sel.register(self.tcp, selectors.EVENT_READ, ("listen", None))
        self.peers = {}        # client address -> its socket to the upstream

    def later(self, ms, fn):
        self.seq += 1
        heapq.heappush(self.timers, (time.monotonic() + ms / 1000.0, self.seq, fn))

    def delay(self):
        return self.a.delay + (self.rng.random() * self.a.jitter if self.a.jitter else 0)

    def count(self, k):
        self.stats[k] += 1
        self.dirty = True

    # ---- UDP ----

    def udp_in(self):
        for _ in range(128):
            try:
                d, peer = self.udp.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            self.count("udp_in")
            s = self.peers.get(peer)
            if s is None:
                s = socket.socket(self.fam, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                s.bind((self.up[0], 0))
                s.connect(self.up)
                s.setblocking(False)
                self.sel.register(s, selectors.EVENT_READ, ("peer", peer))
                self.peers[peer] = s
            if self.rng.random() < self.a.loss_up:
                self.count("udp_lost_up")
                continue
            self.later(self.delay(), lambda s=s, d=d: self.udp_fwd(s, d))

    def udp_fwd(self, s, d):
        self.count("udp_fwd")
        try:
            s.send(d)
        except OSError:
            pass

    def udp_back(self, s, peer):
        for _ in range(128):
            try:
                d = s.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if self.rng.random() < self.a.loss_down:
                self.count("udp_lost_down")
                continue
            self.later(self.delay(), lambda d=d: self.udp_send_back(d, peer))

    def udp_send_back(self, d, peer):
        self.count("udp_back")
        try:
            self.udp.sendto(d, peer)
        except OSError:
            pass

    # ---- TCP ----

    def accept(self):
        for _ in range(64):
            try:
                c, _ = self.tcp.accept()
            except (BlockingIOError, InterruptedError):
                return
            self.count("tcp_conns")
            c.setblocking(False)
            if self.a.tcp_close:
                self.sel.register(c, selectors.EVENT_READ, ("early", [c, b""]))
                continue
            u = socket.socket(self.fam, socket.SOCK_STREAM)
            u.setblocking(False)
            try:
                u.connect(self.up)
            except BlockingIOError:
                pass
            except OSError:
                c.close()
                continue
            pair = {"c": c, "u": u, "open": True}
            self.sel.register(c, selectors.EVENT_READ, ("tcp", (pair, "c", "u")))
            self.sel.register(u, selectors.EVENT_READ, ("tcp", (pair, "u", "c")))

    def early(self, st):
        c = st[0]
        try:
            d = c.recv(65535)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            d = b""
        st[1] += d
        # the whole query in (or the peer gave up): close without a word
        if not d or (len(st[1]) >= 2 and len(st[1]) >= 2 + int.from_bytes(st[1][:2], "big")):
            self.count("tcp_closed_early")
            self.sel.unregister(c)
            c.close()

    def tcp_pump(self, pair, src, dst):
        try:
            d = pair[src].recv(65535)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            d = b""
        if not d:
            self.later(self.a.tcp_delay, lambda: self.tcp_close(pair))
            for k in ("c", "u"):
                try:
                    self.sel.unregister(pair[k])
                except (KeyError, ValueError):
                    pass
            return
        self.later(self.a.tcp_delay, lambda: self.tcp_send(pair, dst, d))

    def tcp_send(self, pair, dst, d):
        if not pair["open"]:
            return
        try:
            pair[dst].setblocking(True)
            pair[dst].settimeout(2.0)
            pair[dst].sendall(d)
            pair[dst].setblocking(False)
        except OSError:
            self.tcp_close(pair)

    def tcp_close(self, pair):
        if not pair["open"]:
            return
        pair["open"] = False
        for k in ("c", "u"):
            try:
                self.sel.unregister(pair[k])
            except (KeyError, ValueError):
                pass
            pair[k].close()

    # ---- loop ----

    def write_stats(self):
        if not self.a.stats or not self.dirty:
            return
        self.dirty = False
        tmp = self.a.stats + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.stats, f, sort_keys=True)
        os.replace(tmp, self.a.stats)

    def run(self):
        end = time.monotonic() + self.a.lifetime
        last_stats = 0.0
        while not self.stop and time.monotonic() < end:
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _, _, fn = heapq.heappop(self.timers)
                fn()
            if now - last_stats >= 0.1:
                self.write_stats()
                last_stats = now
            timeout = 0.1
            if self.timers:
                timeout = max(0.0, min(timeout, self.timers[0][0] - now))
            for key, _ in self.sel.select(timeout):
                kind, arg = key.data
                if kind == "udp":
                    self.udp_in()
                elif kind == "peer":
                    self.udp_back(key.fileobj, arg)
                elif kind == "listen":
                    self.accept()
                elif kind == "early":
                    self.early(arg)
                elif kind == "tcp":
                    self.tcp_pump(*arg)
        self.dirty = True
        self.write_stats()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--loss-up", type=float, default=0.0)
    ap.add_argument("--loss-down", type=float, default=0.0)
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--jitter", type=float, default=0.0)
    ap.add_argument("--tcp-delay", type=float, default=0.0)
    ap.add_argument("--tcp-close", action="store_true")
    ap.add_argument("--stats")
    ap.add_argument("--lifetime", type=float, default=900.0)
    ap.add_argument("--seed", type=int)
    a = ap.parse_args(argv)
    r = Relay(a)

    def stop(*_):
        r.stop = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("relay ready port=%d" % r.port, flush=True)
    r.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
