/* The Gemini twin's bodies: the token approximation over Gemini's request
 * shape (also the prompt its implicit cache sees), and a provider-neutral
 * reply as a GenerateContentResponse, whole or as stream chunks
 * (docs/twins.md, "Responses"). */
#include <stdio.h>
#include <string.h>

#include "twin/twin_internal.h"

/* Short local names for the shared helpers (twin_internal.h). */
#define jstr twin_jstr
#define jget2 twin_gemini_get

/* ------------------------------------------------------------ tokens */

static int64_t tokens_parts(const json_t *parts)
{
    int64_t n = 0;
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        const json_t *fc = jget2(p, "functionCall", "function_call");
        const json_t *fr = jget2(p, "functionResponse", "function_response");
        if (jstr(p, "text"))
            n += twin_tokens_text(jstr(p, "text"));
        else if (fc)
            n += twin_tokens_text(jstr(fc, "name")) + twin_tokens_json(json_object_get(fc, "args"));
        else if (fr)
            n += twin_tokens_text(jstr(fr, "name")) +
                 twin_tokens_json(json_object_get(fr, "response"));
        else if (jget2(p, "inlineData", "inline_data") || jget2(p, "fileData", "file_data"))
            n += TWIN_TOKENS_MEDIA;
        else
            n += twin_tokens_json(p);
    }
    return n;
}

/* The approximation of docs/twins.md over Gemini's request shape, as a
 * prompt of blocks in the order the implicit cache sees it: the system
 * instruction, the function declarations, then each content. */
static void prompt_gemini(const json_t *b, twin_prompt *p)
{
    twin_prompt_count(p, TWIN_TOKENS_REQUEST);
    const json_t *si = jget2(b, "systemInstruction", "system_instruction");
    if (si)
        twin_prompt_add(p, si, NULL, tokens_parts(json_object_get(si, "parts")), 0);
    size_t i, j;
    json_t *c, *d;
    json_array_foreach(json_object_get(b, "tools"), i, c)
        json_array_foreach(jget2(c, "functionDeclarations", "function_declarations"), j, d) {
            int64_t n = TWIN_TOKENS_TOOL + twin_tokens_text(jstr(d, "name")) +
                        twin_tokens_text(jstr(d, "description"));
            if (json_object_get(d, "parameters"))
                n += twin_tokens_json(json_object_get(d, "parameters"));
            twin_prompt_add(p, d, NULL, n, 0);
        }
    json_array_foreach(json_object_get(b, "contents"), i, c)
        twin_prompt_add(p, c, NULL,
                        TWIN_TOKENS_MESSAGE + tokens_parts(json_object_get(c, "parts")), 0);
}

int64_t twin_gemini_tokens(const json_t *b)
{
    return twin_prompt_total(b, prompt_gemini);
}

/* Implicit caching: prompts of 1024 tokens and more (4096 for Pro models),
 * kept five minutes after their last use. */
static twin_cache_policy cache_policy(const lo_llm_model *m)
{
    return (twin_cache_policy){.min = strstr(m->id, "pro") ? 4096 : 1024, .step = 1,
                               .ttl_ms = 5 * 60 * 1000LL};
}

/* ------------------------------------------------------------ replies */

/* A neutral or another provider's stop reason as Gemini's finishReason;
 * values already in Gemini's spelling (upper case) pass through. */
static const char *finish_reason(const json_t *reply)
{
    const char *s = jstr(reply, "stop_reason");
    if (!s)
        return "STOP";
    if (!strcmp(s, "max_tokens") || !strcmp(s, "length") || !strcmp(s, "max_output_tokens"))
        return "MAX_TOKENS";
    if (s[0] >= 'A' && s[0] <= 'Z')
        return s;
    return "STOP"; /* end_turn, stop, stop_sequence, tool_use, tool_calls */
}

/* Where the signature goes, as the API places it: on the first function
 * call, else on the answer's text, else on the thought summary. */
