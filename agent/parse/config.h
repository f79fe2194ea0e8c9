/*
 * config: read and validate the agent configuration file (spec section 2, R-017..R-024, and the
 * v2 keys of v2-delta section 5) into an immutable struct config.  One of the two owners of
 * libyaml (appspec.c is the other).  config_parse() is pure (bytes in, struct out, no I/O, no
 * logging); config_load() reads a file and calls it.  The daemon loads the config once at start
 * logs config.warnings, and passes the few values each lower module needs as arguments.
 *
 * File format.  Top level is a YAML mapping.  Keys are written in Ruby's symbol form
 * `:log_dir: /x` (the key scalar is ":log_dir") or plainly `log_dir: /x`; both name the same key
 * (R-017, V-069).  Values are typed as YAML 1.1 / Ruby Psych reads them:
 *   - an empty value, `~` or `null` (any case) is "not set": the default applies;
 *   - booleans are `true/false/yes/no/on/off`, any case.  The quoted strings 'true'/'false' (and
 *     'yes'/'no'/'on'/'off') are read as the booleans they name, with a warning;
 *   - integers are unquoted: decimal, `0x` hex, `0b` binary, `_` separators allowed; a leading `0`
 *     means octal as in YAML 1.1 (`010` is 8), with a warning because that surprises people;
 *   - quoted numbers ('5'): YAML makes them strings, which made the Ruby agent fail or misbehave;
 *     cdagent reads a quoted plain decimal as the number, with a warning to unquote it
 *     [cdagent choice, in the spirit of R-019].  Anything else for a number key is an error;
 *   - a key repeated in the file takes its LAST value, with a warning;
 *   - unknown keys are accepted and ignored, each with a warning (V-069); legacy Ruby keys that
 *     cdagent ignores (R-021 last rows) are accepted silently;
 *   - an empty file (or only comments / `---`) means all defaults; only the first YAML document
 *     is read (as Psych does), later ones draw a warning.
 * Errors (all ERR_CONFIG unless said otherwise) name the file, the line and the key:
 *     "<file> line 4: key ':max_revisions:' expects a whole number, got 'five'"
 * YAML syntax errors and a top level that is not a mapping use the R-020 text
 *     "An error occurred loading the CodeDeploy agent config file at <file>. Error message: ..."
 * Values are quoted in messages (at most 60 bytes, non-printable bytes shown as '?'), except
 * :proxy_uri:, which may carry a password and is never echoed.
 *
 * Not done here (the daemon does it, R-022): creating/checking log_dir and pid_dir, the FIPS region
 * check (endpoint_fips_allowed() in net/endpoint), the :user:/:group: privilege drop.
 */
#ifndef CDAGENT_CONFIG_H
#define CDAGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Files larger than this are refused with ERR_LIMIT. */
#define CONFIG_MAX_FILE_BYTES (1024 * 1024)
/* the first that exists is the default config file. */
#define CONFIG_ETC_PATH "/etc/codedeploy-agent/conf/codedeployagent.yml"
#define CONFIG_OPT_PATH "/opt/codedeploy-agent/conf/codedeployagent.yml"

/*
 * Field names are the key names without colons.  "null" below means the pointer is NULL when the
 * key is absent, empty or null.  Every char * is owned by the struct (freed by config_done()).
 * [cdagent] marks keys that the Ruby agent does not have; [v2] keys from the Rust 2.x agent.
 */
struct config {
    char *path; /* owned; the file this came from ("" for defaults) */

    /* ---- paths and names (R-021, R-023) ---- */
    /* :log_dir:  default "/var/log/aws/codedeploy-agent".  Directory of the agent log.  Ruby has
     * no code default (shipped file sets this value); cdagent uses the shipped value, as v2 does.
     * Made absolute (relative to "/") and trailing slashes removed. */
    char *log_dir;
    /* :pid_dir:  default "/opt/codedeploy-agent/state/.pid".  PID and lock files.
     * Normalised like log_dir. */
    char *pid_dir;
    /* :root_dir:  default "/opt/codedeploy-agent/deployment-root".  Deployment root (section 8).
     * Normalised like log_dir. */
    char *root_dir;
    /* :program_name:  default "codedeploy-agent".  Base name of the log, PID, deployments-log and
     * wire-log files; must be a plain file name (no '/', not "." or ".."). */
    char *program_name;
    /* :ongoing_deployment_tracking:  default "ongoing-deployment".  Tracking directory under
     * root_dir; must be a relative path that stays beneath root_dir. */
    char *ongoing_deployment_tracking;
    /* :on_premises_config_file:  default "/etc/codedeploy-agent/conf/codedeploy.onpremises.yml".
     * On-premises registration file (section 3.1, see onprem.h). */
    char *on_premises_config_file;

    /* ---- logging ---- */
    bool verbose;                /* :verbose: false.  true = log level DEBUG, else INFO */
    bool enable_deployments_log; /* :enable_deployments_log: true.  Mirror hook output into
                                  * <root_dir>/deployment-logs/<program>-deployments.log */
    bool log_aws_wire;           /* :log_aws_wire: false.  Write <log_dir>/<program>.aws_wire.log
                                  * (R-203) */

