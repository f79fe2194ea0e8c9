/* scriptlog: see scriptlog.h. */
#include "hook/scriptlog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "base/buf.h"
#include "base/fsutil.h"

#define PREFIX_MAX 64 /* timestamp, "[stdout]" and slack */

struct scriptlog {
    pthread_mutex_t mu;
    int refs;
    char *path;          /* owned; NULL: no file */
    char *dlog_path;     /* owned; NULL: no deployments log */
    char *deployment_id; /* owned */
    uint64_t rotate_bytes;
    uint64_t drotate_bytes;
    int keep;
    time_t (*clock)(void);
    int fd; /* scripts.log, -1 until first record */
    uint64_t size;
    bool open_failed; /* do not retry opening for every record */
    char *line;       /* owned scratch: one formatted record */
    size_t line_cap;
    /* tail: newest whole records, at most SCRIPTLOG_TAIL_MAX bytes */
    char tail[SCRIPTLOG_TAIL_MAX];
    size_t tail_len;
    size_t rec_len[SCRIPTLOG_TAIL_MAX]; /* lengths of the records in tail, oldest first */
    size_t nrec;
    char error[ERR_MSG_MAX];
};

struct scriptlog_stream {
    struct scriptlog *log; /* owned reference */
    const char *prefix;    /* "[stdout]" / "[stderr]" */
    size_t max;
    char *buf; /* owned; pending partial line */
    size_t len;
};

/* The deployments log is one file shared by all deployments of the process. */
static pthread_mutex_t dlog_mu = PTHREAD_MUTEX_INITIALIZER;
static int dlog_fd = -1;
static char *dlog_open_path;
static uint64_t dlog_size;

struct scriptlog *scriptlog_new(const struct scriptlog_opts *opts)
{
    struct scriptlog *l = xcalloc(1, sizeof(*l));
    pthread_mutex_init(&l->mu, NULL);
    l->refs = 1;
    l->path = opts && opts->path ? xstrdup(opts->path) : NULL;
    l->dlog_path = opts && opts->deployments_log ? xstrdup(opts->deployments_log) : NULL;
    l->deployment_id = xstrdup(opts && opts->deployment_id ? opts->deployment_id : "");
    l->rotate_bytes = opts && opts->rotate_bytes ? opts->rotate_bytes : SCRIPTLOG_ROTATE_BYTES;
    l->drotate_bytes = opts && opts->deployments_rotate_bytes ? opts->deployments_rotate_bytes
                                                              : DEPLOYMENTS_LOG_ROTATE_BYTES;
    l->keep = opts && opts->keep_files > 1 ? opts->keep_files : SCRIPTLOG_KEEP_FILES;
    l->clock = opts ? opts->clock : NULL;
    l->fd = -1;
    return l;
}

struct scriptlog *scriptlog_ref(struct scriptlog *log)
{
    pthread_mutex_lock(&log->mu);
    log->refs++;
    pthread_mutex_unlock(&log->mu);
    return log;
}

void scriptlog_unref(struct scriptlog *log)
{
    if (!log)
        return;
    pthread_mutex_lock(&log->mu);
    int left = --log->refs;
    pthread_mutex_unlock(&log->mu);
    if (left > 0)
        return;
    if (log->fd >= 0)
        close(log->fd);
    pthread_mutex_destroy(&log->mu);
    free(log->path);
    free(log->dlog_path);
    free(log->deployment_id);
    free(log->line);
    free(log);
}

