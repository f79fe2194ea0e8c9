/* executor: see executor.h. */
#include "run/executor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse/appspec.h"
#include "deploy/bundle.h"
#include "deploy/bundlemeta.h"
#include "parse/config.h"
#include "deploy/copytree.h"
#include "run/diag.h"
#include "run/hookrun.h"
#include "run/metrics.h"
#include "run/preflight.h"
#include "run/record.h"
#include "net/http.h"
#include "deploy/install.h"
#include "deploy/layout.h"
#include "deploy/reuse.h"
#include "base/log.h"
#include "parse/spec.h"
#include "deploy/unpack.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/util.h"

/* The hook events the service sends, each mapped to the AppSpec event of that name. */
static const char *const hook_events[] = {
    "BeforeBlockTraffic", "AfterBlockTraffic",  "ApplicationStop",
    "BeforeInstall",      "AfterInstall",       "ApplicationStart",
    "ValidateService",    "BeforeAllowTraffic", "AfterAllowTraffic",
};
#define N_HOOK_EVENTS (sizeof(hook_events) / sizeof(hook_events[0]))

enum revision_choice { REV_CURRENT, REV_LAST_SUCCESSFUL, REV_MOST_RECENT };

static bool is_hook_event(const char *c)
{
    for (size_t i = 0; i < N_HOOK_EVENTS; i++)
        if (strcmp(c, hook_events[i]) == 0)
            return true;
    return false;
}

void executor_opts_from_config(const struct config *cfg, struct executor_opts *ret)
{
    *ret = (struct executor_opts){
        .root_dir = cfg->root_dir,
        .program_name = cfg->program_name,
        .max_revisions = (unsigned)cfg->max_revisions,
        .max_bundle_bytes = cfg->max_bundle_extracted_bytes,
        .max_bundle_entries = cfg->max_bundle_entries,
        .allow_setid = !cfg->reject_unsafe_permissions_in_bundle,
        .restore_owner = !cfg->ignore_ownership_in_bundle,
        .reject_links = cfg->reject_symlinks_in_bundle,
        .hook_output_grace_s = cfg->hook_output_grace_seconds,
        .enable_deployments_log = cfg->enable_deployments_log,
        .enable_archive_reuse = cfg->enable_archive_reuse,
        .s3_endpoint_override = cfg->s3_endpoint_override,
        .use_fips = cfg->use_fips_mode,
        .proxy_uri = cfg->proxy_uri,
        .s3_connections = (int)cfg->s3_download_connections,
        .s3_part_bytes = cfg->s3_download_part_size_mb << 20,
        .min_rate_bps = cfg->download_min_rate_bytes_per_second,
        .min_rate_window_ms = cfg->download_min_rate_window_seconds * 1000,
        .hook_logs_s3_uri = cfg->hook_logs_s3_uri,
        .hook_logs_max_bytes = cfg->hook_logs_max_bytes,
        .max_revisions_disk_bytes = (uint64_t)cfg->max_revisions_disk_mb * 1024 * 1024,
        .bundle_expansion_allowance = (unsigned)cfg->bundle_expansion_allowance,
        .bundle_signing_public_keys = cfg->bundle_signing_public_keys,
    };
}

bool executor_command_supported(const struct executor_opts *o, const char *command)
{
    if (!command || !*command)
        return false;
    if (strcmp(command, "DownloadBundle") == 0 || strcmp(command, "Install") == 0)
        return true;
    if (is_hook_event(command))
        return true;
    /* codedeploy-local runs custom events as hooks; the service never sends them. */
    return o->local && strcmp(command, "BlockTraffic") != 0 && strcmp(command, "AllowTraffic") != 0;
}

