/*
 * wire: bounded DNS message parsing and writing (RFC 1035, 6891).
 *
 * Everything here works on caller-owned buffers and never allocates, so it
 * can run on the query path.  Every read is checked against the message
 * length; a malformed message yields an error, never a read past the end.
 *
 * Names are handled in uncompressed wire form (length-prefixed labels ending
 * with the root label), at most WIRE_NAME_MAX (255) octets including the root.
 */
#ifndef PLDNS_WIRE_H
#define PLDNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_NAME_MAX	255
#define WIRE_LABEL_MAX	63
#define WIRE_HDR_LEN	12
#define WIRE_MAX_MSG	65535

/* Header flag bits (host order of the 16-bit flags word). */
#define WIRE_QR		0x8000
#define WIRE_AA		0x0400
#define WIRE_TC		0x0200
#define WIRE_RD		0x0100
#define WIRE_RA		0x0080
#define WIRE_AD		0x0020
#define WIRE_CD		0x0010
#define WIRE_OPCODE(f)	(((f) >> 11) & 0xf)
#define WIRE_OPCODE_NOTIFY 4	/* RFC 1996 */
#define WIRE_RCODE(f)	((f) & 0xf)

enum {
	RCODE_NOERROR = 0, RCODE_FORMERR = 1, RCODE_SERVFAIL = 2,
	RCODE_NXDOMAIN = 3, RCODE_NOTIMP = 4, RCODE_REFUSED = 5,
	RCODE_YXDOMAIN = 6,
	RCODE_BADVERS = 16,	/* extended: needs OPT */
	RCODE_BADCOOKIE = 23	/* extended (RFC 7873) */
};

enum {
	TYPE_A = 1, TYPE_NS = 2, TYPE_CNAME = 5, TYPE_SOA = 6, TYPE_PTR = 12,
	TYPE_HINFO = 13, TYPE_MX = 15, TYPE_TXT = 16, TYPE_AAAA = 28,
	TYPE_SRV = 33, TYPE_DNAME = 39, TYPE_OPT = 41, TYPE_DS = 43,
	TYPE_RRSIG = 46, TYPE_NSEC = 47, TYPE_DNSKEY = 48,
	TYPE_IXFR = 251, TYPE_AXFR = 252, TYPE_ANY = 255
};
#define CLASS_IN	1
#define CLASS_ANY	255

#define EDNS_OPT_COOKIE	10
#define EDNS_OPT_PADDING 12
#define EDNS_OPT_EDE	15
#define EDNS_DO		0x8000

/* ---- names ---- */

/*
 * Reads a possibly compressed name at *POS of the message PKT/LEN into OUT
 * (at least WIRE_NAME_MAX bytes), uncompressed, case preserved.  Compression
 * pointers must point strictly backwards (this rejects loops and forward
 * pointers); at most 127 pointers are followed.  On success *POS is advanced
 * past the name as it stands in the message and the name's length is
 * returned; on error -1 is returned and *POS is unchanged.
 */
int wire_name_read(const uint8_t *pkt, size_t len, size_t *pos, uint8_t *out);

/* wire_name_read() without the copy: checks the name at *POS and moves *POS
 * past it (0), or leaves it (-1). */
int wire_name_skip(const uint8_t *pkt, size_t len, size_t *pos);

/* Length of the uncompressed name NAME (validated: labels <= 63, total
 * <= 255, ends with root within MAX bytes), or -1. */
int wire_name_len(const uint8_t *name, size_t max);

/* Copies NAME (of LEN octets) to OUT lower-cased (ASCII only). OUT may equal NAME. */
void wire_name_lower(uint8_t *out, const uint8_t *name, size_t len);

/* True when the names are equal, ASCII case-insensitively. */
bool wire_name_equal(const uint8_t *a, const uint8_t *b);

/* True when NAME is ZONE or below it (case-insensitive). */
bool wire_name_under(const uint8_t *name, const uint8_t *zone);

/* Number of labels, not counting the root. */
int wire_name_labels(const uint8_t *name);

/* Pointer to the parent name (the name without its first label) inside NAME;
 * NULL for the root. */
