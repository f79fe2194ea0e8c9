/* installjson: see installjson.h. */
#include "deploy/installjson.h"

#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/util.h"
#include "deploy/layout.h"
#include "deploy/plan.h"
#include "base/fsutil.h"

static void add_perm_fields(struct json *o, const struct step *s)
{
    const struct appspec_permission *perm = s->perm;
    switch (s->kind) {
    case STEP_CHMOD: {
        char m[8];
        snprintf(m, sizeof(m), "%04o", (unsigned)perm->mode);
        json_add_str(o, "mode", perm->mode_text ? perm->mode_text : m);
        break;
    }
    case STEP_SETFACL: {
        struct json *acl = json_add_array(o, "acl");
        for (size_t i = 0; i < perm->n_acls; i++)
            json_push_str(acl, perm->acls[i].canonical);
        break;
    }
    case STEP_SEMANAGE: {
        struct json *c = json_add_object(o, "context");
        json_add_str(c, "user", perm->context->user);
        json_add_null(c, "role");
        json_add_str(c, "type", perm->context->type);
        json_add_str(c, "range", perm->context->range);
        break;
    }
    case STEP_CHOWN:
        json_add_str(o, "owner", perm->owner);
        json_add_str(o, "group", perm->group);
        break;
    default:
        break;
    }
    json_add_str(o, "file", s->dst);
}

static void step_json(struct json *o, const struct step *s)
{
    static const char *const names[] = {
        [STEP_COPY] = "copy",       [STEP_MKDIR] = "mkdir",       [STEP_CHMOD] = "chmod",
        [STEP_SETFACL] = "setfacl", [STEP_SEMANAGE] = "semanage", [STEP_CHOWN] = "chown",
    };
    json_add_str(o, "type", names[s->kind]);
    if (s->kind == STEP_COPY) {
        json_add_str(o, "source", s->src);
        json_add_str(o, "destination", s->dst);
    } else if (s->kind == STEP_MKDIR) {
        json_add_str(o, "directory", s->dst);
    } else {
        add_perm_fields(o, s);
    }
}

static char *render(const struct plan *p)
{
    AUTOJSON struct json *root = json_new_object();
    struct json *list = json_add_array(root, "instructions");
    for (size_t i = 0; i < p->n; i++)
        step_json(json_push_object(list), &p->steps[i]);
    return json_print(root, false);
}

int installjson_write(const struct plan *p, const char *path, struct err *err)
{
    AUTOFREE char *text = render(p);
    return write_file_atomic(path, text, strlen(text), LAYOUT_STATE_FILE_MODE, err);
}
