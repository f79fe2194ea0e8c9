/* commands: see commands.h and commands-internal.h. */
#include "aws/commands.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "aws/commands-internal.h"
#include "base/stop.h"
#include "net/sigv4.h"
#include "base/util.h"

#define DIAG_MAX_CHARS 8192

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
    struct http_client *http;        /* owned; NULL when a transport is injected */
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

static void cleanup_cjson(cJSON **p)
{
    cJSON_Delete(*p);
}
#define AUTOJSON __attribute__((cleanup(cleanup_cjson)))

/* ---- small helpers ---- */

void commands_credentials_done(struct commands_credentials *c)
{
    if (!c)
        return;
    free(c->access_key_id);
    secret_free(c->secret_access_key);
    secret_free(c->session_token);
    c->access_key_id = c->secret_access_key = c->session_token = NULL;
}

void host_command_free(struct host_command *hc)
{
    if (!hc)
        return;
    free(hc->host_command_identifier);
    free(hc->host_identifier);
    free(hc->deployment_execution_id);
    free(hc->command_name);
    free(hc);
}

void commands_spec_free(struct commands_spec *s)
{
    if (!s)
        return;
    free(s->deployment_system);
    free(s->format);
    free(s->payload);
    free(s->variant_id);
    free(s);
}

const char *commands_status_name(enum commands_status s)
{
    switch (s) {
    case COMMANDS_STATUS_NONE:
        return "";
    case COMMANDS_STATUS_PENDING:
        return "Pending";
    case COMMANDS_STATUS_IN_PROGRESS:
        return "InProgress";
    case COMMANDS_STATUS_SUCCEEDED:
        return "Succeeded";
    case COMMANDS_STATUS_FAILED:
        return "Failed";
    case COMMANDS_STATUS_OTHER:
        return "Other";
    }
    return "";
}

static void copy_str(char *dst, size_t sz, const char *src, size_t n)
{
    if (sz == 0)
        return;
    if (n >= sz)
        n = sz - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Print a cJSON tree compactly into a libc-allocated string. */
static char *print_json(const cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (!s)
        abort(); /* only fails on allocation failure */
    char *r = xstrdup(s);
    cJSON_free(s);
    return r;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* ---- request bodies: members in the model's order (as the AWS SDKs send them) ---- */

static void add_diagnostics(cJSON *o, const char *payload)
{
    cJSON *d = cJSON_AddObjectToObject(o, "Diagnostics");
    cJSON_AddStringToObject(d, "Format", "JSON");
    cJSON_AddStringToObject(d, "Payload", payload);
}

char *commands_body_poll(const char *host_identifier)
{
    AUTOJSON cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "HostIdentifier", host_identifier);
    return print_json(o);
}

char *commands_body_get_spec(const char *deployment_execution_id, const char *host_identifier)
{
    AUTOJSON cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "DeploymentExecutionId", deployment_execution_id);
    cJSON_AddStringToObject(o, "HostIdentifier", host_identifier);
    return print_json(o);
}

char *commands_body_ack(const char *host_command_identifier, bool is_noop)
{
    AUTOJSON cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "HostCommandIdentifier", host_command_identifier);
    /* exactly {"IsCommandNoop":true|false}. */
    add_diagnostics(o, is_noop ? "{\"IsCommandNoop\":true}" : "{\"IsCommandNoop\":false}");
    return print_json(o);
}

char *commands_body_complete(const char *host_command_identifier, bool succeeded,
                             const char *diag_json)
{
    AUTOJSON cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "HostCommandIdentifier", host_command_identifier);
    cJSON_AddStringToObject(o, "CommandStatus", succeeded ? "Succeeded" : "Failed");
    if (diag_json)
        add_diagnostics(o, diag_json);
    return print_json(o);
}

char *commands_body_post_update(const char *host_command_identifier,
                                int64_t estimated_completion_epoch_s, const char *diag_json)
{
    AUTOJSON cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "HostCommandIdentifier", host_command_identifier);
    /* JSON 1.1 timestamps are epoch seconds as a JSON number. */
    if (estimated_completion_epoch_s > 0)
        cJSON_AddNumberToObject(o, "EstimatedCompletionTime", (double)estimated_completion_epoch_s);
    if (diag_json)
        add_diagnostics(o, diag_json);
    return print_json(o);
}

/* ---- errors ---- */

