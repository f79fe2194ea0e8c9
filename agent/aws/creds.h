/*
 * creds: where the agent's AWS credentials come from, and keeping them fresh (spec §3.5,
 * R-038..R-041; v2-delta V-022).
 *
 * Sources, first configured wins: (1) on-premises iam_session_arn -> the INI credentials
 * file, re-read when its mtime changes, when CREDS_SESSION_REREAD_MS have passed since the last
 * read (nominal 30-minute life, re-read 5 minutes before it ends) and after creds_invalidate();
 * (2) on-premises iam_user_arn -> the static key pair; (3) IMDS role credentials, refreshed when
 * fewer than CREDS_IMDS_SOFT_MS remain (a failure is tolerated) and required when fewer than
 * CREDS_IMDS_HARD_MS remain; a failed refresh keeps unexpired credentials.  A host with a
 * complete on-premises registration never touches IMDS.  AWS_ACCESS_KEY_ID and friends in
 * the environment are never read.
 *
 * The on-premises values come in as plain strings (parsed by the onprem module); this module
 * never logs above debug.  Thread-safe: creds_get() may be called from any thread and returns a
 * private copy.  Every secret is held in wiped memory and registered with log_add_secret().
 */
#ifndef CDAGENT_CREDS_H
#define CDAGENT_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct imds;
struct imds_role_creds;

#define CREDS_SESSION_REREAD_MS (25 * 60 * 1000) /* ≤ 30 min, R-039; V-022 */
#define CREDS_SESSION_LIFE_MS (30 * 60 * 1000)
#define CREDS_IMDS_SOFT_MS (15 * 60 * 1000) /* R-040 SHOULD */
#define CREDS_IMDS_HARD_MS (5 * 60 * 1000)  /* */
#define CREDS_IMDS_MIN_RETRY_MS (30 * 1000) /* do not hammer IMDS after a failed refresh */
#define CREDS_MAX_FILE (64 * 1024)
#define CREDS_MISSING_MSG                                                                          \
    "Missing credentials - please check if this instance was started with an IAM instance profile"

/* A private copy of one set of credentials; release with creds_done() (wipes). */
struct creds {
    char *access_key_id;     /* owned */
    char *secret_access_key; /* owned, secret */
    char *session_token;     /* owned, secret; NULL when none */
    int64_t expiration_ms;   /* wall ms since epoch; 0 = does not expire */
};
void creds_done(struct creds *c);

enum creds_source {
    CREDS_SOURCE_NONE = 0,
    CREDS_SOURCE_SESSION_FILE, /* iam_session_arn + aws_credentials_file */
    CREDS_SOURCE_STATIC,       /* iam_user_arn + key pair */
    CREDS_SOURCE_IMDS,         /* instance profile */
};
const char *creds_source_name(enum creds_source s);

/* Wall clock in ms since epoch (tests inject one). */
typedef int64_t (*creds_clock_fn)(void *arg);
/* The IMDS fetch (tests inject one); default imds_role_credentials(opts.imds). */
typedef int (*creds_imds_fetch_fn)(void *arg, struct imds_role_creds *ret, struct err *err);

struct creds_opts {
    /* On-premises values as parsed from the registration file (borrowed; NULL/empty = absent). */
    const char *iam_session_arn;
    const char *credentials_file;
    const char *iam_user_arn;
    const char *access_key_id;
    const char *secret_access_key;
    struct imds *imds;    /* borrowed; NULL: no instance-profile source */
    creds_clock_fn clock; /* NULL: wall_ms() */
    void *clock_arg;
    creds_imds_fetch_fn imds_fetch; /* NULL: imds_role_credentials(imds) */
    void *imds_fetch_arg;
};

/*
 * Pick the source from opts (strings are copied).  ERR_CONFIG when iam_session_arn is set without
 * credentials_file or iam_user_arn without both keys; ERR_AUTH (CREDS_MISSING_MSG) when no source
 * at all is configured.  Nothing is fetched yet.
 */
struct creds_provider *creds_provider_new(const struct creds_opts *opts, struct err *err);
void creds_provider_free(struct creds_provider *p);
enum creds_source creds_provider_source(const struct creds_provider *p);

/*
 * Current credentials, fetching or refreshing as the rules above say; *ret is a private copy.
 * Errors: ERR_AUTH "Failed to load credentials from path <path>: <why>" for a missing/unreadable
 * file or missing [default] keys; ERR_AUTH CREDS_MISSING_MSG (with the IMDS reason) when IMDS has
 * none and nothing unexpired is cached.
 */
int creds_get(struct creds_provider *p, struct creds *ret, struct err *err);

/* Forget cached credentials after the service rejected them (expired token, auth error): the next
 * creds_get() re-reads the file or IMDS. */
void creds_invalidate(struct creds_provider *p);

/* Parse the [default] profile of an INI credentials file (pure; R-039): keys aws_access_key_id,
 * aws_secret_access_key, optional aws_session_token; spaces around '=', comments (# ;) and a
 * leading "---" line are tolerated.  ERR_PARSE naming the missing profile or key. */
int creds_parse_ini(const char *text, size_t len, struct creds *ret, struct err *err);

#endif
