/*
 * copytree: copy a directory tree for Local Directory revisions: regular files with
 * their permission bits, directories, and symbolic links as links (never followed).  Other file
 * types are skipped.  The destination must not exist yet.  Neither the depth of the tree nor the
 * length of the paths inside it is limited: the walk uses *at() calls with two directory fds.
 * Nothing is logged.
 */
#ifndef CDAGENT_COPYTREE_H
#define CDAGENT_COPYTREE_H

#include "base/err.h"

/* Errors: ERR_SYSTEM naming src (the tree's top) and the step that failed. */
int copytree(const char *src, const char *dst, struct err *err);

/* Copy one regular file (content and permission bits), replacing dst atomically. */
int copy_file(const char *src, const char *dst, struct err *err);

#endif
