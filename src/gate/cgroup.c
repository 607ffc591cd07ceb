/* cgroup v2 groups for gate commands (see cgroup.h).
 *
 * Our own group is found from /proc/self/cgroup ("0::PATH") under the
 * cgroup2 mount of /proc/self/mountinfo; a gate's group is a child of it
 * named lightsout-gate-PID-N. The command enters it itself: lo_proc_exec
 * writes "0" to the group's cgroup.procs in the child between fork and
 * exec, so not even the first fork of the command happens outside it.
 *
 * A lightsout killed with -9 leaves its groups behind, possibly with the
 * command still running in them; the first gate of a later process sweeps
 * the groups of dead lightsout processes (kill, then rmdir). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gate/cgroup.h"

#define PREFIX "lightsout-gate-"

static pthread_once_t base_once = PTHREAD_ONCE_INIT;
static char base_dir[PATH_MAX];   /* our own group's directory; "" when none */
static char base_why[256];
static atomic_uint seq;

/* Read a small file into buf (NUL-terminated); bytes read or -1. */
static ssize_t read_small(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got + 1 < n) {
        ssize_t r = read(fd, buf + got, n - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

static bool write_str(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t w = write(fd, s, strlen(s));
    close(fd);
    return w == (ssize_t)strlen(s);
}

/* mountinfo escapes spaces and the like as \ooo */
static void unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

/* The cgroup2 mount point and the root it shows; false when none. */
static bool find_mount(char *mnt, size_t mn, char *root, size_t rn)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return false;
    char *line = NULL;
    size_t cap = 0;
    bool found = false;
    while (!found && getline(&line, &cap, f) > 0) {
        char *sep = strstr(line, " - ");
        if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
            continue;
        /* id parent major:minor root mountpoint ... */
        char *save = NULL, *tok = strtok_r(line, " ", &save);
        for (int i = 0; tok && i < 3; i++)
            tok = strtok_r(NULL, " ", &save);
        char *mp = tok ? strtok_r(NULL, " ", &save) : NULL;
        if (!tok || !mp)
            continue;
        unescape(tok);
        unescape(mp);
        snprintf(root, rn, "%s", tok);
        snprintf(mnt, mn, "%s", mp);
        found = true;
    }
    free(line);
    fclose(f);
    return found;
}

static bool pid_dead(pid_t pid) { return kill(pid, 0) < 0 && errno == ESRCH; }

/* Remove the groups of lightsout processes that died without removing
 * theirs. */
static void sweep(void)
{
    DIR *d = opendir(base_dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, PREFIX, strlen(PREFIX)) != 0)
            continue;
        long pid = strtol(de->d_name + strlen(PREFIX), NULL, 10);
        if (pid <= 0 || pid == (long)getpid() || !pid_dead((pid_t)pid))
            continue;
        gate_cgroup cg = {.procs_fd = -1};
        if (snprintf(cg.dir, sizeof cg.dir, "%s/%s", base_dir, de->d_name) <
            (int)sizeof cg.dir)
            gate_cgroup_destroy(&cg, NULL);
    }
    closedir(d);
}

static void find_base(void)
{
    char mnt[PATH_MAX], root[PATH_MAX], own[PATH_MAX];
    if (!find_mount(mnt, sizeof mnt, root, sizeof root)) {
        snprintf(base_why, sizeof base_why, "no cgroup2 file system is mounted");
        return;
    }
    if (read_small("/proc/self/cgroup", own, sizeof own) < 0) {
        snprintf(base_why, sizeof base_why, "/proc/self/cgroup cannot be read");
        return;
    }
    char *p = strstr(own, "0::");
    if (p && p != own && p[-1] != '\n')
        p = NULL;
    if (!p) {
        snprintf(base_why, sizeof base_why, "this process is in no cgroup v2 group");
        return;
    }
    p += 3;
    p[strcspn(p, "\n")] = '\0';
    /* the mount may show a subtree: our path must lie under its root */
    size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
    if (rl && (strncmp(p, root, rl) != 0 || (p[rl] && p[rl] != '/'))) {
        snprintf(base_why, sizeof base_why, "our cgroup is outside the mounted cgroup2 tree");
        return;
    }
    p += rl;
    if (snprintf(base_dir, sizeof base_dir, "%s%s", mnt, strcmp(p, "/") == 0 ? "" : p) >=
        (int)sizeof base_dir) {
        base_dir[0] = '\0';
        snprintf(base_why, sizeof base_why, "cgroup path too long");
        return;
    }
    sweep();
}

