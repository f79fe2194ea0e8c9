/* Tests for hook: each runs a real script through the real runner (spec §11, R-150..R-169,
 * v2-delta V-036..V-041, checklist C-160..C-183, C-270..C-273). */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook/capture.h"
#include "hook/hook.h"
#include "sys/scope.h"
#include "hook/scriptlog.h"
#include "base/stop.h"
#include "base/fsutil.h"
#include "base/util.h"

static char *env_default[] = {(char *)"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                              (char *)"LIFECYCLE_EVENT=ApplicationStart", NULL};

/* Write an executable script into the test's archive dir; returns its absolute path (owned). */
static char *script(const char *rel, const char *body, mode_t mode)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/archive/%s", test_tmpdir(), rel);
    test_write(path, body);
    chmod(path, mode);
    return xstrdup(path);
}

static struct scriptlog *tmp_log(void)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/logs/scripts.log", test_tmpdir());
    struct scriptlog_opts o = {.path = path};
    return scriptlog_new(&o);
}

static char *read_log(void)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/logs/scripts.log", test_tmpdir());
    char *data = NULL;
    size_t n;
    if (read_file(path, 1 << 26, &data, &n, NULL) < 0)
        return xstrdup("");
    return data;
}

static int run(const char *path, const char *loc, uint64_t timeout_s, struct scriptlog *log,
               struct hook_result *res, struct err *err)
{
    struct hook_opts o = {.path = path,
                          .location = loc,
                          .timeout_s = timeout_s,
                          .envp = env_default,
                          .log = log,
                          .output_grace_ms = 500,
                          .kill_grace_ms = 1000};
    return hook_run(&o, res, err);
}

static bool pid_alive(pid_t pid)
{
    if (pid <= 0)
        return false;
    if (kill(pid, 0) < 0)
        return false;
    /* a zombie is not alive */
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
    char *data = NULL;
    size_t n;
    if (read_file(p, 4096, &data, &n, NULL) < 0)
        return false;
    const char *rp = strrchr(data, ')');
    bool zombie = rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
    free(data);
    return !zombie;
}

static pid_t read_pidfile(const char *rel)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), rel);
    char *data = NULL;
    size_t n;
    for (int i = 0; i < 100 && read_file(path, 64, &data, &n, NULL) < 0; i++)
        usleep(20000);
    if (!data)
        return -1;
    while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == ' '))
        data[--n] = '\0';
    uint64_t v = 0;
    int rc = parse_uint(data, 1, 1u << 30, &v, NULL);
    free(data);
    return rc < 0 ? -1 : (pid_t)v;
}

static void wait_gone(pid_t pid, int ms)
{
    for (int i = 0; i < ms / 10 && pid_alive(pid); i++)
        usleep(10000);
}

/* exit 0 is success; output recorded with [stdout]/[stderr]. */
TEST(hook_r166_success_and_output)
{
    AUTOFREE char *p = script("ok.sh", "#!/bin/sh\necho out\necho err >&2\nexit 0\n", 0755);
    struct scriptlog *log = tmp_log();
    struct hook_result res;
    struct err err = ERR_INIT;
    ASSERT_OK(run(p, "ok.sh", 10, log, &res, &err));
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_FALSE(res.outputs_left_open);
    ASSERT_TRUE(res.pid > 0);
    AUTOFREE char *tail = scriptlog_tail(log, NULL);
    ASSERT_CONTAINS(tail, "[stdout]out\n");
    ASSERT_CONTAINS(tail, "[stderr]err\n");
    AUTOFREE char *data = read_log();
    ASSERT_CONTAINS(data, " [stdout]out\n");
    scriptlog_unref(log);
}

/* R-166, C-179: exit 3 -> code 4 with the exact message. */
TEST(hook_r166_exit_code_message)
{
    AUTOFREE char *p = script("scripts/start.sh", "#!/bin/sh\necho boom >&2\nexit 3\n", 0755);
    struct hook_result res;
    struct err err = ERR_INIT;
    ASSERT_FAIL(run(p, "scripts/start.sh", 10, NULL, &res, &err));
    ASSERT_EQ(err.code, ERR_SCRIPT_FAILED);
    ASSERT_STREQ(err.msg, "Script at specified location: scripts/start.sh failed with exit code 3");
    ASSERT_EQ(res.exit_code, 3);
}

