/*
 * Running other programs: a whole-output run with optional stdin, a lookup
 * on PATH, and lo_proc_exec, the bounded runner that stages, tools and
 * validation gates use (process group, timeouts, cancellation, stall
 * watchdog, output to files, rusage).
 */
#ifndef LIGHTSOUT_PROC_H
#define LIGHTSOUT_PROC_H

#include <stdatomic.h>
#include <sys/types.h>

#include "lightsout/base.h"

/* Full path of prog found on PATH (or prog itself if it contains '/' and is
 * executable), copied into out; false when not found. */
bool lo_which(const char *prog, char *out, size_t out_len);
/* The program a shell command line starts with, when it is a plain name one
 * can look for on PATH (not a builtin, an assignment or shell syntax),
 * copied into out; false otherwise. For preflight checks. */
bool lo_shell_program(const char *cmd, char *out, size_t n);

/* An environment for a child process (src/base/env.c): a copy of base
 * (environ when NULL) without the variables drop names -- "NAME", or
 * "PREFIX*" for every name that starts with PREFIX -- followed by the
 * "NAME=VALUE" strings of set, in order (a name in set replaces the
 * inherited one). drop and set are NULL-terminated and may be NULL.
 * Every string is a copy; NULL when out of memory. */
char **lo_env_new(char *const *base, const char *const *drop, const char *const *set);
void lo_env_free(char **env);

/* Run argv[0] (looked up on PATH) with in_len bytes of input on its stdin;
 * its stdout is appended to out (when not NULL; otherwise inherited) and its
 * stderr to err_out (when not NULL; otherwise inherited). Fills *status with
 * the exit code, or 128+signal. Returns 0, or LO_EEXEC when it cannot start. */
int lo_proc_run(char *const argv[], const char *in, size_t in_len, lo_buf *out,
                lo_buf *err_out, int *status, lo_error *err);
/* The same with the environment env (NULL = environ); argv[0] is looked up
 * on our PATH. */
int lo_proc_run_env(char *const argv[], char *const env[], const char *in, size_t in_len,
                    lo_buf *out, lo_buf *err_out, int *status, lo_error *err);

/* ---- the bounded runner ----
 *
 * lo_proc_exec runs argv in its own process group with stdin from /dev/null
 * and only fds 0-2 open; its stdout and stderr go through pipes that the
 * calling thread drains (into files, a tail buffer and the counters below)
 * until the command ends. The command is stopped -- SIGTERM to the whole
 * group, then SIGKILL after kill_grace_ms -- when the timeout passes, when
 * *cancel becomes true, when it writes nothing for idle_timeout_ms, or when
 * its output passes max_output_bytes.
 *
 * A command's background children do not outlive it: once the main process
 * has exited, the runner sends SIGKILL to its process group, so anything it
 * left running in that group dies with it (a child that moved itself to
 * another group or session with setsid/setpgid escapes this). When the caller
 * is a child subreaper (prctl PR_SET_CHILD_SUBREAPER) the orphans of the group
 * that were handed to it are reaped here too.
 *
 * Every field defaults to "off" at zero, so callers initialise the options
 * with designated initialisers and new fields can be added. */
