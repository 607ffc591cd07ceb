/* parallel.fan_in (§4.9): reads the "parallel.results" a parallel node left
 * in the context and picks the best branch.
 *
 * The heuristic ranks candidates by outcome (success, partial_success,
 * retry, fail, then anything else such as branches never started), then by
 * descending "score" (a number the branch put in its context), then by id.
 * With a prompt, the run's backend is asked to choose: the first candidate
 * id that appears in its answer as a whole word wins; when none does (or
 * the call fails) the heuristic decides. The sim backend answers a fixed
 * line that names no candidate, so offline runs always use the heuristic.
 *
 * The outcome is SUCCESS unless every candidate failed. It passes the
 * branches' responses on ("parallel.fan_in.outputs", and the winner's as
 * "last_response") so the next stage can build on them, and leaves
 * {stage_dir}/fan_in.md with the candidates and the choice. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/handlers/builtin.h"

typedef struct cand {
    const char *id;
    const char *outcome;   /* as recorded; "" when missing */
    int rank;              /* 0 best */
    double score;
    const char *response;  /* the branch's last_response, or NULL */
    const char *notes, *failure_reason;
} cand;

static int outcome_rank(const char *s)
{
    lo_status st;
    if (!s || lo_status_parse(s, &st) != 0)
        return 4;
    switch (st) {
    case LO_SUCCESS: return 0;
    case LO_PARTIAL_SUCCESS: return 1;
    case LO_RETRY: return 2;
    case LO_FAIL: return 3;
    default: return 4; /* skipped: the branch never ran */
    }
}

/* A number, or a string holding one (context values set from DOT
 * attributes or tool output are often text). */
static bool as_number(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    return json_is_string(v) && lo_parse_double(json_string_value(v), out) == 0;
}

static double cand_score(const json_t *r)
{
    double d;
    if (as_number(json_object_get(r, "score"), &d))
        return d;
    if (as_number(json_object_get(json_object_get(r, "context"), "score"), &d))
        return d;
    return 0;
}

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->id, y->id);
}

static bool word_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '-'; }

/* Offset of the first whole-word occurrence of id in text, or -1. */
static long find_word(const char *text, const char *id)
{
    size_t len = strlen(id);
    if (!len)
        return -1;
    for (const char *p = text; (p = strstr(p, id)); p++) {
        if ((p == text || !word_char(p[-1])) && !word_char(p[len]))
            return (long)(p - text);
    }
    return -1;
}

/* The usable candidate (not failed, not skipped) the answer names first. */
static int pick_from_answer(const cand *c, size_t n, const char *answer)
{
    int best = -1;
    long at = -1;
    for (size_t i = 0; answer && i < n; i++) {
        if (c[i].rank >= 3)
            continue;
        long p = find_word(answer, c[i].id);
        if (p >= 0 && (at < 0 || p < at || (p == at && strlen(c[i].id) > strlen(c[best].id)))) {
            at = p;
            best = (int)i;
        }
    }
    return best;
}

/* $goal, as codergen expands it. */
static int put_expanded(lo_buf *b, const char *prompt, const char *goal)
{
    const char *p = prompt, *hit;
    while ((hit = strstr(p, "$goal"))) {
        if (lo_buf_append(b, p, (size_t)(hit - p)) || lo_buf_puts(b, goal))
            return LO_ENOMEM;
        p = hit + 5;
    }
    return lo_buf_puts(b, p);
}

static int render_candidates(lo_buf *b, const cand *c, size_t n)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = lo_buf_printf(b, "- id: %s\n  outcome: %s\n  score: %g\n", c[i].id,
                           *c[i].outcome ? c[i].outcome : "unknown", c[i].score);
        if (!rc && c[i].notes)
            rc = lo_buf_printf(b, "  notes: %s\n", c[i].notes);
        if (!rc && c[i].failure_reason)
            rc = lo_buf_printf(b, "  failure: %s\n", c[i].failure_reason);
        if (!rc && c[i].response)
            rc = lo_buf_printf(b, "  response: %s\n", c[i].response);
    }
    return rc;
}

