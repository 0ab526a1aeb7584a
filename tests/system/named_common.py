"""named (BIND from Debian) for the system tests: run in the foreground (-g)
from a generated named.conf in the test's temp dir, listening on 127.0.0.1
only, with no control channel.  Tests that need it are skipped when named
is not installed.
"""

import os
import shutil
import subprocess
import time

import harness
from harness import SLOW, Fail, Skip

NAMED = shutil.which("named") or "/usr/sbin/named"


class Named:
    """named -g in DIR/NAME: OPTIONS go into its options block, EXTRA
    (keys, ...) and ZONES_CONF after it; FILES {name: text} are written
    into its directory first."""

    def __init__(self, d, name, port, zones_conf, files=None, options="", extra=""):
        if not os.access(NAMED, os.X_OK):
            raise Skip("named not installed (apt-get install bind9)")
        self.dir = d.join(name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port
        for fname, text in (files or {}).items():
            with open(os.path.join(self.dir, fname), "w") as f:
                f.write(text)
        self.conf = os.path.join(self.dir, "named.conf")
        with open(self.conf, "w") as f:
            f.write("""options {
  directory "%(dir)s";
  pid-file "%(dir)s/named.pid";
  session-keyfile "%(dir)s/session.key";
  managed-keys-directory "%(dir)s";
  listen-on port %(port)d { 127.0.0.1; };
  listen-on-v6 { none; };
%(options)s};
controls { };
%(extra)s
%(zones)s
""" % {"dir": self.dir, "port": port, "options": options, "extra": extra,
                "zones": zones_conf})
        self.logpath = os.path.join(self.dir, "named.log")
        self.log = open(self.logpath, "w")
        args = [NAMED, "-g", "-c", self.conf]
        if os.geteuid() == 0:
            args += ["-u", "root"]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        harness._procs.append(self.proc)
        end = time.monotonic() + 15 * SLOW
        while time.monotonic() < end:
            if "running" in self.log_text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        text = self.log_text()
        self.stop()
        raise Fail("named did not start:\n" + text[-3000:])

    def log_text(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        harness._kill(self.proc, 5.0)
        if self.proc in harness._procs:
            harness._procs.remove(self.proc)
        self.log.close()


def named(ctx, *a, **kw):
    """A Named owned by the test CTX (stopped when it ends)."""
    n = Named(ctx.dir, *a, **kw)
    ctx.owned.append(n)
    return n
