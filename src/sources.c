/*
 * sources: the common layer of the record sources.
 *
 * source_load() reads a file, picks its format, runs the importer and checks
 * every entry the importer yields: name syntax, address syntax, private
 * ranges, placement into a privatelink zone, duplicates and conflicts.  The
 * records are kept pending in the source's own buffers and reach the recset
 * only when the whole source had no error: a source is taken whole or not at
 * all.  sources_finish() then runs the checks that span sources.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "addr.h"
#include "azure_zones.h"
#include "records.h"
#include "sources.h"
#include "sources_int.h"
#include "util.h"
#include "wire.h"

/* A record waiting for the end of its source. */
struct pend {
	size_t owner_off;	/* wire name in the arena */
	size_t where_off;	/* location string in the arena */
	uint32_t ttl;
	uint32_t entry;		/* entries number their records: one entry may
				   give several addresses for one name */
	uint32_t next;		/* next pend with the same owner and type, + 1 */
	uint32_t zone;		/* index into src.zones */
	uint16_t type;
	uint8_t owner_len;
	uint8_t rdlen;
	uint8_t rdata[16];
};

/* A hash slot: the (owner, type) hash, so that probes rarely touch the
 * pends, and the index + 1 of the newest pend with that key (0: empty). */
struct hslot {
	uint32_t hash;
	uint32_t idx;
};

/* A zone the source's records fall into. */
struct src_zone {
	char *name;
	bool multi;
	size_t where_off;	/* the first record's location */
	size_t rsidx;		/* index in the recset, at commit */
};

struct source {
	const struct config *cfg;
	const char *path;
	struct diag *d;
	size_t nerrors0;

	char *arena;
	size_t alen, acap;
	struct pend *pends;
	size_t npends, cappends;
	struct hslot *hash;	/* open addressing, at most half full */
	size_t hcap;
	struct src_zone *zones;
	size_t nzones;
	uint32_t nentries;
	size_t nskipped;	/* hosts names outside every zone */
	size_t nsuppressed;	/* errors past SRC_MAX_ERRORS */

	bool have_loc;		/* last_loc_off is set */
	size_t last_loc_off;	/* location last copied into the arena */
};

/* ---- messages ---- */

/* A file with a systematic mistake (the wrong column, say) would otherwise
 * print one message per row; past this many the rest are only counted. */
#define SRC_MAX_ERRORS	1000

#define CONFLICT_FMT "%s has address %s here and %s at %s; a private " \
	"endpoint name has one address (multi = yes in [zone \"%s\"] allows several)"

const char *
source_path(const struct source *s)
{
	return s->path;
}

static void src_vmsg(struct source *, enum diag_level, const char *,
    const char *, va_list) __attribute__((format(printf, 4, 0)));

static void
src_vmsg(struct source *s, enum diag_level level, const char *loc,
    const char *fmt, va_list ap)
{
	char *msg;

	if (level == DIAG_ERROR && s->d->nerrors - s->nerrors0 >= SRC_MAX_ERRORS) {
		s->nsuppressed++;
		return;
	}
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	diag_addloc(s->d, level, loc ? loc : s->path, "%s", msg);
	free(msg);
}

void
source_error(struct source *s, const char *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	src_vmsg(s, DIAG_ERROR, loc, fmt, ap);
	va_end(ap);
}

void
source_warning(struct source *s, const char *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	src_vmsg(s, DIAG_WARNING, loc, fmt, ap);
	va_end(ap);
}

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

/* ---- the arena ---- */

static size_t
arena_put(struct source *s, const void *p, size_t n)
{
	size_t off = s->alen;

	if (s->alen + n > s->acap) {
		while (s->alen + n > s->acap)
			s->acap = s->acap ? s->acap * 2 : 65536;
		s->arena = xrealloc(s->arena, s->acap);
	}
	memcpy(s->arena + s->alen, p, n);
	s->alen += n;
	return off;
}

