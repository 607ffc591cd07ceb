/* Unit tests for the incremental SSE parser (src/net/sse.c): every rule of
 * the WHATWG event stream interpretation, under every way of splitting the
 * input, and recorded provider streams re-chunked 500 ways. */
#include "testutil.h"

#include <jansson.h>
#include <limits.h>

#include "lightsout/net.h"

/* ---- recording events ---- */

typedef struct rec_ev {
    char *type, *data, *id;
    size_t data_len;
    long retry;
} rec_ev;

typedef struct rec {
    rec_ev *v;
    size_t n, cap;
    size_t stop_at; /* when non-zero: return 42 from the stop_at-th event */
} rec;

static char *dup_bytes(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    assert_non_null(d);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static int on_event(const lo_sse_event *e, void *ud)
{
    rec *r = ud;
    assert_non_null(e->type);
    assert_non_null(e->data);
    assert_non_null(e->id);
    assert_int_equal(e->data[e->data_len], '\0');
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        assert_non_null(r->v);
    }
    rec_ev *x = &r->v[r->n++];
    x->type = dup_bytes(e->type, strlen(e->type));
    x->data = dup_bytes(e->data, e->data_len);
    x->data_len = e->data_len;
    x->id = dup_bytes(e->id, strlen(e->id));
    x->retry = e->retry_ms;
    return r->stop_at && r->n == r->stop_at ? 42 : 0;
}

static void rec_clear(rec *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].type);
        free(r->v[i].data);
        free(r->v[i].id);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* ---- expectations ---- */

typedef struct want {
    const char *type, *data, *id;
    long retry;
    size_t data_len; /* 0: strlen(data) */
} want;

#define W(t, d) {t, d, "", -1, 0}
#define WI(t, d, i) {t, d, i, -1, 0}

/* Feed in[0..len) cut at the given points (ascending offsets), then finish.
 * Returns the first non-zero feed result (or 0) and stores finish's. */
static int feed_cuts(lo_sse *p, const char *in, size_t len, const size_t *cuts,
                     size_t ncuts, int *fin)
{
    size_t at = 0;
    int rc = 0;
    for (size_t i = 0; i <= ncuts && !rc; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        rc = lo_sse_feed(p, in + at, to - at);
        at = to;
    }
    *fin = lo_sse_finish(p);
    return rc;
}

static void expect_same(const rec *r, const want *w, size_t nw, const char *how)
{
    if (r->n != nw)
        fail_msg("%s: %zu events, expected %zu", how, r->n, nw);
    for (size_t i = 0; i < nw; i++) {
        size_t dl = w[i].data_len ? w[i].data_len : strlen(w[i].data);
        const rec_ev *x = &r->v[i];
        if (strcmp(x->type, w[i].type) != 0 || x->data_len != dl ||
            memcmp(x->data, w[i].data, dl) != 0 || strcmp(x->id, w[i].id) != 0 ||
            x->retry != w[i].retry)
            fail_msg("%s: event %zu is type='%s' data='%s' id='%s' retry=%ld; "
                     "expected type='%s' data='%s' id='%s' retry=%ld",
                     how, i, x->type, x->data, x->id, x->retry, w[i].type,
                     w[i].data, w[i].id, w[i].retry);
    }
}

static void run_one(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                    const want *w, size_t nw, int want_rc, int want_fin,
                    size_t max, const char *how)
{
    rec r = {0};
    lo_sse *p = lo_sse_new(on_event, &r, max);
    assert_non_null(p);
    int fin;
    int rc = feed_cuts(p, in, len, cuts, ncuts, &fin);
    if (rc != want_rc)
        fail_msg("%s: feed returned %d, expected %d", how, rc, want_rc);
    if (fin != want_fin)
        fail_msg("%s: finish returned %d, expected %d", how, fin, want_fin);
    expect_same(&r, w, nw, how);
    lo_sse_free(p);
    rec_clear(&r);
}

/* The events must not depend on chunking: check the whole input, fixed
 * chunk sizes 1..8, every single cut and (for short inputs) every pair. */
