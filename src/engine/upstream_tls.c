/* upstream_tls: DNS over TLS (RFC 7858) to upstreams, one pipelined
 * connection per server, the certificate verified against the CA store and
 * the configured name (or the address). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "util/log.h"
#include "wire/tcpframe.h"
#include "engine/upstream_int.h"
#include "util/util.h"

SSL_CTX *
upstream_tls_ctx_new(const char *ca_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1)
			log_warnx("DNS over TLS: cannot load CA file %s", ca_file);
	} else
		SSL_CTX_set_default_verify_paths(ctx);
	return ctx;
}

void
upstream_dot_unlink(struct upstream_req *r)
{
	if (r->dot == NULL)
		return;
	LIST_REMOVE(r, dlink);
	r->dot = NULL;
}

void
upstream_dot_close(struct dot_conn *c, bool failed)
{
	struct upstream_req *r;

	c->st->conn = NULL;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	/* Every query waiting on this connection moves on to its next server. */
	while ((r = LIST_FIRST(&c->waiting)) != NULL) {
		LIST_REMOVE(r, dlink);
		r->dot = NULL;
		if (failed)
			upstream_req_refused(r);
		else
			upstream_req_next(r);
	}
	free(c);
}

static void
dot_read_cb(struct bufferevent *bev, void *arg)
{
	struct dot_conn *c = arg;
	struct upstream_pool *p = c->pool;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		size_t len;
		struct upstream_req *r;
		enum tcpframe_status fs;

		fs = tcpframe_read(in, p->rbuf, 1, sizeof(p->rbuf), &len);
		if (fs == TCPFRAME_MORE)
			return;
		if (fs == TCPFRAME_BAD) {
			/* An empty message answers nothing: passed over
			 * like a stray answer, the connection kept. */
			evbuffer_drain(in, 2);
			p->stats.spoofed++;
			continue;
		}
		/* Answers come in any order (RFC 7766 6.2.1.1): match by ID. */
		LIST_FOREACH(r, &c->waiting, dlink)
			if (len >= 2 && memcmp(r->msg, p->rbuf, 2) == 0)
				break;
		if (r == NULL || !upstream_req_accepts(r, NULL, p->rbuf, len)) {
			p->stats.spoofed++;
			continue;
		}
		upstream_dot_unlink(r);
		upstream_req_reply(r, p->rbuf, len, true);
	}
}

static void
dot_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dot_conn *c = arg;
	char a[64];

	if (what & BEV_EVENT_CONNECTED) {
		c->connected = true;
		log_debug("DNS over TLS to %s: connected", addr_str(&c->st->info.addr, a,
		    sizeof(a)));
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
		unsigned long e = bufferevent_get_openssl_error(bev);

		c->pool->stats.tls_failures++;
		if (vr != X509_V_OK)
			log_ratelimited(LOG_RL_UPSTREAM,
			    "DNS over TLS to %s: certificate verification failed for \"%s\": %s",
			    addr_str(&c->st->info.addr, a, sizeof(a)),
			    c->st->tls_name[0] ? c->st->tls_name : "(address)",
			    X509_verify_cert_error_string(vr));
		else
			log_ratelimited(LOG_RL_UPSTREAM, "DNS over TLS to %s: %s",
			    addr_str(&c->st->info.addr, a, sizeof(a)),
			    e ? ERR_reason_error_string(e) : strerror(EVUTIL_SOCKET_ERROR()));
		upstream_dot_close(c, true);
		return;
	}
	if (what & BEV_EVENT_EOF)
		/* The server closed an idle (or busy) connection: what waited
		 * on it is asked again, on a new connection if need be. */
		upstream_dot_close(c, false);
}

static struct dot_conn *
dot_connect(struct upstream_pool *p, struct srvstate *st)
{
	struct dot_conn *c;
	SSL *ssl;
	char ip[64];

	if (p->ssl_ctx == NULL || (ssl = SSL_new(p->ssl_ctx)) == NULL)
		return NULL;
	if (st->tls_name[0] != '\0') {
		SSL_set_tlsext_host_name(ssl, st->tls_name);
		SSL_set1_host(ssl, st->tls_name);
	} else {
		/* No name given: the certificate must carry the IP address. */
		const struct sockaddr *sa = (const struct sockaddr *)&st->info.addr.ss;
		const void *src = sa->sa_family == AF_INET ?
		    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
		    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		inet_ntop(sa->sa_family, src, ip, sizeof(ip));
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip);
	}
	if ((c = try_calloc(1, sizeof(*c))) == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	c->pool = p;
	c->st = st;
	c->bev = bufferevent_openssl_socket_new(p->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		SSL_free(ssl);
		free(c);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, dot_read_cb, NULL, dot_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (const struct sockaddr *)&st->info.addr.ss,
	    (int)st->info.addr.len) < 0) {
		bufferevent_free(c->bev);
		free(c);
		return NULL;
	}
	st->conn = c;
	return c;
}

/* Sends this try's query on the server's TLS connection (made if need be). */
void
upstream_dot_send(struct upstream_req *r, struct srvstate *st)
{
	struct dot_conn *c = st->conn;

	if (c == NULL && (c = dot_connect(r->pool, st)) == NULL) {
		/* Not even a socket, or no route: on to the next server from
		 * the event loop (no callback may run here). */
		upstream_srv_neterr(st, &st->info.addr, "cannot connect over TLS", EVUTIL_SOCKET_ERROR());
		r->pool->stats.tls_failures++;
		r->send_failed = true;
		event_active(&r->ev_try, EV_TIMEOUT, 1);
		return;
	}
	/* IDs must be unique among the queries waiting on one connection. */
	for (struct upstream_req *o = LIST_FIRST(&c->waiting); o != NULL;) {
		if (memcmp(o->msg, r->msg, 2) == 0) {
			uint16_t id = random_u16();

			r->msg[0] = (uint8_t)(id >> 8);
			r->msg[1] = (uint8_t)id;
			o = LIST_FIRST(&c->waiting);	/* the new ID, from the start */
		} else
			o = LIST_NEXT(o, dlink);
	}
	(void)tcpframe_write(bufferevent_get_output(c->bev), r->msg, r->msglen);
	r->dot = c;
	LIST_INSERT_HEAD(&c->waiting, r, dlink);
}
