/*
 * space: will an Install plan fit?  Before Install removes anything, space_check() adds up, per
 * destination file system, the blocks and inodes the plan's copies and mkdirs need, credits what
 * removing the previous install (plan.gone) frees on that file system, adds a margin, and
 * compares with statvfs's f_bavail/f_favail (issue 11 item 2).  File systems reporting no inode
 * count (f_files == 0) are checked for bytes only.  No changes, no logging.
 */
#ifndef CDAGENT_SPACE_H
#define CDAGENT_SPACE_H

#include <sys/statvfs.h>

#include "base/err.h"

struct plan;

/* Safety margin kept free on each file system: SPACE_MARGIN_PERCENT of what the plan needs plus
 * SPACE_MARGIN_MIN_BYTES / SPACE_MARGIN_MIN_INODES. */
#define SPACE_MARGIN_PERCENT 5
#define SPACE_MARGIN_MIN_BYTES (4u << 20)
#define SPACE_MARGIN_MIN_INODES 64u

typedef int space_statvfs_fn(const char *path, struct statvfs *ret);

/*
 * statvfs_fn NULL = statvfs(3).  Errors: ERR_INSTALL "Install: not enough free space on the file
 * system holding '<dir>': ..." naming bytes and inodes needed, freed, the margin and what is
 * free; ERR_SYSTEM when a destination's file system cannot be examined.
 */
int space_check(const struct plan *p, space_statvfs_fn *statvfs_fn, struct err *err);

#endif
