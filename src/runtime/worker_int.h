/*
 * worker_int.h: the parts of a worker, shared by worker.c (the loop, UDP and
 * the query path), worker_fwd.c (forwarding, coalescing, prefetch) and
 * worker_tcp.c (TCP connections).  Private to those three files; every
 * function here runs on the worker's own thread.
 */
#ifndef PLDNS_WORKER_INT_H
#define PLDNS_WORKER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/listener.h>

#include "engine/answer.h"
#include "wire/cookie.h"
#include "util/diag.h"
#include "engine/missing.h"
#include "engine/rrl.h"
#include "runtime/server_conns.h"
#include "runtime/worker.h"
#include "xfr/xfr.h"

#define BATCH		32	/* datagrams per recvmmsg */
#define COALESCE_BUCKETS 4096	/* forwarded questions in flight, hashed */

struct worker;

struct listener {
	struct worker *w;
	struct pl_addr addr;
	int udp_fd;
	struct event udp_ev;
	struct evconnlistener *tcp;
	struct event tcp_resume;	/* re-enables accept after EMFILE */
};

struct tcp_conn {
	struct worker *w;
	struct bufferevent *bev;
	LIST_ENTRY(tcp_conn) entry;	/* w->conns */
	struct pl_addr peer;
	unsigned pending;		/* forwarded queries not answered yet */
	unsigned nqueries;
	bool closed;			/* socket gone; freed when pending is 0 */
	bool draining;			/* query limit reached: close when answered */
	struct event partial;		/* a started message must complete in time */
	bool partial_set;
	struct xfr_transfer *xfr;	/* a zone transfer going out as C drains */
	bool xfr_tail;			/* its last messages still queued */
};

/*
 * The upstream responses a chain has had so far (each a copy owned here),
 * while it waits for a follow-up (answer_upstream()'s ANSWER_FORWARD).
 */
struct fchain {
	int n;
	struct answer_part parts[ANSWER_MAX_PARTS];
};

/*
 * A query waiting for an upstream answer.  A prefetch (a refresh of a cache
 * entry that no client waits for) is one too, with no client of its own:
 * it leads like any other, so that a client asking the same question while
 * it is on its way joins it rather than sending a second query.
 */
struct fquery {
	struct worker *w;
	LIST_ENTRY(fquery) entry;	/* w->fqueries */
	struct snapshot *snap;		/* keeps the server list alive */
	struct wire_query q;		/* the client's question */
	struct wire_query uq;		/* the question asked upstream */
	struct fchain *chain;		/* a follow-up's earlier responses, else NULL */
	bool fallback;
	bool prefetch;			/* no client: only refreshes the cache */
	size_t limit;
	int udp_fd;			/* UDP: the socket to answer from */
	struct pl_addr client;
	struct tcp_conn *conn;		/* TCP: the connection, else NULL */
	struct upstream_req *req;	/* the leader's; NULL for followers */
	uint64_t start_us;
	/* Coalescing: identical questions in flight share one upstream query.
	 * The leader owns the request; followers wait on its list. */
	LIST_ENTRY(fquery) hentry;	/* leader: in w->inflight */
	bool hashed;			/* in w->inflight */
	SLIST_HEAD(, fquery) followers;	/* leader: the waiting queries */
	SLIST_ENTRY(fquery) fentry;	/* follower: in its leader's list */
	struct fquery *leader;		/* follower: its leader */
	const struct pl_addr *servers;
	uint32_t hash;
	const struct szone *miss_zone;	/* answer_local's, in SNAP */
	/* RFC 8767's client response timer: when it fires, the client gets
	 * a cached answer (stale, or another worker's) if there is one, and
	 * the query waits on, with no client, to refresh the cache. */
	struct event stale_ev;
	bool stale_armed;
	bool answered;			/* the client has had its answer */
};

struct worker {
	int id;
	pthread_t thread;
	bool started;
	struct event_base *base;
	struct snapshot *snap;
	struct upstream_pool *up;
	struct cache *cache;
	struct rrl *rrl;
	struct listener *ls;
	size_t nls;
	struct metrics m;
	struct cookie_mac *cmac;	/* server cookies: SipHash */
	struct cookie_secrets csec;	/* from the snapshot's configuration */

	/* Mailbox: other threads leave work here and activate ev_mail. */
	pthread_mutex_t mail_lock;
	struct event ev_mail;
	atomic_bool mail_pending;	/* set before ev_mail is activated */
	/* Tickets: mail_posted counts posts (under mail_lock); mail_done is
	 * the last one handled, published for worker_mail_done(). */
	uint64_t mail_posted;
	_Atomic uint64_t mail_done;
	struct snapshot *mail_snap;
	bool mail_flush_all, mail_stop;
	uint8_t (*mail_flush)[WIRE_NAME_MAX];
	size_t nmail_flush;

