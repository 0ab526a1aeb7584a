#!/usr/bin/python3
"""System tests for DNS over TLS upstreams (RFC 7858, issue 8): a TLS DNS
server on loopback with certificates from a test CA made here, pldns
forwarding to it with tls://127.0.0.1:PORT#NAME.

Checks: answers come back; queries are padded to 128 octets (RFC 8467) and
carry the SNI; one connection carries many queries (reuse, pipelining); a
certificate for another name, or from a CA pldns does not trust, fails
clearly (SERVFAIL and a log line saying why).
"""

import os
import socket
import ssl
import struct
import subprocess
import threading
import time

import dns.message
import dns.rrset

from harness import (daemon_extra, eq, expect, expect_rcode, free_port, main,
                     make_config, query, test)


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def make_pki(d, name):
    """A CA and a server certificate for NAME and 127.0.0.1, in directory D."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", name + "-ca.key", "-out", name + "-ca.pem", "-days", "2",
            "-subj", "/CN=pldns test CA " + name, cwd=d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=DNS:%s,IP:127.0.0.1\n" % name)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name, cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", name + "-ca.pem",
            "-CAkey", name + "-ca.key", "-CAcreateserial", "-out", name + ".pem",
            "-days", "2", "-extfile", name + ".ext", cwd=d)
    return (os.path.join(d, name + "-ca.pem"), os.path.join(d, name + ".pem"),
            os.path.join(d, name + ".key"))


class DotServer:
    """A DNS over TLS server answering A queries with 192.0.2.53, on
    127.0.0.1 only; it records connections, SNI names and query sizes."""

    def __init__(self, cert, key):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.sni = []
        self.ctx.sni_callback = lambda s, name, c: self.sni.append(name)
        self.sizes = []
        self.connections = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop_flag = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        end = time.monotonic() + 120     # bounded, whatever happens
        while not self.stop_flag and time.monotonic() < end:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        c.settimeout(10)
        try:
            s = self.ctx.wrap_socket(c, server_side=True)
        except (ssl.SSLError, OSError):
            c.close()
            return
        self.connections += 1
        try:
            while True:
                hdr = self.recv(s, 2)
                if hdr is None:
                    break
                (n,) = struct.unpack("!H", hdr)
                wire = self.recv(s, n)
                if wire is None:
                    break
                self.sizes.append(n)
                q = dns.message.from_wire(wire)
                r = dns.message.make_response(q)
                r.answer.append(dns.rrset.from_text(q.question[0].name, 300, "IN", "A",
                                                    "192.0.2.53"))
                out = r.to_wire()
                s.sendall(struct.pack("!H", len(out)) + out)
        except (ssl.SSLError, OSError, dns.exception.DNSException):
            pass
        finally:
            s.close()

    @staticmethod
    def recv(s, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = s.recv(n - len(buf))
            except (socket.timeout, OSError):
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def stop(self):
        self.stop_flag = True
        self.sock.close()


def dot_daemon(t, spec, ca=None):
    port = free_port()
    conf = make_config(port, upstreams=[spec], timeout_ms=500, deadline_ms=1500,
                       extra=daemon_extra())
    if ca:
        conf = conf.replace("[upstream]\n", "[upstream]\ntls_ca_file = %s\n" % ca)
    d = t.pldns(conf, port=port)
    return port, d


@test("DNS over TLS: answer through a verified upstream; padded queries; SNI sent")
def t_dot_ok(t):
    ca, cert, key = make_pki(t.dir.join(""), "dns.test")
    srv = DotServer(cert, key)
    try:
        port, _ = dot_daemon(t, "tls://127.0.0.1:%d#dns.test" % srv.port, ca)
        r = query(port, "www.example.org.", timeout=3)
        expect_rcode(r, "NOERROR", "www.example.org via DoT")
        eq([rd.to_text() for rr in r.answer for rd in rr], ["192.0.2.53"], "answer")
        expect(srv.sizes and all(n % 128 == 0 for n in srv.sizes),
               "queries padded to a multiple of 128 octets (RFC 8467)", srv.sizes)
        eq(srv.sni[:1], ["dns.test"], "SNI")
    finally:
        srv.stop()


@test("DNS over TLS: one connection carries many queries (reuse, pipelining)")
def t_dot_reuse(t):
    ca, cert, key = make_pki(t.dir.join(""), "dns.test")
    srv = DotServer(cert, key)
    try:
        port, _ = dot_daemon(t, "tls://127.0.0.1:%d#dns.test" % srv.port, ca)
        # workers = auto may open one connection per worker thread.
        results = []

        def one(i):
            try:
                r = query(port, "n%d.example.org." % i, timeout=3)
                results.append(r.rcode())
            except Exception as e:  # noqa: BLE001
                results.append(repr(e))
        threads = [threading.Thread(target=one, args=(i,)) for i in range(30)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(10)
        eq(results.count(0), 30, "30 concurrent queries answered NOERROR")
        expect(1 <= srv.connections <= os.cpu_count(),
               "at most one TLS connection per worker", srv.connections)
    finally:
        srv.stop()


@test("DNS over TLS: certificate for another name fails clearly (SERVFAIL, log)")
def t_dot_wrong_name(t):
    ca, cert, key = make_pki(t.dir.join(""), "dns.test")
    srv = DotServer(cert, key)
    try:
        port, d = dot_daemon(t, "tls://127.0.0.1:%d#other.test" % srv.port, ca)
        r = query(port, "www.example.org.", timeout=4)
        expect_rcode(r, "SERVFAIL", "wrong certificate name")
        time.sleep(0.2)
        expect("certificate verification failed" in d.log_text(),
               "the log says the certificate did not verify", d.log_text()[-600:])
    finally:
        srv.stop()


@test("DNS over TLS: certificate from an untrusted CA fails clearly")
def t_dot_untrusted(t):
    _, cert, key = make_pki(t.dir.join(""), "dns.test")
    other_ca, _, _ = make_pki(t.dir.join(""), "other.test")
    srv = DotServer(cert, key)
    try:
        port, d = dot_daemon(t, "tls://127.0.0.1:%d#dns.test" % srv.port, other_ca)
        r = query(port, "www.example.org.", timeout=4)
        expect_rcode(r, "SERVFAIL", "untrusted CA")
        time.sleep(0.2)
        expect("certificate verification failed" in d.log_text(),
               "the log says the certificate did not verify", d.log_text()[-600:])
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
