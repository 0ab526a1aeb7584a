/*
 * Unit tests for verbs: the option parser, the usage text, the list of
 * verbs and the look-up by name or alias.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"
#include "verbs/verbs.h"

static struct verb_args last;
static int runs;

static int
run_keep(struct verb_args *a)
{
	runs++;
	last.nv = a->nv;
	return 7;
}

static const struct verb_opt opts[] = {
	{ 'c', "config", VERB_ARG },
	{ 'j', "json", 0 },
	{ 'n', "name", VERB_ARG },
	{ 'F', "force", VERB_LONG },
	{ 'z', "zone-dir", VERB_ARG | VERB_LONG },
	{ 'x', NULL, 0 },
	{ 0, NULL, 0 }
};

static const struct verb test_verb = {
	.name = "probe",
	.alias = "pr|p",
	.usage = "[-c FILE] [--json] [--name NAME]...\n[--force] NAME [NAME]",
	.help = "probe things",
	.text = "Probes.\n",
	.opts = opts,
	.lower = 1, .upper = 2,
	.run = run_keep,
};

static const struct verb quiet_verb = {
	.name = "quiet",
	.usage = "",
	.text = "",
	.lower = 0, .upper = VERB_ANY,
	.usage_status = 2,
	.run = run_keep,
};

/* ARGV as a writable NULL-terminated vector (getopt permutes it). */
static int
vec(char **out, size_t cap, ...)
{
	va_list ap;
	const char *s;
	int n = 0;

	va_start(ap, cap);
	while ((s = va_arg(ap, const char *)) != NULL && (size_t)n + 1 < cap)
		out[n++] = (char *)s;
	va_end(ap);
	out[n] = NULL;
	return n;
}

static void
test_parse_options(void **state)
{
	char *argv[16];
	struct verb_args a;
	size_t it = 0;
	int argc;

	(void)state;
	argc = vec(argv, nitems(argv), "probe", "-c", "a.ini", "name1", "--json",
	    "--name", "x,y", "-n", "z", "--config=b.ini", "--force",
	    "--zone-dir", "d", "-x", NULL);
	assert_int_equal(verb_parse(&test_verb, argc, argv, &a), VERB_RUN);
	assert_ptr_equal(a.verb, &test_verb);
	/* The last -c counts; every --name is kept, in order. */
	assert_string_equal(verb_get(&a, 'c', "def"), "b.ini");
	assert_true(verb_has(&a, 'j'));
	assert_true(verb_has(&a, 'F'));
	assert_true(verb_has(&a, 'x'));
	assert_string_equal(verb_get(&a, 'z', NULL), "d");
	assert_string_equal(verb_next(&a, 'n', &it), "x,y");
	assert_string_equal(verb_next(&a, 'n', &it), "z");
	assert_null(verb_next(&a, 'n', &it));
	assert_int_equal(a.argc, 1);
	assert_string_equal(a.argv[0], "name1");
	verb_args_clear(&a);

	/* Nothing given: the defaults. */
	argc = vec(argv, nitems(argv), "probe", "only", NULL);
	assert_int_equal(verb_parse(&test_verb, argc, argv, &a), VERB_RUN);
	assert_string_equal(verb_get(&a, 'c', "def"), "def");
	assert_false(verb_has(&a, 'j'));
	assert_null(verb_get(&a, 'z', NULL));
	verb_args_clear(&a);
}

static void
test_parse_errors(void **state)
{
	char *argv[16];
	struct verb_args a;
	int argc;

	(void)state;
	/* getopt says why on stderr; keep the test's output clean. */
	opterr = 0;
	argc = vec(argv, nitems(argv), "probe", "--bogus", "n", NULL);
	assert_int_equal(verb_parse(&test_verb, argc, argv, &a), VERB_USAGE);
	argc = vec(argv, nitems(argv), "probe", "n", "-c", NULL);
	assert_int_equal(verb_parse(&test_verb, argc, argv, &a), VERB_USAGE);
	/* A long-only option has no letter. */
	argc = vec(argv, nitems(argv), "probe", "-F", "n", NULL);
	assert_int_equal(verb_parse(&test_verb, argc, argv, &a), VERB_USAGE);
	/* A letter-only option has no long name. */
	argc = vec(argv, nitems(argv), "probe", "--x", "n", NULL);
	assert_int_equal(verb_parse(&test_verb, argc, argv, &a), VERB_USAGE);
	/* Operands: too few, too many. */
	argc = vec(argv, nitems(argv), "probe", "-j", NULL);
	assert_int_equal(verb_parse(&test_verb, argc, argv, &a), VERB_USAGE);
	argc = vec(argv, nitems(argv), "probe", "a", "b", "c", NULL);
	assert_int_equal(verb_parse(&test_verb, argc, argv, &a), VERB_USAGE);
	/* -h and --help belong to every verb, wherever they stand. */
	argc = vec(argv, nitems(argv), "probe", "a", "--help", NULL);
	assert_int_equal(verb_parse(&test_verb, argc, argv, &a), VERB_HELP);
	argc = vec(argv, nitems(argv), "quiet", "-h", NULL);
	assert_int_equal(verb_parse(&quiet_verb, argc, argv, &a), VERB_HELP);
	argc = vec(argv, nitems(argv), "quiet", "-c", "x", NULL);
	assert_int_equal(verb_parse(&quiet_verb, argc, argv, &a), VERB_USAGE);
	opterr = 1;
}

