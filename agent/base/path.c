/* path: see path.h. */
#include "base/path.h"

#include <string.h>

#include "base/util.h"

char *path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/')
        la--;
    while (*b == '/')
        b++;
    if (!*b)
        return xstrndup(a, la);
    if (la == 1 && a[0] == '/')
        return xasprintf("/%s", b);
    return xasprintf("%.*s/%s", (int)la, a, b);
}

bool path_stays_below(const char *p, size_t n)
{
    int depth = 0;
    const char *s = p, *end = p + n;
    while (s < end) {
        while (s < end && *s == '/')
            s++;
        const char *e = memchr(s, '/', (size_t)(end - s));
        if (!e)
            e = end;
        size_t k = (size_t)(e - s);
        if (k == 2 && s[0] == '.' && s[1] == '.') {
            if (--depth < 0)
                return false;
        } else if (k > 0 && !(k == 1 && s[0] == '.')) {
            depth++;
        }
        s = e;
    }
    return true;
}

bool path_is_beneath(const char *rel)
{
    return rel && rel[0] != '/' && path_stays_below(rel, strlen(rel));
}

/* One pass over the segments: "//" and "." dropped, ".." removes the previous segment (never
 * above the root), no trailing '/'. */
char *path_normalise(const char *p)
{
    size_t len = strlen(p);
    char *out = xmalloc(len + 2);
    size_t o = 0;
    const char *s = p;
    while (*s) {
        while (*s == '/')
            s++;
        const char *e = strchrnul(s, '/');
        size_t n = (size_t)(e - s);
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if (n > 0 && !(n == 1 && s[0] == '.')) {
            out[o++] = '/';
            memcpy(out + o, s, n);
            o += n;
        }
        s = e;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    return out;
}

char *path_rel_normalise(const char *rel)
{
    if (!path_stays_below(rel, strlen(rel)))
        return NULL;
    AUTOFREE char *abs = path_normalise(rel);
    return xstrdup(abs + 1);
}

char *path_join_normalise(const char *a, const char *b)
{
    AUTOFREE char *j = path_join(a, b);
    return path_normalise(j);
}

bool path_within(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (strcmp(root, "/") == 0)
        return true;
    return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}
