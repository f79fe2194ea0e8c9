/*
 * http client (spec; v2-delta §1.4): pure helpers (retry
 * classification, URI encoding, plain-http policy, header list) and transfers against a tiny
 * HTTP/1.1 server forked on 127.0.0.1 (keep-alive, caps, streaming, error bodies, cancel, read
 * timeout).  TLS is covered end to end in tests/e2e/test_http_tls.py.
 */
#include "test.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

#include "net/http.h"
#include "base/stop.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/util.h"

/* ---- pure helpers ---- */

TEST(http_R064_retry_classification)
{
    /* transport errors */
    ASSERT_TRUE(http_is_retryable(0, ERR_TIMEOUT, NULL));
    ASSERT_TRUE(http_is_retryable(0, ERR_HTTP, NULL));
    ASSERT_FALSE(http_is_retryable(0, ERR_CANCELLED, NULL));
    ASSERT_FALSE(http_is_retryable(0, ERR_LIMIT, NULL));
    ASSERT_FALSE(http_is_retryable(0, ERR_UNSAFE, NULL));
    /* 5xx and 429 whatever the body says */
    ASSERT_TRUE(http_is_retryable(500, 0, "ServerException"));
    ASSERT_TRUE(http_is_retryable(503, 0, "SlowDown"));
    ASSERT_TRUE(http_is_retryable(502, 0, NULL));
    ASSERT_TRUE(http_is_retryable(429, 0, NULL));
    /* throttling, expired credentials and clock skew on 4xx */
    ASSERT_TRUE(http_is_retryable(400, 0, "ThrottlingException"));
    ASSERT_TRUE(http_is_retryable(400, 0, "RequestLimitExceeded"));
    ASSERT_TRUE(http_is_retryable(400, 0, "ExpiredTokenException"));
    ASSERT_TRUE(http_is_retryable(403, 0, "RequestExpired"));
    ASSERT_TRUE(http_is_retryable(403, 0, "RequestTimeTooSkewed"));
    /* everything else: never */
    ASSERT_FALSE(http_is_retryable(400, 0, "ClientException"));
    ASSERT_FALSE(http_is_retryable(400, 0, "ValidationException"));
    ASSERT_FALSE(http_is_retryable(403, 0, "AccessDeniedException"));
    ASSERT_FALSE(http_is_retryable(400, 0, "InvalidSignatureException"));
    ASSERT_FALSE(http_is_retryable(404, 0, "NoSuchKey"));
    ASSERT_FALSE(http_is_retryable(408, 0, NULL));
    ASSERT_FALSE(http_is_retryable(200, 0, NULL));
    ASSERT_FALSE(http_is_retryable(301, 0, NULL));
}

