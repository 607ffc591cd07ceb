/* The scripted provider for the LLM adapter tests (test_llm_anthropic.c,
 * test_llm_openai.c, test_llm_gemini.c): a real HTTP server on 127.0.0.1
 * whose handler records each request (body, path, query, the route's tag
 * and the request headers a test asked for) and answers the next scripted
 * reply, streams 7 bytes at a time so events split anywhere. The tests
 * read the recordings under S.mu. One server per test program. */
#ifndef LO_LLM_TESTSERVER_H
#define LO_LLM_TESTSERVER_H

#include <pthread.h>
#include <strings.h>
#include <sys/types.h>

#include "testutil.h"

#include "lightsout/http.h"
#include "lightsout/llm.h"

typedef struct reply {
    int status;
    const char *body;        /* NULL with stream: a stream that never says anything */
    const char *retry_after; /* NULL = no header */
    bool stream;             /* text/event-stream */
} reply;

#define MAX_REPLIES 8
#define TS_MAX_HEADERS 8

static struct {
    pthread_mutex_t mu;
    reply replies[MAX_REPLIES];
    int n_replies;
    int requests;                      /* answered so far */
    char *body, *path, *query, *route; /* of the last request; route = the route's tag */
    const char *record[TS_MAX_HEADERS]; /* request headers to keep */
    char *values[TS_MAX_HEADERS];
    const char *const *reply_headers;  /* name, value, ..., NULL: sent with every reply */
    lo_http_server *srv;
    char base[64];
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

static inline char *ts_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static inline void ts_forget(void)
{
    free(S.body);
    free(S.path);
    free(S.query);
    free(S.route);
    S.body = S.path = S.query = S.route = NULL;
    for (int i = 0; i < TS_MAX_HEADERS; i++) {
        free(S.values[i]);
        S.values[i] = NULL;
    }
}

/* The recorded value of request header name (one asked for at start), or
 * NULL when the last request had none. Call with S.mu held. */
static inline const char *ts_header(const char *name)
{
    for (int i = 0; i < TS_MAX_HEADERS && S.record[i]; i++)
        if (strcasecmp(S.record[i], name) == 0)
            return S.values[i];
    fail_msg("header %s is not recorded by this test server", name);
    return NULL;
}

/* The next n requests get r[0..n), the ones after that r[n-1]. */
static inline void script(int n, const reply *r)
{
    pthread_mutex_lock(&S.mu);
    for (int i = 0; i < n && i < MAX_REPLIES; i++)
        S.replies[i] = r[i];
    S.n_replies = n;
    S.requests = 0;
    ts_forget();
    pthread_mutex_unlock(&S.mu);
}

typedef struct ts_chunker {
    const char *data;
    size_t len, off;
} ts_chunker;

static inline ssize_t ts_produce(void *ud, char *buf, size_t max)
{
    ts_chunker *c = ud;
    if (c->off >= c->len)
        return -1;
    size_t n = c->len - c->off;
    if (n > 7)
        n = 7;
    if (n > max)
        n = max;
    memcpy(buf, c->data + c->off, n);
    c->off += n;
    return (ssize_t)n;
}

static inline ssize_t ts_idle(void *ud, char *buf, size_t max)
{
    (void)ud;
    (void)buf;
    (void)max;
    return 0;
}

static inline void ts_handler(const lo_http_request *req, lo_http_response *res, void *ud)
{
    pthread_mutex_lock(&S.mu);
    int i = S.requests < S.n_replies ? S.requests : S.n_replies - 1;
    S.requests++;
    reply r = S.replies[i < 0 ? 0 : i];
    ts_forget();
    S.body = strdup(req->body);
    S.path = strdup(req->path);
    S.query = strdup(req->query);
    S.route = ts_dup((const char *)ud);
    for (int h = 0; h < TS_MAX_HEADERS && S.record[h]; h++)
        S.values[h] = ts_dup(lo_http_header(req, S.record[h]));
    pthread_mutex_unlock(&S.mu);

    for (size_t h = 0; S.reply_headers && S.reply_headers[h]; h += 2)
        lo_http_add_header(res, S.reply_headers[h], S.reply_headers[h + 1]);
    if (r.retry_after)
        lo_http_add_header(res, "retry-after", r.retry_after);
    if (r.stream && !r.body) {
        lo_http_stream(res, r.status, "text/event-stream", ts_idle, NULL, NULL);
    } else if (r.stream) {
        ts_chunker *c = calloc(1, sizeof *c);
        c->data = r.body;
        c->len = strlen(r.body);
        lo_http_stream(res, r.status, "text/event-stream", ts_produce, c, free);
    } else {
        lo_http_respond(res, r.status, "application/json", r.body, strlen(r.body));
    }
}

/* Start the server. routes: POST pattern, tag, ..., NULL. record: request
 * header names to keep, NULL-terminated. reply_headers: name, value, ...,
 * NULL (may be NULL). S.base is http://127.0.0.1:PORT followed by suffix. */
static inline int ts_start(const char *const *routes, const char *const *record,
                           const char *const *reply_headers, const char *suffix)
{
    lo_error err;
    S.srv = lo_http_server_start(NULL, &err);
    if (!S.srv)
        return -1;
    for (size_t i = 0; routes[i]; i += 2)
        lo_http_route(S.srv, "POST", routes[i], ts_handler, (void *)routes[i + 1]);
    for (int i = 0; i < TS_MAX_HEADERS && record[i]; i++)
        S.record[i] = record[i];
    S.reply_headers = reply_headers;
    snprintf(S.base, sizeof S.base, "http://127.0.0.1:%d%s", lo_http_server_port(S.srv),
             suffix ? suffix : "");
    return 0;
}

static inline int ts_stop(void)
{
    lo_http_server_stop(S.srv);
    S.srv = NULL;
    script(0, NULL);
    return 0;
}

static inline int requests(void)
{
    pthread_mutex_lock(&S.mu);
    int n = S.requests;
    pthread_mutex_unlock(&S.mu);
    return n;
}

/* The last request body, parsed. */
static inline json_t *sent(void)
{
    pthread_mutex_lock(&S.mu);
    json_t *j = S.body ? json_loads(S.body, 0, NULL) : NULL;
    pthread_mutex_unlock(&S.mu);
    assert_non_null(j);
    return j;
}

static inline lo_llm_request *simple_request_for(const char *model, const char *text)
{
    lo_llm_request *r = lo_llm_request_new(model);
    assert_non_null(r);
    assert_int_equal(lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_USER, text)), 0);
    return r;
}

