/* xfr: AXFR and IXFR from snapshots, the IXFR journal (NOTIFY: xfr_notify.c). */
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>


#include "engine/answer.h"
#include "util/log.h"
#include "engine/tsig.h"
#include "util/util.h"
#include "xfr/xfr.h"

#define PTR_MAX		0x3fff	/* largest offset a compression pointer reaches */

/* ---- classification ---- */

enum xfr_kind
xfr_classify(const uint8_t *pkt, size_t len)
{
	struct wire_iter it;
	struct wire_iter_q q;
	struct wire_iter_rr rr;

	if (wire_iter_init(&it, pkt, len) == -1 || (it.hdr.flags & WIRE_QR))
		return XFR_NONE;
	if (WIRE_OPCODE(it.hdr.flags) == WIRE_OPCODE_NOTIFY)
		return XFR_NOTIFY;
	if (WIRE_OPCODE(it.hdr.flags) != 0 || it.hdr.qdcount != 1 ||
	    wire_iter_question(&it, &q, NULL) != 1)
		return XFR_NONE;
	if (q.qtype == TYPE_AXFR || q.qtype == TYPE_IXFR)
		return XFR_TRANSFER;
	/* A TSIG lies in the additional section: without one, no walk. */
	if (it.hdr.arcount == 0)
		return XFR_NONE;
	/* A malformed RR before any TSIG: the query path answers FORMERR. */
	return wire_iter_find(&it, TYPE_TSIG, &rr) == 1 ? XFR_SIGNED : XFR_NONE;
}

/* ---- the request ---- */

struct xreq {
	uint16_t id, flags;
	bool have_q;			/* the question parsed: echo it */
	uint8_t qname[WIRE_NAME_MAX];	/* as received */
	uint8_t lname[WIRE_NAME_MAX];	/* lower-case */
	uint16_t qtype, qclass;
	uint32_t serial;		/* IXFR: the client's */
	int tsig;			/* 1 the request carries a TSIG RR */
	struct tsig_rr t;
	struct wire_edns edns;		/* its OPT: every reply carries one then */
};

/* The serial of an SOA RDATA (uncompressed), or false. */
static bool
soa_rdata_serial(const uint8_t *rd, size_t len, uint32_t *serial)
{
	int a, b;

	if ((a = wire_name_len(rd, len)) < 0 ||
	    (b = wire_name_len(rd + a, len - (size_t)a)) < 0 ||
	    len - (size_t)a - (size_t)b != 20)
		return false;
	*serial = wire_get_u32(rd + a + b);
	return true;
}

/* Parses a transfer request.  0, or the rcode to answer with. */
static int
req_parse(const uint8_t *pkt, size_t len, struct xreq *r)
{
	struct wire_iter it;
	struct wire_iter_q q;
	struct wire_iter_rr irr;
	struct wire_rr rr;

	memset(r, 0, sizeof(*r));
	if (wire_iter_init(&it, pkt, len) == -1)
		return RCODE_FORMERR;
	r->id = it.hdr.id;
	r->flags = it.hdr.flags;
	/* Looked for first, so that even a FORMERR carries OPT (RFC 6891 7). */
	(void)wire_msg_edns(pkt, len, &r->edns);
	if (it.hdr.qdcount != 1 || wire_iter_question(&it, &q, r->qname) != 1)
		return RCODE_FORMERR;
	wire_name_lower(r->lname, r->qname, (size_t)q.name_len);
	r->qtype = q.qtype;
	r->qclass = q.qclass;
	r->have_q = true;
	if ((r->tsig = tsig_find(pkt, len, &r->t)) == -1) {
		r->tsig = 0;
		return RCODE_FORMERR;
	}
	if (it.hdr.ancount != 0)
		return RCODE_FORMERR;
	if (r->qtype == TYPE_IXFR) {
		uint8_t rd[WIRE_NAME_MAX * 2 + 20];
		int rdlen;

		/* RFC 1995 3: the client's SOA, owned by the zone, in
		 * authority (its first RR: the answer section is empty).
		 * Only that RR is read here; the rest was tsig_find's. */
		if (it.hdr.nscount != 1 || wire_iter_next(&it, &irr) != 1 ||
		    wire_iter_rr_read(&it, &irr, &rr) == -1 ||
		    rr.type != TYPE_SOA || !wire_name_equal(rr.owner, r->qname) ||
		    (rdlen = wire_rdata_expand(pkt, len, &rr, rd, sizeof(rd))) < 0 ||
		    !soa_rdata_serial(rd, (size_t)rdlen, &r->serial))
			return RCODE_FORMERR;
	} else if (it.hdr.nscount != 0)
		return RCODE_FORMERR;
	return 0;
}

/* ---- writing transfer messages ---- */

#define XFR_OPT_LEN	11	/* an OPT RR without options */

struct out {
	const struct xreq *rq;
	struct tsig_ctx *tsig;		/* NULL: unsigned */
	void (*emit)(void *, const uint8_t *, size_t);
	void *arg;
	uint8_t *buf;			/* WIRE_MAX_MSG */
	struct wire_buf b;
	size_t soft;			/* cut messages at about this size */
	unsigned nmsg;			/* messages emitted */
	unsigned nrr;			/* RRs in the message being built */
	int rcode;
	bool failed;
	/* Compression, ours: owners are all at or below the apex, so one
	 * pointer target (the apex) and the previous owner cover them. */
	const uint8_t *apex;
	int apex_len;
	size_t apex_off;		/* where the apex is in this message, 0 none */
	const uint8_t *prev_owner;
	size_t prev_off;		/* where PREV_OWNER is written, 0 none */
};