static size_t
arena_loc(struct source *s, const char *loc)
{
	/* The addresses of one entry share its location.  (Importers reuse
	 * their buffers, so the text is compared, not the pointer.) */
	if (!s->have_loc || strcmp(s->arena + s->last_loc_off, loc) != 0) {
		s->last_loc_off = arena_put(s, loc, strlen(loc) + 1);
		s->have_loc = true;
	}
	return s->last_loc_off;
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
place(const struct config *cfg, const char *name, char *zone, char *plname)
{
	int r = azure_zone_place(name, zone, plname);
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

/* ---- pending records ---- */

static uint32_t
pend_hash(const uint8_t *owner, size_t len, uint16_t type)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ owner[i]) * 16777619u;
	h = (h ^ type) * 16777619u;
	return h;
}

static void
hash_grow(struct source *s, size_t want)
{
	size_t ncap = s->hcap ? s->hcap : 1024;
	struct hslot *nh;

	while (ncap < want * 2)
		ncap *= 2;
	if (ncap == s->hcap)
		ncap *= 2;
	nh = xcalloc(ncap, sizeof(*nh));
	for (size_t i = 0; i < s->hcap; i++) {
		size_t j;

		if (s->hash[i].idx == 0)
			continue;
		j = s->hash[i].hash & (ncap - 1);
		while (nh[j].idx != 0)
			j = (j + 1) & (ncap - 1);
		nh[j] = s->hash[i];
	}
	free(s->hash);
	s->hash = nh;
	s->hcap = ncap;
}

/* The slot of (OWNER, TYPE): its chain head, or the empty slot to use
 * (with its hash filled in). */
static struct hslot *
hash_slot(struct source *s, const uint8_t *owner, size_t olen, uint16_t type)
{
	uint32_t h = pend_hash(owner, olen, type);
	size_t j = h & (s->hcap - 1);

	for (;;) {
		struct hslot *sl = &s->hash[j];
		if (sl->idx == 0) {
			sl->hash = h;
			return sl;
		}
		if (sl->hash == h) {
			const struct pend *p = &s->pends[sl->idx - 1];
			if (p->type == type && p->owner_len == olen &&
			    memcmp(s->arena + p->owner_off, owner, olen) == 0)
				return sl;
		}
		j = (j + 1) & (s->hcap - 1);
	}
}

static uint32_t
zone_index(struct source *s, const char *zone, const char *loc)
{
	for (size_t i = s->nzones; i > 0; i--)
		if (strcmp(s->zones[i - 1].name, zone) == 0)
			return (uint32_t)(i - 1);
	s->zones = xreallocarray(s->zones, s->nzones + 1, sizeof(*s->zones));
	struct src_zone *z = &s->zones[s->nzones];
	const struct zone_conf *zc = conf_zone(s->cfg, zone);
	z->name = xstrdup(zone);
	z->multi = zc != NULL && zc->multi > 0;
	z->where_off = arena_loc(s, loc);
	z->rsidx = 0;
	return (uint32_t)s->nzones++;
}

/* "10.0.0.1" from a pend's RDATA. */
static const char *
rdata_str(uint16_t type, const uint8_t *rdata, char *buf, size_t len)
{
	if (inet_ntop(type == TYPE_A ? AF_INET : AF_INET6, rdata, buf,
	    (socklen_t)len) == NULL)
		pl_strlcpy(buf, "?", len);
	return buf;
}

