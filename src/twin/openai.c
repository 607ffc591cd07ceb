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

#define bad twin_openai_bad
#define jstr twin_jstr
#define tool_fn twin_openai_tool_fn

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

static void begin(twin_exch *x)
{
    twin_exch_number(x, "req_", "openai-request", 32);
    lo_http_add_header(x->res, "x-request-id", x->rid);
    lo_http_add_header(x->res, "openai-version", "2020-10-01");
    lo_http_add_header(x->res, "openai-processing-ms", "1");
}

static void send_verdict(twin_exch *x, const twin_verdict *v, const lo_tape_fault *f)
{
    json_t *body = json_pack("{s:{s:s, s:s, s:o, s:o}}", "error", "message", v->msg, "type",
                             v->type ? v->type : error_type(v->status), "param",
                             *v->param ? json_string(v->param) : json_null(), "code",
                             v->code ? json_string(v->code) : json_null());
    twin_retry_after(x->res, v->status, f);
    if (v->status == 429) {
        lo_http_add_header(x->res, "x-ratelimit-remaining-requests", "0");
        lo_http_add_header(x->res, "x-ratelimit-reset-requests", "1s");
    }
    twin_exch_send_json(x, v->status, "application/json", body, f);
}

static void send_error(twin_exch *x, int status, const char *param, const char *code,
                       const char *msg)
{
    twin_verdict v = {0};
    bad(&v, status, param, code, "%s", msg);
    send_verdict(x, &v, NULL);
}

/* ------------------------------------------------------------ auth, body */

static int gate(twin_exch *x)
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

static json_t *parse_body(twin_exch *x)
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

