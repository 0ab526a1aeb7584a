/* answer: local, synthesized and spliced replies, written straight to wire. */
#include <string.h>

#include "engine/answer.h"
#include "engine/cache.h"
#include "data/config.h"

const char *const answer_path_names[PATH_COUNT] = {
	"local", "synthesized", "spliced", "upstream", "cache", "refused", "error"
};

/* Our OPT RR (wire_reply_opt_len(): 11 octets, and the client's cookie
 * when it sent one).  An EDE option (6 more octets) gets room only when one
 * is added: a reply that fits with the plain OPT is never truncated for an
 * option it does not carry. */
#define OPT_RESERVE(q)	((q)->edns.present ? wire_reply_opt_len(q) : 0)
#define EDE_LEN		6
#define QUESTION_OFF	WIRE_HDR_LEN

/* A reply under construction. */
struct ab {
	const struct snapshot *s;
	const struct wire_query *q;
	struct wire_buf b;
	size_t limit;		/* what the client accepts */
	struct wire_mark after_q; /* just after the question */
	uint16_t an, ns, ar;
	int rcode;
	bool aa, synth, overflow;
	int chain;		/* CNAME hops written */
	uint8_t seen[ANSWER_MAX_CHAIN + 1][WIRE_NAME_MAX]; /* names visited, for loops */
	const struct szone *miss;	/* a zone lacked a name of the chain */
};

/* Outcome of following a name through local data. */
enum lres {
	LRES_DONE,		/* answered (positive or negative) */
	LRES_EXTERNAL,		/* the name is not local: continue elsewhere */
	LRES_TWIN_NODATA,	/* public twin name whose privatelink twin has no data */
	LRES_FALLBACK,		/* missing in a zone with missing = fallback */
	LRES_SERVFAIL,		/* loop or chain too long */
	LRES_ON			/* within local_resolve(): follow on */
};

size_t
answer_udp_limit(const struct wire_query *q)
{
	size_t l;

	if (!q->edns.present)
		return 512;
	l = q->edns.udp_size < 512 ? 512 : q->edns.udp_size;
	return l > 1232 ? 1232 : l;
}

static void
ab_begin(struct ab *ab, const struct snapshot *s, const struct wire_query *q,
    uint8_t *out, size_t cap, size_t limit)
{
	ab->s = s;
	ab->q = q;
	ab->limit = limit < cap ? limit : cap;
	ab->an = ab->ns = ab->ar = 0;
	ab->rcode = RCODE_NOERROR;
	ab->aa = ab->synth = ab->overflow = false;
	ab->chain = 0;
	ab->miss = NULL;
	/* Sections are written against a limit that leaves room for our OPT,
	 * so a reply that fits never loses its OPT. */
	wire_buf_init(&ab->b, out, ab->limit - OPT_RESERVE(q));
	wire_put_reply_head(&ab->b, q->hdr.id, q->qname, (size_t)q->qname_len,
	    q->qtype, q->qclass);
	ab->after_q = wire_buf_mark(&ab->b);
}

/*
 * Writes an RR owned by OWNER: a pointer to AT where that name lies whole
 * in the reply already (0: unknown, compressed as usual).  Returns where
 * the RDATA went, if a pointer can reach it (0 otherwise).
 */
static uint16_t
ab_rr(struct ab *ab, int section, const uint8_t *owner, uint16_t at,
    uint16_t type, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	if (ab->overflow)
		return 0;
	if (at != 0)
		wire_put_rr_at(&ab->b, at, type, CLASS_IN, ttl, rdata, rdlen);
	else
		wire_put_rr(&ab->b, owner, type, CLASS_IN, ttl, rdata, rdlen);
	if (ab->b.overflow) {
		ab->overflow = true;
		return 0;
	}
	if (section == 1)
		ab->an++;
	else if (section == 2)
		ab->ns++;
	else
		ab->ar++;
	return ab->b.len - rdlen <= WIRE_PTR_MAXOFF ? (uint16_t)(ab->b.len - rdlen) : 0;
}

static void
ab_rrset(struct ab *ab, int section, const uint8_t *owner, uint16_t at,
    const struct rrset *rs)
{
	const uint8_t *p = rs->data, *end = rs->data + rs->datalen;

	while (p + 2 <= end) {
		uint16_t l = wire_get_u16(p);
		ab_rr(ab, section, owner, at, rs->type, rs->ttl, p + 2, l);
		p += 2 + l;
	}
}

/* The SOA of Z in the authority section, TTL per RFC 2308 section 3. */
static void
ab_soa(struct ab *ab, const struct szone *z)
{
	const struct rrset *soa = szone_soa(z);
	uint32_t ttl, min;

	if (soa == NULL || soa->datalen < 2 + 22)
		return;
	min = wire_get_u32(soa->data + soa->datalen - 4);
	ttl = soa->ttl < min ? soa->ttl : min;
	ab_rr(ab, 2, szone_apex(z), 0, TYPE_SOA, ttl, soa->data + 2,
	    wire_get_u16(soa->data));
}

