/*
 * xfr_secondary: zones pulled from a primary (SOA check, IXFR or AXFR, TSIG),
 * kept on disk, refreshed on timers and NOTIFY; which of them answer SERVFAIL,
 * marked in the snapshot in service.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <ldns/ldns.h>

#include "log.h"
#include "tsig.h"
#include "util.h"
#include "xfr.h"

#define SOA_TIMEOUT_MS	2000	/* per SOA query try */
#define SOA_TRIES	2	/* per primary */
#define XFR_IDLE_S	15	/* a transfer that stalls this long fails */
#define XFR_DEADLINE_S	600	/* and no transfer takes longer than this */
#define TIMER_MIN_S	1	/* refresh/retry floor: a zero never spins */
#define TIMER_MAX_S	(86400 * 24)
#define XFR_MAX_BYTES	((size_t)512 << 20)	/* a primary cannot fill our memory */

/* ---- a zone's records in memory ---- */

struct srec {
	uint32_t ttl;
	uint16_t type, rdlen;
	uint8_t olen;
	uint8_t data[];			/* owner (lower-case wire), then RDATA */
};

static struct srec tomb_;
#define TOMB	(&tomb_)

/* An open-addressed set of records keyed by (owner, type, RDATA). */
struct rrstore {
	struct srec **slots;
	size_t cap, n, used;		/* used: n + tombstones */
};

static uint64_t
rec_hash(const uint8_t *owner, size_t olen, uint16_t type, const uint8_t *rd,
    size_t rdlen)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < olen; i++)
		h = (h ^ owner[i]) * 0x100000001b3ULL;
	h = (h ^ (type & 0xff)) * 0x100000001b3ULL;
	h = (h ^ (type >> 8)) * 0x100000001b3ULL;
	for (size_t i = 0; i < rdlen; i++)
		h = (h ^ rd[i]) * 0x100000001b3ULL;
	return h ^ (h >> 31);
}

static void
store_clear(struct rrstore *st)
{
	for (size_t i = 0; i < st->cap; i++)
		if (st->slots[i] != NULL && st->slots[i] != TOMB)
			free(st->slots[i]);
	free(st->slots);
	memset(st, 0, sizeof(*st));
}

/* The slot of the record, or of the empty slot it would take (-1: none). */
static long
store_slot(const struct rrstore *st, const uint8_t *owner, size_t olen, uint16_t type,
    const uint8_t *rd, uint16_t rdlen, bool *found)
{
	size_t i, mask = st->cap - 1;
	long free_slot = -1;

	*found = false;
	if (st->cap == 0)
		return -1;
	i = (size_t)rec_hash(owner, olen, type, rd, rdlen) & mask;
	for (size_t probes = 0; probes < st->cap; probes++, i = (i + 1) & mask) {
		struct srec *r = st->slots[i];

		if (r == NULL)
			return free_slot >= 0 ? free_slot : (long)i;
		if (r == TOMB) {
			if (free_slot < 0)
				free_slot = (long)i;
			continue;
		}
		if (r->type == type && r->olen == olen && r->rdlen == rdlen &&
		    memcmp(r->data, owner, olen) == 0 &&
		    memcmp(r->data + olen, rd, rdlen) == 0) {
			*found = true;
			return (long)i;
		}
	}
	return free_slot;
}

static int store_grow(struct rrstore *st);

/* Adds a record (a copy): 1, or 0 when it was there already, -1 when out
 * of memory (the store is unchanged). */
static int
store_add(struct rrstore *st, const uint8_t *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rd, uint16_t rdlen)
{
	size_t olen = (size_t)wire_name_len(owner, WIRE_NAME_MAX);
	struct srec *r;
	bool found;
	long s;

	if ((st->used + 1) * 2 > st->cap && store_grow(st) == -1)
		return -1;
	s = store_slot(st, owner, olen, type, rd, rdlen, &found);
	if (found) {
		st->slots[s]->ttl = ttl;
		return 0;
	}
	if ((r = try_calloc(1, sizeof(*r) + olen + rdlen)) == NULL)
		return -1;
	r->ttl = ttl;
	r->type = type;
	r->rdlen = rdlen;
	r->olen = (uint8_t)olen;
	memcpy(r->data, owner, olen);
	memcpy(r->data + olen, rd, rdlen);
	if (st->slots[s] == NULL)
		st->used++;
	st->slots[s] = r;
	st->n++;
	return 1;
}

static int
store_grow(struct rrstore *st)
{
	struct rrstore n;

	memset(&n, 0, sizeof(n));
	n.cap = 64;
	while (n.cap < (st->n + 1) * 4)
		n.cap <<= 1;
	if ((n.slots = try_calloc(n.cap, sizeof(*n.slots))) == NULL)
		return -1;
	for (size_t i = 0; i < st->cap; i++) {
		struct srec *r = st->slots[i];
		bool found;
		long s;

		if (r == NULL || r == TOMB)
			continue;
		s = store_slot(&n, r->data, r->olen, r->type, r->data + r->olen,
		    r->rdlen, &found);
		n.slots[s] = r;
		n.n++;
		n.used++;
	}
	free(st->slots);
	*st = n;
	return 0;
}

static int
store_del(struct rrstore *st, const uint8_t *owner, uint16_t type, const uint8_t *rd,
    uint16_t rdlen)
{
	size_t olen = (size_t)wire_name_len(owner, WIRE_NAME_MAX);
	bool found;
	long s = store_slot(st, owner, olen, type, rd, rdlen, &found);

	if (!found)
		return -1;
	free(st->slots[s]);
	st->slots[s] = TOMB;
	st->n--;
	return 0;
}

/* ---- SOA fields ---- */

struct soa {
	uint32_t ttl;
	uint16_t len;
	uint8_t rdata[2 * WIRE_NAME_MAX + 20];
};

/* Serial, refresh, retry, expire of an SOA RDATA; false when malformed. */
static bool
soa_fields(const uint8_t *rd, size_t len, uint32_t v[4])
{
	int a, b;

	if ((a = wire_name_len(rd, len)) < 0 ||
	    (b = wire_name_len(rd + a, len - (size_t)a)) < 0 ||
	    len - (size_t)a - (size_t)b != 20)
		return false;
	for (int i = 0; i < 4; i++)
		v[i] = wire_get_u32(rd + a + b + 4 * i);
	return true;
}

static bool
soa_set(struct soa *s, uint32_t ttl, const uint8_t *rd, size_t len)
{
	uint32_t v[4];

	if (len > sizeof(s->rdata) || !soa_fields(rd, len, v))
		return false;
	s->ttl = ttl;
	s->len = (uint16_t)len;
	memcpy(s->rdata, rd, len);
	return true;
}

