/*
 * hooklogs: full hook output for the pipeline (:hook_logs_s3_uri:, issue 16 item 1).
 *
 * After each lifecycle event that ran scripts, the part of the deployment's scripts.log written
 * during that event (R-162 records: "LifecycleEvent - X", "Script - Y", "[stdout]..." lines) is
 * uploaded with PutObject to
 *     s3://<bucket>/<prefix>/<deployment id>/<host id>/<event>.log
 * (Content-Type text/plain; charset=utf-8), signed with the agent's credentials.  The text is
 * redacted like the agent's logs (log_redact) and bounded: when the event wrote more than
 * max_bytes, the first line says how many bytes were left out and the newest max_bytes follow.
 * The host id is the last '/'-separated part of the host identifier (EC2 instance id or
 * on-premises instance name), with anything outside [A-Za-z0-9._-] replaced by '_'.
 * An upload failure (also: no credentials, o->s3.creds NULL) never fails the deployment: it is
 * logged at WARN once per deployment (later failures of the same deployment at DEBUG) and
 * forgotten.  One upload takes at most HOOKLOGS_UPLOAD_TIMEOUT_MS.
 */
#ifndef CDAGENT_HOOKLOGS_H
#define CDAGENT_HOOKLOGS_H

#include <stdint.h>

#include "base/err.h"
#include "deploy/s3obj.h"

#define HOOKLOGS_MAX_BYTES_DEFAULT (16ULL * 1024 * 1024)
#define HOOKLOGS_UPLOAD_TIMEOUT_MS 60000 /* one upload never holds a deployment up longer */

struct hooklogs_opts {
    const char *uri;       /* borrowed; :hook_logs_s3_uri:; NULL or "": feature off */
    const char *host_id;   /* borrowed; host identifier (ARN or name) */
    uint64_t max_bytes;    /* 0: HOOKLOGS_MAX_BYTES_DEFAULT */
    struct s3obj_opts s3;  /* endpoint, credentials; s3.http NULL: a client is made per upload */
    const char *proxy_uri; /* borrowed; for that client */
};

/* Size of scripts_log now (0 when missing): call before the event, pass to hooklogs_upload. */
uint64_t hooklogs_mark(const char *scripts_log);

/* "<prefix>/<deployment id>/<host id>/<event>.log" (no leading '/' when prefix is ""); pure;
 * caller frees. */
char *hooklogs_key(const char *prefix, const char *deployment_id, const char *host_id,
                   const char *event);

/*
 * The event's text: scripts_log from offset from (from 0 when the file is now shorter: it
 * rotated), the newest max_bytes of it, redacted.  *ret caller frees.  A missing file gives "".
 * Errors: ERR_SYSTEM when the file cannot be read.
 */
int hooklogs_read(const char *scripts_log, uint64_t from, uint64_t max_bytes, char **ret,
                  size_t *ret_len, struct err *err);

/*
 * Upload the event's output (see above).  Returns 0 when uploaded or when the feature is off or
 * the event wrote nothing; -1 with err when the upload failed (already logged as described).
 */
int hooklogs_upload(const struct hooklogs_opts *o, const char *deployment_id, const char *event,
                    const char *scripts_log, uint64_t from, struct err *err);

#endif
