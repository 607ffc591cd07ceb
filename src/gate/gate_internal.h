/* Shared by the gate handler's files: gate.c (attributes, runs, outcome),
 * gate_check.c (the checks and their messages) and gate_report.c (gate.md
 * and gate.json); not part of the public API. */
#ifndef LO_GATE_INTERNAL_H
#define LO_GATE_INTERNAL_H

#include <jansson.h>

#include "lightsout/gate.h"

enum {
    TAIL_BYTES = 4096,            /* output kept for the report */
    TAIL_LINES = 20,              /* of which at most these lines are shown */
    FAILING_SHOWN = 20,           /* regressions listed by name */
    FAILING_BYTES = 1000,         /* of failing test names in messages */
    MAX_REPEAT = 100,
    /* below these differences a baseline comparison is noise, whatever the
     * ratio: a 3 ms command against a 1 ms baseline is not a regression */
    FLOOR_MS = 20,
    FLOOR_RSS_KB = 4096,
};

typedef enum gate_sandbox { SANDBOX_AUTO, SANDBOX_ON, SANDBOX_OFF } gate_sandbox;

/* The node's attributes, checked. */
typedef struct gate_cfg {
    lo_gate_budget b;
    int repeat;
    lo_report_format format;
    bool format_named;
    int64_t max_fail, min_pass; /* min_pass < 0: none */
    bool no_regression;
    const char *baseline;
    double max_ratio;
    gate_sandbox sandbox;
    bool network;
    const char *report_file;    /* "" = the report is in the output */
    const char *sandbox_writable; /* more writable paths, comma-separated */
} gate_cfg;

/* What the gate ran and measured: the judged metrics (the failing run's,
 * else the medians), the last run's tests, and how it was isolated. */
typedef struct gate_run {
    const char *id, *shown;     /* node id; the command as valid UTF-8 */
    const gate_cfg *c;
    lo_gate_metrics m;
    const lo_gate_metrics *runs;
    int done;
    bool failed_run;            /* the repeats stopped at a failing run */
    lo_report rep;
    char *failing;              /* failing test names, ", "-joined */
    char *tail;                 /* the last lines of output */
    bool sandboxed;
    char sandbox_note[512];     /* why not, when it could have been */
    char measure_note[320];     /* why no cgroup, when none */
    bool report_file_missing;   /* report_file was not written by the last run */
} gate_run;

/* The checks made, in order; the failed ones make up the report. */
typedef struct gate_verdict {
    json_t *checks;             /* [{check, ok, measured, limit, detail}] */
    lo_buf problems;            /* failed checks, "; "-separated */
    int n_failed;
    json_t *regressions;        /* names */
    json_t *baseline;           /* the values compared with, or NULL */
} gate_verdict;

/* Run every check of docs/gates.md against g; fill *v (release with
 * gate_verdict_release). */
void gate_judge(const lo_stage *st, const gate_run *g, gate_verdict *v);
void gate_verdict_release(gate_verdict *v);

/* gate.md: the first line is the verdict. Caller frees. */
char *gate_markdown(const gate_run *g, const gate_verdict *v);
/* gate.json (new reference); md is gate.md's text. */
json_t *gate_json(const gate_run *g, const gate_verdict *v, const char *md);
json_t *gate_metrics_json(const lo_gate_metrics *m);

/* "1.84 s", "12.3 MB", "1.2 KB" / "312 bytes" */
const char *gate_fmt_ms(char *b, size_t n, int64_t ms);
const char *gate_fmt_kb(char *b, size_t n, int64_t kb);
const char *gate_fmt_bytes(char *b, size_t n, int64_t bytes);

#endif
