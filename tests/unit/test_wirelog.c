/* Tests for wirelog: line format, redaction, mode 0640 and size rotation,
 * concurrent writers. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "test.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/util.h"
#include "net/wirelog.h"

static char *slurp(const char *path)
{
    char *s = NULL;
    size_t n = 0;
    struct err e = ERR_INIT;
    if (read_file(path, 64 * 1024 * 1024, &s, &n, &e) < 0)
        FAILF("read %s: %s", path, e.msg);
    return s;
}

static struct wirelog *open_at(const char *name, uint64_t max, unsigned keep, char **ret_path)
{
    char *p = path_join(test_tmpdir(), name);
    struct wirelog_opts o = {.path = p, .max_bytes = max, .keep = keep};
    struct err e = ERR_INIT;
    struct wirelog *w = wirelog_open(&o, &e);
    if (!w)
        FAILF("wirelog_open: %s", e.msg);
    *ret_path = p;
    return w;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

TEST(wirelog_r203_path_name)
{
    AUTOFREE char *p = wirelog_path("/var/log/aws/codedeploy-agent", "codedeploy-agent");
    ASSERT_STREQ(p, "/var/log/aws/codedeploy-agent/codedeploy-agent.aws_wire.log");
}

TEST(wirelog_r200_header_values_redacted)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20231114/us-east-1/codedeploy-commands/"
         "aws4_request, SignedHeaders=host;x-amz-date, Signature=abcdef0123",
         "Authorization: REDACTED"},
        {"authorization:token ghp_secret", "authorization: REDACTED"},
        {"X-Amz-Security-Token: FwoGZXIvYXdzEJr//////////", "X-Amz-Security-Token: REDACTED"},
        {"x-aws-ec2-metadata-token: AQAEAtoken", "x-aws-ec2-metadata-token: REDACTED"},
        {"Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: REDACTED"},
        {"X-Amz-Target: CodeDeployCommandService_v20141006.PollHostCommand",
         "X-Amz-Target: CodeDeployCommandService_v20141006.PollHostCommand"},
        {"HTTP/1.1 200 OK", "HTTP/1.1 200 OK"},
        {"POST / HTTP/1.1", "POST / HTTP/1.1"},
        {"GET /bucket/key.tgz?versionId=v1 HTTP/1.1", "GET /bucket/key.tgz?versionId=v1 HTTP/1.1"},
        {"GET /b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F2023&"
         "X-Amz-Security-Token=TOK&X-Amz-Signature=deadbeef HTTP/1.1",
         "GET /b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&"
         "X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED HTTP/1.1"},
        {"Location: https://codeload.github.com/a/b/tar.gz/c?token=AAAA#frag",
         "Location: https://codeload.github.com/a/b/tar.gz/c?token=REDACTED#frag"},
        {"Location: https://b.s3.amazonaws.com/k?AWSAccessKeyId=AKID&Expires=1&Signature=zz",
         "Location: https://b.s3.amazonaws.com/k?AWSAccessKeyId=REDACTED&Expires=1&"
         "Signature=REDACTED"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        AUTOFREE char *r = wirelog_redact_line(cases[i].in, strlen(cases[i].in));
        ASSERT_STREQ(r, cases[i].want);
    }
}

TEST(wirelog_r200_registered_secrets_redacted_everywhere)
{
    log_add_secret("wirelog-unit-secret-7f3a");
    const char *l = "X-Custom: a wirelog-unit-secret-7f3a b";
    AUTOFREE char *r = wirelog_redact_line(l, strlen(l));
    ASSERT_STREQ(r, "X-Custom: a REDACTED b");
    const char *b = "{\"Script\":\"echo wirelog-unit-secret-7f3a\"}";
    AUTOFREE char *rb = wirelog_redact_body(b, strlen(b), WIRELOG_OUT);
    ASSERT_STREQ(rb, "{\"Script\":\"echo REDACTED\"}");
}

TEST(wirelog_r120_tokens_and_envelope_payload_redacted_in_bodies)
{
    const char *plain =
        "{\"GitHubAccessToken\" : \"ghp_abc\\\"def\",\"OAuthToken\":\"o1\",\"x\":1}";
    AUTOFREE char *r1 = wirelog_redact_body(plain, strlen(plain), WIRELOG_OUT);
    ASSERT_STREQ(r1, "{\"GitHubAccessToken\" : \"REDACTED\",\"OAuthToken\":\"REDACTED\",\"x\":1}");
    /* JSON inside a JSON string, as in a TEXT/JSON envelope. */
    const char *nested = "{\"Payload\":\"{\\\"GitHubAccessToken\\\":\\\"ghp_zz\\\",\\\"a\\\":2}\"}";
    AUTOFREE char *r2 = wirelog_redact_body(nested, strlen(nested), WIRELOG_OUT);
    ASSERT_STREQ(r2, "{\"Payload\":\"{\\\"GitHubAccessToken\\\":\\\"REDACTED\\\",\\\"a\\\":2}\"}");
    /* A received specification envelope may carry the token inside PKCS#7: drop it whole. */
    const char *spec =
        "{\"DeploymentSpecification\":{\"GenericEnvelope\":{\"Format\":\"PKCS7/JSON\","
        "\"Payload\":\"MIIBase64Der==\"}},\"DeploymentSystem\":\"CodeDeploy\"}";
    AUTOFREE char *r3 = wirelog_redact_body(spec, strlen(spec), WIRELOG_IN);
    ASSERT_NOT_CONTAINS(r3, "MIIBase64Der");
    ASSERT_CONTAINS(r3, "\"Payload\":\"REDACTED\"");
    ASSERT_CONTAINS(r3, "\"DeploymentSystem\":\"CodeDeploy\"");
    /* Diagnostics we send keep their payload. */
    const char *diag = "{\"Diagnostics\":{\"Format\":\"JSON\",\"Payload\":\"{}\"}}";
    AUTOFREE char *r4 = wirelog_redact_body(diag, strlen(diag), WIRELOG_OUT);
    ASSERT_STREQ(r4, diag);
    /* Control bytes and NULs are shown as '.', newlines kept. */
    const char raw[] = {'a', 0, 'b', '\033', '\n', 'c'};
    AUTOFREE char *r5 = wirelog_redact_body(raw, sizeof(raw), WIRELOG_IN);
    ASSERT_STREQ(r5, "a.b.\nc");
}

