/* rdiff: record-by-record differences between two sets of records. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "data/rdiff.h"
#include "util/util.h"
#include "wire/wire.h"

#define GROUP_STACK	16	/* records per side of a group kept on the stack */
#define LOOKUPS_AHEAD	16	/* lookups in flight when walking a table */

void
rdiff_init(struct rdiff *df)
{
	memset(df, 0, sizeof(*df));
}

void
rdiff_clear(struct rdiff *df)
{
	free(df->v);
	memset(df, 0, sizeof(*df));
}

static void
push(struct rdiff *df, enum rdiff_op op, const struct rdiff_rec *old,
    const struct rdiff_rec *nw)
{
	struct rdiff_change *c;

	if (df->n == df->cap) {
		df->cap = df->cap ? df->cap * 2 : 64;
		df->v = xreallocarray(df->v, df->cap, sizeof(*df->v));
	}
	c = &df->v[df->n++];
	memset(c, 0, sizeof(*c));
	c->op = op;
	if (old != NULL)
		c->old = *old;
	if (nw != NULL)
		c->nw = *nw;
	if (op == RDIFF_ADD)
		df->added++;
	else if (op == RDIFF_DEL)
		df->removed++;
	else
		df->changed++;
}

/* ---- order ---- */

/* Offsets of NAME's labels, left to right; returns how many. */
static int
labels(const uint8_t *name, uint8_t off[WIRE_NAME_MAX / 2 + 1])
{
	int n = 0;

	for (int i = 0; name[i] != 0 && n < WIRE_NAME_MAX / 2 + 1; i += name[i] + 1)
		off[n++] = (uint8_t)i;
	return n;
}

/* Canonical order of lower-case names (RFC 4034 6.1). */
static int
name_cmp(const uint8_t *a, const uint8_t *b)
{
	uint8_t oa[WIRE_NAME_MAX / 2 + 1], ob[WIRE_NAME_MAX / 2 + 1];
	int na, nb, i, j;

	if (a == b)
		return 0;
	na = labels(a, oa);
	nb = labels(b, ob);
	for (i = na - 1, j = nb - 1; i >= 0 && j >= 0; i--, j--) {
		const uint8_t *la = a + oa[i], *lb = b + ob[j];
		size_t m = la[0] < lb[0] ? la[0] : lb[0];
		int c = memcmp(la + 1, lb + 1, m);

		if (c != 0)
			return c;
		if (la[0] != lb[0])
			return la[0] < lb[0] ? -1 : 1;
	}
	return na == nb ? 0 : na < nb ? -1 : 1;
}

/* RDATA as a left-justified octet string (RFC 4034 6.2's order). */
static int
rdata_cmp(const struct rdiff_rec *a, const struct rdiff_rec *b)
{
	size_t m = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
	int c = memcmp(a->rdata, b->rdata, m);

	if (c != 0)
		return c;
	return a->rdlen == b->rdlen ? 0 : a->rdlen < b->rdlen ? -1 : 1;
}

static int
set_cmp(const struct rdiff_rec *a, const struct rdiff_rec *b)
{
	int c = name_cmp(a->owner, b->owner);

	if (c != 0)
		return c;
	return a->type == b->type ? 0 : a->type < b->type ? -1 : 1;
}

static int
rec_qcmp(const void *x, const void *y)
{
	const struct rdiff_rec *a = x, *b = y;
	int c = set_cmp(a, b);

	return c != 0 ? c : rdata_cmp(a, b);
}

static int
rdata_qcmp(const void *x, const void *y)
{
	return rdata_cmp(x, y);
}

/* The record a change sorts by: its old side unless it is an addition. */
static const struct rdiff_rec *
key(const struct rdiff_change *c)
{
	return c->op == RDIFF_ADD ? &c->nw : &c->old;
}

