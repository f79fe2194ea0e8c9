/* identity: see identity.h. */
#include "aws/identity.h"

#include <stdlib.h>
#include <string.h>

#include "parse/config.h"
#include "aws/creds.h"
#include "net/endpoint.h"
#include "aws/imds.h"
#include "base/log.h"
#include "aws/onprem.h"
#include "base/util.h"

void identity_done(struct identity *id)
{
    creds_provider_free(id->creds);
    imds_free(id->imds);
    free(id->region);
    free(id->domain);
    free(id->host_identifier);
    memset(id, 0, sizeof(*id));
}

static int init_onprem(struct identity *id, const struct onprem *op, struct err *err)
{
    id->on_premises = true;
    id->region = xstrdup(op->region);
    id->host_identifier = xstrdup(onprem_host_identifier(op));
    struct creds_opts co = {.iam_session_arn = op->iam_session_arn,
                            .credentials_file = op->aws_credentials_file,
                            .iam_user_arn = op->iam_user_arn,
                            .access_key_id = op->aws_access_key_id,
                            .secret_access_key = op->aws_secret_access_key};
    id->creds = creds_provider_new(&co, err);
    return id->creds ? 0 : -1;
}

static int init_ec2(struct identity *id, const struct config *cfg, const struct onprem *op,
                    bool need_host_id, const struct stop *stop, struct err *err)
{
    struct imds_opts io = {.disable_v1 = cfg->disable_imds_v1, .stop = stop};
    id->imds = imds_new(&io, err);
    if (!id->imds)
        return -1;
    /* on-premises region, AWS_REGION, then the identity document. */
    struct imds_host h = {0};
    struct err e = ERR_INIT;
    if (imds_resolve_host(id->imds, op ? op->region : NULL, NULL, &h, &e) < 0) {
        if (!need_host_id) {
            const char *r = op && op->region ? op->region : getenv("AWS_REGION");
            if (r && *r)
                id->region = xstrdup(r);
            return 0;
        }
        return err_set(err, e.code,
                       "could not learn this host's region and identity from the "
                       "instance metadata service (is this an EC2 instance, or is the "
                       "on-premises file %s missing?): %s",
                       cfg->on_premises_config_file, e.msg);
    }
    id->region = TAKE_PTR(h.region);
    id->host_identifier = TAKE_PTR(h.host_id);
    id->domain = TAKE_PTR(h.domain);
    imds_host_done(&h);
    struct creds_opts co = {.imds = id->imds};
    id->creds = creds_provider_new(&co, need_host_id ? err : NULL);
    if (!id->creds && need_host_id)
        return -1;
    return 0;
}

int identity_init(struct identity *id, const struct config *cfg, bool need_host_id,
                  const struct stop *stop, struct err *err)
{
    memset(id, 0, sizeof(*id));
    struct onprem op;
    onprem_init(&op);
    struct err e = ERR_INIT;
    bool have_file = onprem_load(cfg->on_premises_config_file, &op, &e) == 0;
    for (size_t i = 0; have_file && i < op.nwarnings; i++)
        log_warn("%s", op.warnings[i]);
    if (!have_file && e.code != ERR_NOT_FOUND) {
        onprem_done(&op);
        return err_set(err, e.code, "%s", e.msg);
    }
    int r;
    if (have_file && op.kind != ONPREM_NONE)
        r = init_onprem(id, &op, err);
    else
        r = init_ec2(id, cfg, have_file ? &op : NULL, need_host_id, stop, err);
    onprem_done(&op);
    if (r < 0)
        identity_done(id);
    return r;
}
