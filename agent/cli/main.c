/*
 * main: the program's entry point.  One program, two names: invoked as codedeploy-local it is
 * the local-deployment tool (localrun.c); otherwise it is the agent with the sub-commands of
 * spec §1 (R-002..R-016): start, stop, restart, status, run (foreground, what the systemd unit
 * uses) and version.  This is the only place that calls exit().
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "parse/config.h"
#include "run/daemon.h"
#include "deploy/layout.h"
#include "cli/agentinfo.h"
#include "cli/localrun.h"
#include "base/log.h"
#include "sys/pidfile.h"
#include "sys/sd.h"
#include "deploy/tracking.h"
#include "base/fsutil.h"
#include "base/util.h"

#define EXIT_USAGE 64

static void usage(FILE *f)
{
    fprintf(
        f, "Usage: codedeploy-agent [--config_file <path>] start|stop|restart|status|run|version\n"
           "       codedeploy-agent [--config_file <path>] status --json | history [N] [--json]\n"
           "  start    start the agent in the background\n"
           "  stop     stop the agent, waiting for a running lifecycle event\n"
           "  restart  stop, then start\n"
           "  status   tell whether the agent runs and what it is doing (--json for tools)\n"
           "  history  the last N deployments on this host (default 10), from the agent's records\n"
           "  run      run the agent in the foreground (used by the systemd unit)\n"
           "  version  print the version (also --version)\n");
}

static int load_config(const char *path, struct config *cfg)
{
    struct err e = ERR_INIT;
    if (config_load(path ? path : config_default_path(), cfg, &e) < 0) {
        fprintf(stderr, "error: %s\n", e.msg);
        return -1;
    }
    return 0;
}

/* the log and PID directories must exist (created) and be writable. */
static int check_dirs(const struct config *cfg)
{
    const struct {
        const char *dir;
        const char *what;
    } dirs[] = {{cfg->log_dir, "log directory"}, {cfg->pid_dir, "PID directory"}};
    for (size_t i = 0; i < 2; i++) {
        if (mkdir_p(dirs[i].dir, 0755, NULL) < 0 || access(dirs[i].dir, W_OK) != 0) {
            fprintf(stderr,
                    "error: Please make sure the path of the %s exists and is "
                    "writable: \"%s\"\n",
                    dirs[i].what, dirs[i].dir);
            return -1;
        }
    }
    return 0;
}

/* As sshd's StrictModes: refuse directories other users could plant links in (issue 18 item
 * 4).  Trusted means owned by root or by the agent's user (:user:, else the caller). */
static int check_trusted_dirs(const struct config *cfg)
{
    uid_t uid = geteuid();
    struct passwd *pw = cfg->user && *cfg->user ? getpwnam(cfg->user) : NULL;
    if (pw)
        uid = pw->pw_uid;
    struct err e = ERR_INIT;
    if (layout_check_host_dirs(cfg->root_dir, cfg->ongoing_deployment_tracking, cfg->log_dir, uid,
                               &e) < 0) {
        fprintf(stderr, "error: %s\n", e.msg);
        return -1;
    }
    return 0;
}

/* switch the daemon to :user: (and :group:) before doing any work.  check_only: only
 * say whether the switch would work (before `start` detaches from the terminal). */
