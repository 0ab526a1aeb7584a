/* doctor_query: the query engine of "pldns doctor" (see doctor_query.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "verbs/doctor_query.h"
#include "util/util.h"

#define MAX_UDP_INFLIGHT	200
#define MAX_TCP_INFLIGHT	16	/* pldns allows 32 per client by default */
#define EDNS_SIZE		1232

/* ---- replies (doctor_int.h) ---- */

void
doctor_name_str(const uint8_t *wname, char *out, size_t len)
{
	size_t n;

	if (wire_name_to_str(wname, out, len) < 0) {
		pl_strlcpy(out, "?", len);
		return;
	}
	n = strlen(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

int
doctor_reply_parse(const uint8_t *pkt, size_t len, uint16_t id,
    const uint8_t *qname, uint16_t qtype, struct doctor_reply *r)
{
	struct wire_iter it;
	struct wire_iter_q q;
	struct wire_iter_rr irr;

	if (wire_iter_init(&it, pkt, len) == -1 || it.hdr.id != id ||
	    !(it.hdr.flags & WIRE_QR))
		return -1;
	if (it.hdr.qdcount > 1)
		return -1;
	if (it.hdr.qdcount == 1) {
		uint8_t n[WIRE_NAME_MAX];

		if (wire_iter_question(&it, &q, n) != 1)
			return -1;
		if (!wire_name_equal(n, qname) || q.qtype != qtype ||
		    q.qclass != CLASS_IN)
			return -1;
	}
	r->outcome = DOCTOR_ANSWER;
	r->rcode = WIRE_RCODE(it.hdr.flags);
	r->tc = (it.hdr.flags & WIRE_TC) != 0;
	r->naddrs = 0;
	r->nchain = 0;
	/* Only the answer section is read: what follows it, cut short or
	 * not, says nothing the verdicts use. */
	while (it.next < it.hdr.ancount) {
		struct wire_rr rr;

		if (wire_iter_next(&it, &irr) != 1 ||
		    wire_iter_rr_read(&it, &irr, &rr) == -1) {
			/* A truncated UDP reply may stop anywhere. */
			if (r->tc)
				break;
			r->outcome = DOCTOR_BADREPLY;
			pl_strlcpy(r->error, "malformed answer section",
			    sizeof(r->error));
			return 0;
		}
		if (rr.rclass != CLASS_IN)
			continue;
		if (rr.type == TYPE_CNAME && r->nchain < DOCTOR_MAX_CHAIN) {
			uint8_t t[WIRE_NAME_MAX];

			if (wire_rdata_expand(pkt, len, &rr, t, sizeof(t)) == -1 ||
			    wire_name_len(t, sizeof(t)) == -1) {
				r->outcome = DOCTOR_BADREPLY;
				pl_strlcpy(r->error, "malformed CNAME",
				    sizeof(r->error));
				return 0;
			}
			doctor_name_str(t, r->chain[r->nchain++], AZURE_NAME_MAX);
		} else if ((rr.type == TYPE_A && rr.rdlen == 4) ||
		    (rr.type == TYPE_AAAA && rr.rdlen == 16)) {
			struct doctor_ip *ip;

			if (r->naddrs == DOCTOR_MAX_ADDRS)
				continue;
			ip = &r->addrs[r->naddrs++];
			memset(ip, 0, sizeof(*ip));
			ip->family = rr.type == TYPE_A ? AF_INET : AF_INET6;
			memcpy(ip->addr, pkt + rr.rdata_off, rr.rdlen);
		}
	}
	return 0;
}

/* ---- the engine ---- */

size_t
dq_add(struct dqset *s, const struct pl_addr *server, const uint8_t *qname,
    uint16_t qtype, bool tcp, size_t tag)
{
	struct dq *q;
	int len = wire_name_len(qname, WIRE_NAME_MAX);

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->q = xreallocarray(s->q, s->cap, sizeof(*s->q));
	}
	q = &s->q[s->n];
	memset(q, 0, sizeof(*q));
	q->server = *server;
	memcpy(q->qname, qname, len > 0 ? (size_t)len : 1);
	q->qtype = qtype;
	q->tcp = tcp;
	q->tag = tag;
	q->fd = -1;
	q->state = DQ_NEW;
	return s->n++;
}

void
dq_clear(struct dqset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->q[i].fd != -1)
			close(s->q[i].fd);
		free(s->q[i].in);
	}
	free(s->q);
	memset(s, 0, sizeof(*s));
}

