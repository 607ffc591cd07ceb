/* Budgets of a validation gate, enforced and measured (lightsout/gate.h).
 *
 * lo_proc_exec enforces two of them itself: max_wall is its timeout and
 * max_output its output limit. The other three cannot be set as rlimits
 * through it, and rlimits would not do anyway: RLIMIT_CPU and RLIMIT_AS are
 * per process (a test runner forks), RLIMIT_AS counts address space rather
 * than memory in use, and RLIMIT_NPROC does not apply to root. So a watcher
 * thread looks at the command's processes every LO_GATE_POLL_MS -- the
 * members of its cgroup v2 group when it has one (cgroup.c), else the
 * processes /proc shows in its process group -- and sums what they use:
 *
 *   CPU   with a group: its cpu.stat, every process that ever ran in it;
 *         else utime + stime + cutime + cstime of every member (the c*
 *         fields carry the time of children a member has already reaped,
 *         so a shell running many short programs is counted too)
 *   RSS   the resident pages (stat field 24) of every member, summed
 *   procs how many members there are
 *
 * When CPU crosses max_cpu the run's stop path is taken (the cancel flag:
 * SIGTERM, then SIGKILL after a grace). When memory or the process count
 * crosses its budget the processes are sent SIGKILL at once: waiting would
 * let a fork bomb or an allocation loop grow for another grace period.
 *
 * Signalling the process group from the watcher is safe in practice:
 * lo_proc_exec reaps the leader only after it has sent the group SIGKILL
 * itself, a group id stays allocated while any member lives, and Linux
 * hands out pids cyclically, so the id cannot name another group in the
 * microseconds between a scan that found members and the kill. A cgroup
 * is ours alone, so killing through it has no such window at all.
 *
 * Under the sandbox the process group and the cgroup hold bubblewrap's own
 * two processes (the outer bwrap and the init of its PID namespace); they
 * are left out of the count and the memory, which are the command's. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gate/cgroup.h"
#include "lightsout/gate.h"
#include "lightsout/proc.h"

const char *lo_gate_trip_name(lo_gate_trip t)
{
    switch (t) {
    case LO_TRIP_WALL: return "max_wall";
    case LO_TRIP_CPU: return "max_cpu";
    case LO_TRIP_RSS: return "max_rss";
    case LO_TRIP_OUTPUT: return "max_output";
    case LO_TRIP_PROCS: return "max_procs";
    default: return "";
    }
}

typedef struct watch {
    const lo_gate_budget *b;
    const atomic_bool *run_cancel;
    atomic_bool cancel;          /* what lo_proc_exec polls */
    atomic_int pid;              /* the group, once started (0 before) */
    atomic_bool use_cg;          /* the command is in cg (checked at its start) */
    bool entered_cg;             /* lo_proc_exec: the child entered cg */
    const gate_cgroup *cg;       /* NULL: no group was made */
    bool sandboxed;              /* leave bwrap's processes out */
    /* the watcher sleeps on cv between scans; done wakes it for good */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    void (*on_output)(void *ud);
    void *ud;
    long tick_hz, page_kb;
    /* written by the watcher, read after the join */
    int64_t cpu_ms, rss_kb, procs_peak;
    lo_gate_trip tripped;
    int64_t tripped_value;
} watch;

/* One /proc/PID/stat: its group, CPU ticks (own + reaped children),
 * resident pages, state, and whether it is bubblewrap. False when it is
 * gone or unreadable. */
static bool read_stat(const char *pid, long *pgrp, unsigned long long *ticks, long *rss,
                      char *state, bool *bwrap)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    /* the command name may hold spaces and parentheses: fields start after
     * the last ')' */
    char *p = strrchr(buf, ')');
    char *open_paren = strchr(buf, '(');
    if (!p || !open_paren)
        return false;
    *bwrap = p - open_paren - 1 == 5 && memcmp(open_paren + 1, "bwrap", 5) == 0;
    unsigned long long ut, stt;
    long long cut, cst;
    long rs;
    /* 3 state, 4 ppid, 5 pgrp, ... 14 utime, 15 stime, 16 cutime,
     * 17 cstime, ... 24 rss */
    if (sscanf(p + 1,
               " %c %*d %ld %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld"
               " %*d %*d %*d %*d %*u %*u %ld",
               state, pgrp, &ut, &stt, &cut, &cst, &rs) != 7)
        return false;
    *ticks = ut + stt + (unsigned long long)(cut > 0 ? cut : 0) +
             (unsigned long long)(cst > 0 ? cst : 0);
    *rss = rs;
    return true;
}

typedef struct tally {
    watch *w;
    long pgid;                /* 0: every process offered is a member */
    unsigned long long ticks;
    int64_t rss_kb, procs;
} tally;

