/* Tests for the pure parts of imds: documents, timestamps, the host identifier ARN
 * (spec; issue 6).  The HTTP flow is tested end to end in
 * tests/e2e/test_imds_creds.py against tests/fake/imds.py. */
#include "aws/imds.h"
#include "test.h"
#include "base/util.h"

TEST(imds_identity_document_parsed_and_stripped_R031_R034)
{
    const char *doc = "{\n  \"accountId\" : \"123456789012\",\n  \"architecture\" : \"x86_64\",\n"
                      "  \"region\" : \" us-east-1 \\t\",\n"
                      "  \"instanceId\" : \"i-0abc\", \"pendingTime\": \"2024-01-01T00:00:00Z\"\n}";
    struct imds_identity id;
    struct err e = ERR_INIT;
    ASSERT_OK(imds_parse_identity(doc, &id, &e));
    ASSERT_STREQ(id.region, "us-east-1");
    ASSERT_STREQ(id.account_id, "123456789012");
    ASSERT_STREQ(id.instance_id, "i-0abc");
    imds_identity_done(&id);
}

TEST(imds_identity_document_missing_fields_fail)
{
    struct imds_identity id;
    struct err e = ERR_INIT;
    ASSERT_FAIL(imds_parse_identity("{\"region\":\"us-east-1\",\"instanceId\":\"i-1\"}", &id, &e));
    ASSERT_EQ(e.code, ERR_PARSE);
    ASSERT_CONTAINS(e.msg, "accountId");
    err_clear(&e);
    ASSERT_FAIL(imds_parse_identity("{\"region\":\"  \",\"accountId\":\"1\",\"instanceId\":\"i\"}",
                                    &id, &e));
    ASSERT_CONTAINS(e.msg, "region");
    err_clear(&e);
    ASSERT_FAIL(imds_parse_identity("not json", &id, &e));
    ASSERT_EQ(e.code, ERR_PARSE);
}

/* base/json refuses NUL: a region cut short at \u0000 would name another region's endpoint. */
TEST(imds_identity_document_with_nul_is_refused_not_truncated)
{
    struct imds_identity id;
    struct err e = ERR_INIT;
    ASSERT_FAIL(imds_parse_identity(
        "{\"region\":\"us-east-1\\u0000x\",\"accountId\":\"1\",\"instanceId\":\"i\"}", &id, &e));
    ASSERT_STREQ(e.msg, "IMDS identity document: not a JSON object");
}

TEST(imds_host_identifier_arn_R036)
{
    AUTOFREE char *arn = imds_build_arn("aws-cn", "cn-north-1", "123456789012", "i-0abc", NULL);
    ASSERT_STREQ(arn, "arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-0abc");
}

TEST(imds_host_identifier_never_malformed_R037)
{
    struct err e = ERR_INIT;
    ASSERT_NULL(imds_build_arn("", "us-east-1", "1", "i-1", &e));
    ASSERT_EQ(e.code, ERR_PARSE);
    ASSERT_CONTAINS(e.msg, "partition");
    ASSERT_CONTAINS(e.msg, "missing");
    err_clear(&e);
    ASSERT_NULL(imds_build_arn("aws", "us-east-1", NULL, "i-1", &e));
    ASSERT_CONTAINS(e.msg, "accountId");
    err_clear(&e);
    ASSERT_NULL(imds_build_arn("aws", "us:east", "1", "i-1", &e));
    ASSERT_CONTAINS(e.msg, "malformed");
}

TEST(imds_iso8601_forms)
{
    int64_t ms;
    ASSERT_OK(imds_parse_iso8601("1970-01-01T00:00:00Z", &ms, NULL));
    ASSERT_EQ(ms, 0);
    ASSERT_OK(imds_parse_iso8601("2024-02-29T12:34:56Z", &ms, NULL));
    ASSERT_EQ(ms, 1709210096000LL);
    ASSERT_OK(imds_parse_iso8601("2024-02-29T12:34:56.250Z", &ms, NULL));
    ASSERT_EQ(ms, 1709210096250LL);
    ASSERT_OK(imds_parse_iso8601("2024-02-29T14:34:56+02:00", &ms, NULL));
    ASSERT_EQ(ms, 1709210096000LL);
    struct err e = ERR_INIT;
    ASSERT_FAIL(imds_parse_iso8601("2024-02-29 12:34", &ms, &e));
    ASSERT_EQ(e.code, ERR_PARSE);
    ASSERT_FAIL(imds_parse_iso8601("2024-13-01T00:00:00Z", &ms, NULL));
    ASSERT_FAIL(imds_parse_iso8601("2024-01-01T00:00:00", &ms, NULL));
    ASSERT_FAIL(imds_parse_iso8601("2024-01-01T00:00:00Zjunk", &ms, NULL));
}

