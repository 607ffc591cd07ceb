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

#define PROVIDER "gemini"
#define PIECE 16

/* Declared here and in twin.c, its one caller (the internal header belongs
 * to the core). */
int twin_gemini_routes(lo_twin *t, bool shared, lo_error *err);

enum method { M_GENERATE, M_STREAM, M_COUNT };

/* One request as it goes through: what the log line reports. */
typedef struct exch {
    lo_twin *t;
    const lo_http_request *req;
    lo_http_response *res;
    long call;
    int status;
    const lo_tape_entry *entry;
    bool stream;
} exch;

static void done(exch *x)
{
    char tape[300] = "", call[32] = "";
    if (x->entry)
        snprintf(tape, sizeof tape, " tape=%s:%u", x->entry->file, x->entry->line);
    if (x->call)
        snprintf(call, sizeof call, " call=%ld", x->call);
    twin_log(x->t, PROVIDER " %s %s %d%s%s%s", x->req->method, x->req->path, x->status, call,
             tape, x->stream ? " stream" : "");
}

static const char *jstr(const json_t *j, const char *k)
{
    return json_string_value(json_object_get(j, k));
}

/* Gemini accepts both proto field spellings: camelCase and snake_case. */
static const json_t *jget2(const json_t *j, const char *camel, const char *snake)
{
    const json_t *v = json_object_get(j, camel);
    return v ? v : json_object_get(j, snake);
}

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
static void send_error_full(exch *x, int status, const char *msg, json_t *details,
                            const lo_tape_fault *f)
{
    long ra = f ? f->retry_after_s : -1;
    if (ra < 0 && (status == 429 || status == 503 || status == 529))
        ra = 1;
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
    json_t *body = e ? json_pack("{s:o}", "error", e) : NULL;
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (ra >= 0) {
        char h[32];
        snprintf(h, sizeof h, "%ld", ra);
        lo_http_add_header(x->res, "retry-after", h);
    }
    twin_send(x->res, status, "application/json; charset=UTF-8", s ? s : "", s ? strlen(s) : 0,
              f);
    free(s);
    x->status = status;
    done(x);
}

static void send_error(exch *x, int status, const char *msg)
{
    send_error_full(x, status, msg, NULL, NULL);
}

/* ------------------------------------------------------------ auth */

static int gate(exch *x)
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

/* ------------------------------------------------------------ validation */

typedef struct verdict {
    int status;
    char msg[700];
} verdict;

static int bad(verdict *v, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(verdict *v, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof v->msg, fmt, ap);
    va_end(ap);
    v->status = status;
    return -1;
}

static bool fn_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64)
        return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

