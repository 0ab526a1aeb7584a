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

#include "util/util.h"

/* The real free(): this file frees what it allocated itself. */
#undef free

/* ---- fault injection (tests) ---- */

static __thread unsigned long fail_at, nallocs;

unsigned long
util_fail_alloc_after(unsigned long n)
{
	unsigned long had = nallocs;

	nallocs = 0;
	fail_at = n;
	return had;
}

/* True when this allocation is to fail (tests), counting it. */
static bool
fail_now(void)
{
	nallocs++;
	return fail_at != 0 && nallocs == fail_at;
}

static void *
raw_malloc(size_t n)
{
	return fail_now() ? NULL : malloc(n ? n : 1);
}

static void *
raw_calloc(size_t nmemb, size_t size)
{
	return fail_now() ? NULL : calloc(nmemb ? nmemb : 1, size ? size : 1);
}

static void *
raw_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : realloc(p, n ? n : 1);
}

void *
try_calloc(size_t nmemb, size_t size)
{
	return raw_calloc(nmemb, size);
}

void *
try_reallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL;
	return raw_realloc(p, nmemb * size);
}

/* ---- the guard ---- */

/*
 * What a guard records: a pointer, and for a mapping its length (0 for
 * heap memory).  Open addressing with linear probing; a freed slot is
 * marked with TOMB so that probing goes on past it.
 */
struct oom_slot {
	void *p;
	size_t maplen;
};

#define TOMB	((void *)1)

static __thread struct oom_guard *guard;

static size_t
slot_hash(const void *p, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 20) & (cap - 1);
}

static struct oom_slot *
slot_find(struct oom_guard *g, const void *p)
{
	if (g->cap == 0)
		return NULL;
	for (size_t i = slot_hash(p, g->cap);; i = (i + 1) & (g->cap - 1)) {
		if (g->slots[i].p == p)
			return &g->slots[i];
		if (g->slots[i].p == NULL)
			return NULL;
	}
}

static void oom(void) __attribute__((noreturn));

/* Records P; when the table cannot grow, P is given back and the guard
 * fails as P's allocation would have. */
static void
slot_add(struct oom_guard *g, void *p, size_t maplen)
{
	size_t i;

	if ((g->n + 1) * 4 >= g->cap * 3) {
		size_t live = 0, ncap;
		struct oom_slot *ns;

		for (size_t k = 0; k < g->cap; k++)
			live += g->slots[k].p != NULL && g->slots[k].p != TOMB;
		/* Mostly tombstones: the same size, without them. */
		ncap = g->cap == 0 ? 1024 : live * 2 < g->cap ? g->cap : g->cap * 2;
		ns = fail_now() ? NULL : calloc(ncap, sizeof(*ns));

		if (ns == NULL) {
			if (maplen != 0)
				munmap(p, maplen);
			else
				free(p);
			oom();
		}
		g->n = 0;
		for (size_t k = 0; k < g->cap; k++) {
			void *q = g->slots[k].p;
			if (q == NULL || q == TOMB)
				continue;
			for (i = slot_hash(q, ncap); ns[i].p != NULL; i = (i + 1) & (ncap - 1))
				;
			ns[i] = g->slots[k];
			g->n++;
		}
		free(g->slots);
		g->slots = ns;
		g->cap = ncap;
	}
	for (i = slot_hash(p, g->cap); g->slots[i].p != NULL && g->slots[i].p != TOMB;
	    i = (i + 1) & (g->cap - 1))
		;
	g->slots[i].p = p;
	g->slots[i].maplen = maplen;
	g->n++;
}

/* Forgets P; true when it was recorded. */
static bool
slot_del(struct oom_guard *g, void *p)
{
	struct oom_slot *s = slot_find(g, p);

	if (s == NULL)
		return false;
	s->p = TOMB;
	s->maplen = 0;
	/* Tombstones still count in n: the table grows (and drops them) in
	 * time instead of filling up with them. */
	return true;
}

