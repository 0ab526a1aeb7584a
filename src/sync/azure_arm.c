/* azure_arm: readers of ARM and token endpoint JSON (see azure_arm.h). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/azure_arm.h"
#include "util/util.h"

#define fail pl_errf

/* Parses BODY as a JSON document; NULL with the reason in ERR. */
static json_t *
load(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;

	if (len == 0) {
		fail(err, errlen, "the body is empty");
		return NULL;
	}
	if ((root = json_loadb(body, len, 0, &je)) == NULL)
		fail(err, errlen, "the body is not JSON (line %d, column %d: %s)",
		    je.line, je.column, je.text);
	return root;
}

/* S without control characters, cut at its first line, into OUT. */
static void
clean_copy(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *s != '\0' && *s != '\r' && *s != '\n' && o + 1 < outlen; s++)
		out[o++] = (unsigned char)*s < 0x20 ? ' ' : *s;
	out[o] = '\0';
}

void
arm_error_text(const char *body, size_t len, char *buf, size_t buflen)
{
	json_t *root, *e;
	const char *code = NULL, *msg = NULL;
	char c[128], m[400];
	json_error_t je;

	buf[0] = '\0';
	if (len == 0 || (root = json_loadb(body, len, 0, &je)) == NULL)
		return;
	e = json_object_get(root, "error");
	if (json_is_object(e)) {
		code = json_string_value(json_object_get(e, "code"));
		msg = json_string_value(json_object_get(e, "message"));
	} else if (json_is_string(e)) {
		code = json_string_value(e);
		msg = json_string_value(json_object_get(root, "error_description"));
	}
	clean_copy(code ? code : "", c, sizeof(c));
	clean_copy(msg ? msg : "", m, sizeof(m));
	if (c[0] != '\0' || m[0] != '\0')
		snprintf(buf, buflen, "%s%s%s", c, c[0] && m[0] ? ": " : "", m);
	json_decref(root);
}

int
arm_token_parse(const char *body, size_t len, char **token, long *expires_in,
    char *err, size_t errlen)
{
	json_t *root, *t, *e;
	long secs = -1;

	*token = NULL;
	if ((root = load(body, len, err, errlen)) == NULL)
		return -1;
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(err, errlen, "the token response is not an object");
	}
	t = json_object_get(root, "access_token");
	e = json_object_get(root, "expires_in");
	if (!json_is_string(t) || json_string_length(t) == 0) {
		json_decref(root);
		return fail(err, errlen, "the token response has no access_token");
	}
	if (json_is_integer(e))
		secs = (long)json_integer_value(e);
	else if (json_is_string(e)) {
		char *end;
		secs = strtol(json_string_value(e), &end, 10);
		if (end == json_string_value(e) || *end != '\0')
			secs = -1;
	}
	if (secs <= 0) {
		json_decref(root);
		return fail(err, errlen, "the token response has no valid "
		    "expires_in");
	}
	*token = xstrdup(json_string_value(t));
	*expires_in = secs;
	/* The parser's copy goes with the tree: wiped first. */
	explicit_bzero((char *)json_string_value(t), json_string_length(t));
	json_decref(root);
	return 0;
}

int
arm_page_parse(const char *body, size_t len, json_t **root, json_t **value,
    const char **next, char *err, size_t errlen)
{
	json_t *n;

	*value = NULL;
	*next = NULL;
	if ((*root = load(body, len, err, errlen)) == NULL)
		return -1;
	if (!json_is_object(*root))
		goto bad;
	*value = json_object_get(*root, "value");
	if (!json_is_array(*value)) {
		json_decref(*root);
		*root = NULL;
		return fail(err, errlen, "the list has no \"value\" array");
	}
	n = json_object_get(*root, "nextLink");
	if (n != NULL && !json_is_null(n)) {
		if (!json_is_string(n)) {
			json_decref(*root);
			*root = NULL;
			return fail(err, errlen, "nextLink is not a string");
		}
		if (json_string_length(n) > 0)
			*next = json_string_value(n);
	}
	return 0;
bad:
	json_decref(*root);
	*root = NULL;
	return fail(err, errlen, "the list is not a JSON object");
}

