/* localrun: see localrun.h. */
#include "cli/localrun.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse/appspec.h"
#include "parse/config.h"
#include "run/executor.h"
#include "deploy/grouplock.h"
#include "hook/hookenv.h"
#include "aws/identity.h"
#include "deploy/layout.h"
#include "cli/local.h"
#include "cli/localcheck.h"
#include "base/log.h"
#include "parse/lint.h"
#include "parse/spec.h"
#include "base/fsutil.h"
#include "base/util.h"
#include "run/progress.h"

struct display {
    bool tty;
    uint64_t event_start_ms;
    uint64_t bytes_shown_ms;         /* last progress output */
    bool bar_drawn;                  /* a progress bar is on the current line */
    enum executor_phase shown_phase; /* of the last progress output */
};

static const char *col(const struct display *d, const char *code)
{
    return d->tty ? code : "";
}

/* Download and unpack progress: redrawn in place on a terminal, a plain line every few seconds
 * otherwise (issue 16 item 3). */
static void show_bytes(struct display *d, const struct executor_progress *p)
{
    uint64_t now = now_ms();
    bool first = p->phase != d->shown_phase;
    bool last = p->total && p->done >= p->total;
    if (!first && !last && now - d->bytes_shown_ms < (d->tty ? 200 : PROGRESS_PLAIN_INTERVAL_MS))
        return;
    d->shown_phase = p->phase;
    d->bytes_shown_ms = now;
    char text[200];
    if (p->phase == EXEC_PHASE_UNPACK)
        progress_unpack(text, sizeof(text), p->done, p->rate_bps);
    else if (d->tty)
        progress_bar(text, sizeof(text), p->done, p->total, p->rate_bps);
    else
        progress_line(text, sizeof(text), p->done, p->total, p->rate_bps);
    if (d->tty) {
        printf("\r\033[K%s%s", p->phase == EXEC_PHASE_UNPACK ? "" : "    ", text);
        d->bar_drawn = true;
    } else {
        printf("%s\n", text);
    }
    fflush(stdout);
}

static const char *local_host_name(char *buf, size_t n)
{
    if (gethostname(buf, n) < 0 || !buf[0])
        (void)snprintf(buf, n, "localhost");
    buf[n - 1] = '\0';
    return buf;
}

static void on_progress(void *arg, const struct executor_progress *p)
{
    struct display *d = arg;
    if (p->phase == EXEC_PHASE_BYTES || p->phase == EXEC_PHASE_UNPACK) {
        show_bytes(d, p);
        return;
    }
    if (d->bar_drawn) {
        printf("\n");
        d->bar_drawn = false;
    }
    /* Each event is named once, on its result line (issue 17); long scripts show progress. */
    if (p->phase == EXEC_PHASE_START)
        d->event_start_ms = now_ms();
    else if (p->phase == EXEC_PHASE_SCRIPT)
        printf("    %s: running %s\n", p->command, p->script);
    fflush(stdout);
}

static void print_help(const char *config_file)
{
    struct config cfg;
    config_init(&cfg);
    const char *root = cfg.root_dir;
    struct config loaded;
    bool have = config_load(config_file, &loaded, NULL) == 0;
    if (have)
        root = loaded.root_dir;
    printf(
        "Usage: codedeploy-local [options] [validate]\n\n"
        "Deploys a revision on this host without the CodeDeploy service, running the same\n"
        "lifecycle events as the agent. Deployments go under %s.\n\n"
        "  -l, --bundle-location LOC       directory, archive, "
        "s3://bucket/key[?versionId=V&etag=E]\n"
        "                                  or a GitHub URL (default: the current directory)\n"
        "  -t, --type TYPE                 tgz, tar, zip or directory (default: directory)\n"
        "  -b, --file-exists-behavior B    DISALLOW, OVERWRITE or RETAIN (default: DISALLOW)\n"
        "  -g, --deployment-group ID       deployment group id (default: %s)\n"
        "  -d, --deployment-group-name N   DEPLOYMENT_GROUP_NAME for hooks (default: %s)\n"
        "  -a, --application-name NAME     APPLICATION_NAME for hooks (default: the location)\n"
        "  -e, --events E1,E2,...          events to run, in order (default: all 11)\n"
        "  -c, --agent-configuration-file F  agent config (default: %s)\n"
        "  -A, --appspec-filename NAME     AppSpec file name (default: appspec.yml, then .yaml)\n"
        "      --restart                   restart the group's last successful revision from its\n"
        "                                  archive on this host, as agent 2.1's restart\n"
        "                                  deployments do; the bundle location is used only\n"
        "                                  when that archive cannot be reused\n"
        "  -h, --help                      this help\n"
        "  -v, --version                   print the version\n\n"
        "  validate [--json]               list every problem a deployment of the bundle would\n"
        "                                  hit, run nothing; exit 1 on errors, 0 on warnings\n",
        root, LOCAL_DEFAULT_GROUP, LOCAL_DEFAULT_GROUP_NAME, LOCAL_DEFAULT_CONFIG);
    if (have)
        config_done(&loaded);
    config_done(&cfg);
}

