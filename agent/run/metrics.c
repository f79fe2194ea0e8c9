/* metrics: see metrics.h. */
#include "run/metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/util.h"

static const double buckets[] = {1, 5, 15, 30, 60, 300, 900, 1800, 3600};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct ev_stats {
    char name[64];
    uint64_t ok, failed;
    uint64_t bucket[NBUCKETS]; /* cumulative counts at render time, per bucket here */
    uint64_t count;
    double sum;
};

static struct {
    pthread_mutex_t mu;
    char *path;
    char *version;
    bool warned;
    uint64_t deploy_ok, deploy_failed;
    struct ev_stats ev[METRICS_MAX_EVENTS];
    size_t nev;
    uint64_t bytes;
    int64_t last_success_ms;
    uint64_t poll_errors, poll_throttles;
} m = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Label values: escape '\\', '"' and newlines as the text format says. */
static void label_escape(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s && o + 3 < n; s++) {
        if (*s == '\\' || *s == '"') {
            out[o++] = '\\';
            out[o++] = *s;
        } else if (*s == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
}

static void render_events(struct buf *b)
{
    buf_appendf(b, NULL,
                "# HELP cdagent_lifecycle_events_total Lifecycle commands run, by event "
                "and result.\n# TYPE cdagent_lifecycle_events_total counter\n");
    for (size_t i = 0; i < m.nev; i++) {
        char e[160];
        label_escape(m.ev[i].name, e, sizeof(e));
        buf_appendf(b, NULL,
                    "cdagent_lifecycle_events_total{event=\"%s\",result=\"succeeded\"} %" PRIu64
                    "\ncdagent_lifecycle_events_total{event=\"%s\",result=\"failed\"} %" PRIu64
                    "\n",
                    e, m.ev[i].ok, e, m.ev[i].failed);
    }
    buf_appendf(b, NULL,
                "# HELP cdagent_lifecycle_event_duration_seconds Duration of lifecycle "
                "commands.\n# TYPE cdagent_lifecycle_event_duration_seconds histogram\n");
    for (size_t i = 0; i < m.nev; i++) {
        char e[160];
        label_escape(m.ev[i].name, e, sizeof(e));
        uint64_t cum = 0;
        for (size_t k = 0; k < NBUCKETS; k++) {
            cum += m.ev[i].bucket[k];
            buf_appendf(b, NULL,
                        "cdagent_lifecycle_event_duration_seconds_bucket{event=\"%s\",le=\"%g\"} "
                        "%" PRIu64 "\n",
                        e, buckets[k], cum);
        }
        buf_appendf(b, NULL,
                    "cdagent_lifecycle_event_duration_seconds_bucket{event=\"%s\",le=\"+Inf\"} "
                    "%" PRIu64 "\ncdagent_lifecycle_event_duration_seconds_sum{event=\"%s\"} %.3f\n"
                    "cdagent_lifecycle_event_duration_seconds_count{event=\"%s\"} %" PRIu64 "\n",
                    e, m.ev[i].count, e, m.ev[i].sum, e, m.ev[i].count);
    }
}

static char *render_locked(void)
{
    struct buf b;
    buf_init(&b, 4 * 1024 * 1024);
    char v[128];
    label_escape(m.version ? m.version : CDAGENT_VERSION, v, sizeof(v));
    buf_appendf(&b, NULL,
                "# HELP cdagent_info The agent's version.\n# TYPE cdagent_info gauge\n"
                "cdagent_info{version=\"%s\"} 1\n"
                "# HELP cdagent_deployments_total Deployments finished on this host, by result.\n"
                "# TYPE cdagent_deployments_total counter\n"
                "cdagent_deployments_total{result=\"succeeded\"} %" PRIu64 "\n"
                "cdagent_deployments_total{result=\"failed\"} %" PRIu64 "\n",
                v, m.deploy_ok, m.deploy_failed);
    render_events(&b);
    buf_appendf(&b, NULL,
                "# HELP cdagent_bundle_downloaded_bytes_total Revision bytes downloaded.\n"
                "# TYPE cdagent_bundle_downloaded_bytes_total counter\n"
                "cdagent_bundle_downloaded_bytes_total %" PRIu64 "\n"
                "# HELP cdagent_last_successful_deployment_timestamp_seconds End of the last "
                "successful deployment (Unix time; 0: none).\n"
                "# TYPE cdagent_last_successful_deployment_timestamp_seconds gauge\n"
                "cdagent_last_successful_deployment_timestamp_seconds %.3f\n"
                "# HELP cdagent_poll_errors_total Failed polls of the Commands service.\n"
                "# TYPE cdagent_poll_errors_total counter\n"
                "cdagent_poll_errors_total %" PRIu64 "\n"
                "# HELP cdagent_poll_throttles_total Polls the service throttled.\n"
                "# TYPE cdagent_poll_throttles_total counter\n"
                "cdagent_poll_throttles_total %" PRIu64 "\n",
                m.bytes, (double)m.last_success_ms / 1000.0, m.poll_errors, m.poll_throttles);
    return buf_steal(&b);
}

char *metrics_render(void)
{
    pthread_mutex_lock(&m.mu);
    char *s = render_locked();
    pthread_mutex_unlock(&m.mu);
    return s;
}

/* Write the file (m.mu held). */
static int flush_locked(struct err *err)
{
    if (!m.path)
        return 0;
    char *s = render_locked();
    struct err e = ERR_INIT;
    int r = write_file_atomic(m.path, s, strlen(s), 0644, &e);
    free(s);
    if (r < 0) {
        if (!m.warned)
            log_warn("Writing the metrics file %s: %s (later failures at debug level)", m.path,
                     e.msg);
        else
            log_debug("Writing the metrics file %s: %s", m.path, e.msg);
        m.warned = true;
        if (err)
            *err = e;
    }
    return r;
}

int metrics_open(const char *path, const char *version, int64_t last_success_ms, struct err *err)
{
    pthread_mutex_lock(&m.mu);
    free(m.path);
    free(m.version);
    m.path = path && *path ? xstrdup(path) : NULL;
    m.version = version ? xstrdup(version) : NULL;
    m.warned = false;
    if (last_success_ms > m.last_success_ms)
        m.last_success_ms = last_success_ms;
    int r = flush_locked(err);
    pthread_mutex_unlock(&m.mu);
    return r;
}

void metrics_close(void)
{
    pthread_mutex_lock(&m.mu);
    free(m.path);
    m.path = NULL;
    pthread_mutex_unlock(&m.mu);
}

static struct ev_stats *event_locked(const char *event)
{
    for (size_t i = 0; i < m.nev; i++)
        if (strcmp(m.ev[i].name, event) == 0)
            return &m.ev[i];
    if (m.nev == METRICS_MAX_EVENTS)
        return strcmp(event, "other") == 0 ? &m.ev[m.nev - 1] : event_locked("other");
    struct ev_stats *s = &m.ev[m.nev++];
    memset(s, 0, sizeof(*s));
    (void)snprintf(s->name, sizeof(s->name), "%s", m.nev == METRICS_MAX_EVENTS ? "other" : event);
    return s;
}

void metrics_event(const char *event, bool succeeded, double seconds)
{
    pthread_mutex_lock(&m.mu);
    struct ev_stats *s = event_locked(event ? event : "unknown");
    if (succeeded)
        s->ok++;
    else
        s->failed++;
    size_t k = 0;
    while (k < NBUCKETS && seconds > buckets[k])
        k++;
    if (k < NBUCKETS)
        s->bucket[k]++;
    s->count++;
    s->sum += seconds;
    (void)flush_locked(NULL);
    pthread_mutex_unlock(&m.mu);
}

void metrics_deployment(bool succeeded, int64_t end_wall_ms)
{
    pthread_mutex_lock(&m.mu);
    if (succeeded) {
        m.deploy_ok++;
        if (end_wall_ms > m.last_success_ms)
            m.last_success_ms = end_wall_ms;
    } else {
        m.deploy_failed++;
    }
    (void)flush_locked(NULL);
    pthread_mutex_unlock(&m.mu);
}

void metrics_downloaded(uint64_t bytes)
{
    pthread_mutex_lock(&m.mu);
    m.bytes += bytes;
    (void)flush_locked(NULL);
    pthread_mutex_unlock(&m.mu);
}

void metrics_poll_error(bool throttled)
{
    pthread_mutex_lock(&m.mu);
    if (throttled)
        m.poll_throttles++;
    else
        m.poll_errors++;
    (void)flush_locked(NULL);
    pthread_mutex_unlock(&m.mu);
}

void metrics_reset(void)
{
    pthread_mutex_lock(&m.mu);
    free(m.path);
    free(m.version);
    m.path = m.version = NULL;
    m.warned = false;
    m.deploy_ok = m.deploy_failed = m.bytes = m.poll_errors = m.poll_throttles = 0;
    m.last_success_ms = 0;
    m.nev = 0;
    pthread_mutex_unlock(&m.mu);
}
