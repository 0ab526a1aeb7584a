/*
 * sources: the common layer of the record sources, reading and dispatch.
 *
 * source_load() reads a file, picks its format and runs the importer, whose
 * entries sources_check.c checks and adds.  The records go straight into
 * the recset, and when the source has any error the recset is cut back to
 * where it was: a source is taken whole or not at all.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/records.h"
#include "data/sources.h"
#include "data/sources_int.h"
#include "util/util.h"
#include "wire/wire.h"

/* ---- messages ---- */

/* A file with a systematic mistake (the wrong column, say) would otherwise
 * print one message per row; past this many the rest are only counted. */
#define SRC_MAX_ERRORS	1000

const char *
source_path(const struct source *s)
{
	return s->path;
}

void
source_msg(struct source *s, enum diag_level level, const char *loc,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (level == DIAG_ERROR && s->d->nerrors - s->nerrors0 >= SRC_MAX_ERRORS) {
		s->nsuppressed++;
		return;
	}
	va_start(ap, fmt);
	(void)xvasprintf(&msg, fmt, ap);
	va_end(ap);
	diag_addloc(s->d, level, loc ? loc : s->path, "%s", msg);
	free(msg);
}

/* ---- reading files ---- */

/* Converts UTF-16 (with a byte-order mark) to UTF-8 in place of *BUF. */
static int
from_utf16(char **buf, size_t *len, const char *enc)
{
	size_t inleft = *len, outcap = *len * 2 + 4, outleft = outcap;
	/* Allocated first: running out of memory leaves no iconv open. */
	char *out = xmalloc(outcap + 1), *in = *buf, *o = out;
	iconv_t cd = iconv_open("UTF-8", enc);

	if (cd == (iconv_t)-1) {
		free(out);
		return -1;
	}
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
	oom_guard_file(fp);
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
		oom_guard_fclose(fp);
		free(buf);
		return -1;
	}
	oom_guard_fclose(fp);
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


/*
 * Line-oriented sources (CSV, hosts) are read a block at a time into one
 * buffer that is reused: a file of a million rows never sits in memory
 * whole next to the records made from it.
 */
#define SRC_BLOCK	(1u << 20)

static bool
is_utf16(const char *b, size_t n)
{
	return n >= 2 && (((unsigned char)b[0] == 0xff && (unsigned char)b[1] == 0xfe) ||
	    ((unsigned char)b[0] == 0xfe && (unsigned char)b[1] == 0xff));
}

static int
src_fail_read(struct source *s)
{
	diag_add(s->d, DIAG_ERROR, s->path, 0, "cannot read: %s", strerror(errno));
	return -1;
}

/* Appends what the file has to the buffer, up to its capacity; -1 on error. */
static int
src_fill(struct source *s)
{
	while (!s->eof && s->blen < s->bcap) {
		ssize_t n = read(s->fd, s->buf + s->blen, s->bcap - s->blen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return src_fail_read(s);
		}
		if (n == 0)
			s->eof = true;
		s->blen += (size_t)n;
	}
	s->buf[s->blen] = '\0';
	return 0;
}

static void
src_grow(struct source *s)
{
	s->bcap *= 2;
	s->buf = xrealloc(s->buf, s->bcap + 1);
}

/*
 * Rejects a file with a NUL byte (where text would silently end) before any
 * of it is taken, and counts its lines to size the records.  Leaves the file
 * at its start.
 */
static int
src_prescan(struct source *s, size_t *lines)
{
	unsigned long nl = 0;

	/* Blank lines are not counted: the estimate sizes the records, and
	 * ten million empty lines must not reserve room for ten million. */
	unsigned long filled = 0;
	bool content = false;	/* the line being read has more than space */

	for (;;) {
		const char *nul, *p, *lim, *q;

		s->blen = 0;
		if (src_fill(s) == -1)
			return -1;
		nul = memchr(s->buf, '\0', s->blen);
		lim = nul != NULL ? nul : s->buf + s->blen;
		for (p = s->buf; p < lim; p = q + 1) {
			while (!content && p < lim && *p != '\n' &&
			    isspace((unsigned char)*p))
				p++;
			if (p == lim)
				break;
			if (*p != '\n')
				content = true;
			if ((q = memchr(p, '\n', (size_t)(lim - p))) == NULL)
				break;
			nl++;
			filled += content;
			content = false;
		}
		if (nul != NULL) {
			diag_add(s->d, DIAG_ERROR, s->path, nl + 1, "NUL byte: not a "
			    "text file (UTF-16 text needs a byte-order mark)");
			return -1;
		}
		if (s->eof)
			break;
	}
	if (lseek(s->fd, 0, SEEK_SET) == (off_t)-1)
		return src_fail_read(s);
	s->eof = false;
	s->blen = s->boff = 0;
	*lines = filled + 1;
	return 0;
}

