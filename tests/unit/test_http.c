/* Unit tests for the HTTP server (src/net/http_server.c) and client
 * (src/net/http_client.c): real sockets on 127.0.0.1, ephemeral ports, the
 * client talking to the server. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "lightsout/http.h"

/* ------------------------------------------------------------ helpers */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Wait up to ms for *flag. */
static bool wait_flag(atomic_bool *flag, int64_t ms)
{
    int64_t end = now_ms() + ms;
    while (!atomic_load(flag)) {
        if (now_ms() > end)
            return false;
        sleep_ms(5);
    }
    return true;
}

/* What the handlers share with the tests. */
struct probe {
    atomic_bool freed;  /* a stream's free_fn ran */
    atomic_int zeros;   /* times a producer answered 0 */
    atomic_int started; /* streams started */
    pthread_mutex_t mu;
    lo_buf log;         /* lines from cfg.log */
};

static struct probe P;

static void probe_reset(void)
{
    atomic_store(&P.freed, false);
    atomic_store(&P.zeros, 0);
    atomic_store(&P.started, 0);
    pthread_mutex_lock(&P.mu);
    lo_buf_clear(&P.log);
    pthread_mutex_unlock(&P.mu);
}

static void log_line(const char *line, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&P.mu);
    lo_buf_puts(&P.log, line);
    lo_buf_putc(&P.log, '\n');
    pthread_mutex_unlock(&P.mu);
}

static bool log_has(const char *needle)
{
    pthread_mutex_lock(&P.mu);
    bool yes = P.log.data && strstr(P.log.data, needle);
    pthread_mutex_unlock(&P.mu);
    return yes;
}

/* ------------------------------------------------------------ handlers */

static void h_hello(const lo_http_request *req, lo_http_response *res, void *ud)
{
    (void)req;
    (void)ud;
    lo_http_respond(res, 200, "text/plain", "hello", 5);
}

static void h_echo(const lo_http_request *req, lo_http_response *res, void *ud)
{
    (void)ud;
    char n[32];
    snprintf(n, sizeof n, "%zu", req->body_len);
    lo_http_add_header(res, "X-Echo-Len", n);
    const char *ct = lo_http_header(req, "content-type");
    lo_http_respond(res, 200, ct ? ct : "application/octet-stream", req->body, req->body_len);
}

static void h_method(const lo_http_request *req, lo_http_response *res, void *ud)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    lo_buf_printf(&b, "%s %s %s", (const char *)ud, req->method, req->path);
    lo_http_respond(res, 200, "text/plain", b.data, b.len);
    lo_buf_release(&b);
}

static void h_headers(const lo_http_request *req, lo_http_response *res, void *ud)
{
    (void)ud;
    const char *k = lo_http_header(req, "X-API-KEY");   /* sent as x-api-key */
    const char *k2 = lo_http_header(req, "x-api-key");
    const char *none = lo_http_header(req, "X-Absent");
    char body[256];
    snprintf(body, sizeof body, "%s|%s|%s", k ? k : "(null)", k2 ? k2 : "(null)",
             none ? none : "(null)");
    int bad = lo_http_add_header(res, "X-Bad", "a\r\nInjected: 1");
    int bad2 = lo_http_add_header(res, "X Bad", "a");
    lo_http_add_header(res, "X-Reply-Token", "yes");
    lo_http_add_header(res, "X-Dup", "1");
    lo_http_add_header(res, "X-Dup", "2");
    lo_http_add_header(res, "X-Bad-Rc", bad == LO_EINVAL && bad2 == LO_EINVAL ? "einval" : "other");
    lo_http_respond(res, 201, "text/plain", body, strlen(body));
}

static void h_query(const lo_http_request *req, lo_http_response *res, void *ud)
{
    (void)ud;
    const char *a = lo_http_query_param(req, "a");
    const char *b = lo_http_query_param(req, "b");
    const char *f = lo_http_query_param(req, "flag");
    const char *z = lo_http_query_param(req, "zzz");
    char body[512];
    snprintf(body, sizeof body, "raw=%s a=%s b=%s flag=%s zzz=%s", req->query, a ? a : "(null)",
             b ? b : "(null)", f ? f : "(null)", z ? z : "(null)");
    lo_http_respond(res, 200, "text/plain", body, strlen(body));
}

static void h_sleep(const lo_http_request *req, lo_http_response *res, void *ud)
{
    (void)req;
    (void)ud;
    sleep_ms(500);
    lo_http_respond(res, 200, "text/plain", "late", 4);
}

