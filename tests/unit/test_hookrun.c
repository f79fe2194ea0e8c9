/* Tests for run/hookrun, the path production uses to run an event's scripts (spec §11, R-150,
 * real scripts in a revision directory laid out as the
 * executor leaves it. */
#include "test.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/stop.h"
#include "base/util.h"
#include "deploy/layout.h"
#include "parse/appspec.h"
#include "parse/spec.h"
#include "run/hookrun.h"
#include "run/result.h"
#include "base/fsutil.h"

static struct deploy_spec spec = {
    .deployment_id = (char *)"d-HOOKRUN01",
    .deployment_group_id = (char *)"g-1",
    .deployment_group_name = (char *)"Group",
    .application_name = (char *)"App",
};

/* Write an executable script into <tmp>/rev/deployment-archive/<rel>. */
static void script(const char *rel, const char *body)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/rev/deployment-archive/%s", test_tmpdir(), rel);
    test_write(path, body);
    chmod(path, 0755);
}

static char *tmp(const char *rel)
{
    return xasprintf("%s/%s", test_tmpdir(), rel);
}

static char started[256];
static void on_started(void *arg, const char *location)
{
    (void)arg;
    size_t n = strlen(started);
    snprintf(started + n, sizeof(started) - n, "%s%s", n ? "," : "", location);
}

/* Run the scripts of ApplicationStart (locations as written; rel as the AppSpec resolves them). */
static void run_event(struct appspec_script *sc, size_t n, const struct stop *stop,
                      struct exec_result *ret)
{
    AUTOFREE char *rev = tmp("rev");
    AUTOFREE char *dep = tmp("dep");
    AUTOFREE char *root = tmp("root");
    started[0] = '\0';
    struct hookrun_opts o = {
        .event = "ApplicationStart",
        .revision_dir = rev,
        .deployment_dir = dep,
        .spec = &spec,
        .root_dir = root,
        .program_name = "codedeploy-agent",
        .scripts = sc,
        .n_scripts = n,
        .output_grace_s = 1,
        .enable_deployments_log = true,
        .stop = stop,
        .script_started = on_started,
    };
    memset(ret, 0, sizeof(*ret));
    hookrun_event(&o, ret);
}

static char *slurp(const char *rel)
{
    AUTOFREE char *path = tmp(rel);
    char *data = NULL;
    size_t n;
    if (read_file(path, 1 << 20, &data, &n, NULL) < 0)
        return xstrdup("");
    return data;
}

/* C-160, C-270: scripts run in order, the first failure stops the event, a leading
 * '/' stays inside the archive; the result carries the §13 fields of the failing script. */
TEST(hookrun_r150_order_and_first_failure)
{
    script("one.sh", "#!/bin/sh\necho one\n");
    script("two.sh", "#!/bin/sh\necho two\nexit 2\n");
    script("three.sh", "#!/bin/sh\necho three\n");
    struct appspec_script sc[] = {
        {.location = (char *)"/one.sh", .location_rel = (char *)"one.sh", .timeout_s = 10},
        {.location = (char *)"two.sh", .location_rel = (char *)"two.sh", .timeout_s = 10},
        {.location = (char *)"three.sh", .location_rel = (char *)"three.sh", .timeout_s = 10},
    };
    struct exec_result r;
    run_event(sc, 3, NULL, &r);
    ASSERT_FALSE(r.succeeded);
    struct err want = {.code = ERR_SCRIPT_FAILED};
    ASSERT_EQ(r.error_code, err_diag_code(&want));
    ASSERT_STREQ(r.script_name, "two.sh");
    ASSERT_STREQ(r.message, "Script at specified location: two.sh failed with exit code 2");
    ASSERT_STREQ(r.log, "LifecycleEvent - ApplicationStart\nScript - /one.sh\n[stdout]one\n"
                        "Script - two.sh\n[stdout]two\n");
    ASSERT_STREQ(started, "/one.sh,two.sh");
    AUTOFREE char *log = slurp("dep/logs/scripts.log");
    ASSERT_CONTAINS(log, " [stdout]two\n");
    ASSERT_TRUE(strstr(log, "three") == NULL);
    exec_result_done(&r);
}

