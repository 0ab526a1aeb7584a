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
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"

bench_need_load
# shellcheck disable=SC2086
bench_install reload.sh $need
if [ "$(nproc)" -lt 2 ]; then
	BENCH_SERVER_CPU=0
	export BENCH_SERVER_CPU
fi

bench_pldns reload.sh "$src"
echo "reload.sh: pldns $pldns ($("$pldns" version 2>/dev/null | head -1))" >&2
exec timeout -s TERM -k 15 "${BENCH_TIMEOUT:-1800}" \
	$PY -u "$here/reload.py" --pldns "$pldns"
