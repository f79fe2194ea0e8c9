/*
 * appspec: locate, parse and validate an AppSpec file (appspec.yml / appspec.yaml, spec section 10)
 * into a struct appspec that install and hook code can use directly.  Parsing is pure: bytes in,
 * struct out, no logging, no globals; appspec_load() and appspec_find() are the only functions
 * that touch the filesystem.  YAML scalars are typed as YAML 1.1 (Psych) does, with the
 * cdagent improvements of R-135 (quoted "0.0" version) and R-146 (unquoted 0644 keeps its text).
 * Every rejection is ERR_APPSPEC with a one-line message "<file> line <n>: <why>", where <why> is
 * the Ruby agent's exact message when the spec gives one.  Warnings that the caller should log
 * (the parser never logs) are collected in struct appspec.warnings.
 * Ownership: everything reachable from a struct appspec is owned by it; appspec_free() releases it.
 */
#ifndef CDAGENT_APPSPEC_H
#define CDAGENT_APPSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct err;
struct lint_hint;
struct lint_report;

#define APPSPEC_MAX_SIZE_BYTES (1024 * 1024) /* bigger input is ERR_LIMIT */
#define APPSPEC_MAX_DEPTH 64                 /* YAML nesting deeper than this is ERR_LIMIT */
#define APPSPEC_MAX_ENTRIES 20000            /* files, permissions, events, scripts, aliased */
#define APPSPEC_MAX_EVENTS 1000              /* distinct events under hooks */
#define APPSPEC_DEFAULT_TIMEOUT_S 3600       /* */
#define APPSPEC_EVENT_TIMEOUT_WARN_S 3600    /* sum per event above this is a warning */
#define APPSPEC_TIMEOUT_CLAMP_S 2147483647u  /* no maximum; huge values are clamped */
#define APPSPEC_DEFAULT_NAME "appspec.yml"
/* ERR_UNSAFE: an AppSpec path (the argument) that leads out of the revision. */
#define APPSPEC_MSG_OUTSIDE "AppSpec path %s resolves outside the revision directory"

/* The 11 default lifecycle events in their default run order. */
#define APPSPEC_N_DEFAULT_EVENTS 11
extern const char *const appspec_default_events[APPSPEC_N_DEFAULT_EVENTS];

enum appspec_file_exists {
    APPSPEC_FEB_UNSET = 0, /* key absent: the spec override or DISALLOW applies */
    APPSPEC_FEB_DISALLOW,
    APPSPEC_FEB_OVERWRITE,
    APPSPEC_FEB_RETAIN,
};

/* One `files` entry. */
struct appspec_file {
    char *source;      /* owned; as written (surrounding whitespace kept, as Ruby) */
    char *source_rel;  /* owned; archive-relative, lexically normalised: "" = whole archive;
                        * resolve it with appspec_path_in_archive() before use */
    char *destination; /* owned; absolute ("/" prepended to a relative one, with a warning) */
    int line;          /* line of the entry in the AppSpec */
};

/* Permission `type` bits. */
#define APPSPEC_TYPE_FILE 1u
#define APPSPEC_TYPE_DIRECTORY 2u

enum appspec_acl_tag {
    APPSPEC_ACL_USER = 0,
    APPSPEC_ACL_GROUP,
    APPSPEC_ACL_MASK,
    APPSPEC_ACL_OTHER,
};

/* One parsed ACL entry. */
struct appspec_acl {
    bool is_default;
    enum appspec_acl_tag tag;
    char *name;      /* owned; "" for base, mask and other entries */
    unsigned perms;  /* rwx bits: 4 r, 2 w, 1 x */
    char *canonical; /* owned; "[default:]<user|group|mask|other>:<name>:<rwx>" */
};

/* SELinux context of a permission entry. */
struct appspec_context {
    char *user;  /* owned; NULL when neither `name` nor `user` given */
    char *type;  /* owned; never NULL */
    char *range; /* owned; normalised ("s0:c0.c2"); NULL when absent */
};