static void h_nothing(const lo_http_request *req, lo_http_response *res, void *ud)
{
    (void)req;
    (void)res;
    (void)ud; /* answers nothing: the server must send 500 */
}

/* SSE: 200 events, one per producer call; before events 0, 50, 100, 150
 * the producer says "not yet" three times. */
#define SSE_EVENTS 200
struct sse_state {
    int next;
    int zeros_left;
};

static int sse_event(char *buf, size_t max, int i)
{
    return snprintf(buf, max, "event: tick\ndata: {\"i\":%d,\"pad\":\"%0*d\"}\n\n", i, 1 + i % 40, 0);
}

static ssize_t sse_produce(void *ud, char *buf, size_t max)
{
    struct sse_state *st = ud;
    if (st->next >= SSE_EVENTS)
        return -1;
    if (st->zeros_left > 0) {
        st->zeros_left--;
        atomic_fetch_add(&P.zeros, 1);
        return 0;
    }
    int n = sse_event(buf, max, st->next);
    if (n < 0 || (size_t)n >= max)
        return -1;
    st->next++;
    if (st->next % 50 == 0)
        st->zeros_left = 3;
    return n;
}

static void stream_free(void *ud)
{
    free(ud);
    atomic_store(&P.freed, true);
}

static void h_sse(const lo_http_request *req, lo_http_response *res, void *ud)
{
    (void)req;
    (void)ud;
    struct sse_state *st = calloc(1, sizeof *st);
    st->zeros_left = 3;
    atomic_fetch_add(&P.started, 1);
    lo_http_stream(res, 200, "text/event-stream", sse_produce, st, stream_free);
}

/* Endless stream of 1 KB events. */
static ssize_t endless_produce(void *ud, char *buf, size_t max)
{
    (void)ud;
    size_t n = max < 1024 ? max : 1024;
    memset(buf, 'x', n);
    memcpy(buf, "data: ", 6);
    buf[n - 2] = '\n';
    buf[n - 1] = '\n';
    return (ssize_t)n;
}

static void h_endless(const lo_http_request *req, lo_http_response *res, void *ud)
{
    (void)req;
    (void)ud;
    atomic_fetch_add(&P.started, 1);
    lo_http_stream(res, 200, "text/event-stream", endless_produce, malloc(16), stream_free);
}

/* A stream that never has data. */
static ssize_t idle_produce(void *ud, char *buf, size_t max)
{
    (void)ud;
    (void)buf;
    (void)max;
    atomic_fetch_add(&P.zeros, 1);
    return 0;
}

static void h_idle(const lo_http_request *req, lo_http_response *res, void *ud)
{
    (void)req;
    (void)ud;
    atomic_fetch_add(&P.started, 1);
    lo_http_stream(res, 200, "text/event-stream", idle_produce, malloc(16), stream_free);
}

/* A handler that starts a stream then changes its mind: the first ud must
 * be freed at once. */
static void h_replace(const lo_http_request *req, lo_http_response *res, void *ud)
{
    (void)req;
    (void)ud;
    lo_http_stream(res, 200, "text/event-stream", idle_produce, malloc(16), stream_free);
    lo_http_respond(res, 200, "text/plain", "replaced", 8);
}

/* ------------------------------------------------------------ fixtures */

static lo_http_server *start(size_t max_body)
{
    lo_http_config cfg = {0};
    cfg.max_body = max_body;
    cfg.log = log_line;
    lo_error err = {0};
    lo_http_server *s = lo_http_server_start(&cfg, &err);
    if (!s)
        fail_msg("server start: %s", err.msg);
    /* Routes after start: the table is lock-protected. */
    assert_int_equal(lo_http_route(s, "GET", "/hello", h_hello, NULL), 0);
    assert_int_equal(lo_http_route(s, "POST", "/echo", h_echo, NULL), 0);
    assert_int_equal(lo_http_route(s, "PUT", "/echo", h_echo, NULL), 0);
    assert_int_equal(lo_http_route(s, "GET", "/thing", h_method, "get"), 0);
    assert_int_equal(lo_http_route(s, "POST", "/thing", h_method, "post"), 0);
    assert_int_equal(lo_http_route(s, "*", "/any", h_method, "any"), 0);
    assert_int_equal(lo_http_route(s, "POST", "/v1beta/models/*", h_method, "models"), 0);
    assert_int_equal(lo_http_route(s, "POST", "/v1beta/models/special", h_method, "never"), 0);
    assert_int_equal(lo_http_route(s, "GET", "/headers", h_headers, NULL), 0);
    assert_int_equal(lo_http_route(s, "GET", "/query", h_query, NULL), 0);
    assert_int_equal(lo_http_route(s, "GET", "/sleep", h_sleep, NULL), 0);
    assert_int_equal(lo_http_route(s, "GET", "/nothing", h_nothing, NULL), 0);
    assert_int_equal(lo_http_route(s, "GET", "/sse", h_sse, NULL), 0);
    assert_int_equal(lo_http_route(s, "GET", "/endless", h_endless, NULL), 0);
    assert_int_equal(lo_http_route(s, "GET", "/idle", h_idle, NULL), 0);
    assert_int_equal(lo_http_route(s, "GET", "/replace", h_replace, NULL), 0);
    assert_int_equal(lo_http_route(s, "GET", "", h_hello, NULL), LO_EINVAL);
    assert_true(lo_http_server_port(s) > 0);
    return s;
}

