/*
 * libFuzzer target: spec_parse() of a deployment specification document, both as the daemon
 * (no local revisions) and as codedeploy-local, and spec_redact_json() used for DEBUG logs.
 */
#include "fuzz.h"
#include "parse/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    for (int local = 0; local < 2; local++) {
        struct spec_parse_opts opts = {.allow_local_revisions = local != 0};
        struct deploy_spec *s = NULL;
        struct err err = ERR_INIT;
        int rc = spec_parse(json, size, &opts, &s, &err);
        fuzz_check_result("spec_parse", rc, &err);
        if (rc == 0)
            (void)spec_is_blue_green_rollback(s);
        spec_free(s);
    }
    char *red = spec_redact_json(json, size);
    if (red && strstr(red, "\"GitHubAccessToken\":\"") && !strstr(red, "REDACTED"))
        abort();
    free(red);
    return 0;
}