TEST(wirelog_r203_line_format_and_mode_0640)
{
    mode_t old = umask(077); /* the file is 0640 whatever the umask */
    AUTOFREE char *path = NULL;
    struct wirelog *w = open_at("fmt.aws_wire.log", 0, 0, &path);
    umask(old);
    struct stat st;
    ASSERT_OK(stat(path, &st));
    ASSERT_EQ(st.st_mode & 07777, 0640);
    unsigned long id = wirelog_next_id(w);
    ASSERT_EQ(id, 1);
    ASSERT_EQ(wirelog_next_id(w), 2);
    const char *req = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: AWS4-HMAC-SHA256 "
                      "Signature=0123abcd\r\n\r\n";
    wirelog_headers(w, id, WIRELOG_OUT, req, strlen(req));
    wirelog_body(w, id, WIRELOG_OUT, "{\"HostIdentifier\":\"h\"}", 22);
    wirelog_headers(w, id, WIRELOG_IN, "HTTP/1.1 200 OK\r\n", 17);
    wirelog_headers(w, id, WIRELOG_IN, "\r\n", 2);
    wirelog_body(w, id, WIRELOG_IN, "{}\n{\"x\":1}", 10);
    wirelog_note(w, id, "error: %s", "connection reset");
    ASSERT_FALSE(wirelog_failed(w));
    wirelog_free(w);
    AUTOFREE char *s = slurp(path);
    /* 2026-12-01T09:01:26.123 #1 > POST / HTTP/1.1 */
    const char *want[] = {
        "#1 > POST / HTTP/1.1\n",         "#1 > Host: 127.0.0.1\n",
        "#1 > Authorization: REDACTED\n", "#1 > body: {\"HostIdentifier\":\"h\"}\n",
        "#1 < HTTP/1.1 200 OK\n",         "#1 < body: {}\n",
        "#1 < body: {\"x\":1}\n",         "#1 * error: connection reset\n"};
    const char *p = s;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *hit = strstr(p, want[i]);
        if (!hit)
            FAILF("missing or out of order: %s in\n%s", want[i], s);
        p = hit + strlen(want[i]);
    }
    ASSERT_NOT_CONTAINS(s, "0123abcd");
    ASSERT_EQ(count(s, "\n"), 8);
    /* Each line starts with a local timestamp YYYY-MM-DDTHH:MM:SS.mmm and a space. */
    ASSERT_EQ(strlen(s) > 24, 1);
    ASSERT_EQ(s[4], '-');
    ASSERT_EQ(s[10], 'T');
    ASSERT_EQ(s[19], '.');
    ASSERT_EQ(s[23], ' ');
    /* Reopening an existing, more open file appends and restores 0640. */
    ASSERT_OK(chmod(path, 0666));
    struct wirelog_opts o = {.path = path};
    struct err e = ERR_INIT;
    w = wirelog_open(&o, &e);
    ASSERT_NOT_NULL(w);
    wirelog_note(w, wirelog_next_id(w), "again");
    wirelog_free(w);
    ASSERT_OK(stat(path, &st));
    ASSERT_EQ(st.st_mode & 07777, 0640);
    AUTOFREE char *s2 = slurp(path);
    ASSERT_TRUE(str_has_prefix(s2, s));
    ASSERT_CONTAINS(s2, "#1 * again\n");
}

