/*
 * sources_check: what the common layer of the record sources checks before
 * a record goes in (source_add: name syntax, address syntax, private
 * ranges, placement into a privatelink zone, repeats and conflicts within a
 * source) and across sources once every source is in (sources_finish).
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/addr.h"
#include "data/azure_zones.h"
#include "data/records.h"
#include "data/sources.h"
#include "data/sources_int.h"
#include "util/util.h"
#include "wire/wire.h"

#define CONFLICT_FMT "%s has address %s here and %s at %s; a private " \
	"endpoint name has one address (multi = yes in [zone \"%s\"] allows several)"

int
source_parse_ttl(const char *text, uint32_t *ttl)
{
	unsigned long long v = 0;

	if (*text == '\0')
		return -1;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
		if (v > 2147483647ULL)
			return -1;
	}
	*ttl = (uint32_t)v;
	return 0;
}

/* ---- names and placement ---- */

static int
count_labels(const char *name)
{
	int n = 1;

	for (; *name != '\0'; name++)
		if (*name == '.')
			n++;
	return n;
}

/* True when NAME is SUFFIX or below it. */
static bool
name_under(const char *name, const char *suffix, bool strictly)
{
	size_t n = strlen(name), l = strlen(suffix);

	if (n == l)
		return !strictly && strcmp(name, suffix) == 0;
	return n > l && name[n - l - 1] == '.' &&
	    strcmp(name + n - l, suffix) == 0;
}

/* The configured zone NAME, or NULL (config_zone() without needing config.c
 * to have been linked for the placement rules). */
static const struct zone_conf *
conf_zone(const struct config *cfg, const char *name)
{
	for (size_t i = 0; cfg != NULL && i < cfg->nzones; i++)
		if (strcmp(cfg->zones[i].name, name) == 0)
			return &cfg->zones[i];
	return NULL;
}

/*
 * Places NAME (lower-case, no trailing dot, syntax checked): the table and
 * the configured zones and twins, the longest match winning, a zone before
 * a twin of the same length, the configuration before the table.  Returns
 * 1 (in a zone), 2 (mapped from a twin), 0 (nowhere) or -1 (the privatelink
 * form is too long).
 */
static int
place(const struct config *cfg, struct azure_place_memo *memo, const char *name,
    char *zone, char *plname)
{
	int r = azure_zone_place_memo(memo, name, zone, plname);
	int best = 0;		/* labels of the best match */
	bool bestzone = false;

	if (r == 1) {
		best = count_labels(zone);
		bestzone = true;
	} else if (r == 2) {
		/* The twin's length: the name without the prefix kept in plname. */
		best = count_labels(name) - (count_labels(plname) -
		    count_labels(zone));
	} else if (r == -1)
		return -1;
	for (size_t i = 0; cfg != NULL && i < cfg->nzones; i++) {
		const struct zone_conf *zc = &cfg->zones[i];
		int l = count_labels(zc->name);

		/* A configured zone wins a tie: the operator overrides the table. */
		if (name_under(name, zc->name, false) && l >= best) {
			best = l;
			bestzone = true;
			pl_strlcpy(zone, zc->name, AZURE_NAME_MAX);
			pl_strlcpy(plname, name, AZURE_NAME_MAX);
			r = 1;
		}
		for (size_t t = 0; t < zc->ntwins; t++) {
			const char *tw = zc->twins[t];
			int tl = count_labels(tw);
			size_t plen;

			if (!name_under(name, tw, true) ||
			    tl < best || (tl == best && bestzone))
				continue;
			plen = strlen(name) - strlen(tw);
			if (plen + strlen(zc->name) + 1 > AZURE_NAME_MAX)
				return -1;
			best = tl;
			bestzone = false;
			pl_strlcpy(zone, zc->name, AZURE_NAME_MAX);
			memcpy(plname, name, plen);
			strcpy(plname + plen, zc->name);
			r = 2;
		}
	}
	return r;
}

