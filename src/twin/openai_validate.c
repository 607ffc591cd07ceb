/* The OpenAI twin's request validation, for the Responses API and Chat
 * Completions: the checks of the real API in its order (model, input or
 * messages with their tool call pairing, tools and tool_choice, settings,
 * then the model and limits that depend on it), with its error.param and
 * error.code (docs/twins.md, "Errors and validation"). */
#include <stdio.h>
#include <string.h>

#include "twin/twin_internal.h"

#define PROVIDER "openai"
#define bad twin_openai_bad
#define jstr twin_jstr
#define tool_fn twin_openai_tool_fn

int twin_openai_bad(twin_verdict *v, int status, const char *param, const char *code,
                    const char *fmt, ...)
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

static int invalid_type(twin_verdict *v, const char *param, const char *want, const json_t *got)
{
    return bad(v, 400, param, "invalid_type",
               "Invalid type for '%s': expected %s, but got %s instead.", param, want,
               jtype(got));
}

static int missing(twin_verdict *v, const char *param)
{
    return bad(v, 400, param, "missing_required_parameter",
               "Missing required parameter: '%s'.", param);
}

/* The function name of a tool definition in either API (Chat nests it under
 * "function", Responses does not). */
const json_t *twin_openai_tool_fn(const json_t *tl, enum twin_api api)
{
    return api == TWIN_CHAT ? json_object_get(tl, "function") : tl;
}

static int check_tools(const json_t *tools, const json_t *choice, enum twin_api api,
                       twin_verdict *v)
{
    char p[128];
    if (tools && !json_is_array(tools))
        return invalid_type(v, "tools", "an array", tools);
    size_t i;
    json_t *tl;
    const char *pre = api == TWIN_CHAT ? ".function" : "";
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
        if (!twin_name_ok(name, 64)) {
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
    const char *want = api == TWIN_CHAT ? jstr(json_object_get(choice, "function"), "name")
                                       : jstr(choice, "name");
    json_array_foreach(tools, i, tl) if (lo_str_eq(jstr(tool_fn(tl, api), "name"), want))
        return 0;
    return bad(v, 400, "tool_choice", "invalid_value",
               "Tool choice '%.64s' not found in 'tools' parameter.", want ? want : "");
}

/* Chat Completions messages: roles, content, and every tool message answering
 * a tool call of the assistant message before it. */
static int check_chat_messages(const json_t *msgs, twin_verdict *v)
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
static int check_input(const json_t *b, twin_verdict *v)
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

static int check_number(const json_t *b, const char *k, double lo, double hi, twin_verdict *v)
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

int twin_openai_validate(lo_twin *t, const json_t *b, enum twin_api api, twin_verdict *v)
{
    const json_t *jm = json_object_get(b, "model");
    if (!jm)
        return missing(v, "model");
    if (!json_is_string(jm))
        return invalid_type(v, "model", "a string", jm);
    if (api == TWIN_CHAT ? check_chat_messages(json_object_get(b, "messages"), v)
                        : check_input(b, v))
        return -1;
    const json_t *ins = json_object_get(b, "instructions");
    if (api == TWIN_RESPONSES && ins && !json_is_null(ins) && !json_is_string(ins))
        return invalid_type(v, "instructions", "a string", ins);
    if (check_tools(json_object_get(b, "tools"), json_object_get(b, "tool_choice"), api, v))
        return -1;
    const json_t *st = json_object_get(b, "stream");
    if (st && !json_is_null(st) && !json_is_boolean(st))
        return invalid_type(v, "stream", "a boolean", st);
    if (api == TWIN_CHAT && json_object_get(b, "stream_options") &&
        !json_is_null(json_object_get(b, "stream_options")) && !json_is_true(st))
        return bad(v, 400, "stream_options", NULL,
                   "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
    if (check_number(b, "temperature", 0, 2, v) || check_number(b, "top_p", 0, 1, v))
        return -1;
    const char *mk = api == TWIN_RESPONSES ? "max_output_tokens"
                     : json_object_get(b, "max_completion_tokens") ? "max_completion_tokens"
                                                                    : "max_tokens";
    const json_t *mt = json_object_get(b, mk);
    if (mt && !json_is_null(mt) && !json_is_integer(mt))
        return invalid_type(v, mk, "an integer", mt);
    long long min = api == TWIN_RESPONSES ? 16 : 1;
    if (json_is_integer(mt) && json_integer_value(mt) < min)
        return bad(v, 400, mk, "integer_below_min_value",
                   "Invalid '%s': integer below minimum value. Expected a value >= %lld, but "
                   "got %lld instead.", mk, min, (long long)json_integer_value(mt));
    const char *id = json_string_value(jm);
    const lo_llm_model *m = lo_llm_model_find(t->catalog, id);
    if (!m || !lo_str_eq(m->provider, PROVIDER)) {
        bad(v, 404, api == TWIN_RESPONSES ? "model" : NULL, "model_not_found",
            api == TWIN_RESPONSES ? "The requested model '%.120s' does not exist."
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

