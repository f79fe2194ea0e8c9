/* bundle-s3: one S3 GetObject stream with resumes (see bundle.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws/creds.h"
#include "base/util.h"
#include "deploy/bundle-internal.h"
#include "net/sigv4.h"

/* What one attempt came to. */
enum s3_step { S3_DONE, S3_AGAIN, S3_AGAIN_FREE, S3_FAILED };

static void s3_progress(void *arg, uint64_t done, uint64_t total)
{
    struct s3_ctx *c = arg;
    if (!c->o->progress)
        return;
    uint64_t all = c->have + done;
    (void)total;
    uint64_t want = c->total ? c->total : (total ? c->have + total : 0);
    double secs = (double)(now_usec() - c->start_usec) / 1e6;
    c->o->progress(c->o->progress_arg, all, want, secs > 0 ? (double)all / secs : 0.0);
}

static int s3_resolve(struct s3_ctx *c, struct err *err)
{
    endpoint_s3_object_done(&c->obj);
    struct endpoint_s3_opts eo = {
        .region = c->region,
        .domain = c->o->domain,
        .fips = c->o->use_fips,
        .override_url = c->o->endpoint_override,
    };
    if (endpoint_s3_object(&eo, c->src->bucket, c->src->key, c->src->version, &c->obj, err) < 0) {
        err_prefix(err, "S3 GetObject s3://%s/%s", c->src->bucket, c->src->key);
        return -1;
    }
    return 0;
}

static uint64_t s3_max_bytes(const struct s3_ctx *c)
{
    return c->o->max_bytes ? c->o->max_bytes : BUNDLE_MAX_BYTES_DEFAULT;
}

/* Forget the object and its bytes: the next request starts from byte 0 without If-Match. */
static int s3_start_over(struct s3_ctx *c, struct err *err)
{
    free(c->etag);
    free(c->version);
    free(c->cks_value);
    c->etag = c->version = c->cks_value = NULL;
    c->cks_alg = -1;
    c->total = 0;
    c->kms = false;
    c->have = 0;
    bundle_sink_reset(&c->sink);
    (void)unpack_stream_finish(c->sink.ex, false, NULL, NULL);
    c->sink.ex = NULL;
    if (ftruncate(c->fd, 0) < 0)
        return err_sys(err, "S3 GetObject s3://%s/%s: truncate '%s'", c->src->bucket, c->src->key,
                       c->tmp);
    return 0;
}

int bundle_s3_extract_start(struct s3_ctx *c, struct err *err)
{
    const struct bundle_extract *x = c->o->extract;
    if (!x || c->sink.ex)
        return 0;
    return unpack_stream_start(x->fmt, x->dest, x->opts, &c->sink.ex, err);
}

/* The digests a whole object needs, from its first byte: MD5 of a single-part ETag, the
 * full-object additional checksum. */
void bundle_s3_digests(struct s3_ctx *c)
{
    if (c->etag && bundle_etag_is_md5(c->etag) && !c->kms) {
        c->sink.md5 = EVP_MD_CTX_new();
        if (!c->sink.md5)
            abort(); /* out of memory, as xmalloc does */
        (void)EVP_DigestInit_ex(c->sink.md5, EVP_md5(), NULL);
    }
    if (c->cks_alg >= 0 && !checksum_is_composite(c->cks_value))
        c->sink.cks = checksum_run_new((enum checksum_alg)c->cks_alg);
}

