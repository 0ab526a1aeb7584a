#!/usr/bin/python3
"""System tests for start-up: check-config refuses exactly what serve
refuses, with the same file:line message and exit status 78 (EX_CONFIG);
what only the moment decides (a port in use) passes check-config and makes
serve exit 69 (EX_UNAVAILABLE), saying why before "stopped".

Run: PLDNS_BIN=/path/to/pldns /usr/bin/python3 test_startup.py [NAME-SUBSTRING...]
"""

import socket

from harness import (eq, expect, free_port, run_pldns, test, main)

ZONE = "privatelink.blob.core.windows.net"
ZONE_TEXT = """$ORIGIN %s.
$TTL 10
acct 10 IN A 10.1.0.5
""" % ZONE

# How long a serve that wrongly starts may run before the test gives up.
SERVE_TIMEOUT = 10


def write_conf(t, lines, files=None):
    """Writes the config LINES (and FILES {name: text}) into the test's
    directory; returns the config's path."""
    for name, text in (files or {}).items():
        t.dir.write(name, text)
    return t.dir.write("pldns.ini", "\n".join(lines) + "\n")


def line_of(lines, text):
    """The 1-based line number of the first line starting with TEXT."""
    for i, l in enumerate(lines):
        if l.startswith(text):
            return i + 1
    raise AssertionError("no line starts with %r" % text)


def base(port, control="none", server=(), upstream=(), more=()):
    return (["[server]", "listen = 127.0.0.1:%d" % port] + list(server) +
            ["", "[upstream]", "servers = 127.0.0.1:%d" % free_port()] +
            list(upstream) +
            ["", "[control]", "listen = %s" % control] + list(more))


def secondary(port):
    """A [zone] pulled from a primary (nobody listens there: the pull
    fails, which does not matter for start-up)."""
    return ['', '[zone "example.test"]', "primary = 127.0.0.1:%d" % port]


# ---- the table: each case writes a config and returns (path, message) ----

def case_token_missing(t):
    cport = free_port()
    lines = base(free_port(), "127.0.0.1:%d" % cport,
                 more=["token_file = no-such-token"])
    conf = write_conf(t, lines)
    return conf, ("%s:%d: token_file %s: cannot read the control token: "
                  "No such file or directory" %
                  (conf, line_of(lines, "token_file"), t.dir.join("no-such-token")))


def case_token(content, why):
    """A token file holding CONTENT, refused with WHY."""
    def build(t):
        lines = base(free_port(), "127.0.0.1:%d" % free_port(),
                     more=["token_file = token"])
        conf = write_conf(t, lines, {"token": content})
        return conf, ("%s:%d: token_file %s: %s" %
                      (conf, line_of(lines, "token_file"), t.dir.join("token"), why))
    return build


def case_user(t):
    lines = base(free_port(), server=["user = pldns-no-such-user"])
    conf = write_conf(t, lines)
    return conf, ('%s:%d: user "pldns-no-such-user" does not exist' %
                  (conf, line_of(lines, "user")))


def case_state_dir_file(t):
    lines = base(free_port(), server=["state_dir = afile"]) + \
        secondary(free_port())
    conf = write_conf(t, lines, {"afile": "not a directory\n"})
    return conf, ("%s:%d: state_dir %s: not a directory" %
                  (conf, line_of(lines, "state_dir"), t.dir.join("afile")))


def case_state_dir_below_file(t):
    lines = base(free_port(), server=["state_dir = afile/sub"]) + \
        secondary(free_port())
    conf = write_conf(t, lines, {"afile": "not a directory\n"})
    return conf, ("%s:%d: state_dir %s: cannot create it: Not a directory" %
                  (conf, line_of(lines, "state_dir"), t.dir.join("afile/sub")))


def case_state_dir_default(t):
    # Not given: the default (secondary next to the config) is blamed on
    # the first zone that needs it.
    lines = base(free_port()) + secondary(free_port())
    conf = write_conf(t, lines, {"secondary": "a file\n"})
    return conf, ("%s:%d: state_dir %s: not a directory" %
                  (conf, line_of(lines, '[zone "example.test"]'),
                   t.dir.join("secondary")))


def case_ca_missing(t):
    lines = base(free_port(), upstream=["tls_ca_file = no-such-ca.pem"])
    conf = write_conf(t, lines)
    return conf, ("%s:%d: tls_ca_file %s: cannot read: No such file or directory" %
                  (conf, line_of(lines, "tls_ca_file"), t.dir.join("no-such-ca.pem")))


def case_ca_junk(t):
    lines = base(free_port(), upstream=["tls_ca_file = ca.pem"])
    conf = write_conf(t, lines, {"ca.pem": "this is no certificate\n"})
    return conf, ("%s:%d: tls_ca_file %s: no PEM certificate in it" %
                  (conf, line_of(lines, "tls_ca_file"), t.dir.join("ca.pem")))


def case_control_listen(t):
    lines = base(free_port(), "127.0.0.1:99999")
    conf = write_conf(t, lines)
    return conf, ('%s:%d: bad value for listen: "127.0.0.1:99999": port out of range (1..65535)' %
                  (conf, line_of(lines, "listen = 127.0.0.1:99999")))


