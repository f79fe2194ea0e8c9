/* Tests for creds: source precedence, the INI file, refresh rules with an injected clock
 * (spec R-038..R-041, V-022; issue 6). */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aws/creds.h"
#include "aws/imds.h"
#include "test.h"
#include "base/util.h"

#define MIN_MS (60 * 1000LL)

struct clock {
    int64_t now;
};

static int64_t fake_clock(void *arg)
{
    return ((struct clock *)arg)->now;
}

/* An IMDS fetch stand-in: hands out numbered credentials expiring at *expiry, or fails. */
struct fetcher {
    int calls;
    bool fail;
    int64_t expiry;
};

static int fake_fetch(void *arg, struct imds_role_creds *ret, struct err *err)
{
    struct fetcher *f = arg;
    f->calls++;
    if (f->fail)
        return err_set(err, ERR_TIMEOUT, "IMDS GET: timed out");
    ret->role = xstrdup("role");
    ret->access_key_id = xasprintf("ASIA%04d", f->calls);
    ret->secret_access_key = xasprintf("secret-%d", f->calls);
    ret->token = xasprintf("token-%d", f->calls);
    ret->expiration_ms = f->expiry;
    return 0;
}

/* Keep file mtimes distinct even on coarse file systems. */
static void bump_mtime(const char *path, int sec)
{
    struct stat st;
    ASSERT_OK(stat(path, &st));
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    ts[1].tv_sec += sec;
    ASSERT_OK(utimensat(AT_FDCWD, path, ts, 0));
}

TEST(creds_ini_parses_default_profile_R039)
{
    const char *ini = "---\n# written by a tool\n[other]\naws_access_key_id = NOPE\n"
                      "[default]\naws_access_key_id=AKIA1\n  aws_secret_access_key =  s3cr3t \n"
                      "aws_session_token= tok==\n; comment\n";
    struct creds c;
    struct err e = ERR_INIT;
    ASSERT_OK(creds_parse_ini(ini, strlen(ini), &c, &e));
    ASSERT_STREQ(c.access_key_id, "AKIA1");
    ASSERT_STREQ(c.secret_access_key, "s3cr3t");
    ASSERT_STREQ(c.session_token, "tok==");
    creds_done(&c);
}

TEST(creds_ini_errors_name_what_is_missing_R039)
{
    struct creds c;
    struct err e = ERR_INIT;
    const char *a = "[prod]\naws_access_key_id=A\naws_secret_access_key=B\n";
    ASSERT_FAIL(creds_parse_ini(a, strlen(a), &c, &e));
    ASSERT_EQ(e.code, ERR_PARSE);
    ASSERT_CONTAINS(e.msg, "[default]");
    err_clear(&e);
    const char *b = "[default]\naws_access_key_id=A\n";
    ASSERT_FAIL(creds_parse_ini(b, strlen(b), &c, &e));
    ASSERT_CONTAINS(e.msg, "aws_secret_access_key");
    const char *ok = "[default]\naws_access_key_id=A\naws_secret_access_key=B";
    ASSERT_OK(creds_parse_ini(ok, strlen(ok), &c, NULL));
    ASSERT_NULL(c.session_token);
    creds_done(&c);
}

