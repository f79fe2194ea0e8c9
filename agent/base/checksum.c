/* checksum: see checksum.h. */
#include "base/checksum.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/util.h"
#include "base/fsutil.h"

#define CHECKSUM_MAX_BYTES 32 /* SHA-256 */

static const struct {
    const char *name;
    const char *header;
    uint64_t poly; /* reflected polynomial; 0 for the OpenSSL digests */
    size_t bytes;
} algs[CHECKSUM_ALG_COUNT] = {
    [CHECKSUM_CRC32] = {"CRC32", "x-amz-checksum-crc32", 0xEDB88320u, 4},
    [CHECKSUM_CRC32C] = {"CRC32C", "x-amz-checksum-crc32c", 0x82F63B78u, 4},
    [CHECKSUM_CRC64NVME] = {"CRC64NVME", "x-amz-checksum-crc64nvme", 0x9A6C9329AC4BC9B5ull, 8},
    [CHECKSUM_SHA1] = {"SHA1", "x-amz-checksum-sha1", 0, 20},
    [CHECKSUM_SHA256] = {"SHA256", "x-amz-checksum-sha256", 0, 32},
};

const char *checksum_alg_name(enum checksum_alg alg)
{
    return algs[alg].name;
}

const char *checksum_alg_header(enum checksum_alg alg)
{
    return algs[alg].header;
}

/* A running checksum: a table-driven reflected CRC, or an OpenSSL digest. */
struct sum {
    enum checksum_alg alg;
    uint64_t table[256];
    uint64_t crc;
    uint64_t mask;
    EVP_MD_CTX *md; /* owned; NULL for the CRCs */
};

static void sum_init(struct sum *s, enum checksum_alg alg)
{
    s->alg = alg;
    s->md = NULL;
    if (!algs[alg].poly) {
        s->md = EVP_MD_CTX_new();
        if (!s->md)
            abort(); /* out of memory, as xmalloc does */
        (void)EVP_DigestInit_ex(s->md, alg == CHECKSUM_SHA1 ? EVP_sha1() : EVP_sha256(), NULL);
        return;
    }
    s->mask = algs[alg].bytes == 8 ? UINT64_MAX : 0xFFFFFFFFu;
    for (uint64_t i = 0; i < 256; i++) {
        uint64_t v = i;
        for (int k = 0; k < 8; k++)
            v = (v & 1) ? (v >> 1) ^ algs[alg].poly : v >> 1;
        s->table[i] = v;
    }
    s->crc = s->mask;
}

static void sum_update(struct sum *s, const void *data, size_t len)
{
    if (s->md) {
        (void)EVP_DigestUpdate(s->md, data, len);
        return;
    }
    const unsigned char *p = data;
    uint64_t crc = s->crc;
    for (size_t i = 0; i < len; i++)
        crc = s->table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    s->crc = crc;
}

/* Final value as big-endian bytes into out; returns its length.  Releases s. */
static size_t sum_final(struct sum *s, unsigned char out[CHECKSUM_MAX_BYTES])
{
    size_t n = algs[s->alg].bytes;
    if (s->md) {
        unsigned int len = 0;
        (void)EVP_DigestFinal_ex(s->md, out, &len);
        EVP_MD_CTX_free(s->md);
        s->md = NULL;
        return len;
    }
    uint64_t v = (s->crc ^ s->mask) & s->mask;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
    return n;
}

static uint64_t crc_of(enum checksum_alg alg, const void *data, size_t len)
{
    struct sum s;
    sum_init(&s, alg);
    sum_update(&s, data, len);
    return (s.crc ^ s.mask) & s.mask;
}

uint32_t checksum_crc32(const void *data, size_t len)
{
    return (uint32_t)crc_of(CHECKSUM_CRC32, data, len);
}

uint32_t checksum_crc32c(const void *data, size_t len)
{
    return (uint32_t)crc_of(CHECKSUM_CRC32C, data, len);
}

uint64_t checksum_crc64nvme(const void *data, size_t len)
{
    return crc_of(CHECKSUM_CRC64NVME, data, len);
}

bool checksum_is_composite(const char *value)
{
    const char *dash = value ? strrchr(value, '-') : NULL;
    if (!dash || !dash[1])
        return false;
    for (const char *p = dash + 1; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

/* Base64 of the final value when ok, else NULL; releases s either way. */
static char *final_base64(struct sum *s, bool ok)
{
    unsigned char raw[CHECKSUM_MAX_BYTES];
    size_t n = sum_final(s, raw);
    if (!ok)
        return NULL;
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);
    (void)EVP_EncodeBlock((unsigned char *)out, raw, (int)n);
    return out;
}

char *checksum_base64(enum checksum_alg alg, const void *data, size_t len)
{
    struct sum s;
    sum_init(&s, alg);
    sum_update(&s, data, len);
    return final_base64(&s, true);
}

static void sum_chunk(void *arg, const void *data, size_t len)
{
    sum_update(arg, data, len);
}

char *checksum_file_base64(const char *path, enum checksum_alg alg, struct err *err)
{
    struct sum s;
    sum_init(&s, alg);
    int r = file_read_chunks(path, sum_chunk, &s, err);
    return final_base64(&s, r == 0);
}
