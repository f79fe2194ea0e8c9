/* Tests for hookenv: the hook environment (R-014, R-158, R-159, V-042, V-043; C-013, C-165,
 * C-166). */
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

#include "hook/hook.h"
#include "hook/hookenv.h"
#include "hook/scriptlog.h"
#include "base/util.h"

static char *agent_env[] = {
    (char *)"PATH=/usr/bin:/bin",
    (char *)"LANG=C.UTF-8",
    (char *)"AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
    (char *)"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    (char *)"AWS_SESSION_TOKEN=FwoGZXIvYXdzEXAMPLETOKEN",
    (char *)"AWS_SECRET_KEY=another",
    (char *)"AWS_REGION=us-east-1",
    (char *)"NOTIFY_SOCKET=/run/systemd/notify",
    (char *)"WATCHDOG_USEC=30000000",
    (char *)"INVOCATION_ID=abc",
    (char *)"DEPLOYMENT_ID=d-STALE",
    (char *)"SOME_URL=https://x/?token=supersecretvalue",
    NULL,
};

static const char *secrets[] = {"supersecretvalue", NULL};

static bool has(char **envp, const char *entry)
{
    for (char **p = envp; *p; p++)
        if (strcmp(*p, entry) == 0)
            return true;
    return false;
}

static bool has_name(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (char **p = envp; *p; p++)
        if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
            return true;
    return false;
}

TEST(hookenv_parse_env0)
{
    struct err err = ERR_INIT;
    char **v = hookenv_parse_env0("A=1\0B=x=y\0C=\0", 13, &err);
    ASSERT_NOT_NULL(v);
    ASSERT_STREQ(v[0], "A=1");
    ASSERT_STREQ(v[1], "B=x=y");
    ASSERT_STREQ(v[2], "C=");
    ASSERT_NULL(v[3]);
    hookenv_envp_free(v);
    ASSERT_NULL(hookenv_parse_env0("A=1\0junk\0", 9, &err));
    ASSERT_EQ(err.code, ERR_PARSE);
}

/* R-159, C-166: credentials and systemd plumbing never reach hooks; R-158 variables added and
 * always describe the current deployment; nothing else added. */
TEST(hookenv_r159_filter_and_r158_vars)
{
    struct hookenv_opts o = {.profile = "", .agent_env = agent_env, .secrets = secrets};
    struct err err = ERR_INIT;
    struct hookenv *env = hookenv_new(&o, &err);
    ASSERT_NOT_NULL(env);
    struct hookenv_vars vars = {
        .lifecycle_event = "ApplicationStart",
        .deployment_id = "d-ABCDEF123",
        .application_name = "WordPress_App",
        .deployment_group_name = "WordPress_DepGroup",
        .deployment_group_id = "b1a2189b",
        .bundle_bucket = "my-bucket",
        .bundle_key = "app.zip",
        .bundle_version = "",
        .bundle_etag = "b10a8db1",
    };
    char **e = hookenv_build(env, &vars);
    ASSERT_TRUE(has(e, "PATH=/usr/bin:/bin"));
    ASSERT_TRUE(has(e, "LANG=C.UTF-8"));
    ASSERT_TRUE(has(e, "AWS_REGION=us-east-1"));
    ASSERT_TRUE(has(e, "LIFECYCLE_EVENT=ApplicationStart"));
    ASSERT_TRUE(has(e, "DEPLOYMENT_ID=d-ABCDEF123"));
    ASSERT_FALSE(has(e, "DEPLOYMENT_ID=d-STALE"));
    ASSERT_TRUE(has(e, "APPLICATION_NAME=WordPress_App"));
    ASSERT_TRUE(has(e, "DEPLOYMENT_GROUP_NAME=WordPress_DepGroup"));
    ASSERT_TRUE(has(e, "DEPLOYMENT_GROUP_ID=b1a2189b"));
    ASSERT_TRUE(has(e, "BUNDLE_BUCKET=my-bucket"));
    ASSERT_TRUE(has(e, "BUNDLE_KEY=app.zip"));
    ASSERT_TRUE(has(e, "BUNDLE_ETAG=b10a8db1"));
    ASSERT_FALSE(has_name(e, "BUNDLE_VERSION"));
    ASSERT_FALSE(has_name(e, "BUNDLE_COMMIT"));
    ASSERT_FALSE(has_name(e, "DEPLOYMENT_CREATOR"));
    ASSERT_FALSE(has_name(e, "DEPLOYMENT_TYPE"));
    static const char *const gone[] = {"AWS_ACCESS_KEY_ID",
                                       "AWS_SECRET_ACCESS_KEY",
                                       "AWS_SESSION_TOKEN",
                                       "AWS_SECRET_KEY",
                                       "NOTIFY_SOCKET",
                                       "WATCHDOG_USEC",
                                       "INVOCATION_ID",
                                       "SOME_URL",
                                       NULL};
    for (int i = 0; gone[i]; i++)
        if (has_name(e, gone[i]))
            FAILF("%s reached the hook environment", gone[i]);
    ASSERT_STREQ(hookenv_base_get(env, "LANG"), "C.UTF-8");
    ASSERT_NULL(hookenv_base_get(env, "AWS_SECRET_ACCESS_KEY"));
    hookenv_envp_free(e);
    hookenv_free(env);
    ASSERT_TRUE(hookenv_name_denied("AWS_SESSION_TOKEN", 17));
    ASSERT_FALSE(hookenv_name_denied("AWS_REGION", 10));
}

