/* apply: see apply.h. */
#include "deploy/apply.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/nss.h"
#include "base/util.h"
#include "deploy/acl.h"
#include "deploy/archmeta.h"
#include "deploy/cleanup.h"
#include "deploy/install-internal.h"
#include "deploy/lexpath.h"
#include "deploy/plan.h"
#include "deploy/selinux.h"
#include "base/path.h"
#include "base/fsutil.h"

struct exec {
    const struct install_opts *o; /* borrowed */
    int cleanup_fd;               /* borrowed */
    bool is_root;
    bool selinux;
};

int apply_copy_data(int in, int out)
{
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n == 0)
            return 0;
        if (n > 0)
            continue;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
            return -1;
        break;
    }
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (write_all(out, buf, (size_t)n) < 0)
            return -1;
    }
}

/* A name for a temporary file next to target (never the target's own name). */
static char *temp_beside(const char *target)
{
    AUTOFREE char *dir = lexpath_dir(target);
    AUTOFREE char *name = xasprintf(".%s.cdagent-%ld-%08x", lexpath_base(target), (long)getpid(),
                                    rand_below(0xffffffffu));
    return path_join(dir, name);
}

static int copy_symlink(const char *src, const char *target, struct err *err)
{
    char buf[PATH_MAX + 1];
    ssize_t n = readlink(src, buf, sizeof(buf) - 1);
    if (n < 0)
        return err_sys(err, "install '%s': read link '%s'", target, src);
    buf[n] = '\0';
    AUTOFREE char *tmp = temp_beside(target);
    if (symlink(buf, tmp) < 0)
        return err_sys(err, "install '%s': create link", target);
    /* rename() replaces a link at the target instead of writing through it. */
    if (rename(tmp, target) < 0) {
        int e = errno;
        unlink(tmp);
        return err_errno(err, e, "install '%s'", target);
    }
    return 0;
}

static int copy_regular(struct exec *x, const char *src, const char *target, struct err *err)
{
    AUTOCLOSE int in = open(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (in < 0)
        return err_sys(err, "install '%s': open source '%s'", target, src);
    struct stat st; /* the bundle's owner and mode, also when a hook as root sealed it */
    if (archmeta_fstat(in, &st) < 0)
        return err_sys(err, "install '%s': stat source '%s'", target, src);
    if (!S_ISREG(st.st_mode))
        return err_set(err, ERR_INSTALL, "install '%s': source '%s' is not a regular file", target,
                       src);
    AUTOFREE char *tmp = temp_beside(target);
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return err_sys(err, "install '%s': create temporary file", target);
    int r = 0;
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    if ((x->o->ops && x->o->ops->copy_data ? x->o->ops->copy_data : apply_copy_data)(in, out) < 0)
        r = err_sys(err, "install '%s': copy from '%s'", target, src);
    else if (x->is_root && fchown(out, st.st_uid, st.st_gid) < 0)
        r = err_sys(err, "install '%s': set owner", target);
    else if (fchmod(out, st.st_mode & 07777) < 0) /* after chown, which clears setid */
        r = err_sys(err, "install '%s': set mode", target);
    else if (futimens(out, ts) < 0)
        r = err_sys(err, "install '%s': set times", target);
    if (close(out) < 0 && r == 0)
        r = err_sys(err, "install '%s': write", target);
    if (r == 0 && rename(tmp, target) < 0)
        r = err_sys(err, "install '%s'", target);
    if (r < 0)
        unlink(tmp);
    return r;
}

static int exec_copy(struct exec *x, const struct step *s, struct err *err)
{
    /* the target is recorded BEFORE the copy, so a crash leaves it listed. */
    if (cleanup_append(x->cleanup_fd, false, s->dst, err) < 0)
        return -1;
    struct stat st;
    if (lstat(s->src, &st) < 0)
        return err_sys(err, "install '%s': stat source '%s'", s->dst, s->src);
    if (S_ISLNK(st.st_mode))
        return copy_symlink(s->src, s->dst, err);
    if (!S_ISREG(st.st_mode))
        return err_set(err, ERR_INSTALL, "install '%s': source '%s' is not a regular file", s->dst,
                       s->src);
    return copy_regular(x, s->src, s->dst, err);
}

static int exec_mkdir(struct exec *x, const struct step *s, struct err *err)
{
    if (mkdir(s->dst, 0777) < 0) { /* 0777 minus umask */
        struct stat st;
        if (errno == EEXIST && stat(s->dst, &st) == 0 && S_ISDIR(st.st_mode))
            return 0; /* appeared meanwhile: not ours, so not recorded */
        return err_sys(err, "install: create directory '%s'", s->dst);
    }
    return cleanup_append(x->cleanup_fd, false, s->dst, err);
}

/* Open a permission target without following a final symlink; -2 = it is a symlink. */
static int open_target(const char *path, bool *ret_link, struct err *err)
{
    *ret_link = false;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ELOOP) {
        *ret_link = true;
        return -1;
    }
    if (fd < 0)
        return err_sys(err, "install: open '%s'", path);
    return fd;
}

