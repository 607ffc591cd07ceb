/* read_many_files (gemini-cli): the text of several files at once, named
 * by path, directory or glob pattern, each under a "--- path ---" header.
 * Everything goes through the environment's operations, so it works (and
 * is confined) wherever read_file does. */
#include <string.h>

#include "agent/search.h"
#include "agent/tools/tools_internal.h"

enum { MAX_FILES = 500 };

typedef struct names {
    char **v;
    size_t n, cap;
} names;

static int add_name(names *s, const char *p, size_t n)
{
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->v[i]) == n && strncmp(s->v[i], p, n) == 0)
            return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        char **v = lo_realloc(s->v, cap * sizeof *v);
        if (!v)
            return LO_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = lo_strndup(p, n)))
        return LO_ENOMEM;
    s->n++;
    return 0;
}

/* Add every line of a glob result. */
static int add_lines(names *s, const lo_buf *b)
{
    for (const char *p = b->data; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n && add_name(s, p, n))
            return LO_ENOMEM;
        p += n + (nl != NULL);
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* abs relative to the environment's working directory, as glob prints paths */
static const char *rel_to_wd(lo_agent_env *env, const char *abs)
{
    const char *wd = env->ops->working_directory(env);
    size_t n = strlen(wd);
    if (strncmp(abs, wd, n) == 0 && abs[n] == '/')
        return abs + n + 1;
    return abs;
}

/* One argument: a glob pattern, a directory (everything below it) or a file. */
static int expand(lo_agent_env *env, const char *arg, names *s, lo_error *err)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    int rc;
    char abs[PATH_MAX];
    lo_agent_dir_entry *v;
    size_t n;
    lo_error le;
    if (strpbrk(arg, "*?[{"))
        rc = env->ops->glob(env, arg, NULL, &b, err);
    else if ((rc = env->ops->resolve(env, arg, true, abs, err)))
        ;
    else if (env->ops->list_dir(env, arg, 1, &v, &n, &le) == 0) { /* a directory */
        lo_agent_dir_entries_free(v, n);
        rc = env->ops->glob(env, "**", arg, &b, err);
    } else {
        const char *rel = rel_to_wd(env, abs);
        rc = add_name(s, rel, strlen(rel));
    }
    if (!rc && add_lines(s, &b))
        rc = LO_ENOMEM;
    lo_buf_release(&b);
    return rc == LO_ENOMEM ? lo_error_set(err, rc, "read_many_files: out of memory") : rc;
}

typedef struct excludes {
    lo_agent_glob *v;
    size_t n;
} excludes;

static void excludes_release(excludes *x)
{
    for (size_t i = 0; i < x->n; i++)
        lo_agent_glob_release_(&x->v[i]);
    free(x->v);
}

static int excludes_compile(const json_t *a, excludes *x, lo_error *err)
{
    memset(x, 0, sizeof *x);
    size_t n = json_array_size(a);
    if (!n)
        return 0;
    if (!(x->v = lo_calloc(n, sizeof *x->v)))
        return lo_error_set(err, LO_ENOMEM, "read_many_files: out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *pat = json_string_value(json_array_get(a, i));
        if (!pat)
            return lo_error_set(err, LO_EINVAL, "read_many_files: exclude[%zu] must be a "
                                                "string", i);
        int rc = lo_agent_glob_compile_(pat, &x->v[i], err);
        if (rc)
            return rc;
        x->n++;
    }
    return 0;
}

static bool excluded(const excludes *x, const char *path)
{
    for (size_t i = 0; i < x->n; i++)
        if (lo_agent_glob_match_(&x->v[i], path))
            return true;
    return false;
}