/* Ask the backend; returns the chosen index or -1, and a note on what
 * happened for fan_in.md. Errors never fail the stage: the heuristic is a
 * sound answer. */
static int ask_model(lo_stage *st, const cand *c, size_t n, const char *raw, char *note,
                     size_t note_n)
{
    lo_buf prompt, resp;
    lo_buf_init(&prompt, 0);
    lo_buf_init(&resp, 0);
    int chosen = -1;
    int rc = put_expanded(&prompt, raw, lo_graph_str(st->graph, "goal"));
    rc = rc ? rc : lo_buf_puts(&prompt, "\n\nCandidates (the results of the parallel branches):\n");
    rc = rc ? rc : render_candidates(&prompt, c, n);
    rc = rc ? rc : lo_buf_puts(&prompt, "\nAnswer with the id of the best candidate.\n");
    if (rc) {
        snprintf(note, note_n, "out of memory building the prompt; heuristic used");
        goto out;
    }
    lo_error err;
    lo_error_clear(&err);
    if (lo_stage_write(st, "prompt.md", prompt.data, &err))
        lo_context_log(st->context, err.msg);
    lo_backend *b = lo_run_backend(st->run);
    lo_outcome scratch;
    lo_outcome_init(&scratch, LO_SUCCESS);
    bool has_outcome = false;
    rc = b->run(b, st, prompt.data, &resp, &scratch, &has_outcome, &err);
    if (rc < 0) {
        snprintf(note, note_n, "the %s backend failed (%.300s); heuristic used", b->name,
                 err.msg);
    } else {
        /* a backend that reports an outcome instead of text: look for the
         * choice in what it reported */
        if (has_outcome) {
            lo_buf_clear(&resp);
            if (scratch.preferred_label)
                lo_buf_printf(&resp, "%s\n", scratch.preferred_label);
            size_t i;
            json_t *v;
            json_array_foreach(scratch.suggested_next_ids, i, v)
                lo_buf_printf(&resp, "%s\n", json_string_value(v));
            if (scratch.notes)
                lo_buf_printf(&resp, "%s\n", scratch.notes);
        }
        const char *answer = resp.data ? resp.data : "";
        if (lo_stage_write(st, "response.md", answer, &err))
            lo_context_log(st->context, err.msg);
        chosen = pick_from_answer(c, n, answer);
        if (chosen >= 0)
            snprintf(note, note_n, "chosen by the %s backend", b->name);
        else
            snprintf(note, note_n, "the %s backend's answer names no usable candidate; "
                     "heuristic used", b->name);
    }
    lo_outcome_release(&scratch);
out:
    lo_buf_release(&prompt);
    lo_buf_release(&resp);
    return chosen;
}

static int write_summary(lo_stage *st, const cand *c, size_t n, size_t best, const char *how,
                         lo_error *err)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    int rc = lo_buf_printf(&b, "# Fan-in: %s\n\nChoice: **%s** (%s, score %g): %s.\n\n"
                           "| rank | id | outcome | score | notes |\n|---|---|---|---|---|\n",
                           st->node->id, c[best].id, c[best].outcome, c[best].score, how);
    for (size_t i = 0; !rc && i < n; i++) {
        const char *why = c[i].failure_reason ? c[i].failure_reason
                          : c[i].notes ? c[i].notes : "";
        rc = lo_buf_printf(&b, "| %zu | %s | %s | %g | ", i + 1, c[i].id, c[i].outcome,
                           c[i].score);
        /* a pipe or newline would break the table row */
        for (const char *p = why; !rc && *p; p++)
            rc = lo_buf_putc(&b, *p == '|' ? '/' : *p == '\n' ? ' ' : *p);
        rc = rc ? rc : lo_buf_puts(&b, " |\n");
    }
    for (size_t i = 0; !rc && i < n; i++)
        if (c[i].response)
            rc = lo_buf_printf(&b, "\n## %s\n\n%s\n", c[i].id, c[i].response);
    if (rc) {
        lo_buf_release(&b);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    rc = lo_stage_write(st, "fan_in.md", b.data, err);
    lo_buf_release(&b);
    return rc;
}

