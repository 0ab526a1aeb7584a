/*
 * xfr: zone transfers.  pldns as a primary serves AXFR (RFC 5936) and IXFR
 * (RFC 1995) of its local zones from the snapshot and an in-memory journal,
 * and sends NOTIFY (RFC 1996); as a secondary it pulls zones from their
 * primary, keeps them on disk and answers NOTIFY.  TSIG (RFC 8945) signs
 * and checks all of it when a zone has key = (see tsig.h).
 *
 * Threads.  xfr_serve(), xfr_start() and its transfer,
 * xfr_secondary_notify() and xfr_secondary_unavailable() run on worker
 * threads (a transfer on the thread that started it).  The journal is shared:
 * the main thread updates it after each reload while workers read it (a
 * mutex; each delta is immutable and reference counted, so a transfer in
 * progress keeps what it sends).  The notifier and the secondary live on the
 * main thread's event base; xfr_secondary_notify() only hands the zone over
 * to it.
 *
 * Secondary zones enter the data as files: config_load() sets a secondary
 * zone's file to <state_dir>/<zone>.zone when it exists, records_load()
 * reads it like any zone file, and after each transfer the secondary writes
 * that file atomically and calls its changed() callback so that the main
 * thread reloads.  A secondary zone that has no data yet or has expired
 * (no successful refresh within the SOA expire time) must answer SERVFAIL:
 * the secondary marks it so in the snapshot in service
 * (snapshot_set_unavailable()), and xfr_secondary_unavailable() reads only
 * the snapshot it is given, without a lock.
 */
#ifndef PLDNS_XFR_H
#define PLDNS_XFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "data/config.h"
#include "data/snapshot.h"
#include "wire/wire.h"

struct event_base;
struct xfr_journal;
struct xfr_notifier;
struct xfr_secondary;

/* ---- which messages are ours ---- */

enum xfr_kind {
	XFR_NONE,		/* anything else: the normal query path */
	XFR_TRANSFER,		/* opcode QUERY, one question of type AXFR or IXFR */
	XFR_NOTIFY,		/* opcode NOTIFY */
	XFR_SIGNED		/* another query carrying a TSIG RR */
};

/*
 * Classifies a message received from a client (raw, before
 * wire_query_parse(), which rejects an IXFR request for its authority
 * section and NOTIFY for its opcode, and ignores TSIG).  Responses (QR set)
 * are XFR_NONE.  No allocation; looks at the additional section only when
 * there is one.
 */
enum xfr_kind xfr_classify(const uint8_t *pkt, size_t len);

/*
 * Whether xfr_classify() may find the message for which wire_query_parse()
 * gave Q and V to be anything but XFR_NONE: a query that parsed well, asks
 * for no transfer and carries no record besides its OPT cannot be, and
 * needs no second walk over its bytes.
 */
static inline bool
xfr_may_concern(const struct wire_query *q, enum wire_verdict v)
{
	return v != WIRE_OK || q->qtype == TYPE_AXFR || q->qtype == TYPE_IXFR ||
	    q->hdr.arcount > (q->edns.present ? 1 : 0);
}

/*
 * Answers a TSIG-signed ordinary query (XFR_SIGNED), such as the SOA query
 * a secondary sends before a transfer: the TSIG is verified against the
 * configured keys (a TSIG error is answered NOTAUTH, RFC 8945 5.3.2, and
 * logged with PEER), the query without its TSIG RR is answered from local
 * data with answer_local(), and the answer is signed.  Names that are not
 * local are answered REFUSED: signed queries are not forwarded.  The reply
 * goes to OUT (CAP bytes; WIRE_MAX_MSG suffices), its length to *OUT_LEN;
 * over UDP it is no larger than the query's EDNS size allows.  Returns the
 * reply's rcode.
 */
int xfr_answer_signed(const struct snapshot *s, const uint8_t *pkt, size_t len,
    const struct sockaddr *peer, bool tcp, uint8_t *out, size_t cap, size_t *out_len);

/* ---- serving AXFR and IXFR (worker threads) ---- */

/* Messages of a transfer are cut at about this size (RFC 5936 allows 64 KB;
 * smaller messages start flowing sooner and suit every client). */
#define XFR_MSG_SIZE	16384