/* A tiny JSON path: "messages.2.content.0.type". */
static inline json_t *json_path(json_t *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok && j; tok = strtok_r(NULL, ".", &save)) {
        if (json_is_array(j))
            j = json_array_get(j, (size_t)atoi(tok));
        else
            j = json_object_get(j, tok);
    }
    return j;
}

static inline const char *path_str(json_t *root, const char *path)
{
    return json_string_value(json_path(root, path));
}

/* A client with one provider pointed at S.base, retries as given. */
static inline lo_llm_client *ts_client(const char *provider, const char *key, int max_retries,
                                       double base_delay)
{
    lo_llm_client *c = lo_llm_client_new();
    assert_non_null(c);
    lo_llm_provider_config cfg = {.provider = provider, .api_key = key, .base_url = S.base,
                                  .timeout_ms = 10000};
    lo_llm_error e;
    assert_int_equal(lo_llm_client_add_provider(c, &cfg, &e), 0);
    lo_llm_retry_policy p;
    lo_llm_retry_policy_init(&p);
    p.max_retries = max_retries;
    p.base_delay = base_delay;
    lo_llm_client_set_retry(c, &p);
    return c;
}

/* Stream events collected by ts_on_event. */
typedef struct ts_events {
    lo_buf text, args, reasoning;
    int n_start, n_text_start, n_text_end, n_call_start, n_call_end, n_finish, n_error;
    lo_llm_error_kind error_kind;
    char call_id[64], call_name[64], end_args[256];
    int64_t finish_input, finish_cached, finish_output;
    lo_llm_finish finish;
    const char *secret; /* must never appear in an error event */
} ts_events;

static inline void ts_events_init(ts_events *ev, const char *secret)
{
    memset(ev, 0, sizeof *ev);
    ev->secret = secret;
    lo_buf_init(&ev->text, 0);
    lo_buf_init(&ev->args, 0);
    lo_buf_init(&ev->reasoning, 0);
}

static inline void ts_events_release(ts_events *ev)
{
    lo_buf_release(&ev->text);
    lo_buf_release(&ev->args);
    lo_buf_release(&ev->reasoning);
}

static inline int ts_on_event(const lo_llm_stream_event *e, void *ud)
{
    ts_events *ev = ud;
    switch (e->type) {
    case LO_STREAM_START:
        ev->n_start++;
        break;
    case LO_STREAM_TEXT_START:
        ev->n_text_start++;
        break;
    case LO_STREAM_TEXT_DELTA:
        lo_buf_puts(&ev->text, e->delta);
        break;
    case LO_STREAM_TEXT_END:
        ev->n_text_end++;
        break;
    case LO_STREAM_REASONING_DELTA:
        lo_buf_puts(&ev->reasoning, e->reasoning_delta);
        break;
    case LO_STREAM_TOOL_CALL_START:
        ev->n_call_start++;
        snprintf(ev->call_id, sizeof ev->call_id, "%s", e->tool_call->id);
        snprintf(ev->call_name, sizeof ev->call_name, "%s", e->tool_call->name);
        break;
    case LO_STREAM_TOOL_CALL_DELTA:
        lo_buf_puts(&ev->args, e->delta);
        break;
    case LO_STREAM_TOOL_CALL_END:
        ev->n_call_end++;
        snprintf(ev->end_args, sizeof ev->end_args, "%s", e->tool_call->raw_arguments);
        break;
    case LO_STREAM_FINISH:
        ev->n_finish++;
        ev->finish = e->finish_reason.reason;
        ev->finish_input = e->usage.input_tokens;
        ev->finish_cached = e->usage.cache_read_tokens;
        ev->finish_output = e->usage.output_tokens;
        assert_non_null(e->response);
        break;
    case LO_STREAM_ERROR:
        ev->n_error++;
        ev->error_kind = e->error->kind;
        assert_null(strstr(e->error->message, ev->secret));
        break;
    default:
        break;
    }
    return 0;
}

#endif
