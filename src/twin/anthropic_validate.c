/* The Anthropic twin's request validation: the Messages API's checks in its
 * order (fields, messages and their blocks, tool use pairing, tools,
 * cache_control, then the model and limits that depend on it), with its
 * messages (docs/twins.md, "Validation"). */
#include <stdio.h>
#include <string.h>

#include "twin/twin_internal.h"

/* Short local names for the shared helpers (twin_internal.h). */
#define bad twin_bad

#define PROVIDER "anthropic"

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

static int check_block(const json_t *b, const char *role, size_t i, size_t j, twin_verdict *v)
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

static int check_messages(const json_t *msgs, twin_verdict *v)
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

static int check_tools(const json_t *tools, const json_t *choice, twin_verdict *v)
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
        if (!twin_name_ok(name, 128))
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
                               twin_verdict *v)
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
static int check_cache(const json_t *b, twin_verdict *v)
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

int twin_anthropic_validate(lo_twin *t, const json_t *b, bool counting, twin_verdict *v,
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

