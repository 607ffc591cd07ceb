/* A subagent's view of its parent's environment (§4.4, §7.3): the same
 * environment, narrowed to a subdirectory. Relative paths resolve against
 * the subdirectory, commands start there, and a path that resolves outside
 * it is refused like any escape, after the parent environment's own
 * confinement has run. */
#include <string.h>

#include "agent/subagent_env.h"

typedef struct scoped {
    lo_agent_env env;
    lo_agent_env_ops ops;           /* the table, named as the inner one */
    lo_agent_env *inner;
    char dir[PATH_MAX];
} scoped;

static scoped *sc_of(lo_agent_env *e) { return e->state; }

static bool within(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int sc_resolve(lo_agent_env *e, const char *path, bool must_exist, char out[PATH_MAX],
                      lo_error *err)
{
    scoped *sc = sc_of(e);
    char joined[PATH_MAX * 2];
    if (!path || !*path)
        path = ".";
    if (path[0] == '/')
        snprintf(joined, sizeof joined, "%s", path);
    else
        snprintf(joined, sizeof joined, "%s/%s", sc->dir, path);
    int rc = sc->inner->ops->resolve(sc->inner, joined, must_exist, out, err);
    if (rc)
        return rc;
    if (!within(out, sc->dir))
        return lo_error_set(err, LO_EINVAL, "%s: outside this agent's working directory %s",
                            path, sc->dir);
    return 0;
}

static int sc_read(lo_agent_env *e, const char *path, char **data, size_t *len, lo_error *err)
{
    char abs[PATH_MAX];
    int rc = sc_resolve(e, path, true, abs, err);
    return rc ? rc : sc_of(e)->inner->ops->read_file(sc_of(e)->inner, abs, data, len, err);
}

static int sc_write(lo_agent_env *e, const char *path, const char *data, size_t len,
                    lo_error *err)
{
    char abs[PATH_MAX];
    int rc = sc_resolve(e, path, false, abs, err);
    return rc ? rc : sc_of(e)->inner->ops->write_file(sc_of(e)->inner, abs, data, len, err);
}

static int sc_delete(lo_agent_env *e, const char *path, lo_error *err)
{
    char abs[PATH_MAX];
    int rc = sc_resolve(e, path, true, abs, err);
    return rc ? rc : sc_of(e)->inner->ops->delete_file(sc_of(e)->inner, abs, err);
}

static bool sc_exists(lo_agent_env *e, const char *path)
{
    char abs[PATH_MAX];
    lo_error err;
    return sc_resolve(e, path, true, abs, &err) == 0 &&
           sc_of(e)->inner->ops->file_exists(sc_of(e)->inner, abs);
}

static int sc_list(lo_agent_env *e, const char *path, int depth, lo_agent_dir_entry **entries,
                   size_t *n, lo_error *err)
{
    char abs[PATH_MAX];
    int rc = sc_resolve(e, path, true, abs, err);
    return rc ? rc
              : sc_of(e)->inner->ops->list_dir(sc_of(e)->inner, abs, depth, entries, n, err);
}

static int sc_exec(lo_agent_env *e, const char *command, int64_t timeout_ms, const char *cwd,
                   char *const *env, const atomic_bool *cancel, lo_agent_exec_result *r,
                   lo_error *err)
{
    char abs[PATH_MAX];
    int rc = sc_resolve(e, cwd, true, abs, err);
    return rc ? rc
              : sc_of(e)->inner->ops->exec(sc_of(e)->inner, command, timeout_ms, abs, env,
                                           cancel, r, err);
}

static int sc_grep(lo_agent_env *e, const char *pattern, const char *path,
                   const lo_agent_grep_opts *o, lo_buf *out, lo_error *err)
{
    char abs[PATH_MAX];
    int rc = sc_resolve(e, path, true, abs, err);
    return rc ? rc : sc_of(e)->inner->ops->grep(sc_of(e)->inner, pattern, abs, o, out, err);
}

static int sc_glob(lo_agent_env *e, const char *pattern, const char *path, lo_buf *out,
                   lo_error *err)
{
    char abs[PATH_MAX];
    int rc = sc_resolve(e, path, true, abs, err);
    return rc ? rc : sc_of(e)->inner->ops->glob(sc_of(e)->inner, pattern, abs, out, err);
}

static const char *sc_wd(lo_agent_env *e) { return sc_of(e)->dir; }
static const char *sc_platform(lo_agent_env *e)
{
    return sc_of(e)->inner->ops->platform(sc_of(e)->inner);
}
static const char *sc_os(lo_agent_env *e)
{
    return sc_of(e)->inner->ops->os_version(sc_of(e)->inner);
}

/* The inner environment belongs to the parent: only the view is freed. */
static void sc_destroy(lo_agent_env *e) { free(sc_of(e)); }

lo_agent_env *subagent_env_new(lo_agent_env *inner, const char *dir, lo_error *err)
{
    scoped *sc = lo_calloc(1, sizeof *sc);
    if (!sc) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    if (inner->ops->resolve(inner, dir, true, sc->dir, err) != 0) {
        free(sc);
        return NULL;
    }
    sc->inner = inner;
    sc->ops = (lo_agent_env_ops){
        .name = inner->ops->name,
        .read_file = sc_read,
        .write_file = sc_write,
        .delete_file = sc_delete,
        .file_exists = sc_exists,
        .list_dir = sc_list,
        .exec = sc_exec,
        .grep = sc_grep,
        .glob = sc_glob,
        .resolve = sc_resolve,
        .working_directory = sc_wd,
        .platform = sc_platform,
        .os_version = sc_os,
        .destroy = sc_destroy,
    };
    sc->env = (lo_agent_env){.ops = &sc->ops, .state = sc};
    return &sc->env;
}
