/*
 * scope: put a hook's process tree into its own transient systemd scope, so that an application a
 * hook starts lives outside the agent's cgroup and survives "systemctl stop/restart
 * codedeploy-agent" (spec; STYLE §7).
 *
 * Only used where systemd is PID 1 (sd_booted()): one StartTransientUnit call on
 * org.freedesktop.systemd1 with PIDs=[pid] over the system bus, or systemd's private socket when
 * no bus daemon runs (sys/sd), then a bounded wait until the kernel shows the process in the
 * new cgroup.  Without systemd scope_start() fails with ERR_UNSUPPORTED and the hook simply runs
 * in its own session (hook.c always calls setsid); the caller warns when systemd is there but
 * the scope could not be had.  Called in the parent after
 * fork, before the child is allowed to exec; never in a forked child.  The sd-bus connection is
 * opened per call and closed before returning.
 */
#ifndef CDAGENT_SCOPE_H
#define CDAGENT_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

#define SCOPE_NAME_MAX 255
#define SCOPE_BUS_TIMEOUT_MS 5000

/* True where systemd runs as PID 1 and scopes can be tried. */
bool scope_available(void);

/* "cdagent-hook-<deployment>-<event>-<n>.scope" with every character outside [A-Za-z0-9:_.-]
 * replaced by '_' and the name cut to fit SCOPE_NAME_MAX.  Caller frees. */
char *scope_unit_name(const char *deployment_id, const char *event, unsigned n);

/* Start transient scope `unit` containing pid.  Errors: ERR_UNSUPPORTED (no systemd), ERR_SYSTEM
 * (bus connection or method call failed; message names the D-Bus error), ERR_TIMEOUT (pid did not
 * show up in the scope in time). */
int scope_start(const char *unit, pid_t pid, const char *description, struct err *err);

#endif