/* Adds one record of entry E unless it repeats one already pending. */
static void
pend_add(struct source *s, const uint8_t *owner, size_t olen, const char *plname,
    uint32_t zone, uint16_t type, uint32_t ttl, const uint8_t *rdata,
    uint8_t rdlen, const char *loc, const char *aloc)
{
	struct hslot *slot;
	struct pend *p;
	uint32_t v;

	if (s->npends + 1 > s->hcap / 2)
		hash_grow(s, s->npends + 1);
	slot = hash_slot(s, owner, olen, type);
	for (v = slot->idx; v != 0; v = s->pends[v - 1].next) {
		struct pend *o = &s->pends[v - 1];
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

		if (o->rdlen == rdlen && memcmp(o->rdata, rdata, rdlen) == 0) {
			/* Same name, same address: merged; the lower TTL wins,
			 * as Azure does within a set. */
			if (ttl < o->ttl)
				o->ttl = ttl;
			return;
		}
		if (o->entry != s->nentries && !s->zones[zone].multi) {
			source_error(s, aloc, CONFLICT_FMT, plname,
			    rdata_str(type, rdata, a, sizeof(a)),
			    rdata_str(type, o->rdata, b, sizeof(b)),
			    s->arena + o->where_off, s->zones[zone].name);
			return;
		}
	}
	if (s->npends == s->cappends) {
		s->cappends = s->cappends ? s->cappends * 2 : 1024;
		s->pends = xreallocarray(s->pends, s->cappends, sizeof(*s->pends));
	}
	p = &s->pends[s->npends];
	memset(p, 0, sizeof(*p));
	p->owner_off = arena_put(s, owner, olen);
	p->owner_len = (uint8_t)olen;
	p->where_off = arena_loc(s, loc);
	p->ttl = ttl;
	p->entry = s->nentries;
	p->zone = zone;
	p->type = type;
	p->rdlen = rdlen;
	memcpy(p->rdata, rdata, rdlen);
	/* Newest first: the chain is short, and order does not matter. */
	p->next = slot->idx;
	slot->idx = (uint32_t)(s->npends + 1);
	s->npends++;
}

void
source_add(struct source *s, const struct source_entry *e)
{
	char name[AZURE_NAME_MAX * 2], zone[AZURE_NAME_MAX], plname[AZURE_NAME_MAX];
	char why[128];
	uint8_t owner[WIRE_NAME_MAX];
	const char *nloc = e->name_loc ? e->name_loc : e->loc;
	const char *reason, *err;
	const struct zone_conf *zc;
	uint32_t ttl, z;
	int r, olen;

	s->nentries++;
	if (e->name == NULL || name_normalise(e->name, e->zone, name,
	    sizeof(name)) == -1) {
		source_error(s, nloc, "missing name");
		return;
	}
	/* Hosts files hold other names too: those are skipped before their
	 * syntax is looked at. */
	r = place(s->cfg, name, zone, plname);
	if (r == 0 && e->only_placeable) {
		s->nskipped++;
		return;
	}
	if ((reason = name_syntax(name, why, sizeof(why))) != NULL) {
		char pbuf[AZURE_NAME_MAX * 8];
		source_error(s, nloc, "bad name \"%s\": %s",
		    printable(name, pbuf, sizeof(pbuf)), reason);
		return;
	}
	if (r == 0) {
		if (s->cfg->strict)
			source_error(s, nloc, "%s is outside every known privatelink "
			    "zone (add a [zone] section for its zone, or set "
			    "strict = no to skip such names)", name);
		else
			source_warning(s, nloc, "%s is outside every known "
			    "privatelink zone; skipped", name);
		return;
	}
	if (r == -1 || (olen = wire_name_from_str(plname, owner, &err)) < 0) {
		source_error(s, nloc, "bad name \"%s\": its privatelink form is "
		    "longer than 255 octets", name);
		return;
	}
	if ((zc = conf_zone(s->cfg, zone)) != NULL && zc->file != NULL) {
		source_error(s, nloc, "%s belongs to zone %s, which is loaded from "
		    "%s; add the record there", plname, zone, zc->file);
		return;
	}
	if (e->naddrs == 0) {
		source_error(s, e->loc, "missing address for %s", name);
		return;
	}
	ttl = e->ttl >= 0 ? (uint32_t)e->ttl : s->cfg->record_ttl;
	z = zone_index(s, zone, e->loc);
	for (size_t i = 0; i < e->naddrs; i++) {
		const char *aloc = e->addr_locs ? e->addr_locs[i] : e->loc;
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
			source_error(s, aloc, "missing address for %s", name);
			continue;
		}
		if (an >= sizeof(abuf)) {
			char pbuf[200], cut[41];
			pl_strlcpy(cut, a, sizeof(cut));
			source_error(s, aloc, "bad address \"%s...\" for %s",
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
			source_error(s, aloc, "bad address \"%s\" for %s",
			    printable(abuf, pbuf, sizeof(pbuf)), name);
			continue;
		}
		if (!s->cfg->allow_public && !addr_is_private(type == TYPE_A ?
		    AF_INET : AF_INET6, rdata)) {
			source_error(s, aloc, "address %s of %s is not private (private "
			    "endpoints use 10/8, 172.16/12, 192.168/16, 100.64/10 "
			    "or fc00::/7; allow_public = yes accepts it)", abuf, name);
			continue;
		}
		pend_add(s, owner, (size_t)olen, plname, z, type, ttl, rdata,
		    type == TYPE_A ? 4 : 16, e->loc, aloc);
	}
}

