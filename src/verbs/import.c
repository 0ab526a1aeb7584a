/*
 * import: "pldns import" -- record sources in, one RFC 1035 zone file per
 * privatelink zone out.
 *
 * The sources go through exactly the checks the daemon applies
 * (source_load, sources_finish).  Each zone file is compared with what the
 * directory already holds (read back with ldns): unchanged zones are left
 * alone, changed ones get a higher SOA serial and are replaced atomically
 * (a temporary file in the same directory, fsync, rename).  A "record" in
 * the summary is a name's addresses of one type: one changed address is one
 * changed record.
 */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "data/config.h"
#include "util/diag.h"
#include "verbs/import.h"
#include "data/rdiff.h"
#include "data/records.h"
#include "data/sources.h"
#include "util/util.h"
#include "wire/wire.h"

#define EX_CONFIG_	78

/* Azure private DNS zone defaults (AZURE-DNS.md 3.4). */
#define SOA_MNAME	"azureprivatedns.net."
#define SOA_RNAME	"azureprivatedns-host.microsoft.com."
#define SOA_REFRESH	3600
#define SOA_RETRY	300
#define SOA_EXPIRE	2419200
#define SOA_MINIMUM	10
#define SOA_TTL		3600

/* One record of a zone, new or already on disk. */
struct irec {
	const uint8_t *owner;	/* wire, lower-case */
	char *key;		/* labels right to left, NUL-separated: canonical order */
	size_t klen;
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t *rdata;
	const char *file;	/* where a new record came from (the recset's), or NULL */
	uint32_t line;
};

struct zrecs {
	struct irec *v;
	size_t n, cap;
};

struct zdiff {
	size_t total, added, changed, removed;
};

/* R as rdiff sees it (pointing into R). */
static void
irec_rdiff(const struct irec *r, struct rdiff_rec *out)
{
	memset(out, 0, sizeof(*out));
	out->owner = r->owner;
	out->rdata = r->rdata;
	out->rdlen = r->rdlen;
	out->type = r->type;
	out->ttl = r->ttl;
	out->file = r->file;
	out->line = r->line;
}

static void
irec_key(struct irec *r)
{
	int off[WIRE_NAME_MAX], n = 0;
	size_t k = 0;
	char key[WIRE_NAME_MAX + 1];

	for (int i = 0; r->owner[i] != 0; i += r->owner[i] + 1)
		off[n++] = i;
	for (int j = n - 1; j >= 0; j--) {
		int l = r->owner[off[j]];
		memcpy(key + k, r->owner + off[j] + 1, (size_t)l);
		k += (size_t)l;
		key[k++] = '\0';
	}
	r->key = xmalloc(k ? k : 1);
	memcpy(r->key, key, k);
	r->klen = k;
}

static void
zrecs_push(struct zrecs *z, const uint8_t *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rdata, uint16_t rdlen)
{
	struct irec *r;

	if (z->n == z->cap) {
		z->cap = z->cap ? z->cap * 2 : 64;
		z->v = xreallocarray(z->v, z->cap, sizeof(*z->v));
	}
	r = &z->v[z->n++];
	r->owner = owner;
	r->type = type;
	r->ttl = ttl;
	r->rdlen = rdlen;
	r->rdata = xmalloc(rdlen ? rdlen : 1);
	memcpy(r->rdata, rdata, rdlen);
	r->file = NULL;
	r->line = 0;
	irec_key(r);
}

static void
zrecs_free(struct zrecs *z, bool owners)
{
	for (size_t i = 0; i < z->n; i++) {
		free(z->v[i].key);
		free(z->v[i].rdata);
		if (owners)
			free((void *)(uintptr_t)z->v[i].owner);
	}
	free(z->v);
	memset(z, 0, sizeof(*z));
}

static int
key_cmp(const struct irec *a, const struct irec *b)
{
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(a->key, b->key, n);

	if (c != 0)
		return c;
	if (a->klen != b->klen)
		return a->klen < b->klen ? -1 : 1;
	return a->type == b->type ? 0 : a->type < b->type ? -1 : 1;
}

static int
irec_cmp(const void *x, const void *y)
{
	const struct irec *a = x, *b = y;
	int c = key_cmp(a, b);

	if (c != 0)
		return c;
	if (a->rdlen != b->rdlen)
		return a->rdlen < b->rdlen ? -1 : 1;
	return memcmp(a->rdata, b->rdata, a->rdlen);
}