static void
ab_finish(struct ab *ab, uint16_t extra_flags, int ede, struct answer_info *info)
{
	const struct wire_query *q = ab->q;
	uint16_t flags = WIRE_QR | WIRE_RA | (q->hdr.flags & (WIRE_RD | WIRE_CD)) | extra_flags;

	if (ab->overflow || ab->b.overflow) {
		/* RFC 2181 9: never a partial RRset; the client retries over TCP. */
		wire_buf_rollback(&ab->b, ab->after_q);
		ab->b.overflow = false;
		ab->an = ab->ns = ab->ar = 0;
		flags |= WIRE_TC;
		info->truncated = true;
	}
	if (ab->aa)
		flags |= WIRE_AA;
	flags |= (uint16_t)(ab->rcode & 0xf);
	wire_set_u16(&ab->b, 2, flags);
	wire_set_u16(&ab->b, WIRE_OFF_AN, ab->an);
	wire_set_u16(&ab->b, WIRE_OFF_NS, ab->ns);
	info->len_noopt = ab->b.len;
	info->ar_noopt = ab->ar;
	if (q->edns.present) {
		ab->b.cap = ab->limit;
		/* An EDE that does not fit is left out, never the OPT. */
		if (ede >= 0 && ab->b.cap - ab->b.len < OPT_RESERVE(q) + EDE_LEN)
			ede = -1;
		wire_put_reply_opt(&ab->b, q, (uint8_t)(ab->rcode >> 4), ede);
		wire_set_u16(&ab->b, WIRE_OFF_AR, (uint16_t)(ab->ar + 1));
	} else
		wire_set_u16(&ab->b, WIRE_OFF_AR, ab->ar);
	info->rcode = ab->rcode;
	info->len = ab->b.len;
}

static bool
ab_seen(struct ab *ab, const uint8_t *name)
{
	for (int i = 0; i < ab->chain && i <= ANSWER_MAX_CHAIN; i++)
		if (wire_name_equal(ab->seen[i], name))
			return true;
	return false;
}

/* Records a CNAME hop from FROM (LEN octets) to TARGET; false on a loop
 * or a chain too long. */
static bool
ab_hop(struct ab *ab, const uint8_t *from, size_t len, const uint8_t *target)
{
	if (ab->chain >= ANSWER_MAX_CHAIN)
		return false;
	memcpy(ab->seen[ab->chain], from, len);
	ab->chain++;
	return !ab_seen(ab, target) && !wire_name_equal(from, target);
}

/* The wildcard node that synthesizes NAME in Z (RFC 4592), or NULL. */
static const struct node *
find_wildcard(const struct szone *z, const uint8_t *name)
{
	const uint8_t *ce = wire_name_parent(name);
	uint8_t wild[WIRE_NAME_MAX];
	int l;

	/* The closest encloser is the nearest existing ancestor; empty
	 * non-terminals exist as nodes, so this is a plain walk up. */
	while (ce != NULL && szone_node(z, ce) == NULL)
		ce = wire_name_parent(ce);
	if (ce == NULL || (l = wire_name_len(ce, WIRE_NAME_MAX)) < 0 || l + 2 > WIRE_NAME_MAX)
		return NULL;
	wild[0] = 1;
	wild[1] = '*';
	memcpy(wild + 2, ce, (size_t)l);
	return szone_node(z, wild);
}

/*
 * The node of the DNAME that NAME (strictly) lies below in Z, or NULL.  The
 * one nearest the apex wins: what lies below a DNAME is occluded (RFC 6672
 * 2.3).  Names below a DNAME have no node of their own, so the walk goes up
 * through the closest encloser to the apex; zones without a DNAME skip it.
 */
static const struct node *
find_dname(const struct szone *z, const uint8_t *name)
{
	const uint8_t *apex = szone_apex(z);
	const struct node *found = NULL, *n;

	if (!szone_has_dname(z))
		return NULL;
	for (const uint8_t *p = wire_name_parent(name);
	    p != NULL && wire_name_under(p, apex); p = wire_name_parent(p))
		if ((n = szone_node(z, p)) != NULL && node_rrset(n, TYPE_DNAME) != NULL)
			found = n;
	return found;
}

static int dname_subst(const uint8_t *name, const uint8_t *owner,
    const uint8_t *target, uint8_t *out);

/*
 * NAME (LEN octets, lower-case) lies below the DNAME at DN: writes the DNAME
 * and the CNAME it synthesizes (RFC 6672 3.1, with the DNAME's TTL), owned by
 * NAME at AT; the substituted name goes to OUT (lower-case) and *OUT_AT is
 * where it lies whole in the reply.  Returns its length, 0 when the
 * substitution is too long (YXDOMAIN set, RFC 6672 2.2), or -1 for bad data.
 */
static int
ab_dname(struct ab *ab, const struct node *dn, const uint8_t *name, uint16_t at,
    uint8_t *out, uint16_t *out_at)
{
	const struct rrset *rs = node_rrset(dn, TYPE_DNAME);
	int tl = wire_name_len(rs->data + 2, wire_get_u16(rs->data)), nl;

	if (tl < 0)
		return -1;
	ab->aa = !ab->synth;
	ab_rr(ab, 1, dn->owner, 0, TYPE_DNAME, rs->ttl, rs->data + 2, (uint16_t)tl);
	if ((nl = dname_subst(name, dn->owner, rs->data + 2, out)) < 0) {
		ab->rcode = RCODE_YXDOMAIN;
		return 0;
	}
	/* In the client's case where NAME is the question. */
	if (at == QUESTION_OFF)
		memcpy(out, ab->q->qname, (size_t)(ab->q->qname_len -
		    wire_name_len(dn->owner, WIRE_NAME_MAX)));
	*out_at = ab_rr(ab, 1, name, at, TYPE_CNAME, rs->ttl, out, (uint16_t)nl);
	wire_name_lower(out, out, (size_t)nl);
	return nl;
}

/* A name being followed through local data by local_resolve(). */
struct lwalk {
	const uint8_t *cur;		/* the name followed: NAME, then in BUF */
	size_t clen;
	uint16_t at;			/* where CUR lies whole in the reply (0:
					 * unknown) */
	const struct szone *z;		/* CUR's zone, and its node (NULL: none) */
	const struct node *n;
	uint8_t buf[WIRE_NAME_MAX], pl[WIRE_NAME_MAX];
};

