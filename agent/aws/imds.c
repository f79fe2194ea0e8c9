/* imds: see imds.h. */
#include "aws/imds.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"
#include "base/stop.h"
#include "base/util.h"

#define TOKEN_PATH "/latest/api/token"
#define TOKEN_HEADER "X-aws-ec2-metadata-token"
#define TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds"
#define TOKEN_FAIL_MSG "HTTP error from metadata service to get imdsv2 token."
#define FALLBACK_MSG "IMDSv2 http request failed, falling back to IMDSv1."
#define ROLE_LIST_PATH "/latest/meta-data/iam/security-credentials/"

struct imds {
    pthread_mutex_t lock;
    struct http_client *http; /* owned */
    char *base;               /* owned, no trailing '/' */
    bool disable_v1;
    long timeout_ms;
    int attempts;
    long ttl_s;
    imds_sleep_fn sleep;
    void *sleep_arg;
    const struct stop *stop; /* borrowed */
    char *token;             /* owned secret; NULL when none cached */
    uint64_t token_renew_ms; /* monotonic time after which the token is renewed */
    uint64_t nreq;
};

/* How a GET should be made: timeouts and attempts differ for credentials and the probe. */
struct req_plan {
    struct http_client *http; /* borrowed */
    long timeout_ms;
    int attempts;
};

static char *strip_dup(const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s))
        s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return xstrndup(s, n);
}

static struct http_client *make_client(const struct imds *m, long connect_ms, long read_ms,
                                       struct err *err)
{
    struct http_client_opts ho = {
        .connect_timeout_ms = connect_ms,
        .read_timeout_ms = read_ms,
        .stop = m->stop,
    };
    return http_client_new(&ho, err);
}

struct imds *imds_new(const struct imds_opts *opts, struct err *err)
{
    struct imds_opts none = {0};
    if (!opts)
        opts = &none;
    const char *base = opts->endpoint;
    if (!base || !*base)
        base = getenv(IMDS_ENDPOINT_ENV);
    if (!base || !*base)
        base = IMDS_DEFAULT_ENDPOINT;
    if (!str_has_prefix(base, "http://") && !str_has_prefix(base, "https://")) {
        err_set(err, ERR_UNSAFE, "IMDS endpoint '%s': not an http:// or https:// URL", base);
        return NULL;
    }
    struct imds *m = xcalloc(1, sizeof(*m));
    pthread_mutex_init(&m->lock, NULL);
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    m->base = xstrndup(base, n);
    m->disable_v1 = opts->disable_v1;
    m->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : IMDS_TIMEOUT_MS;
    m->attempts = opts->attempts > 0 ? opts->attempts : IMDS_ATTEMPTS;
    m->ttl_s = opts->token_ttl_s > 0 ? opts->token_ttl_s : IMDS_TOKEN_TTL_S;
    if (m->ttl_s > IMDS_TOKEN_TTL_S)
        m->ttl_s = IMDS_TOKEN_TTL_S;
    m->sleep = opts->sleep;
    m->sleep_arg = opts->sleep_arg;
    m->stop = opts->stop;
    m->http = make_client(m, m->timeout_ms, m->timeout_ms, err);
    if (!m->http) {
        err_prefix(err, "IMDS client");
        imds_free(m);
        return NULL;
    }
    return m;
}