static int s3_refuse(struct s3_ctx *c, bool fatal, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s3_refuse(struct s3_ctx *c, bool fatal, int code, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    c->refused_fatal = fatal;
    return err_set(&c->refused, code, "S3 GetObject s3://%s/%s: %s", c->src->bucket, c->src->key,
                   why);
}

static int s3_check_size(struct s3_ctx *c, uint64_t total)
{
    if (total <= s3_max_bytes(c))
        return 0;
    return s3_refuse(c, true, ERR_LIMIT,
                     "object of %" PRIu64 " bytes is larger than the limit "
                     "of %" PRIu64 " bytes",
                     total, s3_max_bytes(c));
}

/* A 200 is the whole object: adopt it as the object being fetched, from byte 0. */
static int s3_begin_whole(struct s3_ctx *c, const struct http_headers *h, const char *etag)
{
    struct err e = ERR_INIT;
    if (s3_start_over(c, &e) < 0)
        return s3_refuse(c, true, e.code, "%s", e.msg);
    const char *cl = http_headers_get(h, "Content-Length");
    uint64_t total = 0;
    if (cl && parse_uint(cl, 0, UINT64_MAX, &total, NULL) < 0)
        return s3_refuse(c, false, ERR_HTTP, "bad Content-Length '%s'", cl);
    if (s3_check_size(c, total) < 0)
        return -1;
    c->total = total;
    c->etag = etag ? xstrdup(etag) : NULL;
    const char *vid = http_headers_get(h, "x-amz-version-id");
    c->version = vid ? xstrdup(vid) : NULL;
    c->kms = bundle_sse_hides_md5(h);
    for (int a = 0; a < CHECKSUM_ALG_COUNT && c->cks_alg < 0; a++) {
        const char *v = http_headers_get(h, checksum_alg_header((enum checksum_alg)a));
        if (v && *v) {
            c->cks_alg = a;
            c->cks_value = xstrdup(v);
        }
    }
    if (bundle_s3_wants_parts(c)) {
        c->go_parts = true; /* refused below: bundle_s3_parts takes over */
        return s3_refuse(c, true, ERR_HTTP, "fetched in parts");
    }
    bundle_s3_digests(c);
    bundle_sink_restart_window(&c->sink);
    if (bundle_s3_extract_start(c, &e) < 0)
        return s3_refuse(c, true, e.code, "%s", e.msg);
    return 0;
}

/* A 206 must continue the same object exactly where our bytes end. */
static int s3_begin_part(struct s3_ctx *c, const struct http_headers *h, const char *etag)
{
    if (c->have == 0 || !c->etag)
        return s3_refuse(c, false, ERR_HTTP, "206 Partial Content to a request without Range");
    if (!etag || !str_eq(etag, c->etag))
        return s3_refuse(c, false, ERR_HTTP,
                         "resume at byte %" PRIu64 " answered from another "
                         "object (ETag %s, expected %s)",
                         c->have, etag ? etag : "none", c->etag);
    const char *cr = http_headers_get(h, "Content-Range");
    uint64_t start = 0, end = 0, total = 0;
    if (bundle_parse_content_range(cr, &start, &end, &total) < 0 || start != c->have ||
        end + 1 != total || (c->total && total != c->total))
        return s3_refuse(c, false, ERR_HTTP,
                         "resume at byte %" PRIu64 " of %" PRIu64
                         " answered with Content-Range '%s'",
                         c->have, c->total, cr ? cr : "");
    const char *cl = http_headers_get(h, "Content-Length");
    uint64_t len = 0;
    if (cl && (parse_uint(cl, 0, UINT64_MAX, &len, NULL) < 0 || len != end - start + 1))
        return s3_refuse(c, false, ERR_HTTP,
                         "Content-Length '%s' does not match Content-Range "
                         "'%s'",
                         cl, cr);
    if (s3_check_size(c, total) < 0)
        return -1;
    c->total = total;
    bundle_sink_restart_window(&c->sink);
    return 0;
}

/* http write hook: the body of a vetted 2xx, through the sink. */
static int s3_write(void *arg, const void *data, size_t len)
{
    struct s3_ctx *c = arg;
    if (bundle_sink_write(&c->sink, data, len) == 0)
        return 0;
    bool fatal = c->sink.why_kind != SINK_SLOW;
    return s3_refuse(c, fatal, c->sink.why.code, "%s", c->sink.why.msg);
}

/* http begin hook: vet a 2xx before its body touches the .part file. */
static int s3_begin(void *arg, long status, const struct http_headers *h)
{
    struct s3_ctx *c = arg;
    AUTOFREE char *etag = bundle_etag_unquote(http_headers_get(h, "ETag"));
    if (c->want_etag && etag && !str_eq(c->want_etag, etag))
        return s3_refuse(c, true, ERR_SIGNATURE,
                         "Expected deployment artifact bundle etag %s "
                         "but was actually %s",
                         c->want_etag, etag);
    if (status == 200)
        return s3_begin_whole(c, h, etag);
    if (status == 206)
        return s3_begin_part(c, h, etag);
    return s3_refuse(c, true, ERR_HTTP, "unexpected status %ld", status);
}

static void s3_answer_init(struct http_response *resp)
{
    resp->status = 0;
    http_headers_init(&resp->headers);
    buf_init(&resp->body, 1);
    resp->bytes_streamed = 0;
}

/* The headers of one request before signing. */
static void s3_headers(const struct s3_ctx *c, const struct s3_call *call, struct http_headers *h)
{
    http_headers_init(h);
    http_headers_add(h, "Host", c->obj.host);
    if (call->checksum_mode) /* S3's additional checksums of the object (s3_verify) */
        http_headers_add(h, "x-amz-checksum-mode", "ENABLED");
    if (call->ranged) {
        char range[64];
        if (call->to == UINT64_MAX)
            (void)snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", call->from);
        else
            (void)snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, call->from,
                           call->to);
        http_headers_add(h, "Range", range);
    }
    if (call->if_match) {
        AUTOFREE char *q = xasprintf("\"%s\"", call->if_match);
        http_headers_add(h, "If-Match", q);
    }
}

