/*
 * diag: a list of user-facing problems, each formatted "file:line: message".
 *
 * Config and record loaders never stop at the first problem: they add every
 * problem they find to a struct diag and the caller decides (refuse to start,
 * reject a reload, print for check-config).  A diag owns its strings.
 */
#ifndef PLDNS_DIAG_H
#define PLDNS_DIAG_H

#include <stddef.h>

enum diag_level { DIAG_ERROR, DIAG_WARNING };

struct diag_msg {
	enum diag_level level;
	char *text;		/* "file:line: message" (owned) */
};

struct diag {
	struct diag_msg *msgs;
	size_t n, cap;
	size_t nerrors, nwarnings;
};

void diag_init(struct diag *d);
void diag_clear(struct diag *d);

/*
 * Adds one message.  FILE may be NULL (no location); LINE 0 means "no line"
 * and gives "file: message".  Warnings are prefixed "warning: " after the
 * location.  Never fails (aborts on out of memory, like xmalloc).
 */
void diag_add(struct diag *d, enum diag_level level, const char *file,
    unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Same, but the location is a free-form string such as "a.json: [0].fqdn". */
void diag_addloc(struct diag *d, enum diag_level level, const char *loc,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Appends every message of SRC to DST. */
void diag_merge(struct diag *dst, const struct diag *src);
/* Moves the messages of SRC to the end of DST, leaving SRC empty. */
void diag_move(struct diag *dst, struct diag *src);

/* Writes every message, one a line, to F (a FILE *). */
void diag_print(const struct diag *d, void *f);

/* All messages joined by '\n' (caller frees), or NULL when empty. */
char *diag_join(const struct diag *d);

#endif
