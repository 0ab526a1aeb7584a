/*
 * xfr_receive: the messages of an AXFR or IXFR answer, checked and
 * collected (RFC 5936, RFC 1995), then applied to the zone's store.  No
 * I/O: xfr_client reads the messages and hands them over.
 */
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "engine/tsig.h"
#include "util/util.h"
#include "xfr/xfr_secondary_int.h"

#define XFR_MAX_BYTES	((size_t)512 << 20)	/* a primary cannot fill our memory */

/* Keeps one record of the answer; -1 when out of memory (the transfer
 * fails and is tried again later, as when the primary misbehaves). */
static int
rrs_put(struct pull *p, const uint8_t *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rd, uint16_t rdlen)
{
	size_t olen = (size_t)wire_name_len(owner, WIRE_NAME_MAX), n = olen + 8 + rdlen;

	if (p->rrs_cap - p->rrs_len < n) {
		size_t cap = p->rrs_cap;
		uint8_t *nr;

		while (cap - p->rrs_len < n)
			cap = cap ? cap * 2 : 65536;
		if ((nr = try_reallocarray(p->rrs, cap, 1)) == NULL)
			return -1;
		p->rrs = nr;
		p->rrs_cap = cap;
	}
	memcpy(p->rrs + p->rrs_len, owner, olen);
	p->rrs_len += olen;
	p->rrs[p->rrs_len++] = (uint8_t)(type >> 8);
	p->rrs[p->rrs_len++] = (uint8_t)type;
	for (int i = 3; i >= 0; i--)
		p->rrs[p->rrs_len++] = (uint8_t)(ttl >> (8 * i));
	p->rrs[p->rrs_len++] = (uint8_t)(rdlen >> 8);
	p->rrs[p->rrs_len++] = (uint8_t)rdlen;
	memcpy(p->rrs + p->rrs_len, rd, rdlen);
	p->rrs_len += rdlen;
	p->nrrs++;
	return 0;
}

/* A collected record, as rrs_next() gives it: pointers into the pull's rrs. */
struct rrs_rr {
	const uint8_t *owner, *rd;
	uint16_t type, rdlen;
	uint32_t ttl;
};

/* Walks the collected records: the next one into RR, or false at the end. */
static bool
rrs_next(const struct pull *p, size_t *pos, struct rrs_rr *rr)
{
	const uint8_t *b = p->rrs + *pos;
	int olen;

	if (*pos >= p->rrs_len)
		return false;
	olen = wire_name_len(b, p->rrs_len - *pos);
	rr->owner = b;
	rr->type = wire_get_u16(b + olen);
	rr->ttl = wire_get_u32(b + olen + 2);
	rr->rdlen = wire_get_u16(b + olen + 6);
	rr->rd = b + olen + 8;
	*pos += (size_t)olen + 8 + rr->rdlen;
	return true;
}

/*
 * Takes one RR of the answer stream (RFC 1995 4 tells the formats apart:
 * a second RR that is the client's SOA starts an incremental answer).
 * 0 go on, -1 bad.
 */
