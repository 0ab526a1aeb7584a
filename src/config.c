/*
 * config: the INI configuration, parsed with inih and checked against the
 * key table (config_keys.c).
 *
 * inih splits lines into sections and key = value pairs; everything else is
 * done here.  inih of Debian is built without line numbers in its handler, so
 * the file is fed to ini_parse_stream() through our own reader, which counts
 * lines, notices lines inih rejected (the handler was not called for them),
 * and reads section headers itself: that gives every message its line, lets
 * a header be checked even when no key follows it, and gives the line of the
 * header to "X is required" messages.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "cookie.h"
#include "resolvconf.h"
#include "util.h"

#define DNS_PORT	53
#define DOT_PORT	853
#define CONTROL_PORT	8053
#define LINE_MAX_LEN	8192	/* characters, without the newline */

enum sect {
	SEC_NONE,		/* before the first header */
	SEC_SKIP,		/* after a bad header: its keys are ignored */
	SEC_GLOBAL,		/* [server], [upstream], ... */
	SEC_FORWARD,
	SEC_ZONE,
	SEC_KEY,
	SEC_AZURE
};

static const char *const plain_sections[] = {
	"server", "upstream", "cache", "records", "log", "control", "doctor"
};

/* A value parsed from its text, before it is stored. */
struct cval {
	unsigned long long u;
	char *s;
	char **v;
	size_t n;
	struct pl_addr *addrs;
	struct pl_cidr *cidrs;
};

struct parse {
	struct config *cfg;
	struct diag *d;
	const char *file;	/* as given, for messages */
	FILE *fp;

	char *buf;		/* the current physical line */
	size_t bufcap, len, pos;
	bool have_line;		/* buf holds a line inih is reading */
	bool expect_handler;	/* the line is neither blank, comment nor header */
	bool handled;
	unsigned long lineno;

	enum sect sect;
	const char *sect_word;	/* "server", "forward", ... (static) */
	char *sect_disp;	/* "[server]", "[forward \"x\"]" as written */
	unsigned long sect_line;
	void *sect_base;	/* struct config, forward_conf, zone_conf or key_conf */
	struct forward_conf *scratch_fwd;	/* checked, then dropped */
	struct zone_conf *scratch_zone;
	struct key_conf *scratch_key;
	struct azure_conf *scratch_azure;

	/* key = in [zone] sections, checked once every [key] is known. */
	struct keyref {
		char *key;
		unsigned long line;
	} *keyrefs;
	size_t nkeyrefs;

	size_t nkeys;
	unsigned long *global_seen;	/* per key: line it was given on */
	unsigned long *local_seen;	/* same, for the current [forward]/[zone] */
	bool *global_bad;	/* per key: its value was rejected */
	unsigned long cur_line;	/* line of the key being parsed */
};

static void forward_free(struct forward_conf *f);
static void zone_free(struct zone_conf *z);
static void key_free(struct key_conf *k);
static void azure_free(struct azure_conf *a);

static void perr(struct parse *p, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bad_value(struct parse *p, const struct config_key *k,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
perr(struct parse *p, unsigned long line, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	(void)xvasprintf(&msg, fmt, ap);
	va_end(ap);
	diag_add(p->d, DIAG_ERROR, p->file, line, "%s", msg);
	free(msg);
}

static void
bad_value(struct parse *p, const struct config_key *k, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	(void)xvasprintf(&msg, fmt, ap);
	va_end(ap);
	diag_add(p->d, DIAG_ERROR, p->file, p->cur_line, "bad value for %s: %s",
	    k->name, msg);
	free(msg);
}

static bool
is_key(const struct config_key *k, const char *section, const char *name)
{
	return strcmp(k->section, section) == 0 && strcmp(k->name, name) == 0;
}

/*
 * Checks a domain name as the configuration writes it and returns it
 * lower-cased without the trailing dot (caller frees), or NULL with a reason.
 * Stricter than DNS itself (letters, digits, '-' and '_' only) on purpose:
 * a configured name with anything else is a typing error.
 */
static char *
name_normalize(const char *s, const char **err)
{
	size_t len = strlen(s), label = 0;
	char *out;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0) {
		*err = s[0] == '.' ? "the root is not allowed here" : "empty name";
		return NULL;
	}
	if (len > 253) {
		*err = "name longer than 253 characters";
		return NULL;
	}
	out = xstrndup(s, len);
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c == '.' || c == '\0') {
			if (label == 0) {
				*err = "empty label";
				goto fail;
			}
			label = 0;
			continue;
		}
		if (++label > 63) {
			*err = "label longer than 63 characters";
			goto fail;
		}
		if (c >= 'A' && c <= 'Z')
			out[i] = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_')) {
			*err = "only letters, digits, '-' and '_' may form a label";
			goto fail;
		}
	}
	return out;
fail:
	free(out);
	return NULL;
}

/*
 * Decodes base64 (RFC 4648, with padding, no white space) into OUT, which
 * has room for strlen(S) * 3 / 4 bytes, and returns the length, or -1.
 */
