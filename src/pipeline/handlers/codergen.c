/* codergen (§4.5): build the prompt, hand it to the run's backend, keep
 * prompt.md and response.md in the stage directory. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/backend.h"
#include "pipeline/handlers/builtin.h"

int lo_stage_write(const lo_stage *st, const char *name, const char *text, lo_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", st->stage_dir, name);
    return lo_file_write_atomic(path, text, strlen(text), err);
}

/* $goal is the spec's template variable; lightsout adds $last_failure, the
 * report of the last failed validation gate ("" when none), so a retry sees
 * what broke. Expansion is plain replacement, not a template language. */
static char *expand(const char *prompt, const char *goal, const lo_context *ctx)
{
    char *failure = ctx ? lo_context_get_str(ctx, "last_failure") : NULL;
    lo_buf b;
    lo_buf_init(&b, 0);
    const char *p = prompt;
    for (;;) {
        const char *g = strstr(p, "$goal"), *f = strstr(p, "$last_failure");
        const char *hit = g && (!f || g < f) ? g : f;
        if (!hit)
            break;
        if (lo_buf_append(&b, p, (size_t)(hit - p)) ||
            lo_buf_puts(&b, hit == g ? goal : failure ? failure : ""))
            goto oom;
        p = hit + (hit == g ? 5 : 13);
    }
    if (lo_buf_puts(&b, p))
        goto oom;
    free(failure);
    return lo_buf_steal(&b);
oom:
    free(failure);
    lo_buf_release(&b);
    return NULL;
}

/* The first n bytes of s, cut back to a whole UTF-8 character. */
static char *truncate_utf8(const char *s, size_t n)
{
    size_t len = strlen(s);
    if (len <= n)
        return lo_strdup(s);
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return lo_strndup(s, n);
}

int lo_handler_codergen(lo_stage *st, lo_outcome *out, void *ud, lo_error *err)
{
    const lo_node *n = st->node;
    const char *raw = lo_node_str(n, "prompt");
    if (!*raw)
        raw = lo_node_label(n);
    char *body = expand(raw, lo_graph_str(st->graph, "goal"), st->context);
    if (!body)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    /* a fresh session gets the carry-over of its fidelity mode first */
    char *prompt = body;
    if (st->preamble && *st->preamble) {
        lo_buf b;
        lo_buf_init(&b, 0);
        if (lo_buf_printf(&b, "%s\n---\n\n%s", st->preamble, body)) {
            lo_buf_release(&b);
            free(body);
            return lo_error_set(err, LO_ENOMEM, "out of memory");
        }
        prompt = lo_buf_steal(&b);
        free(body);
    }
    int rc = lo_stage_write(st, "prompt.md", prompt, err);
    /* the run's backend may be a router: record the one that runs it */
    lo_backend *b = rc ? NULL : lo_backend_pick(lo_run_backend(st->run), st, err);
    if (!rc && !b)
        rc = err->code ? err->code : LO_EINVAL;
    lo_buf response;
    lo_buf_init(&response, 0);
    bool has_outcome = false;
    if (!rc) {
        lo_run_emit(st->run, "codergen_started",
                    json_pack("{s:s, s:s}", "node", n->id, "backend", b->name));
        rc = b->run(b, st, prompt, &response, out, &has_outcome, err);
    }
    free(prompt);
    if (rc || has_outcome) {
        lo_buf_release(&response);
        return rc;
    }
    const char *text = response.data ? response.data : "";
    rc = lo_stage_write(st, "response.md", text, err);
    char *brief = truncate_utf8(text, 200);
    if (!rc && brief) {
        out->status = LO_SUCCESS;
        /* a backend's own notes (usage, cost) follow ours */
        char *bnotes = out->notes ? lo_strdup(out->notes) : NULL;
        rc = bnotes ? lo_outcome_set_notes(out, "stage completed: %s; %s", n->id, bnotes)
                    : lo_outcome_set_notes(out, "stage completed: %s", n->id);
        free(bnotes);
        rc = rc ? rc : lo_outcome_update_str(out, "last_stage", n->id);
        rc = rc ? rc : lo_outcome_update_str(out, "last_response", brief);
        if (rc)
            lo_error_set(err, rc, "out of memory");
    } else if (!brief) {
        rc = lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    free(brief);
    lo_buf_release(&response);
    return rc;
}
