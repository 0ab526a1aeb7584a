/* source_zone: RFC 1035 zone files, read with ldns. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "data/records.h"
#include "data/sources.h"
#include "data/sources_int.h"
#include "util/util.h"

/*
 * Checks the RDATA of the types pldns itself reads (addresses, names):
 * ldns accepts any length for them in RFC 3597 form (\# N ...).
 */
static bool
rdata_ok(uint16_t type, const uint8_t *rd, size_t len)
{
	switch (type) {
	case TYPE_A:
		return len == 4;
	case TYPE_AAAA:
		return len == 16;
	case TYPE_CNAME:
	case TYPE_NS:
	case TYPE_PTR:
	case TYPE_DNAME:
		return wire_name_len(rd, len) == (int)len;
	case TYPE_SOA: {
		int m = wire_name_len(rd, len), r;
		if (m < 0)
			return false;
		r = wire_name_len(rd + m, len - (size_t)m);
		return r >= 0 && (size_t)m + (size_t)r + 20 == len;
	}
	default:
		return true;
	}
}

/* What ldns holds while a zone file is read: freed at the end, or by a
 * guard's unwind when memory runs out half way. */
struct zparse {
	ldns_rdf *origin, *prev;
	ldns_buffer *buf;
	ldns_rr *rr;		/* the record being looked at */
};

static void
zparse_free(void *arg)
{
	struct zparse *zp = arg;

	ldns_buffer_free(zp->buf);
	ldns_rr_free(zp->rr);
	ldns_rdf_deep_free(zp->origin);
	ldns_rdf_deep_free(zp->prev);
}

/*
 * True when every domain name of RR, owner and data, is at most 255 octets.
 * ldns appends $ORIGIN to a relative name without checking the total.
 */
static bool
names_fit(const ldns_rr *rr)
{
	if (ldns_rdf_size(ldns_rr_owner(rr)) > WIRE_NAME_MAX)
		return false;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		if (ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME &&
		    ldns_rdf_size(f) > WIRE_NAME_MAX)
			return false;
	}
	return true;
}

/* Record indexes ordered by owner, then by position in the file. */
static int
by_owner_cmp(const void *a, const void *b, void *arg)
{
	const struct rec *recs = arg, *x = &recs[*(const size_t *)a],
	    *y = &recs[*(const size_t *)b];
	int xl = wire_name_len(x->owner, WIRE_NAME_MAX);
	int yl = wire_name_len(y->owner, WIRE_NAME_MAX);
	int c;

	if (xl != yl)
		return xl < yl ? -1 : 1;
	if ((c = memcmp(x->owner, y->owner, (size_t)xl)) != 0)
		return c;
	return *(const size_t *)a < *(const size_t *)b ? -1 :
	    *(const size_t *)a > *(const size_t *)b;
}

/* Positions in the index array IX, by the record index they hold. */
static int
pos_cmp(const void *a, const void *b, void *arg)
{
	const size_t *ix = arg;
	size_t x = ix[*(const size_t *)a], y = ix[*(const size_t *)b];

	return x < y ? -1 : x > y;
}

/* DNSSEC's own records may stand beside a CNAME (RFC 4035 2.5). */
static bool
beside_cname_ok(uint16_t type)
{
	return type == TYPE_CNAME || type == TYPE_RRSIG || type == TYPE_NSEC ||
	    type == 50 /* NSEC3 */;
}

static void
owner_error(struct diag *d, const char *path, const struct rec *r,
    const char *what, const struct rec *first)
{
	char name[1024];

	if (wire_name_to_str(r->owner, name, sizeof(name)) < 0)
		pl_strlcpy(name, "?", sizeof(name));
	diag_add(d, DIAG_ERROR, path, r->line, "%s%s (first at line %lu)", name,
	    what, (unsigned long)first->line);
}

/*
 * The rules about what may share a name (RFC 2181 10.1, RFC 6672 2.4), for
 * the records RS->recs[FROM..] of one zone file: one CNAME and nothing else
 * but DNSSEC records beside it; one DNAME.  A record given twice is one
 * record, not a second one.  Returns the number of errors.
 */
