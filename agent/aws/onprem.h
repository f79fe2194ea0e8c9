/*
 * onprem: the on-premises registration file (spec section 3.1, R-025..R-028), by default
 * /etc/codedeploy-agent/conf/codedeploy.onpremises.yml (config.on_premises_config_file).
 * onprem_parse() is pure; onprem_load() reads the file.  The YAML is read by config.c's reader
 * (config.c owns libyaml), with the same typing and error quality as the agent config: keys are
 * plain or with one leading ':' (R-026, V-069), a repeated key takes its last value, unknown keys
 * become warnings.
 *
 * Secrets: aws_secret_access_key (and, to be safe, aws_access_key_id) are kept in buffers wiped
 * by onprem_done(); the file's bytes and the YAML parser's buffers are wiped as well.  No message
 * produced here ever contains those values.  Nothing here exports anything to the environment
 * the caller keeps these values in memory.
 *
 * Not done here: reading the session credentials file named by aws_credentials_file (creds does
 * that, R-039), region precedence, host identifier precedence.
 */
#ifndef CDAGENT_ONPREM_H
#define CDAGENT_ONPREM_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

#define ONPREM_DEFAULT_PATH "/etc/codedeploy-agent/conf/codedeploy.onpremises.yml"
#define ONPREM_MAX_FILE_BYTES (64 * 1024)

enum onprem_kind {
    ONPREM_NONE = 0,    /* neither iam_user_arn nor iam_session_arn: the file contributes only
                         * what it has (region, maybe) and the host needs IMDS */
    ONPREM_IAM_USER,    /* iam_user_arn + static key pair */
    ONPREM_IAM_SESSION, /* iam_session_arn + credentials file */
};

/* Every pointer is owned, NULL when the key is absent, null or empty. */
struct onprem {
    enum onprem_kind kind;
    char *path;                  /* the file this came from */
    char *region;                /* region: the signing/endpoint region (R-029, R-030) */
    char *iam_user_arn;          /* host identifier for ONPREM_IAM_USER */
    char *iam_session_arn;       /* host identifier for ONPREM_IAM_SESSION */
    char *aws_access_key_id;     /* secret-ish; wiped on free */
    char *aws_secret_access_key; /* secret; wiped on free; never in messages */
    char *aws_credentials_file;  /* INI file with session credentials */
    char **warnings;             /* NULL-terminated; NULL when none */
    size_t nwarnings;
};

/* Zero o (kind ONPREM_NONE). */
void onprem_init(struct onprem *o);

/* Wipe and free everything o owns; accepts NULL and a zeroed struct; safe to call twice. */
void onprem_done(struct onprem *o);

/*
 * Parse len bytes of YAML; filename is used only in messages.  On failure *ret is untouched.
 * Errors (ERR_CONFIG):
 *   - YAML syntax error, binary garbage, top level not a mapping:
 *     "The deployment failed because the format of the following on-premises configuration file
 *     is invalid: <filename> (line N column M: <why>)";
 *   - a value that is not a single text value: "<filename> line N: key 'region' expects a text
 *     value, got a list" (secret values are never quoted);
 *   - R-027 (exact texts): "On Premises config cannot contain both 'iam_user_arn' and
 *     'iam_session_arn' keys.", "'<field>' key is required when 'iam_user_arn' is provided."
 *     (region, aws_access_key_id, aws_secret_access_key, in that order), "'<field>' key is
 *     required when 'iam_session_arn' is provided." (region, aws_credentials_file).
 * ERR_LIMIT when len > ONPREM_MAX_FILE_BYTES.
 */
int onprem_parse(const char *text, size_t len, const char *filename, struct onprem *ret,
                 struct err *err);

/*
 * Read and parse path.  A missing or unreadable file is ERR_NOT_FOUND ("on-premises config file
 * '<path>' does not exist or is not readable (<reason>)", sys_errno set): the host is then an EC2
 * instance (R-025, C-251).  Other errors as onprem_parse().
 */
int onprem_load(const char *path, struct onprem *ret, struct err *err);

/* The host identifier the file gives (iam_user_arn or iam_session_arn), or NULL. */
const char *onprem_host_identifier(const struct onprem *o);

#endif
