/*
 * libFuzzer target: the Commands response parsers (PollHostCommand, PutHostCommandAcknowledgement,
 * GetDeploymentSpecification, error bodies) on one arbitrary body, and the envelope a
 * GetDeploymentSpecification response carries, as the daemon opens it (no text envelopes).
 */
#include "fuzz.h"
#include "aws/commands-internal.h"
#include "net/http.h"
#include "parse/spec.h"

static void parse_spec_response(const char *body, size_t size)
{
    struct commands_spec *cs = NULL;
    struct err err = ERR_INIT;
    int rc = commands_parse_spec(body, size, &cs, &err);
    fuzz_check_result("commands_parse_spec", rc, &err);
    if (rc < 0)
        return;
    if (cs->payload) {
        struct deploy_spec *s = NULL;
        struct err e2 = ERR_INIT;
        rc = spec_load(cs->format, cs->payload, cs->payload_len, false, NULL, &s, &e2);
        fuzz_check_result("spec_load", rc, &e2);
        spec_free(s);
    }
    commands_spec_free(cs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    struct host_command *hc = NULL;
    struct err err = ERR_INIT;
    int rc = commands_parse_poll(body, size, &hc, &err);
    fuzz_check_result("commands_parse_poll", rc, &err);
    host_command_free(hc);

    enum commands_status st = COMMANDS_STATUS_NONE;
    err_clear(&err);
    rc = commands_parse_status(body, size, &st, &err);
    fuzz_check_result("commands_parse_status", rc, &err);
    (void)commands_status_name(st);

    parse_spec_response(body, size);

    char code[128], msg[512];
    struct http_headers h;
    http_headers_init(&h);
    commands_parse_error(400, &h, body, size, code, sizeof code, msg, sizeof msg);
    if (!memchr(code, '\0', sizeof code) || !memchr(msg, '\0', sizeof msg))
        abort();
    (void)commands_classify(400, code, msg);
    http_headers_done(&h);
    return 0;
}
