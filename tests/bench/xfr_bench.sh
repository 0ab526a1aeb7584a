#!/bin/sh
# Zone transfer figures for issue 9, on loopback:
#
#   1. a primary with 100,000 records serves 10 concurrent AXFRs: wall time,
#      and every client got every record;
#   2. an IXFR of one change among those 100,000 records: its size in bytes
#      (the issue wants under 1 KB), and the same transfer signed with TSIG.
#
# Usage: tests/bench/xfr_bench.sh [PLDNS_BIN] [RECORDS] [CLIENTS]
#   PLDNS_BIN  the daemon (default: $PLDNS_BIN, else ./pldns)
#   RECORDS    default 100000;  CLIENTS  default 10
# Needs dig (bind9-dnsutils).  Everything is bounded: each dig has a timeout,
# the daemon is stopped (its own PID) on exit.  Prints one "key: value" line
# per figure and exits non-zero when a figure misses the issue's target.
set -eu

BIN=${1:-${PLDNS_BIN:-./pldns}}
N=${2:-100000}
CLIENTS=${3:-10}
ZONE=bench.xfr.example
SECRET=c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=
PY=/usr/bin/python3

[ -x "$BIN" ] || { echo "no pldns binary at $BIN" >&2; exit 2; }
command -v dig >/dev/null || { echo "dig not found (apt-get install bind9-dnsutils)" >&2; exit 2; }

dir=$(mktemp -d /tmp/pldns-xfr-bench.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

port=$($PY -c 'import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    p = u.getsockname()[1]; t = socket.socket()
    try:
        t.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        u.close(); t.close()')

zone() {	# zone SERIAL CHANGED-INDEX
	$PY - "$1" "$2" "$N" "$ZONE" <<'EOF'
import sys
serial, changed, n, zone = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
out = ["$ORIGIN %s.\n$TTL 300\n@ 3600 IN SOA ns1 hostmaster %d 3600 600 86400 60\n"
       "@ 3600 IN NS ns1\nns1 A 10.0.0.1\n" % (zone, serial)]
for i in range(n):
    last = 250 if i == changed else i % 250
    out.append("host-%06d A 10.%d.%d.%d\n" % (i, 1 + i // 62500, (i // 250) % 250, last))
sys.stdout.write("".join(out))
EOF
}

zone 1 -1 > "$dir/z.zone"
cat > "$dir/pldns.ini" <<EOF
[server]
listen = 127.0.0.1:$port
[upstream]
servers = 127.0.0.1:9
[zone "$ZONE"]
file = z.zone
allow_transfer = 127.0.0.0/8
[key "xk"]
secret = $SECRET
[control]
listen = none
EOF

"$BIN" serve -f -c "$dir/pldns.ini" > "$dir/pldns.log" 2>&1 &
pid=$!
i=0
until grep -q serving "$dir/pldns.log"; do
	i=$((i + 1))
	if [ $i -gt 600 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "pldns did not start:" >&2; cat "$dir/pldns.log" >&2; exit 1
	fi
	sleep 0.1
done

now() { $PY -c 'import time; print("%.3f" % time.monotonic())'; }

# 1. CLIENTS concurrent AXFRs.
t0=$(now)
c=0
digs=
while [ $c -lt "$CLIENTS" ]; do
	dig @127.0.0.1 -p "$port" "$ZONE" AXFR +tries=1 +time=60 +noall +stats \
	    > "$dir/axfr.$c" 2>&1 &
	digs="$digs $!"
	c=$((c + 1))
done
wait_fail=0
for j in $digs; do
	wait "$j" || wait_fail=1
done
t1=$(now)
want=$((N + 4))
ok=0
c=0
while [ $c -lt "$CLIENTS" ]; do
	got=$(sed -n 's/.*XFR size: \([0-9]*\) records.*/\1/p' "$dir/axfr.$c")
	[ "$got" = "$want" ] && ok=$((ok + 1))
	c=$((c + 1))
done
bytes=$(sed -n 's/.*bytes \([0-9]*\)).*/\1/p' "$dir/axfr.0")
msgs=$(sed -n 's/.*messages \([0-9]*\),.*/\1/p' "$dir/axfr.0")
echo "axfr_records: $want"
echo "axfr_messages: $msgs"
echo "axfr_bytes: $bytes"
echo "axfr_concurrent_clients: $CLIENTS"
echo "axfr_complete_clients: $ok"
echo "axfr_concurrent_wall_s: $($PY -c "print('%.2f' % ($t1 - $t0))")"

# 2. One change, then IXFR from serial 1.
zone 2 4242 > "$dir/z.zone"
kill -HUP "$pid"
i=0
until [ "$(dig @127.0.0.1 -p "$port" "$ZONE" SOA +short +time=2 +tries=1 | awk '{print $3}')" = 2 ]; do
	i=$((i + 1)); [ $i -gt 300 ] && { echo "reload did not take" >&2; exit 1; }
	sleep 0.1
done
dig @127.0.0.1 -p "$port" "$ZONE" IXFR=1 +tries=1 +time=10 +noall +answer +stats > "$dir/ixfr" 2>&1
ixfr_bytes=$(sed -n 's/.*bytes \([0-9]*\)).*/\1/p' "$dir/ixfr")
ixfr_records=$(sed -n 's/.*XFR size: \([0-9]*\) records.*/\1/p' "$dir/ixfr")
dig @127.0.0.1 -p "$port" "$ZONE" IXFR=1 -y "hmac-sha256:xk:$SECRET" +tries=1 +time=10 \
    +noall +stats > "$dir/ixfr.tsig" 2>&1
ixfr_tsig_bytes=$(sed -n 's/.*bytes \([0-9]*\)).*/\1/p' "$dir/ixfr.tsig")
echo "ixfr_records: $ixfr_records"
echo "ixfr_bytes: $ixfr_bytes"
echo "ixfr_tsig_bytes: $ixfr_tsig_bytes"

rc=0
[ "$ok" = "$CLIENTS" ] || { echo "FAIL: only $ok of $CLIENTS AXFRs complete" >&2; rc=1; }
[ "$wait_fail" = 0 ] || { echo "FAIL: a dig failed" >&2; rc=1; }
[ -n "$ixfr_bytes" ] && [ "$ixfr_bytes" -lt 1024 ] || { echo "FAIL: IXFR of one change is not under 1 KB" >&2; rc=1; }
[ "$ixfr_records" = 6 ] || { echo "FAIL: IXFR has $ixfr_records records, not 6" >&2; rc=1; }
if grep -q -e AddressSanitizer -e "runtime error:" "$dir/pldns.log"; then
	echo "FAIL: sanitizer report in the pldns log" >&2; rc=1
fi
exit $rc