/* Print the last lines of the failing event's output. */
static void print_tail(const char *log)
{
    if (!log || !*log)
        return;
    size_t n = strlen(log);
    int lines = 0;
    size_t start = n;
    while (start > 0 && lines < 11) {
        start--;
        if (log[start] == '\n')
            lines++;
    }
    if (log[start] == '\n')
        start++;
    printf("    last output:\n");
    const char *p = log + start;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        printf("      | %.*s\n", (int)len, p);
        if (!e)
            break;
        p = e + 1;
    }
}

/*
 * Issue 17: a script that "does not exist" although it does names a missing interpreter on
 * line 1, often "/bin/bash\r" from a Windows editor.  "; hint: ..." into out, or "".
 */
static void interp_hint(const char *folder, const char *script, char *out, size_t outsz)
{
    out[0] = '\0';
    AUTOFREE char *path = xasprintf("%s/deployment-archive/%s", folder, script);
    char head[512];
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    size_t n = fread(head, 1, sizeof(head), f);
    fclose(f);
    struct lint_shebang sb;
    lint_shebang(head, n, &sb);
    if (!sb.present || (sb.interp[0] == '/' && access(sb.interp, X_OK) == 0))
        return;
    char msg[512];
    lint_interp_message(&sb, msg, sizeof(msg));
    snprintf(out, outsz, "; hint: %s", msg);
}

static int run_events(const struct localrun_ops *ops, const struct deploy_spec *spec, char **events,
                      size_t n, struct executor_opts *eo, const char *folder, struct display *disp)
{
    uint64_t t0 = now_ms();
    for (size_t i = 0; i < n; i++) {
        struct exec_result res;
        ops->execute(eo, events[i], spec, &res);
        double secs = (double)(now_ms() - disp->event_start_ms) / 1000.0;
        if (res.succeeded) {
            printf("    %s%s%s %s (%.1f s)%s%s%s\n", col(disp, "\033[32m"), "ok",
                   col(disp, "\033[0m"), events[i], secs, res.noop ? ", nothing to run" : "",
                   res.note ? ", " : "", res.note ? res.note : "");
            exec_result_done(&res);
            continue;
        }
        bool script = res.script_name && *res.script_name && res.error_code >= 1 &&
                      res.error_code <= 7 && res.error_code != 5;
        char hint[600] = "";
        if (script)
            interp_hint(folder, res.script_name, hint, sizeof(hint));
        /* The message once: here for a script (R-212 names only its path below), else in the
         * "ERROR:" line. */
        printf("    %sFAILED%s %s (%.1f s)%s%s%s\n", col(disp, "\033[31m"), col(disp, "\033[0m"),
               events[i], secs, script ? ": " : "", script ? res.message : "", hint);
        print_tail(res.log);
        fflush(stdout);
        if (script)
            fprintf(stderr,
                    "Your local deployment failed while trying to execute your script "
                    "at %s/deployment-archive/%s\n",
                    folder, res.script_name);
        else
            fprintf(stderr, "ERROR: %s\n", res.message);
        fprintf(stderr, "See the deployment log at %s/logs/scripts.log for more details\n", folder);
        exec_result_done(&res);
        return 1;
    }
    printf("Deployment %s: %zu events in %.1f s; scripts output in %s/logs/scripts.log\n",
           spec->deployment_id, n, (double)(now_ms() - t0) / 1000.0, folder);
    printf("AppSpec file valid. Local deployment successful\n");
    return 0;
}

