#!/bin/sh
# Answers lost while the upstream is killed and restarted every few
# seconds: pldns (2 workers) side by side with Unbound and BIND (2 threads
# each), every one serving stale (not part of make check):
#
#     tests/bench/flap.sh        # about 2 minutes
#
# 200 names with a 2 s TTL, each asked once through one source port (so
# one pldns worker caches them), then 5,000 queries at 250/s from 64
# source ports while the fake upstream is up 2 s, killed for 3 s, and
# restarted on its port, again and again.  Prints per server the answers
# and the lost ones (SERVFAIL, wrong, or none within 3 s).  Installs
# unbound and bind9 from Debian when missing (as root), builds pldns out of
# tree in $BENCH_BUILD (/tmp/build-bench) unless PLDNS_BIN names a binary,
# and runs flap.py (its options: flap.py --help; FLAP_ARGS passes more).
# 127.0.0.1 only; the whole run is bounded by BENCH_TIMEOUT seconds (900).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"

bench_need_load
[ -x /usr/sbin/unbound ] || need="$need unbound"
[ -x /usr/sbin/named ] || need="$need bind9"
# shellcheck disable=SC2086
bench_install flap.sh $need

bench_pldns flap.sh "$src"

# shellcheck disable=SC2086
exec timeout -s TERM -k 15 "${BENCH_TIMEOUT:-900}" \
	$PY -u "$here/flap.py" --pldns "$pldns" ${FLAP_ARGS:-}
