/* resolvconf: this machine's resolv.conf, read one way (resolvconf.h). */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/resolvconf.h"
#include "util/util.h"

#define DNS_PORT	53
#define WORD_SEPS	" \t\r\n"

static char path_override[PATH_MAX];

void
resolvconf_set_path(const char *path)
{
	if (path == NULL)
		path_override[0] = '\0';
	else
		pl_strlcpy(path_override, path, sizeof(path_override));
}

const char *
resolvconf_path(void)
{
	const char *env;

	if (path_override[0] != '\0')
		return path_override;
	if ((env = getenv("PLDNS_RESOLV_CONF")) != NULL && *env != '\0')
		return env;
	return "/etc/resolv.conf";
}

/* "nameserver ADDR": the address, or a warning when it is not one. */
static void
read_nameserver(struct resolvconf *rc, char **save, unsigned long line,
    struct diag *d)
{
	const char *word = strtok_r(NULL, WORD_SEPS, save), *err;
	struct pl_addr a;

	if (word == NULL)
		return;
	if (addr_parse(word, DNS_PORT, &a, &err) == -1) {
		if (d != NULL)
			diag_add(d, DIAG_WARNING, rc->path, line,
			    "ignoring nameserver \"%s\": %s", word, err);
		return;
	}
	rc->ns = xreallocarray(rc->ns, rc->nns + 1, sizeof(*rc->ns));
	rc->ns[rc->nns].addr = a;
	rc->ns[rc->nns++].line = line;
}

/* "search A B ..." or "domain A": replaces the search list, as the last
 * such line decides in the C library. */
static void
read_search(struct resolvconf *rc, char **save, bool one)
{
	const char *word;

	strv_free(rc->search);
	rc->search = xcalloc(1, sizeof(*rc->search));
	rc->nsearch = 0;
	while ((word = strtok_r(NULL, WORD_SEPS, save)) != NULL &&
	    word[0] != '#' && word[0] != ';') {
		rc->search = xreallocarray(rc->search, rc->nsearch + 2,
		    sizeof(*rc->search));
		rc->search[rc->nsearch++] = xstrdup(word);
		rc->search[rc->nsearch] = NULL;
		if (one)
			break;
	}
}

int
resolvconf_read(struct resolvconf *rc, const char *path, struct diag *d)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;

	memset(rc, 0, sizeof(*rc));
	rc->path = xstrdup(path != NULL ? path : resolvconf_path());
	if ((fp = fopen(rc->path, "re")) == NULL) {
		rc->err = errno;
		if (d != NULL)
			diag_add(d, DIAG_WARNING, rc->path, 0, "cannot open: %s",
			    strerror(rc->err));
		return -1;
	}
	oom_guard_file(fp);
	for (char *was = NULL;; was = line) {
		char *word, *save;
		ssize_t got;

		errno = 0;
		got = getline(&line, &cap, fp);
		oom_guard_moved(was, line);
		if (got < 0 && errno == ENOMEM)
			out_of_memory();
		if (got < 0)
			break;
		lineno++;
		/* A comment's first word is no keyword: "#nameserver". */
		if ((word = strtok_r(line, WORD_SEPS, &save)) == NULL)
			continue;
		if (strcmp(word, "nameserver") == 0)
			read_nameserver(rc, &save, lineno, d);
		else if (strcmp(word, "search") == 0 || strcmp(word, "domain") == 0)
			read_search(rc, &save, word[0] == 'd');
	}
	free(line);
	oom_guard_fclose(fp);
	return 0;
}

void
resolvconf_clear(struct resolvconf *rc)
{
	free(rc->path);
	free(rc->ns);
	strv_free(rc->search);
	memset(rc, 0, sizeof(*rc));
}