/* What was written to FP, as a string (caller frees); closes FP. */
static char *
captured(FILE *fp)
{
	long len;
	char *buf;

	fflush(fp);
	len = ftell(fp);
	buf = xcalloc(1, (size_t)len + 1);
	rewind(fp);
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	return buf;
}

static void
test_usage_and_list(void **state)
{
	const struct verb *table[] = { &test_verb, &quiet_verb };
	FILE *fp;
	char *s;

	(void)state;
	fp = tmpfile();
	verb_usage(&test_verb, fp);
	s = captured(fp);
	assert_string_equal(s,
	    "usage: pldns probe [-c FILE] [--json] [--name NAME]...\n"
	    "                   [--force] NAME [NAME]\n"
	    "Probes.\n");
	free(s);

	fp = tmpfile();
	verb_usage(&quiet_verb, fp);
	s = captured(fp);
	assert_string_equal(s, "usage: pldns quiet\n");
	free(s);

	/* A verb without a help line is not listed; a long synopsis puts
	 * the help line under it. */
	fp = tmpfile();
	verb_list(table, nitems(table), fp);
	s = captured(fp);
	assert_string_equal(s,
	    "usage: pldns VERB [options]\n\nverbs:\n"
	    "  probe [-c FILE] [--json] [--name NAME]...\n"
	    "        [--force] NAME [NAME]\n"
	    "                              probe things\n"
	    "\npldns VERB --help describes one verb.  See pldns(8) and "
	    "pldns.ini(5).\n");
	free(s);

	assert_ptr_equal(verb_find(table, nitems(table), "probe"), &test_verb);
	assert_ptr_equal(verb_find(table, nitems(table), "pr"), &test_verb);
	assert_ptr_equal(verb_find(table, nitems(table), "p"), &test_verb);
	assert_ptr_equal(verb_find(table, nitems(table), "quiet"), &quiet_verb);
	assert_null(verb_find(table, nitems(table), "pro"));
	assert_null(verb_find(table, nitems(table), "pr|p"));
	assert_null(verb_find(table, nitems(table), ""));
}

/* verb_exec: help on stdout with 0, a usage error on stderr with the
 * verb's status, else the verb's own status. */
static void
test_exec(void **state)
{
	char *argv[16];
	int argc, saved, fd;
	char path[64];

	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_verbs.%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stdout);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	runs = 0;
	argc = vec(argv, nitems(argv), "probe", "a", "-j", NULL);
	assert_int_equal(verb_exec(&test_verb, argc, argv), 7);
	assert_int_equal(runs, 1);
	assert_int_equal(last.nv, 1);
	argc = vec(argv, nitems(argv), "probe", NULL);
	assert_int_equal(verb_exec(&test_verb, argc, argv), 64);
	argc = vec(argv, nitems(argv), "quiet", "--nope", NULL);
	assert_int_equal(verb_exec(&quiet_verb, argc, argv), 2);
	assert_int_equal(verb_error(&quiet_verb, true, "bad %s", "thing"), 2);
	assert_int_equal(verb_error(&test_verb, false, "--x %d", 5), 64);
	assert_int_equal(runs, 1);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	{
		char buf[1024];
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

		assert_true(n > 0);
		buf[n] = '\0';
		assert_non_null(strstr(buf, "usage: pldns probe [-c FILE]"));
		assert_non_null(strstr(buf, "quiet: unrecognized option '--nope'\n"
		    "usage: pldns quiet\n"));
		assert_non_null(strstr(buf, "pldns: quiet: bad thing\n"
		    "usage: pldns quiet\n"));
		assert_non_null(strstr(buf, "pldns: probe: --x 5\n"));
		assert_null(strstr(buf, "pldns: probe: --x 5\nusage"));
	}
	close(fd);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_options),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_usage_and_list),
		cmocka_unit_test(test_exec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
