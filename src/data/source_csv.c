/*
 * source_csv: the Azure portal's "Download DNS settings" file and other
 * name/address tables.
 *
 * The portal file's exact columns are not published, so the reader goes by
 * the header: it finds the name and address columns by their titles (case,
 * spaces, '_' and '-' ignored), plus optional TTL and zone columns, and
 * ignores the rest.  RFC 4180 parsing is Debian's libcsv (strict mode, so
 * that a stray quote is an error, not a silently shifted field).  libcsv is
 * fed one physical line at a time, so every row knows the line it began on
 * even when a quoted field spans lines (and a file is read a block of lines
 * at a time).
 *
 * Most lines have no quote at all: those are split at the delimiter where
 * they lie, which gives the fields libcsv would (every field is trimmed
 * afterwards anyway) at a fraction of the cost of a call per character and
 * a copy per field.  A line with a quote, or a carriage return that does
 * not end it, goes to libcsv.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "data/sources_int.h"
#include "util/util.h"

/* Column titles, normalised (lower-case, no spaces, '_' or '-'), in order
 * of preference when a file has several. */
static const char *const name_titles[] = {
	"fqdn", "fullyqualifieddomainname", "domainname", "dnsname", "name",
	"recordname", "record", "hostname", NULL
};
static const char *const addr_titles[] = {
	"ip", "ipaddress", "ipaddresses", "privateip", "privateipaddress",
	"ipv4address", "address", NULL
};

/* As the docs spell them, for the message about a missing header. */
#define NAME_TITLES	"FQDN, Fully Qualified Domain Name, Domain Name, DNS Name, " \
	"Name, Record Name, Record, Host Name, Hostname"
#define ADDR_TITLES	"IP, IP Address, IP Addresses, Private IP, Private IP " \
	"Address, IPv4 Address, IPAddress, Address"

struct csv_state {
	struct source *s;
	struct csv_parser p;
	unsigned char delim;
	unsigned long line;	/* physical line being fed */
	unsigned long row_line;	/* line the current row began on */
	bool in_row;
	bool quoted;		/* libcsv is inside a quoted field */

	/* The current row: fields NUL-separated at base (buf for libcsv's
	 * rows, the line itself for the fast path), at offs. */
	char *base;
	char *buf;
	size_t blen, bcap;
	size_t *offs;
	size_t nf, capf;

	bool have_header, dead;
	int ncol, acol, tcol, zcol;
	int nprio, aprio;	/* preference index of the chosen column */
};

static int
space_tab(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static int
space_only(unsigned char c)
{
	return c == ' ';
}

static void
field_push(struct csv_state *st, size_t off)
{
	if (st->nf == st->capf) {
		st->capf = st->capf ? st->capf * 2 : 16;
		st->offs = xreallocarray(st->offs, st->capf, sizeof(*st->offs));
	}
	st->offs[st->nf++] = off;
}

static void
field_cb(void *data, size_t len, void *arg)
{
	struct csv_state *st = arg;

	if (st->blen + len + 1 > st->bcap) {
		while (st->blen + len + 1 > st->bcap)
			st->bcap = st->bcap ? st->bcap * 2 : 256;
		st->buf = xrealloc(st->buf, st->bcap);
	}
	field_push(st, st->blen);
	if (len > 0)
		memcpy(st->buf + st->blen, data, len);
	st->blen += len;
	st->buf[st->blen++] = '\0';
}

static char *
field(struct csv_state *st, int i)
{
	if (i < 0 || (size_t)i >= st->nf)
		return NULL;
	return str_trim(st->base + st->offs[i]);
}

/* Lower-case, without spaces, '_' and '-'. */
static void
title_norm(const char *t, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *t != '\0' && o + 1 < outlen; t++) {
		unsigned char c = (unsigned char)*t;
		if (isspace(c) || c == '_' || c == '-')
			continue;
		out[o++] = (char)tolower(c);
	}
	out[o] = '\0';
}

static int
title_index(const char *const *titles, const char *t)
{
	for (int i = 0; titles[i] != NULL; i++)
		if (strcmp(titles[i], t) == 0)
			return i;
	return -1;
}

static bool
looks_like_address(const char *f)
{
	if (*f == '\0')
		return false;
	for (; *f != '\0'; f++)
		if (!isxdigit((unsigned char)*f) && *f != '.' && *f != ':')
			return false;
	return true;
}

