/* The §8.8 error and retry cases against the in-process twin, one test per
 * case and provider (anthropic, openai, gemini, openai_chat): an unknown
 * model is NOT_FOUND (404, not retried); a 500 is a retryable SERVER error
 * and a retry gets through; a 429 that keeps coming exhausts the retries
 * and surfaces the last error; a stream cut mid-way is a typed STREAM
 * error after the text already delivered, never retried. The 401 and
 * 429-then-success cases are in the parity matrix (test_llm_parity.c).
 * Tape: tests/data/tapes/llm.jsonl. */
#include "llm_twin.h"

static const char *const TAPES[] = {"llm.jsonl", NULL};

TWIN_GROUP_FIXTURES(TAPES)

typedef struct retries_seen {
    int n;
    lo_llm_error_kind kind;
} retries_seen;

static void on_retry(const lo_llm_error *e, int attempt, double delay, void *ud)
{
    (void)delay;
    retries_seen *s = ud;
    s->n = attempt;
    s->kind = e->kind;
}

static void retries_on(twin_fixture *f, int max, retries_seen *seen)
{
    lo_llm_retry_policy rp;
    lo_llm_retry_policy_init(&rp);
    rp.max_retries = max;
    rp.base_delay = 0.01;
    rp.on_retry = on_retry;
    rp.on_retry_ud = seen;
    lo_llm_client_set_retry(f->client, &rp);
}

static void unknown_model_404(void **state, const char *p)
{
    twin_fixture *f = *state;
    retries_seen seen = {0};
    retries_on(f, 2, &seen);
    lo_llm_request *r = ask_with(p, "no-such-model-7", "hello");
    lo_llm_response *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), LO_EIO);
    assert_null(res);
    assert_int_equal(err.kind, LO_LLM_ERR_NOT_FOUND);
    assert_int_equal(err.status, 404);
    assert_false(err.retryable);
    assert_int_equal(seen.n, 0);
    assert_null(strstr(err.message, TWIN_KEY));
    lo_llm_request_free(r);
}

static void server_error_500_then_success(void **state, const char *p)
{
    twin_fixture *f = *state;
    lo_llm_request *r = ask_for(p, "server error once");
    lo_llm_response *res = NULL;
    lo_llm_error err;
    /* retries off: the 500 itself */
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), LO_EIO);
    assert_int_equal(err.kind, LO_LLM_ERR_SERVER);
    assert_int_equal(err.status, 500);
    assert_true(err.retryable);
    /* a fresh twin (call numbering from 1) and retries on: through */
    twin_down(f);
    *state = f = twin_up(TAPES);
    retries_seen seen = {0};
    retries_on(f, 2, &seen);
    if (lo_llm_complete(f->client, r, &res, &err) != 0)
        fail_msg("%s: %s", p, err.message);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.kind, LO_LLM_ERR_SERVER);
    assert_int_equal(lo_twin_calls(f->twin), 2);
    char *text = lo_llm_response_text(res);
    assert_true(strlen(text) > 0);
    free(text);
    lo_llm_response_free(res);
    lo_llm_request_free(r);
}

static void rate_limit_exhausted(void **state, const char *p)
{
    twin_fixture *f = *state;
    retries_seen seen = {0};
    retries_on(f, 1, &seen); /* one retry, after the 1 s Retry-After */
    lo_llm_request *r = ask_for(p, "rate limit always");
    lo_llm_response *res = NULL;
    lo_llm_error err;
    assert_int_equal(lo_llm_complete(f->client, r, &res, &err), LO_EIO);
    assert_null(res);
    assert_int_equal(err.kind, LO_LLM_ERR_RATE_LIMIT);
    assert_int_equal(err.status, 429);
    assert_true(err.retryable);
    assert_int_equal(seen.n, 1);
    assert_int_equal(lo_twin_calls(f->twin), 2);
    lo_llm_request_free(r);
}

static void stream_cut(void **state, const char *p)
{
    twin_fixture *f = *state;
    retries_seen seen = {0};
    retries_on(f, 2, &seen);
    lo_llm_request *r = ask_for(p, "stream cut");
    collected c;
    collected_init(&c);
    lo_llm_response *res = NULL;
    lo_llm_error err;
    assert_int_not_equal(lo_llm_stream(f->client, r, collect_event, &c, &res, &err), 0);
    assert_null(res);
    assert_int_equal(err.kind, LO_LLM_ERR_STREAM);
    assert_int_equal(seen.n, 0); /* data was delivered: no retry */
    assert_int_equal(lo_twin_calls(f->twin), 1);
    /* events arrived before the cut: text, except on Responses, whose first
     * four events (created, in_progress, item and part added) carry none */
    assert_true(c.starts == 1);
    if (strcmp(p, "openai") != 0)
        assert_true(c.deltas > 0);
    assert_int_equal(c.finishes, 0);
    lo_buf_release(&c.text);
    lo_llm_request_free(r);
}

#define CELL(row, prov)                                                                            \
    static void test_##row##_##prov(void **state)                                                  \
    {                                                                                              \
        row(state, #prov);                                                                         \
    }
#define ROW(row) CELL(row, anthropic) CELL(row, openai) CELL(row, gemini) CELL(row, openai_chat)
#define ROWS(X)                                                                                    \
    X(unknown_model_404)                                                                           \
    X(server_error_500_then_success)                                                               \
    X(rate_limit_exhausted)                                                                        \
    X(stream_cut)

ROWS(ROW)

#define ENTRY(row, prov) cmocka_unit_test_setup_teardown(test_##row##_##prov, setup, teardown),
#define ENTRIES(row) ENTRY(row, anthropic) ENTRY(row, openai) ENTRY(row, gemini) ENTRY(row, openai_chat)

int main(void)
{
    const struct CMUnitTest tests[] = {ROWS(ENTRIES)};
    return cmocka_run_group_tests_name("llm_errors", tests, NULL, NULL);
}
