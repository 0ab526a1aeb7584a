/* snapshot: immutable local zones in hash tables, built once, shared by workers. */
#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/hash.h"
#include "util/log.h"
#include "data/snapshot.h"
#include "util/util.h"

/*
 * Everything a snapshot owns is carved from one bump arena, so that a
 * million records cost a few large allocations rather than millions of small
 * ones, and freeing a snapshot is a walk over a short chunk list.  The
 * recset's pool joins the arena: owners and RDATA are not copied, and the
 * RDATA of a record alone in its RRset is served from where the recset put
 * it.
 */

static void *
arena_alloc(struct recpool *a, size_t n)
{
	return recpool_get(a, n, 8);
}

/* Records whose node slots are fetched ahead of their lookup. */
#define BUILD_AHEAD	8

/*
 * Names are hashed label by label from the root, so that the hashes of all
 * suffixes of a name (what a longest-match walk looks up) come out of one
 * pass over it instead of one pass per suffix: a name's hash is the state
 * that the names below it go on from (hash.h, keyed per process).
 */

/* Mixes one label (its length octet and bytes) into H. */
static inline uint64_t
hash_label(uint64_t h, const uint8_t *label)
{
	return hash_more(h, label, (size_t)label[0] + 1);
}

/*
 * Fills OFF[k] (offset of the k-th suffix) and H[k] (its hash) for every
 * suffix of NAME, the whole name first and the root last; returns how many.
 */
static int
suffix_hashes(const uint8_t *name, uint8_t *off, uint64_t *h)
{
	int n = 0, p = 0;
	uint64_t v = hash_start();

	while (name[p] != 0 && n < WIRE_NAME_MAX / 2) {
		off[n++] = (uint8_t)p;
		p += name[p] + 1;
	}
	off[n] = (uint8_t)p;
	h[n] = v;
	for (int k = n - 1; k >= 0; k--) {
		v = hash_label(v, name + off[k]);
		h[k] = v;
	}
	return n + 1;
}

static uint64_t
name_hash(const uint8_t *name, size_t len)
{
	uint8_t off[WIRE_NAME_MAX / 2 + 1];
	uint64_t h[WIRE_NAME_MAX / 2 + 1];

	(void)len;
	suffix_hashes(name, off, h);
	return h[0];
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

/* Returns the slot of NAME (hash H): its own when present, else the empty
 * one it would take. */
static size_t
namemap_slot_h(const struct namemap *m, const uint8_t *name, size_t len, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);

	while (m->keys[i] != NULL) {
		if (m->keys[i][0] == name[0] && memcmp(m->keys[i], name, len) == 0)
			return i;
		i = (i + 1) & (m->cap - 1);
	}
	return i;
}

static size_t
namemap_slot(const struct namemap *m, const uint8_t *name, size_t len)
{
	return namemap_slot_h(m, name, len, name_hash(name, len));
}

/* Looks NAME (LEN octets, hash H) up; 0 and *VAL, or -1. */
static int
namemap_get_h(const struct namemap *m, const uint8_t *name, size_t len, uint64_t h,
    uint32_t *val)
{
	size_t i;

	if (m->n == 0)
		return -1;
	i = namemap_slot_h(m, name, len, h);
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
	size_t nodes_ready;		/* nodes[0 .. nodes_ready) are faulted in */
	uint32_t *map;			/* open addressing: node index + 1 (and a tag,
					   see node_slot_h), 0 empty */
	size_t mapcap;			/* a power of two */
	const struct rrset *soa;
	uint64_t apex_state;		/* the apex's hash: names below go on from it */
	size_t apex_len;
	bool has_dname;			/* some name holds a DNAME: lookups look
					   for one above the name (RFC 6672) */
	uint8_t synth;			/* SYNTH_SOA, SYNTH_NS: made up, not loaded */
	atomic_bool unavailable;	/* see szone_unavailable() (0 from xcalloc) */
};

#define SYNTH_SOA	0x01
#define SYNTH_NS	0x02

struct twin {
	const uint8_t *suffix;		/* public suffix, lower-case wire */
	uint32_t zone;
};

struct snapshot {
	atomic_int refs;
	struct config *cfg;
	struct recpool arena;
	struct szone *zones;
	size_t nzones;
	size_t nrecords;
	struct namemap zonemap;		/* apex -> zone */
	struct namemap twinmap;		/* public suffix -> zone */
	struct namemap fwdmap;		/* forward suffix -> index in cfg->forwards */
	struct pl_addr *ups;		/* default upstreams, plain and TLS */
	size_t nups;
	struct addr_tls *tls;
	size_t ntls;
	atomic_size_t nunavailable;	/* zones with unavailable set (0 from xcalloc) */
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
		struct addr_tls t;
		struct pl_addr a;

