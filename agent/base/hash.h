/*
 * hash: digests as lower-case hex (OpenSSL EVP).  The bundle checksums of R-110 and the
 * SigV4 payload hash use these; nothing here keys or signs.
 */
#ifndef CDAGENT_HASH_H
#define CDAGENT_HASH_H

#include <stddef.h>

#include "base/err.h"

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);
/* SHA-256 of data as lower-case hex into out[65]. */
void sha256_hex(const void *data, size_t len, char out[65]);
/* MD5 of a file's content as lower-case hex into out[33]; ERR_SYSTEM when the file cannot be
 * read. */
int file_md5_hex(const char *path, char out[33], struct err *err);

#endif
