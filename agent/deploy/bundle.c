/* bundle: see bundle.h. */
#include "deploy/bundle.h"
#include "deploy/bundle-internal.h"

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

#include "base/checksum.h"
#include "base/log.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/util.h"

void bundle_result_done(struct bundle_result *r)
{
    if (!r)
        return;
    free(r->etag);
    free(r->version_id);
    r->etag = r->version_id = NULL;
}

void bundle_default_sleep(void *arg, uint64_t ms)
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
bool bundle_etag_is_md5(const char *etag)
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
bool bundle_sse_hides_md5(const struct http_headers *h)
{
    const char *sse = http_headers_get(h, "x-amz-server-side-encryption");
    return (sse && str_has_prefix(sse, "aws:kms")) ||
           http_headers_get(h, "x-amz-server-side-encryption-customer-algorithm");
}

/* Text of the first <tag>...</tag> in xml with the five predefined entities decoded. */
char *bundle_xml_text(const char *xml, const char *tag)
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

const char *bundle_status_reason(long status)
{
    switch (status) {
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 412:
        return "Precondition Failed";
    case 416:
        return "Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "";
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
    AUTOFREE char *code = bundle_xml_text(body, "Code");
    AUTOFREE char *msg = bundle_xml_text(body, "Message");
    int kind = code_for_status(status);
    if (code && (str_eq(code, "SlowDown") || http_is_throttle_code(code)))
        kind = ERR_THROTTLED;
    if (code && msg)
        return err_set(err, kind, "S3 %s s3://%s/%s: %ld %s: %s", op, bucket, key, status, code,
                       msg);
    if (code)
        return err_set(err, kind, "S3 %s s3://%s/%s: %ld %s", op, bucket, key, status, code);
    /* HEAD and some proxies answer without a body: name the status. */
    const char *reason = bundle_status_reason(status);
    return err_set(err, kind, "S3 %s s3://%s/%s: %ld %s", op, bucket, key, status,
                   *reason ? reason : "HTTP error");
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
                "[bundle_type=%s]",
                type);
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
        bool redirect = r == 0 && loc &&
                        (resp.status == 301 || resp.status == 302 || resp.status == 303 ||
                         resp.status == 307 || resp.status == 308);
        char *next = redirect ? resolve_location(cur, loc) : NULL;
        http_response_done(&resp);
        if (!redirect)
            return r;
        if (!next || (str_has_prefix(cur, "https://") && !str_has_prefix(next, "https://"))) {
            free(next);
            return err_set(err, ERR_UNSAFE, "GitHub download '%s': refusing redirect to '%s'", url,
                           loc);
        }
        free(cur);
        cur = next;
    }
    return err_set(err, ERR_UNSAFE, "GitHub download '%s': more than %d redirects", url,
                   BUNDLE_GITHUB_MAX_REDIRECTS);
}

int bundle_fetch_github(const struct bundle_github_source *src, const struct bundle_github_opts *o,
                        const char *dest, struct bundle_result *ret, struct err *err)
{
    static const uint64_t default_waits[BUNDLE_GITHUB_RETRIES] = {10000, 30000, 90000};
    AUTOFREE char *url = bundle_github_url(o->api_base, src, err);
    if (!url)
        return -1;
    if (!o->http)
        return err_set(err, ERR_CONFIG, "GitHub download '%s': no HTTP client", url);
    const uint64_t *waits = o->retry_ms ? o->retry_ms : default_waits;
    bundle_sleep_fn sleep_fn = o->sleep ? o->sleep : bundle_default_sleep;
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
        int cr = close(fd); /* no fsync: after a crash the deployment starts over */
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
            (void)buf_appendf(&codes, NULL, "%ld '%s'", status, bundle_status_reason(status));
        }
    }
    if (rc < 0) {
        err_set(err, ERR_HTTP,
                "Could not download bundle at '%s' after %d retries. Server "
                "returned codes: %s",
                url, BUNDLE_GITHUB_RETRIES, codes.data ? codes.data : "");
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
