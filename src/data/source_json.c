/*
 * source_json: Azure CLI, REST and PowerShell output, parsed with jansson.
 *
 * Shapes taken (keys matched case-insensitively, so the PowerShell
 * ConvertTo-Json spellings Fqdn / IpAddresses / Records work as well):
 *  - private endpoints (az network private-endpoint show / list, REST GET):
 *    customDnsConfigs[].{fqdn, ipAddresses[]}, at the top level or under
 *    properties; one object, an array, or a REST list {"value": [...]};
 *  - private DNS zone groups: privateDnsZoneConfigs[].recordSets[] (or
 *    .properties.recordSets[]) with {fqdn or recordSetName, ipAddresses[],
 *    ttl}; the zone comes from privateDnsZoneId;
 *  - private DNS record sets (az network private-dns record-set a list,
 *    REST, Get-AzPrivateDnsRecordSet): {name, fqdn, ttl,
 *    aRecords[].ipv4Address, aaaaRecords[].ipv6Address} flat or under
 *    properties, or {Name, ZoneName, Ttl, RecordType, Records[].Ipv4Address}.
 *    Record sets of other types are skipped (SOA silently).
 * Locations are JSON paths: "file: $[0].customDnsConfigs[1].fqdn".
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "data/sources_int.h"
#include "util/util.h"

struct jstate {
	struct source *s;
	char *path;		/* "file: $" then the JSON path */
	size_t plen, pcap;
	bool found;		/* a known shape was seen */
};

static void
path_add(struct jstate *js, const char *text)
{
	size_t n = strlen(text);

	if (js->plen + n + 1 > js->pcap) {
		while (js->plen + n + 1 > js->pcap)
			js->pcap *= 2;
		js->path = xrealloc(js->path, js->pcap);
	}
	memcpy(js->path + js->plen, text, n + 1);
	js->plen += n;
}

/* Appends ".KEY" to the path; returns the old length for path_pop(). */
static size_t
path_key(struct jstate *js, const char *key)
{
	size_t old = js->plen;

	path_add(js, ".");
	path_add(js, key);
	return old;
}

static size_t
path_idx(struct jstate *js, size_t i)
{
	size_t old = js->plen;
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "[%zu]", i);
	path_add(js, tmp);
	return old;
}

static void
path_pop(struct jstate *js, size_t old)
{
	js->plen = old;
	js->path[old] = '\0';
}

/* The member KEY of OBJ, matched case-insensitively; *REAL gets the key as
 * written.  NULL when OBJ is not an object or has no such member. */
static json_t *
jget(json_t *obj, const char *key, const char **real)
{
	const char *k;
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	if ((v = json_object_get(obj, key)) != NULL) {
		if (real != NULL)
			*real = key;
		return v;
	}
	json_object_foreach(obj, k, v) {
		if (str_casecmp(k, key) == 0) {
			if (real != NULL)
				*real = k;
			return v;
		}
	}
	return NULL;
}

/* A member of OBJ or of OBJ.properties (REST wraps, the CLI flattens). */
static json_t *
jget2(json_t *obj, const char *key, const char **real, bool *inprops)
{
	json_t *v = jget(obj, key, real), *props;

	*inprops = false;
	if (v != NULL && !json_is_null(v))
		return v;
	if ((props = jget(obj, "properties", NULL)) != NULL &&
	    (v = jget(props, key, real)) != NULL && !json_is_null(v)) {
		*inprops = true;
		return v;
	}
	return NULL;
}

/* Pushes the path to a member found by jget2(). */
static size_t
path_key2(struct jstate *js, json_t *obj, const char *real, bool inprops)
{
	size_t old = js->plen;
	const char *pk = NULL;

	if (inprops) {
		jget(obj, "properties", &pk);
		path_key(js, pk);
	}
	path_key(js, real);
	return old;
}