/*
 * Adds to DF what changes from OLD to NW (records of one zone).  A "record"
 * of the summary is an RRset: DF's sets_* counts.
 */
static void
zone_diff(const struct zrecs *old, const struct zrecs *nw, struct rdiff *df)
{
	struct rdiff_rec *o = xcalloc(old->n + 1, sizeof(*o));
	struct rdiff_rec *n = xcalloc(nw->n + 1, sizeof(*n));

	for (size_t i = 0; i < old->n; i++)
		irec_rdiff(&old->v[i], &o[i]);
	for (size_t i = 0; i < nw->n; i++)
		irec_rdiff(&nw->v[i], &n[i]);
	rdiff_recs(df, o, old->n, n, nw->n);
	/* The changes point into OLD and NW, not into these arrays. */
	free(o);
	free(n);
}

/*
 * Reads a zone file exactly as zone_write() writes it, much faster than
 * ldns for big zones.  Returns 1 when read, or 0 when the file is anything
 * else (then OLD is left empty and ldns reads it).
 */
static int
zone_read_own(FILE *fp, const char *zone, struct zrecs *old, uint32_t *serial,
    bool *has_serial)
{
	char *line = NULL, *tok[8], *save, *name = NULL;
	size_t cap = 0, zlen = strlen(zone);
	bool ok = true, first = true;
	uint8_t wire[WIRE_NAME_MAX], rdata[16];
	const char *err;

	while (ok && getline(&line, &cap, fp) != -1) {
		int n = 0;

		if (first) {
			first = false;
			if (strncmp(line, "; Zone ", 7) != 0 ||
			    strstr(line, "written by pldns import") == NULL) {
				ok = false;
				break;
			}
		}
		if (line[0] == ';')
			continue;
		for (char *t = strtok_r(line, " \t\r\n", &save); t != NULL && n < 8;
		    t = strtok_r(NULL, " \t\r\n", &save))
			tok[n++] = t;
		if (n == 0)
			continue;
		if (strcmp(tok[0], "$ORIGIN") == 0) {
			ok = n == 2 && strncmp(tok[1], zone, zlen) == 0 &&
			    strcmp(tok[1] + zlen, ".") == 0;
			continue;
		}
		if (strcmp(tok[0], "$TTL") == 0)
			continue;
		if (n < 5 || strcmp(tok[2], "IN") != 0 || strchr(tok[0], '\\') != NULL) {
			ok = false;
			break;
		}
		if (strcmp(tok[0], "@") == 0 && strcmp(tok[3], "SOA") == 0 && n >= 7) {
			*serial = (uint32_t)strtoul(tok[6], NULL, 10);
			*has_serial = true;
			continue;
		}
		if (strcmp(tok[0], "@") == 0 && strcmp(tok[3], "NS") == 0)
			continue;
		uint16_t type = strcmp(tok[3], "A") == 0 ? TYPE_A :
		    strcmp(tok[3], "AAAA") == 0 ? TYPE_AAAA : 0;
		int olen;
		if (type == 0 || n != 5 || inet_pton(type == TYPE_A ? AF_INET :
		    AF_INET6, tok[4], rdata) != 1) {
			ok = false;
			break;
		}
		free(name);
		if (strcmp(tok[0], "@") == 0)
			name = xstrdup(zone);
		else
			xasprintf(&name, "%s.%s", tok[0], zone);
		if ((olen = wire_name_from_str(name, wire, &err)) < 0) {
			ok = false;
			break;
		}
		uint8_t *owner = xmalloc((size_t)olen);
		wire_name_lower(owner, wire, (size_t)olen);
		zrecs_push(old, owner, type, (uint32_t)strtoul(tok[1], NULL, 10),
		    rdata, type == TYPE_A ? 4 : 16);
	}
	free(line);
	free(name);
	if (!ok) {
		zrecs_free(old, true);
		*has_serial = false;
		return 0;
	}
	return 1;
}

/*
 * Reads the zone file PATH (for ZONE) as pldns wrote it or as someone edited
 * it: its records other than the apex SOA and NS go to OLD, the SOA serial
 * to *SERIAL.  Returns 1 when read, 0 when there is no file, -1 on a parse
 * error (described in WHY).
 */
