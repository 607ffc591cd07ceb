/* wait.human (§4.6): the outgoing edges become the choices; the run's
 * interviewer picks one; the choice routes through suggested_next_ids. */
#include <string.h>

#include "pipeline/handlers/builtin.h"

int lo_handler_wait_human(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    const lo_node *n = st->node;
    uint32_t ne;
    lo_edge *const *edges = lo_graph_out_edges(st->graph, n, &ne);
    if (ne == 0) {
        out->status = LO_FAIL;
        return lo_outcome_set_failure(out, "human gate '%s' has no outgoing edges to choose from",
                                      n->id);
    }
    lo_option *opts = lo_calloc(ne, sizeof *opts);
    char (*keys)[16] = lo_calloc(ne, sizeof *keys);
    if (!opts || !keys) {
        free(opts);
        free(keys);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < ne; i++) {
        const char *label = lo_edge_str(edges[i], "label");
        if (!*label)
            label = edges[i]->to;
        lo_accelerator_key(label, keys[i], sizeof keys[i]);
        opts[i].key = keys[i];
        opts[i].label = label;
    }
    const char *def = lo_node_str(n, "human.default_choice");
    int64_t timeout = lo_node_duration_ms(n, "timeout", 0);
    lo_question q = {
        .text = lo_node_label(n), .type = LO_Q_MULTIPLE_CHOICE, .options = opts,
        .n_options = ne, .timeout_seconds = (double)timeout / 1000.0, .stage = n->id,
    };
    lo_run_emit(st->run, "interview_started",
                json_pack("{s:s, s:s, s:i}", "node", n->id, "question", q.text,
                          "options", (json_int_t)ne));
    lo_answer a = {.option = -1};
    lo_interviewer *iv = lo_run_interviewer(st->run);
    int rc = iv->ask(iv, &q, &a);
    int chosen = -1;
    if (!rc && a.kind == LO_ANSWER_TIMEOUT) {
        lo_run_emit(st->run, "interview_timeout", json_pack("{s:s}", "node", n->id));
        /* human.default_choice names an edge target, a key or a label */
        for (uint32_t i = 0; *def && i < ne && chosen < 0; i++)
            if (strcmp(edges[i]->to, def) == 0 || strcasecmp(keys[i], def) == 0 ||
                strcasecmp(opts[i].label, def) == 0)
                chosen = (int)i;
        if (chosen < 0) {
            out->status = LO_RETRY;
            lo_outcome_set_failure(out, "human gate timed out with no default choice");
        }
    } else if (!rc && a.kind == LO_ANSWER_SKIPPED) {
        out->status = LO_FAIL;
        lo_outcome_set_failure(out, "the human skipped the question");
    } else if (!rc) {
        if (a.option >= 0 && a.option < (int)ne)
            chosen = a.option;
        for (uint32_t i = 0; chosen < 0 && a.value && i < ne; i++)
            if (strcasecmp(keys[i], a.value) == 0 || strcasecmp(opts[i].label, a.value) == 0 ||
                strcmp(edges[i]->to, a.value) == 0)
                chosen = (int)i;
        if (chosen < 0)
            chosen = 0; /* §4.6: an unmatched answer takes the first choice */
    }
    if (!rc && chosen >= 0) {
        out->status = LO_SUCCESS;
        rc = lo_outcome_add_next_id(out, edges[chosen]->to);
        rc = rc ? rc : lo_outcome_update_str(out, "human.gate.selected", keys[chosen]);
        rc = rc ? rc : lo_outcome_update_str(out, "human.gate.label", opts[chosen].label);
        if (rc)
            lo_error_set(err, rc, "out of memory");
        lo_run_emit(st->run, "interview_completed",
                    json_pack("{s:s, s:s, s:s}", "node", n->id, "answer", keys[chosen],
                              "to", edges[chosen]->to));
    } else if (rc) {
        lo_error_set(err, rc, "asking the human failed");
    }
    lo_answer_release(&a);
    free(opts);
    free(keys);
    return rc;
}
