/* generate_object() (unified-llm-spec §4.5): structured output through
 * each provider's own mechanism, then parsed and checked against the
 * schema. OpenAI, compatible servers and Gemini get a JSON-schema response
 * format (the adapters turn it into text.format, response_format or
 * responseSchema); Anthropic, which has no such format, gets a forced call
 * of a tool whose input schema is the schema; "prompt" puts the schema in
 * the system prompt instead, for any provider. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/llm.h"

#include "generate_internal.h"

#define OBJECT_TOOL "structured_output"

static int no_object(lo_llm_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int no_object(lo_llm_error *err, const char *fmt, ...)
{
    lo_llm_error_set(err, LO_LLM_ERR_NO_OBJECT_GENERATED, NULL, "%s", "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return LO_EIO;
}

/* OpenAI's strict mode takes a schema only when every object lists all its
 * properties as required and forbids others; anything else is sent
 * non-strict rather than refused. */
static bool strict_ready(const json_t *s)
{
    if (!json_is_object(s))
        return true;
    const json_t *props = json_object_get(s, "properties");
    if (props || lo_str_eq(json_string_value(json_object_get(s, "type")), "object")) {
        if (!json_is_false(json_object_get(s, "additionalProperties")))
            return false;
        const json_t *req = json_object_get(s, "required");
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)props, k, v) {
            bool listed = false;
            size_t i;
            const json_t *r;
            json_array_foreach(req, i, r) listed = listed || lo_str_eq(json_string_value(r), k);
            if (!listed || !strict_ready(v))
                return false;
        }
    }
    static const char *const subs[] = {"items", "anyOf", "$defs", "definitions"};
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        const json_t *sub = json_object_get(s, subs[i]);
        size_t j;
        const char *k;
        const json_t *v;
        if (json_is_array(sub)) {
            json_array_foreach(sub, j, v) if (!strict_ready(v)) return false;
        } else if (json_is_object(sub) && i >= 2) {
            json_object_foreach((json_t *)sub, k, v) if (!strict_ready(v)) return false;
        } else if (!strict_ready(sub)) {
            return false;
        }
    }
    return true;
}

static bool is_object_schema(const json_t *s)
{
    return lo_str_eq(json_string_value(json_object_get(s, "type")), "object");
}

/* A tool's input must be an object: other schemas travel as its "value". */
static json_t *tool_schema(const json_t *schema)
{
    if (is_object_schema(schema))
        return json_deep_copy(schema);
    return json_pack("{s:s, s:{s:O}, s:[s], s:b}", "type", "object", "properties", "value",
                     (json_t *)schema, "required", "value", "additionalProperties", 0);
}

typedef enum strategy { S_NATIVE, S_TOOL, S_PROMPT } strategy;

static int pick_strategy(lo_llm_client *c, const lo_llm_request *req, const char *want,
                         strategy *out, lo_llm_error *err)
{
    if (want && strcmp(want, "tool") == 0)
        return *out = S_TOOL, 0;
    if (want && strcmp(want, "prompt") == 0)
        return *out = S_PROMPT, 0;
    if (want && strcmp(want, "native") != 0) {
        lo_llm_error_set(err, LO_LLM_ERR_CONFIGURATION, NULL,
                         "unknown object strategy \"%s\" (native, tool, prompt)", want);
        return LO_EINVAL;
    }
    const char *provider = lo_llm_client_resolve(c, req, err);
    if (!provider)
        return LO_EINVAL;
    *out = strcmp(provider, "anthropic") == 0 && !want ? S_TOOL : S_NATIVE;
    return 0;
}

/* The request generate sends: req with the schema attached its way. */
static int object_request(const lo_llm_request *req, const json_t *schema, strategy st,
                          lo_llm_request **out, lo_llm_error *err)
{
    lo_llm_request *r = lo_llm_request_clone(req);
    int rc = r ? 0 : LO_ENOMEM;
    lo_error e = {0};
    if (!rc && st == S_NATIVE) {
        rc = lo_llm_request_set_response_format(r, LO_FORMAT_JSON_SCHEMA, json_deep_copy(schema),
                                                strict_ready(schema));
    } else if (!rc && st == S_TOOL) {
        rc = lo_llm_request_add_tool(r, OBJECT_TOOL,
                                     "Give the answer: the arguments of this call are the "
                                     "answer, in the requested shape.",
                                     tool_schema(schema), &e);
        if (!rc)
            rc = lo_llm_request_set_tool_choice(r, LO_TOOL_CHOICE_NAMED, OBJECT_TOOL);
    } else if (!rc) {
        char *text = json_dumps(schema, JSON_COMPACT);
        lo_buf b;
        lo_buf_init(&b, 0);
        rc = text && lo_buf_printf(&b,
                                   "Answer with one JSON value and nothing else (no prose, no "
                                   "code fence). It must satisfy this JSON Schema: %s",
                                   text) == 0
                 ? lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_SYSTEM, b.data))
                 : LO_ENOMEM;
        free(text);
        lo_buf_release(&b);
    }
    if (rc) {
        lo_llm_request_free(r);
        if (e.msg[0]) {
            lo_llm_error_set(err, LO_LLM_ERR_INVALID_REQUEST, NULL, "%s", e.msg);
            return LO_EINVAL;
        }
        lo_llm_error_set(err, LO_LLM_ERR_INVALID_REQUEST, NULL,
                         rc == LO_ENOMEM ? "out of memory" : "the schema must be a JSON object");
        return rc == LO_ENOMEM ? LO_ENOMEM : LO_EINVAL;
    }
    *out = r;
    return 0;
}

