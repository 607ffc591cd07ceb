/* The Anthropic twin: the Messages API (POST /v1/messages, streaming and
 * not), token counting (POST /v1/messages/count_tokens) and the model list
 * (GET /v1/models), with the real API's authentication, validation, error
 * bodies, ids, usage and headers. Bodies come from tapes (tape.c); this file
 * turns a provider-neutral reply into Anthropic's wire format. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "twin/twin_internal.h"

#define PROVIDER "anthropic"

/* The limits the rate-limit headers report: plausible for a paid tier, fixed
 * so tests can rely on them. */
#define RL_REQUESTS 4000
#define RL_INPUT_TOKENS 2000000
#define RL_OUTPUT_TOKENS 400000

/* One request as it goes through: what the log line reports. */
typedef struct exch {
    lo_twin *t;
    const lo_http_request *req;
    lo_http_response *res;
    long request_no, call;
    int status;
    const lo_tape_entry *entry;
    bool stream;
    char rid[40]; /* request-id: header and error bodies */
} exch;

static void done(exch *x)
{
    char tape[300] = "";
    if (x->entry)
        snprintf(tape, sizeof tape, " tape=%s:%u", x->entry->file, x->entry->line);
    char call[32] = "";
    if (x->call)
        snprintf(call, sizeof call, " call=%ld", x->call);
    twin_log(x->t, PROVIDER " %s %s %d%s%s%s", x->req->method, x->req->path, x->status, call,
             tape, x->stream ? " stream" : "");
}

/* ------------------------------------------------------------ errors */

static const char *error_type(int status)
{
    switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 402: return "billing_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 504: return "timeout_error";
    case 529: return "overloaded_error";
    }
    return status >= 500 ? "api_error" : "invalid_request_error";
}

static const char *error_message(int status)
{
    switch (status) {
    case 429: return "Number of request tokens has exceeded your per-minute rate limit";
    case 529: return "Overloaded";
    case 504: return "Request timed out";
    }
    return status >= 500 ? "Internal server error" : "Request failed";
}

/* Number the request and give it its request-id header. */
static void begin(exch *x)
{
    x->request_no = atomic_fetch_add(&x->t->requests, 1) + 1;
    twin_id(x->rid, sizeof x->rid, "req_", "request", (uint64_t)x->request_no, 24);
    lo_http_add_header(x->res, "request-id", x->rid);
}

/* Answer {"type":"error","error":{"type":...,"message":...},"request_id":...}. */
static void send_error_f(exch *x, int status, const lo_tape_fault *f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void send_error_f(exch *x, int status, const lo_tape_fault *f, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *body = json_pack("{s:s, s:{s:s, s:s}, s:s}", "type", "error", "error", "type",
                             error_type(status), "message", msg, "request_id", x->rid);
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (status == 429 || status == 503 || status == 529) {
        long ra = f && f->retry_after_s >= 0 ? f->retry_after_s : 1;
        char v[32];
        snprintf(v, sizeof v, "%ld", ra);
        lo_http_add_header(x->res, "retry-after", v);
    }
    if (f && f->retry_after_s >= 0 && !(status == 429 || status == 503 || status == 529)) {
        char v[32];
        snprintf(v, sizeof v, "%ld", f->retry_after_s);
        lo_http_add_header(x->res, "retry-after", v);
    }
    if (status == 429)
        lo_http_add_header(x->res, "anthropic-ratelimit-requests-remaining", "0");
    twin_send(x->res, status, "application/json", s ? s : "", s ? strlen(s) : 0, f);
    free(s);
    x->status = status;
    done(x);
}

/* ------------------------------------------------------------ auth, body */

/* Checks shared by every route: key, version header. 0 to go on. */
static int gate(exch *x)
{
    lo_twin *t = x->t;
    begin(x);
    const char *key = lo_http_header(x->req, "x-api-key");
    const char *auth = lo_http_header(x->req, "authorization");
    if ((!key || !*key) && auth && !strncasecmp(auth, "Bearer ", 7))
        key = auth + 7;
    if (!key || !*key) {
        send_error_f(x, 401, NULL, "x-api-key header is required");
        return -1;
    }
    if (!twin_key_ok(t, key)) {
        /* the key itself is never echoed */
        send_error_f(x, 401, NULL, "invalid x-api-key");
        return -1;
    }
    const char *ver = lo_http_header(x->req, "anthropic-version");
    if (!ver || !*ver) {
        send_error_f(x, 400, NULL, "anthropic-version: header is required");
        return -1;
    }
    return 0;
}

static json_t *parse_body(exch *x)
{
    json_error_t je;
    json_t *b = json_loadb(x->req->body, x->req->body_len, 0, &je);
    if (!b) {
        send_error_f(x, 400, NULL, "There was an issue with the request body: invalid JSON at "
                                   "line %d column %d: %s", je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(b)) {
        json_decref(b);
        send_error_f(x, 400, NULL, "The request body must be a JSON object");
        return NULL;
    }
    return b;
}

/* ------------------------------------------------------------ validation */

typedef struct verdict {
    int status;
    char msg[900];
} verdict;

static int bad(verdict *v, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(verdict *v, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof v->msg, fmt, ap);
    va_end(ap);
    v->status = status;
    return -1;
}

static bool has_tool_use(const json_t *msg, const char *id)
{
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(msg, "content"), i, b)
        if (lo_str_eq(json_string_value(json_object_get(b, "type")), "tool_use") &&
            lo_str_eq(json_string_value(json_object_get(b, "id")), id))
            return true;
    return false;
}

static bool has_tool_result(const json_t *msg, const char *id)
{
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(msg, "content"), i, b)
        if (lo_str_eq(json_string_value(json_object_get(b, "type")), "tool_result") &&
            lo_str_eq(json_string_value(json_object_get(b, "tool_use_id")), id))
            return true;
    return false;
}

