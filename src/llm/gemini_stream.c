/* Stream translation for the Gemini API (§7.7): every data: event of
 * streamGenerateContent?alt=sse is a whole GenerateContentResponse, whose
 * parts are folded into the response and turned into the unified
 * start/delta/end events (segments closed on a switch of kind or at a
 * finishReason). gemini.c builds the request and parses parts and errors;
 * adapter_call.c runs the exchange. */
#include <stdio.h>
#include <string.h>

#include "adapter_internal.h"

#define PROVIDER "gemini"

/* Short names for the shared stream plumbing (adapter_internal.h). */
#define soom(st) lo_llm_soom_(&(st)->base)

typedef struct stream_state {
    lo_llm_stream_ base; /* first: the SSE callback's ud is both */
    int n_calls, n_text;
    bool started, text_open, reasoning_open;
    char *finish;        /* the finishReason once seen */
} stream_state;

/* Deliver ev with a copy of the chunk it came from. */
static int emit(stream_state *st, lo_llm_stream_event *ev, const json_t *raw)
{
    if (ev && raw && !(ev->raw = json_deep_copy(raw))) {
        lo_llm_stream_event_free(ev);
        ev = NULL;
    }
    return lo_llm_emit_(&st->base, ev);
}

/* A text event of segment id, with a copy of delta when given. */
static lo_llm_stream_event *text_event(lo_llm_stream_event_type t, const char *id,
                                       const char *delta)
{
    lo_llm_stream_event *ev = lo_llm_stream_event_new(t);
    if (ev && ((id && !(ev->text_id = lo_strdup(id))) ||
               (delta && !(ev->delta = lo_strdup(delta))))) {
        lo_llm_stream_event_free(ev);
        return NULL;
    }
    return ev;
}

/* Close the open text segment and reasoning: their END events. */
static int close_segments(stream_state *st, const json_t *raw)
{
    char id[16];
    snprintf(id, sizeof id, "%d", st->n_text);
    int r = 0;
    if (st->text_open) {
        st->text_open = false;
        r = emit(st, text_event(LO_STREAM_TEXT_END, id, NULL), raw);
    }
    if (!r && st->reasoning_open) {
        st->reasoning_open = false;
        r = emit(st, lo_llm_stream_event_new(LO_STREAM_REASONING_END), raw);
    }
    return r;
}

/* A TOOL_CALL_* event with a copy of the call (arguments raw and parsed). */
static lo_llm_stream_event *call_event(lo_llm_stream_event_type t, const lo_llm_tool_call *tc,
                                       bool with_args)
{
    lo_llm_stream_event *ev = lo_llm_stream_event_new(t);
    lo_llm_tool_call *c = ev ? lo_calloc(1, sizeof *c) : NULL;
    if (c)
        ev->tool_call = c;
    bool ok = c && (c->id = lo_strdup(tc->id)) && (c->name = lo_strdup(tc->name));
    if (ok && with_args) {
        ok = (c->arguments = json_deep_copy(tc->arguments)) &&
             (c->raw_arguments = json_dumps(tc->arguments, JSON_COMPACT));
        if (ok && t == LO_STREAM_TOOL_CALL_DELTA)
            ok = (ev->delta = lo_strdup(c->raw_arguments)) != NULL;
    }
    if (!ok) {
        lo_llm_stream_event_free(ev);
        return NULL;
    }
    return ev;
}

/* One part of a chunk: into the accumulated message, then its events. */
static int on_part(stream_state *st, const json_t *p, const json_t *raw)
{
    lo_llm_message *m = st->base.resp->message;
    size_t before = m->n_parts;
    if (lo_llm_gemini_add_part_(m, p, &st->n_calls, true) != 0)
        return soom(st);
    const char *text = lo_llm_jstr_(p, "text");
    int r = 0;
    if (text && json_is_true(json_object_get(p, "thought"))) {
        if (st->text_open && (r = close_segments(st, raw)))
            return r;
        if (!st->reasoning_open) {
            st->reasoning_open = true;
            if ((r = emit(st, lo_llm_stream_event_new(LO_STREAM_REASONING_START), raw)))
                return r;
        }
        lo_llm_stream_event *ev = lo_llm_stream_event_new(LO_STREAM_REASONING_DELTA);
        if (ev && !(ev->reasoning_delta = lo_strdup(text))) {
            lo_llm_stream_event_free(ev);
            ev = NULL;
        }
        return *text ? emit(st, ev, raw) : (lo_llm_stream_event_free(ev), 0);
    }
    if (text) {
        char id[16];
        if (!*text)
            return 0; /* a signature carrier: nothing to show */
        if (st->reasoning_open && (r = close_segments(st, raw)))
            return r;
        if (!st->text_open) {
            st->text_open = true;
            st->n_text++;
            snprintf(id, sizeof id, "%d", st->n_text);
            if ((r = emit(st, text_event(LO_STREAM_TEXT_START, id, NULL), raw)))
                return r;
        }
        snprintf(id, sizeof id, "%d", st->n_text);
        return emit(st, text_event(LO_STREAM_TEXT_DELTA, id, text), raw);
    }
    if (!json_is_object(json_object_get(p, "functionCall")))
        return emit(st, lo_llm_stream_event_new(LO_STREAM_PROVIDER_EVENT), raw);
    /* A function call arrives whole: START, one DELTA with all the
     * arguments, END. */
    if ((r = close_segments(st, raw)))
        return r;
    const lo_llm_tool_call *tc = NULL;
    for (size_t i = m->n_parts; i-- > before && !tc;)
        if (m->parts[i].kind == LO_CONTENT_TOOL_CALL)
            tc = &m->parts[i].tool_call;
    if (!tc)
        return soom(st);
    if ((r = emit(st, call_event(LO_STREAM_TOOL_CALL_START, tc, false), raw)) ||
        (r = emit(st, call_event(LO_STREAM_TOOL_CALL_DELTA, tc, true), raw)))
        return r;
    return emit(st, call_event(LO_STREAM_TOOL_CALL_END, tc, true), raw);
}