/* ---- reading files ---- */

/* Converts UTF-16 (with a byte-order mark) to UTF-8 in place of *BUF. */
static int
from_utf16(char **buf, size_t *len, const char *enc)
{
	iconv_t cd = iconv_open("UTF-8", enc);
	size_t inleft = *len, outcap = *len * 2 + 4, outleft = outcap;
	char *out, *in = *buf, *o;

	if (cd == (iconv_t)-1)
		return -1;
	out = o = xmalloc(outcap + 1);
	if (iconv(cd, &in, &inleft, &o, &outleft) == (size_t)-1) {
		iconv_close(cd);
		free(out);
		return -1;
	}
	iconv_close(cd);
	free(*buf);
	*buf = out;
	*len = outcap - outleft;
	out[*len] = '\0';
	return 0;
}

/* Reads PATH whole as UTF-8 text (NUL-terminated; BOM dropped). */
static int
read_text(const char *path, char **out, size_t *outlen, struct diag *d)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	char *buf;
	size_t len = 0, cap;

	if (fp == NULL) {
		diag_add(d, DIAG_ERROR, path, 0, "cannot read: %s", strerror(errno));
		return -1;
	}
	cap = fstat(fileno(fp), &st) == 0 && st.st_size > 0 ?
	    (size_t)st.st_size + 1 : 65536;
	buf = xmalloc(cap + 1);
	for (;;) {
		size_t n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0)
			break;
		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
	}
	if (ferror(fp)) {
		diag_add(d, DIAG_ERROR, path, 0, "cannot read: %s", strerror(errno));
		fclose(fp);
		free(buf);
		return -1;
	}
	fclose(fp);
	buf[len] = '\0';

	if (len >= 2 && (((unsigned char)buf[0] == 0xff && (unsigned char)buf[1] == 0xfe) ||
	    ((unsigned char)buf[0] == 0xfe && (unsigned char)buf[1] == 0xff))) {
		/* Windows PowerShell's ">" and Out-File write UTF-16. */
		if (from_utf16(&buf, &len, "UTF-16") == -1) {
			diag_add(d, DIAG_ERROR, path, 0, "bad UTF-16 text");
			free(buf);
			return -1;
		}
	}
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		memmove(buf, buf + 3, len - 3 + 1);
		len -= 3;
	}
	if (memchr(buf, '\0', len) != NULL) {
		size_t at = (size_t)((char *)memchr(buf, '\0', len) - buf);
		unsigned long line = 1;
		for (size_t i = 0; i < at; i++)
			if (buf[i] == '\n')
				line++;
		diag_add(d, DIAG_ERROR, path, line, "NUL byte: not a text file "
		    "(UTF-16 text needs a byte-order mark)");
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* ---- format detection ---- */

static bool
has_suffix(const char *path, const char *suf)
{
	size_t n = strlen(path), l = strlen(suf);

	return n >= l && str_casecmp(path + n - l, suf) == 0;
}

static bool
is_rr_type(const char *t, size_t n)
{
	static const char *const types[] = { "A", "AAAA", "SOA", "NS", "CNAME",
	    "TXT", "MX", "SRV", "PTR", "CAA" };

	for (size_t i = 0; i < nitems(types); i++)
		if (strlen(types[i]) == n && strncasecmp(t, types[i], n) == 0)
			return true;
	return false;
}

enum source_format
source_detect(const char *path, const char *head, size_t len)
{
	const char *p = head, *end = head + len, *eol;
	char tok[8][64];
	int ntok = 0;

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p == end) {
		/* Nothing to look at: go by the name. */
		if (path != NULL && has_suffix(path, ".json"))
			return SRC_JSON;
		if (path != NULL && has_suffix(path, ".csv"))
			return SRC_CSV;
		if (path != NULL && (has_suffix(path, ".zone") || has_suffix(path, ".db")))
			return SRC_ZONE;
		return SRC_HOSTS;
	}
	if (*p == '{' || *p == '[')
		return SRC_JSON;
	if (*p == '$' || *p == ';')
		return SRC_ZONE;
	if (*p == '#')
		return SRC_HOSTS;

	/* The first line's white-space separated tokens. */
	eol = memchr(p, '\n', (size_t)(end - p));
	if (eol == NULL)
		eol = end;
	for (const char *q = p; q < eol && ntok < 8;) {
		size_t n;
		while (q < eol && isspace((unsigned char)*q))
			q++;
		n = 0;
		while (q + n < eol && !isspace((unsigned char)q[n]))
			n++;
		if (n == 0)
			break;
		if (n < sizeof(tok[0])) {
			memcpy(tok[ntok], q, n);
			tok[ntok][n] = '\0';
		} else
			tok[ntok][0] = '\0';
		ntok++;
		q += n;
	}
	if (ntok >= 2) {
		uint8_t a[16];
		if (inet_pton(AF_INET, tok[0], a) == 1 ||
		    inet_pton(AF_INET6, tok[0], a) == 1)
			return SRC_HOSTS;
		/* owner [ttl] [class] type rdata */
		for (int i = 1; i < ntok && i < 4; i++) {
			if (str_casecmp(tok[i], "IN") == 0 && i + 1 < ntok &&
			    is_rr_type(tok[i + 1], strlen(tok[i + 1])))
				return SRC_ZONE;
			if (str_casecmp(tok[i], "SOA") == 0)
				return SRC_ZONE;
		}
	}
	return SRC_CSV;
}

