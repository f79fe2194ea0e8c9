/* err: see err.h. */
#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_clear(struct err *e)
{
    if (!e)
        return;
    e->code = ERR_NONE;
    e->sys_errno = 0;
    e->msg[0] = '\0';
}

bool err_is_set(const struct err *e)
{
    return e && e->code != ERR_NONE;
}

__attribute__((format(printf, 4, 0))) static void vset(struct err *e, int code, int errnum,
                                                       const char *fmt, va_list ap)
{
    int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(e->msg))
        n = (int)sizeof(e->msg) - 1;
    if (errnum) {
        char buf[128];
        const char *s = strerror_r(errnum, buf, sizeof(buf));
        snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", s);
    }
    e->code = code ? code : ERR_UNKNOWN;
    e->sys_errno = errnum;
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
    va_list ap;
    if (!e || e->code != ERR_NONE)
        return -1;
    va_start(ap, fmt);
    vset(e, code, 0, fmt, ap);
    va_end(ap);
    return -1;
}

int err_sys(struct err *e, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;
    if (!e || e->code != ERR_NONE) {
        errno = saved;
        return -1;
    }
    va_start(ap, fmt);
    vset(e, ERR_SYSTEM, saved ? saved : EIO, fmt, ap);
    va_end(ap);
    errno = saved;
    return -1;
}

int err_errno(struct err *e, int errnum, const char *fmt, ...)
{
    va_list ap;
    if (!e || e->code != ERR_NONE)
        return -1;
    va_start(ap, fmt);
    vset(e, ERR_SYSTEM, errnum ? errnum : EIO, fmt, ap);
    va_end(ap);
    return -1;
}

void err_prefix(struct err *e, const char *fmt, ...)
{
    char pre[ERR_MSG_MAX];
    char old[ERR_MSG_MAX];
    va_list ap;
    if (!e || e->code == ERR_NONE)
        return;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof(old));
    size_t n = strnlen(pre, sizeof(pre) - 1);
    if (n > sizeof(e->msg) - 3)
        n = sizeof(e->msg) - 3;
    memcpy(e->msg, pre, n);
    e->msg[n++] = ':';
    e->msg[n++] = ' ';
    size_t rest = sizeof(e->msg) - 1 - n;
    size_t ol = strnlen(old, sizeof(old) - 1);
    if (ol > rest)
        ol = rest;
    memcpy(e->msg + n, old, ol);
    e->msg[n + ol] = '\0';
}

int err_diag_code(const struct err *e)
{
    if (!e || e->code == ERR_NONE)
        return 0;
    if (e->code >= 1 && e->code <= 7)
        return e->code;
    return ERR_UNKNOWN;
}

const char *err_code_name(int code)
{
    switch (code) {
    case ERR_NONE:
        return "Succeeded";
    case ERR_SCRIPT_MISSING:
        return "ScriptMissing";
    case ERR_SCRIPT_EXECUTABILITY:
        return "ScriptNotExecutable";
    case ERR_SCRIPT_TIMED_OUT:
        return "ScriptTimedOut";
    case ERR_SCRIPT_FAILED:
        return "ScriptFailed";
    case ERR_UNKNOWN:
        return "UnknownError";
    case ERR_OUTPUTS_LEFT_OPEN:
        return "OutputsLeftOpen";
    case ERR_FAILED_AFTER_RESTART:
        return "FailedAfterRestart";
    case ERR_SYSTEM:
        return "System";
    case ERR_PARSE:
        return "Parse";
    case ERR_CONFIG:
        return "Config";
    case ERR_APPSPEC:
        return "AppSpec";
    case ERR_ARCHIVE:
        return "Archive";
    case ERR_INSTALL:
        return "Install";
    case ERR_HTTP:
        return "HTTP";
    case ERR_AUTH:
        return "Auth";
    case ERR_LIMIT:
        return "Limit";
    case ERR_SIGNATURE:
        return "Signature";
    case ERR_NOT_FOUND:
        return "NotFound";
    case ERR_UNSAFE:
        return "Unsafe";
    case ERR_CANCELLED:
        return "Cancelled";
    case ERR_UNSUPPORTED:
        return "Unsupported";
    case ERR_USAGE:
        return "Usage";
    case ERR_THROTTLED:
        return "Throttled";
    case ERR_TIMEOUT:
        return "Timeout";
    default:
        return "Unknown";
    }
}
