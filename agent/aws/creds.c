/* creds: see creds.h. */
#include "aws/creds.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "aws/imds.h"
#include "base/safepath.h"
#include "base/log.h"
#include "base/fsutil.h"
#include "base/util.h"

struct creds_provider {
    pthread_mutex_t lock;
    enum creds_source source;
    char *path;         /* owned; session credentials file */
    struct creds fixed; /* owned; the static key pair */
    struct imds *imds;  /* borrowed */
    creds_clock_fn clock;
    void *clock_arg;
    creds_imds_fetch_fn imds_fetch;
    void *imds_fetch_arg;

    struct creds cached; /* owned; valid when have */
    bool have;
    bool invalid;          /* creds_invalidate() was called */
    int64_t loaded_ms;     /* wall time of the last successful load */
    int64_t last_try_ms;   /* wall time of the last IMDS attempt */
    struct timespec mtime; /* session file's mtime at the last load */
    off_t size;
    ino_t ino;
};

static bool set(const char *s)
{
    return s && *s;
}

void creds_done(struct creds *c)
{
    if (!c)
        return;
    free(c->access_key_id);
    secret_free(c->secret_access_key);
    secret_free(c->session_token);
    memset(c, 0, sizeof(*c));
}

static void creds_copy(struct creds *dst, const struct creds *src)
{
    dst->access_key_id = xstrdup(src->access_key_id);
    dst->secret_access_key = xstrdup(src->secret_access_key);
    dst->session_token = src->session_token ? xstrdup(src->session_token) : NULL;
    dst->expiration_ms = src->expiration_ms;
}

static void creds_register_secrets(const struct creds *c)
{
    log_add_secret(c->secret_access_key);
    if (c->session_token)
        log_add_secret(c->session_token);
}

const char *creds_source_name(enum creds_source s)
{
    switch (s) {
    case CREDS_SOURCE_SESSION_FILE:
        return "on-premises session credentials file";
    case CREDS_SOURCE_STATIC:
        return "on-premises IAM user keys";
    case CREDS_SOURCE_IMDS:
        return "instance profile (IMDS)";
    case CREDS_SOURCE_NONE:
        break;
    }
    return "none";
}

static int64_t default_clock(void *arg)
{
    (void)arg;
    return (int64_t)wall_ms();
}

static int default_fetch(void *arg, struct imds_role_creds *ret, struct err *err)
{
    return imds_role_credentials(arg, ret, err);
}

struct creds_provider *creds_provider_new(const struct creds_opts *o, struct err *err)
{
    enum creds_source src = CREDS_SOURCE_NONE;
    if (set(o->iam_session_arn)) {
        if (!set(o->credentials_file)) {
            err_set(err, ERR_CONFIG,
                    "'aws_credentials_file' key is required when 'iam_session_arn' is provided.");
            return NULL;
        }
        src = CREDS_SOURCE_SESSION_FILE;
    } else if (set(o->iam_user_arn)) {
        const char *miss = !set(o->access_key_id)       ? "aws_access_key_id"
                           : !set(o->secret_access_key) ? "aws_secret_access_key"
                                                        : NULL;
        if (miss) {
            err_set(err, ERR_CONFIG, "'%s' key is required when 'iam_user_arn' is provided.", miss);
            return NULL;
        }
        src = CREDS_SOURCE_STATIC;
    } else if (o->imds || o->imds_fetch) {
        src = CREDS_SOURCE_IMDS;
    } else {
        err_set(err, ERR_AUTH, CREDS_MISSING_MSG);
        return NULL;
    }
    struct creds_provider *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    p->source = src;
    p->clock = o->clock ? o->clock : default_clock;
    p->clock_arg = o->clock_arg;
    if (src == CREDS_SOURCE_SESSION_FILE) {
        p->path = xstrdup(o->credentials_file);
    } else if (src == CREDS_SOURCE_STATIC) {
        p->fixed.access_key_id = xstrdup(o->access_key_id);
        p->fixed.secret_access_key = xstrdup(o->secret_access_key);
        creds_register_secrets(&p->fixed);
    } else {
        p->imds = o->imds;
        p->imds_fetch = o->imds_fetch ? o->imds_fetch : default_fetch;
        p->imds_fetch_arg = o->imds_fetch ? o->imds_fetch_arg : o->imds;
    }
    return p;
}

