/*
 * doctor: "pldns doctor", the DNS part of Microsoft's "troubleshoot network
 * connectivity" steps for private endpoints as one command.
 *
 * pldns knows every record it should serve (the sources of its
 * configuration), so the doctor asks the running pldns (UDP and TCP) for each
 * privatelink name and its public twin, asks the upstreams for the public
 * name, checks each address (private range, [doctor] expect_subnets,
 * duplicates), the infrastructure (listen addresses, upstreams, this
 * machine's resolver) and the Azure Migrate set, and reports findings.
 *
 * This header exposes the pure parts (judging a reply, the Migrate set,
 * output) so that they can be tested without a network; the verb
 * (doctor.c, verb_doctor in verbs.h) gathers the facts and does the
 * querying, through doctor_query.h.  doc/doctor.md documents the checks and the
 * JSON keys; the check names and keys here are part of that contract.
 */
#ifndef PLDNS_DOCTOR_H
#define PLDNS_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/addr.h"
#include "data/azure_zones.h"
#include "verbs/doctor_int.h"

enum doctor_status { DOCTOR_OK, DOCTOR_WARNING, DOCTOR_PROBLEM };

/* One line of the report.  Every string is owned by the report; any but
 * CHECK may be NULL ("not applicable", null in JSON). */
struct doctor_finding {
	char *check;		/* stable check name: "privatelink", "public", ... */
	enum doctor_status status;
	char *zone;		/* the privatelink zone; NULL for infrastructure */
	char *name;		/* the name (or address) the check is about */
	char *server;		/* "addr:port" that was asked */
	char *expected;
	char *got;
	char *hint;		/* the fix, in the admin's terms; NULL when ok */
	char *where;		/* "file:line" of the record in the sources */
	int rtt_ms;		/* round trip time, -1 when none */
};

struct doctor_report {
	struct doctor_finding *f;
	size_t n, cap;
};

void doctor_report_init(struct doctor_report *r);
void doctor_report_clear(struct doctor_report *r);

/* Appends a finding (strings copied; NULL allowed but for CHECK) and
 * returns it, so that the caller may set server, where and rtt_ms (with
 * doctor_set()).  The pointer is valid until the next doctor_add(). */
struct doctor_finding *doctor_add(struct doctor_report *r, const char *check,
    enum doctor_status status, const char *zone, const char *name,
    const char *expected, const char *got, const char *hint);

/* Replaces the string *FIELD of a finding with a copy of S (NULL clears). */
void doctor_set(char **field, const char *s);

/* Counts findings by status (any pointer may be NULL). */
void doctor_count(const struct doctor_report *r, size_t *ok, size_t *warnings,
    size_t *problems);

/* Exit statuses of "pldns doctor". */
#define DOCTOR_EXIT_OK		0	/* all well (warnings allowed) */
#define DOCTOR_EXIT_PROBLEMS	1	/* problems found */
#define DOCTOR_EXIT_CANNOT	2	/* could not run */

/* DOCTOR_EXIT_OK when no finding is a problem, else DOCTOR_EXIT_PROBLEMS. */
int doctor_exit_status(const struct doctor_report *r);

/*
 * Orders the findings for output: infrastructure (zone NULL) first, then
 * one group per zone in the order zones first appear; the order inside a
 * group is kept.
 */
void doctor_sort(struct doctor_report *r);

/* The findings as a JSON array (see doc/doctor.md), pretty-printed with a
 * final newline.  Caller frees. */
char *doctor_json(const struct doctor_report *r);

/* The table (✓ / ✗ / ! check name expected got hint) grouped by zone, then
 * the summary line "N checks: N ok, N problems, N warnings". */
void doctor_print_table(const struct doctor_report *r, FILE *f);

/* The summary line without newline, into BUF. */
const char *doctor_summary(const struct doctor_report *r, char *buf, size_t len);

/* ---- verdicts (doctor_verdict.c); replies are in doctor_int.h ---- */

/* True when R's CNAME chain holds NAME (presentation, any case). */
bool doctor_chain_has(const struct doctor_reply *r, const char *name);

/* Status, got and hint of one check. */
struct doctor_verdict {
	enum doctor_status status;
	char got[512];
	char hint[768];		/* "" when none */
};

/* "10.1.0.5, fd00::5" into BUF. */
const char *doctor_ips_str(const struct doctor_ip *ips, size_t n, char *buf,
    size_t len);

/* True when the two lists hold the same addresses (as sets). */
bool doctor_ips_same(const struct doctor_ip *a, size_t na,
    const struct doctor_ip *b, size_t nb);

/*
 * Judges the reply of pldns at SERVER over TRANSPORT ("udp", "tcp") for a
 * record whose addresses should be WANT: the privatelink name itself, or
 * (PUBLIC_NAME) its public twin.
 */
void doctor_judge_pldns(const struct doctor_ip *want, size_t nwant,
    bool public_name, const char *server, const char *transport,
    const struct doctor_reply *r, struct doctor_verdict *v);

/*
 * Judges an upstream's reply for the public name of a record whose
 * privatelink name is PLNAME and addresses WANT: does the public chain
 * reach PLNAME, does the upstream already give a private address, or
 * another one.  SOFT_NO_CNAME downgrades "no privatelink CNAME" to a
 * warning (Site Recovery, whose record names are not published that way).
 */
void doctor_judge_upstream(const struct doctor_ip *want, size_t nwant,
    const char *plname, bool soft_no_cname, const struct doctor_reply *r,
    struct doctor_verdict *v);

/* Judges one address of a record: private range, inside SUBNETS when
 * NSUBNETS > 0.  Sets EXPECTED (LEN bytes) too. */
