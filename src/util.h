/*
 * util: allocation that cannot fail (start-up and reload paths only; the
 * query path never allocates through these), small string helpers, time.
 */
#ifndef PLDNS_UTIL_H
#define PLDNS_UTIL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* C99's bool, even where ldns came first (see configure.ac). */
_Static_assert((bool)2 == 1, "bool is not C99's bool");

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

/*
 * Large tables built at start-up or reload (records, their bytes, the
 * snapshot's nodes and maps), zero-filled and faulted in at once.  From
 * BIGMEM_MIN bytes on they are mapped apart from the heap, start on a 2 MB
 * boundary and are advised for transparent huge pages: with THP in
 * "madvise" mode one fault then maps 2 MB (a 4 KB fault is dear on virtual
 * machines with shadow paging), and the query path looks names up among a
 * million with far fewer TLB misses.  Smaller ones come from the heap.
 * Aborts when out of memory.  bigmem_free() takes the size given to
 * bigmem_alloc().
 */
#define BIGMEM_MIN	(256u << 10)
void *bigmem_alloc(size_t n);
/* bigmem_alloc() that leaves the faulting to the caller (bigmem_populate()
 * ahead of filling), for a table filled from start to end over a long
 * time: what is not filled yet then does not count as resident. */
void *bigmem_alloc_lazy(size_t n);
/*
 * Faults in the whole pages of [P, P + N) for writing, at once: memory a
 * loader is about to fill costs much less that way than page by page on
 * some virtual machines (with shadow paging, a fault is a trip through the
 * hypervisor).  Only for memory that will be used: it counts as resident.
 */
void bigmem_populate(void *p, size_t n);
/* The system's page size. */
size_t page_size(void);
void bigmem_free(void *p, size_t n);
/* Asks for huge pages for the 2 MB aligned part of [P, P + N) (memory
 * mapped apart from the heap and not faulted in yet). */
void bigmem_advise(void *p, size_t n);

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
/* Creates DIR and its parents as needed (mode 0755); 0, or -1 with errno
 * set when one could not be created. */
int mkdir_p(const char *dir);
/* Directory part of PATH ("." when none); caller frees. */
char *path_dirname(const char *path);

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Statistics that one thread counts and another reads (a worker's metrics,
 * its upstream pool's figures) are _Atomic, so that a reader sees a whole
 * value, perhaps one event old, and ThreadSanitizer can check the rest.
 * Their single writer counts with COUNTER_ADD: a relaxed load and a relaxed
 * store, on x86 the very instructions of a plain increment.  "c++" on such
 * a counter is a locked read-modify-write instead: correct, and left to
 * rare events (errors, refusals), never the per-query path.
 */
#define COUNTER_ADD(c, n)						\
	atomic_store_explicit(&(c),					\
	    atomic_load_explicit(&(c), memory_order_relaxed) + (n),	\
	    memory_order_relaxed)
#define COUNTER_INC(c)	COUNTER_ADD(c, 1)
#define COUNTER_GET(c)	atomic_load_explicit(&(c), memory_order_relaxed)

#endif