static ssize_t
base64_decode(const char *s, uint8_t *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(s), n = 0;
	uint32_t acc = 0;
	int bits = 0, pad = 0;

	if (len == 0 || len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		const char *c;

		if (s[i] == '=') {
			/* Only at the end, at most two. */
			if (i < len - 2 || (i == len - 2 && s[len - 1] != '='))
				return -1;
			pad++;
			continue;
		}
		if (s[i] == '\0' || (c = strchr(alphabet, s[i])) == NULL)
			return -1;
		acc = acc << 6 | (uint32_t)(c - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* The bits left over must be zero (canonical encoding). */
	if (pad > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (ssize_t)n;
}

/* ---- values ---- */

static void
cval_clear(struct cval *v)
{
	free(v->s);
	strv_free(v->v);
	free(v->addrs);
	free(v->cidrs);
	memset(v, 0, sizeof(*v));
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < nitems(yes); i++) {
		if (str_casecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (str_casecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Decimal digits only.  Returns 0, -1 when not a number, -2 on overflow. */
static int
parse_ull(const char *s, unsigned long long *out, const char **end)
{
	unsigned long long v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (ULLONG_MAX - d) / 10)
			return -2;
		v = v * 10 + d;
	}
	if (end != NULL)
		*end = p;
	else if (*p != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
enum_index(const char *values, const char *s)
{
	const char *p = values;
	size_t slen = strlen(s);

	for (int i = 0; *p != '\0'; i++) {
		size_t n = strcspn(p, "|");

		if (n == slen && strncasecmp(p, s, n) == 0)
			return i;
		p += n;
		if (*p == '|')
			p++;
	}
	return -1;
}

/* "a|b|c" as "a, b, c". */
static char *
enum_list(const char *values)
{
	char *out = xmalloc(strlen(values) * 2 + 1), *o = out;

	for (const char *p = values; *p != '\0'; p++) {
		if (*p == '|') {
			*o++ = ',';
			*o++ = ' ';
		} else
			*o++ = *p;
	}
	*o = '\0';
	return out;
}

static int
parse_size(const char *s, unsigned long long *out)
{
	const char *end;
	unsigned long long v, mult = 1;
	int r = parse_ull(s, &v, &end);

	if (r == -1)
		return -1;
	if (r == -2)
		return -2;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mult = 1ULL << 10;
		end++;
		break;
	case 'm': case 'M':
		mult = 1ULL << 20;
		end++;
		break;
	case 'g': case 'G':
		mult = 1ULL << 30;
		end++;
		break;
	default:
		return -1;
	}
	if (*end != '\0')
		return -1;
	if (v > SIZE_MAX / mult)
		return -2;
	*out = v * mult;
	return 0;
}

/* Whether PATH can be opened for reading, with errno set when not. */
static bool
readable(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd == -1)
		return false;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		errno = EISDIR;
		return false;
	}
	close(fd);
	return true;
}

static const char *const source_prefixes[] = { "csv:", "json:", "hosts:", "zone:" };

/* Appends S (taken) to OUT->v, which has room for *CAP entries and a NULL. */
static void
cval_push(struct cval *out, size_t *cap, char *s)
{
	if (out->n + 1 >= *cap) {
		*cap = *cap * 2 + 2;
		out->v = xreallocarray(out->v, *cap, sizeof(*out->v));
	}
	out->v[out->n++] = s;
	out->v[out->n] = NULL;
}

/* Files in a sources directory are read by extension, in this format. */
static const struct {
	const char *ext, *prefix;
} dir_exts[] = {
	{ ".csv", "csv:" }, { ".json", "json:" }, { ".hosts", "hosts:" },
	{ ".zone", "zone:" },
};

const char *
config_dir_source_prefix(const char *name)
{
	size_t len = strlen(name);

	/* Hidden files are editors' and tools' scratch (".x.csv.swp"). */
	if (name[0] == '.')
		return NULL;
	for (size_t i = 0; i < nitems(dir_exts); i++) {
		size_t n = strlen(dir_exts[i].ext);

		/* "x.csv.dpkg-old" or "x.csv~" does not end in ".csv": left
		 * alone, as a package upgrade or an editor leaves them. */
		if (len > n && strcasecmp(name + len - n, dir_exts[i].ext) == 0)
			return dir_exts[i].prefix;
	}
	return NULL;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * A [records] directory DIR (absolute, without a trailing slash): every
 * regular file in it that config_dir_source_prefix() names, sorted by name
 * (bytewise, so that the order does not depend on the locale), appended to
 * OUT.  An empty directory adds nothing: a site may start without records.
 * Returns 0, or -1 when the directory cannot be read.
 */
static int
source_dir(struct parse *p, const char *dir, struct cval *out, size_t *cap)
{
	struct dirent **ents;
	char **names = NULL;
	size_t nnames = 0;
	int n = scandir(dir, &ents, NULL, NULL);

	if (n == -1) {
		perr(p, p->cur_line, "cannot read %s: %s", dir, strerror(errno));
		return -1;
	}
	names = xcalloc((size_t)n + 1, sizeof(*names));
	for (int i = 0; i < n; i++) {
		struct stat st;
		char *path;

		if (config_dir_source_prefix(ents[i]->d_name) != NULL) {
			path = path_join(dir, ents[i]->d_name);
			/* stat, not lstat: a link to a file elsewhere is the
			 * usual way to share one CSV between configurations;
			 * a dangling one is an error like a missing file. */
			if (stat(path, &st) == -1) {
				perr(p, p->cur_line, "cannot read %s: %s", path,
				    strerror(errno));
				free(path);
			} else if (S_ISREG(st.st_mode))
				names[nnames++] = path;
			else
				free(path);
		}
		free(ents[i]);
	}
	free(ents);
	qsort(names, nnames, sizeof(*names), cmp_str);
	for (size_t i = 0; i < nnames; i++) {
		const char *slash = strrchr(names[i], '/');
		char *spec;

		xasprintf(&spec, "%s%s", config_dir_source_prefix(slash + 1),
		    names[i]);
		free(names[i]);
		cval_push(out, cap, spec);
	}
	free(names);
	return 0;
}


/*
 * A [records] source ITEM appended to OUT: "PREFIX:path" with the path made
 * absolute, or, for a directory, each of its files (see source_dir()), the
 * directory itself then recorded in the config's source_dirs so that files
 * added to it later are noticed.  Returns 0 or -1.
 */
static int
source_resolve(struct parse *p, const struct config_key *k, const char *item,
    struct cval *out, size_t *cap)
{
	const char *prefix = "", *path = item;
	struct stat st;
	char *abs, *spec;

	for (size_t i = 0; i < nitems(source_prefixes); i++) {
		size_t n = strlen(source_prefixes[i]);

		if (strncasecmp(item, source_prefixes[i], n) == 0) {
			prefix = source_prefixes[i];
			path = item + n;
			break;
		}
	}
	if (*prefix == '\0') {
		/* "xml:a" is a wrong format sooner than a file name. */
		size_t n = strspn(item, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ");

		if (n > 1 && item[n] == ':') {
			bad_value(p, k, "\"%s\": unknown format \"%.*s\" "
			    "(use csv:, json:, hosts: or zone:)", item, (int)n,
			    item);
			return -1;
		}
	}
	while (*path == ' ' || *path == '\t')
		path++;
	if (*path == '\0') {
		bad_value(p, k, "\"%s\": empty path", item);
		return -1;
	}
	abs = path_join(p->cfg->dir, path);
	/* "dir/" names a directory even when it is missing, for the message. */
	for (size_t n = strlen(abs); n > 1 && abs[n - 1] == '/'; n--)
		abs[n - 1] = '\0';
	if (stat(abs, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (*prefix != '\0') {
			bad_value(p, k, "\"%s\": a directory takes no format "
			    "prefix (each file in it is read by its extension: "
			    ".csv, .json, .hosts or .zone)", item);
			free(abs);
			return -1;
		}
		if (source_dir(p, abs, out, cap) == -1) {
			free(abs);
			return -1;
		}
		p->cfg->source_dirs = xreallocarray(p->cfg->source_dirs,
		    p->cfg->nsource_dirs + 2, sizeof(char *));
		xasprintf(&p->cfg->source_dirs[p->cfg->nsource_dirs++], "%s/",
		    abs);
		p->cfg->source_dirs[p->cfg->nsource_dirs] = NULL;
		free(abs);
		return 0;
	}
	if ((k->flags & CK_READ) && p->d != NULL && !readable(abs)) {
		perr(p, p->cur_line, "cannot read %s: %s", abs, strerror(errno));
		free(abs);
		return -1;
	}
	xasprintf(&spec, "%s%s", prefix, abs);
	free(abs);
	cval_push(out, cap, spec);
	return 0;
}

/*
 * Parses TEXT as a value of key K into OUT.  Every problem is reported (all
 * bad entries of a list, not only the first).  Returns 0 or -1.
 */
static int
parse_value(struct parse *p, const struct config_key *k, const char *text,
    struct cval *out)
{
	const char *seps = (k->flags & CK_SPACES) ? ", \t" : ",";
	const char *err;
	char **items;
	size_t n;
	int r, bad = 0;

	memset(out, 0, sizeof(*out));
	switch (k->type) {
	case CT_BOOL: {
		bool b;

		if (parse_bool(text, &b) == -1) {
			bad_value(p, k, "\"%s\" is not a boolean "
			    "(yes, no, true, false, on, off, 1 or 0)", text);
			return -1;
		}
		out->u = b;
		return 0;
	}
	case CT_UINT:
		if ((k->flags & CK_AUTO) && str_casecmp(text, "auto") == 0) {
			out->u = 0;
			return 0;
		}
		r = parse_ull(text, &out->u, NULL);
		if (r == -1) {
			bad_value(p, k, "\"%s\" is not a number%s", text,
			    (k->flags & CK_AUTO) ? " or auto" : "");
			return -1;
		}
		if (r == -2 || out->u < k->min || out->u > k->max) {
			bad_value(p, k, "%s is out of range (%lu..%lu)", text,
			    k->min, k->max);
			return -1;
		}
		return 0;
	case CT_SIZE:
		r = parse_size(text, &out->u);
		if (r == -1) {
			bad_value(p, k, "\"%s\" is not a size (a number with an "
			    "optional K, M or G suffix)", text);
			return -1;
		}
		if (r == -2) {
			bad_value(p, k, "%s is too large", text);
			return -1;
		}
		return 0;
	case CT_ENUM:
		if ((r = enum_index(k->values, text)) == -1) {
			char *list = enum_list(k->values);

			bad_value(p, k, "\"%s\" is not one of %s", text, list);
			free(list);
			return -1;
		}
		out->u = (unsigned)r;
		return 0;
	case CT_STRING:
		if ((k->flags & CK_NONE) && str_casecmp(text, "none") == 0)
			text = "";
		if (is_key(k, "control", "listen") && *text != '\0') {
			struct pl_addr a;

			if (addr_parse(text, CONTROL_PORT, &a, &err) == -1) {
				bad_value(p, k, "\"%s\": %s", text, err);
				return -1;
			}
		}
		if (is_key(k, "zone", "key")) {
			/* Key names are domain names (RFC 8945 4.2). */
			if ((out->s = name_normalize(text, &err)) == NULL) {
				bad_value(p, k, "\"%s\": %s", text, err);
				return -1;
			}
			return 0;
		}
		if (is_key(k, "key", "secret")) {
			uint8_t *bin = xmalloc(strlen(text) + 1);
			ssize_t blen = base64_decode(text, bin);

			free(bin);
			if (*text == '\0') {
				bad_value(p, k, "the secret is empty");
				return -1;
			}
			if (blen <= 0) {
				bad_value(p, k, "\"%s\" is not base64", text);
				return -1;
			}
			if (blen > 512) {
				bad_value(p, k, "the secret is longer than 512 "
				    "bytes");
				return -1;
			}
		}
		/* An empty user means "not given"; control listen keeps "". */
		if (*text != '\0' || (k->flags & CK_NONE))
			out->s = xstrdup(text);
		return 0;
	case CT_PATH:
		if (*text == '\0')
			return 0;
		out->s = path_join(p->cfg->dir, text);
		if ((k->flags & CK_READ) && p->d != NULL && !readable(out->s)) {
			perr(p, p->cur_line, "cannot read %s: %s", out->s,
			    strerror(errno));
			cval_clear(out);
			return -1;
		}
		return 0;
	case CT_ADDRLIST:
		items = strv_split(text, seps, &n);
		out->addrs = xcalloc(n, sizeof(*out->addrs));
		for (size_t i = 0; i < n; i++) {
			struct pl_addr *a = &out->addrs[out->n];

			if (addr_parse(items[i], DNS_PORT, a, &err) == -1) {
				bad_value(p, k, "\"%s\": %s", items[i], err);
				bad = 1;
				continue;
			}
			for (size_t j = 0; j < out->n; j++) {
				if (addr_equal(&out->addrs[j], a)) {
					bad_value(p, k, "\"%s\" is given twice",
					    items[i]);
					bad = 1;
					break;
				}
			}
			out->n++;
		}
		strv_free(items);
		break;
	case CT_CIDRLIST:
		items = strv_split(text, seps, &n);
		out->cidrs = xcalloc(n, sizeof(*out->cidrs));
		for (size_t i = 0; i < n; i++) {
			if (cidr_parse(items[i], &out->cidrs[out->n], &err) == -1) {
				bad_value(p, k, "\"%s\": %s", items[i], err);
				bad = 1;
				continue;
			}
			out->n++;
		}
		strv_free(items);
		break;
	case CT_PATHLIST: {
		size_t cap = n = 0;

		items = strv_split(text, seps, &n);
		cap = n + 1;
		out->v = xcalloc(cap, sizeof(*out->v));
		for (size_t i = 0; i < n; i++)
			if (source_resolve(p, k, items[i], out, &cap) == -1)
				bad = 1;
		strv_free(items);
		break;
	}
	case CT_STRLIST:
		out->v = strv_split(text, seps, &out->n);
		for (size_t i = 0; (k->flags & CK_SECRET) && i < out->n; i++)
			if (!cookie_secret_ok(out->v[i])) {
				bad_value(p, k, "\"%s\": not 32 hexadecimal digits",
				    out->v[i]);
				bad = 1;
			}
		if ((k->flags & CK_SECRET) && out->n > COOKIE_MAX_SECRETS) {
			bad_value(p, k, "more than %d secrets", COOKIE_MAX_SECRETS);
			bad = 1;
		}
		if (k->flags & CK_DOMAIN) {
			for (size_t i = 0; i < out->n; i++) {
				char *name = name_normalize(out->v[i], &err);

				if (name == NULL) {
					bad_value(p, k, "\"%s\": %s", out->v[i],
					    err);
					bad = 1;
					continue;
				}
				free(out->v[i]);
				out->v[i] = name;
			}
		}
		break;
	}
	if (!bad && out->n == 0 && (k->flags & CK_NONEMPTY)) {
		bad_value(p, k, "the list is empty");
		bad = 1;
	}
	if (bad) {
		cval_clear(out);
		return -1;
	}
	return 0;
}

static void
store_num(void *m, size_t size, unsigned long long u)
{
	if (size == sizeof(bool) && size == 1) {
		bool b = u != 0;
		memcpy(m, &b, 1);
	} else if (size == 4) {
		uint32_t x = (uint32_t)u;
		memcpy(m, &x, 4);
	} else if (size == 8) {
		uint64_t x = u;
		memcpy(m, &x, 8);
	} else
		abort();
}

/* Moves V into the member of BASE that K names, freeing what was there. */
static void
store_value(void *base, const struct config_key *k, struct cval *v)
{
	char *m = (char *)base + k->off;
	size_t *count = (size_t *)(void *)((char *)base + k->count_off);

	switch (k->type) {
	case CT_BOOL:
	case CT_UINT:
	case CT_SIZE:
	case CT_ENUM:
		store_num(m, k->size, v->u);
		break;
	case CT_STRING:
	case CT_PATH:
		free(*(char **)(void *)m);
		*(char **)(void *)m = v->s;
		v->s = NULL;
		break;
	case CT_STRLIST:
	case CT_PATHLIST:
		strv_free(*(char ***)(void *)m);
		if (v->v == NULL)
			v->v = xcalloc(1, sizeof(char *));
		*(char ***)(void *)m = v->v;
		*count = v->n;
		v->v = NULL;
		break;
	case CT_ADDRLIST:
		free(*(struct pl_addr **)(void *)m);
		*(struct pl_addr **)(void *)m = v->n ? v->addrs : NULL;
		if (v->n == 0)
			free(v->addrs);
		*count = v->n;
		v->addrs = NULL;
		break;
	case CT_CIDRLIST:
		free(*(struct pl_cidr **)(void *)m);
		*(struct pl_cidr **)(void *)m = v->n ? v->cidrs : NULL;
		if (v->n == 0)
			free(v->cidrs);
		*count = v->n;
		v->cidrs = NULL;
		break;
	}
	cval_clear(v);
}

/*
 * [upstream] servers: plain entries become upstreams; "tls://addr[:port]
 * [#name]" entries are checked and kept in upstream_specs only.
 */
static int
parse_upstreams(struct parse *p, const struct config_key *k, const char *text)
{
	struct config *cfg = p->cfg;
	size_t n;
	char **items = strv_split(text, ", \t", &n);
	struct pl_addr *addrs = xcalloc(n, sizeof(*addrs));
	size_t naddrs = 0;
	const char *err;
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		const char *s = items[i], *scheme_end = strstr(s, "://");
		struct pl_addr a;

		if (scheme_end != NULL && strncasecmp(s, "tls://", 6) == 0) {
			const char *hash = strchr(s + 6, '#');
			char *host = xstrndup(s + 6, hash ? (size_t)(hash - s - 6) :
			    strlen(s + 6));
			int r = addr_parse(host, DOT_PORT, &a, &err);

			free(host);
			if (r == -1) {
				bad_value(p, k, "\"%s\": %s", s, err);
				bad = 1;
			} else if (hash != NULL) {
				char *name = name_normalize(hash + 1, &err);

				if (name == NULL) {
					bad_value(p, k, "\"%s\": bad name after "
					    "'#': %s", s, err);
					bad = 1;
				}
				free(name);
			}
			continue;
		}
		if (scheme_end != NULL) {
			bad_value(p, k, "\"%s\": unsupported scheme \"%.*s\" "
			    "(only tls:// is supported)", s,
			    (int)(scheme_end - s), s);
			bad = 1;
			continue;
		}
		if (addr_parse(s, DNS_PORT, &a, &err) == -1) {
			bad_value(p, k, "\"%s\": %s", s, err);
			bad = 1;
			continue;
		}
		addrs[naddrs++] = a;
	}
	if (bad) {
		strv_free(items);
		free(addrs);
		return -1;
	}
	strv_free(cfg->upstream_specs);
	cfg->upstream_specs = items;
	cfg->nupstream_specs = n;
	free(cfg->upstreams);
	cfg->upstreams = naddrs ? addrs : NULL;
	if (naddrs == 0)
		free(addrs);
	cfg->nupstreams = naddrs;
	return 0;
}

/* ---- sections ---- */

static const struct config_key *
key_find(const char *section, const char *name, size_t *index)
{
	for (size_t i = 0; config_keys[i].section != NULL; i++) {
		if (strcmp(config_keys[i].section, section) == 0 &&
		    str_casecmp(config_keys[i].name, name) == 0) {
			*index = i;
			return &config_keys[i];
		}
	}
	return NULL;
}

static char *
where_str(struct parse *p, unsigned long line)
{
	char *w;

	xasprintf(&w, "%s:%lu", p->file, line);
	return w;
}

/* True when S is a GUID as Azure writes them (8-4-4-4-12 hex digits). */
static bool
is_guid(const char *s)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };

	for (size_t g = 0; g < nitems(groups); g++) {
		for (int i = 0; i < groups[g]; i++, s++)
			if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
			    (*s >= 'A' && *s <= 'F')))
				return false;
		if (*s != (g + 1 < nitems(groups) ? '-' : '\0'))
			return false;
		s++;
	}
	return true;
}

/* The line of key NAME in the current section, else of its header. */
static unsigned long
local_line(struct parse *p, const char *name)
{
	size_t ki = 0;

	if (key_find(p->sect_word, name, &ki) != NULL && p->local_seen[ki] != 0)
		return p->local_seen[ki];
	return p->sect_line;
}

/* A GUID key of [azure]: checked and lower-cased. */
static void
azure_guid(struct parse *p, const char *key, char *v)
{
	if (v == NULL)
		return;
	if (!is_guid(v))
		perr(p, local_line(p, key), "bad value for %s: \"%s\" is not a "
		    "GUID (as 00000000-0000-0000-0000-000000000000)", key, v);
	for (char *c = v; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'F')
			*c = (char)(*c - 'A' + 'a');
}

/* A URL key of [azure]: its scheme checked, a trailing '/' dropped. */
static void
azure_url(struct parse *p, const char *key, char **v, const char *def,
    bool https_only)
{
	size_t n;

	if (*v == NULL) {
		*v = xstrdup(def);
		return;
	}
	if (strncasecmp(*v, "https://", 8) != 0 && (https_only ||
	    strncasecmp(*v, "http://", 7) != 0))
		perr(p, local_line(p, key), "bad value for %s: \"%s\" is not an "
		    "%s URL", key, *v, https_only ? "https://" : "http(s)://");
	n = strlen(*v);
	while (n > 0 && (*v)[n - 1] == '/')
		(*v)[--n] = '\0';
}

/* Checks that span the keys of an [azure] section; fills in defaults. */
static void
azure_section_end(struct parse *p, struct azure_conf *a)
{
	static const char *const mgmt[] = { "https://management.azure.com",
	    "https://management.usgovcloudapi.net",
	    "https://management.chinacloudapi.cn" };
	static const char *const login[] = { "https://login.microsoftonline.com",
	    "https://login.microsoftonline.us", "https://login.chinacloudapi.cn" };
	static const char *const auths[] = { "arc", "secret", "certificate",
	    "federated", "vm" };
	const char *auth = auths[a->auth];
	bool app = a->auth == AZ_AUTH_SECRET || a->auth == AZ_AUTH_CERTIFICATE ||
	    a->auth == AZ_AUTH_FEDERATED;

	azure_guid(p, "tenant", a->tenant);
	azure_guid(p, "client_id", a->client_id);
	if (app && a->tenant == NULL)
		perr(p, p->sect_line, "%s: tenant is required with auth = %s",
		    p->sect_disp, auth);
	if (app && a->client_id == NULL)
		perr(p, p->sect_line, "%s: client_id is required with auth = %s",
		    p->sect_disp, auth);
	if (a->auth == AZ_AUTH_SECRET && a->secret_file == NULL)
		perr(p, p->sect_line, "%s: secret_file is required with auth = "
		    "secret", p->sect_disp);
	if (a->auth == AZ_AUTH_CERTIFICATE && a->certificate_file == NULL)
		perr(p, p->sect_line, "%s: certificate_file is required with "
		    "auth = certificate", p->sect_disp);
	if (a->auth == AZ_AUTH_FEDERATED && a->token_file == NULL)
		perr(p, p->sect_line, "%s: token_file is required with auth = "
		    "federated", p->sect_disp);
	for (size_t i = 0; i < a->nsubscriptions; i++) {
		if (str_casecmp(a->subscriptions[i], "all") == 0) {
			if (a->nsubscriptions > 1)
				perr(p, local_line(p, "subscriptions"), "bad value "
				    "for subscriptions: all stands alone");
			free(a->subscriptions[i]);
			a->subscriptions[i] = xstrdup("all");
			continue;
		}
		azure_guid(p, "subscriptions", a->subscriptions[i]);
	}
	a->read_mask = 0;
	for (size_t i = 0; i < a->nread; i++) {
		if (str_casecmp(a->read[i], "zones") == 0)
			a->read_mask |= AZ_READ_ZONES;
		else if (str_casecmp(a->read[i], "endpoints") == 0)
			a->read_mask |= AZ_READ_ENDPOINTS;
		else
			perr(p, local_line(p, "read"), "bad value for read: \"%s\" "
			    "is not one of zones, endpoints", a->read[i]);
	}
	if (a->nread == 0)
		a->read_mask = AZ_READ_ZONES;
	if (a->interval == 0)
		a->interval = 300;
	azure_url(p, "management_url", &a->management_url, mgmt[a->cloud], true);
	azure_url(p, "login_url", &a->login_url, login[a->cloud], true);
	azure_url(p, "identity_url", &a->identity_url, a->auth == AZ_AUTH_VM ?
	    "http://169.254.169.254" : "http://127.0.0.1:40342", false);
	if (a->identity_key_dir == NULL)
		a->identity_key_dir = xstrdup("/var/opt/azcmagent/tokens");
}

/* Closes the current section: required keys, scratch objects. */
static void
section_end(struct parse *p)
{
	if (p->sect == SEC_FORWARD || p->sect == SEC_ZONE || p->sect == SEC_KEY ||
	    p->sect == SEC_AZURE) {
		for (size_t i = 0; i < p->nkeys; i++) {
			const struct config_key *k = &config_keys[i];

			if ((k->flags & CK_REQUIRED) &&
			    strcmp(k->section, p->sect_word) == 0 &&
			    p->local_seen[i] == 0)
				perr(p, p->sect_line, "%s: %s is required",
				    p->sect_disp, k->name);
		}
	}
	if (p->sect == SEC_ZONE) {
		size_t kf = 0, kp = 0;

		key_find("zone", "file", &kf);
		key_find("zone", "primary", &kp);
		if (p->local_seen[kf] != 0 && p->local_seen[kp] != 0)
			perr(p, p->local_seen[kf] > p->local_seen[kp] ?
			    p->local_seen[kf] : p->local_seen[kp],
			    "%s: file and primary exclude each other (a secondary "
			    "zone is kept in state_dir)", p->sect_disp);
	}
	if (p->scratch_fwd != NULL) {
		forward_free(p->scratch_fwd);
		free(p->scratch_fwd);
		p->scratch_fwd = NULL;
	}
	if (p->scratch_zone != NULL) {
		zone_free(p->scratch_zone);
		free(p->scratch_zone);
		p->scratch_zone = NULL;
	}
	if (p->sect == SEC_AZURE)
		azure_section_end(p, p->sect_base);
	if (p->scratch_key != NULL) {
		key_free(p->scratch_key);
		free(p->scratch_key);
		p->scratch_key = NULL;
	}
	if (p->scratch_azure != NULL) {
		azure_free(p->scratch_azure);
		free(p->scratch_azure);
		p->scratch_azure = NULL;
	}
	free(p->sect_disp);
	p->sect_disp = NULL;
	p->sect = SEC_NONE;
	p->sect_base = NULL;
}

/* The [forward]/[zone]/[key] section of that name already open, or -1. */
static long
find_named(struct parse *p, enum sect kind, const char *name, unsigned long *line)
{
	struct config *cfg = p->cfg;
	size_t n = kind == SEC_FORWARD ? cfg->nforwards :
	    kind == SEC_ZONE ? cfg->nzones : kind == SEC_AZURE ? cfg->nazures :
	    cfg->nkeys;

	for (size_t i = 0; i < n; i++) {
		const char *other = kind == SEC_FORWARD ? cfg->forwards[i].name :
		    kind == SEC_ZONE ? cfg->zones[i].name :
		    kind == SEC_AZURE ? cfg->azures[i].name : cfg->keys[i].name;
		const char *where = kind == SEC_FORWARD ? cfg->forwards[i].where :
		    kind == SEC_ZONE ? cfg->zones[i].where :
		    kind == SEC_AZURE ? cfg->azures[i].where : cfg->keys[i].where;

		if (strcmp(other, name) == 0) {
			const char *colon = strrchr(where, ':');
			*line = colon ? strtoul(colon + 1, NULL, 10) : 0;
			return (long)i;
		}
	}
	return -1;
}

static void
open_named(struct parse *p, enum sect kind, const char *raw)
{
	struct config *cfg = p->cfg;
	const char *err;
	char *name = name_normalize(raw, &err);
	unsigned long first = 0;
	bool scratch = false;

	if (name == NULL) {
		perr(p, p->lineno, "bad name in %s: %s", p->sect_disp, err);
		scratch = true;
	} else if (find_named(p, kind, name, &first) >= 0) {
		perr(p, p->lineno, "duplicate section %s (first on line %lu)",
		    p->sect_disp, first);
		scratch = true;
	}
	if (kind == SEC_FORWARD) {
		struct forward_conf *f;

		if (scratch)
			f = p->scratch_fwd = xcalloc(1, sizeof(*f));
		else {
			cfg->forwards = xreallocarray(cfg->forwards,
			    cfg->nforwards + 1, sizeof(*cfg->forwards));
			f = &cfg->forwards[cfg->nforwards++];
		}
		memset(f, 0, sizeof(*f));
		f->name = name ? name : xstrdup(raw);
		f->where = where_str(p, p->lineno);
		p->sect_base = f;
	} else if (kind == SEC_AZURE) {
		struct azure_conf *a;

		if (scratch)
			a = p->scratch_azure = xcalloc(1, sizeof(*a));
		else {
			cfg->azures = xreallocarray(cfg->azures, cfg->nazures + 1,
			    sizeof(*cfg->azures));
			a = &cfg->azures[cfg->nazures++];
		}
		memset(a, 0, sizeof(*a));
		a->name = name ? name : xstrdup(raw);
		a->where = where_str(p, p->lineno);
		p->sect_base = a;
	} else if (kind == SEC_KEY) {
		struct key_conf *k;

		if (scratch)
			k = p->scratch_key = xcalloc(1, sizeof(*k));
		else {
			cfg->keys = xreallocarray(cfg->keys, cfg->nkeys + 1,
			    sizeof(*cfg->keys));
			k = &cfg->keys[cfg->nkeys++];
		}
		memset(k, 0, sizeof(*k));
		k->name = name ? name : xstrdup(raw);
		k->algorithm = KEY_HMAC_SHA256;
		k->where = where_str(p, p->lineno);
		p->sect_base = k;
	} else {
		struct zone_conf *z;

		if (scratch)
			z = p->scratch_zone = xcalloc(1, sizeof(*z));
		else {
			cfg->zones = xreallocarray(cfg->zones, cfg->nzones + 1,
			    sizeof(*cfg->zones));
			z = &cfg->zones[cfg->nzones++];
		}
		memset(z, 0, sizeof(*z));
		z->name = name ? name : xstrdup(raw);
		z->missing = -1;
		z->multi = -1;
		z->where = where_str(p, p->lineno);
		p->sect_base = z;
	}
	p->sect = kind;
	memset(p->local_seen, 0, p->nkeys * sizeof(*p->local_seen));
}

/*
 * A section header line (the text from '[').  inih takes the text up to the
 * first ']' (or an inline comment) as the section; we take the same text and
 * also insist that nothing but a comment follows the ']'.
 */
static void
section_begin(struct parse *p, const char *line)
{
	const char *close = strchr(line, ']');
	const char *after;
	char *inner, *word, *rest;
	size_t wlen;

	section_end(p);
	p->sect = SEC_SKIP;
	p->sect_line = p->lineno;
	for (const char *c = line + 1; close != NULL && c < close; c++) {
		/* inih stops at an inline comment before the ']'. */
		if ((*c == ';' || *c == '#') && (c[-1] == ' ' || c[-1] == '\t')) {
			close = NULL;
			break;
		}
	}
	if (close == NULL) {
		perr(p, p->lineno, "syntax error");
		return;
	}
	after = close + 1;
	while (*after == ' ' || *after == '\t' || *after == '\r' || *after == '\n')
		after++;
	if (*after != '\0' && *after != ';' && *after != '#') {
		perr(p, p->lineno, "syntax error");
		return;
	}

	inner = xstrndup(line + 1, (size_t)(close - line - 1));
	word = str_trim(inner);
	xasprintf(&p->sect_disp, "[%s]", word);
	wlen = strcspn(word, " \t\"");
	rest = str_trim(word + wlen);
	word[wlen] = '\0';

	if (str_casecmp(word, "forward") == 0 || str_casecmp(word, "zone") == 0 ||
	    str_casecmp(word, "key") == 0 || str_casecmp(word, "azure") == 0) {
		enum sect kind = str_casecmp(word, "forward") == 0 ? SEC_FORWARD :
		    str_casecmp(word, "zone") == 0 ? SEC_ZONE :
		    str_casecmp(word, "azure") == 0 ? SEC_AZURE : SEC_KEY;
		const char *canon = kind == SEC_FORWARD ? "forward" :
		    kind == SEC_ZONE ? "zone" : kind == SEC_AZURE ? "azure" : "key";
		size_t rlen = strlen(rest);

		p->sect_word = canon;
		if (rlen == 0)
			perr(p, p->lineno, "[%s] needs a name, as in [%s "
			    "\"example.com\"]", canon, canon);
		else if (rlen < 2 || rest[0] != '"' || rest[rlen - 1] != '"' ||
		    memchr(rest + 1, '"', rlen - 2) != NULL)
			perr(p, p->lineno, "bad section header %s: the name must "
			    "be in double quotes, as in [%s \"example.com\"]",
			    p->sect_disp, canon);
		else {
			rest[rlen - 1] = '\0';
			open_named(p, kind, rest + 1);
		}
		free(inner);
		return;
	}
	for (size_t i = 0; i < nitems(plain_sections); i++) {
		if (str_casecmp(word, plain_sections[i]) != 0)
			continue;
		p->sect_word = plain_sections[i];
		if (*rest != '\0')
			perr(p, p->lineno, "[%s] takes no name", p->sect_word);
		else {
			p->sect = SEC_GLOBAL;
			p->sect_base = p->cfg;
			free(p->sect_disp);
			xasprintf(&p->sect_disp, "[%s]", p->sect_word);
		}
		free(inner);
		return;
	}
	perr(p, p->lineno, "unknown section %s", p->sect_disp);
	free(inner);
}

/* ---- the inih reader and handler ---- */

/* Called once inih is done with a line: was a key line taken? */
static void
line_end(struct parse *p)
{
	if (p->have_line && p->expect_handler && !p->handled)
		perr(p, p->lineno, "syntax error");
	p->have_line = false;
}

static void
line_begin(struct parse *p)
{
	const char *s = p->buf;

	p->expect_handler = false;
	p->handled = false;
	if (p->lineno == 1 && (unsigned char)s[0] == 0xef &&
	    (unsigned char)s[1] == 0xbb && (unsigned char)s[2] == 0xbf)
		s += 3;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' ||
	    *s == '\f' || *s == '\v')
		s++;
	if (*s == '\0' || *s == ';' || *s == '#')
		return;
	if (*s == '[') {
		section_begin(p, s);
		return;
	}
	p->expect_handler = true;
}

