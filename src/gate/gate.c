/* The gate handler (shape=octagon or type="gate"; docs/gates.md).
 *
 * A gate runs `command` with /bin/sh -c in the run's workdir -- inside a
 * bubblewrap sandbox when it can (`sandbox`) -- under its budgets
 * (budget.c), `repeat` times, parses the test report in its output
 * (report.c), and checks, in this order: the budgets, the exit status, the
 * test counts (max_fail, min_pass), regressions against earlier gates, and
 * the baseline (gate_check.c). Every check is recorded in {stage}/gate.json;
 * the ones that failed make up gate.md (gate_report.c), a short report that
 * also becomes the context's last_failure, so the next codergen prompt can
 * show the agent what broke. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gate/gate_internal.h"
#include "lightsout/proc.h"

enum { REPORT_READ_MAX = 64 << 20 }; /* bytes of output given to the parser */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- attributes ---- */

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

static int bool_attr(const lo_node *n, const char *key, bool *out, char *why, size_t wn)
{
    const char *s = lo_node_str(n, key);
    if (!*s || !strcmp(s, "false"))
        *out = false;
    else if (!strcmp(s, "true"))
        *out = true;
    else {
        snprintf(why, wn, "invalid %s \"%s\" (true or false)", key, s);
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
        int_attr(n, "min_pass", -1, &c->min_pass, why, wn) ||
        bool_attr(n, "no_regression", &c->no_regression, why, wn) ||
        bool_attr(n, "network", &c->network, why, wn))
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
    c->baseline = lo_node_str(n, "baseline");
    c->report_file = lo_node_str(n, "report_file");
    c->sandbox_writable = lo_node_str(n, "sandbox_writable");
    c->max_ratio = 1.10;
    const char *mr = lo_node_str(n, "max_ratio");
    if (*mr && (lo_parse_double(mr, &c->max_ratio) || !(c->max_ratio > 0))) {
        snprintf(why, wn, "invalid max_ratio \"%s\" (a number > 0)", mr);
        return -1;
    }
    const char *sb = lo_node_str(n, "sandbox");
    if (!*sb || !strcmp(sb, "auto"))
        c->sandbox = SANDBOX_AUTO;
    else if (!strcmp(sb, "true"))
        c->sandbox = SANDBOX_ON;
    else if (!strcmp(sb, "false"))
        c->sandbox = SANDBOX_OFF;
    else {
        snprintf(why, wn, "invalid sandbox \"%s\" (auto, true or false)", sb);
        return -1;
    }
    return 0;
}

/* ---- tests ---- */

/* The test report: the command's output, or the report_file it wrote
 * (a JUnit XML file, say) -- one written during this run: a file left by
 * an earlier run is not this run's verdict. Returns false when report_file
 * is set and no such file was written. */
static bool parse_report(const lo_stage *st, const char *out_path, const gate_cfg *c,
                         const struct timespec *started, lo_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->format = c->format;
    if (c->format == LO_REPORT_NONE)
        return true;
    char path[PATH_MAX];
    if (!*c->report_file)
        snprintf(path, sizeof path, "%s", out_path);
    else if (c->report_file[0] == '/' || !st->workdir)
        snprintf(path, sizeof path, "%s", c->report_file);
    else
        snprintf(path, sizeof path, "%s/%s", st->workdir, c->report_file);
    struct stat sb;
    if (*c->report_file &&
        (stat(path, &sb) != 0 || sb.st_mtim.tv_sec < started->tv_sec ||
         (sb.st_mtim.tv_sec == started->tv_sec && sb.st_mtim.tv_nsec < started->tv_nsec)))
        return false;
    char *data = NULL;
    size_t len = 0;
    if (lo_file_read(path, REPORT_READ_MAX, &data, &len, NULL) == 0)
        lo_report_parse(data, len, c->format, rep);
    free(data);
    return true;
}

