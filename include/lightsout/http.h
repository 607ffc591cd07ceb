/*
 * lightsout net: HTTP server (libmicrohttpd) and HTTP client (libcurl).
 *
 * Owner: the network layer (src/net/http_server.c, src/net/http_client.c).
 * The SSE parser lives in lightsout/net.h.
 *
 * Server. lo_http_server_start() binds (loopback by default) and serves on
 * an internal thread pool; handlers run on those threads, so a handler must
 * not block for long (streams use a producer instead, see lo_http_stream).
 * Routes may be added before or after start: the route table is guarded by
 * a read-write lock, lookups take the read side, lo_http_route the write
 * side. A request's strings (method, path, query, body, header values) live
 * until the handler returns.
 *
 * Client. lo_http_do() performs one blocking request on its own libcurl easy
 * handle; it is safe to call from many threads at once (DNS answers and TLS
 * sessions are cached between calls). Only http and https URLs; redirects
 * are not followed; proxies come from the environment as usual with libcurl,
 * except that loopback addresses never go through one. Request headers may
 * carry API keys: they never appear in error messages, and neither does the
 * query string of the URL.
 *
 * Ownership: a started server is released by lo_http_server_stop(); a result
 * filled by lo_http_do() is released by lo_http_result_release() whatever
 * lo_http_do() returned.
 */
#ifndef LIGHTSOUT_HTTP_H
#define LIGHTSOUT_HTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "lightsout/base.h"

/* ---- server ---- */

typedef struct lo_http_server lo_http_server;

typedef struct lo_http_request {
    const char *method;  /* "GET", "POST", ... */
    const char *path;    /* percent-decoded, without the query */
    const char *query;   /* raw, as sent, without '?'; "" when none */
    const char *body;    /* NUL-terminated copy of the upload; "" when none */
    size_t body_len;
    void *impl;          /* for lo_http_header / lo_http_query_param */
} lo_http_request;

/* Value of a request header, case-insensitive name; NULL when absent. */
const char *lo_http_header(const lo_http_request *r, const char *name);
/* Value of a query parameter (percent-decoded, case-sensitive name); "" for a
 * parameter without '=value'; NULL when absent. */
const char *lo_http_query_param(const lo_http_request *r, const char *name);

/* Built by the handler; valid only during the handler call. */
typedef struct lo_http_response lo_http_response;

/* A complete response; body is copied (may be NULL when len is 0).
 * content_type NULL means none. A later call replaces an earlier one. */
void lo_http_respond(lo_http_response *res, int status,
                     const char *content_type, const char *body, size_t len);
/* Add a response header (copied). Returns 0, LO_EINVAL for a name or value
 * holding CR or LF, or LO_ENOMEM. */
int lo_http_add_header(lo_http_response *res, const char *name,
                       const char *value);

/* A streamed response (chunked transfer encoding on HTTP/1.1), for SSE or
 * any body produced piece by piece. The server calls produce(ud, buf, max)
 * on one of its threads to fill the next piece; it returns the bytes written
 * (at most max), 0 when no data is ready yet (the server parks the
 * connection and asks again a little later, 1 ms at first backing off to
 * 20 ms while it keeps answering 0), or -1 at the end of the stream. produce
 * must not block. The server owns ud from this call on: it calls
 * free_fn(ud) (when not NULL) exactly once, when the stream ends, when the
 * client disconnects, when the server stops, or at once if the response is
 * replaced or cannot be created. For content_type "text/event-stream" the
 * server adds "Cache-Control: no-cache" unless the handler set one. */
void lo_http_stream(lo_http_response *res, int status, const char *content_type,
                    ssize_t (*produce)(void *ud, char *buf, size_t max),
                    void *ud, void (*free_fn)(void *ud));

typedef void (*lo_http_handler)(const lo_http_request *req,
                                lo_http_response *res, void *ud);