static int
change_qcmp(const void *x, const void *y)
{
	const struct rdiff_change *a = x, *b = y;
	int r = rec_qcmp(key(a), key(b));

	if (r != 0)
		return r;
	/* A TTL change and the removal of the same data cannot both be;
	 * what is left is an addition against a change of equal data. */
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	return rdata_cmp(&a->nw, &b->nw);
}

void
rdiff_sort(struct rdiff *df)
{
	if (df->n > 1)
		qsort(df->v, df->n, sizeof(*df->v), change_qcmp);
}

/* ---- comparing ---- */

/*
 * One owner and type: O (NO records) against N (NN), each sorted by RDATA.
 * Common data stays (or changes its TTL); the data left on each side pairs
 * up in order as changes; the rest is added or removed.
 */
static void
group_diff(struct rdiff *df, const struct rdiff_rec *o, size_t no,
    const struct rdiff_rec *n, size_t nn)
{
	const struct rdiff_rec *so[GROUP_STACK], *sn[GROUP_STACK];
	const struct rdiff_rec **ro = so, **rn = sn;
	size_t i = 0, j = 0, nro = 0, nrn = 0, before = df->n;

	if (no == 0 || nn == 0) {
		for (i = 0; i < no; i++)
			push(df, RDIFF_DEL, &o[i], NULL);
		for (j = 0; j < nn; j++)
			push(df, RDIFF_ADD, NULL, &n[j]);
		if (no > 0)
			df->sets_removed++;
		else if (nn > 0)
			df->sets_added++;
		return;
	}
	if (no > GROUP_STACK)
		ro = xreallocarray(NULL, no, sizeof(*ro));
	if (nn > GROUP_STACK)
		rn = xreallocarray(NULL, nn, sizeof(*rn));
	while (i < no || j < nn) {
		int c = i == no ? 1 : j == nn ? -1 : rdata_cmp(&o[i], &n[j]);

		if (c < 0)
			ro[nro++] = &o[i++];
		else if (c > 0)
			rn[nrn++] = &n[j++];
		else {
			if (o[i].ttl != n[j].ttl)
				push(df, RDIFF_CHANGE, &o[i], &n[j]);
			i++;
			j++;
		}
	}
	for (i = 0; i < nro || i < nrn; i++) {
		if (i < nro && i < nrn)
			push(df, RDIFF_CHANGE, ro[i], rn[i]);
		else if (i < nro)
			push(df, RDIFF_DEL, ro[i], NULL);
		else
			push(df, RDIFF_ADD, NULL, rn[i]);
	}
	if (df->n > before)
		df->sets_changed++;
	else
		df->sets_same++;
	if (ro != so)
		free(ro);
	if (rn != sn)
		free(rn);
}

/* End of the group (owner and type) that starts at I. */
static size_t
group_end(const struct rdiff_rec *v, size_t n, size_t i)
{
	size_t j = i + 1;

	while (j < n && set_cmp(&v[i], &v[j]) == 0)
		j++;
	return j;
}

void
rdiff_recs(struct rdiff *df, struct rdiff_rec *old, size_t nold,
    struct rdiff_rec *nw, size_t nnew)
{
	size_t i = 0, j = 0;

	if (nold > 1)
		qsort(old, nold, sizeof(*old), rec_qcmp);
	if (nnew > 1)
		qsort(nw, nnew, sizeof(*nw), rec_qcmp);
	while (i < nold || j < nnew) {
		int c = i == nold ? 1 : j == nnew ? -1 : set_cmp(&old[i], &nw[j]);
		size_t ie = c <= 0 ? group_end(old, nold, i) : i;
		size_t je = c >= 0 ? group_end(nw, nnew, j) : j;

		group_diff(df, old + i, ie - i, nw + j, je - j);
		i = ie;
		j = je;
	}
}

