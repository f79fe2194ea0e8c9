/* daemon: see daemon.h. */
#include "run/daemon.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "aws/commands.h"
#include "run/alive.h"
#include "run/daemon-internal.h"
#include "parse/config.h"
#include "aws/creds.h"
#include "run/diag.h"
#include "net/endpoint.h"
#include "run/executor.h"
#include "run/metrics.h"
#include "run/record.h"
#include "deploy/grouplock.h"
#include "hook/hook.h"
#include "hook/hookenv.h"
#include "aws/identity.h"
#include "deploy/layout.h"
#include "base/log.h"
#include "base/stop.h"
#include "sys/sd.h"
#include "parse/spec.h"
#include "deploy/tracking.h"
#include "base/fsutil.h"
#include "base/util.h"
#include "net/wirelog.h"
#include "sys/version.h"

static struct stop sig_stop; /* SIGTERM/SIGINT/SIGQUIT: stop polling */
static volatile sig_atomic_t sig_hup;
/* Requested when running hooks must be stopped (forced shutdown, R-078). */
static struct stop kill_hooks;

static void on_stray_signal(int sig)
{
    (void)sig;
}

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        sig_hup = 1;
    else
        stop_request(&sig_stop);
}

unsigned daemon_backoff_s(unsigned n)
{
    if (n == 0)
        return 0;
    if (n > 10)
        n = 10;
    double num = 1.0, den = 1.0;
    for (unsigned i = 0; i < 10; i++) {
        if (i < n)
            num *= 1.2675;
        den *= 1.2675;
    }
    /* Values are positive, so the cast truncates like floor(). */
    return (unsigned)(num * 90.0 / den);
}

char *daemon_state_path(const struct config *cfg)
{
    return xasprintf("%s/%s.state", cfg->pid_dir, cfg->program_name);
}

/* ---- credentials for the Commands client ---- */

static int get_creds(void *arg, bool refresh, struct commands_credentials *ret, struct err *err)
{
    struct daemon *d = arg;
    if (refresh)
        creds_invalidate(d->id.creds);
    struct creds c = {0};
    if (creds_get(d->id.creds, &c, err) < 0)
        return -1;
    ret->access_key_id = TAKE_PTR(c.access_key_id);
    ret->secret_access_key = TAKE_PTR(c.secret_access_key);
    ret->session_token = TAKE_PTR(c.session_token);
    creds_done(&c);
    return 0;
}

/* The longest one call of the poll client may take between check-ins: its idle timeout plus
 * time to connect and sign; retry sleeps check in themselves (poll_client_sleep). */
static uint64_t poll_call_budget_ms(const struct daemon *d)
{
    return (uint64_t)d->cfg->http_read_timeout * 1000 + DAEMON_CALL_SLACK_MS;
}

/* The poll client's retry and throttle-gate sleeps: progress, and they end at SIGTERM. */
static void poll_client_sleep(void *arg, uint64_t ms)
{
    struct daemon *d = arg;
    daemon_loop_checkin(d, ms + poll_call_budget_ms(d));
    (void)stop_wait_ms(&sig_stop, ms);
}

static struct commands_client *new_client(struct daemon *d, bool interruptible, struct err *err)
{
    struct commands_opts co = {
        .endpoint = d->ep.url,
        .region = d->id.region,
        .secure = d->cfg->enable_auth_policy,
        .agent_version = d->agent_version,
        .proxy_uri = d->cfg->proxy_uri,
        .read_timeout_ms = (long)d->cfg->http_read_timeout * 1000,
        .get_creds = get_creds,
        .creds_arg = d,
        /* the poll client's waits (up to 37.5 s behind the V-026 throttle gate) end at SIGTERM */
        .stop = interruptible ? &sig_stop : NULL,
        .wire = d->wire,
        .sleep = interruptible ? poll_client_sleep : NULL,
        .sleep_arg = interruptible ? d : NULL,
    };
    return commands_client_new(&co, err);
}

static void log_call(const struct commands_client *c, const char *params)
{
    const struct commands_call_info *ci = commands_last_call(c);
    if (!ci || !ci->operation)
        return;
    log_info("[CodeDeployCommand %ld %.2f %d retries] %s(%s)", ci->status,
             (double)ci->elapsed_ms / 1000.0, ci->retries, ci->operation, params);
}