int bundle_s3_call(struct s3_ctx *c, const struct s3_call *call, struct http_response *resp,
                   struct err *err)
{
    struct creds cr = {0};
    if (creds_get(c->o->creds, &cr, err) < 0) {
        s3_answer_init(resp);
        err_prefix(err, "S3 GetObject s3://%s/%s", c->src->bucket, c->src->key);
        return -1;
    }
    struct http_headers h;
    s3_headers(c, call, &h);
    AUTOFREE char *url = call->part > 0 ? xasprintf("%s%cpartNumber=%d", c->obj.url,
                                                    strchr(c->obj.url, '?') ? '&' : '?', call->part)
                                        : xstrdup(c->obj.url);
    struct sigv4_creds sc = {cr.access_key_id, cr.secret_access_key, cr.session_token};
    struct sigv4_params sp = {
        .region = c->region,
        .service = "s3",
        .clock_offset_sec = c->clock_offset_sec,
        .s3_mode = true,
    };
    int r = sigv4_sign_headers(call->method, url, &h, NULL, 0, &sc, &sp, err);
    creds_done(&cr);
    if (r < 0) {
        http_headers_done(&h);
        s3_answer_init(resp);
        err_prefix(err, "S3 GetObject s3://%s/%s: sign", c->src->bucket, c->src->key);
        return -1;
    }
    struct http_request req = {
        .method = call->method,
        .url = url,
        .headers = &h,
        .max_response = (size_t)s3_max_bytes(c),
        .out_fd = -1,
        .progress = call->progress,
        .progress_arg = call->arg,
        .begin = call->begin,
        .begin_arg = call->arg,
        .write = call->write,
        .write_arg = call->arg,
    };
    r = http_request(call->http, &req, resp, err);
    http_headers_done(&h);
    return r;
}

/* One request of the single stream: GET from c->have (a vetted 2xx goes through s3_write), or
 * HEAD. */