static int
zone_read(const char *path, const char *zone, const uint8_t *apex,
    struct zrecs *old, uint32_t *serial, bool *has_serial, char *why,
    size_t whylen)
{
	FILE *fp = fopen(path, "r");
	ldns_zone *z = NULL;
	ldns_rdf *origin;
	ldns_status st;
	ldns_buffer *buf;
	int line = 0;
	char *oname;

	*has_serial = false;
	if (fp == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (zone_read_own(fp, zone, old, serial, has_serial) == 1) {
		fclose(fp);
		return 1;
	}
	rewind(fp);
	xasprintf(&oname, "%s.", zone);
	origin = ldns_dname_new_frm_str(oname);
	free(oname);
	st = ldns_zone_new_frm_fp_l(&z, fp, origin, SOA_MINIMUM, LDNS_RR_CLASS_IN,
	    &line);
	fclose(fp);
	ldns_rdf_deep_free(origin);
	if (st != LDNS_STATUS_OK) {
		snprintf(why, whylen, "line %d: %s", line, ldns_get_errorstr_by_id(st));
		return -1;
	}
	if (ldns_zone_soa(z) != NULL && ldns_rr_rd_count(ldns_zone_soa(z)) >= 3) {
		*serial = ldns_rdf2native_int32(ldns_rr_rdf(ldns_zone_soa(z), 2));
		*has_serial = true;
	}
	buf = ldns_buffer_new(LDNS_MAX_PACKETLEN);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(z)); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ldns_zone_rrs(z), i);
		ldns_rdf *ow = ldns_rr_owner(rr);
		uint16_t type = (uint16_t)ldns_rr_get_type(rr);
		int olen = wire_name_len(ldns_rdf_data(ow), ldns_rdf_size(ow));
		uint8_t *owner;

		if (olen < 0)
			continue;
		owner = xmalloc((size_t)olen);
		wire_name_lower(owner, ldns_rdf_data(ow), (size_t)olen);
		if ((type == TYPE_SOA || type == TYPE_NS) &&
		    wire_name_equal(owner, apex)) {
			free(owner);
			continue;
		}
		ldns_buffer_clear(buf);
		if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK) {
			free(owner);
			continue;
		}
		zrecs_push(old, owner, type, ldns_rr_ttl(rr), ldns_buffer_begin(buf),
		    (uint16_t)ldns_buffer_position(buf));
	}
	ldns_buffer_free(buf);
	ldns_zone_deep_free(z);
	return 1;
}

/* The serial after OLD: today's YYYYMMDD00, or OLD + 1 when that is not
 * higher (several imports a day, or a unix-time serial). */
static uint32_t
next_serial(bool has_old, uint32_t old)
{
	time_t now = time(NULL);
	struct tm tm;
	uint32_t base;

	gmtime_r(&now, &tm);
	base = (uint32_t)(tm.tm_year + 1900) * 1000000u +
	    (uint32_t)(tm.tm_mon + 1) * 10000u + (uint32_t)tm.tm_mday * 100u;
	if (!has_old || old < base)
		return base;
	return old + 1;
}

/* NAME (under APEX) relative to the zone, "@" for the apex. */
static void
owner_rel(const uint8_t *owner, const char *zone, char *out, size_t outlen)
{
	char buf[1024];
	size_t n, z = strlen(zone);

	if (wire_name_to_str(owner, buf, sizeof(buf)) < 0) {
		pl_strlcpy(out, "?", outlen);
		return;
	}
	n = strlen(buf);
	if (n == z + 1) {
		pl_strlcpy(out, "@", outlen);
		return;
	}
	/* "x.y." + zone + "." */
	if (n > z + 2)
		buf[n - z - 2] = '\0';
	pl_strlcpy(out, buf, outlen);
}

/* Writes the zone file text to FP. */
static int
zone_write(FILE *fp, const char *zone, uint32_t serial, uint32_t defttl,
    const struct zrecs *z, char *const *srcs, size_t nsrcs)
{
	fprintf(fp, "; Zone %s, written by pldns import.\n", zone);
	fprintf(fp, "; Sources:");
	for (size_t i = 0; i < nsrcs; i++)
		fprintf(fp, "%s %s", i ? "," : "", srcs[i]);
	fprintf(fp, "\n; pldns import replaces this file when the records "
	    "change: edit the sources instead.\n");
	fprintf(fp, "$ORIGIN %s.\n$TTL %u\n", zone, defttl);
	fprintf(fp, "@\t%u\tIN\tSOA\t%s %s %u %u %u %u %u\n", SOA_TTL, SOA_MNAME,
	    SOA_RNAME, serial, SOA_REFRESH, SOA_RETRY, SOA_EXPIRE, SOA_MINIMUM);
	fprintf(fp, "@\t%u\tIN\tNS\t%s\n", SOA_TTL, SOA_MNAME);
	for (size_t i = 0; i < z->n; i++) {
		const struct irec *r = &z->v[i];
		char owner[1024], addr[INET6_ADDRSTRLEN];

		owner_rel(r->owner, zone, owner, sizeof(owner));
		if (inet_ntop(r->type == TYPE_A ? AF_INET : AF_INET6, r->rdata,
		    addr, sizeof(addr)) == NULL)
			continue;
		fprintf(fp, "%s\t%u\tIN\t%s\t%s\n", owner, r->ttl,
		    r->type == TYPE_A ? "A" : "AAAA", addr);
	}
	return ferror(fp) ? -1 : 0;
}