/* ---- in-flight set (V-031) and group serialisation (R-072) ---- */

static bool inflight_has_locked(struct daemon *d, const char *hcid)
{
    for (struct inflight *i = d->inflight; i; i = i->next)
        if (strcmp(i->hcid, hcid) == 0)
            return true;
    return false;
}

static struct inflight *inflight_add_locked(struct daemon *d, const char *hcid)
{
    struct inflight *i = xcalloc(1, sizeof(*i));
    i->hcid = xstrdup(hcid);
    i->next = d->inflight;
    d->inflight = i;
    return i;
}

static void inflight_remove(struct daemon *d, const char *hcid)
{
    pthread_mutex_lock(&d->mu);
    for (struct inflight **pp = &d->inflight; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->hcid, hcid) == 0) {
            struct inflight *i = *pp;
            *pp = i->next;
            free(i->hcid);
            free(i->group);
            free(i);
            break;
        }
    }
    d->workers--;
    (void)eventfd_write(d->wake_fd, 1);
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static bool group_busy_locked(struct daemon *d, const char *hcid, const char *group)
{
    for (struct inflight *i = d->inflight; i; i = i->next)
        if (i->group && strcmp(i->group, group) == 0 && strcmp(i->hcid, hcid) != 0)
            return true;
    return false;
}

/* Claim the group for this command, waiting while another command of the group runs (waiting
 * for others is not a hang: the worker is not watched meanwhile). */
static void group_claim(struct daemon *d, const struct worker *w, const char *hcid,
                        const char *group)
{
    alive_checkin(d->alive, w->slot, ALIVE_FOREVER);
    pthread_mutex_lock(&d->mu);
    while (group_busy_locked(d, hcid, group))
        pthread_cond_wait(&d->cv, &d->mu);
    for (struct inflight *i = d->inflight; i; i = i->next)
        if (strcmp(i->hcid, hcid) == 0)
            i->group = xstrdup(group);
    pthread_mutex_unlock(&d->mu);
    alive_checkin(d->alive, w->slot, DAEMON_STEP_BUDGET_S * 1000ULL);
}

/* ---- completion (R-059, R-067, R-071) ---- */

static void complete(const struct daemon *d, struct commands_client *c, const char *hcid, bool ok,
                     const char *diag)
{
    uint64_t t0 = d->ops->now();
    unsigned n = 0;
    for (;;) {
        struct err err = ERR_INIT;
        int r = d->ops->complete(c, hcid, ok, diag, &err);
        log_call(c, ok ? "CommandStatus: Succeeded" : "CommandStatus: Failed");
        if (r == 0)
            return;
        n = n < 10 ? n + 1 : 10;
        unsigned wait = daemon_backoff_s(n);
        if (d->ops->now() - t0 >= (uint64_t)DAEMON_COMPLETE_RETRY_MIN_S * 1000) {
            log_err(LOG_PRIO_ERR, &err, "PutHostCommandComplete failed for %u s, giving up",
                    DAEMON_COMPLETE_RETRY_MIN_S);
            return;
        }
        log_err(LOG_PRIO_WARNING, &err, "PutHostCommandComplete failed, retrying in %us", wait);
        if (d->ops->wait(&kill_hooks, (uint64_t)wait * 1000))
            return;
    }
}

static void fail_command(const struct daemon *d, struct commands_client *c, const char *hcid,
                         const struct err *e)
{
    log_err(LOG_PRIO_ERR, e, "Command failed");
    AUTOFREE char *diag =
        diag_payload(err_diag_code(e) ? err_diag_code(e) : ERR_UNKNOWN, "", e->msg, "", 0, 0);
    complete(d, c, hcid, false, diag);
}

/* ---- one command (R-070) ---- */

static void executor_options(struct worker *w, struct executor_opts *eo)
{
    struct daemon *d = w->d;
    executor_opts_from_config(d->cfg, eo);
    eo->region = d->id.region;
    eo->domain = d->id.domain;
    eo->creds = d->id.creds;
    eo->host_id = d->id.host_identifier;
    eo->hookenv = d->hookenv;
    eo->stop = &kill_hooks;
    eo->progress = daemon_exec_progress;
    eo->progress_arg = w;
    eo->wire = d->wire;
}