/* The zone name at the end of a resource id ".../privateDnsZones/ZONE[/...]". */
static char *
zone_from_id(const char *id)
{
	const char *p = strcasestr(id, "/privateDnsZones/");
	size_t n;

	if (p == NULL)
		return NULL;
	p += strlen("/privateDnsZones/");
	n = strcspn(p, "/");
	return n ? xstrndup(p, n) : NULL;
}

/* Adds the string array ARR (at the current path) to ADDRS/LOCS. */
static void
collect_strings(struct jstate *js, json_t *arr, const char *what,
    char ***addrs, char ***locs, size_t *n)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		size_t old = path_idx(js, i);
		if (!json_is_string(v)) {
			source_error(js->s, js->path, "%s is not a string", what);
		} else {
			*addrs = xreallocarray(*addrs, *n + 1, sizeof(char *));
			*locs = xreallocarray(*locs, *n + 1, sizeof(char *));
			(*addrs)[*n] = xstrdup(json_string_value(v));
			(*locs)[*n] = xstrdup(js->path);
			(*n)++;
		}
		path_pop(js, old);
	}
}

static void
free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A TTL member: a number, or digits in a string. */
static int
json_ttl(struct jstate *js, json_t *v, int64_t *ttl)
{
	uint32_t t;

	*ttl = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= 2147483647) {
		*ttl = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && source_parse_ttl(json_string_value(v), &t) == 0) {
		*ttl = t;
		return 0;
	}
	source_error(js->s, js->path, "bad TTL (0 to 2147483647 seconds)");
	return -1;
}

/*
 * One name with addresses: customDnsConfigs[i] or a zone group's
 * recordSets[i].  ZONE: the zone of a zone group, for recordSetName.
 */
static void
name_entry(struct jstate *js, json_t *o, const char *zone)
{
	const char *fk = NULL, *ak = NULL, *tk = NULL, *rk = NULL;
	json_t *fqdn, *ips, *ttl, *rt;
	char **addrs = NULL, **locs = NULL, *nloc = NULL, *eloc;
	const char *name = NULL, *ezone = NULL;
	size_t naddrs = 0, old;
	struct source_entry e;
	bool inprops;

	if (!json_is_object(o)) {
		source_error(js->s, js->path, "not an object");
		return;
	}
	/* Zone groups carry the record type; only A records are ours. */
	if ((rt = jget2(o, "recordType", &rk, &inprops)) != NULL &&
	    json_is_string(rt) && str_casecmp(json_string_value(rt), "A") != 0 &&
	    str_casecmp(json_string_value(rt), "AAAA") != 0)
		return;
	eloc = xstrdup(js->path);
	memset(&e, 0, sizeof(e));
	e.loc = eloc;
	e.ttl = -1;

	fqdn = jget2(o, "fqdn", &fk, &inprops);
	if (fqdn == NULL && zone != NULL &&
	    (fqdn = jget2(o, "recordSetName", &fk, &inprops)) != NULL)
		ezone = zone;
	if (fqdn == NULL) {
		source_error(js->s, eloc, "missing fqdn");
		goto out;
	}
	old = path_key2(js, o, fk, inprops);
	nloc = xstrdup(js->path);
	if (!json_is_string(fqdn)) {
		source_error(js->s, nloc, "%s is not a string", fk);
		path_pop(js, old);
		goto out;
	}
	name = json_string_value(fqdn);
	path_pop(js, old);

	if ((ttl = jget2(o, "ttl", &tk, &inprops)) != NULL) {
		old = path_key2(js, o, tk, inprops);
		int bad = json_ttl(js, ttl, &e.ttl);
		path_pop(js, old);
		if (bad)
			goto out;
	}

	if ((ips = jget2(o, "ipAddresses", &ak, &inprops)) == NULL) {
		source_error(js->s, eloc, "missing ipAddresses for %s", name);
		goto out;
	}
	old = path_key2(js, o, ak, inprops);
	if (json_is_string(ips)) {
		/* PowerShell flattens a one-element list at shallow depths. */
		addrs = xcalloc(1, sizeof(char *));
		locs = xcalloc(1, sizeof(char *));
		addrs[0] = xstrdup(json_string_value(ips));
		locs[0] = xstrdup(js->path);
		naddrs = 1;
	} else if (!json_is_array(ips)) {
		source_error(js->s, js->path, "%s is not an array", ak);
		path_pop(js, old);
		goto out;
	} else
		collect_strings(js, ips, "address", &addrs, &locs, &naddrs);
	path_pop(js, old);

	e.name = name;
	e.zone = ezone;
	e.name_loc = nloc;
	e.addrs = (const char *const *)addrs;
	e.addr_locs = (const char *const *)locs;
	e.naddrs = naddrs;
	if (naddrs > 0 || json_array_size(ips) == 0)
		source_add(js->s, &e);
out:
	free_strings(addrs, naddrs);
	free_strings(locs, naddrs);
	free(nloc);
	free(eloc);
}