static int check_block(const json_t *b, const char *role, size_t i, size_t j, verdict *v)
{
    if (!json_is_object(b))
        return bad(v, 400, "messages.%zu.content.%zu: Input should be an object", i, j);
    const char *type = json_string_value(json_object_get(b, "type"));
    if (!type)
        return bad(v, 400, "messages.%zu.content.%zu.type: Field required", i, j);
    bool user = !strcmp(role, "user");
    if (!strcmp(type, "text")) {
        if (!json_is_string(json_object_get(b, "text")))
            return bad(v, 400, "messages.%zu.content.%zu.text: Field required", i, j);
    } else if (!strcmp(type, "tool_use")) {
        if (user)
            return bad(v, 400, "messages.%zu.content.%zu: tool_use blocks are only allowed in "
                               "assistant messages", i, j);
        if (!json_is_string(json_object_get(b, "id")) ||
            !json_is_string(json_object_get(b, "name")) ||
            !json_is_object(json_object_get(b, "input")))
            return bad(v, 400, "messages.%zu.content.%zu: a tool_use block needs a string id, "
                               "a string name and an object input", i, j);
    } else if (!strcmp(type, "tool_result")) {
        if (!user)
            return bad(v, 400, "messages.%zu.content.%zu: tool_result blocks are only allowed "
                               "in user messages", i, j);
        if (!json_is_string(json_object_get(b, "tool_use_id")))
            return bad(v, 400, "messages.%zu.content.%zu.tool_use_id: Field required", i, j);
        json_t *c = json_object_get(b, "content");
        if (c && !json_is_string(c) && !json_is_array(c))
            return bad(v, 400, "messages.%zu.content.%zu.content: Input should be a string or "
                               "a list of content blocks", i, j);
    } else if (!strcmp(type, "thinking")) {
        if (user)
            return bad(v, 400, "messages.%zu.content.%zu: thinking blocks are only allowed in "
                               "assistant messages", i, j);
        if (!json_is_string(json_object_get(b, "thinking")) ||
            !json_is_string(json_object_get(b, "signature")))
            return bad(v, 400, "messages.%zu.content.%zu: a thinking block needs thinking and "
                               "signature strings", i, j);
    } else if (strcmp(type, "image") && strcmp(type, "document") &&
               strcmp(type, "redacted_thinking") && strcmp(type, "search_result") &&
               strcmp(type, "server_tool_use") && strcmp(type, "web_search_tool_result")) {
        return bad(v, 400, "messages.%zu.content.%zu.type: Input tag '%.60s' found using "
                           "'type' does not match any of the expected tags", i, j, type);
    }
    return 0;
}

static int check_messages(const json_t *msgs, verdict *v)
{
    if (!msgs)
        return bad(v, 400, "messages: Field required");
    if (!json_is_array(msgs))
        return bad(v, 400, "messages: Input should be a valid list");
    if (json_array_size(msgs) == 0)
        return bad(v, 400, "messages: at least one message is required");
    size_t i;
    json_t *m;
    const char *prev = NULL;
    json_array_foreach(msgs, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (!json_is_object(m) || !role || (strcmp(role, "user") && strcmp(role, "assistant")))
            return bad(v, 400, "messages.%zu.role: Input should be 'user' or 'assistant'", i);
        if (i == 0 && strcmp(role, "user"))
            return bad(v, 400, "messages: first message must use the \"user\" role");
        if (prev && !strcmp(prev, role))
            return bad(v, 400, "messages: roles must alternate between \"user\" and "
                               "\"assistant\", but found multiple \"%s\" roles in a row "
                               "(messages.%zu and messages.%zu)", role, i - 1, i);
        prev = role;
        json_t *c = json_object_get(m, "content");
        if (!c)
            return bad(v, 400, "messages.%zu.content: Field required", i);
        if (json_is_string(c))
            continue;
        if (!json_is_array(c))
            return bad(v, 400, "messages.%zu.content: Input should be a string or a list of "
                               "content blocks", i);
        size_t j;
        json_t *b;
        json_array_foreach(c, j, b) {
            if (check_block(b, role, i, j, v))
                return -1;
            const char *type = json_string_value(json_object_get(b, "type"));
            /* every tool_result answers a tool_use of the message just before */
            if (!strcmp(type, "tool_result")) {
                const char *id = json_string_value(json_object_get(b, "tool_use_id"));
                if (i == 0 || !has_tool_use(json_array_get(msgs, i - 1), id))
                    return bad(v, 400,
                               "messages.%zu.content.%zu: unexpected `tool_use_id` found in "
                               "`tool_result` blocks: %.80s. Each `tool_result` block must "
                               "have a corresponding `tool_use` block in the previous message.",
                               i, j, id);
            }
            /* and every tool_use is answered in the message just after */
            if (!strcmp(type, "tool_use") && i + 1 < json_array_size(msgs)) {
                const char *id = json_string_value(json_object_get(b, "id"));
                if (!has_tool_result(json_array_get(msgs, i + 1), id))
                    return bad(v, 400,
                               "messages.%zu: `tool_use` ids were found without `tool_result` "
                               "blocks immediately after: %.80s. Each `tool_use` block must "
                               "have a corresponding `tool_result` block in the next message.",
                               i, id);
            }
        }
    }
    return 0;
}