    /* ---- poll loop and timing (section 5), all in seconds ---- */
    int wait_between_runs; /* :wait_between_runs: 30 (shipped file: 1), 0..86400.  Sleep
                            * after every poll cycle */
    int wait_after_error;  /* :wait_after_error: 30, 0..86400.  Accepted; unused */
    int http_read_timeout; /* :http_read_timeout: 80, 1..86400.  Read timeout of Commands
                            * calls; a warning when <= 60 (the long poll is ~60 s) */
    int kill_agent_max_wait_time_seconds; /* :kill_agent_max_wait_time_seconds: 7200, >= 0.
                                           * Max wait for running work on stop; values above
                                           * 86400 are clamped to 86400 with a warning (as v2,
                                           * V-068) */
    int max_revisions;                    /* :max_revisions: 5, >= 1.  Revisions kept per deployment
                                           * group; below 1 is an error */
    int wait_after_throttle_error;        /* :wait_after_throttle_error: 60, 0..86400.  Sleep before
                                           * retrying start-up after throttling */
    int wait_after_connection_problem;    /* :wait_after_connection_problem: 5, 0..86400.  Sleep
                                           * before retrying start-up after a DNS/socket failure */

    /* ---- service endpoints and network ---- */
    /* :proxy_uri:  null.  HTTP(S) proxy for Commands, S3 and GitHub, never IMDS.  Must
     * start with http:// or https://.  May carry user:password: wiped on free, never echoed. */
    char *proxy_uri;
    /* :deploy_control_endpoint:  null.  Full URL replacing the Commands endpoint.
     * https:// or http:// (http:// draws a warning, V-020); any other scheme is an error. */
    char *deploy_control_endpoint;
    /* :s3_endpoint_override:  null.  Full URL replacing the S3 endpoint; checked like
     * deploy_control_endpoint. */
    char *s3_endpoint_override;
    bool use_fips_mode;      /* :use_fips_mode: false.  FIPS endpoints; only
                              * in US regions (R-022, endpoint_fips_allowed()) */
    bool enable_auth_policy; /* :enable_auth_policy: false.  "secure" variant */
    bool disable_imds_v1;    /* :disable_imds_v1: false.  Never fall back to IMDSv1 */

    /* ---- privilege drop (R-012) ---- */
    char *user;  /* :user:  null.  Run as this user (name or number as text) */
    char *group; /* :group: null.  Primary group for :user: */

    /* ---- Ruby process-manager keys (R-021) ---- */
    int children;                       /* :children: 1.  Any other value is an error with the text
                                         * "children can only be set to 1" */
    int max_runs_per_worker;            /* :max_runs_per_worker: 0, >= 0.  Ruby worker recycling;
                                         * accepted, ignored */
    int wait_between_spawning_children; /* :wait_between_spawning_children: 1; accepted, ignored */

    /* ---- cdagent extensions (R-021 second table) ---- */
    /* :hook_output_grace_seconds: 5, -1..86400 [cdagent].  After a hook's main process exits,
     * wait this long for stdout/stderr EOF; -1 = Ruby behaviour (wait to the timeout, R-168). */
    int hook_output_grace_seconds;
    bool enable_progress_updates; /* :enable_progress_updates: false [cdagent].  Send
                                   * PostHostCommandUpdate while hooks run */
    /* :max_bundle_extracted_bytes: 32 GiB (34359738368) [cdagent].  Cap on bytes written while
     * unpacking a bundle.  Integer or a size with unit B, KB, MB, GB, TB (powers of 1000)
     * or KiB, MiB, GiB, TiB (powers of 1024), e.g. '10GiB'.  If v2's :archive_max_extraction_size:
     * is also set, this field holds the smaller of the two. */
    uint64_t max_bundle_extracted_bytes;
    uint64_t max_bundle_entries; /* :max_bundle_entries: 1000000 [cdagent], >= 1.  Cap on archive
                                  * entries */
    /* S3 bundles of >= 64 MB, and multipart uploads, are fetched in parts (issue 14). */
    uint64_t s3_download_connections;  /* :s3_download_connections: 8 [cdagent], 1..64; 1: one
                                        * stream (multipart ETags are still checked per part) */
    uint64_t s3_download_part_size_mb; /* :s3_download_part_size_mb: 16 [cdagent], 1..5120 */
    /* A download slower than this over the window is abandoned and resumed (issue 18). */
    uint64_t download_min_rate_bytes_per_second; /* :download_min_rate_bytes_per_second: 1024
                                                  * [cdagent]; 0: no minimum */
    uint64_t download_min_rate_window_seconds;   /* :download_min_rate_window_seconds: 60
                                                  * [cdagent], 1..3600 */
    /* ---- issue 16 extras [cdagent], all off by default (README "Beyond the other agents") ---- */
    char *hook_logs_s3_uri;         /* :hook_logs_s3_uri: null.  s3://bucket/prefix for each event's
                                     * full hook output (run/hooklogs.h) */
    uint64_t hook_logs_max_bytes;   /* :hook_logs_max_bytes: 16 MiB.  Size syntax as above */
    int max_revisions_disk_mb;      /* :max_revisions_disk_mb: 0 (off), >= 0.  Disk budget of one
                                     * deployment group's revisions (deploy/retention.h) */
    int bundle_expansion_allowance; /* :bundle_expansion_allowance: 1, >= 1.  Disk check: a
                                     * bundle may unpack to this many times its size */
    char *metrics_file;             /* :metrics_file: null.  Prometheus textfile (run/metrics.h) */
    char *bundle_signing_public_keys; /* :bundle_signing_public_keys: null.  PEM file of Ed25519 /
                                       * ECDSA public keys: S3 revisions must be signed */

