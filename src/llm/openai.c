/* The OpenAI Responses API adapter (unified-llm-spec §7 for OpenAI): request
 * translation to input items, response, error and stream translation, rate
 * limits from the x-ratelimit-* headers. One blocking libcurl call per
 * request through lo_http_do; streams go through the lo_sse parser. JSON is
 * built and read with jansson only. The client (client.c) retries; this
 * file never does. Chat Completions servers have their own adapter
 * (openai_chat.c): the two wire formats share little beyond the errors. */
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

#define PROVIDER "openai"

/* ---- small helpers (shared ones in adapter_internal.h) ---- */

#define fail(err, kind, ...) lo_llm_fail_((err), PROVIDER, (kind), __VA_ARGS__)
#define oom(err) lo_llm_oom_((err), PROVIDER)

/* ---- request translation (§7.3, Responses API) ---- */

/* A user-side content part: input_text, input_image or input_file. NULL
 * with *rc == 0 for a part that has no place in a message (dropped). */
static json_t *input_content(const lo_llm_part *p, lo_llm_error *err, int *rc)
{
    json_t *c = json_object();
    if (!c)
        return *rc = oom(err), NULL;
    bool ok = true;
    switch (p->kind) {
    case LO_CONTENT_TEXT:
        ok = lo_llm_put_(c, "type", json_string("input_text")) &&
             lo_llm_put_(c, "text", json_string(p->text));
        break;
    case LO_CONTENT_IMAGE: {
        char *u = lo_llm_media_url_(&p->media, p->kind, err, rc, PROVIDER);
        if (!u) {
            json_decref(c);
            return NULL;
        }
        ok = lo_llm_put_(c, "type", json_string("input_image")) &&
             lo_llm_put_(c, "image_url", json_string(u)) &&
             lo_llm_put_(c, "detail", json_string(p->media.detail ? p->media.detail : "auto"));
        free(u);
        break;
    }
    case LO_CONTENT_DOCUMENT: {
        bool remote = p->media.url && strncmp(p->media.url, "data:", 5) != 0;
        char *u = lo_llm_media_url_(&p->media, p->kind, err, rc, PROVIDER);
        if (!u) {
            json_decref(c);
            return NULL;
        }
        ok = lo_llm_put_(c, "type", json_string("input_file")) &&
             lo_llm_put_(c, remote ? "file_url" : "file_data", json_string(u));
        if (ok && !remote)
            ok = lo_llm_put_(c, "filename",
                             json_string(p->media.file_name ? p->media.file_name : "document.pdf"));
        free(u);
        break;
    }
    case LO_CONTENT_AUDIO:
        json_decref(c);
        *rc = fail(err, LO_LLM_ERR_INVALID_REQUEST,
                   "audio input is not supported by the Responses API adapter");
        return NULL;
    default:
        json_decref(c);
        return NULL;
    }
    if (!ok) {
        json_decref(c);
        return *rc = oom(err), NULL;
    }
    return c;
}

/* Tool output travels as text: strings as they are, JSON values as JSON. */
static char *result_text(const lo_llm_tool_result *tr)
{
    const char *s = json_string_value(tr->content);
    if (s)
        return lo_strdup(s);
    return tr->content ? json_dumps(tr->content, JSON_COMPACT | JSON_ENCODE_ANY) : lo_strdup("");
}

static json_t *function_call_item(const lo_llm_tool_call *tc)
{
    char *args = tc->raw_arguments ? lo_strdup(tc->raw_arguments)
                 : tc->arguments   ? json_dumps(tc->arguments, JSON_COMPACT)
                                   : lo_strdup("{}");
    json_t *it = json_object();
    bool ok = args && lo_llm_put_(it, "type", json_string("function_call")) &&
              lo_llm_put_(it, "call_id", json_string(tc->id)) &&
              lo_llm_put_(it, "name", json_string(tc->name)) &&
              lo_llm_put_(it, "arguments", json_string(args));
    free(args);
    if (!ok) {
        json_decref(it);
        return NULL;
    }
    return it;
}

/* A reasoning item from an earlier response, sent back as the API wants it:
 * id, summary and (when the response carried it) encrypted_content; output
 * fields such as status are left out. */
