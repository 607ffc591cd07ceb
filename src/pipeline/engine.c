/* The execution engine (attractor-spec §3): the traversal loop, retries
 * with backoff, failure routing, goal gates, loop restarts, the stall
 * watchdog, and resume from a checkpoint. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/engine_internal.h"
#include "pipeline/fidelity.h"

/* ---- construction and registry ---- */

void lo_run_id_new(char *buf, size_t n)
{
    /* time plus randomness, readable in a directory listing */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(buf, n, "%s-%04lx", stamp,
             (unsigned long)((ts.tv_nsec ^ (long)getpid() * 2654435761L) & 0xffff));
}

lo_engine *lo_engine_new(const lo_graph *g, const lo_engine_config *cfg, lo_error *err)
{
    lo_engine *e = lo_calloc(1, sizeof *e);
    if (!e) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    e->g = (lo_graph *)g;
    e->cfg = *cfg;
    e->run.e = e;
    e->lock_fd = -1;
    e->journal_fd = -1;
    pthread_mutex_init(&e->ev_lock, NULL);
    pthread_mutex_init(&e->wd_lock, NULL);
    pthread_cond_init(&e->wd_cond, NULL);
    if (cfg->run_id && *cfg->run_id)
        snprintf(e->run_id, sizeof e->run_id, "%s", cfg->run_id);
    else
        lo_run_id_new(e->run_id, sizeof e->run_id);
    char deflogs[128];
    snprintf(deflogs, sizeof deflogs, ".lightsout/runs/%s", e->run_id);
    e->logs_root = lo_strdup(cfg->logs_root ? cfg->logs_root : deflogs);
    e->workdir = lo_strdup(cfg->workdir ? cfg->workdir : ".");
    e->dot_path = cfg->dot_path ? lo_strdup(cfg->dot_path) : NULL;
    e->artifacts = e->logs_root ? lo_artifacts_new(e->logs_root, 0) : NULL;
    if (!e->logs_root || !e->workdir || (cfg->dot_path && !e->dot_path) || !e->artifacts ||
        lo_graph_index_edges(e->g) || lo_register_builtin_handlers(e)) {
        lo_engine_free(e);
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    if (!cfg->backend) {
        e->own_backend = lo_backend_sim();
        e->cfg.backend = e->own_backend;
    }
    if (!cfg->interviewer) {
        e->own_interviewer = lo_interviewer_auto();
        e->cfg.interviewer = e->own_interviewer;
    }
    if (!e->cfg.backend || !e->cfg.interviewer) {
        lo_engine_free(e);
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    return e;
}

const char *lo_engine_logs_root(const lo_engine *e) { return e->logs_root; }
const char *lo_engine_run_id(const lo_engine *e) { return e->run_id; }

void lo_engine_free(lo_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_handlers; i++)
        free(e->handlers[i].type);
    free(e->handlers);
    lo_artifacts_free(e->artifacts);
    json_decref(e->manifest_set);
    lo_backend_free(e->own_backend);
    lo_interviewer_free(e->own_interviewer);
    free(e->logs_root);
    free(e->workdir);
    free(e->dot_path);
    run_close(e);
    if (e->journal_fd >= 0)
        close(e->journal_fd);
    pthread_mutex_destroy(&e->ev_lock);
    pthread_mutex_destroy(&e->wd_lock);
    pthread_cond_destroy(&e->wd_cond);
    free(e);
}

int lo_engine_register(lo_engine *e, const char *type, lo_handler_fn fn, void *ud)
{
    for (size_t i = 0; i < e->n_handlers; i++)
        if (strcmp(e->handlers[i].type, type) == 0) {
            e->handlers[i].fn = fn;
            e->handlers[i].ud = ud;
            return 0;
        }
    if (e->n_handlers == e->cap_handlers) {
        size_t cap = e->cap_handlers ? e->cap_handlers * 2 : 16;
        handler_entry *v = lo_realloc(e->handlers, cap * sizeof *v);
        if (!v)
            return LO_ENOMEM;
        e->handlers = v;
        e->cap_handlers = cap;
    }
    char *t = lo_strdup(type);
    if (!t)
        return LO_ENOMEM;
    e->handlers[e->n_handlers++] = (handler_entry){t, fn, ud};
    return 0;
}

lo_handler_fn lo_run_handler(lo_run *r, const char *type, void **ud)
{
    for (size_t i = 0; i < r->e->n_handlers; i++)
        if (strcmp(r->e->handlers[i].type, type) == 0) {
            if (ud)
                *ud = r->e->handlers[i].ud;
            return r->e->handlers[i].fn;
        }
    return NULL;
}

lo_interviewer *lo_run_interviewer(lo_run *r) { return r->e->cfg.interviewer; }
lo_artifacts *lo_run_artifacts(lo_run *r) { return r->e->artifacts; }
lo_backend *lo_run_backend(lo_run *r) { return r->e->cfg.backend; }

void lo_engine_cancel(lo_engine *e)
{
    atomic_store(&e->cancel, true);
    atomic_store(&e->stop, true);
}

static const handler_entry *find_handler(lo_engine *e, const char *type)
{
    for (size_t i = 0; i < e->n_handlers; i++)
        if (strcmp(e->handlers[i].type, type) == 0)
            return &e->handlers[i];
    return NULL;
}

static bool builtin_type(const char *type)
{
    size_t n;
    const char *const *known = lo_known_handler_types(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(known[i], type) == 0)
            return true;
    return false;
}

/* Handler resolution (§4.2): explicit type, then shape, then codergen. A
 * type lightsout defines but this build has no handler for (a validation
 * gate, say) does not fall back to codergen: running a gate as a simulated
 * model call would pretend it passed. */
static const handler_entry *resolve(lo_engine *e, const lo_node *n)
{
    const char *types[2] = {lo_node_str(n, "type"), lo_shape_handler(lo_node_shape(n))};
    for (int k = 0; k < 2; k++) {
        if (!types[k] || !*types[k])
            continue;
        const handler_entry *h = find_handler(e, types[k]);
        if (h)
            return h;
        if (builtin_type(types[k]))
            return NULL;
    }
    return find_handler(e, "codergen");
}

/* ---- running one node ---- */

static json_t *node_fields(const lo_node *n)
{
    return json_pack("{s:s, s:s}", "node", n->id, "label", lo_node_label(n));
}

/* One attempt: make the stage directory, call the handler, write
 * status.json. Errors from the handler become FAIL outcomes. */
static void attempt_once(lo_engine *e, trav *t, const lo_node *n, int attempt,
                         const handler_entry *h, lo_outcome *o)
{
    lo_outcome_init(o, LO_SUCCESS);
    lo_error err;
    lo_error_clear(&err);
    char *dir = run_stage_dir(e, t, n->id);
    if (!dir || lo_mkdir_p(dir, &err)) {
        o->status = LO_FAIL;
        lo_outcome_set_failure(o, "cannot create the stage directory: %s",
                               dir ? err.msg : "out of memory");
        free(dir);
        return;
    }
    lo_stage st = {
        .run = &e->run, .graph = e->g, .node = n, .context = t->ctx,
        .logs_root = e->logs_root, .stage_dir = dir, .workdir = e->workdir,
        .attempt = attempt, .fidelity = "compact", .thread_id = n->id, .preamble = "",
    };
    /* fidelity matters to stages that talk to a model; the carry-over text
     * costs a context snapshot, so other stages skip it */
    char *preamble = NULL;
    if (!strcmp(h->type, "codergen") || !strcmp(h->type, "parallel.fan_in")) {
        st.fidelity = lo_fidelity_resolve(e->g, n, t->incoming);
        if (t->resumed && !strcmp(st.fidelity, "full"))
            st.fidelity = "summary:high"; /* §5.3: sessions do not survive a restart */
        st.thread_id = lo_thread_resolve(n, t->incoming, t->last);
        preamble = lo_preamble_build(e->g, e->run_id, st.fidelity, t->completed, t->outcomes,
                                     t->ctx);
        st.preamble = preamble ? preamble : "";
    }
    t->resumed = false;
    int64_t timeout = lo_node_duration_ms(n, "timeout", 0);
    if (timeout > 0)
        st.deadline_ms = lo_now_ms() + timeout;
    lo_context_set_str(t->ctx, "current_node", n->id);
    atomic_store(&e->stall_ms, lo_engine_stall_limit(e, n));
    atomic_store(&e->last_activity_ms, lo_now_ms());
    atomic_store(&e->stage_running, true);
    int rc = h->fn(&st, o, h->ud, &err);
    atomic_store(&e->stage_running, false);
    if (atomic_load(&e->stalled)) {
        lo_outcome_release(o);
        lo_outcome_init(o, LO_FAIL);
        lo_outcome_set_failure(o, "stalled: no event or output for %.1f s (stall_timeout); "
                               "the stage was stopped",
                               (double)atomic_load(&e->stall_ms) / 1000.0);
    } else if (rc < 0) {
        lo_outcome_release(o);
        lo_outcome_init(o, LO_FAIL);
        lo_outcome_set_failure(o, "%s", err.msg[0] ? err.msg : lo_err_name(rc));
    } else if (st.deadline_ms && lo_now_ms() > st.deadline_ms && o->status != LO_FAIL) {
        lo_outcome_release(o);
        lo_outcome_init(o, LO_FAIL);
        lo_outcome_set_failure(o, "timed out after %.1f s (timeout)", (double)timeout / 1000.0);
    }
    /* a stall stops one stage; a cancel stops the run */
    atomic_store(&e->stalled, false);
    atomic_store(&e->stop, atomic_load(&e->cancel));
    lo_error werr;
    lo_error_clear(&werr);
    int wrc;
    if (e->cfg.no_fsync) {
        json_t *j = lo_outcome_to_json(o);
        char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/status.json", dir);
        wrc = text ? lo_file_write_atomic_ex(path, text, strlen(text), false, &werr) : LO_ENOMEM;
        free(text);
        json_decref(j);
    } else {
        wrc = lo_outcome_write(o, dir, &werr);
    }
    if (wrc && !atomic_load(&e->cancel))
        lo_context_log(t->ctx, werr.msg[0] ? werr.msg : "cannot write status.json");
    free(preamble);
    free(dir);
}

/* §3.5: retries on RETRY and FAIL up to max_retries, with backoff. */
static void execute_with_retry(lo_engine *e, trav *t, const lo_node *n, lo_outcome *o)
{
    const handler_entry *h = resolve(e, n);
    retry_policy p = lo_retry_policy_for(e->g, n);
    char key[256];
    snprintf(key, sizeof key, "internal.retry_count.%s", n->id);
    for (int attempt = 1;; attempt++) {
        json_t *f = node_fields(n);
        json_object_set_new(f, "attempt", json_integer(attempt));
        json_object_set_new(f, "handler", json_string(h ? h->type : "none"));
        lo_run_emit(&e->run, "stage_started", f);
        int64_t t0 = lo_now_ms();
        if (!h) {
            lo_outcome_init(o, LO_FAIL);
            lo_outcome_set_failure(o, "no handler for type '%s'", lo_node_handler_type(n));
        } else {
            attempt_once(e, t, n, attempt, h, o);
        }
        int64_t dur = lo_now_ms() - t0;
        if (atomic_load(&e->cancel)) {
            /* the stage's end, so its start is never left dangling */
            f = node_fields(n);
            json_object_set_new(f, "attempt", json_integer(attempt));
            json_object_set_new(f, "duration_ms", json_integer(dur));
            lo_run_emit(&e->run, "stage_interrupted", f);
            return; /* the caller records the interruption */
        }
        if (o->status == LO_SUCCESS || o->status == LO_PARTIAL_SUCCESS ||
            o->status == LO_SKIPPED) {
            json_object_set_new(t->retries, n->id, json_integer(attempt - 1));
            f = node_fields(n);
            json_object_set_new(f, "status", json_string(lo_status_name(o->status)));
            json_object_set_new(f, "duration_ms", json_integer(dur));
            json_object_set_new(f, "attempt", json_integer(attempt));
            if (o->notes)
                json_object_set_new(f, "notes", json_string(o->notes));
            lo_run_emit(&e->run, "stage_completed", f);
            return;
        }
        bool again = attempt < p.max_attempts;
        f = node_fields(n);
        json_object_set_new(f, "status", json_string(lo_status_name(o->status)));
        json_object_set_new(f, "error", json_string(o->failure_reason ? o->failure_reason : ""));
        json_object_set_new(f, "attempt", json_integer(attempt));
        json_object_set_new(f, "duration_ms", json_integer(dur));
        json_object_set_new(f, "will_retry", json_boolean(again));
        lo_run_emit(&e->run, "stage_failed", f);
        json_object_set_new(t->retries, n->id, json_integer(attempt - (again ? 0 : 1)));
        if (!again) {
            if (o->status == LO_RETRY) {
                bool partial = lo_node_bool(n, "allow_partial", false);
                char *why = o->failure_reason ? lo_strdup(o->failure_reason) : NULL;
                lo_outcome_release(o);
                lo_outcome_init(o, partial ? LO_PARTIAL_SUCCESS : LO_FAIL);
                if (partial)
                    lo_outcome_set_notes(o, "retries exhausted, partial accepted");
                else
                    lo_outcome_set_failure(o, "max retries exceeded%s%s", why ? ": " : "",
                                           why ? why : "");
                free(why);
            }
            return;
        }
        lo_context_set_int(t->ctx, key, attempt);
        int64_t delay = lo_retry_delay(&p, attempt);
        f = node_fields(n);
        json_object_set_new(f, "attempt", json_integer(attempt + 1));
        json_object_set_new(f, "delay_ms", json_integer(delay));
        lo_run_emit(&e->run, "stage_retrying", f);
        lo_outcome_release(o);
        lo_engine_sleep(e, delay);
        if (atomic_load(&e->cancel)) {
            lo_outcome_init(o, LO_FAIL);
            lo_outcome_set_failure(o, "interrupted");
            return;
        }
    }
}

/* ---- goal gates (§3.4) and failure routing (§3.7) ---- */

static const lo_node *unsatisfied_gate(lo_engine *e, const trav *t)
{
    const char *id;
    json_t *v;
    json_object_foreach(t->outcomes, id, v) {
        const lo_node *n = lo_graph_node(e->g, id);
        if (!n || !lo_node_bool(n, "goal_gate", false))
            continue;
        const char *s = json_string_value(v);
        if (!s || (strcmp(s, "success") != 0 && strcmp(s, "partial_success") != 0))
            return n;
    }
    return NULL;
}

static const char *existing(lo_engine *e, const char *id)
{
    return id && *id && lo_graph_node(e->g, id) ? id : NULL;
}

/* The node's retry targets, then (for goal gates) the graph's. */
static const char *retry_target(lo_engine *e, const lo_node *n, bool graph_too)
{
    const char *t = existing(e, lo_node_str(n, "retry_target"));
    if (!t)
        t = existing(e, lo_node_str(n, "fallback_retry_target"));
    if (!t && graph_too)
        t = existing(e, lo_graph_str(e->g, "retry_target"));
    if (!t && graph_too)
        t = existing(e, lo_graph_str(e->g, "fallback_retry_target"));
    return t;
}

/* Where a parallel node's branches joined: the "parallel.join" its
 * handler put in the outcome (parallel.c), or NULL for any other node. */
static const char *parallel_join(lo_engine *e, const lo_node *n, const lo_outcome *o)
{
    const handler_entry *h = resolve(e, n);
    if (!h || strcmp(h->type, "parallel") != 0 || !o->context_updates)
        return NULL;
    return json_string_value(json_object_get(o->context_updates, "parallel.join"));
}

static const char *step_name(int step)
{
    static const char *const names[] = {"none", "condition", "preferred_label",
                                        "suggested_next_id", "weight", "lexical"};
    return step >= 0 && step <= 5 ? names[step] : "none";
}

/* ---- loop bounds ----
 *
 * max_visits (node) and max_steps (graph) stop a run that would loop for
 * ever -- a gate that can never pass, say. Both count completed stages:
 * a visit is one entry into a node however many retries it takes, and the
 * exit is never refused. A node about to be entered once more than its
 * bound allows fails the run instead; so does a run that has completed
 * max_steps stages and is not at the exit. Unset or 0: no bound. */
static const char *bound_reached(lo_engine *e, const trav *t, const lo_node *n, char *why,
                                 size_t wn)
{
    int64_t max_v = lo_node_int(n, "max_visits", 0);
    int64_t v = json_integer_value(json_object_get(t->visits, n->id));
    if (max_v > 0 && v >= max_v) {
        snprintf(why, wn, "node '%s' visited %lld times (max_visits=%lld)", n->id,
                 (long long)v, (long long)max_v);
        return "max_visits";
    }
    int64_t max_s = t->checkpoints ? lo_graph_int(e->g, "max_steps", 0) : 0;
    if (max_s > 0 && t->steps >= max_s) {
        snprintf(why, wn, "the run completed %lld stages (max_steps=%lld) and is not at the "
                 "exit; node '%s' would be the next", (long long)t->steps, (long long)max_s,
                 n->id);
        return "max_steps";
    }
    return NULL;
}

static void count_visit(trav *t, const lo_node *n)
{
    json_int_t v = json_integer_value(json_object_get(t->visits, n->id));
    json_object_set_new(t->visits, n->id, json_integer(v + 1));
    t->steps++;
}

/* ---- the traversal (§3.2) ---- */

/* Mirror the graph's attributes into the context (§3.1 initialize). */
static void mirror_graph(lo_engine *e, lo_context *ctx)
{
    for (uint32_t i = 0; i < e->g->attrs.n; i++) {
        char key[300];
        snprintf(key, sizeof key, "graph.%s", e->g->attrs.v[i].key);
        lo_context_set_str(ctx, key, e->g->attrs.v[i].value.text);
    }
    lo_context_set_str(ctx, "graph.goal", lo_graph_str(e->g, "goal"));
}


static int set_current(trav *t, const char *id)
{
    free(t->current);
    t->current = id ? lo_strdup(id) : NULL;
    return id && !t->current ? LO_ENOMEM : 0;
}

static int set_last(trav *t, const char *id)
{
    free(t->last);
    t->last = lo_strdup(id);
    return t->last ? 0 : LO_ENOMEM;
}

static void finish(lo_engine *e, trav *t, lo_run_result *res, lo_status status,
                   const char *reason)
{
    res->status = status;
    snprintf(res->failure_reason, sizeof res->failure_reason, "%s", reason ? reason : "");
    snprintf(res->last_node, sizeof res->last_node, "%s", t->last ? t->last : "");
}

static int checkpoint(lo_engine *e, trav *t, const char *state, lo_error *err)
{
    if (!t->checkpoints)
        return 0;
    int rc = run_save_checkpoint(e, t, state, err);
    if (!rc)
        lo_run_emit(&e->run, "checkpoint_saved",
                    json_pack("{s:s?, s:s?, s:s}", "node", t->last, "next", t->current,
                              "state", state));
    return rc;
}

static int interrupted(lo_engine *e, trav *t, lo_run_result *res, lo_error *err)
{
    res->interrupted = true;
    finish(e, t, res, LO_FAIL, "interrupted");
    int rc = checkpoint(e, t, "interrupted", err);
    if (t->checkpoints)
        lo_run_emit(&e->run, "pipeline_interrupted",
                    json_pack("{s:s?, s:s}", "resume_at", t->current, "logs", e->logs_root));
    return rc;
}

/* Run from t->current until the exit, a dead end, stop_at, a failure with
 * nowhere to go, or a cancel. */
static int traverse(lo_engine *e, trav *t, const char *stop_at, lo_outcome *last,
                    lo_run_result *res, lo_error *err)
{
    int rc = 0;
    lo_outcome_init(last, LO_SUCCESS);
    for (;;) {
        if (atomic_load(&e->cancel))
            return interrupted(e, t, res, err);
        if (!t->current || (stop_at && strcmp(t->current, stop_at) == 0)) {
            finish(e, t, res, last->status == LO_FAIL ? LO_FAIL : LO_SUCCESS,
                   last->failure_reason);
            return 0;
        }
        const lo_node *n = lo_graph_node(e->g, t->current);
        if (!n) {
            finish(e, t, res, LO_FAIL, "no such node");
            return lo_error_set(err, LO_EINVAL, "node '%s' is not in the pipeline", t->current);
        }
        if (lo_node_is_exit(n) && t->checkpoints) {
            const lo_node *gate = unsatisfied_gate(e, t);
            if (gate) {
                const char *target = retry_target(e, gate, true);
                lo_run_emit(&e->run, "goal_gate_unsatisfied",
                            json_pack("{s:s, s:s, s:s?}", "node", gate->id, "status",
                                      json_string_value(json_object_get(t->outcomes, gate->id)),
                                      "retry_target", target));
                if (target) {
                    if ((rc = set_current(t, target)))
                        return lo_error_set(err, rc, "out of memory");
                    t->incoming = NULL;
                    continue;
                }
                char why[300];
                snprintf(why, sizeof why, "goal gate '%s' was not satisfied and has no retry "
                         "target", gate->id);
                finish(e, t, res, LO_FAIL, why);
                rc = checkpoint(e, t, "failed", err);
                lo_run_emit(&e->run, "pipeline_failed", json_pack("{s:s}", "error", why));
                return rc;
            }
            /* the exit completes the run: record it so the checkpoint says so */
            json_array_append_new(t->completed, json_string(n->id));
            json_object_set_new(t->outcomes, n->id, json_string("success"));
            if ((rc = set_last(t, n->id)) || (rc = set_current(t, NULL)))
                return lo_error_set(err, rc, "out of memory");
            res->stages_run++;
            bool partial = false;
            const char *id;
            json_t *v;
            json_object_foreach(t->outcomes, id, v)
                partial |= lo_str_eq(json_string_value(v), "partial_success");
            finish(e, t, res, partial ? LO_PARTIAL_SUCCESS : LO_SUCCESS, NULL);
            rc = checkpoint(e, t, "completed", err);
            lo_run_emit(&e->run, "pipeline_completed",
                        json_pack("{s:s, s:i}", "status", lo_status_name(res->status),
                                  "stages", (json_int_t)json_array_size(t->completed)));
            return rc;
        }
        char why[600];
        const char *bound = bound_reached(e, t, n, why, sizeof why);
        if (bound) {
            lo_outcome_release(last);
            lo_outcome_init(last, LO_FAIL);
            lo_outcome_set_failure(last, "%s", why);
            lo_run_emit(&e->run, "loop_bound_reached",
                        json_pack("{s:s, s:s, s:I, s:I}", "node", n->id, "bound", bound,
                                  "visits", json_integer_value(json_object_get(t->visits, n->id)),
                                  "steps", (json_int_t)t->steps));
            if ((rc = set_current(t, NULL)))
                return lo_error_set(err, rc, "out of memory");
            finish(e, t, res, LO_FAIL, why);
            rc = checkpoint(e, t, "failed", err);
            if (t->checkpoints)
                lo_run_emit(&e->run, "pipeline_failed",
                            json_pack("{s:s, s:s}", "error", why, "bound", bound));
            return rc;
        }
        lo_outcome_release(last);
        execute_with_retry(e, t, n, last);
        if (atomic_load(&e->cancel))
            return interrupted(e, t, res, err);
        res->stages_run++;
        count_visit(t, n);
        if (t->checkpoints && e->cfg.after_stage &&
            (rc = e->cfg.after_stage(e->cfg.after_stage_ud, &e->run, n->id,
                                     lo_status_name(last->status), t->steps, err)) < 0)
            return rc;
        json_array_append_new(t->completed, json_string(n->id));
        json_object_set_new(t->outcomes, n->id, json_string(lo_status_name(last->status)));
        if (last->context_updates)
            lo_context_apply(t->ctx, last->context_updates);
        lo_context_set_str(t->ctx, "outcome", lo_status_name(last->status));
        if (last->preferred_label && *last->preferred_label)
            lo_context_set_str(t->ctx, "preferred_label", last->preferred_label);
        if ((rc = set_last(t, n->id)))
            return lo_error_set(err, rc, "out of memory");

        json_t *trace = json_array();
        lo_selection sel = {NULL, 0};
        const char *next, *route;
        const char *join = parallel_join(e, n, last);
        if (join) {
            /* the parallel node's edges are its branches, which it has run:
             * continue at their join (a failed parallel takes its retry
             * target below, or ends the run; "" = the branches never meet) */
            next = *join && last->status != LO_FAIL ? join : NULL;
            route = next ? "parallel_join" : NULL;
        } else {
            sel = lo_select_edge(e->g, n, last, t->ctx, trace);
            next = sel.edge ? sel.edge->to : NULL;
            route = sel.edge ? step_name(sel.step) : NULL;
        }
        if (!next && last->status == LO_FAIL) {
            next = retry_target(e, n, false);
            route = next ? "retry_target" : NULL;
        }
        json_t *f = json_pack("{s:s, s:s?, s:s, s:s?, s:o}", "from", n->id, "to", next,
                              "outcome", lo_status_name(last->status), "reason", route,
                              "evaluated", trace ? trace : json_array());
        if (sel.edge && lo_edge_str(sel.edge, "label")[0])
            json_object_set_new(f, "label", json_string(lo_edge_str(sel.edge, "label")));
        lo_run_emit(&e->run, "edge_selected", f);

        if (!next) {
            if ((rc = set_current(t, NULL)))
                return lo_error_set(err, rc, "out of memory");
            if (last->status == LO_FAIL) {
                snprintf(why, sizeof why, "stage '%s' failed: %s", n->id,
                         last->failure_reason ? last->failure_reason : "no reason given");
                finish(e, t, res, LO_FAIL, why);
                rc = checkpoint(e, t, "failed", err);
                if (t->checkpoints)
                    lo_run_emit(&e->run, "pipeline_failed", json_pack("{s:s}", "error", why));
                return rc;
            }
            finish(e, t, res, LO_SUCCESS, NULL);
            rc = checkpoint(e, t, "completed", err);
            if (t->checkpoints)
                lo_run_emit(&e->run, "pipeline_completed",
                            json_pack("{s:s, s:s}", "status", "success", "note",
                                      "no outgoing edge: the run ends here"));
            return rc;
        }
        if (sel.edge && lo_edge_bool(sel.edge, "loop_restart", false) && t->checkpoints) {
            /* a fresh run from the edge's target, in a fresh log directory */
            t->restarts++;
            json_array_clear(t->completed);
            json_object_clear(t->outcomes);
            json_object_clear(t->retries);
            json_t *empty = json_object();
            lo_context_restore(t->ctx, empty);
            json_decref(empty);
            mirror_graph(e, t->ctx);
            if (e->cfg.initial_context)
                lo_context_apply(t->ctx, e->cfg.initial_context);
            t->force_snapshot = true;
            lo_run_emit(&e->run, "loop_restarted",
                        json_pack("{s:s, s:i}", "at", next, "restart", t->restarts));
        }
        if ((rc = set_current(t, next)))
            return lo_error_set(err, rc, "out of memory");
        t->incoming = sel.edge;
        if ((rc = checkpoint(e, t, "running", err)))
            return rc;
    }
}

static int trav_init(trav *t, lo_context *ctx)
{
    memset(t, 0, sizeof *t);
    t->ctx = ctx;
    t->completed = json_array();
    t->outcomes = json_object();
    t->retries = json_object();
    t->visits = json_object();
    return t->completed && t->outcomes && t->retries && t->visits ? 0 : LO_ENOMEM;
}

static void trav_release(trav *t)
{
    json_decref(t->ctx_saved);
    json_decref(t->completed);
    json_decref(t->outcomes);
    json_decref(t->retries);
    json_decref(t->visits);
    free(t->current);
    free(t->last);
}

static const lo_node *find_start(const lo_graph *g)
{
    for (uint32_t i = 0; i < g->n_nodes; i++)
        if (lo_node_is_start(g->nodes[i]))
            return g->nodes[i];
    return NULL;
}

int lo_engine_run(lo_engine *e, bool resume, lo_run_result *res, lo_error *err)
{
    memset(res, 0, sizeof *res);
    const lo_node *start = find_start(e->g);
    if (!start)
        return lo_error_set(err, LO_EINVAL, "the pipeline has no start node");
    for (uint32_t i = 0; i < e->g->n_nodes; i++)
        if (!resolve(e, e->g->nodes[i]))
            return lo_error_set(err, LO_EINVAL, "node '%s' needs the '%s' handler, which this "
                                "build does not have yet", e->g->nodes[i]->id,
                                lo_node_handler_type(e->g->nodes[i]));
    lo_context *ctx = lo_context_new();
    trav t;
    if (!ctx || trav_init(&t, ctx)) {
        lo_context_free(ctx);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    t.checkpoints = true;
    int rc = run_lock(e, err);
    char state[32] = "running";
    if (rc)
        goto out;
    bool fresh = !resume;
    if (resume) {
        rc = run_check_manifest(e, err);
        if (!rc)
            rc = run_load_checkpoint(e, &t, state, sizeof state, err);
        t.resumed = rc == 0;
        if (rc == LO_ENOENT) {
            /* killed after the manifest but before the first checkpoint:
             * nothing ran yet, so start from the beginning under the same id */
            rc = 0;
            fresh = true;
            lo_error_clear(err);
        }
    }
    if (!rc)
        rc = run_open(e, resume, err);
    if (!rc && !resume)
        rc = run_write_manifest(e, err);
    if (rc)
        goto out;
    if (resume && (strcmp(state, "completed") == 0 || strcmp(state, "failed") == 0)) {
        /* nothing left to do: report how it ended */
        bool ok = strcmp(state, "completed") == 0;
        finish(e, &t, res, ok ? LO_SUCCESS : LO_FAIL, ok ? NULL : "the run had already failed");
        res->already_ended = true;
        goto out;
    }
    if (fresh) {
        mirror_graph(e, ctx);
        if (e->cfg.initial_context)
            lo_context_apply(ctx, e->cfg.initial_context);
        if ((rc = set_current(&t, start->id))) {
            lo_error_set(err, rc, "out of memory");
            goto out;
        }
    }
    if (pthread_create(&e->watchdog, NULL, lo_engine_watchdog, e) == 0)
        e->watchdog_started = true;
    lo_run_emit(&e->run, resume ? "pipeline_resumed" : "pipeline_started",
                json_pack("{s:s, s:s, s:s, s:s?, s:s}", "name", e->g->name,
                          "goal", lo_graph_str(e->g, "goal"), "logs", e->logs_root,
                          "at", t.current, "backend", e->cfg.backend->name));
    if ((fresh || resume) && (rc = checkpoint(e, &t, "running", err)))
        goto out;
    lo_outcome last;
    rc = traverse(e, &t, NULL, &last, res, err);
    lo_outcome_release(&last);
    if (rc) {
        /* an engine error (a full disk, say) still ends the event log with a
         * terminal event, so readers never wait for one that will not come */
        res->status = LO_FAIL;
        snprintf(res->failure_reason, sizeof res->failure_reason, "%s", err ? err->msg : "");
        lo_run_emit(&e->run, "pipeline_failed",
                    json_pack("{s:s, s:b}", "error", err ? err->msg : lo_err_name(rc),
                              "engine_error", 1));
    }
out:
    if (e->watchdog_started) {
        pthread_mutex_lock(&e->wd_lock);
        atomic_store(&e->quit_watchdog, true);
        pthread_cond_signal(&e->wd_cond);
        pthread_mutex_unlock(&e->wd_lock);
        pthread_join(e->watchdog, NULL);
        e->watchdog_started = false;
        atomic_store(&e->quit_watchdog, false);
    }
    run_unlock(e);
    trav_release(&t);
    lo_context_free(ctx);
    return rc;
}

int lo_run_subgraph(lo_run *r, const char *from, const char *stop_at, lo_context *ctx,
                    lo_outcome *out, lo_error *err)
{
    trav t;
    if (trav_init(&t, ctx) || set_current(&t, from)) {
        trav_release(&t);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    lo_run_result res;
    memset(&res, 0, sizeof res);
    int rc = traverse(r->e, &t, stop_at, out, &res, err);
    trav_release(&t);
    return rc;
}