static uint32_t
soa_field(const struct soa *s, int i)
{
	uint32_t v[4] = { 0, 0, 0, 0 };

	soa_fields(s->rdata, s->len, v);
	return v[i];
}

/* ---- zones, transfers ---- */

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

static void pull_start(struct szn *z);
static void pull_end(struct szn *z, bool ok);
static void soa_send(struct pull *p);
static void xfr_begin(struct pull *p);

static const char *
paddr(const struct pull *p, char *buf, size_t len)
{
	return addr_str(&p->z->primaries[p->prim], buf, len);
}

/* ---- zone files ---- */

/* Reads the zone file into Z (SOA and store); -1 when missing or bad. */
static int
zone_load(struct szn *z)
{
	ldns_rdf *origin = NULL, *prev = NULL;
	ldns_buffer *buf;
	uint32_t ttl = 3600;
	int line = 1, bad = 0;
	bool have_soa = false;
	struct stat st;
	FILE *fp;

	if ((fp = fopen(z->file, "re")) == NULL)
		return -1;
	store_clear(&z->store);
	origin = ldns_dname_new_frm_str(z->name);
	buf = ldns_buffer_new(LDNS_MAX_PACKETLEN);
	while (!feof(fp) && !bad) {
		ldns_rr *rr = NULL;
		ldns_status s = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
		uint8_t owner[WIRE_NAME_MAX];
		const ldns_rdf *o;

		if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL ||
		    s == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (s != LDNS_STATUS_OK) {
			log_warnx("%s:%d: %s", z->file, line, ldns_get_errorstr_by_id(s));
			bad = 1;
			break;
		}
		o = ldns_rr_owner(rr);
		ldns_buffer_clear(buf);
		if (ldns_rdf_size(o) > WIRE_NAME_MAX ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
		    ldns_buffer_position(buf) > 65535) {
			bad = 1;
		} else {
			wire_name_lower(owner, ldns_rdf_data(o), ldns_rdf_size(o));
			if (!wire_name_under(owner, z->apex))
				bad = 1;
			else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
			    wire_name_equal(owner, z->apex)) {
				if (have_soa || !soa_set(&z->soa, ldns_rr_ttl(rr),
				    ldns_buffer_begin(buf), ldns_buffer_position(buf)))
					bad = 1;
				have_soa = true;
			} else if (store_add(&z->store, owner,
			    (uint16_t)ldns_rr_get_type(rr), ldns_rr_ttl(rr),
			    ldns_buffer_begin(buf),
			    (uint16_t)ldns_buffer_position(buf)) == -1)
				bad = 1;
		}
		ldns_rr_free(rr);
	}
	ldns_buffer_free(buf);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	if (fstat(fileno(fp), &st) == 0)
		z->last_ok = (uint64_t)st.st_mtime;
	fclose(fp);
	if (bad || !have_soa) {
		log_warnx("secondary zone %s: ignoring %s: %s", z->name, z->file,
		    bad ? "not a valid zone file" : "no SOA record");
		store_clear(&z->store);
		z->last_ok = 0;
		return -1;
	}
	return 0;
}

/* One record as a zone file line, through ldns. */
static int
write_rr(FILE *f, const uint8_t *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rd, uint16_t rdlen)
{
	uint8_t *w;
	size_t olen = (size_t)wire_name_len(owner, WIRE_NAME_MAX), pos = 0, n;
	ldns_rr *rr = NULL;
	char *text;
	int rc = -1;

	n = olen + 10 + rdlen;
	if ((w = try_calloc(1, n)) == NULL)
		return -1;
	memcpy(w, owner, olen);
	w[olen] = (uint8_t)(type >> 8);
	w[olen + 1] = (uint8_t)type;
	w[olen + 2] = 0;
	w[olen + 3] = CLASS_IN;
	w[olen + 4] = (uint8_t)(ttl >> 24);
	w[olen + 5] = (uint8_t)(ttl >> 16);
	w[olen + 6] = (uint8_t)(ttl >> 8);
	w[olen + 7] = (uint8_t)ttl;
	w[olen + 8] = (uint8_t)(rdlen >> 8);
	w[olen + 9] = (uint8_t)rdlen;
	memcpy(w + olen + 10, rd, rdlen);
	if (ldns_wire2rr(&rr, w, n, &pos, LDNS_SECTION_ANSWER) == LDNS_STATUS_OK &&
	    (text = ldns_rr2str(rr)) != NULL) {
		rc = fputs(text, f) < 0 ? -1 : 0;
		free(text);
	}
	ldns_rr_free(rr);
	free(w);
	return rc;
}

/* Writes Z's data to its file: a temporary file, fsync, rename, fsync the directory. */
static int
zone_write(struct szn *z, const char *from)
{
	char *tmp, *dir;
	FILE *f;
	int fd, dfd, rc = 0;

	if (mkdir_p(z->sec->state_dir) == -1) {
		log_warn("secondary zone %s: cannot create %s", z->name, z->sec->state_dir);
		return -1;
	}
	xasprintf(&tmp, "%s.XXXXXX", z->file);
	if ((fd = mkstemp(tmp)) == -1) {
		log_warn("secondary zone %s: cannot create %s", z->name, tmp);
		free(tmp);
		return -1;
	}
	fchmod(fd, 0644);
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	fprintf(f, "; zone %s, serial %u, transferred from %s by pldns\n", z->name,
	    soa_field(&z->soa, 0), from);
	if (write_rr(f, z->apex, TYPE_SOA, z->soa.ttl, z->soa.rdata, z->soa.len) == -1)
		rc = -1;
	for (size_t i = 0; i < z->store.cap && rc == 0; i++) {
		const struct srec *r = z->store.slots[i];

		if (r != NULL && r != TOMB &&
		    write_rr(f, r->data, r->type, r->ttl, r->data + r->olen,
		    r->rdlen) == -1)
			rc = -1;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, z->file) == -1)
		rc = -1;
	if (rc == -1) {
		log_warn("secondary zone %s: cannot write %s", z->name, z->file);
		unlink(tmp);
	} else {
		dir = path_dirname(z->file);
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
			fsync(dfd);
			close(dfd);
		}
		free(dir);
	}
	free(tmp);
	return rc;
}

/* ---- timers and state ---- */

/* Marks zone NAME of the snapshot in service: SERVFAIL or not.  Only a
 * secondary zone of that snapshot's configuration is marked: a zone that
 * stopped being one is answered from its data at once. */
static void
mark(struct xfr_secondary *sec, const char *name, bool on)
{
	const struct zone_conf *zc;

	if (sec->snap == NULL)
		return;
	if (on && ((zc = config_zone(snapshot_config(sec->snap), name)) == NULL ||
	    zc->nprimaries == 0))
		on = false;
	snapshot_set_unavailable(sec->snap, name, on);
}

