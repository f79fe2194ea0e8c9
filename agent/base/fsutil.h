/*
 * fsutil: whole-file and directory helpers over plain syscalls.  Every fd is opened
 * close-on-exec; errors come back through struct err naming the path.
 */
#ifndef CDAGENT_FSUTIL_H
#define CDAGENT_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

/* write(2) until all n bytes are out, resuming after EINTR.  Returns 0, or -1 with errno set
 * (a leaf wrapper: callers convert with err_sys()). */
int write_all(int fd, const void *data, size_t n);
/* mkdir -p with mode for created directories; ERR_SYSTEM also when a file is in the way. */
int mkdir_p(const char *path, mode_t mode, struct err *err);
/* rm -rf that never follows symlinks; missing path is success.  rmtree_at(AT_FDCWD, path, path). */
int rm_rf(const char *path, struct err *err);
/* Read a whole file, at most max bytes (ERR_LIMIT beyond; ERR_NOT_FOUND when missing);
 * NUL-terminated; *ret is the caller's to free. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct err *err);
/* The same for an open fd (path names it in messages); the fd stays open. */
int read_fd(int fd, const char *path, size_t max, char **ret, size_t *ret_len, struct err *err);
/* Write data to path atomically (temp file in the same dir, fsync, rename) with mode. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *err);
/* Feed the content of path to fn in chunks; ERR_SYSTEM when it cannot be opened or read. */
typedef void (*file_chunk_fn)(void *arg, const void *data, size_t len);
int file_read_chunks(const char *path, file_chunk_fn fn, void *arg, struct err *err);
bool file_exists(const char *path); /* lstat: a dangling symlink exists */
bool dir_exists(const char *path);  /* stat: follows symlinks */

#endif