static const char *url(lo_http_server *s, const char *path)
{
    static _Thread_local char buf[4][512];
    static _Thread_local int k;
    char *p = buf[k++ % 4];
    snprintf(p, sizeof buf[0], "http://127.0.0.1:%d%s", lo_http_server_port(s), path);
    return p;
}

/* One call; fails the test on a transport error. */
static void do_ok(const lo_http_call *c, lo_http_result *r)
{
    lo_error err = {0};
    int rc = lo_http_do(c, r, &err);
    if (rc != 0)
        fail_msg("%s %s: %d %s", c->method ? c->method : "GET", c->url, rc, err.msg);
}

static const char *hdr(const lo_http_result *r, const char *name)
{
    return json_string_value(json_object_get(r->headers, name));
}

static void setup_probe(void)
{
    probe_reset();
}

/* ------------------------------------------------------------ tests */

static void test_get_post_routing(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(0);
    lo_http_result r;

    lo_http_call c = {.url = url(s, "/hello")};
    do_ok(&c, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "hello");
    assert_string_equal(hdr(&r, "content-type"), "text/plain");
    assert_true(r.total_s > 0);
    lo_http_result_release(&r);

    c = (lo_http_call){.url = url(s, "/thing")};
    do_ok(&c, &r);
    assert_string_equal(r.body.data, "get GET /thing");
    lo_http_result_release(&r);

    c = (lo_http_call){.method = "POST", .url = url(s, "/thing"), .body = "x", .body_len = 1};
    do_ok(&c, &r);
    assert_string_equal(r.body.data, "post POST /thing");
    lo_http_result_release(&r);

    /* A body with no method given means POST. */
    c = (lo_http_call){.url = url(s, "/thing"), .body = "", .body_len = 0};
    do_ok(&c, &r);
    assert_string_equal(r.body.data, "post POST /thing");
    lo_http_result_release(&r);

    c = (lo_http_call){.method = "DELETE", .url = url(s, "/any")};
    do_ok(&c, &r);
    assert_string_equal(r.body.data, "any DELETE /any");
    lo_http_result_release(&r);

    c = (lo_http_call){.method = "PUT", .url = url(s, "/echo"), .body = "put-body", .body_len = 8};
    do_ok(&c, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "put-body");
    lo_http_result_release(&r);

    /* The request line was logged: METHOD PATH STATUS BYTES MS. */
    lo_http_server_stop(s);
    assert_true(log_has("GET /hello 200 5 "));
    assert_true(log_has("DELETE /any 200 15 "));
}

static void test_prefix_and_404(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(0);
    lo_http_result r;

    lo_http_call c = {.method = "POST", .url = url(s, "/v1beta/models/gemini-2.5:streamGenerateContent"),
                      .body = "{}", .body_len = 2};
    do_ok(&c, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "models POST /v1beta/models/gemini-2.5:streamGenerateContent");
    lo_http_result_release(&r);

    /* First match wins: the earlier prefix route shadows the exact one. */
    c.url = url(s, "/v1beta/models/special");
    do_ok(&c, &r);
    assert_string_equal(r.body.data, "models POST /v1beta/models/special");
    lo_http_result_release(&r);

    /* The prefix itself without the trailing part still matches; less does not. */
    c.url = url(s, "/v1beta/models/");
    do_ok(&c, &r);
    assert_int_equal(r.status, 200);
    lo_http_result_release(&r);
    c.url = url(s, "/v1beta/models");
    do_ok(&c, &r);
    assert_int_equal(r.status, 404);
    lo_http_result_release(&r);

    /* Unknown path, and a known path with the wrong method. */
    c = (lo_http_call){.url = url(s, "/nope")};
    do_ok(&c, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body.data, "{\"error\":\"not found\"}");
    assert_string_equal(hdr(&r, "content-type"), "application/json");
    lo_http_result_release(&r);
    c = (lo_http_call){.method = "DELETE", .url = url(s, "/hello")};
    do_ok(&c, &r);
    assert_int_equal(r.status, 404);
    lo_http_result_release(&r);

    /* A handler that answers nothing gets a 500. */
    c = (lo_http_call){.url = url(s, "/nothing")};
    do_ok(&c, &r);
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body.data, "error"));
    lo_http_result_release(&r);

    /* Percent-encoded paths are decoded before routing. */
    c = (lo_http_call){.url = url(s, "/hell%6F")};
    do_ok(&c, &r);
    assert_int_equal(r.status, 200);
    lo_http_result_release(&r);

    lo_http_server_stop(s);
    assert_true(log_has("GET /nope 404 "));
}