int
arm_name(const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in), label = 0;

	/* An fqdn of a record set ends in a dot; one of an endpoint not. */
	if (n > 1 && in[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || n >= outlen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '.') {
			if (label == 0)
				return -1;	/* an empty label */
			label = 0;
		} else if (c <= ' ' || c >= 0x7f || ++label > 63)
			return -1;
		out[i] = (char)tolower(c);
	}
	if (label == 0)
		return -1;	/* "x.net.." */
	out[n] = '\0';
	return 0;
}

/* The string member KEY of OBJ, or NULL. */
static const char *
str_of(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

int
arm_zone_item(json_t *item, const char **id, char *name, size_t namelen,
    char *err, size_t errlen)
{
	const char *n;

	if (!json_is_object(item))
		return fail(err, errlen, "a zone is not an object");
	*id = str_of(item, "id");
	n = str_of(item, "name");
	if (*id == NULL || **id != '/')
		return fail(err, errlen, "a zone has no \"id\"");
	if (n == NULL || arm_name(n, name, namelen) == -1)
		return fail(err, errlen, "zone %s has no valid \"name\"", *id);
	return 0;
}

/* The strings member KEY of the elements of ARR into DATA. */
static int
collect(json_t *arr, const char *key, json_t *data, const char *what,
    char *err, size_t errlen)
{
	size_t i;
	json_t *el;

	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return fail(err, errlen, "%s is not an array", what);
	json_array_foreach(arr, i, el) {
		json_t *v = key ? json_object_get(el, key) : el;

		if (!json_is_string(v))
			return fail(err, errlen, "%s[%zu]%s%s is not a string",
			    what, i, key ? "." : "", key ? key : "");
		json_array_append_new(data, json_string(json_string_value(v)));
	}
	return 0;
}

/* A TTL member: -1 when absent, else 0 .. 2^31-1. */
static int
ttl_of(json_t *v, json_int_t *ttl, char *err, size_t errlen)
{
	*ttl = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 2147483647)
		return fail(err, errlen, "ttl is not a number from 0 to "
		    "2147483647");
	*ttl = json_integer_value(v);
	return 0;
}

static json_t *
make_set(const char *name, const char *zone, const char *type, json_int_t ttl,
    json_t *data, const char *id)
{
	return json_pack("{s:s, s:s?, s:s, s:I, s:o, s:s}", "name", name,
	    "zone", zone, "type", type, "ttl", (json_int_t)ttl, "data", data,
	    "id", id);
}

int
arm_recordset(json_t *item, const char *zone, const char *zone_id, json_t **out,
    char *err, size_t errlen)
{
	const char *type, *rname, *fqdn, *id, *slash;
	char name[512], idbuf[1024];
	json_t *props, *data;
	json_int_t ttl;
	int rc;

	*out = NULL;
	if (!json_is_object(item))
		return fail(err, errlen, "a record set is not an object");
	type = str_of(item, "type");
	rname = str_of(item, "name");
	props = json_object_get(item, "properties");
	if (type == NULL || rname == NULL)
		return fail(err, errlen, "a record set has no \"type\" or "
		    "\"name\"");
	/* "Microsoft.Network/privateDnsZones/A" */
	slash = strrchr(type, '/');
	type = slash ? slash + 1 : type;
	if (strcmp(type, "A") != 0 && strcmp(type, "AAAA") != 0 &&
	    strcmp(type, "CNAME") != 0)
		return 0;
	if (!json_is_object(props))
		return fail(err, errlen, "record set %s has no \"properties\"",
		    rname);
	if ((id = str_of(item, "id")) == NULL) {
		snprintf(idbuf, sizeof(idbuf), "%s/%s/%s", zone_id, type, rname);
		id = idbuf;
	}
	fqdn = str_of(props, "fqdn");
	if (fqdn != NULL) {
		if (arm_name(fqdn, name, sizeof(name)) == -1)
			return fail(err, errlen, "%s: bad fqdn", id);
	} else if (strcmp(rname, "@") == 0)
		pl_strlcpy(name, zone, sizeof(name));
	else {
		char rel[512];

		if (arm_name(rname, rel, sizeof(rel)) == -1 ||
		    strlen(rel) + 1 + strlen(zone) >= sizeof(name))
			return fail(err, errlen, "%s: bad name", id);
		memcpy(name, rel, strlen(rel));
		name[strlen(rel)] = '.';
		pl_strlcpy(name + strlen(rel) + 1, zone, sizeof(name) - strlen(rel) - 1);
	}
	if (ttl_of(json_object_get(props, "ttl"), &ttl, err, errlen) == -1)
		return fail(err, errlen, "%s: ttl is not a number from 0 to "
		    "2147483647", id);
	data = json_array();
	if (strcmp(type, "A") == 0)
		rc = collect(json_object_get(props, "aRecords"), "ipv4Address",
		    data, "properties.aRecords", err, errlen);
	else if (strcmp(type, "AAAA") == 0)
		rc = collect(json_object_get(props, "aaaaRecords"), "ipv6Address",
		    data, "properties.aaaaRecords", err, errlen);
	else {
		json_t *c = json_object_get(props, "cnameRecord");
		const char *t = json_is_object(c) ? str_of(c, "cname") : NULL;
		char target[512];

		rc = 0;
		if (c != NULL && !json_is_null(c) && (t == NULL ||
		    arm_name(t, target, sizeof(target)) == -1))
			rc = fail(err, errlen, "properties.cnameRecord.cname is "
			    "not a name");
		else if (t != NULL)
			json_array_append_new(data, json_string(target));
	}
	if (rc == -1) {
		char why[256];

		pl_strlcpy(why, err, sizeof(why));
		json_decref(data);
		return fail(err, errlen, "%s: %s", id, why);
	}
	if (json_array_size(data) == 0) {
		/* An empty set answers nothing: Azure keeps them after the
		 * last record goes. */
		json_decref(data);
		return 0;
	}
	*out = make_set(name, zone, type, ttl, data, id);
	return 0;
}

