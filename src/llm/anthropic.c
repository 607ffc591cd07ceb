/* The Anthropic Messages API adapter (unified-llm-spec §7 for Anthropic):
 * request translation with automatic prompt-cache breakpoints (§2.10),
 * response and error translation; anthropic_stream.c translates streams.
 * One blocking libcurl call per request (adapter_call.c). JSON is built and
 * read with jansson only. The client (client.c) retries; this file never
 * does. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lightsout/http.h"
#include "lightsout/llm.h"
#include "lightsout/net.h"

#include "adapter_internal.h"

#define PROVIDER "anthropic"

/* A budget below this is refused by the API. */
#define MIN_THINKING_BUDGET 1024
/* Room left for the answer when thinking raises the max_tokens default. */
#define ANSWER_ROOM 4096

/* ---- small helpers (shared ones in adapter_internal.h) ---- */

#define fail(err, kind, ...) lo_llm_fail_((err), PROVIDER, (kind), __VA_ARGS__)
#define oom(err) lo_llm_oom_((err), PROVIDER)

/* The anthropic section of provider_options (borrowed), or NULL. */
static json_t *anthropic_options(const lo_llm_request *req)
{
    json_t *o = json_object_get(req->provider_options, PROVIDER);
    return json_is_object(o) ? o : NULL;
}

/* ---- request translation (§7.3) ---- */

/* {"type": "url"|"base64", ...} for an image or document. */
static json_t *media_source(const lo_llm_media *m, lo_llm_content_kind kind, lo_llm_error *err,
                            int *rc)
{
    json_t *src = json_object();
    if (!src)
        return *rc = oom(err), NULL;
    bool ok = true;
    const char *deflt = kind == LO_CONTENT_DOCUMENT ? "application/pdf" : "image/png";
    if (m->url && strncmp(m->url, "data:", 5) == 0) {
        /* data:<mime>;base64,<data> goes as a base64 source: the API takes
         * only http(s) URLs. */
        const char *semi = strstr(m->url, ";base64,");
        if (!semi) {
            json_decref(src);
            *rc = fail(err, LO_LLM_ERR_INVALID_REQUEST, "a data: URL must be base64-encoded");
            return NULL;
        }
        char *mime = lo_strndup(m->url + 5, (size_t)(semi - m->url - 5));
        ok = mime && lo_llm_put_(src, "type", json_string("base64")) &&
             lo_llm_put_(src, "media_type", json_string(*mime ? mime : deflt)) &&
             lo_llm_put_(src, "data", json_string(semi + 8));
        free(mime);
    } else if (m->url) {
        ok = lo_llm_put_(src, "type", json_string("url")) &&
             lo_llm_put_(src, "url", json_string(m->url));
    } else {
        char *data = NULL;
        const char *b64 = m->data;
        const char *type = m->media_type ? m->media_type : deflt;
        if (m->path) {
            char *bytes = NULL;
            size_t len = 0;
            lo_error fe;
            if (lo_file_read(m->path, 0, &bytes, &len, &fe) != 0) {
                json_decref(src);
                *rc = fail(err, LO_LLM_ERR_INVALID_REQUEST, "%s", fe.msg);
                return NULL;
            }
            data = lo_llm_base64_encode_((const unsigned char *)bytes, len);
            free(bytes);
            if (!data) {
                json_decref(src);
                return *rc = oom(err), NULL;
            }
            b64 = data;
            if (!m->media_type)
                type = lo_llm_guess_type_(m->path, kind);
        }
        ok = lo_llm_put_(src, "type", json_string("base64")) &&
             lo_llm_put_(src, "media_type", json_string(type)) &&
             lo_llm_put_(src, "data", json_string(b64));
        free(data);
    }
    if (!ok) {
        json_decref(src);
        return *rc = oom(err), NULL;
    }
    return src;
}

