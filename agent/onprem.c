/* onprem: stub bodies (the real parser follows); see onprem.h. */
#include "onprem.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void onprem_init(struct onprem *o)
{
    memset(o, 0, sizeof(*o));
}

void onprem_done(struct onprem *o)
{
    if (!o)
        return;
    free(o->path);
    free(o->region);
    free(o->iam_user_arn);
    free(o->iam_session_arn);
    secret_free(o->aws_access_key_id);
    secret_free(o->aws_secret_access_key);
    free(o->aws_credentials_file);
    for (size_t i = 0; i < o->nwarnings; i++)
        free(o->warnings[i]);
    free(o->warnings);
    memset(o, 0, sizeof(*o));
}

int onprem_parse(const char *text, size_t len, const char *filename, struct onprem *ret,
                 struct err *err)
{
    (void)text;
    (void)len;
    (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "parse '%s': not implemented yet", filename);
}

int onprem_load(const char *path, struct onprem *ret, struct err *err)
{
    (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "load '%s': not implemented yet", path);
}

const char *onprem_host_identifier(const struct onprem *o)
{
    if (o->kind == ONPREM_IAM_USER)
        return o->iam_user_arn;
    if (o->kind == ONPREM_IAM_SESSION)
        return o->iam_session_arn;
    return NULL;
}
