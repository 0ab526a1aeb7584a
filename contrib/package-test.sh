#!/bin/sh
# Builds the Debian package from this tree and tests it as an administrator
# would meet it, on this machine (as root; CI's machine is thrown away
# afterwards):
#   build (dpkg-buildpackage after apt-get build-dep), lintian, dpkg -i,
#   pldns version, check-config on the installed configuration (as root and
#   as the user pldns), systemd-analyze verify and security on the installed
#   unit, the
#   system user, the state directory, the manual pages, the daemon run with
#   the unit's user and capabilities answering a private name from a CSV in
#   /etc/pldns/records/, then dpkg --purge and nothing left behind.
# Starting the service through systemd needs systemd as PID 1, which a
# container does not have: postinst then skips the start (its
# /run/systemd/system test), and the daemon is run here the way the unit
# runs it (user pldns, CAP_NET_BIND_SERVICE only) with setpriv.
# Output: TAP; exit status 0 unless the test could not run at all.
# PLDNS_PACKAGE_KEEP=1 keeps the package installed and the build directory.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
diag() { sed 's/^/# /' "$1" | tail -n "${2:-30}"; }
# check DESCRIPTION COMMAND...
check() {
	d=$1
	shift
	if "$@" >"$work/out" 2>&1; then ok "$d"; else not_ok "$d"; diag "$work/out"; fi
}

if [ "$(id -u)" != 0 ]; then
	echo "Bail out! contrib/package-test.sh installs a package: run it as root"
	exit 1
fi
# Outside CI the machine is shared with other work: the system user the
# package creates would make every pldns started as root there switch to
# it.  So the test runs with a private copy of /etc (a mount namespace),
# where the user, the configuration and the unit's links come and go
# unseen by other processes.
if [ "${CI:-}" != true ] && [ -z "${PLDNS_PACKAGE_NS:-}" ] && command -v unshare >/dev/null &&
    unshare -m true 2>/dev/null; then
	etc=$(mktemp -d /tmp/pldns-package-etc.XXXXXX)
	cp -a /etc/. "$etc/"
	PLDNS_PACKAGE_NS=1 unshare -m sh -c 'mount --bind "$1" /etc && exec sh "$2"' \
	    sh "$etc" "$0"
	rc=$?
	rm -rf "$etc"
	exit $rc
fi
if dpkg-query -W -f='${Status}' pldns 2>/dev/null | grep -q 'installed'; then
	echo "Bail out! pldns is installed on this machine already; it is not touched"
	exit 1
fi
work=$(mktemp -d /tmp/pldns-package.XXXXXX)
daemon=
# Purge keeps the system user, as Debian packages do; the test removes it
# as soon as it can when it made it: a pldns started as root (as the other
# tests start it) switches to that user whenever it exists.  So do not run
# this while other pldns tests run on the machine (CI runs it last).
had_user=$(getent passwd pldns)
drop_user() {
	if [ -z "$had_user" ] && getent passwd pldns >/dev/null; then
		userdel -f pldns >/dev/null 2>&1
	fi
}
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null
	if [ "${PLDNS_PACKAGE_KEEP:-0}" != 1 ]; then
		dpkg --purge pldns >/dev/null 2>&1
		drop_user
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

export DEBIAN_FRONTEND=noninteractive
echo "1..17"

# The tools, then the build dependencies that debian/control names: what a
# clean Debian 12 needs, nothing else.
if ! { apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends build-essential \
	dpkg-dev debhelper fakeroot lintian man-db systemd util-linux \
	bind9-dnsutils ca-certificates; } >"$work/apt.log" 2>&1; then
	echo "Bail out! apt-get could not install the packaging tools"
	diag "$work/apt.log"
	exit 1
fi

# A copy of the tree as git has it (no build directories, no objects).
mkdir "$work/src"
(cd "$top" && { git ls-files -co --exclude-standard 2>/dev/null || find . -type f; } |
    grep -v '^build' | tar -cf - -T -) | tar -xf - -C "$work/src"