static int s3_send(struct s3_ctx *c, const char *method, struct http_response *resp,
                   struct err *err)
{
    bool get = str_eq(method, "GET");
    struct s3_call call = {
        .http = c->o->http,
        .method = method,
        .from = c->have,
        .to = UINT64_MAX,
        .ranged = get && c->have > 0,
        .if_match = get ? (c->want_etag ? c->want_etag : c->etag) : NULL,
        .checksum_mode = get,
        .begin = get ? s3_begin : NULL,
        .write = get ? s3_write : NULL,
        .progress = s3_progress,
        .arg = c,
    };
    return bundle_s3_call(c, &call, resp, err);
}

/* After a 412: learn the object's real ETag for the R-110 message (best effort). */
static char *s3_actual_etag(struct s3_ctx *c)
{
    struct http_response resp;
    struct err e = ERR_INIT;
    char *etag = NULL;
    if (s3_send(c, "HEAD", &resp, &e) == 0 && resp.status == 200)
        etag = bundle_etag_unquote(http_headers_get(&resp.headers, "ETag"));
    http_response_done(&resp);
    return etag;
}

static uint64_t file_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

static void transport_hint(struct err *err, const struct s3_ctx *c)
{
    if (!err || (err->code != ERR_HTTP && err->code != ERR_TIMEOUT))
        return;
    size_t n = strlen(err->msg);
    if (c->o->use_fips)
        (void)snprintf(err->msg + n, sizeof(err->msg) - n,
                       ". Check that Fips exists in %s. Or, try using s3 endpoint override.",
                       c->region);
    else
        (void)snprintf(err->msg + n, sizeof(err->msg) - n, ". Try using s3 endpoint override.");
}

/* Retry bookkeeping of one download. */
struct s3_retry {
    struct err last;     /* why the latest attempt did not finish */
    bool last_transport; /* ... because no connection could be made (R-114 hint) */
    bool region_moved;
    bool skew_fixed;
};

/*
 * Where the next request starts: after the bytes already in .part when they belong to a known
 * object, else from zero.  Sets c->have.
 */
static int s3_prepare(struct s3_ctx *c, struct err *err)
{
    c->have = c->etag ? c->sink.off : 0;
    if (ftruncate(c->fd, (off_t)c->have) < 0)
        return err_sys(err, "S3 GetObject s3://%s/%s: seek '%s'", c->src->bucket, c->src->key,
                       c->tmp);
    if (!c->etag && s3_start_over(c, err) < 0)
        return -1;
    return 0;
}

/* A transport failure or a refused response. */
static enum s3_step s3_broken(struct s3_ctx *c, struct s3_retry *st, long status, struct err *err)
{
    if (err_is_set(&c->refused)) {
        err_clear(&st->last);
        err_set(&st->last, c->refused.code, "%s", c->refused.msg);
        err_clear(&c->refused);
        if (c->go_parts)
            return S3_DONE;
        if (c->refused_fatal) {
            err_set(err, st->last.code, "%s", st->last.msg);
            return S3_FAILED;
        }
        if (c->sink.why_kind == SINK_SLOW) {
            c->sink.why_kind = SINK_OK;
            return S3_AGAIN; /* too slow: resume after the bytes we have */
        }
        return s3_start_over(c, err) < 0 ? S3_FAILED : S3_AGAIN;
    }
    if (!str_has_prefix(st->last.msg, "S3 GetObject"))
        err_prefix(&st->last, "S3 GetObject s3://%s/%s", c->src->bucket, c->src->key);
    int code = st->last.code;
    if (code == ERR_CANCELLED || code == ERR_LIMIT || code == ERR_UNSAFE || code == ERR_AUTH ||
        code == ERR_CONFIG || code == ERR_SIGNATURE)
        return S3_FAILED;
    /* R-114's hint is for a connection that could not be made at all. */
    st->last_transport = status == 0;
    return S3_AGAIN; /* network error or broken transfer: resume where the bytes end */
}

