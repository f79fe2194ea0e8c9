/* Tests for err, util and log (foundation). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "base/nss-internal.h"
#include "base/nss.h"
#include "base/stop.h"
#include "test.h"
#include "base/buf.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/hash.h"
#include "base/util.h"

TEST(err_first_message_wins)
{
    struct err e = ERR_INIT;
    ASSERT_EQ(err_set(&e, ERR_PARSE, "inner %d", 1), -1);
    ASSERT_EQ(err_set(&e, ERR_HTTP, "outer"), -1);
    ASSERT_EQ(e.code, ERR_PARSE);
    ASSERT_STREQ(e.msg, "inner 1");
    err_prefix(&e, "load '%s'", "x.yml");
    ASSERT_STREQ(e.msg, "load 'x.yml': inner 1");
    err_clear(&e);
    ASSERT_FALSE(err_is_set(&e));
    ASSERT_EQ(err_set(NULL, ERR_PARSE, "ignored"), -1);
}

TEST(err_sys_appends_strerror)
{
    struct err e = ERR_INIT;
    errno = ENOENT;
    err_sys(&e, "open '%s'", "/nope");
    ASSERT_EQ(e.code, ERR_SYSTEM);
    ASSERT_EQ(e.sys_errno, ENOENT);
    ASSERT_STREQ(e.msg, "open '/nope': No such file or directory");
}

TEST(err_diag_codes_map_to_service_codes)
{
    struct err e = ERR_INIT;
    ASSERT_EQ(err_diag_code(&e), 0);
    err_set(&e, ERR_SCRIPT_TIMED_OUT, "t");
    ASSERT_EQ(err_diag_code(&e), 3);
    err_clear(&e);
    err_set(&e, ERR_ARCHIVE, "a");
    ASSERT_EQ(err_diag_code(&e), 5);
    err_clear(&e);
    err_set(&e, ERR_OUTPUTS_LEFT_OPEN, "o");
    ASSERT_EQ(err_diag_code(&e), 6);
    ASSERT_STREQ(err_code_name(ERR_SCRIPT_MISSING), "ScriptMissing");
}

TEST(err_long_message_truncated_safely)
{
    struct err e = ERR_INIT;
    char big[2000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    err_set(&e, ERR_PARSE, "%s", big);
    ASSERT_EQ(strlen(e.msg), ERR_MSG_MAX - 1);
    err_prefix(&e, "ctx");
    ASSERT_EQ(strlen(e.msg), ERR_MSG_MAX - 1);
    ASSERT_TRUE(str_has_prefix(e.msg, "ctx: xxx"));
}

/* Issue 11 item 5: a message too long for the buffer (a path over 4096 bytes) keeps its end,
 * where the cause and the advice are, and loses its middle instead; UTF-8 is cut between
 * characters. */
TEST(err_long_message_keeps_its_end_issue11)
{
    struct err e = ERR_INIT;
    AUTOFREE char *path = xmalloc(5001);
    memset(path, 'd', 5000);
    path[5000] = '\0';
    errno = ENAMETOOLONG;
    err_sys(&e, "set owner of '/srv/%s/f\xc3\xa9.txt'", path);
    ASSERT_EQ(strlen(e.msg), ERR_MSG_MAX - 1);
    ASSERT_TRUE(str_has_prefix(e.msg, "set owner of '/srv/ddd"));
    ASSERT_CONTAINS(e.msg, "dd ... dd");
    ASSERT_TRUE(str_has_suffix(e.msg, "/f\xc3\xa9.txt': File name too long"));
    err_prefix(&e, "Install");
    ASSERT_TRUE(str_has_prefix(e.msg, "Install: set owner of"));
    ASSERT_TRUE(str_has_suffix(e.msg, "': File name too long"));

    /* a two-byte character where the cut falls is dropped whole, never halved */
    struct err u = ERR_INIT;
    AUTOFREE char *wide = xmalloc(4001);
    for (int i = 0; i < 4000; i += 2)
        memcpy(wide + i, "\xc3\xa9", 2);
    wide[4000] = '\0';
    err_set(&u, ERR_PARSE, "a%s", wide);
    const char *mid = strstr(u.msg, " ... ");
    ASSERT_NOT_NULL(mid);
    ASSERT_TRUE(((unsigned char)mid[5] & 0xC0) != 0x80);
    ASSERT_TRUE(((unsigned char)mid[-1] & 0xC0) == 0x80 || (unsigned char)mid[-1] < 0x80);
    ASSERT_TRUE(((unsigned char)mid[-2] & 0xC0) == 0xC0);
}

