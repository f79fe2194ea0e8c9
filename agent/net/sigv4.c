/* sigv4: see sigv4.h and sigv4-internal.h. */
#include "net/sigv4-internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "net/headers.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/util.h"

/* Headers never signed: they are added or rewritten by the transport or by proxies. */
static const char *const unsigned_headers[] = {
    "authorization", "user-agent",        "expect", "x-amzn-trace-id",
    "connection",    "transfer-encoding", NULL,
};

/* One (name, value) pair; name lower-cased for headers, raw for query parameters. */
struct kv {
    char *name;  /* owned */
    char *value; /* owned */
};

struct kv_list {
    struct kv *items; /* owned */
    size_t n;
    size_t cap;
};

static void kv_add(struct kv_list *l, char *name, char *value)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
    }
    l->items[l->n].name = name;
    l->items[l->n].value = value;
    l->n++;
}

static void kv_done(struct kv_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].name);
        secret_free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

static int kv_cmp(const void *a, const void *b)
{
    const struct kv *x = a;
    const struct kv *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static bool is_unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

/* Append the RFC 3986 encoding of n bytes of s; keep_slash leaves '/' alone. */
static void encode_into(struct buf *b, const char *s, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            (void)buf_append(b, &s[i], 1, NULL);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            (void)buf_append(b, e, 3, NULL);
        }
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode n bytes of s ('%' not followed by two hex digits stays literal). */
static char *decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

static char *encode(const char *s, bool keep_slash)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    (void)buf_append(&b, "", 0, NULL);
    encode_into(&b, s, strlen(s), keep_slash);
    return buf_steal(&b);
}

/* Remove "." and ".." segments and empty segments; keep a trailing '/'. */
static char *normalize_path(const char *path)
{
    size_t len = strlen(path);
    /* Kept segments as (offset, length) pairs into path; at most len/2 + 1 of them. */
    size_t *off = xcalloc(len + 1, sizeof(size_t));
    size_t *slen = xcalloc(len + 1, sizeof(size_t));
    size_t nseg = 0;
    for (size_t i = 0; i < len;) {
        size_t n = strcspn(path + i, "/");
        if (n == 0) {
            i++;
            continue;
        }
        if (n == 1 && path[i] == '.') {
            /* "." adds nothing */
        } else if (n == 2 && path[i] == '.' && path[i + 1] == '.') {
            if (nseg > 0)
                nseg--;
        } else {
            off[nseg] = i;
            slen[nseg] = n;
            nseg++;
        }
        i += n;
    }
    struct buf b;
    buf_init(&b, SIZE_MAX);
    (void)buf_append(&b, "/", 1, NULL);
    for (size_t i = 0; i < nseg; i++) {
        (void)buf_append(&b, path + off[i], slen[i], NULL);
        if (i + 1 < nseg)
            (void)buf_append(&b, "/", 1, NULL);
    }
    if (nseg > 0 && len > 0 && path[len - 1] == '/')
        (void)buf_append(&b, "/", 1, NULL);
    free(off);
    free(slen);
    return buf_steal(&b);
}

char *sigv4_canonical_uri(const char *path, bool s3_mode)
{
    if (!path || !*path)
        return xstrdup("/");
    if (s3_mode) {
        AUTOFREE char *raw = decode(path, strlen(path));
        return encode(raw, true);
    }
    AUTOFREE char *norm = normalize_path(path);
    return encode(norm, true);
}

/* Split a raw query into decoded (name, value) pairs appended to l. */
static void query_split(const char *q, struct kv_list *l)
{
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        if (n > 0) {
            const char *eq = memchr(q, '=', n);
            size_t nn = eq ? (size_t)(eq - q) : n;
            char *name = decode(q, nn);
            char *value = eq ? decode(eq + 1, n - nn - 1) : xstrdup("");
            kv_add(l, name, value);
        }
        q = amp ? amp + 1 : NULL;
    }
}

char *sigv4_canonical_query(const char *query, const char *extra)
{
    struct kv_list raw = {0};
    struct kv_list enc = {0};
    query_split(query, &raw);
    query_split(extra, &raw);
    for (size_t i = 0; i < raw.n; i++)
        kv_add(&enc, encode(raw.items[i].name, false), encode(raw.items[i].value, false));
    if (enc.n > 1)
        qsort(enc.items, enc.n, sizeof(*enc.items), kv_cmp);
    struct buf b;
    buf_init(&b, SIZE_MAX);
    (void)buf_append(&b, "", 0, NULL);
    for (size_t i = 0; i < enc.n; i++)
        (void)buf_appendf(&b, NULL, "%s%s=%s", i ? "&" : "", enc.items[i].name, enc.items[i].value);
    kv_done(&raw);
    kv_done(&enc);
    return buf_steal(&b);
}