/* The zone a zone-file source is for: its $ORIGIN, else its SOA owner. */
static char *
zone_file_origin(const char *buf)
{
	const char *p = buf;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		char line[512], *tok[3] = { NULL }, *save = NULL, *t;
		int nt = 0;

		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			if ((t = strchr(line, ';')) != NULL)
				*t = '\0';
			for (t = strtok_r(line, " \t\r", &save); t != NULL && nt < 3;
			    t = strtok_r(NULL, " \t\r", &save))
				tok[nt++] = t;
			if (nt >= 2 && str_casecmp(tok[0], "$ORIGIN") == 0)
				return xstrdup(tok[1]);
			if (nt >= 2 && line[0] != ' ' && line[0] != '\t' &&
			    strchr(tok[0], '.') != NULL && tok[0][strlen(tok[0]) - 1] == '.' &&
			    (str_casecmp(tok[1], "SOA") == 0 || (nt >= 3 &&
			    str_casecmp(tok[2], "SOA") == 0)))
				return xstrdup(tok[0]);
		}
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	return NULL;
}

static int
load_zone_source(const struct config *cfg, const char *path, const char *buf,
    struct recset *rs, struct diag *d)
{
	char *origin = zone_file_origin(buf);
	int rc;

	if (origin == NULL) {
		diag_add(d, DIAG_ERROR, path, 0, "zone file without $ORIGIN or an "
		    "absolute SOA owner: cannot tell its zone");
		return -1;
	}
	size_t n = strlen(origin);
	if (n > 1 && origin[n - 1] == '.')
		origin[n - 1] = '\0';
	for (char *c = origin; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	rc = source_zone_file(cfg, origin, path, rs, d);
	free(origin);
	return rc;
}

/* ---- loading a source ---- */

static void
src_free(struct source *s)
{
	for (size_t i = 0; i < s->nzones; i++)
		free(s->zones[i].name);
	free(s->zones);
	free(s->arena);
	free(s->pends);
	free(s->hash);
}

static void
src_commit(struct source *s, struct recset *rs)
{
	/* The dedup table is done with: give its memory back before the
	 * records are copied, so that a large source peaks lower. */
	free(s->hash);
	s->hash = NULL;
	s->hcap = 0;
	recset_reserve(rs, s->npends);
	for (size_t i = 0; i < s->nzones; i++)
		s->zones[i].rsidx = recset_zone(rs, s->cfg, s->zones[i].name,
		    s->arena + s->zones[i].where_off);
	for (size_t i = 0; i < s->npends; i++) {
		const struct pend *p = &s->pends[i];
		recset_add(rs, s->zones[p->zone].rsidx,
		    (const uint8_t *)s->arena + p->owner_off, p->type, p->ttl,
		    p->rdata, p->rdlen, s->arena + p->where_off);
	}
}

int
source_load(const struct config *cfg, const char *spec, struct recset *rs,
    struct diag *d)
{
	static const struct {
		const char *prefix;
		enum source_format fmt;
	} prefixes[] = {
		{ "csv:", SRC_CSV }, { "json:", SRC_JSON },
		{ "hosts:", SRC_HOSTS }, { "zone:", SRC_ZONE },
	};
	enum source_format fmt = SRC_AUTO;
	const char *path = spec;
	struct source s;
	char *buf;
	size_t len;
	int rc;

