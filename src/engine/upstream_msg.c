/* upstream_msg: queries to upstreams and the checks on their replies. */
#include <ctype.h>
#include <string.h>
#include <sys/param.h>

#include "engine/upstream_msg.h"
#include "util/util.h"

size_t
upstream_build_query(const struct wire_query *q, uint16_t id, uint8_t *out, size_t cap)
{
	struct wire_buf b;
	struct wire_hdr h = {
		.id = id,
		.flags = WIRE_RD | (q->hdr.flags & WIRE_CD),
		.qdcount = 1,
		.arcount = 1,
	};

	wire_buf_init(&b, out, cap);
	wire_put_hdr(&b, &h);
	wire_put_name(&b, q->lname, false);
	wire_put_u16(&b, q->qtype);
	wire_put_u16(&b, q->qclass);
	wire_put_opt(&b, 1232, 0, (q->edns.flags & EDNS_DO) != 0, -1);
	return b.overflow ? 0 : b.len;
}

/* Gives each letter of the name at N a random case; a reply must echo it
 * exactly (upstream_case_matches). */
static void
randomize_case(uint8_t *n)
{
	uint32_t bits = 0;
	int left = 0;

	while (*n != 0) {
		uint8_t l = *n++;
		for (uint8_t i = 0; i < l; i++, n++) {
			if (!isalpha(*n))
				continue;
			if (left == 0) {
				bits = random_u32();
				left = 32;
			}
			*n = (bits & 1) ? (uint8_t)toupper(*n) : (uint8_t)tolower(*n);
			bits >>= 1;
			left--;
		}
	}
}

/* Appends option CODE with DATA (LEN octets) to the OPT that ends the
 * message in B; the OPT's RDLENGTH is fixed by the caller. */
static void
put_option(struct wire_buf *b, uint16_t code, const uint8_t *data, size_t len)
{
	wire_put_u16(b, code);
	wire_put_u16(b, (uint16_t)len);
	wire_put_bytes(b, data, len);
}

size_t
upstream_build_try(const struct wire_query *q, uint16_t id,
    const struct upstream_try_opts *o, uint8_t *out, size_t cap)
{
	static const uint8_t zeros[UPSTREAM_PAD_BLOCK];
	struct wire_buf b;
	size_t len = upstream_build_query(q, id, out, cap), optlen_off;

	if (len == 0)
		return 0;
	if (o->cased != NULL)
		memcpy(out + WIRE_HDR_LEN, o->cased, (size_t)q->qname_len);
	else if (o->randomize_case)
		randomize_case(out + WIRE_HDR_LEN);
	if (!o->edns) {
		/* The OPT (last, 11 octets) goes, and with it the cookie and
		 * the padding. */
		out[WIRE_OFF_AR] = 0;
		out[WIRE_OFF_AR + 1] = 0;
		return len - 11;
	}
	/* The OPT RR is last: root(1) type(2) class(2) ttl(4) rdlen(2). */
	optlen_off = len - 2;
	wire_buf_init(&b, out, cap);
	b.len = len;
	if (o->cookie != NULL) {
		uint8_t c[UPSTREAM_COOKIE_CLIENT_LEN + UPSTREAM_COOKIE_SERVER_MAX];
		size_t sl = MIN(o->cookie->server_len, UPSTREAM_COOKIE_SERVER_MAX);
		memcpy(c, o->cookie->client, UPSTREAM_COOKIE_CLIENT_LEN);
		memcpy(c + UPSTREAM_COOKIE_CLIENT_LEN, o->cookie->server, sl);
		put_option(&b, EDNS_OPT_COOKIE, c, UPSTREAM_COOKIE_CLIENT_LEN + sl);
	}
	if (o->pad) {
		size_t pad = (UPSTREAM_PAD_BLOCK - (b.len + 4) % UPSTREAM_PAD_BLOCK) %
		    UPSTREAM_PAD_BLOCK;
		put_option(&b, EDNS_OPT_PADDING, zeros, pad);
	}
	if (b.overflow)
		return 0;
	wire_set_u16(&b, optlen_off, (uint16_t)(b.len - len));
	return b.len;
}

