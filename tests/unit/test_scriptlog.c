/* Tests for scriptlog: scripts.log format, tail, deployments log (R-164,
 * R-201), rotation (V-045), ANSI stripping and line chunking (V-044). */
#include "test.h"

#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "hook/scriptlog.h"
#include "base/fsutil.h"
#include "base/util.h"

static time_t fixed_clock(void)
{
    return 1714558502; /* some fixed instant; formatted in local time below */
}

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t n;
    if (read_file(path, 1 << 26, &data, &n, NULL) < 0)
        return NULL;
    return data;
}

static struct scriptlog *new_log(const char *rel, const char *dlog)
{
    static char path[4096], dpath[4096];
    snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), rel);
    struct scriptlog_opts o = {.path = path, .clock = fixed_clock, .deployment_id = "d-ABCDEF123"};
    if (dlog) {
        snprintf(dpath, sizeof(dpath), "%s/%s", test_tmpdir(), dlog);
        o.deployments_log = dpath;
    }
    return scriptlog_new(&o);
}

/* R-162, C-172: exact record format with the local-time prefix; directory created on demand. */
TEST(scriptlog_r162_record_format)
{
    struct scriptlog *log = new_log("dep/logs/scripts.log", NULL);
    char ts[20];
    scriptlog_format_ts(fixed_clock(), ts);
    ASSERT_EQ(strlen(ts), 19);
    scriptlog_event(log, "ApplicationStart");
    scriptlog_script(log, "scripts/start_server.sh");
    struct scriptlog_stream *o = scriptlog_stream_new(log, SCRIPTLOG_STDOUT, 0);
    struct scriptlog_stream *e = scriptlog_stream_new(log, SCRIPTLOG_STDERR, 0);
    scriptlog_stream_feed(o, "Starting ", 9);
    scriptlog_stream_feed(e, "httpd: warning\n", 15);
    scriptlog_stream_feed(o, "httpd\nsecond\n", 13);
    scriptlog_stream_free(o);
    scriptlog_stream_free(e);
    char path[4096];
    snprintf(path, sizeof(path), "%s/dep/logs/scripts.log", test_tmpdir());
    AUTOFREE char *data = slurp(path);
    AUTOFREE char *want = xasprintf("%s LifecycleEvent - ApplicationStart\n"
                                    "%s Script - scripts/start_server.sh\n"
                                    "%s [stderr]httpd: warning\n"
                                    "%s [stdout]Starting httpd\n"
                                    "%s [stdout]second\n",
                                    ts, ts, ts, ts, ts);
    ASSERT_STREQ(data, want);
    size_t n;
    AUTOFREE char *tail = scriptlog_tail(log, &n);
    ASSERT_STREQ(tail, "LifecycleEvent - ApplicationStart\nScript - scripts/start_server.sh\n"
                       "[stderr]httpd: warning\n[stdout]Starting httpd\n[stdout]second\n");
    struct stat st;
    ASSERT_OK(stat(path, &st));
    ASSERT_EQ(st.st_mode & 0777, 0644);
    scriptlog_unref(log);
}

/* nothing is created before the first record. */
TEST(scriptlog_r150_nothing_written_without_records)
{
    struct scriptlog *log = new_log("dep/logs/scripts.log", NULL);
    scriptlog_unref(log);
    char path[4096];
    snprintf(path, sizeof(path), "%s/dep", test_tmpdir());
    ASSERT_FALSE(dir_exists(path));
}

/* R-162, C-173: a final fragment without newline gets one. */
TEST(scriptlog_r162_final_fragment_newline)
{
    struct scriptlog *log = new_log("s.log", NULL);
    struct scriptlog_stream *o = scriptlog_stream_new(log, SCRIPTLOG_STDOUT, 0);
    scriptlog_stream_feed(o, "no newline", 10);
    scriptlog_stream_free(o);
    scriptlog_record(log, "[agent]x", 8);
    AUTOFREE char *tail = scriptlog_tail(log, NULL);
    ASSERT_STREQ(tail, "[stdout]no newline\n[agent]x\n");
    scriptlog_unref(log);
}

