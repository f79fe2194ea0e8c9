/*
 * util: allocation that aborts on exhaustion, bounded buffers, number and path parsing, files,
 * monotonic time, hashing and scoped cleanup.  Nothing here logs above debug; failures come back
 * through struct err.  Out-of-memory is not an error condition: x*alloc() print and abort(),
 * because under systemd a restart is safer than an untested recovery branch.
 */
#ifndef CDAGENT_UTIL_H
#define CDAGENT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* ---- allocation ---- */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Wipe n bytes of p with explicit_bzero, then free it.  For secrets.  Accepts NULL. */
void freezero(void *p, size_t n);
/* Wipe and free a NUL-terminated secret string.  Accepts NULL. */
void secret_free(char *s);

/* ---- scoped cleanup (gcc/clang cleanup attribute) ---- */
void cleanup_free(void *pp);
void cleanup_close(const int *fd);
void cleanup_fclose(void *fpp);
#define AUTOFREE __attribute__((cleanup(cleanup_free)))
#define AUTOCLOSE __attribute__((cleanup(cleanup_close)))
#define AUTOFCLOSE __attribute__((cleanup(cleanup_fclose)))
/* Hand ownership out of an AUTO* variable. */
#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) take_ptr_tmp_ = (p);                                                         \
        (p) = NULL;                                                                                \
        take_ptr_tmp_;                                                                             \
    })
#define TAKE_FD(fd)                                                                                \
    ({                                                                                             \
        int take_fd_tmp_ = (fd);                                                                   \
        (fd) = -1;                                                                                 \
        take_fd_tmp_;                                                                              \
    })

/* ---- bounded buffer: grows up to max bytes; beyond that appends fail with ERR_LIMIT ---- */
struct buf {
    char *data;  /* owned; always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t max;
};
void buf_init(struct buf *b, size_t max);
void buf_done(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *p, size_t n, struct err *err);
int buf_appendf(struct buf *b, struct err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Give the data away (caller frees); b is left empty. */
char *buf_steal(struct buf *b);

/* ---- numbers ---- */
/* Parse a whole string as an unsigned decimal in [min, max].  ERR_PARSE on junk or range. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret, struct err *err);
/* Parse an octal permission mode ("644", "0755", "4755"); ERR_PARSE unless all digits 0-7, <= 07777. */
int parse_mode(const char *s, mode_t *ret, struct err *err);

/* ---- strings ---- */
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
bool str_eq(const char *a, const char *b);  /* NULL-safe */
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);

/* ---- paths and files ---- */
/* "a" + "/" + "b" with exactly one slash between; caller frees. */
char *path_join(const char *a, const char *b);
/* True if a relative path stays beneath its base lexically (no absolute, no ".." escaping). */
bool path_is_beneath(const char *rel);
/* mkdir -p with mode for created directories. */
int mkdir_p(const char *path, mode_t mode, struct err *err);
/* rm -rf that never follows symlinks; missing path is success. */
int rm_rf(const char *path, struct err *err);
/* Read a whole file, at most max bytes (ERR_LIMIT beyond); NUL-terminated; caller frees. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct err *err);
/* Write data to path atomically (temp file in the same dir, fsync, rename) with mode. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *err);
bool file_exists(const char *path);
bool dir_exists(const char *path);

/* ---- time ---- */
uint64_t now_usec(void);   /* CLOCK_MONOTONIC */
uint64_t now_ms(void);     /* CLOCK_MONOTONIC */
uint64_t wall_ms(void);    /* CLOCK_REALTIME, ms since epoch */
/* Random integer in [0, n) from the kernel's generator (for jitter and ids). */
uint32_t rand_below(uint32_t n);

/* ---- hashing (OpenSSL) ---- */
/* SHA-256 of data as lower-case hex into out[65]. */
void sha256_hex(const void *data, size_t len, char out[65]);
/* MD5 / SHA-256 of a file's content as lower-case hex (out: 33 or 65 bytes). */
int file_md5_hex(const char *path, char out[33], struct err *err);
int file_sha256_hex(const char *path, char out[65], struct err *err);
/* Feed the content of path to fn in chunks; ERR_SYSTEM when it cannot be opened or read. */
typedef void (*file_chunk_fn)(void *arg, const void *data, size_t len);
int file_read_chunks(const char *path, file_chunk_fn fn, void *arg, struct err *err);

#endif