static json_t *reasoning_item(const json_t *raw)
{
    json_t *it = json_object();
    json_t *summary = json_object_get(raw, "summary");
    bool ok =
        lo_llm_put_(it, "type", json_string("reasoning")) &&
        (!lo_llm_jstr_(raw, "id") || lo_llm_put_(it, "id", json_string(lo_llm_jstr_(raw, "id")))) &&
        lo_llm_put_(it, "summary", summary ? json_deep_copy(summary) : json_array());
    if (ok && lo_llm_jstr_(raw, "encrypted_content"))
        ok = lo_llm_put_(it, "encrypted_content",
                         json_string(lo_llm_jstr_(raw, "encrypted_content")));
    if (!ok) {
        json_decref(it);
        return NULL;
    }
    return it;
}

/* Append the message item being assembled (if it has content) to input. */
static bool flush_message(json_t *input, json_t **content, const char *role)
{
    if (!*content)
        return true;
    json_t *c = *content;
    *content = NULL;
    if (json_array_size(c) == 0) {
        json_decref(c);
        return true;
    }
    json_t *it = json_object();
    bool ok = lo_llm_put_(it, "content", c);
    return lo_llm_push_if_(input, it,
                           ok && lo_llm_put_(it, "type", json_string("message")) &&
                               lo_llm_put_(it, "role", json_string(role)));
}

/* One unified message -> input items, in order. Tool calls and results are
 * items of their own, so message content is flushed around them. */
static int message_items(json_t *input, const lo_llm_message *m, lo_llm_error *err)
{
    const char *role = m->role == LO_ROLE_ASSISTANT   ? "assistant"
                       : m->role == LO_ROLE_DEVELOPER ? "developer"
                                                      : "user";
    json_t *content = NULL;
    int rc = 0;
    bool ok = true;
    for (size_t j = 0; ok && !rc && j < m->n_parts; j++) {
        const lo_llm_part *p = &m->parts[j];
        if (p->kind == LO_CONTENT_TOOL_CALL) {
            ok = flush_message(input, &content, role) &&
                 lo_llm_push_(input, function_call_item(&p->tool_call));
        } else if (p->kind == LO_CONTENT_TOOL_RESULT) {
            char *out = result_text(&p->tool_result);
            json_t *it = json_object();
            ok = flush_message(input, &content, role) &&
                 lo_llm_push_if_(
                     input, it,
                     out && lo_llm_put_(it, "type", json_string("function_call_output")) &&
                         lo_llm_put_(it, "call_id", json_string(p->tool_result.tool_call_id)) &&
                         lo_llm_put_(it, "output", json_string(out)));
            free(out);
        } else if (p->kind == LO_CONTENT_OTHER && lo_str_eq(p->other.name, "reasoning")) {
            ok = flush_message(input, &content, role) &&
                 lo_llm_push_(input, reasoning_item(p->other.raw));
        } else if (p->kind == LO_CONTENT_OTHER && json_is_object(p->other.raw) &&
                   m->role == LO_ROLE_ASSISTANT) {
            /* An output item we do not model (a web search call, ...): the
             * API takes it back as it gave it. */
            ok = flush_message(input, &content, role) &&
                 lo_llm_push_(input, json_deep_copy(p->other.raw));
        } else if (p->kind == LO_CONTENT_TEXT && m->role == LO_ROLE_ASSISTANT) {
            json_t *c = json_object();
            ok = (content || (content = json_array())) &&
                 lo_llm_push_if_(content, c,
                                 lo_llm_put_(c, "type", json_string("output_text")) &&
                                     lo_llm_put_(c, "text", json_string(p->text)));
        } else if (p->kind == LO_CONTENT_THINKING || p->kind == LO_CONTENT_REDACTED_THINKING) {
            /* Reasoning goes back through its "reasoning" item (OTHER); a
             * summary or another provider's thinking has no input form. */
            continue;
        } else if (m->role != LO_ROLE_ASSISTANT) {
            json_t *c = input_content(p, err, &rc);
            if (c)
                ok = (content || (content = json_array())) && lo_llm_push_(content, c);
        }
    }
    if (ok && !rc)
        ok = flush_message(input, &content, role);
    json_decref(content);
    return rc ? rc : ok ? 0 : oom(err);
}

static const char *const EFFORTS[] = {"none", "minimal", "low", "medium", "high", "xhigh"};

/* The Responses API body for req. *dropped_stop is set when the request
 * had stop sequences, which this API does not take. */
