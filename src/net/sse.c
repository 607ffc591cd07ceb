/*
 * Incremental Server-Sent Events parser: the WHATWG HTML "Parsing an event
 * stream" and "Interpreting an event stream" rules over bytes arriving in
 * arbitrary chunks. See include/lightsout/net.h for the contract.
 *
 * Lines are parsed in place in the caller's buffer; only a line cut by the
 * end of a chunk is copied (into p->line) until its end arrives. Line ends
 * are found with memchr, and the position of the next CR and of the next LF
 * is remembered, so every byte of a chunk is scanned at most once for each:
 * a stream without CRs costs one failed memchr per chunk.
 */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "lightsout/net.h"

#define SSE_DEFAULT_MAX ((size_t)16 << 20)
#define BOM_DONE 4 /* p->bom once the BOM check is over (0..3: bytes matched) */

/* A byte buffer with room for a NUL after len bytes once it has grown. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

struct lo_sse {
    lo_sse_fn fn;
    void *ud;
    size_t max;
    sbuf line;    /* start of a line cut by the end of a chunk, no terminator */
    sbuf data;    /* data buffer: every data value followed by an LF */
    sbuf type;    /* event type buffer, NUL-terminated */
    sbuf id;      /* last event ID buffer (id fields), NUL-terminated */
    sbuf last_id; /* last event ID string: id as of the last blank line */
    long retry;   /* reconnection time, -1 until a retry field sets it */
    long ev_retry;/* retry field since the last blank line, or -1 */
    int err;      /* sticky LO_ETOOBIG / LO_ENOMEM until lo_sse_finish */
    unsigned char bom; /* BOM bytes matched at the start, or BOM_DONE */
    bool cr;      /* last chunk ended with CR: a leading LF belongs to it */
    bool fields;  /* field lines seen since the last blank line */
    bool id_dirty;/* id differs from last_id */
};

static int sbuf_init(sbuf *b, size_t cap)
{
    b->p = lo_malloc(cap);
    if (!b->p)
        return LO_ENOMEM;
    b->p[0] = '\0';
    b->len = 0;
    b->cap = cap;
    return 0;
}

/* Out of line: growth is rare, and keeping it out of the callers keeps the
 * hot path small. Leaves room for extra bytes plus a NUL. */
static int sbuf_grow(sbuf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    size_t cap = b->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *n = lo_realloc(b->p, cap);
    if (!n)
        return LO_ENOMEM;
    b->p = n;
    b->cap = cap;
    return 0;
}

