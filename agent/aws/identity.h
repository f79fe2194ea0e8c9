/*
 * identity: who and where this host is, and where its credentials come from (spec §3), for the
 * daemon and codedeploy-local.  An on-premises registration file with iam_user_arn or
 * iam_session_arn makes the host on-premises: region and host identifier come from it and IMDS
 * is never contacted.  Otherwise the host is an EC2 instance: region, domain and the host
 * identifier ARN come from IMDS (IMDSv2, with the v1 fallback unless disabled), and credentials
 * from the instance profile.
 */
#ifndef CDAGENT_IDENTITY_H
#define CDAGENT_IDENTITY_H

#include <stdbool.h>

#include "base/err.h"
#include "net/http.h"

struct config;
struct creds_provider;
struct imds;
struct stop;

struct identity {
    bool on_premises;
    char *region;                 /* owned */
    char *domain;                 /* owned; NULL: derived from the region */
    char *host_identifier;        /* owned */
    struct imds *imds;            /* owned; NULL on on-premises hosts */
    struct creds_provider *creds; /* owned */
};

/* Resolve everything.  need_host_id false (codedeploy-local) tolerates a host without IMDS as
 * long as no S3 download needs credentials: then creds is NULL and region may be NULL.
 * Errors: on-premises file errors, IMDS failures ("Could not reach the instance metadata
 * service..."), ERR_AUTH when no credential source is configured.  stop (borrowed, may be NULL)
 * cuts IMDS retries short. */
int identity_init(struct identity *id, const struct config *cfg, bool need_host_id,
                  const struct stop *stop, struct err *err);
void identity_done(struct identity *id);

#endif