char *
source_read(struct source *s, size_t *len)
{
	char *nl;

	if (s->fd == -1) {
		/* The whole text is in memory: one block. */
		if (s->boff >= s->blen)
			return NULL;
		*len = s->blen - s->boff;
		s->boff = s->blen;
		return s->buf;
	}
	if (s->saved_at != 0) {
		s->buf[s->saved_at] = s->saved;
		s->saved_at = 0;
	}
	memmove(s->buf, s->buf + s->boff, s->blen - s->boff);
	s->blen -= s->boff;
	s->boff = 0;
	for (;;) {
		if (src_fill(s) == -1) {
			s->failed = true;
			return NULL;
		}
		if (!s->started) {
			s->started = true;
			if (s->blen >= 3 && memcmp(s->buf, "\xef\xbb\xbf", 3) == 0)
				s->boff = 3;
		}
		nl = s->blen > s->boff ? memrchr(s->buf + s->boff, '\n',
		    s->blen - s->boff) : NULL;
		if (nl != NULL || s->eof)
			break;
		/* A line longer than the buffer. */
		src_grow(s);
	}
	if (s->blen == s->boff)
		return NULL;
	char *p = s->buf + s->boff;
	size_t n = nl != NULL ? (size_t)(nl + 1 - p) : s->blen - s->boff;
	s->boff += n;
	if (s->boff < s->blen) {
		/* Terminate the block; the byte comes back on the next call. */
		s->saved_at = s->boff;
		s->saved = s->buf[s->boff];
		s->buf[s->boff] = '\0';
	}
	*len = n;
	return p;
}

/* The whole text in the buffer (source_read() gives it as one block). */
static int
src_open_whole(struct source *s, enum source_format *fmt)
{
	char *buf;
	size_t len;

	oom_guard_close(s->fd);
	s->fd = -1;
	free(s->buf);
	s->buf = NULL;
	if (read_text(s->path, &buf, &len, s->d) == -1)
		return -1;
	s->buf = buf;
	s->blen = len;
	s->boff = 0;
	if (*fmt == SRC_AUTO)
		*fmt = source_detect(s->path, buf, len);
	return 0;
}

/*
 * Opens the source for reading: *FMT (SRC_AUTO: told from the content) is
 * set; line-oriented text is then streamed by source_read(), anything else
 * (JSON, zone files, UTF-16) is read whole into the buffer.  *LINES
 * estimates the lines (0 when unknown).
 */
static int
src_open(struct source *s, enum source_format *fmt, size_t *lines)
{
	struct stat st;
	size_t cap = SRC_BLOCK;

	*lines = 0;
	if ((s->fd = open(s->path, O_RDONLY | O_CLOEXEC)) == -1)
		return src_fail_read(s);
	oom_guard_fd(s->fd);
	if (fstat(s->fd, &st) == -1 || !S_ISREG(st.st_mode))
		/* A pipe cannot be read twice: whole. */
		return src_open_whole(s, fmt);
	if ((size_t)st.st_size < cap)
		cap = (size_t)st.st_size + 1 > 4096 ? (size_t)st.st_size + 1 : 4096;
	s->bcap = cap;
	s->buf = xmalloc(s->bcap + 1);
	if (src_fill(s) == -1)
		return -1;
	if (*fmt == SRC_AUTO && !is_utf16(s->buf, s->blen)) {
		/* Detection reads the first non-blank line: have all of it. */
		for (;;) {
			size_t i = s->blen >= 3 && memcmp(s->buf, "\xef\xbb\xbf", 3) == 0 ?
			    3 : 0;
			while (i < s->blen && isspace((unsigned char)s->buf[i]))
				i++;
			if (s->eof || (i < s->blen &&
			    memchr(s->buf + i, '\n', s->blen - i) != NULL))
				break;
			src_grow(s);
			if (src_fill(s) == -1)
				return -1;
		}
		*fmt = source_detect(s->path, s->buf, s->blen);
	}
	if (is_utf16(s->buf, s->blen) || *fmt == SRC_JSON || *fmt == SRC_ZONE)
		return src_open_whole(s, fmt);
	if (lseek(s->fd, 0, SEEK_SET) == (off_t)-1)
		return src_fail_read(s);
	s->eof = false;
	s->blen = 0;
	return src_prescan(s, lines);
}