typedef struct lo_proc_opts {
    char *const *argv;          /* argv[0] looked up on PATH (that of env when
                                 * env sets PATH); relative paths against cwd */
    const char *cwd;            /* NULL = inherit */
    char *const *env;           /* NULL = inherit environ */
    const char *stdout_path;    /* capture stdout to this file (created or
                                 * truncated, mode 0644); NULL = discard */
    const char *stderr_path;    /* capture stderr; NULL = discard; the same
                                 * path as stdout_path merges both streams into
                                 * one pipe, in the order they were written */
    size_t tail_bytes;          /* keep the last N bytes of stdout+stderr in
                                 * memory (0 = none) */
    int64_t timeout_ms;         /* 0 = none */
    int64_t kill_grace_ms;      /* SIGTERM -> SIGKILL delay; 2000 when 0 */
    const atomic_bool *cancel;  /* stop when it becomes true (polled every
                                 * 25 ms); NULL = none */
    int64_t idle_timeout_ms;    /* stall watchdog: no output this long stops
                                 * it (0 = off) */
    int64_t max_output_bytes;   /* stdout+stderr over this stops it (0 = off);
                                 * the files keep the first max_output_bytes */
    /* Called from the calling thread when output arrives, at most once per
     * 100 ms (a last call follows the last output); may be NULL. */
    void (*on_output)(void *ud);
    void *ud;
    /* Called once from the calling thread when the command has started (it
     * has exec'd and leads its own process group, whose id is pid); pid is
     * not reaped before lo_proc_exec returns, so it can be signalled or
     * looked up in /proc until then. Validation gates watch the group's
     * CPU, memory and process count through it. May be NULL. */
    void (*on_start)(pid_t pid, void *ud);
    /* An open cgroup.procs file of a cgroup v2 group (a descriptor above 2,
     * close-on-exec): the child writes "0" to it before exec, which moves
     * it into that group, so everything the command starts is a member
     * from its first instruction. 0 = none. Validation gates measure and
     * stop their commands through the group (src/gate/cgroup.c). */
    int cgroup_procs_fd;
    /* When set, receives whether the child did enter that group; it is
     * written before on_start is called. */
    bool *cgroup_entered;
} lo_proc_opts;

typedef struct lo_proc_result {
    int exit_code;          /* exit status, or -1 when killed by a signal */
    int term_signal;        /* that signal, or 0 */
    bool timed_out, cancelled, stalled, output_limited; /* why it was stopped */
    bool killed;            /* SIGKILL was needed (the grace ran out) */
    int64_t wall_ms;        /* start to reap, monotonic clock */
    int64_t user_ms, sys_ms; /* CPU time, from wait4's rusage (includes the
                              * children the command waited for) */
    int64_t max_rss_kb;     /* peak resident set of the largest process */
    int64_t output_bytes;   /* stdout + stderr bytes the command wrote */
    lo_buf tail;            /* last tail_bytes of output; lo_buf_release */
} lo_proc_result;

/* Run o->argv to completion under the rules above and fill *r (always
 * initialised, so lo_buf_release(&r->tail) is safe after any return).
 * Returns 0 when the command ran, whatever its exit status; LO_EEXEC when it
 * could not start ("NAME: command not found", or the exec error); LO_ENOENT
 * when cwd cannot be entered; LO_EIO when an output file cannot be opened,
 * or cannot be written (then the command still ran and *r is complete);
 * LO_EINVAL for bad options. */
int lo_proc_exec(const lo_proc_opts *o, lo_proc_result *r, lo_error *err);

/* ---- the sandbox (src/base/sandbox.c) ----
 *
 * Commands of agents and validation gates can run under bubblewrap (`bwrap`,
 * Debian package bubblewrap): the whole filesystem read-only, the working
 * directory (and any extra writable paths) read-write, a private /tmp, a new
 * PID namespace, and no network unless it is allowed. lo_sandbox_argv builds
 * the command line; the caller runs it with lo_proc_exec as any other, so
 * timeouts, budgets and process-group cleanup apply unchanged (bwrap is the
 * group leader and --die-with-parent ties the namespace to it). */
typedef struct lo_sandbox {
    const char *workdir;          /* read-write and the initial cwd; required */
    const char *const *writable;  /* more read-write paths, NULL-terminated; may be NULL */
    bool network;                 /* keep the host network (default: none) */
    bool share_tmp;               /* keep the host /tmp (default: a private tmpfs) */
} lo_sandbox;

/* True when bwrap is installed and can create a sandbox here (checked once
 * per process by running one). When false, why (may be NULL) says what is
 * missing, naming the package to install. Thread-safe. */
bool lo_sandbox_available(char *why, size_t why_len);

/* The argv that runs inner (NULL-terminated) inside the sandbox sb: a new
 * NULL-terminated vector the caller frees with lo_sandbox_argv_free. NULL
 * with err filled when sb is invalid (no workdir, a path that does not
 * exist) or bwrap is not available. */
char **lo_sandbox_argv(const lo_sandbox *sb, char *const *inner, lo_error *err);
void lo_sandbox_argv_free(char **argv);

#endif