static void
set_available(struct szn *z)
{
	mark(z->sec, z->name, !z->have_data || z->expired);
}

/* Marks every zone: the snapshot in service is new, or the zone list changed. */
static void
mark_all(struct xfr_secondary *sec)
{
	for (struct szn *z = sec->zones; z != NULL; z = z->next)
		set_available(z);
}

static void
timer_in(struct event *ev, uint64_t secs)
{
	struct timeval tv;

	if (secs < TIMER_MIN_S)
		secs = TIMER_MIN_S;
	if (secs > TIMER_MAX_S)
		secs = TIMER_MAX_S;
	tv.tv_sec = (time_t)secs;
	tv.tv_usec = 0;
	evtimer_add(ev, &tv);
}

static void
expire_schedule(struct szn *z)
{
	uint64_t now = now_wall(), at;

	evtimer_del(z->expire_ev);
	if (!z->have_data)
		return;
	at = z->last_ok + soa_field(&z->soa, 3);
	z->expired = at <= now;
	set_available(z);
	if (!z->expired)
		timer_in(z->expire_ev, at - now);
}

static void
expire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct szn *z = arg;

	if (!z->have_data)
		return;
	if (now_wall() < z->last_ok + soa_field(&z->soa, 3)) {
		expire_schedule(z);
		return;
	}
	z->expired = true;
	set_available(z);
	log_warnx("secondary zone %s: expired (no successful refresh for %u s): "
	    "answering SERVFAIL", z->name, soa_field(&z->soa, 3));
}

static void
refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	pull_start(arg);
}

/* ---- receiving a transfer ---- */

/* Keeps one record of the answer; -1 when out of memory (the transfer
 * fails and is tried again later, as when the primary misbehaves). */
static int
rrs_put(struct pull *p, const uint8_t *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rd, uint16_t rdlen)
{
	size_t olen = (size_t)wire_name_len(owner, WIRE_NAME_MAX), n = olen + 8 + rdlen;

	if (p->rrs_cap - p->rrs_len < n) {
		size_t cap = p->rrs_cap;
		uint8_t *nr;

		while (cap - p->rrs_len < n)
			cap = cap ? cap * 2 : 65536;
		if ((nr = try_reallocarray(p->rrs, cap, 1)) == NULL)
			return -1;
		p->rrs = nr;
		p->rrs_cap = cap;
	}
	memcpy(p->rrs + p->rrs_len, owner, olen);
	p->rrs_len += olen;
	p->rrs[p->rrs_len++] = (uint8_t)(type >> 8);
	p->rrs[p->rrs_len++] = (uint8_t)type;
	for (int i = 3; i >= 0; i--)
		p->rrs[p->rrs_len++] = (uint8_t)(ttl >> (8 * i));
	p->rrs[p->rrs_len++] = (uint8_t)(rdlen >> 8);
	p->rrs[p->rrs_len++] = (uint8_t)rdlen;
	memcpy(p->rrs + p->rrs_len, rd, rdlen);
	p->rrs_len += rdlen;
	p->nrrs++;
	return 0;
}

/* Walks the collected records: returns the next one, or false at the end. */
static bool
rrs_next(const struct pull *p, size_t *pos, const uint8_t **owner, uint16_t *type,
    uint32_t *ttl, const uint8_t **rd, uint16_t *rdlen)
{
	const uint8_t *b = p->rrs + *pos;
	int olen;

	if (*pos >= p->rrs_len)
		return false;
	olen = wire_name_len(b, p->rrs_len - *pos);
	*owner = b;
	*type = wire_get_u16(b + olen);
	*ttl = wire_get_u32(b + olen + 2);
	*rdlen = wire_get_u16(b + olen + 6);
	*rd = b + olen + 8;
	*pos += (size_t)olen + 8 + *rdlen;
	return true;
}

/*
 * Takes one RR of the answer stream (RFC 1995 4 tells the formats apart:
 * a second RR that is the client's SOA starts an incremental answer).
 * 0 go on, -1 bad.
 */
static int
take_rr(struct pull *p, const uint8_t *owner, uint16_t type, uint32_t ttl,
    const uint8_t *rd, uint16_t rdlen)
{
	struct szn *z = p->z;
	bool soa = type == TYPE_SOA && wire_name_equal(owner, z->apex);
	uint32_t v[4];

	if (p->done)
		return -1;		/* records after the final SOA */
	if (p->rrs_len > XFR_MAX_BYTES)
		return -1;
	if (soa && !soa_fields(rd, rdlen, v))
		return -1;
	switch (p->mode) {
	case M_FIRST:
		if (!soa || !soa_set(&p->new_soa, ttl, rd, rdlen))
			return -1;
		p->new_serial = v[0];
		p->mode = M_SECOND;
		return 0;
	case M_SECOND:
		if (p->ixfr && soa && z->have_data && v[0] == soa_field(&z->soa, 0) &&
		    v[0] != p->new_serial) {
			p->mode = M_IXFR;
			p->in_add = false;
			p->cur = v[0];
			return rrs_put(p, owner, type, ttl, rd, rdlen);
		}
		/* An AXFR from here on; an SOA now ends a zone of an SOA alone. */
		p->mode = M_AXFR;
		/* FALLTHROUGH */
	case M_AXFR:
		if (soa) {
			if (v[0] != p->new_serial)
				return -1;
			p->done = true;
			return 0;
		}
		return rrs_put(p, owner, type, ttl, rd, rdlen);
	case M_IXFR:
		if (soa) {
			if (!p->in_add) {
				/* The end of a delta's deletions: its new SOA. */
				p->in_add = true;
				p->cur = v[0];
			} else if (v[0] == p->new_serial && p->cur == p->new_serial) {
				p->done = true;
				return 0;
			} else if (v[0] == p->cur) {
				p->in_add = false;	/* the next delta */
			} else
				return -1;
		}
		return rrs_put(p, owner, type, ttl, rd, rdlen);
	case M_UPTODATE:
		return -1;
	}
	return -1;
}

