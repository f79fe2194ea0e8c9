/*
 * plan: the Install plan (R-174..R-177, R-182..R-188).  plan_make() turns the AppSpec's `files`
 * and `permissions` into an ordered list of steps (copies and mkdirs first, then permission
 * steps in R-185 order), finding every conflict before anything changes on the host:
 * the host is looked at as it will be once the paths in plan.gone (the previous install's
 * cleanup, see cleanup_simulate) are removed.  No filesystem changes, no logging.
 */
#ifndef CDAGENT_PLAN_H
#define CDAGENT_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "base/map.h"
#include "parse/appspec.h"

enum step_kind { STEP_COPY = 1, STEP_MKDIR, STEP_CHMOD, STEP_SETFACL, STEP_SEMANAGE, STEP_CHOWN };

struct step {
    enum step_kind kind;
    char *src; /* owned; copy source (absolute, lexical); otherwise NULL */
    char *dst; /* owned; copy target, mkdir directory, or permission target */
    const struct appspec_permission *perm; /* borrowed; permission steps */
    bool dst_is_dir;                       /* permission steps: target is a planned mkdir */
};

struct plan {
    const char *archive_dir; /* borrowed; the unpacked revision */
    char *archive_real;      /* owned; realpath of archive_dir */
    char *archive_norm;      /* owned; archive_dir absolute and lexically normalised */
    enum appspec_file_exists feb;
    const char *feb_text; /* borrowed; unrecognised spec value, or NULL */
    struct step *steps;   /* owned */
    size_t n, cap;
    size_t n_file_steps;  /* copies and mkdirs, which come first */
    struct map targets;   /* copy/mkdir target -> tag kind, val src */
    struct map permitted; /* targets that already got permissions */
    struct map gone;      /* what the previous install's removal will take away */
};

/*
 * Set p->feb from the AppSpec's file_exists_behavior, else the deployment spec's value
 * spec_feb (upper-case; NULL or "" = DISALLOW), R-172.  An unknown spec value is kept in
 * p->feb_text and fails only when a conflict needs it.
 */
void plan_set_file_exists(struct plan *p, const struct appspec *as, const char *spec_feb);

/*
 * Plan as against p->archive_dir (set, with p->feb and p->gone, by the caller on a zeroed plan).
 * Errors: ERR_INSTALL with the Ruby agent's messages, ERR_UNSAFE for a source resolving outside
 * the archive, ERR_SYSTEM when the revision cannot be read.
 */
int plan_make(struct plan *p, const struct appspec *as, struct err *err);
void plan_done(struct plan *p);

#endif