static void test_headers_both_ways(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(0);
    const char *hs[] = {"x-api-key: sk-test-123", "Accept: text/plain", NULL};
    lo_http_call c = {.url = url(s, "/headers"), .headers = hs};
    lo_http_result r;
    do_ok(&c, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body.data, "sk-test-123|sk-test-123|(null)");
    /* Response header names arrive lowercased; the last of a repeated one wins. */
    assert_string_equal(hdr(&r, "x-reply-token"), "yes");
    assert_string_equal(hdr(&r, "x-dup"), "2");
    assert_string_equal(hdr(&r, "x-bad-rc"), "einval");
    assert_null(hdr(&r, "x-bad"));
    assert_null(hdr(&r, "injected"));
    assert_non_null(hdr(&r, "content-length"));
    lo_http_result_release(&r);
    lo_http_server_stop(s);
}

static void test_query_params(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(0);
    lo_http_call c = {.url = url(s, "/query?a=1&b=hello%20world&flag")};
    lo_http_result r;
    do_ok(&c, &r);
    assert_string_equal(r.body.data, "raw=a=1&b=hello%20world&flag a=1 b=hello world flag= zzz=(null)");
    lo_http_result_release(&r);

    c.url = url(s, "/query");
    do_ok(&c, &r);
    assert_string_equal(r.body.data, "raw= a=(null) b=(null) flag=(null) zzz=(null)");
    lo_http_result_release(&r);
    lo_http_server_stop(s);
}

static void test_post_1mib_echo(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(0);
    size_t n = (size_t)1 << 20;
    char *body = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        body[i] = (char)(x >> 16); /* binary, NUL bytes included */
    }
    const char *hs[] = {"Content-Type: application/x-test", NULL};
    lo_http_call c = {.method = "POST", .url = url(s, "/echo"), .headers = hs, .body = body,
                      .body_len = n};
    lo_http_result r;
    do_ok(&c, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, n);
    assert_memory_equal(r.body.data, body, n);
    assert_string_equal(hdr(&r, "x-echo-len"), "1048576");
    assert_string_equal(hdr(&r, "content-type"), "application/x-test");
    lo_http_result_release(&r);

    /* The same through a response cap: LO_ETOOBIG. */
    c.max_response = 1000;
    lo_error err = {0};
    assert_int_equal(lo_http_do(&c, &r, &err), LO_ETOOBIG);
    assert_non_null(strstr(err.msg, "1000"));
    lo_http_result_release(&r);
    free(body);
    lo_http_server_stop(s);
}

static void test_body_over_limit_413(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(1000);
    char body[5000];
    memset(body, 'b', sizeof body);
    lo_http_call c = {.method = "POST", .url = url(s, "/echo"), .body = body, .body_len = sizeof body};
    lo_http_result r;
    do_ok(&c, &r);
    assert_int_equal(r.status, 413);
    assert_string_equal(hdr(&r, "content-type"), "application/json");
    json_t *j = json_loadb(r.body.data, r.body.len, 0, NULL);
    assert_non_null(j);
    assert_non_null(json_string_value(json_object_get(j, "error")));
    json_decref(j);
    lo_http_result_release(&r);

    /* Exactly at the limit is fine. */
    c.body_len = 1000;
    do_ok(&c, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 1000);
    lo_http_result_release(&r);

    /* A chunked upload has no length up front: read, dropped, then 413. */
    const char *hs[] = {"Transfer-Encoding: chunked", NULL};
    c = (lo_http_call){.method = "POST", .url = url(s, "/echo"), .headers = hs, .body = body,
                       .body_len = 3000};
    do_ok(&c, &r);
    assert_int_equal(r.status, 413);
    lo_http_result_release(&r);
    c.body_len = 999;
    do_ok(&c, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 999);
    lo_http_result_release(&r);

    /* A huge announced length is refused before any of it is read. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)lo_http_server_port(s))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    const char *req = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n";
    assert_true(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[512];
    ssize_t got = read(fd, buf, sizeof buf - 1);
    assert_true(got > 12);
    buf[got] = '\0';
    assert_true(strncmp(buf, "HTTP/1.1 413", 12) == 0);
    close(fd);
    lo_http_server_stop(s);
}

struct collect {
    lo_buf b;
    size_t calls;
    size_t abort_after; /* 0 = never */
};