/* RRsets of the new data of DF: what the summary calls records. */
static size_t
zdiff_total(const struct rdiff *df)
{
	return df->sets_added + df->sets_changed + df->sets_same;
}

static void
sum_add(struct zdiff *sum, const struct rdiff *df)
{
	sum->total += zdiff_total(df);
	sum->added += df->sets_added;
	sum->changed += df->sets_changed;
	sum->removed += df->sets_removed;
}

/* Every change of DF, sorted, one a line. */
static void
print_changes(FILE *out, struct rdiff *df)
{
	char *text;

	rdiff_sort(df);
	text = rdiff_text(df, SIZE_MAX);
	fputs(text, out);
	free(text);
}

/* The last line: the counts. */
static void
print_sum(FILE *out, size_t nzones, const struct zdiff *sum, bool dry_run)
{
	fprintf(out, "%zu zone%s, %zu record%s: %zu added, %zu changed, %zu removed%s\n",
	    nzones, nzones == 1 ? "" : "s", sum->total, sum->total == 1 ? "" : "s",
	    sum->added, sum->changed, sum->removed,
	    dry_run ? " (dry run: nothing written)" : "");
}

/* The zone of RS named NAME, or SIZE_MAX. */
static size_t
zone_index(const struct recset *rs, const char *name)
{
	for (size_t z = 0; z < rs->nzones; z++)
		if (strcmp(rs->zones[z].name, name) == 0)
			return z;
	return SIZE_MAX;
}

/*
 * --dry-run -c: the records of RS (by zone: ZR) against what CFG's
 * [records] sources give now, zone by zone, and the zones they would
 * empty.  Returns an exit code.
 */
static int
compare_with_config(const struct config *cfg, const struct recset *rs,
    struct zrecs *zr, FILE *out, FILE *err)
{
	struct recset base;
	struct diag d;
	struct zdiff sum = { 0, 0, 0, 0 };
	size_t nzones = 0;
	int rc = IMPORT_OK;

	recset_init(&base);
	diag_init(&d);
	for (size_t i = 0; i < cfg->nsources; i++)
		(void)source_load(cfg, cfg->sources[i], &base, &d);
	if (d.nerrors == 0)
		(void)sources_finish(cfg, &base, &d);
	if (d.nerrors > 0) {
		diag_print(&d, err);
		fprintf(err, "pldns import: the sources of %s have %zu error%s; "
		    "nothing to compare with\n", cfg->path, d.nerrors,
		    d.nerrors == 1 ? "" : "s");
		rc = IMPORT_DATAERR;
		goto out;
	}
	/* Zones of the new data, then those only the configuration has. */
	for (size_t k = 0; k < rs->nzones + base.nzones; k++) {
		const char *name = k < rs->nzones ? rs->zones[k].name :
		    base.zones[k - rs->nzones].name;
		size_t bz = zone_index(&base, name);
		struct zrecs old = { 0 }, none = { 0 };
		const struct zrecs *nw = k < rs->nzones ? &zr[k] : &none;
		struct rdiff df;

		if (k >= rs->nzones && zone_index(rs, name) != SIZE_MAX)
			continue;
		for (size_t i = 0; bz != SIZE_MAX && i < base.nrecs; i++) {
			const struct rec *r = &base.recs[i];
			if (r->zone == bz)
				zrecs_push(&old, r->owner, r->type, r->ttl, r->rdata,
				    r->rdlen);
		}
		if (nw->n == 0 && old.n == 0)
			continue;
		nzones++;
		rdiff_init(&df);
		zone_diff(&old, nw, &df);
		sum_add(&sum, &df);
		print_changes(out, &df);
		if (df.n == 0)
			fprintf(out, "%s: %zu record%s, unchanged\n", name,
			    zdiff_total(&df), zdiff_total(&df) == 1 ? "" : "s");
		else
			fprintf(out, "%s: %zu record%s (%zu added, %zu changed, "
			    "%zu removed)\n", name, zdiff_total(&df),
			    zdiff_total(&df) == 1 ? "" : "s", df.sets_added,
			    df.sets_changed, df.sets_removed);
		rdiff_clear(&df);
		zrecs_free(&old, false);
	}
	print_sum(out, nzones, &sum, true);
out:
	recset_clear(&base);
	diag_clear(&d);
	return rc;
}

