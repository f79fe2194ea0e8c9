/* version: see version.h. */
#include "sys/version.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/path.h"
#include "base/util.h"

#ifndef CDAGENT_VERSION
#define CDAGENT_VERSION "0.0.0"
#endif

const char *version_own(void)
{
    return "cdagent-" CDAGENT_VERSION;
}

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

char *version_read_file(const char *path)
{
    AUTOFREE char *text = NULL;
    size_t len = 0;
    if (read_file(path, VERSION_FILE_MAX, &text, &len, NULL) < 0 || strlen(text) != len)
        return NULL;
    char *sep = strstr(text, ": ");
    char *v = sep ? sep + 2 : text;
    while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
        v++;
    size_t n = strlen(v);
    while (n > 0 && strchr(" \t\r\n", v[n - 1]))
        v[--n] = 0;
    return n > 0 && printable_ascii(v) ? xstrdup(v) : NULL;
}

char *version_file_for_root(const char *root_dir)
{
    AUTOFREE char *dir = xstrdup(root_dir);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        dir[--n] = 0;
    char *slash = strrchr(dir, '/');
    if (!slash)
        return xstrdup(VERSION_FILE_NAME); /* relative "root": its parent is "." */
    if (slash == dir)
        slash[1] = 0; /* parent of "/x" is "/" */
    else
        *slash = 0;
    return path_join(dir, VERSION_FILE_NAME);
}

char *version_lookup(const char *root_dir, const char *fallback_file)
{
    char *v = NULL;
    if (root_dir && *root_dir) {
        AUTOFREE char *file = version_file_for_root(root_dir);
        v = version_read_file(file);
    }
    if (!v && fallback_file)
        v = version_read_file(fallback_file);
    return v ? v : xstrdup(version_own());
}

int version_write_file(const char *path, const char *value, struct err *err)
{
    assert(value && *value && printable_ascii(value));
    AUTOFREE char *text = xasprintf(VERSION_FILE_PREFIX "%s", value);
    return write_file_atomic(path, text, strlen(text), VERSION_FILE_MODE, err);
}

int version_publish(const char *root_dir, struct err *err)
{
    AUTOFREE char *file = version_file_for_root(root_dir);
    return version_write_file(file, version_own(), err);
}
