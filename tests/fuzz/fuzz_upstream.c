/*
 * fuzz_upstream: upstream response processing and splicing.  The input is
 * an upstream's response to one of a few fixed client queries (the one its
 * question names; the seeds in corpus/upstream are real responses to each).
 * As the worker does: the client query is parsed, the upstream query built
 * with upstream_build_query(), the response checked with
 * upstream_reply_matches() (a response that fails is dropped there, so it
 * is skipped here), then answer_upstream() against the answer snapshot.
 *
 * The response's ID is replaced by the upstream query's, so its bits choose
 * the variant instead: bit 0 the client used EDNS, 1 DO, 2 TCP, 3 the client
 * wrote the name in mixed case, 4 the snapshot has missing = fallback, 5 the
 * query was forwarded because of fallback.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "engine/upstream.h"
#include "util/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keep in step with make_seeds.c. */
static const struct {
	const char *name;
	uint16_t type;
} fixed[] = {
	{ "acct.blob.core.windows.net", TYPE_A },
	{ "kv.vault.azure.net", TYPE_A },
	{ "missing.blob.core.windows.net", TYPE_A },
	{ "www.example.com", TYPE_AAAA },
	{ "www.example.com", TYPE_A },
	{ "x.dname.example.org", TYPE_A },
	{ "nothere.privatelink.blob.core.windows.net", TYPE_A },
};

static struct answer_scratch sc;
static uint8_t out[WIRE_MAX_MSG], resp[WIRE_MAX_MSG];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_snapshot(MISSING_NXDOMAIN);
	fuzz_snapshot(MISSING_FALLBACK);
	return 0;
}

/* The client's query for fixed[I] in variant V, parsed into Q. */
static void
client_query(size_t i, unsigned v, struct wire_query *q)
{
	uint8_t pkt[512], name[WIRE_NAME_MAX];
	struct wire_hdr h = { .id = 0xbeef, .flags = WIRE_RD, .qdcount = 1,
	    .arcount = (v & 1) ? 1 : 0 };
	struct wire_buf b;
	const char *err;
	int n;

	if ((n = wire_name_from_str(fixed[i].name, name, &err)) < 0)
		fuzz_fail("%s: %s", fixed[i].name, err);
	if (v & 8) {
		/* 0x20-style mixed case: the reply must echo it. */
		for (int k = 0; k < n; k++)
			if (name[k] >= 'a' && name[k] <= 'z' && (k & 1))
				name[k] = (uint8_t)(name[k] - 'a' + 'A');
	}
	wire_buf_init(&b, pkt, sizeof(pkt));
	wire_put_hdr(&b, &h);
	wire_put_name(&b, name, false);
	wire_put_u16(&b, fixed[i].type);
	wire_put_u16(&b, CLASS_IN);
	if (v & 1)
		wire_put_opt(&b, 1232, 0, (v & 2) != 0, -1);
	if (b.overflow || wire_query_parse(pkt, b.len, q) != WIRE_OK)
		fuzz_fail("cannot build the query for %s", fixed[i].name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t uq[512];
	struct wire_query q;
	struct answer_info info;
	const struct snapshot *s;
	size_t uqlen, limit;
	unsigned v;
	int clean;

	if (size < WIRE_HDR_LEN || size > sizeof(resp))
		return 0;
	v = data[0];
	memcpy(resp, data, size);
	for (size_t i = 0; i < nitems(fixed); i++) {
		client_query(i, v, &q);
		if ((uqlen = upstream_build_query(&q, 0x5a5a, uq, sizeof(uq))) == 0)
			fuzz_fail("upstream_build_query failed");
		resp[0] = 0x5a;
		resp[1] = 0x5a;
		if (!upstream_reply_matches(uq, uqlen, resp, size))
			continue;
		s = fuzz_snapshot((v & 16) ? MISSING_FALLBACK : MISSING_NXDOMAIN);
		limit = (v & 4) ? WIRE_MAX_MSG : answer_udp_limit(&q);
		struct answer_part part = { resp, size };
		/* A chain that needs a follow-up has no reply yet. */
		if (answer_upstream(s, &q, &part, 1, (v & 32) != 0, &sc, out,
		    sizeof(out), limit, &info) != ANSWER_DONE)
			break;
		clean = 0;
		if (info.path == PATH_UPSTREAM)
			clean = (v & 16) ? 1 : 2;
		fuzz_check_reply(s, &q, out, info.len, limit, true, clean,
		    "answer_upstream");
		break;
	}
	return 0;
}
