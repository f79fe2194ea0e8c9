/*
 * buf: a growable byte buffer with a maximum set at init.  Appends past the maximum fail with
 * ERR_LIMIT instead of growing (every buffer fed from outside is bounded); allocation failure
 * aborts (util's xrealloc).  The data is always NUL-terminated once anything was appended.
 */
#ifndef CDAGENT_BUF_H
#define CDAGENT_BUF_H

#include <stddef.h>

#include "base/err.h"

struct buf {
    char *data; /* owned; always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t max;
};

void buf_init(struct buf *b, size_t max);
void buf_done(struct buf *b);
/* Empty the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Append n bytes; ERR_LIMIT "data exceeds the limit of <max> bytes" when len would pass max. */
int buf_append(struct buf *b, const void *p, size_t n, struct err *err);
int buf_appendf(struct buf *b, struct err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Give the data away (caller frees; "" when empty); b is left empty. */
char *buf_steal(struct buf *b);

#endif
