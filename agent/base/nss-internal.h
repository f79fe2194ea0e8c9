/* nss internals for tests: the first buffer size tried (1 forces the ERANGE path). */
#ifndef CDAGENT_NSS_INTERNAL_H
#define CDAGENT_NSS_INTERNAL_H

#include <stddef.h>

extern size_t nss_initial_buf_bytes;

#endif