/* One message of the transfer.  0 go on, 1 complete, -1 failed (reason logged). */
static int
xfr_message(struct pull *p, const uint8_t *msg, size_t len)
{
	struct szn *z = p->z;
	struct wire_hdr h;
	struct wire_rr rr;
	uint8_t name[WIRE_NAME_MAX], owner[WIRE_NAME_MAX];
	uint8_t *rd;
	size_t pos = WIRE_HDR_LEN;
	char a[64];
	int r;

	if (wire_hdr_read(msg, len, &h) == -1 || h.id != p->id || !(h.flags & WIRE_QR) ||
	    WIRE_OPCODE(h.flags) != 0) {
		log_warnx("secondary zone %s: bad message from %s", z->name,
		    paddr(p, a, sizeof(a)));
		return -1;
	}
	if (p->tsig.active) {
		r = tsig_verify_response(&p->tsig, msg, len, now_wall());
		if (r != 0 && r != 1) {
			log_warnx("secondary zone %s: %s from %s: %s", z->name,
			    p->ixfr ? "IXFR" : "AXFR", paddr(p, a, sizeof(a)),
			    tsig_error_str(r));
			return -1;
		}
		p->last_signed = r == 0;
	}
	if (WIRE_RCODE(h.flags) != RCODE_NOERROR) {
		log_warnx("secondary zone %s: %s from %s: rcode %d", z->name,
		    p->ixfr ? "IXFR" : "AXFR", paddr(p, a, sizeof(a)), WIRE_RCODE(h.flags));
		if (p->ixfr && (WIRE_RCODE(h.flags) == RCODE_NOTIMP ||
		    WIRE_RCODE(h.flags) == RCODE_FORMERR))
			p->force_axfr = true;
		return -1;
	}
	for (unsigned i = 0; i < h.qdcount; i++) {
		if (wire_name_read(msg, len, &pos, name) == -1 || len - pos < 4 ||
		    !wire_name_equal(name, z->apex)) {
			log_warnx("secondary zone %s: bad question from %s", z->name,
			    paddr(p, a, sizeof(a)));
			return -1;
		}
		pos += 4;
	}
	if ((rd = malloc(WIRE_MAX_MSG)) == NULL)
		return -1;
	for (unsigned i = 0; i < h.ancount; i++) {
		int rdlen;

		if (wire_rr_read(msg, len, &pos, &rr) == -1 ||
		    (rdlen = wire_rdata_expand(msg, len, &rr, rd, WIRE_MAX_MSG)) < 0) {
			free(rd);
			log_warnx("secondary zone %s: malformed record from %s", z->name,
			    paddr(p, a, sizeof(a)));
			return -1;
		}
		wire_name_lower(owner, rr.owner, (size_t)rr.owner_len);
		if (rr.type == TYPE_NS && !wire_name_equal(owner, z->apex) &&
		    wire_name_under(owner, z->apex)) {
			/* A delegation: Azure Private DNS has none, and a
			 * forwarder cannot refer its clients to one, so served
			 * it would be answered as our own data.  The zone keeps
			 * what it had. */
			char nb[1024];
			if (wire_name_to_str(owner, nb, sizeof(nb)) < 0)
				pl_strlcpy(nb, "?", sizeof(nb));
			free(rd);
			log_warnx("secondary zone %s: %s from %s refused: NS records "
			    "for %s below the zone apex (a delegation, which pldns "
			    "does not serve); keeping serial %u", z->name,
			    p->ixfr ? "IXFR" : "AXFR", paddr(p, a, sizeof(a)), nb,
			    soa_field(&z->soa, 0));
			return -1;
		}
		if (rr.rclass != CLASS_IN || !wire_name_under(owner, z->apex) ||
		    take_rr(p, owner, rr.type, rr.ttl, rd, (uint16_t)rdlen) == -1) {
			free(rd);
			log_warnx("secondary zone %s: unexpected record in the answer "
			    "from %s", z->name, paddr(p, a, sizeof(a)));
			return -1;
		}
	}
	free(rd);
	p->nmsg++;
	if (p->mode == M_SECOND && p->nmsg == 1 && p->ixfr) {
		/* IXFR answered with the SOA alone: nothing newer. */
		if (!xfr_serial_gt(p->new_serial, soa_field(&z->soa, 0))) {
			p->mode = M_UPTODATE;
			p->done = true;
		} else {
			/* Newer, but not sent: ask for the whole zone. */
			p->force_axfr = true;
			return -1;
		}
	}
	if (!p->done)
		return 0;
	if (p->tsig.active && !p->last_signed) {
		log_warnx("secondary zone %s: the last message from %s is not signed",
		    z->name, paddr(p, a, sizeof(a)));
		return -1;
	}
	return 1;
}

/* Applies the received IXFR to the data held; -1 when it does not fit, -2
 * when out of memory (either way the store may be half changed). */
static int
apply_ixfr(struct pull *p)
{
	struct szn *z = p->z;
	size_t pos = 0;
	const uint8_t *owner, *rd;
	uint16_t type, rdlen;
	uint32_t ttl, v[4];
	enum { OLD_SOA, DELETING, ADDING } phase = OLD_SOA;

	/* Each difference: its old SOA, deletions, its new SOA, additions. */
	while (rrs_next(p, &pos, &owner, &type, &ttl, &rd, &rdlen)) {
		if (type == TYPE_SOA && wire_name_equal(owner, z->apex)) {
			if (!soa_fields(rd, rdlen, v))
				return -1;
			if (phase != DELETING) {
				if (v[0] != soa_field(&z->soa, 0))
					return -1;
				phase = DELETING;
			} else {
				if (!soa_set(&z->soa, ttl, rd, rdlen))
					return -1;
				phase = ADDING;
			}
			continue;
		}
		if (phase == ADDING) {
			if (store_add(&z->store, owner, type, ttl, rd, rdlen) == -1)
				return -2;
		} else if (phase == OLD_SOA ||
		    store_del(&z->store, owner, type, rd, rdlen) == -1)
			return -1;
	}
	return phase == ADDING && soa_field(&z->soa, 0) == p->new_serial ? 0 : -1;
}

/* 0, or -1 when out of memory (the store is then half filled). */
static int
apply_axfr(struct pull *p)
{
	struct szn *z = p->z;
	size_t pos = 0;
	const uint8_t *owner, *rd;
	uint16_t type, rdlen;
	uint32_t ttl;

	store_clear(&z->store);
	while (rrs_next(p, &pos, &owner, &type, &ttl, &rd, &rdlen))
		if (store_add(&z->store, owner, type, ttl, rd, rdlen) == -1)
			return -1;
	z->soa = p->new_soa;
	return 0;
}

