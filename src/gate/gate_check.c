/* The checks of a gate (docs/gates.md, "Checks, in order"): budgets, exit
 * status, the test report, max_fail, min_pass, regressions, baseline. Each
 * is recorded, passing or not; the message of a failed one names what
 * broke and by how much. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "gate/gate_internal.h"

/* ---- formatting ---- */

const char *gate_fmt_ms(char *b, size_t n, int64_t ms)
{
    snprintf(b, n, "%.2f s", (double)ms / 1000.0);
    return b;
}

const char *gate_fmt_kb(char *b, size_t n, int64_t kb)
{
    if (kb >= 1024 * 1024)
        snprintf(b, n, "%.2f GB", (double)kb / (1024.0 * 1024.0));
    else if (kb >= 1024)
        snprintf(b, n, "%.1f MB", (double)kb / 1024.0);
    else
        snprintf(b, n, "%lld KB", (long long)kb);
    return b;
}

const char *gate_fmt_bytes(char *b, size_t n, int64_t bytes)
{
    if (bytes < 1024) {
        snprintf(b, n, "%lld bytes", (long long)bytes);
        return b;
    }
    return gate_fmt_kb(b, n, bytes / 1024);
}

/* ---- recording ---- */

static void check(gate_verdict *v, const char *name, bool ok, json_t *measured, json_t *limit,
                  const char *detail)
{
    json_t *c = json_pack("{s:s, s:b}", "check", name, "ok", ok);
    if (c) {
        json_object_set_new(c, "measured", measured ? measured : json_null());
        json_object_set_new(c, "limit", limit ? limit : json_null());
        if (detail)
            json_object_set_new(c, "detail", json_string(detail));
        json_array_append_new(v->checks, c);
    } else {
        json_decref(measured);
        json_decref(limit);
    }
    if (!ok) {
        if (v->n_failed++)
            lo_buf_puts(&v->problems, "; ");
        lo_buf_puts(&v->problems, detail ? detail : name);
    }
}

typedef const char *(*fmt_fn)(char *, size_t, int64_t);

static void check_budget(gate_verdict *v, const char *budget, const char *what, int64_t limit,
                         int64_t measured, bool tripped, const char *stopped, fmt_fn fmt)
{
    if (limit <= 0)
        return;
    bool over = tripped || measured > limit;
    char detail[256], a[32], b[32];
    if (tripped) {
        /* stopped by the budget: it reached the line; how far past it the
         * measurement got depends on the polling and the signal's delivery */
        char m[32];
        if (fmt)
            snprintf(detail, sizeof detail, "%s reached %s %s (%s measured)%s", what, budget,
                     fmt(b, sizeof b, limit), fmt(m, sizeof m, measured), stopped);
        else
            snprintf(detail, sizeof detail, "%s reached %s %lld (%lld measured)%s", what,
                     budget, (long long)limit, (long long)measured, stopped);
        check(v, budget, false, json_integer(measured), json_integer(limit), detail);
        return;
    }
    if (fmt)
        snprintf(detail, sizeof detail, "%s %s exceeds %s %s (×%.2f)", what,
                 fmt(a, sizeof a, measured), budget, fmt(b, sizeof b, limit),
                 (double)measured / (double)limit);
    else
        snprintf(detail, sizeof detail, "%s %lld exceeds %s %lld (×%.2f)", what,
                 (long long)measured, budget, (long long)limit,
                 (double)measured / (double)limit);
    check(v, budget, !over, json_integer(measured), json_integer(limit),
          over ? detail : NULL);
}

/* The measured value a budget is judged on: what the watcher saw when it
 * stopped the command, if that is more than the final measurement. */
static int64_t judged(const lo_gate_metrics *m, lo_gate_trip t, int64_t measured)
{
    return m->tripped == t && m->tripped_value > measured ? m->tripped_value : measured;
}

static void check_budgets(gate_verdict *v, const gate_cfg *c, const lo_gate_metrics *m)
{
    check_budget(v, "max_wall", "wall time", c->b.max_wall_ms,
                 judged(m, LO_TRIP_WALL, m->wall_ms), m->tripped == LO_TRIP_WALL,
                 "; the command was stopped", gate_fmt_ms);
    check_budget(v, "max_cpu", "CPU time", c->b.max_cpu_ms, judged(m, LO_TRIP_CPU, m->cpu_ms),
                 m->tripped == LO_TRIP_CPU, "; the command was stopped", gate_fmt_ms);
    check_budget(v, "max_rss", "peak memory", c->b.max_rss_kb,
                 judged(m, LO_TRIP_RSS, m->max_rss_kb), m->tripped == LO_TRIP_RSS,
                 "; the process group was killed", gate_fmt_kb);
    check_budget(v, "max_output", "output", c->b.max_output_bytes, m->output_bytes,
                 m->tripped == LO_TRIP_OUTPUT, "; the command was stopped", gate_fmt_bytes);
    check_budget(v, "max_procs", "process count", c->b.max_procs,
                 judged(m, LO_TRIP_PROCS, m->procs_peak), m->tripped == LO_TRIP_PROCS,
                 "; the process group was killed", NULL);
}