static json_t *media_block(const lo_llm_media *m, lo_llm_content_kind kind, lo_llm_error *err,
                           int *rc)
{
    json_t *src = media_source(m, kind, err, rc);
    if (!src)
        return NULL;
    json_t *b = json_object();
    bool ok =
        lo_llm_put_(b, "source", src) &&
        lo_llm_put_(b, "type", json_string(kind == LO_CONTENT_DOCUMENT ? "document" : "image"));
    if (ok && kind == LO_CONTENT_DOCUMENT && m->file_name)
        ok = lo_llm_put_(b, "title", json_string(m->file_name));
    if (!ok) {
        json_decref(b);
        return *rc = oom(err), NULL;
    }
    return b;
}

/* Tool result content is a string or a list of blocks: text stays a
 * string, JSON values travel as their JSON text, and an image result adds
 * an image block after the text. */
static json_t *tool_result_block(const lo_llm_tool_result *tr, lo_llm_error *err, int *rc)
{
    json_t *b = json_object();
    if (!b)
        return *rc = oom(err), NULL;
    char *dumped = NULL;
    const char *text = json_string_value(tr->content);
    if (!text && tr->content) {
        dumped = json_dumps(tr->content, JSON_COMPACT | JSON_ENCODE_ANY);
        text = dumped;
    }
    bool ok = lo_llm_put_(b, "type", json_string("tool_result")) &&
              lo_llm_put_(b, "tool_use_id", json_string(tr->tool_call_id)) && text;
    bool has_image = tr->image.url || tr->image.data || tr->image.path;
    if (ok && has_image) {
        json_t *content = json_array(), *tb = json_object();
        ok = lo_llm_push_if_(content, tb,
                             lo_llm_put_(tb, "type", json_string("text")) &&
                                 lo_llm_put_(tb, "text", json_string(text)));
        json_t *img = ok ? media_block(&tr->image, LO_CONTENT_IMAGE, err, rc) : NULL;
        if (ok && !img) {
            json_decref(content);
            json_decref(b);
            free(dumped);
            return NULL;
        }
        ok = lo_llm_push_(content, img) && ok;
        ok = lo_llm_put_(b, "content", content) && ok;
    } else if (ok) {
        ok = lo_llm_put_(b, "content", json_string(text));
    }
    if (ok && tr->is_error)
        ok = lo_llm_put_(b, "is_error", json_true());
    free(dumped);
    if (!ok) {
        json_decref(b);
        return *rc = oom(err), NULL;
    }
    return b;
}

/* One content block, or NULL with *rc == 0 for a part Anthropic cannot
 * take and that is dropped on purpose. */
