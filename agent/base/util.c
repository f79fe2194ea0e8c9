/* util: see util.h. */
#include "base/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void xoom(size_t n)
{
    fprintf(stderr, "<2>cdagent: out of memory allocating %zu bytes, aborting\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        xoom(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        xoom(nmemb * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        xoom(n);
    return q;
}

char *xstrdup(const char *s)
{
    const char *src = s ? s : "";
    char *p = strdup(src);
    if (!p)
        xoom(strlen(src) + 1);
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        xoom(n);
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    char *p = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        xoom(0);
    return p;
}

void freezero(void *p, size_t n)
{
    if (!p)
        return;
    explicit_bzero(p, n);
    free(p);
}

void secret_free(char *s)
{
    if (s)
        freezero(s, strlen(s));
}

void cleanup_free(void *pp)
{
    free(*(void **)pp);
}

void cleanup_close(const int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

void cleanup_fclose(void *fpp)
{
    FILE *f = *(FILE **)fpp;
    if (f)
        fclose(f);
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret, struct err *err)
{
    if (!s || !*s)
        return err_set(err, ERR_PARSE, "expected a number, got an empty value");
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return err_set(err, ERR_PARSE, "expected a whole number, got '%s'", s);
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || !end || *end)
        return err_set(err, ERR_PARSE, "number '%s' is out of range", s);
    if (v < min || v > max)
        return err_set(err, ERR_PARSE, "number %s is out of range %llu..%llu", s,
                       (unsigned long long)min, (unsigned long long)max);
    *ret = v;
    return 0;
}

int parse_mode(const char *s, mode_t *ret, struct err *err)
{
    if (!s || !*s || strlen(s) > 5)
        return err_set(err, ERR_PARSE, "expected an octal mode such as 644, got '%s'", s ? s : "");
    unsigned v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '7')
            return err_set(err, ERR_PARSE, "expected an octal mode such as 644, got '%s'", s);
        v = v * 8 + (unsigned)(*p - '0');
    }
    if (v > 07777)
        return err_set(err, ERR_PARSE, "mode '%s' is larger than 7777", s);
    *ret = (mode_t)v;
    return 0;
}

bool str_has_prefix(const char *s, const char *prefix)
{
    return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
    if (!s || !suffix)
        return false;
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

uint64_t now_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t now_ms(void)
{
    return now_usec() / 1000u;
}

uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint32_t rand_below(uint32_t n)
{
    uint32_t v = 0;
    if (n == 0)
        return 0;
    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
        v = (uint32_t)now_usec();
    return v % n;
}