/* which revision's scripts an event runs. */
static enum revision_choice choose_revision(const char *event, const struct deploy_spec *spec)
{
    bool bg_rollback = spec_is_blue_green_rollback(spec);
    bool block =
        strcmp(event, "BeforeBlockTraffic") == 0 || strcmp(event, "AfterBlockTraffic") == 0;
    if (bg_rollback) {
        if (block)
            return REV_MOST_RECENT;
        if (strcmp(event, "ApplicationStop") == 0 || strcmp(event, "BeforeAllowTraffic") == 0 ||
            strcmp(event, "AfterAllowTraffic") == 0)
            return REV_LAST_SUCCESSFUL;
        return REV_CURRENT;
    }
    if (block || strcmp(event, "ApplicationStop") == 0)
        return REV_LAST_SUCCESSFUL;
    return REV_CURRENT;
}

/*
 * The deployment directory whose scripts run for event, or NULL for a no-op (no previous
 * revision).  *ret_state_file names the instructions file it came from (R-097 message), or NULL.
 */
static int select_revision_dir(const struct executor_opts *o, const char *event,
                               const struct deploy_spec *spec, char **ret_dir,
                               char **ret_state_file, struct err *err)
{
    AUTOFREE char *cur =
        layout_deployment_dir(o->root_dir, spec->deployment_group_id, spec->deployment_id);
    enum revision_choice c = choose_revision(event, spec);
    *ret_dir = NULL;
    *ret_state_file = NULL;
    if (c == REV_CURRENT) {
        *ret_dir = TAKE_PTR(cur);
        return 0;
    }
    AUTOFREE char *archive = layout_archive_dir(cur);
    if (dir_exists(archive)) {
        *ret_dir = TAKE_PTR(cur);
        return 0;
    }
    char *prev = NULL;
    int r = c == REV_MOST_RECENT
                ? layout_read_most_recent(o->root_dir, spec->deployment_group_id, &prev, err)
                : layout_read_last_successful(o->root_dir, spec->deployment_group_id, &prev, err);
    if (r < 0)
        return -1;
    if (!prev)
        return 0;
    *ret_dir = prev;
    *ret_state_file = c == REV_MOST_RECENT
                          ? layout_most_recent_path(o->root_dir, spec->deployment_group_id)
                          : layout_last_successful_path(o->root_dir, spec->deployment_group_id);
    return 0;
}

/* Load the AppSpec of a revision directory (R-128/R-129 resolution for every consumer). */
static int load_appspec(const char *revision_dir, const struct deploy_spec *spec,
                        struct appspec **ret, struct err *err)
{
    AUTOFREE char *archive = layout_archive_dir(revision_dir);
    AUTOFREE char *path = NULL;
    if (!dir_exists(archive)) {
        /* a recorded revision that is gone fails with the R-130 text naming it. */
        return appspec_not_found(archive, spec->appspec_filename, err);
    }
    if (appspec_find(archive, spec->appspec_filename, &path, err) < 0)
        return -1;
    if (appspec_load(path, ret, err) < 0)
        return -1;
    for (size_t i = 0; i < (*ret)->n_warnings; i++)
        log_warn("%s", (*ret)->warnings[i]);
    return 0;
}

int executor_is_noop(const struct executor_opts *o, const char *command,
                     const struct deploy_spec *spec, bool *ret, struct err *err)
{
    if (strcmp(command, "DownloadBundle") == 0 || strcmp(command, "Install") == 0) {
        *ret = false;
        return 0;
    }
    if (!executor_command_supported(o, command)) {
        *ret = true;
        return 0;
    }
    AUTOFREE char *dir = NULL;
    AUTOFREE char *state = NULL;
    if (select_revision_dir(o, command, spec, &dir, &state, err) < 0)
        return -1;
    if (!dir) {
        *ret = true;
        return 0;
    }
    struct appspec *as = NULL;
    if (load_appspec(dir, spec, &as, err) < 0)
        return -1;
    size_t n = 0;
    (void)appspec_hooks_for(as, command, &n);
    appspec_free(as);
    *ret = n == 0;
    return 0;
}

