/*
 * apply: execute an Install plan (R-178..R-181, R-185..R-189).  Copies write a temporary file
 * beside the target and rename it over the target, never following a link at the target; each
 * created path is appended to the open cleanup file before the copy (after an mkdir or SELinux
 * context), so the file always tells the truth about what is on disk.  Notices
 * go to opts->note; nothing is logged.
 */
#ifndef CDAGENT_APPLY_H
#define CDAGENT_APPLY_H

#include <stdbool.h>

#include "base/err.h"

struct plan;
struct install_opts;

/*
 * Run every step of p in order, appending to cleanup_fd; stops at the first failure.
 * Errors: ERR_SYSTEM "install '<target>': ..." for a filesystem failure, ERR_INSTALL for a
 * non-regular source, an unknown owner/group, an ACL or SELinux failure.
 */
int apply_plan(const struct plan *p, const struct install_opts *o, int cleanup_fd, struct err *err);

#endif
