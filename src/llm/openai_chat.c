/* The Chat Completions adapter for OpenAI-compatible servers (vLLM,
 * llama.cpp server, Ollama, LM Studio, OpenRouter; unified-llm-spec §7.10):
 * provider "openai_chat", POST {base}/chat/completions. The configuration
 * (client.c) falls back on OpenAI's variables and allows no key for a local
 * server, which then gets no Authorization header. Errors and rate-limit
 * headers follow OpenAI's conventions, as the compatible servers copy them;
 * the helpers for them are shared with openai.c (adapter_util.c). The
 * client retries; this file never does. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "lightsout/http.h"
#include "lightsout/llm.h"
#include "lightsout/net.h"

#include "adapter_internal.h"

#define PROVIDER "openai_chat"

/* ---- small helpers (shared ones in adapter_internal.h) ---- */

#define fail(err, kind, ...) lo_llm_fail_((err), PROVIDER, (kind), __VA_ARGS__)
#define oom(err) lo_llm_oom_((err), PROVIDER)

/* ---- request translation (Chat Completions) ---- */

/* One user-side content part: text, image_url or input_audio. NULL with
 * *rc == 0 for a part the API has no place for (dropped). */
static json_t *content_part(const lo_llm_part *p, lo_llm_error *err, int *rc)
{
    json_t *c = json_object();
    if (!c)
        return *rc = oom(err), NULL;
    bool ok = true;
    if (p->kind == LO_CONTENT_TEXT) {
        ok = lo_llm_put_(c, "type", json_string("text")) &&
             lo_llm_put_(c, "text", json_string(p->text));
    } else if (p->kind == LO_CONTENT_IMAGE) {
        char *u = lo_llm_media_url_(&p->media, p->kind, err, rc, PROVIDER);
        if (!u) {
            json_decref(c);
            return NULL;
        }
        json_t *iu = json_object();
        ok = lo_llm_put_(c, "type", json_string("image_url")) && lo_llm_put_(c, "image_url", iu) &&
             lo_llm_put_(iu, "url", json_string(u)) &&
             (!p->media.detail || lo_llm_put_(iu, "detail", json_string(p->media.detail)));
        free(u);
    } else {
        /* Documents and audio have no portable Chat Completions form
         * across compatible servers. */
        json_decref(c);
        *rc = fail(err, LO_LLM_ERR_INVALID_REQUEST, "%s input is not supported by the %s adapter",
                   lo_llm_content_kind_name(p->kind), PROVIDER);
        return NULL;
    }
    if (!ok) {
        json_decref(c);
        return *rc = oom(err), NULL;
    }
    return c;
}

static char *result_text(const lo_llm_tool_result *tr)
{
    const char *s = json_string_value(tr->content);
    if (s)
        return lo_strdup(s);
    return tr->content ? json_dumps(tr->content, JSON_COMPACT | JSON_ENCODE_ANY) : lo_strdup("");
}

static char *arguments_text(const lo_llm_tool_call *tc)
{
    return tc->raw_arguments ? lo_strdup(tc->raw_arguments)
           : tc->arguments   ? json_dumps(tc->arguments, JSON_COMPACT)
                             : lo_strdup("{}");
}

/* One unified message -> chat messages. Tool results become "tool" role
 * messages, one per result; text-only content travels as a plain string,
 * which every compatible server accepts (some refuse arrays). */
