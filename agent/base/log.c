/* log: see log.h. */
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/util.h"

#define MAX_SECRETS 32
#define LINE_MAX_BYTES 16384

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char program[64] = "codedeploy-agent";
static char *log_path;     /* owned */
static char *log_dir_path; /* owned */
static FILE *log_file;
static int log_day = -1; /* tm_yday+1000*tm_year of the open file */
static bool verbose;
static bool quiet_stderr;
static int stderr_mode = -1; /* 0 tty plain, 1 "<N>" prefix, 2 journal */
static log_journal_fn journal_sink;
static char identifier[128]; /* "" = program */
static char *secrets[MAX_SECRETS];
static int secret_next;

static __thread char ctx_deployment[128];
static __thread char ctx_event[64];

void log_set_identifier(const char *ident)
{
    pthread_mutex_lock(&lock);
    snprintf(identifier, sizeof(identifier), "%s", ident ? ident : "");
    pthread_mutex_unlock(&lock);
}

void log_set_journal_sink(log_journal_fn fn)
{
    pthread_mutex_lock(&lock);
    journal_sink = fn;
    pthread_mutex_unlock(&lock);
}

static int detect_stderr_mode(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    struct stat st;
    if (js && fstat(STDERR_FILENO, &st) == 0) {
        unsigned long dev = 0, ino = 0;
        if (sscanf(js, "%lu:%lu", &dev, &ino) == 2 && dev == (unsigned long)st.st_dev &&
            ino == (unsigned long)st.st_ino)
            return 2;
    }
    return isatty(STDERR_FILENO) ? 0 : 1;
}

static int day_key(const struct tm *tm)
{
    return tm->tm_year * 1000 + tm->tm_yday;
}

static void open_file_locked(void)
{
    if (!log_path)
        return;
    if (log_file)
        fclose(log_file);
    /* Never through a link planted at the log file (issue 18 item 4). */
    int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    log_file = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (!log_file) {
        if (fd >= 0)
            close(fd);
        fprintf(stderr, "<4>cannot open log file '%s': %s\n", log_path, strerror(errno));
        return;
    }
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    struct stat st;
    /* A file left from an earlier day belongs to that day: rotate on its first write. */
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        struct tm mt;
        localtime_r(&st.st_mtime, &mt);
        log_day = day_key(&mt);
    } else {
        log_day = day_key(&tm);
    }
}

static int cmp_str_desc(const void *a, const void *b)
{
    return strcmp(*(char *const *)b, *(char *const *)a);
}

static void prune_rotated_locked(void)
{
    AUTOFREE char *pat =
        xasprintf("%s/%s.[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9].log", log_dir_path, program);
    glob_t g;
    if (glob(pat, 0, NULL, &g) != 0)
        return;
    qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), cmp_str_desc);
    for (size_t i = LOG_KEEP_ROTATED; i < g.gl_pathc; i++)
        unlink(g.gl_pathv[i]);
    globfree(&g);
}

static void rotate_if_new_day_locked(const struct tm *now)
{
    if (!log_file || log_day == day_key(now))
        return;
    struct stat st;
    if (fstat(fileno(log_file), &st) == 0) {
        struct tm mt;
        localtime_r(&st.st_mtime, &mt);
        char suffix[16];
        strftime(suffix, sizeof(suffix), "%Y%m%d", &mt);
        AUTOFREE char *dst = xasprintf("%s/%s.%s.log", log_dir_path, program, suffix);
        if (!file_exists(dst))
            (void)rename(log_path, dst);
    }
    open_file_locked();
    log_day = day_key(now);
    prune_rotated_locked();
}

int log_open(const struct log_opts *opts, struct err *err)
{
    pthread_mutex_lock(&lock);
    snprintf(program, sizeof(program), "%s", opts->program ? opts->program : "codedeploy-agent");
    verbose = opts->verbose;
    quiet_stderr = opts->quiet_stderr;
    stderr_mode = detect_stderr_mode();
    if (quiet_stderr && stderr_mode == 1)
        stderr_mode = 0; /* codedeploy-local in a CI log: no "<N>" prefixes (issue 17) */
    free(log_path);
    free(log_dir_path);
    log_path = log_dir_path = NULL;
    if (log_file) {
        fclose(log_file);
        log_file = NULL;
    }
    int r = 0;
    if (opts->log_dir) {
        struct err e2 = ERR_INIT;
        if (mkdir_p(opts->log_dir, 0755, &e2) < 0) {
            r = err_set(err, e2.code, "log directory: %s", e2.msg);
        } else {
            log_dir_path = xstrdup(opts->log_dir);
            log_path = xasprintf("%s/%s.log", opts->log_dir, program);
            open_file_locked();
            if (!log_file)
                r = err_sys(err, "open log file '%s'", log_path);
        }
    }
    pthread_mutex_unlock(&lock);
    return r;
}

void log_reopen(void)
{
    pthread_mutex_lock(&lock);
    open_file_locked();
    pthread_mutex_unlock(&lock);
}