TEST(buf_enforces_max)
{
    struct buf b;
    struct err e = ERR_INIT;
    buf_init(&b, 10);
    ASSERT_OK(buf_append(&b, "12345", 5, &e));
    ASSERT_OK(buf_appendf(&b, &e, "%d", 6789));
    ASSERT_STREQ(b.data, "123456789");
    ASSERT_FAIL(buf_append(&b, "ab", 2, &e));
    ASSERT_EQ(e.code, ERR_LIMIT);
    ASSERT_EQ(b.len, 9);
    buf_done(&b);
}

TEST(parse_uint_rejects_junk_and_range)
{
    uint64_t v = 42;
    struct err e = ERR_INIT;
    ASSERT_OK(parse_uint("3600", 1, 7200, &v, &e));
    ASSERT_EQ(v, 3600);
    ASSERT_FAIL(parse_uint("36x", 0, 100000, &v, &e));
    ASSERT_EQ(e.code, ERR_PARSE);
    ASSERT_EQ(v, 3600);
    err_clear(&e);
    ASSERT_FAIL(parse_uint("-1", 0, 10, &v, &e));
    err_clear(&e);
    ASSERT_FAIL(parse_uint("", 0, 10, &v, &e));
    err_clear(&e);
    ASSERT_FAIL(parse_uint("99999999999999999999999", 0, UINT64_MAX, &v, &e));
    err_clear(&e);
    ASSERT_FAIL(parse_uint("11", 0, 10, &v, &e));
    ASSERT_CONTAINS(e.msg, "out of range");
}

TEST(parse_mode_octal)
{
    mode_t m = 0;
    struct err e = ERR_INIT;
    ASSERT_OK(parse_mode("644", &m, &e));
    ASSERT_EQ(m, 0644);
    ASSERT_OK(parse_mode("4755", &m, &e));
    ASSERT_EQ(m, 04755);
    ASSERT_FAIL(parse_mode("648", &m, &e));
    ASSERT_EQ(m, 04755);
    err_clear(&e);
    ASSERT_FAIL(parse_mode("77777", &m, &e));
}

TEST(path_helpers)
{
    char *p = path_join("/a/b/", "/c");
    ASSERT_STREQ(p, "/a/b/c");
    free(p);
    p = path_join("/", "etc");
    ASSERT_STREQ(p, "/etc");
    free(p);
    ASSERT_TRUE(path_is_beneath("a/b/../c"));
    ASSERT_TRUE(path_is_beneath("./x"));
    ASSERT_FALSE(path_is_beneath("../x"));
    ASSERT_FALSE(path_is_beneath("a/../../x"));
    ASSERT_FALSE(path_is_beneath("/etc/passwd"));
    ASSERT_FALSE(path_stays_below("/a/../..", 8));
    ASSERT_TRUE(path_stays_below("/a/../..", 5)); /* only the first n bytes count */
    const char *rel[][2] = {{"/a//./b/", "a/b"}, {".", ""}, {"a/..", ""}, {"x/../y/.", "y"}};
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        p = path_rel_normalise(rel[i][0]);
        ASSERT_STREQ(p, rel[i][1]);
        free(p);
    }
    ASSERT_TRUE(path_rel_normalise("a/../../x") == NULL);
    ASSERT_TRUE(path_rel_normalise("/..") == NULL);
}

