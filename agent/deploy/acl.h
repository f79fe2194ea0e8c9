/*
 * acl: POSIX ACLs for Install's permissions, written as the kernel's
 * system.posix_acl_access / _default extended attributes (no libacl, no setfacl program).  The
 * resulting ACL replaces the object's (setfacl --set): the given entries plus base entries
 * derived per target from its mode.  Nothing is logged.
 */
#ifndef CDAGENT_ACL_H
#define CDAGENT_ACL_H

#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct appspec_acl;
struct appspec_permission;

/* The uid/gid of a named user/group entry (a name, else a number).  path names the permission
 * object in the message.  ERR_INSTALL "... Unknown user 'x' in acl entry ..." otherwise. */
int acl_lookup_id(const struct appspec_acl *a, const char *path, uint32_t *ret, struct err *err);

/* Set the access ACL (and the default ACL when perm has default entries) of the open file fd,
 * whose mode is mode; path is the name shown.  ERR_INSTALL (unknown name) or ERR_SYSTEM with
 * the R-187 message. */
int acl_apply(int fd, const struct appspec_permission *perm, mode_t mode, const char *path,
              struct err *err);

#endif
