/* The twin server: an lo_http_server with each provider's routes, the call
 * counter, deterministic ids, and the faults a tape entry can inject
 * (latency, slow drip, cut streams, malformed bodies). Provider files build
 * the bodies; this file decides how and when their bytes leave. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "twin/twin_internal.h"

/* ------------------------------------------------------------ providers */

static const struct {
    const char *name;
    unsigned mask;
} PROVIDERS[] = {
    {"anthropic", LO_TWIN_ANTHROPIC},
    {"openai", LO_TWIN_OPENAI},
    {"gemini", LO_TWIN_GEMINI},
    {"all", LO_TWIN_ALL},
};

unsigned lo_twin_supported(void)
{
    return LO_TWIN_ANTHROPIC | LO_TWIN_OPENAI | LO_TWIN_GEMINI;
}

int lo_twin_provider_parse(const char *name, unsigned *mask, lo_error *err)
{
    for (size_t i = 0; i < sizeof PROVIDERS / sizeof PROVIDERS[0]; i++)
        if (lo_str_eq(name, PROVIDERS[i].name)) {
            *mask = PROVIDERS[i].mask;
            return 0;
        }
    return lo_error_set(err, LO_EINVAL,
                        "unknown provider '%s' (known: anthropic, openai, gemini, all)",
                        name ? name : "");
}

/* ------------------------------------------------------------ helpers */

void twin_log(lo_twin *t, const char *fmt, ...)
{
    if (!t->log)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* the callback may write to one FILE from many server threads */
    pthread_mutex_lock(&t->log_mu);
    t->log(line, t->log_ud);
    pthread_mutex_unlock(&t->log_mu);
}

/* splitmix64: a good spread from consecutive seeds, no state to share. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void twin_id(char *out, size_t len, const char *prefix, const char *salt, uint64_t seed,
             size_t n)
{
    static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    size_t p = (size_t)snprintf(out, len, "%s", prefix);
    uint64_t x = lo_hash(salt, strlen(salt)) ^ mix(seed);
    for (size_t i = 0; i < n && p + 1 < len; i++) {
        x = mix(x + i);
        out[p++] = B62[x % 62];
    }
    out[p < len ? p : len - 1] = '\0';
}

bool twin_key_ok(const lo_twin *t, const char *key)
{
    if (!key || !*key)
        return false;
    if (!t->api_key)
        return true;
    size_t a = strlen(key), b = strlen(t->api_key);
    unsigned char diff = (unsigned char)(a != b);
    /* compare the whole configured key whatever the presented length */
    for (size_t i = 0; i < b; i++)
        diff |= (unsigned char)(t->api_key[i] ^ (i < a ? key[i] : 0));
    return diff == 0;
}

int64_t twin_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ feeds */

/* A response sent piece by piece from the server's producer callback, so a
 * delay never blocks a server thread: the producer answers 0 (not yet) until
 * the piece is due. */
struct feed {
    char *data;     /* the parts, back to back (cap bytes allocated) */
    size_t cap;
    size_t *end;    /* where each part ends in data */
    size_t n, next; /* parts to send; the one being sent */
    size_t off;     /* bytes of data already sent */
    int64_t due;    /* monotonic ms before which nothing is sent */
    long drip_ms;
    lo_twin *t;     /* set by twin_watch_next: log a stream the client left */
    char what[240];
};

/* The label for the next twin_send_parts on this thread: handlers run on
 * the server's thread and send once, so the exchange that is answering
 * names its stream without every send function carrying it. */
static _Thread_local struct {
    lo_twin *t;
    char what[240];
} next_watch;

void twin_watch_next(lo_twin *t, const char *fmt, ...)
{
    next_watch.t = t;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(next_watch.what, sizeof next_watch.what, fmt, ap);
    va_end(ap);
}

static void feed_free(void *ud)
{
    struct feed *f = ud;
    /* the server frees a stream early only when the client went away (or
     * the twin is stopping): the twin goes on serving, the log says so */
    if (f->t && f->next < f->n)
        twin_log(f->t, "%s: the client closed the stream after %zu of %zu parts", f->what,
                 f->next, f->n);
    twin_buf_recycle(f->data, f->cap);
    free(f->end);
    free(f);
}

static ssize_t feed_produce(void *ud, char *buf, size_t max)
{
    struct feed *f = ud;
    if (f->next >= f->n)
        return -1;
    if (twin_mono_ms() < f->due)
        return 0;
    /* Without a drip every part is due now: fill the buffer with as many
     * as fit, so a 200-event stream is a few writes, not 200. A drip sends
     * one part a call, each after its delay. */
    size_t stop = f->drip_ms ? f->end[f->next] : f->end[f->n - 1];
    size_t k = stop - f->off < max ? stop - f->off : max;
    memcpy(buf, f->data + f->off, k);
    f->off += k;
    while (f->next < f->n && f->off >= f->end[f->next])
        f->next++;
    if (f->drip_ms && f->off == stop)
        f->due = twin_mono_ms() + f->drip_ms;
    return (ssize_t)k;
}