static void count(tally *t, const char *pid)
{
    long pg, rss;
    unsigned long long ticks;
    char state;
    bool bwrap;
    if (!read_stat(pid, &pg, &ticks, &rss, &state, &bwrap) || (t->pgid && pg != t->pgid))
        return;
    t->ticks += ticks;
    if (state == 'Z' || state == 'X' || (bwrap && t->w->sandboxed))
        return; /* exited: its time counts, it holds no memory */
    t->procs++;
    t->rss_kb += rss * t->w->page_kb;
}

static void count_member(pid_t pid, void *ud)
{
    char s[24];
    snprintf(s, sizeof s, "%ld", (long)pid);
    count(ud, s);
}

/* One look at the command's processes. */
static void scan(watch *w, pid_t pgid, int64_t *cpu_ms, int64_t *rss_kb, int64_t *procs)
{
    tally t = {.w = w};
    int64_t cg_cpu = -1;
    if (atomic_load(&w->use_cg) && gate_cgroup_each(w->cg, count_member, &t) >= 0) {
        cg_cpu = gate_cgroup_cpu_ms(w->cg);
    } else {
        t = (tally){.w = w, .pgid = (long)pgid};
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d)))
            if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
                count(&t, de->d_name);
        if (d)
            closedir(d);
    }
    *cpu_ms = cg_cpu >= 0 ? cg_cpu
                          : (int64_t)(t.ticks * 1000ULL / (unsigned long long)w->tick_hz);
    *rss_kb = t.rss_kb;
    *procs = t.procs;
}

static void trip(watch *w, lo_gate_trip t, int64_t value, pid_t pgid, bool kill_now)
{
    if (w->tripped != LO_TRIP_NONE)
        return;
    w->tripped = t;
    w->tripped_value = value;
    if (kill_now) {
        kill(-pgid, SIGKILL);
        if (atomic_load(&w->use_cg))
            gate_cgroup_kill(w->cg); /* members that left the process group too */
    }
    atomic_store(&w->cancel, true);
}

/* Sleep ms, or less when the command has ended; false once it has. */
static bool nap(watch *w, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += (long)ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&w->mu);
    while (!w->done && pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
        ;
    bool more = !w->done;
    pthread_mutex_unlock(&w->mu);
    return more;
}

static void *watcher(void *arg)
{
    watch *w = arg;
    const lo_gate_budget *b = w->b;
    do {
        if (w->run_cancel && atomic_load(w->run_cancel))
            atomic_store(&w->cancel, true);
        pid_t pgid = (pid_t)atomic_load(&w->pid);
        if (pgid > 0) {
            int64_t cpu, rss, procs;
            scan(w, pgid, &cpu, &rss, &procs);
            /* CPU only grows; a scan that missed an exiting member must not
             * lower it */
            if (cpu > w->cpu_ms)
                w->cpu_ms = cpu;
            if (rss > w->rss_kb)
                w->rss_kb = rss;
            if (procs > w->procs_peak)
                w->procs_peak = procs;
            if (b && b->max_procs > 0 && procs > b->max_procs)
                trip(w, LO_TRIP_PROCS, procs, pgid, true);
            else if (b && b->max_rss_kb > 0 && rss > b->max_rss_kb)
                trip(w, LO_TRIP_RSS, rss, pgid, true);
            else if (b && b->max_cpu_ms > 0 && w->cpu_ms > b->max_cpu_ms)
                trip(w, LO_TRIP_CPU, w->cpu_ms, pgid, false);
        }
    } while (nap(w, LO_GATE_POLL_MS));
    return NULL;
}

static void on_start(pid_t pid, void *ud)
{
    watch *w = ud;
    /* the child moved itself into the group before exec and says whether
     * that worked (asking the group would race a command that has already
     * exited); if it failed, it is measured through its process group */
    if (w->cg && !w->entered_cg)
        atomic_store(&w->use_cg, false);
    atomic_store(&w->pid, (int)pid);
}

static void on_output(void *ud)
{
    watch *w = ud;
    if (w->on_output)
        w->on_output(w->ud);
}

static void stop_watcher(watch *w, pthread_t th, bool threaded)
{
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (threaded)
        pthread_join(th, NULL);
}

static int watch_init(watch *w, const lo_gate_budget *b, const lo_gate_exec *x)
{
    memset(w, 0, sizeof *w);
    w->b = b;
    w->run_cancel = x->cancel;
    atomic_init(&w->cancel, x->cancel && atomic_load(x->cancel));
    atomic_init(&w->pid, 0);
    atomic_init(&w->use_cg, false);
    w->sandboxed = x->sandbox != NULL;
    w->on_output = x->on_output;
    w->ud = x->ud;
    w->tick_hz = sysconf(_SC_CLK_TCK);
    if (w->tick_hz <= 0)
        w->tick_hz = 100;
    long page = sysconf(_SC_PAGESIZE);
    w->page_kb = page > 0 ? page / 1024 : 4;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc)
        return LO_ENOMEM;
    pthread_mutex_init(&w->mu, NULL);
    return 0;
}