static int fetch_spec(struct daemon *d, struct commands_client *c, const struct host_command *hc,
                      struct deploy_spec **ret, struct err *err)
{
    struct commands_spec *cs = NULL;
    int r = commands_get_spec(c, hc->deployment_execution_id, d->id.host_identifier, &cs, err);
    log_call(c, hc->deployment_execution_id);
    if (r < 0)
        return -1;
    if (!cs->deployment_system || strcmp(cs->deployment_system, "CodeDeploy") != 0) {
        err_set(err, ERR_PARSE, "Deployment System mismatch: CodeDeploy != %s",
                cs->deployment_system ? cs->deployment_system : "");
        commands_spec_free(cs);
        return -1;
    }
    if (!cs->has_specification) {
        err_set(err, ERR_PARSE, "Deployment Specification missing");
        commands_spec_free(cs);
        return -1;
    }
    char *json = NULL;
    size_t len = 0;
    char *signer = NULL;
    r = spec_open_envelope(cs->format, cs->payload, cs->payload_len, false, &json, &len, &signer,
                           err);
    commands_spec_free(cs);
    if (r < 0)
        return -1;
    AUTOFREE char *redacted = spec_redact_json(json, len);
    log_debug("Deployment specification (signed by %s): %s", signer ? signer : "-",
              redacted ? redacted : "(unparsable)");
    free(signer);
    r = spec_parse(json, len, NULL, ret, err);
    freezero(json, len);
    return r;
}

static void run_command(struct worker *w, struct commands_client *c)
{
    struct daemon *d = w->d;
    const struct host_command *hc = w->hc;
    struct err err = ERR_INIT;
    const char *hcid = hc->host_command_identifier;
    struct deploy_spec *spec = NULL;
    int lock = -1;
    struct executor_opts eo;
    bool noop = false;
    enum commands_status st = COMMANDS_STATUS_NONE;
    struct exec_result res;
    char *diag = NULL;
    if (d->ops->get_spec(d, c, hc, &spec, &err) < 0) {
        log_info("Received command %s", hc->command_name);
        fail_command(d, c, hcid, &err);
        return;
    }
    log_info("Received command %s for deployment %s", hc->command_name, spec->deployment_id);
    log_ctx_set(spec->deployment_id, hc->command_name);
    group_claim(d, w, hcid, spec->deployment_group_id);
    alive_checkin(d->alive, w->slot, ALIVE_FOREVER); /* another process may hold the lock */
    lock = grouplock_acquire(d->cfg->root_dir, spec->deployment_group_id, -1, &kill_hooks, &err);
    alive_checkin(d->alive, w->slot, DAEMON_STEP_BUDGET_S * 1000ULL);
    if (lock < 0) {
        fail_command(d, c, hcid, &err);
        goto out;
    }
    if (stop_requested(&sig_stop)) {
        /* not acknowledged yet, so it must not start; the service hands it out again. */
        log_info("Agent is stopping: leaving %s of %s to the next start", hc->command_name,
                 spec->deployment_id);
        goto out;
    }
    executor_options(w, &eo);
    if (executor_is_noop(&eo, hc->command_name, spec, &noop, &err) < 0) {
        /* V-006: an AppSpec problem here means "not a no-op"; running the command then fails
         * it with the full diagnostic. */
        log_err(LOG_PRIO_DEBUG, &err, "No-op check");
        err_clear(&err);
        noop = false;
    }
    if (d->ops->ack(c, hcid, noop, &st, &err) < 0) {
        log_call(c, noop ? "IsCommandNoop: true" : "IsCommandNoop: false");
        /* every error after the command was received ends in one Failed completion. */
        err_prefix(&err, "PutHostCommandAcknowledgement");
        fail_command(d, c, hcid, &err);
        goto out;
    }
    log_call(c, noop ? "IsCommandNoop: true" : "IsCommandNoop: false");
    if (st == COMMANDS_STATUS_SUCCEEDED)
        goto out;
    if (st == COMMANDS_STATUS_FAILED) {
        if (noop) {
            diag = diag_payload(0, "", DIAG_NOOP_MESSAGE, "", 0, 0);
            complete(d, c, hcid, true, diag);
        }
        goto out;
    }
    if (tracking_write(d->tracking_dir, spec->deployment_id, hcid, true, &err) < 0) {
        log_err(LOG_PRIO_WARNING, &err, "Restart recovery will not know about this command");
        err_clear(&err);
    }
    d->ops->execute(&eo, hc->command_name, spec, &res);
    if (stop_requested(&kill_hooks) && !res.succeeded) {
        /* Forced shutdown: leave the tracking file for the next start to report. */
        log_warn("%s was stopped by the agent shutdown; it will be reported as failed at the next "
                 "start",
                 hc->command_name);
        exec_result_done(&res);
        goto out;
    }
    tracking_remove(d->tracking_dir, spec->deployment_id);
    diag = executor_diag_json(&res);
    complete(d, c, hcid, res.succeeded, diag);
    daemon_status_set_last(d, spec->deployment_id, hc->command_name, res.succeeded);
    exec_result_done(&res);
out:
    free(diag);
    grouplock_release(lock);
    log_ctx_set(NULL, NULL);
    pthread_mutex_lock(&d->mu);
    d->current[0] = '\0';
    pthread_mutex_unlock(&d->mu);
    daemon_status_publish(d);
    spec_free(spec);
}