void commands_parse_error(long status, const struct http_headers *headers, const char *body,
                          size_t body_len, char *code, size_t code_sz, char *msg, size_t msg_sz)
{
    code[0] = '\0';
    msg[0] = '\0';
    AUTOJSON cJSON *o = body && body_len ? cJSON_ParseWithLength(body, body_len) : NULL;
    if (cJSON_IsObject(o)) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "__type");
        if (cJSON_IsString(t) && *t->valuestring) {
            /* "com.amazon.coral.service#Code" -> "Code"; V-025 also drops a ":suffix". */
            const char *s = strrchr(t->valuestring, '#');
            s = s ? s + 1 : t->valuestring;
            const char *colon = strchr(s, ':');
            copy_str(code, code_sz, s, colon ? (size_t)(colon - s) : strlen(s));
        }
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
        if (!cJSON_IsString(m))
            m = cJSON_GetObjectItemCaseSensitive(o, "Message");
        if (cJSON_IsString(m)) {
            /* First line only: InvalidSignatureException goes on with the canonical request,
             * whose headers include the session token, and err messages are one line. */
            size_t n = strcspn(m->valuestring, "\r\n");
            copy_str(msg, msg_sz, m->valuestring, n);
            for (char *q = msg; *q; q++)
                if ((unsigned char)*q < 0x20)
                    *q = ' ';
        }
    }
    if (!code[0] && headers) {
        const char *h = http_headers_get(headers, "x-amzn-ErrorType");
        if (h && *h) {
            const char *colon = strchr(h, ':');
            copy_str(code, code_sz, h, colon ? (size_t)(colon - h) : strlen(h));
        }
    }
    if (!code[0])
        snprintf(code, code_sz, "HTTP%ld", status);
    if (!msg[0] && status == 429)
        copy_str(msg, msg_sz, "Rate exceeded", 13);
    if (!msg[0] && body && body_len && !cJSON_IsObject(o)) {
        /* A non-JSON error body (a proxy's page): keep its start, printable ASCII only. */
        size_t n = 0;
        for (size_t i = 0; i < body_len && n + 1 < msg_sz && n < 200; i++) {
            unsigned char ch = (unsigned char)body[i];
            msg[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : ' ';
        }
        msg[n] = '\0';
    }
}

bool commands_is_throttle_code(const char *code)
{
    return http_is_throttle_code(code);
}

bool commands_is_auth_code(const char *code)
{
    static const char *const codes[] = {
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "IncompleteSignature",
        "IncompleteSignatureException",
        "MissingAuthenticationToken",
        "MissingAuthenticationTokenException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "AuthFailure",
        "NotAuthorized",
        "RequestExpired",
        "RequestTimeTooSkewed",
        NULL,
    };
    for (size_t i = 0; code && codes[i]; i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

enum commands_error_class commands_classify(long status, const char *code, const char *message)
{
    if (sigv4_is_skew_error(code, message))
        return COMMANDS_ERROR_SKEW;
    /* The mirror image of "Signature expired": our clock is ahead of the service's. */
    if (str_eq(code, "InvalidSignatureException") && message &&
        (strstr(message, "Signature not yet current") || strstr(message, "is still later than")))
        return COMMANDS_ERROR_SKEW;
    if (str_eq(code, "ExpiredToken") || str_eq(code, "ExpiredTokenException"))
        return COMMANDS_ERROR_EXPIRED;
    if (status == 429 || commands_is_throttle_code(code) ||
        (message && (strstr(message, "Rate exceeded") || strstr(message, "rate exceeded"))))
        return COMMANDS_ERROR_THROTTLE;
    if (status >= 500)
        return COMMANDS_ERROR_RETRY;
    return COMMANDS_ERROR_FATAL;
}

/* ---- responses ---- */

static cJSON *parse_object(const char *op, const char *body, size_t len, struct err *err)
{
    if (!body || len == 0)
        return cJSON_CreateObject(); /* an empty 200 body is an empty structure */
    cJSON *o = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        err_set(err, ERR_PARSE, "%s: response is not a JSON object", op);
        return NULL;
    }
    return o;
}

static char *member_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

int commands_parse_poll(const char *body, size_t len, struct host_command **ret, struct err *err)
{
    AUTOJSON cJSON *o = parse_object("PollHostCommand", body, len, err);
    if (!o)
        return -1;
    const cJSON *hc = cJSON_GetObjectItemCaseSensitive(o, "HostCommand");
    if (!hc || cJSON_IsNull(hc)) {
        *ret = NULL;
        return 0;
    }
    if (!cJSON_IsObject(hc))
        return err_set(err, ERR_PARSE, "PollHostCommand: HostCommand is not an object");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(hc, "HostCommandIdentifier");
    if (!cJSON_IsString(id) || !*id->valuestring)
        return err_set(err, ERR_PARSE, "PollHostCommand: HostCommand has no HostCommandIdentifier");
    struct host_command *r = xcalloc(1, sizeof(*r));
    r->host_command_identifier = xstrdup(id->valuestring);
    r->host_identifier = member_str(hc, "HostIdentifier");
    r->deployment_execution_id = member_str(hc, "DeploymentExecutionId");
    r->command_name = member_str(hc, "CommandName");
    const cJSON *nonce = cJSON_GetObjectItemCaseSensitive(hc, "Nonce");
    if (cJSON_IsNumber(nonce)) {
        r->nonce = (int64_t)nonce->valuedouble;
        r->has_nonce = true;
    }
    *ret = r;
    return 0;
}

static enum commands_status status_from(const char *s)
{
    static const struct {
        const char *name;
        enum commands_status st;
    } names[] = {
        {"Pending", COMMANDS_STATUS_PENDING},
        {"InProgress", COMMANDS_STATUS_IN_PROGRESS},
        {"Succeeded", COMMANDS_STATUS_SUCCEEDED},
        {"Failed", COMMANDS_STATUS_FAILED},
    };
    if (!s || !*s)
        return COMMANDS_STATUS_NONE;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i].name) == 0)
            return names[i].st;
    return COMMANDS_STATUS_OTHER;
}