/* The transfer is complete: take it in, write the file, tell the server. */
static void
xfr_complete(struct pull *p)
{
	struct szn *z = p->z;
	char a[64];
	int r;

	paddr(p, a, sizeof(a));
	if (p->mode == M_UPTODATE) {
		log_info("secondary zone %s: serial %u is current at %s", z->name,
		    soa_field(&z->soa, 0), a);
		pull_end(z, true);
		return;
	}
	if (p->mode == M_IXFR)
		r = apply_ixfr(p);
	else
		r = apply_axfr(p) == -1 ? -2 : 0;
	if (r == -2) {
		/* The data held stays what the file has; the transfer is
		 * tried again at the next retry, as after a failed one. */
		log_warnx("secondary zone %s: out of memory taking in the transfer "
		    "from %s: keeping the zone file's data", z->name, a);
		if (zone_load(z) == -1)
			z->have_data = false;
		pull_end(z, false);
		return;
	}
	if (p->mode == M_IXFR) {
		if (r == -1) {
			log_warnx("secondary zone %s: the IXFR from %s does not apply "
			    "to serial %u: trying AXFR", z->name, a,
			    soa_field(&z->soa, 0));
			/* The store may be half changed: back to the file. */
			if (zone_load(z) == -1)
				z->have_data = false;
			p->force_axfr = true;
			xfr_begin(p);
			return;
		}
		z->ixfrs++;
	}
	z->have_data = true;
	z->transfers++;
	log_info("secondary zone %s: %s from %s, serial %u, %zu records", z->name,
	    p->mode == M_IXFR ? "IXFR" : "AXFR", a, soa_field(&z->soa, 0),
	    z->store.n + 1);
	if (zone_write(z, a) == -1) {
		pull_end(z, false);
		return;
	}
	pull_end(z, true);
	event_active(z->sec->ev_changed, EV_TIMEOUT, 0);
}

static void
pull_next_primary(struct pull *p)
{
	if (p->force_axfr && p->stage == P_XFR && !p->ixfr) {
		/* AXFR after a failed IXFR failed too: move on. */
		p->force_axfr = false;
	}
	if (p->force_axfr && p->stage == P_XFR) {
		xfr_begin(p);
		return;
	}
	p->force_axfr = false;
	if (++p->prim >= p->z->nprimaries) {
		pull_end(p->z, false);
		return;
	}
	p->tries = 0;
	soa_send(p);
}

static void
pull_io_clear(struct pull *p)
{
	if (p->rd != NULL) {
		event_free(p->rd);
		p->rd = NULL;
	}
	if (p->tmo != NULL) {
		event_free(p->tmo);
		p->tmo = NULL;
	}
	if (p->fd != -1) {
		close(p->fd);
		p->fd = -1;
	}
	if (p->bev != NULL) {
		bufferevent_free(p->bev);
		p->bev = NULL;
	}
	tsig_ctx_clear(&p->tsig);
	free(p->rrs);
	p->rrs = NULL;
	p->rrs_len = p->rrs_cap = p->nrrs = 0;
}

static void
xfr_read_cb(struct bufferevent *bev, void *arg)
{
	struct pull *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t lenb[2], *msg;
	size_t len;
	int r;

	while (evbuffer_get_length(in) >= 2) {
		evbuffer_copyout(in, lenb, 2);
		len = wire_get_u16(lenb);
		if (evbuffer_get_length(in) < 2 + len)
			return;
		evbuffer_drain(in, 2);
		if ((msg = malloc(len ? len : 1)) == NULL) {
			pull_next_primary(p);
			return;
		}
		evbuffer_remove(in, msg, len);
		r = xfr_message(p, msg, len);
		free(msg);
		if (r == -1) {
			pull_next_primary(p);
			return;
		}
		if (r == 1) {
			xfr_complete(p);
			return;
		}
		if (now_ms() > p->deadline) {
			log_warnx("secondary zone %s: transfer takes longer than %d s",
			    p->z->name, XFR_DEADLINE_S);
			pull_next_primary(p);
			return;
		}
	}
}

static void
xfr_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct pull *p = arg;
	char a[64];

	if (what & BEV_EVENT_CONNECTED)
		return;
	log_warnx("secondary zone %s: %s from %s: %s", p->z->name,
	    p->ixfr ? "IXFR" : "AXFR", paddr(p, a, sizeof(a)),
	    (what & BEV_EVENT_TIMEOUT) ? "timed out" :
	    (what & BEV_EVENT_EOF) ? "connection closed before the end" :
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	pull_next_primary(p);
}

/* A query for the zone: SOA, AXFR or IXFR (with our SOA), TSIG-signed when keyed. */
static size_t
build_query(struct pull *p, uint16_t qtype, uint8_t *buf, size_t cap)
{
	struct szn *z = p->z;
	struct wire_buf b;
	struct wire_hdr h;
	size_t len;

	memset(&h, 0, sizeof(h));
	h.id = p->id = random_u16();
	h.qdcount = 1;
	h.nscount = qtype == TYPE_IXFR ? 1 : 0;
	wire_buf_init(&b, buf, cap - TSIG_RESERVE);
	wire_put_hdr(&b, &h);
	wire_put_name(&b, z->apex, true);
	wire_put_u16(&b, qtype);
	wire_put_u16(&b, CLASS_IN);
	if (qtype == TYPE_IXFR)
		wire_put_rr(&b, z->apex, TYPE_SOA, CLASS_IN, z->soa.ttl, z->soa.rdata,
		    z->soa.len);
	len = b.len;
	tsig_ctx_clear(&p->tsig);
	tsig_ctx_init(&p->tsig, z->has_key ? &z->key : NULL);
	if (z->has_key && tsig_sign(&p->tsig, buf, &len, cap, TSIG_NOERROR,
	    now_wall()) == -1)
		return 0;
	return len;
}