	for (size_t i = 0; i < nitems(prefixes); i++) {
		size_t n = strlen(prefixes[i].prefix);
		if (strncmp(spec, prefixes[i].prefix, n) == 0) {
			fmt = prefixes[i].fmt;
			path = spec + n;
			break;
		}
	}
	if (read_text(path, &buf, &len, d) == -1)
		return -1;
	if (fmt == SRC_AUTO)
		fmt = source_detect(path, buf, len);
	if (fmt == SRC_ZONE) {
		rc = load_zone_source(cfg, path, buf, rs, d);
		free(buf);
		return rc;
	}

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.path = path;
	s.d = d;
	s.nerrors0 = d->nerrors;
	/* Sized for the file (a row is rarely under 40 bytes), so that big
	 * files do not pay for growing step by step. */
	hash_grow(&s, len / 40);
	s.cappends = len / 40 + 16;
	s.pends = xreallocarray(NULL, s.cappends, sizeof(*s.pends));
	s.acap = len * 2 + 65536;
	s.arena = xmalloc(s.acap);
	if (fmt == SRC_CSV)
		source_csv_parse(&s, buf, len);
	else if (fmt == SRC_JSON)
		source_json_parse(&s, buf, len);
	else
		source_hosts_parse(&s, buf, len);
	free(buf);