/*
 * Checks the syntax of NAME (presentation, lower-case, no trailing dot):
 * letters, digits, '-' and '_' in labels of 1..63 octets, 255 octets in
 * wire form.  Returns NULL or a reason (in BUF).
 */
static const char *
name_syntax(const char *name, char *buf, size_t buflen)
{
	size_t l = 0, total = 1;

	for (const char *p = name;; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\0' || c == '.') {
			if (l == 0)
				return "empty label";
			total += 1 + l;
			l = 0;
			if (c == '\0')
				break;
			continue;
		}
		if (!(isalnum(c) || c == '-' || c == '_')) {
			if (c >= 0x80)
				snprintf(buf, buflen, "invalid character (byte 0x%02x; "
				    "write internationalised names in their xn-- form)", c);
			else if (c < 0x20 || c == 0x7f)
				snprintf(buf, buflen, "invalid character (byte 0x%02x)", c);
			else
				snprintf(buf, buflen, "invalid character '%c'", c);
			return buf;
		}
		if (++l > WIRE_LABEL_MAX)
			return "label longer than 63 octets";
	}
	if (total > WIRE_NAME_MAX)
		return "name longer than 255 octets";
	return NULL;
}

/* S for a message: control characters and non-ASCII octets as \xNN. */
static const char *
printable(const char *s, char *buf, size_t buflen)
{
	size_t o = 0;

	for (; *s != '\0' && o + 5 < buflen; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

/* Lower-cases and trims NAME into OUT (AZURE_NAME_MAX * 2 bytes), joining
 * it to ZONE when relative to it.  Returns -1 when empty. */
static int
name_normalise(const char *raw, const char *zone, char *out, size_t outlen)
{
	char zbuf[AZURE_NAME_MAX * 2];
	size_t n;
	bool absolute = false;

	while (isspace((unsigned char)*raw))
		raw++;
	n = strlen(raw);
	while (n > 0 && isspace((unsigned char)raw[n - 1]))
		n--;
	if (n == 0)
		return -1;
	if (n >= outlen)
		n = outlen - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)raw[i]);
	out[n] = '\0';
	if (n > 1 && out[n - 1] == '.') {
		out[--n] = '\0';
		absolute = true;
	}
	if (zone == NULL || absolute)
		return 0;

	/* The zone, normalised the same way. */
	while (isspace((unsigned char)*zone))
		zone++;
	size_t zn = strlen(zone);
	while (zn > 0 && (isspace((unsigned char)zone[zn - 1]) || zone[zn - 1] == '.'))
		zn--;
	if (zn == 0 || zn >= sizeof(zbuf))
		return 0;
	for (size_t i = 0; i < zn; i++)
		zbuf[i] = (char)tolower((unsigned char)zone[i]);
	zbuf[zn] = '\0';
	if (strcmp(out, "@") == 0) {
		pl_strlcpy(out, zbuf, outlen);
		return 0;
	}
	if (name_under(out, zbuf, false))
		return 0;
	if (n + 1 + zn < outlen) {
		out[n] = '.';
		memcpy(out + n + 1, zbuf, zn + 1);
	}
	return 0;
}

/*
 * Where entry E is, for a message: its own location, else "file:line"
 * written into BUF (formatted only when there is something to say).
 */
static const char *
entry_loc(const struct source *s, const struct source_entry *e, char *buf,
    size_t len)
{
	if (e->loc != NULL || e->line == 0)
		return e->loc;
	snprintf(buf, len, "%s:%lu", s->path, e->line);
	return buf;
}

#define ENTRY_LOC	entry_loc(s, e, lbuf, sizeof(lbuf))
#define NAME_LOC	(e->name_loc ? e->name_loc : ENTRY_LOC)
#define ADDR_LOC(i)	(e->addr_locs ? e->addr_locs[i] : ENTRY_LOC)

/* ---- records ---- */

