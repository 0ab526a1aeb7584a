/* log: stderr or syslog, levels, rate-limited repeats. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "util/log.h"
#include "util/util.h"

static int log_fg = 1;
/* Set by the main thread (start, reload), read by every worker: relaxed
 * atomics, which cost a worker what a plain load does. */
static _Atomic int log_level = LOG_LVL_INFO;
static _Atomic int log_qlog;

void
log_init(int foreground, int level)
{
	log_fg = foreground;
	atomic_store_explicit(&log_level, level, memory_order_relaxed);
	if (!foreground)
		openlog("pldns", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

void
log_setlevel(int level)
{
	atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

int
log_getlevel(void)
{
	return atomic_load_explicit(&log_level, memory_order_relaxed);
}

static void log_vwrite(int, const char *, va_list, int)
    __attribute__((format(printf, 2, 0)));

static void
log_vwrite(int pri, const char *fmt, va_list ap, int with_errno)
{
	char msg[2048];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		size_t l = strlen(msg);
		snprintf(msg + l, sizeof(msg) - l, ": %s", strerror(saved));
	}
	if (log_fg) {
		/* One fprintf per line so that lines of several threads do not interleave. */
		fprintf(stderr, "pldns: %s\n", msg);
		fflush(stderr);
	} else
		syslog(pri, "%s", msg);
	errno = saved;
}

#define LOG_BODY(lvl, pri, witherr) do {			\
	va_list ap;						\
	if (log_getlevel() < (lvl))				\
		return;						\
	va_start(ap, fmt);					\
	log_vwrite((pri), fmt, ap, (witherr));			\
	va_end(ap);						\
} while (0)

void log_warn(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, LOG_WARNING, 1); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, LOG_WARNING, 0); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_LVL_INFO, LOG_INFO, 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LVL_DEBUG, LOG_DEBUG, 0); }
void log_err(const char *fmt, ...) { LOG_BODY(LOG_LVL_ERR, LOG_ERR, 0); }

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}

void
log_limiter_init(struct log_limiter *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
}

void
log_limiter_clear(struct log_limiter *l)
{
	pthread_mutex_destroy(&l->lock);
}

bool
log_limiter_pass(struct log_limiter *l, enum log_rl_key key, uint64_t now,
    unsigned long *suppressed)
{
	bool pass = true;

	pthread_mutex_lock(&l->lock);
	if (l->slot[key].last != 0 && now - l->slot[key].last < LOG_RL_INTERVAL_MS) {
		l->slot[key].suppressed++;
		pass = false;
	} else {
		l->slot[key].last = now;
		*suppressed = l->slot[key].suppressed;
		l->slot[key].suppressed = 0;
	}
	pthread_mutex_unlock(&l->lock);
	return pass;
}

/* Set while only one thread runs (log_limiter_use), read by all. */
static struct log_limiter *limiter;

void
log_limiter_use(struct log_limiter *l)
{
	limiter = l;
}

void
log_ratelimited(enum log_rl_key key, const char *fmt, ...)
{
	va_list ap;
	unsigned long sup = 0;

	if (log_getlevel() < LOG_LVL_WARN)
		return;
	if (limiter != NULL && !log_limiter_pass(limiter, key, now_ms(), &sup))
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, fmt, ap, 0);
	va_end(ap);
	if (sup > 0)
		log_warnx("(%lu similar messages suppressed)", sup);
}

void
log_query_enable(int on)
{
	atomic_store_explicit(&log_qlog, on, memory_order_relaxed);
}

int
log_query_enabled(void)
{
	return atomic_load_explicit(&log_qlog, memory_order_relaxed);
}

void
log_query(const char *fmt, ...)
{
	va_list ap;

	if (!log_query_enabled())
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_INFO, fmt, ap, 0);
	va_end(ap);
}