static void check_full(const char *in, size_t len, const want *w, size_t nw,
                       int want_rc, int want_fin, size_t max)
{
    char how[96];
    run_one(in, len, NULL, 0, w, nw, want_rc, want_fin, max, "whole");
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    assert_non_null(cuts);
    for (size_t step = 1; step <= 8; step++) {
        size_t n = 0;
        for (size_t at = step; at < len; at += step)
            cuts[n++] = at;
        snprintf(how, sizeof how, "chunks of %zu", step);
        run_one(in, len, cuts, n, w, nw, want_rc, want_fin, max, how);
    }
    for (size_t a = 0; a <= len; a++) {
        snprintf(how, sizeof how, "cut at %zu", a);
        run_one(in, len, &a, 1, w, nw, want_rc, want_fin, max, how);
        if (len <= 80)
            for (size_t b = a; b <= len; b++) {
                size_t two[2] = {a, b};
                snprintf(how, sizeof how, "cuts at %zu,%zu", a, b);
                run_one(in, len, two, 2, w, nw, want_rc, want_fin, max, how);
            }
    }
    free(cuts);
}

#define CHECK(in, ...)                                                        \
    do {                                                                      \
        static const want w_[] = {__VA_ARGS__};                               \
        check_full(in, sizeof(in) - 1, w_, sizeof w_ / sizeof w_[0], 0, 0, 0); \
    } while (0)
#define CHECK_NONE(in, fin) check_full(in, sizeof(in) - 1, NULL, 0, 0, fin, 0)
#define CHECK_FIN(in, fin, ...)                                                 \
    do {                                                                        \
        static const want w_[] = {__VA_ARGS__};                                 \
        check_full(in, sizeof(in) - 1, w_, sizeof w_ / sizeof w_[0], 0, fin, 0); \
    } while (0)

/* ---- the rules ---- */

static void test_basic(void **state)
{
    (void)state;
    CHECK("data: hello\n\n", W("message", "hello"));
    CHECK("data: a\n\ndata: b\n\n", W("message", "a"), W("message", "b"));
}

static void test_multiline_data(void **state)
{
    (void)state;
    CHECK("data: a\ndata: b\ndata:\ndata: c\n\n", W("message", "a\nb\n\nc"));
    /* Only the last LF is removed: an empty last line keeps the one before. */
    CHECK("data: a\ndata:\n\n", W("message", "a\n"));
    /* "data" alone is the data field with an empty value: an event with
     * empty data (the data buffer held one LF). */
    CHECK("data\n\n", W("message", ""));
    CHECK("data:\n\n", W("message", ""));
    CHECK("data\ndata\n\n", W("message", "\n"));
}

static void test_comments(void **state)
{
    (void)state;
    CHECK(": hi\ndata: x\n:\n: another: with colon\n\n", W("message", "x"));
    CHECK_NONE(": only a comment\n\n:\n\n", 0);
    /* A comment between data lines does not break the event. */
    CHECK("data: 1\n: ping\ndata: 2\n\n", W("message", "1\n2"));
    /* A comment that never ends is a cut line. */
    CHECK_FIN("data: x\n\n: keep", 1, W("message", "x"));
}

static void test_line_endings(void **state)
{
    (void)state;
    CHECK("data: a\r\r", W("message", "a"));
    CHECK("data: a\r\n\r\n", W("message", "a"));
    CHECK("data: a\rdata: b\r\ndata: c\n\r\n", W("message", "a\nb\nc"));
    /* LF then CR: two line ends, the second a blank line. */
    CHECK("data: a\n\rdata: b\r\n\n", W("message", "a"), W("message", "b"));
    /* CR CR LF: a line end, then a blank line ended by CRLF. */
    CHECK("data: a\r\r\ndata: b\n\n", W("message", "a"), W("message", "b"));
    /* CR LF LF: one CRLF then a blank line. */
    CHECK("event: e\r\ndata: x\r\n\n", W("e", "x"));
}

/* A CR ending one chunk and an LF starting the next are one line end. */
static void test_cr_chunk_then_lf(void **state)
{
    (void)state;
    rec r = {0};
    lo_sse *p = lo_sse_new(on_event, &r, 0);
    assert_non_null(p);
    assert_int_equal(lo_sse_feed(p, "data: a\r", 8), 0);
    assert_int_equal(lo_sse_feed(p, "", 0), 0); /* an empty read changes nothing */
    assert_int_equal(lo_sse_feed(p, "\ndata: b\r", 9), 0);
    assert_int_equal(r.n, 0); /* the LF was not a blank line */
    /* A CR ends a line at once: the blank line dispatches... */
    assert_int_equal(lo_sse_feed(p, "\n\r", 2), 0);
    assert_int_equal(r.n, 1);
    /* ...and the LF that follows belongs to it: no second blank line, and
     * the next line starts clean. */
    assert_int_equal(lo_sse_feed(p, "\n", 1), 0);
    assert_int_equal(r.n, 1);
    static const want w1[] = {W("message", "a\nb")};
    expect_same(&r, w1, 1, "CRLF split");
    /* CR at the end of a chunk, then a CR: two line ends. */
    assert_int_equal(lo_sse_feed(p, "data: c\r", 8), 0);
    assert_int_equal(lo_sse_feed(p, "\r", 1), 0);
    static const want w2[] = {W("message", "a\nb"), W("message", "c")};
    expect_same(&r, w2, 2, "CR CR split");
    /* A CR at the very end of the stream is a complete line end. */
    assert_int_equal(lo_sse_feed(p, "data: d\r\r", 9), 0);
    assert_int_equal(lo_sse_finish(p), 0);
    assert_int_equal(r.n, 3);
    lo_sse_free(p);
    rec_clear(&r);
}

