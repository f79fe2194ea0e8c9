/* bundle: see bundle.h. */
#include "deploy/bundle.h"

#include <ctype.h>
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
#include "base/checksum.h"
#include "base/log.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/util.h"
#include "net/endpoint.h"
#include "net/sigv4.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

void bundle_result_done(struct bundle_result *r)
{
    if (!r)
        return;
    free(r->etag);
    free(r->version_id);
    r->etag = r->version_id = NULL;
}

static void default_sleep(void *arg, uint64_t ms)
{
    (void)arg;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* ---- pure helpers ---- */

char *bundle_etag_unquote(const char *etag)
{
    if (!etag)
        return NULL;
    char *out = xmalloc(strlen(etag) + 1), *o = out;
    for (const char *p = etag; *p; p++)
        if (*p != '"')
            *o++ = *p;
    *o = '\0';
    return out;
}

bool bundle_etag_is_multipart(const char *etag)
{
    if (!etag)
        return false;
    const char *dash = strrchr(etag, '-');
    if (!dash || !dash[1])
        return false;
    for (const char *p = dash + 1; *p && *p != '"'; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

/* True for a 32-hex-digit ETag (quotes already removed): an MD5 of the content. */
static bool etag_is_md5(const char *etag)
{
    if (!etag || strlen(etag) != 32)
        return false;
    for (const char *p = etag; *p; p++)
        if (!isxdigit((unsigned char)*p))
            return false;
    return true;
}

int bundle_parse_content_range(const char *value, uint64_t *ret_start, uint64_t *ret_end,
                               uint64_t *ret_total)
{
    /* "bytes <start>-<end>/<total>"; "*" for an unknown total is of no use to a resume. */
    if (!value || strncmp(value, "bytes ", 6) != 0)
        return -1;
    const char *p = value + 6;
    char *end = NULL;
    uint64_t v[3];
    const char seps[3] = {'-', '/', '\0'};
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        errno = 0;
        unsigned long long x = strtoull(p, &end, 10);
        if (errno || *end != seps[i])
            return -1;
        v[i] = x;
        p = end + 1;
    }
    if (v[0] > v[1] || v[1] >= v[2])
        return -1;
    *ret_start = v[0];
    *ret_end = v[1];
    *ret_total = v[2];
    return 0;
}

/* SSE-KMS and SSE-C objects have ETags that are not the MD5 of their content. */
static bool sse_hides_md5(const struct http_headers *h)
{
    const char *sse = http_headers_get(h, "x-amz-server-side-encryption");
    return (sse && str_has_prefix(sse, "aws:kms")) ||
           http_headers_get(h, "x-amz-server-side-encryption-customer-algorithm");
}

/* Text of the first <tag>...</tag> in xml with the five predefined entities decoded. */
static char *xml_text(const char *xml, const char *tag)
{
    if (!xml)
        return NULL;
    AUTOFREE char *open = xasprintf("<%s>", tag);
    AUTOFREE char *close = xasprintf("</%s>", tag);
    const char *a = strstr(xml, open);
    if (!a)
        return NULL;
    a += strlen(open);
    const char *b = strstr(a, close);
    if (!b)
        return NULL;
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    char *out = xmalloc((size_t)(b - a) + 1), *o = out;
    for (const char *p = a; p < b;) {
        bool done = false;
        for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]) && !done; i++) {
            size_t n = strlen(ents[i].ent);
            if ((size_t)(b - p) >= n && memcmp(p, ents[i].ent, n) == 0) {
                *o++ = ents[i].c;
                p += n;
                done = true;
            }
        }
        if (!done) {
            char c = *p++;
            *o++ = (c == '\n' || c == '\r') ? ' ' : c;
        }
    }
    *o = '\0';
    return out;
}