/* The OPT of a reply to RQ, which had one: counted in ARCOUNT (so far 0). */
static void
xfr_put_opt(struct wire_buf *b, const struct xreq *rq, int rcode)
{
	wire_put_opt(b, 1232, (uint8_t)(rcode >> 4), (rq->edns.flags & EDNS_DO) != 0, -1);
	wire_set_u16(b, WIRE_OFF_AR, 1);
}

static void
out_begin(struct out *o)
{
	struct wire_hdr h;

	memset(&h, 0, sizeof(h));
	h.id = o->rq->id;
	h.flags = (uint16_t)(WIRE_QR | (o->rq->flags & WIRE_RD) |
	    (o->rcode == 0 ? WIRE_AA : 0) | (o->rcode & 0xf));
	/* The question goes in the first message only (RFC 5936 2.2.1). */
	h.qdcount = o->nmsg == 0 && o->rq->have_q ? 1 : 0;
	wire_buf_init(&o->b, o->buf, WIRE_MAX_MSG - TSIG_RESERVE -
	    (o->rq->edns.present ? XFR_OPT_LEN : 0));
	wire_put_hdr(&o->b, &h);
	o->apex_off = 0;
	o->prev_owner = NULL;
	o->prev_off = 0;
	if (h.qdcount) {
		/* Owners point at the question only when it has the zone's case. */
		if (o->apex != NULL &&
		    memcmp(o->rq->qname, o->apex, (size_t)o->apex_len) == 0)
			o->apex_off = o->b.len;
		wire_put_name(&o->b, o->rq->qname, false);
		wire_put_u16(&o->b, o->rq->qtype);
		wire_put_u16(&o->b, o->rq->qclass);
	}
	o->nrr = 0;
}

static void
out_flush(struct out *o)
{
	size_t len;

	if (o->failed)
		return;
	if (o->b.overflow) {
		o->failed = true;
		return;
	}
	if (o->rq->edns.present) {
		/* In every message, after the records and before the TSIG. */
		o->b.cap += XFR_OPT_LEN;
		xfr_put_opt(&o->b, o->rq, o->rcode);
	}
	len = o->b.len;
	if (o->tsig != NULL && tsig_sign(o->tsig, o->buf, &len, WIRE_MAX_MSG,
	    TSIG_NOERROR, now_wall()) == -1) {
		o->failed = true;
		return;
	}
	o->emit(o->arg, o->buf, len);
	o->nmsg++;
}

/* Writes OWNER compressed against the apex or the previous owner. */
static void
out_owner(struct out *o, const uint8_t *owner)
{
	struct wire_buf *b = &o->b;
	int olen = wire_name_len(owner, WIRE_NAME_MAX);
	size_t start = b->len, pre;

	if (o->prev_off != 0 && wire_name_equal(owner, o->prev_owner)) {
		wire_put_u16(b, (uint16_t)(0xc000 | o->prev_off));
		return;
	}
	pre = (size_t)(olen - o->apex_len);
	if (o->apex_off != 0 && olen >= o->apex_len &&
	    wire_name_equal(owner + pre, o->apex)) {
		wire_put_bytes(b, owner, pre);
		wire_put_u16(b, (uint16_t)(0xc000 | o->apex_off));
	} else {
		wire_put_bytes(b, owner, (size_t)olen);
		if (o->apex_off == 0 && olen >= o->apex_len &&
		    wire_name_equal(owner + pre, o->apex) && start + pre <= PTR_MAX)
			o->apex_off = start + pre;
	}
	if (!b->overflow && start <= PTR_MAX) {
		o->prev_owner = owner;
		o->prev_off = start;
	}
}

static void
out_rr_once(struct out *o, const uint8_t *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rdata, uint16_t rdlen)
{
	out_owner(o, owner);
	wire_put_u16(&o->b, type);
	wire_put_u16(&o->b, CLASS_IN);
	wire_put_u32(&o->b, ttl);
	wire_put_u16(&o->b, rdlen);
	wire_put_bytes(&o->b, rdata, rdlen);
}

/* Adds one RR, starting a new message when this one is full. */
static void
out_rr(struct out *o, const uint8_t *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rdata, uint16_t rdlen)
{
	struct wire_mark m;
	const uint8_t *po = o->prev_owner;
	size_t poff = o->prev_off, aoff = o->apex_off;

	if (o->failed)
		return;
	m = wire_buf_mark(&o->b);
	out_rr_once(o, owner, type, ttl, rdata, rdlen);
	if (!o->b.overflow && (o->b.len <= o->soft || o->nrr == 0)) {
		wire_count_inc(&o->b, WIRE_OFF_AN);
		o->nrr++;
		return;
	}
	wire_buf_rollback(&o->b, m);
	o->prev_owner = po;
	o->prev_off = poff;
	o->apex_off = aoff;
	if (o->nrr == 0) {
		o->failed = true;	/* one RR larger than a message */
		return;
	}
	out_flush(o);
	out_begin(o);
	out_rr_once(o, owner, type, ttl, rdata, rdlen);
	if (o->b.overflow) {
		o->failed = true;
		return;
	}
	wire_count_inc(&o->b, WIRE_OFF_AN);
	o->nrr++;
}