TEST(creds_precedence_session_then_user_then_imds_R038)
{
    struct fetcher f = {.expiry = 0};
    const char *path = test_write("c.ini", "[default]\naws_access_key_id=FILEKEY\n"
                                           "aws_secret_access_key=filesecret\n");
    struct creds_opts o = {
        .iam_session_arn = "arn:aws:sts::1:assumed-role/r/s",
        .credentials_file = path,
        .iam_user_arn = "arn:aws:iam::1:user/u",
        .access_key_id = "USERKEY",
        .secret_access_key = "usersecret",
        .imds_fetch = fake_fetch,
        .imds_fetch_arg = &f,
    };
    struct err e = ERR_INIT;
    struct creds c;
    struct creds_provider *p = creds_provider_new(&o, &e);
    ASSERT_NOT_NULL(p);
    ASSERT_EQ(creds_provider_source(p), CREDS_SOURCE_SESSION_FILE);
    ASSERT_OK(creds_get(p, &c, &e));
    ASSERT_STREQ(c.access_key_id, "FILEKEY");
    creds_done(&c);
    creds_provider_free(p);

    o.iam_session_arn = NULL;
    p = creds_provider_new(&o, &e);
    ASSERT_EQ(creds_provider_source(p), CREDS_SOURCE_STATIC);
    ASSERT_OK(creds_get(p, &c, &e));
    ASSERT_STREQ(c.access_key_id, "USERKEY");
    ASSERT_STREQ(c.secret_access_key, "usersecret");
    ASSERT_NULL(c.session_token);
    creds_done(&c);
    creds_provider_free(p);
    /* a registered on-premises host never asks IMDS. */
    ASSERT_EQ(f.calls, 0);

    o.iam_user_arn = NULL;
    p = creds_provider_new(&o, &e);
    ASSERT_EQ(creds_provider_source(p), CREDS_SOURCE_IMDS);
    ASSERT_OK(creds_get(p, &c, &e));
    ASSERT_STREQ(c.access_key_id, "ASIA0001");
    ASSERT_STREQ(c.session_token, "token-1");
    creds_done(&c);
    creds_provider_free(p);
    ASSERT_EQ(f.calls, 1);
}

TEST(creds_environment_keys_are_ignored_R038)
{
    setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    struct fetcher f = {.expiry = 0};
    struct creds_opts o = {.imds_fetch = fake_fetch, .imds_fetch_arg = &f};
    struct creds c;
    struct creds_provider *p = creds_provider_new(&o, NULL);
    ASSERT_OK(creds_get(p, &c, NULL));
    ASSERT_STREQ(c.access_key_id, "ASIA0001");
    creds_done(&c);
    creds_provider_free(p);
    struct creds_opts none = {0};
    struct err e = ERR_INIT;
    ASSERT_NULL(creds_provider_new(&none, &e));
    ASSERT_EQ(e.code, ERR_AUTH);
    ASSERT_CONTAINS(e.msg, "Missing credentials - please check if this instance was started "
                           "with an IAM instance profile");
}

TEST(creds_incomplete_registration_is_a_config_error_R027)
{
    struct err e = ERR_INIT;
    struct creds_opts a = {.iam_session_arn = "arn:x"};
    ASSERT_NULL(creds_provider_new(&a, &e));
    ASSERT_STREQ(e.msg, "'aws_credentials_file' key is required when 'iam_session_arn' is "
                        "provided.");
    err_clear(&e);
    struct creds_opts b = {.iam_user_arn = "arn:y", .access_key_id = "K"};
    ASSERT_NULL(creds_provider_new(&b, &e));
    ASSERT_STREQ(e.msg, "'aws_secret_access_key' key is required when 'iam_user_arn' is "
                        "provided.");
}

TEST(creds_missing_session_file_message_R039)
{
    struct clock clk = {1000000};
    const char *path = test_write("gone.ini", "x");
    unlink(path);
    struct creds_opts o = {.iam_session_arn = "arn:s",
                           .credentials_file = path,
                           .clock = fake_clock,
                           .clock_arg = &clk};
    struct creds_provider *p = creds_provider_new(&o, NULL);
    struct creds c;
    struct err e = ERR_INIT;
    ASSERT_FAIL(creds_get(p, &c, &e));
    char want[600];
    snprintf(want, sizeof(want), "Failed to load credentials from path %s", path);
    ASSERT_CONTAINS(e.msg, want);
    /* a file without [default] fails the same way */
    test_write("gone.ini", "[x]\n");
    err_clear(&e);
    ASSERT_FAIL(creds_get(p, &c, &e));
    ASSERT_CONTAINS(e.msg, want);
    ASSERT_CONTAINS(e.msg, "[default]");
    creds_provider_free(p);
}