char *sigv4_canonical_header_value(const char *value)
{
    size_t n = strlen(value);
    char *out = xmalloc(n + 1);
    size_t o = 0;
    bool pending_space = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            pending_space = o > 0;
            continue;
        }
        if (pending_space)
            out[o++] = ' ';
        pending_space = false;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

static void hmac(const void *key, size_t key_len, const char *msg, unsigned char out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out, &len);
}

void sigv4_signing_key(const char *secret, const char *date8, const char *region,
                       const char *service, unsigned char out[32])
{
    size_t slen = strlen(secret) + 5;
    char *k = xmalloc(slen);
    snprintf(k, slen, "AWS4%s", secret);
    unsigned char a[32];
    unsigned char b[32];
    hmac(k, slen - 1, date8, a);
    hmac(a, 32, region, b);
    hmac(b, 32, service, a);
    hmac(a, 32, "aws4_request", out);
    explicit_bzero(a, sizeof(a));
    explicit_bzero(b, sizeof(b));
    freezero(k, slen);
}

void sigv4_result_done(struct sigv4_result *r)
{
    if (!r)
        return;
    free(r->scope);
    free(r->signed_headers);
    free(r->payload_hash);
    secret_free(r->canonical_request); /* holds the session token */
    free(r->string_to_sign);
    free(r->authorization);
    secret_free(r->query);
    memset(r, 0, sizeof(*r));
}

/* The parts of a URL or wire path that signing needs. */
struct target {
    char *host;  /* owned; NULL when url was a bare path */
    char *path;  /* owned */
    char *query; /* owned; without '?', "" when none */
};

static void target_done(struct target *t)
{
    free(t->host);
    free(t->path);
    free(t->query);
}

static int parse_target(const char *url, struct target *t, struct err *err)
{
    memset(t, 0, sizeof(*t));
    const char *p = url;
    const char *default_port = NULL;
    if (str_has_prefix(url, "https://")) {
        p = url + 8;
        default_port = ":443";
    } else if (str_has_prefix(url, "http://")) {
        p = url + 7;
        default_port = ":80";
    }
    if (default_port) {
        size_t hl = strcspn(p, "/?#");
        if (hl == 0)
            return err_set(err, ERR_SIGNATURE, "sign request for '%s': URL has no host", url);
        t->host = xstrndup(p, hl);
        /* SDKs and curl leave a default port out of Host; sign what is sent. */
        if (str_has_suffix(t->host, default_port))
            t->host[hl - strlen(default_port)] = '\0';
        p += hl;
    } else if (*p != '/') {
        return err_set(err, ERR_SIGNATURE, "sign request for '%s': not a URL or absolute path",
                       url);
    }
    size_t pl = strcspn(p, "?#");
    t->path = pl ? xstrndup(p, pl) : xstrdup("/");
    p += pl;
    if (*p == '?') {
        p++;
        t->query = xstrndup(p, strcspn(p, "#"));
    } else {
        t->query = xstrdup("");
    }
    return 0;
}

static bool header_skipped(const char *lname)
{
    for (size_t i = 0; unsigned_headers[i]; i++)
        if (strcmp(lname, unsigned_headers[i]) == 0)
            return true;
    return false;
}