static int
take_rr(struct pull *p, const uint8_t *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rd, uint16_t rdlen)
{
	struct szn *z = p->z;
	bool soa = type == TYPE_SOA && wire_name_equal(owner, z->apex);
	uint32_t v[4];

	if (p->done)
		return -1;		/* records after the final SOA */
	if (p->rrs_len > XFR_MAX_BYTES)
		return -1;
	if (soa && !xfr_soa_fields(rd, rdlen, v))
		return -1;
	switch (p->mode) {
	case M_FIRST:
		if (!soa || !xfr_soa_set(&p->new_soa, ttl, rd, rdlen))
			return -1;
		p->new_serial = v[0];
		p->mode = M_SECOND;
		return 0;
	case M_SECOND:
		if (p->ixfr && soa && z->have_data && v[0] == xfr_soa_field(&z->soa, 0) &&
		    v[0] != p->new_serial) {
			p->mode = M_IXFR;
			p->in_add = false;
			p->cur = v[0];
			return rrs_put(p, owner, type, ttl, rd, rdlen);
		}
		/* An AXFR from here on; an SOA now ends a zone of an SOA alone. */
		p->mode = M_AXFR;
		/* FALLTHROUGH */
	case M_AXFR:
		if (soa) {
			if (v[0] != p->new_serial)
				return -1;
			p->done = true;
			return 0;
		}
		return rrs_put(p, owner, type, ttl, rd, rdlen);
	case M_IXFR:
		if (soa) {
			if (!p->in_add) {
				/* The end of a delta's deletions: its new SOA. */
				p->in_add = true;
				p->cur = v[0];
			} else if (v[0] == p->new_serial && p->cur == p->new_serial) {
				p->done = true;
				return 0;
			} else if (v[0] == p->cur) {
				p->in_add = false;	/* the next delta */
			} else
				return -1;
		}
		return rrs_put(p, owner, type, ttl, rd, rdlen);
	case M_UPTODATE:
		return -1;
	}
	return -1;
}

/* One message of the transfer.  0 go on, 1 complete, -1 failed (reason logged). */
int
xfr_receive_message(struct pull *p, const uint8_t *msg, size_t len)
{
	struct szn *z = p->z;
	struct wire_iter it;
	struct wire_iter_q q;
	struct wire_iter_rr irr;
	struct wire_hdr h;
	struct wire_rr rr;
	uint8_t name[WIRE_NAME_MAX], owner[WIRE_NAME_MAX];
	uint8_t *rd;
	char a[64];
	int r;

	if (wire_iter_init(&it, msg, len) == -1 || (h = it.hdr).id != p->id ||
	    !(h.flags & WIRE_QR) || WIRE_OPCODE(h.flags) != 0) {
		log_warnx("secondary zone %s: bad message from %s", z->name,
		    xfr_pull_addr(p, a, sizeof(a)));
		return -1;
	}
	if (p->tsig.active) {
		r = tsig_verify_response(&p->tsig, msg, len, now_wall());
		if (r != 0 && r != 1) {
			log_warnx("secondary zone %s: %s from %s: %s", z->name,
			    p->ixfr ? "IXFR" : "AXFR", xfr_pull_addr(p, a, sizeof(a)),
			    tsig_error_str(r));
			return -1;
		}
		p->last_signed = r == 0;
	}
	if (WIRE_RCODE(h.flags) != RCODE_NOERROR) {
		log_warnx("secondary zone %s: %s from %s: rcode %d", z->name,
		    p->ixfr ? "IXFR" : "AXFR", xfr_pull_addr(p, a, sizeof(a)), WIRE_RCODE(h.flags));
		if (p->ixfr && (WIRE_RCODE(h.flags) == RCODE_NOTIMP ||
		    WIRE_RCODE(h.flags) == RCODE_FORMERR))
			p->force_axfr = true;
		return -1;
	}
	for (unsigned i = 0; i < h.qdcount; i++) {
		if (wire_iter_question(&it, &q, name) != 1 ||
		    !wire_name_equal(name, z->apex)) {
			log_warnx("secondary zone %s: bad question from %s", z->name,
			    xfr_pull_addr(p, a, sizeof(a)));
			return -1;
		}
	}
	if ((rd = malloc(WIRE_MAX_MSG)) == NULL)
		return -1;
	for (unsigned i = 0; i < h.ancount; i++) {
		int rdlen;

		if (wire_iter_next(&it, &irr) != 1 ||
		    wire_iter_rr_read(&it, &irr, &rr) == -1 ||
		    (rdlen = wire_rdata_expand(msg, len, &rr, rd, WIRE_MAX_MSG)) < 0) {
			free(rd);
			log_warnx("secondary zone %s: malformed record from %s", z->name,
			    xfr_pull_addr(p, a, sizeof(a)));
			return -1;
		}
		wire_name_lower(owner, rr.owner, (size_t)rr.owner_len);
		if (rr.type == TYPE_NS && !wire_name_equal(owner, z->apex) &&
		    wire_name_under(owner, z->apex)) {
			/* A delegation: Azure Private DNS has none, and a
			 * forwarder cannot refer its clients to one, so served
			 * it would be answered as our own data.  The zone keeps
			 * what it had. */
			char nb[1024];
			if (wire_name_to_str(owner, nb, sizeof(nb)) < 0)
				pl_strlcpy(nb, "?", sizeof(nb));
			free(rd);
			log_warnx("secondary zone %s: %s from %s refused: NS records "
			    "for %s below the zone apex (a delegation, which pldns "
			    "does not serve); keeping serial %u", z->name,
			    p->ixfr ? "IXFR" : "AXFR", xfr_pull_addr(p, a, sizeof(a)), nb,
			    xfr_soa_field(&z->soa, 0));
			return -1;
		}
		if (rr.rclass != CLASS_IN || !wire_name_under(owner, z->apex) ||
		    take_rr(p, owner, rr.type, rr.ttl, rd, (uint16_t)rdlen) == -1) {
			free(rd);
			log_warnx("secondary zone %s: unexpected record in the answer "
			    "from %s", z->name, xfr_pull_addr(p, a, sizeof(a)));
			return -1;
		}
	}
	free(rd);
	p->nmsg++;
	if (p->mode == M_SECOND && p->nmsg == 1 && p->ixfr) {
		/* IXFR answered with the SOA alone: nothing newer. */
		if (!xfr_serial_gt(p->new_serial, xfr_soa_field(&z->soa, 0))) {
			p->mode = M_UPTODATE;
			p->done = true;
		} else {
			/* Newer, but not sent: ask for the whole zone. */
			p->force_axfr = true;
			return -1;
		}
	}
	if (!p->done)
		return 0;
	if (p->tsig.active && !p->last_signed) {
		log_warnx("secondary zone %s: the last message from %s is not signed",
		    z->name, xfr_pull_addr(p, a, sizeof(a)));
		return -1;
	}
	return 1;
}