/* R-166, C-180: killed by a signal -> 128+n with the signal name. */
TEST(hook_r166_signal_exit)
{
    AUTOFREE char *p = script("k.sh", "#!/bin/sh\nkill -KILL $$\n", 0755);
    struct hook_result res;
    struct err err = ERR_INIT;
    ASSERT_FAIL(run(p, "k.sh", 10, NULL, &res, &err));
    ASSERT_EQ(err.code, ERR_SCRIPT_FAILED);
    ASSERT_STREQ(err.msg, "Script at specified location: k.sh failed with exit code 137 (SIGKILL)");
    ASSERT_EQ(res.term_signal, SIGKILL);
}

/* R-152, C-161: missing script -> code 1 naming the absolute path. */
TEST(hook_r152_missing_script)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/archive/nope.sh", test_tmpdir());
    struct err err = ERR_INIT;
    ASSERT_FAIL(run(path, "nope.sh", 10, NULL, NULL, &err));
    ASSERT_EQ(err.code, ERR_SCRIPT_MISSING);
    AUTOFREE char *want = xasprintf("Script does not exist at specified location: %s", path);
    ASSERT_STREQ(err.msg, want);
}

static int warnings;
static char last_warning[1024];
static void count_warn(void *ctx, const char *msg)
{
    (void)ctx;
    warnings++;
    snprintf(last_warning, sizeof(last_warning), "%s", msg);
}

/* R-153, C-162: a non-executable script is made executable (a+x), warned about, and runs. */
TEST(hook_r153_made_executable)
{
    AUTOFREE char *p = script("noexec.sh", "#!/bin/sh\necho ran\n", 0644);
    struct scriptlog *log = tmp_log();
    struct hook_opts o = {.path = p,
                          .location = "noexec.sh",
                          .timeout_s = 10,
                          .envp = env_default,
                          .log = log,
                          .warn = count_warn};
    struct hook_result res;
    struct err err = ERR_INIT;
    warnings = 0;
    ASSERT_OK(hook_run(&o, &res, &err));
    ASSERT_TRUE(res.made_executable);
    ASSERT_EQ(warnings, 1);
    ASSERT_STREQ(last_warning, "Script at specified location: noexec.sh is not executable.  Trying "
                               "to make it executable.");
    struct stat st;
    ASSERT_OK(stat(p, &st));
    ASSERT_EQ(st.st_mode & 0777, 0755);
    AUTOFREE char *tail = scriptlog_tail(log, NULL);
    ASSERT_CONTAINS(tail, "[stdout]ran\n");
    scriptlog_unref(log);
}

/* chmod impossible -> code 2.  As root, drop to nobody first (the file stays root's). */
TEST(hook_r153_chmod_fails)
{
    AUTOFREE char *p = script("ro.sh", "#!/bin/sh\necho ran\n", 0644);
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("nobody");
        if (!pw)
            SKIP("no user 'nobody'");
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/archive", test_tmpdir());
        chmod(test_tmpdir(), 0755);
        chmod(dir, 0755);
        ASSERT_OK(setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid));
        ASSERT_OK(setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid));
    } else {
        free(p);
        p = xstrdup("/etc/hostname"); /* root's, not executable, cannot be chmodded by us */
        if (access(p, F_OK) < 0 || access(p, X_OK) == 0)
            SKIP("no suitable root-owned non-executable file");
    }
    struct err err = ERR_INIT;
    ASSERT_FAIL(run(p, "ro.sh", 10, NULL, NULL, &err));
    ASSERT_EQ(err.code, ERR_SCRIPT_EXECUTABILITY);
    ASSERT_STREQ(err.msg, "Unable to set script at specified location: ro.sh as executable");
}

/* R-155, C-163: a script without "#!" runs with /bin/sh. */
TEST(hook_r155_no_shebang)
{
    AUTOFREE char *p = script("plain.sh", "echo plain $((1+2))\n", 0755);
    struct scriptlog *log = tmp_log();
    struct err err = ERR_INIT;
    ASSERT_OK(run(p, "plain.sh", 10, log, NULL, &err));
    AUTOFREE char *tail = scriptlog_tail(log, NULL);
    ASSERT_CONTAINS(tail, "[stdout]plain 3\n");
    scriptlog_unref(log);
}