static int chat_messages(json_t *msgs, const lo_llm_message *m, lo_llm_error *err)
{
    int rc = 0;
    bool ok = true;
    size_t n_text = 0, n_media = 0;
    for (size_t j = 0; j < m->n_parts; j++) {
        lo_llm_content_kind k = m->parts[j].kind;
        n_text += k == LO_CONTENT_TEXT;
        n_media += k == LO_CONTENT_IMAGE || k == LO_CONTENT_AUDIO || k == LO_CONTENT_DOCUMENT;
    }
    for (size_t j = 0; ok && j < m->n_parts; j++) {
        const lo_llm_part *p = &m->parts[j];
        if (p->kind != LO_CONTENT_TOOL_RESULT)
            continue;
        char *out = result_text(&p->tool_result);
        json_t *tm = json_object();
        ok = lo_llm_push_if_(
            msgs, tm,
            out && lo_llm_put_(tm, "role", json_string("tool")) &&
                lo_llm_put_(tm, "tool_call_id", json_string(p->tool_result.tool_call_id)) &&
                lo_llm_put_(tm, "content", json_string(out)));
        free(out);
    }
    if (!ok)
        return oom(err);
    if (m->role == LO_ROLE_TOOL || (n_text == 0 && n_media == 0 && m->role != LO_ROLE_ASSISTANT))
        return 0;

    /* Many compatible servers know no "developer" role: it goes as system. */
    const char *role = m->role == LO_ROLE_ASSISTANT ? "assistant"
                       : m->role == LO_ROLE_USER    ? "user"
                                                    : "system";
    json_t *msg = json_object();
    ok = lo_llm_put_(msg, "role", json_string(role));
    if (ok && m->name)
        ok = lo_llm_put_(msg, "name", json_string(m->name));
    if (ok && (n_media == 0 || m->role != LO_ROLE_USER)) {
        lo_buf b;
        lo_buf_init(&b, 0);
        for (size_t j = 0; ok && j < m->n_parts; j++)
            if (m->parts[j].kind == LO_CONTENT_TEXT)
                ok = lo_buf_puts(&b, m->parts[j].text) == 0;
        if (ok)
            ok = lo_llm_put_(msg, "content",
                             n_text ? json_string(b.data ? b.data : "") : json_null());
        lo_buf_release(&b);
    } else if (ok) {
        json_t *content = json_array();
        ok = lo_llm_put_(msg, "content", content);
        for (size_t j = 0; ok && !rc && j < m->n_parts; j++) {
            json_t *c = content_part(&m->parts[j], err, &rc);
            if (c)
                ok = lo_llm_push_(content, c);
        }
    }
    if (ok && !rc && m->role == LO_ROLE_ASSISTANT) {
        json_t *calls = NULL;
        for (size_t j = 0; ok && j < m->n_parts; j++) {
            const lo_llm_part *p = &m->parts[j];
            if (p->kind != LO_CONTENT_TOOL_CALL)
                continue;
            if (!calls)
                ok = lo_llm_put_(msg, "tool_calls", calls = json_array());
            char *args = arguments_text(&p->tool_call);
            json_t *tc = json_object(), *fn = json_object();
            ok = ok && args && lo_llm_put_(tc, "function", fn) &&
                 lo_llm_put_(fn, "name", json_string(p->tool_call.name)) &&
                 lo_llm_put_(fn, "arguments", json_string(args)) &&
                 lo_llm_put_(tc, "id", json_string(p->tool_call.id)) &&
                 lo_llm_put_(tc, "type", json_string("function"));
            free(args);
            ok = lo_llm_push_if_(calls, tc, ok);
        }
        /* An assistant turn with neither text nor calls has nothing to say. */
        if (ok && !calls && n_text == 0) {
            json_decref(msg);
            return 0;
        }
    }
    if (rc || !ok) {
        json_decref(msg);
        return rc ? rc : oom(err);
    }
    return lo_llm_push_(msgs, msg) ? 0 : oom(err);
}

/* provider_options.openai_chat.max_tokens_param: "max_tokens" (the
 * default: what vLLM, llama.cpp, Ollama and LM Studio read) or
 * "max_completion_tokens" (what OpenAI's own reasoning models demand). A
 * request with a reasoning effort defaults to the latter. */
static const char *max_tokens_param(const lo_llm_request *req, json_t *opts)
{
    const char *p = lo_llm_jstr_(opts, "max_tokens_param");
    if (lo_str_eq(p, "max_tokens") || lo_str_eq(p, "max_completion_tokens"))
        return p;
    return req->reasoning_effort ? "max_completion_tokens" : "max_tokens";
}

