/*
 * azure_sync: reading Azure Resource Manager (see azure_sync.h).  This
 * file: one whole sync (blocking) and the differences between two.  The
 * store it fills is azure_store.c; the daemon's thread and timers are in
 * azure_sync_run.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sync/azure_arm.h"
#include "sync/azure_auth.h"
#include "sync/azure_sync.h"
#include "data/azure_zones.h"
#include "sync/http.h"
#include "util/util.h"

#define API_DNS		"2024-06-01"	/* Microsoft.Network/privateDnsZones */
#define API_NET		"2025-09-01"	/* Microsoft.Network/privateEndpoints */
#define API_SUBS	"2022-12-01"	/* GET /subscriptions */

#define CONNECT_MS	10000
#define REQUEST_MS	60000
#define PAGES_MAX	100000		/* per list: a bound, far above any real one */
#define TRIES_5XX	4		/* 5xx and network errors */
#define TRIES_429	6
#define BACKOFF_MS	500		/* first back-off; doubles, with jitter */
#define RETRY_AFTER_MAX	120		/* seconds: longer is not waited for */
#define TOKEN_MARGIN	300		/* seconds before expiry: renewed */

#define fail pl_errf

/* ---- one sync ---- */

void
azure_token_clear(struct azure_token *t)
{
	secret_free(t->value);
	t->value = NULL;
	t->renew_ms = 0;
}

struct arm {
	const struct config *cfg;
	const struct azure_conf *az;
	struct azure_token *tok;
	struct http_opts h;
	struct azure_fetch_stats *st;
	const atomic_int *stop;
	char *err;
	size_t errlen;
	json_t *data;
};

static bool
stopped(const struct arm *a)
{
	return a->stop != NULL && atomic_load(a->stop);
}

/* Sleeps MS milliseconds, or less when told to stop. */
static void
nap(const struct arm *a, uint64_t ms)
{
	uint64_t end = now_ms() + ms;

	while (!stopped(a) && now_ms() < end) {
		uint64_t left = end - now_ms();
		struct timespec ts = { 0, (long)(left > 100 ? 100 : left) * 1000000L };

		nanosleep(&ts, NULL);
	}
}

/* The back-off before try TRY (1, 2, ...): doubling, with jitter. */
static uint64_t
backoff_ms(int try)
{
	uint64_t base = (uint64_t)BACKOFF_MS << (try - 1);

	return base / 2 + random_u32() % (base + 1);
}

/* The path of URL for messages: no host, no query (nothing secret there,
 * but shorter). */
static const char *
url_path(const struct arm *a, const char *url, char *buf, size_t len)
{
	size_t ml = strlen(a->az->management_url);
	const char *p = strncmp(url, a->az->management_url, ml) == 0 ?
	    url + ml : url;

	snprintf(buf, len, "%.*s", (int)strcspn(p, "?"), p);
	return buf;
}

static int
token(struct arm *a)
{
	char *t;
	long secs;
	char why[768];

	if (a->tok->value != NULL && now_ms() < a->tok->renew_ms)
		return 0;
	azure_token_clear(a->tok);
	a->st->requests++;
	if (azure_auth_get(a->az, &a->h, &t, &secs, why, sizeof(why)) == -1)
		return fail(a->err, a->errlen, "no token: %s", why);
	/* Kept for up to an hour: out of core dumps. */
	a->tok->value = secret_strdup(t);
	explicit_bzero(t, strlen(t));
	free(t);
	/* Renewed before it runs out; a short-lived one at half its life. */
	a->tok->renew_ms = now_ms() + (uint64_t)(secs > 2 * TOKEN_MARGIN ?
	    secs - TOKEN_MARGIN : secs / 2) * 1000;
	return 0;
}

/* What a refused read means, for the operator. */
static const char *
permission_hint(const char *path)
{
	if (strstr(path, "/privateEndpoints") != NULL)
		return "give the identity Reader on the subscription, or a role "
		    "with Microsoft.Network/privateEndpoints/read and "
		    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups/read";
	if (strstr(path, "/privateDnsZones") != NULL)
		return "give the identity Reader on the subscription or on the "
		    "private DNS zones (Microsoft.Network/privateDnsZones/read "
		    "and Microsoft.Network/privateDnsZones/*/read)";
	return "give the identity Reader on the subscription";
}