    /* ---- v2 keys (v2-delta V-068), same names and defaults as agent 2.x ---- */
    bool enable_archive_reuse; /* :enable_archive_reuse: true [v2].  Reuse a previous
                                * deployment's archive on restart (V-050) */
    bool disable_core_dumps;   /* :disable_core_dumps: true [v2].  RLIMIT_CORE 0 and not
                                * dumpable, because credentials live in memory (V-085) */
    /* :archive_max_extraction_size: unset (0) [v2].  Same syntax as max_bundle_extracted_bytes;
     * folded into it (the smaller wins).  Kept here as written, 0 when unset (V-056). */
    uint64_t archive_max_extraction_size;
    bool reject_symlinks_in_bundle;       /* false [v2] V-053: refuse bundles with links */
    bool reject_path_traversal_in_bundle; /* false [v2] V-054: refuse '..'/absolute entries
                                           * outright (they are always skipped anyway) */
    /* false [v2] V-055: refuse SUID/SGID files and modes.  false = setuid/setgid bits are kept
     * as GNU tar -p does; this is the "allow setuid" switch. */
    bool reject_unsafe_permissions_in_bundle;
    bool reject_unconfined_selinux_in_bundle; /* false [v2] V-065 */
    bool reject_symlink_permission_targets;   /* false [v2] V-064 */
    bool ignore_ownership_in_bundle;          /* false [v2] V-057: extracted files owned by the
                                               * agent instead of the archive's uid/gid */
    bool restrict_agent_dir_permissions;      /* false [v2] V-066 */
    bool restrict_log_dir_permissions;        /* false [v2] V-066 */
    bool restrict_hook_env_to_allowlist;      /* false [v2] V-043 */
    bool strip_loader_env_in_hooks;           /* false [v2] V-043: drop LD_PRELOAD etc. */
    bool enable_command_port;                 /* false [v2] V-073: not implemented; true draws
                                               * a warning */

    /* Accepted and ignored, without a warning: :codedeploy_test_profile: (a value other than
     * 'prod' draws a warning; TLS is never relaxed), :use_mock_command_service:,
     * :ssl_verify_peer: (false draws a warning: verification cannot be disabled, R-052),
     * :disable_powershell_profile_in_hooks: (Windows), :instance_service_region:,
     * :instance_service_endpoint:, :instance_service_port:, :shared_dir:, :plugins:. */

    /* One-line warnings ("<file> line 7: unknown key ':foo:', ignoring") for the caller to log.
     * Owned; NULL-terminated array (NULL when there are none). */
    char **warnings;
    size_t nwarnings;
};

/* Fill c with the defaults above (path ""); nothing is read.  Release with config_done(). */
void config_init(struct config *c);

/* Free everything c owns (the proxy URI is wiped first) and zero it.  Accepts NULL and a zeroed
 * struct.  Safe to call twice. */
void config_done(struct config *c);

/*
 * Parse len bytes of YAML text.  filename is used only in messages.  On success *ret holds the
 * configuration (release with config_done()); on failure *ret is untouched.
 * Errors: ERR_LIMIT when len > CONFIG_MAX_FILE_BYTES; ERR_CONFIG for YAML syntax errors, binary
 * garbage (libyaml rejects invalid UTF-8 and control characters), a top level that is not a
 * mapping, a value of the wrong type or out of range, :children: other than 1.
 */
int config_parse(const char *text, size_t len, const char *filename, struct config *ret,
                 struct err *err);

/*
 * Read path (NULL: config_default_path()) and parse it.  Errors: a missing or unreadable file is
 * ERR_CONFIG with "The config file <path> does not exist or is not readable (<reason>)" and
 * err->sys_errno set (ENOENT, EACCES, EISDIR...) so a caller may tell them apart;
 * ERR_LIMIT for a file over CONFIG_MAX_FILE_BYTES; otherwise as config_parse().
 */
int config_load(const char *path, struct config *ret, struct err *err);

/* CONFIG_ETC_PATH if that file exists, else CONFIG_OPT_PATH.  Static storage. */
const char *config_default_path(void);

#endif
