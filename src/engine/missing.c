/*
 * missing: a space-saving table of the names clients miss (see missing.h).
 *
 * Entries live in one array, used densely from 0 (an evicted name's slot
 * is reused in place).  A min-heap of entry indexes, ordered by count then
 * last seen, finds the name to evict; an open-addressed index (linear
 * probing, twice the capacity rounded up to a power of two, deletion by
 * backward shift) finds a name's entry.  Noting a name only ever raises its
 * heap key, so it sifts down only.
 */
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "engine/missing.h"
#include "util/util.h"

#define EMPTY	UINT32_MAX

struct missing {
	size_t cap, n;
	uint64_t queries;
	struct missing_entry *e;	/* [cap], [0, n) in use */
	uint32_t *heap;			/* [cap]: entry indexes, least first */
	uint32_t *pos;			/* [cap]: each entry's place in heap */
	uint32_t *slot;			/* [mask + 1]: entry index or EMPTY */
	size_t mask;
};

/* Keyed (hash.h): names clients choose cannot crowd one run of slots. */
static inline uint32_t
name_hash(const uint8_t *name, size_t len)
{
	return (uint32_t)hash_bytes(name, len);
}

static size_t
name_size(const uint8_t *name)
{
	int l = wire_name_len(name, WIRE_NAME_MAX);

	return l > 0 ? (size_t)l : 1;
}

struct missing *
missing_new(size_t cap)
{
	struct missing *m = xcalloc(1, sizeof(*m));
	size_t nslots = 2;

	if (cap == 0)
		cap = 1;
	while (nslots < cap * 2)
		nslots *= 2;
	m->cap = cap;
	m->e = xcalloc(cap, sizeof(*m->e));
	m->heap = xcalloc(cap, sizeof(*m->heap));
	m->pos = xcalloc(cap, sizeof(*m->pos));
	m->slot = xcalloc(nslots, sizeof(*m->slot));
	m->mask = nslots - 1;
	memset(m->slot, 0xff, nslots * sizeof(*m->slot));
	return m;
}

void
missing_free(struct missing *m)
{
	if (m == NULL)
		return;
	free(m->e);
	free(m->heap);
	free(m->pos);
	free(m->slot);
	free(m);
}

size_t
missing_size(const struct missing *m)
{
	return m->n;
}

size_t
missing_capacity(const struct missing *m)
{
	return m->cap;
}

uint64_t
missing_queries(const struct missing *m)
{
	return m->queries;
}

/* ---- the index ---- */

/* The slot holding NAME (of LEN octets, hash H), or the empty slot where it
 * would go. */
static size_t
index_find(const struct missing *m, const uint8_t *name, size_t len, uint32_t h)
{
	size_t i = h & m->mask;

	for (;;) {
		uint32_t k = m->slot[i];

		if (k == EMPTY)
			return i;
		if (m->e[k].hash == h && memcmp(m->e[k].name, name, len) == 0)
			return i;
		i = (i + 1) & m->mask;
	}
}

/* Removes the slot I, moving later entries of its run back so that every
 * lookup still finds them without tombstones. */
static void
index_remove(struct missing *m, size_t i)
{
	size_t j = i;

	for (;;) {
		size_t home;

		m->slot[i] = EMPTY;
		for (;;) {
			j = (j + 1) & m->mask;
			if (m->slot[j] == EMPTY)
				return;
			home = m->e[m->slot[j]].hash & m->mask;
			/* J may move to I only when its home is not in (I, J]. */
			if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
				break;
		}
		m->slot[i] = m->slot[j];
		i = j;
	}
}

/* ---- the heap ---- */

static bool
less(const struct missing *m, uint32_t a, uint32_t b)
{
	const struct missing_entry *x = &m->e[a], *y = &m->e[b];

	if (x->count != y->count)
		return x->count < y->count;
	return x->last_seen < y->last_seen;
}

static void
heap_set(struct missing *m, size_t i, uint32_t k)
{
	m->heap[i] = k;
	m->pos[k] = (uint32_t)i;
}

static void
sift_down(struct missing *m, size_t i)
{
	uint32_t k = m->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= m->n)
			break;
		if (c + 1 < m->n && less(m, m->heap[c + 1], m->heap[c]))
			c++;
		if (!less(m, m->heap[c], k))
			break;
		heap_set(m, i, m->heap[c]);
		i = c;
	}
	heap_set(m, i, k);
}

static void
sift_up(struct missing *m, size_t i)
{
	uint32_t k = m->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!less(m, k, m->heap[p]))
			break;
		heap_set(m, i, m->heap[p]);
		i = p;
	}
	heap_set(m, i, k);
}

/* ---- noting and merging ---- */

/*
 * Puts NAME (hash H, LEN octets, its free index slot S) into the table with
 * COUNT and ERROR: a free entry while there is one, else the least counted
 * one's.  Returns the entry, or NULL when the table is full and ONLY_LARGER
 * and COUNT does not exceed the least count.
 */
