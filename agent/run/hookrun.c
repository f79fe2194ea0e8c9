/* hookrun: see hookrun.h. */
#include "run/hookrun.h"

#include <stdlib.h>
#include <string.h>

#include "parse/appspec.h"
#include "base/err.h"
#include "run/result.h"
#include "hook/hook.h"
#include "hook/hookenv.h"
#include "deploy/bundlemeta.h"
#include "deploy/layout.h"
#include "base/log.h"
#include "sys/scope.h"
#include "hook/scriptlog.h"
#include "parse/spec.h"
#include "base/fsutil.h"
#include "base/util.h"

static void hook_warn(void *ctx, const char *msg)
{
    (void)ctx;
    log_warn("%s", msg);
}

static char **build_env(const struct hookrun_opts *o)
{
    const struct deploy_spec *s = o->spec;
    const struct spec_revision *rev = &s->revision;
    bool s3 = rev->type == SPEC_REV_S3;
    /* V-042: without an ETag in the spec, the one S3 returned (or a reused archive carried). */
    AUTOFREE char *marker_etag =
        s3 && !rev->etag ? bundlemeta_read_etag(o->deployment_dir) : NULL;
    struct hookenv_vars v = {
        .lifecycle_event = o->event,
        .deployment_id = s->deployment_id,
        .application_name = s->application_name,
        .deployment_group_name = s->deployment_group_name,
        .deployment_group_id = s->deployment_group_id,
        .bundle_bucket = s3 ? rev->bucket : NULL,
        .bundle_key = s3 ? rev->key : NULL,
        .bundle_version = s3 ? rev->version : NULL,
        .bundle_etag = s3 ? (rev->etag ? rev->etag : marker_etag) : NULL,
        .bundle_commit = rev->type == SPEC_REV_GITHUB ? rev->commit_id : NULL,
    };
    if (o->env)
        return hookenv_build(o->env, &v);
    /* No captured base environment (tests): only the deployment variables and a PATH. */
    struct hookenv_opts ho = {.profile = "", .agent_env = (char *const[]){
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL}};
    struct hookenv *e = hookenv_new(&ho, NULL);
    char **envp = e ? hookenv_build(e, &v) : NULL;
    hookenv_free(e);
    return envp;
}

static void fill_failure(struct exec_result *ret, const struct err *e, const char *location,
                         struct scriptlog *log)
{
    ret->succeeded = false;
    ret->error_code = err_diag_code(e);
    if (ret->error_code == 0)
        ret->error_code = ERR_SCRIPT_FAILED;
    free(ret->message);
    ret->message = xstrdup(e->msg);
    free(ret->script_name);
    ret->script_name = xstrdup(location ? location : "");
    size_t n = 0;
    char *tail = scriptlog_tail(log, &n);
    free(ret->log);
    ret->log = tail ? tail : xstrdup("");
}

void hookrun_event(const struct hookrun_opts *o, struct exec_result *ret)
{
    AUTOFREE char *archive = layout_archive_dir(o->revision_dir);
    AUTOFREE char *log_path = layout_scripts_log(o->deployment_dir);
    AUTOFREE char *logs_dir = layout_logs_dir(o->deployment_dir);
    AUTOFREE char *dlog = o->enable_deployments_log
                              ? layout_deployments_log(o->root_dir, o->program_name) : NULL;
    AUTOFREE char *dlog_dir = dlog ? layout_deployment_logs_dir(o->root_dir) : NULL;
    (void)mkdir_p(logs_dir, 0755, NULL);
    if (dlog_dir)
        (void)mkdir_p(dlog_dir, 0755, NULL);
    struct scriptlog_opts lo = {.path = log_path, .deployments_log = dlog,
                                .deployment_id = o->spec->deployment_id};
    struct scriptlog *log = scriptlog_new(&lo);
    char **envp = build_env(o);
    bool use_scope = scope_available();
    /* The hook runner reads 0 as "default"; a configured 0 means "do not wait". */
    int64_t grace_ms = o->output_grace_s < 0    ? -1
                       : o->output_grace_s == 0 ? 1
                                                : (int64_t)o->output_grace_s * 1000;

    scriptlog_event(log, o->event);
    ret->succeeded = true;
    for (size_t i = 0; i < o->n_scripts; i++) {
        const struct appspec_script *sc = &o->scripts[i];
        struct err err = ERR_INIT;
        AUTOFREE char *path = NULL;
        if (appspec_path_in_archive(archive, sc->location_rel, &path, &err) < 0) {
            fill_failure(ret, &err, sc->location, log);
            break;
        }
        if (o->script_started)
            o->script_started(o->cb_arg, sc->location);
        log_info("Running script %s (timeout %u s%s%s)", sc->location, sc->timeout_s,
                 sc->runas ? ", as " : "", sc->runas ? sc->runas : "");
        scriptlog_script(log, sc->location);
        struct hook_opts ho = {
            .path = path, .location = sc->location, .runas = sc->runas, .sudo = sc->sudo,
            .timeout_s = sc->timeout_s, .envp = envp, .log = log,
            .output_grace_ms = grace_ms, .cancel = o->stop,
            .scope_deployment_id = use_scope ? o->spec->deployment_id : NULL,
            .scope_event = o->event,
            .warn = hook_warn,
        };
        struct hook_result hr = {0};
        if (hook_run(&ho, &hr, &err) < 0) {
            fill_failure(ret, &err, sc->location, log);
            break;
        }
        log_info("Script %s finished in %.1f s%s", sc->location, (double)hr.duration_ms / 1000.0,
                 hr.outputs_left_open ? " (left a background process holding its output)" : "");
    }
    hookenv_envp_free(envp);
    scriptlog_unref(log);
}
