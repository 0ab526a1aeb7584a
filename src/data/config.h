/*
 * config: the INI configuration (parsed with inih) as a struct config.
 *
 * config_load() reads a file, applies every default, checks every key and
 * value against the key table, runs the cross-key checks, and reports each
 * problem as "file:line: message" in a struct diag.  A config is immutable
 * once loaded; a reload loads a new one.
 *
 * The key table (config_keys) is also what check-config and the pldns.ini(5)
 * man page are generated from, so documentation cannot drift from the parser.
 */
#ifndef PLDNS_CONFIG_H
#define PLDNS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"
#include "util/diag.h"

enum missing_policy { MISSING_NXDOMAIN, MISSING_FALLBACK };
enum refuse_action { REFUSE_REFUSE, REFUSE_DROP };

/* [forward "NAME"] */
struct forward_conf {
	char *name;		/* lower-case, no trailing dot */
	struct pl_addr *servers;
	size_t nservers;
	char *where;		/* "file:line" of the section header */
};

/* [zone "NAME"] */
struct zone_conf {
	char *name;		/* lower-case, no trailing dot */
	char *file;		/* zone file, absolute or relative to the config dir resolved; NULL when none;
				 * for a secondary zone, its file in state_dir once it exists */
	char **twins;		/* public twin suffixes given with twin = (NULL terminated), or NULL
				 * when twin is absent ("twin =" gives an empty array) */
	size_t ntwins;
	int missing;		/* -1 unset, else enum missing_policy */
	int multi;		/* -1 unset, 0 no, 1 yes */
	char *where;		/* "file:line" of the section header */

	/* Zone transfers (RFC 5936, 1995, 1996, 8945). */
	struct pl_cidr *allow_transfer;	/* clients that may AXFR/IXFR; NULL/0: none */
	size_t nallow_transfer;
	struct pl_addr *notify;	/* sent a NOTIFY when the serial changes */
	size_t nnotify;
	struct pl_addr *primaries;	/* secondary zone: pulled from these, in order */
	size_t nprimaries;	/* 0: not a secondary zone */
	char *key;		/* TSIG key name ([key] section), NULL when none */
};

/* TSIG algorithms, in the order of the algorithm key's values. */
enum key_algorithm {
	KEY_HMAC_SHA256, KEY_HMAC_SHA1, KEY_HMAC_SHA224, KEY_HMAC_SHA384,
	KEY_HMAC_SHA512
};

/* [key "NAME"]: a TSIG key. */
struct key_conf {
	char *name;		/* lower-case, no trailing dot */
	int algorithm;		/* enum key_algorithm */
	char *secret;		/* base64 as written */
	uint8_t *secret_bin;	/* decoded */
	size_t secret_len;
	char *where;		/* "file:line" of the section header */
};

/* [azure "NAME"]: an identity whose records pldns syncs from Azure. */
enum azure_auth { AZ_AUTH_ARC, AZ_AUTH_SECRET, AZ_AUTH_CERTIFICATE,
	AZ_AUTH_FEDERATED, AZ_AUTH_VM };
enum azure_cloud { AZ_CLOUD_PUBLIC, AZ_CLOUD_USGOV, AZ_CLOUD_CHINA };
#define AZ_READ_ZONES		0x01	/* private DNS zones' record sets */
#define AZ_READ_ENDPOINTS	0x02	/* private endpoints' DNS configs, zone groups */

struct azure_conf {
	char *name;		/* lower-case */
	int auth;		/* enum azure_auth */
	char *tenant;		/* NULL when not given */
	char *client_id;
	char *secret_file;	/* absolute paths, NULL when not given */
	char *certificate_file;
	char *token_file;
	char **subscriptions;	/* lower-case GUIDs, or { "all" } (NULL terminated) */
	size_t nsubscriptions;
	char **read;		/* as written; see read_mask */
	size_t nread;
	unsigned read_mask;	/* AZ_READ_* */
	unsigned interval;	/* seconds between syncs */
	int cloud;		/* enum azure_cloud */
	char *management_url;	/* without a trailing '/'; the cloud's when not given */
	char *login_url;
	char *identity_url;
	char *identity_key_dir;
	char *ca_file;		/* NULL: the system's store */
	char *proxy;		/* NULL: from the environment; "": none */
	char *where;		/* "file:line" of the section header */
};