static int drop_to_config_user(const struct config *cfg, bool check_only)
{
    if (!cfg->user || !*cfg->user)
        return 0;
    struct passwd *pw = getpwnam(cfg->user);
    if (!pw) {
        fprintf(stderr, "error: The system user does not exist: \"%s\"\n", cfg->user);
        return -1;
    }
    gid_t gid = pw->pw_gid;
    if (cfg->group && *cfg->group) {
        struct group *gr = getgrnam(cfg->group);
        if (!gr) {
            fprintf(stderr, "error: The system group does not exist: \"%s\"\n", cfg->group);
            return -1;
        }
        gid = gr->gr_gid;
    }
    /* Already that user: :group: still applies (issue 11 item 5). */
    bool same_user = pw->pw_uid == geteuid();
    if (same_user && (!cfg->group || !*cfg->group || gid == getegid()))
        return 0;
    if (geteuid() != 0) {
        fprintf(stderr, "error: Can't drop privileges as unprivileged user. Please run this "
                        "command as a privileged user.\n");
        return -1;
    }
    if (check_only)
        return 0;
    /* The directories were made by root a moment ago; the agent must keep writing them. */
    const char *dirs[] = {cfg->log_dir, cfg->pid_dir, cfg->root_dir};
    for (size_t i = 0; i < 3; i++) {
        if (mkdir_p(dirs[i], 0755, NULL) == 0 && chown(dirs[i], pw->pw_uid, gid) < 0)
            fprintf(stderr, "warning: chown '%s': %s\n", dirs[i], strerror(errno));
    }
    if (initgroups(pw->pw_name, gid) < 0 || setresgid(gid, gid, gid) < 0 ||
        setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
        fprintf(stderr, "error: cannot switch to user '%s': %s\n", cfg->user, strerror(errno));
        return -1;
    }
    if (pw->pw_uid != 0 && setresuid(0, 0, 0) == 0) {
        fprintf(stderr, "error: cannot switch to user '%s': root could be regained\n", cfg->user);
        return -1;
    }
    return 0;
}

/* show "codedeploy-agent: master <pid>" in ps, as monitoring of the AWS agent expects
 * (`pgrep -f "codedeploy-agent: master"`).  The title is written over the argv strings. */
static char **saved_argv;
static int saved_argc;

static void set_process_title(void)
{
    if (!saved_argv || saved_argc < 1)
        return;
    char *start = saved_argv[0];
    char *end = start + strlen(start) + 1;
    for (int i = 1; i < saved_argc; i++)
        if (saved_argv[i] == end)
            end = saved_argv[i] + strlen(saved_argv[i]) + 1;
    char title[64];
    int n = snprintf(title, sizeof(title), "codedeploy-agent: master %ld", (long)getpid());
    size_t room = (size_t)(end - start);
    if (n < 0 || (size_t)n + 1 > room)
        return;
    memset(start, 0, room);
    memcpy(start, title, (size_t)n);
    for (int i = 1; i < saved_argc; i++)
        saved_argv[i] = start + n;
}

static int run_foreground(const struct config *cfg, int ready_fd)
{
    if (drop_to_config_user(cfg, false) < 0)
        return 1;
    struct err e = ERR_INIT;
    if (check_trusted_dirs(cfg) < 0)
        return 1;
    struct log_opts lo = {
        .program = cfg->program_name, .log_dir = cfg->log_dir, .verbose = cfg->verbose};
    if (log_open(&lo, &e) < 0) {
        fprintf(stderr, "error: %s\n", e.msg);
        return 1;
    }
    for (size_t i = 0; i < cfg->nwarnings; i++)
        log_warn("%s", cfg->warnings[i]);
    struct pidfile pf;
    pidfile_init(&pf, cfg->pid_dir, cfg->program_name);
    if (pidfile_lock(&pf, &e) < 0) {
        pid_t pid = 0;
        if (pidfile_check(&pf, &pid) == PIDFILE_RUNNING)
            log_error("AWS CodeDeploy agent is already running as PID %ld", (long)pid);
        else
            log_err(LOG_PRIO_ERR, &e, "Cannot start");
        pidfile_done(&pf);
        log_close();
        return 1;
    }
    if (pidfile_write(&pf, getpid(), &e) < 0) {
        log_err(LOG_PRIO_ERR, &e, "Cannot write the PID file");
        pidfile_done(&pf);
        log_close();
        return 1;
    }
    if (ready_fd >= 0) {
        (void)!write(ready_fd, "1", 1);
        close(ready_fd);
    }
    set_process_title();
    int rc = daemon_run(cfg, &e);
    if (rc < 0) {
        log_err(LOG_PRIO_ERR, &e, "The agent could not start");
        rc = 1;
    }
    pidfile_remove(&pf);
    pidfile_done(&pf);
    log_close();
    return rc;
}