/* Iterates the array ARR (member KEY of the current object) calling FN. */
static void
each(struct jstate *js, json_t *obj, json_t *arr, const char *key, bool inprops,
    void (*fn)(struct jstate *, json_t *, const char *), const char *zone)
{
	size_t old = path_key2(js, obj, key, inprops), i;
	json_t *v;

	js->found = true;
	if (!json_is_array(arr)) {
		source_error(js->s, js->path, "%s is not an array", key);
	} else {
		json_array_foreach(arr, i, v) {
			size_t o2 = path_idx(js, i);
			fn(js, v, zone);
			path_pop(js, o2);
		}
	}
	path_pop(js, old);
}

/* privateDnsZoneConfigs[i]: {name, privateDnsZoneId, recordSets[]} (maybe
 * under properties). */
static void
zone_config(struct jstate *js, json_t *o, const char *unused)
{
	const char *rk = NULL, *ik = NULL;
	json_t *rs, *id;
	char *zone = NULL;
	bool inprops;

	(void)unused;
	if (!json_is_object(o)) {
		source_error(js->s, js->path, "not an object");
		return;
	}
	if ((id = jget2(o, "privateDnsZoneId", &ik, &inprops)) != NULL &&
	    json_is_string(id))
		zone = zone_from_id(json_string_value(id));
	if ((rs = jget2(o, "recordSets", &rk, &inprops)) != NULL)
		each(js, o, rs, rk, inprops, name_entry, zone);
	free(zone);
}

/* Addresses of a record set: aRecords[].ipv4Address, aaaaRecords[].ipv6Address
 * or PowerShell's Records[].Ipv4Address (or plain strings). */
static void
record_addrs(struct jstate *js, json_t *o, char ***addrs, char ***locs,
    size_t *n, bool *bad)
{
	static const struct {
		const char *list, *field;
	} kinds[] = {
		{ "aRecords", "ipv4Address" },
		{ "aaaaRecords", "ipv6Address" },
		{ "Records", NULL },
	};

	for (size_t k = 0; k < nitems(kinds); k++) {
		const char *lk = NULL;
		bool inprops;
		json_t *list = jget2(o, kinds[k].list, &lk, &inprops), *v;
		size_t old, i;

		if (list == NULL)
			continue;
		old = path_key2(js, o, lk, inprops);
		if (!json_is_array(list)) {
			source_error(js->s, js->path, "%s is not an array", lk);
			*bad = true;
			path_pop(js, old);
			continue;
		}
		json_array_foreach(list, i, v) {
			size_t o2 = path_idx(js, i);
			const char *fk = NULL;
			json_t *a = NULL;

			if (json_is_string(v))
				a = v;
			else if (kinds[k].field != NULL)
				a = jget(v, kinds[k].field, &fk);
			else if ((a = jget(v, "Ipv4Address", &fk)) == NULL)
				a = jget(v, "Ipv6Address", &fk);
			if (a == NULL) {
				source_error(js->s, js->path, "missing %s",
				    kinds[k].field ? kinds[k].field : "Ipv4Address");
				*bad = true;
			} else {
				size_t o3 = fk ? path_key(js, fk) : js->plen;
				if (!json_is_string(a)) {
					source_error(js->s, js->path, "address is not a string");
					*bad = true;
				} else {
					*addrs = xreallocarray(*addrs, *n + 1, sizeof(char *));
					*locs = xreallocarray(*locs, *n + 1, sizeof(char *));
					(*addrs)[*n] = xstrdup(json_string_value(a));
					(*locs)[*n] = xstrdup(js->path);
					(*n)++;
				}
				path_pop(js, o3);
			}
			path_pop(js, o2);
		}
		path_pop(js, old);
	}
}

