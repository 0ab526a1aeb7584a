/*
 * config_int: the interface between the loader (config.c: the file, its
 * sections, the checks that span keys) and the value parsers
 * (config_value.c: one key's text into a value, then into its member).
 * Not for use outside config.
 *
 * A value is parsed into a struct config_value first and stored only when
 * it is good, so that a bad value leaves the default (or the previous
 * value) in place and every problem of a line is reported at once.
 */
#ifndef PLDNS_CONFIG_INT_H
#define PLDNS_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "data/config.h"
#include "util/diag.h"

#define DNS_PORT	53
#define DOT_PORT	853
#define CONTROL_PORT	8053

/* Where a value is being parsed: for messages and for relative paths. */
struct config_at {
	struct config *cfg;	/* being loaded: its dir; a directory of
				 * sources and [upstream] servers are
				 * recorded in it */
	struct diag *d;		/* where problems go */
	const char *file;	/* as given, for messages */
	unsigned long line;	/* of the key being parsed */
};

/* A value parsed from its text, before it is stored (owns what it holds). */
struct config_value {
	unsigned long long u;	/* CT_BOOL, CT_UINT, CT_SIZE, CT_ENUM */
	char *s;		/* CT_STRING, CT_PATH; NULL when not given */
	char **v;		/* CT_STRLIST, CT_PATHLIST (NULL terminated) */
	size_t n;		/* entries of a list */
	struct pl_addr *addrs;	/* CT_ADDRLIST */
	struct pl_cidr *cidrs;	/* CT_CIDRLIST */
};

/* "file:line: message" as an error. */
void config_error(const struct config_at *at, unsigned long line,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Parses TEXT as a value of key K into OUT (emptied first).  Every problem
 * is reported (all bad entries of a list, not only the first) as "bad value
 * for NAME: ..." at AT's line.  Returns 0, or -1 with OUT empty.
 */
int config_value_parse(const struct config_at *at, const struct config_key *k,
    const char *text, struct config_value *out);

/* Moves V into the member of BASE (struct config, forward_conf, zone_conf,
 * key_conf or azure_conf) that K names, freeing what was there; V is left
 * empty. */
void config_value_store(void *base, const struct config_key *k,
    struct config_value *v);

/* Frees what V holds and empties it. */
void config_value_clear(struct config_value *v);

/*
 * [upstream] servers: plain entries become AT->cfg's upstreams; "tls://addr
 * [:port][#name]" entries are checked and kept in upstream_specs only.
 * Nothing is stored when any entry is bad.  Returns 0 or -1.
 */
int config_upstreams_parse(const struct config_at *at,
    const struct config_key *k, const char *text);

/*
 * A domain name as the configuration writes it, lower-cased without the
 * trailing dot (caller frees), or NULL with a static reason in *ERR.
 */
char *config_name_normalize(const char *s, const char **err);

/* Base64 (RFC 4648, padded, no white space) into OUT, which has room for
 * strlen(S) * 3 / 4 bytes; the length, or -1. */
ssize_t config_base64_decode(const char *s, uint8_t *out);

/* Whether PATH can be opened for reading, with errno set when not. */
bool config_readable(const char *path);

/* K is the key NAME of SECTION. */
bool config_is_key(const struct config_key *k, const char *section,
    const char *name);

#endif
