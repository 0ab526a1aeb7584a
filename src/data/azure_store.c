/*
 * azure_store: the store of synced data, its state files and the records
 * it feeds to records_load() (see azure_store.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/azure_store.h"
#include "data/azure_zones.h"
#include "data/sources_int.h"
#include "util/util.h"

#define fail pl_errf

/* ---- the store ---- */

static struct store_ent *store;
static size_t nstore;

struct store_ent *
azure_store_get(const char *name, bool create)
{
	for (size_t i = 0; i < nstore; i++)
		if (strcmp(store[i].name, name) == 0)
			return &store[i];
	if (!create)
		return NULL;
	store = xreallocarray(store, nstore + 1, sizeof(*store));
	memset(&store[nstore], 0, sizeof(store[nstore]));
	store[nstore].name = xstrdup(name);
	return &store[nstore++];
}

void
azure_store_set(struct store_ent *e, json_t *data, uint64_t synced_at)
{
	json_t *old = e->data;

	e->data = data;
	e->synced_at = synced_at;
	e->records = data != NULL ? azure_sync_count(data) : 0;
	e->loaded = true;
	if (old != NULL)
		json_decref(old);
}

void
azure_store_clear(void)
{
	for (size_t i = 0; i < nstore; i++) {
		free(store[i].name);
		if (store[i].data != NULL)
			json_decref(store[i].data);
	}
	free(store);
	store = NULL;
	nstore = 0;
}

/* <state_dir>/azure-NAME.EXT; caller frees. */
static char *
state_file(const struct config *cfg, const char *name, const char *ext)
{
	char *file, *path;

	xasprintf(&file, "azure-%s.%s", name, ext);
	path = path_join(cfg->state_dir ? cfg->state_dir : ".", file);
	free(file);
	return path;
}

char *
azure_state_path(const struct config *cfg, const char *name)
{
	return state_file(cfg, name, "json");
}