static json_t *part_block(const lo_llm_message *m, const lo_llm_part *p, lo_llm_error *err,
                          int *rc)
{
    json_t *b = NULL;
    bool ok = true;
    *rc = 0;
    switch (p->kind) {
    case LO_CONTENT_TEXT:
        if (!p->text || !*p->text)
            return NULL; /* the API refuses empty text blocks */
        if (m->role == LO_ROLE_TOOL && m->tool_call_id) {
            /* A tool message carrying plain text answers its call. */
            lo_llm_tool_result tr = {.tool_call_id = m->tool_call_id};
            json_t *s = json_string(p->text);
            tr.content = s;
            b = s ? tool_result_block(&tr, err, rc) : NULL;
            json_decref(s);
            if (!b && !*rc)
                *rc = oom(err);
            return b;
        }
        b = json_object();
        ok = b && lo_llm_put_(b, "type", json_string("text")) &&
             lo_llm_put_(b, "text", json_string(p->text));
        break;
    case LO_CONTENT_IMAGE:
    case LO_CONTENT_DOCUMENT:
        return media_block(&p->media, p->kind, err, rc);
    case LO_CONTENT_AUDIO:
        *rc = fail(err, LO_LLM_ERR_INVALID_REQUEST, "the Anthropic Messages API takes no audio input");
        return NULL;
    case LO_CONTENT_TOOL_CALL: {
        json_t *input = NULL;
        if (json_is_object(p->tool_call.arguments))
            input = json_deep_copy(p->tool_call.arguments);
        else if (p->tool_call.raw_arguments) {
            input = json_loads(p->tool_call.raw_arguments, 0, NULL);
            if (!json_is_object(input)) {
                json_decref(input);
                input = NULL;
            }
        }
        /* The API insists on an object; arguments that were not one (the
         * model's mistake, already reported to it) go back empty. */
        if (!input)
            input = json_object();
        b = json_object();
        ok = lo_llm_put_(b, "input", input) && lo_llm_put_(b, "type", json_string("tool_use")) &&
             lo_llm_put_(b, "id", json_string(p->tool_call.id)) &&
             lo_llm_put_(b, "name", json_string(p->tool_call.name));
        break;
    }
    case LO_CONTENT_TOOL_RESULT:
        return tool_result_block(&p->tool_result, err, rc);
    case LO_CONTENT_THINKING:
        /* Without a signature the API rejects the block (thinking from
         * another provider, or made up): it is dropped. */
        if (!p->thinking.signature)
            return NULL;
        b = json_object();
        ok = b && lo_llm_put_(b, "type", json_string("thinking")) &&
             lo_llm_put_(b, "thinking", json_string(p->thinking.text ? p->thinking.text : "")) &&
             lo_llm_put_(b, "signature", json_string(p->thinking.signature));
        break;
    case LO_CONTENT_REDACTED_THINKING:
        b = json_object();
        ok = b && lo_llm_put_(b, "type", json_string("redacted_thinking")) &&
             lo_llm_put_(b, "data", json_string(p->redacted.data));
        break;
    case LO_CONTENT_OTHER:
        /* A block this adapter does not model (server tool use, ...) goes
         * back exactly as it came. */
        if (!json_is_object(p->other.raw))
            return NULL;
        if (!(b = json_deep_copy(p->other.raw)))
            ok = false;
        break;
    }
    if (!ok) {
        json_decref(b);
        *rc = oom(err);
        return NULL;
    }
    return b;
}

/* reasoning_effort -> thinking budget_tokens; 0 = thinking off. */
static int effort_budget(const char *effort, int64_t *budget)
{
    static const struct {
        const char *name;
        int64_t budget;
    } map[] = {{"none", 0},     {"minimal", 0},     {"low", 2048},
               {"medium", 8192}, {"high", 16384},    {"xhigh", 32768},
               {"max", 32768}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(effort, map[i].name) == 0) {
            *budget = map[i].budget;
            return 0;
        }
    return LO_EINVAL;
}

/* cache_control on a block that may carry one. */
static bool mark_cache(json_t *block)
{
    if (!json_is_object(block) || json_object_get(block, "cache_control"))
        return true;
    const char *t = lo_llm_jstr_(block, "type");
    if (t && (strcmp(t, "thinking") == 0 || strcmp(t, "redacted_thinking") == 0))
        return true; /* the API refuses cache_control on thinking blocks */
    json_t *cc = json_object();
    return lo_llm_put_(block, "cache_control", cc) &&
           lo_llm_put_(cc, "type", json_string("ephemeral"));
}

/* The §2.10 heuristic: three breakpoints, on the end of the system prompt,
 * on the last tool definition, and on the last block of the last user
 * message. Each marks the end of a prefix that the next turn of an agent
 * loop repeats unchanged, so the next request reads it from the cache; the
 * API allows four per request. */
static bool add_cache_breakpoints(json_t *body)
{
    json_t *system = json_object_get(body, "system");
    json_t *tools = json_object_get(body, "tools");
    json_t *msgs = json_object_get(body, "messages");
    bool ok = true;
    if (json_is_array(system) && json_array_size(system))
        ok = mark_cache(json_array_get(system, json_array_size(system) - 1));
    if (ok && json_is_array(tools) && json_array_size(tools))
        ok = mark_cache(json_array_get(tools, json_array_size(tools) - 1));
    for (size_t i = json_array_size(msgs); ok && i-- > 0;) {
        json_t *m = json_array_get(msgs, i);
        if (!lo_str_eq(lo_llm_jstr_(m, "role"), "user"))
            continue;
        json_t *content = json_object_get(m, "content");
        if (json_array_size(content))
            ok = mark_cache(json_array_get(content, json_array_size(content) - 1));
        break;
    }
    return ok;
}