static bool tool_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int check_tools(const json_t *tools, const json_t *choice, verdict *v)
{
    if (tools && !json_is_array(tools))
        return bad(v, 400, "tools: Input should be a valid list");
    size_t i;
    json_t *tl;
    json_array_foreach(tools, i, tl) {
        if (!json_is_object(tl))
            return bad(v, 400, "tools.%zu: Input should be an object", i);
        const char *type = json_string_value(json_object_get(tl, "type"));
        const char *name = json_string_value(json_object_get(tl, "name"));
        if (!tool_name_ok(name))
            return bad(v, 400, "tools.%zu.name: String should match pattern "
                               "'^[a-zA-Z0-9_-]{1,128}$'", i);
        for (size_t k = 0; k < i; k++)
            if (lo_str_eq(json_string_value(json_object_get(json_array_get(tools, k), "name")),
                          name))
                return bad(v, 400, "tools: Tool names must be unique.");
        /* server tools (web_search_..., bash_..., ...) carry no schema */
        if (type && strcmp(type, "custom"))
            continue;
        json_t *schema = json_object_get(tl, "input_schema");
        if (!schema)
            return bad(v, 400, "tools.%zu.custom.input_schema: Field required", i);
        if (!json_is_object(schema) ||
            !lo_str_eq(json_string_value(json_object_get(schema, "type")), "object"))
            return bad(v, 400, "tools.%zu.custom.input_schema: JSON schema is invalid - the "
                               "root must be an object schema with \"type\": \"object\"", i);
        json_t *props = json_object_get(schema, "properties");
        if (props && !json_is_object(props))
            return bad(v, 400, "tools.%zu.custom.input_schema: JSON schema is invalid - "
                               "\"properties\" must be an object", i);
    }
    if (choice) {
        const char *ct = json_string_value(json_object_get(choice, "type"));
        if (!json_is_object(choice) || !ct ||
            (strcmp(ct, "auto") && strcmp(ct, "any") && strcmp(ct, "tool") && strcmp(ct, "none")))
            return bad(v, 400, "tool_choice: Input tag found using 'type' does not match any "
                               "of the expected tags: 'auto', 'any', 'tool', 'none'");
        if (!strcmp(ct, "tool")) {
            const char *want = json_string_value(json_object_get(choice, "name"));
            bool found = false;
            json_array_foreach(tools, i, tl) found |=
                lo_str_eq(json_string_value(json_object_get(tl, "name")), want);
            if (!found)
                return bad(v, 400, "tool_choice.name: tool '%.80s' is not in tools",
                           want ? want : "");
        }
    }
    return 0;
}

/* cache_control on one block: {"type": "ephemeral", "ttl": "5m" | "1h"}.
 * *n counts the breakpoints; *seen_5m refuses a 1h one after a 5m one. */
static int check_cache_control(const json_t *b, const char *where, int *n, bool *seen_5m,
                               verdict *v)
{
    const json_t *cc = json_object_get(b, "cache_control");
    if (!cc || json_is_null(cc))
        return 0;
    if (!json_is_object(cc) ||
        !lo_str_eq(json_string_value(json_object_get(cc, "type")), "ephemeral"))
        return bad(v, 400, "%s.cache_control: Input tag found using 'type' does not match any "
                           "of the expected tags: 'ephemeral'", where);
    const json_t *ttl = json_object_get(cc, "ttl");
    const char *tv = json_string_value(ttl);
    if (ttl && !lo_str_eq(tv, "5m") && !lo_str_eq(tv, "1h"))
        return bad(v, 400, "%s.cache_control.ephemeral.ttl: Input should be '5m' or '1h'",
                   where);
    bool one_hour = lo_str_eq(tv, "1h");
    if (one_hour && *seen_5m)
        return bad(v, 400, "a ttl='1h' cache_control block must not come after a ttl='5m' "
                           "cache_control block. Note that blocks are processed in the "
                           "following order: `tools`, `system`, `messages`.");
    *seen_5m |= !one_hour;
    (*n)++;
    return 0;
}

