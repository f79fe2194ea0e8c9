/* bundlesig: see bundlesig.h. */
#include "deploy/bundlesig.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/hash.h"
#include "base/util.h"

struct sigkey {
    EVP_PKEY *pkey;
    bool ed25519; /* else ECDSA with SHA-256 */
    char *name;   /* owned */
};

struct bundlesig_keys {
    struct sigkey *keys; /* owned */
    size_t n;
};

void bundlesig_keys_free(struct bundlesig_keys *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->n; i++) {
        EVP_PKEY_free(k->keys[i].pkey);
        free(k->keys[i].name);
    }
    free(k->keys);
    free(k);
}

size_t bundlesig_keys_count(const struct bundlesig_keys *k)
{
    return k ? k->n : 0;
}

const char *bundlesig_key_name(const struct bundlesig_keys *k, size_t i)
{
    return k && i < k->n ? k->keys[i].name : "";
}

/* "<file>#<n> (<type>, sha256:<16 hex>)" */
static char *key_name(const char *file, size_t n, EVP_PKEY *pkey, bool ed)
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(pkey, &der);
    char hex[65] = "?";
    if (len > 0)
        sha256_hex(der, (size_t)len, hex);
    OPENSSL_free(der);
    hex[16] = '\0';
    char curve[64] = "";
    size_t cl = 0;
    if (!ed && !EVP_PKEY_get_group_name(pkey, curve, sizeof(curve), &cl))
        (void)snprintf(curve, sizeof(curve), "unknown curve");
    return xasprintf("%s#%zu (%s%s%s, sha256:%s)", file, n, ed ? "Ed25519" : "ECDSA", ed ? "" : " ",
                     ed ? "" : curve, hex);
}

/* Append pkey (taken) or refuse it. */
static int add_key(struct bundlesig_keys *k, const char *file, EVP_PKEY *pkey, struct err *err)
{
    int id = EVP_PKEY_get_base_id(pkey);
    if (id != EVP_PKEY_ED25519 && id != EVP_PKEY_EC) {
        EVP_PKEY_free(pkey);
        return err_set(err, ERR_CONFIG,
                       ":bundle_signing_public_keys: %s key %zu is %s; only Ed25519 and ECDSA "
                       "public keys are accepted",
                       file, k->n + 1, OBJ_nid2sn(id));
    }
    if (k->n >= BUNDLESIG_MAX_KEYS) {
        EVP_PKEY_free(pkey);
        return err_set(err, ERR_CONFIG, ":bundle_signing_public_keys: %s holds more than %d keys",
                       file, BUNDLESIG_MAX_KEYS);
    }
    k->keys = xrealloc(k->keys, (k->n + 1) * sizeof(*k->keys));
    bool ed = id == EVP_PKEY_ED25519;
    k->keys[k->n] = (struct sigkey){pkey, ed, key_name(file, k->n + 1, pkey, ed)};
    k->n++;
    return 0;
}

