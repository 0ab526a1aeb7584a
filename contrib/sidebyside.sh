#!/bin/sh
# Side by side: the same public-name queries through pldns, Unbound
# (local-zone static + local-data, forward-zone "."), dnsmasq (host-record,
# server=) and BIND (local primary zones, forwarders), all on 127.0.0.1
# against the same fake upstream modelling public Azure DNS
# (tests/system/fakeup.py with tests/system/data/azure_public.py), and a
# table of which of them return the private IP.  Issue 4.
#
#     contrib/sidebyside.sh
#
# Installs unbound, bind9, dnsmasq-base and python3-dnspython from Debian
# when they are missing (as root).  Builds pldns in $BENCH_BUILD
# (/tmp/build-bench) unless PLDNS_BIN names a binary.  Every server gets the
# same private endpoint records (the privatelink names below); nothing but
# 127.0.0.1 is queried.  Exit status 0 when pldns returned the private IP for
# every name that has a local record.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
# shellcheck source=tests/bench/lib.sh
. "$src/tests/bench/lib.sh"

need=""
[ -x /usr/sbin/unbound ] || need="$need unbound"
[ -x /usr/sbin/named ] || need="$need bind9"
[ -x /usr/sbin/dnsmasq ] || need="$need dnsmasq-base"
$PY -c 'import dns.message' 2>/dev/null || need="$need python3-dnspython"
# shellcheck disable=SC2086
bench_install sidebyside.sh $need

bench_pldns sidebyside.sh "$src"

exec timeout -s TERM -k 10 300 $PY -u - "$src" "$pldns" <<'PYEOF'
import os
import sys

src, pldns = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(src, "tests", "bench"))
import benchlib as B  # noqa: E402

# The private endpoints every server knows (privatelink name, private IP),
# for names that public Azure DNS (azure_public.py) answers with a CNAME
# chain through privatelink.* to a public front end.
RECORDS = [
    ("acct.privatelink.blob.core.windows.net", "10.20.0.4"),
    ("kv.privatelink.vaultcore.azure.net", "10.20.0.5"),
    ("04b8c9c73f3d477e966c8d00f352889c-agent.cus.disc.privatelink.prod."
     "migration.windowsazure.com", "10.20.0.6"),
    ("vid-asr-pod01-srs1-.eus.privatelink.siterecovery.windowsazure.com",
     "10.20.0.7"),
    ("myai.privatelink.openai.azure.com", "10.20.0.8"),
]
ZONES = ["privatelink.blob.core.windows.net", "privatelink.vaultcore.azure.net",
         "privatelink.prod.migration.windowsazure.com",
         "privatelink.siterecovery.windowsazure.com",
         "privatelink.openai.azure.com"]
# (what a client asks, what it is, the private IP it should get or None)
QUERIES = [
    ("acct.blob.core.windows.net", "Storage account", "10.20.0.4"),
    ("kv.vault.azure.net", "Key Vault", "10.20.0.5"),
    ("04b8c9c73f3d477e966c8d00f352889c-agent.cus.disc.prod.migration."
     "windowsazure.com", "Azure Migrate discovery", "10.20.0.6"),
    ("vid-asr-pod01-srs1.eus.hypervrecoverymanager.windowsazure.com",
     "Site Recovery", "10.20.0.7"),
    ("files.contoso.example.com", "custom CNAME to a storage account",
     "10.20.0.4"),
    ("chat.contoso-ai.example.com", "8-hop chain into Azure OpenAI",
     "10.20.0.8"),
    ("other.blob.core.windows.net", "account with a PE but no local record",
     None),
    ("www.example.net", "plain public name", None),
]

work = B.workdir("pldns-sidebyside-")
fu = B.Fakeup(work, os.path.join(src, "tests", "system", "data",
                                 "azure_public.py"), cpu=None, lifetime=600)
csv = os.path.join(work, "dns-settings.csv")
with open(csv, "w") as f:
    f.write("FQDN,IP Address\r\n")
    for n, ip in RECORDS:
        f.write("%s,%s\r\n" % (n, ip))
probe, want = RECORDS[0]
servers = []
for name, mk in (
        ("pldns", lambda: B.pldns_server(work, pldns, fu.addr, csv, probe, want,
                                         workers=1, name="pldns")),
        ("unbound", lambda: B.unbound_server(work, fu.addr, RECORDS, ZONES,
                                             probe, want)),
        ("dnsmasq", lambda: B.dnsmasq_server(work, fu.addr, RECORDS, probe,
                                             want)),
        ("bind", lambda: B.bind_server(work, fu.addr, RECORDS, ZONES, probe,
                                       want)),
        # BIND refuses Site Recovery's "srs1-." label under its default
        # check-names; the same with that check off:
        ("bind-nocheck", lambda: B.bind_server(
            work, fu.addr, RECORDS, ZONES, probe, want, name="bind-nocheck",
            options="check-names primary ignore;"))):
    s = mk()
    s.cpu = None
    try:
        servers.append(s.start(60))
    except Exception as e:
        print("sidebyside: %s did not start: %s" % (name, e), file=sys.stderr)

print("Fake upstream (public Azure DNS model) on %s; work dir %s\n" % (fu.addr, work))
w = max(len(q) for q, _, _ in QUERIES)
cw = 22
print("%-*s  %s" % (w, "query (A)", "".join("%-*s" % (cw, s.name) for s in servers)))
score = {s.name: [0, 0] for s in servers}
for q, what, priv in QUERIES:
    cells = []
    for s in servers:
        r = B.query(s.port, q, timeout=3.0)
        c = B.classify(r)
        got = B.addresses(r)
        if priv is not None:
            score[s.name][1] += 1
            if got == [priv]:
                score[s.name][0] += 1
                c = "PRIVATE " + priv
            elif got:
                c = "public " + ",".join(got) if not any(
                    B.is_private(a) for a in got) else c
        cells.append("%-*s" % (cw, c[:cw - 1]))
    print("%-*s  %s" % (w, q, "".join(cells)))
    print("%-*s  %s" % (w, "  (" + what + (", expect " + priv if priv else "") + ")", ""))
print()
for s in servers:
    ok, n = score[s.name]
    print("%-8s returns the private IP for %d of %d names with a private endpoint"
          % (s.name, ok, n))
for s in servers:
    for line in open(s.logpath, errors="replace"):
        if "not loaded due to errors" in line or "bad owner name" in line:
            print("%s log: %s" % (s.name, line.strip()[:160]))
print("\nunbound: local-zone static + local-data, forward-zone \".\"; dnsmasq: "
      "host-record, server=; bind: primary zones for the privatelink zones, "
      "forwarders, forward only (bind-nocheck: the same with check-names "
      "primary ignore); pldns: the CSV only.")
for s in servers:
    s.stop()
fu.stop()
sys.exit(0 if score.get("pldns", [0, 1])[0] == score.get("pldns", [0, 1])[1] else 1)
PYEOF
