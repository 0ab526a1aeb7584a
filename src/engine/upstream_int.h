/*
 * upstream_int.h: the parts of the upstream pool shared by upstream.c (the
 * requests, UDP and TCP, timers, server selection) and upstream_tls.c
 * (DNS over TLS).  Private to those files; everything here runs on the
 * pool's worker thread.  The messages themselves are upstream_msg.h's.
 */
#ifndef PLDNS_UPSTREAM_INT_H
#define PLDNS_UPSTREAM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/ssl.h>

#include "engine/upstream.h"
#include "engine/upstream_msg.h"

#define UPSTREAM_MAX_SERVERS	16
#define UPSTREAM_DOWN_AFTER	3	/* consecutive failures */
#define UPSTREAM_DOWN_MS	10000	/* then tried last for this long */
#define UPSTREAM_NOEDNS_MS	900000	/* asked without EDNS this long after a
					 * FORMERR to EDNS (Unbound's
					 * edns-lameness lasts as long) */
#define USOCK_PER_SERVER	8	/* UDP sockets open per server */
#define USOCK_USES		128	/* queries a socket carries before it retires */
#define USOCK_BUCKETS		256	/* its waiting requests, by ID */
#define USOCK_READ_BATCH	32	/* datagrams per wake-up, then yield */
#define USOCK_RX_SIZE		4096	/* larger UDP replies are taken as truncated */
#define TX_BATCH		64	/* queries per sendmmsg */
#define REQ_FREE_MAX		256	/* requests kept for reuse */
#define UPSTREAM_MAX_TRIES	16	/* UDP tries per request, all live until it ends */
#define RTO_MIN_MS		200	/* retransmission timeout floor (see srv_rto) */
#define RTO_G_US		10000	/* RFC 6298's clock granularity term */
#define UPSTREAM_MAX_TCP	3	/* TCP attempts per request */
#define TCP_DOWN_AFTER		2	/* consecutive failed TCP attempts, then */
#define TCP_DOWN_MS		10000	/* no TCP to the server this long, doubling */
#define TCP_DOWN_MAX_MS		300000	/* up to five minutes */
#define USOCK_GONE		32	/* IDs of ended requests' tries, per socket */

struct upstream_req;
struct srvstate;
struct usock;

/*
 * One UDP try of a request: its own ID on its own socket, so that a reply
 * names the try it answers.  Every try stays live until the request ends,
 * so a reply slower than the retransmission timeout still answers it.
 */
struct utry {
	struct upstream_req *req;
	struct usock *us;		/* NULL: not (or no longer) waiting on UDP */
	LIST_ENTRY(utry) idlink;	/* us->byid chain */
	struct srvstate *st;
	uint64_t sent_us;
	uint16_t id;
	uint8_t srv;			/* index into the request's servers */
	bool noedns;			/* sent without OPT */
};

/*
 * A connected UDP socket on a random port, shared by the queries to one
 * server.  A fresh socket per query costs six system calls (socket, bind,
 * connect, two epoll_ctl, close) for every forwarded question, more than the
 * query itself; sharing a few and replacing each after USOCK_USES queries
 * keeps the source port unpredictable and short-lived (RFC 5452 9.2) while
 * the steady path is one send and one recv.  A reply is routed by its ID to
 * the request waiting on this socket, then checked like any other.
 */
struct usock {
	struct upstream_pool *pool;
	struct srvstate *st;		/* NULL: a one-off socket (no server slot) */
	int fd;
	struct event ev;
	unsigned uses;			/* queries sent on it */
	unsigned refs;			/* tries waiting on it, +1 while reading */
	bool retired;			/* out of its slot: closed with its last request */
	LIST_HEAD(, utry) byid[USOCK_BUCKETS];
	uint16_t gone[USOCK_GONE];	/* IDs of tries whose request has ended: */
	unsigned ngone;			/* a reply with one of them is late, not forged */
};

/* One pipelined DNS over TLS connection to a server. */
struct dot_conn {
	struct upstream_pool *pool;
	struct srvstate *st;
	struct bufferevent *bev;
	LIST_HEAD(, upstream_req) waiting; /* requests whose query went out on it */
	bool connected;
};

/* What the pool knows of one server: health, speed, load, transport. */
struct srvstate {
	struct upstream_info info;
	_Atomic uint32_t srtt_us;	/* smoothed RTT, microseconds; 0 unknown */
	uint32_t rttvar_us;		/* its mean deviation (RFC 6298) */
	uint32_t rto_us;		/* retransmission timeout, backed off */
	uint64_t backoff_ms;		/* when the RTO was last doubled */
	unsigned fails;			/* consecutive failed tries */
	uint64_t heard_ms;		/* when it last answered */
	unsigned tcp_fails;		/* consecutive failed TCP attempts */
	uint64_t tcp_down_until;	/* ms; no TCP to it until then */
	_Atomic uint64_t down_until;	/* ms; sorted last until then */
	uint64_t noedns_until;		/* ms; asked without EDNS until then */
	char tls_name[256];		/* with info.tls: certificate name, "" = IP */
	struct dot_conn *conn;		/* with info.tls: the connection, if any */
	struct upstream_cookie cookie;		/* ours for it, and its last */
	struct usock *us[USOCK_PER_SERVER];	/* UDP sockets, filled on demand */
	struct usock *held;			/* the socket of this batch's queries */
};