static int build_body(const lo_llm_request *req, bool streaming, json_t **out, lo_llm_error *err)
{
    *out = NULL;
    json_t *body = json_object(), *msgs = json_array();
    bool ok = body && msgs && lo_llm_put_(body, "model", json_string(req->model));
    int rc = 0;
    for (size_t i = 0; ok && !rc && i < req->n_messages; i++)
        rc = chat_messages(msgs, req->messages[i], err);
    if (rc || !ok) {
        json_decref(body);
        json_decref(msgs);
        return rc ? rc : oom(err);
    }
    ok = lo_llm_put_(body, "messages", msgs);
    json_t *opts = json_object_get(req->provider_options, PROVIDER);
    if (!json_is_object(opts))
        opts = NULL;
    if (ok && req->has_max_tokens)
        ok = lo_llm_put_(body, max_tokens_param(req, opts), json_integer(req->max_tokens));
    if (ok && req->reasoning_effort)
        ok = lo_llm_put_(body, "reasoning_effort", json_string(req->reasoning_effort));
    if (ok && req->has_temperature)
        ok = lo_llm_put_(body, "temperature", json_real(req->temperature));
    if (ok && req->has_top_p)
        ok = lo_llm_put_(body, "top_p", json_real(req->top_p));
    if (ok && req->n_stop) {
        json_t *st = json_array();
        ok = lo_llm_put_(body, "stop", st);
        for (size_t i = 0; ok && i < req->n_stop; i++)
            ok = lo_llm_push_(st, json_string(req->stop[i]));
    }
    if (ok && req->response_format.type == LO_FORMAT_JSON) {
        json_t *rf = json_object();
        ok = lo_llm_put_(body, "response_format", rf) &&
             lo_llm_put_(rf, "type", json_string("json_object"));
    } else if (ok && req->response_format.type == LO_FORMAT_JSON_SCHEMA) {
        json_t *rf = json_object(), *js = json_object();
        ok = lo_llm_put_(body, "response_format", rf) &&
             lo_llm_put_(rf, "type", json_string("json_schema")) &&
             lo_llm_put_(rf, "json_schema", js) &&
             lo_llm_put_(js, "name", json_string("response")) &&
             lo_llm_put_(js, "schema", json_deep_copy(req->response_format.schema)) &&
             lo_llm_put_(js, "strict", json_boolean(req->response_format.strict));
    }
    if (ok && req->n_tools) {
        json_t *tools = json_array();
        ok = lo_llm_put_(body, "tools", tools);
        for (size_t i = 0; ok && i < req->n_tools; i++) {
            const lo_llm_tool *t = &req->tools[i];
            json_t *tj = json_object(), *fn = json_object();
            json_t *schema = t->parameters ? json_deep_copy(t->parameters) : NULL;
            if (!schema && (schema = json_object()))
                lo_llm_put_(schema, "type", json_string("object"));
            ok = lo_llm_put_(tj, "function", fn) && lo_llm_put_(fn, "parameters", schema);
            ok = lo_llm_push_if_(tools, tj,
                                 ok && lo_llm_put_(tj, "type", json_string("function")) &&
                                     lo_llm_put_(fn, "name", json_string(t->name)) &&
                                     (!t->description || !*t->description ||
                                      lo_llm_put_(fn, "description", json_string(t->description))));
        }
    }
    if (ok && req->has_tool_choice) {
        if (req->tool_choice.mode == LO_TOOL_CHOICE_NAMED && !req->n_tools) {
            json_decref(body);
            return fail(err, LO_LLM_ERR_INVALID_REQUEST,
                        "tool_choice names tool \"%s\" but the request defines no tools",
                        req->tool_choice.tool_name);
        }
        if (req->tool_choice.mode == LO_TOOL_CHOICE_NAMED) {
            json_t *tc = json_object(), *fn = json_object();
            ok = lo_llm_put_(body, "tool_choice", tc) &&
                 lo_llm_put_(tc, "type", json_string("function")) &&
                 lo_llm_put_(tc, "function", fn) &&
                 lo_llm_put_(fn, "name", json_string(req->tool_choice.tool_name));
        } else if (req->n_tools) {
            /* Without tools a choice means nothing, and some servers
             * reject one. */
            ok = lo_llm_put_(body, "tool_choice",
                             json_string(req->tool_choice.mode == LO_TOOL_CHOICE_NONE ? "none"
                                         : req->tool_choice.mode == LO_TOOL_CHOICE_REQUIRED
                                             ? "required"
                                             : "auto"));
        }
    }
    if (ok && streaming) {
        /* include_usage: the usage arrives in a last chunk before [DONE]. */
        json_t *so = json_object();
        ok = lo_llm_put_(body, "stream", json_true()) && lo_llm_put_(body, "stream_options", so) &&
             lo_llm_put_(so, "include_usage", json_true());
    }
    /* provider_options.openai_chat goes into the body as given (top_k,
     * seed, a server's own extensions), over the translation;
     * max_tokens_param is ours. */
    const char *key;
    json_t *val;
    json_object_foreach(opts, key, val)
    {
        if (ok && strcmp(key, "max_tokens_param") != 0)
            ok = json_object_set(body, key, val) == 0;
    }
    if (!ok) {
        json_decref(body);
        return oom(err);
    }
    *out = body;
    return 0;
}

