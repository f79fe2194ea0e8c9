/*
 * json: the agent's one JSON module and the only includer of cJSON.  It parses text under limits
 * into a tree of opaque values, reads that tree (lenient lookups that return NULL, and typed
 * getters whose errors name the path), builds trees for request bodies and files, and prints them.
 *
 * Parsing is strict: one JSON value, only whitespace after it (an optional UTF-8 BOM before it),
 * at most max_bytes of text and max_depth nested arrays/objects.  Strings are C strings, so NUL
 * is rejected, never truncated: a raw NUL byte anywhere in the text and the escape \u0000 inside a
 * string both fail the parse (ERR_PARSE naming the offset).  No reader in the agent needs a NUL in
 * a string, and a silently shortened name, path or id is worse than a refusal (the deployment
 * specification relies on this to reject embedded NULs).
 *
 * Ownership: json_parse() and json_new_*() return a root the caller frees with json_free() (or
 * json_free_secret() when it held secrets); every other pointer is borrowed from its root and
 * lives as long as the root.  Allocation failure aborts (like util's xmalloc).  Printed text is
 * malloc'd, freed with free().  Object members keep their insertion order, so builders emit
 * members in the order the code adds them.
 */
#ifndef CDAGENT_JSON_H
#define CDAGENT_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

struct json; /* opaque: one value inside a tree */

enum json_type {
    JSON_ABSENT = 0, /* json_type(NULL): a member or item that is not there */
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
};

#define JSON_DEFAULT_MAX_BYTES (1024 * 1024) /* = the HTTP client's default response cap */
#define JSON_DEFAULT_MAX_DEPTH 64            /* the agent's documents nest 5 levels at most */

struct json_limits {
    size_t max_bytes;   /* 0: JSON_DEFAULT_MAX_BYTES */
    unsigned max_depth; /* 0: JSON_DEFAULT_MAX_DEPTH */
};

/* ---- lifecycle ---- */

/*
 * Parse len bytes of text (NUL termination not needed); lim NULL means the defaults.
 * Errors: ERR_LIMIT "JSON text is larger than <n> bytes" / "JSON nests deeper than <n> levels at
 * offset <o>"; ERR_PARSE "NUL byte at offset <o>", "\u0000 in a string at offset <o>", or
 * "parse error at offset <o>" (o counts bytes from the start of text).  Callers prefix their
 * context ("Deployment specification is not valid JSON: parse error at offset 16").
 */
struct json *json_parse(const char *text, size_t len, const struct json_limits *lim,
                        struct err *err);
/* Free a root and everything under it (NULL allowed). */
void json_free(struct json *root);
/* The same after overwriting every string and member name with zeros (documents with keys). */
void json_free_secret(struct json *root);
/* Scoped root: `AUTOJSON struct json *doc = json_parse(...)` is freed when it leaves scope. */
void json_cleanup(struct json **root);
#define AUTOJSON __attribute__((cleanup(json_cleanup)))

/* ---- reading: lenient (NULL / JSON_ABSENT when not there or of another type) ---- */

enum json_type json_type(const struct json *v);
/* Member name of an object (first match, case-sensitive); NULL when v is not an object. */
const struct json *json_member(const struct json *v, const char *name);
/* The string of a string value, else NULL. */
const char *json_str(const struct json *v);
/* Member `name` of v when it is a string, else NULL (json_str(json_member(v, name))). */
const char *json_member_str(const struct json *v, const char *name);
/* True and *ret set when v is a number. */
bool json_num(const struct json *v, double *ret);
/* Items of an array or members of an object: count, first, next (NULL at the end). */
size_t json_count(const struct json *v);
const struct json *json_first(const struct json *v);
const struct json *json_next(const struct json *item);

/* ---- reading: typed getters along a path ---- */

/*
 * path names a value below v: member names separated by '.', array items as [index]
 * ("HostCommand.HostCommandIdentifier", "problems[1].severity", "[0]").  A member whose name holds
 * '.' or '[' is reached with json_member() instead.
 * Errors (ERR_PARSE): "<path> is missing" (also when a step is of the wrong type) and
 * "<path> is <found type>, not <wanted type>" ("HostCommand is null, not an object").  On success
 * *ret is borrowed from the tree.
 */
int json_get_str(const struct json *v, const char *path, const char **ret, struct err *err);
int json_get_num(const struct json *v, const char *path, double *ret, struct err *err);
int json_get_bool(const struct json *v, const char *path, bool *ret, struct err *err);
/* Arrays and objects: *ret is the container, *ret_count its number of items/members. */
int json_get_array(const struct json *v, const char *path, const struct json **ret,
                   size_t *ret_count, struct err *err);
int json_get_object(const struct json *v, const char *path, const struct json **ret,
                    struct err *err);

/* ---- building ---- */

struct json *json_new_object(void);
struct json *json_new_array(void);
/* A new root holding a deep copy of v. */
struct json *json_dup(const struct json *v);
/* json_member() on a tree being built, for adding to the member found. */
struct json *json_member_rw(struct json *o, const char *key);
/* Remove the first member `key` of object o (no-op when absent). */
void json_remove(struct json *o, const char *key);
/* Move root `item` into array a / object o under key; the caller no longer frees item. */
void json_push(struct json *a, struct json *item);
void json_add(struct json *o, const char *key, struct json *item);
/* Add a member to object o (key copied).  json_add_str() with s NULL adds null. */
void json_add_str(struct json *o, const char *key, const char *s);
void json_add_num(struct json *o, const char *key, double n);
void json_add_bool(struct json *o, const char *key, bool b);
void json_add_null(struct json *o, const char *key);
/* Add an empty object / array member and return it (borrowed) to fill. */
struct json *json_add_object(struct json *o, const char *key);
struct json *json_add_array(struct json *o, const char *key);
/* Append to array a: a string (copied; NULL appends null), or an empty object returned to fill. */
void json_push_str(struct json *a, const char *s);
struct json *json_push_object(struct json *a);

/* Replace, at any depth, the value of every string member whose name is in names (a NULL-ended
 * list) by `with`; the old value is zeroed first (redacting tokens from a document for logs). */
void json_redact(struct json *v, const char *const *names, const char *with);

/* Print v compactly ({"a":1}), or indented with tabs (cJSON's formatted style) when pretty.
 * Caller frees. */
char *json_print(const struct json *v, bool pretty);

#endif
