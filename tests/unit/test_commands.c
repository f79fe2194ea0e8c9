/* Tests for commands: request bodies and headers (R-047, R-050, R-056..R-062, R-196), error
 * parsing, retries, clock skew, credential refresh, response shapes
 * (R-056..R-058, V-003, V-005).  The HTTP layer is replaced by a scripted transport. */
#include <string.h>

#include "aws/commands-internal.h"
#include "aws/commands.h"
#include "base/err.h"
#include "net/http.h"
#include "test.h"
#include "base/stop.h"
#include "base/buf.h"
#include "base/util.h"

#define HOST_ID "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"
#define T0 1700000000 /* 2023-11-14T22:13:20Z, a Tuesday */

struct canned {
    long status;  /* 0: transport error */
    int err_code; /* for status 0 */
    const char *body;
    const char *hname, *hvalue; /* one response header, may be NULL */
};

struct script {
    const struct canned *steps;
    size_t n;
    size_t calls;
    char *bodies[8]; /* request bodies seen */
    char *amz_date[8];
    char *target[8];
    char *auth[8];
    char *token[8];
    char *ctype[8];
    char *version[8];
    char *url[8];
    uint64_t sleeps[8];
    long timeouts[8]; /* each request's timeout_ms */
    size_t n_sleeps;
    int creds_calls;
    int refreshes;
    struct stop stop; /* zeroed: a flag without an fd is enough here */
    bool advance;     /* sleeps advance the fake monotonic clock (V-026 gate tests) */
};

static uint64_t fake_mono_ms = 5000000;

static uint64_t fake_mono(void)
{
    return fake_mono_ms;
}

static char *dup_hdr(const struct http_headers *h, const char *name)
{
    const char *v = http_headers_get(h, name);
    return v ? xstrdup(v) : NULL;
}

static int fake_transport(void *arg, const struct http_request *req, struct http_response *ret,
                          struct err *err)
{
    struct script *s = arg;
    ret->status = 0;
    http_headers_init(&ret->headers);
    buf_init(&ret->body, req->max_response);
    size_t i = s->calls++;
    if (i < 8) {
        s->bodies[i] = xstrndup(req->body, req->body_len);
        s->amz_date[i] = dup_hdr(req->headers, "X-Amz-Date");
        s->target[i] = dup_hdr(req->headers, "X-Amz-Target");
        s->auth[i] = dup_hdr(req->headers, "Authorization");
        s->token[i] = dup_hdr(req->headers, "X-Amz-Security-Token");
        s->ctype[i] = dup_hdr(req->headers, "Content-Type");
        s->version[i] = dup_hdr(req->headers, "x-amz-codedeploy-agent-version");
        s->url[i] = xstrdup(req->url);
        s->timeouts[i] = req->timeout_ms;
        if (strcmp(req->method, "POST") != 0)
            FAILF("method %s", req->method);
    }
    if (i >= s->n)
        FAILF("unexpected request %zu", i);
    const struct canned *c = &s->steps[i];
    if (c->status == 0)
        return err_set(err, c->err_code, "connect to '127.0.0.1': Connection refused");
    ret->status = c->status;
    if (c->hname)
        http_headers_add(&ret->headers, c->hname, c->hvalue);
    if (c->body)
        (void)buf_append(&ret->body, c->body, strlen(c->body), NULL);
    return 0;
}

static void script_done(struct script *s)
{
    for (size_t i = 0; i < 8; i++) {
        free(s->bodies[i]);
        free(s->amz_date[i]);
        free(s->target[i]);
        free(s->auth[i]);
        free(s->token[i]);
        free(s->ctype[i]);
        free(s->version[i]);
        free(s->url[i]);
    }
}

