/* scriptlog: see scriptlog.h.  (stub; implementation in progress) */
#include "scriptlog.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct scriptlog {
    int refs;
};

struct scriptlog_stream {
    struct scriptlog *log;
};

struct scriptlog *scriptlog_new(const struct scriptlog_opts *opts)
{
    (void)opts;
    struct scriptlog *l = xcalloc(1, sizeof(*l));
    l->refs = 1;
    return l;
}

struct scriptlog *scriptlog_ref(struct scriptlog *log)
{
    log->refs++;
    return log;
}

void scriptlog_unref(struct scriptlog *log)
{
    if (log && --log->refs == 0)
        free(log);
}

void scriptlog_event(struct scriptlog *log, const char *event)
{
    (void)log, (void)event;
}

void scriptlog_script(struct scriptlog *log, const char *location)
{
    (void)log, (void)location;
}

void scriptlog_record(struct scriptlog *log, const char *record, size_t len)
{
    (void)log, (void)record, (void)len;
}

char *scriptlog_tail(struct scriptlog *log, size_t *ret_len)
{
    (void)log;
    if (ret_len)
        *ret_len = 0;
    return xstrdup("");
}

const char *scriptlog_last_error(struct scriptlog *log)
{
    (void)log;
    return NULL;
}

struct scriptlog_stream *scriptlog_stream_new(struct scriptlog *log, enum scriptlog_fd which,
                                              size_t max_line)
{
    (void)which, (void)max_line;
    struct scriptlog_stream *s = xcalloc(1, sizeof(*s));
    s->log = scriptlog_ref(log);
    return s;
}

void scriptlog_stream_feed(struct scriptlog_stream *s, const void *data, size_t len)
{
    (void)s, (void)data, (void)len;
}

void scriptlog_stream_flush(struct scriptlog_stream *s)
{
    (void)s;
}

void scriptlog_stream_free(struct scriptlog_stream *s)
{
    if (!s)
        return;
    scriptlog_unref(s->log);
    free(s);
}

size_t scriptlog_strip_ansi(char *s, size_t len)
{
    (void)s;
    return len;
}

void scriptlog_format_ts(time_t t, char out[20])
{
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
}
