/* commands: see commands.h and commands-internal.h. */
#include "aws/commands.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/commands-internal.h"
#include "base/stop.h"
#include "net/sigv4.h"
#include "base/buf.h"
#include "base/util.h"
#include "sys/version.h"

struct commands_client {
    char *url;           /* owned; endpoint with the "/" path */
    char *region;        /* owned */
    char *agent_version; /* owned */
    bool secure;
    int max_retries;
    commands_creds_fn get_creds;     /* borrowed callback */
    void *creds_arg;                 /* borrowed */
    const struct stop *stop;         /* borrowed, may be NULL */
    commands_sleep_fn sleep;         /* borrowed callback, may be NULL */
    void *sleep_arg;                 /* borrowed */
    commands_transport_fn transport; /* borrowed callback, may be NULL */
    void *transport_arg;             /* borrowed */
    int64_t (*wall_clock)(void);     /* may be NULL */
    uint64_t (*mono_clock_ms)(void); /* may be NULL */
    int max_throttle_retries;
    long read_timeout_ms;     /* */
    long deadline_ms;         /* > 0: override of the per-operation deadlines */
    struct http_client *http; /* owned; NULL when a transport is injected */
    long clock_offset_sec;
    struct commands_call_info last;
};

/*
 * V-026: one throttle gate for the whole process, so that every thread's client backs off
 * together when the service says "Rate exceeded".  next_backoff_ms 0 means the first backoff.
 */
static struct {
    pthread_mutex_t mu;
    uint64_t deadline_ms; /* monotonic; 0: open */
    uint64_t next_backoff_ms;
} gate = {PTHREAD_MUTEX_INITIALIZER, 0, 0};

static void gate_open(void)
{
    pthread_mutex_lock(&gate.mu);
    gate.deadline_ms = 0;
    gate.next_backoff_ms = 0;
    pthread_mutex_unlock(&gate.mu);
}

void commands_gate_reset(void)
{
    gate_open();
}

void commands_gate_state(uint64_t *ret_deadline_ms, uint64_t *ret_next_backoff_ms)
{
    pthread_mutex_lock(&gate.mu);
    *ret_deadline_ms = gate.deadline_ms;
    *ret_next_backoff_ms = gate.next_backoff_ms ? gate.next_backoff_ms : COMMANDS_GATE_BASE_MS;
    pthread_mutex_unlock(&gate.mu);
}

/* A throttled response: close the gate unless it is closed already (threads that hit the same
 * throttling event count once). */
static void gate_trip(uint64_t now)
{
    pthread_mutex_lock(&gate.mu);
    if (gate.deadline_ms <= now) {
        uint64_t b = gate.next_backoff_ms ? gate.next_backoff_ms : COMMANDS_GATE_BASE_MS;
        gate.deadline_ms = now + b;
        gate.next_backoff_ms = 2 * b > COMMANDS_GATE_CAP_MS ? COMMANDS_GATE_CAP_MS : 2 * b;
    }
    pthread_mutex_unlock(&gate.mu);
}

static uint64_t gate_deadline(void)
{
    pthread_mutex_lock(&gate.mu);
    uint64_t d = gate.deadline_ms;
    pthread_mutex_unlock(&gate.mu);
    return d;
}

/* ---- client ---- */

static char *endpoint_url(const char *endpoint)
{
    const char *p = strstr(endpoint, "://");
    p = p ? p + 3 : endpoint;
    if (strchr(p, '/'))
        return xstrdup(endpoint);
    return xasprintf("%s/", endpoint);
}