def case_source(t):
    lines = base(free_port(), more=["", "[records]", "sources = no-such.csv"])
    conf = write_conf(t, lines)
    return conf, ("%s:%d: cannot read %s: No such file or directory" %
                  (conf, line_of(lines, "sources"), t.dir.join("no-such.csv")))


def case_tsig_secret(t):
    lines = base(free_port(), more=['', '[key "xfr"]', "secret = !!not-base64!!"])
    conf = write_conf(t, lines)
    return conf, ('%s:%d: bad value for secret: "!!not-base64!!" is not base64' %
                  (conf, line_of(lines, "secret")))


def case_tsig_unknown(t):
    lines = base(free_port()) + ['', '[zone "%s"]' % ZONE, "file = z.zone",
                                 "key = nokey"]
    conf = write_conf(t, lines, {"z.zone": ZONE_TEXT})
    return conf, ('%s:%d: bad value for key: no [key "nokey"] section' %
                  (conf, line_of(lines, "key = nokey")))


CASES = [
    ("[control] token_file missing", case_token_missing),
    ("[control] token_file empty",
     case_token(" \n", "the control token file is empty")),
    ("[control] token_file not one word",
     case_token("two words\n", "the control token must be one word of "
                "printable ASCII characters")),
    ("[control] token_file too long",
     case_token("x" * 5000, "the control token is longer than 4095 bytes")),
    ("[server] user that does not exist", case_user),
    ("[server] state_dir a file", case_state_dir_file),
    ("[server] state_dir below a file", case_state_dir_below_file),
    ("default state_dir a file, blamed on the secondary zone", case_state_dir_default),
    ("[upstream] tls_ca_file missing", case_ca_missing),
    ("[upstream] tls_ca_file without a certificate", case_ca_junk),
    ("[control] listen that does not parse", case_control_listen),
    ("[records] source that cannot be read", case_source),
    ("[key] secret not base64", case_tsig_secret),
    ("[zone] key naming no [key]", case_tsig_unknown),
]


def make_case(name, build):
    @test("check-config and serve refuse: %s (same message, exit 78)" % name)
    def t_case(t):
        conf, msg = build(t)
        rc, out, err = run_pldns(["check-config", "-c", conf])
        t.note("check-config output:\n" + out + err)
        expect(msg in (out + err).splitlines(), "check-config prints the message",
               expected=msg, got=out + err)
        eq(rc, 78, "exit code of check-config")
        expect("configuration OK" not in out, "no 'configuration OK'", got=out)

        rc, out, err = run_pldns(["serve", "-f", "-c", conf], timeout=SERVE_TIMEOUT)
        t.note("serve output:\n" + out + err)
        expect(msg in (out + err).splitlines(), "serve prints the same message",
               expected=msg, got=out + err)
        eq(rc, 78, "exit code of serve")
        expect("serving" not in err, "serve never logs 'serving'", got=err)
    return t_case


for _name, _build in CASES:
    make_case(_name, _build)


# ---- runtime facts: not configuration errors ----

def hold_port(port, tcp=True):
    """Sockets that keep 127.0.0.1:PORT busy (UDP and maybe TCP)."""
    socks = []
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", port))
    socks.append(u)
    if tcp:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", port))
        s.listen(1)
        socks.append(s)
    return socks


def check_busy(t, lines, reason):
    conf = write_conf(t, lines)
    rc, out, err = run_pldns(["check-config", "-c", conf])
    eq(rc, 0, "check-config passes: a port in use is no configuration error "
       "(output %r)" % (out + err))
    rc, out, err = run_pldns(["serve", "-f", "-c", conf], timeout=SERVE_TIMEOUT)
    t.note("serve output:\n" + err)
    eq(rc, 69, "exit code of serve (EX_UNAVAILABLE)")
    lines = err.splitlines()
    where = [i for i, l in enumerate(lines) if reason in l]
    expect(where, "serve says why", expected=reason, got=err)
    stopped = [i for i, l in enumerate(lines) if l.endswith("stopped")]
    expect(not stopped or where[0] < stopped[0],
           "the reason comes before 'stopped'", got=err)
    expect("serving" not in err, "serve never logs 'serving'", got=err)


@test("serve: DNS port in use is no config error: check-config 0, serve 69, reason before 'stopped'")
def t_dns_busy(t):
    port = free_port()
    held = hold_port(port)
    try:
        check_busy(t, base(port), "cannot listen on 127.0.0.1:%d (udp): "
                   "Address already in use" % port)
    finally:
        for s in held:
            s.close()


@test("serve: control port in use: check-config 0, serve 69, reason before 'stopped'")
def t_control_busy(t):
    cport = free_port()
    held = hold_port(cport)
    try:
        check_busy(t, base(free_port(), "127.0.0.1:%d" % cport),
                   "control listen 127.0.0.1:%d: Address already in use" % cport)
    finally:
        for s in held:
            s.close()


if __name__ == "__main__":
    main()
