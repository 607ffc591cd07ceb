/* The glob operation of the local and sandbox environments: files below a
 * directory whose path (relative to it) matches a pattern, newest first --
 * the files a model is working on are usually the ones it touched last. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/env_internal.h"
#include "agent/search.h"

enum { MAX_FILES = 1000000 };

typedef struct hit {
    char *rel;
    int64_t mtime_ns;
} hit;

typedef struct globber {
    lo_agent_glob g;
    size_t base_len;   /* rel length of the searched directory */
    hit *v;
    size_t n, cap;
} globber;

static int on_file(const char *abs, const char *rel, void *ud, lo_error *err)
{
    globber *gb = ud;
    const char *sub = gb->base_len ? rel + gb->base_len + 1 : rel;
    if (!lo_agent_glob_match_(&gb->g, sub))
        return 0;
    struct stat st;
    if (stat(abs, &st) != 0)
        return 0;
    if (gb->n == gb->cap) {
        size_t cap = gb->cap ? gb->cap * 2 : 256;
        hit *v = lo_realloc(gb->v, cap * sizeof *v);
        if (!v)
            return lo_error_set(err, LO_ENOMEM, "glob: out of memory");
        gb->v = v;
        gb->cap = cap;
    }
    char *copy = lo_strdup(rel);
    if (!copy)
        return lo_error_set(err, LO_ENOMEM, "glob: out of memory");
    gb->v[gb->n++] = (hit){copy, (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec};
    return 0;
}

static int newest_first(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns > y->mtime_ns ? -1 : 1;
    return strcmp(x->rel, y->rel);
}

int lo_agent_local_glob_(lo_agent_env *e, const char *pattern, const char *path, lo_buf *out,
                         lo_error *err)
{
    lo_agent_local *st = e->state;
    if (!pattern || !*pattern)
        return lo_error_set(err, LO_EINVAL, "glob: the pattern is empty");
    char abs[PATH_MAX];
    int rc = lo_agent_path_resolve_(st->root, "glob", path && *path ? path : ".",
                                    LO_PATH_MUST_EXIST, abs, err);
    if (rc)
        return rc;
    struct stat sb;
    if (stat(abs, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return lo_error_set(err, LO_EINVAL, "glob: %.900s is not a directory", path);
    /* an absolute pattern is taken relative to the directory it names */
    if (pattern[0] == '/') {
        size_t n = strlen(abs);
        if (strncmp(pattern, abs, n) != 0 || pattern[n] != '/')
            return lo_error_set(err, LO_EINVAL,
                                "glob: the pattern %.200s is outside the directory searched "
                                "(%s); use a relative pattern",
                                pattern, abs);
        pattern += n + 1;
    }
    globber gb = {0};
    if ((rc = lo_agent_glob_compile_(pattern, &gb.g, err)))
        return lo_agent_err_prefix_(err, rc, "glob");
    const char *rel = lo_agent_path_rel_(st->root, st->root_len, abs);
    gb.base_len = strlen(rel);
    lo_agent_walk w = {.root = st->root, .use_ignore = true, .on_file = on_file, .ud = &gb,
                       .max_files = MAX_FILES};
    rc = lo_agent_walk_(&w, abs, err);
    if (rc == LO_ETOOBIG)
        rc = lo_agent_err_prefix_(err, rc, "glob");
    if (!rc) {
        if (gb.n)
            qsort(gb.v, gb.n, sizeof *gb.v, newest_first);
        for (size_t i = 0; i < gb.n && !rc; i++)
            rc = lo_buf_printf(out, "%s\n", gb.v[i].rel);
        if (rc)
            rc = lo_error_set(err, LO_ENOMEM, "glob: out of memory");
    }
    for (size_t i = 0; i < gb.n; i++)
        free(gb.v[i].rel);
    free(gb.v);
    lo_agent_glob_release_(&gb.g);
    return rc;
}
