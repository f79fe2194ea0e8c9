/* record: see record.h. */
#include "run/record.h"

#include <stdlib.h>

#include "base/log.h"
#include "base/util.h"
#include "deploy/history.h"
#include "deploy/layout.h"
#include "parse/spec.h"
#include "run/executor.h"
#include "parse/config.h"
#include "run/hooklogs.h"
#include "run/metrics.h"
#include "run/preflight.h"

uint64_t record_command_start(const char *deployment_dir)
{
    AUTOFREE char *log = layout_scripts_log(deployment_dir);
    return hooklogs_mark(log);
}

static void upload_hook_output(const struct executor_opts *o, const char *command,
                               const struct deploy_spec *spec, const char *deployment_dir,
                               const struct exec_result *ret, uint64_t mark)
{
    if (!o->hook_logs_s3_uri || !*o->hook_logs_s3_uri || ret->noop)
        return;
    if (str_eq(command, "DownloadBundle") || str_eq(command, "Install"))
        return;
    AUTOFREE char *log = layout_scripts_log(deployment_dir);
    struct hooklogs_opts ho = {
        .uri = o->hook_logs_s3_uri,
        .host_id = o->host_id,
        .max_bytes = o->hook_logs_max_bytes,
        .s3 = {.region = o->region,
               .domain = o->domain,
               .endpoint_override = o->s3_endpoint_override,
               .use_fips = o->use_fips,
               .creds = o->creds},
        .proxy_uri = o->proxy_uri,
    };
    struct err e = ERR_INIT;
    (void)hooklogs_upload(&ho, spec->deployment_id, command, log, mark, &e);
}

void record_command_end(const struct executor_opts *o, const char *command,
                        const struct deploy_spec *spec, const char *deployment_dir,
                        const struct exec_result *ret, uint64_t mark, uint64_t duration_ms)
{
    upload_hook_output(o, command, spec, deployment_dir, ret, mark);
    const char *last = spec->has_all_lifecycle_events && spec->n_all_lifecycle_events
                           ? spec->all_lifecycle_events[spec->n_all_lifecycle_events - 1]
                           : NULL;
    int64_t end = (int64_t)wall_ms();
    struct history_command hc = {
        .deployment_id = spec->deployment_id,
        .application = spec->application_name,
        .group_name = spec->deployment_group_name,
        .group_id = spec->deployment_group_id,
        .event = command,
        .last_event = last,
        .succeeded = ret->succeeded,
        .noop = ret->noop,
        .duration_ms = duration_ms,
        .script = ret->script_name,
        .message = ret->message,
        .end_wall_ms = end,
    };
    enum history_status st = HISTORY_IN_PROGRESS;
    bool finished = false;
    struct err e = ERR_INIT;
    if (history_record(o->root_dir, &hc, &st, &finished, &e) < 0)
        log_warn("Recording deployment history: %s, ignoring", e.msg);
    metrics_event(command, ret->succeeded, (double)duration_ms / 1000.0);
    if (finished)
        metrics_deployment(st == HISTORY_SUCCEEDED, end);
}

int record_open(const struct config *cfg, struct err *err)
{
    if (preflight_check_settings(cfg->bundle_signing_public_keys, cfg->hook_logs_s3_uri, err) < 0)
        return -1;
    struct err me = ERR_INIT;
    if (metrics_open(cfg->metrics_file, CDAGENT_VERSION, history_last_success_ms(cfg->root_dir),
                     &me) < 0)
        log_err(LOG_PRIO_WARNING, &me, "Metrics file");
    return 0;
}

void record_close(void)
{
    metrics_close();
}
