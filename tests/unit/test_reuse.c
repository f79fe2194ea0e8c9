/* Tests for reuse: archive reuse of restart deployments (V-012, V-050). */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/path.h"
#include "base/util.h"
#include "deploy/bundlemeta.h"
#include "deploy/copytree.h"
#include "deploy/layout.h"
#include "deploy/reuse.h"
#include "test.h"

#define GROUP "dg-0001"

/* <tmp>/root/dg-0001/<id>/{bundle.tar, deployment-archive/{appspec.yml, app/a.txt}} */
static char *make_deployment(const char *id, bool bundle)
{
    AUTOFREE char *root = path_join(test_tmpdir(), "root");
    char *dir = NULL;
    ASSERT_OK(layout_make_deployment_dir(root, GROUP, id, &dir, NULL));
    AUTOFREE char *arch = layout_archive_dir(dir);
    AUTOFREE char *app = path_join(arch, "app");
    ASSERT_OK(mkdir_p(app, 0755, NULL));
    AUTOFREE char *as = path_join(arch, "appspec.yml");
    AUTOFREE char *a = path_join(app, "a.txt");
    test_write(as, "version: 0.0\nos: linux\n");
    test_write(a, "payload\n");
    if (bundle) {
        AUTOFREE char *b = layout_bundle_path(dir);
        test_write(b, "bundle bytes");
    }
    return dir;
}

static struct reuse_request req(const char *cur, const char *src)
{
    static char root[4096];
    snprintf(root, sizeof(root), "%s/root", test_tmpdir());
    return (struct reuse_request){
        .root_dir = root, .group_id = GROUP, .deployment_id = cur, .source_id = src};
}