/* Text a model wrapped in a ``` fence, unwrapped; otherwise as it is. */
static json_t *parse_text(const char *text, json_error_t *je)
{
    const char *s = text;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= 6 && strncmp(s, "```", 3) == 0 && strncmp(s + n - 3, "```", 3) == 0) {
        const char *nl = memchr(s, '\n', n);
        if (nl) {
            n -= (size_t)(nl + 1 - s) + 3;
            s = nl + 1;
        }
    }
    return json_loadb(s, n, JSON_DECODE_ANY, je);
}

/* The object the final step holds, or NULL with err filled. */
static json_t *extract(const lo_llm_result *res, const json_t *schema, strategy st,
                       lo_llm_error *err)
{
    if (st == S_TOOL) {
        for (size_t i = 0; i < res->n_tool_calls; i++) {
            const lo_llm_tool_call *tc = res->tool_calls[i];
            if (!lo_str_eq(tc->name, OBJECT_TOOL))
                continue;
            if (!json_is_object(tc->arguments)) {
                no_object(err, "the model's %s call has arguments that are not a JSON object: "
                               "%.200s",
                          OBJECT_TOOL, tc->raw_arguments ? tc->raw_arguments : "");
                return NULL;
            }
            json_t *v = is_object_schema(schema) ? tc->arguments
                                                 : json_object_get(tc->arguments, "value");
            if (!v)
                no_object(err, "the model's %s call has no \"value\"", OBJECT_TOOL);
            return v ? json_incref(v) : NULL;
        }
        no_object(err, "the model answered without calling %s (finish: %s)", OBJECT_TOOL,
                  lo_llm_finish_name(res->finish));
        return NULL;
    }
    json_error_t je;
    json_t *v = parse_text(res->text ? res->text : "", &je);
    if (!v)
        no_object(err, "the model's answer is not JSON (%s at %d): %.200s", je.text, je.position,
                  res->text ? res->text : "");
    return v;
}

int lo_llm_generate_object(lo_llm_client *c, const lo_llm_request *req, const json_t *schema,
                           const lo_llm_generate_opts *opts, lo_llm_result **out,
                           lo_llm_error *err)
{
    lo_llm_error local;
    if (!err)
        err = &local;
    *out = NULL;
    if (!json_is_object(schema)) {
        lo_llm_error_set(err, LO_LLM_ERR_INVALID_REQUEST, NULL,
                         "generate_object needs a JSON Schema object");
        return LO_EINVAL;
    }
    if (!c && !(c = lo_llm_default_client(err)))
        return LO_EINVAL;
    if (!req) {
        lo_llm_error_set(err, LO_LLM_ERR_INVALID_REQUEST, NULL, "generate_object needs a request");
        return LO_EINVAL;
    }
    strategy st;
    lo_llm_request *r = NULL;
    int rc = pick_strategy(c, req, opts ? opts->object_strategy : NULL, &st, err);
    if (!rc)
        rc = object_request(req, schema, st, &r, err);
    lo_llm_result *res = NULL;
    if (!rc)
        rc = lo_llm_generate(c, r, opts, &res, err);
    lo_llm_request_free(r);
    if (rc)
        return rc;
    json_t *v = extract(res, schema, st, err);
    char why[512];
    int vr = v ? lo_json_schema_validate(schema, v, why, sizeof why) : 0;
    if (v && vr == LO_EPARSE) {
        lo_llm_error_set(err, LO_LLM_ERR_INVALID_REQUEST, NULL, "the schema cannot be checked: %s",
                         why);
        rc = LO_EINVAL;
    } else if (v && vr) {
        rc = no_object(err, "the model's object does not match the schema: %s", why);
    } else if (!v) {
        rc = LO_EIO;
    }
    if (rc) {
        json_decref(v);
        lo_llm_result_free(res);
        return rc;
    }
    res->output = v;
    *out = res;
    return 0;
}
