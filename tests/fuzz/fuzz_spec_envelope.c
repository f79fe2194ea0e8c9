/*
 * libFuzzer target: spec_open_envelope() (PKCS7/JSON, TEXT/JSON, JSON) and, when it opens,
 * spec_parse() of the document inside.  The first byte picks the format and whether text
 * envelopes are allowed; the rest is the payload.
 */
#include "fuzz.h"
#include "parse/spec.h"

static const char *const formats[] = {"PKCS7/JSON", "TEXT/JSON", "JSON", "pkcs7/json"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *format = formats[data[0] & 3];
    bool allow_text = (data[0] & 4) != 0;
    char *json = NULL, *signer = NULL;
    size_t len = 0;
    struct err err = ERR_INIT;
    int rc = spec_open_envelope(format, (const char *)data + 1, size - 1, allow_text, &json, &len,
                                &signer, &err);
    fuzz_check_result("spec_open_envelope", rc, &err);
    if (rc < 0)
        return 0;
    if (strlen(json) != len)
        abort(); /* the contract: a NUL-terminated document of *ret_len bytes */
    struct deploy_spec *s = NULL;
    struct err e2 = ERR_INIT;
    rc = spec_parse(json, len, NULL, &s, &e2);
    fuzz_check_result("spec_parse", rc, &e2);
    spec_free(s);
    free(json);
    free(signer);
    return 0;
}
