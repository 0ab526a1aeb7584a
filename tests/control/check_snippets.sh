#!/bin/sh
# Checks the conditional-forwarder snippets of "pldns forwarders" against the
# real parsers: named-checkconf (Debian package bind9-utils) for BIND and
# unbound-checkconf (package unbound) for Unbound, plus dnsmasq --test when
# dnsmasq is installed.  The snippets are made from conf/pldns.ini.
#
#   tests/control/check_snippets.sh [PLDNS_BINARY]
#
# The binary defaults to $PLDNS_BIN (set by "make check"), else ./pldns.
# Output: TAP.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-${PLDNS_BIN:-$top/pldns}}
conf="$top/conf/pldns.ini"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
diag() { sed 's/^/# /' "$1"; }

echo "1..16"

# forwarders FORMAT SERVERS OUT: runs the verb, records success.
forwarders() {
	"$bin" forwarders -c "$conf" --server "$2" --format "$1" >"$3" 2>"$tmp/err"
}

for servers in "10.0.0.53,10.0.0.54" "10.0.0.53,[2001:db8::53]:5353"; do
	if forwarders bind "$servers" "$tmp/named.conf"; then
		if command -v named-checkconf >/dev/null 2>&1; then
			if named-checkconf "$tmp/named.conf" >"$tmp/check" 2>&1; then
				ok "named-checkconf accepts the BIND snippet (--server $servers)"
			else
				not_ok "named-checkconf accepts the BIND snippet (--server $servers)"
				diag "$tmp/check"
				diag "$tmp/named.conf"
			fi
		else
			skip "named-checkconf" "not installed (apt-get install bind9-utils)"
		fi
	else
		not_ok "pldns forwarders --format bind (--server $servers)"
		diag "$tmp/err"
	fi

	if forwarders unbound "$servers" "$tmp/unbound.conf"; then
		if command -v unbound-checkconf >/dev/null 2>&1; then
			if unbound-checkconf "$tmp/unbound.conf" >"$tmp/check" 2>&1; then
				ok "unbound-checkconf accepts the Unbound snippet (--server $servers)"
			else
				not_ok "unbound-checkconf accepts the Unbound snippet (--server $servers)"
				diag "$tmp/check"
				diag "$tmp/unbound.conf"
			fi
		else
			skip "unbound-checkconf" "not installed (apt-get install unbound)"
		fi
	else
		not_ok "pldns forwarders --format unbound (--server $servers)"
		diag "$tmp/err"
	fi
done

# The zones are the public twins, not the privatelink zones they cover.
forwarders bind 10.0.0.53 "$tmp/named.conf"
if grep -q '^zone "blob.core.windows.net" { type forward; forward only; forwarders { 10.0.0.53; }; };$' "$tmp/named.conf" &&
    grep -q '^zone "vault.azure.net" ' "$tmp/named.conf" &&
    ! grep -q '^zone "privatelink\.' "$tmp/named.conf"; then
	ok "the public twin zones are forwarded, not privatelink.*"
else
	not_ok "the public twin zones are forwarded, not privatelink.*"
	diag "$tmp/named.conf"
fi

# windows_line ZONE SERVERS [COMPUTER [SCOPE]]: the exact line for one zone.
windows_line() {
	cn=""
	[ -n "${3:-}" ] && cn=" -ComputerName \"$3\""
	rs=""
	[ -n "${4:-}" ] && rs=" -ReplicationScope $4"
	printf 'if (Get-DnsServerZone -Name "%s"%s -ErrorAction SilentlyContinue) { Set-DnsServerConditionalForwarderZone -Name "%s"%s -MasterServers %s } else { Add-DnsServerConditionalForwarderZone -Name "%s"%s -MasterServers %s%s }\n' \
	    "$1" "$cn" "$1" "$cn" "$2" "$1" "$cn" "$2" "$rs"
}

# check_windows WHAT COMPUTER SCOPE ARGS...: every zone's line is exact.
check_windows() {
	what=$1 computer=$2 scope=$3
	shift 3
	if "$bin" forwarders -c "$conf" --server 10.0.0.53,10.0.0.54 --format windows \
	    "$@" >"$tmp/win.ps1" 2>"$tmp/err"; then
		: >"$tmp/win.want"
		for z in $(sed -n 's/^if (Get-DnsServerZone -Name "\([^"]*\)".*/\1/p' "$tmp/win.ps1"); do
			windows_line "$z" 10.0.0.53,10.0.0.54 "$computer" "$scope" >>"$tmp/win.want"
		done
		grep -v '^#' "$tmp/win.ps1" >"$tmp/win.got"
		if [ -s "$tmp/win.want" ] && grep -q '^#' "$tmp/win.ps1" &&
		    grep -q '"blob.core.windows.net"' "$tmp/win.want" &&
		    cmp -s "$tmp/win.want" "$tmp/win.got"; then
			ok "Windows snippet, $what"
			return
		fi
		diag "$tmp/win.ps1"
	else
		diag "$tmp/err"
	fi
	not_ok "Windows snippet, $what"
}

