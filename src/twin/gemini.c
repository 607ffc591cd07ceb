/* The Gemini twin: generateContent, streamGenerateContent (SSE with
 * ?alt=sse, else a JSON array streamed element by element), countTokens and
 * the model list under /v1beta, with Gemini's key checks, request
 * validation, google.rpc-style error bodies, ids and usageMetadata. Bodies
 * come from tapes (tape.c); this file renders a provider-neutral reply in
 * Gemini's wire format (docs/twins.md, "The Gemini twin"). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "twin/twin_internal.h"

/* Short local names for the shared helpers (twin_internal.h). */
#define jstr twin_jstr
#define jget2 twin_gemini_get

#define PROVIDER "gemini"
#define CTYPE "application/json; charset=UTF-8"

/* ------------------------------------------------------------ errors */

/* The google.rpc status name of an HTTP status. */
static const char *rpc_status(int status)
{
    switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ABORTED";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 501: return "UNIMPLEMENTED";
    case 503:
    case 529: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    }
    return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
}

static const char *fault_message(int status)
{
    switch (status) {
    case 429: return "You exceeded your current quota, please check your plan and billing "
                     "details. (twin: rate limit fault from the tape)";
    case 503:
    case 529: return "The model is overloaded. Please try again later.";
    case 500: return "An internal error has occurred. Please retry or report in "
                     "https://developers.generativeai.google/guide/troubleshooting";
    case 504: return "Deadline expired before operation could complete.";
    }
    return "Request failed (twin: fault from the tape).";
}

/* {"error": {"code", "message", "status", "details"?}}; details takes a
 * reference. Retry-After (and RetryInfo) for 429 and 503 as the API's
 * clients expect them. */
static void send_error_full(twin_exch *x, int status, const char *msg, json_t *details,
                            const lo_tape_fault *f)
{
    long ra = twin_retry_after(x->res, status, f);
    if (ra >= 0 && status == 429) {
        char d[32];
        snprintf(d, sizeof d, "%lds", ra);
        if (!details)
            details = json_array();
        json_array_append_new(details, json_pack("{s:s, s:s}", "@type",
                                                 "type.googleapis.com/google.rpc.RetryInfo",
                                                 "retryDelay", d));
    }
    json_t *e = json_pack("{s:i, s:s, s:s}", "code", status, "message", msg, "status",
                          rpc_status(status));
    if (e && details)
        json_object_set(e, "details", details);
    json_decref(details);
    twin_exch_send_json(x, status, CTYPE, e ? json_pack("{s:o}", "error", e) : NULL, f);
}

static void send_error(twin_exch *x, int status, const char *msg)
{
    send_error_full(x, status, msg, NULL, NULL);
}

/* ------------------------------------------------------------ auth */

static int gate(twin_exch *x)
{
    const char *key = lo_http_header(x->req, "x-goog-api-key");
    if (!key || !*key)
        key = lo_http_query_param(x->req, "key");
    if (!key || !*key) {
        send_error(x, 403,
                   "Method doesn't allow unregistered callers (callers without established "
                   "identity). Please use API Key or other form of API consumer identity to "
                   "call this API.");
        return -1;
    }
    if (!twin_key_ok(x->t, key)) {
        /* the API answers a wrong key with 400, not 401; the key is never echoed */
        json_t *d = json_pack("[{s:s, s:s, s:s, s:{s:s}}]", "@type",
                              "type.googleapis.com/google.rpc.ErrorInfo", "reason",
                              "API_KEY_INVALID", "domain", "googleapis.com", "metadata",
                              "service", "generativelanguage.googleapis.com");
        send_error_full(x, 400, "API key not valid. Please pass a valid API key.", d, NULL);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ the view */

/* Every string inside v, depth first, one a line: what a function response
 * "says" for matching, whatever keys the caller chose. */
static void strings_of(const json_t *v, lo_buf *out)
{
    if (json_is_string(v)) {
        if (out->len)
            lo_buf_putc(out, '\n');
        lo_buf_puts(out, json_string_value(v));
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) strings_of(e, out);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e) strings_of(e, out);
    }
}

