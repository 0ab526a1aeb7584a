/* server_conns: the TCP connection counts every worker shares. */
#include <assert.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/addr.h"
#include "runtime/server_conns.h"
#include "util/util.h"

struct server_conn_count {
	struct pl_addr host;		/* port ignored */
	unsigned n;
};

void
server_conns_init(struct server_conns *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void
server_conns_clear(struct server_conns *c)
{
	free(c->v);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}

/* SA as an address (port and all; only the host is compared). */
static struct pl_addr
host_of(const struct sockaddr *sa)
{
	struct pl_addr a;

	memset(&a, 0, sizeof(a));
	a.len = sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	memcpy(&a.ss, sa, a.len);
	return a;
}

/* SA's slot, or C->n. */
static size_t
slot_of(const struct server_conns *c, const struct sockaddr *sa)
{
	struct pl_addr a = host_of(sa);
	size_t i;

	for (i = 0; i < c->n; i++)
		if (addr_same_host(&c->v[i].host, &a))
			break;
	return i;
}

enum server_conns_verdict
server_conns_admit(struct server_conns *c, const struct sockaddr *sa,
    unsigned max_total, unsigned max_per_client)
{
	enum server_conns_verdict v = SERVER_CONNS_LIMIT;
	size_t i;

	pthread_mutex_lock(&c->lock);
	i = slot_of(c, sa);
	if (c->total >= max_total)
		goto out;
	if (i < c->n && max_per_client > 0 && c->v[i].n >= max_per_client)
		goto out;
	if (i == c->n) {
		if (c->n == c->cap) {
			size_t ncap = c->cap ? c->cap * 2 : 64;
			struct server_conn_count *nv = try_reallocarray(c->v,
			    ncap, sizeof(*c->v));

			if (nv == NULL) {
				v = SERVER_CONNS_NOMEM;
				goto out;
			}
			c->v = nv;
			c->cap = ncap;
		}
		memset(&c->v[i], 0, sizeof(c->v[i]));
		c->v[i].host = host_of(sa);
		c->n++;
	}
	c->v[i].n++;
	c->total++;
	v = SERVER_CONNS_OK;
out:
	pthread_mutex_unlock(&c->lock);
	return v;
}

void
server_conns_release(struct server_conns *c, const struct sockaddr *sa)
{
	size_t i;

	pthread_mutex_lock(&c->lock);
	/* Only what was admitted is given back. */
	assert(c->total > 0);
	if ((i = slot_of(c, sa)) < c->n && --c->v[i].n == 0)
		c->v[i] = c->v[--c->n];
	c->total--;
	/* A burst of clients leaves no large table behind. */
	if (c->n == 0) {
		free(c->v);
		c->v = NULL;
		c->cap = 0;
	}
	pthread_mutex_unlock(&c->lock);
}

unsigned
server_conns_total(struct server_conns *c)
{
	unsigned n;

	pthread_mutex_lock(&c->lock);
	n = c->total;
	pthread_mutex_unlock(&c->lock);
	return n;
}

unsigned
server_conns_from(struct server_conns *c, const struct sockaddr *sa)
{
	unsigned n = 0;
	size_t i;

	pthread_mutex_lock(&c->lock);
	if ((i = slot_of(c, sa)) < c->n)
		n = c->v[i].n;
	pthread_mutex_unlock(&c->lock);
	return n;
}