/* A 2xx that s3_begin accepted and that ran to its end. */
static enum s3_step s3_received(struct s3_ctx *c, struct s3_retry *st, struct err *err)
{
    uint64_t size = c->sink.off;
    if (!c->total)
        c->total = size; /* a 200 without Content-Length that ended cleanly */
    if (size < c->total) {
        err_set(&st->last, ERR_HTTP,
                "S3 GetObject s3://%s/%s: transfer ended at byte %" PRIu64 " of %" PRIu64,
                c->src->bucket, c->src->key, size, c->total);
        return S3_AGAIN;
    }
    if (size > c->total) {
        err_set(err, ERR_SIGNATURE,
                "S3 GetObject s3://%s/%s: received %" PRIu64 " bytes but "
                "the object has %" PRIu64,
                c->src->bucket, c->src->key, size, c->total);
        return S3_FAILED;
    }
    return S3_DONE;
}

/* 412: If-Match failed.  Without a spec ETag the object changed: fetch the new one whole. */
static enum s3_step s3_precondition_failed(struct s3_ctx *c, struct s3_retry *st, struct err *err)
{
    AUTOFREE char *actual = s3_actual_etag(c);
    const char *b = c->src->bucket, *k = c->src->key;
    if (c->want_etag) {
        err_set(err, ERR_SIGNATURE,
                "S3 GetObject s3://%s/%s: Expected deployment artifact "
                "bundle etag %s but was actually %s",
                b, k, c->want_etag, actual ? actual : "unknown");
        return S3_FAILED;
    }
    err_set(&st->last, ERR_HTTP,
            "S3 GetObject s3://%s/%s: the object changed during the "
            "download (ETag %s, now %s)",
            b, k, c->etag ? c->etag : "unknown", actual ? actual : "unknown");
    return s3_start_over(c, err) < 0 ? S3_FAILED : S3_AGAIN;
}

/* An S3 error answer: region and clock fixes (free retries), R-064 retries, or the end. */
static enum s3_step s3_error_answer(struct s3_ctx *c, struct s3_retry *st,
                                    const struct http_response *resp, struct err *err)
{
    long status = resp->status;
    const char *body = resp->body.data;
    const char *moved = http_headers_get(&resp->headers, "x-amz-bucket-region");
    if ((status == 301 || status == 400) && moved && *moved && !str_eq(moved, c->region) &&
        !st->region_moved) {
        /* once, against the bucket's own region. */
        st->region_moved = true;
        free(c->region);
        c->region = xstrdup(moved);
        return s3_resolve(c, err) < 0 ? S3_FAILED : S3_AGAIN_FREE;
    }
    AUTOFREE char *code = bundle_xml_text(body, "Code");
    AUTOFREE char *msg = bundle_xml_text(body, "Message");
    long off = 0;
    if (!st->skew_fixed && sigv4_is_skew_error(code, msg) &&
        sigv4_clock_offset(http_headers_get(&resp->headers, "Date"), time(NULL), &off, NULL) == 0) {
        st->skew_fixed = true;
        c->clock_offset_sec = off;
        return S3_AGAIN_FREE;
    }
    bundle_s3_error(&st->last, c->src->bucket, c->src->key, status, body);
    if (code && (str_eq(code, "ExpiredToken") || str_eq(code, "ExpiredTokenException") ||
                 str_eq(code, "InvalidToken"))) {
        /* expired credentials are retried after a refresh. */
        creds_invalidate(c->o->creds);
        return S3_AGAIN;
    }
    if (code && (str_eq(code, "InvalidAccessKeyId") || str_eq(code, "SignatureDoesNotMatch")))
        creds_invalidate(c->o->creds); /* rotated keys: re-read them before the next use */
    if (!http_is_retryable(status, 0, code) && !(code && str_eq(code, "SlowDown")))
        return S3_FAILED;
    return S3_AGAIN;
}

