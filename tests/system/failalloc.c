/*
 * failalloc: preloaded into the daemon by tests/system/test_memory.py
 * (LD_PRELOAD), makes malloc, calloc and realloc fail with ENOMEM while the
 * file named by PLDNS_FAILALLOC exists, in every thread.  The file is looked
 * at every few milliseconds, not per call, so that the daemon runs at its
 * usual pace in between.
 *
 * Built without the sanitizers' flags: under AddressSanitizer it stands in
 * front of the sanitizer's allocator (ASAN_OPTIONS=verify_asan_link_order=0),
 * which it reaches through dlsym(RTLD_NEXT).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define CHECK_NS	(2 * 1000 * 1000)

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);

/* dlsym() may allocate before the real functions are known: from here. */
static _Alignas(16) char boot[4096];
static atomic_size_t boot_used;
static atomic_int resolving;

static atomic_bool failing;
static atomic_llong checked_ns;
static const char *flag_path;

static void
resolve(void)
{
	if (real_free != NULL)
		return;
	atomic_store(&resolving, 1);
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	atomic_store(&resolving, 0);
}

/* Not in resolve(): the first allocation may come before the environment
 * is there (AddressSanitizer allocates as it starts). */
__attribute__((constructor)) static void
failalloc_init(void)
{
	flag_path = getenv("PLDNS_FAILALLOC");
}

static void *
boot_alloc(size_t n)
{
	size_t off = atomic_fetch_add(&boot_used, (n + 15) & ~(size_t)15);

	if (off + n > sizeof(boot))
		return NULL;
	return boot + off;
}

static int
in_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof(boot);
}

/* Whether allocations fail now. */
static int
fail_now(void)
{
	struct timespec ts;
	long long now, last;

	if (flag_path == NULL)
		return 0;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	last = atomic_load_explicit(&checked_ns, memory_order_relaxed);
	if (now - last >= CHECK_NS &&
	    atomic_compare_exchange_strong(&checked_ns, &last, now))
		atomic_store(&failing, access(flag_path, F_OK) == 0);
	if (!atomic_load_explicit(&failing, memory_order_relaxed))
		return 0;
	errno = ENOMEM;
	return 1;
}

void *
malloc(size_t n)
{
	if (atomic_load(&resolving))
		return boot_alloc(n);
	resolve();
	return fail_now() ? NULL : real_malloc(n);
}

void *
calloc(size_t nmemb, size_t size)
{
	if (atomic_load(&resolving))
		return size != 0 && nmemb > sizeof(boot) / size ? NULL :
		    boot_alloc(nmemb * size);	/* static: zero already */
	resolve();
	return fail_now() ? NULL : real_calloc(nmemb, size);
}

void *
realloc(void *p, size_t n)
{
	if (atomic_load(&resolving) || in_boot(p))
		return NULL;
	resolve();
	/* realloc(P, 0) frees: it goes through. */
	if (p == NULL || n != 0)
		if (fail_now())
			return NULL;
	return real_realloc(p, n);
}

void
free(void *p)
{
	if (p == NULL || in_boot(p))
		return;
	resolve();
	real_free(p);
}