/* Every breakpoint, in prompt order (tools, system, messages): at most 4. */
static int check_cache(const json_t *b, verdict *v)
{
    int n = 0;
    bool seen_5m = false;
    char where[64];
    size_t i, j;
    json_t *e, *m, *blk;
    json_array_foreach(json_object_get(b, "tools"), i, e) {
        snprintf(where, sizeof where, "tools.%zu", i);
        if (check_cache_control(e, where, &n, &seen_5m, v))
            return -1;
    }
    json_array_foreach(json_object_get(b, "system"), i, e) {
        snprintf(where, sizeof where, "system.%zu", i);
        if (check_cache_control(e, where, &n, &seen_5m, v))
            return -1;
    }
    json_array_foreach(json_object_get(b, "messages"), i, m)
        json_array_foreach(json_object_get(m, "content"), j, blk) {
            snprintf(where, sizeof where, "messages.%zu.content.%zu", i, j);
            if (check_cache_control(blk, where, &n, &seen_5m, v))
                return -1;
        }
    if (n > 4)
        return bad(v, 400, "A maximum of 4 blocks with cache_control may be provided. Found %d.",
                   n);
    return 0;
}

/* The checks of the real API, in its order: fields, then the model. */
static int validate(lo_twin *t, const json_t *b, bool counting, verdict *v,
                    const lo_llm_model **model)
{
    json_t *jm = json_object_get(b, "model");
    if (!jm)
        return bad(v, 400, "model: Field required");
    if (!json_is_string(jm))
        return bad(v, 400, "model: Input should be a valid string");
    json_t *mt = json_object_get(b, "max_tokens");
    if (!counting) {
        if (!mt)
            return bad(v, 400, "max_tokens: Field required");
        if (!json_is_integer(mt) || json_integer_value(mt) < 1)
            return bad(v, 400, "max_tokens: Input should be an integer greater than or "
                               "equal to 1");
    }
    if (check_messages(json_object_get(b, "messages"), v))
        return -1;
    json_t *sys = json_object_get(b, "system");
    if (sys && !json_is_string(sys) && !json_is_array(sys))
        return bad(v, 400, "system: Input should be a string or a list of text blocks");
    size_t i;
    json_t *s;
    json_array_foreach(sys, i, s) if (!lo_str_eq(json_string_value(json_object_get(s, "type")),
                                                 "text"))
        return bad(v, 400, "system.%zu.type: Input should be 'text'", i);
    if (check_tools(json_object_get(b, "tools"), json_object_get(b, "tool_choice"), v) ||
        check_cache(b, v))
        return -1;
    json_t *st = json_object_get(b, "stream");
    if (st && !json_is_boolean(st))
        return bad(v, 400, "stream: Input should be a valid boolean");
    json_t *temp = json_object_get(b, "temperature");
    if (temp && (!json_is_number(temp) || json_number_value(temp) < 0 ||
                 json_number_value(temp) > 1))
        return bad(v, 400, "temperature: Input should be less than or equal to 1");
    json_t *stops = json_object_get(b, "stop_sequences");
    if (stops && !json_is_array(stops))
        return bad(v, 400, "stop_sequences: Input should be a valid list");
    json_array_foreach(stops, i, s) if (!json_is_string(s))
        return bad(v, 400, "stop_sequences.%zu: Input should be a valid string", i);
    json_t *th = json_object_get(b, "thinking");
    if (th) {
        const char *tt = json_string_value(json_object_get(th, "type"));
        if (!tt || (strcmp(tt, "enabled") && strcmp(tt, "disabled") && strcmp(tt, "adaptive")))
            return bad(v, 400, "thinking: Input tag found using 'type' does not match any of "
                               "the expected tags: 'enabled', 'disabled', 'adaptive'");
        if (!strcmp(tt, "enabled")) {
            json_t *bt = json_object_get(th, "budget_tokens");
            if (!json_is_integer(bt) || json_integer_value(bt) < 1024)
                return bad(v, 400, "thinking.enabled.budget_tokens: Input should be greater "
                                   "than or equal to 1024");
            if (!counting && json_integer_value(bt) >= json_integer_value(mt))
                return bad(v, 400, "`max_tokens` must be greater than `thinking.budget_tokens`");
        }
    }
    const char *id = json_string_value(jm);
    const lo_llm_model *m = lo_llm_model_find(t->catalog, id);
    if (!m || !lo_str_eq(m->provider, PROVIDER))
        return bad(v, 404, "model: %.120s", id);
    if (!counting && m->max_output > 0 && json_integer_value(mt) > m->max_output)
        return bad(v, 400, "max_tokens: %lld > %lld, which is the maximum allowed number of "
                           "output tokens for %s", (long long)json_integer_value(mt),
                   (long long)m->max_output, m->id);
    *model = m;
    return 0;
}

/* ------------------------------------------------------------ the view */

/* Text of a content value: the string, or its text blocks (and the text
 * inside tool results when results is true) joined. */
static void content_text(const json_t *c, bool results, lo_buf *out)
{
    if (json_is_string(c)) {
        lo_buf_puts(out, json_string_value(c));
        return;
    }
    size_t i;
    json_t *b;
    json_array_foreach(c, i, b) {
        const char *type = json_string_value(json_object_get(b, "type"));
        if (lo_str_eq(type, "text"))
            lo_buf_puts(out, json_string_value(json_object_get(b, "text")));
        else if (results && lo_str_eq(type, "tool_result"))
            content_text(json_object_get(b, "content"), true, out);
    }
}

