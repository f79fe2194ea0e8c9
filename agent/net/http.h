/*
 * http: the only libcurl user.  A client holds options only: each request borrows a transfer
 * handle from the process-wide pool of net/httpshare (warm keep-alive connections, TLS sessions,
 * DNS and the parsed trust store shared by every client and thread, R-055), so short-lived
 * clients cost no new connection.  A client is used by one thread at a time.  TLS peer and host
 * verification are always on; the trust store can be replaced through SSL_CERT_FILE /
 * AWS_SSL_CA_BUNDLE / AWS_CA_BUNDLE (a PEM bundle; when several are set AWS_CA_BUNDLE wins, then
 * AWS_SSL_CA_BUNDLE) or AWS_SSL_CA_DIRECTORY; an override replaces the system store.  Plain
 * http:// is accepted only for loopback addresses and the IMDS address (169.254.169.254,
 * fd00:ec2::254); anything else is ERR_UNSAFE. The proxy comes from opts.proxy_uri (user-info for
 * basic auth, CONNECT for https; applied to every host), else HTTPS_PROXY/https_proxy/NO_PROXY as
 * libcurl reads them except that loopback targets never use an environment proxy; a request with
 * no_proxy set (IMDS) never uses one.  Response bodies kept in memory are capped (ERR_LIMIT);
 * bodies streamed to a file descriptor are capped by max_response as well.  A transfer waits on the
 * stop token's fd beside libcurl's sockets; once the stop is requested the request fails with
 * ERR_CANCELLED.
 *
 * This module does no retries and no signing: callers (commands, bundle, imds) decide, using
 * http_is_retryable() for the classification of spec R-064.
 */
#ifndef CDAGENT_HTTP_H
#define CDAGENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "net/headers.h"
#include "base/buf.h"

struct stop;
struct wirelog;

#define HTTP_CONNECT_TIMEOUT_MS 15000
#define HTTP_DEFAULT_MAX_RESPONSE (1024 * 1024)

/* Called as data arrives on streamed downloads: total bytes so far and expected total (0 unknown).
 */
typedef void (*http_progress_fn)(void *arg, uint64_t done, uint64_t total);
/* Streamed downloads: called once per 2xx response when its headers are complete, before its first
 * body byte reaches out_fd (the callee may truncate or seek out_fd).  Returning -1 aborts the
 * transfer; http_request then fails with ERR_HTTP "response refused". */
typedef int (*http_begin_fn)(void *arg, long status, const struct http_headers *headers);
/* Streamed downloads: receives the 2xx body instead of out_fd, chunk by chunk.  Returning -1
 * aborts the transfer; http_request then fails with ERR_HTTP "response refused". */
typedef int (*http_write_fn)(void *arg, const void *data, size_t len);

struct http_client_opts {
    long connect_timeout_ms; /* 0: HTTP_CONNECT_TIMEOUT_MS */
    long read_timeout_ms;    /* no byte for this long fails the request; 0: 80000 */
    const char *proxy_uri;   /* borrowed; NULL: environment */
    const char *user_agent;  /* borrowed; NULL: "cdagent/<version>" */
    const struct stop *stop; /* borrowed; may be NULL */
    struct wirelog *wire;    /* borrowed; NULL: no wire log.  Else request and response header
                              * lines of every request go there, redacted */
};

struct http_request {
    const char *method;                 /* "GET", "POST", "PUT", "HEAD" */
    const char *url;                    /* full URL; the path/query are sent as given, dot
                                         * segments included */
    const struct http_headers *headers; /* may be NULL; sent as given (signed by the caller) */
    const void *body;                   /* may be NULL */
    size_t body_len;
    size_t max_response;       /* 0: HTTP_DEFAULT_MAX_RESPONSE */
    int out_fd;                /* >= 0: stream a 2xx body there instead of memory */
    long timeout_ms;           /* whole-request deadline; 0: none (the read timeout still
                                * applies).  Hitting it fails with ERR_TIMEOUT "request
                                * deadline of N ms exceeded" */
    bool no_proxy;             /* true for IMDS */
    http_progress_fn progress; /* may be NULL; streamed downloads only, called per chunk */
    void *progress_arg;
    http_begin_fn begin; /* may be NULL; streamed downloads only */
    void *begin_arg;
    http_write_fn write; /* may be NULL; set: stream a 2xx body there (out_fd is
                          * then unused) */
    void *write_arg;
    bool follow_redirects; /* follow up to 5 redirects, to https:// only; a custom
                            * Authorization header goes to the first host only */
    bool wire_bodies;      /* also wire-log the request body and an in-memory
                            * response body (Commands calls; never S3 objects) */
};

struct http_response {
    long status;                 /* HTTP status; 0 before a response */
    struct http_headers headers; /* response headers (last response when redirected) */
    struct buf body;             /* body in memory (error bodies too, even when out_fd is set) */
    uint64_t bytes_streamed;     /* bytes written to out_fd */
};

struct http_client *http_client_new(const struct http_client_opts *opts, struct err *err);
void http_client_free(struct http_client *c);

/*
 * Perform one request.  Returns 0 when an HTTP response was received (any status; inspect
 * ret->status), -1 on transport failure: ERR_TIMEOUT (connect timeout, read timeout or the
 * request's deadline; the message names which), ERR_HTTP
 * (connection refused/reset, TLS failure, DNS; the message names the host and curl's reason),
 * ERR_LIMIT (response too large), ERR_CANCELLED (stop requested), ERR_UNSAFE (plain http to a
 * non-loopback host), ERR_SYSTEM "Too many open files" (out of file descriptors, which curl calls
 * "Couldn't connect").  ret is initialised by the call and must be released with
 * http_response_done() on success and failure alike.
 */
int http_request(struct http_client *c, const struct http_request *req, struct http_response *ret,
                 struct err *err);
void http_response_done(struct http_response *r);

/* Spec R-064: should a failed attempt be retried?  status 0 means a transport error whose
 * err code is given; error_code is the AWS error code ("ThrottlingException") or NULL. */
bool http_is_retryable(long status, int transport_err_code, const char *error_code);
bool http_is_throttle_code(const char *error_code);

/* Percent-encode s per RFC 3986 unreserved set; encode_slash false keeps '/'.  Caller frees. */
char *http_uri_encode(const char *s, bool encode_slash);

/* True if host (no port, no brackets) is 127.0.0.0/8, ::1, "localhost" or the IMDS address. */
bool http_host_allows_plain(const char *host);

#endif
