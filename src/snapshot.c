/* snapshot: immutable local zones in hash tables, built once, shared by workers. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "snapshot.h"
#include "util.h"

/*
 * Everything a snapshot owns is carved from one bump arena, so that a
 * million records cost a few large allocations rather than millions of small
 * ones, and freeing a snapshot is a walk over a short chunk list.
 */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	uint8_t data[];
};

struct arena {
	struct arena_chunk *head;
};

static void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;

	n = (n + 7) & ~(size_t)7;
	if (c == NULL || c->cap - c->used < n) {
		size_t cap = n > (1u << 20) ? n : (1u << 20);
		c = xmalloc(sizeof(*c) + cap);
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

static void
arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head, *n;

	for (; c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	a->head = NULL;
}

static uint64_t
name_hash(const uint8_t *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= name[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

/* Open-addressed map from lower-case wire names to small integers. */
struct namemap {
	const uint8_t **keys;
	uint32_t *vals;
	size_t cap, n;		/* cap is a power of two */
};

static void
namemap_init(struct namemap *m, size_t expect)
{
	size_t cap = 16;

	while (cap < expect * 2)
		cap <<= 1;
	m->keys = xcalloc(cap, sizeof(*m->keys));
	m->vals = xcalloc(cap, sizeof(*m->vals));
	m->cap = cap;
	m->n = 0;
}

static void
namemap_clear(struct namemap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* Returns the slot of NAME: its own when present, else the empty one it would take. */
static size_t
namemap_slot(const struct namemap *m, const uint8_t *name, size_t len)
{
	size_t i = (size_t)name_hash(name, len) & (m->cap - 1);

	while (m->keys[i] != NULL) {
		if (m->keys[i][0] == name[0] && memcmp(m->keys[i], name, len) == 0)
			return i;
		i = (i + 1) & (m->cap - 1);
	}
	return i;
}

static int
namemap_get(const struct namemap *m, const uint8_t *name, uint32_t *val)
{
	int len;
	size_t i;

	if (m->cap == 0 || (len = wire_name_len(name, WIRE_NAME_MAX)) < 0)
		return -1;
	i = namemap_slot(m, name, (size_t)len);
	if (m->keys[i] == NULL)
		return -1;
	*val = m->vals[i];
	return 0;
}

static void namemap_put(struct namemap *m, const uint8_t *name, uint32_t val);

static void
namemap_grow(struct namemap *m)
{
	struct namemap n;

	namemap_init(&n, m->cap);
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] != NULL)
			namemap_put(&n, m->keys[i], m->vals[i]);
	namemap_clear(m);
	*m = n;
}

/* NAME must outlive the map (it points into the snapshot arena). */
static void
namemap_put(struct namemap *m, const uint8_t *name, uint32_t val)
{
	size_t len = (size_t)wire_name_len(name, WIRE_NAME_MAX);
	size_t i;

	if ((m->n + 1) * 2 > m->cap)
		namemap_grow(m);
	i = namemap_slot(m, name, len);
	if (m->keys[i] == NULL)
		m->n++;
	m->keys[i] = name;
	m->vals[i] = val;
}

struct szone {
	char *name;
	const uint8_t *apex;
	int missing;
	bool multi;
	uint32_t serial;
	uint64_t content_hash;
	size_t nrecords;
	struct node *nodes;
	size_t nnodes, capnodes;
	struct namemap map;		/* owner -> index in nodes */
	const struct rrset *soa;
};

struct twin {
	const uint8_t *suffix;		/* public suffix, lower-case wire */
	uint32_t zone;
};

struct snapshot {
	atomic_int refs;
	struct config *cfg;
	struct arena arena;
	struct szone *zones;
	size_t nzones;
	size_t nrecords;
	struct namemap zonemap;		/* apex -> zone */
	struct namemap twinmap;		/* public suffix -> zone */
	struct namemap fwdmap;		/* forward suffix -> index in cfg->forwards */
	struct pl_addr *ups;		/* default upstreams, plain and TLS */
	size_t nups;
	struct upstream_tls *tls;
	size_t ntls;
};

/* The [upstream] servers in the order written; tls:// ones noted apart. */
static void
snapshot_upstreams_build(struct snapshot *s, const struct config *cfg)
{
	size_t n = cfg->nupstreams + cfg->nupstream_specs;

	s->ups = xcalloc(n ? n : 1, sizeof(*s->ups));
	s->tls = xcalloc(cfg->nupstream_specs ? cfg->nupstream_specs : 1, sizeof(*s->tls));
	if (cfg->nupstream_specs == 0) {
		/* From resolv.conf: plain servers only. */
		for (size_t i = 0; i < cfg->nupstreams; i++)
			s->ups[s->nups++] = cfg->upstreams[i];
		return;
	}
	for (size_t i = 0; i < cfg->nupstream_specs; i++) {
		const char *spec = cfg->upstream_specs[i], *err;
		struct upstream_tls t;
		struct pl_addr a;

		if (upstream_parse_tls(spec, &t, &err) == 0) {
			s->tls[s->ntls++] = t;
			s->ups[s->nups++] = t.addr;
		} else if (addr_parse(spec, 53, &a, &err) == 0)
			s->ups[s->nups++] = a;
	}
}

static const uint8_t *
arena_name(struct arena *a, const uint8_t *name)
{
	int len = wire_name_len(name, WIRE_NAME_MAX);
	uint8_t *p = arena_alloc(a, (size_t)len);

	memcpy(p, name, (size_t)len);
	return p;
}

/* Canonical order is not needed: records only need grouping by
 * (zone, owner, type), and the hash tables do the lookups. */
static int
rec_cmp(const void *a, const void *b)
{
	const struct rec *x = *(const struct rec *const *)a;
	const struct rec *y = *(const struct rec *const *)b;
	int lx, ly, c;

	if (x->zone != y->zone)
		return x->zone < y->zone ? -1 : 1;
	lx = wire_name_len(x->owner, WIRE_NAME_MAX);
	ly = wire_name_len(y->owner, WIRE_NAME_MAX);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	if ((c = memcmp(x->owner, y->owner, (size_t)lx)) != 0)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->rdlen != y->rdlen)
		return x->rdlen < y->rdlen ? -1 : 1;
	return memcmp(x->rdata, y->rdata, x->rdlen);
}

static struct node *
zone_node_add(struct szone *z, struct arena *a, const uint8_t *owner)
{
	uint32_t idx;

	if (namemap_get(&z->map, owner, &idx) == 0)
		return &z->nodes[idx];
	if (z->nnodes == z->capnodes) {
		z->capnodes = z->capnodes ? z->capnodes * 2 : 16;
		z->nodes = xreallocarray(z->nodes, z->capnodes, sizeof(*z->nodes));
	}
	idx = (uint32_t)z->nnodes++;
	memset(&z->nodes[idx], 0, sizeof(z->nodes[idx]));
	z->nodes[idx].owner = arena_name(a, owner);
	namemap_put(&z->map, z->nodes[idx].owner, idx);
	/* Empty non-terminals: every name between the owner and the apex
	 * exists, so that a query for one answers NODATA, not NXDOMAIN.  The
	 * recursion may move z->nodes, hence the index. */
	const uint8_t *p = wire_name_parent(owner);
	if (p != NULL && !wire_name_equal(owner, z->apex) && wire_name_under(p, z->apex))
		zone_node_add(z, a, p);
	return &z->nodes[idx];
}

static uint64_t
hash_more(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Adds the RRset made of RECS[0..N) (same zone, owner, type) to Z. */
static void
zone_add_rrset(struct szone *z, struct arena *a, struct rec *const *recs, size_t n)
{
	struct node *node = zone_node_add(z, a, recs[0]->owner);
	struct rrset *old = node->rrsets;
	struct rrset *rs;
	uint32_t len = 0, ttl = recs[0]->ttl;
	size_t i, k = 0;

	/* Identical records are one record (RFC 2181 5); mixed TTLs in one set
	 * take the lowest (RFC 2181 5.2). */
	for (i = 0; i < n; i++) {
		if (i > 0 && recs[i]->rdlen == recs[i - 1]->rdlen &&
		    memcmp(recs[i]->rdata, recs[i - 1]->rdata, recs[i]->rdlen) == 0)
			continue;
		len += 2u + recs[i]->rdlen;
		if (recs[i]->ttl < ttl)
			ttl = recs[i]->ttl;
		k++;
	}
	node->rrsets = arena_alloc(a, sizeof(*rs) * (node->nrrsets + 1u));
	if (node->nrrsets > 0)
		memcpy(node->rrsets, old, sizeof(*rs) * node->nrrsets);
	rs = &node->rrsets[node->nrrsets++];
	rs->type = recs[0]->type;
	rs->ttl = ttl;
	rs->count = (uint16_t)(k > 65535 ? 65535 : k);
	rs->datalen = len;
	rs->data = arena_alloc(a, len);
	uint8_t *p = rs->data;
	for (i = 0; i < n; i++) {
		if (i > 0 && recs[i]->rdlen == recs[i - 1]->rdlen &&
		    memcmp(recs[i]->rdata, recs[i - 1]->rdata, recs[i]->rdlen) == 0)
			continue;
		p[0] = (uint8_t)(recs[i]->rdlen >> 8);
		p[1] = (uint8_t)recs[i]->rdlen;
		memcpy(p + 2, recs[i]->rdata, recs[i]->rdlen);
		p += 2 + recs[i]->rdlen;
	}
	z->content_hash = hash_more(z->content_hash, node->owner,
	    (size_t)wire_name_len(node->owner, WIRE_NAME_MAX));
	z->content_hash = hash_more(z->content_hash, &rs->type, sizeof(rs->type));
	z->content_hash = hash_more(z->content_hash, &rs->ttl, sizeof(rs->ttl));
	z->content_hash = hash_more(z->content_hash, rs->data, rs->datalen);
	z->nrecords += k;
}

/* Azure private DNS zone defaults (AZURE-DNS.md 3.4). */
static void
zone_synth_soa_ns(struct szone *z, struct arena *a, uint32_t serial)
{
	static const uint8_t mname[] = "\017azureprivatedns\003net";
	static const uint8_t rname[] = "\024azureprivatedns-host\011microsoft\003com";
	struct node *apex = zone_node_add(z, a, z->apex);
	struct rec r, *rp = &r;
	uint8_t rd[512];
	size_t l = 0;

	if (node_rrset(apex, TYPE_SOA) == NULL) {
		memcpy(rd + l, mname, sizeof(mname));
		l += sizeof(mname);
		memcpy(rd + l, rname, sizeof(rname));
		l += sizeof(rname);
		uint32_t v[5] = { serial, 3600, 300, 2419200, 10 };
		for (int i = 0; i < 5; i++) {
			rd[l++] = (uint8_t)(v[i] >> 24);
			rd[l++] = (uint8_t)(v[i] >> 16);
			rd[l++] = (uint8_t)(v[i] >> 8);
			rd[l++] = (uint8_t)v[i];
		}
		memset(&r, 0, sizeof(r));
		memcpy(r.owner, z->apex, (size_t)wire_name_len(z->apex, WIRE_NAME_MAX));
		r.type = TYPE_SOA;
		r.ttl = 3600;
		r.rdata = rd;
		r.rdlen = (uint16_t)l;
		zone_add_rrset(z, a, &rp, 1);
		z->nrecords--;		/* synthesized records are not counted as data */
	}
	if (node_rrset(apex, TYPE_NS) == NULL) {
		memset(&r, 0, sizeof(r));
		memcpy(r.owner, z->apex, (size_t)wire_name_len(z->apex, WIRE_NAME_MAX));
		r.type = TYPE_NS;
		r.ttl = 3600;
		r.rdata = (uint8_t *)(uintptr_t)mname;
		r.rdlen = sizeof(mname);
		zone_add_rrset(z, a, &rp, 1);
		z->nrecords--;
	}
	z->soa = node_rrset(apex, TYPE_SOA);
}

static const struct szone *
prev_zone(const struct snapshot *prev, const char *name)
{
	if (prev == NULL)
		return NULL;
	for (size_t i = 0; i < prev->nzones; i++)
		if (strcmp(prev->zones[i].name, name) == 0)
			return &prev->zones[i];
	return NULL;
}

/*
 * Serials are time based (seconds) but strictly increase on every content
 * change even when two reloads land in the same second, so that secondaries
 * and caches see each change.
 */
static uint32_t
zone_serial(const struct szone *old, uint64_t hash)
{
	uint32_t now = (uint32_t)now_wall();

	if (old == NULL)
		return now;
	if (old->content_hash == hash)
		return old->serial;
	return (int32_t)(now - old->serial) > 0 ? now : old->serial + 1;
}

struct snapshot *
snapshot_new(struct config *cfg, struct recset *rs, const struct snapshot *prev,
    struct diag *d)
{
	struct snapshot *s = xcalloc(1, sizeof(*s));
	struct rec **order;
	size_t i, j;

	atomic_init(&s->refs, 1);
	s->cfg = cfg;
	s->nzones = rs->nzones;
	s->zones = xcalloc(rs->nzones ? rs->nzones : 1, sizeof(*s->zones));
	namemap_init(&s->zonemap, rs->nzones);
	namemap_init(&s->twinmap, rs->nzones * 2);
	for (i = 0; i < rs->nzones; i++) {
		struct szone *z = &s->zones[i];
		z->name = xstrdup(rs->zones[i].name);
		z->apex = arena_name(&s->arena, rs->zones[i].apex);
		z->missing = rs->zones[i].missing;
		z->multi = rs->zones[i].multi;
		z->content_hash = 0xcbf29ce484222325ULL;
		namemap_init(&z->map, 16);
		namemap_put(&s->zonemap, z->apex, (uint32_t)i);
		for (j = 0; j < rs->zones[i].ntwins; j++) {
			uint8_t w[WIRE_NAME_MAX];
			const char *err;
			int l = wire_name_from_str(rs->zones[i].twins[j], w, &err);
			if (l < 0)
				continue;
			wire_name_lower(w, w, (size_t)l);
			namemap_put(&s->twinmap, arena_name(&s->arena, w), (uint32_t)i);
		}
	}

	order = xcalloc(rs->nrecs ? rs->nrecs : 1, sizeof(*order));
	for (i = 0; i < rs->nrecs; i++)
		order[i] = &rs->recs[i];
	qsort(order, rs->nrecs, sizeof(*order), rec_cmp);
	for (i = 0; i < rs->nrecs; i = j) {
		for (j = i + 1; j < rs->nrecs; j++)
			if (order[j]->zone != order[i]->zone ||
			    order[j]->type != order[i]->type ||
			    !wire_name_equal(order[j]->owner, order[i]->owner))
				break;
		zone_add_rrset(&s->zones[order[i]->zone], &s->arena, order + i, j - i);
	}
	free(order);

	for (i = 0; i < s->nzones; i++) {
		struct szone *z = &s->zones[i];
		z->serial = zone_serial(prev_zone(prev, z->name), z->content_hash);
		zone_synth_soa_ns(z, &s->arena, z->serial);
		if (z->soa != NULL && z->soa->datalen >= 22) {
			/* A zone file's own SOA carries its own serial. */
			const uint8_t *sd = z->soa->data + 2;
			size_t l = (size_t)(z->soa->datalen - 2);
			z->serial = wire_get_u32(sd + l - 20);
		}
		for (j = 0; j < z->nnodes; j++) {
			const struct node *n = &z->nodes[j];
			if (node_rrset(n, TYPE_CNAME) != NULL && n->nrrsets > 1) {
				char buf[1024];
				wire_name_to_str(n->owner, buf, sizeof(buf));
				diag_add(d, DIAG_ERROR, NULL, 0,
				    "%s: a CNAME cannot coexist with other data (RFC 2181 10.1)", buf);
			}
		}
		s->nrecords += z->nrecords;
	}

	snapshot_upstreams_build(s, cfg);
	namemap_init(&s->fwdmap, cfg->nforwards);
	for (i = 0; i < cfg->nforwards; i++) {
		uint8_t w[WIRE_NAME_MAX];
		const char *err;
		int l = wire_name_from_str(cfg->forwards[i].name, w, &err);
		if (l < 0)
			continue;
		wire_name_lower(w, w, (size_t)l);
		namemap_put(&s->fwdmap, arena_name(&s->arena, w), (uint32_t)i);
	}
	recset_clear(rs);
	if (d->nerrors > 0) {
		snapshot_unref(s);
		return NULL;
	}
	return s;
}

void
snapshot_ref(struct snapshot *s)
{
	atomic_fetch_add(&s->refs, 1);
}

void
snapshot_unref(struct snapshot *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (size_t i = 0; i < s->nzones; i++) {
		free(s->zones[i].name);
		free(s->zones[i].nodes);
		namemap_clear(&s->zones[i].map);
	}
	free(s->zones);
	namemap_clear(&s->zonemap);
	namemap_clear(&s->twinmap);
	namemap_clear(&s->fwdmap);
	free(s->ups);
	free(s->tls);
	arena_free(&s->arena);
	config_free(s->cfg);
	free(s);
}

const struct config *
snapshot_config(const struct snapshot *s)
{
	return s->cfg;
}

size_t
snapshot_nzones(const struct snapshot *s)
{
	return s->nzones;
}

const struct szone *
snapshot_zone_at(const struct snapshot *s, size_t i)
{
	return i < s->nzones ? &s->zones[i] : NULL;
}

size_t
snapshot_nrecords(const struct snapshot *s)
{
	return s->nrecords;
}

const struct szone *
snapshot_find_zone(const struct snapshot *s, const uint8_t *name)
{
	uint32_t v;

	for (const uint8_t *p = name; p != NULL; p = wire_name_parent(p))
		if (namemap_get(&s->zonemap, p, &v) == 0)
			return &s->zones[v];
	return NULL;
}

const struct szone *
snapshot_route(const struct snapshot *s, const uint8_t *name, uint8_t *plname,
    bool *is_twin)
{
	uint32_t v;

	*is_twin = false;
	for (const uint8_t *p = name; p != NULL; p = wire_name_parent(p)) {
		if (namemap_get(&s->zonemap, p, &v) == 0)
			return &s->zones[v];
		if (s->twinmap.n > 0 && namemap_get(&s->twinmap, p, &v) == 0) {
			/* acct.<twin> becomes acct.<zone apex>. */
			size_t pre = (size_t)(p - name);
			int alen = wire_name_len(s->zones[v].apex, WIRE_NAME_MAX);
			if (pre == 0 || pre + (size_t)alen > WIRE_NAME_MAX)
				return NULL;	/* the twin apex itself is not ours to answer */
			memcpy(plname, name, pre);
			memcpy(plname + pre, s->zones[v].apex, (size_t)alen);
			*is_twin = true;
			return &s->zones[v];
		}
	}
	return NULL;
}

const struct pl_addr *
snapshot_upstreams(const struct snapshot *s, size_t *n)
{
	*n = s->nups;
	return s->ups;
}

const struct upstream_tls *
snapshot_tls(const struct snapshot *s, size_t *n)
{
	*n = s->ntls;
	return s->tls;
}

const struct forward_conf *
snapshot_forward(const struct snapshot *s, const uint8_t *name)
{
	uint32_t v;

	if (s->fwdmap.n == 0)
		return NULL;
	for (const uint8_t *p = name; p != NULL; p = wire_name_parent(p))
		if (namemap_get(&s->fwdmap, p, &v) == 0)
			return &s->cfg->forwards[v];
	return NULL;
}

const char *szone_name(const struct szone *z) { return z->name; }
const uint8_t *szone_apex(const struct szone *z) { return z->apex; }
const struct rrset *szone_soa(const struct szone *z) { return z->soa; }
int szone_missing(const struct szone *z) { return z->missing; }
uint32_t szone_serial(const struct szone *z) { return z->serial; }
size_t szone_nrecords(const struct szone *z) { return z->nrecords; }

const struct node *
szone_node(const struct szone *z, const uint8_t *name)
{
	uint32_t v;

	if (namemap_get(&z->map, name, &v) != 0)
		return NULL;
	return &z->nodes[v];
}

const struct rrset *
node_rrset(const struct node *n, uint16_t type)
{
	for (uint16_t i = 0; i < n->nrrsets; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}
