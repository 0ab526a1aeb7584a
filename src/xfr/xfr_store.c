/*
 * xfr_store: a secondary zone's data in memory: its records, an
 * open-addressed set keyed by (owner, type, RDATA), and its SOA's fields.
 */
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/util.h"
#include "xfr/xfr_secondary_int.h"

static struct srec tomb_;
#define TOMB	(&tomb_)

static uint64_t
rec_hash(const uint8_t *owner, size_t olen, uint16_t type, const uint8_t *rd,
    size_t rdlen)
{
	return hash_more(hash_more(hash_word(hash_start(), type), owner, olen),
	    rd, rdlen);
}

void
xfr_store_clear(struct rrstore *st)
{
	for (size_t i = 0; i < st->cap; i++)
		if (st->slots[i] != NULL && st->slots[i] != TOMB)
			free(st->slots[i]);
	free(st->slots);
	memset(st, 0, sizeof(*st));
}

/* The slot of the record, or of the empty slot it would take (-1: none). */
static long
store_slot(const struct rrstore *st, const uint8_t *owner, size_t olen, uint16_t type,
    const uint8_t *rd, uint16_t rdlen, bool *found)
{
	size_t i, mask = st->cap - 1;
	long free_slot = -1;

	*found = false;
	if (st->cap == 0)
		return -1;
	i = (size_t)rec_hash(owner, olen, type, rd, rdlen) & mask;
	for (size_t probes = 0; probes < st->cap; probes++, i = (i + 1) & mask) {
		struct srec *r = st->slots[i];

		if (r == NULL)
			return free_slot >= 0 ? free_slot : (long)i;
		if (r == TOMB) {
			if (free_slot < 0)
				free_slot = (long)i;
			continue;
		}
		if (r->type == type && r->olen == olen && r->rdlen == rdlen &&
		    memcmp(r->data, owner, olen) == 0 &&
		    memcmp(r->data + olen, rd, rdlen) == 0) {
			*found = true;
			return (long)i;
		}
	}
	return free_slot;
}

static int store_grow(struct rrstore *st);

/* Adds a record (a copy): 1, or 0 when it was there already, -1 when out
 * of memory (the store is unchanged). */
int
xfr_store_add(struct rrstore *st, const uint8_t *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rd, uint16_t rdlen)
{
	size_t olen = (size_t)wire_name_len(owner, WIRE_NAME_MAX);
	struct srec *r;
	bool found;
	long s;

	if ((st->used + 1) * 2 > st->cap && store_grow(st) == -1)
		return -1;
	s = store_slot(st, owner, olen, type, rd, rdlen, &found);
	if (found) {
		st->slots[s]->ttl = ttl;
		return 0;
	}
	if ((r = try_calloc(1, sizeof(*r) + olen + rdlen)) == NULL)
		return -1;
	r->ttl = ttl;
	r->type = type;
	r->rdlen = rdlen;
	r->olen = (uint8_t)olen;
	memcpy(r->data, owner, olen);
	memcpy(r->data + olen, rd, rdlen);
	if (st->slots[s] == NULL)
		st->used++;
	st->slots[s] = r;
	st->n++;
	return 1;
}

static int
store_grow(struct rrstore *st)
{
	struct rrstore n;

	memset(&n, 0, sizeof(n));
	n.cap = 64;
	while (n.cap < (st->n + 1) * 4)
		n.cap <<= 1;
	if ((n.slots = try_calloc(n.cap, sizeof(*n.slots))) == NULL)
		return -1;
	for (size_t i = 0; i < st->cap; i++) {
		struct srec *r = st->slots[i];
		bool found;
		long s;

		if (r == NULL || r == TOMB)
			continue;
		s = store_slot(&n, r->data, r->olen, r->type, r->data + r->olen,
		    r->rdlen, &found);
		n.slots[s] = r;
		n.n++;
		n.used++;
	}
	free(st->slots);
	*st = n;
	return 0;
}

int
xfr_store_del(struct rrstore *st, const uint8_t *owner, uint16_t type, const uint8_t *rd,
    uint16_t rdlen)
{
	size_t olen = (size_t)wire_name_len(owner, WIRE_NAME_MAX);
	bool found;
	long s = store_slot(st, owner, olen, type, rd, rdlen, &found);

	if (!found)
		return -1;
	free(st->slots[s]);
	st->slots[s] = TOMB;
	st->n--;
	return 0;
}

/* Serial, refresh, retry, expire of an SOA RDATA; false when malformed. */
bool
xfr_soa_fields(const uint8_t *rd, size_t len, uint32_t v[4])
{
	int a, b;

	if ((a = wire_name_len(rd, len)) < 0 ||
	    (b = wire_name_len(rd + a, len - (size_t)a)) < 0 ||
	    len - (size_t)a - (size_t)b != 20)
		return false;
	for (int i = 0; i < 4; i++)
		v[i] = wire_get_u32(rd + a + b + 4 * i);
	return true;
}

bool
xfr_soa_set(struct soa *s, uint32_t ttl, const uint8_t *rd, size_t len)
{
	uint32_t v[4];

	if (len > sizeof(s->rdata) || !xfr_soa_fields(rd, len, v))
		return false;
	s->ttl = ttl;
	s->len = (uint16_t)len;
	memcpy(s->rdata, rd, len);
	return true;
}

uint32_t
xfr_soa_field(const struct soa *s, int i)
{
	uint32_t v[4] = { 0, 0, 0, 0 };

	xfr_soa_fields(s->rdata, s->len, v);
	return v[i];
}

const struct srec *
xfr_store_next(const struct rrstore *st, size_t *i)
{
	while (*i < st->cap) {
		const struct srec *r = st->slots[(*i)++];

		if (r != NULL && r != TOMB)
			return r;
	}
	return NULL;
}
