/*
 * Writes the binary seed corpora of fuzz_query and fuzz_upstream with ldns
 * (real DNS messages, names compressed as ldns writes them).  Not part of
 * the build; run from the source tree when the seeds need remaking:
 *
 *   cc -o /tmp/make_seeds tests/fuzz/make_seeds.c -lldns && /tmp/make_seeds tests/fuzz/corpus
 *
 * The questions of the upstream seeds are the fixed queries of
 * fuzz_upstream.c; keep the two lists in step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

static const char *outdir;

static void
save(const char *harness, const char *name, const uint8_t *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", outdir, harness, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(buf, 1, len, f) != len ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
save_pkt(const char *harness, const char *name, ldns_pkt *p)
{
	uint8_t *buf;
	size_t len;

	if (ldns_pkt2wire(&buf, p, &len) != LDNS_STATUS_OK) {
		fprintf(stderr, "%s: ldns_pkt2wire failed\n", name);
		exit(1);
	}
	save(harness, name, buf, len);
	free(buf);
	ldns_pkt_free(p);
}

/* A query; EDNS when UDP_SIZE > 0. */
static ldns_pkt *
query(const char *name, ldns_rr_type type, uint16_t id, uint16_t udp_size,
    bool do_bit)
{
	ldns_pkt *p;

	if (ldns_pkt_query_new_frm_str(&p, name, type, LDNS_RR_CLASS_IN,
	    LDNS_RD) != LDNS_STATUS_OK)
		exit(1);
	ldns_pkt_set_id(p, id);
	if (udp_size > 0) {
		ldns_pkt_set_edns_udp_size(p, udp_size);
		ldns_pkt_set_edns_do(p, do_bit);
	}
	return p;
}

static void
push(ldns_pkt *p, ldns_pkt_section sec, const char *rr)
{
	ldns_rr *r;

	if (ldns_rr_new_frm_str(&r, rr, 0, NULL, NULL) != LDNS_STATUS_OK) {
		fprintf(stderr, "bad rr: %s\n", rr);
		exit(1);
	}
	ldns_pkt_push_rr(p, sec, r);
}

/* A response to NAME/TYPE with the RRs given as "an:...", "ns:...", "ar:...". */
static ldns_pkt *
response(const char *name, ldns_rr_type type, ldns_pkt_rcode rcode, bool edns,
    const char *const *rrs)
{
	ldns_pkt *p = query(name, type, 0x4242, edns ? 1232 : 0, false);

	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_ra(p, true);
	ldns_pkt_set_rcode(p, rcode);
	for (; *rrs != NULL; rrs++) {
		ldns_pkt_section sec = LDNS_SECTION_ANSWER;

		if (strncmp(*rrs, "ns:", 3) == 0)
			sec = LDNS_SECTION_AUTHORITY;
		else if (strncmp(*rrs, "ar:", 3) == 0)
			sec = LDNS_SECTION_ADDITIONAL;
		push(p, sec, *rrs + 3);
	}
	return p;
}

