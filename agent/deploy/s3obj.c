/* s3obj: see s3obj.h. */
#include "deploy/s3obj.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "aws/creds.h"
#include "base/buf.h"
#include "base/util.h"
#include "deploy/bundle.h"
#include "net/endpoint.h"
#include "net/http.h"
#include "net/sigv4.h"

struct s3_call {
    const char *op; /* "HeadObject", "GetObject", "PutObject" */
    const char *method;
    const char *bucket, *key, *version;
    const void *body;
    size_t len;
    const char *content_type;
    size_t max_response;
};

/* One signed request; 0 with a 2xx answer in *resp, else -1 with err (resp released). */
static int s3_call(const struct s3obj_opts *o, const struct s3_call *c, struct http_response *resp,
                   struct err *err)
{
    memset(resp, 0, sizeof(*resp));
    http_headers_init(&resp->headers);
    buf_init(&resp->body, 0);
    struct endpoint_s3_opts eo = {.region = o->region,
                                  .domain = o->domain,
                                  .fips = o->use_fips,
                                  .override_url = o->endpoint_override};
    struct endpoint_s3_object obj = {0};
    if (endpoint_s3_object(&eo, c->bucket, c->key, c->version, &obj, err) < 0) {
        err_prefix(err, "S3 %s s3://%s/%s", c->op, c->bucket, c->key);
        return -1;
    }
    struct creds cr = {0};
    if (creds_get(o->creds, &cr, err) < 0) {
        endpoint_s3_object_done(&obj);
        err_prefix(err, "S3 %s s3://%s/%s", c->op, c->bucket, c->key);
        return -1;
    }
    struct http_headers h;
    http_headers_init(&h);
    http_headers_add(&h, "Host", obj.host);
    if (c->content_type)
        http_headers_add(&h, "Content-Type", c->content_type);
    struct sigv4_creds sc = {cr.access_key_id, cr.secret_access_key, cr.session_token};
    struct sigv4_params sp = {.region = o->region, .service = "s3", .s3_mode = true};
    int r = sigv4_sign_headers(c->method, obj.url, &h, c->body, c->len, &sc, &sp, err);
    creds_done(&cr);
    if (r == 0) {
        struct http_request req = {.method = c->method,
                                   .url = obj.url,
                                   .headers = &h,
                                   .body = c->body,
                                   .body_len = c->len,
                                   .max_response = c->max_response,
                                   .out_fd = -1,
                                   .timeout_ms = o->timeout_ms};
        http_response_done(resp);
        r = http_request(o->http, &req, resp, err);
    }
    http_headers_done(&h);
    endpoint_s3_object_done(&obj);
    if (r < 0) {
        err_prefix(err, "S3 %s s3://%s/%s", c->op, c->bucket, c->key);
    } else if (resp->status < 200 || resp->status > 299) {
        AUTOFREE char *body = xstrndup(resp->body.data ? resp->body.data : "", resp->body.len);
        r = bundle_s3_error_op(err, c->op, c->bucket, c->key, resp->status, body);
    }
    if (r < 0)
        http_response_done(resp);
    return r;
}

int s3obj_head(const struct s3obj_opts *o, const char *bucket, const char *key, const char *version,
               uint64_t *ret_size, struct err *err)
{
    struct s3_call c = {
        .op = "HeadObject", .method = "HEAD", .bucket = bucket, .key = key, .version = version};
    struct http_response resp;
    if (s3_call(o, &c, &resp, err) < 0)
        return -1;
    const char *cl = http_headers_get(&resp.headers, "Content-Length");
    uint64_t n = 0;
    struct err pe = ERR_INIT;
    int r = 0;
    if (!cl || parse_uint(cl, 0, UINT64_MAX, &n, &pe) < 0)
        r = err_set(err, ERR_PARSE, "S3 HeadObject s3://%s/%s: no usable Content-Length", bucket,
                    key);
    else
        *ret_size = n;
    http_response_done(&resp);
    return r;
}

int s3obj_get(const struct s3obj_opts *o, const char *bucket, const char *key, size_t max,
              char **ret, size_t *ret_len, struct err *err)
{
    struct s3_call c = {
        .op = "GetObject", .method = "GET", .bucket = bucket, .key = key, .max_response = max};
    struct http_response resp;
    if (s3_call(o, &c, &resp, err) < 0)
        return -1;
    *ret_len = resp.body.len;
    *ret = xmalloc(resp.body.len + 1);
    if (resp.body.len)
        memcpy(*ret, resp.body.data, resp.body.len);
    (*ret)[resp.body.len] = '\0';
    http_response_done(&resp);
    return 0;
}

int s3obj_put(const struct s3obj_opts *o, const char *bucket, const char *key, const void *body,
              size_t len, const char *content_type, struct err *err)
{
    struct s3_call c = {.op = "PutObject",
                        .method = "PUT",
                        .bucket = bucket,
                        .key = key,
                        .body = body,
                        .len = len,
                        .content_type = content_type};
    struct http_response resp;
    if (s3_call(o, &c, &resp, err) < 0)
        return -1;
    http_response_done(&resp);
    return 0;
}

int s3obj_parse_uri(const char *uri, char **ret_bucket, char **ret_prefix, struct err *err)
{
    if (!uri || !str_has_prefix(uri, "s3://") || !uri[5] || uri[5] == '/')
        return err_set(err, ERR_CONFIG, "expected an S3 URI such as s3://bucket/prefix, got '%s'",
                       uri ? uri : "");
    const char *b = uri + 5;
    const char *slash = strchr(b, '/');
    size_t blen = slash ? (size_t)(slash - b) : strlen(b);
    const char *p = slash ? slash : "";
    while (*p == '/')
        p++;
    size_t plen = strlen(p);
    while (plen > 0 && p[plen - 1] == '/')
        plen--;
    *ret_bucket = xstrndup(b, blen);
    *ret_prefix = xstrndup(p, plen);
    return 0;
}
