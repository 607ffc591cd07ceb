/* What every provider's request goes through, whatever its wire format:
 * numbering and the log line, picking the tape entry from the request's
 * view, serving raw entries and JSON bodies, Retry-After, and building
 * stream events in pieces. The provider files decide the bytes; this file
 * keeps them from writing the same plumbing three times. */
#include <stdio.h>
#include <string.h>

#include "twin/twin_internal.h"

/* ------------------------------------------------------------ exchanges */

void twin_exch_init(twin_exch *x, lo_twin *t, const char *provider, const lo_http_request *req,
                    lo_http_response *res)
{
    memset(x, 0, sizeof *x);
    x->t = t;
    x->provider = provider;
    x->req = req;
    x->res = res;
}

long twin_exch_number(twin_exch *x, const char *prefix, const char *salt, size_t n)
{
    long no = atomic_fetch_add(&x->t->requests, 1) + 1;
    twin_id(x->rid, sizeof x->rid, prefix, salt, (uint64_t)no, n);
    return no;
}

void twin_exch_done(twin_exch *x)
{
    char tape[300] = "", call[32] = "";
    if (x->entry)
        snprintf(tape, sizeof tape, " tape=%s:%u", x->entry->file, x->entry->line);
    if (x->call)
        snprintf(call, sizeof call, " call=%ld", x->call);
    twin_log(x->t, "%s %s %s %d%s%s%s", x->provider, x->req->method, x->req->path, x->status,
             call, tape, x->stream ? " stream" : "");
}

void twin_exch_watch(const twin_exch *x)
{
    twin_watch_next(x->t, "%s %s %s call=%ld", x->provider, x->req->method, x->req->path,
                    x->call);
}

void twin_exch_send_json(twin_exch *x, int status, const char *ctype, json_t *j,
                         const lo_tape_fault *f)
{
    char *s = twin_json_dump(j);
    json_decref(j);
    twin_send(x->res, status, ctype, s ? s : "", s ? strlen(s) : 0, f);
    free(s);
    x->status = status;
    twin_exch_done(x);
}

static bool looks_sse(const char *s)
{
    return lo_str_starts(s, "event:") || lo_str_starts(s, "data:") || lo_str_starts(s, ":");
}

void twin_exch_serve_raw(twin_exch *x, const lo_tape_entry *e, const lo_tape_fault *f,
                         const char *ctype)
{
    const char *s = json_string_value(e->raw);
    x->status = 200;
    if (s && looks_sse(s)) {
        x->stream = true;
        twin_exch_watch(x);
        twin_send_raw_sse(x->res, s, f);
    } else if (s) {
        twin_send(x->res, 200, ctype, s, strlen(s), f);
    } else {
        twin_exch_send_json(x, 200, ctype, json_incref(e->raw), f);
        return;
    }
    twin_exch_done(x);
}

static bool fires(const lo_tape_fault *f, long call)
{
    return f->every <= 1 || (call > 0 && call % f->every == 0);
}

void twin_fault_for(const twin_exch *x, const lo_tape_entry *e, lo_tape_fault *out)
{
    *out = (lo_tape_fault){.retry_after_s = -1, .cut_after = -1};
    const lo_tape_fault *layers[2] = {x->t->has_fault ? &x->t->fault : NULL,
                                      e ? &e->fault : NULL};
    for (int i = 0; i < 2; i++) {
        const lo_tape_fault *f = layers[i];
        if (!f || !fires(f, x->call))
            continue;
        if (f->status)
            out->status = f->status;
        if (f->retry_after_s >= 0)
            out->retry_after_s = f->retry_after_s;
        if (f->latency_ms)
            out->latency_ms = f->latency_ms;
        if (f->cut_after >= 0)
            out->cut_after = f->cut_after;
        if (f->malformed)
            out->malformed = true;
        if (f->drip_ms)
            out->drip_ms = f->drip_ms;
    }
}

bool twin_fault_preempts(const twin_exch *x)
{
    return x->t->has_fault && x->t->fault.status && fires(&x->t->fault, x->call);
}

long twin_retry_after(lo_http_response *res, int status, const lo_tape_fault *f)
{
    long ra = f ? f->retry_after_s : -1;
    /* the statuses a client retries get one by default, as the APIs send */
    if (ra < 0 && (status == 429 || status == 503 || status == 529))
        ra = 1;
    if (ra >= 0) {
        char v[32];
        snprintf(v, sizeof v, "%ld", ra);
        lo_http_add_header(res, "retry-after", v);
    }
    return ra;
}

