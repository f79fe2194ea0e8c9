/* Unit tests for signed revisions (deploy/bundlesig) and the S3 URI helper of deploy/s3obj
 * (issue 16 item 6, item 1).  Keys are made with OpenSSL here; the e2e tests use the openssl CLI
 * exactly as the README shows. */
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base/path.h"
#include "base/util.h"
#include "deploy/bundlesig.h"
#include "deploy/s3obj.h"
#include "test.h"

/* A new key pair; its public half appended to pub_path. */
static EVP_PKEY *new_key(const char *type, const char *pub_path)
{
    EVP_PKEY *k = strcmp(type, "ED25519") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
                  : strcmp(type, "RSA") == 0   ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024)
                                               : EVP_PKEY_Q_keygen(NULL, NULL, "EC", type);
    ASSERT_NOT_NULL(k);
    FILE *f = fopen(pub_path, "a");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(PEM_write_PUBKEY(f, k), 1);
    fclose(f);
    return k;
}

static size_t sign(EVP_PKEY *k, const char *data, unsigned char *sig, size_t cap)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ed = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519;
    ASSERT_EQ(EVP_DigestSignInit(ctx, NULL, ed ? NULL : EVP_sha256(), NULL, k), 1);
    size_t n = cap;
    ASSERT_EQ(EVP_DigestSign(ctx, sig, &n, (const unsigned char *)data, strlen(data)), 1);
    EVP_MD_CTX_free(ctx);
    return n;
}

TEST(bundlesig_ed25519_and_ecdsa_verify_tamper_fails)
{
    struct err e = ERR_INIT;
    char *pub = path_join(test_tmpdir(), "keys.pem");
    EVP_PKEY *ed = new_key("ED25519", pub);
    EVP_PKEY *ec = new_key("P-256", pub);
    struct bundlesig_keys *keys = bundlesig_keys_load(pub, &e);
    ASSERT_STREQ(e.msg, "");
    ASSERT_NOT_NULL(keys);
    ASSERT_EQ(bundlesig_keys_count(keys), 2);
    ASSERT_CONTAINS(bundlesig_key_name(keys, 0), "keys.pem#1 (Ed25519, sha256:");
    ASSERT_CONTAINS(bundlesig_key_name(keys, 1), "keys.pem#2 (ECDSA prime256v1, sha256:");
    const char *bundle = test_write("bundle.tar", "the revision bytes");
    unsigned char sig[512];
    size_t which = 99;
    size_t n = sign(ed, "the revision bytes", sig, sizeof(sig));
    ASSERT_OK(bundlesig_verify_file(keys, bundle, sig, n, "s3://b/k.sig", &which, &e));
    ASSERT_EQ(which, 0);
    n = sign(ec, "the revision bytes", sig, sizeof(sig));
    ASSERT_OK(bundlesig_verify_file(keys, bundle, sig, n, "s3://b/k.sig", &which, &e));
    ASSERT_EQ(which, 1);
    /* base64 text of the same signature, with a newline, as `openssl base64` writes it */
    char b64[1024];
    int bl = EVP_EncodeBlock((unsigned char *)b64, sig, (int)n);
    b64[bl] = '\n';
    ASSERT_OK(bundlesig_verify_file(keys, bundle, b64, (size_t)bl + 1, "s3://b/k.sig", NULL, &e));
    /* one changed byte in the bundle: refused, every key named */
    test_write("bundle.tar", "the revision byteS");
    err_clear(&e);
    ASSERT_FAIL(bundlesig_verify_file(keys, bundle, sig, n, "s3://b/k.sig", NULL, &e));
    ASSERT_EQ(e.code, ERR_SIGNATURE);
    ASSERT_CONTAINS(e.msg, "signature s3://b/k.sig does not verify with any of the 2 configured");
    ASSERT_CONTAINS(e.msg, bundlesig_key_name(keys, 0));
    ASSERT_CONTAINS(e.msg, bundlesig_key_name(keys, 1));
    err_clear(&e);
    ASSERT_FAIL(bundlesig_verify_file(keys, bundle, "", 0, "s3://b/k.sig", NULL, &e));
    ASSERT_CONTAINS(e.msg, "is empty");
    bundlesig_keys_free(keys);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(ec);
    free(pub);
}

TEST(bundlesig_untrusted_key_is_refused)
{
    struct err e = ERR_INIT;
    char *pub = path_join(test_tmpdir(), "trusted.pem");
    char *other = path_join(test_tmpdir(), "other.pem");
    EVP_PKEY *good = new_key("ED25519", pub);
    EVP_PKEY *bad = new_key("ED25519", other);
    struct bundlesig_keys *keys = bundlesig_keys_load(pub, &e);
    ASSERT_STREQ(e.msg, "");
    ASSERT_NOT_NULL(keys);
    const char *bundle = test_write("b.zip", "payload");
    unsigned char sig[128];
    size_t n = sign(bad, "payload", sig, sizeof(sig));
    ASSERT_FAIL(bundlesig_verify_file(keys, bundle, sig, n, "s3://b/b.zip.sig", NULL, &e));
    ASSERT_EQ(e.code, ERR_SIGNATURE);
    n = sign(good, "payload", sig, sizeof(sig));
    ASSERT_OK(bundlesig_verify_file(keys, bundle, sig, n, "s3://b/b.zip.sig", NULL, &e));
    bundlesig_keys_free(keys);
    EVP_PKEY_free(good);
    EVP_PKEY_free(bad);
    free(pub);
    free(other);
}

TEST(bundlesig_key_file_errors)
{
    struct err e = ERR_INIT;
    ASSERT_NULL(bundlesig_keys_load(test_write("none.pem", "not a key\n"), &e));
    ASSERT_EQ(e.code, ERR_CONFIG);
    ASSERT_CONTAINS(e.msg, "no PEM PUBLIC KEY block");
    char *rsa = path_join(test_tmpdir(), "rsa.pem");
    EVP_PKEY *k = new_key("RSA", rsa);
    err_clear(&e);
    ASSERT_NULL(bundlesig_keys_load(rsa, &e));
    ASSERT_CONTAINS(e.msg, "only Ed25519 and ECDSA");
    err_clear(&e);
    ASSERT_NULL(bundlesig_keys_load("/nonexistent/keys.pem", &e));
    ASSERT_EQ(e.code, ERR_CONFIG);
    EVP_PKEY_free(k);
    free(rsa);
}

TEST(s3obj_parse_uri_forms)
{
    struct err e = ERR_INIT;
    char *b = NULL, *p = NULL;
    ASSERT_OK(s3obj_parse_uri("s3://logs-bucket/ci/hooks/", &b, &p, &e));
    ASSERT_STREQ(b, "logs-bucket");
    ASSERT_STREQ(p, "ci/hooks");
    free(b);
    free(p);
    ASSERT_OK(s3obj_parse_uri("s3://only", &b, &p, &e));
    ASSERT_STREQ(b, "only");
    ASSERT_STREQ(p, "");
    free(b);
    free(p);
    ASSERT_FAIL(s3obj_parse_uri("https://x/y", &b, &p, &e));
    err_clear(&e);
    ASSERT_FAIL(s3obj_parse_uri("s3:///y", &b, &p, &e));
    ASSERT_EQ(e.code, ERR_CONFIG);
}
