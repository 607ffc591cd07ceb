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
static void begin(twin_exch *x)
{
    twin_exch_number(x, "req_", "request", 24);
    lo_http_add_header(x->res, "request-id", x->rid);
}

/* Answer {"type":"error","error":{"type":...,"message":...},"request_id":...}. */
static void send_error_f(twin_exch *x, int status, const lo_tape_fault *f, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));
static void send_error_f(twin_exch *x, int status, const lo_tape_fault *f, const char *fmt,
                         ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *body = json_pack("{s:s, s:{s:s, s:s}, s:s}", "type", "error", "error", "type",
                             error_type(status), "message", msg, "request_id", x->rid);
    twin_retry_after(x->res, status, f);
    if (status == 429)
        lo_http_add_header(x->res, "anthropic-ratelimit-requests-remaining", "0");
    twin_exch_send_json(x, status, "application/json", body, f);
}

/* ------------------------------------------------------------ auth, body */

/* Checks shared by every route: key, version header. 0 to go on. */
static int gate(twin_exch *x)
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

static json_t *parse_body(twin_exch *x)
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

void twin_anthropic_view(const json_t *b, twin_view *v)
{
    json_t *msgs = json_object_get(b, "messages");
    v->messages = (long)json_array_size(msgs);
    for (size_t i = json_array_size(msgs); i-- > 0;) {
        json_t *m = json_array_get(msgs, i);
        if (lo_str_eq(twin_jstr(m, "role"), "user")) {
            content_text(json_object_get(m, "content"), false, &v->user);
            break;
        }
    }
    /* the last tool_result block anywhere in the conversation */
    for (size_t i = json_array_size(msgs); i-- > 0 && !v->has_result;) {
        json_t *c = json_object_get(json_array_get(msgs, i), "content");
        for (size_t j = json_array_size(c); j-- > 0;) {
            json_t *blk = json_array_get(c, j);
            if (lo_str_eq(twin_jstr(blk, "type"), "tool_result")) {
                content_text(json_object_get(blk, "content"), true, &v->result);
                v->has_result = true;
                break;
            }
        }
    }
    size_t i;
    json_t *tl;
    json_array_foreach(json_object_get(b, "tools"), i, tl) twin_view_tool(v, twin_jstr(tl, "name"));
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

static void ratelimit_headers(twin_exch *x, int64_t in, int64_t out)
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

static void push(twin_events *l, const char *type, json_t *data)
{
    twin_events_sse(l, type, data, NULL);
}

static void push_deltas(twin_events *l, size_t index, const char *dtype, const char *field,
                        const char *s)
{
    /* one template per block, each piece filled in (splice.c); if that
     * cannot be done, every event built the ordinary way */
    twin_tmpl t;
    bool fast = twin_tmpl_init(&t, "content_block_delta",
                               json_pack("{s:s, s:I, s:{s:s, s:o}}", "type",
                                         "content_block_delta", "index", (json_int_t)index,
                                         "delta", "type", dtype, field, twin_slot(0))) == 0;
    if (fast && twin_tmpl_deltas(l, &t, s) == 0)
        s = "";
    while (*s) {
        size_t k = twin_piece(s, TWIN_PIECE);
        push(l, "content_block_delta",
             json_pack("{s:s, s:I, s:{s:s, s:s%}}", "type", "content_block_delta", "index",
                       (json_int_t)index, "delta", "type", dtype, field, s, k));
        s += k;
    }
    if (fast)
        twin_tmpl_release(&t);
}

/* The stream of a message whose complete form is msg: message_start, then
 * per block start / (ping after the first) / deltas / stop, then
 * message_delta and message_stop. */
static void stream_events(twin_events *l, const json_t *msg)
{
    json_t *start = json_deep_copy(msg);
    json_object_set_new(start, "content", json_array());
    json_object_set_new(start, "stop_reason", json_null());
    json_object_set_new(start, "stop_sequence", json_null());
    /* the real stream reports output tokens as 1 until message_delta */
    json_object_set_new(json_object_get(start, "usage"), "output_tokens", json_integer(1));
    push(l, "message_start",
         json_pack("{s:s, s:o}", "type", "message_start", "message", start));
    size_t i;
    json_t *b;
    bool pinged = false;
    json_array_foreach(json_object_get(msg, "content"), i, b) {
        const char *type = twin_jstr(b, "type");
        json_t *head;
        if (!strcmp(type, "thinking"))
            head = json_pack("{s:s, s:s, s:s}", "type", "thinking", "thinking", "", "signature",
                             "");
        else if (!strcmp(type, "tool_use"))
            head = json_pack("{s:s, s:O, s:O, s:{}}", "type", "tool_use", "id",
                             json_object_get(b, "id"), "name", json_object_get(b, "name"),
                             "input");
        else
            head = json_pack("{s:s, s:s}", "type", "text", "text", "");
        push(l, "content_block_start",
             json_pack("{s:s, s:I, s:o}", "type", "content_block_start", "index", (json_int_t)i,
                       "content_block", head));
        if (!pinged) {
            push(l, "ping", json_pack("{s:s}", "type", "ping"));
            pinged = true;
        }
        if (!strcmp(type, "thinking")) {
            push_deltas(l, i, "thinking_delta", "thinking", twin_jstr(b, "thinking"));
            push(l, "content_block_delta",
                 json_pack("{s:s, s:I, s:{s:s, s:O}}", "type", "content_block_delta", "index",
                           (json_int_t)i, "delta", "type", "signature_delta", "signature",
                           json_object_get(b, "signature")));
        } else if (!strcmp(type, "tool_use")) {
            char *js = json_dumps(json_object_get(b, "input"), JSON_COMPACT);
            /* the real stream opens with an empty partial_json */
            push(l, "content_block_delta",
                 json_pack("{s:s, s:I, s:{s:s, s:s}}", "type", "content_block_delta", "index",
                           (json_int_t)i, "delta", "type", "input_json_delta", "partial_json",
                           ""));
            push_deltas(l, i, "input_json_delta", "partial_json", js ? js : "{}");
            free(js);
        } else {
            push_deltas(l, i, "text_delta", "text", twin_jstr(b, "text"));
        }
        push(l, "content_block_stop",
             json_pack("{s:s, s:I}", "type", "content_block_stop", "index", (json_int_t)i));
    }
    if (!pinged)
        push(l, "ping", json_pack("{s:s}", "type", "ping"));
    /* the final counts: input and cache as in message_start, output complete */
    json_t *u = json_object_get(msg, "usage");
    push(l, "message_delta",
         json_pack("{s:s, s:{s:O, s:O}, s:{s:O, s:O, s:O, s:O}}", "type", "message_delta",
                   "delta", "stop_reason", json_object_get(msg, "stop_reason"), "stop_sequence",
                   json_object_get(msg, "stop_sequence"), "usage", "input_tokens",
                   json_object_get(u, "input_tokens"), "cache_creation_input_tokens",
                   json_object_get(u, "cache_creation_input_tokens"), "cache_read_input_tokens",
                   json_object_get(u, "cache_read_input_tokens"), "output_tokens",
                   json_object_get(u, "output_tokens")));
    push(l, "message_stop", json_pack("{s:s}", "type", "message_stop"));
}

/* e is NULL when the twin's own fault answers before the tapes. */
static void serve_entry(twin_exch *x, const json_t *b, const lo_tape_entry *e,
                        const lo_llm_model *model)
{
    lo_tape_fault fv;
    twin_fault_for(x, e, &fv);
    const lo_tape_fault *f = &fv;
    if (f->status) {
        send_error_f(x, f->status, f, "%s", error_message(f->status));
        return;
    }
    if (e->raw) {
        twin_exch_serve_raw(x, e, f, "application/json");
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
    if (!x->stream) {
        twin_exch_send_json(x, 200, "application/json", msg, f);
        return;
    }
    twin_events l = {0};
    stream_events(&l, msg);
    json_decref(msg);
    if (l.oom) {
        twin_events_release(&l);
        send_error_f(x, 500, NULL, "out of memory in the twin");
        return;
    }
    twin_exch_watch(x);
    twin_send_events(x->res, &l, f);
    x->status = 200;
    twin_exch_done(x);
}

/* ------------------------------------------------------------ routes */

static void h_messages(const lo_http_request *req, lo_http_response *res, void *ud)
{
    twin_exch x;
    twin_exch_init(&x, ud, PROVIDER, req, res);
    if (gate(&x))
        return;
    json_t *b = parse_body(&x);
    if (!b)
        return;
    twin_verdict v = {0};
    const lo_llm_model *m = NULL;
    if (twin_anthropic_validate(x.t, b, false, &v, &m)) {
        send_error_f(&x, v.status, NULL, "%s", v.msg);
        json_decref(b);
        return;
    }
    x.stream = json_is_true(json_object_get(b, "stream"));
    twin_exch_call(&x);
    if (twin_fault_preempts(&x)) {
        serve_entry(&x, b, NULL, m);
        json_decref(b);
        return;
    }
    twin_view view;
    twin_view_init(&view);
    twin_anthropic_view(b, &view);
    char why[1500];
    const lo_tape_entry *e = twin_view_match(&x, &view, twin_jstr(b, "model"), why, sizeof why);
    twin_view_release(&view);
    if (!e)
        send_error_f(&x, 400, NULL, "%s", why);
    else
        serve_entry(&x, b, e, m);
    json_decref(b);
}

static void h_count_tokens(const lo_http_request *req, lo_http_response *res, void *ud)
{
    twin_exch x;
    twin_exch_init(&x, ud, PROVIDER, req, res);
    if (gate(&x))
        return;
    json_t *b = parse_body(&x);
    if (!b)
        return;
    twin_verdict v = {0};
    const lo_llm_model *m = NULL;
    if (twin_anthropic_validate(x.t, b, true, &v, &m))
        send_error_f(&x, v.status, NULL, "%s", v.msg);
    else
        twin_exch_send_json(&x, 200, "application/json",
                            json_pack("{s:I}", "input_tokens",
                                      (json_int_t)twin_tokens_anthropic_request(b)),
                            NULL);
    json_decref(b);
}

static json_t *model_obj(const lo_llm_model *m)
{
    char created[32];
    snprintf(created, sizeof created, "%sT00:00:00Z", m->released ? m->released : "2024-01-01");
    return json_pack("{s:s, s:s, s:s, s:s}", "type", "model", "id", m->id, "display_name",
                     m->display_name ? m->display_name : m->id, "created_at", created);
}

static void h_models(const lo_http_request *req, lo_http_response *res, void *ud)
{
    twin_exch x;
    twin_exch_init(&x, ud, PROVIDER, req, res);
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
    twin_exch_send_json(&x, 200, "application/json", out, NULL);
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
        send_error_f(&x, 404, NULL, "model: %.120s", id);
        return;
    }
    twin_exch_send_json(&x, 200, "application/json", model_obj(m), NULL);
}

static void h_other(const lo_http_request *req, lo_http_response *res, void *ud)
{
    twin_exch x;
    twin_exch_init(&x, ud, PROVIDER, req, res);
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
