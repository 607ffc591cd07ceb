/* parallel (§4.8): every outgoing edge of the node starts a branch. Each
 * branch runs in a thread of its own with a deep copy of the run context
 * (§3.8), through lo_run_subgraph, until the join point: the nearest
 * parallel.fan_in node every branch can reach. At most max_parallel
 * branches run at once (a work queue served by that many threads).
 *
 * Join policies: wait_all (every branch runs; SUCCESS when none failed,
 * PARTIAL_SUCCESS when some did, FAIL when all did) and first_success (once
 * a branch succeeds no further branch starts; branches already running are
 * finished and joined, since a thread cannot be stopped from outside and a
 * run-wide stop would reach sibling branches of an enclosing parallel).
 * error_policy=fail_fast: after the first failed branch no further branch
 * starts; running ones finish; the outcome is FAIL.
 *
 * Branch contexts are never merged back: the parent sees only this node's
 * context updates, "parallel.results" among them. "parallel.join" names the
 * node the traversal continues at (engine.c follows it instead of an edge,
 * as the node's own edges are the branches it has already run). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/engine_internal.h"
#include "pipeline/handlers/builtin.h"

/* ---- the join point ---- */

/* The node every branch reaches first: the parallel.fan_in reachable from
 * all branch targets with the smallest worst-case distance (then the
 * smallest total distance, then the smaller id). When no fan-in is common
 * to all, the nearest common node of any type, so branches that meet again
 * (at the exit, say) do not each run the shared tail. NULL when the
 * branches never meet: they run until they end. The BFS never expands the
 * parallel node itself, so a branch looping back to it cannot reach its
 * siblings' nodes. */
static const char *find_join(const lo_graph *g, const lo_node *par, lo_edge *const *edges,
                             uint32_t ne)
{
    uint32_t nn = g->n_nodes;
    uint32_t *seen = lo_calloc(nn, sizeof *seen);   /* branch stamp (i + 1) */
    uint32_t *count = lo_calloc(nn, sizeof *count); /* branches reaching it */
    uint32_t *maxd = lo_calloc(nn, sizeof *maxd), *sumd = lo_calloc(nn, sizeof *sumd);
    uint32_t *dist = lo_calloc(nn, sizeof *dist), *queue = lo_calloc(nn, sizeof *queue);
    const char *best = NULL;
    if (!seen || !count || !maxd || !sumd || !dist || !queue)
        goto out;
    uint32_t need = 0; /* distinct branch targets: all must reach the join */
    for (uint32_t b = 0; b < ne; b++) {
        const lo_node *t = lo_graph_node(g, edges[b]->to);
        bool dup = false;
        for (uint32_t k = 0; k < b && !dup; k++)
            dup = strcmp(edges[k]->to, edges[b]->to) == 0;
        if (!t || dup)
            continue; /* two edges to one target: that target counts once */
        need++;
        uint32_t head = 0, tail = 0;
        seen[t->index] = b + 1;
        dist[t->index] = 0;
        queue[tail++] = t->index;
        while (head < tail) {
            uint32_t v = queue[head++];
            count[v]++;
            maxd[v] = dist[v] > maxd[v] ? dist[v] : maxd[v];
            sumd[v] += dist[v];
            if (g->nodes[v] == par)
                continue;
            uint32_t no;
            lo_edge *const *out = lo_graph_out_edges(g, g->nodes[v], &no);
            for (uint32_t k = 0; k < no; k++) {
                const lo_node *w = out[k]->to_node ? out[k]->to_node
                                                   : lo_graph_node(g, out[k]->to);
                if (!w || seen[w->index] == b + 1)
                    continue;
                seen[w->index] = b + 1;
                dist[w->index] = dist[v] + 1;
                queue[tail++] = w->index;
            }
        }
    }
    for (int pass = 0; pass < 2 && !best && need; pass++) {
        uint32_t bi = UINT32_MAX;
        for (uint32_t v = 0; v < nn; v++) {
            if (count[v] != need || g->nodes[v] == par)
                continue;
            if (pass == 0 && strcmp(lo_node_handler_type(g->nodes[v]), "parallel.fan_in") != 0)
                continue;
            if (bi == UINT32_MAX || maxd[v] < maxd[bi] ||
                (maxd[v] == maxd[bi] && (sumd[v] < sumd[bi] ||
                 (sumd[v] == sumd[bi] && strcmp(g->nodes[v]->id, g->nodes[bi]->id) < 0))))
                bi = v;
        }
        if (bi != UINT32_MAX)
            best = g->nodes[bi]->id;
    }
out:
    free(seen);
    free(count);
    free(maxd);
    free(sumd);
    free(dist);
    free(queue);
    return best;
}

