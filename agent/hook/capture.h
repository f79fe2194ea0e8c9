/*
 * capture: run a helper command and capture its standard output (hookenv's login-profile capture,
 * Like the hooks it runs with stdin /dev/null, no inherited descriptors, default signal
 * dispositions, an empty signal mask and cwd "/", in its own session so that a timeout kills its
 * whole process group.  No user change and no supervisor: use hook_run() for scripts.
 */
#ifndef CDAGENT_CAPTURE_H
#define CDAGENT_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Run argv (argv[0] an absolute path) with envp, capturing stdout (at most max bytes) within
 * timeout_ms; stderr is discarded.  *ret is NUL-terminated after *ret_len bytes (ret_len may be
 * NULL); the caller frees it.  Errors: ERR_SYSTEM (pipe, fork), ERR_TIMEOUT (process group
 * killed), ERR_LIMIT (more than max bytes; killed), ERR_UNKNOWN (non-zero exit). */
int capture_run(char *const *argv, char *const *envp, size_t max, uint64_t timeout_ms, char **ret,
                size_t *ret_len, struct err *err);

#endif
