/* libFuzzer target for the SSE parser (src/net/sse.c).
 *
 * Input: byte 0 picks the chunk size bound, byte 1 the max_event_bytes
 * (0 = the default), the rest is the stream. The stream is parsed three
 * ways: fed in pseudo-random chunks derived from the first bytes, fed
 * whole, and by a slow byte-at-a-time reference written straight from the
 * WHATWG rules. All three must give the same events, the same error, the
 * same finish result, last event ID and reconnection time. Every event must
 * be well formed (NUL-terminated data of data_len bytes), and after
 * lo_sse_finish no state may be left: a fresh event parses as on a new
 * parser. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXEV 4096

typedef struct seen {
    uint64_t h[MAXEV]; /* one hash per event (type, data, id, retry) */
    size_t n;
    size_t max;
} seen;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static uint64_t ev_hash(const char *type, size_t tlen, const char *d, size_t dlen,
                        const char *id, size_t idlen, long retry)
{
    uint64_t h = 1469598103934665603ULL;
    h = fnv(h, type, tlen);
    h = fnv(h, "\xff", 1);
    h = fnv(h, d, dlen);
    h = fnv(h, "\xfe", 1);
    h = fnv(h, id, idlen);
    h = fnv(h, &retry, sizeof retry);
    return h;
}

static void record(seen *s, uint64_t h)
{
    if (s->n < MAXEV)
        s->h[s->n] = h;
    s->n++;
}

static int on_event(const lo_sse_event *e, void *ud)
{
    seen *s = ud;
    if (!e->type || !e->data || !e->id)
        __builtin_trap();
    if (e->data[e->data_len] != '\0')
        __builtin_trap();
    if (!memchr(e->data, '\0', e->data_len) && strlen(e->data) != e->data_len)
        __builtin_trap();
    if (e->data_len > s->max || e->retry_ms < -1)
        __builtin_trap();
    record(s, ev_hash(e->type, strlen(e->type), e->data, e->data_len, e->id,
                      strlen(e->id), e->retry_ms));
    return 0;
}

/* ---- reference: the spec's steps, one byte at a time, whole input ---- */

typedef struct ref {
    char type[1 << 16], id[1 << 16], last_id[1 << 16];
    size_t tlen, idlen, last_idlen;
    char *d;
    size_t dlen;
    long retry, ev_retry;
    int fields;
} ref;

static int ref_line(ref *r, seen *s, const char *l, size_t n, size_t max)
{
    if (n == 0) {
        memcpy(r->last_id, r->id, r->idlen);
        r->last_idlen = r->idlen;
        r->last_id[r->last_idlen] = '\0';
        long rt = r->ev_retry;
        r->ev_retry = -1;
        r->fields = 0;
        if (r->dlen > 0) {
            const char *t = r->tlen ? r->type : "message";
            size_t tl = r->tlen ? strnlen(r->type, r->tlen) : 7;
            record(s, ev_hash(t, tl, r->d, r->dlen - 1, r->last_id,
                              strnlen(r->last_id, r->last_idlen), rt));
        }
        r->dlen = 0;
        r->tlen = 0;
        return 0;
    }
    if (l[0] == ':')
        return 0;
    size_t c = 0;
    while (c < n && l[c] != ':')
        c++;
    const char *v = c < n ? l + c + 1 : l + n;
    size_t vl = c < n ? n - c - 1 : 0;
    if (vl > 0 && v[0] == ' ') {
        v++;
        vl--;
    }
    r->fields = 1;
    if (c == 4 && memcmp(l, "data", 4) == 0) {
        if (r->dlen + vl > max)
            return LO_ETOOBIG;
        memcpy(r->d + r->dlen, v, vl);
        r->dlen += vl;
        r->d[r->dlen++] = '\n';
    } else if (c == 5 && memcmp(l, "event", 5) == 0) {
        memcpy(r->type, v, vl);
        r->tlen = vl;
    } else if (c == 2 && memcmp(l, "id", 2) == 0) {
        if (!memchr(v, '\0', vl)) {
            memcpy(r->id, v, vl);
            r->idlen = vl;
        }
    } else if (c == 5 && memcmp(l, "retry", 5) == 0 && vl > 0) {
        long x = 0;
        for (size_t i = 0; i < vl; i++) {
            if (v[i] < '0' || v[i] > '9')
                return 0;
            int dg = v[i] - '0';
            x = x > (LONG_MAX - dg) / 10 ? LONG_MAX : x * 10 + dg;
        }
        r->retry = x;
        r->ev_retry = x;
    }
    return 0;
}

