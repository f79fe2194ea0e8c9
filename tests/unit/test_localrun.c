/* Tests for codedeploy-local's runner (cli/localrun, spec §15) through its seam: the program runs
 * as it does from the command line, with a fake executor that records the events it is handed,
 * so the mapping of arguments to the run, the event order, --restart and the errors show. */
#include "test.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/util.h"
#include "cli/localrun.h"
#include "deploy/layout.h"
#include "parse/spec.h"
#include "run/result.h"

static char ran[1024];          /* "Event,Event,..." */
static const char *fail_at;     /* this event fails ... */
static const char *fail_script; /* ... in this script (NULL: not a script error) */
static char seen_group[128], seen_app[128], seen_reuse[128];

static void fake_execute(const struct executor_opts *o, const char *command,
                         const struct deploy_spec *spec, struct exec_result *ret)
{
    (void)o;
    size_t n = strlen(ran);
    snprintf(ran + n, sizeof(ran) - n, "%s%s", n ? "," : "", command);
    snprintf(seen_group, sizeof(seen_group), "%s", spec->deployment_group_id);
    snprintf(seen_app, sizeof(seen_app), "%s", spec->application_name);
    snprintf(seen_reuse, sizeof(seen_reuse), "%s",
             spec->reuse_archive_from ? spec->reuse_archive_from : "-");
    bool fail = fail_at && strcmp(fail_at, command) == 0;
    *ret = (struct exec_result){
        .succeeded = !fail,
        .error_code = fail ? (fail_script ? 1 : 5) : 0,
        .script_name = xstrdup(fail && fail_script ? fail_script : ""),
        .message = xstrdup(fail ? "Script at specified location failed with exit code 3" : ""),
        .log = xstrdup(fail ? "[stdout]boom\n" : "")};
}

static const struct localrun_ops fake = {.execute = fake_execute};

static char out_path[4096], err_path[4096];
static char *out_text, *err_text;

/* A bundle directory and a configuration whose roots are in the test's directory (static
 * storage each). */
static const char *bundle(void)
{
    static char dir[4096];
    snprintf(dir, sizeof(dir), "%s/bundle", test_tmpdir());
    AUTOFREE char *as = xasprintf("%s/appspec.yml", dir);
    test_write(as, "version: 0.0\nos: linux\n");
    return dir;
}

static const char *config(void)
{
    static char path[4096]; /* test_write's own storage is reused by bundle() */
    AUTOFREE char *body =
        xasprintf(":root_dir: %s/root\n:log_dir: %s/log\n", test_tmpdir(), test_tmpdir());
    snprintf(path, sizeof(path), "%s", test_write("agent.yml", body));
    return path;
}

/* Run codedeploy-local with argv (NULL-terminated, without the program name), stdout and
 * stderr captured into out_text and err_text. */
static int run(const char *const *args)
{
    char *argv[32] = {(char *)"codedeploy-local"};
    int argc = 1;
    for (; args[argc - 1]; argc++)
        argv[argc] = xstrdup(args[argc - 1]);
    snprintf(out_path, sizeof(out_path), "%s/stdout", test_tmpdir());
    snprintf(err_path, sizeof(err_path), "%s/stderr", test_tmpdir());
    fflush(stdout);
    fflush(stderr);
    int keep_out = dup(1), keep_err = dup(2);
    int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fo, 1);
    dup2(fe, 2);
    int rc = localrun_run(argc, argv, &fake);
    fflush(stdout);
    fflush(stderr);
    dup2(keep_out, 1);
    dup2(keep_err, 2);
    close(fo);
    close(fe);
    close(keep_out);
    close(keep_err);
    for (int i = 1; i < argc; i++)
        free(argv[i]);
    free(out_text);
    free(err_text);
    out_text = test_read(out_path);
    err_text = test_read(err_path);
    return rc;
}

TEST(localrun_default_events_in_order_R208)
{
    const char *args[] = {"-l", bundle(), "-t", "directory", "-c", config(), NULL};
    ASSERT_EQ(run(args), 0);
    ASSERT_STREQ(ran, "BeforeBlockTraffic,AfterBlockTraffic,ApplicationStop,DownloadBundle,"
                      "BeforeInstall,Install,AfterInstall,ApplicationStart,ValidateService,"
                      "BeforeAllowTraffic,AfterAllowTraffic");
    ASSERT_STREQ(seen_group, "default-local-deployment-group");
    ASSERT_STREQ(seen_reuse, "-");
    ASSERT_CONTAINS(out_text, "Local deployment successful");
    ASSERT_CONTAINS(out_text, "11 events");
    /* the configuration's root holds the deployment */
    AUTOFREE char *folder =
        xasprintf("from within folder %s/root/default-local-deployment-group/d-", test_tmpdir());
    ASSERT_CONTAINS(out_text, folder);
}

