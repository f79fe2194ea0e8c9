/*
 * dirfd: the two steps every *at() tree walk here takes (rmtree, copytree): open a directory
 * below an fd without following a link, and list an open directory without giving up its fd.
 */
#ifndef CDAGENT_DIRFD_H
#define CDAGENT_DIRFD_H

#include <dirent.h>
#include <sys/stat.h>

/* openat(at, name, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) and fstat it into *ret_st.
 * Returns the fd, or -1 with errno. */
int dirfd_open(int at, const char *name, struct stat *ret_st);

/* A DIR stream over a duplicate of fd, rewound (caller closedir()s it; fd stays open).
 * NULL with errno. */
DIR *dirfd_list(int fd);

#endif