void imds_free(struct imds *m)
{
    if (!m)
        return;
    http_client_free(m->http);
    secret_free(m->token);
    free(m->base);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

uint64_t imds_request_count(const struct imds *m)
{
    return __atomic_load_n(&m->nreq, __ATOMIC_RELAXED);
}

static bool stopped(const struct imds *m)
{
    return stop_requested(m->stop);
}

/*
 * One request with the retry rule of R-031: transport errors and 5xx are retried (sleeping 1 s,
 * 2 s, ...), anything else is final.  Returns 0 with *ret_status and *ret_body (owned, raw) when a
 * response came, -1 with err after the last transport failure.
 */
static int send_retrying(struct imds *m, const struct req_plan *plan, const char *method,
                         const char *path, const char *token, long *ret_status, char **ret_body,
                         struct err *err)
{
    AUTOFREE char *url = xasprintf("%s%s", m->base, path);
    char ttl[32];
    (void)snprintf(ttl, sizeof(ttl), "%ld", m->ttl_s);
    struct http_headers hdrs;
    http_headers_init(&hdrs);
    if (str_eq(method, "PUT"))
        http_headers_add(&hdrs, TTL_HEADER, ttl);
    if (token)
        http_headers_add(&hdrs, TOKEN_HEADER, token);
    struct http_request req = {
        .method = method,
        .url = url,
        .headers = &hdrs,
        .max_response = IMDS_MAX_BODY,
        .out_fd = -1,
        .timeout_ms = plan->timeout_ms,
        .no_proxy = true,
    };
    int rc = -1;
    int attempts = plan->attempts > 0 ? plan->attempts : 1;
    for (int attempt = 1; attempt <= attempts; attempt++) {
        struct err e = ERR_INIT;
        struct http_response resp;
        __atomic_add_fetch(&m->nreq, 1, __ATOMIC_RELAXED);
        int r = http_request(plan->http, &req, &resp, &e);
        bool retry;
        if (r == 0) {
            retry = resp.status >= 500 && attempt < attempts;
            if (!retry) {
                *ret_status = resp.status;
                *ret_body = xstrndup(resp.body.data ? resp.body.data : "", resp.body.len);
                http_response_done(&resp);
                rc = 0;
                break;
            }
        } else {
            retry = e.code != ERR_CANCELLED && attempt < attempts;
            if (!retry) {
                err_set(err, e.code, "IMDS %s '%s': %s", method, path, e.msg);
                http_response_done(&resp);
                break;
            }
        }
        http_response_done(&resp);
        if (m->sleep)
            m->sleep(m->sleep_arg, (uint64_t)attempt * 1000);
        else
            (void)stop_wait_ms(m->stop, (uint64_t)attempt * 1000);
        if (stopped(m)) {
            err_set(err, ERR_CANCELLED, "IMDS %s '%s': cancelled", method, path);
            break;
        }
    }
    http_headers_done(&hdrs);
    return rc;
}

/* Make sure m->token is usable (fetching one when needed or forced).  Lock held. */
static int ensure_token(struct imds *m, const struct req_plan *plan, bool force, struct err *err)
{
    if (m->token && !force && now_ms() < m->token_renew_ms)
        return 0;
    secret_free(m->token);
    m->token = NULL;
    long status = 0;
    AUTOFREE char *body = NULL;
    struct err e = ERR_INIT;
    if (send_retrying(m, plan, "PUT", TOKEN_PATH, NULL, &status, &body, &e) < 0) {
        if (e.code == ERR_CANCELLED)
            return err_set(err, ERR_CANCELLED, "%s", e.msg);
        return err_set(err, ERR_AUTH, TOKEN_FAIL_MSG " (%s)", e.msg);
    }
    /* send_retrying() always sets body on success. */
    char *tok = strip_dup(body, strlen(body));
    explicit_bzero(body, strlen(body));
    if (status != 200 || !*tok) {
        secret_free(tok);
        return err_set(err, ERR_AUTH, TOKEN_FAIL_MSG " (PUT %s: HTTP %ld)", TOKEN_PATH, status);
    }
    log_add_secret(tok);
    m->token = tok;
    /* Renew ahead of the TTL (R-032 SHOULD): 5 minutes early, or a tenth of a short TTL. */
    long margin_s = m->ttl_s / 10 < 300 ? m->ttl_s / 10 : 300;
    m->token_renew_ms = now_ms() + (uint64_t)(m->ttl_s - margin_s) * 1000;
    return 0;
}

/* Decide whether to go on without a token after ensure_token() failed.  Lock held. */
static int token_failed(struct imds *m, struct err *tok_err, struct err *err)
{
    if (tok_err->code == ERR_CANCELLED || m->disable_v1) {
        if (m->disable_v1 && tok_err->code != ERR_CANCELLED)
            return err_set(err, ERR_AUTH, TOKEN_FAIL_MSG);
        return err_set(err, tok_err->code, "%s", tok_err->msg);
    }
    /* the one WARN line this module writes; the spec requires its exact text. */
    log_warn(FALLBACK_MSG);
    log_debug("IMDS token: %s", tok_err->msg);
    return 0;
}

static int get_locked(struct imds *m, const struct req_plan *plan, const char *path, char **ret,
                      struct err *err)
{
    struct err te = ERR_INIT;
    bool have_token = ensure_token(m, plan, false, &te) == 0;
    if (!have_token && token_failed(m, &te, err) < 0)
        return -1;
    long status = 0;
    AUTOFREE char *body = NULL;
    if (send_retrying(m, plan, "GET", path, have_token ? m->token : NULL, &status, &body, err) < 0)
        return -1;
    if (status == 401 && have_token) {
        /* the token expired or was revoked: one new token, one more GET. */
        free(body);
        body = NULL;
        err_clear(&te);
        have_token = ensure_token(m, plan, true, &te) == 0;
        if (!have_token && token_failed(m, &te, err) < 0)
            return -1;
        if (send_retrying(m, plan, "GET", path, have_token ? m->token : NULL, &status, &body, err) <
            0)
            return -1;
    }
    if (status == 200) {
        *ret = strip_dup(body, strlen(body));
        return 0;
    }
    if (status == 404)
        return err_set(err, ERR_NOT_FOUND, "IMDS GET '%s': HTTP 404 Not Found", path);
    if (status == 401)
        return err_set(err, ERR_AUTH, "IMDS GET '%s': HTTP 401 Unauthorized", path);
    return err_set(err, ERR_HTTP, "IMDS GET '%s': HTTP %ld", path, status);
}

static int get_plan(struct imds *m, const struct req_plan *plan, const char *path, char **ret,
                    struct err *err)
{
    pthread_mutex_lock(&m->lock);
    int r = get_locked(m, plan, path, ret, err);
    pthread_mutex_unlock(&m->lock);
    return r;
}

int imds_get(struct imds *m, const char *path, char **ret, struct err *err)
{
    struct req_plan plan = {m->http, m->timeout_ms, m->attempts};
    return get_plan(m, &plan, path, ret, err);
}

int imds_probe(struct imds *m, struct err *err)
{
    long to = IMDS_PROBE_CONNECT_MS < m->timeout_ms ? IMDS_PROBE_CONNECT_MS : m->timeout_ms;
    struct http_client *c = make_client(m, to, to, err);
    if (!c) {
        err_prefix(err, "IMDS probe");
        return -1;
    }
    struct req_plan plan = {c, to, 1};
    AUTOFREE char *body = NULL;
    int r = get_plan(m, &plan, "/latest/meta-data", &body, err);
    http_client_free(c);
    if (r < 0)
        err_prefix(err, "IMDS probe");
    return r;
}

/* ---- documents ---- */

/* Member `name` of o as a string stripped of blanks, or NULL when absent, not a string or blank. */
static char *member_stripped(const struct json *o, const char *name)
{
    const char *v = json_member_str(o, name);
    if (!v)
        return NULL;
    char *s = strip_dup(v, strlen(v));
    if (!*s) {
        free(s);
        return NULL;
    }
    return s;
}

/* A document as IMDS sent it (NULL reads as empty, so fails as "not a JSON object"). */
static struct json *parse_doc(const char *json)
{
    return json ? json_parse(json, strlen(json), NULL, NULL) : NULL;
}

void imds_identity_done(struct imds_identity *id)
{
    if (!id)
        return;
    free(id->region);
    free(id->account_id);
    free(id->instance_id);
    id->region = id->account_id = id->instance_id = NULL;
}

int imds_parse_identity(const char *json, struct imds_identity *ret, struct err *err)
{
    AUTOJSON struct json *doc = parse_doc(json);
    if (json_type(doc) != JSON_OBJECT)
        return err_set(err, ERR_PARSE, "IMDS identity document: not a JSON object");
    struct imds_identity id = {
        .region = member_stripped(doc, "region"),
        .account_id = member_stripped(doc, "accountId"),
        .instance_id = member_stripped(doc, "instanceId"),
    };
    const char *missing = !id.region        ? "region"
                          : !id.account_id  ? "accountId"
                          : !id.instance_id ? "instanceId"
                                            : NULL;
    if (missing) {
        imds_identity_done(&id);
        return err_set(err, ERR_PARSE, "IMDS identity document: no '%s'", missing);
    }
    *ret = id;
    return 0;
}

int imds_identity(struct imds *m, struct imds_identity *ret, struct err *err)
{
    AUTOFREE char *body = NULL;
    if (imds_get(m, "/latest/dynamic/instance-identity/document", &body, err) < 0)
        return -1;
    return imds_parse_identity(body, ret, err);
}

static int get_nonempty(struct imds *m, const char *path, const char *what, char **ret,
                        struct err *err)
{
    char *s = NULL;
    if (imds_get(m, path, &s, err) < 0)
        return -1;
    if (!s || !*s) {
        free(s);
        return err_set(err, ERR_PARSE, "IMDS %s: empty answer from '%s'", what, path);
    }
    *ret = s;
    return 0;
}

int imds_partition(struct imds *m, char **ret, struct err *err)
{
    return get_nonempty(m, "/latest/meta-data/services/partition", "partition", ret, err);
}

int imds_domain(struct imds *m, char **ret, struct err *err)
{
    return get_nonempty(m, "/latest/meta-data/services/domain", "domain", ret, err);
}

char *imds_build_arn(const char *partition, const char *region, const char *account,
                     const char *instance_id, struct err *err)
{
    const char *names[] = {"partition", "region", "accountId", "instanceId"};
    const char *vals[] = {partition, region, account, instance_id};
    for (size_t i = 0; i < 4; i++) {
        if (!vals[i] || !*vals[i] || strpbrk(vals[i], ": \t\r\n/")) {
            err_set(err, ERR_PARSE, "build EC2 host identifier: %s '%s' is %s", names[i],
                    vals[i] ? vals[i] : "", vals[i] && *vals[i] ? "malformed" : "missing");
            return NULL;
        }
    }
    return xasprintf("arn:%s:ec2:%s:%s:instance/%s", partition, region, account, instance_id);
}

int imds_host_identifier(struct imds *m, char **ret, struct err *err)
{
    AUTOFREE char *partition = NULL;
    if (imds_partition(m, &partition, err) < 0) {
        err_prefix(err, "build EC2 host identifier");
        return -1;
    }
    struct imds_identity id = {0};
    if (imds_identity(m, &id, err) < 0) {
        err_prefix(err, "build EC2 host identifier");
        return -1;
    }
    char *arn = imds_build_arn(partition, id.region, id.account_id, id.instance_id, err);
    imds_identity_done(&id);
    if (!arn)
        return -1;
    *ret = arn;
    return 0;
}

void imds_host_done(struct imds_host *h)
{
    if (!h)
        return;
    free(h->region);
    free(h->host_id);
    free(h->domain);
    memset(h, 0, sizeof(*h));
}

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

int imds_resolve_host(struct imds *m, const char *onprem_region, const char *onprem_host_id,
                      struct imds_host *ret, struct err *err)
{
    const char *region = nonempty(onprem_region);
    if (!region)
        region = nonempty(getenv("AWS_REGION"));
    const char *host = nonempty(onprem_host_id);
    if (!host)
        host = nonempty(getenv("AWS_HOST_IDENTIFIER"));
    if (!m && !region)
        return err_set(err, ERR_CONFIG,
                       "no region: not in the on-premises file, AWS_REGION is "
                       "not set and IMDS is not used");
    if (!m && !host)
        return err_set(err, ERR_CONFIG,
                       "no host identifier: not in the on-premises file, "
                       "AWS_HOST_IDENTIFIER is not set and IMDS is not used");
    struct imds_host h = {0};
    struct imds_identity id = {0};
    bool have_id = false;
    if (!region || !host) {
        if (imds_identity(m, &id, err) < 0) {
            err_prefix(err, !region ? "resolve region" : "build EC2 host identifier");
            return -1;
        }
        have_id = true;
        h.used_imds = true;
    }
    h.region = xstrdup(region ? region : id.region);
    if (host) {
        h.host_id = xstrdup(host);
    } else {
        AUTOFREE char *partition = NULL;
        if (imds_partition(m, &partition, err) < 0) {
            err_prefix(err, "build EC2 host identifier");
            goto fail;
        }
        /* The ARN names the instance's own region, whatever region the agent signs with. */
        h.host_id = imds_build_arn(partition, id.region, id.account_id, id.instance_id, err);
        if (!h.host_id)
            goto fail;
        struct err de = ERR_INIT;
        if (imds_domain(m, &h.domain, &de) < 0)
            log_debug("IMDS domain: %s; deriving it from the region", de.msg);
    }
    if (have_id)
        imds_identity_done(&id);
    *ret = h;
    return 0;
fail:
    imds_identity_done(&id);
    imds_host_done(&h);
    return -1;
}

/* ---- role credentials ---- */

void imds_role_creds_done(struct imds_role_creds *c)
{
    if (!c)
        return;
    free(c->role);
    free(c->access_key_id);
    secret_free(c->secret_access_key);
    secret_free(c->token);
    memset(c, 0, sizeof(*c));
}

static int digits(const char *s, int n, int *ret)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return 0;
}

