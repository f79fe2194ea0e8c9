/*
 * SigV4 signer (spec ): every v4 case of the published test suite in
 * tests/data/sigv4-test-suite (a verbatim copy of the spec's data), read unchanged from disk,
 * header and query variants, stage by stage (canonical request, string to sign, signature, signed
 * request).  Each case is its own test named after its directory so a failure points at the rule.
 */
#include "test.h"

#include <dirent.h>
#include <time.h>

#include "net/http.h"
#include "net/sigv4-internal.h"
#include "base/buf.h"
#include "base/fsutil.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/util.h"

/* The suite is copied unchanged into tests/data, so a clean clone runs every case. */
static const char *suite_dir(void)
{
    static char dir[4096];
    snprintf(dir, sizeof(dir), "%s", test_src_path("tests/data/sigv4-test-suite/v4"));
    return dir_exists(dir) ? dir : NULL;
}

static char *slurp(const char *dir, const char *name, const char *file)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s/%s", dir, name, file);
    char *data = NULL;
    size_t len = 0;
    struct err e = ERR_INIT;
    if (read_file(path, 1 << 20, &data, &len, &e) < 0)
        FAILF("%s: %s", name, e.msg);
    return data;
}

/* A request as written in request.txt / *-signed-request.txt. */
struct vreq {
    char *method;
    char *target; /* path?query exactly as in the request line */
    struct http_headers headers;
    char *body;
    size_t body_len;
};

static void vreq_done(struct vreq *r)
{
    free(r->method);
    free(r->target);
    http_headers_done(&r->headers);
    free(r->body);
}

/* Parse the request format of the suite's README (folded header lines keep their "\n"). */
static void vreq_parse(const char *text, struct vreq *r)
{
    memset(r, 0, sizeof(*r));
    http_headers_init(&r->headers);
    const char *eol = strchr(text, '\n');
    size_t l = eol ? (size_t)(eol - text) : strlen(text);
    const char *sp = memchr(text, ' ', l);
    const char *proto = NULL;
    for (const char *p = text; p < text + l; p++)
        if (*p == ' ')
            proto = p;
    if (!sp || proto == sp)
        FAILF("bad request line");
    r->method = xstrndup(text, (size_t)(sp - text));
    r->target = xstrndup(sp + 1, (size_t)(proto - sp - 1));
    const char *p = eol ? eol + 1 : text + l;
    char *name = NULL;
    struct buf value;
    buf_init(&value, SIZE_MAX);
    while (*p) {
        eol = strchr(p, '\n');
        l = eol ? (size_t)(eol - p) : strlen(p);
        if (l == 0) {
            p = eol ? eol + 1 : p + l;
            break;
        }
        if (*p == ' ' || *p == '\t') {
            (void)buf_append(&value, "\n", 1, NULL);
            (void)buf_append(&value, p, l, NULL);
        } else {
            if (name)
                http_headers_add(&r->headers, name, value.data ? value.data : "");
            free(name);
            const char *colon = memchr(p, ':', l);
            if (!colon)
                FAILF("bad header line '%.*s'", (int)l, p);
            name = xstrndup(p, (size_t)(colon - p));
            buf_reset(&value);
            (void)buf_append(&value, colon + 1, l - (size_t)(colon + 1 - p), NULL);
        }
        p = eol ? eol + 1 : p + l;
    }
    if (name)
        http_headers_add(&r->headers, name, value.data ? value.data : "");
    free(name);
    buf_done(&value);
    r->body_len = strlen(p);
    r->body = xstrdup(p);
}

struct vctx {
    struct sigv4_creds creds;
    struct sigv4_params params;
    struct json *json;
};

static void vctx_load(const char *dir, const char *name, struct vctx *c)
{
    AUTOFREE char *text = slurp(dir, name, "context.json");
    memset(c, 0, sizeof(*c));
    c->json = json_parse(text, strlen(text), NULL, NULL);
    ASSERT_NOT_NULL(c->json);
    const struct json *cr = json_member(c->json, "credentials");
    c->creds.access_key_id = json_member_str(cr, "access_key_id");
    c->creds.secret_access_key = json_member_str(cr, "secret_access_key");
    c->creds.session_token = json_member_str(cr, "token");
    c->params.region = json_member_str(c->json, "region");
    c->params.service = json_member_str(c->json, "service");
    const char *ts = json_member_str(c->json, "timestamp");
    ASSERT_NOT_NULL(ts);
    struct tm tm = {0};
    const char *end = strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    ASSERT_TRUE(end && *end == '\0');
    c->params.now = timegm(&tm);
    c->params.raw_path = json_type(json_member(c->json, "normalize")) == JSON_FALSE;
    c->params.sign_body_header = json_type(json_member(c->json, "sign_body")) == JSON_TRUE;
    c->params.omit_session_token =
        json_type(json_member(c->json, "omit_session_token")) == JSON_TRUE;
    double expires = 0; /* absent: the signer's default */
    json_num(json_member(c->json, "expiration_in_seconds"), &expires);
    c->params.expires_sec = (long)expires;
}

