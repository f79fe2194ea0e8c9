/*
 * pidfile: the PID file and lock of spec R-004..R-010.
 * "<pid_dir>/<program>.pid" holds the daemon's decimal PID and a newline; an exclusive
 * non-blocking flock on "<pid_dir>/<program>.pid.lock" (mode 0644) is held for the daemon's
 * lifetime.  A PID file is stale when its process is gone or is not this agent (checked through
 * /proc/<pid>/cmdline and /proc/<pid>/exe).
 */
#ifndef CDAGENT_PIDFILE_H
#define CDAGENT_PIDFILE_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"

struct pidfile {
    char *pid_path;  /* owned */
    char *lock_path; /* owned */
    int lock_fd;     /* -1 when not held */
};

void pidfile_init(struct pidfile *p, const char *pid_dir, const char *program);
void pidfile_done(struct pidfile *p); /* releases the lock; does not remove the file */

/* Take the lock (creating pid_dir).  ERR_SYSTEM "another agent holds '<lock>'" (EWOULDBLOCK)
 * or for I/O failures. */
int pidfile_lock(struct pidfile *p, struct err *err);
/* Write our PID atomically (lock must be held). */
int pidfile_write(struct pidfile *p, pid_t pid, struct err *err);
/* Remove the PID file (on clean exit). */
void pidfile_remove(struct pidfile *p);

enum pidfile_state { PIDFILE_NONE, PIDFILE_RUNNING, PIDFILE_STALE };
/* Inspect the PID file: NONE (absent), RUNNING (*ret_pid is a live agent) or STALE (present
 * but empty, unparsable, dead or another program; *ret_pid is the value or 0). */
enum pidfile_state pidfile_check(const struct pidfile *p, pid_t *ret_pid);

/* True if pid is alive and its command line or executable names codedeploy-agent/cdagent. */
bool pidfile_is_agent(pid_t pid);

#endif
