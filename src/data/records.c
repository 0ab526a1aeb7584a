/* records: the recset every source fills and every snapshot is built from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "data/azure_zones.h"
#include "util/hash.h"
#include "data/records.h"
#include "util/util.h"

/* ---- the pool ---- */

struct recpool_chunk {
	struct recpool_chunk *next;
	size_t used, cap;
	size_t size;			/* as allocated, this header included */
	uint8_t data[];
};

/* A chunk's size, this header included: 2 MB fills one huge page. */
#define CHUNK_MIN	(64u << 10)
#define CHUNK_MAX	(2u << 20)

void *
recpool_get(struct recpool *p, size_t n, size_t align)
{
	struct recpool_chunk *c = p->head;
	size_t off = c ? (c->used + align - 1) & ~(align - 1) : 0;

	if (c == NULL || off + n > c->cap) {
		/* Chunks grow from 64 KB to 2 MB: small data stays small (fresh
		 * pages are costly on some virtual machines), large data makes
		 * few allocations, each faulted in at once (bigmem_alloc). */
		size_t want = c == NULL ? CHUNK_MIN : c->size * 2;
		if (want > CHUNK_MAX)
			want = CHUNK_MAX;
		size_t size = sizeof(*c) + n > want ? sizeof(*c) + n : want;
		c = bigmem_alloc(size);
		c->used = 0;
		c->cap = size - sizeof(*c);
		c->size = size;
		c->next = p->head;
		p->head = c;
		off = 0;
	}
	c->used = off + n;
	return c->data + off;
}

void
recpool_free(struct recpool *p)
{
	for (struct recpool_chunk *c = p->head, *n; c != NULL; c = n) {
		n = c->next;
		bigmem_free(c, c->size);
	}
	p->head = NULL;
}

void
recpool_take(struct recpool *dst, struct recpool *src)
{
	struct recpool_chunk *c = src->head;

	if (c == NULL)
		return;
	/* Behind DST's chunks, so that DST keeps filling its newest one. */
	if (dst->head == NULL)
		dst->head = c;
	else {
		struct recpool_chunk *t = dst->head;
		while (t->next != NULL)
			t = t->next;
		t->next = c;
	}
	src->head = NULL;
}

void
recpool_mark(const struct recpool *p, struct recpool_mark *m)
{
	m->chunk = p->head;
	m->used = p->head ? p->head->used : 0;
}

void
recpool_rewind(struct recpool *p, const struct recpool_mark *m)
{
	while (p->head != NULL && p->head != m->chunk) {
		struct recpool_chunk *c = p->head;
		p->head = c->next;
		bigmem_free(c, c->size);
	}
	if (p->head != NULL)
		p->head->used = m->used;
}

/* ---- the records array ---- */

/*
 * The records live in a mapping of their own rather than on the heap: it
 * grows by remapping (no copy of a million records), and a consumer can
 * give back the part it has walked (recset_release).
 */
static void
recs_resize(struct recset *rs, size_t n)
{
	size_t ps = page_size();
	size_t bytes = (n * sizeof(struct rec) + ps - 1) & ~(ps - 1);
	void *p;

	if (bytes <= rs->recs_mapped)
		return;
	if (rs->recs == NULL)
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else
		p = mremap(rs->recs, rs->recs_mapped, bytes, MREMAP_MAYMOVE);
	/* Out of memory: a reload's guard unwinds, a start-up exits. */
	p = oom_guard_map(rs->recs, p, bytes);
	/* Huge pages where the mapping allows: a million records fault in
	 * 2 MB at a time (recset_reserve populates what it asks for). */
	bigmem_advise(p, bytes);
	rs->recs = p;
	rs->recs_mapped = bytes;
	rs->caprecs = bytes / sizeof(struct rec);
}

void
recset_reserve(struct recset *rs, size_t n)
{
	size_t had = rs->caprecs;

	if (rs->nrecs + n <= rs->caprecs)
		return;
	recs_resize(rs, rs->nrecs + n);
	/* Asked for: these will be filled (a doubling might not be). */
	bigmem_populate(rs->recs + had, (rs->caprecs - had) * sizeof(*rs->recs));
}

void
recset_release(struct recset *rs, size_t upto)
{
	size_t off = (upto * sizeof(struct rec)) & ~(page_size() - 1);

	if (off > rs->recs_mapped)
		off = rs->recs_mapped;
	if (off <= rs->recs_gone)
		return;
	/* A guard knows the mapping by where what is left of it starts. */
	if (off < rs->recs_mapped)
		(void)oom_guard_map((char *)rs->recs + rs->recs_gone,
		    (char *)rs->recs + off, rs->recs_mapped - off);
	else
		oom_guard_unmap((char *)rs->recs + rs->recs_gone);
	munmap((char *)rs->recs + rs->recs_gone, off - rs->recs_gone);
	rs->recs_gone = off;
}