static int
singletons_check(struct recset *rs, size_t from, const char *path, struct diag *d)
{
	size_t n = rs->nrecs - from, i, j, *ix;
	bool any = false;
	int nerr = 0;

	for (i = from; i < rs->nrecs && !any; i++)
		any = rs->recs[i].type == TYPE_CNAME || rs->recs[i].type == TYPE_DNAME;
	if (!any)
		return 0;
	ix = xreallocarray(NULL, n, sizeof(*ix));
	for (i = 0; i < n; i++)
		ix[i] = from + i;
	qsort_r(ix, n, sizeof(*ix), by_owner_cmp, rs->recs);
	/* The names in the order they first come in the file, so that the
	 * messages come in file order. */
	size_t *gs = xreallocarray(NULL, n + 1, sizeof(*gs)), ng = 0;
	for (i = 0; i < n; i++)
		if (i == 0 || !wire_name_equal(rs->recs[ix[i - 1]].owner,
		    rs->recs[ix[i]].owner))
			gs[ng++] = i;
	qsort_r(gs, ng, sizeof(*gs), pos_cmp, ix);
	for (size_t g = 0; g < ng; g++) {
		const struct rec *cname = NULL, *dname = NULL, *other = NULL;
		bool dup_c = false, dup_d = false, mixed = false;
		size_t key = ix[gs[g]];

		for (j = gs[g]; j < n && wire_name_equal(rs->recs[key].owner,
		    rs->recs[ix[j]].owner); j++) {
			const struct rec *r = &rs->recs[ix[j]];
			const struct rec **first = r->type == TYPE_CNAME ? &cname :
			    r->type == TYPE_DNAME ? &dname : NULL;
			bool *dup = r->type == TYPE_CNAME ? &dup_c : &dup_d;

			if (first != NULL && *first != NULL) {
				if (!*dup && (r->rdlen != (*first)->rdlen ||
				    memcmp(r->rdata, (*first)->rdata, r->rdlen) != 0)) {
					owner_error(d, path, r, r->type == TYPE_CNAME ?
					    " has more than one CNAME record" :
					    " has more than one DNAME record", *first);
					*dup = true;
					nerr++;
				}
				continue;
			}
			if (first != NULL)
				*first = r;
			if (!beside_cname_ok(r->type) && other == NULL)
				other = r;
			/* The later of a CNAME and other data is the error. */
			if (!mixed && cname != NULL && other != NULL) {
				const struct rec *late = cname > other ? cname : other;
				owner_error(d, path, late, ": CNAME and other data",
				    late == cname ? other : cname);
				mixed = true;
				nerr++;
			}
		}
	}
	free(gs);
	free(ix);
	return nerr;
}

/*
 * Reads the zone file PATH for ZONE straight into RS, which is cut back when
 * the file has any error: a zone is served whole or not at all.
 */
/* One zone file being read: what the checks of its records need. */
struct zfile {
	struct recset *rs;
	size_t z;			/* the zone's index in rs */
	const char *zone, *path;
	const uint8_t *apex;
	struct diag *d;
	ldns_buffer *buf;		/* the RDATA of the record checked last */
	int nsoa;
};

/*
 * Whether RR can be a record of the zone at all (type, names, class,
 * owner, RDATA); its RDATA in wire form is then in ZF->buf.  Returns 0, or
 * 1 with the problem reported at line AT.
 */
static int
zone_rr_check(struct zfile *zf, const ldns_rr *rr, unsigned long at)
{
	const ldns_rdf *owner = ldns_rr_owner(rr);
	const char *why = NULL;
	ldns_buffer *buf = zf->buf;

	if (ldns_rr_get_type(rr) == 0 || ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT ||
	    ldns_rr_get_type(rr) == LDNS_RR_TYPE_ANY)
		/* ldns takes some garbage lines as a record of type 0. */
		why = "not a record: unknown or meta record type";
	else if (!names_fit(rr))
		why = "a name longer than 255 octets (with the origin)";
	else if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		why = "only class IN is supported";
	else if (!wire_name_under(ldns_rdf_data(owner), zf->apex)) {
		char *o = ldns_rdf2str(owner);
		diag_add(zf->d, DIAG_ERROR, zf->path, at,
		    "%s is outside the zone %s", o ? o : "?", zf->zone);
		free(o);
		return 1;
	} else {
		ldns_buffer_clear(buf);
		if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
		    ldns_buffer_position(buf) > 65535)
			why = "record data too large";
		else if (!rdata_ok((uint16_t)ldns_rr_get_type(rr),
		    ldns_buffer_begin(buf), ldns_buffer_position(buf)))
			/* e.g. "A \# 0": RFC 3597 syntax for data that is
			 * not an address. */
			why = "bad record data for its type";
	}
	if (why == NULL)
		return 0;
	diag_add(zf->d, DIAG_ERROR, zf->path, at, "%s", why);
	return 1;
}

/*
 * Adds RR (checked by zone_rr_check(), its RDATA in ZF->buf), from line
 * AT; returns the problems it has as the zone's NS or SOA (reported).
 */
