#!/bin/sh
# Builds pldns and runs every test, as CI does:
#   1. unit and system tests ("make check") in ./build-check, built with
#      warnings as errors under AddressSanitizer and UBSan;
#   2. the system tests again under valgrind (no leaks, no invalid reads)
#      in ./build-valgrind, built without sanitizers;
#   3. the system tests that run several threads at once (workers, reloads,
#      the control endpoint, flush, the Azure sync thread) under
#      ThreadSanitizer in ./build-tsan;
#   4. with CI=true (or PLDNS_FUZZ_SECONDS=N), every libFuzzer harness for
#      60 s (N s) each; a harness that ran without a crash counts as passed;
#   5. with CI=true (or PLDNS_PACKAGE_TEST=1), as root: the Debian package
#      built, linted, installed, checked and purged (contrib/package-test.sh;
#      it installs and removes a package: not by default outside CI, and
#      there with a private /etc, see the script).
# Ends with one line: "N passed, N failed".  Exit status 0 only when
# nothing failed.  PLDNS_VALGRIND=0 skips step 2, PLDNS_TSAN=0 step 3.
#
# "contrib/check.sh mutate [ARGS]" runs mutation testing instead
# (tests/mutate.py ARGS; not part of CI: about half an hour).
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
fuzz_seconds=${PLDNS_FUZZ_SECONDS:-}
if [ -z "$fuzz_seconds" ] && [ "${CI:-}" = true ]; then fuzz_seconds=60; fi
if [ -n "$fuzz_seconds" ] && [ "$fuzz_seconds" != 0 ]; then
	contrib/deps.sh fuzz
else
	contrib/deps.sh test
fi
[ -x configure ] || autoreconf -fi

if [ "${1:-}" = mutate ]; then
	shift
	exec /usr/bin/python3 tests/mutate.py "$@"
fi

pass=0
fail=0
add() { pass=$((pass + $1)); fail=$((fail + $2)); }
# Counts TAP file $1 of system tests into the totals as "$2" and shows what
# failed; a file without a single "ok" counts as a failure.
count_tap() {
	p=$(grep -c '^ok ' "$1" || true)
	f=$(grep -cE '^(not ok|Bail out)' "$1" || true)
	[ "$p" -gt 0 ] || f=$((f + 1))
	echo "$2: $p passed, $f failed ($(basename "$PWD")/$1)"
	grep -E '^(not ok|Bail out|#   |# WARNING: ThreadSanitizer)' "$1" | head -n 60 || true
	add "$p" "$f"
}

# 1. make check under ASan + UBSan
mkdir -p build-check
cd build-check
[ -f Makefile ] || ../configure --enable-werror --enable-sanitizers
make -j2
set +e
make -j2 check
status=$?
set -e
log=test-suite.log
count() { sed -n "s/^# $1: *\([0-9]*\)/\1/p" "$log" | head -n 1; }
if [ -f "$log" ]; then
	p=$(count PASS)
	f=$(( $(count FAIL) + $(count ERROR) + $(count XPASS) ))
	[ "$status" -eq 0 ] || [ "$f" -gt 0 ] || f=1
	add "${p:-0}" "$f"
	if [ "$f" -gt 0 ]; then
		# Show what failed, so a CI log alone explains the failure.
		grep -hE '^(not ok|Bail out|#   |# [a-z])' tests/*/*.log 2>/dev/null | head -n 120 || true
	fi
else
	add 0 1
fi
cd "$top"

# 2. system tests under valgrind
if [ "${PLDNS_VALGRIND:-1}" != 0 ]; then
	mkdir -p build-valgrind
	cd build-valgrind
	[ -f Makefile ] || ../configure --enable-werror
	make -j2 pldns
	set +e
	PLDNS_BIN="$top/tests/system/valgrind-pldns" PLDNS_VALGRIND_BIN="$PWD/pldns" \
	    PLDNS_TIME_SCALE=10 PLDNS_START_TIMEOUT=60 \
	    sh "$top/tests/system/run_system_tests.sh" test_core.py test_split.py \
	    test_reload.py > valgrind.tap 2>&1
	set -e
	count_tap valgrind.tap valgrind
	cd "$top"
fi

# 3. system tests under ThreadSanitizer: the files whose daemons run several
# workers beside the main thread's reloads, control requests, flushes,
# statistics and zone transfers (about 3 minutes with the build).
# Suppressions (each with its reason) in tests/system/tsan.supp.
if [ "${PLDNS_TSAN:-1}" != 0 ]; then
	mkdir -p build-tsan
	cd build-tsan
	[ -f Makefile ] || ../configure --enable-werror --enable-tsan
	make -j2 pldns
	set +e
	TSAN_OPTIONS="suppressions=$top/tests/system/tsan.supp history_size=4" \
	    PLDNS_BIN="$PWD/pldns" PLDNS_TIME_SCALE=5 PLDNS_START_TIMEOUT=60 \
	    sh "$top/tests/system/run_system_tests.sh" test_ops.py test_reload.py \
	    test_safety.py test_prefetch.py test_xfr.py test_core.py test_sync.py \
	    > tsan.tap 2>&1
	set -e
	count_tap tsan.tap tsan
	cd "$top"
fi

# 4. fuzzing
if [ -n "$fuzz_seconds" ] && [ "$fuzz_seconds" != 0 ]; then
	cd build-check
	set +e
	make fuzz FUZZ_SECONDS="$fuzz_seconds" FUZZ_OUT="$top/build-fuzz" > fuzz.log 2>&1
	set -e
	sed -n '/^harness /,$p' fuzz.log
	p=$(grep -cE '^[a-z]+ +[0-9]+ +[0-9]+ +ok$' fuzz.log || true)
	f=$(grep -cE '^[a-z]+ +.*CRASH' fuzz.log || true)
	[ "$p" -gt 0 ] || f=$((f + 1))
	add "$p" "$f"
	cd "$top"
fi

# 5. the Debian package
package=${PLDNS_PACKAGE_TEST:-}
if [ -z "$package" ] && [ "${CI:-}" = true ]; then package=1; fi
if [ "$package" = 1 ]; then
	set +e
	sh contrib/package-test.sh > package-test.tap 2>&1
	set -e
	p=$(grep -c '^ok ' package-test.tap || true)
	f=$(grep -cE '^(not ok|Bail out)' package-test.tap || true)
	[ "$p" -gt 0 ] || f=$((f + 1))
	echo "package test: $p ok, $f not ok (package-test.tap)"
	grep -E '^(not ok|Bail out|# lintian)' package-test.tap | head -n 40 || true
	add "$p" "$f"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