static void check_exit(gate_verdict *v, const lo_gate_metrics *m)
{
    char a[32], detail[512];
    if (m->deadline) {
        snprintf(detail, sizeof detail, "the stage timeout stopped the command after %s",
                 gate_fmt_ms(a, sizeof a, m->wall_ms));
        check(v, "timeout", false, json_integer(m->wall_ms), NULL, detail);
    }
    if (m->cancelled)
        check(v, "cancelled", false, NULL, NULL, "the run was cancelled");
    if (m->tripped || m->deadline || m->cancelled)
        return; /* a stopped command's status says nothing the budget did not */
    if (m->signal)
        snprintf(detail, sizeof detail, "command killed by signal %d (%s)", m->signal,
                 strsignal(m->signal));
    else
        snprintf(detail, sizeof detail, "command exited with status %d", m->exit_code);
    check(v, "exit_status", m->exit_code == 0, json_integer(m->exit_code), json_integer(0),
          m->exit_code == 0 ? NULL : detail);
}

static void check_tests(gate_verdict *v, const gate_cfg *c, const gate_run *g)
{
    const lo_report *rep = &g->rep;
    const char *failing = g->failing;
    char detail[1536];
    if (g->report_file_missing) {
        snprintf(detail, sizeof detail, "the command did not write its test report %.900s",
                 c->report_file);
        check(v, "report_file", false, NULL, json_string(c->report_file), detail);
    } else if (c->format_named && !rep->found) {
        snprintf(detail, sizeof detail, "no %s test report found in %.900s",
                 lo_report_format_name(c->format), *c->report_file ? c->report_file : "the output");
        check(v, "report", false, NULL, json_string(lo_report_format_name(c->format)),
              detail);
    }
    if (rep->found || rep->failed) {
        if (c->max_fail > 0)
            snprintf(detail, sizeof detail, "%ld of %ld tests failed (max_fail %lld): %s",
                     rep->failed, rep->total, (long long)c->max_fail, failing);
        else
            snprintf(detail, sizeof detail, "%ld of %ld tests failed: %s", rep->failed,
                     rep->total, failing);
        bool ok = rep->failed <= c->max_fail;
        check(v, "max_fail", ok, json_integer(rep->failed), json_integer(c->max_fail),
              ok ? NULL : detail);
    }
    if (c->min_pass >= 0) {
        bool ok = rep->passed >= c->min_pass;
        snprintf(detail, sizeof detail, "%ld tests passed, fewer than min_pass %lld",
                 rep->passed, (long long)c->min_pass);
        check(v, "min_pass", ok, json_integer(rep->passed), json_integer(c->min_pass),
              ok ? NULL : detail);
    }
}

/* ---- regressions ---- */

/* Names of tests that passed at an earlier gate of this run (any node):
 * the context's gate.*.passing arrays. */
static json_t *earlier_passing(lo_context *ctx)
{
    json_t *set = json_object();
    json_t *snap = lo_context_snapshot(ctx);
    const char *key;
    json_t *val;
    json_object_foreach(snap, key, val) {
        size_t kl = strlen(key);
        if (!lo_str_starts(key, "gate.") || kl < 13 || strcmp(key + kl - 8, ".passing"))
            continue;
        json_t *arr = val;
        json_t *parsed = NULL;
        if (json_is_string(val)) /* a value that went through a string form */
            arr = parsed = json_loads(json_string_value(val), 0, NULL);
        size_t i;
        json_t *nm;
        json_array_foreach(arr, i, nm)
            if (json_is_string(nm))
                json_object_set_new(set, json_string_value(nm), json_true());
        json_decref(parsed);
    }
    json_decref(snap);
    return set;
}

static void check_regressions(gate_verdict *v, const lo_stage *st, const lo_report *rep)
{
    json_t *before = earlier_passing(st->context);
    for (size_t i = 0; i < rep->n_tests; i++)
        if (rep->tests[i].status == 1 && rep->tests[i].name &&
            json_object_get(before, rep->tests[i].name))
            json_array_append_new(v->regressions, json_string(rep->tests[i].name));
    json_decref(before);
    size_t nr = json_array_size(v->regressions);
    lo_buf names;
    lo_buf_init(&names, 0);
    for (size_t i = 0; i < nr && i < FAILING_SHOWN; i++)
        lo_buf_printf(&names, "%s%s", i ? ", " : "",
                      json_string_value(json_array_get(v->regressions, i)));
    if (nr > FAILING_SHOWN)
        lo_buf_printf(&names, " (+%zu more)", nr - FAILING_SHOWN);
    char detail[1536];
    snprintf(detail, sizeof detail, "%zu regression%s (passed at an earlier gate, failing "
             "now): %s", nr, nr == 1 ? "" : "s", names.data ? names.data : "");
    check(v, "no_regression", nr == 0, json_integer((json_int_t)nr), json_integer(0),
          nr ? detail : NULL);
    lo_buf_release(&names);
}

