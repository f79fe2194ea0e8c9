/*
 * hookenv: the environment lifecycle-event hooks run with (spec, V-043).
 *
 * At start-up the agent calls hookenv_new() once: it captures the base environment that hooks
 * saw under the Ruby agent, i.e. the agent's own environment plus every variable assigned by
 * "/etc/profile" (and what it sources) with all variables exported, by running
 *     bash -a -c '[ -f <profile> ] && source <profile> >/dev/null 2>&1 </dev/null; exec env -0'
 * through capture_run() (only hook/ forks).  The result is cached in the
 * struct hookenv.  hookenv_build() then makes a hook's envp: the base, minus the variables hooks
 * must never see (AWS credentials and tokens, systemd's NOTIFY_SOCKET, WATCHDOG_*, LISTEN_*,
 * INVOCATION_ID, JOURNAL_STREAM, CREDENTIALS_DIRECTORY, ...; any variable whose value contains a
 * registered secret), plus LIFECYCLE_EVENT, DEPLOYMENT_ID, APPLICATION_NAME,
 * DEPLOYMENT_GROUP_NAME, DEPLOYMENT_GROUP_ID and the BUNDLE_* variables of the revision.  The
 * credential names are removed after layering, so nothing can put them back.  HOME, USER,
 * LOGNAME and SHELL of a runas user are set by hook.c.  Nothing here logs.
 */
#ifndef CDAGENT_HOOKENV_H
#define CDAGENT_HOOKENV_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

#define HOOKENV_CAPTURE_TIMEOUT_MS 15000
#define HOOKENV_CAPTURE_MAX (1024 * 1024)

struct hookenv_opts {
    const char *profile;        /* borrowed; NULL: "/etc/profile"; "": do not source a profile */
    const char *shell;          /* borrowed; NULL: "/bin/bash" (then "/bin/sh" when missing) */
    char *const *agent_env;     /* borrowed; NULL: environ */
    const char *const *secrets; /* borrowed, NULL-terminated; values never passed to hooks */
};

/* The variables describing the current deployment; NULL or "" members are not set. */
struct hookenv_vars {
    const char *lifecycle_event;
    const char *deployment_id; /* after ARN stripping */
    const char *application_name;
    const char *deployment_group_name;
    const char *deployment_group_id;
    const char *bundle_bucket; /* S3 revisions */
    const char *bundle_key;
    const char *bundle_version;
    const char *bundle_etag;
    const char *bundle_commit; /* GitHub revisions */
};

struct hookenv;

/* Capture the base environment.  Errors: ERR_SYSTEM / ERR_TIMEOUT / ERR_PARSE when the profile
 * cannot be sourced (the caller should warn and retry with profile ""), never when profile is "".
 */
struct hookenv *hookenv_new(const struct hookenv_opts *opts, struct err *err);
void hookenv_free(struct hookenv *env);

/* Value of name in the cached base environment (after filtering), or NULL. */
const char *hookenv_base_get(const struct hookenv *env, const char *name);

/* A hook's environment: NULL-terminated array of "NAME=value" strings; free with
 * hookenv_envp_free(). Never fails. */
char **hookenv_build(const struct hookenv *env, const struct hookenv_vars *vars);
void hookenv_envp_free(char **envp); /* strv_free() */

/* True when hooks must never see a variable of this name (credentials, tokens, systemd). */
bool hookenv_name_denied(const char *name, size_t len);

/* Parse "A=1\0B=2\0" (env -0 output) into a NULL-terminated array; ERR_PARSE on an entry
 * without '='.  Caller frees with hookenv_envp_free. */
char **hookenv_parse_env0(const char *data, size_t len, struct err *err);

#endif