void doctor_judge_address(const struct doctor_ip *ip,
    const struct pl_cidr *subnets, size_t nsubnets, char *expected, size_t len,
    struct doctor_verdict *v);

/* UDP and TCP verdicts of one check as one: the worse status, both "got"s
 * when they differ.  Either of U and T may be NULL, not both. */
void doctor_merge(struct doctor_verdict *out, const struct doctor_verdict *u,
    const struct doctor_verdict *t);

/*
 * Whether a server is there at all (the infrastructure checks): R is its
 * reply over TRANSPORT to a probe for PROBE.  PLDNS: SERVER is a pldns
 * (the one under test or a listen address); else an upstream, of the
 * [forward "FWD"] zone when FWD is not NULL, else of [upstream].
 */
void doctor_judge_reach(const char *server, const char *fwd, bool pldns,
    const char *probe, const char *transport, const struct doctor_reply *r,
    struct doctor_verdict *v);

/* What this machine's resolver should answer, for doctor_judge_resolver(). */
struct doctor_resolver_want {
	const char *resolv_path;	/* the resolv.conf naming the resolver */
	const char *name;		/* the name it was asked */
	const struct doctor_ip *ips;	/* the addresses the sources give */
	size_t nips;
	const char *zones;		/* the zones to forward to pldns, ", "-separated */
	size_t nzones;
	const char *here;		/* where they go: "this server (...)" */
	const char *config;		/* the configuration's path */
};

/* Judges the reply R of this machine's resolver SERVER: the sources'
 * addresses (it reaches pldns), another private one, or anything else. */
void doctor_judge_resolver(const struct doctor_resolver_want *w,
    const char *server, const struct doctor_reply *r, struct doctor_verdict *v);

/* "10.1.0.5" into BUF (LEN bytes); "?" when it cannot be written. */
const char *doctor_ip_str(const struct doctor_ip *ip, char *buf, size_t len);

/* True when IP is one of SET's N addresses. */
bool doctor_ip_in(const struct doctor_ip *ip, const struct doctor_ip *set,
    size_t n);

/* True when NAME is strictly below ZONE (presentation, lower-case). */
bool doctor_name_below(const char *name, const char *zone);

/*
 * The public name of the privatelink name PLNAME in ZONE through the twin
 * suffix TWIN (acct.privatelink.blob.core.windows.net ->
 * acct.blob.core.windows.net) into OUT (AZURE_NAME_MAX).  -1 when PLNAME is
 * not strictly below ZONE or the result is too long.
 */
int doctor_public_name(const char *plname, const char *zone, const char *twin,
    char *out);

/*
 * Splits a Site Recovery record name "{vault}-asr-pod01-{type}-.{geo}.ZONE"
 * into its vault ID, type and geo code (each at most 63 characters + NUL).
 * Returns 0, or -1 when NAME does not have that form.
 */
int doctor_asr_split(const char *name, char *vault, char *type, char *geo);

/* A name's addresses as the sources give them. */
struct doctor_rrset {
	char name[AZURE_NAME_MAX];	/* privatelink, presentation, lower-case */
	struct doctor_ip ips[DOCTOR_MAX_ADDRS];
	const char *wheres[DOCTOR_MAX_ADDRS];	/* "file:line" of each, or NULL */
	size_t nips;
};

/*
 * The duplicate checks of E, one of the N sets ALL (E among them) of the
 * sources: each address of E another name has too is a warning
 * ("duplicate-address"), and so are addresses of E given by more than one
 * file ("duplicate-name").  Findings, in ZONE, go to R.
 */
void doctor_check_duplicates(struct doctor_report *r, const char *zone,
    const struct doctor_rrset *e, const struct doctor_rrset *const *all,
    size_t n);

/* ---- the Azure Migrate checks (doctor_migrate.c) ---- */

/*
 * The Azure Migrate checks over every record name NAMES (privatelink,
 * presentation, lower-case, no trailing dot): for each cloud whose Migrate
 * or Site Recovery zone has records, the four Migrate zones have records
 * (key vault and storage account included); each Site Recovery vault has
 * all five names (id1, prot2, rcm1, srs1, tel1).  Findings go to R.
 */
void doctor_check_migrate(struct doctor_report *r, const char *const *names,
    size_t n);

/* ---- names clients miss (doctor_missing.c) ---- */

/* One name of the running pldns's table of names clients miss. */
struct doctor_missed {
	char name[AZURE_NAME_MAX];	/* as asked: presentation, lower-case */
	char zone[AZURE_NAME_MAX];	/* the local zone */
	uint64_t count;
};

/*
 * Reads the names clients miss from the JSON of pldns's GET /status
 * ("missing": {"top": [{"name", "zone", "count", ...}]}) into *OUT (caller
 * frees) and *N.  Returns 0, or -1 when JSON is not such a document.
 */
int doctor_missed_parse(const char *json, struct doctor_missed **out, size_t *n);

/*
 * Judges a name clients miss, M, whose privatelink form is PLNAME: HELD
 * when a source holds PLNAME now; R is the upstream's reply for its public
 * name (NULL when no upstream could be asked).  A public CNAME into
 * PLNAME is a problem (a private endpoint no source holds); the rest are
 * warnings.
 */
void doctor_judge_missed(const struct doctor_missed *m, const char *plname,
    bool held, const struct doctor_reply *r, struct doctor_verdict *v);

/*
 * The check of every [azure] section of CFG (doctor_azure.c): a problem
 * when its last good sync is older than three intervals (or there was
 * none), with the last error.
 */
struct config;
void azure_sync_doctor(const struct config *cfg, struct doctor_report *r);

#endif