/* GETs URL from ARM: 200 with its body in *R, or -1 (a->err). */
static int
arm_get(struct arm *a, const char *url, struct http_resp *r)
{
	char auth[8192], path[1024], why[512];
	const char *hdrs[3] = { auth, "Accept: application/json", NULL };
	int tries = 0, tries429 = 0;
	bool renewed = false;

	url_path(a, url, path, sizeof(path));
	for (;;) {
		bool stop = stopped(a);

		/* AUTH may hold the token of the try before. */
		if (stop || token(a) == -1) {
			explicit_bzero(auth, sizeof(auth));
			return stop ? fail(a->err, a->errlen, "stopped") : -1;
		}
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    a->tok->value);
		a->st->requests++;
		if (http_request(&a->h, "GET", url, hdrs, NULL, r) == -1) {
			if (++tries < TRIES_5XX) {
				http_resp_clear(r);
				nap(a, backoff_ms(tries));
				continue;
			}
			fail(a->err, a->errlen, "GET %s: cannot reach %s: %s", path,
			    a->az->management_url, r->err);
			break;
		}
		if (r->status == 200) {
			explicit_bzero(auth, sizeof(auth));
			return 0;
		}
		arm_error_text(r->body, r->len, why, sizeof(why));
		if (r->status == 401 && !renewed) {
			/* Revoked or expired early: one new token. */
			renewed = true;
			azure_token_clear(a->tok);
			http_resp_clear(r);
			continue;
		}
		if (r->status == 429 && ++tries429 < TRIES_429) {
			long s = r->retry_after >= 0 ? r->retry_after : 10;

			http_resp_clear(r);
			nap(a, (uint64_t)(s > RETRY_AFTER_MAX ? RETRY_AFTER_MAX :
			    s) * 1000 + random_u32() % 250);
			continue;
		}
		if (r->status >= 500 && ++tries < TRIES_5XX) {
			http_resp_clear(r);
			nap(a, backoff_ms(tries));
			continue;
		}
		if (r->status == 401)
			fail(a->err, a->errlen, "GET %s: 401: the token is not "
			    "accepted%s%s", path, why[0] ? ": " : "", why);
		else if (r->status == 403)
			fail(a->err, a->errlen, "GET %s: 403: permission missing: "
			    "%s%s%s", path, permission_hint(path), why[0] ? ": " :
			    "", why);
		else if (r->status == 404 && strncmp(path, "/subscriptions/", 15) == 0)
			fail(a->err, a->errlen, "GET %s: 404: subscription %.36s "
			    "not found, or not visible to the identity%s%s", path,
			    path + 15, why[0] ? ": " : "", why);
		else if (r->status == 429)
			fail(a->err, a->errlen, "GET %s: 429: throttled by Azure "
			    "%d times in a row", path, tries429);
		else
			fail(a->err, a->errlen, "GET %s: %ld%s%s%s", path, r->status,
			    r->status >= 500 ? " (after retries)" : "",
			    why[0] ? ": " : "", why);
		break;
	}
	explicit_bzero(auth, sizeof(auth));
	http_resp_clear(r);
	return -1;
}

typedef int (*item_fn)(struct arm *a, json_t *item, void *arg);

/*
 * Every item of the list at URL, page after page.  nextLink is followed
 * exactly as given (Azure's own links are not always what one would
 * build), but only on management_url, where the token may go, and never
 * twice to one link.
 */