/* R-156, C-164: cwd "/", stdin at EOF; R-157, C-271: process-group and session leader. */
TEST(hook_r156_cwd_stdin_pgid)
{
    AUTOFREE char *p = script("cwd.sh",
                              "#!/bin/sh\npwd\nif read x; then echo got-input; else echo "
                              "stdin-eof; fi\nset -- $(cat /proc/$$/stat)\n"
                              "[ \"$1\" = \"$5\" ] && echo pgid-ok\n[ \"$1\" = \"$6\" ] && echo "
                              "sid-ok\necho umask $(umask)\n",
                              0755);
    struct scriptlog *log = tmp_log();
    struct err err = ERR_INIT;
    ASSERT_OK(run(p, "cwd.sh", 10, log, NULL, &err));
    AUTOFREE char *tail = scriptlog_tail(log, NULL);
    ASSERT_CONTAINS(tail, "[stdout]/\n");
    ASSERT_CONTAINS(tail, "[stdout]stdin-eof\n");
    ASSERT_CONTAINS(tail, "[stdout]pgid-ok\n");
    ASSERT_CONTAINS(tail, "[stdout]sid-ok\n");
    ASSERT_CONTAINS(tail, "[stdout]umask 0022\n");
    scriptlog_unref(log);
}

/* R-160, C-167: no descriptors beyond 0-2; default signal dispositions; empty mask. */
TEST(hook_r160_fds_and_signals)
{
    /* an inherited ignored SIGPIPE and a blocked signal must not reach the script */
    signal(SIGPIPE, SIG_IGN);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, NULL);
    int leak = open("/dev/null", O_RDONLY); /* not close-on-exec on purpose */
    ASSERT_TRUE(leak >= 3);
    AUTOFREE char *p = script("fds.sh",
                              "#!/bin/sh\nexec /bin/sh -c 'ls /proc/self/fd | tr \"\\n\" \" \"; "
                              "echo; grep -E \"^(SigBlk|SigIgn)\" /proc/self/status'\n",
                              0755);
    struct scriptlog *log = tmp_log();
    struct err err = ERR_INIT;
    ASSERT_OK(run(p, "fds.sh", 10, log, NULL, &err));
    close(leak);
    AUTOFREE char *tail = scriptlog_tail(log, NULL);
    /* the inner sh's ls: 0 1 2 and its own directory fd (3) only */
    ASSERT_CONTAINS(tail, "[stdout]0 1 2 3 \n");
    ASSERT_CONTAINS(tail, "SigBlk:\t0000000000000000");
    ASSERT_CONTAINS(tail, "SigIgn:\t0000000000000000");
    scriptlog_unref(log);
}

/* R-161, C-273: interleaved stdout/stderr lines are each recorded whole; C-173 final fragment. */
TEST(hook_r161_interleaved_and_fragment)
{
    AUTOFREE char *p = script("il.sh",
                              "#!/bin/sh\nfor i in 1 2 3 4 5; do echo out$i; echo err$i >&2; "
                              "done\nprintf 'no-newline'\n",
                              0755);
    struct scriptlog *log = tmp_log();
    struct err err = ERR_INIT;
    ASSERT_OK(run(p, "il.sh", 10, log, NULL, &err));
    scriptlog_unref(log);
    AUTOFREE char *data = read_log();
    for (int i = 1; i <= 5; i++) {
        char o[32], e[32];
        snprintf(o, sizeof(o), " [stdout]out%d\n", i);
        snprintf(e, sizeof(e), " [stderr]err%d\n", i);
        ASSERT_CONTAINS(data, o);
        ASSERT_CONTAINS(data, e);
    }
    ASSERT_CONTAINS(data, " [stdout]no-newline\n");
}

/* R-165, C-177: timeout -> code 3 with the exact message, after about the timeout. */
TEST(hook_r165_timeout)
{
    AUTOFREE char *p = script("slow.sh", "#!/bin/sh\necho $$ > \"$0.pid\"\nsleep 30\n", 0755);
    struct hook_result res;
    struct err err = ERR_INIT;
    warnings = 0;
    struct hook_opts o = {.path = p,
                          .location = "slow.sh",
                          .timeout_s = 1,
                          .envp = env_default,
                          .output_grace_ms = 500,
                          .kill_grace_ms = 1000,
                          .warn = count_warn};
    ASSERT_FAIL(hook_run(&o, &res, &err));
    ASSERT_EQ(err.code, ERR_SCRIPT_TIMED_OUT);
    ASSERT_STREQ(err.msg, "Script at specified location: slow.sh failed to complete in 1 seconds");
    ASSERT_TRUE(res.timed_out);
    ASSERT_STREQ(last_warning, "Script at specified location: slow.sh timed out");
    ASSERT_TRUE(res.duration_ms >= 1000);
    ASSERT_FALSE(pid_alive(res.pid));
}

