/* The OpenAI twin: the Responses API (POST /v1/responses), Chat Completions
 * (POST /v1/chat/completions), both streaming and not, and the model list
 * (GET /v1/models), with OpenAI's authentication, validation, error bodies,
 * ids, usage and headers. Bodies come from tapes (tape.c); this file turns a
 * provider-neutral reply into OpenAI's wire formats, openai_stream.c turns
 * the finished objects into stream events. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "twin/twin_internal.h"

#define PROVIDER "openai"

/* The limits the rate-limit headers report: a plausible paid tier, fixed so
 * tests can rely on them. */
#define RL_REQUESTS 10000
#define RL_TOKENS 30000000

/* Declared here and in twin.c: the twin's internal header belongs to the
 * core, and this is the one entry point the core needs. */
int twin_openai_routes(lo_twin *t, bool shared, lo_error *err);
/* openai_stream.c: the stream of a finished object (event strings, owned by
 * the caller; NULL when out of memory). */
char **twin_openai_response_events(const json_t *resp, size_t *n);
char **twin_openai_chat_chunks(const json_t *cc, bool usage, size_t *n);

enum api { API_RESPONSES, API_CHAT };

/* One request as it goes through: what the log line reports. */
typedef struct exch {
    lo_twin *t;
    const lo_http_request *req;
    lo_http_response *res;
    long request_no, call;
    int status;
    const lo_tape_entry *entry;
    bool stream;
    char rid[48]; /* x-request-id */
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

/* What the API puts in error.type and error.code for a fault status. */
static const char *error_type(int status)
{
    switch (status) {
    case 429: return "requests";
    case 503: return "server_error";
    }
    return status >= 500 ? "server_error" : "invalid_request_error";
}

static const char *error_code(int status)
{
    switch (status) {
    case 401: return "invalid_api_key";
    case 404: return "model_not_found";
    case 429: return "rate_limit_exceeded";
    }
    return NULL;
}

static const char *error_message(int status)
{
    switch (status) {
    case 429: return "Rate limit reached for requests. Please try again in 1s.";
    case 503: return "The server is overloaded or not ready yet.";
    case 404: return "The model does not exist or you do not have access to it.";
    case 401: return "Incorrect API key provided.";
    }
    return status >= 500 ? "The server had an error while processing your request. Sorry "
                           "about that!"
                         : "Request failed";
}

static void begin(exch *x)
{
    x->request_no = atomic_fetch_add(&x->t->requests, 1) + 1;
    twin_id(x->rid, sizeof x->rid, "req_", "openai-request", (uint64_t)x->request_no, 32);
    lo_http_add_header(x->res, "x-request-id", x->rid);
    lo_http_add_header(x->res, "openai-version", "2020-10-01");
    lo_http_add_header(x->res, "openai-processing-ms", "1");
}

/* A verdict: everything an OpenAI error body says. */
typedef struct verdict {
    int status;
    const char *type;
    char param[128]; /* "" = null */
    const char *code; /* NULL = null */
    char msg[900];
} verdict;

static void send_verdict(exch *x, const verdict *v, const lo_tape_fault *f)
{
    json_t *body = json_pack("{s:{s:s, s:s, s:o, s:o}}", "error", "message", v->msg, "type",
                             v->type ? v->type : error_type(v->status), "param",
                             *v->param ? json_string(v->param) : json_null(), "code",
                             v->code ? json_string(v->code) : json_null());
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    long ra = f ? f->retry_after_s : -1;
    if (ra < 0 && (v->status == 429 || v->status == 503))
        ra = 1;
    if (ra >= 0) {
        char h[32];
        snprintf(h, sizeof h, "%ld", ra);
        lo_http_add_header(x->res, "retry-after", h);
    }
    if (v->status == 429) {
        lo_http_add_header(x->res, "x-ratelimit-remaining-requests", "0");
        lo_http_add_header(x->res, "x-ratelimit-reset-requests", "1s");
    }
    twin_send(x->res, v->status, "application/json", s ? s : "", s ? strlen(s) : 0, f);
    free(s);
    x->status = v->status;
    done(x);
}

static int bad(verdict *v, int status, const char *param, const char *code, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));
static int bad(verdict *v, int status, const char *param, const char *code, const char *fmt,
               ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof v->msg, fmt, ap);
    va_end(ap);
    v->status = status;
    v->type = NULL;
    snprintf(v->param, sizeof v->param, "%s", param ? param : "");
    v->code = code;
    return -1;
}

static void send_error(exch *x, int status, const char *param, const char *code,
                       const char *msg)
{
    verdict v = {0};
    bad(&v, status, param, code, "%s", msg);
    send_verdict(x, &v, NULL);
}

/* ------------------------------------------------------------ auth, body */

static int gate(exch *x)
{
    begin(x);
    const char *auth = lo_http_header(x->req, "authorization");
    const char *key = auth && !strncasecmp(auth, "Bearer ", 7) ? auth + 7 : NULL;
    while (key && *key == ' ')
        key++;
    if (!key || !*key) {
        /* the real API reports a missing key without a code */
        send_error(x, 401, NULL, NULL,
                   "You didn't provide an API key. You need to provide your API key in an "
                   "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                   "YOUR_KEY).");
        return -1;
    }
    if (!twin_key_ok(x->t, key)) {
        /* the real API echoes a masked key; the twin echoes none of it */
        send_error(x, 401, NULL, "invalid_api_key",
                   "Incorrect API key provided. You can find your API key at "
                   "https://platform.openai.com/account/api-keys.");
        return -1;
    }
    return 0;
}