/* The records of SET (owned by OWNER), sorted by RDATA, into a new array. */
static struct rdiff_rec *
set_recs(const uint8_t *owner, const struct rrset *set)
{
	struct rdiff_rec *v = xreallocarray(NULL, set->count ? set->count : 1,
	    sizeof(*v));
	const uint8_t *p = set->data;

	for (uint16_t k = 0; k < set->count; k++) {
		memset(&v[k], 0, sizeof(v[k]));
		v[k].owner = owner;
		v[k].type = set->type;
		v[k].ttl = set->ttl;
		v[k].rdlen = (uint16_t)(p[0] << 8 | p[1]);
		v[k].rdata = p + 2;
		p += 2 + v[k].rdlen;
	}
	if (set->count > 1)
		qsort(v, set->count, sizeof(*v), rdata_qcmp);
	return v;
}

/* The loaded RRset of TYPE at N of Z, or NULL (none, or made up). */
static const struct rrset *
loaded_rrset(const struct szone *z, const struct node *n, uint16_t type)
{
	const struct rrset *s;

	if (z == NULL || n == NULL || (s = node_rrset(n, type)) == NULL)
		return NULL;
	return szone_synthesized(z, n, type) ? NULL : s;
}

static bool
set_equal(const struct rrset *a, const struct rrset *b)
{
	return a->ttl == b->ttl && a->count == b->count &&
	    a->datalen == b->datalen && memcmp(a->data, b->data, a->datalen) == 0;
}

/* OLD's RRset against NW's (either NULL) at OWNER. */
static void
set_diff(struct rdiff *df, const uint8_t *owner, const struct rrset *old,
    const struct rrset *nw)
{
	struct rdiff_rec *o = NULL, *n = NULL;

	if (old != NULL && nw != NULL && set_equal(old, nw)) {
		df->sets_same++;
		return;
	}
	if (old != NULL)
		o = set_recs(owner, old);
	if (nw != NULL)
		n = set_recs(owner, nw);
	group_diff(df, o, old != NULL ? old->count : 0, n, nw != NULL ? nw->count : 0);
	free(o);
	free(n);
}

/*
 * Looks the nodes of Z up in OTHER (may be NULL) in order, fetching the
 * table slots of the lookups LOOKUPS_AHEAD nodes on, so that their cache
 * misses overlap: each call gives node I's twin in OTHER, or NULL.
 */
struct walk {
	const struct szone *z, *other;
	uint64_t hash[LOOKUPS_AHEAD];
	size_t len[LOOKUPS_AHEAD];
};

static void
walk_fetch(struct walk *w, size_t i)
{
	const struct node *n;
	size_t a = i % LOOKUPS_AHEAD;

	if (w->other == NULL || i >= szone_nnodes(w->z))
		return;
	n = szone_node_at(w->z, i);
	w->len[a] = (size_t)wire_name_len(n->owner, WIRE_NAME_MAX);
	w->hash[a] = szone_name_hash(n->owner, w->len[a]);
	szone_prefetch_slot(w->other, w->hash[a]);
}

static void
walk_init(struct walk *w, const struct szone *z, const struct szone *other)
{
	w->z = z;
	w->other = other;
	for (size_t i = 0; i < LOOKUPS_AHEAD; i++)
		walk_fetch(w, i);
}

static const struct node *
walk_twin(struct walk *w, size_t i)
{
	size_t a = i % LOOKUPS_AHEAD;
	const struct node *n;

	if (w->other == NULL)
		return NULL;
	n = szone_node_h(w->other, szone_node_at(w->z, i)->owner, w->len[a],
	    w->hash[a]);
	walk_fetch(w, i + LOOKUPS_AHEAD);
	return n;
}

