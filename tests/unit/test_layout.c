/* Tests for layout (spec section 8, R-100..R-106, R-219, V-061). */
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deploy/layout.h"
#include "test.h"
#include "base/fsutil.h"
#include "base/util.h"

#define GROUP "5f1b3a9e-0000-4000-8000-000000000001"

TEST(layout_paths_R100)
{
    AUTOFREE char *d = layout_deployment_dir("/opt/cd/root", GROUP, "d-ABC123");
    ASSERT_STREQ(d, "/opt/cd/root/" GROUP "/d-ABC123");
    AUTOFREE char *b = layout_bundle_path(d);
    ASSERT_STREQ(b, "/opt/cd/root/" GROUP "/d-ABC123/bundle.tar");
    AUTOFREE char *a = layout_archive_dir(d);
    ASSERT_STREQ(a, "/opt/cd/root/" GROUP "/d-ABC123/deployment-archive");
    AUTOFREE char *s = layout_scripts_log(d);
    ASSERT_STREQ(s, "/opt/cd/root/" GROUP "/d-ABC123/logs/scripts.log");
    AUTOFREE char *l = layout_last_successful_path("/opt/cd/root/", GROUP);
    ASSERT_STREQ(l, "/opt/cd/root/deployment-instructions/" GROUP "_last_successful_install");
    AUTOFREE char *m = layout_most_recent_path("/opt/cd/root", GROUP);
    ASSERT_STREQ(m, "/opt/cd/root/deployment-instructions/" GROUP "_most_recent_install");
    AUTOFREE char *c = layout_cleanup_path("/opt/cd/root", GROUP);
    ASSERT_STREQ(c, "/opt/cd/root/deployment-instructions/" GROUP "-cleanup");
    AUTOFREE char *j = layout_install_json_path("/opt/cd/root", GROUP);
    ASSERT_STREQ(j, "/opt/cd/root/deployment-instructions/" GROUP "-install.json");
    AUTOFREE char *dl = layout_deployments_log("/opt/cd/root", "codedeploy-agent");
    ASSERT_STREQ(dl, "/opt/cd/root/deployment-logs/codedeploy-agent-deployments.log");
    AUTOFREE char *o = layout_ongoing_dir("/opt/cd/root", NULL);
    ASSERT_STREQ(o, "/opt/cd/root/ongoing-deployment");
    AUTOFREE char *o2 = layout_ongoing_dir("/opt/cd/root", "tracking");
    ASSERT_STREQ(o2, "/opt/cd/root/tracking");
}

TEST(layout_check_id_refuses_traversal)
{
    struct err e = ERR_INIT;
    ASSERT_OK(layout_check_id("d-ABCDEF123", "deployment id", &e));
    ASSERT_OK(layout_check_id("d-XXXXXXXXX-local", "deployment id", &e));
    ASSERT_FAIL(layout_check_id("..", "deployment id", &e));
    ASSERT_EQ(e.code, ERR_UNSAFE);
    err_clear(&e);
    ASSERT_FAIL(layout_check_id("a/../../etc", "deployment group id", &e));
    ASSERT_CONTAINS(e.msg, "deployment group id 'a/../../etc' contains '/'");
    err_clear(&e);
    ASSERT_FAIL(layout_check_id("", "deployment id", &e));
    err_clear(&e);
    ASSERT_FAIL(layout_check_id("a\nb", "deployment id", &e));
    err_clear(&e);
    struct err e2 = ERR_INIT;
    ASSERT_FAIL(layout_make_deployment_dir(test_tmpdir(), "..", "d-1", NULL, &e2));
    ASSERT_EQ(e2.code, ERR_UNSAFE);
}

TEST(layout_make_deployment_dir_R090)
{
    char *dir = NULL;
    ASSERT_OK(layout_make_deployment_dir(test_tmpdir(), GROUP, "d-1", &dir, NULL));
    ASSERT_TRUE(dir_exists(dir));
    struct stat st;
    ASSERT_OK(stat(dir, &st));
    free(dir);
}