/* ---- running the branches ---- */

typedef struct branch {
    const char *id;       /* the branch's first node (the edge's target) */
    int index;
    lo_context *ctx;      /* the branch's own copy */
    lo_outcome out;
    bool started, done;
    int64_t duration_ms;
} branch;

typedef struct pool {
    lo_stage *st;
    const char *join;     /* stop_at for every branch; NULL = run to the end */
    branch *b;
    size_t n;
    bool fail_fast, first_success;
    pthread_mutex_t mu;   /* guards next, stop, first_ok, first_fail, done flags */
    size_t next;          /* the next branch to start */
    bool stop;            /* no further branch may start */
    const char *stop_why;
    int first_ok, first_fail;
} pool;

static bool ok_status(lo_status s) { return s == LO_SUCCESS || s == LO_PARTIAL_SUCCESS; }
static bool failed_status(lo_status s) { return s == LO_FAIL || s == LO_RETRY; }

static void run_branch(pool *p, branch *br)
{
    lo_stage *st = p->st;
    lo_run_emit(st->run, "parallel_branch_started",
                json_pack("{s:s, s:s, s:i}", "node", st->node->id, "branch", br->id,
                          "index", (json_int_t)br->index));
    int64_t t0 = lo_now_ms();
    lo_error err;
    lo_error_clear(&err);
    int rc = lo_run_subgraph(st->run, br->id, p->join, br->ctx, &br->out, &err);
    if (rc < 0) {
        /* an engine error (I/O, a missing node) is this branch's failure */
        lo_outcome_release(&br->out);
        lo_outcome_init(&br->out, LO_FAIL);
        lo_outcome_set_failure(&br->out, "%s", err.msg[0] ? err.msg : lo_err_name(rc));
    }
    br->duration_ms = lo_now_ms() - t0;
    lo_run_emit(st->run, "parallel_branch_completed",
                json_pack("{s:s, s:s, s:i, s:i, s:s, s:b, s:s?}", "node", st->node->id,
                          "branch", br->id, "index", (json_int_t)br->index,
                          "duration_ms", (json_int_t)br->duration_ms,
                          "status", lo_status_name(br->out.status),
                          "success", ok_status(br->out.status),
                          "failure_reason", br->out.failure_reason));
}

/* A worker takes branches off the queue until it is empty or the policy
 * (or a cancel of the run) says no further branch may start. */
static void *worker(void *arg)
{
    pool *p = arg;
    lo_engine *e = p->st->run->e;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (!p->stop && atomic_load(&e->cancel)) {
            p->stop = true;
            p->stop_why = "the run was cancelled";
        }
        if (p->stop || p->next >= p->n) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        branch *br = &p->b[p->next++];
        br->started = true;
        pthread_mutex_unlock(&p->mu);

        run_branch(p, br);

        pthread_mutex_lock(&p->mu);
        br->done = true;
        if (ok_status(br->out.status) && p->first_ok < 0) {
            p->first_ok = br->index;
            if (p->first_success && !p->stop) {
                p->stop = true;
                p->stop_why = "join_policy=first_success: a branch has succeeded";
            }
        }
        if (failed_status(br->out.status) && p->first_fail < 0) {
            p->first_fail = br->index;
            if (p->fail_fast && !p->stop) {
                p->stop = true;
                p->stop_why = "error_policy=fail_fast: a branch has failed";
            }
        }
        pthread_mutex_unlock(&p->mu);
    }
}

/* Keys of the branch's final context whose values differ from the
 * parent's: what the branch produced. current_node and internal.* (retry
 * counters) are bookkeeping, left out to keep the results small. */
static json_t *context_diff(const json_t *parent, const json_t *mine)
{
    json_t *d = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)mine, k, v) {
        if (strcmp(k, "current_node") == 0 || strncmp(k, "internal.", 9) == 0)
            continue;
        json_t *pv = json_object_get(parent, k);
        if (!pv || !json_equal(pv, v))
            json_object_set(d, k, v);
    }
    return d;
}