static void
src_close(struct source *s)
{
	if (s->fd != -1)
		oom_guard_close(s->fd);
	s->fd = -1;
	free(s->buf);
	s->buf = NULL;
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
src_init(struct source *s, const struct config *cfg, const char *path,
    struct recset *rs, struct diag *d)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->path = path;
	s->d = d;
	s->nerrors0 = d->nerrors;
	s->rs = rs;
	s->fd = -1;
}

/* After the entries: a source with any error leaves nothing behind. */
static int
src_finish(struct source *s)
{
	if (s->nsuppressed > 0)
		diag_add(s->d, DIAG_ERROR, s->path, 0, "%zu more error%s not shown",
		    s->nsuppressed, s->nsuppressed == 1 ? "" : "s");
	if (s->d->nerrors > s->nerrors0) {
		recset_rewind(s->rs, &s->mark);
		return -1;
	}
	return 0;
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
	size_t lines, nrecs;
	int rc;

	for (size_t i = 0; i < nitems(prefixes); i++) {
		size_t n = strlen(prefixes[i].prefix);
		if (strncmp(spec, prefixes[i].prefix, n) == 0) {
			fmt = prefixes[i].fmt;
			path = spec + n;
			break;
		}
	}
	src_init(&s, cfg, path, rs, d);
	if (src_open(&s, &fmt, &lines) == -1) {
		src_close(&s);
		return -1;
	}
	if (fmt == SRC_ZONE) {
		rc = load_zone_source(cfg, path, s.buf, rs, d);
		src_close(&s);
		return rc;
	}

	recset_mark(rs, &s.mark);
	if (lines > 0) {
		/* A row is a record, mostly: sized once rather than grown
		 * step by step. */
		recset_reserve(rs, lines);
		recidx_reserve(rs, lines);
	}
	if (fmt == SRC_CSV)
		source_csv_parse(&s);
	else if (fmt == SRC_JSON)
		source_json_parse(&s, s.buf, s.blen);
	else
		source_hosts_parse(&s);
	src_close(&s);

	if (src_finish(&s) == -1)
		return -1;
	nrecs = rs->nrecs - s.mark.nrecs;
	if (nrecs == 0 && fmt == SRC_HOSTS) {
		char what[128];

		snprintf(what, sizeof(what), "no privatelink names found (%zu "
		    "other name%s skipped)", s.nskipped, s.nskipped == 1 ? "" : "s");
		return source_empty(cfg, path, what, rs, d);
	}
	if (nrecs == 0)
		return source_empty(cfg, path, "no records found", rs, d);
	return 0;
}

int
source_empty(const struct config *cfg, const char *path, const char *what,
    struct recset *rs, struct diag *d)
{
	/* Line 1: where the records should have started, so that the
	 * message reads as every other "file:line:" problem. */
	if (cfg->allow_empty)
		diag_add(d, DIAG_WARNING, path, 0, "%s", what);
	else
		diag_add(rs->empty != NULL ? rs->empty : d, DIAG_ERROR, path, 1,
		    "%s (an empty source is an error unless [records] "
		    "allow_empty = yes)", what);
	return rs->empty != NULL || cfg->allow_empty ? 0 : -1;
}

int
source_load_entries(const struct config *cfg, const char *label,
    void (*fill)(struct source *, void *), void *arg, struct recset *rs,
    struct diag *d)
{
	struct source s;

	src_init(&s, cfg, label, rs, d);
	recset_mark(rs, &s.mark);
	fill(&s, arg);
	return src_finish(&s);
}

struct recset *
source_recset(struct source *s)
{
	return s->rs;
}
