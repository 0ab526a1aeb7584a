#!/bin/sh
# Instructions pldns runs per query on the local, synthesized and cache-hit
# paths, counted by callgrind (not part of make check):
#
#     tests/bench/instr.sh        # about a minute
#
# A count of instructions does not move with the machine's load the way CPU
# time does, so it shows what a change to the query path costs or saves.
# Installs valgrind and dnsperf from Debian when they are missing (as root),
# builds pldns out of tree in $BENCH_BUILD (/tmp/build-bench) unless
# PLDNS_BIN names a binary, and runs instr.py.  127.0.0.1 only; the whole
# run is bounded by BENCH_TIMEOUT seconds (1200).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"

bench_need_load
command -v valgrind >/dev/null 2>&1 || need="$need valgrind"
# shellcheck disable=SC2086
bench_install instr.sh $need

bench_pldns instr.sh "$src"

exec timeout -s TERM -k 15 "${BENCH_TIMEOUT:-1200}" \
	$PY -u "$here/instr.py" --pldns "$pldns"