static const char *status_reason(long status)
{
    switch (status) {
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

static int code_for_status(long status)
{
    if (status == 401 || status == 403)
        return ERR_AUTH;
    if (status == 404)
        return ERR_NOT_FOUND;
    if (status == 429 || status == 503)
        return ERR_THROTTLED;
    return ERR_HTTP;
}

int bundle_s3_error(struct err *err, const char *bucket, const char *key, long status,
                    const char *body)
{
    return bundle_s3_error_op(err, "GetObject", bucket, key, status, body);
}

int bundle_s3_error_op(struct err *err, const char *op, const char *bucket, const char *key,
                       long status, const char *body)
{
    AUTOFREE char *code = xml_text(body, "Code");
    AUTOFREE char *msg = xml_text(body, "Message");
    int kind = code_for_status(status);
    if (code && (str_eq(code, "SlowDown") || http_is_throttle_code(code)))
        kind = ERR_THROTTLED;
    if (code && msg)
        return err_set(err, kind, "S3 %s s3://%s/%s: %ld %s: %s", op, bucket, key, status,
                       code, msg);
    if (code)
        return err_set(err, kind, "S3 %s s3://%s/%s: %ld %s", op, bucket, key, status, code);
    /* HEAD and some proxies answer without a body: name the status. */
    const char *reason = status_reason(status);
    return err_set(err, kind, "S3 %s s3://%s/%s: %ld %s", op, bucket, key, status,
                   *reason ? reason : "HTTP error");
}

/* ---- S3 ---- */

/* What one attempt came to. */
enum s3_step { S3_DONE, S3_AGAIN, S3_AGAIN_FREE, S3_FAILED };

struct s3_ctx {
    const struct bundle_s3_source *src; /* borrowed */
    const struct bundle_s3_opts *o;     /* borrowed */
    const char *tmp;                    /* borrowed; the .part file */
    char *region;                       /* owned; may change once (R-113) */
    struct endpoint_s3_object obj;      /* owned */
    long clock_offset_sec;              /* R-051 */
    int fd;
    uint64_t have;                      /* bytes of the object in .part when this request started */
    uint64_t start_usec;
    char *want_etag;                    /* owned; the spec's ETag unquoted, NULL when none */
    /* The object being fetched, learnt from the response that delivered its first bytes; every
     * later response must be the same object or the download starts over. */
    char *etag;                         /* owned; NULL: unknown, so no resume is possible */
    char *version;                      /* owned */
    uint64_t total;                     /* object size, 0 unknown */
    bool kms;                           /* the ETag is not the MD5 of the content */
    int cks_alg;                        /* enum checksum_alg of cks_value, -1 for none */
    char *cks_value;                    /* owned; x-amz-checksum-* of the whole object */
    struct err refused;                 /* why s3_begin refused a response */
    bool refused_fatal;                 /* ... and whether starting over cannot help */
};

static void s3_progress(void *arg, uint64_t done, uint64_t total)
{
    struct s3_ctx *c = arg;
    if (!c->o->progress)
        return;
    uint64_t all = c->have + done;
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
    if (ftruncate(c->fd, 0) < 0 || lseek(c->fd, 0, SEEK_SET) < 0)
        return err_sys(err, "S3 GetObject s3://%s/%s: truncate '%s'", c->src->bucket,
                       c->src->key, c->tmp);
    return 0;
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
    return s3_refuse(c, true, ERR_LIMIT, "object of %" PRIu64 " bytes is larger than the limit "
                     "of %" PRIu64 " bytes", total, s3_max_bytes(c));
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
    c->kms = sse_hides_md5(h);
    for (int a = 0; a < CHECKSUM_ALG_COUNT && c->cks_alg < 0; a++) {
        const char *v = http_headers_get(h, checksum_alg_header((enum checksum_alg)a));
        if (v && *v) {
            c->cks_alg = a;
            c->cks_value = xstrdup(v);
        }
    }
    return 0;
}

/* A 206 must continue the same object exactly where our bytes end. */
static int s3_begin_part(struct s3_ctx *c, const struct http_headers *h, const char *etag)
{
    if (c->have == 0 || !c->etag)
        return s3_refuse(c, false, ERR_HTTP, "206 Partial Content to a request without Range");
    if (!etag || !str_eq(etag, c->etag))
        return s3_refuse(c, false, ERR_HTTP, "resume at byte %" PRIu64 " answered from another "
                         "object (ETag %s, expected %s)", c->have, etag ? etag : "none", c->etag);
    const char *cr = http_headers_get(h, "Content-Range");
    uint64_t start = 0, end = 0, total = 0;
    if (bundle_parse_content_range(cr, &start, &end, &total) < 0 || start != c->have ||
        end + 1 != total || (c->total && total != c->total))
        return s3_refuse(c, false, ERR_HTTP, "resume at byte %" PRIu64 " of %" PRIu64
                         " answered with Content-Range '%s'", c->have, c->total, cr ? cr : "");
    const char *cl = http_headers_get(h, "Content-Length");
    uint64_t len = 0;
    if (cl && (parse_uint(cl, 0, UINT64_MAX, &len, NULL) < 0 || len != end - start + 1))
        return s3_refuse(c, false, ERR_HTTP, "Content-Length '%s' does not match Content-Range "
                         "'%s'", cl, cr);
    if (s3_check_size(c, total) < 0)
        return -1;
    c->total = total;
    return 0;
}

/* http begin hook: vet a 2xx before its body touches the .part file. */
static int s3_begin(void *arg, long status, const struct http_headers *h)
{
    struct s3_ctx *c = arg;
    AUTOFREE char *etag = bundle_etag_unquote(http_headers_get(h, "ETag"));
    if (c->want_etag && etag && !str_eq(c->want_etag, etag))
        return s3_refuse(c, true, ERR_SIGNATURE, "Expected deployment artifact bundle etag %s "
                         "but was actually %s", c->want_etag, etag);
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

/* The headers of one GetObject (or HEAD) before signing; Range and If-Match on resumes. */
static void s3_headers(const struct s3_ctx *c, const char *method, struct http_headers *h)
{
    http_headers_init(h);
    http_headers_add(h, "Host", c->obj.host);
    bool get = str_eq(method, "GET");
    if (get) {
        /* Ask for S3's additional checksums of the object (verified in s3_verify). */
        http_headers_add(h, "x-amz-checksum-mode", "ENABLED");
    }
    if (get && c->have > 0) {
        char range[64];
        (void)snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", c->have);
        http_headers_add(h, "Range", range);
    }
    const char *im = get ? (c->want_etag ? c->want_etag : c->etag) : NULL;
    if (im) {
        AUTOFREE char *q = xasprintf("\"%s\"", im);
        http_headers_add(h, "If-Match", q);
    }
}

/*
 * One signed request.  GET streams a vetted 2xx body (s3_begin) to c->fd; HEAD has no body.
 * Returns http_request's result; resp must be released by the caller.
 */
static int s3_send(struct s3_ctx *c, const char *method, struct http_response *resp,
                   struct err *err)
{
    struct creds cr = {0};
    if (creds_get(c->o->creds, &cr, err) < 0) {
        s3_answer_init(resp);
        err_prefix(err, "S3 GetObject s3://%s/%s", c->src->bucket, c->src->key);
        return -1;
    }
    struct http_headers h;
    s3_headers(c, method, &h);
    struct sigv4_creds sc = {cr.access_key_id, cr.secret_access_key, cr.session_token};
    struct sigv4_params sp = {
        .region = c->region,
        .service = "s3",
        .clock_offset_sec = c->clock_offset_sec,
        .s3_mode = true,
    };
    int r = sigv4_sign_headers(method, c->obj.url, &h, NULL, 0, &sc, &sp, err);
    creds_done(&cr);
    if (r < 0) {
        http_headers_done(&h);
        s3_answer_init(resp);
        err_prefix(err, "S3 GetObject s3://%s/%s: sign", c->src->bucket, c->src->key);
        return -1;
    }
    bool get = str_eq(method, "GET");
    struct http_request req = {
        .method = method,
        .url = c->obj.url,
        .headers = &h,
        .max_response = (size_t)s3_max_bytes(c),
        .out_fd = get ? c->fd : -1,
        .progress = s3_progress,
        .progress_arg = c,
        .begin = get ? s3_begin : NULL,
        .begin_arg = c,
    };
    r = http_request(c->o->http, &req, resp, err);
    http_headers_done(&h);
    return r;
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
    c->have = c->etag ? file_size(c->fd) : 0;
    if (ftruncate(c->fd, (off_t)c->have) < 0 || lseek(c->fd, (off_t)c->have, SEEK_SET) < 0)
        return err_sys(err, "S3 GetObject s3://%s/%s: seek '%s'", c->src->bucket, c->src->key,
                       c->tmp);
    if (!c->etag && s3_start_over(c, err) < 0)
        return -1;
    return 0;
}

/* A transport failure or a refused response. */
static enum s3_step s3_broken(struct s3_ctx *c, struct s3_retry *st, long status,
                              struct err *err)
{
    if (err_is_set(&c->refused)) {
        err_clear(&st->last);
        err_set(&st->last, c->refused.code, "%s", c->refused.msg);
        err_clear(&c->refused);
        if (c->refused_fatal) {
            err_set(err, st->last.code, "%s", st->last.msg);
            return S3_FAILED;
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
    uint64_t size = file_size(c->fd);
    if (!c->total)
        c->total = size; /* a 200 without Content-Length that ended cleanly */
    if (size < c->total) {
        err_set(&st->last, ERR_HTTP, "S3 GetObject s3://%s/%s: transfer ended at byte %" PRIu64
                " of %" PRIu64, c->src->bucket, c->src->key, size, c->total);
        return S3_AGAIN;
    }
    if (size > c->total) {
        err_set(err, ERR_SIGNATURE, "S3 GetObject s3://%s/%s: received %" PRIu64 " bytes but "
                "the object has %" PRIu64, c->src->bucket, c->src->key, size, c->total);
        return S3_FAILED;
    }
    return S3_DONE;
}

/* 412: If-Match failed.  Without a spec ETag the object changed: fetch the new one whole. */
static enum s3_step s3_precondition_failed(struct s3_ctx *c, struct s3_retry *st,
                                           struct err *err)
{
    AUTOFREE char *actual = s3_actual_etag(c);
    const char *b = c->src->bucket, *k = c->src->key;
    if (c->want_etag) {
        err_set(err, ERR_SIGNATURE, "S3 GetObject s3://%s/%s: Expected deployment artifact "
                "bundle etag %s but was actually %s", b, k, c->want_etag,
                actual ? actual : "unknown");
        return S3_FAILED;
    }
    err_set(&st->last, ERR_HTTP, "S3 GetObject s3://%s/%s: the object changed during the "
            "download (ETag %s, now %s)", b, k, c->etag ? c->etag : "unknown",
            actual ? actual : "unknown");
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
        /* R-113: once, against the bucket's own region. */
        st->region_moved = true;
        free(c->region);
        c->region = xstrdup(moved);
        return s3_resolve(c, err) < 0 ? S3_FAILED : S3_AGAIN_FREE;
    }
    AUTOFREE char *code = xml_text(body, "Code");
    AUTOFREE char *msg = xml_text(body, "Message");
    long off = 0;
    if (!st->skew_fixed && sigv4_is_skew_error(code, msg) &&
        sigv4_clock_offset(http_headers_get(&resp->headers, "Date"), time(NULL), &off,
                           NULL) == 0) {
        st->skew_fixed = true;
        c->clock_offset_sec = off;
        return S3_AGAIN_FREE;
    }
    bundle_s3_error(&st->last, c->src->bucket, c->src->key, status, body);
    if (code && (str_eq(code, "ExpiredToken") || str_eq(code, "ExpiredTokenException") ||
                 str_eq(code, "InvalidToken"))) {
        /* R-064: expired credentials are retried after a refresh (R-039, R-040). */
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
    bundle_sleep_fn sleep_fn = o->sleep ? o->sleep : default_sleep;
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

/* The whole file against what S3 says of the object: size, MD5 ETag, additional checksum. */
static int s3_verify(struct s3_ctx *c, struct err *err)
{
    const char *b = c->src->bucket, *k = c->src->key;
    uint64_t size = file_size(c->fd);
    if (c->total && size != c->total)
        return err_set(err, ERR_SIGNATURE, "S3 GetObject s3://%s/%s: have %" PRIu64 " bytes "
                       "but the object has %" PRIu64, b, k, size, c->total);
    if (c->etag && etag_is_md5(c->etag) && !c->kms) {
        char md5[33];
        if (file_md5_hex(c->tmp, md5, err) < 0)
            return -1;
        if (strcasecmp(md5, c->etag) != 0)
            return err_set(err, ERR_SIGNATURE, "S3 GetObject s3://%s/%s: downloaded content "
                           "has MD5 %s but the ETag is %s", b, k, md5, c->etag);
    }
    if (c->cks_alg < 0 || checksum_is_composite(c->cks_value))
        return 0; /* composite checksums need the part boundaries: see README */
    enum checksum_alg alg = (enum checksum_alg)c->cks_alg;
    AUTOFREE char *got = checksum_file_base64(c->tmp, alg, err);
    if (!got)
        return -1;
    if (!str_eq(got, c->cks_value))
        return err_set(err, ERR_SIGNATURE, "S3 GetObject s3://%s/%s: downloaded content has "
                       "%s checksum %s but S3 says %s", b, k, checksum_alg_name(alg), got,
                       c->cks_value);
    return 0;
}

static int s3_install(struct s3_ctx *c, const char *dest, int n, struct bundle_result *ret,
                      struct err *err)
{
    const char *b = c->src->bucket, *k = c->src->key;
    int fd = c->fd;
    c->fd = -1;
    if (fsync(fd) < 0 || close(fd) < 0) {
        err_sys(err, "S3 GetObject s3://%s/%s: write '%s'", b, k, c->tmp);
        (void)close(fd);
        return -1;
    }
    if (rename(c->tmp, dest) < 0)
        return err_sys(err, "S3 GetObject s3://%s/%s: rename to '%s'", b, k, dest);
    if (ret) {
        ret->etag = TAKE_PTR(c->etag);
        ret->version_id = TAKE_PTR(c->version);
        struct stat sb;
        ret->size = stat(dest, &sb) == 0 ? (uint64_t)sb.st_size : 0;
        ret->attempts = n;
    }
    return 0;
}

int bundle_fetch_s3(const struct bundle_s3_source *src, const struct bundle_s3_opts *o,
                    const char *dest, struct bundle_result *ret, struct err *err)
{
    const char *b = src->bucket ? src->bucket : "", *k = src->key ? src->key : "";
    if (!o->region || !o->creds || !o->http)
        return err_set(err, ERR_CONFIG, "S3 GetObject s3://%s/%s: no region, credentials or "
                       "HTTP client", b, k);
    AUTOFREE char *tmp = xasprintf("%s.part", dest);
    struct s3_ctx c = {.src = src, .o = o, .tmp = tmp, .region = xstrdup(o->region), .fd = -1,
                       .start_usec = now_usec(), .cks_alg = -1, .refused = ERR_INIT,
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
    if (s3_download(&c, &n, err) == 0 && s3_verify(&c, err) == 0)
        rc = s3_install(&c, dest, n, ret, err);
out:
    if (c.fd >= 0)
        close(c.fd);
    if (rc < 0)
        (void)unlink(tmp);
    free(c.want_etag);
    free(c.etag);
    free(c.version);
    free(c.cks_value);
    endpoint_s3_object_done(&c.obj);
    free(c.region);
    return rc;
}

/* ---- GitHub ---- */

/* RFC 3986 unreserved characters kept, everything else (including '/') percent-encoded. */
static char *path_segment_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = xmalloc(strlen(s) * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

char *bundle_github_url(const char *api_base, const struct bundle_github_source *src,
                        struct err *err)
{
    const char *type = src->bundle_type && *src->bundle_type ? src->bundle_type : "tar";
    const char *fmt = str_eq(type, "tar") ? "tarball" : str_eq(type, "zip") ? "zipball" : NULL;
    if (!fmt) {
        err_set(err, ERR_UNSUPPORTED,
                "GitHub revision specified with bundle_type other than zip or tar "
                "[bundle_type=%s]", type);
        return NULL;
    }
    const char *names[] = {"account", "repository", "commit id"};
    const char *vals[] = {src->account, src->repository, src->commit_id};
    for (int i = 0; i < 3; i++)
        if (!vals[i] || !*vals[i]) {
            err_set(err, ERR_CONFIG, "GitHub revision: no %s", names[i]);
            return NULL;
        }
    const char *base = api_base && *api_base ? api_base : BUNDLE_GITHUB_API;
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    AUTOFREE char *acct = path_segment_encode(src->account);
    AUTOFREE char *repo = path_segment_encode(src->repository);
    AUTOFREE char *commit = path_segment_encode(src->commit_id);
    return xasprintf("%.*s/repos/%s/%s/%s/%s", (int)bl, base, acct, repo, fmt, commit);
}

struct gh_progress {
    const struct bundle_github_opts *o;
    uint64_t start_usec;
};

static void gh_progress(void *arg, uint64_t done, uint64_t total)
{
    struct gh_progress *g = arg;
    if (!g->o->progress)
        return;
    double secs = (double)(now_usec() - g->start_usec) / 1e6;
    g->o->progress(g->o->progress_arg, done, total, secs > 0 ? (double)done / secs : 0.0);
}


/* "scheme://host[:port]" prefix length of url, 0 when it has none. */
static size_t origin_len(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return 0;
    p += 3;
    return (size_t)(p - url) + strcspn(p, "/?#");
}

/* Location resolved against the URL it came from (absolute, or absolute-path). */
static char *resolve_location(const char *base, const char *loc)
{
    if (strstr(loc, "://"))
        return xstrdup(loc);
    if (loc[0] == '/')
        return xasprintf("%.*s%s", (int)origin_len(base), base, loc);
    return NULL;
}

/*
 * GET url into fd, following up to BUNDLE_GITHUB_MAX_REDIRECTS redirects by hand so that the
 * token (auth, may be NULL) goes to the API origin only (R-116), and an https:// download never
 * continues over http://.  Returns http_request's result for the last hop.
 */
static int gh_get(const struct bundle_github_opts *o, const char *url, const char *auth, int fd,
                  uint64_t max, struct gh_progress *gp, long *ret_status, uint64_t *ret_size,
                  struct err *err)
{
    AUTOFREE char *cur = xstrdup(url);
    size_t api_origin = origin_len(url);
    int r = -1;
    for (int hop = 0; hop <= BUNDLE_GITHUB_MAX_REDIRECTS; hop++) {
        struct http_headers h;
        http_headers_init(&h);
        bool same_origin = origin_len(cur) == api_origin && strncmp(cur, url, api_origin) == 0;
        if (auth && same_origin)
            http_headers_add(&h, "Authorization", auth);
        http_headers_add(&h, "Accept", "application/vnd.github+json");
        struct http_request req = {
            .method = "GET",
            .url = cur,
            .headers = &h,
            .max_response = (size_t)max,
            .out_fd = fd,
            .progress = gh_progress,
            .progress_arg = gp,
        };
        struct http_response resp;
        r = http_request(o->http, &req, &resp, err);
        http_headers_done(&h);
        *ret_status = resp.status;
        *ret_size = resp.bytes_streamed;
        const char *loc = http_headers_get(&resp.headers, "Location");
        bool redirect = r == 0 && loc && (resp.status == 301 || resp.status == 302 ||
                                          resp.status == 303 || resp.status == 307 ||
                                          resp.status == 308);
        char *next = redirect ? resolve_location(cur, loc) : NULL;
        http_response_done(&resp);
        if (!redirect)
            return r;
        if (!next || (str_has_prefix(cur, "https://") && !str_has_prefix(next, "https://"))) {
            free(next);
            return err_set(err, ERR_UNSAFE, "GitHub download '%s': refusing redirect to '%s'",
                           url, loc);
        }
        free(cur);
        cur = next;
    }
    return err_set(err, ERR_UNSAFE, "GitHub download '%s': more than %d redirects", url,
                   BUNDLE_GITHUB_MAX_REDIRECTS);
}

int bundle_fetch_github(const struct bundle_github_source *src,
                        const struct bundle_github_opts *o, const char *dest,
                        struct bundle_result *ret, struct err *err)
{
    static const uint64_t default_waits[BUNDLE_GITHUB_RETRIES] = {10000, 30000, 90000};
    AUTOFREE char *url = bundle_github_url(o->api_base, src, err);
    if (!url)
        return -1;
    if (!o->http)
        return err_set(err, ERR_CONFIG, "GitHub download '%s': no HTTP client", url);
    const uint64_t *waits = o->retry_ms ? o->retry_ms : default_waits;
    bundle_sleep_fn sleep_fn = o->sleep ? o->sleep : default_sleep;
    AUTOFREE char *tmp = xasprintf("%s.part", dest);
    struct buf codes;
    buf_init(&codes, 4096);
    char *auth = NULL;
    if (src->token && *src->token) {
        auth = xasprintf("token %s", src->token);
        log_add_secret(src->token);
    }
    uint64_t max = o->max_bytes ? o->max_bytes : BUNDLE_MAX_BYTES_DEFAULT;
    int rc = -1, attempt;
    long status = 0;
    uint64_t size = 0;
    bool cancelled = false;
    for (attempt = 0; attempt <= BUNDLE_GITHUB_RETRIES; attempt++) {
        if (attempt > 0)
            sleep_fn(o->sleep_arg, waits[attempt - 1]);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
            err_sys(err, "GitHub download '%s': create '%s'", url, tmp);
            goto out;
        }
        struct gh_progress gp = {o, now_usec()};
        struct err e = ERR_INIT;
        int r = gh_get(o, url, auth, fd, max, &gp, &status, &size, &e);
        int cr = fsync(fd) == 0 ? close(fd) : (close(fd), -1);
        if (r == 0 && status >= 200 && status < 300) {
            if (cr < 0) {
                err_sys(err, "GitHub download '%s': write '%s'", url, tmp);
                goto out;
            }
            rc = 0;
            break;
        }
        if (codes.len)
            (void)buf_append(&codes, "; ", 2, NULL);
        if (r < 0) {
            if (e.code == ERR_CANCELLED || e.code == ERR_LIMIT || e.code == ERR_UNSAFE) {
                cancelled = true;
                err_set(err, e.code, "GitHub download '%s': %s", url, e.msg);
                goto out;
            }
            /* R-117 [IMPROVE]: network errors are retried the same way. */
            (void)buf_appendf(&codes, NULL, "0 '%s'", e.msg);
        } else {
            (void)buf_appendf(&codes, NULL, "%ld '%s'", status, status_reason(status));
        }
    }
    if (rc < 0) {
        err_set(err, ERR_HTTP, "Could not download bundle at '%s' after %d retries. Server "
                "returned codes: %s", url, BUNDLE_GITHUB_RETRIES, codes.data ? codes.data : "");
        goto out;
    }
    if (rename(tmp, dest) < 0) {
        err_sys(err, "GitHub download '%s': rename to '%s'", url, dest);
        rc = -1;
        goto out;
    }
    if (ret) {
        memset(ret, 0, sizeof(*ret));
        ret->size = size;
        ret->attempts = attempt + 1;
    }
out:
    (void)cancelled;
    if (rc < 0)
        (void)unlink(tmp);
    secret_free(auth);
    buf_done(&codes);
    return rc;
}