/* Zone OZ against NZ (either NULL, not both). */
static void
zone_diff(struct rdiff *df, const struct szone *oz, const struct szone *nz)
{
	struct walk w;

	if (oz != NULL && nz != NULL &&
	    szone_content_hash(oz) == szone_content_hash(nz) &&
	    szone_nrecords(oz) == szone_nrecords(nz))
		return;
	/* What OZ has, against NZ; then what only NZ has. */
	if (oz != NULL)
		walk_init(&w, oz, nz);
	for (size_t i = 0; oz != NULL && i < szone_nnodes(oz); i++) {
		const struct node *on = szone_node_at(oz, i);
		const struct node *nn = walk_twin(&w, i);

		for (uint16_t k = 0; k < on->nrrsets; k++) {
			const struct rrset *os = &on->rrsets[k];

			if (szone_synthesized(oz, on, os->type))
				continue;
			set_diff(df, on->owner, os, loaded_rrset(nz, nn, os->type));
		}
	}
	if (nz != NULL)
		walk_init(&w, nz, oz);
	for (size_t i = 0; nz != NULL && i < szone_nnodes(nz); i++) {
		const struct node *nn = szone_node_at(nz, i);
		const struct node *on = walk_twin(&w, i);

		for (uint16_t k = 0; k < nn->nrrsets; k++) {
			const struct rrset *ns = &nn->rrsets[k];

			if (szone_synthesized(nz, nn, ns->type) ||
			    loaded_rrset(oz, on, ns->type) != NULL)
				continue;
			set_diff(df, nn->owner, NULL, ns);
		}
	}
}

void
rdiff_snapshots(struct rdiff *df, const struct snapshot *old,
    const struct snapshot *nw)
{
	for (size_t i = 0; old != NULL && i < snapshot_nzones(old); i++) {
		const struct szone *oz = snapshot_zone_at(old, i);

		zone_diff(df, oz, snapshot_zone_named(nw, szone_name(oz)));
	}
	for (size_t i = 0; nw != NULL && i < snapshot_nzones(nw); i++) {
		const struct szone *nz = snapshot_zone_at(nw, i);

		if (snapshot_zone_named(old, szone_name(nz)) == NULL)
			zone_diff(df, NULL, nz);
	}
}

void
rdiff_origins_init(struct rdiff_origins *o, size_t max)
{
	memset(o, 0, sizeof(*o));
	o->max = max;
}

