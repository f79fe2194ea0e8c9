/*
 * http: see http.h.  A request borrows a transfer handle (a curl multi handle and its easy
 * handle, with their kept-alive connections) from the process-wide pool of net/httpshare and
 * gives it back when done, so every client of the process reuses warm connections (R-055).
 * Driving the multi handle ourselves with curl_multi_poll() lets the stop token's fd wake a
 * transfer at once; the wait ends no later than the read (idle) timeout or the request's deadline
 * would expire, so both are checked on time without polling at a fixed rate.
 */
#include "net/http.h"

#include "base/fsutil.h"
#include "base/stop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "net/httpshare.h"
#include "net/wirelog.h"
#include "base/buf.h"
#include "base/util.h"

#ifndef CDAGENT_VERSION
#define CDAGENT_VERSION "0.0.0"
#endif

#define HTTP_DEFAULT_READ_TIMEOUT_MS 80000
#define HTTP_MAX_REDIRECTS 5
#define HTTP_MAX_HEADER_BYTES (64 * 1024)

struct http_client {
    long connect_timeout_ms;
    long read_timeout_ms;
    char *proxy_uri;         /* owned; may carry a password: wiped on free */
    char *user_agent;        /* owned */
    const struct stop *stop; /* borrowed; may be NULL */
    struct wirelog *wire;    /* borrowed; NULL: no wire log */
};