/* The zone's index in the recset, added (where the entry is) when new. */
static uint32_t
zone_index(struct source *s, const char *zone, const struct source_entry *e)
{
	struct recset *rs = s->rs;
	char buf[4096];

	if (s->have_zone && strcmp(rs->zones[s->last_zone].name, zone) == 0)
		return s->last_zone;
	for (size_t i = rs->nzones; i > 0; i--)
		if (strcmp(rs->zones[i - 1].name, zone) == 0) {
			s->last_zone = (uint32_t)(i - 1);
			s->have_zone = true;
			return s->last_zone;
		}
	s->last_zone = (uint32_t)recset_zone(rs, s->cfg, zone, entry_loc(s, e, buf,
	    sizeof(buf)));
	s->have_zone = true;
	return s->last_zone;
}

/* "10.0.0.1" from a record's RDATA. */
static const char *
rdata_str(uint16_t type, const uint8_t *rdata, char *buf, size_t len)
{
	if (inet_ntop(type == TYPE_A ? AF_INET : AF_INET6, rdata, buf,
	    (socklen_t)len) == NULL)
		pl_strlcpy(buf, "?", len);
	return buf;
}

/* Adds a record of entry E, where E is, as the newest of index SLOT. */
static void
entry_record(struct source *s, const struct source_entry *e, size_t slot,
    uint32_t zone, const uint8_t *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rdata, uint16_t rdlen)
{
	struct recset *rs = s->rs;

	if (e->loc == NULL && e->line != 0)
		recset_add_at(rs, zone, owner, type, ttl, rdata, rdlen, s->path,
		    e->line);
	else
		recset_add_at(rs, zone, owner, type, ttl, rdata, rdlen, e->loc, 0);
	recidx_link(rs, slot, rs->nrecs - 1);
}

/*
 * Adds one record of entry E unless it repeats one the source already gave.
 * The index chains a key's records newest first, so the source's own come
 * before those of earlier sources, which are left to sources_finish().
 */
static void
rec_add(struct source *s, const uint8_t *owner, size_t olen, const char *plname,
    uint32_t zone, uint16_t type, uint32_t ttl, const uint8_t *rdata,
    uint8_t rdlen, const struct source_entry *e, size_t ai)
{
	struct recset *rs = s->rs;
	size_t slot = recidx_slot(rs, owner, olen, type);
	uint32_t v;

	for (v = recidx_head(rs, slot); v > s->mark.nrecs; v = recidx_next(rs, v - 1)) {
		struct rec *o = &rs->recs[v - 1];
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], w[4096];

		if (o->rdlen == rdlen && memcmp(o->rdata, rdata, rdlen) == 0) {
			/* Same name, same address: merged; the lower TTL wins,
			 * as Azure does within a set. */
			if (ttl < o->ttl)
				o->ttl = ttl;
			return;
		}
		if (v - 1 < s->entry_first && !rs->zones[zone].multi) {
			char lbuf[4096];
			source_error(s, ADDR_LOC(ai), CONFLICT_FMT, plname,
			    rdata_str(type, rdata, a, sizeof(a)),
			    rdata_str(type, o->rdata, b, sizeof(b)),
			    recset_where(o, w, sizeof(w)), rs->zones[zone].name);
			return;
		}
	}
	entry_record(s, e, slot, zone, owner, type, ttl, rdata, rdlen);
}

/* The CNAME of entry E (owner OWNER in ZONE), its target checked. */
static void
add_cname(struct source *s, const struct source_entry *e, const uint8_t *owner,
    size_t olen, const char *zone, uint32_t ttl)
{
	uint8_t target[WIRE_NAME_MAX];
	char why[128], pbuf[AZURE_NAME_MAX * 8], lbuf[4096];
	const char *reason, *err;
	size_t slot;
	int tlen;
	uint32_t z;

	if ((reason = name_syntax(e->cname, why, sizeof(why))) != NULL ||
	    (tlen = wire_name_from_str(e->cname, target, &err)) < 0) {
		source_error(s, ENTRY_LOC, "bad CNAME target \"%s\": %s",
		    printable(e->cname, pbuf, sizeof(pbuf)), reason ? reason :
		    "longer than 255 octets");
		return;
	}
	z = zone_index(s, zone, e);
	slot = recidx_slot(s->rs, owner, olen, TYPE_CNAME);
	if (recidx_head(s->rs, slot) != 0) {
		source_error(s, ENTRY_LOC, "a second CNAME for the same name");
		return;
	}
	entry_record(s, e, slot, z, owner, TYPE_CNAME, ttl, target,
	    (uint16_t)tlen);
}