/*
 * The follow step of local data's three ways on (a public twin's CNAME to
 * its privatelink name, a DNAME, a CNAME): a hop from CUR to TARGET (LEN
 * octets, lower-case), then CUR is TARGET.  LRES_SERVFAIL on a loop or a
 * chain too long, else LRES_ON.
 */
static enum lres
lw_follow(struct ab *ab, struct lwalk *w, const uint8_t *target, size_t len)
{
	if (!ab_hop(ab, w->cur, w->clen, target))
		return LRES_SERVFAIL;
	memcpy(w->buf, target, len);
	w->cur = w->buf;
	w->clen = len;
	return LRES_ON;
}

/*
 * Finds CUR's zone and node.  ROUTE, if not NULL, is where CUR was routed
 * already (used once).  A public name whose privatelink twin has data is
 * written as what Azure's public DNS says, a CNAME to the privatelink name,
 * and CUR moves there.  LRES_ON with Z set (N may be NULL), or how local
 * data ended (NEXT holds CUR when it is not local).
 */
static enum lres
lw_find(struct ab *ab, struct lwalk *w, const struct answer_route **route,
    uint8_t *next)
{
	const struct config *cfg = snapshot_config(ab->s);
	uint16_t qtype = ab->q->qtype;
	const uint8_t *plp = w->pl;
	size_t pllen = 0;
	bool twin;
	uint64_t h;
	enum lres r;

	if (*route != NULL) {
		w->z = (*route)->z;
		twin = (*route)->twin;
		h = (*route)->h;
		plp = (*route)->pl;
		pllen = (*route)->pllen;
		*route = NULL;
	} else
		w->z = snapshot_route_h(ab->s, w->cur, w->clen, w->pl, &pllen,
		    &twin, &h);
	if (w->z == NULL) {
		memcpy(next, w->cur, w->clen);
		return LRES_EXTERNAL;
	}
	if (!twin) {
		if ((w->n = szone_node_h(w->z, w->cur, w->clen, h)) == NULL)
			w->n = find_wildcard(w->z, w->cur);
		return LRES_ON;
	}
	/* The privatelink twin's own data (or its wildcard); an empty
	 * non-terminal has none. */
	if ((w->n = szone_node_h(w->z, plp, pllen, h)) == NULL)
		w->n = find_wildcard(w->z, plp);
	if (w->n == NULL || w->n->nrrsets == 0) {
		memcpy(next, w->cur, w->clen);
		return LRES_TWIN_NODATA;
	}
	/* What Azure's public DNS says, without asking it. */
	w->at = ab_rr(ab, 1, w->cur, w->at, TYPE_CNAME, cfg->record_ttl, plp,
	    (uint16_t)pllen);
	ab->synth = true;
	/* PL lies in Z and its node is known: no second walk. */
	if ((r = lw_follow(ab, w, plp, pllen)) != LRES_ON)
		return r;
	if (qtype == TYPE_CNAME || qtype == TYPE_ANY)
		return LRES_DONE;
	return LRES_ON;
}

/* CUR lies below the DNAME at DN: its CNAME is written, CUR moves on. */
static enum lres
lw_dname(struct ab *ab, struct lwalk *w, const struct node *dn)
{
	uint16_t qtype = ab->q->qtype;
	uint8_t target[WIRE_NAME_MAX];
	int tl = ab_dname(ab, dn, w->cur, w->at, target, &w->at);

	if (tl < 0)
		return LRES_SERVFAIL;
	if (tl == 0 || qtype == TYPE_CNAME || qtype == TYPE_ANY)
		return LRES_DONE;
	return lw_follow(ab, w, target, (size_t)tl);
}

/* CUR has no node in Z: NXDOMAIN, or the public answer under fallback. */
static enum lres
lw_miss(struct ab *ab, struct lwalk *w, uint8_t *next)
{
	ab->miss = w->z;
	if (szone_missing(w->z) == MISSING_FALLBACK) {
		memcpy(next, w->cur, w->clen);
		return LRES_FALLBACK;
	}
	/* RFC 6604: the RCODE speaks of the last name of the chain. */
	ab->rcode = RCODE_NXDOMAIN;
	ab->aa = !ab->synth;
	ab_soa(ab, w->z);
	return LRES_DONE;
}

/* CUR's node answers: its CNAME (followed), or the RRset asked for. */
static enum lres
lw_node(struct ab *ab, struct lwalk *w)
{
	uint16_t qtype = ab->q->qtype;
	const struct node *n = w->n;
	const struct rrset *rs = node_rrset(n, TYPE_CNAME);

	ab->aa = !ab->synth;
	if (rs != NULL && qtype != TYPE_CNAME && qtype != TYPE_ANY &&
	    rs->datalen > 2) {
		uint8_t target[WIRE_NAME_MAX];
		int tl = wire_name_len(rs->data + 2, wire_get_u16(rs->data));

		if (tl < 0)
			return LRES_SERVFAIL;
		w->at = ab_rr(ab, 1, w->cur, w->at, TYPE_CNAME, rs->ttl,
		    rs->data + 2, (uint16_t)tl);
		wire_name_lower(target, rs->data + 2, (size_t)tl);
		return lw_follow(ab, w, target, (size_t)tl);
	}
	if (qtype == TYPE_ANY) {
		/* RFC 8482: one RRset is enough and cannot amplify. */
		if (n->nrrsets > 0)
			ab_rrset(ab, 1, w->cur, w->at, &n->rrsets[0]);
		else
			ab_soa(ab, w->z);
		return LRES_DONE;
	}
	if ((rs = node_rrset(n, qtype)) != NULL)
		ab_rrset(ab, 1, w->cur, w->at, rs);
	else
		ab_soa(ab, w->z);	/* NODATA */
	return LRES_DONE;
}