/*
 * Answers the transfer request PKT/LEN from PEER, received over TCP when TCP,
 * from the data of S and the journal J (may be NULL: IXFR then always falls
 * back to AXFR).  Every reply message is passed to EMIT(ARG, msg, len) in
 * order before xfr_serve() returns (over TCP the caller writes each with its
 * length prefix; over UDP there is exactly one).  MSG is only valid during
 * the call.  Replies always come from here, errors included, because they
 * must carry TSIG like the request did:
 *
 *  - FORMERR: malformed request (IXFR without one SOA in the authority
 *    section naming the zone, a misplaced TSIG RR);
 *  - NOTAUTH: QNAME is not the apex of a local zone; also with a TSIG error
 *    (BADKEY, BADSIG, BADTRUNC: unsigned; BADTIME: signed);
 *  - REFUSED: PEER is not in the zone's allow_transfer, the zone has a key
 *    and the request was not signed with it, class not IN, AXFR over UDP;
 *  - SERVFAIL: a secondary zone without data or expired; out of memory;
 *  - AXFR: SOA, every RRset, SOA, in messages of about XFR_MSG_SIZE;
 *  - IXFR (RFC 1995): the client's serial current or newer, or over UDP:
 *    one message with the current SOA; else the journal's differences from
 *    the client's serial, or the whole zone AXFR-style when the journal does
 *    not reach back to it.
 * Each message is TSIG-signed when the request was (every message, chained).
 * Returns the rcode of the (first) reply, for counters and the query log.
 */
int xfr_serve(const struct snapshot *s, struct xfr_journal *j, const uint8_t *pkt,
    size_t len, const struct sockaddr *peer, bool tcp,
    void (*emit)(void *arg, const uint8_t *msg, size_t len), void *arg);

/*
 * A transfer served over TCP one message at a time, as the client reads it
 * (NSD's way): the caller asks for the next message when its output buffer
 * has drained, so a large zone neither holds up the worker's other clients
 * nor sits in memory whole.  A transfer keeps one message in memory
 * (WIRE_MAX_MSG) whatever the zone's size, and holds a reference to the
 * snapshot it started on and to the journal differences it sends: a reload
 * meanwhile changes nothing in it.
 */
struct xfr_transfer;

/*
 * xfr_serve() in steps: answers the request and emits the first (or only)
 * message.  When more follow, *MORE is the transfer, each xfr_next() of
 * which emits one more; otherwise *MORE is NULL.  EMIT and ARG must stay
 * valid until xfr_transfer_free().  The messages are xfr_serve()'s, byte
 * for byte but for TSIG's time signed, which is when each is made.
 */
int xfr_start(struct snapshot *s, struct xfr_journal *j, const uint8_t *pkt, size_t len,
    const struct sockaddr *peer, bool tcp,
    void (*emit)(void *arg, const uint8_t *msg, size_t len), void *arg,
    struct xfr_transfer **more);

/*
 * Emits the next message of X.  Returns whether more follow: false after
 * the last (the transfer is then logged), or when a record too large for a
 * message ends it (logged too).
 */
bool xfr_next(struct xfr_transfer *x);

/*
 * Frees X (NULL: nothing) and drops its references.  One freed before its
 * last message (the client went away, or stopped reading) is logged as cut
 * short.
 */
void xfr_transfer_free(struct xfr_transfer *x);

/* ---- the IXFR journal (main thread writes, workers read) ---- */

/*
 * A journal keeping, per zone, the differences between the versions the
 * server has served, up to MAX_CHANGES changed records (deleted plus added)
 * per zone; older differences are dropped first.  In memory only: after a
 * restart IXFR falls back to AXFR until the next change.
 */
struct xfr_journal *xfr_journal_new(size_t max_changes);
void xfr_journal_free(struct xfr_journal *j);

/*
 * Records what changed from OLD to NEW (main thread, after every successful
 * reload; OLD may be NULL at start).  Zones whose serial went up get a
 * difference; a zone that disappeared, or whose serial went down or changed
 * with the journal not at OLD's serial, loses its history.
 */
void xfr_journal_update(struct xfr_journal *j, const struct snapshot *old,
    const struct snapshot *new);

/* Number of differences kept for ZONE (lower-case, no trailing dot): tests, stats. */
size_t xfr_journal_depth(struct xfr_journal *j, const char *zone);

/* ---- NOTIFY to secondaries (main thread) ---- */

struct xfr_notifier *xfr_notifier_new(struct event_base *base);

/*
 * Sends NOTIFY (RFC 1996) over UDP to the notify targets of every zone of
 * NEW whose serial differs from OLD's (every zone when OLD is NULL or the
 * zone is new), TSIG-signed with the zone's key, repeated after 1, 2, 4, 8
 * and 16 s until the target answers.  A newer change for the same zone
 * replaces the NOTIFY still being repeated.  Copies what it needs from NEW.
 */
void xfr_notify_changed(struct xfr_notifier *n, const struct snapshot *old,
    const struct snapshot *new);

