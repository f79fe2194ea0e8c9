/*
 * unpack-internal: the extraction job shared by unpack.c (files) and unpack-stream.c (a download
 * being extracted as it arrives).  Not for other modules.
 */
#ifndef CDAGENT_UNPACK_INTERNAL_H
#define CDAGENT_UNPACK_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "base/err.h"
#include "deploy/unpack.h"

struct archive;

/* A directory entry whose mode, times and owner wait for the end of a successful extraction. */
struct dir_meta {
    char *rel;    /* owned; cleaned name below the destination */
    uint64_t seq; /* entry number: the last entry for a directory wins */
    mode_t mode;
    struct timespec times[2]; /* atime, mtime; UTIME_OMIT when the archive has none */
    bool set_owner;
    uid_t uid;
    gid_t gid;
};

struct job {
    const char *archive_path; /* borrowed; NULL when reading in_fd */
    int in_fd;                /* owned; a stream to read instead of archive_path, or -1 */
    enum unpack_format fmt;
    const char *dest; /* borrowed */
    struct unpack_opts opts;
    char *prefix;       /* owned; "" (relative mode) or "<realpath dest>/" */
    struct archive *ar; /* owned */
    struct archive *aw; /* owned */
    struct unpack_stats stats;
    int root_fd;           /* the destination directory */
    char *parent_rel;      /* owned; directory last opened by open_parent(), or NULL */
    int parent_fd;         /* its descriptor, or -1 */
    struct dir_meta *dirs; /* owned; directory entries, applied after success */
    size_t ndirs, dirs_cap;
    bool is_root;
    /* One-entry caches for owner lookups. */
    char *last_uname, *last_gname; /* owned */
    uid_t last_uid;
    gid_t last_gid;
    struct err err;
    int rc;
};

/* "tar" or "zip", for messages. */
const char *unpack_kind(const struct job *j);
void unpack_job_init(struct job *j, enum unpack_format fmt, const char *dest_dir,
                     const struct unpack_opts *opts);
/* A fresh, empty destination (R-107 step 3), mode 0755 whatever the umask (V-052). */
int unpack_make_dest(const struct job *j, struct err *err);
/* The extraction thread; -1 (j->rc and j->err set, j->in_fd closed) when it cannot start. */
int unpack_job_start(struct job *j, pthread_t *t);
/* After the thread: remove the destination of a failed extraction and report. */
int unpack_job_result(struct job *j, struct unpack_stats *ret_stats, struct err *err);

#endif