TEST(creds_session_file_reread_on_change_and_age_R039)
{
    struct clock clk = {1000000};
    const char *path = test_write("s.ini", "[default]\naws_access_key_id=K1\n"
                                           "aws_secret_access_key=S1\naws_session_token=T1\n");
    struct creds_opts o = {.iam_session_arn = "arn:s",
                           .credentials_file = path,
                           .clock = fake_clock,
                           .clock_arg = &clk};
    struct creds_provider *p = creds_provider_new(&o, NULL);
    struct creds c;
    ASSERT_OK(creds_get(p, &c, NULL));
    ASSERT_STREQ(c.session_token, "T1");
    creds_done(&c);

    /* changed content, mtime moved: re-read at once */
    test_write("s.ini", "[default]\naws_access_key_id=K2\naws_secret_access_key=S2\n"
                        "aws_session_token=T2\n");
    bump_mtime(path, 10);
    ASSERT_OK(creds_get(p, &c, NULL));
    ASSERT_STREQ(c.access_key_id, "K2");
    creds_done(&c);

    /* changed content with the mtime put back: only age (25 min <= 30 min) forces the re-read */
    struct stat st;
    ASSERT_OK(stat(path, &st));
    test_write("s.ini", "[default]\naws_access_key_id=K3\naws_secret_access_key=S3\n"
                        "aws_session_token=T3\n");
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    ASSERT_OK(utimensat(AT_FDCWD, path, ts, 0));
    clk.now += 10 * MIN_MS;
    ASSERT_OK(creds_get(p, &c, NULL));
    ASSERT_STREQ(c.access_key_id, "K2");
    creds_done(&c);
    clk.now += 16 * MIN_MS;
    ASSERT_OK(creds_get(p, &c, NULL));
    ASSERT_STREQ(c.access_key_id, "K3");
    creds_done(&c);

    /* invalidate (expired token reported by the service) forces a re-read; same size and mtime,
     * so nothing else would notice the new content */
    test_write("s.ini", "[default]\naws_access_key_id=K4\naws_secret_access_key=S4\n"
                        "aws_session_token=T4\n");
    ASSERT_OK(utimensat(AT_FDCWD, path, ts, 0));
    ASSERT_OK(creds_get(p, &c, NULL));
    ASSERT_STREQ(c.access_key_id, "K3");
    creds_done(&c);
    creds_invalidate(p);
    ASSERT_OK(creds_get(p, &c, NULL));
    ASSERT_STREQ(c.access_key_id, "K4");
    ASSERT_STREQ(c.session_token, "T4");
    creds_done(&c);
    creds_provider_free(p);
}

TEST(creds_session_file_broken_later_keeps_recent_creds)
{
    struct clock clk = {1000000};
    const char *path = test_write("b.ini", "[default]\naws_access_key_id=K1\n"
                                           "aws_secret_access_key=S1\n");
    struct creds_opts o = {.iam_session_arn = "arn:s",
                           .credentials_file = path,
                           .clock = fake_clock,
                           .clock_arg = &clk};
    struct creds_provider *p = creds_provider_new(&o, NULL);
    struct creds c;
    ASSERT_OK(creds_get(p, &c, NULL));
    creds_done(&c);
    test_write("b.ini", "garbage\n");
    bump_mtime(path, 5);
    ASSERT_OK(creds_get(p, &c, NULL)); /* tolerated: loaded moments ago */
    ASSERT_STREQ(c.access_key_id, "K1");
    creds_done(&c);
    clk.now += 31 * MIN_MS;
    struct err e = ERR_INIT;
    ASSERT_FAIL(creds_get(p, &c, &e));
    ASSERT_EQ(e.code, ERR_AUTH);
    ASSERT_CONTAINS(e.msg, "Failed to load credentials from path");
    creds_provider_free(p);
}