static json_t *branch_result(const branch *br, const json_t *parent)
{
    json_t *r = json_pack("{s:s, s:i}", "id", br->id, "index", (json_int_t)br->index);
    if (!r)
        return NULL;
    if (!br->started) {
        json_object_set_new(r, "outcome", json_string(lo_status_name(LO_SKIPPED)));
        json_object_set_new(r, "notes", json_string("not started"));
        return r;
    }
    json_object_set_new(r, "outcome", json_string(lo_status_name(br->out.status)));
    if (br->out.notes)
        json_object_set_new(r, "notes", json_string(br->out.notes));
    if (br->out.failure_reason)
        json_object_set_new(r, "failure_reason", json_string(br->out.failure_reason));
    json_object_set_new(r, "duration_ms", json_integer(br->duration_ms));
    json_t *snap = lo_context_snapshot(br->ctx);
    json_t *diff = snap ? context_diff(parent, snap) : json_object();
    /* the branch's own response only: an unchanged last_response is the
     * parent's, from before the fan-out */
    json_t *resp = json_object_get(diff, "last_response");
    if (resp)
        json_object_set(r, "last_response", resp);
    json_t *score = json_object_get(diff, "score");
    if (json_is_number(score))
        json_object_set(r, "score", score);
    json_object_set_new(r, "context", diff ? diff : json_object());
    json_decref(snap);
    return r;
}

static const char *policy_attr(const lo_node *n, const char *key, const char *def)
{
    const char *v = lo_node_str(n, key);
    return *v ? v : def;
}

