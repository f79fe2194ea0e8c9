/*
 * rmtree: remove a directory tree of any depth with a bounded number of fds (at most three
 * at any time) and no path longer than one name: it walks down and up with openat(), checking
 * each step up by device and inode so a directory moved meanwhile cannot lead it elsewhere, and
 * never follows a symlink (a link is removed as a link).  Used for revision retention.
 */
#ifndef CDAGENT_RMTREE_H
#define CDAGENT_RMTREE_H

#include "base/err.h"

/*
 * Remove name (relative to the open directory dir_fd) and everything below it; a missing name
 * is success.  shown is the path named in messages.  Errors: ERR_SYSTEM "remove '<shown>': ..."
 * for the first entry that cannot be removed (the rest of the tree is then left), ERR_UNSAFE
 * when a directory was moved during the walk.
 */
int rmtree_at(int dir_fd, const char *name, const char *shown, struct err *err);

#endif
