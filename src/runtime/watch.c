/* watch: inotify on directories, debounced, waiting for files to settle. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event_struct.h>

#include "data/config.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/util.h"
#include "runtime/watch.h"

#define SETTLE_MS	250

struct wfile {
	char *path;
	char *dir;
	char *base;
	int wd;
};

struct watch {
	struct event_base *base;
	int fd;
	struct event ev;
	struct event timer;
	bool pending;
	uint64_t sig;			/* signature at the last look */
	watch_cb cb;
	void *arg;
	struct wfile *files;
	size_t n;
};

/* What the files look like now: size, time and inode of each, hashed. */
static uint64_t
signature(const struct watch *w)
{
	uint64_t h = hash_start();

	for (size_t i = 0; i < w->n; i++) {
		struct stat st;
		uint64_t v[4] = { 0, 0, 0, 0 };

		if (stat(w->files[i].path, &st) == 0) {
			v[0] = (uint64_t)st.st_size;
			v[1] = (uint64_t)st.st_mtim.tv_sec;
			v[2] = (uint64_t)st.st_mtim.tv_nsec;
			v[3] = (uint64_t)st.st_ino;
		}
		h = hash_more(h, v, sizeof(v));
	}
	return h;
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	struct timeval tv = { 0, SETTLE_MS * 1000 };
	uint64_t sig = signature(w);

	if (sig != w->sig) {
		/* Still changing: look again later. */
		w->sig = sig;
		evtimer_add(&w->timer, &tv);
		return;
	}
	w->pending = false;
	w->cb(w->arg);
}

static void
inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			for (size_t i = 0; i < w->n; i++)
				if (w->files[i].wd == ev->wd && ev->len > 0 &&
				    (strcmp(ev->name, w->files[i].base) == 0 ||
				    (w->files[i].base[0] == '\0' &&
				    config_dir_source_prefix(ev->name) != NULL)))
					hit = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (hit) {
		struct timeval tv = { 0, SETTLE_MS * 1000 };
		/* Every event restarts the wait, and the first look after it
		 * must match a second one. */
		w->sig = signature(w) ^ 1;
		w->pending = true;
		evtimer_add(&w->timer, &tv);
	}
}

struct watch *
watch_new(struct event_base *base, watch_cb cb, void *arg)
{
	struct watch *w;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0) {
		log_warn("inotify");
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->base = base;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	event_assign(&w->ev, base, fd, EV_READ | EV_PERSIST, inotify_cb, w);
	event_add(&w->ev, NULL);
	evtimer_assign(&w->timer, base, timer_cb, w);
	return w;
}

/*
 * Frees the file list; a directory's watch is removed unless KEEP (NKEEP
 * entries) still has it.
 */
static void
watch_clear(struct watch *w, const struct wfile *keep, size_t nkeep)
{
	for (size_t i = 0; i < w->n; i++) {
		bool gone = w->files[i].wd >= 0;
		for (size_t j = 0; j < i; j++)
			if (w->files[j].wd == w->files[i].wd)
				gone = false;	/* removed (or kept) already */
		for (size_t j = 0; j < nkeep; j++)
			if (keep[j].wd == w->files[i].wd)
				gone = false;
		if (gone)
			inotify_rm_watch(w->fd, w->files[i].wd);
		free(w->files[i].path);
		free(w->files[i].dir);
		free(w->files[i].base);
	}
	free(w->files);
	w->files = NULL;
	w->n = 0;
}

/*
 * Directories watched before keep their watch descriptor (adding a watch
 * on a watched directory returns it): a change made while a reload was
 * running is still in the queue under that descriptor and must be seen.
 * Removing and adding the watch again would drop it.
 */
void
watch_set(struct watch *w, char *const *paths, size_t n)
{
	struct wfile *files = xcalloc(n ? n : 1, sizeof(*files));

	for (size_t i = 0; i < n; i++) {
		struct wfile *f = &files[i];
		const char *slash = strrchr(paths[i], '/');

		f->path = xstrdup(paths[i]);
		if (slash != NULL && slash[1] == '\0' && slash != paths[i]) {
			/* "DIR/": a records directory, where any file that
			 * would be loaded counts (an empty base). */
			f->dir = xstrndup(paths[i], (size_t)(slash - paths[i]));
			f->base = xstrdup("");
		} else {
			f->dir = path_dirname(paths[i]);
			f->base = xstrdup(slash ? slash + 1 : paths[i]);
		}
		/* The same directory gives the same watch descriptor. */
		f->wd = inotify_add_watch(w->fd, f->dir, IN_CLOSE_WRITE | IN_MOVED_TO |
		    IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM);
		if (f->wd < 0)
			log_warn("cannot watch %s", f->dir);
	}
	watch_clear(w, files, n);
	w->files = files;
	w->n = n;
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	watch_clear(w, NULL, 0);
	event_del(&w->ev);
	event_del(&w->timer);
	close(w->fd);
	free(w);
}
