/* hookenv: see hookenv.h. */
#include "hook/hookenv.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hook/capture.h"
#include "base/util.h"

extern char **environ;

struct hookenv {
    char **base; /* owned; filtered "NAME=value" strings */
};

/* Exact names hooks never inherit (R-159, V-043, STYLE §8). */
static const char *const denied_names[] = {
    /* AWS credentials and tokens */
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_CREDENTIAL_FILE",
    "AWS_CREDENTIALS_FILE",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    /* systemd's per-service plumbing: meaningless or harmful in a hook */
    "NOTIFY_SOCKET",
    "WATCHDOG_PID",
    "WATCHDOG_USEC",
    "LISTEN_PID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
    "INVOCATION_ID",
    "JOURNAL_STREAM",
    "CREDENTIALS_DIRECTORY",
    "MAINPID",
    "MANAGERPID",
    "SYSTEMD_EXEC_PID",
    "TRIGGER_UNIT",
    "TRIGGER_PATH",
    "TRIGGER_TIMER_REALTIME_USEC",
    "TRIGGER_TIMER_MONOTONIC_USEC",
    "MONITOR_SERVICE_RESULT",
    "MONITOR_EXIT_CODE",
    "MONITOR_EXIT_STATUS",
    "MONITOR_INVOCATION_ID",
    "MONITOR_UNIT",
    "MEMORY_PRESSURE_WATCH",
    "MEMORY_PRESSURE_WRITE",
    /* shell bookkeeping from the capture itself */
    "_",
    "PWD",
    "OLDPWD",
    "SHLVL",
    NULL,
};

bool hookenv_name_denied(const char *name, size_t len)
{
    for (int i = 0; denied_names[i]; i++)
        if (strlen(denied_names[i]) == len && memcmp(denied_names[i], name, len) == 0)
            return true;
    return false;
}

void hookenv_envp_free(char **envp)
{
    strv_free(envp);
}

char **hookenv_parse_env0(const char *data, size_t len, struct err *err)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (data[i] == '\0')
            n++;
    char **v = xcalloc(n + 2, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        const char *e = memchr(data + i, '\0', len - i);
        size_t l = e ? (size_t)(e - (data + i)) : len - i;
        if (l > 0) {
            if (!memchr(data + i, '=', l) || data[i] == '=') {
                hookenv_envp_free(v);
                err_set(err, ERR_PARSE, "parse environment: entry %zu has no variable name", k + 1);
                return NULL;
            }
            v[k++] = xstrndup(data + i, l);
        }
        i += l + 1;
    }
    v[k] = NULL;
    return v;
}

static bool value_has_secret(const char *entry, const char *const *secrets)
{
    const char *val = strchr(entry, '=');
    if (!val || !secrets)
        return false;
    for (const char *const *s = secrets; *s; s++)
        if (strlen(*s) >= 4 && strstr(val + 1, *s))
            return true;
    return false;
}

/* Drop denied names, secret values and duplicates (the last assignment wins). */
static char **filter(char **in, const char *const *secrets)
{
    size_t n = 0;
    for (char **p = in; p && *p; p++)
        n++;
    char **out = xcalloc(n + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(in[i], '=');
        size_t nl = eq ? (size_t)(eq - in[i]) : strlen(in[i]);
        if (!eq || hookenv_name_denied(in[i], nl) || value_has_secret(in[i], secrets))
            continue;
        bool later = false;
        for (size_t j = i + 1; j < n && !later; j++)
            later = strncmp(in[j], in[i], nl + 1) == 0;
        if (!later)
            out[k++] = xstrdup(in[i]);
    }
    out[k] = NULL;
    return out;
}

/* The environment for the capture shell: the agent's, minus what must not leak. */
static char **capture_env(char *const *agent_env)
{
    size_t n = 0;
    for (char *const *p = agent_env; p && *p; p++)
        n++;
    char **v = xcalloc(n + 1, sizeof(char *));
    size_t k = 0;
    for (char *const *p = agent_env; p && *p; p++)
        v[k++] = xstrdup(*p);
    v[k] = NULL;
    return v;
}