/* Length of a line without its "\n" or "\r\n". */
static size_t
line_chars(const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '\n')
		len--;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	return len;
}

/* fgets() for inih, which counts lines and watches what inih does with them. */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	size_t room = num > 1 ? (size_t)num - 1 : 0, n;

	if (!p->have_line || p->pos >= p->len) {
		ssize_t got;

		line_end(p);
		char *was = p->buf;
		errno = 0;
		got = getline(&p->buf, &p->bufcap, p->fp);
		oom_guard_moved(was, p->buf);
		/* Not the end of the file: what is left would go unread. */
		if (got < 0 && errno == ENOMEM)
			out_of_memory();
		if (got < 0)
			return NULL;
		p->lineno++;
		p->len = (size_t)got;
		p->pos = 0;
		p->have_line = true;
		if (memchr(p->buf, '\0', p->len) != NULL) {
			perr(p, p->lineno, "line contains a NUL character");
			strcpy(p->buf, "\n");
			p->len = 1;
		} else if (line_chars(p->buf, p->len) > LINE_MAX_LEN) {
			perr(p, p->lineno, "line too long (more than %d "
			    "characters)", LINE_MAX_LEN);
			strcpy(p->buf, "\n");
			p->len = 1;
		}
		line_begin(p);
	}
	n = p->len - p->pos;
	if (n > room)
		n = room;
	memcpy(str, p->buf + p->pos, n);
	str[n] = '\0';
	p->pos += n;
	return str;
}

