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
    /* strnlen: the caller walks a long text piece by piece */
    size_t n = strnlen(s, size + 1);
    if (n <= size)
        return n;
    size_t k = size;
    while (((unsigned char)s[k] & 0xC0) == 0x80)
        k++;
    return k;
}

/* Spare event buffers per server thread: a stream's bytes are tens of KB,
 * a thread sends several streams at once, and growing a new buffer for
 * every request (which glibc hands back to the kernel when it is freed,
 * with a TLB flush on every core) cost more than rendering the events. */
#define SPARE_MAX ((size_t)1 << 20) /* bytes: a bigger buffer is freed */
#define SPARES 8
struct spares {
    char *data[SPARES];
    size_t cap[SPARES];
    unsigned n;
};
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static bool spare_ok;

static void spares_drop(void *p)
{
    struct spares *s = p;
    for (unsigned i = 0; i < s->n; i++)
        free(s->data[i]);
    free(s);
}

static void spares_init(void)
{
    spare_ok = pthread_key_create(&spare_key, spares_drop) == 0;
}

static struct spares *spares_get(bool create)
{
    pthread_once(&spare_once, spares_init);
    if (!spare_ok)
        return NULL;
    struct spares *s = pthread_getspecific(spare_key);
    if (!s && create && (s = lo_calloc(1, sizeof *s)) && pthread_setspecific(spare_key, s) != 0) {
        free(s);
        s = NULL;
    }
    return s;
}

lo_buf *twin_events_buf(twin_events *l)
{
    struct spares *s;
    if (!l->b.data && (s = spares_get(false)) && s->n) {
        s->n--;
        l->b.data = s->data[s->n];
        l->b.cap = s->cap[s->n];
        l->b.len = 0;
        l->b.data[0] = '\0';
    }
    return &l->b;
}

void twin_buf_recycle(char *data, size_t cap)
{
    struct spares *s = data && cap <= SPARE_MAX ? spares_get(true) : NULL;
    if (!s || s->n == SPARES) {
        free(data);
        return;
    }
    s->data[s->n] = data;
    s->cap[s->n] = cap;
    s->n++;
}

void twin_events_end(twin_events *l)
{
    if (l->oom)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        size_t *ne = lo_realloc(l->end, cap * sizeof *ne);
        if (!ne) {
            l->oom = true;
            return;
        }
        l->end = ne;
        l->cap = cap;
    }
    l->end[l->n++] = l->b.len;
}

void twin_events_add(twin_events *l, const char *s, size_t n)
{
    if (l->oom || lo_buf_append(twin_events_buf(l), s, n) != 0)
        l->oom = true;
    else
        twin_events_end(l);
}

const char *twin_events_at(const twin_events *l, size_t i, size_t *len)
{
    size_t start = i ? l->end[i - 1] : 0;
    *len = l->end[i] - start;
    return l->b.data + start;
}

void twin_events_release(twin_events *l)
{
    twin_buf_recycle(l->b.data, l->b.cap);
    free(l->end);
    long seq = l->seq;
    memset(l, 0, sizeof *l);
    l->seq = seq;
}

/* Append the SSE event to b; 0 or -1 (out of memory, or no data). */
static int sse_append(lo_buf *b, const char *type, json_t *data, const char *end)
{
    /* Streams render thousands of these a second: dump into a stack buffer
     * (long strings spliced in escaped once, see splice.c), not through
     * json_dumps' growing buffer and printf. */
    char small[4096], *heap = NULL;
    if (!data)
        return -1;
    const char *d = heap = twin_json_dump_spliced(data);
    size_t dn = heap ? strlen(heap) : json_dumpb(data, small, sizeof small, JSON_COMPACT);
    if (!heap && dn > sizeof small)
        d = heap = json_dumps(data, JSON_COMPACT);
    else if (!heap)
        d = small;
    json_decref(data);
    int rc = -1;
    if (d && dn > 0) {
        rc = 0;
        if (type)
            rc |= lo_buf_append(b, "event: ", 7) | lo_buf_puts(b, type) | lo_buf_putc(b, '\n');
        rc |= lo_buf_append(b, "data: ", 6) | lo_buf_append(b, d, dn) |
              lo_buf_puts(b, end ? end : "\n\n");
    }
    free(heap);
    return rc ? -1 : 0;
}

void twin_events_sse(twin_events *l, const char *type, json_t *data, const char *end)
{
    if (l->oom) {
        json_decref(data);
        return;
    }
    if (sse_append(twin_events_buf(l), type, data, end) != 0)
        l->oom = true;
    else
        twin_events_end(l);
}
