/* local: see local.h. */
#include "cli/local.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/json.h"
#include "base/path.h"
#include "base/util.h"
#include "parse/lint.h"

const char *const local_default_events[LOCAL_N_DEFAULT_EVENTS] = {
    "BeforeBlockTraffic", "AfterBlockTraffic", "ApplicationStop",
    "DownloadBundle",     "BeforeInstall",     "Install",
    "AfterInstall",       "ApplicationStart",  "ValidateService",
    "BeforeAllowTraffic", "AfterAllowTraffic",
};

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = xstrdup(v);
}

void local_opts_done(struct local_opts *o)
{
    free(o->bundle_location);
    free(o->type);
    free(o->file_exists_behavior);
    free(o->group_id);
    free(o->group_name);
    free(o->application_name);
    free(o->events);
    free(o->config_file);
    free(o->appspec_filename);
    free(o->reuse_from);
    memset(o, 0, sizeof(*o));
}

void local_bundle_done(struct local_bundle *b)
{
    free(b->location);
    free(b->bucket);
    free(b->key);
    free(b->version);
    free(b->etag);
    free(b->account);
    free(b->repository);
    free(b->commit);
    memset(b, 0, sizeof(*b));
}

int local_parse_args(int argc, char **argv, struct local_opts *ret, struct err *err)
{
    static const struct option longopts[] = {
        {"bundle-location", required_argument, NULL, 'l'},
        {"type", required_argument, NULL, 't'},
        {"file-exists-behavior", required_argument, NULL, 'b'},
        {"deployment-group", required_argument, NULL, 'g'},
        {"deployment-group-name", required_argument, NULL, 'd'},
        {"application-name", required_argument, NULL, 'a'},
        {"events", required_argument, NULL, 'e'},
        {"agent-configuration-file", required_argument, NULL, 'c'},
        {"appspec-filename", required_argument, NULL, 'A'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'v'},
        {"restart", no_argument, NULL, 'R'},
        {"json", no_argument, NULL, 'J'},
        {NULL, 0, NULL, 0},
    };
    struct local_opts o = {0};
    AUTOFREE char *cwd = getcwd(NULL, 0);
    o.bundle_location = xstrdup(cwd ? cwd : ".");
    o.type = xstrdup("directory");
    o.file_exists_behavior = xstrdup("DISALLOW");
    o.group_id = xstrdup(LOCAL_DEFAULT_GROUP);
    o.group_name = xstrdup(LOCAL_DEFAULT_GROUP_NAME);
    o.config_file = xstrdup(LOCAL_DEFAULT_CONFIG);

    optind = 1;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":l:t:b:g:d:a:e:c:A:hv", longopts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'l':
            set_str(&o.bundle_location, optarg);
            break;
        case 't':
            set_str(&o.type, optarg);
            break;
        case 'b':
            set_str(&o.file_exists_behavior, optarg);
            break;
        case 'g':
            set_str(&o.group_id, optarg);
            break;
        case 'd':
            set_str(&o.group_name, optarg);
            break;
        case 'a':
            set_str(&o.application_name, optarg);
            break;
        case 'e':
            set_str(&o.events, optarg);
            break;
        case 'c':
            set_str(&o.config_file, optarg);
            break;
        case 'A':
            set_str(&o.appspec_filename, optarg);
            break;
        case 'h':
            o.help = true;
            break;
        case 'v':
            o.version = true;
            break;
        case 'R':
            o.restart = true;
            break;
        case 'J':
            o.json = true;
            break;
        case ':':
            local_opts_done(&o);
            return err_set(err, ERR_USAGE, "option '%s' needs a value", argv[optind - 1]);
        default:
            local_opts_done(&o);
            return err_set(err, ERR_USAGE, "unknown option '%s'", argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "validate") == 0 && !o.validate_only) {
            o.validate_only = true;
            continue;
        }
        err_set(err, ERR_USAGE, "unexpected argument '%s'", argv[i]);
        local_opts_done(&o);
        return -1;
    }
    if (o.json && !o.validate_only) {
        local_opts_done(&o);
        return err_set(err, ERR_USAGE, "--json works with 'validate' only");
    }
    *ret = o;
    return 0;
}