static json_t *parse_body(exch *x)
{
    json_t *b = json_loadb(x->req->body, x->req->body_len, 0, NULL);
    if (!json_is_object(b)) {
        json_decref(b);
        send_error(x, 400, NULL, NULL,
                   "We could not parse the JSON body of your request. The OpenAI API expects "
                   "a JSON object as the body.");
        return NULL;
    }
    return b;
}

/* ------------------------------------------------------------ validation */

static const char *jtype(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a decimal";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static const char *jstr(const json_t *j, const char *k)
{
    return json_string_value(json_object_get(j, k));
}

static int invalid_type(verdict *v, const char *param, const char *want, const json_t *got)
{
    return bad(v, 400, param, "invalid_type",
               "Invalid type for '%s': expected %s, but got %s instead.", param, want,
               jtype(got));
}

static int missing(verdict *v, const char *param)
{
    return bad(v, 400, param, "missing_required_parameter",
               "Missing required parameter: '%s'.", param);
}

static bool tool_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* The function name of a tool definition in either API (Chat nests it under
 * "function", Responses does not). */
static const json_t *tool_fn(const json_t *tl, enum api api)
{
    return api == API_CHAT ? json_object_get(tl, "function") : tl;
}

static int check_tools(const json_t *tools, const json_t *choice, enum api api, verdict *v)
{
    char p[128];
    if (tools && !json_is_array(tools))
        return invalid_type(v, "tools", "an array", tools);
    size_t i;
    json_t *tl;
    const char *pre = api == API_CHAT ? ".function" : "";
    json_array_foreach(tools, i, tl) {
        snprintf(p, sizeof p, "tools[%zu]", i);
        if (!json_is_object(tl))
            return invalid_type(v, p, "an object", tl);
        const char *type = jstr(tl, "type");
        if (!type) {
            snprintf(p, sizeof p, "tools[%zu].type", i);
            return missing(v, p);
        }
        /* built-in tools (web_search, file_search, ...) carry no schema */
        if (strcmp(type, "function"))
            continue;
        const json_t *fn = tool_fn(tl, api);
        if (!json_is_object(fn)) {
            snprintf(p, sizeof p, "tools[%zu].function", i);
            return missing(v, p);
        }
        const char *name = jstr(fn, "name");
        if (!name) {
            snprintf(p, sizeof p, "tools[%zu]%s.name", i, pre);
            return missing(v, p);
        }
        if (!tool_name_ok(name)) {
            snprintf(p, sizeof p, "tools[%zu]%s.name", i, pre);
            return bad(v, 400, p, "invalid_value",
                       "Invalid '%s': string does not match pattern. Expected a string that "
                       "matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.", p);
        }
        for (size_t k = 0; k < i; k++)
            if (lo_str_eq(jstr(tool_fn(json_array_get(tools, k), api), "name"), name))
                return bad(v, 400, "tools", NULL, "Duplicate tool name: '%.64s'.", name);
        const json_t *params = json_object_get(fn, "parameters");
        if (params && !json_is_null(params) &&
            (!json_is_object(params) || !lo_str_eq(jstr(params, "type"), "object"))) {
            snprintf(p, sizeof p, "tools[%zu]%s.parameters", i, pre);
            return bad(v, 400, p, "invalid_function_parameters",
                       "Invalid schema for function '%.64s': schema must be a JSON Schema of "
                       "'type: \"object\"', got 'type: \"%.40s\"'.", name,
                       json_is_object(params) && jstr(params, "type") ? jstr(params, "type")
                                                                      : "None");
        }
        const json_t *props = json_object_get(params, "properties");
        if (props && !json_is_object(props)) {
            snprintf(p, sizeof p, "tools[%zu]%s.parameters", i, pre);
            return bad(v, 400, p, "invalid_function_parameters",
                       "Invalid schema for function '%.64s': 'properties' must be an object.",
                       name);
        }
    }
    if (!choice)
        return 0;
    if (json_is_string(choice)) {
        const char *c = json_string_value(choice);
        if (strcmp(c, "none") && strcmp(c, "auto") && strcmp(c, "required"))
            return bad(v, 400, "tool_choice", "invalid_value",
                       "Invalid value: '%.40s'. Supported values are: 'none', 'auto', and "
                       "'required'.", c);
        return 0;
    }
    if (!json_is_object(choice))
        return invalid_type(v, "tool_choice", "a string or an object", choice);
    if (!lo_str_eq(jstr(choice, "type"), "function"))
        return 0; /* allowed_tools, built-in tool types: not checked */
    const char *want = api == API_CHAT ? jstr(json_object_get(choice, "function"), "name")
                                       : jstr(choice, "name");
    json_array_foreach(tools, i, tl) if (lo_str_eq(jstr(tool_fn(tl, api), "name"), want))
        return 0;
    return bad(v, 400, "tool_choice", "invalid_value",
               "Tool choice '%.64s' not found in 'tools' parameter.", want ? want : "");
}

/* Chat Completions messages: roles, content, and every tool message answering
 * a tool call of the assistant message before it. */
static int check_chat_messages(const json_t *msgs, verdict *v)
{
    char p[128];
    if (!msgs)
        return missing(v, "messages");
    if (!json_is_array(msgs))
        return invalid_type(v, "messages", "an array", msgs);
    if (!json_array_size(msgs))
        return bad(v, 400, "messages", "empty_array",
                   "Invalid 'messages': empty array. Expected an array with minimum length 1, "
                   "but got an empty array instead.");
    size_t i;
    json_t *m;
    const json_t *calls = NULL; /* tool_calls of the last assistant message */
    size_t calls_at = 0;
    json_array_foreach(msgs, i, m) {
        snprintf(p, sizeof p, "messages[%zu]", i);
        if (!json_is_object(m))
            return invalid_type(v, p, "an object", m);
        const char *role = jstr(m, "role");
        snprintf(p, sizeof p, "messages[%zu].role", i);
        if (!role)
            return missing(v, p);
        static const char *const roles[] = {"system", "developer", "user", "assistant", "tool",
                                            "function"};
        bool known = false;
        for (size_t k = 0; k < 6; k++)
            known |= !strcmp(role, roles[k]);
        if (!known)
            return bad(v, 400, p, "invalid_value",
                       "Invalid value: '%.40s'. Supported values are: 'system', 'assistant', "
                       "'user', 'function', 'tool', and 'developer'.", role);
        const json_t *c = json_object_get(m, "content");
        const json_t *tc = json_object_get(m, "tool_calls");
        snprintf(p, sizeof p, "messages[%zu].content", i);
        if (!strcmp(role, "assistant")) {
            if ((!c || json_is_null(c)) && !json_array_size(tc))
                return missing(v, p);
        } else if (!c) {
            return missing(v, p);
        }
        if (c && !json_is_null(c) && !json_is_string(c) && !json_is_array(c))
            return invalid_type(v, p, "one of a string or array of objects", c);
        size_t j;
        json_t *part;
        json_array_foreach(c, j, part) {
            snprintf(p, sizeof p, "messages[%zu].content[%zu].type", i, j);
            if (!jstr(part, "type"))
                return missing(v, p);
        }
        if (!strcmp(role, "assistant") && json_array_size(tc)) {
            json_array_foreach(tc, j, part) {
                const json_t *fn = json_object_get(part, "function");
                snprintf(p, sizeof p, "messages[%zu].tool_calls[%zu]", i, j);
                if (!jstr(part, "id") || !jstr(fn, "name") || !jstr(fn, "arguments"))
                    return bad(v, 400, p, "missing_required_parameter",
                               "Invalid '%s': a tool call needs an id and a function with a "
                               "name and an arguments string.", p);
            }
            calls = tc;
            calls_at = i;
        } else if (!strcmp(role, "assistant")) {
            calls = NULL;
        }
        if (!strcmp(role, "tool")) {
            const char *id = jstr(m, "tool_call_id");
            snprintf(p, sizeof p, "messages.[%zu].role", i);
            if (!calls)
                return bad(v, 400, p, NULL,
                           "Invalid parameter: messages with role 'tool' must be a response "
                           "to a preceeding message with 'tool_calls'.");
            snprintf(p, sizeof p, "messages.[%zu].tool_call_id", i);
            if (!id)
                return missing(v, p);
            bool found = false;
            json_array_foreach(calls, j, part) found |= lo_str_eq(jstr(part, "id"), id);
            if (!found)
                return bad(v, 400, p, NULL,
                           "Invalid parameter: 'tool_call_id' of '%.80s' not found in "
                           "'tool_calls' of previous message.", id);
        } else if (calls && i > calls_at) {
            /* a non-tool message after tool calls: every call must be answered */
            json_array_foreach(calls, j, part) {
                const char *id = jstr(part, "id");
                bool answered = false;
                for (size_t k = calls_at + 1; k < i; k++)
                    answered |= lo_str_eq(jstr(json_array_get(msgs, k), "tool_call_id"), id);
                if (!answered) {
                    snprintf(p, sizeof p, "messages.[%zu].role", calls_at);
                    return bad(v, 400, p, NULL,
                               "An assistant message with 'tool_calls' must be followed by "
                               "tool messages responding to each 'tool_call_id'. The "
                               "following tool_call_ids did not have response messages: %.80s",
                               id);
                }
            }
            calls = NULL;
        }
    }
    return 0;
}

/* Responses input: a string, or an array of items (messages, function
 * calls, function call outputs, reasoning, ...). */
static int check_input(const json_t *b, verdict *v)
{
    char p[128];
    const json_t *in = json_object_get(b, "input");
    bool stateful = json_is_string(json_object_get(b, "previous_response_id"));
    if (!in) {
        if (stateful || json_object_get(b, "prompt") || json_object_get(b, "conversation"))
            return 0;
        return missing(v, "input");
    }
    if (json_is_string(in))
        return 0;
    if (!json_is_array(in))
        return invalid_type(v, "input", "one of a string or array of input items", in);
    size_t i;
    json_t *it;
    json_array_foreach(in, i, it) {
        snprintf(p, sizeof p, "input[%zu]", i);
        if (!json_is_object(it))
            return invalid_type(v, p, "an object", it);
        const char *type = jstr(it, "type");
        const char *role = jstr(it, "role");
        if (!type && role)
            type = "message";
        snprintf(p, sizeof p, "input[%zu].type", i);
        if (!type)
            return missing(v, p);
        if (!strcmp(type, "message")) {
            snprintf(p, sizeof p, "input[%zu].role", i);
            if (!role)
                return missing(v, p);
            if (strcmp(role, "user") && strcmp(role, "assistant") && strcmp(role, "system") &&
                strcmp(role, "developer"))
                return bad(v, 400, p, "invalid_value",
                           "Invalid value: '%.40s'. Supported values are: 'assistant', "
                           "'system', 'developer', and 'user'.", role);
            const json_t *c = json_object_get(it, "content");
            snprintf(p, sizeof p, "input[%zu].content", i);
            if (!c)
                return missing(v, p);
            if (!json_is_string(c) && !json_is_array(c))
                return invalid_type(v, p, "one of a string or array of input content", c);
            size_t j;
            json_t *part;
            json_array_foreach(c, j, part) {
                snprintf(p, sizeof p, "input[%zu].content[%zu].type", i, j);
                if (!jstr(part, "type"))
                    return missing(v, p);
            }
        } else if (!strcmp(type, "function_call")) {
            static const char *const need[] = {"call_id", "name", "arguments"};
            for (size_t k = 0; k < 3; k++)
                if (!jstr(it, need[k])) {
                    snprintf(p, sizeof p, "input[%zu].%s", i, need[k]);
                    return missing(v, p);
                }
        } else if (!strcmp(type, "function_call_output")) {
            const char *id = jstr(it, "call_id");
            snprintf(p, sizeof p, "input[%zu].call_id", i);
            if (!id)
                return missing(v, p);
            snprintf(p, sizeof p, "input[%zu].output", i);
            if (!json_object_get(it, "output"))
                return missing(v, p);
            /* without previous_response_id the call must be in this input */
            bool found = stateful;
            for (size_t k = 0; k < i && !found; k++) {
                const json_t *o = json_array_get(in, k);
                found = lo_str_eq(jstr(o, "type"), "function_call") &&
                        lo_str_eq(jstr(o, "call_id"), id);
            }
            if (!found)
                return bad(v, 400, "input", NULL,
                           "No tool call found for function call output with call_id %.80s.",
                           id);
        } else if (strcmp(type, "reasoning") && strcmp(type, "item_reference") &&
                   strcmp(type, "input_text")) {
            return bad(v, 400, p, "invalid_value",
                       "Invalid value: '%.60s'. Supported values are: 'message', "
                       "'function_call', 'function_call_output', 'reasoning', and "
                       "'item_reference'.", type);
        }
    }
    return 0;
}

static int check_number(const json_t *b, const char *k, double lo, double hi, verdict *v)
{
    const json_t *n = json_object_get(b, k);
    if (!n || json_is_null(n))
        return 0;
    if (!json_is_number(n))
        return invalid_type(v, k, "a decimal", n);
    double d = json_number_value(n);
    if (d < lo)
        return bad(v, 400, k, "decimal_below_min_value",
                   "Invalid '%s': decimal below minimum value. Expected a value >= %g, but got "
                   "%g instead.", k, lo, d);
    if (d > hi)
        return bad(v, 400, k, "decimal_above_max_value",
                   "Invalid '%s': decimal above maximum value. Expected a value <= %g, but got "
                   "%g instead.", k, hi, d);
    return 0;
}

/* The checks of the real API: fields, then the model, then limits that
 * depend on it. */
static int validate(lo_twin *t, const json_t *b, enum api api, verdict *v)
{
    const json_t *jm = json_object_get(b, "model");
    if (!jm)
        return missing(v, "model");
    if (!json_is_string(jm))
        return invalid_type(v, "model", "a string", jm);
    if (api == API_CHAT ? check_chat_messages(json_object_get(b, "messages"), v)
                        : check_input(b, v))
        return -1;
    const json_t *ins = json_object_get(b, "instructions");
    if (api == API_RESPONSES && ins && !json_is_null(ins) && !json_is_string(ins))
        return invalid_type(v, "instructions", "a string", ins);
    if (check_tools(json_object_get(b, "tools"), json_object_get(b, "tool_choice"), api, v))
        return -1;
    const json_t *st = json_object_get(b, "stream");
    if (st && !json_is_null(st) && !json_is_boolean(st))
        return invalid_type(v, "stream", "a boolean", st);
    if (api == API_CHAT && json_object_get(b, "stream_options") &&
        !json_is_null(json_object_get(b, "stream_options")) && !json_is_true(st))
        return bad(v, 400, "stream_options", NULL,
                   "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
    if (check_number(b, "temperature", 0, 2, v) || check_number(b, "top_p", 0, 1, v))
        return -1;
    const char *mk = api == API_RESPONSES ? "max_output_tokens"
                     : json_object_get(b, "max_completion_tokens") ? "max_completion_tokens"
                                                                    : "max_tokens";
    const json_t *mt = json_object_get(b, mk);
    if (mt && !json_is_null(mt) && !json_is_integer(mt))
        return invalid_type(v, mk, "an integer", mt);
    long long min = api == API_RESPONSES ? 16 : 1;
    if (json_is_integer(mt) && json_integer_value(mt) < min)
        return bad(v, 400, mk, "integer_below_min_value",
                   "Invalid '%s': integer below minimum value. Expected a value >= %lld, but "
                   "got %lld instead.", mk, min, (long long)json_integer_value(mt));
    const char *id = json_string_value(jm);
    const lo_llm_model *m = lo_llm_model_find(t->catalog, id);
    if (!m || !lo_str_eq(m->provider, PROVIDER)) {
        bad(v, 404, api == API_RESPONSES ? "model" : NULL, "model_not_found",
            api == API_RESPONSES ? "The requested model '%.120s' does not exist."
                                 : "The model `%.120s` does not exist or you do not have "
                                   "access to it.", id);
        return -1;
    }
    if (json_is_integer(mt) && m->max_output > 0 && json_integer_value(mt) > m->max_output)
        return bad(v, 400, mk, "integer_above_max_value",
                   "%s is too large: %lld. This model supports at most %lld completion tokens.",
                   mk, (long long)json_integer_value(mt), (long long)m->max_output);
    return 0;
}

/* ------------------------------------------------------------ the view */

/* Text of a content value in either API: the string, or its text parts. */
static void content_text(const json_t *c, lo_buf *out)
{
    if (json_is_string(c)) {
        lo_buf_puts(out, json_string_value(c));
        return;
    }
    size_t i;
    json_t *p;
    json_array_foreach(c, i, p) {
        const char *type = jstr(p, "type");
        if (lo_str_eq(type, "text") || lo_str_eq(type, "input_text") ||
            lo_str_eq(type, "output_text"))
            lo_buf_puts(out, jstr(p, "text"));
    }
}

typedef struct view_store {
    lo_buf user, result;
    bool has_result;
    const char **tools;
} view_store;

static void view_build(const exch *x, const json_t *b, enum api api, lo_twin_request_view *v,
                       view_store *vs)
{
    lo_buf_init(&vs->user, 0);
    lo_buf_init(&vs->result, 0);
    vs->has_result = false;
    const json_t *items = json_object_get(b, api == API_CHAT ? "messages" : "input");
    if (json_is_string(items))
        lo_buf_puts(&vs->user, json_string_value(items));
    for (size_t i = json_array_size(items); i-- > 0;) {
        const json_t *m = json_array_get(items, i);
        if (lo_str_eq(jstr(m, "role"), "user")) {
            content_text(json_object_get(m, "content"), &vs->user);
            break;
        }
    }
    for (size_t i = json_array_size(items); i-- > 0;) {
        const json_t *m = json_array_get(items, i);
        bool res = api == API_CHAT ? lo_str_eq(jstr(m, "role"), "tool")
                                   : lo_str_eq(jstr(m, "type"), "function_call_output");
        if (res) {
            const json_t *c = json_object_get(m, api == API_CHAT ? "content" : "output");
            content_text(c, &vs->result);
            vs->has_result = true;
            break;
        }
    }
    const json_t *tools = json_object_get(b, "tools");
    size_t nt = json_array_size(tools), k = 0;
    vs->tools = nt ? lo_calloc(nt, sizeof *vs->tools) : NULL;
    for (size_t i = 0; i < nt && vs->tools; i++) {
        const char *n = jstr(tool_fn(json_array_get(tools, i), api), "name");
        if (n)
            vs->tools[k++] = n;
    }
    *v = (lo_twin_request_view){
        .path = x->req->path,
        .model = jstr(b, "model"),
        .call = x->call,
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

/* ------------------------------------------------------------ tokens */

/* The approximation of docs/twins.md, over OpenAI's request shapes. */
static int64_t tokens_content(const json_t *c)
{
    if (json_is_string(c))
        return twin_tokens_text(json_string_value(c));
    int64_t n = 0;
    size_t i;
    json_t *p;
    json_array_foreach(c, i, p) {
        const char *type = jstr(p, "type");
        if (jstr(p, "text"))
            n += twin_tokens_text(jstr(p, "text"));
        else if (type && (strstr(type, "image") || strstr(type, "file") || strstr(type, "audio")))
            n += TWIN_TOKENS_MEDIA;
        else
            n += twin_tokens_json(p);
    }
    return n;
}

/* The approximation over OpenAI's request shapes, as a prompt of blocks in
 * the order the cache sees it: tools, instructions, then the input items or
 * messages. */
static void prompt_openai(const json_t *b, enum api api, twin_prompt *p)
{
    twin_prompt_count(p, TWIN_TOKENS_REQUEST);
    size_t i, j;
    json_t *m, *tc;
    json_array_foreach(json_object_get(b, "tools"), i, m) {
        const json_t *fn = tool_fn(m, api);
        int64_t n = TWIN_TOKENS_TOOL + twin_tokens_text(jstr(fn, "name")) +
                    twin_tokens_text(jstr(fn, "description"));
        if (json_object_get(fn, "parameters"))
            n += twin_tokens_json(json_object_get(fn, "parameters"));
        twin_prompt_add(p, m, NULL, n, 0);
    }
    const char *ins = jstr(b, "instructions");
    if (ins)
        twin_prompt_add(p, NULL, ins, twin_tokens_text(ins), 0);
    const json_t *items = json_object_get(b, api == API_CHAT ? "messages" : "input");
    if (json_is_string(items))
        twin_prompt_add(p, items, NULL,
                        TWIN_TOKENS_MESSAGE + twin_tokens_text(json_string_value(items)), 0);
    json_array_foreach(items, i, m) {
        int64_t n = TWIN_TOKENS_MESSAGE;
        const char *type = jstr(m, "type");
        if (lo_str_eq(type, "function_call"))
            n += twin_tokens_text(jstr(m, "name")) + twin_tokens_text(jstr(m, "arguments"));
        else if (lo_str_eq(type, "function_call_output"))
            n += tokens_content(json_object_get(m, "output"));
        else
            n += tokens_content(json_object_get(m, "content"));
        json_array_foreach(json_object_get(m, "tool_calls"), j, tc) {
            const json_t *fn = json_object_get(tc, "function");
            n += twin_tokens_text(jstr(fn, "name")) + twin_tokens_text(jstr(fn, "arguments"));
        }
        twin_prompt_add(p, m, NULL, n, 0);
    }
}

/* OpenAI caches prompts of 1024 tokens and more, in steps of 128, for
 * about five minutes of disuse; prompt_cache_retention "24h" keeps them a
 * day. */
static twin_cache_policy cache_policy(const json_t *b)
{
    bool day = lo_str_eq(jstr(b, "prompt_cache_retention"), "24h");
    return (twin_cache_policy){.min = 1024, .step = 128,
                               .ttl_ms = day ? 24 * 3600 * 1000LL : 5 * 60 * 1000LL};
}

/* ------------------------------------------------------------ replies */

/* The neutral or Anthropic stop reason of a reply, as Chat's finish_reason. */
static const char *finish_reason(const json_t *reply)
{
    const char *s = jstr(reply, "stop_reason");
    if (!s)
        return json_array_size(json_object_get(reply, "tool_calls")) ? "tool_calls" : "stop";
    if (!strcmp(s, "end_turn") || !strcmp(s, "stop_sequence"))
        return "stop";
    if (!strcmp(s, "max_tokens") || !strcmp(s, "max_output_tokens"))
        return "length";
    if (!strcmp(s, "tool_use"))
        return "tool_calls";
    return s;
}

static const char *thinking_text(const json_t *reply)
{
    const json_t *th = json_object_get(reply, "thinking");
    return json_is_string(th) ? json_string_value(th) : jstr(th, "text");
}

/* Tool call ids: the tape's, or "call_" + 24 characters derived from the call
 * number and the position. */
static void call_id(char *out, size_t len, const json_t *tc, long call, size_t i)
{
    const char *id = jstr(tc, "id");
    if (id)
        snprintf(out, len, "%s", id);
    else
        twin_id(out, len, "call_", "openai-call", (uint64_t)call * 1024 + i, 24);
}

static char *args_string(const json_t *tc)
{
    const json_t *a = json_object_get(tc, "arguments");
    if (json_is_string(a))
        return lo_strdup(json_string_value(a));
    return json_dumps(a ? a : json_object(), JSON_COMPACT | JSON_ENCODE_ANY);
}

static json_t *or_null(const json_t *j)
{
    return j ? json_incref((json_t *)j) : json_null();
}

/* A complete Responses object for reply r. */
static json_t *response_obj(const exch *x, const json_t *b, const json_t *r,
                            const twin_usage *us)
{
    int64_t in = us->input, out = us->output;
    char id[64], iid[64];
    twin_id(id, sizeof id, "resp_", "openai-response", (uint64_t)x->call, 48);
    json_t *output = json_array();
    const char *th = thinking_text(r);
    if (th) {
        twin_id(iid, sizeof iid, "rs_", "openai-reasoning", (uint64_t)x->call, 48);
        json_t *item = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "id", iid, "type", "reasoning",
                                 "summary", "type", "summary_text", "text", th);
        /* the signature is what a client may ask back as encrypted content */
        const char *sig = jstr(json_object_get(r, "thinking"), "signature");
        size_t i;
        json_t *inc;
        json_array_foreach(json_object_get(b, "include"), i, inc)
            if (sig && lo_str_eq(json_string_value(inc), "reasoning.encrypted_content"))
                json_object_set_new(item, "encrypted_content", json_string(sig));
        json_array_append_new(output, item);
    }
    if (jstr(r, "text")) {
        twin_id(iid, sizeof iid, "msg_", "openai-message", (uint64_t)x->call, 48);
        json_array_append_new(output,
                              json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:[], s:[], s:s}]}",
                                        "id", iid, "type", "message", "status", "completed",
                                        "role", "assistant", "content", "type", "output_text",
                                        "annotations", "logprobs", "text", jstr(r, "text")));
    }
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(r, "tool_calls"), i, tc) {
        char cid[64];
        call_id(cid, sizeof cid, tc, x->call, i);
        twin_id(iid, sizeof iid, "fc_", "openai-function-call", (uint64_t)x->call * 1024 + i, 48);
        char *args = args_string(tc);
        json_array_append_new(output, json_pack("{s:s, s:s, s:s, s:s, s:O, s:s}", "id", iid,
                                                "type", "function_call", "status", "completed",
                                                "call_id", cid, "name",
                                                json_object_get(tc, "name"), "arguments",
                                                args ? args : "{}"));
        free(args);
    }
    bool incomplete = !strcmp(finish_reason(r), "length");
    int64_t reasoning = th ? twin_tokens_text(th) : 0;
    const json_t *reff = json_object_get(json_object_get(b, "reasoning"), "effort");
    json_t *resp = json_pack(
        "{s:s, s:s, s:I, s:s, s:n, s:o, s:o, s:o, s:O, s:o, s:b, s:o, s:{s:o, s:n}, s:b,"
        " s:o, s:{s:{s:s}}, s:o, s:o, s:o, s:s, s:{s:I, s:{s:I}, s:I, s:{s:I}, s:I}, s:n, s:o}",
        "id", id, "object", "response", "created_at", (json_int_t)time(NULL), "status",
        incomplete ? "incomplete" : "completed", "error", "incomplete_details",
        incomplete ? json_pack("{s:s}", "reason", "max_output_tokens") : json_null(),
        "instructions", or_null(json_object_get(b, "instructions")), "max_output_tokens",
        or_null(json_object_get(b, "max_output_tokens")), "model", json_object_get(b, "model"),
        "output", output, "parallel_tool_calls",
        !json_is_false(json_object_get(b, "parallel_tool_calls")), "previous_response_id",
        or_null(json_object_get(b, "previous_response_id")), "reasoning", "effort",
        or_null(reff), "summary", "store", !json_is_false(json_object_get(b, "store")),
        "temperature",
        json_object_get(b, "temperature") ? json_incref(json_object_get(b, "temperature"))
                                          : json_real(1.0),
        "text", "format", "type", "text", "tool_choice",
        json_object_get(b, "tool_choice") ? json_incref(json_object_get(b, "tool_choice"))
                                          : json_string("auto"),
        "tools",
        json_object_get(b, "tools") ? json_incref(json_object_get(b, "tools")) : json_array(),
        "top_p",
        json_object_get(b, "top_p") ? json_incref(json_object_get(b, "top_p")) : json_real(1.0),
        "truncation", "disabled", "usage", "input_tokens", (json_int_t)in,
        "input_tokens_details", "cached_tokens", (json_int_t)us->cache.read, "output_tokens",
        (json_int_t)out,
        "output_tokens_details", "reasoning_tokens", (json_int_t)reasoning, "total_tokens",
        (json_int_t)(in + out), "user", "metadata",
        json_object_get(b, "metadata") ? json_incref(json_object_get(b, "metadata"))
                                        : json_object());
    return resp;
}