/* An {"error": {...}} object inside the stream: classified as over HTTP. */
static int stream_error(stream_state *st, const json_t *e)
{
    json_t *code = json_object_get(e, "code");
    lo_http_result fake;
    memset(&fake, 0, sizeof fake);
    fake.status = json_is_integer(code) ? (long)json_integer_value(code) : 0;
    json_t *wrap = json_pack("{s:O}", "error", (json_t *)e);
    char *text = wrap ? json_dumps(wrap, JSON_COMPACT) : NULL;
    json_decref(wrap);
    if (!text)
        return soom(st);
    fake.body.data = text;
    fake.body.len = strlen(text);
    lo_llm_gemini_http_error_(&fake, st->base.err);
    free(text);
    st->base.err->status = 0; /* it came in the stream, not as an HTTP status */
    return lo_llm_sfail_(&st->base, LO_EIO);
}

static int on_sse(const lo_sse_event *sev, void *ud)
{
    stream_state *st = ud;
    if (st->base.failed)
        return 1;
    json_t *data = lo_llm_stream_json_(&st->base, sev);
    if (!data)
        return 1;
    int r = 0;
    if (json_object_get(data, "error")) {
        r = stream_error(st, json_object_get(data, "error"));
        json_decref(data);
        return r;
    }
    if (lo_llm_gemini_set_ids_(st->base.resp, data) != 0)
        r = soom(st);
    if (!r && !st->started) {
        st->started = true;
        r = emit(st, lo_llm_stream_event_new(LO_STREAM_START), data);
    }
    const json_t *cand = json_array_get(json_object_get(data, "candidates"), 0);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(json_object_get(cand, "content"), "parts"), i, p)
    {
        if (!r && json_is_object(p))
            r = on_part(st, p, data);
    }
    /* Usage comes on many chunks, growing; the last one counts. */
    if (!r && json_object_get(data, "usageMetadata"))
        lo_llm_gemini_usage_from_(&st->base.resp->usage, json_object_get(data, "usageMetadata"));
    const char *f = lo_llm_gemini_finish_of_(data);
    if (!r && f) {
        free(st->finish);
        if (!(st->finish = lo_strdup(f)))
            r = soom(st);
        else
            r = close_segments(st, data);
    }
    json_decref(data);
    return r;
}

/* The body ended: a finishReason must have come (Gemini has no closing
 * event), then FINISH goes out with the last one. */
static int at_end(lo_llm_stream_ *base)
{
    stream_state *st = (stream_state *)base;
    if (lo_sse_finish(base->sse) != 0 || !st->finish)
        return lo_llm_fail_(base->err, PROVIDER, LO_LLM_ERR_STREAM,
                            "the stream ended without a finishReason");
    if (lo_llm_gemini_set_finish_(base->resp, st->finish) != 0)
        return lo_llm_oom_(base->err, PROVIDER);
    return lo_llm_emit_finish_(base, NULL) ? base->rc : 0;
}

int lo_llm_gemini_stream_(const lo_llm_call *call, const lo_llm_request *req, lo_llm_event_fn fn,
                          void *ud, lo_llm_response **out, lo_llm_error *err)
{
    stream_state st = {.base = {.fn = fn, .ud = ud, .provider = PROVIDER, .err = err}};
    int rc = lo_llm_stream_run_(&lo_llm_gemini_wire_, &st.base, on_sse, at_end, call, req, out);
    free(st.finish);
    return rc;
}