/* returns 0 running, 1 not running (after cleaning a stale PID file). */
static int cmd_status(const struct config *cfg, bool quiet, bool json)
{
    struct pidfile pf;
    pidfile_init(&pf, cfg->pid_dir, cfg->program_name);
    pid_t pid = 0;
    enum pidfile_state st = pidfile_check(&pf, &pid);
    int rc = 1;
    if (json) {
        AUTOFREE char *sp = daemon_state_path(cfg);
        AUTOFREE char *state = NULL;
        char *s = st == PIDFILE_RUNNING && read_file(sp, 65536, &state, NULL, NULL) == 0
                      ? strstr(state, "status: ")
                      : NULL;
        if (s && strchr(s, '\n'))
            *strchr(s, '\n') = '\0';
        agentinfo_status_json(stdout, cfg, st == PIDFILE_RUNNING ? pid : 0, s ? s + 8 : NULL);
        pidfile_done(&pf);
        return st == PIDFILE_RUNNING ? 0 : 1;
    }
    if (st == PIDFILE_RUNNING) {
        rc = 0;
        if (!quiet) {
            printf("The AWS CodeDeploy agent is running as PID %ld\n", (long)pid);
            AUTOFREE char *sp = daemon_state_path(cfg);
            char *state = NULL;
            if (read_file(sp, 65536, &state, NULL, NULL) == 0) {
                char *s = strstr(state, "status: ");
                if (s) {
                    char *nl = strchr(s, '\n');
                    if (nl)
                        *nl = '\0';
                    printf("%s\n", s + 8);
                }
                free(state);
            }
        }
    } else {
        if (st == PIDFILE_STALE) {
            printf("Pidfile %s present but no matching process running - cleaning up\n",
                   pf.pid_path);
            pidfile_remove(&pf);
        }
        if (!quiet)
            fprintf(stderr, "error: No AWS CodeDeploy agent running\n");
    }
    if (!quiet)
        agentinfo_print_usage(stdout, cfg);
    pidfile_done(&pf);
    return rc;
}

static int cmd_start(const struct config *cfg)
{
    struct pidfile pf;
    pidfile_init(&pf, cfg->pid_dir, cfg->program_name);
    pid_t pid = 0;
    enum pidfile_state st = pidfile_check(&pf, &pid);
    pidfile_done(&pf);
    if (st == PIDFILE_RUNNING) {
        fprintf(stderr, "error: AWS CodeDeploy agent is already running as PID %ld\n", (long)pid);
        return 1;
    }
    if (check_dirs(cfg) < 0 || drop_to_config_user(cfg, true) < 0 || check_trusted_dirs(cfg) < 0)
        return 1;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        fprintf(stderr, "error: pipe: %s\n", strerror(errno));
        return 1;
    }
    pid_t child = fork();
    if (child < 0) {
        fprintf(stderr, "error: fork: %s\n", strerror(errno));
        return 1;
    }
    if (child == 0) {
        close(fds[0]);
        setsid();
        if (fork() != 0)
            _exit(0);
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        exit(run_foreground(cfg, fds[1]));
    }
    close(fds[1]);
    int wst = 0;
    (void)waitpid(child, &wst, 0);
    char c = 0;
    ssize_t n = read(fds[0], &c, 1);
    close(fds[0]);
    if (n != 1) {
        fprintf(stderr, "error: the agent did not start; see %s/%s.log\n", cfg->log_dir,
                cfg->program_name);
        return 1;
    }
    return 0;
}

