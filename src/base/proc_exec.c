/* The bounded process runner (lo_proc_exec, see lightsout/proc.h).
 *
 * fork + execve rather than posix_spawn: the child needs its own process
 * group, a working directory, stdin from /dev/null, default signal
 * dispositions and no inherited descriptors, and exec failures have to come
 * back as precise errors. Everything the child touches between fork and exec
 * is prepared beforehand, so it only makes async-signal-safe calls.
 *
 * The parent drains the pipes with poll() and learns that the child has
 * exited from a pidfd when the kernel has them (Linux >= 5.3), else from
 * waitid(WNOWAIT) on a short adaptive tick. The child is not reaped until
 * its group has been sent SIGKILL, so its pid -- which is the group id --
 * cannot be reused while the group is signalled. */
#define _GNU_SOURCE /* pipe2, close_range flags */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lightsout/proc.h"

extern char **environ;

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

enum {
    CANCEL_POLL_MS = 25,      /* how often *cancel is looked at */
    CALLBACK_EVERY_MS = 100,  /* on_output throttle */
    DRAIN_AFTER_EXIT_MS = 500, /* reading on after the group has been killed,
                                * for a writer that escaped the group */
    MAX_TICK_MS = 50,         /* exit polling without a pidfd */
    DEFAULT_GRACE_MS = 2000,
};

/* What went wrong in the child before exec, sent back on a CLOEXEC pipe. */
/* STEP_CGROUP is not fatal: it is followed by EOF (exec) or another record */
enum { STEP_CHDIR = 1, STEP_STDIN, STEP_DUP, STEP_EXEC, STEP_CGROUP };
struct child_failure {
    int step;
    int err;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t tv_ms(struct timeval tv)
{
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd); /* not retried on EINTR: on Linux the fd is gone anyway */
        *fd = -1;
    }
}

/* ---- finding the program ---- */

static bool is_exe(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Build dir/name into out, with relative results taken against cwd. */
static bool join_path(char *out, size_t n, const char *cwd, const char *dir,
                      size_t dir_len, const char *name)
{
    int w;
    if (dir[0] != '/' && cwd && dir_len)
        w = snprintf(out, n, "%s/%.*s/%s", cwd, (int)dir_len, dir, name);
    else if (!dir_len)
        w = cwd ? snprintf(out, n, "%s/%s", cwd, name) : snprintf(out, n, "./%s", name);
    else
        w = snprintf(out, n, "%.*s/%s", (int)dir_len, dir, name);
    return w > 0 && (size_t)w < n;
}

static const char *env_path(char *const *env)
{
    if (!env)
        return getenv("PATH");
    for (size_t i = 0; env[i]; i++)
        if (strncmp(env[i], "PATH=", 5) == 0)
            return env[i] + 5;
    return NULL;
}

static bool find_program(const char *name, char *const *env, const char *cwd,
                         char *out, size_t n)
{
    if (!*name)
        return false;
    if (strchr(name, '/')) {
        if (name[0] == '/' || !cwd) {
            if (snprintf(out, n, "%s", name) >= (int)n)
                return false;
        } else if (!join_path(out, n, cwd, "", 0, name)) {
            return false;
        }
        return is_exe(out);
    }
    const char *path = env_path(env);
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (;;) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (join_path(out, n, cwd, path, len, name) && is_exe(out))
            return true;
        if (!end)
            return false;
        path = end + 1;
    }
}

/* ---- the child ---- */

static void child_fail(int fd, int step)
{
    struct child_failure f = {step, errno};
    ssize_t w;
    do
        w = write(fd, &f, sizeof f);
    while (w < 0 && errno == EINTR);
    _exit(127);
}

static void child_dup(int from, int to, int report)
{
    if (from == to) {
        /* dup2 would keep FD_CLOEXEC; clear it instead */
        if (fcntl(to, F_SETFD, 0) < 0)
            child_fail(report, STEP_DUP);
        return;
    }
    while (dup2(from, to) < 0)
        if (errno != EINTR)
            child_fail(report, STEP_DUP);
}

