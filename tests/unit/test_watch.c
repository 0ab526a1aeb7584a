/*
 * Unit tests for watch: a change is reported once the file is stable, a
 * rename into place is seen, and a change made just before the watched set
 * is replaced (as after every reload) is not lost.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "util/util.h"
#include "runtime/watch.h"

struct env {
	struct event_base *base;
	struct watch *w;
	char dir[64];
	char path[128], other[128];
	int fired;
};

static void
fired_cb(void *arg)
{
	((struct env *)arg)->fired++;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Turns the loop until the callback has fired N times or MS pass. */
static void
run_until(struct env *e, int n, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (e->fired < n && now_ms() < end) {
		event_base_loop(e->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	}
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char *paths[2];

	strcpy(e->dir, "/tmp/pldns-watch-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/dns.csv", e->dir);
	snprintf(e->other, sizeof(e->other), "%s/pldns.ini", e->dir);
	write_file(e->path, "a\n");
	write_file(e->other, "b\n");
	e->base = event_base_new();
	e->w = watch_new(e->base, fired_cb, e);
	assert_non_null(e->w);
	paths[0] = e->path;
	paths[1] = e->other;
	watch_set(e->w, paths, 2);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	char tmp[160];

	watch_free(e->w);
	event_base_free(e->base);
	unlink(e->path);
	unlink(e->other);
	snprintf(tmp, sizeof(tmp), "%s/new.tmp", e->dir);
	unlink(tmp);
	rmdir(e->dir);
	free(e);
	return 0;
}

/* A write is reported once, after the file has settled (250 ms). */
static void
test_change_reported(void **state)
{
	struct env *e = *state;
	uint64_t t0 = now_ms();

	write_file(e->path, "changed\n");
	run_until(e, 1, 3000);
	assert_int_equal(e->fired, 1);
	assert_true(now_ms() - t0 >= 250);
	run_until(e, 2, 700);
	assert_int_equal(e->fired, 1);
}

/* An editor's rename into place is a change of the watched name. */
static void
test_rename_into_place(void **state)
{
	struct env *e = *state;
	char tmp[160];

	snprintf(tmp, sizeof(tmp), "%s/new.tmp", e->dir);
	write_file(tmp, "[server]\n");
	assert_int_equal(rename(tmp, e->other), 0);
	run_until(e, 1, 3000);
	assert_int_equal(e->fired, 1);
}

/*
 * A change made while a reload runs is still queued when the reload
 * replaces the watched set: it must be reported, not dropped with a
 * removed watch.
 */
static void
test_change_survives_watch_set(void **state)
{
	struct env *e = *state;
	char *paths[2] = { e->path, e->other };

	write_file(e->other, "changed during a reload\n");
	watch_set(e->w, paths, 2);
	run_until(e, 1, 3000);
	assert_int_equal(e->fired, 1);
}

/* Files other than the watched ones in the same directory are ignored. */
static void
test_other_files_ignored(void **state)
{
	struct env *e = *state;
	char tmp[160];

	snprintf(tmp, sizeof(tmp), "%s/new.tmp", e->dir);
	write_file(tmp, "unrelated\n");
	run_until(e, 1, 800);
	assert_int_equal(e->fired, 0);
}

/*
 * A records directory ("DIR/"): a file added to it later is a change, as
 * the server must load it; a file that would not be loaded (an editor's
 * swap file, a package's leftover) is not.
 */
static void
test_directory_new_file(void **state)
{
	struct env *e = *state;
	char sub[96], swap[160], added[160];
	char *paths[1] = { sub };

	snprintf(sub, sizeof(sub), "%s/records/", e->dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	watch_set(e->w, paths, 1);
	snprintf(swap, sizeof(swap), "%s.site.csv.swp", sub);
	write_file(swap, "scratch\n");
	snprintf(added, sizeof(added), "%ssite.csv.dpkg-old", sub);
	write_file(added, "old\n");
	run_until(e, 1, 800);
	assert_int_equal(e->fired, 0);
	unlink(added);
	snprintf(added, sizeof(added), "%ssite.CSV", sub);
	write_file(added, "new\n");
	run_until(e, 1, 3000);
	unlink(swap);
	unlink(added);
	rmdir(sub);
	assert_int_equal(e->fired, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_change_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_into_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_survives_watch_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_files_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_new_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
