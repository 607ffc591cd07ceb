/* Record mode, the proxy half: every request goes on to the real upstream
 * with the client's own headers (keys included: the upstream needs them),
 * its answer comes back to the client, and each generation exchange is
 * appended to a tape (record_parse.c turns it into an entry).
 *
 * A request runs as a job on a thread of its own, so a stream can pass
 * through as it arrives: the handler waits for the upstream's first bytes
 * (a stream) or its whole answer, then either answers at once or hands the
 * client a producer reading the job's buffer. The job keeps every byte, so
 * the exchange can be recorded when it ends.
 *
 * Keys never reach the tape: no header is written, the query string (which
 * may hold Gemini's key=) is left out of comments, and every key the client
 * presented is replaced by "[redacted]" in the line before it is written. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "twin/twin_internal.h"

/* The client headers passed on upstream; anything else stays behind. */
static const char *const FORWARD[] = {
    "content-type", "accept", "user-agent", "anthropic-version", "anthropic-beta",
    "x-api-key", "authorization", "x-goog-api-key", "x-goog-api-client", "openai-organization",
    "openai-project", "openai-beta", NULL};
/* The upstream headers passed back, by prefix. */
static const char *const BACK[] = {"request-id", "x-request-id", "retry-after", "anthropic-",
                                   "x-ratelimit-", "openai-", "x-goog-", "x-should-retry", NULL};

#define UPSTREAM_TIMEOUT_MS (15L * 60 * 1000)
#define MAX_SECRETS 4

struct twin_recorder {
    char *origin;  /* scheme://host[:port] */
    char *prefix;  /* the upstream URL's path without a trailing slash, or "" */
    FILE *out;
    char *path;    /* the tape being written */
    pthread_mutex_t mu; /* out, jobs */
    pthread_cond_t idle;
    int jobs;
    long written;
    atomic_bool cancel;
};

typedef struct job {
    lo_twin *t;
    struct twin_recorder *rec;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    /* the request, copied: the handler's strings die with it */
    char *method, *url, *path, *body;
    size_t body_len;
    char **hdrs; /* "Name: value", NULL-terminated */
    char *secrets[MAX_SECRETS];
    bool stream;
    twin_record_kind kind;
    /* the answer */
    lo_buf got;   /* 2xx body bytes as they arrive (a stream is kept whole) */
    size_t sent;  /* of got, passed to the client */
    bool started, done;
    long status;
    json_t *headers;
    lo_buf err_body; /* a non-2xx body */
    int rc;
    char why[300];
    int64_t t0;
} job;

static void job_release(job *j)
{
    pthread_mutex_lock(&j->mu);
    bool last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (!last)
        return;
    free(j->method);
    free(j->url);
    free(j->path);
    free(j->body);
    for (char **h = j->hdrs; h && *h; h++)
        free(*h);
    free(j->hdrs);
    for (int i = 0; i < MAX_SECRETS; i++)
        free(j->secrets[i]);
    lo_buf_release(&j->got);
    lo_buf_release(&j->err_body);
    json_decref(j->headers);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

/* ------------------------------------------------------------ writing */

/* Every occurrence of each secret in line, replaced. */
static char *redact(const char *line, char *const *secrets)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    for (const char *p = line; *p;) {
        size_t hit = 0;
        for (int i = 0; i < MAX_SECRETS && !hit; i++)
            if (secrets[i] && *secrets[i] && !strncmp(p, secrets[i], strlen(secrets[i])))
                hit = strlen(secrets[i]);
        if (hit) {
            lo_buf_puts(&b, "[redacted]");
            p += hit;
        } else {
            lo_buf_putc(&b, *p++);
        }
    }
    return lo_buf_steal(&b);
}

