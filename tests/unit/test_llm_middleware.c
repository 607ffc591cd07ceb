/* The client's middleware chain (§2.3, src/llm/client.c) against the
 * in-process twin: requests pass the middleware in registration order and
 * responses come back in reverse, for complete and for streams; a
 * middleware may rewrite the request, change the response, answer from a
 * cache without calling on, and watch or transform stream events; the
 * chain sits outside retries. Tape: tests/data/tapes/llm.jsonl. */
#include <ctype.h>

#include "llm_twin.h"

static const char *const TAPES[] = {"llm.jsonl", NULL};

TWIN_GROUP_FIXTURES(TAPES)

/* Every middleware writes what it sees into one trace. */
static char TRACE[512];

static void trace(const char *what)
{
    size_t n = strlen(TRACE);
    snprintf(TRACE + n, sizeof TRACE - n, "%s%s", n ? " " : "", what);
}

typedef struct tag {
    const char *name;
} tag;

static int tracing(void *ud, const lo_llm_request *req, lo_llm_next *next, lo_llm_response **out,
                   lo_llm_error *err)
{
    const tag *t = ud;
    char buf[64];
    snprintf(buf, sizeof buf, "%s>", t->name);
    trace(buf);
    int rc = lo_llm_next_complete(next, req, out, err);
    snprintf(buf, sizeof buf, "<%s%s", t->name, rc ? "!" : "");
    trace(buf);
    return rc;
}

/* For streams: the handler this middleware puts in front of the caller's. */
typedef struct wrap {
    const tag *t;
    lo_llm_event_fn fn;
    void *ud;
    bool seen_first;
} wrap;

static int wrapped_event(const lo_llm_stream_event *ev, void *ud)
{
    wrap *w = ud;
    if (!w->seen_first) {
        w->seen_first = true;
        char buf[64];
        snprintf(buf, sizeof buf, "%s:event", w->t->name);
        trace(buf);
    }
    return w->fn(ev, w->ud);
}

static int tracing_stream(void *ud, const lo_llm_request *req, lo_llm_event_fn on_event,
                          void *event_ud, lo_llm_next *next, lo_llm_response **out,
                          lo_llm_error *err)
{
    const tag *t = ud;
    char buf[64];
    snprintf(buf, sizeof buf, "%s>", t->name);
    trace(buf);
    wrap w = {t, on_event, event_ud, false};
    int rc = lo_llm_next_stream(next, req, wrapped_event, &w, out, err);
    snprintf(buf, sizeof buf, "<%s", t->name);
    trace(buf);
    return rc;
}

static void use(twin_fixture *f, tag *t)
{
    lo_llm_middleware mw = {.name = t->name, .complete = tracing, .stream = tracing_stream,
                            .ud = t};
    assert_int_equal(lo_llm_client_use(f->client, &mw), 0);
}

static void test_order(void **state)
{
    twin_fixture *f = *state;
    tag a = {"A"}, b = {"B"}, c = {"C"};
    use(f, &a);
    use(f, &b);
    use(f, &c);
    TRACE[0] = 0;
    lo_llm_request *r = ask_for("anthropic", "hello there");
    lo_llm_response *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
    assert_string_equal(TRACE, "A> B> C> <C <B <A");
    lo_llm_response_free(res);

    /* streams: the same order, and events reach the outermost last */
    TRACE[0] = 0;
    collected col;
    collected_init(&col);
    assert_int_equal(lo_llm_stream(f->client, r, collect_event, &col, &res, &err), 0);
    assert_string_equal(TRACE, "A> B> C> C:event B:event A:event <C <B <A");
    assert_string_equal(col.text.data, "Hello! How can I help you today?");
    lo_buf_release(&col.text);
    lo_llm_response_free(res);

    /* a failure comes back through every one of them */
    TRACE[0] = 0;
    lo_llm_request *bad = ask_for("openai", "rate limit always");
    assert_int_equal(lo_llm_complete(f->client, bad, &res, &err), LO_EIO);
    assert_string_equal(TRACE, "A> B> C> <C! <B! <A!");
    assert_int_equal(err.kind, LO_LLM_ERR_RATE_LIMIT);
    lo_llm_request_free(bad);
    lo_llm_request_free(r);
}

