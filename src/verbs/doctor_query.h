/*
 * doctor_query: the query engine of "pldns doctor", for doctor.c.  A small
 * poll() loop over one socket per query: UDP sockets are connected, so
 * that a closed port is seen at once as ECONNREFUSED; UDP is sent again
 * once before the timeout; TCP connections per server are capped below
 * pldns's tcp_max_per_client default.  It needs nothing of doctor.h: what
 * a query gave is in doctor_int.h.
 */
#ifndef PLDNS_DOCTOR_QUERY_H
#define PLDNS_DOCTOR_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"
#include "verbs/doctor_int.h"
#include "wire/wire.h"

enum dq_state { DQ_NEW, DQ_CONNECTING, DQ_SENDING, DQ_READING, DQ_DONE };

/* One query to one server over one transport. */
struct dq {
	struct pl_addr server;
	uint8_t qname[WIRE_NAME_MAX];
	uint16_t qtype;
	bool tcp;
	size_t tag;		/* the caller's: which server or record */
	struct doctor_reply reply;

	enum dq_state state;
	int fd;
	uint16_t id;
	uint64_t t0, deadline, resend_at;
	uint8_t msg[2 + 512];	/* TCP length prefix, then the query */
	size_t msglen;		/* the query without the prefix */
	size_t sent;		/* TCP: octets of msg sent */
	uint8_t lenbuf[2];
	size_t lenhave;
	uint8_t *in;		/* TCP: the reply being read */
	size_t inlen, inneed;
};

struct dqset {
	struct dq *q;
	size_t n, cap;
};

/* Adds a query for QNAME/QTYPE to SERVER over UDP or TCP; TAG is the
 * caller's.  Returns its index in S. */
size_t dq_add(struct dqset *s, const struct pl_addr *server, const uint8_t *qname,
    uint16_t qtype, bool tcp, size_t tag);

/* Runs every query of S to its end, concurrently, each within TIMEOUT_MS;
 * each one's outcome is in its reply. */
void dq_run(struct dqset *s, unsigned timeout_ms);

/* Closes and frees everything S holds. */
void dq_clear(struct dqset *s);

#endif
