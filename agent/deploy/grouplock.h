/*
 * grouplock: one advisory lock per deployment group, shared by the daemon and codedeploy-local
 * so the two never work on the same group at once.  The lock is an flock on
 * "<root_dir>/.cdagent-locks/<group id>.lock"; it is released when the fd is closed, also when the
 * process dies.  A waiter does not poll the lock: it watches the lock file with inotify and
 * tries again when someone closes it (the holder releasing, or dying).
 */
#ifndef CDAGENT_GROUPLOCK_H
#define CDAGENT_GROUPLOCK_H

#include <stdbool.h>

#include "base/err.h"

struct stop;

/* Take the lock, waiting up to wait_ms (0: do not wait; < 0: forever, but return early when stop
 * (borrowed, may be NULL) is requested).  Returns the lock fd (>= 0), or -1 with ERR_TIMEOUT
 * "deployment group
 * '<group>' is busy (another deployment holds <path>)" or ERR_SYSTEM / ERR_UNSAFE. */
int grouplock_acquire(const char *root_dir, const char *group_id, long wait_ms,
                      const struct stop *stop, struct err *err);
void grouplock_release(int fd);

#endif
