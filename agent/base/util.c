/* util: see util.h. */
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

static void oom(size_t n)
{
    fprintf(stderr, "<2>cdagent: out of memory allocating %zu bytes, aborting\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    const char *src = s ? s : "";
    char *p = strdup(src);
    if (!p)
        oom(strlen(src) + 1);
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        oom(n);
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
        oom(0);
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

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_done(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int buf_append(struct buf *b, const void *p, size_t n, struct err *err)
{
    if (n > b->max || b->len > b->max - n)
        return err_set(err, ERR_LIMIT, "data exceeds the limit of %zu bytes", b->max);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_appendf(struct buf *b, struct err *err, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom(0);
    int r = buf_append(b, s, (size_t)n, err);
    free(s);
    return r;
}

char *buf_steal(struct buf *b)
{
    char *p = b->data ? b->data : xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
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

void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

char *path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/')
        la--;
    while (*b == '/')
        b++;
    if (!*b)
        return xstrndup(a, la);
    if (la == 1 && a[0] == '/')
        return xasprintf("/%s", b);
    return xasprintf("%.*s/%s", (int)la, a, b);
}

bool path_is_beneath(const char *rel)
{
    if (!rel || rel[0] == '/')
        return false;
    int depth = 0;
    const char *p = rel;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (--depth < 0)
                return false;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            depth++;
        }
        if (!e)
            break;
        p = e + 1;
    }
    return true;
}

int mkdir_p(const char *path, mode_t mode, struct err *err)
{
    AUTOFREE char *p = xstrdup(path);
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return err_sys(err, "create directory '%s'", p);
        p[i] = c;
    }
    /* p is AUTOFREE; clang-analyzer ignores the cleanup attribute (LLVM bug 3888). */
    struct stat st; /* NOLINT(clang-analyzer-unix.Malloc): not a leak, see above */
    if (stat(path, &st) < 0)
        return err_sys(err, "create directory '%s'", path);
    if (!S_ISDIR(st.st_mode))
        return err_set(err, ERR_SYSTEM, "create directory '%s': a file is in the way", path);
    return 0;
}

static int rm_rf_at(int at, const char *name, const char *shown, struct err *err)
{
    struct stat st;
    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : err_sys(err, "remove '%s'", shown);
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(at, name, 0) < 0 && errno != ENOENT)
            return err_sys(err, "remove '%s'", shown);
        return 0;
    }
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return err_sys(err, "remove '%s'", shown);
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return err_sys(err, "remove '%s'", shown);
    }
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        r = rm_rf_at(dirfd(d), de->d_name, shown, err);
    }
    closedir(d);
    if (r == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return err_sys(err, "remove '%s'", shown);
    return r;
}

int rm_rf(const char *path, struct err *err)
{
    return rm_rf_at(AT_FDCWD, path, path, err);
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct err *err)
{
    AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return err_set(err, ERR_NOT_FOUND, "read '%s': no such file", path);
        return err_sys(err, "read '%s'", path);
    }
    struct buf b;
    buf_init(&b, max);
    char chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            buf_done(&b);
            return err_sys(err, "read '%s'", path);
        }
        if (n == 0)
            break;
        if (buf_append(&b, chunk, (size_t)n, NULL) < 0) {
            buf_done(&b);
            return err_set(err, ERR_LIMIT, "read '%s': file is larger than %zu bytes", path, max);
        }
    }
    size_t len = b.len;
    *ret = buf_steal(&b);
    if (ret_len)
        *ret_len = len;
    return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *err)
{
    AUTOFREE char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return err_sys(err, "write '%s'", path);
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err_sys(err, "write '%s'", path);
            close(fd);
            unlink(tmp);
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
        err_sys(err, "write '%s'", path);
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) < 0) {
        err_sys(err, "write '%s'", path);
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) < 0) {
        err_sys(err, "rename '%s' into place", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

bool file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

bool dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
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

void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    hex_encode(md, 32, out);
}

int file_read_chunks(const char *path, file_chunk_fn fn, void *arg, struct err *err)
{
    AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(err, "read '%s'", path);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_sys(err, "read '%s'", path);
        if (n == 0)
            return 0;
        fn(arg, chunk, (size_t)n);
    }
}

static void digest_chunk(void *arg, const void *data, size_t len)
{
    EVP_DigestUpdate(arg, data, len);
}

static int file_digest_hex(const char *path, const EVP_MD *md, char *out, struct err *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        oom(0);
    EVP_DigestInit_ex(ctx, md, NULL);
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    int r = file_read_chunks(path, digest_chunk, ctx, err);
    EVP_DigestFinal_ex(ctx, dig, &dlen);
    EVP_MD_CTX_free(ctx);
    if (r == 0)
        hex_encode(dig, dlen, out);
    return r;
}

int file_md5_hex(const char *path, char out[33], struct err *err)
{
    return file_digest_hex(path, EVP_md5(), out, err);
}

int file_sha256_hex(const char *path, char out[65], struct err *err)
{
    return file_digest_hex(path, EVP_sha256(), out, err);
}
