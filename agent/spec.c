/* spec: see spec.h.  (stub until the implementation lands) */
#include "spec.h"

#include <stdlib.h>

#include "util.h"

int spec_open_envelope(const char *format, const char *payload, size_t payload_len, bool allow_text,
                       char **ret_json, size_t *ret_len, char **ret_signer, struct err *err)
{
    (void)format, (void)payload, (void)payload_len, (void)allow_text, (void)ret_json;
    (void)ret_len, (void)ret_signer;
    return err_set(err, ERR_UNSUPPORTED, "open deployment specification: not implemented yet");
}

int spec_parse(const char *json, size_t len, const struct spec_parse_opts *opts,
               struct deploy_spec **ret, struct err *err)
{
    (void)json, (void)len, (void)opts, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "parse deployment specification: not implemented yet");
}

int spec_load(const char *format, const char *payload, size_t payload_len, bool allow_text,
              const struct spec_parse_opts *opts, struct deploy_spec **ret, struct err *err)
{
    (void)format, (void)payload, (void)payload_len, (void)allow_text, (void)opts, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "load deployment specification: not implemented yet");
}

void spec_free(struct deploy_spec *s)
{
    free(s);
}

char *spec_deployment_id_from_arn(const char *id)
{
    return id ? xstrdup(id) : NULL;
}

bool spec_path_component_ok(const char *s)
{
    (void)s;
    return false;
}

bool spec_relpath_ok(const char *s)
{
    (void)s;
    return false;
}

char *spec_redact_json(const char *json, size_t len)
{
    (void)json, (void)len;
    return NULL;
}

bool spec_is_blue_green_rollback(const struct deploy_spec *s)
{
    (void)s;
    return false;
}

const char *spec_bundle_type_name(enum spec_bundle_type t)
{
    (void)t;
    return "tar";
}