static int creds_cb(void *arg, bool refresh, struct commands_credentials *ret, struct err *err)
{
    (void)err;
    struct script *s = arg;
    s->creds_calls++;
    if (refresh)
        s->refreshes++;
    ret->access_key_id = xstrdup(s->refreshes ? "AKIDNEW" : "AKIDEXAMPLE");
    ret->secret_access_key = xstrdup("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    ret->session_token = xstrdup("TOKEN");
    return 0;
}

static void sleep_cb(void *arg, uint64_t ms)
{
    struct script *s = arg;
    if (s->n_sleeps < 8)
        s->sleeps[s->n_sleeps++] = ms;
    if (s->advance)
        fake_mono_ms += ms;
}

static int64_t fixed_clock(void)
{
    return T0;
}

static const char *endpoint = "https://codedeploy-commands.us-east-1.amazonaws.com";

static struct commands_client *client_ex(struct script *s, bool secure, int max_retries)
{
    struct commands_opts o = {
        .max_retries = max_retries,
        .mono_clock_ms = fake_mono,
        .endpoint = endpoint,
        .region = "us-east-1",
        .secure = secure,
        .agent_version = "OFFICIAL_1.8.1-1_rpm",
        .get_creds = creds_cb,
        .creds_arg = s,
        .stop = &s->stop,
        .sleep = sleep_cb,
        .sleep_arg = s,
        .transport = fake_transport,
        .transport_arg = s,
        .wall_clock = fixed_clock,
    };
    struct err e = ERR_INIT;
    struct commands_client *c = commands_client_new(&o, &e);
    if (!c)
        FAILF("commands_client_new: %s", e.msg);
    return c;
}

/* A client on a fresh (open) V-026 gate: the gate is process-wide, tests must not leak it. */
static struct commands_client *client(struct script *s, bool secure)
{
    commands_gate_reset();
    return client_ex(s, secure, 0);
}

/* A client that sees the gate as earlier calls left it. */
static struct commands_client *client_keep_gate(struct script *s, int max_retries)
{
    return client_ex(s, false, max_retries);
}

#define SCRIPT(...)                                                                                \
    static const struct canned steps_[] = {__VA_ARGS__};                                           \
    struct script s = {.steps = steps_, .n = sizeof(steps_) / sizeof(steps_[0])}

/* ---- bodies ---- */

TEST(commands_r056_r057_bodies_byte_exact)
{
    AUTOFREE char *p = commands_body_poll(HOST_ID);
    ASSERT_STREQ(p, "{\"HostIdentifier\":\"" HOST_ID "\"}");
    AUTOFREE char *g = commands_body_get_spec("CodeDeploy/us-east-1/prod/x/1:d-A", "i-1");
    ASSERT_STREQ(g, "{\"DeploymentExecutionId\":\"CodeDeploy/us-east-1/prod/x/1:d-A\","
                    "\"HostIdentifier\":\"i-1\"}");
}

TEST(commands_r058_r062_r196_ack_body_byte_exact)
{
    AUTOFREE char *t = commands_body_ack("eyJi+/=", true);
    ASSERT_STREQ(t, "{\"HostCommandIdentifier\":\"eyJi+/=\",\"Diagnostics\":{\"Format\":\"JSON\","
                    "\"Payload\":\"{\\\"IsCommandNoop\\\":true}\"}}");
    AUTOFREE char *f = commands_body_ack("x", false);
    ASSERT_STREQ(f, "{\"HostCommandIdentifier\":\"x\",\"Diagnostics\":{\"Format\":\"JSON\","
                    "\"Payload\":\"{\\\"IsCommandNoop\\\":false}\"}}");
    ASSERT_NOT_CONTAINS(t, "HostCommandMaxDurationInSeconds");
}

TEST(commands_r059_r061_complete_body_byte_exact)
{
    const char *diag =
        "{\"error_code\":4,\"script_name\":\"scripts/start.sh\",\"message\":\"Script "
        "at specified location: scripts/start.sh failed with exit code 1\",\"log\":"
        "\"LifecycleEvent - ApplicationStart\\nScript - scripts/start.sh\\n[stderr]"
        "boom\\n\"}";
    AUTOFREE char *b = commands_body_complete("eyJiYXRjaElkIjoi", false, diag);
    ASSERT_STREQ(b, "{\"HostCommandIdentifier\":\"eyJiYXRjaElkIjoi\",\"CommandStatus\":\"Failed\","
                    "\"Diagnostics\":{\"Format\":\"JSON\",\"Payload\":\"{\\\"error_code\\\":4,"
                    "\\\"script_name\\\":\\\"scripts/start.sh\\\",\\\"message\\\":\\\"Script at "
                    "specified location: scripts/start.sh failed with exit code 1\\\",\\\"log\\\":"
                    "\\\"LifecycleEvent - ApplicationStart\\\\nScript - scripts/start.sh\\\\n"
                    "[stderr]boom\\\\n\\\"}\"}}");
    AUTOFREE char *n = commands_body_complete("id", true, NULL);
    ASSERT_STREQ(n, "{\"HostCommandIdentifier\":\"id\",\"CommandStatus\":\"Succeeded\"}");
    /* Non-ASCII is sent as UTF-8, '/' unescaped. */
    AUTOFREE char *u = commands_body_complete("id", true, "caf\xc3\xa9/x");
    ASSERT_CONTAINS(u, "\"Payload\":\"caf\xc3\xa9/x\"");
}

TEST(commands_r060_post_update_body)
{
    AUTOFREE char *b = commands_body_post_update("id", 1700000000, "{}");
    ASSERT_STREQ(b, "{\"HostCommandIdentifier\":\"id\",\"EstimatedCompletionTime\":1700000000,"
                    "\"Diagnostics\":{\"Format\":\"JSON\",\"Payload\":\"{}\"}}");
    AUTOFREE char *m = commands_body_post_update("id", 0, NULL);
    ASSERT_STREQ(m, "{\"HostCommandIdentifier\":\"id\"}");
}

/* ---- headers and signing ---- */

TEST(commands_r047_r048_r050_headers_target_and_signature_scope)
{
    SCRIPT({200, 0, "{}", NULL, NULL});
    struct commands_client *c = client(&s, false);
    struct host_command *hc = (void *)1;
    struct err e = ERR_INIT;
    ASSERT_OK(commands_poll(c, HOST_ID, &hc, &e));
    ASSERT_NULL(hc);
    ASSERT_STREQ(s.url[0], "https://codedeploy-commands.us-east-1.amazonaws.com/");
    ASSERT_STREQ(s.target[0], "CodeDeployCommandService_v20141006.PollHostCommand");
    ASSERT_STREQ(s.ctype[0], "application/x-amz-json-1.1");
    ASSERT_STREQ(s.version[0], "OFFICIAL_1.8.1-1_rpm");
    ASSERT_STREQ(s.token[0], "TOKEN");
    ASSERT_STREQ(s.amz_date[0], "20231114T221320Z");
    ASSERT_CONTAINS(s.auth[0], "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/"
                               "codedeploy-commands/aws4_request");
    ASSERT_CONTAINS(s.auth[0], "SignedHeaders=content-type;host;x-amz-codedeploy-agent-version;"
                               "x-amz-date;x-amz-security-token;x-amz-target");
    ASSERT_STREQ(s.bodies[0], "{\"HostIdentifier\":\"" HOST_ID "\"}");
    const struct commands_call_info *ci = commands_last_call(c);
    ASSERT_STREQ(ci->operation, "PollHostCommand");
    ASSERT_EQ(ci->status, 200);
    ASSERT_EQ(ci->retries, 0);
    commands_client_free(c);
    script_done(&s);
}

TEST(commands_r046_secure_variant_target_and_signing_name)
{
    SCRIPT({200, 0, "{\"CommandStatus\":\"InProgress\"}", NULL, NULL});
    struct commands_client *c = client(&s, true);
    enum commands_status st;
    struct err e = ERR_INIT;
    ASSERT_OK(commands_ack(c, "id", false, &st, &e));
    ASSERT_EQ(st, COMMANDS_STATUS_IN_PROGRESS);
    ASSERT_STREQ(s.target[0], "CodeDeployCommandService.PutHostCommandAcknowledgement");
    ASSERT_CONTAINS(s.auth[0], "/us-east-1/codedeploy-commands-secure/aws4_request");
    commands_client_free(c);
    script_done(&s);
}

/* ---- errors ---- */

static void parse(long status, const char *hname, const char *hval, const char *body,
                  const char *want_code, const char *want_msg)
{
    struct http_headers h;
    http_headers_init(&h);
    if (hname)
        http_headers_add(&h, hname, hval);
    char code[96], msg[320];
    commands_parse_error(status, &h, body, body ? strlen(body) : 0, code, sizeof(code), msg,
                         sizeof(msg));
    http_headers_done(&h);
    ASSERT_STREQ(code, want_code);
    ASSERT_STREQ(msg, want_msg);
}

TEST(commands_r063_error_code_and_message_parsing)
{
    parse(400, "x-amzn-ErrorType",
          "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/",
          "{\"__type\":\"com.amazon.coral.availability#ThrottlingException\","
          "\"message\":\"Rate exceeded\"}",
          "ThrottlingException", "Rate exceeded");
    parse(400, "x-amzn-ErrorType", "AccessDeniedException:http://internal.amazon.com/x/", "{}",
          "AccessDeniedException", "");
    parse(400, NULL, NULL, "{\"__type\":\"ClientException\",\"Message\":\"bad id\"}",
          "ClientException", "bad id");
    parse(400, NULL, NULL, "{\"__type\":\"a.b#ValidationException:http://x/\"}",
          "ValidationException", "");
    parse(503, NULL, NULL, NULL, "HTTP503", "");
    parse(502, NULL, NULL, "<html>Bad\ngateway</html>", "HTTP502", "<html>Bad gateway</html>");
    parse(429, NULL, NULL, "", "HTTP429", "Rate exceeded");
    parse(400, NULL, NULL,
          "{\"__type\":\"InvalidSignatureException\",\"message\":\"The request signature we "
          "calculated does not match.\\n\\nThe Canonical String for this request should have "
          "been\\n'x-amz-security-token:SECRET'\"}",
          "InvalidSignatureException", "The request signature we calculated does not match.");
    parse(400, NULL, NULL, "{\"__type\":\"X\",\"message\":\"a\\tb\"}", "X", "a b");
}

TEST(commands_r064_classification)
{
    ASSERT_EQ(commands_classify(500, "ServerException", ""), COMMANDS_ERROR_RETRY);
    ASSERT_EQ(commands_classify(503, "HTTP503", ""), COMMANDS_ERROR_RETRY);
    ASSERT_EQ(commands_classify(400, "ThrottlingException", "Rate exceeded"),
              COMMANDS_ERROR_THROTTLE);
    ASSERT_EQ(commands_classify(400, "RequestLimitExceeded", ""), COMMANDS_ERROR_THROTTLE);
    ASSERT_EQ(commands_classify(429, "HTTP429", ""), COMMANDS_ERROR_THROTTLE);
    ASSERT_EQ(commands_classify(400, "ExpiredTokenException", ""), COMMANDS_ERROR_EXPIRED);
    ASSERT_EQ(commands_classify(400, "RequestExpired", ""), COMMANDS_ERROR_SKEW);
    ASSERT_EQ(commands_classify(403, "InvalidSignatureException",
                                "Signature expired: 20231114T221320Z is now earlier than x"),
              COMMANDS_ERROR_SKEW);
    ASSERT_EQ(commands_classify(400, "InvalidSignatureException", "does not match"),
              COMMANDS_ERROR_FATAL);
    ASSERT_EQ(commands_classify(400, "AccessDeniedException", "no"), COMMANDS_ERROR_FATAL);
    ASSERT_EQ(commands_classify(400, "ClientException", ""), COMMANDS_ERROR_FATAL);
    ASSERT_TRUE(commands_is_auth_code("UnrecognizedClientException"));
    ASSERT_TRUE(commands_is_auth_code("IncompleteSignature"));
    ASSERT_FALSE(commands_is_auth_code("ClientException"));
}

TEST(commands_r064_500s_retried_three_times_with_full_jitter)
{
    SCRIPT({500, 0, "{\"__type\":\"ServerException\",\"message\":\"boom\"}", NULL, NULL},
           {500, 0, "{\"__type\":\"ServerException\",\"message\":\"boom\"}", NULL, NULL},
           {0, ERR_HTTP, NULL, NULL, NULL}, {200, 0, "{\"HostCommand\":null}", NULL, NULL});
    struct commands_client *c = client(&s, false);
    struct host_command *hc = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(commands_poll(c, HOST_ID, &hc, &e));
    ASSERT_NULL(hc);
    ASSERT_EQ(s.calls, 4);
    ASSERT_EQ(s.n_sleeps, 3);
    ASSERT_TRUE(s.sleeps[0] <= 300);
    ASSERT_TRUE(s.sleeps[1] <= 600);
    ASSERT_TRUE(s.sleeps[2] <= 1200);
    ASSERT_EQ(commands_last_call(c)->retries, 3);
    ASSERT_EQ(commands_last_call(c)->status, 200);
    /* The same body is re-signed and re-sent each time. */
    ASSERT_STREQ(s.bodies[3], s.bodies[0]);
    commands_client_free(c);
    script_done(&s);
}

TEST(commands_r064_gives_up_after_four_attempts)
{
    SCRIPT({500, 0, "{\"__type\":\"ServerException\",\"message\":\"boom\"}", NULL, NULL},
           {500, 0, "{\"__type\":\"ServerException\",\"message\":\"boom\"}", NULL, NULL},
           {500, 0, "{\"__type\":\"ServerException\",\"message\":\"boom\"}", NULL, NULL},
           {500, 0, "{\"__type\":\"ServerException\",\"message\":\"boom\"}", NULL, NULL});
    struct commands_client *c = client(&s, false);
    struct host_command *hc = NULL;
    struct err e = ERR_INIT;
    ASSERT_FAIL(commands_poll(c, HOST_ID, &hc, &e));
    ASSERT_EQ(e.code, ERR_HTTP);
    ASSERT_STREQ(e.msg, "ServerException: boom");
    ASSERT_EQ(s.calls, 4);
    const struct commands_call_info *ci = commands_last_call(c);
    ASSERT_EQ(ci->retries, 3);
    ASSERT_EQ(ci->status, 500);
    ASSERT_STREQ(ci->error_code, "ServerException");
    ASSERT_STREQ(ci->error_message, "boom");
    commands_client_free(c);
    script_done(&s);
}

TEST(commands_r064_r065_throttling_is_err_throttled)
{
    SCRIPT({400, 0,
            "{\"__type\":\"com.amazon.coral.availability#ThrottlingException\","
            "\"message\":\"Rate exceeded\"}",
            NULL, NULL},
           {429, 0, "", NULL, NULL}, {429, 0, "", NULL, NULL}, {429, 0, "", NULL, NULL},
           {429, 0, "", NULL, NULL}, {429, 0, "", NULL, NULL});
    struct commands_client *c = client(&s, false);
    struct err e = ERR_INIT;
    ASSERT_FAIL(commands_complete(c, "id", true, "{}", &e));
    ASSERT_EQ(e.code, ERR_THROTTLED);
    ASSERT_STREQ(e.msg, "HTTP429: Rate exceeded");
    ASSERT_EQ(s.calls, 6); /* V-026: 5 retries through throttling, completion included */
    commands_client_free(c);
    script_done(&s);
}

TEST(commands_r064_r066_auth_errors_not_retried)
{
    SCRIPT({400, 0, "{\"__type\":\"AccessDeniedException\",\"Message\":\"not authorized\"}", NULL,
            NULL});
    struct commands_client *c = client(&s, false);
    struct host_command *hc = NULL;
    struct err e = ERR_INIT;
    ASSERT_FAIL(commands_poll(c, HOST_ID, &hc, &e));
    ASSERT_EQ(e.code, ERR_AUTH);
    ASSERT_STREQ(e.msg, "AccessDeniedException: not authorized");
    ASSERT_EQ(s.calls, 1);
    ASSERT_EQ(s.n_sleeps, 0);
    commands_client_free(c);
    script_done(&s);
}

TEST(commands_r064_other_client_errors_not_retried)
{
    SCRIPT({400, 0, "{\"__type\":\"ClientException\",\"message\":\"invalid id\"}", NULL, NULL});
    struct commands_client *c = client(&s, false);
    struct err e = ERR_INIT;
    ASSERT_FAIL(commands_complete(c, "id", false, NULL, &e));
    ASSERT_EQ(e.code, ERR_HTTP);
    ASSERT_STREQ(e.msg, "ClientException: invalid id");
    ASSERT_EQ(s.calls, 1);
    commands_client_free(c);
    script_done(&s);
}

TEST(commands_transport_errors_cancel_and_stop_token)
{
    SCRIPT({0, ERR_CANCELLED, NULL, NULL, NULL});
    struct commands_client *c = client(&s, false);
    struct host_command *hc = NULL;
    struct err e = ERR_INIT;
    ASSERT_FAIL(commands_poll(c, HOST_ID, &hc, &e));
    ASSERT_EQ(e.code, ERR_CANCELLED);
    ASSERT_EQ(s.calls, 1);
    err_clear(&e);
    stop_request(&s.stop);
    ASSERT_FAIL(commands_poll(c, HOST_ID, &hc, &e));
    ASSERT_EQ(e.code, ERR_CANCELLED);
    ASSERT_EQ(s.calls, 1); /* nothing sent once stopping */
    commands_client_free(c);
    script_done(&s);
}

TEST(commands_r051_clock_skew_corrected_and_retried_once)
{
    SCRIPT({400, 0,
            "{\"__type\":\"InvalidSignatureException\",\"message\":\"Signature expired: "
            "20231114T221320Z is now earlier than 20231114T230820Z (20231114T231320Z - 5 "
            "min.)\"}",
            "Date", "Tue, 14 Nov 2023 23:13:20 GMT"},
           {200, 0, "{}", NULL, NULL});
    struct commands_client *c = client(&s, false);
    struct host_command *hc = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(commands_poll(c, HOST_ID, &hc, &e));
    ASSERT_EQ(commands_clock_offset(c), 3600);
    ASSERT_STREQ(s.amz_date[0], "20231114T221320Z");
    ASSERT_STREQ(s.amz_date[1], "20231114T231320Z");
    ASSERT_EQ(s.n_sleeps, 0);
    commands_client_free(c);
    script_done(&s);
}

TEST(commands_r051_skew_not_retried_twice)
{
    SCRIPT({400, 0, "{\"__type\":\"RequestTimeTooSkewed\",\"message\":\"skewed\"}", "Date",
            "Tue, 14 Nov 2023 23:13:20 GMT"},
           {400, 0, "{\"__type\":\"RequestTimeTooSkewed\",\"message\":\"skewed\"}", "Date",
            "Tue, 14 Nov 2023 23:13:20 GMT"});
    struct commands_client *c = client(&s, false);
    struct host_command *hc = NULL;
    struct err e = ERR_INIT;
    ASSERT_FAIL(commands_poll(c, HOST_ID, &hc, &e));
    ASSERT_EQ(e.code, ERR_AUTH);
    ASSERT_EQ(s.calls, 2);
    commands_client_free(c);
    script_done(&s);
}

TEST(commands_r064_expired_token_refreshes_credentials)
{
    SCRIPT({400, 0,
            "{\"__type\":\"ExpiredTokenException\",\"message\":\"The security token "
            "included in the request is expired\"}",
            NULL, NULL},
           {200, 0, "{\"CommandStatus\":\"Failed\"}", NULL, NULL});
    struct commands_client *c = client(&s, false);
    enum commands_status st;
    struct err e = ERR_INIT;
    ASSERT_OK(commands_ack(c, "id", true, &st, &e));
    ASSERT_EQ(st, COMMANDS_STATUS_FAILED);
    ASSERT_EQ(s.refreshes, 1);
    ASSERT_CONTAINS(s.auth[0], "Credential=AKIDEXAMPLE/");
    ASSERT_CONTAINS(s.auth[1], "Credential=AKIDNEW/");
    commands_client_free(c);
    script_done(&s);
}

/* ---- responses ---- */

TEST(commands_r056_v003_poll_response_shapes)
{
    struct host_command *hc = (void *)1;
    struct err e = ERR_INIT;
    ASSERT_OK(commands_parse_poll("{}", 2, &hc, &e));
    ASSERT_NULL(hc);
    hc = (void *)1;
    ASSERT_OK(commands_parse_poll("", 0, &hc, &e));
    ASSERT_NULL(hc);
    const char *full =
        "{\"HostCommand\":{\"CommandName\":\"ApplicationStart\","
        "\"DeploymentExecutionId\":\"CodeDeploy/us-east-1/prod/orpheus:public004/"
        "123456789012:d-ABCDEF123\",\"HostCommandIdentifier\":\"eyJiYXRjaElkIjoi+/=\","
        "\"HostIdentifier\":\"" HOST_ID "\",\"Nonce\":3,\"NewField\":{\"x\":[1]}},"
        "\"Other\":true}";
    ASSERT_OK(commands_parse_poll(full, strlen(full), &hc, &e));
    ASSERT_STREQ(hc->command_name, "ApplicationStart");
    ASSERT_STREQ(hc->host_command_identifier, "eyJiYXRjaElkIjoi+/=");
    ASSERT_STREQ(hc->host_identifier, HOST_ID);
    ASSERT_CONTAINS(hc->deployment_execution_id, ":d-ABCDEF123");
    ASSERT_TRUE(hc->has_nonce);
    ASSERT_EQ(hc->nonce, 3);
    host_command_free(hc);
    const char *noid = "{\"HostCommand\":{\"CommandName\":\"Install\"}}";
    ASSERT_FAIL(commands_parse_poll(noid, strlen(noid), &hc, &e));
    ASSERT_EQ(e.code, ERR_PARSE);
    err_clear(&e);
    ASSERT_FAIL(commands_parse_poll("<html>", 6, &hc, &e));
    ASSERT_EQ(e.code, ERR_PARSE);
}

TEST(commands_r058_v005_ack_status_values)
{
    static const struct {
        const char *body;
        enum commands_status st;
    } cases[] = {
        {"{}", COMMANDS_STATUS_NONE},
        {"{\"CommandStatus\":null}", COMMANDS_STATUS_NONE},
        {"{\"CommandStatus\":\"\"}", COMMANDS_STATUS_NONE},
        {"{\"CommandStatus\":\"Pending\"}", COMMANDS_STATUS_PENDING},
        {"{\"CommandStatus\":\"InProgress\"}", COMMANDS_STATUS_IN_PROGRESS},
        {"{\"CommandStatus\":\"Succeeded\"}", COMMANDS_STATUS_SUCCEEDED},
        {"{\"CommandStatus\":\"Failed\"}", COMMANDS_STATUS_FAILED},
        {"{\"CommandStatus\":\"Paused\"}", COMMANDS_STATUS_OTHER},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum commands_status st = COMMANDS_STATUS_PENDING;
        struct err e = ERR_INIT;
        ASSERT_OK(commands_parse_status(cases[i].body, strlen(cases[i].body), &st, &e));
        if (st != cases[i].st)
            FAILF("%s: got %d, want %d", cases[i].body, st, cases[i].st);
    }
    ASSERT_STREQ(commands_status_name(COMMANDS_STATUS_IN_PROGRESS), "InProgress");
}

TEST(commands_r057_get_spec_response)
{
    const char *body = "{\"DeploymentSystem\":\"CodeDeploy\",\"DeploymentSpecification\":{"
                       "\"GenericEnvelope\":{\"Format\":\"PKCS7/JSON\",\"Payload\":\"-----BEGIN "
                       "PKCS7-----\\nMIIK\\n-----END PKCS7-----\\n\"},\"VariantId\":\"v\","
                       "\"VariantEnvelope\":{\"Format\":\"JSON\",\"Payload\":\"{}\"}}}";
    struct commands_spec *s = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(commands_parse_spec(body, strlen(body), &s, &e));
    ASSERT_STREQ(s->deployment_system, "CodeDeploy");
    ASSERT_TRUE(s->has_specification);
    ASSERT_TRUE(s->has_envelope);
    ASSERT_STREQ(s->format, "PKCS7/JSON");
    ASSERT_STREQ(s->payload, "-----BEGIN PKCS7-----\nMIIK\n-----END PKCS7-----\n");
    ASSERT_EQ(s->payload_len, strlen(s->payload));
    ASSERT_STREQ(s->variant_id, "v");
    commands_spec_free(s);
    ASSERT_OK(commands_parse_spec("{\"DeploymentSystem\":\"WackyDeployer\"}", 36, &s, &e));
    ASSERT_STREQ(s->deployment_system, "WackyDeployer");
    ASSERT_FALSE(s->has_specification);
    ASSERT_NULL(s->payload);
    commands_spec_free(s);
}

TEST(commands_r061_oversized_diagnostics_refused_before_sending)
{
    SCRIPT({200, 0, "{}", NULL, NULL});
    struct commands_client *c = client(&s, false);
    char *big = xmalloc(8200);
    memset(big, 'a', 8193);
    big[8193] = '\0';
    struct err e = ERR_INIT;
    ASSERT_FAIL(commands_complete(c, "id", false, big, &e));
    ASSERT_EQ(e.code, ERR_LIMIT);
    ASSERT_EQ(s.calls, 0);
    /* 8192 two-byte characters are 8192 characters, not 16384 (R-061 counts characters). */
    for (size_t i = 0; i < 4096; i++) {
        big[2 * i] = (char)0xc3;
        big[2 * i + 1] = (char)0xa9;
    }
    big[8192] = '\0';
    err_clear(&e);
    ASSERT_OK(commands_complete(c, "id", false, big, &e));
    ASSERT_EQ(s.calls, 1);
    free(big);
    commands_client_free(c);
    script_done(&s);
}

TEST(commands_client_new_argument_errors)
{
    struct commands_opts o = {.region = "us-east-1"};
    struct err e = ERR_INIT;
    ASSERT_NULL(commands_client_new(&o, &e));
    ASSERT_EQ(e.code, ERR_USAGE);
    err_clear(&e);
    o.endpoint = "https://x";
    ASSERT_NULL(commands_client_new(&o, &e));
    ASSERT_CONTAINS(e.msg, "credential");
}

TEST(commands_r199_call_log_line_and_shared_offset)
{
    struct commands_call_info ci = {
        .operation = "PollHostCommand", .status = 200, .elapsed_ms = 60140, .retries = 0};
    char line[256];
    ASSERT_STREQ(commands_format_call(&ci, "host_identifier: \"i-1\"", line, sizeof(line)),
                 "[CodeDeployCommand 200 60.140 0 retries] PollHostCommand(host_identifier: "
                 "\"i-1\")");
    SCRIPT({200, 0, "{}", NULL, NULL});
    struct commands_client *c = client(&s, false);
    commands_set_clock_offset(c, -60);
    struct host_command *hc = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(commands_poll(c, HOST_ID, &hc, &e));
    ASSERT_STREQ(s.amz_date[0], "20231114T221220Z");
    commands_client_free(c);
    script_done(&s);
}

TEST(commands_r044_endpoint_override_used_verbatim)
{
    static const char *const cases[][2] = {
        {"http://127.0.0.1:8443", "http://127.0.0.1:8443/"},
        {"http://127.0.0.1:8443/", "http://127.0.0.1:8443/"},
        {"https://vpce-1.codedeploy-commands.us-east-1.vpce.amazonaws.com",
         "https://vpce-1.codedeploy-commands.us-east-1.vpce.amazonaws.com/"},
    };
    for (size_t i = 0; i < 3; i++) {
        SCRIPT({200, 0, "{}", NULL, NULL});
        endpoint = cases[i][0];
        struct commands_client *c = client(&s, false);
        struct host_command *hc = NULL;
        struct err e = ERR_INIT;
        ASSERT_OK(commands_poll(c, HOST_ID, &hc, &e));
        ASSERT_STREQ(s.url[0], cases[i][1]);
        /* Signing keeps the service name and region whatever the endpoint. */
        ASSERT_CONTAINS(s.auth[0], "/us-east-1/codedeploy-commands/aws4_request");
        commands_client_free(c);
        script_done(&s);
    }
}

/* ---- V-026: the process-wide throttle gate ---- */

#define THROTTLE                                                                                   \
    {                                                                                              \
        400, 0, "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}", NULL, NULL   \
    }
#define SERVER_ERROR                                                                               \
    {                                                                                              \
        500, 0, "{\"__type\":\"ServerException\",\"message\":\"boom\"}", NULL, NULL                \
    }

static void assert_between(uint64_t v, uint64_t lo, uint64_t hi)
{
    if (v < lo || v > hi)
        FAILF("%llu not in [%llu, %llu]", (unsigned long long)v, (unsigned long long)lo,
              (unsigned long long)hi);
}

static void gate_is(uint64_t deadline_from_now, uint64_t next_backoff)
{
    uint64_t d = 0;
    uint64_t b = 0;
    commands_gate_state(&d, &b);
    if (deadline_from_now == 0)
        ASSERT_EQ(d, 0);
    else
        ASSERT_EQ(d - fake_mono_ms, deadline_from_now);
    ASSERT_EQ(b, next_backoff);
}

/* Backoff 1, 2, 4, 8, 16 s (+0-25 %) between the 6 attempts, capped at 30 s; a success resets. */
TEST(commands_v026_gate_backoff_doubles_caps_and_resets)
{
    struct commands_client *c = NULL;
    {
        SCRIPT(THROTTLE, THROTTLE, THROTTLE, THROTTLE, THROTTLE, THROTTLE);
        s.advance = true;
        c = client(&s, false);
        struct host_command *hc = NULL;
        struct err e = ERR_INIT;
        ASSERT_FAIL(commands_poll(c, HOST_ID, &hc, &e));
        ASSERT_EQ(e.code, ERR_THROTTLED);
        ASSERT_STREQ(e.msg, "ThrottlingException: Rate exceeded");
        ASSERT_EQ(s.calls, 6);
        ASSERT_EQ(commands_last_call(c)->retries, 5);
        ASSERT_EQ(s.n_sleeps, 5);
        for (size_t i = 0; i < 5; i++)
            assert_between(s.sleeps[i], 1000u << i, (1000u << i) + (250u << i));
        gate_is(30000, 30000); /* the 6th trip: 32 s capped at 30 s */
        commands_client_free(c);
        script_done(&s);
    }
    {
        /* A later call waits out the pending deadline; its own throttle stays at the cap. */
        SCRIPT(THROTTLE, {200, 0, "{}", NULL, NULL});
        s.advance = true;
        c = client_keep_gate(&s, 0);
        struct host_command *hc = NULL;
        struct err e = ERR_INIT;
        ASSERT_OK(commands_poll(c, HOST_ID, &hc, &e));
        ASSERT_NULL(hc);
        ASSERT_EQ(s.calls, 2);
        ASSERT_EQ(s.n_sleeps, 2);
        assert_between(s.sleeps[0], 30000, 37500);
        assert_between(s.sleeps[1], 30000, 37500);
        gate_is(0, 1000); /* success: open, back to 1 s */
        commands_client_free(c);
        script_done(&s);
    }
    {
        SCRIPT({200, 0, "{}", NULL, NULL});
        c = client_keep_gate(&s, 0);
        struct host_command *hc = NULL;
        struct err e = ERR_INIT;
        ASSERT_OK(commands_poll(c, HOST_ID, &hc, &e));
        ASSERT_EQ(s.n_sleeps, 0);
        commands_client_free(c);
        script_done(&s);
    }
}

/* One gate for every client; a trip while the deadline is pending does not escalate. */
TEST(commands_v026_gate_shared_by_clients_pending_trip_counts_once)
{
    {
        SCRIPT(THROTTLE);
        commands_gate_reset();
        struct commands_client *a = client_keep_gate(&s, -1); /* no retries at all */
        struct err e = ERR_INIT;
        ASSERT_FAIL(commands_ack(a, "hcid", false, NULL, &e));
        ASSERT_EQ(e.code, ERR_THROTTLED);
        ASSERT_EQ(s.calls, 1);
        ASSERT_EQ(s.n_sleeps, 0);
        gate_is(1000, 2000);
        commands_client_free(a);
        script_done(&s);
    }
    {
        /* Another client (another thread in the daemon) waits before sending; its throttle
         * arrives while the deadline is still pending (the clock did not move): no escalation. */
        SCRIPT(THROTTLE);
        struct commands_client *b = client_keep_gate(&s, -1);
        struct err e = ERR_INIT;
        ASSERT_FAIL(commands_complete(b, "hcid", true, NULL, &e));
        ASSERT_EQ(e.code, ERR_THROTTLED);
        ASSERT_EQ(s.n_sleeps, 1);
        assert_between(s.sleeps[0], 1000, 1250);
        gate_is(1000, 2000);
        commands_client_free(b);
        script_done(&s);
    }
    {
        /* At the deadline the gate is open: no wait, and the success resets it. */
        fake_mono_ms += 1000;
        SCRIPT({200, 0, "{\"CommandStatus\":\"InProgress\"}", NULL, NULL});
        struct commands_client *c = client_keep_gate(&s, 0);
        struct err e = ERR_INIT;
        enum commands_status st = COMMANDS_STATUS_NONE;
        ASSERT_OK(commands_ack(c, "hcid", false, &st, &e));
        ASSERT_EQ(st, COMMANDS_STATUS_IN_PROGRESS);
        ASSERT_EQ(s.n_sleeps, 0);
        gate_is(0, 1000);
        commands_client_free(c);
        script_done(&s);
    }
}

/* V-026: poll, ack, get-spec and complete each go through 5 throttled attempts. */
TEST(commands_v026_five_throttle_retries_for_each_operation)
{
    for (int op = 0; op < 4; op++) {
        static const char *const ok_body[] = {"{}", "{\"CommandStatus\":\"Succeeded\"}",
                                              "{\"DeploymentSystem\":\"CodeDeploy\"}", "{}"};
        const struct canned steps[] = {THROTTLE, THROTTLE, THROTTLE,
                                       THROTTLE, THROTTLE, {200, 0, ok_body[op], NULL, NULL}};
        struct script s = {.steps = steps, .n = 6, .advance = true};
        struct commands_client *c = client(&s, false);
        struct err e = ERR_INIT;
        int r = -1;
        if (op == 0) {
            struct host_command *hc = NULL;
            r = commands_poll(c, HOST_ID, &hc, &e);
            host_command_free(hc);
        } else if (op == 1) {
            enum commands_status st;
            r = commands_ack(c, "hcid", true, &st, &e);
        } else if (op == 2) {
            struct commands_spec *sp = NULL;
            r = commands_get_spec(c, "dei", HOST_ID, &sp, &e);
            commands_spec_free(sp);
        } else {
            r = commands_complete(c, "hcid", true, "{}", &e);
        }
        if (r < 0)
            FAILF("operation %d: %s", op, e.msg);
        ASSERT_EQ(s.calls, 6);
        ASSERT_EQ(commands_last_call(c)->retries, 5);
        ASSERT_EQ(s.n_sleeps, 5);
        gate_is(0, 1000);
        commands_client_free(c);
        script_done(&s);
    }
}

/* Throttle retries do not use up R-064's budget, nor the other way round. */
TEST(commands_v026_r064_budgets_are_separate)
{
    {
        SCRIPT(SERVER_ERROR, THROTTLE, SERVER_ERROR, THROTTLE, SERVER_ERROR,
               {200, 0, "{}", NULL, NULL});
        s.advance = true;
        struct commands_client *c = client(&s, false);
        struct host_command *hc = NULL;
        struct err e = ERR_INIT;
        ASSERT_OK(commands_poll(c, HOST_ID, &hc, &e));
        ASSERT_EQ(s.calls, 6);
        ASSERT_EQ(commands_last_call(c)->retries, 5);
        commands_client_free(c);
        script_done(&s);
    }
    {
        SCRIPT(SERVER_ERROR, SERVER_ERROR, SERVER_ERROR, THROTTLE, SERVER_ERROR);
        s.advance = true;
        struct commands_client *c = client(&s, false);
        struct host_command *hc = NULL;
        struct err e = ERR_INIT;
        ASSERT_FAIL(commands_poll(c, HOST_ID, &hc, &e));
        ASSERT_EQ(e.code, ERR_HTTP);
        ASSERT_STREQ(e.msg, "ServerException: boom");
        ASSERT_EQ(s.calls, 5);
        /* The 500 sleeps stay R-064's 0.3/0.6/1.2 s full jitter; the throttle waited >= 1 s. */
        ASSERT_EQ(s.n_sleeps, 4);
        ASSERT_TRUE(s.sleeps[0] <= 300);
        ASSERT_TRUE(s.sleeps[1] <= 600);
        ASSERT_TRUE(s.sleeps[2] <= 1200);
        assert_between(s.sleeps[3], 1000, 1250);
        commands_client_free(c);
        script_done(&s);
    }
}

/* ---- deadlines (issue 18 item 2) over the real http layer ---- */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A Commands endpoint that answers every request 200 with a chunked JSON body that never ends:
 * one byte every 100 ms, so the read timeout never fires.  Returns the port; *pid the server. */
static int trickle_server(pid_t *pid)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_OK(bind(s, (struct sockaddr *)&a, sizeof(a)));
    ASSERT_OK(listen(s, 8));
    socklen_t al = sizeof(a);
    ASSERT_OK(getsockname(s, (struct sockaddr *)&a, &al));
    *pid = fork();
    ASSERT_TRUE(*pid >= 0);
    if (*pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGPIPE, SIG_IGN);
        for (;;) {
            int fd = accept4(s, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0)
                _exit(0);
            char req[8192];
            (void)!read(fd, req, sizeof(req)); /* headers and the small body */
            const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n";
            bool ok = write(fd, h, strlen(h)) > 0;
            for (int i = 0; ok && i < 6000; i++) {
                usleep(100000);
                ok = write(fd, "1\r\n \r\n", 6) == 6;
            }
            close(fd);
        }
    }
    close(s);
    return ntohs(a.sin_port);
}

