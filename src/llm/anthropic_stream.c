/* Stream translation for the Anthropic Messages API (§7.7): SSE events
 * (message_start, content_block_start/delta/stop, message_delta,
 * message_stop, ping, error) -> the unified start/delta/end events, with
 * the response accumulated as it streams. anthropic.c builds the request
 * and parses errors; adapter_call.c runs the exchange. */
#include <stdio.h>
#include <string.h>

#include "adapter_internal.h"

#define PROVIDER "anthropic"

/* Short names for the shared stream plumbing (adapter_internal.h). */
#define event_new lo_llm_event_new_
#define emit(st, ev) lo_llm_emit_(&(st)->base, (ev))
#define soom(st) lo_llm_soom_(&(st)->base)

typedef enum block_kind { B_TEXT, B_THINKING, B_REDACTED, B_TOOL, B_OTHER } block_kind;

typedef struct block {
    block_kind kind;
    bool open;
    lo_buf text;  /* text, thinking text, or tool input JSON */
    lo_buf sig;   /* thinking signature */
    char *id, *name;
    json_t *raw;  /* the start block: OTHER and REDACTED */
} block;

typedef struct stream_state {
    lo_llm_stream_ base; /* first: the SSE callback's ud is both */
    block *blocks;
    size_t n_blocks;
    bool started;
} stream_state;

static void block_release(block *b)
{
    lo_buf_release(&b->text);
    lo_buf_release(&b->sig);
    free(b->id);
    free(b->name);
    json_decref(b->raw);
}

static lo_llm_tool_call *tool_call_new(const block *b, bool complete_args)
{
    return lo_llm_tool_call_new_(b->id, b->name, &b->text, complete_args);
}

static block *block_at(stream_state *st, const json_t *data, bool create)
{
    size_t i, old = st->n_blocks;
    if (!lo_llm_index_(data, "index", 100000, &i) || (i >= old && !create))
        return NULL;
    block *v = lo_llm_grow_(st->blocks, &st->n_blocks, sizeof *v, i);
    if (!v)
        return NULL;
    st->blocks = v;
    for (size_t j = old; j < st->n_blocks; j++) {
        lo_buf_init(&v[j].text, 0);
        lo_buf_init(&v[j].sig, 0);
    }
    return &v[i];
}

static char *index_id(const json_t *data)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld",
             (long long)json_integer_value(json_object_get(data, "index")));
    return lo_strdup(buf);
}

static int on_block_start(stream_state *st, const json_t *data)
{
    block *b = block_at(st, data, true);
    const json_t *cb = json_object_get(data, "content_block");
    if (!b || !json_is_object(cb))
        return lo_llm_sbad_(&st->base, "content_block_start without a block");
    block_release(b);
    memset(b, 0, sizeof *b);
    lo_buf_init(&b->text, 0);
    lo_buf_init(&b->sig, 0);
    b->open = true;
    const char *type = lo_llm_jstr_(cb, "type");
    lo_llm_stream_event *ev = NULL;
    if (lo_str_eq(type, "text")) {
        b->kind = B_TEXT;
        if (lo_llm_jstr_(cb, "text") && lo_buf_puts(&b->text, lo_llm_jstr_(cb, "text")) != 0)
            return soom(st);
        if ((ev = event_new(LO_STREAM_TEXT_START, data)) && !(ev->text_id = index_id(data))) {
            lo_llm_stream_event_free(ev);
            ev = NULL;
        }
    } else if (lo_str_eq(type, "thinking")) {
        b->kind = B_THINKING;
        ev = event_new(LO_STREAM_REASONING_START, data);
    } else if (lo_str_eq(type, "tool_use")) {
        b->kind = B_TOOL;
        b->id = lo_llm_jstr_(cb, "id") ? lo_strdup(lo_llm_jstr_(cb, "id")) : NULL;
        b->name = lo_llm_jstr_(cb, "name") ? lo_strdup(lo_llm_jstr_(cb, "name")) : NULL;
        if (!b->id || !b->name)
            return lo_llm_sbad_(&st->base, "tool_use block without id or name");
        if ((ev = event_new(LO_STREAM_TOOL_CALL_START, data)) &&
            !(ev->tool_call = tool_call_new(b, false))) {
            lo_llm_stream_event_free(ev);
            ev = NULL;
        }
    } else {
        b->kind = lo_str_eq(type, "redacted_thinking") ? B_REDACTED : B_OTHER;
        if (!(b->raw = json_deep_copy(cb)))
            return soom(st);
        ev = event_new(LO_STREAM_PROVIDER_EVENT, data);
    }
    return emit(st, ev);
}

