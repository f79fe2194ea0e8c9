/*
 * daemon: the agent's main loop (spec §5): poll the Commands service, hand each command to a
 * worker thread (at most DAEMON_MAX_WORKERS, one at a time per deployment group, R-072), report
 * back exactly once per command, recover from a restart through the tracking files
 * (R-076, V-034) and shut down gracefully on SIGTERM/SIGINT/SIGQUIT.  It owns the
 * signal handlers and every sd_notify() call: READY=1 once configuration and credentials load
 * (or after the first failed attempt, while it waits and retries, R-029), STATUS= kept human and
 * current (refreshed every DAEMON_STATUS_REFRESH_MS; "Stopping, waiting for <event>" during a
 * graceful stop), WATCHDOG=1 when the unit asks for it and only while every thread makes
 * progress (alive.h), STOPPING=1.  What it is
 * doing is also written to a small state file that `codedeploy-agent status` prints.
 */
#ifndef CDAGENT_DAEMON_H
#define CDAGENT_DAEMON_H

#include <stdbool.h>

#include "base/err.h"

struct config;

#define DAEMON_MAX_WORKERS 16
/* Polls that bring no new work start at least this far apart, whatever :wait_between_runs:
 * says (0 with an instant empty answer polled ~3 500 times a second, issue 18 item 5). */
#define DAEMON_MIN_POLL_GAP_MS 1000
#define DAEMON_COMPLETE_RETRY_MIN_S 600 /* keep retrying a completion this long */
#define DAEMON_STOP_KILL_WAIT_S 15      /* after killing hooks on a forced stop */
/* STATUS= is refreshed this often, so its elapsed seconds are never more than 1 s stale. */
#define DAEMON_STATUS_REFRESH_MS 500
/* Watchdog budgets of a worker (see alive.h): a step other than a hook script (download,
 * install, report), and a hook script, which the hook runner ends at its own timeout. */
#define DAEMON_STEP_BUDGET_S 3600
#define DAEMON_SCRIPT_BUDGET_S 86400
/* Budgets of the main thread's network steps beyond the HTTP idle timeout (connect, sign), and
 * of one attempt at the host identity (IMDS or the on-premises file). */
#define DAEMON_CALL_SLACK_MS 30000
#define DAEMON_IDENTITY_BUDGET_MS 60000

/* Run until a stop signal.  Returns the process exit code (0 after a clean stop).  Start-up
 * failures (bad directories, no credentials source...) are returned as -1 with err. */
int daemon_run(const struct config *cfg, struct err *err);

/* seconds to back off after n consecutive failed poll cycles (n capped at 10). */
unsigned daemon_backoff_s(unsigned n);

/* Path of the state file for `status` (caller frees). */
char *daemon_state_path(const struct config *cfg);

#endif
