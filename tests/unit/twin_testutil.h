/* Helpers shared by the twin tests (tests/unit/test_twin*.c): starting an
 * in-process twin, one HTTP exchange with it through the real client, and
 * a request log to look at. Header-only: each test is one program. */
#ifndef LO_TWIN_TESTUTIL_H
#define LO_TWIN_TESTUTIL_H

#include <pthread.h>
#include <time.h>

#include "testutil.h"

#include "lightsout/http.h"
#include "lightsout/net.h"
#include "lightsout/twin.h"

static pthread_mutex_t TT_LOG_MU = PTHREAD_MUTEX_INITIALIZER;
static lo_buf TT_LOG; /* the twins' request lines, one a line */

static void tt_log_line(const char *line, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&TT_LOG_MU);
    lo_buf_puts(&TT_LOG, line);
    lo_buf_putc(&TT_LOG, '\n');
    pthread_mutex_unlock(&TT_LOG_MU);
}

static inline int64_t tt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start a twin for cfg with the test log; fails the test when it cannot. */
static inline lo_twin *tt_start_cfg(lo_twin_config cfg)
{
    if (!cfg.log)
        cfg.log = tt_log_line;
    lo_error err = {0};
    lo_twin *t = lo_twin_start(&cfg, &err);
    if (!t)
        fail_msg("lo_twin_start: %s", err.msg);
    return t;
}

static inline lo_twin *tt_start(const char *provider, lo_tape *const *tapes, size_t n,
                                const char *key)
{
    return tt_start_cfg((lo_twin_config){.provider = provider, .tapes = tapes, .n_tapes = n,
                                         .api_key = key});
}

/* One request to t: POST body to path (GET when body is NULL) with the
 * NULL-terminated headers; *json (when not NULL) gets the body parsed or
 * NULL. Returns the status; r must be released by the caller. */
static inline long tt_request(lo_twin *t, const char *path, const char *const *hdrs,
                              const char *body, lo_http_result *r, json_t **json)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", lo_twin_base_url(t), path);
    lo_http_call c = {.method = body ? "POST" : "GET", .url = url, .headers = hdrs,
                      .body = body, .body_len = body ? strlen(body) : 0, .timeout_ms = 20000};
    lo_error err = {0};
    if (lo_http_do(&c, r, &err) != 0)
        fail_msg("%s: %s", url, err.msg);
    if (json)
        *json = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    return r->status;
}

/* The same, for a body built with json_pack (consumed) and parsed answer. */
static inline long tt_post_json(lo_twin *t, const char *path, const char *const *hdrs,
                                json_t *body, json_t **json)
{
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    assert_non_null(s);
    lo_http_result r;
    long st = tt_request(t, path, hdrs, s, &r, json);
    free(s);
    lo_http_result_release(&r);
    return st;
}

static inline const char *tt_jstr(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

/* The integer at a dotted path ("usage.input_tokens"); -1 when absent. */
static inline long long tt_jint(const json_t *j, const char *path)
{
    char key[128];
    const char *p = path;
    while (j && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        j = json_is_array(j) ? json_array_get(j, (size_t)atoi(key)) : json_object_get(j, key);
        p += n + (dot ? 1 : 0);
    }
    return json_is_integer(j) ? (long long)json_integer_value(j) : -1;
}

/* ---- streams: every SSE event as {"event": type, "data": parsed or null} ---- */

typedef struct tt_stream {
    json_t *events;
    lo_sse *sse;
    int bad_json;    /* events whose data did not parse */
    int dangling;    /* lo_sse_finish: an event was cut off at the end */
    char ctype[128]; /* the response's content-type */
} tt_stream;

static int tt_on_event(const lo_sse_event *ev, void *ud)
{
    tt_stream *c = ud;
    json_t *d = json_loadb(ev->data, ev->data_len, 0, NULL);
    if (!d)
        c->bad_json++;
    json_array_append_new(c->events, json_pack("{s:s, s:o*}", "event", ev->type, "data", d));
    return 0;
}

static int tt_on_data(const char *buf, size_t len, void *ud)
{
    tt_stream *c = ud;
    return lo_sse_feed(c->sse, buf, len);
}

/* POST body to path and collect the SSE events into c (c->events to be
 * freed by the caller). Returns the status. */
static inline long tt_stream_post(lo_twin *t, const char *path, const char *const *hdrs,
                                  const char *body, tt_stream *c)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", lo_twin_base_url(t), path);
    c->events = json_array();
    c->bad_json = 0;
    c->sse = lo_sse_new(tt_on_event, c, 0);
    lo_http_call hc = {.url = url, .headers = hdrs, .body = body, .body_len = strlen(body),
                       .timeout_ms = 20000, .on_data = tt_on_data, .ud = c};
    lo_http_result r;
    lo_error err = {0};
    if (lo_http_do(&hc, &r, &err) != 0)
        fail_msg("%s: %s", url, err.msg);
    long status = r.status;
    snprintf(c->ctype, sizeof c->ctype, "%s",
             json_string_value(json_object_get(r.headers, "content-type"))
                 ? json_string_value(json_object_get(r.headers, "content-type"))
                 : "");
    c->dangling = lo_sse_finish(c->sse);
    lo_sse_free(c->sse);
    lo_http_result_release(&r);
    return status;
}

/* The data of the first event named type (or whose data.type is type). */
static inline json_t *tt_event(const tt_stream *c, const char *type)
{
    size_t i;
    json_t *e;
    json_array_foreach(c->events, i, e) {
        json_t *d = json_object_get(e, "data");
        if (lo_str_eq(tt_jstr(e, "event"), type) || lo_str_eq(tt_jstr(d, "type"), type))
            return d;
    }
    return NULL;
}

static inline json_t *tt_last_event(const tt_stream *c)
{
    return json_object_get(json_array_get(c->events, json_array_size(c->events) - 1), "data");
}

#endif