/* ---- the recset ---- */

void
recset_init(struct recset *rs)
{
	memset(rs, 0, sizeof(*rs));
}

static void
zone_free(struct rzone *z)
{
	free(z->name);
	strv_free(z->twins);
	free(z->where);
}

void
recset_clear(struct recset *rs)
{
	for (size_t i = 0; i < rs->nzones; i++)
		zone_free(&rs->zones[i]);
	free(rs->zones);
	if (rs->recs != NULL && rs->recs_mapped > rs->recs_gone) {
		oom_guard_unmap((char *)rs->recs + rs->recs_gone);
		munmap((char *)rs->recs + rs->recs_gone,
		    rs->recs_mapped - rs->recs_gone);
	}
	recpool_free(&rs->pool);
	recpool_free(&rs->strs);
	recidx_clear(rs);
	recset_init(rs);
}

const char *
recset_file(struct recset *rs, const char *file)
{
	size_t n;
	char *p;

	if (file == NULL)
		return NULL;
	if (rs->last_file != NULL && (rs->last_file == file ||
	    strcmp(rs->last_file, file) == 0))
		return rs->last_file;
	n = strlen(file) + 1;
	p = recpool_get(&rs->strs, n, 1);
	memcpy(p, file, n);
	rs->last_file = p;
	return p;
}

const char *
recset_where(const struct rec *r, char *buf, size_t len)
{
	if (r->file == NULL)
		return NULL;
	if (r->line == 0)
		pl_strlcpy(buf, r->file, len);
	else
		snprintf(buf, len, "%s:%lu", r->file, (unsigned long)r->line);
	return buf;
}

