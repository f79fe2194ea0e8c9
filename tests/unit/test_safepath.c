/* Tests for safepath and the root-dir checks built on it (issue 18 item 4, R-219): directories
 * other users can write are refused with path, owner and mode, and links planted below the root
 * dir are never followed. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/path.h"
#include "aws/onprem.h"
#include "base/safepath.h"
#include "base/util.h"
#include "deploy/archmeta.h"
#include "deploy/grouplock.h"
#include "deploy/layout.h"
#include "deploy/tracking.h"
#include "test.h"

/* A fresh root dir (0755) below the test's tmpdir, and a victim directory beside it. */
static char *make_root(const char **ret_victim)
{
    char *root = path_join(test_tmpdir(), "root");
    ASSERT_OK(mkdir(root, 0755));
    ASSERT_OK(chmod(test_tmpdir(), 0755));
    static char victim[4096];
    snprintf(victim, sizeof(victim), "%s/victim", test_tmpdir());
    ASSERT_OK(mkdir(victim, 0755));
    *ret_victim = victim;
    return root;
}

TEST(safepath_refuses_group_or_other_writable_dir_naming_owner_and_mode_issue18)
{
    const char *victim;
    AUTOFREE char *root = make_root(&victim);
    struct err e = ERR_INIT;
    ASSERT_OK(safepath_check(root, geteuid(), true, &e));
    ASSERT_OK(chmod(root, 0777));
    ASSERT_FAIL(safepath_check(root, geteuid(), true, &e));
    ASSERT_EQ(e.code, ERR_UNSAFE);
    ASSERT_CONTAINS(e.msg, root);
    ASSERT_CONTAINS(e.msg, "mode 0777");
    ASSERT_CONTAINS(e.msg, "uid ");
    err_clear(&e);
    ASSERT_OK(chmod(root, 0775));
    ASSERT_FAIL(layout_check_root(root, NULL, geteuid(), &e));
    ASSERT_CONTAINS(e.msg, "mode 0775");
}

TEST(safepath_refuses_dir_owned_by_another_user_issue18)
{
    if (geteuid() != 0)
        SKIP("needs root to give a directory to another user");
    const char *victim;
    AUTOFREE char *root = make_root(&victim);
    ASSERT_OK(chown(root, 65534, 65534));
    struct err e = ERR_INIT;
    ASSERT_FAIL(safepath_check(root, 0, true, &e));
    ASSERT_CONTAINS(e.msg, "uid 65534");
    ASSERT_CONTAINS(e.msg, "mode 0755");
    /* The same directory is fine for an agent running as that user. */
    ASSERT_OK(safepath_check(root, 65534, true, NULL));
}

TEST(safepath_accepts_sticky_root_owned_ancestor_but_not_as_the_dir_itself)
{
    struct stat st = {.st_mode = S_IFDIR | 01777, .st_uid = 0};
    ASSERT_OK(safepath_check_stat(&st, "/tmp", 1000, true, NULL));
    ASSERT_FAIL(safepath_check_stat(&st, "/tmp", 1000, false, NULL));
    st.st_uid = 1001;
    ASSERT_FAIL(safepath_check_stat(&st, "/tmp", 1000, true, NULL));
}

TEST(safepath_refuses_an_untrusted_parent_issue18)
{
    const char *victim;
    AUTOFREE char *root = make_root(&victim);
    AUTOFREE char *inner = path_join(root, "inner");
    ASSERT_OK(mkdir(inner, 0755));
    ASSERT_OK(chmod(root, 0757));
    struct err e = ERR_INIT;
    ASSERT_FAIL(safepath_check(inner, geteuid(), true, &e));
    ASSERT_CONTAINS(e.msg, root);
}

/* Each directory the agent writes in, planted as a link to the victim: nothing lands there. */
TEST(layout_never_writes_through_planted_links_issue18)
{
    const char *victim;
    AUTOFREE char *root = make_root(&victim);
    const char *names[] = {"grp", "deployment-instructions", ".cdagent-locks",
                           "ongoing-deployment"};
    for (size_t i = 0; i < 4; i++) {
        AUTOFREE char *p = path_join(root, names[i]);
        ASSERT_OK(symlink(victim, p));
    }
    struct err e = ERR_INIT;
    ASSERT_FAIL(layout_make_deployment_dir(root, "grp", "d-1", NULL, &e));
    ASSERT_EQ(e.code, ERR_UNSAFE);
    err_clear(&e);
    ASSERT_FAIL(layout_record_most_recent(root, "grp", "/x", &e));
    ASSERT_EQ(e.code, ERR_UNSAFE);
    err_clear(&e);
    ASSERT_FAIL(grouplock_acquire(root, "grp", 0, NULL, &e));
    ASSERT_EQ(e.code, ERR_UNSAFE);
    AUTOFREE char *tdir = layout_ongoing_dir(root, NULL);
    ASSERT_FAIL(tracking_write(tdir, "d-1", "hcid", false, NULL));
    AUTOFREE char *v = path_join(victim, "d-1");
    ASSERT_FALSE(file_exists(v) || dir_exists(v));
    AUTOFREE char *lk = path_join(victim, "grp.lock");
    ASSERT_FALSE(file_exists(lk));
    AUTOFREE char *mr = path_join(victim, "grp_most_recent_install");
    ASSERT_FALSE(file_exists(mr));
    err_clear(&e);
    ASSERT_FAIL(layout_check_root(root, NULL, geteuid(), &e));
    ASSERT_CONTAINS(e.msg, "symbolic link");
}

