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

/* prompt_tokens includes cached tokens; llm.h wants them apart. */
void lo_llm_chat_usage_from_(lo_llm_usage *u, const json_t *uj)
{
    if (!json_is_object(uj))
        return;
    int64_t in = lo_llm_count_(uj, "prompt_tokens"), out = lo_llm_count_(uj, "completion_tokens");
    int64_t cached = lo_llm_count_(json_object_get(uj, "prompt_tokens_details"), "cached_tokens");
    u->cache_read_tokens = cached;
    u->input_tokens = in >= 0 && cached > 0 ? (in > cached ? in - cached : 0) : in;
    u->output_tokens = out;
    u->reasoning_tokens =
        lo_llm_count_(json_object_get(uj, "completion_tokens_details"), "reasoning_tokens");
    int64_t total = lo_llm_count_(uj, "total_tokens");
    if (total < 0 && in >= 0 && out >= 0)
        total = in + out;
    u->total_tokens = total;
}

int lo_llm_chat_set_finish_(lo_llm_response *r, const char *raw)
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

/* Reasoning text, under the name the server uses: reasoning_content
 * (vLLM, DeepSeek, llama.cpp) or reasoning (OpenRouter, Ollama). */
const char *lo_llm_chat_reasoning_of_(const json_t *msg)
{
    const char *s = lo_llm_jstr_(msg, "reasoning_content");
    return s ? s : lo_llm_jstr_(msg, "reasoning");
}

int lo_llm_chat_body_error_(const json_t *e, lo_llm_error *err)
{
    const char *code = lo_llm_jstr_(e, "code");
    lo_llm_error_from_http(err, PROVIDER, 0, code,
                           lo_llm_jstr_(e, "message") ? lo_llm_jstr_(e, "message") : "error");
    lo_llm_openai_refine_kind_(err, code);
    return LO_EIO;
}

static int parse_response(json_t *root, lo_llm_response *r, lo_llm_error *err)
{
    /* Some servers answer 200 with an error object. */
    if (json_is_object(json_object_get(root, "error")))
        return lo_llm_chat_body_error_(json_object_get(root, "error"), err);
    json_t *choice = json_array_get(json_object_get(root, "choices"), 0);
    json_t *msg = json_object_get(choice, "message");
    if (!json_is_object(msg))
        return fail(err, LO_LLM_ERR_PROVIDER,
                    "unexpected response: no choices[0].message in a chat completion");
    if (lo_llm_set_ids_(r, root, PROVIDER) != 0)
        return oom(err);
    int rc = 0;
    const char *reasoning = lo_llm_chat_reasoning_of_(msg);
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
    if (rc || lo_llm_chat_set_finish_(r, lo_llm_jstr_(choice, "finish_reason")) != 0)
        return oom(err);
    lo_llm_chat_usage_from_(&r->usage, json_object_get(root, "usage"));
    return 0;
}

/* ---- the exchange (adapter_call.c runs it) ---- */

static int prepare(const lo_llm_call *call, const lo_llm_request *req, bool streaming,
                   lo_llm_prepared_ *p, lo_llm_error *err)
{
    json_t *body;
    int rc = build_body(req, streaming, &body, err);
    if (rc)
        return rc;
    p->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!p->body || !lo_llm_openai_headers_(&p->h, call, streaming, false))
        return oom(err);
    snprintf(p->url, sizeof p->url, "%s/chat/completions", call->base_url);
    return 0;
}

static int annotate(const lo_http_result *res, const lo_llm_prepared_ *p, lo_llm_response *r,
                    lo_llm_error *err)
{
    lo_llm_openai_rate_limit_(res->headers, r);
    lo_llm_keep_request_id_(r->raw, res->headers, "x-request-id");
    return 0;
}

static int http_error(const lo_http_result *res, lo_llm_error *err)
{
    return lo_llm_openai_http_error_(res, err, PROVIDER);
}

const lo_llm_wire_ lo_llm_chat_wire_ = {
    .provider = PROVIDER,
    .prepare = prepare,
    .http_error = http_error,
    .parse = parse_response,
    .annotate = annotate,
    .last_event = "data: [DONE]",
};

static int chat_complete(const lo_llm_call *call, const lo_llm_request *req,
                         lo_llm_response **out, lo_llm_error *err)
{
    return lo_llm_complete_run_(&lo_llm_chat_wire_, call, req, out, err);
}

const lo_llm_adapter lo_llm_openai_chat_adapter = {
    .name = PROVIDER,
    .api_key_env = "OPENAI_CHAT_API_KEY",
    .base_url_env = "OPENAI_CHAT_BASE_URL",
    .default_base_url = "https://api.openai.com/v1",
    .complete = chat_complete,
    .stream = lo_llm_chat_stream_,
};