/* R-165, C-178: a script that ignores SIGTERM is SIGKILLed after the grace; its child too. */
TEST(hook_r165_sigterm_ignored)
{
    AUTOFREE char *p = script("stubborn.sh",
                              "#!/bin/sh\ntrap '' TERM\nsleep 300 &\necho $! > \"$0.pid\"\n"
                              "while :; do sleep 1; done\n",
                              0755);
    struct hook_result res;
    struct err err = ERR_INIT;
    ASSERT_FAIL(run(p, "stubborn.sh", 1, NULL, &res, &err));
    ASSERT_EQ(err.code, ERR_SCRIPT_TIMED_OUT);
    pid_t child = read_pidfile("archive/stubborn.sh.pid");
    ASSERT_TRUE(child > 0);
    ASSERT_FALSE(pid_alive(res.pid));
    ASSERT_FALSE(pid_alive(child));
}

/* processes that left the process group (setsid) or were orphaned die on timeout too. */
TEST(hook_r165_setsid_grandchild_killed)
{
    AUTOFREE char *p =
        script("escape.sh",
               "#!/bin/sh\nd=$(dirname \"$0\")\n"
               "setsid sleep 300 </dev/null >/dev/null 2>&1 &\necho $! > \"$d/a.pid\"\n"
               "(setsid sh -c 'trap \"\" TERM; sleep 301 & echo $! > \"$0\"; wait' "
               "\"$d/b.pid\" </dev/null >/dev/null 2>&1 &)\n"
               "sleep 30\n",
               0755);
    struct hook_result res;
    struct err err = ERR_INIT;
    ASSERT_FAIL(run(p, "escape.sh", 1, NULL, &res, &err));
    ASSERT_EQ(err.code, ERR_SCRIPT_TIMED_OUT);
    pid_t a = read_pidfile("archive/a.pid"), b = read_pidfile("archive/b.pid");
    ASSERT_TRUE(a > 0);
    ASSERT_TRUE(b > 0);
    ASSERT_FALSE(pid_alive(a));
    ASSERT_FALSE(pid_alive(b));
}

/* R-168, C-181, C-183: a daemon holding stdout does not hang the hook; it keeps running, a warning
 * record is written, and its later output goes to a relay (the journal), not scripts.log, with
 * no reader left in the agent (issue 13: the agent's exit must not break its pipe). */
TEST(hook_r168_background_daemon_detached)
{
    AUTOFREE char *p = script("daemon.sh",
                              "#!/bin/sh\n(sleep 1; echo later; sleep 0.5; echo again; "
                              "exec sleep 300) &\n"
                              "echo $! > \"$(dirname \"$0\")/d.pid\"\necho started\nexit 0\n",
                              0755);
    struct scriptlog *log = tmp_log();
    struct hook_result res;
    struct err err = ERR_INIT;
    uint64_t t0 = now_ms();
    ASSERT_OK(run(p, "daemon.sh", 60, log, &res, &err));
    uint64_t took = now_ms() - t0;
    ASSERT_TRUE(took < 10000);
    ASSERT_TRUE(res.outputs_left_open);
    pid_t d = read_pidfile("archive/d.pid");
    ASSERT_TRUE(pid_alive(d));
    /* issue 13: the agent keeps no end of the pipes; a relay process reads them */
    ASSERT_EQ(hook_drain_count(), 0);
    hook_drain_shutdown(1000);
    /* the background process writes after the grace and is not killed by a broken pipe */
    for (int i = 0; i < 300; i++) {
        AUTOFREE char *cmd = xasprintf("/proc/%d/cmdline", (int)d);
        AUTOFREE char *c = NULL;
        size_t n = 0;
        if (read_file(cmd, 4096, &c, &n, NULL) == 0 && n >= 5 && strcmp(c, "sleep") == 0)
            break;
        usleep(10000);
    }
    ASSERT_TRUE(pid_alive(d));
    AUTOFREE char *data = read_log();
    ASSERT_CONTAINS(data, " [stdout]started\n");
    ASSERT_TRUE(strstr(data, "later") == NULL); /* not the finished script's log */
    AUTOFREE char *rec = xasprintf("[agent]Script at specified location: daemon.sh exited but "
                                   "left STDOUT/STDERR open (background process %d",
                                   (int)d);
    ASSERT_CONTAINS(data, rec);
    ASSERT_CONTAINS(data, "); no longer waiting for its output, which goes to the journal as "
                          "cdagent-hook from now on\n");
    kill(d, SIGKILL);
    scriptlog_unref(log);
}