/* One message with no answer (errors, and TSIG errors with their TSIG RR). */
static void
emit_error(const struct xreq *rq, int rcode, struct tsig_ctx *tsig, uint16_t tsig_error,
    void (*emit)(void *, const uint8_t *, size_t), void *arg)
{
	uint8_t buf[WIRE_HDR_LEN + WIRE_NAME_MAX + 4 + XFR_OPT_LEN + TSIG_RESERVE];
	struct wire_buf b;
	struct wire_hdr h;
	size_t len;

	memset(&h, 0, sizeof(h));
	h.id = rq->id;
	h.flags = (uint16_t)(WIRE_QR | (rq->flags & (0xf << 11)) | (rq->flags & WIRE_RD) |
	    (rcode & 0xf));
	h.qdcount = rq->have_q ? 1 : 0;
	wire_buf_init(&b, buf, sizeof(buf) - TSIG_RESERVE);
	wire_put_hdr(&b, &h);
	if (rq->have_q) {
		wire_put_name(&b, rq->qname, false);
		wire_put_u16(&b, rq->qtype);
		wire_put_u16(&b, rq->qclass);
	}
	if (rq->edns.present)
		xfr_put_opt(&b, rq, rcode);
	len = b.len;
	if (tsig != NULL && tsig->active)
		(void)tsig_sign(tsig, buf, &len, sizeof(buf), tsig_error, now_wall());
	emit(arg, buf, len);
}

/* ---- the journal ---- */

/*
 * One difference: the records deleted and added from serial FROM to TO,
 * each as owner (wire, uncompressed), type, TTL, RDLENGTH, RDATA.  Immutable
 * once made; readers hold references.
 */
struct jdelta {
	atomic_int refs;
	uint32_t from, to;
	uint32_t old_soa_ttl, new_soa_ttl;
	uint8_t *old_soa, *new_soa;	/* RDATA */
	uint16_t old_soa_len, new_soa_len;
	uint8_t *del, *add;
	size_t del_len, add_len;
	size_t ndel, nadd;
	struct jdelta *next;		/* the next newer one (under the journal lock) */
};

struct jzone {
	char *name;
	struct jdelta *first, *last;
	size_t ndeltas, nchanges;
	struct jzone *next;
};

struct xfr_journal {
	pthread_mutex_t lock;
	size_t max_changes;
	struct jzone *zones;
};

