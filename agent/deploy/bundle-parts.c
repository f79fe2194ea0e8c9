/*
 * bundle-parts: an S3 object fetched in parts over several connections (issue 14 item 3).
 *
 * Workers (one thread and one HTTP client each) take parts in order and write them at their
 * offset in the .part file; each part is retried and resumed (Range within the part, If-Match)
 * on its own.  The calling thread reads the parts back in order as they complete, from the page
 * cache, for the whole-object digests and the streamed extraction, so memory stays bounded by
 * one read buffer whatever the object's size.  An object with a multipart ETag is fetched by S3
 * part (?partNumber=i; the part size comes from HEAD ?partNumber=1), each part's MD5 taken as it
 * arrives, and the ETag checked as MD5(concatenated part MD5s)-N.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/util.h"
#include "deploy/bundle-internal.h"

#define FEED_BYTES (1024 * 1024)

struct part {
    uint64_t start, len;
    unsigned char md5[16]; /* by S3 part: the part's MD5 once done */
    bool done;
};

struct parts {
    struct s3_ctx *c;
    struct part *p;
    size_t n;
    bool by_number; /* ?partNumber=i (multipart ETag) */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t next;      /* next part to hand out */
    bool failed;      /* stop everything */
    bool uneven;      /* parts cannot work here: fall back to one stream */
    struct err err;   /* the first failure */
    uint64_t written; /* bytes written by all workers (atomic) */
};

struct worker {
    struct parts *ps;
    struct http_client *http;
    pthread_t t;
    bool started;
    size_t idx;
    struct bundle_sink sink;
    struct err refused;
    bool refused_fatal;
};

bool bundle_s3_wants_parts(const struct s3_ctx *c)
{
    const struct bundle_s3_opts *o = c->o;
    if (c->one_stream || !o->http_opts || !c->etag || !c->total)
        return false;
    if (bundle_etag_is_multipart(c->etag) && !c->kms)
        return true;
    uint64_t min = o->parts_min_bytes ? o->parts_min_bytes : BUNDLE_PARTS_MIN_BYTES;
    uint64_t part = o->part_bytes ? o->part_bytes : BUNDLE_PART_BYTES;
    return o->connections != 1 && c->total >= min && c->total > part;
}

static bool stopped(struct parts *ps)
{
    pthread_mutex_lock(&ps->lock);
    bool f = ps->failed;
    pthread_mutex_unlock(&ps->lock);
    return f;
}

static void fail(struct parts *ps, const struct err *e, bool uneven)
{
    pthread_mutex_lock(&ps->lock);
    if (!ps->failed) {
        ps->failed = true;
        ps->uneven = uneven;
        ps->err = *e;
    }
    pthread_cond_broadcast(&ps->cond);
    pthread_mutex_unlock(&ps->lock);
}

