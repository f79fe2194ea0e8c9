/*
 * http_get: a small driver of agent/http.c (and agent/sigv4.c) for end-to-end tests.
 *
 *   http_get [options] URL
 *     -X METHOD            request method (GET)
 *     -d DATA              request body
 *     -H 'Name: value'     add a request header (repeatable)
 *     -o FILE              stream a 2xx body to FILE (else the body goes to stdout)
 *     --max N              response cap in bytes
 *     --read-timeout-ms N  client read timeout
 *     --connect-timeout-ms N
 *     --timeout-ms N       whole-request cap
 *     --proxy URI          :proxy_uri:
 *     --no-proxy           the request never uses a proxy (as IMDS)
 *     --follow             follow redirects
 *     --count N            perform the request N times on one client (keep-alive)
 *     --sign REGION/SERVICE  SigV4-sign with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 *                            AWS_SESSION_TOKEN from the environment
 *     --s3                 S3 signing rules (x-amz-content-sha256, no path normalisation)
 *     --clock-offset S     signing clock offset in seconds
 *
 * SIGTERM or SIGINT requests the stop token (the agent's cancel path).  Prints
 * "status=<n> bytes=<memory body bytes> streamed=<n>" and "header <Name>: <value>" lines to
 * stderr, the memory body to stdout; on failure "error <CodeName>: <message>" and exit 1.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/stop.h"
#include "net/http.h"
#include "net/sigv4.h"
#include "base/util.h"

static struct stop stop_tok;

static void on_signal(int sig)
{
    (void)sig;
    stop_request(&stop_tok);
}

static void progress(void *arg, uint64_t done, uint64_t total)
{
    uint64_t *calls = arg;
    (*calls)++;
    (void)done, (void)total;
}

static long num(const char *s)
{
    uint64_t v = 0;
    struct err e = ERR_INIT;
    if (parse_uint(s, 0, INT64_MAX, &v, &e) < 0) {
        fprintf(stderr, "http_get: %s\n", e.msg);
        exit(2);
    }
    return (long)v;
}

struct opts {
    struct http_client_opts copts;
    struct http_request req;
    struct http_headers headers;
    const char *out;
    const char *sign;
    bool s3;
    long clock_offset;
    long count;
};

static void parse_args(int argc, char **argv, struct opts *o)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (strcmp(a, "-X") == 0 && v)
            o->req.method = v;
        else if (strcmp(a, "-d") == 0 && v) {
            o->req.body = v;
            o->req.body_len = strlen(v);
        } else if (strcmp(a, "-H") == 0 && v) {
            const char *colon = strchr(v, ':');
            if (!colon) {
                fprintf(stderr, "http_get: bad header '%s'\n", v);
                exit(2);
            }
            AUTOFREE char *name = xstrndup(v, (size_t)(colon - v));
            const char *val = colon + 1;
            while (*val == ' ')
                val++;
            http_headers_add(&o->headers, name, val);
        } else if (strcmp(a, "-o") == 0 && v)
            o->out = v;
        else if (strcmp(a, "--max") == 0 && v)
            o->req.max_response = (size_t)num(v);
        else if (strcmp(a, "--read-timeout-ms") == 0 && v)
            o->copts.read_timeout_ms = num(v);
        else if (strcmp(a, "--connect-timeout-ms") == 0 && v)
            o->copts.connect_timeout_ms = num(v);
        else if (strcmp(a, "--timeout-ms") == 0 && v)
            o->req.timeout_ms = num(v);
        else if (strcmp(a, "--proxy") == 0 && v)
            o->copts.proxy_uri = v;
        else if (strcmp(a, "--sign") == 0 && v)
            o->sign = v;
        else if (strcmp(a, "--clock-offset") == 0 && v)
            o->clock_offset = strtol(v, NULL, 10);
        else if (strcmp(a, "--count") == 0 && v)
            o->count = num(v);
        else {
            takes = false;
            if (strcmp(a, "--no-proxy") == 0)
                o->req.no_proxy = true;
            else if (strcmp(a, "--follow") == 0)
                o->req.follow_redirects = true;
            else if (strcmp(a, "--s3") == 0)
                o->s3 = true;
            else {
                fprintf(stderr, "http_get: unknown or incomplete option '%s'\n", a);
                exit(2);
            }
        }
        if (takes)
            i++;
    }
    if (i != argc - 1) {
        fprintf(stderr, "usage: http_get [options] URL\n");
        exit(2);
    }
    o->req.url = argv[i];
}

static int sign(struct opts *o, struct err *err)
{
    AUTOFREE char *spec = xstrdup(o->sign);
    char *slash = strchr(spec, '/');
    if (!slash)
        return err_set(err, ERR_USAGE, "--sign wants REGION/SERVICE, not '%s'", o->sign);
    *slash = '\0';
    struct sigv4_creds creds = {getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"),
                                getenv("AWS_SESSION_TOKEN")};
    struct sigv4_params p = {.region = spec,
                             .service = slash + 1,
                             .s3_mode = o->s3,
                             .clock_offset_sec = o->clock_offset};
    return sigv4_sign_headers(o->req.method, o->req.url, &o->headers, o->req.body, o->req.body_len,
                              &creds, &p, err);
}

static void print_response(const struct http_response *r, uint64_t progress_calls)
{
    fprintf(stderr, "status=%ld bytes=%zu streamed=%llu progress_calls=%llu\n", r->status,
            r->body.len, (unsigned long long)r->bytes_streamed, (unsigned long long)progress_calls);
    for (size_t i = 0; i < r->headers.n; i++)
        fprintf(stderr, "header %s: %s\n", r->headers.items[i].name, r->headers.items[i].value);
    if (r->body.len)
        fwrite(r->body.data, 1, r->body.len, stdout);
}

int main(int argc, char **argv)
{
    struct opts o = {.req = {.method = "GET", .out_fd = -1}, .count = 1};
    http_headers_init(&o.headers);
    parse_args(argc, argv, &o);
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct err e = ERR_INIT;
    if (stop_init(&stop_tok, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    o.copts.stop = &stop_tok;
    int rc = 1;
    AUTOCLOSE int fd = -1;
    if (o.out) {
        fd = open(o.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            perror(o.out);
            return 2;
        }
        o.req.out_fd = fd;
    }
    uint64_t progress_calls = 0;
    o.req.progress = progress;
    o.req.progress_arg = &progress_calls;
    struct http_client *c = http_client_new(&o.copts, &e);
    if (!c)
        goto out;
    if (o.sign && sign(&o, &e) < 0)
        goto out;
    o.req.headers = &o.headers;
    for (long n = 0; n < o.count; n++) {
        struct http_response r;
        int res = http_request(c, &o.req, &r, &e);
        if (res == 0)
            print_response(&r, progress_calls);
        http_response_done(&r);
        if (res < 0)
            goto out;
    }
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "error %s: %s\n", err_code_name(e.code), e.msg);
    http_client_free(c);
    http_headers_done(&o.headers);
    return rc;
}
