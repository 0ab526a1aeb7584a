/*
 * config_value: one configuration value, from its text to the member the
 * key table names (config_int.h).  Each value type of the key table has a
 * parser of its own; the checks particular to a key (control listen, zone
 * key, key secret, the [records] sources) are in the parser of its type.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/config_int.h"
#include "wire/cookie.h"
#include "util/util.h"

static void bad_value(const struct config_at *at, const struct config_key *k,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
bad_value(const struct config_at *at, const struct config_key *k,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	(void)xvasprintf(&msg, fmt, ap);
	va_end(ap);
	diag_add(at->d, DIAG_ERROR, at->file, at->line, "bad value for %s: %s",
	    k->name, msg);
	free(msg);
}

bool
config_is_key(const struct config_key *k, const char *section, const char *name)
{
	return strcmp(k->section, section) == 0 && strcmp(k->name, name) == 0;
}

/*
 * Stricter than DNS itself (letters, digits, '-' and '_' only) on purpose:
 * a configured name with anything else is a typing error.
 */
char *
config_name_normalize(const char *s, const char **err)
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

ssize_t
config_base64_decode(const char *s, uint8_t *out)
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

void
config_value_clear(struct config_value *v)
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

bool
config_readable(const char *path)
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
value_push(struct config_value *out, size_t *cap, char *s)
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
source_dir(const struct config_at *at, const char *dir,
    struct config_value *out, size_t *cap)
{
	struct dirent **ents;
	char **names = NULL;
	size_t nnames = 0;
	int n = scandir(dir, &ents, NULL, NULL);