/* ---- response translation ---- */

static int64_t count(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (int64_t)json_integer_value(v)
                                                           : LO_TOKENS_UNREPORTED;
}

/* prompt_tokens includes cached tokens; llm.h wants them apart. */
static void usage_from(lo_llm_usage *u, const json_t *uj)
{
    if (!json_is_object(uj))
        return;
    int64_t in = count(uj, "prompt_tokens"), out = count(uj, "completion_tokens");
    int64_t cached = count(json_object_get(uj, "prompt_tokens_details"), "cached_tokens");
    u->cache_read_tokens = cached;
    u->input_tokens = in >= 0 && cached > 0 ? (in > cached ? in - cached : 0) : in;
    u->output_tokens = out;
    u->reasoning_tokens =
        count(json_object_get(uj, "completion_tokens_details"), "reasoning_tokens");
    int64_t total = count(uj, "total_tokens");
    if (total < 0 && in >= 0 && out >= 0)
        total = in + out;
    u->total_tokens = total;
}

static int set_finish(lo_llm_response *r, const char *raw)
{
    free(r->finish.raw);
    r->finish.raw = NULL;
    /* The old function_call reason is a tool call too. */
    r->finish.reason = lo_str_eq(raw, "function_call") ? LO_FINISH_TOOL_CALLS
                                                       : lo_llm_finish_from_provider("openai", raw);
    if (raw && !(r->finish.raw = lo_strdup(raw)))
        return LO_ENOMEM;
    return 0;
}

static int set_ids(lo_llm_response *r, const json_t *root)
{
    free(r->id);
    free(r->model);
    free(r->provider);
    r->id = lo_llm_jstr_(root, "id") ? lo_strdup(lo_llm_jstr_(root, "id")) : NULL;
    r->model = lo_llm_jstr_(root, "model") ? lo_strdup(lo_llm_jstr_(root, "model")) : NULL;
    r->provider = lo_strdup(PROVIDER);
    return r->provider && (r->id || !lo_llm_jstr_(root, "id")) &&
                   (r->model || !lo_llm_jstr_(root, "model"))
               ? 0
               : LO_ENOMEM;
}

/* Reasoning text, under the name the server uses: reasoning_content
 * (vLLM, DeepSeek, llama.cpp) or reasoning (OpenRouter, Ollama). */
static const char *reasoning_of(const json_t *msg)
{
    const char *s = lo_llm_jstr_(msg, "reasoning_content");
    return s ? s : lo_llm_jstr_(msg, "reasoning");
}

