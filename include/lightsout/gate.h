/*
 * Validation gates: test-report parsers (this first section) and the gate
 * handler's measurements and verdicts (below).
 *
 * Ownership: lo_report_parse fills a caller-owned lo_report whose strings and
 * test array are released by lo_report_release; lo_report_failing_names
 * returns a string the caller frees with free().
 */
#ifndef LIGHTSOUT_GATE_H
#define LIGHTSOUT_GATE_H

#include <stdbool.h>
#include <stddef.h>

#include "lightsout/base.h"

/* ---- test reports ----
 *
 * A gate's command output (or a report file) is read as one of the runners'
 * report formats. Counts go into the context for edge conditions and
 * prompts; by default one failing test fails the gate even when the command
 * exits 0. Names and messages are NUL-terminated, valid UTF-8 (invalid bytes
 * become U+FFFD) and cut at 512 bytes. Decisions where formats are vague:
 * - TAP: only top-level tests count (indented subtests and YAML blocks are
 *   skipped); "not ok # TODO" counts as passed, as prove does; "Bail out!"
 *   is one failure and ends the stream; tests the plan promised but that
 *   never ran are failures named "missing test N"; more tests than planned
 *   add one failure.
 * - prove: counts from "Files=, Tests=" and the Test Summary Report; failing
 *   names are "FILE #N"; a file that failed without a failing test (bad
 *   plan, non-zero exit) is one failure named after the file.
 * - go test: top-level tests only (subtests are part of their parent); a
 *   package that fails without a failing test (build failure, panic) is one
 *   failure named after the package.
 * - pytest: errors count as failures, xfailed as skipped, xpassed as
 *   passed; deselected and warnings are not counted.
 * - JUnit: names are "classname.name" (or name alone); <error> counts as a
 *   failure; flaky/rerun children are ignored.
 * - ANSI colour sequences are removed before parsing.
 */
typedef enum lo_report_format { LO_REPORT_AUTO, LO_REPORT_TAP, LO_REPORT_JUNIT, LO_REPORT_PYTEST, LO_REPORT_GO, LO_REPORT_CARGO, LO_REPORT_CTEST, LO_REPORT_PROVE, LO_REPORT_PLAIN, LO_REPORT_NONE } lo_report_format;
typedef struct lo_test_result { char *name; int status; /* 0 pass, 1 fail, 2 skip */ char *message; /* first line of the failure, may be NULL */ } lo_test_result;
typedef struct lo_report { lo_report_format format; long passed, failed, skipped, total; bool found; /* a report was recognised */ lo_test_result *tests; size_t n_tests; /* individual results where the format gives them */ } lo_report;
/* Returns 0, or LO_EINVAL for an unknown name (case-insensitive). */
int lo_report_format_parse(const char *name, lo_report_format *out); /* "tap", "junit", "pytest", "go", "cargo", "ctest", "prove", "plain", "none", "auto" */
const char *lo_report_format_name(lo_report_format f);
/* Parse output text (len bytes, not necessarily NUL-terminated). AUTO tries every format and keeps the first that recognises the text (JUnit first when it starts with '<', else prove/TAP, go, cargo, pytest, ctest, plain). Fills *out (release with lo_report_release); out->found=false when nothing was recognised. Returns 0 or LO_ENOMEM. */
int lo_report_parse(const char *text, size_t len, lo_report_format fmt, lo_report *out);
void lo_report_release(lo_report *r);
/* Names of the failing tests, joined with ", " and cut at max bytes with "…" (for messages and the context). Caller frees. */
/* max counts the whole result including the "…" (0 = no limit); the cut
 * never splits a UTF-8 sequence. "" when no failing test has a name; NULL
 * only when out of memory. */
char *lo_report_failing_names(const lo_report *r, size_t max);

#include <stdatomic.h>
#include <stdint.h>

#include "lightsout/engine.h"
#include "lightsout/proc.h"

