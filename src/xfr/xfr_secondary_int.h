/*
 * xfr_secondary_int.h: what the files of the secondary share (xfr_secondary.c
 * the zone list, timers and state; xfr_client.c a refresh against the
 * primaries; xfr_receive.c the answer of a transfer; xfr_store.c the records
 * in memory; xfr_zonefile.c the zone file).  Everything runs on the main
 * thread's event base, but xfr_secondary_notify() (worker threads, under
 * the xfr_secondary's lock).  Not for other modules: xfr.h is the interface.
 */
#ifndef PLDNS_XFR_SECONDARY_INT_H
#define PLDNS_XFR_SECONDARY_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/tsig.h"
#include "wire/wire.h"
#include "xfr/xfr.h"

struct bufferevent;
struct event;

/* ---- the data in memory (xfr_store.c) ---- */

struct srec {
	uint32_t ttl;
	uint16_t type, rdlen;
	uint8_t olen;
	uint8_t data[];			/* owner (lower-case wire), then RDATA */
};

/* An open-addressed set of records keyed by (owner, type, RDATA). */
struct rrstore {
	struct srec **slots;
	size_t cap, n, used;		/* used: n + tombstones */
};

/* Empties ST and frees its records. */
void xfr_store_clear(struct rrstore *st);
/* Adds a record (a copy): 1, or 0 when it was there already (its TTL is
 * updated), -1 when out of memory (the store is unchanged). */
int xfr_store_add(struct rrstore *st, const uint8_t *owner, uint16_t type,
    uint32_t ttl, const uint8_t *rd, uint16_t rdlen);
/* Removes a record: 0, or -1 when it is not there. */
int xfr_store_del(struct rrstore *st, const uint8_t *owner, uint16_t type,
    const uint8_t *rd, uint16_t rdlen);
/* The records of ST in no order: the next from slot *I on (start at 0),
 * or NULL at the end. */
const struct srec *xfr_store_next(const struct rrstore *st, size_t *i);

struct soa {
	uint32_t ttl;
	uint16_t len;
	uint8_t rdata[2 * WIRE_NAME_MAX + 20];
};

/* Serial, refresh, retry, expire of an SOA RDATA; false when malformed. */
bool xfr_soa_fields(const uint8_t *rd, size_t len, uint32_t v[4]);
/* Sets S from an SOA RR; false when RD is malformed (S unchanged). */
bool xfr_soa_set(struct soa *s, uint32_t ttl, const uint8_t *rd, size_t len);
/* Field I of S: 0 serial, 1 refresh, 2 retry, 3 expire. */
uint32_t xfr_soa_field(const struct soa *s, int i);

/* ---- a zone and its refresh ---- */

struct szn;

enum pstage { P_SOA, P_XFR };
enum pmode { M_FIRST, M_SECOND, M_AXFR, M_IXFR, M_UPTODATE };

struct pull {
	struct szn *z;
	size_t prim;			/* the primary tried */
	int tries;			/* SOA tries on that primary */
	enum pstage stage;
	bool ixfr;			/* asked IXFR */
	bool force_axfr;		/* the IXFR failed: AXFR from the same primary */
	uint16_t id;
	struct tsig_ctx tsig;
	bool last_signed;		/* the last message verified (not merely covered) */
	int fd;
	struct event *rd, *tmo;
	struct bufferevent *bev;
	uint64_t deadline;		/* now_ms() */

	/* The transfer being received. */
	enum pmode mode;
	bool in_add;			/* IXFR: after a delta's new SOA */
	uint32_t cur;			/* IXFR: serial of the delta being read */
	uint32_t new_serial;
	struct soa new_soa;
	uint8_t *msg;			/* one message of the transfer (64 KB) */
	uint8_t *rrs;			/* owner, type, ttl, rdlen, rdata records */
	size_t rrs_len, rrs_cap, nrrs;
	unsigned nmsg;
	bool done;
};

struct szn {
	struct xfr_secondary *sec;
	struct szn *next;
	char *name;
	uint8_t apex[WIRE_NAME_MAX];
	size_t apex_len;
	struct pl_addr *primaries;	/* under sec->lock (notify reads them) */
	size_t nprimaries;
	bool has_key;
	struct tsig_key key;
	char *file;

	bool have_data;
	struct soa soa;			/* the SOA of the data held */
	struct rrstore store;		/* every other record */
	uint64_t last_ok;		/* wall clock */
	bool expired;
	bool notified;			/* by a worker, under sec->lock */
	bool again;			/* refresh once more when this one ends */
	struct pull *pull;
	struct event *timer;		/* refresh / retry */
	struct event *expire_ev;
	uint64_t transfers, ixfrs, failures;
};

struct xfr_secondary {
	struct event_base *base;
	pthread_mutex_t lock;		/* the zone list and what notify reads */
	struct szn *zones;
	char *state_dir;
	void (*changed)(void *);
	void *arg;
	struct event *ev_notify;	/* activated by workers */
	struct event *ev_changed;	/* calls changed() from a clean stack */
	struct snapshot *snap;		/* the one in service, where zones are
					   marked unavailable (a reference) */
};

/* ---- xfr_zonefile.c ---- */

/* Reads the zone file into Z (SOA and store); -1 when missing or bad. */
int xfr_zonefile_load(struct szn *z);
/* Writes Z's data to its file: a temporary file, fsync, rename, fsync the
 * directory.  FROM names the primary in the file's first line.  0 or -1
 * (logged). */
int xfr_zonefile_write(struct szn *z, const char *from);

/* ---- xfr_receive.c ---- */

/* One message of the transfer P asked for.  0 go on, 1 complete, -1 failed
 * (reason logged). */
int xfr_receive_message(struct pull *p, const uint8_t *msg, size_t len);
/* Applies the received IXFR to the data held; -1 when it does not fit, -2
 * when out of memory (either way the store may be half changed). */
int xfr_apply_ixfr(struct pull *p);
/* Replaces the data held with the received AXFR: 0, or -1 when out of
 * memory (the store is then half filled). */
int xfr_apply_axfr(struct pull *p);

/* ---- xfr_client.c ---- */

/* Starts a refresh of Z (or another one after the one in progress). */
void xfr_pull_start(struct szn *z);
/* Stops a refresh and frees P (NULL: nothing). */
void xfr_pull_free(struct pull *p);
/* The address of the primary P is asking, as text in BUF. */
const char *xfr_pull_addr(const struct pull *p, char *buf, size_t len);

/* ---- xfr_secondary.c ---- */

/* Ends the refresh in progress (freeing it), successful or not; schedules
 * the next one. */
void xfr_pull_end(struct szn *z, bool ok);

#endif
