/*
 * util: allocation that cannot fail (start-up and reload paths only; the
 * query path never allocates through these), small string helpers, time.
 */
#ifndef PLDNS_UTIL_H
#define PLDNS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
int xasprintf(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

size_t pl_strlcpy(char *dst, const char *src, size_t size);
/* Trims ASCII white space at both ends, in place; returns S. */
char *str_trim(char *s);
/* ASCII case-insensitive compare. */
int str_casecmp(const char *a, const char *b);

/* Splits a list "a, b ,c" on commas (and optionally spaces); returns a NULL
 * terminated array of trimmed, non-empty copies (caller frees with strv_free). */
char **strv_split(const char *s, const char *seps, size_t *count);
void strv_free(char **v);

/* Monotonic milliseconds. */
uint64_t now_ms(void);
/* Wall-clock seconds. */
uint64_t now_wall(void);

/* Fills BUF with LEN bytes from the kernel CSPRNG (getrandom). Aborts on failure. */
void random_bytes(void *buf, size_t len);
uint16_t random_u16(void);
uint32_t random_u32(void);

/* Joins DIR and PATH unless PATH is absolute; caller frees. */
char *path_join(const char *dir, const char *path);
/* Directory part of PATH ("." when none); caller frees. */
char *path_dirname(const char *path);

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#endif