/* ---- budgets and measurement (src/gate/budget.c) ----
 *
 * A gate's command runs under lo_proc_exec in its own process group, and
 * in a cgroup v2 group of its own where one can be created (src/gate/
 * cgroup.c). Wall time and output size are enforced by the runner itself
 * (timeout_ms, max_output_bytes); CPU time, memory and the process count
 * are watched by a thread that looks at the command's processes every
 * LO_GATE_POLL_MS (the group's members, else a /proc scan for the process
 * group) and stops them when one of them crosses its budget. The watcher
 * is woken when the command ends, so it never delays the verdict. With a
 * sandbox (lo_sandbox, proc.h) the command runs under bubblewrap; the
 * sandbox's own two processes are not counted as the command's. */

enum { LO_GATE_POLL_MS = 20 };

typedef enum lo_gate_trip {
    LO_TRIP_NONE, LO_TRIP_WALL, LO_TRIP_CPU, LO_TRIP_RSS, LO_TRIP_OUTPUT, LO_TRIP_PROCS,
} lo_gate_trip;

/* "max_wall", "max_cpu", ...; "" for LO_TRIP_NONE. */
const char *lo_gate_trip_name(lo_gate_trip t);

typedef struct lo_gate_budget {
    int64_t max_wall_ms;      /* 0 = no budget, for each field */
    int64_t max_cpu_ms;
    int64_t max_rss_kb;
    int64_t max_output_bytes;
    int64_t max_procs;
} lo_gate_budget;

typedef struct lo_gate_metrics {
    int64_t wall_ms;          /* start to reap */
    int64_t cpu_ms;           /* user + system of the whole group */
    int64_t max_rss_kb;       /* peak resident memory of the group */
    int64_t output_bytes;     /* stdout + stderr written */
    int exit_code;            /* exit status, or -1 when killed by a signal */
    int signal;               /* that signal, or 0 */
    int64_t procs_peak;       /* most processes seen in the group at once */
    lo_gate_trip tripped;     /* the budget that stopped it, or NONE */
    int64_t tripped_value;    /* what was measured when it tripped */
    bool cancelled;           /* the run was cancelled */
    bool deadline;            /* the stage's deadline (timeout) stopped it */
    bool sandboxed;           /* it ran under bubblewrap */
    bool cgroup;              /* measured through a cgroup v2 group (else the /proc scan) */
} lo_gate_metrics;

/* How to run one measured command. */
typedef struct lo_gate_exec {
    const char *command;      /* run with /bin/sh -c */
    const char *cwd;          /* NULL = inherit */
    char *const *env;         /* NULL = inherit */
    const char *output_path;  /* stdout and stderr merged; NULL = discard */
    size_t tail_bytes;        /* kept in *tail when tail is not NULL */
    int64_t deadline_ms;      /* extra timeout (the stage's), 0 = none */
    const atomic_bool *cancel; /* the run's flag; NULL = none */
    void (*on_output)(void *ud); /* activity, for a stall watchdog */
    void *ud;
    const lo_sandbox *sandbox; /* run inside it (bwrap must be available); NULL = bare */
    bool no_cgroup;           /* watch by the /proc scan even where a group could be made */
    char *note;               /* when not NULL (note_len bytes): why no cgroup was used */
    size_t note_len;
} lo_gate_exec;

/* Run x->command under the budgets of b (NULL = none) and fill *m. Returns
 * 0 when the command ran (whatever its verdict), or lo_proc_exec's error. */
int lo_gate_measure(const lo_gate_budget *b, const lo_gate_exec *x, lo_gate_metrics *m,
                    lo_buf *tail, lo_error *err);

/* ---- the gate handler (src/gate/gate.c, docs/gates.md) ---- */

/* "gate" (shape=octagon): run `command` under its budgets, parse its test
 * report, check exit status, budgets, tests, regressions and baseline;
 * write {stage}/gate.json and gate.md; SUCCESS or FAIL with the report as
 * the context's last_failure. */
int lo_handler_gate(lo_stage *st, lo_outcome *out, void *ud, lo_error *err);

#endif