int
arm_link_fallback(json_t *item, bool *fallback, char *err, size_t errlen)
{
	json_t *props = json_object_get(item, "properties"), *rp;

	*fallback = false;
	if (!json_is_object(item) || !json_is_object(props))
		return fail(err, errlen, "a virtual network link has no "
		    "\"properties\"");
	rp = json_object_get(props, "resolutionPolicy");
	if (rp == NULL || json_is_null(rp))
		return 0;
	if (!json_is_string(rp))
		return fail(err, errlen, "resolutionPolicy is not a string");
	*fallback = strcmp(json_string_value(rp), "NxDomainRedirect") == 0;
	return 0;
}

int
arm_subscription_item(json_t *item, const char **id, char *err, size_t errlen)
{
	*id = json_is_object(item) ? str_of(item, "subscriptionId") : NULL;
	if (*id == NULL || **id == '\0')
		return fail(err, errlen, "a subscription has no "
		    "\"subscriptionId\"");
	return 0;
}

int
arm_endpoint(json_t *item, json_t *sets, const char **id, char *err,
    size_t errlen)
{
	json_t *props, *cfgs, *c;
	size_t i;

	*id = json_is_object(item) ? str_of(item, "id") : NULL;
	if (*id == NULL || **id != '/')
		return fail(err, errlen, "a private endpoint has no \"id\"");
	props = json_object_get(item, "properties");
	if (!json_is_object(props))
		return fail(err, errlen, "%s has no \"properties\"", *id);
	cfgs = json_object_get(props, "customDnsConfigs");
	if (cfgs == NULL || json_is_null(cfgs))
		return 0;
	if (!json_is_array(cfgs))
		return fail(err, errlen, "%s: customDnsConfigs is not an array",
		    *id);
	json_array_foreach(cfgs, i, c) {
		const char *fqdn = json_is_object(c) ? str_of(c, "fqdn") : NULL;
		char name[512], where[1100], why[256];
		json_t *data = json_array();

		if (fqdn == NULL || arm_name(fqdn, name, sizeof(name)) == -1) {
			json_decref(data);
			return fail(err, errlen, "%s: customDnsConfigs[%zu].fqdn "
			    "is not a name", *id, i);
		}
		if (collect(json_object_get(c, "ipAddresses"), NULL, data,
		    "ipAddresses", why, sizeof(why)) == -1) {
			json_decref(data);
			return fail(err, errlen, "%s: customDnsConfigs[%zu].%s",
			    *id, i, why);
		}
		if (json_array_size(data) == 0) {
			json_decref(data);
			continue;
		}
		snprintf(where, sizeof(where), "%s: customDnsConfigs[%zu]", *id, i);
		json_array_append_new(sets, make_set(name, NULL, "A", -1, data,
		    where));
	}
	return 0;
}