void log_close(void)
{
    pthread_mutex_lock(&lock);
    if (log_file)
        fclose(log_file);
    log_file = NULL;
    free(log_path);
    free(log_dir_path);
    log_path = log_dir_path = NULL;
    /* The secrets stay: after a forced stop workers may still log (to stderr) after this, and
     * every line must still be redacted (issue 11 item 5, R-200). */
    pthread_mutex_unlock(&lock);
}

void log_set_verbose(bool v)
{
    verbose = v;
}

void log_add_secret(const char *secret)
{
    if (!secret || strlen(secret) < 4)
        return;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_SECRETS; i++) {
        if (secrets[i] && strcmp(secrets[i], secret) == 0) {
            pthread_mutex_unlock(&lock);
            return;
        }
    }
    secret_free(secrets[secret_next]);
    secrets[secret_next] = xstrdup(secret);
    secret_next = (secret_next + 1) % MAX_SECRETS;
    pthread_mutex_unlock(&lock);
}

static char *redact_locked(const char *s)
{
    char *out = xstrdup(s);
    for (int i = 0; i < MAX_SECRETS; i++) {
        if (!secrets[i])
            continue;
        size_t sl = strlen(secrets[i]);
        char *hit;
        while ((hit = strstr(out, secrets[i])) != NULL) {
            size_t pre = (size_t)(hit - out);
            char *n = xasprintf("%.*sREDACTED%s", (int)pre, out, hit + sl);
            free(out);
            out = n;
        }
    }
    return out;
}

char *log_redact(const char *s)
{
    pthread_mutex_lock(&lock);
    char *r = redact_locked(s ? s : "");
    pthread_mutex_unlock(&lock);
    return r;
}

void log_ctx_set(const char *deployment_id, const char *event)
{
    snprintf(ctx_deployment, sizeof(ctx_deployment), "%s", deployment_id ? deployment_id : "");
    snprintf(ctx_event, sizeof(ctx_event), "%s", event ? event : "");
}

static const char *level_name(int prio)
{
    switch (prio) {
    case LOG_PRIO_ERR:
        return "ERROR";
    case LOG_PRIO_WARNING:
        return "WARN";
    case LOG_PRIO_DEBUG:
        return "DEBUG";
    default:
        return "INFO";
    }
}

int log_format_line(char *out, size_t outsz, const struct tm *tm, int prio, const char *prog,
                    long pid, const char *msg)
{
    char ts[32];
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", tm);
    return snprintf(out, outsz, "%s %-5s [%s(%ld)]: %s", ts, level_name(prio), prog, pid, msg);
}

static void emit(const struct log_site *site, int prio, const char *text)
{
    char ctx[256] = "";
    if (ctx_deployment[0] && ctx_event[0])
        snprintf(ctx, sizeof(ctx), "[%s] [%s] ", ctx_deployment, ctx_event);
    else if (ctx_deployment[0])
        snprintf(ctx, sizeof(ctx), "[%s] ", ctx_deployment);

    pthread_mutex_lock(&lock);
    char *clean = redact_locked(text);
    AUTOFREE char *line = xasprintf("%s%s", ctx, clean);
    free(clean);

    /* quiet: the front end shows errors itself (each problem once, issue 17). */
    if (!quiet_stderr || prio == LOG_PRIO_WARNING) {
        if (stderr_mode < 0)
            stderr_mode = detect_stderr_mode();
        if (stderr_mode == 2 && journal_sink) {
            struct log_journal_line jl = {.prio = prio,
                                          .identifier = identifier[0] ? identifier : program,
                                          .site = site,
                                          .deployment_id = ctx_deployment,
                                          .event = ctx_event,
                                          .message = line};
            journal_sink(&jl);
        } else if (stderr_mode >= 1) {
            fprintf(stderr, "<%d>%s\n", prio, line);
        } else {
            fprintf(stderr, "%s%s\n",
                    prio <= LOG_PRIO_WARNING ? (prio == LOG_PRIO_ERR ? "error: " : "warning: ")
                                             : "",
                    line);
        }
    }
    if (log_file) {
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        rotate_if_new_day_locked(&tm);
        if (log_file) {
            char out[LINE_MAX_BYTES];
            log_format_line(out, sizeof(out), &tm, prio, program, (long)getpid(), line);
            fprintf(log_file, "%s\n", out);
            fflush(log_file);
        }
    }
    pthread_mutex_unlock(&lock);
}

void log_msg_at(const struct log_site *site, int prio, const char *fmt, ...)
{
    if (prio >= LOG_PRIO_DEBUG && !verbose)
        return;
    char text[LINE_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    emit(site, prio, text);
}

void log_err_at(const struct log_site *site, int prio, const struct err *e, const char *fmt, ...)
{
    if (prio >= LOG_PRIO_DEBUG && !verbose)
        return;
    char text[LINE_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(text) && e && e->code)
        snprintf(text + n, sizeof(text) - (size_t)n, ": %s", e->msg);
    emit(site, prio, text);
}
