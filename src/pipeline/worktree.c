/* Git isolation of a run (lightsout/worktree.h): the repository checks,
 * the run's worktree and branch, a commit per stage, resume and removal.
 * lightsout clean is in worktree_clean.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lightsout/proc.h"
#include "lightsout/worktree.h"
#include "pipeline/git.h"

struct lo_worktree {
    const lo_repo *r;
    char run_id[128];
    char path[PATH_MAX];
    char branch[160];
    char base[64];
    char record[PATH_MAX]; /* {common}/lightsout/worktrees/<run_id>.logs */
};

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- the repository ---- */

static bool is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int lo_repo_open(const char *dir, lo_repo *r, lo_error *err)
{
    memset(r, 0, sizeof *r);
    char gitp[PATH_MAX];
    if (!lo_which("git", gitp, sizeof gitp))
        return lo_error_set(err, LO_EEXEC, "--repo needs git, which is not installed "
                            "(apt-get install git)");
    if (!is_dir(dir))
        return lo_error_set(err, LO_ENOENT, "--repo %s: no such directory", dir);
    lo_buf out;
    lo_buf_init(&out, 0);
    int st = git_run(dir, ARGS("rev-parse", "--is-bare-repository"), &out, false, err);
    if (st < 0)
        goto done;
    if (st != 0) {
        st = lo_error_set(err, LO_EINVAL, "--repo %s is not a git repository", dir);
        goto done;
    }
    if (!strcmp(git_line(&out), "true")) {
        st = lo_error_set(err, LO_EINVAL, "--repo %s is a bare repository: a run needs one "
                          "with a working tree", dir);
        goto done;
    }
    lo_buf_clear(&out);
    st = git_run(dir, ARGS("rev-parse", "--path-format=absolute", "--show-toplevel",
                           "--git-common-dir"), &out, false, err);
    char *nl = out.data ? strchr(out.data, '\n') : NULL;
    if (st != 0 || !nl) {
        /* inside .git itself, say: there is no working tree to branch from */
        st = st < 0 ? st : lo_error_set(err, LO_EINVAL, "--repo %s is not inside a git "
                                        "working tree", dir);
        goto done;
    }
    *nl = '\0';
    snprintf(r->top, sizeof r->top, "%s", out.data);
    lo_buf tmp = {.data = nl + 1, .len = strlen(nl + 1)};
    snprintf(r->common, sizeof r->common, "%s", git_line(&tmp));
    lo_buf_clear(&out);
    st = git_run(dir, ARGS("rev-parse", "--verify", "-q", "HEAD^{commit}"), &out, false, err);
    if (st != 0) {
        st = st < 0 ? st : lo_error_set(err, LO_EINVAL, "--repo %s has no commit yet: the "
                                        "run's branch starts from HEAD, so commit first", dir);
        goto done;
    }
    snprintf(r->head, sizeof r->head, "%s", git_line(&out));
    lo_buf_clear(&out);
    st = git_run(r->top, ARGS("status", "--porcelain", "--ignore-submodules"), &out, true, err);
    if (st == 0)
        r->dirty = out.len > 0;
done:
    lo_buf_release(&out);
    return st < 0 ? st : 0;
}

void lo_repo_logs_dir(const lo_repo *r, const char *run_id, char *out, size_t n)
{
    snprintf(out, n, "%s/lightsout/runs/%s", r->common, run_id);
}

/* ---- the worktree ---- */

static lo_worktree *wt_new(const lo_repo *r, const char *run_id, lo_error *err)
{
    lo_worktree *w = lo_calloc(1, sizeof *w);
    if (!w) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    w->r = r;
    snprintf(w->run_id, sizeof w->run_id, "%s", run_id);
    snprintf(w->branch, sizeof w->branch, "lightsout/%s", run_id);
    if (snprintf(w->path, sizeof w->path, "%s/lightsout/worktrees/%s", r->common, run_id) >=
            (int)sizeof w->path ||
        snprintf(w->record, sizeof w->record, "%s.logs", w->path) >= (int)sizeof w->record) {
        lo_error_set(err, LO_EINVAL, "%s: path too long", r->common);
        free(w);
        return NULL;
    }
    return w;
}