/* Returns the error (0 or LO_ETOOBIG); *cut is finish's answer. */
static int ref_parse(ref *r, seen *s, const char *in, size_t len, size_t max,
                     int *cut)
{
    r->tlen = r->idlen = r->last_idlen = r->dlen = 0;
    r->last_id[0] = '\0';
    r->retry = r->ev_retry = -1;
    r->fields = 0;
    size_t i = 0;
    if (len >= 3 && memcmp(in, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len) {
        size_t j = i;
        while (j < len && in[j] != '\r' && in[j] != '\n')
            j++;
        if (j - i > max) {
            *cut = 1;
            return LO_ETOOBIG;
        }
        if (j == len) { /* a line the stream cut */
            *cut = 1;
            return 0;
        }
        int rc = ref_line(r, s, in + i, j - i, max);
        if (rc) {
            *cut = 1;
            return rc;
        }
        i = j + 1;
        if (in[j] == '\r' && i < len && in[i] == '\n')
            i++;
    }
    *cut = r->fields;
    return 0;
}

static ref the_ref;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t bound = 1 + data[0] % 32;
    size_t max = data[1] ? (size_t)data[1] * 4 : 0;
    const char *in = (const char *)data + 2;
    size_t len = size - 2;

    static seen a, b, c;
    a.n = b.n = c.n = 0;
    a.max = b.max = c.max = max ? max : (size_t)16 << 20;

    /* Chunked, sizes from a tiny PRNG seeded by the first bytes. */
    lo_sse *p = lo_sse_new(on_event, &a, max);
    if (!p)
        return 0;
    uint32_t x = 0x9e3779b9u ^ data[0] ^ ((uint32_t)data[1] << 8);
    int rc_a = 0;
    for (size_t at = 0; at < len;) {
        x = x * 1664525u + 1013904223u;
        size_t n = 1 + (x >> 16) % bound;
        if (n > len - at)
            n = len - at;
        int rc = lo_sse_feed(p, in + at, n);
        if (rc && !rc_a)
            rc_a = rc;
        if (rc_a && rc != rc_a)
            __builtin_trap(); /* errors are sticky */
        at += n;
    }
    char last_a[1 << 16];
    snprintf(last_a, sizeof last_a, "%s", lo_sse_last_id(p));
    long retry_a = lo_sse_retry_ms(p);
    int fin_a = lo_sse_finish(p);

    /* After finish nothing is pending. */
    if (lo_sse_finish(p) != 0)
        __builtin_trap();
    size_t before = a.n;
    if (a.max >= 7) { /* the probe's line must fit the limit */
        if (lo_sse_feed(p, "data: z\n\n", 9) != 0 || a.n != before + 1)
            __builtin_trap();
        if (before < MAXEV &&
            a.h[before] != ev_hash("message", 7, "z", 1, last_a, strlen(last_a), -1))
            __builtin_trap();
        a.n = before;
    }
    lo_sse_free(p);

    /* Whole. */
    p = lo_sse_new(on_event, &b, max);
    if (!p)
        return 0;
    int rc_b = lo_sse_feed(p, in, len);
    if (strcmp(last_a, lo_sse_last_id(p)) != 0 || retry_a != lo_sse_retry_ms(p))
        __builtin_trap();
    int fin_b = lo_sse_finish(p);
    lo_sse_free(p);

    if (rc_a != rc_b || fin_a != fin_b || a.n != b.n)
        __builtin_trap();
    for (size_t i = 0; i < a.n && i < MAXEV; i++)
        if (a.h[i] != b.h[i])
            __builtin_trap();

    /* Reference (only where its fixed buffers hold the input). */
    if (len < sizeof the_ref.type) {
        static char dbuf[1 << 17];
        the_ref.d = dbuf;
        int cut;
        int rc_c = ref_parse(&the_ref, &c, in, len, a.max, &cut);
        if (rc_c != rc_b || cut != fin_b || c.n != b.n)
            __builtin_trap();
        for (size_t i = 0; i < c.n && i < MAXEV; i++)
            if (c.h[i] != b.h[i])
                __builtin_trap();
        if (strnlen(the_ref.last_id, the_ref.last_idlen) != strlen(last_a) ||
            memcmp(the_ref.last_id, last_a, strlen(last_a)) != 0 ||
            the_ref.retry != retry_a)
            __builtin_trap();
    }
    return 0;
}
