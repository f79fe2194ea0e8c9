/* proctree: see proctree.h. */
#include "hook/proctree.h"
#include "base/buf.h"
#include "base/util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct linux_dirent64_ {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Parent pid from /proc/<pid>/stat, or -1. */
static pid_t read_ppid(const char *pidstr, size_t n)
{
    char path[48] = "/proc/";
    if (n > 20)
        return -1;
    memcpy(path + 6, pidstr, n);
    memcpy(path + 6 + n, "/stat", 6);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[512];
    ssize_t r = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (r <= 0)
        return -1;
    buf[r] = '\0';
    char *p = NULL;
    for (ssize_t i = r - 1; i >= 0; i--) {
        if (buf[i] == ')') {
            p = buf + i;
            break;
        }
    }
    /* ") S 1234 " */
    if (!p || p[1] != ' ' || p[2] == '\0' || p[3] != ' ')
        return -1;
    p += 4;
    long v = 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    return (pid_t)v;
}

/* The pid a /proc entry names, or -1 for other entries. */
static pid_t entry_pid(const char *name)
{
    long v = 0;
    size_t len = 0;
    for (; name[len]; len++) {
        if (name[len] < '0' || name[len] > '9' || len > 10)
            return -1;
        v = v * 10 + (name[len] - '0');
    }
    return len ? (pid_t)v : -1;
}

size_t proctree_scan(struct proc_pair *pairs, size_t max)
{
    int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t n = 0;
    char buf[8192] __attribute__((aligned(8)));
    for (;;) {
        long r = syscall(SYS_getdents64, fd, buf, sizeof(buf));
        if (r <= 0)
            break;
        for (long off = 0; off < r;) {
            struct linux_dirent64_ *d = (struct linux_dirent64_ *)(void *)(buf + off);
            off += d->d_reclen;
            pid_t pid = entry_pid(d->d_name);
            if (pid < 0 || n >= max)
                continue;
            pid_t ppid = read_ppid(d->d_name, strlen(d->d_name));
            if (ppid < 0)
                continue;
            pairs[n].pid = pid;
            pairs[n].ppid = ppid;
            n++;
        }
    }
    close(fd);
    return n;
}

static bool in_tree(const pid_t *tree, size_t nt, pid_t pid)
{
    for (size_t j = 0; j < nt; j++)
        if (tree[j] == pid)
            return true;
    return false;
}

size_t proctree_signal_descendants(pid_t pgrp, int sig, struct proc_pair *pairs, pid_t *tree)
{
    if (pgrp > 0)
        (void)kill(-pgrp, sig);
    size_t np = proctree_scan(pairs, PROCTREE_MAX_PROCS);
    size_t nt = 1;
    tree[0] = getpid();
    bool grew = true;
    while (grew && nt < PROCTREE_MAX_TREE) {
        grew = false;
        for (size_t i = 0; i < np && nt < PROCTREE_MAX_TREE; i++) {
            if (in_tree(tree, nt, pairs[i].ppid) && !in_tree(tree, nt, pairs[i].pid)) {
                tree[nt++] = pairs[i].pid;
                grew = true;
            }
        }
    }
    for (size_t j = 1; j < nt; j++) {
        (void)kill(tree[j], sig);
        if (sig == SIGTERM)
            (void)kill(tree[j], SIGCONT);
    }
    return nt - 1;
}

/* Does the process whose fd directory is open as fdd hold the file named want? */
static bool holds(int fdd, const char *want)
{
    char fbuf[4096] __attribute__((aligned(8)));
    long fr;
    while ((fr = syscall(SYS_getdents64, fdd, fbuf, sizeof(fbuf))) > 0) {
        for (long fo = 0; fo < fr;) {
            struct linux_dirent64_ *e = (struct linux_dirent64_ *)(void *)(fbuf + fo);
            fo += e->d_reclen;
            char link[128];
            ssize_t ln = readlinkat(fdd, e->d_name, link, sizeof(link) - 1);
            if (ln > 0) {
                link[ln] = '\0';
                if (strcmp(link, want) == 0)
                    return true;
            }
        }
    }
    return false;
}

void proctree_pipe_holders(int fd, pid_t exclude, struct buf *out)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return;
    char want[64];
    snprintf(want, sizeof(want), "pipe:[%lu]", (unsigned long)st.st_ino);
    int found = 0;
    int pd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pd < 0)
        return;
    char buf[8192] __attribute__((aligned(8)));
    long r;
    while (found < 8 && (r = syscall(SYS_getdents64, pd, buf, sizeof(buf))) > 0) {
        for (long off = 0; off < r && found < 8;) {
            struct linux_dirent64_ *d = (struct linux_dirent64_ *)(void *)(buf + off);
            off += d->d_reclen;
            uint64_t pid;
            if (parse_uint(d->d_name, 1, 1u << 30, &pid, NULL) < 0 || (pid_t)pid == getpid() ||
                (pid_t)pid == exclude)
                continue;
            char dir[64];
            snprintf(dir, sizeof(dir), "/proc/%s/fd", d->d_name);
            int fdd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fdd < 0)
                continue;
            bool hit = holds(fdd, want);
            close(fdd);
            if (hit) {
                (void)buf_appendf(out, NULL, "%s%s", found ? ", " : " ", d->d_name);
                found++;
            }
        }
    }
    close(pd);
}
