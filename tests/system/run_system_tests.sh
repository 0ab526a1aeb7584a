#!/bin/sh
# Runs every tests/system/test_*.py against the pldns binary and prints one
# TAP stream (renumbered, plan at the end) on stdout.  This is the automake
# TESTS entry for the system tests.
#
#   PLDNS_BIN      the daemon to test (make check sets it; default: the
#                  build tree's ./pldns, else $PLDNS_SRCDIR/pldns)
#   PLDNS_SRCDIR   the source tree (default: this script's ../..)
#   PLDNS_SYSTEST_TIMEOUT  seconds per test file (default 600)
#
# Arguments, if any, are test file names (e.g. test_core.py) to run instead
# of all of them.  A test file that crashes or stops early is reported as
# "not ok"; a missing binary or Python module is a "Bail out!".
# Traffic goes to 127.0.0.1 and ::1 only.

here=$(cd "$(dirname "$0")" && pwd)
: "${PLDNS_SRCDIR:=$(cd "$here/../.." && pwd)}"
if [ -z "${PLDNS_BIN:-}" ]; then
	if [ -x ./pldns ]; then PLDNS_BIN=$(pwd)/pldns; else PLDNS_BIN=$PLDNS_SRCDIR/pldns; fi
fi
export PLDNS_SRCDIR PLDNS_BIN
PY=/usr/bin/python3

if [ ! -x "$PY" ]; then
	echo "Bail out! $PY not found (apt-get install python3 python3-dnspython)"
	exit 1
fi
if ! "$PY" -c 'import dns.message, dns.query' 2>/dev/null; then
	echo "Bail out! dnspython missing for $PY (apt-get install python3-dnspython)"
	exit 1
fi
if [ ! -x "$PLDNS_BIN" ]; then
	echo "Bail out! no pldns binary at $PLDNS_BIN (build it, or set PLDNS_BIN)"
	exit 1
fi

exec "$PY" -u - "$PLDNS_SRCDIR/tests/system" "$@" <<'EOF'
import glob, os, re, select, signal, subprocess, sys, time

tdir = sys.argv[1]
names = sys.argv[2:]
files = [os.path.join(tdir, n) for n in names] if names else \
    sorted(glob.glob(os.path.join(tdir, "test_*.py")))
limit = float(os.environ.get("PLDNS_SYSTEST_TIMEOUT", "600"))
n = 0
result = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*)$")
plan = re.compile(r"^1\.\.(\d+)")

if not files:
    print("Bail out! no test files in %s" % tdir)
    sys.exit(1)

for f in files:
    base = os.path.basename(f)
    print("# %s" % base)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    try:
        p = subprocess.Popen(["/usr/bin/python3", "-u", f], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=tdir, env=env,
                             start_new_session=True)
    except OSError as e:
        n += 1
        print("not ok %d - %s: cannot run: %s" % (n, base, e))
        continue
    planned, seen, failed, bailed = None, 0, 0, None
    err = b""
    out = b""
    end = time.monotonic() + limit
    timed_out = False
    streams = [p.stdout, p.stderr]
    while streams:
        left = end - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        r, _, _ = select.select(streams, [], [], min(left, 5.0))
        for s in r:
            chunk = os.read(s.fileno(), 65536)
            if not chunk:
                streams.remove(s)
                continue
            if s is p.stderr:
                err = (err + chunk)[-20000:]
                continue
            out += chunk
            while b"\n" in out:
                line, out = out.split(b"\n", 1)
                line = line.decode(errors="replace")
                m = result.match(line)
                if m:
                    n += 1
                    seen += 1
                    failed += m.group(1) == "not ok"
                    print("%s %d - %s: %s" % (m.group(1), n, base, m.group(3)))
                elif plan.match(line):
                    planned = int(plan.match(line).group(1))
                elif line.startswith("Bail out!"):
                    bailed = line[len("Bail out!"):].strip()
                elif line.startswith("#"):
                    print(line)
                elif line.strip():
                    print("# " + line)
    if timed_out:
        try:
            os.killpg(p.pid, signal.SIGTERM)
            time.sleep(1)
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        rc = p.wait(10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        rc = p.wait()
    problem = None
    if timed_out:
        problem = "did not finish within %.0f s" % limit
    elif bailed is not None:
        problem = "bailed out: %s" % bailed
    elif planned is None:
        problem = "printed no plan (exit code %s)" % rc
    elif seen != planned:
        problem = "planned %d tests, ran %d (exit code %s)" % (planned, seen, rc)
    elif rc != 0 and not (rc == 1 and failed):
        # Exit status 1 is how a file says some of its tests failed; those
        # were counted line by line above.  Any other status is a crash.
        problem = "exit code %s" % rc
    if problem:
        n += 1
        print("not ok %d - %s: %s" % (n, base, problem))
        for l in err.decode(errors="replace").splitlines()[-40:]:
            print("# " + l)
    sys.stdout.flush()
print("1..%d" % n)
EOF