/* State of one transfer, shared with the curl callbacks. */
struct xfer {
    struct http_client *c;          /* borrowed */
    CURL *easy;                     /* borrowed from the pooled handle */
    const struct http_request *req; /* borrowed */
    struct http_response *resp;     /* borrowed */
    uint64_t max;                   /* streamed-body cap */
    uint64_t last_activity_ms;      /* monotonic time of the last byte either way */
    uint64_t deadline_ms;           /* monotonic; 0: none (req->timeout_ms) */
    curl_off_t seen_down, seen_up;  /* progress counters at last_activity_ms */
    size_t header_bytes;
    bool decided; /* stream-or-memory decided for this response */
    bool streaming;
    bool cancelled;
    bool idle_timeout;
    bool deadline_hit; /* req->timeout_ms passed before the response was complete */
    bool limit_hit;
    bool refused; /* req->begin refused the response */
    int write_errno;
    unsigned long wire_id; /* this request's number in the wire log */
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- pure helpers ---- */

bool http_is_throttle_code(const char *error_code)
{
    static const char *const codes[] = {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "LimitExceededException",
        "RequestThrottled",
        "BandwidthLimitExceeded",
        "PriorRequestNotComplete",
        NULL,
    };
    for (size_t i = 0; error_code && codes[i]; i++)
        if (strcmp(error_code, codes[i]) == 0)
            return true;
    return false;
}

/* R-064: codes retried after refreshing credentials or correcting the clock. */
static bool is_refresh_code(const char *error_code)
{
    static const char *const codes[] = {
        "ExpiredToken", "ExpiredTokenException", "RequestExpired", "RequestTimeTooSkewed", NULL,
    };
    for (size_t i = 0; error_code && codes[i]; i++)
        if (strcmp(error_code, codes[i]) == 0)
            return true;
    return false;
}

bool http_is_retryable(long status, int transport_err_code, const char *error_code)
{
    if (status == 0)
        return transport_err_code == ERR_TIMEOUT || transport_err_code == ERR_HTTP;
    if (status >= 500 || status == 429)
        return true;
    if (status < 400)
        return false;
    return http_is_throttle_code(error_code) || is_refresh_code(error_code);
}

char *http_uri_encode(const char *s, bool encode_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = xmalloc(3 * n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool keep = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
                    (!encode_slash && ch == '/');
        if (keep) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
    return out;
}

bool http_host_allows_plain(const char *host)
{
    if (!host || !*host)
        return false;
    char h[64];
    size_t n = strlen(host);
    if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n >= sizeof(h))
        return false;
    memcpy(h, host, n);
    h[n] = '\0';
    if (strcasecmp(h, "localhost") == 0)
        return true;
    struct in_addr a4;
    if (inet_pton(AF_INET, h, &a4) == 1) {
        uint32_t a = ntohl(a4.s_addr);
        return (a >> 24) == 127 || a == 0xA9FEA9FEu; /* 127.0.0.0/8, 169.254.169.254 */
    }
    struct in6_addr a6;
    struct in6_addr imds6;
    if (inet_pton(AF_INET6, h, &a6) != 1)
        return false;
    (void)inet_pton(AF_INET6, "fd00:ec2::254", &imds6);
    return memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0 || memcmp(&a6, &imds6, sizeof(a6)) == 0;
}

/* ---- client ---- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct http_client *http_client_new(const struct http_client_opts *opts, struct err *err)
{
    (void)pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        err_set(err, ERR_HTTP, "initialise libcurl: %s", curl_easy_strerror(global_rc));
        return NULL;
    }
    struct http_client *c = xcalloc(1, sizeof(*c));
    c->connect_timeout_ms =
        opts && opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : HTTP_CONNECT_TIMEOUT_MS;
    c->read_timeout_ms =
        opts && opts->read_timeout_ms > 0 ? opts->read_timeout_ms : HTTP_DEFAULT_READ_TIMEOUT_MS;
    if (opts && opts->proxy_uri && *opts->proxy_uri)
        c->proxy_uri = xstrdup(opts->proxy_uri);
    c->user_agent =
        opts && opts->user_agent ? xstrdup(opts->user_agent) : xstrdup("cdagent/" CDAGENT_VERSION);
    c->stop = opts ? opts->stop : NULL;
    c->wire = opts ? opts->wire : NULL;
    return c;
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    secret_free(c->proxy_uri);
    free(c->user_agent);
    free(c);
}

void http_response_done(struct http_response *r)
{
    if (!r)
        return;
    http_headers_done(&r->headers);
    buf_done(&r->body);
}

/* ---- callbacks ---- */

static bool cancelled(struct xfer *x)
{
    if (!x->cancelled && stop_requested(x->c->stop))
        x->cancelled = true;
    return x->cancelled;
}

static void touch(struct xfer *x)
{
    x->last_activity_ms = now_ms();
}

/* Pick where this response's body goes: 2xx with out_fd streams, everything else memory. */
static void decide_sink(struct xfer *x)
{
    if (x->decided)
        return;
    long status = 0;
    (void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    x->streaming = (x->req->out_fd >= 0 || x->req->write) && status >= 200 && status < 300;
    x->decided = true;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nmemb;
    touch(x);
    decide_sink(x);
    if (!x->streaming) {
        if (buf_append(&x->resp->body, ptr, n, NULL) < 0) {
            x->limit_hit = true;
            return 0;
        }
        return n;
    }
    if (x->resp->bytes_streamed + n > x->max) {
        x->limit_hit = true;
        return 0;
    }
    if (x->req->write && x->req->write(x->req->write_arg, ptr, n) < 0) {
        x->refused = true;
        return 0;
    }
    if (!x->req->write && write_all(x->req->out_fd, ptr, n) < 0) {
        x->write_errno = errno;
        return 0;
    }
    x->resp->bytes_streamed += n;
    if (x->req->progress) {
        curl_off_t total = -1;
        (void)curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &total);
        x->req->progress(x->req->progress_arg, x->resp->bytes_streamed,
                         total > 0 ? (uint64_t)total : 0);
    }
    return n;
}

/* The blank line ending a header block: let the caller vet a streamed 2xx before its body. */
static int response_begins(struct xfer *x)
{
    long status = 0;
    (void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    if (!x->req->begin || (x->req->out_fd < 0 && !x->req->write) || status < 200 || status >= 300)
        return 0;
    if (x->req->begin(x->req->begin_arg, status, &x->resp->headers) < 0) {
        x->refused = true;
        return -1;
    }
    return 0;
}

static void trim_crlf(const char **p, size_t *n)
{
    while (*n > 0 && ((*p)[*n - 1] == '\r' || (*p)[*n - 1] == '\n' || (*p)[*n - 1] == ' ' ||
                      (*p)[*n - 1] == '\t'))
        (*n)--;
    while (*n > 0 && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*n)--;
    }
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nmemb;
    touch(x);
    x->header_bytes += n;
    if (x->header_bytes > HTTP_MAX_HEADER_BYTES) {
        x->limit_hit = true;
        return 0;
    }
    if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
        /* A new response (after a redirect or 100 Continue): keep only the last one's. */
        http_headers_done(&x->resp->headers);
        x->decided = false;
        return n;
    }
    const char *colon = memchr(ptr, ':', n);
    if (!colon && (n == 1 || (n == 2 && ptr[0] == '\r')))
        return response_begins(x) < 0 ? 0 : n;
    if (!colon)
        return n; /* junk */
    const char *name = ptr;
    size_t nl = (size_t)(colon - ptr);
    const char *val = colon + 1;
    size_t vl = n - nl - 1;
    trim_crlf(&name, &nl);
    trim_crlf(&val, &vl);
    if (nl == 0)
        return n;
    AUTOFREE char *nm = xstrndup(name, nl);
    AUTOFREE char *vv = xstrndup(val, vl);
    http_headers_add(&x->resp->headers, nm, vv);
    return n;
}