static bool
is_record_set(json_t *o)
{
	const char *k;
	bool ip;
	json_t *t;

	if (jget2(o, "aRecords", &k, &ip) != NULL ||
	    jget2(o, "aaaaRecords", &k, &ip) != NULL)
		return true;
	/* "Microsoft.Network/privateDnsZones/A", but not .../virtualNetworkLinks. */
	if ((t = jget(o, "type", NULL)) != NULL && json_is_string(t)) {
		static const char *const types[] = { "A", "AAAA", "CNAME", "MX",
		    "PTR", "SOA", "SRV", "TXT" };
		const char *p = strcasestr(json_string_value(t), "privateDnsZones/");
		for (size_t i = 0; p != NULL && i < nitems(types); i++)
			if (str_casecmp(p + strlen("privateDnsZones/"), types[i]) == 0)
				return true;
	}
	return jget(o, "Records", NULL) != NULL &&
	    (jget(o, "RecordType", NULL) != NULL || jget(o, "ZoneName", NULL) != NULL);
}

/* A private DNS record set, CLI / REST / PowerShell. */
static void
record_set(struct jstate *js, json_t *o)
{
	const char *k = NULL, *type = NULL, *name = NULL, *fqdn = NULL;
	char **addrs = NULL, **locs = NULL, *zone = NULL, *nloc = NULL;
	size_t naddrs = 0, old;
	struct source_entry e;
	bool inprops, bad = false;
	json_t *v;

	js->found = true;
	if ((v = jget(o, "RecordType", NULL)) != NULL && json_is_string(v))
		type = json_string_value(v);
	else if ((v = jget(o, "type", NULL)) != NULL && json_is_string(v)) {
		type = strrchr(json_string_value(v), '/');
		type = type ? type + 1 : json_string_value(v);
	}
	if (type != NULL && str_casecmp(type, "A") != 0 &&
	    str_casecmp(type, "AAAA") != 0) {
		if (str_casecmp(type, "SOA") != 0)
			source_warning(js->s, js->path, "%s record set skipped "
			    "(only A and AAAA records are imported)", type);
		return;
	}

	memset(&e, 0, sizeof(e));
	e.ttl = -1;
	old = js->plen;
	if ((v = jget2(o, "fqdn", &k, &inprops)) != NULL && json_is_string(v)) {
		fqdn = json_string_value(v);
		old = path_key2(js, o, k, inprops);
	} else if ((v = jget2(o, "name", &k, &inprops)) != NULL && json_is_string(v)) {
		name = json_string_value(v);
		old = path_key2(js, o, k, inprops);
		if ((v = jget(o, "ZoneName", NULL)) != NULL && json_is_string(v))
			zone = xstrdup(json_string_value(v));
		else if ((v = jget(o, "id", NULL)) != NULL && json_is_string(v))
			zone = zone_from_id(json_string_value(v));
	} else {
		source_error(js->s, js->path, "record set without fqdn or name");
		return;
	}
	nloc = xstrdup(js->path);
	path_pop(js, old);
	/* The entry's own location (its records' origin) must outlive the
	 * path edits below. */
	char *eloc = xstrdup(js->path);
	e.loc = eloc;

	if ((v = jget2(o, "ttl", &k, &inprops)) != NULL) {
		old = path_key2(js, o, k, inprops);
		if (json_ttl(js, v, &e.ttl) != 0)
			bad = true;
		path_pop(js, old);
	}
	record_addrs(js, o, &addrs, &locs, &naddrs, &bad);
	if (!bad && naddrs == 0) {
		/* Azure keeps a set whose records were all deleted. */
		source_warning(js->s, eloc, "record set without addresses skipped");
	} else if (!bad) {
		e.name = fqdn ? fqdn : name;
		e.zone = fqdn ? NULL : zone;
		e.name_loc = nloc;
		e.addrs = (const char *const *)addrs;
		e.addr_locs = (const char *const *)locs;
		e.naddrs = naddrs;
		source_add(js->s, &e);
	}
	free_strings(addrs, naddrs);
	free_strings(locs, naddrs);
	free(zone);
	free(nloc);
	free(eloc);
}

