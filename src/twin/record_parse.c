/* Record mode, the reading half: what an upstream provider answered,
 * turned back into a provider-neutral tape entry, so a recorded exchange
 * replays through any twin. Each provider's body (JSON, or its stream:
 * Anthropic's and OpenAI's SSE events, Gemini's SSE or JSON array) becomes
 * {text, thinking, tool_calls, stop_reason, usage}; an error status becomes
 * a fault; anything that does not parse is kept as raw. */
#include <stdio.h>
#include <string.h>

#include "lightsout/net.h"
#include "twin/twin_internal.h"

#define jstr twin_jstr

/* ------------------------------------------------------------ pieces */

/* A neutral reply being assembled. */
typedef struct acc {
    lo_buf text, thinking;
    char *signature;
    json_t *calls;  /* [{name, arguments, id?}] */
    json_t *usage;  /* neutral usage, or NULL */
    const char *stop; /* borrowed from a body kept alive by the caller, or a literal */
    bool ok;        /* something was understood */
} acc;

static void acc_init(acc *a)
{
    memset(a, 0, sizeof *a);
    lo_buf_init(&a->text, 0);
    lo_buf_init(&a->thinking, 0);
    a->calls = json_array();
}

static void acc_release(acc *a)
{
    lo_buf_release(&a->text);
    lo_buf_release(&a->thinking);
    free(a->signature);
    json_decref(a->calls);
    json_decref(a->usage);
}

static void acc_signature(acc *a, const char *sig)
{
    if (sig && *sig && !a->signature)
        a->signature = lo_strdup(sig);
}

/* A tool call whose arguments are a JSON object or a JSON text of one. */
static void acc_call(acc *a, const char *name, const json_t *args, const char *id)
{
    json_t *obj = NULL;
    if (json_is_string(args))
        obj = json_loads(json_string_value(args), 0, NULL);
    else if (args)
        obj = json_incref((json_t *)args);
    if (!json_is_object(obj)) {
        json_decref(obj);
        obj = json_object(); /* the tape format wants an object */
    }
    json_t *c = json_pack("{s:s, s:o}", "name", name ? name : "", "arguments", obj);
    if (c && id && *id)
        json_object_set_new(c, "id", json_string(id));
    json_array_append_new(a->calls, c);
}

static void set_count(json_t *u, const char *key, const json_t *v)
{
    if (json_is_integer(v))
        json_object_set_new(u, key, json_integer(json_integer_value(v)));
}

/* The assembled reply; NULL when nothing was understood. */
static json_t *acc_reply(acc *a)
{
    if (!a->ok)
        return NULL;
    json_t *r = json_object();
    if (a->thinking.len || a->signature) {
        json_t *th = json_pack("{s:s}", "text", a->thinking.data ? a->thinking.data : "");
        if (a->signature)
            json_object_set_new(th, "signature", json_string(a->signature));
        json_object_set_new(r, "thinking", th);
    }
    if (a->text.len)
        json_object_set_new(r, "text", json_string(a->text.data));
    if (json_array_size(a->calls))
        json_object_set(r, "tool_calls", a->calls);
    if (a->stop)
        json_object_set_new(r, "stop_reason", json_string(a->stop));
    if (a->usage && json_object_size(a->usage))
        json_object_set(r, "usage", a->usage);
    if (!json_object_size(r))
        json_object_set_new(r, "text", json_string(""));
    return r;
}

/* ------------------------------------------------------------ Anthropic */

/* A Message's content, stop reason and usage. Usage: input_tokens is the
 * whole prompt, as tapes count it (Anthropic's own leaves the cache out). */
