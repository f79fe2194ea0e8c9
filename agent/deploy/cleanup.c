/* cleanup: see cleanup.h. */
#include "deploy/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/map.h"
#include "base/path.h"
#include "base/util.h"
#include "deploy/install-internal.h"
#include "deploy/layout.h"
#include "deploy/lexpath.h"
#include "deploy/selinux.h"
#include "base/fsutil.h"

#define SEMANAGE_PREFIX "semanage\0"
#define SEMANAGE_PREFIX_LEN 9

void cleanup_list_done(struct cleanup_list *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->lines[i].path);
    free(c->lines);
    memset(c, 0, sizeof(*c));
}

/* Strip leading/trailing whitespace and NULs the way Ruby's String#strip does. */
static void strip_line(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || (**s >= '\t' && **s <= '\r'))) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\0' ||
                  ((*s)[*n - 1] >= '\t' && (*s)[*n - 1] <= '\r')))
        (*n)--;
}

static bool line_is_valid(const char *p, size_t n)
{
    if (n == 0 || p[0] != '/' || memchr(p, '\0', n))
        return false;
    /* Lexically, ".." must not climb above "/" (V-063); lexpath_norm would clamp it silently. */
    return path_stays_below(p, n);
}

static void add_line(struct cleanup_list *c, const char *p, size_t n, bool semanage)
{
    c->lines = xrealloc(c->lines, (c->n + 1) * sizeof(*c->lines));
    c->lines[c->n].path = xstrndup(p, n);
    c->lines[c->n].semanage = semanage;
    c->n++;
}

static void parse_lines(const char *path, const char *data, size_t len,
                        const struct install_opts *o, struct cleanup_list *c)
{
    const char *s = data, *end = data + len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl)
            break; /* a torn last line is ignored */
        const char *p = s;
        size_t n = (size_t)(nl - s);
        s = nl + 1;
        bool sem = n > SEMANAGE_PREFIX_LEN && memcmp(p, SEMANAGE_PREFIX, SEMANAGE_PREFIX_LEN) == 0;
        if (sem) {
            p += SEMANAGE_PREFIX_LEN;
            n -= SEMANAGE_PREFIX_LEN;
        }
        strip_line(&p, &n);
        if (!line_is_valid(p, n)) {
            if (n)
                install_note(o, "Ignoring invalid line in cleanup file '%s'", path);
            continue;
        }
        add_line(c, p, n, sem);
    }
}

/* Open path without following a link: the fd, -1 when there is nothing to act on (missing,
 * a link, not trusted; c->present tells which), -2 with err set on an I/O error. */
static int open_checked(const char *path, const struct install_opts *o, struct cleanup_list *c,
                        struct err *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return -1;
        if (errno == ELOOP) {
            c->present = true;
            install_note(o,
                         "The cleanup file '%s' is a symbolic link; not removing the previous "
                         "install's files",
                         path);
            return -1;
        }
        return err_sys(err, "read the previous install's cleanup file '%s'", path) - 1;
    }
    c->present = true;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        err_sys(err, "read the previous install's cleanup file '%s'", path);
        close(fd);
        return -2;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
        install_note(o,
                     "The cleanup file '%s' is not a regular file owned by the agent and "
                     "writable only by it; not removing the previous install's files",
                     path);
        close(fd);
        return -1;
    }
    return fd;
}

int cleanup_read(const char *path, const struct install_opts *o, struct cleanup_list *c,
                 struct err *err)
{
    memset(c, 0, sizeof(*c));
    AUTOCLOSE int fd = open_checked(path, o, c, err);
    if (fd == -2)
        return -1;
    if (fd < 0)
        return 0;
    AUTOFREE char *data = NULL;
    size_t len = 0;
    /* The checked fd is the one read: no second open by name (issue 11). */
    if (read_fd(fd, path, CLEANUP_FILE_MAX, &data, &len, err) < 0)
        return -1;
    c->trusted = true;
    parse_lines(path, data, len, o, c);
    return 0;
}

/* Will every entry of directory np be gone? */
static bool empty_after(const char *np, const struct map *gone)
{
    DIR *d = opendir(np);
    if (!d)
        return false;
    bool empty = true;
    struct dirent *de;
    while (empty && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        AUTOFREE char *child = lexpath_join(np, de->d_name);
        empty = map_get(gone, child) != NULL;
    }
    closedir(d);
    return empty;
}

void cleanup_simulate(const struct cleanup_list *c, struct map *gone)
{
    if (!c->trusted)
        return;
    for (size_t i = c->n; i-- > 0;) {
        if (c->lines[i].semanage)
            continue;
        AUTOFREE char *np = lexpath_norm(c->lines[i].path);
        struct stat st;
        if (lstat(np, &st) < 0)
            continue;
        if (!S_ISDIR(st.st_mode) || empty_after(np, gone))
            map_put(gone, np);
    }
}

int cleanup_remove(const struct cleanup_list *c, bool selinux, struct err *err)
{
    if (!c->trusted)
        return 0;
    for (size_t i = c->n; i-- > 0;) {
        const char *p = c->lines[i].path;
        if (c->lines[i].semanage) {
            if (selinux)
                selinux_forget(p); /* failures ignored */
            continue;
        }
        struct stat st;
        if (lstat(p, &st) < 0) {
            if (errno == ENOENT || errno == ENOTDIR)
                continue;
            return err_sys(err, "remove the previous install's '%s'", p);
        }
        if (S_ISDIR(st.st_mode)) {
            if (rmdir(p) < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
                return err_sys(err, "remove the previous install's directory '%s'", p);
        } else if (unlink(p) < 0 && errno != ENOENT) {
            return err_sys(err, "remove the previous install's '%s'", p);
        }
    }
    return 0;
}

int cleanup_create(const char *path, struct err *err)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, LAYOUT_STATE_FILE_MODE);
    if (fd < 0)
        return err_sys(err, "Install: create the cleanup file '%s'", path);
    (void)fchmod(fd, LAYOUT_STATE_FILE_MODE);
    return fd;
}

int cleanup_append(int fd, bool semanage, const char *path, struct err *err)
{
    size_t plen = semanage ? SEMANAGE_PREFIX_LEN : 0;
    size_t n = strlen(path);
    AUTOFREE char *line = xmalloc(plen + n + 1);
    memcpy(line, SEMANAGE_PREFIX, plen);
    /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): a counted record, ends in '\n' */
    memcpy(line + plen, path, n);
    line[plen + n] = '\n';
    size_t len = plen + n + 1, off = 0;
    while (off < len) {
        ssize_t w = write(fd, line + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return err_sys(err, "Install: append '%s' to the cleanup file", path);
        off += (size_t)w;
    }
    return 0;
}
