/* lightsout clean (lo_worktree_clean, lightsout/worktree.h): the worktrees
 * of runs that are over, and with --all those that could be resumed, are
 * removed; a running run's never is. Whether a run is running is what its
 * run directory's lock says (lo_run_dir_locked), so a run killed with -9
 * counts as not running, and its worktree is resumable. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lightsout/engine.h"
#include "lightsout/worktree.h"
#include "pipeline/git.h"

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The run directory a worktree's record names (default: runs/<id>). */
static void record_logs(const lo_repo *r, const char *dir, const char *id, char *out, size_t n)
{
    char path[PATH_MAX + 300], *data = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/%s.logs", dir, id);
    if (lo_file_read(path, PATH_MAX, &data, &len, NULL) == 0 && len > 1) {
        data[strcspn(data, "\n")] = '\0';
        snprintf(out, n, "%s", data);
    } else {
        lo_repo_logs_dir(r, id, out, n);
    }
    free(data);
}

/* running, completed, failed, interrupted (also a run killed while
 * running: its checkpoint still says running), or unknown (no checkpoint). */
static void run_state(const char *logs, char *state, size_t n)
{
    if (lo_run_dir_locked(logs)) {
        snprintf(state, n, "running");
        return;
    }
    json_t *cp = lo_checkpoint_read(logs, NULL);
    const char *s = cp ? json_string_value(json_object_get(cp, "state")) : NULL;
    snprintf(state, n, "%s", !s ? "unknown" : !strcmp(s, "running") ? "interrupted" : s);
    json_decref(cp);
}

typedef struct seen {
    char (*ids)[128];
    size_t n, cap;
} seen;

/* 0 added, 1 already there, LO_ENOMEM */
static int seen_add(seen *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->ids[i], id))
            return 1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char (*v)[128] = lo_realloc(s->ids, cap * sizeof *v);
        if (!v)
            return LO_ENOMEM;
        s->ids = v;
        s->cap = cap;
    }
    snprintf(s->ids[s->n++], 128, "%s", id);
    return 0;
}

static int clean_one(const lo_repo *r, const char *dir, const char *id, bool all,
                     void (*fn)(const lo_clean_entry *e, void *ud), void *ud, lo_error *err)
{
    char path[PATH_MAX + 200], record[PATH_MAX + 210], logs[PATH_MAX], state[32];
    snprintf(path, sizeof path, "%s/%s", dir, id);
    snprintf(record, sizeof record, "%s.logs", path);
    record_logs(r, dir, id, logs, sizeof logs);
    run_state(logs, state, sizeof state);
    struct stat sb;
    bool exists = stat(path, &sb) == 0;
    lo_clean_entry e = {.run_id = id, .path = exists ? path : "", .logs = logs,
                        .state = state};
    char why[PATH_MAX + 100];
    bool resumable = !strcmp(state, "interrupted");
    if (!strcmp(state, "running")) {
        e.why = "the run is running";
    } else if (resumable && !all) {
        snprintf(why, sizeof why, "the run can be resumed (lightsout resume %s); --all "
                 "removes it", logs);
        e.why = why;
    } else {
        if (exists) {
            int st = git_run(r->top, ARGS("worktree", "remove", "--force", path), NULL, false,
                             err);
            if (st < 0)
                return st;
            if (st > 0 && stat(path, &sb) == 0)
                return lo_error_set(err, LO_EIO, "git worktree remove --force %s failed",
                                    path);
        }
        if (unlink(record) < 0 && errno != ENOENT)
            return lo_error_set(err, LO_EIO, "%s: %s", record, strerror(errno));
        e.removed = true;
        e.why = !strcmp(state, "unknown") ? "its run directory has no checkpoint"
                                          : "the run is over";
    }
    fn(&e, ud);
    return 0;
}

int lo_worktree_clean(const lo_repo *r, bool all,
                      void (*fn)(const lo_clean_entry *e, void *ud), void *ud, lo_error *err)
{
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/lightsout/worktrees", r->common);
    /* entries whose directories are gone first, so git's list is true */
    int rc = git_run(r->top, ARGS("worktree", "prune"), NULL, true, err);
    DIR *d = rc ? NULL : opendir(dir);
    if (!d) {
        if (rc || errno == ENOENT)
            return rc; /* no run ever made a worktree here */
        return lo_error_set(err, LO_EIO, "%s: %s", dir, strerror(errno));
    }
    /* the ids first: removing entries while reading the directory could
     * skip some */
    seen s = {0};
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char id[128];
        size_t len = strlen(de->d_name);
        if (len > 5 && !strcmp(de->d_name + len - 5, ".logs"))
            len -= 5;
        if (len >= sizeof id)
            continue; /* not a run id of ours */
        memcpy(id, de->d_name, len);
        id[len] = '\0';
        if (seen_add(&s, id) < 0)
            rc = lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    closedir(d);
    for (size_t i = 0; !rc && i < s.n; i++)
        rc = clean_one(r, dir, s.ids[i], all, fn, ud, err);
    free(s.ids);
    return rc ? rc : git_run(r->top, ARGS("worktree", "prune"), NULL, true, err);
}
