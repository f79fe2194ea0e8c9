/*
 * local: the codedeploy-local front end's pure parts (spec §15): option parsing, the argument
 * validation messages of R-206, the event-order rules of, the local deployment
 * id and the TEXT/JSON deployment specification it builds.  Running the events is the
 * executor's job; printing is main's.  Nothing here touches the network.
 */
#ifndef CDAGENT_LOCAL_H
#define CDAGENT_LOCAL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

#define LOCAL_DEFAULT_GROUP "default-local-deployment-group"
#define LOCAL_DEFAULT_GROUP_NAME "LocalFleet"
#define LOCAL_DEFAULT_CONFIG "/etc/codedeploy-agent/conf/codedeployagent.yml"
#define LOCAL_VERSION "1.0"
#define LOCAL_N_DEFAULT_EVENTS 11

/* The 11 default events in their default run order. */
extern const char *const local_default_events[LOCAL_N_DEFAULT_EVENTS];

enum local_kind { LOCAL_KIND_DIRECTORY, LOCAL_KIND_FILE, LOCAL_KIND_S3, LOCAL_KIND_GITHUB };

struct local_opts {
    char *bundle_location;      /* owned; as given, or the current directory */
    char *type;                 /* owned; tgz, tar, zip or directory */
    char *file_exists_behavior; /* owned; DISALLOW, OVERWRITE or RETAIN */
    char *group_id;             /* owned */
    char *group_name;           /* owned */
    char *application_name;     /* owned; NULL: the bundle location */
    char *events;               /* owned; NULL: the default events */
    char *config_file;          /* owned */
    char *appspec_filename;     /* owned; NULL: appspec.yml with fallbacks */
    bool help;
    bool version;
    bool validate_only; /* "validate" sub-command: check the bundle, run nothing */
    bool restart;       /* --restart: reuse the group's last successful archive */
    char *reuse_from;   /* owned; ReuseArchiveFromDeploymentId of the spec (V-012), set
                         * by the runner for --restart; NULL: none */
    bool json;          /* --json (validate only): the report as JSON on stdout */
};

/* The resolved bundle (after local_validate). */
struct local_bundle {
    enum local_kind kind;
    char *location;   /* owned; absolute path for local kinds, the URL otherwise */
    char *bucket;     /* owned; S3 */
    char *key;        /* owned; S3 */
    char *version;    /* owned; S3 versionId or NULL */
    char *etag;       /* owned; S3 etag or NULL */
    char *account;    /* owned; GitHub owner */
    char *repository; /* owned; GitHub repository */
    char *commit;     /* owned; GitHub commit or "HEAD" */
};

void local_opts_done(struct local_opts *o);
void local_bundle_done(struct local_bundle *b);

/* Parse argv (argv[0] is the program).  ERR_USAGE with a message for an unknown option or a
 * missing value, or --json without "validate".  "validate" as the first non-option argument
 * sets validate_only. */
int local_parse_args(int argc, char **argv, struct local_opts *ret, struct err *err);

/* R-206 checks in the reference order; on failure err->msg is the text printed after "ERROR: ".
 * On success fills *ret (released with local_bundle_done). */
int local_validate(const struct local_opts *o, struct local_bundle *ret, struct err *err);

/* the events to run, from the --events text (NULL = the 11 defaults).  Returns a
 * NULL-terminated array of owned strings (free with local_events_free), count in *ret_n. */
int local_events(const char *events_arg, char ***ret, size_t *ret_n, struct err *err);
void local_events_free(char **events);

/* "d-" + 9 characters of [A-Z0-9] + "-local" into out (18 bytes incl. NUL). */
void local_new_deployment_id(char out[18]);

/* The TEXT/JSON deployment specification document of R-211 for these options.  Caller frees. */
char *local_build_spec(const struct local_opts *o, const struct local_bundle *b,
                       const char *deployment_id, char *const *events, size_t nevents);

struct lint_report;
/*
 * The `validate --json` report (issue 17): {"appspec": path|null, "valid": no errors, "errors":
 * n, "warnings": n, "problems": [{"severity": "error"|"warning", "file", "line", "message",
 * "quote": text|null, "fix": text|null}, ...]}.  Caller frees.
 */
char *local_report_json(const struct lint_report *r, const char *appspec_path);

#endif
