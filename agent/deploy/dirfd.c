/* dirfd: see dirfd.h. */
#include "deploy/dirfd.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int dirfd_open(int at, const char *name, struct stat *ret_st)
{
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, ret_st) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

DIR *dirfd_list(int fd)
{
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0)
        return NULL;
    DIR *d = fdopendir(dup_fd);
    if (!d) {
        int e = errno;
        close(dup_fd);
        errno = e;
        return NULL;
    }
    rewinddir(d);
    return d;
}