int lo_gate_measure(const lo_gate_budget *b, const lo_gate_exec *x, lo_gate_metrics *m,
                    lo_buf *tail, lo_error *err)
{
    memset(m, 0, sizeof *m);
    m->exit_code = -1;
    if (!x || !x->command)
        return lo_error_set(err, LO_EINVAL, "lo_gate_measure: no command");

    char *inner[] = {"/bin/sh", "-c", (char *)x->command, NULL};
    char **argv = inner, **sb_argv = NULL;
    if (x->sandbox && !(argv = sb_argv = lo_sandbox_argv(x->sandbox, inner, err)))
        return err && err->code ? err->code : LO_EEXEC;

    watch w;
    if (watch_init(&w, b, x)) {
        lo_sandbox_argv_free(sb_argv);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    gate_cgroup cg = {.procs_fd = -1};
    char why[320] = "not asked for (no_cgroup)";
    if (!x->no_cgroup && gate_cgroup_create(&cg, why, sizeof why)) {
        w.cg = &cg;
        atomic_store(&w.use_cg, true);
    }

    /* the wall budget is the runner's timeout; the stage deadline too,
     * whichever comes first */
    int64_t wall = b ? b->max_wall_ms : 0;
    int64_t timeout = wall;
    if (x->deadline_ms > 0 && (timeout <= 0 || x->deadline_ms < timeout))
        timeout = x->deadline_ms;

    lo_proc_opts o = {
        .argv = argv,
        .cwd = x->cwd,
        .env = x->env,
        .stdout_path = x->output_path,
        .stderr_path = x->output_path,
        .tail_bytes = tail ? x->tail_bytes : 0,
        .timeout_ms = timeout,
        .kill_grace_ms = 1000, /* a gate's command gets a short grace */
        .cancel = &w.cancel,
        .max_output_bytes = b ? b->max_output_bytes : 0,
        .on_output = on_output,
        .ud = &w,
        .on_start = on_start,
        .cgroup_procs_fd = cg.procs_fd >= 0 ? cg.procs_fd : 0,
        .cgroup_entered = &w.entered_cg,
    };
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, watcher, &w) == 0;
    lo_proc_result r;
    int rc = lo_proc_exec(&o, &r, err);
    stop_watcher(&w, th, threaded);
    bool used_cg = atomic_load(&w.use_cg) && atomic_load(&w.pid) > 0;
    int64_t cg_cpu = -1;
    /* whatever escaped the process group (setsid) dies with the group */
    gate_cgroup_destroy(&cg, used_cg ? &cg_cpu : NULL);
    if (w.cg && !used_cg && rc == 0)
        snprintf(why, sizeof why, "the command did not enter its cgroup");
    if (x->note && x->note_len)
        snprintf(x->note, x->note_len, "%s", used_cg ? "" : why);
    lo_sandbox_argv_free(sb_argv);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);

    m->wall_ms = r.wall_ms;
    m->cpu_ms = r.user_ms + r.sys_ms;
    if (w.cpu_ms > m->cpu_ms)
        m->cpu_ms = w.cpu_ms;
    if (cg_cpu > m->cpu_ms)
        m->cpu_ms = cg_cpu;
    /* ru_maxrss is the largest single process; the scan sums the group:
     * report whichever is larger */
    m->max_rss_kb = r.max_rss_kb > w.rss_kb ? r.max_rss_kb : w.rss_kb;
    m->output_bytes = r.output_bytes;
    m->exit_code = r.exit_code;
    m->signal = r.term_signal;
    m->procs_peak = w.procs_peak;
    m->tripped = w.tripped;
    m->tripped_value = w.tripped_value;
    m->sandboxed = x->sandbox != NULL;
    m->cgroup = used_cg;
    if (m->tripped == LO_TRIP_NONE) {
        if (r.output_limited) {
            m->tripped = LO_TRIP_OUTPUT;
            m->tripped_value = r.output_bytes;
        } else if (r.timed_out && wall > 0 && timeout == wall) {
            m->tripped = LO_TRIP_WALL;
            m->tripped_value = r.wall_ms;
        } else if (r.timed_out) {
            m->deadline = true;
        } else if (r.cancelled) {
            m->cancelled = true;
        }
    }
    if (tail) {
        lo_buf_clear(tail);
        if (r.tail.len)
            lo_buf_append(tail, r.tail.data, r.tail.len);
    }
    lo_buf_release(&r.tail);
    return rc;
}
