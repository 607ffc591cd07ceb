/* The HTTP exchange every adapter makes, driven by its lo_llm_wire_ table:
 * translate, POST, classify the outcome, parse (complete) or feed the SSE
 * parser (stream), and the stream-event plumbing the adapters' stream
 * translators share. Declared in adapter_internal.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "adapter_internal.h"

static void prepared_release(lo_llm_prepared_ *p)
{
    lo_llm_headers_release_(&p->h);
    free(p->body);
    memset(p, 0, sizeof *p);
}

/* Prepare and POST; returns non-zero only when nothing was sent. The HTTP
 * outcome is in *res and *http_rc. */
static int send(const lo_llm_wire_ *w, const lo_llm_call *call, const lo_llm_request *req,
                bool streaming, int (*on_data)(const char *, size_t, void *), void *ud,
                lo_llm_prepared_ *p, lo_http_result *res, int *http_rc, lo_error *he,
                lo_llm_error *err)
{
    memset(p, 0, sizeof *p);
    int rc = w->prepare(call, req, streaming, p, err);
    if (rc) {
        prepared_release(p);
        return rc;
    }
    *http_rc = lo_llm_http_post_(call, p->url, (const char *const *)p->h.v, p->h.n, p->body,
                                 on_data, ud, res, he);
    /* The headers hold the key: gone as soon as the request is. */
    lo_llm_headers_release_(&p->h);
    return 0;
}

/* What the HTTP layer reported, before any body is looked at. */
static int classify(const lo_llm_wire_ *w, int http_rc, const lo_error *he,
                    const lo_http_result *res, lo_llm_error *err)
{
    if (http_rc)
        return lo_llm_transport_error_(http_rc, he, err, w->provider);
    if (res->status < 200 || res->status > 299)
        return w->http_error(res, err);
    return 0;
}

int lo_llm_complete_run_(const lo_llm_wire_ *w, const lo_llm_call *call,
                         const lo_llm_request *req, lo_llm_response **out, lo_llm_error *err)
{
    *out = NULL;
    lo_llm_prepared_ p;
    lo_http_result res;
    lo_error he = {0};
    int hrc = 0;
    memset(&res, 0, sizeof res);
    int rc = send(w, call, req, false, NULL, NULL, &p, &res, &hrc, &he, err);
    if (rc)
        return rc;
    if ((rc = classify(w, hrc, &he, &res, err)) == 0) {
        json_error_t je;
        json_t *root = json_loadb(res.body.data ? res.body.data : "", res.body.len, 0, &je);
        lo_llm_response *r = root ? lo_llm_response_new() : NULL;
        if (!root) {
            rc = lo_llm_fail_(err, w->provider, LO_LLM_ERR_PROVIDER,
                              "malformed JSON in the response body: %s (at %d)", je.text,
                              je.position);
        } else if (!r) {
            rc = lo_llm_oom_(err, w->provider);
        } else if ((rc = w->parse(root, r, err)) == 0) {
            r->raw = root;
            root = NULL;
            if (w->annotate && (rc = w->annotate(&res, &p, r, err)) != 0) {
                /* r is released below */
            } else {
                *out = r;
                r = NULL;
            }
        }
        lo_llm_response_free(r);
        json_decref(root);
    }
    lo_http_result_release(&res);
    prepared_release(&p);
    return rc;
}

/* ---- streams ---- */

int lo_llm_sfail_(lo_llm_stream_ *s, int rc)
{
    s->failed = true;
    s->rc = rc;
    return 1;
}

int lo_llm_soom_(lo_llm_stream_ *s)
{
    return lo_llm_sfail_(s, lo_llm_oom_(s->err, s->provider));
}

