/*
 * commandsmsg: the Commands API messages without the transport: request bodies in the model's
 * member order, error replies and their classification (R-064, R-051, V-026), and the parsed
 * replies.  Pure functions over bytes; declared in commands.h and commands-internal.h.
 */
#include "aws/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aws/commands-internal.h"
#include "base/util.h"
#include "net/sigv4.h"

#define DIAG_MAX_CHARS 8192

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

int commands_parse_empty(const char *op, const char *body, size_t len, struct err *err)
{
    AUTOJSON cJSON *o = parse_object(op, body, len, err);
    return o ? 0 : -1;
}

int commands_check_diag(const char *op, const char *diag_json, struct err *err)
{
    if (diag_json && utf8_chars(diag_json) > DIAG_MAX_CHARS)
        return err_set(err, ERR_LIMIT, "%s: diagnostics payload is longer than %d characters", op,
                       DIAG_MAX_CHARS);
    return 0;
}