const uint8_t *wire_name_parent(const uint8_t *name);

/*
 * Converts presentation form ("a.b.c", "a.b.c.", escapes "\." and "\DDD"
 * allowed; "." or "" is the root) to wire form in OUT (WIRE_NAME_MAX bytes).
 * Returns the wire length, or -1 with a reason in *ERR (a static string:
 * "empty label", "label longer than 63 octets", "name longer than 255 octets",
 * "bad escape").  The name is taken as absolute.
 */
int wire_name_from_str(const char *s, uint8_t *out, const char **err);

/*
 * Writes the presentation form of NAME into BUF (BUFLEN), with a trailing
 * dot, escaping '.', '\\', '"', ';', '(', ')', '$', '@' and non-printable
 * octets as \DDD.  Returns the string length or -1 when BUF is too small.
 * 1024 bytes always suffice.
 */
int wire_name_to_str(const uint8_t *name, char *buf, size_t buflen);

/* ---- header and question ---- */

struct wire_hdr {
	uint16_t id, flags, qdcount, ancount, nscount, arcount;
};

/* Reads the 12-byte header; -1 when LEN < 12. */
int wire_hdr_read(const uint8_t *pkt, size_t len, struct wire_hdr *h);

/* What a query's EDNS said. */
struct wire_edns {
	bool present;
	uint16_t udp_size;	/* as advertised (not clamped) */
	uint8_t ext_rcode, version;
	uint16_t flags;		/* DO bit is EDNS_DO */
	const uint8_t *cookie;	/* client cookie option data inside the packet, or NULL */
	uint16_t cookie_len;
};

struct wire_query {
	struct wire_hdr hdr;
	int qname_len;
	uint16_t qtype, qclass;
	size_t question_end;		/* offset just after the question */
	struct wire_edns edns;
	/* The COOKIE option data to answer with (the client cookie and our
	 * server cookie), set by the server after parsing; 0: none. */
	uint8_t cookie_reply_len;
	uint8_t cookie_reply[24];
	/* Last: wire_query_parse() clears what is above, not these 510
	 * octets, of which only the name's own count. */
	uint8_t qname[WIRE_NAME_MAX];	/* as received: case preserved */
	uint8_t lname[WIRE_NAME_MAX];	/* lower-cased copy, the lookup key */
};

enum wire_verdict {
	WIRE_OK,		/* a well-formed query: answer it */
	WIRE_DROP,		/* do not answer (too short for a header, QR set) */
	WIRE_FORMERR,		/* answer FORMERR */
	WIRE_NOTIMP,		/* answer NOTIMP (opcode other than QUERY) */
	WIRE_BADVERS,		/* answer BADVERS (EDNS version != 0) */
	WIRE_COOKIE		/* no question, a COOKIE option: a query for a
				   server cookie (RFC 7873 5.4) */
};

/*
 * Parses and checks a query received from a client:
 *  - < 12 octets or QR set: WIRE_DROP;
 *  - opcode != QUERY: WIRE_NOTIMP (q->hdr filled; the question is parsed
 *    when present so the reply can echo it);
 *  - qdcount != 1, ancount != 0, nscount != 0, a bad name, a
 *    truncated question, class 0, NONE or ANY, more than one OPT, an OPT not in the
 *    additional section or not owned by the root, trailing garbage:
 *    WIRE_FORMERR;
 *  - an OPT with version != 0: WIRE_BADVERS;
 *  - no question but a COOKIE option (and nothing else wrong): WIRE_COOKIE.
 * q->question_end tells whether the question was parsed (non-zero).
 */
enum wire_verdict wire_query_parse(const uint8_t *pkt, size_t len,
    struct wire_query *q);

/*
 * Finds the OPT RR in the additional section of any message PKT/LEN (a
 * transfer request, a NOTIFY), whatever else is wrong with it: 0 with E
 * filled, or -1 (E cleared) when there is none or it cannot be reached.
 */
int wire_msg_edns(const uint8_t *pkt, size_t len, struct wire_edns *e);

