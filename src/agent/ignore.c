/* .gitignore rules for the built-in search, as git reads them: comments
 * and blank lines skipped, "!" re-includes, a trailing "/" matches only
 * directories, a slash elsewhere anchors the pattern to its file's
 * directory, and the last matching rule wins. Rules of a directory apply
 * below it only, so they form a stack the walk pushes and pops. ripgrep
 * also reads .ignore files; so do we, for the same results either way. */
#include <stdio.h>
#include <string.h>

#include "agent/search.h"

typedef struct rule {
    lo_agent_glob glob;
    char *base;       /* directory of the ignore file, relative to the root */
    size_t base_len;
    bool negate, dir_only;
} rule;

struct lo_agent_ignore {
    rule *v;
    size_t n, cap;
    size_t *marks;    /* rule count before each push */
    size_t depth, mcap;
};

lo_agent_ignore *lo_agent_ignore_new_(void)
{
    return lo_calloc(1, sizeof(lo_agent_ignore));
}

static void drop_to(lo_agent_ignore *ig, size_t n)
{
    while (ig->n > n) {
        rule *r = &ig->v[--ig->n];
        lo_agent_glob_release_(&r->glob);
        free(r->base);
    }
}

void lo_agent_ignore_free_(lo_agent_ignore *ig)
{
    if (!ig)
        return;
    drop_to(ig, 0);
    free(ig->v);
    free(ig->marks);
    free(ig);
}

/* One line of an ignore file; 0 also for lines that are not rules. */
static int add_line(lo_agent_ignore *ig, const char *base, char *line)
{
    size_t n = strlen(line);
    if (n && line[n - 1] == '\r')
        line[--n] = '\0';
    /* trailing blanks go unless escaped */
    while (n && line[n - 1] == ' ' && !(n > 1 && line[n - 2] == '\\'))
        line[--n] = '\0';
    if (!n || line[0] == '#')
        return 0;
    rule r = {0};
    char *p = line;
    if (*p == '!') {
        r.negate = true;
        p++;
    } else if (*p == '\\' && (p[1] == '!' || p[1] == '#')) {
        p++;
    }
    n = strlen(p);
    if (n && p[n - 1] == '/') {
        r.dir_only = true;
        p[--n] = '\0';
    }
    if (!n)
        return 0;
    bool anchored = strchr(p, '/') != NULL;
    if (*p == '/')
        p++;
    char pat[4200];
    if (snprintf(pat, sizeof pat, "%s%s", anchored ? "" : "**/", p) >= (int)sizeof pat)
        return 0;
    if (lo_agent_glob_compile_(pat, &r.glob, NULL))
        return 0; /* git ignores what it cannot read too */
    if (!(r.base = lo_strdup(base))) {
        lo_agent_glob_release_(&r.glob);
        return LO_ENOMEM;
    }
    r.base_len = strlen(base);
    if (ig->n == ig->cap) {
        size_t cap = ig->cap ? ig->cap * 2 : 32;
        rule *v = lo_realloc(ig->v, cap * sizeof *v);
        if (!v) {
            lo_agent_glob_release_(&r.glob);
            free(r.base);
            return LO_ENOMEM;
        }
        ig->v = v;
        ig->cap = cap;
    }
    ig->v[ig->n++] = r;
    return 0;
}

int lo_agent_ignore_add_(lo_agent_ignore *ig, const char *line)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", line);
    return add_line(ig, "", buf);
}

static int read_rules(lo_agent_ignore *ig, const char *path, const char *rel)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        rc = add_line(ig, rel, line);
    }
    fclose(f);
    return rc;
}

int lo_agent_ignore_push_(lo_agent_ignore *ig, const char *abs, const char *rel)
{
    if (ig->depth == ig->mcap) {
        size_t cap = ig->mcap ? ig->mcap * 2 : 16;
        size_t *m = lo_realloc(ig->marks, cap * sizeof *m);
        if (!m)
            return LO_ENOMEM;
        ig->marks = m;
        ig->mcap = cap;
    }
    ig->marks[ig->depth++] = ig->n;
    char path[4200];
    /* the repository's own excludes apply from its top, the root */
    static const char *const names[] = {".gitignore", ".ignore", ".git/info/exclude"};
    for (size_t i = 0; i < (*rel ? 2 : 3); i++) {
        if (snprintf(path, sizeof path, "%s/%s", abs, names[i]) >= (int)sizeof path)
            continue;
        int rc = read_rules(ig, path, rel);
        if (rc)
            return rc;
    }
    return 0;
}

void lo_agent_ignore_pop_(lo_agent_ignore *ig)
{
    if (ig->depth)
        drop_to(ig, ig->marks[--ig->depth]);
}

bool lo_agent_ignore_match_(const lo_agent_ignore *ig, const char *rel, bool is_dir)
{
    for (size_t i = ig->n; i-- > 0;) {
        const rule *r = &ig->v[i];
        if (r->dir_only && !is_dir)
            continue;
        const char *sub = rel;
        if (r->base_len) {
            if (strncmp(rel, r->base, r->base_len) != 0 || rel[r->base_len] != '/')
                continue;
            sub = rel + r->base_len + 1;
        }
        if (lo_agent_glob_match_(&r->glob, sub))
            return !r->negate;
    }
    return false;
}