/* the deployment's variables reach the script; records are mirrored to the
 * deployments log with the deployment id. */
TEST(hookrun_r158_environment_and_deployments_log)
{
    script("env.sh", "#!/bin/sh\necho \"$LIFECYCLE_EVENT $DEPLOYMENT_ID $APPLICATION_NAME "
                     "$DEPLOYMENT_GROUP_NAME $DEPLOYMENT_GROUP_ID\"\n");
    struct appspec_script sc[] = {
        {.location = (char *)"env.sh", .location_rel = (char *)"env.sh", .timeout_s = 10}};
    struct exec_result r;
    run_event(sc, 1, NULL, &r);
    ASSERT_TRUE(r.succeeded);
    AUTOFREE char *log = slurp("dep/logs/scripts.log");
    ASSERT_CONTAINS(log, " [stdout]ApplicationStart d-HOOKRUN01 App Group g-1\n");
    AUTOFREE char *dlog = slurp("root/deployment-logs/codedeploy-agent-deployments.log");
    ASSERT_CONTAINS(dlog, "[d-HOOKRUN01][stdout]ApplicationStart d-HOOKRUN01 App Group g-1\n");
    exec_result_done(&r);
}

/* a missing script fails the event with the script's name and code of ERR_SCRIPT_MISSING. */
TEST(hookrun_r152_missing_script)
{
    script("other.sh", "#!/bin/sh\n");
    struct appspec_script sc[] = {
        {.location = (char *)"nope.sh", .location_rel = (char *)"nope.sh", .timeout_s = 10}};
    struct exec_result r;
    run_event(sc, 1, NULL, &r);
    ASSERT_FALSE(r.succeeded);
    struct err want = {.code = ERR_SCRIPT_MISSING};
    ASSERT_EQ(r.error_code, err_diag_code(&want));
    ASSERT_STREQ(r.script_name, "nope.sh");
    ASSERT_CONTAINS(r.message, "Script does not exist at specified location: ");
    exec_result_done(&r);
}

/* Issue 11 item 4 with `sudo: true`: an agent that is not root runs such a script as
 * root through sudo, so a script others may write is refused before sudo is looked for; one
 * only the agent's user may write goes on (to sudo, missing or not on this host). */
TEST(hookrun_sudo_script_others_can_write_is_refused_by_a_non_root_agent_issue11)
{
    if (geteuid() != 0)
        SKIP("needs root to become another user");
    struct passwd *pw = getpwnam("nobody");
    if (!pw)
        SKIP("no user 'nobody'");
    ASSERT_OK(chown(test_tmpdir(), pw->pw_uid, pw->pw_gid));
    ASSERT_OK(setgroups(0, NULL));
    ASSERT_OK(setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid));
    ASSERT_OK(setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid));
    script("scripts/open.sh", "#!/bin/sh\necho ran\n");
    script("scripts/mine.sh", "#!/bin/sh\necho ran\n");
    AUTOFREE char *open_path = tmp("rev/deployment-archive/scripts/open.sh");
    ASSERT_OK(chmod(open_path, 0777));

    struct appspec_script open_sc[] = {{.location = (char *)"scripts/open.sh",
                                        .location_rel = (char *)"scripts/open.sh",
                                        .timeout_s = 10,
                                        .sudo = true}};
    struct exec_result r;
    run_event(open_sc, 1, NULL, &r);
    ASSERT_FALSE(r.succeeded);
    ASSERT_CONTAINS(r.message, "was not run as root");
    ASSERT_CONTAINS(r.message, "open.sh");
    ASSERT_STREQ(started, "");
    exec_result_done(&r);

    struct appspec_script mine_sc[] = {{.location = (char *)"scripts/mine.sh",
                                        .location_rel = (char *)"scripts/mine.sh",
                                        .timeout_s = 10,
                                        .sudo = true}};
    run_event(mine_sc, 1, NULL, &r);
    ASSERT_TRUE(r.message == NULL || strstr(r.message, "was not run as root") == NULL);
    exec_result_done(&r);
}

