/* diag: collected "file:line: message" problems. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/diag.h"
#include "util/util.h"

void
diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

void
diag_clear(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i].text);
	free(d->msgs);
	diag_init(d);
}

static void
diag_push(struct diag *d, enum diag_level level, char *text)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->msgs = xreallocarray(d->msgs, d->cap, sizeof(*d->msgs));
	}
	d->msgs[d->n].level = level;
	d->msgs[d->n].text = text;
	d->n++;
	if (level == DIAG_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
}

static void diag_vadd(struct diag *, enum diag_level, const char *, const char *,
    va_list) __attribute__((format(printf, 4, 0)));

static void
diag_vadd(struct diag *d, enum diag_level level, const char *loc,
    const char *fmt, va_list ap)
{
	char *msg, *text;

	(void)xvasprintf(&msg, fmt, ap);
	xasprintf(&text, "%s%s%s%s", loc ? loc : "", loc ? ": " : "",
	    level == DIAG_WARNING ? "warning: " : "", msg);
	free(msg);
	diag_push(d, level, text);
}

void
diag_add(struct diag *d, enum diag_level level, const char *file,
    unsigned long line, const char *fmt, ...)
{
	va_list ap;
	char *loc = NULL;

	if (file != NULL && line > 0)
		xasprintf(&loc, "%s:%lu", file, line);
	else if (file != NULL)
		loc = xstrdup(file);
	va_start(ap, fmt);
	diag_vadd(d, level, loc, fmt, ap);
	va_end(ap);
	free(loc);
}

void
diag_addloc(struct diag *d, enum diag_level level, const char *loc,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, level, loc, fmt, ap);
	va_end(ap);
}

void
diag_merge(struct diag *dst, const struct diag *src)
{
	for (size_t i = 0; i < src->n; i++)
		diag_push(dst, src->msgs[i].level, xstrdup(src->msgs[i].text));
}

void
diag_move(struct diag *dst, struct diag *src)
{
	if (dst->n == 0) {
		/* No copy: a reload's messages take no memory twice. */
		free(dst->msgs);
		*dst = *src;
		diag_init(src);
		return;
	}
	diag_merge(dst, src);
	diag_clear(src);
}

void
diag_print(const struct diag *d, void *f)
{
	for (size_t i = 0; i < d->n; i++)
		fprintf((FILE *)f, "%s\n", d->msgs[i].text);
}

char *
diag_join(const struct diag *d)
{
	size_t len = 0;
	char *out, *p;

	if (d->n == 0)
		return NULL;
	for (size_t i = 0; i < d->n; i++)
		len += strlen(d->msgs[i].text) + 1;
	out = p = xmalloc(len);
	for (size_t i = 0; i < d->n; i++) {
		size_t l = strlen(d->msgs[i].text);
		memcpy(p, d->msgs[i].text, l);
		p += l;
		*p++ = (i + 1 < d->n) ? '\n' : '\0';
	}
	return out;
}
