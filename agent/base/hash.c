/* hash: see hash.h. */
#include "base/hash.h"

#include <openssl/evp.h>

#include "base/fsutil.h"
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

static void digest_chunk(void *arg, const void *data, size_t len)
{
    EVP_DigestUpdate(arg, data, len);
}

static int file_digest_hex(const char *path, const EVP_MD *md, char *out, struct err *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        xoom(0);
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
