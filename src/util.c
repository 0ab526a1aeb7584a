/* util: allocation, strings, time and randomness helpers. */

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void
oom(void)
{
	fputs("pldns: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		oom();
	return xrealloc(p, nmemb * size);
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (p == NULL)
		oom();
	return p;
}

int
xasprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(out, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	return n;
}

size_t
pl_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

char *
str_trim(char *s)
{
	char *e;

	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int
str_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
		if (ca != cb || ca == 0)
			return ca - cb;
	}
}

char **
strv_split(const char *s, const char *seps, size_t *count)
{
	char **v = xcalloc(1, sizeof(*v));
	size_t n = 0;
	const char *p = s;

	while (*p != '\0') {
		size_t len = strcspn(p, seps);
		char *item = xstrndup(p, len);
		char *t = str_trim(item);
		if (*t != '\0') {
			v = xreallocarray(v, n + 2, sizeof(*v));
			v[n++] = xstrdup(t);
			v[n] = NULL;
		}
		free(item);
		p += len;
		if (*p != '\0')
			p++;
	}
	if (count != NULL)
		*count = n;
	return v;
}

void
strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

/* ---- large tables ---- */

#define HUGE_SIZE	(2u << 20)

size_t
page_size(void)
{
	static size_t ps;

	if (ps == 0) {
		long v = sysconf(_SC_PAGESIZE);
		ps = v > 0 ? (size_t)v : 4096;
	}
	return ps;
}

static size_t
page_round(size_t n)
{
	return (n + page_size() - 1) & ~(page_size() - 1);
}

/* Below this, faults one by one cost little. */
#define POPULATE_MIN	(64u << 10)

void
bigmem_populate(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
	size_t ps = page_size();
	uintptr_t a = ((uintptr_t)p + ps - 1) & ~(uintptr_t)(ps - 1);
	uintptr_t b = ((uintptr_t)p + n) & ~(uintptr_t)(ps - 1);

	/* Older kernels refuse the advice: then pages come as they are
	 * touched, as they would anyway. */
	if (b > a && b - a >= POPULATE_MIN)
		(void)madvise((void *)a, b - a, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)n;
#endif
}

void
bigmem_advise(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	uintptr_t a = ((uintptr_t)p + HUGE_SIZE - 1) & ~(uintptr_t)(HUGE_SIZE - 1);
	uintptr_t b = ((uintptr_t)p + n) & ~(uintptr_t)(HUGE_SIZE - 1);

	/* Refused by kernels without THP: then small pages, as before. */
	if (b > a)
		(void)madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
	(void)p;
	(void)n;
#endif
}

static void *bigmem_map(size_t n, bool populate);

void *
bigmem_alloc(size_t n)
{
	return bigmem_map(n, true);
}

void *
bigmem_alloc_lazy(size_t n)
{
	return bigmem_map(n, false);
}

static void *
bigmem_map(size_t n, bool populate)
{
	size_t len, over;
	uintptr_t a;
	char *p;

	if (n < BIGMEM_MIN)
		return xcalloc(1, n ? n : 1);
	len = page_round(n);
	/* Over-map by 2 MB and cut back to a 2 MB boundary. */
	over = len + HUGE_SIZE;
	p = mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED)
		abort();
	a = ((uintptr_t)p + HUGE_SIZE - 1) & ~(uintptr_t)(HUGE_SIZE - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + over > a + len)
		munmap((void *)(a + len), (uintptr_t)p + over - (a + len));
	bigmem_advise((void *)a, len);
	if (populate)
		bigmem_populate((void *)a, len);
	return (void *)a;
}

void
bigmem_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	if (n < BIGMEM_MIN)
		free(p);
	else
		munmap(p, page_round(n));
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
now_wall(void)
{
	return (uint64_t)time(NULL);
}

void
random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fputs("pldns: getrandom failed\n", stderr);
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
}

/*
 * IDs and ports are drawn from a buffer refilled from the kernel CSPRNG, so
 * that a forwarded query costs one getrandom call per 256 draws, not one each.
 * The buffer is per thread: workers never share it.
 */
static __thread uint8_t rnd_pool[512];
static __thread size_t rnd_left;

static void
rnd_take(void *out, size_t n)
{
	if (rnd_left < n) {
		random_bytes(rnd_pool, sizeof(rnd_pool));
		rnd_left = sizeof(rnd_pool);
	}
	rnd_left -= n;
	memcpy(out, rnd_pool + rnd_left, n);
	memset(rnd_pool + rnd_left, 0, n);
}

uint16_t
random_u16(void)
{
	uint16_t v;

	rnd_take(&v, sizeof(v));
	return v;
}

uint32_t
random_u32(void)
{
	uint32_t v;

	rnd_take(&v, sizeof(v));
	return v;
}

char *
path_join(const char *dir, const char *path)
{
	char *out;

	if (path[0] == '/' || dir == NULL || dir[0] == '\0')
		return xstrdup(path);
	xasprintf(&out, "%s/%s", dir, path);
	return out;
}

char *
path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int
mkdir_p(const char *dir)
{
	char *d = xstrdup(dir);
	int rc = 0;

	for (char *p = d + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(d, 0755) == -1 && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	if (mkdir(d, 0755) == -1 && errno != EEXIST)
		rc = -1;
	free(d);
	return rc;
}
