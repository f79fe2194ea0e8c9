/*
 * daemon-internal: the daemon's shared state, for daemon.c and daemonstatus.c only.
 * daemonstatus.c owns what the agent tells systemd besides READY/STOPPING: STATUS= and the
 * state file (refreshed every DAEMON_STATUS_REFRESH_MS by the watchdog thread) and WATCHDOG=1,
 * sent only while every thread checks in (alive.h; issue 13).
 */
#ifndef CDAGENT_DAEMON_INTERNAL_H
#define CDAGENT_DAEMON_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "aws/commands.h"
#include "base/stop.h"
#include "aws/identity.h"
#include "net/endpoint.h"
#include "run/alive.h"
#include "run/executor.h"

struct config;
struct daemon;
struct deploy_spec;
struct hookenv;
struct wirelog;

/* What the daemon's logic calls outside itself: the Commands service, the executor, the clock and
 * its waits.  daemon_run uses daemon_ops_real; unit tests pass fakes to the same loop. */
struct daemon_ops {
    int (*poll)(struct commands_client *c, const char *host_identifier, struct host_command **ret,
                struct err *err);
    /* GetDeploymentSpecification, its envelope opened and the specification parsed */
    int (*get_spec)(struct daemon *d, struct commands_client *c, const struct host_command *hc,
                    struct deploy_spec **ret, struct err *err);
    int (*ack)(struct commands_client *c, const char *hcid, bool is_noop,
               enum commands_status *ret_status, struct err *err);
    int (*complete)(struct commands_client *c, const char *hcid, bool succeeded,
                    const char *diag_json, struct err *err);
    void (*execute)(const struct executor_opts *o, const char *command,
                    const struct deploy_spec *spec, struct exec_result *ret);
    uint64_t (*now)(void); /* monotonic ms */
    /* Wait ms or until s is requested; true when it was. */
    bool (*wait)(const struct stop *s, uint64_t ms);
    /* The pause between polls: daemon_loop_sleep. */
    void (*idle)(struct daemon *d, uint64_t ms);
};
extern const struct daemon_ops daemon_ops_real;

struct inflight {
    char *hcid;  /* owned */
    char *group; /* owned; NULL until the specification names it */
    struct inflight *next;
};

struct daemon {
    const struct config *cfg;
    const struct daemon_ops *ops; /* static */
    struct identity id;
    struct endpoint_commands ep;
    char *agent_version;     /* owned */
    char *tracking_dir;      /* owned */
    char *state_path;        /* owned */
    struct hookenv *hookenv; /* owned */
    struct commands_client *poll_client;
    pthread_mutex_t poll_mu; /* the poll client, shared by the poll loop and fail_uncreated() */
    struct wirelog *wire;    /* owned; NULL unless :log_aws_wire */

    pthread_mutex_t mu;
    pthread_cond_t cv; /* workers finishing, groups freed, wake-ups */
    int workers;
    struct inflight *inflight;
    int wake_fd;                /* eventfd, readable once a worker finished: poll at once */
    struct stop exiting;        /* the watchdog thread ends */
    volatile sig_atomic_t *hup; /* SIGHUP seen: the watchdog thread reopens the log */

    /* Watchdog (issue 13): WATCHDOG=1 only while every thread checks in (see alive.h). */
    struct alive *alive;     /* owned */
    int loop_slot;           /* the main thread: set-up, poll loop, shutdown */
    uint64_t loop_budget_ms; /* its longest step between check-ins: half of WatchdogSec */
    uint64_t watchdog_usec;  /* 0: the unit asks for no watchdog */

    /* What we are doing, for STATUS= and the state file (under mu). */
    char current[512]; /* "" when idle */
    uint64_t current_since_ms;
    char last[256]; /* "d-ABC Succeeded" */
    time_t last_at;
    char backoff[320];
    bool started;  /* set-up done: polling */
    bool stopping; /* graceful stop: waiting for the running commands */
};

struct worker {
    struct daemon *d;
    struct host_command *hc; /* owned */
    int slot;                /* its alive slot */
};

/* The loop's parts, for daemon_run and unit tests.  daemon_recover: R-076, fail the command of
 * the newest tracking file (code 7) and remove the files once reported.  daemon_poll_loop: poll
 * and dispatch until daemon_sig_stop() is requested (R-065, R-068, V-029..V-031); workers may
 * still run when it returns.  daemon_loop_sleep: sleep up to ms, ending early at a stop or when
 * a worker finished (d->wake). */
void daemon_recover(struct daemon *d);
void daemon_poll_loop(struct daemon *d);
void daemon_loop_sleep(struct daemon *d, uint64_t ms);
/* SIGTERM/SIGINT/SIGQUIT's stop, and the stop that ends running hooks; daemon_run
 * initialises them. */
struct stop *daemon_sig_stop(void);
struct stop *daemon_kill_hooks(void);

/* The main thread made progress; its next step may take up to extra_ms more than usual. */
void daemon_loop_checkin(struct daemon *d, uint64_t extra_ms);

/* STATUS= and the state file from the current state. */
void daemon_status_publish(struct daemon *d);
void daemon_status_set_current(struct daemon *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void daemon_status_set_last(struct daemon *d, const char *deployment, const char *command, bool ok);
/* executor progress callback; arg is the struct worker. */
void daemon_exec_progress(void *arg, const struct executor_progress *p);

/* Read WatchdogSec=, join the main thread's alive slot and start the watchdog thread (before
 * set-up, so waiting for credentials keeps the watchdog fed).  False: no thread. */
bool daemon_watchdog_start(struct daemon *d, pthread_t *t);

#endif