static int on_data_collect(const char *buf, size_t len, void *ud)
{
    struct collect *c = ud;
    c->calls++;
    lo_buf_append(&c->b, buf, len);
    return c->abort_after && c->b.len >= c->abort_after ? 1 : 0;
}

static void test_sse_stream(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(0);
    struct collect col = {0};
    lo_buf_init(&col.b, 0);
    lo_http_call c = {.url = url(s, "/sse"), .on_data = on_data_collect, .ud = &col,
                      .timeout_ms = 5000};
    lo_http_result r;
    int64_t t0 = now_ms();
    do_ok(&c, &r);
    int64_t took = now_ms() - t0;
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0); /* delivered to on_data instead */
    assert_string_equal(hdr(&r, "content-type"), "text/event-stream");
    assert_string_equal(hdr(&r, "cache-control"), "no-cache");
    assert_string_equal(hdr(&r, "transfer-encoding"), "chunked");

    lo_buf want;
    lo_buf_init(&want, 0);
    char ev[256];
    for (int i = 0; i < SSE_EVENTS; i++) {
        int n = sse_event(ev, sizeof ev, i);
        lo_buf_append(&want, ev, (size_t)n);
    }
    assert_int_equal(col.b.len, want.len);
    assert_memory_equal(col.b.data, want.data, want.len);
    assert_int_equal(atomic_load(&P.zeros), 12); /* 3 before each of events 0, 50, 100, 150 */
    assert_true(col.calls >= 1);
    assert_true(wait_flag(&P.freed, 2000));
    assert_true(took < 3000);
    lo_buf_release(&want);
    lo_buf_release(&col.b);
    lo_http_result_release(&r);

    /* A non-2xx body is collected even when on_data is set. */
    lo_buf_init(&col.b, 0);
    c.url = url(s, "/missing");
    do_ok(&c, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body.data, "{\"error\":\"not found\"}");
    assert_int_equal(col.b.len, 0);
    lo_http_result_release(&r);
    lo_buf_release(&col.b);
    lo_http_server_stop(s);
}

static void test_client_abort_frees_stream(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(0);
    struct collect col = {.abort_after = 20000};
    lo_buf_init(&col.b, 0);
    lo_http_call c = {.url = url(s, "/endless"), .on_data = on_data_collect, .ud = &col,
                      .timeout_ms = 5000};
    lo_http_result r;
    lo_error err = {0};
    assert_int_equal(lo_http_do(&c, &r, &err), LO_ECANCELED);
    assert_non_null(strstr(err.msg, "aborted"));
    assert_int_equal(r.status, 200);
    assert_true(col.b.len >= 20000);
    assert_true(strncmp(col.b.data, "data: xxx", 9) == 0);
    lo_http_result_release(&r);
    lo_buf_release(&col.b);
    /* The server notices the disconnect and frees the stream's ud. */
    assert_true(wait_flag(&P.freed, 2000));

    /* A replaced stream's ud is freed at once. */
    atomic_store(&P.freed, false);
    c = (lo_http_call){.url = url(s, "/replace")};
    do_ok(&c, &r);
    assert_string_equal(r.body.data, "replaced");
    assert_true(atomic_load(&P.freed));
    lo_http_result_release(&r);
    lo_http_server_stop(s);
}

struct canceller {
    atomic_bool *flag;
    int64_t after_ms;
};

static void *cancel_later(void *arg)
{
    struct canceller *k = arg;
    sleep_ms(k->after_ms);
    atomic_store(k->flag, true);
    return NULL;
}