/* The Messages API body for req, and the anthropic-beta header value
 * (*beta, NULL when none). */
static int build_body(const lo_llm_request *req, bool streaming, json_t **out, char **beta,
                      lo_llm_error *err)
{
    *out = NULL;
    *beta = NULL;
    json_t *body = json_object(), *system = json_array(), *msgs = json_array();
    int rc = 0;
    if (!body || !system || !msgs) {
        json_decref(body);
        json_decref(system);
        json_decref(msgs);
        return oom(err);
    }
    bool ok = lo_llm_put_(body, "model", json_string(req->model));

    for (size_t i = 0; ok && !rc && i < req->n_messages; i++) {
        const lo_llm_message *m = req->messages[i];
        if (m->role == LO_ROLE_SYSTEM || m->role == LO_ROLE_DEVELOPER) {
            /* Both become the top-level system prompt, in order. */
            for (size_t j = 0; ok && j < m->n_parts; j++) {
                const lo_llm_part *p = &m->parts[j];
                if (p->kind != LO_CONTENT_TEXT || !p->text || !*p->text)
                    continue;
                json_t *b = json_object();
                ok = lo_llm_push_if_(system, b,
                                     lo_llm_put_(b, "type", json_string("text")) &&
                                         lo_llm_put_(b, "text", json_string(p->text)));
            }
            continue;
        }
        const char *role = m->role == LO_ROLE_ASSISTANT ? "assistant" : "user";
        json_t *content = json_array();
        ok = content != NULL;
        for (size_t j = 0; ok && !rc && j < m->n_parts; j++) {
            json_t *b = part_block(m, &m->parts[j], err, &rc);
            if (b)
                ok = lo_llm_push_(content, b);
        }
        if (!ok || rc || json_array_size(content) == 0) {
            json_decref(content);
            continue;
        }
        /* Strict alternation: a message with the role of the one before
         * (tool results after tool results, a user turn after them) joins it. */
        json_t *last = json_array_size(msgs) ? json_array_get(msgs, json_array_size(msgs) - 1)
                                              : NULL;
        if (last && lo_str_eq(lo_llm_jstr_(last, "role"), role)) {
            ok = json_array_extend(json_object_get(last, "content"), content) == 0;
            json_decref(content);
        } else {
            json_t *msg = json_object();
            ok = lo_llm_put_(msg, "content", content);
            ok = lo_llm_push_if_(msgs, msg, ok && lo_llm_put_(msg, "role", json_string(role)));
        }
    }
    if (rc || !ok) {
        json_decref(body);
        json_decref(system);
        json_decref(msgs);
        return rc ? rc : oom(err);
    }
    if (json_array_size(system))
        ok = lo_llm_put_(body, "system", system);
    else
        json_decref(system);
    ok = ok && lo_llm_put_(body, "messages", msgs);

    /* max_tokens is required by the API; thinking needs room above its budget. */
    int64_t budget = 0;
    if (ok && req->reasoning_effort && effort_budget(req->reasoning_effort, &budget) != 0) {
        json_decref(body);
        return fail(err, LO_LLM_ERR_INVALID_REQUEST,
                    "unknown reasoning_effort \"%s\" (none, minimal, low, medium, high, xhigh, max)",
                    req->reasoning_effort);
    }
    int64_t max_tokens = req->has_max_tokens ? req->max_tokens
                         : budget ? budget + ANSWER_ROOM
                                  : LO_LLM_ANTHROPIC_DEFAULT_MAX_TOKENS;
    if (budget && budget >= max_tokens)
        budget = max_tokens - 1;
    if (budget && budget < MIN_THINKING_BUDGET) {
        json_decref(body);
        return fail(err, LO_LLM_ERR_INVALID_REQUEST,
                    "max_tokens %lld leaves no room for thinking (needs more than %d)",
                    (long long)max_tokens, MIN_THINKING_BUDGET);
    }
    ok = ok && lo_llm_put_(body, "max_tokens", json_integer(max_tokens));
    if (ok && budget) {
        json_t *th = json_object();
        ok = lo_llm_put_(body, "thinking", th) && lo_llm_put_(th, "type", json_string("enabled")) &&
             lo_llm_put_(th, "budget_tokens", json_integer(budget));
    }
    if (ok && req->has_temperature)
        ok = lo_llm_put_(body, "temperature", json_real(req->temperature));
    if (ok && req->has_top_p)
        ok = lo_llm_put_(body, "top_p", json_real(req->top_p));
    if (ok && req->n_stop) {
        json_t *st = json_array();
        ok = lo_llm_put_(body, "stop_sequences", st);
        for (size_t i = 0; ok && i < req->n_stop; i++)
            ok = lo_llm_push_(st, json_string(req->stop[i]));
    }
    /* The API's metadata takes a user_id only; other keys would be refused. */
    const char *uid = lo_llm_jstr_(req->metadata, "user_id");
    if (ok && uid) {
        json_t *md = json_object();
        ok = lo_llm_put_(body, "metadata", md) && lo_llm_put_(md, "user_id", json_string(uid));
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
            ok = lo_llm_put_(tj, "input_schema", schema);
            ok = lo_llm_push_if_(tools, tj,
                                 ok && lo_llm_put_(tj, "name", json_string(t->name)) &&
                                     (!t->description || !*t->description ||
                                      lo_llm_put_(tj, "description", json_string(t->description))));
        }
        /* Without a choice the API's default (auto) applies. "none" keeps
         * the tools in the request: history may hold tool_use blocks, which
         * the API accepts only alongside tool definitions. */
        if (ok && req->has_tool_choice) {
            json_t *tc = json_object();
            ok = lo_llm_put_(body, "tool_choice", tc);
            const char *type = req->tool_choice.mode == LO_TOOL_CHOICE_REQUIRED ? "any"
                               : req->tool_choice.mode == LO_TOOL_CHOICE_NAMED  ? "tool"
                               : req->tool_choice.mode == LO_TOOL_CHOICE_NONE   ? "none"
                                                                                : "auto";
            ok = ok && lo_llm_put_(tc, "type", json_string(type)) &&
                 (req->tool_choice.mode != LO_TOOL_CHOICE_NAMED ||
                  lo_llm_put_(tc, "name", json_string(req->tool_choice.tool_name)));
        }
    } else if (ok && req->has_tool_choice && req->tool_choice.mode == LO_TOOL_CHOICE_NAMED) {
        json_decref(body);
        return fail(err, LO_LLM_ERR_INVALID_REQUEST,
                    "tool_choice names tool \"%s\" but the request defines no tools",
                    req->tool_choice.tool_name);
    }
    if (ok && streaming)
        ok = lo_llm_put_(body, "stream", json_true());

    /* provider_options.anthropic: beta_headers and auto_cache are ours;
     * every other key goes into the body as given (top_k, service_tier, a
     * hand-made thinking object, ...), over what the translation set. */
    bool auto_cache = true;
    json_t *opts = anthropic_options(req);
    const char *key;
    json_t *val;
    lo_buf bb;
    lo_buf_init(&bb, 0);
    json_object_foreach(opts, key, val)
    {
        if (!ok)
            break;
        if (strcmp(key, "auto_cache") == 0) {
            auto_cache = !json_is_false(val);
        } else if (strcmp(key, "beta_headers") == 0) {
            if (json_is_string(val)) {
                ok = lo_buf_puts(&bb, json_string_value(val)) == 0;
            } else {
                size_t i;
                json_t *h;
                json_array_foreach(val, i, h)
                {
                    if (!json_is_string(h) || !ok)
                        continue;
                    ok = (!bb.len || lo_buf_putc(&bb, ',') == 0) &&
                         lo_buf_puts(&bb, json_string_value(h)) == 0;
                }
            }
        } else {
            ok = json_object_set(body, key, val) == 0;
        }
    }
    if (ok && auto_cache)
        ok = add_cache_breakpoints(body);
    if (!ok) {
        lo_buf_release(&bb);
        json_decref(body);
        return oom(err);
    }
    *beta = bb.len ? lo_buf_steal(&bb) : NULL;
    lo_buf_release(&bb);
    *out = body;
    return 0;
}