void
source_add(struct source *s, const struct source_entry *e)
{
	char name[AZURE_NAME_MAX * 2], zone[AZURE_NAME_MAX], plname[AZURE_NAME_MAX];
	char why[128];
	uint8_t owner[WIRE_NAME_MAX];
	char lbuf[4096];
	const char *reason, *err;
	const struct zone_conf *zc;
	uint32_t ttl, z;
	int r, olen;

	s->entry_first = s->rs->nrecs;
	if (e->name == NULL || name_normalise(e->name, e->zone, name,
	    sizeof(name)) == -1) {
		source_error(s, NAME_LOC, "missing name");
		return;
	}
	/* Hosts files hold other names too: those are skipped before their
	 * syntax is looked at. */
	r = place(s->cfg, &s->memo, name, zone, plname);
	if (r == 0 && e->only_placeable) {
		s->nskipped++;
		return;
	}
	if ((reason = name_syntax(name, why, sizeof(why))) != NULL) {
		char pbuf[AZURE_NAME_MAX * 8];
		source_error(s, NAME_LOC, "bad name \"%s\": %s",
		    printable(name, pbuf, sizeof(pbuf)), reason);
		return;
	}
	if (r == 0) {
		if (s->cfg->strict)
			source_error(s, NAME_LOC, "%s is outside every known privatelink "
			    "zone (add a [zone] section for its zone, or set "
			    "strict = no to skip such names)", name);
		else
			source_warning(s, NAME_LOC, "%s is outside every known "
			    "privatelink zone; skipped", name);
		return;
	}
	if (r == -1 || (olen = wire_name_from_str(plname, owner, &err)) < 0) {
		source_error(s, NAME_LOC, "bad name \"%s\": its privatelink form is "
		    "longer than 255 octets", name);
		return;
	}
	/* Its index slot is needed once the addresses are read. */
	if (e->naddrs > 0)
		recidx_prefetch(s->rs, owner, (size_t)olen,
		    strchr(e->addrs[0], ':') != NULL ? TYPE_AAAA : TYPE_A);
	if ((zc = conf_zone(s->cfg, zone)) != NULL && zc->file != NULL) {
		source_error(s, NAME_LOC, "%s belongs to zone %s, which is loaded from "
		    "%s; add the record there", plname, zone, zc->file);
		return;
	}
	ttl = e->ttl >= 0 ? (uint32_t)e->ttl : s->cfg->record_ttl;
	if (e->cname != NULL) {
		add_cname(s, e, owner, (size_t)olen, zone, ttl);
		return;
	}
	if (e->naddrs == 0) {
		source_error(s, ENTRY_LOC, "missing address for %s", name);
		return;
	}
	z = zone_index(s, zone, e);
	for (size_t i = 0; i < e->naddrs; i++) {
		char abuf[INET6_ADDRSTRLEN + 8];
		uint8_t rdata[16];
		uint16_t type;
		size_t an;
		const char *a = e->addrs[i];

		while (isspace((unsigned char)*a))
			a++;
		an = strlen(a);
		while (an > 0 && isspace((unsigned char)a[an - 1]))
			an--;
		if (an == 0) {
			source_error(s, ADDR_LOC(i), "missing address for %s", name);
			continue;
		}
		if (an >= sizeof(abuf)) {
			char pbuf[200], cut[41];
			pl_strlcpy(cut, a, sizeof(cut));
			source_error(s, ADDR_LOC(i), "bad address \"%s...\" for %s",
			    printable(cut, pbuf, sizeof(pbuf)), name);
			continue;
		}
		memcpy(abuf, a, an);
		abuf[an] = '\0';
		if (inet_pton(AF_INET, abuf, rdata) == 1)
			type = TYPE_A;
		else if (strchr(abuf, ':') != NULL && inet_pton(AF_INET6, abuf, rdata) == 1)
			type = TYPE_AAAA;
		else {
			char pbuf[sizeof(abuf) * 4];
			source_error(s, ADDR_LOC(i), "bad address \"%s\" for %s",
			    printable(abuf, pbuf, sizeof(pbuf)), name);
			continue;
		}
		if (!s->cfg->allow_public && !addr_is_private(type == TYPE_A ?
		    AF_INET : AF_INET6, rdata)) {
			source_error(s, ADDR_LOC(i), "address %s of %s is not private (private "
			    "endpoints use 10/8, 172.16/12, 192.168/16, 100.64/10 "
			    "or fc00::/7; allow_public = yes accepts it)", abuf, name);
			continue;
		}
		rec_add(s, owner, (size_t)olen, plname, z, type, ttl, rdata,
		    type == TYPE_A ? 4 : 16, e, i);
	}
}

