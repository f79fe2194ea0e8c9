/* Tests for the pure parts of bundle: ETag handling, S3 error messages, GitHub URLs
 * (spec; issue 6).  Transfers are tested end to end in
 * tests/e2e/test_bundle_s3.py against s3rver behind tests/fake/s3.py. */
#include "deploy/bundle.h"
#include "base/checksum.h"
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
    bundle_s3_error(&e, "b", "k", 404,
                    "<Error><Code>NoSuchKey</Code><Message>The specified "
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

TEST(bundle_content_range_parsed_strictly)
{
    uint64_t s = 7, e = 7, t = 7;
    ASSERT_OK(bundle_parse_content_range("bytes 100-199/200", &s, &e, &t));
    ASSERT_EQ(s, 100);
    ASSERT_EQ(e, 199);
    ASSERT_EQ(t, 200);
    const char *bad[] = {NULL,
                         "",
                         "bytes 100-199/*",
                         "bytes */200",
                         "items 0-1/2",
                         "bytes 5-4/10",
                         "bytes 0-10/10",
                         "bytes 0-9/10x",
                         "bytes -1-9/10",
                         "bytes 0-99999999999999999999/1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = e = t = 7;
        ASSERT_FAIL(bundle_parse_content_range(bad[i], &s, &e, &t));
        ASSERT_EQ(s + e + t, 21); /* outputs untouched */
    }
}

TEST(bundle_checksum_crc_check_values)
{
    /* The catalogue "check" values: CRC of the ASCII digits 1..9. */
    ASSERT_EQ(checksum_crc32("123456789", 9), 0xCBF43926u);
    ASSERT_EQ(checksum_crc32c("123456789", 9), 0xE3069283u);
    ASSERT_EQ(checksum_crc64nvme("123456789", 9), 0xAE8B14860A799888ull);
    ASSERT_EQ(checksum_crc32("", 0), 0);
}

TEST(bundle_checksum_base64_as_s3_writes_it)
{
    /* Values as S3 (and Python's zlib/hashlib + base64) write them. */
    AUTOFREE char *crc = checksum_base64(CHECKSUM_CRC32, "123456789", 9);
    ASSERT_STREQ(crc, "y/Q5Jg==");
    AUTOFREE char *sha = checksum_base64(CHECKSUM_SHA256, "", 0);
    ASSERT_STREQ(sha, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    AUTOFREE char *sha1 = checksum_base64(CHECKSUM_SHA1, "abc", 3);
    ASSERT_STREQ(sha1, "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
    const char *path = test_write("f", "123456789");
    AUTOFREE char *file = checksum_file_base64(path, CHECKSUM_CRC32C, NULL);
    AUTOFREE char *mem = checksum_base64(CHECKSUM_CRC32C, "123456789", 9);
    ASSERT_STREQ(file, mem);
    ASSERT_STREQ(file, "4waSgw==");
}

TEST(bundle_checksum_composite_detected)
{
    ASSERT_TRUE(checksum_is_composite("y/Q5Jg==-3"));
    ASSERT_FALSE(checksum_is_composite("y/Q5Jg=="));
    ASSERT_FALSE(checksum_is_composite("ab-"));
    ASSERT_FALSE(checksum_is_composite(NULL));
}

/* ---- the sink: bytes on their way to disk (issue 14 item 2, issue 18 items 2 and 5) ---- */
#include <fcntl.h>
#include <openssl/evp.h>
#include <time.h>
#include <unistd.h>

#include "deploy/bundle-internal.h"

TEST(bundle_sink_md5_and_checksum_continue_over_chunks_and_reset)
{
    const char *path = test_write("obj.part", "");
    int fd = open(path, O_RDWR | O_CLOEXEC);
    ASSERT_TRUE(fd >= 0);
    struct bundle_sink s;
    bundle_sink_init(&s, fd, 0, NULL);
    s.md5 = EVP_MD_CTX_new();
    EVP_DigestInit_ex(s.md5, EVP_md5(), NULL);
    s.cks = checksum_run_new(CHECKSUM_CRC32);
    ASSERT_OK(bundle_sink_write(&s, "hello ", 6));
    ASSERT_OK(bundle_sink_write(&s, "world", 5)); /* as after a resume: the state goes on */
    char md5[33];
    bundle_sink_md5_hex(&s, md5);
    ASSERT_STREQ(md5, "5eb63bbbe01eeed093cb22bb8f5acdc3"); /* md5("hello world") */
    AUTOFREE char *crc = checksum_run_base64(s.cks);
    s.cks = NULL;
    AUTOFREE char *want = checksum_base64(CHECKSUM_CRC32, "hello world", 11);
    ASSERT_STREQ(crc, want);
    char back[16] = {0};
    ASSERT_EQ(pread(fd, back, sizeof(back), 0), 11);
    ASSERT_STREQ(back, "hello world");
    bundle_sink_reset(&s); /* a 200: everything from byte 0 again */
    ASSERT_EQ(s.off, 0);
    ASSERT_EQ(s.head_len, 0);
    bundle_sink_done(&s);
    close(fd);
}

TEST(bundle_sink_names_an_s3_error_document_in_a_200)
{
    struct bundle_sink s;
    bundle_sink_init(&s, -1, 0, NULL);
    const char *xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
                      "<Message>Please reduce your request rate.</Message></Error>";
    ASSERT_OK(bundle_sink_write(&s, xml, strlen(xml)));
    struct err e = ERR_INIT;
    ASSERT_FAIL(bundle_sink_xml_error(&s, "b", "k.tar", &e));
    ASSERT_STREQ(e.msg, "S3 GetObject s3://b/k.tar: S3 answered 200 OK with an error document "
                        "instead of the object: SlowDown: Please reduce your request rate.");
    ASSERT_EQ(e.code, ERR_THROTTLED);
    bundle_sink_reset(&s);
    ASSERT_OK(bundle_sink_write(&s, "ustar\0\0\0", 8));
    ASSERT_OK(bundle_sink_xml_error(&s, "b", "k.tar", &e));
    bundle_sink_done(&s);
}

TEST(bundle_sink_minimum_rate_names_the_limit)
{
    struct bundle_s3_opts o = {.min_rate_bps = 1000, .rate_window_ms = 20};
    struct bundle_sink s;
    bundle_sink_init(&s, -1, 0, &o);
    ASSERT_OK(bundle_sink_write(&s, "x", 1)); /* within the window: no verdict yet */
    struct timespec ts = {0, 30 * 1000000L};  /* one wait past the window, not a poll */
    nanosleep(&ts, NULL);
    ASSERT_FAIL(bundle_sink_write(&s, "y", 1));
    ASSERT_EQ(s.why_kind, SINK_SLOW);
    ASSERT_EQ(s.why.code, ERR_TIMEOUT);
    ASSERT_CONTAINS(s.why.msg, "below the minimum transfer rate of 1000 bytes/s");
    ASSERT_CONTAINS(s.why.msg, ":download_min_rate_bytes_per_second:");
    bundle_sink_done(&s);
}