TEST(creds_imds_refresh_windows_R040)
{
    struct clock clk = {100 * MIN_MS};
    struct fetcher f = {.expiry = 100 * MIN_MS + 60 * MIN_MS};
    struct creds_opts o = {
        .imds_fetch = fake_fetch, .imds_fetch_arg = &f, .clock = fake_clock, .clock_arg = &clk};
    struct creds_provider *p = creds_provider_new(&o, NULL);
    struct creds c;
    ASSERT_OK(creds_get(p, &c, NULL));
    ASSERT_EQ(c.expiration_ms, f.expiry);
    creds_done(&c);
    /* plenty left: cached */
    clk.now += 40 * MIN_MS;
    ASSERT_OK(creds_get(p, &c, NULL));
    creds_done(&c);
    ASSERT_EQ(f.calls, 1);
    /* 14 min left: soft refresh */
    clk.now += 6 * MIN_MS;
    f.expiry = clk.now + 60 * MIN_MS;
    ASSERT_OK(creds_get(p, &c, NULL));
    ASSERT_EQ(f.calls, 2);
    ASSERT_STREQ(c.access_key_id, "ASIA0002");
    creds_done(&c);

    /* soft window, IMDS down: old credentials kept, no second try within 30 s */
    clk.now += 50 * MIN_MS; /* 10 min left */
    f.fail = true;
    ASSERT_OK(creds_get(p, &c, NULL));
    ASSERT_STREQ(c.access_key_id, "ASIA0002");
    creds_done(&c);
    ASSERT_EQ(f.calls, 3);
    ASSERT_OK(creds_get(p, &c, NULL));
    creds_done(&c);
    ASSERT_EQ(f.calls, 3);
    /* hard window (4 min left): still tolerated while unexpired */
    clk.now += 6 * MIN_MS;
    ASSERT_OK(creds_get(p, &c, NULL));
    ASSERT_STREQ(c.access_key_id, "ASIA0002");
    creds_done(&c);
    ASSERT_EQ(f.calls, 4);
    /* expired and IMDS still down: the R-041 error */
    clk.now += 5 * MIN_MS;
    struct err e = ERR_INIT;
    ASSERT_FAIL(creds_get(p, &c, &e));
    ASSERT_EQ(e.code, ERR_AUTH);
    ASSERT_CONTAINS(e.msg, CREDS_MISSING_MSG);
    ASSERT_CONTAINS(e.msg, "timed out");
    /* IMDS back: fresh credentials */
    f.fail = false;
    f.expiry = clk.now + 60 * MIN_MS;
    ASSERT_OK(creds_get(p, &c, NULL));
    ASSERT_STREQ(c.access_key_id, "ASIA0006");
    creds_done(&c);
    /* invalidate forces a refetch even with plenty left */
    creds_invalidate(p);
    ASSERT_OK(creds_get(p, &c, NULL));
    ASSERT_STREQ(c.access_key_id, "ASIA0007");
    creds_done(&c);
    creds_provider_free(p);
}

TEST(creds_first_imds_failure_is_missing_credentials_R041)
{
    struct fetcher f = {.fail = true};
    struct creds_opts o = {.imds_fetch = fake_fetch, .imds_fetch_arg = &f};
    struct creds_provider *p = creds_provider_new(&o, NULL);
    struct creds c;
    struct err e = ERR_INIT;
    ASSERT_FAIL(creds_get(p, &c, &e));
    ASSERT_EQ(e.code, ERR_AUTH);
    ASSERT_CONTAINS(e.msg, CREDS_MISSING_MSG);
    creds_provider_free(p);
}

static void *hammer(void *arg)
{
    struct creds_provider *p = arg;
    for (int i = 0; i < 200; i++) {
        struct creds c;
        if (creds_get(p, &c, NULL) == 0)
            creds_done(&c);
    }
    return NULL;
}

TEST(creds_get_is_thread_safe)
{
    struct fetcher f = {.expiry = 0};
    struct creds_opts o = {.imds_fetch = fake_fetch, .imds_fetch_arg = &f};
    struct creds_provider *p = creds_provider_new(&o, NULL);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, hammer, p), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ASSERT_EQ(f.calls, 1); /* never expires: fetched once */
    creds_provider_free(p);
}