TEST(localrun_events_option_and_names_reach_the_run_R207_R209)
{
    const char *args[] = {
        "-l", bundle(), "-t", "directory", "-c", config(), "-e", "ApplicationStop,DownloadBundle",
        "-g", "g-1",    "-a", "App",       NULL};
    ASSERT_EQ(run(args), 0);
    ASSERT_STREQ(ran, "DownloadBundle,ApplicationStop,Install");
    ASSERT_STREQ(seen_group, "g-1");
    ASSERT_STREQ(seen_app, "App");
}

TEST(localrun_stops_at_the_first_failed_script_R212)
{
    fail_at = "AfterInstall";
    fail_script = "scripts/after.sh";
    const char *args[] = {"-l", bundle(), "-t", "directory", "-c", config(), NULL};
    ASSERT_EQ(run(args), 1);
    ASSERT_STREQ(ran, "BeforeBlockTraffic,AfterBlockTraffic,ApplicationStop,DownloadBundle,"
                      "BeforeInstall,Install,AfterInstall");
    ASSERT_CONTAINS(out_text, "FAILED");
    ASSERT_CONTAINS(out_text, "boom");
    ASSERT_CONTAINS(err_text, "failed while trying to execute your script at ");
    ASSERT_CONTAINS(err_text, "/deployment-archive/scripts/after.sh");
    ASSERT_CONTAINS(err_text, "/logs/scripts.log");
    ASSERT_NOT_CONTAINS(out_text, "Local deployment successful");
}

TEST(localrun_failure_outside_a_script_prints_its_message)
{
    fail_at = "DownloadBundle";
    const char *args[] = {"-l", bundle(), "-t", "directory", "-c", config(), NULL};
    ASSERT_EQ(run(args), 1);
    ASSERT_STREQ(ran, "BeforeBlockTraffic,AfterBlockTraffic,ApplicationStop,DownloadBundle");
    ASSERT_CONTAINS(err_text, "ERROR: Script at specified location failed");
    ASSERT_NOT_CONTAINS(err_text, "failed while trying to execute your script");
}

TEST(localrun_restart_reuses_the_last_successful_archive_V012)
{
    const char *cfg = config();
    AUTOFREE char *root = xasprintf("%s/root", test_tmpdir());
    AUTOFREE char *prev = layout_deployment_dir(root, "g-1", "d-PREVIOUS1-local");
    struct err e = ERR_INIT;
    ASSERT_OK(mkdir_p(prev, 0755, &e));
    ASSERT_OK(layout_record_last_successful(root, "g-1", prev, &e));
    const char *args[] = {"-l", bundle(), "-t",  "directory", "-c",
                          cfg,  "-g",     "g-1", "--restart", NULL};
    if (run(args) != 0)
        FAILF("exit code not 0; stderr: %s", err_text);
    ASSERT_STREQ(seen_reuse, "d-PREVIOUS1-local");
    ASSERT_CONTAINS(out_text, "Restarting deployment d-PREVIOUS1-local of deployment group g-1");
}

TEST(localrun_restart_without_a_previous_deployment_fails)
{
    const char *args[] = {"-l",     bundle(), "-t",    "directory", "-c",
                          config(), "-g",     "g-new", "--restart", NULL};
    ASSERT_EQ(run(args), 1);
    ASSERT_STREQ(ran, "");
    ASSERT_CONTAINS(err_text, "ERROR: --restart: deployment group 'g-new' has no successful "
                              "deployment on this host to restart");
}

TEST(localrun_errors_run_nothing_R206)
{
    const char *usage[] = {"--bogus", NULL};
    ASSERT_EQ(run(usage), 64);
    ASSERT_CONTAINS(err_text, "Run 'codedeploy-local --help' for the options.");
    const char *bad_order[] = {
        "-l", bundle(), "-t", "directory", "-c", config(), "-e", "Install,DownloadBundle", NULL};
    ASSERT_EQ(run(bad_order), 1);
    ASSERT_CONTAINS(err_text, "ERROR: ");
    ASSERT_CONTAINS(err_text, "before DownloadBundle");
    AUTOFREE char *missing = xasprintf("%s/nothing-here", test_tmpdir());
    const char *no_bundle[] = {"-l", missing, "-t", "directory", "-c", config(), NULL};
    ASSERT_EQ(run(no_bundle), 1);
    ASSERT_STREQ(ran, "");
}
