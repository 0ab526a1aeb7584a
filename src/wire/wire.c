/* wire: bounded DNS message parsing and writing (RFC 1035, 6891, 9619). */

#include <assert.h>
#include <string.h>

#include "wire/wire.h"

#define WIRE_PTR_HOPS	127
/* Payload size advertised in error replies (DNS Flag Day 2020). */
#define WIRE_ERR_UDP	1232

/* Optional RR types not in the public enum that carry compressible names. */
#define TYPE_MD		3
#define TYPE_MF		4
#define TYPE_MB		7
#define TYPE_MG		8
#define TYPE_MR		9
#define TYPE_MINFO	14
#define TYPE_RP		17
#define TYPE_AFSDB	18
#define TYPE_RT		21
#define TYPE_PX		26
#define TYPE_NAPTR	35
#define TYPE_KX		36

/* ASCII letters to lower case, without a branch (for bytes lower8 leaves). */
static inline uint8_t
lower(uint8_t c)
{
	return (uint8_t)(c | ((unsigned)(c - 'A') < 26u) << 5);
}

/* lower() on the eight bytes of X at once (ASCII letters only, as above). */
static inline uint64_t
lower8(uint64_t x)
{
	uint64_t h = x & 0x7f7f7f7f7f7f7f7fULL;
	uint64_t ge_a = h + 0x3f3f3f3f3f3f3f3fULL;	/* bit 7: >= 'A' */
	uint64_t gt_z = h + 0x2525252525252525ULL;	/* bit 7: > 'Z' */

	return x | ((ge_a & ~gt_z & ~x & 0x8080808080808080ULL) >> 2);
}

/*
 * A[0..N) and B[0..N) are equal but for the case of ASCII letters.  Labels
 * are short: the last bytes are compared in one word that overlaps the one
 * before it, never reading past N.
 */
static bool
bytes_equal_nocase(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint64_t x, y;

	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8) {
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y && lower8(x) != lower8(y))
				return false;
		}
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
	} else if (n >= 4) {
		uint32_t x0, x1, y0, y1;
		memcpy(&x0, a, 4);
		memcpy(&x1, a + n - 4, 4);
		memcpy(&y0, b, 4);
		memcpy(&y1, b + n - 4, 4);
		x = x0 | (uint64_t)x1 << 32;
		y = y0 | (uint64_t)y1 << 32;
	} else {
		for (size_t i = 0; i < n; i++)
			if (a[i] != b[i] && lower(a[i]) != lower(b[i]))
				return false;
		return true;
	}
	return x == y || lower8(x) == lower8(y);
}

/* ---- names ---- */

int
wire_name_read(const uint8_t *pkt, size_t len, size_t *pos, uint8_t *out)
{
	size_t p = *pos, end = 0;
	/*
	 * Each pointer must land before the start of the label run that
	 * holds it (the name's own start for the first run).  Run starts
	 * thus strictly decrease, so no loop is possible whatever the bytes;
	 * the hop limit is a second, cheaper bound.
	 */
	size_t limit = *pos;
	int hops = 0, olen = 0, runout = 0;	/* the run starts at LIMIT */

	/* Labels are checked one by one and copied a run at a time (a whole
	 * name when it has no pointer). */
	for (;;) {
		if (p >= len)
			return -1;
		uint8_t c = pkt[p];
		if ((c & 0xc0) == 0xc0) {
			if (p + 1 >= len)
				return -1;
			size_t target = (size_t)(c & 0x3f) << 8 | pkt[p + 1];
			if (target >= limit || ++hops > WIRE_PTR_HOPS)
				return -1;
			if (end == 0)
				end = p + 2;
			memcpy(out + runout, pkt + limit, p - limit);
			runout = olen;
			p = limit = target;
			continue;
		}
		if (c & 0xc0)
			return -1;	/* 0x40 extended, 0x80 reserved */
		if (c == 0) {
			memcpy(out + runout, pkt + limit, p + 1 - limit);
			olen++;
			break;
		}
		/* Leave room for the root label. */
		if (p + 1 + c > len || olen + 1 + c + 1 > WIRE_NAME_MAX)
			return -1;
		olen += 1 + c;
		p += 1 + (size_t)c;
	}
	*pos = end != 0 ? end : p + 1;
	return olen;
}

int
wire_name_skip(const uint8_t *pkt, size_t len, size_t *pos)
{
	size_t p = *pos;
	uint8_t name[WIRE_NAME_MAX];

	/* A name without pointers (as questions are) is only walked. */
	for (;;) {
		if (p >= len || p - *pos >= WIRE_NAME_MAX)
			return -1;
		uint8_t c = pkt[p];
		if (c == 0) {
			*pos = p + 1;
			return 0;
		}
		if (c & 0xc0)
			break;
		p += 1 + (size_t)c;
	}
	p = *pos;
	if (wire_name_read(pkt, len, &p, name) == -1)
		return -1;
	*pos = p;
	return 0;
}