	if (s.nsuppressed > 0)
		diag_add(d, DIAG_ERROR, path, 0, "%zu more error%s not shown",
		    s.nsuppressed, s.nsuppressed == 1 ? "" : "s");
	if (d->nerrors > s.nerrors0) {
		rc = -1;
	} else {
		if (s.npends == 0 && fmt == SRC_HOSTS)
			diag_add(d, DIAG_WARNING, path, 0, "no privatelink names "
			    "found (%zu other name%s skipped)", s.nskipped,
			    s.nskipped == 1 ? "" : "s");
		else if (s.npends == 0)
			diag_add(d, DIAG_WARNING, path, 0, "no records found");
		src_commit(&s, rs);
		rc = 0;
	}
	src_free(&s);
	return rc;
}

/* ---- checks across sources ---- */

struct fin_key {
	uint32_t idx;
	uint8_t olen;
};

static int
fin_cmp(const void *a, const void *b, void *arg)
{
	const struct fin_key *x = a, *y = b;
	const struct rec *recs = arg, *p = &recs[x->idx], *q = &recs[y->idx];
	int c;

	if (x->olen != y->olen)
		return x->olen < y->olen ? -1 : 1;
	if ((c = memcmp(p->owner, q->owner, x->olen)) != 0)
		return c;
	if (p->type != q->type)
		return p->type < q->type ? -1 : 1;
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

int
sources_finish(const struct config *cfg, struct recset *rs, struct diag *d)
{
	struct fin_key *keys;
	bool *drop;
	size_t nkeys = 0, nerr = 0, i, j;

	(void)cfg;
	keys = xcalloc(rs->nrecs ? rs->nrecs : 1, sizeof(*keys));
	drop = xcalloc(rs->nrecs ? rs->nrecs : 1, sizeof(*drop));
	for (i = 0; i < rs->nrecs; i++) {
		const struct rec *r = &rs->recs[i];
		/* Zone files give their RRsets as written. */
		if ((r->type != TYPE_A && r->type != TYPE_AAAA) ||
		    rs->zones[r->zone].from_file)
			continue;
		keys[nkeys].idx = (uint32_t)i;
		keys[nkeys].olen = (uint8_t)wire_name_len(r->owner, WIRE_NAME_MAX);
		nkeys++;
	}
	qsort_r(keys, nkeys, sizeof(*keys), fin_cmp, rs->recs);

	for (i = 0; i < nkeys; i = j) {
		struct rec *first = &rs->recs[keys[i].idx];
		const struct rec *other = NULL;
		uint32_t minttl = first->ttl;
		bool reported = false;

		for (j = i + 1; j < nkeys; j++) {
			struct rec *r = &rs->recs[keys[j].idx];
			if (keys[j].olen != keys[i].olen || r->type != first->type ||
			    memcmp(r->owner, first->owner, keys[i].olen) != 0)
				break;
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
			for (size_t k = i; k < j; k++) {
				const struct rec *o = &rs->recs[keys[k].idx];
				if (o->where != r->where && (o->where == NULL ||
				    r->where == NULL || strcmp(o->where, r->where) != 0)) {
					other = o;
					break;
				}
			}
			if (other != NULL) {
				char name[1024], a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
				const struct rec *late = r, *early = other;
				size_t n;

				if (keys[j].idx < (uint32_t)(other - rs->recs)) {
					late = other;
					early = r;
				}
				if (wire_name_to_str(first->owner, name, sizeof(name)) < 0)
					pl_strlcpy(name, "?", sizeof(name));
				n = strlen(name);
				if (n > 1)
					name[n - 1] = '\0';
				diag_addloc(d, DIAG_ERROR, late->where, CONFLICT_FMT, name,
				    rdata_str(late->type, late->rdata, a, sizeof(a)),
				    rdata_str(early->type, early->rdata, b, sizeof(b)),
				    early->where ? early->where : "?",
				    rs->zones[first->zone].name);
				reported = true;
				nerr++;
			}
		}
		for (size_t k = i; k < j; k++)
			rs->recs[keys[k].idx].ttl = minttl;
	}

	/* Drop the merged repeats, keeping the order of the rest. */
	for (i = j = 0; i < rs->nrecs; i++) {
		if (drop[i])
			continue;	/* its bytes stay in the pool until the recset goes */
		if (i != j)
			rs->recs[j] = rs->recs[i];
		j++;
	}
	rs->nrecs = j;
	free(keys);
	free(drop);
	return nerr ? -1 : 0;
}
