/* Stream translation for OpenAI-compatible Chat Completions servers: chunks
 * without event names, then data: [DONE]. Text and reasoning deltas become
 * segments, tool calls are assembled by index from their fragments.
 * openai_chat.c builds the request and parses responses; adapter_call.c
 * runs the exchange. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "adapter_internal.h"

#define PROVIDER "openai_chat"

/* Short names for the shared stream plumbing (adapter_internal.h). */
#define event_new lo_llm_event_new_
#define emit(st, ev) lo_llm_emit_(&(st)->base, (ev))
#define soom(st) lo_llm_soom_(&(st)->base)
#define event_str lo_llm_event_str_

/* A tool call being assembled from fragments, by its index: the id and
 * name come with the first fragment, the arguments in pieces. */
typedef struct call_acc {
    char *id, *name;
    lo_buf args;
} call_acc;

typedef struct stream_state {
    lo_llm_stream_ base; /* first: the SSE callback's ud is both */
    call_acc *calls;
    size_t n_calls;
    lo_buf text, reasoning;
    bool text_open, reasoning_open;
    bool started;
} stream_state;

static lo_llm_tool_call *tool_call_new(const call_acc *c, bool complete_args)
{
    return lo_llm_tool_call_new_(c->id, c->name, &c->args, complete_args);
}

static lo_llm_stream_event *call_event(lo_llm_stream_event_type t, const json_t *raw,
                                       const call_acc *c, const char *delta, bool complete)
{
    lo_llm_stream_event *ev = event_str(t, raw, offsetof(lo_llm_stream_event, delta), delta);
    if (ev && !(ev->tool_call = tool_call_new(c, complete))) {
        lo_llm_stream_event_free(ev);
        ev = NULL;
    }
    return ev;
}

#define TEXT_ID "0"

static int close_reasoning(stream_state *st)
{
    if (!st->reasoning_open)
        return 0;
    st->reasoning_open = false;
    if (lo_llm_message_add_thinking(st->base.resp->message,
                                    st->reasoning.data ? st->reasoning.data : "", NULL) != 0)
        return soom(st);
    return emit(st, event_new(LO_STREAM_REASONING_END, NULL));
}

static int close_text(stream_state *st)
{
    if (!st->text_open)
        return 0;
    st->text_open = false;
    if (lo_llm_message_add_text(st->base.resp->message, st->text.data ? st->text.data : "") != 0)
        return soom(st);
    return emit(st, event_str(LO_STREAM_TEXT_END, NULL, offsetof(lo_llm_stream_event, text_id),
                              TEXT_ID));
}

static int on_tool_fragment(stream_state *st, const json_t *chunk, const json_t *frag)
{
    /* No index: a server that sends each call whole, one after another. */
    size_t i = st->n_calls, old = st->n_calls;
    if (json_object_get(frag, "index") && !lo_llm_index_(frag, "index", 1000, &i))
        return lo_llm_sbad_(&st->base, "tool call index out of range");
    const json_t *fn = json_object_get(frag, "function");
    const char *args = lo_llm_jstr_(fn, "arguments");
    int r = 0;
    call_acc *v = lo_llm_grow_(st->calls, &st->n_calls, sizeof *v, i);
    if (!v)
        return soom(st);
    st->calls = v;
    for (size_t j = old; j < st->n_calls; j++)
        lo_buf_init(&v[j].args, 0);
    call_acc *c = &st->calls[i];
    if (!c->name) {
        if (!lo_llm_jstr_(fn, "name"))
            return lo_llm_sbad_(&st->base, "the first fragment of tool call %zu has no name", i);
        if ((r = close_reasoning(st)) || (r = close_text(st)))
            return r;
        c->name = lo_strdup(lo_llm_jstr_(fn, "name"));
        /* A server without ids (some local ones) gets one made up. */
        char made[32];
        snprintf(made, sizeof made, "call_%zu", i);
        c->id = lo_strdup(lo_llm_jstr_(frag, "id") ? lo_llm_jstr_(frag, "id") : made);
        if (!c->name || !c->id)
            return soom(st);
        if ((r = emit(st, call_event(LO_STREAM_TOOL_CALL_START, chunk, c, NULL, false))))
            return r;
    }
    if (args && *args) {
        if (lo_buf_puts(&c->args, args) != 0)
            return soom(st);
        return emit(st, call_event(LO_STREAM_TOOL_CALL_DELTA, chunk, c, args, false));
    }
    return 0;
}