/* ---- baseline ---- */

/* {wall_ms, cpu_ms, rss_kb} of an earlier gate (context) or a file; NULL
 * with *why filled when there is neither. */
static json_t *load_baseline(const lo_stage *st, const char *name, char *src, size_t sn,
                             char *why, size_t wn)
{
    char key[512];
    snprintf(key, sizeof key, "gate.%s.wall_ms", name);
    if (lo_context_has(st->context, key)) {
        json_t *b = json_object();
        static const char *const fields[] = {"wall_ms", "cpu_ms", "rss_kb"};
        for (int i = 0; i < 3; i++) {
            snprintf(key, sizeof key, "gate.%s.%s", name, fields[i]);
            char *s = lo_context_get_str(st->context, key);
            int64_t val;
            if (s && !lo_parse_int64(s, &val))
                json_object_set_new(b, fields[i], json_integer(val));
            free(s);
        }
        snprintf(src, sn, "gate `%s`", name);
        return b;
    }
    char path[PATH_MAX];
    if (name[0] == '/' || !st->workdir)
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "%s/%s", st->workdir, name);
    json_error_t je;
    json_t *b = json_load_file(path, 0, &je);
    if (!b || !json_is_object(b)) {
        json_decref(b);
        snprintf(why, wn, "baseline `%s`: no earlier gate of that name and no readable "
                          "JSON file (%s)", name, je.text);
        return NULL;
    }
    snprintf(src, sn, "baseline file `%s`", name);
    return b;
}

static void check_baseline(gate_verdict *v, const char *metric, const char *what,
                           int64_t measured, const char *src, double ratio, int64_t floor,
                           fmt_fn fmt)
{
    json_t *bv = json_object_get(v->baseline, metric);
    if (!json_is_number(bv))
        return;
    double b = json_number_value(bv);
    if (b <= 0)
        return; /* nothing to compare a ratio with */
    double limit = b * ratio;
    bool ok = (double)measured <= limit || (double)measured - b <= (double)floor;
    char name[64], detail[320], a[32], c[32];
    snprintf(name, sizeof name, "baseline.%s", metric);
    snprintf(detail, sizeof detail, "%s %s exceeds max_ratio %.2f × %s %s (×%.2f)", what,
             fmt(a, sizeof a, measured), ratio, src, fmt(c, sizeof c, (int64_t)b),
             (double)measured / b);
    check(v, name, ok, json_integer(measured), json_real(limit), ok ? NULL : detail);
}

static void check_baselines(gate_verdict *v, const lo_stage *st, const gate_cfg *c,
                            const lo_gate_metrics *m)
{
    char src[PATH_MAX + 32], detail[PATH_MAX + 256];
    v->baseline = load_baseline(st, c->baseline, src, sizeof src, detail, sizeof detail);
    if (!v->baseline) {
        check(v, "baseline", false, NULL, NULL, detail);
        return;
    }
    check_baseline(v, "wall_ms", "wall time", m->wall_ms, src, c->max_ratio, FLOOR_MS,
                   gate_fmt_ms);
    check_baseline(v, "cpu_ms", "CPU time", m->cpu_ms, src, c->max_ratio, FLOOR_MS,
                   gate_fmt_ms);
    check_baseline(v, "rss_kb", "peak memory", m->max_rss_kb, src, c->max_ratio,
                   FLOOR_RSS_KB, gate_fmt_kb);
}

/* ---- all of them ---- */

void gate_judge(const lo_stage *st, const gate_run *g, gate_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->checks = json_array();
    v->regressions = json_array();
    lo_buf_init(&v->problems, 0);
    const gate_cfg *c = g->c;
    check_budgets(v, c, &g->m);
    check_exit(v, &g->m);
    check_tests(v, c, g);
    if (c->no_regression)
        check_regressions(v, st, &g->rep);
    if (*c->baseline)
        check_baselines(v, st, c, &g->m);
}

void gate_verdict_release(gate_verdict *v)
{
    json_decref(v->checks);
    json_decref(v->regressions);
    json_decref(v->baseline);
    lo_buf_release(&v->problems);
    memset(v, 0, sizeof *v);
}