static void progress(const struct executor_opts *o, enum executor_phase ph,
                     const struct deploy_spec *spec, const char *command, const char *script,
                     uint64_t done, uint64_t total, double rate)
{
    if (!o->progress)
        return;
    struct executor_progress p = {ph, spec->deployment_id, command, script, done, total, rate};
    o->progress(o->progress_arg, &p);
}

/* ---- DownloadBundle (§9) ---- */

struct dl_ctx {
    const struct executor_opts *o;
    const struct deploy_spec *spec;
    uint64_t last_log_ms;
};

static void dl_progress(void *arg, uint64_t done, uint64_t total, double rate)
{
    struct dl_ctx *c = arg;
    progress(c->o, EXEC_PHASE_BYTES, c->spec, "DownloadBundle", NULL, done, total, rate);
    uint64_t now = now_ms();
    if (now - c->last_log_ms >= 10000) {
        c->last_log_ms = now;
        log_info("Downloading bundle: %llu of %llu bytes (%.1f MB/s)", (unsigned long long)done,
                 (unsigned long long)total, rate / 1e6);
    }
}

/* Download the S3 or GitHub revision to bundle; for S3, *ret_etag gets the ETag S3 returned
 * (unquoted, NULL if none; caller frees), and a tar/tgz is extracted to ex->dest on the way
 * (*ret_extracted). */
static int fetch_remote(const struct executor_opts *o, const struct deploy_spec *spec,
                        const char *bundle, const struct bundle_extract *ex, char **ret_etag,
                        bool *ret_extracted, struct err *err)
{
    const struct spec_revision *rev = &spec->revision;
    struct http_client_opts ho = {
        .proxy_uri = o->proxy_uri, .read_timeout_ms = 80000, .stop = o->stop, .wire = o->wire};
    struct http_client *http = http_client_new(&ho, err);
    if (!http)
        return -1;
    struct dl_ctx dc = {o, spec, now_ms()};
    struct bundle_result res = {0};
    int r = preflight_before_download(o, spec, http, err);
    if (r < 0) {
        http_client_free(http);
        return -1;
    }
    if (rev->type == SPEC_REV_S3) {
        if (!o->creds) {
            http_client_free(http);
            return err_set(err, ERR_AUTH, "S3 GetObject s3://%s/%s: no AWS credentials available",
                           rev->bucket, rev->key);
        }
        struct bundle_s3_source src = {rev->bucket, rev->key, rev->version, rev->etag};
        struct bundle_s3_opts so = {.region = o->region,
                                    .domain = o->domain,
                                    .endpoint_override = o->s3_endpoint_override,
                                    .use_fips = o->use_fips,
                                    .creds = o->creds,
                                    .http = http,
                                    .max_bytes = o->max_bundle_bytes,
                                    .progress = dl_progress,
                                    .progress_arg = &dc,
                                    .http_opts = &ho,
                                    .connections = o->s3_connections,
                                    .part_bytes = o->s3_part_bytes,
                                    .min_rate_bps = o->min_rate_bps,
                                    .rate_window_ms = o->min_rate_window_ms,
                                    .extract = ex->fmt != UNPACK_ZIP ? ex : NULL};
        log_info("Downloading s3://%s/%s%s%s", rev->bucket, rev->key,
                 rev->version ? " version " : "", rev->version ? rev->version : "");
        r = bundle_fetch_s3(&src, &so, bundle, &res, err);
    } else {
        struct bundle_github_source src = {rev->account, rev->repository, rev->commit_id,
                                           rev->bundle_type_name, spec->github_access_token};
        struct bundle_github_opts go = {.api_base = o->github_api_base,
                                        .http = http,
                                        .max_bytes = o->max_bundle_bytes,
                                        .progress = dl_progress,
                                        .progress_arg = &dc};
        log_info("Downloading GitHub %s/%s at %s", rev->account, rev->repository, rev->commit_id);
        r = bundle_fetch_github(&src, &go, bundle, &res, err);
    }
    if (r == 0) {
        log_info("Downloaded %llu bytes", (unsigned long long)res.size);
        metrics_downloaded(res.size);
        r = preflight_verify_signature(o, spec, http, bundle, err);
        if (r == 0 && rev->type == SPEC_REV_S3)
            *ret_etag = TAKE_PTR(res.etag);
        if (res.extracted)
            log_info("Unpacked %llu entries (%llu bytes) into %s while downloading",
                     (unsigned long long)res.unpacked.entries,
                     (unsigned long long)res.unpacked.bytes, ex->dest);
    }
    *ret_extracted = r == 0 && res.extracted;
    bundle_result_done(&res);
    http_client_free(http);
    return r;
}