struct commands_client *commands_client_new(const struct commands_opts *opts, struct err *err)
{
    if (!opts || !opts->endpoint || !*opts->endpoint) {
        err_set(err, ERR_USAGE, "create Commands client: no endpoint");
        return NULL;
    }
    if (!opts->region || !*opts->region) {
        err_set(err, ERR_USAGE, "create Commands client: no region");
        return NULL;
    }
    if (!opts->get_creds) {
        err_set(err, ERR_USAGE, "create Commands client: no credential source");
        return NULL;
    }
    struct http_client *http = NULL;
    if (!opts->transport) {
        struct http_client_opts ho = {
            .read_timeout_ms = opts->read_timeout_ms,
            .proxy_uri = opts->proxy_uri,
            .user_agent = opts->user_agent,
            .stop = opts->stop,
            .wire = opts->wire,
        };
        http = http_client_new(&ho, err);
        if (!http) {
            err_prefix(err, "create Commands client");
            return NULL;
        }
    }
    struct commands_client *c = xcalloc(1, sizeof(*c));
    c->url = endpoint_url(opts->endpoint);
    c->region = xstrdup(opts->region);
    c->agent_version =
        xstrdup(opts->agent_version && *opts->agent_version ? opts->agent_version : version_own());
    c->secure = opts->secure;
    c->max_retries = opts->max_retries < 0    ? 0
                     : opts->max_retries == 0 ? COMMANDS_MAX_RETRIES
                                              : opts->max_retries;
    c->get_creds = opts->get_creds;
    c->creds_arg = opts->creds_arg;
    c->stop = opts->stop;
    c->sleep = opts->sleep;
    c->sleep_arg = opts->sleep_arg;
    c->transport = opts->transport;
    c->transport_arg = opts->transport_arg;
    c->wall_clock = opts->wall_clock;
    c->mono_clock_ms = opts->mono_clock_ms;
    c->max_throttle_retries = opts->max_retries < 0 ? 0 : COMMANDS_MAX_THROTTLE_RETRIES;
    c->read_timeout_ms = opts->read_timeout_ms > 0 ? opts->read_timeout_ms : 80000;
    c->deadline_ms = opts->deadline_ms;
    c->http = http;
    return c;
}

void commands_client_free(struct commands_client *c)
{
    if (!c)
        return;
    http_client_free(c->http);
    free(c->url);
    free(c->region);
    free(c->agent_version);
    free(c);
}

const struct commands_call_info *commands_last_call(const struct commands_client *c)
{
    return &c->last;
}

int64_t commands_clock_offset(const struct commands_client *c)
{
    return c->clock_offset_sec;
}

void commands_set_clock_offset(struct commands_client *c, int64_t offset_sec)
{
    c->clock_offset_sec = (long)offset_sec;
}

char *commands_format_call(const struct commands_call_info *ci, const char *params, char *out,
                           size_t outsz)
{
    snprintf(out, outsz, "[CodeDeployCommand %ld %llu.%03llu %d retries] %s(%s)", ci->status,
             (unsigned long long)(ci->elapsed_ms / 1000),
             (unsigned long long)(ci->elapsed_ms % 1000), ci->retries,
             ci->operation ? ci->operation : "", params ? params : "");
    return out;
}

static bool stopping(struct commands_client *c)
{
    return stop_requested(c->stop);
}

static void pause_ms(struct commands_client *c, uint64_t ms)
{
    if (c->sleep) {
        c->sleep(c->sleep_arg, ms);
        return;
    }
    (void)stop_wait_ms(c->stop, ms);
}

static uint64_t mono_now(const struct commands_client *c)
{
    return c->mono_clock_ms ? c->mono_clock_ms() : now_ms();
}

/* Milliseconds left before deadline (monotonic ms); 0 once it passed. */
static long time_left(uint64_t deadline)
{
    uint64_t now = now_ms();
    return now >= deadline ? 0 : (long)(deadline - now);
}

/* Pause for ms, but not past the call's deadline. */
static void pause_until(struct commands_client *c, uint64_t ms, uint64_t deadline)
{
    uint64_t left = (uint64_t)time_left(deadline);
    pause_ms(c, ms < left ? ms : left);
}

/* The whole-call deadline of op (see commands.h). */
static long op_deadline_ms(const struct commands_client *c, const char *op)
{
    if (c->deadline_ms > 0)
        return c->deadline_ms;
    if (strcmp(op, "PollHostCommand") == 0)
        return c->read_timeout_ms + COMMANDS_POLL_MARGIN_MS;
    return COMMANDS_CALL_DEADLINE_MS;
}