static void anthropic_message(acc *a, const json_t *msg)
{
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(msg, "content"), i, b) {
        const char *type = jstr(b, "type");
        if (lo_str_eq(type, "text")) {
            lo_buf_puts(&a->text, jstr(b, "text") ? jstr(b, "text") : "");
        } else if (lo_str_eq(type, "thinking")) {
            lo_buf_puts(&a->thinking, jstr(b, "thinking") ? jstr(b, "thinking") : "");
            acc_signature(a, jstr(b, "signature"));
        } else if (lo_str_eq(type, "tool_use")) {
            acc_call(a, jstr(b, "name"), json_object_get(b, "input"), jstr(b, "id"));
        }
    }
    const char *sr = jstr(msg, "stop_reason");
    /* the defaults (end_turn, tool_use) are what a tape implies */
    if (sr && strcmp(sr, "end_turn") && strcmp(sr, "tool_use"))
        a->stop = sr;
    const json_t *u = json_object_get(msg, "usage");
    if (json_is_object(u)) {
        json_t *nu = json_object();
        json_int_t in = json_integer_value(json_object_get(u, "input_tokens")),
                   cr = json_integer_value(json_object_get(u, "cache_read_input_tokens")),
                   cw = json_integer_value(json_object_get(u, "cache_creation_input_tokens"));
        json_object_set_new(nu, "input_tokens", json_integer(in + cr + cw));
        set_count(nu, "output_tokens", json_object_get(u, "output_tokens"));
        if (cr)
            json_object_set_new(nu, "cache_read_tokens", json_integer(cr));
        if (cw)
            json_object_set_new(nu, "cache_write_tokens", json_integer(cw));
        json_decref(a->usage);
        a->usage = nu;
    }
    a->ok = true;
}

/* ------------------------------------------------------------ OpenAI */

/* Both APIs' usage, under their names: input (cached included), output,
 * and details.cached_tokens. */
static void openai_usage(acc *a, const json_t *u, const char *in, const char *out,
                         const char *details)
{
    if (!json_is_object(u))
        return;
    json_t *nu = json_object();
    set_count(nu, "input_tokens", json_object_get(u, in));
    set_count(nu, "output_tokens", json_object_get(u, out));
    const json_t *c = json_object_get(json_object_get(u, details), "cached_tokens");
    if (json_integer_value(c))
        set_count(nu, "cache_read_tokens", c);
    json_decref(a->usage);
    a->usage = nu;
}

static void openai_response(acc *a, const json_t *resp)
{
    size_t i, j;
    json_t *it, *p;
    json_array_foreach(json_object_get(resp, "output"), i, it) {
        const char *type = jstr(it, "type");
        if (lo_str_eq(type, "message")) {
            json_array_foreach(json_object_get(it, "content"), j, p)
                if (lo_str_eq(jstr(p, "type"), "output_text"))
                    lo_buf_puts(&a->text, jstr(p, "text") ? jstr(p, "text") : "");
        } else if (lo_str_eq(type, "reasoning")) {
            json_array_foreach(json_object_get(it, "summary"), j, p)
                lo_buf_puts(&a->thinking, jstr(p, "text") ? jstr(p, "text") : "");
            acc_signature(a, jstr(it, "encrypted_content"));
        } else if (lo_str_eq(type, "function_call")) {
            acc_call(a, jstr(it, "name"), json_object_get(it, "arguments"), jstr(it, "call_id"));
        }
    }
    if (lo_str_eq(jstr(resp, "status"), "incomplete"))
        a->stop = "max_tokens";
    openai_usage(a, json_object_get(resp, "usage"), "input_tokens", "output_tokens",
                 "input_tokens_details");
    a->ok = true;
}

static const char *neutral_finish(const char *fr)
{
    if (lo_str_eq(fr, "length"))
        return "max_tokens";
    if (lo_str_eq(fr, "content_filter"))
        return "content_filter";
    return NULL; /* stop and tool_calls are what a tape implies */
}

static void chat_usage(acc *a, const json_t *u)
{
    openai_usage(a, u, "prompt_tokens", "completion_tokens", "prompt_tokens_details");
}

static void chat_completion(acc *a, const json_t *cc)
{
    const json_t *ch = json_array_get(json_object_get(cc, "choices"), 0);
    const json_t *m = json_object_get(ch, "message");
    if (jstr(m, "content"))
        lo_buf_puts(&a->text, jstr(m, "content"));
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(m, "tool_calls"), i, tc) {
        const json_t *fn = json_object_get(tc, "function");
        acc_call(a, jstr(fn, "name"), json_object_get(fn, "arguments"), jstr(tc, "id"));
    }
    a->stop = neutral_finish(jstr(ch, "finish_reason"));
    chat_usage(a, json_object_get(cc, "usage"));
    a->ok = true;
}

/* ------------------------------------------------------------ Gemini */