static int on_chunk(stream_state *st, const json_t *chunk)
{
    int r = 0;
    if (!st->started) {
        st->started = true;
        if (lo_llm_set_ids_(st->base.resp, chunk, PROVIDER) != 0)
            return soom(st);
        if ((r = emit(st, event_new(LO_STREAM_START, chunk))))
            return r;
    }
    if (json_is_object(json_object_get(chunk, "error")))
        return lo_llm_sfail_(
            &st->base, lo_llm_chat_body_error_(json_object_get(chunk, "error"), st->base.err));
    lo_llm_chat_usage_from_(&st->base.resp->usage, json_object_get(chunk, "usage"));
    json_t *choice = json_array_get(json_object_get(chunk, "choices"), 0);
    json_t *delta = json_object_get(choice, "delta");
    const char *reasoning = lo_llm_chat_reasoning_of_(delta);
    if (reasoning && *reasoning) {
        if (!st->reasoning_open) {
            st->reasoning_open = true;
            if ((r = emit(st, event_new(LO_STREAM_REASONING_START, chunk))))
                return r;
        }
        if (lo_buf_puts(&st->reasoning, reasoning) != 0)
            return soom(st);
        if ((r = emit(st, event_str(LO_STREAM_REASONING_DELTA, chunk,
                                    offsetof(lo_llm_stream_event, reasoning_delta), reasoning))))
            return r;
    }
    const char *content = lo_llm_jstr_(delta, "content");
    if (content && *content) {
        if ((r = close_reasoning(st)))
            return r;
        if (!st->text_open) {
            st->text_open = true;
            if ((r = emit(st, event_str(LO_STREAM_TEXT_START, chunk,
                                        offsetof(lo_llm_stream_event, text_id), TEXT_ID))))
                return r;
        }
        if (lo_buf_puts(&st->text, content) != 0)
            return soom(st);
        lo_llm_stream_event *ev =
            event_str(LO_STREAM_TEXT_DELTA, chunk, offsetof(lo_llm_stream_event, delta), content);
        if (ev && !(ev->text_id = lo_strdup(TEXT_ID))) {
            lo_llm_stream_event_free(ev);
            ev = NULL;
        }
        if ((r = emit(st, ev)))
            return r;
    }
    size_t i;
    json_t *frag;
    json_array_foreach(json_object_get(delta, "tool_calls"), i, frag)
    {
        if ((r = on_tool_fragment(st, chunk, frag)))
            return r;
    }
    const char *fr = lo_llm_jstr_(choice, "finish_reason");
    if (fr && lo_llm_chat_set_finish_(st->base.resp, fr) != 0)
        return soom(st);
    return 0;
}

/* [DONE]: close what is open, add the calls, and finish. */
static int on_done(stream_state *st)
{
    int r;
    if ((r = close_reasoning(st)) || (r = close_text(st)))
        return r;
    for (size_t i = 0; i < st->n_calls; i++) {
        call_acc *c = &st->calls[i];
        if (!c->name)
            continue;
        if (lo_llm_message_add_tool_call(st->base.resp->message, c->id, c->name, NULL,
                                         c->args.len ? c->args.data : "{}") != 0)
            return soom(st);
        if ((r = emit(st, call_event(LO_STREAM_TOOL_CALL_END, NULL, c, NULL, true))))
            return r;
    }
    return lo_llm_emit_finish_(&st->base, NULL);
}

static int on_sse(const lo_sse_event *sev, void *ud)
{
    stream_state *st = ud;
    if (st->base.failed || st->base.done)
        return st->base.failed;
    if (sev->data_len == 6 && memcmp(sev->data, "[DONE]", 6) == 0) {
        if (!st->started) {
            st->started = true;
            if (lo_llm_set_ids_(st->base.resp, NULL, PROVIDER) != 0)
                return soom(st);
            if (emit(st, event_new(LO_STREAM_START, NULL)))
                return 1;
        }
        return on_done(st);
    }
    json_t *data = lo_llm_stream_json_(&st->base, sev);
    if (!data)
        return 1;
    int r = on_chunk(st, data);
    json_decref(data);
    return r;
}

int lo_llm_chat_stream_(const lo_llm_call *call, const lo_llm_request *req, lo_llm_event_fn fn,
                        void *ud, lo_llm_response **out, lo_llm_error *err)
{
    stream_state st = {.base = {.fn = fn, .ud = ud, .provider = PROVIDER, .err = err}};
    lo_buf_init(&st.text, 0);
    lo_buf_init(&st.reasoning, 0);
    int rc = lo_llm_stream_run_(&lo_llm_chat_wire_, &st.base, on_sse, NULL, call, req, out);
    for (size_t i = 0; i < st.n_calls; i++) {
        free(st.calls[i].id);
        free(st.calls[i].name);
        lo_buf_release(&st.calls[i].args);
    }
    free(st.calls);
    lo_buf_release(&st.text);
    lo_buf_release(&st.reasoning);
    return rc;
}