struct unpack_ctx {
    const struct executor_opts *o;
    const struct deploy_spec *spec;
    uint64_t start_us;
};

static void unpack_progress(void *arg, uint64_t bytes, uint64_t entries)
{
    (void)entries;
    struct unpack_ctx *c = arg;
    double secs = (double)(now_usec() - c->start_us) / 1e6;
    progress(c->o, EXEC_PHASE_UNPACK, c->spec, "DownloadBundle", NULL, bytes, 0,
             secs > 0 ? (double)bytes / secs : 0);
}

static void unpack_warn(void *ctx, const char *msg)
{
    (void)ctx;
    log_warn("%s", msg);
}

static void prune_old_revisions(const struct executor_opts *o, const struct deploy_spec *spec)
{
    unsigned removed = 0;
    struct err pe = ERR_INIT;
    if (layout_prune_revisions(o->root_dir, spec->deployment_group_id, spec->deployment_id,
                               o->max_revisions ? o->max_revisions : 5, &removed, &pe) < 0)
        log_warn("Removing old revisions: %s, ignoring", pe.msg);
    else if (removed)
        log_info("Removed %u old revision(s) of deployment group %s", removed,
                 spec->deployment_group_id);
}

/* V-050: true when the archive of ReuseArchiveFromDeploymentId now serves this deployment;
 * any problem is logged and means a normal download (nothing half-built is left). */
static bool try_reuse(const struct executor_opts *o, const struct deploy_spec *spec)
{
    const char *from = spec->reuse_archive_from;
    if (!from || !*from)
        return false;
    if (!o->enable_archive_reuse) {
        log_info("Archive reuse from deployment %s is off (:enable_archive_reuse: false), "
                 "downloading the bundle",
                 from);
        return false;
    }
    struct reuse_request r = {.root_dir = o->root_dir,
                              .group_id = spec->deployment_group_id,
                              .deployment_id = spec->deployment_id,
                              .source_id = from,
                              .appspec_filename = spec->appspec_filename,
                              .allow_local_ids = o->local,
                              .reject_links = o->reject_links,
                              .allow_setid = o->allow_setid};
    struct err e = ERR_INIT;
    if (reuse_archive(&r, &e) < 0) {
        log_warn("Cannot reuse the archive of deployment %s: %s; downloading the bundle instead",
                 from, e.msg);
        return false;
    }
    log_info("Reused the archive of deployment %s (no download)", from);
    return true;
}

static void unpack_opts_of(const struct executor_opts *o, struct unpack_opts *ret)
{
    *ret = (struct unpack_opts){.max_bytes = o->max_bundle_bytes,
                                .max_entries = o->max_bundle_entries,
                                .allow_setid = o->allow_setid,
                                .restore_owner = o->restore_owner,
                                .reject_links = o->reject_links,
                                .warn = unpack_warn};
}

/* Put the revision's bundle in place (or, for a local directory, its archive); *ret_extracted
 * when a tar/tgz from S3 was extracted while it downloaded. */