int
wire_name_len(const uint8_t *name, size_t max)
{
	size_t i = 0;

	if (max > WIRE_NAME_MAX)
		max = WIRE_NAME_MAX;
	for (;;) {
		if (i >= max)
			return -1;
		uint8_t c = name[i];
		if (c == 0)
			return (int)i + 1;
		if (c > WIRE_LABEL_MAX)
			return -1;
		i += 1 + (size_t)c;
	}
}

void
wire_name_lower(uint8_t *out, const uint8_t *name, size_t len)
{
	size_t i = 0;

	/* Label length octets are <= 63 and so never in 'A'..'Z'. */
	for (; i + 8 <= len; i += 8) {
		uint64_t x;
		memcpy(&x, name + i, 8);
		x = lower8(x);
		memcpy(out + i, &x, 8);
	}
	for (; i < len; i++)
		out[i] = lower(name[i]);
}

bool
wire_name_equal(const uint8_t *a, const uint8_t *b)
{
	size_t i = 0;

	for (;;) {
		uint8_t la = a[i];
		if (la != b[i])
			return false;
		if (la == 0)
			return true;
		if (la > WIRE_LABEL_MAX || i + 1 + la >= WIRE_NAME_MAX)
			return false;
		if (!bytes_equal_nocase(a + i + 1, b + i + 1, la))
			return false;
		i += 1 + (size_t)la;
	}
}

int
wire_name_labels(const uint8_t *name)
{
	size_t i = 0;
	int n = 0;

	while (i < WIRE_NAME_MAX && name[i] != 0 && name[i] <= WIRE_LABEL_MAX) {
		i += 1 + (size_t)name[i];
		n++;
	}
	return n;
}

const uint8_t *
wire_name_parent(const uint8_t *name)
{
	if (name[0] == 0)
		return NULL;
	return name + 1 + name[0];
}

bool
wire_name_under(const uint8_t *name, const uint8_t *zone)
{
	int nl = wire_name_labels(name), zl = wire_name_labels(zone);

	if (nl < zl)
		return false;
	for (int i = 0; i < nl - zl; i++)
		name += 1 + name[0];
	return wire_name_equal(name, zone);
}

static int
isdigit_c(char c)
{
	return c >= '0' && c <= '9';
}

int
wire_name_from_str(const char *s, uint8_t *out, const char **err)
{
	size_t o = 0, l = 0;	/* current label's length octet, its length */
	const char *p = s;

	if (s[0] == '\0' || (s[0] == '.' && s[1] == '\0')) {
		out[0] = 0;
		return 1;
	}
	for (;;) {
		char c = *p;
		if (c == '\0' || c == '.') {
			if (l == 0) {
				/* Only the optional trailing dot may end without a label. */
				if (c == '\0' && p > s && p[-1] == '.')
					break;
				*err = "empty label";
				return -1;
			}
			out[o] = (uint8_t)l;
			o += 1 + l;
			l = 0;
			if (c == '\0')
				break;
			p++;
			continue;
		}
		unsigned v = (unsigned char)c;
		p++;
		if (c == '\\') {
			if (*p == '\0') {
				*err = "bad escape";
				return -1;
			}
			if (isdigit_c(*p)) {
				if (!isdigit_c(p[1]) || !isdigit_c(p[2])) {
					*err = "bad escape";
					return -1;
				}
				v = (unsigned)(p[0] - '0') * 100 +
				    (unsigned)(p[1] - '0') * 10 +
				    (unsigned)(p[2] - '0');
				if (v > 255) {
					*err = "bad escape";
					return -1;
				}
				p += 3;
			} else
				v = (unsigned char)*p++;
		}
		if (l == WIRE_LABEL_MAX) {
			*err = "label longer than 63 octets";
			return -1;
		}
		/* The label with this octet, plus the root label, must fit. */
		if (o + 1 + (l + 1) + 1 > WIRE_NAME_MAX) {
			*err = "name longer than 255 octets";
			return -1;
		}
		out[o + 1 + l] = (uint8_t)v;
		l++;
	}
	out[o] = 0;
	return (int)o + 1;
}

int
wire_name_to_str(const uint8_t *name, char *buf, size_t buflen)
{
	size_t i = 0, o = 0;

#define EMIT(ch) do {				\
	if (o + 1 >= buflen)			\
		return -1;			\
	buf[o++] = (ch);			\
} while (0)

	if (buflen == 0)
		return -1;
	if (name[0] == 0) {
		EMIT('.');
		buf[o] = '\0';
		return (int)o;
	}
	while (name[i] != 0) {
		uint8_t l = name[i];
		if (l > WIRE_LABEL_MAX || i + 1 + l >= WIRE_NAME_MAX)
			return -1;
		for (size_t j = i + 1; j <= i + l; j++) {
			uint8_t c = name[j];
			if (c < 0x21 || c > 0x7e) {
				EMIT('\\');
				EMIT((char)('0' + c / 100));
				EMIT((char)('0' + c / 10 % 10));
				EMIT((char)('0' + c % 10));
			} else if (strchr(".\\\";()$@", c) != NULL) {
				EMIT('\\');
				EMIT((char)c);
			} else
				EMIT((char)c);
		}
		EMIT('.');
		i += 1 + (size_t)l;
	}
	buf[o] = '\0';
	return (int)o;