static int wait_budget(struct xfer *x);

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct xfer *x = arg;
    (void)dltotal, (void)ultotal;
    if (dlnow != x->seen_down || ulnow != x->seen_up) {
        x->seen_down = dlnow;
        x->seen_up = ulnow;
        touch(x);
    }
    return cancelled(x) || wait_budget(x) == 0;
}

/* R-203: curl shows us the header blocks exactly as sent and received; bodies are added only
 * for requests that ask (wire_bodies), so a streamed S3 object never reaches the log. */
static int on_debug(CURL *e, curl_infotype type, char *data, size_t size, void *arg)
{
    struct xfer *x = arg;
    (void)e;
    if (type == CURLINFO_HEADER_OUT) {
        wirelog_headers(x->c->wire, x->wire_id, WIRELOG_OUT, data, size);
        if (x->req->wire_bodies && x->req->body && x->req->body_len > 0)
            wirelog_body(x->c->wire, x->wire_id, WIRELOG_OUT, x->req->body, x->req->body_len);
    } else if (type == CURLINFO_HEADER_IN) {
        wirelog_headers(x->c->wire, x->wire_id, WIRELOG_IN, data, size);
    }
    return 0;
}

/* ---- request setup ---- */

/* The URL without its query (which may carry a presigned signature) for messages. */
static char *safe_url(const char *url)
{
    return xstrndup(url, strcspn(url, "?#"));
}

/* Check the scheme and the plain-http policy; *ret_host the host, *ret_origin
 * "scheme://host:port" (both owned by the caller). */
static int check_url(const char *url, char **ret_host, char **ret_origin, struct err *err)
{
    AUTOFREE char *shown = safe_url(url);
    CURLU *u = curl_url();
    if (!u)
        return err_set(err, ERR_HTTP, "parse URL '%s': out of memory", shown);
    char *scheme = NULL;
    char *host = NULL;
    char *port = NULL;
    int rc = 0;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        rc = err_set(err, ERR_UNSAFE, "request '%s': not a valid http(s) URL", shown);
    } else if (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0) {
        rc = err_set(err, ERR_UNSAFE, "request '%s': scheme '%s' is not allowed", shown, scheme);
    } else if (strcasecmp(scheme, "http") == 0 && !http_host_allows_plain(host)) {
        rc = err_set(err, ERR_UNSAFE,
                     "request '%s': plain http is allowed only to loopback and IMDS addresses, "
                     "use https",
                     shown);
    } else {
        *ret_host = xstrdup(host);
        *ret_origin = xasprintf("%s://%s:%s", scheme, host, port);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

static struct curl_slist *build_headers(const struct http_request *req)
{
    struct curl_slist *l = NULL;
    const struct http_headers *h = req->headers;
    bool have_ct = false;
    bool have_expect = false;
    for (size_t i = 0; h && i < h->n; i++) {
        const char *nm = h->items[i].name;
        const char *v = h->items[i].value;
        have_ct = have_ct || strcasecmp(nm, "content-type") == 0;
        have_expect = have_expect || strcasecmp(nm, "expect") == 0;
        /* "Name;" is curl's way to send a header with an empty value. */
        AUTOFREE char *line = *v ? xasprintf("%s: %s", nm, v) : xasprintf("%s;", nm);
        struct curl_slist *nl = curl_slist_append(l, line);
        explicit_bzero(line, strlen(line));
        if (!nl)
            abort();
        l = nl;
    }
    /* Send what the caller signed: no 100-continue round trip, no invented Content-Type. */
    if (!have_expect)
        l = curl_slist_append(l, "Expect:");
    if (!have_ct && l)
        l = curl_slist_append(l, "Content-Type:");
    if (!l)
        abort();
    return l;
}

/* Header lines may hold tokens and signatures: wipe curl's copies before freeing them. */
static void free_headers(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p; p = p->next)
        explicit_bzero(p->data, strlen(p->data));
    curl_slist_free_all(l);
}

