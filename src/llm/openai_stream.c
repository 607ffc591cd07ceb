/* Stream translation for the OpenAI Responses API (§7.7): the typed
 * response.* events -> the unified start/delta/end events, output items
 * tracked by output_index and joined to the response when done. openai.c
 * builds the request and parses items and errors; adapter_call.c runs the
 * exchange. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "adapter_internal.h"

#define PROVIDER "openai"

/* Short names for the shared stream plumbing (adapter_internal.h). */
#define event_new lo_llm_event_new_
#define emit(st, ev) lo_llm_emit_(&(st)->base, (ev))
#define soom(st) lo_llm_soom_(&(st)->base)
#define event_with lo_llm_event_str_

typedef enum { I_MESSAGE, I_FUNCTION, I_REASONING, I_OTHER } item_kind;

/* One output item being streamed, by output_index. */
typedef struct item {
    bool open, text_started, reasoning_started;
    item_kind kind;
    char *id;      /* the item id (text_id of its text events) */
    char *call_id, *name;
    lo_buf args;   /* function_call arguments so far */
} item;

typedef struct stream_state {
    lo_llm_stream_ base; /* first: the SSE callback's ud is both */
    item *items;
    size_t n_items;
    bool started;
} stream_state;

static void item_release(item *it)
{
    free(it->id);
    free(it->call_id);
    free(it->name);
    lo_buf_release(&it->args);
}

static lo_llm_tool_call *tool_call_new(const item *it, bool complete_args)
{
    return lo_llm_tool_call_new_(it->call_id, it->name, &it->args, complete_args);
}

static item *item_at(stream_state *st, const json_t *data, bool create)
{
    size_t i, old = st->n_items;
    if (!lo_llm_index_(data, "output_index", 100000, &i) || (i >= old && !create))
        return NULL;
    item *v = lo_llm_grow_(st->items, &st->n_items, sizeof *v, i);
    if (!v)
        return NULL;
    st->items = v;
    for (size_t j = old; j < st->n_items; j++)
        lo_buf_init(&v[j].args, 0);
    return &v[i];
}

static int on_item_added(stream_state *st, const json_t *data)
{
    item *it = item_at(st, data, true);
    const json_t *obj = json_object_get(data, "item");
    if (!it || !json_is_object(obj))
        return lo_llm_sbad_(&st->base, "output_item.added without an item");
    item_release(it);
    memset(it, 0, sizeof *it);
    lo_buf_init(&it->args, 0);
    it->open = true;
    const char *type = lo_llm_jstr_(obj, "type");
    if (lo_llm_jstr_(obj, "id") && !(it->id = lo_strdup(lo_llm_jstr_(obj, "id"))))
        return soom(st);
    if (lo_str_eq(type, "message")) {
        it->kind = I_MESSAGE;
        return 0; /* TEXT_START comes with the first text */
    }
    if (lo_str_eq(type, "function_call")) {
        it->kind = I_FUNCTION;
        const char *cid =
            lo_llm_jstr_(obj, "call_id") ? lo_llm_jstr_(obj, "call_id") : lo_llm_jstr_(obj, "id");
        it->call_id = cid ? lo_strdup(cid) : NULL;
        it->name = lo_llm_jstr_(obj, "name") ? lo_strdup(lo_llm_jstr_(obj, "name")) : NULL;
        if (!it->call_id || !it->name)
            return lo_llm_sbad_(&st->base, "function_call item without call_id or name");
        lo_llm_stream_event *ev = event_new(LO_STREAM_TOOL_CALL_START, data);
        if (ev && !(ev->tool_call = tool_call_new(it, false))) {
            lo_llm_stream_event_free(ev);
            ev = NULL;
        }
        return emit(st, ev);
    }
    it->kind = lo_str_eq(type, "reasoning") ? I_REASONING : I_OTHER;
    return emit(st, event_new(LO_STREAM_PROVIDER_EVENT, data));
}