/* Walks the document looking for the shapes above. */
static void
walk(struct jstate *js, json_t *v, int depth)
{
	const char *k = NULL;
	json_t *m;
	bool inprops;
	size_t i;

	if (depth > 32)
		return;
	if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			size_t old = path_idx(js, i);
			walk(js, m, depth + 1);
			path_pop(js, old);
		}
		return;
	}
	if (!json_is_object(v))
		return;
	if (is_record_set(v)) {
		record_set(js, v);
		return;
	}
	if ((m = jget2(v, "customDnsConfigs", &k, &inprops)) != NULL)
		each(js, v, m, k, inprops, name_entry, NULL);
	if ((m = jget2(v, "privateDnsZoneConfigs", &k, &inprops)) != NULL)
		each(js, v, m, k, inprops, zone_config, NULL);
	else if (jget2(v, "recordSets", &k, &inprops) != NULL) {
		/* One zone config on its own. */
		js->found = true;
		zone_config(js, v, NULL);
	}
	/* Lists: az's arrays are handled above; REST pages use "value"; a
	 * private endpoint may list its zone groups. */
	if ((m = jget(v, "value", &k)) != NULL && json_is_array(m)) {
		size_t old = path_key(js, k);
		walk(js, m, depth + 1);
		path_pop(js, old);
	}
	if ((m = jget2(v, "privateDnsZoneGroups", &k, &inprops)) != NULL &&
	    json_is_array(m)) {
		size_t old = path_key2(js, v, k, inprops);
		walk(js, m, depth + 1);
		path_pop(js, old);
	}
}

/* jansson's allocator: recorded under a guard (util.h), plain malloc()
 * otherwise (jansson then reports the failure itself). */
static void *
json_alloc(size_t n)
{
	return oom_guarded() ? xmalloc(n) : malloc(n);
}

static void
json_release(void *p)
{
	free(p);
}

void
source_json_parse(struct source *s, const char *buf, size_t len)
{
	struct jstate js;
	json_error_t err;
	json_t *root;
	char loc[4096];

	/* Under a reload's guard, what jansson allocates is recorded too. */
	json_set_alloc_funcs(json_alloc, json_release);
	root = json_loadb(buf, len, 0, &err);
	if (root == NULL) {
		snprintf(loc, sizeof(loc), "%s:%d", source_path(s),
		    err.line > 0 ? err.line : 1);
		source_error(s, loc, "JSON syntax error: %s (column %d)", err.text,
		    err.column > 0 ? err.column : 1);
		return;
	}
	memset(&js, 0, sizeof(js));
	js.s = s;
	js.pcap = strlen(source_path(s)) + 64;
	js.path = xmalloc(js.pcap);
	js.plen = (size_t)snprintf(js.path, js.pcap, "%s: $", source_path(s));
	/* An empty list is a valid answer from az (no private endpoints). */
	js.found = json_is_array(root) && json_array_size(root) == 0;
	walk(&js, root, 0);
	if (!js.found)
		source_error(s, NULL, "no customDnsConfigs, privateDnsZoneConfigs or "
		    "private DNS record sets found (expected the output of az "
		    "network private-endpoint show, az network private-dns "
		    "record-set a list, or their PowerShell equivalents)");
	free(js.path);
	json_decref(root);
}