const char *
recset_where_str(struct recset *rs, const struct rec *r)
{
	char buf[4096];
	size_t n;
	char *p;

	if (r->line == 0)
		return r->file;
	n = (size_t)snprintf(buf, sizeof(buf), "%s:%lu", r->file,
	    (unsigned long)r->line) + 1;
	if (n > sizeof(buf))
		n = sizeof(buf);
	p = recpool_get(&rs->strs, n, 1);
	memcpy(p, buf, n - 1);
	p[n - 1] = '\0';
	return p;
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

	for (size_t i = rs->nzones; i > 0; i--)
		if (strcmp(rs->zones[i - 1].name, name) == 0)
			return i - 1;
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
recset_add_at(struct recset *rs, size_t zidx, const uint8_t *owner, uint16_t type,
    uint32_t ttl, const uint8_t *rdata, uint16_t rdlen, const char *file,
    unsigned long line)
{
	struct rec *r, *prev;
	int olen = wire_name_len(owner, WIRE_NAME_MAX);
	uint8_t *o, *d;

	if (olen < 1)
		olen = 1;
	if (rs->nrecs == rs->caprecs)
		recs_resize(rs, rs->caprecs ? rs->caprecs * 2 : 256);
	/* Records of one owner usually come together: share its copy. */
	prev = rs->nrecs > 0 ? &rs->recs[rs->nrecs - 1] : NULL;
	if (prev != NULL && prev->owner[0] == owner[0] &&
	    memcmp(prev->owner, owner, (size_t)olen) == 0 &&
	    wire_name_len(prev->owner, WIRE_NAME_MAX) == olen)
		o = (uint8_t *)(uintptr_t)prev->owner;
	else {
		o = recpool_get(&rs->pool, (size_t)olen, 1);
		wire_name_lower(o, owner, (size_t)olen);
	}
	d = recpool_get(&rs->pool, 2 + (size_t)rdlen, 1);
	d[0] = (uint8_t)(rdlen >> 8);
	d[1] = (uint8_t)rdlen;
	memcpy(d + 2, rdata, rdlen);
	r = &rs->recs[rs->nrecs++];
	r->owner = o;
	r->rdata = d + 2;
	r->file = recset_file(rs, file);
	r->line = (uint32_t)line;
	r->ttl = ttl;
	r->zone = (uint32_t)zidx;
	r->type = type;
	r->rdlen = rdlen;
	return r;
}

struct rec *
recset_add(struct recset *rs, size_t zidx, const uint8_t *owner, uint16_t type,
    uint32_t ttl, const uint8_t *rdata, uint16_t rdlen, const char *where)
{
	return recset_add_at(rs, zidx, owner, type, ttl, rdata, rdlen, where, 0);
}

void
recset_mark(const struct recset *rs, struct recset_mark *m)
{
	m->nrecs = rs->nrecs;
	m->nzones = rs->nzones;
	recpool_mark(&rs->pool, &m->pool);
}

void
recset_rewind(struct recset *rs, const struct recset_mark *m)
{
	bool indexed = rs->idx.n > 0 && rs->nrecs > m->nrecs;

	while (rs->nzones > m->nzones)
		zone_free(&rs->zones[--rs->nzones]);
	rs->nrecs = m->nrecs;
	recpool_rewind(&rs->pool, &m->pool);
	if (indexed) {
		/* Rare (a source with errors): index what is left afresh
		 * rather than unlink from every chain.  Records of zone files
		 * come in too; the checks skip their zones. */
		recidx_clear(rs);
		recidx_reserve(rs, rs->nrecs);
		for (size_t i = 0; i < rs->nrecs; i++) {
			const struct rec *r = &rs->recs[i];
			if (r->type != TYPE_A && r->type != TYPE_AAAA)
				continue;
			size_t sl = recidx_slot(rs, r->owner, (size_t)wire_name_len(
			    r->owner, WIRE_NAME_MAX), r->type);
			recidx_link(rs, sl, i);
		}
	}
}

/* ---- the (owner, type) index ---- */

/* Keyed (hash.h): a source written to collide cannot slow a load. */
static inline uint32_t
idx_hash(const uint8_t *owner, size_t len, uint16_t type)
{
	return (uint32_t)hash_more(hash_start() ^ type, owner, len);
}

static void
idx_rehash(struct recset *rs, size_t ncap)
{
	struct recidx *x = &rs->idx;
	/* Hashing touches every page of a large table, in no order:
	 * faulted in at once (bigmem_alloc). */
	struct recidx_slot *ns = bigmem_alloc(ncap * sizeof(*ns));

	for (size_t i = 0; i < x->cap; i++) {
		size_t j;

		if (x->slots[i].head == 0)
			continue;
		j = x->slots[i].hash & (ncap - 1);
		while (ns[j].head != 0)
			j = (j + 1) & (ncap - 1);
		ns[j] = x->slots[i];
	}
	bigmem_free(x->slots, x->cap * sizeof(*x->slots));
	x->slots = ns;
	x->cap = ncap;
}

void
recidx_reserve(struct recset *rs, size_t n)
{
	size_t want = rs->idx.n + n, cap = rs->idx.cap ? rs->idx.cap : 1024;

	/* At most half full: most lookups end at their first slot. */
	while (cap < want * 2)
		cap *= 2;
	if (cap != rs->idx.cap)
		idx_rehash(rs, cap);
}

size_t
recidx_slot(struct recset *rs, const uint8_t *owner, size_t olen, uint16_t type)
{
	struct recidx *x = &rs->idx;
	uint32_t h = idx_hash(owner, olen, type);
	size_t j;

	if ((x->n + 1) * 2 > x->cap)
		recidx_reserve(rs, 1);
	j = h & (x->cap - 1);
	for (;;) {
		struct recidx_slot *sl = &x->slots[j];
		if (sl->head == 0) {
			sl->hash = h;
			return j;
		}
		if (sl->hash == h) {
			const struct rec *r = &rs->recs[sl->head - 1];
			if (r->type == type && r->owner[0] == owner[0] &&
			    memcmp(r->owner, owner, olen) == 0)
				return j;
		}
		j = (j + 1) & (x->cap - 1);
	}
}

void
recidx_prefetch(const struct recset *rs, const uint8_t *owner, size_t olen,
    uint16_t type)
{
	const struct recidx *x = &rs->idx;

	if (x->cap > 0)
		__builtin_prefetch(&x->slots[idx_hash(owner, olen, type) &
		    (x->cap - 1)], 1);
}

void
recidx_link(struct recset *rs, size_t slot, size_t i)
{
	struct recidx *x = &rs->idx;
	struct recidx_slot *sl = &x->slots[slot];

	if (i >= x->capnext) {
		size_t ncap = x->capnext ? x->capnext : 1024;
		while (ncap <= i)
			ncap *= 2;
		if (ncap < rs->caprecs)
			ncap = rs->caprecs;
		uint32_t *nn = bigmem_alloc(ncap * sizeof(*nn));
		if (x->capnext > 0)
			memcpy(nn, x->next, x->capnext * sizeof(*nn));
		bigmem_free(x->next, x->capnext * sizeof(*x->next));
		x->next = nn;
		x->capnext = ncap;
	}
	if (sl->head == 0)
		x->n++;
	x->next[i] = sl->head;
	sl->head = (uint32_t)i + 1;
}

void
recidx_clear(struct recset *rs)
{
	bigmem_free(rs->idx.slots, rs->idx.cap * sizeof(*rs->idx.slots));
	bigmem_free(rs->idx.next, rs->idx.capnext * sizeof(*rs->idx.next));
	memset(&rs->idx, 0, sizeof(rs->idx));
}