void scriptlog_format_ts(time_t t, char out[20])
{
    struct tm tm;
    localtime_r(&t, &tm);
    if (strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        out[0] = '\0';
}

static void set_error(struct scriptlog *log, const char *what, const char *path)
{
    char *m = xasprintf("%s '%s': %s", what, path, strerror(errno));
    size_t n = strlen(m) < sizeof(log->error) - 1 ? strlen(m) : sizeof(log->error) - 1;
    memcpy(log->error, m, n);
    log->error[n] = '\0';
    free(m);
}

/* scripts.log rotation (V-045): .<keep-1> deleted, .N -> .N+1, live -> .1 */
static void rotate_scripts(struct scriptlog *log)
{
    char from[4096], to[4096];
    snprintf(to, sizeof(to), "%s.%d", log->path, log->keep - 1);
    if (unlink(to) < 0 && errno != ENOENT)
        set_error(log, "remove rotated script log", to);
    for (int i = log->keep - 2; i >= 1; i--) {
        snprintf(from, sizeof(from), "%s.%d", log->path, i);
        snprintf(to, sizeof(to), "%s.%d", log->path, i + 1);
        if (rename(from, to) < 0 && errno != ENOENT)
            set_error(log, "rotate script log", from);
    }
    snprintf(to, sizeof(to), "%s.1", log->path);
    if (rename(log->path, to) < 0 && errno != ENOENT)
        set_error(log, "rotate script log", log->path);
}

static int open_scripts(struct scriptlog *log)
{
    if (log->fd >= 0)
        return 0;
    if (!log->path || log->open_failed)
        return -1;
    char *dir = xstrdup(log->path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        struct err e = ERR_INIT;
        if (mkdir_p(dir, 0755, &e) < 0)
            snprintf(log->error, sizeof(log->error), "%s", e.msg);
    }
    free(dir);
    log->fd = open(log->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (log->fd < 0) {
        set_error(log, "open script log", log->path);
        log->open_failed = true;
        return -1;
    }
    (void)fchmod(log->fd, 0644); /* re-applied on every open (V-045) */
    struct stat st;
    log->size = fstat(log->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

static void write_scripts(struct scriptlog *log, const char *line, size_t n)
{
    if (open_scripts(log) < 0)
        return;
    if (log->size >= log->rotate_bytes) {
        close(log->fd);
        log->fd = -1;
        rotate_scripts(log);
        if (open_scripts(log) < 0)
            return;
    }
    if (write_all(log->fd, line, n) < 0)
        set_error(log, "write script log", log->path);
    else
        log->size += n;
}

/* Deployments log rotation as Ruby's Logger does it: .N -> .N+1 (up to .<keep-2>), live -> .0 */
static void rotate_dlog(const char *path, int keep)
{
    char from[4096], to[4096];
    for (int i = keep - 3; i >= 0; i--) {
        snprintf(from, sizeof(from), "%s.%d", path, i);
        snprintf(to, sizeof(to), "%s.%d", path, i + 1);
        (void)rename(from, to);
    }
    snprintf(to, sizeof(to), "%s.0", path);
    (void)rename(path, to);
}

static int dlog_open_locked(const char *path)
{
    if (dlog_fd >= 0 && dlog_open_path && strcmp(dlog_open_path, path) == 0)
        return 0;
    if (dlog_fd >= 0)
        close(dlog_fd);
    free(dlog_open_path);
    dlog_open_path = NULL;
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        (void)mkdir_p(dir, 0755, NULL);
    }
    free(dir);
    dlog_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (dlog_fd < 0)
        return -1;
    struct stat st;
    dlog_size = fstat(dlog_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    dlog_open_path = xstrdup(path);
    return 0;
}

static void write_dlog(struct scriptlog *log, const char *rec, size_t n)
{
    /* the record with surrounding whitespace stripped */
    while (n > 0 && (rec[0] == ' ' || rec[0] == '\t' || rec[0] == '\n' || rec[0] == '\r')) {
        rec++;
        n--;
    }
    while (n > 0 &&
           (rec[n - 1] == ' ' || rec[n - 1] == '\t' || rec[n - 1] == '\n' || rec[n - 1] == '\r'))
        n--;
    uint64_t ms = log->clock ? (uint64_t)log->clock() * 1000 : wall_ms();
    time_t t = (time_t)(ms / 1000);
    char ts[20];
    scriptlog_format_ts(t, ts);
    char head[PREFIX_MAX + 1024];
    int hn = snprintf(head, sizeof(head), "[%s.%03u] [%s]", ts, (unsigned)(ms % 1000),
                      log->deployment_id);
    if (hn < 0 || (size_t)hn >= sizeof(head))
        hn = (int)strlen(head);
    char *line = xmalloc((size_t)hn + n + 1);
    memcpy(line, head, (size_t)hn);
    memcpy(line + hn, rec, n);
    line[(size_t)hn + n] = '\n';

    pthread_mutex_lock(&dlog_mu);
    if (dlog_open_locked(log->dlog_path) == 0) {
        if (dlog_size >= log->drotate_bytes) {
            close(dlog_fd);
            dlog_fd = -1;
            rotate_dlog(log->dlog_path, log->keep);
            free(dlog_open_path);
            dlog_open_path = NULL;
        }
        if (dlog_open_locked(log->dlog_path) == 0 &&
            write_all(dlog_fd, line, (size_t)hn + n + 1) == 0)
            dlog_size += (size_t)hn + n + 1;
    }
    pthread_mutex_unlock(&dlog_mu);
    free(line);
}

static void tail_add(struct scriptlog *log, const char *rec, size_t n)
{
    if (n >= SCRIPTLOG_TAIL_MAX) {
        /* one long record: its last SCRIPTLOG_TAIL_MAX bytes, cut at a character boundary */
        const char *p = rec + n - SCRIPTLOG_TAIL_MAX;
        size_t m = SCRIPTLOG_TAIL_MAX;
        while (m > 0 && ((unsigned char)*p & 0xC0) == 0x80) {
            p++;
            m--;
        }
        memcpy(log->tail, p, m);
        log->tail_len = m;
        log->rec_len[0] = m;
        log->nrec = 1;
        return;
    }
    size_t drop = 0, dropped = 0;
    while (log->tail_len - dropped + n > SCRIPTLOG_TAIL_MAX)
        dropped += log->rec_len[drop++];
    if (drop) {
        memmove(log->tail, log->tail + dropped, log->tail_len - dropped);
        memmove(log->rec_len, log->rec_len + drop, (log->nrec - drop) * sizeof(size_t));
        log->tail_len -= dropped;
        log->nrec -= drop;
    }
    memcpy(log->tail + log->tail_len, rec, n);
    log->tail_len += n;
    log->rec_len[log->nrec++] = n;
}

/* text with the agent's secrets replaced, segment by segment around NUL bytes; caller
 * frees; *ret_len is the new length. */
static char *redact(const char *text, size_t len, size_t *ret_len)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    for (size_t off = 0; off <= len;) {
        const char *nul = memchr(text + off, '\0', len - off);
        size_t seg = nul ? (size_t)(nul - (text + off)) : len - off;
        AUTOFREE char *piece = xstrndup(text + off, seg);
        AUTOFREE char *clean = log_redact(piece);
        (void)buf_append(&b, clean, strlen(clean), NULL);
        if (nul)
            (void)buf_append(&b, "", 1, NULL);
        off += seg + 1;
    }
    *ret_len = b.len;
    (void)buf_append(&b, "", 0, NULL);
    return buf_steal(&b);
}

/* One record: prefix + text + "\n" (text without newline), the agent's secrets redacted. */
static void emit(struct scriptlog *log, const char *prefix, const char *raw, size_t raw_len)
{
    size_t len;
    AUTOFREE char *text = redact(raw, raw_len, &len);
    size_t plen = strlen(prefix);
    pthread_mutex_lock(&log->mu);
    size_t need = 21 + plen + len + 1;
    if (need > log->line_cap) {
        log->line_cap = need;
        log->line = xrealloc(log->line, need);
    }
    char ts[20];
    scriptlog_format_ts(log->clock ? log->clock() : time(NULL), ts);
    size_t tl = strlen(ts);
    memcpy(log->line, ts, tl);
    log->line[tl] = ' ';
    char *rec = log->line + tl + 1;
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): a counted record, ends in '\n' */
    memcpy(rec, prefix, plen);
    memcpy(rec + plen, text, len);
    rec[plen + len] = '\n';
    size_t rlen = plen + len + 1;
    write_scripts(log, log->line, tl + 1 + rlen);
    tail_add(log, rec, rlen);
    if (log->dlog_path)
        write_dlog(log, rec, rlen);
    pthread_mutex_unlock(&log->mu);
}

void scriptlog_event(struct scriptlog *log, const char *event)
{
    pthread_mutex_lock(&log->mu);
    log->tail_len = 0;
    log->nrec = 0;
    pthread_mutex_unlock(&log->mu);
    emit(log, "LifecycleEvent - ", event, strlen(event));
}

void scriptlog_script(struct scriptlog *log, const char *location)
{
    emit(log, "Script - ", location, strlen(location));
}

void scriptlog_record(struct scriptlog *log, const char *record, size_t len)
{
    if (len > 0 && record[len - 1] == '\n')
        len--;
    emit(log, "", record, len);
}

char *scriptlog_tail(struct scriptlog *log, size_t *ret_len)
{
    pthread_mutex_lock(&log->mu);
    char *t = xmalloc(log->tail_len + 1);
    memcpy(t, log->tail, log->tail_len);
    t[log->tail_len] = '\0';
    if (ret_len)
        *ret_len = log->tail_len;
    pthread_mutex_unlock(&log->mu);
    return t;
}

const char *scriptlog_last_error(struct scriptlog *log)
{
    return log->error[0] ? log->error : NULL;
}

struct scriptlog_stream *scriptlog_stream_new(struct scriptlog *log, enum scriptlog_fd which,
                                              size_t max_line)
{
    struct scriptlog_stream *s = xcalloc(1, sizeof(*s));
    s->log = scriptlog_ref(log);
    s->prefix = which == SCRIPTLOG_STDERR ? "[stderr]" : "[stdout]";
    s->max = max_line ? max_line : SCRIPTLOG_LINE_MAX;
    s->buf = xmalloc(s->max);
    return s;
}

static void stream_emit(struct scriptlog_stream *s)
{
    size_t n = scriptlog_strip_ansi(s->buf, s->len);
    emit(s->log, s->prefix, s->buf, n);
    s->len = 0;
}

void scriptlog_stream_feed(struct scriptlog_stream *s, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        const char *nl = memchr(p, '\n', len);
        size_t take = nl ? (size_t)(nl - p) : len;
        size_t room = s->max - s->len;
        if (take >= room) {
            /* a line longer than max: record it in chunks (V-044) */
            memcpy(s->buf + s->len, p, room);
            s->len += room;
            p += room;
            len -= room;
            stream_emit(s);
            continue;
        }
        memcpy(s->buf + s->len, p, take);
        s->len += take;
        p += take;
        len -= take;
        if (nl) {
            p++;
            len--;
            stream_emit(s);
        }
    }
}

void scriptlog_stream_flush(struct scriptlog_stream *s)
{
    if (s->len > 0)
        stream_emit(s);
}

void scriptlog_stream_free(struct scriptlog_stream *s)
{
    if (!s)
        return;
    scriptlog_stream_flush(s);
    scriptlog_unref(s->log);
    free(s->buf);
    free(s);
}

/* Length of the escape sequence at s[0] == ESC within len bytes (the whole rest if unterminated).
 */
static size_t ansi_len(const unsigned char *s, size_t len)
{
    if (len < 2)
        return len;
    unsigned char c = s[1];
    size_t i;
    if (c == '[') { /* CSI: parameters, intermediates, final byte */
        for (i = 2; i < len; i++) {
            if (s[i] >= 0x40 && s[i] <= 0x7E)
                return i + 1;
            if (s[i] < 0x20 || s[i] > 0x3F)
                return i; /* malformed: drop what we saw, keep this byte */
        }
        return len;
    }
    if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_') {
        /* OSC / DCS / SOS / PM / APC: up to BEL or ST (ESC \) */
        for (i = 2; i < len; i++) {
            if (s[i] == 0x07)
                return i + 1;
            if (s[i] == 0x1B && i + 1 < len && s[i + 1] == '\\')
                return i + 2;
        }
        return len;
    }
    /* ESC, intermediates (0x20-0x2F), final (0x30-0x7E) */
    for (i = 1; i < len && s[i] >= 0x20 && s[i] <= 0x2F; i++)
        ;
    if (i < len && s[i] >= 0x30 && s[i] <= 0x7E)
        return i + 1;
    return i;
}

size_t scriptlog_strip_ansi(char *s, size_t len)
{
    unsigned char *p = (unsigned char *)s;
    if (!memchr(s, 0x1B, len))
        return len;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (p[i] == 0x1B) {
            i += ansi_len(p + i, len - i);
            continue;
        }
        p[o++] = p[i++];
    }
    return o;
}