/* R-168, C-182: with grace -1 the Ruby behaviour: code 6 at the deadline, and the group dies. */
TEST(hook_r168_grace_disabled_code6)
{
    AUTOFREE char *p = script("held.sh",
                              "#!/bin/sh\nsleep 300 &\necho $! > \"$(dirname \"$0\")/h.pid\"\n"
                              "exit 0\n",
                              0755);
    struct hook_opts o = {.path = p,
                          .location = "held.sh",
                          .timeout_s = 1,
                          .envp = env_default,
                          .output_grace_ms = -1,
                          .kill_grace_ms = 1000};
    struct hook_result res;
    struct err err = ERR_INIT;
    ASSERT_FAIL(hook_run(&o, &res, &err));
    ASSERT_EQ(err.code, ERR_OUTPUTS_LEFT_OPEN);
    ASSERT_STREQ(err.msg, "Script at specified location: held.sh failed to close STDOUT");
    pid_t h = read_pidfile("archive/h.pid");
    wait_gone(h, 2000);
    ASSERT_FALSE(pid_alive(h));
    ASSERT_EQ(hook_drain_count(), 0);
}

/* after a failed script the whole group is killed. */
TEST(hook_r169_failure_kills_leftovers)
{
    AUTOFREE char *p = script("failbg.sh",
                              "#!/bin/sh\nsleep 300 >/dev/null 2>&1 &\n"
                              "echo $! > \"$(dirname \"$0\")/f.pid\"\nexit 1\n",
                              0755);
    struct err err = ERR_INIT;
    ASSERT_FAIL(run(p, "failbg.sh", 10, NULL, NULL, &err));
    ASSERT_EQ(err.code, ERR_SCRIPT_FAILED);
    pid_t f = read_pidfile("archive/f.pid");
    ASSERT_FALSE(pid_alive(f));
}

/* R-169, C-183: after a successful script a redirected daemon is left alone. */
TEST(hook_r169_success_leaves_daemon)
{
    AUTOFREE char *p = script("okbg.sh",
                              "#!/bin/sh\nsleep 300 >/dev/null 2>&1 &\n"
                              "echo $! > \"$(dirname \"$0\")/g.pid\"\nexit 0\n",
                              0755);
    struct hook_result res;
    struct err err = ERR_INIT;
    ASSERT_OK(run(p, "okbg.sh", 10, NULL, &res, &err));
    ASSERT_FALSE(res.outputs_left_open);
    pid_t g = read_pidfile("archive/g.pid");
    usleep(200000);
    ASSERT_TRUE(pid_alive(g));
    kill(g, SIGKILL);
}

/* Binary and invalid UTF-8 output is recorded byte for byte. */
TEST(hook_binary_output)
{
    AUTOFREE char *p = script("bin.sh", "#!/bin/sh\nprintf 'a\\000b\\377\\300x\\n'\n", 0755);
    struct scriptlog *log = tmp_log();
    struct err err = ERR_INIT;
    ASSERT_OK(run(p, "bin.sh", 10, log, NULL, &err));
    size_t n;
    AUTOFREE char *tail = scriptlog_tail(log, &n);
    ASSERT_EQ(n, 8 + 7);
    ASSERT_TRUE(memcmp(tail, "[stdout]a\0b\xff\xc0x\n", 15) == 0);
    scriptlog_unref(log);
}

static struct stop cancel_tok;
static void *raise_cancel(void *arg)
{
    (void)arg;
    usleep(300000);
    stop_request(&cancel_tok);
    return NULL;
}

/* Agent shutdown: the cancel flag stops a running hook (SIGTERM, then SIGKILL). */
TEST(hook_cancel_flag)
{
    AUTOFREE char *p = script("long.sh", "#!/bin/sh\nsleep 60\n", 0755);
    ASSERT_OK(stop_init(&cancel_tok, NULL));
    pthread_t t;
    pthread_create(&t, NULL, raise_cancel, NULL);
    struct hook_opts o = {.path = p,
                          .location = "long.sh",
                          .timeout_s = 60,
                          .envp = env_default,
                          .kill_grace_ms = 1000,
                          .cancel = &cancel_tok};
    struct hook_result res;
    struct err err = ERR_INIT;
    uint64_t t0 = now_ms();
    ASSERT_FAIL(hook_run(&o, &res, &err));
    pthread_join(t, NULL);
    ASSERT_EQ(err.code, ERR_CANCELLED);
    ASSERT_TRUE(res.cancelled);
    ASSERT_TRUE(now_ms() - t0 < 10000);
    ASSERT_FALSE(pid_alive(res.pid));
    stop_done(&cancel_tok);
}

