/* The Gemini API adapter (unified-llm-spec §7 for Gemini): generateContent
 * and streamGenerateContent?alt=sse on {base}/v1beta/models/{model}. The key
 * goes in the x-goog-api-key header, never in the URL, so it cannot leak
 * through logs of URLs. Gemini has no tool call ids: responses get synthetic
 * "call_<n>" ids, and a tool result finds its function name by looking the id
 * up among the calls earlier in the request. docs/llm.md lists the
 * translation choices. The client (client.c) retries; this file never does. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lightsout/http.h"
#include "lightsout/llm.h"
#include "lightsout/net.h"

#include "adapter_internal.h"

#define PROVIDER "gemini"

/* ---- small helpers (shared ones in adapter_internal.h) ---- */

#define fail(err, kind, ...) lo_llm_fail_((err), PROVIDER, (kind), __VA_ARGS__)
#define oom(err) lo_llm_oom_((err), PROVIDER)

/* ---- media: inlineData for bytes, fileData for URLs ---- */

static const char *default_type(lo_llm_content_kind kind)
{
    return kind == LO_CONTENT_DOCUMENT ? "application/pdf"
           : kind == LO_CONTENT_AUDIO  ? "audio/wav"
                                       : "image/png";
}

/* fileData and inlineData both need a MIME type: from the name's extension
 * when the caller gave none. */