static int exec_chmod(struct exec *x, const struct step *s, struct err *err)
{
    bool link;
    AUTOCLOSE int fd = open_target(s->dst, &link, err);
    if (link) {
        install_note(x->o,
                     "Not changing the mode of symbolic link '%s' (it would change its target)",
                     s->dst);
        return 0;
    }
    if (fd < 0)
        return -1;
    if (fchmod(fd, s->perm->mode) < 0)
        return err_sys(err, "install: chmod %04o '%s'", (unsigned)s->perm->mode, s->dst);
    return 0;
}

static int exec_chown(const struct step *s, struct err *err)
{
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    struct err ignored = {0};
    if (s->perm->owner && nss_uid_by_name(s->perm->owner, &uid, &ignored) < 0)
        return err_set(err, ERR_INSTALL, "install: chown '%s': unknown user '%s'", s->dst,
                       s->perm->owner);
    if (s->perm->group && nss_gid_by_name(s->perm->group, &gid, &ignored) < 0)
        return err_set(err, ERR_INSTALL, "install: chown '%s': unknown group '%s'", s->dst,
                       s->perm->group);
    struct stat st;
    if (lstat(s->dst, &st) < 0)
        return err_sys(err, "install: chown '%s'", s->dst);
    if (lchown(s->dst, uid, gid) < 0) /* never the link's target */
        return err_sys(err, "install: chown '%s'", s->dst);
    /* chown() clears setuid/setgid on files; keep what chmod or the copy set. */
    if (S_ISREG(st.st_mode) && (st.st_mode & 06000)) {
        int fd = open(s->dst, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 || fchmod(fd, st.st_mode & 07777) < 0) {
            err_sys(err, "install: chmod '%s' after chown", s->dst);
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
    }
    return 0;
}

static int exec_setfacl(struct exec *x, const struct step *s, struct err *err)
{
    bool link;
    AUTOCLOSE int fd = open_target(s->dst, &link, err);
    if (link) {
        install_note(x->o, "Not setting an ACL on symbolic link '%s'", s->dst);
        return 0;
    }
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return err_sys(err, "install: setfacl '%s'", s->dst);
    return acl_apply(fd, s->perm, st.st_mode, s->dst, err);
}

struct semanage_rec {
    struct exec *x;
    const char *real;
};

static int semanage_applied(void *ctx, struct err *err)
{
    const struct semanage_rec *r = ctx;
    return cleanup_append(r->x->cleanup_fd, true, r->real, err);
}

static int exec_semanage(struct exec *x, const struct step *s, struct err *err)
{
    const struct appspec_context *c = s->perm->context;
    if (!x->selinux) {
        install_note(x->o, "SELinux is not enabled on this host; skipping context '%s' for '%s'",
                     c->type, s->dst);
        return 0;
    }
    AUTOFREE char *real = realpath(s->dst, NULL);
    if (!real)
        return err_sys(err, "install: resolve '%s' for its SELinux context", s->dst);
    struct semanage_rec rec = {x, real};
    return selinux_apply(c, real, semanage_applied, &rec, err);
}

static int exec_step(struct exec *x, const struct step *s, struct err *err)
{
    switch (s->kind) {
    case STEP_COPY:
        return exec_copy(x, s, err);
    case STEP_MKDIR:
        return exec_mkdir(x, s, err);
    case STEP_CHMOD:
        return exec_chmod(x, s, err);
    case STEP_SETFACL:
        return exec_setfacl(x, s, err);
    case STEP_SEMANAGE:
        return exec_semanage(x, s, err);
    case STEP_CHOWN:
        return exec_chown(s, err);
    }
    return err_set(err, ERR_INSTALL, "install: unknown step");
}

int apply_plan(const struct plan *p, const struct install_opts *o, int cleanup_fd, struct err *err)
{
    struct exec x = {.o = o,
                     .cleanup_fd = cleanup_fd,
                     .is_root = geteuid() == 0,
                     .selinux = selinux_enabled(o->selinux)};
    for (size_t i = 0; i < p->n; i++)
        if (exec_step(&x, &p->steps[i], err) < 0)
            return -1;
    return 0;
}