/* A complete chat.completion object for reply r. */
static json_t *chat_obj(const exch *x, const json_t *b, const json_t *r,
                        const twin_usage *us)
{
    int64_t in = us->input, out = us->output;
    char id[64];
    twin_id(id, sizeof id, "chatcmpl-", "openai-chat", (uint64_t)x->call, 29);
    json_t *msg = json_pack("{s:s, s:O, s:n, s:[]}", "role", "assistant", "content",
                            json_object_get(r, "text") ? json_object_get(r, "text")
                                                       : json_null(),
                            "refusal", "annotations");
    json_t *calls = json_array();
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(r, "tool_calls"), i, tc) {
        char cid[64];
        call_id(cid, sizeof cid, tc, x->call, i);
        char *args = args_string(tc);
        json_array_append_new(calls, json_pack("{s:s, s:s, s:{s:O, s:s}}", "id", cid, "type",
                                               "function", "function", "name",
                                               json_object_get(tc, "name"), "arguments",
                                               args ? args : "{}"));
        free(args);
    }
    if (json_array_size(calls))
        json_object_set_new(msg, "tool_calls", calls);
    else
        json_decref(calls);
    const char *th = thinking_text(r);
    int64_t reasoning = th ? twin_tokens_text(th) : 0;
    return json_pack("{s:s, s:s, s:I, s:O, s:[{s:i, s:o, s:n, s:s}], s:{s:I, s:I, s:I, "
                     "s:{s:I, s:I}, s:{s:I, s:I, s:I, s:I}}, s:s, s:s}",
                     "id", id, "object", "chat.completion", "created", (json_int_t)time(NULL),
                     "model", json_object_get(b, "model"), "choices", "index", 0, "message",
                     msg, "logprobs", "finish_reason", finish_reason(r), "usage",
                     "prompt_tokens", (json_int_t)in, "completion_tokens", (json_int_t)out,
                     "total_tokens", (json_int_t)(in + out), "prompt_tokens_details",
                     "cached_tokens", (json_int_t)us->cache.read, "audio_tokens", (json_int_t)0,
                     "completion_tokens_details", "reasoning_tokens", (json_int_t)reasoning,
                     "audio_tokens", (json_int_t)0, "accepted_prediction_tokens",
                     (json_int_t)0, "rejected_prediction_tokens", (json_int_t)0,
                     "service_tier", "default", "system_fingerprint", "fp_twin");
}