static int parse_response(json_t *root, lo_llm_response *r, lo_llm_error *err)
{
    json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");
    if (!json_is_object(msg))
        return fail(err, LO_LLM_ERR_PROVIDER,
                    "unexpected response: no choices[0].message in a chat completion");
    if (set_ids(r, root) != 0)
        return oom(err);
    int rc = 0;
    const char *reasoning = reasoning_of(msg);
    if (reasoning && *reasoning)
        rc = lo_llm_message_add_thinking(r->message, reasoning, NULL);
    const char *content = lo_llm_jstr_(msg, "content");
    if (!rc && content && *content)
        rc = lo_llm_message_add_text(r->message, content);
    if (!rc && lo_llm_jstr_(msg, "refusal"))
        rc = lo_llm_message_add_text(r->message, lo_llm_jstr_(msg, "refusal"));
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, tc)
    {
        json_t *fn = json_object_get(tc, "function");
        const char *args = lo_llm_jstr_(fn, "arguments");
        if (rc || !lo_llm_jstr_(fn, "name"))
            continue;
        rc = lo_llm_message_add_tool_call(
            r->message, lo_llm_jstr_(tc, "id") ? lo_llm_jstr_(tc, "id") : "",
            lo_llm_jstr_(fn, "name"), NULL, args && *args ? args : "{}");
    }
    if (rc || set_finish(r, lo_llm_jstr_(choice, "finish_reason")) != 0)
        return oom(err);
    usage_from(&r->usage, json_object_get(root, "usage"));
    return 0;
}

static void keep_request_id(json_t *raw, const json_t *hdrs)
{
    const char *rid = lo_llm_jstr_(hdrs, "x-request-id");
    if (json_is_object(raw) && rid)
        json_object_set_new(raw, "_request_id", json_string(rid));
}

/* ---- complete ---- */

static int send_request(const lo_llm_call *call, const lo_llm_request *req, bool streaming,
                        int (*on_data)(const char *, size_t, void *), void *ud,
                        lo_http_result *res, int *http_rc, lo_error *he, lo_llm_error *err)
{
    json_t *body;
    int rc = build_body(req, streaming, &body, err);
    if (rc)
        return rc;
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    lo_llm_headers_ h;
    if (!text || !lo_llm_openai_headers_(&h, call, streaming, false)) {
        free(text);
        return oom(err);
    }
    char url[2048];
    snprintf(url, sizeof url, "%s/chat/completions", call->base_url);
    *http_rc =
        lo_llm_http_post_(call, url, (const char *const *)h.v, h.n, text, on_data, ud, res, he);
    lo_llm_headers_release_(&h);
    free(text);
    return 0;
}

static int chat_complete(const lo_llm_call *call, const lo_llm_request *req,
                         lo_llm_response **out, lo_llm_error *err)
{
    *out = NULL;
    lo_http_result res;
    lo_error he = {0};
    int hrc = 0;
    memset(&res, 0, sizeof res);
    int rc = send_request(call, req, false, NULL, NULL, &res, &hrc, &he, err);
    if (rc)
        return rc;
    if (hrc) {
        rc = lo_llm_transport_error_(hrc, &he, err, PROVIDER);
    } else if (res.status < 200 || res.status > 299) {
        rc = lo_llm_openai_http_error_(&res, err, PROVIDER);
    } else {
        json_error_t je;
        json_t *root = json_loadb(res.body.data ? res.body.data : "", res.body.len, 0, &je);
        lo_llm_response *r = root ? lo_llm_response_new() : NULL;
        if (!root) {
            rc = fail(err, LO_LLM_ERR_PROVIDER, "malformed JSON in the response body: %s (at %d)",
                      je.text, je.position);
        } else if (!r) {
            rc = oom(err);
        } else if (json_is_object(json_object_get(root, "error"))) {
            /* Some servers answer 200 with an error object. */
            json_t *e = json_object_get(root, "error");
            lo_llm_error_from_http(err, PROVIDER, 0, lo_llm_jstr_(e, "code"),
                                   lo_llm_jstr_(e, "message") ? lo_llm_jstr_(e, "message")
                                                              : "error");
            lo_llm_openai_refine_kind_(err, lo_llm_jstr_(e, "code"));
            rc = LO_EIO;
        } else if ((rc = parse_response(root, r, err)) == 0) {
            lo_llm_openai_rate_limit_(res.headers, r);
            keep_request_id(root, res.headers);
            r->raw = root;
            root = NULL;
            *out = r;
            r = NULL;
        }
        lo_llm_response_free(r);
        json_decref(root);
    }
    lo_http_result_release(&res);
    return rc;
}

