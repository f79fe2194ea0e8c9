/*
 * nss: user and group lookup by name through the name service switch (files, LDAP, SSSD).
 * The reentrant getpwnam_r/getgrnam_r need a caller buffer whose size no sysconf value bounds:
 * a group with thousands of LDAP members does not fit 4 KiB.  These lookups start small and
 * double the buffer on ERANGE up to NSS_BUF_MAX_BYTES.  Thread-safe.
 */
#ifndef CDAGENT_NSS_H
#define CDAGENT_NSS_H

#include <grp.h>
#include <pwd.h>
#include <sys/types.h>

#include "base/err.h"

#define NSS_BUF_MAX_BYTES (16u << 20) /* 16 MiB: beyond this an entry is refused (ERR_LIMIT) */

/* Look a user up by name.  *ret's strings point into *ret_buf, which the caller frees (also
 * on failure it is NULL).  Errors: ERR_NOT_FOUND "no user '<name>'", ERR_SYSTEM (the service
 * failed, errno kept), ERR_LIMIT (entry larger than NSS_BUF_MAX_BYTES).  On failure *ret is
 * unspecified and *ret_buf NULL. */
int nss_user_by_name(const char *name, struct passwd *ret, char **ret_buf, struct err *err);
/* The same for a group ("no group '<name>'"). */
int nss_group_by_name(const char *name, struct group *ret, char **ret_buf, struct err *err);
/* Only the id, for callers that need no other field. */
int nss_uid_by_name(const char *name, uid_t *ret, struct err *err);
int nss_gid_by_name(const char *name, gid_t *ret, struct err *err);

#endif
