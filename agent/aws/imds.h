/*
 * imds: the EC2 instance metadata service client (spec §3.3, R-031..R-037, R-040; v2-delta V-021).
 *
 * IMDSv2 first: a session token from PUT /latest/api/token (TTL header 21600 s) is cached and sent
 * as X-aws-ec2-metadata-token on every GET; a 401 discards it, fetches a new one and retries the
 * GET once; the token is also renewed before its TTL ends.  When the token cannot be had and
 * disable_v1 is false, the GET is repeated without a token (IMDSv1) after the WARN line the spec
 * names (the one log line above debug in this module, required verbatim by R-033); with
 * disable_v1 no token-less request is ever sent.  Every request goes to the base URL from
 * opts.endpoint, else AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254, never
 * through a proxy, with IMDS_TIMEOUT_MS timeouts and IMDS_ATTEMPTS attempts (sleeps 1 s, 2 s) for
 * transport errors and 5xx; other statuses are final.  Bodies are whitespace-stripped.
 *
 * Thread-safe: one struct imds may be shared (a mutex serialises requests).  Strings returned are
 * owned by the caller; role credentials hold secrets and must be released with
 * imds_role_creds_done(), which wipes them.  The token and secrets never appear in err messages.
 */
#ifndef CDAGENT_IMDS_H
#define CDAGENT_IMDS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "net/http.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_ENDPOINT_ENV "AWS_EC2_METADATA_SERVICE_ENDPOINT"
#define IMDS_TOKEN_TTL_S 21600
#define IMDS_TIMEOUT_MS 10000      /* connect and read, R-031 */
#define IMDS_ATTEMPTS 3            /* sleeping 1 s then 2 s, R-031 */
#define IMDS_CRED_TIMEOUT_MS 1000  /* */
#define IMDS_CRED_ATTEMPTS 4       /* 1 + 3 retries, R-040 */
#define IMDS_PROBE_CONNECT_MS 2000 /* */
#define IMDS_MAX_BODY (64 * 1024)

/* Sleep hook (tests make waits instant and record them); ms is the wanted delay. */
typedef void (*imds_sleep_fn)(void *arg, uint64_t ms);

struct imds_opts {
    const char *endpoint; /* borrowed; NULL: IMDS_ENDPOINT_ENV, else IMDS_DEFAULT_ENDPOINT */
    bool disable_v1;      /* :disable_imds_v1: */
    long timeout_ms;      /* 0: IMDS_TIMEOUT_MS */
    int attempts;         /* 0: IMDS_ATTEMPTS */
    long token_ttl_s;     /* 0: IMDS_TOKEN_TTL_S */
    imds_sleep_fn sleep;  /* NULL: stop_wait_ms() on stop (a test seam) */
    void *sleep_arg;
    const struct stop *stop; /* borrowed; may be NULL: retry sleeps and requests end early on
                              * a stop request */
};

struct imds;

struct imds_identity {
    char *region;      /* owned, never NULL after success */
    char *account_id;  /* owned */
    char *instance_id; /* owned */
};

struct imds_role_creds {
    char *role;              /* owned */
    char *access_key_id;     /* owned */
    char *secret_access_key; /* owned, secret */
    char *token;             /* owned, secret; NULL if absent */
    int64_t expiration_ms;   /* wall clock, ms since epoch; 0 when absent */
};

/* ERR_UNSAFE when the endpoint is not an http(s) URL; ERR_HTTP when the client cannot be made. */
struct imds *imds_new(const struct imds_opts *opts, struct err *err);
void imds_free(struct imds *m);
/* Number of HTTP requests sent so far (all kinds), for tests and logs. */
uint64_t imds_request_count(const struct imds *m);

/*
 * GET path (starting with '/') with the token flow; *ret is the stripped body (caller frees).
 * Errors: ERR_NOT_FOUND on 404; ERR_AUTH when disable_v1 and no token
 * ("HTTP error from metadata service to get imdsv2 token."); ERR_TIMEOUT / ERR_HTTP on transport
 * failure after the attempts or another non-200 status (the message names the path and status).
 */
int imds_get(struct imds *m, const char *path, char **ret, struct err *err);

/* Short reachability probe of /latest/meta-data (R-035: ≤ 2 s connect, one attempt each for the
 * token and the GET).  0 when IMDS answered, -1 (ERR_HTTP/ERR_TIMEOUT) otherwise. */
int imds_probe(struct imds *m, struct err *err);

/* /latest/dynamic/instance-identity/document; ERR_PARSE when accountId/region/instanceId miss. */
int imds_identity(struct imds *m, struct imds_identity *ret, struct err *err);
void imds_identity_done(struct imds_identity *id);
/* Parse an identity document (pure; for tests). */
int imds_parse_identity(const char *json, struct imds_identity *ret, struct err *err);

/* /latest/meta-data/services/partition and /services/domain; ERR_PARSE when empty. */
int imds_partition(struct imds *m, char **ret, struct err *err);
int imds_domain(struct imds *m, char **ret, struct err *err);

/* arn:<partition>:ec2:<region>:<account>:instance/<id>.  Never builds an ARN with an
 * empty component: any lookup failure is returned (prefixed "build EC2 host identifier"). */
int imds_host_identifier(struct imds *m, char **ret, struct err *err);
/* Pure: the ARN, or NULL with ERR_PARSE naming the first empty component. */
char *imds_build_arn(const char *partition, const char *region, const char *account,
                     const char *instance_id, struct err *err);

/* The host's identity as the agent uses it. */
struct imds_host {
    char *region;  /* owned */
    char *host_id; /* owned */
    char *domain;  /* owned; from IMDS services/domain on EC2, NULL: derive from the region */
    bool used_imds;
};
void imds_host_done(struct imds_host *h);

/*
 * Resolve region and host identifier in the spec's order: region = onprem_region, else the
 * AWS_REGION environment variable, else the identity document; host identifier =
 * onprem_host_id, else AWS_HOST_IDENTIFIER, else the EC2 instance ARN.  IMDS (m, may be
 * NULL) is asked only for what the first sources leave open, the identity document at most once
 * (V-021), so a registered on-premises host sends no IMDS request at all.  When IMDS
 * gave the host identifier (EC2), the domain is read too; a failed domain read leaves
 * it NULL.  Errors: ERR_CONFIG "no region: ..." / "no host identifier: ..." when a value is
 * missing and m is NULL; the IMDS error (prefixed "resolve region" / "build EC2 host
 * identifier") otherwise.  Outputs are written only on success.
 */
int imds_resolve_host(struct imds *m, const char *onprem_region, const char *onprem_host_id,
                      struct imds_host *ret, struct err *err);

/* role list (first line), then the role document; 1 s timeout, 4 attempts.
 * ERR_AUTH when no role is attached (404 or empty list); ERR_PARSE on a bad document. */
int imds_role_credentials(struct imds *m, struct imds_role_creds *ret, struct err *err);
void imds_role_creds_done(struct imds_role_creds *c);
/* Parse a role document (pure; for tests).  Code must be "Success" when present. */
int imds_parse_role_creds(const char *json, struct imds_role_creds *ret, struct err *err);

/* Parse "2024-01-02T03:04:05Z" (optionally with fractional seconds) into ms since epoch (UTC). */
int imds_parse_iso8601(const char *s, int64_t *ret_ms, struct err *err);

#endif