TEST(http_R064_V025_throttle_codes)
{
    static const char *const yes[] = {"Throttling",
                                      "ThrottlingException",
                                      "ThrottledException",
                                      "RequestThrottledException",
                                      "TooManyRequestsException",
                                      "RequestLimitExceeded",
                                      "SlowDown",
                                      "LimitExceededException",
                                      "RequestThrottled"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (!http_is_throttle_code(yes[i]))
            FAILF("'%s' should be a throttling code", yes[i]);
    ASSERT_FALSE(http_is_throttle_code("throttlingexception"));
    ASSERT_FALSE(http_is_throttle_code("AccessDenied"));
    ASSERT_FALSE(http_is_throttle_code(NULL));
}

TEST(http_uri_encode_unreserved_set)
{
    AUTOFREE char *a = http_uri_encode("a b/c~d-e_f.g+h%i=j&ü", true);
    ASSERT_STREQ(a, "a%20b%2Fc~d-e_f.g%2Bh%25i%3Dj%26%C3%BC");
    AUTOFREE char *b = http_uri_encode("dir/sub dir/../k", false);
    ASSERT_STREQ(b, "dir/sub%20dir/../k");
    AUTOFREE char *c = http_uri_encode("", false);
    ASSERT_STREQ(c, "");
}

TEST(http_plain_http_hosts)
{
    ASSERT_TRUE(http_host_allows_plain("127.0.0.1"));
    ASSERT_TRUE(http_host_allows_plain("127.1.2.3"));
    ASSERT_TRUE(http_host_allows_plain("localhost"));
    ASSERT_TRUE(http_host_allows_plain("LOCALHOST"));
    ASSERT_TRUE(http_host_allows_plain("::1"));
    ASSERT_TRUE(http_host_allows_plain("[::1]"));
    ASSERT_TRUE(http_host_allows_plain("169.254.169.254"));
    ASSERT_TRUE(http_host_allows_plain("fd00:ec2::254"));
    ASSERT_TRUE(http_host_allows_plain("fd00:ec2:0:0:0:0:0:254"));
    ASSERT_FALSE(http_host_allows_plain("169.254.169.253"));
    ASSERT_FALSE(http_host_allows_plain("128.0.0.1"));
    ASSERT_FALSE(http_host_allows_plain("10.0.0.1"));
    ASSERT_FALSE(http_host_allows_plain("localhost.example.com"));
    ASSERT_FALSE(http_host_allows_plain("127.0.0.1.nip.io"));
    ASSERT_FALSE(http_host_allows_plain("example.com"));
    ASSERT_FALSE(http_host_allows_plain(""));
    ASSERT_FALSE(http_host_allows_plain(NULL));
}

TEST(http_headers_list)
{
    struct http_headers h;
    http_headers_init(&h);
    ASSERT_NULL(http_headers_get(&h, "x"));
    for (int i = 0; i < 20; i++) {
        char n[16];
        snprintf(n, sizeof(n), "X-H%d", i);
        http_headers_add(&h, n, "v");
    }
    http_headers_add(&h, "Content-Type", "application/json");
    ASSERT_EQ(h.n, 21);
    ASSERT_STREQ(http_headers_get(&h, "content-type"), "application/json");
    ASSERT_STREQ(http_headers_get(&h, "x-h19"), "v");
    ASSERT_NULL(http_headers_get(NULL, "x"));
    http_headers_done(&h);
    ASSERT_EQ(h.n, 0);
    http_headers_done(&h);
}

/* Plain http to anything but loopback/IMDS is refused before any connection. */
TEST(http_refuses_plain_http_to_remote_hosts)
{
    struct err e = ERR_INIT;
    struct http_client *c = http_client_new(NULL, &e);
    ASSERT_NOT_NULL(c);
    const char *urls[] = {"http://example.com/", "http://10.1.2.3:80/x?X-Amz-Signature=secret",
                          "ftp://127.0.0.1/", "file:///etc/passwd", "not a url"};
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        struct http_request req = {.method = "GET", .url = urls[i], .out_fd = -1};
        struct http_response r;
        err_clear(&e);
        ASSERT_FAIL(http_request(c, &req, &r, &e));
        ASSERT_EQ(e.code, ERR_UNSAFE);
        ASSERT_EQ(r.status, 0);
        ASSERT_NOT_CONTAINS(e.msg, "secret");
        http_response_done(&r);
    }
    http_client_free(c);
}

/* ---- transfers against a forked one-connection-at-a-time server ---- */

struct server {
    pid_t pid;
    int port;
};

static void serve_reply(int fd, const char *status, const char *extra, const char *body, size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Length: %zu\r\n%s\r\n", status,
                     len, extra);
    (void)!write(fd, head, (size_t)n);
    (void)!write(fd, body, len);
}

