/*
 * cleanup: the "<group>-cleanup" file (R-104, R-173, R-180, V-063) in the Ruby agent's format:
 * one absolute path per line, SELinux contexts as "semanage\0<path>", a torn last line ignored.
 * Reading opens the file once without following a link and reads it through that same fd, after
 * checking it is a regular file owned by the agent and writable only by it; a file failing the
 * check is "present but untrusted" and never acted on.  Writing appends one line per change and
 * flushes it before the next filesystem change.  Notices go to o->note (o may be NULL).
 */
#ifndef CDAGENT_CLEANUP_H
#define CDAGENT_CLEANUP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

struct install_opts;
struct map;

struct cleanup_line {
    char *path;    /* owned */
    bool semanage; /* "semanage\0<path>" */
};

struct cleanup_list {
    struct cleanup_line *lines; /* owned */
    size_t n;
    bool present; /* the file exists */
    bool trusted; /* safe to act on (V-063) */
};

/* Largest cleanup file read (ERR_LIMIT beyond). */
#define CLEANUP_FILE_MAX (256u << 20)

/* Read path into *c (a missing file is an empty, absent list).  ERR_SYSTEM when it exists but
 * cannot be read, ERR_LIMIT beyond CLEANUP_FILE_MAX.  *c is always initialised. */
int cleanup_read(const char *path, const struct install_opts *o, struct cleanup_list *c,
                 struct err *err);
void cleanup_list_done(struct cleanup_list *c);

/* Put into gone (keys only) every path removing c will really remove: files and links that
 * exist, and directories whose every entry goes too.  Nothing for an untrusted list. */
void cleanup_simulate(const struct cleanup_list *c, struct map *gone);

/* Remove what c lists in reverse order; semanage lines run "semanage fcontext -d" when
 * selinux.  Nothing for an untrusted list.  ERR_SYSTEM when an existing path cannot be removed. */
int cleanup_remove(const struct cleanup_list *c, bool selinux, struct err *err);

/* ---- writing ---- */
/* Create (truncate) path, mode LAYOUT_STATE_FILE_MODE, not following a link.  Returns the fd. */
int cleanup_create(const char *path, struct err *err);
/* Append "<path>\n" (or "semanage\0<path>\n") with one write.  ERR_SYSTEM naming path. */
int cleanup_append(int fd, bool semanage, const char *path, struct err *err);

#endif