static const char *guess_type(const char *name, lo_llm_content_kind kind)
{
    const char *dot = name ? strrchr(name, '.') : NULL;
    static const struct {
        const char *ext, *type;
    } map[] = {{".png", "image/png"},  {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"},
               {".gif", "image/gif"},  {".webp", "image/webp"}, {".pdf", "application/pdf"},
               {".txt", "text/plain"}, {".md", "text/plain"},  {".wav", "audio/wav"},
               {".mp3", "audio/mp3"}};
    for (size_t i = 0; dot && i < sizeof map / sizeof *map; i++)
        if (strcasecmp(dot, map[i].ext) == 0)
            return map[i].type;
    return default_type(kind);
}

static json_t *inline_part(const char *type, const char *b64)
{
    json_t *p = json_object(), *d = json_object();
    if (lo_llm_put_(p, "inlineData", d) && lo_llm_put_(d, "mimeType", json_string(type)) &&
        lo_llm_put_(d, "data", json_string(b64)))
        return p;
    json_decref(p);
    return NULL;
}

static json_t *media_part(const lo_llm_media *m, lo_llm_content_kind kind, lo_llm_error *err,
                          int *rc)
{
    json_t *p = NULL;
    if (m->url && strncmp(m->url, "data:", 5) == 0) {
        /* data:<type>;base64,<data> is inline data under another name. */
        const char *semi = strstr(m->url, ";base64,");
        if (!semi)
            return *rc = fail(err, LO_LLM_ERR_INVALID_REQUEST,
                              "a data: URL must be base64 (data:<type>;base64,...)"),
                   NULL;
        char type[128];
        snprintf(type, sizeof type, "%.*s", (int)(semi - m->url - 5), m->url + 5);
        p = inline_part(m->media_type ? m->media_type : type, semi + 8);
    } else if (m->url) {
        json_t *d = json_object();
        p = json_object();
        if (!lo_llm_put_(p, "fileData", d) ||
            !lo_llm_put_(d, "mimeType",
                         json_string(m->media_type ? m->media_type : guess_type(m->url, kind))) ||
            !lo_llm_put_(d, "fileUri", json_string(m->url))) {
            json_decref(p);
            p = NULL;
        }
    } else if (m->data) {
        p = inline_part(m->media_type ? m->media_type : default_type(kind), m->data);
    } else if (m->path) {
        char *bytes = NULL;
        size_t len = 0;
        lo_error fe;
        if (lo_file_read(m->path, 0, &bytes, &len, &fe) != 0)
            return *rc = fail(err, LO_LLM_ERR_INVALID_REQUEST, "%s", fe.msg), NULL;
        char *b64 = lo_llm_base64_encode_((const unsigned char *)bytes, len);
        free(bytes);
        if (b64)
            p = inline_part(m->media_type ? m->media_type : guess_type(m->path, kind), b64);
        free(b64);
    }
    if (!p)
        *rc = oom(err);
    return p;
}

/* ---- JSON Schema -> Gemini's OpenAPI 3.0 subset ---- */

/* Keys Gemini's Schema object knows; everything else is dropped (it answers
 * an unknown key with INVALID_ARGUMENT). */
static const char *const SCHEMA_KEYS[] = {
    "type",     "title",     "description", "nullable",      "default",       "example",
    "enum",     "required",  "minItems",    "maxItems",      "minProperties", "maxProperties",
    "minimum",  "maximum",   "minLength",   "maxLength",     "pattern",       "propertyOrdering",
};

/* A copy of s in Gemini's subset: type arrays with "null" become nullable,
 * const becomes a one-value enum, oneOf becomes anyOf (looser, never
 * stricter), format survives only where Gemini gives it meaning; $schema,
 * $ref/$defs, additionalProperties, allOf, not, examples and the like go. */
static json_t *adapt_schema(const json_t *s)
{
    if (!json_is_object(s))
        return json_is_boolean(s) ? json_object() : json_deep_copy(s);
    json_t *o = json_object();
    if (!o)
        return NULL;
    bool ok = true;
    for (size_t i = 0; ok && i < sizeof SCHEMA_KEYS / sizeof *SCHEMA_KEYS; i++) {
        json_t *v = json_object_get(s, SCHEMA_KEYS[i]);
        if (v)
            ok = lo_llm_put_(o, SCHEMA_KEYS[i], json_deep_copy(v));
    }
    json_t *type = json_object_get(s, "type");
    if (ok && json_is_array(type)) {
        /* ["string", "null"] -> "string" + nullable; several real types
         * cannot be said in this subset: leave the type out. */
        const char *real = NULL;
        size_t i, n_real = 0;
        json_t *t;
        json_array_foreach(type, i, t)
        {
            if (lo_str_eq(json_string_value(t), "null"))
                ok = lo_llm_put_(o, "nullable", json_true());
            else if (json_string_value(t) && ++n_real == 1)
                real = json_string_value(t);
        }
        json_object_del(o, "type");
        if (ok && n_real == 1)
            ok = lo_llm_put_(o, "type", json_string(real));
    }
    const char *ty = lo_llm_jstr_(o, "type"), *fmt = lo_llm_jstr_(s, "format");
    if (ok && fmt &&
        ((lo_str_eq(ty, "string") && (lo_str_eq(fmt, "enum") || lo_str_eq(fmt, "date-time"))) ||
         (lo_str_eq(ty, "number") && (lo_str_eq(fmt, "float") || lo_str_eq(fmt, "double"))) ||
         (lo_str_eq(ty, "integer") && (lo_str_eq(fmt, "int32") || lo_str_eq(fmt, "int64")))))
        ok = lo_llm_put_(o, "format", json_string(fmt));
    json_t *cv = json_object_get(s, "const");
    if (ok && cv && !json_object_get(o, "enum")) {
        json_t *e = json_array();
        ok = lo_llm_put_(o, "enum", e) && lo_llm_push_(e, json_deep_copy(cv));
    }
    if (ok && json_object_get(s, "items"))
        ok = lo_llm_put_(o, "items", adapt_schema(json_object_get(s, "items")));
    json_t *props = json_object_get(s, "properties");
    if (ok && json_is_object(props)) {
        json_t *np = json_object();
        const char *k;
        json_t *v;
        ok = lo_llm_put_(o, "properties", np);
        json_object_foreach(props, k, v)
        {
            if (ok)
                ok = lo_llm_put_(np, k, adapt_schema(v));
        }
    }
    json_t *any = json_object_get(s, "anyOf");
    if (!any)
        any = json_object_get(s, "oneOf");
    if (ok && json_is_array(any)) {
        json_t *na = json_array();
        size_t i;
        json_t *v;
        ok = lo_llm_put_(o, "anyOf", na);
        json_array_foreach(any, i, v)
        {
            if (ok)
                ok = lo_llm_push_(na, adapt_schema(v));
        }
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- request translation (§7.3) ---- */

/* The function name of tool call id: the latest call with that id before
 * message `before` (synthetic ids restart at call_1 in every response, so
 * the nearest earlier one is the one answered). */
static const char *call_name(const lo_llm_request *req, size_t before, const char *id)
{
    for (size_t i = before; id && i-- > 0;) {
        const lo_llm_message *m = req->messages[i];
        for (size_t j = m->n_parts; j-- > 0;)
            if (m->parts[j].kind == LO_CONTENT_TOOL_CALL &&
                lo_str_eq(m->parts[j].tool_call.id, id))
                return m->parts[j].tool_call.name;
    }
    return NULL;
}

/* functionResponse.response must be an object: an object result goes as it
 * is; a string or array is wrapped as {"result": ...}, an error as
 * {"error": ...}. */
static json_t *function_response(const char *name, const lo_llm_tool_result *tr)
{
    json_t *fr = json_object(), *p = json_object(), *resp;
    json_t *content = tr->content ? json_deep_copy(tr->content) : json_string("");
    if (json_is_object(content) && !tr->is_error) {
        resp = content;
    } else {
        resp = json_object();
        if (!lo_llm_put_(resp, tr->is_error ? "error" : "result", content)) {
            json_decref(resp);
            resp = NULL;
        }
    }
    if (lo_llm_put_(p, "functionResponse", fr) && lo_llm_put_(fr, "name", json_string(name)) &&
        lo_llm_put_(fr, "response", resp))
        return p;
    json_decref(p);
    return NULL;
}

/* One unified message -> Gemini parts appended to parts. A THINKING part
 * with no text carries only a signature that came on the following
 * (non-thought) part of the response: it goes back on that part. */
static int message_parts(const lo_llm_request *req, size_t mi, json_t *parts, lo_llm_error *err)
{
    const lo_llm_message *m = req->messages[mi];
    bool model = m->role == LO_ROLE_ASSISTANT;
    const char *sig = NULL;
    int rc = 0;
    for (size_t j = 0; !rc && j < m->n_parts; j++) {
        const lo_llm_part *p = &m->parts[j];
        json_t *g = NULL;
        switch (p->kind) {
        case LO_CONTENT_TEXT:
            g = json_pack("{s:s}", "text", p->text);
            break;
        case LO_CONTENT_IMAGE:
        case LO_CONTENT_AUDIO:
        case LO_CONTENT_DOCUMENT:
            if (!(g = media_part(&p->media, p->kind, err, &rc)))
                return rc;
            break;
        case LO_CONTENT_TOOL_CALL: {
            const lo_llm_tool_call *tc = &p->tool_call;
            json_t *args = tc->arguments ? json_deep_copy(tc->arguments)
                           : tc->raw_arguments ? json_loads(tc->raw_arguments, 0, NULL)
                                               : json_object();
            if (!json_is_object(args)) {
                json_decref(args);
                return fail(err, LO_LLM_ERR_INVALID_REQUEST,
                            "tool call %s (%s): Gemini needs the arguments as a JSON object",
                            tc->id, tc->name);
            }
            g = json_pack("{s:{s:s,s:o}}", "functionCall", "name", tc->name, "args", args);
            break;
        }
        case LO_CONTENT_TOOL_RESULT: {
            const char *id = p->tool_result.tool_call_id;
            const char *name = call_name(req, mi, id);
            if (!name)
                name = m->name;
            if (!name)
                return fail(err, LO_LLM_ERR_INVALID_REQUEST,
                            "tool result for call %s: no earlier tool call has that id, and "
                            "Gemini needs the function's name",
                            id ? id : "(none)");
            if (!(g = function_response(name, &p->tool_result)) || !lo_llm_push_(parts, g))
                return oom(err);
            if (!p->tool_result.image.url && !p->tool_result.image.data &&
                !p->tool_result.image.path)
                continue;
            /* The image goes next to the response, in the same turn. */
            if (!(g = media_part(&p->tool_result.image, LO_CONTENT_IMAGE, err, &rc)))
                return rc;
            break;
        }
        case LO_CONTENT_THINKING:
            if (!model)
                continue;
            if (!p->thinking.text || !*p->thinking.text) {
                sig = p->thinking.signature;
                continue;
            }
            g = json_pack("{s:s,s:b}", "text", p->thinking.text, "thought", 1);
            if (g && p->thinking.signature &&
                !lo_llm_put_(g, "thoughtSignature", json_string(p->thinking.signature))) {
                json_decref(g);
                g = NULL;
            }
            if (!g)
                return oom(err);
            if (!lo_llm_push_(parts, g))
                return oom(err);
            continue;
        case LO_CONTENT_OTHER:
            /* A part we do not model (executableCode, ...): back verbatim. */
            if (!model || !json_is_object(p->other.raw))
                continue;
            g = json_deep_copy(p->other.raw);
            break;
        case LO_CONTENT_REDACTED_THINKING:
            continue; /* Anthropic's; Gemini has no such part */
        }
        if (!g)
            return oom(err);
        if (sig && model) {
            if (!lo_llm_put_(g, "thoughtSignature", json_string(sig))) {
                json_decref(g);
                return oom(err);
            }
            sig = NULL;
        }
        if (!lo_llm_push_(parts, g))
            return oom(err);
    }
    if (sig) /* a signature with nothing after it: an empty text carries it */
        return lo_llm_push_(parts, json_pack("{s:s,s:s}", "text", "", "thoughtSignature", sig))
                   ? 0
                   : oom(err);
    return rc;
}

/* Effort -> thinkingConfig. Budgets are tokens; -1 lets the model decide. */
static json_t *thinking_config(const char *effort)
{
    static const struct {
        const char *name;
        int budget;
    } map[] = {{"none", 0},        {"minimal", 512},   {"low", 1024},  {"medium", 8192},
               {"high", 24576},    {"xhigh", 32768},   {"auto", -1},   {"dynamic", -1}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(effort, map[i].name) == 0)
            return map[i].budget == 0
                       ? json_pack("{s:i}", "thinkingBudget", 0)
                       : json_pack("{s:i,s:b}", "thinkingBudget", map[i].budget,
                                   "includeThoughts", 1);
    return NULL;
}

static int build_body(const lo_llm_request *req, json_t **out, lo_llm_error *err)
{
    *out = NULL;
    json_t *body = json_object(), *contents = json_array(), *sys = json_array();
    bool ok = lo_llm_put_(body, "contents", contents);
    int rc = 0;
    for (size_t i = 0; ok && !rc && i < req->n_messages; i++) {
        const lo_llm_message *m = req->messages[i];
        if (m->role == LO_ROLE_SYSTEM || m->role == LO_ROLE_DEVELOPER) {
            for (size_t j = 0; ok && j < m->n_parts; j++)
                if (m->parts[j].kind == LO_CONTENT_TEXT && m->parts[j].text)
                    ok = lo_llm_push_(sys, json_pack("{s:s}", "text", m->parts[j].text));
            continue;
        }
        const char *role = m->role == LO_ROLE_ASSISTANT ? "model" : "user";
        /* Consecutive turns of one role merge: all the results of one
         * model turn's calls must come back in one user turn. */
        json_t *last = json_array_get(contents, json_array_size(contents) - 1);
        json_t *parts =
            lo_str_eq(lo_llm_jstr_(last, "role"), role) ? json_object_get(last, "parts") : NULL;
        bool fresh = parts == NULL;
        if (fresh)
            parts = json_array();
        rc = message_parts(req, i, parts, err);
        if (fresh && (rc || json_array_size(parts) == 0))
            json_decref(parts);
        else if (fresh)
            ok = lo_llm_push_(contents, json_pack("{s:s,s:o}", "role", role, "parts", parts));
    }
    if (ok && !rc && json_array_size(sys))
        ok = lo_llm_put_(body, "systemInstruction", json_pack("{s:O}", "parts", sys));
    json_decref(sys);

    if (ok && !rc && req->n_tools) {
        json_t *decls = json_array();
        ok = lo_llm_put_(body, "tools", json_pack("[{s:o}]", "functionDeclarations", decls));
        for (size_t i = 0; ok && i < req->n_tools; i++) {
            const lo_llm_tool *t = &req->tools[i];
            json_t *d = json_pack("{s:s}", "name", t->name);
            ok = lo_llm_push_(decls, d);
            if (ok && t->description && *t->description)
                ok = lo_llm_put_(d, "description", json_string(t->description));
            /* A tool without parameters sends none: Gemini refuses an
             * object schema with empty properties. */
            if (ok && json_object_size(json_object_get(t->parameters, "properties")))
                ok = lo_llm_put_(d, "parameters", adapt_schema(t->parameters));
        }
    }
    if (ok && !rc && req->has_tool_choice && req->n_tools) {
        lo_llm_tool_choice_mode mode = req->tool_choice.mode;
        json_t *fcc = json_pack("{s:s}", "mode",
                                mode == LO_TOOL_CHOICE_NONE   ? "NONE"
                                : mode == LO_TOOL_CHOICE_AUTO ? "AUTO"
                                                              : "ANY");
        ok = lo_llm_put_(body, "toolConfig", json_pack("{s:o}", "functionCallingConfig", fcc));
        if (ok && mode == LO_TOOL_CHOICE_NAMED)
            ok = lo_llm_put_(fcc, "allowedFunctionNames",
                             json_pack("[s]", req->tool_choice.tool_name));
    } else if (ok && !rc && req->has_tool_choice && req->tool_choice.mode == LO_TOOL_CHOICE_NAMED) {
        rc = fail(err, LO_LLM_ERR_INVALID_REQUEST,
                  "tool_choice names tool \"%s\" but the request defines no tools",
                  req->tool_choice.tool_name);
    }

    json_t *gc = json_object();
    if (ok && !rc && req->has_max_tokens)
        ok = lo_llm_put_(gc, "maxOutputTokens", json_integer(req->max_tokens));
    if (ok && !rc && req->has_temperature)
        ok = lo_llm_put_(gc, "temperature", json_real(req->temperature));
    if (ok && !rc && req->has_top_p)
        ok = lo_llm_put_(gc, "topP", json_real(req->top_p));
    if (ok && !rc && req->n_stop) {
        json_t *st = json_array();
        ok = lo_llm_put_(gc, "stopSequences", st);
        for (size_t i = 0; ok && i < req->n_stop; i++)
            ok = lo_llm_push_(st, json_string(req->stop[i]));
    }
    if (ok && !rc && req->response_format.type != LO_FORMAT_TEXT) {
        ok = lo_llm_put_(gc, "responseMimeType", json_string("application/json"));
        if (ok && req->response_format.type == LO_FORMAT_JSON_SCHEMA)
            ok = lo_llm_put_(gc, "responseSchema", adapt_schema(req->response_format.schema));
    }
    if (ok && !rc && req->reasoning_effort) {
        json_t *tc = thinking_config(req->reasoning_effort);
        if (!tc)
            rc = fail(err, LO_LLM_ERR_INVALID_REQUEST,
                      "unknown reasoning_effort \"%s\" (none, minimal, low, medium, high, "
                      "xhigh, auto)",
                      req->reasoning_effort);
        else
            ok = lo_llm_put_(gc, "thinkingConfig", tc);
    }
    if (ok && !rc && json_object_size(gc))
        ok = lo_llm_put_(body, "generationConfig", json_incref(gc));
    json_decref(gc);

    /* provider_options.gemini goes into the body (safetySettings,
     * cachedContent, ...); an object merges into the translated object of
     * the same name, so generationConfig.topK adds to what is there. */
    json_t *opts = json_object_get(req->provider_options, PROVIDER);
    const char *k;
    json_t *v;
    json_object_foreach(opts, k, v)
    {
        json_t *cur = json_object_get(body, k);
        if (ok && !rc)
            ok = json_is_object(cur) && json_is_object(v) ? json_object_update(cur, v) == 0
                                                          : lo_llm_put_(body, k, json_deep_copy(v));
    }
    if (rc || !ok) {
        json_decref(body);
        return rc ? rc : oom(err);
    }
    *out = body;
    return 0;
}

/* ---- HTTP ---- */

/* google.rpc.RetryInfo's retryDelay ("37s", "0.5s") in seconds, or -1. */
static double retry_info(const json_t *details)
{
    size_t i;
    json_t *d;
    json_array_foreach(details, i, d)
    {
        const char *t = lo_llm_jstr_(d, "@type"), *delay = lo_llm_jstr_(d, "retryDelay");
        if (!t || !strstr(t, "google.rpc.RetryInfo") || !delay)
            continue;
        char *end;
        double s = strtod(delay, &end);
        if (end != delay && (*end == 's' || !*end) && s >= 0)
            return s;
    }
    return -1;
}

/* A RESOURCE_EXHAUSTED that is a daily quota (the message says "per day",
 * or a QuotaFailure names a PerDay quota) will not clear within a retry. */
static bool daily_quota(const char *msg, const json_t *details)
{
    char low[1024];
    size_t n = 0;
    for (; msg && msg[n] && n < sizeof low - 1; n++)
        low[n] = (char)(msg[n] >= 'A' && msg[n] <= 'Z' ? msg[n] + 32 : msg[n]);
    low[n] = 0;
    if (strstr(low, "per day") || strstr(low, "perday"))
        return true;
    size_t i, j;
    json_t *d, *v;
    json_array_foreach(details, i, d)
    {
        json_array_foreach(json_object_get(d, "violations"), j, v)
        {
            const char *q = lo_llm_jstr_(v, "quotaId");
            if (q && strstr(q, "PerDay"))
                return true;
        }
    }
    return false;
}

/* §7.6: {"error": {code, message, status, details}} -> the taxonomy, by the
 * gRPC status name where there is one (it says more than the HTTP status). */
int lo_llm_gemini_http_error_(const lo_http_result *res, lo_llm_error *err)
{
    json_t *body = res->body.len ? json_loadb(res->body.data, res->body.len, 0, NULL) : NULL;
    json_t *e = json_object_get(body, "error");
    if (json_is_array(body)) /* some proxies wrap it in an array */
        e = json_object_get(json_array_get(body, 0), "error");
    const char *msg = lo_llm_jstr_(e, "message"), *status = lo_llm_jstr_(e, "status");
    json_t *details = json_object_get(e, "details");
    char text[300];
    if (!msg)
        msg = lo_llm_quote_body_(res, text, sizeof text);
    lo_llm_error_from_http(err, PROVIDER, (int)res->status, status, msg);
    lo_llm_error_kind k = status ? lo_llm_error_from_grpc(status, msg) : err->kind;
    if (k == LO_LLM_ERR_PROVIDER || k == LO_LLM_ERR_ACCESS_DENIED)
        k = lo_llm_error_from_status((int)res->status, msg);
    /* Gemini words every 429 "You exceeded your current quota, please check
     * your plan and billing details", per-minute limits included: the
     * quota kind (not retried) is for daily quotas; any other exhaustion
     * that comes with a RetryInfo is a rate limit to wait out. */
    if (lo_str_eq(status, "RESOURCE_EXHAUSTED"))
        k = daily_quota(msg, details)            ? LO_LLM_ERR_QUOTA_EXCEEDED
            : retry_info(details) >= 0           ? LO_LLM_ERR_RATE_LIMIT
                                                 : k;
    err->kind = k;
    err->retryable = lo_llm_error_kind_retryable(k);
    err->retry_after = lo_llm_parse_retry_after_(lo_llm_jstr_(res->headers, "retry-after"));
    if (err->retry_after < 0)
        err->retry_after = retry_info(details);
    size_t used = strlen(err->message);
    snprintf(err->message + used, sizeof err->message - used, " (HTTP %ld%s%s)", res->status,
             status ? " " : "", status ? status : "");
    json_decref(body);
    return LO_EIO;
}

static int prepare(const lo_llm_call *call, const lo_llm_request *req, bool streaming,
                   lo_llm_prepared_ *p, lo_llm_error *err)
{
    json_t *body;
    int rc = build_body(req, &body, err);
    if (rc)
        return rc;
    p->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    const char *const *extra = call->headers;
    bool ok = p->body && (!*call->api_key ||
                          lo_llm_header_add_(&p->h, extra, "x-goog-api-key", call->api_key)) &&
              lo_llm_header_add_(&p->h, extra, "Content-Type", "application/json") &&
              lo_llm_header_add_(&p->h, extra, "Accept",
                                 streaming ? "text/event-stream" : "application/json");
    if (!ok)
        return oom(err);
    /* "models/x" and "x" name the same model; a base URL that already ends
     * in a version (a proxy's) is used as it is. */
    const char *model = strncmp(req->model, "models/", 7) == 0 ? req->model + 7 : req->model;
    size_t bl = strlen(call->base_url);
    bool versioned = (bl >= 7 && strcmp(call->base_url + bl - 7, "/v1beta") == 0) ||
                     (bl >= 3 && strcmp(call->base_url + bl - 3, "/v1") == 0);
    snprintf(p->url, sizeof p->url, "%s%s/models/%s:%s", call->base_url,
             versioned ? "" : "/v1beta", model,
             streaming ? "streamGenerateContent?alt=sse" : "generateContent");
    return 0;
}

/* ---- response translation (§7.5) ---- */

/* A part this adapter does not model, named by its first key. */
static int add_other(lo_llm_message *m, const json_t *raw)
{
    const char *name = "unknown";
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)raw, k, v)
    {
        if (strcmp(k, "thoughtSignature") != 0 && strcmp(k, "thought") != 0) {
            name = k;
            break;
        }
    }
    return lo_llm_message_add_other_(m, name, raw);
}

static int append(char **dst, const char *s)
{
    size_t a = strlen(*dst), b = strlen(s);
    char *v = lo_realloc(*dst, a + b + 1);
    if (!v)
        return LO_ENOMEM;
    memcpy(v + a, s, b + 1);
    *dst = v;
    return 0;
}

/* One Gemini part -> unified parts. merge (streaming) appends text to the
 * text or thinking part it continues. A signature on a non-thought part
 * becomes a THINKING part with no text just before it, which the request
 * side sends back on the same part. *n_calls numbers the synthetic ids. */
int lo_llm_gemini_add_part_(lo_llm_message *m, const json_t *p, int *n_calls, bool merge)
{
    const char *text = lo_llm_jstr_(p, "text"), *sig = lo_llm_jstr_(p, "thoughtSignature");
    json_t *fc = json_object_get(p, "functionCall");
    lo_llm_part *last = m->n_parts ? &m->parts[m->n_parts - 1] : NULL;
    if (text && json_is_true(json_object_get(p, "thought"))) {
        if (merge && last && last->kind == LO_CONTENT_THINKING && !last->thinking.signature &&
            last->thinking.text && *last->thinking.text) {
            if (append(&last->thinking.text, text))
                return LO_ENOMEM;
            return sig && !(last->thinking.signature = lo_strdup(sig)) ? LO_ENOMEM : 0;
        }
        return lo_llm_message_add_thinking(m, text, sig);
    }
    if (!text && !json_is_object(fc))
        return add_other(m, p);
    if (sig) {
        int rc = lo_llm_message_add_thinking(m, "", sig);
        if (rc)
            return rc;
    } else if (text && merge && last && last->kind == LO_CONTENT_TEXT) {
        return append(&last->text, text);
    }
    if (text)
        return lo_llm_message_add_text(m, text);
    char id[32];
    snprintf(id, sizeof id, "call_%d", ++*n_calls);
    json_t *args = json_object_get(fc, "args");
    return lo_llm_message_add_tool_call(
        m, id, lo_llm_jstr_(fc, "name") ? lo_llm_jstr_(fc, "name") : "",
        json_is_object(args) ? json_deep_copy(args) : json_object(), NULL);
}

/* usageMetadata -> llm.h's convention. Gemini counts cached tokens inside
 * promptTokenCount and leaves cachedContentTokenCount and
 * thoughtsTokenCount out when they are zero. Output includes the thoughts
 * (billed as output); tool-use prompt tokens count as input. */
void lo_llm_gemini_usage_from_(lo_llm_usage *u, const json_t *um)
{
    if (!json_is_object(um))
        return;
    int64_t prompt = lo_llm_count_(um, "promptTokenCount");
    int64_t cached = lo_llm_count_(um, "cachedContentTokenCount");
    int64_t cand = lo_llm_count_(um, "candidatesTokenCount");
    int64_t thoughts = lo_llm_count_(um, "thoughtsTokenCount");
    int64_t tool = lo_llm_count_(um, "toolUsePromptTokenCount");
    int64_t total = lo_llm_count_(um, "totalTokenCount");
    u->cache_read_tokens = cached >= 0 ? cached : prompt >= 0 ? 0 : LO_TOKENS_UNREPORTED;
    u->cache_write_tokens = LO_TOKENS_UNREPORTED;
    u->input_tokens = prompt < 0 ? LO_TOKENS_UNREPORTED
                                 : (prompt > u->cache_read_tokens ? prompt - u->cache_read_tokens
                                                                  : 0) +
                                       (tool > 0 ? tool : 0);
    u->reasoning_tokens = thoughts >= 0 ? thoughts : cand >= 0 ? 0 : LO_TOKENS_UNREPORTED;
    u->output_tokens = cand >= 0 ? cand + (thoughts > 0 ? thoughts : 0) : thoughts;
    if (total < 0 && u->input_tokens >= 0 && u->output_tokens >= 0)
        total = u->input_tokens + u->cache_read_tokens + u->output_tokens;
    u->total_tokens = total;
}

/* finishReason -> the unified reason. Gemini has no tool-call reason: a
 * STOP with function calls in the message finished for tool calls. */
int lo_llm_gemini_set_finish_(lo_llm_response *r, const char *raw)
{
    lo_llm_finish f = lo_llm_finish_from_provider(PROVIDER, raw);
    if (lo_str_eq(raw, "SPII") || lo_str_eq(raw, "IMAGE_SAFETY"))
        f = LO_FINISH_CONTENT_FILTER;
    else if (lo_str_eq(raw, "MALFORMED_FUNCTION_CALL"))
        f = LO_FINISH_ERROR;
    for (size_t i = 0; f == LO_FINISH_STOP && i < r->message->n_parts; i++)
        if (r->message->parts[i].kind == LO_CONTENT_TOOL_CALL)
            f = LO_FINISH_TOOL_CALLS;
    free(r->finish.raw);
    r->finish.raw = NULL;
    r->finish.reason = f;
    return raw && !(r->finish.raw = lo_strdup(raw)) ? LO_ENOMEM : 0;
}

/* The finish reason of a chunk or response: the candidate's, or the prompt
 * feedback's blockReason when the prompt itself was blocked. */
const char *lo_llm_gemini_finish_of_(const json_t *root)
{
    const json_t *cand = json_array_get(json_object_get(root, "candidates"), 0);
    const char *f = lo_llm_jstr_(cand, "finishReason");
    if (!f && (f = lo_llm_jstr_(json_object_get(root, "promptFeedback"), "blockReason")))
        f = "SAFETY";
    return f;
}

int lo_llm_gemini_set_ids_(lo_llm_response *r, const json_t *root)
{
    if (!r->provider && !(r->provider = lo_strdup(PROVIDER)))
        return LO_ENOMEM;
    if (!r->id && lo_llm_jstr_(root, "responseId") &&
        !(r->id = lo_strdup(lo_llm_jstr_(root, "responseId"))))
        return LO_ENOMEM;
    if (!r->model && lo_llm_jstr_(root, "modelVersion") &&
        !(r->model = lo_strdup(lo_llm_jstr_(root, "modelVersion"))))
        return LO_ENOMEM;
    return 0;
}

static int parse_response(json_t *root, lo_llm_response *r, lo_llm_error *err)
{
    json_t *cands = json_object_get(root, "candidates");
    if (!json_is_object(root) ||
        (!json_is_array(cands) && !json_object_get(root, "promptFeedback")))
        return fail(err, LO_LLM_ERR_PROVIDER,
                    "unexpected response: not a GenerateContentResponse with candidates");
    if (lo_llm_gemini_set_ids_(r, root) != 0)
        return oom(err);
    int n_calls = 0;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(json_object_get(json_array_get(cands, 0), "content"),
                                       "parts"), i, p)
    {
        if (json_is_object(p) && lo_llm_gemini_add_part_(r->message, p, &n_calls, false) != 0)
            return oom(err);
    }
    if (lo_llm_gemini_set_finish_(r, lo_llm_gemini_finish_of_(root)) != 0)
        return oom(err);
    lo_llm_gemini_usage_from_(&r->usage, json_object_get(root, "usageMetadata"));
    return 0;
}

const lo_llm_wire_ lo_llm_gemini_wire_ = {
    .provider = PROVIDER,
    .prepare = prepare,
    .http_error = lo_llm_gemini_http_error_,
    .parse = parse_response,
    .last_event = "a finishReason",
};

static int gemini_complete(const lo_llm_call *call, const lo_llm_request *req,
                           lo_llm_response **out, lo_llm_error *err)
{
    return lo_llm_complete_run_(&lo_llm_gemini_wire_, call, req, out, err);
}

const lo_llm_adapter lo_llm_gemini_adapter = {
    .name = PROVIDER,
    .api_key_env = "GEMINI_API_KEY",
    .base_url_env = "GEMINI_BASE_URL",
    .default_base_url = "https://generativelanguage.googleapis.com",
    .complete = gemini_complete,
    .stream = lo_llm_gemini_stream_,
};
