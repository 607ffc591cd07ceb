/* Helpers shared by the LLM adapters: error filling, JSON building, base64
 * and media URLs, request headers, the HTTP POST, Retry-After and the
 * OpenAI conventions (rate-limit headers, error bodies) that openai.c and
 * openai_chat.c both follow. Declared in adapter_internal.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "adapter_internal.h"

/* ---- errors ---- */

int lo_llm_fail_(lo_llm_error *err, const char *provider, lo_llm_error_kind kind,
                 const char *fmt, ...)
{
    lo_llm_error_set(err, kind, provider, "%s", "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return kind == LO_LLM_ERR_ABORT ? LO_ECANCELED : kind == LO_LLM_ERR_CONFIGURATION ? LO_EINVAL
                                                                                      : LO_EIO;
}

int lo_llm_oom_(lo_llm_error *err, const char *provider)
{
    return lo_llm_fail_(err, provider, LO_LLM_ERR_PROVIDER, "out of memory"), LO_ENOMEM;
}

int lo_llm_transport_error_(int rc, const lo_error *he, lo_llm_error *err, const char *provider)
{
    if (rc == LO_ECANCELED)
        return lo_llm_fail_(err, provider, LO_LLM_ERR_ABORT, "cancelled");
    if (strstr(he->msg, "timed out"))
        return lo_llm_fail_(err, provider, LO_LLM_ERR_REQUEST_TIMEOUT, "%s", he->msg);
    if (rc == LO_ETOOBIG)
        return lo_llm_fail_(err, provider, LO_LLM_ERR_PROVIDER, "%s", he->msg);
    return lo_llm_fail_(err, provider, LO_LLM_ERR_NETWORK, "%s", he->msg);
}

void lo_llm_stream_error_event_(lo_llm_event_fn fn, void *ud, const lo_llm_error *err)
{
    lo_llm_stream_event *ev = lo_llm_stream_event_new(LO_STREAM_ERROR);
    if (ev && (ev->error = lo_malloc(sizeof *ev->error))) {
        *ev->error = *err;
        fn(ev, ud);
    }
    lo_llm_stream_event_free(ev);
}

/* ---- stream events ---- */

lo_llm_stream_event *lo_llm_event_new_(lo_llm_stream_event_type t, const json_t *raw)
{
    lo_llm_stream_event *ev = lo_llm_stream_event_new(t);
    if (ev && raw)
        ev->raw = json_deep_copy(raw);
    return ev;
}

lo_llm_stream_event *lo_llm_event_str_(lo_llm_stream_event_type t, const json_t *raw,
                                       size_t field, const char *s)
{
    lo_llm_stream_event *ev = lo_llm_event_new_(t, raw);
    if (!ev)
        return NULL;
    char **slot = (char **)((char *)ev + field);
    if ((raw && !ev->raw) || (s && !(*slot = lo_strdup(s)))) {
        lo_llm_stream_event_free(ev);
        return NULL;
    }
    return ev;
}

lo_llm_tool_call *lo_llm_tool_call_new_(const char *id, const char *name, const lo_buf *args,
                                        bool complete_args)
{
    lo_llm_tool_call *tc = lo_calloc(1, sizeof *tc);
    if (!tc)
        return NULL;
    tc->id = lo_strdup(id ? id : "");
    tc->name = lo_strdup(name ? name : "");
    if (complete_args) {
        const char *raw = args->len ? args->data : "{}";
        tc->raw_arguments = lo_strdup(raw);
        tc->arguments = json_loads(raw, 0, NULL);
        if (tc->arguments && !json_is_object(tc->arguments)) {
            json_decref(tc->arguments);
            tc->arguments = NULL;
        }
    }
    if (!tc->id || !tc->name || (complete_args && !tc->raw_arguments)) {
        json_decref(tc->arguments);
        free(tc->id);
        free(tc->name);
        free(tc->raw_arguments);
        free(tc);
        return NULL;
    }
    return tc;
}

/* ---- JSON ---- */

bool lo_llm_put_(json_t *o, const char *k, json_t *v)
{
    return v && json_object_set_new(o, k, v) == 0;
}

bool lo_llm_push_(json_t *a, json_t *v)
{
    return v && json_array_append_new(a, v) == 0;
}

bool lo_llm_push_if_(json_t *a, json_t *b, bool ok)
{
    if (!ok) {
        json_decref(b);
        return false;
    }
    return lo_llm_push_(a, b);
}

const char *lo_llm_jstr_(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

int64_t lo_llm_count_(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (int64_t)json_integer_value(v)
                                                           : LO_TOKENS_UNREPORTED;
}

bool lo_llm_index_(const json_t *data, const char *key, size_t max, size_t *i)
{
    json_t *v = json_object_get(data, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (size_t)json_integer_value(v) > max)
        return false;
    *i = (size_t)json_integer_value(v);
    return true;
}

void *lo_llm_grow_(void *arr, size_t *n, size_t elem, size_t i)
{
    if (i < *n)
        return arr;
    char *v = lo_realloc(arr, (i + 1) * elem);
    if (!v)
        return NULL;
    memset(v + *n * elem, 0, (i + 1 - *n) * elem);
    *n = i + 1;
    return v;
}

/* ---- response building ---- */

int lo_llm_message_add_other_(lo_llm_message *m, const char *name, const json_t *raw)
{
    if (m->n_parts == m->cap_parts) {
        size_t cap = m->cap_parts ? m->cap_parts * 2 : 4;
        lo_llm_part *v = lo_realloc(m->parts, cap * sizeof *v);
        if (!v)
            return LO_ENOMEM;
        m->parts = v;
        m->cap_parts = cap;
    }
    lo_llm_part *p = &m->parts[m->n_parts];
    memset(p, 0, sizeof *p);
    p->kind = LO_CONTENT_OTHER;
    p->other.name = lo_strdup(name ? name : "unknown");
    p->other.raw = json_deep_copy(raw);
    if (!p->other.name || !p->other.raw) {
        lo_llm_part_release(p);
        return LO_ENOMEM;
    }
    m->n_parts++;
    return 0;
}

int lo_llm_set_ids_(lo_llm_response *r, const json_t *obj, const char *provider)
{
    free(r->id);
    free(r->model);
    free(r->provider);
    const char *id = lo_llm_jstr_(obj, "id"), *model = lo_llm_jstr_(obj, "model");
    r->id = id ? lo_strdup(id) : NULL;
    r->model = model ? lo_strdup(model) : NULL;
    r->provider = lo_strdup(provider);
    return r->provider && (r->id || !id) && (r->model || !model) ? 0 : LO_ENOMEM;
}

int lo_llm_set_finish_(lo_llm_response *r, const char *provider, const char *raw)
{
    free(r->finish.raw);
    r->finish.raw = NULL;
    r->finish.reason = lo_llm_finish_from_provider(provider, raw);
    if (raw && !(r->finish.raw = lo_strdup(raw)))
        return LO_ENOMEM;
    return 0;
}

void lo_llm_keep_request_id_(json_t *raw, const json_t *hdrs, const char *header)
{
    const char *rid = lo_llm_jstr_(hdrs, header);
    if (json_is_object(raw) && rid)
        json_object_set_new(raw, "_request_id", json_string(rid));
}

const char *lo_llm_quote_body_(const lo_http_result *res, char *text, size_t n)
{
    size_t len = res->body.len < n - 1 ? res->body.len : n - 1;
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)res->body.data[i];
        text[j++] = ch < 0x20 ? ' ' : (char)ch;
    }
    text[j] = 0;
    return j ? text : "no error body";
}

