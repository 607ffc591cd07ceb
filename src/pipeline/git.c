/* Running git for run isolation (see git.h).
 *
 * Every call gets -c settings that keep a run from doing anything behind
 * the user's back: the repository's hooks would run their code in our
 * worktree (core.hooksPath=/dev/null), commit signing would ask for a key
 * (commit.gpgSign=false), and gc --auto or maintenance would repack the
 * user's object store in the middle of a run. GIT_OPTIONAL_LOCKS=0 keeps
 * `status` from refreshing the user's index. The caller's GIT_* variables
 * go: a GIT_DIR or GIT_INDEX_FILE inherited from a hook would point our
 * commands at the user's checkout. */
#include <stdio.h>
#include <string.h>

#include "lightsout/proc.h"
#include "pipeline/git.h"

enum { MAX_ARGS = 48 };

int git_run(const char *dir, const char *const *args, lo_buf *out, bool must_succeed,
            lo_error *err)
{
    static const char *const drop[] = {"GIT_*", NULL};
    static const char *const set[] = {
        "GIT_AUTHOR_NAME=lightsout", "GIT_AUTHOR_EMAIL=lightsout@localhost",
        "GIT_COMMITTER_NAME=lightsout", "GIT_COMMITTER_EMAIL=lightsout@localhost",
        "GIT_OPTIONAL_LOCKS=0", "GIT_TERMINAL_PROMPT=0", NULL,
    };
    const char *argv[MAX_ARGS] = {"git", "-C", dir, "-c", "core.hooksPath=/dev/null",
                                  "-c", "commit.gpgSign=false", "-c", "gc.auto=0",
                                  "-c", "maintenance.auto=false"};
    size_t n = 11;
    for (size_t i = 0; args[i]; i++) {
        if (n + 2 > MAX_ARGS)
            return lo_error_set(err, LO_EINVAL, "git: too many arguments");
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    char **env = lo_env_new(NULL, drop, set);
    if (!env)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    lo_buf errb;
    lo_buf_init(&errb, 1 << 20);
    int status = -1;
    int rc = lo_proc_run_env((char *const *)argv, env, NULL, 0, out, &errb, &status, err);
    lo_env_free(env);
    if (rc < 0) {
        lo_buf_release(&errb);
        return rc;
    }
    if (status != 0 && must_succeed) {
        lo_buf cmd;
        lo_buf_init(&cmd, 0);
        for (size_t i = 0; args[i] && i < 4; i++)
            lo_buf_printf(&cmd, "%s%s", i ? " " : "", args[i]);
        const char *msg = git_line(&errb);
        rc = lo_error_set(err, LO_EIO, "git %s: %s", cmd.data ? cmd.data : "",
                          *msg ? msg : "failed");
        lo_buf_release(&cmd);
        lo_buf_release(&errb);
        return rc;
    }
    lo_buf_release(&errb);
    return status;
}

const char *git_line(lo_buf *out)
{
    if (!out->data)
        return "";
    char *nl = strchr(out->data, '\n');
    if (nl) {
        *nl = '\0';
        out->len = (size_t)(nl - out->data);
    }
    return out->data;
}