TEST(layout_state_files_no_newline_atomic_0600_R102_R103_C110_C111_C278)
{
    const char *root = test_tmpdir();
    char *v = (char *)"unset";
    ASSERT_OK(layout_read_last_successful(root, GROUP, &v, NULL));
    ASSERT_NULL(v); /* missing file = none */
    AUTOFREE char *dep = layout_deployment_dir(root, GROUP, "d-1");
    ASSERT_OK(layout_record_last_successful(root, GROUP, dep, NULL));
    ASSERT_OK(layout_record_most_recent(root, GROUP, dep, NULL));
    AUTOFREE char *p = layout_last_successful_path(root, GROUP);
    char *raw = NULL;
    size_t len = 0;
    ASSERT_OK(read_file(p, 4096, &raw, &len, NULL));
    ASSERT_STREQ(raw, dep); /* exactly the path: no trailing newline */
    ASSERT_EQ(len, strlen(dep));
    free(raw);
    struct stat st;
    ASSERT_OK(stat(p, &st));
    ASSERT_EQ(st.st_mode & 0777, 0600);
    AUTOFREE char *m = layout_most_recent_path(root, GROUP);
    ASSERT_OK(stat(m, &st));
    ASSERT_EQ(st.st_mode & 0777, 0600);
    /* No temporary file left behind. */
    AUTOFREE char *tmpname = xasprintf("%s.tmp.%ld", p, (long)getpid());
    ASSERT_FALSE(file_exists(tmpname));
    char *got = NULL;
    ASSERT_OK(layout_read_most_recent(root, GROUP, &got, NULL));
    ASSERT_STREQ(got, dep);
    free(got);
    /* A rewrite replaces the content (truncate semantics). */
    ASSERT_OK(layout_record_last_successful(root, GROUP, "/x", NULL));
    ASSERT_OK(layout_read_last_successful(root, GROUP, &got, NULL));
    ASSERT_STREQ(got, "/x");
    free(got);
}

TEST(layout_reads_ruby_written_state_with_newline_R102)
{
    const char *root = test_tmpdir();
    test_write("deployment-instructions/" GROUP "_last_successful_install",
               "/opt/codedeploy-agent/deployment-root/" GROUP "/d-OLD\n");
    char *got = NULL;
    ASSERT_OK(layout_read_last_successful(root, GROUP, &got, NULL));
    ASSERT_STREQ(got, "/opt/codedeploy-agent/deployment-root/" GROUP "/d-OLD");
    free(got);
    test_write("deployment-instructions/" GROUP "_most_recent_install", "");
    got = (char *)"unset";
    ASSERT_OK(layout_read_most_recent(root, GROUP, &got, NULL));
    ASSERT_NULL(got);
}

/* Create <root>/<group>/<name> with an mtime of base + age seconds. */
static void make_rev(const char *name, int age)
{
    AUTOFREE char *rel = xasprintf(GROUP "/%s/bundle.tar", name);
    test_write(rel, "x");
    AUTOFREE char *dir = xasprintf("%s/" GROUP "/%s", test_tmpdir(), name);
    struct timespec ts[2] = {{1600000000 + age, 0}, {1600000000 + age, 0}};
    ASSERT_OK(utimensat(AT_FDCWD, dir, ts, 0));
}

static bool rev_exists(const char *name)
{
    AUTOFREE char *dir = xasprintf("%s/" GROUP "/%s", test_tmpdir(), name);
    return dir_exists(dir);
}

TEST(layout_prune_keeps_max_revisions_R106_C113)
{
    /* max_revisions 5 and 6 older dirs besides the current: the 2 oldest go. */
    for (int i = 1; i <= 6; i++) {
        char name[16];
        snprintf(name, sizeof(name), "d-%d", i);
        make_rev(name, i * 10);
    }
    make_rev("d-CUR", 0); /* current is the oldest by mtime yet never a candidate */
    unsigned removed = 99;
    ASSERT_OK(layout_prune_revisions(test_tmpdir(), GROUP, "d-CUR", 5, &removed, NULL));
    ASSERT_EQ(removed, 2);
    ASSERT_FALSE(rev_exists("d-1"));
    ASSERT_FALSE(rev_exists("d-2"));
    ASSERT_TRUE(rev_exists("d-3"));
    ASSERT_TRUE(rev_exists("d-6"));
    ASSERT_TRUE(rev_exists("d-CUR"));
    /* Now 4 others + current = 5: nothing more to do. */
    ASSERT_OK(layout_prune_revisions(test_tmpdir(), GROUP, "d-CUR", 5, &removed, NULL));
    ASSERT_EQ(removed, 0);
}

