/* agentinfo: see agentinfo.h. */
#include "cli/agentinfo.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/util.h"
#include "deploy/diskspace.h"
#include "deploy/history.h"
#include "deploy/retention.h"
#include "parse/config.h"

void agentinfo_status_json(FILE *out, const struct config *cfg, pid_t pid, const char *status_text)
{
    struct json *o = json_new_object();
    json_add_bool(o, "running", pid > 0);
    if (pid > 0)
        json_add_num(o, "pid", (double)pid);
    else
        json_add_null(o, "pid");
    json_add_str(o, "status", status_text);
    json_add_str(o, "root_dir", cfg->root_dir);
    json_add_num(
        o, "revisions_bytes",
        (double)retention_revisions_usage(cfg->root_dir, cfg->ongoing_deployment_tracking));
    char *last = history_list_json(cfg->root_dir, 1);
    struct json *arr = json_parse(last, strlen(last), NULL, NULL);
    free(last);
    const struct json *first = json_first(arr);
    if (first)
        json_add(o, "last_deployment", json_dup(first));
    else
        json_add_null(o, "last_deployment");
    json_free(arr);
    char *text = json_print(o, true);
    fprintf(out, "%s\n", text);
    free(text);
    json_free(o);
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
