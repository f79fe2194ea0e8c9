/* Tests for version: the .version file and the agent-version header value (R-048, V-004,
 * V-087). */
#include <sys/stat.h>

#include "base/fsutil.h"
#include "base/path.h"
#include "base/util.h"
#include "sys/version.h"
#include "test.h"

TEST(version_R048_lookup_order)
{
    const char *tmp = test_tmpdir();
    AUTOFREE char *base = path_join(tmp, "opt");
    AUTOFREE char *root = path_join(base, "deployment-root");
    AUTOFREE char *fallback = path_join(tmp, "fallback.version");
    ASSERT_OK(mkdir_p(root, 0755, NULL));

    /* Neither file: our own build identifier. */
    AUTOFREE char *v0 = version_lookup(root, fallback);
    ASSERT_STREQ(v0, "cdagent-" CDAGENT_VERSION);
    AUTOFREE char *v00 = version_lookup(NULL, NULL);
    ASSERT_STREQ(v00, version_own());

    /* The fallback file (what the daemon passes: /opt/codedeploy-agent/.version). */
    test_write(fallback, "agent_version: 2.1.0");
    AUTOFREE char *v1 = version_lookup(root, fallback);
    ASSERT_STREQ(v1, "2.1.0");

    /* .version next to root dir wins (root dir given with a trailing slash). */
    AUTOFREE char *vf = path_join(base, ".version");
    test_write(vf, "agent_version: OFFICIAL_1.7.0-92_rpm\n");
    AUTOFREE char *rootslash = xasprintf("%s/", root);
    AUTOFREE char *v2 = version_lookup(rootslash, fallback);
    ASSERT_STREQ(v2, "OFFICIAL_1.7.0-92_rpm");

    /* A value that would break the HTTP header is skipped. */
    test_write(vf, "agent_version: x\r\nEvil: y\n");
    AUTOFREE char *v3 = version_lookup(root, fallback);
    ASSERT_STREQ(v3, "2.1.0");

    /* An empty file is skipped; no ": " means the whole text. */
    test_write(vf, "");
    test_write(fallback, "  1.8.1-dev \n");
    AUTOFREE char *v4 = version_lookup(root, fallback);
    ASSERT_STREQ(v4, "1.8.1-dev");
}

TEST(version_file_for_root_is_the_parent)
{
    AUTOFREE char *a = version_file_for_root("/opt/codedeploy-agent/deployment-root");
    ASSERT_STREQ(a, VERSION_FILE_DEFAULT);
    AUTOFREE char *b = version_file_for_root("/opt/codedeploy-agent/deployment-root//");
    ASSERT_STREQ(b, VERSION_FILE_DEFAULT);
    AUTOFREE char *c = version_file_for_root("/root");
    ASSERT_STREQ(c, "/.version");
}

TEST(version_V087_publish_then_lookup_is_one_source_of_truth)
{
    const char *tmp = test_tmpdir();
    AUTOFREE char *root = path_join(tmp, "deployment-root");
    AUTOFREE char *vf = path_join(tmp, ".version");
    ASSERT_OK(mkdir_p(root, 0755, NULL));
    /* A Ruby agent left its version behind; it is replaced by ours. */
    test_write(vf, "agent_version: OFFICIAL_1.7.0-92_rpm\n");
    ASSERT_OK(chmod(vf, 0444));
    ASSERT_OK(version_publish(root, NULL));
    char *text = NULL;
    size_t n = 0;
    ASSERT_OK(read_file(vf, 4096, &text, &n, NULL));
    ASSERT_STREQ(text, "agent_version: cdagent-" CDAGENT_VERSION); /* no newline */
    free(text);
    struct stat st;
    ASSERT_OK(stat(vf, &st));
    ASSERT_EQ(st.st_mode & 07777, 0444);
    AUTOFREE char *v = version_lookup(root, NULL);
    ASSERT_STREQ(v, version_own());
    /* What v2 writes reads back the same way. */
    ASSERT_OK(version_write_file(vf, "2.1.0", NULL));
    AUTOFREE char *v2 = version_lookup(root, NULL);
    ASSERT_STREQ(v2, "2.1.0");
}

TEST(version_publish_failure_is_reported)
{
    struct err e = ERR_INIT;
    AUTOFREE char *root = path_join(test_tmpdir(), "missing/deployment-root");
    ASSERT_FAIL(version_publish(root, &e)); /* the parent does not exist */
    ASSERT_EQ(e.code, ERR_SYSTEM);
}
