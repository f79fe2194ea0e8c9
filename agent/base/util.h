/*
 * util: allocation that aborts on exhaustion, scoped cleanup, number parsing, small string
 * predicates, monotonic time and random numbers.  Buffers live in base/buf, paths in base/path,
 * files in base/fsutil, digests in base/hash, user and group lookup in base/nss.  Nothing here logs
 * above debug; failures come back through struct err.  Out-of-memory is not an error condition:
 * x*alloc() print and abort(), because under systemd a restart is safer than an untested recovery
 * branch.
 */
#ifndef CDAGENT_UTIL_H
#define CDAGENT_UTIL_H

#include <stdarg.h>
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
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Report an allocation of n bytes that failed and abort(). */
void xoom(size_t n) __attribute__((noreturn));

/* Free a NULL-terminated array of owned strings and the array.  Accepts NULL. */
void strv_free(char **v);
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

/* ---- numbers ---- */
/* Parse a whole string as an unsigned decimal in [min, max].  ERR_PARSE on junk or range. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret, struct err *err);
/* Parse an octal permission mode ("644", "0755", "4755"); ERR_PARSE unless all digits 0-7, <=
 * 07777. */
int parse_mode(const char *s, mode_t *ret, struct err *err);

/* ---- strings ---- */
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
bool str_eq(const char *a, const char *b); /* NULL-safe */

/* ---- time ---- */
uint64_t now_usec(void); /* CLOCK_MONOTONIC */
uint64_t now_ms(void);   /* CLOCK_MONOTONIC */
uint64_t wall_ms(void);  /* CLOCK_REALTIME, ms since epoch */
/* Random integer in [0, n) from the kernel's generator (for jitter and ids). */
uint32_t rand_below(uint32_t n);

#endif