static bool valid_uri_text(const char *s)
{
    if (!*s)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\' ||
            *p == '^' || *p == '`' || *p == '{' || *p == '|' || *p == '}')
            return false;
    return true;
}

/* "a=1&b=2" lookup; returns an owned copy or NULL. */
static char *query_get(const char *q, const char *name)
{
    size_t nl = strlen(name);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > nl && strncmp(q, name, nl) == 0 && q[nl] == '=')
            return xstrndup(q + nl + 1, len - nl - 1);
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static int parse_s3(const char *loc, struct local_bundle *b, struct err *err)
{
    const char *p = loc + 5;
    const char *slash = strchr(p, '/');
    if (!slash || slash == p || !slash[1])
        return err_set(err, ERR_USAGE, "location %s is not a valid uri", loc);
    const char *q = strchr(slash, '?');
    b->kind = LOCAL_KIND_S3;
    b->location = xstrdup(loc);
    b->bucket = xstrndup(p, (size_t)(slash - p));
    b->key = q ? xstrndup(slash + 1, (size_t)(q - slash - 1)) : xstrdup(slash + 1);
    if (q) {
        b->version = query_get(q + 1, "versionId");
        b->etag = query_get(q + 1, "etag");
    }
    return 0;
}

/* Split "a/b/c" into at most max parts; returns the count. */
static size_t split_path(const char *s, char **parts, size_t max)
{
    size_t n = 0;
    while (*s && n < max) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len)
            parts[n++] = xstrndup(s, len);
        if (!e)
            break;
        s = e + 1;
    }
    return n;
}

static int parse_github(const char *loc, struct local_bundle *b, struct err *err)
{
    char *parts[8] = {0};
    size_t n;
    int r = 0;
    bool ok = false;
    if (str_has_prefix(loc, "https://github.com/")) {
        n = split_path(loc + strlen("https://github.com/"), parts, 8);
        if (n == 2) {
            b->account = xstrdup(parts[0]);
            b->repository = xstrdup(parts[1]);
            b->commit = xstrdup("HEAD");
            ok = true;
        }
    } else {
        n = split_path(loc + strlen("https://api.github.com/"), parts, 8);
        if (n == 5 && strcmp(parts[0], "repos") == 0) {
            b->account = xstrdup(parts[1]);
            b->repository = xstrdup(parts[2]);
            b->commit = xstrdup(parts[4]);
            ok = true;
        }
    }
    for (size_t i = 0; i < 8; i++)
        free(parts[i]);
    if (!ok)
        return err_set(
            err, ERR_USAGE,
            "github location %s not in the expected format of "
            "'https://github.com/<owner>/<repository_name>'(assumes HEAD commit) or "
            "'https://api.github.com/repos/<owner>/<repository_name>/tarball/<commit>' or "
            "'https://api.github.com/repos/<owner>/<repository_name>/zipball/<commit>'",
            loc);
    b->kind = LOCAL_KIND_GITHUB;
    b->location = xstrdup(loc);
    return r;
}

static int check_directory_appspec(const char *dir, const char *name, const char *shown,
                                   struct err *err)
{
    if (name) {
        AUTOFREE char *p = path_join(dir, name);
        if (file_exists(p))
            return 0;
        return err_set(err, ERR_USAGE,
                       "Expecting appspec file at location %s/%s but it is not found there. Please "
                       "either run the CLI from within a directory containing the %s file or "
                       "specify a bundle location containing an %s file in its root directory",
                       shown, name, name, name);
    }
    AUTOFREE char *yml = path_join(dir, "appspec.yml");
    AUTOFREE char *yaml = path_join(dir, "appspec.yaml");
    if (file_exists(yml) || file_exists(yaml))
        return 0;
    return err_set(
        err, ERR_USAGE,
        "Expecting appspec file at location %s/appspec.yml or %s/appspec.yaml but it is "
        "not found there. Please either run the CLI from within a directory containing "
        "the appspec.yml or appspec.yaml file or specify a bundle location containing an "
        "appspec.yml or appspec.yaml file in its root directory",
        shown, shown);
}

