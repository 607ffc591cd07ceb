/*
 * HTTP server on libmicrohttpd (MHD).
 *
 * MHD runs its own epoll loop on a pool of threads (MHD_USE_INTERNAL_POLLING_
 * THREAD | MHD_USE_EPOLL); handlers run on those threads. Per request we keep
 * a `struct req`, created in the URI log callback (the only place MHD shows
 * the raw query string) and freed after MHD's completion notice, which MHD
 * also sends when it rejects a request itself or the client goes away.
 *
 * Streams. MHD calls a content reader to fill the next chunk; a reader that
 * answers 0 in internal-polling mode makes MHD spin on the connection. So
 * when a producer has nothing yet we suspend the connection (MHD_ALLOW_
 * SUSPEND_RESUME) and park it; a ticker thread resumes it when its wait is
 * over, and MHD calls the reader again. The wait starts at 1 ms and doubles
 * up to 20 ms while the producer keeps answering 0. A suspended connection
 * does not see the client hang up, so before parking we peek at the socket
 * and end the stream if the peer has closed it.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "lightsout/http.h"

/* Longest wait between two polls of a stream's producer. */
#define STREAM_MAX_WAIT_MS 20u
/* Chunk buffer MHD hands to a stream producer. */
#define STREAM_BLOCK 16384
/* How much of an over-limit chunked upload we read and drop before giving
 * up on answering 413 and closing the connection. */
#define DISCARD_MAX ((size_t)8 << 20)

static const char JSON_NOT_FOUND[] = "{\"error\":\"not found\"}";
static const char JSON_TOO_BIG[] = "{\"error\":\"request body too large\"}";
static const char JSON_NO_RESPONSE[] = "{\"error\":\"internal error: the handler gave no valid response\"}";

struct route {
    char *method;  /* NULL = any */
    char *pattern; /* without the trailing '*' for prefixes */
    size_t len;
    bool prefix;
    lo_http_handler h;
    void *ud;
};

struct stream;

struct lo_http_server {
    struct MHD_Daemon *daemon;
    int port;
    size_t max_body;
    void (*log)(const char *line, void *ud);
    void *log_ud;
    const char *(*too_large_body)(const char *path, void *ud);
    void *too_large_ud;

    pthread_rwlock_t rt_lock; /* guards routes: handlers read, lo_http_route writes */
    struct route *routes;
    size_t nroutes, rcap;

    /* Parked (suspended) streams waiting for their producer. */
    pthread_mutex_t park_mu;
    pthread_cond_t park_cv;
    struct stream **parked;
    size_t nparked, pcap;
    bool ticker_quit;
    bool ticker_started;
    pthread_t ticker;
    atomic_bool stopping;
};

/* Per request, from the URI log callback to the completion notice. It is
 * shared with a stream (refs) because MHD frees the stream's response after
 * its completion notice and the stream counts the bytes we log. */
struct req {
    lo_http_server *srv;
    struct MHD_Connection *conn;
    atomic_int refs;
    char *query;          /* raw query, NULL = none */
    lo_buf body;
    bool seen;            /* the access handler ran once (headers are in) */
    bool answered;        /* a response is queued */
    bool too_big;         /* chunked upload went over max_body: discard */
    size_t discarded;
    int status;
    uint64_t bytes;       /* body bytes of the response */
    struct timespec t0;
    char line[256];       /* "METHOD PATH" for the log line */
};

struct stream {
    lo_http_server *srv;
    struct req *rq;
    struct MHD_Connection *conn;
    ssize_t (*produce)(void *ud, char *buf, size_t max);
    void *ud;
    void (*free_fn)(void *ud);
    unsigned wait_ms;
    struct timespec due;
};

struct hdr {
    char *name, *value;
};

struct lo_http_response {
    int status;
    char *ctype;
    struct MHD_Response *mr; /* from lo_http_respond */
    size_t len;
    bool is_stream;
    ssize_t (*produce)(void *ud, char *buf, size_t max);
    void *ud;
    void (*free_fn)(void *ud);
    struct hdr *hdrs;
    size_t nhdrs, hcap;
    bool failed; /* an allocation failed while the handler built it */
};

