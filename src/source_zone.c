/* source_zone: RFC 1035 zone files, read with ldns. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "records.h"
#include "sources.h"
#include "util.h"

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

/*
 * Reads the zone file PATH for ZONE straight into RS, which is cut back when
 * the file has any error: a zone is served whole or not at all.
 */
int
source_zone_file(const struct config *cfg, const char *zone, const char *path,
    struct recset *rs, struct diag *d)
{
	uint8_t apex[WIRE_NAME_MAX];
	const char *err;
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600;
	int line = 1, nerr = 0, nsoa = 0;
	ldns_buffer *buf = NULL;
	FILE *fp;
	size_t z;
	struct recset_mark mark;

	if (wire_name_from_str(zone, apex, &err) < 0) {
		diag_add(d, DIAG_ERROR, path, 0, "bad zone name \"%s\": %s", zone, err);
		return -1;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		diag_add(d, DIAG_ERROR, path, 0, "cannot read zone file: %s", strerror(errno));
		return -1;
	}
	recset_mark(rs, &mark);
	z = recset_zone(rs, cfg, zone, path);
	origin = ldns_dname_new_frm_str(zone);
	buf = ldns_buffer_new(LDNS_MAX_PACKETLEN);
	while (!feof(fp)) {
		ldns_rr *rr = NULL;
		ldns_status s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
		ldns_rdf *owner;
		/* ldns has counted the newline of the line it just read. */
		unsigned long at = line > 1 ? (unsigned long)line - 1 : 1;

		if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL ||
		    s == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (s == LDNS_STATUS_SYNTAX_INCLUDE) {
			diag_add(d, DIAG_ERROR, path, at,
			    "$INCLUDE is not supported");
			nerr++;
			continue;
		}
		if (s != LDNS_STATUS_OK) {
			diag_add(d, DIAG_ERROR, path, at, "%s",
			    ldns_get_errorstr_by_id(s));
			nerr++;
			if (nerr > 50)
				break;
			continue;
		}
		owner = ldns_rr_owner(rr);
		if (ldns_rr_get_type(rr) == 0 || ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT ||
		    ldns_rr_get_type(rr) == LDNS_RR_TYPE_ANY) {
			/* ldns takes some garbage lines as a record of type 0. */
			diag_add(d, DIAG_ERROR, path, at, "not a record: unknown or "
			    "meta record type");
			nerr++;
		} else if (!names_fit(rr)) {
			diag_add(d, DIAG_ERROR, path, at,
			    "a name longer than 255 octets (with the origin)");
			nerr++;
		} else if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
			diag_add(d, DIAG_ERROR, path, at,
			    "only class IN is supported");
			nerr++;
		} else if (!wire_name_under(ldns_rdf_data(owner), apex)) {
			char *o = ldns_rdf2str(owner);
			diag_add(d, DIAG_ERROR, path, at,
			    "%s is outside the zone %s", o ? o : "?", zone);
			free(o);
			nerr++;
		} else {
			ldns_buffer_clear(buf);
			if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
			    ldns_buffer_position(buf) > 65535) {
				diag_add(d, DIAG_ERROR, path, at,
				    "record data too large");
				nerr++;
			} else if (!rdata_ok((uint16_t)ldns_rr_get_type(rr),
			    ldns_buffer_begin(buf), ldns_buffer_position(buf))) {
				/* e.g. "A \# 0": RFC 3597 syntax for data that is
				 * not an address. */
				diag_add(d, DIAG_ERROR, path, at, "bad record data for its type");
				nerr++;
			} else {
				uint16_t type = (uint16_t)ldns_rr_get_type(rr);
				if (type == TYPE_SOA) {
					if (!wire_name_equal(ldns_rdf_data(owner), apex)) {
						diag_add(d, DIAG_ERROR, path, at,
						    "SOA record not at the zone apex");
						nerr++;
					} else if (++nsoa > 1) {
						diag_add(d, DIAG_ERROR, path, at,
						    "more than one SOA record");
						nerr++;
					}
				}
				recset_add_at(rs, z, ldns_rdf_data(owner), type,
				    ldns_rr_ttl(rr), ldns_buffer_begin(buf),
				    (uint16_t)ldns_buffer_position(buf), path, at);
			}
		}
		ldns_rr_free(rr);
	}
	fclose(fp);
	ldns_buffer_free(buf);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);

	if (nerr != 0) {
		recset_rewind(rs, &mark);
		return -1;
	}
	rs->zones[z].from_file = true;
	return 0;
}
