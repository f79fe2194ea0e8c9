/*
 * run_hook: test driver that runs one lifecycle event through the real hook runner.
 *
 *   run_hook --archive DIR --event NAME [--log FILE] [--deployments-log FILE]
 *            [--deployment-id ID] [--grace-ms N] [--kill-grace-ms N] [--rotate-bytes N]
 *            [--profile FILE] [--payload FILE] [--no-scope] LOCATION[:TIMEOUT[:RUNAS]] ...
 *
 * Prints "key=value" lines on stdout: rc, code, script, message, elapsed_ms, maxrss_kb (VmHWM),
 * drains;
 * writes the diagnostics payload to --payload.  Exit 0 when the event succeeded, 1 when
 * it failed, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/diag.h"
#include "hook/hook.h"
#include "hook/hookenv.h"
#include "hook/scriptlog.h"
#include "base/fsutil.h"
#include "base/util.h"

static void warn_cb(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "WARN %s\n", msg);
}

static int usage(void)
{
    fprintf(stderr, "usage: run_hook --archive DIR --event NAME [options] LOCATION[:TIMEOUT[:RUNAS]]...\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *archive = NULL, *event = NULL, *logp = NULL, *dlog = NULL, *payload = NULL;
    const char *dep = "d-TESTDRIVER", *profile = "";
    int64_t grace = HOOK_OUTPUT_GRACE_MS, kgrace = HOOK_KILL_GRACE_MS;
    uint64_t rotate = 0;
    bool scope = true;
    struct hook_script scripts[64];
    size_t n = 0;
    char *specs[64];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--archive") && v) {
            archive = v;
            i++;
        } else if (!strcmp(a, "--event") && v) {
            event = v;
            i++;
        } else if (!strcmp(a, "--log") && v) {
            logp = v;
            i++;
        } else if (!strcmp(a, "--deployments-log") && v) {
            dlog = v;
            i++;
        } else if (!strcmp(a, "--deployment-id") && v) {
            dep = v;
            i++;
        } else if (!strcmp(a, "--grace-ms") && v) {
            grace = strtoll(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--kill-grace-ms") && v) {
            kgrace = strtoll(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--rotate-bytes") && v) {
            rotate = strtoull(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--profile") && v) {
            profile = v;
            i++;
        } else if (!strcmp(a, "--payload") && v) {
            payload = v;
            i++;
        } else if (!strcmp(a, "--no-scope")) {
            scope = false;
        } else if (a[0] == '-') {
            return usage();
        } else if (n < 64) {
            specs[n] = xstrdup(a);
            char *loc = specs[n];
            char *t = strchr(loc, ':');
            char *ru = NULL;
            uint64_t timeout = 0;
            if (t) {
                *t++ = '\0';
                ru = strchr(t, ':');
                if (ru)
                    *ru++ = '\0';
                timeout = strtoull(t, NULL, 10);
            }
            scripts[n] = (struct hook_script){loc, timeout, ru && *ru ? ru : NULL, false};
            n++;
        }
    }
    if (!archive || !event)
        return usage();

    struct err err = ERR_INIT;
    struct hookenv_opts eo = {.profile = profile};
    struct hookenv *env = hookenv_new(&eo, &err);
    if (!env) {
        fprintf(stderr, "hookenv: %s\n", err.msg);
        return 2;
    }
    struct hookenv_vars vars = {.lifecycle_event = event, .deployment_id = dep,
                                .application_name = "TestApp",
                                .deployment_group_name = "TestGroup",
                                .deployment_group_id = "0000-test-group"};
    char **envp = hookenv_build(env, &vars);
    struct scriptlog_opts so = {.path = logp, .deployments_log = dlog, .deployment_id = dep,
                                .rotate_bytes = rotate};
    struct scriptlog *log = scriptlog_new(&so);
    struct hook_event_opts ho = {.event = event, .archive_dir = archive, .scripts = scripts,
                                 .n_scripts = n, .envp = envp, .log = log,
                                 .output_grace_ms = grace, .kill_grace_ms = kgrace,
                                 .deployment_id = dep, .use_scope = scope, .warn = warn_cb};
    struct hook_event_result res;
    uint64_t t0 = now_ms();
    int rc = hook_run_event(&ho, &res, &err);
    uint64_t elapsed = now_ms() - t0;

    size_t tl;
    char *tail = scriptlog_tail(log, &tl);
    char *p = rc == 0 ? diag_success_payload()
                      : diag_payload(err_diag_code(&err), res.script_name, err.msg, tail, tl, 0);
    if (payload) {
        struct err werr = ERR_INIT;
        if (write_file_atomic(payload, p, strlen(p), 0644, &werr) < 0)
            fprintf(stderr, "payload: %s\n", werr.msg);
    }
    /* VmHWM, not ru_maxrss: the latter survives execve and would include our parent's size */
    long hwm_kb = -1;
    char *st = NULL;
    size_t stn;
    if (read_file("/proc/self/status", 1 << 16, &st, &stn, NULL) == 0) {
        const char *h = strstr(st, "VmHWM:");
        if (h)
            hwm_kb = strtol(h + 6, NULL, 10);
        free(st);
    }
    printf("rc=%d\ncode=%d\nscript=%s\nmessage=%s\nelapsed_ms=%llu\nmaxrss_kb=%ld\ndrains=%zu\n",
           rc, err_diag_code(&err), res.script_name ? res.script_name : "", rc ? err.msg : "",
           (unsigned long long)elapsed, hwm_kb, hook_drain_count());
    fflush(stdout);
    free(p);
    free(tail);
    hook_drain_shutdown(200);
    scriptlog_unref(log);
    hookenv_envp_free(envp);
    hookenv_free(env);
    for (size_t i = 0; i < n; i++)
        free(specs[i]);
    return rc == 0 ? 0 : 1;
}
