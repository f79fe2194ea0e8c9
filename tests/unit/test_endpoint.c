/* Endpoint resolution (spec R-042..R-046, R-111, R-112; v2-delta V-017..V-019): table tests. */
#include "test.h"

#include "net/endpoint.h"

struct commands_case {
    const char *region, *domain;
    bool fips, secure;
    const char *override;
    const char *url, *host, *signing, *target;
};

static const struct commands_case commands_cases[] = {
    /* C-045 .. C-047 */
    {"us-west-2", NULL, false, false, NULL, "https://codedeploy-commands.us-west-2.amazonaws.com",
     "codedeploy-commands.us-west-2.amazonaws.com", "codedeploy-commands",
     "CodeDeployCommandService_v20141006"},
    {"us-west-2", NULL, true, false, NULL,
     "https://codedeploy-commands-fips.us-west-2.amazonaws.com", NULL, "codedeploy-commands",
     "CodeDeployCommandService_v20141006"},
    {"us-west-2", NULL, false, true, NULL,
     "https://codedeploy-commands-secure.us-west-2.amazonaws.com", NULL,
     "codedeploy-commands-secure", "CodeDeployCommandService"},
    {"us-east-1", NULL, true, true, NULL,
     "https://codedeploy-commands-secure-fips.us-east-1.amazonaws.com", NULL,
     "codedeploy-commands-secure", "CodeDeployCommandService"},
    {"cn-north-1", NULL, false, false, NULL,
     "https://codedeploy-commands.cn-north-1.amazonaws.com.cn", NULL, "codedeploy-commands", NULL},
    {"cn-northwest-1", "", false, true, NULL,
     "https://codedeploy-commands-secure.cn-northwest-1.amazonaws.com.cn", NULL,
     "codedeploy-commands-secure", NULL},
    {"eusc-de-east-1", NULL, false, false, NULL,
     "https://codedeploy-commands.eusc-de-east-1.amazonaws.eu", NULL, "codedeploy-commands", NULL},
    {"us-gov-west-1", NULL, true, false, NULL,
     "https://codedeploy-commands-fips.us-gov-west-1.amazonaws.com", NULL, "codedeploy-commands",
     NULL},
    /* domain from IMDS wins over the derived one */
    {"us-west-2", "amazonaws.example", false, false, NULL,
     "https://codedeploy-commands.us-west-2.amazonaws.example", NULL, NULL, NULL},
    /* C-049 / R-044: override verbatim, signing name unaffected by it and by FIPS */
    {"us-west-2", NULL, true, false, "http://127.0.0.1:8443", "http://127.0.0.1:8443",
     "127.0.0.1:8443", "codedeploy-commands", "CodeDeployCommandService_v20141006"},
    {"us-west-2", NULL, false, true, "https://vpce-1.codedeploy-commands.example/x/",
     "https://vpce-1.codedeploy-commands.example/x/", "vpce-1.codedeploy-commands.example",
     "codedeploy-commands-secure", "CodeDeployCommandService"},
};

TEST(endpoint_R042_R044_R046_commands_table)
{
    for (size_t i = 0; i < sizeof(commands_cases) / sizeof(commands_cases[0]); i++) {
        const struct commands_case *c = &commands_cases[i];
        struct endpoint_commands_opts o = {c->region, c->domain, c->fips, c->secure, c->override};
        struct endpoint_commands e;
        struct err err = ERR_INIT;
        if (endpoint_commands_resolve(&o, &e, &err) < 0)
            FAILF("case %zu: %s", i, err.msg);
        ASSERT_STREQ(e.url, c->url);
        if (c->host)
            ASSERT_STREQ(e.host, c->host);
        if (c->signing)
            ASSERT_STREQ(e.signing_name, c->signing);
        if (c->target)
            ASSERT_STREQ(e.target_prefix, c->target);
        endpoint_commands_done(&e);
    }
}

TEST(endpoint_R044_commands_bad_inputs)
{
    struct endpoint_commands e = {0};
    struct err err = ERR_INIT;
    struct endpoint_commands_opts o = {.region = "us-west-2", .override_url = "ftp://x"};
    ASSERT_FAIL(endpoint_commands_resolve(&o, &e, &err));
    ASSERT_EQ(err.code, ERR_CONFIG);
    ASSERT_CONTAINS(err.msg, "'ftp://x'");
    ASSERT_NULL(e.url);
    err_clear(&err);
    o = (struct endpoint_commands_opts){.region = "us-west-2/evil"};
    ASSERT_FAIL(endpoint_commands_resolve(&o, &e, &err));
    ASSERT_CONTAINS(err.msg, "invalid region 'us-west-2/evil'");
    err_clear(&err);
    o = (struct endpoint_commands_opts){.region = NULL};
    ASSERT_FAIL(endpoint_commands_resolve(&o, &e, &err));
    ASSERT_EQ(err.code, ERR_CONFIG);
}

