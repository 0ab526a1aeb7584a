/*
 * xfr_secondary: the secondary zones: their list, kept in step with the
 * configuration; their timers (refresh, retry, expire) and state; which of
 * them answer SERVFAIL, marked in the snapshot in service; NOTIFY from a
 * primary.  A refresh is xfr_client's, the data xfr_store's, the file
 * xfr_zonefile's.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "util/log.h"
#include "engine/tsig.h"
#include "util/util.h"
#include "xfr/xfr_secondary_int.h"

#define TIMER_MIN_S	1	/* refresh/retry floor: a zero never spins */
#define TIMER_MAX_S	(86400 * 24)

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
	at = z->last_ok + xfr_soa_field(&z->soa, 3);
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
	if (now_wall() < z->last_ok + xfr_soa_field(&z->soa, 3)) {
		expire_schedule(z);
		return;
	}
	z->expired = true;
	set_available(z);
	log_warnx("secondary zone %s: expired (no successful refresh for %u s): "
	    "answering SERVFAIL", z->name, xfr_soa_field(&z->soa, 3));
}

static void
refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	xfr_pull_start(arg);
}

/* Ends the refresh in progress; schedules the next one. */
void
xfr_pull_end(struct szn *z, bool ok)
{
	struct pull *p = z->pull;

	z->pull = NULL;
	/* Called from P's own callbacks: its events are freed here, and
	 * nothing touches P after. */
	xfr_pull_free(p);
	if (ok) {
		z->last_ok = now_wall();
		/* The file's time is the refresh time that survives a restart. */
		utimensat(AT_FDCWD, z->file, NULL, 0);
		expire_schedule(z);
		timer_in(z->timer, xfr_soa_field(&z->soa, 1));
	} else {
		z->failures++;
		set_available(z);
		timer_in(z->timer, z->have_data ? xfr_soa_field(&z->soa, 2) : 10);
	}
	if (z->again) {
		z->again = false;
		xfr_pull_start(z);
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
	if (xfr_zonefile_load(z) == 0) {
		z->have_data = true;
		log_info("secondary zone %s: serial %u from %s", z->name,
		    xfr_soa_field(&z->soa, 0), z->file);
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
	xfr_pull_free(z->pull);
	event_free(z->timer);
	event_free(z->expire_ev);
	xfr_store_clear(&z->store);
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
			xfr_pull_start(todo[i]);
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
			xfr_pull_free(z->pull);
			z->pull = NULL;
		}
		xfr_pull_start(z);
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
		out->serial = z->have_data ? xfr_soa_field(&z->soa, 0) : 0;
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