TEST(files_atomic_write_read_rm)
{
    struct err e = ERR_INIT;
    char *dir = path_join(test_tmpdir(), "x/y/z");
    ASSERT_OK(mkdir_p(dir, 0755, &e));
    ASSERT_TRUE(dir_exists(dir));
    char *f = path_join(dir, "f.txt");
    ASSERT_OK(write_file_atomic(f, "hello", 5, 0600, &e));
    struct stat st;
    ASSERT_OK(stat(f, &st));
    ASSERT_EQ(st.st_mode & 0777, 0600);
    char *data = NULL;
    size_t n = 0;
    ASSERT_OK(read_file(f, 100, &data, &n, &e));
    ASSERT_STREQ(data, "hello");
    ASSERT_EQ(n, 5);
    free(data);
    ASSERT_FAIL(read_file(f, 3, &data, &n, &e));
    ASSERT_EQ(e.code, ERR_LIMIT);
    err_clear(&e);
    char *top = path_join(test_tmpdir(), "x");
    ASSERT_OK(symlink("/etc", f) == 0 ? 0 : 0);
    ASSERT_OK(rm_rf(top, &e));
    ASSERT_FALSE(file_exists(top));
    ASSERT_TRUE(dir_exists("/etc"));
    ASSERT_FAIL(read_file("/nonexistent/file", 10, &data, &n, &e));
    ASSERT_EQ(e.code, ERR_NOT_FOUND);
    free(dir);
    free(f);
    free(top);
}

TEST(sha256_known_value)
{
    char out[65];
    sha256_hex("", 0, out);
    ASSERT_STREQ(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *p = test_write("abc.txt", "abc");
    char md5[33];
    ASSERT_OK(file_md5_hex(p, md5, NULL));
    ASSERT_STREQ(md5, "900150983cd24fb0d6963f7d28e17f72");
}

TEST(log_line_format_matches_spec)
{
    struct tm tm = {0};
    tm.tm_year = 124;
    tm.tm_mon = 9;
    tm.tm_mday = 9;
    tm.tm_hour = 22;
    tm.tm_min = 54;
    tm.tm_sec = 45;
    char out[256];
    log_format_line(out, sizeof(out), &tm, LOG_PRIO_INFO, "codedeploy-agent", 6273,
                    "CommandPoller: Calling PollHostCommand:");
    ASSERT_STREQ(out, "2024-10-09T22:54:45 INFO  [codedeploy-agent(6273)]: CommandPoller: "
                      "Calling PollHostCommand:");
    log_format_line(out, sizeof(out), &tm, LOG_PRIO_WARNING, "codedeploy-agent", 1, "w");
    ASSERT_STREQ(out, "2024-10-09T22:54:45 WARN  [codedeploy-agent(1)]: w");
    log_format_line(out, sizeof(out), &tm, LOG_PRIO_ERR, "codedeploy-agent", 1, "e");
    ASSERT_STREQ(out, "2024-10-09T22:54:45 ERROR [codedeploy-agent(1)]: e");
}

TEST(log_file_redacts_secrets_and_filters_debug)
{
    struct err e = ERR_INIT;
    struct log_opts o = {.program = "codedeploy-agent",
                         .log_dir = test_tmpdir(),
                         .verbose = false,
                         .quiet_stderr = true};
    ASSERT_OK(log_open(&o, &e));
    log_add_secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    log_info("key is wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY here");
    log_debug("debug line hidden");
    log_set_verbose(true);
    log_debug("debug line shown");
    log_close();
    char *path = path_join(test_tmpdir(), "codedeploy-agent.log");
    char *data = NULL;
    ASSERT_OK(read_file(path, 1 << 20, &data, NULL, &e));
    ASSERT_CONTAINS(data, "INFO  [codedeploy-agent(");
    ASSERT_CONTAINS(data, "key is REDACTED here");
    ASSERT_NOT_CONTAINS(data, "EXAMPLEKEY");
    ASSERT_NOT_CONTAINS(data, "hidden");
    ASSERT_CONTAINS(data, "DEBUG [codedeploy-agent(");
    free(data);
    free(path);
}

/* ---- stop ---- */

TEST(stop_fresh_token_is_not_requested_and_wait_times_out)
{
    struct stop s;
    ASSERT_OK(stop_init(&s, NULL));
    ASSERT_FALSE(stop_requested(&s));
    ASSERT_FALSE(stop_wait_ms(&s, 1));
    struct pollfd pf = {.fd = stop_fd(&s), .events = POLLIN};
    ASSERT_EQ(poll(&pf, 1, 0), 0);
    stop_done(&s);
}

TEST(stop_null_token_never_stops)
{
    ASSERT_FALSE(stop_requested(NULL));
    ASSERT_EQ(stop_fd(NULL), -1);
    ASSERT_FALSE(stop_wait_ms(NULL, 1));
}

static void *request_later(void *arg)
{
    usleep(100000);
    stop_request(arg);
    return NULL;
}

/* A waiter with an hour to sleep returns true once another thread requests the stop; every
 * later wait returns at once and the fd stays readable for poll() users. */
TEST(stop_request_wakes_waiter_and_stays_requested)
{
    struct stop s;
    ASSERT_OK(stop_init(&s, NULL));
    pthread_t t;
    pthread_create(&t, NULL, request_later, &s);
    ASSERT_TRUE(stop_wait_ms(&s, 3600 * 1000));
    pthread_join(t, NULL);
    ASSERT_TRUE(stop_requested(&s));
    ASSERT_TRUE(stop_wait_ms(&s, 3600 * 1000));
    struct pollfd pf = {.fd = stop_fd(&s), .events = POLLIN};
    ASSERT_EQ(poll(&pf, 1, 0), 1);
    stop_done(&s);
}

static struct stop sig_tok;
static void on_usr1(int sig)
{
    (void)sig;
    stop_request(&sig_tok);
}

/* From a signal handler (async-signal-safe path). */
TEST(stop_request_from_signal_handler)
{
    ASSERT_OK(stop_init(&sig_tok, NULL));
    struct sigaction sa = {.sa_handler = on_usr1}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old);
    errno = EAGAIN;
    raise(SIGUSR1);
    ASSERT_EQ(errno, EAGAIN);
    sigaction(SIGUSR1, &old, NULL);
    ASSERT_TRUE(stop_wait_ms(&sig_tok, 3600 * 1000));
    stop_done(&sig_tok);
}