static char *lower(const char *s)
{
    char *l = xstrdup(s);
    for (char *p = l; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return l;
}

/* Gather the headers to sign, sorted by lower-case name with duplicates merged by ','. */
static void collect_headers(const struct http_headers *h, const char *host, struct kv_list *extra,
                            struct kv_list *out)
{
    struct kv_list all = {0};
    if (h) {
        for (size_t i = 0; i < h->n; i++) {
            char *ln = lower(h->items[i].name);
            if (header_skipped(ln)) {
                free(ln);
                continue;
            }
            kv_add(&all, ln, sigv4_canonical_header_value(h->items[i].value));
        }
    }
    if (host && !http_headers_get(h, "host"))
        kv_add(&all, xstrdup("host"), xstrdup(host));
    for (size_t i = 0; i < extra->n; i++)
        kv_add(&all, lower(extra->items[i].name),
               sigv4_canonical_header_value(extra->items[i].value));
    /* Stable merge: for each distinct name in sorted order, join values in request order. */
    bool *used = xcalloc(all.n + 1, sizeof(bool));
    for (;;) {
        ssize_t min = -1;
        for (size_t i = 0; i < all.n; i++)
            if (!used[i] && (min < 0 || strcmp(all.items[i].name, all.items[min].name) < 0))
                min = (ssize_t)i;
        if (min < 0)
            break;
        struct buf v;
        buf_init(&v, SIZE_MAX);
        (void)buf_append(&v, "", 0, NULL);
        bool first = true;
        for (size_t i = (size_t)min; i < all.n; i++) {
            if (used[i] || strcmp(all.items[i].name, all.items[min].name) != 0)
                continue;
            (void)buf_appendf(&v, NULL, "%s%s", first ? "" : ",", all.items[i].value);
            used[i] = true;
            first = false;
        }
        kv_add(out, xstrdup(all.items[min].name), buf_steal(&v));
    }
    free(used);
    kv_done(&all);
}

static int check_inputs(const char *method, const struct sigv4_creds *c,
                        const struct sigv4_params *p, struct err *err)
{
    if (!method || !*method)
        return err_set(err, ERR_SIGNATURE, "sign request: no HTTP method");
    if (!c || !c->access_key_id || !*c->access_key_id || !c->secret_access_key ||
        !*c->secret_access_key)
        return err_set(err, ERR_SIGNATURE, "sign request: no access key");
    if (!p || !p->region || !*p->region)
        return err_set(err, ERR_SIGNATURE, "sign request: no region");
    if (!p->service || !*p->service)
        return err_set(err, ERR_SIGNATURE, "sign request: no service name");
    return 0;
}

static int format_date(const struct sigv4_params *p, char out[17], struct err *err)
{
    time_t t = (p->now ? p->now : time(NULL)) + (time_t)p->clock_offset_sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        return err_set(err, ERR_SIGNATURE, "sign request: cannot format time %lld", (long long)t);
    return 0;
}

static bool has_token(const struct sigv4_creds *c)
{
    return c->session_token && *c->session_token;
}

/* X-Amz-* parameters of a presigned URL, raw (not encoded). */
static void presign_params(const struct sigv4_creds *c, const struct sigv4_params *p,
                           const struct sigv4_result *r, bool with_token, struct kv_list *out)
{
    long exp = p->expires_sec > 0 ? p->expires_sec : SIGV4_DEFAULT_EXPIRES_SEC;
    kv_add(out, xstrdup("X-Amz-Algorithm"), xstrdup(SIGV4_ALGORITHM));
    kv_add(out, xstrdup("X-Amz-Credential"), xasprintf("%s/%s", c->access_key_id, r->scope));
    kv_add(out, xstrdup("X-Amz-Date"), xstrdup(r->amz_date));
    kv_add(out, xstrdup("X-Amz-SignedHeaders"), xstrdup(r->signed_headers));
    kv_add(out, xstrdup("X-Amz-Expires"), xasprintf("%ld", exp));
    if (with_token)
        kv_add(out, xstrdup("X-Amz-Security-Token"), xstrdup(c->session_token));
}

static char *kv_join_encoded(const struct kv_list *l)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    (void)buf_append(&b, "", 0, NULL);
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            (void)buf_append(&b, "&", 1, NULL);
        encode_into(&b, l->items[i].name, strlen(l->items[i].name), false);
        (void)buf_append(&b, "=", 1, NULL);
        encode_into(&b, l->items[i].value, strlen(l->items[i].value), false);
    }
    return buf_steal(&b);
}

static char *join_signed_names(const struct kv_list *hdrs)
{
    struct buf b;
    buf_init(&b, SIZE_MAX);
    (void)buf_append(&b, "", 0, NULL);
    for (size_t i = 0; i < hdrs->n; i++)
        (void)buf_appendf(&b, NULL, "%s%s", i ? ";" : "", hdrs->items[i].name);
    return buf_steal(&b);
}

static char *build_canonical(const char *method, const struct target *t, bool s3_mode,
                             const char *extra_query, const struct kv_list *hdrs,
                             const char *signed_names, const char *payload_hash)
{
    AUTOFREE char *uri = sigv4_canonical_uri(t->path, s3_mode);
    AUTOFREE char *query = sigv4_canonical_query(t->query, extra_query);
    struct buf b;
    buf_init(&b, SIZE_MAX);
    (void)buf_appendf(&b, NULL, "%s\n%s\n%s\n", method, uri, query);
    for (size_t i = 0; i < hdrs->n; i++)
        (void)buf_appendf(&b, NULL, "%s:%s\n", hdrs->items[i].name, hdrs->items[i].value);
    (void)buf_appendf(&b, NULL, "\n%s\n%s", signed_names, payload_hash);
    return buf_steal(&b);
}