/* V-026: wait while the gate is closed, plus 0-25 % of the wait as jitter. */
static void gate_wait(struct commands_client *c, uint64_t call_deadline)
{
    uint64_t deadline = gate_deadline();
    uint64_t now = mono_now(c);
    if (deadline <= now)
        return;
    uint64_t wait = deadline - now;
    uint64_t q = wait / 4;
    uint64_t jitter = rand_below(q >= UINT32_MAX ? UINT32_MAX : (uint32_t)q + 1);
    pause_until(c, wait + jitter, call_deadline);
}

static time_t local_now(const struct commands_client *c)
{
    return c->wall_clock ? (time_t)c->wall_clock() : time(NULL);
}

/* Sign and send one attempt.  Returns the transport's result; *resp is always initialised. */
static int attempt(struct commands_client *c, const char *op, const char *body, bool refresh,
                   long timeout_ms, struct http_response *resp, struct err *err)
{
    struct commands_credentials cr = {0};
    resp->status = 0;
    http_headers_init(&resp->headers);
    buf_init(&resp->body, 0);
    if (c->get_creds(c->creds_arg, refresh, &cr, err) < 0) {
        commands_credentials_done(&cr);
        return -1;
    }
    AUTOFREE char *target =
        xasprintf("%s.%s", c->secure ? COMMANDS_TARGET_PREFIX_SECURE : COMMANDS_TARGET_PREFIX, op);
    struct http_headers h;
    http_headers_init(&h);
    http_headers_add(&h, "Content-Type", COMMANDS_CONTENT_TYPE);
    http_headers_add(&h, "X-Amz-Target", target);
    http_headers_add(&h, "x-amz-codedeploy-agent-version", c->agent_version);
    struct sigv4_creds sc = {cr.access_key_id, cr.secret_access_key, cr.session_token};
    struct sigv4_params sp = {
        .region = c->region,
        .service = c->secure ? COMMANDS_SIGNING_NAME_SECURE : COMMANDS_SIGNING_NAME,
        .now = local_now(c),
        .clock_offset_sec = c->clock_offset_sec,
    };
    size_t len = strlen(body);
    int rc = sigv4_sign_headers("POST", c->url, &h, body, len, &sc, &sp, err);
    commands_credentials_done(&cr);
    if (rc < 0) {
        http_headers_done(&h);
        err_prefix(err, "%s: sign request", op);
        return -1;
    }
    struct http_request req = {
        .method = "POST",
        .url = c->url,
        .headers = &h,
        .body = body,
        .body_len = len,
        .max_response = COMMANDS_MAX_RESPONSE,
        .out_fd = -1,
        .timeout_ms = timeout_ms,
        .wire_bodies = true, /* Commands bodies are wire-logged (redacted) */
    };
    http_response_done(resp);
    if (c->transport)
        rc = c->transport(c->transport_arg, &req, resp, err);
    else
        rc = http_request(c->http, &req, resp, err);
    http_headers_done(&h);
    return rc;
}

static int service_error(struct commands_client *c, enum commands_error_class cls, struct err *err)
{
    const char *code = c->last.error_code;
    int kind = ERR_HTTP;
    if (cls == COMMANDS_ERROR_THROTTLE)
        kind = ERR_THROTTLED;
    else if (commands_is_auth_code(code) || cls == COMMANDS_ERROR_EXPIRED ||
             cls == COMMANDS_ERROR_SKEW)
        kind = ERR_AUTH;
    if (c->last.error_message[0])
        return err_set(err, kind, "%s: %s", code, c->last.error_message);
    return err_set(err, kind, "%s: HTTP status %ld", code, c->last.status);
}

/* Classify a non-2xx reply into c->last and act on it: correct the signing clock once,
 * ask for fresh credentials, trip the throttle gate (V-026). */