/* ---------------------------------------------------------------- helpers */

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void ts_add_ms(struct timespec *t, unsigned ms)
{
    t->tv_sec += ms / 1000;
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static bool ts_before_eq(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

__attribute__((format(printf, 2, 0)))
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    lo_http_server *s = cls;
    char line[512];
    int n = snprintf(line, sizeof line, "mhd: ");
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    if (s->log)
        s->log(line, s->log_ud);
}

static void req_release(struct req *rq)
{
    if (atomic_fetch_sub(&rq->refs, 1) != 1)
        return;
    free(rq->query);
    lo_buf_release(&rq->body);
    free(rq);
}

/* ---------------------------------------------------------------- parking */

/* Called with park_mu held. Resumes every parked stream due by now (all of
 * them when `all`) and returns whether any stay parked, with the earliest
 * due time in *next. */
static bool resume_due(lo_http_server *s, bool all, struct timespec *next)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    size_t keep = 0;
    bool have = false;
    for (size_t i = 0; i < s->nparked; i++) {
        struct stream *st = s->parked[i];
        if (all || ts_before_eq(&st->due, &now)) {
            MHD_resume_connection(st->conn);
            continue;
        }
        if (!have || ts_before_eq(&st->due, next)) {
            *next = st->due;
            have = true;
        }
        s->parked[keep++] = st;
    }
    s->nparked = keep;
    return have;
}

static void *ticker_main(void *arg)
{
    lo_http_server *s = arg;
    pthread_mutex_lock(&s->park_mu);
    while (!s->ticker_quit) {
        struct timespec next;
        if (resume_due(s, false, &next))
            pthread_cond_timedwait(&s->park_cv, &s->park_mu, &next);
        else
            pthread_cond_wait(&s->park_cv, &s->park_mu);
    }
    pthread_mutex_unlock(&s->park_mu);
    return NULL;
}

