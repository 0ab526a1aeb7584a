/*
 * doctor_int.h: what one query of "pldns doctor" gave and how a reply is
 * read (doctor_query.c), the one thing its query engine (doctor_query.h),
 * which fills it in, and its verdicts (doctor.h), which judge it, both
 * need.
 */
#ifndef PLDNS_DOCTOR_INT_H
#define PLDNS_DOCTOR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/azure_zones.h"

#define DOCTOR_MAX_ADDRS	16
#define DOCTOR_MAX_CHAIN	16

enum doctor_outcome {
	DOCTOR_ANSWER,		/* a reply came (any RCODE) */
	DOCTOR_TIMEOUT,		/* no reply in time */
	DOCTOR_CLOSED,		/* port closed: ICMP unreachable or TCP reset */
	DOCTOR_NETERR,		/* another socket error (text in error) */
	DOCTOR_BADREPLY		/* a reply that could not be parsed */
};

struct doctor_ip {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network order */
};

/* What one query gave. */
struct doctor_reply {
	enum doctor_outcome outcome;
	int rcode;		/* DOCTOR_ANSWER only */
	bool tc;
	unsigned rtt_ms;
	struct doctor_ip addrs[DOCTOR_MAX_ADDRS];	/* A and AAAA of the answer */
	size_t naddrs;
	/* CNAME targets of the answer in message order: presentation,
	 * lower-case, without trailing dot */
	char chain[DOCTOR_MAX_CHAIN][AZURE_NAME_MAX];
	size_t nchain;
	char error[96];		/* DOCTOR_NETERR / DOCTOR_BADREPLY */
};

/*
 * Reads the reply PKT/LEN to the query with ID for QNAME (wire) and QTYPE
 * into R.  Returns -1 when it is not a reply to that query (wrong ID or
 * question: to be ignored), else 0 with R->outcome DOCTOR_ANSWER, or
 * DOCTOR_BADREPLY when the message is malformed.
 */
int doctor_reply_parse(const uint8_t *pkt, size_t len, uint16_t id,
    const uint8_t *qname, uint16_t qtype, struct doctor_reply *r);

/* The wire name WNAME in presentation, lower-case, without trailing dot,
 * into OUT (LEN bytes); "?" when it is not a name. */
void doctor_name_str(const uint8_t *wname, char *out, size_t len);

#endif