/* A new allocation: recorded under a guard. */
static void *
track(void *p)
{
	if (guard != NULL && p != NULL)
		slot_add(guard, p, 0);
	return p;
}

void
oom_guard_begin(struct oom_guard *g)
{
	g->slots = NULL;
	g->cap = g->n = 0;
	g->nfds = g->nfps = g->ndefer = 0;
	guard = g;
}

static void
guard_done(struct oom_guard *g)
{
	free(g->slots);
	g->slots = NULL;
	g->cap = g->n = 0;
	g->nfds = g->nfps = g->ndefer = 0;
	if (guard == g)
		guard = NULL;
}

void
oom_guard_end(struct oom_guard *g)
{
	guard_done(g);
}

void
oom_guard_unwind(struct oom_guard *g)
{
	guard = NULL;
	for (size_t i = 0; i < g->cap; i++) {
		struct oom_slot *s = &g->slots[i];

		if (s->p == NULL || s->p == TOMB)
			continue;
		if (s->maplen != 0)
			munmap(s->p, s->maplen);
		else
			free(s->p);
	}
	for (int i = 0; i < g->nfds; i++)
		close(g->fds[i]);
	for (int i = 0; i < g->nfps; i++)
		fclose(g->fps[i]);
	for (int i = 0; i < g->ndefer; i++)
		g->defer[i].fn(g->defer[i].arg);
	guard_done(g);
}

bool
oom_guarded(void)
{
	return guard != NULL;
}

void
oom_guard_fd(int fd)
{
	if (guard != NULL && fd >= 0 && guard->nfds < (int)nitems(guard->fds))
		guard->fds[guard->nfds++] = fd;
}

int
oom_guard_close(int fd)
{
	if (guard != NULL) {
		for (int i = 0; i < guard->nfds; i++) {
			if (guard->fds[i] == fd) {
				guard->fds[i] = guard->fds[--guard->nfds];
				break;
			}
		}
	}
	return close(fd);
}

void
oom_guard_file(FILE *fp)
{
	if (guard != NULL && fp != NULL && guard->nfps < (int)nitems(guard->fps))
		guard->fps[guard->nfps++] = fp;
}

int
oom_guard_fclose(FILE *fp)
{
	if (guard != NULL) {
		for (int i = 0; i < guard->nfps; i++) {
			if (guard->fps[i] == fp) {
				guard->fps[i] = guard->fps[--guard->nfps];
				break;
			}
		}
	}
	return fclose(fp);
}

void *
oom_guard_map(void *old, void *p, size_t len)
{
	bool mine;

	if (p == MAP_FAILED)
		oom();
	mine = guard != NULL && (old == NULL || slot_del(guard, old));
	if (mine)
		slot_add(guard, p, len);
	return p;
}

void
oom_guard_defer(void (*fn)(void *), void *arg)
{
	if (guard != NULL && guard->ndefer < (int)nitems(guard->defer)) {
		guard->defer[guard->ndefer].fn = fn;
		guard->defer[guard->ndefer++].arg = arg;
	}
}

void
oom_guard_undefer(void *arg)
{
	if (guard == NULL)
		return;
	for (int i = 0; i < guard->ndefer; i++) {
		if (guard->defer[i].arg == arg) {
			guard->defer[i] = guard->defer[--guard->ndefer];
			return;
		}
	}
}

void
oom_guard_moved(void *old, void *p)
{
	bool mine;

	if (guard == NULL || old == p)
		return;
	mine = old == NULL || slot_del(guard, old);
	if (mine && p != NULL)
		slot_add(guard, p, 0);
}

void
out_of_memory(void)
{
	oom();
}

void
oom_guard_unmap(void *p)
{
	if (guard != NULL)
		slot_del(guard, p);
}

void
pl_free(void *p)
{
	if (guard != NULL && p != NULL)
		slot_del(guard, p);
	free(p);
}

/* ---- allocation that does not return NULL ---- */