static int build_body(const lo_llm_request *req, bool streaming, json_t **out,
                      bool *dropped_stop, lo_llm_error *err)
{
    *out = NULL;
    *dropped_stop = req->n_stop > 0;
    json_t *body = json_object(), *input = json_array();
    lo_buf instr;
    lo_buf_init(&instr, 0);
    bool ok = body && input && lo_llm_put_(body, "model", json_string(req->model));
    int rc = 0;
    for (size_t i = 0; ok && !rc && i < req->n_messages; i++) {
        const lo_llm_message *m = req->messages[i];
        if (m->role == LO_ROLE_SYSTEM) {
            /* System text becomes instructions; a developer message keeps
             * its place in the conversation as a developer item. */
            for (size_t j = 0; ok && j < m->n_parts; j++) {
                const lo_llm_part *p = &m->parts[j];
                if (p->kind != LO_CONTENT_TEXT || !p->text || !*p->text)
                    continue;
                ok = (!instr.len || lo_buf_puts(&instr, "\n\n") == 0) &&
                     lo_buf_puts(&instr, p->text) == 0;
            }
            continue;
        }
        rc = message_items(input, m, err);
    }
    if (rc || !ok) {
        json_decref(body);
        json_decref(input);
        lo_buf_release(&instr);
        return rc ? rc : oom(err);
    }
    if (instr.len)
        ok = lo_llm_put_(body, "instructions", json_string(instr.data));
    lo_buf_release(&instr);
    ok = ok && lo_llm_put_(body, "input", input);

    if (ok && req->reasoning_effort) {
        bool known = false;
        for (size_t i = 0; i < sizeof EFFORTS / sizeof *EFFORTS; i++)
            known = known || strcmp(req->reasoning_effort, EFFORTS[i]) == 0;
        if (!known) {
            json_decref(body);
            return fail(err, LO_LLM_ERR_INVALID_REQUEST,
                        "unknown reasoning_effort \"%s\" (none, minimal, low, medium, high, xhigh)",
                        req->reasoning_effort);
        }
        json_t *r = json_object();
        ok = lo_llm_put_(body, "reasoning", r) &&
             lo_llm_put_(r, "effort", json_string(req->reasoning_effort));
    }
    if (ok && req->has_max_tokens)
        ok = lo_llm_put_(body, "max_output_tokens", json_integer(req->max_tokens));
    if (ok && req->has_temperature)
        ok = lo_llm_put_(body, "temperature", json_real(req->temperature));
    if (ok && req->has_top_p)
        ok = lo_llm_put_(body, "top_p", json_real(req->top_p));
    if (ok && json_is_object(req->metadata))
        ok = lo_llm_put_(body, "metadata", json_deep_copy(req->metadata));
    if (ok && req->response_format.type != LO_FORMAT_TEXT) {
        json_t *text = json_object(), *fmt = json_object();
        ok = lo_llm_put_(body, "text", text) && lo_llm_put_(text, "format", fmt);
        if (ok && req->response_format.type == LO_FORMAT_JSON) {
            ok = lo_llm_put_(fmt, "type", json_string("json_object"));
        } else if (ok) {
            ok = lo_llm_put_(fmt, "type", json_string("json_schema")) &&
                 lo_llm_put_(fmt, "name", json_string("response")) &&
                 lo_llm_put_(fmt, "schema", json_deep_copy(req->response_format.schema)) &&
                 lo_llm_put_(fmt, "strict", json_boolean(req->response_format.strict));
        }
    }
    if (ok && req->n_tools) {
        json_t *tools = json_array();
        ok = lo_llm_put_(body, "tools", tools);
        for (size_t i = 0; ok && i < req->n_tools; i++) {
            const lo_llm_tool *t = &req->tools[i];
            json_t *tj = json_object();
            json_t *schema = t->parameters ? json_deep_copy(t->parameters) : NULL;
            if (!schema && (schema = json_object()))
                lo_llm_put_(schema, "type", json_string("object"));
            /* strict is false: strict mode demands every property required
             * and additionalProperties false, which general schemas are not.
             * provider_options.openai.tools replaces the list for callers
             * whose schemas are strict-ready. */
            ok = lo_llm_put_(tj, "parameters", schema);
            ok =
                lo_llm_push_if_(tools, tj,
                                ok && lo_llm_put_(tj, "type", json_string("function")) &&
                                    lo_llm_put_(tj, "name", json_string(t->name)) &&
                                    (!t->description || !*t->description ||
                                     lo_llm_put_(tj, "description", json_string(t->description))) &&
                                    lo_llm_put_(tj, "strict", json_false()));
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
            json_t *tc = json_object();
            ok = lo_llm_put_(body, "tool_choice", tc) &&
                 lo_llm_put_(tc, "type", json_string("function")) &&
                 lo_llm_put_(tc, "name", json_string(req->tool_choice.tool_name));
        } else {
            ok = lo_llm_put_(body, "tool_choice",
                             json_string(req->tool_choice.mode == LO_TOOL_CHOICE_NONE ? "none"
                                         : req->tool_choice.mode == LO_TOOL_CHOICE_REQUIRED
                                             ? "required"
                                             : "auto"));
        }
    }
    if (ok && streaming)
        ok = lo_llm_put_(body, "stream", json_true());
    /* provider_options.openai goes into the body as given (store, include,
     * previous_response_id, service_tier, ...), over the translation. */
    json_t *opts = json_object_get(req->provider_options, PROVIDER);
    if (ok && json_is_object(opts))
        ok = json_object_update(body, opts) == 0;
    if (!ok) {
        json_decref(body);
        return oom(err);
    }
    *out = body;
    return 0;
}

