/* What a gate writes (docs/gates.md, "What a gate writes"): gate.md, the
 * report for people and models whose first line is the verdict, and
 * gate.json, every measurement and check. */
#include <stdio.h>
#include <string.h>

#include "gate/gate_internal.h"

json_t *gate_metrics_json(const lo_gate_metrics *m)
{
    json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:i, s:I}", "wall_ms", (json_int_t)m->wall_ms,
                          "cpu_ms", (json_int_t)m->cpu_ms, "rss_kb",
                          (json_int_t)m->max_rss_kb, "output_bytes",
                          (json_int_t)m->output_bytes, "exit_code", m->exit_code,
                          "procs_peak", (json_int_t)m->procs_peak);
    if (j && m->signal)
        json_object_set_new(j, "signal", json_integer(m->signal));
    if (j && m->tripped)
        json_object_set_new(j, "tripped", json_string(lo_gate_trip_name(m->tripped)));
    if (j && m->tripped)
        json_object_set_new(j, "tripped_value", json_integer(m->tripped_value));
    return j;
}

char *gate_markdown(const gate_run *g, const gate_verdict *v)
{
    const lo_gate_metrics *m = &g->m;
    const lo_report *rep = &g->rep;
    lo_buf md;
    lo_buf_init(&md, 0);
    if (v->n_failed == 0)
        lo_buf_printf(&md, "Gate `%s` passed", g->id);
    else
        lo_buf_printf(&md, "Gate `%s` FAILED: %s", g->id, v->problems.data);
    lo_buf_printf(&md, "\n\nCommand: `%s`\n", g->shown);
    if (g->c->repeat > 1)
        lo_buf_printf(&md, "Runs: %d of %d (%s)\n", g->done, g->c->repeat,
                      g->failed_run ? "stopped at the first failing run" : "medians judged");
    char a[32], cpu_s[32], rss_s[32], outb[32];
    lo_buf_printf(&md, "Measured: wall %s, CPU %s, peak memory %s, output %s, ",
                  gate_fmt_ms(a, sizeof a, m->wall_ms), gate_fmt_ms(cpu_s, sizeof cpu_s, m->cpu_ms),
                  gate_fmt_kb(rss_s, sizeof rss_s, m->max_rss_kb),
                  gate_fmt_bytes(outb, sizeof outb, m->output_bytes));
    if (m->signal)
        lo_buf_printf(&md, "killed by signal %d\n", m->signal);
    else
        lo_buf_printf(&md, "exit status %d\n", m->exit_code);
    if (!g->sandboxed && g->sandbox_note[0])
        lo_buf_printf(&md, "Not sandboxed: %s\n", g->sandbox_note);
    if (rep->found)
        lo_buf_printf(&md, "Tests (%s): %ld passed, %ld failed, %ld skipped\n",
                      lo_report_format_name(rep->format), rep->passed, rep->failed,
                      rep->skipped);
    if (rep->failed) {
        lo_buf_printf(&md, "Failing tests: %s\n", g->failing);
        int shown_msgs = 0;
        for (size_t i = 0; i < rep->n_tests && shown_msgs < 5; i++)
            if (rep->tests[i].status == 1 && rep->tests[i].message && *rep->tests[i].message) {
                lo_buf_printf(&md, "- %s: %.300s\n", rep->tests[i].name ? rep->tests[i].name : "?",
                              rep->tests[i].message);
                shown_msgs++;
            }
    }
    if (v->n_failed && g->tail && *g->tail)
        lo_buf_printf(&md, "\nLast lines of output:\n```\n%s\n```\n", g->tail);
    return lo_buf_steal(&md);
}

/* How the command was isolated and measured. */
static json_t *isolation_json(const gate_run *g)
{
    static const char *const modes[] = {"auto", "true", "false"};
    json_t *sb = json_pack("{s:s, s:b, s:b}", "mode", modes[g->c->sandbox], "used",
                           g->sandboxed, "network", g->sandboxed ? g->c->network : true);
    if (sb && g->sandbox_note[0])
        json_object_set_new(sb, "note", json_string(g->sandbox_note));
    return sb;
}

static json_t *measurement_json(const gate_run *g)
{
    json_t *j = json_pack("{s:s, s:s, s:s}", "by",
                          g->m.cgroup ? "cgroup2" : "proc",
                          "cpu", g->m.cgroup ? "cgroup cpu.stat and wait4 rusage"
                                             : "/proc scan of the process group and wait4 rusage",
                          "memory", "summed resident pages of the members and wait4 ru_maxrss");
    if (j && !g->m.cgroup && g->measure_note[0])
        json_object_set_new(j, "note", json_string(g->measure_note));
    return j;
}

json_t *gate_json(const gate_run *g, const gate_verdict *v, const char *md)
{
    const gate_cfg *c = g->c;
    const lo_report *rep = &g->rep;
    json_t *budgets = json_pack("{s:I, s:I, s:I, s:I, s:I}", "max_wall_ms",
                                (json_int_t)c->b.max_wall_ms, "max_cpu_ms",
                                (json_int_t)c->b.max_cpu_ms, "max_rss_kb",
                                (json_int_t)c->b.max_rss_kb, "max_output_bytes",
                                (json_int_t)c->b.max_output_bytes, "max_procs",
                                (json_int_t)c->b.max_procs);
    json_t *runs_j = json_array();
    for (int i = 0; i < g->done; i++)
        json_array_append_new(runs_j, gate_metrics_json(&g->runs[i]));
    json_t *fail_arr = json_array();
    for (size_t i = 0; i < rep->n_tests; i++)
        if (rep->tests[i].name && rep->tests[i].status == 1)
            json_array_append_new(fail_arr, json_string(rep->tests[i].name));
    json_t *tests = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:o}", "format",
                              lo_report_format_name(rep->format), "found", rep->found,
                              "passed", (json_int_t)rep->passed, "failed",
                              (json_int_t)rep->failed, "skipped", (json_int_t)rep->skipped,
                              "total", (json_int_t)rep->total, "failing", fail_arr);
    json_t *gj = json_pack("{s:s, s:s, s:s, s:i, s:i, s:o, s:o, s:o, s:O, s:o, s:O, s:o, "
                           "s:o, s:s, s:s}",
                           "node", g->id, "command", g->shown, "status",
                           v->n_failed ? "fail" : "pass", "repeat", c->repeat, "runs_done",
                           g->done, "metrics", gate_metrics_json(&g->m), "runs", runs_j,
                           "budgets", budgets, "checks", v->checks, "tests", tests,
                           "regressions", v->regressions, "sandbox", isolation_json(g),
                           "measurement", measurement_json(g), "output_tail",
                           g->tail ? g->tail : "", "report", md);
    if (gj && v->baseline)
        json_object_set(gj, "baseline", v->baseline);
    return gj;
}
