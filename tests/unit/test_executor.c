/* Tests for run/executor through its seams (spec §7, §11, §13): commands run against a root
 * directory prepared as DownloadBundle and Install leave it (a bundle already unpacked), with no
 * service, credentials or network. */
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "deploy/layout.h"
#include "parse/spec.h"
#include "run/executor.h"
#include "base/path.h"
#include "base/fsutil.h"

static struct deploy_spec spec = {
    .deployment_id = (char *)"d-EXEC00001",
    .deployment_group_id = (char *)"g-exec",
    .deployment_group_name = (char *)"Group",
    .application_name = (char *)"App",
};

static char *root(void)
{
    return xasprintf("%s/root", test_tmpdir());
}

/* Unpack a "bundle": appspec.yml and scripts in the current deployment's archive. */
static char *unpacked(const char *appspec)
{
    AUTOFREE char *r = root();
    char *dep = layout_deployment_dir(r, spec.deployment_group_id, spec.deployment_id);
    AUTOFREE char *archive = layout_archive_dir(dep);
    AUTOFREE char *as = path_join(archive, "appspec.yml");
    test_write(as, appspec);
    return dep;
}

static void script(const char *dep, const char *rel, const char *body)
{
    AUTOFREE char *archive = layout_archive_dir(dep);
    AUTOFREE char *p = path_join(archive, rel);
    test_write(p, body);
    chmod(p, 0755);
}

static char seen[512];
static void on_progress(void *arg, const struct executor_progress *p)
{
    (void)arg;
    size_t n = strlen(seen);
    snprintf(seen + n, sizeof(seen) - n, "%d%s%s;", (int)p->phase, p->script ? ":" : "",
             p->script ? p->script : "");
}

static void opts(struct executor_opts *o, const char *root_dir)
{
    *o = (struct executor_opts){.root_dir = root_dir,
                                .program_name = "codedeploy-agent",
                                .max_revisions = 5,
                                .hook_output_grace_s = 1,
                                .progress = on_progress};
    seen[0] = '\0';
}

/* executor_run(command) with the test's options and root directory. */
static void run(const char *command, struct exec_result *res)
{
    AUTOFREE char *r = root();
    struct executor_opts o;
    opts(&o, r);
    executor_run(&o, command, &spec, res);
}

static const char *const start_appspec = "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n"
                                         "    - location: scripts/start.sh\n      timeout: 10\n";

/* §11: a lifecycle event runs the unpacked revision's scripts, reports each start, and writes
 * logs/scripts.log of the deployment. */
TEST(executor_hook_event_runs_unpacked_revision)
{
    AUTOFREE char *dep = unpacked(start_appspec);
    script(dep, "scripts/start.sh", "#!/bin/sh\necho \"started $DEPLOYMENT_ID\"\n");
    struct exec_result res;
    run("ApplicationStart", &res);
    ASSERT_TRUE(res.succeeded);
    ASSERT_FALSE(res.noop);
    ASSERT_STREQ(seen, "0;1:scripts/start.sh;3;");
    AUTOFREE char *lp = layout_scripts_log(dep);
    char *log = NULL;
    size_t n;
    ASSERT_OK(read_file(lp, 1 << 20, &log, &n, NULL));
    ASSERT_CONTAINS(log, " [stdout]started d-EXEC00001\n");
    free(log);
    exec_result_done(&res);
}

/* an event without scripts succeeds as a no-op and writes nothing. */
TEST(executor_event_without_scripts_is_noop)
{
    AUTOFREE char *dep = unpacked(start_appspec);
    AUTOFREE char *r = root();
    struct executor_opts o;
    opts(&o, r);
    bool noop = false;
    struct err err = ERR_INIT;
    ASSERT_OK(executor_is_noop(&o, "BeforeInstall", &spec, &noop, &err));
    ASSERT_TRUE(noop);
    struct exec_result res;
    executor_run(&o, "BeforeInstall", &spec, &res);
    ASSERT_TRUE(res.succeeded);
    ASSERT_TRUE(res.noop);
    AUTOFREE char *logs = path_join(dep, "logs");
    ASSERT_FALSE(dir_exists(logs));
    exec_result_done(&res);
}

/* ApplicationStop of a first deployment (no previous revision) has nothing to run. */
TEST(executor_r095_application_stop_without_previous_revision)
{
    struct exec_result res;
    run("ApplicationStop", &res);
    ASSERT_TRUE(res.succeeded);
    ASSERT_TRUE(res.noop);
    exec_result_done(&res);
}

/* §13: a failing script becomes error code, script name, message and output tail. */
TEST(executor_failure_diagnostics)
{
    AUTOFREE char *dep = unpacked(start_appspec);
    script(dep, "scripts/start.sh", "#!/bin/sh\necho boom >&2\nexit 3\n");
    struct exec_result res;
    run("ApplicationStart", &res);
    ASSERT_FALSE(res.succeeded);
    struct err want = {.code = ERR_SCRIPT_FAILED};
    ASSERT_EQ(res.error_code, err_diag_code(&want));
    ASSERT_STREQ(res.script_name, "scripts/start.sh");
    ASSERT_STREQ(res.message, "Script at specified location: scripts/start.sh failed with exit "
                              "code 3");
    ASSERT_STREQ(res.log, "LifecycleEvent - ApplicationStart\nScript - scripts/start.sh\n"
                          "[stderr]boom\n");
    AUTOFREE char *json = executor_diag_json(&res);
    ASSERT_CONTAINS(json, "\"script_name\":\"scripts/start.sh\"");
    exec_result_done(&res);
}

/* an unknown command fails with the service's text and does not touch the disk. */
TEST(executor_r089_unsupported_command)
{
    struct exec_result res;
    run("Reboot", &res);
    ASSERT_FALSE(res.succeeded);
    ASSERT_STREQ(res.message, "Unsupported command type: Reboot.");
    AUTOFREE char *r = root();
    ASSERT_FALSE(dir_exists(r));
    exec_result_done(&res);
}

/* Issue 11: the daemon logs the completion of a command after executor_run() returned; that
 * line still carries the deployment id and command as its context. */
TEST(executor_keeps_log_context_for_the_caller)
{
    AUTOFREE char *logdir = xasprintf("%s/log", test_tmpdir());
    ASSERT_OK(mkdir_p(logdir, 0755, NULL));
    struct log_opts lo = {.program = "codedeploy-agent", .log_dir = logdir, .quiet_stderr = true};
    struct err err = ERR_INIT;
    ASSERT_OK(log_open(&lo, &err));
    struct exec_result res;
    log_ctx_set(spec.deployment_id, "Reboot");
    run("Reboot", &res);
    log_info("PutHostCommandComplete: Failed");
    log_close();
    exec_result_done(&res);
    AUTOFREE char *path = xasprintf("%s/codedeploy-agent.log", logdir);
    char *data = NULL;
    size_t n;
    ASSERT_OK(read_file(path, 1 << 20, &data, &n, NULL));
    ASSERT_CONTAINS(data, "[d-EXEC00001] [Reboot] PutHostCommandComplete: Failed\n");
    free(data);
}