static int on_text_delta(stream_state *st, const json_t *data)
{
    item *it = item_at(st, data, false);
    if (!it || !it->open || it->kind != I_MESSAGE)
        return lo_llm_sbad_(&st->base, "output_text.delta for an item that is not an open message");
    const char *id = it->id ? it->id : lo_llm_jstr_(data, "item_id");
    if (!it->text_started) {
        it->text_started = true;
        int r = emit(st, event_with(LO_STREAM_TEXT_START, data,
                                    offsetof(lo_llm_stream_event, text_id), id));
        if (r)
            return r;
    }
    lo_llm_stream_event *ev =
        event_with(LO_STREAM_TEXT_DELTA, data, offsetof(lo_llm_stream_event, delta),
                   lo_llm_jstr_(data, "delta") ? lo_llm_jstr_(data, "delta") : "");
    if (ev && id && !(ev->text_id = lo_strdup(id))) {
        lo_llm_stream_event_free(ev);
        ev = NULL;
    }
    return emit(st, ev);
}

static int on_args_delta(stream_state *st, const json_t *data)
{
    item *it = item_at(st, data, false);
    if (!it || !it->open || it->kind != I_FUNCTION)
        return lo_llm_sbad_(&st->base,
                            "function_call_arguments.delta for an item that is not an open "
                            "function call");
    const char *d = lo_llm_jstr_(data, "delta") ? lo_llm_jstr_(data, "delta") : "";
    if (lo_buf_puts(&it->args, d) != 0)
        return soom(st);
    lo_llm_stream_event *ev =
        event_with(LO_STREAM_TOOL_CALL_DELTA, data, offsetof(lo_llm_stream_event, delta), d);
    if (ev && !(ev->tool_call = tool_call_new(it, false))) {
        lo_llm_stream_event_free(ev);
        ev = NULL;
    }
    return emit(st, ev);
}

static int on_reasoning_delta(stream_state *st, const json_t *data)
{
    item *it = item_at(st, data, false);
    if (it && it->open && it->kind == I_REASONING && !it->reasoning_started) {
        it->reasoning_started = true;
        int r = emit(st, event_new(LO_STREAM_REASONING_START, data));
        if (r)
            return r;
    }
    return emit(st, event_with(LO_STREAM_REASONING_DELTA, data,
                               offsetof(lo_llm_stream_event, reasoning_delta),
                               lo_llm_jstr_(data, "delta") ? lo_llm_jstr_(data, "delta") : ""));
}

/* An item is whole: its parts join the response (from the complete item,
 * which is authoritative) and its END event goes out. */
static int on_item_done(stream_state *st, const json_t *data)
{
    item *it = item_at(st, data, false);
    const json_t *obj = json_object_get(data, "item");
    if (!it || !it->open || !json_is_object(obj))
        return lo_llm_sbad_(&st->base, "output_item.done for an item that is not open");
    it->open = false;
    if (lo_llm_openai_add_item_(st->base.resp->message, obj) != 0)
        return soom(st);
    lo_llm_stream_event *ev = NULL;
    switch (it->kind) {
    case I_MESSAGE:
        if (!it->text_started)
            return 0;
        ev = event_with(LO_STREAM_TEXT_END, data, offsetof(lo_llm_stream_event, text_id),
                        it->id ? it->id : lo_llm_jstr_(obj, "id"));
        break;
    case I_FUNCTION: {
        const char *args = lo_llm_jstr_(obj, "arguments");
        if (args) {
            lo_buf_clear(&it->args);
            if (lo_buf_puts(&it->args, args) != 0)
                return soom(st);
        }
        if ((ev = event_new(LO_STREAM_TOOL_CALL_END, data)) &&
            !(ev->tool_call = tool_call_new(it, true))) {
            lo_llm_stream_event_free(ev);
            ev = NULL;
        }
        break;
    }
    case I_REASONING:
        if (!it->reasoning_started)
            return emit(st, event_new(LO_STREAM_PROVIDER_EVENT, data));
        ev = event_new(LO_STREAM_REASONING_END, data);
        break;
    case I_OTHER:
        ev = event_new(LO_STREAM_PROVIDER_EVENT, data);
        break;
    }
    return emit(st, ev);
}

static int on_finished(stream_state *st, const json_t *data)
{
    const json_t *resp = json_object_get(data, "response");
    lo_llm_response *r = st->base.resp;
    if (lo_llm_set_ids_(r, resp, PROVIDER) != 0 || lo_llm_openai_set_finish_(r, resp) != 0)
        return soom(st);
    lo_llm_openai_usage_from_(&r->usage, json_object_get(resp, "usage"));
    return lo_llm_emit_finish_(&st->base, data);
}