static void ratelimit_headers(exch *x, int64_t tokens)
{
    char v[32];
    lo_http_add_header(x->res, "x-ratelimit-limit-requests", "10000");
    lo_http_add_header(x->res, "x-ratelimit-limit-tokens", "30000000");
    snprintf(v, sizeof v, "%d", RL_REQUESTS - 1);
    lo_http_add_header(x->res, "x-ratelimit-remaining-requests", v);
    snprintf(v, sizeof v, "%lld", (long long)(RL_TOKENS - tokens > 0 ? RL_TOKENS - tokens : 0));
    lo_http_add_header(x->res, "x-ratelimit-remaining-tokens", v);
    /* OpenAI reports resets as durations ("6ms", "1s") */
    lo_http_add_header(x->res, "x-ratelimit-reset-requests", "6ms");
    lo_http_add_header(x->res, "x-ratelimit-reset-tokens", "0s");
}

static bool looks_sse(const char *s)
{
    return lo_str_starts(s, "event:") || lo_str_starts(s, "data:") || lo_str_starts(s, ":");
}

static void serve_raw(exch *x, const lo_tape_entry *e)
{
    const char *s = json_string_value(e->raw);
    if (s && looks_sse(s)) {
        x->stream = true;
        twin_send_raw_sse(x->res, s, &e->fault);
    } else if (s) {
        twin_send(x->res, 200, "application/json", s, strlen(s), &e->fault);
    } else {
        char *d = json_dumps(e->raw, JSON_COMPACT | JSON_ENCODE_ANY);
        twin_send(x->res, 200, "application/json", d ? d : "", d ? strlen(d) : 0, &e->fault);
        free(d);
    }
    done(x);
}