/* ---- checks across sources ---- */

struct fin_key {
	uint32_t idx;
	uint8_t olen;
};

/* Orders groups as the records of their first keys: by name, then type. */
static int
group_cmp(const void *a, const void *b, void *arg)
{
	const struct fin_key *x = a, *y = b;
	const struct rec *recs = arg, *p = &recs[x->idx], *q = &recs[y->idx];
	int c;

	if (x->olen != y->olen)
		return x->olen < y->olen ? -1 : 1;
	if ((c = memcmp(p->owner, q->owner, x->olen)) != 0)
		return c;
	return p->type < q->type ? -1 : p->type > q->type;
}

/* Within a group: by RDATA, then by position (the first source first). */
static int
fin_cmp(const void *a, const void *b, void *arg)
{
	const struct fin_key *x = a, *y = b;
	const struct rec *recs = arg, *p = &recs[x->idx], *q = &recs[y->idx];
	int c;

	if ((c = group_cmp(a, b, arg)) != 0)
		return c;
	if (p->rdlen != q->rdlen)
		return p->rdlen < q->rdlen ? -1 : 1;
	if ((c = memcmp(p->rdata, q->rdata, p->rdlen)) != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool
same_rdata(const struct rec *a, const struct rec *b)
{
	return a->rdlen == b->rdlen && memcmp(a->rdata, b->rdata, a->rdlen) == 0;
}

static bool
same_where(const struct rec *a, const struct rec *b)
{
	if (a->line != b->line)
		return false;
	return a->file == b->file || (a->file != NULL && b->file != NULL &&
	    strcmp(a->file, b->file) == 0);
}

/*
 * One name and type with several records, KEYS[0..N) sorted by fin_cmp:
 * repeats are dropped (the first stays), every record takes the lowest TTL
 * of the set, and two addresses from different entries are a conflict
 * unless the zone allows several.  Returns the number of errors.
 */
static size_t
fin_group(struct recset *rs, struct diag *d, const struct fin_key *keys,
    size_t n, bool *drop)
{
	struct rec *first = &rs->recs[keys[0].idx];
	const struct rec *other = NULL;
	uint32_t minttl = first->ttl;
	bool reported = false;
	size_t nerr = 0;

	for (size_t j = 1; j < n; j++) {
		struct rec *r = &rs->recs[keys[j].idx];
		if (r->ttl < minttl)
			minttl = r->ttl;
		/* Sorted by RDATA then index: a repeat follows the first
		 * record with its address. */
		if (same_rdata(r, &rs->recs[keys[j - 1].idx])) {
			drop[keys[j].idx] = true;
			continue;
		}
		if (rs->zones[first->zone].multi || reported)
			continue;
		/* Another address: fine when the same entry gave both. */
		for (size_t k = 0; k < j; k++) {
			const struct rec *o = &rs->recs[keys[k].idx];
			if (!same_where(o, r)) {
				other = o;
				break;
			}
		}
		if (other != NULL) {
			char name[1024], a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
			char wl[4096], we[4096];
			const struct rec *late = r, *early = other;
			const char *ew;
			size_t l;

			if (keys[j].idx < (uint32_t)(other - rs->recs)) {
				late = other;
				early = r;
			}
			if (wire_name_to_str(first->owner, name, sizeof(name)) < 0)
				pl_strlcpy(name, "?", sizeof(name));
			l = strlen(name);
			if (l > 1)
				name[l - 1] = '\0';
			ew = recset_where(early, we, sizeof(we));
			diag_addloc(d, DIAG_ERROR, recset_where(late, wl, sizeof(wl)),
			    CONFLICT_FMT, name,
			    rdata_str(late->type, late->rdata, a, sizeof(a)),
			    rdata_str(early->type, early->rdata, b, sizeof(b)),
			    ew ? ew : "?", rs->zones[first->zone].name);
			reported = true;
			nerr++;
		}
	}
	for (size_t k = 0; k < n; k++)
		rs->recs[keys[k].idx].ttl = minttl;
	return nerr;
}

int
sources_finish(const struct config *cfg, struct recset *rs, struct diag *d)
{
	struct recidx *x = &rs->idx;
	struct fin_key *groups = NULL, *keys = NULL;
	size_t ngroups = 0, capgroups = 0, capkeys = 0, nerr = 0, i, j;
	bool *drop = NULL;

	(void)cfg;
	/*
	 * The sources indexed their records by name and type as they came:
	 * only a key with several records has anything to check.  Those are
	 * visited in the order of their names, so that messages come out the
	 * same whatever the hashing.
	 */
	for (i = 0; i < x->cap; i++) {
		uint32_t h = x->slots[i].head;
		const struct rec *r;

		if (h == 0 || x->next[h - 1] == 0)
			continue;
		r = &rs->recs[h - 1];
		/* Zone files give their RRsets as written. */
		if ((r->type != TYPE_A && r->type != TYPE_AAAA) ||
		    rs->zones[r->zone].from_file)
			continue;
		if (ngroups == capgroups) {
			capgroups = capgroups ? capgroups * 2 : 64;
			groups = xreallocarray(groups, capgroups, sizeof(*groups));
		}
		groups[ngroups].idx = h - 1;
		groups[ngroups].olen = (uint8_t)wire_name_len(r->owner, WIRE_NAME_MAX);
		ngroups++;
	}
	if (ngroups > 0) {
		qsort_r(groups, ngroups, sizeof(*groups), group_cmp, rs->recs);
		drop = xcalloc(rs->nrecs, sizeof(*drop));
	}
	for (i = 0; i < ngroups; i++) {
		size_t n = 0;

		for (uint32_t v = groups[i].idx + 1; v != 0; v = x->next[v - 1]) {
			if (n == capkeys) {
				capkeys = capkeys ? capkeys * 2 : 16;
				keys = xreallocarray(keys, capkeys, sizeof(*keys));
			}
			keys[n].idx = v - 1;
			keys[n].olen = groups[i].olen;
			n++;
		}
		qsort_r(keys, n, sizeof(*keys), fin_cmp, rs->recs);
		nerr += fin_group(rs, d, keys, n, drop);
	}
	free(groups);
	free(keys);
	recidx_clear(rs);

	/* Drop the merged repeats, keeping the order of the rest. */
	if (drop != NULL) {
		for (i = j = 0; i < rs->nrecs; i++) {
			if (drop[i])
				continue;	/* its bytes stay in the pool until the recset goes */
			if (i != j)
				rs->recs[j] = rs->recs[i];
			j++;
		}
		rs->nrecs = j;
		free(drop);
	}
	return nerr ? -1 : 0;
}
