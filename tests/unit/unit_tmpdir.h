/*
 * unit_tmpdir: a unit test's own working directory, made and entered by
 * its setup (tmpdir_enter) and removed by its teardown (tmpdir_leave), so
 * that relative paths in the configurations it writes land there.
 * Included by one test file each: the state is that file's.
 */
#ifndef PLDNS_UNIT_TMPDIR_H
#define PLDNS_UNIT_TMPDIR_H

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[PATH_MAX];
static char oldcwd[PATH_MAX];

/* Writes TEXT to NAME (relative to the test's directory once entered). */
static inline void
write_file(const char *name, const char *text)
{
	FILE *f = fopen(name, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static inline int
tmpdir_rm_cb(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Makes /tmp/pldns-test-NAME.XXXXXX and goes into it: 0, or -1. */
static inline int
tmpdir_enter(const char *name)
{
	char tmpl[PATH_MAX];

	snprintf(tmpl, sizeof(tmpl), "/tmp/pldns-test-%s.XXXXXX", name);
	if (getcwd(oldcwd, sizeof(oldcwd)) == NULL)
		return -1;
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, tmpdir) == NULL)
		return -1;
	return chdir(tmpdir);
}

/* Goes back to where the test started and removes its directory. */
static inline int
tmpdir_leave(void)
{
	if (chdir(oldcwd) == -1)
		return -1;
	return nftw(tmpdir, tmpdir_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