typedef struct view_store {
    lo_buf user, result;
    bool has_result;
    const char **tools;
} view_store;

static void view_build(const exch *x, const json_t *b, long call, lo_twin_request_view *v,
                       view_store *vs)
{
    lo_buf_init(&vs->user, 0);
    lo_buf_init(&vs->result, 0);
    vs->has_result = false;
    json_t *msgs = json_object_get(b, "messages");
    for (size_t i = json_array_size(msgs); i-- > 0;) {
        json_t *m = json_array_get(msgs, i);
        if (lo_str_eq(json_string_value(json_object_get(m, "role")), "user")) {
            content_text(json_object_get(m, "content"), false, &vs->user);
            break;
        }
    }
    /* the last tool_result block anywhere in the conversation */
    for (size_t i = json_array_size(msgs); i-- > 0 && !vs->has_result;) {
        json_t *c = json_object_get(json_array_get(msgs, i), "content");
        for (size_t j = json_array_size(c); j-- > 0;) {
            json_t *blk = json_array_get(c, j);
            if (lo_str_eq(json_string_value(json_object_get(blk, "type")), "tool_result")) {
                content_text(json_object_get(blk, "content"), true, &vs->result);
                vs->has_result = true;
                break;
            }
        }
    }
    json_t *tools = json_object_get(b, "tools");
    size_t nt = json_array_size(tools);
    vs->tools = nt ? lo_calloc(nt, sizeof *vs->tools) : NULL;
    size_t k = 0;
    for (size_t i = 0; i < nt && vs->tools; i++) {
        const char *n = json_string_value(json_object_get(json_array_get(tools, i), "name"));
        if (n)
            vs->tools[k++] = n;
    }
    *v = (lo_twin_request_view){
        .path = x->req->path,
        .model = json_string_value(json_object_get(b, "model")),
        .call = call,
        .user_text = vs->user.data ? vs->user.data : "",
        .tool_result_text = vs->has_result ? (vs->result.data ? vs->result.data : "") : NULL,
        .tools = vs->tools,
        .n_tools = k,
    };
}

static void view_release(view_store *vs)
{
    lo_buf_release(&vs->user);
    lo_buf_release(&vs->result);
    free(vs->tools);
}

/* ------------------------------------------------------------ replies */

static const char *stop_reason(const json_t *reply)
{
    const char *s = json_string_value(json_object_get(reply, "stop_reason"));
    if (!s)
        return json_array_size(json_object_get(reply, "tool_calls")) ? "tool_use" : "end_turn";
    /* the neutral names of the unified model map onto Anthropic's */
    if (!strcmp(s, "stop"))
        return "end_turn";
    if (!strcmp(s, "length"))
        return "max_tokens";
    if (!strcmp(s, "tool_calls"))
        return "tool_use";
    return s;
}

/* The content blocks of a reply, complete: thinking, text, tool_use. */
static json_t *reply_blocks(const json_t *reply, long call)
{
    json_t *blocks = json_array();
    json_t *th = json_object_get(reply, "thinking");
    if (th) {
        const char *text = json_is_string(th) ? json_string_value(th)
                                              : json_string_value(json_object_get(th, "text"));
        const char *sig = json_string_value(json_object_get(th, "signature"));
        char gen[120];
        if (!sig) {
            /* opaque and deterministic, like the real one is to a client */
            twin_id(gen, sizeof gen, "", text, (uint64_t)call, 96);
            sig = gen;
        }
        json_array_append_new(blocks, json_pack("{s:s, s:s, s:s}", "type", "thinking",
                                                "thinking", text, "signature", sig));
    }
    json_t *text = json_object_get(reply, "text");
    if (text)
        json_array_append_new(blocks, json_pack("{s:s, s:O}", "type", "text", "text", text));
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(reply, "tool_calls"), i, tc) {
        char id[40];
        const char *tid = json_string_value(json_object_get(tc, "id"));
        if (!tid) {
            twin_id(id, sizeof id, "toolu_", "toolu", (uint64_t)call * 1024 + i, 24);
            tid = id;
        }
        json_t *args = json_object_get(tc, "arguments");
        json_array_append_new(blocks,
                              json_pack("{s:s, s:s, s:O, s:o}", "type", "tool_use", "id", tid,
                                        "name", json_object_get(tc, "name"), "input",
                                        args ? json_incref(args) : json_object()));
    }
    return blocks;
}

/* input_tokens is what was neither read from nor written to the cache. */
static json_t *usage_obj(int64_t in, int64_t out, const twin_cache_use *c)
{
    return json_pack("{s:I, s:I, s:I, s:{s:I, s:I}, s:I, s:s}", "input_tokens", (json_int_t)in,
                     "cache_creation_input_tokens", (json_int_t)c->write,
                     "cache_read_input_tokens", (json_int_t)c->read, "cache_creation",
                     "ephemeral_5m_input_tokens", (json_int_t)(c->write - c->write_1h),
                     "ephemeral_1h_input_tokens", (json_int_t)c->write_1h, "output_tokens",
                     (json_int_t)out, "service_tier", "standard");
}