static void print_problem(const struct display *d, const struct lint_problem *p)
{
    bool err = p->severity == LINT_ERROR;
    if (p->line > 0)
        printf("%s:%d: ", p->file, p->line);
    else
        printf("%s: ", p->file);
    printf("%s%s%s: %s\n", col(d, err ? "\033[1;31m" : "\033[1;33m"), err ? "error" : "warning",
           col(d, "\033[0m"), p->message);
    if (p->quote)
        printf("    %5d | %s\n", p->line, p->quote);
    if (p->fix)
        printf("    %sfix:%s %s\n", col(d, "\033[1m"), col(d, "\033[0m"), p->fix);
}

/* Exit status 1 on any error, 0 with warnings only (issue 17). */
static int validate_bundle(const struct local_opts *o, const struct local_bundle *b)
{
    if (b->kind != LOCAL_KIND_DIRECTORY) {
        fprintf(stderr, "ERROR: validate works on a directory bundle; unpack the archive first\n");
        return 1;
    }
    struct config cfg;
    bool have_cfg = config_load(o->config_file, &cfg, NULL) == 0;
    struct localcheck_opts co = {.bundle_dir = b->location,
                                 .appspec_name = o->appspec_filename,
                                 .file_exists_behavior = o->file_exists_behavior,
                                 .root_dir = have_cfg ? cfg.root_dir : NULL,
                                 .group_id = o->group_id};
    struct lint_report r = {0};
    AUTOFREE char *path = NULL;
    localcheck_bundle(&co, &r, &path);
    size_t errors = lint_count(&r, LINT_ERROR), warnings = lint_count(&r, LINT_WARNING);
    if (o->json) {
        AUTOFREE char *json = local_report_json(&r, path);
        printf("%s\n", json);
    } else {
        struct display d = {.tty = isatty(STDOUT_FILENO) == 1};
        for (size_t i = 0; i < r.n; i++)
            print_problem(&d, &r.v[i]);
        const char *shown = path ? path : b->location;
        if (errors)
            printf("%zu error%s, %zu warning%s in %s: a deployment of this bundle would fail\n",
                   errors, errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s", shown);
        else if (warnings)
            printf("%s is valid, with %zu warning%s\n", shown, warnings, warnings == 1 ? "" : "s");
        else
            printf("%s is valid\n", shown);
    }
    lint_report_done(&r);
    if (have_cfg)
        config_done(&cfg);
    return errors ? 1 : 0;
}

/* --restart: the deployment id of the group's last successful revision, to be named as
 * ReuseArchiveFromDeploymentId (V-012, V-050) in the local spec. */
static int restart_source(const char *root_dir, const char *group_id, char **ret, struct err *err)
{
    AUTOFREE char *dir = NULL;
    if (layout_read_last_successful(root_dir, group_id, &dir, err) < 0)
        return -1;
    if (!dir)
        return err_set(err, ERR_NOT_FOUND,
                       "--restart: deployment group '%s' has no successful "
                       "deployment on this host to restart",
                       group_id);
    const char *base = strrchr(dir, '/');
    *ret = xstrdup(base ? base + 1 : dir);
    printf("Restarting deployment %s of deployment group %s from its archive on this host\n", *ret,
           group_id);
    return 0;
}

static int deploy(const struct localrun_ops *ops, const struct local_opts *o,
                  const struct local_bundle *b)
{
    struct config cfg;
    struct err e = ERR_INIT;
    if (config_load(o->config_file, &cfg, &e) < 0) {
        fprintf(stderr, "ERROR: %s\n", e.msg);
        return 1;
    }
    /* Other users must not be able to plant links where we write (issue 18 item 4). */
    if (layout_check_host_dirs(cfg.root_dir, cfg.ongoing_deployment_tracking, cfg.log_dir,
                               geteuid(), &e) < 0) {
        fprintf(stderr, "ERROR: %s\n", e.msg);
        return 1;
    }
    struct log_opts lo = {.program = "codedeploy-local",
                          .log_dir = cfg.log_dir,
                          .verbose = cfg.verbose,
                          .quiet_stderr = true};
    if (log_open(&lo, &e) < 0) {
        fprintf(stderr, "warning: %s; logging to stderr only\n", e.msg);
        err_clear(&e);
    }
    int rc = 1;
    char **events = NULL;
    size_t n = 0;
    struct deploy_spec *spec = NULL;
    struct identity id = {0};
    struct hookenv *env = NULL;
    int lock = -1;
    char id_buf[18];
    char hostbuf[256];
    AUTOFREE char *json = NULL;
    AUTOFREE char *folder = NULL;
    AUTOFREE char *reuse = NULL;
    struct local_opts so = *o; /* a borrowed copy that names the archive to reuse */
    if (local_events(o->events, &events, &n, &e) < 0)
        goto fail;
    local_new_deployment_id(id_buf);
    if (o->restart && restart_source(cfg.root_dir, o->group_id, &reuse, &e) < 0)
        goto fail;
    so.reuse_from = reuse;
    json = local_build_spec(&so, b, id_buf, events, n);
    struct spec_parse_opts po = {.allow_local_revisions = true};
    if (spec_load("TEXT/JSON", json, strlen(json), true, &po, &spec, &e) < 0)
        goto fail;
    bool need_id = b->kind == LOCAL_KIND_S3 || (cfg.hook_logs_s3_uri && *cfg.hook_logs_s3_uri);
    if (need_id && identity_init(&id, &cfg, false, NULL, &e) < 0)
        goto fail;
    if (b->kind == LOCAL_KIND_S3 && !id.creds) {
        err_set(&e, ERR_AUTH,
                "We were unable to download content from the Amazon S3 bucket due "
                "to missing or invalid credentials. For information about specifying your AWS "
                "credentials, see https://aws.amazon.com/blogs/security/"
                "a-new-and-standardized-way-to-manage-credentials-in-the-aws-sdks");
        goto fail;
    }
    struct hookenv_opts ho = {0};
    env = hookenv_new(&ho, NULL);
    if (!env) {
        struct hookenv_opts h2 = {.profile = ""};
        env = hookenv_new(&h2, &e);
        if (!env)
            goto fail;
    }
    lock = grouplock_acquire(cfg.root_dir, o->group_id, 0, NULL, &e);
    if (lock < 0)
        goto fail;
    folder = layout_deployment_dir(cfg.root_dir, o->group_id, spec->deployment_id);
    printf("Starting to execute deployment from within folder %s\n", folder);
    fflush(stdout);
    struct display disp = {.tty = isatty(STDOUT_FILENO) == 1};
    struct executor_opts eo;
    executor_opts_from_config(&cfg, &eo);
    eo.local = true;
    eo.region = id.region;
    eo.domain = id.domain;
    eo.creds = id.creds;
    eo.host_id =
        id.host_identifier ? id.host_identifier : local_host_name(hostbuf, sizeof(hostbuf));
    eo.hookenv = env;
    eo.progress = on_progress;
    eo.progress_arg = &disp;
    rc = run_events(ops, spec, events, n, &eo, folder, &disp);
    goto out;
fail:
    fprintf(stderr, "ERROR: %s\n", e.msg);
    if (folder)
        fprintf(stderr, "See the deployment log at %s/logs/scripts.log for more details\n", folder);
    rc = 1;
out:
    grouplock_release(lock);
    hookenv_free(env);
    identity_done(&id);
    spec_free(spec);
    local_events_free(events);
    log_close();
    config_done(&cfg);
    return rc;
}

static const struct localrun_ops localrun_ops_real = {.execute = executor_run};

int localrun_main(int argc, char **argv)
{
    return localrun_run(argc, argv, &localrun_ops_real);
}

int localrun_run(int argc, char **argv, const struct localrun_ops *ops)
{
    struct local_opts o;
    struct err e = ERR_INIT;
    if (local_parse_args(argc, argv, &o, &e) < 0) {
        fprintf(stderr, "ERROR: %s\nRun 'codedeploy-local --help' for the options.\n", e.msg);
        return 64;
    }
    int rc;
    if (o.help) {
        print_help(o.config_file);
        rc = 0;
    } else if (o.version) {
        printf("%s\n", LOCAL_VERSION);
        rc = 0;
    } else {
        struct local_bundle b = {0};
        if (local_validate(&o, &b, &e) < 0) {
            fprintf(stderr, "ERROR: %s\n", e.msg);
            rc = 1;
        } else {
            rc = o.validate_only ? validate_bundle(&o, &b) : deploy(ops, &o, &b);
        }
        local_bundle_done(&b);
    }
    local_opts_done(&o);
    return rc;
}