static void set_method(CURL *e, const struct http_request *req)
{
    const char *m = req->method ? req->method : "GET";
    const char *body = req->body ? req->body : "";
    if (strcmp(m, "GET") == 0) {
        (void)curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(m, "HEAD") == 0) {
        (void)curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        (void)curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        (void)curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        if (strcmp(m, "POST") != 0)
            (void)curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    }
}

/* R-054: :proxy_uri: for everything but no_proxy requests; else curl's reading of the
 * standard variables, except that loopback targets never go through an environment proxy. */
static void set_proxy(CURL *e, const struct http_client *c, const struct http_request *req,
                      const char *host)
{
    if (req->no_proxy) {
        (void)curl_easy_setopt(e, CURLOPT_PROXY, "");
    } else if (c->proxy_uri) {
        (void)curl_easy_setopt(e, CURLOPT_PROXY, c->proxy_uri);
        (void)curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    } else if (http_host_allows_plain(host)) {
        (void)curl_easy_setopt(e, CURLOPT_PROXY, "");
    }
}

static void setup(struct xfer *x, const char *host, struct curl_slist *hdrs)
{
    CURL *e = x->easy;
    const struct http_request *req = x->req;
    curl_easy_reset(e);
    (void)curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    (void)curl_easy_setopt(e, CURLOPT_URL, req->url);
    /* Send the path as given and signed: no dot-segment removal (R-109, an S3 key "../x"). */
    (void)curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    (void)curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    (void)curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    (void)curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, x->c->connect_timeout_ms);
    (void)curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    (void)curl_easy_setopt(e, CURLOPT_USERAGENT, x->c->user_agent);
    (void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    if (req->follow_redirects) {
        /* Redirects only to https; curl keeps a custom Authorization header to the first host. */
        (void)curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        (void)curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)HTTP_MAX_REDIRECTS);
        (void)curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    }
    /* HEAD reads no body: a large object's Content-Length must not trip the cap. */
    if (!req->method || strcmp(req->method, "HEAD") != 0)
        (void)curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max);
    set_method(e, req);
    httpshare_setup(e); /* DNS/TLS-session share and the process's parsed trust store (R-052) */
    set_proxy(e, x->c, req, host);
    (void)curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    (void)curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    (void)curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    (void)curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    (void)curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    (void)curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    (void)curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
    if (x->c->wire) {
        (void)curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
        (void)curl_easy_setopt(e, CURLOPT_DEBUGDATA, x);
        (void)curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    }
}

/* Milliseconds until the idle timeout or the deadline expires, whichever is first; 0 when one
 * has (and the flag saying which is set). */
