/*
 * config: the agent configuration file (spec section 2); see config.h.  The flat YAML mapping
 * reader is config-map.c; this file holds the key table and the typing rules for struct config.
 */
#include "parse/config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse/config-internal.h"
#include "base/path.h"
#include "base/fsutil.h"
#include "base/util.h"

/* ======================================================================================== */
/* struct config                                                                            */
/* ======================================================================================== */

#define DEFAULT_LOG_DIR "/var/log/aws/codedeploy-agent"
#define DEFAULT_PID_DIR "/opt/codedeploy-agent/state/.pid"
#define DEFAULT_ROOT_DIR "/opt/codedeploy-agent/deployment-root"
#define DEFAULT_ONPREM_FILE "/etc/codedeploy-agent/conf/codedeploy.onpremises.yml"
#define MAX_SECONDS 86400
#define KILL_WAIT_CLAMP_SECONDS 86400

void config_init(struct config *c)
{
    memset(c, 0, sizeof(*c));
    c->path = xstrdup("");
    c->log_dir = xstrdup(DEFAULT_LOG_DIR);
    c->pid_dir = xstrdup(DEFAULT_PID_DIR);
    c->root_dir = xstrdup(DEFAULT_ROOT_DIR);
    c->program_name = xstrdup("codedeploy-agent");
    c->ongoing_deployment_tracking = xstrdup("ongoing-deployment");
    c->on_premises_config_file = xstrdup(DEFAULT_ONPREM_FILE);
    c->verbose = false;
    c->enable_deployments_log = true;
    c->log_aws_wire = false;
    c->wait_between_runs = 30;
    c->wait_after_error = 30;
    c->http_read_timeout = 80;
    c->kill_agent_max_wait_time_seconds = 7200;
    c->max_revisions = 5;
    c->wait_after_throttle_error = 60;
    c->wait_after_connection_problem = 5;
    c->children = 1;
    c->max_runs_per_worker = 0;
    c->wait_between_spawning_children = 1;
    c->hook_output_grace_seconds = 5;
    c->enable_progress_updates = false;
    c->max_bundle_extracted_bytes = 32ULL << 30;
    c->max_bundle_entries = 1000000;
    c->s3_download_connections = 8;
    c->s3_download_part_size_mb = 16;
    c->download_min_rate_bytes_per_second = 1024;
    c->download_min_rate_window_seconds = 60;
    c->hook_logs_max_bytes = 16ULL * 1024 * 1024;
    c->bundle_expansion_allowance = 1;
    c->enable_archive_reuse = true;
    c->disable_core_dumps = true;
    c->archive_max_extraction_size = 0;
}

void config_done(struct config *c)
{
    if (!c)
        return;
    free(c->path);
    free(c->log_dir);
    free(c->pid_dir);
    free(c->root_dir);
    free(c->program_name);
    free(c->ongoing_deployment_tracking);
    free(c->on_premises_config_file);
    free(c->hook_logs_s3_uri);
    free(c->metrics_file);
    free(c->bundle_signing_public_keys);
    secret_free(c->proxy_uri);
    free(c->deploy_control_endpoint);
    free(c->s3_endpoint_override);
    free(c->user);
    free(c->group);
    for (size_t i = 0; i < c->nwarnings; i++)
        free(c->warnings[i]);
    free(c->warnings);
    memset(c, 0, sizeof(*c));
}

enum key_type {
    K_BOOL,    /* bool field */
    K_INT,     /* int field, [min, max] */
    K_COUNT,   /* uint64_t field, [min, max] */
    K_SIZE,    /* uint64_t field, bytes, number or '10GiB' */
    K_DIR,     /* char *, made absolute, trailing '/' removed */
    K_NAME,    /* char *, a plain file name */
    K_RELPATH, /* char *, relative path beneath root_dir */
    K_FILE,    /* char *, any path */
    K_URL,     /* char *, https:// (http:// with a warning) */
    K_PROXY,   /* char *, http:// or https://, never echoed */
    K_TEXT,    /* char *, any text */
    K_IGNORE,  /* accepted, ignored */
};

