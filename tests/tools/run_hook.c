/*
 * run_hook: test driver that runs one lifecycle event's scripts through the real hook runner,
 * hook_run() per script in order, stopping at the first failure (as run/hookrun does, R-150).
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
#include "base/path.h"

static void warn_cb(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "WARN %s\n", msg);
}

struct script {
    const char *location;
    uint64_t timeout_s;
    const char *runas;
};

struct event {
    const char *name;
    const char *archive;
    const struct script *scripts;
    size_t n;
    char *const *envp;
    struct scriptlog *log;
    int64_t grace_ms, kill_grace_ms;
    const char *deployment_id; /* NULL: no scopes */
};

/* Run the scripts in order; the first failure stops the event.  Returns its location or NULL. */
static const char *run_event(const struct event *ev, int *rc, struct err *err)
{
    scriptlog_event(ev->log, ev->name);
    *rc = 0;
    for (size_t i = 0; i < ev->n; i++) {
        const struct script *s = &ev->scripts[i];
        const char *rel = s->location;
        while (*rel == '/')
            rel++; /* relative to the archive root even with a leading '/' */
        AUTOFREE char *path = path_join(ev->archive, rel);
        scriptlog_script(ev->log, s->location);
        struct hook_opts ho = {
            .path = path,
            .location = s->location,
            .runas = s->runas,
            .timeout_s = s->timeout_s,
            .envp = ev->envp,
            .log = ev->log,
            .output_grace_ms = ev->grace_ms,
            .kill_grace_ms = ev->kill_grace_ms,
            .scope_deployment_id = ev->deployment_id,
            .scope_event = ev->name,
            .warn = warn_cb,
        };
        if (hook_run(&ho, NULL, err) < 0) {
            *rc = -1;
            return s->location;
        }
    }
    return NULL;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: run_hook --archive DIR --event NAME [options] LOCATION[:TIMEOUT[:RUNAS]]...\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *archive = NULL, *event = NULL, *logp = NULL, *dlog = NULL, *payload = NULL;
    const char *dep = "d-TESTDRIVER", *profile = "";
    int64_t grace = HOOK_OUTPUT_GRACE_MS, kgrace = HOOK_KILL_GRACE_MS;
    uint64_t rotate = 0;
    bool scope = true;
    struct script scripts[64];
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
            scripts[n] = (struct script){loc, timeout, ru && *ru ? ru : NULL};
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
    struct hookenv_vars vars = {.lifecycle_event = event,
                                .deployment_id = dep,
                                .application_name = "TestApp",
                                .deployment_group_name = "TestGroup",
                                .deployment_group_id = "0000-test-group"};
    char **envp = hookenv_build(env, &vars);
    struct scriptlog_opts so = {
        .path = logp, .deployments_log = dlog, .deployment_id = dep, .rotate_bytes = rotate};
    struct scriptlog *log = scriptlog_new(&so);
    struct event ev = {.name = event,
                       .archive = archive,
                       .scripts = scripts,
                       .n = n,
                       .envp = envp,
                       .log = log,
                       .grace_ms = grace,
                       .kill_grace_ms = kgrace,
                       .deployment_id = scope ? dep : NULL};
    int rc;
    uint64_t t0 = now_ms();
    const char *failed = run_event(&ev, &rc, &err);
    uint64_t elapsed = now_ms() - t0;

    size_t tl;
    char *tail = scriptlog_tail(log, &tl);
    char *p = rc == 0 ? diag_success_payload()
                      : diag_payload(err_diag_code(&err), failed, err.msg, tail, tl, 0);
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
           rc, err_diag_code(&err), failed ? failed : "", rc ? err.msg : "",
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
