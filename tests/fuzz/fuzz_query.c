/*
 * fuzz_query: one packet from a client, as the worker takes it.
 * wire_query_parse(); an error verdict gets answer_error(); a good query gets
 * answer_local() against the answer snapshot and then answer_upstream() with
 * the packet itself standing in for the upstream response (same ID and
 * question, so the precondition holds).  Every reply goes through the
 * oracles of fuzz_common.c.
 *
 * The query ID picks the variant, so the fuzzer explores them all: bit 0
 * the snapshot (missing = nxdomain or fallback), bit 1 TCP (no UDP limit).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct answer_scratch sc;
static uint8_t out[WIRE_MAX_MSG];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_snapshot(MISSING_NXDOMAIN);
	fuzz_snapshot(MISSING_FALLBACK);
	return 0;
}

/* The promises of wire_query_parse() in wire.h. */
static void
check_verdict(const uint8_t *data, size_t size, enum wire_verdict v,
    const struct wire_query *q)
{
	uint8_t l[WIRE_NAME_MAX];
	uint16_t flags = size >= WIRE_HDR_LEN ? wire_get_u16(data + 2) : 0;

	if ((size < WIRE_HDR_LEN || (flags & WIRE_QR)) != (v == WIRE_DROP))
		fuzz_fail("verdict %d for %zu bytes, flags %#x", v, size, flags);
	if (v == WIRE_DROP)
		return;
	if ((WIRE_OPCODE(flags) != 0) != (v == WIRE_NOTIMP))
		fuzz_fail("verdict %d for opcode %d", v, WIRE_OPCODE(flags));
	if (q->question_end > size)
		fuzz_fail("question_end %zu past %zu bytes", q->question_end, size);
	if (q->question_end != 0) {
		if (q->qname_len != wire_name_len(q->qname, WIRE_NAME_MAX))
			fuzz_fail("qname_len %d", q->qname_len);
		wire_name_lower(l, q->qname, (size_t)q->qname_len);
		if (memcmp(l, q->lname, (size_t)q->qname_len) != 0)
			fuzz_fail("lname is not qname lower-cased");
	}
	if (q->edns.cookie != NULL && (q->edns.cookie < data ||
	    q->edns.cookie + q->edns.cookie_len > data + size))
		fuzz_fail("cookie outside the packet");
	if (v == WIRE_COOKIE && (q->hdr.qdcount != 0 || q->edns.cookie == NULL))
		fuzz_fail("WIRE_COOKIE for qd %u, cookie %s", q->hdr.qdcount,
		    q->edns.cookie != NULL ? "present" : "absent");
	if (v != WIRE_OK)
		return;
	/* TC set in a query is answered like any query (as BIND does). */
	if (q->hdr.qdcount != 1 || q->hdr.ancount != 0 || q->question_end == 0)
		fuzz_fail("WIRE_OK for qd %u an %u flags %#x", q->hdr.qdcount,
		    q->hdr.ancount, flags);
	if (q->edns.present && q->edns.version != 0)
		fuzz_fail("WIRE_OK for EDNS version %u", q->edns.version);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_query q;
	struct answer_info info;
	const struct snapshot *s;
	enum wire_verdict v;
	size_t limit;
	bool fallback_snap, tcp;
	int rcode = -1, clean;

	v = wire_query_parse(data, size, &q);
	check_verdict(data, size, v, &q);
	switch (v) {
	case WIRE_DROP:
	case WIRE_COOKIE:	/* no question: the worker answers it alone */
		return 0;
	case WIRE_FORMERR:
		rcode = RCODE_FORMERR;
		break;
	case WIRE_NOTIMP:
		rcode = RCODE_NOTIMP;
		break;
	case WIRE_BADVERS:
		rcode = RCODE_BADVERS;
		break;
	case WIRE_OK:
		break;
	}
	if (rcode >= 0) {
		answer_error(&q, rcode, -1, out, sizeof(out), &info);
		fuzz_check_reply(NULL, &q, out, info.len, 512, false, 0, "answer_error");
		return 0;
	}
	fallback_snap = (q.hdr.id & 1) != 0;
	tcp = (q.hdr.id & 2) != 0;
	s = fuzz_snapshot(fallback_snap ? MISSING_FALLBACK : MISSING_NXDOMAIN);
	limit = tcp ? WIRE_MAX_MSG : answer_udp_limit(&q);

	/* What a refused client gets (EDE 18). */
	answer_error(&q, RCODE_REFUSED, 18, out, sizeof(out), &info);
	fuzz_check_reply(s, &q, out, info.len, 512, true, 0, "refused");

	if (answer_local(s, &q, out, sizeof(out), limit, &info) == ANSWER_DONE)
		fuzz_check_reply(s, &q, out, info.len, limit, true, 0, "answer_local");

	struct answer_part part = { data, size };
	/* A chain that needs a follow-up has no reply yet. */
	if (answer_upstream(s, &q, &part, 1, info.fallback, &sc, out, sizeof(out),
	    limit, &info) != ANSWER_DONE)
		return 0;
	clean = 0;
	if (info.path == PATH_UPSTREAM)
		clean = fallback_snap ? 1 : 2;
	fuzz_check_reply(s, &q, out, info.len, limit, true, clean, "answer_upstream");
	return 0;
}