struct config {
	char *path;		/* as given */
	char *dir;		/* directory of path: base for relative paths */

	/* [server] */
	struct pl_addr *listen;
	size_t nlisten;
	int workers;		/* 0 = auto */
	unsigned tcp_idle_ms;	/* default 10000 */
	unsigned tcp_max_conns;	/* default 256 */
	unsigned tcp_max_per_client;	/* default 32 */
	unsigned tcp_max_queries;	/* per connection, default 0 = unlimited */
	char *user;		/* NULL: "pldns" when that user exists */
	struct pl_cidr *allow;	/* default: loopback + private ranges */
	size_t nallow;
	struct pl_cidr *allow_forward;	/* NULL/0: every allowed client may use forwarding */
	size_t nallow_forward;
	int refuse_action;	/* enum refuse_action */
	unsigned rrl_rate;	/* responses per second per /24 or /56; 0 = off */
	unsigned rrl_slip;	/* default 2 */
	char **cookie_secret;	/* hex secrets for server cookies, NULL terminated */
	size_t ncookie_secret;	/* 0: a random secret per process */
	char *state_dir;	/* secondary zones' files; default <dir>/secondary
				 * (NULL in config_new()) */

	/* [upstream] */
	char **upstream_specs;	/* raw server strings as written (for tls:// etc.), NULL terminated */
	size_t nupstream_specs;	/* entries of upstream_specs; 0 when servers was not given */
	struct pl_addr *upstreams;	/* plain UDP/TCP upstreams; default from /etc/resolv.conf */
	size_t nupstreams;
	unsigned timeout_ms;	/* first and largest RTO, default 1000 */
	unsigned deadline_ms;	/* whole query, default 2800 */
	unsigned max_inflight;	/* per upstream, default 1000 */
	char *tls_ca_file;	/* CA bundle for DNS over TLS; NULL: system store */
	bool case_randomization;	/* 0x20 on upstream questions, default no */
	bool cookies;		/* DNS cookies towards upstreams, default yes */
	bool upstreams_from_resolv_conf;	/* servers absent: upstreams came from resolv.conf */
	bool trust_ad;		/* pass the upstreams' AD bit on, default no */

	/* [cache] */
	size_t cache_size;	/* bytes, default 64M; "64M", "1G", "0" disables */
	uint32_t cache_min_ttl, cache_max_ttl;	/* default 0 and 86400 */
	bool serve_stale;	/* default yes */
	bool prefetch;		/* refresh popular entries near expiry, default yes */
	unsigned stale_client_timeout_ms;	/* RFC 8767 client response timer, default 1000 */

	/* [records] */
	char **sources;		/* resolved paths, each maybe prefixed "csv:" etc. (NULL terminated) */
	size_t nsources;
	char **source_dirs;	/* directories among the sources, as "DIR/" (NULL terminated) */
	size_t nsource_dirs;
	uint32_t record_ttl;	/* default 10 */
	bool allow_public;	/* default no */
	bool strict;		/* default yes */
	int missing;		/* enum missing_policy, default MISSING_NXDOMAIN */
	bool allow_empty;	/* a source without records is accepted, default no */
	unsigned max_drop;	/* percent of records a reload may remove, default 10 */

	/* [log] */
	int log_level;		/* 0 err, 1 warn, 2 info, 3 debug; default 2 */
	bool query_log;

	/* [control] */
	char *control_listen;	/* default "127.0.0.1:8053"; "" disables ("none" is stored as "") */
	struct pl_addr control_addr;	/* control_listen parsed (port 8053 when none); unset when "" */
	char *token_file;

	/* [doctor] */
	struct pl_cidr *expect_subnets;	/* pldns doctor: addresses expected inside; NULL/0: any private */
	size_t nexpect_subnets;

	struct forward_conf *forwards;
	size_t nforwards;
	struct zone_conf *zones;
	size_t nzones;
	struct key_conf *keys;
	size_t nkeys;

