/*
 * metrics: Prometheus text-format metrics for node_exporter's textfile collector
 * (:metrics_file:, issue 16 item 4).  Off unless metrics_open() was given a path.  Every update
 * rewrites the file atomically (temporary file in the same directory, then rename, mode 0644),
 * so the collector never reads half a file.  Counters live in this process and start at zero
 * when the agent starts (a counter reset, which Prometheus's rate() handles);
 * cdagent_last_successful_deployment_timestamp_seconds is seeded from the agent's history.
 *
 *   cdagent_info{version="0.1.0"} 1
 *   cdagent_deployments_total{result="succeeded"|"failed"}
 *   cdagent_lifecycle_events_total{event="ApplicationStart",result="succeeded"|"failed"}
 *   cdagent_lifecycle_event_duration_seconds_bucket{event="...",le="..."} (histogram; _sum, _count)
 *   cdagent_bundle_downloaded_bytes_total
 *   cdagent_last_successful_deployment_timestamp_seconds
 *   cdagent_poll_errors_total        polls that failed after the client's retries ...
 *   cdagent_poll_throttles_total     ... counted here instead when the service was throttling
 * Thread-safe.  Write failures are logged at WARN once, then at DEBUG.
 */
#ifndef CDAGENT_METRICS_H
#define CDAGENT_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

#define METRICS_MAX_EVENTS 64 /* distinct event labels kept (custom events beyond are "other") */

/* Turn metrics on (path NULL or "": off) and write the first file.  last_success_ms seeds the
 * timestamp (0: none).  ERR_SYSTEM when the file cannot be written. */
int metrics_open(const char *path, const char *version, int64_t last_success_ms, struct err *err);
void metrics_close(void);

void metrics_event(const char *event, bool succeeded, double seconds);
void metrics_deployment(bool succeeded, int64_t end_wall_ms);
void metrics_downloaded(uint64_t bytes);
void metrics_poll_error(bool throttled);

/* The current text (caller frees); also when off (tests). */
char *metrics_render(void);

/* Forget everything (tests). */
void metrics_reset(void);

#endif