void twin_gemini_view(const json_t *b, twin_view *v)
{
    const json_t *contents = json_object_get(b, "contents");
    v->messages = (long)json_array_size(contents);
    for (size_t i = json_array_size(contents); i-- > 0;) {
        const json_t *c = json_array_get(contents, i);
        if (lo_str_eq(jstr(c, "role"), "model"))
            continue;
        size_t j;
        json_t *p;
        json_array_foreach(json_object_get(c, "parts"), j, p)
            if (jstr(p, "text") && !json_is_true(json_object_get(p, "thought")))
                lo_buf_puts(&v->user, jstr(p, "text"));
        break;
    }
    for (size_t i = json_array_size(contents); i-- > 0 && !v->has_result;) {
        const json_t *parts = json_object_get(json_array_get(contents, i), "parts");
        for (size_t j = json_array_size(parts); j-- > 0;) {
            const json_t *fr = jget2(json_array_get(parts, j), "functionResponse",
                                               "function_response");
            if (fr) {
                const json_t *r = json_object_get(fr, "response");
                strings_of(r, &v->result);
                if (!v->result.len && r) {
                    char *s = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY);
                    lo_buf_puts(&v->result, s ? s : "");
                    free(s);
                }
                v->has_result = true;
                break;
            }
        }
    }
    size_t i, j;
    json_t *tl, *d;
    json_array_foreach(json_object_get(b, "tools"), i, tl)
        json_array_foreach(jget2(tl, "functionDeclarations", "function_declarations"),
                           j, d) twin_view_tool(v, jstr(d, "name"));
}

/* ------------------------------------------------------------ JSON-array streams */

/* streamGenerateContent without alt=sse: one JSON array whose elements leave
 * as they are produced, with the tape's latency, drip and cut applied per
 * element (the SSE form goes through twin_send_events). */
static void send_array(twin_exch *x, json_t *chunks, const lo_tape_fault *f)
{
    size_t n = json_array_size(chunks);
    twin_events l = {0};
    for (size_t i = 0; i < n && !l.oom; i++) {
        char *s = json_dumps(json_array_get(chunks, i), JSON_COMPACT);
        /* malformed: the second element (the first when alone) is cut in half */
        if (s && f->malformed && i == (n > 1 ? 1 : 0))
            s[strlen(s) / 2] = '\0';
        lo_buf *b = twin_events_buf(&l);
        if (lo_buf_puts(b, i ? ",\r\n" : "[") || lo_buf_puts(b, s ? s : "{}") ||
            (i + 1 == n && lo_buf_puts(b, "]")))
            l.oom = true;
        free(s);
        twin_events_end(&l);
    }
    if (l.oom) {
        twin_events_release(&l);
        send_error(x, 500, "out of memory in the twin");
        return;
    }
    twin_exch_watch(x);
    twin_send_parts(x->res, 200, CTYPE, &l, f);
}

static void send_sse(twin_exch *x, json_t *chunks, const lo_tape_fault *f)
{
    size_t n = json_array_size(chunks);
    twin_events l = {0};
    for (size_t i = 0; i < n; i++)
        twin_events_sse(&l, NULL, json_incref(json_array_get(chunks, i)), "\r\n\r\n");
    if (l.oom) {
        twin_events_release(&l);
        send_error(x, 500, "out of memory in the twin");
        return;
    }
    twin_exch_watch(x);
    twin_send_events(x->res, &l, f);
}

/* ------------------------------------------------------------ serving */

/* e is NULL when the twin's own fault answers before the tapes. */
static void serve_entry(twin_exch *x, const json_t *b, const lo_llm_model *model, bool sse,
                        const lo_tape_entry *e)
{
    lo_tape_fault fv;
    twin_fault_for(x, e, &fv);
    const lo_tape_fault *f = &fv;
    if (f->status) {
        send_error_full(x, f->status, fault_message(f->status), NULL, f);
        return;
    }
    if (e->raw) {
        twin_exch_serve_raw(x, e, f, CTYPE);
        return;
    }
    twin_gemini_reply rd;
    twin_gemini_render(x->t, x->call, b, e->reply, model, &rd);
    if (!x->stream) {
        twin_exch_send_json(x, 200, CTYPE, twin_gemini_response(&rd, json_incref(rd.parts), true),
                            f);
        json_decref(rd.parts);
        return;
    }
    json_t *chunks = twin_gemini_chunks(&rd);
    if (sse)
        send_sse(x, chunks, f);
    else
        send_array(x, chunks, f);
    json_decref(chunks);
    json_decref(rd.parts);
    x->status = 200;
    twin_exch_done(x);
}