/* The worker's own Commands client could not be created (out of file descriptors, say): report
 * the command Failed through the poll client rather than leave it open (issue 11 item 5). */
static void fail_uncreated(struct daemon *d, const struct host_command *hc, const struct err *why)
{
    log_err(LOG_PRIO_ERR, why, "Cannot create a Commands client for %s", hc->command_name);
    AUTOFREE char *msg =
        xasprintf("Failed: the agent could not create a Commands client: %s", why->msg);
    AUTOFREE char *diag = diag_payload(ERR_UNKNOWN, "", msg, "", 0, 0);
    struct err e = ERR_INIT;
    pthread_mutex_lock(&d->poll_mu);
    int r = commands_complete(d->poll_client, hc->host_command_identifier, false, diag, &e);
    log_call(d->poll_client, "CommandStatus: Failed");
    pthread_mutex_unlock(&d->poll_mu);
    if (r < 0)
        log_err(LOG_PRIO_ERR, &e, "Could not report %s as failed", hc->command_name);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct daemon *d = w->d;
    struct err err = ERR_INIT;
    struct commands_client *c = new_client(d, false, &err);
    if (!c)
        fail_uncreated(d, w->hc, &err);
    else
        run_command(w, c);
    commands_client_free(c);
    alive_leave(d->alive, w->slot);
    inflight_remove(d, w->hc->host_command_identifier);
    host_command_free(w->hc);
    free(w);
    return NULL;
}

/* ---- restart recovery (R-076, V-034) ---- */

void daemon_recover(struct daemon *d)
{
    char *dep = NULL, *hcid = NULL;
    (void)tracking_newest(d->tracking_dir, &dep, &hcid, NULL);
    if (!dep)
        return;
    log_warn("Deployment tracking file found: %s. The agent likely restarted while running a "
             "customer-supplied script. Failing the lifecycle event.",
             d->tracking_dir);
    AUTOFREE char *diag = diag_payload(ERR_FAILED_AFTER_RESTART, "",
                                       "Failed: Failing in-progress lifecycle event after an "
                                       "agent restart.",
                                       "", 0, 0);
    struct err err = ERR_INIT;
    daemon_loop_checkin(d, poll_call_budget_ms(d));
    int r = d->ops->complete(d->poll_client, hcid, false, diag, &err);
    log_call(d->poll_client, "CommandStatus: Failed");
    if (r < 0) {
        /* Keep the files so the next start reports the command instead of losing it. */
        log_err(LOG_PRIO_ERR, &err,
                "Could not report the interrupted command of deployment %s; "
                "will retry at the next start",
                dep);
    } else {
        /* only the newest command is failed; the others are just removed. */
        struct err re = ERR_INIT;
        if (rm_rf(d->tracking_dir, &re) < 0)
            log_err(LOG_PRIO_WARNING, &re, "Removing %s", d->tracking_dir);
    }
    free(dep);
    free(hcid);
}

/* ---- the poll loop (R-068, V-029..V-031) ---- */