static int
ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	const struct config_key *k;
	struct cval v;
	unsigned long *seen;
	size_t ki;

	(void)section;		/* tracked by section_begin() */
	p->handled = true;
	p->cur_line = p->lineno;
	if (*name == '\0') {
		perr(p, p->lineno, "syntax error");
		return 1;
	}
	if (p->sect == SEC_SKIP)
		return 1;
	if (p->sect == SEC_NONE) {
		perr(p, p->lineno, "key \"%s\" outside any section", name);
		return 1;
	}
	if ((k = key_find(p->sect_word, name, &ki)) == NULL) {
		perr(p, p->lineno, "unknown key \"%s\" in %s", name, p->sect_disp);
		return 1;
	}
	seen = p->sect == SEC_GLOBAL ? p->global_seen : p->local_seen;
	if (seen[ki] != 0) {
		perr(p, p->lineno, "duplicate key \"%s\" in %s (first on line %lu)",
		    name, p->sect_disp, seen[ki]);
		return 1;
	}
	seen[ki] = p->lineno;

	if (is_key(k, "upstream", "servers")) {
		if (parse_upstreams(p, k, value) == -1)
			p->global_bad[ki] = true;
		return 1;
	}
	if (parse_value(p, k, value, &v) == -1) {
		if (p->sect == SEC_GLOBAL)
			p->global_bad[ki] = true;
		return 1;
	}
	if (is_key(k, "zone", "key") && v.s != NULL) {
		p->keyrefs = xreallocarray(p->keyrefs, p->nkeyrefs + 1,
		    sizeof(*p->keyrefs));
		p->keyrefs[p->nkeyrefs].key = xstrdup(v.s);
		p->keyrefs[p->nkeyrefs++].line = p->lineno;
	}
	store_value(p->sect_base, k, &v);
	if (is_key(k, "key", "secret")) {
		struct key_conf *kc = p->sect_base;
		ssize_t n;

		free(kc->secret_bin);
		kc->secret_bin = xmalloc(strlen(kc->secret) + 1);
		n = base64_decode(kc->secret, kc->secret_bin);
		kc->secret_len = n > 0 ? (size_t)n : 0;
	}
	return 1;
}

