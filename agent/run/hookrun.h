/*
 * hookrun: the executor's glue around the hook runner for one lifecycle event (spec §11): turns
 * the AppSpec scripts of the selected revision into hook runs with the current deployment's
 * environment and scripts.log, reports each script start for status displays,
 * and fills the diagnostic fields of the result from the first failure (§13).
 */
#ifndef CDAGENT_HOOKRUN_H
#define CDAGENT_HOOKRUN_H

#include <stdbool.h>
#include <stddef.h>

struct stop;

struct appspec_script;
struct deploy_spec;
struct exec_result;
struct hookenv;

struct hookrun_opts {
    const char *event;          /* borrowed */
    const char *revision_dir;   /* borrowed; whose deployment-archive holds the scripts */
    const char *deployment_dir; /* borrowed; the CURRENT deployment (logs, environment) */
    const struct deploy_spec *spec;
    const char *root_dir;
    const char *program_name;
    const struct appspec_script *scripts;
    size_t n_scripts;
    int output_grace_s; /* -1: Ruby behaviour */
    bool enable_deployments_log;
    const struct stop *stop;   /* borrowed; may be NULL */
    const struct hookenv *env; /* borrowed; NULL: an environment with only the hook variables */
    void (*script_started)(void *arg, const char *location);
    void *cb_arg;
};

/* Run the event's scripts in order, stopping at the first failure; fills ret. */
void hookrun_event(const struct hookrun_opts *o, struct exec_result *ret);

#endif
