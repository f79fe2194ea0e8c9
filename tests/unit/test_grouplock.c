/* Tests for grouplock: waiting for a held lock is woken by its release and by
 * the stop flag, not by a clock. */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/stop.h"
#include "deploy/grouplock.h"
#include "test.h"

struct waiter {
    const struct stop *stop;
    int fd;
    struct err e;
};

static void *wait_forever(void *arg)
{
    struct waiter *w = arg;
    w->fd = grouplock_acquire(test_tmpdir(), "group-w", -1, w->stop, &w->e);
    return NULL;
}

/* A child takes the lock and holds it until a byte arrives on *ret_release. */
static pid_t hold_in_child(int *ret_release)
{
    int go[2], ready[2];
    ASSERT_OK(pipe(go));
    ASSERT_OK(pipe(ready));
    pid_t pid = fork();
    if (pid == 0) {
        int fd = grouplock_acquire(test_tmpdir(), "group-w", 0, NULL, NULL);
        char c = fd >= 0 ? 'y' : 'n';
        (void)!write(ready[1], &c, 1);
        (void)!read(go[0], &c, 1);
        _exit(0);
    }
    char c = 0;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    ASSERT_EQ(c, 'y');
    close(go[0]);
    close(ready[0]);
    close(ready[1]);
    *ret_release = go[1];
    return pid;
}

TEST(grouplock_waiter_gets_the_lock_when_the_holder_lets_go_R214)
{
    int release;
    pid_t child = hold_in_child(&release);
    struct waiter w = {.fd = -1};
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, wait_forever, &w), 0);
    ASSERT_EQ(write(release, "x", 1), 1);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    int st;
    waitpid(child, &st, 0);
    close(release);
    if (w.fd < 0)
        FAILF("acquire: %s", w.e.msg);
    grouplock_release(w.fd);
}

TEST(grouplock_wait_ends_when_stop_is_set_R214)
{
    int release;
    pid_t child = hold_in_child(&release);
    struct stop stop;
    struct err se = {0};
    ASSERT_OK(stop_init(&stop, &se));
    struct waiter w = {.fd = -1, .stop = &stop};
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, wait_forever, &w), 0);
    stop_request(&stop);
    ASSERT_EQ(pthread_join(t, NULL), 0);
    stop_done(&stop);
    ASSERT_EQ(w.fd, -1);
    ASSERT_EQ(w.e.code, ERR_TIMEOUT);
    ASSERT_CONTAINS(w.e.msg, "deployment group 'group-w' is busy");
    ASSERT_EQ(write(release, "x", 1), 1);
    int st;
    waitpid(child, &st, 0);
    close(release);
}