	unsigned long *lines;	/* per config_keys[] entry: the line a key of a
				 * global section was given on, 0 when not given
				 * (NULL in config_new()); see config_line() */
	struct azure_conf *azures;
	size_t nazures;
};

/* Value types of the key table. */
enum config_type {
	CT_BOOL, CT_UINT, CT_SIZE, CT_STRING, CT_PATH, CT_ADDRLIST, CT_CIDRLIST,
	CT_PATHLIST, CT_ENUM, CT_STRLIST
};

struct config_key {
	const char *section;	/* "server", "upstream", "forward", "zone", "key", ... */
	const char *name;
	enum config_type type;
	const char *def;	/* default as the man page shows it */
	const char *help;	/* one sentence for the man page */

	/* How config.c parses and stores the key (also useful to the man page). */
	const char *values;	/* CT_ENUM: accepted words in enum order, "|"-separated */
	unsigned long min, max;	/* CT_UINT: accepted range */
	unsigned flags;		/* CK_* */
	size_t off, size;	/* the member in struct config, forward_conf, zone_conf,
				 * key_conf or azure_conf */
	size_t count_off;	/* lists: the member holding the count */
};

#define CK_REQUIRED	0x01	/* a [forward]/[zone]/[key] section must give it */
#define CK_AUTO		0x02	/* CT_UINT also takes "auto", stored as 0 */
#define CK_UNSET	0x04	/* absent means unset (NULL / -1); def describes that in words */
#define CK_NONE		0x08	/* CT_STRING also takes "none", stored as "" */
#define CK_READ		0x10	/* CT_PATH/CT_PATHLIST: the file must be readable when loading */
#define CK_DOMAIN	0x20	/* CT_STRLIST: each entry a domain name (lower-cased, no trailing dot) */
#define CK_SPACES	0x40	/* lists: entries may be separated by white space too */
#define CK_NONEMPTY	0x80	/* lists: an empty list is an error */
#define CK_SECRET	0x100	/* CT_STRLIST: each entry a cookie secret (cookie.h) */

/* The key table, terminated by an entry whose section is NULL. */
extern const struct config_key config_keys[];

/*
 * Loads PATH.  Returns a config, or NULL when there was any error; every
 * problem (errors and warnings) is added to D.  Missing files named by the
 * config (zone files, sources) are errors.  Caller frees with config_free().
 */
struct config *config_load(const char *path, struct diag *d);

/*
 * The resolv.conf that config_load() takes default upstream servers from:
 * PATH, or when PATH is NULL the environment variable PLDNS_RESOLV_CONF, or
 * else /etc/resolv.conf.  PATH is copied.  For tests and tools; the same
 * as resolvconf_set_path() (resolvconf.h), which every reader follows.
 */
void config_set_resolv_conf(const char *path);

/* A config with every default and no file (for tests). */
struct config *config_new(void);

void config_free(struct config *cfg);

/* The zone_conf for NAME (lower-case, no trailing dot), or NULL. */
const struct zone_conf *config_zone(const struct config *cfg, const char *name);

/* The azure_conf for NAME (lower-case), or NULL. */
const struct azure_conf *config_azure(const struct config *cfg, const char *name);

/* The key_conf for NAME (lower-case, no trailing dot), or NULL. */
const struct key_conf *config_key(const struct config *cfg, const char *name);

/*
 * The file a secondary zone (one with primary =) is kept in:
 * <state_dir>/<name>.zone.  Caller frees.  The zone's file member is set to
 * it by config_load() when that file exists, so that records_load() serves
 * what was last transferred; otherwise the zone is empty until its first
 * transfer.
 */
char *config_secondary_file(const struct config *cfg, const struct zone_conf *z);

/*
 * The line of CFG's file that gave the key NAME of the global SECTION
 * ("server", "control", ...), or 0 when the key was not given (its default
 * is in force) or CFG has no file.  For problems found after loading.
 */
unsigned long config_line(const struct config *cfg, const char *section,
    const char *name);

/*
 * The format prefix ("csv:", "json:", "hosts:", "zone:") that a file named
 * NAME in a [records] sources directory is read with, from its extension;
 * NULL for a name that is not loaded (hidden, another extension).
 */
const char *config_dir_source_prefix(const char *name);

#endif