/* ---- response translation (§7.5) ---- */

static int add_other(lo_llm_message *m, const char *name, const json_t *raw)
{
    if (m->n_parts == m->cap_parts) {
        size_t cap = m->cap_parts ? m->cap_parts * 2 : 4;
        lo_llm_part *v = lo_realloc(m->parts, cap * sizeof *v);
        if (!v)
            return LO_ENOMEM;
        m->parts = v;
        m->cap_parts = cap;
    }
    lo_llm_part *p = &m->parts[m->n_parts];
    memset(p, 0, sizeof *p);
    p->kind = LO_CONTENT_OTHER;
    p->other.name = lo_strdup(name ? name : "unknown");
    p->other.raw = json_deep_copy(raw);
    if (!p->other.name || !p->other.raw) {
        lo_llm_part_release(p);
        return LO_ENOMEM;
    }
    m->n_parts++;
    return 0;
}

/* The summary texts of a reasoning item, joined; NULL when it has none. */
static char *summary_text(const json_t *item)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(item, "summary"), i, s)
    {
        const char *t = lo_llm_jstr_(s, "text");
        if (t && ((b.len && lo_buf_puts(&b, "\n\n") != 0) || lo_buf_puts(&b, t) != 0)) {
            lo_buf_release(&b);
            return NULL;
        }
    }
    char *out = b.len ? lo_buf_steal(&b) : NULL;
    lo_buf_release(&b);
    return out;
}

/* One output item -> parts: a message gives its text (a refusal too, as
 * text), a function_call a tool call keyed by call_id, a reasoning item an
 * OTHER part kept for the round trip plus its summary as THINKING. */
static int add_item(lo_llm_message *m, const json_t *it)
{
    const char *type = lo_llm_jstr_(it, "type");
    if (lo_str_eq(type, "message")) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(it, "content"), i, c)
        {
            const char *ct = lo_llm_jstr_(c, "type");
            int rc = 0;
            if (lo_str_eq(ct, "output_text"))
                rc = lo_llm_message_add_text(m, lo_llm_jstr_(c, "text") ? lo_llm_jstr_(c, "text")
                                                                        : "");
            else if (lo_str_eq(ct, "refusal"))
                rc = lo_llm_message_add_text(
                    m, lo_llm_jstr_(c, "refusal") ? lo_llm_jstr_(c, "refusal") : "");
            else
                rc = add_other(m, ct, c);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (lo_str_eq(type, "function_call") && lo_llm_jstr_(it, "name")) {
        const char *id =
            lo_llm_jstr_(it, "call_id") ? lo_llm_jstr_(it, "call_id") : lo_llm_jstr_(it, "id");
        const char *args = lo_llm_jstr_(it, "arguments");
        return lo_llm_message_add_tool_call(m, id ? id : "", lo_llm_jstr_(it, "name"), NULL,
                                            args && *args ? args : "{}");
    }
    if (lo_str_eq(type, "reasoning")) {
        char *s = summary_text(it);
        int rc = s ? lo_llm_message_add_thinking(m, s, NULL) : 0;
        free(s);
        return rc ? rc : add_other(m, "reasoning", it);
    }
    return add_other(m, type, it);
}

