/* stack.manager_loop (§4.11, shape=house): supervise a child pipeline.
 *
 *   child pipeline  graph attribute stack.child_dotfile; a relative path is
 *                   resolved against the directory of the parent pipeline
 *                   file (the "pipeline" of {logs_root}/manifest.json), or
 *                   against the run's workdir when the run has no pipeline
 *                   file (an embedding program that parsed a string)
 *   child run dir   {stage_dir}/child
 *   child workdir   graph attribute stack.child_workdir (relative: against
 *                   the run's workdir), default the run's workdir
 *
 * With stack.child_autostart=true (the default) the child is a separate
 * process: this same lightsout binary (/proc/self/exe, or $LIGHTSOUT_BIN when
 * set, which tests and wrappers use) running
 *   run CHILD.dot --logs {stage_dir}/child --json --auto-approve -C WORKDIR
 * with stdout to {stage_dir}/child.out.jsonl and stderr to
 * {stage_dir}/child.err.txt. It runs under lo_proc_exec in a thread of its
 * own, so it gets the bounded runner's process group, SIGTERM-then-SIGKILL
 * stop (2 s grace) and reaping; the thread's cancel flag is ours, set when
 * the manager stops. With autostart=false the manager only observes a child
 * run directory something else drives (the same path); then no dotfile is
 * needed.
 *
 * Each cycle (at most manager.max_cycles, default 1000):
 *   observe  read {child}/checkpoint.json (missing or unreadable: skip) into
 *            the parent context: stack.child.status (running, completed,
 *            failed, interrupted), stack.child.current_node,
 *            stack.child.completed, stack.child.retries,
 *            stack.child.outcome (success/fail once ended, else ""); emits
 *            manager_observed
 *   steer    write manager.steer_message (else the node's prompt) to
 *            {child}/steer.md, once for each child stage seen (a cooldown,
 *            so a stage is not steered again every poll); emits
 *            manager_steered. Nothing in the child reads steer.md yet: the
 *            agent will pick it up once the coding agent lands
 *   then     a completed child is SUCCESS, a failed one FAIL with the
 *            child's own failure reason; manager.stop_condition (a §10
 *            condition on the parent context) holding is SUCCESS
 *   wait     manager.poll_interval (default 45s) in 100 ms steps, ending
 *            early when the run is cancelled, the node's timeout passes or
 *            our child process exits
 *
 * When our child process has exited, the final checkpoint is read whatever
 * the actions say, so the manager never waits out its cycles on a child that
 * is gone; a child that exited without a final checkpoint (it could not
 * start, was killed, or its pipeline was invalid) is FAIL with its exit
 * status and the last line of child.err.txt. An "interrupted" child that we
 * do not own is not an end: whoever drives it may resume it.
 *
 * On every return the child process is stopped unless it ended on its own,
 * and reaped: no child outlives its manager. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lightsout/condition.h"
#include "lightsout/proc.h"
#include "pipeline/handlers/builtin.h"

enum {
    STEP_MS = 100,        /* wait granularity: how soon a cancel is seen */
    GRACE_MS = 2000,      /* SIGTERM -> SIGKILL for the child's group */
    SELF_EXIT_MS = 2000,  /* a child whose checkpoint says it ended gets this
                           * long to exit on its own before it is stopped */
    REASON_MAX = 600,
    LINE_SCAN = 8192,     /* bytes from the end of child.err.txt searched */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int oom(lo_error *err)
{
    return lo_error_set(err, LO_ENOMEM, "out of memory");
}

/* A message into a fixed buffer. Reasons and names are shown to people and
 * may be cut short; vsnprintf says so to the compiler, which would otherwise
 * reject every %s of a path into a reason as a possible truncation. */
