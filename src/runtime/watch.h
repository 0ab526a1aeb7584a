/*
 * watch: calls back when any of a set of files changes, with inotify on their
 * directories (so editors' rename-into-place and files created later are
 * seen).  Changes are debounced, and the callback waits until the files are
 * stable (same size, mtime and inode on two looks 250 ms apart), so a file
 * still being written is not read half-way.
 */
#ifndef PLDNS_WATCH_H
#define PLDNS_WATCH_H

#include <stddef.h>

#include <event2/event.h>

struct watch;

typedef void (*watch_cb)(void *arg);

/* NULL when inotify is not available (then only SIGHUP and the control
 * endpoint reload). */
struct watch *watch_new(struct event_base *base, watch_cb cb, void *arg);
/* Replaces the watched set with PATHS[0..N).  A path ending in '/' is a
 * [records] directory: a change to any file in it that would be loaded
 * (config_dir_source_prefix()) counts, files added later too. */
void watch_set(struct watch *w, char *const *paths, size_t n);
void watch_free(struct watch *w);

#endif
