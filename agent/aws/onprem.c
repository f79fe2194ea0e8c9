/*
 * onprem: the on-premises registration file (spec section 3.1); see onprem.h.  The YAML comes
 * through config.c's reader (config-internal.h); this file only knows the six keys and R-027.
 */
#include "aws/onprem.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/safepath.h"
#include "parse/config-internal.h"
#include "base/util.h"

#define INVALID_FORMAT                                                                             \
    "The deployment failed because the format of the following on-premises configuration file "    \
    "is invalid: "

void onprem_init(struct onprem *o)
{
    memset(o, 0, sizeof(*o));
    o->kind = ONPREM_NONE;
}

void onprem_done(struct onprem *o)
{
    if (!o)
        return;
    free(o->path);
    free(o->region);
    free(o->iam_user_arn);
    free(o->iam_session_arn);
    secret_free(o->aws_access_key_id);
    secret_free(o->aws_secret_access_key);
    free(o->aws_credentials_file);
    for (size_t i = 0; i < o->nwarnings; i++)
        free(o->warnings[i]);
    free(o->warnings);
    memset(o, 0, sizeof(*o));
}

struct onprem_key {
    const char *name;
    size_t off;
    bool secret; /* never echo the value */
};

static const struct onprem_key okeys[] = {
    {"region", offsetof(struct onprem, region), false},
    {"iam_user_arn", offsetof(struct onprem, iam_user_arn), false},
    {"iam_session_arn", offsetof(struct onprem, iam_session_arn), false},
    {"aws_access_key_id", offsetof(struct onprem, aws_access_key_id), true},
    {"aws_secret_access_key", offsetof(struct onprem, aws_secret_access_key), true},
    {"aws_credentials_file", offsetof(struct onprem, aws_credentials_file), false},
};
#define NOKEYS (sizeof(okeys) / sizeof(okeys[0]))

static const struct onprem_key *find_okey(const char *name)
{
    for (size_t i = 0; i < NOKEYS; i++)
        if (strcmp(okeys[i].name, name) == 0)
            return &okeys[i];
    return NULL;
}

static void set_field(struct onprem *o, const struct onprem_key *k, char *v)
{
    char **dst = (char **)((char *)o + k->off);
    secret_free(*dst);
    *dst = v;
}

/* One entry's value into its field (NULL for null or empty). */
static int read_value(const char *file, const struct cfg_entry *e, const struct onprem_key *k,
                      struct onprem *o, struct err *err)
{
    bool b;
    if (e->kind == CFG_NULL) {
        set_field(o, k, NULL);
        return 0;
    }
    if (e->kind != CFG_SCALAR)
        return err_set(err, ERR_CONFIG, "%s line %zu: key '%s' expects a text value, got %s", file,
                       e->line, k->name, e->kind == CFG_LIST ? "a list" : "a mapping");
    if (!e->quoted && cfg_yaml11_bool(e->value, &b))
        return err_set(err, ERR_CONFIG,
                       "%s line %zu: key '%s' expects a text value, got a boolean (quote it if "
                       "you mean the text)",
                       file, e->line, k->name);
    if (strlen(e->value) != e->value_len || cfg_has_control(e->value, e->value_len))
        return err_set(err, ERR_CONFIG, "%s line %zu: key '%s' contains a control character", file,
                       e->line, k->name);
    set_field(o, k, e->value_len ? xstrndup(e->value, e->value_len) : NULL);
    return 0;
}

/* R-027, texts exactly as the Ruby agent's. */
static int validate(struct onprem *o, struct err *err)
{
    if (o->iam_user_arn && o->iam_session_arn)
        return err_set(err, ERR_CONFIG,
                       "On Premises config cannot contain both 'iam_user_arn' "
                       "and 'iam_session_arn' keys.");
    if (o->iam_user_arn) {
        const char *missing = !o->region                  ? "region"
                              : !o->aws_access_key_id     ? "aws_access_key_id"
                              : !o->aws_secret_access_key ? "aws_secret_access_key"
                                                          : NULL;
        if (missing)
            return err_set(err, ERR_CONFIG, "'%s' key is required when 'iam_user_arn' is provided.",
                           missing);
        o->kind = ONPREM_IAM_USER;
    } else if (o->iam_session_arn) {
        const char *missing = !o->region                 ? "region"
                              : !o->aws_credentials_file ? "aws_credentials_file"
                                                         : NULL;
        if (missing)
            return err_set(err, ERR_CONFIG,
                           "'%s' key is required when 'iam_session_arn' is provided.", missing);
        o->kind = ONPREM_IAM_SESSION;
    } else {
        o->kind = ONPREM_NONE;
    }
    return 0;
}