# 1: build, as the README says.
if (cd "$work/src" && apt-get build-dep -y -qq ./ &&
    dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b after apt-get build-dep ./"
else
	not_ok "dpkg-buildpackage -us -uc -b after apt-get build-dep ./"
	diag "$work/build.log" 60
	echo "Bail out! no package to test"
	exit 0
fi
deb=$(ls "$work"/pldns_*.deb)
grep -E '^# (TOTAL|PASS|FAIL):' "$work/build.log" | sed 's/^/# build-time unit tests: /'

# 2: lintian, errors and warnings fail.
lintian --fail-on error,warning --display-info "$work"/pldns_*.changes \
    >"$work/lintian.log" 2>&1
if [ $? -eq 0 ]; then ok "lintian --fail-on error,warning"
else not_ok "lintian --fail-on error,warning"; fi
grep -v 'running with root privileges' "$work/lintian.log" | sed 's/^/# lintian: /'

# 3: it installs.
check "dpkg -i $(basename "$deb")" dpkg -i "$deb"

# 4: the installed binary.
pldns version >"$work/out" 2>&1
ver=$(dpkg-parsechangelog -l "$work/src/debian/changelog" -S Version)
if grep -q "$ver" "$work/out"; then ok "pldns version says $ver"
else not_ok "pldns version says $ver"; diag "$work/out"; fi

# 5, 6: the installed configuration is accepted as it is, by default path,
# by root and by the user the unit runs pldns as.
pldns check-config >"$work/out" 2>&1
if grep -q "^configuration OK" "$work/out"; then ok "pldns check-config accepts /etc/pldns/pldns.ini"
else not_ok "pldns check-config accepts /etc/pldns/pldns.ini"; diag "$work/out"; fi
check "the user pldns can read the installed configuration" \
    runuser -u pldns -- pldns check-config -c /etc/pldns/pldns.ini

# 7: the unit.
check "systemd-analyze verify /lib/systemd/system/pldns.service" \
    systemd-analyze verify /lib/systemd/system/pldns.service

# 8: its sandbox, as systemd rates it (0 best, 10 worst; "OK" below 4).
systemd-analyze security --offline=yes /lib/systemd/system/pldns.service >"$work/out" 2>&1
level=$(sed -n 's/.*Overall exposure level for pldns.service: \([0-9.]*\).*/\1/p' "$work/out")
if systemd-analyze security --offline=yes --threshold=25 \
    /lib/systemd/system/pldns.service >/dev/null 2>&1 && [ -n "$level" ]; then
	ok "systemd-analyze security: exposure $level (at most 2.5)"
else not_ok "systemd-analyze security: exposure ${level:-unknown} (at most 2.5)"; diag "$work/out" 15; fi

# 9: the user: a system user without a login shell.
ent=$(getent passwd pldns)
uid=$(echo "$ent" | cut -d: -f3)
shell=$(echo "$ent" | cut -d: -f7)
if [ -n "$ent" ] && [ "$uid" -lt 1000 ] && [ "$shell" = /usr/sbin/nologin ] &&
    getent group pldns >/dev/null; then
	ok "the system user pldns ($ent)"
else not_ok "the system user pldns (got: $ent)"; fi

# 10: the state directory, the unit's StateDirectory and the config's state_dir.
st=$(stat -c '%U:%G %a' /var/lib/pldns 2>/dev/null)
if [ "$st" = "pldns:pldns 750" ] && grep -qx 'StateDirectory=pldns' /lib/systemd/system/pldns.service &&
    grep -qx 'state_dir = /var/lib/pldns' /etc/pldns/pldns.ini; then
	ok "/var/lib/pldns is the state directory, owned by pldns ($st)"
else not_ok "/var/lib/pldns is the state directory, owned by pldns (got: $st)"; fi

# 11: the manual pages are found and render without warnings.
: >"$work/man"
for page in 8:pldns 5:pldns.ini; do
	path=$(man -w "${page#*:}" 2>>"$work/man") || continue
	case "$path" in /usr/share/man/man${page%%:*}/*) ;; *) echo "$page at $path" >>"$work/man" ;; esac
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$path" 2>>"$work/man" >/dev/null
done
if [ ! -s "$work/man" ] && man -w pldns >/dev/null 2>&1; then ok "man pldns, man pldns.ini"
else not_ok "man pldns, man pldns.ini"; diag "$work/man"; fi

# 12, 13: pldns as the unit runs it (user pldns, CAP_NET_BIND_SERVICE only,
# the installed configuration on port 53), answering a private name from a
# CSV dropped into /etc/pldns/records/.  Port 53 on loopback must be free.
cp /usr/share/doc/pldns/examples/zones/example-dns-settings.csv /etc/pldns/records/10-portal.csv
if ss -Hlun 'sport = :53' | grep -q '127.0.0.1:53'; then
	not_ok "pldns serves port 53 as the user pldns # 127.0.0.1:53 is taken on this machine"
	not_ok "a name from /etc/pldns/records/ is answered # not started"
else
	setpriv --reuid=pldns --regid=pldns --init-groups \
	    --inh-caps=-all,+net_bind_service --ambient-caps=-all,+net_bind_service \
	    --bounding-set=-all,+net_bind_service --no-new-privs \
	    pldns serve -f >"$work/serve.log" 2>&1 &
	daemon=$!
	up=
	for i in $(seq 1 100); do
		grep -q serving "$work/serve.log" && { up=1; break; }
		kill -0 "$daemon" 2>/dev/null || break
		sleep 0.1
	done
	if [ -n "$up" ] && [ "$(ps -o user= -p "$daemon")" = pldns ]; then
		ok "pldns serves port 53 as the user pldns with CAP_NET_BIND_SERVICE only"
	else
		not_ok "pldns serves port 53 as the user pldns with CAP_NET_BIND_SERVICE only"
		diag "$work/serve.log"
	fi
	a=$(dig +short +time=2 +tries=2 @127.0.0.1 -p 53 mig-kv-7f3a.vault.azure.net A | tail -n 1)
	if [ "$a" = 10.10.1.12 ]; then ok "a name from /etc/pldns/records/ is answered (mig-kv-7f3a.vault.azure.net A $a)"
	else not_ok "a name from /etc/pldns/records/ is answered (got: $a)"; diag "$work/serve.log"; fi
	kill "$daemon" 2>/dev/null
	wait "$daemon" 2>/dev/null
	daemon=
fi
rm -f /etc/pldns/records/10-portal.csv

# 14, 15: remove keeps the configuration (a conffile), stops nothing it did not start.
check "dpkg --remove pldns" dpkg --remove pldns
if [ -f /etc/pldns/pldns.ini ] && [ ! -e /usr/sbin/pldns ]; then
	ok "remove keeps /etc/pldns/pldns.ini, removes /usr/sbin/pldns"
else not_ok "remove keeps /etc/pldns/pldns.ini, removes /usr/sbin/pldns"; fi

# 16, 17: purge leaves nothing of the package behind and nothing running.
check "dpkg --purge pldns" dpkg --purge pldns
left=""
for f in /usr/sbin/pldns /etc/pldns /var/lib/pldns /lib/systemd/system/pldns.service \
    /usr/lib/sysusers.d/pldns.conf /usr/share/doc/pldns /usr/share/man/man8/pldns.8.gz \
    /usr/share/man/man5/pldns.ini.5.gz /etc/systemd/system/multi-user.target.wants/pldns.service; do
	[ -e "$f" ] && left="$left $f"
done
# Other pldns processes (a developer's tests) may run from other paths.
for pid in $(pgrep -x pldns); do
	case "$(readlink "/proc/$pid/exe")" in /usr/sbin/pldns*) left="$left (pldns process $pid)" ;; esac
done
dpkg-query -W -f='${Status}' pldns 2>/dev/null | grep -q 'config-files\|installed' && left="$left (dpkg status)"
if [ -z "$left" ]; then ok "after purge nothing of pldns is left and nothing runs"
else not_ok "after purge nothing of pldns is left and nothing runs:$left"; fi
drop_user
exit 0
