/* Running a model's command (the exec operation of the local and sandbox
 * environments) through the bounded runner, lo_proc_exec: its own process
 * group, SIGTERM then SIGKILL after 2 s on timeout or cancel, nothing left
 * running afterwards.
 *
 * stdout and stderr are kept apart (§4.2), so each goes to a file of its
 * own in a private temporary directory and is read back when the command
 * ends; a pipe per stream drained into memory is what the runner does with
 * those files anyway. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/env_internal.h"
#include "lightsout/proc.h"

/* A command that writes more than this is stopped: the model sees at most
 * 30,000 characters of it, and the event carries the rest. */
enum { MAX_OUTPUT = 16 * 1024 * 1024 };

static const char *shell_path(void)
{
    return access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";
}

static int take_file(const char *path, char **text, lo_error *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = lo_file_read(path, 0, &data, &len, err);
    if (rc == LO_ENOENT) { /* the runner stopped before opening it */
        rc = 0;
        data = NULL;
        len = 0;
    }
    if (rc)
        return rc;
    *text = lo_utf8_clean(data ? data : "", len);
    free(data);
    return *text ? 0 : lo_error_set(err, LO_ENOMEM, "out of memory");
}

/* The argv for command: the shell, or the shell under bwrap (which starts in
 * the working directory, so a different cwd is entered by a small wrapper). */
static int build_argv(const lo_agent_local *st, const char *command, const char *cwd,
                      char ***out, lo_error *err)
{
    const char *sh = shell_path();
    if (!st->sandbox) {
        const char *const plain[] = {sh, "-c", command, NULL};
        bool ok;
        *out = lo_agent_strv_dup_(plain, &ok);
        return ok ? 0 : lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    char *const plain[] = {(char *)sh, "-c", (char *)command, NULL};
    char *const in_dir[] = {"/bin/sh", "-c", "cd -- \"$1\" || exit 126; shift; exec \"$@\"",
                            "lightsout-cd", (char *)cwd, (char *)sh, "-c",
                            (char *)command, NULL};
    lo_sandbox sb = {.workdir = st->root, .writable = (const char *const *)st->writable,
                     .network = st->network};
    lo_error e = {0};
    *out = lo_sandbox_argv(&sb, strcmp(cwd, st->root) == 0 ? plain : in_dir, &e);
    if (!*out)
        return lo_error_set(err, e.code ? e.code : LO_EEXEC, "exec: %s", e.msg);
    return 0;
}

static int temp_dir(char out[PATH_MAX], lo_error *err)
{
    const char *t = getenv("TMPDIR");
    if (!t || !*t)
        t = "/tmp";
    if (snprintf(out, PATH_MAX, "%s/lightsout-exec-XXXXXX", t) >= PATH_MAX || !mkdtemp(out))
        return lo_error_set(err, LO_EIO, "exec: cannot create a temporary directory in %s: %s",
                            t, strerror(errno));
    return 0;
}

int lo_agent_local_exec_(lo_agent_env *e, const char *command, int64_t timeout_ms,
                         const char *cwd, char *const *env, const atomic_bool *cancel,
                         lo_agent_exec_result *r, lo_error *err)
{
    memset(r, 0, sizeof *r);
    r->exit_code = -1;
    lo_agent_local *st = e->state;
    if (!command || !*command)
        return lo_error_set(err, LO_EINVAL, "exec: the command is empty");
    if (timeout_ms <= 0)
        return lo_error_set(err, LO_EINVAL, "exec: the timeout must be positive");
    char dir[PATH_MAX];
    int rc = lo_agent_path_resolve_(st->root, "exec", cwd ? cwd : ".", LO_PATH_MUST_EXIST, dir,
                                    err);
    if (rc)
        return rc;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return lo_error_set(err, LO_EINVAL, "exec: %.900s is not a directory", cwd);

    char tmp[PATH_MAX], out_path[PATH_MAX + 16], err_path[PATH_MAX + 16];
    if ((rc = temp_dir(tmp, err)))
        return rc;
    snprintf(out_path, sizeof out_path, "%s/stdout", tmp);
    snprintf(err_path, sizeof err_path, "%s/stderr", tmp);
    char **argv = NULL, **envv = NULL;
    if ((rc = build_argv(st, command, dir, &argv, err)))
        goto out;
    if (!(envv = lo_agent_envv_build_(st->policy, st->extra_env, env))) {
        rc = lo_error_set(err, LO_ENOMEM, "out of memory");
        goto out;
    }
    lo_proc_opts o = {.argv = argv, .cwd = dir, .env = envv, .stdout_path = out_path,
                      .stderr_path = err_path, .timeout_ms = timeout_ms,
                      .kill_grace_ms = 2000, .cancel = cancel,
                      .max_output_bytes = MAX_OUTPUT};
    lo_proc_result pr;
    rc = lo_proc_exec(&o, &pr, err);
    lo_buf_release(&pr.tail);
    if (rc && rc != LO_EIO)
        goto out;
    r->exit_code = pr.exit_code;
    r->term_signal = pr.term_signal;
    r->timed_out = pr.timed_out;
    r->cancelled = pr.cancelled;
    r->output_limited = pr.output_limited;
    r->duration_ms = pr.wall_ms;
    rc = take_file(out_path, &r->stdout_text, err);
    if (!rc)
        rc = take_file(err_path, &r->stderr_text, err);
    if (rc)
        lo_agent_exec_result_release(r);
out:
    unlink(out_path);
    unlink(err_path);
    rmdir(tmp);
    if (st->sandbox)
        lo_sandbox_argv_free(argv);
    else
        lo_agent_envv_free_(argv);
    lo_agent_envv_free_(envv);
    return rc;
}