#undef EMIT
}

/* ---- header and question ---- */

int
wire_hdr_read(const uint8_t *pkt, size_t len, struct wire_hdr *h)
{
	if (len < WIRE_HDR_LEN)
		return -1;
	h->id = wire_get_u16(pkt);
	h->flags = wire_get_u16(pkt + 2);
	h->qdcount = wire_get_u16(pkt + 4);
	h->ancount = wire_get_u16(pkt + 6);
	h->nscount = wire_get_u16(pkt + 8);
	h->arcount = wire_get_u16(pkt + 10);
	return 0;
}

/* ---- walking a message ---- */

static inline __attribute__((always_inline)) int
iter_init(struct wire_iter *it, const uint8_t *pkt, size_t len)
{
	/* Field by field: every query's parse starts here. */
	it->pkt = pkt;
	it->len = len;
	it->pos = WIRE_HDR_LEN;
	it->next = 0;
	if (wire_hdr_read(pkt, len, &it->hdr) == -1) {
		it->qleft = it->nrr = 0;
		it->bad = true;
		return -1;
	}
	it->bad = false;
	it->qleft = it->hdr.qdcount;
	it->nrr = (unsigned)it->hdr.ancount + it->hdr.nscount + it->hdr.arcount;
	return 0;
}

int
wire_iter_init(struct wire_iter *it, const uint8_t *pkt, size_t len)
{
	return iter_init(it, pkt, len);
}

/* Stops the walk at a malformed part. */
static int
iter_fail(struct wire_iter *it)
{
	it->bad = true;
	return -1;
}

static inline __attribute__((always_inline)) int
iter_question(struct wire_iter *it, struct wire_iter_q *q, uint8_t *name)
{
	size_t p = it->pos;
	int n = 0;

	if (it->bad)
		return -1;
	if (it->qleft == 0)
		return 0;
	if (name != NULL)
		n = wire_name_read(it->pkt, it->len, &p, name);
	else if (wire_name_skip(it->pkt, it->len, &p) == -1)
		n = -1;
	if (n == -1 || it->len - p < 4)
		return iter_fail(it);
	q->off = it->pos;
	q->name_len = name != NULL ? n : 0;
	q->qtype = wire_get_u16(it->pkt + p);
	q->qclass = wire_get_u16(it->pkt + p + 2);
	it->pos = p + 4;
	it->qleft--;
	return 1;
}

int
wire_iter_question(struct wire_iter *it, struct wire_iter_q *q, uint8_t *name)
{
	return iter_question(it, q, name);
}

/* wire_iter_next(), inlined into the walks of this file (a query's parse
 * among them). */
static inline __attribute__((always_inline)) int
iter_next(struct wire_iter *it, struct wire_iter_rr *rr, uint8_t *owner,
    int *owner_len)
{
	const uint8_t *pkt = it->pkt;
	size_t p;
	int n;

	while (it->qleft > 0) {
		struct wire_iter_q q;
		if (iter_question(it, &q, NULL) == -1)
			return -1;
	}
	if (it->bad)
		return -1;
	if (it->next == it->nrr)
		return 0;
	p = it->pos;
	/* The root (an OPT's owner) needs no walk; a caller that wants the
	 * owner gets it from the one walk that checks it. */
	if (owner != NULL) {
		if ((n = wire_name_read(pkt, it->len, &p, owner)) == -1)
			return iter_fail(it);
		*owner_len = n;
	} else if (p < it->len && pkt[p] == 0)
		p++;
	else if (wire_name_skip(pkt, it->len, &p) == -1)
		return iter_fail(it);
	if (it->len - p < 10)
		return iter_fail(it);
	rr->off = it->pos;
	rr->type = wire_get_u16(pkt + p);
	rr->rclass = wire_get_u16(pkt + p + 2);
	rr->ttl = wire_get_u32(pkt + p + 4);
	rr->rdlen = wire_get_u16(pkt + p + 8);
	p += 10;
	if (rr->rdlen > it->len - p)
		return iter_fail(it);
	rr->rdata_off = p;
	rr->end = it->pos = p + rr->rdlen;
	rr->index = it->next++;
	if (rr->index < it->hdr.ancount)
		rr->section = WIRE_SEC_ANSWER;
	else if (rr->index < (unsigned)it->hdr.ancount + it->hdr.nscount)
		rr->section = WIRE_SEC_AUTHORITY;
	else
		rr->section = WIRE_SEC_ADDITIONAL;
	return 1;
}