/* R-154, C-272: unknown runas user -> code 4 naming the user. */
TEST(hook_r154_unknown_user)
{
    AUTOFREE char *p = script("u.sh", "#!/bin/sh\nexit 0\n", 0755);
    struct hook_opts o = {.path = p,
                          .location = "u.sh",
                          .runas = "no-such-user-cdagent",
                          .timeout_s = 10,
                          .envp = env_default};
    struct err err = ERR_INIT;
    ASSERT_FAIL(hook_run(&o, NULL, &err));
    ASSERT_EQ(err.code, ERR_SCRIPT_FAILED);
    ASSERT_STREQ(err.msg, "Script at specified location: u.sh run as user no-such-user-cdagent "
                          "failed with error: unknown user");
}

#define TEST_USER "cdagenthooktest"

static struct passwd *ensure_user(void)
{
    if (geteuid() != 0)
        SKIP("runas needs root");
    struct passwd *pw = getpwnam(TEST_USER);
    if (pw)
        return pw;
    const char *useradd = access("/usr/sbin/useradd", X_OK) == 0 ? "/usr/sbin/useradd" : NULL;
    if (!useradd)
        SKIP("no useradd");
    const char *nologin =
        access("/usr/sbin/nologin", X_OK) == 0 ? "/usr/sbin/nologin" : "/sbin/nologin";
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(useradd, "useradd", "-M", "-d", "/nonexistent-" TEST_USER, "-s", nologin, TEST_USER,
              (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    pw = getpwnam(TEST_USER);
    if (!pw)
        SKIP("could not create the test user");
    return pw;
}

/* C-168, C-169, C-170: runas drops privileges irrevocably, sets HOME/USER/LOGNAME/
 * SHELL, works with a nologin shell and a path containing a space. */
TEST(hook_r154_runas_drops_privileges)
{
    struct passwd *pw = ensure_user();
    uid_t uid = pw->pw_uid;
    AUTOFREE char *home = xstrdup(pw->pw_dir);
    AUTOFREE char *shell = xstrdup(pw->pw_shell);
    AUTOFREE char *p = script("dir with space/who am i.sh",
                              "#!/bin/sh\necho uid=$(id -u) euid=$(id -u -r)\n"
                              "echo HOME=$HOME USER=$USER LOGNAME=$LOGNAME SHELL=$SHELL\n"
                              "grep -E '^(Uid|Gid|Groups):' /proc/self/status\n"
                              "if command -v python3 >/dev/null; then python3 -c 'import os\n"
                              "try:\n    os.setuid(0); print(\"regained-root\")\n"
                              "except PermissionError: print(\"setuid0-refused\")'; fi\n",
                              0755);
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", test_tmpdir());
    chmod(dir, 0755);
    snprintf(dir, sizeof(dir), "%s/archive", test_tmpdir());
    chmod(dir, 0755);
    snprintf(dir, sizeof(dir), "%s/archive/dir with space", test_tmpdir());
    chmod(dir, 0755);
    struct scriptlog *log = tmp_log();
    struct hook_opts o = {.path = p,
                          .location = "dir with space/who am i.sh",
                          .runas = TEST_USER,
                          .timeout_s = 10,
                          .envp = env_default,
                          .log = log};
    struct err err = ERR_INIT;
    int rc = hook_run(&o, NULL, &err);
    AUTOFREE char *tail = scriptlog_tail(log, NULL);
    if (rc < 0)
        FAILF("hook_run: %s; log: %s", err.msg, tail);
    AUTOFREE char *ids = xasprintf("[stdout]uid=%u euid=%u\n", (unsigned)uid, (unsigned)uid);
    ASSERT_CONTAINS(tail, ids);
    AUTOFREE char *envs = xasprintf("[stdout]HOME=%s USER=%s LOGNAME=%s SHELL=%s\n", home,
                                    TEST_USER, TEST_USER, shell);
    ASSERT_CONTAINS(tail, envs);
    AUTOFREE char *uids = xasprintf("[stdout]Uid:\t%u\t%u\t%u\t%u\n", (unsigned)uid, (unsigned)uid,
                                    (unsigned)uid, (unsigned)uid);
    ASSERT_CONTAINS(tail, uids);
    ASSERT_NOT_CONTAINS(tail, "regained-root");
    if (access("/usr/bin/python3", X_OK) == 0)
        ASSERT_CONTAINS(tail, "[stdout]setuid0-refused\n");
    scriptlog_unref(log);
}

/* R-166, C-171: a failing runas script names the user in the message. */
TEST(hook_r166_runas_failure_message)
{
    ensure_user();
    AUTOFREE char *p = script("f.sh", "#!/bin/sh\nexit 5\n", 0755);
    chmod(test_tmpdir(), 0755);
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/archive", test_tmpdir());
    chmod(dir, 0755);
    struct hook_opts o = {
        .path = p, .location = "f.sh", .runas = TEST_USER, .timeout_s = 10, .envp = env_default};
    struct err err = ERR_INIT;
    ASSERT_FAIL(hook_run(&o, NULL, &err));
    ASSERT_EQ(err.code, ERR_SCRIPT_FAILED);
    ASSERT_STREQ(err.msg, "Script at specified location: f.sh run as user " TEST_USER
                          " failed with exit code 5");
}

/* capture_run: stdout captured, non-zero exit and timeouts reported. */
TEST(hook_capture_run_runs_command)
{
    char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)"printf 'a\\000b'; echo x >&2", NULL};
    char *out = NULL;
    size_t n = 0;
    struct err err = ERR_INIT;
    ASSERT_OK(capture_run(argv, env_default, 1024, 5000, &out, &n, &err));
    ASSERT_EQ(n, 3);
    ASSERT_TRUE(memcmp(out, "a\0b", 3) == 0);
    free(out);
    char *argv2[] = {(char *)"/bin/sh", (char *)"-c", (char *)"exit 3", NULL};
    ASSERT_FAIL(capture_run(argv2, env_default, 1024, 5000, &out, &n, &err));
    ASSERT_EQ(err.code, ERR_UNKNOWN);
    err_clear(&err);
    char *argv3[] = {(char *)"/bin/sh", (char *)"-c", (char *)"sleep 30", NULL};
    ASSERT_FAIL(capture_run(argv3, env_default, 1024, 300, &out, &n, &err));
    ASSERT_EQ(err.code, ERR_TIMEOUT);
}