struct upstream_req {
	struct upstream_pool *pool;
	struct upstream_req *prev, *next;	/* pool's pending list */
	const struct pl_addr *servers;
	size_t nservers, cur;			/* position in order[] of the current try */
	uint8_t order[UPSTREAM_MAX_SERVERS];	/* servers, best first */
	struct srvstate *st;			/* state of the current try's server */
	struct utry *ct;			/* the current try */
	struct utry t[UPSTREAM_MAX_TRIES];
	unsigned ntries;
	uint32_t failed;			/* bit I: servers[I] failed outright
						 * (no point asking it again) */
	uint32_t tcp_tried;			/* bit I: servers[I] was asked over TCP */
	bool not_net;				/* a try timed out or had an error
						 * rcode: not only network errors */
	bool noedns;				/* this try's query has no OPT */
	unsigned timeout_ms;			/* initial and largest RTO */
	unsigned try_ms;			/* the current try's timeout */
	bool badcookie_retried;
	upstream_cb cb;
	void *arg;

	struct wire_query q;			/* the question */
	size_t msglen;

	struct upstream_req *txnext;		/* pool's queue of tries to send */
	bool queued;				/* on that queue */
	bool send_failed;			/* the held send failed: refused */
	struct event ev_try;			/* per-try timeout */
	struct event ev_deadline;
	struct bufferevent *tcp;		/* TCP retry in progress */
	struct dot_conn *dot;			/* DoT connection carrying this try */
	LIST_ENTRY(upstream_req) dlink;		/* dot->waiting list */

	uint8_t msg[768];			/* the query as sent on this try (last:
						 * a reused request clears what precedes) */
};

struct upstream_pool {
	struct event_base *base;
	/* First: a batch of local answers touches only these. */
	unsigned hold;				/* > 0: queries wait for the flush */
	bool held;				/* some server has a held socket */
	struct upstream_req *txq, **txtail;	/* tries held for one sendmmsg */
	struct upstream_req *pending;
	size_t npending;
	struct upstream_stats stats;
	struct srvstate servers[UPSTREAM_MAX_SERVERS * 2];
	_Atomic size_t nservers;	/* a slot is filled before it is counted */
	struct upstream_opts opts;
	struct addr_tls *tls;		/* copy of opts.tls */
	char *ca_file;
	SSL_CTX *ssl_ctx;
	struct upstream_req *freereqs;		/* kept for reuse, via ->next */
	unsigned nfree;
	void (*around)(void *, bool);		/* called before and after a
						 * batch of replies */
	void *around_arg;
	uint8_t (*rx)[USOCK_RX_SIZE];		/* recvmmsg buffers */
	struct {				/* libevent common timeouts by length */
		unsigned ms;
		const struct timeval *tv;
	} tmo[8];
	size_t ntmo;
	struct timeval tmo_scratch;
	uint8_t rbuf[WIRE_MAX_MSG];
};

/* ---- upstream.c, for the TLS code ---- */

/* The system could not even send to server A (S may be NULL); logged. */
void upstream_srv_neterr(struct srvstate *s, const struct pl_addr *a, const char *what,
    int err);
/* The current try failed: on to the next server at once. */
void upstream_req_next(struct upstream_req *r);
/* The server refused (ICMP port unreachable, TCP RST, TLS failure). */
void upstream_req_refused(struct upstream_req *r);
/* Whether RESP is a reply to try T of R (NULL: the current query, over a
 * stream); counts it as spoofed if not. */
bool upstream_req_accepts(struct upstream_req *r, const struct utry *t,
    const uint8_t *resp, size_t len);
/* A reply that matched: the answer, or what its rcode and TC bit ask for. */
void upstream_req_reply(struct upstream_req *r, const uint8_t *resp, size_t len,
    bool stream);

/* ---- upstream_tls.c ---- */

/* A client context verifying against CA_FILE (NULL: the system store). */
SSL_CTX *upstream_tls_ctx_new(const char *ca_file);
/* Sends R's try on ST's TLS connection, made if need be; a connection that
 * cannot be made fails the try from the event loop. */
void upstream_dot_send(struct upstream_req *r, struct srvstate *st);
/* Takes R off the TLS connection it waits on, if any. */
void upstream_dot_unlink(struct upstream_req *r);
/* Closes C; what waited on it moves on (as refused when FAILED). */
void upstream_dot_close(struct dot_conn *c, bool failed);

#endif
