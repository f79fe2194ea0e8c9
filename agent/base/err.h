/*
 * err: the one error convention of cdagent.
 *
 * A fallible function takes `struct err *err` as its last parameter (NULL allowed) and returns -1
 * or NULL on failure, always filling err; on success it never touches err.  The first message
 * wins: err_set() on an already-set err keeps the innermost reason, and callers add context with
 * err_prefix().  err->code is an enum err_code; codes 0-7 are exactly the diagnostic codes the
 * CodeDeploy service expects (spec R-191), the rest are internal kinds that the executor reports
 * as UNKNOWN_ERROR (5) through err_diag_code().
 */
#ifndef CDAGENT_ERR_H
#define CDAGENT_ERR_H

#include <stdbool.h>

#define ERR_MSG_MAX 1024 /* room for the R-130 message with two real root-dir paths */

enum err_code {
    ERR_NONE = 0,                 /* SUCCEEDED */
    ERR_SCRIPT_MISSING = 1,       /* hook script file not found */
    ERR_SCRIPT_EXECUTABILITY = 2, /* script not executable and chmod failed */
    ERR_SCRIPT_TIMED_OUT = 3,     /* script exceeded its timeout */
    ERR_SCRIPT_FAILED = 4,        /* non-zero exit, signal, spawn failure */
    ERR_UNKNOWN = 5,              /* any non-script error */
    ERR_OUTPUTS_LEFT_OPEN = 6,    /* stdout/stderr held open until the deadline */
    ERR_FAILED_AFTER_RESTART = 7, /* event in progress when the agent restarted */

    /* Internal kinds; all reported to the service as ERR_UNKNOWN. */
    ERR_SYSTEM = 100, /* a system call failed (sys_errno set) */
    ERR_PARSE,        /* malformed input: YAML, JSON, XML, numbers */
    ERR_CONFIG,       /* agent configuration is invalid */
    ERR_APPSPEC,      /* appspec.yml is invalid */
    ERR_ARCHIVE,      /* bundle archive is invalid or hostile */
    ERR_INSTALL,      /* Install step failed */
    ERR_HTTP,         /* transport failure or unexpected HTTP status */
    ERR_AUTH,         /* credentials missing or rejected */
    ERR_LIMIT,        /* a size/count cap was exceeded */
    ERR_SIGNATURE,    /* a signature or checksum did not verify */
    ERR_NOT_FOUND,    /* a named thing does not exist */
    ERR_UNSAFE,       /* a path or entry would escape its destination */
    ERR_CANCELLED,    /* stopped because the agent is shutting down */
    ERR_UNSUPPORTED,  /* a feature or command this agent does not do */
    ERR_USAGE,        /* bad command-line usage */
    ERR_THROTTLED,    /* the service asked us to slow down */
    ERR_TIMEOUT,      /* a network or lock wait timed out */
};

struct err {
    int code;              /* enum err_code; ERR_NONE when clear */
    int sys_errno;         /* errno for ERR_SYSTEM, else 0 */
    char msg[ERR_MSG_MAX]; /* a longer message keeps its start and end, its middle becomes
                            * " ... " (never cut at the end, where the cause is) */
};

#define ERR_INIT                                                                                   \
    {                                                                                              \
        0, 0,                                                                                      \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/* Reset e (NULL allowed) so it can be reused. */
void err_clear(struct err *e);

/* True when e is non-NULL and holds an error. */
bool err_is_set(const struct err *e);

/* Set code and message unless e is NULL or already set.  Always returns -1. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like err_set with ERR_SYSTEM, appending ": strerror(errno)".  Reads errno first.  Returns -1. */
int err_sys(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Same as err_sys but with an explicit errno value. */
int err_errno(struct err *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend "<context>: " to an already-set message (no-op when e is NULL or clear). */
void err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The diagnostic error code (0-7, spec R-191) the service should see for e. */
int err_diag_code(const struct err *e);

/* Short name of a code for logs ("ScriptFailed", "Parse", ...). Never NULL. */
const char *err_code_name(int code);

#endif