int
wire_iter_next(struct wire_iter *it, struct wire_iter_rr *rr)
{
	return iter_next(it, rr, NULL, NULL);
}

int
wire_iter_next_owner(struct wire_iter *it, struct wire_iter_rr *rr,
    uint8_t *owner, int *owner_len)
{
	return iter_next(it, rr, owner, owner_len);
}

int
wire_iter_find(struct wire_iter *it, uint16_t type, struct wire_iter_rr *rr)
{
	int r;

	while ((r = iter_next(it, rr, NULL, NULL)) == 1 && rr->type != type)
		;
	return r;
}

bool
wire_iter_end(const struct wire_iter *it)
{
	return !it->bad && it->qleft == 0 && it->next == it->nrr &&
	    it->pos == it->len;
}

int
wire_iter_owner(const struct wire_iter *it, const struct wire_iter_rr *rr,
    uint8_t *out)
{
	size_t p = rr->off;

	return wire_name_read(it->pkt, it->len, &p, out);
}

bool
wire_iter_owner_root(const struct wire_iter *it, const struct wire_iter_rr *rr)
{
	size_t p = rr->off;
	int hops = 0;

	/* The walk checked the name: its pointers lead back, and end. */
	while (p + 1 < it->len && (it->pkt[p] & 0xc0) == 0xc0 &&
	    hops++ < WIRE_PTR_HOPS)
		p = (size_t)(it->pkt[p] & 0x3f) << 8 | it->pkt[p + 1];
	return p < it->len && it->pkt[p] == 0;
}

int
wire_iter_rr_read(const struct wire_iter *it, const struct wire_iter_rr *rr,
    struct wire_rr *out)
{
	size_t p = rr->off;

	return wire_rr_read(it->pkt, it->len, &p, out);
}

static inline __attribute__((always_inline)) void
iter_opt(struct wire_iter *it, struct wire_opt *o)
{
	struct wire_iter_rr rr;
	int r;

	o->found = o->bad = false;
	o->rr = (struct wire_iter_rr){ 0 };	/* read only when found */
	while ((r = iter_next(it, &rr, NULL, NULL)) == 1) {
		if (rr.type != TYPE_OPT)
			continue;
		if (rr.section != WIRE_SEC_ADDITIONAL || o->found ||
		    (it->pkt[rr.off] != 0 && !wire_iter_owner_root(it, &rr))) {
			o->bad = true;
			continue;
		}
		o->found = true;
		o->rr = rr;
	}
	o->complete = r == 0 && wire_iter_end(it);
}

void
wire_iter_opt(struct wire_iter *it, struct wire_opt *o)
{
	iter_opt(it, o);
}

/* Reads an OPT RR's fields and options into E; -1 when the option list is
 * malformed (E keeps what the fixed part said, so a reply can carry OPT). */
static int
edns_read(const uint8_t *pkt, const struct wire_iter_rr *rr, struct wire_edns *e)
{
	e->present = true;
	e->udp_size = rr->rclass;
	e->ext_rcode = (uint8_t)(rr->ttl >> 24);
	e->version = (uint8_t)(rr->ttl >> 16);
	e->flags = (uint16_t)rr->ttl;
	e->cookie = NULL;
	e->cookie_len = 0;

	size_t p = rr->rdata_off, end = rr->rdata_off + rr->rdlen;
	const uint8_t *cookie = NULL;
	uint16_t cookie_len = 0;
	while (p < end) {
		if (end - p < 4)
			return -1;
		uint16_t code = wire_get_u16(pkt + p);
		uint16_t olen = wire_get_u16(pkt + p + 2);
		p += 4;
		if (olen > end - p)
			return -1;
		if (code == EDNS_OPT_COOKIE && cookie == NULL) {
			/* RFC 7873 5.2.2: client cookie alone (8) or
			 * with a server cookie of 8..32 octets. */
			if (olen != 8 && (olen < 16 || olen > 40))
				return -1;
			cookie = pkt + p;
			cookie_len = olen;
		}
		p += olen;
	}
	e->cookie = cookie;
	e->cookie_len = cookie_len;
	return 0;
}

int
wire_msg_edns(const uint8_t *pkt, size_t len, struct wire_edns *e)
{
	struct wire_iter it;
	struct wire_opt o;

	memset(e, 0, sizeof(*e));
	if (iter_init(&it, pkt, len) == -1)
		return -1;
	iter_opt(&it, &o);
	if (!o.found)
		return -1;
	(void)edns_read(pkt, &o.rr, e);
	return 0;
}