/* Sleep up to ms, waking early on stop or when a worker finished. */
void daemon_loop_sleep(struct daemon *d, uint64_t ms)
{
    struct pollfd p[2] = {{.fd = stop_fd(&sig_stop), .events = POLLIN},
                          {.fd = d->wake_fd, .events = POLLIN}};
    uint64_t deadline = now_ms() + ms;
    for (uint64_t now = now_ms(); !stop_requested(&sig_stop) && now < deadline; now = now_ms()) {
        uint64_t left = deadline - now;
        daemon_loop_checkin(d, left); /* back within the budget once the wait is over */
        int r = poll(p, 2, left > INT32_MAX ? INT32_MAX : (int)left);
        if (r > 0 && (p[1].revents & POLLIN))
            break;
    }
    eventfd_t n;
    (void)eventfd_read(d->wake_fd, &n); /* non-blocking: consume the wake-ups */
}

/* Wait on d->cv (under d->mu) until woken or deadline_ms (monotonic) passes. */
static void cv_wait_until(struct daemon *d, uint64_t deadline_ms)
{
    uint64_t now = now_ms();
    uint64_t left = deadline_ms > now ? deadline_ms - now : 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(left / 1000);
    ts.tv_nsec += (long)(left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&d->cv, &d->mu, &ts);
}

static void log_poll_error(const struct err *e, const struct commands_client *c)
{
    const struct commands_call_info *ci = commands_last_call(c);
    if (e->code == ERR_HTTP && ci && ci->status == 0) {
        log_error("Network error: %s", e->msg);
        if (strstr(e->msg, "certificate") || strstr(e->msg, "SSL"))
            log_error("Failed to execute the command. Your certificates might have been deleted");
    } else if (ci && ci->error_code[0]) {
        log_error("Cannot reach InstanceService: %s - %s", ci->error_code, ci->error_message);
    } else {
        log_error("Error during perform: %s", e->msg);
    }
}

/* Validate a polled command (R-069 / V-028); false = treat like an empty poll. */
static bool command_valid(struct daemon *d, const struct host_command *hc)
{
    if (!hc->command_name || !*hc->command_name) {
        log_error("Command Name missing");
        return false;
    }
    if (!hc->host_command_identifier || !*hc->host_command_identifier) {
        log_error("Host Command Identifier missing");
        return false;
    }
    if (hc->host_identifier && !strstr(d->id.host_identifier, hc->host_identifier)) {
        log_error("Host Identifier mismatch: %s != %s", d->id.host_identifier, hc->host_identifier);
        return false;
    }
    return true;
}

