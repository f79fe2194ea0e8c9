/* Tests for run/daemon's poll-and-dispatch logic through its seams (struct daemon_ops): a scripted
 * Commands service, a fake executor and a virtual clock drive the production poll loop, workers,
 * completion retries and restart recovery (spec §5: ..R-072, R-076, R-077, V-031). */
#include "test.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "base/stop.h"
#include "base/util.h"
#include "deploy/layout.h"
#include "deploy/tracking.h"
#include "parse/config.h"
#include "parse/spec.h"
#include "run/daemon-internal.h"
#include "run/daemon.h"

/* One poll answer: an error, nothing, or a command (hcid, deployment, group). */
enum step_kind { STEP_ERR, STEP_EMPTY, STEP_CMD, STEP_BAD, STEP_STOP };
struct step {
    enum step_kind kind;
    const char *hcid, *deployment, *group;
    const char *after; /* wait until the workers' log holds this before answering */
    uint64_t takes_ms; /* virtual time the call takes */
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const struct step *steps;
    size_t n, next;
    bool script_done;
    char loop_log[1024]; /* the main thread: P poll, I idle, W<ms> wait */
    char work_log[2048]; /* the workers: ack, run, complete, waits */
    uint64_t clock_ms;
    int complete_failures; /* fail this many completions first (-1: all) */
    enum commands_status ack_status;
    const char *block_dep;       /* this deployment's run ("*": every run) waits until ... */
    const char *block_run_until; /* ... the workers' log holds this */
    bool run_until_stop;         /* a run waits until the agent is stopping */
} F = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static struct config cfg;
static struct daemon d;