int lo_handler_fan_in(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    json_t *results = lo_context_get(st->context, "parallel.results");
    if (json_is_string(results)) {
        /* results stored as serialized JSON text (a resumed or hand-made run) */
        json_t *parsed = json_loads(json_string_value(results), 0, NULL);
        json_decref(results);
        results = parsed;
    }
    size_t n = json_is_array(results) ? json_array_size(results) : 0;
    cand *c = n ? lo_calloc(n, sizeof *c) : NULL;
    if (n && !c) {
        json_decref(results);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(results, i);
        const char *id = json_string_value(json_object_get(r, "id"));
        if (!id || !*id)
            continue; /* not a branch result */
        const char *o = json_string_value(json_object_get(r, "outcome"));
        c[k++] = (cand){
            .id = id, .outcome = o ? o : "", .rank = outcome_rank(o), .score = cand_score(r),
            .response = json_string_value(json_object_get(r, "last_response")),
            .notes = json_string_value(json_object_get(r, "notes")),
            .failure_reason = json_string_value(json_object_get(r, "failure_reason")),
        };
    }
    int rc = 0;
    if (k == 0) {
        out->status = LO_FAIL;
        rc = lo_outcome_set_failure(out, "no parallel results to evaluate");
        goto done;
    }
    qsort(c, k, sizeof *c, cmp_cand);

    size_t best = 0;
    char how[512] = "heuristic: outcome, then score, then id";
    bool by_model = false;
    const char *prompt = lo_node_str(st->node, "prompt");
    if (*prompt && c[0].rank < 3) {
        int m = ask_model(st, c, k, prompt, how, sizeof how);
        if (m >= 0) {
            best = (size_t)m;
            by_model = true;
        }
    }
    lo_error werr;
    if (write_summary(st, c, k, best, how, &werr))
        lo_context_log(st->context, werr.msg); /* the choice stands without its report */

    json_t *outputs = json_object();
    for (size_t i = 0; outputs && i < k; i++)
        if (c[i].response)
            json_object_set_new(outputs, c[i].id, json_string(c[i].response));
    rc = lo_outcome_update_str(out, "parallel.fan_in.best_id", c[best].id);
    rc = rc ? rc : lo_outcome_update_str(out, "parallel.fan_in.best_outcome", c[best].outcome);
    rc = rc ? rc : lo_outcome_update_str(out, "parallel.fan_in.method",
                                         by_model ? "model" : "heuristic");
    rc = rc ? rc : lo_outcome_update(out, "parallel.fan_in.outputs", outputs);
    if (!rc && c[best].response)
        rc = lo_outcome_update_str(out, "last_response", c[best].response);
    if (c[best].rank >= 3) {
        /* ranked first yet failed (or never ran): so did every other one */
        out->status = LO_FAIL;
        rc = rc ? rc : lo_outcome_set_failure(out, "every parallel branch failed (%zu "
                                              "candidates; best: %s: %s)", k, c[best].id,
                                              c[best].failure_reason ? c[best].failure_reason
                                                                     : c[best].outcome);
    } else {
        out->status = LO_SUCCESS;
        rc = rc ? rc : lo_outcome_set_notes(out, "selected best candidate: %s (%s)",
                                            c[best].id, by_model ? "model" : "heuristic");
    }
    lo_run_emit(st->run, "fan_in_completed",
                json_pack("{s:s, s:s, s:s, s:s, s:i}", "node", st->node->id,
                          "best", c[best].id, "outcome", c[best].outcome,
                          "method", by_model ? "model" : "heuristic",
                          "candidates", (json_int_t)k));
done:
    if (rc)
        lo_error_set(err, rc, "out of memory");
    free(c);
    json_decref(results);
    return rc;
}
