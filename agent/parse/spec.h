/*
 * spec: the deployment specification (spec §6, v2-delta §1.2).  Two pure steps, bytes in and
 * structs out, no I/O and no logging: spec_open_envelope() verifies a GenericEnvelope and returns
 * the JSON document inside it, spec_parse() validates that document into a struct deploy_spec.
 *
 * PKCS7/JSON payloads (PEM armour, raw DER or bare base64 of DER, R-080) must be a PKCS#7
 * SignedData with embedded content, at least one signer and every signer's certificate embedded;
 * the content digest and every signature are verified with those embedded certificates, and the
 * certificate chain is deliberately NOT validated (OpenSSL NOVERIFY semantics, R-081, V-015).
 * TEXT/JSON (and plain JSON, V-015) are accepted only when the caller allows them
 * (codedeploy-local). The envelope does not decide anything about trust beyond that; it never
 * returns content whose signature failed.
 *
 * spec_parse() applies the checks of R-083..R-087 in Ruby's order with Ruby's messages, reduces
 * ARN deployment ids (R-084, V-012), and rejects ids and the AppSpec file name that would be
 * unsafe as paths (V-014).  Unknown members are ignored.  The returned struct owns all its
 * strings; spec_free() wipes the GitHub token.
 */
#ifndef CDAGENT_SPEC_H
#define CDAGENT_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* Largest envelope payload or JSON document accepted (the model caps payloads at 8192 chars;
 * we allow more so a larger signer chain still parses). */
#define SPEC_MAX_PAYLOAD (1024 * 1024)

enum spec_revision_type {
    SPEC_REV_S3 = 0,
    SPEC_REV_GITHUB,
    SPEC_REV_LOCAL_FILE,      /* "Local File" (codedeploy-local only) */
    SPEC_REV_LOCAL_DIRECTORY, /* "Local Directory" (codedeploy-local only) */
};

enum spec_bundle_type {
    SPEC_BUNDLE_TAR = 0,
    SPEC_BUNDLE_TGZ,
    SPEC_BUNDLE_ZIP,
    SPEC_BUNDLE_DIRECTORY, /* Local Directory only */
};

enum spec_deployment_type {
    SPEC_DEPLOY_IN_PLACE = 0, /* also any unknown DeploymentType (V-013) */
    SPEC_DEPLOY_BLUE_GREEN,
};

struct spec_revision {
    enum spec_revision_type type;
    char *type_name; /* owned; "S3", "GitHub", "Local File", "Local Directory" */
    enum spec_bundle_type bundle_type;
    char *bundle_type_name; /* owned; as sent ("zip", ...; "tar" when GitHub omitted it) */
    /* S3 */
    char *bucket;  /* owned */
    char *key;     /* owned */
    char *version; /* owned; NULL when absent */
    char *etag;    /* owned; NULL when absent */
    /* GitHub */
    char *account;    /* owned */
    char *repository; /* owned */
    char *commit_id;  /* owned */
    /* Local File / Local Directory */
    char *location; /* owned */
};

struct deploy_spec {
    char *deployment_id;         /* owned; short id ("d-ABCDEF123"), ARN reduced */
    char *deployment_id_raw;     /* owned; exactly as sent */
    char *deployment_group_id;   /* owned */
    char *deployment_group_name; /* owned */
    char *application_name;      /* owned */
    char *application_id;        /* owned; codedeploy-local documents only, else NULL */
    char *deployment_creator;    /* owned; default "user" */
    char *deployment_type_name;  /* owned; default "IN_PLACE" */
    enum spec_deployment_type deployment_type;
    char *appspec_filename;        /* owned; default "appspec.yml", safe relative path (V-014) */
    char *file_exists_behavior;    /* owned; upper-cased, default "DISALLOW" */
    bool has_all_lifecycle_events; /* AllPossibleLifecycleEvents present (R-144 check wanted) */
    char **all_lifecycle_events;   /* owned array of owned strings */
    size_t n_all_lifecycle_events;
    char *github_access_token; /* owned secret; NULL when absent/null (anonymous GitHub) */
    char *reuse_archive_from;  /* owned; ReuseArchiveFromDeploymentId reduced (V-012), or NULL */
    struct spec_revision revision;
};

struct spec_parse_opts {
    bool allow_local_revisions; /* codedeploy-local: accept Local File / Local Directory */
};

/*
 * Open an envelope (R-080, R-081, V-015).  format/payload may be NULL (missing members).
 * allow_text: accept TEXT/JSON and JSON (codedeploy-local / developer mode only).
 * On success *ret_json is the NUL-terminated document (caller frees), *ret_len its length, and
 * *ret_signer (if ret_signer is non-NULL) the first signer's subject for DEBUG logs, or NULL for
 * TEXT/JSON (caller frees).
 * Errors: ERR_PARSE "Provided deployment spec was nil" (NULL/empty payload);
 * ERR_UNSUPPORTED "Unsupported DeploymentSpecification format: <format>" (also TEXT/JSON when not
 * allowed); ERR_SIGNATURE "Validation of PKCS7 signed message failed" (not a SignedData, no
 * signer, signer certificate missing, digest or signature mismatch, no embedded content);
 * ERR_LIMIT payload larger than SPEC_MAX_PAYLOAD.
 */
int spec_open_envelope(const char *format, const char *payload, size_t payload_len, bool allow_text,
                       char **ret_json, size_t *ret_len, char **ret_signer, struct err *err);

/*
 * Parse and validate a specification document (R-082..R-087, V-012..V-014).  opts may be NULL.
 * Errors: ERR_PARSE with the exact Ruby messages of R-083/R-086 ("Deployment Spec has no
 * DeploymentId", "Must specify a revison", ...) or "Deployment specification is not valid JSON:
 * <reason>"; ERR_UNSAFE "<field> is not a valid path component: '<value>'" or "AppSpecFilename is
 * not a safe revision-relative path: '<value>'"; ERR_UNSUPPORTED for a local revision type when
 * opts->allow_local_revisions is false.
 */
int spec_parse(const char *json, size_t len, const struct spec_parse_opts *opts,
               struct deploy_spec **ret, struct err *err);

/* Both steps at once; the opened JSON is not returned. */
int spec_load(const char *format, const char *payload, size_t payload_len, bool allow_text,
              const struct spec_parse_opts *opts, struct deploy_spec **ret, struct err *err);

/* Free (NULL allowed); the GitHub token is wiped. */
void spec_free(struct deploy_spec *s);

/* "arn:aws:codedeploy:r:a:deployment/d-X" -> "d-X"; any other value is copied.  NULL when an
 * ARN has no sixth field or no '/' in it.  Caller frees. */
char *spec_deployment_id_from_arn(const char *id);

/* V-014: true when s is one safe path component (non-empty, not "." or "..", no '/', '\\' or
 * control characters, at most 255 bytes). */
bool spec_path_component_ok(const char *s);

/* V-014: true when s is a non-empty relative path with no ".." component, no leading '/', no
 * '\\' and no control characters ("configs/appspec.yml" is fine). */
bool spec_relpath_ok(const char *s);

/* the document re-serialised compactly with GitHubAccessToken (and any OAuthToken)
 * replaced by "REDACTED", for DEBUG logs; NULL if json does not parse.  Caller frees. */
char *spec_redact_json(const char *json, size_t len);

/* True for DeploymentCreator "codeDeployRollback" with DeploymentType BLUE_GREEN. */
bool spec_is_blue_green_rollback(const struct deploy_spec *s);

#endif