static enum s3_step s3_attempt(struct s3_ctx *c, struct s3_retry *st, struct err *err)
{
    struct http_response resp;
    err_clear(&c->refused);
    int r = s3_send(c, "GET", &resp, &st->last);
    enum s3_step step;
    if (r < 0) {
        step = s3_broken(c, st, resp.status, err);
    } else {
        st->last_transport = false;
        if (resp.status == 200 || resp.status == 206)
            step = s3_received(c, st, err);
        else if (resp.status == 412)
            step = s3_precondition_failed(c, st, err);
        else
            step = s3_error_answer(c, st, &resp, err);
    }
    http_response_done(&resp);
    return step;
}

/* Attempts until the object is complete in .part; ret_n: requests made. */
static int s3_download(struct s3_ctx *c, int *ret_n, struct err *err)
{
    const struct bundle_s3_opts *o = c->o;
    int attempts = o->attempts > 0 ? o->attempts : BUNDLE_S3_ATTEMPTS;
    uint64_t base_ms = o->retry_base_ms ? o->retry_base_ms : BUNDLE_S3_RETRY_BASE_MS;
    bundle_sleep_fn sleep_fn = o->sleep ? o->sleep : bundle_default_sleep;
    struct s3_retry st = {.last = ERR_INIT};
    for (int n = 1; n <= attempts; n++) {
        if (n > 1)
            sleep_fn(o->sleep_arg, base_ms << (n - 2 < 16 ? n - 2 : 16));
        if (s3_prepare(c, err) < 0)
            return -1;
        *ret_n = n;
        if (c->etag && c->total && c->have == c->total)
            return 0; /* every byte arrived before the connection failed */
        err_clear(&st.last);
        enum s3_step step = s3_attempt(c, &st, err);
        if (step == S3_DONE)
            return 0;
        if (step == S3_FAILED && err_is_set(err))
            return -1;
        if (step == S3_FAILED)
            break;
        if (step == S3_AGAIN_FREE)
            n--;
    }
    if (st.last_transport)
        transport_hint(&st.last, c);
    return err_set(err, st.last.code ? st.last.code : ERR_HTTP, "%s", st.last.msg);
}

/* The whole file against what S3 says of the object: size, MD5 ETag, additional checksum, all
 * but the size computed by the sink as the bytes arrived. */
static int s3_verify(struct s3_ctx *c, struct err *err)
{
    const char *b = c->src->bucket, *k = c->src->key;
    if (bundle_sink_xml_error(&c->sink, b, k, err) < 0)
        return -1;
    uint64_t size = file_size(c->fd);
    if (c->total && size != c->total)
        return err_set(err, ERR_SIGNATURE,
                       "S3 GetObject s3://%s/%s: have %" PRIu64 " bytes "
                       "but the object has %" PRIu64,
                       b, k, size, c->total);
    if (c->sink.md5) {
        char md5[33];
        bundle_sink_md5_hex(&c->sink, md5);
        if (strcasecmp(md5, c->etag) != 0)
            return err_set(err, ERR_SIGNATURE,
                           "S3 GetObject s3://%s/%s: downloaded content "
                           "has MD5 %s but the ETag is %s",
                           b, k, md5, c->etag);
    }
    if (!c->sink.cks)
        return 0; /* none, or composite: those need the part boundaries (README) */
    enum checksum_alg alg = (enum checksum_alg)c->cks_alg;
    AUTOFREE char *got = checksum_run_base64(c->sink.cks);
    c->sink.cks = NULL;
    if (!str_eq(got, c->cks_value))
        return err_set(err, ERR_SIGNATURE,
                       "S3 GetObject s3://%s/%s: downloaded content has "
                       "%s checksum %s but S3 says %s",
                       b, k, checksum_alg_name(alg), got, c->cks_value);
    return 0;
}

/* Verified: wait for the streamed extraction, then dest.  No fsync: after a crash the
 * deployment fails and starts over. */