/*
 * Follows NAME (lower-case wire, LEN octets) through local data, writing
 * what it finds.
 * ROUTE, if not NULL, is where NAME was routed already (answer_local does
 * it first, to leave names outside local zones at once).  AT is where NAME
 * lies whole in the reply (0: unknown); RRs owned by it point there, as do
 * those owned by each CNAME target, which lies whole in its RDATA.  On
 * LRES_EXTERNAL / LRES_TWIN_NODATA / LRES_FALLBACK, NEXT holds the name
 * where local data ended (the caller may continue from it).  Never
 * LRES_ON.
 */
static enum lres
local_resolve(struct ab *ab, const uint8_t *name, size_t len, uint16_t at,
    const struct answer_route *route, uint8_t *next)
{
	struct lwalk w;
	enum lres r;

	w.cur = name;
	w.clen = len;
	w.at = at;
	do {
		if ((r = lw_find(ab, &w, &route, next)) != LRES_ON)
			return r;
		const struct node *dn = find_dname(w.z, w.cur);
		if (dn != NULL)
			r = lw_dname(ab, &w, dn);
		else if (w.n == NULL)
			r = lw_miss(ab, &w, next);
		else
			r = lw_node(ab, &w);
	} while (r == LRES_ON);
	return r;
}

void
answer_route(const struct snapshot *s, const struct wire_query *q,
    struct answer_route *rt)
{
	rt->z = snapshot_route_h(s, q->lname, (size_t)q->qname_len, rt->pl,
	    &rt->pllen, &rt->twin, &rt->h);
	rt->guess = NULL;
	if (rt->z != NULL)
		szone_prefetch_slot(rt->z, rt->h);
}

void
answer_fetch_node(struct answer_route *rt)
{
	if (rt->z != NULL)
		rt->guess = szone_node_guess(rt->z, rt->h);
}

void
answer_fetch_owner(const struct answer_route *rt)
{
	/* A lone RRset's data lies right after the owner. */
	if (rt->guess != NULL)
		__builtin_prefetch(rt->guess->owner);
}

enum answer_result
answer_local(const struct snapshot *s, const struct wire_query *q, uint8_t *out,
    size_t cap, size_t limit, struct answer_info *info)
{
	struct answer_route rt;

	answer_route(s, q, &rt);
	return answer_local_routed(s, q, &rt, out, cap, limit, info);
}

enum answer_result
answer_local_routed(const struct snapshot *s, const struct wire_query *q,
    const struct answer_route *rt, uint8_t *out, size_t cap, size_t limit,
    struct answer_info *info)
{
	struct ab ab;
	uint8_t next[WIRE_NAME_MAX];
	enum lres r;

	answer_info_clear(info);
	/* Most forwarded names lie outside every local zone: that is known
	 * before any reply is set up. */
	if (rt->z == NULL) {
		memcpy(info->next, q->lname, (size_t)q->qname_len);
		return ANSWER_FORWARD;
	}
	ab_begin(&ab, s, q, out, cap, limit);
	r = local_resolve(&ab, q->lname, (size_t)q->qname_len, QUESTION_OFF, rt, next);
	if (r != LRES_DONE && r != LRES_SERVFAIL) {
		/*
		 * Not (all) local.  Upstream is asked for NEXT: the name itself,
		 * or the target of a local CNAME that leaves local data (a
		 * resolver's clients expect the whole chain, RFC 1034 3.6.2).
		 * answer_upstream() rebuilds the local part from the data
		 * current when the answer arrives.
		 */
		info->fallback = r == LRES_FALLBACK;
		info->miss_zone = ab.miss;
		memcpy(info->next, next, (size_t)wire_name_len(next, WIRE_NAME_MAX));
		return ANSWER_FORWARD;
	}
	if (r == LRES_SERVFAIL) {
		answer_error(q, RCODE_SERVFAIL, -1, out, cap, info);
		info->path = ab.synth ? PATH_SYNTH : PATH_LOCAL;
		return ANSWER_DONE;
	}
	if (ab.synth)
		ab.aa = false;
	ab_finish(&ab, 0, -1, info);
	info->path = ab.synth ? PATH_SYNTH : PATH_LOCAL;
	info->miss_zone = ab.miss;
	return ANSWER_DONE;
}

size_t
answer_replay_room(const struct wire_query *q, size_t limit)
{
	size_t opt = OPT_RESERVE(q);

	return limit > opt ? limit - opt : 0;
}

bool
answer_keepable(const struct wire_query *q, const struct wire_query *uq,
    bool fallback, const struct answer_info *info, const struct answer_scratch *sc,
    const uint8_t *out, uint64_t gen, struct cache_reply *r)
{
	/* A reply built from follow-ups too would also have to age and go
	 * with their entries. */
	if (info->truncated || info->nparts > 1 ||
	    (info->path != PATH_CACHE && info->path != PATH_UPSTREAM &&
	    info->path != PATH_SPLICED) ||
	    uq->qname_len != q->qname_len ||
	    memcmp(uq->lname, q->lname, (size_t)q->qname_len) != 0 ||
	    info->len_noopt > UINT16_MAX || sc->nttl >= ANSWER_MAX_RRS)
		return false;
	memset(r, 0, sizeof(*r));
	r->gen = gen;
	r->len = (uint16_t)info->len_noopt;
	r->ar = info->ar_noopt;
	r->nttl = (uint16_t)sc->nttl;
	r->rcode = info->rcode;
	r->ad = info->ad_ok;
	r->spliced = info->path == PATH_SPLICED;
	r->fallback = fallback;
	r->miss_zone = info->miss_zone;
	r->ttloff = sc->ttloff;
	r->ttl0 = sc->ttl;
	r->msg = out;
	return true;
}

