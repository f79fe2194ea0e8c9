/*
 * libFuzzer target: spec_parse() of a deployment specification document, both as the daemon
 * (no local revisions) and as codedeploy-local, and spec_redact_json() used for DEBUG logs.
 */
#include "fuzz.h"
#include "base/json.h"
#include "parse/spec.h"

/* The token a deployment specification carries where the agent reads it (the member
 * GitHubAccessToken, and Revision.GitHubRevision.OAuthToken), or NULL. */
static const char *token_at(const struct json *doc, int which)
{
    if (which == 0)
        return json_member_str(doc, "GitHubAccessToken");
    return json_member_str(json_member(json_member(doc, "Revision"), "GitHubRevision"),
                           "OAuthToken");
}

/* Wherever the input holds a token as a string, the redacted text holds "REDACTED" there.
 * (Matching the printed text instead is wrong both ways: a key such as "x\"GitHubAccessToken"
 * prints the searched-for bytes without being a token.) */
static void check_redacted(const char *json, size_t size, const char *red)
{
    AUTOJSON struct json *in = json_parse(json, size, NULL, NULL);
    AUTOJSON struct json *out = json_parse(red, strlen(red), NULL, NULL);
    if (!in)
        return; /* a document the parser refuses is not printed by the redactor either */
    if (!out)
        abort();
    for (int which = 0; which < 2; which++) {
        const char *secret = token_at(in, which);
        const char *shown = token_at(out, which);
        if (secret && (!shown || strcmp(shown, "REDACTED") != 0)) {
            fprintf(stderr, "token %d not redacted: '%s'\n", which, shown ? shown : "(gone)");
            abort();
        }
    }
}

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
    if (red)
        check_redacted(json, size, red);
    free(red);
    return 0;
}