static int
zone_rr_add(struct zfile *zf, const ldns_rr *rr, unsigned long at)
{
	const ldns_rdf *owner = ldns_rr_owner(rr);
	uint16_t type = (uint16_t)ldns_rr_get_type(rr);
	bool at_apex = wire_name_equal(ldns_rdf_data(owner), zf->apex);
	int nerr = 0;

	if (type == TYPE_NS && !at_apex) {
		/* Azure Private DNS has no delegations, and a forwarder has
		 * no way to refer a stub to one: served, it would be
		 * answered as our own. */
		char *o = ldns_rdf2str(owner);
		diag_add(zf->d, DIAG_ERROR, zf->path, at, "NS record for %s "
		    "below the zone apex: a delegation, which pldns does not "
		    "serve", o ? o : "?");
		free(o);
		nerr++;
	}
	if (type == TYPE_SOA) {
		if (!at_apex) {
			diag_add(zf->d, DIAG_ERROR, zf->path, at,
			    "SOA record not at the zone apex");
			nerr++;
		} else if (++zf->nsoa > 1) {
			diag_add(zf->d, DIAG_ERROR, zf->path, at,
			    "more than one SOA record");
			nerr++;
		}
	}
	recset_add_at(zf->rs, zf->z, ldns_rdf_data(owner), type,
	    ldns_rr_ttl(rr), ldns_buffer_begin(zf->buf),
	    (uint16_t)ldns_buffer_position(zf->buf), zf->path, at);
	return nerr;
}

/* Reads the records of FP into ZF->rs; returns the problems (reported). */
static int
zone_read_records(struct zfile *zf, struct zparse *zp, FILE *fp)
{
	uint32_t ttl = 3600;
	int line = 1, nerr = 0;

	while (!feof(fp)) {
		ldns_rr *rr = NULL;
		ldns_status s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &zp->origin,
		    &zp->prev, &line);
		/* ldns has counted the newline of the line it just read. */
		unsigned long at = line > 1 ? (unsigned long)line - 1 : 1;

		if (s == LDNS_STATUS_MEM_ERR)
			/* Not an error of the file. */
			out_of_memory();
		if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL ||
		    s == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (s == LDNS_STATUS_SYNTAX_INCLUDE) {
			diag_add(zf->d, DIAG_ERROR, zf->path, at,
			    "$INCLUDE is not supported");
			nerr++;
			continue;
		}
		if (s != LDNS_STATUS_OK) {
			diag_add(zf->d, DIAG_ERROR, zf->path, at, "%s",
			    ldns_get_errorstr_by_id(s));
			nerr++;
			if (nerr > 50)
				break;
			continue;
		}
		zp->rr = rr;
		if (zone_rr_check(zf, rr, at) != 0)
			nerr++;
		else
			nerr += zone_rr_add(zf, rr, at);
		ldns_rr_free(rr);
		zp->rr = NULL;
	}
	return nerr;
}

int
source_zone_file(const struct config *cfg, const char *zone, const char *path,
    struct recset *rs, struct diag *d)
{
	uint8_t apex[WIRE_NAME_MAX];
	const char *err;
	struct zparse zp = { NULL, NULL, NULL, NULL };
	struct zfile zf = { .rs = rs, .zone = zone, .path = path, .apex = apex,
	    .d = d };
	int nerr;
	FILE *fp;
	struct recset_mark mark;

	if (wire_name_from_str(zone, apex, &err) < 0) {
		diag_add(d, DIAG_ERROR, path, 0, "bad zone name \"%s\": %s", zone, err);
		return -1;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		diag_add(d, DIAG_ERROR, path, 0, "cannot read zone file: %s", strerror(errno));
		return -1;
	}
	oom_guard_file(fp);
	recset_mark(rs, &mark);
	zf.z = recset_zone(rs, cfg, zone, path);
	oom_guard_defer(zparse_free, &zp);
	zp.origin = ldns_dname_new_frm_str(zone);
	zf.buf = zp.buf = ldns_buffer_new(LDNS_MAX_PACKETLEN);
	if (zp.origin == NULL || zp.buf == NULL)
		out_of_memory();
	nerr = zone_read_records(&zf, &zp, fp);
	oom_guard_fclose(fp);
	oom_guard_undefer(&zp);
	zparse_free(&zp);

	nerr += singletons_check(rs, mark.nrecs, path, d);
	if (nerr != 0) {
		recset_rewind(rs, &mark);
		return -1;
	}
	rs->zones[zf.z].from_file = true;
	if (rs->nrecs == mark.nrecs)
		return source_empty(cfg, path, "no records found", rs, d);
	return 0;
}