static void test_bom(void **state)
{
    (void)state;
    CHECK("\xEF\xBB\xBF" "data: x\n\n", W("message", "x"));
    CHECK("\xEF\xBB\xBF" ": c\n" "\xEF\xBB\xBF" "data: y\n\n"
          "data: z\n\n",
          W("message", "z")); /* the second BOM is part of a field name */
    /* Only one BOM is skipped. */
    CHECK_NONE("\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\n", 0);
    /* A BOM in a value is data. */
    CHECK("data: \xEF\xBB\xBF" "x\n\n", W("message", "\xEF\xBB\xBF" "x"));
    /* A BOM at the start of a later event is not skipped. */
    CHECK("data: a\n\n" "\xEF\xBB\xBF" "data: b\n\n", W("message", "a"));
    /* A BOM prefix that turns out not to be one keeps its bytes: here they
     * turn "data" into an unknown field, so nothing is dispatched. */
    CHECK_NONE("\xEF" "data: x\n\n", 0);
    CHECK_NONE("\xEF\xBB" "data: x\n\n", 0);
    CHECK("\xEF\xBB\n" "data: y\n\n", W("message", "y"));
    CHECK("\xEF\xBB\xBF\n" "data: y\n\n", W("message", "y"));
    /* A stream that stops inside a possible BOM is cut. */
    CHECK_NONE("\xEF\xBB", 1);
    CHECK_NONE("\xEF\xBB\xBF", 0);
    CHECK_NONE("", 0);
}

static void test_event_type(void **state)
{
    (void)state;
    CHECK("event: add\ndata: 1\n\nevent: remove\ndata: 2\n\ndata: 3\n\n",
          W("add", "1"), W("remove", "2"), W("message", "3"));
    CHECK("event:\ndata: x\n\n", W("message", "x"));
    CHECK("event: a\nevent: b\ndata: x\n\n", W("b", "x"));
    /* A blank line with no data clears the type too. */
    CHECK("event: foo\n\ndata: x\n\n", W("message", "x"));
    CHECK("data: x\nevent: late\n\n", W("late", "x"));
}

static void test_id(void **state)
{
    (void)state;
    /* The id persists across events until an id field changes it; an empty
     * id resets it. */
    CHECK("id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\nid\ndata: d\n\n"
          "id:\ndata: e\n\n",
          WI("message", "a", "1"), WI("message", "b", "1"),
          WI("message", "c", "2"), WI("message", "d", ""),
          WI("message", "e", ""));
    CHECK("data: a\nid: 7\n\n", WI("message", "a", "7"));
    CHECK("id:  sp\ndata: a\n\n", WI("message", "a", " sp"));
    /* An id containing NUL is ignored. */
    static const char nul[] = "id: 3\n\nid: a\0b\ndata: x\n\n";
    static const want wn[] = {WI("message", "x", "3")};
    check_full(nul, sizeof nul - 1, wn, 1, 0, 0, 0);

    /* The last event ID is set at a blank line, even without data, and not
     * by an id whose event is cut. */
    rec r = {0};
    lo_sse *p = lo_sse_new(on_event, &r, 0);
    assert_non_null(p);
    assert_string_equal(lo_sse_last_id(p), "");
    assert_int_equal(lo_sse_feed(p, "id: 5\n", 6), 0);
    assert_string_equal(lo_sse_last_id(p), "");
    assert_int_equal(lo_sse_feed(p, "\n", 1), 0);
    assert_string_equal(lo_sse_last_id(p), "5");
    assert_int_equal(r.n, 0);
    assert_int_equal(lo_sse_feed(p, "id: 6\ndata: x\n", 14), 0);
    assert_int_equal(lo_sse_finish(p), 1);
    assert_string_equal(lo_sse_last_id(p), "5");
    /* A new stream (reconnection) keeps the last event ID. */
    assert_int_equal(lo_sse_feed(p, "data: y\n\n", 9), 0);
    static const want wy[] = {WI("message", "y", "5")};
    expect_same(&r, wy, 1, "after reconnect");
    lo_sse_free(p);
    rec_clear(&r);
}

