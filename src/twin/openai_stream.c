/* The OpenAI twin's streams: a finished Responses object becomes the
 * Responses event sequence (each event numbered by sequence_number), a
 * finished chat.completion becomes chat.completion.chunk data lines ending in
 * "data: [DONE]". Pieces are about 16 bytes, never splitting a UTF-8
 * character, so concatenated deltas equal the tape's text. */
#include <string.h>

#include "twin/twin_internal.h"

/* ------------------------------------------------------------ Responses */

/* "event: TYPE\ndata: {"type": TYPE, "sequence_number": N, ...fields}". */
static void ev(twin_events *l, const char *type, json_t *fields)
{
    json_t *d = json_pack("{s:s, s:I}", "type", type, "sequence_number", (json_int_t)l->seq++);
    if (!d || !fields) {
        json_decref(d);
        json_decref(fields);
        l->oom = true;
        return;
    }
    json_object_update(d, fields);
    json_decref(fields);
    twin_events_sse(l, type, d, NULL);
}

static void text_events(twin_events *l, const json_t *item, size_t oi)
{
    const json_t *id = json_object_get(item, "id");
    const json_t *part = json_array_get(json_object_get(item, "content"), 0);
    const char *text = json_string_value(json_object_get(part, "text"));
    ev(l, "response.content_part.added",
       json_pack("{s:O, s:I, s:i, s:{s:s, s:[], s:[], s:s}}", "item_id", id, "output_index",
                 (json_int_t)oi, "content_index", 0, "part", "type", "output_text",
                 "annotations", "logprobs", "text", ""));
    /* the deltas from one template, piece and sequence number filled in
     * (splice.c); if that cannot be done, every event the ordinary way */
    static const char *const type = "response.output_text.delta";
    twin_tmpl t;
    bool fast = twin_tmpl_init(&t, type,
                               json_pack("{s:s, s:o, s:O, s:I, s:i, s:o, s:[]}", "type", type,
                                         "sequence_number", twin_slot(1), "item_id", id,
                                         "output_index", (json_int_t)oi, "content_index", 0,
                                         "delta", twin_slot(0), "logprobs")) == 0;
    const char *s = text ? text : "";
    if (fast && twin_tmpl_deltas(l, &t, s) == 0)
        s = "";
    while (*s) {
        size_t k = twin_piece(s, TWIN_PIECE);
        ev(l, type,
           json_pack("{s:O, s:I, s:i, s:s%, s:[]}", "item_id", id, "output_index",
                     (json_int_t)oi, "content_index", 0, "delta", s, k, "logprobs"));
        s += k;
    }
    if (fast)
        twin_tmpl_release(&t);
    ev(l, "response.output_text.done",
       json_pack("{s:O, s:I, s:i, s:s, s:[]}", "item_id", id, "output_index", (json_int_t)oi,
                 "content_index", 0, "text", text ? text : "", "logprobs"));
    ev(l, "response.content_part.done",
       json_pack("{s:O, s:I, s:i, s:O}", "item_id", id, "output_index", (json_int_t)oi,
                 "content_index", 0, "part", part));
}

static void reasoning_events(twin_events *l, const json_t *item, size_t oi)
{
    const json_t *id = json_object_get(item, "id");
    const json_t *part = json_array_get(json_object_get(item, "summary"), 0);
    const char *text = json_string_value(json_object_get(part, "text"));
    ev(l, "response.reasoning_summary_part.added",
       json_pack("{s:O, s:I, s:i, s:{s:s, s:s}}", "item_id", id, "output_index",
                 (json_int_t)oi, "summary_index", 0, "part", "type", "summary_text", "text",
                 ""));
    for (const char *s = text ? text : ""; *s;) {
        size_t k = twin_piece(s, TWIN_PIECE);
        ev(l, "response.reasoning_summary_text.delta",
           json_pack("{s:O, s:I, s:i, s:s%}", "item_id", id, "output_index", (json_int_t)oi,
                     "summary_index", 0, "delta", s, k));
        s += k;
    }
    ev(l, "response.reasoning_summary_text.done",
       json_pack("{s:O, s:I, s:i, s:s}", "item_id", id, "output_index", (json_int_t)oi,
                 "summary_index", 0, "text", text ? text : ""));
    ev(l, "response.reasoning_summary_part.done",
       json_pack("{s:O, s:I, s:i, s:O}", "item_id", id, "output_index", (json_int_t)oi,
                 "summary_index", 0, "part", part));
}

static void call_events(twin_events *l, const json_t *item, size_t oi)
{
    const json_t *id = json_object_get(item, "id");
    const char *args = json_string_value(json_object_get(item, "arguments"));
    for (const char *s = args ? args : ""; *s;) {
        size_t k = twin_piece(s, TWIN_PIECE);
        ev(l, "response.function_call_arguments.delta",
           json_pack("{s:O, s:I, s:s%}", "item_id", id, "output_index", (json_int_t)oi,
                     "delta", s, k));
        s += k;
    }
    ev(l, "response.function_call_arguments.done",
       json_pack("{s:O, s:I, s:s}", "item_id", id, "output_index", (json_int_t)oi, "arguments",
                 args ? args : ""));
}

/* The item as output_item.added shows it: in progress, nothing generated. */
static json_t *item_head(const json_t *item)
{
    json_t *h = json_deep_copy(item);
    const char *type = json_string_value(json_object_get(item, "type"));
    if (lo_str_eq(type, "message")) {
        json_object_set_new(h, "status", json_string("in_progress"));
        json_object_set_new(h, "content", json_array());
    } else if (lo_str_eq(type, "function_call")) {
        json_object_set_new(h, "status", json_string("in_progress"));
        json_object_set_new(h, "arguments", json_string(""));
    } else if (lo_str_eq(type, "reasoning")) {
        json_object_set_new(h, "summary", json_array());
    }
    return h;
}