static void serve_entry(exch *x, const json_t *b, enum api api, const lo_tape_entry *e)
{
    const lo_tape_fault *f = &e->fault;
    if (f->status) {
        verdict v = {0};
        bad(&v, f->status, NULL, error_code(f->status), "%s", error_message(f->status));
        send_verdict(x, &v, f);
        return;
    }
    x->status = 200;
    if (e->raw) {
        serve_raw(x, e);
        return;
    }
    const json_t *r = e->reply;
    twin_prompt p;
    twin_prompt_init(&p, jstr(b, "model"), jstr(b, "prompt_cache_key"));
    prompt_openai(b, api, &p);
    twin_cache_policy pol = cache_policy(b);
    twin_usage us;
    twin_usage_resolve(x->t, r, &p, &pol, &us);
    twin_prompt_release(&p);
    json_t *obj = api == API_CHAT ? chat_obj(x, b, r, &us) : response_obj(x, b, r, &us);
    ratelimit_headers(x, us.input + us.output);
    if (!obj) {
        send_error(x, 500, NULL, NULL, "out of memory in the twin");
        return;
    }
    if (x->stream) {
        size_t n = 0;
        bool usage = json_is_true(
            json_object_get(json_object_get(b, "stream_options"), "include_usage"));
        char **ev = api == API_CHAT ? twin_openai_chat_chunks(obj, usage, &n)
                                    : twin_openai_response_events(obj, &n);
        if (!ev) {
            json_decref(obj);
            send_error(x, 500, NULL, NULL, "out of memory in the twin");
            return;
        }
        twin_send_events(x->res, ev, n, f);
    } else {
        char *s = json_dumps(obj, JSON_COMPACT);
        twin_send(x->res, 200, "application/json", s ? s : "", s ? strlen(s) : 0, f);
        free(s);
    }
    json_decref(obj);
    done(x);
}