TEST(layout_prune_never_removes_last_successful_R106_C114)
{
    for (int i = 1; i <= 6; i++) {
        char name[16];
        snprintf(name, sizeof(name), "d-%d", i);
        make_rev(name, i * 10);
    }
    /* The oldest one is the last successful install (written with a trailing slash and a
     * newline, as a hand-edited file might be). */
    AUTOFREE char *last = xasprintf("%s/" GROUP "/d-1/\n", test_tmpdir());
    test_write("deployment-instructions/" GROUP "_last_successful_install", last);
    unsigned removed = 0;
    ASSERT_OK(layout_prune_revisions(test_tmpdir(), GROUP, "d-CUR", 5, &removed, NULL));
    ASSERT_EQ(removed, 2);
    ASSERT_TRUE(rev_exists("d-1"));
    ASSERT_FALSE(rev_exists("d-2"));
    ASSERT_FALSE(rev_exists("d-3"));
    ASSERT_TRUE(rev_exists("d-4"));
    /* max_revisions 1: extra = 4 others - 1 + 1 = 4, but only 3 are candidates. */
    ASSERT_OK(layout_prune_revisions(test_tmpdir(), GROUP, "d-CUR", 1, &removed, NULL));
    ASSERT_EQ(removed, 3);
    ASSERT_TRUE(rev_exists("d-1"));
}

TEST(layout_prune_does_not_follow_symlinks_R106)
{
    test_write("precious/keep.txt", "keep");
    for (int i = 1; i <= 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "d-%d", i);
        make_rev(name, i * 10);
    }
    AUTOFREE char *precious = xasprintf("%s/precious", test_tmpdir());
    AUTOFREE char *inside = xasprintf("%s/" GROUP "/d-1/link", test_tmpdir());
    ASSERT_OK(symlink(precious, inside));
    make_rev("d-1", 10); /* the new link bumped the directory's mtime */
    unsigned removed = 0;
    ASSERT_OK(layout_prune_revisions(test_tmpdir(), GROUP, "d-3", 2, &removed, NULL));
    ASSERT_EQ(removed, 1);
    ASSERT_FALSE(rev_exists("d-1"));
    AUTOFREE char *keep = xasprintf("%s/keep.txt", precious);
    ASSERT_TRUE(file_exists(keep));
}

TEST(layout_prune_missing_group_dir_is_fine)
{
    unsigned removed = 7;
    ASSERT_OK(layout_prune_revisions(test_tmpdir(), GROUP, "d-1", 5, &removed, NULL));
    ASSERT_EQ(removed, 0);
}

TEST(layout_prune_reports_failure_but_continues_R106)
{
    if (geteuid() == 0)
        SKIP("root can remove anything; the failure path needs an unprivileged user");
    for (int i = 1; i <= 4; i++) {
        char name[16];
        snprintf(name, sizeof(name), "d-%d", i);
        make_rev(name, i * 10);
    }
    AUTOFREE char *d1 = xasprintf("%s/" GROUP "/d-1", test_tmpdir());
    ASSERT_OK(chmod(d1, 0500));
    unsigned removed = 0;
    struct err e = ERR_INIT;
    ASSERT_FAIL(layout_prune_revisions(test_tmpdir(), GROUP, "d-4", 2, &removed, &e));
    ASSERT_EQ(removed, 1);
    ASSERT_FALSE(rev_exists("d-2"));
    chmod(d1, 0755);
}

/* Build name/d/d/.../d (depth levels, a file at the bottom) with *at() calls, one fd at a time. */
static void make_deep_tree(const char *top, int depth)
{
    int fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_TRUE(fd >= 0);
    for (int i = 0; i < depth; i++) {
        ASSERT_OK(mkdirat(fd, "d", 0755));
        int sub = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(sub >= 0);
        if (i % 100 == 0) {
            int f = openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            ASSERT_TRUE(f >= 0);
            close(f);
        }
        close(fd);
        fd = sub;
    }
    int f = openat(fd, "bottom", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_TRUE(f >= 0);
    close(f);
    close(fd);
}

TEST(layout_prune_removes_a_5000_deep_revision_with_few_fds_issue11)
{
    /* 5000 levels: paths far beyond PATH_MAX, and more levels than the fds allowed below. */
    make_rev("d-1", 10);
    make_rev("d-2", 20);
    make_rev("d-CUR", 30);
    AUTOFREE char *top = xasprintf("%s/" GROUP "/d-1", test_tmpdir());
    make_deep_tree(top, 5000);
    make_rev("d-1", 10); /* the oldest again */
    struct rlimit old_lim, lim;
    ASSERT_OK(getrlimit(RLIMIT_NOFILE, &old_lim));
    lim = old_lim;
    lim.rlim_cur = 64;
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &lim));
    unsigned removed = 0;
    struct err e = ERR_INIT;
    int r = layout_prune_revisions(test_tmpdir(), GROUP, "d-CUR", 2, &removed, &e);
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &old_lim));
    if (r < 0)
        FAILF("prune: %s", e.msg);
    ASSERT_EQ(removed, 1);
    ASSERT_FALSE(rev_exists("d-1"));
    ASSERT_TRUE(rev_exists("d-2"));
}