		if (addr_parse_tls(spec, &t, &err) == 0) {
			s->tls[s->ntls++] = t;
			s->ups[s->nups++] = t.addr;
		} else if (addr_parse(spec, 53, &a, &err) == 0)
			s->ups[s->nups++] = a;
	}
}

static const uint8_t *
arena_name(struct recpool *a, const uint8_t *name)
{
	int len = wire_name_len(name, WIRE_NAME_MAX);
	uint8_t *p = arena_alloc(a, (size_t)len);

	memcpy(p, name, (size_t)len);
	return p;
}

/*
 * Nodes are found through an open-addressed table of node indexes (4 bytes
 * a slot): the owner names live once, in the nodes themselves.  While a
 * zone has fewer than 2^23 nodes the top 8 bits of a slot hold 8 bits of
 * the name's hash, so that a probe past another name rarely reads that
 * node and its owner (two cache misses in a large zone).
 */
#define MAP_TAGGED_MAX	(1u << 24)	/* largest table whose slots carry a tag */
#define MAP_TAG_MASK	0xff000000u

static uint32_t
map_tag(const struct szone *z, uint64_t h)
{
	return z->mapcap <= MAP_TAGGED_MAX ? (uint32_t)(h >> 56) << 24 : 0;
}

/* The node index + 1 a slot holds (0: empty). */
static uint32_t
map_val(const struct szone *z, uint32_t v)
{
	return z->mapcap <= MAP_TAGGED_MAX ? v & ~MAP_TAG_MASK : v;
}

/* The slot of NAME (LEN octets, hash H): its own, or the empty one it would take. */
static size_t
node_slot_h(const struct szone *z, const uint8_t *name, size_t len, uint64_t h)
{
	size_t i = (size_t)h & (z->mapcap - 1);
	uint32_t tag = map_tag(z, h);
	uint32_t mask = z->mapcap <= MAP_TAGGED_MAX ? MAP_TAG_MASK : 0;

	for (;;) {
		uint32_t v = z->map[i];
		if (v == 0)
			return i;
		if ((v & mask) == tag) {
			const uint8_t *o = z->nodes[map_val(z, v) - 1].owner;
			if (o[0] == name[0] && memcmp(o, name, len) == 0)
				return i;
		}
		i = (i + 1) & (z->mapcap - 1);
	}
}

static void
node_map_grow(struct szone *z, size_t want)
{
	size_t cap = 16;

	while (cap < want * 2)
		cap <<= 1;
	if (cap <= z->mapcap)
		return;
	bigmem_free(z->map, z->mapcap * sizeof(*z->map));
	/* Hashing touches every page of a large table, in no order: faulted
	 * in at once, and on huge pages where it is large (bigmem_alloc). */
	z->map = bigmem_alloc(cap * sizeof(*z->map));
	z->mapcap = cap;
	for (size_t k = 0; k < z->nnodes; k++) {
		const uint8_t *o = z->nodes[k].owner;
		size_t len = (size_t)wire_name_len(o, WIRE_NAME_MAX);
		uint64_t h = name_hash(o, len);
		z->map[node_slot_h(z, o, len, h)] = map_tag(z, h) | ((uint32_t)k + 1);
	}
}

/* Room for CAP nodes (see bigmem_alloc: queries read nodes in no order). */
#define NODES_STEP	(2u << 20)
static void
zone_nodes_grow(struct szone *z, size_t cap)
{
	struct node *n;

	if (cap <= z->capnodes)
		return;
	n = bigmem_alloc_lazy(cap * sizeof(*n));
	z->nodes_ready = 0;
	if (z->nnodes > 0)
		memcpy(n, z->nodes, z->nnodes * sizeof(*n));
	for (size_t i = 0; i < z->nnodes; i++)
		if (z->nodes[i].rrsets == &z->nodes[i].one)
			n[i].rrsets = &n[i].one;
	bigmem_free(z->nodes, z->capnodes * sizeof(*n));
	z->nodes = n;
	z->capnodes = cap;
}

/*
 * The index of the node for the suffix K of OWNER (OFF and H as
 * suffix_hashes() gives them, N of them), created (with its empty
 * non-terminals) if need be.  OWNER must live as long as the snapshot (the
 * arena, or the recset's pool that joined it): the node points at it.
 */