void twin_openai_view(const json_t *b, enum twin_api api, twin_view *v)
{
    const json_t *items = json_object_get(b, api == TWIN_CHAT ? "messages" : "input");
    v->messages = json_is_string(items) ? 1 : (long)json_array_size(items);
    if (json_is_string(items))
        lo_buf_puts(&v->user, json_string_value(items));
    for (size_t i = json_array_size(items); i-- > 0;) {
        const json_t *m = json_array_get(items, i);
        if (lo_str_eq(jstr(m, "role"), "user")) {
            content_text(json_object_get(m, "content"), &v->user);
            break;
        }
    }
    for (size_t i = json_array_size(items); i-- > 0;) {
        const json_t *m = json_array_get(items, i);
        bool res = api == TWIN_CHAT ? lo_str_eq(jstr(m, "role"), "tool")
                                    : lo_str_eq(jstr(m, "type"), "function_call_output");
        if (res) {
            content_text(json_object_get(m, api == TWIN_CHAT ? "content" : "output"),
                         &v->result);
            v->has_result = true;
            break;
        }
    }
    size_t i;
    json_t *tl;
    json_array_foreach(json_object_get(b, "tools"), i, tl)
        twin_view_tool(v, jstr(tool_fn(tl, api), "name"));
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
static void prompt_openai(const json_t *b, enum twin_api api, twin_prompt *p)
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
    const json_t *items = json_object_get(b, api == TWIN_CHAT ? "messages" : "input");
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
static json_t *response_obj(const twin_exch *x, const json_t *b, const json_t *r,
                            const twin_usage *us)
{
    int64_t in = us->input, out = us->output;
    char id[64], iid[64];
    twin_id(id, sizeof id, "resp_", "openai-response", (uint64_t)x->call, 48);
    json_t *output = json_array();
    const char *th = twin_thinking_text(r);
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
static json_t *chat_obj(const twin_exch *x, const json_t *b, const json_t *r,
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
    const char *th = twin_thinking_text(r);
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

static void ratelimit_headers(twin_exch *x, int64_t tokens)
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

/* e is NULL when the twin's own fault answers before the tapes. */
static void serve_entry(twin_exch *x, const json_t *b, enum twin_api api,
                        const lo_tape_entry *e)
{
    lo_tape_fault fv;
    twin_fault_for(x, e, &fv);
    const lo_tape_fault *f = &fv;
    if (f->status) {
        twin_verdict v = {0};
        bad(&v, f->status, NULL, error_code(f->status), "%s", error_message(f->status));
        send_verdict(x, &v, f);
        return;
    }
    if (e->raw) {
        twin_exch_serve_raw(x, e, f, "application/json");
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
    json_t *obj = api == TWIN_CHAT ? chat_obj(x, b, r, &us) : response_obj(x, b, r, &us);
    ratelimit_headers(x, us.input + us.output);
    if (!obj) {
        send_error(x, 500, NULL, NULL, "out of memory in the twin");
        return;
    }
    if (!x->stream) {
        twin_exch_send_json(x, 200, "application/json", obj, f);
        return;
    }
    bool usage =
        json_is_true(json_object_get(json_object_get(b, "stream_options"), "include_usage"));
    twin_events l = {0};
    if (api == TWIN_CHAT)
        twin_openai_chat_chunks(obj, usage, &l);
    else
        twin_openai_response_events(obj, &l);
    json_decref(obj);
    if (l.oom) {
        twin_events_release(&l);
        send_error(x, 500, NULL, NULL, "out of memory in the twin");
        return;
    }
    twin_exch_watch(x);
    twin_send_events(x->res, &l, f);
    x->status = 200;
    twin_exch_done(x);
}

/* ------------------------------------------------------------ routes */

static void generate(const lo_http_request *req, lo_http_response *res, lo_twin *t,
                     enum twin_api api)
{
    twin_exch x;
    twin_exch_init(&x, t, PROVIDER, req, res);
    if (gate(&x))
        return;
    json_t *b = parse_body(&x);
    if (!b)
        return;
    twin_verdict v = {0};
    if (twin_openai_validate(x.t, b, api, &v)) {
        send_verdict(&x, &v, NULL);
        json_decref(b);
        return;
    }
    x.stream = json_is_true(json_object_get(b, "stream"));
    twin_exch_call(&x);
    if (twin_fault_preempts(&x)) {
        serve_entry(&x, b, api, NULL);
        json_decref(b);
        return;
    }
    twin_view view;
    twin_view_init(&view);
    twin_openai_view(b, api, &view);
    char why[1500];
    const lo_tape_entry *e = twin_view_match(&x, &view, jstr(b, "model"), why, sizeof why);
    twin_view_release(&view);
    if (!e)
        send_error(&x, 400, NULL, NULL, why);
    else
        serve_entry(&x, b, api, e);
    json_decref(b);
}

static void h_responses(const lo_http_request *req, lo_http_response *res, void *ud)
{
    generate(req, res, ud, TWIN_RESPONSES);
}

static void h_chat(const lo_http_request *req, lo_http_response *res, void *ud)
{
    generate(req, res, ud, TWIN_CHAT);
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

static void h_models(const lo_http_request *req, lo_http_response *res, void *ud)
{
    twin_exch x;
    twin_exch_init(&x, ud, PROVIDER, req, res);
    if (gate(&x))
        return;
    size_t n = 0;
    const lo_llm_model **all = lo_llm_model_list(x.t->catalog, PROVIDER, &n);
    json_t *data = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(data, model_obj(all[i]));
    free(all);
    twin_exch_send_json(&x, 200, "application/json",
                        json_pack("{s:s, s:o}", "object", "list", "data", data), NULL);
}

static void h_model(const lo_http_request *req, lo_http_response *res, void *ud)
{
    twin_exch x;
    twin_exch_init(&x, ud, PROVIDER, req, res);
    if (gate(&x))
        return;
    const char *id = req->path + strlen("/v1/models/");
    const lo_llm_model *m = lo_llm_model_find(x.t->catalog, id);
    if (!m || !lo_str_eq(m->provider, PROVIDER)) {
        twin_verdict v = {0};
        bad(&v, 404, "model", "model_not_found", "The model '%.120s' does not exist", id);
        send_verdict(&x, &v, NULL);
        return;
    }
    twin_exch_send_json(&x, 200, "application/json", model_obj(m), NULL);
}

static void h_other(const lo_http_request *req, lo_http_response *res, void *ud)
{
    twin_exch x;
    twin_exch_init(&x, ud, PROVIDER, req, res);
    begin(&x);
    twin_verdict v = {0};
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