/* "/v1beta/models/NAME:METHOD" -> the model's catalog entry and the method;
 * answers the error itself and returns NULL when it cannot. */
static const lo_llm_model *resolve(twin_exch *x, const char *rest, const char *method,
                                   char *name, size_t name_len)
{
    snprintf(name, name_len, "%.*s", (int)(method - rest), rest);
    const lo_llm_model *m = lo_llm_model_find(x->t->catalog, name);
    if (!m || !lo_str_eq(m->provider, PROVIDER)) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "models/%.120s is not found for API version v1beta, or is not supported for "
                 "%.40s. Call ListModels to see the list of available models and their "
                 "supported methods.", name, method + 1);
        send_error(x, 404, msg);
        return NULL;
    }
    return m;
}

static void h_post(const lo_http_request *req, lo_http_response *res, void *ud)
{
    twin_exch x;
    twin_exch_init(&x, ud, PROVIDER, req, res);
    const char *rest = req->path + strlen("/v1beta/models/");
    const char *colon = strrchr(rest, ':');
    enum twin_gemini_method m;
    if (colon && !strcmp(colon, ":generateContent"))
        m = TWIN_GEMINI_GENERATE;
    else if (colon && !strcmp(colon, ":streamGenerateContent"))
        m = TWIN_GEMINI_STREAM;
    else if (colon && !strcmp(colon, ":countTokens"))
        m = TWIN_GEMINI_COUNT;
    else {
        char msg[300];
        snprintf(msg, sizeof msg, "Method not found: POST %.200s", req->path);
        send_error(&x, 404, msg);
        return;
    }
    if (gate(&x))
        return;
    char name[160];
    const lo_llm_model *model = resolve(&x, rest, colon, name, sizeof name);
    if (!model)
        return;
    json_t *b = json_loadb(req->body, req->body_len, 0, NULL);
    if (!json_is_object(b)) {
        json_decref(b);
        send_error(&x, 400, "Invalid JSON payload received. Expected an object.");
        return;
    }
    twin_verdict v = {0};
    if (twin_gemini_validate(b, m, &v)) {
        send_error(&x, v.status, v.msg);
        json_decref(b);
        return;
    }
    if (m == TWIN_GEMINI_COUNT) {
        const json_t *gcr =
            jget2(b, "generateContentRequest", "generate_content_request");
        int64_t n = twin_gemini_tokens(gcr ? gcr : b);
        twin_exch_send_json(&x, 200, CTYPE,
                            json_pack("{s:I, s:[{s:s, s:I}]}", "totalTokens", (json_int_t)n,
                                      "promptTokensDetails", "modality", "TEXT", "tokenCount",
                                      (json_int_t)n),
                            NULL);
        json_decref(b);
        return;
    }
    x.stream = m == TWIN_GEMINI_STREAM;
    const char *alt = lo_http_query_param(req, "alt");
    bool sse = lo_str_eq(alt, "sse");
    twin_exch_call(&x);
    if (twin_fault_preempts(&x)) {
        serve_entry(&x, b, model, sse, NULL);
        json_decref(b);
        return;
    }
    twin_view view;
    twin_view_init(&view);
    twin_gemini_view(b, &view);
    char why[1500];
    const lo_tape_entry *e = twin_view_match(&x, &view, name, why, sizeof why);
    twin_view_release(&view);
    if (!e)
        send_error(&x, 400, why);
    else
        serve_entry(&x, b, model, sse, e);
    json_decref(b);
}

