/*
 * installjson: "<group>-install.json", the record of a planned Install in the Ruby
 * agent's format: {"instructions":[{"type":"copy","source":...,"destination":...}, ...]}, one
 * object per step in execution order.  Written atomically, mode 0600; never read back.
 */
#ifndef CDAGENT_INSTALLJSON_H
#define CDAGENT_INSTALLJSON_H

#include "base/err.h"

struct plan;

/* Write it to path atomically.  ERR_SYSTEM naming path. */
int installjson_write(const struct plan *p, const char *path, struct err *err);

#endif
