/*
 * install-internal: what the pieces of Install (install, cleanup, apply) and copytree share:
 * the notice helper and the content copy loop (the default behind install_ops.copy_data).
 */
#ifndef CDAGENT_INSTALL_INTERNAL_H
#define CDAGENT_INSTALL_INTERNAL_H

#include "deploy/install.h"

/* Format a line and hand it to o->note (nothing when o or o->note is NULL). */
void install_note(const struct install_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* copy_file_range, falling back to read/write; -1 with errno. */
int apply_copy_data(int in_fd, int out_fd);

#endif