typedef struct lo_http_config {
    const char *bind;    /* address to listen on; NULL = "127.0.0.1" */
    int port;            /* 0 = ephemeral (see lo_http_server_port) */
    size_t max_body;     /* 0 = 10 MiB; a larger upload gets 413 */
    int threads;         /* 0 = 2: size of the thread pool */
    unsigned timeout_s;  /* 0 = 30: idle connection timeout */
    /* One line per answered request, "METHOD PATH STATUS BYTES MS", and
     * libmicrohttpd's own diagnostics; called from server threads. */
    void (*log)(const char *line, void *ud);
    void *log_ud;
    /* The JSON body of the 413 for an over-limit upload to this path (a
     * string that outlives the server), called from server threads; NULL,
     * or a NULL answer, gives the server's own {"error": ...}. */
    const char *(*too_large_body)(const char *path, void *ud);
    void *too_large_ud;
} lo_http_config;

#define LO_HTTP_DEFAULT_BIND "127.0.0.1"
#define LO_HTTP_DEFAULT_MAX_BODY ((size_t)10 << 20)
#define LO_HTTP_DEFAULT_THREADS 2
#define LO_HTTP_DEFAULT_TIMEOUT_S 30u

/* Start serving; cfg may be NULL (all defaults). NULL on failure with err
 * filled (LO_EINVAL bad address, LO_EIO cannot bind). */
lo_http_server *lo_http_server_start(const lo_http_config *cfg, lo_error *err);

/* Route method + pattern to h. method NULL or "*" matches any method.
 * pattern is an exact path, or a prefix ending in a star ("/v1beta/models/" + "*"
 * matches "/v1beta/models/x:generateContent"). Routes are tried in the order
 * they were added, first match wins; no match answers 404 with the JSON body
 * {"error":"not found"}. Returns 0, LO_EINVAL or LO_ENOMEM. */
int lo_http_route(lo_http_server *s, const char *method, const char *pattern,
                  lo_http_handler h, void *ud);

/* The bound TCP port (the ephemeral one when cfg.port was 0). */
int lo_http_server_port(const lo_http_server *s);

/* Stop: ends open streams (their free_fn runs), closes every connection,
 * joins the threads and frees the server. NULL is a no-op. */
void lo_http_server_stop(lo_http_server *s);

/* ---- client ---- */

typedef struct lo_http_call {
    const char *method;               /* NULL = "GET" (or "POST" with a body) */
    const char *url;
    const char *const *headers;       /* "Name: value", NULL-terminated; may be NULL */
    const char *body;                 /* may be NULL */
    size_t body_len;
    long timeout_ms;                  /* whole transfer; 0 = none */
    long connect_timeout_ms;          /* 0 = libcurl's default (300 s) */
    /* Streaming: when set and the response status is 2xx, body bytes go to
     * on_data as they arrive instead of into lo_http_result.body; return
     * non-zero to abort (lo_http_do then returns LO_ECANCELED). A non-2xx
     * body is still collected into lo_http_result.body, so the caller can
     * read the error the server sent. */
    int (*on_data)(const char *buf, size_t len, void *ud);
    void *ud;
    const atomic_bool *cancel;        /* set to true to abort; may be NULL */
    size_t max_response;              /* collected body cap; 0 = 64 MiB */
} lo_http_call;

#define LO_HTTP_DEFAULT_MAX_RESPONSE ((size_t)64 << 20)

typedef struct lo_http_result {
    long status;       /* HTTP status; 0 when no response arrived */
    lo_buf body;       /* collected body (empty when streamed to on_data) */
    json_t *headers;   /* response headers: lowercased name -> string, last wins */
    double total_s;    /* wall time of the transfer */
} lo_http_result;

/* Perform the call. Returns 0 whenever an HTTP response arrived, whatever
 * its status. Errors: LO_EINVAL (bad call), LO_EIO for transport failures
 * with libcurl's message (a timeout's message says "timed out"),
 * LO_ECANCELED (cancel flag or on_data abort), LO_ETOOBIG (body over
 * max_response). r is always initialised and must be released. */
int lo_http_do(const lo_http_call *c, lo_http_result *r, lo_error *err);
void lo_http_result_release(lo_http_result *r);

#endif