enum wire_verdict
wire_query_parse(const uint8_t *pkt, size_t len, struct wire_query *q)
{
	struct wire_iter it;
	struct wire_iter_q qq;
	struct wire_opt o;
	bool formerr = false;

	memset(q, 0, offsetof(struct wire_query, qname));
	q->qname[0] = q->lname[0] = 0;	/* the root, until a name is read */
	if (iter_init(&it, pkt, len) == -1)
		return WIRE_DROP;
	q->hdr = it.hdr;
	if (q->hdr.flags & WIRE_QR)
		return WIRE_DROP;

	const struct wire_hdr *h = &q->hdr;
	/* TC in a query means nothing (BIND and Unbound answer it).  No
	 * question is a query for a cookie, or FORMERR (decided below). */
	if (h->qdcount > 1 || h->ancount != 0 || h->nscount != 0)
		formerr = true;

	/*
	 * Walk the whole message even when it is already known to be bad, so
	 * that the question and the OPT are known for the error reply.
	 */
	if (h->qdcount == 1 && iter_question(&it, &qq, q->qname) == 1) {
		q->qname_len = qq.name_len;
		wire_name_lower(q->lname, q->qname, (size_t)qq.name_len);
		q->qtype = qq.qtype;
		q->qclass = qq.qclass;
		q->question_end = it.pos;
		/* The meta classes ANY and NONE (RFC 6895 3.2) and the
		 * reserved 0 ask for nothing: FORMERR, as BIND. */
		if (q->qclass == 0 || q->qclass == 254 || q->qclass == CLASS_ANY)
			formerr = true;
	}
	/* TSIG and the like are not ours to check: only the OPT is. */
	iter_opt(&it, &o);
	if (o.bad || !o.complete)
		formerr = true;
	if (o.found && edns_read(pkt, &o.rr, &q->edns) == -1)
		formerr = true;

	if (WIRE_OPCODE(h->flags) != 0)
		return WIRE_NOTIMP;
	if (formerr)
		return WIRE_FORMERR;
	if (q->edns.present && q->edns.version != 0)
		return WIRE_BADVERS;
	if (h->qdcount == 0)
		return q->edns.cookie != NULL ? WIRE_COOKIE : WIRE_FORMERR;
	return WIRE_OK;
}

/* ---- resource records ---- */

int
wire_rr_read(const uint8_t *pkt, size_t len, size_t *pos, struct wire_rr *rr)
{
	size_t p = *pos;
	int n = wire_name_read(pkt, len, &p, rr->owner);

	if (n == -1 || len - p < 10)
		return -1;
	rr->owner_len = n;
	rr->type = wire_get_u16(pkt + p);
	rr->rclass = wire_get_u16(pkt + p + 2);
	rr->ttl = wire_get_u32(pkt + p + 4);
	rr->rdlen = wire_get_u16(pkt + p + 8);
	p += 10;
	if (rr->rdlen > len - p)
		return -1;
	rr->rdata_off = p;
	*pos = p + rr->rdlen;
	return 0;
}

/*
 * RDATA layouts with embedded names: 'N' a name, 'S' a character-string,
 * an octet below ' ' a run of that many fixed octets.
 */
static const char *
rdata_layout(uint16_t type)
{
	switch (type) {
	case TYPE_NS: case TYPE_MD: case TYPE_MF: case TYPE_CNAME:
	case TYPE_MB: case TYPE_MG: case TYPE_MR: case TYPE_PTR:
	case TYPE_DNAME:
		return "N";
	case TYPE_SOA:
		return "NN\024";
	case TYPE_MINFO: case TYPE_RP:
		return "NN";
	case TYPE_MX: case TYPE_AFSDB: case TYPE_RT: case TYPE_KX:
		return "\002N";
	case TYPE_SRV:
		return "\006N";
	case TYPE_PX:
		return "\002NN";
	case TYPE_NAPTR:
		return "\004SSSN";
	default:
		return NULL;
	}
}

int
wire_rdata_expand(const uint8_t *pkt, size_t len, const struct wire_rr *rr,
    uint8_t *out, size_t outmax)
{
	size_t p = rr->rdata_off, o = 0;

	if (p > len || rr->rdlen > len - p)
		return -1;
	size_t end = p + rr->rdlen;
	const char *lay = rdata_layout(rr->type);
	if (lay == NULL) {
		if (rr->rdlen > outmax)
			return -1;
		memcpy(out, pkt + p, rr->rdlen);
		return rr->rdlen;
	}
	for (; *lay != '\0'; lay++) {
		size_t n;
		if (*lay == 'N') {
			uint8_t name[WIRE_NAME_MAX];
			int nl = wire_name_read(pkt, len, &p, name);
			if (nl == -1 || p > end || (size_t)nl > outmax - o)
				return -1;
			memcpy(out + o, name, (size_t)nl);
			o += (size_t)nl;
			continue;
		}
		if (*lay == 'S') {
			if (p >= end)
				return -1;
			n = 1 + (size_t)pkt[p];
		} else
			n = (size_t)*lay;
		if (n > end - p || n > outmax - o)
			return -1;
		memcpy(out + o, pkt + p, n);
		o += n;
		p += n;
	}
	if (p != end)
		return -1;
	return (int)o;
}