static void check_stage(const char *name, const char *stage, const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        FAILF("%s: %s differs\n--- got:\n%s\n--- expected:\n%s", name, stage, got, want);
}

/* Header multiset equality: names case-insensitive, values exact. */
static void check_same_headers(const char *name, const struct http_headers *got,
                               const struct http_headers *want)
{
    if (got->n != want->n)
        FAILF("%s: signed request has %zu headers, expected %zu", name, got->n, want->n);
    bool used[64] = {0};
    ASSERT_TRUE(got->n < 64);
    for (size_t i = 0; i < want->n; i++) {
        bool found = false;
        for (size_t j = 0; j < got->n && !found; j++) {
            if (!used[j] && strcasecmp(got->items[j].name, want->items[i].name) == 0 &&
                strcmp(got->items[j].value, want->items[i].value) == 0) {
                used[j] = true;
                found = true;
            }
        }
        if (!found)
            FAILF("%s: expected header '%s:%s' missing from signed request", name,
                  want->items[i].name, want->items[i].value);
    }
}

/* Split "a=b&c=d" into a sorted multiset of raw strings; compare. */
static int strp_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t split_sorted(char *q, char **out, size_t max)
{
    size_t n = 0;
    while (q && *q && n < max) {
        char *amp = strchr(q, '&');
        if (amp)
            *amp = '\0';
        out[n++] = q;
        q = amp ? amp + 1 : NULL;
    }
    qsort(out, n, sizeof(*out), strp_cmp);
    return n;
}

static void check_same_query(const char *name, const char *got, const char *want)
{
    AUTOFREE char *g = xstrdup(got);
    AUTOFREE char *w = xstrdup(want);
    char *gp[64] = {0};
    char *wp[64] = {0};
    size_t gn = split_sorted(g, gp, 64);
    size_t wn = split_sorted(w, wp, 64);
    if (gn != wn)
        FAILF("%s: presigned query\n  %s\nhas %zu parameters, expected %zu (%s)", name, got, gn, wn,
              want);
    for (size_t i = 0; i < gn; i++)
        if (strcmp(gp[i], wp[i]) != 0)
            FAILF("%s: presigned query parameter '%s', expected '%s'", name, gp[i], wp[i]);
}

static void run_header_variant(const char *dir, const char *name, const struct vreq *req,
                               const struct vctx *c)
{
    struct sigv4_result r;
    struct err e = ERR_INIT;
    if (sigv4_compute(req->method, req->target, &req->headers, req->body, req->body_len, &c->creds,
                      &c->params, false, &r, &e) < 0)
        FAILF("%s: sigv4_compute (header): %s", name, e.msg);
    AUTOFREE char *creq = slurp(dir, name, "header-canonical-request.txt");
    AUTOFREE char *sts = slurp(dir, name, "header-string-to-sign.txt");
    AUTOFREE char *sig = slurp(dir, name, "header-signature.txt");
    check_stage(name, "header canonical request", r.canonical_request, creq);
    check_stage(name, "header string to sign", r.string_to_sign, sts);
    check_stage(name, "header signature", r.signature, sig);
    sigv4_result_done(&r);

    /* Signed request through the public function. */
    struct http_headers h;
    http_headers_init(&h);
    for (size_t i = 0; i < req->headers.n; i++)
        http_headers_add(&h, req->headers.items[i].name, req->headers.items[i].value);
    if (sigv4_sign_headers(req->method, req->target, &h, req->body, req->body_len, &c->creds,
                           &c->params, &e) < 0)
        FAILF("%s: sigv4_sign_headers: %s", name, e.msg);
    AUTOFREE char *signed_text = slurp(dir, name, "header-signed-request.txt");
    struct vreq want;
    vreq_parse(signed_text, &want);
    ASSERT_STREQ(want.target, req->target);
    check_same_headers(name, &h, &want.headers);
    vreq_done(&want);
    http_headers_done(&h);
}

