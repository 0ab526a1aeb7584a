#!/bin/sh
# pldns.ini(5) must say what the parser does: the shipped page is compared
# with the one generated from config_keys[] (contrib/gen-man-ini).  Run
# "make man" after changing the key table.  Output: TAP.
top=$(cd "$(dirname "$0")/../.." && pwd)
gen=${PLDNS_BUILDDIR:-.}/contrib/gen-man-ini
echo "1..1"
if [ ! -x "$gen" ]; then
	echo "not ok 1 - pldns.ini(5) matches the key table # no $gen (make contrib/gen-man-ini)"
	exit 0
fi
if "$gen" | diff -u "$top/man/pldns.ini.5" - > /tmp/pldns-man.$$ 2>&1; then
	echo "ok 1 - pldns.ini(5) matches the key table"
else
	echo "not ok 1 - pldns.ini(5) matches the key table (run make man)"
	sed 's/^/# /' /tmp/pldns-man.$$ | head -n 40
fi
rm -f /tmp/pldns-man.$$