/* The part kinds a Content may hold (the proto's "data" oneof). */
static bool part_has_data(const json_t *p)
{
    static const char *const kinds[] = {"text", "inlineData", "inline_data", "fileData",
                                        "file_data", "functionCall", "function_call",
                                        "functionResponse", "function_response",
                                        "executableCode", "executable_code",
                                        "codeExecutionResult", "code_execution_result"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (json_object_get(p, kinds[i]))
            return true;
    /* a thought part that carries only its signature is accepted back */
    return jget2(p, "thoughtSignature", "thought_signature") != NULL;
}

/* Messages name the field as the API does: its proto path, snake_case. */
static int check_contents(const json_t *contents, const char *where, verdict *v)
{
    if (!contents || (json_is_array(contents) && !json_array_size(contents)))
        return bad(v, 400, "* %s.contents: contents is not specified\n", where);
    if (!json_is_array(contents))
        return bad(v, 400, "Invalid JSON payload received. Invalid value at 'contents': "
                           "expected a list of Content.");
    size_t i, j;
    json_t *c, *p;
    json_array_foreach(contents, i, c) {
        if (!json_is_object(c))
            return bad(v, 400, "Invalid JSON payload received. Invalid value at "
                               "'contents[%zu]': expected a Content object.", i);
        const char *role = jstr(c, "role");
        if (role && *role && strcmp(role, "user") && strcmp(role, "model"))
            return bad(v, 400, "Please use a valid role: user, model.");
        const json_t *parts = json_object_get(c, "parts");
        if (!json_array_size(parts))
            return bad(v, 400, "* %s.contents[%zu].parts: contents.parts must not be empty.\n",
                       where, i);
        json_array_foreach(parts, j, p) {
            if (!json_is_object(p) || !part_has_data(p))
                return bad(v, 400, "* %s.contents[%zu].parts[%zu].data: required oneof field "
                                   "'data' must have one initialized field\n", where, i, j);
            const json_t *fr = jget2(p, "functionResponse", "function_response");
            if (fr && !(jstr(fr, "name") && *jstr(fr, "name")))
                return bad(v, 400, "* %s.contents[%zu].parts[%zu].function_response.name: "
                                   "Name cannot be empty.\n", where, i, j);
            const json_t *fc = jget2(p, "functionCall", "function_call");
            if (fc && !(jstr(fc, "name") && *jstr(fc, "name")))
                return bad(v, 400, "* %s.contents[%zu].parts[%zu].function_call.name: "
                                   "Name cannot be empty.\n", where, i, j);
        }
    }
    return 0;
}

static int check_tools(const json_t *tools, const char *where, verdict *v)
{
    if (tools && !json_is_array(tools))
        return bad(v, 400, "Invalid JSON payload received. Invalid value at 'tools': "
                           "expected a list of Tool.");
    size_t i, j;
    json_t *tl, *d;
    json_array_foreach(tools, i, tl) {
        const json_t *decls = jget2(tl, "functionDeclarations", "function_declarations");
        if (decls && !json_is_array(decls))
            return bad(v, 400, "Invalid JSON payload received. Invalid value at "
                               "'tools[%zu].function_declarations'.", i);
        json_array_foreach(decls, j, d) {
            const char *name = jstr(d, "name");
            if (!fn_name_ok(name))
                return bad(v, 400,
                           "* %s.tools[%zu].function_declarations[%zu].name: Invalid function "
                           "name. Must start with a letter or an underscore. Must be "
                           "alphanumeric (a-z, A-Z, 0-9), underscores (_), dots (.), colons "
                           "(:), or dashes (-), with a maximum length of 64.\n", where, i, j);
            /* names are unique across every tool of the request */
            size_t k, l;
            json_t *t2, *d2;
            json_array_foreach(tools, k, t2) {
                json_array_foreach(jget2(t2, "functionDeclarations", "function_declarations"),
                                   l, d2) {
                    if ((k < i || (k == i && l < j)) && lo_str_eq(jstr(d2, "name"), name))
                        return bad(v, 400, "* %s.tools[%zu].function_declarations[%zu].name: "
                                           "Duplicate function declaration found: %.64s\n",
                                   where, i, j, name);
                }
            }
            const json_t *params = json_object_get(d, "parameters");
            const char *pt = jstr(params, "type");
            if (params && !json_is_null(params) &&
                (!json_is_object(params) || !pt || strcasecmp(pt, "object")))
                return bad(v, 400, "* %s.tools[%zu].function_declarations[%zu].parameters.type: "
                                   "must be OBJECT for function parameters, got %.40s\n",
                           where, i, j, pt ? pt : "none");
        }
    }
    return 0;
}

static int check_number(const json_t *cfg, const char *camel, const char *snake, double lo,
                        double hi, verdict *v)
{
    const json_t *n = jget2(cfg, camel, snake);
    if (!n || json_is_null(n))
        return 0;
    if (!json_is_number(n))
        return bad(v, 400, "Invalid JSON payload received. Invalid value at "
                           "'generation_config.%s': expected a number.", snake);
    double d = json_number_value(n);
    if (d < lo || d > hi)
        return bad(v, 400, "* GenerateContentRequest.generation_config.%s: %s must be in the "
                           "range [%g, %g]\n", snake, snake, lo, hi);
    return 0;
}

/* The request's fields: what the proto knows, in both spellings. An unknown
 * field is an error at the API, not ignored. */
static int check_fields(const json_t *b, verdict *v)
{
    static const char *const known[] = {
        "model", "contents", "tools", "toolConfig", "tool_config", "safetySettings",
        "safety_settings", "systemInstruction", "system_instruction", "generationConfig",
        "generation_config", "cachedContent", "cached_content", "generateContentRequest",
        "generate_content_request"};
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)b, k, val) {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0] && !ok; i++)
            ok = !strcmp(k, known[i]);
        if (!ok)
            return bad(v, 400, "Invalid JSON payload received. Unknown name \"%.60s\": "
                               "Cannot find field.", k);
    }
    return 0;
}

