/* The OpenAI Responses API adapter (unified-llm-spec §7 for OpenAI): request
 * translation to input items, response and error translation, rate limits
 * from the x-ratelimit-* headers; openai_stream.c translates streams. One
 * blocking libcurl call per request (adapter_call.c). JSON is built and
 * read with jansson only. The client (client.c) retries; this
 * file never does. Chat Completions servers have their own adapter
 * (openai_chat.c): the two wire formats share little beyond the errors. */
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
int lo_llm_openai_add_item_(lo_llm_message *m, const json_t *it)
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
                rc = lo_llm_message_add_other_(m, ct, c);
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
        return rc ? rc : lo_llm_message_add_other_(m, "reasoning", it);
    }
    return lo_llm_message_add_other_(m, type, it);
}

/* OpenAI counts cached prompt tokens inside input_tokens; llm.h wants the
 * uncached part there and the cached part in cache_read_tokens. */
void lo_llm_openai_usage_from_(lo_llm_usage *u, const json_t *uj)
{
    if (!json_is_object(uj))
        return;
    int64_t in = lo_llm_count_(uj, "input_tokens"), out = lo_llm_count_(uj, "output_tokens");
    int64_t cached = lo_llm_count_(json_object_get(uj, "input_tokens_details"), "cached_tokens");
    u->cache_read_tokens = cached;
    u->input_tokens = in >= 0 && cached > 0 ? (in > cached ? in - cached : 0) : in;
    u->output_tokens = out;
    u->reasoning_tokens =
        lo_llm_count_(json_object_get(uj, "output_tokens_details"), "reasoning_tokens");
    int64_t total = lo_llm_count_(uj, "total_tokens");
    if (total < 0 && in >= 0 && out >= 0)
        total = in + out;
    u->total_tokens = total;
}

/* status (and incomplete_details.reason) -> the finish reason. A completed
 * response that called functions finished for tool calls. */
int lo_llm_openai_set_finish_(lo_llm_response *r, const json_t *root)
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

static int parse_response(json_t *root, lo_llm_response *r, lo_llm_error *err)
{
    json_t *output = json_object_get(root, "output");
    if (!json_is_array(output))
        return fail(err, LO_LLM_ERR_PROVIDER,
                    "unexpected response: not a response object with an output array");
    if (lo_llm_set_ids_(r, root, PROVIDER) != 0)
        return oom(err);
    size_t i;
    json_t *it;
    json_array_foreach(output, i, it)
    {
        if (lo_llm_openai_add_item_(r->message, it) != 0)
            return oom(err);
    }
    if (lo_llm_openai_set_finish_(r, root) != 0)
        return oom(err);
    lo_llm_openai_usage_from_(&r->usage, json_object_get(root, "usage"));
    return 0;
}

/* ---- the exchange (adapter_call.c runs it) ---- */

static int prepare(const lo_llm_call *call, const lo_llm_request *req, bool streaming,
                   lo_llm_prepared_ *p, lo_llm_error *err)
{
    json_t *body;
    int rc = build_body(req, streaming, &body, &p->dropped_stop, err);
    if (rc)
        return rc;
    p->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!p->body || !lo_llm_openai_headers_(&p->h, call, streaming, true))
        return oom(err);
    snprintf(p->url, sizeof p->url, "%s/responses", call->base_url);
    return 0;
}

static int annotate(const lo_http_result *res, const lo_llm_prepared_ *p, lo_llm_response *r,
                    lo_llm_error *err)
{
    if (p->dropped_stop &&
        lo_llm_response_add_warning(r, "stop sequences were not sent: the Responses API has none",
                                    "unsupported_parameter") != 0)
        return oom(err);
    lo_llm_openai_rate_limit_(res->headers, r);
    lo_llm_keep_request_id_(r->raw, res->headers, "x-request-id");
    return 0;
}

static int http_error(const lo_http_result *res, lo_llm_error *err)
{
    return lo_llm_openai_http_error_(res, err, PROVIDER);
}

const lo_llm_wire_ lo_llm_openai_wire_ = {
    .provider = PROVIDER,
    .prepare = prepare,
    .http_error = http_error,
    .parse = parse_response,
    .annotate = annotate,
    .last_event = "response.completed",
};

static int openai_complete(const lo_llm_call *call, const lo_llm_request *req,
                           lo_llm_response **out, lo_llm_error *err)
{
    return lo_llm_complete_run_(&lo_llm_openai_wire_, call, req, out, err);
}

const lo_llm_adapter lo_llm_openai_adapter = {
    .name = PROVIDER,
    .api_key_env = "OPENAI_API_KEY",
    .base_url_env = "OPENAI_BASE_URL",
    .default_base_url = "https://api.openai.com/v1",
    .complete = openai_complete,
    .stream = lo_llm_openai_stream_,
};
