/* history: see history.h. */
#include "deploy/history.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/json.h"
#include "base/path.h"
#include "base/util.h"
#include "deploy/layout.h"

#define HISTORY_FILE_MAX (256 * 1024)

const char *history_status_name(enum history_status s)
{
    return s == HISTORY_SUCCEEDED ? "Succeeded" : s == HISTORY_FAILED ? "Failed" : "InProgress";
}

static char *record_path(const char *root_dir, const char *deployment_id)
{
    return xasprintf("%s/%s/%s.json", root_dir, HISTORY_DIR, deployment_id);
}

static struct json *load_json(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (read_file(path, HISTORY_FILE_MAX, &text, &len, NULL) < 0)
        return NULL;
    struct json *j = json_parse(text, len, NULL, NULL);
    free(text);
    if (j && json_type(j) != JSON_OBJECT) {
        json_free(j);
        j = NULL;
    }
    return j;
}

static void set_str(struct json *o, const char *name, const char *v)
{
    if (!v)
        return;
    json_remove(o, name);
    json_add_str(o, name, v);
}

static void set_num(struct json *o, const char *name, double v)
{
    json_remove(o, name);
    json_add_num(o, name, v);
}

static double get_num(const struct json *o, const char *name)
{
    double d = 0;
    return json_num(json_member(o, name), &d) ? d : 0;
}

static const char *get_str(const struct json *o, const char *name)
{
    return json_member_str(o, name);
}

static enum history_status status_of(const struct json *rec)
{
    const char *s = get_str(rec, "status");
    return str_eq(s, "Succeeded") ? HISTORY_SUCCEEDED
           : str_eq(s, "Failed")  ? HISTORY_FAILED
                                  : HISTORY_IN_PROGRESS;
}

/* Fold command c into rec; returns the new status. */
static enum history_status apply(struct json *rec, const struct history_command *c, int64_t end)
{
    enum history_status before = status_of(rec);
    double dur = (double)c->duration_ms / 1000.0;
    if (!json_member(rec, "started_ms"))
        set_num(rec, "started_ms", (double)(end - (int64_t)c->duration_ms));
    set_str(rec, "deployment_id", c->deployment_id);
    set_str(rec, "application", c->application);
    set_str(rec, "deployment_group", c->group_name);
    set_str(rec, "deployment_group_id", c->group_id);
    struct json *events = json_member_rw(rec, "events");
    if (json_type(events) != JSON_ARRAY) {
        json_remove(rec, "events");
        events = json_add_array(rec, "events");
    }
    struct json *ev = json_push_object(events);
    json_add_str(ev, "event", c->event);
    json_add_str(ev, "result", c->succeeded ? (c->noop ? "Skipped" : "Succeeded") : "Failed");
    json_add_num(ev, "duration_s", dur);
    enum history_status now = before;
    if (!c->succeeded && before != HISTORY_FAILED) {
        now = HISTORY_FAILED;
        set_str(rec, "failed_event", c->event);
        set_str(rec, "failed_script", c->script ? c->script : "");
        set_str(rec, "message", c->message ? c->message : "");
    } else if (c->succeeded && before == HISTORY_IN_PROGRESS &&
               str_eq(c->event, c->last_event ? c->last_event : "ValidateService")) {
        now = HISTORY_SUCCEEDED;
    }
    set_str(rec, "status", history_status_name(now));
    set_num(rec, "ended_ms", (double)end);
    set_num(rec, "duration_s", (double)(end - (int64_t)get_num(rec, "started_ms")) / 1000.0);
    return now;
}

struct rec_ref {
    char *path;
    int64_t started;
};

static int ref_newest_first(const void *a, const void *b)
{
    const struct rec_ref *x = a, *y = b;
    return x->started < y->started ? 1 : x->started > y->started ? -1 : strcmp(x->path, y->path);
}

/* Every record file, newest first; *ret_n entries (caller frees with refs_free). */
static struct rec_ref *list_refs(const char *root_dir, size_t *ret_n)
{
    AUTOFREE char *dir = path_join(root_dir, HISTORY_DIR);
    struct rec_ref *v = NULL;
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !str_has_suffix(de->d_name, ".json"))
            continue;
        char *p = path_join(dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
        v = xrealloc(v, (n + 1) * sizeof(*v));
        v[n++] =
            (struct rec_ref){p, (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000};
    }
    if (d)
        closedir(d);
    /* Order by the recorded start; the mtime above is the fallback for unreadable files. */
    for (size_t i = 0; i < n; i++) {
        struct json *j = load_json(v[i].path);
        if (j && get_num(j, "started_ms") > 0)
            v[i].started = (int64_t)get_num(j, "started_ms");
        json_free(j);
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), ref_newest_first);
    *ret_n = n;
    return v;
}