static void gemini_chunk(acc *a, const json_t *r)
{
    const json_t *cand = json_array_get(json_object_get(r, "candidates"), 0);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(json_object_get(cand, "content"), "parts"), i, p) {
        const json_t *fc = twin_gemini_get(p, "functionCall", "function_call");
        acc_signature(a, jstr(p, "thoughtSignature") ? jstr(p, "thoughtSignature")
                                                     : jstr(p, "thought_signature"));
        if (fc)
            acc_call(a, jstr(fc, "name"), json_object_get(fc, "args"), jstr(fc, "id"));
        else if (jstr(p, "text") && json_is_true(json_object_get(p, "thought")))
            lo_buf_puts(&a->thinking, jstr(p, "text"));
        else if (jstr(p, "text"))
            lo_buf_puts(&a->text, jstr(p, "text"));
    }
    const char *fr = jstr(cand, "finishReason");
    if (fr)
        a->stop = lo_str_eq(fr, "MAX_TOKENS") ? "max_tokens" : lo_str_eq(fr, "STOP") ? NULL : fr;
    const json_t *u = json_object_get(r, "usageMetadata");
    if (json_is_object(u)) {
        json_t *nu = json_object();
        set_count(nu, "input_tokens", json_object_get(u, "promptTokenCount"));
        json_int_t out = json_integer_value(json_object_get(u, "candidatesTokenCount")) +
                         json_integer_value(json_object_get(u, "thoughtsTokenCount"));
        json_object_set_new(nu, "output_tokens", json_integer(out));
        if (json_integer_value(json_object_get(u, "cachedContentTokenCount")))
            set_count(nu, "cache_read_tokens", json_object_get(u, "cachedContentTokenCount"));
        json_decref(a->usage);
        a->usage = nu;
    }
    a->ok = true;
}

/* ------------------------------------------------------------ streams */

/* Anthropic's and OpenAI's events, and Gemini's SSE chunks, as they arrive. */
typedef struct sse_state {
    twin_record_kind kind;
    acc *a;
    json_t *msg;       /* Anthropic: the message being built */
    json_t *blocks;    /* Anthropic: per index, the partial tool input JSON */
    json_t *chat_calls; /* Chat: per index {id, name, arguments text} */
    const char *stop;  /* kept alive by holding the data below */
    json_t *keep;      /* events whose strings acc points into */
} sse_state;

static void anthropic_event(sse_state *s, const json_t *d)
{
    const char *type = jstr(d, "type");
    if (lo_str_eq(type, "message_start")) {
        json_decref(s->msg);
        s->msg = json_deep_copy(json_object_get(d, "message"));
        json_object_set_new(s->msg, "content", json_array());
    } else if (!s->msg) {
        return;
    } else if (lo_str_eq(type, "content_block_start")) {
        json_array_append(json_object_get(s->msg, "content"),
                          json_object_get(d, "content_block"));
        json_array_append_new(s->blocks, json_string(""));
    } else if (lo_str_eq(type, "content_block_delta")) {
        size_t i = (size_t)json_integer_value(json_object_get(d, "index"));
        json_t *b = json_array_get(json_object_get(s->msg, "content"), i);
        const json_t *delta = json_object_get(d, "delta");
        const char *dt = jstr(delta, "type");
        const char *field = lo_str_eq(dt, "text_delta")        ? "text"
                            : lo_str_eq(dt, "thinking_delta")  ? "thinking"
                            : lo_str_eq(dt, "signature_delta") ? "signature"
                                                               : NULL;
        if (b && field) {
            lo_buf t;
            lo_buf_init(&t, 0);
            lo_buf_puts(&t, jstr(b, field) ? jstr(b, field) : "");
            lo_buf_puts(&t, jstr(delta, field) ? jstr(delta, field) : "");
            json_object_set_new(b, field, json_string(t.data ? t.data : ""));
            lo_buf_release(&t);
        } else if (b && lo_str_eq(dt, "input_json_delta")) {
            lo_buf t;
            lo_buf_init(&t, 0);
            lo_buf_puts(&t, json_string_value(json_array_get(s->blocks, i)));
            lo_buf_puts(&t, jstr(delta, "partial_json") ? jstr(delta, "partial_json") : "");
            json_array_set_new(s->blocks, i, json_string(t.data ? t.data : ""));
            lo_buf_release(&t);
        }
    } else if (lo_str_eq(type, "content_block_stop")) {
        size_t i = (size_t)json_integer_value(json_object_get(d, "index"));
        json_t *b = json_array_get(json_object_get(s->msg, "content"), i);
        const char *js = json_string_value(json_array_get(s->blocks, i));
        if (b && lo_str_eq(jstr(b, "type"), "tool_use") && js && *js)
            json_object_set_new(b, "input", json_loads(js, 0, NULL));
    } else if (lo_str_eq(type, "message_delta")) {
        const json_t *delta = json_object_get(d, "delta");
        if (json_object_get(delta, "stop_reason"))
            json_object_set(s->msg, "stop_reason", json_object_get(delta, "stop_reason"));
        const json_t *u = json_object_get(d, "usage");
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)u, k, v)
            json_object_set(json_object_get(s->msg, "usage"), k, v);
    }
}