static int
arm_list(struct arm *a, const char *url, item_fn each, void *arg)
{
	char **seen = NULL, path[1024], why[512];
	size_t nseen = 0, ml = strlen(a->az->management_url);
	char *next = xstrdup(url);
	int rc = 0;

	while (next != NULL) {
		struct http_resp r;
		json_t *root, *value, *item;
		const char *nl;
		size_t i;

		for (size_t k = 0; k < nseen; k++)
			if (strcmp(seen[k], next) == 0) {
				rc = fail(a->err, a->errlen, "GET %s: nextLink loop: "
				    "page %zu links back to page %zu", url_path(a,
				    url, path, sizeof(path)), nseen, k + 1);
				goto done;
			}
		if (nseen == PAGES_MAX) {
			rc = fail(a->err, a->errlen, "GET %s: more than %d pages",
			    url_path(a, url, path, sizeof(path)), PAGES_MAX);
			goto done;
		}
		if (strncmp(next, a->az->management_url, ml) != 0 ||
		    next[ml] != '/') {
			rc = fail(a->err, a->errlen, "GET %s: nextLink %.200s is not "
			    "on %s: not followed", url_path(a, url, path,
			    sizeof(path)), next, a->az->management_url);
			goto done;
		}
		seen = xreallocarray(seen, nseen + 1, sizeof(*seen));
		seen[nseen++] = next;
		next = NULL;
		if (arm_get(a, seen[nseen - 1], &r) == -1) {
			rc = -1;
			goto done;
		}
		if (arm_page_parse(r.body, r.len, &root, &value, &nl, why,
		    sizeof(why)) == -1) {
			rc = fail(a->err, a->errlen, "GET %s: %s", url_path(a,
			    seen[nseen - 1], path, sizeof(path)), why);
			http_resp_clear(&r);
			goto done;
		}
		http_resp_clear(&r);
		json_array_foreach(value, i, item) {
			if (each(a, item, arg) == -1) {
				rc = -1;
				break;
			}
		}
		if (rc == 0 && nl != NULL)
			next = xstrdup(nl);
		json_decref(root);
		if (rc == -1)
			goto done;
	}
done:
	for (size_t k = 0; k < nseen; k++)
		free(seen[k]);
	free(seen);
	free(next);
	return rc;
}

/* Appends S to the array ARR unless it is there. */
static void
add_unique(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return;
	json_array_append_new(arr, json_string(s));
}

static int
sub_cb(struct arm *a, json_t *item, void *arg)
{
	const char *id;
	char why[256];

	if (arm_subscription_item(item, &id, why, sizeof(why)) == -1)
		return fail(a->err, a->errlen, "GET /subscriptions: %s", why);
	add_unique(arg, id);
	return 0;
}

static int
zone_cb(struct arm *a, json_t *item, void *arg)
{
	const char *id;
	char name[512], why[512];

	if (arm_zone_item(item, &id, name, sizeof(name), why, sizeof(why)) == -1)
		return fail(a->err, a->errlen, "private DNS zones: %s", why);
	/* Only zones pldns answers for: the table's and the configured. */
	if (azure_zone_wanted(a->cfg, name))
		json_array_append_new(arg, json_pack("{s:s, s:s}", "id", id,
		    "name", name));
	return 0;
}

struct zone_ctx {
	const char *name;
	const char *id;
	bool fallback;
};

static int
rrset_cb(struct arm *a, json_t *item, void *arg)
{
	struct zone_ctx *z = arg;
	json_t *set;
	char why[768];

	if (arm_recordset(item, z->name, z->id, &set, why, sizeof(why)) == -1)
		return fail(a->err, a->errlen, "zone %s: %s", z->name, why);
	if (set != NULL) {
		json_array_append_new(json_object_get(a->data, "sets"), set);
		a->st->sets++;
	}
	return 0;
}

static int
link_cb(struct arm *a, json_t *item, void *arg)
{
	struct zone_ctx *z = arg;
	bool fb;
	char why[256];

	if (arm_link_fallback(item, &fb, why, sizeof(why)) == -1)
		return fail(a->err, a->errlen, "zone %s: %s", z->name, why);
	z->fallback |= fb;
	return 0;
}

static bool
known_cb(const char *zone, void *arg)
{
	return azure_zone_wanted(arg, zone);
}

