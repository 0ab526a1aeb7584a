/*
 * xfr_notify: NOTIFY (RFC 1996) to the secondaries of changed zones, from
 * the main thread: one UDP socket per message, signed with the zone's TSIG
 * key when it has one, sent up to five times (1, 2, 4 and 8 s apart) until
 * answered.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "util/log.h"
#include "engine/tsig.h"
#include "util/util.h"
#include "xfr/xfr.h"

#define NOTIFY_TRIES	5

struct njob {
	struct xfr_notifier *n;
	struct njob *prev, *next;
	char *zone;
	struct pl_addr target;
	uint8_t msg[512 + TSIG_RESERVE];
	size_t len;			/* unsigned message */
	bool has_key;
	struct tsig_key key;
	uint16_t id;
	int fd;
	int tries;
	struct event *rd, *tmo;
};

struct xfr_notifier {
	struct event_base *base;
	struct njob *jobs;
	size_t njobs;
};

struct xfr_notifier *
xfr_notifier_new(struct event_base *base)
{
	struct xfr_notifier *n = xcalloc(1, sizeof(*n));

	n->base = base;
	return n;
}

static void
njob_free(struct njob *jb)
{
	struct xfr_notifier *n = jb->n;

	if (jb->prev != NULL)
		jb->prev->next = jb->next;
	else
		n->jobs = jb->next;
	if (jb->next != NULL)
		jb->next->prev = jb->prev;
	n->njobs--;
	if (jb->rd != NULL)
		event_free(jb->rd);
	if (jb->tmo != NULL)
		event_free(jb->tmo);
	if (jb->fd != -1)
		close(jb->fd);
	free(jb->zone);
	explicit_bzero(&jb->key, sizeof(jb->key));
	free(jb);
}

void
xfr_notifier_free(struct xfr_notifier *n)
{
	if (n == NULL)
		return;
	while (n->jobs != NULL)
		njob_free(n->jobs);
	free(n);
}

size_t
xfr_notifier_pending(const struct xfr_notifier *n)
{
	return n->njobs;
}

static void
njob_send(struct njob *jb)
{
	uint8_t buf[sizeof(jb->msg)];
	size_t len = jb->len;
	struct timeval tv = { 1 << jb->tries, 0 };
	char a[64];

	memcpy(buf, jb->msg, len);
	if (jb->has_key) {
		struct tsig_ctx c;

		/* Signed afresh each time: the time signed moves on. */
		tsig_ctx_init(&c, &jb->key);
		if (tsig_sign(&c, buf, &len, sizeof(buf), TSIG_NOERROR, now_wall()) == -1)
			len = jb->len;
		tsig_ctx_clear(&c);
	}
	if (send(jb->fd, buf, len, 0) < 0)
		log_debug("NOTIFY of %s to %s: %s", jb->zone,
		    addr_str(&jb->target, a, sizeof(a)), strerror(errno));
	jb->tries++;
	evtimer_add(jb->tmo, &tv);
}

static void
njob_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct njob *jb = arg;
	char a[64];

	if (jb->tries >= NOTIFY_TRIES) {
		log_warnx("NOTIFY of %s to %s: no answer after %d tries", jb->zone,
		    addr_str(&jb->target, a, sizeof(a)), jb->tries);
		njob_free(jb);
		return;
	}
	njob_send(jb);
}

static void
njob_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct njob *jb = arg;
	uint8_t buf[4096];
	struct wire_hdr h;
	ssize_t r;
	char a[64];

	while ((r = recv(fd, buf, sizeof(buf), 0)) >= 0) {
		/* The socket is connected: only the target's datagrams arrive. */
		if (wire_hdr_read(buf, (size_t)r, &h) == -1 || h.id != jb->id ||
		    !(h.flags & WIRE_QR) || WIRE_OPCODE(h.flags) != WIRE_OPCODE_NOTIFY)
			continue;
		if (WIRE_RCODE(h.flags) != RCODE_NOERROR)
			log_warnx("NOTIFY of %s to %s: rcode %d", jb->zone,
			    addr_str(&jb->target, a, sizeof(a)), WIRE_RCODE(h.flags));
		else
			log_debug("NOTIFY of %s to %s: acknowledged", jb->zone,
			    addr_str(&jb->target, a, sizeof(a)));
		njob_free(jb);
		return;
	}
	if (errno == ECONNREFUSED)
		log_debug("NOTIFY of %s to %s: port closed", jb->zone,
		    addr_str(&jb->target, a, sizeof(a)));
}