static int on_block_delta(stream_state *st, const json_t *data)
{
    block *b = block_at(st, data, false);
    const json_t *d = json_object_get(data, "delta");
    if (!b || !b->open || !json_is_object(d))
        return lo_llm_sbad_(&st->base, "content_block_delta for a block that is not open");
    const char *type = lo_llm_jstr_(d, "type");
    lo_llm_stream_event *ev = NULL;
    if (lo_str_eq(type, "text_delta") && b->kind == B_TEXT) {
        const char *t = lo_llm_jstr_(d, "text") ? lo_llm_jstr_(d, "text") : "";
        if (lo_buf_puts(&b->text, t) != 0)
            return soom(st);
        if ((ev = event_new(LO_STREAM_TEXT_DELTA, data)) &&
            (!(ev->delta = lo_strdup(t)) || !(ev->text_id = index_id(data)))) {
            lo_llm_stream_event_free(ev);
            ev = NULL;
        }
    } else if (lo_str_eq(type, "thinking_delta") && b->kind == B_THINKING) {
        const char *t = lo_llm_jstr_(d, "thinking") ? lo_llm_jstr_(d, "thinking") : "";
        if (lo_buf_puts(&b->text, t) != 0)
            return soom(st);
        if ((ev = event_new(LO_STREAM_REASONING_DELTA, data)) &&
            !(ev->reasoning_delta = lo_strdup(t))) {
            lo_llm_stream_event_free(ev);
            ev = NULL;
        }
    } else if (lo_str_eq(type, "signature_delta") && b->kind == B_THINKING) {
        /* The signature is opaque: kept whole for the round trip, not shown. */
        if (lo_buf_puts(&b->sig,
                        lo_llm_jstr_(d, "signature") ? lo_llm_jstr_(d, "signature") : "") != 0)
            return soom(st);
        return 0;
    } else if (lo_str_eq(type, "input_json_delta") && b->kind == B_TOOL) {
        const char *t = lo_llm_jstr_(d, "partial_json") ? lo_llm_jstr_(d, "partial_json") : "";
        if (lo_buf_puts(&b->text, t) != 0)
            return soom(st);
        if ((ev = event_new(LO_STREAM_TOOL_CALL_DELTA, data)) &&
            (!(ev->delta = lo_strdup(t)) || !(ev->tool_call = tool_call_new(b, false)))) {
            lo_llm_stream_event_free(ev);
            ev = NULL;
        }
    } else {
        /* citations_delta and deltas of blocks we keep verbatim. */
        ev = event_new(LO_STREAM_PROVIDER_EVENT, data);
    }
    return emit(st, ev);
}