/* Handle requests on one connection until the client closes it. */
static void serve_conn(int fd, int conn_no)
{
    char req[16384];
    size_t have = 0;
    for (;;) {
        char *end = NULL;
        while (!(end = memmem(req, have, "\r\n\r\n", 4))) {
            ssize_t r = read(fd, req + have, sizeof(req) - have - 1);
            if (r <= 0)
                return;
            have += (size_t)r;
        }
        size_t hlen = (size_t)(end + 4 - req);
        req[hlen - 1] = '\0';
        /* Read and ignore a Content-Length body. */
        size_t body = 0;
        const char *cl = strcasestr(req, "\r\ncontent-length:");
        if (cl)
            body = strtoul(cl + 17, NULL, 10);
        while (have < hlen + body) {
            ssize_t r = read(fd, req + have, sizeof(req) - have - 1);
            if (r <= 0)
                return;
            have += (size_t)r;
        }
        char path[256] = "";
        sscanf(req, "%*s %255s", path);
        if (strcmp(path, "/ok") == 0) {
            serve_reply(fd, "200 OK", "", "hello", 5);
        } else if (strcmp(path, "/conn") == 0) {
            char b[32];
            int n = snprintf(b, sizeof(b), "%d", conn_no);
            serve_reply(fd, "200 OK", "", b, (size_t)n);
        } else if (strcmp(path, "/head-big") == 0) {
            const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 5000000000\r\nETag: \"e\"\r\n\r\n";
            (void)!write(fd, h, strlen(h));
        } else if (strcmp(path, "/big") == 0) {
            static char big[100000];
            memset(big, 'x', sizeof(big));
            serve_reply(fd, "200 OK", "", big, sizeof(big));
        } else if (strcmp(path, "/chunked-big") == 0) {
            const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
            (void)!write(fd, h, strlen(h));
            static char chunk[4096 + 16];
            int n = snprintf(chunk, sizeof(chunk), "1000\r\n");
            memset(chunk + n, 'y', 4096);
            memcpy(chunk + n + 4096, "\r\n", 2);
            for (int i = 0; i < 50; i++)
                (void)!write(fd, chunk, (size_t)n + 4096 + 2);
            (void)!write(fd, "0\r\n\r\n", 5);
        } else if (strcmp(path, "/err") == 0) {
            const char *b = "{\"__type\":\"com.amazon#AccessDeniedException\"}";
            serve_reply(fd, "403 Forbidden", "x-amzn-ErrorType: AccessDeniedException:x\r\n", b,
                        strlen(b));
        } else if (strncmp(path, "/echo", 5) == 0) {
            serve_reply(fd, "200 OK", "", req, hlen - 1);
        } else if (strcmp(path, "/trickle") == 0) {
            /* A chunked body that never ends: one byte every 100 ms. */
            const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
            (void)!write(fd, h, strlen(h));
            for (int i = 0; i < 6000; i++) {
                if (write(fd, "1\r\n{\r\n", 6) != 6)
                    return;
                usleep(100000);
            }
            return;
        } else if (strcmp(path, "/stall") == 0) {
            const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial";
            (void)!write(fd, h, strlen(h));
            pause();
        } else {
            serve_reply(fd, "404 Not Found", "", "", 0);
        }
        memmove(req, req + hlen + body, have - hlen - body);
        have -= hlen + body;
    }
}