/* A poll that must fail with code and a message containing text. */
static void poll_fails(struct commands_client *c, int code, const char *text)
{
    struct host_command *hc = NULL;
    struct err e = ERR_INIT;
    ASSERT_FAIL(commands_poll(c, HOST_ID, &hc, &e));
    ASSERT_NULL(hc);
    ASSERT_EQ(e.code, code);
    ASSERT_CONTAINS(e.msg, text);
}

static struct commands_client *real_client(struct script *s, const char *ep, long deadline_ms)
{
    struct commands_opts o = {
        .endpoint = ep,
        .region = "us-east-1",
        .get_creds = creds_cb,
        .creds_arg = s,
        .read_timeout_ms = 60000,
        .deadline_ms = deadline_ms,
        .sleep = sleep_cb,
        .sleep_arg = s,
    };
    struct err e = ERR_INIT;
    struct commands_client *c = commands_client_new(&o, &e);
    if (!c)
        FAILF("commands_client_new: %s", e.msg);
    return c;
}

/* A poll whose body trickles forever ends at the call's deadline; the message names both the
 * call's deadline and the limit the last request hit. */
TEST(commands_deadline_ends_a_trickling_poll_and_completion)
{
    commands_gate_reset();
    pid_t pid;
    int port = trickle_server(&pid);
    AUTOFREE char *ep = xasprintf("http://127.0.0.1:%d", port);
    struct script s = {0};
    struct commands_client *c = real_client(&s, ep, 1000);
    poll_fails(c, ERR_TIMEOUT, "PollHostCommand: call deadline of 1 s exceeded: POST ");
    poll_fails(c, ERR_TIMEOUT, "request deadline of ");
    /* A stuck completion does not hold its worker either. */
    struct err e = ERR_INIT;
    ASSERT_FAIL(commands_complete(c, "hcid", true, NULL, &e));
    ASSERT_EQ(e.code, ERR_TIMEOUT);
    ASSERT_CONTAINS(e.msg, "PutHostCommandComplete: call deadline of 1 s exceeded");
    commands_client_free(c);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* The documented defaults: a poll may take the read timeout plus the margin, the other calls
 * COMMANDS_CALL_DEADLINE_MS; the first attempt is given (about) all of it. */
TEST(commands_deadline_defaults_reach_the_transport)
{
    SCRIPT({200, 0, "{}", NULL, NULL}, {200, 0, "{}", NULL, NULL});
    struct commands_client *c = client(&s, false);
    struct host_command *hc = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(commands_poll(c, HOST_ID, &hc, &e));
    ASSERT_OK(commands_complete(c, "hcid", true, NULL, &e));
    commands_client_free(c);
    ASSERT_TRUE(s.timeouts[0] > 80000 + COMMANDS_POLL_MARGIN_MS - 5000);
    ASSERT_TRUE(s.timeouts[0] <= 80000 + COMMANDS_POLL_MARGIN_MS);
    ASSERT_TRUE(s.timeouts[1] > COMMANDS_CALL_DEADLINE_MS - 5000);
    ASSERT_TRUE(s.timeouts[1] <= COMMANDS_CALL_DEADLINE_MS);
    script_done(&s);
}

/* Issue 18 item 6: a 200 whose body is an HTML page or JSON nested 100 000 deep fails that call
 * alone, with a message naming the operation; the client stays usable for the next call. */
TEST(commands_hostile_200_bodies_fail_only_that_call)
{
    enum { DEPTH = 100000 };
    char *deep = xmalloc(2 * DEPTH + 1);
    memset(deep, '[', DEPTH);
    memset(deep + DEPTH, ']', DEPTH);
    deep[2 * DEPTH] = '\0';
    const struct canned steps[] = {
        {200, 0, "<html><body><h1>502 Bad Gateway</h1></body></html>", "Content-Type", "text/html"},
        {200, 0, deep, NULL, NULL},
        {200, 0, "{}", NULL, NULL},
    };
    struct script s = {.steps = steps, .n = 3};
    struct commands_client *c = client(&s, false);
    for (int i = 0; i < 2; i++)
        poll_fails(c, ERR_PARSE, "PollHostCommand");
    struct host_command *hc = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(commands_poll(c, HOST_ID, &hc, &e));
    ASSERT_NULL(hc);
    ASSERT_EQ(s.calls, 3); /* a bad body is not retried */
    commands_client_free(c);
    script_done(&s);
    free(deep);
}
