/* Tests for the pure parts of bundle: ETag handling, S3 error messages, GitHub URLs
 * (spec; issue 6).  Transfers are tested end to end in
 * tests/e2e/test_bundle_s3.py against s3rver behind tests/fake/s3.py. */
#include "deploy/bundle.h"
#include "test.h"
#include "base/util.h"

TEST(bundle_etag_quotes_removed_R110)
{
    AUTOFREE char *a = bundle_etag_unquote("\"myetag\"");
    ASSERT_STREQ(a, "myetag");
    AUTOFREE char *b = bundle_etag_unquote("my\"et\"ag");
    ASSERT_STREQ(b, "myetag");
    ASSERT_NULL(bundle_etag_unquote(NULL));
}

TEST(bundle_multipart_etag_detected_R110)
{
    ASSERT_TRUE(bundle_etag_is_multipart("\"d41d8cd98f00b204e9800998ecf8427e-12\""));
    ASSERT_TRUE(bundle_etag_is_multipart("abc-3"));
    ASSERT_FALSE(bundle_etag_is_multipart("d41d8cd98f00b204e9800998ecf8427e"));
    ASSERT_FALSE(bundle_etag_is_multipart("abc-"));
    ASSERT_FALSE(bundle_etag_is_multipart("abc-x1"));
    ASSERT_FALSE(bundle_etag_is_multipart(NULL));
}

TEST(bundle_s3_error_names_object_status_code_R114)
{
    struct err e = ERR_INIT;
    const char *xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
                      "<Message>Access Denied &amp; more</Message><RequestId>X</RequestId></Error>";
    ASSERT_EQ(bundle_s3_error(&e, "b", "k/a.tar", 403, xml), -1);
    ASSERT_STREQ(e.msg, "S3 GetObject s3://b/k/a.tar: 403 AccessDenied: Access Denied & more");
    ASSERT_EQ(e.code, ERR_AUTH);
    err_clear(&e);
    bundle_s3_error(&e, "b", "k", 404, "<Error><Code>NoSuchKey</Code><Message>The specified "
                                       "key does not exist.</Message></Error>");
    ASSERT_STREQ(e.msg, "S3 GetObject s3://b/k: 404 NoSuchKey: The specified key does not exist.");
    ASSERT_EQ(e.code, ERR_NOT_FOUND);
    err_clear(&e);
    bundle_s3_error(&e, "b", "k", 503, "<Error><Code>SlowDown</Code></Error>");
    ASSERT_STREQ(e.msg, "S3 GetObject s3://b/k: 503 SlowDown");
    ASSERT_EQ(e.code, ERR_THROTTLED);
    err_clear(&e);
    bundle_s3_error(&e, "b", "k", 404, NULL);
    ASSERT_STREQ(e.msg, "S3 GetObject s3://b/k: 404 Not Found");
    err_clear(&e);
    bundle_s3_error(&e, "b", "k", 500, "<html>oops</html>");
    ASSERT_STREQ(e.msg, "S3 GetObject s3://b/k: 500 Internal Server Error");
    ASSERT_EQ(e.code, ERR_HTTP);
}

TEST(bundle_github_url_formats_R116)
{
    struct bundle_github_source s = {"octo", "hello-world", "0123abcd", NULL, NULL};
    AUTOFREE char *tar = bundle_github_url(NULL, &s, NULL);
    ASSERT_STREQ(tar, "https://api.github.com/repos/octo/hello-world/tarball/0123abcd");
    s.bundle_type = "zip";
    AUTOFREE char *zip = bundle_github_url("http://127.0.0.1:8080/", &s, NULL);
    ASSERT_STREQ(zip, "http://127.0.0.1:8080/repos/octo/hello-world/zipball/0123abcd");
    s.bundle_type = "tgz";
    struct err e = ERR_INIT;
    ASSERT_NULL(bundle_github_url(NULL, &s, &e));
    ASSERT_EQ(e.code, ERR_UNSUPPORTED);
    ASSERT_STREQ(e.msg, "GitHub revision specified with bundle_type other than zip or tar "
                        "[bundle_type=tgz]");
}

TEST(bundle_github_url_encodes_components)
{
    struct bundle_github_source s = {"o", "a/b", "c d", "tar", NULL};
    AUTOFREE char *u = bundle_github_url(NULL, &s, NULL);
    ASSERT_STREQ(u, "https://api.github.com/repos/o/a%2Fb/tarball/c%20d");
    struct bundle_github_source empty = {"o", "", "c", "tar", NULL};
    struct err e = ERR_INIT;
    ASSERT_NULL(bundle_github_url(NULL, &empty, &e));
    ASSERT_CONTAINS(e.msg, "repository");
}

TEST(bundle_s3_needs_region_creds_http)
{
    struct bundle_s3_source src = {"b", "k", NULL, NULL};
    struct bundle_s3_opts o = {0};
    struct err e = ERR_INIT;
    const char *dest = test_write("x", "");
    ASSERT_FAIL(bundle_fetch_s3(&src, &o, dest, NULL, &e));
    ASSERT_EQ(e.code, ERR_CONFIG);
    ASSERT_CONTAINS(e.msg, "S3 GetObject s3://b/k");
}