/* R-163, C-176: newest whole records within 2048; a 5000-char line keeps its last 2048. */
TEST(scriptlog_r163_tail_bounds)
{
    struct scriptlog *log = new_log("s.log", NULL);
    struct scriptlog_stream *o = scriptlog_stream_new(log, SCRIPTLOG_STDOUT, 0);
    char line[101];
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof(line), "%03d-%090d\n", i, 0); /* 95 chars + "[stdout]" = 103 */
        scriptlog_stream_feed(o, line, strlen(line));
    }
    size_t n;
    AUTOFREE char *tail = scriptlog_tail(log, &n);
    ASSERT_EQ(n, 103 * 19); /* 19 * 103 = 1957 <= 2048 < 20 * 103 */
    ASSERT_TRUE(str_has_prefix(tail, "[stdout]081-"));
    ASSERT_TRUE(str_has_suffix(tail, "[stdout]099-000000000000000000000000000000000000000000000000"
                                     "000000000000000000000000000000000000000000\n"));
    char big[5001];
    memset(big, 'x', 5000);
    big[4999] = 'E';
    big[5000] = '\n';
    scriptlog_stream_feed(o, big, 5001);
    AUTOFREE char *tail2 = scriptlog_tail(log, &n);
    ASSERT_EQ(n, 2048);
    ASSERT_TRUE(str_has_suffix(tail2, "xxE\n"));
    ASSERT_NOT_CONTAINS(tail2, "[stdout]");
    /* a new event clears the tail */
    scriptlog_event(log, "AfterInstall");
    AUTOFREE char *tail3 = scriptlog_tail(log, &n);
    ASSERT_STREQ(tail3, "LifecycleEvent - AfterInstall\n");
    scriptlog_stream_free(o);
    scriptlog_unref(log);
}

/* V-044: ANSI escape sequences are stripped before a record is written or kept. */
TEST(scriptlog_v044_strip_ansi)
{
    char s1[] = "\x1b[1;31mred\x1b[0m plain \x1b]0;title\x07 \x1b(Bx\x1b";
    size_t n = scriptlog_strip_ansi(s1, strlen(s1));
    s1[n] = '\0';
    ASSERT_STREQ(s1, "red plain  x");
    char s2[] = "no escapes";
    ASSERT_EQ(scriptlog_strip_ansi(s2, strlen(s2)), strlen("no escapes"));
    struct scriptlog *log = new_log("s.log", NULL);
    struct scriptlog_stream *o = scriptlog_stream_new(log, SCRIPTLOG_STDERR, 0);
    scriptlog_stream_feed(o, "\x1b[32mok\x1b[0m\n", 12);
    scriptlog_stream_free(o);
    AUTOFREE char *tail = scriptlog_tail(log, NULL);
    ASSERT_STREQ(tail, "[stderr]ok\n");
    scriptlog_unref(log);
}

/* V-044: a newline-free flood is recorded in bounded chunks. */
TEST(scriptlog_v044_long_line_chunks)
{
    struct scriptlog *log = new_log("s.log", NULL);
    struct scriptlog_stream *o = scriptlog_stream_new(log, SCRIPTLOG_STDOUT, 10);
    scriptlog_stream_feed(o, "abcdefghijklmnopqrstuvwxy", 25);
    scriptlog_stream_free(o);
    AUTOFREE char *tail = scriptlog_tail(log, NULL);
    ASSERT_STREQ(tail, "[stdout]abcdefghij\n[stdout]klmnopqrst\n[stdout]uvwxy\n");
    scriptlog_unref(log);
}

/* V-045: rotation before a write once the file reaches the limit; 8 files kept. */
TEST(scriptlog_v045_rotation)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/logs/scripts.log", test_tmpdir());
    struct scriptlog_opts opts = {.path = path, .rotate_bytes = 1000};
    struct scriptlog *log = scriptlog_new(&opts);
    char rec[200];
    memset(rec, 'r', sizeof(rec) - 1);
    rec[sizeof(rec) - 1] = '\0';
    for (int i = 0; i < 100; i++)
        scriptlog_record(log, rec, strlen(rec));
    scriptlog_unref(log);
    char p[4200];
    for (int i = 1; i <= 7; i++) {
        snprintf(p, sizeof(p), "%s.%d", path, i);
        ASSERT_TRUE(file_exists(p));
        struct stat st;
        ASSERT_OK(stat(p, &st));
        ASSERT_TRUE(st.st_size >= 1000 && st.st_size < 1300);
    }
    snprintf(p, sizeof(p), "%s.8", path);
    ASSERT_FALSE(file_exists(p));
    ASSERT_TRUE(file_exists(path));
}

/* C-174: deployments log mirror "[ts.mmm] [<id>]<record stripped>". */
TEST(scriptlog_r201_deployments_log)
{
    struct scriptlog *log = new_log("s.log", "deployment-logs/codedeploy-agent-deployments.log");
    scriptlog_event(log, "ApplicationStart");
    struct scriptlog_stream *o = scriptlog_stream_new(log, SCRIPTLOG_STDOUT, 0);
    scriptlog_stream_feed(o, "Starting httpd  \n", 17);
    scriptlog_stream_free(o);
    scriptlog_unref(log);
    char ts[20];
    scriptlog_format_ts(fixed_clock(), ts);
    char path[4096];
    snprintf(path, sizeof(path), "%s/deployment-logs/codedeploy-agent-deployments.log",
             test_tmpdir());
    AUTOFREE char *data = slurp(path);
    AUTOFREE char *want = xasprintf("[%s.000] [d-ABCDEF123]LifecycleEvent - ApplicationStart\n"
                                    "[%s.000] [d-ABCDEF123][stdout]Starting httpd\n",
                                    ts, ts);
    ASSERT_STREQ(data, want);
}