static uint32_t
node_add_at(struct szone *z, const uint8_t *owner, const uint8_t *off,
    const uint64_t *h, int n, int k)
{
	const uint8_t *name = owner + off[k];
	size_t len = (size_t)(off[n - 1] + 1 - off[k]);
	size_t slot;
	uint32_t idx;

	if ((z->nnodes + 1) * 2 > z->mapcap)
		node_map_grow(z, z->nnodes + 1 > 1024 ? (z->nnodes + 1) * 2 : 1024);
	slot = node_slot_h(z, name, len, h[k]);
	if (z->map[slot] != 0)
		return map_val(z, z->map[slot]) - 1;
	if (z->nnodes == z->capnodes)
		zone_nodes_grow(z, z->capnodes ? z->capnodes * 2 : 16);
	idx = (uint32_t)z->nnodes++;
	if (idx >= z->nodes_ready) {
		/* Faulted in a step ahead of the filling, not all at once:
		 * the records the nodes are made from are given back as they
		 * go, and a reload's peak stays low. */
		size_t to = idx + NODES_STEP / sizeof(*z->nodes);
		if (to > z->capnodes)
			to = z->capnodes;
		bigmem_populate(&z->nodes[idx], (to - idx) * sizeof(*z->nodes));
		z->nodes_ready = to;
	}
	memset(&z->nodes[idx], 0, sizeof(z->nodes[idx]));
	z->nodes[idx].owner = name;
	z->map[slot] = map_tag(z, h[k]) | (idx + 1);
	/* Empty non-terminals: every name between the owner and the apex
	 * exists, so that a query for one answers NODATA, not NXDOMAIN. */
	if (name[0] != 0 && k + 1 < n && !wire_name_equal(name, z->apex) &&
	    wire_name_under(owner + off[k + 1], z->apex))
		node_add_at(z, owner, off, h, n, k + 1);
	return idx;
}

/* Brings in the slot NAME (hash H) starts from, ahead of its lookup. */
static void
node_prefetch(const struct szone *z, uint64_t h)
{
	if (z->mapcap > 0)
		__builtin_prefetch(&z->map[(size_t)h & (z->mapcap - 1)], 1);
}

static uint32_t
zone_node_add(struct szone *z, const uint8_t *owner)
{
	uint8_t off[WIRE_NAME_MAX / 2 + 1];
	uint64_t h[WIRE_NAME_MAX / 2 + 1];
	int n = suffix_hashes(owner, off, h);

	return node_add_at(z, owner, off, h, n, 0);
}

/* A record as the build needs it; RDATA lives in the arena. */
struct brec {
	const uint8_t *rdata;
	uint32_t ttl;
	uint16_t type, rdlen;
};

static int
brec_cmp(const struct brec *x, const struct brec *y)
{
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->rdlen != y->rdlen)
		return x->rdlen < y->rdlen ? -1 : 1;
	return memcmp(x->rdata, y->rdata, x->rdlen);
}

/*
 * Adds to node N the RRsets of RECS[0..K), all of this node (its RRsets so
 * far are kept).  Identical records are one record (RFC 2181 5); mixed TTLs
 * in one set take the lowest (RFC 2181 5.2).
 */
static void
node_fill(struct szone *z, struct recpool *a, struct node *node,
    struct brec *recs, size_t k)
{
	size_t i, j, ntypes = 0;

	/* A node has a handful of records: insertion sort by (type, rdata). */
	for (i = 1; i < k; i++)
		for (j = i; j > 0 && brec_cmp(&recs[j], &recs[j - 1]) < 0; j--) {
			struct brec t = recs[j];
			recs[j] = recs[j - 1];
			recs[j - 1] = t;
		}
	for (i = 0; i < k; i++)
		if (i == 0 || recs[i].type != recs[i - 1].type)
			ntypes++;
	struct rrset *sets = arena_alloc(a, sizeof(*sets) * (node->nrrsets + ntypes));
	if (node->nrrsets > 0)
		memcpy(sets, node->rrsets, sizeof(*sets) * node->nrrsets);
	node->rrsets = sets;
	for (i = 0; i < k; i = j) {
		struct rrset *rs = &sets[node->nrrsets++];
		uint32_t len = 0, ttl = recs[i].ttl, n = 0;

		for (j = i; j < k && recs[j].type == recs[i].type; j++) {
			if (j > i && brec_cmp(&recs[j], &recs[j - 1]) == 0)
				continue;
			len += 2u + recs[j].rdlen;
			if (recs[j].ttl < ttl)
				ttl = recs[j].ttl;
			n++;
		}
		rs->type = recs[i].type;
		rs->ttl = ttl;
		rs->count = (uint16_t)(n > 65535 ? 65535 : n);
		rs->datalen = len;
		rs->data = arena_alloc(a, len);
		uint8_t *p = rs->data;
		for (size_t m = i; m < j; m++) {
			if (m > i && brec_cmp(&recs[m], &recs[m - 1]) == 0)
				continue;
			p[0] = (uint8_t)(recs[m].rdlen >> 8);
			p[1] = (uint8_t)recs[m].rdlen;
			memcpy(p + 2, recs[m].rdata, recs[m].rdlen);
			p += 2 + recs[m].rdlen;
		}
		z->nrecords += n;
	}
}