/* ---- resource records (reading responses) ---- */

struct wire_rr {
	uint8_t owner[WIRE_NAME_MAX];	/* uncompressed, case preserved */
	int owner_len;
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdata_off;		/* offset of the RDATA in the message */
};

/* Reads one RR at *POS; advances *POS past it.  -1 on any malformation
 * (including RDATA running past LEN). */
int wire_rr_read(const uint8_t *pkt, size_t len, size_t *pos, struct wire_rr *rr);

/* ---- walking a message ----
 *
 * One walk over a message's sections, for every reader that looks past the
 * question (the OPT, a TSIG, a response's records).  Nothing is copied: an
 * RR is reported by where it lies, its owner checked but left compressed
 * (wire_iter_owner() expands it).  A malformed part (a bad name, a record
 * or question cut short, RDATA past the end, counts larger than what the
 * message holds) ends the walk: that call and every later one return -1.
 *
 *	struct wire_iter it;
 *	struct wire_iter_rr rr;
 *	int r;
 *
 *	if (wire_iter_init(&it, pkt, len) == -1)
 *		return -1;			(shorter than a header)
 *	while ((r = wire_iter_next(&it, &rr)) == 1)
 *		... rr.type, rr.section, pkt + rr.rdata_off ...
 *	if (r == -1 || !wire_iter_end(&it))
 *		... malformed, or trailing octets ...
 */

enum wire_section {
	WIRE_SEC_QUESTION, WIRE_SEC_ANSWER, WIRE_SEC_AUTHORITY, WIRE_SEC_ADDITIONAL
};

struct wire_iter {
	const uint8_t *pkt;
	size_t len;
	size_t pos;		/* where the next question or RR starts */
	struct wire_hdr hdr;
	unsigned qleft;		/* questions not yet read */
	unsigned next, nrr;	/* index of the next RR; RRs in all (AN+NS+AR) */
	bool bad;		/* a malformed part was met: nothing more is read */
};

/* A question as it lies in the message. */
struct wire_iter_q {
	size_t off;		/* its name */
	int name_len;		/* the name's uncompressed length (0 when it
				   was not asked for) */
	uint16_t qtype, qclass;
};

/* An RR as it lies in the message. */
struct wire_iter_rr {
	size_t off;		/* where it starts: its owner name (maybe compressed) */
	size_t end;		/* just past its RDATA: where the next one starts */
	uint16_t type, rclass;
	uint32_t ttl;
	size_t rdata_off;	/* the RDATA, RDLEN octets, inside the message */
	uint16_t rdlen;
	enum wire_section section;
	unsigned index;		/* its place among the message's RRs, from 0 */
};

/* Starts a walk over PKT/LEN (the caller's, kept until the walk ends): IT's
 * hdr holds the header.  -1 when LEN is shorter than a header. */
int wire_iter_init(struct wire_iter *it, const uint8_t *pkt, size_t len);

/*
 * The next question: 1 with Q filled (and NAME, when not NULL, the name
 * uncompressed, case preserved, WIRE_NAME_MAX octets of room), 0 when
 * every question has been read, -1 for a malformed one.
 */
int wire_iter_question(struct wire_iter *it, struct wire_iter_q *q, uint8_t *name);

/* The next RR of the answer, authority or additional section (questions
 * not read yet are checked and passed): 1 with RR filled, 0 after the
 * last, -1 for a malformed one. */
int wire_iter_next(struct wire_iter *it, struct wire_iter_rr *rr);

/* wire_iter_next(), with the RR's owner expanded into OWNER
 * (WIRE_NAME_MAX octets) and its length in *OWNER_LEN, for a caller that
 * keeps every owner: the name is walked once, not once to check and
 * again to expand. */
int wire_iter_next_owner(struct wire_iter *it, struct wire_iter_rr *rr,
    uint8_t *owner, int *owner_len);

/* wire_iter_next() until an RR of TYPE: 1 (RR is it), 0 none left, -1. */
int wire_iter_find(struct wire_iter *it, uint16_t type, struct wire_iter_rr *rr);

