/*
 * util: allocation that cannot fail (start-up and reload paths only; the
 * query path never allocates through these), small string helpers, time.
 *
 * Running out of memory aborts only where nothing can be kept: at start-up
 * before any data is served.  A reload runs under an oom_guard: an
 * allocation that fails there returns to the guard's entry point, which
 * frees everything allocated since (doc/design.md, "Memory").
 */
#ifndef PLDNS_UTIL_H
#define PLDNS_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* C99's bool, even where ldns came first (see configure.ac). */
_Static_assert((bool)2 == 1, "bool is not C99's bool");

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* A copy of secret S in memory left out of core dumps; secret_free()
 * wipes and frees it. */
char *secret_strdup(const char *s);
void secret_free(char *p);
int xasprintf(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int xvasprintf(char **out, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * Fallible allocation for the query path (a forwarded query's state, a TCP
 * client): NULL when out of memory, for the caller to answer SERVFAIL or
 * drop the connection.  Never longjmp, even under a guard.
 */
void *try_calloc(size_t nmemb, size_t size);
void *try_reallocarray(void *p, size_t nmemb, size_t size);

/*
 * Recovery from running out of memory while building new data (a reload,
 * a zone transfer).  Between oom_guard_begin() and oom_guard_end() on one
 * thread, every allocation through x*() and bigmem_*() is recorded, and
 * free() (the macro below) forgets what it frees.  When one fails,
 * control returns from the setjmp() the caller made on G->env with 1;
 * the caller then calls oom_guard_unwind(), which frees everything still
 * recorded and disarms the guard.  So the code under a guard must keep
 * nothing it allocates in state that outlives the guard until
 * oom_guard_end(), hold no lock across an allocation, and may leak only
 * what libraries allocated themselves.  Guards do not nest.
 *
 *	struct oom_guard g;
 *	oom_guard_begin(&g);
 *	if (setjmp(g.env) != 0) {
 *		oom_guard_unwind(&g);
 *		return reject("out of memory");
 *	}
 *	... build ...
 *	oom_guard_end(&g);
 */
struct oom_slot;
struct oom_guard {
	jmp_buf env;
	struct oom_slot *slots;		/* open addressing on the pointer */
	size_t cap, n;
	int nfds, nfps;
	int fds[8];			/* open files to close on unwind */
	FILE *fps[8];
	int ndefer;
	struct {
		void (*fn)(void *);
		void *arg;
	} defer[4];			/* library state to free on unwind */
};
void oom_guard_begin(struct oom_guard *g);
/* Keeps what was allocated; disarms. */
void oom_guard_end(struct oom_guard *g);
/* Frees what was allocated and not freed since oom_guard_begin(); disarms. */
void oom_guard_unwind(struct oom_guard *g);
/* Whether this thread is under a guard. */
bool oom_guarded(void);
/* Records FD (opened under the guard) to be closed on unwind; forgotten
 * again by oom_guard_close(), which closes it. */
void oom_guard_fd(int fd);
int oom_guard_close(int fd);
/* The same for streams: FP is closed on unwind unless oom_guard_fclose()
 * closed it first. */
void oom_guard_file(FILE *fp);
int oom_guard_fclose(FILE *fp);
/*
 * Mappings made apart from bigmem_alloc() (mmap, mremap): after the call,
 * oom_guard_map() fails as an allocation would when P is MAP_FAILED, else
 * records [P, P + LEN) in place of OLD (NULL: a new mapping; OLD not
 * recorded: neither is P, it is older than the guard).
 * oom_guard_unmap() forgets the mapping at P before it is unmapped.
 */
void *oom_guard_map(void *old, void *p, size_t len);
/* FN(ARG) frees what a library holds for the code under the guard; it is
 * called on unwind unless oom_guard_undefer(ARG) came first. */
void oom_guard_defer(void (*fn)(void *), void *arg);
void oom_guard_undefer(void *arg);
/* Heap memory a library allocated for pldns to free (realpath, getline):
 * P, which replaces OLD (NULL: new), is recorded as xrealloc() would. */
void oom_guard_moved(void *old, void *p);
/* What x*() do when an allocation fails: return to the guard, or without
 * one print "out of memory" and abort. */
void out_of_memory(void) __attribute__((noreturn));
void oom_guard_unmap(void *p);
/* free() that forgets P under a guard (see the macro below). */
void pl_free(void *p);
/*
 * Every free() in pldns goes through pl_free(), so that what is freed
 * under a guard is not freed again when it unwinds.  Memory a library
 * allocated is freed as before; memory from x*() must not be handed to a
 * library that frees it.
 */
#define free(p)		pl_free(p)

/*
 * Tests only: makes the Nth allocation from now (x*, bigmem_*, try_*) on
 * this thread fail, counting from 1; 0 turns it off.  Returns how many
 * allocations were made since the last call.
 */
unsigned long util_fail_alloc_after(unsigned long n);

size_t pl_strlcpy(char *dst, const char *src, size_t size);

/* Formats a reason into ERR (ERRLEN bytes); returns -1, for "return
 * pl_errf(...)" where a function fails. */
int pl_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
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
/* Asks for huge pages for the mapping [P, P + N) (P page-aligned, memory
 * mapped apart from the heap and not faulted in yet), as one whole so that
 * it stays one mapping that mremap() can grow. */
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