/*
 * Writing is all or nothing per run.  Each changed zone is first written to
 * a temporary file ".ZONE.zone.XXXXXX" in the zone directory (fsync).  Only
 * when every one is written does the run commit: it writes the journal
 * (".pldns-import.journal": one "temporary<TAB>final" line per file) to a
 * temporary name, fsyncs it and renames it into place -- the commit point --
 * then renames each file into place and removes the journal.  A run killed
 * before the journal is in place leaves only temporary files: the old zone
 * files are untouched.  The next run (not a dry run) first finishes what a
 * journal names (roll forward), then removes every leftover temporary file.
 * A failed write (a full disk, EFBIG under a file size limit) removes what
 * was staged and writes nothing.
 */
#define JOURNAL		".pldns-import.journal"

struct staged {
	char *tmp, *path;		/* basenames in the zone directory */
};

struct stage {
	struct staged *v;
	size_t n;
};

/* Makes renames and removals in DIR durable. */
static int
dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* Writes the zone to a new temporary file in DIR, recorded in ST for the
 * commit.  Returns 0 or -1 (errno set; nothing left behind). */
static int
zone_stage(struct stage *st, const char *dir, const char *zone,
    uint32_t serial, uint32_t defttl, const struct zrecs *z, char *const *srcs,
    size_t nsrcs)
{
	char *tmp;
	int fd, saved;
	FILE *fp;

	xasprintf(&tmp, "%s/.%s.zone.XXXXXX", dir, zone);
	if ((fd = mkstemp(tmp)) == -1) {
		saved = errno;
		free(tmp);
		errno = saved;
		return -1;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		saved = errno;
		close(fd);
		goto fail;
	}
	errno = 0;
	if (zone_write(fp, zone, serial, defttl, z, srcs, nsrcs) != 0 ||
	    fflush(fp) != 0 || fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
		saved = errno ? errno : EIO;
		fclose(fp);
		goto fail;
	}
	if (fclose(fp) != 0) {
		saved = errno;
		goto fail;
	}
	st->v = xreallocarray(st->v, st->n + 1, sizeof(*st->v));
	st->v[st->n].tmp = xstrdup(strrchr(tmp, '/') + 1);
	xasprintf(&st->v[st->n].path, "%s.zone", zone);
	st->n++;
	free(tmp);
	return 0;
fail:
	unlink(tmp);
	free(tmp);
	errno = saved;
	return -1;
}

/* Removes the staged files (a run that failed). */
static void
stage_abort(struct stage *st, const char *dir)
{
	for (size_t i = 0; i < st->n; i++) {
		char *p = path_join(dir, st->v[i].tmp);
		unlink(p);
		free(p);
	}
}

static void
stage_free(struct stage *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].tmp);
		free(st->v[i].path);
	}
	free(st->v);
	st->v = NULL;
	st->n = 0;
}

/* Renames the temporary files a journal names into place; what is gone was
 * renamed already. */
static void
journal_replay(const char *dir, const char *journal)
{
	FILE *fp = fopen(journal, "re");
	char *line = NULL, *tab;
	size_t cap = 0;
	ssize_t n;

	if (fp == NULL)
		return;
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if ((tab = strchr(line, '\t')) == NULL || strchr(line, '/') != NULL)
			continue;
		*tab = '\0';
		char *from = path_join(dir, line), *to = path_join(dir, tab + 1);
		(void)rename(from, to);
		free(from);
		free(to);
	}
	free(line);
	fclose(fp);
}

/* Whether NAME is one of our temporary files: ".ZONE.zone.XXXXXX" or the
 * journal's ".pldns-import.journal.XXXXXX". */