/* ------------------------------------------------------------ routes */

static void generate(const lo_http_request *req, lo_http_response *res, lo_twin *t,
                     enum api api)
{
    exch x = {.t = t, .req = req, .res = res};
    if (gate(&x))
        return;
    json_t *b = parse_body(&x);
    if (!b)
        return;
    verdict v = {0};
    if (validate(x.t, b, api, &v)) {
        send_verdict(&x, &v, NULL);
        json_decref(b);
        return;
    }
    x.stream = json_is_true(json_object_get(b, "stream"));
    x.call = atomic_fetch_add(&x.t->calls, 1) + 1;
    lo_twin_request_view view;
    view_store vs;
    view_build(&x, b, api, &view, &vs);
    char why[1500];
    const lo_tape_entry *e = lo_tape_match(x.t->tapes, x.t->n_tapes, &view, why, sizeof why);
    view_release(&vs);
    if (!e) {
        send_error(&x, 400, NULL, NULL, why);
    } else {
        x.entry = e;
        serve_entry(&x, b, api, e);
    }
    json_decref(b);
}

static void h_responses(const lo_http_request *req, lo_http_response *res, void *ud)
{
    generate(req, res, ud, API_RESPONSES);
}

static void h_chat(const lo_http_request *req, lo_http_response *res, void *ud)
{
    generate(req, res, ud, API_CHAT);
}

