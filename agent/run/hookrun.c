/* hookrun: see hookrun.h. */
#include "run/hookrun.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parse/appspec.h"
#include "base/err.h"
#include "run/result.h"
#include "hook/hook.h"
#include "hook/hookenv.h"
#include "base/nss.h"
#include "deploy/archmeta.h"
#include "deploy/bundlemeta.h"
#include "deploy/layout.h"
#include "base/log.h"
#include "sys/scope.h"
#include "hook/scriptlog.h"
#include "parse/spec.h"
#include "base/fsutil.h"
#include "base/path.h"
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
    AUTOFREE char *marker_etag = s3 && !rev->etag ? bundlemeta_read_etag(o->deployment_dir) : NULL;
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
    struct hookenv_opts ho = {
        .profile = "",
        .agent_env = (char *const[]){
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

/* Will sc run as root (issue 11 item 4)?  The agent is root, or sc goes through sudo,
 * and runas is unset or names uid 0. */
static bool runs_as_root(const struct appspec_script *sc)
{
    if (geteuid() != 0 && !sc->sudo)
        return false;
    if (!sc->runas || !*sc->runas)
        return true;
    uid_t uid = 1;
    return nss_uid_by_name(sc->runas, &uid, NULL) == 0 && uid == 0;
}

/* Before sc runs as root: archmeta_guard(), so nobody else can change what runs (issue 11
 * item 4).  A script that does not exist fails as missing here, not later, so nobody can
 * put one there in between. */
static int guard_root_script(const char *archive, const struct appspec_script *sc, const char *path,
                             struct err *err)
{
    if (!runs_as_root(sc))
        return 0;
    struct err e = ERR_INIT;
    if (archmeta_guard(archive, sc->location_rel, &e) == 0)
        return 0;
    if (e.sys_errno == ENOENT)
        return err_set(err, ERR_SCRIPT_MISSING, "Script does not exist at specified location: %s",
                       path);
    return err_set(err, ERR_SCRIPT_FAILED,
                   "Script at specified location: %s was not run as root: %s", sc->location, e.msg);
}

/* logs/ of the deployment and deployment-logs/ (when used), made below the root dir without
 * following links (issue 18 item 4).  False when deployment-logs/ is not a safe directory: the
 * deployments log is then skipped. */
static bool make_log_dirs(const struct hookrun_opts *o, bool deployments_log)
{
    size_t n = strlen(o->root_dir);
    const char *dep = o->deployment_dir;
    int fd = -1;
    if (strncmp(dep, o->root_dir, n) == 0 && dep[n] == '/') {
        AUTOFREE char *rel = path_join(dep + n + 1, LAYOUT_LOGS_DIR);
        fd = layout_open_dir(o->root_dir, rel, NULL);
    } else {
        AUTOFREE char *logs_dir = layout_logs_dir(dep);
        (void)mkdir_p(logs_dir, LAYOUT_DIR_MODE, NULL);
    }
    if (fd >= 0)
        close(fd);
    if (!deployments_log)
        return false;
    struct err e = ERR_INIT;
    fd = layout_open_dir(o->root_dir, LAYOUT_DEPLOYMENT_LOGS_DIR, &e);
    if (fd < 0) {
        log_err(LOG_PRIO_WARNING, &e, "Not writing the deployments log");
        return false;
    }
    close(fd);
    return true;
}

void hookrun_event(const struct hookrun_opts *o, struct exec_result *ret)
{
    AUTOFREE char *archive = layout_archive_dir(o->revision_dir);
    AUTOFREE char *log_path = layout_scripts_log(o->deployment_dir);
    AUTOFREE char *dlog = make_log_dirs(o, o->enable_deployments_log)
                              ? layout_deployments_log(o->root_dir, o->program_name)
                              : NULL;
    struct scriptlog_opts lo = {
        .path = log_path, .deployments_log = dlog, .deployment_id = o->spec->deployment_id};
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
        if (guard_root_script(archive, sc, path, &err) < 0) {
            fill_failure(ret, &err, sc->location, log);
            break;
        }
        if (o->script_started)
            o->script_started(o->cb_arg, sc->location);
        log_info("Running script %s (timeout %u s%s%s)", sc->location, sc->timeout_s,
                 sc->runas ? ", as " : "", sc->runas ? sc->runas : "");
        scriptlog_script(log, sc->location);
        struct hook_opts ho = {
            .path = path,
            .location = sc->location,
            .runas = sc->runas,
            .sudo = sc->sudo,
            .timeout_s = sc->timeout_s,
            .envp = envp,
            .log = log,
            .output_grace_ms = grace_ms,
            .cancel = o->stop,
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
