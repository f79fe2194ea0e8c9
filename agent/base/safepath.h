/*
 * safepath: may a process running as a given user trust a path, as sshd's StrictModes decides?
 * A path is trusted when every component from "/" down to it, itself included, is owned by root
 * or by that user and is not writable by group or others.  One exception, for ancestors only: a
 * directory owned by root with the sticky bit (such as /tmp) may be writable by all, because
 * nobody else can then rename or replace what another user put there.  Symbolic links in the
 * path given are resolved first (the resolved components must all be trusted); any component
 * that changes into a link while it is walked is refused.
 *
 * Also: create directories below a trusted directory without following links (safepath_mkdirs),
 * for the directories the agent writes its own files in.
 *
 * Messages name the path, its owner and its mode ("'/srv/root' is owned by alice (uid 1000),
 * mode 0777: it must be owned by root and not writable by group or others").  Nothing here logs.
 */
#ifndef CDAGENT_SAFEPATH_H
#define CDAGENT_SAFEPATH_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "base/err.h"

/* Is st (of the thing named shown) trusted for uid?  is_ancestor: allow a sticky root-owned
 * directory that all may write.  ERR_UNSAFE with the message above otherwise. */
int safepath_check_stat(const struct stat *st, const char *shown, uid_t uid, bool is_ancestor,
                        struct err *err);

/*
 * Check path (which must exist) and every directory above it for uid.  want_dir: path itself
 * must be a directory.  Errors: ERR_UNSAFE (named component, owner, mode), ERR_NOT_FOUND when it
 * does not exist, ERR_SYSTEM when it cannot be resolved or examined.
 */
int safepath_check(const char *path, uid_t uid, bool want_dir, struct err *err);

/*
 * Below the directory open as top_fd (shown as top in messages), create each '/'-separated
 * component of rel that is missing (mode & ~umask) and open it without following a link; a
 * component that exists must be a real directory that safepath_check_stat() trusts for uid.
 * Returns an O_DIRECTORY fd of the last component (caller closes), or -1 with ERR_UNSAFE (a
 * link or an untrusted directory) or ERR_SYSTEM.
 */
int safepath_mkdirs(int top_fd, const char *top, const char *rel, mode_t mode, uid_t uid,
                    struct err *err);

/*
 * For a file of secrets already open as fd (read from path): fd must be the file at path, and
 * path must pass safepath_check() for uid (file and every directory above it).  *ret_readable
 * (may be NULL) tells whether others may read it (callers warn).  Errors as safepath_check(),
 * and ERR_UNSAFE when path no longer names the open file.
 */
int safepath_check_open(int fd, const char *path, uid_t uid, bool *ret_readable, struct err *err);

/* safepath_check(dir, uid, true), then open it (O_DIRECTORY | O_NOFOLLOW on the resolved
 * path).  Returns the fd or -1 with the errors of safepath_check. */
int safepath_open_dir(const char *dir, uid_t uid, struct err *err);

#endif