static struct missing_entry *
place(struct missing *m, const uint8_t *name, size_t len, uint32_t h, size_t s,
    const char *zone, uint64_t count, uint64_t error, bool only_larger)
{
	struct missing_entry *e;
	uint32_t k;

	if (m->n < m->cap) {
		k = (uint32_t)m->n++;
		e = &m->e[k];
		heap_set(m, m->n - 1, k);
	} else {
		k = m->heap[0];
		e = &m->e[k];
		if (only_larger && count <= e->count)
			return NULL;
		index_remove(m, index_find(m, e->name, name_size(e->name), e->hash));
		/* The removal may have moved NAME's free slot. */
		s = index_find(m, name, len, h);
	}
	memset(e->name, 0, sizeof(e->name));
	memcpy(e->name, name, len);
	pl_strlcpy(e->zone, zone, sizeof(e->zone));
	e->count = count;
	e->error = error;
	e->hash = h;
	m->slot[s] = k;
	return e;
}

void
missing_note(struct missing *m, const uint8_t *name, const char *zone,
    uint64_t now)
{
	size_t len = name_size(name);
	uint32_t h = name_hash(name, len);
	size_t s = index_find(m, name, len, h);
	struct missing_entry *e;

	m->queries++;
	if (m->slot[s] != EMPTY) {
		e = &m->e[m->slot[s]];
		e->count++;
		e->last_seen = now;
		sift_down(m, m->pos[m->slot[s]]);
		return;
	}
	if (m->n == m->cap) {
		/* Space-saving: the newcomer may have been asked as often as
		 * the name it replaces, never more. */
		const struct missing_entry *v = &m->e[m->heap[0]];
		uint64_t c = v->count;

		e = place(m, name, len, h, s, zone, c + 1, c, false);
	} else
		e = place(m, name, len, h, s, zone, 1, 0, false);
	e->first_seen = e->last_seen = now;
	/* A fresh entry: at the root after an eviction, at the end else. */
	if (m->n == m->cap && m->heap[0] == (uint32_t)(e - m->e))
		sift_down(m, 0);
	else
		sift_up(m, m->pos[e - m->e]);
}

const struct missing_entry *
missing_find(const struct missing *m, const uint8_t *name)
{
	size_t len = name_size(name);
	size_t s = index_find(m, name, len, name_hash(name, len));

	return m->slot[s] == EMPTY ? NULL : &m->e[m->slot[s]];
}

void
missing_copy(struct missing *dst, const struct missing *src)
{
	/* Rebuilt rather than copied whole: only the names held are touched. */
	memset(dst->slot, 0xff, (dst->mask + 1) * sizeof(*dst->slot));
	dst->n = 0;
	dst->queries = src->queries;
	for (size_t i = 0; i < src->n && i < dst->cap; i++) {
		const struct missing_entry *e = &src->e[src->heap[i]];
		size_t len = name_size(e->name);

		dst->e[i] = *e;
		dst->slot[index_find(dst, e->name, len, e->hash)] = (uint32_t)i;
		/* SRC's heap order is a heap order. */
		heap_set(dst, i, (uint32_t)i);
		dst->n++;
	}
}

void
missing_merge(struct missing *dst, const struct missing *src)
{
	dst->queries += src->queries;
	for (size_t i = 0; i < src->n; i++) {
		const struct missing_entry *x = &src->e[i];
		size_t len = name_size(x->name);
		size_t s = index_find(dst, x->name, len, x->hash);
		struct missing_entry *e;

		if (dst->slot[s] != EMPTY) {
			e = &dst->e[dst->slot[s]];
			e->count += x->count;
			e->error += x->error;
			if (x->first_seen < e->first_seen)
				e->first_seen = x->first_seen;
			if (x->last_seen > e->last_seen)
				e->last_seen = x->last_seen;
			sift_down(dst, dst->pos[dst->slot[s]]);
			continue;
		}
		e = place(dst, x->name, len, x->hash, s, x->zone, x->count, x->error,
		    true);
		if (e == NULL)
			continue;
		e->first_seen = x->first_seen;
		e->last_seen = x->last_seen;
		if (dst->heap[0] == (uint32_t)(e - dst->e) && dst->n == dst->cap)
			sift_down(dst, 0);
		else
			sift_up(dst, dst->pos[e - dst->e]);
	}
}

void
missing_shift_times(struct missing *m, int64_t delta)
{
	for (size_t i = 0; i < m->n; i++) {
		m->e[i].first_seen = (uint64_t)((int64_t)m->e[i].first_seen + delta);
		m->e[i].last_seen = (uint64_t)((int64_t)m->e[i].last_seen + delta);
	}
}

static int
top_cmp(const void *a, const void *b)
{
	const struct missing_entry *x = *(const struct missing_entry *const *)a;
	const struct missing_entry *y = *(const struct missing_entry *const *)b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->last_seen != y->last_seen)
		return x->last_seen > y->last_seen ? -1 : 1;
	return memcmp(x->name, y->name, sizeof(x->name));
}

size_t
missing_top(const struct missing *m, const struct missing_entry **out,
    size_t max)
{
	const struct missing_entry **all;
	size_t n;

	if (max == 0 || m->n == 0)
		return 0;
	/* The reader's side: sorting a copy is fine here. */
	all = xcalloc(m->n, sizeof(*all));
	for (size_t i = 0; i < m->n; i++)
		all[i] = &m->e[i];
	qsort(all, m->n, sizeof(*all), top_cmp);
	n = m->n < max ? m->n : max;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	return n;
}
