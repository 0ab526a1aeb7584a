/*
 * fuzz_common: what the libFuzzer harnesses share: a private temporary
 * directory for inputs that must be files, the answer snapshot built once
 * from tests/data/answer, and oracles that abort() when a reply or a
 * loader's report breaks a promise of the headers (libFuzzer reports an
 * abort like any crash, with the input that caused it).
 */
#ifndef PLDNS_FUZZ_COMMON_H
#define PLDNS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/answer.h"
#include "data/config.h"
#include "util/diag.h"
#include "data/snapshot.h"
#include "wire/wire.h"

/* Aborts with a message on stderr. */
void fuzz_fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* NAME inside the harness's private temporary directory (made on first
 * use, removed at exit).  Static storage; one name per call site is fine. */
const char *fuzz_path(const char *name);

/* Writes DATA to PATH (created or truncated); aborts on failure. */
void fuzz_write(const char *path, const uint8_t *data, size_t size);

/* The snapshot of the tests/data/answer zone files with missing = MISSING (a config
 * from config_new()); built once per value, never freed. */
const struct snapshot *fuzz_snapshot(int missing);

/*
 * Checks a reply to Q of LEN bytes: within LIMIT, the query's ID, QR set,
 * every section parses to the end, the question echoed with its case when
 * ECHO, an OPT (once, in the additional section) when the query had EDNS.
 * When LOCAL_CLEAN is 1, no record in the authority or additional section is
 * owned by a name inside a local zone of S; when 2, no record at all.
 * The environment variable PLDNS_FUZZ_NO_LOCAL_CHECK turns that check off
 * (to look for other bugs while a known leak is being fixed).
 */
void fuzz_check_reply(const struct snapshot *s, const struct wire_query *q,
    const uint8_t *out, size_t len, size_t limit, bool echo, int local_clean,
    const char *what);

/* Checks that every message of D starts with "PATH:" and that
 * nerrors/nwarnings agree with the messages. */
void fuzz_check_diag(const struct diag *d, const char *path);

/*
 * One source import: DATA is written to FILE in the temporary directory and
 * loaded with source_load(cfg, "PREFIX:path").  Checks the promises of
 * sources.h and records.h: a source is taken whole or not at all, -1 exactly
 * when an error was reported, every message located in the file, every
 * record's owner valid, lower-case and inside its zone.  An accepted source
 * then goes through sources_finish() and snapshot_new().
 */
void fuzz_source(const char *prefix, const char *file, const uint8_t *data,
    size_t size);

#endif
