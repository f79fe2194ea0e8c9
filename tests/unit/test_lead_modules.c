/* Unit tests for daemon backoff, tracking files, the PID file and group locks
 * (R-010, R-065, R-074..R-076, R-214, V-032..V-034). */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "run/daemon.h"
#include "deploy/grouplock.h"
#include "sys/pidfile.h"
#include "test.h"
#include "deploy/tracking.h"
#include "base/path.h"
#include "base/fsutil.h"

TEST(backoff_schedule_R065)
{
    static const unsigned want[] = {0, 10, 13, 17, 21, 27, 34, 44, 56, 71, 90};
    for (unsigned n = 0; n <= 10; n++)
        ASSERT_EQ(daemon_backoff_s(n), want[n]);
    ASSERT_EQ(daemon_backoff_s(11), 90);
    ASSERT_EQ(daemon_backoff_s(1000), 90);
}

TEST(tracking_write_read_remove_R074)
{
    struct err e = ERR_INIT;
    char *dir = path_join(test_tmpdir(), "ongoing-deployment");
    ASSERT_OK(tracking_write(dir, "d-ABC", "eyJhIjoiYiJ9+/=", false, &e));
    char *p = path_join(dir, "d-ABC");
    char *data = NULL;
    ASSERT_OK(read_file(p, 1000, &data, NULL, &e));
    ASSERT_STREQ(data, "eyJhIjoiYiJ9+/="); /* no trailing newline */
    free(data);
    struct stat st;
    ASSERT_OK(stat(p, &st));
    ASSERT_EQ(st.st_mode & 0777, 0600);
    ASSERT_EQ(tracking_count(dir), 1);
    tracking_remove(dir, "d-ABC");
    ASSERT_FALSE(file_exists(p));
    ASSERT_FAIL(tracking_write(dir, "../evil", "x", false, &e));
    ASSERT_EQ(e.code, ERR_UNSAFE);
    free(p);
    free(dir);
}

TEST(tracking_newest_skips_and_deletes_stale_R075_R076)
{
    struct err e = ERR_INIT;
    char *dir = path_join(test_tmpdir(), "od");
    ASSERT_OK(tracking_write(dir, "d-OLD", "old-id", false, &e));
    ASSERT_OK(tracking_write(dir, "d-STALE", "stale-id", false, &e));
    ASSERT_OK(tracking_write(dir, "d-NEW", "new-id\n", false, &e)); /* older agents' newline */
    char *p;
    struct utimbuf ut;
    time_t now = time(NULL);
    p = path_join(dir, "d-OLD");
    ut.actime = ut.modtime = now - 100;
    utime(p, &ut);
    free(p);
    p = path_join(dir, "d-STALE");
    ut.actime = ut.modtime = now - 86401 - 10;
    utime(p, &ut);
    char *stale = p;
    char *dep = NULL, *id = NULL;
    ASSERT_OK(tracking_newest(dir, &dep, &id, &e));
    ASSERT_STREQ(dep, "d-NEW");
    ASSERT_STREQ(id, "new-id");
    ASSERT_FALSE(file_exists(stale));
    ASSERT_EQ(tracking_count(dir), 2);
    free(dep);
    free(id);
    free(stale);
    free(dir);
}

TEST(tracking_empty_dir_has_none)
{
    char *dep = (char *)1, *id = (char *)1;
    ASSERT_OK(tracking_newest("/nonexistent/dir", &dep, &id, NULL));
    ASSERT_NULL(dep);
    ASSERT_NULL(id);
}

TEST(pidfile_lock_write_check_R010)
{
    struct err e = ERR_INIT;
    struct pidfile pf;
    char *dir = path_join(test_tmpdir(), "state/.pid");
    pidfile_init(&pf, dir, "codedeploy-agent");
    pid_t pid = 0;
    ASSERT_EQ(pidfile_check(&pf, &pid), PIDFILE_NONE);
    ASSERT_OK(pidfile_lock(&pf, &e));
    ASSERT_OK(pidfile_write(&pf, getpid(), &e));
    char *data = NULL;
    ASSERT_OK(read_file(pf.pid_path, 100, &data, NULL, &e));
    char want[32];
    snprintf(want, sizeof(want), "%ld\n", (long)getpid());
    ASSERT_STREQ(data, want);
    free(data);
    struct stat st;
    ASSERT_OK(stat(pf.lock_path, &st));
    ASSERT_EQ(st.st_mode & 0777, 0644);
    /* Another open file description cannot take the flock (a second agent, R-001). */
    int fd = open(pf.lock_path, O_RDWR | O_CLOEXEC);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), -1);
    close(fd);
    struct pidfile pf2;
    pidfile_init(&pf2, dir, "codedeploy-agent");
    ASSERT_FAIL(pidfile_lock(&pf2, &e));
    ASSERT_CONTAINS(e.msg, "another agent holds the lock");
    pidfile_done(&pf2);
    /* The test binary is not an agent: its PID file counts as stale. */
    ASSERT_EQ(pidfile_check(&pf, &pid), PIDFILE_STALE);
    ASSERT_EQ(pid, getpid());
    test_write(pf.pid_path, "garbage\n");
    ASSERT_EQ(pidfile_check(&pf, &pid), PIDFILE_STALE);
    test_write(pf.pid_path, "");
    ASSERT_EQ(pidfile_check(&pf, &pid), PIDFILE_STALE);
    pidfile_remove(&pf);
    ASSERT_EQ(pidfile_check(&pf, &pid), PIDFILE_NONE);
    pidfile_done(&pf);
    free(dir);
}

TEST(grouplock_excludes_second_holder_R214)
{
    struct err e = ERR_INIT;
    int fd = grouplock_acquire(test_tmpdir(), "group-1", 0, NULL, &e);
    ASSERT_TRUE(fd >= 0);
    pid_t child = fork();
    if (child == 0) {
        struct err ce = ERR_INIT;
        int r = grouplock_acquire(test_tmpdir(), "group-1", 200, NULL, &ce);
        int other = grouplock_acquire(test_tmpdir(), "group-2", 0, NULL, &ce);
        _exit(r < 0 && ce.code == ERR_TIMEOUT && other >= 0 ? 0 : 1);
    }
    int st = 0;
    waitpid(child, &st, 0);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    grouplock_release(fd);
    fd = grouplock_acquire(test_tmpdir(), "group-1", 0, NULL, &e);
    ASSERT_TRUE(fd >= 0);
    grouplock_release(fd);
    ASSERT_FAIL(grouplock_acquire(test_tmpdir(), "../x", 0, NULL, &e));
    ASSERT_EQ(e.code, ERR_UNSAFE);
}