static int write_record(lo_worktree *w, const char *logs, lo_error *err)
{
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/lightsout/worktrees", w->r->common);
    if (lo_mkdir_p(dir, err))
        return LO_EIO;
    char text[PATH_MAX + 2];
    snprintf(text, sizeof text, "%s\n", logs);
    return lo_file_write_atomic(w->record, text, strlen(text), err);
}

lo_worktree *lo_worktree_create(const lo_repo *r, const char *run_id, const char *logs,
                                lo_error *err)
{
    lo_worktree *w = wt_new(r, run_id, err);
    if (!w)
        return NULL;
    snprintf(w->base, sizeof w->base, "%s", r->head);
    /* the record first: a process killed during `worktree add` leaves
     * something lightsout clean can find */
    if (write_record(w, logs, err) ||
        git_run(r->top, ARGS("worktree", "add", "-q", "-b", w->branch, w->path, r->head),
                NULL, true, err)) {
        unlink(w->record);
        free(w);
        return NULL;
    }
    return w;
}

/* The worktree's own git directory, from the "gitdir: X" of its .git. */
static bool worktree_gitdir(const lo_worktree *w, char *out, size_t n)
{
    char path[PATH_MAX + 8], *data = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/.git", w->path);
    if (lo_file_read(path, 4096, &data, &len, NULL))
        return false;
    bool ok = lo_str_starts(data, "gitdir: ");
    if (ok) {
        data[strcspn(data, "\r\n")] = '\0';
        snprintf(out, n, "%s", data + 8);
    }
    free(data);
    return ok;
}

