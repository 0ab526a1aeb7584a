/*
 * server: the daemon's main thread.  Starts the workers (each binds its own
 * sockets), handles signals, reloads (SIGHUP, file changes, the control
 * endpoint), runs the control endpoint, drops privileges, talks to systemd,
 * and stops gracefully.
 *
 * Reloads build the new snapshot on the main thread, off the query path;
 * workers keep answering from the old snapshot until they take the new one
 * from their mailbox.  A reload that fails keeps the old data in service.
 *
 * What the workers share besides the snapshot belongs to the server, not
 * to the process: the TCP connection counts (server_conns.h, handed to
 * each worker) and the log's rate limiter (registered with log.h while
 * the server runs).
 */
#ifndef PLDNS_SERVER_H
#define PLDNS_SERVER_H

#include <stdbool.h>

#include "util/diag.h"
#include "data/snapshot.h"

struct server;

/*
 * Loads the configuration and every record source at PATH into a new
 * snapshot; PREV (may be NULL) carries zone serials forward.  Every problem
 * goes to D; NULL when any was an error.  Running out of memory is such
 * an error (SERVER_OOM_TEXT): nothing of the attempt is left allocated.
 */
#define SERVER_OOM_TEXT	"out of memory loading the configuration and records"
/* Whether D has the error of a load that ran out of memory. */
bool server_load_oom(const struct diag *d);
struct snapshot *server_load(const char *path, const struct snapshot *prev,
    struct diag *d);

/* Binds every listen address in every worker; NULL with reasons in D, which
 * are also logged (before server_free()'s "stopped"). Takes the caller's
 * reference to SNAP. */
struct server *server_new(const char *config_path, struct snapshot *snap,
    struct diag *d);

/* Drops root privileges (after binding); 0 or -1 with the reason logged. */
int server_drop_privileges(struct server *srv);

/* Runs until SIGTERM/SIGINT; returns the exit status. */
int server_run(struct server *srv);
void server_free(struct server *srv);

/*
 * Reloads now (what SIGHUP does).  Returns 0 when the new data is in
 * service, -1 when it was rejected, 1 when the reload guard held it back
 * (it empties a zone or a source, or removes more than [records]
 * max_drop; doc/guard.md) unless FORCE; *TEXT, when not NULL, gets the
 * result (caller frees).
 */
int server_reload(struct server *srv, bool force, char **text);

#endif
