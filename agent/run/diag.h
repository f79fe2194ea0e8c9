/*
 * diag: the diagnostics payloads the agent sends to the CodeDeploy Commands service (spec §13,
 * R-190..R-196).  Pure: strings in, a newly allocated compact JSON text out; no I/O.
 *
 * The completion payload is {"error_code":N,"script_name":"...","message":"...","log":"..."}
 * with members in that order and no whitespace.  Strings are made valid UTF-8 first (each
 * maximal invalid byte sequence becomes U+FFFD), then escaped per JSON: '"', '\\' and control
 * characters (\b \f \n \r \t, others \u00XX) only; '/' and non-ASCII are written as they are.
 * The payload never exceeds DIAG_PAYLOAD_MAX characters (counted as UTF-16 code units, which is
 * never fewer than code points): first the log is cut from the front (keeping the newest output),
 * then the message is cut at the end with "..." appended, then (defensively) the script name.
 * The acknowledgement payload is exactly {"IsCommandNoop":true} or {"IsCommandNoop":false}.
 */
#ifndef CDAGENT_DIAG_H
#define CDAGENT_DIAG_H

#include <stdbool.h>
#include <stddef.h>

#define DIAG_PAYLOAD_MAX 8192
#define DIAG_SUCCESS_MESSAGE "Succeeded: "
#define DIAG_NOOP_MESSAGE "Succeeded: CompletedNoopCommand"

/* The PutHostCommandComplete payload.  error_code 0-7; script_name and message may be
 * NULL (empty); log is log_len bytes (may contain NUL or invalid UTF-8; NULL = empty).  max_chars
 * 0 means DIAG_PAYLOAD_MAX.  Never fails; caller frees. */
char *diag_payload(int error_code, const char *script_name, const char *message, const char *log,
                   size_t log_len, size_t max_chars);

/* {"error_code":0,"script_name":"","message":"Succeeded: ","log":""}. Caller frees. */
char *diag_success_payload(void);

/* {"IsCommandNoop":true} / {"IsCommandNoop":false}.  Caller frees. */
char *diag_ack_payload(bool noop);

/* Replace invalid UTF-8 in s[0..len) by U+FFFD; result NUL-terminated, *ret_len set (NULL ok).
 * Caller frees. */
char *diag_utf8_sanitize(const char *s, size_t len, size_t *ret_len);

/* JSON string literal (with quotes) for valid UTF-8 s[0..len).  Caller frees. */
char *diag_json_string(const char *s, size_t len);

/* Length of a UTF-8 string in UTF-16 code units (the service's notion of characters). */
size_t diag_char_count(const char *s, size_t len);

#endif
