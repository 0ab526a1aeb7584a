#!/bin/sh
# Builds pldns with warnings as errors under AddressSanitizer and UBSan in
# ./build-check and runs every test (unit and system).  Ends with one line:
# "N passed, N failed".  Exit status 0 only when nothing failed.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
contrib/deps.sh test
[ -x configure ] || autoreconf -fi
mkdir -p build-check
cd build-check
[ -f Makefile ] || ../configure --enable-werror --enable-sanitizers
make -j2
set +e
make -j2 check
status=$?
set -e
log=test-suite.log
if [ ! -f "$log" ]; then
	echo "0 passed, 1 failed"
	exit 1
fi
count() { sed -n "s/^# $1: *\([0-9]*\)/\1/p" "$log" | head -n 1; }
pass=$(count PASS)
fail=$(( $(count FAIL) + $(count ERROR) + $(count XPASS) ))
if [ "$fail" -gt 0 ] || [ "$status" -ne 0 ]; then
	# Show what failed, so a CI log alone explains the failure.
	grep -E '^(not ok|Bail out|# )' tests/*/*.log 2>/dev/null | grep -v '^.*# (PASS|SKIP)' | head -n 80 || true
	[ "$fail" -gt 0 ] || fail=1
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
