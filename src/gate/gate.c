/* The gate handler (shape=octagon or type="gate"; docs/gates.md).
 *
 * A gate runs `command` with /bin/sh -c in the run's workdir under its
 * budgets (budget.c), `repeat` times, parses the test report in its output
 * (report.c), and checks, in this order: the budgets, the exit status, the
 * test counts (max_fail, min_pass), regressions against earlier gates, and
 * the baseline. Every check is recorded in {stage}/gate.json; the ones that
 * failed make up gate.md, a short report that also becomes the context's
 * last_failure, so the next codergen prompt can show the agent what broke. */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lightsout/gate.h"

extern char **environ;

enum {
    TAIL_BYTES = 4096,            /* output kept for the report */
    TAIL_LINES = 20,              /* of which at most these lines are shown */
    REPORT_READ_MAX = 64 << 20,   /* bytes of output given to the parser */
    FAILING_SHOWN = 20,           /* regressions listed by name */
    FAILING_BYTES = 1000,         /* of failing test names in messages */
    MAX_REPEAT = 100,
    /* below these differences a baseline comparison is noise, whatever the
     * ratio: a 3 ms command against a 1 ms baseline is not a regression */
    FLOOR_MS = 20,
    FLOOR_RSS_KB = 4096,
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- formatting ---- */

static const char *fmt_ms(char *b, size_t n, int64_t ms)
{
    snprintf(b, n, "%.2f s", (double)ms / 1000.0);
    return b;
}

static const char *fmt_kb(char *b, size_t n, int64_t kb)
{
    if (kb >= 1024 * 1024)
        snprintf(b, n, "%.2f GB", (double)kb / (1024.0 * 1024.0));
    else if (kb >= 1024)
        snprintf(b, n, "%.1f MB", (double)kb / 1024.0);
    else
        snprintf(b, n, "%lld KB", (long long)kb);
    return b;
}

static const char *fmt_bytes(char *b, size_t n, int64_t bytes)
{
    if (bytes < 1024) {
        snprintf(b, n, "%lld bytes", (long long)bytes);
        return b;
    }
    return fmt_kb(b, n, bytes / 1024);
}

/* ---- checks ---- */

typedef struct verdict {
    json_t *checks;   /* [{check, ok, measured, limit, detail}] */
    lo_buf problems;  /* failed checks, "; "-separated */
    int n_failed;
} verdict;

static void check(verdict *v, const char *name, bool ok, json_t *measured, json_t *limit,
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

static void check_budget(verdict *v, const char *budget, const char *what, int64_t limit,
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
        snprintf(detail, sizeof detail, "%s %s exceeds %s %s (×%.2f)%s", what,
                 fmt(a, sizeof a, measured), budget, fmt(b, sizeof b, limit),
                 (double)measured / (double)limit, tripped ? stopped : "");
    else
        snprintf(detail, sizeof detail, "%s %lld exceeds %s %lld (×%.2f)%s", what,
                 (long long)measured, budget, (long long)limit,
                 (double)measured / (double)limit, tripped ? stopped : "");
    check(v, budget, !over, json_integer(measured), json_integer(limit),
          over ? detail : NULL);
}

/* ---- the command's environment: ours plus three names (as tool stages) ---- */

static char **build_env(const lo_stage *st, lo_buf *own)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = lo_calloc(n + 4, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!lo_str_starts(environ[i], "LIGHTSOUT_STAGE=") &&
            !lo_str_starts(environ[i], "LIGHTSOUT_LOGS=") &&
            !lo_str_starts(environ[i], "LIGHTSOUT_STAGE_DIR="))
            env[k++] = environ[i];
    /* three NUL-separated strings in one buffer; pointers taken after it
     * stops growing */
    size_t o1, o2;
    lo_buf_printf(own, "LIGHTSOUT_STAGE=%s", st->node->id);
    lo_buf_putc(own, '\0');
    o1 = own->len;
    lo_buf_printf(own, "LIGHTSOUT_LOGS=%s", st->logs_root ? st->logs_root : "");
    lo_buf_putc(own, '\0');
    o2 = own->len;
    if (lo_buf_printf(own, "LIGHTSOUT_STAGE_DIR=%s", st->stage_dir)) {
        free(env);
        return NULL;
    }
    env[k++] = own->data;
    env[k++] = own->data + o1;
    env[k++] = own->data + o2;
    return env;
}

/* ---- medians, for repeat=N ---- */

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t median(int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp64);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static json_t *metrics_json(const lo_gate_metrics *m)
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

/* ---- attributes ---- */

typedef struct gate_cfg {
    lo_gate_budget b;
    int repeat;
    lo_report_format format;
    bool format_named;
    int64_t max_fail, min_pass; /* min_pass < 0: none */
    bool no_regression;
    const char *baseline;
    double max_ratio;
} gate_cfg;

static int size_attr(const lo_node *n, const char *key, int64_t *out, char *why, size_t wn)
{
    const char *s = lo_node_str(n, key);
    *out = 0;
    if (!*s)
        return 0;
    if (lo_parse_size(s, out) || *out < 0) {
        snprintf(why, wn, "invalid %s \"%s\" (a size such as 512KB, 100MB, 2GB)", key, s);
        return -1;
    }
    return 0;
}

static int dur_attr(const lo_node *n, const char *key, int64_t *out, char *why, size_t wn)
{
    const char *s = lo_node_str(n, key);
    *out = 0;
    if (!*s)
        return 0;
    if (lo_parse_duration_ms(s, out) || *out < 0) {
        snprintf(why, wn, "invalid %s \"%s\" (a duration such as 300ms, 2s, 5m)", key, s);
        return -1;
    }
    return 0;
}

static int int_attr(const lo_node *n, const char *key, int64_t def, int64_t *out, char *why,
                    size_t wn)
{
    const char *s = lo_node_str(n, key);
    *out = def;
    if (!*s)
        return 0;
    if (lo_parse_int64(s, out) || *out < 0) {
        snprintf(why, wn, "invalid %s \"%s\" (a whole number >= 0)", key, s);
        return -1;
    }
    return 0;
}

static int read_cfg(const lo_node *n, gate_cfg *c, char *why, size_t wn)
{
    memset(c, 0, sizeof *c);
    int64_t rss = 0, rep = 1;
    if (dur_attr(n, "max_wall", &c->b.max_wall_ms, why, wn) ||
        dur_attr(n, "max_cpu", &c->b.max_cpu_ms, why, wn) ||
        size_attr(n, "max_rss", &rss, why, wn) ||
        size_attr(n, "max_output", &c->b.max_output_bytes, why, wn) ||
        int_attr(n, "max_procs", 0, &c->b.max_procs, why, wn) ||
        int_attr(n, "repeat", 1, &rep, why, wn) ||
        int_attr(n, "max_fail", 0, &c->max_fail, why, wn) ||
        int_attr(n, "min_pass", -1, &c->min_pass, why, wn))
        return -1;
    /* a size under 1 KB still means "some memory", not "no budget" */
    c->b.max_rss_kb = rss > 0 ? (rss + 1023) / 1024 : 0;
    if (rep < 1 || rep > MAX_REPEAT) {
        snprintf(why, wn, "invalid repeat %lld (1 to %d)", (long long)rep, MAX_REPEAT);
        return -1;
    }
    c->repeat = (int)rep;
    const char *rf = lo_node_str(n, "report");
    c->format = LO_REPORT_AUTO;
    if (*rf && strcmp(rf, "auto") != 0) {
        if (lo_report_format_parse(rf, &c->format)) {
            snprintf(why, wn, "unknown report format \"%s\"", rf);
            return -1;
        }
        c->format_named = c->format != LO_REPORT_AUTO && c->format != LO_REPORT_NONE;
    }
    c->no_regression = lo_node_bool(n, "no_regression", false);
    c->baseline = lo_node_str(n, "baseline");
    c->max_ratio = 1.10;
    const char *mr = lo_node_str(n, "max_ratio");
    if (*mr && (lo_parse_double(mr, &c->max_ratio) || !(c->max_ratio > 0))) {
        snprintf(why, wn, "invalid max_ratio \"%s\" (a number > 0)", mr);
        return -1;
    }
    return 0;
}

/* ---- tests ---- */

static void parse_report(const char *path, const gate_cfg *c, lo_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->format = c->format;
    if (c->format == LO_REPORT_NONE)
        return;
    char *data = NULL;
    size_t len = 0;
    if (lo_file_read(path, REPORT_READ_MAX, &data, &len, NULL) == 0)
        lo_report_parse(data, len, c->format, rep);
    free(data);
}

/* Did this run fail on its own (so repeating is pointless)? */
static bool run_failed(const lo_gate_metrics *m, const lo_report *rep, const gate_cfg *c)
{
    return m->tripped || m->cancelled || m->deadline || m->exit_code != 0 ||
           rep->failed > c->max_fail || (c->format_named && !rep->found);
}

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
            int64_t v;
            if (s && !lo_parse_int64(s, &v))
                json_object_set_new(b, fields[i], json_integer(v));
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

static void check_baseline(verdict *v, const char *metric, const char *what, int64_t measured,
                           const json_t *base, const char *src, double ratio, int64_t floor,
                           fmt_fn fmt)
{
    json_t *bv = json_object_get(base, metric);
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

/* ---- the report ---- */

/* The last TAIL_LINES lines of the output tail, cleaned for text. */
static char *tail_text(const lo_buf *tail)
{
    const char *d = tail->data ? tail->data : "";
    size_t len = tail->len;
    while (len && (d[len - 1] == '\n' || d[len - 1] == '\r'))
        len--;
    size_t start = len;
    int lines = 0;
    while (start > 0) {
        if (d[start - 1] == '\n' && ++lines >= TAIL_LINES)
            break;
        start--;
    }
    return lo_utf8_clean(d + start, len - start);
}

static char *failing_names(const lo_report *rep)
{
    char *s = rep->failed ? lo_report_failing_names(rep, FAILING_BYTES) : NULL;
    return s ? s : lo_strdup("");
}

static void set_int(lo_outcome *out, const char *id, const char *k, int64_t v)
{
    char key[512];
    snprintf(key, sizeof key, "gate.%s.%s", id, k);
    lo_outcome_update(out, key, json_integer(v));
}

static void set_str(lo_outcome *out, const char *id, const char *k, const char *v)
{
    char key[512];
    snprintf(key, sizeof key, "gate.%s.%s", id, k);
    lo_outcome_update_str(out, key, v);
}

static void touch(void *ud)
{
    lo_run_touch(ud);
}

static int write_file(const lo_stage *st, const char *name, const char *text, lo_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", st->stage_dir, name);
    return lo_file_write_atomic(path, text, strlen(text), err);
}

int lo_handler_gate(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    (void)ud;
    const lo_node *n = st->node;
    const char *id = n->id;
    const char *command = lo_node_str(n, "command");
    char why[512];
    gate_cfg c;
    if (!*command || read_cfg(n, &c, why, sizeof why)) {
        if (!*command)
            snprintf(why, sizeof why, "gate %s has no command", id);
        out->status = LO_FAIL;
        lo_outcome_set_failure(out, "%s", why);
        lo_outcome_update_str(out, "last_failure", why);
        set_str(out, id, "status", "fail");
        return 0;
    }

    char out_path[PATH_MAX];
    if (snprintf(out_path, sizeof out_path, "%s/output.txt", st->stage_dir) >= PATH_MAX)
        return lo_error_set(err, LO_EINVAL, "stage directory path too long");
    char *shown = lo_utf8_clean(command, strlen(command));
    lo_buf own;
    lo_buf_init(&own, 0);
    char **env = build_env(st, &own);
    if (!shown || !env) {
        free(shown);
        free(env);
        lo_buf_release(&own);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    lo_run_emit(st->run, "gate_started", json_pack("{s:s, s:s, s:i}", "node", id, "command",
                                                   shown, "repeat", c.repeat));

    /* ---- the runs ---- */
    lo_gate_metrics runs[MAX_REPEAT];
    lo_report rep;
    memset(&rep, 0, sizeof rep);
    lo_buf tail;
    lo_buf_init(&tail, 0);
    int done = 0, rc = 0;
    bool failed_run = false;
    for (int i = 0; i < c.repeat && !failed_run; i++) {
        int64_t left = 0;
        if (st->deadline_ms > 0) {
            left = st->deadline_ms - mono_ms();
            if (left <= 0)
                left = 1; /* the runner stops it at once: counted as the deadline */
        }
        lo_gate_exec x = {
            .command = command,
            .cwd = st->workdir,
            .env = env,
            .output_path = out_path,
            .tail_bytes = TAIL_BYTES,
            .deadline_ms = left,
            .cancel = lo_run_cancel_flag(st->run),
            .on_output = touch,
            .ud = st->run,
        };
        lo_report_release(&rep);
        rc = lo_gate_measure(&c.b, &x, &runs[i], &tail, err);
        if (rc < 0)
            break;
        done++;
        parse_report(out_path, &c, &rep);
        failed_run = run_failed(&runs[i], &rep, &c);
    }
    free(env);
    lo_buf_release(&own);
    if (rc < 0) {
        lo_run_emit(st->run, "gate_finished",
                    json_pack("{s:s, s:s, s:s}", "node", id, "status", "error", "error",
                              err && err->msg[0] ? err->msg : lo_err_name(rc)));
        lo_report_release(&rep);
        lo_buf_release(&tail);
        free(shown);
        return rc; /* could not start: the engine makes it FAIL with the message */
    }

    /* the judged metrics: the failing run's, else the medians */
    lo_gate_metrics m = runs[done - 1];
    if (!failed_run && done > 1) {
        int64_t v[5][MAX_REPEAT];
        for (int i = 0; i < done; i++) {
            v[0][i] = runs[i].wall_ms;
            v[1][i] = runs[i].cpu_ms;
            v[2][i] = runs[i].max_rss_kb;
            v[3][i] = runs[i].output_bytes;
            v[4][i] = runs[i].procs_peak;
        }
        m.wall_ms = median(v[0], done);
        m.cpu_ms = median(v[1], done);
        m.max_rss_kb = median(v[2], done);
        m.output_bytes = median(v[3], done);
        m.procs_peak = median(v[4], done);
    }

    /* ---- the checks, in order ---- */
    verdict v = {json_array(), {0}, 0};
    lo_buf_init(&v.problems, 0);
    char a[32], detail[512];
    int64_t tv = m.tripped_value;
    check_budget(&v, "max_wall", "wall time", c.b.max_wall_ms,
                 m.tripped == LO_TRIP_WALL && tv > m.wall_ms ? tv : m.wall_ms,
                 m.tripped == LO_TRIP_WALL, "; the command was stopped", fmt_ms);
    check_budget(&v, "max_cpu", "CPU time", c.b.max_cpu_ms,
                 m.tripped == LO_TRIP_CPU && tv > m.cpu_ms ? tv : m.cpu_ms,
                 m.tripped == LO_TRIP_CPU, "; the command was stopped", fmt_ms);
    check_budget(&v, "max_rss", "peak memory", c.b.max_rss_kb,
                 m.tripped == LO_TRIP_RSS && tv > m.max_rss_kb ? tv : m.max_rss_kb,
                 m.tripped == LO_TRIP_RSS, "; the process group was killed", fmt_kb);
    check_budget(&v, "max_output", "output", c.b.max_output_bytes, m.output_bytes,
                 m.tripped == LO_TRIP_OUTPUT, "; the command was stopped", fmt_bytes);
    check_budget(&v, "max_procs", "process count", c.b.max_procs,
                 m.tripped == LO_TRIP_PROCS && tv > m.procs_peak ? tv : m.procs_peak,
                 m.tripped == LO_TRIP_PROCS, "; the process group was killed", NULL);
    if (m.deadline) {
        snprintf(detail, sizeof detail, "the stage timeout stopped the command after %s",
                 fmt_ms(a, sizeof a, m.wall_ms));
        check(&v, "timeout", false, json_integer(m.wall_ms), NULL, detail);
    }
    if (m.cancelled)
        check(&v, "cancelled", false, NULL, NULL, "the run was cancelled");
    if (!m.tripped && !m.deadline && !m.cancelled) {
        /* a stopped command's status says nothing the budget did not */
        if (m.signal)
            snprintf(detail, sizeof detail, "command killed by signal %d (%s)", m.signal,
                     strsignal(m.signal));
        else
            snprintf(detail, sizeof detail, "command exited with status %d", m.exit_code);
        check(&v, "exit_status", m.exit_code == 0, json_integer(m.exit_code),
              json_integer(0), m.exit_code == 0 ? NULL : detail);
    }
    char *failing = failing_names(&rep);
    if (c.format_named && !rep.found) {
        snprintf(detail, sizeof detail, "no %s test report found in the output",
                 lo_report_format_name(c.format));
        check(&v, "report", false, NULL, json_string(lo_report_format_name(c.format)),
              detail);
    }
    if (rep.found || rep.failed) {
        if (c.max_fail > 0)
            snprintf(detail, sizeof detail, "%ld of %ld tests failed (max_fail %lld): %s",
                     rep.failed, rep.total, (long long)c.max_fail, failing);
        else
            snprintf(detail, sizeof detail, "%ld of %ld tests failed: %s", rep.failed,
                     rep.total, failing);
        bool ok = rep.failed <= c.max_fail;
        check(&v, "max_fail", ok, json_integer(rep.failed), json_integer(c.max_fail),
              ok ? NULL : detail);
    }
    if (c.min_pass >= 0) {
        bool ok = rep.passed >= c.min_pass;
        snprintf(detail, sizeof detail, "%ld tests passed, fewer than min_pass %lld",
                 rep.passed, (long long)c.min_pass);
        check(&v, "min_pass", ok, json_integer(rep.passed), json_integer(c.min_pass),
              ok ? NULL : detail);
    }
    json_t *regressions = json_array();
    if (c.no_regression) {
        json_t *before = earlier_passing(st->context);
        for (size_t i = 0; i < rep.n_tests; i++)
            if (rep.tests[i].status == 1 && rep.tests[i].name &&
                json_object_get(before, rep.tests[i].name))
                json_array_append_new(regressions, json_string(rep.tests[i].name));
        size_t nr = json_array_size(regressions);
        lo_buf names;
        lo_buf_init(&names, 0);
        for (size_t i = 0; i < nr && i < FAILING_SHOWN; i++)
            lo_buf_printf(&names, "%s%s", i ? ", " : "",
                          json_string_value(json_array_get(regressions, i)));
        if (nr > FAILING_SHOWN)
            lo_buf_printf(&names, " (+%zu more)", nr - FAILING_SHOWN);
        snprintf(detail, sizeof detail, "%zu regression%s (passed at an earlier gate, "
                 "failing now): %s", nr, nr == 1 ? "" : "s", names.data ? names.data : "");
        check(&v, "no_regression", nr == 0, json_integer((json_int_t)nr), json_integer(0),
              nr ? detail : NULL);
        lo_buf_release(&names);
        json_decref(before);
    }
    json_t *base = NULL;
    if (*c.baseline) {
        char src[PATH_MAX + 32];
        base = load_baseline(st, c.baseline, src, sizeof src, detail, sizeof detail);
        if (!base) {
            check(&v, "baseline", false, NULL, NULL, detail);
        } else {
            check_baseline(&v, "wall_ms", "wall time", m.wall_ms, base, src, c.max_ratio,
                           FLOOR_MS, fmt_ms);
            check_baseline(&v, "cpu_ms", "CPU time", m.cpu_ms, base, src, c.max_ratio,
                           FLOOR_MS, fmt_ms);
            check_baseline(&v, "rss_kb", "peak memory", m.max_rss_kb, base, src,
                           c.max_ratio, FLOOR_RSS_KB, fmt_kb);
        }
    }
    bool pass = v.n_failed == 0;

    /* ---- gate.md ---- */
    char *tail_s = tail_text(&tail);
    lo_buf md;
    lo_buf_init(&md, 0);
    if (pass)
        lo_buf_printf(&md, "Gate `%s` passed", id);
    else
        lo_buf_printf(&md, "Gate `%s` FAILED: %s", id, v.problems.data);
    lo_buf_printf(&md, "\n\nCommand: `%s`\n", shown);
    if (c.repeat > 1)
        lo_buf_printf(&md, "Runs: %d of %d (%s)\n", done, c.repeat,
                      failed_run ? "stopped at the first failing run" : "medians judged");
    char cpu_s[32], rss_s[32], outb[32];
    lo_buf_printf(&md, "Measured: wall %s, CPU %s, peak memory %s, output %s, ",
                  fmt_ms(a, sizeof a, m.wall_ms), fmt_ms(cpu_s, sizeof cpu_s, m.cpu_ms),
                  fmt_kb(rss_s, sizeof rss_s, m.max_rss_kb),
                  fmt_bytes(outb, sizeof outb, m.output_bytes));
    if (m.signal)
        lo_buf_printf(&md, "killed by signal %d\n", m.signal);
    else
        lo_buf_printf(&md, "exit status %d\n", m.exit_code);
    if (rep.found)
        lo_buf_printf(&md, "Tests (%s): %ld passed, %ld failed, %ld skipped\n",
                      lo_report_format_name(rep.format), rep.passed, rep.failed,
                      rep.skipped);
    if (rep.failed) {
        lo_buf_printf(&md, "Failing tests: %s\n", failing);
        int shown_msgs = 0;
        for (size_t i = 0; i < rep.n_tests && shown_msgs < 5; i++)
            if (rep.tests[i].status == 1 && rep.tests[i].message && *rep.tests[i].message) {
                lo_buf_printf(&md, "- %s: %.300s\n", rep.tests[i].name ? rep.tests[i].name : "?",
                              rep.tests[i].message);
                shown_msgs++;
            }
    }
    if (!pass && tail_s && *tail_s)
        lo_buf_printf(&md, "\nLast lines of output:\n```\n%s\n```\n", tail_s);

    /* ---- gate.json ---- */
    json_t *budgets = json_pack("{s:I, s:I, s:I, s:I, s:I}", "max_wall_ms",
                                (json_int_t)c.b.max_wall_ms, "max_cpu_ms",
                                (json_int_t)c.b.max_cpu_ms, "max_rss_kb",
                                (json_int_t)c.b.max_rss_kb, "max_output_bytes",
                                (json_int_t)c.b.max_output_bytes, "max_procs",
                                (json_int_t)c.b.max_procs);
    json_t *runs_j = json_array();
    for (int i = 0; i < done; i++)
        json_array_append_new(runs_j, metrics_json(&runs[i]));
    json_t *fail_arr = json_array(), *pass_arr = json_array();
    for (size_t i = 0; i < rep.n_tests; i++) {
        if (!rep.tests[i].name)
            continue;
        if (rep.tests[i].status == 1)
            json_array_append_new(fail_arr, json_string(rep.tests[i].name));
        else if (rep.tests[i].status == 0)
            json_array_append_new(pass_arr, json_string(rep.tests[i].name));
    }
    json_t *tests = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:o}", "format",
                              lo_report_format_name(rep.format), "found", rep.found,
                              "passed", (json_int_t)rep.passed, "failed",
                              (json_int_t)rep.failed, "skipped", (json_int_t)rep.skipped,
                              "total", (json_int_t)rep.total, "failing", fail_arr);
    json_t *gj = json_pack("{s:s, s:s, s:s, s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s}",
                           "node", id, "command", shown, "status", pass ? "pass" : "fail",
                           "repeat", c.repeat, "runs_done", done, "metrics",
                           metrics_json(&m), "runs", runs_j, "budgets", budgets, "checks",
                           v.checks, "tests", tests, "regressions", regressions,
                           "output_tail", tail_s ? tail_s : "", "report", md.data);
    if (gj && base)
        json_object_set(gj, "baseline", base);
    char *gtext = gj ? json_dumps(gj, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(gj);
    int werr = 0;
    if (gtext) {
        size_t gl = strlen(gtext);
        char *g2 = realloc(gtext, gl + 2);
        if (g2) {
            gtext = g2;
            memcpy(gtext + gl, "\n", 2);
        }
        werr = write_file(st, "gate.json", gtext, err);
    }
    free(gtext);
    if (!werr)
        werr = write_file(st, "gate.md", md.data, err);

    /* ---- outcome and context ---- */
    set_int(out, id, "passed", rep.passed);
    set_int(out, id, "failed", rep.failed);
    set_int(out, id, "skipped", rep.skipped);
    set_int(out, id, "wall_ms", m.wall_ms);
    set_int(out, id, "cpu_ms", m.cpu_ms);
    set_int(out, id, "rss_kb", m.max_rss_kb);
    set_int(out, id, "output_bytes", m.output_bytes);
    set_int(out, id, "exit_code", m.exit_code);
    set_str(out, id, "status", pass ? "pass" : "fail");
    set_str(out, id, "failing", failing);
    set_str(out, id, "report", md.data);
    if (rep.found) {
        char key[512];
        snprintf(key, sizeof key, "gate.%s.passing", id);
        lo_outcome_update(out, key, json_incref(pass_arr));
    }
    lo_outcome_update_str(out, "last_failure", pass ? "" : md.data);
    if (pass) {
        out->status = LO_SUCCESS;
        lo_outcome_set_notes(out, "gate %s passed: wall %s, %ld tests passed", id,
                             fmt_ms(a, sizeof a, m.wall_ms), rep.passed);
    } else {
        out->status = LO_FAIL;
        char *nl = strchr(md.data, '\n');
        lo_outcome_set_failure(out, "%.*s", nl ? (int)(nl - md.data) : (int)md.len, md.data);
    }
    lo_run_emit(st->run, "gate_finished",
                json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s?}", "node", id, "status",
                          pass ? "pass" : "fail", "wall_ms", (json_int_t)m.wall_ms, "cpu_ms",
                          (json_int_t)m.cpu_ms, "rss_kb", (json_int_t)m.max_rss_kb, "passed",
                          (json_int_t)rep.passed, "failed", (json_int_t)rep.failed,
                          "tripped", m.tripped ? lo_gate_trip_name(m.tripped) : NULL));

    json_decref(pass_arr);
    json_decref(base);
    lo_buf_release(&md);
    lo_buf_release(&v.problems);
    free(tail_s);
    free(failing);
    free(shown);
    lo_report_release(&rep);
    lo_buf_release(&tail);
    return werr;
}
