/*
 * archmeta: no hook runs as root from a file that another user can change (issue 11 item 4,
 * R-216), while Install still installs the bundle's owners and modes (R-178, compatibility).
 *
 * deployment-archive keeps the bundle's owners and modes, so a script archived 0777 or owned by
 * the archive's uid (1000 from a workstation tar) could be rewritten by that user and then run
 * as root at the next ApplicationStop.  Before a script runs as root, archmeta_guard() makes the
 * way to it trusted in the agent's copy only:
 *   - each directory from deployment-archive down to the script that is owned by another user or
 *     writable by group or others is given to root and loses group/other write and setid bits;
 *   - a script in that state is replaced by a root-owned copy (a new inode, so a writer that
 *     opened the old file earlier writes to nothing that runs) without group/other write and
 *     setid bits, same content and times;
 *   - what each changed file was (mode, owner, group) is kept in the extended attribute
 *     ARCHMETA_XATTR ("<octal mode> <uid> <gid>"), which only root can read or write, and
 *     archmeta_fstat() gives it back to Install, so installed files keep the bundle's metadata;
 *   - then the script and every directory above it, up to "/", must pass safepath_check() for
 *     root, else the hook is refused with the path, its owner and mode.
 * A file system without extended attributes cannot keep the bundle's metadata: the hook is then
 * refused rather than changing what Install would install.  Directory modes are not carried over
 * by Install, so directories need no record.
 */
#ifndef CDAGENT_ARCHMETA_H
#define CDAGENT_ARCHMETA_H

#include <sys/stat.h>

#include "base/err.h"

#define ARCHMETA_XATTR "trusted.cdagent.orig"

/*
 * Make "<archive_dir>/<rel>" safe to run as root as described above, then check it.  archive_dir
 * is the agent's deployment-archive (its parent must already be trusted, see
 * layout_check_root); rel is the script's path below it.  Errors: ERR_UNSAFE (a link on the
 * way, or a component still untrusted: path, owner, mode), ERR_SYSTEM.  An agent that is not
 * root (a script it runs as root through sudo) changes nothing and only checks the resolved
 * script and the directories above it for its own uid (safepath_check).
 */
int archmeta_guard(const char *archive_dir, const char *rel, struct err *err);

/* fstat(fd) with the bundle's mode, owner and group when archmeta_guard() changed the file.
 * Returns 0 or -1 with errno. */
int archmeta_fstat(int fd, struct stat *ret_st);

#endif