static enum commands_error_class service_reply(struct commands_client *c,
                                               const struct http_response *resp, bool *skew_fixed,
                                               bool *refresh)
{
    commands_parse_error(resp->status, &resp->headers, resp->body.data, resp->body.len,
                         c->last.error_code, sizeof(c->last.error_code), c->last.error_message,
                         sizeof(c->last.error_message));
    enum commands_error_class cls =
        commands_classify(resp->status, c->last.error_code, c->last.error_message);
    if (cls == COMMANDS_ERROR_SKEW) {
        long off = 0;
        const char *date = http_headers_get(&resp->headers, "Date");
        if (*skew_fixed || sigv4_clock_offset(date, local_now(c), &off, NULL) < 0)
            return COMMANDS_ERROR_FATAL;
        c->clock_offset_sec = off;
        *skew_fixed = true;
        *refresh = str_eq(c->last.error_code, "RequestExpired");
    } else if (cls == COMMANDS_ERROR_EXPIRED) {
        *refresh = true;
    } else if (cls == COMMANDS_ERROR_THROTTLE) {
        gate_trip(mono_now(c));
    }
    return cls;
}

/* The call ran out of time: say which limit, and what the last attempt ran into. */
static int deadline_error(struct commands_client *c, const char *op, long limit_ms,
                          const struct err *last, uint64_t start, struct err *err)
{
    c->last.elapsed_ms = now_ms() - start;
    if (last->code != ERR_NONE)
        return err_set(err, ERR_TIMEOUT, "%s: call deadline of %ld s exceeded: %s", op,
                       limit_ms / 1000, last->msg);
    return err_set(err, ERR_TIMEOUT,
                   "%s: call deadline of %ld s exceeded before a request "
                   "could be sent",
                   op, limit_ms / 1000);
}

/*
 * One operation with the retries of R-064 and the skew/credential handling of R-051, within the
 * operation's deadline.  On success *ret_body is the response body (caller frees) and *ret_len
 * its length.
 */
static int call(struct commands_client *c, const char *op, const char *body, char **ret_body,
                size_t *ret_len, struct err *err)
{
    uint64_t start = now_ms();
    long limit = op_deadline_ms(c, op);
    uint64_t deadline = start + (uint64_t)limit;
    struct err last = ERR_INIT; /* the latest failed attempt's error */
    bool refresh = false;
    bool skew_fixed = false;
    int n = 0;         /* R-064 retries used */
    int throttled = 0; /* V-026 retries used */
    memset(&c->last, 0, sizeof(c->last));
    c->last.operation = op;
    for (;;) {
        if (!stopping(c))
            gate_wait(c, deadline);
        if (stopping(c)) {
            c->last.elapsed_ms = now_ms() - start;
            return err_set(err, ERR_CANCELLED, "%s: cancelled, the agent is stopping", op);
        }
        long left = time_left(deadline);
        if (left == 0)
            return deadline_error(c, op, limit, &last, start, err);
        struct err aerr = ERR_INIT;
        struct http_response resp;
        int rc = attempt(c, op, body, refresh, left, &resp, &aerr);
        if (rc < 0)
            last = aerr;
        refresh = false;
        c->last.status = rc < 0 ? 0 : resp.status;
        c->last.error_code[0] = c->last.error_message[0] = '\0';
        enum commands_error_class cls;
        if (rc < 0) {
            cls = (aerr.code == ERR_HTTP || aerr.code == ERR_TIMEOUT) ? COMMANDS_ERROR_RETRY
                                                                      : COMMANDS_ERROR_FATAL;
        } else if (resp.status >= 200 && resp.status < 300) {
            gate_open();
            *ret_len = resp.body.len;
            *ret_body = resp.body.data ? buf_steal(&resp.body) : xstrdup("");
            http_response_done(&resp);
            c->last.elapsed_ms = now_ms() - start;
            return 0;
        } else {
            cls = service_reply(c, &resp, &skew_fixed, &refresh);
        }
        http_response_done(&resp);
        bool retry = cls == COMMANDS_ERROR_THROTTLE
                         ? throttled < c->max_throttle_retries
                         : cls != COMMANDS_ERROR_FATAL && n < c->max_retries;
        if (!retry) {
            if (rc < 0 && aerr.code == ERR_TIMEOUT && time_left(deadline) == 0)
                return deadline_error(c, op, limit, &last, start, err);
            c->last.elapsed_ms = now_ms() - start;
            if (rc < 0) {
                err_set(err, aerr.code, "%s", aerr.msg);
                return -1;
            }
            return service_error(c, cls, err);
        }
        /* Skew and expiry are fixed by the retry itself; the gate paces throttled retries; other
         * load-related errors back off. */
        if (cls == COMMANDS_ERROR_THROTTLE) {
            throttled++;
        } else {
            if (cls == COMMANDS_ERROR_RETRY) {
                uint32_t base = (uint32_t)COMMANDS_RETRY_BASE_MS << n;
                /* full jitter: [0, 0.3 s * 2^n] */
                pause_until(c, rand_below(base + 1), deadline);
            }
            n++;
        }
        c->last.retries++;
    }
}