TEST(reuse_source_id_form_V050)
{
    ASSERT_TRUE(reuse_source_id_valid("d-ABC123XYZ"));
    ASSERT_TRUE(reuse_source_id_valid("d-1"));
    char max[REUSE_ID_MAX + 2];
    memset(max, 'A', sizeof(max));
    max[0] = 'd', max[1] = '-', max[REUSE_ID_MAX] = 0;
    ASSERT_TRUE(reuse_source_id_valid(max));
    max[REUSE_ID_MAX] = 'A', max[REUSE_ID_MAX + 1] = 0;
    ASSERT_FALSE(reuse_source_id_valid(max)); /* 65 characters */
    const char *bad[] = {"",       "d-",    "D-ABC", "d-abc", "d-AB.C",   "d-A/B",
                         "d-A\\B", "d-A B", "d-..",  "x-ABC", "../d-ABC", "d-ABC\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (reuse_source_id_valid(bad[i]))
            FAILF("'%s' accepted", bad[i]);
    ASSERT_FALSE(reuse_source_id_valid(NULL));
}

TEST(reuse_copies_archive_and_hard_links_bundle)
{
    AUTOFREE char *src = make_deployment("d-SRC1", true);
    AUTOFREE char *dst = make_deployment("d-DST1", false);
    ASSERT_OK(bundlemeta_write_etag(src, "\"etag-1\"", NULL));
    AUTOFREE char *stale = path_join(dst, "deployment-archive/stale.txt");
    test_write(stale, "old");
    struct reuse_request r = req("d-DST1", "d-SRC1");
    struct err e = ERR_INIT;
    if (reuse_archive(&r, &e) < 0)
        FAILF("%s", e.msg);
    AUTOFREE char *darch = layout_archive_dir(dst);
    struct stat st;
    ASSERT_OK(lstat(darch, &st));
    ASSERT_TRUE(S_ISDIR(st.st_mode)); /* a copy, never a symlink */
    AUTOFREE char *copied = path_join(darch, "app/a.txt");
    ASSERT_TRUE(file_exists(copied));
    ASSERT_FALSE(file_exists(stale)); /* the old destination archive is gone */
    AUTOFREE char *sb = layout_bundle_path(src);
    AUTOFREE char *db = layout_bundle_path(dst);
    struct stat a, b;
    ASSERT_OK(stat(sb, &a));
    ASSERT_OK(stat(db, &b));
    ASSERT_EQ(a.st_ino, b.st_ino); /* hard link */
    AUTOFREE char *etag = bundlemeta_read_etag(dst);
    ASSERT_STREQ(etag, "etag-1");
    /* The copy is independent of the source. */
    AUTOFREE char *sa = path_join(src, "deployment-archive/app/a.txt");
    ASSERT_OK(unlink(sa));
    ASSERT_TRUE(file_exists(copied));
}

TEST(reuse_bundle_survives_pruned_source_V050)
{
    AUTOFREE char *src = make_deployment("d-SRC2", true);
    AUTOFREE char *dst = make_deployment("d-DST2", false);
    struct reuse_request r = req("d-DST2", "d-SRC2");
    ASSERT_OK(reuse_archive(&r, NULL));
    ASSERT_OK(rm_rf(src, NULL)); /* what retention does to the source later */
    AUTOFREE char *db = layout_bundle_path(dst);
    char *t = NULL;
    size_t n = 0;
    ASSERT_OK(read_file(db, 100, &t, &n, NULL));
    ASSERT_STREQ(t, "bundle bytes");
    free(t);
}

TEST(reuse_local_directory_source_without_bundle)
{
    AUTOFREE char *src = make_deployment("d-SRC3", false);
    AUTOFREE char *dst = make_deployment("d-DST3", true); /* stale bundle goes */
    struct reuse_request r = req("d-DST3", "d-SRC3");
    ASSERT_OK(reuse_archive(&r, NULL));
    AUTOFREE char *db = layout_bundle_path(dst);
    ASSERT_FALSE(file_exists(db));
}

static void expect_refused(struct reuse_request *r, int code, const char *needle)
{
    struct err e = ERR_INIT;
    ASSERT_FAIL(reuse_archive(r, &e));
    ASSERT_EQ(e.code, code);
    ASSERT_CONTAINS(e.msg, needle);
}

TEST(reuse_refuses_bad_sources_V050)
{
    AUTOFREE char *dst = make_deployment("d-DST4", false);
    AUTOFREE char *darch_file = path_join(dst, "deployment-archive/app/a.txt");
    struct reuse_request r = req("d-DST4", "d-lower");
    expect_refused(&r, ERR_UNSAFE, "is not of the form");
    r.source_id = "d-DST4";
    expect_refused(&r, ERR_UNSAFE, "is the current deployment");
    r.source_id = "d-GONE";
    expect_refused(&r, ERR_NOT_FOUND, "no archive directory");
    /* Empty archive. */
    AUTOFREE char *root = path_join(test_tmpdir(), "root");
    ASSERT_OK(layout_make_deployment_dir(root, GROUP, "d-EMPTY", NULL, NULL));
    AUTOFREE char *ea = path_join(root, GROUP "/d-EMPTY/deployment-archive");
    ASSERT_OK(mkdir(ea, 0755));
    r.source_id = "d-EMPTY";
    expect_refused(&r, ERR_NOT_FOUND, "is empty");
    /* Archive without the AppSpec. */
    AUTOFREE char *src = make_deployment("d-NOSPEC", true);
    AUTOFREE char *as = path_join(src, "deployment-archive/appspec.yml");
    ASSERT_OK(unlink(as));
    r.source_id = "d-NOSPEC";
    expect_refused(&r, ERR_NOT_FOUND, "no AppSpec");
    /* Unsafe AppSpec names. */
    AUTOFREE char *ok = make_deployment("d-OK", true);
    r.source_id = "d-OK";
    r.appspec_filename = "../appspec.yml";
    expect_refused(&r, ERR_UNSAFE, "not a safe relative path");
    r.appspec_filename = "/etc/passwd";
    expect_refused(&r, ERR_UNSAFE, "not a safe relative path");
    /* The destination's own archive was never touched by a refusal. */
    ASSERT_TRUE(file_exists(darch_file));
}

TEST(reuse_refuses_archive_resolving_outside_group_V050)
{
    AUTOFREE char *dst = make_deployment("d-DST5", false);
    AUTOFREE char *outside = path_join(test_tmpdir(), "elsewhere");
    AUTOFREE char *oarch = path_join(outside, "deployment-archive");
    ASSERT_OK(mkdir_p(oarch, 0755, NULL));
    AUTOFREE char *oas = path_join(oarch, "appspec.yml");
    test_write(oas, "version: 0.0\nos: linux\n");
    AUTOFREE char *link_path = path_join(test_tmpdir(), "root/" GROUP "/d-LINKED");
    ASSERT_OK(symlink(outside, link_path));
    struct reuse_request r = req("d-DST5", "d-LINKED");
    expect_refused(&r, ERR_UNSAFE, "outside the deployment group");
}

static int copy_then_fail(const char *src, const char *dst, struct err *err)
{
    if (copytree(src, dst, err) < 0)
        return -1;
    errno = EIO;
    return err_sys(err, "copy '%s'", src);
}

TEST(reuse_failure_mid_copy_leaves_nothing_V050)
{
    AUTOFREE char *src = make_deployment("d-SRC6", true);
    AUTOFREE char *dst = make_deployment("d-DST6", true);
    struct reuse_request r = req("d-DST6", "d-SRC6");
    r.copy = copy_then_fail;
    struct err e = ERR_INIT;
    ASSERT_FAIL(reuse_archive(&r, &e));
    ASSERT_EQ(e.code, ERR_SYSTEM);
    AUTOFREE char *darch = layout_archive_dir(dst);
    AUTOFREE char *db = layout_bundle_path(dst);
    ASSERT_FALSE(file_exists(darch));
    ASSERT_FALSE(file_exists(db));
    AUTOFREE char *sa = path_join(src, "deployment-archive/app/a.txt");
    ASSERT_TRUE(file_exists(sa)); /* the source is never harmed */
}

TEST(reuse_failure_to_link_removes_the_copy)
{
    AUTOFREE char *src = make_deployment("d-SRC7", false);
    AUTOFREE char *dst = make_deployment("d-DST7", false);
    AUTOFREE char *sb = layout_bundle_path(src);
    ASSERT_OK(mkdir(sb, 0755)); /* link(2) refuses directories */
    struct reuse_request r = req("d-DST7", "d-SRC7");
    struct err e = ERR_INIT;
    ASSERT_FAIL(reuse_archive(&r, &e));
    ASSERT_CONTAINS(e.msg, "hard-link");
    AUTOFREE char *darch = layout_archive_dir(dst);
    ASSERT_FALSE(file_exists(darch));
}

TEST(reuse_copy_gets_the_unpack_checks_V049)
{
    AUTOFREE char *src = make_deployment("d-SRC8", true);
    AUTOFREE char *dst = make_deployment("d-DST8", false);
    AUTOFREE char *suid = path_join(src, "deployment-archive/app/tool");
    test_write(suid, "#!/bin/sh\n");
    ASSERT_OK(chmod(suid, 04755));
    struct reuse_request r = req("d-DST8", "d-SRC8");
    ASSERT_OK(reuse_archive(&r, NULL));
    AUTOFREE char *copied = path_join(dst, "deployment-archive/app/tool");
    struct stat st;
    ASSERT_OK(stat(copied, &st));
    ASSERT_EQ(st.st_mode & 07777, 0755); /* cleared, as unpack clears them */
    r.allow_setid = true;
    ASSERT_OK(reuse_archive(&r, NULL));
    ASSERT_OK(stat(copied, &st));
    ASSERT_EQ(st.st_mode & 07777, 04755);
    /* A link in the archive under reject_symlinks_in_bundle: refused, nothing left. */
    AUTOFREE char *ln = path_join(src, "deployment-archive/app/link");
    ASSERT_OK(symlink("a.txt", ln));
    r.reject_links = true;
    struct err e = ERR_INIT;
    ASSERT_FAIL(reuse_archive(&r, &e));
    ASSERT_EQ(e.code, ERR_ARCHIVE);
    ASSERT_CONTAINS(e.msg, "app/link");
    AUTOFREE char *darch = layout_archive_dir(dst);
    ASSERT_FALSE(file_exists(darch));
}

TEST(reuse_local_ids_only_for_codedeploy_local_V067)
{
    ASSERT_TRUE(reuse_local_id_valid("d-ABC123XYZ-local"));
    ASSERT_TRUE(reuse_local_id_valid("local-12345"));
    const char *bad[] = {"d-local",   "d--local", "d-abc-local",    "local-",
                         "local-12a", "d-ABC",    "d-ABC-local/..", "local-1 2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (reuse_local_id_valid(bad[i]))
            FAILF("'%s' accepted", bad[i]);
    ASSERT_FALSE(reuse_source_id_valid("d-ABC123XYZ-local"));
    AUTOFREE char *src = make_deployment("d-ABC123XYZ-local", true);
    AUTOFREE char *dst = make_deployment("d-DST9ZZZZZ-local", false);
    struct reuse_request r = req("d-DST9ZZZZZ-local", "d-ABC123XYZ-local");
    expect_refused(&r, ERR_UNSAFE, "is not of the form"); /* the service path stays strict */
    r.allow_local_ids = true;
    ASSERT_OK(reuse_archive(&r, NULL));
}
