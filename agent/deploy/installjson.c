/* installjson: see installjson.h. */
#include "deploy/installjson.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "deploy/layout.h"
#include "deploy/plan.h"
#include "base/fsutil.h"

static void add_str(cJSON *o, const char *key, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

static void add_perm_fields(cJSON *o, const struct step *s)
{
    const struct appspec_permission *perm = s->perm;
    switch (s->kind) {
    case STEP_CHMOD: {
        char m[8];
        snprintf(m, sizeof(m), "%04o", (unsigned)perm->mode);
        add_str(o, "mode", perm->mode_text ? perm->mode_text : m);
        break;
    }
    case STEP_SETFACL: {
        cJSON *acl = cJSON_AddArrayToObject(o, "acl");
        for (size_t i = 0; i < perm->n_acls; i++)
            cJSON_AddItemToArray(acl, cJSON_CreateString(perm->acls[i].canonical));
        break;
    }
    case STEP_SEMANAGE: {
        cJSON *c = cJSON_AddObjectToObject(o, "context");
        add_str(c, "user", perm->context->user);
        cJSON_AddNullToObject(c, "role");
        add_str(c, "type", perm->context->type);
        add_str(c, "range", perm->context->range);
        break;
    }
    case STEP_CHOWN:
        add_str(o, "owner", perm->owner);
        add_str(o, "group", perm->group);
        break;
    default:
        break;
    }
    add_str(o, "file", s->dst);
}

static cJSON *step_json(const struct step *s)
{
    static const char *const names[] = {
        [STEP_COPY] = "copy",       [STEP_MKDIR] = "mkdir",         [STEP_CHMOD] = "chmod",
        [STEP_SETFACL] = "setfacl", [STEP_SEMANAGE] = "semanage", [STEP_CHOWN] = "chown",
    };
    cJSON *o = cJSON_CreateObject();
    add_str(o, "type", names[s->kind]);
    if (s->kind == STEP_COPY) {
        add_str(o, "source", s->src);
        add_str(o, "destination", s->dst);
    } else if (s->kind == STEP_MKDIR) {
        add_str(o, "directory", s->dst);
    } else {
        add_perm_fields(o, s);
    }
    return o;
}

static char *render(const struct plan *p)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(root, "instructions");
    for (size_t i = 0; i < p->n; i++)
        cJSON_AddItemToArray(list, step_json(&p->steps[i]));
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        abort();  /* cJSON fails only when out of memory */
    return text;
}

int installjson_write(const struct plan *p, const char *path, struct err *err)
{
    char *text = render(p);
    int r = write_file_atomic(path, text, strlen(text), LAYOUT_STATE_FILE_MODE, err);
    cJSON_free(text);
    return r;
}