/* ---- HTTP ---- */

/* The request headers, NULL-terminated in h->v (the caller's extras last,
 * borrowed). */
static bool build_headers(lo_llm_headers_ *h, const lo_llm_call *call, const char *beta,
                          bool streaming)
{
    memset(h, 0, sizeof *h);
    bool ok = lo_llm_header_add_(h, call->headers, "x-api-key", call->api_key) &&
              lo_llm_header_add_(h, call->headers, "anthropic-version", LO_LLM_ANTHROPIC_VERSION) &&
              lo_llm_header_add_(h, call->headers, "content-type", "application/json") &&
              lo_llm_header_add_(h, call->headers, "accept",
                                 streaming ? "text/event-stream" : "application/json") &&
              (!beta || lo_llm_header_add_(h, call->headers, "anthropic-beta", beta));
    if (!ok) {
        lo_llm_headers_release_(h);
        return false;
    }
    return true;
}

/* RFC 3339 "2025-01-01T00:00:30Z" -> Unix ms; -1 when unreadable. */
static int64_t parse_rfc3339_ms(const char *v)
{
    int Y, M, D, h, m;
    double s;
    if (!v || sscanf(v, "%d-%d-%dT%d:%d:%lf", &Y, &M, &D, &h, &m, &s) != 6)
        return -1;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D,
                    .tm_hour = h, .tm_min = m, .tm_sec = (int)s};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    int64_t ms = (int64_t)t * 1000 + (int64_t)((s - (int)s) * 1000);
    /* An offset other than Z: "+hh:mm" / "-hh:mm" after the seconds. */
    const char *tz = strpbrk(v + 19, "Zz+-");
    int oh, om;
    if (tz && (*tz == '+' || *tz == '-') && sscanf(tz + 1, "%d:%d", &oh, &om) == 2)
        ms -= (*tz == '+' ? 1 : -1) * ((int64_t)oh * 3600 + om * 60) * 1000;
    return ms;
}

