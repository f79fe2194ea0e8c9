/*
 * endpoint: pure resolution of the URLs cdagent talks to.  The Commands endpoint of spec
 * R-042..R-046 / V-017..V-019 (codedeploy-commands[-secure][-fips].<region>.<domain>, domain from
 * IMDS or derived from the region, :deploy_control_endpoint: verbatim, signing name and
 * X-Amz-Target prefix of the secure variant) and S3 object URLs of R-111/R-112 (override,
 * FIPS, eusc, regional; virtual-hosted or path-style addressing, key encoded per segment).  No
 * I/O, no globals; every returned string is owned by the caller's result struct.
 */
#ifndef CDAGENT_ENDPOINT_H
#define CDAGENT_ENDPOINT_H

#include <stdbool.h>

#include "base/err.h"

#define ENDPOINT_COMMANDS_SERVICE "codedeploy-commands"
#define ENDPOINT_COMMANDS_SECURE_SERVICE "codedeploy-commands-secure"
#define ENDPOINT_TARGET_PREFIX "CodeDeployCommandService_v20141006"
#define ENDPOINT_SECURE_TARGET_PREFIX "CodeDeployCommandService"

/* "amazonaws.eu" for eusc-*, "amazonaws.com.cn" for cn-*, else "amazonaws.com".
 * Static storage. */
const char *endpoint_domain_for_region(const char *region);

/* The partition name for a region: "aws-cn", "aws-us-gov", "aws-eusc" or "aws".  Static. */
const char *endpoint_partition_for_region(const char *region);

/* V-019: may :use_fips_mode: be used in this region? */
bool endpoint_fips_allowed(const char *region);

/*
 * check a domain read from IMDS on an on-premises host against the region.
 * Errors: ERR_CONFIG "Unknown domain: <domain>" or "Invalid region: <region>".
 */
int endpoint_check_domain(const char *domain, const char *region, struct err *err);

struct endpoint_commands_opts {
    const char *region;       /* borrowed; required */
    const char *domain;       /* borrowed; NULL or "": derived from region */
    bool fips;                /* :use_fips_mode: */
    bool secure;              /* :enable_auth_policy: */
    const char *override_url; /* borrowed; :deploy_control_endpoint:, NULL or "": none */
};

struct endpoint_commands {
    char *url;                 /* owned; "https://codedeploy-commands.us-west-2.amazonaws.com" */
    char *host;                /* owned; host[:port] of url, for the Host header */
    const char *signing_name;  /* static; ENDPOINT_COMMANDS_[SECURE_]SERVICE (never "-fips") */
    const char *target_prefix; /* static; X-Amz-Target prefix without the ".Operation" */
};

/*
 * Resolve the Commands endpoint.  Errors: ERR_CONFIG when the region is missing or malformed
 * (not [0-9a-z-]), or the override is not an http:// or https:// URL with a host.
 */
int endpoint_commands_resolve(const struct endpoint_commands_opts *o, struct endpoint_commands *ret,
                              struct err *err);
void endpoint_commands_done(struct endpoint_commands *e);

struct endpoint_s3_opts {
    const char *region;       /* borrowed; required */
    const char *domain;       /* borrowed; NULL or "": derived from region */
    bool fips;                /* :use_fips_mode: */
    const char *override_url; /* borrowed; :s3_endpoint_override:, NULL or "": none */
};

struct endpoint_s3_object {
    char *url;        /* owned; full object URL, key encoded, "?versionId=" when given */
    char *host;       /* owned; host[:port] for the Host header (and signing) */
    char *path_query; /* owned; "/key?versionId=..." or "/bucket/key..." as sent */
    bool path_style;  /* true: bucket in the path */
};

/*
 * URL of s3://bucket/key (version_id may be NULL).  Virtual-hosted addressing when
 * the bucket is DNS-compatible without '.', and the endpoint host is not an IP address or
 * "localhost"; path-style otherwise.  The key is URI-encoded per segment, '/' kept, no
 * dot-segment normalisation.
 * Errors: ERR_CONFIG for a missing region, an empty bucket or key, or a bad override URL.
 */
int endpoint_s3_object(const struct endpoint_s3_opts *o, const char *bucket, const char *key,
                       const char *version_id, struct endpoint_s3_object *ret, struct err *err);
void endpoint_s3_object_done(struct endpoint_s3_object *e);

#endif