void
rdiff_origins_clear(struct rdiff_origins *o)
{
	for (size_t i = 0; i < o->nfiles; i++)
		free(o->files[i]);
	free(o->files);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

/* Whether OZ holds R (owner of LEN octets with HASH, type, data and TTL)
 * as it is. */
static bool
holds(const struct szone *oz, const struct rec *r, size_t len, uint64_t hash)
{
	const struct node *n;
	const struct rrset *set;
	const uint8_t *p;

	if (oz == NULL || (n = szone_node_h(oz, r->owner, len, hash)) == NULL ||
	    (set = loaded_rrset(oz, n, r->type)) == NULL || set->ttl != r->ttl)
		return false;
	p = set->data;
	for (uint16_t k = 0; k < set->count; k++) {
		uint16_t l = (uint16_t)(p[0] << 8 | p[1]);

		if (l == r->rdlen && memcmp(p + 2, r->rdata, l) == 0)
			return true;
		p += 2 + l;
	}
	return false;
}

/* The hash and length of record I's owner, its table slot on the way. */
static void
fetch_ahead(const struct recset *rs, const struct szone **zones, size_t i,
    uint64_t *hash, size_t *len)
{
	const struct rec *r = &rs->recs[i];

	*len = (size_t)wire_name_len(r->owner, WIRE_NAME_MAX);
	*hash = szone_name_hash(r->owner, *len);
	if (zones[r->zone] != NULL)
		szone_prefetch_slot(zones[r->zone], *hash);
}

void
rdiff_origins_collect(struct rdiff_origins *o, const struct recset *rs,
    const struct snapshot *old)
{
	const struct szone **zones = xcalloc(rs->nzones ? rs->nzones : 1,
	    sizeof(*zones));
	const char *last = NULL;

	struct {
		uint64_t hash;
		size_t len;
	} ahead[LOOKUPS_AHEAD];

	for (size_t z = 0; z < rs->nzones; z++)
		zones[z] = snapshot_zone_named(old, rs->zones[z].name);
	/*
	 * One lookup in OLD per record, each a chain of cache misses (table
	 * slot, node, owner) in a table far larger than the caches: the
	 * hash and the slot of the record LOOKUPS_AHEAD places on are taken
	 * first, so that the misses of several lookups overlap.
	 */
	for (size_t i = 0; i < rs->nrecs && i < LOOKUPS_AHEAD; i++)
		fetch_ahead(rs, zones, i, &ahead[i].hash, &ahead[i].len);
	for (size_t i = 0; i < rs->nrecs && o->n < o->max; i++) {
		const struct rec *r = &rs->recs[i];
		struct rdiff_rec *x;
		size_t a = i % LOOKUPS_AHEAD;
		bool held = holds(zones[r->zone], r, ahead[a].len, ahead[a].hash);

		if (i + LOOKUPS_AHEAD < rs->nrecs)
			fetch_ahead(rs, zones, i + LOOKUPS_AHEAD, &ahead[a].hash,
			    &ahead[a].len);
		if (held)
			continue;
		if (o->n == o->cap) {
			o->cap = o->cap ? o->cap * 2 : 64;
			o->v = xreallocarray(o->v, o->cap, sizeof(*o->v));
		}
		/* A source's records come together: one copy per run. */
		if (r->file != NULL && r->file != last) {
			o->files = xreallocarray(o->files, o->nfiles + 1,
			    sizeof(*o->files));
			o->files[o->nfiles++] = xstrdup(r->file);
			last = r->file;
		}
		x = &o->v[o->n++];
		memset(x, 0, sizeof(*x));
		x->owner = r->owner;
		x->rdata = r->rdata;
		x->rdlen = r->rdlen;
		x->type = r->type;
		x->ttl = r->ttl;
		x->file = r->file != NULL ? o->files[o->nfiles - 1] : NULL;
		x->line = r->line;
	}
	free(zones);
	if (o->n > 1)
		qsort(o->v, o->n, sizeof(*o->v), rec_qcmp);
}

void
rdiff_origins_apply(struct rdiff *df, const struct rdiff_origins *o)
{
	for (size_t i = 0; i < df->n && o->n > 0; i++) {
		struct rdiff_change *c = &df->v[i];
		const struct rdiff_rec *f;

		if (c->op == RDIFF_DEL)
			continue;
		f = bsearch(&c->nw, o->v, o->n, sizeof(*o->v), rec_qcmp);
		if (f != NULL) {
			c->nw.file = f->file;
			c->nw.line = f->line;
		}
	}
}

char **
rdiff_emptied_zones(const struct snapshot *old, const struct snapshot *nw)
{
	char **v = NULL;
	size_t n = 0;

	for (size_t i = 0; old != NULL && i < snapshot_nzones(old); i++) {
		const struct szone *oz = snapshot_zone_at(old, i);
		const struct szone *nz = snapshot_zone_named(nw, szone_name(oz));

		if (szone_nrecords(oz) == 0 || (nz != NULL && szone_nrecords(nz) > 0))
			continue;
		v = xreallocarray(v, n + 2, sizeof(*v));
		v[n++] = xstrdup(szone_name(oz));
		v[n] = NULL;
	}
	return v;
}

bool
rdiff_drop_exceeds(size_t old_total, size_t removed, unsigned max_drop)
{
	/* OLD_TOTAL * MAX_DROP / 100 without overflow. */
	size_t allowed = old_total / 100 * max_drop +
	    old_total % 100 * max_drop / 100;

	if (allowed < RDIFF_DROP_FLOOR)
		allowed = RDIFF_DROP_FLOOR;
	return removed > allowed;
}

/* ---- text ---- */

/* R's data in presentation form into BUF. */
static void
rdata_str(const struct rdiff_rec *r, char *buf, size_t len)
{
	uint8_t *w;
	size_t olen, pos = 0, n, at = 0;
	ldns_rr *rr = NULL;

	if ((r->type == TYPE_A && r->rdlen == 4) ||
	    (r->type == TYPE_AAAA && r->rdlen == 16)) {
		if (inet_ntop(r->type == TYPE_A ? AF_INET : AF_INET6, r->rdata,
		    buf, (socklen_t)len) == NULL)
			pl_strlcpy(buf, "?", len);
		return;
	}
	/* Other types through ldns, from a whole record in wire form. */
	olen = (size_t)wire_name_len(r->owner, WIRE_NAME_MAX);
	n = olen + 10 + r->rdlen;
	w = xmalloc(n);
	memcpy(w, r->owner, olen);
	memset(w + olen, 0, 10);
	w[olen] = (uint8_t)(r->type >> 8);
	w[olen + 1] = (uint8_t)r->type;
	w[olen + 3] = CLASS_IN;
	w[olen + 8] = (uint8_t)(r->rdlen >> 8);
	w[olen + 9] = (uint8_t)r->rdlen;
	memcpy(w + olen + 10, r->rdata, r->rdlen);
	pl_strlcpy(buf, "?", len);
	if (ldns_wire2rr(&rr, w, n, &pos, LDNS_SECTION_ANSWER) == LDNS_STATUS_OK) {
		buf[0] = '\0';
		for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
			char *t = ldns_rdf2str(ldns_rr_rdf(rr, i));

			if (t == NULL)
				continue;
			at += (size_t)snprintf(buf + (at < len ? at : len),
			    at < len ? len - at : 0, "%s%s", i ? " " : "", t);
			free(t);
		}
	}
	ldns_rr_free(rr);
	free(w);
}