static struct server server_start(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_TRUE(s >= 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_OK(bind(s, (struct sockaddr *)&a, sizeof(a)));
    ASSERT_OK(listen(s, 8));
    socklen_t al = sizeof(a);
    ASSERT_OK(getsockname(s, (struct sockaddr *)&a, &al));
    struct server srv = {.port = ntohs(a.sin_port)};
    srv.pid = fork();
    ASSERT_TRUE(srv.pid >= 0);
    if (srv.pid == 0) {
        /* A failed assertion exits the test without server_stop(): die with it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1)
            _exit(0);
        signal(SIGPIPE, SIG_IGN);
        for (int conn = 1;; conn++) {
            int fd = accept4(s, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0)
                _exit(0);
            serve_conn(fd, conn);
            close(fd);
        }
    }
    close(s);
    return srv;
}

static void server_stop(struct server *s)
{
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
}

static char *url(const struct server *s, const char *path)
{
    return xasprintf("http://127.0.0.1:%d%s", s->port, path);
}

static int get(struct http_client *c, const char *u, int out_fd, size_t max,
               struct http_response *r, struct err *e)
{
    struct http_request req = {.method = "GET", .url = u, .out_fd = out_fd, .max_response = max};
    return http_request(c, &req, r, e);
}

/* one client keeps its connection between calls. */
TEST(http_R055_keep_alive_reuses_connection)
{
    struct server s = server_start();
    struct err e = ERR_INIT;
    struct http_client *c = http_client_new(NULL, &e);
    ASSERT_NOT_NULL(c);
    AUTOFREE char *u1 = url(&s, "/ok");
    AUTOFREE char *u2 = url(&s, "/conn");
    struct http_response r;
    ASSERT_OK(get(c, u1, -1, 0, &r, &e));
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(r.body.data, "hello");
    ASSERT_STREQ(http_headers_get(&r.headers, "content-length"), "5");
    http_response_done(&r);
    ASSERT_OK(get(c, u2, -1, 0, &r, &e));
    ASSERT_STREQ(r.body.data, "1");
    http_response_done(&r);
    http_client_free(c);
    server_stop(&s);
}

/* R-049 and "sent as given": User-Agent, caller headers, no Expect, no invented Content-Type. */
TEST(http_R049_request_headers_as_given)
{
    struct server s = server_start();
    struct err e = ERR_INIT;
    struct http_client *c = http_client_new(NULL, &e);
    AUTOFREE char *u = url(&s, "/echo");
    struct http_headers h;
    http_headers_init(&h);
    http_headers_add(&h, "X-Amz-Target", "CodeDeployCommandService_v20141006.PollHostCommand");
    http_headers_add(&h, "X-Empty", "");
    static char body[2048];
    memset(body, 'b', sizeof(body));
    struct http_request req = {.method = "POST",
                               .url = u,
                               .headers = &h,
                               .body = body,
                               .body_len = sizeof(body),
                               .out_fd = -1};
    struct http_response r;
    ASSERT_OK(http_request(c, &req, &r, &e));
    ASSERT_EQ(r.status, 200);
    ASSERT_CONTAINS(r.body.data, "POST /echo HTTP/1.1\r\n");
    ASSERT_CONTAINS(r.body.data, "User-Agent: cdagent/" CDAGENT_VERSION "\r\n");
    ASSERT_CONTAINS(r.body.data,
                    "X-Amz-Target: CodeDeployCommandService_v20141006.PollHostCommand");
    ASSERT_CONTAINS(r.body.data, "X-Empty:");
    ASSERT_CONTAINS(r.body.data, "Content-Length: 2048\r\n");
    ASSERT_NOT_CONTAINS(r.body.data, "Expect:");
    ASSERT_NOT_CONTAINS(r.body.data, "Content-Type:");
    http_response_done(&r);
    http_headers_done(&h);
    http_client_free(c);
    server_stop(&s);
}

TEST(http_memory_body_capped)
{
    struct server s = server_start();
    struct err e = ERR_INIT;
    struct http_client *c = http_client_new(NULL, &e);
    AUTOFREE char *u = url(&s, "/big");
    AUTOFREE char *uc = url(&s, "/chunked-big");
    struct http_response r;
    ASSERT_FAIL(get(c, u, -1, 1000, &r, &e));
    ASSERT_EQ(e.code, ERR_LIMIT);
    ASSERT_CONTAINS(e.msg, "limit of 1000 bytes");
    http_response_done(&r);
    /* No Content-Length: the write callback enforces it. */
    err_clear(&e);
    ASSERT_FAIL(get(c, uc, -1, 10000, &r, &e));
    ASSERT_EQ(e.code, ERR_LIMIT);
    http_response_done(&r);
    /* Within the cap it succeeds. */
    ASSERT_OK(get(c, u, -1, 100000, &r, &e));
    ASSERT_EQ(r.body.len, 100000);
    http_response_done(&r);
    http_client_free(c);
    server_stop(&s);
}

static void count_progress(void *arg, uint64_t done, uint64_t total)
{
    uint64_t *last = arg;
    ASSERT_TRUE(done > last[0]);
    last[0] = done;
    last[1] = total;
}

TEST(http_streams_2xx_and_keeps_errors_in_memory)
{
    struct server s = server_start();
    struct err e = ERR_INIT;
    struct http_client *c = http_client_new(NULL, &e);
    const char *path = test_write("out.bin", "");
    AUTOCLOSE int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    ASSERT_TRUE(fd >= 0);
    AUTOFREE char *u = url(&s, "/big");
    uint64_t prog[2] = {0, 0};
    struct http_request req = {.method = "GET",
                               .url = u,
                               .out_fd = fd,
                               .max_response = 1 << 20,
                               .progress = count_progress,
                               .progress_arg = prog};
    struct http_response r;
    ASSERT_OK(http_request(c, &req, &r, &e));
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.bytes_streamed, 100000);
    ASSERT_EQ(r.body.len, 0);
    ASSERT_EQ(prog[0], 100000);
    ASSERT_EQ(prog[1], 100000);
    http_response_done(&r);
    char *data = NULL;
    size_t len = 0;
    ASSERT_OK(read_file(path, 1 << 20, &data, &len, &e));
    ASSERT_EQ(len, 100000);
    free(data);

    /* An error status is kept in memory even though out_fd is set. */
    AUTOFREE char *ue = url(&s, "/err");
    req.url = ue;
    ASSERT_OK(http_request(c, &req, &r, &e));
    ASSERT_EQ(r.status, 403);
    ASSERT_EQ(r.bytes_streamed, 0);
    ASSERT_CONTAINS(r.body.data, "AccessDeniedException");
    ASSERT_STREQ(http_headers_get(&r.headers, "x-amzn-errortype"), "AccessDeniedException:x");
    http_response_done(&r);

    /* Streamed bodies are capped too. */
    req.url = u;
    req.max_response = 5000;
    ASSERT_FAIL(http_request(c, &req, &r, &e));
    ASSERT_EQ(e.code, ERR_LIMIT);
    http_response_done(&r);
    http_client_free(c);
    server_stop(&s);
}

TEST(http_R055_read_timeout)
{
    struct server s = server_start();
    struct err e = ERR_INIT;
    struct http_client_opts o = {.read_timeout_ms = 500};
    struct http_client *c = http_client_new(&o, &e);
    AUTOFREE char *u = url(&s, "/stall");
    struct http_response r;
    ASSERT_FAIL(get(c, u, -1, 0, &r, &e));
    ASSERT_EQ(e.code, ERR_TIMEOUT);
    ASSERT_CONTAINS(e.msg, "read timeout");
    ASSERT_TRUE(http_is_retryable(0, e.code, NULL));
    http_response_done(&r);
    http_client_free(c);
    server_stop(&s);
}

static void *request_stop_soon(void *arg)
{
    usleep(300000);
    stop_request(arg);
    return NULL;
}

/* A stalled transfer ends as soon as the stop token is requested (its fd wakes the wait). */
TEST(http_cancel_via_stop_token)
{
    struct server s = server_start();
    struct err e = ERR_INIT;
    struct stop tok;
    ASSERT_OK(stop_init(&tok, &e));
    pthread_t t;
    pthread_create(&t, NULL, request_stop_soon, &tok);
    struct http_client_opts o = {.read_timeout_ms = 60000, .stop = &tok};
    struct http_client *c = http_client_new(&o, &e);
    AUTOFREE char *u = url(&s, "/stall");
    struct http_response r;
    ASSERT_FAIL(get(c, u, -1, 0, &r, &e));
    ASSERT_EQ(e.code, ERR_CANCELLED);
    ASSERT_FALSE(http_is_retryable(0, e.code, NULL));
    pthread_join(t, NULL);
    http_response_done(&r);
    http_client_free(c);
    server_stop(&s);
    stop_done(&tok);
}

TEST(http_connection_refused_is_retryable_http_error)
{
    struct server s = server_start();
    int port = s.port;
    server_stop(&s);
    struct err e = ERR_INIT;
    struct http_client *c = http_client_new(NULL, &e);
    AUTOFREE char *u = xasprintf("http://127.0.0.1:%d/x?token=hidden", port);
    struct http_response r;
    ASSERT_FAIL(get(c, u, -1, 0, &r, &e));
    ASSERT_EQ(e.code, ERR_HTTP);
    ASSERT_CONTAINS(e.msg, "127.0.0.1");
    ASSERT_NOT_CONTAINS(e.msg, "hidden");
    ASSERT_TRUE(http_is_retryable(r.status, e.code, NULL));
    http_response_done(&r);
    http_client_free(c);
}

/* the connect timeout covers the TLS handshake: a peer that accepts TCP but never
 * answers the ClientHello fails with ERR_TIMEOUT, not the (longer) read timeout. */
TEST(http_R055_connect_timeout_covers_tls_handshake)
{
    struct server s = server_start();
    struct err e = ERR_INIT;
    struct http_client_opts o = {.connect_timeout_ms = 300, .read_timeout_ms = 60000};
    struct http_client *c = http_client_new(&o, &e);
    AUTOFREE char *u = xasprintf("https://127.0.0.1:%d/ok", s.port);
    struct http_response r;
    ASSERT_FAIL(get(c, u, -1, 0, &r, &e));
    ASSERT_EQ(e.code, ERR_TIMEOUT);
    ASSERT_NOT_CONTAINS(e.msg, "read timeout");
    http_response_done(&r);
    http_client_free(c);
    server_stop(&s);
}

/* ---- a second opinion on the signer: libcurl's CURLOPT_AWS_SIGV4 (R-050) ---- */

#include <curl/curl.h>

#include "net/sigv4-internal.h"

static size_t collect(char *p, size_t sz, size_t n, void *arg)
{
    (void)buf_append(arg, p, sz * n, NULL);
    return sz * n;
}

/* Value of header name (lower-case, with ':') in an echoed request; caller frees. */
static char *echoed(const char *req, const char *lname)
{
    AUTOFREE char *low = xstrdup(req);
    for (char *p = low; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    AUTOFREE char *pat = xasprintf("\r\n%s:", lname);
    const char *at = strstr(low, pat);
    if (!at)
        return NULL;
    const char *v = req + (at - low) + strlen(pat);
    while (*v == ' ')
        v++;
    return xstrndup(v, strcspn(v, "\r\n"));
}

TEST(http_R050_signer_agrees_with_libcurl_aws_sigv4)
{
    struct server s = server_start();
    AUTOFREE char *u = url(&s, "/echo");
    const char *body = "{\"HostIdentifier\":\"i-1\"}";
    CURL *e = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/x-amz-json-1.1");
    hl = curl_slist_append(hl, "X-Amz-Target: CodeDeployCommandService_v20141006.PollHostCommand");
    struct buf got;
    buf_init(&got, 1 << 16);
    curl_easy_setopt(e, CURLOPT_URL, u);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e, CURLOPT_AWS_SIGV4, "aws:amz:us-west-2:codedeploy-commands");
    curl_easy_setopt(e, CURLOPT_USERPWD, "AKIDCURL:curl/secret+key");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &got);
    CURLcode rc = curl_easy_perform(e);
    curl_slist_free_all(hl);
    curl_easy_cleanup(e);
    server_stop(&s);
    if (rc != CURLE_OK)
        SKIP("libcurl could not sign with CURLOPT_AWS_SIGV4");
    AUTOFREE char *auth = echoed(got.data, "authorization");
    AUTOFREE char *date = echoed(got.data, "x-amz-date");
    ASSERT_NOT_NULL(auth);
    ASSERT_NOT_NULL(date);
    /* Re-sign the same headers at curl's time; the Authorization values must be identical. */
    const char *sh = strstr(auth, "SignedHeaders=");
    ASSERT_NOT_NULL(sh);
    AUTOFREE char *names = xstrndup(sh + 14, strcspn(sh + 14, ","));
    ASSERT_STREQ(names, "content-type;host;x-amz-date;x-amz-target");
    struct http_headers h;
    http_headers_init(&h);
    for (char *n = names; n && *n;) {
        char *semi = strchr(n, ';');
        if (semi)
            *semi = '\0';
        if (strcmp(n, "x-amz-date") != 0) {
            AUTOFREE char *v = echoed(got.data, n);
            ASSERT_NOT_NULL(v);
            http_headers_add(&h, n, v);
        }
        n = semi ? semi + 1 : NULL;
    }
    struct tm tm = {0};
    ASSERT_NOT_NULL(strptime(date, "%Y%m%dT%H%M%SZ", &tm));
    struct sigv4_creds cr = {"AKIDCURL", "curl/secret+key", NULL};
    struct sigv4_params p = {
        .region = "us-west-2", .service = "codedeploy-commands", .now = timegm(&tm)};
    struct sigv4_result r;
    struct err err = ERR_INIT;
    ASSERT_OK(sigv4_compute("POST", "/echo", &h, body, strlen(body), &cr, &p, false, &r, &err));
    ASSERT_STREQ(r.authorization, auth);
    sigv4_result_done(&r);
    http_headers_done(&h);
    buf_done(&got);
}

/* HEAD of a large object: the cap applies to bodies, not to the announced length. */
TEST(http_head_ignores_body_cap)
{
    struct server s = server_start();
    struct err e = ERR_INIT;
    struct http_client *c = http_client_new(NULL, &e);
    AUTOFREE char *u = url(&s, "/head-big");
    struct http_request req = {.method = "HEAD", .url = u, .out_fd = -1, .max_response = 100};
    struct http_response r;
    ASSERT_OK(http_request(c, &req, &r, &e));
    ASSERT_EQ(r.status, 200);
    ASSERT_STREQ(http_headers_get(&r.headers, "content-length"), "5000000000");
    ASSERT_STREQ(http_headers_get(&r.headers, "etag"), "\"e\"");
    ASSERT_EQ(r.body.len, 0);
    http_response_done(&r);
    http_client_free(c);
    server_stop(&s);
}

#include "net/wirelog.h"

/* a client with a wire log records every request's header lines (redacted), bodies only
 * when the request opts in, never a streamed download, and a note for transport errors. */
TEST(http_r203_wire_log_headers_bodies_opt_in_streams_never)
{
    struct server s = server_start();
    AUTOFREE char *wpath = path_join(test_tmpdir(), "http.aws_wire.log");
    struct wirelog_opts wo = {.path = wpath};
    struct err e = ERR_INIT;
    struct wirelog *w = wirelog_open(&wo, &e);
    ASSERT_NOT_NULL(w);
    struct http_client_opts ho = {.wire = w};
    struct http_client *c = http_client_new(&ho, &e);
    ASSERT_NOT_NULL(c);

    struct http_headers h;
    http_headers_init(&h);
    http_headers_add(&h, "Authorization", "AWS4-HMAC-SHA256 Credential=AKID/x, Signature=5ec7e7");
    http_headers_add(&h, "X-Amz-Security-Token", "T0KEN-wire-unit");
    AUTOFREE char *u1 = url(&s, "/ok");
    struct http_request r1 = {.method = "POST",
                              .url = u1,
                              .headers = &h,
                              .body = "{\"a\":1}",
                              .body_len = 7,
                              .out_fd = -1,
                              .wire_bodies = true};
    struct http_response resp;
    ASSERT_OK(http_request(c, &r1, &resp, &e));
    http_response_done(&resp);
    http_headers_done(&h);

    AUTOFREE char *dl = path_join(test_tmpdir(), "wire-big.bin");
    int fd = open(dl, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_TRUE(fd >= 0);
    AUTOFREE char *u2 = url(&s, "/big");
    struct http_request r2 = {.method = "GET", .url = u2, .out_fd = fd, .wire_bodies = true};
    ASSERT_OK(http_request(c, &r2, &resp, &e));
    ASSERT_EQ(resp.bytes_streamed, 100000);
    http_response_done(&resp);
    close(fd);

    AUTOFREE char *u3 = url(&s, "/ok?versionId=v7&X-Amz-Signature=feedface");
    struct http_request r3 = {.method = "GET", .url = u3, .out_fd = -1};
    ASSERT_OK(http_request(c, &r3, &resp, &e));
    http_response_done(&resp);

    struct http_request r4 = {.method = "GET", .url = "http://127.0.0.1:1/refused", .out_fd = -1};
    ASSERT_FAIL(http_request(c, &r4, &resp, &e));
    http_response_done(&resp);
    http_client_free(c);
    wirelog_free(w);
    server_stop(&s);

    char *log = NULL;
    size_t n = 0;
    ASSERT_OK(read_file(wpath, 1 << 20, &log, &n, NULL));
    ASSERT_CONTAINS(log, "#1 > POST /ok HTTP/1.1\n");
    ASSERT_CONTAINS(log, "#1 > Authorization: REDACTED\n");
    ASSERT_CONTAINS(log, "#1 > X-Amz-Security-Token: REDACTED\n");
    ASSERT_CONTAINS(log, "#1 > body: {\"a\":1}\n");
    ASSERT_CONTAINS(log, "#1 < HTTP/1.1 200 OK\n");
    ASSERT_CONTAINS(log, "#1 < Content-Length: 5\n");
    ASSERT_CONTAINS(log, "#1 < body: hello\n");
    ASSERT_CONTAINS(log, "#2 > GET /big HTTP/1.1\n");
    ASSERT_CONTAINS(log, "#2 < Content-Length: 100000\n");
    ASSERT_CONTAINS(log, "#3 > GET /ok?versionId=v7&X-Amz-Signature=REDACTED HTTP/1.1\n");
    ASSERT_NOT_CONTAINS(log, "#3 < body");
    ASSERT_CONTAINS(log, "#4 * error: GET http://127.0.0.1:1/refused: ");
    ASSERT_NOT_CONTAINS(log, "5ec7e7");
    ASSERT_NOT_CONTAINS(log, "T0KEN-wire-unit");
    ASSERT_NOT_CONTAINS(log, "feedface");
    ASSERT_NOT_CONTAINS(log, "xxxxxxxx");
    free(log);
}

/* Issue 18 item 5: out of file descriptors, a request failed as "Couldn't connect to server"
 * (and S3 downloads added "Try using s3 endpoint override"); the message says what happened. */
TEST(http_out_of_file_descriptors_says_too_many_open_files_issue18)
{
    struct err e = ERR_INIT;
    struct http_client *c = http_client_new(NULL, &e);
    ASSERT_NOT_NULL(c);
    struct rlimit rl;
    ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
    rl.rlim_cur = 64;
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl));
    int held[64], n = 0;
    while (n < 64 && (held[n] = dup(0)) >= 0)
        n++;
    struct http_request req = {.url = "http://127.0.0.1:9/", .out_fd = -1};
    struct http_response r;
    int rc = http_request(c, &req, &r, &e);
    /* Give the descriptors back before asserting: the leak checker that runs at exit under
     * the sanitizer build needs a few to read /proc. */
    while (n > 0)
        close(held[--n]);
    ASSERT_FAIL(rc);
    http_response_done(&r);
    ASSERT_CONTAINS(e.msg, "Too many open files");
    ASSERT_EQ(e.code, ERR_SYSTEM);
    http_client_free(c);
}