/* anthropic-ratelimit-* headers -> rate_limit; the reset time is the
 * earlier of the request and token windows. */
static void rate_limit_from_headers(const json_t *hdrs, lo_llm_response *r)
{
    lo_llm_rate_limit *rl = &r->rate_limit;
    rl->requests_limit = lo_llm_header_int_(hdrs, "anthropic-ratelimit-requests-limit");
    rl->requests_remaining = lo_llm_header_int_(hdrs, "anthropic-ratelimit-requests-remaining");
    rl->tokens_limit = lo_llm_header_int_(hdrs, "anthropic-ratelimit-tokens-limit");
    rl->tokens_remaining = lo_llm_header_int_(hdrs, "anthropic-ratelimit-tokens-remaining");
    int64_t a = parse_rfc3339_ms(lo_llm_jstr_(hdrs, "anthropic-ratelimit-requests-reset"));
    int64_t b = parse_rfc3339_ms(lo_llm_jstr_(hdrs, "anthropic-ratelimit-tokens-reset"));
    rl->reset_at_ms = a < 0 ? b : b < 0 ? a : a < b ? a : b;
    r->has_rate_limit = rl->requests_limit >= 0 || rl->requests_remaining >= 0 ||
                        rl->tokens_limit >= 0 || rl->tokens_remaining >= 0 ||
                        rl->reset_at_ms >= 0;
}