/* Summed over the RRsets, so that the order records came in does not matter. */
static void
zone_hash(struct szone *z)
{
	for (size_t ni = 0; ni < z->nnodes; ni++) {
		const struct node *node = &z->nodes[ni];
		size_t olen = (size_t)wire_name_len(node->owner, WIRE_NAME_MAX);
		uint64_t ho = hash_more(hash_start(), node->owner, olen);

		for (uint16_t k = 0; k < node->nrrsets; k++) {
			const struct rrset *rs = &node->rrsets[k];
			uint64_t h = hash_more(ho, &rs->type, sizeof(rs->type));
			h = hash_more(h, &rs->ttl, sizeof(rs->ttl));
			h = hash_more(h, rs->data, rs->datalen);
			z->content_hash += h ^ (h >> 31);
		}
	}
}

/* Azure private DNS zone defaults (AZURE-DNS.md 3.4). */
static void
zone_synth_soa_ns(struct szone *z, struct recpool *a, uint32_t serial)
{
	static const uint8_t mname[] = "\017azureprivatedns\003net";
	static const uint8_t rname[] = "\024azureprivatedns-host\011microsoft\003com";
	uint32_t apex = zone_node_add(z, z->apex);
	struct brec r;
	uint8_t rd[512];
	size_t l = 0;
	size_t before;

	/* Synthesized records are not data: they count neither as records
	 * nor in the content hash (which decides whether the serial moves;
	 * it is summed before they come). */
	memset(&r, 0, sizeof(r));
	if (node_rrset(&z->nodes[apex], TYPE_SOA) == NULL) {
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
		r.type = TYPE_SOA;
		r.ttl = 3600;
		r.rdata = rd;
		r.rdlen = (uint16_t)l;
		before = z->nrecords;
		node_fill(z, a, &z->nodes[apex], &r, 1);
		z->nrecords = before;
		z->synth |= SYNTH_SOA;
	}
	if (node_rrset(&z->nodes[apex], TYPE_NS) == NULL) {
		r.type = TYPE_NS;
		r.ttl = 3600;
		r.rdata = mname;
		r.rdlen = sizeof(mname);
		before = z->nrecords;
		node_fill(z, a, &z->nodes[apex], &r, 1);
		z->nrecords = before;
		z->synth |= SYNTH_NS;
	}
	z->soa = node_rrset(&z->nodes[apex], TYPE_SOA);
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

/* A record of a node that has more than one. */
struct xrec {
	uint32_t zone, node;
	struct brec r;
};

/* Groups them by zone and node (node_fill orders each node's records). */
static int
xrec_cmp(const void *a, const void *b)
{
	const struct xrec *x = a, *y = b;

	if (x->zone != y->zone)
		return x->zone < y->zone ? -1 : 1;
	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return 0;
}

/* Puts NAME (presentation) into M with VAL, its wire form in the arena;
 * a name that is not one is left out (the configuration checked it). */
static void
namemap_put_str(struct snapshot *s, struct namemap *m, const char *name,
    uint32_t val)
{
	uint8_t w[WIRE_NAME_MAX];
	const char *err;
	int l = wire_name_from_str(name, w, &err);

	if (l < 0)
		return;
	wire_name_lower(w, w, (size_t)l);
	namemap_put(m, arena_name(&s->arena, w), val);
}

/* The zones of RS, empty, with their apexes and twins in the name maps. */
static void
build_zones(struct snapshot *s, const struct recset *rs)
{
	s->nzones = rs->nzones;
	s->zones = xcalloc(rs->nzones ? rs->nzones : 1, sizeof(*s->zones));
	namemap_init(&s->zonemap, rs->nzones);
	namemap_init(&s->twinmap, rs->nzones * 2);
	for (size_t i = 0; i < rs->nzones; i++) {
		struct szone *z = &s->zones[i];
		z->name = xstrdup(rs->zones[i].name);
		z->apex = arena_name(&s->arena, rs->zones[i].apex);
		z->apex_len = (size_t)wire_name_len(z->apex, WIRE_NAME_MAX);
		z->apex_state = name_hash(z->apex, z->apex_len);
		z->missing = rs->zones[i].missing;
		z->multi = rs->zones[i].multi;
		z->content_hash = hash_start();
		namemap_put(&s->zonemap, z->apex, (uint32_t)i);
		for (size_t j = 0; j < rs->zones[i].ntwins; j++)
			namemap_put_str(s, &s->twinmap, rs->zones[i].twins[j],
			    (uint32_t)i);
	}
}

/* Pre-sizes the node tables from the record counts (no rehashing) and
 * gives each zone its apex node. */
static void
size_nodes(struct snapshot *s, const struct recset *rs)
{
	size_t *per_zone = xcalloc(s->nzones ? s->nzones : 1, sizeof(*per_zone));

	for (size_t i = 0; i < rs->nrecs; i++)
		per_zone[rs->recs[i].zone]++;
	for (size_t i = 0; i < s->nzones; i++) {
		struct szone *z = &s->zones[i];
		zone_nodes_grow(z, per_zone[i] + 16);
		node_map_grow(z, per_zone[i] + 16);
		zone_node_add(z, z->apex);
	}
	free(per_zone);
}

/* Records of nodes with more than one, put aside for build_multi(). */
struct xrecs {
	struct xrec *v;
	size_t n, cap;
};

/* Record R is the first of node N: it becomes the node's RRset, its data
 * where the recset put it. */
static void
node_take_first(struct szone *z, struct node *n, const struct rec *r)
{
	struct rrset *set = &n->one;

	set->type = r->type;
	set->count = 1;
	set->ttl = r->ttl;
	set->datalen = 2u + r->rdlen;
	set->data = (uint8_t *)(uintptr_t)r->rdata - 2;
	n->rrsets = set;
	n->nrrsets = 1;
	z->nrecords++;
}

static void
xrecs_push(struct xrecs *x, const struct rec *r, uint32_t node)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 256;
		x->v = xreallocarray(x->v, x->cap, sizeof(*x->v));
	}
	x->v[x->n].zone = r->zone;
	x->v[x->n].node = node;
	x->v[x->n].r.rdata = r->rdata;
	x->v[x->n].r.ttl = r->ttl;
	x->v[x->n].r.type = r->type;
	x->v[x->n].r.rdlen = r->rdlen;
	x->n++;
}