static void
oom(void)
{
	if (guard != NULL)
		longjmp(guard->env, 1);
	fputs("pldns: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = raw_malloc(n);
	if (p == NULL)
		oom();
	return track(p);
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = raw_calloc(nmemb, size);
	if (p == NULL)
		oom();
	return track(p);
}

void *
xrealloc(void *p, size_t n)
{
	/* Memory from before the guard stays outside it when it moves. */
	bool mine = guard != NULL && (p == NULL || slot_del(guard, p));
	void *q = raw_realloc(p, n);

	if (q == NULL) {
		if (mine && p != NULL)
			slot_add(guard, p, 0);
		oom();
	}
	if (mine)
		slot_add(guard, q, 0);
	return q;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		oom();
	return xrealloc(p, nmemb * size);
}

/*
 * A secret kept for a while (an access token): pages of its own, left out
 * of core dumps (MADV_DONTDUMP; a kernel without it dumps them, as any
 * memory), and wiped when freed.  A page or so each: for the few secrets
 * that live longer than a call, not for every string.
 */
char *
secret_strdup(const char *s)
{
	size_t len = strlen(s), page = (size_t)sysconf(_SC_PAGESIZE);
	size_t total = (sizeof(size_t) + len + 1 + page - 1) / page * page;
	char *base = mmap(NULL, total, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (base == MAP_FAILED) {
		oom();
		return NULL;
	}
	(void)madvise(base, total, MADV_DONTDUMP);
	memcpy(base, &total, sizeof(total));
	memcpy(base + sizeof(total), s, len + 1);
	return base + sizeof(total);
}

void
secret_free(char *p)
{
	char *base;
	size_t total;

	if (p == NULL)
		return;
	base = p - sizeof(size_t);
	memcpy(&total, base, sizeof(total));
	explicit_bzero(base, total);
	munmap(base, total);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

int
xvasprintf(char **out, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		oom();
	*out = xmalloc((size_t)n + 1);
	(void)vsnprintf(*out, (size_t)n + 1, fmt, ap);
	return n;
}

int
xasprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = xvasprintf(out, fmt, ap);
	va_end(ap);
	return n;
}

int
pl_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
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
		pl_free(item);
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
		pl_free(*p);
	pl_free(v);
}

/* ---- large tables ---- */

#define HUGE_SIZE	(2u << 20)

size_t
page_size(void)
{
	/* Asked for by any thread that maps memory: the first to ask stores
	 * it, and they all store the same. */
	static _Atomic size_t ps;
	size_t n = atomic_load_explicit(&ps, memory_order_relaxed);

	if (n == 0) {
		long v = sysconf(_SC_PAGESIZE);
		n = v > 0 ? (size_t)v : 4096;
		atomic_store_explicit(&ps, n, memory_order_relaxed);
	}
	return n;
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
	/* The whole mapping, not its 2 MB-aligned middle: the kernel puts huge
	 * pages where they fit either way, but advice on part of a mapping
	 * splits it in two, and mremap() refuses (EFAULT) to grow a range
	 * that spans more than one.  Refused by kernels without THP: then
	 * small pages, as before. */
	if (n >= HUGE_SIZE)
		(void)madvise(p, n, MADV_HUGEPAGE);
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
	p = fail_now() ? MAP_FAILED : mmap(NULL, over, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		oom();
	a = ((uintptr_t)p + HUGE_SIZE - 1) & ~(uintptr_t)(HUGE_SIZE - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + over > a + len)
		munmap((void *)(a + len), (uintptr_t)p + over - (a + len));
	bigmem_advise((void *)a, len);
	if (populate)
		bigmem_populate((void *)a, len);
	if (guard != NULL)
		slot_add(guard, (void *)a, len);
	return (void *)a;
}

void
bigmem_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	if (n < BIGMEM_MIN) {
		pl_free(p);
		return;
	}
	if (guard != NULL)
		slot_del(guard, p);
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
