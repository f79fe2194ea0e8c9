/* err: see err.h. */
#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Store text in e->msg.  Text that does not fit loses its middle, marked "...", never its end:
 * the end carries the cause (strerror) and what to do, the start says what failed.  The cut
 * points move to UTF-8 character boundaries. */
static void store(struct err *e, const char *text)
{
    size_t len = strlen(text), cap = sizeof(e->msg) - 1;
    if (len <= cap) {
        memcpy(e->msg, text, len + 1);
        return;
    }
    static const char mark[] = " ... ";
    size_t head = (cap - (sizeof(mark) - 1)) / 2;
    size_t tail = cap - (sizeof(mark) - 1) - head;
    while (head > 0 && ((unsigned char)text[head] & 0xC0) == 0x80)
        head--; /* text[head] is where the cut starts: it must begin a character */
    const char *end = text + len - tail;
    while (*end && ((unsigned char)*end & 0xC0) == 0x80)
        end++;
    size_t n = 0;
    memcpy(e->msg, text, head);
    n += head;
    memcpy(e->msg + n, mark, sizeof(mark) - 1);
    n += sizeof(mark) - 1;
    size_t rest = strlen(end);
    memcpy(e->msg + n, end, rest + 1);
}

__attribute__((format(printf, 4, 0))) static void vset(struct err *e, int code, int errnum,
                                                       const char *fmt, va_list ap)
{
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0) {
        text = NULL;
        snprintf(e->msg, sizeof(e->msg), "%s (out of memory formatting the message)", fmt);
    }
    if (text && errnum) {
        char buf[128];
        const char *s = strerror_r(errnum, buf, sizeof(buf));
        char *with = NULL;
        if (asprintf(&with, "%s: %s", text, s) >= 0) {
            free(text);
            text = with;
        }
    }
    if (text)
        store(e, text);
    free(text);
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
    va_list ap;
    if (!e || e->code == ERR_NONE)
        return;
    char *pre = NULL, *both = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&pre, fmt, ap);
    va_end(ap);
    if (n < 0)
        return; /* out of memory: the message stays as it was */
    if (asprintf(&both, "%s: %s", pre, e->msg) >= 0)
        store(e, both);
    free(both);
    free(pre);
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