static void scan_okeys(const struct cfg_map *m, const char *file, size_t *last,
                       struct cfg_warnings *w)
{
    for (size_t i = 0; i < NOKEYS; i++)
        last[i] = SIZE_MAX;
    for (size_t i = 0; i < m->n; i++) {
        const struct cfg_entry *e = &m->v[i];
        const struct onprem_key *k = find_okey(e->key);
        if (!k) {
            char q[CFG_QUOTE_MAX + 4];
            cfg_quote(e->key, strlen(e->key), q);
            cfg_warn(w, "%s line %zu: unknown key '%s%s', ignoring", file, e->line,
                     e->colon ? ":" : "", q);
            continue;
        }
        size_t ki = (size_t)(k - okeys);
        if (last[ki] != SIZE_MAX)
            cfg_warn(w, "%s line %zu: key '%s' repeats line %zu; the last value is used", file,
                     e->line, k->name, m->v[last[ki]].line);
        last[ki] = i;
    }
}

int onprem_parse(const char *text, size_t len, const char *filename, struct onprem *ret,
                 struct err *err)
{
    struct cfg_map m = {NULL, 0};
    struct cfg_warnings w = {NULL, 0, 0};
    struct onprem o;
    struct err e2 = ERR_INIT;
    size_t last[NOKEYS];

    if (!filename)
        filename = "codedeploy.onpremises.yml";
    if (!text)
        text = "";
    if (len > ONPREM_MAX_FILE_BYTES)
        return err_set(err, ERR_LIMIT, "on-premises config file %s is larger than %d bytes",
                       filename, ONPREM_MAX_FILE_BYTES);
    if (cfg_read_map(text, len, filename, &m, &w, &e2) < 0) {
        cfg_warnings_done(&w);
        return err_set(err, ERR_CONFIG, INVALID_FORMAT "%s (%s)", filename, e2.msg);
    }
    onprem_init(&o);
    o.path = xstrdup(filename);
    scan_okeys(&m, filename, last, &w);
    int r = 0;
    for (size_t i = 0; i < m.n && r == 0; i++) {
        const struct onprem_key *k = find_okey(m.v[i].key);
        if (k && last[k - okeys] == i)
            r = read_value(filename, &m.v[i], k, &o, err);
    }
    cfg_map_done(&m);
    if (r == 0)
        r = validate(&o, err);
    if (r < 0) {
        cfg_warnings_done(&w);
        onprem_done(&o);
        return -1;
    }
    cfg_warnings_finish(&w, filename);
    o.warnings = w.v;
    o.nwarnings = w.n;
    *ret = o;
    return 0;
}

/* Read the whole file into one fixed buffer (no realloc leaves copies of the secret behind). */
static int read_secret_file(const char *path, char **ret, size_t *ret_len, bool *ret_readable,
                            struct err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int errnum = errno;
        err_set(err, ERR_NOT_FOUND,
                "on-premises config file %s does not exist or is not readable (%s)", path,
                strerror(errnum));
        if (err)
            err->sys_errno = errnum;
        return -1;
    }
    /* Whoever can change it picks the account the host obeys (issue 11 item 3). */
    struct err e = ERR_INIT;
    if (safepath_check_open(fd, path, geteuid(), ret_readable, &e) < 0) {
        close(fd);
        return err_set(err, e.code == ERR_NOT_FOUND ? ERR_UNSAFE : e.code,
                       "refusing the on-premises config file %s: %s", path, e.msg);
    }
    size_t cap = ONPREM_MAX_FILE_BYTES + 1;
    char *buf = xmalloc(cap + 1);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int errnum = errno;
            close(fd);
            freezero(buf, cap + 1);
            err_set(err, ERR_NOT_FOUND,
                    "on-premises config file %s does not exist or is not readable (%s)", path,
                    strerror(errnum));
            if (err)
                err->sys_errno = errnum;
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap)
            break;
    }
    close(fd);
    buf[len] = 0;
    *ret = buf;
    *ret_len = len;
    return 0;
}

/* Append w (taken) to o's warnings. */
static void onprem_warn(struct onprem *o, char *w)
{
    o->warnings = xrealloc(o->warnings, (o->nwarnings + 2) * sizeof(*o->warnings));
    o->warnings[o->nwarnings++] = w;
    o->warnings[o->nwarnings] = NULL;
}

int onprem_load(const char *path, struct onprem *ret, struct err *err)
{
    char *text = NULL;
    size_t len = 0;
    bool readable = false;
    if (read_secret_file(path, &text, &len, &readable, err) < 0)
        return -1;
    int r = onprem_parse(text, len, path, ret, err);
    freezero(text, ONPREM_MAX_FILE_BYTES + 2);
    if (r == 0 && readable)
        onprem_warn(ret, xasprintf("the on-premises config file %s can be read by other users; "
                                   "make it readable by root only (chmod 600)",
                                   path));
    return r;
}

const char *onprem_host_identifier(const struct onprem *o)
{
    if (o->kind == ONPREM_IAM_USER)
        return o->iam_user_arn;
    if (o->kind == ONPREM_IAM_SESSION)
        return o->iam_session_arn;
    return NULL;
}