/* Cut a JSON text in half: what a proxy that dropped the connection, or a
 * buggy server, leaves a client to parse. */
static char *malform(const char *s)
{
    size_t n = strlen(s);
    return lo_strndup(s, n > 1 ? n / 2 : 0);
}

void twin_send_parts(lo_http_response *res, int status, const char *ctype, twin_events *l,
                     const lo_tape_fault *f)
{
    struct feed *fd = l->oom ? NULL : lo_calloc(1, sizeof *fd);
    if (!fd) {
        twin_events_release(l);
        lo_http_respond(res, 500, "application/json", NULL, 0);
        return;
    }
    fd->data = l->b.data;
    fd->cap = l->b.cap;
    fd->end = l->end;
    fd->n = l->n;
    memset(l, 0, sizeof *l);
    fd->t = next_watch.t;
    memcpy(fd->what, next_watch.what, sizeof fd->what);
    next_watch.t = NULL;
    /* cut_after: the parts past the cut are never sent */
    if (f && f->cut_after >= 0 && (size_t)f->cut_after < fd->n)
        fd->n = (size_t)f->cut_after;
    fd->due = twin_mono_ms() + (f ? f->latency_ms : 0);
    fd->drip_ms = f ? f->drip_ms : 0;
    lo_http_stream(res, status, ctype, feed_produce, fd, feed_free);
}

void twin_send(lo_http_response *res, int status, const char *ctype, const char *body,
               size_t len, const lo_tape_fault *f)
{
    if (!f || (!f->latency_ms && !f->malformed)) {
        lo_http_respond(res, status, ctype, body, len);
        return;
    }
    char *copy = f->malformed ? malform(body) : lo_strndup(body, len);
    if (copy && !f->latency_ms) {
        lo_http_respond(res, status, ctype, copy, strlen(copy));
        free(copy);
        return;
    }
    twin_events l = {0};
    if (!copy)
        l.oom = true;
    else
        twin_events_add(&l, copy, strlen(copy));
    free(copy);
    lo_tape_fault g = *f;
    g.cut_after = -1; /* a single body is never cut by event count */
    twin_send_parts(res, status, ctype, &l, &g);
}

void twin_send_events(lo_http_response *res, twin_events *l, const lo_tape_fault *f)
{
    if (f && f->malformed && l->n > 0 && !l->oom) {
        /* The second event (the first after the opening one) carries data
         * that is not JSON: the event framing stays intact, the payload
         * does not parse. */
        size_t i = l->n > 1 ? 1 : 0, len;
        const char *at = twin_events_at(l, i, &len);
        char *ev = lo_strndup(at, len);
        const char *data = ev ? strstr(ev, "data: ") : NULL;
        size_t keep = data ? (size_t)(data + 6 - ev) + strlen(data + 6) / 2 : 0;
        free(ev);
        if (keep) {
            twin_events m = {0};
            for (size_t k = 0; k < l->n; k++) {
                const char *e = twin_events_at(l, k, &len);
                if (k != i) {
                    twin_events_add(&m, e, len);
                    continue;
                }
                lo_buf *b = twin_events_buf(&m);
                if (lo_buf_append(b, e, keep) || lo_buf_append(b, "\n\n", 2))
                    m.oom = true;
                twin_events_end(&m);
            }
            twin_events_release(l);
            *l = m;
        }
    }
    twin_send_parts(res, 200, "text/event-stream", l, f);
}

void twin_send_raw_sse(lo_http_response *res, const char *text, const lo_tape_fault *f)
{
    twin_events l = {0};
    const char *p = text;
    while (*p && !l.oom) {
        /* an event ends at a blank line: "\n\n" (or "\r\n\r\n") */
        const char *e = strstr(p, "\n\n");
        const char *e2 = strstr(p, "\r\n\r\n");
        size_t len;
        if (e2 && (!e || e2 < e))
            len = (size_t)(e2 - p) + 4;
        else if (e)
            len = (size_t)(e - p) + 2;
        else
            len = strlen(p);
        twin_events_add(&l, p, len);
        p += len;
    }
    twin_send_events(res, &l, f);
}

/* ------------------------------------------------------------ lifecycle */

/* An over-limit upload gets 413 before any handler runs: with the body
 * each provider's SDK parses as its error (Anthropic documents
 * request_too_large; Gemini's own front end answers 400 here). */
static const char *too_large_body(const char *path, void *ud)
{
    (void)ud;
    if (lo_str_starts(path, "/v1beta/"))
        return "{\"error\":{\"code\":413,\"message\":\"Request payload size exceeds the "
               "limit.\",\"status\":\"INVALID_ARGUMENT\"}}";
    if (lo_str_starts(path, "/v1/messages"))
        return "{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\",\"message\":"
               "\"Request exceeds the maximum allowed number of bytes.\"}}";
    return "{\"error\":{\"message\":\"Request body too large.\",\"type\":"
           "\"invalid_request_error\",\"param\":null,\"code\":\"request_too_large\"}}";
}

