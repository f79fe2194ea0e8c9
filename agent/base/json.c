/* json: see json.h.  A struct json is a cJSON node seen through an opaque pointer. */
#include "base/json.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/util.h"

static cJSON *node(struct json *v)
{
    return (cJSON *)(void *)v;
}

static const cJSON *cnode(const struct json *v)
{
    return (const cJSON *)(const void *)v;
}

static struct json *handle(cJSON *c)
{
    return (struct json *)(void *)c;
}

static const struct json *chandle(const cJSON *c)
{
    return (const struct json *)(const void *)c;
}

/* cJSON returns NULL only when allocation failed (or on a NULL argument, a caller's bug). */
static cJSON *must(cJSON *c)
{
    if (!c)
        abort();
    return c;
}

/* ---- parsing ---- */

/* Before cJSON sees the text: refuse NULs (raw, or \u0000 in a string) and nesting past the
 * limit, so that cJSON's C strings are never cut short and its recursion stays shallow. */
static int prescan(const char *text, size_t len, unsigned max_depth, struct err *err)
{
    unsigned depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '\0')
            return err_set(err, ERR_PARSE, "NUL byte at offset %zu", i);
        if (in_string) {
            if (c == '\\' && i + 1 < len) {
                if (text[i + 1] == 'u' && len - i >= 6 && memcmp(text + i + 2, "0000", 4) == 0)
                    return err_set(err, ERR_PARSE, "\\u0000 in a string at offset %zu", i);
                i++; /* the escaped character cannot end the string */
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return err_set(err, ERR_LIMIT, "JSON nests deeper than %u levels at offset %zu",
                               max_depth, i);
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

struct json *json_parse(const char *text, size_t len, const struct json_limits *lim,
                        struct err *err)
{
    size_t max_bytes = lim && lim->max_bytes ? lim->max_bytes : JSON_DEFAULT_MAX_BYTES;
    unsigned max_depth = lim && lim->max_depth ? lim->max_depth : JSON_DEFAULT_MAX_DEPTH;
    if (len > max_bytes) {
        err_set(err, ERR_LIMIT, "JSON text is larger than %zu bytes", max_bytes);
        return NULL;
    }
    if (!text)
        text = "";
    if (prescan(text, len, max_depth, err) < 0)
        return NULL;
    /* A NUL-terminated copy, its terminator inside the length, lets cJSON insist that nothing
     * but whitespace follows the value; it may hold secrets, so it is wiped. */
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, true);
    size_t off = end && end >= copy ? (size_t)(end - copy) : 0;
    freezero(copy, len + 1);
    if (!root)
        err_set(err, ERR_PARSE, "parse error at offset %zu", off);
    return handle(root);
}

void json_free(struct json *root)
{
    cJSON_Delete(node(root));
}

static void wipe(cJSON *c)
{
    for (; c; c = c->next) {
        if (c->string)
            explicit_bzero(c->string, strlen(c->string));
        if (c->valuestring)
            explicit_bzero(c->valuestring, strlen(c->valuestring));
        wipe(c->child);
    }
}

void json_free_secret(struct json *root)
{
    if (root)
        wipe(node(root)); /* a root has no siblings */
    json_free(root);
}

void json_cleanup(struct json **root)
{
    json_free(*root);
    *root = NULL;
}

/* ---- reading ---- */

enum json_type json_type(const struct json *v)
{
    const cJSON *c = cnode(v);
    if (!c)
        return JSON_ABSENT;
    switch (c->type & 0xff) {
    case cJSON_False:
        return JSON_FALSE;
    case cJSON_True:
        return JSON_TRUE;
    case cJSON_Number:
        return JSON_NUMBER;
    case cJSON_String:
        return JSON_STRING;
    case cJSON_Array:
        return JSON_ARRAY;
    case cJSON_Object:
        return JSON_OBJECT;
    default:
        return JSON_NULL; /* cJSON_NULL, and cJSON_Raw, which this module never creates */
    }
}

const struct json *json_member(const struct json *v, const char *name)
{
    if (json_type(v) != JSON_OBJECT)
        return NULL;
    return chandle(cJSON_GetObjectItemCaseSensitive(cnode(v), name));
}

const char *json_str(const struct json *v)
{
    return json_type(v) == JSON_STRING ? cnode(v)->valuestring : NULL;
}

const char *json_member_str(const struct json *v, const char *name)
{
    return json_str(json_member(v, name));
}

bool json_num(const struct json *v, double *ret)
{
    if (json_type(v) != JSON_NUMBER)
        return false;
    *ret = cnode(v)->valuedouble;
    return true;
}

size_t json_count(const struct json *v)
{
    size_t n = 0;
    for (const struct json *it = json_first(v); it; it = json_next(it))
        n++;
    return n;
}

const struct json *json_first(const struct json *v)
{
    enum json_type t = json_type(v);
    return t == JSON_ARRAY || t == JSON_OBJECT ? chandle(cnode(v)->child) : NULL;
}

const struct json *json_next(const struct json *item)
{
    return item ? chandle(cnode(item)->next) : NULL;
}

/* One step of a path: "[index]" or a member name up to '.' or '['.  Returns the rest of the
 * path after the step (and its '.'), or NULL when the step is malformed. */
static const char *path_step(const struct json *v, const char *p, const struct json **ret)
{
    if (*p == '[') {
        char *end = NULL;
        unsigned long idx = strtoul(p + 1, &end, 10);
        if (end == p + 1 || *end != ']')
            return NULL;
        const struct json *it = json_type(v) == JSON_ARRAY ? json_first(v) : NULL;
        for (; it && idx > 0; idx--)
            it = json_next(it);
        *ret = it;
        p = end + 1;
    } else {
        size_t n = strcspn(p, ".[");
        if (n == 0)
            return NULL;
        AUTOFREE char *name = xstrndup(p, n);
        *ret = json_member(v, name);
        p += n;
    }
    return *p == '.' ? p + 1 : p;
}

static const char *type_name(enum json_type t)
{
    static const char *const names[] = {
        [JSON_ABSENT] = "missing", [JSON_NULL] = "null",        [JSON_FALSE] = "a boolean",
        [JSON_TRUE] = "a boolean", [JSON_NUMBER] = "a number",  [JSON_STRING] = "a string",
        [JSON_ARRAY] = "an array", [JSON_OBJECT] = "an object",
    };
    return names[t];
}

/* The value at path if its type is want (or either boolean for JSON_TRUE), else an error. */
static const struct json *get_typed(const struct json *v, const char *path, enum json_type want,
                                    struct err *err)
{
    const struct json *cur = v;
    for (const char *p = path; cur && *p;) {
        p = path_step(cur, p, &cur);
        if (!p)
            cur = NULL; /* a malformed path names nothing */
    }
    enum json_type t = json_type(cur);
    if (t == JSON_ABSENT) {
        err_set(err, ERR_PARSE, "%s is missing", path);
        return NULL;
    }
    if (t != want && !(want == JSON_TRUE && t == JSON_FALSE)) {
        err_set(err, ERR_PARSE, "%s is %s, not %s", path, type_name(t), type_name(want));
        return NULL;
    }
    return cur;
}

int json_get_str(const struct json *v, const char *path, const char **ret, struct err *err)
{
    const struct json *x = get_typed(v, path, JSON_STRING, err);
    if (!x)
        return -1;
    *ret = json_str(x);
    return 0;
}

int json_get_num(const struct json *v, const char *path, double *ret, struct err *err)
{
    const struct json *x = get_typed(v, path, JSON_NUMBER, err);
    return x && json_num(x, ret) ? 0 : -1;
}

int json_get_bool(const struct json *v, const char *path, bool *ret, struct err *err)
{
    const struct json *x = get_typed(v, path, JSON_TRUE, err);
    if (!x)
        return -1;
    *ret = json_type(x) == JSON_TRUE;
    return 0;
}

int json_get_array(const struct json *v, const char *path, const struct json **ret,
                   size_t *ret_count, struct err *err)
{
    const struct json *x = get_typed(v, path, JSON_ARRAY, err);
    if (!x)
        return -1;
    *ret = x;
    *ret_count = json_count(x);
    return 0;
}

int json_get_object(const struct json *v, const char *path, const struct json **ret,
                    struct err *err)
{
    const struct json *x = get_typed(v, path, JSON_OBJECT, err);
    if (!x)
        return -1;
    *ret = x;
    return 0;
}

/* ---- building ---- */

struct json *json_new_object(void)
{
    return handle(must(cJSON_CreateObject()));
}

struct json *json_new_array(void)
{
    return handle(must(cJSON_CreateArray()));
}

struct json *json_dup(const struct json *v)
{
    return handle(must(cJSON_Duplicate(cnode(v), true)));
}

struct json *json_member_rw(struct json *o, const char *key)
{
    return cJSON_IsObject(node(o)) ? handle(cJSON_GetObjectItemCaseSensitive(node(o), key)) : NULL;
}

void json_remove(struct json *o, const char *key)
{
    cJSON_DeleteItemFromObjectCaseSensitive(node(o), key);
}

void json_add(struct json *o, const char *key, struct json *item)
{
    if (!cJSON_AddItemToObject(node(o), key, node(item)))
        abort(); /* o is not an object or allocation failed: a caller's bug */
}

void json_add_str(struct json *o, const char *key, const char *s)
{
    if (s)
        must(cJSON_AddStringToObject(node(o), key, s));
    else
        json_add_null(o, key);
}

void json_add_num(struct json *o, const char *key, double n)
{
    must(cJSON_AddNumberToObject(node(o), key, n));
}

void json_add_bool(struct json *o, const char *key, bool b)
{
    must(cJSON_AddBoolToObject(node(o), key, b));
}

void json_add_null(struct json *o, const char *key)
{
    must(cJSON_AddNullToObject(node(o), key));
}

struct json *json_add_object(struct json *o, const char *key)
{
    return handle(must(cJSON_AddObjectToObject(node(o), key)));
}

struct json *json_add_array(struct json *o, const char *key)
{
    return handle(must(cJSON_AddArrayToObject(node(o), key)));
}

static void push(struct json *a, cJSON *item)
{
    if (!cJSON_AddItemToArray(node(a), must(item))) {
        cJSON_Delete(item);
        abort(); /* a is not an array: a caller's bug */
    }
}

void json_push(struct json *a, struct json *item)
{
    push(a, node(item));
}

void json_push_str(struct json *a, const char *s)
{
    push(a, s ? cJSON_CreateString(s) : cJSON_CreateNull());
}

struct json *json_push_object(struct json *a)
{
    cJSON *o = must(cJSON_CreateObject());
    push(a, o);
    return handle(o);
}

void json_redact(struct json *v, const char *const *names, const char *with)
{
    cJSON *c = node(v);
    if (!c || !(cJSON_IsObject(c) || cJSON_IsArray(c)))
        return;
    for (cJSON *child = c->child; child; child = child->next) {
        bool named = false;
        for (size_t i = 0; child->string && names[i] && !named; i++)
            named = strcmp(child->string, names[i]) == 0;
        if (named && cJSON_IsString(child)) {
            explicit_bzero(child->valuestring, strlen(child->valuestring));
            if (!cJSON_SetValuestring(child, with))
                abort(); /* allocation failed */
        } else {
            json_redact(handle(child), names, with);
        }
    }
}

char *json_print(const struct json *v, bool pretty)
{
    char *s = pretty ? cJSON_Print(cnode(v)) : cJSON_PrintUnformatted(cnode(v));
    if (!s)
        abort(); /* allocation failed */
    char *r = xstrdup(s);
    cJSON_free(s);
    return r;
}