int lo_handler_parallel(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    const lo_node *n = st->node;
    lo_engine *e = st->run->e;
    uint32_t ne;
    lo_edge *const *edges = lo_graph_out_edges(st->graph, n, &ne);
    if (ne == 0) {
        out->status = LO_FAIL;
        return lo_outcome_set_failure(out, "parallel node '%s' has no outgoing edges: no "
                                      "branches to run", n->id);
    }
    const char *join_policy = policy_attr(n, "join_policy", "wait_all");
    const char *error_policy = policy_attr(n, "error_policy", "continue");
    if (strcmp(join_policy, "wait_all") != 0 && strcmp(join_policy, "first_success") != 0) {
        out->status = LO_FAIL;
        return lo_outcome_set_failure(out, "unknown join_policy '%s' (wait_all or "
                                      "first_success)", join_policy);
    }
    if (strcmp(error_policy, "continue") != 0 && strcmp(error_policy, "fail_fast") != 0) {
        out->status = LO_FAIL;
        return lo_outcome_set_failure(out, "unknown error_policy '%s' (continue or fail_fast)",
                                      error_policy);
    }
    int64_t maxp = lo_node_int(n, "max_parallel", 4);
    if (maxp < 1)
        maxp = 1;
    if (maxp > (int64_t)ne)
        maxp = ne;
    const char *join = find_join(st->graph, n, edges, ne);

    pool p = {
        .st = st, .join = join, .n = ne,
        .fail_fast = strcmp(error_policy, "fail_fast") == 0,
        .first_success = strcmp(join_policy, "first_success") == 0,
        .first_ok = -1, .first_fail = -1,
    };
    /* the parent's values, to tell what each branch changed; the parent
     * context does not change while the branches run (the traversal waits
     * on this handler) */
    json_t *parent = lo_context_snapshot(st->context);
    p.b = lo_calloc(ne, sizeof *p.b);
    pthread_t *tids = lo_calloc((size_t)maxp, sizeof *tids);
    int rc = parent && p.b && tids ? 0 : LO_ENOMEM;
    for (uint32_t i = 0; !rc && i < ne; i++) {
        p.b[i].id = edges[i]->to;
        p.b[i].index = (int)i;
        lo_outcome_init(&p.b[i].out, LO_SKIPPED);
        if (!(p.b[i].ctx = lo_context_clone(st->context)))
            rc = LO_ENOMEM;
    }
    if (rc) {
        lo_error_set(err, rc, "out of memory");
        goto out;
    }
    pthread_mutex_init(&p.mu, NULL);

    json_t *ids = json_array();
    for (uint32_t i = 0; i < ne; i++)
        json_array_append_new(ids, json_string(edges[i]->to));
    lo_run_emit(st->run, "parallel_started",
                json_pack("{s:s, s:i, s:o, s:s?, s:s, s:s, s:i}", "node", n->id,
                          "branches", (json_int_t)ne, "branch_ids", ids, "join", join,
                          "join_policy", join_policy, "error_policy", error_policy,
                          "max_parallel", (json_int_t)maxp));
    int64_t t0 = lo_now_ms();
    size_t started = 0;
    for (int64_t i = 0; i < maxp; i++)
        if (pthread_create(&tids[started], NULL, worker, &p) == 0)
            started++;
    if (started == 0)
        worker(&p); /* no thread to be had: run the branches one by one here */
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    int64_t dur = lo_now_ms() - t0;
    pthread_mutex_destroy(&p.mu);

    /* ---- results and the join policy ---- */
    size_t n_ok = 0, n_fail = 0, n_skipped = 0;
    json_t *results = json_array();
    for (uint32_t i = 0; i < ne; i++) {
        branch *br = &p.b[i];
        if (!br->started) {
            n_skipped++;
            lo_run_emit(st->run, "parallel_branch_skipped",
                        json_pack("{s:s, s:s, s:i, s:s}", "node", n->id, "branch", br->id,
                                  "index", (json_int_t)br->index, "reason",
                                  p.stop_why ? p.stop_why : "not started"));
        } else if (ok_status(br->out.status)) {
            n_ok++;
        } else if (failed_status(br->out.status)) {
            n_fail++;
        }
        json_array_append_new(results, branch_result(br, parent));
    }
    const branch *ff = p.first_fail >= 0 ? &p.b[p.first_fail] : NULL;
    const char *ff_why = ff && ff->out.failure_reason ? ff->out.failure_reason : "no reason given";
    if (atomic_load(&e->cancel)) {
        out->status = LO_FAIL;
        lo_outcome_set_failure(out, "interrupted while %zu branches ran", ne - n_skipped);
    } else if (p.first_success) {
        out->status = n_ok ? LO_SUCCESS : LO_FAIL;
        if (!n_ok)
            lo_outcome_set_failure(out, "join_policy=first_success: no branch succeeded "
                                   "(first failure: %s: %s)", ff ? ff->id : "-", ff_why);
    } else if (p.fail_fast && n_fail) {
        out->status = LO_FAIL;
        lo_outcome_set_failure(out, "error_policy=fail_fast: branch '%s' failed: %s; %zu "
                               "branches not started", ff->id, ff_why, n_skipped);
    } else if (n_fail == 0) {
        out->status = LO_SUCCESS;
    } else if (n_ok == 0) {
        out->status = LO_FAIL;
        lo_outcome_set_failure(out, "all %zu branches failed (first: %s: %s)", n_fail,
                               ff->id, ff_why);
    } else {
        out->status = LO_PARTIAL_SUCCESS;
    }
    lo_outcome_set_notes(out, "%u branches: %zu succeeded, %zu failed, %zu not started%s%s",
                         ne, n_ok, n_fail, n_skipped, join ? "; join at " : "",
                         join ? join : "");

    char *text = json_dumps(results, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) {
        lo_error werr;
        if (lo_stage_write(st, "parallel.json", text, &werr))
            lo_context_log(st->context, werr.msg);
        free(text);
    }
    rc = lo_outcome_update(out, "parallel.results", results);
    rc = rc ? rc : lo_outcome_update(out, "parallel.success_count", json_integer((json_int_t)n_ok));
    rc = rc ? rc : lo_outcome_update(out, "parallel.failure_count",
                                     json_integer((json_int_t)n_fail));
    if (!rc && p.first_ok >= 0)
        rc = lo_outcome_update_str(out, "parallel.first_success_id", p.b[p.first_ok].id);
    /* "" = the branches never meet: the traversal ends after this node */
    rc = rc ? rc : lo_outcome_update_str(out, "parallel.join", join ? join : "");
    if (!rc && join)
        rc = lo_outcome_add_next_id(out, join);
    if (rc)
        lo_error_set(err, rc, "out of memory");
    lo_run_emit(st->run, "parallel_completed",
                json_pack("{s:s, s:i, s:i, s:i, s:i, s:s}", "node", n->id,
                          "duration_ms", (json_int_t)dur, "success_count", (json_int_t)n_ok,
                          "failure_count", (json_int_t)n_fail,
                          "skipped_count", (json_int_t)n_skipped,
                          "status", lo_status_name(out->status)));
out:
    for (uint32_t i = 0; p.b && i < ne; i++) {
        lo_outcome_release(&p.b[i].out);
        lo_context_free(p.b[i].ctx);
    }
    free(p.b);
    free(tids);
    json_decref(parent);
    return rc;
}
