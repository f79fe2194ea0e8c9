/* endpoint: see endpoint.h.  Stub bodies; the resolver lands next. */
#include "endpoint.h"

#include <stdlib.h>

const char *endpoint_domain_for_region(const char *region)
{
    (void)region;
    return "amazonaws.com";
}

const char *endpoint_partition_for_region(const char *region)
{
    (void)region;
    return "aws";
}

bool endpoint_fips_allowed(const char *region)
{
    (void)region;
    return false;
}

int endpoint_check_domain(const char *domain, const char *region, struct err *err)
{
    (void)domain, (void)region;
    return err_set(err, ERR_UNSUPPORTED, "endpoint: not implemented yet");
}

int endpoint_commands_resolve(const struct endpoint_commands_opts *o,
                              struct endpoint_commands *ret, struct err *err)
{
    (void)o, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "endpoint: not implemented yet");
}

void endpoint_commands_done(struct endpoint_commands *e)
{
    (void)e;
}

int endpoint_s3_object(const struct endpoint_s3_opts *o, const char *bucket, const char *key,
                       const char *version_id, struct endpoint_s3_object *ret, struct err *err)
{
    (void)o, (void)bucket, (void)key, (void)version_id, (void)ret;
    return err_set(err, ERR_UNSUPPORTED, "endpoint: not implemented yet");
}

void endpoint_s3_object_done(struct endpoint_s3_object *e)
{
    (void)e;
}