static void
dq_done(struct dq *q, enum doctor_outcome o, int err)
{
	q->reply.outcome = o;
	q->reply.rtt_ms = (unsigned)(now_ms() - q->t0);
	if (err != 0 && o != DOCTOR_ANSWER)
		pl_strlcpy(q->reply.error, strerror(err), sizeof(q->reply.error));
	if (q->fd != -1)
		close(q->fd);
	q->fd = -1;
	free(q->in);
	q->in = NULL;
	q->state = DQ_DONE;
}

static void
dq_fail_errno(struct dq *q, int err)
{
	dq_done(q, err == ECONNREFUSED ? DOCTOR_CLOSED : DOCTOR_NETERR, err);
}

static void
dq_build(struct dq *q)
{
	struct wire_buf b;
	struct wire_hdr h;

	memset(&h, 0, sizeof(h));
	q->id = random_u16();
	h.id = q->id;
	h.flags = WIRE_RD;
	h.qdcount = 1;
	h.arcount = 1;
	wire_buf_init(&b, q->msg + 2, sizeof(q->msg) - 2);
	wire_put_hdr(&b, &h);
	wire_put_name(&b, q->qname, false);
	wire_put_u16(&b, q->qtype);
	wire_put_u16(&b, CLASS_IN);
	wire_put_opt(&b, EDNS_SIZE, 0, false, -1);
	q->msglen = b.len;
	q->msg[0] = (uint8_t)(b.len >> 8);
	q->msg[1] = (uint8_t)b.len;
}

static void
dq_udp_send(struct dq *q)
{
	if (send(q->fd, q->msg + 2, q->msglen, 0) == -1 && errno != EAGAIN)
		dq_fail_errno(q, errno);
}

static void
dq_tcp_send(struct dq *q)
{
	while (q->sent < q->msglen + 2) {
		ssize_t w = send(q->fd, q->msg + q->sent, q->msglen + 2 - q->sent,
		    MSG_NOSIGNAL);

		if (w == -1) {
			if (errno != EAGAIN && errno != EINTR)
				dq_fail_errno(q, errno);
			return;
		}
		q->sent += (size_t)w;
	}
	q->state = DQ_READING;
}

static void
dq_start(struct dq *q, unsigned timeout_ms)
{
	int type = (q->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;

	q->t0 = now_ms();
	q->deadline = q->t0 + timeout_ms;
	/* One resend halfway: a single lost datagram is not a dead server. */
	q->resend_at = q->tcp ? 0 : q->t0 + timeout_ms / 2;
	dq_build(q);
	if ((q->fd = socket(q->server.ss.ss_family, type, 0)) == -1) {
		dq_done(q, DOCTOR_NETERR, errno);
		return;
	}
	if (connect(q->fd, (const struct sockaddr *)&q->server.ss,
	    q->server.len) == -1) {
		if (q->tcp && errno == EINPROGRESS) {
			q->state = DQ_CONNECTING;
			return;
		}
		dq_fail_errno(q, errno);
		return;
	}
	if (q->tcp) {
		q->state = DQ_SENDING;
		dq_tcp_send(q);
	} else {
		q->state = DQ_READING;
		dq_udp_send(q);
	}
}

static void
dq_udp_read(struct dq *q)
{
	uint8_t buf[WIRE_MAX_MSG];

	for (;;) {
		ssize_t n = recv(q->fd, buf, sizeof(buf), 0);

		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR)
				dq_fail_errno(q, errno);
			return;
		}
		/* Anything not matching ID and question is ignored (RFC 5452). */
		if (doctor_reply_parse(buf, (size_t)n, q->id, q->qname, q->qtype,
		    &q->reply) == 0) {
			dq_done(q, q->reply.outcome, 0);
			return;
		}
	}
}

