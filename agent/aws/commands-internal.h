/*
 * commands-internal: the pure stages of the Commands client (aws/commandsmsg.c), shared with
 * the transport half (aws/commands.c) and the unit tests.
 * Request bodies are built with cJSON in the model's member order and printed compactly.
 */
#ifndef CDAGENT_COMMANDS_INTERNAL_H
#define CDAGENT_COMMANDS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/commands.h"

/* Request bodies (caller frees). */
char *commands_body_poll(const char *host_identifier);
char *commands_body_get_spec(const char *deployment_execution_id, const char *host_identifier);
char *commands_body_ack(const char *host_command_identifier, bool is_noop);
char *commands_body_complete(const char *host_command_identifier, bool succeeded,
                             const char *diag_json);
char *commands_body_post_update(const char *host_command_identifier,
                                int64_t estimated_completion_epoch_s, const char *diag_json);

/* error code and message of a non-2xx response; code "HTTP<status>" when neither the
 * body's __type nor x-amzn-ErrorType names one.  Writes at most code_sz / msg_sz bytes. */
void commands_parse_error(long status, const struct http_headers *headers, const char *body,
                          size_t body_len, char *code, size_t code_sz, char *msg, size_t msg_sz);

enum commands_error_class {
    COMMANDS_ERROR_FATAL = 0, /* other 4xx: not retried */
    COMMANDS_ERROR_RETRY,     /* 5xx, transport */
    COMMANDS_ERROR_THROTTLE,  /* throttling codes, 429: retried */
    COMMANDS_ERROR_EXPIRED,   /* expired credentials: refresh, retry */
    COMMANDS_ERROR_SKEW,      /* clock skew: correct, retry */
};
/* classification of a service error. */
enum commands_error_class commands_classify(long status, const char *code, const char *message);
/* True for authentication/authorisation codes: the error becomes ERR_AUTH. */
bool commands_is_auth_code(const char *code);
bool commands_is_throttle_code(const char *code);

/* Parse the three response shapes (body is the raw response JSON). */
int commands_parse_poll(const char *body, size_t len, struct host_command **ret, struct err *err);
int commands_parse_status(const char *body, size_t len, enum commands_status *ret, struct err *err);
int commands_parse_spec(const char *body, size_t len, struct commands_spec **ret, struct err *err);
/* A reply whose shape is empty must still be a JSON object (ERR_PARSE naming op otherwise). */
int commands_parse_empty(const char *op, const char *body, size_t len, struct err *err);
/* ERR_LIMIT when the diagnostics payload passes the service's 8192-character cap. */
int commands_check_diag(const char *op, const char *diag_json, struct err *err);

/* V-026 throttle gate, process-wide: back to open with the 1 s backoff (tests). */
void commands_gate_reset(void);
/* Its state: the monotonic deadline (0: open) and the backoff the next trip will use. */
void commands_gate_state(uint64_t *ret_deadline_ms, uint64_t *ret_next_backoff_ms);

#endif