/* NOTIFY messages still waiting for an answer (tests). */
size_t xfr_notifier_pending(const struct xfr_notifier *n);

void xfr_notifier_free(struct xfr_notifier *n);

/* ---- secondary zones (main thread, but see notify) ---- */

/*
 * Takes charge of every zone of CFG with primary =: loads its file from
 * cfg->state_dir (creating the directory when needed) and starts a refresh
 * at once: an SOA query over UDP to each primary in turn, then IXFR (when
 * there is data to build on) or AXFR over TCP, TSIG-signed with the zone's
 * key, whose answers must verify.  After a transfer the zone file is
 * written atomically (temporary file, fsync, rename) and CHANGED(ARG) is
 * called on BASE's thread, so that the caller reloads.  Refreshes then run on
 * the SOA's refresh timer, its retry timer after a failure, and on NOTIFY;
 * after expire seconds without a successful refresh the zone answers SERVFAIL
 * (xfr_secondary_unavailable()) until one succeeds.  The time of the last
 * successful refresh survives restarts as the zone file's modification time.
 * CFG is not kept.  Never NULL (with no secondary zone it idles).
 */
struct xfr_secondary *xfr_secondary_new(struct event_base *base,
    const struct config *cfg, void (*changed)(void *arg), void *arg);

/*
 * S is about to go into service (before any worker is given it): marks in
 * it the secondary zones that have no data or have expired, and keeps a
 * reference to it, the snapshot where later changes of a zone's state are
 * marked, until the next call or xfr_secondary_free().  Main thread.
 */
void xfr_secondary_publish(struct xfr_secondary *sec, struct snapshot *s);

/*
 * After a reload: zones no longer secondary are dropped, new ones start,
 * zones whose primaries or key changed refresh at once, others keep their
 * state.  CFG is not kept.
 */
void xfr_secondary_reconfigure(struct xfr_secondary *sec, const struct config *cfg);

/* Stops every transfer and timer.  Workers must be stopped first (notify). */
void xfr_secondary_free(struct xfr_secondary *sec);

/*
 * Gives the state directory (created by xfr_secondary_new() when there is a
 * secondary zone) and the zone files in it to UID:GID, so that pldns can
 * still write them once it has dropped root.  Call just before dropping
 * privileges.  0, or -1 with the reason logged.
 */
int xfr_secondary_chown(struct xfr_secondary *sec, uid_t uid, gid_t gid);

/*
 * Any thread: answers the NOTIFY PKT/LEN from PEER.  The reply (always one,
 * TSIG-signed when the NOTIFY was and its key verified) is written to REPLY
 * (CAP bytes; 512 + TSIG_RESERVE suffice) with its length in *REPLY_LEN.
 * A NOTIFY for a secondary zone, from one of its primaries' addresses (any
 * address when the zone has a key) and signed with the zone's key when it
 * has one, schedules a refresh at once on the main thread.  Returns the
 * reply's rcode: NOERROR, FORMERR, NOTAUTH (not a secondary zone here, TSIG
 * error) or REFUSED (not from a primary, unsigned while the zone has a
 * key).  SEC may be NULL (no secondary zones: NOTAUTH).
 */
int xfr_secondary_notify(struct xfr_secondary *sec, const uint8_t *pkt, size_t len,
    const struct sockaddr *peer, uint8_t *reply, size_t cap, size_t *reply_len);

/*
 * Any thread: true when LNAME (a query's lower-case wire name) is answered
 * from a secondary zone of S that has no data yet or has expired: answer
 * SERVFAIL.  Reads only S (marked by xfr_secondary_publish() and the
 * secondary's state changes): one relaxed atomic load while no zone of S is
 * in that state, else a route of LNAME and one more.
 */
bool xfr_secondary_unavailable(const struct snapshot *s, const uint8_t *lname);

/* A secondary zone's state, for the control endpoint and tests. */
struct xfr_zone_status {
	bool known;		/* ZONE is a secondary zone */
	bool have_data;
	bool expired;
	bool refreshing;	/* a refresh is in progress */
	uint32_t serial;	/* of the data held, when have_data */
	uint64_t last_ok;	/* wall clock of the last successful refresh, 0: never */
	uint64_t transfers;	/* completed transfers (AXFR + IXFR) */
	uint64_t ixfrs;		/* of which IXFR */
	uint64_t failures;	/* failed refreshes */
};
void xfr_secondary_status(struct xfr_secondary *sec, const char *zone,
    struct xfr_zone_status *out);

/* RFC 1982 serial number arithmetic: A is newer than B. */
static inline bool
xfr_serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (int32_t)(a - b) > 0;
}

#endif