static int
group_cb(struct arm *a, json_t *item, void *arg)
{
	json_t *sets = json_object_get(a->data, "sets");
	size_t before = json_array_size(sets);
	char why[768];

	if (arm_zone_group(item, sets, known_cb, (void *)a->cfg, why,
	    sizeof(why)) == -1)
		return fail(a->err, a->errlen, "%s", why);
	a->st->sets += (unsigned)(json_array_size(sets) - before);
	return 0;
}

static int
endpoint_cb(struct arm *a, json_t *item, void *arg)
{
	json_t *sets = json_object_get(a->data, "sets");
	size_t before = json_array_size(sets);
	const char *id;
	char why[768];

	if (arm_endpoint(item, sets, &id, why, sizeof(why)) == -1)
		return fail(a->err, a->errlen, "%s", why);
	a->st->sets += (unsigned)(json_array_size(sets) - before);
	json_array_append_new(arg, json_string(id));
	return 0;
}

/* arm_list() of the URL formatted from FMT. */
static int list_at(struct arm *a, item_fn each, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
list_at(struct arm *a, item_fn each, void *arg, const char *fmt, ...)
{
	va_list ap;
	char *url;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&url, fmt, ap) < 0)
		abort();
	va_end(ap);
	rc = arm_list(a, url, each, arg);
	free(url);
	return rc;
}

static int
sync_zones(struct arm *a, const char *sub)
{
	const char *mgmt = a->az->management_url;
	json_t *zones = json_array(), *z;
	size_t i;
	int rc;

	rc = list_at(a, zone_cb, zones, "%s/subscriptions/%s/providers/"
	    "Microsoft.Network/privateDnsZones?api-version=" API_DNS, mgmt, sub);
	json_array_foreach(zones, i, z) {
		struct zone_ctx zc = {
			.name = json_string_value(json_object_get(z, "name")),
			.id = json_string_value(json_object_get(z, "id")),
		};

		if (rc == -1 || (rc = list_at(a, rrset_cb, &zc, "%s%s/ALL?"
		    "api-version=" API_DNS, mgmt, zc.id)) == -1 ||
		    (rc = list_at(a, link_cb, &zc, "%s%s/virtualNetworkLinks?"
		    "api-version=" API_DNS, mgmt, zc.id)) == -1)
			break;
		add_unique(json_object_get(a->data, "zones"), zc.name);
		if (zc.fallback)
			add_unique(json_object_get(a->data, "fallback"), zc.name);
		a->st->zones++;
	}
	json_decref(zones);
	return rc;
}

static int
sync_endpoints(struct arm *a, const char *sub)
{
	const char *mgmt = a->az->management_url;
	json_t *ids = json_array(), *id;
	size_t i;
	int rc;

	rc = list_at(a, endpoint_cb, ids, "%s/subscriptions/%s/providers/"
	    "Microsoft.Network/privateEndpoints?api-version=" API_NET, mgmt, sub);
	json_array_foreach(ids, i, id) {
		if (rc == -1)
			break;
		rc = list_at(a, group_cb, NULL, "%s%s/privateDnsZoneGroups?"
		    "api-version=" API_NET, mgmt, json_string_value(id));
	}
	json_decref(ids);
	return rc;
}

int
azure_sync_fetch(const struct config *cfg, const struct azure_conf *az,
    struct azure_token *tok, const atomic_int *stop, json_t **data,
    struct azure_fetch_stats *st, char *err, size_t errlen)
{
	struct arm a = {
		.cfg = cfg, .az = az, .tok = tok, .st = st, .stop = stop,
		.err = err, .errlen = errlen,
		.h = { .ca_file = az->ca_file, .proxy = az->proxy,
		    .connect_ms = CONNECT_MS, .total_ms = REQUEST_MS, .stop = stop },
	};
	json_t *subs = json_array(), *sub;
	size_t i;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	*data = NULL;
	a.data = json_pack("{s:[], s:[], s:[]}", "zones", "fallback", "sets");
	if (az->nsubscriptions == 1 && strcmp(az->subscriptions[0], "all") == 0)
		rc = list_at(&a, sub_cb, subs, "%s/subscriptions?api-version="
		    API_SUBS, az->management_url);
	else
		for (i = 0; i < az->nsubscriptions; i++)
			add_unique(subs, az->subscriptions[i]);
	json_array_foreach(subs, i, sub) {
		if (rc == -1)
			break;
		if (az->read_mask & AZ_READ_ZONES)
			rc = sync_zones(&a, json_string_value(sub));
		if (rc == 0 && (az->read_mask & AZ_READ_ENDPOINTS))
			rc = sync_endpoints(&a, json_string_value(sub));
	}
	json_decref(subs);
	http_opts_clear(&a.h);
	if (rc == -1) {
		json_decref(a.data);
		return -1;
	}
	arm_sets_sort(json_object_get(a.data, "sets"));
	*data = a.data;
	return 0;
}

