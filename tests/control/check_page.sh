#!/bin/sh
# Loads the control endpoint's status page (GET /) in headless Chromium from
# Debian against a running pldns on loopback: the page must render its
# tables and draw the live QPS chart (the page marks <body data-chart=
# "drawn"> once its canvas holds points).  A screenshot is kept next to the
# test's log (check_page.png) for a person to look at.  Output: TAP.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${PLDNS_BIN:-$top/pldns}
out=${PLDNS_BUILDDIR:-.}/tests/control
mkdir -p "$out"
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

# The plan and the skips come from one count, so that they cannot disagree.
ntests=6
echo "1..$ntests"
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then
	i=1
	while [ $i -le $ntests ]; do
		echo "ok $i - status page # SKIP chromium not installed (apt-get install chromium)"
		i=$((i + 1))
	done
	exit 0
fi
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dns=$(port)
ctl=$(port)
cp "$top/zones/example-dns-settings.csv" "$tmp/dns.csv"
cat > "$tmp/pldns.ini" <<EOC
[server]
listen = 127.0.0.1:$dns
workers = 1
[upstream]
servers = 127.0.0.1:$(port)
timeout_ms = 200
deadline_ms = 400
[records]
sources = $tmp/dns.csv
[control]
listen = 127.0.0.1:$ctl
EOC
"$bin" serve -f -c "$tmp/pldns.ini" > "$tmp/pldns.log" 2>&1 &
pid=$!
i=0
while ! grep -q serving "$tmp/pldns.log" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
# A little traffic, so the chart has something to show.
/usr/bin/python3 - "$dns" <<'EOP'
import sys, time, dns.message, dns.query
port = int(sys.argv[1])
end = time.monotonic() + 2.5
n = 0
while time.monotonic() < end and n < 3000:
    q = dns.message.make_query("mig-kv-7f3a.vault.azure.net." if n % 100 else
                               "missing-kv.privatelink.vaultcore.azure.net.", "A")
    try:
        dns.query.udp(q, "127.0.0.1", port=port, timeout=1)
    except Exception:
        pass
    n += 1
EOP
flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
 --disable-background-networking --disable-component-update --disable-sync \
 --user-data-dir=$tmp/profile --virtual-time-budget=4000"
url="http://127.0.0.1:$ctl/"
timeout 60 "$chrome" $flags --dump-dom "$url" > "$tmp/dom.html" 2> "$tmp/chrome.err"
if grep -q 'privatelink.vaultcore.azure.net' "$tmp/dom.html"; then
	echo "ok 1 - the status page renders its zones"
else
	echo "not ok 1 - the status page renders its zones"
	head -c 2000 "$tmp/dom.html" | sed 's/^/# /'
	tail -n 5 "$tmp/chrome.err" | sed 's/^/# /'
fi
if grep -q 'data-chart="drawn"' "$tmp/dom.html"; then
	echo "ok 2 - the QPS chart is drawn"
else
	echo "not ok 2 - the QPS chart is drawn"
fi
rm -f "$out/check_page.png"
timeout 60 "$chrome" $flags --window-size=1200,900 --screenshot="$out/check_page.png" "$url" \
    > /dev/null 2>> "$tmp/chrome.err"
if [ -s "$out/check_page.png" ]; then
	echo "ok 3 - screenshot kept in $out/check_page.png"
else
	echo "not ok 3 - screenshot kept in $out/check_page.png"
	tail -n 5 "$tmp/chrome.err" | sed 's/^/# /'
fi
if grep -q '<td>missing-kv.privatelink.vaultcore.azure.net</td><td>privatelink.vaultcore.azure.net</td>' "$tmp/dom.html"; then
	echo "ok 4 - the status page lists the names clients miss"
else
	echo "not ok 4 - the status page lists the names clients miss"
	grep -o '<tbody id="missing">.\{0,400\}' "$tmp/dom.html" | sed 's/^/# /'
fi
# The header says whether pldns is degraded (here it is not: its data loaded
# and no upstream has failed yet).
if grep -q 'id="health"[^>]*><span class="badge ok">ok</span>' "$tmp/dom.html"; then
	echo "ok 5 - the header shows the health badge"
else
	echo "not ok 5 - the header shows the health badge"
	grep -o '<header>.*</header>' "$tmp/dom.html" | head -c 1500 | sed 's/^/# /'
fi
# A reload that would empty every zone is held: the page says degraded, why,
# and what the held reload would remove.
head -n 1 "$tmp/dns.csv" > "$tmp/dns.csv.new" && mv "$tmp/dns.csv.new" "$tmp/dns.csv"
i=0
while ! grep -q "reload held" "$tmp/pldns.log" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
timeout 60 "$chrome" $flags --dump-dom "$url" > "$tmp/dom2.html" 2>> "$tmp/chrome.err"
if grep -q 'id="health"[^>]*><span class="badge bad">degraded</span>' "$tmp/dom2.html" &&
    grep -q '<li>a reload is held (still serving the previous data)' "$tmp/dom2.html" &&
    grep -q -- '- mig-kv-7f3a.privatelink.vaultcore.azure.net A ' "$tmp/dom2.html"; then
	echo "ok 6 - a held reload: the page says degraded, why, and what it would remove"
else
	echo "not ok 6 - a held reload: the page says degraded, why, and what it would remove"
	grep -o '<header>.*</header>' "$tmp/dom2.html" | head -c 1500 | sed 's/^/# /'
	tail -n 5 "$tmp/pldns.log" | sed 's/^/# /'
fi