void creds_provider_free(struct creds_provider *p)
{
    if (!p)
        return;
    creds_done(&p->fixed);
    creds_done(&p->cached);
    free(p->path);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

enum creds_source creds_provider_source(const struct creds_provider *p)
{
    return p->source;
}

void creds_invalidate(struct creds_provider *p)
{
    pthread_mutex_lock(&p->lock);
    p->invalid = true;
    pthread_mutex_unlock(&p->lock);
}

/* ---- INI ---- */

static const char *trim(char *s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)*s))
        s++, (*n)--;
    while (*n > 0 && isspace((unsigned char)s[*n - 1]))
        (*n)--;
    return s;
}

int creds_parse_ini(const char *text, size_t len, struct creds *ret, struct err *err)
{
    struct creds c = {0};
    bool in_default = false, seen_default = false;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = xstrndup(p, n);
        p = nl ? nl + 1 : end;
        size_t ln = n;
        const char *s = trim(line, &ln);
        if (ln == 0 || *s == '#' || *s == ';' || (ln == 3 && memcmp(s, "---", 3) == 0)) {
            /* blank, comment, or the YAML-ish document marker some tools write */
        } else if (*s == '[') {
            size_t sn = ln;
            char *sec = xstrndup(s + 1, sn - 1);
            char *close = strchr(sec, ']');
            if (close)
                *close = '\0';
            size_t secn = strlen(sec);
            const char *name = trim(sec, &secn);
            in_default = close && secn == 7 && memcmp(name, "default", 7) == 0;
            seen_default = seen_default || in_default;
            free(sec);
        } else if (in_default) {
            const char *eq = memchr(s, '=', ln);
            if (eq) {
                size_t kn = (size_t)(eq - s), vn = ln - kn - 1;
                char *k = xstrndup(s, kn), *vbuf = xstrndup(eq + 1, vn);
                const char *key = trim(k, &kn);
                const char *v = trim(vbuf, &vn);
                char **slot = NULL;
                if (kn == 17 && memcmp(key, "aws_access_key_id", 17) == 0)
                    slot = &c.access_key_id;
                else if (kn == 21 && memcmp(key, "aws_secret_access_key", 21) == 0)
                    slot = &c.secret_access_key;
                else if (kn == 17 && memcmp(key, "aws_session_token", 17) == 0)
                    slot = &c.session_token;
                if (slot && vn > 0) {
                    secret_free(*slot);
                    *slot = xstrndup(v, vn);
                }
                free(k);
                freezero(vbuf, strlen(vbuf));
            }
        }
        freezero(line, strlen(line));
    }
    const char *miss = !seen_default          ? "the [default] profile"
                       : !c.access_key_id     ? "'aws_access_key_id' in [default]"
                       : !c.secret_access_key ? "'aws_secret_access_key' in [default]"
                                              : NULL;
    if (miss) {
        creds_done(&c);
        return err_set(err, ERR_PARSE, "credentials file: no %s", miss);
    }
    *ret = c;
    return 0;
}

/* ---- sources ---- */

static int load_session_file(struct creds_provider *p, const struct stat *st, struct err *err)
{
    char *text = NULL;
    size_t len = 0;
    struct err e = ERR_INIT;
    struct creds c = {0};
    /* Whoever can change it picks the account the host obeys (issue 11 item 3). */
    if (safepath_check(p->path, geteuid(), false, &e) < 0)
        return err_set(err, ERR_UNSAFE, "refusing the credentials file %s: %s", p->path, e.msg);
    if (read_file(p->path, CREDS_MAX_FILE, &text, &len, &e) < 0 ||
        creds_parse_ini(text, len, &c, &e) < 0) {
        if (text)
            freezero(text, len);
        return err_set(err, ERR_AUTH, "Failed to load credentials from path %s: %s", p->path,
                       e.msg);
    }
    freezero(text, len);
    creds_register_secrets(&c);
    creds_done(&p->cached);
    p->cached = c;
    p->have = true;
    p->invalid = false;
    p->loaded_ms = p->clock(p->clock_arg);
    p->mtime = st->st_mtim;
    p->size = st->st_size;
    p->ino = st->st_ino;
    return 0;
}