static void record(job *j)
{
    json_t *req = json_loadb(j->body ? j->body : "", j->body_len, 0, NULL);
    bool ok2xx = j->status >= 200 && j->status < 300;
    const lo_buf *body = ok2xx ? &j->got : &j->err_body;
    long ra = -1;
    int64_t v;
    const char *rh = json_string_value(json_object_get(j->headers, "retry-after"));
    if (rh && !lo_parse_int64(rh, &v) && v >= 0)
        ra = (long)v;
    char comment[400];
    const char *host = strstr(j->rec->origin, "://");
    snprintf(comment, sizeof comment, "recorded from %s: %s %s, %ld in %lld ms%s%s",
             host ? host + 3 : j->rec->origin, j->method, j->path, j->status,
             (long long)(twin_mono_ms() - j->t0), j->rc ? "; cut short: " : "",
             j->rc ? j->why : "");
    json_t *e = json_is_object(req) && j->status
                    ? twin_record_entry(j->kind, j->path, req, j->status,
                                        body->data ? body->data : "", body->len, ra, comment)
                    : NULL;
    json_decref(req);
    char *line = e ? json_dumps(e, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(e);
    char *clean = line ? redact(line, j->secrets) : NULL;
    free(line);
    if (!clean)
        return;
    struct twin_recorder *r = j->rec;
    pthread_mutex_lock(&r->mu);
    /* one line at a time, flushed: a twin killed mid-run keeps what it wrote */
    if (fputs(clean, r->out) >= 0 && fputc('\n', r->out) != EOF && fflush(r->out) == 0)
        r->written++;
    pthread_mutex_unlock(&r->mu);
    twin_log(j->t, "record %s %s %ld: written to %s", j->method, j->path, j->status, r->path);
    free(clean);
}

/* ------------------------------------------------------------ the job */

static int on_data(const char *buf, size_t len, void *ud)
{
    job *j = ud;
    pthread_mutex_lock(&j->mu);
    int rc = lo_buf_append(&j->got, buf, len);
    j->started = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return rc ? 1 : 0;
}

static void *job_main(void *arg)
{
    job *j = arg;
    lo_http_call c = {.method = j->method, .url = j->url, .headers = (const char *const *)j->hdrs,
                      .body = j->body, .body_len = j->body_len,
                      .timeout_ms = UPSTREAM_TIMEOUT_MS, .connect_timeout_ms = 30000,
                      .on_data = on_data, .ud = j, .cancel = &j->rec->cancel};
    lo_http_result r;
    lo_error err = {0};
    int rc = lo_http_do(&c, &r, &err);
    pthread_mutex_lock(&j->mu);
    j->rc = rc;
    /* lo_http_do's messages name the URL without its query, never a header */
    snprintf(j->why, sizeof j->why, "%.290s", rc ? err.msg : "");
    j->status = r.status;
    j->headers = r.headers;
    r.headers = NULL;
    j->err_body = r.body;
    lo_buf_init(&r.body, 0);
    pthread_mutex_unlock(&j->mu);
    /* written before the client sees the end, so a client that has its
     * answer finds the exchange on the tape; not when the twin is stopping */
    if (j->kind != TWIN_RECORD_NONE && !(rc == LO_ECANCELED && atomic_load(&j->rec->cancel)))
        record(j);
    pthread_mutex_lock(&j->mu);
    j->done = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    lo_http_result_release(&r);
    struct twin_recorder *rec = j->rec;
    job_release(j);
    pthread_mutex_lock(&rec->mu);
    if (--rec->jobs == 0)
        pthread_cond_broadcast(&rec->idle);
    pthread_mutex_unlock(&rec->mu);
    return NULL;
}

/* ------------------------------------------------------------ the handler */

static ssize_t produce(void *ud, char *buf, size_t max)
{
    job *j = ud;
    pthread_mutex_lock(&j->mu);
    ssize_t n;
    if (j->sent < j->got.len) {
        size_t k = j->got.len - j->sent < max ? j->got.len - j->sent : max;
        memcpy(buf, j->got.data + j->sent, k);
        j->sent += k;
        n = (ssize_t)k;
    } else {
        n = j->done ? -1 : 0;
    }
    pthread_mutex_unlock(&j->mu);
    return n;
}

static void produce_free(void *ud)
{
    job_release(ud);
}

/* Keep a presented key, so the line written can be cleaned of it. */
static void keep_secret(job *j, const char *v)
{
    if (!v || !*v)
        return;
    if (!strncasecmp(v, "Bearer ", 7))
        v += 7;
    for (int i = 0; i < MAX_SECRETS; i++)
        if (!j->secrets[i]) {
            j->secrets[i] = lo_strdup(v);
            return;
        }
}

static job *job_new(lo_twin *t, const lo_http_request *req)
{
    struct twin_recorder *rec = t->rec;
    job *j = lo_calloc(1, sizeof *j);
    size_t nh = sizeof FORWARD / sizeof FORWARD[0];
    char **hdrs = j ? lo_calloc(nh, sizeof *hdrs) : NULL;
    if (!hdrs) {
        free(j);
        return NULL;
    }
    j->t = t;
    j->rec = rec;
    j->refs = 1;
    j->hdrs = hdrs;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    lo_buf_init(&j->got, 0);
    lo_buf_init(&j->err_body, 0);
    j->t0 = twin_mono_ms();
    size_t k = 0;
    for (size_t i = 0; FORWARD[i]; i++) {
        const char *v = lo_http_header(req, FORWARD[i]);
        if (!v)
            continue;
        lo_buf b;
        lo_buf_init(&b, 0);
        lo_buf_printf(&b, "%s: %s", FORWARD[i], v);
        hdrs[k++] = lo_buf_steal(&b);
        if (!strcmp(FORWARD[i], "x-api-key") || !strcmp(FORWARD[i], "authorization") ||
            !strcmp(FORWARD[i], "x-goog-api-key"))
            keep_secret(j, v);
    }
    keep_secret(j, lo_http_query_param(req, "key"));
    /* the upstream's path prefix, unless the client's path already has it */
    const char *pre = lo_str_starts(req->path, rec->prefix) ? "" : rec->prefix;
    lo_buf u;
    lo_buf_init(&u, 0);
    lo_buf_printf(&u, "%s%s%s%s%s", rec->origin, pre, req->path, *req->query ? "?" : "",
                  req->query);
    j->url = lo_buf_steal(&u);
    j->method = lo_strdup(req->method);
    j->path = lo_strdup(req->path);
    j->body = req->body_len ? lo_strndup(req->body, req->body_len) : NULL;
    j->body_len = req->body_len;
    j->kind = twin_record_kind_of(req->path);
    json_t *b = json_loadb(req->body, req->body_len, 0, NULL);
    j->stream = json_is_true(json_object_get(b, "stream")) ||
                strstr(req->path, ":streamGenerateContent") != NULL;
    json_decref(b);
    if (!j->url || !j->method || !j->path || (req->body_len && !j->body)) {
        job_release(j);
        return NULL;
    }
    return j;
}

static void answer_error(lo_twin *t, const lo_http_request *req, lo_http_response *res,
                         int status, const char *why)
{
    json_t *e = json_pack("{s:{s:s, s:s}}", "error", "type", "twin_record_error", "message", why);
    char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
    json_decref(e);
    lo_http_respond(res, status, "application/json", s, s ? strlen(s) : 0);
    free(s);
    twin_log(t, "record %s %s %d: %s", req->method, req->path, status, why);
}

static void h_proxy(const lo_http_request *req, lo_http_response *res, void *ud)
{
    lo_twin *t = ud;
    struct twin_recorder *rec = t->rec;
    job *j = job_new(t, req);
    if (!j) {
        answer_error(t, req, res, 500, "out of memory in the twin");
        return;
    }
    j->refs = 2; /* the thread's and this handler's */
    if (j->kind != TWIN_RECORD_NONE)
        atomic_fetch_add(&t->calls, 1);
    pthread_mutex_lock(&rec->mu);
    rec->jobs++;
    pthread_mutex_unlock(&rec->mu);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    if (pthread_create(&th, &at, job_main, j) != 0) {
        pthread_attr_destroy(&at);
        pthread_mutex_lock(&rec->mu);
        rec->jobs--;
        pthread_mutex_unlock(&rec->mu);
        j->refs = 1;
        job_release(j);
        answer_error(t, req, res, 503, "the twin cannot start a thread for the upstream call");
        return;
    }
    pthread_attr_destroy(&at);
    pthread_mutex_lock(&j->mu);
    while (!j->done && !(j->stream && j->started))
        pthread_cond_wait(&j->cv, &j->mu);
    bool streaming = !j->done;
    pthread_mutex_unlock(&j->mu);
    if (streaming) {
        /* what the stream is: SSE, or Gemini's JSON array without alt=sse */
        bool array = strstr(req->path, ":streamGenerateContent") &&
                     !lo_str_eq(lo_http_query_param(req, "alt"), "sse");
        lo_http_stream(res, 200, array ? "application/json; charset=UTF-8" : "text/event-stream",
                       produce, j, produce_free);
        twin_log(t, "record %s %s 200 stream", req->method, req->path);
        return;
    }
    if (!j->status) {
        char why[400];
        snprintf(why, sizeof why, "twin record mode: the upstream did not answer: %s", j->why);
        answer_error(t, req, res, 502, why);
        job_release(j);
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(j->headers, k, v)
        for (size_t i = 0; BACK[i]; i++)
            if (lo_str_starts(k, BACK[i]))
                lo_http_add_header(res, k, json_string_value(v));
    bool ok2xx = j->status >= 200 && j->status < 300;
    const lo_buf *body = ok2xx ? &j->got : &j->err_body;
    const char *ct = json_string_value(json_object_get(j->headers, "content-type"));
    lo_http_respond(res, (int)j->status, ct ? ct : "application/json", body->data, body->len);
    twin_log(t, "record %s %s %ld", req->method, req->path, j->status);
    job_release(j);
}

/* ------------------------------------------------------------ lifecycle */

int twin_record_start(lo_twin *t, const char *upstream, const char *path, lo_error *err)
{
    const char *sep = upstream ? strstr(upstream, "://") : NULL;
    if (!sep || !(lo_str_starts(upstream, "http://") || lo_str_starts(upstream, "https://")) ||
        !sep[3] || sep[3] == '/')
        return lo_error_set(err, LO_EINVAL,
                            "--upstream wants an http:// or https:// URL with a host, not '%s'",
                            upstream ? upstream : "");
    if (strchr(upstream, '?') || strchr(upstream, '#'))
        return lo_error_set(err, LO_EINVAL, "--upstream takes no query or fragment");
    if (!path || !*path)
        return lo_error_set(err, LO_EINVAL, "record mode needs a tape to write (--out FILE)");
    struct twin_recorder *r = lo_calloc(1, sizeof *r);
    if (!r)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    const char *slash = strchr(sep + 3, '/');
    size_t olen = slash ? (size_t)(slash - upstream) : strlen(upstream);
    r->origin = lo_strndup(upstream, olen);
    size_t plen = slash ? strlen(slash) : 0;
    while (plen && slash[plen - 1] == '/')
        plen--;
    r->prefix = lo_strndup(slash ? slash : "", plen);
    r->path = lo_strdup(path);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->idle, NULL);
    atomic_init(&r->cancel, false);
    t->rec = r;
    if (!r->origin || !r->prefix || !r->path)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    if (!(r->out = fopen(path, "w")))
        return lo_error_set(err, LO_EIO, "%s: cannot write the tape: %s", path, strerror(errno));
    int rc = lo_http_route(t->srv, NULL, "/*", h_proxy, t);
    if (rc)
        return lo_error_set(err, rc, "cannot add the record route");
    return 0;
}

void twin_record_cancel(lo_twin *t)
{
    if (t->rec)
        atomic_store(&t->rec->cancel, true);
}

void twin_record_stop(lo_twin *t)
{
    struct twin_recorder *r = t->rec;
    if (!r)
        return;
    atomic_store(&r->cancel, true);
    /* jobs end soon after the cancel (libcurl checks it about once a second) */
    pthread_mutex_lock(&r->mu);
    while (r->jobs > 0)
        pthread_cond_wait(&r->idle, &r->mu);
    pthread_mutex_unlock(&r->mu);
    if (r->out)
        fclose(r->out);
    free(r->origin);
    free(r->prefix);
    free(r->path);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->idle);
    free(r);
    t->rec = NULL;
}
