/*
 * resolvconf: this machine's resolver configuration (resolv.conf), read
 * one way for every part of pldns that needs it: the default upstream
 * servers of config_load() and the resolver that pldns doctor checks.
 *
 * Lines are read as the C library's resolver reads them: the first word
 * is the keyword, a line starting with '#' or ';' is a comment, and words
 * after the value (a trailing comment) are ignored.  Kept: nameserver
 * lines (IPv4, IPv6 with an optional %scope, port 53) and the search list
 * (the last search or domain line wins, as in glibc).  options and sortlist
 * lines are read past: nothing in pldns acts on them.
 */
#ifndef PLDNS_RESOLVCONF_H
#define PLDNS_RESOLVCONF_H

#include <stddef.h>

#include "util/addr.h"
#include "util/diag.h"

struct resolvconf_ns {
	struct pl_addr addr;	/* port 53; an IPv6 address keeps its scope */
	unsigned long line;	/* the line it was given on */
};

struct resolvconf {
	char *path;		/* the file read (owned) */
	int err;		/* errno when it could not be opened, else 0 */
	struct resolvconf_ns *ns;	/* nameservers in file order, repeats
					 * and 0.0.0.0 as written (owned) */
	size_t nns;
	char **search;		/* search domains as written, NULL terminated
				 * (owned); NULL when no search/domain line */
	size_t nsearch;
};

/*
 * The resolv.conf read when no path is given: the one set with
 * resolvconf_set_path(), else the environment variable PLDNS_RESOLV_CONF
 * when set and not empty, else /etc/resolv.conf.  The pointer is valid
 * until the next resolvconf_set_path() or setenv().
 */
const char *resolvconf_path(void);

/* Sets the path resolvconf_path() returns (copied); NULL unsets it.  For
 * tests and tools; not thread-safe. */
void resolvconf_set_path(const char *path);

/*
 * Reads PATH (NULL: resolvconf_path()) into RC, which the caller clears
 * with resolvconf_clear() whatever this returns.  When D is not NULL, each
 * problem goes to it as a warning (the file is the system's, not pldns's):
 * "PATH: warning: cannot open: ..." and, per nameserver line whose address
 * is not an IP address, "PATH:LINE: warning: ignoring nameserver "X":
 * REASON" (that line is left out of RC->ns).  A nameserver line without an
 * address is left out silently, as the C library does.
 * Returns 0, or -1 when the file could not be opened (RC->err says why,
 * RC->path is set, the rest is empty).  Allocates with xmalloc & co., so
 * it may run under a load's oom_guard.
 */
int resolvconf_read(struct resolvconf *rc, const char *path, struct diag *d);

/* Frees what RC owns and empties it. */
void resolvconf_clear(struct resolvconf *rc);

#endif