static void
xfr_begin(struct pull *p)
{
	struct szn *z = p->z;
	const struct pl_addr *a = &z->primaries[p->prim];
	uint8_t q[1024];
	uint8_t lenb[2];
	struct timeval idle = { XFR_IDLE_S, 0 };
	size_t len;
	char as[64];

	pull_io_clear(p);
	p->stage = P_XFR;
	p->ixfr = z->have_data && !p->force_axfr;
	p->mode = M_FIRST;
	p->done = false;
	p->nmsg = 0;
	p->last_signed = false;
	p->deadline = now_ms() + XFR_DEADLINE_S * 1000ULL;
	if ((len = build_query(p, p->ixfr ? TYPE_IXFR : TYPE_AXFR, q, sizeof(q))) == 0 ||
	    (p->bev = bufferevent_socket_new(z->sec->base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		pull_next_primary(p);
		return;
	}
	bufferevent_setcb(p->bev, xfr_read_cb, NULL, xfr_event_cb, p);
	bufferevent_set_timeouts(p->bev, &idle, &idle);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	lenb[0] = (uint8_t)(len >> 8);
	lenb[1] = (uint8_t)len;
	bufferevent_write(p->bev, lenb, 2);
	bufferevent_write(p->bev, q, len);
	log_debug("secondary zone %s: %s to %s", z->name, p->ixfr ? "IXFR" : "AXFR",
	    addr_str(a, as, sizeof(as)));
	if (bufferevent_socket_connect(p->bev, (const struct sockaddr *)&a->ss,
	    (int)a->len) == -1) {
		log_warnx("secondary zone %s: cannot connect to %s", z->name, as);
		pull_next_primary(p);
	}
}

/* ---- the SOA check over UDP ---- */

static void
soa_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pull *p = arg;
	char a[64];

	if (p->tries < SOA_TRIES) {
		soa_send(p);
		return;
	}
	log_warnx("secondary zone %s: no answer to the SOA query from %s", p->z->name,
	    paddr(p, a, sizeof(a)));
	pull_next_primary(p);
}

static void
soa_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pull *p = arg;
	struct szn *z = p->z;
	uint8_t msg[4096], name[WIRE_NAME_MAX], rd[WIRE_MAX_MSG];
	struct wire_hdr h;
	struct wire_rr rr;
	ssize_t n;
	size_t pos, len;
	uint32_t v[4];
	bool found = false;
	char a[64];
	int r;

	if ((n = recv(fd, msg, sizeof(msg), 0)) < 0) {
		if (errno == ECONNREFUSED) {
			/* Nothing listens there: no use waiting. */
			log_warnx("secondary zone %s: SOA query to %s: %s", z->name,
			    paddr(p, a, sizeof(a)), strerror(errno));
			pull_next_primary(p);
		}
		return;
	}
	len = (size_t)n;
	pos = WIRE_HDR_LEN;
	if (wire_hdr_read(msg, len, &h) == -1 || h.id != p->id || !(h.flags & WIRE_QR) ||
	    h.qdcount != 1 || wire_name_read(msg, len, &pos, name) == -1 ||
	    len - pos < 4 || !wire_name_equal(name, z->apex) ||
	    wire_get_u16(msg + pos) != TYPE_SOA)
		return;		/* not the answer: keep waiting */
	pos += 4;
	paddr(p, a, sizeof(a));
	if (p->tsig.active && (r = tsig_verify_response(&p->tsig, msg, len,
	    now_wall())) != 0) {
		log_warnx("secondary zone %s: SOA answer from %s: %s", z->name, a,
		    r == 1 ? "not signed" : tsig_error_str(r));
		pull_next_primary(p);
		return;
	}
	if (h.flags & WIRE_TC) {
		xfr_begin(p);
		return;
	}
	if (WIRE_RCODE(h.flags) != RCODE_NOERROR) {
		log_warnx("secondary zone %s: SOA query to %s: rcode %d", z->name, a,
		    WIRE_RCODE(h.flags));
		pull_next_primary(p);
		return;
	}
	for (unsigned i = 0; i < h.ancount && !found; i++) {
		int rdlen;

		if (wire_rr_read(msg, len, &pos, &rr) == -1)
			break;
		if (rr.type == TYPE_SOA && wire_name_equal(rr.owner, z->apex) &&
		    (rdlen = wire_rdata_expand(msg, len, &rr, rd, sizeof(rd))) >= 0 &&
		    soa_fields(rd, (size_t)rdlen, v))
			found = true;
	}
	if (!found) {
		log_warnx("secondary zone %s: %s has no SOA record for it", z->name, a);
		pull_next_primary(p);
		return;
	}
	if (z->have_data && !xfr_serial_gt(v[0], soa_field(&z->soa, 0))) {
		log_debug("secondary zone %s: serial %u is current at %s", z->name,
		    soa_field(&z->soa, 0), a);
		pull_end(z, true);
		return;
	}
	xfr_begin(p);
}

static void
soa_send(struct pull *p)
{
	struct szn *z = p->z;
	const struct pl_addr *a = &z->primaries[p->prim];
	uint8_t q[1024];
	struct timeval tv = { SOA_TIMEOUT_MS / 1000, (SOA_TIMEOUT_MS % 1000) * 1000 };
	size_t len;

	pull_io_clear(p);
	p->stage = P_SOA;
	p->tries++;
	if ((len = build_query(p, TYPE_SOA, q, sizeof(q))) == 0 ||
	    (p->fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1 ||
	    connect(p->fd, (const struct sockaddr *)&a->ss, a->len) == -1) {
		pull_next_primary(p);
		return;
	}
	p->rd = event_new(z->sec->base, p->fd, EV_READ | EV_PERSIST, soa_read_cb, p);
	p->tmo = evtimer_new(z->sec->base, soa_timeout_cb, p);
	event_add(p->rd, NULL);
	evtimer_add(p->tmo, &tv);
	(void)send(p->fd, q, len, 0);
}

/* ---- refreshes ---- */

static void
pull_start(struct szn *z)
{
	struct pull *p;

	if (z->pull != NULL) {
		z->again = true;
		return;
	}
	if (z->nprimaries == 0)
		return;
	evtimer_del(z->timer);
	p = xcalloc(1, sizeof(*p));
	p->z = z;
	p->fd = -1;
	z->pull = p;
	soa_send(p);
}

static void
pull_free(struct pull *p)
{
	if (p == NULL)
		return;
	pull_io_clear(p);
	free(p);
}

/* Ends the refresh in progress; schedules the next one. */
static void
pull_end(struct szn *z, bool ok)
{
	struct pull *p = z->pull;

	z->pull = NULL;
	/* Called from P's own callbacks: its events are freed here, and
	 * nothing touches P after. */
	pull_free(p);
	if (ok) {
		z->last_ok = now_wall();
		/* The file's time is the refresh time that survives a restart. */
		utimensat(AT_FDCWD, z->file, NULL, 0);
		expire_schedule(z);
		timer_in(z->timer, soa_field(&z->soa, 1));
	} else {
		z->failures++;
		set_available(z);
		timer_in(z->timer, z->have_data ? soa_field(&z->soa, 2) : 10);
	}
	if (z->again) {
		z->again = false;
		pull_start(z);
	}
}

/* ---- the zone list ---- */

static struct szn *
szn_new(struct xfr_secondary *sec, const struct config *cfg, const struct zone_conf *zc)
{
	struct szn *z = xcalloc(1, sizeof(*z));
	const struct key_conf *kc = zc->key ? config_key(cfg, zc->key) : NULL;
	const char *err;
	int n;

	z->sec = sec;
	z->name = xstrdup(zc->name);
	n = wire_name_from_str(zc->name, z->apex, &err);
	wire_name_lower(z->apex, z->apex, n > 0 ? (size_t)n : 1);
	z->apex_len = n > 0 ? (size_t)n : 1;
	z->primaries = xcalloc(zc->nprimaries, sizeof(*z->primaries));
	memcpy(z->primaries, zc->primaries, zc->nprimaries * sizeof(*z->primaries));
	z->nprimaries = zc->nprimaries;
	if (kc != NULL && tsig_key_init(&z->key, kc) == 0)
		z->has_key = true;
	z->file = config_secondary_file(cfg, zc);
	z->timer = evtimer_new(sec->base, refresh_cb, z);
	z->expire_ev = evtimer_new(sec->base, expire_cb, z);
	if (zone_load(z) == 0) {
		z->have_data = true;
		log_info("secondary zone %s: serial %u from %s", z->name,
		    soa_field(&z->soa, 0), z->file);
		expire_schedule(z);
		if (z->expired)
			log_warnx("secondary zone %s: expired (last refresh too long "
			    "ago): answering SERVFAIL until a refresh", z->name);
	}
	set_available(z);
	return z;
}

static void
szn_free(struct szn *z)
{
	pull_free(z->pull);
	event_free(z->timer);
	event_free(z->expire_ev);
	store_clear(&z->store);
	mark(z->sec, z->name, false);
	free(z->name);
	free(z->primaries);
	free(z->file);
	explicit_bzero(&z->key, sizeof(z->key));
	free(z);
}

static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xfr_secondary *sec = arg;
	struct szn *z, *todo[64];
	size_t n;

	do {
		n = 0;
		pthread_mutex_lock(&sec->lock);
		for (z = sec->zones; z != NULL && n < nitems(todo); z = z->next) {
			if (z->notified) {
				z->notified = false;
				todo[n++] = z;
			}
		}
		pthread_mutex_unlock(&sec->lock);
		/* Zones are only removed on this thread: they are still there. */
		for (size_t i = 0; i < n; i++)
			pull_start(todo[i]);
	} while (n == nitems(todo));
}