/* True when the client has closed its end (EOF or an error on a peek). */
static bool peer_gone(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return false;
    char c;
    ssize_t n = recv(ci->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return true;
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

/* ---------------------------------------------------------------- streams */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *st = cls;
    lo_http_server *s = st->srv;
    (void)pos;
    if (atomic_load(&s->stopping))
        return MHD_CONTENT_READER_END_WITH_ERROR;
    ssize_t n = st->produce(st->ud, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if ((size_t)n > max)
        return MHD_CONTENT_READER_END_WITH_ERROR; /* producer overran buf */
    if (n > 0) {
        st->wait_ms = 0;
        st->rq->bytes += (uint64_t)n;
        return n;
    }
    if (peer_gone(st->conn))
        return MHD_CONTENT_READER_END_WITH_ERROR;

    /* Park. The stopping check, the suspend and the insertion happen under
     * park_mu so that lo_http_server_stop, which resumes everything parked
     * under the same lock, never leaves a connection suspended (stopping MHD
     * with a suspended connection is undefined) and never resumes one that
     * is not suspended. */
    pthread_mutex_lock(&s->park_mu);
    if (atomic_load(&s->stopping)) {
        pthread_mutex_unlock(&s->park_mu);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (s->nparked == s->pcap) {
        size_t cap = s->pcap ? s->pcap * 2 : 16;
        struct stream **p = lo_realloc(s->parked, cap * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&s->park_mu);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        s->parked = p;
        s->pcap = cap;
    }
    st->wait_ms = st->wait_ms ? st->wait_ms * 2 : 1;
    if (st->wait_ms > STREAM_MAX_WAIT_MS)
        st->wait_ms = STREAM_MAX_WAIT_MS;
    clock_gettime(CLOCK_MONOTONIC, &st->due);
    ts_add_ms(&st->due, st->wait_ms);
    MHD_suspend_connection(st->conn);
    s->parked[s->nparked++] = st;
    pthread_cond_signal(&s->park_cv);
    pthread_mutex_unlock(&s->park_mu);
    return 0;
}

/* MHD frees the response: end of stream, error, disconnect or stop. */
static void stream_free(void *cls)
{
    struct stream *st = cls;
    if (st->free_fn)
        st->free_fn(st->ud);
    req_release(st->rq);
    free(st);
}

/* ---------------------------------------------------------------- response */

static void response_drop_body(lo_http_response *res)
{
    if (res->mr) {
        MHD_destroy_response(res->mr);
        res->mr = NULL;
    }
    if (res->is_stream && res->free_fn)
        res->free_fn(res->ud);
    res->is_stream = false;
    res->produce = NULL;
    res->ud = NULL;
    res->free_fn = NULL;
}

static void response_set_ctype(lo_http_response *res, const char *ct)
{
    free(res->ctype);
    res->ctype = NULL;
    if (ct && !(res->ctype = lo_strdup(ct)))
        res->failed = true;
}

void lo_http_respond(lo_http_response *res, int status, const char *content_type,
                     const char *body, size_t len)
{
    response_drop_body(res);
    res->status = status;
    response_set_ctype(res, content_type);
    /* One copy, straight into MHD's response. */
    res->mr = MHD_create_response_from_buffer(len, (void *)(len ? body : ""),
                                              MHD_RESPMEM_MUST_COPY);
    res->len = len;
    if (!res->mr)
        res->failed = true;
}

void lo_http_stream(lo_http_response *res, int status, const char *content_type,
                    ssize_t (*produce)(void *ud, char *buf, size_t max), void *ud,
                    void (*free_fn)(void *ud))
{
    response_drop_body(res);
    res->status = status;
    response_set_ctype(res, content_type);
    res->is_stream = true;
    res->produce = produce;
    res->ud = ud;
    res->free_fn = free_fn;
    if (!produce)
        res->failed = true;
}

int lo_http_add_header(lo_http_response *res, const char *name, const char *value)
{
    if (!res || !name || !*name || !value || strpbrk(name, "\r\n: \t") || strpbrk(value, "\r\n"))
        return LO_EINVAL;
    if (res->nhdrs == res->hcap) {
        size_t cap = res->hcap ? res->hcap * 2 : 4;
        struct hdr *h = lo_realloc(res->hdrs, cap * sizeof *h);
        if (!h)
            return LO_ENOMEM;
        res->hdrs = h;
        res->hcap = cap;
    }
    char *n = lo_strdup(name), *v = lo_strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return LO_ENOMEM;
    }
    res->hdrs[res->nhdrs].name = n;
    res->hdrs[res->nhdrs].value = v;
    res->nhdrs++;
    return 0;
}

static void response_release(lo_http_response *res)
{
    response_drop_body(res);
    free(res->ctype);
    for (size_t i = 0; i < res->nhdrs; i++) {
        free(res->hdrs[i].name);
        free(res->hdrs[i].value);
    }
    free(res->hdrs);
}

/* ---------------------------------------------------------------- request */

const char *lo_http_header(const lo_http_request *r, const char *name)
{
    if (!r || !r->impl || !name)
        return NULL;
    const struct req *rq = r->impl;
    /* MHD compares header names case-insensitively. */
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *lo_http_query_param(const lo_http_request *r, const char *name)
{
    if (!r || !r->impl || !name)
        return NULL;
    const struct req *rq = r->impl;
    const char *v = NULL;
    if (MHD_lookup_connection_value_n(rq->conn, MHD_GET_ARGUMENT_KIND, name,
                                      strlen(name), &v, NULL) != MHD_YES)
        return NULL;
    return v ? v : ""; /* "?flag" has a key and no value */
}

/* Queue a static (never freed) body. Connection: close when the request's
 * body was not read, so the client's remaining upload is never parsed as a
 * next request. */
static enum MHD_Result answer_static(struct req *rq, int status, const char *json,
                                     bool close)
{
    size_t len = strlen(json);
    struct MHD_Response *mr =
        MHD_create_response_from_buffer(len, (void *)json, MHD_RESPMEM_PERSISTENT);
    if (!mr)
        return MHD_NO;
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (close)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(rq->conn, (unsigned)status, mr);
    MHD_destroy_response(mr);
    rq->answered = true;
    rq->status = status;
    rq->bytes = len;
    return ret;
}

/* Turn what the handler built into a queued MHD response. */
static enum MHD_Result finish(struct req *rq, lo_http_response *res)
{
    lo_http_server *s = rq->srv;
    struct MHD_Response *mr = NULL;
    bool valid = !res->failed && res->status >= 200 && res->status <= 599;

    if (valid && res->is_stream) {
        struct stream *st = lo_calloc(1, sizeof *st);
        if (st) {
            st->srv = s;
            st->rq = rq;
            st->conn = rq->conn;
            st->produce = res->produce;
            st->ud = res->ud;
            st->free_fn = res->free_fn;
            mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
                                                   stream_read, st, stream_free);
            if (mr) {
                atomic_fetch_add(&rq->refs, 1);
                res->is_stream = false; /* ud now belongs to MHD's response */
            } else {
                free(st);
            }
        }
    } else if (valid && res->mr) {
        mr = res->mr;
        res->mr = NULL;
        rq->bytes = res->len;
    }
    if (!mr) {
        response_release(res);
        return answer_static(rq, 500, JSON_NO_RESPONSE, false);
    }

    bool have_cc = false;
    for (size_t i = 0; i < res->nhdrs; i++) {
        /* MHD refuses a few it manages itself (Content-Length,
         * Transfer-Encoding, ...); those are dropped. */
        MHD_add_response_header(mr, res->hdrs[i].name, res->hdrs[i].value);
        if (strcasecmp(res->hdrs[i].name, "Cache-Control") == 0)
            have_cc = true;
    }
    if (res->ctype) {
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, res->ctype);
        if (!have_cc && strncasecmp(res->ctype, "text/event-stream", 17) == 0)
            MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    }
    rq->status = res->status;
    rq->answered = true;
    enum MHD_Result ret = MHD_queue_response(rq->conn, (unsigned)res->status, mr);
    MHD_destroy_response(mr); /* MHD keeps its own reference while sending */
    response_release(res);
    return ret;
}

static enum MHD_Result dispatch(struct req *rq, const char *url, const char *method)
{
    lo_http_server *s = rq->srv;
    lo_http_handler h = NULL;
    void *hud = NULL;

    pthread_rwlock_rdlock(&s->rt_lock);
    for (size_t i = 0; i < s->nroutes; i++) {
        const struct route *r = &s->routes[i];
        if (r->method && strcmp(r->method, method) != 0)
            continue;
        if (r->prefix ? strncmp(url, r->pattern, r->len) == 0 : strcmp(url, r->pattern) == 0) {
            h = r->h;
            hud = r->ud;
            break;
        }
    }
    pthread_rwlock_unlock(&s->rt_lock);

    if (!h)
        return answer_static(rq, 404, JSON_NOT_FOUND, false);

    lo_http_request hr = {
        .method = method,
        .path = url,
        .query = rq->query ? rq->query : "",
        .body = rq->body.data ? rq->body.data : "",
        .body_len = rq->body.len,
        .impl = rq,
    };
    lo_http_response res;
    memset(&res, 0, sizeof res);
    h(&hr, &res, hud);
    return finish(rq, &res);
}

/* Whether the request announces a body (Content-Length > 0 or chunked). */
static bool has_body(struct MHD_Connection *conn, uint64_t *clen, bool *bad)
{
    *clen = 0;
    *bad = false;
    if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return true;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return false;
    int64_t v;
    if (lo_parse_int64(cl, &v) != 0 || v < 0) {
        *bad = true; /* MHD rejects these before us; belt and braces */
        return true;
    }
    *clen = (uint64_t)v;
    return v > 0;
}

/* The 413's body: the owner's for this path (the twins answer in each
 * provider's shape), else ours. */
static const char *too_big_body(lo_http_server *s, const char *url)
{
    const char *b = s->too_large_body ? s->too_large_body(url, s->too_large_ud) : NULL;
    return b ? b : JSON_TOO_BIG;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    lo_http_server *s = cls;
    struct req *rq = *con_cls;
    (void)version;
    if (!rq)
        return MHD_NO; /* the URI log callback could not allocate */
    if (rq->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (!rq->seen) {
        rq->seen = true;
        rq->conn = conn;
        if (s->log)
            snprintf(rq->line, sizeof rq->line, "%s %s", method, url);
        /* Only an over-limit upload is answered on this first call: MHD
         * (0.9.75) treats a response queued before the body as "early" and
         * closes the connection after it, which is right for a refused
         * upload (MHD then skips "100 Continue" and never reads the body)
         * and would end keep-alive for everything else. */
        uint64_t clen;
        bool bad;
        if (has_body(conn, &clen, &bad)) {
            if (bad)
                return MHD_NO;
            if (clen > s->max_body)
                return answer_static(rq, 413, too_big_body(s, url), true);
        }
        return MHD_YES;
    }

    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (!rq->too_big && rq->body.len + n > s->max_body) {
            /* Only a chunked upload gets here (its length is not known in
             * advance) and MHD cannot answer in the middle of an upload: drop
             * what came, discard the rest and answer 413 at its end, but
             * close the connection if it goes on for DISCARD_MAX more. */
            rq->too_big = true;
            lo_buf_release(&rq->body);
        }
        if (rq->too_big) {
            rq->discarded += n;
            return rq->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
        }
        return lo_buf_append(&rq->body, upload_data, n) == 0 ? MHD_YES : MHD_NO;
    }

    if (rq->too_big)
        return answer_static(rq, 413, too_big_body(s, url), true);
    return dispatch(rq, url, method);
}

/* MHD shows us the raw URI before it splits and decodes it: keep the query
 * and create the per-request state here (MHD passes it on as *con_cls). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    lo_http_server *s = cls;
    struct req *rq = lo_calloc(1, sizeof *rq);
    if (!rq)
        return NULL;
    rq->srv = s;
    rq->conn = conn;
    atomic_init(&rq->refs, 1);
    lo_buf_init(&rq->body, 0);
    clock_gettime(CLOCK_MONOTONIC, &rq->t0);
    const char *q = uri ? strchr(uri, '?') : NULL;
    if (q && q[1] && !(rq->query = lo_strdup(q + 1))) {
        free(rq);
        return NULL;
    }
    return rq;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    lo_http_server *s = cls;
    struct req *rq = *con_cls;
    (void)conn;
    (void)toe;
    if (!rq)
        return;
    *con_cls = NULL;
    if (s->log && rq->answered) {
        char line[400];
        snprintf(line, sizeof line, "%s %d %llu %.1f", rq->line, rq->status,
                 (unsigned long long)rq->bytes, ms_since(&rq->t0));
        s->log(line, s->log_ud);
    }
    req_release(rq);
}

/* ---------------------------------------------------------------- server */

int lo_http_route(lo_http_server *s, const char *method, const char *pattern,
                  lo_http_handler h, void *ud)
{
    if (!s || !pattern || !*pattern || !h)
        return LO_EINVAL;
    struct route r = {0};
    size_t len = strlen(pattern);
    r.prefix = pattern[len - 1] == '*';
    r.len = r.prefix ? len - 1 : len;
    r.h = h;
    r.ud = ud;
    r.pattern = lo_strndup(pattern, r.len);
    if (method && strcmp(method, "*") != 0)
        r.method = lo_strdup(method);
    if (!r.pattern || (method && strcmp(method, "*") != 0 && !r.method)) {
        free(r.pattern);
        free(r.method);
        return LO_ENOMEM;
    }
    int rc = 0;
    pthread_rwlock_wrlock(&s->rt_lock);
    if (s->nroutes == s->rcap) {
        size_t cap = s->rcap ? s->rcap * 2 : 8;
        struct route *nr = lo_realloc(s->routes, cap * sizeof *nr);
        if (!nr) {
            rc = LO_ENOMEM;
        } else {
            s->routes = nr;
            s->rcap = cap;
        }
    }
    if (rc == 0)
        s->routes[s->nroutes++] = r;
    pthread_rwlock_unlock(&s->rt_lock);
    if (rc) {
        free(r.pattern);
        free(r.method);
    }
    return rc;
}

int lo_http_server_port(const lo_http_server *s) { return s ? s->port : 0; }

static void server_free(lo_http_server *s)
{
    for (size_t i = 0; i < s->nroutes; i++) {
        free(s->routes[i].method);
        free(s->routes[i].pattern);
    }
    free(s->routes);
    free(s->parked);
    pthread_rwlock_destroy(&s->rt_lock);
    pthread_mutex_destroy(&s->park_mu);
    pthread_cond_destroy(&s->park_cv);
    free(s);
}

static void stop_ticker(lo_http_server *s)
{
    if (!s->ticker_started)
        return;
    pthread_mutex_lock(&s->park_mu);
    s->ticker_quit = true;
    pthread_cond_signal(&s->park_cv);
    pthread_mutex_unlock(&s->park_mu);
    pthread_join(s->ticker, NULL);
    s->ticker_started = false;
}

lo_http_server *lo_http_server_start(const lo_http_config *cfg, lo_error *err)
{
    lo_http_config c = {0};
    if (cfg)
        c = *cfg;
    const char *bind_addr = c.bind && *c.bind ? c.bind : LO_HTTP_DEFAULT_BIND;
    if (c.port < 0 || c.port > 65535) {
        lo_error_set(err, LO_EINVAL, "http server: port %d out of range", c.port);
        return NULL;
    }
    if (c.threads < 0 || c.threads > 1024) {
        lo_error_set(err, LO_EINVAL, "http server: %d threads", c.threads);
        return NULL;
    }

    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int gai = getaddrinfo(bind_addr, NULL, &hints, &ai);
    if (gai != 0 || !ai) {
        lo_error_set(err, LO_EINVAL, "http server: cannot resolve bind address '%s': %s",
                     bind_addr, gai_strerror(gai));
        return NULL;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    bool v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    if (v6)
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)c.port);
    else
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)c.port);

    lo_http_server *s = lo_calloc(1, sizeof *s);
    if (!s) {
        lo_error_set(err, LO_ENOMEM, "http server: out of memory");
        return NULL;
    }
    s->max_body = c.max_body ? c.max_body : LO_HTTP_DEFAULT_MAX_BODY;
    s->log = c.log;
    s->log_ud = c.log_ud;
    s->too_large_body = c.too_large_body;
    s->too_large_ud = c.too_large_ud;
    atomic_init(&s->stopping, false);
    pthread_rwlock_init(&s->rt_lock, NULL);
    pthread_mutex_init(&s->park_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->park_cv, &ca);
    pthread_condattr_destroy(&ca);

    if (pthread_create(&s->ticker, NULL, ticker_main, s) != 0) {
        lo_error_set(err, LO_EIO, "http server: cannot start a thread");
        server_free(s);
        return NULL;
    }
    s->ticker_started = true;

    unsigned threads = (unsigned)(c.threads ? c.threads : LO_HTTP_DEFAULT_THREADS);
    unsigned timeout = c.timeout_s ? c.timeout_s : LO_HTTP_DEFAULT_TIMEOUT_S;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    if (v6)
        flags |= MHD_USE_IPv6;
    /* MHD's diagnostics go to stderr unless redirected: only enable them
     * when there is a log callback to take them. */
    if (s->log)
        flags |= MHD_USE_ERROR_LOG;
    /* Options as an array: the pool size is only passed when there is a pool
     * (MHD logs a warning for 0 or 1). */
    struct MHD_OptionItem opts[8];
    size_t no = 0;
    /* The logger first: MHD reports options parsed before it on stderr. */
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, s};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)timeout, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, s};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
    if (threads > 1)
        opts[no++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL};
    opts[no++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                                 MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!s->daemon) {
        int e = errno;
        lo_error_set(err, LO_EIO, "http server: cannot listen on %s port %d: %s",
                     bind_addr, c.port, e ? strerror(e) : "libmicrohttpd refused to start");
        stop_ticker(s);
        server_free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? (int)di->port : c.port;
    return s;
}

void lo_http_server_stop(lo_http_server *s)
{
    if (!s)
        return;
    /* No stream may stay suspended when MHD stops: mark stopping, resume
     * every parked one (each reader then ends its stream and MHD frees its
     * ud), and only then stop the daemon. */
    pthread_mutex_lock(&s->park_mu);
    atomic_store(&s->stopping, true);
    struct timespec unused;
    resume_due(s, true, &unused);
    pthread_mutex_unlock(&s->park_mu);
    stop_ticker(s);
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    server_free(s);
}