static void test_retry(void **state)
{
    (void)state;
    static const want w[] = {
        {"message", "a", "", 1500, 0},
        {"message", "b", "", -1, 0},
        {"message", "c", "", 7, 0},
    };
    static const char in[] =
        "retry: 1500\ndata: a\n\n"
        "data: b\nretry: 15x\nretry: -5\nretry:  100\nretry:\nretry\nretry: 1.5\n\n"
        "retry: 007\ndata: c\n\n";
    check_full(in, sizeof in - 1, w, 3, 0, 0, 0);

    rec r = {0};
    lo_sse *p = lo_sse_new(on_event, &r, 0);
    assert_non_null(p);
    assert_int_equal(lo_sse_retry_ms(p), -1);
    assert_int_equal(lo_sse_feed(p, in, sizeof in - 1), 0);
    assert_int_equal(lo_sse_retry_ms(p), 7);
    /* retry takes effect at once, even in a block without data. */
    assert_int_equal(lo_sse_feed(p, "retry: 2000\n\n", 13), 0);
    assert_int_equal(lo_sse_retry_ms(p), 2000);
    assert_int_equal(r.n, 3);
    assert_int_equal(lo_sse_feed(p, "retry: 99999999999999999999999999\n", 34), 0);
    assert_int_equal(lo_sse_retry_ms(p), LONG_MAX);
    assert_int_equal(lo_sse_feed(p, "retry:0\n", 8), 0);
    assert_int_equal(lo_sse_retry_ms(p), 0);
    assert_int_equal(lo_sse_finish(p), 1);
    assert_int_equal(lo_sse_retry_ms(p), 0);
    lo_sse_free(p);
    rec_clear(&r);
}

static void test_field_syntax(void **state)
{
    (void)state;
    CHECK("data:x\n\n", W("message", "x"));
    CHECK("data:  x\n\n", W("message", " x")); /* only one space goes */
    CHECK("data:\tx\n\n", W("message", "\tx"));
    CHECK("data: x: y\n\n", W("message", "x: y")); /* the first colon splits */
    CHECK("data::\n\n", W("message", ":"));
    CHECK("data: x \n\n", W("message", "x ")); /* trailing space kept */
    CHECK("event:ev\ndata:d\n\n", W("ev", "d"));
}

static void test_unknown_fields(void **state)
{
    (void)state;
    /* Field names are case-sensitive and exact. */
    CHECK_NONE("foo: bar\nDATA: x\nData: y\ndata : z\n datum: w\ndat: v\n"
               "datas: u\nEvent: e\n\n",
               0);
    CHECK("foo\ndata: x\nbar: baz\nretryx: 5\nidx: 1\n\n", W("message", "x"));
}

static void test_blank_lines(void **state)
{
    (void)state;
    CHECK_NONE("\n\n\n", 0);
    CHECK_NONE("\r\n\r\n\r\r", 0);
    CHECK("\n\ndata: x\n\n\n\n", W("message", "x"));
}

static void test_eof_discard(void **state)
{
    (void)state;
    CHECK_FIN("data: a\n\ndata: b\n", 1, W("message", "a"));
    CHECK_FIN("data: a\n\ndata: b", 1, W("message", "a"));
    CHECK_FIN("data: a\n\ndata: b\r", 1, W("message", "a"));
    CHECK_FIN("data: a\n\nevent: x\n", 1, W("message", "a"));
    CHECK_FIN("data: a\n\n: bye\n", 0, W("message", "a"));
    CHECK_FIN("data: a\n\n", 0, W("message", "a"));

    /* After finish the parser is ready for a new stream, BOM check too. */
    rec r = {0};
    lo_sse *p = lo_sse_new(on_event, &r, 0);
    assert_non_null(p);
    assert_int_equal(lo_sse_feed(p, "event: t\ndata: cut", 18), 0);
    assert_int_equal(lo_sse_finish(p), 1);
    assert_int_equal(lo_sse_finish(p), 0);
    assert_int_equal(lo_sse_feed(p, "\xEF\xBB\xBF" "data: c\n\n", 12), 0);
    static const want w[] = {W("message", "c")};
    expect_same(&r, w, 1, "after finish");
    lo_sse_free(p);
    rec_clear(&r);
}