bool
answer_replay(const struct wire_query *q, const struct cache_reply *r,
    uint32_t age, uint8_t *out, size_t cap, size_t limit, struct answer_info *info)
{
	struct wire_buf b;
	uint16_t flags = WIRE_QR | WIRE_RA | (q->hdr.flags & (WIRE_RD | WIRE_CD)) |
	    (uint16_t)(r->rcode & 0xf);

	if (limit > cap)
		limit = cap;
	/* Fits without cutting, as it did when built: the same bytes. */
	if (r->len > answer_replay_room(q, limit) ||
	    WIRE_HDR_LEN + (size_t)q->qname_len > r->len)
		return false;
	answer_info_clear(info);
	memcpy(out, r->msg, r->len);
	wire_buf_init(&b, out, limit);
	b.len = r->len;
	wire_set_u16(&b, 0, q->hdr.id);
	/* The question in the client's case; names compressed against it
	 * follow, as they would in a reply built for this client. */
	memcpy(out + QUESTION_OFF, q->qname, (size_t)q->qname_len);
	if (r->ad && ((q->edns.flags & EDNS_DO) || (q->hdr.flags & WIRE_AD)))
		flags |= WIRE_AD;
	wire_set_u16(&b, 2, flags);
	for (unsigned i = 0; i < r->nttl; i++) {
		uint32_t t = r->ttl0[i] > age ? r->ttl0[i] - age : 0;
		out[r->ttloff[i]] = (uint8_t)(t >> 24);
		out[r->ttloff[i] + 1] = (uint8_t)(t >> 16);
		out[r->ttloff[i] + 2] = (uint8_t)(t >> 8);
		out[r->ttloff[i] + 3] = (uint8_t)t;
	}
	if (q->edns.present) {
		wire_put_reply_opt(&b, q, (uint8_t)(r->rcode >> 4), -1);
		wire_set_u16(&b, WIRE_OFF_AR, (uint16_t)(r->ar + 1));
	} else
		wire_set_u16(&b, WIRE_OFF_AR, r->ar);
	info->rcode = r->rcode;
	info->len = b.len;
	info->path = r->spliced ? PATH_SPLICED : PATH_CACHE;
	info->miss_zone = r->miss_zone;
	return true;
}

void
answer_error(const struct wire_query *q, int rcode, int ede, uint8_t *out,
    size_t cap, struct answer_info *info)
{
	struct wire_buf b;

	wire_buf_init(&b, out, cap);
	wire_error_reply(&b, q, rcode, ede);
	info->rcode = rcode;
	info->len = b.len;
	info->truncated = false;
}

/*
 * One upstream response, being read: its records in the scratch space, its
 * question, and the route pldns asks that question through (the [forward]
 * rule, NULL for the default upstreams): what the server speaks for.
 */
struct upart {
	const uint8_t *msg;
	size_t len;
	int n;				/* its records, in SC */
	struct wire_hdr h;
	const struct forward_conf *fw;
	uint8_t qname[WIRE_NAME_MAX];	/* lower-case */
};

/* The scratch space numbers sections as the iterator does. */
_Static_assert(WIRE_SEC_ANSWER == 1 && WIRE_SEC_AUTHORITY == 2 &&
    WIRE_SEC_ADDITIONAL == 3, "answer_scratch.section is a wire_section");

/* Reads every RR of PART into SC, and its question; 0, or -1 when it is
 * malformed or has more than ANSWER_MAX_RRS records. */
static int
part_read(const struct snapshot *s, const struct answer_part *part,
    struct answer_scratch *sc, struct upart *up)
{
	struct wire_iter it;
	struct wire_iter_q q;
	struct wire_iter_rr rr;
	uint8_t tmp[WIRE_NAME_MAX];
	int n = 0, r;

	up->msg = part->msg;
	up->len = part->len;
	up->qname[0] = 0;
	if (wire_iter_init(&it, part->msg, part->len) == -1)
		return -1;
	up->h = it.hdr;
	/* The first question names the response; the walk checks the rest. */
	if ((r = wire_iter_question(&it, &q, tmp)) == -1)
		return -1;
	if (r == 1)
		wire_name_lower(up->qname, tmp, (size_t)q.name_len);
	for (;;) {
		struct wire_rr *w = &sc->rrs[n < ANSWER_MAX_RRS ? n : 0];

		/* The fields as the walk read them, the owner expanded. */
		if ((r = wire_iter_next_owner(&it, &rr, w->owner,
		    &w->owner_len)) != 1)
			break;
		if (n >= ANSWER_MAX_RRS)
			return -1;
		w->type = rr.type;
		w->rclass = rr.rclass;
		w->ttl = rr.ttl;
		w->rdlen = rr.rdlen;
		w->rdata_off = rr.rdata_off;
		sc->section[n] = (int)rr.section;
		sc->used[n] = false;
		n++;
	}
	/*
	 * No wire_iter_end(): octets after the last RR are not looked at,
	 * as they never were here, so a reply with trailing octets is still
	 * answered from (the cache's scan refuses to keep it).
	 */
	if (r == -1)
		return -1;
	up->n = n;
	up->fw = snapshot_forward(s, up->qname);
	return 0;
}

/*
 * Copies upstream RR I into the reply with its names expanded, and its TTL
 * cleaned as the cache cleans it (top bit, max_ttl), so that the first,
 * uncached reply says no more than a cache hit would.  min_ttl stays the
 * cache's: it must not lift the 30 s of a stale answer (RFC 8767).
 */