/* ---- media ---- */

char *lo_llm_base64_encode_(const unsigned char *in, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = lo_malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = 0;
    return out;
}

const char *lo_llm_guess_type_(const char *path, lo_llm_content_kind kind)
{
    const char *dot = strrchr(path, '.');
    static const struct {
        const char *ext, *type;
    } map[] = {{".png", "image/png"},   {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"},
               {".gif", "image/gif"},   {".webp", "image/webp"}, {".pdf", "application/pdf"},
               {".txt", "text/plain"},  {".md", "text/plain"}};
    for (size_t i = 0; dot && i < sizeof map / sizeof *map; i++)
        if (strcasecmp(dot, map[i].ext) == 0)
            return map[i].type;
    return kind == LO_CONTENT_DOCUMENT ? "application/pdf" : "image/png";
}

/* The URL to send for m: its own URL, or a data: URL built from inline
 * data or a local file. Caller frees; NULL with *rc set on failure. */
char *lo_llm_media_url_(const lo_llm_media *m, lo_llm_content_kind kind, lo_llm_error *err,
                        int *rc, const char *provider)
{
    if (m->url) {
        char *u = lo_strdup(m->url);
        if (!u)
            *rc = lo_llm_oom_(err, provider);
        return u;
    }
    const char *type = m->media_type ? m->media_type
                                     : kind == LO_CONTENT_DOCUMENT ? "application/pdf"
                                                                   : "image/png";
    char *data = NULL;
    const char *b64 = m->data;
    if (m->path) {
        char *bytes = NULL;
        size_t len = 0;
        lo_error fe;
        if (lo_file_read(m->path, 0, &bytes, &len, &fe) != 0) {
            *rc = lo_llm_fail_(err, provider, LO_LLM_ERR_INVALID_REQUEST, "%s", fe.msg);
            return NULL;
        }
        data = lo_llm_base64_encode_((const unsigned char *)bytes, len);
        free(bytes);
        if (!data)
            return *rc = lo_llm_oom_(err, provider), NULL;
        b64 = data;
        if (!m->media_type)
            type = lo_llm_guess_type_(m->path, kind);
    }
    size_t n = strlen(type) + strlen(b64 ? b64 : "") + 16;
    char *u = lo_malloc(n);
    if (u)
        snprintf(u, n, "data:%s;base64,%s", type, b64 ? b64 : "");
    else
        *rc = lo_llm_oom_(err, provider);
    free(data);
    return u;
}

/* ---- HTTP ---- */

bool lo_llm_caller_sets_(const char *const *extra, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; extra && extra[i]; i++)
        if (strncasecmp(extra[i], name, n) == 0 && extra[i][n] == ':')
            return true;
    return false;
}

