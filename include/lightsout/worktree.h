/*
 * Git isolation of a run (src/pipeline/worktree.c, worktree_clean.c;
 * docs/engine.md "Runs in a git worktree").
 *
 * `lightsout run --repo DIR` runs the pipeline in a git worktree of DIR on
 * a new branch lightsout/<run-id>, made from DIR's HEAD: the stages' working
 * directory is the worktree, and after every stage that changed files the
 * worktree is committed ("STAGE: OUTCOME", author and committer
 * "lightsout"). The user's checkout -- HEAD, index, working tree, stash,
 * current branch -- is never touched: every git command runs with -C on the
 * worktree, or only reads DIR (without taking optional locks), and with
 * hooks, signing and automatic gc switched off and the caller's GIT_*
 * variables removed.
 *
 * Everything lives in DIR's git directory, under lightsout/: the worktrees
 * in lightsout/worktrees/<run-id>, beside each a <run-id>.logs file naming
 * its run directory (whose lock tells whether the run is going), and, by
 * default, the run directories in lightsout/runs/<run-id>.
 *
 * Ownership: lo_worktree_create/_resume return an object freed with
 * lo_worktree_free (which leaves the worktree on disk; lo_worktree_remove
 * deletes it). Errors are one line naming DIR and what is wrong.
 */
#ifndef LIGHTSOUT_WORKTREE_H
#define LIGHTSOUT_WORKTREE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "lightsout/base.h"

typedef struct lo_repo {
    char top[PATH_MAX];     /* the root of DIR's working tree, absolute */
    char common[PATH_MAX];  /* the git common directory, absolute */
    char head[64];          /* the commit HEAD names */
    bool dirty;             /* DIR has uncommitted or untracked changes */
} lo_repo;

/* Check that git is installed and dir lies in a non-bare repository with at
 * least one commit, and fill *r. LO_EEXEC: git missing; LO_ENOENT: no such
 * directory; LO_EINVAL: not a repository, bare, or no commit yet. */
int lo_repo_open(const char *dir, lo_repo *r, lo_error *err);

/* {common}/lightsout/runs/<run_id>, the default run directory. */
void lo_repo_logs_dir(const lo_repo *r, const char *run_id, char *out, size_t n);

typedef struct lo_worktree lo_worktree;

/* A new worktree for run_id on the new branch lightsout/<run_id> from
 * r->head; logs (absolute) is recorded beside it for lightsout clean. */
lo_worktree *lo_worktree_create(const lo_repo *r, const char *run_id, const char *logs,
                                lo_error *err);

/* The worktree of a run being resumed: made again from its branch when it
 * was removed; stale git locks of a killed process (index.lock, HEAD.lock,
 * the branch's ref lock) removed -- safe, since the caller holds the run's
 * lock and the worktree is the run's alone; then reset, with its untracked
 * files cleaned, to the last commit of a stage the checkpoint recorded
 * (Lightsout-Step <= steps; base when there is none), so a stage that was
 * cut short runs again from where it began. base is the commit the branch
 * started from (NULL: unknown, the newest such commit or HEAD is kept). */
lo_worktree *lo_worktree_resume(const lo_repo *r, const char *run_id, const char *logs,
                                const char *base, int64_t steps, lo_error *err);

const char *lo_worktree_path(const lo_worktree *w);
const char *lo_worktree_branch(const lo_worktree *w);
const char *lo_worktree_base(const lo_worktree *w);

/* Stage everything (git add -A: ignored files stay out) and commit it when
 * something changed: "STAGE: OUTCOME", with trailers Lightsout-Run and
 * Lightsout-Step: step. *commit gets the new commit's id, or "" when
 * nothing changed. */
int lo_worktree_commit(lo_worktree *w, const char *stage, const char *outcome, int64_t step,
                       char commit[64], lo_error *err);

/* Commits on the branch since its base. */
int lo_worktree_count(lo_worktree *w, int *n, lo_error *err);

/* Remove the worktree (git worktree remove) and its record; the branch
 * stays. */
int lo_worktree_remove(lo_worktree *w, lo_error *err);
void lo_worktree_free(lo_worktree *w);

/* ---- lightsout clean ---- */

typedef struct lo_clean_entry {
    const char *run_id;
    const char *path;       /* the worktree ("" when only its record was left) */
    const char *logs;       /* its run directory */
    const char *state;      /* running, completed, failed, interrupted, unknown */
    bool removed;
    const char *why;        /* why kept, or what was removed */
} lo_clean_entry;

/* Remove the worktrees of r's runs that are not running: those whose run
 * ended (completed or failed) or whose run directory is gone, and with all
 * also those that could be resumed (interrupted, or killed); then prune
 * git's worktree list. fn is called once per worktree found. */
int lo_worktree_clean(const lo_repo *r, bool all,
                      void (*fn)(const lo_clean_entry *e, void *ud), void *ud, lo_error *err);

#endif