	struct event ev_stop;
	uint64_t stop_deadline;
	bool stopping;

	LIST_HEAD(, tcp_conn) conns;
	size_t nconns;
	struct server_conns *tcp_counts;	/* the server's, for its limits */
	LIST_HEAD(, fquery) fqueries;
	size_t nfqueries;
	size_t nprefetch;		/* of nfqueries, prefetches */
	LIST_HEAD(fquery_list, fquery) inflight[COALESCE_BUCKETS];
	_Atomic uint64_t coalesced;	/* read by the main thread */
	uint64_t snap_gen;		/* counts snapshots taken: replies kept in
					 * the cache are for one of them */

	/* The clock, read once per batch of datagrams (or per event) rather
	 * than per query: a clock read costs as much as a quarter of a local
	 * answer on some virtual machines. */
	uint64_t now_us;

	struct answer_scratch *scratch;
	struct xfr_journal *journal;	/* zone transfers (not owned) */
	struct xfr_secondary *sec;
	uint8_t out[WIRE_MAX_MSG];
	uint8_t cbuf[WIRE_MAX_MSG];	/* cache copies */
	uint8_t tcpin[WIRE_MAX_MSG];
	/* UDP batches. */
	uint8_t rx[BATCH][4096];
	struct mmsghdr rmsg[BATCH];
	int rused;			/* rmsg[0 .. rused) were filled last */
	struct wire_query rq[BATCH];	/* the batch's queries, parsed */
	enum wire_verdict rv[BATCH];
	struct answer_route rr[BATCH];	/* and routed */
	struct iovec riov[BATCH];
	struct sockaddr_storage rsrc[BATCH];
	uint8_t tx[BATCH][1232 + 64];
	struct mmsghdr tmsg[BATCH];
	struct iovec tiov[BATCH];
	struct sockaddr_storage taddr[BATCH];	/* the clients, copied: a
						 * forwarded query's is freed
						 * before the flush */
	int tfd[BATCH];				/* the socket of each reply */
	int ntx;
	bool up_batch;			/* answering a batch of upstream replies */

	/* Names the local zones lack, counted by this thread only; copied
	 * into missing_out (the reader's) when mail asks for it. */
	struct missing *missing;
	struct missing *missing_out;
	bool mail_missing;
};

static inline uint64_t
worker_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- worker.c ---- */

/* Sends MSG to the client: over CONN when not NULL, else by UDP from
 * UDP_FD (BATCHED: queued for the batch's sendmmsg). */
void worker_reply(struct worker *w, int udp_fd, const struct pl_addr *client,
    struct tcp_conn *conn, const uint8_t *msg, size_t len, bool batched);

/* Counts (and logs, when query logging is on) one answer. */
void worker_account(struct worker *w, const struct pl_addr *client,
    const struct wire_query *q, const struct answer_info *info, bool tcp,
    uint64_t start_us);

/* Parses, answers or forwards one query. */
void worker_handle_query(struct worker *w, const uint8_t *pkt, size_t len, int udp_fd,
    const struct pl_addr *client, struct tcp_conn *conn);

/* Sends the UDP replies queued by worker_reply. */
void worker_udp_flush(struct worker *w);

/* ---- worker_fwd.c ---- */

/*
 * A name that is not (entirely) local, for which answer_local() left INFO
 * (next, fallback): the cache, else upstream.  True when the reply is
 * ready in w->out (INFO filled); false when it will be sent when upstream
 * answers.  The query's time is w->now_us.
 */
bool worker_forward(struct worker *w, const struct wire_query *q, size_t limit,
    int udp_fd, const struct pl_addr *client, struct tcp_conn *conn,
    struct answer_info *info);

/* upstream_pool_on_replies() callback: a batch of upstream replies. */
void worker_upstream_replies(void *arg, bool done);

/* Cancels and frees every query waiting for upstream. */
void worker_forward_free_all(struct worker *w);

/* ---- worker_tcp.c ---- */

/* Accepts TCP clients for L on FD (bound, not listening yet; -1: none). */
void worker_tcp_listen(struct listener *l, int fd, struct diag *d);

/* Queues MSG, length first, on C (nothing when C is closed). */
void worker_tcp_send(struct tcp_conn *c, const uint8_t *msg, size_t len);

/*
 * Serves the transfer request PKT/LEN received on C (xfr_start()): a message
 * at a time as C's output drains, reading no further query from C until
 * the last one is out.
 */
void worker_tcp_transfer(struct tcp_conn *c, const uint8_t *pkt, size_t len);

/* One of C's forwarded queries is done (answered or dropped). */
void worker_tcp_answered(struct tcp_conn *c);

/* True when no connection has output waiting. */
bool worker_tcp_flushed(const struct worker *w);

/* Frees every connection. */
void worker_tcp_free_all(struct worker *w);

#endif
