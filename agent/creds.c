/* creds: see creds.h.  Stub (issue 6). */
#include "creds.h"

#include <stdlib.h>

#include "util.h"

void creds_done(struct creds *c)
{
    if (!c)
        return;
    free(c->access_key_id);
    secret_free(c->secret_access_key);
    secret_free(c->session_token);
    c->access_key_id = c->secret_access_key = c->session_token = NULL;
}

const char *creds_source_name(enum creds_source s)
{
    (void)s;
    return "none";
}

struct creds_provider *creds_provider_new(const struct creds_opts *opts, struct err *err)
{
    (void)opts;
    err_set(err, ERR_UNSUPPORTED, "credentials: not implemented yet");
    return NULL;
}

void creds_provider_free(struct creds_provider *p)
{
    free(p);
}

enum creds_source creds_provider_source(const struct creds_provider *p)
{
    (void)p;
    return CREDS_SOURCE_NONE;
}

int creds_get(struct creds_provider *p, struct creds *ret, struct err *err)
{
    (void)p, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "credentials: not implemented yet");
}

void creds_invalidate(struct creds_provider *p)
{
    (void)p;
}

int creds_parse_ini(const char *text, size_t len, struct creds *ret, struct err *err)
{
    (void)text, (void)len, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "credentials file: not implemented yet");
}