static void
jdelta_unref(struct jdelta *d)
{
	if (d == NULL || atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	free(d->old_soa);
	free(d->new_soa);
	free(d->del);
	free(d->add);
	free(d);
}

static void
jzone_clear(struct jzone *z)
{
	struct jdelta *d, *n;

	for (d = z->first; d != NULL; d = n) {
		n = d->next;
		jdelta_unref(d);
	}
	z->first = z->last = NULL;
	z->ndeltas = z->nchanges = 0;
}

struct xfr_journal *
xfr_journal_new(size_t max_changes)
{
	struct xfr_journal *j = xcalloc(1, sizeof(*j));

	pthread_mutex_init(&j->lock, NULL);
	j->max_changes = max_changes;
	return j;
}

void
xfr_journal_free(struct xfr_journal *j)
{
	struct jzone *z, *n;

	if (j == NULL)
		return;
	for (z = j->zones; z != NULL; z = n) {
		n = z->next;
		jzone_clear(z);
		free(z->name);
		free(z);
	}
	pthread_mutex_destroy(&j->lock);
	free(j);
}

static struct jzone *
jzone_find(struct xfr_journal *j, const char *name, bool create)
{
	struct jzone *z;

	for (z = j->zones; z != NULL; z = z->next)
		if (strcmp(z->name, name) == 0)
			return z;
	if (!create)
		return NULL;
	z = xcalloc(1, sizeof(*z));
	z->name = xstrdup(name);
	z->next = j->zones;
	j->zones = z;
	return z;
}

size_t
xfr_journal_depth(struct xfr_journal *j, const char *zone)
{
	struct jzone *z;
	size_t n = 0;

	pthread_mutex_lock(&j->lock);
	if ((z = jzone_find(j, zone, false)) != NULL)
		n = z->ndeltas;
	pthread_mutex_unlock(&j->lock);
	return n;
}

/* A growable byte buffer for building deltas (reload path: may abort on OOM). */
struct bytes {
	uint8_t *p;
	size_t len, cap;
	size_t n;			/* records */
};

static void
bytes_put(struct bytes *b, const void *p, size_t n)
{
	if (b->cap - b->len < n) {
		while (b->cap - b->len < n)
			b->cap = b->cap ? b->cap * 2 : 1024;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
bytes_rr(struct bytes *b, const uint8_t *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rdata, uint16_t rdlen)
{
	uint8_t f[8] = {
		(uint8_t)(type >> 8), (uint8_t)type,
		(uint8_t)(ttl >> 24), (uint8_t)(ttl >> 16), (uint8_t)(ttl >> 8),
		(uint8_t)ttl,
		(uint8_t)(rdlen >> 8), (uint8_t)rdlen
	};

	bytes_put(b, owner, (size_t)wire_name_len(owner, WIRE_NAME_MAX));
	bytes_put(b, f, sizeof(f));
	bytes_put(b, rdata, rdlen);
	b->n++;
}

/* An RDATA entry of an RRset: for sorting and merging. */
struct rdent {
	const uint8_t *p;
	uint16_t len;
};

static int
rdent_cmp(const void *a, const void *b)
{
	const struct rdent *x = a, *y = b;
	int c;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if ((c = memcmp(x->p, y->p, x->len)) != 0)
		return c;
	return 0;
}

static struct rdent *
rdents(const struct rrset *rs, size_t *n)
{
	struct rdent *v = xcalloc(rs->count ? rs->count : 1, sizeof(*v));
	const uint8_t *p = rs->data, *end = rs->data + rs->datalen;

	*n = 0;
	while (p + 2 <= end && *n < rs->count) {
		v[*n].len = wire_get_u16(p);
		v[*n].p = p + 2;
		p += 2 + v[(*n)++].len;
	}
	qsort(v, *n, sizeof(*v), rdent_cmp);
	return v;
}

static void
all_rrs(struct bytes *b, const uint8_t *owner, const struct rrset *rs)
{
	const uint8_t *p = rs->data, *end = rs->data + rs->datalen;

	while (p + 2 <= end) {
		uint16_t l = wire_get_u16(p);

		bytes_rr(b, owner, rs->type, rs->ttl, p + 2, l);
		p += 2 + l;
	}
}

/* Records of OLD not in NEW go to DEL, of NEW not in OLD to ADD (either may be NULL). */
static void
diff_rrset(struct bytes *del, struct bytes *add, const uint8_t *owner,
    const struct rrset *old, const struct rrset *new)
{
	struct rdent *a, *b;
	size_t na, nb, i = 0, k = 0;

	if (old == NULL || new == NULL || old->ttl != new->ttl) {
		/* A TTL change is the whole RRset out and in again. */
		if (old != NULL)
			all_rrs(del, owner, old);
		if (new != NULL)
			all_rrs(add, owner, new);
		return;
	}
	if (old->datalen == new->datalen &&
	    memcmp(old->data, new->data, old->datalen) == 0)
		return;
	a = rdents(old, &na);
	b = rdents(new, &nb);
	while (i < na || k < nb) {
		int c = i == na ? 1 : k == nb ? -1 : rdent_cmp(&a[i], &b[k]);

		if (c < 0) {
			bytes_rr(del, owner, old->type, old->ttl, a[i].p, a[i].len);
			i++;
		} else if (c > 0) {
			bytes_rr(add, owner, new->type, new->ttl, b[k].p, b[k].len);
			k++;
		} else {
			i++;
			k++;
		}
	}
	free(a);
	free(b);
}

/* Everything at nodes of FROM that TO does not have goes to OUT (as DEL or ADD). */
static void
diff_nodes(struct bytes *del, struct bytes *add, const struct szone *from,
    const struct szone *to, bool from_is_old)
{
	for (size_t i = 0; i < szone_nnodes(from); i++) {
		const struct node *n = szone_node_at(from, i);
		const struct node *m = szone_node(to, n->owner);

		for (uint16_t r = 0; r < n->nrrsets; r++) {
			const struct rrset *rs = &n->rrsets[r];
			const struct rrset *other = m ? node_rrset(m, rs->type) : NULL;

			if (rs->type == TYPE_SOA &&
			    wire_name_equal(n->owner, szone_apex(from)))
				continue;	/* the SOA frames the difference */
			if (from_is_old) {
				if (other == NULL)
					all_rrs(del, n->owner, rs);
			} else
				diff_rrset(del, add, n->owner, other, rs);
		}
	}
}

static void
soa_copy(const struct szone *z, uint8_t **rd, uint16_t *len, uint32_t *ttl)
{
	const struct rrset *soa = szone_soa(z);

	*len = wire_get_u16(soa->data);
	*rd = xmalloc(*len);
	memcpy(*rd, soa->data + 2, *len);
	*ttl = soa->ttl;
}

static struct jdelta *
delta_make(const struct szone *oz, const struct szone *nz)
{
	struct jdelta *d = xcalloc(1, sizeof(*d));
	struct bytes del, add;

	memset(&del, 0, sizeof(del));
	memset(&add, 0, sizeof(add));
	diff_nodes(&del, &add, oz, nz, true);
	diff_nodes(&del, &add, nz, oz, false);
	atomic_init(&d->refs, 1);
	d->from = szone_serial(oz);
	d->to = szone_serial(nz);
	soa_copy(oz, &d->old_soa, &d->old_soa_len, &d->old_soa_ttl);
	soa_copy(nz, &d->new_soa, &d->new_soa_len, &d->new_soa_ttl);
	d->del = del.p;
	d->del_len = del.len;
	d->ndel = del.n;
	d->add = add.p;
	d->add_len = add.len;
	d->nadd = add.n;
	return d;
}

/*
 * delta_make() that gives NULL when memory runs out, with nothing of it
 * left allocated: the zone's history is then reset, and a secondary asking
 * for IXFR from before is sent the whole zone (RFC 1995 4).  It reads only
 * the two snapshots and takes no lock, as a guard requires.
 */
static struct jdelta *
delta_try(const struct szone *oz, const struct szone *nz)
{
	struct oom_guard g;
	struct jdelta *d;

	if (oom_guarded())
		return delta_make(oz, nz);
	oom_guard_begin(&g);
	if (setjmp(g.env) != 0) {
		oom_guard_unwind(&g);
		log_warnx("zone %s: out of memory recording the changes for IXFR: "
		    "secondaries get AXFR", szone_name(nz));
		return NULL;
	}
	d = delta_make(oz, nz);
	oom_guard_end(&g);
	return d;
}

void
xfr_journal_update(struct xfr_journal *j, const struct snapshot *old,
    const struct snapshot *new)
{
	struct jzone **zp, *z;

	if (j == NULL)
		return;
	/* Differences are computed outside the lock: readers wait only
	 * for the list surgery. */
	for (size_t i = 0; i < snapshot_nzones(new); i++) {
		const struct szone *nz = snapshot_zone_at(new, i);
		const struct szone *oz = snapshot_zone_named(old, szone_name(nz));
		struct jdelta *d = NULL;
		bool reset = false;

		if (oz == NULL || szone_soa(oz) == NULL || szone_soa(nz) == NULL) {
			reset = true;
		} else if (szone_serial(oz) == szone_serial(nz)) {
			continue;
		} else if (!xfr_serial_gt(szone_serial(nz), szone_serial(oz))) {
			reset = true;
		} else if ((d = delta_try(oz, nz)) == NULL)
			reset = true;

		pthread_mutex_lock(&j->lock);
		z = jzone_find(j, szone_name(nz), !reset);
		if (z != NULL && (reset || (z->last != NULL && z->last->to != d->from)))
			jzone_clear(z);
		if (z != NULL && d != NULL) {
			size_t nd = d->ndel + d->nadd;

			if (nd > j->max_changes) {
				jzone_clear(z);
				jdelta_unref(d);
			} else {
				if (z->last != NULL)
					z->last->next = d;
				else
					z->first = d;
				z->last = d;
				z->ndeltas++;
				z->nchanges += nd;
				while (z->nchanges > j->max_changes) {
					struct jdelta *f = z->first;

					z->first = f->next;
					z->nchanges -= f->ndel + f->nadd;
					z->ndeltas--;
					jdelta_unref(f);
				}
			}
		} else
			jdelta_unref(d);
		pthread_mutex_unlock(&j->lock);
	}
	/* Zones gone from the data lose their history. */
	pthread_mutex_lock(&j->lock);
	for (zp = &j->zones; (z = *zp) != NULL;) {
		if (snapshot_zone_named(new, z->name) == NULL) {
			*zp = z->next;
			jzone_clear(z);
			free(z->name);
			free(z);
		} else
			zp = &z->next;
	}
	pthread_mutex_unlock(&j->lock);
}

/*
 * The differences leading from FROM to TO for ZONE, with a reference each,
 * into *OUT (caller frees the array and unrefs).  -1 when the journal does
 * not hold that chain.
 */
static int
journal_chain(struct xfr_journal *j, const char *zone, uint32_t from, uint32_t to,
    struct jdelta ***out, size_t *n)
{
	struct jzone *z;
	struct jdelta *d, **v = NULL;
	size_t k = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&j->lock);
	if ((z = jzone_find(j, zone, false)) == NULL)
		goto done;
	for (d = z->first; d != NULL && d->from != from; d = d->next)
		;
	if (d == NULL)
		goto done;
	if ((v = calloc(z->ndeltas, sizeof(*v))) == NULL)
		goto done;
	for (; d != NULL; d = d->next) {
		v[k++] = d;
		if (d->to == to)
			break;
	}
	if (d == NULL) {
		free(v);
		goto done;
	}
	for (size_t i = 0; i < k; i++)
		atomic_fetch_add(&v[i]->refs, 1);
	*out = v;
	*n = k;
	rc = 0;
done:
	pthread_mutex_unlock(&j->lock);
	return rc;
}

/* ---- serving: where the next record comes from ---- */

/*
 * A transfer is a sequence of records written into messages one at a time,
 * so that it can stop after any message and go on when the client has read
 * it: the cursor below says which record is next, the struct out the message
 * being filled.  Everything the cursor points into (the snapshot, the journal
 * differences) is held by the transfer.
 */
enum xphase {
	XP_SOA_OPEN,		/* the zone's SOA */
	XP_ZONE,		/* every RRset but the apex SOA (AXFR) */
	XP_OLD_SOA,		/* a difference: the SOA it starts from, */
	XP_DEL,			/* the records it deletes, */
	XP_NEW_SOA,		/* the SOA it leads to, */
	XP_ADD,			/* the records it adds */
	XP_SOA_CLOSE,		/* the zone's SOA again */
	XP_END
};

struct xrr {
	const uint8_t *owner;
	uint16_t type;
	uint32_t ttl;
	const uint8_t *rdata;
	uint16_t rdlen;
};

struct xfr_transfer {
	struct snapshot *held;		/* the transfer's reference, or NULL */
	const struct szone *z;
	struct xreq rq;
	struct tsig_ctx ctx;
	int tsig_error;			/* of the request: answered NOTAUTH */
	struct out o;
	struct sockaddr_storage peer;
	const char *what;		/* for the log; NULL: not logged */
	struct jdelta **deltas;		/* IXFR from the journal, a reference each */
	size_t ndeltas;
	enum xphase phase;
	enum xphase after_open;		/* XP_ZONE, XP_OLD_SOA or XP_END */
	size_t node, delta;
	uint16_t rrset;
	size_t off;			/* in the RRset's data or the difference's list */
	bool done;			/* the last message has been emitted */
};

/* The next RR of RS from the cursor's offset, or false at its end. */
static bool
next_in_rrset(struct xfr_transfer *x, const struct rrset *rs, const uint8_t *owner,
    struct xrr *rr)
{
	if (x->off + 2 > rs->datalen)
		return false;
	rr->owner = owner;
	rr->type = rs->type;
	rr->ttl = rs->ttl;
	rr->rdlen = wire_get_u16(rs->data + x->off);
	rr->rdata = rs->data + x->off + 2;
	x->off += 2 + (size_t)rr->rdlen;
	return true;
}

/* The next RR of the zone in node order, the apex SOA left out. */
static bool
next_in_zone(struct xfr_transfer *x, struct xrr *rr)
{
	const uint8_t *apex = szone_apex(x->z);

	for (; x->node < szone_nnodes(x->z); x->node++, x->rrset = 0) {
		const struct node *n = szone_node_at(x->z, x->node);

		for (; x->rrset < n->nrrsets; x->rrset++, x->off = 0) {
			const struct rrset *rs = &n->rrsets[x->rrset];

			if (rs->type == TYPE_SOA && wire_name_equal(n->owner, apex))
				continue;
			if (next_in_rrset(x, rs, n->owner, rr))
				return true;
		}
	}
	return false;
}

/*
 * The next RR of a difference's list P/LEN (owner, type, TTL, RDLENGTH,
 * RDATA): 1, 0 at its end, -1 when it does not parse.
 */
static int
next_in_list(struct xfr_transfer *x, const uint8_t *p, size_t len, struct xrr *rr)
{
	const uint8_t *f;
	int nl;

	if (x->off >= len)
		return 0;
	p += x->off;
	len -= x->off;
	if ((nl = wire_name_len(p, len)) < 0 || len < (size_t)nl + 8)
		return -1;
	f = p + nl;
	rr->owner = p;
	rr->type = wire_get_u16(f);
	rr->ttl = wire_get_u32(f + 2);
	rr->rdlen = wire_get_u16(f + 6);
	rr->rdata = f + 8;
	x->off += (size_t)nl + 8 + rr->rdlen;
	return 1;
}

/* The SOA a difference starts from (OLD) or leads to, as one RR. */
static void
delta_soa(const struct jdelta *d, const uint8_t *apex, bool old, struct xrr *rr)
{
	rr->owner = apex;
	rr->type = TYPE_SOA;
	rr->ttl = old ? d->old_soa_ttl : d->new_soa_ttl;
	rr->rdata = old ? d->old_soa : d->new_soa;
	rr->rdlen = old ? d->old_soa_len : d->new_soa_len;
}

/* The RR of the journal's differences at the cursor: 1, 0 past them, -1. */
static int
next_in_deltas(struct xfr_transfer *x, struct xrr *rr)
{
	const struct jdelta *d;
	int r;

	while (x->delta < x->ndeltas) {
		d = x->deltas[x->delta];
		switch (x->phase) {
		case XP_OLD_SOA:
		case XP_NEW_SOA:
			delta_soa(d, szone_apex(x->z), x->phase == XP_OLD_SOA, rr);
			x->phase = x->phase == XP_OLD_SOA ? XP_DEL : XP_ADD;
			x->off = 0;
			return 1;
		case XP_DEL:
			if ((r = next_in_list(x, d->del, d->del_len, rr)) != 0)
				return r;
			x->phase = XP_NEW_SOA;
			break;
		default:
			if ((r = next_in_list(x, d->add, d->add_len, rr)) != 0)
				return r;
			x->phase = XP_OLD_SOA;
			x->delta++;
			break;
		}
	}
	return 0;
}

/* The transfer's next RR: 1, 0 after the last, -1 when a difference is bad. */
static int
next_rr(struct xfr_transfer *x, struct xrr *rr)
{
	int r;

	for (;;) {
		switch (x->phase) {
		case XP_SOA_OPEN:
		case XP_SOA_CLOSE:
			if (next_in_rrset(x, szone_soa(x->z), szone_apex(x->z), rr))
				return 1;
			x->phase = x->phase == XP_SOA_OPEN ? x->after_open : XP_END;
			x->off = 0;
			break;
		case XP_ZONE:
			if (next_in_zone(x, rr))
				return 1;
			x->phase = XP_SOA_CLOSE;
			x->off = 0;
			break;
		case XP_END:
			return 0;
		default:
			if ((r = next_in_deltas(x, rr)) != 0)
				return r;
			x->phase = XP_SOA_CLOSE;
			x->off = 0;
			break;
		}
	}
}

/* ---- serving ---- */

/* The TSIG key of the configuration named like the request's, or false. */
static bool
request_key(const struct config *cfg, const struct tsig_rr *t, struct tsig_key *k)
{
	for (size_t i = 0; i < cfg->nkeys; i++) {
		if (tsig_key_init(k, &cfg->keys[i]) == 0 &&
		    wire_name_equal(k->name, t->name))
			return true;
	}
	return false;
}

static bool
peer_allowed(const struct zone_conf *zc, const struct sockaddr *peer)
{
	for (size_t i = 0; zc != NULL && i < zc->nallow_transfer; i++)
		if (cidr_match(&zc->allow_transfer[i], peer))
			return true;
	return false;
}

/* PEER as text, in BUF. */
static const char *
peer_text(const struct sockaddr *peer, char *buf, size_t len)
{
	struct pl_addr a;

	memset(&a, 0, sizeof(a));
	a.len = peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	memcpy(&a.ss, peer, a.len);
	return addr_str(&a, buf, len);
}

static void
log_transfer(const struct xreq *rq, const struct sockaddr *peer, const char *what,
    const char *zone)
{
	char buf[64];

	log_info("%s of %s to %s%s", what, zone, peer_text(peer, buf, sizeof(buf)),
	    rq->tsig ? " (TSIG)" : "");
}

/* A TSIG failure: which key, from where, for what. */
static void
log_tsig_error(const struct xreq *rq, const struct sockaddr *peer, int te)
{
	char buf[64], name[1024], key[1024];

	wire_name_to_str(rq->qname, name, sizeof(name));
	wire_name_to_str(rq->t.name, key, sizeof(key));
	log_info("TSIG %s from %s, key %s, for %s type %u", tsig_error_str(te),
	    peer_text(peer, buf, sizeof(buf)), key, name, rq->qtype);
}

/*
 * Checks the request (parsed into X->rq) from PEER against S: its TSIG,
 * class and transport, the zone, allow_transfer, the zone's key, and that
 * there is data to send.  0 with X->z set, or the rcode to answer with.
 */
static int
transfer_admit(struct xfr_transfer *x, const struct snapshot *s, const uint8_t *pkt,
    size_t len, const struct sockaddr *peer, bool tcp)
{
	const struct config *cfg = snapshot_config(s);
	const struct zone_conf *zc;
	struct xreq *rq = &x->rq;
	struct tsig_key key;
	int rc;

	if ((rc = req_parse(pkt, len, rq)) != 0)
		return rc;
	if (rq->tsig) {
		bool found = request_key(cfg, &rq->t, &key);
		int te = tsig_verify_request(&x->ctx, &key, found ? 1 : 0, pkt, len,
		    &rq->t, now_wall());

		if (te != TSIG_NOERROR) {
			log_tsig_error(rq, peer, te);
			x->tsig_error = te;
			return RCODE_NOTAUTH;
		}
		x->o.tsig = &x->ctx;
	}
	/* The request's buffer is not ours to keep pointing into. */
	rq->t.mac = rq->t.other = NULL;
	rq->edns.cookie = NULL;
	if (rq->qclass != CLASS_IN || (rq->qtype == TYPE_AXFR && !tcp))
		return RCODE_REFUSED;
	x->z = snapshot_find_zone(s, rq->lname);
	if (x->z == NULL || !wire_name_equal(szone_apex(x->z), rq->lname))
		return RCODE_NOTAUTH;
	zc = config_zone(cfg, szone_name(x->z));
	if (!peer_allowed(zc, peer))
		return RCODE_REFUSED;
	if (zc->key != NULL) {
		struct tsig_key want;
		const struct key_conf *kc = config_key(cfg, zc->key);

		if (x->o.tsig == NULL || kc == NULL || tsig_key_init(&want, kc) != 0 ||
		    !wire_name_equal(want.name, x->ctx.key.name) ||
		    want.alg != x->ctx.key.alg)
			return RCODE_REFUSED;
	}
	if (szone_soa(x->z) == NULL ||
	    (zc->nprimaries > 0 && xfr_secondary_unavailable(s, rq->lname)))
		return RCODE_SERVFAIL;
	return 0;
}

/*
 * Decides what an admitted request gets (RFC 1995 2, 4 for IXFR) and starts
 * its first message.  0, or SERVFAIL when memory runs out.
 */
static int
transfer_plan(struct xfr_transfer *x, struct xfr_journal *j, bool tcp)
{
	struct out *o = &x->o;
	uint32_t cur = szone_serial(x->z);

	o->soft = tcp ? XFR_MSG_SIZE : 512;
	o->apex = szone_apex(x->z);
	o->apex_len = wire_name_len(o->apex, WIRE_NAME_MAX);
	if ((o->buf = malloc(WIRE_MAX_MSG)) == NULL)
		return RCODE_SERVFAIL;
	x->phase = XP_SOA_OPEN;
	if (x->rq.qtype == TYPE_IXFR &&
	    (!tcp || x->rq.serial == cur || xfr_serial_gt(x->rq.serial, cur))) {
		/* Up to date, or over UDP: the SOA alone (RFC 1995 2, 4). */
		x->after_open = XP_END;
	} else if (x->rq.qtype == TYPE_IXFR && j != NULL &&
	    journal_chain(j, szone_name(x->z), x->rq.serial, cur, &x->deltas,
	    &x->ndeltas) == 0) {
		x->after_open = XP_OLD_SOA;
		x->what = "IXFR";
	} else {
		/* AXFR, or IXFR that the journal cannot serve (RFC 1995 4). */
		x->after_open = XP_ZONE;
		x->what = x->rq.qtype == TYPE_IXFR ? "IXFR (as AXFR)" : "AXFR";
	}
	out_begin(o);
	return 0;
}

/*
 * Adds records to the message being built until it is emitted, or until
 * the last record (then the last message goes out and the transfer is
 * logged).  Returns whether more messages follow.
 */
static bool
transfer_step(struct xfr_transfer *x)
{
	struct out *o = &x->o;
	unsigned n = o->nmsg;
	struct xrr rr;
	int r;

	if (x->done)
		return false;
	while (o->nmsg == n && !o->failed) {
		if ((r = next_rr(x, &rr)) > 0) {
			out_rr(o, rr.owner, rr.type, rr.ttl, rr.rdata, rr.rdlen);
			continue;
		}
		if (r < 0)
			o->failed = true;
		else
			out_flush(o);
		break;
	}
	if (!o->failed && x->phase != XP_END)
		return true;
	x->done = true;
	free(o->buf);
	o->buf = NULL;
	if (x->what != NULL)
		log_transfer(&x->rq, (const struct sockaddr *)&x->peer, x->what,
		    szone_name(x->z));
	if (o->failed)
		log_warnx("transfer of %s failed: a record does not fit a message",
		    szone_name(x->z));
	return false;
}

void
xfr_transfer_free(struct xfr_transfer *x)
{
	char buf[64];

	if (x == NULL)
		return;
	if (!x->done && x->what != NULL)
		log_info("%s of %s to %s cut short after %u messages", x->what,
		    szone_name(x->z), peer_text((const struct sockaddr *)&x->peer, buf,
		    sizeof(buf)), x->o.nmsg);
	for (size_t i = 0; i < x->ndeltas; i++)
		jdelta_unref(x->deltas[i]);
	free(x->deltas);
	free(x->o.buf);
	tsig_ctx_clear(&x->ctx);
	if (x->held != NULL)
		snapshot_unref(x->held);
	free(x);
}

/*
 * xfr_start() and xfr_serve(): answers the request and emits the first
 * message; *MORE is the transfer when more follow.  HOLD (S, or NULL when
 * the caller keeps S for as long as the transfer lives) gets a reference.
 */
static int
transfer_open(const struct snapshot *s, struct snapshot *hold, struct xfr_journal *j,
    const uint8_t *pkt, size_t len, const struct sockaddr *peer, bool tcp,
    void (*emit)(void *, const uint8_t *, size_t), void *arg,
    struct xfr_transfer **more)
{
	struct xfr_transfer *x;
	int rc;

	*more = NULL;
	if ((x = try_calloc(1, sizeof(*x))) == NULL) {
		struct xreq rq;

		(void)req_parse(pkt, len, &rq);
		emit_error(&rq, RCODE_SERVFAIL, NULL, TSIG_NOERROR, emit, arg);
		return RCODE_SERVFAIL;
	}
	tsig_ctx_init(&x->ctx, NULL);
	x->o.rq = &x->rq;
	x->o.emit = emit;
	x->o.arg = arg;
	memcpy(&x->peer, peer, peer->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	if ((rc = transfer_admit(x, s, pkt, len, peer, tcp)) == 0 &&
	    (rc = transfer_plan(x, j, tcp)) == 0) {
		if (transfer_step(x)) {
			if (hold != NULL)
				snapshot_ref(hold);
			x->held = hold;
			*more = x;
			return RCODE_NOERROR;
		}
		if (x->o.failed && x->o.nmsg == 0)
			rc = RCODE_SERVFAIL;
	}
	if (rc != 0)
		emit_error(&x->rq, rc, x->tsig_error ? &x->ctx : x->o.tsig,
		    (uint16_t)x->tsig_error, emit, arg);
	xfr_transfer_free(x);
	return rc;
}

int
xfr_start(struct snapshot *s, struct xfr_journal *j, const uint8_t *pkt, size_t len,
    const struct sockaddr *peer, bool tcp,
    void (*emit)(void *arg, const uint8_t *msg, size_t len), void *arg,
    struct xfr_transfer **more)
{
	return transfer_open(s, s, j, pkt, len, peer, tcp, emit, arg, more);
}

bool
xfr_next(struct xfr_transfer *x)
{
	return transfer_step(x);
}

int
xfr_serve(const struct snapshot *s, struct xfr_journal *j, const uint8_t *pkt,
    size_t len, const struct sockaddr *peer, bool tcp,
    void (*emit)(void *arg, const uint8_t *msg, size_t len), void *arg)
{
	struct xfr_transfer *x;
	int rc = transfer_open(s, NULL, j, pkt, len, peer, tcp, emit, arg, &x);

	while (x != NULL && transfer_step(x))
		;
	xfr_transfer_free(x);
	return rc;
}

/* ---- signed ordinary queries ---- */

struct outbuf {
	uint8_t *p;
	size_t cap, len;
};

static void
outbuf_emit(void *arg, const uint8_t *msg, size_t len)
{
	struct outbuf *o = arg;

	if (len <= o->cap) {
		memcpy(o->p, msg, len);
		o->len = len;
	}
}

int
xfr_answer_signed(const struct snapshot *s, const uint8_t *pkt, size_t len,
    const struct sockaddr *peer, bool tcp, uint8_t *out, size_t cap, size_t *out_len)
{
	const struct config *cfg = snapshot_config(s);
	struct outbuf ob = { out, cap, 0 };
	struct tsig_ctx ctx;
	struct tsig_key key;
	struct wire_query q;
	struct answer_info info;
	struct xreq rq;
	uint8_t *bare = NULL;
	size_t limit, reserve, alen;
	int rc, te;

	tsig_ctx_init(&ctx, NULL);
	*out_len = 0;
	if ((rc = req_parse(pkt, len, &rq)) != 0 || rq.tsig != 1) {
		emit_error(&rq, rc ? rc : RCODE_FORMERR, NULL, 0, outbuf_emit, &ob);
		*out_len = ob.len;
		return rc ? rc : RCODE_FORMERR;
	}
	te = tsig_verify_request(&ctx, &key, request_key(cfg, &rq.t, &key) ? 1 : 0,
	    pkt, len, &rq.t, now_wall());
	if (te != TSIG_NOERROR) {
		log_tsig_error(&rq, peer, te);
		rc = RCODE_NOTAUTH;
		goto error;
	}
	/* The query as it was before it was signed. */
	if ((bare = malloc(rq.t.rr_off)) == NULL) {
		rc = RCODE_SERVFAIL;
		goto error;
	}
	memcpy(bare, pkt, rq.t.rr_off);
	bare[10] = (uint8_t)((wire_get_u16(pkt + 10) - 1) >> 8);
	bare[11] = (uint8_t)(wire_get_u16(pkt + 10) - 1);
	switch (wire_query_parse(bare, rq.t.rr_off, &q)) {
	case WIRE_OK:
		break;
	case WIRE_NOTIMP:
		rc = RCODE_NOTIMP;
		goto error;
	default:
		rc = RCODE_FORMERR;
		goto error;
	}
	reserve = tsig_rr_size(&ctx);
	limit = tcp ? WIRE_MAX_MSG : answer_udp_limit(&q);
	if (limit > cap)
		limit = cap;
	if (limit < reserve + WIRE_HDR_LEN + WIRE_NAME_MAX + 4) {
		rc = RCODE_SERVFAIL;
		goto error;
	}
	if (answer_local(s, &q, out, cap - reserve, limit - reserve, &info) !=
	    ANSWER_DONE) {
		/* Signed queries are not forwarded. */
		rc = RCODE_REFUSED;
		goto error;
	}
	free(bare);
	alen = info.len;
	if (tsig_sign(&ctx, out, &alen, cap, TSIG_NOERROR, now_wall()) == -1)
		alen = info.len;
	*out_len = alen;
	tsig_ctx_clear(&ctx);
	return info.rcode;
error:
	free(bare);
	emit_error(&rq, rc, &ctx, (uint16_t)te, outbuf_emit, &ob);
	*out_len = ob.len;
	tsig_ctx_clear(&ctx);
	return rc;
}
