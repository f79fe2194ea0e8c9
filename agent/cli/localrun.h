/*
 * localrun: codedeploy-local end to end (spec §15, R-212..R-214): validates the options, builds
 * the TEXT/JSON deployment specification, takes the deployment group's lock shared with the
 * daemon, runs each event through the executor (the daemon's own code paths) and shows progress
 * to the person: one line per event with its duration and result, the failing script's last
 * output lines and the scripts.log path on failure, and a summary.  Also `validate`: check a
 * bundle's AppSpec and scripts without running anything.
 */
#ifndef CDAGENT_LOCALRUN_H
#define CDAGENT_LOCALRUN_H

struct deploy_spec;
struct exec_result;
struct executor_opts;

/* The codedeploy-local program; returns the exit code (0 success, 1 failure, 64 usage). */
int localrun_main(int argc, char **argv);

/* What running the events calls: localrun_main runs the executor (executor_run); unit tests
 * pass a fake executor to the same program. */
struct localrun_ops {
    void (*execute)(const struct executor_opts *o, const char *command,
                    const struct deploy_spec *spec, struct exec_result *ret);
};
int localrun_run(int argc, char **argv, const struct localrun_ops *ops);

#endif