TEST(endpoint_R042_domains_and_partitions)
{
    static const struct {
        const char *region, *domain, *partition;
    } t[] = {
        {"us-east-1", "amazonaws.com", "aws"},
        {"eu-west-3", "amazonaws.com", "aws"},
        {"cn-north-1", "amazonaws.com.cn", "aws-cn"},
        {"us-gov-east-1", "amazonaws.com", "aws-us-gov"},
        {"eusc-de-east-1", "amazonaws.eu", "aws-eusc"},
        {"us-iso-east-1", "c2s.ic.gov", "aws-iso"},
        {"us-isob-east-1", "sc2s.sgov.gov", "aws-iso-b"},
        /* "cn" must be the first dash-separated component */
        {"xcn-north-1", "amazonaws.com", "aws"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        ASSERT_STREQ(endpoint_domain_for_region(t[i].region), t[i].domain);
        ASSERT_STREQ(endpoint_partition_for_region(t[i].region), t[i].partition);
    }
}

/* R-022, V-019, C-023: the one FIPS region list (the daemon's start-up check uses it too). */
TEST(endpoint_V019_fips_regions)
{
    const char *ok[] = {"us-east-1", "us-east-2",     "us-west-1",
                        "us-west-2", "us-gov-west-1", "us-gov-east-1"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        ASSERT_TRUE(endpoint_fips_allowed(ok[i]));
    ASSERT_FALSE(endpoint_fips_allowed("eu-west-1"));
    ASSERT_FALSE(endpoint_fips_allowed("cn-north-1"));
    ASSERT_FALSE(endpoint_fips_allowed("US-EAST-1"));
    ASSERT_FALSE(endpoint_fips_allowed(""));
    ASSERT_FALSE(endpoint_fips_allowed(NULL));
}

TEST(endpoint_R043_on_premises_domain_check)
{
    struct err err = ERR_INIT;
    ASSERT_OK(endpoint_check_domain("amazonaws.com", "us-east-1", &err));
    ASSERT_OK(endpoint_check_domain("amazonaws.eu", "eusc-de-east-1", &err));
    ASSERT_OK(endpoint_check_domain("amazonaws.com.cn", "cn-north-1", &err));
    ASSERT_FAIL(endpoint_check_domain("example.com", "us-east-1", &err));
    ASSERT_EQ(err.code, ERR_CONFIG);
    ASSERT_STREQ(err.msg, "Unknown domain: example.com");
    err_clear(&err);
    ASSERT_FAIL(endpoint_check_domain("amazonaws.com.cn", "us-east-1", &err));
    ASSERT_STREQ(err.msg, "Invalid region: us-east-1");
    err_clear(&err);
    ASSERT_FAIL(endpoint_check_domain("amazonaws.com", "US-EAST-1", &err));
    ASSERT_STREQ(err.msg, "Invalid region: US-EAST-1");
    err_clear(&err);
    ASSERT_FAIL(endpoint_check_domain("amazonaws.com", "a-very-long-region-name-1", &err));
    err_clear(&err);
    ASSERT_FAIL(endpoint_check_domain("amazonaws.com.cn", "cn-north-x", &err));
}

struct s3_case {
    const char *region, *domain;
    bool fips;
    const char *override, *bucket, *key, *version;
    const char *url, *host, *path_query;
    bool path_style;
};

static const struct s3_case s3_cases[] = {
    /* R-111 step 4 and R-112 virtual-hosted */
    {"us-west-2", NULL, false, NULL, "my-bucket", "app/bundle.tar", NULL,
     "https://my-bucket.s3.us-west-2.amazonaws.com/app/bundle.tar",
     "my-bucket.s3.us-west-2.amazonaws.com", "/app/bundle.tar", false},
    /* versionId, key encoded per segment, no dot-segment normalisation */
    {"us-west-2", NULL, false, NULL, "b-1", "dir/../a b+c.zip", "3/L4kq+",
     "https://b-1.s3.us-west-2.amazonaws.com/dir/../a%20b%2Bc.zip?versionId=3%2FL4kq%2B", NULL,
     "/dir/../a%20b%2Bc.zip?versionId=3%2FL4kq%2B", false},
    /* C-117: FIPS, eusc, cn */
    {"us-east-1", NULL, true, NULL, "bkt", "k", NULL,
     "https://bkt.s3-fips.us-east-1.amazonaws.com/k", NULL, NULL, false},
    {"eusc-de-east-1", NULL, false, NULL, "bkt", "k", NULL,
     "https://bkt.s3.eusc-de-east-1.amazonaws.eu/k", NULL, NULL, false},
    {"cn-north-1", NULL, false, NULL, "bkt", "k", NULL,
     "https://bkt.s3.cn-north-1.amazonaws.com.cn/k", NULL, NULL, false},
    {"us-west-2", "amazonaws.example", false, NULL, "bkt", "k", NULL,
     "https://bkt.s3.us-west-2.amazonaws.example/k", NULL, NULL, false},
    /* C-118: dotted bucket and upper-case bucket -> path-style */
    {"us-west-2", NULL, false, NULL, "my.bucket", "k", NULL,
     "https://s3.us-west-2.amazonaws.com/my.bucket/k", "s3.us-west-2.amazonaws.com", "/my.bucket/k",
     true},
    {"us-west-2", NULL, false, NULL, "MyBucket", "k", NULL,
     "https://s3.us-west-2.amazonaws.com/MyBucket/k", NULL, NULL, true},
    /* override: IP and localhost are path-style; a name is virtual-hosted; override beats FIPS */
    {"us-west-2", NULL, true, "http://127.0.0.1:4568", "bkt", "a/b", "v1",
     "http://127.0.0.1:4568/bkt/a/b?versionId=v1", "127.0.0.1:4568", "/bkt/a/b?versionId=v1", true},
    {"us-west-2", NULL, false, "http://localhost:9000/", "bkt", "k", NULL,
     "http://localhost:9000/bkt/k", "localhost:9000", NULL, true},
    {"us-west-2", NULL, false, "https://[::1]:9000", "bkt", "k", NULL, "https://[::1]:9000/bkt/k",
     "[::1]:9000", NULL, true},
    {"us-west-2", NULL, false, "https://s3.internal.example", "bkt", "k", NULL,
     "https://bkt.s3.internal.example/k", "bkt.s3.internal.example", "/k", false},
    {"us-west-2", NULL, false, "https://s3.internal.example", "b.kt", "k", NULL,
     "https://s3.internal.example/b.kt/k", NULL, NULL, true},
};

TEST(endpoint_R111_R112_s3_table)
{
    for (size_t i = 0; i < sizeof(s3_cases) / sizeof(s3_cases[0]); i++) {
        const struct s3_case *c = &s3_cases[i];
        struct endpoint_s3_opts o = {c->region, c->domain, c->fips, c->override};
        struct endpoint_s3_object e;
        struct err err = ERR_INIT;
        if (endpoint_s3_object(&o, c->bucket, c->key, c->version, &e, &err) < 0)
            FAILF("case %zu: %s", i, err.msg);
        ASSERT_STREQ(e.url, c->url);
        if (c->host)
            ASSERT_STREQ(e.host, c->host);
        if (c->path_query)
            ASSERT_STREQ(e.path_query, c->path_query);
        if (e.path_style != c->path_style)
            FAILF("case %zu (%s): path_style %d, expected %d", i, c->url, e.path_style,
                  c->path_style);
        endpoint_s3_object_done(&e);
    }
}

TEST(endpoint_R111_s3_bad_inputs)
{
    struct endpoint_s3_opts o = {.region = "us-west-2"};
    struct endpoint_s3_object e = {0};
    struct err err = ERR_INIT;
    ASSERT_FAIL(endpoint_s3_object(&o, "", "k", NULL, &e, &err));
    ASSERT_CONTAINS(err.msg, "empty bucket");
    err_clear(&err);
    ASSERT_FAIL(endpoint_s3_object(&o, "b", NULL, NULL, &e, &err));
    ASSERT_CONTAINS(err.msg, "'b': empty key");
    err_clear(&err);
    o.override_url = "s3.example.com";
    ASSERT_FAIL(endpoint_s3_object(&o, "bkt", "k", NULL, &e, &err));
    ASSERT_EQ(err.code, ERR_CONFIG);
    ASSERT_CONTAINS(err.msg, ":s3_endpoint_override: 's3.example.com'");
    ASSERT_NULL(e.url);
}
