/*
 * sdnotify: the systemd notification protocol (sd_notify(3)) without
 * libsystemd: one datagram of "KEY=VALUE" lines to the AF_UNIX socket named
 * by $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
 *
 * Outside systemd (no NOTIFY_SOCKET) every call does nothing and succeeds,
 * so callers need no "are we under systemd" logic.  The variable is left in
 * the environment: READY=1 is not the last message a service sends.
 * Each call opens and closes its own socket; they are rare (start, reload,
 * stop), and no descriptor is kept across fork or privilege changes.
 */
#ifndef PLDNS_SDNOTIFY_H
#define PLDNS_SDNOTIFY_H

/* Sends STATE ("READY=1", several lines allowed) as one datagram.
 * Returns 0 when sent or when there is no NOTIFY_SOCKET, -1 on error
 * (errno set; a bad NOTIFY_SOCKET gives EINVAL). */
int sdnotify_send(const char *state);

/* Start-up is complete and data is being served: "READY=1". */
int sdnotify_ready(void);

/* A reload starts: "RELOADING=1" with MONOTONIC_USEC (systemd 253 and later
 * want it); send sdnotify_ready() when it is over, whatever its outcome. */
int sdnotify_reloading(void);

/* Shutdown has begun: "STOPPING=1". */
int sdnotify_stopping(void);

/* A one-line status for "systemctl status": "STATUS=..." (printf format;
 * newlines in the result are replaced by spaces). */
int sdnotify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
