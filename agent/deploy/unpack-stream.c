/* unpack-stream: extraction of an archive while it downloads (see unpack.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/util.h"
#include "deploy/unpack-internal.h"

struct unpack_stream {
    struct job j;
    pthread_t t;
    bool running;
    int wfd;   /* our end of the socket pair, -1 once closed */
    bool dead; /* a write failed: the extraction stopped */
};

int unpack_stream_start(enum unpack_format fmt, const char *dest_dir,
                        const struct unpack_opts *opts, struct unpack_stream **ret, struct err *err)
{
    if (fmt == UNPACK_ZIP)
        return err_set(err, ERR_UNSUPPORTED,
                       "Error extracting zip archive: a zip file cannot "
                       "be extracted while it downloads");
    struct unpack_stream *s = xcalloc(1, sizeof(*s));
    unpack_job_init(&s->j, fmt, dest_dir, opts);
    s->wfd = -1;
    int sv[2];
    /* A socket pair rather than a pipe: send(MSG_NOSIGNAL) reports a stopped reader as EPIPE
     * without a SIGPIPE. */
    if (unpack_make_dest(&s->j, err) < 0) {
        free(s);
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        err_sys(err, "Error extracting %s archive: socketpair", unpack_kind(&s->j));
        (void)rm_rf(dest_dir, NULL);
        free(s);
        return -1;
    }
    s->j.in_fd = sv[0];
    s->wfd = sv[1];
    s->running = unpack_job_start(&s->j, &s->t) == 0;
    *ret = s;
    return 0;
}

int unpack_stream_write(struct unpack_stream *s, const void *data, size_t len)
{
    const char *p = data;
    while (!s->dead && len > 0) {
        ssize_t w = s->wfd >= 0 && s->running ? send(s->wfd, p, len, MSG_NOSIGNAL) : -1;
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            s->dead = true;
            break;
        }
        p += w;
        len -= (size_t)w;
    }
    return s->dead ? -1 : 0;
}

int unpack_stream_finish(struct unpack_stream *s, bool ok, struct unpack_stats *ret_stats,
                         struct err *err)
{
    if (!s)
        return 0;
    if (!ok && s->wfd >= 0)
        (void)shutdown(s->wfd, SHUT_RDWR); /* the reader sees a cut archive and fails */
    if (s->wfd >= 0)
        close(s->wfd);
    if (s->running)
        pthread_join(s->t, NULL);
    if (!ok)
        s->j.rc = -1;
    int rc = unpack_job_result(&s->j, ret_stats, ok ? err : NULL);
    free(s);
    return rc;
}