/* ---- defaults and checks ---- */

static void
parse_init(struct parse *p, struct config *cfg, struct diag *d, const char *file)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->d = d;
	p->file = file;
	for (p->nkeys = 0; config_keys[p->nkeys].section != NULL; p->nkeys++)
		;
	p->global_seen = xcalloc(p->nkeys, sizeof(*p->global_seen));
	p->local_seen = xcalloc(p->nkeys, sizeof(*p->local_seen));
	p->global_bad = xcalloc(p->nkeys, sizeof(*p->global_bad));
}

static void
parse_clear(struct parse *p)
{
	section_end(p);
	for (size_t i = 0; i < p->nkeyrefs; i++)
		free(p->keyrefs[i].key);
	free(p->keyrefs);
	free(p->global_seen);
	free(p->local_seen);
	free(p->global_bad);
	free(p->buf);
}

static void
set_control_addr(struct config *cfg)
{
	memset(&cfg->control_addr, 0, sizeof(cfg->control_addr));
	if (cfg->control_listen != NULL && cfg->control_listen[0] != '\0' &&
	    addr_parse(cfg->control_listen, CONTROL_PORT, &cfg->control_addr,
	    NULL) == -1)
		memset(&cfg->control_addr, 0, sizeof(cfg->control_addr));
}