lo_twin *lo_twin_start(const lo_twin_config *cfg, lo_error *err)
{
    unsigned mask = cfg->providers;
    if (!mask) {
        if (!cfg->provider) {
            lo_error_set(err, LO_EINVAL, "no provider given (anthropic, openai, gemini, all)");
            return NULL;
        }
        if (lo_twin_provider_parse(cfg->provider, &mask, err))
            return NULL;
    }
    /* "all" is every provider this build has */
    if (mask == LO_TWIN_ALL)
        mask = lo_twin_supported();
    if (mask & ~lo_twin_supported()) {
        lo_error_set(err, LO_EINVAL, "not yet: anthropic and openai only in this build");
        return NULL;
    }
    lo_twin *t = lo_calloc(1, sizeof *t);
    if (!t) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&t->log_mu, NULL);
    pthread_mutex_init(&t->cache_mu, NULL);
    atomic_init(&t->clock_skew_ms, 0);
    t->cache_min_tokens = cfg->cache_min_tokens;
    if (cfg->fault) {
        t->fault = *cfg->fault;
        t->has_fault = true;
    }
    t->log = cfg->log;
    t->log_ud = cfg->log_ud;
    if (cfg->n_tapes) {
        t->tapes = lo_calloc(cfg->n_tapes, sizeof *t->tapes);
        if (!t->tapes)
            goto nomem;
        memcpy(t->tapes, cfg->tapes, cfg->n_tapes * sizeof *t->tapes);
        t->n_tapes = cfg->n_tapes;
    }
    if (cfg->api_key && !(t->api_key = lo_strdup(cfg->api_key)))
        goto nomem;
    if (lo_llm_catalog_load(cfg->models_path, &t->catalog, err))
        goto fail;
    /* Tapes can hold whole conversations; the server's log is not used
     * (the twin writes its own line per request, with the tape entry).
     * Record mode waits on the upstream in its handlers: more threads. */
    lo_http_config hc = {.bind = cfg->bind, .port = cfg->port, .max_body = cfg->max_body,
                         .threads = cfg->upstream ? 16 : 4, .too_large_body = too_large_body};
    if (!(t->srv = lo_http_server_start(&hc, err)))
        goto fail;
    if (cfg->upstream) {
        if (twin_record_start(t, cfg->upstream, cfg->record_path, err))
            goto fail;
        goto started;
    }
    /* Gemini's paths (/v1beta/...) collide with no one's; they go before
     * the catch-alls of the others. */
    if ((mask & LO_TWIN_GEMINI) &&
        twin_gemini_routes(t, !(mask & (LO_TWIN_ANTHROPIC | LO_TWIN_OPENAI)), err))
        goto fail;
    /* First match wins: OpenAI's own paths go first, so Anthropic's
     * catch-all cannot shadow them; GET /v1/models and unknown paths belong
     * to Anthropic when both are served (docs/twins.md). */
    if ((mask & LO_TWIN_OPENAI) && twin_openai_routes(t, !(mask & LO_TWIN_ANTHROPIC), err))
        goto fail;
    if ((mask & LO_TWIN_ANTHROPIC) && twin_anthropic_routes(t, err))
        goto fail;
started:;
    const char *host = cfg->bind && *cfg->bind ? cfg->bind : LO_HTTP_DEFAULT_BIND;
    /* 0.0.0.0 and :: listen everywhere; a client reaches them on loopback */
    if (!strcmp(host, "0.0.0.0"))
        host = "127.0.0.1";
    bool v6 = strchr(host, ':') != NULL;
    if (!strcmp(host, "::"))
        host = "::1";
    snprintf(t->base_url, sizeof t->base_url, "http://%s%s%s:%d", v6 ? "[" : "", host,
             v6 ? "]" : "", lo_http_server_port(t->srv));
    return t;
nomem:
    lo_error_set(err, LO_ENOMEM, "out of memory");
fail:
    lo_twin_stop(t);
    return NULL;
}

int lo_twin_port(const lo_twin *t)
{
    return t && t->srv ? lo_http_server_port(t->srv) : 0;
}

const char *lo_twin_base_url(const lo_twin *t)
{
    return t ? t->base_url : "";
}

long lo_twin_calls(const lo_twin *t)
{
    return t ? atomic_load(&((lo_twin *)t)->calls) : 0;
}

void lo_twin_stop(lo_twin *t)
{
    if (!t)
        return;
    /* record mode: in-flight upstream calls end first, so no handler waits */
    twin_record_cancel(t);
    lo_http_server_stop(t->srv);
    twin_record_stop(t);
    lo_llm_catalog_free(t->catalog);
    free(t->tapes);
    free(t->api_key);
    twin_cache_free(t);
    pthread_mutex_destroy(&t->cache_mu);
    pthread_mutex_destroy(&t->log_mu);
    free(t);
}