static int wait_budget(struct xfer *x)
{
    uint64_t now = now_ms();
    uint64_t idle_end = x->last_activity_ms + (uint64_t)x->c->read_timeout_ms;
    if (now >= idle_end) {
        x->idle_timeout = true;
        return 0;
    }
    uint64_t left = idle_end - now;
    if (x->deadline_ms) {
        if (now >= x->deadline_ms) {
            x->deadline_hit = true;
            return 0;
        }
        if (x->deadline_ms - now < left)
            left = x->deadline_ms - now;
    }
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Drive the transfer: wait on its sockets and the stop token's fd, never longer than the idle
 * timeout or the deadline allows (curl shortens the wait further for its own timers). */
static CURLcode drive(struct xfer *x, CURLM *m)
{
    if (curl_multi_add_handle(m, x->easy) != CURLM_OK)
        return CURLE_FAILED_INIT;
    CURLcode result = CURLE_OK;
    for (;;) {
        int running = 0;
        if (curl_multi_perform(m, &running) != CURLM_OK) {
            result = CURLE_FAILED_INIT;
            break;
        }
        int left = 0;
        CURLMsg *msg = curl_multi_info_read(m, &left);
        if (msg && msg->msg == CURLMSG_DONE) {
            result = msg->data.result;
            break;
        }
        int budget = wait_budget(x);
        if (cancelled(x) || budget == 0) {
            result = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        struct curl_waitfd wf = {.fd = stop_fd(x->c->stop), .events = CURL_WAIT_POLLIN};
        (void)curl_multi_poll(m, &wf, wf.fd >= 0 ? 1 : 0, budget, NULL);
    }
    (void)curl_multi_remove_handle(m, x->easy);
    return result;
}

static bool is_tls_error(CURLcode rc)
{
    return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
           rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CIPHER ||
           rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_ISSUER_ERROR ||
           rc == CURLE_SSL_CRL_BADFILE;
}

/* EMFILE or ENFILE when a failed connection came from running out of file descriptors (curl
 * reports that as "Couldn't connect"), else 0. */
static int out_of_fds(CURL *easy, CURLcode rc)
{
    long os_errno = 0;
    (void)curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
    if (os_errno == EMFILE || os_errno == ENFILE)
        return (int)os_errno;
    if (rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_HOST &&
        rc != CURLE_COULDNT_RESOLVE_PROXY && rc != CURLE_FAILED_INIT)
        return 0;
    int probe = fcntl(0, F_DUPFD_CLOEXEC, 0);
    if (probe >= 0) {
        close(probe);
        return 0;
    }
    return errno == EMFILE || errno == ENFILE ? errno : 0;
}

/* A limit of ours that ended the transfer early: -1 with a message naming it, else 0. */
static int map_limit(const struct xfer *x, const char *m, const char *shown, struct err *err)
{
    curl_off_t got = 0;
    (void)curl_easy_getinfo(x->easy, CURLINFO_SIZE_DOWNLOAD_T, &got);
    if (x->cancelled)
        return err_set(err, ERR_CANCELLED, "%s %s: cancelled because the agent is stopping", m,
                       shown);
    if (x->deadline_hit)
        return err_set(err, ERR_TIMEOUT,
                       "%s %s: request deadline of %ld ms exceeded (response incomplete, %lld "
                       "body bytes received)",
                       m, shown, x->req->timeout_ms, (long long)got);
    if (x->idle_timeout)
        return err_set(err, ERR_TIMEOUT, "%s %s: read timeout, no data for %ld ms", m, shown,
                       x->c->read_timeout_ms);
    if (x->write_errno)
        return err_errno(err, x->write_errno, "%s %s: write the response body", m, shown);
    if (x->refused)
        return err_set(err, ERR_HTTP, "%s %s: response refused", m, shown);
    if (x->limit_hit)
        return err_set(err, ERR_LIMIT, "%s %s: response larger than the limit of %llu bytes", m,
                       shown, (unsigned long long)x->max);
    return 0;
}

static int map_error(const struct xfer *x, CURLcode rc, struct err *err)
{
    AUTOFREE char *shown = safe_url(x->req->url);
    const char *m = x->req->method ? x->req->method : "GET";
    const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
    if (map_limit(x, m, shown, err) < 0)
        return -1;
    int fd_errno = out_of_fds(x->easy, rc);
    if (fd_errno) /* not the network's fault, whatever curl calls it (issue 18 item 5) */
        return err_errno(err, fd_errno, "%s %s", m, shown);
    if (rc == CURLE_FILESIZE_EXCEEDED)
        return err_set(err, ERR_LIMIT, "%s %s: response larger than the limit of %llu bytes", m,
                       shown, (unsigned long long)x->max);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return err_set(err, ERR_TIMEOUT, "%s %s: connect timeout of %ld ms: %s", m, shown,
                       x->c->connect_timeout_ms, why);
    if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_TOO_MANY_REDIRECTS)
        return err_set(err, ERR_UNSAFE, "%s %s: %s", m, shown, why);
    const char *trust = rc == CURLE_SSL_CACERT_BADFILE ? httpshare_trust_error() : NULL;
    if (trust)
        return err_set(err, ERR_HTTP, "%s %s: TLS failure: %s", m, shown, trust);
    if (is_tls_error(rc))
        return err_set(err, ERR_HTTP, "%s %s: TLS failure: %s", m, shown, why);
    return err_set(err, ERR_HTTP, "%s %s: %s", m, shown, why);
}

static void response_init(const struct http_request *req, struct http_response *ret, size_t max)
{
    ret->status = 0;
    http_headers_init(&ret->headers);
    /* Error bodies stay small even when a large download is allowed. */
    buf_init(&ret->body, (req->out_fd >= 0 || req->write) && max > HTTP_DEFAULT_MAX_RESPONSE
                             ? HTTP_DEFAULT_MAX_RESPONSE
                             : max);
    ret->bytes_streamed = 0;
}

/* One transfer on a pooled handle. */
static int transfer(struct xfer *x, struct httpshare_handle *h, const char *host, struct err *err)
{
    struct http_client *c = x->c;
    const struct http_request *req = x->req;
    struct http_response *ret = x->resp;
    x->easy = h->easy;
    if (c->wire)
        x->wire_id = wirelog_next_id(c->wire);
    touch(x);
    if (req->timeout_ms > 0)
        x->deadline_ms = x->last_activity_ms + (uint64_t)req->timeout_ms;
    struct curl_slist *hdrs = build_headers(req);
    setup(x, host, hdrs);
    CURLcode rc = drive(x, h->multi);
    long status = 0;
    (void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    /* Drop references to request memory before returning. */
    (void)curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, NULL);
    free_headers(hdrs);
    ret->status = status;
    if (rc != CURLE_OK || x->cancelled || x->idle_timeout || x->deadline_hit) {
        struct err we = ERR_INIT;
        (void)map_error(x, rc, &we);
        wirelog_note(c->wire, x->wire_id, "error: %s", we.msg);
        return map_error(x, rc, err);
    }
    if (req->wire_bodies && !x->streaming)
        wirelog_body(c->wire, x->wire_id, WIRELOG_IN, ret->body.data, ret->body.len);
    /* A 2xx that should have been streamed but had no body bytes is still a success. */
    (void)buf_append(&ret->body, "", 0, NULL);
    return 0;
}

int http_request(struct http_client *c, const struct http_request *req, struct http_response *ret,
                 struct err *err)
{
    size_t max = req->max_response ? req->max_response : HTTP_DEFAULT_MAX_RESPONSE;
    response_init(req, ret, max);
    if (!req->url)
        return err_set(err, ERR_UNSAFE, "request: no URL");
    AUTOFREE char *host = NULL;
    AUTOFREE char *origin = NULL;
    if (check_url(req->url, &host, &origin, err) < 0)
        return -1;
    struct httpshare_handle *h = httpshare_take(origin);
    if (!h)
        return err_set(err, ERR_HTTP, "initialise libcurl: cannot create a handle");
    struct xfer x = {.c = c, .req = req, .resp = ret, .max = max};
    int rc = transfer(&x, h, host, err);
    httpshare_give(h, origin);
    return rc;
}
