/*
 * Engine benchmark driver (bench/engine.sh), linked against
 * lib/liblightsout.a. One measurement per invocation, printed as one line of
 * key=value pairs for the script to take medians of.
 *
 *   engine_bench chain N LOGS [fsync|nofsync]
 *       a chain of N conditional stages (diamonds, each with a success and a
 *       fail edge) between start and exit, run with checkpoints; prints the
 *       whole run's microseconds per stage and the mean of the first and of
 *       the last 100 stages (from the engine's stage_started events, taken
 *       with the monotonic clock in the event callback): equal figures mean
 *       the cost of a stage does not grow with the run.
 *   engine_bench tools N LOGS [fsync|nofsync]
 *       a chain of N tool stages running `true`; prints milliseconds per
 *       stage.
 *   engine_bench spawn N
 *       N fork/exec/wait of /bin/true and of /bin/sh -c true (what a tool
 *       stage runs): milliseconds per spawn.
 *
 * LOGS is the run directory to create (it must not exist; the script
 * removes it afterwards).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lightsout/engine.h"
#include "lightsout/graph.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

typedef struct timing {
    double *start;  /* stage_started times, in order */
    size_t n, cap;
} timing;

static void on_event(const json_t *ev, void *ud)
{
    timing *t = ud;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!type || strcmp(type, "stage_started") != 0)
        return;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->start = realloc(t->start, t->cap * sizeof *t->start);
        if (!t->start) {
            fprintf(stderr, "engine_bench: out of memory\n");
            exit(1);
        }
    }
    t->start[t->n++] = now_us();
}

static void die(const char *msg, const char *detail)
{
    fprintf(stderr, "engine_bench: %s%s%s\n", msg, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

/* The pipeline as DOT text. */
static char *generate(const char *kind, long n)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    lo_buf_printf(&b, "digraph Bench {\n  graph [goal=\"benchmark\"]\n"
                      "  start [shape=Mdiamond]\n  exit [shape=Msquare]\n");
    for (long i = 1; i <= n; i++) {
        if (!strcmp(kind, "chain"))
            lo_buf_printf(&b, "  s%ld [shape=diamond]\n", i);
        else
            lo_buf_printf(&b, "  s%ld [shape=parallelogram, tool_command=\"true\"]\n", i);
    }
    lo_buf_printf(&b, "  start -> s1\n");
    for (long i = 1; i <= n; i++) {
        char next[32];
        if (i < n)
            snprintf(next, sizeof next, "s%ld", i + 1);
        else
            snprintf(next, sizeof next, "exit");
        if (!strcmp(kind, "chain"))
            lo_buf_printf(&b, "  s%ld -> %s [condition=\"outcome=success\"]\n"
                              "  s%ld -> exit [condition=\"outcome=fail\"]\n", i, next, i);
        else
            lo_buf_printf(&b, "  s%ld -> %s\n", i, next);
    }
    if (lo_buf_puts(&b, "}\n"))
        die("out of memory", NULL);
    return lo_buf_steal(&b);
}

static double mean_interval(const timing *t, size_t from, size_t to)
{
    /* intervals between consecutive stage starts: stage i costs
     * start[i+1] - start[i] (its handler, status.json, edge selection,
     * checkpoint and events) */
    if (to > t->n - 1)
        to = t->n - 1;
    if (from >= to)
        return 0;
    return (t->start[to] - t->start[from]) / (double)(to - from);
}

static int run_pipeline(const char *kind, long n, const char *logs, bool fsync)
{
    char *src = generate(kind, n);
    lo_error err;
    lo_graph *g = lo_graph_parse(src, strlen(src), "<bench>", &err);
    free(src);
    if (!g)
        die("parse", err.msg);
    timing t = {0};
    lo_engine_config cfg = {
        .logs_root = logs, .on_event = on_event, .event_ud = &t, .no_fsync = !fsync,
    };
    lo_engine *e = lo_engine_new(g, &cfg, &err);
    if (!e)
        die("engine", err.msg);
    lo_run_result res;
    double t0 = now_us();
    int rc = lo_engine_run(e, false, &res, &err);
    double total = now_us() - t0;
    if (rc)
        die("run", err.msg);
    if (res.status != LO_SUCCESS)
        die("the run did not succeed", res.failure_reason);
    /* stages: the n benchmark stages plus start (exit is not a handler call) */
    size_t stages = t.n;
    if (!strcmp(kind, "chain")) {
        /* start is start[0]; benchmark stage i (1-based) starts at start[i] */
        size_t k = 100 < (size_t)n / 2 ? 100 : (size_t)n / 2;
        printf("stages=%zu total_ms=%.1f us_per_stage=%.2f first%zu_us=%.2f last%zu_us=%.2f\n",
               stages, total / 1e3, total / (double)stages, k, mean_interval(&t, 1, 1 + k), k,
               mean_interval(&t, t.n - 1 - k, t.n - 1));
    } else {
        printf("stages=%zu total_ms=%.1f ms_per_stage=%.3f\n", stages, total / 1e3,
               total / 1e3 / (double)stages);
    }
    free(t.start);
    lo_engine_free(e);
    lo_graph_free(g);
    return 0;
}

static double spawn_ms(char *const argv[], long n)
{
    double t0 = now_us();
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork failed", NULL);
        if (pid == 0) {
            execv(argv[0], argv);
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            die("the spawned command failed", argv[0]);
    }
    return (now_us() - t0) / 1e3 / (double)n;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && (!strcmp(argv[1], "chain") || !strcmp(argv[1], "tools"))) {
        long n = atol(argv[2]);
        if (n < 1)
            die("N must be positive", argv[2]);
        bool fsync = argc < 5 || strcmp(argv[4], "nofsync") != 0;
        return run_pipeline(argv[1], n, argv[3], fsync);
    }
    if (argc >= 3 && !strcmp(argv[1], "spawn")) {
        long n = atol(argv[2]);
        if (n < 1)
            die("N must be positive", argv[2]);
        char *t[] = {"/bin/true", NULL};
        char *sh[] = {"/bin/sh", "-c", "true", NULL};
        double a = spawn_ms(t, n);
        double b = spawn_ms(sh, n);
        printf("spawns=%ld true_ms=%.3f sh_c_true_ms=%.3f\n", n, a, b);
        return 0;
    }
    fprintf(stderr, "usage: engine_bench chain|tools N LOGS [fsync|nofsync]\n"
                    "       engine_bench spawn N\n");
    return 2;
}