static int obtain_bundle(const struct executor_opts *o, const struct deploy_spec *spec,
                         const char *dep_dir, bool *ret_extracted, struct err *err)
{
    const struct spec_revision *rev = &spec->revision;
    AUTOFREE char *bundle = layout_bundle_path(dep_dir);
    if (rev->type == SPEC_REV_LOCAL_DIRECTORY) {
        /* copy, not link, so later ApplicationStop runs still find the revision. */
        AUTOFREE char *archive = layout_archive_dir(dep_dir);
        return rm_rf(archive, err) < 0 || copytree(rev->location, archive, err) < 0 ? -1 : 0;
    }
    if (rev->type == SPEC_REV_LOCAL_FILE) {
        if (preflight_before_download(o, spec, NULL, err) < 0)
            return -1;
        (void)unlink(bundle);
        if (symlink(rev->location, bundle) < 0 && copy_file(rev->location, bundle, err) < 0)
            return -1;
        return 0;
    }
    AUTOFREE char *etag = NULL;
    AUTOFREE char *archive = layout_archive_dir(dep_dir);
    struct unpack_opts uo;
    unpack_opts_of(o, &uo);
    struct bundle_extract ex = {unpack_format_from_type(rev->bundle_type_name), archive, &uo};
    if (fetch_remote(o, spec, bundle, &ex, &etag, ret_extracted, err) < 0)
        return -1;
    struct err me = ERR_INIT;
    /* V-049 step 5 / V-051: the ETag S3 returned, for BUNDLE_ETAG (V-042). */
    if (rev->type == SPEC_REV_S3 && bundlemeta_write_etag(dep_dir, etag, &me) < 0)
        log_warn("Writing %s: %s, ignoring", BUNDLEMETA_ETAG_FILE, me.msg);
    return 0;
}

/* Unpack the bundle unless it was extracted while downloading, then R-127. */
static int unpack_bundle(const struct executor_opts *o, const struct deploy_spec *spec,
                         const char *dep_dir, bool extracted, struct err *err)
{
    AUTOFREE char *bundle = layout_bundle_path(dep_dir);
    AUTOFREE char *archive = layout_archive_dir(dep_dir);
    struct unpack_ctx uc = {o, spec, now_usec()};
    struct unpack_opts uo;
    unpack_opts_of(o, &uo);
    uo.progress = unpack_progress;
    uo.progress_ctx = &uc;
    struct unpack_stats st = {0};
    if (!extracted) {
        if (unpack_archive(bundle, unpack_format_from_type(spec->revision.bundle_type_name),
                           archive, &uo, &st, err) < 0)
            return -1;
        log_info("Unpacked %llu entries (%llu bytes) into %s", (unsigned long long)st.entries,
                 (unsigned long long)st.bytes, archive);
    }
    bool stripped = false;
    if (unpack_strip_top_dir(archive, &stripped, err) < 0)
        return -1;
    if (stripped)
        log_info("Stripping leading directory from archive bundle contents.");
    return 0;
}

/* DownloadBundle in V-049's order: retention, reuse or download, the .bundle-source marker
 * (always; the completion note is read back from it, V-009), unpack unless reused. */
static int do_download(const struct executor_opts *o, const struct deploy_spec *spec,
                       const char *dep_dir, struct err *err)
{
    prune_old_revisions(o, spec);
    bool reused = try_reuse(o, spec), extracted = false;
    if (!reused && obtain_bundle(o, spec, dep_dir, &extracted, err) < 0)
        return -1;
    struct err me = ERR_INIT;
    if (bundlemeta_write_source(
            dep_dir, reused ? BUNDLEMETA_SOURCE_REUSE : BUNDLEMETA_SOURCE_DOWNLOADED, &me) < 0)
        log_warn("Writing %s: %s, ignoring", BUNDLEMETA_SOURCE_FILE, me.msg);
    /* V-049 step 4: the agent file mode, never through a local-file symlink. */
    AUTOFREE char *bundle = layout_bundle_path(dep_dir);
    struct stat st;
    if (!reused && lstat(bundle, &st) == 0 && S_ISREG(st.st_mode) &&
        chmod(bundle, LAYOUT_FILE_MODE) < 0)
        log_warn("Setting the mode of %s: %s, ignoring", bundle, strerror(errno));
    if (!reused && spec->revision.type != SPEC_REV_LOCAL_DIRECTORY &&
        unpack_bundle(o, spec, dep_dir, extracted, err) < 0)
        return -1;
    return layout_record_most_recent(o->root_dir, spec->deployment_group_id, dep_dir, err);
}