static void chat_chunk(sse_state *s, const json_t *d)
{
    const json_t *ch = json_array_get(json_object_get(d, "choices"), 0);
    const json_t *delta = json_object_get(ch, "delta");
    if (jstr(delta, "content"))
        lo_buf_puts(&s->a->text, jstr(delta, "content"));
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(delta, "tool_calls"), i, tc) {
        size_t idx = (size_t)json_integer_value(json_object_get(tc, "index"));
        while (json_array_size(s->chat_calls) <= idx)
            json_array_append_new(s->chat_calls, json_pack("{s:s, s:s, s:s}", "id", "", "name",
                                                           "", "arguments", ""));
        json_t *c = json_array_get(s->chat_calls, idx);
        const json_t *fn = json_object_get(tc, "function");
        if (jstr(tc, "id"))
            json_object_set(c, "id", json_object_get(tc, "id"));
        if (jstr(fn, "name"))
            json_object_set(c, "name", json_object_get(fn, "name"));
        if (jstr(fn, "arguments")) {
            lo_buf t;
            lo_buf_init(&t, 0);
            lo_buf_puts(&t, jstr(c, "arguments"));
            lo_buf_puts(&t, jstr(fn, "arguments"));
            json_object_set_new(c, "arguments", json_string(t.data ? t.data : ""));
            lo_buf_release(&t);
        }
    }
    if (jstr(ch, "finish_reason"))
        s->a->stop = neutral_finish(jstr(ch, "finish_reason"));
    if (json_is_object(json_object_get(d, "usage")))
        chat_usage(s->a, json_object_get(d, "usage"));
    s->a->ok = true;
}

static int on_sse(const lo_sse_event *ev, void *ud)
{
    sse_state *s = ud;
    json_t *d = json_loadb(ev->data, ev->data_len, 0, NULL);
    if (!d)
        return 0; /* "[DONE]" and the like */
    switch (s->kind) {
    case TWIN_RECORD_ANTHROPIC: anthropic_event(s, d); break;
    case TWIN_RECORD_RESPONSES: {
        const char *type = jstr(d, "type");
        if (lo_str_eq(type, "response.completed") || lo_str_eq(type, "response.incomplete") ||
            lo_str_eq(type, "response.failed"))
            openai_response(s->a, json_object_get(d, "response"));
        break;
    }
    case TWIN_RECORD_CHAT: chat_chunk(s, d); break;
    case TWIN_RECORD_GEMINI: gemini_chunk(s->a, d); break;
    default: break;
    }
    /* acc may point into d (stop reasons): keep it until the end */
    json_array_append_new(s->keep, d);
    return 0;
}

static void parse_stream(twin_record_kind kind, const char *body, size_t len, acc *a,
                         json_t *keep)
{
    sse_state s = {.kind = kind, .a = a, .blocks = json_array(), .chat_calls = json_array(),
                   .keep = keep};
    lo_sse *p = lo_sse_new(on_sse, &s, 0);
    if (p) {
        lo_sse_feed(p, body, len);
        lo_sse_finish(p);
        lo_sse_free(p);
    }
    if (kind == TWIN_RECORD_ANTHROPIC && s.msg)
        anthropic_message(a, s.msg);
    size_t i;
    json_t *c;
    json_array_foreach(s.chat_calls, i, c)
        acc_call(a, jstr(c, "name"), json_object_get(c, "arguments"), jstr(c, "id"));
    /* the message keeps strings acc points to */
    if (s.msg)
        json_array_append_new(keep, s.msg);
    json_decref(s.blocks);
    json_decref(s.chat_calls);
}