/* The smallest prefix Anthropic caches: 2048 tokens for Haiku models, 1024
 * for the others (docs/twins.md). */
static twin_cache_policy cache_policy(const lo_llm_model *m)
{
    return (twin_cache_policy){.breakpoints = true, .min = strstr(m->id, "haiku") ? 2048 : 1024};
}

static void ratelimit_headers(exch *x, int64_t in, int64_t out)
{
    char reset[40], v[32];
    time_t now = time(NULL) + 60;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(reset, sizeof reset, "%Y-%m-%dT%H:%M:%SZ", &tm);
    static const char *const kinds[] = {"requests", "input-tokens", "output-tokens", "tokens"};
    int64_t limit[] = {RL_REQUESTS, RL_INPUT_TOKENS, RL_OUTPUT_TOKENS,
                       RL_INPUT_TOKENS + RL_OUTPUT_TOKENS};
    int64_t used[] = {1, in, out, in + out};
    for (size_t i = 0; i < 4; i++) {
        char name[80];
        snprintf(name, sizeof name, "anthropic-ratelimit-%s-limit", kinds[i]);
        snprintf(v, sizeof v, "%lld", (long long)limit[i]);
        lo_http_add_header(x->res, name, v);
        snprintf(name, sizeof name, "anthropic-ratelimit-%s-remaining", kinds[i]);
        snprintf(v, sizeof v, "%lld",
                 (long long)(limit[i] - used[i] > 0 ? limit[i] - used[i] : 0));
        lo_http_add_header(x->res, name, v);
        snprintf(name, sizeof name, "anthropic-ratelimit-%s-reset", kinds[i]);
        lo_http_add_header(x->res, name, reset);
    }
}

static char *event(const char *type, json_t *data)
{
    char *d = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    lo_buf b;
    lo_buf_init(&b, 0);
    lo_buf_printf(&b, "event: %s\ndata: %s\n\n", type, d ? d : "{}");
    free(d);
    return lo_buf_steal(&b);
}

/* Pieces of about `size` bytes, never splitting a UTF-8 sequence, the way a
 * model's tokens arrive a few characters at a time. */
static size_t piece(const char *s, size_t size)
{
    size_t n = strlen(s);
    if (n <= size)
        return n;
    size_t k = size;
    while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
        k++;
    return k;
}

#define PIECE 16

typedef struct evlist {
    char **v;
    size_t n, cap;
    bool oom;
} evlist;