static int64_t count(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (int64_t)json_integer_value(v)
                                                           : LO_TOKENS_UNREPORTED;
}

/* OpenAI counts cached prompt tokens inside input_tokens; llm.h wants the
 * uncached part there and the cached part in cache_read_tokens. */
static void usage_from(lo_llm_usage *u, const json_t *uj)
{
    if (!json_is_object(uj))
        return;
    int64_t in = count(uj, "input_tokens"), out = count(uj, "output_tokens");
    int64_t cached = count(json_object_get(uj, "input_tokens_details"), "cached_tokens");
    u->cache_read_tokens = cached;
    u->input_tokens = in >= 0 && cached > 0 ? (in > cached ? in - cached : 0) : in;
    u->output_tokens = out;
    u->reasoning_tokens = count(json_object_get(uj, "output_tokens_details"), "reasoning_tokens");
    int64_t total = count(uj, "total_tokens");
    if (total < 0 && in >= 0 && out >= 0)
        total = in + out;
    u->total_tokens = total;
}

/* status (and incomplete_details.reason) -> the finish reason. A completed
 * response that called functions finished for tool calls. */
static int set_finish(lo_llm_response *r, const json_t *root)
{
    const char *status = lo_llm_jstr_(root, "status");
    const char *why = lo_llm_jstr_(json_object_get(root, "incomplete_details"), "reason");
    lo_llm_finish f = LO_FINISH_OTHER;
    const char *raw = status;
    if (lo_str_eq(status, "completed")) {
        f = LO_FINISH_STOP;
        for (size_t i = 0; i < r->message->n_parts; i++)
            if (r->message->parts[i].kind == LO_CONTENT_TOOL_CALL)
                f = LO_FINISH_TOOL_CALLS;
    } else if (lo_str_eq(status, "incomplete")) {
        raw = why ? why : status;
        f = lo_str_eq(why, "max_output_tokens") ? LO_FINISH_LENGTH
            : lo_str_eq(why, "content_filter")  ? LO_FINISH_CONTENT_FILTER
                                                : LO_FINISH_OTHER;
    } else if (lo_str_eq(status, "failed")) {
        f = LO_FINISH_ERROR;
    }
    free(r->finish.raw);
    r->finish.raw = NULL;
    r->finish.reason = f;
    return raw && !(r->finish.raw = lo_strdup(raw)) ? LO_ENOMEM : 0;
}

static int set_ids(lo_llm_response *r, const json_t *resp)
{
    free(r->id);
    free(r->model);
    free(r->provider);
    r->id = lo_llm_jstr_(resp, "id") ? lo_strdup(lo_llm_jstr_(resp, "id")) : NULL;
    r->model = lo_llm_jstr_(resp, "model") ? lo_strdup(lo_llm_jstr_(resp, "model")) : NULL;
    r->provider = lo_strdup(PROVIDER);
    return r->provider && (r->id || !lo_llm_jstr_(resp, "id")) &&
                   (r->model || !lo_llm_jstr_(resp, "model"))
               ? 0
               : LO_ENOMEM;
}

static int parse_response(json_t *root, lo_llm_response *r, lo_llm_error *err)
{
    json_t *output = json_object_get(root, "output");
    if (!json_is_array(output))
        return fail(err, LO_LLM_ERR_PROVIDER,
                    "unexpected response: not a response object with an output array");
    if (set_ids(r, root) != 0)
        return oom(err);
    size_t i;
    json_t *it;
    json_array_foreach(output, i, it)
    {
        if (add_item(r->message, it) != 0)
            return oom(err);
    }
    if (set_finish(r, root) != 0)
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
                        lo_http_result *res, int *http_rc, lo_error *he, bool *dropped_stop,
                        lo_llm_error *err)
{
    json_t *body;
    int rc = build_body(req, streaming, &body, dropped_stop, err);
    if (rc)
        return rc;
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    lo_llm_headers_ h;
    if (!text || !lo_llm_openai_headers_(&h, call, streaming, true)) {
        free(text);
        return oom(err);
    }
    char url[2048];
    snprintf(url, sizeof url, "%s/responses", call->base_url);
    *http_rc =
        lo_llm_http_post_(call, url, (const char *const *)h.v, h.n, text, on_data, ud, res, he);
    lo_llm_headers_release_(&h);
    free(text);
    return 0;
}

