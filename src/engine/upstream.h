/*
 * upstream: sends questions to upstream resolvers and returns their answers.
 *
 * Each try goes out on one of a few UDP sockets per server, each bound to a
 * random port, connected to the server so that the kernel filters foreign
 * sources and reports an ICMP port-unreachable as ECONNREFUSED, and replaced
 * after a hundred-odd queries; the query ID comes from a CSPRNG, one per
 * try.  A reply is taken only when its source, ID and question match one
 * of the request's tries (RFC 5452); every try stays live until the request
 * ends, so a reply slower than the timeout still answers it.  A reply that
 * matches no live try is counted as late when its ID was a try of an ended
 * request, else as spoofed, and ignored.  A try that gets no answer within
 * the server's retransmission timeout (smoothed RTT and variance, RFC 6298;
 * TIMEOUT_MS is the first guess and the ceiling) is followed by another, to
 * the next server in line, until the deadline.  TC=1 repeats the question
 * over TCP to the same server, once per server per request; a failed TCP
 * attempt fails that server for the request and counts against it, and a
 * server that keeps failing TCP gets none for a while.  A try that is
 * refused (ICMP, no route) or is answered SERVFAIL, REFUSED or NOTIMP moves
 * to the next server at once; a server that failed outright is not asked
 * again for the same request, and when every server has, the request fails
 * at once.
 * FORMERR to a query with EDNS is asked again without EDNS, and that server
 * is asked without EDNS for the next 15 minutes (RFC 6891 7).  The whole
 * request ends at its deadline.
 *
 * One pool per worker, used only from that worker's event loop.
 */
#ifndef PLDNS_UPSTREAM_H
#define PLDNS_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "util/addr.h"
#include "engine/upstream_msg.h"	/* building queries, checking replies */
#include "wire/wire.h"

struct upstream_pool;
struct upstream_req;

enum upstream_status {
	UPSTREAM_OK,		/* RESP holds a validated response */
	UPSTREAM_FAIL,		/* no server gave an answer before the deadline:
				 * they timed out or answered SERVFAIL, REFUSED,
				 * NOTIMP or FORMERR */
	UPSTREAM_UNREACHABLE	/* every server failed in the network: no route,
				 * port unreachable, connection reset, TLS */
};

/* RESP is valid only during the call.  The request is freed after it returns. */
typedef void (*upstream_cb)(void *arg, enum upstream_status st,
    const uint8_t *resp, size_t len);

/* Counted by the pool's worker, read by the main thread (util.h, COUNTER_ADD). */
struct upstream_stats {
	_Atomic unsigned long sent, answered, timeouts, refused, spoofed, tcp_retries,
	    failed, overflow, tls_failures, badcookie;
	_Atomic unsigned long late;	/* replies to tries of a request that has
					 * ended (answered by another try, or
					 * given up): not forged, just slow */
	_Atomic unsigned long tcp_failures;	/* TCP attempts after TC that failed */
	_Atomic unsigned long rcode_failures;	/* answers with SERVFAIL, REFUSED, NOTIMP,
					 * FORMERR: failed tries */
};

/* Per-pool options. */
struct upstream_opts {
	unsigned max_inflight;		/* per server; 0 unlimited */
	bool case_randomization;	/* 0x20 */
	bool cookies;			/* RFC 7873 client cookies */
	const char *tls_ca_file;	/* NULL: the system store */
	const struct addr_tls *tls;	/* servers spoken to over TLS */
	size_t ntls;
};

/* The state of one upstream server as a worker sees it. */
struct upstream_info {
	struct pl_addr addr;
	bool up;			/* false after consecutive failures, until a probe answers */
	_Atomic bool tls;		/* DNS over TLS */
	uint32_t rtt_ms;		/* smoothed round-trip time, 0 when unknown */
	/* The pool's own copy is counted by its worker while the main
	 * thread reads it (upstream_pool_info). */
	_Atomic uint64_t sent, answered, timeouts, refused, spoofed, inflight;
	_Atomic uint64_t errors;	/* answered SERVFAIL, NOTIMP or FORMERR
					 * (REFUSED counts in refused) */
};

struct upstream_pool *upstream_pool_new(struct event_base *base);
/* Cancels every pending request without calling its callback. */
void upstream_pool_free(struct upstream_pool *p);
const struct upstream_stats *upstream_pool_stats(const struct upstream_pool *p);
/* Applies OPTS (copied).  Servers listed in OPTS->tls are then spoken to
 * over DNS over TLS (RFC 7858) on one pipelined connection per server;
 * a certificate that does not verify fails the try with a clear log line. */
void upstream_pool_configure(struct upstream_pool *p, const struct upstream_opts *opts);
/* The pool's view of each server it has used; returns how many (<= MAX). */
size_t upstream_pool_info(const struct upstream_pool *p, struct upstream_info *out,
    size_t max);
size_t upstream_pool_pending(const struct upstream_pool *p);

/*
 * Asks SERVERS[0..N) (healthy and fast first, then again while time remains) for
 * Q's question.  The servers array must stay valid until the callback (it
 * lives in the snapshot's config, which the worker holds).  TIMEOUT_MS is
 * the first and the largest retransmission timeout, DEADLINE_MS the whole
 * request's.  Returns the request (cancel with
 * upstream_cancel) or NULL when no server is given or every server is at its
 * in-flight cap (CB is not called).
 */
struct upstream_req *upstream_send(struct upstream_pool *p,
    const struct pl_addr *servers, size_t n, unsigned timeout_ms,
    unsigned deadline_ms, const struct wire_query *q, upstream_cb cb, void *arg);

/* Cancels a pending request; its callback is not called. */
void upstream_cancel(struct upstream_req *r);

/*
 * Batching.  Between upstream_pool_hold and upstream_pool_flush, queries go
 * out on one socket per server and are sent together (one sendmmsg) at the
 * flush; holds nest.  A worker holds while it answers a batch of clients.
 * The pool itself holds while it hands over a batch of UDP replies, and
 * calls the function given to upstream_pool_on_replies before (DONE false)
 * and after (DONE true), so that the worker can send the batch's answers
 * together too.
 */
void upstream_pool_hold(struct upstream_pool *p);
void upstream_pool_flush(struct upstream_pool *p);
void upstream_pool_on_replies(struct upstream_pool *p, void (*fn)(void *arg, bool done),
    void *arg);

#endif
