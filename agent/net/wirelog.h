/*
 * wirelog: the AWS wire log of spec R-203 (`:log_aws_wire: true`), one file
 * "<log_dir>/<program_name>.aws_wire.log" created with mode 0640 (an existing file is reset to
 * 0640) and rotated by size the way Ruby's Logger does it: before a write that would take the
 * file past max_bytes, <path>.<keep-2> is deleted, <path>.N renamed to <path>.N+1 and the live file
 * to <path>.0 (keep files in all; default 64 MiB x 16).
 *
 * Each request gets a number (wirelog_next_id) and every line reads
 *     2026-12-01T09:01:26.123 #17 > POST / HTTP/1.1
 *     2026-12-01T09:01:26.140 #17 < HTTP/1.1 200 OK
 *     2026-12-01T09:01:26.140 #17 < body: {"HostCommand":null}
 * in local time, '>' for what we sent, '<' for what we received, '*' for a note (transport error).
 * Redaction happens here, on every line: the values of Authorization,
 * Proxy-Authorization, X-Amz-Security-Token, X-Aws-Ec2-Metadata-Token, Cookie and Set-Cookie
 * headers; presigned query parameters (X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token,
 * Signature, AWSAccessKeyId, ...) in request lines and Location headers; JSON string members named
 * GitHubAccessToken or OAuthToken, and the deployment specification's envelope "Payload" in
 * received bodies (it carries the GitHub token inside the signed document); and every secret
 * registered with log_add_secret().  The module never decides what is logged: http.c logs headers
 * of every request of a client that has a wirelog, and bodies only when the request asks
 * (Commands calls; never S3 objects).
 *
 * Thread-safe: one wirelog is shared by every client of the process.  Write and rotation errors
 * are remembered (wirelog_failed) but never fail a request.
 */
#ifndef CDAGENT_WIRELOG_H
#define CDAGENT_WIRELOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define WIRELOG_MAX_BYTES (64ULL * 1024 * 1024)
#define WIRELOG_KEEP 16
#define WIRELOG_MODE 0640

struct wirelog_opts {
    const char *path;   /* borrowed; the live file */
    uint64_t max_bytes; /* 0: WIRELOG_MAX_BYTES */
    unsigned keep;      /* files in all, live one included; 0: WIRELOG_KEEP; at least 2 */
};

enum wirelog_dir {
    WIRELOG_OUT = '>',
    WIRELOG_IN = '<',
    WIRELOG_NOTE = '*',
};

struct wirelog;

/* "<log_dir>/<program>.aws_wire.log" (caller frees). */
char *wirelog_path(const char *log_dir, const char *program);

/* Open (create with mode 0640, or append to) opts->path.  Errors: ERR_USAGE without a path;
 * ERR_SYSTEM when the file cannot be opened or its mode set ("open wire log '<path>': ..."). */
struct wirelog *wirelog_open(const struct wirelog_opts *opts, struct err *err);
void wirelog_free(struct wirelog *w);

/* A fresh request number (1, 2, ...). */
unsigned long wirelog_next_id(struct wirelog *w);

/* Log a header block (request line or status line plus header lines, CRLF or LF separated;
 * empty lines skipped), each line redacted. */
void wirelog_headers(struct wirelog *w, unsigned long id, enum wirelog_dir dir, const char *text,
                     size_t len);
/* Log a body, one "body: " line per text line; control bytes shown as '.'. */
void wirelog_body(struct wirelog *w, unsigned long id, enum wirelog_dir dir, const void *data,
                  size_t len);
/* Log one note line ("* " direction), redacted. */
void wirelog_note(struct wirelog *w, unsigned long id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True once a write or rotation failed (the log may have gaps). */
bool wirelog_failed(const struct wirelog *w);

/* Pure redaction of one header, request or status line (no CR/LF); caller frees. */
char *wirelog_redact_line(const char *line, size_t len);
/* Pure redaction of a body; received (dir WIRELOG_IN) bodies also lose envelope payloads.
 * Caller frees. */
char *wirelog_redact_body(const char *body, size_t len, enum wirelog_dir dir);

#endif
