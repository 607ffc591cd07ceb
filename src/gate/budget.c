/* Budgets of a validation gate, enforced and measured (lightsout/gate.h).
 *
 * lo_proc_exec enforces two of them itself: max_wall is its timeout and
 * max_output its output limit. The other three cannot be set as rlimits
 * through it, and rlimits would not do anyway: RLIMIT_CPU and RLIMIT_AS are
 * per process (a test runner forks), RLIMIT_AS counts address space rather
 * than memory in use, and RLIMIT_NPROC does not apply to root. So a watcher
 * thread scans /proc every LO_GATE_POLL_MS for the processes of the
 * command's group and sums what they use:
 *
 *   CPU   utime + stime + cutime + cstime of every member (the c* fields
 *         carry the time of children a member has already reaped, so a shell
 *         running many short programs is counted too)
 *   RSS   the resident pages (stat field 24) of every member, summed
 *   procs how many members there are
 *
 * When CPU crosses max_cpu the run's stop path is taken (the cancel flag:
 * SIGTERM, then SIGKILL after a grace). When memory or the process count
 * crosses its budget the group is sent SIGKILL at once: waiting would let a
 * fork bomb or an allocation loop grow for another grace period.
 *
 * Signalling the group from the watcher is safe in practice: lo_proc_exec
 * reaps the leader only after it has sent the group SIGKILL itself, a group
 * id stays allocated while any member lives, and Linux hands out pids
 * cyclically, so the id cannot name another group in the microseconds
 * between a scan that found members and the kill. */
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
    atomic_bool done;            /* the watcher stops */
    void (*on_output)(void *ud);
    void *ud;
    long tick_hz, page_kb;
    /* written by the watcher, read after the join */
    int64_t cpu_ms, rss_kb, procs_peak;
    lo_gate_trip tripped;
    int64_t tripped_value;
} watch;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* One /proc/PID/stat: its group, CPU ticks (own + reaped children) and
 * resident pages. False when it is gone or unreadable. */
static bool read_stat(const char *pid, long *pgrp, unsigned long long *ticks, long *rss,
                      char *state)
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
    if (!p)
        return false;
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

/* One scan of /proc for the members of group pgid. */
static void scan(watch *w, pid_t pgid, int64_t *cpu_ms, int64_t *rss_kb, int64_t *procs)
{
    *cpu_ms = *rss_kb = *procs = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return;
    unsigned long long ticks = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        long pg, rss;
        unsigned long long t;
        char state;
        if (!read_stat(de->d_name, &pg, &t, &rss, &state) || pg != (long)pgid)
            continue;
        ticks += t;
        if (state == 'Z' || state == 'X')
            continue; /* exited: its time counts, it holds no memory */
        (*procs)++;
        *rss_kb += rss * w->page_kb;
    }
    closedir(d);
    *cpu_ms = (int64_t)(ticks * 1000ULL / (unsigned long long)w->tick_hz);
}

static void trip(watch *w, lo_gate_trip t, int64_t value, pid_t pgid, bool kill_now)
{
    if (w->tripped != LO_TRIP_NONE)
        return;
    w->tripped = t;
    w->tripped_value = value;
    if (kill_now)
        kill(-pgid, SIGKILL);
    atomic_store(&w->cancel, true);
}

static void *watcher(void *arg)
{
    watch *w = arg;
    const lo_gate_budget *b = w->b;
    while (!atomic_load(&w->done)) {
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
        sleep_ms(LO_GATE_POLL_MS);
    }
    return NULL;
}

static void on_start(pid_t pid, void *ud)
{
    watch *w = ud;
    atomic_store(&w->pid, (int)pid);
}

static void on_output(void *ud)
{
    watch *w = ud;
    if (w->on_output)
        w->on_output(w->ud);
}

int lo_gate_measure(const lo_gate_budget *b, const lo_gate_exec *x, lo_gate_metrics *m,
                    lo_buf *tail, lo_error *err)
{
    memset(m, 0, sizeof *m);
    m->exit_code = -1;
    if (!x || !x->command)
        return lo_error_set(err, LO_EINVAL, "lo_gate_measure: no command");

    watch w;
    memset(&w, 0, sizeof w);
    w.b = b;
    w.run_cancel = x->cancel;
    atomic_init(&w.cancel, x->cancel && atomic_load(x->cancel));
    atomic_init(&w.pid, 0);
    atomic_init(&w.done, false);
    w.on_output = x->on_output;
    w.ud = x->ud;
    w.tick_hz = sysconf(_SC_CLK_TCK);
    if (w.tick_hz <= 0)
        w.tick_hz = 100;
    long page = sysconf(_SC_PAGESIZE);
    w.page_kb = page > 0 ? page / 1024 : 4;

    /* the wall budget is the runner's timeout; the stage deadline too,
     * whichever comes first */
    int64_t wall = b ? b->max_wall_ms : 0;
    int64_t timeout = wall;
    if (x->deadline_ms > 0 && (timeout <= 0 || x->deadline_ms < timeout))
        timeout = x->deadline_ms;

    char *argv[] = {"/bin/sh", "-c", (char *)x->command, NULL};
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
    };
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, watcher, &w) == 0;
    lo_proc_result r;
    int rc = lo_proc_exec(&o, &r, err);
    atomic_store(&w.done, true);
    if (threaded)
        pthread_join(th, NULL);

    m->wall_ms = r.wall_ms;
    m->cpu_ms = r.user_ms + r.sys_ms;
    if (w.cpu_ms > m->cpu_ms)
        m->cpu_ms = w.cpu_ms;
    /* ru_maxrss is the largest single process; the scan sums the group:
     * report whichever is larger */
    m->max_rss_kb = r.max_rss_kb > w.rss_kb ? r.max_rss_kb : w.rss_kb;
    m->output_bytes = r.output_bytes;
    m->exit_code = r.exit_code;
    m->signal = r.term_signal;
    m->procs_peak = w.procs_peak;
    m->tripped = w.tripped;
    m->tripped_value = w.tripped_value;
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