struct hookenv *hookenv_new(const struct hookenv_opts *opts, struct err *err)
{
    const char *profile = opts && opts->profile ? opts->profile : "/etc/profile";
    char *const *agent_env = opts && opts->agent_env ? opts->agent_env : environ;
    const char *const *secrets = opts ? opts->secrets : NULL;
    char **raw = NULL;

    if (*profile) {
        const char *shell = opts && opts->shell ? opts->shell : "/bin/bash";
        if (access(shell, X_OK) < 0)
            shell = "/bin/sh";
        bool bash = str_has_suffix(shell, "bash");
        /* like the Ruby unit, source the profile with every variable exported.  The
         * profile's own output goes nowhere so only env -0 reaches our pipe. */
        const char *envbin = access("/usr/bin/env", X_OK) == 0 ? "/usr/bin/env" : "env";
        AUTOFREE char *script = xasprintf("[ -f \"$0\" ] && %s \"$0\" >/dev/null 2>&1 "
                                          "</dev/null; exec %s -0",
                                          bash ? "source" : ".", envbin);
        char *argv[] = {xstrdup(shell),  xstrdup("-a"),    xstrdup("-c"),
                        xstrdup(script), xstrdup(profile), NULL};
        char **cenv = capture_env(agent_env);
        char *out = NULL;
        size_t len = 0;
        int rc = capture_run(argv, cenv, HOOKENV_CAPTURE_MAX, HOOKENV_CAPTURE_TIMEOUT_MS, &out,
                             &len, err);
        hookenv_envp_free(cenv);
        for (int i = 0; argv[i]; i++)
            free(argv[i]);
        if (rc < 0) {
            err_prefix(err, "source '%s' for the hook environment", profile);
            return NULL;
        }
        raw = hookenv_parse_env0(out, len, err);
        free(out);
        if (!raw) {
            err_prefix(err, "source '%s' for the hook environment", profile);
            return NULL;
        }
    } else {
        raw = capture_env(agent_env);
    }
    struct hookenv *env = xcalloc(1, sizeof(*env));
    env->base = filter(raw, secrets);
    hookenv_envp_free(raw);
    return env;
}

void hookenv_free(struct hookenv *env)
{
    if (!env)
        return;
    hookenv_envp_free(env->base);
    free(env);
}

const char *hookenv_base_get(const struct hookenv *env, const char *name)
{
    size_t n = strlen(name);
    for (char **p = env->base; *p; p++)
        if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
            return *p + n + 1;
    return NULL;
}

char **hookenv_build(const struct hookenv *env, const struct hookenv_vars *vars)
{
    struct {
        const char *name;
        const char *value;
    } add[] = {
        {"LIFECYCLE_EVENT", vars ? vars->lifecycle_event : NULL},
        {"DEPLOYMENT_ID", vars ? vars->deployment_id : NULL},
        {"APPLICATION_NAME", vars ? vars->application_name : NULL},
        {"DEPLOYMENT_GROUP_NAME", vars ? vars->deployment_group_name : NULL},
        {"DEPLOYMENT_GROUP_ID", vars ? vars->deployment_group_id : NULL},
        {"BUNDLE_BUCKET", vars ? vars->bundle_bucket : NULL},
        {"BUNDLE_KEY", vars ? vars->bundle_key : NULL},
        {"BUNDLE_VERSION", vars ? vars->bundle_version : NULL},
        {"BUNDLE_ETAG", vars ? vars->bundle_etag : NULL},
        {"BUNDLE_COMMIT", vars ? vars->bundle_commit : NULL},
    };
    const size_t nadd = sizeof(add) / sizeof(add[0]);
    size_t n = 0;
    for (char **p = env ? env->base : NULL; p && *p; p++)
        n++;
    char **out = xcalloc(n + nadd + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        /* values always describe the current deployment: drop inherited ones */
        bool replaced = false;
        for (size_t j = 0; j < nadd && !replaced; j++) {
            size_t l = strlen(add[j].name);
            replaced = strncmp(env->base[i], add[j].name, l) == 0 && env->base[i][l] == '=';
        }
        if (!replaced)
            out[k++] = xstrdup(env->base[i]);
    }
    for (size_t j = 0; j < nadd; j++)
        if (add[j].value && *add[j].value)
            out[k++] = xasprintf("%s=%s", add[j].name, add[j].value);
    out[k] = NULL;
    return out;
}