static void run_query_variant(const char *dir, const char *name, const struct vreq *req,
                              const struct vctx *c)
{
    struct sigv4_result r;
    struct err e = ERR_INIT;
    if (sigv4_compute(req->method, req->target, &req->headers, req->body, req->body_len, &c->creds,
                      &c->params, true, &r, &e) < 0)
        FAILF("%s: sigv4_compute (query): %s", name, e.msg);
    AUTOFREE char *creq = slurp(dir, name, "query-canonical-request.txt");
    AUTOFREE char *sts = slurp(dir, name, "query-string-to-sign.txt");
    AUTOFREE char *sig = slurp(dir, name, "query-signature.txt");
    check_stage(name, "query canonical request", r.canonical_request, creq);
    check_stage(name, "query string to sign", r.string_to_sign, sts);
    check_stage(name, "query signature", r.signature, sig);
    sigv4_result_done(&r);

    AUTOFREE char *q = NULL;
    if (sigv4_presign_query(req->method, req->target, &req->headers, req->body, req->body_len,
                            &c->creds, &c->params, &q, &e) < 0)
        FAILF("%s: sigv4_presign_query: %s", name, e.msg);
    const char *qm = strchr(req->target, '?');
    AUTOFREE char *full = qm ? xasprintf("%s&%s", qm + 1, q) : xstrdup(q);
    AUTOFREE char *signed_text = slurp(dir, name, "query-signed-request.txt");
    struct vreq want;
    vreq_parse(signed_text, &want);
    const char *wq = strchr(want.target, '?');
    ASSERT_NOT_NULL(wq);
    size_t plen = qm ? (size_t)(qm - req->target) : strlen(req->target);
    if ((size_t)(wq - want.target) != plen || strncmp(want.target, req->target, plen) != 0)
        FAILF("%s: presigned path '%s' does not start with '%.*s'", name, want.target, (int)plen,
              req->target);
    check_same_query(name, full, wq + 1);
    /* Headers are not touched by query signing. */
    check_same_headers(name, &req->headers, &want.headers);
    vreq_done(&want);
}

static void run_case(const char *name)
{
    const char *d = suite_dir();
    if (!d)
        FAILF("sigv4-test-suite missing: %s", test_src_path("tests/data/sigv4-test-suite/v4"));
    AUTOFREE char *dir = xstrdup(d);
    AUTOFREE char *text = slurp(dir, name, "request.txt");
    struct vreq req;
    vreq_parse(text, &req);
    struct vctx c;
    vctx_load(dir, name, &c);
    run_header_variant(dir, name, &req, &c);
    run_query_variant(dir, name, &req, &c);
    json_free(c.json);
    vreq_done(&req);
}

#define VECTORS(X)                                                                                 \
    X(get_header_key_duplicate, "get-header-key-duplicate")                                        \
    X(get_header_value_multiline, "get-header-value-multiline")                                    \
    X(get_header_value_order, "get-header-value-order")                                            \
    X(get_header_value_trim, "get-header-value-trim")                                              \
    X(get_relative_normalized, "get-relative-normalized")                                          \
    X(get_relative_relative_normalized, "get-relative-relative-normalized")                        \
    X(get_relative_relative_unnormalized, "get-relative-relative-unnormalized")                    \
    X(get_relative_unnormalized, "get-relative-unnormalized")                                      \
    X(get_slash_dot_slash_normalized, "get-slash-dot-slash-normalized")                            \
    X(get_slash_dot_slash_unnormalized, "get-slash-dot-slash-unnormalized")                        \
    X(get_slash_normalized, "get-slash-normalized")                                                \
    X(get_slash_pointless_dot_normalized, "get-slash-pointless-dot-normalized")                    \
    X(get_slash_pointless_dot_unnormalized, "get-slash-pointless-dot-unnormalized")                \
    X(get_slash_unnormalized, "get-slash-unnormalized")                                            \
    X(get_slashes_normalized, "get-slashes-normalized")                                            \
    X(get_slashes_unnormalized, "get-slashes-unnormalized")                                        \
    X(get_space_normalized, "get-space-normalized")                                                \
    X(get_space_unnormalized, "get-space-unnormalized")                                            \
    X(get_unreserved, "get-unreserved")                                                            \
    X(get_utf8, "get-utf8")                                                                        \
    X(get_vanilla, "get-vanilla")                                                                  \
    X(get_vanilla_empty_query_key, "get-vanilla-empty-query-key")                                  \
    X(get_vanilla_query, "get-vanilla-query")                                                      \
    X(get_vanilla_query_order_encoded, "get-vanilla-query-order-encoded")                          \
    X(get_vanilla_query_order_key_case, "get-vanilla-query-order-key-case")                        \
    X(get_vanilla_query_unreserved, "get-vanilla-query-unreserved")                                \
    X(get_vanilla_utf8_query, "get-vanilla-utf8-query")                                            \
    X(get_vanilla_with_session_token, "get-vanilla-with-session-token")                            \
    X(post_header_key_case, "post-header-key-case")                                                \
    X(post_header_key_sort, "post-header-key-sort")                                                \
    X(post_header_value_case, "post-header-value-case")                                            \
    X(post_sts_header_after, "post-sts-header-after")                                              \
    X(post_sts_header_before, "post-sts-header-before")                                            \
    X(post_vanilla, "post-vanilla")                                                                \
    X(post_vanilla_empty_query_value, "post-vanilla-empty-query-value")                            \
    X(post_vanilla_query, "post-vanilla-query")                                                    \
    X(post_x_www_form_urlencoded, "post-x-www-form-urlencoded")                                    \
    X(post_x_www_form_urlencoded_parameters, "post-x-www-form-urlencoded-parameters")