/* Applies the received IXFR to the data held; -1 when it does not fit, -2
 * when out of memory (either way the store may be half changed). */
int
xfr_apply_ixfr(struct pull *p)
{
	struct szn *z = p->z;
	struct rrs_rr rr;
	size_t pos = 0;
	uint32_t v[4];
	enum { OLD_SOA, DELETING, ADDING } phase = OLD_SOA;

	/* Each difference: its old SOA, deletions, its new SOA, additions. */
	while (rrs_next(p, &pos, &rr)) {
		if (rr.type == TYPE_SOA && wire_name_equal(rr.owner, z->apex)) {
			if (!xfr_soa_fields(rr.rd, rr.rdlen, v))
				return -1;
			if (phase != DELETING) {
				if (v[0] != xfr_soa_field(&z->soa, 0))
					return -1;
				phase = DELETING;
			} else {
				if (!xfr_soa_set(&z->soa, rr.ttl, rr.rd, rr.rdlen))
					return -1;
				phase = ADDING;
			}
			continue;
		}
		if (phase == ADDING) {
			if (xfr_store_add(&z->store, rr.owner, rr.type, rr.ttl, rr.rd,
			    rr.rdlen) == -1)
				return -2;
		} else if (phase == OLD_SOA ||
		    xfr_store_del(&z->store, rr.owner, rr.type, rr.rd, rr.rdlen) == -1)
			return -1;
	}
	return phase == ADDING && xfr_soa_field(&z->soa, 0) == p->new_serial ? 0 : -1;
}

/* 0, or -1 when out of memory (the store is then half filled). */
int
xfr_apply_axfr(struct pull *p)
{
	struct szn *z = p->z;
	struct rrs_rr rr;
	size_t pos = 0;

	xfr_store_clear(&z->store);
	while (rrs_next(p, &pos, &rr))
		if (xfr_store_add(&z->store, rr.owner, rr.type, rr.ttl, rr.rd,
		    rr.rdlen) == -1)
			return -1;
	z->soa = p->new_soa;
	return 0;
}
