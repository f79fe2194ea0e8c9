/* hooklogs: see hooklogs.h. */
#include "run/hooklogs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "net/http.h"

/* Secrets (tokens) are shorter than this. */
#define HOOKLOGS_REDACT_MARGIN 4096

uint64_t hooklogs_mark(const char *scripts_log)
{
    struct stat st;
    return stat(scripts_log, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static char *host_segment(const char *host_id)
{
    const char *s = host_id ? strrchr(host_id, '/') : NULL;
    s = s ? s + 1 : (host_id && *host_id ? host_id : "unknown-host");
    char *out = xstrdup(*s ? s : "unknown-host");
    for (char *p = out; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            *p = '_';
    return out;
}

char *hooklogs_key(const char *prefix, const char *deployment_id, const char *host_id,
                   const char *event)
{
    AUTOFREE char *host = host_segment(host_id);
    return xasprintf("%s%s%s/%s/%s.log", prefix ? prefix : "", prefix && *prefix ? "/" : "",
                     deployment_id, host, event);
}

int hooklogs_read(const char *scripts_log, uint64_t from, uint64_t max_bytes, char **ret,
                  size_t *ret_len, struct err *err)
{
    if (max_bytes == 0)
        max_bytes = HOOKLOGS_MAX_BYTES_DEFAULT;
    int fd = open(scripts_log, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        *ret = xstrdup("");
        *ret_len = 0;
        return 0;
    }
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        err_sys(err, "read %s", scripts_log);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (from > size)
        from = 0; /* rotated during the event: the live file is all this event's */
    uint64_t skipped = size - from > max_bytes ? size - from - max_bytes : 0;
    /* Read a little before the cut so a secret straddling it is still redacted whole. */
    uint64_t start = from + skipped;
    start = start - from > HOOKLOGS_REDACT_MARGIN ? start - HOOKLOGS_REDACT_MARGIN : from;
    uint64_t n = size - start;
    char *data = xmalloc((size_t)n + 1);
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, data + got, (size_t)n - got, (off_t)(start + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    data[got] = '\0';
    char *red = log_redact(data);
    free(data);
    if (skipped) {
        size_t rl = strlen(red);
        const char *tail = rl > max_bytes ? red + (rl - max_bytes) : red;
        char *all = xasprintf("[cdagent: %" PRIu64 " earlier bytes of this event's output left "
                              "out; the newest %" PRIu64 " follow]\n%s",
                              skipped, max_bytes, tail);
        free(red);
        red = all;
    }
    *ret = red;
    *ret_len = strlen(red);
    return 0;
}

/* WARN once per deployment, DEBUG after. */
static void report_failure(const char *deployment_id, const char *key, const struct err *e)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static char warned[256];
    pthread_mutex_lock(&mu);
    bool first = strcmp(warned, deployment_id) != 0;
    if (first)
        (void)snprintf(warned, sizeof(warned), "%s", deployment_id);
    pthread_mutex_unlock(&mu);
    if (first)
        log_warn("Uploading hook output to %s failed (the deployment goes on; further upload "
                 "failures of this deployment are logged at debug level): %s",
                 key, e->msg);
    else
        log_debug("Uploading hook output to %s failed: %s", key, e->msg);
}

static int put(const struct hooklogs_opts *o, const char *bucket, const char *key, const char *text,
               size_t len, struct err *err)
{
    struct s3obj_opts so = o->s3;
    if (!so.timeout_ms)
        so.timeout_ms = HOOKLOGS_UPLOAD_TIMEOUT_MS;
    struct http_client *own = NULL;
    if (!so.http) {
        struct http_client_opts ho = {.proxy_uri = o->proxy_uri};
        own = http_client_new(&ho, err);
        if (!own)
            return -1;
        so.http = own;
    }
    int r = s3obj_put(&so, bucket, key, text, len, "text/plain; charset=utf-8", err);
    http_client_free(own);
    return r;
}

int hooklogs_upload(const struct hooklogs_opts *o, const char *deployment_id, const char *event,
                    const char *scripts_log, uint64_t from, struct err *err)
{
    if (!o || !o->uri || !*o->uri)
        return 0;
    AUTOFREE char *bucket = NULL;
    AUTOFREE char *prefix = NULL;
    if (s3obj_parse_uri(o->uri, &bucket, &prefix, err) < 0) {
        report_failure(deployment_id, o->uri, err);
        return -1;
    }
    AUTOFREE char *key = hooklogs_key(prefix, deployment_id, o->host_id, event);
    AUTOFREE char *where = xasprintf("s3://%s/%s", bucket, key);
    char *text = NULL;
    size_t len = 0;
    int r = hooklogs_read(scripts_log, from, o->max_bytes, &text, &len, err);
    if (r == 0 && len == 0) {
        free(text);
        return 0;
    }
    if (r == 0 && !o->s3.creds)
        r = err_set(err, ERR_AUTH, "no AWS credentials available");
    if (r == 0)
        r = put(o, bucket, key, text, len, err);
    free(text);
    if (r < 0)
        report_failure(deployment_id, where, err);
    else
        log_info("Uploaded %zu bytes of %s output to %s", len, event, where);
    return r;
}
