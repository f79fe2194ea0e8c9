/* bundle: see bundle.h. */
#include "deploy/bundle.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws/creds.h"
#include "net/endpoint.h"
#include "base/log.h"
#include "net/sigv4.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/util.h"

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
    AUTOFREE char *code = xml_text(body, "Code");
    AUTOFREE char *msg = xml_text(body, "Message");
    int kind = code_for_status(status);
    if (code && (str_eq(code, "SlowDown") || http_is_throttle_code(code)))
        kind = ERR_THROTTLED;
    if (code && msg)
        return err_set(err, kind, "S3 GetObject s3://%s/%s: %ld %s: %s", bucket, key, status,
                       code, msg);
    if (code)
        return err_set(err, kind, "S3 GetObject s3://%s/%s: %ld %s", bucket, key, status, code);
    /* HEAD and some proxies answer without a body: name the status. */
    const char *reason = status_reason(status);
    return err_set(err, kind, "S3 GetObject s3://%s/%s: %ld %s", bucket, key, status,
                   *reason ? reason : "HTTP error");
}

/* ---- S3 ---- */

struct s3_ctx {
    const struct bundle_s3_source *src;
    const struct bundle_s3_opts *o;
    char *region;                    /* owned; may change once (R-113) */
    struct endpoint_s3_object obj;   /* owned */
    long clock_offset_sec;           /* R-051 */
    int fd;
    uint64_t have;                   /* bytes in the .part file when this request started */
    uint64_t total;                  /* object size once known, else 0 */
    uint64_t start_usec;
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

/*
 * One signed request.  method GET streams a 2xx body to c->fd at offset c->have (Range when
 * c->have > 0); HEAD has no body.  if_match (unquoted) adds If-Match.  Returns http_request's
 * result; resp must be released by the caller.
 */
static int s3_send(struct s3_ctx *c, const char *method, const char *if_match,
                   struct http_response *resp, struct err *err)
{
    struct creds cr = {0};
    if (creds_get(c->o->creds, &cr, err) < 0) {
        resp->status = 0;
        http_headers_init(&resp->headers);
        buf_init(&resp->body, 1);
        resp->bytes_streamed = 0;
        err_prefix(err, "S3 GetObject s3://%s/%s", c->src->bucket, c->src->key);
        return -1;
    }
    struct http_headers h;
    http_headers_init(&h);
    http_headers_add(&h, "Host", c->obj.host);
    if (c->have > 0 && str_eq(method, "GET")) {
        char range[64];
        (void)snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", c->have);
        http_headers_add(&h, "Range", range);
    }
    if (if_match) {
        AUTOFREE char *q = xasprintf("\"%s\"", if_match);
        http_headers_add(&h, "If-Match", q);
    }
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
        resp->status = 0;
        http_headers_init(&resp->headers);
        buf_init(&resp->body, 1);
        resp->bytes_streamed = 0;
        err_prefix(err, "S3 GetObject s3://%s/%s: sign", c->src->bucket, c->src->key);
        return -1;
    }
    uint64_t max = c->o->max_bytes ? c->o->max_bytes : BUNDLE_MAX_BYTES_DEFAULT;
    struct http_request req = {
        .method = method,
        .url = c->obj.url,
        .headers = &h,
        .max_response = (size_t)(max > c->have ? max - c->have : 1),
        .out_fd = str_eq(method, "GET") ? c->fd : -1,
        .progress = s3_progress,
        .progress_arg = c,
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
    uint64_t have = c->have;
    c->have = 0;
    char *etag = NULL;
    if (s3_send(c, "HEAD", NULL, &resp, &e) == 0 && resp.status == 200)
        etag = bundle_etag_unquote(http_headers_get(&resp.headers, "ETag"));
    http_response_done(&resp);
    c->have = have;
    return etag;
}

/* Total object size from a 200 (Content-Length) or 206 (Content-Range ".../total"). */
static int s3_sizes(struct s3_ctx *c, const struct http_response *resp, uint64_t *ret_total,
                    struct err *err)
{
    const char *cl = http_headers_get(&resp->headers, "Content-Length");
    uint64_t len = 0;
    if (cl && parse_uint(cl, 0, UINT64_MAX, &len, NULL) < 0)
        return err_set(err, ERR_HTTP, "S3 GetObject s3://%s/%s: bad Content-Length '%s'",
                       c->src->bucket, c->src->key, cl);
    if (resp->status == 200) {
        *ret_total = cl ? len : 0;
        return 0;
    }
    const char *cr = http_headers_get(&resp->headers, "Content-Range");
    uint64_t start = 0, end = 0, total = 0;
    if (!cr || sscanf(cr, "bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64, &start, &end, &total) != 3 ||
        start != c->have || end + 1 != total)
        return err_set(err, ERR_HTTP,
                       "S3 GetObject s3://%s/%s: resume at byte %" PRIu64
                       " answered with Content-Range '%s'",
                       c->src->bucket, c->src->key, c->have, cr ? cr : "");
    *ret_total = total;
    return 0;
}

static uint64_t file_size(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

static bool sse_hides_md5(const struct http_response *resp)
{
    /* SSE-KMS and SSE-C objects have ETags that are not the MD5 of their content. */
    const char *sse = http_headers_get(&resp->headers, "x-amz-server-side-encryption");
    return (sse && str_has_prefix(sse, "aws:kms")) ||
           http_headers_get(&resp->headers, "x-amz-server-side-encryption-customer-algorithm");
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

int bundle_fetch_s3(const struct bundle_s3_source *src, const struct bundle_s3_opts *o,
                    const char *dest, struct bundle_result *ret, struct err *err)
{
    const char *b = src->bucket ? src->bucket : "", *k = src->key ? src->key : "";
    if (!o->region || !o->creds || !o->http)
        return err_set(err, ERR_CONFIG, "S3 GetObject s3://%s/%s: no region, credentials or "
                       "HTTP client", b, k);
    struct s3_ctx c = {.src = src, .o = o, .region = xstrdup(o->region), .fd = -1,
                       .start_usec = now_usec()};
    AUTOFREE char *tmp = xasprintf("%s.part", dest);
    AUTOFREE char *want_etag = bundle_etag_unquote(src->etag);
    if (want_etag && !*want_etag) {
        free(want_etag);
        want_etag = NULL;
    }
    char *seen_etag = NULL;   /* owned; the ETag of the first successful response */
    char *seen_version = NULL;
    bool kms = false, region_moved = false, skew_fixed = false, last_transport = false;
    int attempts = o->attempts > 0 ? o->attempts : BUNDLE_S3_ATTEMPTS;
    uint64_t base_ms = o->retry_base_ms ? o->retry_base_ms : BUNDLE_S3_RETRY_BASE_MS;
    bundle_sleep_fn sleep_fn = o->sleep ? o->sleep : default_sleep;
    int rc = -1, n = 0;
    struct err last = ERR_INIT;

    if (s3_resolve(&c, err) < 0)
        goto out;
    c.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (c.fd < 0) {
        err_sys(err, "S3 GetObject s3://%s/%s: create '%s'", b, k, tmp);
        goto out;
    }
    for (n = 1; n <= attempts; n++) {
        err_clear(&last);
        if (n > 1) {
            sleep_fn(o->sleep_arg, base_ms << (n - 2 < 16 ? n - 2 : 16));
        }
        c.have = file_size(c.fd);
        if (ftruncate(c.fd, (off_t)c.have) < 0 || lseek(c.fd, (off_t)c.have, SEEK_SET) < 0) {
            err_sys(err, "S3 GetObject s3://%s/%s: seek '%s'", b, k, tmp);
            goto out;
        }
        if (c.total && c.have == c.total && seen_etag) {
            /* Every byte arrived before the connection failed: nothing left to ask for. */
            rc = 0;
            break;
        }
        struct http_response resp;
        const char *im = seen_etag ? seen_etag : want_etag;
        int r = s3_send(&c, "GET", im, &resp, &last);
        if (r < 0) {
            /* A transfer broken after the headers: remember the ETag so the resume asks for the
             * same object (If-Match) and its size. */
            if ((resp.status == 200 || resp.status == 206) && c.have == 0 && !seen_etag) {
                seen_etag = bundle_etag_unquote(http_headers_get(&resp.headers, "ETag"));
                kms = sse_hides_md5(&resp);
                uint64_t total = 0;
                if (s3_sizes(&c, &resp, &total, NULL) == 0 && total)
                    c.total = total;
            }
            http_response_done(&resp);
            if (!str_has_prefix(last.msg, "S3 GetObject"))
                err_prefix(&last, "S3 GetObject s3://%s/%s", b, k);
            if (last.code == ERR_CANCELLED || last.code == ERR_LIMIT || last.code == ERR_UNSAFE ||
                last.code == ERR_AUTH || last.code == ERR_CONFIG || last.code == ERR_SIGNATURE)
                break;
            /* R-114's hint is for a connection that could not be made at all. */
            last_transport = resp.status == 0;
            continue; /* network error or broken transfer: resume from file_size() */
        }
        last_transport = false;
        long st = resp.status;
        if (st == 200 || st == 206) {
            if (st == 200 && c.have > 0) {
                /* The server ignored Range: the body went after the old bytes; start over. */
                http_response_done(&resp);
                if (ftruncate(c.fd, 0) < 0) {
                    err_sys(err, "S3 GetObject s3://%s/%s: truncate '%s'", b, k, tmp);
                    goto out;
                }
                err_set(&last, ERR_HTTP, "S3 GetObject s3://%s/%s: Range ignored", b, k);
                continue;
            }
            uint64_t total = 0;
            if (s3_sizes(&c, &resp, &total, &last) < 0) {
                http_response_done(&resp);
                break;
            }
            AUTOFREE char *etag = bundle_etag_unquote(http_headers_get(&resp.headers, "ETag"));
            if (!seen_etag && etag) {
                seen_etag = xstrdup(etag);
                kms = sse_hides_md5(&resp);
            }
            const char *vid = http_headers_get(&resp.headers, "x-amz-version-id");
            if (!seen_version && vid)
                seen_version = xstrdup(vid);
            http_response_done(&resp);
            if (want_etag && etag && !str_eq(want_etag, etag)) {
                err_set(err, ERR_SIGNATURE,
                        "S3 GetObject s3://%s/%s: Expected deployment artifact bundle etag %s "
                        "but was actually %s", b, k, want_etag, etag);
                goto out;
            }
            if (total && !c.total)
                c.total = total;
            uint64_t size = file_size(c.fd);
            if (c.total && size < c.total) {
                err_set(&last, ERR_HTTP,
                        "S3 GetObject s3://%s/%s: transfer ended at byte %" PRIu64 " of %" PRIu64,
                        b, k, size, c.total);
                continue;
            }
            if (c.total && size > c.total) {
                err_set(err, ERR_SIGNATURE,
                        "S3 GetObject s3://%s/%s: received %" PRIu64 " bytes but Content-Length "
                        "said %" PRIu64, b, k, size, c.total);
                goto out;
            }
            rc = 0;
            break;
        }
        const char *body = resp.body.data;
        AUTOFREE char *code = xml_text(body, "Code");
        if (st == 412) {
            http_response_done(&resp);
            AUTOFREE char *actual = s3_actual_etag(&c);
            if (seen_etag && !want_etag)
                err_set(err, ERR_SIGNATURE, "S3 GetObject s3://%s/%s: the object changed during "
                        "the download (ETag %s, now %s)", b, k, seen_etag,
                        actual ? actual : "unknown");
            else
                err_set(err, ERR_SIGNATURE, "S3 GetObject s3://%s/%s: Expected deployment "
                        "artifact bundle etag %s but was actually %s", b, k,
                        seen_etag ? seen_etag : want_etag, actual ? actual : "unknown");
            goto out;
        }
        const char *moved = http_headers_get(&resp.headers, "x-amz-bucket-region");
        if ((st == 301 || st == 400) && moved && *moved && !str_eq(moved, c.region) &&
            !region_moved) {
            /* R-113: once, against the bucket's own region. */
            region_moved = true;
            free(c.region);
            c.region = xstrdup(moved);
            http_response_done(&resp);
            if (s3_resolve(&c, err) < 0)
                goto out;
            n--;
            continue;
        }
        AUTOFREE char *msg = xml_text(body, "Message");
        if (!skew_fixed && sigv4_is_skew_error(code, msg)) {
            long off = 0;
            if (sigv4_clock_offset(http_headers_get(&resp.headers, "Date"), time(NULL), &off,
                                   NULL) == 0) {
                skew_fixed = true;
                c.clock_offset_sec = off;
                http_response_done(&resp);
                n--;
                continue;
            }
        }
        bundle_s3_error(&last, b, k, st, body);
        http_response_done(&resp);
        if (code && (str_eq(code, "ExpiredToken") || str_eq(code, "ExpiredTokenException") ||
                     str_eq(code, "InvalidToken"))) {
            /* R-064: expired credentials are retried after a refresh (R-039, R-040). */
            creds_invalidate(o->creds);
            continue;
        }
        if (code && (str_eq(code, "InvalidAccessKeyId") || str_eq(code, "SignatureDoesNotMatch")))
            creds_invalidate(o->creds); /* rotated keys: re-read them before the next use */
        if (!http_is_retryable(st, 0, code) && !(code && str_eq(code, "SlowDown")))
            break;
    }
    if (rc < 0) {
        if (!err_is_set(err)) {
            if (last_transport)
                transport_hint(&last, &c);
            err_set(err, last.code ? last.code : ERR_HTTP, "%s", last.msg);
        }
        goto out;
    }
    /* After-download checks: the MD5 of a single-part, non-KMS object equals its ETag. */
    if (seen_etag && etag_is_md5(seen_etag) && !kms) {
        char md5[33];
        if (file_md5_hex(tmp, md5, err) < 0) {
            rc = -1;
            goto out;
        }
        if (strcasecmp(md5, seen_etag) != 0) {
            err_set(err, ERR_SIGNATURE,
                    "S3 GetObject s3://%s/%s: downloaded content has MD5 %s but the ETag is %s",
                    b, k, md5, seen_etag);
            rc = -1;
            goto out;
        }
    }
    if (fsync(c.fd) < 0 || close(c.fd) < 0) {
        c.fd = -1;
        err_sys(err, "S3 GetObject s3://%s/%s: write '%s'", b, k, tmp);
        rc = -1;
        goto out;
    }
    c.fd = -1;
    if (rename(tmp, dest) < 0) {
        err_sys(err, "S3 GetObject s3://%s/%s: rename to '%s'", b, k, dest);
        rc = -1;
        goto out;
    }
    if (ret) {
        ret->etag = TAKE_PTR(seen_etag);
        ret->version_id = TAKE_PTR(seen_version);
        struct stat sb;
        ret->size = stat(dest, &sb) == 0 ? (uint64_t)sb.st_size : 0;
        ret->attempts = n;
    }
out:
    if (c.fd >= 0)
        close(c.fd);
    if (rc < 0)
        (void)unlink(tmp);
    free(seen_etag);
    free(seen_version);
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
