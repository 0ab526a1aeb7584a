/*
 * xfr_client: a refresh of a secondary zone against its primaries: the SOA
 * query over UDP, then IXFR or AXFR over TCP (TSIG-signed with the zone's
 * key), each primary in turn, until one answers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "util/log.h"
#include "wire/tcpframe.h"
#include "engine/tsig.h"
#include "util/util.h"
#include "xfr/xfr_secondary_int.h"

#define SOA_TIMEOUT_MS	2000	/* per SOA query try */
#define SOA_TRIES	2	/* per primary */
#define XFR_IDLE_S	15	/* a transfer that stalls this long fails */
#define XFR_DEADLINE_S	600	/* and no transfer takes longer than this */

static void soa_send(struct pull *p);
static void xfr_begin(struct pull *p);
static void pull_next_primary(struct pull *p);
static void pull_io_clear(struct pull *p);
static size_t build_query(struct pull *p, uint16_t qtype, uint8_t *buf, size_t cap);

const char *
xfr_pull_addr(const struct pull *p, char *buf, size_t len)
{
	return addr_str(&p->z->primaries[p->prim], buf, len);
}

/* ---- the transfer over TCP ---- */

/* The transfer is complete: take it in, write the file, tell the server. */
static void
xfr_complete(struct pull *p)
{
	struct szn *z = p->z;
	char a[64];
	int r;

	xfr_pull_addr(p, a, sizeof(a));
	if (p->mode == M_UPTODATE) {
		log_info("secondary zone %s: serial %u is current at %s", z->name,
		    xfr_soa_field(&z->soa, 0), a);
		xfr_pull_end(z, true);
		return;
	}
	if (p->mode == M_IXFR)
		r = xfr_apply_ixfr(p);
	else
		r = xfr_apply_axfr(p) == -1 ? -2 : 0;
	if (r == -2) {
		/* The data held stays what the file has; the transfer is
		 * tried again at the next retry, as after a failed one. */
		log_warnx("secondary zone %s: out of memory taking in the transfer "
		    "from %s: keeping the zone file's data", z->name, a);
		if (xfr_zonefile_load(z) == -1)
			z->have_data = false;
		xfr_pull_end(z, false);
		return;
	}
	if (p->mode == M_IXFR) {
		if (r == -1) {
			log_warnx("secondary zone %s: the IXFR from %s does not apply "
			    "to serial %u: trying AXFR", z->name, a,
			    xfr_soa_field(&z->soa, 0));
			/* The store may be half changed: back to the file. */
			if (xfr_zonefile_load(z) == -1)
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
	    p->mode == M_IXFR ? "IXFR" : "AXFR", a, xfr_soa_field(&z->soa, 0),
	    z->store.n + 1);
	if (xfr_zonefile_write(z, a) == -1) {
		xfr_pull_end(z, false);
		return;
	}
	xfr_pull_end(z, true);
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
		xfr_pull_end(p->z, false);
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
	free(p->msg);
	p->msg = NULL;
	free(p->rrs);
	p->rrs = NULL;
	p->rrs_len = p->rrs_cap = p->nrrs = 0;
}

static void
xfr_read_cb(struct bufferevent *bev, void *arg)
{
	struct pull *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	enum tcpframe_status st;
	size_t len;
	int r;

	if (p->msg == NULL && (p->msg = malloc(WIRE_MAX_MSG)) == NULL) {
		pull_next_primary(p);
		return;
	}
	while ((st = tcpframe_read(in, p->msg, 1, WIRE_MAX_MSG, &len)) !=
	    TCPFRAME_MORE) {
		/* A zero-length message: not an answer; the next primary. */
		r = st == TCPFRAME_MSG ? xfr_receive_message(p, p->msg, len) : -1;
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
	    p->ixfr ? "IXFR" : "AXFR", xfr_pull_addr(p, a, sizeof(a)),
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
	if (tcpframe_write(bufferevent_get_output(p->bev), q, len) == -1) {
		pull_next_primary(p);
		return;
	}
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
	    xfr_pull_addr(p, a, sizeof(a)));
	pull_next_primary(p);
}

static void
soa_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pull *p = arg;
	struct szn *z = p->z;
	uint8_t msg[4096], name[WIRE_NAME_MAX], rd[WIRE_MAX_MSG];
	struct wire_iter it;
	struct wire_iter_q q;
	struct wire_iter_rr irr;
	struct wire_hdr h;
	struct wire_rr rr;
	ssize_t n;
	size_t len;
	uint32_t v[4];
	bool found = false;
	char a[64];
	int r;

	if ((n = recv(fd, msg, sizeof(msg), 0)) < 0) {
		if (errno == ECONNREFUSED) {
			/* Nothing listens there: no use waiting. */
			log_warnx("secondary zone %s: SOA query to %s: %s", z->name,
			    xfr_pull_addr(p, a, sizeof(a)), strerror(errno));
			pull_next_primary(p);
		}
		return;
	}
	len = (size_t)n;
	if (wire_iter_init(&it, msg, len) == -1 || (h = it.hdr).id != p->id ||
	    !(h.flags & WIRE_QR) || h.qdcount != 1 ||
	    wire_iter_question(&it, &q, name) != 1 ||
	    !wire_name_equal(name, z->apex) || q.qtype != TYPE_SOA)
		return;		/* not the answer: keep waiting */
	xfr_pull_addr(p, a, sizeof(a));
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

		if (wire_iter_next(&it, &irr) != 1 ||
		    wire_iter_rr_read(&it, &irr, &rr) == -1)
			break;
		if (rr.type == TYPE_SOA && wire_name_equal(rr.owner, z->apex) &&
		    (rdlen = wire_rdata_expand(msg, len, &rr, rd, sizeof(rd))) >= 0 &&
		    xfr_soa_fields(rd, (size_t)rdlen, v))
			found = true;
	}
	if (!found) {
		log_warnx("secondary zone %s: %s has no SOA record for it", z->name, a);
		pull_next_primary(p);
		return;
	}
	if (z->have_data && !xfr_serial_gt(v[0], xfr_soa_field(&z->soa, 0))) {
		log_debug("secondary zone %s: serial %u is current at %s", z->name,
		    xfr_soa_field(&z->soa, 0), a);
		xfr_pull_end(z, true);
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

void
xfr_pull_start(struct szn *z)
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

void
xfr_pull_free(struct pull *p)
{
	if (p == NULL)
		return;
	pull_io_clear(p);
	free(p);
}