static void test_nul_and_utf8(void **state)
{
    (void)state;
    /* NUL in data is data: data_len counts it. */
    static const char in[] = "data: a\0b\n\n";
    static const want w[] = {{"message", "a\0b", "", -1, 3}};
    check_full(in, sizeof in - 1, w, 1, 0, 0, 0);
    /* Multi-byte characters split at every byte come out whole. */
    CHECK("event: caf\xC3\xA9\ndata: \xE2\x80\x94 \xF0\x9F\x98\x8A \xE4\xB8\xAD\n\n",
          W("caf\xC3\xA9", "\xE2\x80\x94 \xF0\x9F\x98\x8A \xE4\xB8\xAD"));
    /* Invalid UTF-8 passes through unchanged. */
    CHECK("data: \xFF\xC3\n\n", W("message", "\xFF\xC3"));
}

static void test_max_event_bytes(void **state)
{
    (void)state;
    static const want ok16[] = {W("message", "0123456789abcdef")};
    static const char in16[] = "data:0123456789abcdef\n\n";
    /* That line is 21 bytes: the line limit needs at least that. */
    check_full(in16, sizeof in16 - 1, NULL, 0, LO_ETOOBIG, 1, 16);
    check_full(in16, sizeof in16 - 1, ok16, 1, 0, 0, 21);
    static const char in17[] = "data:0123456789abcdefg\n\n";
    check_full(in17, sizeof in17 - 1, NULL, 0, LO_ETOOBIG, 1, 16);
    /* Data limit, counting the LFs that join lines: 8 + 1 + 7 = 16. */
    static const char ml[] = "data:12345678\ndata:1234567\n\n";
    static const want wml[] = {W("message", "12345678\n1234567")};
    check_full(ml, sizeof ml - 1, wml, 1, 0, 0, 16);
    static const char ml2[] = "data:12345678\ndata:12345678\n\n";
    check_full(ml2, sizeof ml2 - 1, NULL, 0, LO_ETOOBIG, 1, 16);
    /* Events before the long one go out, whatever the chunking. */
    static const char before[] = "data:a\n\n: a comment longer than 16\n";
    static const want wb[] = {W("message", "a")};
    check_full(before, sizeof before - 1, wb, 1, LO_ETOOBIG, 1, 16);
    /* A line of exactly max bytes is fine, comment or not. */
    static const char exact[] = ": 34567890123456\ndata:x\n\n";
    static const want wx[] = {W("message", "x")};
    check_full(exact, sizeof exact - 1, wx, 1, 0, 0, 16);

    /* The error is sticky until finish. */
    rec r = {0};
    lo_sse *p = lo_sse_new(on_event, &r, 16);
    assert_non_null(p);
    assert_int_equal(lo_sse_feed(p, "data: 01234567890123456789", 26), LO_ETOOBIG);
    assert_int_equal(lo_sse_feed(p, "\n\ndata: x\n\n", 11), LO_ETOOBIG);
    assert_int_equal(r.n, 0);
    assert_int_equal(lo_sse_finish(p), 1);
    assert_int_equal(lo_sse_feed(p, "data: x\n\n", 9), 0);
    assert_int_equal(r.n, 1);
    lo_sse_free(p);
    rec_clear(&r);

    /* The default limit is 16 MiB: a 1 MiB event in 64 KiB lines passes. */
    size_t lines = 16, each = 65536;
    size_t len = lines * (each + 6) + 1;
    char *big = malloc(len);
    assert_non_null(big);
    char *o = big;
    for (size_t i = 0; i < lines; i++) {
        memcpy(o, "data:", 5);
        memset(o + 5, 'a' + (int)i, each);
        o[5 + each] = '\n';
        o += each + 6;
    }
    *o++ = '\n';
    p = lo_sse_new(on_event, &r, 0);
    assert_non_null(p);
    for (size_t at = 0; at < len; at += 4093) {
        size_t n = len - at < 4093 ? len - at : 4093;
        assert_int_equal(lo_sse_feed(p, big + at, n), 0);
    }
    assert_int_equal(lo_sse_finish(p), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0].data_len, lines * (each + 1) - 1);
    for (size_t i = 0; i < lines; i++) {
        assert_int_equal(r.v[0].data[i * (each + 1)], 'a' + (int)i);
        assert_int_equal(r.v[0].data[i * (each + 1) + each - 1], 'a' + (int)i);
    }
    lo_sse_free(p);
    rec_clear(&r);
    free(big);
}