/* Did this run fail on its own (so repeating is pointless)? */
static bool run_failed(const lo_gate_metrics *m, const gate_run *g, const gate_cfg *c)
{
    return m->tripped || m->cancelled || m->deadline || m->exit_code != 0 ||
           g->rep.failed > c->max_fail || (c->format_named && !g->rep.found) ||
           g->report_file_missing;
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

/* The judged metrics: the failing run's, else each metric's median. */
static lo_gate_metrics judged_metrics(const lo_gate_metrics *runs, int done, bool failed_run)
{
    lo_gate_metrics m = runs[done - 1];
    if (failed_run || done < 2)
        return m;
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
    return m;
}

/* ---- the report's pieces ---- */

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

/* gate.json and gate.md are reports: resume reads the checkpoint, not
 * them, so they are replaced atomically but not fsynced (two fsyncs were
 * most of a gate's own cost on a disk; docs/PERFORMANCE.md). */
static int write_file(const lo_stage *st, const char *name, const char *text, lo_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", st->stage_dir, name);
    return lo_file_write_atomic_ex(path, text, strlen(text), false, err);
}

/* ---- isolation ---- */

/* The paths of sandbox_writable ("a,~/b": comma-separated, ~ for $HOME)
 * into store, NUL-separated; pointers to them into out (at most max-1,
 * NULL-terminated). -1 with why filled when one does not exist. */
static int extra_writable(const char *spec, lo_buf *store, const char **out, size_t max,
                          char *why, size_t wn)
{
    size_t k = 0;
    const char *home = getenv("HOME");
    for (const char *p = spec; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len) {
            if (k + 1 >= max) {
                snprintf(why, wn, "sandbox_writable: more than %zu paths", max - 1);
                return -1;
            }
            bool tilde = p[0] == '~' && (len == 1 || p[1] == '/');
            lo_buf_printf(store, "%s%.*s", tilde ? (home ? home : "") : "",
                          (int)(tilde ? len - 1 : len), tilde ? p + 1 : p);
            lo_buf_putc(store, '\0');
            k++;
        }
        p += (e ? (size_t)(e - p) + 1 : strlen(p));
    }
    /* the pointers once the buffer has stopped growing */
    size_t off = 0;
    for (size_t i = 0; i < k; i++) {
        out[i] = store->data + off;
        off += strlen(out[i]) + 1;
        struct stat sb;
        if (stat(out[i], &sb) != 0) {
            snprintf(why, wn, "sandbox_writable: %s does not exist", out[i]);
            return -1;
        }
    }
    out[k] = NULL;
    return 0;
}

/* Decide whether the command runs in the sandbox; fill sb when it does.
 * Returns -1 with why filled when it must and cannot, or when
 * sandbox_writable names a path that does not exist. */
static int choose_sandbox(const lo_stage *st, gate_run *g, lo_sandbox *sb, const char **writable,
                          size_t max, lo_buf *store, char *why, size_t wn)
{
    g->sandboxed = false;
    g->sandbox_note[0] = '\0';
    if (g->c->sandbox == SANDBOX_OFF)
        return 0;
    char no[sizeof g->sandbox_note - 96];
    if (!lo_sandbox_available(no, sizeof no)) {
        snprintf(g->sandbox_note, sizeof g->sandbox_note, "%s%s", no,
                 g->c->sandbox == SANDBOX_ON ? "" : "; the command ran without it, with the "
                 "network and the whole file system writable");
        if (g->c->sandbox == SANDBOX_ON)
            snprintf(why, wn, "gate %s requires the sandbox (sandbox=true): %s", g->id,
                     g->sandbox_note);
        return g->c->sandbox == SANDBOX_ON ? -1 : 0;
    }
    /* the stage directory too, for a command that writes its own report
     * next to gate.json ($LIGHTSOUT_STAGE_DIR) */
    writable[0] = st->stage_dir;
    if (extra_writable(g->c->sandbox_writable, store, writable + 1, max - 1, why, wn))
        return -1;
    *sb = (lo_sandbox){.workdir = st->workdir ? st->workdir : ".", .writable = writable,
                       .network = g->c->network};
    g->sandboxed = true;
    return 0;
}

/* ---- the handler ---- */

static int fail_early(lo_outcome *out, const char *id, const char *why)
{
    out->status = LO_FAIL;
    lo_outcome_set_failure(out, "%s", why);
    lo_outcome_update_str(out, "last_failure", why);
    set_str(out, id, "status", "fail");
    return 0;
}