static void
copy_rr(struct ab *ab, const uint8_t *resp, size_t rlen, struct answer_scratch *sc,
    int i, int section)
{
	const struct config *cfg = snapshot_config(ab->s);
	const struct wire_rr *rr = &sc->rrs[i];
	int l = wire_rdata_expand(resp, rlen, rr, sc->rdata, sizeof(sc->rdata));
	uint32_t ttl = cache_ttl_clean(rr->ttl, 0, cfg->cache_max_ttl);

	if (l < 0 || ab->overflow)
		return;
	ab_rr(ab, section, rr->owner, 0, rr->type, ttl, sc->rdata, (uint16_t)l);
	sc->used[i] = true;
	if (!ab->overflow && sc->nttl < ANSWER_MAX_RRS) {
		/* The TTL sits before RDLENGTH and the RDATA just written. */
		sc->ttloff[sc->nttl] = (uint16_t)(ab->b.len - (size_t)l - 6);
		sc->ttl[sc->nttl++] = ttl;
	}
}

static bool
rrsig_covers(const uint8_t *resp, const struct wire_rr *rr, uint16_t type)
{
	return rr->type == TYPE_RRSIG && rr->rdlen >= 2 &&
	    wire_get_u16(resp + rr->rdata_off) == type;
}

/* DNAME substitution (RFC 6672): NAME below OWNER becomes the same labels below TARGET. */
static int
dname_subst(const uint8_t *name, const uint8_t *owner, const uint8_t *target,
    uint8_t *out)
{
	int nl = wire_name_len(name, WIRE_NAME_MAX);
	int ol = wire_name_len(owner, WIRE_NAME_MAX);
	int tl = wire_name_len(target, WIRE_NAME_MAX);
	int pre = nl - ol;

	if (nl < 0 || ol < 0 || tl < 0 || pre <= 0 || pre + tl > WIRE_NAME_MAX)
		return -1;
	memcpy(out, name, (size_t)pre);
	memcpy(out + pre, target, (size_t)tl);
	return pre + tl;
}

/*
 * True when pldns answers OWNER (any case) from local data: a name in a
 * local zone, or a public name whose privatelink twin has data, the names
 * where a chain is cut.  Upstream data about them is never passed on.
 */
static bool
owner_is_local(const struct snapshot *s, const uint8_t *owner)
{
	uint8_t low[WIRE_NAME_MAX], pl[WIRE_NAME_MAX];
	int l = wire_name_len(owner, WIRE_NAME_MAX);
	const struct szone *z;
	const struct node *n;
	bool twin;

	if (l < 0)
		return true;	/* unreadable: treat as untrusted */
	wire_name_lower(low, owner, (size_t)l);
	if ((z = snapshot_route(s, low, pl, &twin)) == NULL)
		return false;
	if (!twin)
		return true;
	/* As local_resolve() decides whether a twin is answered locally. */
	if ((n = szone_node(z, pl)) == NULL)
		n = find_wildcard(z, pl);
	return n != NULL && n->nrrsets > 0;
}

/*
 * True when UP speaks for NAME (lower-case): pldns routes NAME to the
 * server UP came from, and, when local data (rather than UP's own chain)
 * led to NAME, UP answers NAME or holds records owned by it.
 */
static bool
part_speaks_for(const struct snapshot *s, const struct upart *up,
    const struct answer_scratch *sc, const uint8_t *name, bool from_local)
{
	if (snapshot_forward(s, name) != up->fw)
		return false;
	if (!from_local || wire_name_equal(name, up->qname))
		return true;
	for (int i = 0; i < up->n; i++)
		if (sc->section[i] == 1 && wire_name_equal(sc->rrs[i].owner, name))
			return true;
	return false;
}

/* True when pldns routes OWNER (any case) to the server UP came from. */
static bool
owner_routed_to(const struct snapshot *s, const struct upart *up, const uint8_t *owner)
{
	uint8_t low[WIRE_NAME_MAX];
	int l = wire_name_len(owner, WIRE_NAME_MAX);

	if (l < 0)
		return false;
	wire_name_lower(low, owner, (size_t)l);
	return snapshot_forward(s, low) == up->fw;
}

/*
 * True when an authority or additional RR of UP, which answered a chain
 * that ended at END, may go to the client: not about a name answered
 * locally, and about a name pldns routes to UP's server (or the SOA of a
 * zone above END, which a negative answer carries).
 */
static bool
section_rr_ok(const struct snapshot *s, const struct upart *up, const struct wire_rr *rr,
    const uint8_t *end)
{
	if (rr->type == TYPE_OPT || rr->type == 250 /* TSIG */ ||
	    owner_is_local(s, rr->owner))
		return false;
	return owner_routed_to(s, up, rr->owner) ||
	    (rr->type == TYPE_SOA && wire_name_under(end, rr->owner));
}

/* A chain being walked by answer_upstream(). */
struct walk {
	const struct snapshot *s;
	const struct wire_query *q;
	const struct answer_part *parts;
	int nparts;
	struct answer_scratch *sc;
	struct ab ab;
	struct upart up;		/* PARTS[K], read into SC */
	int k;				/* -1 until a response is read */
	uint8_t cur[WIRE_NAME_MAX];	/* the chain's name now (lower-case) */
	size_t cur_len;
	uint16_t cur_at;		/* where CUR lies whole in the reply (0:
					 * unknown) */
	bool from_local;		/* local data, not the upstream's own
					 * chain, led to CUR */
	bool spliced;			/* the reply holds local data */
	bool local_end;			/* local data ended the chain */
	bool ad;			/* every response read had AD */
};