/* ---- writing ---- */

/*
 * What every writer keeps true of B (as NSD's buffer_invariant()): the
 * length within the memory, the compression targets within what is
 * written, a question waiting to become targets lying inside the message.
 * Checked whole where a unit of the message starts or ends (init, mark,
 * rollback, a reply's head, a name); every write checks the length.
 * Compiled out with NDEBUG.
 */
static inline void
buf_invariant(const struct wire_buf *b)
{
	assert(b != NULL);
	assert(b->data != NULL || b->cap == 0);
	assert(b->len <= b->cap);
	assert(b->ncomp >= 0 && b->ncomp <= WIRE_COMP_MAX);
	assert(b->ncomp == 0 || b->comp[b->ncomp - 1] < b->len);
	assert(b->lazy == 0 || (b->lazy >= WIRE_HDR_LEN && b->lazy < b->len));
}

void
wire_buf_init(struct wire_buf *b, uint8_t *mem, size_t cap)
{
	b->data = mem;
	b->cap = cap;
	b->len = 0;
	b->overflow = false;
	b->ncomp = 0;
	b->lazy = 0;
	buf_invariant(b);
}

struct wire_mark
wire_buf_mark(const struct wire_buf *b)
{
	struct wire_mark m = { b->len, b->ncomp, b->lazy };

	buf_invariant(b);
	return m;
}

void
wire_buf_rollback(struct wire_buf *b, struct wire_mark m)
{
	/* The section that overflowed is gone, so the buffer is usable again. */
	if (m.len <= b->len)
		b->len = m.len;
	if (m.ncomp >= 0 && m.ncomp <= b->ncomp)
		b->ncomp = m.ncomp;
	/* A question entered as targets since the mark waits again. */
	b->lazy = m.lazy;
	b->overflow = false;
	buf_invariant(b);
}

/* True when N more octets fit; otherwise marks the overflow. */
static bool
room(struct wire_buf *b, size_t n)
{
	assert(b->len <= b->cap);
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = true;
		return false;
	}
	return true;
}

void
wire_put_u8(struct wire_buf *b, uint8_t v)
{
	if (room(b, 1))
		b->data[b->len++] = v;
	assert(b->len <= b->cap);
}

void
wire_put_u16(struct wire_buf *b, uint16_t v)
{
	if (!room(b, 2))
		return;
	wire_write_u16(b->data + b->len, v);
	b->len += 2;
	assert(b->len <= b->cap);
}

void
wire_put_u32(struct wire_buf *b, uint32_t v)
{
	if (!room(b, 4))
		return;
	wire_write_u32(b->data + b->len, v);
	b->len += 4;
	assert(b->len <= b->cap);
}

void
wire_put_bytes(struct wire_buf *b, const void *p, size_t n)
{
	if (!room(b, n))
		return;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	assert(b->len <= b->cap);
}

void
wire_put_hdr(struct wire_buf *b, const struct wire_hdr *h)
{
	const uint16_t v[6] = { h->id, h->flags, h->qdcount, h->ancount,
	    h->nscount, h->arcount };
	uint8_t *p;

	if (!room(b, WIRE_HDR_LEN))
		return;
	p = b->data + b->len;
	for (int i = 0; i < 6; i++)
		wire_write_u16(p + 2 * i, v[i]);
	b->len += WIRE_HDR_LEN;
	assert(b->len <= b->cap);
}

/*
 * The label of our own output at *POS, pointers followed, and *POS moved
 * past it; NULL if the output holds no name there.  Our output is trusted
 * but walked with bounds all the same: pointers go backwards, and at most
 * WIRE_PTR_HOPS of them.
 */
static const uint8_t *
out_label(const struct wire_buf *b, size_t *pos, int *hops)
{
	size_t p = *pos;

	while (p < b->len && (b->data[p] & 0xc0) == 0xc0) {
		size_t t;

		if (p + 1 >= b->len || ++*hops > WIRE_PTR_HOPS)
			return NULL;
		t = (size_t)(b->data[p] & 0x3f) << 8 | b->data[p + 1];
		if (t >= p)
			return NULL;
		p = t;
	}
	if (p >= b->len || (b->data[p] & 0xc0) != 0 || p + 1 + b->data[p] > b->len)
		return NULL;
	*pos = p + 1 + b->data[p];
	return b->data + p;
}

/* NAME (LEN octets) equals, ignoring case, the name our output holds at POS. */
static bool
out_name_equal(const struct wire_buf *b, size_t pos, const uint8_t *name,
    size_t len)
{
	const uint8_t *l;
	int hops = 0;

	/* Most often the name lies there whole (a question): one compare.
	 * Length octets never fold, so equal bytes are an equal name. */
	if (pos <= b->len && len <= b->len - pos &&
	    bytes_equal_nocase(b->data + pos, name, len))
		return true;

	while ((l = out_label(b, &pos, &hops)) != NULL && l[0] == name[0]) {
		if (l[0] == 0)
			return true;
		if (!bytes_equal_nocase(l + 1, name + 1, l[0]))
			return false;
		name += 1 + name[0];
	}
	return false;
}