static void
header_row(struct csv_state *st)
{
	char loc[4096], norm[128];
	char *found = NULL;
	size_t flen = 0;
	bool data_like = false;

	st->ncol = st->acol = st->tcol = st->zcol = -1;
	for (size_t i = 0; i < st->nf; i++) {
		const char *t = field(st, (int)i);
		int k;

		title_norm(t, norm, sizeof(norm));
		if ((k = title_index(name_titles, norm)) >= 0 &&
		    (st->ncol < 0 || k < st->nprio)) {
			st->ncol = (int)i;
			st->nprio = k;
		} else if ((k = title_index(addr_titles, norm)) >= 0 &&
		    (st->acol < 0 || k < st->aprio)) {
			st->acol = (int)i;
			st->aprio = k;
		} else if (strcmp(norm, "ttl") == 0 && st->tcol < 0)
			st->tcol = (int)i;
		else if (strcmp(norm, "zone") == 0 && st->zcol < 0)
			st->zcol = (int)i;
		if (looks_like_address(t))
			data_like = true;
	}
	st->have_header = true;
	if (st->ncol >= 0 && st->acol >= 0)
		return;

	/* Nothing of the file can be read: say what was there and what would do. */
	st->dead = true;
	for (size_t i = 0; i < st->nf; i++) {
		const char *t = field(st, (int)i);
		size_t n = strlen(t);
		found = xrealloc(found, flen + n + 5);
		flen += (size_t)sprintf(found + flen, "%s\"%s\"", i ? ", " : "", t);
	}
	snprintf(loc, sizeof(loc), "%s:%lu", source_path(st->s), st->row_line);
	source_error(st->s, loc, "no usable CSV header: no %s column (found %s); "
	    "name columns: " NAME_TITLES "; address columns: " ADDR_TITLES
	    " (case, spaces, '_' and '-' do not matter)%s",
	    st->ncol < 0 && st->acol < 0 ? "name or address" :
	    st->ncol < 0 ? "name" : "address", found ? found : "nothing",
	    data_like ? "; the first line looks like data: add a header line "
	    "such as \"FQDN,IP Address\"" : "");
	free(found);
}

static void
data_row(struct csv_state *st)
{
	char loc[4096];
	const char *name = field(st, st->ncol), *cell = field(st, st->acol);
	const char *ttl = field(st, st->tcol), *zone = field(st, st->zcol);
	const char **addrs = NULL;
	size_t naddrs = 0;
	struct source_entry e;
	bool empty = true;

	for (size_t i = 0; i < st->nf; i++)
		if (*field(st, (int)i) != '\0')
			empty = false;
	if (empty)
		return;

	memset(&e, 0, sizeof(e));
	e.name = name;
	e.zone = zone != NULL && *zone != '\0' ? zone : NULL;
	e.line = st->row_line;
	e.ttl = -1;
	if (ttl != NULL && *ttl != '\0') {
		uint32_t v;
		if (source_parse_ttl(ttl, &v) == -1) {
			snprintf(loc, sizeof(loc), "%s:%lu", source_path(st->s),
			    st->row_line);
			source_error(st->s, loc, "bad TTL \"%s\" (0 to 2147483647 "
			    "seconds)", ttl);
			return;
		}
		e.ttl = v;
	}
	/* Several addresses in one cell: separated by ';', ',' or spaces. */
	if (cell != NULL) {
		char *save = NULL, *c = (char *)cell;
		for (char *a = strtok_r(c, ";, \t\r\n", &save); a != NULL;
		    a = strtok_r(NULL, ";, \t\r\n", &save)) {
			addrs = xreallocarray(addrs, naddrs + 1, sizeof(*addrs));
			addrs[naddrs++] = a;
		}
	}
	e.addrs = addrs;
	e.naddrs = naddrs;
	source_add(st->s, &e);
	free(addrs);
}

/* A whole row is in (libcsv's or the fast path's). */
static void
row_done(struct csv_state *st)
{
	st->in_row = false;
	if (!st->dead) {
		if (!st->have_header) {
			bool empty = true;
			for (size_t i = 0; i < st->nf; i++)
				if (*field(st, (int)i) != '\0')
					empty = false;
			if (!empty)
				header_row(st);
		} else
			data_row(st);
	}
	st->nf = 0;
	st->blen = 0;
}

static void
row_cb(int c, void *arg)
{
	struct csv_state *st = arg;

	(void)c;
	st->base = st->buf;
	row_done(st);
}

/*
 * The line [P, P + N) as one row without libcsv, when it has no quote and
 * no carriage return but the one that may end it; false when it needs
 * libcsv.  Only between rows (libcsv has nothing pending).  Unquoted, libcsv
 * gives the text between delimiters less spaces and tabs at either end,
 * and a row ends at CR or LF: as here, once field() has trimmed.
 */
static bool
fast_row(struct csv_state *st, char *p, size_t n)
{
	char *e = p + n, *q;

	if (st->delim != ',' && st->delim != ';' && st->delim != '\t')
		return false;
	if (e > p && e[-1] == '\n')
		e--;
	if (e > p && e[-1] == '\r')
		e--;
	if (memchr(p, '"', (size_t)(e - p)) != NULL ||
	    memchr(p, '\r', (size_t)(e - p)) != NULL)
		return false;
	st->base = p;
	st->nf = 0;
	field_push(st, 0);
	while ((q = memchr(p, st->delim, (size_t)(e - p))) != NULL) {
		*q = '\0';
		p = q + 1;
		field_push(st, (size_t)(p - st->base));
	}
	*e = '\0';
	row_done(st);
	return true;
}