static void say(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

/* out = a/b; false when it does not fit */
static bool path_join(char *out, size_t n, const char *a, const char *b)
{
    int k = snprintf(out, n, "%s/%s", a, b);
    return k >= 0 && (size_t)k < n;
}

/* ---- the child process ---- */

typedef struct child_proc {
    pthread_t thread;
    bool started;          /* the thread was created (and not yet joined) */
    atomic_bool stop;      /* ours: lo_proc_exec stops the child when set */
    atomic_bool done;      /* lo_proc_exec returned: the child is reaped */
    char *argv[10];
    char bin[PATH_MAX], dot[PATH_MAX], logs[PATH_MAX], cwd[PATH_MAX];
    char out_path[PATH_MAX], err_path[PATH_MAX];
    lo_run *run;
    /* written by the thread before done; read after the join */
    int rc;
    lo_error err;
    lo_proc_result res;
} child_proc;

static void touch_run(void *ud)
{
    /* the child's event stream is the manager's sign of life for the stall
     * watchdog; lo_run_touch is an atomic store, safe from this thread */
    lo_run_touch(ud);
}

static void *child_main(void *arg)
{
    child_proc *c = arg;
    lo_proc_opts o = {
        .argv = c->argv,
        .cwd = c->cwd,
        .stdout_path = c->out_path,
        .stderr_path = c->err_path,
        .cancel = &c->stop,
        .kill_grace_ms = GRACE_MS,
        .on_output = touch_run,
        .ud = c->run,
    };
    lo_error_clear(&c->err);
    c->rc = lo_proc_exec(&o, &c->res, &c->err);
    lo_buf_release(&c->res.tail);
    atomic_store(&c->done, true);
    return NULL;
}

/* Stop the child unless it has exited, and join its thread (which reaps it). */
static void child_finish(lo_stage *st, child_proc *c, bool ended_itself)
{
    if (!c->started)
        return;
    if (ended_itself) {
        /* its final checkpoint is written just before it exits: let it */
        int64_t until = mono_ms() + SELF_EXIT_MS;
        while (!atomic_load(&c->done) && mono_ms() < until)
            nap_ms(10);
    }
    bool stopped = !atomic_load(&c->done);
    if (stopped) {
        lo_run_emit(st->run, "manager_child_stopping",
                    json_pack("{s:s}", "node", st->node->id));
        atomic_store(&c->stop, true);
    }
    pthread_join(c->thread, NULL);
    c->started = false;
    json_t *f = json_pack("{s:s, s:b}", "node", st->node->id, "stopped", stopped);
    if (f && c->rc < 0 && c->res.exit_code < 0 && !c->res.term_signal) {
        json_object_set_new(f, "error", json_string(c->err.msg[0] ? c->err.msg
                                                                  : lo_err_name(c->rc)));
    } else if (f) {
        json_object_set_new(f, "exit_code", json_integer(c->res.exit_code));
        if (c->res.term_signal)
            json_object_set_new(f, "signal", json_integer(c->res.term_signal));
        json_object_set_new(f, "wall_ms", json_integer(c->res.wall_ms));
    }
    lo_run_emit(st->run, "manager_child_exited", f);
}

/* ---- where things are ---- */

/* The directory of the parent pipeline file, from the run's manifest;
 * false when the run has none. */
static bool pipeline_dir(const lo_stage *st, char *out, size_t n)
{
    char path[PATH_MAX];
    if (!st->logs_root || !path_join(path, sizeof path, st->logs_root, "manifest.json"))
        return false;
    json_t *m = json_load_file(path, 0, NULL);
    const char *p = json_string_value(json_object_get(m, "pipeline"));
    bool ok = p && *p && strlen(p) < n;
    if (ok) {
        snprintf(out, n, "%s", p);
        char *slash = strrchr(out, '/');
        if (!slash)
            snprintf(out, n, ".");
        else if (slash == out)
            out[1] = '\0';
        else
            *slash = '\0';
    }
    json_decref(m);
    return ok;
}

/* Resolve the child pipeline into c->dot, or write why not into why. */
static bool resolve_dotfile(const lo_stage *st, child_proc *c, char *why, size_t wn)
{
    const char *rel = lo_graph_str(st->graph, "stack.child_dotfile");
    if (!*rel) {
        say(why, wn, "no child pipeline: set the graph attribute stack.child_dotfile "
                 "to the .dot file this manager supervises");
        return false;
    }
    char base[PATH_MAX], joined[PATH_MAX];
    if (rel[0] == '/')
        snprintf(base, sizeof base, "/");
    else if (!pipeline_dir(st, base, sizeof base))
        snprintf(base, sizeof base, "%s", st->workdir ? st->workdir : ".");
    if (rel[0] == '/' ? snprintf(joined, sizeof joined, "%s", rel) >= (int)sizeof joined
                      : !path_join(joined, sizeof joined, base, rel)) {
        say(why, wn, "stack.child_dotfile: path too long");
        return false;
    }
    struct stat sb;
    if (!realpath(joined, c->dot) || stat(c->dot, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        say(why, wn, "child pipeline %s not found (stack.child_dotfile=\"%s\"%s%s)",
                 joined, rel, rel[0] == '/' ? "" : ", relative to ",
                 rel[0] == '/' ? "" : base);
        return false;
    }
    return true;
}

static bool resolve_workdir(const lo_stage *st, child_proc *c, char *why, size_t wn)
{
    const char *wd = lo_graph_str(st->graph, "stack.child_workdir");
    const char *run_wd = st->workdir ? st->workdir : ".";
    char joined[PATH_MAX];
    bool fits = !*wd ? snprintf(joined, sizeof joined, "%s", run_wd) < (int)sizeof joined
              : wd[0] == '/' ? snprintf(joined, sizeof joined, "%s", wd) < (int)sizeof joined
              : path_join(joined, sizeof joined, run_wd, wd);
    struct stat sb;
    if (!fits || !realpath(joined, c->cwd) || stat(c->cwd, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
        say(why, wn, "child working directory %s is not a directory%s", joined,
                 *wd ? " (stack.child_workdir)" : "");
        return false;
    }
    return true;
}

/* The binary the child runs: $LIGHTSOUT_BIN, else this process's own. */
static bool resolve_binary(child_proc *c, char *why, size_t wn)
{
    const char *env = getenv("LIGHTSOUT_BIN");
    if (!env || !*env) {
        /* the same build as the parent, even if bin/ was rebuilt since */
        snprintf(c->bin, sizeof c->bin, "/proc/self/exe");
        return true;
    }
    /* absolute, because the child starts in its own workdir */
    if (!realpath(env, c->bin) || access(c->bin, X_OK) != 0) {
        say(why, wn, "LIGHTSOUT_BIN=%s is not an executable file", env);
        return false;
    }
    return true;
}

/* ---- observing ---- */

typedef struct child_view {
    char status[16];      /* running, completed, failed, interrupted */
    char current[128];    /* the stage running now, else the last one */
    json_int_t completed, retries;
} child_view;

static bool ended(const child_view *v)
{
    return !strcmp(v->status, "completed") || !strcmp(v->status, "failed");
}

/* Read the child's checkpoint (snapshot plus journal); false when missing
 * or not (yet) a checkpoint: the cycle is skipped. */
static bool read_checkpoint(const char *child_dir, child_view *v)
{
    json_t *cp = lo_checkpoint_read(child_dir, NULL);
    const char *state = json_string_value(json_object_get(cp, "state"));
    json_t *done = json_object_get(cp, "completed_nodes");
    json_t *retries = json_object_get(cp, "node_retries");
    bool ok = state && json_is_array(done);
    if (ok) {
        memset(v, 0, sizeof *v);
        snprintf(v->status, sizeof v->status, "%s",
                 !strcmp(state, "completed") || !strcmp(state, "failed") ||
                 !strcmp(state, "interrupted") ? state : "running");
        const char *next = json_string_value(json_object_get(cp, "next_node"));
        const char *last = json_string_value(json_object_get(cp, "current_node"));
        /* while running, next_node is the stage at work; after the end,
         * current_node is where it stopped */
        const char *cur = !strcmp(v->status, "running") && next ? next : last;
        snprintf(v->current, sizeof v->current, "%s", cur ? cur : "");
        v->completed = (json_int_t)json_array_size(done);
        const char *k;
        json_t *r;
        json_object_foreach(retries, k, r)
            v->retries += json_integer_value(r);
    }
    json_decref(cp);
    return ok;
}

static void publish(lo_stage *st, const child_view *v, int64_t cycle)
{
    char num[32];
    lo_context_set_str(st->context, "stack.child.status", v->status);
    lo_context_set_str(st->context, "stack.child.current_node", v->current);
    snprintf(num, sizeof num, "%lld", (long long)v->completed);
    lo_context_set_str(st->context, "stack.child.completed", num);
    snprintf(num, sizeof num, "%lld", (long long)v->retries);
    lo_context_set_str(st->context, "stack.child.retries", num);
    /* "" while running, so a value from an earlier visit never lingers */
    const char *outcome = !strcmp(v->status, "completed") ? "success"
                        : !strcmp(v->status, "failed") ? "fail" : "";
    lo_context_set_str(st->context, "stack.child.outcome", outcome);
    json_t *f = json_pack("{s:s, s:I, s:s, s:s, s:I, s:I}", "node", st->node->id,
                          "cycle", (json_int_t)cycle, "status", v->status, "current_node",
                          v->current, "completed", v->completed, "retries", v->retries);
    if (f && *outcome)
        json_object_set_new(f, "outcome", json_string(outcome));
    lo_run_emit(st->run, "manager_observed", f);
}

/* The "error" of the child's last pipeline_failed event, into out. */
static bool child_failure(const char *child_dir, char *out, size_t n)
{
    char path[PATH_MAX];
    if (!path_join(path, sizeof path, child_dir, "events.jsonl"))
        return false;
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool found = false;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        if (!strstr(line, "\"pipeline_failed\""))
            continue; /* parse only the candidates */
        json_t *ev = json_loads(line, 0, NULL);
        const char *e = json_string_value(json_object_get(ev, "error"));
        if (e && lo_str_eq(json_string_value(json_object_get(ev, "type")), "pipeline_failed")) {
            snprintf(out, n, "%s", e);
            found = true;
        }
        json_decref(ev);
    }
    free(line);
    fclose(f);
    return found;
}

/* The last non-blank line of a file (control characters blanked). */
static bool last_line(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char buf[LINE_SCAN + 1];
    size_t got = 0;
    if (fseek(f, -(long)LINE_SCAN, SEEK_END) != 0)
        rewind(f);
    got = fread(buf, 1, LINE_SCAN, f);
    fclose(f);
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r' || buf[got - 1] == ' '))
        got--;
    buf[got] = '\0';
    if (!got)
        return false;
    char *start = strrchr(buf, '\n');
    start = start ? start + 1 : buf;
    say(out, n, "%s", start);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    return true;
}

/* ---- steering ---- */

static void steer(lo_stage *st, const char *child_dir, const char *msg, const char *child_node,
                  int64_t cycle)
{
    char path[PATH_MAX];
    lo_error werr;
    if (!path_join(path, sizeof path, child_dir, "steer.md") ||
        lo_file_write_atomic(path, msg, strlen(msg), &werr)) {
        lo_run_emit(st->run, "manager_steer_failed",
                    json_pack("{s:s, s:s}", "node", st->node->id, "path", path));
        return;
    }
    lo_run_emit(st->run, "manager_steered",
                json_pack("{s:s, s:I, s:s, s:s}", "node", st->node->id, "cycle",
                          (json_int_t)cycle, "child_node", child_node, "path", path));
}

/* ---- the stop condition ---- */

typedef struct lookup_ud {
    const lo_context *ctx;
    char *held[32]; /* strings handed to the evaluator during one evaluation */
    int n;
} lookup_ud;

static const char *ctx_lookup(void *ud, const char *key)
{
    lookup_ud *l = ud;
    if (l->n == 32)
        return "";
    char *v = lo_context_get_str(l->ctx, key);
    if (v)
        l->held[l->n++] = v;
    return v;
}

static bool stop_holds(const lo_stage *st, const lo_cond *c)
{
    lookup_ud l = {.ctx = st->context};
    /* outcome and preferred_label are what the run last recorded */
    const char *outcome = ctx_lookup(&l, "outcome");
    const char *label = ctx_lookup(&l, "preferred_label");
    lo_cond_env env = {.outcome = outcome ? outcome : "", .preferred_label = label,
                       .lookup = ctx_lookup, .ud = &l};
    bool r = lo_cond_eval(c, &env);
    for (int i = 0; i < l.n; i++)
        free(l.held[i]);
    return r;
}

/* ---- the handler ---- */

typedef enum wait_end { WAITED, CANCELLED, DEADLINE } wait_end;

/* Sleep ms in STEP_MS steps; ends early when the run is cancelled, the
 * stage deadline passes or our child exits. */
static wait_end wait_poll(lo_stage *st, const child_proc *c, int64_t ms)
{
    int64_t end = mono_ms() + ms;
    for (;;) {
        if (lo_run_cancelled(st->run))
            return CANCELLED;
        int64_t now = mono_ms();
        if (st->deadline_ms > 0 && now >= st->deadline_ms)
            return DEADLINE;
        if (now >= end || (c->started && atomic_load(&c->done)))
            return WAITED;
        int64_t step = end - now < STEP_MS ? end - now : STEP_MS;
        if (st->deadline_ms > 0 && st->deadline_ms - now < step)
            step = st->deadline_ms - now;
        nap_ms(step);
    }
}

/* Parse manager.actions ("observe,wait"); false with why on an unknown one. */
static bool parse_actions(const char *s, bool *observe, bool *steer_on, bool *wait,
                          char *why, size_t wn)
{
    *observe = *steer_on = *wait = false;
    while (*s) {
        while (*s == ',' || *s == ' ' || *s == '\t')
            s++;
        size_t len = strcspn(s, ", \t");
        if (!len)
            break;
        if (len == 7 && !strncmp(s, "observe", len))
            *observe = true;
        else if (len == 5 && !strncmp(s, "steer", len))
            *steer_on = true;
        else if (len == 4 && !strncmp(s, "wait", len))
            *wait = true;
        else {
            say(why, wn, "manager.actions: unknown action '%.*s' (known: observe, "
                     "steer, wait)", (int)(len > 64 ? 64 : len), s);
            return false;
        }
        s += len;
    }
    return true;
}

static void fmt_secs(char *buf, size_t n, int64_t ms)
{
    if (ms % 1000 == 0)
        snprintf(buf, n, "%lld", (long long)(ms / 1000));
    else
        snprintf(buf, n, "%.1f", (double)ms / 1000.0);
}

/* Remove what an earlier attempt's child left that would be mistaken for
 * the new child's state before it writes its own. */
static void clear_child_state(const char *child_dir)
{
    static const char *const stale[] = {"checkpoint.json", "steer.md"};
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
        char path[PATH_MAX];
        if (path_join(path, sizeof path, child_dir, stale[i]))
            unlink(path);
    }
}

static bool start_child(lo_stage *st, child_proc *c, const char *child_dir, char *why,
                        size_t wn)
{
    char stage_abs[PATH_MAX];
    if (!resolve_dotfile(st, c, why, wn) || !resolve_workdir(st, c, why, wn) ||
        !resolve_binary(c, why, wn))
        return false;
    if (!realpath(st->stage_dir, stage_abs) ||
        !path_join(c->logs, sizeof c->logs, stage_abs, "child") ||
        !path_join(c->out_path, sizeof c->out_path, stage_abs, "child.out.jsonl") ||
        !path_join(c->err_path, sizeof c->err_path, stage_abs, "child.err.txt")) {
        say(why, wn, "stage directory %s: path too long or missing", st->stage_dir);
        return false;
    }
    clear_child_state(child_dir);
    char *argv[] = {c->bin, "run", c->dot, "--logs", c->logs, "--json", "--auto-approve",
                    "-C", c->cwd, NULL};
    memcpy(c->argv, argv, sizeof argv);
    c->run = st->run;
    lo_run_emit(st->run, "manager_child_started",
                json_pack("{s:s, s:s, s:s, s:s, s:s}", "node", st->node->id, "pipeline",
                          c->dot, "logs", c->logs, "workdir", c->cwd, "binary", c->bin));
    int e = pthread_create(&c->thread, NULL, child_main, c);
    if (e) {
        say(why, wn, "cannot start the child pipeline: pthread_create: %s", strerror(e));
        return false;
    }
    c->started = true;
    return true;
}

/* Why our exited child did not end its pipeline, into why. */
static void describe_exit(child_proc *c, const child_view *v, bool seen, char *why, size_t wn)
{
    char line[320];
    bool has = last_line(c->err_path, line, sizeof line);
    if (c->rc < 0 && c->res.exit_code < 0 && !c->res.term_signal) {
        say(why, wn, "cannot start the child pipeline: %s",
                 c->err.msg[0] ? c->err.msg : lo_err_name(c->rc));
    } else if (c->res.term_signal) {
        say(why, wn, "the child pipeline was killed by signal %d%s%s", c->res.term_signal,
                 has ? ": " : "", has ? line : "");
    } else if (seen && !strcmp(v->status, "interrupted")) {
        say(why, wn, "the child pipeline was interrupted (exit status %d)",
                 c->res.exit_code);
    } else {
        say(why, wn, "the child pipeline exited with status %d before finishing%s%s",
                 c->res.exit_code, has ? ": " : "", has ? line : "");
    }
}

int lo_handler_manager_loop(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    const lo_node *n = st->node;
    char why[REASON_MAX] = "";
    int64_t poll = lo_node_duration_ms(n, "manager.poll_interval", 45000);
    int64_t max_cycles = lo_node_int(n, "manager.max_cycles", 1000);
    if (poll < 0)
        poll = 0;
    if (max_cycles < 1)
        max_cycles = 1;
    bool act_observe, act_steer, act_wait;
    if (!parse_actions(lo_node_str(n, "manager.actions"), &act_observe, &act_steer, &act_wait,
                       why, sizeof why)) {
        out->status = LO_FAIL;
        return lo_outcome_set_failure(out, "%s", why) ? oom(err) : 0;
    }
    lo_error cerr;
    lo_error_clear(&cerr);
    const char *stop_text = lo_node_str(n, "manager.stop_condition");
    lo_cond *stop = *stop_text ? lo_cond_parse(stop_text, &cerr) : NULL;
    if (*stop_text && !stop) {
        out->status = LO_FAIL;
        return lo_outcome_set_failure(out, "manager.stop_condition, column %u: %s",
                                      (unsigned)cerr.col, cerr.msg) ? oom(err) : 0;
    }
    const char *steer_msg = lo_node_str(n, "manager.steer_message");
    if (!*steer_msg)
        steer_msg = lo_node_str(n, "prompt");

    char child_dir[PATH_MAX];
    lo_error derr;
    if (!path_join(child_dir, sizeof child_dir, st->stage_dir, "child") ||
        lo_mkdir_p(child_dir, &derr)) {
        lo_cond_free(stop);
        return lo_error_set(err, LO_EIO, "cannot create the child run directory under %s",
                            st->stage_dir);
    }

    child_proc *c = lo_calloc(1, sizeof *c);
    if (!c) {
        lo_cond_free(stop);
        return oom(err);
    }
    atomic_init(&c->stop, false);
    atomic_init(&c->done, false);
    lo_status status = LO_FAIL;
    bool child_ended = false;  /* its checkpoint says it finished */
    if (lo_node_bool(n, "stack.child_autostart", true) &&
        !start_child(st, c, child_dir, why, sizeof why))
        goto out;

    child_view v;
    memset(&v, 0, sizeof v);
    char child_node[128] = "", steered_for[128] = "";
    bool steered = false;
    int64_t cycle;
    for (cycle = 1; cycle <= max_cycles; cycle++) {
        lo_run_touch(st->run);
        /* read done before the checkpoint: once the process is gone, the
         * checkpoint read after is its last */
        bool exited = c->started && atomic_load(&c->done);
        bool seen = false;
        if (act_observe || exited) {
            seen = read_checkpoint(child_dir, &v);
            if (seen) {
                publish(st, &v, cycle);
                snprintf(child_node, sizeof child_node, "%s", v.current);
            }
        }
        /* a child that has ended has nobody left to read a steer */
        if (act_steer && *steer_msg && !(seen && ended(&v)) &&
            (!steered || strcmp(child_node, steered_for) != 0)) {
            steer(st, child_dir, steer_msg, child_node, cycle);
            steered = true;
            snprintf(steered_for, sizeof steered_for, "%s", child_node);
        }
        if (seen && ended(&v)) {
            child_ended = true;
            if (!strcmp(v.status, "completed")) {
                status = LO_SUCCESS;
                say(why, sizeof why, "child completed");
            } else {
                char reason[REASON_MAX - 32];
                if (child_failure(child_dir, reason, sizeof reason))
                    say(why, sizeof why, "child failed: %s", reason);
                else
                    say(why, sizeof why, "child failed at node %s",
                             *v.current ? v.current : "(unknown)");
            }
            goto out;
        }
        if (exited) {
            describe_exit(c, &v, seen, why, sizeof why);
            goto out;
        }
        if (stop && stop_holds(st, stop)) {
            status = LO_SUCCESS;
            say(why, sizeof why, "stop condition satisfied");
            goto out;
        }
        wait_end w = act_wait ? wait_poll(st, c, poll)
                   : lo_run_cancelled(st->run) ? CANCELLED
                   : st->deadline_ms > 0 && mono_ms() >= st->deadline_ms ? DEADLINE : WAITED;
        if (w == CANCELLED) {
            say(why, sizeof why, "cancelled");
            goto out;
        }
        if (w == DEADLINE) {
            char secs[32];
            fmt_secs(secs, sizeof secs, lo_node_duration_ms(n, "timeout", 0));
            say(why, sizeof why, "timed out after %s s (timeout)%s", secs,
                     c->started ? "; the child pipeline was stopped" : "");
            goto out;
        }
    }
    say(why, sizeof why, "max cycles exceeded (%lld)%s", (long long)max_cycles,
             c->started ? "; the child pipeline was stopped" : "");

out:
    child_finish(st, c, child_ended);
    free(c);
    lo_cond_free(stop);
    out->status = status;
    int e = status == LO_SUCCESS ? lo_outcome_set_notes(out, "%s", why)
                                 : lo_outcome_set_failure(out, "%s", why);
    return e ? oom(err) : 0;
}