/* always deliver the stop; wait at most kill_agent_max_wait_time_seconds. */
static int cmd_stop(const struct config *cfg)
{
    struct pidfile pf;
    pidfile_init(&pf, cfg->pid_dir, cfg->program_name);
    pid_t pid = 0;
    enum pidfile_state st = pidfile_check(&pf, &pid);
    if (st != PIDFILE_RUNNING) {
        if (st == PIDFILE_STALE) {
            printf("Pidfile %s present but no matching process running - cleaning up\n",
                   pf.pid_path);
            pidfile_remove(&pf);
        }
        pidfile_done(&pf);
        printf("Nothing running that could be stopped\n");
        return 0;
    }
    pidfile_done(&pf);
    AUTOFREE char *tdir = layout_ongoing_dir(cfg->root_dir, cfg->ongoing_deployment_tracking);
    if (tracking_count(tdir) > 0)
        printf("Waiting for the in-progress lifecycle event to finish\n");
    if (kill(pid, SIGTERM) < 0 && errno != ESRCH) {
        fprintf(stderr, "error: cannot signal PID %ld: %s\n", (long)pid, strerror(errno));
        return 1;
    }
    /* The daemon waits max seconds for hooks, then up to DAEMON_STOP_KILL_WAIT_S more. */
    int wait_s = cfg->kill_agent_max_wait_time_seconds + DAEMON_STOP_KILL_WAIT_S + 5;
    for (int i = 0; i <= wait_s; i++) {
        if (!pidfile_is_agent(pid))
            return 0;
        sleep(1);
    }
    fprintf(stderr, "error: AWS CodeDeploy agent is still running\n");
    return 1;
}

static int agent_main(int argc, char **argv)
{
    const char *config_file = NULL;
    const char *cmd = NULL, *arg = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config_file") == 0 && i + 1 < argc) {
            config_file = argv[++i];
        } else if (str_has_prefix(argv[i], "--config_file=")) {
            config_file = argv[i] + strlen("--config_file=");
        } else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-v") == 0) {
            cmd = "version";
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (!cmd && argv[i][0] != '-') {
            cmd = argv[i];
        } else if (cmd && strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (cmd && !arg && argv[i][0] != '-' && strcmp(cmd, "history") == 0) {
            arg = argv[i];
        } else {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!cmd) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(cmd, "version") == 0) {
        printf("cdagent %s\n", CDAGENT_VERSION);
        return 0;
    }
    if (strcmp(cmd, "start") != 0 && strcmp(cmd, "stop") != 0 && strcmp(cmd, "restart") != 0 &&
        strcmp(cmd, "status") != 0 && strcmp(cmd, "run") != 0 && strcmp(cmd, "history") != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (json && strcmp(cmd, "status") != 0 && strcmp(cmd, "history") != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    struct config cfg;
    if (load_config(config_file, &cfg) < 0)
        return 1;
    int rc;
    if (strcmp(cmd, "run") == 0)
        rc = check_dirs(&cfg) < 0 ? 1 : run_foreground(&cfg, -1);
    else if (strcmp(cmd, "start") == 0)
        rc = cmd_start(&cfg);
    else if (strcmp(cmd, "stop") == 0)
        rc = cmd_stop(&cfg);
    else if (strcmp(cmd, "status") == 0)
        rc = cmd_status(&cfg, false, json);
    else if (strcmp(cmd, "history") == 0)
        rc = agentinfo_history(stdout, &cfg, arg, json);
    else {
        rc = cmd_stop(&cfg);
        if (rc == 0) {
            sleep(1);
            rc = cmd_start(&cfg);
        }
    }
    config_done(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    saved_argv = argv;
    saved_argc = argc;
    log_set_journal_sink(sd_journal_line);
    char *name = xstrdup(argv[0] ? argv[0] : "codedeploy-agent");
    bool local = strcmp(basename(name), "codedeploy-local") == 0;
    free(name);
    /* "codedeploy-agent local ..." is the same as codedeploy-local. */
    if (!local && argc > 1 && strcmp(argv[1], "local") == 0)
        exit(localrun_main(argc - 1, argv + 1));
    exit(local ? localrun_main(argc, argv) : agent_main(argc, argv));
}