bool lo_llm_header_add_(lo_llm_headers_ *h, const char *const *extra, const char *name,
                        const char *value)
{
    if (lo_llm_caller_sets_(extra, name) || h->n + 1 >= sizeof h->v / sizeof *h->v)
        return true;
    size_t len = strlen(name) + strlen(value) + 3;
    char *s = lo_malloc(len);
    if (!s)
        return false;
    snprintf(s, len, "%s: %s", name, value);
    h->v[h->n++] = s;
    return true;
}

void lo_llm_headers_release_(lo_llm_headers_ *h)
{
    for (size_t i = 0; i < h->n; i++) {
        /* One of these holds the API key: wipe it before it is freed. */
        memset(h->v[i], 0, strlen(h->v[i]));
        free(h->v[i]);
    }
    h->n = 0;
}

int lo_llm_http_post_(const lo_llm_call *call, const char *url, const char *const *ours,
                      size_t n_ours, const char *text, int (*on_data)(const char *, size_t, void *),
                      void *ud, lo_http_result *res, lo_error *he)
{
    /* Ours first, then the caller's extras, then the terminator. */
    const char *all[64];
    size_t n = 0;
    for (size_t i = 0; i < n_ours; i++)
        all[n++] = ours[i];
    for (size_t i = 0; call->headers && call->headers[i] && n < 63; i++)
        all[n++] = call->headers[i];
    all[n] = NULL;
    lo_http_call hc = {
        .method = "POST",
        .url = url,
        .headers = all,
        .body = text,
        .body_len = strlen(text),
        .timeout_ms = call->timeout_ms,
        .connect_timeout_ms = call->connect_timeout_ms,
        .on_data = on_data,
        .ud = ud,
        .cancel = call->cancel,
    };
    return lo_http_do(&hc, res, he);
}

double lo_llm_parse_retry_after_(const char *v)
{
    double s;
    if (!v)
        return -1;
    while (*v == ' ')
        v++;
    if (lo_parse_double(v, &s) == 0)
        return s >= 0 ? s : -1;
    time_t t = curl_getdate(v, NULL);
    if (t == (time_t)-1)
        return -1;
    double d = difftime(t, time(NULL));
    return d > 0 ? d : 0;
}

int64_t lo_llm_header_int_(const json_t *hdrs, const char *name)
{
    int64_t v;
    const char *s = lo_llm_jstr_(hdrs, name);
    return s && lo_parse_int64(s, &v) == 0 ? v : -1;
}

/* ---- OpenAI conventions ---- */

bool lo_llm_openai_headers_(lo_llm_headers_ *h, const lo_llm_call *call, bool streaming,
                            bool openai_ids)
{
    memset(h, 0, sizeof *h);
    /* OpenAI's organization and project ids are for OpenAI only: a
     * compatible server has no use for them and should not learn them. */
    const char *org = openai_ids ? getenv("OPENAI_ORG_ID") : NULL;
    const char *project = openai_ids ? getenv("OPENAI_PROJECT_ID") : NULL;
    char *auth = NULL;
    if (*call->api_key) {
        size_t n = strlen(call->api_key) + 8;
        if (!(auth = lo_malloc(n)))
            return false;
        snprintf(auth, n, "Bearer %s", call->api_key);
    }
    bool ok = (!auth || lo_llm_header_add_(h, call->headers, "Authorization", auth)) &&
              lo_llm_header_add_(h, call->headers, "Content-Type", "application/json") &&
              lo_llm_header_add_(h, call->headers, "Accept",
                                 streaming ? "text/event-stream" : "application/json") &&
              (!org || !*org ||
               lo_llm_header_add_(h, call->headers, "OpenAI-Organization", org)) &&
              (!project || !*project ||
               lo_llm_header_add_(h, call->headers, "OpenAI-Project", project));
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    if (!ok) {
        lo_llm_headers_release_(h);
        return false;
    }
    return true;
}

