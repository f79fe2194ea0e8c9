/* selinux: see selinux.h. */
#include "deploy/selinux.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "parse/appspec.h"
#include "base/buf.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

bool selinux_enabled(int mode)
{
    if (mode)
        return mode > 0;
    return access("/sys/fs/selinux/enforce", F_OK) == 0;
}

/* Default dispositions for every signal and an empty mask in the child. */
static void spawn_attr_clean(posix_spawnattr_t *at)
{
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_init(at);
    posix_spawnattr_setsigdefault(at, &all);
    posix_spawnattr_setsigmask(at, &none);
    posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
}

/* Run argv; *ret_status is the exit status (or 128+signal).  Returns -1 if it cannot start. */
static int run_cmd(char *const argv[], int *ret_status)
{
    const char *path = getenv("PATH");
    AUTOFREE char *path_var = xasprintf("PATH=%s", path && *path ? path : DEFAULT_PATH);
    char *envp[] = {path_var, (char *)"LC_ALL=C", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_t at;
    spawn_attr_clean(&at);
    pid_t pid;
    int r = posix_spawnp(&pid, argv[0], &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (r != 0) {
        errno = r;
        return -1;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    *ret_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return 0;
}

void selinux_forget(const char *path)
{
    AUTOFREE char *p = xstrdup(path);
    char *argv[] = {(char *)"semanage", (char *)"fcontext", (char *)"-d", p, NULL};
    int status;
    (void)run_cmd(argv, &status);
}

static int failed(char *const argv[], int status, struct err *err)
{
    struct buf b;
    buf_init(&b, 4096);
    for (char *const *a = argv; *a; a++)
        buf_appendf(&b, NULL, "%s%s", a == argv ? "" : " ", *a);
    err_set(err, ERR_INSTALL,
            "The deployment failed because the application specification file contains an error "
            "in the settings for the context parameter. Update the permissions section of the "
            "AppSpec file, and then try again. Failed command: %s. Exit code: %d",
            b.data, status);
    buf_done(&b);
    return -1;
}

int selinux_apply(const struct appspec_context *c, const char *real_path,
                  int (*applied)(void *ctx, struct err *err), void *ctx, struct err *err)
{
    AUTOFREE char *real = xstrdup(real_path);
    char *argv[12];
    size_t k = 0;
    argv[k++] = (char *)"semanage";
    argv[k++] = (char *)"fcontext";
    argv[k++] = (char *)"-a";
    if (c->user) {
        argv[k++] = (char *)"-s";
        argv[k++] = c->user;
    }
    argv[k++] = (char *)"-t";
    argv[k++] = c->type;
    if (c->range) { /* no -r without a range */
        argv[k++] = (char *)"-r";
        argv[k++] = c->range;
    }
    argv[k++] = real;
    argv[k] = NULL;
    char *rargv[] = {(char *)"restorecon", (char *)"-v", real, NULL};
    int status = 127;
    if (run_cmd(argv, &status) < 0 || status != 0)
        return failed(argv, status, err);
    if (applied && applied(ctx, err) < 0)
        return -1;
    status = 127;
    if (run_cmd(rargv, &status) < 0 || status != 0)
        return failed(rargv, status, err);
    return 0;
}
