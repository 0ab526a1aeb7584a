/*
 * log: OpenBSD-style logging.  stderr in the foreground, syslog otherwise.
 * log_warn appends strerror(errno); log_warnx does not.  fatal/fatalx log
 * and exit(1): start-up only, never on the query path.
 */
#ifndef PLDNS_LOG_H
#define PLDNS_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(int foreground, int level);
void log_setlevel(int level);
int log_getlevel(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Rate-limited warning: at most one line per KEY slot every 10 seconds, with
 * a count of the lines suppressed since.  Used for errors that repeat under
 * load (upstream timeouts, accept failures).
 */
enum log_rl_key { LOG_RL_UPSTREAM, LOG_RL_ACCEPT, LOG_RL_SEND, LOG_RL_MAX };
void log_ratelimited(enum log_rl_key key, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One query-log line (only when enabled). */
void log_query_enable(int on);
int log_query_enabled(void);
void log_query(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