static void
notify_zone(struct xfr_notifier *n, const struct snapshot *s, const struct szone *z,
    const struct zone_conf *zc)
{
	const struct config *cfg = snapshot_config(s);
	const struct key_conf *kc = zc->key ? config_key(cfg, zc->key) : NULL;
	const struct rrset *soa = szone_soa(z);

	for (size_t t = 0; t < zc->nnotify; t++) {
		struct njob *jb, *o;
		struct wire_buf b;
		struct wire_hdr h;
		char a[64];

		/* A newer serial replaces a NOTIFY still being repeated. */
		for (o = n->jobs; o != NULL; o = o->next) {
			if (strcmp(o->zone, szone_name(z)) == 0 &&
			    addr_equal(&o->target, &zc->notify[t])) {
				njob_free(o);
				break;
			}
		}
		jb = xcalloc(1, sizeof(*jb));
		jb->n = n;
		jb->zone = xstrdup(szone_name(z));
		jb->target = zc->notify[t];
		jb->id = random_u16();
		jb->fd = socket(jb->target.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (kc != NULL && tsig_key_init(&jb->key, kc) == 0)
			jb->has_key = true;
		jb->next = n->jobs;
		if (n->jobs != NULL)
			n->jobs->prev = jb;
		n->jobs = jb;
		n->njobs++;
		if (jb->fd == -1 || connect(jb->fd, (const struct sockaddr *)&jb->target.ss,
		    jb->target.len) == -1) {
			log_warn("NOTIFY of %s to %s", jb->zone,
			    addr_str(&jb->target, a, sizeof(a)));
			njob_free(jb);
			continue;
		}
		memset(&h, 0, sizeof(h));
		h.id = jb->id;
		h.flags = (uint16_t)(WIRE_OPCODE_NOTIFY << 11 | WIRE_AA);
		h.qdcount = 1;
		h.ancount = soa != NULL ? 1 : 0;
		wire_buf_init(&b, jb->msg, 512);
		wire_put_hdr(&b, &h);
		wire_put_name(&b, szone_apex(z), true);
		wire_put_u16(&b, TYPE_SOA);
		wire_put_u16(&b, CLASS_IN);
		/* The new SOA as a hint (RFC 1996 3.7). */
		if (soa != NULL)
			wire_put_rr(&b, szone_apex(z), TYPE_SOA, CLASS_IN, soa->ttl,
			    soa->data + 2, wire_get_u16(soa->data));
		if (b.overflow) {
			njob_free(jb);
			continue;
		}
		jb->len = b.len;
		jb->rd = event_new(n->base, jb->fd, EV_READ | EV_PERSIST, njob_read_cb, jb);
		jb->tmo = evtimer_new(n->base, njob_timeout_cb, jb);
		event_add(jb->rd, NULL);
		log_info("NOTIFY of %s serial %u to %s", jb->zone, szone_serial(z),
		    addr_str(&jb->target, a, sizeof(a)));
		njob_send(jb);
	}
}

void
xfr_notify_changed(struct xfr_notifier *n, const struct snapshot *old,
    const struct snapshot *new)
{
	const struct config *cfg = snapshot_config(new);

	for (size_t i = 0; i < snapshot_nzones(new); i++) {
		const struct szone *z = snapshot_zone_at(new, i);
		const struct szone *oz = snapshot_zone_named(old, szone_name(z));
		const struct zone_conf *zc = config_zone(cfg, szone_name(z));

		if (zc == NULL || zc->nnotify == 0)
			continue;
		if (oz != NULL && szone_serial(oz) == szone_serial(z))
			continue;
		notify_zone(n, new, z, zc);
	}
}