/* True when every question and RR was read well and nothing follows them. */
bool wire_iter_end(const struct wire_iter *it);

/* Writes RR's owner, uncompressed and case preserved, to OUT
 * (WIRE_NAME_MAX octets); returns its length. */
int wire_iter_owner(const struct wire_iter *it, const struct wire_iter_rr *rr,
    uint8_t *out);

/* True when RR's owner is the root (a pointer to the root included). */
bool wire_iter_owner_root(const struct wire_iter *it, const struct wire_iter_rr *rr);

/* Fills a struct wire_rr (for wire_rdata_expand() and the like) from RR:
 * 0, or -1 (not an RR of IT's message). */
int wire_iter_rr_read(const struct wire_iter *it, const struct wire_iter_rr *rr,
    struct wire_rr *out);

/* What the walk saw of OPT RRs (RFC 6891 6.1.1). */
struct wire_opt {
	bool found;		/* RR is the OPT: the first one in the additional
				   section owned by the root */
	bool bad;		/* an OPT RR that may not be: outside the additional
				   section, a second one, or not owned by the root */
	bool complete;		/* the walk reached the end: every RR read well
				   and nothing after them */
	struct wire_iter_rr rr;	/* where the OPT lies (for code that edits it) */
};

/* Walks the rest of IT's message (from wire_iter_init(), or after the
 * question) for its OPT RR into O.  What was found before a malformed
 * part stays found: O->complete tells. */
void wire_iter_opt(struct wire_iter *it, struct wire_opt *o);

/*
 * Copies RR's RDATA into OUT (capacity OUTMAX) with any compressed names
 * expanded: for NS, CNAME, PTR, DNAME, MX, SOA, SRV, RP, AFSDB, RT, KX, PX,
 * NAPTR (whose RFCs allowed compression or whose peers used it) the embedded
 * names are decompressed; other types are copied verbatim (RFC 3597).
 * Returns the new RDATA length or -1 on malformed RDATA / no room.
 */
int wire_rdata_expand(const uint8_t *pkt, size_t len, const struct wire_rr *rr,
    uint8_t *out, size_t outmax);

/* ---- writing ---- */

#define WIRE_COMP_MAX	128
#define WIRE_PTR_MAXOFF	0x3fff	/* the furthest a compression pointer reaches */

/*
 * A message being written into caller memory.  Names written with
 * compression are remembered so that later names can point at them.  Any
 * write that does not fit sets OVERFLOW and writes nothing more; callers check
 * once at the end, or use marks to roll back a section that did not fit.
 * The writers assert() what must hold of the fields (LEN within CAP, the
 * targets within LEN, LAZY inside the message): code that sets them by
 * hand keeps to that, or stops the program unless built with NDEBUG.
 */
struct wire_buf {
	uint8_t *data;
	size_t cap, len;
	bool overflow;
	uint16_t comp[WIRE_COMP_MAX];	/* offsets of names written, usable as pointer targets */
	uint8_t compn[WIRE_COMP_MAX];	/* labels of each (root excluded) */
	int ncomp;
	uint16_t lazy;			/* a question written but not yet among
					   the targets (wire_put_reply_head), or 0 */
};

struct wire_mark {
	size_t len;
	int ncomp;
	uint16_t lazy;
};

void wire_buf_init(struct wire_buf *b, uint8_t *mem, size_t cap);
struct wire_mark wire_buf_mark(const struct wire_buf *b);
void wire_buf_rollback(struct wire_buf *b, struct wire_mark m);

void wire_put_u8(struct wire_buf *b, uint8_t v);
void wire_put_u16(struct wire_buf *b, uint16_t v);
void wire_put_u32(struct wire_buf *b, uint32_t v);
void wire_put_bytes(struct wire_buf *b, const void *p, size_t n);
/* Writes a 16-/32-bit big-endian value at P (caller checked bounds). */
static inline void
wire_write_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
wire_write_u32(uint8_t *p, uint32_t v)
{
	wire_write_u16(p, (uint16_t)(v >> 16));
	wire_write_u16(p + 2, (uint16_t)v);
}

