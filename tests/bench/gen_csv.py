#!/usr/bin/env python3
"""Writes a large "Download DNS settings"-style CSV for timing the importer.

    tests/bench/gen_csv.py [ROWS] > big.csv      (default 1000000 rows)

Names cycle through private and public forms of a few Azure zones (blob,
Key Vault, Site Recovery, Migrate); every name and address is unique, and
every address is in 10/8, so the whole file loads without an error.
Time it with:  time pldns import --dry-run big.csv
"""
import sys

FORMS = (
    "st{0}usa.privatelink.blob.core.windows.net",
    "st{0}usa.blob.core.windows.net",
    "kv-{0}.vault.azure.net",
    "3456789{0}-asr-pod01-rcm1-.eus.privatelink.siterecovery.windowsazure.com",
    "{0:032x}-agent.eus.disc.privatelink.prod.migration.windowsazure.com",
)


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    out = sys.stdout
    out.write("FQDN,IP Address\r\n")
    for i in range(rows):
        name = FORMS[i % len(FORMS)].format(i)
        out.write("%s,10.%d.%d.%d\r\n" % (name, (i >> 16) & 255, (i >> 8) & 255, i & 255))


if __name__ == "__main__":
    main()