/* scope names are valid unit names (R-013, STYLE §7) */
TEST(hook_scope_unit_name_sanitized)
{
    AUTOFREE char *a = scope_unit_name("d-ABC/../x y", "ApplicationStart", 7);
    ASSERT_STREQ(a, "cdagent-hook-d-ABC_.._x_y-ApplicationStart-7.scope");
    char longid[600];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    AUTOFREE char *b = scope_unit_name(longid, "E", 12345);
    ASSERT_TRUE(strlen(b) <= SCOPE_NAME_MAX);
    ASSERT_TRUE(str_has_suffix(b, "-12345.scope"));
}

/* Without systemd as PID 1 the hook runs in its own session and says so only at debug level. */
TEST(hook_scope_fallback_without_systemd)
{
    if (scope_available())
        SKIP("systemd is PID 1 here; the fallback path is not reachable");
    struct err err = ERR_INIT;
    ASSERT_FAIL(scope_start("cdagent-hook-x-y-1.scope", getpid(), "t", &err));
    ASSERT_EQ(err.code, ERR_UNSUPPORTED);
    AUTOFREE char *p = script("s.sh", "#!/bin/sh\nexit 0\n", 0755);
    struct hook_opts o = {.path = p,
                          .location = "s.sh",
                          .timeout_s = 10,
                          .envp = env_default,
                          .scope_deployment_id = "d-ABC",
                          .scope_event = "ApplicationStart"};
    struct hook_result res;
    err_clear(&err);
    ASSERT_OK(hook_run(&o, &res, &err));
    ASSERT_FALSE(res.in_scope);
}

/* The supervisor does not keep the agent's descriptors (e.g. the PID-file lock) open while a
 * hook runs; the script itself gets none either. */
TEST(hook_r160_supervisor_holds_no_agent_fds)
{
    int fd = open("/dev/null", O_RDONLY);
    ASSERT_TRUE(dup2(fd, 77) == 77); /* not close-on-exec, like a careless library's */
    close(fd);
    AUTOFREE char *p = script("sup.sh",
                              "#!/bin/sh\n[ -e /proc/$PPID/fd/77 ] && echo sup-leaked || echo "
                              "sup-clean\n[ -e /proc/$$/fd/77 ] && echo leaked || echo clean\n",
                              0755);
    struct scriptlog *log = tmp_log();
    struct err err = ERR_INIT;
    ASSERT_OK(run(p, "sup.sh", 10, log, NULL, &err));
    AUTOFREE char *tail = scriptlog_tail(log, NULL);
    ASSERT_CONTAINS(tail, "[stdout]sup-clean\n");
    ASSERT_CONTAINS(tail, "[stdout]clean\n");
    close(77);
    scriptlog_unref(log);
}