static int run(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    const json_t *paths = json_object_get(args, "paths");
    const json_t *exclude = json_object_get(args, "exclude");
    if (!json_is_array(paths) || json_array_size(paths) == 0)
        return lo_error_set(err, LO_EINVAL,
                            "read_many_files: the argument paths is required: an array of "
                            "file paths, directories or glob patterns");
    if (exclude && !json_is_array(exclude) && !json_is_null(exclude))
        return lo_error_set(err, LO_EINVAL, "read_many_files: exclude must be an array of "
                                            "glob patterns");
    lo_agent_env *env = lo_agent_tool_env_(ctx, "read_many_files", err);
    if (!env)
        return LO_EINVAL;
    if (!env->ops->glob || !env->ops->list_dir)
        return lo_error_set(err, LO_EINVAL, "read_many_files: the %s environment cannot "
                                            "search", env->ops->name);
    names s = {0};
    excludes x;
    int rc = excludes_compile(exclude, &x, err);
    size_t i;
    const json_t *p;
    json_array_foreach(paths, i, p) {
        if (rc)
            break;
        if (!json_is_string(p) || !*json_string_value(p))
            rc = lo_error_set(err, LO_EINVAL, "read_many_files: paths[%zu] must be a "
                                              "non-empty string", i);
        else
            rc = expand(env, json_string_value(p), &s, err);
    }
    if (!rc && s.n)
        qsort(s.v, s.n, sizeof *s.v, by_name);
    size_t shown = 0, skipped = 0;
    for (i = 0; i < s.n && !rc; i++) {
        if (excluded(&x, s.v[i]))
            continue;
        if (shown == MAX_FILES) {
            skipped++;
            continue;
        }
        char *data = NULL;
        size_t len = 0;
        lo_error le;
        int w;
        if (env->ops->read_file(env, s.v[i], &data, &len, &le)) {
            w = lo_buf_printf(out, "--- %s ---\n[not read: %s]\n", s.v[i], le.msg);
        } else {
            const char *kind = lo_agent_binary_kind_(s.v[i], data, len);
            w = kind ? lo_buf_printf(out, "--- %s ---\n[skipped: %s]\n", s.v[i], kind)
                     : lo_buf_printf(out, "--- %s ---\n", s.v[i]);
            if (!w && !kind) {
                w = lo_buf_append(out, data, len);
                if (!w && len && data[len - 1] != '\n')
                    w = lo_buf_putc(out, '\n');
            }
        }
        free(data);
        shown++;
        if (w)
            rc = lo_error_set(err, LO_ENOMEM, "read_many_files: out of memory");
    }
    bool oom = false;
    if (!rc && shown == 0)
        oom = lo_buf_puts(out, "No files matched the given paths.\n") != 0;
    else if (!rc && skipped)
        oom = lo_buf_printf(out, "--- End of content (%zu more files not read: at most %d at a "
                                 "time) ---\n", skipped, MAX_FILES) != 0;
    else if (!rc)
        oom = lo_buf_puts(out, "--- End of content ---\n") != 0;
    for (i = 0; i < s.n; i++)
        free(s.v[i]);
    free(s.v);
    excludes_release(&x);
    if (oom)
        return lo_error_set(err, LO_ENOMEM, "read_many_files: out of memory");
    return rc;
}

static const char DESC[] =
    "Reads the content of several files at once, given as paths, directories (every file "
    "below them) or glob patterns (e.g. \"src/**/*.ts\"), relative to the working directory. "
    "Each file is shown under a \"--- path ---\" line; binary files are skipped, files "
    "ignored by .gitignore are left out of directories and patterns, and exclude removes "
    "more. Use it to take in a group of related files; use read_file for one file or a "
    "slice of a large one.";

static const char SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"paths\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":1,"
    "\"description\":\"Files, directories or glob patterns to read.\"},"
    "\"exclude\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":\"Glob "
    "patterns of files to leave out.\"}},"
    "\"required\":[\"paths\"],\"additionalProperties\":false}";

int lo_agent_add_read_many_files_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err)
{
    return lo_agent_tool_register_(r, "read_many_files", DESC, SCHEMA, run, f, err);
}