int
arm_zone_group(json_t *item, json_t *sets, bool (*known)(const char *, void *),
    void *arg, char *err, size_t errlen)
{
	const char *gid = json_is_object(item) ? str_of(item, "id") : NULL;
	json_t *props, *zcs, *zc;
	size_t i;

	if (gid == NULL)
		return fail(err, errlen, "a zone group has no \"id\"");
	props = json_object_get(item, "properties");
	zcs = json_is_object(props) ?
	    json_object_get(props, "privateDnsZoneConfigs") : NULL;
	if (!json_is_array(zcs))
		return fail(err, errlen, "%s: privateDnsZoneConfigs is not an "
		    "array", gid);
	json_array_foreach(zcs, i, zc) {
		json_t *zp = json_object_get(zc, "properties"), *rss, *r;
		const char *zid = json_is_object(zp) ?
		    str_of(zp, "privateDnsZoneId") : NULL, *last;
		char zone[512];
		size_t j;

		if (zid == NULL || (last = strrchr(zid, '/')) == NULL ||
		    arm_name(last + 1, zone, sizeof(zone)) == -1)
			return fail(err, errlen, "%s: privateDnsZoneConfigs[%zu] "
			    "has no privateDnsZoneId", gid, i);
		if (!known(zone, arg))
			return fail(err, errlen, "%s: zone %s is not an Azure "
			    "private link zone nor a configured [zone]", gid, zone);
		rss = json_object_get(zp, "recordSets");
		if (rss == NULL || json_is_null(rss))
			continue;
		if (!json_is_array(rss))
			return fail(err, errlen, "%s: recordSets is not an array",
			    gid);
		json_array_foreach(rss, j, r) {
			const char *type = str_of(r, "recordType");
			const char *fqdn = str_of(r, "fqdn");
			char name[512], where[1200], why[256];
			json_int_t ttl;
			json_t *data;

			if (type == NULL || (strcmp(type, "A") != 0 &&
			    strcmp(type, "AAAA") != 0))
				continue;
			if (fqdn == NULL || arm_name(fqdn, name, sizeof(name)) == -1)
				return fail(err, errlen, "%s: privateDnsZoneConfigs"
				    "[%zu].recordSets[%zu].fqdn is not a name",
				    gid, i, j);
			if (ttl_of(json_object_get(r, "ttl"), &ttl, why,
			    sizeof(why)) == -1)
				return fail(err, errlen, "%s: recordSets[%zu]: %s",
				    gid, j, why);
			data = json_array();
			if (collect(json_object_get(r, "ipAddresses"), NULL, data,
			    "ipAddresses", why, sizeof(why)) == -1) {
				json_decref(data);
				return fail(err, errlen, "%s: recordSets[%zu].%s",
				    gid, j, why);
			}
			if (json_array_size(data) == 0) {
				json_decref(data);
				continue;
			}
			snprintf(where, sizeof(where), "%s: %s/%s/%s", gid, zone,
			    type, name);
			json_array_append_new(sets, make_set(name, zone, type, ttl,
			    data, where));
		}
	}
	return 0;
}

static int
str_cmp_json(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
	    json_string_value(*(json_t *const *)b));
}

static int
set_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	static const char *const keys[] = { "name", "type", "id" };
	int c;

	for (size_t i = 0; i < nitems(keys); i++) {
		const char *p = str_of(x, keys[i]), *q = str_of(y, keys[i]);

		if ((c = strcmp(p ? p : "", q ? q : "")) != 0)
			return c;
	}
	return 0;
}

/* The elements of ARR sorted with CMP (jansson has no sort). */
static void
array_sort(json_t *arr, int (*cmp)(const void *, const void *))
{
	size_t n = json_array_size(arr);
	json_t **v;

	if (n < 2)
		return;
	v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

void
arm_sets_sort(json_t *sets)
{
	size_t i;
	json_t *s;

	json_array_foreach(sets, i, s)
		array_sort(json_object_get(s, "data"), str_cmp_json);
	array_sort(sets, set_cmp);
}