/* ------------------------------------------------------------ the view */

void twin_view_init(twin_view *v)
{
    memset(v, 0, sizeof *v);
    lo_buf_init(&v->user, 0);
    lo_buf_init(&v->result, 0);
}

void twin_view_tool(twin_view *v, const char *name)
{
    if (!name)
        return;
    if (v->n_tools == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        const char **nt = lo_realloc(v->tools, cap * sizeof *nt);
        if (!nt)
            return; /* a tool less to match on: the miss says which */
        v->tools = nt;
        v->cap = cap;
    }
    v->tools[v->n_tools++] = name;
}

void twin_view_release(twin_view *v)
{
    lo_buf_release(&v->user);
    lo_buf_release(&v->result);
    free(v->tools);
}

const lo_tape_entry *twin_view_match(twin_exch *x, const twin_view *v, const char *model,
                                     char *why, size_t why_len)
{
    lo_twin_request_view rv = {
        .path = x->req->path,
        .model = model,
        .call = x->call,
        .user_text = v->user.data ? v->user.data : "",
        .tool_result_text = v->has_result ? (v->result.data ? v->result.data : "") : NULL,
        .tools = v->tools,
        .n_tools = v->n_tools,
        .messages = v->messages,
    };
    const lo_tape_entry *e = lo_tape_match(x->t->tapes, x->t->n_tapes, &rv, why, why_len);
    x->entry = e;
    return e;
}

long twin_exch_call(twin_exch *x)
{
    return x->call = atomic_fetch_add(&x->t->calls, 1) + 1;
}

/* ------------------------------------------------------------ verdicts */

int twin_bad(twin_verdict *v, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof v->msg, fmt, ap);
    va_end(ap);
    v->status = status;
    return -1;
}

bool twin_name_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

const char *twin_jstr(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

const char *twin_thinking_text(const json_t *reply)
{
    const json_t *th = json_object_get(reply, "thinking");
    return json_is_string(th) ? json_string_value(th) : twin_jstr(th, "text");
}

/* ------------------------------------------------------------ events */

size_t twin_piece(const char *s, size_t size)
{
    size_t n = strlen(s);
    if (n <= size)
        return n;
    size_t k = size;
    while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
        k++;
    return k;
}

void twin_events_push(twin_events *l, char *e)
{
    if (!e) {
        l->oom = true;
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        char **nv = lo_realloc(l->v, cap * sizeof *nv);
        if (!nv) {
            free(e);
            l->oom = true;
            return;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = e;
}

char **twin_events_finish(twin_events *l, size_t *n)
{
    if (l->oom) {
        for (size_t i = 0; i < l->n; i++)
            free(l->v[i]);
        free(l->v);
        l->v = NULL;
        l->n = l->cap = 0;
        return NULL;
    }
    *n = l->n;
    return l->v;
}

char *twin_sse_event(const char *type, json_t *data, const char *end)
{
    /* Streams render thousands of these a second: dump into a stack buffer
     * (long strings spliced in escaped once, see splice.c) and build the
     * event with one allocation, not through json_dumps' growing buffer and
     * two printf calls. */
    char small[4096], *heap = NULL;
    if (!data)
        return NULL;
    const char *d = heap = twin_json_dump_spliced(data);
    size_t dn = heap ? strlen(heap) : json_dumpb(data, small, sizeof small, JSON_COMPACT);
    if (!heap && dn > sizeof small)
        d = heap = json_dumps(data, JSON_COMPACT);
    else if (!heap)
        d = small;
    json_decref(data);
    if (!d || dn == 0) {
        free(heap);
        return NULL;
    }
    static const char ev[] = "event: ", da[] = "data: ";
    size_t tn = type ? strlen(type) : 0;
    if (!end)
        end = "\n\n";
    size_t en = strlen(end);
    size_t n = (type ? sizeof ev - 1 + tn + 1 : 0) + sizeof da - 1 + dn + en;
    char *out = lo_malloc(n + 1), *w = out;
    if (out) {
        if (type) {
            memcpy(w, ev, sizeof ev - 1);
            w += sizeof ev - 1;
            memcpy(w, type, tn);
            w += tn;
            *w++ = '\n';
        }
        memcpy(w, da, sizeof da - 1);
        w += sizeof da - 1;
        memcpy(w, d, dn);
        w += dn;
        memcpy(w, end, en + 1);
    }
    free(heap);
    return out;
}
