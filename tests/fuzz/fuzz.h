/*
 * Shared checks of the libFuzzer targets (tests/fuzz/README.md).  A target calls
 * fuzz_check_result() after every parser call: a failure must carry an error code and a
 * non-empty, terminated human message; a success must leave the error clear.  Anything else
 * aborts, which libFuzzer reports as a crash with the input that caused it.
 */
#ifndef CDAGENT_FUZZ_H
#define CDAGENT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_check_result(const char *what, int rc, const struct err *err)
{
    if (rc < 0) {
        if (err->code == ERR_NONE || err->msg[0] == '\0' ||
            memchr(err->msg, '\0', sizeof err->msg) == NULL) {
            fprintf(stderr, "%s failed (rc %d) without an error code or message\n", what, rc);
            abort();
        }
    } else if (rc != 0 || err->code != ERR_NONE) {
        fprintf(stderr, "%s returned %d with error %d '%.*s'\n", what, rc, err->code,
                (int)sizeof err->msg, err->msg);
        abort();
    }
}

#endif