/* What one step of the walk decided. */
enum step {
	STEP_ON,		/* the chain goes on from CUR */
	STEP_END,		/* the chain ended: the reply is to be finished */
	STEP_MORE,		/* a response for CUR is to be asked for */
	STEP_SERVFAIL		/* malformed, a loop, too long */
};

/*
 * The follow step of the three ways a chain goes on (local data that ends
 * in a name outside it, the upstream's CNAME, the upstream's DNAME): CUR
 * becomes TARGET (LEN octets), whose place in the reply is unknown.  HOP:
 * count a hop from CUR (local_resolve() counted those of local data).
 */
static enum step
walk_follow(struct walk *w, const uint8_t *target, size_t len, bool hop)
{
	uint8_t low[WIRE_NAME_MAX];

	wire_name_lower(low, target, len);
	if (hop && !ab_hop(&w->ab, w->cur, w->cur_len, low))
		return STEP_SERVFAIL;
	w->cur_len = len;
	memcpy(w->cur, low, len);
	w->cur_at = 0;
	return STEP_ON;
}

/*
 * The chain reached CUR.  A name with local data (a public name whose twin
 * is local included, whatever the upstream's chain goes on to) cuts it:
 * finished as a direct query of CUR would be, or, where local data ends
 * in a name outside it, followed on from there.
 */
static enum step
walk_local(struct walk *w)
{
	struct ab *ab = &w->ab;
	uint8_t pl[WIRE_NAME_MAX], next[WIRE_NAME_MAX];
	bool twin;
	const struct szone *z = snapshot_route(w->s, w->cur, pl, &twin);
	int rc = ab->rcode;
	uint16_t an = ab->an;
	enum lres r;
	size_t nl;

	if (z == NULL)
		return STEP_ON;
	ab->rcode = RCODE_NOERROR;
	r = local_resolve(ab, w->cur, w->cur_len, w->cur_at, NULL, next);
	if (r == LRES_DONE) {
		w->spliced = w->local_end = true;
		return STEP_END;
	}
	if (r == LRES_SERVFAIL)
		return STEP_SERVFAIL;
	/*
	 * Local data ended at NEXT: a CNAME out of local data, a public name
	 * whose twin holds nothing, or a miss that the zone's policy sends
	 * to the public answer.  What the local part wrote stays; upstream
	 * data continues from NEXT.
	 */
	ab->rcode = rc;
	if (ab->an != an)
		w->spliced = true;
	nl = (size_t)wire_name_len(next, WIRE_NAME_MAX);
	w->from_local = nl != w->cur_len || memcmp(next, w->cur, nl) != 0;
	return walk_follow(w, next, nl, false);
}

/*
 * Upstream data for CUR: from the response read, when it speaks for CUR;
 * else from the next one, which must answer CUR; else (STEP_MORE) that
 * response is still to be asked for.
 */
static enum step
walk_part(struct walk *w)
{
	if (w->k >= 0 && part_speaks_for(w->s, &w->up, w->sc, w->cur,
	    w->from_local))
		return STEP_ON;
	if (w->k + 1 >= ANSWER_MAX_PARTS)
		return STEP_SERVFAIL;
	if (w->k + 1 >= w->nparts)
		return STEP_MORE;
	w->k++;
	if (part_read(w->s, &w->parts[w->k], w->sc, &w->up) < 0)
		return STEP_SERVFAIL;
	if (!wire_name_equal(w->up.qname, w->cur)) {
		/* Not for this chain (local data changed since it was
		 * asked): ask again. */
		w->k--;
		return STEP_MORE;
	}
	w->ab.rcode = WIRE_RCODE(w->up.h.flags);
	w->ad = w->ad && (w->up.h.flags & WIRE_AD);
	return STEP_ON;
}

#define COPY_RRS	0x01	/* RRs of the type */
#define COPY_SIGS	0x02	/* RRSIGs covering it */

/* Copies the answer-section RRs owned by CUR, not copied yet, that HOW
 * says of TYPE (TYPE_ANY with COPY_RRS: every one). */
static void
walk_copy(struct walk *w, uint16_t type, unsigned how)
{
	struct answer_scratch *sc = w->sc;
	const uint8_t *resp = w->up.msg;

	for (int i = 0; i < w->up.n; i++) {
		const struct wire_rr *rr = &sc->rrs[i];

		if (sc->section[i] != 1 || sc->used[i] ||
		    !wire_name_equal(rr->owner, w->cur))
			continue;
		if (((how & COPY_RRS) && (type == TYPE_ANY || rr->type == type)) ||
		    ((how & COPY_SIGS) && rrsig_covers(resp, rr, type)))
			copy_rr(&w->ab, resp, w->up.len, sc, i, 1);
	}
}

/*
 * The upstream's CNAME for CUR, or -1; *DNAME: the first DNAME above CUR
 * seen before it, owned by a name routed to that upstream, or -1.
 */
static int
walk_redirect(const struct walk *w, int *dname)
{
	const struct answer_scratch *sc = w->sc;
	uint16_t qtype = w->q->qtype;

	*dname = -1;
	for (int i = 0; i < w->up.n; i++) {
		const struct wire_rr *rr = &sc->rrs[i];

		if (sc->section[i] != 1 || sc->used[i])
			continue;
		if (rr->type == TYPE_CNAME && qtype != TYPE_CNAME &&
		    wire_name_equal(rr->owner, w->cur))
			return i;
		if (rr->type == TYPE_DNAME && qtype != TYPE_DNAME &&
		    !wire_name_equal(rr->owner, w->cur) &&
		    wire_name_under(w->cur, rr->owner) && *dname < 0 &&
		    owner_routed_to(w->s, &w->up, rr->owner))
			*dname = i;
	}
	return -1;
}