static json_t *model_obj(const lo_llm_model *m)
{
    char name[200];
    snprintf(name, sizeof name, "models/%s", m->id);
    int64_t out = m->max_output > 0 ? m->max_output : 8192;
    int64_t in = m->context_window > 0 ? m->context_window : 1048576;
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:[s, s, s], s:f, s:f, s:i, s:f, "
                     "s:b}",
                     "name", name, "baseModelId", m->id, "version", "001", "displayName",
                     m->display_name ? m->display_name : m->id, "description",
                     m->notes ? m->notes : "", "inputTokenLimit", (json_int_t)in,
                     "outputTokenLimit", (json_int_t)out, "supportedGenerationMethods",
                     "generateContent", "countTokens", "streamGenerateContent", "temperature",
                     1.0, "topP", 0.95, "topK", 64, "maxTemperature", 2.0, "thinking",
                     (int)m->supports_reasoning);
}

/* GET /v1beta/models: pageSize (default 50, at most 1000) and an opaque
 * pageToken (the next index, in base 10). */
static void h_models(const lo_http_request *req, lo_http_response *res, void *ud)
{
    twin_exch x;
    twin_exch_init(&x, ud, PROVIDER, req, res);
    if (gate(&x))
        return;
    int64_t size = 50, start = 0;
    const char *ps = lo_http_query_param(req, "pageSize");
    const char *pt = lo_http_query_param(req, "pageToken");
    if (ps && (lo_parse_int64(ps, &size) || size < 0)) {
        send_error(&x, 400, "Invalid value at 'page_size' (TYPE_INT32)");
        return;
    }
    if (pt && *pt && (lo_parse_int64(pt, &start) || start < 0)) {
        send_error(&x, 400, "Invalid page token.");
        return;
    }
    if (size == 0 || size > 1000)
        size = size ? 1000 : 50;
    size_t n = 0;
    const lo_llm_model **all = lo_llm_model_list(x.t->catalog, PROVIDER, &n);
    json_t *models = json_array();
    size_t i = (size_t)start;
    for (; i < n && i < (size_t)(start + size); i++)
        json_array_append_new(models, model_obj(all[i]));
    free(all);
    json_t *j = json_pack("{s:o}", "models", models);
    if (i < n) {
        char tok[32];
        snprintf(tok, sizeof tok, "%zu", i);
        json_object_set_new(j, "nextPageToken", json_string(tok));
    }
    twin_exch_send_json(&x, 200, CTYPE, j, NULL);
}

static void h_model(const lo_http_request *req, lo_http_response *res, void *ud)
{
    twin_exch x;
    twin_exch_init(&x, ud, PROVIDER, req, res);
    if (gate(&x))
        return;
    const char *id = req->path + strlen("/v1beta/models/");
    const lo_llm_model *m = lo_llm_model_find(x.t->catalog, id);
    if (!m || !lo_str_eq(m->provider, PROVIDER)) {
        char msg[300];
        snprintf(msg, sizeof msg, "models/%.120s is not found for API version v1beta", id);
        send_error(&x, 404, msg);
        return;
    }
    twin_exch_send_json(&x, 200, CTYPE, model_obj(m), NULL);
}

static void h_other(const lo_http_request *req, lo_http_response *res, void *ud)
{
    twin_exch x;
    twin_exch_init(&x, ud, PROVIDER, req, res);
    char msg[300];
    snprintf(msg, sizeof msg, "Method not found: %.8s %.200s", req->method, req->path);
    send_error(&x, 404, msg);
}

/* shared: also answer every other path (when Gemini is served alone). */
int twin_gemini_routes(lo_twin *t, bool shared, lo_error *err)
{
    lo_http_server *s = t->srv;
    int rc;
    if ((rc = lo_http_route(s, "POST", "/v1beta/models/*", h_post, t)) ||
        (rc = lo_http_route(s, "GET", "/v1beta/models", h_models, t)) ||
        (rc = lo_http_route(s, "GET", "/v1beta/models/*", h_model, t)) ||
        (rc = lo_http_route(s, NULL, "/v1beta/*", h_other, t)))
        return lo_error_set(err, rc, "cannot add the gemini routes");
    if (shared && (rc = lo_http_route(s, NULL, "/*", h_other, t)))
        return lo_error_set(err, rc, "cannot add the gemini routes");
    return 0;
}