/* C-175: without a deployments log path nothing is written there. */
TEST(scriptlog_c175_deployments_log_disabled)
{
    struct scriptlog *log = new_log("s.log", NULL);
    scriptlog_event(log, "ApplicationStart");
    scriptlog_unref(log);
    char path[4096];
    snprintf(path, sizeof(path), "%s/deployment-logs", test_tmpdir());
    ASSERT_FALSE(dir_exists(path));
}

/* Binary output: NUL bytes survive into the file and the tail. */
TEST(scriptlog_binary_bytes_kept)
{
    struct scriptlog *log = new_log("s.log", NULL);
    struct scriptlog_stream *o = scriptlog_stream_new(log, SCRIPTLOG_STDOUT, 0);
    scriptlog_stream_feed(o, "a\0b\xff\n", 5);
    scriptlog_stream_free(o);
    size_t n;
    AUTOFREE char *tail = scriptlog_tail(log, &n);
    ASSERT_EQ(n, 13);
    ASSERT_TRUE(memcmp(tail, "[stdout]a\0b\xff\n", 13) == 0);
    scriptlog_unref(log);
}

/* R-201, C-276: the deployments log rotates like Ruby's Logger: live -> .0, .N -> .N+1, 8 files. */
TEST(scriptlog_c276_deployments_log_rotation)
{
    char dpath[4096];
    snprintf(dpath, sizeof(dpath), "%s/dl/codedeploy-agent-deployments.log", test_tmpdir());
    struct scriptlog_opts o = {
        .deployments_log = dpath, .deployment_id = "d-1", .deployments_rotate_bytes = 1000};
    struct scriptlog *log = scriptlog_new(&o);
    char rec[200];
    memset(rec, 'q', sizeof(rec) - 1);
    rec[sizeof(rec) - 1] = '\0';
    for (int i = 0; i < 100; i++)
        scriptlog_record(log, rec, strlen(rec));
    scriptlog_unref(log);
    char p[4200];
    for (int i = 0; i <= 6; i++) {
        snprintf(p, sizeof(p), "%s.%d", dpath, i);
        ASSERT_TRUE(file_exists(p));
    }
    snprintf(p, sizeof(p), "%s.7", dpath);
    ASSERT_FALSE(file_exists(p));
    ASSERT_TRUE(file_exists(dpath));
}

/* R-200 (issue 11): hook output that prints the agent's own secrets (a script that cats the
 * on-premises credentials file) reaches neither scripts.log, the deployments log nor the tail
 * sent to the service; NUL bytes around a secret do not hide it. */
TEST(scriptlog_r200_agent_secrets_redacted)
{
    log_add_secret("AKIASECRETKEY0123456789");
    log_add_secret("session-token-abcdef");
    struct scriptlog *log =
        new_log("dep/logs/scripts.log", "deployment-logs/codedeploy-agent-deployments.log");
    scriptlog_event(log, "ApplicationStart");
    struct scriptlog_stream *o = scriptlog_stream_new(log, SCRIPTLOG_STDOUT, 0);
    static const char out[] = "aws_secret_access_key = AKIASECRETKEY0123456789\n"
                              "x\0session-token-abcdef\n";
    scriptlog_stream_feed(o, out, sizeof(out) - 1);
    scriptlog_stream_free(o);
    char path[4096];
    snprintf(path, sizeof(path), "%s/dep/logs/scripts.log", test_tmpdir());
    char *data = NULL;
    size_t n = 0;
    ASSERT_OK(read_file(path, 1 << 20, &data, &n, NULL));
    ASSERT_TRUE(memmem(data, n, "AKIASECRETKEY", 13) == NULL);
    ASSERT_TRUE(memmem(data, n, "session-token", 13) == NULL);
    ASSERT_TRUE(memmem(data, n, "[stdout]aws_secret_access_key = REDACTED\n", 41) != NULL);
    ASSERT_TRUE(memmem(data, n, "[stdout]x\0REDACTED\n", 19) != NULL);
    free(data);
    snprintf(path, sizeof(path), "%s/deployment-logs/codedeploy-agent-deployments.log",
             test_tmpdir());
    ASSERT_OK(read_file(path, 1 << 20, &data, &n, NULL));
    ASSERT_TRUE(memmem(data, n, "AKIASECRETKEY", 13) == NULL);
    ASSERT_TRUE(memmem(data, n, "session-token", 13) == NULL);
    ASSERT_TRUE(memmem(data, n, "= REDACTED", 10) != NULL);
    free(data);
    AUTOFREE char *tail = scriptlog_tail(log, &n);
    ASSERT_TRUE(memmem(tail, n, "AKIASECRETKEY", 13) == NULL);
    ASSERT_TRUE(memmem(tail, n, "session-token", 13) == NULL);
    scriptlog_unref(log);
}
