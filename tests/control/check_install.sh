#!/bin/sh
# "make install" gives one consistent layout: the binary's default
# configuration, the systemd unit, the manual pages and the README all name
# the paths configure was given, the installed configuration and the
# installed example both load from where they are installed, and the unit
# passes systemd-analyze verify.  Installs into a temporary DESTDIR from
# the build tree ($PLDNS_BUILDDIR).  Output: TAP.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${PLDNS_BUILDDIR:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
diag() { sed 's/^/# /' "$1" | head -n 30; }
# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.
check() {
	d=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then ok "$d"; else not_ok "$d"; diag "$tmp/out"; fi
}

echo "1..12"
dest=$tmp/dest
if ! make -s -C "$build" install DESTDIR="$dest" >"$tmp/install.log" 2>&1; then
	echo "Bail out! make install DESTDIR=$dest failed"
	diag "$tmp/install.log"
	exit 1
fi
eval "$(make -s -C "$build" print-layout)"
bin=$dest$sbindir/pldns
conf=$pkgsysconfdir/pldns.ini
unit=$dest$systemdsystemunitdir/pldns.service

# 1: every part of the layout is where configure said.
missing=""
for f in "$bin" "$dest$conf" "$dest$pkgsysconfdir/records" "$unit" \
    "$dest$sysusersdir/pldns.conf" "$dest$mandir/man8/pldns.8" \
    "$dest$mandir/man5/pldns.ini.5" "$dest$docdir/README" \
    "$dest$docdir/deployment.md" "$dest$docdir/examples/conf/pldns.ini" \
    "$dest$docdir/examples/prometheus/pldns-rules.yml" \
    "$dest$docdir/examples/grafana/pldns.json"; do
	[ -e "$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then ok "make install puts every file in the configured layout"
else not_ok "make install puts every file in the configured layout"; echo "# missing:$missing"; fi

# 2: the binary reads the installed configuration when no -c is given.
"$bin" ctl --help >"$tmp/out" 2>&1
if grep -qF "(default $conf)" "$tmp/out"; then ok "the binary's default configuration is $conf"
else not_ok "the binary's default configuration is $conf"; diag "$tmp/out"; fi

# 3: the installed example loads from where it is installed.
check "the installed example configuration loads where it is installed" \
    "$bin" check-config -c "$dest$docdir/examples/conf/pldns.ini"

# 4, 5: the installed configuration loads with an empty records directory,
# then with the portal CSV dropped into it.  Its absolute paths are moved
# under DESTDIR.
sed -e "s|$pkgsysconfdir|$dest$pkgsysconfdir|g" \
    -e "s|$pldnsstatedir|$tmp/state|g" "$dest$conf" >"$tmp/pldns.ini"
"$bin" check-config -c "$tmp/pldns.ini" >"$tmp/out" 2>&1
if grep -qx "configuration OK: 0 zones, 0 records" "$tmp/out"; then
	ok "the installed configuration loads with an empty records directory"
else not_ok "the installed configuration loads with an empty records directory"; diag "$tmp/out"; fi
cp "$top/zones/example-dns-settings.csv" "$dest$pkgsysconfdir/records/10-portal.csv"
"$bin" check-config -c "$tmp/pldns.ini" >"$tmp/out" 2>&1
if grep -q "^configuration OK: [1-9][0-9]* zones, [1-9][0-9]* records" "$tmp/out"; then
	ok "a CSV dropped into the records directory is loaded"
else not_ok "a CSV dropped into the records directory is loaded"; diag "$tmp/out"; fi

# 6: the installed configuration is the safe default.
if grep -qx "listen = 127.0.0.1:53, \[::1\]:53" "$dest$conf" &&
    grep -qx "sources = $pkgsysconfdir/records/" "$dest$conf" &&
    grep -qx "state_dir = $pldnsstatedir" "$dest$conf" &&
    ! grep -q "^servers" "$dest$conf" && ! grep -q "^allow" "$dest$conf"; then
	ok "the installed configuration listens on loopback, takes upstreams from resolv.conf, records from $pkgsysconfdir/records/"
else not_ok "the installed configuration listens on loopback, takes upstreams from resolv.conf, records from $pkgsysconfdir/records/"; diag "$dest$conf"; fi

# 7: the unit runs the installed binary on the installed configuration.
if grep -qx "ExecStart=$sbindir/pldns serve -f -c $conf" "$unit"; then
	ok "the unit's ExecStart names $sbindir/pldns and $conf"
else not_ok "the unit's ExecStart names $sbindir/pldns and $conf"; grep -n Exec "$unit" | sed 's/^/# /'; fi

# 8: the state directory is writable under the unit, created for pldns.
if [ "$pldnsstatedir" = /var/lib/pldns ]; then
	want="StateDirectory=pldns"
else
	want="ReadWritePaths=-$pldnsstatedir"
fi
if grep -qx "$want" "$unit" && ! grep -q '@[a-z_]*@' "$unit"; then ok "the unit makes $pldnsstatedir writable ($want)"
else not_ok "the unit makes $pldnsstatedir writable ($want)"; diag "$unit"; fi

# 9: systemd-analyze verify accepts the unit (its commands moved under
# DESTDIR; the manual pages are checked below).
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s|$sbindir/pldns|$bin|g" "$unit" >"$tmp/pldns.service"
	check "systemd-analyze verify accepts the unit" \
	    systemd-analyze verify --man=no "$tmp/pldns.service"
else
	not_ok "systemd-analyze verify accepts the unit # no systemd-analyze (apt-get install systemd)"
fi

# 10, 11: the manual pages and the README name the configured paths, and
# nothing in them still names the Debian ones when the layout differs.
for f in man8/pldns.8 man5/pldns.ini.5; do
	grep -qF "$conf" "$dest$mandir/$f" || echo "$f: no $conf" >>"$tmp/man"
done
grep -qF "$pldnsstatedir" "$dest$mandir/man8/pldns.8" || echo "pldns.8: no $pldnsstatedir" >>"$tmp/man"
if [ "$sysconfdir" != /etc ]; then
	grep -nE '(^|[ `"(])/etc/pldns' "$dest$mandir/man8/pldns.8" \
	    "$dest$mandir/man5/pldns.ini.5" >>"$tmp/man"
fi
if [ ! -s "$tmp/man" ]; then ok "the manual pages name $conf and $pldnsstatedir"
else not_ok "the manual pages name $conf and $pldnsstatedir"; diag "$tmp/man"; fi
# Its note of the default ./configure layout comes through unchanged.
if grep -qF "$conf" "$dest$docdir/README" && grep -qF "$sbindir/pldns" "$dest$docdir/README" &&
    grep -qF " /usr/local/etc/pldns/pldns.ini" "$dest$docdir/README" &&
    ! grep -qE '(/usr/local|/etc)/usr/local/|/etc/etc/' "$dest$docdir/README"; then
	ok "the installed README names $sbindir/pldns and $conf"
else not_ok "the installed README names $sbindir/pldns and $conf"; fi

# 12: no document still names the configuration file before it moved into
# its own directory.
if grep -rn "/etc/pldns\.ini" "$top/README" "$top/man" "$top/doc" "$top/conf" \
    "$top/contrib" "$top/src" >"$tmp/old" 2>&1; then
	not_ok "no document names /etc/pldns.ini"; diag "$tmp/old"
else
	ok "no document names /etc/pldns.ini"
fi
exit 0
