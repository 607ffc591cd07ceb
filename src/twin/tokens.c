/* The twins' token counts: a deterministic approximation, not a tokenizer.
 * Real tokenizers are proprietary and differ per model; what tests and
 * budgets need is a count that is stable, cheap, roughly proportional to
 * the text (about four bytes of English per token), and documented
 * (docs/twins.md, "Token counts"):
 *
 *   text(s)   = ceil(bytes(s) / 4)
 *   input     = 3 + text(system)
 *             + sum over messages of (4 + sum over content blocks of block(b))
 *             + sum over tools of (8 + text(name) + text(description)
 *                                  + text(compact JSON of input_schema))
 *   block(b)  = text: text(text); tool_use: text(name) + text(JSON of input);
 *               tool_result: the blocks or text inside it; thinking:
 *               text(thinking); image, document: 1000; others: text(JSON of b)
 *   output    = text(thinking) + text(text)
 *             + sum over tool calls of (text(name) + text(JSON of arguments)),
 *               at least 1
 */
#include <string.h>

#include "twin/twin_internal.h"

int64_t twin_tokens_text(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return (int64_t)((n + 3) / 4);
}

int64_t twin_tokens_json(const json_t *v)
{
    if (!v)
        return 0;
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    int64_t n = twin_tokens_text(s);
    free(s);
    return n;
}

static int64_t block_tokens(const json_t *b);

/* A content value: a string, or an array of blocks. */
static int64_t content_tokens(const json_t *c)
{
    if (json_is_string(c))
        return twin_tokens_text(json_string_value(c));
    int64_t n = 0;
    size_t i;
    json_t *b;
    json_array_foreach(c, i, b) n += block_tokens(b);
    return n;
}

static int64_t block_tokens(const json_t *b)
{
    const char *type = json_string_value(json_object_get(b, "type"));
    if (!type)
        return twin_tokens_json(b);
    if (!strcmp(type, "text"))
        return twin_tokens_text(json_string_value(json_object_get(b, "text")));
    if (!strcmp(type, "tool_use"))
        return twin_tokens_text(json_string_value(json_object_get(b, "name"))) +
               twin_tokens_json(json_object_get(b, "input"));
    if (!strcmp(type, "tool_result"))
        return content_tokens(json_object_get(b, "content"));
    if (!strcmp(type, "thinking"))
        return twin_tokens_text(json_string_value(json_object_get(b, "thinking")));
    if (!strcmp(type, "redacted_thinking"))
        return twin_tokens_text(json_string_value(json_object_get(b, "data")));
    if (!strcmp(type, "image") || !strcmp(type, "document"))
        return TWIN_TOKENS_MEDIA;
    return twin_tokens_json(b);
}

/* The TTL a cache_control marks, in seconds; 0 without one. Validation
 * (anthropic.c) has already refused other types and TTLs. */
static long breakpoint(const json_t *b)
{
    const json_t *cc = json_object_get(b, "cache_control");
    if (!json_is_object(cc))
        return 0;
    return lo_str_eq(json_string_value(json_object_get(cc, "ttl")), "1h") ? 3600 : 300;
}

/* A content value as blocks: a string is one block, never a breakpoint. */
static void content_blocks(const json_t *c, twin_prompt *p)
{
    if (json_is_string(c)) {
        twin_prompt_add(p, c, NULL, twin_tokens_text(json_string_value(c)), 0);
        return;
    }
    size_t i;
    json_t *b;
    json_array_foreach(c, i, b) twin_prompt_add(p, b, NULL, block_tokens(b), breakpoint(b));
}

/* Anthropic reads a prompt as tools, then system, then messages: the order
 * its cache prefixes follow. */
void twin_prompt_anthropic(const json_t *body, twin_prompt *p)
{
    twin_prompt_count(p, TWIN_TOKENS_REQUEST);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(body, "tools"), i, v)
        twin_prompt_add(p, v, NULL,
                        TWIN_TOKENS_TOOL +
                            twin_tokens_text(json_string_value(json_object_get(v, "name"))) +
                            twin_tokens_text(
                                json_string_value(json_object_get(v, "description"))) +
                            twin_tokens_json(json_object_get(v, "input_schema")),
                        breakpoint(v));
    content_blocks(json_object_get(body, "system"), p);
    json_array_foreach(json_object_get(body, "messages"), i, v) {
        twin_prompt_count(p, TWIN_TOKENS_MESSAGE);
        content_blocks(json_object_get(v, "content"), p);
    }
}

int64_t twin_tokens_anthropic_request(const json_t *body)
{
    return twin_prompt_total(body, twin_prompt_anthropic);
}

int64_t twin_tokens_reply(const json_t *reply)
{
    int64_t n = twin_tokens_text(twin_thinking_text(reply));
    n += twin_tokens_text(json_string_value(json_object_get(reply, "text")));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(reply, "tool_calls"), i, v) {
        json_t *args = json_object_get(v, "arguments");
        n += twin_tokens_text(json_string_value(json_object_get(v, "name")));
        if (args)
            n += twin_tokens_json(args);
        else
            n += 1; /* "{}" */
    }
    return n < 1 ? 1 : n;
}