/* Anthropic's error types as the statuses they come with, so an error
 * event inside a stream classifies like the same error over HTTP. */
int lo_llm_anthropic_status_of_type_(const char *type)
{
    static const struct {
        const char *type;
        int status;
    } map[] = {{"invalid_request_error", 400}, {"authentication_error", 401},
               {"billing_error", 402},         {"permission_error", 403},
               {"not_found_error", 404},       {"request_too_large", 413},
               {"rate_limit_error", 429},      {"timeout_error", 504},
               {"api_error", 500},             {"overloaded_error", 529}};
    for (size_t i = 0; type && i < sizeof map / sizeof *map; i++)
        if (strcmp(type, map[i].type) == 0)
            return map[i].status;
    return 0;
}

/* §7.6: an HTTP error response -> the taxonomy. */
static int http_error(const lo_http_result *res, lo_llm_error *err)
{
    json_t *body = res->body.len ? json_loadb(res->body.data, res->body.len, 0, NULL) : NULL;
    json_t *e = json_object_get(body, "error");
    const char *type = lo_llm_jstr_(e, "type");
    const char *msg = lo_llm_jstr_(e, "message");
    char text[300];
    if (!msg)
        msg = lo_llm_quote_body_(res, text, sizeof text);
    lo_llm_error_from_http(err, PROVIDER, (int)res->status, type, msg);
    if (res->status == 402 && err->kind == LO_LLM_ERR_PROVIDER) {
        err->kind = LO_LLM_ERR_QUOTA_EXCEEDED; /* Anthropic's billing_error */
        err->retryable = false;
    }
    err->retry_after = lo_llm_parse_retry_after_(lo_llm_jstr_(res->headers, "retry-after"));
    const char *rid = lo_llm_jstr_(body, "request_id");
    if (!rid)
        rid = lo_llm_jstr_(res->headers, "request-id");
    size_t used = strlen(err->message);
    snprintf(err->message + used, sizeof err->message - used, " (HTTP %ld%s%s%s%s)",
             res->status, type ? " " : "", type ? type : "", rid ? ", request_id " : "",
             rid ? rid : "");
    json_decref(body);
    return LO_EIO;
}

/* ---- response translation (§7.5) ---- */

/* One response content block -> one part. */
static int add_block(lo_llm_message *m, const json_t *b)
{
    const char *type = lo_llm_jstr_(b, "type");
    if (lo_str_eq(type, "text"))
        return lo_llm_message_add_text(m, lo_llm_jstr_(b, "text") ? lo_llm_jstr_(b, "text") : "");
    if (lo_str_eq(type, "thinking"))
        return lo_llm_message_add_thinking(
            m, lo_llm_jstr_(b, "thinking") ? lo_llm_jstr_(b, "thinking") : "",
            lo_llm_jstr_(b, "signature"));
    if (lo_str_eq(type, "redacted_thinking") && lo_llm_jstr_(b, "data"))
        return lo_llm_message_add_redacted_thinking(m, lo_llm_jstr_(b, "data"));
    if (lo_str_eq(type, "tool_use") && lo_llm_jstr_(b, "id") && lo_llm_jstr_(b, "name")) {
        json_t *in = json_object_get(b, "input");
        if (json_is_object(in))
            return lo_llm_message_add_tool_call(m, lo_llm_jstr_(b, "id"), lo_llm_jstr_(b, "name"),
                                                json_deep_copy(in), NULL);
        char *raw = in ? json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY) : lo_strdup("{}");
        int rc = raw ? lo_llm_message_add_tool_call(m, lo_llm_jstr_(b, "id"),
                                                    lo_llm_jstr_(b, "name"), NULL, raw)
                     : LO_ENOMEM;
        free(raw);
        return rc;
    }
    return lo_llm_message_add_other_(m, type, b);
}