	if (n == -1) {
		config_error(at, at->line, "cannot read %s: %s", dir, strerror(errno));
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
				config_error(at, at->line, "cannot read %s: %s", path,
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
		value_push(out, cap, spec);
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
source_resolve(const struct config_at *at, const struct config_key *k,
    const char *item, struct config_value *out, size_t *cap)
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
			bad_value(at, k, "\"%s\": unknown format \"%.*s\" "
			    "(use csv:, json:, hosts: or zone:)", item, (int)n,
			    item);
			return -1;
		}
	}
	while (*path == ' ' || *path == '\t')
		path++;
	if (*path == '\0') {
		bad_value(at, k, "\"%s\": empty path", item);
		return -1;
	}
	abs = path_join(at->cfg->dir, path);
	/* "dir/" names a directory even when it is missing, for the message. */
	for (size_t n = strlen(abs); n > 1 && abs[n - 1] == '/'; n--)
		abs[n - 1] = '\0';
	if (stat(abs, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (*prefix != '\0') {
			bad_value(at, k, "\"%s\": a directory takes no format "
			    "prefix (each file in it is read by its extension: "
			    ".csv, .json, .hosts or .zone)", item);
			free(abs);
			return -1;
		}
		if (source_dir(at, abs, out, cap) == -1) {
			free(abs);
			return -1;
		}
		at->cfg->source_dirs = xreallocarray(at->cfg->source_dirs,
		    at->cfg->nsource_dirs + 2, sizeof(char *));
		xasprintf(&at->cfg->source_dirs[at->cfg->nsource_dirs++], "%s/",
		    abs);
		at->cfg->source_dirs[at->cfg->nsource_dirs] = NULL;
		free(abs);
		return 0;
	}
	if ((k->flags & CK_READ) && at->d != NULL && !config_readable(abs)) {
		config_error(at, at->line, "cannot read %s: %s", abs, strerror(errno));
		free(abs);
		return -1;
	}
	xasprintf(&spec, "%s%s", prefix, abs);
	free(abs);
	value_push(out, cap, spec);
	return 0;
}

/*
 * The per-type parsers of config_value_parse(): each parses TEXT as a value
 * of key K into OUT (already empty), reports every problem and returns 0
 * or -1; on -1 the caller empties OUT.
 */

static int
value_bool(const struct config_at *at, const struct config_key *k,
    const char *text, struct config_value *out)
{
	bool b;

	if (parse_bool(text, &b) == -1) {
		bad_value(at, k, "\"%s\" is not a boolean "
		    "(yes, no, true, false, on, off, 1 or 0)", text);
		return -1;
	}
	out->u = b;
	return 0;
}

static int
value_uint(const struct config_at *at, const struct config_key *k,
    const char *text, struct config_value *out)
{
	int r;

	if ((k->flags & CK_AUTO) && str_casecmp(text, "auto") == 0) {
		out->u = 0;
		return 0;
	}
	r = parse_ull(text, &out->u, NULL);
	if (r == -1) {
		bad_value(at, k, "\"%s\" is not a number%s", text,
		    (k->flags & CK_AUTO) ? " or auto" : "");
		return -1;
	}
	if (r == -2 || out->u < k->min || out->u > k->max) {
		bad_value(at, k, "%s is out of range (%lu..%lu)", text,
		    k->min, k->max);
		return -1;
	}
	return 0;
}

static int
value_size(const struct config_at *at, const struct config_key *k,
    const char *text, struct config_value *out)
{
	int r = parse_size(text, &out->u);

	if (r == -1) {
		bad_value(at, k, "\"%s\" is not a size (a number with an "
		    "optional K, M or G suffix)", text);
		return -1;
	}
	if (r == -2) {
		bad_value(at, k, "%s is too large", text);
		return -1;
	}
	return 0;
}

static int
value_enum(const struct config_at *at, const struct config_key *k,
    const char *text, struct config_value *out)
{
	int r = enum_index(k->values, text);

	if (r == -1) {
		char *list = enum_list(k->values);

		bad_value(at, k, "\"%s\" is not one of %s", text, list);
		free(list);
		return -1;
	}
	out->u = (unsigned)r;
	return 0;
}

/* [key] secret: base64 of 1 to 512 bytes. */
static int
check_secret(const struct config_at *at, const struct config_key *k,
    const char *text)
{
	uint8_t *bin = xmalloc(strlen(text) + 1);
	ssize_t blen = config_base64_decode(text, bin);

	free(bin);
	if (*text == '\0') {
		bad_value(at, k, "the secret is empty");
		return -1;
	}
	if (blen <= 0) {
		bad_value(at, k, "\"%s\" is not base64", text);
		return -1;
	}
	if (blen > 512) {
		bad_value(at, k, "the secret is longer than 512 bytes");
		return -1;
	}
	return 0;
}

/* A string; the keys whose strings have a form of their own are checked. */
static int
value_string(const struct config_at *at, const struct config_key *k,
    const char *text, struct config_value *out)
{
	const char *err;

	if ((k->flags & CK_NONE) && str_casecmp(text, "none") == 0)
		text = "";
	if (config_is_key(k, "control", "listen") && *text != '\0') {
		struct pl_addr a;

		if (addr_parse(text, CONTROL_PORT, &a, &err) == -1) {
			bad_value(at, k, "\"%s\": %s", text, err);
			return -1;
		}
	}
	if (config_is_key(k, "zone", "key")) {
		/* Key names are domain names (RFC 8945 4.2). */
		if ((out->s = config_name_normalize(text, &err)) == NULL) {
			bad_value(at, k, "\"%s\": %s", text, err);
			return -1;
		}
		return 0;
	}
	if (config_is_key(k, "key", "secret") && check_secret(at, k, text) == -1)
		return -1;
	/* An empty user means "not given"; control listen keeps "". */
	if (*text != '\0' || (k->flags & CK_NONE))
		out->s = xstrdup(text);
	return 0;
}

static int
value_path(const struct config_at *at, const struct config_key *k,
    const char *text, struct config_value *out)
{
	if (*text == '\0')
		return 0;
	out->s = path_join(at->cfg->dir, text);
	if ((k->flags & CK_READ) && at->d != NULL && !config_readable(out->s)) {
		config_error(at, at->line, "cannot read %s: %s", out->s,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The entries of a list value, split as K allows (caller frees). */
static char **
list_split(const struct config_key *k, const char *text, size_t *n)
{
	return strv_split(text, (k->flags & CK_SPACES) ? ", \t" : ",", n);
}

static int
value_addrlist(const struct config_at *at, const struct config_key *k,
    const char *text, struct config_value *out)
{
	size_t n;
	char **items = list_split(k, text, &n);
	const char *err;
	int r = 0;

	out->addrs = xcalloc(n, sizeof(*out->addrs));
	for (size_t i = 0; i < n; i++) {
		struct pl_addr *a = &out->addrs[out->n];

		if (addr_parse(items[i], DNS_PORT, a, &err) == -1) {
			bad_value(at, k, "\"%s\": %s", items[i], err);
			r = -1;
			continue;
		}
		for (size_t j = 0; j < out->n; j++) {
			if (addr_equal(&out->addrs[j], a)) {
				bad_value(at, k, "\"%s\" is given twice",
				    items[i]);
				r = -1;
				break;
			}
		}
		out->n++;
	}
	strv_free(items);
	return r;
}

static int
value_cidrlist(const struct config_at *at, const struct config_key *k,
    const char *text, struct config_value *out)
{
	size_t n;
	char **items = list_split(k, text, &n);
	const char *err;
	int r = 0;

	out->cidrs = xcalloc(n, sizeof(*out->cidrs));
	for (size_t i = 0; i < n; i++) {
		if (cidr_parse(items[i], &out->cidrs[out->n], &err) == -1) {
			bad_value(at, k, "\"%s\": %s", items[i], err);
			r = -1;
			continue;
		}
		out->n++;
	}
	strv_free(items);
	return r;
}

static int
value_pathlist(const struct config_at *at, const struct config_key *k,
    const char *text, struct config_value *out)
{
	size_t n, cap;
	char **items = list_split(k, text, &n);
	int r = 0;

	cap = n + 1;
	out->v = xcalloc(cap, sizeof(*out->v));
	for (size_t i = 0; i < n; i++)
		if (source_resolve(at, k, items[i], out, &cap) == -1)
			r = -1;
	strv_free(items);
	return r;
}

static int
value_strlist(const struct config_at *at, const struct config_key *k,
    const char *text, struct config_value *out)
{
	const char *err;
	int r = 0;

	out->v = list_split(k, text, &out->n);
	for (size_t i = 0; (k->flags & CK_SECRET) && i < out->n; i++)
		if (!cookie_secret_ok(out->v[i])) {
			bad_value(at, k, "\"%s\": not 32 hexadecimal digits",
			    out->v[i]);
			r = -1;
		}
	if ((k->flags & CK_SECRET) && out->n > COOKIE_MAX_SECRETS) {
		bad_value(at, k, "more than %d secrets", COOKIE_MAX_SECRETS);
		r = -1;
	}
	for (size_t i = 0; (k->flags & CK_DOMAIN) && i < out->n; i++) {
		char *name = config_name_normalize(out->v[i], &err);

		if (name == NULL) {
			bad_value(at, k, "\"%s\": %s", out->v[i], err);
			r = -1;
			continue;
		}
		free(out->v[i]);
		out->v[i] = name;
	}
	return r;
}

/* One parser per value type of the key table. */
static int (*const value_parsers[])(const struct config_at *,
    const struct config_key *, const char *, struct config_value *) = {
	[CT_BOOL] = value_bool,
	[CT_UINT] = value_uint,
	[CT_SIZE] = value_size,
	[CT_STRING] = value_string,
	[CT_PATH] = value_path,
	[CT_ADDRLIST] = value_addrlist,
	[CT_CIDRLIST] = value_cidrlist,
	[CT_PATHLIST] = value_pathlist,
	[CT_ENUM] = value_enum,
	[CT_STRLIST] = value_strlist,
};
_Static_assert(nitems(value_parsers) == CT_STRLIST + 1,
    "a parser for every value type");

int
config_value_parse(const struct config_at *at, const struct config_key *k,
    const char *text, struct config_value *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	r = value_parsers[k->type](at, k, text, out);
	/* Only lists take CK_NONEMPTY; an empty list is no other problem. */
	if (r == 0 && out->n == 0 && (k->flags & CK_NONEMPTY)) {
		bad_value(at, k, "the list is empty");
		r = -1;
	}
	if (r == -1)
		config_value_clear(out);
	return r;
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

/* The array ARR of N entries (taken) into the pointer member M, NULL when
 * empty, and N into COUNT; what M held is freed. */
static void
store_array(void *m, size_t *count, void *arr, size_t n)
{
	void *old;

	memcpy(&old, m, sizeof(old));
	free(old);
	if (n == 0) {
		free(arr);
		arr = NULL;
	}
	memcpy(m, &arr, sizeof(arr));
	*count = n;
}

void
config_value_store(void *base, const struct config_key *k,
    struct config_value *v)
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
		store_array(m, count, v->addrs, v->n);
		v->addrs = NULL;
		break;
	case CT_CIDRLIST:
		store_array(m, count, v->cidrs, v->n);
		v->cidrs = NULL;
		break;
	}
	config_value_clear(v);
}

int
config_upstreams_parse(const struct config_at *at, const struct config_key *k,
    const char *text)
{
	struct config *cfg = at->cfg;
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
				bad_value(at, k, "\"%s\": %s", s, err);
				bad = 1;
			} else if (hash != NULL) {
				char *name = config_name_normalize(hash + 1, &err);

				if (name == NULL) {
					bad_value(at, k, "\"%s\": bad name after "
					    "'#': %s", s, err);
					bad = 1;
				}
				free(name);
			}
			continue;
		}
		if (scheme_end != NULL) {
			bad_value(at, k, "\"%s\": unsupported scheme \"%.*s\" "
			    "(only tls:// is supported)", s,
			    (int)(scheme_end - s), s);
			bad = 1;
			continue;
		}
		if (addr_parse(s, DNS_PORT, &a, &err) == -1) {
			bad_value(at, k, "\"%s\": %s", s, err);
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