static int validate_local(const struct local_opts *o, struct local_bundle *b, struct err *err)
{
    const char *loc = o->bundle_location;
    struct stat st;
    if (stat(loc, &st) < 0)
        return err_set(err, ERR_USAGE,
                       "location %s is specified as a file or directory which does not exist", loc);
    bool is_dir = S_ISDIR(st.st_mode);
    if (strcmp(o->type, "directory") == 0 && !is_dir)
        return err_set(err, ERR_USAGE,
                       "location %s is specified with type directory but it is a file", loc);
    if (strcmp(o->type, "directory") != 0 && is_dir)
        return err_set(err, ERR_USAGE,
                       "location %s is specified as a compressed local file but it is a directory",
                       loc);
    char *abs = realpath(loc, NULL);
    if (!abs)
        return err_sys(err, "location %s", loc);
    if (is_dir && check_directory_appspec(abs, o->appspec_filename, loc, err) < 0) {
        free(abs);
        return -1;
    }
    b->kind = is_dir ? LOCAL_KIND_DIRECTORY : LOCAL_KIND_FILE;
    b->location = abs;
    return 0;
}

int local_validate(const struct local_opts *o, struct local_bundle *ret, struct err *err)
{
    static const char *const types[] = {"tgz", "tar", "zip", "directory"};
    bool type_ok = false;
    for (size_t i = 0; i < 4; i++)
        type_ok = type_ok || strcmp(o->type, types[i]) == 0;
    if (!type_ok)
        return err_set(err, ERR_USAGE,
                       "type %s is not a valid type. Must be one of tgz,tar,zip,directory",
                       o->type);
    const char *fe = o->file_exists_behavior;
    if (strcmp(fe, "DISALLOW") != 0 && strcmp(fe, "OVERWRITE") != 0 && strcmp(fe, "RETAIN") != 0)
        return err_set(err, ERR_USAGE,
                       "file-exists-behavior %s is not a valid value. Must be one of "
                       "DISALLOW,OVERWRITE,RETAIN",
                       fe);
    const char *loc = o->bundle_location;
    if (!valid_uri_text(loc))
        return err_set(err, ERR_USAGE, "location %s is not a valid uri", loc);
    if (str_has_prefix(loc, "http://"))
        return err_set(err, ERR_USAGE,
                       "location %s cannot be http, only encrypted (https) url endpoints supported",
                       loc);
    struct local_bundle b = {0};
    int r;
    if (str_has_prefix(loc, "s3://")) {
        r = parse_s3(loc, &b, err);
    } else if (str_has_prefix(loc, "https://github.com/") ||
               str_has_prefix(loc, "https://api.github.com/")) {
        r = parse_github(loc, &b, err);
    } else if (strstr(loc, "://")) {
        r = err_set(err, ERR_USAGE,
                    "unknown location %s cannot be determined to be S3, Github, or a local file / "
                    "directory",
                    loc);
    } else {
        r = validate_local(o, &b, err);
    }
    if (r == 0 && !o->validate_only && access(o->config_file, R_OK) != 0)
        r = err_set(err, ERR_USAGE, "configuration file %s does not exist or is not readable",
                    o->config_file);
    if (r < 0) {
        local_bundle_done(&b);
        return -1;
    }
    *ret = b;
    return 0;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static ssize_t index_of(char **ev, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ev[i], name) == 0)
            return (ssize_t)i;
    return -1;
}

