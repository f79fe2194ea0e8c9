/* agentinfo: see agentinfo.h. */
#include "cli/agentinfo.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>

#include "base/util.h"
#include "deploy/diskspace.h"
#include "deploy/history.h"
#include "deploy/retention.h"
#include "parse/config.h"

void agentinfo_status_json(FILE *out, const struct config *cfg, pid_t pid, const char *status_text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "running", pid > 0);
    if (pid > 0)
        cJSON_AddNumberToObject(o, "pid", (double)pid);
    else
        cJSON_AddNullToObject(o, "pid");
    if (status_text)
        cJSON_AddStringToObject(o, "status", status_text);
    else
        cJSON_AddNullToObject(o, "status");
    cJSON_AddStringToObject(o, "root_dir", cfg->root_dir);
    cJSON_AddNumberToObject(
        o, "revisions_bytes",
        (double)retention_revisions_usage(cfg->root_dir, cfg->ongoing_deployment_tracking));
    char *last = history_list_json(cfg->root_dir, 1);
    cJSON *arr = cJSON_Parse(last);
    free(last);
    cJSON *first = cJSON_DetachItemFromArray(arr, 0);
    cJSON_AddItemToObject(o, "last_deployment", first ? first : cJSON_CreateNull());
    cJSON_Delete(arr);
    char *text = cJSON_Print(o);
    fprintf(out, "%s\n", text);
    free(text);
    cJSON_Delete(o);
}

void agentinfo_print_usage(FILE *out, const struct config *cfg)
{
    char u[32];
    diskspace_format(retention_revisions_usage(cfg->root_dir, cfg->ongoing_deployment_tracking), u,
                     sizeof(u));
    fprintf(out, "Revisions under %s use %s\n", cfg->root_dir, u);
}

int agentinfo_history(FILE *out, const struct config *cfg, const char *n_arg, bool json)
{
    uint64_t n = AGENTINFO_HISTORY_DEFAULT;
    struct err e = ERR_INIT;
    if (n_arg && parse_uint(n_arg, 1, HISTORY_KEEP, &n, &e) < 0) {
        fprintf(stderr, "error: history N: N must be a number from 1 to %d\n", HISTORY_KEEP);
        return 64;
    }
    if (json) {
        char *text = history_list_json(cfg->root_dir, (size_t)n);
        fprintf(out, "%s\n", text);
        free(text);
    } else {
        history_print(out, cfg->root_dir, (size_t)n);
    }
    return 0;
}
