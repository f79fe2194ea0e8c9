/* Unit tests for disk safety and the disk budget (deploy/diskspace, deploy/retention; issue 16
 * item 2). */
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "base/fsutil.h"
#include "base/path.h"
#include "base/util.h"
#include "deploy/diskspace.h"
#include "deploy/layout.h"
#include "deploy/retention.h"
#include "test.h"

TEST(diskspace_need_uses_allowance_and_cap)
{
    struct diskspace_need n;
    diskspace_need_for(100 * 1000 * 1000, 0, 0, &n);
    ASSERT_EQ(n.bytes, 200ULL * 1000 * 1000); /* bundle + 1 x bundle (the default allowance) */
    diskspace_need_for(100 * 1000 * 1000, 3, 0, &n);
    ASSERT_EQ(n.bytes, 400ULL * 1000 * 1000); /* bundle + 3 x bundle */
    ASSERT_EQ(n.inodes, 100 * 1000 * 1000 / DISKSPACE_BYTES_PER_INODE);
    diskspace_need_for(100 * 1000 * 1000, 5, 50 * 1000 * 1000, &n);
    ASSERT_EQ(n.bytes, 150ULL * 1000 * 1000); /* expansion capped by max_extracted */
    diskspace_need_for(10, 2, 0, &n);
    ASSERT_EQ(n.inodes, DISKSPACE_MIN_INODES);
    diskspace_need_for(UINT64_MAX / 2, 4, 0, &n);
    ASSERT_TRUE(n.bytes == UINT64_MAX); /* saturates */
}

TEST(diskspace_judge_gives_the_numbers)
{
    struct err e = ERR_INIT;
    struct diskspace_need n;
    diskspace_need_for(200 * 1000 * 1000, 3, 0, &n);
    struct diskspace_free f = {120500000, 1000000, 1};
    ASSERT_FAIL(diskspace_judge(&n, &f, 200 * 1000 * 1000, 3, "s3://b/app.zip", "/root", &e));
    ASSERT_EQ(e.code, ERR_LIMIT);
    ASSERT_STREQ(e.msg, "not enough disk space in /root for s3://b/app.zip: the bundle is 200.0 MB "
                        "and needs 800.0 MB with the expansion allowance x3 "
                        "(:bundle_expansion_allowance:), but 120.5 MB are free");
    err_clear(&e);
    f = (struct diskspace_free){900 * 1000 * 1000, 10, 1};
    ASSERT_FAIL(diskspace_judge(&n, &f, 200 * 1000 * 1000, 3, "s3://b/app.zip", "/root", &e));
    ASSERT_CONTAINS(e.msg, "not enough free inodes in /root");
    ASSERT_CONTAINS(e.msg, "but 10 are free");
    err_clear(&e);
    f.has_inodes = 0; /* btrfs: no inode counts, no inode test */
    ASSERT_OK(diskspace_judge(&n, &f, 200 * 1000 * 1000, 3, "s3://b/app.zip", "/root", &e));
    struct diskspace_free real;
    ASSERT_OK(diskspace_free_of(test_tmpdir(), &real, &e));
    ASSERT_TRUE(real.bytes > 0);
    ASSERT_FAIL(diskspace_free_of("/nonexistent/dir", &real, &e));
}

/* <root>/g/<name> holding kb KiB of data with mtime t. */
static void make_rev(const char *root, const char *name, size_t kb, time_t t)
{
    char rel[256];
    (void)snprintf(rel, sizeof(rel), "%s/g/%s/bundle.tar", root, name);
    char *data = xmalloc(kb * 1024 + 1);
    memset(data, 'x', kb * 1024);
    data[kb * 1024] = '\0';
    test_write(rel, data);
    free(data);
    char dir[256];
    (void)snprintf(dir, sizeof(dir), "%s/g/%s", root, name);
    struct utimbuf ut = {t, t};
    ASSERT_OK(utime(dir, &ut));
}

TEST(retention_budget_keeps_current_and_last_successful)
{
    struct err e = ERR_INIT;
    char *root = path_join(test_tmpdir(), "root");
    time_t now = time(NULL);
    make_rev(root, "d-1", 400, now - 500); /* oldest, last successful: kept */
    make_rev(root, "d-2", 400, now - 400);
    make_rev(root, "d-3", 400, now - 300);
    make_rev(root, "d-4", 400, now - 200);
    make_rev(root, "d-5", 400, now - 100); /* being deployed: kept */
    char *gdir = path_join(root, "g");
    char *d1 = path_join(gdir, "d-1");
    ASSERT_OK(layout_record_last_successful(root, "g", d1, &e));
    unsigned removed = 0;
    uint64_t used = 0;
    /* Budget of ~1.3 MB: d-2 and d-3 go (oldest removable first); d-1, d-4, d-5 stay. */
    ASSERT_OK(retention_prune_budget(root, "g", "d-5", 1300 * 1024, &removed, &used, &e));
    ASSERT_EQ(removed, 2);
    ASSERT_TRUE(used <= 1300 * 1024);
    char *p = path_join(gdir, "d-1");
    ASSERT_TRUE(dir_exists(p));
    free(p);
    p = path_join(gdir, "d-2");
    ASSERT_FALSE(dir_exists(p));
    free(p);
    p = path_join(gdir, "d-3");
    ASSERT_FALSE(dir_exists(p));
    free(p);
    p = path_join(gdir, "d-4");
    ASSERT_TRUE(dir_exists(p));
    free(p);
    /* A budget nothing can meet removes every other revision but never the two kept ones. */
    ASSERT_OK(retention_prune_budget(root, "g", "d-5", 1, &removed, &used, &e));
    ASSERT_EQ(removed, 1);
    p = path_join(gdir, "d-5");
    ASSERT_TRUE(dir_exists(p));
    free(p);
    ASSERT_TRUE(dir_exists(d1));
    ASSERT_TRUE(retention_revisions_usage(root, NULL) >= used);
    /* budget 0: nothing */
    ASSERT_OK(retention_prune_budget(root, "g", "d-5", 0, &removed, NULL, &e));
    ASSERT_EQ(removed, 0);
    free(d1);
    free(gdir);
    free(root);
}