/* ---- streaming: chunks, then data: [DONE] ---- */

/* A tool call being assembled from fragments, by its index: the id and
 * name come with the first fragment, the arguments in pieces. */
typedef struct call_acc {
    char *id, *name;
    lo_buf args;
} call_acc;

typedef struct stream_state {
    lo_llm_event_fn fn;
    void *ud;
    lo_sse *sse;
    lo_llm_response *resp;
    call_acc *calls;
    size_t n_calls;
    lo_buf text, reasoning;
    bool text_open, reasoning_open;
    bool started, done, delivered;
    bool failed;
    int rc;
    lo_llm_error *err;
} stream_state;

static int sfail(stream_state *st, int rc)
{
    st->failed = true;
    st->rc = rc;
    return 1;
}

static int emit(stream_state *st, lo_llm_stream_event *ev)
{
    if (!ev)
        return sfail(st, oom(st->err));
    st->delivered = true;
    int stop = st->fn ? st->fn(ev, st->ud) : 0;
    ev->response = NULL; /* the accumulated response stays ours (FINISH lends it) */
    lo_llm_stream_event_free(ev);
    if (stop)
        return sfail(st, fail(st->err, LO_LLM_ERR_ABORT, "stream stopped by the event handler"));
    return 0;
}

static lo_llm_stream_event *event_new(lo_llm_stream_event_type t, const json_t *raw)
{
    return lo_llm_event_new_(t, raw);
}

/* An event whose string field (delta, text_id, ...) holds a copy of s. */
static lo_llm_stream_event *event_str(lo_llm_stream_event_type t, const json_t *raw,
                                      size_t field, const char *s)
{
    lo_llm_stream_event *ev = event_new(t, raw);
    if (!ev)
        return NULL;
    char **slot = (char **)((char *)ev + field);
    if (s && !(*slot = lo_strdup(s))) {
        lo_llm_stream_event_free(ev);
        return NULL;
    }
    return ev;
}

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
    if (lo_llm_message_add_thinking(st->resp->message, st->reasoning.data ? st->reasoning.data : "",
                                    NULL) != 0)
        return sfail(st, oom(st->err));
    return emit(st, event_new(LO_STREAM_REASONING_END, NULL));
}

static int close_text(stream_state *st)
{
    if (!st->text_open)
        return 0;
    st->text_open = false;
    if (lo_llm_message_add_text(st->resp->message, st->text.data ? st->text.data : "") != 0)
        return sfail(st, oom(st->err));
    return emit(st, event_str(LO_STREAM_TEXT_END, NULL, offsetof(lo_llm_stream_event, text_id),
                              TEXT_ID));
}