static void test_callback_stops(void **state)
{
    (void)state;
    rec r = {.stop_at = 2};
    lo_sse *p = lo_sse_new(on_event, &r, 0);
    assert_non_null(p);
    static const char in[] = "data: a\n\ndata: b\n\ndata: c\n\n";
    assert_int_equal(lo_sse_feed(p, in, sizeof in - 1), 42);
    assert_int_equal(r.n, 2);
    /* Not sticky: the rest of that chunk is dropped, later feeds parse. */
    assert_int_equal(lo_sse_feed(p, "data: d\n\n", 9), 0);
    static const want w[] = {W("message", "a"), W("message", "b"), W("message", "d")};
    expect_same(&r, w, 3, "after stop");
    assert_int_equal(lo_sse_finish(p), 0);
    lo_sse_free(p);
    rec_clear(&r);

    /* Stopping on a blank line ended by CR at the end of the chunk: the LF
     * that follows still belongs to it. */
    rec r2 = {.stop_at = 1};
    p = lo_sse_new(on_event, &r2, 0);
    assert_non_null(p);
    assert_int_equal(lo_sse_feed(p, "data: a\r\r", 9), 42);
    assert_int_equal(lo_sse_feed(p, "\ndata: b\n\n", 10), 0);
    static const want w2[] = {W("message", "a"), W("message", "b")};
    expect_same(&r2, w2, 2, "stop at CR");
    lo_sse_free(p);
    rec_clear(&r2);
}

static int count_only(const lo_sse_event *e, void *ud)
{
    (void)e;
    ++*(int *)ud;
    return 0;
}

static void test_null_callback_and_enomem(void **state)
{
    (void)state;
    lo_sse *p = lo_sse_new(NULL, NULL, 0);
    assert_non_null(p);
    assert_int_equal(lo_sse_feed(p, "id: 9\nretry: 5\ndata: x\n\n", 24), 0);
    assert_string_equal(lo_sse_last_id(p), "9");
    assert_int_equal(lo_sse_retry_ms(p), 5);
    lo_sse_free(p);
    lo_sse_free(NULL);

    /* Every allocation in lo_sse_new can fail cleanly. */
    for (long n = 1; n <= 6; n++) {
        lo_alloc_fail_after(n);
        p = lo_sse_new(NULL, NULL, 0);
        lo_alloc_fail_after(0);
        assert_null(p);
    }
    lo_alloc_fail_after(7);
    p = lo_sse_new(NULL, NULL, 0);
    lo_alloc_fail_after(0);
    assert_non_null(p);
    lo_sse_free(p);

    /* Growth failing in the middle of a stream: LO_ENOMEM, sticky until
     * finish, and the parser works afterwards. */
    int count = 0;
    p = lo_sse_new(count_only, &count, 0);
    assert_non_null(p);
    char line[5000];
    memcpy(line, "data: ", 6);
    memset(line + 6, 'x', sizeof line - 8);
    line[sizeof line - 2] = '\n';
    line[sizeof line - 1] = '\n';
    lo_alloc_fail_after(1);
    assert_int_equal(lo_sse_feed(p, line, sizeof line), LO_ENOMEM);
    lo_alloc_fail_after(0);
    assert_int_equal(lo_sse_feed(p, "data: y\n\n", 9), LO_ENOMEM);
    assert_int_equal(lo_sse_finish(p), 1);
    assert_int_equal(lo_sse_feed(p, line, sizeof line), 0);
    assert_int_equal(count, 1);
    /* A partial line that must grow its buffer. */
    lo_alloc_fail_after(1);
    assert_int_equal(lo_sse_feed(p, line, 3000), LO_ENOMEM);
    lo_alloc_fail_after(0);
    assert_int_equal(lo_sse_finish(p), 1);
    lo_sse_free(p);
}

/* ---- recorded provider streams ---- */

static char *slurp(const char *rel, size_t *len)
{
    char *data = NULL;
    lo_error err = {0};
    if (lo_file_read(lo_test_data(rel), 0, &data, len, &err) != 0)
        fail_msg("cannot read %s: %s", lo_test_data(rel), err.msg);
    return data;
}

