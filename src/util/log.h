/*
 * log: OpenBSD-style logging.  stderr in the foreground, syslog otherwise.
 * log_warn appends strerror(errno); log_warnx does not.  fatal/fatalx log
 * and exit(1): start-up only, never on the query path.
 */
#ifndef PLDNS_LOG_H
#define PLDNS_LOG_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

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
 *
 * The limiter's state belongs to whoever runs the daemon (the server owns
 * one and registers it with log_limiter_use() before its workers start):
 * the code that logs (an upstream pool, a worker) has no server pointer,
 * and passing one down to every place an error may repeat would put the
 * server into modules that know nothing of it.  With none registered (a
 * verb, a unit test) every line is written.
 */
enum log_rl_key { LOG_RL_UPSTREAM, LOG_RL_ACCEPT, LOG_RL_SEND, LOG_RL_MAX };
#define LOG_RL_INTERVAL_MS	10000
struct log_limiter {
	pthread_mutex_t lock;		/* workers log from their threads */
	struct {
		uint64_t last;		/* ms of the last line written, 0: none */
		unsigned long suppressed;
	} slot[LOG_RL_MAX];
};
void log_limiter_init(struct log_limiter *l);
void log_limiter_clear(struct log_limiter *l);
/*
 * Whether a line for KEY at NOW (ms) is written; when it is, *SUPPRESSED
 * gets the count of lines held back since the last one written.
 */
bool log_limiter_pass(struct log_limiter *l, enum log_rl_key key, uint64_t now,
    unsigned long *suppressed);
/* Makes L (NULL: none) the limiter log_ratelimited() uses.  Call while no
 * other thread logs (before the workers start, after they are joined). */
void log_limiter_use(struct log_limiter *l);
void log_ratelimited(enum log_rl_key key, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One query-log line (only when enabled). */
void log_query_enable(int on);
int log_query_enabled(void);
void log_query(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