static int on_tool_fragment(stream_state *st, const json_t *chunk, const json_t *frag)
{
    json_t *iv = json_object_get(frag, "index");
    if (json_is_integer(iv) && (json_integer_value(iv) < 0 || json_integer_value(iv) > 1000))
        return sfail(st, fail(st->err, LO_LLM_ERR_STREAM, "tool call index out of range"));
    /* No index: a server that sends each call whole, one after another. */
    size_t i = json_is_integer(iv) ? (size_t)json_integer_value(iv) : st->n_calls;
    const json_t *fn = json_object_get(frag, "function");
    const char *args = lo_llm_jstr_(fn, "arguments");
    int r = 0;
    if (i >= st->n_calls) {
        call_acc *v = lo_realloc(st->calls, (i + 1) * sizeof *v);
        if (!v)
            return sfail(st, oom(st->err));
        memset(v + st->n_calls, 0, (i + 1 - st->n_calls) * sizeof *v);
        for (size_t j = st->n_calls; j <= i; j++)
            lo_buf_init(&v[j].args, 0);
        st->calls = v;
        st->n_calls = i + 1;
    }
    call_acc *c = &st->calls[i];
    if (!c->name) {
        if (!lo_llm_jstr_(fn, "name"))
            return sfail(st, fail(st->err, LO_LLM_ERR_STREAM,
                                  "the first fragment of tool call %zu has no name", i));
        if ((r = close_reasoning(st)) || (r = close_text(st)))
            return r;
        c->name = lo_strdup(lo_llm_jstr_(fn, "name"));
        /* A server without ids (some local ones) gets one made up. */
        char made[32];
        snprintf(made, sizeof made, "call_%zu", i);
        c->id = lo_strdup(lo_llm_jstr_(frag, "id") ? lo_llm_jstr_(frag, "id") : made);
        if (!c->name || !c->id)
            return sfail(st, oom(st->err));
        if ((r = emit(st, call_event(LO_STREAM_TOOL_CALL_START, chunk, c, NULL, false))))
            return r;
    }
    if (args && *args) {
        if (lo_buf_puts(&c->args, args) != 0)
            return sfail(st, oom(st->err));
        return emit(st, call_event(LO_STREAM_TOOL_CALL_DELTA, chunk, c, args, false));
    }
    return 0;
}