/*
 * Linear: every record finds its node (one hash lookup).  A record that is
 * the first of its node becomes the node's RRset, its data where the
 * recset put it; a node with more (several addresses, several types) is
 * built afresh by build_multi() from all of them, put aside in MORE.  Most
 * names have one record, so most RDATA is not copied at all.  The records
 * are given back as they are walked.
 */
static void
place_records(struct snapshot *s, struct recset *rs, struct xrecs *more)
{
	/*
	 * A large zone's node table is far bigger than the caches: the
	 * hashes of the records a few places ahead are worked out first and
	 * their slots fetched while the records in between are placed.
	 */
	struct {
		uint8_t off[WIRE_NAME_MAX / 2 + 1];
		uint64_t h[WIRE_NAME_MAX / 2 + 1];
		int n;
	} *ahead = xcalloc(BUILD_AHEAD, sizeof(*ahead));
	size_t i;

	for (i = 0; i < rs->nrecs && i < BUILD_AHEAD; i++) {
		ahead[i].n = suffix_hashes(rs->recs[i].owner, ahead[i].off,
		    ahead[i].h);
		node_prefetch(&s->zones[rs->recs[i].zone], ahead[i].h[0]);
	}
	for (i = 0; i < rs->nrecs; i++) {
		const struct rec *r = &rs->recs[i];
		struct szone *z = &s->zones[r->zone];
		size_t a = i % BUILD_AHEAD;
		uint32_t ni = node_add_at(z, r->owner, ahead[a].off, ahead[a].h,
		    ahead[a].n, 0);
		struct node *n = &z->nodes[ni];

		if (i + BUILD_AHEAD < rs->nrecs) {
			const struct rec *f = &rs->recs[i + BUILD_AHEAD];
			ahead[a].n = suffix_hashes(f->owner, ahead[a].off, ahead[a].h);
			node_prefetch(&s->zones[f->zone], ahead[a].h[0]);
		}
		if (n->nrrsets == 0)
			node_take_first(z, n, r);
		else
			xrecs_push(more, r, ni);
		if ((i & 0xffff) == 0xffff)
			recset_release(rs, i + 1);
	}
	recset_release(rs, rs->nrecs);
	free(ahead);
}