int commands_parse_status(const char *body, size_t len, enum commands_status *ret, struct err *err)
{
    AUTOJSON cJSON *o = parse_object("CommandStatus", body, len, err);
    if (!o)
        return -1;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "CommandStatus");
    *ret = status_from(cJSON_IsString(st) ? st->valuestring : NULL);
    return 0;
}

int commands_parse_spec(const char *body, size_t len, struct commands_spec **ret, struct err *err)
{
    AUTOJSON cJSON *o = parse_object("GetDeploymentSpecification", body, len, err);
    if (!o)
        return -1;
    struct commands_spec *s = xcalloc(1, sizeof(*s));
    s->deployment_system = member_str(o, "DeploymentSystem");
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(o, "DeploymentSpecification");
    if (cJSON_IsObject(ds)) {
        s->has_specification = true;
        s->variant_id = member_str(ds, "VariantId");
        const cJSON *env = cJSON_GetObjectItemCaseSensitive(ds, "GenericEnvelope");
        if (cJSON_IsObject(env)) {
            s->has_envelope = true;
            s->format = member_str(env, "Format");
            s->payload = member_str(env, "Payload");
            s->payload_len = s->payload ? strlen(s->payload) : 0;
        }
    }
    *ret = s;
    return 0;
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
        xstrdup(opts->agent_version && *opts->agent_version ? opts->agent_version
                                                            : "cdagent-" CDAGENT_VERSION);
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

/* V-026: wait while the gate is closed, plus 0-25 % of the wait as jitter. */
static void gate_wait(struct commands_client *c)
{
    uint64_t deadline = gate_deadline();
    uint64_t now = mono_now(c);
    if (deadline <= now)
        return;
    uint64_t wait = deadline - now;
    uint64_t q = wait / 4;
    uint64_t jitter = rand_below(q >= UINT32_MAX ? UINT32_MAX : (uint32_t)q + 1);
    pause_ms(c, wait + jitter);
}

static time_t local_now(const struct commands_client *c)
{
    return c->wall_clock ? (time_t)c->wall_clock() : time(NULL);
}

/* Sign and send one attempt.  Returns the transport's result; *resp is always initialised. */
static int attempt(struct commands_client *c, const char *op, const char *body, bool refresh,
                   struct http_response *resp, struct err *err)
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

/*
 * One operation with the retries of R-064 and the skew/credential handling of R-051.  On success
 * *ret_body is the response body (caller frees) and *ret_len its length.
 */
static int call(struct commands_client *c, const char *op, const char *body, char **ret_body,
                size_t *ret_len, struct err *err)
{
    uint64_t start = now_ms();
    bool refresh = false;
    bool skew_fixed = false;
    int n = 0;          /* R-064 retries used */
    int throttled = 0;  /* V-026 retries used */
    memset(&c->last, 0, sizeof(c->last));
    c->last.operation = op;
    for (;;) {
        if (!stopping(c))
            gate_wait(c);
        if (stopping(c)) {
            c->last.elapsed_ms = now_ms() - start;
            return err_set(err, ERR_CANCELLED, "%s: cancelled, the agent is stopping", op);
        }
        struct err aerr = ERR_INIT;
        struct http_response resp;
        int rc = attempt(c, op, body, refresh, &resp, &aerr);
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
            commands_parse_error(resp.status, &resp.headers, resp.body.data, resp.body.len,
                                 c->last.error_code, sizeof(c->last.error_code),
                                 c->last.error_message, sizeof(c->last.error_message));
            cls = commands_classify(resp.status, c->last.error_code, c->last.error_message);
            if (cls == COMMANDS_ERROR_SKEW) {
                long off = 0;
                const char *date = http_headers_get(&resp.headers, "Date");
                if (skew_fixed || sigv4_clock_offset(date, local_now(c), &off, NULL) < 0) {
                    cls = COMMANDS_ERROR_FATAL;
                } else {
                    c->clock_offset_sec = off;
                    skew_fixed = true;
                    refresh = str_eq(c->last.error_code, "RequestExpired");
                }
            } else if (cls == COMMANDS_ERROR_EXPIRED) {
                refresh = true;
            } else if (cls == COMMANDS_ERROR_THROTTLE) {
                gate_trip(mono_now(c));
            }
        }
        http_response_done(&resp);
        bool retry = cls == COMMANDS_ERROR_THROTTLE ? throttled < c->max_throttle_retries
                                                    : cls != COMMANDS_ERROR_FATAL &&
                                                          n < c->max_retries;
        if (!retry) {
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
                pause_ms(c, rand_below(base + 1)); /* full jitter: [0, 0.3 s * 2^n] */
            }
            n++;
        }
        c->last.retries++;
    }
}