/* Locks a git killed with -9 left; only ever ours (see the header). */
static void remove_stale_locks(const lo_worktree *w)
{
    char gd[PATH_MAX], p[PATH_MAX + 200];
    if (worktree_gitdir(w, gd, sizeof gd)) {
        snprintf(p, sizeof p, "%s/index.lock", gd);
        unlink(p);
        snprintf(p, sizeof p, "%s/HEAD.lock", gd);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/refs/heads/%s.lock", w->r->common, w->branch);
    unlink(p);
}

/* The newest commit since base whose Lightsout-Step is at most steps. */
static int reset_target(lo_worktree *w, int64_t steps, char *target, size_t n, lo_error *err)
{
    char range[160];
    snprintf(range, sizeof range, "%s..HEAD", w->base);
    lo_buf out;
    lo_buf_init(&out, 0);
    int st = git_run(w->path, ARGS("log", "--format=%H %(trailers:key=Lightsout-Step,valueonly)",
                                   w->base[0] ? range : "HEAD"), &out, true, err);
    snprintf(target, n, "%s", w->base[0] ? w->base : "HEAD");
    for (char *line = out.data; st == 0 && line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *sp = strchr(line, ' ');
        int64_t step;
        /* lines of the trailer's value follow the commit's: skip blanks */
        if (sp && sp - line >= 40 && !lo_parse_int64(sp + 1, &step) && step <= steps) {
            snprintf(target, n, "%.*s", (int)(sp - line), line);
            break;
        }
        line = next;
    }
    lo_buf_release(&out);
    return st < 0 ? st : 0;
}

lo_worktree *lo_worktree_resume(const lo_repo *r, const char *run_id, const char *logs,
                                const char *base, int64_t steps, lo_error *err)
{
    lo_worktree *w = wt_new(r, run_id, err);
    if (!w)
        return NULL;
    snprintf(w->base, sizeof w->base, "%s", base ? base : "");
    char ref[200];
    snprintf(ref, sizeof ref, "refs/heads/%s", w->branch);
    int st = git_run(r->top, ARGS("rev-parse", "--verify", "-q", ref), NULL, false, err);
    if (st != 0) {
        if (st > 0)
            lo_error_set(err, LO_EINVAL, "cannot resume in %s: the run's branch %s is gone",
                         r->top, w->branch);
        free(w);
        return NULL;
    }
    remove_stale_locks(w);
    char target[64], gd[PATH_MAX];
    /* git -C on a directory that is not a worktree would find the
     * repository around it (the worktrees live in its git directory), so
     * the worktree's own .git file and git directory tell */
    bool present = worktree_gitdir(w, gd, sizeof gd) && is_dir(gd);
    if (!present) {
        /* removed by lightsout clean (or by hand): made again from the branch */
        if (is_dir(w->path)) {
            lo_error_set(err, LO_EINVAL, "cannot resume: %s exists but is not the run's "
                         "worktree; remove it", w->path);
            free(w);
            return NULL;
        }
        if (git_run(r->top, ARGS("worktree", "prune"), NULL, true, err) ||
            git_run(r->top, ARGS("worktree", "add", "-q", w->path, w->branch), NULL, true,
                    err)) {
            free(w);
            return NULL;
        }
    }
    if (write_record(w, logs, err) || reset_target(w, steps, target, sizeof target, err) ||
        git_run(w->path, ARGS("reset", "-q", "--hard", target), NULL, true, err) ||
        git_run(w->path, ARGS("clean", "-fdq"), NULL, true, err)) {
        free(w);
        return NULL;
    }
    return w;
}

const char *lo_worktree_path(const lo_worktree *w) { return w->path; }
const char *lo_worktree_branch(const lo_worktree *w) { return w->branch; }
const char *lo_worktree_base(const lo_worktree *w) { return w->base; }

int lo_worktree_commit(lo_worktree *w, const char *stage, const char *outcome, int64_t step,
                       char commit[64], lo_error *err)
{
    commit[0] = '\0';
    int st = git_run(w->path, ARGS("add", "-A"), NULL, true, err);
    if (st)
        return st;
    st = git_run(w->path, ARGS("diff", "--cached", "--quiet"), NULL, false, err);
    if (st == 0)
        return 0; /* nothing changed */
    if (st != 1)
        return st < 0 ? st : lo_error_set(err, LO_EIO, "git diff --cached failed in %s",
                                          w->path);
    lo_buf msg;
    lo_buf_init(&msg, 0);
    if (lo_buf_printf(&msg, "%s: %s\n\nRun %s, stage %lld.\n\nLightsout-Run: %s\n"
                      "Lightsout-Step: %lld\n", stage, outcome, w->run_id, (long long)step,
                      w->run_id, (long long)step))
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    st = git_run(w->path, ARGS("commit", "-q", "--no-verify", "-m", msg.data), NULL, true, err);
    lo_buf_release(&msg);
    if (st)
        return st;
    lo_buf out;
    lo_buf_init(&out, 0);
    st = git_run(w->path, ARGS("rev-parse", "HEAD"), &out, true, err);
    if (!st)
        snprintf(commit, 64, "%s", git_line(&out));
    lo_buf_release(&out);
    return st;
}

int lo_worktree_count(lo_worktree *w, int *n, lo_error *err)
{
    char range[240];
    snprintf(range, sizeof range, "%s..%s", w->base, w->branch);
    lo_buf out;
    lo_buf_init(&out, 0);
    int st = git_run(w->r->top, ARGS("rev-list", "--count", w->base[0] ? range : w->branch),
                     &out, true, err);
    int64_t v = 0;
    if (!st && lo_parse_int64(git_line(&out), &v))
        st = lo_error_set(err, LO_EIO, "git rev-list --count: unexpected output");
    *n = (int)v;
    lo_buf_release(&out);
    return st;
}

int lo_worktree_remove(lo_worktree *w, lo_error *err)
{
    int st = git_run(w->r->top, ARGS("worktree", "remove", "--force", w->path), NULL, false,
                     err);
    if (st > 0)
        st = git_run(w->r->top, ARGS("worktree", "prune"), NULL, true, err);
    if (st == 0 && is_dir(w->path))
        st = lo_error_set(err, LO_EIO, "git worktree remove left %s behind", w->path);
    if (st == 0 && unlink(w->record) < 0 && errno != ENOENT)
        st = lo_error_set(err, LO_EIO, "%s: %s", w->record, strerror(errno));
    return st;
}

void lo_worktree_free(lo_worktree *w)
{
    free(w);
}
