/*
 * log: levelled one-line logging for the agent and codedeploy-local.
 *
 * Every message goes to stderr (prefixed "<N>" with the syslog priority when stderr is not a
 * terminal, so the journal keeps it) or, when stderr is connected to the journal and cli/main
 * installed a journal sink, to the journal with PRIORITY, the caller's CODE_FILE / CODE_LINE /
 * CODE_FUNC, SYSLOG_IDENTIFIER (log_set_identifier(), default the program name) and
 * DEPLOYMENT_ID / LIFECYCLE_EVENT only while the thread's context sets them; and, once
 * log_open() named a directory, to the agent
 * log file "<log_dir>/<program>.log" in the format of spec R-197:
 *     2024-10-09T22:54:45 INFO  [codedeploy-agent(6273)]: message
 * The file rotates at local midnight to "<program>.YYYYMMDD.log", keeping 7, and is
 * reopened by log_reopen() (SIGHUP).  Strings registered with log_add_secret() are replaced by
 * REDACTED in every line.  Thread-safe; a per-thread context (deployment id, lifecycle
 * event) set with log_ctx_set() prefixes messages from deployment threads.
 */
#ifndef CDAGENT_LOG_H
#define CDAGENT_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* syslog priorities */
enum log_prio {
    LOG_PRIO_ERR = 3,
    LOG_PRIO_WARNING = 4,
    LOG_PRIO_NOTICE = 5,
    LOG_PRIO_INFO = 6,
    LOG_PRIO_DEBUG = 7
};

#define LOG_KEEP_ROTATED 7

struct log_opts {
    const char *program; /* borrowed; "codedeploy-agent" or "codedeploy-local" */
    const char *log_dir; /* borrowed; NULL: no log file */
    bool verbose;        /* DEBUG lines only when true */
    bool quiet_stderr;   /* true: only WARN lines on stderr, never with a "<N>" prefix outside the
                          * journal (codedeploy-local shows progress and errors itself) */
};

/* Start logging (may be called again to change settings).  A log directory that cannot be
 * created or written is an error (ERR_SYSTEM); stderr logging stays on regardless. */
int log_open(const struct log_opts *opts, struct err *err);
/* Reopen the log file (after external rotation).  Errors are reported on stderr only. */
void log_reopen(void);
/* Close the log file.  Lines logged afterwards (workers still running after a forced stop) go to
 * stderr, still redacted: the registered secrets are kept. */
void log_close(void);
void log_set_verbose(bool verbose);
/* The journal's SYSLOG_IDENTIFIER (copied; NULL or "": the program name), e.g. the unit's
 * SyslogIdentifier= setting. */
void log_set_identifier(const char *ident);

/* Register a secret (copied) that must never appear in a log line; up to 32 are kept, the
 * oldest forgotten first.  Empty and very short (< 4 chars) strings are ignored. */
void log_add_secret(const char *secret);
/* Replace every registered secret in s (in place) by "REDACTED" where it fits; returns a new
 * string the caller frees. */
char *log_redact(const char *s);

/* log_msg / log_err record their caller's file, line and function (the journal's CODE_*). */
struct log_site {
    const char *file;
    int line;
    const char *func;
};
#define LOG_SITE (&(const struct log_site){__FILE__, __LINE__, __func__})

/* One line for the journal; "" for a context field that is not set (then it is left out). */
struct log_journal_line {
    int prio;
    const char *identifier; /* SYSLOG_IDENTIFIER */
    const struct log_site *site;
    const char *deployment_id;
    const char *event;
    const char *message;
};
/* Where lines go when stderr is the journal (JOURNAL_STREAM matches): a function that sends one
 * line with its fields (sys/sd's sd_journal_line).  NULL (the default): "<N>"-prefixed lines on
 * stderr, which the journal also understands.  Set it before the first line; base/log itself
 * never links libsystemd. */
typedef void (*log_journal_fn)(const struct log_journal_line *l);
void log_set_journal_sink(log_journal_fn fn);

/* Per-thread deployment context; NULL clears.  Strings are copied. */
void log_ctx_set(const char *deployment_id, const char *event);

void log_msg_at(const struct log_site *site, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_err_at(const struct log_site *site, int prio, const struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define log_msg(...) log_msg_at(LOG_SITE, __VA_ARGS__)
#define log_err(...) log_err_at(LOG_SITE, __VA_ARGS__)

#define log_error(...) log_msg(LOG_PRIO_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_PRIO_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_PRIO_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_PRIO_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_PRIO_DEBUG, __VA_ARGS__)

/* Format one agent-log line (without trailing newline) for tests: tm is local time. */
struct tm;
int log_format_line(char *out, size_t outsz, const struct tm *tm, int prio, const char *program,
                    long pid, const char *msg);

#endif