static int s3_install(struct s3_ctx *c, const char *dest, int n, struct bundle_result *ret,
                      struct err *err)
{
    const char *b = c->src->bucket, *k = c->src->key;
    struct unpack_stats st = {0};
    bool extracted = c->sink.ex != NULL;
    int r = unpack_stream_finish(c->sink.ex, true, &st, err);
    c->sink.ex = NULL;
    if (r < 0)
        return -1;
    int fd = c->fd;
    c->fd = -1;
    if (close(fd) < 0)
        return err_sys(err, "S3 GetObject s3://%s/%s: write '%s'", b, k, c->tmp);
    if (rename(c->tmp, dest) < 0)
        return err_sys(err, "S3 GetObject s3://%s/%s: rename to '%s'", b, k, dest);
    if (ret) {
        ret->etag = TAKE_PTR(c->etag);
        ret->version_id = TAKE_PTR(c->version);
        struct stat sb;
        ret->size = stat(dest, &sb) == 0 ? (uint64_t)sb.st_size : 0;
        ret->attempts = n;
        ret->extracted = extracted;
        ret->unpacked = st;
    }
    return 0;
}

/* The download failed: when the extraction stopped it first, its reason (or the S3 error
 * document that it could not read) is the better message. */
static void s3_failed(struct s3_ctx *c, struct err *err)
{
    if (c->sink.why_kind != SINK_EXTRACT)
        return;
    struct err e = ERR_INIT;
    if (bundle_sink_xml_error(&c->sink, c->src->bucket, c->src->key, &e) == 0) {
        (void)unpack_stream_finish(c->sink.ex, true, NULL, &e);
        c->sink.ex = NULL;
    }
    if (err_is_set(&e) && err) {
        err_clear(err);
        *err = e;
    }
}

static void s3_ctx_done(struct s3_ctx *c)
{
    if (c->fd >= 0)
        close(c->fd);
    bundle_sink_done(&c->sink);
    free(c->want_etag);
    free(c->etag);
    free(c->version);
    free(c->cks_value);
    endpoint_s3_object_done(&c->obj);
    free(c->region);
}

int bundle_fetch_s3(const struct bundle_s3_source *src, const struct bundle_s3_opts *o,
                    const char *dest, struct bundle_result *ret, struct err *err)
{
    const char *b = src->bucket ? src->bucket : "", *k = src->key ? src->key : "";
    if (!o->region || !o->creds || !o->http)
        return err_set(err, ERR_CONFIG,
                       "S3 GetObject s3://%s/%s: no region, credentials or "
                       "HTTP client",
                       b, k);
    AUTOFREE char *tmp = xasprintf("%s.part", dest);
    struct s3_ctx c = {.src = src,
                       .o = o,
                       .tmp = tmp,
                       .region = xstrdup(o->region),
                       .fd = -1,
                       .start_usec = now_usec(),
                       .cks_alg = -1,
                       .refused = ERR_INIT,
                       .want_etag = bundle_etag_unquote(src->etag)};
    if (c.want_etag && !*c.want_etag) {
        free(c.want_etag);
        c.want_etag = NULL;
    }
    int rc = -1, n = 0;
    if (s3_resolve(&c, err) < 0)
        goto out;
    c.fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (c.fd < 0) {
        err_sys(err, "S3 GetObject s3://%s/%s: create '%s'", b, k, tmp);
        goto out;
    }
    bundle_sink_init(&c.sink, c.fd, 0, o);
    int r = s3_download(&c, &n, err);
    if (r == 0 && c.go_parts) {
        r = bundle_s3_parts(&c, err);
        if (r > 0) { /* parts of different sizes: one stream after all */
            c.go_parts = false;
            c.one_stream = true;
            r = s3_start_over(&c, err) < 0 ? -1 : s3_download(&c, &n, err);
        }
    }
    if (r == 0 && s3_verify(&c, err) == 0)
        rc = s3_install(&c, dest, n, ret, err);
    else if (r < 0)
        s3_failed(&c, err);
    if (rc == 0 && ret)
        ret->parts = c.parts;
out:
    s3_ctx_done(&c);
    if (rc < 0)
        (void)unlink(tmp);
    return rc;
}