/* Returns true when the next poll should follow at once. */
static bool dispatch(struct daemon *d, struct host_command *hc, unsigned *dedup_skips)
{
    pthread_mutex_lock(&d->mu);
    if (inflight_has_locked(d, hc->host_command_identifier)) {
        pthread_mutex_unlock(&d->mu);
        log_debug("Command %s is already being processed, skipping", hc->command_name);
        host_command_free(hc);
        return ++*dedup_skips <= 1;
    }
    *dedup_skips = 0;
    if (d->workers >= DAEMON_MAX_WORKERS) {
        pthread_mutex_unlock(&d->mu);
        log_warn("All command slots busy, deferring command");
        host_command_free(hc);
        return false;
    }
    inflight_add_locked(d, hc->host_command_identifier);
    d->workers++;
    pthread_mutex_unlock(&d->mu);
    struct worker *w = xcalloc(1, sizeof(*w));
    w->d = d;
    w->hc = hc;
    AUTOFREE char *who = xasprintf("command %s", hc->command_name);
    w->slot = alive_join(d->alive, who, DAEMON_STEP_BUDGET_S * 1000ULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int r = pthread_create(&t, &attr, worker_main, w);
    pthread_attr_destroy(&attr);
    if (r != 0) {
        log_error("Cannot start a worker thread: %s", strerror(r));
        alive_leave(d->alive, w->slot);
        inflight_remove(d, hc->host_command_identifier);
        host_command_free(hc);
        free(w);
        return false;
    }
    return true;
}

/* After a poll that started at t0 and brought no new work: :wait_between_runs:, and at least
 * what is left of DAEMON_MIN_POLL_GAP_MS since t0. */
static uint64_t idle_pause_ms(uint64_t t0, uint64_t interval_ms)
{
    uint64_t since = now_ms() - t0;
    uint64_t gap_left = since < DAEMON_MIN_POLL_GAP_MS ? DAEMON_MIN_POLL_GAP_MS - since : 0;
    return interval_ms > gap_left ? interval_ms : gap_left;
}

void daemon_poll_loop(struct daemon *d)
{
    unsigned errors = 0, dedup_skips = 0;
    uint64_t interval_ms = (uint64_t)d->cfg->wait_between_runs * 1000;
    while (!stop_requested(&sig_stop)) {
        uint64_t t0 = d->ops->now();
        struct host_command *hc = NULL;
        struct err err = ERR_INIT;
        daemon_loop_checkin(d, poll_call_budget_ms(d));
        pthread_mutex_lock(&d->poll_mu);
        int r = d->ops->poll(d->poll_client, d->id.host_identifier, &hc, &err);
        daemon_loop_checkin(d, 0); /* the poll is over: a hang from here on is a hang */
        log_call(d->poll_client, d->id.host_identifier);
        pthread_mutex_unlock(&d->poll_mu);
        if (stop_requested(&sig_stop)) {
            host_command_free(hc);
            break;
        }
        if (r == 0 && hc && !command_valid(d, hc)) {
            /* a malformed command counts as a failed cycle. */
            host_command_free(hc);
            hc = NULL;
            r = -1;
            err_set(&err, ERR_PARSE, "invalid command from the service");
        } else if (r < 0) {
            log_poll_error(&err, d->poll_client);
        }
        if (r < 0) {
            metrics_poll_error(err.code == ERR_THROTTLED);
            errors = errors < 10 ? errors + 1 : 10;
            uint64_t elapsed_s = (d->ops->now() - t0 + 999) / 1000;
            uint64_t b = daemon_backoff_s(errors);
            uint64_t wait = b > elapsed_s ? b - elapsed_s : 0;
            const struct commands_call_info *ci = commands_last_call(d->poll_client);
            pthread_mutex_lock(&d->mu);
            snprintf(d->backoff, sizeof(d->backoff), "Backing off %llu s after %s",
                     (unsigned long long)wait,
                     ci && ci->error_code[0] ? ci->error_code : err_code_name(err.code));
            pthread_mutex_unlock(&d->mu);
            daemon_status_publish(d);
            /* the backoff comes in addition to :wait_between_runs:. */
            daemon_loop_checkin(d, wait * 1000 + interval_ms);
            (void)d->ops->wait(&sig_stop, wait * 1000 + interval_ms);
            continue;
        }
        if (errors) {
            errors = 0;
            pthread_mutex_lock(&d->mu);
            d->backoff[0] = '\0';
            pthread_mutex_unlock(&d->mu);
            daemon_status_publish(d);
        }
        if (!hc || !dispatch(d, hc, &dedup_skips))
            d->ops->idle(d, idle_pause_ms(t0, interval_ms));
    }
}

const struct daemon_ops daemon_ops_real = {
    .poll = commands_poll,
    .get_spec = fetch_spec,
    .ack = commands_ack,
    .complete = commands_complete,
    .execute = executor_run,
    .now = now_ms,
    .wait = stop_wait_ms,
    .idle = daemon_loop_sleep,
};

struct stop *daemon_sig_stop(void)
{
    return &sig_stop;
}

struct stop *daemon_kill_hooks(void)
{
    return &kill_hooks;
}

/* ---- start-up and shutdown ---- */

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Signals a service may be sent by mistake (logrotate, monitoring, `kill -USR1`) must not
     * kill it at once (issue 18 item 5): a handler that does nothing, which exec resets to the
     * default for hooks and helpers, unlike SIG_IGN. */
    sa.sa_handler = on_stray_signal;
    const int stray[] = {SIGUSR1, SIGUSR2,   SIGALRM, SIGVTALRM, SIGPROF, SIGIO,
                         SIGXFSZ, SIGSTKFLT, SIGTSTP, SIGTTIN,   SIGTTOU};
    for (size_t i = 0; i < sizeof(stray) / sizeof(stray[0]); i++)
        sigaction(stray[i], &sa, NULL);
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
        sigaction(sig, &sa, NULL);
}

