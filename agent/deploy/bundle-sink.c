/* bundle-sink: the bytes of a download on their way to disk (see bundle-internal.h). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "deploy/bundle-internal.h"
#include "base/util.h"

#define RATE_WINDOW_DEFAULT_MS 60000

void bundle_sink_init(struct bundle_sink *s, int fd, uint64_t base, const struct bundle_s3_opts *o)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->base = base;
    s->why = (struct err)ERR_INIT;
    s->min_bps = o ? o->min_rate_bps : 0;
    s->window_ms = o && o->rate_window_ms ? o->rate_window_ms : RATE_WINDOW_DEFAULT_MS;
    bundle_sink_restart_window(s);
}

void bundle_sink_reset(struct bundle_sink *s)
{
    EVP_MD_CTX_free(s->md5);
    checksum_run_free(s->cks);
    s->md5 = NULL;
    s->cks = NULL;
    s->head_len = 0;
    s->off = 0;
}

void bundle_sink_done(struct bundle_sink *s)
{
    bundle_sink_reset(s);
    (void)unpack_stream_finish(s->ex, false, NULL, NULL);
    s->ex = NULL;
}

void bundle_sink_restart_window(struct bundle_sink *s)
{
    s->win_start_ms = now_ms();
    s->win_bytes = 0;
}

/* The minimum transfer rate over the window (issue 18 item 2). */
static int check_rate(struct bundle_sink *s, size_t len)
{
    s->win_bytes += len;
    if (!s->min_bps)
        return 0;
    uint64_t now = now_ms(), span = now - s->win_start_ms;
    if (span < s->window_ms)
        return 0;
    if (s->win_bytes * 1000 / span >= s->min_bps) {
        bundle_sink_restart_window(s);
        return 0;
    }
    s->why_kind = SINK_SLOW;
    return err_set(&s->why, ERR_TIMEOUT,
                   "the body arrived at %" PRIu64 " bytes/s over the last "
                   "%" PRIu64 " ms, below the minimum transfer rate of %" PRIu64 " bytes/s "
                   "(:download_min_rate_bytes_per_second: over "
                   ":download_min_rate_window_seconds:)",
                   s->win_bytes * 1000 / span, span, s->min_bps);
}

static int write_at(struct bundle_sink *s, const char *p, size_t len)
{
    uint64_t at = s->base + s->off;
    while (len > 0) {
        ssize_t w = pwrite(s->fd, p, len, (off_t)at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            s->why_kind = SINK_DISK;
            return err_sys(&s->why, "write the bundle");
        }
        p += w;
        len -= (size_t)w;
        at += (uint64_t)w;
    }
    return 0;
}

int bundle_sink_write(struct bundle_sink *s, const void *data, size_t len)
{
    if (check_rate(s, len) < 0)
        return -1;
    if (s->fd >= 0 && write_at(s, data, len) < 0)
        return -1;
    if (s->md5)
        (void)EVP_DigestUpdate(s->md5, data, len);
    if (s->cks)
        checksum_run_update(s->cks, data, len);
    if (s->head_len < sizeof(s->head)) {
        size_t n = sizeof(s->head) - s->head_len < len ? sizeof(s->head) - s->head_len : len;
        memcpy(s->head + s->head_len, data, n);
        s->head_len += n;
    }
    s->off += len;
    if (s->ex && unpack_stream_write(s->ex, data, len) < 0) {
        s->why_kind = SINK_EXTRACT;
        return err_set(&s->why, ERR_ARCHIVE, "the extraction stopped");
    }
    return 0;
}

void bundle_sink_md5_hex(struct bundle_sink *s, char out[33])
{
    unsigned char raw[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (!s->md5)
        return;
    (void)EVP_DigestFinal_ex(s->md5, raw, &n);
    EVP_MD_CTX_free(s->md5);
    s->md5 = NULL;
    for (unsigned int i = 0; i < n && i < 16; i++)
        (void)snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

int bundle_sink_xml_error(const struct bundle_sink *s, const char *bucket, const char *key,
                          struct err *err)
{
    char head[BUNDLE_HEAD_BYTES + 1];
    memcpy(head, s->head, s->head_len);
    head[s->head_len] = '\0';
    const char *p = head;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    if (!str_has_prefix(p, "<?xml") && !str_has_prefix(p, "<Error>"))
        return 0;
    AUTOFREE char *code = strstr(p, "<Error>") ? bundle_xml_text(p, "Code") : NULL;
    if (!code)
        return 0;
    AUTOFREE char *msg = bundle_xml_text(p, "Message");
    int kind = str_eq(code, "SlowDown") || http_is_throttle_code(code) ? ERR_THROTTLED : ERR_HTTP;
    return err_set(err, kind,
                   "S3 GetObject s3://%s/%s: S3 answered 200 OK with an error document "
                   "instead of the object: %s: %s",
                   bucket, key, code, msg ? msg : "");
}
