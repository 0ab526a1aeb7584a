/*
 * server: the daemon's sockets and event loop.  Owns the listening UDP and
 * TCP sockets, the client TCP connections, the worker state (current
 * snapshot, upstream pool, scratch buffers) and the query path that ties
 * wire, answer and upstream together.  Signals arrive as libevent events.
 */
#ifndef PLDNS_SERVER_H
#define PLDNS_SERVER_H

#include "diag.h"
#include "snapshot.h"

struct server;

/* Counters (per server; read by the control endpoint and SIGUSR1). */
struct server_stats {
	unsigned long queries_udp, queries_tcp;
	unsigned long dropped, formerr, notimp, badvers, refused;
	unsigned long servfail, truncated;
	unsigned long by_path[8];
	unsigned long tcp_accepted, tcp_rejected, tcp_closed_idle;
	unsigned long reloads, reload_failures;
};

/*
 * Binds every listen address of SNAP's config (UDP and TCP).  Takes the
 * caller's reference to SNAP.  Returns NULL with reasons in D when a socket
 * cannot be bound.
 */
struct server *server_new(struct snapshot *snap, struct diag *d);

/* Runs until SIGTERM/SIGINT (graceful: in-flight queries get up to 2 s). */
int server_run(struct server *srv);

void server_free(struct server *srv);

/* Installs a new snapshot; the old one is released when unused.  Takes the
 * caller's reference. */
void server_swap(struct server *srv, struct snapshot *snap);

const struct server_stats *server_stats(const struct server *srv);

/* The reload function called on SIGHUP: it builds a snapshot from the config
 * path and returns it (or NULL, keeping the current data).  Set by main. */
typedef struct snapshot *(*server_reload_fn)(const char *path, const struct snapshot *cur);
void server_set_reload(struct server *srv, server_reload_fn fn, const char *config_path);

#endif