static int on_chunk(stream_state *st, const json_t *chunk)
{
    int r = 0;
    if (!st->started) {
        st->started = true;
        if (set_ids(st->resp, chunk) != 0)
            return sfail(st, oom(st->err));
        if ((r = emit(st, event_new(LO_STREAM_START, chunk))))
            return r;
    }
    if (json_is_object(json_object_get(chunk, "error"))) {
        json_t *e = json_object_get(chunk, "error");
        lo_llm_error_from_http(st->err, PROVIDER, 0, lo_llm_jstr_(e, "code"),
                               lo_llm_jstr_(e, "message") ? lo_llm_jstr_(e, "message")
                                                          : "error in stream");
        lo_llm_openai_refine_kind_(st->err, lo_llm_jstr_(e, "code"));
        return sfail(st, LO_EIO);
    }
    usage_from(&st->resp->usage, json_object_get(chunk, "usage"));
    json_t *choice = json_array_get(json_object_get(chunk, "choices"), 0);
    json_t *delta = json_object_get(choice, "delta");
    const char *reasoning = reasoning_of(delta);
    if (reasoning && *reasoning) {
        if (!st->reasoning_open) {
            st->reasoning_open = true;
            if ((r = emit(st, event_new(LO_STREAM_REASONING_START, chunk))))
                return r;
        }
        if (lo_buf_puts(&st->reasoning, reasoning) != 0)
            return sfail(st, oom(st->err));
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
            return sfail(st, oom(st->err));
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
    if (fr && set_finish(st->resp, fr) != 0)
        return sfail(st, oom(st->err));
    return 0;
}

/* [DONE]: close what is open, add the calls, and finish. */
static int on_done(stream_state *st)
{
    st->done = true;
    int r;
    if ((r = close_reasoning(st)) || (r = close_text(st)))
        return r;
    for (size_t i = 0; i < st->n_calls; i++) {
        call_acc *c = &st->calls[i];
        if (!c->name)
            continue;
        if (lo_llm_message_add_tool_call(st->resp->message, c->id, c->name, NULL,
                                         c->args.len ? c->args.data : "{}") != 0)
            return sfail(st, oom(st->err));
        if ((r = emit(st, call_event(LO_STREAM_TOOL_CALL_END, NULL, c, NULL, true))))
            return r;
    }
    lo_llm_stream_event *ev = event_new(LO_STREAM_FINISH, NULL);
    bool ok = ev != NULL;
    if (ok) {
        ev->has_finish = true;
        ev->finish_reason.reason = st->resp->finish.reason;
        ok = !st->resp->finish.raw ||
             (ev->finish_reason.raw = lo_strdup(st->resp->finish.raw)) != NULL;
        ev->has_usage = true;
        ev->usage = st->resp->usage;
        ev->response = st->resp;
    }
    if (!ok) {
        if (ev)
            ev->response = NULL;
        lo_llm_stream_event_free(ev);
        ev = NULL;
    }
    return emit(st, ev);
}

static int on_sse(const lo_sse_event *sev, void *ud)
{
    stream_state *st = ud;
    if (st->failed || st->done)
        return st->failed;
    if (sev->data_len == 6 && memcmp(sev->data, "[DONE]", 6) == 0) {
        if (!st->started) {
            st->started = true;
            if (set_ids(st->resp, NULL) != 0)
                return sfail(st, oom(st->err));
            if (emit(st, event_new(LO_STREAM_START, NULL)))
                return 1;
        }
        return on_done(st);
    }
    json_error_t je;
    json_t *data = json_loadb(sev->data, sev->data_len, 0, &je);
    if (!json_is_object(data)) {
        json_decref(data);
        return sfail(st, fail(st->err, LO_LLM_ERR_STREAM, "malformed JSON in a stream chunk: %s",
                              data ? "not an object" : je.text));
    }
    int r = on_chunk(st, data);
    json_decref(data);
    return r;
}

static int on_data(const char *buf, size_t len, void *ud)
{
    stream_state *st = ud;
    int r = lo_sse_feed(st->sse, buf, len);
    if (r < 0 && !st->failed)
        sfail(st, r == LO_ENOMEM ? oom(st->err)
                                 : fail(st->err, LO_LLM_ERR_STREAM, "stream event over the size limit"));
    return st->failed;
}

static int chat_stream(const lo_llm_call *call, const lo_llm_request *req, lo_llm_event_fn fn,
                       void *ud, lo_llm_response **out, lo_llm_error *err)
{
    *out = NULL;
    stream_state st = {.fn = fn, .ud = ud, .err = err};
    lo_buf_init(&st.text, 0);
    lo_buf_init(&st.reasoning, 0);
    st.resp = lo_llm_response_new();
    st.sse = st.resp ? lo_sse_new(on_sse, &st, 0) : NULL;
    if (!st.sse) {
        lo_llm_response_free(st.resp);
        return oom(err);
    }
    lo_http_result res;
    lo_error he = {0};
    int hrc = 0;
    memset(&res, 0, sizeof res);
    int rc = send_request(call, req, true, on_data, &st, &res, &hrc, &he, err);
    if (rc) {
        /* nothing was sent */
    } else if (st.failed) {
        rc = st.rc;
    } else if (hrc) {
        rc = lo_llm_transport_error_(hrc, &he, err, PROVIDER);
    } else if (res.status < 200 || res.status > 299) {
        rc = lo_llm_openai_http_error_(&res, err, PROVIDER);
    } else if (!st.done) {
        rc = fail(err, LO_LLM_ERR_STREAM, "the stream ended before data: [DONE]");
    }
    lo_sse_finish(st.sse);
    if (rc == 0) {
        lo_llm_openai_rate_limit_(res.headers, st.resp);
        *out = st.resp;
        st.resp = NULL;
    } else if (st.delivered && err->kind != LO_LLM_ERR_ABORT && fn) {
        lo_llm_stream_error_event_(fn, ud, err);
    }
    lo_http_result_release(&res);
    lo_sse_free(st.sse);
    for (size_t i = 0; i < st.n_calls; i++) {
        free(st.calls[i].id);
        free(st.calls[i].name);
        lo_buf_release(&st.calls[i].args);
    }
    free(st.calls);
    lo_buf_release(&st.text);
    lo_buf_release(&st.reasoning);
    lo_llm_response_free(st.resp);
    return rc;
}

const lo_llm_adapter lo_llm_openai_chat_adapter = {
    .name = PROVIDER,
    .api_key_env = "OPENAI_CHAT_API_KEY",
    .base_url_env = "OPENAI_CHAT_BASE_URL",
    .default_base_url = "https://api.openai.com/v1",
    .complete = chat_complete,
    .stream = chat_stream,
};