static void
queries(void)
{
	static const struct {
		const char *file, *name;
		ldns_rr_type type;
		uint16_t udp;
		bool do_bit;
	} q[] = {
		{ "local-a", "acct.privatelink.blob.core.windows.net", LDNS_RR_TYPE_A, 1232, false },
		{ "twin-a", "acct.blob.core.windows.net", LDNS_RR_TYPE_A, 1232, false },
		{ "twin-case", "AcCt.Blob.Core.Windows.Net", LDNS_RR_TYPE_A, 4096, true },
		{ "cname", "alias.privatelink.blob.core.windows.net", LDNS_RR_TYPE_A, 0, false },
		{ "multi", "multi.privatelink.blob.core.windows.net", LDNS_RR_TYPE_A, 512, false },
		{ "wild", "x.y.wild.privatelink.blob.core.windows.net", LDNS_RR_TYPE_A, 1232, false },
		{ "wild-fixed", "fixed.wild.privatelink.blob.core.windows.net", LDNS_RR_TYPE_ANY, 1232, false },
		{ "big-noedns", "big.privatelink.blob.core.windows.net", LDNS_RR_TYPE_TXT, 0, false },
		{ "loop", "loop1.privatelink.blob.core.windows.net", LDNS_RR_TYPE_A, 1232, false },
		{ "ent", "a.b.privatelink.blob.core.windows.net", LDNS_RR_TYPE_A, 1232, false },
		{ "deep", "deep.a.b.privatelink.blob.core.windows.net", LDNS_RR_TYPE_AAAA, 1232, true },
		{ "kv-aaaa", "kv.privatelink.vaultcore.azure.net", LDNS_RR_TYPE_AAAA, 1232, true },
		{ "kv-twin", "kv.vault.azure.net", LDNS_RR_TYPE_A, 1232, false },
		{ "nx", "nope.privatelink.vaultcore.azure.net", LDNS_RR_TYPE_A, 1232, false },
		{ "apex-soa", "privatelink.vaultcore.azure.net", LDNS_RR_TYPE_SOA, 1232, false },
		{ "apex-ns", "privatelink.vaultcore.azure.net", LDNS_RR_TYPE_NS, 0, false },
		{ "public", "www.example.com", LDNS_RR_TYPE_A, 1232, false },
		{ "root-ns", ".", LDNS_RR_TYPE_NS, 1232, true },
	};

	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		save_pkt("query", q[i].file, query(q[i].name, q[i].type,
		    (uint16_t)(0x1000 + i), q[i].udp, q[i].do_bit));

	/* EDNS version 1: BADVERS. */
	ldns_pkt *p = query("acct.privatelink.blob.core.windows.net", LDNS_RR_TYPE_A,
	    0x2001, 1232, false);
	ldns_pkt_set_edns_version(p, 1);
	save_pkt("query", "badvers", p);
	/* NOTIFY: NOTIMP. */
	p = query("privatelink.vaultcore.azure.net", LDNS_RR_TYPE_SOA, 0x2002, 0, false);
	ldns_pkt_set_opcode(p, LDNS_PACKET_NOTIFY);
	save_pkt("query", "notify", p);

	/* Hand-made: a DNS cookie option (RFC 7873), 8-byte client cookie. */
	static const uint8_t cookie[] = {
		0x20, 0x03, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
		4, 'a', 'c', 'c', 't', 11, 'p', 'r', 'i', 'v', 'a', 't', 'e', 'l', 'i', 'n', 'k',
		4, 'b', 'l', 'o', 'b', 4, 'c', 'o', 'r', 'e', 7, 'w', 'i', 'n', 'd', 'o', 'w', 's',
		3, 'n', 'e', 't', 0, 0x00, 0x01, 0x00, 0x01,
		0, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0x00, 0x0c,
		0x00, 0x0a, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,
	};
	save("query", "cookie", cookie, sizeof(cookie));
}

/* Questions: the fixed queries of fuzz_upstream.c. */
#define Q_BLOB		"acct.blob.core.windows.net"
#define Q_VAULT		"kv.vault.azure.net"
#define Q_MISSING	"missing.blob.core.windows.net"
#define Q_PUBLIC	"www.example.com"
#define Q_DNAME		"x.dname.example.org"
#define Q_LOCAL		"nothere.privatelink.blob.core.windows.net"