/* ---- the operations: build the body, call, parse the reply ---- */

typedef int (*reply_fn)(const char *body, size_t len, void *ret, struct err *err);

static int reply_poll(const char *body, size_t len, void *ret, struct err *err)
{
    return commands_parse_poll(body, len, ret, err);
}

static int reply_spec(const char *body, size_t len, void *ret, struct err *err)
{
    return commands_parse_spec(body, len, ret, err);
}

/* ret may be NULL: the status is checked but not wanted. */
static int reply_status(const char *body, size_t len, void *ret, struct err *err)
{
    enum commands_status st;
    if (commands_parse_status(body, len, &st, err) < 0)
        return -1;
    if (ret)
        *(enum commands_status *)ret = st;
    return 0;
}

static int reply_empty(const char *body, size_t len, void *ret, struct err *err)
{
    (void)ret;
    return commands_parse_empty("PutHostCommandComplete", body, len, err);
}

/* POST body (owned, freed here) as op and parse the reply into ret. */
static int operation(struct commands_client *c, const char *op, char *body, reply_fn parse,
                     void *ret, struct err *err)
{
    AUTOFREE char *owned = body;
    AUTOFREE char *resp = NULL;
    size_t len = 0;
    if (call(c, op, owned, &resp, &len, err) < 0)
        return -1;
    return parse(resp, len, ret, err);
}

int commands_poll(struct commands_client *c, const char *host_identifier, struct host_command **ret,
                  struct err *err)
{
    return operation(c, "PollHostCommand", commands_body_poll(host_identifier), reply_poll, ret,
                     err);
}

int commands_ack(struct commands_client *c, const char *host_command_identifier, bool is_noop,
                 enum commands_status *ret_status, struct err *err)
{
    return operation(c, "PutHostCommandAcknowledgement",
                     commands_body_ack(host_command_identifier, is_noop), reply_status, ret_status,
                     err);
}

int commands_get_spec(struct commands_client *c, const char *deployment_execution_id,
                      const char *host_identifier, struct commands_spec **ret, struct err *err)
{
    return operation(c, "GetDeploymentSpecification",
                     commands_body_get_spec(deployment_execution_id, host_identifier), reply_spec,
                     ret, err);
}

int commands_complete(struct commands_client *c, const char *host_command_identifier,
                      bool succeeded, const char *diag_json, struct err *err)
{
    if (commands_check_diag("PutHostCommandComplete", diag_json, err) < 0)
        return -1;
    return operation(c, "PutHostCommandComplete",
                     commands_body_complete(host_command_identifier, succeeded, diag_json),
                     reply_empty, NULL, err);
}

int commands_post_update(struct commands_client *c, const char *host_command_identifier,
                         int64_t estimated_completion_epoch_s, const char *diag_json,
                         enum commands_status *ret_status, struct err *err)
{
    if (commands_check_diag("PostHostCommandUpdate", diag_json, err) < 0)
        return -1;
    return operation(
        c, "PostHostCommandUpdate",
        commands_body_post_update(host_command_identifier, estimated_completion_epoch_s, diag_json),
        reply_status, ret_status, err);
}