static void
changed_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xfr_secondary *sec = arg;

	if (sec->changed != NULL)
		sec->changed(sec->arg);
}

struct xfr_secondary *
xfr_secondary_new(struct event_base *base, const struct config *cfg,
    void (*changed)(void *arg), void *arg)
{
	struct xfr_secondary *sec = xcalloc(1, sizeof(*sec));

	sec->base = base;
	pthread_mutex_init(&sec->lock, NULL);
	sec->changed = changed;
	sec->arg = arg;
	sec->ev_notify = event_new(base, -1, 0, notify_cb, sec);
	sec->ev_changed = event_new(base, -1, 0, changed_cb, sec);
	xfr_secondary_reconfigure(sec, cfg);
	return sec;
}

static bool
same_primaries(const struct szn *z, const struct zone_conf *zc)
{
	if (z->nprimaries != zc->nprimaries)
		return false;
	for (size_t i = 0; i < z->nprimaries; i++)
		if (!addr_equal(&z->primaries[i], &zc->primaries[i]))
			return false;
	return true;
}

void
xfr_secondary_reconfigure(struct xfr_secondary *sec, const struct config *cfg)
{
	struct szn **zp, *z, *gone = NULL, *fresh = NULL;
	struct szn *restart[256];
	size_t nrestart = 0;

	free(sec->state_dir);
	sec->state_dir = xstrdup(cfg->state_dir ? cfg->state_dir : ".");

	/* Build new zones outside the lock (they read files). */
	for (size_t i = 0; i < cfg->nzones; i++) {
		const struct zone_conf *zc = &cfg->zones[i];
		char *file;
		bool have = false;

		if (zc->nprimaries == 0)
			continue;
		file = config_secondary_file(cfg, zc);
		for (z = sec->zones; z != NULL && !have; z = z->next)
			have = strcmp(z->name, zc->name) == 0 && strcmp(z->file, file) == 0;
		free(file);
		if (have)
			continue;
		z = szn_new(sec, cfg, zc);
		z->next = fresh;
		fresh = z;
	}

	pthread_mutex_lock(&sec->lock);
	for (zp = &sec->zones; (z = *zp) != NULL;) {
		const struct zone_conf *zc = config_zone(cfg, z->name);
		const struct key_conf *kc;
		struct tsig_key k;
		bool keep = false;
		char *file = NULL;

		if (zc != NULL && zc->nprimaries > 0) {
			file = config_secondary_file(cfg, zc);
			keep = strcmp(file, z->file) == 0;
			free(file);
		}
		if (!keep) {
			*zp = z->next;
			z->next = gone;
			gone = z;
			continue;
		}
		kc = zc->key ? config_key(cfg, zc->key) : NULL;
		memset(&k, 0, sizeof(k));
		if (kc != NULL && tsig_key_init(&k, kc) != 0)
			kc = NULL;
		if (!same_primaries(z, zc) || (kc != NULL) != z->has_key ||
		    (kc != NULL && memcmp(&k, &z->key, sizeof(k)) != 0)) {
			free(z->primaries);
			z->primaries = xcalloc(zc->nprimaries, sizeof(*z->primaries));
			memcpy(z->primaries, zc->primaries,
			    zc->nprimaries * sizeof(*z->primaries));
			z->nprimaries = zc->nprimaries;
			z->has_key = kc != NULL;
			z->key = k;
			if (nrestart < nitems(restart))
				restart[nrestart++] = z;
		}
		explicit_bzero(&k, sizeof(k));
		zp = &z->next;
	}
	while (fresh != NULL) {
		z = fresh;
		fresh = z->next;
		z->next = sec->zones;
		sec->zones = z;
		if (nrestart < nitems(restart))
			restart[nrestart++] = z;
		else
			event_active(z->timer, EV_TIMEOUT, 0);
	}
	pthread_mutex_unlock(&sec->lock);

	while (gone != NULL) {
		z = gone;
		gone = z->next;
		szn_free(z);
	}
	/* After the zones gone: one of them may share a name with a new one. */
	mark_all(sec);
	if (sec->zones != NULL && mkdir_p(sec->state_dir) == -1)
		log_warn("cannot create the state directory %s", sec->state_dir);
	for (size_t i = 0; i < nrestart; i++) {
		z = restart[i];
		if (z->pull != NULL) {
			/* Its primaries changed under it: start over. */
			pull_free(z->pull);
			z->pull = NULL;
		}
		pull_start(z);
	}
}

void
xfr_secondary_free(struct xfr_secondary *sec)
{
	struct szn *z, *n;

	if (sec == NULL)
		return;
	for (z = sec->zones; z != NULL; z = n) {
		n = z->next;
		szn_free(z);
	}
	event_free(sec->ev_notify);
	event_free(sec->ev_changed);
	pthread_mutex_destroy(&sec->lock);
	if (sec->snap != NULL)
		snapshot_unref(sec->snap);
	free(sec->state_dir);
	free(sec);
}