/* ---- differences ---- */

struct rec_line {
	const char *name, *type, *value;
};

static int
line_cmp(const void *x, const void *y)
{
	const struct rec_line *a = x, *b = y;
	int c;

	if ((c = strcmp(a->name, b->name)) != 0)
		return c;
	if ((c = strcmp(a->type, b->type)) != 0)
		return c;
	return strcmp(a->value, b->value);
}

/* Every record of DATA, sorted, repeats dropped. */
static struct rec_line *
flatten(json_t *data, size_t *n)
{
	struct rec_line *v = NULL;
	size_t cap = 0, k = 0, i, j;
	json_t *s, *x;

	*n = 0;
	json_array_foreach(json_object_get(data, "sets"), i, s) {
		json_array_foreach(json_object_get(s, "data"), j, x) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[*n].name = json_string_value(json_object_get(s, "name"));
			v[*n].type = json_string_value(json_object_get(s, "type"));
			v[(*n)++].value = json_string_value(x);
		}
	}
	if (*n > 1)
		qsort(v, *n, sizeof(*v), line_cmp);
	for (i = 0; i < *n; i++)
		if (k == 0 || line_cmp(&v[k - 1], &v[i]) != 0)
			v[k++] = v[i];
	*n = k;
	return v;
}

static bool
same_key(const struct rec_line *a, const struct rec_line *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->type, b->type) == 0;
}

size_t
azure_sync_diff(json_t *old, json_t *new, FILE *f)
{
	size_t no, nn, i = 0, j = 0, lines = 0;
	struct rec_line *o = flatten(old, &no), *n = flatten(new, &nn);

	/* A merge of the two sorted lists, one name and type at a time. */
	while (i < no || j < nn) {
		const struct rec_line *key = i < no && (j >= nn ||
		    line_cmp(&o[i], &n[j]) <= 0) ? &o[i] : &n[j];
		size_t i1 = i, j1 = j, ri = 0, rj = 0;
		const struct rec_line *gone = NULL, *came = NULL;

		while (i1 < no && same_key(&o[i1], key))
			i1++;
		while (j1 < nn && same_key(&n[j1], key))
			j1++;
		/* What only one side has: counted first, then written, as one
		 * change when one value took the place of another. */
		for (int pass = 0; pass < 2; pass++) {
			for (size_t a = i, b = j; a < i1 || b < j1;) {
				int c = a >= i1 ? 1 : b >= j1 ? -1 :
				    strcmp(o[a].value, n[b].value);
				const struct rec_line *l = c < 0 ? &o[a] : &n[b];

				a += c <= 0;
				b += c >= 0;
				if (c == 0)
					continue;
				if (pass == 0) {
					*(c < 0 ? &gone : &came) = l;
					*(c < 0 ? &ri : &rj) += 1;
				} else if (ri != 1 || rj != 1) {
					fprintf(f, "%c %s %s %s\n", c < 0 ? '-' : '+',
					    l->name, l->type, l->value);
					lines++;
				}
			}
			if (pass == 0 && ri == 1 && rj == 1) {
				fprintf(f, "~ %s %s %s -> %s\n", key->name,
				    key->type, gone->value, came->value);
				lines++;
			}
		}
		i = i1;
		j = j1;
	}
	free(o);
	free(n);
	return lines;
}
