/*
 * server_conns: the server's count of TCP clients, in total and per client
 * address, against [server] tcp_max_conns and tcp_max_per_client.  The
 * limits are for the whole server, so every worker shares one count (a
 * member of the server, handed to each worker); only accept and close
 * touch it, never a query, so a mutex is cheap enough.
 */
#ifndef PLDNS_SERVER_CONNS_H
#define PLDNS_SERVER_CONNS_H

#include <pthread.h>
#include <stddef.h>
#include <sys/socket.h>

struct server_conn_count;

struct server_conns {
	pthread_mutex_t lock;
	struct server_conn_count *v;	/* one per client address with a connection */
	size_t n, cap;
	unsigned total;
};

void server_conns_init(struct server_conns *c);
/* Frees what C holds (every slot should have been released). */
void server_conns_clear(struct server_conns *c);

enum server_conns_verdict {
	SERVER_CONNS_OK,		/* a slot is taken: release it */
	SERVER_CONNS_LIMIT,		/* over MAX_TOTAL or MAX_PER_CLIENT */
	SERVER_CONNS_NOMEM		/* no memory to count a new address */
};

/*
 * Takes a slot for a client at SA (its port ignored) unless that makes
 * more than MAX_TOTAL connections, or more than MAX_PER_CLIENT (0: no
 * limit) from that address.  Never aborts: running out of memory is
 * SERVER_CONNS_NOMEM.
 */
enum server_conns_verdict server_conns_admit(struct server_conns *c,
    const struct sockaddr *sa, unsigned max_total, unsigned max_per_client);
/* Gives back the slot admitted for SA. */
void server_conns_release(struct server_conns *c, const struct sockaddr *sa);
/* Connections counted now: in total, and from SA's address. */
unsigned server_conns_total(struct server_conns *c);
unsigned server_conns_from(struct server_conns *c, const struct sockaddr *sa);

#endif