static int refuse(struct worker *w, bool fatal, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(struct worker *w, bool fatal, int code, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    const struct s3_ctx *c = w->ps->c;
    w->refused_fatal = fatal;
    return err_set(&w->refused, code, "S3 GetObject s3://%s/%s: part %zu: %s", c->src->bucket,
                   c->src->key, w->idx + 1, why);
}

/* begin hook: a part must be the same object, exactly the bytes asked for. */
static int part_begin(void *arg, long status, const struct http_headers *h)
{
    struct worker *w = arg;
    struct parts *ps = w->ps;
    const struct s3_ctx *c = ps->c;
    const struct part *p = &ps->p[w->idx];
    AUTOFREE char *etag = bundle_etag_unquote(http_headers_get(h, "ETag"));
    if (!etag || !str_eq(etag, c->etag))
        return refuse(w, true, c->want_etag ? ERR_SIGNATURE : ERR_HTTP,
                      "answered from another "
                      "object (ETag %s, expected %s)",
                      etag ? etag : "none", c->etag);
    uint64_t from = p->start + w->sink.off, to = p->start + p->len - 1, s = 0, e = 0, t = 0;
    const char *cr = http_headers_get(h, "Content-Range");
    bool whole = status == 200 && p->start == 0 && p->len == c->total;
    if (!whole && (status != 206 || bundle_parse_content_range(cr, &s, &e, &t) < 0 || s != from ||
                   e != to || t != c->total)) {
        /* Parts not where the plan put them, or a server or proxy that ignores Range: one
         * stream instead (ps->uneven is read by bundle_s3_parts after the join). */
        bool fallback = (ps->by_number && w->sink.off == 0) || status == 200;
        if (fallback)
            ps->uneven = true;
        return refuse(w, fallback, ERR_HTTP,
                      "asked for bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64
                      ", answered %ld with Content-Range '%s'",
                      from, to, c->total, status, cr ? cr : "");
    }
    bundle_sink_restart_window(&w->sink);
    return 0;
}

static int part_write(void *arg, const void *data, size_t len)
{
    struct worker *w = arg;
    if (stopped(w->ps))
        return refuse(w, true, ERR_CANCELLED, "stopped");
    if (bundle_sink_write(&w->sink, data, len) < 0)
        return refuse(w, w->sink.why_kind != SINK_SLOW, w->sink.why.code, "%s", w->sink.why.msg);
    __atomic_add_fetch(&w->ps->written, (uint64_t)len, __ATOMIC_RELAXED);
    return 0;
}

static void part_md5_start(struct worker *w)
{
    EVP_MD_CTX_free(w->sink.md5);
    w->sink.md5 = NULL;
    if (!w->ps->by_number)
        return;
    w->sink.md5 = EVP_MD_CTX_new();
    if (!w->sink.md5)
        abort(); /* out of memory, as xmalloc does */
    (void)EVP_DigestInit_ex(w->sink.md5, EVP_md5(), NULL);
}

/* An answer that is not the part: retry (true) or give up with e set. */
static bool part_error_answer(struct worker *w, const struct http_response *resp, struct err *e)
{
    const struct s3_ctx *c = w->ps->c;
    bundle_s3_error(e, c->src->bucket, c->src->key, resp->status, resp->body.data);
    err_prefix(e, "part %zu", w->idx + 1);
    AUTOFREE char *code = bundle_xml_text(resp->body.data, "Code");
    return http_is_retryable(resp->status, 0, code) || (code && str_eq(code, "SlowDown"));
}

/* One attempt at part w->idx from where its bytes end.  0 done, 1 try again, -1 give up. */
static int part_attempt(struct worker *w, struct err *e)
{
    struct parts *ps = w->ps;
    struct s3_ctx *c = ps->c;
    struct part *p = &ps->p[w->idx];
    struct s3_call call = {
        .http = w->http,
        .method = "GET",
        .part = ps->by_number && w->sink.off == 0 ? (int)w->idx + 1 : 0,
        .from = p->start + w->sink.off,
        .to = p->start + p->len - 1,
        .ranged = !(ps->by_number && w->sink.off == 0),
        .if_match = c->etag,
        .begin = part_begin,
        .write = part_write,
        .arg = w,
    };
    struct http_response resp;
    err_clear(&w->refused);
    int r = bundle_s3_call(c, &call, &resp, e);
    int step = 1;
    if (r < 0 && err_is_set(&w->refused)) {
        err_clear(e);
        *e = w->refused;
        step = w->refused_fatal ? -1 : 1;
        if (!w->refused_fatal && w->sink.why_kind != SINK_SLOW) {
            bundle_sink_reset(&w->sink); /* a wrong range: this part from its start */
            part_md5_start(w);
        }
    } else if (r < 0) {
        int k = e->code;
        step = k == ERR_CANCELLED || k == ERR_LIMIT || k == ERR_UNSAFE || k == ERR_AUTH ? -1 : 1;
    } else if (resp.status == 200 || resp.status == 206) {
        step = w->sink.off == p->len ? 0 : 1;
        if (step)
            err_set(e, ERR_HTTP,
                    "S3 GetObject s3://%s/%s: part %zu ended at byte %" PRIu64 " of %" PRIu64,
                    c->src->bucket, c->src->key, w->idx + 1, w->sink.off, p->len);
    } else {
        step = part_error_answer(w, &resp, e) ? 1 : -1;
    }
    w->sink.why_kind = SINK_OK;
    http_response_done(&resp);
    return step;
}

static int fetch_part(struct worker *w, struct err *e)
{
    struct parts *ps = w->ps;
    const struct bundle_s3_opts *o = ps->c->o;
    struct part *p = &ps->p[w->idx];
    int attempts = o->attempts > 0 ? o->attempts : BUNDLE_S3_ATTEMPTS;
    uint64_t base_ms = o->retry_base_ms ? o->retry_base_ms : BUNDLE_S3_RETRY_BASE_MS;
    bundle_sink_init(&w->sink, ps->c->fd, p->start, o);
    part_md5_start(w);
    int step = 1;
    for (int n = 1; n <= attempts && step == 1 && !stopped(ps); n++) {
        if (n > 1)
            (o->sleep ? o->sleep : bundle_default_sleep)(o->sleep_arg,
                                                         base_ms << (n - 2 < 16 ? n - 2 : 16));
        err_clear(e);
        step = part_attempt(w, e);
    }
    if (step == 0 && ps->by_number) {
        unsigned int len = 0;
        (void)EVP_DigestFinal_ex(w->sink.md5, p->md5, &len);
    }
    bundle_sink_reset(&w->sink);
    if (step != 0 && !err_is_set(e))
        err_set(e, ERR_CANCELLED, "stopped");
    return step == 0 ? 0 : -1;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct parts *ps = w->ps;
    for (;;) {
        pthread_mutex_lock(&ps->lock);
        bool over = ps->failed || ps->next == ps->n;
        w->idx = ps->next;
        if (!over)
            ps->next++;
        pthread_mutex_unlock(&ps->lock);
        if (over)
            break;
        struct err e = ERR_INIT;
        if (fetch_part(w, &e) < 0) {
            fail(ps, &e, ps->uneven);
            break;
        }
        pthread_mutex_lock(&ps->lock);
        ps->p[w->idx].done = true;
        pthread_cond_broadcast(&ps->cond);
        pthread_mutex_unlock(&ps->lock);
    }
    return NULL;
}

/* HEAD ?partNumber=1: the size of the parts of a multipart object (1: not usable). */
static int plan_by_number(struct s3_ctx *c, uint64_t *ret_size, size_t *ret_n)
{
    const char *dash = strrchr(c->etag, '-');
    uint64_t n = 0;
    if (!dash || parse_uint(dash + 1, 1, 10000, &n, NULL) < 0)
        return 1;
    struct s3_call call = {.http = c->o->http, .method = "HEAD", .part = 1, .if_match = c->etag};
    struct http_response resp;
    struct err e = ERR_INIT;
    int r = bundle_s3_call(c, &call, &resp, &e);
    uint64_t s = 0, end = 0, t = 0;
    bool ok = r == 0 && resp.status == 206 &&
              bundle_parse_content_range(http_headers_get(&resp.headers, "Content-Range"), &s, &end,
                                         &t) == 0 &&
              s == 0 && t == c->total;
    http_response_done(&resp);
    uint64_t size = end + 1;
    /* Equal parts but the last, which may be shorter: what the AWS CLI and SDKs upload. */
    if (!ok || (n - 1) * size >= c->total || n * size < c->total)
        return 1;
    *ret_size = size;
    *ret_n = (size_t)n;
    return 0;
}

static int plan(struct parts *ps)
{
    struct s3_ctx *c = ps->c;
    uint64_t size = c->o->part_bytes ? c->o->part_bytes : BUNDLE_PART_BYTES;
    size_t n = (size_t)((c->total + size - 1) / size);
    ps->by_number = bundle_etag_is_multipart(c->etag) && !c->kms;
    if (ps->by_number && plan_by_number(c, &size, &n) != 0)
        return 1;
    ps->n = n;
    ps->p = xcalloc(n, sizeof(*ps->p));
    for (size_t i = 0; i < n; i++) {
        ps->p[i].start = (uint64_t)i * size;
        ps->p[i].len = i + 1 < n ? size : c->total - (uint64_t)i * size;
    }
    return 0;
}

/* The parts in order, as they complete, to c->sink (digests, extraction). */
static int feed(struct parts *ps, struct err *err)
{
    struct s3_ctx *c = ps->c;
    AUTOFREE char *buf = xmalloc(FEED_BYTES);
    for (size_t i = 0; i < ps->n; i++) {
        pthread_mutex_lock(&ps->lock);
        while (!ps->p[i].done && !ps->failed)
            pthread_cond_wait(&ps->cond, &ps->lock);
        bool failed = ps->failed;
        pthread_mutex_unlock(&ps->lock);
        if (failed)
            return -1;
        for (uint64_t at = ps->p[i].start, end = at + ps->p[i].len; at < end;) {
            size_t want = end - at < FEED_BYTES ? (size_t)(end - at) : FEED_BYTES;
            ssize_t r = pread(c->fd, buf, want, (off_t)at);
            if (r <= 0) {
                struct err e = ERR_INIT;
                err_sys(&e, "S3 GetObject s3://%s/%s: read back '%s'", c->src->bucket, c->src->key,
                        c->tmp);
                fail(ps, &e, false);
                return -1;
            }
            if (bundle_sink_write(&c->sink, buf, (size_t)r) < 0) {
                fail(ps, &c->sink.why, false);
                return -1;
            }
            at += (uint64_t)r;
        }
        if (c->o->progress) {
            uint64_t done = __atomic_load_n(&ps->written, __ATOMIC_RELAXED);
            double secs = (double)(now_usec() - c->start_usec) / 1e6;
            c->o->progress(c->o->progress_arg, done, c->total, secs > 0 ? (double)done / secs : 0);
        }
    }
    (void)err;
    return 0;
}

/* The multipart ETag: MD5 of the concatenated binary part MD5s, "-N". */
static int check_multipart(struct parts *ps, struct err *err)
{
    struct s3_ctx *c = ps->c;
    unsigned char raw[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    if (!m)
        abort();
    (void)EVP_DigestInit_ex(m, EVP_md5(), NULL);
    for (size_t i = 0; i < ps->n; i++)
        (void)EVP_DigestUpdate(m, ps->p[i].md5, sizeof(ps->p[i].md5));
    (void)EVP_DigestFinal_ex(m, raw, &len);
    EVP_MD_CTX_free(m);
    char got[64];
    for (unsigned int i = 0; i < 16; i++)
        (void)snprintf(got + 2 * i, 3, "%02x", raw[i]);
    (void)snprintf(got + 32, sizeof(got) - 32, "-%zu", ps->n);
    if (strcasecmp(got, c->etag) != 0)
        return err_set(err, ERR_SIGNATURE,
                       "S3 GetObject s3://%s/%s: downloaded parts have the "
                       "multipart ETag %s but the object's is %s",
                       c->src->bucket, c->src->key, got, c->etag);
    return 0;
}

static int run_workers(struct parts *ps, struct worker *ws, size_t nw, struct err *err)
{
    struct s3_ctx *c = ps->c;
    for (size_t i = 0; i < nw; i++) {
        ws[i].ps = ps;
        ws[i].refused = (struct err)ERR_INIT;
        ws[i].http = http_client_new(c->o->http_opts, err);
        if (!ws[i].http || pthread_create(&ws[i].t, NULL, worker_main, &ws[i]) != 0) {
            if (!err_is_set(err))
                err_set(err, ERR_SYSTEM, "S3 GetObject: start a download thread");
            fail(ps, err, false);
            break;
        }
        ws[i].started = true;
    }
    int r = err_is_set(err) ? -1 : feed(ps, err);
    if (r < 0) {
        struct err e = ERR_INIT;
        err_set(&e, ERR_CANCELLED, "stopped");
        fail(ps, &e, false);
    }
    for (size_t i = 0; i < nw; i++) {
        if (ws[i].started)
            pthread_join(ws[i].t, NULL);
        http_client_free(ws[i].http);
        bundle_sink_done(&ws[i].sink);
    }
    return r;
}

int bundle_s3_parts(struct s3_ctx *c, struct err *err)
{
    struct parts ps = {.c = c, .err = ERR_INIT};
    if (plan(&ps) != 0)
        return 1;
    pthread_mutex_init(&ps.lock, NULL);
    pthread_cond_init(&ps.cond, NULL);
    bundle_sink_reset(&c->sink);
    c->sink.fd = -1;     /* the workers write the file; the sink reads it back */
    c->sink.min_bps = 0; /* the workers check the rate of each connection */
    bundle_s3_digests(c);
    int rc = bundle_s3_extract_start(c, err);
    size_t nw = (size_t)(c->o->connections > 0 ? c->o->connections : BUNDLE_CONNECTIONS);
    if (nw > ps.n)
        nw = ps.n;
    struct worker *ws = xcalloc(nw, sizeof(*ws));
    if (rc == 0 && run_workers(&ps, ws, nw, err) < 0) {
        rc = ps.uneven ? 1 : -1;
        if (rc < 0) {
            err_clear(err);
            *err = ps.err;
        }
    }
    if (rc == 1) { /* back to one stream */
        c->sink.fd = c->fd;
        c->sink.min_bps = c->o->min_rate_bps;
    }
    if (rc == 0 && ps.by_number)
        rc = check_multipart(&ps, err);
    c->parts = rc == 0 ? (int)ps.n : 0;
    free(ws);
    free(ps.p);
    pthread_cond_destroy(&ps.cond);
    pthread_mutex_destroy(&ps.lock);
    return rc;
}
