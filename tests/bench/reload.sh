#!/bin/sh
# Issue 5's reload benchmarks in one command (not part of make check):
#
#     tests/bench/reload.sh                 # (a) 3 reloads of 1M records, (b) 100 swaps
#     BENCH_QUICK=1 tests/bench/reload.sh   # (a) 1 reload, (b) 20 swaps
#
# (a) SIGHUP reload of 1,000,000 CSV records (tests/bench/gen_csv.py): time
#     from the signal to the "reloaded" log line, steady and peak RSS.
# (b) reloads alternating two data sets under continuous dnsperf load, with a
#     checker verifying every answer: lost queries, wrong answers, p99.
# See reload.py for the knobs (RELOAD_*).  Installs dnsperf when missing (as
# root); builds pldns in $BENCH_BUILD (/tmp/build-bench) unless PLDNS_BIN is
# set.  pldns on CPU 1, load on CPU 0, 127.0.0.1 only; bounded by
# BENCH_TIMEOUT seconds (1800).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${BENCH_BUILD:-/tmp/build-bench}
PY=/usr/bin/python3
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE

need=""
command -v dnsperf >/dev/null 2>&1 || need="$need dnsperf"
$PY -c 'import dns.message' 2>/dev/null || need="$need python3-dnspython"
command -v taskset >/dev/null 2>&1 || need="$need util-linux"
if [ -n "$need" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "reload.sh: missing$need; run as root or install them" >&2
		exit 69
	fi
	echo "reload.sh: installing$need" >&2
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	apt-get install -y --no-install-recommends $need >&2 || {
		apt-get update >&2
		# shellcheck disable=SC2086
		apt-get install -y --no-install-recommends $need >&2
	}
fi
if [ "$(nproc)" -lt 2 ]; then
	BENCH_SERVER_CPU=0
	export BENCH_SERVER_CPU
fi

if [ -n "${PLDNS_BIN:-}" ]; then
	pldns=$PLDNS_BIN
else
	mkdir -p "$build"
	(cd "$build" && { test -f Makefile || "$src/configure" >configure.log; } &&
	    make -j2 pldns >make.log 2>&1) || {
		echo "reload.sh: building pldns in $build failed; see $build/make.log" >&2
		exit 1
	}
	pldns=$build/pldns
fi
echo "reload.sh: pldns $pldns ($("$pldns" version 2>/dev/null | head -1))" >&2
exec timeout -s TERM -k 15 "${BENCH_TIMEOUT:-1800}" \
	$PY -u "$here/reload.py" --pldns "$pldns"