static inline int sbuf_append(sbuf *b, const char *s, size_t n)
{
    if (b->cap - b->len <= n) {
        int rc = sbuf_grow(b, n);
        if (rc)
            return rc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

/* Replace the contents with s[0..n) and a NUL. */
static inline int sbuf_set(sbuf *b, const char *s, size_t n)
{
    b->len = 0;
    int rc = sbuf_append(b, s, n);
    if (rc)
        return rc;
    b->p[b->len] = '\0';
    return 0;
}

static int fail(lo_sse *p, int rc)
{
    p->err = rc;
    return rc;
}

lo_sse *lo_sse_new(lo_sse_fn fn, void *ud, size_t max_event_bytes)
{
    lo_sse *p = lo_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->fn = fn;
    p->ud = ud;
    p->max = max_event_bytes ? max_event_bytes : SSE_DEFAULT_MAX;
    p->retry = -1;
    p->ev_retry = -1;
    /* Every buffer exists from the start, so later code never passes NULL
     * to memcpy and last_id is always a valid string. */
    if (sbuf_init(&p->line, 256) || sbuf_init(&p->data, 1024) ||
        sbuf_init(&p->type, 64) || sbuf_init(&p->id, 64) ||
        sbuf_init(&p->last_id, 64)) {
        lo_sse_free(p);
        return NULL;
    }
    return p;
}

void lo_sse_free(lo_sse *p)
{
    if (!p)
        return;
    free(p->line.p);
    free(p->data.p);
    free(p->type.p);
    free(p->id.p);
    free(p->last_id.p);
    free(p);
}

/* A blank line: the spec's "dispatch the event" steps. */
static int dispatch(lo_sse *p)
{
    if (p->id_dirty) {
        /* The last event ID string follows the buffer at every blank line,
         * whether or not an event goes out. */
        if (sbuf_set(&p->last_id, p->id.p, p->id.len))
            return fail(p, LO_ENOMEM);
        p->id_dirty = false;
    }
    long retry = p->ev_retry;
    p->ev_retry = -1;
    p->fields = false;
    if (p->data.len == 0) {
        p->type.len = 0;
        p->type.p[0] = '\0';
        return 0;
    }
    /* Every data value was followed by an LF; the last one goes. */
    size_t dlen = p->data.len - 1;
    p->data.p[dlen] = '\0';
    lo_sse_event ev = {
        .type = p->type.len ? p->type.p : "message",
        .data = p->data.p,
        .data_len = dlen,
        .id = p->last_id.p,
        .retry_ms = retry,
    };
    p->data.len = 0;
    int rc = p->fn ? p->fn(&ev, p->ud) : 0;
    /* Cleared after the callback: ev.type points into the buffer. */
    p->type.len = 0;
    p->type.p[0] = '\0';
    return rc;
}

/* One complete line, without its terminator. Returns 0, an error (also
 * stored in p->err) or the callback's value. */
static int process_line(lo_sse *p, const char *s, size_t n)
{
    if (n == 0)
        return dispatch(p);
    if (s[0] == ':')
        return 0; /* comment */

    const char *colon = memchr(s, ':', n);
    size_t nlen = colon ? (size_t)(colon - s) : n;
    const char *v = colon ? colon + 1 : s + n;
    size_t vlen = n - nlen - (colon ? 1 : 0);
    if (vlen && *v == ' ') {
        v++;
        vlen--;
    }
    p->fields = true;

    switch (nlen) {
    case 4:
        if (memcmp(s, "data", 4) == 0) {
            /* The limit applies to the data as delivered: the buffer minus
             * its final LF. data.len and vlen are each at most max + 1. */
            if (p->data.len + vlen > p->max)
                return fail(p, LO_ETOOBIG);
            sbuf *d = &p->data;
            if (d->cap - d->len <= vlen + 1 && sbuf_grow(d, vlen + 1))
                return fail(p, LO_ENOMEM);
            memcpy(d->p + d->len, v, vlen);
            d->len += vlen;
            d->p[d->len++] = '\n';
        }
        break;
    case 5:
        if (memcmp(s, "event", 5) == 0) {
            if (sbuf_set(&p->type, v, vlen))
                return fail(p, LO_ENOMEM);
        } else if (memcmp(s, "retry", 5) == 0 && vlen) {
            long r = 0;
            for (size_t i = 0; i < vlen; i++) {
                unsigned d = (unsigned char)v[i] - (unsigned)'0';
                if (d > 9)
                    return 0; /* not digits only: ignored */
                /* Saturate rather than overflow: a huge value just means
                 * "wait very long". */
                r = r > (LONG_MAX - (long)d) / 10 ? LONG_MAX : r * 10 + (long)d;
            }
            p->retry = r;
            p->ev_retry = r;
        }
        break;
    case 2:
        if (s[0] == 'i' && s[1] == 'd' && !memchr(v, '\0', vlen)) {
            if (sbuf_set(&p->id, v, vlen))
                return fail(p, LO_ENOMEM);
            p->id_dirty = true;
        }
        break;
    default:
        break; /* unknown field: ignored */
    }
    return 0;
}

/* Append to the pending partial line. Lines longer than max fail however
 * the stream was chunked, so the limit never depends on read sizes. */
static int line_append(lo_sse *p, const char *s, size_t n)
{
    if (n > p->max - p->line.len)
        return fail(p, LO_ETOOBIG);
    if (sbuf_append(&p->line, s, n))
        return fail(p, LO_ENOMEM);
    return 0;
}

static inline const char *find(const char *s, const char *end, int c)
{
    const char *r = memchr(s, c, (size_t)(end - s));
    return r ? r : end;
}

int lo_sse_feed(lo_sse *p, const char *buf, size_t len)
{
    if (p->err)
        return p->err;
    if (len == 0)
        return 0;
    const char *s = buf, *end = buf + len;

    if (p->bom != BOM_DONE) {
        /* UTF-8 decode drops one BOM at the very start; its three bytes
         * may arrive in separate chunks. */
        static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
        while (s < end && p->bom < 3 && (unsigned char)*s == bom[p->bom]) {
            p->bom++;
            s++;
        }
        if (p->bom < 3 && s == end)
            return 0; /* still a possible BOM */
        if (p->bom < 3 && p->bom > 0) {
            /* Not a BOM after all: the bytes matched so far start the
             * first line (none of them can end a line). */
            int rc = line_append(p, (const char *)bom, p->bom);
            if (rc)
                return rc;
        }
        p->bom = BOM_DONE;
    }

    if (p->cr) {
        p->cr = false;
        if (s < end && *s == '\n')
            s++; /* second half of a CRLF split across chunks */
    }

    const char *nl = find(s, end, '\n');
    const char *cr = find(s, end, '\r');
    while (s < end) {
        if (nl < s)
            nl = find(s, end, '\n');
        if (cr < s)
            cr = find(s, end, '\r');
        const char *t = nl < cr ? nl : cr;
        if (t == end)
            break;
        const char *next = t + 1;
        if (*t == '\r') {
            if (next == end)
                p->cr = true; /* the LF, if any, comes in the next chunk */
            else if (*next == '\n')
                next++;
        }
        int rc;
        size_t n = (size_t)(t - s);
        if (p->line.len) {
            if ((rc = line_append(p, s, n)) != 0)
                return rc;
            rc = process_line(p, p->line.p, p->line.len);
            p->line.len = 0;
        } else {
            if (n > p->max)
                return fail(p, LO_ETOOBIG);
            rc = process_line(p, s, n);
        }
        if (rc)
            return rc;
        s = next;
    }
    if (s < end)
        return line_append(p, s, (size_t)(end - s));
    return 0;
}

int lo_sse_finish(lo_sse *p)
{
    int cut = p->err || p->line.len || (p->bom > 0 && p->bom < 3) || p->fields;
    p->err = 0;
    p->line.len = 0;
    p->data.len = 0;
    p->type.len = 0;
    p->type.p[0] = '\0';
    p->ev_retry = -1;
    p->bom = 0;
    p->cr = false;
    p->fields = false;
    if (p->id_dirty) {
        /* An id not yet confirmed by a blank line is pending state too: the
         * next stream starts from the last event ID string. id's buffer once
         * held that string, so it has room and this cannot fail. */
        (void)sbuf_set(&p->id, p->last_id.p, p->last_id.len);
        p->id_dirty = false;
    }
    return cut;
}

const char *lo_sse_last_id(const lo_sse *p)
{
    return p->last_id.p;
}

long lo_sse_retry_ms(const lo_sse *p)
{
    return p->retry;
}
