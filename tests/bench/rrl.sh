#!/bin/sh
# Response rate limiting under a flood (issue 8's figure): one client
# (127.0.0.1) floods pldns (tests/bench/flood.c) at 100,000 queries/s for
# RRL_SECONDS (2 workers, both on CPU 1) while a second client on another /24 (127.0.1.1) asks 50
# queries/s; prints how many answers each got.  Loopback only; bounded.
#   PLDNS_BIN   the daemon (default: ./pldns)
#   RRL_RATE    rrl_rate for the run (default 1000)
#   RRL_SECONDS length of the flood (default 5)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${PLDNS_BIN:-$top/pldns}
rate=${RRL_RATE:-1000}
secs=${RRL_SECONDS:-5}
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$tmp/pldns.ini" <<EOC
[server]
listen = 127.0.0.1:$port
workers = 2
rrl_rate = $rate
rrl_slip = 2
[upstream]
servers = 127.0.0.1:9
[records]
sources = $top/zones/example-dns-settings.csv
[control]
listen = none
EOC
taskset -c 1 "$bin" serve -f -c "$tmp/pldns.ini" > "$tmp/pldns.log" 2>&1 &
pid=$!
i=0
while ! grep -q serving "$tmp/pldns.log" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
cc -O2 -o "$tmp/flood" "$top/tests/bench/flood.c"
taskset -c 0 "$tmp/flood" 127.0.0.1 "$port" 100000 "$secs" > "$tmp/flood.txt" 2>&1 &
flood=$!
/usr/bin/python3 - "$port" "$secs" > "$tmp/other.txt" <<'EOP'
import socket, sys, time
import dns.message, dns.flags
port, secs = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.1.1", 0))
s.settimeout(0.5)
sent = ok = tc = 0
end = time.monotonic() + secs
while time.monotonic() < end and sent < 10000:
    q = dns.message.make_query("mig-kv-7f3a.vault.azure.net.", "A")
    s.sendto(q.to_wire(), ("127.0.0.1", port))
    sent += 1
    try:
        r = dns.message.from_wire(s.recv(65535))
        if r.flags & dns.flags.TC:
            tc += 1
        elif r.answer:
            ok += 1
    except socket.timeout:
        pass
    time.sleep(0.02)
print("other client (127.0.1.1): %d sent, %d answered in full, %d truncated" % (sent, ok, tc))
EOP
wait $flood || true
kill -USR1 $pid; sleep 0.3
echo "pldns rrl_rate = $rate per /24, slip 2, $secs s flood from 127.0.0.1:"
sed 's/^/  /' "$tmp/flood.txt"
cat "$tmp/other.txt"
echo "server counters:"
grep -o "stats: .*" "$tmp/pldns.log" | tail -n 1 | sed 's/^/  /'
