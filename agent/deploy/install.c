/*
 * install: the Install step (spec section 12), as a table of contents.
 *
 * Read the previous cleanup file and work out what removing it will leave (cleanup); plan
 * copies, mkdirs and permission steps against that future view, so every conflict is found
 * before anything changes (plan, R-171); check the plan fits (space); then remove the previous
 * install, write install.json (installjson), and execute while appending to the new cleanup file
 * (apply).  A failure after the removal puts the previous revision back (restore_previous).
 */
#include "deploy/install.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "deploy/apply.h"
#include "deploy/cleanup.h"
#include "deploy/install-internal.h"
#include "deploy/installjson.h"
#include "deploy/layout.h"
#include "deploy/plan.h"
#include "deploy/selinux.h"
#include "deploy/space.h"
#include "parse/appspec.h"

void install_note(const struct install_opts *o, const char *fmt, ...)
{
    if (!o || !o->note)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    o->note(o->note_ctx, line);
}

/* Read the cleanup file at path, remove what it lists, delete it. */
static int remove_listed(const struct install_opts *o, const char *path, bool selinux,
                         struct err *err)
{
    struct cleanup_list c;
    if (cleanup_read(path, o, &c, err) < 0)
        return -1;
    int r = cleanup_remove(&c, selinux, err);
    if (r == 0 && c.present && unlink(path) < 0 && errno != ENOENT)
        r = err_sys(err, "delete the cleanup file '%s'", path);
    cleanup_list_done(&c);
    return r;
}

int install_remove_previous(const char *root_dir, const char *group_id, struct err *err)
{
    AUTOFREE char *path = layout_cleanup_path(root_dir, group_id);
    return remove_listed(NULL, path, selinux_enabled(0), err);
}

/* Execute p, writing a fresh cleanup file at cleanup_path. */
static int execute(const struct install_opts *o, const struct plan *p, const char *cleanup_path,
                   struct err *err)
{
    int fd = cleanup_create(cleanup_path, err);
    if (fd < 0)
        return -1;
    int r = apply_plan(p, o, fd, err);
    if (close(fd) < 0 && r == 0)
        r = err_sys(err, "Install: write the cleanup file '%s'", cleanup_path);
    return r;
}

struct paths {
    char *cleanup; /* owned */
    char *json;    /* owned */
};

/* Steps 1-6 of install.h; *ret_touched tells whether the previous install was (partly) removed. */
static int install_new(const struct appspec *as, const struct install_opts *o,
                       const struct paths *ps, bool *ret_touched, struct err *err)
{
    struct cleanup_list old;
    if (cleanup_read(ps->cleanup, o, &old, err) < 0)
        return -1;
    struct plan p = {.archive_dir = o->archive_dir};
    plan_set_file_exists(&p, as, o->spec_file_exists_behavior);
    cleanup_simulate(&old, &p.gone);
    int r = plan_make(&p, as, err);
    if (r == 0)
        r = space_check(&p, o->ops ? o->ops->statvfs : NULL, err);
    /* Nothing has changed on the host up to here.  From here on a failure has taken
     * files of the previous install away when its cleanup file listed any. */
    *ret_touched = r == 0 && old.trusted && old.n > 0;
    if (r == 0)
        r = cleanup_remove(&old, selinux_enabled(o->selinux), err);
    if (r == 0 && old.present && unlink(ps->cleanup) < 0 && errno != ENOENT)
        r = err_sys(err, "Install: delete the cleanup file '%s'", ps->cleanup);
    if (r == 0)
        r = installjson_write(&p, ps->json, err);
    if (r == 0)
        r = execute(o, &p, ps->cleanup, err);
    if (r == 0)
        r = layout_record_last_successful(o->root_dir, o->group_id, o->deployment_dir, err);
    cleanup_list_done(&old);
    plan_done(&p);
    return r;
}

/* Install the revision in prev_dir again, keeping whatever is already on the host. */
static int reinstall(const struct install_opts *o, const char *prev_dir, const char *cleanup_path,
                     struct err *err)
{
    AUTOFREE char *archive = layout_archive_dir(prev_dir);
    AUTOFREE char *spec_path = NULL;
    struct appspec *as = NULL;
    if (appspec_find(archive, NULL, &spec_path, err) < 0 || appspec_load(spec_path, &as, err) < 0)
        return -1;
    struct plan p = {.archive_dir = archive, .feb = APPSPEC_FEB_RETAIN};
    int r = plan_make(&p, as, err);
    if (r == 0)
        r = execute(o, &p, cleanup_path, err);
    plan_done(&p);
    appspec_free(as);
    return r;
}

/* After a failure that removed the previous install: take away what this Install created and
 * install the last successful revision again.  Says how it went at the end of e->msg. */
static void restore_previous(const struct install_opts *o, const char *cleanup_path, struct err *e)
{
    AUTOFREE char *prev = NULL;
    struct err re = ERR_INIT;
    if (layout_read_last_successful(o->root_dir, o->group_id, &prev, &re) < 0 || !prev)
        return; /* nothing to restore: the cleanup file lists what was created */
    int r = remove_listed(o, cleanup_path, selinux_enabled(o->selinux), &re);
    if (r == 0)
        r = reinstall(o, prev, cleanup_path, &re);
    size_t len = strlen(e->msg);
    if (r == 0)
        snprintf(e->msg + len, sizeof(e->msg) - len,
                 "; the previous revision's files (%.300s) were restored", prev);
    else
        snprintf(e->msg + len, sizeof(e->msg) - len,
                 "; restoring the previous revision's files (%.300s) failed too: %.500s", prev,
                 re.msg);
    install_note(o, "Install failed; %s the previous revision's files from '%s'",
                 r == 0 ? "restored" : "could not restore", prev);
}

int install_run(const struct appspec *as, const struct install_opts *o, struct err *err)
{
    if (layout_check_id(o->group_id, "deployment group id", err) < 0)
        return -1;
    if (layout_make_instructions_dir(o->root_dir, err) < 0)
        return -1;
    struct paths ps = {layout_cleanup_path(o->root_dir, o->group_id),
                       layout_install_json_path(o->root_dir, o->group_id)};
    struct err e = ERR_INIT;
    bool touched = false;
    int r = install_new(as, o, &ps, &touched, &e);
    if (r < 0 && touched)
        restore_previous(o, ps.cleanup, &e);
    if (r < 0 && err && !err_is_set(err))
        *err = e;
    free(ps.cleanup);
    free(ps.json);
    return r;
}