/* One `permissions` entry (R-145 - R-149). */
struct appspec_permission {
    char *object;  /* owned; stripped, as written (install normalises it) */
    char *pattern; /* owned; "**" by default */
    char **except; /* owned array of owned strings */
    size_t n_except;
    unsigned type; /* APPSPEC_TYPE_* bits; both by default; 0 for `type: []` */
    char *owner;   /* owned; NULL = leave unchanged */
    char *group;   /* owned; NULL = leave unchanged */
    bool has_mode;
    mode_t mode;     /* 0 - 07777, valid when has_mode */
    char *mode_text; /* owned; the mode as validated (left-padded, e.g. "0644"); NULL if none */
    struct appspec_acl *acls; /* owned array; NULL/0 when no `acls` */
    size_t n_acls;
    bool acls_have_default; /* some entry is a default entry (R-188 is checked by install) */
    struct appspec_context *context; /* owned; NULL when no `context` */
    int line;
};

/* One hook script. */
struct appspec_script {
    char *location;     /* owned; stripped, as written (a leading '/' is archive-relative) */
    char *location_rel; /* owned; archive-relative, lexically normalised; resolve it with
                         * appspec_path_in_archive() before use */
    uint32_t timeout_s; /* APPSPEC_DEFAULT_TIMEOUT_S when not given */
    char *runas;        /* owned; NULL when not given */
    bool sudo;          /* Ruby truthiness of `sudo` */
    int line;
};

/* One event under `hooks` (events whose value is null are not recorded, R-141). */
struct appspec_event {
    char *name;                     /* owned; free text (custom events allowed) */
    struct appspec_script *scripts; /* owned array, file order */
    size_t n_scripts;               /* may be 0 for `Event: []` */
    int line;
};

/* What a warning is about, so `codedeploy-local validate` can rank it. */
enum appspec_warning_kind {
    APPSPEC_WARN_OTHER = 0,
    APPSPEC_WARN_HOOK_NAME,     /* a hook name one typo away from a default event */
    APPSPEC_WARN_EVENT_TIMEOUT, /* an event's timeouts add up to more than 3600 s */
};

struct appspec {
    char *filename;             /* owned; name used in messages ("appspec.yml") */
    struct appspec_file *files; /* owned array */
    size_t n_files;
    struct appspec_permission *permissions; /* owned array */
    size_t n_permissions;
    struct appspec_event *events; /* owned array, order of first appearance */
    size_t n_events;
    enum appspec_file_exists file_exists_behavior;
    /* owned; "<file> line <n>: ..." lines for the caller to log at WARN: unquoted octal modes
     * relative destinations, per-event timeout sums over 3600 s and
     * hook names one typo away from a default event ("did you mean"). */
    char **warnings;
    size_t n_warnings;
    enum appspec_warning_kind *warning_kinds; /* owned; parallel to warnings */
    int *warning_lines;                       /* owned; parallel to warnings */
};

/* Free everything; accepts NULL. */
void appspec_free(struct appspec *as);

/*
 * Parse and validate AppSpec text.  filename (basename, e.g. "appspec.yml"; NULL = default) is
 * used in messages.  text need not be NUL-terminated.  On success *ret is a new appspec.
 * Errors: ERR_LIMIT when len > APPSPEC_MAX_SIZE_BYTES, nesting > APPSPEC_MAX_DEPTH, more than
 * APPSPEC_MAX_ENTRIES entries or APPSPEC_MAX_EVENTS events, or too many anchors, aliases or
 * merge keys; ERR_APPSPEC for an empty document, YAML syntax errors (with line and
 * column), embedded NUL characters, a non-mapping top level, and every rule of R-134 - R-149,
 * checked in the order of R-138 (version, os, hooks, files, permissions, file_exists_behavior);
 * paths in `files.source` and hook `location` that climb out ("../x") are ERR_APPSPEC
 * "AppSpec path <value> resolves outside the revision directory" (R-131, lexical check only;
 * appspec_path_in_archive() does the symlink-resolving check at install/hook time).  An
 * ERR_APPSPEC message ends with "; hint: ..." when lint finds the likely mistake (issue 17).
 */
int appspec_parse(const char *text, size_t len, const char *filename, struct appspec **ret,
                  struct err *err);

