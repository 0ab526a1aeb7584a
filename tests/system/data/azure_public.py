# Public DNS as the internet sees Azure names (fakeup data; see fakeup.py).
#
# Each service name has a public CNAME to its privatelink name, which is in
# turn a CNAME to a public front end with a public address.  A resolver with
# the privatelink zones locally must never hand out these public addresses
# for names it has local data for.  Used by tests/system/test_split.py, the
# benchmarks and the side-by-side script; change with care (tests assert on
# these exact values).

STORE = "blob.xyz.store.core.windows.net."

DATA = {
    "ttl": 300,
    "records": [
        # zones, for negative answers
        "core.windows.net. 3600 SOA ns1-06.azure-dns.com. azuredns-hostmaster.microsoft.com. 1 3600 300 2419200 60",
        "azure.net. 3600 SOA ns1-01.azure-dns.com. azuredns-hostmaster.microsoft.com. 1 3600 300 2419200 60",
        "windowsazure.com. 3600 SOA ns1-03.azure-dns.com. azuredns-hostmaster.microsoft.com. 1 3600 300 2419200 60",
        "azure.com. 3600 SOA ns1-02.azure-dns.com. azuredns-hostmaster.microsoft.com. 1 3600 300 2419200 60",
        "example.com. 3600 SOA ns.example.com. hostmaster.example.com. 1 3600 300 2419200 300",
        "example.net. 3600 SOA ns.example.net. hostmaster.example.net. 1 3600 300 2419200 300",

        # Storage: account with a private endpoint
        "acct.blob.core.windows.net. 60 CNAME acct.privatelink.blob.core.windows.net.",
        "acct.privatelink.blob.core.windows.net. 60 CNAME " + STORE,
        STORE + " 60 A 20.60.1.1",
        "blob.xyz.store.core.windows.net. 60 AAAA 2603:1030:1::1",
        # an account with a PE whose privatelink name has no local record
        "other.blob.core.windows.net. 60 CNAME other.privatelink.blob.core.windows.net.",
        "other.privatelink.blob.core.windows.net. 60 CNAME blob.abc.store.core.windows.net.",
        "blob.abc.store.core.windows.net. 60 A 20.60.2.2",
        # an account without any private endpoint: no privatelink hop
        "nope.blob.core.windows.net. 60 CNAME blob.xyz.store.core.windows.net.",
        # a custom domain in front of a storage account (splice, not twin)
        "files.contoso.example.com. 120 CNAME acct.blob.core.windows.net.",
        "*.cdn.contoso.example.com. 120 CNAME acct.blob.core.windows.net.",
        # upstream has no record at all ("gone" is NXDOMAIN publicly)
        # -> gone.blob.core.windows.net does not exist here on purpose

        # Key Vault: vault.azure.net -> privatelink.vaultcore.azure.net
        "kv.vault.azure.net. 60 CNAME kv.privatelink.vaultcore.azure.net.",
        "kv.privatelink.vaultcore.azure.net. 60 CNAME data.eastus.vault.azure.net.",
        "data.eastus.vault.azure.net. 60 CNAME azkms-prod-eus.eastus.cloudapp.azure.com.",
        "azkms-prod-eus.eastus.cloudapp.azure.com. 60 A 52.168.109.101",
        "other-kv.vault.azure.net. 60 CNAME other-kv.privatelink.vaultcore.azure.net.",
        "other-kv.privatelink.vaultcore.azure.net. 60 CNAME data.eastus.vault.azure.net.",

        # Azure Migrate discovery service
        "04b8c9c73f3d477e966c8d00f352889c-agent.cus.disc.prod.migration.windowsazure.com. 60 CNAME 04b8c9c73f3d477e966c8d00f352889c-agent.cus.disc.privatelink.prod.migration.windowsazure.com.",
        "04b8c9c73f3d477e966c8d00f352889c-agent.cus.disc.privatelink.prod.migration.windowsazure.com. 60 CNAME prod.cus.discoverysrv.windowsazure.com.",
        "prod.cus.discoverysrv.windowsazure.com. 60 A 52.165.1.20",

        # Site Recovery: the records carry the odd "-." label
        "vid-asr-pod01-srs1.eus.hypervrecoverymanager.windowsazure.com. 60 CNAME vid-asr-pod01-srs1-.eus.privatelink.siterecovery.windowsazure.com.",
        "vid-asr-pod01-srs1-.eus.privatelink.siterecovery.windowsazure.com. 60 CNAME pod01-srs1.eus.cloudapp.azure.com.",
        "pod01-srs1.eus.cloudapp.azure.com. 60 A 40.71.1.7",

        # Azure OpenAI: an 8-hop chain into a privatelink zone
        "chat.contoso-ai.example.com. 300 CNAME hop1.contoso-ai.example.com.",
        "hop1.contoso-ai.example.com. 300 CNAME hop2.contoso-ai.example.com.",
        "hop2.contoso-ai.example.com. 300 CNAME hop3.contoso-ai.example.com.",
        "hop3.contoso-ai.example.com. 300 CNAME hop4.contoso-ai.example.com.",
        "hop4.contoso-ai.example.com. 300 CNAME hop5.contoso-ai.example.com.",
        "hop5.contoso-ai.example.com. 300 CNAME hop6.contoso-ai.example.com.",
        "hop6.contoso-ai.example.com. 300 CNAME myai.openai.azure.com.",
        "myai.openai.azure.com. 60 CNAME myai.privatelink.openai.azure.com.",
        "myai.privatelink.openai.azure.com. 60 CNAME cog-eus.trafficmanager.example.net.",
        "cog-eus.trafficmanager.example.net. 60 CNAME cog-eus.cloudapp.example.net.",
        "cog-eus.cloudapp.example.net. 60 A 20.42.7.7",

        # a 16-CNAME chain (the most pldns follows) into a privatelink zone
    ] + ["l%d.chain16.example.com. 300 CNAME l%d.chain16.example.com." % (i, i + 1)
         for i in range(15)] + [
        "l15.chain16.example.com. 300 CNAME myai.privatelink.openai.azure.com.",

        # a public CNAME loop
        "loop1.example.net. 60 CNAME loop2.example.net.",
        "loop2.example.net. 60 CNAME loop1.example.net.",
        # a loop that passes through a local zone: the local record for
        # loopy.privatelink.blob.core.windows.net points back out to here
        "loopy.example.net. 60 CNAME loopy.blob.core.windows.net.",
        "loopy.blob.core.windows.net. 60 CNAME loopy.privatelink.blob.core.windows.net.",
        "loopy.privatelink.blob.core.windows.net. 60 CNAME " + STORE,

        # plain public names
        "www.example.net. 300 A 93.184.216.34",
        "www.example.net. 300 AAAA 2606:2800:220:1:248:1893:25c8:1946",
    ],
    "answers": {
        # DNAME (RFC 6672) whose synthesized name enters a privatelink zone
        "acct.dn.example.com. A": {
            "answer": [
                "dn.example.com. 300 DNAME privatelink.blob.core.windows.net.",
                "acct.dn.example.com. 300 CNAME acct.privatelink.blob.core.windows.net.",
                "acct.privatelink.blob.core.windows.net. 60 CNAME " + STORE,
                STORE + " 60 A 20.60.1.1",
            ],
        },
        # DNAME that stays public: passed through
        "www.dn2.example.com. A": {
            "answer": [
                "dn2.example.com. 300 DNAME example.net.",
                "www.dn2.example.com. 300 CNAME www.example.net.",
                "www.example.net. 300 A 93.184.216.34",
            ],
        },
        # upstream that includes authority/additional about the front end;
        # everything after the splice point must be dropped
        "shop.contoso.example.com. A": {
            "answer": [
                "shop.contoso.example.com. 120 CNAME acct.blob.core.windows.net.",
                "acct.blob.core.windows.net. 60 CNAME acct.privatelink.blob.core.windows.net.",
                "acct.privatelink.blob.core.windows.net. 60 CNAME " + STORE,
                STORE + " 60 A 20.60.1.1",
            ],
            "authority": ["xyz.store.core.windows.net. 3600 NS ns.xyz.store.core.windows.net."],
            "additional": ["ns.xyz.store.core.windows.net. 3600 A 20.60.0.53"],
        },
    },
}