TEST(wirelog_r203_open_errors)
{
    struct err e = ERR_INIT;
    struct wirelog_opts none = {0};
    ASSERT_NULL(wirelog_open(&none, &e));
    ASSERT_EQ(e.code, ERR_USAGE);
    err_clear(&e);
    struct wirelog_opts bad = {.path = "/nonexistent-dir-cdagent/x.aws_wire.log"};
    ASSERT_NULL(wirelog_open(&bad, &e));
    ASSERT_EQ(e.code, ERR_SYSTEM);
    ASSERT_CONTAINS(e.msg, "open wire log '/nonexistent-dir-cdagent/x.aws_wire.log'");
    /* NULL wire logs are accepted everywhere (http passes its optional pointer). */
    wirelog_headers(NULL, 1, WIRELOG_OUT, "GET / HTTP/1.1", 14);
    wirelog_body(NULL, 1, WIRELOG_IN, "x", 1);
    wirelog_note(NULL, 1, "x");
    wirelog_free(NULL);
}

/* R-203 rotation as Ruby's Logger: live -> .0, .N -> .N+1, keep files in all. */
TEST(wirelog_r203_size_rotation_keeps_n_files)
{
    AUTOFREE char *path = NULL;
    AUTOFREE char *dir = path_join(test_tmpdir(), "rot");
    ASSERT_OK(mkdir_p(dir, 0755, NULL));
    AUTOFREE char *rel = xasprintf("rot/%s", "w.aws_wire.log");
    struct wirelog *w = open_at(rel, 300, 3, &path);
    for (int i = 0; i < 40; i++)
        wirelog_note(w, (unsigned long)i + 1, "entry %02d %s", i, "padding-padding-padding");
    ASSERT_FALSE(wirelog_failed(w));
    wirelog_free(w);
    AUTOFREE char *r0 = xasprintf("%s.0", path);
    AUTOFREE char *r1 = xasprintf("%s.1", path);
    AUTOFREE char *r2 = xasprintf("%s.2", path);
    ASSERT_TRUE(file_exists(path));
    ASSERT_TRUE(file_exists(r0));
    ASSERT_TRUE(file_exists(r1));
    ASSERT_FALSE(file_exists(r2));
    struct stat st;
    ASSERT_OK(stat(path, &st));
    ASSERT_TRUE(st.st_size <= 300);
    ASSERT_EQ(st.st_mode & 07777, 0640);
    ASSERT_OK(stat(r0, &st));
    ASSERT_TRUE(st.st_size <= 300);
    AUTOFREE char *live = slurp(path);
    AUTOFREE char *old0 = slurp(r0);
    AUTOFREE char *old1 = slurp(r1);
    /* The newest entry is in the live file; .0 holds the entries just before it, .1 older. */
    ASSERT_CONTAINS(live, "entry 39");
    ASSERT_NOT_CONTAINS(old0, "entry 39");
    const char *last0 = strrchr(old0, '#');
    const char *first_live = strchr(live, '#');
    ASSERT_NOT_NULL(last0);
    ASSERT_NOT_NULL(first_live);
    unsigned long a = strtoul(last0 + 1, NULL, 10);
    unsigned long b = strtoul(first_live + 1, NULL, 10);
    ASSERT_EQ(a + 1, b);
    const char *last1 = strrchr(old1, '#');
    const char *first0 = strchr(old0, '#');
    ASSERT_EQ(strtoul(last1 + 1, NULL, 10) + 1, strtoul(first0 + 1, NULL, 10));
}

struct writer_arg {
    struct wirelog *w;
    int n;
};

static void *writer(void *arg)
{
    struct writer_arg *wa = arg;
    for (int i = 0; i < wa->n; i++) {
        unsigned long id = wirelog_next_id(wa->w);
        const char *h = "GET /x HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n";
        wirelog_headers(wa->w, id, WIRELOG_OUT, h, strlen(h));
    }
    return NULL;
}

TEST(wirelog_concurrent_writers_keep_entries_whole)
{
    AUTOFREE char *path = NULL;
    struct wirelog *w = open_at("mt.aws_wire.log", 0, 0, &path);
    pthread_t t[4];
    struct writer_arg wa = {w, 100};
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, writer, &wa), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    wirelog_free(w);
    AUTOFREE char *s = slurp(path);
    ASSERT_EQ(count(s, "\n"), 1200);
    ASSERT_EQ(count(s, " > GET /x HTTP/1.1\n"), 400);
    /* An entry's three lines stay together: each request line is followed by its Host line. */
    for (const char *p = strstr(s, " > GET /x HTTP/1.1\n"); p; p = strstr(p + 1, " > GET /x")) {
        const char *hash = p;
        while (hash > s && *hash != '#')
            hash--;
        unsigned long id = strtoul(hash + 1, NULL, 10);
        const char *next = strchr(p, '\n') + 1;
        char want[64];
        snprintf(want, sizeof(want), "#%lu > Host: h\n", id);
        const char *hit = strstr(next, want);
        ASSERT_NOT_NULL(hit);
        ASSERT_TRUE(hit - next < 40);
    }
}