/* Overwrites a 16-bit value at OFF (already written). */
static inline void
wire_set_u16(struct wire_buf *b, size_t off, uint16_t v)
{
	/* A spot lost to an overflow is not written: the caller rolls back. */
	if (off > b->len || b->len - off < 2)
		return;
	wire_write_u16(b->data + off, v);
}

void wire_put_hdr(struct wire_buf *b, const struct wire_hdr *h);

/* Writes NAME (uncompressed wire); when COMPRESS, points at the longest
 * suffix already written (matched case-insensitively) and records the new
 * suffixes as targets.  Writing with COMPRESS false still records targets. */
void wire_put_name(struct wire_buf *b, const uint8_t *name, bool compress);

/*
 * Starts a reply in an empty B: a header with ID and QDCOUNT 1 (the flags
 * and other counts 0, for wire_set_u16() later), then the question QNAME
 * (QLEN octets, uncompressed), QTYPE and QCLASS.  QNAME's labels become
 * pointer targets only when the next wire_put_name() comes: most replies
 * never compress against their question, and the ones whose RRs are owned
 * by it point at it with wire_put_rr_at().
 */
void wire_put_reply_head(struct wire_buf *b, uint16_t id, const uint8_t *qname,
    size_t qlen, uint16_t qtype, uint16_t qclass);

/* Writes a whole RR: owner (compressed), type, class, ttl, rdlen, rdata verbatim. */
void wire_put_rr(struct wire_buf *b, const uint8_t *owner, uint16_t type,
    uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);
/* wire_put_rr() whose owner is a pointer to the name written whole at OWNER
 * (at most WIRE_PTR_MAXOFF); the RR adds no targets. */
void wire_put_rr_at(struct wire_buf *b, uint16_t owner, uint16_t type,
    uint16_t rclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);

/*
 * Writes an OPT RR for our side of the hop: payload size UDP_SIZE, extended
 * rcode bits from EXT_RCODE (the upper 8 bits of a 12-bit rcode), version 0,
 * the DO bit when DO, and an Extended DNS Error option when EDE >= 0
 * (INFO_CODE = EDE, no extra text).
 */
void wire_put_opt(struct wire_buf *b, uint16_t udp_size, uint8_t ext_rcode,
    bool do_bit, int ede);

/*
 * Writes the OPT RR of a reply to Q (which had one): payload 1232, EXT_RCODE,
 * Q's DO bit, an EDE option when EDE >= 0, then Q's cookie_reply when set.
 * wire_reply_opt_len() is its length without the EDE (6 octets more).
 */
void wire_put_reply_opt(struct wire_buf *b, const struct wire_query *q,
    uint8_t ext_rcode, int ede);
size_t wire_reply_opt_len(const struct wire_query *q);

/* Increments the 16-bit count at header offset OFF (4 qd, 6 an, 8 ns, 10 ar). */
void wire_count_inc(struct wire_buf *b, size_t off);

#define WIRE_OFF_QD	4
#define WIRE_OFF_AN	6
#define WIRE_OFF_NS	8
#define WIRE_OFF_AR	10

/*
 * Builds a complete error reply to query Q (parsed, maybe partially) in B:
 * ID and opcode copied, QR set, RD copied but for NOTIMP, RA set for
 * SERVFAIL alone (as BIND 9.18 answers), the question echoed when it
 * was parsed, an OPT when the query had one (BADVERS uses the extended rcode).
 * EDE >= 0 adds an Extended DNS Error option.
 */
void wire_error_reply(struct wire_buf *b, const struct wire_query *q,
    int rcode, int ede);

/*
 * Adds an Extended DNS Error option (RFC 8914) with INFO_CODE to the OPT RR
 * that ends the message MSG/LEN (capacity CAP).  Returns the new length, or
 * LEN unchanged when the message does not end with an OPT or has no room.
 */
size_t wire_add_ede(uint8_t *msg, size_t len, size_t cap, uint16_t info_code);

/* Reads a 16-/32-bit big-endian value (caller checked bounds). */
static inline uint16_t wire_get_u16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t wire_get_u32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

#endif
