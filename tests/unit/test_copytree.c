/* Tests for copytree: Local Directory revisions copied with modes and links, however
 * deep the tree. */
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "deploy/copytree.h"
#include "test.h"
#include "base/path.h"
#include "base/fsutil.h"

TEST(copytree_copies_files_modes_and_links_R122)
{
    const char *a = test_write("src/a.txt", "alpha");
    ASSERT_OK(chmod(a, 0751));
    test_write("src/sub/deeper/b.txt", "beta");
    AUTOFREE char *src = path_join(test_tmpdir(), "src");
    AUTOFREE char *sub = path_join(src, "sub");
    ASSERT_OK(chmod(sub, 0705));
    AUTOFREE char *lnk = path_join(src, "link");
    ASSERT_OK(symlink("sub/deeper/b.txt", lnk));
    AUTOFREE char *dst = path_join(test_tmpdir(), "dst");
    struct err e = ERR_INIT;
    if (copytree(src, dst, &e) < 0)
        FAILF("copytree: %s", e.msg);
    AUTOFREE char *da = path_join(dst, "a.txt");
    char *text = NULL;
    ASSERT_OK(read_file(da, 100, &text, NULL, NULL));
    ASSERT_STREQ(text, "alpha");
    free(text);
    struct stat st;
    ASSERT_OK(stat(da, &st));
    ASSERT_EQ(st.st_mode & 07777, 0751);
    AUTOFREE char *dsub = path_join(dst, "sub");
    ASSERT_OK(stat(dsub, &st));
    ASSERT_EQ(st.st_mode & 07777, 0705);
    AUTOFREE char *db = path_join(dst, "sub/deeper/b.txt");
    ASSERT_OK(read_file(db, 100, &text, NULL, NULL));
    ASSERT_STREQ(text, "beta");
    free(text);
    AUTOFREE char *dl = path_join(dst, "link");
    char target[64] = {0};
    ASSERT_EQ(readlink(dl, target, sizeof(target) - 1), 16);
    ASSERT_STREQ(target, "sub/deeper/b.txt");
}

TEST(copytree_copies_a_tree_deeper_than_path_max_with_few_fds_issue11)
{
    /* 3000 levels of "dd": paths of 9000 bytes, and more levels than the fds allowed. */
    AUTOFREE char *src = path_join(test_tmpdir(), "deep");
    ASSERT_OK(mkdir(src, 0755));
    int fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (int i = 0; i < 3000; i++) {
        ASSERT_OK(mkdirat(fd, "dd", 0755));
        int sub = openat(fd, "dd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(sub >= 0);
        close(fd);
        fd = sub;
    }
    int f = openat(fd, "leaf.txt", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_EQ(write(f, "leaf", 4), 4);
    close(f);
    close(fd);
    struct rlimit old_lim, lim;
    ASSERT_OK(getrlimit(RLIMIT_NOFILE, &old_lim));
    lim = old_lim;
    lim.rlim_cur = 64;
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &lim));
    AUTOFREE char *dst = path_join(test_tmpdir(), "copy");
    struct err e = ERR_INIT;
    int r = copytree(src, dst, &e);
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &old_lim));
    if (r < 0)
        FAILF("copytree: %s", e.msg);
    fd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (int i = 0; i < 3000; i++) {
        int sub = openat(fd, "dd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(sub >= 0);
        close(fd);
        fd = sub;
    }
    char buf[8] = {0};
    f = openat(fd, "leaf.txt", O_RDONLY | O_CLOEXEC);
    ASSERT_EQ(read(f, buf, sizeof(buf)), 4);
    ASSERT_STREQ(buf, "leaf");
    struct stat st;
    ASSERT_OK(fstat(f, &st));
    ASSERT_EQ(st.st_mode & 07777, 0600);
    close(f);
    close(fd);
}