static json_t *model_obj(const lo_llm_model *m)
{
    /* created: the release date as a Unix time (UTC midnight); days from
     * the civil date by hand, since timegm is not POSIX */
    int y = 2024, mo = 1, d = 1;
    if (m->released)
        sscanf(m->released, "%d-%d-%d", &y, &mo, &d);
    y -= mo <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    return json_pack("{s:s, s:s, s:I, s:s}", "id", m->id, "object", "model", "created",
                     (json_int_t)days * 86400, "owned_by", "openai");
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
    size_t n = 0;
    const lo_llm_model **all = lo_llm_model_list(x.t->catalog, PROVIDER, &n);
    json_t *data = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(data, model_obj(all[i]));
    free(all);
    send_json(&x, json_pack("{s:s, s:o}", "object", "list", "data", data));
}

static void h_model(const lo_http_request *req, lo_http_response *res, void *ud)
{
    exch x = {.t = ud, .req = req, .res = res};
    if (gate(&x))
        return;
    const char *id = req->path + strlen("/v1/models/");
    const lo_llm_model *m = lo_llm_model_find(x.t->catalog, id);
    if (!m || !lo_str_eq(m->provider, PROVIDER)) {
        verdict v = {0};
        bad(&v, 404, "model", "model_not_found", "The model '%.120s' does not exist", id);
        send_verdict(&x, &v, NULL);
        return;
    }
    send_json(&x, model_obj(m));
}

static void h_other(const lo_http_request *req, lo_http_response *res, void *ud)
{
    exch x = {.t = ud, .req = req, .res = res};
    begin(&x);
    verdict v = {0};
    bad(&v, 404, NULL, NULL, "Invalid URL (%.8s %.200s)", req->method, req->path);
    send_verdict(&x, &v, NULL);
}

/* shared: this provider also answers the paths other providers use too (the
 * model list, unknown paths). With several providers on one server the core
 * registers those once, for the first provider. */
int twin_openai_routes(lo_twin *t, bool shared, lo_error *err)
{
    lo_http_server *s = t->srv;
    int rc;
    if ((rc = lo_http_route(s, "POST", "/v1/responses", h_responses, t)) ||
        (rc = lo_http_route(s, "POST", "/v1/chat/completions", h_chat, t)))
        return lo_error_set(err, rc, "cannot add the openai routes");
    if (shared && ((rc = lo_http_route(s, "GET", "/v1/models", h_models, t)) ||
                   (rc = lo_http_route(s, "GET", "/v1/models/*", h_model, t)) ||
                   (rc = lo_http_route(s, NULL, "/*", h_other, t))))
        return lo_error_set(err, rc, "cannot add the openai routes");
    return 0;
}
