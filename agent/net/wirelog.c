/* wirelog: see wirelog.h. */
#include "net/wirelog.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/util.h"

#define REDACTED "REDACTED"
#define UNBOUNDED ((size_t)-1 / 2)

struct wirelog {
    pthread_mutex_t mu;
    char *path; /* owned */
    int fd;     /* owned; -1 after a failed reopen */
    uint64_t size;
    uint64_t max_bytes;
    unsigned keep;
    unsigned long next_id;
    bool failed;
};

/* ---- redaction (pure) ---- */

static bool is_secret_header(const char *name, size_t n)
{
    static const char *const names[] = {
        "Authorization",
        "Proxy-Authorization",
        "X-Amz-Security-Token",
        "X-Aws-Ec2-Metadata-Token",
        "Cookie",
        "Set-Cookie",
        NULL,
    };
    for (size_t i = 0; names[i]; i++)
        if (strlen(names[i]) == n && strncasecmp(name, names[i], n) == 0)
            return true;
    return false;
}

static bool is_secret_param(const char *name, size_t n)
{
    static const char *const names[] = {
        "X-Amz-Signature",
        "X-Amz-Credential",
        "X-Amz-Security-Token",
        "Signature",
        "AWSAccessKeyId",
        "x-amz-security-token",
        "token",
        "access_token",
        "sig",
        NULL,
    };
    for (size_t i = 0; names[i]; i++)
        if (strlen(names[i]) == n && strncasecmp(name, names[i], n) == 0)
            return true;
    return false;
}

/* Append url to b with the values of presigning parameters replaced by REDACTED. */
static void append_url_redacted(struct buf *b, const char *url, size_t len)
{
    const char *q = memchr(url, '?', len);
    if (!q) {
        (void)buf_append(b, url, len, NULL);
        return;
    }
    (void)buf_append(b, url, (size_t)(q - url) + 1, NULL);
    const char *p = q + 1;
    const char *end = url + len;
    const char *frag = memchr(p, '#', (size_t)(end - p));
    const char *qend = frag ? frag : end;
    while (p < qend) {
        const char *amp = memchr(p, '&', (size_t)(qend - p));
        const char *pe = amp ? amp : qend;
        const char *eq = memchr(p, '=', (size_t)(pe - p));
        if (eq && is_secret_param(p, (size_t)(eq - p))) {
            (void)buf_append(b, p, (size_t)(eq - p) + 1, NULL);
            (void)buf_append(b, REDACTED, strlen(REDACTED), NULL);
        } else {
            (void)buf_append(b, p, (size_t)(pe - p), NULL);
        }
        if (amp)
            (void)buf_append(b, "&", 1, NULL);
        p = amp ? amp + 1 : qend;
    }
    (void)buf_append(b, qend, (size_t)(end - qend), NULL);
}

/* "GET /path?query HTTP/1.1": an upper-case method, a target, an HTTP version. */
static bool request_target(const char *l, size_t len, size_t *ret_start, size_t *ret_end)
{
    size_t i = 0;
    while (i < len && isupper((unsigned char)l[i]))
        i++;
    if (i == 0 || i >= len || l[i] != ' ')
        return false;
    const char *ver = NULL;
    for (size_t j = len; j > i + 1; j--) {
        if (l[j - 1] == ' ') {
            ver = l + j;
            break;
        }
    }
    if (!ver || (size_t)(l + len - ver) < 5 || strncmp(ver, "HTTP/", 5) != 0)
        return false;
    *ret_start = i + 1;
    *ret_end = (size_t)(ver - l) - 1;
    return true;
}

static char *redact_structure(const char *l, size_t len)
{
    struct buf b;
    buf_init(&b, UNBOUNDED);
    size_t ts = 0;
    size_t te = 0;
    const char *colon = memchr(l, ':', len);
    if (request_target(l, len, &ts, &te)) {
        (void)buf_append(&b, l, ts, NULL);
        append_url_redacted(&b, l + ts, te - ts);
        (void)buf_append(&b, l + te, len - te, NULL);
    } else if (colon && colon > l && !memchr(l, ' ', (size_t)(colon - l))) {
        size_t nl = (size_t)(colon - l);
        const char *v = colon + 1;
        while (v < l + len && (*v == ' ' || *v == '\t'))
            v++;
        (void)buf_append(&b, l, nl, NULL);
        (void)buf_append(&b, ": ", 2, NULL);
        if (is_secret_header(l, nl))
            (void)buf_append(&b, REDACTED, strlen(REDACTED), NULL);
        else if (nl == 8 && strncasecmp(l, "Location", 8) == 0)
            append_url_redacted(&b, v, (size_t)(l + len - v));
        else
            (void)buf_append(&b, v, (size_t)(l + len - v), NULL);
    } else {
        (void)buf_append(&b, l, len, NULL);
    }
    (void)buf_append(&b, "", 0, NULL);
    return buf_steal(&b);
}