/* Run the command c->repeat times (fewer when a run fails on its own). */
static int run_all(lo_stage *st, gate_run *g, lo_gate_metrics *runs, const lo_sandbox *sb,
                   char **env, const char *out_path, lo_buf *tail, lo_error *err)
{
    int rc = 0;
    for (int i = 0; i < g->c->repeat && !g->failed_run; i++) {
        int64_t left = 0;
        if (st->deadline_ms > 0) {
            left = st->deadline_ms - mono_ms();
            if (left <= 0)
                left = 1; /* the runner stops it at once: counted as the deadline */
        }
        lo_gate_exec x = {
            .command = lo_node_str(st->node, "command"),
            .cwd = st->workdir,
            .env = env,
            .output_path = out_path,
            .tail_bytes = TAIL_BYTES,
            .deadline_ms = left,
            .cancel = lo_run_cancel_flag(st->run),
            .on_output = touch,
            .ud = st->run,
            .sandbox = sb,
            .note = g->measure_note,
            .note_len = sizeof g->measure_note,
        };
        lo_report_release(&g->rep);
        /* the file system's clock, which stamps the report file's mtime */
        struct timespec started;
        clock_gettime(CLOCK_REALTIME, &started);
        started.tv_nsec -= started.tv_nsec % 1000000; /* coarse-grained mtimes */
        rc = lo_gate_measure(&g->c->b, &x, &runs[i], tail, err);
        if (rc < 0)
            break;
        g->done++;
        g->report_file_missing = !parse_report(st, out_path, g->c, &started, &g->rep);
        g->failed_run = run_failed(&runs[i], g, g->c);
    }
    return rc;
}

static void set_context(lo_outcome *out, const gate_run *g, const char *md, bool pass)
{
    const char *id = g->id;
    set_int(out, id, "passed", g->rep.passed);
    set_int(out, id, "failed", g->rep.failed);
    set_int(out, id, "skipped", g->rep.skipped);
    set_int(out, id, "wall_ms", g->m.wall_ms);
    set_int(out, id, "cpu_ms", g->m.cpu_ms);
    set_int(out, id, "rss_kb", g->m.max_rss_kb);
    set_int(out, id, "output_bytes", g->m.output_bytes);
    set_int(out, id, "exit_code", g->m.exit_code);
    set_str(out, id, "status", pass ? "pass" : "fail");
    set_str(out, id, "failing", g->failing);
    set_str(out, id, "report", md);
    if (g->rep.found) {
        json_t *names = json_array();
        for (size_t i = 0; i < g->rep.n_tests; i++)
            if (g->rep.tests[i].name && g->rep.tests[i].status == 0)
                json_array_append_new(names, json_string(g->rep.tests[i].name));
        char key[512];
        snprintf(key, sizeof key, "gate.%s.passing", id);
        lo_outcome_update(out, key, names);
    }
    lo_outcome_update_str(out, "last_failure", pass ? "" : md);
}