check_windows "default: no -ReplicationScope (any Windows DNS server), safe to run twice" "" ""
check_windows "--windows-scope none is the default" "" "" --windows-scope none
check_windows "--windows-scope domain" "" Domain --windows-scope domain
check_windows "--windows-scope forest and --windows-computer dc1.corp.example" \
    dc1.corp.example Forest --windows-scope forest --windows-computer dc1.corp.example

# Bad option values are usage errors.
bad=""
for args in "--format windows --windows-scope galaxy" \
    "--format windows --windows-scope" \
    "--format windows --windows-computer 'dc1;Remove-Item'" \
    "--format windows --windows-computer ''" \
    "--format bind --windows-scope domain" \
    "--format unbound --windows-computer dc1"; do
	eval "set -- $args"
	"$bin" forwarders -c "$conf" --server 10.0.0.53 "$@" >/dev/null 2>"$tmp/err"
	rc=$?
	[ $rc -eq 64 ] || bad="$bad [$args: $rc]"
done
if [ -z "$bad" ]; then
	ok "bad --windows-scope / --windows-computer values and misuse exit 64"
else
	not_ok "bad --windows-scope / --windows-computer values and misuse exit 64:$bad"
fi

# Resolvers hardened against private answers must let these zones through.
if forwarders dnsmasq 10.0.0.53 "$tmp/dnsmasq.conf" &&
    grep -q '^server=/blob.core.windows.net/10.0.0.53$' "$tmp/dnsmasq.conf" &&
    grep -q '^rebind-domain-ok=/blob.core.windows.net/$' "$tmp/dnsmasq.conf" &&
    [ "$(grep -c '^server=' "$tmp/dnsmasq.conf")" -eq "$(grep -c '^rebind-domain-ok=' "$tmp/dnsmasq.conf")" ]; then
	ok "dnsmasq snippet: a rebind-domain-ok line per zone (stop-dns-rebind)"
else
	not_ok "dnsmasq snippet: a rebind-domain-ok line per zone (stop-dns-rebind)"
	diag "$tmp/dnsmasq.conf"
fi
if forwarders unbound 10.0.0.53 "$tmp/unbound.conf" &&
    grep -q '^server:$' "$tmp/unbound.conf" &&
    grep -q '^	private-domain: "blob.core.windows.net."$' "$tmp/unbound.conf" &&
    [ "$(grep -c '^	name: ' "$tmp/unbound.conf")" -eq "$(grep -c '^	private-domain: ' "$tmp/unbound.conf")" ] &&
    ! grep -q 'do-not-query-localhost' "$tmp/unbound.conf"; then
	ok "Unbound snippet: a private-domain per zone (private-address:)"
else
	not_ok "Unbound snippet: a private-domain per zone (private-address:)"
	diag "$tmp/unbound.conf"
fi
# Unbound does not query loopback addresses unless told.
if forwarders unbound 127.0.0.1:5353 "$tmp/unbound.conf" &&
    grep -q '^	do-not-query-localhost: no$' "$tmp/unbound.conf" &&
    unbound-checkconf "$tmp/unbound.conf" >"$tmp/check" 2>&1; then
	ok "Unbound snippet for pldns on loopback: do-not-query-localhost: no"
else
	not_ok "Unbound snippet for pldns on loopback: do-not-query-localhost: no"
	diag "$tmp/unbound.conf"
	diag "$tmp/check"
fi

if forwarders dnsmasq 10.0.0.53:5353 "$tmp/dnsmasq.conf" &&
    grep -q '^server=/blob.core.windows.net/10.0.0.53#5353$' "$tmp/dnsmasq.conf"; then
	if command -v dnsmasq >/dev/null 2>&1; then
		if dnsmasq --test --conf-file="$tmp/dnsmasq.conf" >"$tmp/check" 2>&1; then
			ok "dnsmasq --test accepts the dnsmasq snippet"
		else
			not_ok "dnsmasq --test accepts the dnsmasq snippet"
			diag "$tmp/check"
		fi
	else
		ok "dnsmasq snippet: server=/zone/addr#port lines (dnsmasq not installed to check further)"
	fi
else
	not_ok "dnsmasq snippet"
	diag "$tmp/dnsmasq.conf"
fi

if forwarders coredns 10.0.0.53 "$tmp/Corefile" &&
    grep -q '^blob.core.windows.net .* {$' "$tmp/Corefile" &&
    grep -q '^    forward \. 10.0.0.53$' "$tmp/Corefile" && grep -q '^}$' "$tmp/Corefile"; then
	ok "CoreDNS snippet: one server block with forward"
else
	not_ok "CoreDNS snippet: one server block with forward"
	diag "$tmp/Corefile"
fi

# Usage errors.
"$bin" forwarders -c "$conf" --server 10.0.0.53 --format nosuch >/dev/null 2>&1
rc=$?
"$bin" forwarders -c "$conf" --server 10.0.0.53:5353 --format windows >/dev/null 2>&1
rc2=$?
if [ $rc -eq 64 ] && [ $rc2 -eq 64 ]; then
	ok "unknown format and a port for Windows exit 64"
else
	not_ok "unknown format and a port for Windows exit 64 (got $rc, $rc2)"
fi
[ "$failed" -eq 0 ]