int lo_llm_sbad_(lo_llm_stream_ *s, const char *fmt, ...)
{
    lo_llm_error_set(s->err, LO_LLM_ERR_STREAM, s->provider, "%s", "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err->message, sizeof s->err->message, fmt, ap);
    va_end(ap);
    return lo_llm_sfail_(s, LO_EIO);
}

int lo_llm_emit_(lo_llm_stream_ *s, lo_llm_stream_event *ev)
{
    if (!ev)
        return lo_llm_soom_(s);
    s->delivered = true;
    int stop = s->fn ? s->fn(ev, s->ud) : 0;
    ev->response = NULL; /* the accumulated response stays ours (FINISH lends it) */
    lo_llm_stream_event_free(ev);
    if (stop)
        return lo_llm_sfail_(s, lo_llm_fail_(s->err, s->provider, LO_LLM_ERR_ABORT,
                                             "stream stopped by the event handler"));
    return 0;
}

int lo_llm_emit_finish_(lo_llm_stream_ *s, const json_t *raw)
{
    s->done = true;
    lo_llm_stream_event *ev = lo_llm_event_new_(LO_STREAM_FINISH, raw);
    if (!ev || (raw && !ev->raw) ||
        (s->resp->finish.raw && !(ev->finish_reason.raw = lo_strdup(s->resp->finish.raw)))) {
        lo_llm_stream_event_free(ev);
        return lo_llm_soom_(s);
    }
    ev->has_finish = true;
    ev->finish_reason.reason = s->resp->finish.reason;
    ev->has_usage = true;
    ev->usage = s->resp->usage;
    ev->response = s->resp; /* lent for the callback; emit takes it back */
    return lo_llm_emit_(s, ev);
}

json_t *lo_llm_stream_json_(lo_llm_stream_ *s, const lo_sse_event *sev)
{
    json_error_t je;
    json_t *data = json_loadb(sev->data, sev->data_len, 0, &je);
    if (json_is_object(data))
        return data;
    json_decref(data);
    lo_llm_sbad_(s, "malformed JSON in stream event \"%s\": %s", sev->type,
                 data ? "not an object" : je.text);
    return NULL;
}

json_t *lo_llm_stream_typed_(lo_llm_stream_ *s, const lo_sse_event *sev, const char **type)
{
    if (s->failed || s->done)
        return NULL;
    json_t *data = lo_llm_stream_json_(s, sev);
    /* The payload's own type is the reliable one (§7.7). */
    *type = data ? lo_llm_jstr_(data, "type") : NULL;
    if (data && !*type)
        *type = sev->type;
    return data;
}

static int on_data(const char *buf, size_t len, void *ud)
{
    lo_llm_stream_ *s = ud;
    int r = lo_sse_feed(s->sse, buf, len);
    if (r < 0 && !s->failed) {
        if (r == LO_ENOMEM)
            lo_llm_soom_(s);
        else
            lo_llm_sbad_(s, "stream event over the size limit");
    }
    return s->failed;
}

int lo_llm_stream_run_(const lo_llm_wire_ *w, lo_llm_stream_ *s, lo_sse_fn on_sse,
                       int (*at_end)(lo_llm_stream_ *s), const lo_llm_call *call,
                       const lo_llm_request *req, lo_llm_response **out)
{
    *out = NULL;
    lo_llm_error *err = s->err;
    s->resp = lo_llm_response_new();
    s->sse = s->resp ? lo_sse_new(on_sse, s, 0) : NULL;
    if (!s->sse) {
        lo_llm_response_free(s->resp);
        s->resp = NULL;
        return lo_llm_oom_(err, w->provider);
    }
    lo_llm_prepared_ p;
    lo_http_result res;
    lo_error he = {0};
    int hrc = 0;
    memset(&res, 0, sizeof res);
    int rc = send(w, call, req, true, on_data, s, &p, &res, &hrc, &he, err);
    if (rc) {
        /* nothing was sent */
    } else if (s->failed) {
        rc = s->rc;
    } else if ((rc = classify(w, hrc, &he, &res, err)) != 0) {
        /* transport or HTTP error */
    } else if (at_end) {
        rc = at_end(s);
    } else if (!s->done) {
        /* Cut: the connection closed cleanly but the API's last word never
         * came (an unfinished event is discarded). */
        rc = lo_llm_fail_(err, w->provider, LO_LLM_ERR_STREAM, "the stream ended before %s",
                          w->last_event);
    }
    lo_sse_finish(s->sse);
    if (rc == 0 && w->annotate)
        rc = w->annotate(&res, &p, s->resp, err);
    if (rc == 0) {
        *out = s->resp;
        s->resp = NULL;
    } else if (s->delivered && err->kind != LO_LLM_ERR_ABORT && s->fn) {
        /* After the first event, a failure reaches the handler as an event. */
        lo_llm_stream_error_event_(s->fn, s->ud, err);
    }
    lo_http_result_release(&res);
    prepared_release(&p);
    lo_sse_free(s->sse);
    s->sse = NULL;
    lo_llm_response_free(s->resp);
    s->resp = NULL;
    return rc;
}
