/*
 * Gate overhead benchmark driver (bench/gate.sh), linked against
 * lib/liblightsout.a.
 *
 *   gate_bench N LOGS bare|sandbox
 *
 * Runs a pipeline whose gate g runs `true` and loops back to itself until
 * its max_visits=N+1 ends the run (the first visit is a warm-up: it probes
 * bwrap and creates the run's files). The gate handler is wrapped: before
 * each gate it runs the same command bare -- fork, exec of /bin/sh -c true,
 * waitpid -- and times both with the monotonic clock, so every sample is a
 * pair taken back to back. Prints, in milliseconds:
 *
 *   bare_med  bare_p90   the bare command
 *   gate_med  gate_p90   the whole gate stage's handler (measurement, the
 *                        report parse, gate.json and gate.md written
 *                        atomically with fsync, context, events)
 *   add_med   add_p90    gate - bare, per pair
 *
 * With "sandbox" the gate has sandbox=true (the command runs under bwrap);
 * with "bare" sandbox=false. LOGS is the run directory (must not exist).
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "lightsout/engine.h"
#include "lightsout/gate.h"
#include "lightsout/graph.h"

extern char **environ;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *msg, const char *detail)
{
    fprintf(stderr, "gate_bench: %s%s%s\n", msg, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static double *bare, *gate;
static int n_samples, max_samples;

static double run_bare(void)
{
    char *argv[] = {"/bin/sh", "-c", "true", NULL};
    double t0 = now_ms();
    pid_t pid;
    if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0)
        die("posix_spawn failed", NULL);
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        ;
    return now_ms() - t0;
}

static int timed_gate(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    double b = run_bare();
    double t0 = now_ms();
    int rc = lo_handler_gate(st, out, ud, err);
    double g = now_ms() - t0;
    if (out->status != LO_SUCCESS)
        die("the gate failed", out->failure_reason);
    if (st->attempt == 1 && n_samples < max_samples && lo_context_has(st->context, "gate.g.status")) {
        /* the first visit (no gate.g.status yet) is the warm-up */
        bare[n_samples] = b;
        gate[n_samples] = g;
        n_samples++;
    }
    return rc;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[3], "bare") && strcmp(argv[3], "sandbox")))
        die("usage: gate_bench N LOGS bare|sandbox", NULL);
    int n = atoi(argv[1]);
    if (n < 1)
        die("N must be at least 1", NULL);
    bool sandboxed = !strcmp(argv[3], "sandbox");
    max_samples = n;
    bare = calloc((size_t)n, sizeof *bare);
    gate = calloc((size_t)n, sizeof *gate);
    double *add = calloc((size_t)n, sizeof *add);
    if (!bare || !gate || !add)
        die("out of memory", NULL);

    char dot[1024];
    snprintf(dot, sizeof dot,
             "digraph B {\n  start [shape=Mdiamond]\n  exit [shape=Msquare]\n"
             "  g [shape=octagon, command=\"true\", sandbox=%s, max_visits=%d]\n"
             "  start -> g\n  g -> g [condition=\"outcome=success\"]\n"
             "  g -> exit [condition=\"outcome=fail\"]\n}\n",
             sandboxed ? "true" : "false", n + 1);
    lo_error err = {0};
    lo_graph *g = lo_graph_parse(dot, strlen(dot), "bench.dot", &err);
    if (!g)
        die("parse", err.msg);
    lo_engine_config cfg = {.logs_root = argv[2], .workdir = "."};
    lo_engine *e = lo_engine_new(g, &cfg, &err);
    if (!e || lo_engine_register(e, "gate", timed_gate, NULL))
        die("engine", err.msg);
    lo_run_result res;
    if (lo_engine_run(e, false, &res, &err))
        die("run", err.msg);
    lo_engine_free(e);
    lo_graph_free(g);
    if (n_samples != n)
        die("fewer samples than asked for", res.failure_reason);
    for (int i = 0; i < n; i++)
        add[i] = gate[i] - bare[i];
    double am = pct(add, n, 0.5), a9 = pct(add, n, 0.9);
    printf("bare_med=%.3f bare_p90=%.3f gate_med=%.3f gate_p90=%.3f add_med=%.3f add_p90=%.3f\n",
           pct(bare, n, 0.5), pct(bare, n, 0.9), pct(gate, n, 0.5), pct(gate, n, 0.9), am, a9);
    free(bare);
    free(gate);
    free(add);
    return 0;
}