static void
responses(void)
{
	static const char *const blob[] = {
		"an:acct.blob.core.windows.net. 60 IN CNAME acct.privatelink.blob.core.windows.net.",
		"an:acct.privatelink.blob.core.windows.net. 60 IN CNAME blob.ams07prdstr02a.store.core.windows.net.",
		"an:blob.ams07prdstr02a.store.core.windows.net. 60 IN A 20.60.222.1",
		NULL
	};
	static const char *const vault[] = {
		"an:kv.vault.azure.net. 60 IN CNAME kv.privatelink.vaultcore.azure.net.",
		"an:kv.privatelink.vaultcore.azure.net. 60 IN CNAME data-prod-weu.vaultcore.azure.net.",
		"an:data-prod-weu.vaultcore.azure.net. 60 IN CNAME data-prod-weu-region.vaultcore.azure.net.",
		"an:data-prod-weu-region.vaultcore.azure.net. 60 IN CNAME azkms-prod-weu-b.westeurope.cloudapp.azure.com.",
		"an:azkms-prod-weu-b.westeurope.cloudapp.azure.com. 10 IN A 20.61.103.228",
		NULL
	};
	static const char *const missing[] = {
		"an:missing.blob.core.windows.net. 60 IN CNAME missing.privatelink.blob.core.windows.net.",
		"an:missing.privatelink.blob.core.windows.net. 60 IN CNAME blob.ams07prdstr02a.store.core.windows.net.",
		"an:blob.ams07prdstr02a.store.core.windows.net. 60 IN A 20.60.222.1",
		NULL
	};
	static const char *const pub[] = {
		"an:www.example.com. 300 IN CNAME www.example.com.edgekey.net.",
		"an:www.example.com. 300 IN RRSIG CNAME 13 3 300 20300101000000 20200101000000 12345 example.com. dGVzdHNpZ25hdHVyZXRlc3RzaWduYXR1cmV0ZXN0c2lnbmF0dXJl",
		"an:www.example.com.edgekey.net. 60 IN AAAA 2001:db8::1",
		"an:www.example.com.edgekey.net. 60 IN AAAA 2001:db8::2",
		"ns:edgekey.net. 3600 IN NS ns1.edgekey.net.",
		"ns:edgekey.net. 3600 IN NS ns2.edgekey.net.",
		"ar:ns1.edgekey.net. 3600 IN A 192.0.2.53",
		"ar:ns2.edgekey.net. 3600 IN AAAA 2001:db8::53",
		NULL
	};
	static const char *const nx[] = {
		"ns:example.com. 3600 IN SOA ns.icann.org. noc.dns.icann.org. 2024010101 7200 3600 1209600 3600",
		NULL
	};
	static const char *const dname[] = {
		"an:dname.example.org. 300 IN DNAME target.example.net.",
		"an:x.dname.example.org. 300 IN CNAME x.target.example.net.",
		"an:x.target.example.net. 300 IN A 192.0.2.7",
		NULL
	};
	static const char *const poison[] = {
		/* Upstream data about local names: must never reach the client. */
		"an:nothere.privatelink.blob.core.windows.net. 60 IN A 203.0.113.66",
		"ns:privatelink.blob.core.windows.net. 60 IN NS evil.example.",
		"ar:ACCT.PRIVATELINK.BLOB.CORE.WINDOWS.NET. 60 IN A 203.0.113.66",
		"ar:evil.example. 60 IN A 203.0.113.66",
		NULL
	};
	static const char *const poison_pub[] = {
		"an:www.example.com. 300 IN A 192.0.2.80",
		"ns:example.com. 3600 IN NS ns.example.com.",
		"ar:acct.privatelink.blob.core.windows.net. 60 IN A 203.0.113.66",
		"ar:kv.privatelink.vaultcore.azure.net. 60 IN A 203.0.113.66",
		NULL
	};
	static const char *const none[] = { NULL };

	save_pkt("upstream", "blob-splice", response(Q_BLOB, LDNS_RR_TYPE_A,
	    LDNS_RCODE_NOERROR, true, blob));
	save_pkt("upstream", "vault-splice", response(Q_VAULT, LDNS_RR_TYPE_A,
	    LDNS_RCODE_NOERROR, false, vault));
	save_pkt("upstream", "missing-chain", response(Q_MISSING, LDNS_RR_TYPE_A,
	    LDNS_RCODE_NOERROR, true, missing));
	save_pkt("upstream", "public-aaaa", response(Q_PUBLIC, LDNS_RR_TYPE_AAAA,
	    LDNS_RCODE_NOERROR, true, pub));
	save_pkt("upstream", "public-nx", response(Q_PUBLIC, LDNS_RR_TYPE_AAAA,
	    LDNS_RCODE_NXDOMAIN, true, nx));
	save_pkt("upstream", "dname", response(Q_DNAME, LDNS_RR_TYPE_A,
	    LDNS_RCODE_NOERROR, true, dname));
	save_pkt("upstream", "local-poison", response(Q_LOCAL, LDNS_RR_TYPE_A,
	    LDNS_RCODE_NOERROR, true, poison));
	save_pkt("upstream", "public-poison", response(Q_PUBLIC, LDNS_RR_TYPE_A,
	    LDNS_RCODE_NOERROR, false, poison_pub));
	save_pkt("upstream", "servfail", response(Q_BLOB, LDNS_RR_TYPE_A,
	    LDNS_RCODE_SERVFAIL, false, none));
}

int
main(int argc, char **argv)
{
	outdir = argc > 1 ? argv[1] : "tests/fuzz/corpus";
	queries();
	responses();
	return 0;
}