/* none of `bad` may stand before `anchor`. */
static bool order_ok(char **ev, size_t n, const char *anchor, const char *const *bad, size_t nbad)
{
    ssize_t a = index_of(ev, n, anchor);
    if (a < 0)
        return true;
    for (ssize_t i = 0; i < a; i++)
        if (in_list(ev[i], bad, nbad))
            return false;
    return true;
}

void local_events_free(char **events)
{
    if (!events)
        return;
    for (char **p = events; *p; p++)
        free(*p);
    free(events);
}

int local_events(const char *events_arg, char ***ret, size_t *ret_n, struct err *err)
{
    size_t cap = LOCAL_N_DEFAULT_EVENTS + 4, n = 0;
    char **ev;
    if (!events_arg) {
        ev = xcalloc(LOCAL_N_DEFAULT_EVENTS + 1, sizeof(char *));
        for (size_t i = 0; i < LOCAL_N_DEFAULT_EVENTS; i++)
            ev[i] = xstrdup(local_default_events[i]);
        *ret = ev;
        *ret_n = LOCAL_N_DEFAULT_EVENTS;
        return 0;
    }
    /* Split on ',' without trimming; empty parts are kept out. */
    for (const char *p = events_arg; *p; p++)
        if (*p == ',')
            cap++;
    ev = xcalloc(cap + 1, sizeof(char *));
    const char *s = events_arg;
    for (;;) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        if (len)
            ev[n++] = xstrndup(s, len);
        if (!c)
            break;
        s = c + 1;
    }
    static const char *const before_dl[] = {"AfterInstall",       "ApplicationStart",
                                            "BeforeAllowTraffic", "AfterAllowTraffic",
                                            "ValidateService",    "Install"};
    static const char *const before_inst[] = {"AfterInstall", "ApplicationStart",
                                              "BeforeAllowTraffic", "AfterAllowTraffic",
                                              "ValidateService"};
    if (!order_ok(ev, n, "DownloadBundle", before_dl, 6)) {
        err_set(err, ERR_USAGE,
                "The only events that can be specified before DownloadBundle are "
                "BeforeBlockTraffic,AfterBlockTraffic,ApplicationStop. Please fix the order of "
                "your specified events: %s",
                events_arg);
        local_events_free(ev);
        return -1;
    }
    if (!order_ok(ev, n, "Install", before_inst, 5)) {
        err_set(
            err, ERR_USAGE,
            "The only events that can be specified before Install are "
            "BeforeBlockTraffic,AfterBlockTraffic,ApplicationStop,DownloadBundle,BeforeInstall. "
            "Please fix the order of your specified events: %s",
            events_arg);
        local_events_free(ev);
        return -1;
    }
    /* prepend the missing ones, Install after DownloadBundle. */
    const char *need[2] = {"Install", "DownloadBundle"};
    for (size_t k = 0; k < 2; k++) {
        if (index_of(ev, n, need[k]) >= 0)
            continue;
        memmove(ev + 1, ev, n * sizeof(char *));
        ev[0] = xstrdup(need[k]);
        n++;
    }
    ssize_t d = index_of(ev, n, "DownloadBundle"), i = index_of(ev, n, "Install");
    if (i >= 0 && d >= 0 && i < d) {
        char *t = ev[i];
        ev[i] = ev[d];
        ev[d] = t;
    }
    ev[n] = NULL;
    *ret = ev;
    *ret_n = n;
    return 0;
}

void local_new_deployment_id(char out[18])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    out[0] = 'd';
    out[1] = '-';
    for (int i = 0; i < 9; i++)
        out[2 + i] = alphabet[rand_below(36)];
    memcpy(out + 11, "-local", 7);
}