static void
dq_tcp_read(struct dq *q)
{
	for (;;) {
		ssize_t n;

		if (q->lenhave < 2)
			n = recv(q->fd, q->lenbuf + q->lenhave, 2 - q->lenhave, 0);
		else
			n = recv(q->fd, q->in + q->inlen, q->inneed - q->inlen, 0);
		if (n == -1) {
			if (errno != EAGAIN && errno != EINTR)
				dq_fail_errno(q, errno);
			return;
		}
		if (n == 0) {
			dq_done(q, DOCTOR_NETERR, 0);
			pl_strlcpy(q->reply.error, "connection closed without a reply",
			    sizeof(q->reply.error));
			return;
		}
		if (q->lenhave < 2) {
			q->lenhave += (size_t)n;
			if (q->lenhave == 2) {
				q->inneed = wire_get_u16(q->lenbuf);
				q->in = xmalloc(q->inneed ? q->inneed : 1);
				q->inlen = 0;
			}
			continue;
		}
		q->inlen += (size_t)n;
		if (q->inlen < q->inneed)
			continue;
		if (doctor_reply_parse(q->in, q->inlen, q->id, q->qname, q->qtype,
		    &q->reply) == -1) {
			dq_done(q, DOCTOR_BADREPLY, 0);
			pl_strlcpy(q->reply.error, "a reply to another query",
			    sizeof(q->reply.error));
			return;
		}
		dq_done(q, q->reply.outcome, 0);
		return;
	}
}

static void
dq_event(struct dq *q, short revents)
{
	int err = 0;
	socklen_t elen = sizeof(err);

	switch (q->state) {
	case DQ_CONNECTING:
		if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
			err = errno;
		if (err != 0) {
			dq_fail_errno(q, err);
			return;
		}
		q->state = DQ_SENDING;
		/* FALLTHROUGH */
	case DQ_SENDING:
		dq_tcp_send(q);
		return;
	case DQ_READING:
		if (q->tcp)
			dq_tcp_read(q);
		else
			dq_udp_read(q);
		return;
	default:
		(void)revents;
		return;
	}
}

void
dq_run(struct dqset *s, unsigned timeout_ms)
{
	struct pollfd *pfd = xcalloc(s->n ? s->n : 1, sizeof(*pfd));
	size_t *who = xcalloc(s->n ? s->n : 1, sizeof(*who));

	for (;;) {
		size_t nudp = 0, ntcp = 0, np = 0, waiting = 0;
		uint64_t now = now_ms(), wake = UINT64_MAX;
		int wait;

		for (size_t i = 0; i < s->n; i++) {
			struct dq *q = &s->q[i];

			if (q->state != DQ_NEW && q->state != DQ_DONE)
				*(q->tcp ? &ntcp : &nudp) += 1;
		}
		for (size_t i = 0; i < s->n; i++) {
			struct dq *q = &s->q[i];

			if (q->state != DQ_NEW)
				continue;
			if (q->tcp ? ntcp >= MAX_TCP_INFLIGHT :
			    nudp >= MAX_UDP_INFLIGHT) {
				waiting++;
				continue;
			}
			dq_start(q, timeout_ms);
			if (q->state != DQ_DONE)
				*(q->tcp ? &ntcp : &nudp) += 1;
		}
		for (size_t i = 0; i < s->n; i++) {
			struct dq *q = &s->q[i];

			if (q->state == DQ_NEW || q->state == DQ_DONE)
				continue;
			pfd[np].fd = q->fd;
			pfd[np].events = q->state == DQ_READING ? POLLIN : POLLOUT;
			pfd[np].revents = 0;
			who[np++] = i;
			if (q->deadline < wake)
				wake = q->deadline;
			if (q->resend_at != 0 && q->resend_at < wake)
				wake = q->resend_at;
		}
		if (np == 0) {
			if (waiting == 0)
				break;
			continue;
		}
		now = now_ms();
		wait = wake <= now ? 0 : (int)(wake - now);
		if (poll(pfd, np, wait) == -1 && errno != EINTR)
			wait = 0;
		for (size_t k = 0; k < np; k++)
			if (pfd[k].revents != 0)
				dq_event(&s->q[who[k]], pfd[k].revents);
		now = now_ms();
		for (size_t k = 0; k < np; k++) {
			struct dq *q = &s->q[who[k]];

			if (q->state == DQ_DONE)
				continue;
			if (now >= q->deadline) {
				dq_done(q, DOCTOR_TIMEOUT, 0);
			} else if (q->resend_at != 0 && now >= q->resend_at) {
				q->resend_at = 0;
				if (q->state == DQ_READING)
					dq_udp_send(q);
			}
		}
	}
	free(pfd);
	free(who);
}
