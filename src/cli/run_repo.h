/* lightsout run --repo / resume of such a run: the git worktree around the
 * engine (src/cli/run_repo.c, lightsout/worktree.h). */
#ifndef LO_CLI_RUN_REPO_H
#define LO_CLI_RUN_REPO_H

#include "lightsout/engine.h"
#include "lightsout/worktree.h"

typedef struct run_repo {
    bool on;                /* this run is isolated in a worktree */
    lo_repo repo;
    lo_worktree *wt;
    json_t *extra;          /* manifest.json's "repo" object, wrapped */
    char run_id[64];
    char logs[PATH_MAX];
    bool keep;
    int commits;            /* made by this process */
} run_repo;

/* `run --repo dir`: check the repository, choose the run id and (unless
 * logs is given) the run directory, make the worktree, and point cfg at
 * them (workdir, run_id, logs_root, manifest_extra, after_stage). Returns
 * an exit code: 0, or EXIT_USAGE with the error printed. */
int run_repo_start(run_repo *rr, const char *dir, const char *logs, bool keep, const char *cmd,
                   lo_engine_config *cfg);

/* `resume` of a run whose manifest has a "repo" object: reopen its
 * worktree, reset to the last recorded stage (lo_worktree_resume). A run
 * that already ended, or whose pipeline dot has changed (the engine then
 * refuses it), gets none (rr->on stays false). Returns an exit code. */
int run_repo_resume(run_repo *rr, const json_t *manifest, const char *dot, const char *logs,
                    bool keep, const char *cmd, lo_engine_config *cfg);

/* After the run: say where the branch is; remove the worktree when the run
 * ended (completed or failed) and keep was not asked for. */
void run_repo_finish(run_repo *rr, bool ended, const char *cmd);
void run_repo_release(run_repo *rr);

#endif