void twin_openai_response_events(const json_t *resp, twin_events *l)
{
    json_t *head = json_deep_copy(resp);
    json_object_set_new(head, "status", json_string("in_progress"));
    json_object_set_new(head, "output", json_array());
    json_object_set_new(head, "usage", json_null());
    json_object_set_new(head, "incomplete_details", json_null());
    ev(l, "response.created", json_pack("{s:O}", "response", head));
    ev(l, "response.in_progress", json_pack("{s:O}", "response", head));
    json_decref(head);
    size_t oi;
    json_t *item;
    json_array_foreach(json_object_get(resp, "output"), oi, item) {
        ev(l, "response.output_item.added",
           json_pack("{s:I, s:o}", "output_index", (json_int_t)oi, "item", item_head(item)));
        const char *type = json_string_value(json_object_get(item, "type"));
        if (lo_str_eq(type, "message"))
            text_events(l, item, oi);
        else if (lo_str_eq(type, "function_call"))
            call_events(l, item, oi);
        else if (lo_str_eq(type, "reasoning"))
            reasoning_events(l, item, oi);
        ev(l, "response.output_item.done",
           json_pack("{s:I, s:O}", "output_index", (json_int_t)oi, "item", item));
    }
    bool incomplete = lo_str_eq(json_string_value(json_object_get(resp, "status")), "incomplete");
    ev(l, incomplete ? "response.incomplete" : "response.completed",
       json_pack("{s:O}", "response", resp));
}

/* ------------------------------------------------------------ Chat */

/* The chunk whose choices[0] has this delta (consumed) and finish reason. */
static json_t *chunk_json(const json_t *cc, bool usage, json_t *delta, const char *finish)
{
    json_t *c = json_pack("{s:O, s:s, s:O, s:O, s:O, s:O, s:[{s:i, s:o, s:n, s:o}]}", "id",
                          json_object_get(cc, "id"), "object", "chat.completion.chunk",
                          "created", json_object_get(cc, "created"), "model",
                          json_object_get(cc, "model"), "service_tier",
                          json_object_get(cc, "service_tier"), "system_fingerprint",
                          json_object_get(cc, "system_fingerprint"), "choices", "index", 0,
                          "delta", delta, "logprobs", "finish_reason",
                          finish ? json_string(finish) : json_null());
    /* with include_usage every chunk says usage: null until the last one */
    if (c && usage)
        json_object_set_new(c, "usage", json_null());
    return c;
}

/* One "data: {chunk}". */
static void chunk(twin_events *l, const json_t *cc, bool usage, json_t *delta,
                  const char *finish)
{
    twin_events_sse(l, NULL, chunk_json(cc, usage, delta, finish), NULL);
}

void twin_openai_chat_chunks(const json_t *cc, bool usage, twin_events *l)
{
    const json_t *choice = json_array_get(json_object_get(cc, "choices"), 0);
    const json_t *msg = json_object_get(choice, "message");
    const char *text = json_string_value(json_object_get(msg, "content"));
    chunk(l, cc, usage,
          json_pack("{s:s, s:o, s:n}", "role", "assistant", "content",
                    text ? json_string("") : json_null(), "refusal"),
          NULL);
    /* the content chunks from one template (splice.c), as in text_events */
    twin_tmpl t;
    bool fast = twin_tmpl_init(&t, NULL, chunk_json(cc, usage, json_pack("{s:o}", "content",
                                                                     twin_slot(0)), NULL)) == 0;
    const char *rest = text ? text : "";
    if (fast && twin_tmpl_deltas(l, &t, rest) == 0)
        rest = "";
    while (*rest) {
        size_t k = twin_piece(rest, TWIN_PIECE);
        chunk(l, cc, usage, json_pack("{s:s%}", "content", rest, k), NULL);
        rest += k;
    }
    if (fast)
        twin_tmpl_release(&t);
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, tc) {
        const json_t *fn = json_object_get(tc, "function");
        chunk(l, cc, usage,
              json_pack("{s:[{s:I, s:O, s:s, s:{s:O, s:s}}]}", "tool_calls", "index",
                        (json_int_t)i, "id", json_object_get(tc, "id"), "type", "function",
                        "function", "name", json_object_get(fn, "name"), "arguments", ""),
              NULL);
        const char *args = json_string_value(json_object_get(fn, "arguments"));
        for (const char *s = args ? args : ""; *s;) {
            size_t k = twin_piece(s, TWIN_PIECE);
            chunk(l, cc, usage,
                  json_pack("{s:[{s:I, s:{s:s%}}]}", "tool_calls", "index", (json_int_t)i,
                            "function", "arguments", s, k),
                  NULL);
            s += k;
        }
    }
    chunk(l, cc, usage, json_object(),
          json_string_value(json_object_get(choice, "finish_reason")));
    if (usage) {
        json_t *u = json_pack("{s:O, s:s, s:O, s:O, s:O, s:O, s:[], s:O}", "id",
                              json_object_get(cc, "id"), "object", "chat.completion.chunk",
                              "created", json_object_get(cc, "created"), "model",
                              json_object_get(cc, "model"), "service_tier",
                              json_object_get(cc, "service_tier"), "system_fingerprint",
                              json_object_get(cc, "system_fingerprint"), "choices", "usage",
                              json_object_get(cc, "usage"));
        twin_events_sse(l, NULL, u, NULL);
    }
    twin_events_add(l, "data: [DONE]\n\n", 14);
}