/* Runs between fork and exec: async-signal-safe calls only. */
static void child_run(const char *path, char *const *argv, char *const *envp,
                      const char *cwd, int out_w, int err_w, int report, int cgroup_fd)
{
    setpgid(0, 0);
    /* a failed move leaves the command outside the group; the caller sees
     * that (the pid is not a member) and measures it the other way */
    if (cgroup_fd > 2 && write(cgroup_fd, "0", 1) < 0) {
        struct child_failure f = {STEP_CGROUP, errno};
        ssize_t w;
        do
            w = write(report, &f, sizeof f);
        while (w < 0 && errno == EINTR);
    }
    /* default dispositions and an empty mask: an ignored SIGPIPE or a
     * blocked SIGTERM in the parent must not leak into the command */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (cwd && chdir(cwd) < 0)
        child_fail(report, STEP_CHDIR);
    int in;
    do
        in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    while (in < 0 && errno == EINTR);
    if (in < 0)
        child_fail(report, STEP_STDIN);
    /* the pipes and /dev/null sit above fd 2 (see lo_proc_exec), so these
     * dup2 calls cannot clobber one another */
    child_dup(in, 0, report);
    child_dup(out_w, 1, report);
    child_dup(err_w, 2, report);
#ifdef SYS_close_range
    /* anything else the process had open without O_CLOEXEC stays behind */
    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
#endif
    execve(path, argv, envp);
    child_fail(report, STEP_EXEC);
}

/* ---- output ---- */

typedef struct sink {
    int fd;             /* output file, or -1 */
    const char *path;
    int write_errno;    /* first write error */
} sink;