TEST(layout_check_root_refuses_planted_log_link_and_untrusted_group_dir_issue18)
{
    const char *victim;
    AUTOFREE char *root = make_root(&victim);
    ASSERT_OK(layout_make_deployment_dir(root, "grp", "d-1", NULL, NULL));
    ASSERT_OK(layout_check_root(root, NULL, geteuid(), NULL));
    AUTOFREE char *logs = path_join(root, "grp/d-1/logs");
    ASSERT_OK(mkdir(logs, 0755));
    AUTOFREE char *slog = path_join(logs, "scripts.log");
    AUTOFREE char *target = path_join(victim, "x");
    ASSERT_OK(symlink(target, slog));
    struct err e = ERR_INIT;
    ASSERT_FAIL(layout_check_root(root, NULL, geteuid(), &e));
    ASSERT_CONTAINS(e.msg, slog);
    ASSERT_OK(unlink(slog));
    AUTOFREE char *g = path_join(root, "grp");
    ASSERT_OK(chmod(g, 0777));
    err_clear(&e);
    ASSERT_FAIL(layout_check_root(root, NULL, geteuid(), &e));
    ASSERT_CONTAINS(e.msg, g);
    ASSERT_CONTAINS(e.msg, "mode 0777");
}

TEST(archmeta_guard_seals_the_script_and_keeps_the_bundle_metadata_issue11)
{
    if (geteuid() != 0)
        SKIP("needs root: files owned by another user and trusted.* attributes");
    AUTOFREE char *dep = path_join(test_tmpdir(), "dep");
    ASSERT_OK(mkdir(dep, 0755));
    ASSERT_OK(chmod(test_tmpdir(), 0755));
    AUTOFREE char *arch = path_join(dep, "deployment-archive");
    ASSERT_OK(mkdir(arch, 0777));
    ASSERT_OK(chown(arch, 1000, 1000));
    AUTOFREE char *s = path_join(arch, "h.sh");
    test_write(s, "#!/bin/sh\n");
    ASSERT_OK(chown(s, 1000, 1000));
    ASSERT_OK(chmod(s, 04777));
    /* A writer that opened the script before it was sealed. */
    int early = open(s, O_WRONLY | O_CLOEXEC);
    ASSERT_OK(early);
    struct err e = ERR_INIT;
    if (archmeta_guard(arch, "h.sh", &e) < 0)
        FAILF("guard: %s", e.msg);
    ASSERT_EQ(write(early, "rm -rf /\n", 9), 9);
    close(early);
    char *body = NULL;
    ASSERT_OK(read_file(s, 100, &body, NULL, NULL));
    ASSERT_STREQ(body, "#!/bin/sh\n");
    free(body);
    struct stat st;
    ASSERT_OK(lstat(s, &st));
    ASSERT_EQ(st.st_uid, 0u);
    ASSERT_EQ(st.st_mode & 07777, 0755u);
    ASSERT_OK(lstat(arch, &st));
    ASSERT_EQ(st.st_uid, 0u);
    ASSERT_EQ(st.st_mode & 0777, 0755u);
    int fd = open(s, O_RDONLY | O_CLOEXEC);
    ASSERT_OK(archmeta_fstat(fd, &st));
    close(fd);
    ASSERT_EQ(st.st_uid, 1000u);
    ASSERT_EQ(st.st_mode & 07777, 04777u);
}

TEST(archmeta_guard_refuses_an_untrusted_deployment_directory_issue11)
{
    AUTOFREE char *dep = path_join(test_tmpdir(), "dep");
    ASSERT_OK(mkdir(dep, 0755));
    ASSERT_OK(chmod(test_tmpdir(), 0777));
    AUTOFREE char *arch = path_join(dep, "deployment-archive");
    ASSERT_OK(mkdir(arch, 0755));
    test_write("dep/deployment-archive/h.sh", "#!/bin/sh\n");
    struct err e = ERR_INIT;
    ASSERT_FAIL(archmeta_guard(arch, "h.sh", &e));
    ASSERT_EQ(e.code, ERR_UNSAFE);
    ASSERT_CONTAINS(e.msg, "mode 0777");
}

TEST(onprem_file_others_can_write_is_refused_and_readable_warned_issue11)
{
    const char *p = test_private_copy("tests/data/config/onprem-user.yml");
    struct onprem o;
    struct err e = ERR_INIT;
    ASSERT_OK(onprem_load(p, &o, &e));
    ASSERT_EQ(o.nwarnings, 0);
    onprem_done(&o);
    ASSERT_OK(chmod(p, 0644));
    ASSERT_OK(onprem_load(p, &o, &e));
    ASSERT_EQ(o.nwarnings, 1);
    ASSERT_CONTAINS(o.warnings[0], "can be read by other users");
    onprem_done(&o);
    ASSERT_OK(chmod(p, 0666));
    ASSERT_FAIL(onprem_load(p, &o, &e));
    ASSERT_EQ(e.code, ERR_UNSAFE);
    ASSERT_CONTAINS(e.msg, p);
    ASSERT_CONTAINS(e.msg, "mode 0666");
    ASSERT_CONTAINS(e.msg, "uid ");
    if (geteuid() == 0) {
        ASSERT_OK(chmod(p, 0600));
        ASSERT_OK(chown(p, 65534, 65534));
        err_clear(&e);
        ASSERT_FAIL(onprem_load(p, &o, &e));
        ASSERT_CONTAINS(e.msg, "uid 65534");
    }
}
