/* hash: see hash.h. */
#include "base/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/util.h"

void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    hex_encode(md, 32, out);
}

static int file_digest_hex(const char *path, const EVP_MD *md, char *out, struct err *err)
{
    AUTOCLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(err, "read '%s'", path);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        xoom(0);
    EVP_DigestInit_ex(ctx, md, NULL);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            EVP_MD_CTX_free(ctx);
            return err_sys(err, "read '%s'", path);
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(ctx, chunk, (size_t)n);
    }
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_DigestFinal_ex(ctx, dig, &dlen);
    EVP_MD_CTX_free(ctx);
    hex_encode(dig, dlen, out);
    return 0;
}

int file_md5_hex(const char *path, char out[33], struct err *err)
{
    return file_digest_hex(path, EVP_md5(), out, err);
}

int file_sha256_hex(const char *path, char out[65], struct err *err)
{
    return file_digest_hex(path, EVP_sha256(), out, err);
}