static int get_session(struct creds_provider *p, struct err *err)
{
    int64_t now = p->clock(p->clock_arg);
    struct stat st;
    bool stat_ok = stat(p->path, &st) == 0;
    if (!stat_ok && !p->have)
        return err_errno(err, errno, "Failed to load credentials from path %s", p->path);
    bool changed = !stat_ok || st.st_mtim.tv_sec != p->mtime.tv_sec ||
                   st.st_mtim.tv_nsec != p->mtime.tv_nsec || st.st_size != p->size ||
                   st.st_ino != p->ino;
    bool stale = now - p->loaded_ms >= CREDS_SESSION_REREAD_MS || now < p->loaded_ms;
    if (p->have && !p->invalid && !changed && !stale)
        return 0;
    struct err e = ERR_INIT;
    if (stat_ok && load_session_file(p, &st, &e) == 0)
        return 0;
    if (!stat_ok)
        err_errno(&e, errno, "Failed to load credentials from path %s", p->path);
    /* Tolerate a failed re-read while the previous credentials are within their nominal life and
     * the service has not refused them. */
    if (p->have && !p->invalid && now - p->loaded_ms < CREDS_SESSION_LIFE_MS) {
        log_debug("credentials: re-reading '%s' failed, keeping the previous ones: %s", p->path,
                  e.msg);
        return 0;
    }
    return err_set(err, e.code, "%s", e.msg);
}

static int get_imds(struct creds_provider *p, struct err *err)
{
    int64_t now = p->clock(p->clock_arg);
    int64_t left = INT64_MAX;
    if (p->have && p->cached.expiration_ms)
        left = p->cached.expiration_ms - now;
    bool usable = p->have && left > 0;
    if (usable && !p->invalid && left > CREDS_IMDS_SOFT_MS)
        return 0;
    bool recent = p->last_try_ms && now - p->last_try_ms >= 0 &&
                  now - p->last_try_ms < CREDS_IMDS_MIN_RETRY_MS;
    if (usable && !p->invalid && recent)
        return 0; /* refreshed (and failed) a moment ago: do not hammer IMDS */
    p->last_try_ms = now;
    struct imds_role_creds rc = {0};
    struct err e = ERR_INIT;
    if (p->imds_fetch(p->imds_fetch_arg, &rc, &e) == 0) {
        creds_done(&p->cached);
        p->cached.access_key_id = TAKE_PTR(rc.access_key_id);
        p->cached.secret_access_key = TAKE_PTR(rc.secret_access_key);
        p->cached.session_token = TAKE_PTR(rc.token);
        p->cached.expiration_ms = rc.expiration_ms;
        imds_role_creds_done(&rc);
        creds_register_secrets(&p->cached);
        p->have = true;
        p->invalid = false;
        p->loaded_ms = now;
        p->last_try_ms = 0;
        return 0;
    }
    imds_role_creds_done(&rc);
    if (usable) {
        /* a failed refresh keeps unexpired credentials. */
        log_debug("credentials: IMDS refresh failed, keeping the current ones: %s", e.msg);
        return 0;
    }
    if (e.code == ERR_CANCELLED)
        return err_set(err, ERR_CANCELLED, "%s", e.msg);
    return err_set(err, ERR_AUTH, CREDS_MISSING_MSG " (%s)", e.msg);
}

int creds_get(struct creds_provider *p, struct creds *ret, struct err *err)
{
    if (p->source == CREDS_SOURCE_STATIC) {
        creds_copy(ret, &p->fixed);
        return 0;
    }
    pthread_mutex_lock(&p->lock);
    int r = p->source == CREDS_SOURCE_SESSION_FILE ? get_session(p, err) : get_imds(p, err);
    if (r == 0)
        creds_copy(ret, &p->cached);
    pthread_mutex_unlock(&p->lock);
    return r;
}