/* Wait until no worker runs or deadline_ms (monotonic) passes; returns the workers left. */
static int wait_workers_until(struct daemon *d, uint64_t deadline_ms)
{
    pthread_mutex_lock(&d->mu);
    while (d->workers > 0 && now_ms() < deadline_ms) {
        daemon_loop_checkin(d, deadline_ms - now_ms());
        cv_wait_until(d, deadline_ms); /* a finishing worker broadcasts d->cv */
    }
    int left = d->workers;
    pthread_mutex_unlock(&d->mu);
    return left;
}

/* Returns the number of commands still running when it gave up. */
static int wait_for_workers(struct daemon *d)
{
    unsigned max_s = (unsigned)d->cfg->kill_agent_max_wait_time_seconds;
    log_info("Gracefully shutting down agent child threads now, will wait up to %u seconds", max_s);
    int left = wait_workers_until(d, now_ms() + (uint64_t)max_s * 1000);
    if (left > 0) {
        /* stop the hooks (SIGTERM, 10 s, SIGKILL in the hook runner) and leave. */
        log_warn("%d command(s) still running after %u s; stopping their scripts", left, max_s);
        stop_request(&kill_hooks);
        left = wait_workers_until(d, now_ms() + DAEMON_STOP_KILL_WAIT_S * 1000ULL);
    }
    hook_drain_shutdown(1000);
    if (left > 0)
        log_warn("%d command(s) did not finish; their tracking files stay for the next start",
                 left);
    else
        log_info("All agent child threads have been shut down");
    return left;
}

static int setup(struct daemon *d, struct err *err)
{
    const struct config *cfg = d->cfg;
    if (mkdir_p(cfg->root_dir, 0755, err) < 0)
        return -1;
    /* without a region or host identity the agent waits and retries; it never
     * exits for that.  READY=1 goes out after the first attempt so `systemctl start` returns
     * and the status line says what is missing. */
    unsigned attempt = 0;
    for (;;) {
        struct err ie = ERR_INIT;
        daemon_loop_checkin(d, DAEMON_IDENTITY_BUDGET_MS);
        if (identity_init(&d->id, cfg, true, &sig_stop, &ie) == 0)
            break;
        attempt = attempt < 10 ? attempt + 1 : 10;
        unsigned wait = daemon_backoff_s(attempt);
        log_err(LOG_PRIO_ERR, &ie, "Cannot start polling, retrying in %us", wait);
        sd_notify_ready();
        pthread_mutex_lock(&d->mu);
        snprintf(d->backoff, sizeof(d->backoff),
                 "Waiting %u s for host identity or credentials: %.200s", wait, ie.msg);
        pthread_mutex_unlock(&d->mu);
        daemon_status_publish(d);
        /* Waiting is progress: the watchdog keeps being told so. */
        daemon_loop_checkin(d, (uint64_t)wait * 1000);
        if (stop_wait_ms(&sig_stop, (uint64_t)wait * 1000))
            return err_set(err, ERR_CANCELLED, "stopped before the host identity was known");
    }
    pthread_mutex_lock(&d->mu);
    d->backoff[0] = '\0';
    pthread_mutex_unlock(&d->mu);
    if (cfg->use_fips_mode && !endpoint_fips_allowed(d->id.region))
        return err_set(err, ERR_CONFIG,
                       "use_fips_mode can be set to true only in regions located "
                       "in the USA");
    struct endpoint_commands_opts eo = {.region = d->id.region,
                                        .domain = d->id.domain,
                                        .fips = cfg->use_fips_mode,
                                        .secure = cfg->enable_auth_policy,
                                        .override_url = cfg->deploy_control_endpoint};
    if (endpoint_commands_resolve(&eo, &d->ep, err) < 0)
        return -1;
    log_info("CodeDeploy endpoint: %s", d->ep.url);
    /* V-004/V-087/R-048: write our version, then send what the R-048 lookup reads back. */
    struct err ve = ERR_INIT;
    if (version_publish(cfg->root_dir, &ve) < 0)
        log_err(LOG_PRIO_WARNING, &ve, "Writing the agent version file, ignoring");
    d->agent_version = version_lookup(cfg->root_dir, VERSION_FILE_DEFAULT);
    log_info("Agent version: %s", d->agent_version);
    d->tracking_dir = layout_ongoing_dir(cfg->root_dir, cfg->ongoing_deployment_tracking);
    struct err he = ERR_INIT;
    struct hookenv_opts ho = {0};
    d->hookenv = hookenv_new(&ho, &he);
    if (!d->hookenv) {
        log_err(LOG_PRIO_WARNING, &he,
                "Cannot source /etc/profile for the hook environment, "
                "using the agent's environment");
        struct hookenv_opts h2 = {.profile = ""};
        d->hookenv = hookenv_new(&h2, err);
        if (!d->hookenv)
            return -1;
    }
    if (cfg->log_aws_wire) {
        AUTOFREE char *wp = wirelog_path(cfg->log_dir, cfg->program_name);
        struct wirelog_opts wo = {.path = wp};
        struct err we = ERR_INIT;
        d->wire = wirelog_open(&wo, &we);
        if (!d->wire)
            log_err(LOG_PRIO_WARNING, &we, "No wire log, continuing without it");
    }
    d->poll_client = new_client(d, true, err);
    return d->poll_client ? 0 : -1;
}