static void sink_write(sink *s, const char *p, size_t n)
{
    if (s->fd < 0 || s->write_errno)
        return;
    while (n) {
        ssize_t w = write(s->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            s->write_errno = errno;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void tail_add(lo_buf *t, size_t keep, const char *p, size_t n)
{
    if (!keep)
        return;
    if (n >= keep) {
        lo_buf_clear(t);
        lo_buf_append(t, p + n - keep, keep);
        return;
    }
    /* let it grow to twice the size, then slide: amortised O(1) a byte */
    if (t->len + n > 2 * keep) {
        size_t drop = t->len + n - keep;
        if (drop > t->len)
            drop = t->len;
        memmove(t->data, t->data + drop, t->len - drop);
        t->len -= drop;
        t->data[t->len] = '\0';
    }
    lo_buf_append(t, p, n);
}

static void tail_trim(lo_buf *t, size_t keep)
{
    if (t->len > keep) {
        memmove(t->data, t->data + t->len - keep, keep);
        t->len = keep;
        t->data[keep] = '\0';
    }
}

static int open_out(const char *path, lo_error *err)
{
    int fd;
    do
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        lo_error_set(err, LO_EIO, "%s: %s", path, strerror(errno));
    return fd;
}

/* A pipe whose ends are both above fd 2, so the child's dup2 onto 0-2 never
 * overwrites one of them (possible when the caller closed its stdio). */
static int pipe_high(int p[2])
{
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (p[i] > 2)
            continue;
        int hi = fcntl(p[i], F_DUPFD_CLOEXEC, 3);
        if (hi < 0) {
            close(p[0]);
            close(p[1]);
            return -1;
        }
        close(p[i]);
        p[i] = hi;
    }
    return 0;
}

/* ---- stopping ---- */

static void signal_group(pid_t pgid, int sig)
{
    if (kill(-pgid, sig) < 0 && errno == ESRCH)
        kill(pgid, sig); /* the leader left its group; reach it at least */
}

/* When we are a child subreaper, orphans of the group were handed to us:
 * reap those (they have been sent SIGKILL). ECHILD ends it at once for
 * everybody else. Bounded, for a process stuck in uninterruptible sleep.
 * Called after the leader has been reaped: members still in the group keep
 * its id allocated, and Linux hands out pids cyclically, so -pgid cannot name
 * somebody else's group here in practice. */
static void reap_group(pid_t pgid)
{
    int64_t until = mono_ms() + 2000;
    for (;;) {
        int ws;
        pid_t p = waitpid(-pgid, &ws, WNOHANG);
        if (p > 0)
            continue;
        if (p < 0 && errno == EINTR)
            continue;
        if (p < 0 || mono_ms() >= until)
            return;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

static bool child_exited(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    for (;;) {
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
            return si.si_pid == pid;
        if (errno != EINTR)
            return true; /* ECHILD: somebody reaped it; nothing to wait for */
    }
}

static int64_t min_wait(int64_t cur, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    return cur < 0 || ms < cur ? ms : cur;
}

int lo_proc_exec(const lo_proc_opts *o, lo_proc_result *r, lo_error *err)
{
    memset(r, 0, sizeof *r);
    lo_buf_init(&r->tail, 0);
    r->exit_code = -1;
    if (!o || !o->argv || !o->argv[0])
        return lo_error_set(err, LO_EINVAL, "lo_proc_exec: no command");

    int rc = 0;
    char path[4096];
    sink sinks[2] = {{-1, o->stdout_path, 0}, {-1, o->stderr_path, 0}};
    int pout[2] = {-1, -1}, perr[2] = {-1, -1}, report[2] = {-1, -1};
    int pidfd = -1;
    bool merged = o->stdout_path && o->stderr_path &&
                  strcmp(o->stdout_path, o->stderr_path) == 0;

    if (o->cwd) {
        struct stat st;
        if (stat(o->cwd, &st) < 0)
            return lo_error_set(err, LO_ENOENT, "%s: %s", o->cwd, strerror(errno));
        if (!S_ISDIR(st.st_mode))
            return lo_error_set(err, LO_ENOENT, "%s: not a directory", o->cwd);
    }
    if (!find_program(o->argv[0], o->env, o->cwd, path, sizeof path))
        return lo_error_set(err, LO_EEXEC, "%s: command not found", o->argv[0]);

    if (o->stdout_path && (sinks[0].fd = open_out(o->stdout_path, err)) < 0) {
        rc = LO_EIO;
        goto done;
    }
    if (o->stderr_path && !merged && (sinks[1].fd = open_out(o->stderr_path, err)) < 0) {
        rc = LO_EIO;
        goto done;
    }
    if (pipe_high(pout) < 0 || (!merged && pipe_high(perr) < 0) || pipe_high(report) < 0) {
        rc = lo_error_set(err, LO_EEXEC, "pipe: %s", strerror(errno));
        goto done;
    }

    char *const *envp = o->env ? o->env : environ;
    int64_t t0 = mono_ms();
    pid_t pid = fork();
    if (pid < 0) {
        rc = lo_error_set(err, LO_EEXEC, "cannot run %s: fork: %s", o->argv[0],
                          strerror(errno));
        goto done;
    }
    if (pid == 0)
        child_run(path, o->argv, envp, o->cwd, pout[1], merged ? pout[1] : perr[1],
                  report[1], o->cgroup_procs_fd);

    close_fd(&pout[1]);
    close_fd(&perr[1]);
    close_fd(&report[1]);

    /* EOF on the report pipe: the child has exec'd (so it is in its own
     * group already); a record: it failed before that. */
    struct child_failure cf = {0, 0};
    ssize_t got;
    bool in_cgroup = o->cgroup_procs_fd > 2;
    for (;;) {
        do
            got = read(report[0], &cf, sizeof cf);
        while (got < 0 && errno == EINTR);
        if (got != (ssize_t)sizeof cf || cf.step != STEP_CGROUP)
            break;
        in_cgroup = false;
    }
    if (o->cgroup_entered)
        *o->cgroup_entered = in_cgroup;
    close_fd(&report[0]);
    if (got == (ssize_t)sizeof cf) {
        int ws;
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
        if (cf.step == STEP_CHDIR)
            rc = lo_error_set(err, LO_ENOENT, "%s: %s", o->cwd, strerror(cf.err));
        else if (cf.step == STEP_EXEC && cf.err == ENOENT)
            rc = lo_error_set(err, LO_EEXEC, "%s: command not found", o->argv[0]);
        else
            rc = lo_error_set(err, LO_EEXEC, "cannot run %s: %s", o->argv[0],
                              strerror(cf.err));
        goto done;
    }

    if (o->on_start)
        o->on_start(pid, o->ud);

#ifdef SYS_pidfd_open
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* always close-on-exec */
    if (pidfd < 0)
        pidfd = -1;
#endif

    /* the two streams: index 0 stdout (or both, merged), 1 stderr */
    int *fds[2] = {&pout[0], &perr[0]};
    sink *to[2] = {&sinks[0], merged ? &sinks[0] : &sinks[1]};
    int64_t grace = o->kill_grace_ms > 0 ? o->kill_grace_ms : DEFAULT_GRACE_MS;
    int64_t deadline = o->timeout_ms > 0 ? t0 + o->timeout_ms : 0;
    int64_t last_out = t0, last_cb = 0, term_at = 0, exit_at = 0, tick = 1;
    bool exited = false, stopping = false, cb_pending = false;
    char chunk[65536];

    for (;;) {
        int64_t now = mono_ms();
        if (!exited && child_exited(pid)) {
            exited = true;
            exit_at = now;
            /* a command's background children do not outlive it */
            signal_group(pid, SIGKILL);
            close_fd(&pidfd);
        }
        if (!exited && !stopping) {
            if (deadline && now >= deadline)
                r->timed_out = stopping = true;
            else if (o->cancel && atomic_load(o->cancel))
                r->cancelled = stopping = true;
            else if (o->idle_timeout_ms > 0 && now - last_out >= o->idle_timeout_ms)
                r->stalled = stopping = true;
            else if (o->max_output_bytes > 0 && r->output_bytes > o->max_output_bytes)
                r->output_limited = stopping = true;
            if (stopping) {
                term_at = now;
                signal_group(pid, SIGTERM);
            }
        }
        if (!exited && stopping && !r->killed && now - term_at >= grace) {
            r->killed = true;
            signal_group(pid, SIGKILL);
        }
        if (cb_pending && now - last_cb >= CALLBACK_EVERY_MS) {
            cb_pending = false;
            last_cb = now;
            o->on_output(o->ud);
        }
        bool open_pipes = pout[0] >= 0 || perr[0] >= 0;
        if (exited && (!open_pipes || now - exit_at >= DRAIN_AFTER_EXIT_MS))
            break;

        int64_t wait = -1;
        if (!exited) {
            if (pidfd < 0)
                wait = tick;
            if (!stopping) {
                if (deadline)
                    wait = min_wait(wait, deadline - now);
                if (o->cancel)
                    wait = min_wait(wait, CANCEL_POLL_MS);
                if (o->idle_timeout_ms > 0)
                    wait = min_wait(wait, last_out + o->idle_timeout_ms - now);
            } else if (!r->killed) {
                wait = min_wait(wait, term_at + grace - now);
            }
        } else {
            wait = min_wait(wait, exit_at + DRAIN_AFTER_EXIT_MS - now);
        }
        if (cb_pending)
            wait = min_wait(wait, last_cb + CALLBACK_EVERY_MS - now);

        struct pollfd pf[3];
        int np = 0, slot[2] = {-1, -1};
        for (int i = 0; i < 2; i++)
            if (*fds[i] >= 0) {
                slot[i] = np;
                pf[np++] = (struct pollfd){*fds[i], POLLIN, 0};
            }
        if (!exited && pidfd >= 0)
            pf[np++] = (struct pollfd){pidfd, POLLIN, 0};
        int pr = poll(pf, (nfds_t)np, wait > INT32_MAX ? INT32_MAX : (int)wait);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            /* cannot happen with valid fds; do not spin */
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (pr == 0 && pidfd < 0 && tick < MAX_TICK_MS)
            tick *= 2;
        for (int i = 0; i < 2; i++) {
            if (slot[i] < 0 || !pf[slot[i]].revents)
                continue;
            ssize_t n = read(*fds[i], chunk, sizeof chunk);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0) {
                close_fd(fds[i]);
                continue;
            }
            int64_t room = o->max_output_bytes > 0 ? o->max_output_bytes - r->output_bytes
                                                   : (int64_t)n;
            if (room > 0)
                sink_write(to[i], chunk, room < n ? (size_t)room : (size_t)n);
            r->output_bytes += n;
            tail_add(&r->tail, o->tail_bytes, chunk, (size_t)n);
            last_out = mono_ms();
            tick = 1;
            if (o->on_output)
                cb_pending = true;
        }
    }
    if (cb_pending)
        o->on_output(o->ud);

    int ws = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &ws, 0, &ru) < 0) {
        if (errno != EINTR) {
            ws = 0;
            break;
        }
    }
    r->wall_ms = mono_ms() - t0;
    reap_group(pid);
    if (WIFSIGNALED(ws)) {
        r->exit_code = -1;
        r->term_signal = WTERMSIG(ws);
    } else {
        r->exit_code = WEXITSTATUS(ws);
    }
    r->user_ms = tv_ms(ru.ru_utime);
    r->sys_ms = tv_ms(ru.ru_stime);
    r->max_rss_kb = ru.ru_maxrss;
    tail_trim(&r->tail, o->tail_bytes);
    for (int i = 0; i < 2; i++)
        if (sinks[i].write_errno && !rc)
            rc = lo_error_set(err, LO_EIO, "%s: %s", sinks[i].path,
                              strerror(sinks[i].write_errno));

done:
    close_fd(&pout[0]);
    close_fd(&pout[1]);
    close_fd(&perr[0]);
    close_fd(&perr[1]);
    close_fd(&report[0]);
    close_fd(&report[1]);
    close_fd(&pidfd);
    for (int i = 0; i < 2; i++)
        close_fd(&sinks[i].fd);
    return rc;
}
