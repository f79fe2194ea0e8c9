/*
 * executor: one lifecycle command end to end (spec §7), shared by the daemon and codedeploy-local.
 * Given a command name and a parsed deployment specification it performs DownloadBundle (§9),
 * Install (§12) or the hooks of one lifecycle event (§11), using on-disk state only (§8), and
 * turns any failure into the diagnostic fields the service expects (§13): error code 0-7, script
 * name, message and the output tail.  It never talks to the Commands service and keeps nothing in
 * memory between commands.  It logs at INFO/WARN with the deployment id and event set as
 * the log context, and leaves that context set when it returns so that the caller's lines about
 * the command (its completion) carry it too; the caller clears it (log_ctx_set(NULL, NULL)).
 * Unknown command names fail with "Unsupported command type: <name>." without touching the disk
 * (R-089).
 */
#ifndef CDAGENT_EXECUTOR_H
#define CDAGENT_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "run/result.h"

struct stop;

struct config;
struct deploy_spec;
struct creds_provider;
struct hookenv;
struct wirelog;

/* What the executor is doing now, for STATUS=, the state file and codedeploy-local's display. */
enum executor_phase {
    EXEC_PHASE_START,  /* command started */
    EXEC_PHASE_SCRIPT, /* a hook script started (script set) */
    EXEC_PHASE_BYTES,  /* download progress (done/total set) */
    EXEC_PHASE_END,    /* command finished */
    EXEC_PHASE_UNPACK, /* unpack progress (done = bytes written, total 0) */
};

struct executor_progress {
    enum executor_phase phase;
    const char *deployment_id; /* borrowed */
    const char *command;       /* borrowed */
    const char *script;        /* borrowed; EXEC_PHASE_SCRIPT */
    uint64_t done, total;      /* EXEC_PHASE_BYTES */
    double rate_bps;           /* EXEC_PHASE_BYTES: average rate so far */
};

struct executor_opts {
    const char *root_dir;        /* borrowed; :root_dir: */
    const char *program_name;    /* borrowed; :program_name: */
    unsigned max_revisions;      /* :max_revisions: */
    bool local;                  /* codedeploy-local: local revisions and custom events allowed */
    uint64_t max_bundle_bytes;   /* 0: default */
    uint64_t max_bundle_entries; /* 0: default */
    bool allow_setid;            /* keep setuid/setgid bits from archives */
    bool restore_owner;          /* restore archive ownership when root */
    bool reject_links;           /* refuse bundles with links (V-053) */
    int hook_output_grace_s;     /* :hook_output_grace_seconds: (-1: Ruby behaviour) */
    bool enable_deployments_log;
    bool enable_archive_reuse; /* :enable_archive_reuse: (V-050) */
    /* Downloads */
    const char *region;               /* borrowed; may be NULL for local bundles */
    const char *domain;               /* borrowed; NULL: derived from region */
    const char *s3_endpoint_override; /* borrowed */
    bool use_fips;
    const char *proxy_uri;         /* borrowed */
    int s3_connections;            /* :s3_download_connections: (0: default) */
    uint64_t s3_part_bytes;        /* :s3_download_part_size_mb: in bytes (0: default) */
    uint64_t min_rate_bps;         /* :download_min_rate_bytes_per_second: (0: none) */
    uint64_t min_rate_window_ms;   /* :download_min_rate_window_seconds: in ms */
    const char *github_api_base;   /* borrowed; NULL: api.github.com */
    struct creds_provider *creds;  /* borrowed; NULL: S3 downloads fail with ERR_AUTH */
    const struct hookenv *hookenv; /* borrowed; base hook environment; NULL: minimal */
    /* Shutdown token (borrowed, may be NULL); a running hook is stopped when it is requested. */
    const struct stop *stop;
    void (*progress)(void *arg, const struct executor_progress *p);
    void *progress_arg;
    struct wirelog *wire; /* borrowed; NULL: no wire log */
    /* Opt-in extras of issue 16 (run/preflight.h, run/record.h); zero/NULL: off. */
    const char *host_id;                    /* borrowed; host identifier for hook-log keys */
    const char *hook_logs_s3_uri;           /* borrowed; :hook_logs_s3_uri: */
    uint64_t hook_logs_max_bytes;           /* :hook_logs_max_bytes: (0: 16 MiB) */
    uint64_t max_revisions_disk_bytes;      /* :max_revisions_disk_mb: x 1 MiB */
    unsigned bundle_expansion_allowance;    /* :bundle_expansion_allowance: (0: default) */
    const char *bundle_signing_public_keys; /* borrowed; PEM file path */
};

/* The options that come from the agent configuration (paths, caps, hook and bundle settings);
 * everything else in *ret is zero for the caller to fill in.  cfg is borrowed by *ret. */
void executor_opts_from_config(const struct config *cfg, struct executor_opts *ret);

/* True for the command names this agent executes; custom events count when local. */
bool executor_command_supported(const struct executor_opts *o, const char *command);

/* is the command a no-op?  Parses the selected revision's AppSpec, so AppSpec errors
 * surface here (returned as -1 with err). */
int executor_is_noop(const struct executor_opts *o, const char *command,
                     const struct deploy_spec *spec, bool *ret, struct err *err);

/* Run one command; *ret always filled (release with exec_result_done).  Sets the calling
 * thread's log context to (deployment id, command) and leaves it set. */
void executor_run(const struct executor_opts *o, const char *command,
                  const struct deploy_spec *spec, struct exec_result *ret);

/* The §13 diagnostics JSON for a result (caller frees), at most 8192 characters.  A
 * success with a note says "Succeeded: <note>" (V-009), else "Succeeded: ". */
char *executor_diag_json(const struct exec_result *r);

#endif