static int warn_stop(lo_llm_response *r, bool dropped_stop)
{
    return dropped_stop ? lo_llm_response_add_warning(
                              r, "stop sequences were not sent: the Responses API has none",
                              "unsupported_parameter")
                        : 0;
}

static int openai_complete(const lo_llm_call *call, const lo_llm_request *req,
                           lo_llm_response **out, lo_llm_error *err)
{
    *out = NULL;
    lo_http_result res;
    lo_error he = {0};
    int hrc = 0;
    bool dropped_stop = false;
    memset(&res, 0, sizeof res);
    int rc = send_request(call, req, false, NULL, NULL, &res, &hrc, &he, &dropped_stop, err);
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
        } else if ((rc = parse_response(root, r, err)) == 0) {
            if (warn_stop(r, dropped_stop) != 0) {
                rc = oom(err);
            } else {
                lo_llm_openai_rate_limit_(res.headers, r);
                keep_request_id(root, res.headers);
                r->raw = root;
                root = NULL;
                *out = r;
                r = NULL;
            }
        }
        lo_llm_response_free(r);
        json_decref(root);
    }
    lo_http_result_release(&res);
    return rc;
}

/* ---- streaming (§7.7, Responses API events) ---- */

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
    lo_llm_event_fn fn;
    void *ud;
    lo_sse *sse;
    lo_llm_response *resp;
    item *items;
    size_t n_items;
    bool started, stopped, delivered;
    bool failed;
    int rc;
    lo_llm_error *err;
} stream_state;

static void item_release(item *it)
{
    free(it->id);
    free(it->call_id);
    free(it->name);
    lo_buf_release(&it->args);
}

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