static void finish_signature(const struct sigv4_creds *c, const struct sigv4_params *p,
                             struct sigv4_result *r)
{
    char crhash[65];
    sha256_hex(r->canonical_request, strlen(r->canonical_request), crhash);
    r->string_to_sign = xasprintf("%s\n%s\n%s\n%s", SIGV4_ALGORITHM, r->amz_date, r->scope, crhash);
    char date8[9];
    memcpy(date8, r->amz_date, 8);
    date8[8] = '\0';
    unsigned char key[32];
    unsigned char sig[32];
    sigv4_signing_key(c->secret_access_key, date8, p->region, p->service, key);
    hmac(key, sizeof(key), r->string_to_sign, sig);
    hex_encode(sig, sizeof(sig), r->signature);
    explicit_bzero(key, sizeof(key));
}

/* Validate the inputs and fill the request-independent parts of r: date, scope, payload hash. */
static int begin(const char *method, const char *url, const struct http_headers *headers,
                 const void *body, size_t body_len, const struct sigv4_creds *creds,
                 const struct sigv4_params *params, struct target *t, struct sigv4_result *r,
                 struct err *err)
{
    if (check_inputs(method, creds, params, err) < 0)
        return -1;
    if (!url || !*url)
        return err_set(err, ERR_SIGNATURE, "sign request: no URL");
    if (parse_target(url, t, err) < 0)
        return -1;
    if (!t->host && !http_headers_get(headers, "host"))
        return err_set(err, ERR_SIGNATURE, "sign request for '%s': no Host header", url);
    if (format_date(params, r->amz_date, err) < 0)
        return -1;
    r->scope = xasprintf("%.8s/%s/%s/aws4_request", r->amz_date, params->region, params->service);
    if (params->unsigned_payload) {
        r->payload_hash = xstrdup(SIGV4_UNSIGNED_PAYLOAD);
    } else {
        r->payload_hash = xmalloc(65);
        sha256_hex(body ? body : "", body ? body_len : 0, r->payload_hash);
    }
    return 0;
}

/* Header mode: the headers signing adds, which are signed too. */
static void added_headers(const struct sigv4_creds *creds, const struct sigv4_params *params,
                          const struct sigv4_result *r, bool token_signed, struct kv_list *out)
{
    kv_add(out, xstrdup("x-amz-date"), xstrdup(r->amz_date));
    if (token_signed)
        kv_add(out, xstrdup("x-amz-security-token"), xstrdup(creds->session_token));
    if (params->s3_mode || params->sign_body_header)
        kv_add(out, xstrdup("x-amz-content-sha256"), xstrdup(r->payload_hash));
}

int sigv4_compute(const char *method, const char *url, const struct http_headers *headers,
                  const void *body, size_t body_len, const struct sigv4_creds *creds,
                  const struct sigv4_params *params, bool presign, struct sigv4_result *ret,
                  struct err *err)
{
    struct target t = {0};
    struct sigv4_result r = {0};
    if (begin(method, url, headers, body, body_len, creds, params, &t, &r, err) < 0) {
        target_done(&t);
        sigv4_result_done(&r);
        return -1;
    }
    bool token_signed = has_token(creds) && !params->omit_session_token;
    struct kv_list extra = {0};
    if (!presign)
        added_headers(creds, params, &r, token_signed, &extra);
    struct kv_list hdrs = {0};
    collect_headers(headers, t.host, &extra, &hdrs);
    kv_done(&extra);
    r.signed_headers = join_signed_names(&hdrs);

    AUTOFREE char *extra_query = NULL;
    struct kv_list qp = {0};
    if (presign) {
        presign_params(creds, params, &r, token_signed, &qp);
        extra_query = kv_join_encoded(&qp);
    }
    r.canonical_request = build_canonical(method, &t, params->s3_mode || params->raw_path,
                                          extra_query, &hdrs, r.signed_headers, r.payload_hash);
    kv_done(&hdrs);
    finish_signature(creds, params, &r);
    if (presign) {
        if (has_token(creds) && !token_signed)
            kv_add(&qp, xstrdup("X-Amz-Security-Token"), xstrdup(creds->session_token));
        kv_add(&qp, xstrdup("X-Amz-Signature"), xstrdup(r.signature));
        r.query = kv_join_encoded(&qp);
    } else {
        r.authorization =
            xasprintf("%s Credential=%s/%s, SignedHeaders=%s, Signature=%s", SIGV4_ALGORITHM,
                      creds->access_key_id, r.scope, r.signed_headers, r.signature);
    }
    kv_done(&qp);
    target_done(&t);
    *ret = r;
    return 0;
}