char *wirelog_redact_line(const char *line, size_t len)
{
    AUTOFREE char *s = redact_structure(line, strnlen(line, len));
    return log_redact(s);
}

/*
 * Replace the string value of JSON member `key` by REDACTED, both in plain JSON
 * ("key": "v") and in JSON carried inside a JSON string (\"key\":\"v\").
 */
static char *redact_member(const char *s, const char *key)
{
    struct buf b;
    buf_init(&b, UNBOUNDED);
    size_t kl = strlen(key);
    const char *p = s;
    for (;;) {
        const char *hit = strstr(p, key);
        if (!hit)
            break;
        const char *after = hit + kl;
        const char *q = NULL; /* the quote sequence around the key: "\"" or "\\\"" */
        if (hit - s >= 2 && hit[-1] == '"' && hit[-2] == '\\')
            q = "\\\"";
        else if (hit > s && hit[-1] == '"')
            q = "\"";
        size_t ql = q ? strlen(q) : 0;
        const char *v = after;
        bool ok = q && strncmp(v, q, ql) == 0;
        if (ok) {
            v += ql;
            while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
                v++;
            ok = *v == ':';
        }
        if (ok) {
            v++;
            while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
                v++;
            ok = strncmp(v, q, ql) == 0;
        }
        if (!ok) {
            (void)buf_append(&b, p, (size_t)(after - p), NULL);
            p = after;
            continue;
        }
        v += ql;
        const char *e = v;
        while (*e && strncmp(e, q, ql) != 0)
            e += (ql == 1 && *e == '\\' && e[1]) ? 2 : 1;
        (void)buf_append(&b, p, (size_t)(v - p), NULL);
        (void)buf_append(&b, REDACTED, strlen(REDACTED), NULL);
        p = e;
    }
    (void)buf_append(&b, p, strlen(p), NULL);
    return buf_steal(&b);
}

char *wirelog_redact_body(const char *body, size_t len, enum wirelog_dir dir)
{
    static const char *const keys[] = {"GitHubAccessToken", "OAuthToken", NULL};
    if (!body)
        len = 0;
    char *s = xmalloc(len + 1);
    s[len] = '\0';
    /* Show control bytes (and NULs, which would end the string) as '.'; keep newlines. */
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)body[i];
        s[i] = (ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f ? '.' : (char)ch;
    }
    for (size_t i = 0; keys[i]; i++) {
        char *n = redact_member(s, keys[i]);
        secret_free(s);
        s = n;
    }
    if (dir == WIRELOG_IN) {
        char *n = redact_member(s, "Payload");
        secret_free(s);
        s = n;
    }
    char *r = log_redact(s);
    secret_free(s);
    return r;
}

/* ---- file ---- */

char *wirelog_path(const char *log_dir, const char *program)
{
    AUTOFREE char *name = xasprintf("%s.aws_wire.log", program ? program : "codedeploy-agent");
    return path_join(log_dir ? log_dir : ".", name);
}

static int open_file(const char *path, uint64_t *ret_size, struct err *err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, WIRELOG_MODE);
    if (fd < 0)
        return err_sys(err, "open wire log '%s'", path);
    struct stat st;
    /* The umask may have taken bits away, an old file may be more open: 0640 either way. */
    if (fchmod(fd, WIRELOG_MODE) < 0 || fstat(fd, &st) < 0) {
        err_sys(err, "open wire log '%s': set mode 0640", path);
        close(fd);
        return -1;
    }
    *ret_size = (uint64_t)st.st_size;
    return fd;
}

struct wirelog *wirelog_open(const struct wirelog_opts *opts, struct err *err)
{
    if (!opts || !opts->path || !*opts->path) {
        err_set(err, ERR_USAGE, "open wire log: no path");
        return NULL;
    }
    uint64_t size = 0;
    int fd = open_file(opts->path, &size, err);
    if (fd < 0)
        return NULL;
    struct wirelog *w = xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    w->path = xstrdup(opts->path);
    w->fd = fd;
    w->size = size;
    w->max_bytes = opts->max_bytes ? opts->max_bytes : WIRELOG_MAX_BYTES;
    w->keep = opts->keep ? opts->keep : WIRELOG_KEEP;
    if (w->keep < 2)
        w->keep = 2;
    return w;
}