int imds_parse_iso8601(const char *s, int64_t *ret_ms, struct err *err)
{
    int Y, M, D, h, mi, sec;
    if (!s || strlen(s) < 19 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) ||
        s[7] != '-' || digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return err_set(err, ERR_PARSE, "timestamp '%s': not ISO-8601", s ? s : "");
    const char *p = s + 19;
    int frac_ms = 0;
    if (*p == '.') {
        int scale = 100;
        p++;
        if (!isdigit((unsigned char)*p))
            return err_set(err, ERR_PARSE, "timestamp '%s': bad fraction", s);
        while (isdigit((unsigned char)*p)) {
            frac_ms += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    long off_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || digits(p + 4, 2, &om))
            return err_set(err, ERR_PARSE, "timestamp '%s': bad offset", s);
        off_s = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return err_set(err, ERR_PARSE, "timestamp '%s': no time zone", s);
    }
    if (*p || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60)
        return err_set(err, ERR_PARSE, "timestamp '%s': out of range", s);
    struct tm tm = {.tm_year = Y - 1900,
                    .tm_mon = M - 1,
                    .tm_mday = D,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    *ret_ms = ((int64_t)t - off_s) * 1000 + frac_ms;
    return 0;
}

int imds_parse_role_creds(const char *json, struct imds_role_creds *ret, struct err *err)
{
    struct json *doc = parse_doc(json);
    if (json_type(doc) != JSON_OBJECT) {
        json_free_secret(doc);
        return err_set(err, ERR_PARSE, "IMDS role credentials: not a JSON object");
    }
    int rc = -1;
    struct imds_role_creds c = {0};
    AUTOFREE char *code = member_stripped(doc, "Code");
    AUTOFREE char *exp = member_stripped(doc, "Expiration");
    c.access_key_id = member_stripped(doc, "AccessKeyId");
    c.secret_access_key = member_stripped(doc, "SecretAccessKey");
    c.token = member_stripped(doc, "Token");
    if (code && !str_eq(code, "Success")) {
        err_set(err, ERR_AUTH, "IMDS role credentials: Code '%s'", code);
    } else if (!c.access_key_id || !c.secret_access_key) {
        err_set(err, ERR_PARSE, "IMDS role credentials: no '%s'",
                !c.access_key_id ? "AccessKeyId" : "SecretAccessKey");
    } else if (exp && imds_parse_iso8601(exp, &c.expiration_ms, err) < 0) {
        err_prefix(err, "IMDS role credentials: Expiration");
    } else {
        *ret = c;
        memset(&c, 0, sizeof(c));
        rc = 0;
    }
    /* The document holds the secret key and token: wipe the tree's copies too. */
    json_free_secret(doc);
    imds_role_creds_done(&c);
    return rc;
}

int imds_role_credentials(struct imds *m, struct imds_role_creds *ret, struct err *err)
{
    struct req_plan plan = {m->http, IMDS_CRED_TIMEOUT_MS, IMDS_CRED_ATTEMPTS};
    AUTOFREE char *list = NULL;
    if (get_plan(m, &plan, ROLE_LIST_PATH, &list, err) < 0) {
        if (err && err->code == ERR_NOT_FOUND)
            err->code = ERR_AUTH;
        err_prefix(err, "IMDS role credentials");
        return -1;
    }
    size_t n = list ? strcspn(list, "\r\n") : 0;
    AUTOFREE char *role = strip_dup(list ? list : "", n);
    if (!*role)
        return err_set(err, ERR_AUTH, "IMDS role credentials: no IAM role attached");
    if (strchr(role, '/') || strstr(role, ".."))
        return err_set(err, ERR_PARSE, "IMDS role credentials: bad role name '%s'", role);
    AUTOFREE char *path = xasprintf("%s%s", ROLE_LIST_PATH, role);
    char *doc = NULL;
    if (get_plan(m, &plan, path, &doc, err) < 0) {
        if (err && err->code == ERR_NOT_FOUND)
            err->code = ERR_AUTH;
        err_prefix(err, "IMDS role credentials");
        return -1;
    }
    struct imds_role_creds c = {0};
    int r = imds_parse_role_creds(doc, &c, err);
    secret_free(doc);
    if (r < 0)
        return -1;
    c.role = TAKE_PTR(role);
    log_add_secret(c.secret_access_key);
    if (c.token)
        log_add_secret(c.token);
    *ret = c;
    return 0;
}