struct bundlesig_keys *bundlesig_keys_load(const char *pem_path, struct err *err)
{
    char *text = NULL;
    size_t len = 0;
    if (read_file(pem_path, 1024 * 1024, &text, &len, err) < 0) {
        err->code = ERR_CONFIG;
        err_prefix(err, ":bundle_signing_public_keys");
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    struct bundlesig_keys *k = xcalloc(1, sizeof(*k));
    int r = 0;
    for (;;) {
        char *rest = NULL;
        long left = BIO_get_mem_data(bio, &rest);
        if (left <= 0 || !memmem(rest, (size_t)left, "-----BEGIN ", 11)) {
            if (k->n == 0)
                r = err_set(err, ERR_CONFIG,
                            ":bundle_signing_public_keys: %s: no PEM PUBLIC KEY "
                            "block",
                            pem_path);
            break;
        }
        ERR_clear_error();
        EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        if (!pkey) {
            const char *why = ERR_reason_error_string(ERR_peek_last_error());
            r = err_set(err, ERR_CONFIG,
                        ":bundle_signing_public_keys: %s: block %zu is not a readable PEM PUBLIC "
                        "KEY (%s)",
                        pem_path, k->n + 1, why ? why : "?");
            break;
        }
        if ((r = add_key(k, pem_path, pkey, err)) < 0)
            break;
    }
    ERR_clear_error();
    BIO_free(bio);
    free(text);
    if (r < 0) {
        bundlesig_keys_free(k);
        return NULL;
    }
    return k;
}

/* Base64 text (with or without newlines) to bytes; -1 when sig is not such text. */
static int decode_b64(const unsigned char *sig, size_t len, unsigned char **ret, size_t *ret_len)
{
    char *clean = xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = sig[i];
        if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
            continue;
        if (!isalnum(c) && c != '+' && c != '/' && c != '=') {
            free(clean);
            return -1;
        }
        clean[n++] = (char)c;
    }
    if (n == 0 || n % 4 != 0) {
        free(clean);
        return -1;
    }
    unsigned char *out = xmalloc(n / 4 * 3 + 1);
    int got = EVP_DecodeBlock(out, (const unsigned char *)clean, (int)n);
    size_t pad = (clean[n - 1] == '=') + (clean[n - 2] == '=');
    free(clean);
    if (got < 0 || (size_t)got < pad) {
        free(out);
        return -1;
    }
    *ret = out;
    *ret_len = (size_t)got - pad;
    return 0;
}

static bool verify_one(const struct sigkey *key, const unsigned char *data, size_t len,
                       const unsigned char *sig, size_t sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok =
        ctx &&
        EVP_DigestVerifyInit(ctx, NULL, key->ed25519 ? NULL : EVP_sha256(), NULL, key->pkey) == 1 &&
        EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* Which key verifies sig over data; -1 for none. */
static long try_keys(const struct bundlesig_keys *k, const unsigned char *data, size_t len,
                     const unsigned char *sig, size_t sig_len)
{
    unsigned char *dec = NULL;
    size_t dec_len = 0;
    bool b64 = decode_b64(sig, sig_len, &dec, &dec_len) == 0;
    long found = -1;
    for (size_t i = 0; i < k->n && found < 0; i++) {
        if (verify_one(&k->keys[i], data, len, sig, sig_len) ||
            (b64 && verify_one(&k->keys[i], data, len, dec, dec_len)))
            found = (long)i;
    }
    free(dec);
    return found;
}

static int refuse(const struct bundlesig_keys *k, const char *what, struct err *err)
{
    struct buf names;
    buf_init(&names, 8192);
    for (size_t i = 0; i < k->n; i++)
        (void)buf_appendf(&names, NULL, "%s%s", i ? "; " : "", k->keys[i].name);
    err_set(err, ERR_SIGNATURE,
            "signature %s does not verify with any of the %zu configured key(s) (%s): the bundle "
            "was not signed by a trusted key or was changed after signing",
            what, k->n, names.data ? names.data : "");
    buf_done(&names);
    return -1;
}

int bundlesig_verify_file(const struct bundlesig_keys *k, const char *path, const void *sig,
                          size_t sig_len, const char *what, size_t *ret_key, struct err *err)
{
    if (!k || k->n == 0)
        return err_set(err, ERR_SIGNATURE, "no signing keys are configured");
    if (sig_len == 0)
        return err_set(err, ERR_SIGNATURE, "signature %s is empty", what);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(err, "cannot open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        err_sys(err, "cannot stat %s", path);
        close(fd);
        return -1;
    }
    size_t len = (size_t)st.st_size;
    const unsigned char *data = (const unsigned char *)"";
    void *map = NULL;
    if (len > 0) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            err_sys(err, "cannot map %s", path);
            close(fd);
            return -1;
        }
        data = map;
    }
    close(fd);
    long found = try_keys(k, data, len, sig, sig_len);
    if (map)
        munmap(map, len);
    if (found < 0)
        return refuse(k, what, err);
    if (ret_key)
        *ret_key = (size_t)found;
    return 0;
}
