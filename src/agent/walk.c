/* The directory walk of the built-in searches: files below a directory in
 * a stable order (names sorted per directory, depth first), the .git
 * directory skipped, symlinks skipped (they can lead out of the working
 * directory, or in circles; ripgrep skips them too), .gitignore honoured. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/search.h"

typedef struct walker {
    const lo_agent_walk *w;
    lo_error *err;
    lo_agent_ignore *ig;
    size_t files;
    int rc;           /* 0, 1 (stopped) or a negative lo_err */
} walker;

typedef struct ent {
    char *name;
    unsigned char type; /* d_type */
} ent;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const ent *)a)->name, ((const ent *)b)->name);
}

static void visit(walker *k, const char *abs, const char *rel)
{
    if (k->w->max_files && ++k->files > k->w->max_files) {
        k->rc = LO_ETOOBIG;
        return;
    }
    k->rc = k->w->on_file(abs, rel, k->w->ud, k->err);
}

static void walk_dir(walker *k, const char *abs, const char *rel)
{
    if (k->ig && (k->rc = lo_agent_ignore_push_(k->ig, abs, rel)))
        return;
    DIR *d = opendir(abs);
    ent *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
            continue;
        if (strcmp(de->d_name, ".git") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            ent *nv = lo_realloc(v, cap * sizeof *nv);
            if (!nv) {
                k->rc = LO_ENOMEM;
                break;
            }
            v = nv;
        }
        if (!(v[n].name = lo_strdup(de->d_name))) {
            k->rc = LO_ENOMEM;
            break;
        }
        v[n++].type = de->d_type;
    }
    if (d)
        closedir(d);
    if (!k->rc && n)
        qsort(v, n, sizeof *v, by_name);
    for (size_t i = 0; i < n && !k->rc; i++) {
        char cabs[4200], crel[4200];
        if (snprintf(cabs, sizeof cabs, "%s/%s", abs, v[i].name) >= (int)sizeof cabs ||
            snprintf(crel, sizeof crel, "%s%s%s", rel, *rel ? "/" : "", v[i].name) >=
                (int)sizeof crel)
            continue;
        unsigned char t = v[i].type;
        if (t == DT_UNKNOWN) {
            struct stat st;
            if (lstat(cabs, &st) != 0)
                continue;
            t = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG
                                           : S_ISLNK(st.st_mode) ? DT_LNK : DT_UNKNOWN;
        }
        if (t != DT_DIR && t != DT_REG) /* symlinks included: rg does not follow them */
            continue;
        if (k->ig && lo_agent_ignore_match_(k->ig, crel, t == DT_DIR) &&
            !(t == DT_REG && k->w->keep_ignored && k->w->keep_ignored(crel, k->w->ud)))
            continue;
        if (t == DT_DIR)
            walk_dir(k, cabs, crel);
        else
            visit(k, cabs, crel);
    }
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
    if (k->ig)
        lo_agent_ignore_pop_(k->ig);
}

int lo_agent_walk_(const lo_agent_walk *w, const char *start_abs, lo_error *err)
{
    walker k = {.w = w, .err = err};
    size_t rl = strlen(w->root);
    const char *rel = strncmp(start_abs, w->root, rl) == 0 && start_abs[rl] == '/'
                          ? start_abs + rl + 1
                          : "";
    struct stat st;
    if (stat(start_abs, &st) != 0)
        return lo_error_set(err, LO_ENOENT, "%.900s: no such file or directory", start_abs);
    if (!S_ISDIR(st.st_mode)) {
        visit(&k, start_abs, rel);
        return k.rc < 0 ? k.rc : 0;
    }
    if (w->use_ignore && !(k.ig = lo_agent_ignore_new_()))
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    /* the rules of every directory from the root down to start apply too */
    char dir[4200];
    size_t pushed = 0;
    if (k.ig && *rel) {
        snprintf(dir, sizeof dir, "%s", w->root);
        k.rc = lo_agent_ignore_push_(k.ig, dir, "");
        pushed += !k.rc;
        for (const char *p = rel; !k.rc && (p = strchr(p, '/')); p++) {
            char sub[4200];
            snprintf(sub, sizeof sub, "%.*s", (int)(p - rel), rel);
            if (snprintf(dir, sizeof dir, "%s/%.4000s", w->root, sub) >= (int)sizeof dir)
                break;
            if (!(k.rc = lo_agent_ignore_push_(k.ig, dir, sub)))
                pushed++;
        }
    }
    if (!k.rc)
        walk_dir(&k, start_abs, rel);
    while (k.ig && pushed--)
        lo_agent_ignore_pop_(k.ig);
    lo_agent_ignore_free_(k.ig);
    if (k.rc == LO_ETOOBIG)
        return lo_error_set(err, LO_ETOOBIG, "more than %zu files; search a narrower path",
                            w->max_files);
    if (k.rc == LO_ENOMEM)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    return k.rc < 0 ? k.rc : 0; /* on_file filled err */
}