struct config *
config_new(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct diag d;
	struct parse p;

	diag_init(&d);
	parse_init(&p, cfg, &d, "built-in default");
	for (size_t i = 0; config_keys[i].section != NULL; i++) {
		const struct config_key *k = &config_keys[i];
		struct cval v;

		if (strcmp(k->section, "forward") == 0 ||
		    strcmp(k->section, "zone") == 0 ||
		    strcmp(k->section, "key") == 0 ||
		    strcmp(k->section, "azure") == 0 ||
		    k->def == NULL || (k->flags & CK_UNSET))
			continue;
		if (parse_value(&p, k, k->def, &v) == -1) {
			/* The key table is wrong: a test catches this. */
			diag_print(&d, stderr);
			abort();
		}
		store_value(cfg, k, &v);
	}
	parse_clear(&p);
	diag_clear(&d);
	cfg->upstream_specs = xcalloc(1, sizeof(char *));
	set_control_addr(cfg);
	return cfg;
}

void
config_set_resolv_conf(const char *path)
{
	resolvconf_set_path(path);
}

/*
 * Whether forwarding to NS would send queries to pldns itself: a socket
 * pldns listens on gets what is sent to NS.
 */
static bool
is_self(const struct config *cfg, const struct pl_addr *ns)
{
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (addr_listen_gets(&cfg->listen[i], ns))
			return true;
	return false;
}