/* Issue 14 item 1, R-055: clients share the process's warm connections: a second client (as each
 * command's worker makes) sends its request on the connection the first one left open. */
TEST(http_R055_clients_share_warm_connections)
{
    struct server s = server_start();
    struct err e = ERR_INIT;
    AUTOFREE char *u1 = url(&s, "/ok");
    AUTOFREE char *u2 = url(&s, "/conn");
    struct http_response r;
    struct http_client *a = http_client_new(NULL, &e);
    ASSERT_OK(get(a, u1, -1, 0, &r, &e));
    http_response_done(&r);
    http_client_free(a);
    for (int i = 0; i < 3; i++) {
        struct http_client *b = http_client_new(NULL, &e);
        ASSERT_OK(get(b, u2, -1, 0, &r, &e));
        ASSERT_STREQ(r.body.data, "1"); /* still the server's first connection */
        http_response_done(&r);
        http_client_free(b);
    }
    server_stop(&s);
}

/* Issue 18 item 3, R-109: the path goes out as given (and signed): a key with dot segments
 * is not folded into another path ("/bkt/../x/app.tar" must not become "/x/app.tar"). */
TEST(http_R109_path_sent_as_given_with_dot_segments)
{
    struct server s = server_start();
    struct err e = ERR_INIT;
    struct http_client *c = http_client_new(NULL, &e);
    AUTOFREE char *u = url(&s, "/echo/bkt/../x/./app.tar");
    struct http_response r;
    ASSERT_OK(get(c, u, -1, 0, &r, &e));
    ASSERT_EQ(r.status, 200);
    ASSERT_CONTAINS(r.body.data, "GET /echo/bkt/../x/./app.tar HTTP/1.1\r\n");
    http_response_done(&r);
    http_client_free(c);
    server_stop(&s);
}

/* Issue 18 item 2: a body that trickles (each byte resets the read timeout) still ends at the
 * request's deadline, and the message names that limit. */
TEST(http_deadline_ends_a_trickling_body)
{
    struct server s = server_start();
    struct err e = ERR_INIT;
    struct http_client_opts o = {.read_timeout_ms = 60000};
    struct http_client *c = http_client_new(&o, &e);
    AUTOFREE char *u = url(&s, "/trickle");
    struct http_request req = {.method = "POST", .url = u, .out_fd = -1, .timeout_ms = 700};
    struct http_response r;
    ASSERT_FAIL(http_request(c, &req, &r, &e));
    ASSERT_EQ(e.code, ERR_TIMEOUT);
    ASSERT_CONTAINS(e.msg, "request deadline of 700 ms exceeded");
    ASSERT_NOT_CONTAINS(e.msg, "read timeout");
    ASSERT_TRUE(http_is_retryable(0, e.code, NULL));
    http_response_done(&r);
    http_client_free(c);
    server_stop(&s);
}
