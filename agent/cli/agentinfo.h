/*
 * agentinfo: what `codedeploy-agent status --json` and `codedeploy-agent history [N] [--json]`
 * print (issue 16 items 2 and 5), from the PID file, the daemon's state file and the agent's own
 * records under :root_dir:, so both work when the agent is stopped.
 *
 * status --json (one object):
 *   {"running":true,"pid":123,"status":"Idle, polling ...","root_dir":"/opt/...",
 *    "revisions_bytes":123456,"last_deployment":{<history record>}|null}
 */
#ifndef CDAGENT_AGENTINFO_H
#define CDAGENT_AGENTINFO_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct config;

#define AGENTINFO_HISTORY_DEFAULT 10

/* The status object above (pid 0 when not running; status_text may be NULL). */
void agentinfo_status_json(FILE *out, const struct config *cfg, pid_t pid, const char *status_text);
/* "Revisions under <root> use 12.3 MB" */
void agentinfo_print_usage(FILE *out, const struct config *cfg);
/* history [N]: n_arg NULL for the default; returns 0, or 64 (usage) for a bad N. */
int agentinfo_history(FILE *out, const struct config *cfg, const char *n_arg, bool json);

#endif
