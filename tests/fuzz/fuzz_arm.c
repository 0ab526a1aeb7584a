/*
 * fuzz_arm: the readers of Azure Resource Manager and token JSON
 * (azure_arm.c) on any body, as a page of any list the sync reads.
 *
 * Oracles beyond the sanitizers: a reader that succeeds gives record sets
 * of the documented form (a lower-case name without a trailing dot, a
 * type of A, AAAA or CNAME, a TTL of -1 or 0 .. 2^31-1, data of strings,
 * an id); sorting twice gives the same order; the diff of the sets against
 * nothing has a line per record and against themselves none.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/azure_arm.h"
#include "sync/azure_sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
known(const char *zone, void *arg)
{
	(void)arg;
	return strncmp(zone, "privatelink.", 12) == 0;
}

static void
check_set(json_t *s)
{
	const char *name = json_string_value(json_object_get(s, "name"));
	const char *type = json_string_value(json_object_get(s, "type"));
	json_t *ttl = json_object_get(s, "ttl"), *d = json_object_get(s, "data"), *v;
	size_t i, n;

	if (name == NULL || type == NULL || !json_is_integer(ttl) ||
	    !json_is_array(d) || json_array_size(d) == 0 ||
	    !json_is_string(json_object_get(s, "id")))
		abort();
	n = strlen(name);
	if (n == 0 || name[n - 1] == '.')
		abort();
	for (i = 0; i < n; i++)
		if (name[i] >= 'A' && name[i] <= 'Z')
			abort();
	if (strcmp(type, "A") != 0 && strcmp(type, "AAAA") != 0 &&
	    strcmp(type, "CNAME") != 0)
		abort();
	if (json_integer_value(ttl) < -1 || json_integer_value(ttl) > 2147483647)
		abort();
	json_array_foreach(d, i, v)
		if (!json_is_string(v))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *root, *value, *item, *sets = json_array(), *s, *wrap, *copy;
	const char *next, *id;
	char err[512], name[512], *tok = NULL, *a, *b;
	size_t i, records = 0, lines;
	long secs;
	bool fb;
	FILE *devnull;

	arm_error_text((const char *)data, size, err, sizeof(err));
	if (arm_token_parse((const char *)data, size, &tok, &secs, err,
	    sizeof(err)) == 0 && (tok == NULL || secs <= 0))
		abort();
	free(tok);
	if (arm_page_parse((const char *)data, size, &root, &value, &next, err,
	    sizeof(err)) == -1) {
		json_decref(sets);
		return 0;
	}
	json_array_foreach(value, i, item) {
		json_t *set = NULL;

		if (arm_zone_item(item, &id, name, sizeof(name), err,
		    sizeof(err)) == 0 && (id == NULL || name[0] == '\0'))
			abort();
		if (arm_recordset(item, "privatelink.blob.core.windows.net",
		    "/z", &set, err, sizeof(err)) == 0 && set != NULL)
			json_array_append_new(sets, set);
		arm_link_fallback(item, &fb, err, sizeof(err));
		arm_subscription_item(item, &id, err, sizeof(err));
		arm_endpoint(item, sets, &id, err, sizeof(err));
		arm_zone_group(item, sets, known, NULL, err, sizeof(err));
	}
	json_array_foreach(sets, i, s) {
		check_set(s);
		records += json_array_size(json_object_get(s, "data"));
	}
	arm_sets_sort(sets);
	copy = json_deep_copy(sets);
	arm_sets_sort(copy);
	a = json_dumps(sets, JSON_COMPACT);
	b = json_dumps(copy, JSON_COMPACT);
	if (strcmp(a, b) != 0)
		abort();
	free(a);
	free(b);
	json_decref(copy);

	wrap = json_pack("{s:[], s:[], s:O}", "zones", "fallback", "sets", sets);
	devnull = fopen("/dev/null", "w");
	lines = azure_sync_diff(NULL, wrap, devnull);
	/* Repeated records of one name and type count once in the diff. */
	if (lines > records || (records > 0 && lines == 0))
		abort();
	if (azure_sync_diff(wrap, wrap, devnull) != 0)
		abort();
	fclose(devnull);
	json_decref(wrap);
	json_decref(sets);
	json_decref(root);
	return 0;
}