static void push(evlist *l, char *e)
{
    if (!e) {
        l->oom = true;
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        char **nv = lo_realloc(l->v, cap * sizeof *nv);
        if (!nv) {
            free(e);
            l->oom = true;
            return;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = e;
}

static void push_deltas(evlist *l, size_t index, const char *dtype, const char *field,
                        const char *s)
{
    while (*s) {
        size_t k = piece(s, PIECE);
        json_t *d = json_pack("{s:s, s:I, s:{s:s, s:s%}}", "type", "content_block_delta",
                              "index", (json_int_t)index, "delta", "type", dtype, field, s, k);
        push(l, event("content_block_delta", d));
        s += k;
    }
}

/* The stream of a message whose complete form is msg: message_start, then
 * per block start / (ping after the first) / deltas / stop, then
 * message_delta and message_stop. */
static void stream_events(evlist *l, const json_t *msg)
{
    json_t *start = json_deep_copy(msg);
    json_object_set_new(start, "content", json_array());
    json_object_set_new(start, "stop_reason", json_null());
    json_object_set_new(start, "stop_sequence", json_null());
    /* the real stream reports output tokens as 1 until message_delta */
    json_object_set_new(json_object_get(start, "usage"), "output_tokens", json_integer(1));
    push(l, event("message_start", json_pack("{s:s, s:o}", "type", "message_start", "message",
                                             start)));
    json_t *blocks = json_object_get(msg, "content");
    size_t i;
    json_t *b;
    bool pinged = false;
    json_array_foreach(blocks, i, b) {
        const char *type = json_string_value(json_object_get(b, "type"));
        json_t *head;
        if (!strcmp(type, "thinking"))
            head = json_pack("{s:s, s:s, s:s}", "type", "thinking", "thinking", "", "signature", "");
        else if (!strcmp(type, "tool_use"))
            head = json_pack("{s:s, s:O, s:O, s:{}}", "type", "tool_use", "id",
                             json_object_get(b, "id"), "name", json_object_get(b, "name"), "input");
        else
            head = json_pack("{s:s, s:s}", "type", "text", "text", "");
        push(l, event("content_block_start", json_pack("{s:s, s:I, s:o}", "type",
                                                       "content_block_start", "index",
                                                       (json_int_t)i, "content_block", head)));
        if (!pinged) {
            push(l, event("ping", json_pack("{s:s}", "type", "ping")));
            pinged = true;
        }
        if (!strcmp(type, "thinking")) {
            push_deltas(l, i, "thinking_delta", "thinking",
                        json_string_value(json_object_get(b, "thinking")));
            json_t *d = json_pack("{s:s, s:I, s:{s:s, s:O}}", "type", "content_block_delta",
                                  "index", (json_int_t)i, "delta", "type", "signature_delta",
                                  "signature", json_object_get(b, "signature"));
            push(l, event("content_block_delta", d));
        } else if (!strcmp(type, "tool_use")) {
            char *js = json_dumps(json_object_get(b, "input"), JSON_COMPACT);
            /* the real stream opens with an empty partial_json */
            json_t *d = json_pack("{s:s, s:I, s:{s:s, s:s}}", "type", "content_block_delta",
                                  "index", (json_int_t)i, "delta", "type", "input_json_delta",
                                  "partial_json", "");
            push(l, event("content_block_delta", d));
            push_deltas(l, i, "input_json_delta", "partial_json", js ? js : "{}");
            free(js);
        } else {
            push_deltas(l, i, "text_delta", "text", json_string_value(json_object_get(b, "text")));
        }
        push(l, event("content_block_stop", json_pack("{s:s, s:I}", "type", "content_block_stop",
                                                      "index", (json_int_t)i)));
    }
    if (!pinged)
        push(l, event("ping", json_pack("{s:s}", "type", "ping")));
    /* the final counts: input and cache as in message_start, output complete */
    json_t *u = json_object_get(msg, "usage");
    push(l, event("message_delta",
                  json_pack("{s:s, s:{s:O, s:O}, s:{s:O, s:O, s:O, s:O}}", "type",
                            "message_delta", "delta", "stop_reason",
                            json_object_get(msg, "stop_reason"), "stop_sequence",
                            json_object_get(msg, "stop_sequence"), "usage", "input_tokens",
                            json_object_get(u, "input_tokens"), "cache_creation_input_tokens",
                            json_object_get(u, "cache_creation_input_tokens"),
                            "cache_read_input_tokens",
                            json_object_get(u, "cache_read_input_tokens"), "output_tokens",
                            json_object_get(u, "output_tokens"))));
    push(l, event("message_stop", json_pack("{s:s}", "type", "message_stop")));
}

static bool looks_sse(const char *s)
{
    return lo_str_starts(s, "event:") || lo_str_starts(s, "data:") || lo_str_starts(s, ":");
}

static void serve_entry(exch *x, const json_t *b, const lo_tape_entry *e,
                        const lo_llm_model *model)
{
    const lo_tape_fault *f = &e->fault;
    if (f->status) {
        send_error_f(x, f->status, f, "%s", error_message(f->status));
        return;
    }
    x->status = 200;
    if (e->raw) {
        const char *s = json_string_value(e->raw);
        if (s && looks_sse(s)) {
            x->stream = true;
            twin_send_raw_sse(x->res, s, f);
        } else if (s) {
            twin_send(x->res, 200, "application/json", s, strlen(s), f);
        } else {
            char *d = json_dumps(e->raw, JSON_COMPACT | JSON_ENCODE_ANY);
            twin_send(x->res, 200, "application/json", d ? d : "", d ? strlen(d) : 0, f);
            free(d);
        }
        done(x);
        return;
    }
    const json_t *r = e->reply;
    twin_usage us;
    twin_prompt p;
    twin_prompt_init(&p, model->id, NULL);
    twin_prompt_anthropic(b, &p);
    twin_cache_policy pol = cache_policy(model);
    twin_usage_resolve(x->t, r, &p, &pol, &us);
    twin_prompt_release(&p);
    /* Anthropic's input_tokens leaves out what the cache read or wrote */
    int64_t in = us.input - us.cache.read - us.cache.write, out = us.output;
    const char *sr = stop_reason(r);
    json_t *seq = json_object_get(r, "stop_sequence");
    if (!seq && !strcmp(sr, "stop_sequence"))
        seq = json_array_get(json_object_get(b, "stop_sequences"), 0);
    char id[40];
    twin_id(id, sizeof id, "msg_", "message", (uint64_t)x->call, 24);
    json_t *msg = json_pack("{s:s, s:s, s:s, s:O, s:o, s:s, s:O, s:o}", "id", id, "type",
                            "message", "role", "assistant", "model", json_object_get(b, "model"),
                            "content", reply_blocks(r, x->call), "stop_reason", sr,
                            "stop_sequence", seq ? seq : json_null(), "usage",
                            usage_obj(in, out, &us.cache));
    ratelimit_headers(x, in, out);
    if (json_is_true(json_object_get(b, "stream"))) {
        x->stream = true;
        evlist l = {0};
        stream_events(&l, msg);
        if (l.oom) {
            for (size_t i = 0; i < l.n; i++)
                free(l.v[i]);
            free(l.v);
            json_decref(msg);
            send_error_f(x, 500, NULL, "out of memory in the twin");
            return;
        }
        twin_send_events(x->res, l.v, l.n, f);
    } else {
        char *s = json_dumps(msg, JSON_COMPACT);
        twin_send(x->res, 200, "application/json", s ? s : "", s ? strlen(s) : 0, f);
        free(s);
    }
    json_decref(msg);
    done(x);
}

/* ------------------------------------------------------------ routes */

static void h_messages(const lo_http_request *req, lo_http_response *res, void *ud)
{
    exch x = {.t = ud, .req = req, .res = res};
    if (gate(&x))
        return;
    json_t *b = parse_body(&x);
    if (!b)
        return;
    verdict v = {0};
    const lo_llm_model *m = NULL;
    if (validate(x.t, b, false, &v, &m)) {
        send_error_f(&x, v.status, NULL, "%s", v.msg);
        json_decref(b);
        return;
    }
    x.stream = json_is_true(json_object_get(b, "stream"));
    x.call = atomic_fetch_add(&x.t->calls, 1) + 1;
    lo_twin_request_view view;
    view_store vs;
    view_build(&x, b, x.call, &view, &vs);
    char why[1500];
    const lo_tape_entry *e = lo_tape_match(x.t->tapes, x.t->n_tapes, &view, why, sizeof why);
    view_release(&vs);
    if (!e) {
        send_error_f(&x, 400, NULL, "%s", why);
    } else {
        x.entry = e;
        serve_entry(&x, b, e, m);
    }
    json_decref(b);
}

static void h_count_tokens(const lo_http_request *req, lo_http_response *res, void *ud)
{
    exch x = {.t = ud, .req = req, .res = res};
    if (gate(&x))
        return;
    json_t *b = parse_body(&x);
    if (!b)
        return;
    verdict v = {0};
    const lo_llm_model *m = NULL;
    if (validate(x.t, b, true, &v, &m)) {
        send_error_f(&x, v.status, NULL, "%s", v.msg);
    } else {
        json_t *out = json_pack("{s:I}", "input_tokens",
                                (json_int_t)twin_tokens_anthropic_request(b));
        char *s = json_dumps(out, JSON_COMPACT);
        lo_http_respond(res, 200, "application/json", s, s ? strlen(s) : 0);
        free(s);
        json_decref(out);
        x.status = 200;
        done(&x);
    }
    json_decref(b);
}

static json_t *model_obj(const lo_llm_model *m)
{
    char created[32];
    snprintf(created, sizeof created, "%sT00:00:00Z", m->released ? m->released : "2024-01-01");
    return json_pack("{s:s, s:s, s:s, s:s}", "type", "model", "id", m->id, "display_name",
                     m->display_name ? m->display_name : m->id, "created_at", created);
}

static void send_json(exch *x, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    lo_http_respond(x->res, 200, "application/json", s, s ? strlen(s) : 0);
    free(s);
    json_decref(j);
    x->status = 200;
    done(x);
}

static void h_models(const lo_http_request *req, lo_http_response *res, void *ud)
{
    exch x = {.t = ud, .req = req, .res = res};
    if (gate(&x))
        return;
    const char *lim = lo_http_query_param(req, "limit");
    const char *after = lo_http_query_param(req, "after_id");
    int64_t limit = 20;
    if (lim && (lo_parse_int64(lim, &limit) || limit < 1 || limit > 1000)) {
        send_error_f(&x, 400, NULL, "limit: Input should be an integer from 1 to 1000");
        return;
    }
    size_t n = 0;
    const lo_llm_model **all = lo_llm_model_list(x.t->catalog, PROVIDER, &n);
    size_t from = 0;
    if (after) {
        while (from < n && strcmp(all[from]->id, after))
            from++;
        from = from < n ? from + 1 : n;
    }
    json_t *data = json_array();
    size_t i = from;
    for (; i < n && (int64_t)(i - from) < limit; i++)
        json_array_append_new(data, model_obj(all[i]));
    size_t got = json_array_size(data);
    json_t *out = json_pack("{s:o, s:b, s:O, s:O}", "data", data, "has_more", i < n, "first_id",
                            got ? json_object_get(json_array_get(data, 0), "id") : json_null(),
                            "last_id",
                            got ? json_object_get(json_array_get(data, got - 1), "id")
                                : json_null());
    free(all);
    send_json(&x, out);
}

static void h_model(const lo_http_request *req, lo_http_response *res, void *ud)
{
    exch x = {.t = ud, .req = req, .res = res};
    if (gate(&x))
        return;
    const char *id = req->path + strlen("/v1/models/");
    const lo_llm_model *m = lo_llm_model_find(x.t->catalog, id);
    if (!m || !lo_str_eq(m->provider, PROVIDER)) {
        send_error_f(&x, 404, NULL, "model: %.120s", id);
        return;
    }
    send_json(&x, model_obj(m));
}

static void h_other(const lo_http_request *req, lo_http_response *res, void *ud)
{
    exch x = {.t = ud, .req = req, .res = res};
    begin(&x);
    send_error_f(&x, 404, NULL, "Not Found");
}

int twin_anthropic_routes(lo_twin *t, lo_error *err)
{
    lo_http_server *s = t->srv;
    int rc;
    if ((rc = lo_http_route(s, "POST", "/v1/messages", h_messages, t)) ||
        (rc = lo_http_route(s, "POST", "/v1/messages/count_tokens", h_count_tokens, t)) ||
        (rc = lo_http_route(s, "GET", "/v1/models", h_models, t)) ||
        (rc = lo_http_route(s, "GET", "/v1/models/*", h_model, t)) ||
        (rc = lo_http_route(s, NULL, "/*", h_other, t)))
        return lo_error_set(err, rc, "cannot add the anthropic routes");
    return 0;
}