/* Default upstreams: the nameserver lines of resolv.conf. */
static void
upstreams_from_resolv_conf(struct config *cfg, struct diag *d)
{
	struct resolvconf rc;

	cfg->upstreams_from_resolv_conf = true;
	resolvconf_read(&rc, NULL, d);
	for (size_t i = 0; i < rc.nns; i++) {
		const struct pl_addr *a = &rc.ns[i].addr;
		bool dup = false;

		/* 0.0.0.0 means "this host" to the resolver library. */
		if (addr_is_unspecified(a) || is_self(cfg, a))
			continue;
		for (size_t j = 0; j < cfg->nupstreams; j++)
			dup |= addr_equal(&cfg->upstreams[j], a);
		if (dup)
			continue;
		cfg->upstreams = xreallocarray(cfg->upstreams,
		    cfg->nupstreams + 1, sizeof(*cfg->upstreams));
		cfg->upstreams[cfg->nupstreams++] = *a;
	}
	resolvconf_clear(&rc);
}

/* Checks that span keys. */
static void
cross_checks(struct parse *p)
{
	struct config *cfg = p->cfg;
	size_t kt = 0, kd = 0, kmin = 0, kmax = 0;

	key_find("upstream", "timeout_ms", &kt);
	key_find("upstream", "deadline_ms", &kd);
	key_find("cache", "min_ttl", &kmin);
	key_find("cache", "max_ttl", &kmax);

	if (!p->global_bad[kt] && !p->global_bad[kd] &&
	    cfg->deadline_ms < cfg->timeout_ms)
		perr(p, p->global_seen[kd] ? p->global_seen[kd] :
		    p->global_seen[kt], "deadline_ms (%u) is less than "
		    "timeout_ms (%u)", cfg->deadline_ms, cfg->timeout_ms);
	if (!p->global_bad[kmin] && !p->global_bad[kmax] &&
	    cfg->cache_min_ttl > cfg->cache_max_ttl)
		perr(p, p->global_seen[kmin] ? p->global_seen[kmin] :
		    p->global_seen[kmax], "min_ttl (%u) is greater than "
		    "max_ttl (%u)", (unsigned)cfg->cache_min_ttl,
		    (unsigned)cfg->cache_max_ttl);
}