void twin_gemini_render(lo_twin *t, long call_no, const json_t *b, const json_t *r,
                        const lo_llm_model *model, twin_gemini_reply *out)
{
    const json_t *gc = jget2(b, "generationConfig", "generation_config");
    const json_t *tc = jget2(gc, "thinkingConfig", "thinking_config");
    bool include = json_is_true(jget2(tc, "includeThoughts", "include_thoughts"));
    const char *th = twin_thinking_text(r);
    char sigbuf[64];
    const char *sig = jstr(json_object_get(r, "thinking"), "signature");
    if (th && !sig) {
        twin_id(sigbuf, sizeof sigbuf, "", "gemini-signature", (uint64_t)call_no, 44);
        sig = sigbuf;
    }
    out->parts = json_array();
    json_t *thought = NULL, *text = NULL, *first_call = NULL;
    /* thought summaries come only when the request asks for them */
    if (th && include) {
        thought = json_pack("{s:s, s:b}", "text", th, "thought", 1);
        json_array_append_new(out->parts, thought);
    }
    if (jstr(r, "text")) {
        text = json_pack("{s:s}", "text", jstr(r, "text"));
        json_array_append_new(out->parts, text);
    }
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(r, "tool_calls"), i, call) {
        const json_t *a = json_object_get(call, "arguments");
        json_t *args = json_is_string(a) ? json_loads(json_string_value(a), 0, NULL)
                                         : json_incref((json_t *)a);
        json_t *p = json_pack("{s:{s:O, s:o}}", "functionCall", "name",
                              json_object_get(call, "name"), "args",
                              args ? args : json_object());
        if (jstr(call, "id"))
            json_object_set(json_object_get(p, "functionCall"), "id",
                            json_object_get(call, "id"));
        if (!first_call)
            first_call = p;
        json_array_append_new(out->parts, p);
    }
    json_t *at = first_call ? first_call : text ? text : thought;
    if (th && at)
        json_object_set_new(at, "thoughtSignature", json_string(sig));
    twin_prompt pr;
    twin_prompt_init(&pr, model->id, NULL);
    prompt_gemini(b, &pr);
    twin_cache_policy pol = cache_policy(model);
    twin_usage us;
    twin_usage_resolve(t, r, &pr, &pol, &us);
    twin_prompt_release(&pr);
    int64_t total_out = us.output;
    out->in = us.input;
    out->cached = us.cache.read;
    /* Gemini counts thinking apart: candidates + thoughts = the output */
    out->thoughts = th ? twin_tokens_text(th) : 0;
    if (out->thoughts > total_out)
        out->thoughts = total_out;
    out->candidates = total_out - out->thoughts;
    out->finish = finish_reason(r);
    twin_id(out->rid, sizeof out->rid, "", "gemini-response", (uint64_t)call_no, 27);
    out->model = model->id;
}

static json_t *usage_obj(const twin_gemini_reply *rd, bool final)
{
    json_t *u = json_pack("{s:I, s:I, s:[{s:s, s:I}]}", "promptTokenCount", (json_int_t)rd->in,
                          "totalTokenCount", (json_int_t)rd->in, "promptTokensDetails",
                          "modality", "TEXT", "tokenCount", (json_int_t)rd->in);
    /* the part of the prompt served from the implicit cache (left out at 0) */
    if (u && rd->cached) {
        json_object_set_new(u, "cachedContentTokenCount", json_integer(rd->cached));
        json_object_set_new(u, "cacheTokensDetails",
                            json_pack("[{s:s, s:I}]", "modality", "TEXT", "tokenCount",
                                      (json_int_t)rd->cached));
    }
    if (final) {
        json_object_set_new(u, "candidatesTokenCount", json_integer(rd->candidates));
        json_object_set_new(u, "totalTokenCount",
                            json_integer(rd->in + rd->candidates + rd->thoughts));
        /* proto3 JSON leaves zero counts out, as the API does */
        if (rd->thoughts)
            json_object_set_new(u, "thoughtsTokenCount", json_integer(rd->thoughts));
    }
    return u;
}

/* One GenerateContentResponse with these parts. */
json_t *twin_gemini_response(const twin_gemini_reply *rd, json_t *parts, bool final)
{
    json_t *cand = json_pack("{s:{s:o, s:s}, s:i}", "content", "parts", parts, "role", "model",
                             "index", 0);
    if (final)
        json_object_set_new(cand, "finishReason", json_string(rd->finish));
    return json_pack("{s:[o], s:o, s:s, s:s}", "candidates", cand, "usageMetadata",
                     usage_obj(rd, final), "modelVersion", rd->model, "responseId", rd->rid);
}

/* The stream's chunks: thought and text in pieces, each call whole; the last
 * chunk carries finishReason and the full usage. */
json_t *twin_gemini_chunks(const twin_gemini_reply *rd)
{
    json_t *chunks = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(rd->parts, i, p) {
        const char *text = jstr(p, "text");
        if (!text) {
            json_array_append_new(chunks, json_pack("[O]", p));
            continue;
        }
        const char *s = text;
        do {
            size_t k = twin_piece(s, TWIN_PIECE);
            json_t *q = json_deep_copy(p);
            json_object_set_new(q, "text", json_stringn(s, k));
            s += k;
            /* the signature travels with the last piece of its part */
            if (*s)
                json_object_del(q, "thoughtSignature");
            json_array_append_new(chunks, json_pack("[o]", q));
        } while (*s);
    }
    if (!json_array_size(chunks))
        json_array_append_new(chunks, json_array());
    json_t *out = json_array();
    size_t n = json_array_size(chunks);
    json_array_foreach(chunks, i, p)
        json_array_append_new(out, twin_gemini_response(rd, json_incref(p), i + 1 == n));
    json_decref(chunks);
    return out;
}

