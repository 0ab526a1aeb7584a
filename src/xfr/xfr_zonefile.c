/*
 * xfr_zonefile: a secondary zone's file in the state directory: read at
 * start, written atomically after each transfer.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "util/log.h"
#include "util/util.h"
#include "xfr/xfr_secondary_int.h"

/* Reads the zone file into Z (SOA and store); -1 when missing or bad. */
int
xfr_zonefile_load(struct szn *z)
{
	ldns_rdf *origin = NULL, *prev = NULL;
	ldns_buffer *buf;
	uint32_t ttl = 3600;
	int line = 1, bad = 0;
	bool have_soa = false;
	struct stat st;
	FILE *fp;

	if ((fp = fopen(z->file, "re")) == NULL)
		return -1;
	xfr_store_clear(&z->store);
	origin = ldns_dname_new_frm_str(z->name);
	buf = ldns_buffer_new(LDNS_MAX_PACKETLEN);
	while (!feof(fp) && !bad) {
		ldns_rr *rr = NULL;
		ldns_status s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
		uint8_t owner[WIRE_NAME_MAX];
		const ldns_rdf *o;

		if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL ||
		    s == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (s != LDNS_STATUS_OK) {
			log_warnx("%s:%d: %s", z->file, line, ldns_get_errorstr_by_id(s));
			bad = 1;
			break;
		}
		o = ldns_rr_owner(rr);
		ldns_buffer_clear(buf);
		if (ldns_rdf_size(o) > WIRE_NAME_MAX ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
		    ldns_buffer_position(buf) > 65535) {
			bad = 1;
		} else {
			wire_name_lower(owner, ldns_rdf_data(o), ldns_rdf_size(o));
			if (!wire_name_under(owner, z->apex))
				bad = 1;
			else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
			    wire_name_equal(owner, z->apex)) {
				if (have_soa || !xfr_soa_set(&z->soa, ldns_rr_ttl(rr),
				    ldns_buffer_begin(buf), ldns_buffer_position(buf)))
					bad = 1;
				have_soa = true;
			} else if (xfr_store_add(&z->store, owner,
			    (uint16_t)ldns_rr_get_type(rr), ldns_rr_ttl(rr),
			    ldns_buffer_begin(buf),
			    (uint16_t)ldns_buffer_position(buf)) == -1)
				bad = 1;
		}
		ldns_rr_free(rr);
	}
	ldns_buffer_free(buf);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	if (fstat(fileno(fp), &st) == 0)
		z->last_ok = (uint64_t)st.st_mtime;
	fclose(fp);
	if (bad || !have_soa) {
		log_warnx("secondary zone %s: ignoring %s: %s", z->name, z->file,
		    bad ? "not a valid zone file" : "no SOA record");
		xfr_store_clear(&z->store);
		z->last_ok = 0;
		return -1;
	}
	return 0;
}

/* One record as a zone file line, through ldns. */
static int
write_rr(FILE *f, const uint8_t *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rd, uint16_t rdlen)
{
	uint8_t *w;
	size_t olen = (size_t)wire_name_len(owner, WIRE_NAME_MAX), pos = 0, n;
	ldns_rr *rr = NULL;
	char *text;
	int rc = -1;

	n = olen + 10 + rdlen;
	if ((w = try_calloc(1, n)) == NULL)
		return -1;
	memcpy(w, owner, olen);
	w[olen] = (uint8_t)(type >> 8);
	w[olen + 1] = (uint8_t)type;
	w[olen + 2] = 0;
	w[olen + 3] = CLASS_IN;
	w[olen + 4] = (uint8_t)(ttl >> 24);
	w[olen + 5] = (uint8_t)(ttl >> 16);
	w[olen + 6] = (uint8_t)(ttl >> 8);
	w[olen + 7] = (uint8_t)ttl;
	w[olen + 8] = (uint8_t)(rdlen >> 8);
	w[olen + 9] = (uint8_t)rdlen;
	memcpy(w + olen + 10, rd, rdlen);
	if (ldns_wire2rr(&rr, w, n, &pos, LDNS_SECTION_ANSWER) == LDNS_STATUS_OK &&
	    (text = ldns_rr2str(rr)) != NULL) {
		rc = fputs(text, f) < 0 ? -1 : 0;
		free(text);
	}
	ldns_rr_free(rr);
	free(w);
	return rc;
}

/* Writes Z's data to its file: a temporary file, fsync, rename, fsync the directory. */
int
xfr_zonefile_write(struct szn *z, const char *from)
{
	const struct srec *r;
	char *tmp, *dir;
	FILE *f;
	int fd, dfd, rc = 0;

	if (mkdir_p(z->sec->state_dir) == -1) {
		log_warn("secondary zone %s: cannot create %s", z->name, z->sec->state_dir);
		return -1;
	}
	xasprintf(&tmp, "%s.XXXXXX", z->file);
	if ((fd = mkstemp(tmp)) == -1) {
		log_warn("secondary zone %s: cannot create %s", z->name, tmp);
		free(tmp);
		return -1;
	}
	fchmod(fd, 0644);
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	fprintf(f, "; zone %s, serial %u, transferred from %s by pldns\n", z->name,
	    xfr_soa_field(&z->soa, 0), from);
	if (write_rr(f, z->apex, TYPE_SOA, z->soa.ttl, z->soa.rdata, z->soa.len) == -1)
		rc = -1;
	for (size_t i = 0; rc == 0 && (r = xfr_store_next(&z->store, &i)) != NULL;)
		if (write_rr(f, r->data, r->type, r->ttl, r->data + r->olen,
		    r->rdlen) == -1)
			rc = -1;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, z->file) == -1)
		rc = -1;
	if (rc == -1) {
		log_warn("secondary zone %s: cannot write %s", z->name, z->file);
		unlink(tmp);
	} else {
		dir = path_dirname(z->file);
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
			fsync(dfd);
			close(dfd);
		}
		free(dir);
	}
	free(tmp);
	return rc;
}