/* ---- Install (§12) ---- */

static void install_note(void *ctx, const char *msg)
{
    (void)ctx;
    log_info("%s", msg);
}

static int do_install(const struct executor_opts *o, const struct deploy_spec *spec,
                      const char *dep_dir, struct err *err)
{
    struct appspec *as = NULL;
    if (load_appspec(dep_dir, spec, &as, err) < 0)
        return -1;
    int r = 0;
    if (spec->has_all_lifecycle_events) {
        r = appspec_check_events(as, (const char *const *)spec->all_lifecycle_events,
                                 spec->n_all_lifecycle_events, hook_events, N_HOOK_EVENTS, err);
    }
    AUTOFREE char *archive = layout_archive_dir(dep_dir);
    if (r == 0) {
        struct install_opts io = {.root_dir = o->root_dir,
                                  .group_id = spec->deployment_group_id,
                                  .deployment_dir = dep_dir,
                                  .archive_dir = archive,
                                  .spec_file_exists_behavior = spec->file_exists_behavior,
                                  .note = install_note};
        r = install_run(as, &io, err);
    }
    appspec_free(as);
    return r;
}

/* ---- hooks (§11) ---- */

static void script_started(void *arg, const char *location)
{
    const void *const *a = arg;
    const struct executor_opts *o = a[0];
    const struct deploy_spec *spec = a[1];
    const char *event = a[2];
    progress(o, EXEC_PHASE_SCRIPT, spec, event, location, 0, 0, 0);
}

/* say where a failing previous-revision script came from and how to get past it. */
static void blame_previous_revision(struct exec_result *ret, const char *state_file)
{
    char *m = xasprintf("%s (this script belongs to the previous revision recorded in %s; "
                        "redeploy with --ignore-application-stop-failures or remove that file to "
                        "skip it)",
                        ret->message ? ret->message : "", state_file);
    free(ret->message);
    ret->message = m;
}

static void do_hooks(const struct executor_opts *o, const char *event,
                     const struct deploy_spec *spec, const char *dep_dir, struct exec_result *ret)
{
    struct err err = ERR_INIT;
    AUTOFREE char *rev_dir = NULL;
    AUTOFREE char *state_file = NULL;
    struct appspec *as = NULL;
    if (select_revision_dir(o, event, spec, &rev_dir, &state_file, &err) < 0)
        goto fail;
    if (!rev_dir) {
        log_info("No previous revision for deployment group %s: %s has nothing to run",
                 spec->deployment_group_id, event);
        ret->noop = true;
        ret->succeeded = true;
        return;
    }
    if (load_appspec(rev_dir, spec, &as, &err) < 0)
        goto fail;
    size_t n = 0;
    const struct appspec_script *scripts = appspec_hooks_for(as, event, &n);
    if (n == 0) {
        ret->noop = true;
        ret->succeeded = true;
        appspec_free(as);
        return;
    }
    const void *cb_arg[3] = {o, spec, event};
    struct hookrun_opts ho = {
        .event = event,
        .revision_dir = rev_dir,
        .deployment_dir = dep_dir,
        .spec = spec,
        .root_dir = o->root_dir,
        .program_name = o->program_name,
        .scripts = scripts,
        .n_scripts = n,
        .output_grace_s = o->hook_output_grace_s,
        .enable_deployments_log = o->enable_deployments_log,
        .stop = o->stop,
        .env = o->hookenv,
        .script_started = script_started,
        .cb_arg = (void *)cb_arg,
    };
    hookrun_event(&ho, ret);
    appspec_free(as);
    if (!ret->succeeded && state_file)
        blame_previous_revision(ret, state_file);
    return;
fail:
    appspec_free(as);
    ret->succeeded = false;
    ret->error_code = err_diag_code(&err);
    free(ret->message);
    ret->message = xstrdup(err.msg);
    if (state_file)
        blame_previous_revision(ret, state_file);
}