void
xfr_secondary_publish(struct xfr_secondary *sec, struct snapshot *s)
{
	snapshot_ref(s);
	if (sec->snap != NULL)
		snapshot_unref(sec->snap);
	sec->snap = s;
	mark_all(sec);
}

bool
xfr_secondary_unavailable(const struct snapshot *s, const uint8_t *lname)
{
	uint8_t pl[WIRE_NAME_MAX];
	const struct szone *z;
	bool twin;

	if (snapshot_nunavailable(s) == 0)
		return false;
	z = snapshot_route(s, lname, pl, &twin);
	return z != NULL && szone_unavailable(z);
}

int
xfr_secondary_chown(struct xfr_secondary *sec, uid_t uid, gid_t gid)
{
	int rc = 0;

	if (sec->zones == NULL)
		return 0;
	if (chown(sec->state_dir, uid, gid) == -1) {
		log_warn("chown %s", sec->state_dir);
		rc = -1;
	}
	for (struct szn *z = sec->zones; z != NULL; z = z->next)
		if (chown(z->file, uid, gid) == -1 && errno != ENOENT) {
			log_warn("chown %s", z->file);
			rc = -1;
		}
	return rc;
}

void
xfr_secondary_status(struct xfr_secondary *sec, const char *zone,
    struct xfr_zone_status *out)
{
	memset(out, 0, sizeof(*out));
	for (struct szn *z = sec->zones; z != NULL; z = z->next) {
		if (strcmp(z->name, zone) != 0)
			continue;
		out->known = true;
		out->have_data = z->have_data;
		out->expired = z->expired;
		out->refreshing = z->pull != NULL;
		out->serial = z->have_data ? soa_field(&z->soa, 0) : 0;
		out->last_ok = z->last_ok;
		out->transfers = z->transfers;
		out->ixfrs = z->ixfrs;
		out->failures = z->failures;
	}
}

/* ---- NOTIFY from a primary (worker threads) ---- */

static bool
from_primary(const struct szn *z, const struct sockaddr *peer)
{
	for (size_t i = 0; i < z->nprimaries; i++) {
		const struct sockaddr *a = (const struct sockaddr *)&z->primaries[i].ss;

		if (a->sa_family != peer->sa_family)
			continue;
		if (a->sa_family == AF_INET &&
		    ((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)(const void *)peer)->sin_addr.s_addr)
			return true;
		if (a->sa_family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr, 16) == 0)
			return true;
	}
	return false;
}

int
xfr_secondary_notify(struct xfr_secondary *sec, const uint8_t *pkt, size_t len,
    const struct sockaddr *peer, uint8_t *reply, size_t cap, size_t *reply_len)
{
	struct wire_hdr h, rh;
	struct tsig_rr t;
	struct tsig_ctx ctx;
	uint8_t qname[WIRE_NAME_MAX], lname[WIRE_NAME_MAX];
	uint16_t qtype = 0, qclass = 0, te = TSIG_NOERROR;
	size_t pos = WIRE_HDR_LEN;
	struct wire_buf b;
	struct wire_edns edns;
	bool have_q = false, wake = false;
	int rcode = RCODE_NOERROR, ts, n = -1;
	struct szn *z;

	tsig_ctx_init(&ctx, NULL);
	*reply_len = 0;
	if (wire_hdr_read(pkt, len, &h) == -1 || cap < WIRE_HDR_LEN + TSIG_RESERVE)
		return RCODE_FORMERR;
	if (h.qdcount == 1 && (n = wire_name_read(pkt, len, &pos, qname)) != -1 &&
	    len - pos >= 4) {
		have_q = true;
		qtype = wire_get_u16(pkt + pos);
		qclass = wire_get_u16(pkt + pos + 2);
		wire_name_lower(lname, qname, (size_t)n);
	}
	ts = tsig_find(pkt, len, &t);
	if (!have_q || ts == -1 || qtype != TYPE_SOA)
		rcode = RCODE_FORMERR;
	if (rcode == RCODE_NOERROR && sec == NULL)
		rcode = RCODE_NOTAUTH;
	if (rcode == RCODE_NOERROR) {
		pthread_mutex_lock(&sec->lock);
		for (z = sec->zones; z != NULL; z = z->next)
			if (wire_name_equal(z->apex, lname))
				break;
		if (z == NULL) {
			rcode = RCODE_NOTAUTH;
		} else if (ts == 1) {
			bool match = z->has_key && wire_name_equal(z->key.name, t.name);

			te = (uint16_t)tsig_verify_request(&ctx, &z->key, match ? 1 : 0,
			    pkt, len, &t, now_wall());
			if (te != TSIG_NOERROR)
				rcode = RCODE_NOTAUTH;
			else if (!z->has_key && !from_primary(z, peer))
				rcode = RCODE_REFUSED;
		} else if (z->has_key || !from_primary(z, peer))
			rcode = RCODE_REFUSED;
		if (z != NULL && rcode == RCODE_NOERROR) {
			z->notified = true;
			wake = true;
		}
		pthread_mutex_unlock(&sec->lock);
		if (wake)
			event_active(sec->ev_notify, EV_TIMEOUT, 0);
	}

	memset(&rh, 0, sizeof(rh));
	rh.id = h.id;
	rh.flags = (uint16_t)(WIRE_QR | (WIRE_OPCODE_NOTIFY << 11) | WIRE_AA | (rcode & 0xf));
	rh.qdcount = have_q ? 1 : 0;
	wire_buf_init(&b, reply, cap - TSIG_RESERVE);
	wire_put_hdr(&b, &rh);
	if (have_q) {
		wire_put_name(&b, qname, false);
		wire_put_u16(&b, qtype);
		wire_put_u16(&b, qclass);
	}
	if (b.overflow) {
		/* A question too long for REPLY: the header alone. */
		rh.qdcount = 0;
		wire_buf_init(&b, reply, cap - TSIG_RESERVE);
		wire_put_hdr(&b, &rh);
	}
	if (wire_msg_edns(pkt, len, &edns) == 0) {
		/* RFC 6891 7: OPT in the reply to a request with one. */
		struct wire_mark m = wire_buf_mark(&b);
		wire_put_opt(&b, 1232, (uint8_t)(rcode >> 4),
		    (edns.flags & EDNS_DO) != 0, -1);
		if (b.overflow)
			wire_buf_rollback(&b, m);
		else
			wire_set_u16(&b, WIRE_OFF_AR, 1);
	}
	*reply_len = b.len;
	if (ctx.active)
		(void)tsig_sign(&ctx, reply, reply_len, cap, te, now_wall());
	tsig_ctx_clear(&ctx);
	return rcode;
}