static void teardown(struct daemon *d)
{
    record_close();
    commands_client_free(d->poll_client);
    wirelog_free(d->wire);
    hookenv_free(d->hookenv);
    endpoint_commands_done(&d->ep);
    identity_done(&d->id);
    free(d->agent_version);
    free(d->tracking_dir);
    if (d->state_path)
        (void)unlink(d->state_path);
    free(d->state_path);
    alive_free(d->alive);
    pthread_mutex_destroy(&d->mu);
    pthread_mutex_destroy(&d->poll_mu);
    pthread_cond_destroy(&d->cv);
    if (d->wake_fd >= 0)
        close(d->wake_fd);
    stop_done(&d->exiting);
}

int daemon_run(const struct config *cfg, struct err *err)
{
    struct daemon d;
    memset(&d, 0, sizeof(d));
    d.cfg = cfg;
    d.ops = &daemon_ops_real;
    pthread_mutex_init(&d.mu, NULL);
    pthread_mutex_init(&d.poll_mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    d.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (d.wake_fd < 0)
        return err_errno(err, errno, "create the worker wake-up eventfd");
    if (stop_init(&sig_stop, err) < 0 || stop_init(&kill_hooks, err) < 0 ||
        stop_init(&d.exiting, err) < 0)
        return -1;
    d.state_path = daemon_state_path(cfg);
    install_signals();
    /* Credentials live in this process: no core dumps of it (V-085). */
    if (cfg->disable_core_dumps) {
        struct rlimit rl = {0, 0};
        (void)setrlimit(RLIMIT_CORE, &rl);
        (void)prctl(PR_SET_DUMPABLE, 0);
    }
    if (chdir("/") < 0)
        log_warn("chdir /: %s", strerror(errno));
    /* Honour the unit's SyslogIdentifier= in the journal (issue 13). */
    AUTOFREE char *ident = sd_own_syslog_identifier();
    log_set_identifier(ident);
    d.hup = &sig_hup;
    if (record_open(cfg, err) < 0) {
        teardown(&d);
        return -1;
    }
    pthread_t wd;
    bool have_wd = daemon_watchdog_start(&d, &wd);
    int rc = setup(&d, err);
    if (rc == 0) {
        daemon_recover(&d);
        sd_notify_ready();
        log_info("Agent started, host %s, region %s", d.id.host_identifier, d.id.region);
        pthread_mutex_lock(&d.mu);
        d.started = true;
        pthread_mutex_unlock(&d.mu);
        daemon_status_publish(&d);
        daemon_poll_loop(&d);
        sd_notify_stopping();
        pthread_mutex_lock(&d.mu);
        d.stopping = true;
        pthread_mutex_unlock(&d.mu);
        daemon_status_publish(&d);
    }
    int left = rc == 0 ? wait_for_workers(&d) : 0;
    stop_request(&d.exiting);
    if (have_wd)
        pthread_join(wd, NULL);
    if (left > 0) {
        /* Workers still use the shared state: exit without tearing it down. */
        return 0;
    }
    teardown(&d);
    if (rc < 0)
        return err && err->code == ERR_CANCELLED ? 0 : -1;
    return 0;
}
