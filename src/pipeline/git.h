/* Running git for run isolation (src/pipeline/git.c); internal to
 * src/pipeline (worktree.c, worktree_clean.c). */
#ifndef LO_PIPELINE_GIT_H
#define LO_PIPELINE_GIT_H

#include <stdbool.h>

#include "lightsout/base.h"

/* Run `git -C dir ARGS` (args NULL-terminated) with our isolation settings:
 * no hooks, no signing, no automatic gc or maintenance, no optional locks,
 * no terminal prompts, the caller's GIT_* variables removed, and
 * "lightsout" as author and committer. stdout is appended to out (may be
 * NULL). Returns git's exit status (>= 0), or a negative error when git
 * cannot run at all. With must_succeed a non-zero status is an error too:
 * LO_EIO, with "git ARGS: the first line git printed" in err. */
int git_run(const char *dir, const char *const *args, lo_buf *out, bool must_succeed,
            lo_error *err);

/* The first line of out, without its newline, in place. */
const char *git_line(lo_buf *out);

#endif