/* The nodes with several records, each built from all of them: the first
 * (already its RRset) and those MORE put aside. */
static void
build_multi(struct snapshot *s, struct xrecs *more)
{
	struct brec *grp = NULL;
	size_t capgrp = 0, i, j;

	if (more->n == 0)
		return;
	qsort(more->v, more->n, sizeof(*more->v), xrec_cmp);
	for (i = 0; i < more->n; i = j) {
		const struct xrec *x = more->v;
		struct szone *z = &s->zones[x[i].zone];
		struct node *n = &z->nodes[x[i].node];
		const struct rrset *first = n->rrsets;
		size_t k = 0;

		for (j = i; j < more->n && x[j].zone == x[i].zone &&
		    x[j].node == x[i].node; j++)
			;
		if (j - i + 1 > capgrp) {
			capgrp = j - i + 1;
			grp = xreallocarray(grp, capgrp, sizeof(*grp));
		}
		/* The node's first record, from the RRset it was given. */
		grp[k].rdata = first->data + 2;
		grp[k].rdlen = (uint16_t)(first->datalen - 2);
		grp[k].ttl = first->ttl;
		grp[k].type = first->type;
		k++;
		for (size_t m = i; m < j; m++)
			grp[k++] = x[m].r;
		n->rrsets = NULL;
		n->nrrsets = 0;
		z->nrecords--;
		node_fill(z, &s->arena, n, grp, k);
	}
	free(grp);
}

/* Zone Z's DNAME flag, and its CNAMEs checked (RFC 2181 10.1) into D. */
static void
zone_check_nodes(struct szone *z, struct diag *d)
{
	for (size_t j = 0; j < z->nnodes; j++) {
		const struct node *n = &z->nodes[j];
		if (node_rrset(n, TYPE_DNAME) != NULL)
			z->has_dname = true;
		const struct rrset *cn = node_rrset(n, TYPE_CNAME);
		if (cn != NULL && (n->nrrsets > 1 || cn->count > 1)) {
			char buf[1024];
			wire_name_to_str(n->owner, buf, sizeof(buf));
			diag_add(d, DIAG_ERROR, NULL, 0, n->nrrsets > 1 ?
			    "%s: a CNAME cannot coexist with other data (RFC 2181 10.1)" :
			    "%s: more than one CNAME record (RFC 2181 10.1)", buf);
		}
	}
}

/* Every zone's content hash, serial, synthesized SOA and NS, and checks. */
static void
finish_zones(struct snapshot *s, const struct snapshot *prev, struct diag *d)
{
	for (size_t i = 0; i < s->nzones; i++)
		zone_hash(&s->zones[i]);
	for (size_t i = 0; i < s->nzones; i++) {
		struct szone *z = &s->zones[i];
		z->serial = zone_serial(prev_zone(prev, z->name), z->content_hash);
		zone_synth_soa_ns(z, &s->arena, z->serial);
		if (z->soa != NULL && z->soa->datalen >= 22) {
			/* A zone file's own SOA carries its own serial. */
			const uint8_t *sd = z->soa->data + 2;
			size_t l = (size_t)(z->soa->datalen - 2);
			z->serial = wire_get_u32(sd + l - 20);
		}
		zone_check_nodes(z, d);
		s->nrecords += z->nrecords;
	}
}

struct snapshot *
snapshot_new(struct config *cfg, struct recset *rs, const struct snapshot *prev,
    struct diag *d)
{
	struct snapshot *s = xcalloc(1, sizeof(*s));
	struct xrecs more = { NULL, 0, 0 };

	atomic_init(&s->refs, 1);
	s->cfg = cfg;
	build_zones(s, rs);

	/*
	 * The recset's owners and RDATA become the snapshot's.  Its other
	 * memory goes as soon as it has served: locations now, the records
	 * as they are walked, so that a reload holds little more than the old
	 * snapshot and the new one.
	 */
	recpool_take(&s->arena, &rs->pool);
	recpool_free(&rs->strs);
	rs->last_file = NULL;
	recidx_clear(rs);

	size_nodes(s, rs);
	place_records(s, rs, &more);
	build_multi(s, &more);
	free(more.v);
	finish_zones(s, prev, d);

	snapshot_upstreams_build(s, cfg);
	namemap_init(&s->fwdmap, cfg->nforwards);
	for (size_t i = 0; i < cfg->nforwards; i++)
		namemap_put_str(s, &s->fwdmap, cfg->forwards[i].name, (uint32_t)i);
	recset_clear(rs);
	if (d->nerrors > 0) {
		snapshot_unref(s);
		return NULL;
	}
	return s;
}