bool gate_cgroup_create(gate_cgroup *cg, char *why, size_t why_len)
{
    cg->dir[0] = '\0';
    cg->procs_fd = -1;
    pthread_once(&base_once, find_base);
    if (!base_dir[0]) {
        snprintf(why, why_len, "%s", base_why);
        return false;
    }
    unsigned n = atomic_fetch_add(&seq, 1);
    if (snprintf(cg->dir, sizeof cg->dir, "%s/" PREFIX "%ld-%u", base_dir, (long)getpid(), n) >=
        (int)sizeof cg->dir) {
        cg->dir[0] = '\0';
        snprintf(why, why_len, "cgroup path too long");
        return false;
    }
    if (mkdir(cg->dir, 0755) < 0) {
        snprintf(why, why_len, "cannot create a cgroup under %s: %s", base_dir, strerror(errno));
        cg->dir[0] = '\0';
        return false;
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/cgroup.procs", cg->dir);
    cg->procs_fd = open(path, O_WRONLY | O_CLOEXEC);
    if (cg->procs_fd < 0) {
        snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
        rmdir(cg->dir);
        cg->dir[0] = '\0';
        return false;
    }
    return true;
}

int gate_cgroup_each(const gate_cgroup *cg, void (*fn)(pid_t pid, void *ud), void *ud)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/cgroup.procs", cg->dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    /* pids are read in chunks; a number cut by a chunk boundary is carried */
    char buf[4096];
    size_t keep = 0;
    int count = 0;
    for (;;) {
        ssize_t r = read(fd, buf + keep, sizeof buf - 1 - keep);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            count = -1;
            break;
        }
        size_t len = keep + (size_t)r;
        buf[len] = '\0';
        char *p = buf, *nl;
        while ((nl = memchr(p, '\n', len - (size_t)(p - buf)))) {
            *nl = '\0';
            long pid = strtol(p, NULL, 10);
            if (pid > 0) {
                count++;
                if (fn)
                    fn((pid_t)pid, ud);
            }
            p = nl + 1;
        }
        keep = len - (size_t)(p - buf);
        memmove(buf, p, keep);
        if (r == 0 || keep >= sizeof buf - 1)
            break;
    }
    close(fd);
    return count;
}

int64_t gate_cgroup_cpu_ms(const gate_cgroup *cg)
{
    char path[PATH_MAX + 16], buf[1024];
    snprintf(path, sizeof path, "%s/cpu.stat", cg->dir);
    if (read_small(path, buf, sizeof buf) <= 0)
        return -1;
    const char *p = strstr(buf, "usage_usec ");
    if (!p || (p != buf && p[-1] != '\n'))
        return -1;
    long long us = strtoll(p + 11, NULL, 10);
    return us >= 0 ? us / 1000 : -1;
}

static void kill_one(pid_t pid, void *ud)
{
    (void)ud;
    kill(pid, SIGKILL);
}

void gate_cgroup_kill(const gate_cgroup *cg)
{
    if (!cg->dir[0])
        return;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/cgroup.kill", cg->dir);
    if (!write_str(path, "1"))
        gate_cgroup_each(cg, kill_one, NULL); /* before Linux 5.14 */
}

static bool populated(const gate_cgroup *cg)
{
    char path[PATH_MAX + 16], buf[256];
    snprintf(path, sizeof path, "%s/cgroup.events", cg->dir);
    if (read_small(path, buf, sizeof buf) <= 0)
        return false;
    const char *p = strstr(buf, "populated ");
    return p && p[10] == '1';
}

void gate_cgroup_destroy(gate_cgroup *cg, int64_t *cpu_ms)
{
    if (cg->procs_fd >= 0)
        close(cg->procs_fd);
    cg->procs_fd = -1;
    if (!cg->dir[0])
        return;
    /* SIGKILL takes effect at once, but the exits are asynchronous: wait
     * for the group to empty, at most 2 s (a process in uninterruptible
     * sleep), and leave the directory for a later sweep if it does not */
    gate_cgroup_kill(cg);
    for (int i = 0; i < 2000 && populated(cg); i++) {
        if (i % 100 == 99)
            gate_cgroup_kill(cg); /* a fork that raced the first kill */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (cpu_ms)
        *cpu_ms = gate_cgroup_cpu_ms(cg);
    rmdir(cg->dir);
    cg->dir[0] = '\0';
}