int sigv4_sign_headers(const char *method, const char *url, struct http_headers *headers,
                       const void *body, size_t body_len, const struct sigv4_creds *creds,
                       const struct sigv4_params *params, struct err *err)
{
    struct sigv4_result r = {0};
    if (sigv4_compute(method, url, headers, body, body_len, creds, params, false, &r, err) < 0)
        return -1;
    if (!http_headers_get(headers, "host")) {
        struct target t;
        if (parse_target(url, &t, NULL) == 0 && t.host)
            http_headers_add(headers, "Host", t.host);
        target_done(&t);
    }
    http_headers_add(headers, "X-Amz-Date", r.amz_date);
    if (has_token(creds))
        http_headers_add(headers, "X-Amz-Security-Token", creds->session_token);
    if (params->s3_mode || params->sign_body_header)
        http_headers_add(headers, "x-amz-content-sha256", r.payload_hash);
    http_headers_add(headers, "Authorization", r.authorization);
    sigv4_result_done(&r);
    return 0;
}

int sigv4_presign_query(const char *method, const char *url, const struct http_headers *headers,
                        const void *body, size_t body_len, const struct sigv4_creds *creds,
                        const struct sigv4_params *params, char **ret_query, struct err *err)
{
    struct sigv4_result r = {0};
    if (sigv4_compute(method, url, headers, body, body_len, creds, params, true, &r, err) < 0)
        return -1;
    *ret_query = TAKE_PTR(r.query);
    sigv4_result_done(&r);
    return 0;
}

bool sigv4_is_skew_error(const char *code, const char *message)
{
    if (str_eq(code, "RequestTimeTooSkewed") || str_eq(code, "RequestExpired"))
        return true;
    if (str_eq(code, "InvalidSignatureException") && message)
        return strstr(message, "Signature expired") || strstr(message, "is now earlier than");
    return false;
}

static int month_index(const char *m)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; i++)
        if (strncmp(m, months[i], 3) == 0)
            return i;
    return -1;
}

/* Parse the three date forms of RFC 9110 §5.6.7 into tm (UTC). */
static bool parse_http_date(const char *s, struct tm *tm)
{
    char wday[16];
    char mon[4];
    int d = 0;
    int y = 0;
    int hh = 0;
    int mm = 0;
    int ss = 0;
    int used = 0;
    memset(tm, 0, sizeof(*tm));
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    if (sscanf(s, "%15[A-Za-z], %2d %3s %4d %2d:%2d:%2d GMT%n", wday, &d, mon, &y, &hh, &mm, &ss,
               &used) == 7 &&
        used > 0) {
        /* accepted */
    } else if (sscanf(s, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d GMT%n", wday, &d, mon, &y, &hh, &mm,
                      &ss, &used) == 7 &&
               used > 0) {
        /* RFC 850 two-digit year: the 1900s/2000s split of RFC 9110. */
        y += y < 70 ? 2000 : 1900;
    } else if (sscanf(s, "%15[A-Za-z] %3s %2d %2d:%2d:%2d %4d%n", wday, mon, &d, &hh, &mm, &ss, &y,
                      &used) == 7 &&
               used > 0) {
        /* asctime */
    } else {
        return false;
    }
    if (s[used] != '\0')
        return false;
    int m = month_index(mon);
    if (m < 0 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 || y < 1970)
        return false;
    tm->tm_year = y - 1900;
    tm->tm_mon = m;
    tm->tm_mday = d;
    tm->tm_hour = hh;
    tm->tm_min = mm;
    tm->tm_sec = ss;
    return true;
}

int sigv4_clock_offset(const char *date, time_t local_now, long *ret_offset_sec, struct err *err)
{
    struct tm tm;
    if (!date)
        return err_set(err, ERR_PARSE, "compute clock offset: response has no Date header");
    if (!parse_http_date(date, &tm))
        return err_set(err, ERR_PARSE, "compute clock offset: bad Date header '%s'", date);
    time_t server = timegm(&tm);
    if (server == (time_t)-1)
        return err_set(err, ERR_PARSE, "compute clock offset: bad Date header '%s'", date);
    *ret_offset_sec = (long)(server - local_now);
    return 0;
}