/* The RDATA of the response's RR I, its names expanded, in SC->rdata;
 * its length, or -1. */
static int
walk_rdata(struct walk *w, int i)
{
	struct answer_scratch *sc = w->sc;

	return wire_rdata_expand(w->up.msg, w->up.len, &sc->rrs[i], sc->rdata,
	    sizeof(sc->rdata));
}

/* The upstream's DNAME I: copied with the CNAME it synthesizes for CUR
 * (when present), and the chain moves to the substituted name. */
static enum step
walk_dname(struct walk *w, int i)
{
	struct answer_scratch *sc = w->sc;
	const struct wire_rr *rr = &sc->rrs[i];
	int l = walk_rdata(w, i);
	uint8_t target[WIRE_NAME_MAX];
	int tl;

	copy_rr(&w->ab, w->up.msg, w->up.len, sc, i, 1);
	if (l < 0 || (tl = dname_subst(w->cur, rr->owner, sc->rdata,
	    target)) < 0)
		return STEP_SERVFAIL;
	walk_copy(w, TYPE_CNAME, COPY_RRS);
	return walk_follow(w, target, (size_t)tl, true);
}

/* The upstream's CNAME I: copied with its signatures, and the chain moves
 * to its target. */
static enum step
walk_cname(struct walk *w, int i)
{
	struct answer_scratch *sc = w->sc;
	int l = walk_rdata(w, i);
	uint8_t target[WIRE_NAME_MAX];
	int tl = l < 0 ? -1 : wire_name_len(sc->rdata, (size_t)l);

	if (tl < 0)
		return STEP_SERVFAIL;
	memcpy(target, sc->rdata, (size_t)tl);
	copy_rr(&w->ab, w->up.msg, w->up.len, sc, i, 1);
	walk_copy(w, TYPE_CNAME, COPY_SIGS);
	return walk_follow(w, target, (size_t)tl, true);
}

/* One step: local data at CUR, the response that speaks for CUR, and what
 * it says of CUR (a DNAME, a CNAME, or the end: the RRset asked for). */
static enum step
walk_step(struct walk *w)
{
	enum step st;
	int cname, dname;

	w->from_local = false;
	if ((st = walk_local(w)) != STEP_ON || (st = walk_part(w)) != STEP_ON)
		return st;
	cname = walk_redirect(w, &dname);
	if (dname >= 0)
		return walk_dname(w, dname);
	if (cname >= 0)
		return walk_cname(w, cname);
	walk_copy(w, w->q->qtype, COPY_RRS | COPY_SIGS);
	return STEP_END;
}

/* The reply of a chain that ended: the sections of the response that
 * ended it, the flags. */
static void
walk_finish(struct walk *w, struct answer_info *info)
{
	const struct snapshot *s = w->s;
	const struct wire_query *q = w->q;
	struct answer_scratch *sc = w->sc;
	uint16_t extra = 0;

	if (!w->local_end) {
		/* Authority and additional data of the response that ended
		 * the chain pass through, but only what it may speak for. */
		for (int sec = 2; sec <= 3; sec++)
			for (int i = 0; i < w->up.n; i++)
				if (sc->section[i] == sec &&
				    section_rr_ok(s, &w->up, &sc->rrs[i], w->cur))
					copy_rr(&w->ab, w->up.msg, w->up.len, sc,
					    i, sec);
		/* AD only for data that is all upstream's (RFC 6840 5.8),
		 * from an upstream trusted to validate: pldns does not. */
		info->ad_ok = !w->spliced && w->ad &&
		    snapshot_config(s)->trust_ad;
		if (info->ad_ok && ((q->edns.flags & EDNS_DO) || (q->hdr.flags & WIRE_AD)))
			extra |= WIRE_AD;
	}
	/* A forwarder's reply is never authoritative, spliced or not. */
	w->ab.aa = false;

	ab_finish(&w->ab, extra, -1, info);
	info->nparts = w->k + 1;
	info->path = w->spliced ? PATH_SPLICED : PATH_UPSTREAM;
	info->miss_zone = w->ab.miss;
}

enum answer_result
answer_upstream(const struct snapshot *s, const struct wire_query *q,
    const struct answer_part *parts, int nparts, bool fallback,
    struct answer_scratch *sc, uint8_t *out, size_t cap, size_t limit,
    struct answer_info *info)
{
	struct walk w;
	enum step st;

	answer_info_clear(info);
	sc->nttl = 0;
	w.s = s;
	w.q = q;
	w.parts = parts;
	w.nparts = nparts;
	w.sc = sc;
	w.k = -1;
	w.spliced = w.local_end = false;
	w.ad = true;
	ab_begin(&w.ab, s, q, out, cap, limit);
	memcpy(w.cur, q->lname, (size_t)q->qname_len);
	w.cur_len = (size_t)q->qname_len;
	/* Where CUR lies whole in the reply: the question, until the chain
	 * moves on. */
	w.cur_at = QUESTION_OFF;

	while ((st = walk_step(&w)) == STEP_ON)
		;
	if (st == STEP_MORE) {
		/* CUR through its own route; ANSWER_MAX_PARTS bounds the
		 * follow-ups as ANSWER_MAX_CHAIN bounds the hops. */
		memcpy(info->next, w.cur, w.cur_len);
		info->nparts = w.k + 1;
		return ANSWER_FORWARD;
	}
	if (st == STEP_SERVFAIL) {
		answer_error(q, RCODE_SERVFAIL, -1, out, cap, info);
		info->path = PATH_ERROR;
		return ANSWER_DONE;
	}
	walk_finish(&w, info);
	return ANSWER_DONE;
}
