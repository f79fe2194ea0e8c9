/*
 * history: the agent's own record of the deployments on this host (issue 16 item 5), read by
 * `codedeploy-agent history [N]` and `status --json` also when the agent is stopped.
 *
 * One JSON file per deployment, "<root>/deployment-history/<deployment id>.json" (mode 0644,
 * written atomically after every lifecycle command; the newest HISTORY_KEEP are kept):
 *   {"deployment_id":"d-X","application":"app","deployment_group":"grp","deployment_group_id":
 *    "<uuid>","status":"InProgress|Succeeded|Failed","started_ms":<wall ms>,"ended_ms":<wall ms>,
 *    "duration_s":12.3,"failed_event":"ApplicationStart","failed_script":"scripts/start.sh",
 *    "message":"...","events":[{"event":"DownloadBundle","result":"Succeeded","duration_s":1.5}]}
 * A deployment is Failed after its first failed command and Succeeded after the last event the
 * specification lists (AllPossibleLifecycleEvents) succeeds; without that list, after a
 * successful ValidateService (the last default event).  Messages are stored as the result has
 * them (the service sees the same text).
 */
#ifndef CDAGENT_HISTORY_H
#define CDAGENT_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

#define HISTORY_DIR "deployment-history"
#define HISTORY_KEEP 200

enum history_status { HISTORY_IN_PROGRESS, HISTORY_SUCCEEDED, HISTORY_FAILED };

struct history_command {
    const char *deployment_id; /* borrowed */
    const char *application;   /* borrowed; may be NULL */
    const char *group_name;    /* borrowed; may be NULL */
    const char *group_id;      /* borrowed; may be NULL */
    const char *event;         /* borrowed; the lifecycle command */
    const char *last_event;    /* borrowed; the deployment's final event, NULL: ValidateService */
    bool succeeded;
    bool noop; /* nothing ran (kept in the record, counts as success) */
    uint64_t duration_ms;
    const char *script;  /* borrowed; failing script or "" */
    const char *message; /* borrowed; failure message or "" */
    int64_t end_wall_ms; /* 0: now */
};

/*
 * Add one finished command to its deployment's record (creating it) and prune old records.
 * *ret_status (may be NULL) gets the deployment's status afterwards, *ret_finished (may be NULL)
 * whether this command ended it (first failure or final success).  Errors: ERR_SYSTEM (directory
 * or file), ERR_UNSAFE for a deployment id unusable as a file name.  Callers log and go on.
 */
int history_record(const char *root_dir, const struct history_command *c,
                   enum history_status *ret_status, bool *ret_finished, struct err *err);

/*
 * The newest n records (n 0: all kept), newest first, as a JSON array text (caller frees).
 * Unreadable or foreign files are skipped.  A missing directory gives "[]".
 */
char *history_list_json(const char *root_dir, size_t n);

/* Print the newest n records as a table for people (header first; "No deployments recorded in
 * <dir>" when none). */
void history_print(FILE *out, const char *root_dir, size_t n);

/* Wall ms of the newest Succeeded record's end, 0 when none (seeds the metrics after a restart). */
int64_t history_last_success_ms(const char *root_dir);

const char *history_status_name(enum history_status s);

#endif