bool
upstream_reply_matches(const uint8_t *query, size_t qlen, const uint8_t *resp,
    size_t rlen)
{
	uint8_t qn[WIRE_NAME_MAX], rn[WIRE_NAME_MAX];
	size_t qp = WIRE_HDR_LEN, rp = WIRE_HDR_LEN;

	if (rlen < WIRE_HDR_LEN || qlen < WIRE_HDR_LEN)
		return false;
	if (memcmp(query, resp, 2) != 0 || !(resp[2] & 0x80))
		return false;
	/* A reply without a question (some servers' FORMERR) cannot be
	 * matched to ours: ignore it like any other stray packet. */
	if (wire_get_u16(resp + 4) != 1)
		return false;
	if (wire_name_read(query, qlen, &qp, qn) < 0 ||
	    wire_name_read(resp, rlen, &rp, rn) < 0)
		return false;
	if (qp + 4 > qlen || rp + 4 > rlen)
		return false;
	return wire_name_equal(qn, rn) && memcmp(query + qp, resp + rp, 4) == 0;
}

bool
upstream_case_matches(const uint8_t *query, size_t qlen, const uint8_t *resp,
    size_t rlen)
{
	uint8_t qn[WIRE_NAME_MAX], rn[WIRE_NAME_MAX];
	size_t qp = WIRE_HDR_LEN, rp = WIRE_HDR_LEN;
	int l;

	if ((l = wire_name_read(query, qlen, &qp, qn)) < 0 ||
	    wire_name_read(resp, rlen, &rp, rn) < 0)
		return false;
	return memcmp(qn, rn, (size_t)l) == 0;
}

bool
upstream_cookie_check(struct upstream_cookie *c, const uint8_t *resp, size_t rlen)
{
	struct wire_iter it;
	struct wire_iter_rr rr;

	if (wire_iter_init(&it, resp, rlen) == -1)
		return true;
	/* Every OPT of the additional section is looked at, however many and
	 * whoever owns them; a malformed part ends the walk. */
	while (wire_iter_find(&it, TYPE_OPT, &rr) == 1) {
		if (rr.section != WIRE_SEC_ADDITIONAL)
			continue;
		const uint8_t *o = resp + rr.rdata_off, *end = resp + rr.end;
		while (o + 4 <= end) {
			uint16_t code = wire_get_u16(o), len = wire_get_u16(o + 2);
			if (o + 4 + len > end)
				break;
			if (code == EDNS_OPT_COOKIE) {
				if (len < UPSTREAM_COOKIE_CLIENT_LEN ||
				    memcmp(o + 4, c->client, UPSTREAM_COOKIE_CLIENT_LEN) != 0)
					return false;
				if (len >= UPSTREAM_COOKIE_CLIENT_LEN + 8 &&
				    len <= UPSTREAM_COOKIE_CLIENT_LEN + UPSTREAM_COOKIE_SERVER_MAX) {
					c->server_len = (uint8_t)(len - UPSTREAM_COOKIE_CLIENT_LEN);
					memcpy(c->server, o + 4 + UPSTREAM_COOKIE_CLIENT_LEN,
					    c->server_len);
				}
			}
			o += 4 + len;
		}
	}
	return true;
}

int
upstream_reply_rcode(const uint8_t *resp, size_t rlen)
{
	struct wire_iter it;
	struct wire_iter_rr rr;

	if (wire_iter_init(&it, resp, rlen) == -1)
		return -1;
	if (wire_iter_find(&it, TYPE_OPT, &rr) == 1)
		return (int)((rr.ttl >> 24) << 4) | WIRE_RCODE(it.hdr.flags);
	return WIRE_RCODE(it.hdr.flags);
}

enum upstream_action
upstream_reply_action(int rcode, bool truncated, bool stream, bool cookie_retried,
    bool edns_sent)
{
	if (rcode == RCODE_BADCOOKIE && !cookie_retried)
		return UPSTREAM_RETRY_COOKIE;
	/* RFC 6891 7: a server that does not know EDNS answers FORMERR to it. */
	if (rcode == RCODE_FORMERR && edns_sent)
		return UPSTREAM_RETRY_NOEDNS;
	/* Passing these on would make the client take the upstream's policy
	 * or parse error for pldns's own; another server may do better. */
	if (rcode == RCODE_SERVFAIL || rcode == RCODE_REFUSED || rcode == RCODE_NOTIMP ||
	    rcode == RCODE_FORMERR || rcode == RCODE_BADVERS)
		return UPSTREAM_FAILOVER;
	if (truncated && !stream)
		return UPSTREAM_TRUNCATED;
	return UPSTREAM_ANSWER;
}

const char *
upstream_rcode_name(int rcode)
{
	return rcode == RCODE_SERVFAIL ? "SERVFAIL" : rcode == RCODE_REFUSED ? "REFUSED" :
	    rcode == RCODE_NOTIMP ? "NOTIMP" : rcode == RCODE_FORMERR ? "FORMERR" :
	    "BADVERS";
}