/* ---- path ---- */

TEST(path_normalise_is_lexical_and_absolute)
{
    const char *cases[][2] = {{"/a//b/./c/", "/a/b/c"}, {"/a/b/../c", "/a/c"},
                              {"/../..", "/"},          {"", "/"},
                              {"a/b", "/a/b"},          {"/a/b/../../..", "/"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        AUTOFREE char *n = path_normalise(cases[i][0]);
        ASSERT_STREQ(n, cases[i][1]);
    }
    AUTOFREE char *j = path_join_normalise("/opt/app/", "../etc/./x");
    ASSERT_STREQ(j, "/opt/etc/x");
    ASSERT_TRUE(path_within("/opt/app", "/opt/app"));
    ASSERT_TRUE(path_within("/opt/app/x", "/opt/app"));
    ASSERT_FALSE(path_within("/opt/apple", "/opt/app"));
    ASSERT_TRUE(path_within("/anything", "/"));
}

/* ---- fsutil ---- */

struct pipe_reader {
    int fd;
    size_t total;
};

static void *read_all_from(void *arg)
{
    struct pipe_reader *r = arg;
    char chunk[4096];
    ssize_t n;
    while ((n = read(r->fd, chunk, sizeof(chunk))) > 0)
        r->total += (size_t)n;
    return NULL;
}

TEST(write_all_writes_everything_through_a_pipe)
{
    int p[2];
    ASSERT_OK(pipe2(p, O_CLOEXEC));
    char big[40000];
    memset(big, 'x', sizeof(big));
    pthread_t t;
    struct pipe_reader r = {.fd = p[0]};
    pthread_create(&t, NULL, read_all_from, &r);
    ASSERT_OK(write_all(p[1], big, sizeof(big)));
    close(p[1]);
    pthread_join(t, NULL);
    close(p[0]);
    ASSERT_EQ(r.total, sizeof(big));
}

/* ---- nss (issue 11.5: large LDAP groups overflow a fixed 4 KiB buffer) ---- */

/* A 1-byte first buffer makes every lookup hit ERANGE: the lookups must grow and succeed. */
TEST(nss_lookups_grow_the_buffer_on_erange)
{
    size_t saved = nss_initial_buf_bytes;
    nss_initial_buf_bytes = 1;
    struct passwd pw;
    AUTOFREE char *pbuf = NULL;
    struct err e = ERR_INIT;
    int r = nss_user_by_name("root", &pw, &pbuf, &e);
    struct group gr;
    AUTOFREE char *gbuf = NULL;
    int g = nss_group_by_name("root", &gr, &gbuf, &e);
    uid_t uid = 99;
    gid_t gid = 99;
    int ru = nss_uid_by_name("root", &uid, &e);
    int rg = nss_gid_by_name("root", &gid, &e);
    nss_initial_buf_bytes = saved;
    ASSERT_OK(r);
    ASSERT_STREQ(pw.pw_name, "root");
    ASSERT_EQ(pw.pw_uid, 0);
    ASSERT_OK(g);
    ASSERT_STREQ(gr.gr_name, "root");
    ASSERT_OK(ru);
    ASSERT_EQ(uid, 0);
    ASSERT_OK(rg);
    ASSERT_EQ(gid, 0);
}

TEST(nss_unknown_names_are_not_found)
{
    struct passwd pw;
    AUTOFREE char *buf = NULL;
    struct err e = ERR_INIT;
    ASSERT_FAIL(nss_user_by_name("cdagent-no-such-user", &pw, &buf, &e));
    ASSERT_EQ(e.code, ERR_NOT_FOUND);
    ASSERT_STREQ(e.msg, "no user 'cdagent-no-such-user'");
    ASSERT_TRUE(buf == NULL);
    err_clear(&e);
    gid_t gid;
    ASSERT_FAIL(nss_gid_by_name("cdagent-no-such-group", &gid, &e));
    ASSERT_STREQ(e.msg, "no group 'cdagent-no-such-group'");
}

/* Issue 11 item 5: after a forced stop, workers still log after log_close(); their lines must
 * still be redacted (log_close used to free the secrets). */
TEST(log_lines_after_log_close_are_still_redacted_issue11)
{
    struct err e = ERR_INIT;
    struct log_opts o = {.program = "codedeploy-agent", .log_dir = NULL};
    ASSERT_OK(log_open(&o, &e));
    log_add_secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYAFTERCLOSE");
    log_close();
    char *path = path_join(test_tmpdir(), "stderr.txt");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_OK(fd);
    int saved = dup(2);
    ASSERT_OK(dup2(fd, 2));
    log_error("late worker: wJalrXUtnFEMI/K7MDENG/bPxRfiCYAFTERCLOSE");
    fflush(stderr);
    ASSERT_OK(dup2(saved, 2));
    close(saved);
    close(fd);
    char *data = NULL;
    ASSERT_OK(read_file(path, 1 << 20, &data, NULL, &e));
    ASSERT_CONTAINS(data, "late worker: REDACTED");
    ASSERT_NOT_CONTAINS(data, "AFTERCLOSE");
    free(data);
    free(path);
}

/* Issue 18 item 4: a link planted at the log file is not followed. */
TEST(log_file_is_never_opened_through_a_link_issue18)
{
    char *victim = path_join(test_tmpdir(), "victim");
    test_write("victim", "");
    char *lf = path_join(test_tmpdir(), "codedeploy-agent.log");
    ASSERT_OK(symlink(victim, lf));
    struct log_opts o = {
        .program = "codedeploy-agent", .log_dir = test_tmpdir(), .quiet_stderr = true};
    struct err e = ERR_INIT;
    ASSERT_FAIL(log_open(&o, &e));
    log_info("must not reach the victim");
    log_close();
    char *data = NULL;
    ASSERT_OK(read_file(victim, 1 << 20, &data, NULL, &e));
    ASSERT_STREQ(data, "");
    free(data);
    free(victim);
    free(lf);
}