static bool
is_leftover(const char *name)
{
	size_t n = strlen(name);

	if (name[0] != '.' || n < 8 || name[n - 7] != '.')
		return false;
	return (n > 12 && strncmp(name + n - 12, ".zone.", 6) == 0) ||
	    (n == strlen(JOURNAL) + 7 && strncmp(name, JOURNAL, strlen(JOURNAL)) == 0);
}

/*
 * Finishes or undoes what a killed run left in DIR: a journal is replayed
 * (the run had committed), then every temporary file is removed (it had
 * not, or they are what the replay did not need).
 */
static void
stage_recover(const char *dir)
{
	char *journal = path_join(dir, JOURNAL);
	DIR *dp;
	struct dirent *de;

	if (access(journal, F_OK) == 0) {
		journal_replay(dir, journal);
		(void)dir_sync(dir);
		unlink(journal);
	}
	free(journal);
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (is_leftover(de->d_name)) {
			char *p = path_join(dir, de->d_name);
			unlink(p);
			free(p);
		}
	}
	closedir(dp);
	(void)dir_sync(dir);
}

/* Puts every staged file in place (see above).  Returns 0, or -1 with
 * errno set when the journal could not be written (nothing changed). */
static int
stage_commit(struct stage *st, const char *dir)
{
	char *journal = path_join(dir, JOURNAL), *tmp;
	int fd, saved = 0;
	FILE *fp;

	if (st->n == 0) {
		free(journal);
		return 0;
	}
	xasprintf(&tmp, "%s.XXXXXX", journal);
	if ((fd = mkstemp(tmp)) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		saved = errno;
		if (fd != -1) {
			close(fd);
			unlink(tmp);
		}
		goto out;
	}
	for (size_t i = 0; i < st->n; i++)
		fprintf(fp, "%s\t%s\n", st->v[i].tmp, st->v[i].path);
	if (fflush(fp) != 0 || fsync(fd) != 0 || ferror(fp)) {
		saved = errno ? errno : EIO;
		fclose(fp);
		unlink(tmp);
		goto out;
	}
	if (fclose(fp) != 0 || rename(tmp, journal) != 0 || dir_sync(dir) != 0) {
		saved = errno;
		unlink(tmp);
		unlink(journal);
		goto out;
	}
	/* Committed: from here on a kill is rolled forward by the next run. */
	journal_replay(dir, journal);
	(void)dir_sync(dir);
	unlink(journal);
	(void)dir_sync(dir);
out:
	free(tmp);
	free(journal);
	errno = saved;
	return saved ? -1 : 0;
}

/* One run at a time in DIR: they would remove each other's files.  Returns
 * the descriptor holding the lock (on the directory itself; closing it
 * unlocks), or -1 with errno set. */