static int write_outputs(const lo_stage *st, const gate_run *g, const gate_verdict *v,
                         const char *md, lo_error *err)
{
    json_t *gj = gate_json(g, v, md);
    char *text = gj ? json_dumps(gj, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(gj);
    if (!text)
        return lo_error_set(err, LO_ENOMEM, "out of memory writing gate.json");
    lo_buf b;
    lo_buf_init(&b, 0);
    int rc = lo_buf_printf(&b, "%s\n", text) ? lo_error_set(err, LO_ENOMEM, "out of memory")
                                             : write_file(st, "gate.json", b.data, err);
    free(text);
    lo_buf_release(&b);
    return rc ? rc : write_file(st, "gate.md", md, err);
}

int lo_handler_gate(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    (void)ud;
    const char *id = st->node->id;
    const char *command = lo_node_str(st->node, "command");
    char why[sizeof ((gate_run *)0)->sandbox_note + 128];
    gate_cfg c;
    if (!*command) {
        snprintf(why, sizeof why, "gate %s has no command", id);
        return fail_early(out, id, why);
    }
    if (read_cfg(st->node, &c, why, sizeof why))
        return fail_early(out, id, why);

    gate_run g = {.id = id, .c = &c};
    lo_sandbox sb;
    const char *writable[18];
    lo_buf store;
    lo_buf_init(&store, 0);
    if (choose_sandbox(st, &g, &sb, writable, 18, &store, why, sizeof why)) {
        lo_buf_release(&store);
        return fail_early(out, id, why);
    }
    char out_path[PATH_MAX];
    if (snprintf(out_path, sizeof out_path, "%s/output.txt", st->stage_dir) >= PATH_MAX)
        return lo_error_set(err, LO_EINVAL, "stage directory path too long");
    char *shown = lo_utf8_clean(command, strlen(command));
    /* the sandbox's /tmp is private and writable; a TMPDIR elsewhere is not */
    static const char *const sandbox_env[] = {"TMPDIR=/tmp", NULL};
    char **env = lo_stage_env(st, g.sandboxed ? sandbox_env : NULL);
    if (!shown || !env) {
        free(shown);
        lo_env_free(env);
        lo_buf_release(&store);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    g.shown = shown;
    json_t *started = json_pack("{s:s, s:s, s:i, s:b}", "node", id, "command", shown, "repeat",
                                c.repeat, "sandbox", g.sandboxed);
    if (started && g.sandbox_note[0])
        json_object_set_new(started, "sandbox_note", json_string(g.sandbox_note));
    lo_run_emit(st->run, "gate_started", started);

    lo_gate_metrics runs[MAX_REPEAT];
    lo_buf tail;
    lo_buf_init(&tail, 0);
    int rc = run_all(st, &g, runs, g.sandboxed ? &sb : NULL, env, out_path, &tail, err);
    lo_env_free(env);
    lo_buf_release(&store);
    if (rc < 0) {
        lo_run_emit(st->run, "gate_finished",
                    json_pack("{s:s, s:s, s:s}", "node", id, "status", "error", "error",
                              err && err->msg[0] ? err->msg : lo_err_name(rc)));
        lo_report_release(&g.rep);
        lo_buf_release(&tail);
        free(shown);
        return rc; /* could not start: the engine makes it FAIL with the message */
    }
    g.runs = runs;
    g.m = judged_metrics(runs, g.done, g.failed_run);
    g.failing = failing_names(&g.rep);
    g.tail = tail_text(&tail);

    gate_verdict v;
    gate_judge(st, &g, &v);
    bool pass = v.n_failed == 0;
    char *md = gate_markdown(&g, &v);
    int werr = md ? write_outputs(st, &g, &v, md, err)
                  : lo_error_set(err, LO_ENOMEM, "out of memory");
    if (md)
        set_context(out, &g, md, pass);
    char a[32];
    if (pass) {
        out->status = LO_SUCCESS;
        lo_outcome_set_notes(out, "gate %s passed: wall %s, %ld tests passed", id,
                             gate_fmt_ms(a, sizeof a, g.m.wall_ms), g.rep.passed);
    } else {
        out->status = LO_FAIL;
        const char *nl = md ? strchr(md, '\n') : NULL;
        lo_outcome_set_failure(out, "%.*s", nl ? (int)(nl - md) : md ? (int)strlen(md) : 0,
                               md ? md : "");
    }
    lo_run_emit(st->run, "gate_finished",
                json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s?, s:b, s:s}", "node", id,
                          "status", pass ? "pass" : "fail", "wall_ms", (json_int_t)g.m.wall_ms,
                          "cpu_ms", (json_int_t)g.m.cpu_ms, "rss_kb",
                          (json_int_t)g.m.max_rss_kb, "passed", (json_int_t)g.rep.passed,
                          "failed", (json_int_t)g.rep.failed, "tripped",
                          g.m.tripped ? lo_gate_trip_name(g.m.tripped) : NULL, "sandbox",
                          g.sandboxed, "measured_by", g.m.cgroup ? "cgroup2" : "proc"));
    free(md);
    gate_verdict_release(&v);
    free(g.tail);
    free(g.failing);
    free(shown);
    lo_report_release(&g.rep);
    lo_buf_release(&tail);
    return werr;
}