/*
 * Finds the longest suffix of NAME (NLEN octets; LAB[i] = offset of label i,
 * N labels) already written as a target.  Returns the index of the first
 * label of the suffix (N when none) and its offset in *OFF.
 */
static int
comp_find(const struct wire_buf *b, const uint8_t *name, size_t nlen,
    const uint8_t *lab, int n, uint16_t *off)
{
	int best = n;

	for (int k = 0; k < b->ncomp && best > 0; k++) {
		int tl = b->compn[k];
		if (tl == 0 || tl > n || n - tl >= best)
			continue;
		if (out_name_equal(b, b->comp[k], name + lab[n - tl],
		    nlen - lab[n - tl])) {
			best = n - tl;
			*off = b->comp[k];
		}
	}
	return best;
}

/* Enters the first UPTO labels of the name of N labels written at START
 * (LAB[i] = offset of label i) as pointer targets. */
static void
comp_add(struct wire_buf *b, size_t start, const uint8_t *lab, int upto, int n)
{
	for (int i = 0; i < upto; i++) {
		size_t at = start + lab[i];
		if (at > WIRE_PTR_MAXOFF || b->ncomp >= WIRE_COMP_MAX)
			break;
		/* Labels from here to the root, those behind a pointer too. */
		b->compn[b->ncomp] = (uint8_t)(n - i);
		b->comp[b->ncomp++] = (uint16_t)at;
	}
}

/* LAB[i] = offset of label i of the valid uncompressed NAME; returns how
 * many (the root excluded). */
static int
label_offsets(const uint8_t *name, uint8_t *lab)
{
	int n = 0;

	for (int i = 0; name[i] != 0; i += 1 + name[i])
		lab[n++] = (uint8_t)i;
	return n;
}

/* Enters the labels of the question wire_put_reply_head() wrote as targets. */
static void
comp_add_lazy(struct wire_buf *b)
{
	uint8_t lab[WIRE_NAME_MAX / 2];
	int n = label_offsets(b->data + b->lazy, lab);

	comp_add(b, b->lazy, lab, n, n);
	b->lazy = 0;
}

void
wire_put_reply_head(struct wire_buf *b, uint16_t id, const uint8_t *qname,
    size_t qlen, uint16_t qtype, uint16_t qclass)
{
	uint8_t *p;

	if (b->len != 0 || !room(b, WIRE_HDR_LEN + qlen + 4)) {
		b->overflow = true;
		return;
	}
	p = b->data;
	memset(p, 0, WIRE_HDR_LEN);
	wire_write_u16(p, id);
	p[5] = 1;
	memcpy(p + WIRE_HDR_LEN, qname, qlen);
	p += WIRE_HDR_LEN + qlen;
	wire_write_u16(p, qtype);
	wire_write_u16(p + 2, qclass);
	b->lazy = WIRE_HDR_LEN;
	b->len = WIRE_HDR_LEN + qlen + 4;
	buf_invariant(b);
}

void
wire_put_name(struct wire_buf *b, const uint8_t *name, bool compress)
{
	uint8_t lab[WIRE_NAME_MAX / 2];
	int nlen = wire_name_len(name, WIRE_NAME_MAX), n;
	uint16_t off = 0;

	if (b->lazy != 0)
		comp_add_lazy(b);
	if (nlen == -1) {
		/* A bad name is the caller's bug; fail the message visibly. */
		b->overflow = true;
		return;
	}
	n = label_offsets(name, lab);

	int keep = compress ? comp_find(b, name, (size_t)nlen, lab, n, &off) : n;
	size_t head = keep < n ? lab[keep] : (size_t)nlen - 1;
	if (!room(b, head + (keep < n ? 2 : 1)))
		return;

	size_t start = b->len;
	memcpy(b->data + start, name, head);
	comp_add(b, start, lab, keep, n);
	b->len += head;
	if (keep < n) {
		b->data[b->len++] = (uint8_t)(0xc0 | off >> 8);
		b->data[b->len++] = (uint8_t)off;
	} else
		b->data[b->len++] = 0;
	buf_invariant(b);
}

void
wire_put_rr(struct wire_buf *b, const uint8_t *owner, uint16_t type,
    uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	wire_put_name(b, owner, true);
	wire_put_u16(b, type);
	wire_put_u16(b, rclass);
	wire_put_u32(b, ttl);
	wire_put_u16(b, rdlen);
	wire_put_bytes(b, rdata, rdlen);
}