#define DEFINE_VECTOR(id, dirname)                                                                 \
    TEST(sigv4_R050_vector_##id)                                                                   \
    {                                                                                              \
        run_case(dirname);                                                                         \
    }
VECTORS(DEFINE_VECTOR)

#define NAME_OF(id, dirname) dirname,
static const char *const vector_names[] = {VECTORS(NAME_OF) NULL};

/* No case of the suite may be left out silently: every directory must be in the list above. */
TEST(sigv4_R050_vector_list_covers_suite)
{
    const char *d = suite_dir();
    if (!d)
        FAILF("sigv4-test-suite missing: %s", test_src_path("tests/data/sigv4-test-suite/v4"));
    DIR *dir = opendir(d);
    ASSERT_NOT_NULL(dir);
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        bool known = false;
        for (size_t i = 0; vector_names[i]; i++)
            known = known || strcmp(vector_names[i], de->d_name) == 0;
        if (!known)
            FAILF("vector directory '%s' has no test", de->d_name);
        count++;
    }
    closedir(dir);
    ASSERT_EQ(count, sizeof(vector_names) / sizeof(vector_names[0]) - 1);
}

/* ---- S3 rules and the public API beyond the vectors ---- */

static const struct sigv4_creds s3_doc_creds = {"AKIAIOSFODNN7EXAMPLE",
                                                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL};

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return timegm(&tm);
}