/* An error reported inside the stream, as an "error" event ({code,
 * message}) or response.failed (response.error): classified as the same
 * error would be over HTTP, by its code. */
static int stream_error(stream_state *st, const json_t *e, const char *fallback)
{
    const char *code = lo_llm_jstr_(e, "code");
    const char *msg = lo_llm_jstr_(e, "message") ? lo_llm_jstr_(e, "message") : fallback;
    int status = lo_str_eq(code, "rate_limit_exceeded")  ? 429
                 : lo_str_eq(code, "server_error")       ? 500
                 : lo_str_eq(code, "invalid_prompt")     ? 400
                 : lo_str_eq(code, "insufficient_quota") ? 429
                                                         : 0;
    lo_llm_error *err = st->base.err;
    lo_llm_error_from_http(err, PROVIDER, status, code, msg);
    lo_llm_openai_refine_kind_(err, code);
    err->status = 0; /* it came in the stream, not as an HTTP status */
    return lo_llm_sfail_(&st->base, LO_EIO);
}

static int on_sse(const lo_sse_event *sev, void *ud)
{
    stream_state *st = ud;
    const char *type;
    json_t *data = lo_llm_stream_typed_(&st->base, sev, &type);
    if (!data)
        return st->base.failed;
    int r = 0;
    if (strcmp(type, "response.created") == 0) {
        if (lo_llm_set_ids_(st->base.resp, json_object_get(data, "response"), PROVIDER) != 0) {
            r = soom(st);
        } else {
            st->started = true;
            r = emit(st, event_new(LO_STREAM_START, data));
        }
    } else if (strcmp(type, "error") == 0) {
        r = stream_error(st, data, "error event in stream");
    } else if (strcmp(type, "response.failed") == 0) {
        r = stream_error(st, json_object_get(json_object_get(data, "response"), "error"),
                         "the response failed");
    } else if (!st->started) {
        r = lo_llm_sbad_(&st->base, "stream event %s before response.created", type);
    } else if (strcmp(type, "response.output_item.added") == 0) {
        r = on_item_added(st, data);
    } else if (strcmp(type, "response.output_text.delta") == 0) {
        r = on_text_delta(st, data);
    } else if (strcmp(type, "response.function_call_arguments.delta") == 0) {
        r = on_args_delta(st, data);
    } else if (strcmp(type, "response.reasoning_summary_text.delta") == 0) {
        r = on_reasoning_delta(st, data);
    } else if (strcmp(type, "response.output_item.done") == 0) {
        r = on_item_done(st, data);
    } else if (strcmp(type, "response.completed") == 0 ||
               strcmp(type, "response.incomplete") == 0) {
        r = on_finished(st, data);
    } else if (strcmp(type, "response.function_call_arguments.done") == 0) {
        /* The whole arguments: they replace the deltas, which should match. */
        item *it = item_at(st, data, false);
        const char *args = lo_llm_jstr_(data, "arguments");
        if (it && it->kind == I_FUNCTION && args) {
            lo_buf_clear(&it->args);
            if (lo_buf_puts(&it->args, args) != 0)
                r = soom(st);
        }
    } else if (strcmp(type, "response.in_progress") != 0 &&
               strcmp(type, "response.content_part.added") != 0 &&
               strcmp(type, "response.content_part.done") != 0 &&
               strcmp(type, "response.output_text.done") != 0) {
        r = emit(st, event_new(LO_STREAM_PROVIDER_EVENT, data));
    }
    json_decref(data);
    return r;
}

int lo_llm_openai_stream_(const lo_llm_call *call, const lo_llm_request *req, lo_llm_event_fn fn,
                          void *ud, lo_llm_response **out, lo_llm_error *err)
{
    stream_state st = {.base = {.fn = fn, .ud = ud, .provider = PROVIDER, .err = err}};
    int rc = lo_llm_stream_run_(&lo_llm_openai_wire_, &st.base, on_sse, NULL, call, req, out);
    for (size_t i = 0; i < st.n_items; i++)
        item_release(&st.items[i]);
    free(st.items);
    return rc;
}