/* The directory of PATH, absolute, so that a later chdir() does not matter. */
static char *
config_dir(const char *path)
{
	char *dir = path_dirname(path), *real;

	if (dir[0] == '/')
		return dir;
	if ((real = realpath(dir, NULL)) == NULL)
		return dir;
	oom_guard_moved(NULL, real);
	free(dir);
	return real;
}

/* inih is told how to read: Debian's build has these as variables. */
static void
ini_setup(void)
{
	static char comment_prefixes[] = ";#";

	ini_use_stack = false;
	ini_allow_realloc = true;
	ini_max_line = LINE_MAX_LEN + 3;
	/* An indented "key = value" must not continue the previous value. */
	ini_allow_multiline = false;
	ini_allow_inline_comments = true;
	ini_inline_comment_prefixes = comment_prefixes;
	ini_start_comment_prefixes = comment_prefixes;
	ini_stop_on_first_error = false;
	ini_allow_no_value = false;
	ini_allow_bom = true;
}

struct config *
config_load(const char *path, struct diag *d)
{
	struct config *cfg;
	struct parse p;
	size_t errors_before = d->nerrors, ks = 0;
	FILE *fp;
	int r;

	if ((fp = fopen(path, "re")) == NULL) {
		diag_add(d, DIAG_ERROR, path, 0, "cannot open: %s",
		    strerror(errno));
		return NULL;
	}
	oom_guard_file(fp);
	cfg = config_new();
	cfg->path = xstrdup(path);
	cfg->dir = config_dir(path);

	parse_init(&p, cfg, d, path);
	p.fp = fp;
	ini_setup();
	r = ini_parse_stream(cfg_reader, &p, ini_cb, &p);
	line_end(&p);
	if (ferror(fp))
		diag_add(d, DIAG_ERROR, path, 0, "cannot read: %s",
		    strerror(errno));
	else if (r == -2)
		diag_add(d, DIAG_ERROR, path, 0, "out of memory");
	oom_guard_fclose(fp);
	section_end(&p);

	cross_checks(&p);
	for (size_t i = 0; i < p.nkeyrefs; i++)
		if (config_key(cfg, p.keyrefs[i].key) == NULL)
			perr(&p, p.keyrefs[i].line, "bad value for key: no "
			    "[key \"%s\"] section", p.keyrefs[i].key);
	if (cfg->state_dir == NULL)
		cfg->state_dir = path_join(cfg->dir, "secondary");
	for (size_t i = 0; i < cfg->nzones; i++) {
		struct zone_conf *z = &cfg->zones[i];
		char *f;

		if (z->nprimaries == 0 || z->file != NULL)
			continue;
		/* What the last transfer left; none yet: empty until pulled. */
		f = config_secondary_file(cfg, z);
		if (readable(f))
			z->file = f;
		else
			free(f);
	}
	set_control_addr(cfg);
	key_find("upstream", "servers", &ks);
	if (p.global_seen[ks] == 0)
		upstreams_from_resolv_conf(cfg, d);
	if (cfg->nupstreams == 0 && !p.global_bad[ks])
		diag_add(d, DIAG_WARNING, path, p.global_seen[ks], "no upstream "
		    "servers: forwarding will answer SERVFAIL");
	cfg->lines = p.global_seen;
	p.global_seen = NULL;
	parse_clear(&p);

	if (d->nerrors > errors_before) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

static void
forward_free(struct forward_conf *f)
{
	free(f->name);
	free(f->servers);
	free(f->where);
}

static void
zone_free(struct zone_conf *z)
{
	free(z->name);
	free(z->file);
	strv_free(z->twins);
	free(z->where);
	free(z->allow_transfer);
	free(z->notify);
	free(z->primaries);
	free(z->key);
}

static void
azure_free(struct azure_conf *a)
{
	free(a->name);
	free(a->tenant);
	free(a->client_id);
	free(a->secret_file);
	free(a->certificate_file);
	free(a->token_file);
	strv_free(a->subscriptions);
	strv_free(a->read);
	free(a->management_url);
	free(a->login_url);
	free(a->identity_url);
	free(a->identity_key_dir);
	free(a->ca_file);
	free(a->proxy);
	free(a->where);
}

static void
key_free(struct key_conf *k)
{
	free(k->name);
	free(k->secret);
	free(k->secret_bin);
	free(k->where);
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->dir);
	free(cfg->listen);
	free(cfg->user);
	free(cfg->allow);
	free(cfg->allow_forward);
	strv_free(cfg->upstream_specs);
	strv_free(cfg->cookie_secret);
	free(cfg->upstreams);
	strv_free(cfg->sources);
	strv_free(cfg->source_dirs);
	free(cfg->control_listen);
	free(cfg->token_file);
	free(cfg->expect_subnets);
	free(cfg->tls_ca_file);
	for (size_t i = 0; i < cfg->nforwards; i++)
		forward_free(&cfg->forwards[i]);
	free(cfg->forwards);
	for (size_t i = 0; i < cfg->nzones; i++)
		zone_free(&cfg->zones[i]);
	free(cfg->zones);
	for (size_t i = 0; i < cfg->nkeys; i++)
		key_free(&cfg->keys[i]);
	free(cfg->keys);
	for (size_t i = 0; i < cfg->nazures; i++)
		azure_free(&cfg->azures[i]);
	free(cfg->azures);
	free(cfg->state_dir);
	free(cfg->lines);
	free(cfg);
}

unsigned long
config_line(const struct config *cfg, const char *section, const char *name)
{
	size_t i;

	if (cfg->lines == NULL || key_find(section, name, &i) == NULL)
		return 0;
	return cfg->lines[i];
}

const struct zone_conf *
config_zone(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nzones; i++)
		if (strcmp(cfg->zones[i].name, name) == 0)
			return &cfg->zones[i];
	return NULL;
}

const struct azure_conf *
config_azure(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nazures; i++)
		if (strcmp(cfg->azures[i].name, name) == 0)
			return &cfg->azures[i];
	return NULL;
}

const struct key_conf *
config_key(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nkeys; i++)
		if (strcmp(cfg->keys[i].name, name) == 0)
			return &cfg->keys[i];
	return NULL;
}

char *
config_secondary_file(const struct config *cfg, const struct zone_conf *z)
{
	char *name, *path;

	xasprintf(&name, "%s.zone", z->name);
	path = path_join(cfg->state_dir ? cfg->state_dir : ".", name);
	free(name);
	return path;
}