enum key_flag {
    F_NONE = 0,
    F_CHILDREN = 1,      /* must be 1 */
    F_MAX_REVS = 2,      /* Ruby's "Invalid configuration :max_revision=" text */
    F_CLAMP_KILL = 4,    /* clamp to KILL_WAIT_CLAMP_SECONDS */
    F_READ_TIMEOUT = 8,  /* warn when <= 60 */
    F_WARN_TRUE = 16,    /* accepted but not implemented: warn when true */
    F_TEST_PROFILE = 32, /* warn unless 'prod' */
    F_SSL_VERIFY = 64,   /* warn when false */
};

struct key_def {
    const char *name;
    size_t off;
    int64_t min;
    int64_t max;
    enum key_type type;
    unsigned flags;
};

#define OFF(f) offsetof(struct config, f)
#define NOFF 0

static const struct key_def keys[] = {
    {"log_dir", OFF(log_dir), 0, 0, K_DIR, F_NONE},
    {"pid_dir", OFF(pid_dir), 0, 0, K_DIR, F_NONE},
    {"root_dir", OFF(root_dir), 0, 0, K_DIR, F_NONE},
    {"program_name", OFF(program_name), 0, 0, K_NAME, F_NONE},
    {"ongoing_deployment_tracking", OFF(ongoing_deployment_tracking), 0, 0, K_RELPATH, F_NONE},
    {"on_premises_config_file", OFF(on_premises_config_file), 0, 0, K_FILE, F_NONE},
    {"verbose", OFF(verbose), 0, 0, K_BOOL, F_NONE},
    {"enable_deployments_log", OFF(enable_deployments_log), 0, 0, K_BOOL, F_NONE},
    {"log_aws_wire", OFF(log_aws_wire), 0, 0, K_BOOL, F_NONE},
    {"wait_between_runs", OFF(wait_between_runs), 0, MAX_SECONDS, K_INT, F_NONE},
    {"wait_after_error", OFF(wait_after_error), 0, MAX_SECONDS, K_INT, F_NONE},
    {"http_read_timeout", OFF(http_read_timeout), 1, MAX_SECONDS, K_INT, F_READ_TIMEOUT},
    {"kill_agent_max_wait_time_seconds", OFF(kill_agent_max_wait_time_seconds), 0, INT_MAX, K_INT,
     F_CLAMP_KILL},
    {"wait_after_throttle_error", OFF(wait_after_throttle_error), 0, MAX_SECONDS, K_INT, F_NONE},
    {"wait_after_connection_problem", OFF(wait_after_connection_problem), 0, MAX_SECONDS, K_INT,
     F_NONE},
    {"max_revisions", OFF(max_revisions), 1, INT_MAX, K_INT, F_MAX_REVS},
    {"proxy_uri", OFF(proxy_uri), 0, 0, K_PROXY, F_NONE},
    {"deploy_control_endpoint", OFF(deploy_control_endpoint), 0, 0, K_URL, F_NONE},
    {"s3_endpoint_override", OFF(s3_endpoint_override), 0, 0, K_URL, F_NONE},
    {"use_fips_mode", OFF(use_fips_mode), 0, 0, K_BOOL, F_NONE},
    {"enable_auth_policy", OFF(enable_auth_policy), 0, 0, K_BOOL, F_NONE},
    {"disable_imds_v1", OFF(disable_imds_v1), 0, 0, K_BOOL, F_NONE},
    {"user", OFF(user), 0, 0, K_TEXT, F_NONE},
    {"group", OFF(group), 0, 0, K_TEXT, F_NONE},
    {"children", OFF(children), INT_MIN, INT_MAX, K_INT, F_CHILDREN},
    {"max_runs_per_worker", OFF(max_runs_per_worker), 0, INT_MAX, K_INT, F_NONE},
    {"wait_between_spawning_children", OFF(wait_between_spawning_children), 0, MAX_SECONDS, K_INT,
     F_NONE},
    {"hook_output_grace_seconds", OFF(hook_output_grace_seconds), -1, MAX_SECONDS, K_INT, F_NONE},
    {"enable_progress_updates", OFF(enable_progress_updates), 0, 0, K_BOOL, F_NONE},
    {"max_bundle_extracted_bytes", OFF(max_bundle_extracted_bytes), 1, INT64_MAX, K_SIZE, F_NONE},
    {"max_bundle_entries", OFF(max_bundle_entries), 1, INT64_MAX, K_COUNT, F_NONE},
    {"s3_download_connections", OFF(s3_download_connections), 1, 64, K_COUNT, F_NONE},
    {"s3_download_part_size_mb", OFF(s3_download_part_size_mb), 1, 5120, K_COUNT, F_NONE},
    {"download_min_rate_bytes_per_second", OFF(download_min_rate_bytes_per_second), 0, INT64_MAX,
     K_COUNT, F_NONE},
    {"download_min_rate_window_seconds", OFF(download_min_rate_window_seconds), 1, 3600, K_COUNT,
     F_NONE},
    {"hook_logs_s3_uri", OFF(hook_logs_s3_uri), 0, 0, K_TEXT, F_NONE},
    {"hook_logs_max_bytes", OFF(hook_logs_max_bytes), 1, INT64_MAX, K_SIZE, F_NONE},
    {"max_revisions_disk_mb", OFF(max_revisions_disk_mb), 0, INT_MAX, K_INT, F_NONE},
    {"bundle_expansion_allowance", OFF(bundle_expansion_allowance), 1, INT_MAX, K_INT, F_NONE},
    {"metrics_file", OFF(metrics_file), 0, 0, K_FILE, F_NONE},
    {"bundle_signing_public_keys", OFF(bundle_signing_public_keys), 0, 0, K_FILE, F_NONE},
    {"enable_archive_reuse", OFF(enable_archive_reuse), 0, 0, K_BOOL, F_NONE},
    {"disable_core_dumps", OFF(disable_core_dumps), 0, 0, K_BOOL, F_NONE},
    {"archive_max_extraction_size", OFF(archive_max_extraction_size), 1, INT64_MAX, K_SIZE, F_NONE},
    {"reject_symlinks_in_bundle", OFF(reject_symlinks_in_bundle), 0, 0, K_BOOL, F_NONE},
    {"reject_path_traversal_in_bundle", OFF(reject_path_traversal_in_bundle), 0, 0, K_BOOL, F_NONE},
    {"reject_unsafe_permissions_in_bundle", OFF(reject_unsafe_permissions_in_bundle), 0, 0, K_BOOL,
     F_NONE},
    {"reject_unconfined_selinux_in_bundle", OFF(reject_unconfined_selinux_in_bundle), 0, 0, K_BOOL,
     F_NONE},
    {"reject_symlink_permission_targets", OFF(reject_symlink_permission_targets), 0, 0, K_BOOL,
     F_NONE},
    {"ignore_ownership_in_bundle", OFF(ignore_ownership_in_bundle), 0, 0, K_BOOL, F_NONE},
    {"restrict_agent_dir_permissions", OFF(restrict_agent_dir_permissions), 0, 0, K_BOOL, F_NONE},
    {"restrict_log_dir_permissions", OFF(restrict_log_dir_permissions), 0, 0, K_BOOL, F_NONE},
    {"restrict_hook_env_to_allowlist", OFF(restrict_hook_env_to_allowlist), 0, 0, K_BOOL, F_NONE},
    {"strip_loader_env_in_hooks", OFF(strip_loader_env_in_hooks), 0, 0, K_BOOL, F_NONE},
    {"enable_command_port", OFF(enable_command_port), 0, 0, K_BOOL, F_WARN_TRUE},
    /* Accepted and ignored (R-021 "MAY ignore" and legacy rows, v2 Windows key). */
    {"codedeploy_test_profile", NOFF, 0, 0, K_IGNORE, F_TEST_PROFILE},
    {"use_mock_command_service", NOFF, 0, 0, K_IGNORE, F_NONE},
    {"ssl_verify_peer", NOFF, 0, 0, K_IGNORE, F_SSL_VERIFY},
    {"disable_powershell_profile_in_hooks", NOFF, 0, 0, K_IGNORE, F_NONE},
    {"instance_service_region", NOFF, 0, 0, K_IGNORE, F_NONE},
    {"instance_service_endpoint", NOFF, 0, 0, K_IGNORE, F_NONE},
    {"instance_service_port", NOFF, 0, 0, K_IGNORE, F_NONE},
    {"shared_dir", NOFF, 0, 0, K_IGNORE, F_NONE},
    {"plugins", NOFF, 0, 0, K_IGNORE, F_NONE},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* What one key's value is being read for: enough to write a message. */
struct ctx {
    const char *file;
    const struct cfg_entry *e;
    const struct key_def *k;
    struct cfg_warnings *w;
    struct err *err;
};

static const char *kind_name(enum cfg_kind kind)
{
    return kind == CFG_LIST ? "a list" : kind == CFG_MAP ? "a mapping" : "nothing";
}

/* "<file> line N: key ':name:' " + the rest, as a warning or as the error (then -1). */
#define KEY_HEAD "%s line %zu: key ':%s:' %s"
static int key_report(const struct ctx *x, bool warn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int key_report(const struct ctx *x, bool warn, const char *fmt, ...)
{
    char rest[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(rest, sizeof(rest), fmt, ap);
    va_end(ap);
    if (!warn)
        return err_set(x->err, ERR_CONFIG, KEY_HEAD, x->file, x->e->line, x->k->name, rest);
    cfg_warn(x->w, KEY_HEAD, x->file, x->e->line, x->k->name, rest);
    return 0;
}
#define key_error(x, ...) key_report((x), false, __VA_ARGS__)
#define key_warn(x, ...) ((void)key_report((x), true, __VA_ARGS__))

/* The value must be a scalar ("expects <what>, got a list" otherwise); q gets it quoted. */
static int need_scalar(const struct ctx *x, const char *what, char q[CFG_QUOTE_MAX + 4])
{
    if (x->e->kind != CFG_SCALAR)
        return key_error(x, "expects %s, got %s", what, kind_name(x->e->kind));
    cfg_quote(x->e->value, x->e->value_len, q);
    return 0;
}

static int read_bool(const struct ctx *x, bool *ret)
{
    const struct cfg_entry *e = x->e;
    char q[CFG_QUOTE_MAX + 4];
    if (need_scalar(x, "true or false", q) < 0)
        return -1;
    if (!cfg_yaml11_bool(e->value, ret))
        return key_error(x, "expects true or false, got '%s'", q);
    if (e->quoted)
        key_warn(x,
                 "is the quoted string '%s'; read as the boolean %s (write it without "
                 "quotes)",
                 q, *ret ? "true" : "false");
    return 0;
}

static bool all_decimal(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* A whole number per YAML 1.1, or a quoted decimal (with a warning). */
static int read_int64(const struct ctx *x, int64_t *ret)
{
    const struct cfg_entry *e = x->e;
    char q[CFG_QUOTE_MAX + 4];
    if (need_scalar(x, "a whole number", q) < 0)
        return -1;
    bool octal = false;
    if (e->quoted) {
        if (!all_decimal(e->value) || !cfg_yaml11_int(e->value, ret, &octal))
            return key_error(x, "expects a whole number, got '%s'", q);
        key_warn(x,
                 "is the quoted string '%s'; read as the number %" PRId64
                 " (write it without quotes)",
                 q, *ret);
        return 0;
    }
    if (!cfg_yaml11_int(e->value, ret, &octal))
        return key_error(x, "expects a whole number, got '%s'", q);
    if (octal)
        key_warn(x,
                 "value '%s' has a leading zero, so YAML reads it as the octal number %" PRId64
                 "; remove the zero if you meant decimal",
                 q, *ret);
    return 0;
}

static int read_int(const struct ctx *x, void *field)
{
    int64_t v = 0;
    if (read_int64(x, &v) < 0)
        return -1;
    const struct key_def *k = x->k;
    char q[CFG_QUOTE_MAX + 4];
    cfg_quote(x->e->value, x->e->value_len, q);
    if (k->flags & F_CHILDREN) {
        if (v != 1)
            return key_error(x, "is '%s': children can only be set to 1", q);
    } else if (v < k->min || v > k->max) {
        if (k->flags & F_MAX_REVS)
            return key_error(x,
                             "expects a whole number of at least 1, got '%s' (Invalid "
                             "configuration :max_revision=%s)",
                             q, q);
        if (k->max == INT_MAX)
            return key_error(x, "expects a whole number of at least %" PRId64 ", got '%s'", k->min,
                             q);
        return key_error(x, "expects a whole number from %" PRId64 " to %" PRId64 ", got '%s'",
                         k->min, k->max, q);
    }
    if ((k->flags & F_CLAMP_KILL) && v > KILL_WAIT_CLAMP_SECONDS) {
        key_warn(x, "is %" PRId64 "; using the maximum of %d seconds", v, KILL_WAIT_CLAMP_SECONDS);
        v = KILL_WAIT_CLAMP_SECONDS;
    }
    if ((k->flags & F_READ_TIMEOUT) && v <= 60)
        key_warn(x,
                 "is %" PRId64 " seconds, not longer than the service's ~60 s long poll; "
                 "polls will time out",
                 v);
    *(int *)field = (int)v;
    return 0;
}

static int read_count(const struct ctx *x, void *field)
{
    int64_t v = 0;
    if (read_int64(x, &v) < 0)
        return -1;
    if (v < x->k->min) {
        char q[CFG_QUOTE_MAX + 4];
        cfg_quote(x->e->value, x->e->value_len, q);
        return key_error(x, "expects a whole number of at least %" PRId64 ", got '%s'", x->k->min,
                         q);
    }
    *(uint64_t *)field = (uint64_t)v;
    return 0;
}

/* "10GiB", "512 MB", "1073741824" (V-056 syntax). */
static bool parse_size(const char *s, uint64_t *ret)
{
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {
        {"", 1},
        {"b", 1},
        {"kb", 1000ULL},
        {"mb", 1000000ULL},
        {"gb", 1000000000ULL},
        {"tb", 1000000000000ULL},
        {"kib", 1ULL << 10},
        {"mib", 1ULL << 20},
        {"gib", 1ULL << 30},
        {"tib", 1ULL << 40},
    };
    uint64_t v = 0;
    size_t digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (!digits)
        return false;
    while (*s == ' ')
        s++;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(s, units[i].unit) != 0)
            continue;
        if (v > (uint64_t)INT64_MAX / units[i].mul)
            return false;
        *ret = v * units[i].mul;
        return true;
    }
    return false;
}

static int read_size(const struct ctx *x, void *field)
{
    const struct cfg_entry *e = x->e;
    char q[CFG_QUOTE_MAX + 4];
    if (need_scalar(x, "a size in bytes such as 1073741824 or '10GiB'", q) < 0)
        return -1;
    uint64_t v;
    int64_t iv;
    bool octal;
    if (!e->quoted && e->value[0] == '0' && e->value[1] && cfg_yaml11_int(e->value, &iv, &octal) &&
        iv >= 0) {
        v = (uint64_t)iv; /* 0x..., 0b..., octal: as YAML reads them */
    } else if (!parse_size(e->value, &v)) {
        return key_error(x,
                         "expects a size in bytes such as 1073741824 or '10GiB' (units B, KB, "
                         "MB, GB, TB, KiB, MiB, GiB, TiB), got '%s'",
                         q);
    }
    if (v < 1)
        return key_error(x, "expects a size of at least 1 byte, got '%s'", q);
    *(uint64_t *)field = v;
    return 0;
}

/* The text of a string key; *ret NULL means "not set".  Rejects lists, mappings, unquoted
 * booleans and control characters.  echo=false keeps the value out of messages. */
static int read_text(const struct ctx *x, bool echo, const char **ret)
{
    const struct cfg_entry *e = x->e;
    bool b;
    *ret = NULL;
    char q[CFG_QUOTE_MAX + 4];
    if (need_scalar(x, "a text value", q) < 0)
        return -1;
    if (!echo)
        cfg_quote("", 0, q);
    if (!e->quoted && cfg_yaml11_bool(e->value, &b))
        return key_error(x,
                         "expects a text value, got the boolean '%s' (quote it if you mean "
                         "the text)",
                         q);
    if (strlen(e->value) != e->value_len || cfg_has_control(e->value, e->value_len))
        return echo ? key_error(x, "contains a control character: '%s'", q)
                    : key_error(x, "contains a control character");
    if (e->value_len > 0)
        *ret = e->value;
    return 0;
}

static char *normalise_dir(const char *s)
{
    /* relative means relative to "/" (the daemon's working directory); trailing slashes
     * are irrelevant. */
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        n--;
    if (s[0] == '/')
        return xstrndup(s, n);
    return xasprintf("/%.*s", (int)n, s);
}

static bool url_scheme(const char *s, const char *scheme)
{
    size_t n = strlen(scheme);
    return strncasecmp(s, scheme, n) == 0 && s[n] != 0 && s[n] != '/';
}

static int read_string(const struct ctx *x, void *field)
{
    const struct key_def *k = x->k;
    const char *s;
    if (read_text(x, k->type != K_PROXY, &s) < 0)
        return -1;
    char q[CFG_QUOTE_MAX + 4];
    if (s)
        cfg_quote(s, strlen(s), q);
    char **dst = field;
    char *v = NULL;
    if (!s) {
        /* Not set: keep the default of required-with-default keys, clear optional ones. */
        if (k->type == K_URL || k->type == K_PROXY || k->type == K_TEXT) {
            if (k->type == K_PROXY)
                secret_free(*dst);
            else
                free(*dst);
            *dst = NULL;
        }
        return 0;
    }
    switch (k->type) {
    case K_DIR:
        v = normalise_dir(s);
        break;
    case K_NAME:
        if (strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
            return key_error(x, "expects a plain file name without '/', got '%s'", q);
        v = xstrdup(s);
        break;
    case K_RELPATH:
        if (s[0] == '/' || !path_is_beneath(s))
            return key_error(x,
                             "expects a directory name inside :root_dir: (relative, no "
                             "'..'), got '%s'",
                             q);
        v = xstrdup(s);
        break;
    case K_URL:
        if (url_scheme(s, "http://")) {
            key_warn(x, "uses http://: credentials and payloads travel unencrypted");
        } else if (!url_scheme(s, "https://")) {
            return key_error(x, "expects a URL starting with https:// (or http://), got '%s'", q);
        }
        v = xstrdup(s);
        break;
    case K_PROXY:
        if (!url_scheme(s, "http://") && !url_scheme(s, "https://"))
            return key_error(x, "expects a URL starting with http:// or https:// (value not "
                                "shown: it may contain a password)");
        v = xstrdup(s);
        break;
    case K_FILE:
    case K_TEXT:
    default:
        v = xstrdup(s);
        break;
    }
    if (k->type == K_PROXY)
        secret_free(*dst);
    else
        free(*dst);
    *dst = v;
    return 0;
}

static int read_ignored(const struct ctx *x)
{
    const struct cfg_entry *e = x->e;
    bool b;
    if (e->kind != CFG_SCALAR)
        return 0;
    if ((x->k->flags & F_TEST_PROFILE) && strcmp(e->value, "prod") != 0) {
        char q[CFG_QUOTE_MAX + 4];
        cfg_quote(e->value, e->value_len, q);
        key_warn(x, "is '%s'; cdagent always uses the production profile, ignoring", q);
    }
    if ((x->k->flags & F_SSL_VERIFY) && cfg_yaml11_bool(e->value, &b) && !b)
        key_warn(x, "is false; TLS verification cannot be turned off, ignoring");
    return 0;
}

static int apply(const struct ctx *x, struct config *c)
{
    const struct key_def *k = x->k;
    void *field = (char *)c + k->off;
    if (k->type == K_IGNORE)
        return read_ignored(x);
    if (x->e->kind == CFG_NULL) {
        /* An empty value is "not set": the default stays, optional strings clear. */
        char **dst = field;
        if (k->type == K_PROXY) {
            secret_free(*dst);
            *dst = NULL;
        } else if (k->type == K_URL || k->type == K_TEXT) {
            free(*dst);
            *dst = NULL;
        }
        return 0;
    }
    switch (k->type) {
    case K_BOOL: {
        bool b = false;
        if (read_bool(x, &b) < 0)
            return -1;
        if ((k->flags & F_WARN_TRUE) && b)
            key_warn(x, "is true, but cdagent has no command port; ignoring");
        *(bool *)field = b;
        return 0;
    }
    case K_INT:
        return read_int(x, field);
    case K_COUNT:
        return read_count(x, field);
    case K_SIZE:
        return read_size(x, field);
    case K_DIR:
    case K_NAME:
    case K_RELPATH:
    case K_FILE:
    case K_URL:
    case K_PROXY:
    case K_TEXT:
    case K_IGNORE:
    default:
        return read_string(x, field);
    }
}

static const struct key_def *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* First pass: unknown keys and repeated keys are warnings; last[k] = the entry that counts. */
static void scan_keys(const struct cfg_map *m, const char *file, size_t *last,
                      struct cfg_warnings *w)
{
    for (size_t i = 0; i < NKEYS; i++)
        last[i] = SIZE_MAX;
    for (size_t i = 0; i < m->n; i++) {
        const struct cfg_entry *e = &m->v[i];
        const struct key_def *k = find_key(e->key);
        if (!k) {
            char q[CFG_QUOTE_MAX + 4];
            cfg_quote(e->key, strlen(e->key), q);
            cfg_warn(w, "%s line %zu: unknown key '%s%s%s', ignoring", file, e->line,
                     e->colon ? ":" : "", q, e->colon ? ":" : "");
            continue;
        }
        size_t ki = (size_t)(k - keys);
        if (last[ki] != SIZE_MAX)
            cfg_warn(w, "%s line %zu: key ':%s:' repeats line %zu; the last value is used", file,
                     e->line, k->name, m->v[last[ki]].line);
        last[ki] = i;
    }
}

int config_parse(const char *text, size_t len, const char *filename, struct config *ret,
                 struct err *err)
{
    struct cfg_map m = {NULL, 0};
    struct cfg_warnings w = {NULL, 0, 0};
    struct config c;
    struct err e2 = ERR_INIT;
    size_t last[NKEYS];

    if (!filename)
        filename = "codedeployagent.yml";
    if (!text)
        text = "";
    if (len > CONFIG_MAX_FILE_BYTES)
        return err_set(err, ERR_LIMIT, "The config file %s is larger than %d bytes", filename,
                       CONFIG_MAX_FILE_BYTES);
    if (cfg_read_map(text, len, filename, &m, &w, &e2) < 0) {
        cfg_warnings_done(&w);
        return err_set(err, ERR_CONFIG,
                       "An error occurred loading the CodeDeploy agent config file at %s. "
                       "Error message: %s",
                       filename, e2.msg);
    }
    config_init(&c);
    free(c.path);
    c.path = xstrdup(filename);
    scan_keys(&m, filename, last, &w);
    for (size_t i = 0; i < m.n; i++) {
        const struct key_def *k = find_key(m.v[i].key);
        if (!k || last[k - keys] != i)
            continue;
        struct ctx x = {filename, &m.v[i], k, &w, err};
        if (apply(&x, &c) < 0) {
            cfg_map_done(&m);
            cfg_warnings_done(&w);
            config_done(&c);
            return -1;
        }
    }
    if (c.archive_max_extraction_size &&
        c.archive_max_extraction_size < c.max_bundle_extracted_bytes)
        c.max_bundle_extracted_bytes = c.archive_max_extraction_size;
    cfg_map_done(&m);
    cfg_warnings_finish(&w, filename);
    c.warnings = w.v;
    c.nwarnings = w.n;
    *ret = c;
    return 0;
}

int config_load(const char *path, struct config *ret, struct err *err)
{
    const char *p = path ? path : config_default_path();
    struct err e2 = ERR_INIT;
    char *text = NULL;
    size_t len = 0;

    if (read_file(p, CONFIG_MAX_FILE_BYTES, &text, &len, &e2) < 0) {
        if (e2.code == ERR_LIMIT)
            return err_set(err, ERR_LIMIT, "The config file %s is larger than %d bytes", p,
                           CONFIG_MAX_FILE_BYTES);
        int errnum = e2.code == ERR_NOT_FOUND ? ENOENT : e2.sys_errno;
        err_set(err, ERR_CONFIG, "The config file %s does not exist or is not readable (%s)", p,
                strerror(errnum));
        if (err)
            err->sys_errno = errnum;
        return -1;
    }
    int r = config_parse(text, len, p, ret, err);
    freezero(text, len);
    return r;
}

const char *config_default_path(void)
{
    return file_exists(CONFIG_ETC_PATH) ? CONFIG_ETC_PATH : CONFIG_OPT_PATH;
}