/* with the agent stopping, the running hook is stopped and the event fails. */
TEST(hookrun_stop_flag_stops_the_hook)
{
    script("long.sh", "#!/bin/sh\necho begun\nexec sleep 300\n");
    struct appspec_script sc[] = {
        {.location = (char *)"long.sh", .location_rel = (char *)"long.sh", .timeout_s = 600}};
    struct stop stop;
    ASSERT_OK(stop_init(&stop, NULL));
    stop_request(&stop);
    struct exec_result r;
    run_event(sc, 1, &stop, &r);
    stop_done(&stop);
    ASSERT_FALSE(r.succeeded);
    ASSERT_STREQ(r.message,
                 "Script at specified location: long.sh was stopped because the agent is "
                 "shutting down");
    exec_result_done(&r);
}

/* R-200 (issue 11): a script that prints the on-premises credentials file does not put the
 * agent's secret key or session token into scripts.log, the deployments log or the tail. */
TEST(hookrun_r200_hook_output_redacted)
{
    log_add_secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRET");
    log_add_secret("FwoGZXIvYXdzEJr//SESSIONTOKEN");
    AUTOFREE char *creds = tmp("onprem.yml");
    test_write(creds, "aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRET\n"
                      "aws_session_token: FwoGZXIvYXdzEJr//SESSIONTOKEN\n");
    AUTOFREE char *body = xasprintf("#!/bin/sh\ncat '%s'\ncat '%s' >&2\nexit 1\n", creds, creds);
    script("leak.sh", body);
    struct appspec_script sc[] = {
        {.location = (char *)"leak.sh", .location_rel = (char *)"leak.sh", .timeout_s = 10}};
    struct exec_result r;
    run_event(sc, 1, NULL, &r);
    ASSERT_FALSE(r.succeeded);
    AUTOFREE char *log = slurp("dep/logs/scripts.log");
    AUTOFREE char *dlog = slurp("root/deployment-logs/codedeploy-agent-deployments.log");
    const char *texts[] = {log, dlog, r.log};
    for (int i = 0; i < 3; i++) {
        ASSERT_CONTAINS(texts[i], "aws_secret_access_key: REDACTED\n");
        ASSERT_TRUE(strstr(texts[i], "SECRET") == NULL);
        ASSERT_TRUE(strstr(texts[i], "SESSIONTOKEN") == NULL);
    }
    exec_result_done(&r);
}

/* Issue 18 item 4: a link planted at <root>/deployment-logs is not followed: the deployments log
 * never lands in its target. */
TEST(hookrun_never_writes_the_deployments_log_through_a_planted_link_issue18)
{
    script("one.sh", "#!/bin/sh\necho one\n");
    AUTOFREE char *root = tmp("root");
    AUTOFREE char *victim = tmp("victim");
    ASSERT_OK(mkdir(root, 0755));
    ASSERT_OK(mkdir(victim, 0755));
    AUTOFREE char *dl = tmp("root/deployment-logs");
    ASSERT_OK(symlink(victim, dl));
    struct appspec_script sc[] = {
        {.location = (char *)"one.sh", .location_rel = (char *)"one.sh", .timeout_s = 10},
    };
    struct exec_result r;
    run_event(sc, 1, NULL, &r);
    AUTOFREE char *planted = tmp("victim/codedeploy-agent-deployments.log");
    ASSERT_FALSE(file_exists(planted));
    exec_result_done(&r);
}