static void
parser_init(struct csv_state *st)
{
	if (csv_init(&st->p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		abort();
	csv_set_delim(&st->p, st->delim);
	/* Tab is white space around fields, unless it separates them. */
	csv_set_space_func(&st->p, st->delim == '\t' ? space_only : space_tab);
	st->nf = 0;
	st->blen = 0;
	st->in_row = false;
	st->quoted = false;
}

/*
 * Whether a line libcsv took leaves a quoted field open or closes one: in
 * strict mode quotes open and close fields or come doubled inside them
 * (anything else is an error, and the parser starts afresh), so an odd
 * count flips it.  A line that ends outside quotes ends its row, and the
 * next line may take the fast path.
 */
static bool
odd_quotes(const char *p, size_t n)
{
	bool odd = false;

	for (const char *e = p + n; (p = memchr(p, '"', (size_t)(e - p))) != NULL; p++)
		odd = !odd;
	return odd;
}

/* The delimiter of the header line: the most frequent of ',', ';' and tab
 * outside quotes (a comma on a tie). */
static unsigned char
detect_delim(const char *p, const char *eol)
{
	size_t comma = 0, semi = 0, tab = 0;
	bool quoted = false;

	for (; p < eol; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (quoted)
			continue;
		else if (*p == ',')
			comma++;
		else if (*p == ';')
			semi++;
		else if (*p == '\t')
			tab++;
	}
	if (semi > comma && semi >= tab)
		return ';';
	if (tab > comma && tab > semi)
		return '\t';
	return ',';
}

static bool
blank(const char *p, const char *eol)
{
	for (; p < eol; p++)
		if (!isspace((unsigned char)*p))
			return false;
	return true;
}

void
source_csv_parse(struct source *s)
{
	struct csv_state st;
	char loc[4096], *buf;
	size_t len;
	bool have_delim = false;

	memset(&st, 0, sizeof(st));
	st.s = s;
	st.delim = ',';

	while (!st.dead && (buf = source_read(s, &len)) != NULL) {
		char *p = buf, *end = buf + len;

		while (p < end) {
			const char *eol = memchr(p, '\n', (size_t)(end - p));
			size_t n = eol ? (size_t)(eol - p) + 1 : (size_t)(end - p);

			st.line++;
			if (!have_delim) {
				/*
				 * The delimiter comes from the first non-blank
				 * line; Excel's "sep=;" line names it outright.
				 * Blank lines before it make no row.
				 */
				const char *e = eol ? eol : end;
				if (blank(p, e)) {
					p += n;
					continue;
				}
				have_delim = true;
				if (e - p >= 5 && strncasecmp(p, "sep=", 4) == 0 &&
				    blank(p + 5, e)) {
					st.delim = (unsigned char)p[4];
					parser_init(&st);
					p += n;
					continue;
				}
				st.delim = detect_delim(p, e);
				parser_init(&st);
			}
			if (!st.in_row && !st.quoted) {
				/* Between rows a blank line makes none, and most
				 * lines need no libcsv. */
				if (blank(p, p + n)) {
					p += n;
					continue;
				}
				st.row_line = st.line;
				if (fast_row(&st, p, n)) {
					p += n;
					if (st.dead)
						break;
					continue;
				}
				st.in_row = true;
			} else if (!st.in_row && !blank(p, p + n)) {
				st.in_row = true;
				st.row_line = st.line;
			}
			if (csv_parse(&st.p, p, n, field_cb, row_cb, &st) == n)
				st.quoted ^= odd_quotes(p, n);
			else {
				snprintf(loc, sizeof(loc), "%s:%lu", source_path(s),
				    st.line);
				source_error(s, loc, "malformed CSV quoting (a quote "
				    "inside an unquoted field, or text after a "
				    "closing quote)");
				/* Start afresh on the next line. */
				csv_free(&st.p);
				parser_init(&st);
			}
			p += n;
			if (st.dead)
				break;
		}
	}
	if (!have_delim)
		parser_init(&st);
	if (!st.dead && csv_fini(&st.p, field_cb, row_cb, &st) != 0) {
		snprintf(loc, sizeof(loc), "%s:%lu", source_path(s), st.row_line);
		source_error(s, loc, "unterminated quoted field");
	}
	csv_free(&st.p);
	if (!st.have_header && !st.dead) {
		snprintf(loc, sizeof(loc), "%s", source_path(s));
		source_error(s, loc, "empty file: no CSV header (name columns: "
		    NAME_TITLES "; address columns: " ADDR_TITLES ")");
	}
	free(st.buf);
	free(st.offs);
}