static void test_cancel_idle_stream(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(0);
    atomic_bool cancel = false;
    struct canceller k = {&cancel, 150};
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, &k);
    struct collect col = {0};
    lo_buf_init(&col.b, 0);
    lo_http_call c = {.url = url(s, "/idle"), .on_data = on_data_collect, .ud = &col,
                      .cancel = &cancel, .timeout_ms = 5000};
    lo_http_result r;
    lo_error err = {0};
    int64_t t0 = now_ms();
    assert_int_equal(lo_http_do(&c, &r, &err), LO_ECANCELED);
    int64_t took = now_ms() - t0;
    pthread_join(th, NULL);
    assert_true(took >= 140);
    assert_true(took < 1500);
    assert_int_equal(r.status, 200); /* the headers had come */
    assert_non_null(strstr(err.msg, "canceled"));
    assert_int_equal(col.b.len, 0);
    lo_http_result_release(&r);
    lo_buf_release(&col.b);
    /* The producer was polled while parked, and the server sees the client
     * go away although no byte was ever written. */
    assert_true(atomic_load(&P.zeros) >= 3);
    assert_true(wait_flag(&P.freed, 2000));

    /* A flag already set: no request at all. */
    c.url = url(s, "/hello");
    assert_int_equal(lo_http_do(&c, &r, &err), LO_ECANCELED);
    assert_int_equal(r.status, 0);
    lo_http_result_release(&r);
    lo_http_server_stop(s);
}

static void test_stop_ends_parked_stream(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(0);
    /* Open a stream with a raw socket, wait until it is parked, stop. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)lo_http_server_port(s))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    const char *req = "GET /idle HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_true(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
    int64_t end = now_ms() + 2000;
    while (atomic_load(&P.zeros) < 2 && now_ms() < end)
        sleep_ms(2);
    assert_true(atomic_load(&P.zeros) >= 2);
    assert_false(atomic_load(&P.freed));
    lo_http_server_stop(s);
    assert_true(atomic_load(&P.freed)); /* synchronously, before stop returned */
    close(fd);
}

static void test_client_timeout(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(0);
    lo_http_call c = {.url = url(s, "/sleep"), .timeout_ms = 200};
    lo_http_result r;
    lo_error err = {0};
    int64_t t0 = now_ms();
    assert_int_equal(lo_http_do(&c, &r, &err), LO_EIO);
    int64_t took = now_ms() - t0;
    assert_true(took >= 190 && took < 1000); /* the handler answers at 500 ms */
    assert_non_null(strstr(err.msg, "timed out"));
    assert_non_null(strstr(err.msg, "/sleep"));
    assert_int_equal(r.status, 0);
    lo_http_result_release(&r);
    lo_http_server_stop(s);
}

static void test_connection_refused_and_no_secrets(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(0);
    int port = lo_http_server_port(s);
    lo_http_server_stop(s);

    char u[256];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/v1/models?key=SECRET-QUERY", port);
    const char *hs[] = {"x-api-key: SECRET-HEADER", "Authorization: Bearer SECRET-BEARER", NULL};
    lo_http_call c = {.url = u, .headers = hs, .connect_timeout_ms = 2000};
    lo_http_result r;
    lo_error err = {0};
    assert_int_equal(lo_http_do(&c, &r, &err), LO_EIO);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(err.msg, "GET http://127.0.0.1:"));
    assert_true(strstr(err.msg, "connect") || strstr(err.msg, "refused"));
    assert_null(strstr(err.msg, "SECRET"));
    lo_http_result_release(&r);

    /* Bad arguments. */
    assert_int_equal(lo_http_do(NULL, &r, &err), LO_EINVAL);
    lo_http_result_release(&r);
    c = (lo_http_call){.url = "notascheme://x"};
    assert_int_equal(lo_http_do(&c, &r, &err), LO_EIO);
    lo_http_result_release(&r);
}

struct worker {
    lo_http_server *s;
    int ok;
    int id;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < 25; i++) {
        char body[64];
        int n = snprintf(body, sizeof body, "w%d-r%d", w->id, i);
        lo_http_call c = {.method = "POST", .url = url(w->s, "/echo"), .body = body,
                          .body_len = (size_t)n, .timeout_ms = 5000};
        lo_http_result r;
        lo_error err = {0};
        if (lo_http_do(&c, &r, &err) == 0 && r.status == 200 && r.body.len == (size_t)n &&
            memcmp(r.body.data, body, (size_t)n) == 0)
            w->ok++;
        lo_http_result_release(&r);
    }
    return NULL;
}

static void test_concurrent_requests(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(0);
    pthread_t th[8];
    struct worker w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (struct worker){.s = s, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        total += w[i].ok;
    }
    assert_int_equal(total, 200);
    lo_http_server_stop(s);
}

