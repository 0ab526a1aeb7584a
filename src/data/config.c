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
 *
 * This file loads: lines, sections, keys, defaults and the checks that span
 * keys.  A key's value is parsed and stored by config_value.c
 * (config_int.h); the default upstreams come from resolv.conf through
 * resolvconf.c.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "data/config_int.h"
#include "util/resolvconf.h"
#include "util/util.h"

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

struct parse {
	struct config_at at;	/* the file, its config, the current line */
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
	void *sect_base;	/* struct config, or an entry of a named section */
	const struct named_kind *named;	/* a named section's kind, else NULL */
	void *scratch;		/* a named section not kept (a bad or repeated
				 * name): its keys are checked, then dropped */

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
};

static void forward_free(void *entry);
static void zone_free(void *entry);
static void key_free(void *entry);
static void azure_free(void *entry);

/*
 * The sections that carry a name ([forward "x"], ...): struct config keeps
 * each kind in an array of entries, each with a name and a "file:line".
 */
static const struct named_kind {
	enum sect sect;
	const char *word;
	size_t list_off, count_off;	/* the array and its count in struct config */
	size_t size;			/* of an entry */
	size_t name_off, where_off;	/* its char * members name and where */
	void (*clear)(void *);		/* frees what an entry holds */
} named_kinds[] = {
#define NAMED(sect, word, list, count, type, clear) { sect, word, \
	offsetof(struct config, list), offsetof(struct config, count), \
	sizeof(type), offsetof(type, name), offsetof(type, where), clear }
	NAMED(SEC_FORWARD, "forward", forwards, nforwards, struct forward_conf,
	    forward_free),
	NAMED(SEC_ZONE, "zone", zones, nzones, struct zone_conf, zone_free),
	NAMED(SEC_KEY, "key", keys, nkeys, struct key_conf, key_free),
	NAMED(SEC_AZURE, "azure", azures, nazures, struct azure_conf, azure_free),
#undef NAMED
};

/* An error at LINE of the file P loads. */
#define perr(p, line, ...)	config_error(&(p)->at, line, __VA_ARGS__)