static void revision_json(struct json *rev, const struct local_opts *o,
                          const struct local_bundle *b)
{
    struct json *sub;
    switch (b->kind) {
    case LOCAL_KIND_S3:
        json_add_str(rev, "RevisionType", "S3");
        sub = json_add_object(rev, "S3Revision");
        json_add_str(sub, "Bucket", b->bucket);
        json_add_str(sub, "Key", b->key);
        json_add_str(sub, "BundleType", o->type);
        if (b->version)
            json_add_str(sub, "Version", b->version);
        if (b->etag)
            json_add_str(sub, "ETag", b->etag);
        break;
    case LOCAL_KIND_GITHUB:
        json_add_str(rev, "RevisionType", "GitHub");
        sub = json_add_object(rev, "GitHubRevision");
        json_add_str(sub, "Account", b->account);
        json_add_str(sub, "Repository", b->repository);
        json_add_str(sub, "CommitId", b->commit);
        json_add_str(sub, "BundleType",
                     strcmp(o->type, "zip") == 0 || strcmp(o->type, "tar") == 0 ? o->type : "zip");
        break;
    default:
        json_add_str(rev, "RevisionType",
                     b->kind == LOCAL_KIND_DIRECTORY ? "Local Directory" : "Local File");
        sub = json_add_object(rev, "LocalRevision");
        json_add_str(sub, "Location", b->location);
        json_add_str(sub, "BundleType", o->type);
        break;
    }
}

char *local_build_spec(const struct local_opts *o, const struct local_bundle *b,
                       const char *deployment_id, char *const *events, size_t nevents)
{
    AUTOJSON struct json *doc = json_new_object();
    json_add_str(doc, "ApplicationId", o->bundle_location);
    json_add_str(doc, "ApplicationName",
                 o->application_name ? o->application_name : o->bundle_location);
    json_add_str(doc, "AppSpecFilename", o->appspec_filename ? o->appspec_filename : "appspec.yml");
    json_add_str(doc, "DeploymentGroupId", o->group_id);
    json_add_str(doc, "DeploymentGroupName", o->group_name);
    json_add_str(doc, "DeploymentId", deployment_id);
    json_add_str(doc, "DeploymentCreator", "user");
    json_add_str(doc, "DeploymentType", "IN_PLACE");
    if (o->reuse_from)
        json_add_str(doc, "ReuseArchiveFromDeploymentId", o->reuse_from);
    struct json *ov = json_add_object(doc, "AgentActionOverrides");
    json_add_str(json_add_object(ov, "AgentOverrides"), "FileExistsBehavior",
                 o->file_exists_behavior);
    /* the 11 defaults, then every given event not among them. */
    struct json *all = json_add_array(doc, "AllPossibleLifecycleEvents");
    for (size_t i = 0; i < LOCAL_N_DEFAULT_EVENTS; i++)
        json_push_str(all, local_default_events[i]);
    for (size_t i = 0; i < nevents; i++)
        if (!in_list(events[i], local_default_events, LOCAL_N_DEFAULT_EVENTS))
            json_push_str(all, events[i]);
    revision_json(json_add_object(doc, "Revision"), o, b);
    return json_print(doc, false);
}

/* One problem as the members of object o. */
static void problem_json(struct json *o, const struct lint_problem *p)
{
    json_add_str(o, "severity", p->severity == LINT_ERROR ? "error" : "warning");
    json_add_str(o, "file", p->file);
    json_add_num(o, "line", p->line);
    json_add_str(o, "message", p->message);
    json_add_str(o, "quote", p->quote); /* null when absent */
    json_add_str(o, "fix", p->fix);
}

char *local_report_json(const struct lint_report *r, const char *appspec_path)
{
    AUTOJSON struct json *doc = json_new_object();
    json_add_str(doc, "appspec", appspec_path); /* null when there is none */
    size_t errors = lint_count(r, LINT_ERROR);
    json_add_bool(doc, "valid", errors == 0);
    json_add_num(doc, "errors", (double)errors);
    json_add_num(doc, "warnings", (double)lint_count(r, LINT_WARNING));
    struct json *list = json_add_array(doc, "problems");
    for (size_t i = 0; i < r->n; i++)
        problem_json(json_push_object(list), &r->v[i]);
    return json_print(doc, true);
}