void
wire_put_rr_at(struct wire_buf *b, uint16_t owner, uint16_t type,
    uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	uint8_t *p;

	if (!room(b, 12 + (size_t)rdlen))
		return;
	p = b->data + b->len;
	wire_write_u16(p, (uint16_t)(0xc000 | owner));
	wire_write_u16(p + 2, type);
	wire_write_u16(p + 4, rclass);
	wire_write_u32(p + 6, ttl);
	wire_write_u16(p + 10, rdlen);
	memcpy(p + 12, rdata, rdlen);
	b->len += 12 + (size_t)rdlen;
	assert(b->len <= b->cap);
}

void
wire_put_opt(struct wire_buf *b, uint16_t udp_size, uint8_t ext_rcode,
    bool do_bit, int ede)
{
	bool with_ede = ede >= 0 && ede <= 0xffff;

	wire_put_u8(b, 0);
	wire_put_u16(b, TYPE_OPT);
	wire_put_u16(b, udp_size);
	wire_put_u32(b, (uint32_t)ext_rcode << 24 | (do_bit ? EDNS_DO : 0));
	if (!with_ede) {
		wire_put_u16(b, 0);
		return;
	}
	wire_put_u16(b, 6);
	wire_put_u16(b, EDNS_OPT_EDE);
	wire_put_u16(b, 2);
	wire_put_u16(b, (uint16_t)ede);
}

void
wire_put_reply_opt(struct wire_buf *b, const struct wire_query *q,
    uint8_t ext_rcode, int ede)
{
	size_t rdlen_at;

	wire_put_opt(b, WIRE_ERR_UDP, ext_rcode, (q->edns.flags & EDNS_DO) != 0, ede);
	if (q->cookie_reply_len == 0 || b->overflow)
		return;
	rdlen_at = b->len - (ede >= 0 ? 8 : 2);
	wire_put_u16(b, EDNS_OPT_COOKIE);
	wire_put_u16(b, q->cookie_reply_len);
	wire_put_bytes(b, q->cookie_reply, q->cookie_reply_len);
	wire_set_u16(b, rdlen_at, (uint16_t)(b->len - rdlen_at - 2));
}

size_t
wire_reply_opt_len(const struct wire_query *q)
{
	return 11 + (q->cookie_reply_len ? 4u + q->cookie_reply_len : 0);
}

void
wire_count_inc(struct wire_buf *b, size_t off)
{
	if (off > b->len || b->len - off < 2)
		return;
	wire_set_u16(b, off, (uint16_t)(wire_get_u16(b->data + off) + 1));
}

void
wire_error_reply(struct wire_buf *b, const struct wire_query *q,
    int rcode, int ede)
{
	struct wire_hdr h;

	/* Whatever B held is gone, its question among it. */
	b->len = 0;
	b->ncomp = 0;
	b->lazy = 0;
	b->overflow = false;

	memset(&h, 0, sizeof(h));
	h.id = q->hdr.id;
	/*
	 * As BIND 9.18: RA only where resolution was tried and failed
	 * (SERVFAIL); an unknown opcode gets QR and the opcode alone, since
	 * what RD means there is not known.
	 */
	h.flags = (uint16_t)(WIRE_QR | (q->hdr.flags & (0xf << 11)) | (rcode & 0xf));
	if (rcode != RCODE_NOTIMP)
		h.flags |= q->hdr.flags & WIRE_RD;
	if (rcode == RCODE_SERVFAIL)
		h.flags |= WIRE_RA;
	h.qdcount = q->question_end != 0 ? 1 : 0;
	h.arcount = q->edns.present ? 1 : 0;
	wire_put_hdr(b, &h);
	if (q->question_end != 0) {
		wire_put_name(b, q->qname, true);
		wire_put_u16(b, q->qtype);
		wire_put_u16(b, q->qclass);
	}
	if (q->edns.present)
		wire_put_reply_opt(b, q, (uint8_t)(rcode >> 4), ede);
}

size_t
wire_add_ede(uint8_t *msg, size_t len, size_t cap, uint16_t info_code)
{
	struct wire_iter it;
	struct wire_iter_rr rr, last = { .type = 0 };
	size_t rdlen_off;
	int r;

	if (len + 6 > cap || iter_init(&it, msg, len) == -1)
		return len;
	while ((r = iter_next(&it, &rr, NULL, NULL)) == 1)
		last = rr;
	/* Only an OPT that ends the message can grow in place. */
	if (r == -1 || !wire_iter_end(&it) || last.type != TYPE_OPT)
		return len;
	rdlen_off = last.rdata_off - 2;
	if (last.rdlen > 65535 - 6)
		return len;
	msg[len] = 0;
	msg[len + 1] = EDNS_OPT_EDE;
	msg[len + 2] = 0;
	msg[len + 3] = 2;
	msg[len + 4] = (uint8_t)(info_code >> 8);
	msg[len + 5] = (uint8_t)info_code;
	wire_write_u16(msg + rdlen_off, (uint16_t)(last.rdlen + 6));
	return len + 6;
}