static rec parse_cut(const char *in, size_t len, const size_t *cuts, size_t n)
{
    rec r = {0};
    lo_sse *p = lo_sse_new(on_event, &r, 0);
    assert_non_null(p);
    int fin;
    assert_int_equal(feed_cuts(p, in, len, cuts, n, &fin), 0);
    assert_int_equal(fin, 0);
    lo_sse_free(p);
    return r;
}

static void same_events(const rec *a, const rec *b, const char *how)
{
    if (a->n != b->n)
        fail_msg("%s: %zu events, whole stream gave %zu", how, b->n, a->n);
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].type, b->v[i].type) || a->v[i].data_len != b->v[i].data_len ||
            memcmp(a->v[i].data, b->v[i].data, a->v[i].data_len) ||
            strcmp(a->v[i].id, b->v[i].id) || a->v[i].retry != b->v[i].retry)
            fail_msg("%s: event %zu differs", how, i);
}

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* 500 chunkings: the first all 1-byte chunks, then random cut points with a
 * chunk size bound that varies from 2 bytes to the whole stream. Also the
 * same stream with CRLF and with CR line ends. */
static void rechunk_500(const char *in, size_t len, const rec *whole)
{
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    assert_non_null(cuts);
    char how[64];
    rng_state = 0x5eed5eedULL;
    for (int k = 0; k < 500; k++) {
        size_t n = 0, bound = k == 0 ? 1 : 2 + rnd() % (k % 3 == 0 ? len : 64);
        for (size_t at = 0;;) {
            at += 1 + (k == 0 ? 0 : rnd() % bound);
            if (at >= len)
                break;
            cuts[n++] = at;
        }
        rec r = parse_cut(in, len, cuts, n);
        snprintf(how, sizeof how, "chunking %d (%zu chunks)", k, n + 1);
        same_events(whole, &r, how);
        rec_clear(&r);
    }
    free(cuts);

    for (int v = 0; v < 2; v++) {
        char *alt = malloc(2 * len + 1);
        assert_non_null(alt);
        size_t m = 0;
        for (size_t i = 0; i < len; i++) {
            if (in[i] == '\n') {
                alt[m++] = '\r';
                if (v == 0)
                    alt[m++] = '\n';
            } else {
                alt[m++] = in[i];
            }
        }
        size_t *c1 = malloc(m * sizeof *c1);
        assert_non_null(c1);
        for (size_t i = 0; i + 1 < m; i++)
            c1[i] = i + 1;
        for (int whole_or_bytes = 0; whole_or_bytes < 2; whole_or_bytes++) {
            rec r = parse_cut(alt, m, c1, whole_or_bytes ? m - 1 : 0);
            same_events(whole, &r, v == 0 ? "CRLF" : "CR");
            rec_clear(&r);
        }
        free(c1);
        free(alt);
    }
}

static json_t *data_json(const rec_ev *e)
{
    json_error_t jerr;
    json_t *j = json_loadb(e->data, e->data_len, 0, &jerr);
    if (!j)
        fail_msg("event data is not JSON: %s: %s", jerr.text, e->data);
    return j;
}

static void test_recorded_anthropic(void **state)
{
    (void)state;
    size_t len;
    char *in = slurp("sse/anthropic_messages.sse", &len);
    rec whole = parse_cut(in, len, NULL, 0);
    static const char *const types[] = {
        "message_start", "content_block_start", "ping",
        "content_block_delta", "content_block_delta", "content_block_delta",
        "content_block_delta", "content_block_delta", "content_block_delta",
        "content_block_delta", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop",
    };
    assert_int_equal(whole.n, sizeof types / sizeof types[0]);
    lo_buf text;
    lo_buf_init(&text, 0);
    for (size_t i = 0; i < whole.n; i++) {
        assert_string_equal(whole.v[i].type, types[i]);
        assert_string_equal(whole.v[i].id, "");
        assert_int_equal(whole.v[i].retry, -1);
        json_t *j = data_json(&whole.v[i]);
        /* Anthropic repeats the event name as the JSON type. */
        assert_string_equal(json_string_value(json_object_get(j, "type")), types[i]);
        const char *t = json_string_value(
            json_object_get(json_object_get(j, "delta"), "text"));
        if (t)
            assert_int_equal(lo_buf_puts(&text, t), 0);
        json_decref(j);
    }
    assert_string_equal(whole.v[2].data, "{\"type\": \"ping\"}");
    assert_string_equal(text.data,
                        "Here's a haiku about the caf\xC3\xA9 at dawn \xE2\x80\x94\n\n"
                        "Steam curls from the cup,\nwindows blush with first light "
                        "\xE2\x80\x94 \xE2\x98\x95\nthe city yawns awake.\n\n"
                        "Want another one? \xF0\x9F\x8C\x85");
    lo_buf_release(&text);
    rechunk_500(in, len, &whole);
    rec_clear(&whole);
    free(in);
}