static void set_error(struct exec_result *ret, const struct err *e)
{
    ret->succeeded = false;
    ret->error_code = err_diag_code(e);
    if (ret->error_code == 0)
        ret->error_code = ERR_UNKNOWN;
    free(ret->message);
    ret->message = xstrdup(e->msg[0] ? e->msg : "unknown error");
}

void executor_run(const struct executor_opts *o, const char *command,
                  const struct deploy_spec *spec, struct exec_result *ret)
{
    memset(ret, 0, sizeof(*ret));
    struct err err = ERR_INIT;
    uint64_t t0 = now_ms(), mark = 0;
    log_ctx_set(spec->deployment_id, command);
    progress(o, EXEC_PHASE_START, spec, command, NULL, 0, 0, 0);
    AUTOFREE char *dep_dir = NULL;
    if (!executor_command_supported(o, command)) {
        err_set(&err, ERR_UNSUPPORTED, "Unsupported command type: %s.", command ? command : "");
        set_error(ret, &err);
        goto out;
    }
    if (layout_make_deployment_dir(o->root_dir, spec->deployment_group_id, spec->deployment_id,
                                   &dep_dir, &err) < 0) {
        /* R-090's exact text; the reason goes to the agent log. */
        log_err(LOG_PRIO_ERR, &err, "Creating the deployment directory");
        struct err e2 = ERR_INIT;
        err_set(&e2, err.code, "Error creating deployment root directory %s/%s/%s", o->root_dir,
                spec->deployment_group_id, spec->deployment_id);
        set_error(ret, &e2);
        goto out;
    }
    mark = record_command_start(dep_dir);
    if (strcmp(command, "DownloadBundle") == 0) {
        if (do_download(o, spec, dep_dir, &err) < 0) {
            set_error(ret, &err);
        } else {
            ret->succeeded = true;
            ret->note = bundlemeta_note(dep_dir);
        }
    } else if (strcmp(command, "Install") == 0) {
        if (do_install(o, spec, dep_dir, &err) < 0)
            set_error(ret, &err);
        else
            ret->succeeded = true;
    } else {
        do_hooks(o, command, spec, dep_dir, ret);
    }
out:
    if (!ret->script_name)
        ret->script_name = xstrdup("");
    if (!ret->message)
        ret->message = xstrdup("");
    if (!ret->log)
        ret->log = xstrdup("");
    if (ret->succeeded)
        log_info("%s succeeded in %.1f s%s", command, (double)(now_ms() - t0) / 1000.0,
                 ret->noop ? " (nothing to run)" : "");
    else
        log_error("%s failed (%s): %s", command, err_code_name(ret->error_code), ret->message);
    if (dep_dir)
        record_command_end(o, command, spec, dep_dir, ret, mark, now_ms() - t0);
    progress(o, EXEC_PHASE_END, spec, command, NULL, 0, 0, 0);
    /* the context stays: the caller's completion lines belong to this command too */
}

char *executor_diag_json(const struct exec_result *r)
{
    if (r->succeeded && r->note) {
        AUTOFREE char *msg = xasprintf(DIAG_SUCCESS_MESSAGE "%s", r->note);
        return diag_payload(0, "", msg, "", 0, 0);
    }
    if (r->succeeded)
        return diag_success_payload();
    return diag_payload(r->error_code, r->script_name, r->message, r->log,
                        r->log ? strlen(r->log) : 0, 0);
}