static void refs_free(struct rec_ref *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].path);
    free(v);
}

static void prune(const char *root_dir)
{
    size_t n = 0;
    struct rec_ref *v = list_refs(root_dir, &n);
    for (size_t i = HISTORY_KEEP; i < n; i++)
        (void)unlink(v[i].path);
    refs_free(v, n);
}

int history_record(const char *root_dir, const struct history_command *c,
                   enum history_status *ret_status, bool *ret_finished, struct err *err)
{
    if (layout_check_id(c->deployment_id, "deployment id", err) < 0)
        return -1;
    AUTOFREE char *dir = path_join(root_dir, HISTORY_DIR);
    if (mkdir_p(dir, LAYOUT_DIR_MODE, err) < 0)
        return -1;
    AUTOFREE char *path = record_path(root_dir, c->deployment_id);
    struct json *rec = load_json(path);
    if (!rec)
        rec = json_new_object();
    enum history_status before = status_of(rec);
    enum history_status now = apply(rec, c, c->end_wall_ms ? c->end_wall_ms : (int64_t)wall_ms());
    char *text = json_print(rec, false);
    json_free(rec);
    int r = write_file_atomic(path, text, strlen(text), LAYOUT_FILE_MODE, err);
    free(text);
    if (r < 0)
        return -1;
    prune(root_dir);
    if (ret_status)
        *ret_status = now;
    if (ret_finished)
        *ret_finished = now != before;
    return 0;
}

char *history_list_json(const char *root_dir, size_t n)
{
    size_t total = 0;
    struct rec_ref *v = list_refs(root_dir, &total);
    struct json *arr = json_new_array();
    for (size_t i = 0; i < total && (n == 0 || json_count(arr) < n); i++) {
        struct json *j = load_json(v[i].path);
        if (j && get_str(j, "deployment_id"))
            json_push(arr, j);
        else
            json_free(j);
    }
    refs_free(v, total);
    char *text = json_print(arr, true);
    json_free(arr);
    return text;
}

static void fmt_time(int64_t ms, char *out, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || !localtime_r(&t, &tm) || strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        (void)snprintf(out, n, "-");
}

void history_print(FILE *out, const char *root_dir, size_t n)
{
    char *text = history_list_json(root_dir, n);
    /* Up to HISTORY_KEEP records of at most HISTORY_FILE_MAX bytes each. */
    const struct json_limits lim = {.max_bytes = (size_t)HISTORY_KEEP * HISTORY_FILE_MAX * 2};
    struct json *arr = json_parse(text, strlen(text), &lim, NULL);
    free(text);
    if (json_count(arr) == 0) {
        fprintf(out, "No deployments recorded in %s/%s\n", root_dir, HISTORY_DIR);
        json_free(arr);
        return;
    }
    fprintf(out, "%-14s %-24s %-10s %-19s %9s  %s\n", "DEPLOYMENT", "GROUP", "RESULT", "STARTED",
            "DURATION", "FAILED EVENT / SCRIPT");
    for (const struct json *r = json_first(arr); r; r = json_next(r)) {
        char started[32];
        fmt_time((int64_t)get_num(r, "started_ms"), started, sizeof(started));
        const char *grp = get_str(r, "deployment_group");
        const char *fe = get_str(r, "failed_event");
        const char *fs = get_str(r, "failed_script");
        fprintf(out, "%-14s %-24s %-10s %-19s %8.1fs  %s%s%s\n", get_str(r, "deployment_id"),
                grp ? grp : "-", get_str(r, "status") ? get_str(r, "status") : "?", started,
                get_num(r, "duration_s"), fe ? fe : "", fs && *fs ? " " : "", fs ? fs : "");
    }
    json_free(arr);
}

int64_t history_last_success_ms(const char *root_dir)
{
    size_t n = 0;
    struct rec_ref *v = list_refs(root_dir, &n);
    int64_t best = 0;
    for (size_t i = 0; i < n; i++) {
        struct json *j = load_json(v[i].path);
        if (j && status_of(j) == HISTORY_SUCCEEDED && get_num(j, "ended_ms") > (double)best)
            best = (int64_t)get_num(j, "ended_ms");
        json_free(j);
    }
    refs_free(v, n);
    return best;
}
