#!/bin/sh
# The Prometheus rules and the Grafana dashboard in contrib/:
#   - promtool check rules, and promtool test rules on
#     tests/control/pldns-rules.test.yml (which alerts fire on which series);
#   - the dashboard is valid JSON whose every query uses pldns's metrics and
#     no other;
#   - every metric name they use is in the /metrics of a running pldns (the
#     binary under test, $PLDNS_BIN), one case per name.  For the Azure sync
#     families that pldns runs with an [azure] section (pointed at a closed
#     loopback port: the sync fails, its metrics are there).
# Output: TAP.  Needs promtool (prometheus) and python3-yaml.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${PLDNS_BIN:-${PLDNS_BUILDDIR:-.}/pldns}
rules=$top/contrib/prometheus/pldns-rules.yml
dash=$top/contrib/grafana/pldns.json
tmp=$(mktemp -d)
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT INT TERM
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
diag() { sed 's/^/# /' "$1" | head -n 40; }

if ! command -v promtool >/dev/null 2>&1; then
	echo "Bail out! promtool not found: apt-get install prometheus"
	exit 1
fi
PY=/usr/bin/python3

# Metric names used: pldns_* identifiers in the rules' and the dashboard's
# expressions (recording rule names, level:metric:operation, are not).
"$PY" - "$rules" "$dash" >"$tmp/used" 2>"$tmp/used.err" <<'PYEOF'
import json, re, sys, yaml
names = set()
for g in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for r in g["rules"]:
        names |= set(re.findall(r"(?<![\w:])pldns_\w+", r["expr"]))
for p in json.load(open(sys.argv[2]))["panels"]:
    for t in p["targets"]:
        names |= set(re.findall(r"(?<![\w:])pldns_\w+", t["expr"]))
print("\n".join(sorted(names)))
PYEOF
nused=$(wc -l <"$tmp/used")
echo "1..$((3 + nused))"

# 1, 2: promtool.
if promtool check rules "$rules" >"$tmp/out" 2>&1; then ok "promtool check rules contrib/prometheus/pldns-rules.yml"
else not_ok "promtool check rules contrib/prometheus/pldns-rules.yml"; diag "$tmp/out"; fi
if (cd "$top/tests/control" && promtool test rules pldns-rules.test.yml) >"$tmp/out" 2>&1; then
	ok "promtool test rules tests/control/pldns-rules.test.yml"
else not_ok "promtool test rules tests/control/pldns-rules.test.yml"; diag "$tmp/out"; fi

# 3: the dashboard's shape and queries.
if "$PY" - "$dash" >"$tmp/out" 2>&1 <<'PYEOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
bad = []
assert d["panels"], "no panels"
ids = [p["id"] for p in d["panels"]]
if len(set(ids)) != len(ids):
    bad.append("panel ids repeat")
for p in d["panels"]:
    if not p.get("targets"):
        bad.append("%s: no query" % p["title"])
    for t in p.get("targets", []):
        e = t["expr"]
        if not re.search(r"(?<![\w:])pldns_\w+", e):
            bad.append("%s: %s uses no pldns metric" % (p["title"], e))
        # Any other series selector (name{...} or a bare name with a range).
        for m in re.findall(r"(?<![\w:$])([a-zA-Z_:][\w:]*)\s*[{\[]", e):
            if not m.startswith("pldns_"):
                bad.append("%s: %s selects %s" % (p["title"], e, m))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
then ok "contrib/grafana/pldns.json: valid JSON, every query on pldns metrics only"
else not_ok "contrib/grafana/pldns.json: valid JSON, every query on pldns metrics only"; diag "$tmp/out"; fi

# The metrics of a running pldns: one plain (with traffic, so that every
# family has its samples) and one with an [azure] section.
port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
fetch() {
	"$PY" - "$1" <<'PYEOF'
import sys, time, urllib.request
for _ in range(100):
    try:
        print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=2).read().decode())
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PYEOF
}
start() {
	"$bin" serve -f -c "$1" >"$1.log" 2>&1 &
	pids="$pids $!"
}
: >"$tmp/metrics"
dns=$(port)
ctl=$(port)
cp "$top/zones/example-dns-settings.csv" "$tmp/dns.csv"
cat >"$tmp/plain.ini" <<INI
[server]
listen = 127.0.0.1:$dns
[upstream]
servers = 127.0.0.1:9
[records]
sources = dns.csv
[control]
listen = 127.0.0.1:$ctl
INI
start "$tmp/plain.ini"
# A local name and a forwarded one (the upstream is a closed port), so that
# the upstream families have their per-server samples.
"$PY" - "$dns" <<'PYEOF' >"$tmp/query.log" 2>&1
import sys, time
import dns.message, dns.query
for name in ("mig-kv-7f3a.vault.azure.net", "example.org"):
    for _ in range(50):
        try:
            dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1",
                          port=int(sys.argv[1]), timeout=3)
            break
        except Exception:
            time.sleep(0.1)
PYEOF
fetch "$ctl" >>"$tmp/metrics" || diag "$tmp/plain.ini.log"
dns=$(port)
ctl=$(port)
printf 'not-a-secret\n' >"$tmp/secret"
chmod 600 "$tmp/secret"
cat >"$tmp/azure.ini" <<INI
[server]
listen = 127.0.0.1:$dns
[upstream]
servers = 127.0.0.1:9
[control]
listen = 127.0.0.1:$ctl
[azure "site"]
auth = secret
tenant = 00000000-0000-0000-0000-000000000001
client_id = 00000000-0000-0000-0000-000000000002
secret_file = secret
subscriptions = 00000000-0000-0000-0000-000000000003
management_url = https://127.0.0.1:9
login_url = https://127.0.0.1:9
proxy = none
INI
start "$tmp/azure.ini"
fetch "$ctl" >>"$tmp/metrics" || echo "# pldns with an [azure] section: $(tail -n 3 "$tmp/azure.ini.log" | tr '\n' ' ')"
sed -n 's/^\(pldns_[a-zA-Z0-9_]*\).*/\1/p' "$tmp/metrics" | sort -u >"$tmp/exported"

# 4...: each name used is exported.
while read -r name; do
	if grep -qx "$name" "$tmp/exported"; then ok "pldns exports $name"
	else not_ok "pldns exports $name (used in the rules or the dashboard)"; fi
done <"$tmp/used"
exit 0