const char *
rdiff_format(const struct rdiff_change *c, char *buf, size_t len)
{
	const struct rdiff_rec *r = key(c);
	char name[1024], type[32], od[512], nd[512], where[512] = "";
	char *t = ldns_rr_type2str((ldns_rr_type)r->type);
	size_t n;

	if (wire_name_to_str(r->owner, name, sizeof(name)) < 0)
		pl_strlcpy(name, "?", sizeof(name));
	n = strlen(name);
	if (n > 1 && name[n - 1] == '.')
		name[n - 1] = '\0';
	pl_strlcpy(type, t != NULL ? t : "?", sizeof(type));
	free(t);
	if (c->op == RDIFF_ADD) {
		rdata_str(&c->nw, nd, sizeof(nd));
		if (c->nw.file != NULL && c->nw.line != 0)
			snprintf(where, sizeof(where), " (%s:%u)", c->nw.file,
			    (unsigned)c->nw.line);
		else if (c->nw.file != NULL)
			snprintf(where, sizeof(where), " (%s)", c->nw.file);
		snprintf(buf, len, "+ %s %s %s%s", name, type, nd, where);
		return buf;
	}
	rdata_str(&c->old, od, sizeof(od));
	if (c->op == RDIFF_DEL) {
		snprintf(buf, len, "- %s %s %s", name, type, od);
		return buf;
	}
	rdata_str(&c->nw, nd, sizeof(nd));
	if (c->old.ttl != c->nw.ttl)
		snprintf(where, sizeof(where), " ttl %u -> %u", (unsigned)c->old.ttl,
		    (unsigned)c->nw.ttl);
	if (rdata_cmp(&c->old, &c->nw) == 0)
		snprintf(buf, len, "~ %s %s %s%s", name, type, od, where);
	else
		snprintf(buf, len, "~ %s %s %s -> %s%s", name, type, od, nd, where);
	return buf;
}

char *
rdiff_text(const struct rdiff *df, size_t max)
{
	char *out = NULL, line[2048];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL)
		abort();
	for (size_t i = 0; i < df->n && i < max; i++)
		fprintf(f, "%s\n", rdiff_format(&df->v[i], line, sizeof(line)));
	if (df->n > max)
		fprintf(f, "and %zu more\n", df->n - max);
	if (fclose(f) != 0)
		abort();
	return out;
}