/* Rewrite the request (another prompt) and the response (a warning). */
static int rewrite(void *ud, const lo_llm_request *req, lo_llm_next *next, lo_llm_response **out,
                   lo_llm_error *err)
{
    (void)ud;
    lo_llm_request *copy = lo_llm_request_clone(req);
    lo_llm_message_free(copy->messages[copy->n_messages - 1]);
    copy->messages[copy->n_messages - 1] = lo_llm_text_message(LO_ROLE_USER, "Say hello");
    int rc = lo_llm_next_complete(next, copy, out, err);
    lo_llm_request_free(copy);
    if (rc == 0)
        lo_llm_response_add_warning(*out, "rewritten by middleware", "rewrite");
    return rc;
}

/* A cache: the second identical request never reaches the provider. */
typedef struct cache {
    char *key;
    lo_llm_response *saved;
    int hits;
} cache;

static lo_llm_response *copy_response(const lo_llm_response *r)
{
    lo_llm_response *c = lo_llm_response_new();
    lo_llm_message_free(c->message);
    c->message = lo_llm_message_clone(r->message);
    c->provider = strdup(r->provider);
    c->finish.reason = r->finish.reason;
    c->usage = r->usage;
    return c;
}

static int caching(void *ud, const lo_llm_request *req, lo_llm_next *next, lo_llm_response **out,
                   lo_llm_error *err)
{
    cache *c = ud;
    char *key = lo_llm_message_text(req->messages[req->n_messages - 1]);
    if (c->saved && strcmp(c->key, key) == 0) {
        free(key);
        c->hits++;
        *out = copy_response(c->saved);
        return 0;
    }
    int rc = lo_llm_next_complete(next, req, out, err);
    if (rc == 0) {
        free(c->key);
        lo_llm_response_free(c->saved);
        c->key = key;
        c->saved = copy_response(*out);
    } else {
        free(key);
    }
    return rc;
}

static void test_rewrite_and_cache(void **state)
{
    twin_fixture *f = *state;
    cache ch = {0};
    lo_llm_middleware m1 = {.name = "cache", .complete = caching, .ud = &ch};
    lo_llm_middleware m2 = {.name = "rewrite", .complete = rewrite};
    assert_int_equal(lo_llm_client_use(f->client, &m1), 0);
    assert_int_equal(lo_llm_client_use(f->client, &m2), 0);
    lo_llm_request *r = ask_for("gemini", "something the tape does not know");
    lo_llm_response *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
    char *text = lo_llm_response_text(res);
    assert_string_equal(text, "Hello! Nice to meet you."); /* the rewritten prompt's answer */
    free(text);
    assert_int_equal(res->n_warnings, 1);
    assert_string_equal(res->warnings[0].code, "rewrite");
    assert_int_equal(lo_twin_calls(f->twin), 1);
    lo_llm_response_free(res);
    /* the same request again: answered by the cache */
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
    assert_int_equal(ch.hits, 1);
    assert_int_equal(lo_twin_calls(f->twin), 1);
    text = lo_llm_response_text(res);
    assert_string_equal(text, "Hello! Nice to meet you.");
    free(text);
    lo_llm_response_free(res);
    /* streams pass a complete-only chain untouched (and reach the provider) */
    collected col;
    collected_init(&col);
    lo_llm_request *hi = ask_for("gemini", "hello there");
    assert_int_equal(lo_llm_stream(f->client, hi, collect_event, &col, NULL, &err), 0);
    assert_int_equal(lo_twin_calls(f->twin), 2);
    assert_string_equal(col.text.data, "Hello! How can I help you today?");
    lo_buf_release(&col.text);
    lo_llm_request_free(hi);
    lo_llm_request_free(r);
    free(ch.key);
    lo_llm_response_free(ch.saved);
}