static int
stage_lock(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* "csv:path" -> "path". */
static const char *
spec_path(const char *spec)
{
	static const char *const pfx[] = { "csv:", "json:", "hosts:", "zone:" };

	for (size_t i = 0; i < nitems(pfx); i++)
		if (strncmp(spec, pfx[i], strlen(pfx[i])) == 0)
			return spec + strlen(pfx[i]);
	return spec;
}

/* True when record R (at "file:line" or "file: $...") comes from PATH. */
static bool
where_from(const struct rec *r, const char *path)
{
	size_t n = strlen(path);

	if (r->file == NULL)
		return false;
	if (r->line != 0)
		return strcmp(r->file, path) == 0;
	return strncmp(r->file, path, n) == 0 && r->file[n] == ':';
}

static int
mkdirs(const char *dir)
{
	char *p = xstrdup(dir);
	int rc = 0;

	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

/* One run of pldns import: what its phases share. */
struct import_job {
	const struct config *cfg;
	char *const *specs;
	size_t nspecs;
	const char *dir;
	bool dry_run;
	FILE *out, *err;
	struct recset rs;
	struct zrecs *zr;		/* per zone of rs: its records */
	bool *fed;			/* [zone * nspecs + spec]: spec fed zone */
	struct stage stage;
	struct zdiff sum;
	size_t nzones;
	int rc;
};

/* The sources to import: FILES, else the configuration's.  Returns
 * IMPORT_OK, or the exit code when there are none or one is unreadable. */
static int
job_specs(struct import_job *job, const struct config *cfg,
    char *const *files, int nfiles)
{
	int bad = 0;

	job->specs = files;
	job->nspecs = nfiles > 0 ? (size_t)nfiles : 0;
	if (job->nspecs == 0) {
		job->specs = cfg->sources;
		job->nspecs = cfg->nsources;
	}
	if (job->nspecs == 0) {
		fprintf(job->err, "pldns import: no sources: name files, or "
		    "[records] sources in the config\n");
		return IMPORT_NOINPUT;
	}
	for (size_t i = 0; i < job->nspecs; i++) {
		const char *path = spec_path(job->specs[i]);
		if (access(path, R_OK) != 0) {
			fprintf(job->err, "%s: cannot read: %s\n", path,
			    strerror(errno));
			bad++;
		}
	}
	return bad ? IMPORT_NOINPUT : IMPORT_OK;
}

/* Every source into the job's recset, checked across sources.  Returns
 * IMPORT_OK or IMPORT_DATAERR (the problems printed). */
static int
job_load(struct import_job *job, struct diag *d)
{
	for (size_t i = 0; i < job->nspecs; i++)
		(void)source_load(job->cfg, job->specs[i], &job->rs, d);
	if (d->nerrors == 0)
		(void)sources_finish(job->cfg, &job->rs, d);
	diag_print(d, job->err);
	if (d->nerrors > 0) {
		fprintf(job->err, "pldns import: %zu error%s; nothing written\n",
		    d->nerrors, d->nerrors == 1 ? "" : "s");
		return IMPORT_DATAERR;
	}
	return IMPORT_OK;
}

/* The zone directory made, locked (*LOCKFD) and cleared of what an
 * interrupted run left.  Returns IMPORT_OK or IMPORT_CANTCREAT. */
static int
job_prepare_dir(struct import_job *job, int *lockfd)
{
	if (mkdirs(job->dir) != 0) {
		fprintf(job->err, "%s: cannot create directory: %s\n", job->dir,
		    strerror(errno));
		return IMPORT_CANTCREAT;
	}
	if ((*lockfd = stage_lock(job->dir)) == -1) {
		fprintf(job->err, "%s: cannot lock (another pldns import?): %s\n",
		    job->dir, strerror(errno));
		return IMPORT_CANTCREAT;
	}
	stage_recover(job->dir);
	return IMPORT_OK;
}

/* One pass: each zone's records, and which sources fed it. */
static void
job_collect(struct import_job *job)
{
	const struct recset *rs = &job->rs;
	size_t nz = rs->nzones ? rs->nzones : 1;

	job->zr = xcalloc(nz, sizeof(*job->zr));
	job->fed = xcalloc(nz * job->nspecs, sizeof(*job->fed));
	for (size_t i = 0, last = SIZE_MAX; i < rs->nrecs; i++) {
		const struct rec *rr = &rs->recs[i];
		struct zrecs *z = &job->zr[rr->zone];

		zrecs_push(z, rr->owner, rr->type, rr->ttl, rr->rdata, rr->rdlen);
		z->v[z->n - 1].file = rr->file;
		z->v[z->n - 1].line = rr->line;
		/* A source's records come together: look up only on change. */
		if (last == SIZE_MAX ||
		    !where_from(rr, spec_path(job->specs[last]))) {
			last = SIZE_MAX;
			for (size_t k = 0; k < job->nspecs && last == SIZE_MAX; k++)
				if (where_from(rr, spec_path(job->specs[k])))
					last = k;
		}
		if (last != SIZE_MAX)
			job->fed[rr->zone * job->nspecs + last] = true;
	}
}

/* The line of a changed zone, and its file staged unless the run is dry
 * or has failed already. */
static void
job_stage_zone(struct import_job *job, const struct rzone *rz,
    struct zrecs *nw, const struct rdiff *df, uint32_t serial,
    const char *path, char **srcs, size_t nsrcs)
{
	FILE *out = job->out;

	fprintf(out, "%s: %zu record%s (%zu added, %zu changed, %zu removed), "
	    "serial %u", rz->name, zdiff_total(df), zdiff_total(df) == 1 ?
	    "" : "s", df->sets_added, df->sets_changed, df->sets_removed, serial);
	if (job->dry_run)
		fprintf(out, ", would write %s\n", path);
	else if (job->rc != IMPORT_OK)
		/* One failed: the run writes nothing. */
		fprintf(out, ", not written\n");
	else if (zone_stage(&job->stage, job->dir, rz->name, serial,
	    job->cfg->record_ttl, nw, srcs, nsrcs) != 0) {
		fprintf(out, "\n");
		fprintf(job->err, "%s: cannot write: %s\n", path, strerror(errno));
		job->rc = IMPORT_CANTCREAT;
	} else
		fprintf(out, ", wrote %s\n", path);
}

/* Zone ZI against its file: the difference told, the new file staged. */
static void
job_zone(struct import_job *job, size_t zi)
{
	const struct rzone *rz = &job->rs.zones[zi];
	struct zrecs *nw = &job->zr[zi], old = { 0 };
	struct rdiff df;
	char **srcs = NULL, *path, why[512];
	size_t nsrcs = 0;
	uint32_t oserial = 0;
	bool has_serial;
	int r;

	if (nw->n == 0)
		return;
	job->nzones++;
	qsort(nw->v, nw->n, sizeof(*nw->v), irec_cmp);
	for (size_t k = 0; k < job->nspecs; k++) {
		if (job->fed[zi * job->nspecs + k]) {
			srcs = xreallocarray(srcs, nsrcs + 1, sizeof(*srcs));
			srcs[nsrcs++] = (char *)(uintptr_t)spec_path(job->specs[k]);
		}
	}

	xasprintf(&path, "%s/%s.zone", job->dir, rz->name);
	r = zone_read(path, rz->name, rz->apex, &old, &oserial, &has_serial,
	    why, sizeof(why));
	if (r == -1) {
		fprintf(job->err, "%s: warning: cannot read the existing zone "
		    "file (%s); it is replaced\n", path, why);
		zrecs_free(&old, true);
	}
	rdiff_init(&df);
	zone_diff(&old, nw, &df);
	sum_add(&job->sum, &df);
	if (job->dry_run)
		print_changes(job->out, &df);

	if (r == 1 && df.n == 0)
		fprintf(job->out, "%s: %zu record%s, unchanged\n", rz->name,
		    zdiff_total(&df), zdiff_total(&df) == 1 ? "" : "s");
	else
		job_stage_zone(job, rz, nw, &df, next_serial(has_serial, oserial),
		    path, srcs, nsrcs);
	rdiff_clear(&df);
	free(path);
	free(srcs);
	zrecs_free(&old, true);
}

/* Every staged file in place, or none when any zone failed. */
static void
job_commit(struct import_job *job)
{
	if (job->rc == IMPORT_OK && stage_commit(&job->stage, job->dir) != 0) {
		fprintf(job->err, "%s/%s: cannot write: %s\n", job->dir, JOURNAL,
		    strerror(errno));
		job->rc = IMPORT_CANTCREAT;
	}
	if (job->rc != IMPORT_OK) {
		stage_abort(&job->stage, job->dir);
		fprintf(job->err, "pldns import: nothing written (the zone files "
		    "are as they were)\n");
	}
}

int
import_run(const char *config_path, const char *zone_dir, bool dry_run,
    char *const *files, int nfiles, FILE *out, FILE *err)
{
	struct import_job job = { .dir = zone_dir != NULL ? zone_dir : ".",
	    .dry_run = dry_run, .out = out, .err = err, .rc = IMPORT_OK };
	struct config *cfg;
	struct diag d;
	int lockfd = -1;

	diag_init(&d);
	cfg = config_path != NULL ? config_load(config_path, &d) : config_new();
	if (cfg == NULL) {
		diag_print(&d, err);
		diag_clear(&d);
		return EX_CONFIG_;
	}
	job.cfg = cfg;
	recset_init(&job.rs);
	if ((job.rc = job_specs(&job, cfg, files, nfiles)) != IMPORT_OK ||
	    (job.rc = job_load(&job, &d)) != IMPORT_OK ||
	    (!dry_run && (job.rc = job_prepare_dir(&job, &lockfd)) != IMPORT_OK))
		goto done;
	job_collect(&job);
	/* --dry-run with a configuration compares with what its sources give
	 * now (what a reload would change), not with the zone files. */
	if (dry_run && config_path != NULL) {
		job.rc = compare_with_config(cfg, &job.rs, job.zr, out, err);
		goto done;
	}
	for (size_t zi = 0; zi < job.rs.nzones; zi++)
		job_zone(&job, zi);
	print_sum(out, job.nzones, &job.sum, dry_run);
	if (!dry_run)
		job_commit(&job);
done:
	stage_free(&job.stage);
	if (lockfd != -1)
		close(lockfd);
	for (size_t zi = 0; job.zr != NULL && zi < job.rs.nzones; zi++)
		zrecs_free(&job.zr[zi], false);
	free(job.zr);
	free(job.fed);
	recset_clear(&job.rs);
	config_free(cfg);
	diag_clear(&d);
	return job.rc;
}