/* ------------------------------------------------------------ entries */

twin_record_kind twin_record_kind_of(const char *path)
{
    if (lo_str_eq(path, "/v1/messages"))
        return TWIN_RECORD_ANTHROPIC;
    if (lo_str_eq(path, "/v1/responses"))
        return TWIN_RECORD_RESPONSES;
    if (lo_str_eq(path, "/v1/chat/completions"))
        return TWIN_RECORD_CHAT;
    if (lo_str_starts(path, "/v1beta/models/") &&
        (strstr(path, ":generateContent") || strstr(path, ":streamGenerateContent")))
        return TWIN_RECORD_GEMINI;
    return TWIN_RECORD_NONE;
}

/* The request's match: path, model, message count, the last user text and
 * tool result, as the replaying twin's view will see them. */
static json_t *match_of(twin_record_kind kind, const char *path, const json_t *req)
{
    twin_view v;
    twin_view_init(&v);
    char model[200] = "";
    if (kind == TWIN_RECORD_ANTHROPIC)
        twin_anthropic_view(req, &v);
    else if (kind == TWIN_RECORD_RESPONSES || kind == TWIN_RECORD_CHAT)
        twin_openai_view(req, kind == TWIN_RECORD_CHAT ? TWIN_CHAT : TWIN_RESPONSES, &v);
    else
        twin_gemini_view(req, &v);
    if (kind == TWIN_RECORD_GEMINI) {
        const char *name = path + strlen("/v1beta/models/");
        snprintf(model, sizeof model, "%.*s", (int)strcspn(name, ":"), name);
    } else if (jstr(req, "model")) {
        snprintf(model, sizeof model, "%s", jstr(req, "model"));
    }
    /* Gemini's path says stream or not, a client's choice: the model in it
     * is what matters, and match.model has it */
    json_t *m = json_pack("{s:s, s:I}", "model", model, "messages", (json_int_t)v.messages);
    if (m && kind != TWIN_RECORD_GEMINI)
        json_object_set_new(m, "path", json_string(path));
    if (v.user.len)
        json_object_set_new(m, "user", json_string(v.user.data));
    if (v.has_result)
        json_object_set_new(m, "tool_result", json_string(v.result.data ? v.result.data : ""));
    twin_view_release(&v);
    return m;
}

json_t *twin_record_entry(twin_record_kind kind, const char *path, const json_t *req,
                          long status, const char *body, size_t len, long retry_after,
                          const char *comment)
{
    json_t *e = json_pack("{s:s, s:o}", "comment", comment, "match", match_of(kind, path, req));
    if (!e)
        return NULL;
    if (status >= 400) {
        json_t *f = json_pack("{s:i}", "status", (int)(status > 599 ? 599 : status));
        if (retry_after >= 0)
            json_object_set_new(f, "retry_after", json_integer(retry_after));
        json_object_set_new(e, "fault", f);
        return e;
    }
    acc a;
    acc_init(&a);
    json_t *keep = json_array();
    json_t *whole = json_loadb(body, len, 0, NULL);
    if (json_is_object(whole)) {
        if (kind == TWIN_RECORD_ANTHROPIC)
            anthropic_message(&a, whole);
        else if (kind == TWIN_RECORD_RESPONSES)
            openai_response(&a, whole);
        else if (kind == TWIN_RECORD_CHAT)
            chat_completion(&a, whole);
        else
            gemini_chunk(&a, whole);
    } else if (json_is_array(whole)) {
        /* Gemini's streamGenerateContent without alt=sse */
        size_t i;
        json_t *c;
        json_array_foreach(whole, i, c) gemini_chunk(&a, c);
    } else {
        parse_stream(kind, body, len, &a, keep);
    }
    json_t *r = acc_reply(&a);
    if (r) {
        json_object_set_new(e, "reply", r);
    } else {
        /* not understood: served back byte for byte */
        char *clean = whole ? NULL : lo_utf8_clean(body, len);
        json_object_set_new(e, "raw", whole ? json_incref(whole) : json_string(clean ? clean : ""));
        free(clean);
    }
    json_decref(whole);
    json_decref(keep);
    acc_release(&a);
    return e;
}