void
config_error(const struct config_at *at, unsigned long line, const char *fmt,
    ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	(void)xvasprintf(&msg, fmt, ap);
	va_end(ap);
	diag_add(at->d, DIAG_ERROR, at->file, line, "%s", msg);
	free(msg);
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

	xasprintf(&w, "%s:%lu", p->at.file, line);
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
	if (p->named != NULL) {
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
	if (p->sect == SEC_AZURE)
		azure_section_end(p, p->sect_base);
	if (p->scratch != NULL) {
		p->named->clear(p->scratch);
		free(p->scratch);
		p->scratch = NULL;
	}
	free(p->sect_disp);
	p->sect_disp = NULL;
	p->sect = SEC_NONE;
	p->sect_base = NULL;
	p->named = NULL;
}

/* NK's array in CFG (NULL when empty). */
static char *
named_list(const struct config *cfg, const struct named_kind *nk)
{
	char *list;

	memcpy(&list, (const char *)cfg + nk->list_off, sizeof(list));
	return list;
}

/* Entry I of NK's array in CFG. */
static char *
named_entry(const struct config *cfg, const struct named_kind *nk, size_t i)
{
	return named_list(cfg, nk) + i * nk->size;
}

static size_t *
named_count(struct config *cfg, const struct named_kind *nk)
{
	return (size_t *)(void *)((char *)cfg + nk->count_off);
}

/* The char * member at OFF of ENTRY. */
static char **
entry_str(char *entry, size_t off)
{
	return (char **)(void *)(entry + off);
}

/* A new entry at the end of NK's array in CFG (not zeroed). */
static char *
named_append(struct config *cfg, const struct named_kind *nk)
{
	size_t *n = named_count(cfg, nk);
	char *list = xreallocarray(named_list(cfg, nk), *n + 1, nk->size);

	memcpy((char *)cfg + nk->list_off, &list, sizeof(list));
	return list + (*n)++ * nk->size;
}

/* Whether a section of kind NK named NAME was given before; *LINE: where. */
static bool
find_named(struct parse *p, const struct named_kind *nk, const char *name,
    unsigned long *line)
{
	struct config *cfg = p->at.cfg;

	for (size_t i = 0; i < *named_count(cfg, nk); i++) {
		char *e = named_entry(cfg, nk, i);
		const char *where = *entry_str(e, nk->where_off), *colon;

		if (strcmp(*entry_str(e, nk->name_off), name) == 0) {
			colon = strrchr(where, ':');
			*line = colon ? strtoul(colon + 1, NULL, 10) : 0;
			return true;
		}
	}
	return false;
}

/* Opens a section of kind NK named RAW (as written between the quotes). */
static void
open_named(struct parse *p, const struct named_kind *nk, const char *raw)
{
	const char *err;
	char *name = config_name_normalize(raw, &err), *e;
	unsigned long first = 0;
	bool scratch = false;

	if (name == NULL) {
		perr(p, p->lineno, "bad name in %s: %s", p->sect_disp, err);
		scratch = true;
	} else if (find_named(p, nk, name, &first)) {
		perr(p, p->lineno, "duplicate section %s (first on line %lu)",
		    p->sect_disp, first);
		scratch = true;
	}
	e = scratch ? p->scratch = xcalloc(1, nk->size) :
	    named_append(p->at.cfg, nk);
	memset(e, 0, nk->size);
	*entry_str(e, nk->name_off) = name ? name : xstrdup(raw);
	*entry_str(e, nk->where_off) = where_str(p, p->lineno);
	if (nk->sect == SEC_ZONE) {
		struct zone_conf *z = (struct zone_conf *)(void *)e;

		z->missing = -1;
		z->multi = -1;
	} else if (nk->sect == SEC_KEY)
		((struct key_conf *)(void *)e)->algorithm = KEY_HMAC_SHA256;
	p->sect_base = e;
	p->sect = nk->sect;
	p->named = nk;
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

	for (size_t i = 0; i < nitems(named_kinds); i++) {
		const char *canon = named_kinds[i].word;
		size_t rlen = strlen(rest);

		if (str_casecmp(word, canon) != 0)
			continue;
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
			open_named(p, &named_kinds[i], rest + 1);
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
			p->sect_base = p->at.cfg;
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
	struct config_value v;
	unsigned long *seen;
	size_t ki;

	(void)section;		/* tracked by section_begin() */
	p->handled = true;
	p->at.line = p->lineno;
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

	if (config_is_key(k, "upstream", "servers")) {
		if (config_upstreams_parse(&p->at, k, value) == -1)
			p->global_bad[ki] = true;
		return 1;
	}
	if (config_value_parse(&p->at, k, value, &v) == -1) {
		if (p->sect == SEC_GLOBAL)
			p->global_bad[ki] = true;
		return 1;
	}
	if (config_is_key(k, "zone", "key") && v.s != NULL) {
		p->keyrefs = xreallocarray(p->keyrefs, p->nkeyrefs + 1,
		    sizeof(*p->keyrefs));
		p->keyrefs[p->nkeyrefs].key = xstrdup(v.s);
		p->keyrefs[p->nkeyrefs++].line = p->lineno;
	}
	config_value_store(p->sect_base, k, &v);
	if (config_is_key(k, "key", "secret")) {
		struct key_conf *kc = p->sect_base;
		ssize_t n;

		free(kc->secret_bin);
		kc->secret_bin = xmalloc(strlen(kc->secret) + 1);
		n = config_base64_decode(kc->secret, kc->secret_bin);
		kc->secret_len = n > 0 ? (size_t)n : 0;
	}
	return 1;
}

/* ---- defaults and checks ---- */

static void
parse_init(struct parse *p, struct config *cfg, struct diag *d, const char *file)
{
	memset(p, 0, sizeof(*p));
	p->at.cfg = cfg;
	p->at.d = d;
	p->at.file = file;
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
		struct config_value v;

		if (strcmp(k->section, "forward") == 0 ||
		    strcmp(k->section, "zone") == 0 ||
		    strcmp(k->section, "key") == 0 ||
		    strcmp(k->section, "azure") == 0 ||
		    k->def == NULL || (k->flags & CK_UNSET))
			continue;
		if (config_value_parse(&p.at, k, k->def, &v) == -1) {
			/* The key table is wrong: a test catches this. */
			diag_print(&d, stderr);
			abort();
		}
		config_value_store(cfg, k, &v);
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
	struct config *cfg = p->at.cfg;
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
		if (config_readable(f))
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
forward_free(void *entry)
{
	struct forward_conf *f = entry;

	free(f->name);
	free(f->servers);
	free(f->where);
}

static void
zone_free(void *entry)
{
	struct zone_conf *z = entry;

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
azure_free(void *entry)
{
	struct azure_conf *a = entry;

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
key_free(void *entry)
{
	struct key_conf *k = entry;

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
	for (size_t k = 0; k < nitems(named_kinds); k++) {
		const struct named_kind *nk = &named_kinds[k];

		for (size_t i = 0; i < *named_count(cfg, nk); i++)
			nk->clear(named_entry(cfg, nk, i));
		free(named_list(cfg, nk));
	}
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
