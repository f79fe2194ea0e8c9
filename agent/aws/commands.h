/*
 * commands: the CodeDeploy Commands API client (spec §4, v2-delta §1.1/§1.4).  Each call is an
 * AWS JSON 1.1 POST / with X-Amz-Target "<prefix>.<Operation>" (prefix
 * CodeDeployCommandService_v20141006, or CodeDeployCommandService for the secure variant, R-046),
 * Content-Type application/x-amz-json-1.1, x-amz-codedeploy-agent-version and a SigV4
 * signature over the exact body bytes with signing name codedeploy-commands[-secure].
 * Request members follow the model's order, absent members are omitted; unknown response members
 * are ignored (V-003).
 *
 * Each call retries: up to COMMANDS_MAX_RETRIES retries for transport errors, 5xx,
 * throttling, expired credentials (after asking the credential callback to refresh) and clock
 * skew (after correcting the signing clock from the response Date header, R-051), sleeping
 * 0.3/0.6/1.2 s with full jitter (sleep function injectable).  Throttling is handled apart
 * (V-026): a process-wide gate shared by every client trips on a throttled response (deadline =
 * now + backoff; backoff 1 s, doubled per trip up to 30 s; a trip while a deadline is pending does
 * not escalate), every call waits for the deadline plus 0-25 % jitter of the remaining wait before
 * sending, any success resets it; a throttled call is retried up to COMMANDS_MAX_THROTTLE_RETRIES
 * times, those retries not counting against max_retries.  Errors: a service error becomes
 * ERR_THROTTLED (throttling codes, HTTP 429), ERR_AUTH (authentication/authorisation codes) or
 * ERR_HTTP, with message "<Code>: <message>"; transport errors keep http's codes
 * (ERR_HTTP, ERR_TIMEOUT, ERR_CANCELLED, ...).  commands_last_call() gives the status, time and
 * retries of the latest call for the daemon's R-199 log line; its status is 0 after a network
 * error (log "Network error: <err.msg>", R-065) and the HTTP status with error_code/error_message
 * after a service error (log "Cannot reach InstanceService: <code> - <message>").
 *
 * Deadlines (issue 18 item 2): every call has an overall deadline covering its attempts, retry
 * pauses and throttle-gate waits; each attempt may use only what is left of it, so a response
 * that trickles (every byte resetting the read timeout) still ends.  PollHostCommand: the read
 * timeout (:http_read_timeout:, default 80 s, longer than the service's ~60 s hold) plus
 * COMMANDS_POLL_MARGIN_MS; the other calls: COMMANDS_CALL_DEADLINE_MS.  A call that runs out
 * fails with ERR_TIMEOUT "<Operation>: call deadline of N s exceeded: <what the last attempt
 * hit>" (the http message names the request deadline, the read timeout or the connect timeout).
 *
 * One client per thread.  Its http client borrows warm connections from the process-wide pool
 * (net/http), so short-lived clients (one per command) do not open new connections.  The client
 * does not log above debug and never logs credentials.  It does not know about creds.h: credentials
 * come from a callback.
 */
#ifndef CDAGENT_COMMANDS_H
#define CDAGENT_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "net/http.h"

#define COMMANDS_MAX_RETRIES 3
#define COMMANDS_RETRY_BASE_MS 300
#define COMMANDS_MAX_THROTTLE_RETRIES 5 /* V-026: 6 attempts through throttling */
#define COMMANDS_GATE_BASE_MS 1000      /* V-026: first throttle-gate backoff */
#define COMMANDS_GATE_CAP_MS 30000      /* V-026: largest throttle-gate backoff */
#define COMMANDS_TARGET_PREFIX "CodeDeployCommandService_v20141006"
#define COMMANDS_TARGET_PREFIX_SECURE "CodeDeployCommandService"
#define COMMANDS_SIGNING_NAME "codedeploy-commands"
#define COMMANDS_SIGNING_NAME_SECURE "codedeploy-commands-secure"
#define COMMANDS_CONTENT_TYPE "application/x-amz-json-1.1"
#define COMMANDS_MAX_RESPONSE (4 * 1024 * 1024)
#define COMMANDS_POLL_MARGIN_MS 10000    /* poll deadline: read timeout + this */
#define COMMANDS_CALL_DEADLINE_MS 120000 /* spec, ack, complete, update: whole call */

/* Credentials handed to the client by the callback; every string is owned by the struct. */
struct commands_credentials {
    char *access_key_id;     /* owned */
    char *secret_access_key; /* owned secret */
    char *session_token;     /* owned secret; NULL when none */
};
/* Wipe and free the strings (the struct itself is not freed). */
void commands_credentials_done(struct commands_credentials *c);

/* Fill *ret with current credentials (strings the client then owns).  refresh is true after the
 * service said the credentials expired: the source should be re-read.  Return 0 or -1 with err
 * (ERR_AUTH for "no credentials"). */
typedef int (*commands_creds_fn)(void *arg, bool refresh, struct commands_credentials *ret,
                                 struct err *err);
/* Sleep ms milliseconds (returning early on shutdown is fine). */
typedef void (*commands_sleep_fn)(void *arg, uint64_t ms);
/* Replace the HTTP layer (tests): same contract as http_request(). */
typedef int (*commands_transport_fn)(void *arg, const struct http_request *req,
                                     struct http_response *ret, struct err *err);

