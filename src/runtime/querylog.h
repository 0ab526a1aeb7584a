/*
 * querylog: the line [log] query_log = yes writes for each answered query,
 * readable like BIND's query log and Unbound's log-replies, one query per
 * line, ten fields separated by single spaces:
 *
 *   client 127.0.0.1#40000 udp: acct.blob.core.windows.net IN A NOERROR synth 0.012ms 10.1.2.3
 *
 *   1 "client"   2 address#port (IPv6 without brackets, as BIND writes it)
 *   3 "udp:" or "tcp:"   4 the name as asked (case kept, no final dot,
 *   RFC 1035 escapes, "." for the root)   5 class   6 type   7 rcode
 *   (mnemonics; RFC 3597 CLASSn / TYPEn and RCODEn for the unnamed)
 *   8 how the answer was made (local, synth, spliced, forwarded, cache,
 *   stale, refused, error)   9 time from query to answer, in milliseconds
 *   10 the A and AAAA addresses of the answer section, comma-separated, at
 *   most QUERYLOG_MAX_ADDRS, then ",+N" for the N more; "-" when none.
 *
 * Pure functions over a reply already built: the worker calls them only
 * when the query log is on.
 */
#ifndef PLDNS_QUERYLOG_H
#define PLDNS_QUERYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"
#include "engine/answer.h"
#include "wire/wire.h"

#define QUERYLOG_MAX_ADDRS	4
/* Room for any line: a name of 255 octets escaped is at most 1004 characters. */
#define QUERYLOG_LINE_MAX	1400

/* "A", "AAAA", "TYPE65534": the mnemonic of TYPE into BUF (at least 16). */
const char *querylog_type(uint16_t type, char *buf, size_t len);
/* "IN", "CH", "HS", "NONE", "ANY", "CLASS7". */
const char *querylog_class(uint16_t rclass, char *buf, size_t len);
/* "NOERROR", "NXDOMAIN", "BADVERS", "RCODE12". */
const char *querylog_rcode(int rcode, char *buf, size_t len);
/* The word for how an answer was made; STALE: an expired cache entry. */
const char *querylog_path(enum answer_path path, bool stale);

/* Field 10 for the reply MSG/LEN into BUF ("-" when none, and when the
 * reply cannot be read). */
const char *querylog_addrs(const uint8_t *msg, size_t len, char *buf, size_t cap);

/*
 * The whole line (without newline) for Q from CLIENT, answered with
 * INFO (rcode, path, stale) by the reply MSG/LEN, US microseconds after
 * it arrived.  BUF of QUERYLOG_LINE_MAX holds any line; returns BUF.
 */
const char *querylog_format(char *buf, size_t cap, const struct pl_addr *client,
    bool tcp, const struct wire_query *q, const struct answer_info *info,
    const uint8_t *msg, size_t len, uint64_t us);

#endif