static int on_block_stop(stream_state *st, const json_t *data)
{
    block *b = block_at(st, data, false);
    if (!b || !b->open)
        return lo_llm_sbad_(&st->base, "content_block_stop for a block that is not open");
    b->open = false;
    lo_llm_message *m = st->base.resp->message;
    lo_llm_stream_event *ev = NULL;
    int rc = 0;
    switch (b->kind) {
    case B_TEXT:
        rc = lo_llm_message_add_text(m, b->text.data ? b->text.data : "");
        if (!rc && (ev = event_new(LO_STREAM_TEXT_END, data)) && !(ev->text_id = index_id(data))) {
            lo_llm_stream_event_free(ev);
            ev = NULL;
        }
        break;
    case B_THINKING:
        rc = lo_llm_message_add_thinking(m, b->text.data ? b->text.data : "",
                                         b->sig.len ? b->sig.data : NULL);
        if (!rc)
            ev = event_new(LO_STREAM_REASONING_END, data);
        break;
    case B_TOOL: {
        /* The arguments are whole now: parse them once, here. */
        const char *raw = b->text.len ? b->text.data : "{}";
        rc = lo_llm_message_add_tool_call(m, b->id, b->name, NULL, raw);
        if (!rc && (ev = event_new(LO_STREAM_TOOL_CALL_END, data)) &&
            !(ev->tool_call = tool_call_new(b, true))) {
            lo_llm_stream_event_free(ev);
            ev = NULL;
        }
        break;
    }
    case B_REDACTED:
        rc = lo_llm_jstr_(b->raw, "data")
                 ? lo_llm_message_add_redacted_thinking(m, lo_llm_jstr_(b->raw, "data"))
                 : lo_llm_message_add_other_(m, "redacted_thinking", b->raw);
        if (!rc)
            ev = event_new(LO_STREAM_PROVIDER_EVENT, data);
        break;
    case B_OTHER:
        rc = lo_llm_message_add_other_(m, lo_llm_jstr_(b->raw, "type"), b->raw);
        if (!rc)
            ev = event_new(LO_STREAM_PROVIDER_EVENT, data);
        break;
    }
    if (rc)
        return soom(st);
    return emit(st, ev);
}

static int on_message_start(stream_state *st, const json_t *data)
{
    json_t *msg = json_object_get(data, "message");
    if (lo_llm_set_ids_(st->base.resp, msg, PROVIDER) != 0)
        return soom(st);
    lo_llm_anthropic_usage_merge_(&st->base.resp->usage, json_object_get(msg, "usage"));
    st->started = true;
    return emit(st, event_new(LO_STREAM_START, data));
}

/* An error event inside the stream, classified as the same error over
 * HTTP would be. */
static int on_error_event(stream_state *st, const json_t *data)
{
    json_t *e = json_object_get(data, "error");
    const char *etype = lo_llm_jstr_(e, "type");
    lo_llm_error *err = st->base.err;
    lo_llm_error_from_http(err, PROVIDER, lo_llm_anthropic_status_of_type_(etype), etype,
                           lo_llm_jstr_(e, "message") ? lo_llm_jstr_(e, "message")
                                                      : "error event in stream");
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
    if (strcmp(type, "message_start") == 0) {
        r = on_message_start(st, data);
    } else if (strcmp(type, "error") == 0) {
        r = on_error_event(st, data);
    } else if (strcmp(type, "ping") == 0) {
        /* keep-alive */
    } else if (!st->started) {
        r = lo_llm_sbad_(&st->base, "stream event %s before message_start", type);
    } else if (strcmp(type, "content_block_start") == 0) {
        r = on_block_start(st, data);
    } else if (strcmp(type, "content_block_delta") == 0) {
        r = on_block_delta(st, data);
    } else if (strcmp(type, "content_block_stop") == 0) {
        r = on_block_stop(st, data);
    } else if (strcmp(type, "message_delta") == 0) {
        const char *sr = lo_llm_jstr_(json_object_get(data, "delta"), "stop_reason");
        if (sr && lo_llm_set_finish_(st->base.resp, PROVIDER, sr) != 0)
            r = soom(st);
        else
            lo_llm_anthropic_usage_merge_(&st->base.resp->usage, json_object_get(data, "usage"));
    } else if (strcmp(type, "message_stop") == 0) {
        r = lo_llm_emit_finish_(&st->base, data);
    } else {
        r = emit(st, event_new(LO_STREAM_PROVIDER_EVENT, data));
    }
    json_decref(data);
    return r;
}

int lo_llm_anthropic_stream_(const lo_llm_call *call, const lo_llm_request *req,
                             lo_llm_event_fn fn, void *ud, lo_llm_response **out,
                             lo_llm_error *err)
{
    stream_state st = {.base = {.fn = fn, .ud = ud, .provider = PROVIDER, .err = err}};
    int rc = lo_llm_stream_run_(&lo_llm_anthropic_wire_, &st.base, on_sse, NULL, call, req, out);
    for (size_t i = 0; i < st.n_blocks; i++)
        block_release(&st.blocks[i]);
    free(st.blocks);
    return rc;
}