TEST(imds_role_document_R040)
{
    const char *doc = "{\"Code\":\"Success\",\"LastUpdated\":\"2024-01-01T00:00:00Z\","
                      "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAX\",\"SecretAccessKey\":\"sk\","
                      "\"Token\":\"tok\",\"Expiration\":\"2024-01-01T06:00:00Z\"}";
    struct imds_role_creds c;
    ASSERT_OK(imds_parse_role_creds(doc, &c, NULL));
    ASSERT_STREQ(c.access_key_id, "ASIAX");
    ASSERT_STREQ(c.secret_access_key, "sk");
    ASSERT_STREQ(c.token, "tok");
    ASSERT_EQ(c.expiration_ms, 1704088800000LL);
    imds_role_creds_done(&c);
    ASSERT_NULL(c.secret_access_key);
}

TEST(imds_role_document_errors)
{
    struct imds_role_creds c;
    struct err e = ERR_INIT;
    ASSERT_FAIL(imds_parse_role_creds("{\"Code\":\"AssumeRoleUnauthorizedAccess\"}", &c, &e));
    ASSERT_EQ(e.code, ERR_AUTH);
    ASSERT_CONTAINS(e.msg, "AssumeRoleUnauthorizedAccess");
    err_clear(&e);
    ASSERT_FAIL(imds_parse_role_creds("{\"AccessKeyId\":\"A\"}", &c, &e));
    ASSERT_CONTAINS(e.msg, "SecretAccessKey");
    err_clear(&e);
    ASSERT_FAIL(imds_parse_role_creds("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S3CRETVALUE\","
                                      "\"Expiration\":\"soon\"}",
                                      &c, &e));
    ASSERT_CONTAINS(e.msg, "Expiration");
    ASSERT_NOT_CONTAINS(e.msg, "S3CRETVALUE");
}

TEST(imds_endpoint_override_from_environment)
{
    /* imds_new needs the HTTP client; the endpoint choice is checked without a request. */
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ftp://example", 1);
    struct err e = ERR_INIT;
    ASSERT_NULL(imds_new(NULL, &e));
    ASSERT_EQ(e.code, ERR_UNSAFE);
    ASSERT_CONTAINS(e.msg, "ftp://example");
}

TEST(imds_resolve_without_imds_uses_onprem_then_env_R029_R036)
{
    unsetenv("AWS_REGION");
    unsetenv("AWS_HOST_IDENTIFIER");
    struct imds_host h;
    struct err e = ERR_INIT;
    ASSERT_OK(imds_resolve_host(NULL, "eu-west-1", "arn:aws:iam::1:user/h", &h, &e));
    ASSERT_STREQ(h.region, "eu-west-1");
    ASSERT_STREQ(h.host_id, "arn:aws:iam::1:user/h");
    ASSERT_NULL(h.domain);
    ASSERT_FALSE(h.used_imds);
    imds_host_done(&h);
    setenv("AWS_REGION", "ap-south-1", 1);
    setenv("AWS_HOST_IDENTIFIER", "arn:aws:ec2:ap-south-1:1:instance/i-env", 1);
    ASSERT_OK(imds_resolve_host(NULL, "", NULL, &h, &e));
    ASSERT_STREQ(h.region, "ap-south-1");
    ASSERT_STREQ(h.host_id, "arn:aws:ec2:ap-south-1:1:instance/i-env");
    imds_host_done(&h);
    /* the on-premises file wins over the environment */
    ASSERT_OK(imds_resolve_host(NULL, "us-east-2", "arn:onprem", &h, &e));
    ASSERT_STREQ(h.region, "us-east-2");
    ASSERT_STREQ(h.host_id, "arn:onprem");
    imds_host_done(&h);
    unsetenv("AWS_HOST_IDENTIFIER");
    ASSERT_FAIL(imds_resolve_host(NULL, "us-east-2", NULL, &h, &e));
    ASSERT_EQ(e.code, ERR_CONFIG);
    ASSERT_CONTAINS(e.msg, "no host identifier");
    err_clear(&e);
    unsetenv("AWS_REGION");
    ASSERT_FAIL(imds_resolve_host(NULL, NULL, "arn:x", &h, &e));
    ASSERT_CONTAINS(e.msg, "no region");
}