int
azure_state_write(const char *path, const char *name, json_t *data,
    uint64_t synced_at, char *err, size_t errlen)
{
	char *tmp, *dir = path_dirname(path), *text;
	json_t *doc;
	size_t len, off = 0;
	int fd, dfd, rc = -1;

	doc = json_pack("{s:i, s:s, s:I, s:O}", "pldns_azure_state", 1, "azure",
	    name, "synced_at", (json_int_t)synced_at, "data", data);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	len = strlen(text);
	xasprintf(&tmp, "%s.%ld.tmp", path, (long)getpid());
	if (mkdir_p(dir) == -1 && access(dir, W_OK) == -1) {
		fail(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		goto done;
	}
	/* Temp file, fsync, rename, fsync of the directory: a crash leaves
	 * the old file or the new one, never half of one. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) == -1) {
		fail(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		goto done;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			goto done;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fail(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto done;
	}
	if (rename(tmp, path) == -1) {
		fail(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto done;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
done:
	free(text);
	free(tmp);
	free(dir);
	return rc;
}

/* Checks the shape of synced data (from a state file, which may be damaged). */
static int
data_check(json_t *data, char *err, size_t errlen)
{
	static const char *const arrays[] = { "zones", "fallback", "sets" };
	size_t i;
	json_t *s;

	if (!json_is_object(data))
		return fail(err, errlen, "\"data\" is not an object");
	for (i = 0; i < nitems(arrays); i++)
		if (!json_is_array(json_object_get(data, arrays[i])))
			return fail(err, errlen, "\"data\" has no \"%s\" array",
			    arrays[i]);
	json_array_foreach(json_object_get(data, "sets"), i, s) {
		json_t *d = json_object_get(s, "data"), *v;
		size_t j;

		if (!json_is_string(json_object_get(s, "name")) ||
		    !json_is_string(json_object_get(s, "type")) ||
		    !json_is_string(json_object_get(s, "id")) ||
		    !json_is_integer(json_object_get(s, "ttl")) ||
		    !json_is_array(d))
			return fail(err, errlen, "sets[%zu] is not a record set", i);
		json_array_foreach(d, j, v)
			if (!json_is_string(v))
				return fail(err, errlen, "sets[%zu].data[%zu] is not "
				    "a string", i, j);
	}
	json_array_foreach(json_object_get(data, "zones"), i, s)
		if (!json_is_string(s))
			return fail(err, errlen, "zones[%zu] is not a string", i);
	json_array_foreach(json_object_get(data, "fallback"), i, s)
		if (!json_is_string(s))
			return fail(err, errlen, "fallback[%zu] is not a string", i);
	return 0;
}

int
azure_state_read(const char *path, json_t **data, uint64_t *synced_at,
    char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc, *d, *t;

	*data = NULL;
	if ((doc = json_load_file(path, 0, &je)) == NULL) {
		if (access(path, F_OK) == -1 && errno == ENOENT)
			return 1;
		return fail(err, errlen, "line %d: %s", je.line, je.text);
	}
	d = json_object_get(doc, "data");
	t = json_object_get(doc, "synced_at");
	if (!json_is_integer(t) || data_check(d, err, errlen) == -1) {
		if (!json_is_integer(t))
			fail(err, errlen, "not a pldns sync state file");
		json_decref(doc);
		return -1;
	}
	*synced_at = (uint64_t)json_integer_value(t);
	*data = json_incref(d);
	json_decref(doc);
	return 0;
}

/* ---- the records the store feeds to records_load ---- */

struct feed {
	const struct config *cfg;
	json_t *data;
	const char *label;
};

bool
azure_zone_wanted(const struct config *cfg, const char *zone)
{
	return azure_zone_known(zone) || config_zone(cfg, zone) != NULL;
}

static void
feed_cb(struct source *s, void *arg)
{
	struct feed *f = arg;
	struct recset *rs = source_recset(s);
	json_t *set, *z;
	size_t i;

	/* Synced zones exist even when empty: their names answer NXDOMAIN
	 * here as they would in Azure. */
	json_array_foreach(json_object_get(f->data, "zones"), i, z) {
		const char *zone = json_string_value(z);

		if (azure_zone_wanted(f->cfg, zone))
			recset_zone(rs, f->cfg, zone, f->label);
	}
	json_array_foreach(json_object_get(f->data, "sets"), i, set) {
		json_t *data = json_object_get(set, "data");
		size_t n = json_array_size(data);
		const char **addrs;
		char *loc;
		struct source_entry e = { 0 };
		const char *zone = json_string_value(json_object_get(set, "zone"));

		/* A zone the configuration no longer names (a [zone] section
		 * gone) is one the next sync will not read: its records go now,
		 * rather than fail the reload that brings the new config. */
		if (zone != NULL && !azure_zone_wanted(f->cfg, zone))
			continue;
		addrs = xcalloc(n + 1, sizeof(*addrs));
		if (strcmp(json_string_value(json_object_get(set, "type")),
		    "CNAME") == 0)
			e.cname = json_string_value(json_array_get(data, 0));
		for (size_t j = 0; e.cname == NULL && j < n; j++)
			addrs[j] = json_string_value(json_array_get(data, j));
		xasprintf(&loc, "%s: %s", f->label,
		    json_string_value(json_object_get(set, "id")));
		e.name = json_string_value(json_object_get(set, "name"));
		e.addrs = addrs;
		e.naddrs = e.cname != NULL ? 0 : n;
		e.ttl = (int64_t)json_integer_value(json_object_get(set, "ttl"));
		e.loc = loc;
		source_add(s, &e);
		free(loc);
		free(addrs);
	}
}

/* Loads the state file of NAME into its store entry, once. */
static struct store_ent *
store_load(const struct config *cfg, const char *name, struct diag *d)
{
	struct store_ent *e = azure_store_get(name, true);
	char *path, err[512];
	json_t *data;
	uint64_t at;
	int r;

	if (e->loaded || e->tried)
		return e;
	e->tried = true;
	path = azure_state_path(cfg, name);
	r = azure_state_read(path, &data, &at, err, sizeof(err));
	if (r == 0)
		azure_store_set(e, data, at);
	else if (r == -1)
		diag_add(d, DIAG_WARNING, path, 0, "ignored (%s): azure \"%s\" "
		    "has no data until its next sync", err, name);
	free(path);
	return e;
}

int
azure_sync_records(const struct config *cfg, struct recset *rs, struct diag *d)
{
	int rc = 0;

	for (size_t i = 0; i < cfg->nazures; i++) {
		const struct azure_conf *az = &cfg->azures[i];
		struct store_ent *e = store_load(cfg, az->name, d);
		struct feed f = { .cfg = cfg, .data = e->data };
		char *label;
		json_t *z;
		size_t j;

		if (e->data == NULL)
			continue;
		xasprintf(&label, "azure \"%s\"", az->name);
		f.label = label;
		if (source_load_entries(cfg, label, feed_cb, &f, rs, d) == -1)
			rc = -1;
		else {
			/* A zone whose link says "fall back to the internet"
			 * forwards what it does not hold, unless its [zone]
			 * says otherwise. */
			json_array_foreach(json_object_get(e->data, "fallback"), j, z) {
				const char *zone = json_string_value(z);
				const struct zone_conf *zc = config_zone(cfg, zone);

				for (size_t k = 0; k < rs->nzones; k++)
					if (strcmp(rs->zones[k].name, zone) == 0 &&
					    (zc == NULL || zc->missing < 0))
						rs->zones[k].missing = MISSING_FALLBACK;
			}
		}
		free(label);
	}
	return rc;
}

size_t
azure_sync_count(json_t *data)
{
	size_t n = 0, i;
	json_t *s;

	json_array_foreach(json_object_get(data, "sets"), i, s)
		n += json_array_size(json_object_get(s, "data"));
	return n;
}



void
azure_state_error(const struct config *cfg, const char *name, const char *msg)
{
	char *path = state_file(cfg, name, "error"), *tmp;
	FILE *f;

	if (msg == NULL) {
		unlink(path);
		free(path);
		return;
	}
	xasprintf(&tmp, "%s.%ld.tmp", path, (long)getpid());
	if (mkdir_p(cfg->state_dir ? cfg->state_dir : ".") == 0 &&
	    (f = fopen(tmp, "we")) != NULL) {
		fprintf(f, "%llu %s\n", (unsigned long long)now_wall(), msg);
		if (fclose(f) == 0)
			rename(tmp, path);
		else
			unlink(tmp);
	}
	free(tmp);
	free(path);
}

char *
azure_state_last_error(const struct config *cfg, const char *name, char *buf,
    size_t len)
{
	char *path = state_file(cfg, name, "error");
	FILE *f;

	buf[0] = '\0';
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(buf, (int)len, f) == NULL)
			buf[0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
	free(path);
	/* The file starts with when it happened. */
	if (buf[0] != '\0')
		memmove(buf, buf + strcspn(buf, " ") + 1,
		    strlen(buf + strcspn(buf, " ") + 1) + 1);
	return buf;
}