/* The GET Object example of the S3 SigV4 documentation ("Examples: Signature Calculations"). */
TEST(sigv4_R109_s3_documented_get_object)
{
    struct http_headers h;
    http_headers_init(&h);
    http_headers_add(&h, "Range", "bytes=0-9");
    struct sigv4_params p = {
        .region = "us-east-1", .service = "s3", .s3_mode = true, .now = utc(2013, 5, 24, 0, 0, 0)};
    struct err e = ERR_INIT;
    ASSERT_OK(sigv4_sign_headers("GET", "https://examplebucket.s3.amazonaws.com/test.txt", &h, NULL,
                                 0, &s3_doc_creds, &p, &e));
    ASSERT_STREQ(http_headers_get(&h, "host"), "examplebucket.s3.amazonaws.com");
    ASSERT_STREQ(http_headers_get(&h, "x-amz-content-sha256"),
                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ASSERT_STREQ(http_headers_get(&h, "x-amz-date"), "20130524T000000Z");
    ASSERT_STREQ(http_headers_get(&h, "authorization"),
                 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                 "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                 "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    http_headers_done(&h);
}

/* S3 keys are encoded once per segment and never normalised; other services double-encode. */
TEST(sigv4_R109_s3_path_not_normalized_or_double_encoded)
{
    AUTOFREE char *s3 = sigv4_canonical_uri("/bucket/a%20b/../c//d+e", true);
    ASSERT_STREQ(s3, "/bucket/a%20b/../c//d%2Be");
    AUTOFREE char *other = sigv4_canonical_uri("/a%20b/../c//d", false);
    ASSERT_STREQ(other, "/c/d");
    AUTOFREE char *dbl = sigv4_canonical_uri("/a%20b", false);
    ASSERT_STREQ(dbl, "/a%2520b");
}

TEST(sigv4_R109_unsigned_payload_and_body_hash)
{
    struct sigv4_params p = {.region = "us-east-1",
                             .service = "s3",
                             .s3_mode = true,
                             .unsigned_payload = true,
                             .now = utc(2020, 1, 2, 3, 4, 5)};
    struct sigv4_result r;
    struct err e = ERR_INIT;
    ASSERT_OK(sigv4_compute("GET", "https://b.s3.amazonaws.com/k", NULL, NULL, 0, &s3_doc_creds, &p,
                            false, &r, &e));
    ASSERT_STREQ(r.payload_hash, "UNSIGNED-PAYLOAD");
    ASSERT_CONTAINS(r.canonical_request, "x-amz-content-sha256:UNSIGNED-PAYLOAD\n");
    ASSERT_TRUE(str_has_suffix(r.canonical_request, "\nUNSIGNED-PAYLOAD"));
    sigv4_result_done(&r);

    /* The payload hash is that of the exact body bytes, NULs included. */
    static const char body[] = {'{', '}', '\0', 'x'};
    char want[65];
    sha256_hex(body, sizeof(body), want);
    p.unsigned_payload = false;
    p.s3_mode = false;
    p.service = "codedeploy-commands";
    ASSERT_OK(sigv4_compute("POST", "https://h.example/", NULL, body, sizeof(body), &s3_doc_creds,
                            &p, false, &r, &e));
    ASSERT_STREQ(r.payload_hash, want);
    ASSERT_NOT_CONTAINS(r.canonical_request, "x-amz-content-sha256");
    sigv4_result_done(&r);
}

/* a Commands-style POST signs host, content-type, x-amz-date, x-amz-target and the token;
 * the User-Agent is never signed; default ports are left out of Host. */
TEST(sigv4_R050_commands_post_signed_headers)
{
    struct sigv4_creds c = {"AKID", "SECRET", "TOKEN/+="};
    struct http_headers h;
    http_headers_init(&h);
    http_headers_add(&h, "Content-Type", "application/x-amz-json-1.1");
    http_headers_add(&h, "X-Amz-Target", "CodeDeployCommandService_v20141006.PollHostCommand");
    http_headers_add(&h, "User-Agent", "cdagent/0.1.0");
    struct sigv4_params p = {
        .region = "us-west-2", .service = "codedeploy-commands", .now = utc(2026, 12, 1, 8, 0, 0)};
    struct err e = ERR_INIT;
    const char *body = "{\"HostIdentifier\":\"arn:aws:ec2:us-west-2:1:instance/i-1\"}";
    ASSERT_OK(sigv4_sign_headers("POST", "https://codedeploy-commands.us-west-2.amazonaws.com:443/",
                                 &h, body, strlen(body), &c, &p, &e));
    ASSERT_STREQ(http_headers_get(&h, "Host"), "codedeploy-commands.us-west-2.amazonaws.com");
    ASSERT_STREQ(http_headers_get(&h, "X-Amz-Security-Token"), "TOKEN/+=");
    ASSERT_CONTAINS(http_headers_get(&h, "Authorization"),
                    "Credential=AKID/20261201/us-west-2/codedeploy-commands/aws4_request, "
                    "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;"
                    "x-amz-target, Signature=");
    http_headers_done(&h);
}

/* the clock offset moves the signing time. */
TEST(sigv4_R051_clock_offset_applies)
{
    struct sigv4_params p = {
        .region = "r", .service = "s", .now = utc(2026, 12, 1, 8, 0, 0), .clock_offset_sec = -3600};
    struct sigv4_result r;
    struct err e = ERR_INIT;
    ASSERT_OK(sigv4_compute("GET", "http://127.0.0.1:9/", NULL, NULL, 0, &s3_doc_creds, &p, false,
                            &r, &e));
    ASSERT_STREQ(r.amz_date, "20261201T070000Z");
    ASSERT_CONTAINS(r.canonical_request, "host:127.0.0.1:9\n");
    sigv4_result_done(&r);
}

TEST(sigv4_R051_clock_offset_from_date_header)
{
    long off = 0;
    struct err e = ERR_INIT;
    time_t local = utc(2026, 12, 1, 8, 0, 0);
    ASSERT_OK(sigv4_clock_offset("Tue, 01 Dec 2026 08:05:30 GMT", local, &off, &e));
    ASSERT_EQ(off, 330);
    ASSERT_OK(sigv4_clock_offset("Tuesday, 01-Dec-26 07:59:00 GMT", local, &off, &e));
    ASSERT_EQ(off, -60);
    ASSERT_OK(sigv4_clock_offset("Tue Dec  1 09:00:00 2026", local, &off, &e));
    ASSERT_EQ(off, 3600);
    off = 42;
    ASSERT_FAIL(sigv4_clock_offset("yesterday", local, &off, &e));
    ASSERT_EQ(e.code, ERR_PARSE);
    ASSERT_CONTAINS(e.msg, "'yesterday'");
    ASSERT_EQ(off, 42);
    err_clear(&e);
    ASSERT_FAIL(sigv4_clock_offset("Tue, 01 Foo 2026 08:05:30 GMT", local, &off, &e));
    err_clear(&e);
    ASSERT_FAIL(sigv4_clock_offset(NULL, local, &off, &e));
    ASSERT_EQ(e.code, ERR_PARSE);
}

TEST(sigv4_R051_skew_errors)
{
    ASSERT_TRUE(sigv4_is_skew_error("RequestTimeTooSkewed", NULL));
    ASSERT_TRUE(sigv4_is_skew_error("RequestExpired", "x"));
    ASSERT_TRUE(sigv4_is_skew_error("InvalidSignatureException",
                                    "Signature expired: 20261201T070000Z is now earlier than "
                                    "20261201T075000Z"));
    ASSERT_FALSE(sigv4_is_skew_error("InvalidSignatureException", "The request signature we "
                                                                  "calculated does not match"));
    ASSERT_FALSE(sigv4_is_skew_error("AccessDeniedException", "Signature expired"));
    ASSERT_FALSE(sigv4_is_skew_error(NULL, NULL));
}

TEST(sigv4_bad_inputs_are_errors)
{
    struct http_headers h;
    http_headers_init(&h);
    struct sigv4_params p = {.region = "us-east-1", .service = "s3", .now = 1};
    struct sigv4_creds nokey = {"AKID", "", NULL};
    struct err e = ERR_INIT;
    ASSERT_FAIL(sigv4_sign_headers("GET", "https://h/", &h, NULL, 0, &nokey, &p, &e));
    ASSERT_EQ(e.code, ERR_SIGNATURE);
    ASSERT_CONTAINS(e.msg, "no access key");
    err_clear(&e);
    ASSERT_FAIL(sigv4_sign_headers("GET", "/no-host", &h, NULL, 0, &s3_doc_creds, &p, &e));
    ASSERT_CONTAINS(e.msg, "no Host header");
    err_clear(&e);
    ASSERT_FAIL(sigv4_sign_headers("GET", "ftp://x/", &h, NULL, 0, &s3_doc_creds, &p, &e));
    ASSERT_CONTAINS(e.msg, "'ftp://x/'");
    err_clear(&e);
    p.region = NULL;
    ASSERT_FAIL(sigv4_sign_headers("GET", "https://h/", &h, NULL, 0, &s3_doc_creds, &p, &e));
    ASSERT_CONTAINS(e.msg, "no region");
    ASSERT_EQ(h.n, 0);
    http_headers_done(&h);
}

TEST(sigv4_presign_s3_with_token_after_query)
{
    struct sigv4_creds c = {"AKID", "SECRET", "T"};
    struct sigv4_params p = {.region = "us-east-1",
                             .service = "s3",
                             .s3_mode = true,
                             .unsigned_payload = true,
                             .now = utc(2026, 1, 1, 0, 0, 0),
                             .expires_sec = 60};
    AUTOFREE char *q = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(sigv4_presign_query("GET", "https://b.s3.amazonaws.com/k?versionId=v1", NULL, NULL, 0,
                                  &c, &p, &q, &e));
    ASSERT_CONTAINS(q, "X-Amz-Expires=60&");
    ASSERT_CONTAINS(q, "X-Amz-Security-Token=T&");
    ASSERT_CONTAINS(q, "X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request");
    ASSERT_NOT_CONTAINS(q, "versionId");
    ASSERT_TRUE(strstr(q, "&X-Amz-Signature=") != NULL);
}
