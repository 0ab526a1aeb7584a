/*
 * verbs: pldns's verbs as a table (one struct verb per verb, as tmux's
 * cmd_entry), and the one option parser, usage printer and dispatcher
 * they share.
 *
 * An entry names the verb, its synopsis, its line in "pldns --help", the
 * rest of its "pldns VERB --help", its options and how many operands it
 * takes.  verb_exec() parses the options with getopt_long() (GNU order:
 * options and operands may mix), answers -h and --help, which every verb
 * has, and calls the verb with what it parsed; a usage error prints the
 * verb's usage on stderr and exits with the verb's usage status.  The
 * synopses are those of pldns(8); the system tests compare the two.
 */
#ifndef PLDNS_VERBS_H
#define PLDNS_VERBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
/* The configuration every verb reads without -c. */
#define VERB_DEFAULT_CONFIG	SYSCONFDIR "/pldns/pldns.ini"

#define VERB_EX_USAGE	64	/* sysexits.h EX_USAGE */
#define VERB_ANY	(-1)	/* no upper bound on operands */

/* Flags of an option. */
#define VERB_ARG	0x1	/* takes a value */
#define VERB_LONG	0x2	/* long name only: CH is its key, not a letter */

/* One option of a verb; a verb's list ends with { 0 }. */
struct verb_opt {
	int ch;			/* -CH, and the key of verb_get() */
	const char *name;	/* --NAME; NULL when it has none */
	int flags;
};

/* The options most verbs share, and the end of a list. */
#define VERB_OPT_CONFIG	{ 'c', "config", VERB_ARG }
#define VERB_OPT_SERVER	{ 's', "server", VERB_ARG }
#define VERB_OPT_END	{ 0, NULL, 0 }

struct verb_args;

struct verb {
	const char *name;
	const char *alias;	/* other names, '|' between them; NULL: none */
	/* The synopsis after "pldns NAME", as in pldns(8); '\n' where it
	 * wraps. */
	const char *usage;
	const char *help;	/* its line in "pldns --help"; NULL: not listed */
	const char *text;	/* the rest of "pldns NAME --help" */
	const struct verb_opt *opts;
	int lower, upper;	/* how many operands: at least, at most */
	int usage_status;	/* exit status of a usage error; 0: 64 */
	/* Runs the verb; returns its exit status. */
	int (*run)(struct verb_args *a);
};

/* What verb_parse() found. */
struct verb_args {
	const struct verb *verb;
	struct verb_val {
		int ch;
		const char *val;	/* NULL for an option without a value */
	} *v;			/* every option given, in order */
	size_t nv;
	char **argv;		/* the operands */
	int argc;
};

enum verb_parsed { VERB_RUN, VERB_HELP, VERB_USAGE };

/*
 * Parses ARGV (ARGV[0] is the verb's name) by V's options into A.
 * VERB_RUN: A holds the options and operands (verb_args_clear() frees it);
 * VERB_HELP: -h or --help was given; VERB_USAGE: an unknown option or a
 * missing value (getopt said which on stderr) or too few or too many
 * operands.  ARGV is permuted (operands last), as getopt does.
 */
enum verb_parsed verb_parse(const struct verb *v, int argc, char **argv,
    struct verb_args *a);

void verb_args_clear(struct verb_args *a);

/* Parses and runs V; its usage on stdout for --help (0), on stderr for a
 * usage error (its usage status). */
int verb_exec(const struct verb *v, int argc, char **argv);

/* True when the option CH was given. */
bool verb_has(const struct verb_args *a, int ch);

/* The last value given to CH, or DEF when none. */
const char *verb_get(const struct verb_args *a, int ch, const char *def);

/* The values of CH in order: starts at *I = 0, NULL after the last. */
const char *verb_next(const struct verb_args *a, int ch, size_t *i);

/* "usage: pldns NAME SYNOPSIS" and the verb's text. */
void verb_usage(const struct verb *v, FILE *f);

/* Prints "pldns: NAME: MESSAGE" on stderr, then with USAGE the verb's
 * usage (without, for a bad option value); returns the verb's usage
 * status. */
int verb_error(const struct verb *v, bool usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The verb of TABLE (N entries) called NAME or one of its aliases. */
const struct verb *verb_find(const struct verb *const *table, size_t n,
    const char *name);

/* The list of verbs for "pldns --help": each listed verb's synopsis and
 * its line. */
void verb_list(const struct verb *const *table, size_t n, FILE *f);

/* The verbs outside main.c. */
extern const struct verb verb_ctl;		/* ctl.c */
extern const struct verb verb_doctor;		/* doctor.c */
extern const struct verb verb_forwarders;	/* forwarders.c */
extern const struct verb verb_sync;		/* azure_sync_run.c */

struct pl_addr;

/*
 * ctl.c, for doctor: GET TARGET from the control endpoint at A (a wildcard
 * address is reached on loopback).  0 with the HTTP *STATUS and *BODY
 * (NUL-terminated; caller frees), or -1 with ERR saying why.
 */
int ctl_http_get(const struct pl_addr *a, const char *target, int *status,
    char **body, char *err, size_t errlen);

#endif