int commands_poll(struct commands_client *c, const char *host_identifier, struct host_command **ret,
                  struct err *err)
{
    AUTOFREE char *body = commands_body_poll(host_identifier);
    AUTOFREE char *resp = NULL;
    size_t len = 0;
    if (call(c, "PollHostCommand", body, &resp, &len, err) < 0)
        return -1;
    return commands_parse_poll(resp, len, ret, err);
}

int commands_ack(struct commands_client *c, const char *host_command_identifier, bool is_noop,
                 enum commands_status *ret_status, struct err *err)
{
    AUTOFREE char *body = commands_body_ack(host_command_identifier, is_noop);
    AUTOFREE char *resp = NULL;
    size_t len = 0;
    if (call(c, "PutHostCommandAcknowledgement", body, &resp, &len, err) < 0)
        return -1;
    enum commands_status st;
    if (commands_parse_status(resp, len, &st, err) < 0)
        return -1;
    if (ret_status)
        *ret_status = st;
    return 0;
}

int commands_get_spec(struct commands_client *c, const char *deployment_execution_id,
                      const char *host_identifier, struct commands_spec **ret, struct err *err)
{
    AUTOFREE char *body = commands_body_get_spec(deployment_execution_id, host_identifier);
    AUTOFREE char *resp = NULL;
    size_t len = 0;
    if (call(c, "GetDeploymentSpecification", body, &resp, &len, err) < 0)
        return -1;
    return commands_parse_spec(resp, len, ret, err);
}

static int check_diag(const char *op, const char *diag_json, struct err *err)
{
    if (diag_json && utf8_chars(diag_json) > DIAG_MAX_CHARS)
        return err_set(err, ERR_LIMIT, "%s: diagnostics payload is longer than %d characters", op,
                       DIAG_MAX_CHARS);
    return 0;
}

int commands_complete(struct commands_client *c, const char *host_command_identifier,
                      bool succeeded, const char *diag_json, struct err *err)
{
    if (check_diag("PutHostCommandComplete", diag_json, err) < 0)
        return -1;
    AUTOFREE char *body = commands_body_complete(host_command_identifier, succeeded, diag_json);
    AUTOFREE char *resp = NULL;
    size_t len = 0;
    if (call(c, "PutHostCommandComplete", body, &resp, &len, err) < 0)
        return -1;
    /* The output shape is empty; still refuse a reply that is not JSON at all. */
    AUTOJSON cJSON *o = parse_object("PutHostCommandComplete", resp, len, err);
    return o ? 0 : -1;
}

int commands_post_update(struct commands_client *c, const char *host_command_identifier,
                         int64_t estimated_completion_epoch_s, const char *diag_json,
                         enum commands_status *ret_status, struct err *err)
{
    if (check_diag("PostHostCommandUpdate", diag_json, err) < 0)
        return -1;
    AUTOFREE char *body =
        commands_body_post_update(host_command_identifier, estimated_completion_epoch_s, diag_json);
    AUTOFREE char *resp = NULL;
    size_t len = 0;
    if (call(c, "PostHostCommandUpdate", body, &resp, &len, err) < 0)
        return -1;
    enum commands_status st;
    if (commands_parse_status(resp, len, &st, err) < 0)
        return -1;
    if (ret_status)
        *ret_status = st;
    return 0;
}