/*
 * The count's invariants, checked where it changes (compiled out with
 * NDEBUG): a reference is taken only from a holder of one, so the count
 * was at least 1; a release never takes it below zero.  Either failing
 * means a snapshot used after its last release.
 */
void
snapshot_ref(struct snapshot *s)
{
	int was = atomic_fetch_add(&s->refs, 1);

	assert(was > 0);
	(void)was;
}

void
snapshot_unref(struct snapshot *s)
{
	int was;

	if (s == NULL)
		return;
	was = atomic_fetch_sub(&s->refs, 1);
	assert(was > 0);
	if (was != 1)
		return;
	for (size_t i = 0; i < s->nzones; i++) {
		free(s->zones[i].name);
		bigmem_free(s->zones[i].nodes, s->zones[i].capnodes *
		    sizeof(*s->zones[i].nodes));
		bigmem_free(s->zones[i].map, s->zones[i].mapcap *
		    sizeof(*s->zones[i].map));
	}
	free(s->zones);
	namemap_clear(&s->zonemap);
	namemap_clear(&s->twinmap);
	namemap_clear(&s->fwdmap);
	free(s->ups);
	free(s->tls);
	recpool_free(&s->arena);
	config_free(s->cfg);
	free(s);
}

int
snapshot_refs(const struct snapshot *s)
{
	int n = atomic_load(&((struct snapshot *)s)->refs);

	assert(n > 0);
	return n;
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

const struct szone *
snapshot_zone_named(const struct snapshot *s, const char *name)
{
	for (size_t i = 0; s != NULL && i < s->nzones; i++)
		if (strcmp(szone_name(&s->zones[i]), name) == 0)
			return &s->zones[i];
	return NULL;
}

size_t
snapshot_nrecords(const struct snapshot *s)
{
	return s->nrecords;
}

/* The value of the longest suffix of NAME (itself included) that M holds:
 * 0 and *VAL, or -1. */
static int
namemap_longest(const struct namemap *m, const uint8_t *name, uint32_t *val)
{
	uint8_t off[WIRE_NAME_MAX / 2 + 1];
	uint64_t h[WIRE_NAME_MAX / 2 + 1];
	int n, len;

	if (m->n == 0 || (len = wire_name_len(name, WIRE_NAME_MAX)) < 0)
		return -1;
	n = suffix_hashes(name, off, h);
	for (int k = 0; k < n; k++)
		if (namemap_get_h(m, name + off[k], (size_t)(len - off[k]), h[k],
		    val) == 0)
			return 0;
	return -1;
}

const struct szone *
snapshot_find_zone(const struct snapshot *s, const uint8_t *name)
{
	uint32_t v;

	return namemap_longest(&s->zonemap, name, &v) == 0 ? &s->zones[v] : NULL;
}

const struct szone *
snapshot_route(const struct snapshot *s, const uint8_t *name, uint8_t *plname,
    bool *is_twin)
{
	int len = wire_name_len(name, WIRE_NAME_MAX);
	uint64_t h;
	size_t pllen;

	*is_twin = false;
	if (len < 0)
		return NULL;
	return snapshot_route_h(s, name, (size_t)len, plname, &pllen, is_twin, &h);
}

const struct szone *
snapshot_route_h(const struct snapshot *s, const uint8_t *name, size_t len,
    uint8_t *plname, size_t *pllen, bool *is_twin, uint64_t *hash)
{
	uint8_t off[WIRE_NAME_MAX / 2 + 1];
	uint64_t h[WIRE_NAME_MAX / 2 + 1];
	int n;
	uint32_t v;

	*is_twin = false;
	*hash = 0;
	n = suffix_hashes(name, off, h);
	*hash = h[0];
	for (int k = 0; k < n; k++) {
		const uint8_t *p = name + off[k];
		size_t plen = len - off[k];

		if (namemap_get_h(&s->zonemap, p, plen, h[k], &v) == 0)
			return &s->zones[v];
		if (namemap_get_h(&s->twinmap, p, plen, h[k], &v) == 0) {
			/* acct.<twin> becomes acct.<zone apex>. */
			size_t pre = off[k];
			size_t alen = s->zones[v].apex_len;
			if (pre == 0 || pre + alen > WIRE_NAME_MAX)
				return NULL;	/* the twin apex itself is not ours to answer */
			memcpy(plname, name, pre);
			memcpy(plname + pre, s->zones[v].apex, alen);
			*pllen = pre + alen;
			*is_twin = true;
			/* The privatelink name's hash goes on from the apex's
			 * over the labels before the twin. */
			uint64_t st = s->zones[v].apex_state;
			for (int j = k - 1; j >= 0; j--)
				st = hash_label(st, name + off[j]);
			*hash = st;
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

const struct addr_tls *
snapshot_tls(const struct snapshot *s, size_t *n)
{
	*n = s->ntls;
	return s->tls;
}

const struct forward_conf *
snapshot_forward(const struct snapshot *s, const uint8_t *name)
{
	uint32_t v;

	return namemap_longest(&s->fwdmap, name, &v) == 0 ?
	    &s->cfg->forwards[v] : NULL;
}

const char *szone_name(const struct szone *z) { return z->name; }
const uint8_t *szone_apex(const struct szone *z) { return z->apex; }
const struct rrset *szone_soa(const struct szone *z) { return z->soa; }
int szone_missing(const struct szone *z) { return z->missing; }
bool szone_has_dname(const struct szone *z) { return z->has_dname; }
uint32_t szone_serial(const struct szone *z) { return z->serial; }
size_t szone_nrecords(const struct szone *z) { return z->nrecords; }
uint64_t szone_content_hash(const struct szone *z) { return z->content_hash; }
uint64_t szone_name_hash(const uint8_t *name, size_t len) { return name_hash(name, len); }

bool
szone_synthesized(const struct szone *z, const struct node *n, uint16_t type)
{
	if (n->owner != z->apex && !wire_name_equal(n->owner, z->apex))
		return false;
	return (type == TYPE_SOA && (z->synth & SYNTH_SOA)) ||
	    (type == TYPE_NS && (z->synth & SYNTH_NS));
}

const struct node *
szone_node_h(const struct szone *z, const uint8_t *name, size_t len,
    uint64_t hash)
{
	uint32_t v;

	if (z->mapcap == 0)
		return NULL;
	v = map_val(z, z->map[node_slot_h(z, name, len, hash)]);
	return v ? &z->nodes[v - 1] : NULL;
}

void
szone_prefetch_slot(const struct szone *z, uint64_t hash)
{
	if (z->mapcap > 0)
		__builtin_prefetch(&z->map[(size_t)hash & (z->mapcap - 1)]);
}

const struct node *
szone_node_guess(const struct szone *z, uint64_t hash)
{
	uint32_t v;

	if (z->mapcap == 0)
		return NULL;
	v = map_val(z, z->map[(size_t)hash & (z->mapcap - 1)]);
	if (v == 0)
		return NULL;
	__builtin_prefetch(&z->nodes[v - 1]);
	return &z->nodes[v - 1];
}

const struct node *
szone_node(const struct szone *z, const uint8_t *name)
{
	int len = wire_name_len(name, WIRE_NAME_MAX);
	uint32_t v;

	if (len < 0 || z->mapcap == 0)
		return NULL;
	v = map_val(z, z->map[node_slot_h(z, name, (size_t)len,
	    name_hash(name, (size_t)len))]);
	return v ? &z->nodes[v - 1] : NULL;
}

size_t
szone_nnodes(const struct szone *z)
{
	return z->nnodes;
}

const struct node *
szone_node_at(const struct szone *z, size_t i)
{
	return i < z->nnodes ? &z->nodes[i] : NULL;
}

const struct rrset *
node_rrset(const struct node *n, uint16_t type)
{
	for (uint16_t i = 0; i < n->nrrsets; i++)
		if (n->rrsets[i].type == type)
			return &n->rrsets[i];
	return NULL;
}

bool
szone_unavailable(const struct szone *z)
{
	return atomic_load_explicit(&z->unavailable, memory_order_relaxed);
}

size_t
snapshot_nunavailable(const struct snapshot *s)
{
	return atomic_load_explicit(&s->nunavailable, memory_order_relaxed);
}

void
snapshot_set_unavailable(struct snapshot *s, const char *name, bool on)
{
	for (size_t i = 0; i < s->nzones; i++) {
		struct szone *z = &s->zones[i];

		if (strcmp(z->name, name) != 0)
			continue;
		if (atomic_exchange_explicit(&z->unavailable, on,
		    memory_order_relaxed) != on) {
			if (on)
				atomic_fetch_add_explicit(&s->nunavailable, 1,
				    memory_order_relaxed);
			else
				atomic_fetch_sub_explicit(&s->nunavailable, 1,
				    memory_order_relaxed);
		}
		return;
	}
}
