/* The twin fixture of the LLM client's offline tests (test_llm_twin.c,
 * test_llm_generate.c, test_llm_parity.c): one in-process twin serving all
 * three provider APIs on an ephemeral port, and a client with the four
 * adapters pointed at it (openai and openai_chat at its /v1). Retries are
 * off unless a test turns them on, so faults surface. */
#ifndef LO_LLM_TWIN_TESTUTIL_H
#define LO_LLM_TWIN_TESTUTIL_H

#include <pthread.h>

#include "testutil.h"

#include "lightsout/llm.h"
#include "lightsout/twin.h"

#define TWIN_KEY "sk-twin-test-0123456789"
#define TWIN_MAX_TAPES 4

typedef struct twin_fixture {
    lo_tape *tapes[TWIN_MAX_TAPES];
    size_t n_tapes;
    lo_twin *twin;
    lo_llm_client *client;
    char v1[256];
} twin_fixture;

/* The model each provider is asked for in these tests (catalog ids). */
static inline const char *twin_model(const char *provider)
{
    if (strcmp(provider, "anthropic") == 0)
        return "claude-sonnet-4-5";
    if (strcmp(provider, "gemini") == 0)
        return "gemini-3-flash-preview";
    return "gpt-5.2";
}

/* Start a twin on the tapes (names under tests/data/tapes) and a client
 * for it. */
static inline twin_fixture *twin_up(const char *const *tapes)
{
    twin_fixture *f = calloc(1, sizeof *f);
    lo_error err;
    for (; tapes[f->n_tapes] && f->n_tapes < TWIN_MAX_TAPES; f->n_tapes++) {
        char rel[256];
        snprintf(rel, sizeof rel, "tapes/%s", tapes[f->n_tapes]);
        if (!(f->tapes[f->n_tapes] = lo_tape_load(lo_test_data(rel), &err)))
            fail_msg("tape %s: %s", rel, err.msg);
    }
    char models[4096];
    snprintf(models, sizeof models, "%s", lo_test_data("../../data/models.json"));
    lo_twin_config cfg = {.provider = "all", .tapes = f->tapes, .n_tapes = f->n_tapes,
                          .api_key = TWIN_KEY, .models_path = models};
    if (!(f->twin = lo_twin_start(&cfg, &err)))
        fail_msg("twin: %s", err.msg);
    f->client = lo_llm_client_new();
    snprintf(f->v1, sizeof f->v1, "%s/v1", lo_twin_base_url(f->twin));
    const char *base = lo_twin_base_url(f->twin);
    lo_llm_provider_config pcs[] = {
        {.provider = "anthropic", .api_key = TWIN_KEY, .base_url = base},
        {.provider = "openai", .api_key = TWIN_KEY, .base_url = f->v1},
        {.provider = "openai_chat", .api_key = TWIN_KEY, .base_url = f->v1},
        {.provider = "gemini", .api_key = TWIN_KEY, .base_url = base},
    };
    lo_llm_error lerr;
    for (size_t i = 0; i < sizeof pcs / sizeof pcs[0]; i++)
        if (lo_llm_client_add_provider(f->client, &pcs[i], &lerr) != 0)
            fail_msg("provider %s: %s", pcs[i].provider, lerr.message);
    lo_llm_retry_policy rp;
    lo_llm_retry_policy_init(&rp);
    rp.max_retries = 0;
    lo_llm_client_set_retry(f->client, &rp);
    return f;
}

static inline void twin_down(twin_fixture *f)
{
    if (!f)
        return;
    lo_llm_client_free(f->client);
    lo_twin_stop(f->twin);
    for (size_t i = 0; i < f->n_tapes; i++)
        lo_tape_free(f->tapes[i]);
    free(f);
}

/* The cmocka group fixtures setup() and teardown(): one twin on the tapes
 * for every test of the file, its twin_fixture the group state. */
#define TWIN_GROUP_FIXTURES(tapes)                                                           \
    static int setup(void **state)                                                           \
    {                                                                                        \
        *state = twin_up(tapes);                                                             \
        return 0;                                                                            \
    }                                                                                        \
    static int teardown(void **state)                                                        \
    {                                                                                        \
        twin_down(*state);                                                                   \
        return 0;                                                                            \
    }

/* A request for provider with one user message. */
static inline lo_llm_request *ask_with(const char *provider, const char *model, const char *text)
{
    lo_llm_request *r = lo_llm_request_new(model);
    r->provider = strdup(provider);
    assert_int_equal(lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_USER, text)), 0);
    return r;
}

static inline lo_llm_request *ask_for(const char *provider, const char *text)
{
    return ask_with(provider, twin_model(provider), text);
}

/* A request for provider with no messages yet (for a generate prompt). */
static inline lo_llm_request *empty_for(const char *provider)
{
    lo_llm_request *r = lo_llm_request_new(twin_model(provider));
    r->provider = strdup(provider);
    return r;
}

/* The get_weather tool: {city: string (required), unit: celsius|fahrenheit}. */
static inline void add_weather_tool(lo_llm_request *r)
{
    lo_error e;
    json_t *schema = json_pack("{s:s, s:{s:{s:s}, s:{s:s, s:[s,s]}}, s:[s]}", "type", "object",
                               "properties", "city", "type", "string", "unit", "type", "string",
                               "enum", "celsius", "fahrenheit", "required", "city");
    if (lo_llm_request_add_tool(r, "get_weather", "Weather for a city", schema, &e) != 0)
        fail_msg("add_tool: %s", e.msg);
}

/* Stream events collected, for assertions. */
typedef struct collected {
    lo_buf text;
    int starts, deltas, text_starts, text_ends, call_starts, call_deltas, call_ends, finishes,
        step_finishes, errors, reasoning_deltas, total;
    lo_llm_error_kind error_kind;
    lo_llm_stream_event_type last;
} collected;

static inline void collected_init(collected *c)
{
    memset(c, 0, sizeof *c);
    lo_buf_init(&c->text, 0);
}

static inline int collect_event(const lo_llm_stream_event *ev, void *ud)
{
    collected *c = ud;
    c->total++;
    c->last = ev->type;
    switch (ev->type) {
    case LO_STREAM_START:
        c->starts++;
        break;
    case LO_STREAM_TEXT_START:
        c->text_starts++;
        break;
    case LO_STREAM_TEXT_DELTA:
        lo_buf_puts(&c->text, ev->delta ? ev->delta : "");
        c->deltas++;
        break;
    case LO_STREAM_TEXT_END:
        c->text_ends++;
        break;
    case LO_STREAM_REASONING_DELTA:
        c->reasoning_deltas++;
        break;
    case LO_STREAM_TOOL_CALL_START:
        c->call_starts++;
        break;
    case LO_STREAM_TOOL_CALL_DELTA:
        c->call_deltas++;
        break;
    case LO_STREAM_TOOL_CALL_END:
        c->call_ends++;
        break;
    case LO_STREAM_FINISH:
        c->finishes++;
        break;
    case LO_STREAM_STEP_FINISH:
        c->step_finishes++;
        break;
    case LO_STREAM_ERROR:
        c->errors++;
        c->error_kind = ev->error->kind;
        if (strstr(ev->error->message, TWIN_KEY))
            fail_msg("the API key appears in an error event");
        break;
    default:
        break;
    }
    return 0;
}

#endif