/* A stream middleware that upper-cases text deltas on their way out. */
typedef struct upper {
    lo_llm_event_fn fn;
    void *ud;
} upper;

static int upper_event(const lo_llm_stream_event *ev, void *ud)
{
    upper *u = ud;
    if (ev->type != LO_STREAM_TEXT_DELTA || !ev->delta)
        return u->fn(ev, u->ud);
    lo_llm_stream_event copy = *ev;
    char *d = strdup(ev->delta);
    for (char *p = d; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    copy.delta = d;
    int rc = u->fn(&copy, u->ud);
    free(d);
    return rc;
}

static int uppercasing(void *ud, const lo_llm_request *req, lo_llm_event_fn on_event,
                       void *event_ud, lo_llm_next *next, lo_llm_response **out,
                       lo_llm_error *err)
{
    (void)ud;
    upper u = {on_event, event_ud};
    return lo_llm_next_stream(next, req, upper_event, &u, out, err);
}

static void test_stream_transform(void **state)
{
    twin_fixture *f = *state;
    lo_llm_middleware mw = {.name = "upper", .stream = uppercasing};
    assert_int_equal(lo_llm_client_use(f->client, &mw), 0);
    lo_llm_request *r = ask_for("openai", "hello there");
    collected col;
    collected_init(&col);
    lo_llm_response *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_stream(f->client, r, collect_event, &col, &res, &err), 0);
    assert_string_equal(col.text.data, "HELLO! HOW CAN I HELP YOU TODAY?");
    /* the accumulated response is the provider's */
    char *text = lo_llm_response_text(res);
    assert_string_equal(text, "Hello! How can I help you today?");
    free(text);
    lo_buf_release(&col.text);
    lo_llm_response_free(res);
    /* generate goes through the chain too */
    lo_llm_result *gr = NULL;
    collected_init(&col);
    assert_int_equal(lo_llm_generate_stream(f->client, r, NULL, collect_event, &col, &gr, &err), 0);
    assert_string_equal(col.text.data, "HELLO! HOW CAN I HELP YOU TODAY?");
    lo_buf_release(&col.text);
    lo_llm_result_free(gr);
    lo_llm_request_free(r);
}

/* The chain is outside the retries: one call down it, two attempts below. */
static void test_outside_retries(void **state)
{
    twin_fixture *f = *state;
    tag a = {"A"};
    use(f, &a);
    lo_llm_retry_policy rp;
    lo_llm_retry_policy_init(&rp);
    rp.base_delay = 0.01;
    lo_llm_client_set_retry(f->client, &rp);
    TRACE[0] = 0;
    lo_llm_request *r = ask_for("anthropic", "server error once");
    lo_llm_response *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), 0);
    assert_string_equal(TRACE, "A> <A");
    assert_int_equal(lo_twin_calls(f->twin), 2);
    lo_llm_response_free(res);
    lo_llm_request_free(r);
}

/* A middleware that claims success without a response is caught. */
static int broken(void *ud, const lo_llm_request *req, lo_llm_next *next, lo_llm_response **out,
                  lo_llm_error *err)
{
    (void)ud;
    (void)req;
    (void)next;
    (void)out;
    (void)err;
    return 0;
}

static void test_broken_middleware(void **state)
{
    twin_fixture *f = *state;
    lo_llm_middleware mw = {.name = "broken", .complete = broken};
    assert_int_equal(lo_llm_client_use(f->client, &mw), 0);
    lo_llm_request *r = ask_for("anthropic", "hello there");
    lo_llm_response *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), LO_EIO);
    assert_null(res);
    assert_non_null(strstr(err.message, "middleware broken returned success without a response"));
    assert_int_equal(lo_llm_client_use(f->client, NULL), LO_EINVAL);
    lo_llm_request_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite_and_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_transform, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outside_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_middleware, setup, teardown),
    };
    return cmocka_run_group_tests_name("llm_middleware", tests, NULL, NULL);
}
