#!/bin/sh
# The side-by-side benchmark of issue 10, in one command (not part of
# make check):
#
#     tests/bench/run.sh                 # full run, about 20 minutes
#     BENCH_QUICK=1 tests/bench/run.sh   # one round, shorter runs, 200k rows
#     BENCH_BEFORE=/path/to/old/pldns tests/bench/run.sh
#                                        # and an older pldns in the same rounds
#
# Installs dnsperf, unbound, bind9, dnsmasq-base and dnsdist from Debian when they
# are missing (as root), builds pldns out of tree in $BENCH_BUILD
# (/tmp/build-bench) unless PLDNS_BIN names a binary, builds the floor
# responder (floor.c), and runs bench.py: every server pinned to CPU
# $BENCH_SERVER_CPU (1), dnsperf and the fake upstream to $BENCH_LOAD_CPU
# (0), all on 127.0.0.1.  See bench.py for the scenarios and the other
# BENCH_* knobs.  The whole run is bounded by BENCH_TIMEOUT seconds (1800).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"

bench_need_load
[ -x /usr/sbin/unbound ] || need="$need unbound"
[ -x /usr/sbin/named ] || need="$need bind9"
[ -x /usr/sbin/dnsmasq ] || need="$need dnsmasq-base"
[ -x /usr/bin/dnsdist ] || need="$need dnsdist"
command -v cc >/dev/null 2>&1 || need="$need gcc"
if [ -n "$need" ]; then
	# shellcheck disable=SC2086
	bench_install run.sh $need
	# the packages' own services would sit on port 53; the benchmark
	# starts its own instances
	for s in unbound named bind9 dnsmasq dnsdist; do
		if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
			systemctl stop "$s" >/dev/null 2>&1 || true
		fi
	done
fi

if [ "$(nproc)" -lt 2 ]; then
	echo "run.sh: warning: fewer than 2 CPUs; server and load share one" >&2
	BENCH_SERVER_CPU=0
	export BENCH_SERVER_CPU
fi

bench_pldns run.sh "$src"
mkdir -p "$build"
floor=$build/bench-floor
cc -O2 -o "$floor" "$here/floor.c"

echo "run.sh: pldns $pldns ($("$pldns" version 2>/dev/null | head -1)); floor $floor" >&2
echo "run.sh: dnsperf $(dnsperf -h 2>&1 | sed -n 's/^Version //p' | head -1)," \
    "Unbound $(unbound -V 2>&1 | sed -n 's/^Version //p' | head -1)," \
    "$(named -v 2>&1 | cut -d' ' -f1-2), $(dnsmasq -v 2>&1 | head -1 | cut -d' ' -f1-3)," \
    "$(dnsdist --version 2>&1 | head -1 | cut -d' ' -f1-2)" >&2

exec timeout -s TERM -k 15 "${BENCH_TIMEOUT:-1800}" \
	$PY -u "$here/bench.py" --pldns "$pldns" --floor "$floor"
