/* lexpath: see lexpath.h. */
#include "deploy/lexpath.h"

#include <string.h>

#include "base/util.h"

char *lexpath_norm(const char *p)
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

char *lexpath_join(const char *a, const char *b)
{
    AUTOFREE char *j = path_join(a, b);
    return lexpath_norm(j);
}

const char *lexpath_base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

char *lexpath_dir(const char *p)
{
    const char *s = strrchr(p, '/');
    if (!s || s == p)
        return xstrdup("/");
    return xstrndup(p, (size_t)(s - p));
}

bool lexpath_within(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (strcmp(root, "/") == 0)
        return true;
    return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

bool lexpath_stays_below_root(const char *p, size_t n)
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