static void test_recorded_openai_responses(void **state)
{
    (void)state;
    size_t len;
    char *in = slurp("sse/openai_responses.sse", &len);
    rec whole = parse_cut(in, len, NULL, 0);
    assert_int_equal(whole.n, 21);
    assert_string_equal(whole.v[0].type, "response.created");
    assert_string_equal(whole.v[1].type, "response.in_progress");
    assert_string_equal(whole.v[2].type, "response.output_item.added");
    assert_string_equal(whole.v[3].type, "response.content_part.added");
    for (size_t i = 4; i < 17; i++)
        assert_string_equal(whole.v[i].type, "response.output_text.delta");
    assert_string_equal(whole.v[17].type, "response.output_text.done");
    assert_string_equal(whole.v[18].type, "response.content_part.done");
    assert_string_equal(whole.v[19].type, "response.output_item.done");
    assert_string_equal(whole.v[20].type, "response.completed");
    lo_buf text;
    lo_buf_init(&text, 0);
    for (size_t i = 0; i < whole.n; i++) {
        json_t *j = data_json(&whole.v[i]);
        assert_string_equal(json_string_value(json_object_get(j, "type")),
                            whole.v[i].type);
        assert_int_equal(json_integer_value(json_object_get(j, "sequence_number")),
                         (json_int_t)i);
        const char *d = json_string_value(json_object_get(j, "delta"));
        if (d)
            assert_int_equal(lo_buf_puts(&text, d), 0);
        if (i == 17)
            assert_string_equal(json_string_value(json_object_get(j, "text")),
                                text.data);
        json_decref(j);
    }
    assert_string_equal(text.data, "Under the bridge, the river hums \xE2\x80\x94 "
                                   "na\xC3\xAFve stars drift by.");
    lo_buf_release(&text);
    rechunk_500(in, len, &whole);
    rec_clear(&whole);
    free(in);
}

static void test_recorded_openai_chat(void **state)
{
    (void)state;
    size_t len;
    char *in = slurp("sse/openai_chat.sse", &len);
    rec whole = parse_cut(in, len, NULL, 0);
    assert_int_equal(whole.n, 14);
    lo_buf text;
    lo_buf_init(&text, 0);
    for (size_t i = 0; i < whole.n; i++) {
        assert_string_equal(whole.v[i].type, "message");
        if (i == whole.n - 1) {
            assert_string_equal(whole.v[i].data, "[DONE]");
            break;
        }
        json_t *j = data_json(&whole.v[i]);
        assert_string_equal(json_string_value(json_object_get(j, "object")),
                            "chat.completion.chunk");
        json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
        const char *c = json_string_value(
            json_object_get(json_object_get(choice, "delta"), "content"));
        if (c)
            assert_int_equal(lo_buf_puts(&text, c), 0);
        if (i == 11)
            assert_string_equal(json_string_value(json_object_get(choice, "finish_reason")),
                                "stop");
        if (i == 12)
            assert_int_equal(json_integer_value(json_object_get(
                                 json_object_get(j, "usage"), "total_tokens")),
                             20);
        json_decref(j);
    }
    assert_string_equal(text.data, "Hello! How can I help you today? \xF0\x9F\x98\x8A");
    lo_buf_release(&text);
    rechunk_500(in, len, &whole);
    rec_clear(&whole);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_multiline_data),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_cr_chunk_then_lf),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_event_type),
        cmocka_unit_test(test_id),
        cmocka_unit_test(test_retry),
        cmocka_unit_test(test_field_syntax),
        cmocka_unit_test(test_unknown_fields),
        cmocka_unit_test(test_blank_lines),
        cmocka_unit_test(test_eof_discard),
        cmocka_unit_test(test_nul_and_utf8),
        cmocka_unit_test(test_max_event_bytes),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_null_callback_and_enomem),
        cmocka_unit_test(test_recorded_anthropic),
        cmocka_unit_test(test_recorded_openai_responses),
        cmocka_unit_test(test_recorded_openai_chat),
    };
    return cmocka_run_group_tests_name("sse", tests, NULL, NULL);
}
