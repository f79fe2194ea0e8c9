/*
 * bundlesig: signed revisions (opt-in, :bundle_signing_public_keys:).  An S3 revision
 * s3://b/<key> must come with a detached signature object s3://b/<key>.sig; the executor fetches
 * it and calls bundlesig_verify_file() over the downloaded bytes before anything is unpacked.
 *
 * Keys: one PEM file holding one or more "PUBLIC KEY" blocks (SubjectPublicKeyInfo), each
 * Ed25519 or ECDSA (any named curve OpenSSL knows; P-256 and P-384 are the documented ones).
 * Each key is named in messages as "<file>#<n> (<type>, sha256:<first 16 hex of the SHA-256 of
 * its DER encoding>)" - the same fingerprint as
 *     openssl pkey -pubin -in key.pem -outform DER | sha256sum
 * Signatures, raw binary or base64 text (as `openssl base64` writes it):
 *   Ed25519  over the file's bytes:  openssl pkeyutl -sign -rawin -inkey k.pem -in B -out B.sig
 *   ECDSA    SHA-256, DER:           openssl dgst -sha256 -sign k.pem -out B.sig B
 * A signature is accepted when any configured key verifies it.  The file is mapped, not read
 * into heap memory (Ed25519 needs the whole message at once).  OpenSSL is used through EVP only.
 */
#ifndef CDAGENT_BUNDLESIG_H
#define CDAGENT_BUNDLESIG_H

#include <stddef.h>

#include "base/err.h"

#define BUNDLESIG_SUFFIX ".sig"
#define BUNDLESIG_MAX_BYTES (64 * 1024) /* larger signature objects are refused */
#define BUNDLESIG_MAX_KEYS 64

struct bundlesig_keys;

/*
 * Load the public keys of a PEM file.  Errors (ERR_CONFIG, naming the file): unreadable file,
 * no PUBLIC KEY block, a block OpenSSL cannot parse, a key that is neither Ed25519 nor ECDSA,
 * more than BUNDLESIG_MAX_KEYS keys.
 */
struct bundlesig_keys *bundlesig_keys_load(const char *pem_path, struct err *err);
void bundlesig_keys_free(struct bundlesig_keys *k);
size_t bundlesig_keys_count(const struct bundlesig_keys *k);
/* Name of key i ("<file>#1 (Ed25519, sha256:0123456789abcdef)"); borrowed. */
const char *bundlesig_key_name(const struct bundlesig_keys *k, size_t i);

/*
 * Verify sig (sig_len bytes, raw or base64) over the bytes of the file at path.  On success
 * *ret_key (may be NULL) is the index of the key that verified it.  Errors: ERR_SIGNATURE
 * "signature <what> does not verify with any of the N configured keys (<name>; <name>)" (what
 * names the signature object for the message), ERR_SIGNATURE for an empty or undecodable
 * signature, ERR_SYSTEM when the file cannot be read.
 */
int bundlesig_verify_file(const struct bundlesig_keys *k, const char *path, const void *sig,
                          size_t sig_len, const char *what, size_t *ret_key, struct err *err);

#endif