/* OpenAI's reset durations, "1s", "6m0s", "20ms", "1h2m3.5s" -> ms; -1
 * when unreadable. */
static int64_t parse_duration_ms(const char *v)
{
    if (!v || !*v)
        return -1;
    double total = 0;
    const char *p = v;
    while (*p) {
        char *end;
        double x = strtod(p, &end);
        if (end == p)
            return -1;
        p = end;
        if (strncmp(p, "ms", 2) == 0) {
            total += x;
            p += 2;
        } else if (*p == 'h') {
            total += x * 3600000;
            p++;
        } else if (*p == 'm') {
            total += x * 60000;
            p++;
        } else if (*p == 's') {
            total += x * 1000;
            p++;
        } else {
            return -1;
        }
    }
    return (int64_t)total;
}

/* x-ratelimit-* headers -> rate_limit; the reset time is the earlier of
 * the request and token windows, from now. */
void lo_llm_openai_rate_limit_(const json_t *hdrs, lo_llm_response *r)
{
    lo_llm_rate_limit *rl = &r->rate_limit;
    rl->requests_limit = lo_llm_header_int_(hdrs, "x-ratelimit-limit-requests");
    rl->requests_remaining = lo_llm_header_int_(hdrs, "x-ratelimit-remaining-requests");
    rl->tokens_limit = lo_llm_header_int_(hdrs, "x-ratelimit-limit-tokens");
    rl->tokens_remaining = lo_llm_header_int_(hdrs, "x-ratelimit-remaining-tokens");
    int64_t a = parse_duration_ms(lo_llm_jstr_(hdrs, "x-ratelimit-reset-requests"));
    int64_t b = parse_duration_ms(lo_llm_jstr_(hdrs, "x-ratelimit-reset-tokens"));
    int64_t d = a < 0 ? b : b < 0 ? a : a < b ? a : b;
    if (d >= 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        d += (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    rl->reset_at_ms = d;
    r->has_rate_limit = rl->requests_limit >= 0 || rl->requests_remaining >= 0 ||
                        rl->tokens_limit >= 0 || rl->tokens_remaining >= 0 ||
                        rl->reset_at_ms >= 0;
}

/* Refine the status-based kind with OpenAI's error codes, which say more
 * than the status: a 429 may be an exhausted quota, a 400 an overlong
 * prompt. */
void lo_llm_openai_refine_kind_(lo_llm_error *e, const char *code)
{
    if (!code)
        return;
    lo_llm_error_kind k = e->kind;
    if (strcmp(code, "insufficient_quota") == 0)
        k = LO_LLM_ERR_QUOTA_EXCEEDED;
    else if (strcmp(code, "context_length_exceeded") == 0)
        k = LO_LLM_ERR_CONTEXT_LENGTH;
    else if (strcmp(code, "content_filter") == 0 || strcmp(code, "content_policy_violation") == 0)
        k = LO_LLM_ERR_CONTENT_FILTER;
    else if (strcmp(code, "rate_limit_exceeded") == 0)
        k = LO_LLM_ERR_RATE_LIMIT;
    else if (strcmp(code, "server_error") == 0)
        k = LO_LLM_ERR_SERVER;
    if (k != e->kind) {
        e->kind = k;
        e->retryable = lo_llm_error_kind_retryable(k);
    }
}

/* §7.6: an HTTP error response -> the taxonomy. */
int lo_llm_openai_http_error_(const lo_http_result *res, lo_llm_error *err, const char *provider)
{
    json_t *body = res->body.len ? json_loadb(res->body.data, res->body.len, 0, NULL) : NULL;
    json_t *e = json_object_get(body, "error");
    /* Some compatible servers put a bare string in "error". */
    const char *msg = json_is_string(e) ? json_string_value(e) : lo_llm_jstr_(e, "message");
    const char *type = lo_llm_jstr_(e, "type");
    const char *code = lo_llm_jstr_(e, "code");
    const char *param = lo_llm_jstr_(e, "param");
    char text[300];
    if (!msg)
        msg = lo_llm_quote_body_(res, text, sizeof text);
    lo_llm_error_from_http(err, provider, (int)res->status, code ? code : type, msg);
    lo_llm_openai_refine_kind_(err, code);
    err->retry_after = lo_llm_parse_retry_after_(lo_llm_jstr_(res->headers, "retry-after"));
    const char *rid = lo_llm_jstr_(res->headers, "x-request-id");
    size_t used = strlen(err->message);
    snprintf(err->message + used, sizeof err->message - used, " (HTTP %ld%s%s%s%s%s%s)",
             res->status, type ? " " : "", type ? type : "", param ? ", param " : "",
             param ? param : "", rid ? ", request_id " : "", rid ? rid : "");
    json_decref(body);
    return LO_EIO;
}