/* sudo without a sudo binary is a spawn failure with code 4 (when sudo is installed the
 * command line is "sudo --preserve-env=... -- <path>"). */
TEST(hook_r154_sudo_missing)
{
    if (access("/usr/bin/sudo", X_OK) == 0 || access("/bin/sudo", X_OK) == 0 ||
        access("/usr/local/bin/sudo", X_OK) == 0 || access("/usr/sbin/sudo", X_OK) == 0)
        SKIP("sudo is installed");
    AUTOFREE char *p = script("s.sh", "#!/bin/sh\nexit 0\n", 0755);
    struct hook_opts o = {
        .path = p, .location = "s.sh", .sudo = true, .timeout_s = 10, .envp = env_default};
    struct err err = ERR_INIT;
    ASSERT_FAIL(hook_run(&o, NULL, &err));
    ASSERT_EQ(err.code, ERR_SCRIPT_FAILED);
    ASSERT_STREQ(err.msg, "Script at specified location: s.sh failed with error Errno::ENOENT "
                          "with message No such file or directory - sudo");
}

/* a script the kernel refuses (a directory) is a spawn failure, code 4, Ruby's format. */
TEST(hook_r167_spawn_failure_message)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/archive/adir", test_tmpdir());
    ASSERT_OK(mkdir_p(dir, 0755, NULL));
    struct err err = ERR_INIT;
    ASSERT_FAIL(run(dir, "adir", 10, NULL, NULL, &err));
    ASSERT_EQ(err.code, ERR_SCRIPT_FAILED);
    AUTOFREE char *want = xasprintf("Script at specified location: adir failed with error "
                                    "Errno::EACCES with message Permission denied - %s",
                                    dir);
    ASSERT_STREQ(err.msg, want);
}

/* R-168 without a script log: the pipes are still drained in the background. */
TEST(hook_r168_detach_without_log)
{
    AUTOFREE char *p = script("d2.sh",
                              "#!/bin/sh\n(for i in 1 2 3; do echo tick; sleep 0.2; done) &\n"
                              "exit 0\n",
                              0755);
    struct hook_result res;
    struct err err = ERR_INIT;
    ASSERT_OK(run(p, "d2.sh", 30, NULL, &res, &err));
    ASSERT_TRUE(res.outputs_left_open);
    ASSERT_TRUE(hook_drain_wait(3000));
    ASSERT_EQ(hook_drain_count(), 0);
}

struct conc_arg {
    const char *path;
    int rc;
    struct err err;
};

static void *conc_timeout(void *arg)
{
    struct conc_arg *a = arg;
    struct hook_opts o = {.path = a->path,
                          .location = "t.sh",
                          .timeout_s = 1,
                          .envp = env_default,
                          .kill_grace_ms = 500};
    a->rc = hook_run(&o, NULL, &a->err);
    return NULL;
}

/* Hooks running at the same time (different deployment groups) keep their trees apart: a
 * timeout in one does not kill the daemon another one left running. */
TEST(hook_concurrent_hooks_isolated)
{
    AUTOFREE char *t = script("t.sh", "#!/bin/sh\nsleep 30\n", 0755);
    AUTOFREE char *d2 = script("d2.sh",
                               "#!/bin/sh\n(setsid sh -c 'echo $$ > \"$0\"; exec sleep 300' "
                               "\"$(dirname \"$0\")/iso.pid\" >/dev/null 2>&1 &)\nexit 0\n",
                               0755);
    struct conc_arg a = {.path = t, .err = ERR_INIT};
    pthread_t th;
    pthread_create(&th, NULL, conc_timeout, &a);
    struct err err = ERR_INIT;
    ASSERT_OK(run(d2, "d2.sh", 10, NULL, NULL, &err));
    pthread_join(th, NULL);
    ASSERT_EQ(a.rc, -1);
    ASSERT_EQ(a.err.code, ERR_SCRIPT_TIMED_OUT);
    pid_t iso = read_pidfile("archive/iso.pid");
    ASSERT_TRUE(pid_alive(iso));
    kill(iso, SIGKILL);
}
