/*
 * scriptlog: the per-deployment script log "<deployment dir>/logs/scripts.log" (spec R-161..R-164,
 * v2-delta V-044/V-045) and the in-memory output tail for the diagnostics.
 *
 * One struct scriptlog per lifecycle command.  It writes records in the exact format
 *     2024-05-01 10:15:02 LifecycleEvent - ApplicationStart
 *     2024-05-01 10:15:02 Script - scripts/start_server.sh
 *     2024-05-01 10:15:02 [stdout]Starting httpd
 * (local time, one write(2) per record, so records never interleave), mirrors each record to the
 * deployments log "[YYYY-MM-DD HH:MM:SS.mmm] [<deployment id>]<record stripped>" when enabled, and
 * keeps the tail of the records (without timestamps) of the current event: the newest whole
 * records totalling at most SCRIPTLOG_TAIL_MAX bytes, or the last SCRIPTLOG_TAIL_MAX bytes of the
 * newest record if it alone is longer (R-163; bytes, which is never more characters).  Nothing is
 * created on disk before the first record (an event without scripts writes nothing, R-150).
 * scripts.log rotates before a write once it reaches rotate_bytes (default 64 MiB): .7 deleted, .N
 * renamed to .N+1, the live file to .1 (8 files).  The deployments log rotates like Ruby's Logger
 * (live file renamed to .0, .N to .N+1, 8 files).  Write and rotation errors never fail a
 * deployment: records are then only kept in the tail.
 *
 * Script output enters through a struct scriptlog_stream, which splits bytes into lines (a line
 * longer than max_line bytes is cut into chunks), strips ANSI escape sequences and records each
 * line as "[stdout]<text>\n" or "[stderr]<text>\n"; memory stays bounded whatever a script prints.
 * A scriptlog is reference counted and thread-safe: a background reader that keeps draining the
 * pipes of a daemon left by a hook holds its own reference.
 */
#ifndef CDAGENT_SCRIPTLOG_H
#define CDAGENT_SCRIPTLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

#define SCRIPTLOG_TAIL_MAX 2048
#define SCRIPTLOG_ROTATE_BYTES ((uint64_t)64 * 1024 * 1024)
#define SCRIPTLOG_KEEP_FILES 8
#define SCRIPTLOG_LINE_MAX (64 * 1024)
#define DEPLOYMENTS_LOG_ROTATE_BYTES ((uint64_t)64 * 1024 * 1024)
#define DEPLOYMENTS_LOG_KEEP_FILES 8

enum scriptlog_fd { SCRIPTLOG_STDOUT = 1, SCRIPTLOG_STDERR = 2 };

struct scriptlog_opts {
    const char *path;            /* borrowed; ".../logs/scripts.log"; NULL: tail only */
    const char *deployments_log; /* borrowed; deployments log path; NULL: not written */
    const char *deployment_id;   /* borrowed; for the deployments log records */
    uint64_t rotate_bytes;       /* 0: SCRIPTLOG_ROTATE_BYTES */
    uint64_t deployments_rotate_bytes; /* 0: DEPLOYMENTS_LOG_ROTATE_BYTES */
    int keep_files;                    /* 0: SCRIPTLOG_KEEP_FILES (both logs) */
    time_t (*clock)(void);             /* NULL: time(); tests pin timestamps */
};

struct scriptlog;
struct scriptlog_stream;

/* New log with one reference.  Never fails (files are opened on first use). */
struct scriptlog *scriptlog_new(const struct scriptlog_opts *opts);
struct scriptlog *scriptlog_ref(struct scriptlog *log);
/* Drop a reference; frees on the last one.  Accepts NULL. */
void scriptlog_unref(struct scriptlog *log);

/* Start an event: clears the tail, writes "LifecycleEvent - <event>". */
void scriptlog_event(struct scriptlog *log, const char *event);
/* Write "Script - <location>". */
void scriptlog_script(struct scriptlog *log, const char *location);
/* Write one record (a newline is appended when missing), e.g. "[agent]...". */
void scriptlog_record(struct scriptlog *log, const char *record, size_t len);

/* Copy of the current tail (records concatenated, NUL-terminated; may contain NUL bytes, so use
 * *ret_len).  Caller frees. */
char *scriptlog_tail(struct scriptlog *log, size_t *ret_len);
/* The last write or rotation error (for a debug line), or NULL; valid until the next call. */
const char *scriptlog_last_error(struct scriptlog *log);

/* A line splitter for one output pipe; holds a reference to log.  max_line 0: SCRIPTLOG_LINE_MAX.
 */
struct scriptlog_stream *scriptlog_stream_new(struct scriptlog *log, enum scriptlog_fd which,
                                              size_t max_line);
/* Feed raw bytes; each complete line becomes a record. */
void scriptlog_stream_feed(struct scriptlog_stream *s, const void *data, size_t len);
/* Record a pending fragment without newline (a newline is appended, R-162). */
void scriptlog_stream_flush(struct scriptlog_stream *s);
/* Flush and free.  Accepts NULL. */
void scriptlog_stream_free(struct scriptlog_stream *s);

/* ---- pure helpers, exposed for tests ---- */
/* Strip ANSI escape sequences (CSI, OSC, two-byte ESC sequences) in place; returns the new length.
 */
size_t scriptlog_strip_ansi(char *s, size_t len);
/* "YYYY-MM-DD HH:MM:SS" local time of t into out (20 bytes). */
void scriptlog_format_ts(time_t t, char out[20]);

#endif