/*
 * appspec_parse() for `codedeploy-local validate`: on an ERR_APPSPEC failure the hint (issue 17:
 * the YAML layout mistake or the value to write) is returned in *ret_hint (line 0 = none) instead
 * of being appended to err->msg as "; hint: line <n> `<line>`: <advice>", and *ret_line is the
 * line the message names (0 = none).  ret_hint and ret_line may be NULL.
 */
int appspec_parse_hinted(const char *text, size_t len, const char *filename, struct appspec **ret,
                         struct lint_hint *ret_hint, int *ret_line, struct err *err);

/*
 * Read path (at most APPSPEC_MAX_SIZE_BYTES) and appspec_parse() it with its basename as the
 * file name.  Errors: those of appspec_parse(), ERR_LIMIT for a big file, ERR_SYSTEM on I/O.
 */
int appspec_load(const char *path, struct appspec **ret, struct err *err);

/*
 * Locate the AppSpec in an unpacked archive directory: preferred_name (the spec's
 * AppSpecFilename or codedeploy-local -A; NULL = "appspec.yml") if it is a file, else
 * appspec.yaml, else appspec.yml.  *ret_path (caller frees) is archive_dir/<name>.
 * Errors: ERR_NOT_FOUND with the exact R-130 message when none exists; ERR_UNSAFE when the name
 * or the file (after resolving symlinks) lies outside archive_dir.
 */
int appspec_find(const char *archive_dir, const char *preferred_name, char **ret_path,
                 struct err *err);
/* The R-130 ERR_NOT_FOUND error appspec_find() sets when no AppSpec is there (also for a
 * revision directory that is gone, R-097).  Returns -1. */
int appspec_not_found(const char *archive_dir, const char *preferred_name, struct err *err);

/*
 * For `codedeploy-local validate` (issue 17): what a deployment would silently get wrong although
 * the AppSpec is valid: keys at the wrong level (errors: a hook at the top level never runs) and
 * keys nobody reads (warnings, with a "did you mean").  Problems go to *r with file (NULL =
 * "appspec.yml"), line and the line quoted; a text that is not valid YAML adds nothing.
 */
void appspec_lint(const char *text, size_t len, const char *file, struct lint_report *r);

/* The scripts of an event in file order; NULL and *n = 0 when the event has none. */
const struct appspec_script *appspec_hooks_for(const struct appspec *as, const char *event,
                                               size_t *n);

/* The event entry by name, or NULL when the AppSpec does not list it (or lists it as null). */
const struct appspec_event *appspec_event_find(const struct appspec *as, const char *event);

/* True for the 11 default events of R-208. */
bool appspec_event_is_default(const char *name);

/*
 * The name among candidates (NULL = the default events) nearest to name by edit distance,
 * ignoring case, when it is close enough to be a likely typo; else NULL.  Borrowed pointer.
 */
const char *appspec_event_suggest(const char *name, const char *const *candidates, size_t n);

/*
 * R-144 checks, for Install when the deployment spec has AllPossibleLifecycleEvents:
 * (1) every AppSpec event name and every name in mapping_events (may be NULL/0) must be in
 * all_events, else ERR_APPSPEC "<file> file contains unknown lifecycle events: ["A", "B"]"
 * followed by " (<file> line <n>: unknown hook 'A'; did you mean 'B'?)" for the first one;
 * (2) every custom event of all_events (not one of the 11 defaults) must have an entry under
 * hooks, else ERR_APPSPEC "You specified a lifecycle event which is not a default one and doesn't
 * exist in your <file> file: A,B".
 */
int appspec_check_events(const struct appspec *as, const char *const *all_events, size_t n_all,
                         const char *const *mapping_events, size_t n_mapping, struct err *err);

/*
 * File-system half of R-131: rel (a `files.source`, hook `location` or AppSpec name; a leading
 * '/' is archive-relative) joined to archive_dir must, after resolving the symlinks of its
 * longest existing prefix, stay inside archive_dir.  *ret_path (caller frees) is the lexical join
 * archive_dir/<normalised rel>; the path need not exist.  Errors: ERR_UNSAFE "AppSpec path <rel>
 * resolves outside the revision directory"; ERR_SYSTEM when archive_dir cannot be resolved.
 */
int appspec_path_in_archive(const char *archive_dir, const char *rel, char **ret_path,
                            struct err *err);

#endif