/* Merge the counts a usage object reports (a stream reports them in two
 * halves) and recompute the total. Anthropic's input_tokens is already
 * the uncached input, as llm.h wants it. */
void lo_llm_anthropic_usage_merge_(lo_llm_usage *u, const json_t *uj)
{
    if (!json_is_object(uj))
        return;
    int64_t v;
    if ((v = lo_llm_count_(uj, "input_tokens")) >= 0)
        u->input_tokens = v;
    if ((v = lo_llm_count_(uj, "output_tokens")) >= 0)
        u->output_tokens = v;
    if ((v = lo_llm_count_(uj, "cache_read_input_tokens")) >= 0)
        u->cache_read_tokens = v;
    if ((v = lo_llm_count_(uj, "cache_creation_input_tokens")) >= 0)
        u->cache_write_tokens = v;
    int64_t parts[] = {u->input_tokens, u->output_tokens, u->cache_read_tokens,
                       u->cache_write_tokens};
    int64_t total = LO_TOKENS_UNREPORTED;
    for (size_t i = 0; i < 4; i++)
        if (parts[i] >= 0)
            total = (total < 0 ? 0 : total) + parts[i];
    u->total_tokens = total;
}

/* A whole Messages API response body -> r. */
static int parse_response(json_t *root, lo_llm_response *r, lo_llm_error *err)
{
    json_t *content = json_object_get(root, "content");
    if (!lo_str_eq(lo_llm_jstr_(root, "type"), "message") || !json_is_array(content))
        return fail(err, LO_LLM_ERR_PROVIDER,
                    "unexpected response: not a message object with a content array");
    if (lo_llm_set_ids_(r, root, PROVIDER) != 0)
        return oom(err);
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b)
    {
        if (add_block(r->message, b) != 0)
            return oom(err);
    }
    if (lo_llm_set_finish_(r, PROVIDER, lo_llm_jstr_(root, "stop_reason")) != 0)
        return oom(err);
    lo_llm_anthropic_usage_merge_(&r->usage, json_object_get(root, "usage"));
    return 0;
}

/* ---- the exchange (adapter_call.c runs it) ---- */

static int prepare(const lo_llm_call *call, const lo_llm_request *req, bool streaming,
                   lo_llm_prepared_ *p, lo_llm_error *err)
{
    json_t *body;
    char *beta;
    int rc = build_body(req, streaming, &body, &beta, err);
    if (rc)
        return rc;
    p->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    bool ok = p->body && build_headers(&p->h, call, beta, streaming);
    free(beta);
    if (!ok)
        return oom(err);
    snprintf(p->url, sizeof p->url, "%s/v1/messages", call->base_url);
    return 0;
}

static int annotate(const lo_http_result *res, const lo_llm_prepared_ *p, lo_llm_response *r,
                    lo_llm_error *err)
{
    rate_limit_from_headers(res->headers, r);
    lo_llm_keep_request_id_(r->raw, res->headers, "request-id");
    return 0;
}

const lo_llm_wire_ lo_llm_anthropic_wire_ = {
    .provider = PROVIDER,
    .prepare = prepare,
    .http_error = http_error,
    .parse = parse_response,
    .annotate = annotate,
    .last_event = "message_stop",
};

static int anthropic_complete(const lo_llm_call *call, const lo_llm_request *req,
                              lo_llm_response **out, lo_llm_error *err)
{
    return lo_llm_complete_run_(&lo_llm_anthropic_wire_, call, req, out, err);
}

const lo_llm_adapter lo_llm_anthropic_adapter = {
    .name = PROVIDER,
    .api_key_env = "ANTHROPIC_API_KEY",
    .base_url_env = "ANTHROPIC_BASE_URL",
    .default_base_url = "https://api.anthropic.com",
    .complete = anthropic_complete,
    .stream = lo_llm_anthropic_stream_,
};