void wirelog_free(struct wirelog *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    pthread_mutex_destroy(&w->mu);
    free(w->path);
    free(w);
}

bool wirelog_failed(const struct wirelog *w)
{
    return w && w->failed;
}

unsigned long wirelog_next_id(struct wirelog *w)
{
    pthread_mutex_lock(&w->mu);
    unsigned long id = ++w->next_id;
    pthread_mutex_unlock(&w->mu);
    return id;
}

/* Ruby Logger's order: drop .<keep-2>, .N -> .N+1, live -> .0, then a fresh live file. */
static void rotate_locked(struct wirelog *w)
{
    AUTOFREE char *last = xasprintf("%s.%u", w->path, w->keep - 2);
    if (unlink(last) < 0 && errno != ENOENT)
        w->failed = true;
    for (unsigned i = w->keep - 2; i > 0; i--) {
        AUTOFREE char *from = xasprintf("%s.%u", w->path, i - 1);
        AUTOFREE char *to = xasprintf("%s.%u", w->path, i);
        if (rename(from, to) < 0 && errno != ENOENT)
            w->failed = true;
    }
    AUTOFREE char *first = xasprintf("%s.0", w->path);
    if (rename(w->path, first) < 0)
        w->failed = true;
    if (w->fd >= 0)
        close(w->fd);
    uint64_t size = 0;
    w->fd = open_file(w->path, &size, NULL);
    w->size = size;
    if (w->fd < 0)
        w->failed = true;
}

static void emit(struct wirelog *w, const char *text, size_t len)
{
    pthread_mutex_lock(&w->mu);
    if (w->fd < 0 || (w->size > 0 && w->size + len > w->max_bytes))
        rotate_locked(w);
    const char *p = text;
    size_t n = len;
    while (w->fd >= 0 && n > 0) {
        ssize_t r = write(w->fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            w->failed = true;
            break;
        }
        p += r;
        n -= (size_t)r;
        w->size += (uint64_t)r;
    }
    pthread_mutex_unlock(&w->mu);
}

static void stamp(char *out, size_t outsz)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, outsz, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, outsz - n, ".%03ld", ts.tv_nsec / 1000000L);
}

/* Append "<time> #<id> <dir> <prefix><line>\n" for each non-empty line of text. */
static void add_lines(struct buf *b, unsigned long id, enum wirelog_dir dir, const char *prefix,
                      const char *text, bool redact_each)
{
    char ts[40];
    stamp(ts, sizeof(ts));
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\r\n");
        if (n > 0) {
            AUTOFREE char *l = redact_each ? wirelog_redact_line(p, n) : xstrndup(p, n);
            (void)buf_appendf(b, NULL, "%s #%lu %c %s%s\n", ts, id, (char)dir, prefix, l);
        }
        p += n;
        while (*p == '\r' || *p == '\n')
            p++;
    }
}

void wirelog_headers(struct wirelog *w, unsigned long id, enum wirelog_dir dir, const char *text,
                     size_t len)
{
    if (!w || !text)
        return;
    AUTOFREE char *t = xstrndup(text, len);
    struct buf b;
    buf_init(&b, UNBOUNDED);
    add_lines(&b, id, dir, "", t, true);
    if (b.len)
        emit(w, b.data, b.len);
    buf_done(&b);
}

void wirelog_body(struct wirelog *w, unsigned long id, enum wirelog_dir dir, const void *data,
                  size_t len)
{
    if (!w || !data || len == 0)
        return;
    char *t = wirelog_redact_body(data, len, dir);
    struct buf b;
    buf_init(&b, UNBOUNDED);
    add_lines(&b, id, dir, "body: ", t, false);
    secret_free(t);
    if (b.len)
        emit(w, b.data, b.len);
    freezero(b.data, b.cap);
}

void wirelog_note(struct wirelog *w, unsigned long id, const char *fmt, ...)
{
    if (!w)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    AUTOFREE char *red = log_redact(msg);
    free(msg);
    struct buf b;
    buf_init(&b, UNBOUNDED);
    add_lines(&b, id, WIRELOG_NOTE, "", red, false);
    if (b.len)
        emit(w, b.data, b.len);
    buf_done(&b);
}
