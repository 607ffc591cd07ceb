/* cgroup v2 groups for gate commands (src/gate/cgroup.c); internal to
 * src/gate.
 *
 * Where the unified hierarchy is mounted and we may create a child group
 * under our own, a gate command runs in a fresh group of its own: its
 * members are listed by cgroup.procs instead of a scan of all of /proc, its
 * CPU time is the group's cpu.stat (every process that ever ran in it,
 * reaped or not), and cgroup.kill reaches members that left the process
 * group with setsid. Memory is still the members' resident pages (the
 * group's memory.current would count the page cache too) and enforcement is
 * still the watcher's: the group adds precision, not new limits. */
#ifndef LO_GATE_CGROUP_H
#define LO_GATE_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct gate_cgroup {
    char dir[PATH_MAX];  /* the group's directory; "" when none */
    int procs_fd;        /* its cgroup.procs, open for writing (O_CLOEXEC); -1 */
} gate_cgroup;

/* Create a fresh group. False, with why filled, when cgroup v2 is not
 * mounted or we may not create a group there; the caller then falls back
 * to the process-group scan. Thread-safe. */
bool gate_cgroup_create(gate_cgroup *cg, char *why, size_t why_len);

/* Call fn for each member's pid; returns how many there were, or -1 when
 * cgroup.procs cannot be read. */
int gate_cgroup_each(const gate_cgroup *cg, void (*fn)(pid_t pid, void *ud), void *ud);


/* User + system CPU of everything that ran in the group, in ms; -1 unknown. */
int64_t gate_cgroup_cpu_ms(const gate_cgroup *cg);

/* SIGKILL every member (cgroup.kill, or each pid on kernels before 5.14). */
void gate_cgroup_kill(const gate_cgroup *cg);

/* Kill what is left, wait (bounded) for the group to empty, then (when
 * cpu_ms is not NULL) read its final CPU time, and remove it. */
void gate_cgroup_destroy(gate_cgroup *cg, int64_t *cpu_ms);

#endif
