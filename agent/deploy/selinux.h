/*
 * selinux: SELinux file contexts for Install and the removal of the previous install's
 * contexts, through the semanage and restorecon programs.  They run with /dev/null as
 * stdin/stdout/stderr, a minimal environment (PATH and LC_ALL=C, never the agent's variables),
 * default signal dispositions and an empty signal mask.  Nothing is logged.
 */
#ifndef CDAGENT_SELINUX_H
#define CDAGENT_SELINUX_H

#include <stdbool.h>

#include "base/err.h"

struct appspec_context;

/* mode: 0 = detect (/sys/fs/selinux/enforce exists), > 0 = always on, < 0 = always off. */
bool selinux_enabled(int mode);

/*
 * "semanage fcontext -a [-s user] -t type [-r range] <real_path>" then
 * "restorecon -v <real_path>".  applied(ctx) is called after semanage succeeded, before
 * restorecon runs (the cleanup file records the context then, R-180); when it fails, so does
 * this.  Errors: ERR_INSTALL with the R-189 message naming the failed command and exit status.
 */
int selinux_apply(const struct appspec_context *c, const char *real_path,
                  int (*applied)(void *ctx, struct err *err), void *ctx, struct err *err);

/* "semanage fcontext -d <path>"; failures are ignored. */
void selinux_forget(const char *path);

#endif
