/* imds: see imds.h.  Stub until the HTTP client lands (issue 6). */
#include "imds.h"

#include <stdlib.h>

struct imds {
    int unused;
};

struct imds *imds_new(const struct imds_opts *opts, struct err *err)
{
    (void)opts;
    err_set(err, ERR_UNSUPPORTED, "IMDS client: not implemented yet");
    return NULL;
}

void imds_free(struct imds *m)
{
    free(m);
}

const char *imds_endpoint(const struct imds *m)
{
    (void)m;
    return IMDS_DEFAULT_ENDPOINT;
}

uint64_t imds_request_count(const struct imds *m)
{
    (void)m;
    return 0;
}

int imds_get(struct imds *m, const char *path, char **ret, struct err *err)
{
    (void)m, (void)path, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "IMDS GET: not implemented yet");
}

int imds_probe(struct imds *m, struct err *err)
{
    (void)m;
    return err_set(err, ERR_UNSUPPORTED, "IMDS probe: not implemented yet");
}

int imds_identity(struct imds *m, struct imds_identity *ret, struct err *err)
{
    (void)m, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "IMDS identity: not implemented yet");
}

void imds_identity_done(struct imds_identity *id)
{
    (void)id;
}

int imds_parse_identity(const char *json, struct imds_identity *ret, struct err *err)
{
    (void)json, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "IMDS identity: not implemented yet");
}

int imds_partition(struct imds *m, char **ret, struct err *err)
{
    (void)m, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "IMDS partition: not implemented yet");
}

int imds_domain(struct imds *m, char **ret, struct err *err)
{
    (void)m, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "IMDS domain: not implemented yet");
}

int imds_host_identifier(struct imds *m, char **ret, struct err *err)
{
    (void)m, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "IMDS host identifier: not implemented yet");
}

char *imds_build_arn(const char *partition, const char *region, const char *account,
                     const char *instance_id, struct err *err)
{
    (void)partition, (void)region, (void)account, (void)instance_id;
    err_set(err, ERR_UNSUPPORTED, "IMDS ARN: not implemented yet");
    return NULL;
}

int imds_role_credentials(struct imds *m, struct imds_role_creds *ret, struct err *err)
{
    (void)m, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "IMDS role credentials: not implemented yet");
}

void imds_role_creds_done(struct imds_role_creds *c)
{
    (void)c;
}

int imds_parse_role_creds(const char *json, struct imds_role_creds *ret, struct err *err)
{
    (void)json, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "IMDS role credentials: not implemented yet");
}

int imds_parse_iso8601(const char *s, int64_t *ret_ms, struct err *err)
{
    (void)s, (void)ret_ms;
    return err_set(err, ERR_UNSUPPORTED, "ISO-8601: not implemented yet");
}