/* An event carrying a copy of s in the field at *slot; NULL on OOM. */
static lo_llm_stream_event *event_with(lo_llm_stream_event_type t, const json_t *raw,
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

static lo_llm_tool_call *tool_call_new(const item *it, bool complete_args)
{
    return lo_llm_tool_call_new_(it->call_id, it->name, &it->args, complete_args);
}

static item *item_at(stream_state *st, const json_t *data, bool create)
{
    json_t *iv = json_object_get(data, "output_index");
    if (!json_is_integer(iv) || json_integer_value(iv) < 0 || json_integer_value(iv) > 100000)
        return NULL;
    size_t i = (size_t)json_integer_value(iv);
    if (i >= st->n_items) {
        if (!create)
            return NULL;
        item *v = lo_realloc(st->items, (i + 1) * sizeof *v);
        if (!v)
            return NULL;
        memset(v + st->n_items, 0, (i + 1 - st->n_items) * sizeof *v);
        for (size_t j = st->n_items; j <= i; j++)
            lo_buf_init(&v[j].args, 0);
        st->items = v;
        st->n_items = i + 1;
    }
    return &st->items[i];
}

static int on_item_added(stream_state *st, const json_t *data)
{
    item *it = item_at(st, data, true);
    const json_t *obj = json_object_get(data, "item");
    if (!it || !json_is_object(obj))
        return sfail(st, fail(st->err, LO_LLM_ERR_STREAM, "output_item.added without an item"));
    item_release(it);
    memset(it, 0, sizeof *it);
    lo_buf_init(&it->args, 0);
    it->open = true;
    const char *type = lo_llm_jstr_(obj, "type");
    if (lo_llm_jstr_(obj, "id") && !(it->id = lo_strdup(lo_llm_jstr_(obj, "id"))))
        return sfail(st, oom(st->err));
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
            return sfail(st, fail(st->err, LO_LLM_ERR_STREAM,
                                  "function_call item without call_id or name"));
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
        return sfail(st, fail(st->err, LO_LLM_ERR_STREAM,
                              "output_text.delta for an item that is not an open message"));
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
        return sfail(st, fail(st->err, LO_LLM_ERR_STREAM,
                              "function_call_arguments.delta for an item that is not an open "
                              "function call"));
    const char *d = lo_llm_jstr_(data, "delta") ? lo_llm_jstr_(data, "delta") : "";
    if (lo_buf_puts(&it->args, d) != 0)
        return sfail(st, oom(st->err));
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
        return sfail(st, fail(st->err, LO_LLM_ERR_STREAM,
                              "output_item.done for an item that is not open"));
    it->open = false;
    if (add_item(st->resp->message, obj) != 0)
        return sfail(st, oom(st->err));
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
                return sfail(st, oom(st->err));
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
    st->stopped = true;
    if (set_ids(st->resp, resp) != 0 || set_finish(st->resp, resp) != 0)
        return sfail(st, oom(st->err));
    usage_from(&st->resp->usage, json_object_get(resp, "usage"));
    lo_llm_stream_event *ev = event_new(LO_STREAM_FINISH, data);
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
    lo_llm_error_from_http(st->err, PROVIDER, status, code, msg);
    lo_llm_openai_refine_kind_(st->err, code);
    st->err->status = 0; /* it came in the stream, not as an HTTP status */
    return sfail(st, LO_EIO);
}

static int on_sse(const lo_sse_event *sev, void *ud)
{
    stream_state *st = ud;
    if (st->failed || st->stopped)
        return st->failed;
    json_error_t je;
    json_t *data = json_loadb(sev->data, sev->data_len, 0, &je);
    if (!json_is_object(data)) {
        json_decref(data);
        return sfail(st, fail(st->err, LO_LLM_ERR_STREAM,
                              "malformed JSON in stream event \"%s\": %s", sev->type,
                              data ? "not an object" : je.text));
    }
    const char *type = lo_llm_jstr_(data, "type");
    if (!type)
        type = sev->type;
    int r = 0;
    if (strcmp(type, "response.created") == 0) {
        if (set_ids(st->resp, json_object_get(data, "response")) != 0) {
            r = sfail(st, oom(st->err));
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
        r = sfail(st, fail(st->err, LO_LLM_ERR_STREAM, "stream event %s before response.created",
                           type));
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
                r = sfail(st, oom(st->err));
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

static int on_data(const char *buf, size_t len, void *ud)
{
    stream_state *st = ud;
    int r = lo_sse_feed(st->sse, buf, len);
    if (r < 0 && !st->failed)
        sfail(st, r == LO_ENOMEM ? oom(st->err)
                                 : fail(st->err, LO_LLM_ERR_STREAM, "stream event over the size limit"));
    return st->failed;
}

static int openai_stream(const lo_llm_call *call, const lo_llm_request *req, lo_llm_event_fn fn,
                         void *ud, lo_llm_response **out, lo_llm_error *err)
{
    *out = NULL;
    stream_state st = {.fn = fn, .ud = ud, .err = err};
    st.resp = lo_llm_response_new();
    st.sse = st.resp ? lo_sse_new(on_sse, &st, 0) : NULL;
    if (!st.sse) {
        lo_llm_response_free(st.resp);
        return oom(err);
    }
    lo_http_result res;
    lo_error he = {0};
    int hrc = 0;
    bool dropped_stop = false;
    memset(&res, 0, sizeof res);
    int rc = send_request(call, req, true, on_data, &st, &res, &hrc, &he, &dropped_stop, err);
    if (rc) {
        /* nothing was sent */
    } else if (st.failed) {
        rc = st.rc;
    } else if (hrc) {
        rc = lo_llm_transport_error_(hrc, &he, err, PROVIDER);
    } else if (res.status < 200 || res.status > 299) {
        rc = lo_llm_openai_http_error_(&res, err, PROVIDER);
    } else if (!st.stopped) {
        rc = fail(err, LO_LLM_ERR_STREAM, "the stream ended before response.completed");
    }
    lo_sse_finish(st.sse);
    if (rc == 0 && warn_stop(st.resp, dropped_stop) != 0)
        rc = oom(err);
    if (rc == 0) {
        lo_llm_openai_rate_limit_(res.headers, st.resp);
        *out = st.resp;
        st.resp = NULL;
    } else if (st.delivered && err->kind != LO_LLM_ERR_ABORT && fn) {
        lo_llm_stream_error_event_(fn, ud, err);
    }
    lo_http_result_release(&res);
    lo_sse_free(st.sse);
    for (size_t i = 0; i < st.n_items; i++)
        item_release(&st.items[i]);
    free(st.items);
    lo_llm_response_free(st.resp);
    return rc;
}

const lo_llm_adapter lo_llm_openai_adapter = {
    .name = PROVIDER,
    .api_key_env = "OPENAI_API_KEY",
    .base_url_env = "OPENAI_BASE_URL",
    .default_base_url = "https://api.openai.com/v1",
    .complete = openai_complete,
    .stream = openai_stream,
};
