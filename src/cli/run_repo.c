/* lightsout run --repo: the run in a git worktree (see run_repo.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run_repo.h"

/* The engine's per-stage hook: commit what the stage changed. */
static int commit_stage(void *ud, lo_run *run, const char *node, const char *outcome,
                        int64_t step, lo_error *err)
{
    run_repo *rr = ud;
    char commit[64];
    int rc = lo_worktree_commit(rr->wt, node, outcome, step, commit, err);
    if (!rc && commit[0]) {
        rr->commits++;
        lo_run_emit(run, "worktree_committed",
                    json_pack("{s:s, s:s, s:s, s:I}", "node", node, "commit", commit, "branch",
                              lo_worktree_branch(rr->wt), "step", (json_int_t)step));
    }
    return rc;
}

static int absolute(const char *path, char *out, size_t n)
{
    char cwd[PATH_MAX];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
        return snprintf(out, n, "%s", path) >= (int)n;
    return snprintf(out, n, "%s/%s", cwd, path) >= (int)n;
}

static int attach(run_repo *rr, lo_engine_config *cfg, const char *cmd)
{
    json_t *repo = json_pack("{s:s, s:s, s:s, s:s}", "path", rr->repo.top, "branch",
                             lo_worktree_branch(rr->wt), "worktree", lo_worktree_path(rr->wt),
                             "base", lo_worktree_base(rr->wt));
    rr->extra = repo ? json_pack("{s:o}", "repo", repo) : NULL;
    if (!rr->extra) {
        cli_error(cmd, "out of memory");
        return EXIT_FAIL;
    }
    rr->on = true;
    cfg->workdir = lo_worktree_path(rr->wt);
    cfg->run_id = rr->run_id;
    cfg->logs_root = rr->logs;
    cfg->manifest_extra = rr->extra;
    cfg->after_stage = commit_stage;
    cfg->after_stage_ud = rr;
    return 0;
}

int run_repo_start(run_repo *rr, const char *dir, const char *logs, bool keep, const char *cmd,
                   lo_engine_config *cfg)
{
    lo_error err;
    lo_error_clear(&err);
    rr->keep = keep;
    if (lo_repo_open(dir, &rr->repo, &err)) {
        cli_error(cmd, "%s", err.msg);
        return EXIT_USAGE;
    }
    lo_run_id_new(rr->run_id, sizeof rr->run_id);
    char deflogs[PATH_MAX];
    lo_repo_logs_dir(&rr->repo, rr->run_id, deflogs, sizeof deflogs);
    if (absolute(logs ? logs : deflogs, rr->logs, sizeof rr->logs)) {
        cli_error(cmd, "run directory path too long");
        return EXIT_USAGE;
    }
    if (rr->repo.dirty)
        fprintf(stderr, "note: %s has uncommitted changes; the run starts from its HEAD "
                "(%.12s) without them, and leaves them as they are\n", rr->repo.top,
                rr->repo.head);
    if (!(rr->wt = lo_worktree_create(&rr->repo, rr->run_id, rr->logs, &err))) {
        cli_error(cmd, "%s", err.msg);
        return EXIT_FAIL;
    }
    return attach(rr, cfg, cmd);
}

int run_repo_resume(run_repo *rr, const json_t *manifest, const char *dot, const char *logs,
                    bool keep, const char *cmd, lo_engine_config *cfg)
{
    const json_t *repo = json_object_get(manifest, "repo");
    const char *path = json_string_value(json_object_get(repo, "path"));
    const char *id = json_string_value(json_object_get(manifest, "run_id"));
    if (!repo)
        return 0; /* not a --repo run */
    rr->keep = keep;
    lo_error err;
    lo_error_clear(&err);
    json_t *cp = lo_checkpoint_read(logs, NULL);
    const char *state = cp ? json_string_value(json_object_get(cp, "state")) : NULL;
    int64_t steps = cp ? json_integer_value(json_object_get(cp, "steps")) : 0;
    bool ended = state && (!strcmp(state, "completed") || !strcmp(state, "failed"));
    json_decref(cp);
    if (ended || !lo_run_pipeline_matches(logs, dot))
        return 0; /* nothing runs: the engine says how it ended, or why not */
    if (!path || !id) {
        cli_error(cmd, "%s/manifest.json: the repo record has no path or run_id", logs);
        return EXIT_USAGE;
    }
    if (lo_repo_open(path, &rr->repo, &err)) {
        cli_error(cmd, "%s", err.msg);
        return EXIT_USAGE;
    }
    snprintf(rr->run_id, sizeof rr->run_id, "%s", id);
    if (absolute(logs, rr->logs, sizeof rr->logs)) {
        cli_error(cmd, "run directory path too long");
        return EXIT_USAGE;
    }
    const char *base = json_string_value(json_object_get(repo, "base"));
    if (!(rr->wt = lo_worktree_resume(&rr->repo, id, rr->logs, base, steps, &err))) {
        cli_error(cmd, "%s", err.msg);
        return EXIT_FAIL;
    }
    return attach(rr, cfg, cmd);
}

void run_repo_finish(run_repo *rr, bool ended, const char *cmd)
{
    if (!rr->on)
        return;
    lo_error err;
    lo_error_clear(&err);
    int n = 0;
    bool counted = lo_worktree_count(rr->wt, &n, &err) == 0;
    char commits[32] = "";
    if (counted)
        snprintf(commits, sizeof commits, " (%d commit%s)", n, n == 1 ? "" : "s");
    const char *branch = lo_worktree_branch(rr->wt);
    if (!ended) {
        fprintf(stderr, "branch %s%s; worktree kept for resume: %s\n", branch, commits,
                lo_worktree_path(rr->wt));
    } else if (rr->keep) {
        fprintf(stderr, "branch %s%s; worktree kept (--keep): %s\n", branch, commits,
                lo_worktree_path(rr->wt));
    } else if (lo_worktree_remove(rr->wt, &err)) {
        cli_error(cmd, "branch %s%s; the worktree could not be removed: %s (lightsout clean "
                  "--repo %s retries)", branch, commits, err.msg, rr->repo.top);
    } else {
        fprintf(stderr, "branch %s%s; worktree removed\n", branch, commits);
    }
}

void run_repo_release(run_repo *rr)
{
    lo_worktree_free(rr->wt);
    json_decref(rr->extra);
    memset(rr, 0, sizeof *rr);
}