static int validate(const json_t *b, enum method m, verdict *v)
{
    if (check_fields(b, v))
        return -1;
    /* countTokens takes either contents or a whole generateContentRequest */
    const json_t *gcr = jget2(b, "generateContentRequest", "generate_content_request");
    if (m == M_COUNT && gcr)
        b = gcr;
    else if (m != M_COUNT && gcr)
        return bad(v, 400, "Invalid JSON payload received. Unknown name "
                           "\"generateContentRequest\": Cannot find field.");
    const char *where = m == M_COUNT && !gcr ? "CountTokensRequest" : "GenerateContentRequest";
    if (check_contents(json_object_get(b, "contents"), where, v) ||
        check_tools(json_object_get(b, "tools"), where, v))
        return -1;
    const json_t *si = jget2(b, "systemInstruction", "system_instruction");
    if (si && !json_is_object(si))
        return bad(v, 400, "Invalid JSON payload received. Invalid value at "
                           "'system_instruction': expected a Content object.");
    const json_t *gc = jget2(b, "generationConfig", "generation_config");
    if (gc && !json_is_object(gc))
        return bad(v, 400, "Invalid JSON payload received. Invalid value at "
                           "'generation_config'.");
    if (check_number(gc, "temperature", "temperature", 0, 2, v) ||
        check_number(gc, "topP", "top_p", 0, 1, v) ||
        check_number(gc, "maxOutputTokens", "max_output_tokens", 1, 1e12, v))
        return -1;
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

typedef struct view_store {
    lo_buf user, result;
    bool has_result;
    const char **tools;
} view_store;

static void view_build(const exch *x, const json_t *b, const char *model,
                       lo_twin_request_view *v, view_store *vs)
{
    lo_buf_init(&vs->user, 0);
    lo_buf_init(&vs->result, 0);
    vs->has_result = false;
    const json_t *contents = json_object_get(b, "contents");
    for (size_t i = json_array_size(contents); i-- > 0;) {
        const json_t *c = json_array_get(contents, i);
        if (lo_str_eq(jstr(c, "role"), "model"))
            continue;
        size_t j;
        json_t *p;
        json_array_foreach(json_object_get(c, "parts"), j, p)
            if (jstr(p, "text") && !json_is_true(json_object_get(p, "thought")))
                lo_buf_puts(&vs->user, jstr(p, "text"));
        break;
    }
    for (size_t i = json_array_size(contents); i-- > 0 && !vs->has_result;) {
        const json_t *parts = json_object_get(json_array_get(contents, i), "parts");
        for (size_t j = json_array_size(parts); j-- > 0;) {
            const json_t *fr = jget2(json_array_get(parts, j), "functionResponse",
                                     "function_response");
            if (fr) {
                const json_t *r = json_object_get(fr, "response");
                strings_of(r, &vs->result);
                if (!vs->result.len && r) {
                    char *s = json_dumps(r, JSON_COMPACT | JSON_ENCODE_ANY);
                    lo_buf_puts(&vs->result, s ? s : "");
                    free(s);
                }
                vs->has_result = true;
                break;
            }
        }
    }
    size_t nt = 0, k = 0, i, j;
    json_t *tl, *d;
    json_array_foreach(json_object_get(b, "tools"), i, tl)
        nt += json_array_size(jget2(tl, "functionDeclarations", "function_declarations"));
    vs->tools = nt ? lo_calloc(nt, sizeof *vs->tools) : NULL;
    json_array_foreach(json_object_get(b, "tools"), i, tl)
        json_array_foreach(jget2(tl, "functionDeclarations", "function_declarations"), j, d)
            if (vs->tools && jstr(d, "name"))
                vs->tools[k++] = jstr(d, "name");
    *v = (lo_twin_request_view){
        .path = x->req->path,
        .model = model,
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
        twin_prompt_add(p, c, NULL, TWIN_TOKENS_MESSAGE + tokens_parts(json_object_get(c, "parts")),
                        0);
}

static int64_t tokens_request(const json_t *b)
{
    twin_prompt p;
    twin_prompt_init(&p, NULL, NULL);
    prompt_gemini(b, &p);
    twin_prompt_release(&p);
    return p.total;
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

static const char *thinking_text(const json_t *reply)
{
    const json_t *th = json_object_get(reply, "thinking");
    return json_is_string(th) ? json_string_value(th) : jstr(th, "text");
}

typedef struct rendered {
    json_t *parts;   /* the candidate's parts, in order thought, text, calls */
    int64_t in, cached, candidates, thoughts;
    const char *finish;
    char rid[40];
    const char *model;
} rendered;

/* Where the signature goes, as the API places it: on the first function
 * call, else on the answer's text, else on the thought summary. */
static void render(const exch *x, const json_t *b, const json_t *r, const lo_llm_model *model,
                   rendered *out)
{
    const json_t *gc = jget2(b, "generationConfig", "generation_config");
    const json_t *tc = jget2(gc, "thinkingConfig", "thinking_config");
    bool include = json_is_true(jget2(tc, "includeThoughts", "include_thoughts"));
    const char *th = thinking_text(r);
    char sigbuf[64];
    const char *sig = jstr(json_object_get(r, "thinking"), "signature");
    if (th && !sig) {
        twin_id(sigbuf, sizeof sigbuf, "", "gemini-signature", (uint64_t)x->call, 44);
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
    twin_usage_resolve(x->t, r, &pr, &pol, &us);
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
    twin_id(out->rid, sizeof out->rid, "", "gemini-response", (uint64_t)x->call, 27);
    out->model = model->id;
}

static json_t *usage_obj(const rendered *rd, bool final)
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
static json_t *response_obj(const rendered *rd, json_t *parts, bool final)
{
    json_t *cand = json_pack("{s:{s:o, s:s}, s:i}", "content", "parts", parts, "role", "model",
                             "index", 0);
    if (final)
        json_object_set_new(cand, "finishReason", json_string(rd->finish));
    return json_pack("{s:[o], s:o, s:s, s:s}", "candidates", cand, "usageMetadata",
                     usage_obj(rd, final), "modelVersion", rd->model, "responseId", rd->rid);
}

/* Bytes of s to put in the next piece: at most size, never inside a UTF-8
 * character. */
static size_t piece(const char *s, size_t size)
{
    size_t n = strlen(s);
    if (n <= size)
        return n;
    size_t k = size;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return k ? k : size;
}

/* The stream's chunks: thought and text in pieces, each call whole; the last
 * chunk carries finishReason and the full usage. */
static json_t *stream_chunks(const rendered *rd)
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
            size_t k = piece(s, PIECE);
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
        json_array_append_new(out, response_obj(rd, json_incref(p), i + 1 == n));
    json_decref(chunks);
    return out;
}

/* ------------------------------------------------------------ JSON-array streams */

/* streamGenerateContent without alt=sse: one JSON array whose elements leave
 * as they are produced, with the tape's latency, drip and cut applied per
 * element (the SSE form goes through twin_send_events). */
struct afeed {
    char **parts;
    size_t n, next, off;
    int64_t due;
    long drip_ms;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void afeed_free(void *ud)
{
    struct afeed *f = ud;
    for (size_t i = 0; i < f->n; i++)
        free(f->parts[i]);
    free(f->parts);
    free(f);
}

static ssize_t afeed_produce(void *ud, char *buf, size_t max)
{
    struct afeed *f = ud;
    if (f->next >= f->n)
        return -1;
    if (now_ms() < f->due)
        return 0;
    const char *p = f->parts[f->next];
    size_t left = strlen(p) - f->off, k = left < max ? left : max;
    memcpy(buf, p + f->off, k);
    f->off += k;
    if (f->off == strlen(p)) {
        f->next++;
        f->off = 0;
        f->due = now_ms() + f->drip_ms;
    }
    return (ssize_t)k;
}

static void send_array(exch *x, json_t *chunks, const lo_tape_fault *f)
{
    size_t n = json_array_size(chunks);
    struct afeed *fd = lo_calloc(1, sizeof *fd);
    char **parts = lo_calloc(n ? n : 1, sizeof *parts);
    if (!fd || !parts) {
        free(fd);
        free(parts);
        send_error(x, 500, "out of memory in the twin");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *s = json_dumps(json_array_get(chunks, i), JSON_COMPACT);
        /* malformed: the second element (the first when alone) is cut in half */
        if (s && f->malformed && i == (n > 1 ? 1 : 0))
            s[strlen(s) / 2] = '\0';
        lo_buf b;
        lo_buf_init(&b, 0);
        lo_buf_puts(&b, i ? ",\r\n" : "[");
        lo_buf_puts(&b, s ? s : "{}");
        if (i + 1 == n)
            lo_buf_puts(&b, "]");
        free(s);
        parts[i] = lo_buf_steal(&b);
    }
    fd->parts = parts;
    fd->n = n;
    if (f->cut_after >= 0 && (size_t)f->cut_after < n)
        fd->n = (size_t)f->cut_after;
    for (size_t i = fd->n; i < n; i++)
        free(parts[i]);
    fd->due = now_ms() + f->latency_ms;
    fd->drip_ms = f->drip_ms;
    lo_http_stream(x->res, 200, "application/json; charset=UTF-8", afeed_produce, fd,
                   afeed_free);
}

static void send_sse(exch *x, json_t *chunks, const lo_tape_fault *f)
{
    size_t n = json_array_size(chunks);
    char **ev = lo_calloc(n ? n : 1, sizeof *ev);
    if (!ev) {
        send_error(x, 500, "out of memory in the twin");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *s = json_dumps(json_array_get(chunks, i), JSON_COMPACT);
        lo_buf b;
        lo_buf_init(&b, 0);
        lo_buf_printf(&b, "data: %s\r\n\r\n", s ? s : "{}");
        free(s);
        ev[i] = lo_buf_steal(&b);
    }
    twin_send_events(x->res, ev, n, f);
}

/* ------------------------------------------------------------ serving */

static bool looks_sse(const char *s)
{
    return lo_str_starts(s, "event:") || lo_str_starts(s, "data:") || lo_str_starts(s, ":");
}

static void serve_raw(exch *x, const lo_tape_entry *e)
{
    const char *s = json_string_value(e->raw);
    if (s && looks_sse(s)) {
        twin_send_raw_sse(x->res, s, &e->fault);
    } else if (s) {
        twin_send(x->res, 200, "application/json; charset=UTF-8", s, strlen(s), &e->fault);
    } else {
        char *d = json_dumps(e->raw, JSON_COMPACT | JSON_ENCODE_ANY);
        twin_send(x->res, 200, "application/json; charset=UTF-8", d ? d : "", d ? strlen(d) : 0,
                  &e->fault);
        free(d);
    }
    done(x);
}

static void serve_entry(exch *x, const json_t *b, const lo_llm_model *model, bool sse,
                        const lo_tape_entry *e)
{
    const lo_tape_fault *f = &e->fault;
    if (f->status) {
        send_error_full(x, f->status, fault_message(f->status), NULL, f);
        return;
    }
    x->status = 200;
    if (e->raw) {
        serve_raw(x, e);
        return;
    }
    rendered rd;
    render(x, b, e->reply, model, &rd);
    if (x->stream) {
        json_t *chunks = stream_chunks(&rd);
        if (sse)
            send_sse(x, chunks, f);
        else
            send_array(x, chunks, f);
        json_decref(chunks);
    } else {
        json_t *obj = response_obj(&rd, json_incref(rd.parts), true);
        char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        twin_send(x->res, 200, "application/json; charset=UTF-8", s ? s : "", s ? strlen(s) : 0,
                  f);
        free(s);
        json_decref(obj);
    }
    json_decref(rd.parts);
    done(x);
}

/* "/v1beta/models/NAME:METHOD" -> the model's catalog entry and the method;
 * answers the error itself and returns NULL when it cannot. */
static const lo_llm_model *resolve(exch *x, const char *rest, const char *method,
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
    exch x = {.t = ud, .req = req, .res = res};
    const char *rest = req->path + strlen("/v1beta/models/");
    const char *colon = strrchr(rest, ':');
    enum method m;
    if (colon && !strcmp(colon, ":generateContent"))
        m = M_GENERATE;
    else if (colon && !strcmp(colon, ":streamGenerateContent"))
        m = M_STREAM;
    else if (colon && !strcmp(colon, ":countTokens"))
        m = M_COUNT;
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
    verdict v = {0};
    if (validate(b, m, &v)) {
        send_error(&x, v.status, v.msg);
        json_decref(b);
        return;
    }
    if (m == M_COUNT) {
        const json_t *gcr = jget2(b, "generateContentRequest", "generate_content_request");
        int64_t n = tokens_request(gcr ? gcr : b);
        json_t *j = json_pack("{s:I, s:[{s:s, s:I}]}", "totalTokens", (json_int_t)n,
                              "promptTokensDetails", "modality", "TEXT", "tokenCount",
                              (json_int_t)n);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        lo_http_respond(res, 200, "application/json; charset=UTF-8", s, s ? strlen(s) : 0);
        free(s);
        json_decref(j);
        json_decref(b);
        x.status = 200;
        done(&x);
        return;
    }
    x.stream = m == M_STREAM;
    const char *alt = lo_http_query_param(req, "alt");
    bool sse = lo_str_eq(alt, "sse");
    x.call = atomic_fetch_add(&x.t->calls, 1) + 1;
    lo_twin_request_view view;
    view_store vs;
    view_build(&x, b, name, &view, &vs);
    char why[1500];
    const lo_tape_entry *e = lo_tape_match(x.t->tapes, x.t->n_tapes, &view, why, sizeof why);
    view_release(&vs);
    if (!e) {
        send_error(&x, 400, why);
    } else {
        x.entry = e;
        serve_entry(&x, b, model, sse, e);
    }
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

static void send_json(exch *x, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    lo_http_respond(x->res, 200, "application/json; charset=UTF-8", s, s ? strlen(s) : 0);
    free(s);
    json_decref(j);
    x->status = 200;
    done(x);
}

/* GET /v1beta/models: pageSize (default 50, at most 1000) and an opaque
 * pageToken (the next index, in base 10). */
static void h_models(const lo_http_request *req, lo_http_response *res, void *ud)
{
    exch x = {.t = ud, .req = req, .res = res};
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
    send_json(&x, j);
}

static void h_model(const lo_http_request *req, lo_http_response *res, void *ud)
{
    exch x = {.t = ud, .req = req, .res = res};
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
    send_json(&x, model_obj(m));
}

static void h_other(const lo_http_request *req, lo_http_response *res, void *ud)
{
    exch x = {.t = ud, .req = req, .res = res};
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
