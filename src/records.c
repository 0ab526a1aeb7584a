/* records: the recset every source fills and every snapshot is built from. */
#include <stdlib.h>
#include <string.h>

#include "azure_zones.h"
#include "records.h"
#include "sources.h"
#include "util.h"

struct recpool_chunk {
	struct recpool_chunk *next;
	size_t used, cap;
	uint8_t data[];
};

/* Bytes from the pool, unaligned: names and RDATA are byte strings. */
static uint8_t *
pool_alloc(struct recset *rs, size_t n)
{
	struct recpool_chunk *c = rs->pool;

	if (c == NULL || c->cap - c->used < n) {
		/* 64 KB first, doubling to 1 MB, as the snapshot arena does. */
		size_t want = c == NULL ? (64u << 10) : c->cap * 2;
		if (want > (1u << 20))
			want = 1u << 20;
		size_t cap = n > want ? n : want;
		c = xmalloc(sizeof(*c) + cap);
		c->used = 0;
		c->cap = cap;
		c->next = rs->pool;
		rs->pool = c;
	}
	c->used += n;
	return c->data + c->used - n;
}

void
recset_init(struct recset *rs)
{
	memset(rs, 0, sizeof(*rs));
}

void
recset_clear(struct recset *rs)
{
	for (size_t i = 0; i < rs->nzones; i++) {
		free(rs->zones[i].name);
		strv_free(rs->zones[i].twins);
		free(rs->zones[i].where);
	}
	free(rs->zones);
	free(rs->recs);
	for (struct recpool_chunk *c = rs->pool, *n; c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	recset_init(rs);
}

/* Interns WHERE in the pool: records of one entry share the string, and
 * a string costs its bytes only, not a heap block. */
static const char *
recset_intern(struct recset *rs, const char *where)
{
	size_t n;
	char *p;

	if (where == NULL)
		return NULL;
	if (rs->last_where != NULL && strcmp(rs->last_where, where) == 0)
		return rs->last_where;
	n = strlen(where) + 1;
	p = (char *)pool_alloc(rs, n);
	memcpy(p, where, n);
	rs->last_where = p;
	return p;
}

void
recset_reserve(struct recset *rs, size_t n)
{
	if (rs->nrecs + n > rs->caprecs) {
		rs->caprecs = rs->nrecs + n;
		rs->recs = xreallocarray(rs->recs, rs->caprecs, sizeof(*rs->recs));
	}
}

static void
strv_push(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return;
	*v = xreallocarray(*v, *n + 2, sizeof(char *));
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

size_t
recset_zone(struct recset *rs, const struct config *cfg, const char *name,
    const char *where)
{
	char twins[AZURE_TWINS_MAX][AZURE_NAME_MAX];
	const struct zone_conf *zc;
	struct rzone *z;
	const char *err;
	int n;

	for (size_t i = 0; i < rs->nzones; i++)
		if (strcmp(rs->zones[i].name, name) == 0)
			return i;
	if (rs->nzones == rs->capzones) {
		rs->capzones = rs->capzones ? rs->capzones * 2 : 16;
		rs->zones = xreallocarray(rs->zones, rs->capzones, sizeof(*rs->zones));
	}
	z = &rs->zones[rs->nzones];
	memset(z, 0, sizeof(*z));
	z->name = xstrdup(name);
	if (wire_name_from_str(name, z->apex, &err) < 0)
		z->apex[0] = 0;		/* callers validated the name already */
	wire_name_lower(z->apex, z->apex, (size_t)wire_name_len(z->apex, WIRE_NAME_MAX));
	z->twins = xcalloc(1, sizeof(char *));
	n = azure_zone_twins(name, twins, AZURE_TWINS_MAX);
	for (int i = 0; i < n; i++)
		strv_push(&z->twins, &z->ntwins, twins[i]);
	z->missing = cfg ? cfg->missing : MISSING_NXDOMAIN;
	z->where = where ? xstrdup(where) : NULL;
	zc = cfg ? config_zone(cfg, name) : NULL;
	if (zc != NULL) {
		/* Configured twins add to the table's: an operator may have a
		 * forwarder zone the table does not know yet. */
		for (size_t i = 0; i < zc->ntwins; i++)
			strv_push(&z->twins, &z->ntwins, zc->twins[i]);
		if (zc->missing >= 0)
			z->missing = zc->missing;
		if (zc->multi >= 0)
			z->multi = zc->multi != 0;
	}
	return rs->nzones++;
}

struct rec *
recset_add(struct recset *rs, size_t zidx, const uint8_t *owner, uint16_t type,
    uint32_t ttl, const uint8_t *rdata, uint16_t rdlen, const char *where)
{
	struct rec *r;
	int olen = wire_name_len(owner, WIRE_NAME_MAX);
	uint8_t *o, *d;

	if (olen < 1)
		olen = 1;
	if (rs->nrecs == rs->caprecs) {
		rs->caprecs = rs->caprecs ? rs->caprecs * 2 : 256;
		rs->recs = xreallocarray(rs->recs, rs->caprecs, sizeof(*rs->recs));
	}
	/* Records of one owner usually come together: share its copy. */
	if (rs->nrecs > 0 && memcmp(rs->recs[rs->nrecs - 1].owner, owner, (size_t)olen) == 0 &&
	    wire_name_len(rs->recs[rs->nrecs - 1].owner, WIRE_NAME_MAX) == olen)
		o = (uint8_t *)(uintptr_t)rs->recs[rs->nrecs - 1].owner;
	else {
		o = pool_alloc(rs, (size_t)olen);
		wire_name_lower(o, owner, (size_t)olen);
	}
	d = pool_alloc(rs, rdlen);
	memcpy(d, rdata, rdlen);
	r = &rs->recs[rs->nrecs++];
	memset(r, 0, sizeof(*r));
	r->owner = o;
	r->type = type;
	r->rclass = CLASS_IN;
	r->ttl = ttl;
	r->rdlen = rdlen;
	r->rdata = d;
	r->where = recset_intern(rs, where);
	r->zone = (uint32_t)zidx;
	return r;
}

int
records_load(const struct config *cfg, struct recset *rs, struct diag *d)
{
	int rc = 0;

	/* Zones declared in the config exist even when empty, so that their
	 * names answer NXDOMAIN rather than being forwarded. */
	for (size_t i = 0; i < cfg->nzones; i++) {
		const struct zone_conf *zc = &cfg->zones[i];
		size_t z = recset_zone(rs, cfg, zc->name, zc->where);

		if (zc->file != NULL) {
			rs->zones[z].from_file = true;
			if (source_zone_file(cfg, zc->name, zc->file, rs, d) != 0)
				rc = -1;
		}
	}
	for (size_t i = 0; i < cfg->nsources; i++)
		if (source_load(cfg, cfg->sources[i], rs, d) != 0)
			rc = -1;
	if (rc == 0 && sources_finish(cfg, rs, d) != 0)
		rc = -1;
	return rc;
}