static void logf_locked(char *log, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_locked(char *log, size_t size, const char *fmt, ...)
{
    size_t n = strlen(log);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(log + n, size - n, fmt, ap);
    va_end(ap);
    pthread_cond_broadcast(&F.cv);
}

#define LOOP(...) logf_locked(F.loop_log, sizeof(F.loop_log), __VA_ARGS__)
#define WORK(...) logf_locked(F.work_log, sizeof(F.work_log), __VA_ARGS__)

/* Wait (up to 20 s, then fail) until the workers' or the loop's log holds s.  F.mu held. */
static void wait_for_locked(const char *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    while (!strstr(F.work_log, s) && !strstr(F.loop_log, s))
        if (pthread_cond_timedwait(&F.cv, &F.mu, &ts) != 0)
            FAILF("workers never logged \"%s\"; log: %s", s, F.work_log);
}

static int fake_poll(struct commands_client *c, const char *host_identifier,
                     struct host_command **ret, struct err *err)
{
    (void)c;
    (void)host_identifier;
    *ret = NULL;
    pthread_mutex_lock(&F.mu);
    LOOP("P");
    if (F.next >= F.n) {
        F.script_done = true;
        pthread_mutex_unlock(&F.mu);
        return 0;
    }
    const struct step *s = &F.steps[F.next++];
    if (s->after)
        wait_for_locked(s->after);
    F.clock_ms += s->takes_ms;
    pthread_mutex_unlock(&F.mu);
    switch (s->kind) {
    case STEP_ERR:
        return err_set(err, ERR_HTTP, "connection refused");
    case STEP_EMPTY:
        return 0;
    case STEP_STOP:
        stop_request(daemon_sig_stop());
        return 0;
    case STEP_CMD:
    case STEP_BAD:
        break;
    }
    struct host_command *hc = xcalloc(1, sizeof(*hc));
    hc->host_command_identifier = xstrdup(s->hcid);
    hc->command_name = s->kind == STEP_BAD ? NULL : xstrdup("Install");
    /* the deployment execution id carries "deployment group" to the fake get_spec */
    hc->deployment_execution_id = xasprintf("%s %s", s->deployment, s->group);
    *ret = hc;
    return 0;
}

static int fake_get_spec(struct daemon *dm, struct commands_client *c,
                         const struct host_command *hc, struct deploy_spec **ret, struct err *err)
{
    (void)dm;
    (void)c;
    (void)err;
    struct deploy_spec *s = xcalloc(1, sizeof(*s));
    const char *sp = strchr(hc->deployment_execution_id, ' ');
    s->deployment_id =
        xstrndup(hc->deployment_execution_id, (size_t)(sp - hc->deployment_execution_id));
    s->deployment_group_id = xstrdup(sp + 1);
    *ret = s;
    return 0;
}

static int fake_ack(struct commands_client *c, const char *hcid, bool is_noop,
                    enum commands_status *ret_status, struct err *err)
{
    (void)c;
    (void)is_noop;
    (void)err;
    pthread_mutex_lock(&F.mu);
    WORK("ack(%s);", hcid);
    *ret_status = F.ack_status;
    pthread_mutex_unlock(&F.mu);
    return 0;
}

static int fake_complete(struct commands_client *c, const char *hcid, bool succeeded,
                         const char *diag_json, struct err *err)
{
    (void)c;
    pthread_mutex_lock(&F.mu);
    bool fail = F.complete_failures != 0;
    if (F.complete_failures > 0)
        F.complete_failures--;
    WORK("complete(%s,%s%s)@%llu;", hcid, succeeded ? "ok" : "failed",
         strstr(diag_json, "\"error_code\":7") ? ",7" : "", (unsigned long long)F.clock_ms);
    pthread_mutex_unlock(&F.mu);
    return fail ? err_set(err, ERR_HTTP, "503") : 0;
}

static void fake_execute(const struct executor_opts *o, const char *command,
                         const struct deploy_spec *spec, struct exec_result *ret)
{
    (void)o;
    (void)command;
    pthread_mutex_lock(&F.mu);
    WORK("run(%s);", spec->deployment_id);
    if (F.block_dep &&
        (strcmp(F.block_dep, "*") == 0 || strcmp(F.block_dep, spec->deployment_id) == 0))
        wait_for_locked(F.block_run_until);
    pthread_mutex_unlock(&F.mu);
    if (F.run_until_stop && !stop_wait_ms(daemon_sig_stop(), 20000))
        FAILF("the agent was never stopped");
    pthread_mutex_lock(&F.mu);
    WORK("done(%s);", spec->deployment_id);
    pthread_mutex_unlock(&F.mu);
    *ret = (struct exec_result){
        .succeeded = true, .script_name = xstrdup(""), .message = xstrdup(""), .log = xstrdup("")};
}

static uint64_t fake_now(void)
{
    pthread_mutex_lock(&F.mu);
    uint64_t t = F.clock_ms;
    pthread_mutex_unlock(&F.mu);
    return t;
}

/* Waits pass at once in virtual time; the poll loop's and the workers' go to their own logs. */
static bool fake_wait(const struct stop *s, uint64_t ms)
{
    pthread_mutex_lock(&F.mu);
    if (s == daemon_sig_stop())
        LOOP("W%llu", (unsigned long long)ms);
    else
        WORK("wait(%llu);", (unsigned long long)ms);
    F.clock_ms += ms;
    pthread_mutex_unlock(&F.mu);
    return stop_requested(s);
}

static void wait_workers(void)
{
    pthread_mutex_lock(&d.mu);
    while (d.workers > 0)
        pthread_cond_wait(&d.cv, &d.mu);
    pthread_mutex_unlock(&d.mu);
}

/* The pause between polls: once the script is over, let the workers finish and stop. */
static bool real_idle;
static void fake_idle(struct daemon *dm, uint64_t ms)
{
    pthread_mutex_lock(&F.mu);
    LOOP("I");
    bool done = F.script_done;
    pthread_mutex_unlock(&F.mu);
    if (done) {
        wait_workers();
        stop_request(daemon_sig_stop());
    } else if (real_idle) {
        daemon_loop_sleep(dm, ms);
    }
}

static const struct daemon_ops fake_ops = {
    .poll = fake_poll,
    .get_spec = fake_get_spec,
    .ack = fake_ack,
    .complete = fake_complete,
    .execute = fake_execute,
    .now = fake_now,
    .wait = fake_wait,
    .idle = fake_idle,
};

static int no_creds(void *arg, bool refresh, struct commands_credentials *ret, struct err *err)
{
    (void)arg;
    (void)refresh;
    (void)ret;
    return err_set(err, ERR_AUTH, "no credentials in unit tests");
}

static void setup(int wait_between_runs)
{
    struct err err = ERR_INIT;
    config_init(&cfg);
    free(cfg.root_dir);
    cfg.root_dir = xasprintf("%s/root", test_tmpdir());
    free(cfg.pid_dir);
    cfg.pid_dir = xstrdup(test_tmpdir());
    cfg.wait_between_runs = wait_between_runs;
    memset(&d, 0, sizeof(d));
    d.cfg = &cfg;
    d.ops = &fake_ops;
    pthread_mutex_init(&d.mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    ASSERT_OK(stop_init(daemon_sig_stop(), &err));
    ASSERT_OK(stop_init(daemon_kill_hooks(), &err));
    d.id.region = xstrdup("us-east-1");
    d.id.host_identifier = xstrdup("arn:aws:ec2:us-east-1:123456789012:instance/i-0123");
    d.ep.url = xstrdup("http://127.0.0.1:9");
    d.agent_version = xstrdup("test");
    d.tracking_dir = layout_ongoing_dir(cfg.root_dir, cfg.ongoing_deployment_tracking);
    d.state_path = daemon_state_path(&cfg);
    d.alive = alive_new();
    d.loop_slot = alive_join(d.alive, "loop", 3600000);
    struct commands_opts co = {.endpoint = d.ep.url,
                               .region = d.id.region,
                               .agent_version = "test",
                               .get_creds = no_creds};
    d.poll_client = commands_client_new(&co, &err);
    ASSERT_NOT_NULL(d.poll_client);
}

static void teardown(void)
{
    commands_client_free(d.poll_client);
    free(d.id.region);
    free(d.id.host_identifier);
    free(d.ep.url);
    free(d.agent_version);
    free(d.tracking_dir);
    free(d.state_path);
    alive_free(d.alive);
    config_done(&cfg);
}

static void run_script(const struct step *steps, size_t n)
{
    F.steps = steps;
    F.n = n;
    daemon_poll_loop(&d);
    wait_workers();
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The loop's and the workers' logs (NULL: not checked). */
static void expect(const char *loop_log, const char *work_log)
{
    if (loop_log)
        ASSERT_STREQ(F.loop_log, loop_log);
    if (work_log)
        ASSERT_STREQ(F.work_log, work_log);
    teardown();
}

#define CMD(h, dep, g)                                                                             \
    {                                                                                              \
        .kind = STEP_CMD, .hcid = h, .deployment = dep, .group = g                                 \
    }

TEST(daemon_polls_again_at_once_after_a_dispatch_R068)
{
    setup(30);
    const struct step s[] = {CMD("c1", "d-1", "g1"), {.kind = STEP_EMPTY}};
    run_script(s, 2);
    /* dispatch: poll again at once; empty answer: the pause; end of script: pause and stop */
    expect("PPIPI", "ack(c1);run(d-1);done(d-1);complete(c1,ok)@0;");
}

TEST(daemon_in_flight_command_is_not_started_twice_V031)
{
    setup(30);
    F.block_dep = "d-1";
    F.block_run_until = "ack(c2)";
    const struct step s[] = {CMD("c1", "d-1", "g1"), CMD("c1", "d-1", "g1"), CMD("c1", "d-1", "g1"),
                             CMD("c2", "d-2", "g2")};
    run_script(s, 4);
    /* the first duplicate is polled past at once, the second waits the pause (V-031) */
    ASSERT_STREQ(F.loop_log, "PPPIPPI");
    ASSERT_EQ(count(F.work_log, "ack(c1)"), 1);
    ASSERT_EQ(count(F.work_log, "complete(c1,ok)"), 1);
    ASSERT_EQ(count(F.work_log, "complete(c2,ok)"), 1);
    teardown();
}

TEST(daemon_one_command_at_a_time_per_group_R072)
{
    setup(0);
    /* d-1 runs until d-3 (another group) has run, so groups run side by side, while d-2 (the
     * same group) must wait for d-1's completion. */
    F.block_dep = "d-1";
    F.block_run_until = "done(d-3)";
    const struct step s[] = {
        CMD("c1", "d-1", "g1"),
        {.kind = STEP_CMD, .hcid = "c2", .deployment = "d-2", .group = "g1", .after = "run(d-1)"},
        {.kind = STEP_CMD, .hcid = "c3", .deployment = "d-3", .group = "g2", .after = "run(d-1)"}};
    run_script(s, 3);
    const char *done1 = strstr(F.work_log, "complete(c1,ok)");
    const char *ack2 = strstr(F.work_log, "ack(c2)");
    ASSERT_NOT_NULL(done1);
    ASSERT_NOT_NULL(ack2);
    ASSERT_TRUE(ack2 > done1);
    ASSERT_TRUE(strstr(F.work_log, "run(d-3)") < done1);
    ASSERT_EQ(count(F.work_log, "complete("), 3);
    teardown();
}

TEST(daemon_defers_a_command_while_every_slot_is_busy)
{
    setup(0);
    /* DAEMON_MAX_WORKERS commands run until the loop has polled one more and paused */
    static char ids[DAEMON_MAX_WORKERS + 1][2][16];
    struct step s[DAEMON_MAX_WORKERS + 1];
    char pattern[DAEMON_MAX_WORKERS + 4];
    for (int i = 0; i <= DAEMON_MAX_WORKERS; i++) {
        snprintf(ids[i][0], sizeof(ids[i][0]), "c%d", i);
        snprintf(ids[i][1], sizeof(ids[i][1]), "d-%d", i);
        s[i] = (struct step){
            .kind = STEP_CMD, .hcid = ids[i][0], .deployment = ids[i][1], .group = ids[i][1]};
        pattern[i] = 'P';
    }
    snprintf(pattern + DAEMON_MAX_WORKERS + 1, 3, "I");
    F.block_dep = "*";
    F.block_run_until = pattern;
    run_script(s, DAEMON_MAX_WORKERS + 1);
    ASSERT_EQ(count(F.work_log, "complete("), DAEMON_MAX_WORKERS);
    ASSERT_EQ(count(F.work_log, "ack(c16)"), 0);
    AUTOFREE char *want = xasprintf("%sPI", pattern); /* then the end of the script */
    expect(want, NULL);
}

TEST(daemon_failed_polls_back_off_R065)
{
    setup(5);
    /* the second failure took 3 s of the backoff already; a success resets the count */
    const struct step s[] = {{.kind = STEP_ERR},
                             {.kind = STEP_ERR, .takes_ms = 3000},
                             {.kind = STEP_EMPTY},
                             {.kind = STEP_ERR}};
    run_script(s, 4);
    char want[128];
    snprintf(want, sizeof(want), "PW%uPW%uPIPW%uPI", daemon_backoff_s(1) * 1000 + 5000,
             (daemon_backoff_s(2) - 3) * 1000 + 5000, daemon_backoff_s(1) * 1000 + 5000);
    ASSERT_STREQ(F.loop_log, want);
    ASSERT_TRUE(daemon_backoff_s(1) > 3); /* the expectations above differ */
    teardown();
}

TEST(daemon_malformed_command_counts_as_failed_poll_R069)
{
    setup(0);
    const struct step s[] = {{.kind = STEP_BAD, .hcid = "c1", .deployment = "d-1", .group = "g"}};
    run_script(s, 1);
    char want[64];
    snprintf(want, sizeof(want), "PW%uPI", daemon_backoff_s(1) * 1000);
    expect(want, "");
}

TEST(daemon_completion_is_retried_with_backoff_R067)
{
    setup(0);
    F.complete_failures = 2;
    const struct step s[] = {CMD("c1", "d-1", "g1")};
    run_script(s, 1);
    char want[256];
    unsigned b1 = daemon_backoff_s(1) * 1000, b2 = daemon_backoff_s(2) * 1000;
    snprintf(want, sizeof(want),
             "ack(c1);run(d-1);done(d-1);complete(c1,ok)@0;wait(%u);complete(c1,ok)@%u;"
             "wait(%u);complete(c1,ok)@%u;",
             b1, b1, b2, b1 + b2);
    expect(NULL, want);
}

TEST(daemon_completion_gives_up_after_ten_minutes_R067)
{
    setup(0);
    F.complete_failures = -1;
    const struct step s[] = {CMD("c1", "d-1", "g1")};
    run_script(s, 1);
    /* the last attempt is the first at or after 600 s; none follows it */
    const char *last = strrchr(F.work_log, '@');
    ASSERT_NOT_NULL(last);
    unsigned long long at = strtoull(last + 1, NULL, 10);
    ASSERT_TRUE(at >= DAEMON_COMPLETE_RETRY_MIN_S * 1000ULL);
    ASSERT_EQ(F.clock_ms, at);
    uint64_t before = at - (uint64_t)daemon_backoff_s(10) * 1000;
    ASSERT_TRUE(before < DAEMON_COMPLETE_RETRY_MIN_S * 1000ULL);
    ASSERT_TRUE(count(F.work_log, "complete(c1,ok)") > 2);
    teardown();
}

TEST(daemon_stop_leaves_unacknowledged_commands_unstarted_R077)
{
    setup(0);
    /* d-1 runs until the stop; d-2 of the same group waits for it, then must not start */
    F.run_until_stop = true;
    const struct step s[] = {
        CMD("c1", "d-1", "g1"),
        {.kind = STEP_CMD, .hcid = "c2", .deployment = "d-2", .group = "g1", .after = "run(d-1)"},
        {.kind = STEP_STOP}};
    run_script(s, 3);
    expect("PPP", "ack(c1);run(d-1);done(d-1);complete(c1,ok)@0;");
}

TEST(daemon_acknowledged_as_succeeded_is_not_run_V005)
{
    setup(0);
    F.ack_status = COMMANDS_STATUS_SUCCEEDED;
    const struct step s[] = {CMD("c1", "d-1", "g1")};
    run_script(s, 1);
    expect(NULL, "ack(c1);");
}

TEST(daemon_wakes_when_a_worker_finishes)
{
    setup(3600); /* a missed wake-up would outlast the runner's per-test alarm */
    real_idle = true;
    F.block_dep = "d-1";
    F.block_run_until = "PPI"; /* c1 finishes once the loop pauses after the empty poll */
    const struct step s[] = {CMD("c1", "d-1", "g1"), {.kind = STEP_EMPTY}};
    run_script(s, 2);
    expect("PPIPI", NULL);
}

/* ---- restart recovery (R-076) ---- */

static void tracking_at(const char *dep, const char *hcid, time_t mtime)
{
    struct err err = ERR_INIT;
    ASSERT_OK(tracking_write(d.tracking_dir, dep, hcid, false, &err));
    AUTOFREE char *p = xasprintf("%s/%s", d.tracking_dir, dep);
    struct timespec ts[2] = {{.tv_sec = mtime}, {.tv_sec = mtime}};
    ASSERT_OK(utimensat(AT_FDCWD, p, ts, 0));
}

TEST(daemon_recovery_fails_the_newest_tracked_command_R076)
{
    setup(0);
    time_t now = time(NULL);
    tracking_at("d-OLD", "hc-old", now - 60);
    tracking_at("d-NEW", "hc-new", now - 10);
    daemon_recover(&d);
    ASSERT_STREQ(F.work_log, "complete(hc-new,failed,7)@0;");
    struct stat st;
    ASSERT_FAIL(stat(d.tracking_dir, &st));
    teardown();
}

TEST(daemon_recovery_keeps_the_files_when_the_report_fails_R076)
{
    setup(0);
    F.complete_failures = 1;
    tracking_at("d-NEW", "hc-new", time(NULL));
    daemon_recover(&d);
    ASSERT_STREQ(F.work_log, "complete(hc-new,failed,7)@0;");
    AUTOFREE char *p = xasprintf("%s/d-NEW", d.tracking_dir);
    struct stat st;
    ASSERT_OK(stat(p, &st));
    teardown();
}
