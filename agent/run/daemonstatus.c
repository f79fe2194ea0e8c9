/* daemonstatus: STATUS=, the state file and the watchdog; see daemon-internal.h. */
#include "run/daemon-internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/stop.h"
#include "sys/sd.h"
#include "base/util.h"
#include "run/daemon.h"
#include "run/progress.h"

/* The main thread made progress; its next step may take up to extra_ms more than usual. */
void daemon_loop_checkin(struct daemon *d, uint64_t extra_ms)
{
    alive_checkin(d->alive, d->loop_slot, d->loop_budget_ms + extra_ms);
}

/* ---- status: STATUS= and the state file ---- */

static void status_text_locked(struct daemon *d, char *out, size_t n)
{
    unsigned s = (unsigned)((now_ms() - d->current_since_ms) / 1000);
    if (d->stopping && d->current[0]) {
        snprintf(out, n, "Stopping, waiting for %s %u s", d->current, s);
    } else if (d->stopping) {
        snprintf(out, n, "Stopping");
    } else if (d->current[0]) {
        snprintf(out, n, "%s %u s", d->current, s);
    } else if (d->backoff[0]) {
        snprintf(out, n, "%s", d->backoff);
    } else if (!d->started) {
        snprintf(out, n, "Starting");
    } else if (d->last[0]) {
        unsigned ago = (unsigned)((time(NULL) - d->last_at) / 60);
        snprintf(out, n, "Idle, polling %s (last: %s %u min ago)", d->ep.host, d->last, ago);
    } else {
        snprintf(out, n, "Idle, polling %s", d->ep.host);
    }
}

void daemon_status_publish(struct daemon *d)
{
    char text[768];
    pthread_mutex_lock(&d->mu);
    status_text_locked(d, text, sizeof(text));
    pthread_mutex_unlock(&d->mu);
    sd_notify_status("%s", text);
    AUTOFREE char *body = xasprintf("pid: %ld\nstatus: %s\n", (long)getpid(), text);
    (void)write_file_atomic(d->state_path, body, strlen(body), 0644, NULL);
}

void daemon_status_set_current(struct daemon *d, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&d->mu);
    va_start(ap, fmt);
    vsnprintf(d->current, sizeof(d->current), fmt, ap);
    va_end(ap);
    d->current_since_ms = now_ms();
    pthread_mutex_unlock(&d->mu);
    daemon_status_publish(d);
}

void daemon_status_set_last(struct daemon *d, const char *deployment, const char *command, bool ok)
{
    pthread_mutex_lock(&d->mu);
    snprintf(d->last, sizeof(d->last), "%s %s %s", deployment, command,
             ok ? "Succeeded" : "Failed");
    d->last_at = time(NULL);
    d->current[0] = '\0';
    pthread_mutex_unlock(&d->mu);
    daemon_status_publish(d);
}

void daemon_exec_progress(void *arg, const struct executor_progress *p)
{
    struct worker *w = arg;
    struct daemon *d = w->d;
    /* The hook runner ends a script at its timeout; other steps report progress often. */
    alive_checkin(d->alive, w->slot,
                  (p->phase == EXEC_PHASE_SCRIPT ? DAEMON_SCRIPT_BUDGET_S : DAEMON_STEP_BUDGET_S) *
                      1000ULL);
    if (p->phase == EXEC_PHASE_BYTES || p->phase == EXEC_PHASE_UNPACK) {
        /* "d-X: DownloadBundle 120/200 MB, 45 MB/s", at most once a second (issue 16). */
        static _Thread_local uint64_t last_ms;
        if (now_ms() - last_ms < PROGRESS_STATUS_INTERVAL_MS)
            return;
        last_ms = now_ms();
        char text[256];
        progress_status(text, sizeof(text), p->deployment_id,
                        p->phase == EXEC_PHASE_UNPACK ? "DownloadBundle unpacking" : p->command,
                        p->done, p->total, p->rate_bps);
        pthread_mutex_lock(&d->mu);
        snprintf(d->current, sizeof(d->current), "%s", text);
        pthread_mutex_unlock(&d->mu);
        daemon_status_publish(d);
    } else if (p->phase == EXEC_PHASE_SCRIPT)
        daemon_status_set_current(d, "%s: %s %s", p->deployment_id, p->command, p->script);
    else if (p->phase == EXEC_PHASE_START)
        daemon_status_set_current(d, "%s: %s", p->deployment_id, p->command);
}

/* WATCHDOG=1 while every thread made progress within its budget (see alive.h); the log says
 * when that stops and starts again. */
static void watchdog_ping(struct daemon *d, bool *stalled)
{
    char who[96];
    if (alive_ok(d->alive, who, sizeof(who))) {
        if (*stalled)
            log_info("The agent makes progress again; watchdog pings resumed");
        *stalled = false;
        sd_notify_watchdog();
    } else if (!*stalled) {
        *stalled = true;
        log_warn("No progress from %s: no watchdog pings until it checks in (systemd restarts "
                 "the agent after WatchdogSec=)",
                 who);
    }
}

/* Watchdog pings, STATUS= refresh (never more than DAEMON_STATUS_REFRESH_MS stale), SIGHUP. */
static void *watchdog_main(void *arg)
{
    struct daemon *d = arg;
    uint64_t step = DAEMON_STATUS_REFRESH_MS;
    if (d->watchdog_usec && d->watchdog_usec / 4000 < step)
        step = d->watchdog_usec / 4000;
    unsigned last_report_min = 0;
    bool stalled = false;
    while (!stop_requested(&d->exiting)) {
        if (d->watchdog_usec)
            watchdog_ping(d, &stalled);
        if (d->hup && *d->hup) {
            /* SIGHUP: reopen the agent log after external rotation. */
            *d->hup = 0;
            log_reopen();
        }
        daemon_status_publish(d);
        /* show that a long hook is still running, once a minute. */
        pthread_mutex_lock(&d->mu);
        unsigned min = d->current[0] ? (unsigned)((now_ms() - d->current_since_ms) / 60000) : 0;
        char what[sizeof(d->current)];
        snprintf(what, sizeof(what), "%s", d->current);
        pthread_mutex_unlock(&d->mu);
        if (min > last_report_min)
            log_info("%s still running after %u min", what, min);
        last_report_min = min;
        (void)stop_wait_ms(&d->exiting, step);
    }
    return NULL;
}

bool daemon_watchdog_start(struct daemon *d, pthread_t *t)
{
    d->watchdog_usec = sd_watchdog_interval_usec();
    d->loop_budget_ms = d->watchdog_usec ? d->watchdog_usec / 2000 : DAEMON_STEP_BUDGET_S * 1000ULL;
    if (d->loop_budget_ms < DAEMON_STATUS_REFRESH_MS)
        d->loop_budget_ms = DAEMON_STATUS_REFRESH_MS;
    d->alive = alive_new();
    d->loop_slot = alive_join(d->alive, "the poll loop", d->loop_budget_ms);
    return pthread_create(t, NULL, watchdog_main, d) == 0;
}
