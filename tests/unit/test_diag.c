/* Tests for diag: the diagnostics payloads of spec §13 (R-190..R-196), byte for byte. */
#include "test.h"

#include "run/diag.h"
#include "base/buf.h"
#include "base/util.h"

/* R-190, C-207: the spec's example failure payload, member order and compact form. */
TEST(diag_r190_failure_example_exact)
{
    const char *log =
        "LifecycleEvent - ApplicationStart\nScript - scripts/start.sh\n[stderr]boom\n";
    AUTOFREE char *p = diag_payload(4, "scripts/start.sh",
                                    "Script at specified location: scripts/start.sh failed with "
                                    "exit code 1",
                                    log, strlen(log), 0);
    ASSERT_STREQ(p,
                 "{\"error_code\":4,\"script_name\":\"scripts/start.sh\",\"message\":\"Script at "
                 "specified location: scripts/start.sh failed with exit code 1\",\"log\":"
                 "\"LifecycleEvent - ApplicationStart\\nScript - scripts/start.sh\\n[stderr]"
                 "boom\\n\"}");
}

/* R-192, C-206 */
TEST(diag_r192_success_payload_exact)
{
    AUTOFREE char *p = diag_success_payload();
    ASSERT_STREQ(
        p, "{\"error_code\":0,\"script_name\":\"\",\"message\":\"Succeeded: \",\"log\":\"\"}");
    AUTOFREE char *q = diag_payload(0, NULL, DIAG_NOOP_MESSAGE, NULL, 0, 0);
    ASSERT_STREQ(q, "{\"error_code\":0,\"script_name\":\"\",\"message\":\"Succeeded: "
                    "CompletedNoopCommand\",\"log\":\"\"}");
}

/* R-193, C-208: non-script error, code 5, empty script name and log. */
TEST(diag_r193_unknown_error)
{
    AUTOFREE char *p = diag_payload(5, "", "The specified key does not exist.", "", 0, 0);
    ASSERT_STREQ(p, "{\"error_code\":5,\"script_name\":\"\",\"message\":\"The specified key does "
                    "not exist.\",\"log\":\"\"}");
}

/* R-196, C-211 */
TEST(diag_r196_ack_payload_exact)
{
    AUTOFREE char *t = diag_ack_payload(true);
    AUTOFREE char *f = diag_ack_payload(false);
    ASSERT_STREQ(t, "{\"IsCommandNoop\":true}");
    ASSERT_STREQ(f, "{\"IsCommandNoop\":false}");
}

/* control characters escaped, '/' and non-ASCII not escaped. */
TEST(diag_r195_escaping)
{
    const char log[] =
        "a/b \"q\" \\ \t\r\n\b\f\x01\x1f\x7f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    AUTOFREE char *p = diag_payload(4, "s/x.sh", "m", log, sizeof(log) - 1, 0);
    ASSERT_STREQ(p, "{\"error_code\":4,\"script_name\":\"s/x.sh\",\"message\":\"m\",\"log\":\"a/b "
                    "\\\"q\\\" \\\\ \\t\\r\\n\\b\\f\\u0001\\u001f\x7f caf\xc3\xa9 \xe2\x82\xac "
                    "\xf0\x9f\x98\x80\"}");
}

/* R-195, C-210: invalid UTF-8 becomes U+FFFD (one per maximal invalid subpart); NUL escaped. */
TEST(diag_r195_invalid_utf8_replaced)
{
    const char in[] = "x\xff"
                      "y\xc3"
                      "z\xe2\x82"
                      "w\xed\xa0\x80"
                      "v\xc0\xaf"
                      "\0u";
    size_t n;
    AUTOFREE char *s = diag_utf8_sanitize(in, sizeof(in) - 1, &n);
    ASSERT_STREQ(s, "x\xef\xbf\xbdy\xef\xbf\xbdz\xef\xbf\xbdw\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                    "v\xef\xbf\xbd\xef\xbf\xbd");
    AUTOFREE char *p = diag_payload(4, "a", "b", in, sizeof(in) - 1, 0);
    ASSERT_CONTAINS(p, "\"log\":\"x\xef\xbf\xbdy");
    ASSERT_CONTAINS(p, "\\u0000u\"}");
}

/* R-194, C-209: a 20 000-character message is cut at the end with "..."; log emptied first. */
TEST(diag_r194_long_message_truncated)
{
    char *msg = xmalloc(20001);
    memset(msg, 'm', 20000);
    msg[20000] = '\0';
    AUTOFREE char *p = diag_payload(5, "", msg, "some log\n", 9, 0);
    free(msg);
    ASSERT_EQ(strlen(p), DIAG_PAYLOAD_MAX);
    ASSERT_CONTAINS(p, "mmm...\",\"log\":\"\"}");
    ASSERT_TRUE(str_has_prefix(p, "{\"error_code\":5,\"script_name\":\"\",\"message\":\"mmm"));
}

/* the log is cut from the front first, keeping the newest output. */
TEST(diag_r194_log_cut_from_front)
{
    /* 2048 NUL bytes escape to 6 chars each (12288): too long. */
    char log[3000];
    memset(log, 0, sizeof(log));
    memcpy(log + sizeof(log) - 6, "NEWEST", 6);
    AUTOFREE char *p = diag_payload(4, "s.sh", "failed", log, sizeof(log), 0);
    ASSERT_TRUE(strlen(p) <= DIAG_PAYLOAD_MAX && strlen(p) > DIAG_PAYLOAD_MAX - 6);
    ASSERT_CONTAINS(p, "\\u0000NEWEST\"}");
    ASSERT_CONTAINS(p, "\"message\":\"failed\",\"log\":\"\\u0000");
    /* exactly at the limit: nothing cut */
    AUTOFREE char *q = diag_payload(4, "s.sh", "failed", "abc", 3, 0);
    AUTOFREE char *r = diag_payload(4, "s.sh", "failed", "abc", 3, strlen(q));
    ASSERT_STREQ(r, q);
    AUTOFREE char *t = diag_payload(4, "s.sh", "failed", "abc", 3, strlen(q) - 1);
    ASSERT_CONTAINS(t, "\"log\":\"bc\"}");
}

/* characters, not bytes: multi-byte characters count once (twice beyond the BMP). */
TEST(diag_r194_counts_characters)
{
    ASSERT_EQ(diag_char_count("caf\xc3\xa9", 5), 4);
    ASSERT_EQ(diag_char_count("\xf0\x9f\x98\x80", 4), 2);
    struct buf b;
    buf_init(&b, 1 << 20);
    for (int i = 0; i < 10000; i++)
        buf_append(&b, "\xc3\xa9", 2, NULL);
    AUTOFREE char *p = diag_payload(4, "s", "m", b.data, b.len, 0);
    buf_done(&b);
    ASSERT_EQ(diag_char_count(p, strlen(p)), DIAG_PAYLOAD_MAX);
    ASSERT_TRUE(strlen(p) > DIAG_PAYLOAD_MAX);
}
