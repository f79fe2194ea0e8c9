/*
 * identity (spec) through its seams: the on-premises file path in the
 * config, the IMDS endpoint variable pointed at a closed local port, and a stop token already
 * requested so no IMDS retry sleeps.  No test reaches a real metadata service.
 */
#include "test.h"

#include <stdlib.h>

#include "aws/identity.h"
#include "base/stop.h"
#include "base/util.h"
#include "parse/config.h"

struct env_saved {
    char *imds;
    char *region;
};

/* IMDS unreachable: a loopback port nothing listens on, and the stop requested up front. */
static void env_no_imds(struct env_saved *s, const char *region)
{
    const char *v = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    s->imds = v ? xstrdup(v) : NULL;
    v = getenv("AWS_REGION");
    s->region = v ? xstrdup(v) : NULL;
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9", 1);
    if (region)
        setenv("AWS_REGION", region, 1);
    else
        unsetenv("AWS_REGION");
}

static void env_restore(struct env_saved *s)
{
    if (s->imds)
        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", s->imds, 1);
    else
        unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (s->region)
        setenv("AWS_REGION", s->region, 1);
    else
        unsetenv("AWS_REGION");
    free(s->imds);
    free(s->region);
}

/* identity_init with no on-premises file and IMDS unreachable (stop requested up front). */
static int init_without_imds(struct config *cfg, bool need_host_id, const char *region,
                             struct identity *id, struct err *e)
{
    config_init(cfg);
    free(cfg->on_premises_config_file);
    cfg->on_premises_config_file = xasprintf("%s/no-such-onprem.yml", test_tmpdir());
    struct stop stop;
    if (stop_init(&stop, e) < 0)
        return -1;
    stop_request(&stop);
    struct env_saved s;
    env_no_imds(&s, region);
    int r = identity_init(id, cfg, need_host_id, &stop, e);
    env_restore(&s);
    stop_done(&stop);
    return r;
}

/* an on-premises registration names region and host; IMDS is never set up. */
TEST(identity_R035_onprem_file_wins_without_imds)
{
    struct config cfg;
    config_init(&cfg);
    free(cfg.on_premises_config_file);
    cfg.on_premises_config_file = xstrdup(test_src_path("tests/data/config/onprem-user.yml"));
    struct env_saved s;
    env_no_imds(&s, "eu-west-1");
    struct identity id;
    struct err e = ERR_INIT;
    int r = identity_init(&id, &cfg, true, NULL, &e);
    env_restore(&s);
    if (r < 0)
        FAILF("identity_init: %s", e.msg);
    ASSERT_TRUE(id.on_premises);
    ASSERT_STREQ(id.region, "us-west-2");
    ASSERT_STREQ(id.host_identifier, "arn:aws:iam::444455556666:user/CodeDeployUser-OnPrem");
    ASSERT_NULL(id.imds);
    ASSERT_TRUE(id.creds != NULL);
    identity_done(&id);
    config_done(&cfg);
}

/* codedeploy-local on a host without IMDS still learns the region from AWS_REGION and
 * runs without credentials. */
TEST(identity_R029_local_without_imds_uses_env_region)
{
    struct config cfg;
    struct identity id;
    struct err e = ERR_INIT;
    int r = init_without_imds(&cfg, false, "eu-west-1", &id, &e);
    if (r < 0)
        FAILF("identity_init: %s", e.msg);
    ASSERT_FALSE(id.on_premises);
    ASSERT_STREQ(id.region, "eu-west-1");
    ASSERT_NULL(id.host_identifier);
    ASSERT_NULL(id.creds);
    identity_done(&id);
    config_done(&cfg);
}

/* the daemon needs a host identity; the error says where it looked. */
TEST(identity_R037_daemon_without_imds_or_onprem_file_fails_with_hint)
{
    struct config cfg;
    struct identity id;
    struct err e = ERR_INIT;
    int r = init_without_imds(&cfg, true, NULL, &id, &e);
    ASSERT_EQ(r, -1);
    ASSERT_CONTAINS(e.msg, "could not learn this host's region and identity");
    ASSERT_CONTAINS(e.msg, cfg.on_premises_config_file);
    config_done(&cfg);
}