struct commands_opts {
    const char *endpoint;        /* borrowed; "https://host[:port]" or override URL */
    const char *region;          /* borrowed; signing region */
    bool secure;                 /* :enable_auth_policy */
    const char *agent_version;   /* borrowed; x-amz-codedeploy-agent-version value */
    const char *user_agent;      /* borrowed; NULL: "cdagent/<version>" */
    const char *proxy_uri;       /* borrowed; NULL: environment */
    long read_timeout_ms;        /* 0: 80000 */
    long deadline_ms;            /* > 0: this deadline for every call instead of the defaults
                                  * in the header comment (tests) */
    int max_retries;             /* < 0: none (not even on throttling); 0: COMMANDS_MAX_RETRIES */
    commands_creds_fn get_creds; /* required */
    void *creds_arg;
    const struct stop *stop; /* borrowed; may be NULL; transfers and retry sleeps end early
                              * on a stop request */
    commands_sleep_fn sleep; /* may be NULL: stop_wait_ms() on stop (a test seam) */
    void *sleep_arg;
    commands_transport_fn transport; /* may be NULL: http_request() on the client's own http */
    void *transport_arg;
    int64_t (*wall_clock)(void);     /* may be NULL: time(NULL); seconds since the epoch */
    uint64_t (*mono_clock_ms)(void); /* may be NULL: now_ms(); the throttle gate's clock */
    struct wirelog *wire;            /* borrowed; NULL: none.  Headers and bodies of every call are
                                      * wire-logged, redacted */
};

struct host_command {
    char *host_command_identifier; /* owned; opaque, echo back byte for byte */
    char *host_identifier;         /* owned; NULL when absent */
    char *deployment_execution_id; /* owned; NULL when absent */
    char *command_name;            /* owned; NULL when absent */
    int64_t nonce;                 /* 0 when absent (ignored, V-003) */
    bool has_nonce;
};
void host_command_free(struct host_command *hc);

enum commands_status {
    COMMANDS_STATUS_NONE = 0, /* absent or empty: proceed (V-005) */
    COMMANDS_STATUS_PENDING,
    COMMANDS_STATUS_IN_PROGRESS,
    COMMANDS_STATUS_SUCCEEDED,
    COMMANDS_STATUS_FAILED,
    COMMANDS_STATUS_OTHER, /* an unknown value: proceed */
};
const char *commands_status_name(enum commands_status s);

/* The GetDeploymentSpecification output. */
struct commands_spec {
    char *deployment_system; /* owned; NULL when absent */
    bool has_specification;  /* DeploymentSpecification present and an object */
    bool has_envelope;       /* GenericEnvelope present and an object */
    char *format;            /* owned; GenericEnvelope.Format, NULL when absent */
    char *payload;           /* owned; GenericEnvelope.Payload, NULL when absent */
    size_t payload_len;
    char *variant_id; /* owned; ignored by the agent */
};
void commands_spec_free(struct commands_spec *s);

/* What the latest call did, for the R-199 log line and R-065 messages. */
struct commands_call_info {
    const char *operation;   /* static; "PollHostCommand", ... */
    long status;             /* HTTP status of the last attempt; 0 for a transport error */
    uint64_t elapsed_ms;     /* whole call including retries */
    int retries;             /* retries performed */
    char error_code[96];     /* AWS error code of the last attempt, "" when none */
    char error_message[320]; /* its message, "" when none */
};

struct commands_client;

/* Errors: ERR_USAGE when endpoint, region or get_creds is missing; http_client_new's errors. */
struct commands_client *commands_client_new(const struct commands_opts *opts, struct err *err);
void commands_client_free(struct commands_client *c);

const struct commands_call_info *commands_last_call(const struct commands_client *c);
/* Seconds added to the local clock when signing; 0 until a skew error was seen.  The
 * setter lets one client's correction be shared with the others (one client per thread). */
int64_t commands_clock_offset(const struct commands_client *c);
void commands_set_clock_offset(struct commands_client *c, int64_t offset_sec);

/* The R-199 line for a call: "[CodeDeployCommand 200 60.140 0 retries] PollHostCommand(<params>)"
 * where params is the caller's redacted parameter text (may be NULL).  Writes at most outsz bytes;
 * returns out. */
char *commands_format_call(const struct commands_call_info *ci, const char *params, char *out,
                           size_t outsz);

/* R-056.  *ret is NULL when the service had nothing ({} or "HostCommand": null).  Errors as in
 * the header comment, ERR_PARSE for a response that is not a JSON object. */
int commands_poll(struct commands_client *c, const char *host_identifier, struct host_command **ret,
                  struct err *err);

/* ack with {"IsCommandNoop":<is_noop>}; *ret_status the returned CommandStatus. */
int commands_ack(struct commands_client *c, const char *host_command_identifier, bool is_noop,
                 enum commands_status *ret_status, struct err *err);

/* the raw specification; the caller opens the envelope with spec.h. */
int commands_get_spec(struct commands_client *c, const char *deployment_execution_id,
                      const char *host_identifier, struct commands_spec **ret, struct err *err);

/* report Succeeded (succeeded true) or Failed with diagnostics payload diag_json (the §13
 * JSON text, sent as Diagnostics {"Format":"JSON","Payload":diag_json}; NULL omits Diagnostics).
 * ERR_LIMIT when diag_json exceeds 8192 characters (R-061; the caller truncates ). */
int commands_complete(struct commands_client *c, const char *host_command_identifier,
                      bool succeeded, const char *diag_json, struct err *err);

/* R-060 (only behind :enable_progress_updates:): estimated_completion_epoch_s <= 0 omits the
 * member; diag_json NULL omits Diagnostics. */
int commands_post_update(struct commands_client *c, const char *host_command_identifier,
                         int64_t estimated_completion_epoch_s, const char *diag_json,
                         enum commands_status *ret_status, struct err *err);

#endif