static int connect_to(const char *ip, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static void test_default_bind_loopback(void **state)
{
    (void)state;
    setup_probe();
    assert_string_equal(LO_HTTP_DEFAULT_BIND, "127.0.0.1");
    lo_error err = {0};
    lo_http_server *s = lo_http_server_start(NULL, &err); /* all defaults */
    assert_non_null(s);
    int port = lo_http_server_port(s);
    int fd = connect_to("127.0.0.1", port);
    assert_true(fd >= 0);
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    assert_int_equal(getpeername(fd, (struct sockaddr *)&peer, &len), 0);
    assert_int_equal(ntohl(peer.sin_addr.s_addr), INADDR_LOOPBACK);
    close(fd);
    /* Linux routes all of 127/8 to lo: a socket bound to 0.0.0.0 would
     * answer on 127.0.0.2, one bound to 127.0.0.1 does not. */
    fd = connect_to("127.0.0.2", port);
    assert_true(fd < 0);
    assert_int_equal(errno, ECONNREFUSED);
    lo_http_server_stop(s);

    /* Explicit any-address bind does answer there: the check above means something. */
    lo_http_config cfg = {.bind = "0.0.0.0"};
    s = lo_http_server_start(&cfg, &err);
    assert_non_null(s);
    fd = connect_to("127.0.0.2", lo_http_server_port(s));
    assert_true(fd >= 0);
    close(fd);

    /* The same port twice: LO_EIO. Bad address: LO_EINVAL. */
    lo_http_config again = {.bind = "0.0.0.0", .port = lo_http_server_port(s)};
    assert_null(lo_http_server_start(&again, &err));
    assert_int_equal(err.code, LO_EIO);
    lo_http_server_stop(s);
    lo_http_config bad = {.bind = "not an address"};
    assert_null(lo_http_server_start(&bad, &err));
    assert_int_equal(err.code, LO_EINVAL);
    lo_http_server_stop(NULL);
}

/* Read one response with a Content-Length body from fd into buf. */
static bool read_response(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    buf[0] = '\0';
    for (;;) {
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            const char *cl = strstr(buf, "Content-Length: ");
            size_t want = (size_t)(end + 4 - buf) + (cl ? (size_t)atol(cl + 16) : 0);
            if (got >= want)
                return true;
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        if (got + 1 >= cap || poll(&pfd, 1, 2000) <= 0)
            return false;
        ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
        if (n <= 0)
            return false;
        got += (size_t)n;
        buf[got] = '\0';
    }
}

static void test_keep_alive(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(0);
    int fd = connect_to("127.0.0.1", lo_http_server_port(s));
    assert_true(fd >= 0);
    static const char *reqs[] = {
        "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc",
        "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    static const char *codes[] = {"HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 404", "HTTP/1.1 200"};
    static const char *bodies[] = {"\r\n\r\nhello", "\r\n\r\nabc", "not found", "\r\n\r\nhello"};
    char buf[2048];
    /* Four requests, one connection: the server keeps it open. */
    for (size_t i = 0; i < 4; i++) {
        assert_true(send(fd, reqs[i], strlen(reqs[i]), MSG_NOSIGNAL) == (ssize_t)strlen(reqs[i]));
        assert_true(read_response(fd, buf, sizeof buf));
        assert_true(strncmp(buf, codes[i], strlen(codes[i])) == 0);
        assert_non_null(strstr(buf, bodies[i]));
        assert_null(strstr(buf, "Connection: close"));
    }
    close(fd);
    lo_http_server_stop(s);
}

/* ---- malformed requests over raw sockets ---- */

/* Send data, then read until the server closes or 2 s pass. Returns bytes
 * read, the first bytes in out. */
static ssize_t raw_exchange(int port, const char *data, size_t len, bool wait_reply, char *out,
                            size_t outcap)
{
    int fd = connect_to("127.0.0.1", port);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may close on us mid-send: fine */
        off += (size_t)n;
    }
    ssize_t total = 0;
    if (wait_reply) {
        int64_t end = now_ms() + 2000;
        for (;;) {
            int left = (int)(end - now_ms());
            if (left <= 0)
                break;
            struct pollfd pfd = {fd, POLLIN, 0};
            if (poll(&pfd, 1, left) <= 0)
                break;
            char buf[4096];
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            if (out && (size_t)total < outcap - 1) {
                size_t k = (size_t)n < outcap - 1 - (size_t)total ? (size_t)n : outcap - 1 - (size_t)total;
                memcpy(out + total, buf, k);
                out[total + (ssize_t)k] = '\0';
            }
            total += n;
            if (out && strstr(out, "\r\n\r\n"))
                break; /* a reply's headers are in: enough */
        }
    }
    close(fd);
    return total;
}

static void test_malformed_requests(void **state)
{
    (void)state;
    setup_probe();
    lo_http_server *s = start(0);
    int port = lo_http_server_port(s);
    static const char *bad_lines[] = {
        "GARBAGE\r\n\r\n",
        "GET\r\n\r\n",
        "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        "GET /hello HTTP/1.1\r\nNo colon here\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nxx\r\n0\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS hello */
        " / HTTP/1.1\r\n\r\n",
        "GET /hello HTTP/1.1\r\n Folded: x\r\n\r\n",
    };
    size_t nbad = sizeof bad_lines / sizeof bad_lines[0];
    int sent = 0, replies = 0;
    char out[512];

    /* 200 bad request lines and headers. The TLS hello has no line end, so
     * MHD waits for more (until its idle timeout): do not wait for it. */
    for (int i = 0; i < 200; i++, sent++) {
        const char *d = bad_lines[(size_t)i % nbad];
        bool tls = d[0] == '\x16';
        out[0] = '\0';
        if (raw_exchange(port, d, strlen(d), !tls, out, sizeof out) > 0)
            replies++;
    }
    /* 100 random byte strings ending in a blank line. */
    uint32_t x = 777;
    for (int i = 0; i < 100; i++, sent++) {
        char g[300];
        size_t n = 20 + (size_t)i * 2;
        for (size_t j = 0; j < n; j++) {
            x = x * 1103515245u + 12345u;
            g[j] = (char)(x >> 16);
        }
        memcpy(g + n, "\r\n\r\n", 4);
        raw_exchange(port, g, n + 4, true, out, sizeof out);
    }
    /* 150 truncated bodies: a larger Content-Length than sent, then close. */
    for (int i = 0; i < 150; i++, sent++) {
        char t[256];
        int n = snprintf(t, sizeof t,
                         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\nonly-this", 1000 + i);
        raw_exchange(port, t, (size_t)n, false, NULL, 0);
    }
    /* 49 requests with a 64 KB header: refused (431 or 413), no crash. */
    size_t big = 64 * 1024;
    char *hb = malloc(big + 128);
    int n = snprintf(hb, 128, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(hb + n, 'A', big);
    memcpy(hb + n + big, "\r\n\r\n", 5);
    int refused = 0;
    for (int i = 0; i < 49; i++, sent++) {
        out[0] = '\0';
        raw_exchange(port, hb, strlen(hb), true, out, sizeof out);
        if (strncmp(out, "HTTP/1.1 4", 10) == 0)
            refused++;
    }
    free(hb);
    /* 1 slow client: one byte every 3 ms for about 100 ms, then a reply. */
    {
        const char *slow = "GET /hello HTTP/1.1\r\nHost: slow\r\n\r\n";
        int fd = connect_to("127.0.0.1", port);
        assert_true(fd >= 0);
        int64_t t0 = now_ms();
        for (const char *p = slow; *p; p++) {
            assert_int_equal(send(fd, p, 1, MSG_NOSIGNAL), 1);
            sleep_ms(3);
        }
        assert_true(now_ms() - t0 >= 90);
        struct timeval tv = {2, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t got = recv(fd, out, sizeof out - 1, 0);
        assert_true(got > 0);
        out[got] = '\0';
        assert_true(strncmp(out, "HTTP/1.1 200", 12) == 0);
        close(fd);
        sent++;
    }
    assert_int_equal(sent, 500);
    assert_true(replies >= 100); /* MHD answers most of them with a 4xx */
    assert_int_equal(refused, 49);

    /* And the server still serves. */
    lo_http_call c = {.url = url(s, "/hello"), .timeout_ms = 2000};
    lo_http_result r;
    do_ok(&c, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "hello");
    lo_http_result_release(&r);
    lo_http_server_stop(s);
}

int main(void)
{
    pthread_mutex_init(&P.mu, NULL);
    lo_buf_init(&P.log, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_post_routing),
        cmocka_unit_test(test_prefix_and_404),
        cmocka_unit_test(test_headers_both_ways),
        cmocka_unit_test(test_query_params),
        cmocka_unit_test(test_post_1mib_echo),
        cmocka_unit_test(test_body_over_limit_413),
        cmocka_unit_test(test_sse_stream),
        cmocka_unit_test(test_client_abort_frees_stream),
        cmocka_unit_test(test_cancel_idle_stream),
        cmocka_unit_test(test_stop_ends_parked_stream),
        cmocka_unit_test(test_client_timeout),
        cmocka_unit_test(test_connection_refused_and_no_secrets),
        cmocka_unit_test(test_concurrent_requests),
        cmocka_unit_test(test_default_bind_loopback),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_malformed_requests),
    };
    int rc = cmocka_run_group_tests_name("http", tests, NULL, NULL);
    lo_buf_release(&P.log);
    return rc;
}
