/* bundlemeta: see bundlemeta.h. */
#include "deploy/bundlemeta.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/path.h"
#include "base/util.h"
#include "deploy/layout.h"

static int write_marker(const char *dir, const char *name, const char *value, struct err *err)
{
    AUTOFREE char *path = path_join(dir, name);
    return write_file_atomic(path, value, strlen(value), LAYOUT_FILE_MODE, err);
}

static int remove_marker(const char *dir, const char *name, struct err *err)
{
    AUTOFREE char *path = path_join(dir, name);
    if (unlink(path) < 0 && errno != ENOENT)
        return err_sys(err, "remove '%s'", path);
    return 0;
}

int bundlemeta_write_source(const char *deployment_dir, const char *source, struct err *err)
{
    assert(str_eq(source, BUNDLEMETA_SOURCE_DOWNLOADED) || str_eq(source, BUNDLEMETA_SOURCE_REUSE));
    return write_marker(deployment_dir, BUNDLEMETA_SOURCE_FILE, source, err);
}

int bundlemeta_write_etag(const char *deployment_dir, const char *etag, struct err *err)
{
    size_t n = etag ? strlen(etag) : 0;
    AUTOFREE char *v = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (etag[i] != '"')
            v[j++] = etag[i];
    v[j] = 0;
    if (j == 0)
        return remove_marker(deployment_dir, BUNDLEMETA_ETAG_FILE, err);
    return write_marker(deployment_dir, BUNDLEMETA_ETAG_FILE, v, err);
}

/* One trimmed printable-ASCII line, or NULL. */
static char *read_marker(const char *dir, const char *name)
{
    AUTOFREE char *path = path_join(dir, name);
    AUTOFREE char *text = NULL;
    size_t len = 0;
    if (read_file(path, BUNDLEMETA_MAX_BYTES, &text, &len, NULL) < 0 || strlen(text) != len)
        return NULL;
    char *s = text;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t n = strlen(s);
    while (n > 0 && strchr(" \t\r\n", s[n - 1]))
        s[--n] = 0;
    if (n == 0)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return NULL;
    return xstrdup(s);
}

char *bundlemeta_read_source(const char *deployment_dir)
{
    char *v = read_marker(deployment_dir, BUNDLEMETA_SOURCE_FILE);
    if (v && !str_eq(v, BUNDLEMETA_SOURCE_DOWNLOADED) && !str_eq(v, BUNDLEMETA_SOURCE_REUSE)) {
        free(v);
        return NULL;
    }
    return v;
}

char *bundlemeta_read_etag(const char *deployment_dir)
{
    return read_marker(deployment_dir, BUNDLEMETA_ETAG_FILE);
}

int bundlemeta_copy_etag(const char *from_dir, const char *to_dir, struct err *err)
{
    AUTOFREE char *etag = bundlemeta_read_etag(from_dir);
    return bundlemeta_write_etag(to_dir, etag, err);
}

char *bundlemeta_note(const char *deployment_dir)
{
    AUTOFREE char *v = bundlemeta_read_source(deployment_dir);
    return v ? xasprintf("%s=%s", BUNDLEMETA_NOTE_KEY, v) : NULL;
}
