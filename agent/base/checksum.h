/*
 * checksum: the additional checksums S3 keeps for an object (x-amz-checksum-crc32, -crc32c,
 * -crc64nvme, -sha1, -sha256) and the whole-file check of a download against one of them.
 * S3 writes a checksum as the base64 of its big-endian bytes; a value ending in "-<n>" is a
 * composite checksum of n parts (a checksum of the part checksums), which needs the part
 * boundaries and is not checked here.  Nothing here logs; the CRCs are pure functions.
 */
#ifndef CDAGENT_CHECKSUM_H
#define CDAGENT_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum checksum_alg {
    CHECKSUM_CRC32,
    CHECKSUM_CRC32C,
    CHECKSUM_CRC64NVME,
    CHECKSUM_SHA1,
    CHECKSUM_SHA256,
    CHECKSUM_ALG_COUNT,
};

/* "CRC32", "SHA256", ... for messages. */
const char *checksum_alg_name(enum checksum_alg alg);
/* The response header S3 uses for alg: "x-amz-checksum-crc32", ... */
const char *checksum_alg_header(enum checksum_alg alg);

/* One-shot CRCs as S3 defines them (reflected, initial and final value all ones). */
uint32_t checksum_crc32(const void *data, size_t len);
uint32_t checksum_crc32c(const void *data, size_t len);
uint64_t checksum_crc64nvme(const void *data, size_t len);

/* True for a composite (per-part) value "<base64>-<n>". */
bool checksum_is_composite(const char *value);

/* Base64 of alg over data, as S3 writes it.  Caller frees. */
char *checksum_base64(enum checksum_alg alg, const void *data, size_t len);

/* A running checksum for data that arrives in pieces (a download): new, update as the bytes come,
 * then base64 (releases it) or free. */
struct checksum_run;
struct checksum_run *checksum_run_new(enum checksum_alg alg);
void checksum_run_update(struct checksum_run *r, const void *data, size_t len);
char *checksum_run_base64(struct checksum_run *r); /* caller frees the string; r is released */
void checksum_run_free(struct checksum_run *r);

/* Base64 of alg over the content of path.  Caller frees; NULL with ERR_SYSTEM on a read error. */
char *checksum_file_base64(const char *path, enum checksum_alg alg, struct err *err);

#endif