/* R-014, C-013: variables assigned by the profile (exported or not) reach hooks; the profile's
 * own output does not disturb the capture; credentials are still removed. */
TEST(hookenv_r014_profile_sourced)
{
    const char *profile = test_write("etc/profile", "echo 'profile noise'\necho err-noise >&2\n"
                                                    "PATH=\"$PATH:/opt/cdagent-test/bin\"\n"
                                                    "CUSTOM_PROFILE_VAR='hello world'\n"
                                                    "export EXPLICIT=yes\n");
    char prof[4096];
    snprintf(prof, sizeof(prof), "%s", profile);
    struct hookenv_opts o = {.profile = prof, .agent_env = agent_env, .secrets = secrets};
    struct err err = ERR_INIT;
    struct hookenv *env = hookenv_new(&o, &err);
    if (!env)
        FAILF("hookenv_new: %s", err.msg);
    ASSERT_STREQ(hookenv_base_get(env, "PATH"), "/usr/bin:/bin:/opt/cdagent-test/bin");
    ASSERT_STREQ(hookenv_base_get(env, "CUSTOM_PROFILE_VAR"), "hello world");
    ASSERT_STREQ(hookenv_base_get(env, "EXPLICIT"), "yes");
    ASSERT_STREQ(hookenv_base_get(env, "LANG"), "C.UTF-8");
    ASSERT_NULL(hookenv_base_get(env, "AWS_SECRET_ACCESS_KEY"));
    ASSERT_NULL(hookenv_base_get(env, "NOTIFY_SOCKET"));
    ASSERT_NULL(hookenv_base_get(env, "_"));

    /* and a real hook sees exactly that */
    struct hookenv_vars vars = {.lifecycle_event = "AfterInstall", .deployment_id = "d-X1"};
    char **e = hookenv_build(env, &vars);
    const char *sp = test_write("archive/env.sh", "#!/bin/sh\nenv\n");
    char spath[4096];
    snprintf(spath, sizeof(spath), "%s", sp);
    chmod(spath, 0755);
    struct scriptlog *log = scriptlog_new(NULL);
    struct hook_opts ho = {
        .path = spath, .location = "env.sh", .timeout_s = 10, .envp = e, .log = log};
    ASSERT_OK(hook_run(&ho, NULL, &err));
    AUTOFREE char *tail = scriptlog_tail(log, NULL);
    ASSERT_CONTAINS(tail, "[stdout]CUSTOM_PROFILE_VAR=hello world\n");
    ASSERT_CONTAINS(tail, "[stdout]PATH=/usr/bin:/bin:/opt/cdagent-test/bin\n");
    ASSERT_CONTAINS(tail, "[stdout]LIFECYCLE_EVENT=AfterInstall\n");
    ASSERT_CONTAINS(tail, "[stdout]DEPLOYMENT_ID=d-X1\n");
    ASSERT_NOT_CONTAINS(tail, "AWS_SECRET_ACCESS_KEY");
    ASSERT_NOT_CONTAINS(tail, "AWS_SESSION_TOKEN");
    ASSERT_NOT_CONTAINS(tail, "NOTIFY_SOCKET");
    ASSERT_NOT_CONTAINS(tail, "supersecretvalue");
    scriptlog_unref(log);
    hookenv_envp_free(e);
    hookenv_free(env);
}

/* A missing profile is not an error (the Ruby unit tests with [ -f ]); a failing one is. */
TEST(hookenv_r014_missing_and_failing_profile)
{
    char prof[4096];
    snprintf(prof, sizeof(prof), "%s/no-such-profile", test_tmpdir());
    struct hookenv_opts o = {.profile = prof, .agent_env = agent_env};
    struct err err = ERR_INIT;
    struct hookenv *env = hookenv_new(&o, &err);
    if (!env)
        FAILF("hookenv_new: %s", err.msg);
    ASSERT_STREQ(hookenv_base_get(env, "LANG"), "C.UTF-8");
    hookenv_free(env);

    const char *bad = test_write("bad-profile", "exit 3\n");
    snprintf(prof, sizeof(prof), "%s", bad);
    o.profile = prof;
    ASSERT_NULL(hookenv_new(&o, &err));
    ASSERT_EQ(err.code, ERR_UNKNOWN);
    ASSERT_CONTAINS(err.msg, "for the hook environment");
}
