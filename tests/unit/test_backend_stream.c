/* The CLI agents' stream parsers (src/pipeline/cli_stream.c) over the
 * recorded streams in tests/data/agents/streams: the events they give, the
 * final text, usage and cost, errors, streams cut short, lines split at
 * every byte, noise, and overlong lines. */
#include "testutil.h"

#include "lightsout/backend.h"

typedef struct seen {
    lo_agent_event_kind kinds[64];
    json_t *data[64];
    size_t n;
} seen;

static void on_event(lo_agent_event_kind kind, const json_t *data, void *ud)
{
    seen *s = ud;
    if (s->n < 64) {
        s->kinds[s->n] = kind;
        s->data[s->n++] = json_deep_copy(data);
    }
}

static void seen_clear(seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        json_decref(s->data[i]);
    s->n = 0;
}

static size_t count(const seen *s, lo_agent_event_kind k)
{
    size_t c = 0;
    for (size_t i = 0; i < s->n; i++)
        c += s->kinds[i] == k;
    return c;
}

static const json_t *first(const seen *s, lo_agent_event_kind k)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->kinds[i] == k)
            return s->data[i];
    return NULL;
}

static char *fixture(const char *name, size_t *len)
{
    char rel[256], *data;
    snprintf(rel, sizeof rel, "agents/streams/%s", name);
    assert_int_equal(lo_file_read(lo_test_data(rel), 0, &data, len, NULL), 0);
    return data;
}

/* Feed a fixture in chunks of `chunk` bytes (0 = all at once). */
static lo_cli_stream *parse(lo_cli_agent a, const char *name, size_t chunk, seen *s)
{
    size_t len;
    char *data = fixture(name, &len);
    lo_cli_stream *st = lo_cli_stream_new(a, on_event, s);
    assert_non_null(st);
    if (!chunk)
        chunk = len;
    for (size_t off = 0; off < len; off += chunk)
        assert_int_equal(lo_cli_stream_feed(st, data + off, off + chunk > len ? len - off : chunk), 0);
    assert_int_equal(lo_cli_stream_finish(st), 0);
    free(data);
    return st;
}

static const char *text_of(const json_t *d, const char *key)
{
    return json_string_value(json_object_get(d, key));
}

static void test_claude_ok(void **state)
{
    seen s = {0};
    lo_cli_stream *st = parse(LO_CLI_CLAUDE, "claude.ok.jsonl", 0, &s);
    lo_cli_summary sum;
    lo_cli_stream_summary(st, &sum);
    assert_true(sum.completed);
    assert_false(sum.failed);
    assert_string_equal(sum.text, "Created hello.txt containing \"hello\".");
    assert_string_equal(sum.session_id, "5f0d9b7e-3c1a-4e8f-9b2d-7a6c1e0f4d21");
    assert_string_equal(sum.model, "claude-sonnet-4-5-20250929");
    /* modelUsage wins over the main loop's usage: it covers every call */
    assert_int_equal(sum.usage.input_tokens, 10);
    assert_int_equal(sum.usage.output_tokens, 112);
    assert_int_equal(sum.usage.cache_read_tokens, 25696);
    assert_int_equal(sum.usage.cache_write_tokens, 2276);
    assert_int_equal(sum.usage.total_tokens, 10 + 112 + 25696 + 2276);
    assert_true(sum.has_cost);
    assert_true(sum.cost_usd > 0.0165 && sum.cost_usd < 0.0166);
    assert_int_equal(sum.turns, 3);
    assert_int_equal(sum.tool_calls, 1);
    assert_int_equal(sum.lines, 6);
    assert_int_equal(s.kinds[0], LO_AGENT_SESSION_START);
    assert_string_equal(text_of(s.data[0], "agent"), "claude");
    const json_t *call = first(&s, LO_AGENT_TOOL_CALL_START);
    assert_string_equal(text_of(call, "tool_name"), "Write");
    assert_string_equal(text_of(call, "call_id"), "toolu_01AbCdEfGhIjKlMnOpQrStUv");
    assert_string_equal(text_of(json_object_get(call, "arguments"), "content"), "hello\n");
    const json_t *end = first(&s, LO_AGENT_TOOL_CALL_END);
    assert_string_equal(text_of(end, "output"), "File created successfully at: /home/dev/work/hello.txt");
    assert_int_equal(count(&s, LO_AGENT_ASSISTANT_TEXT_END), 2);
    assert_int_equal(count(&s, LO_AGENT_PROCESSING_END), 1);
    assert_int_equal(count(&s, LO_AGENT_WARNING), 0);
    lo_cli_stream_free(st);
    seen_clear(&s);
}

static void test_claude_error(void **state)
{
    seen s = {0};
    lo_cli_stream *st = parse(LO_CLI_CLAUDE, "claude.error.jsonl", 0, &s);
    lo_cli_summary sum;
    lo_cli_stream_summary(st, &sum);
    assert_true(sum.completed);
    assert_true(sum.failed);
    assert_string_equal(sum.error, "Invalid API key · Fix external API key");
    assert_int_equal(count(&s, LO_AGENT_ERROR), 1);
    lo_cli_stream_free(st);
    seen_clear(&s);
}

static void test_codex_ok(void **state)
{
    seen s = {0};
    lo_cli_stream *st = parse(LO_CLI_CODEX, "codex.ok.jsonl", 7, &s);
    lo_cli_summary sum;
    lo_cli_stream_summary(st, &sum);
    assert_true(sum.completed);
    assert_false(sum.failed);
    assert_string_equal(sum.text, "Created hello.txt containing \"hello\".");
    assert_string_equal(sum.session_id, "0199cd1e-7f3a-7c21-9e55-4b8a2d6f1c30");
    assert_null(sum.model);
    /* OpenAI's input_tokens include the cached ones: ours do not */
    assert_int_equal(sum.usage.input_tokens, 24763 - 24448);
    assert_int_equal(sum.usage.cache_read_tokens, 24448);
    assert_int_equal(sum.usage.output_tokens, 122);
    assert_false(sum.has_cost);
    assert_int_equal(sum.tool_calls, 2); /* the command and the file change */
    const json_t *call = first(&s, LO_AGENT_TOOL_CALL_START);
    assert_string_equal(text_of(call, "tool_name"), "shell");
    assert_non_null(strstr(text_of(json_object_get(call, "arguments"), "command"), "hello.txt"));
    assert_int_equal(count(&s, LO_AGENT_TOOL_CALL_END), 2);
    lo_cli_stream_free(st);
    seen_clear(&s);
}

static void test_codex_error(void **state)
{
    seen s = {0};
    lo_cli_stream *st = parse(LO_CLI_CODEX, "codex.error.jsonl", 0, &s);
    lo_cli_summary sum;
    lo_cli_stream_summary(st, &sum);
    assert_true(sum.completed);
    assert_true(sum.failed);
    assert_non_null(strstr(sum.error, "401 Unauthorized"));
    lo_cli_stream_free(st);
    seen_clear(&s);
}

static void test_gemini_ok(void **state)
{
    seen s = {0};
    lo_cli_stream *st = parse(LO_CLI_GEMINI, "gemini.ok.jsonl", 1, &s);
    lo_cli_summary sum;
    lo_cli_stream_summary(st, &sum);
    assert_true(sum.completed);
    assert_false(sum.failed);
    /* the deltas after the last tool call, joined */
    assert_string_equal(sum.text, "Created hello.txt containing \"hello\".");
    assert_string_equal(sum.model, "gemini-2.5-pro");
    assert_int_equal(sum.usage.input_tokens, 7788);
    assert_int_equal(sum.usage.cache_read_tokens, 8192);
    assert_int_equal(sum.usage.output_tokens, 234);
    assert_int_equal(sum.tool_calls, 1);
    assert_int_equal(sum.turns, 2);
    assert_int_equal(count(&s, LO_AGENT_ASSISTANT_TEXT_DELTA), 4);
    assert_int_equal(count(&s, LO_AGENT_ASSISTANT_TEXT_END), 2);
    const json_t *text = first(&s, LO_AGENT_ASSISTANT_TEXT_END);
    assert_string_equal(text_of(text, "text"), "I will create the file.");
    lo_cli_stream_free(st);
    seen_clear(&s);
}

static void test_gemini_error(void **state)
{
    seen s = {0};
    lo_cli_stream *st = parse(LO_CLI_GEMINI, "gemini.error.jsonl", 0, &s);
    lo_cli_summary sum;
    lo_cli_stream_summary(st, &sum);
    assert_true(sum.completed);
    assert_true(sum.failed);
    assert_string_equal(sum.error, "API key not valid. Please pass a valid API key.");
    assert_int_equal(count(&s, LO_AGENT_WARNING), 1); /* the 429 retry */
    lo_cli_stream_free(st);
    seen_clear(&s);
}

static void test_opencode_ok(void **state)
{
    seen s = {0};
    lo_cli_stream *st = parse(LO_CLI_OPENCODE, "opencode.ok.jsonl", 13, &s);
    lo_cli_summary sum;
    lo_cli_stream_summary(st, &sum);
    assert_true(sum.completed);
    assert_false(sum.failed);
    assert_string_equal(sum.text, "Created hello.txt containing \"hello\".");
    assert_string_equal(sum.session_id, "ses_5b2f8e9a1ffe3qK7mN2pR4sT6v");
    assert_int_equal(sum.usage.input_tokens, 1824 + 142);
    assert_int_equal(sum.usage.output_tokens, 96 + 18);
    assert_int_equal(sum.usage.cache_read_tokens, 9570 + 11394);
    assert_true(sum.has_cost);
    assert_true(sum.cost_usd > 0.01257 && sum.cost_usd < 0.01258);
    assert_int_equal(sum.turns, 2);
    assert_int_equal(sum.tool_calls, 1);
    const json_t *call = first(&s, LO_AGENT_TOOL_CALL_START);
    assert_string_equal(text_of(call, "tool_name"), "write");
    lo_cli_stream_free(st);
    seen_clear(&s);
}

static void test_opencode_error(void **state)
{
    seen s = {0};
    lo_cli_stream *st = parse(LO_CLI_OPENCODE, "opencode.error.jsonl", 0, &s);
    lo_cli_summary sum;
    lo_cli_stream_summary(st, &sum);
    assert_false(sum.completed);
    assert_true(sum.failed);
    assert_string_equal(sum.error, "invalid x-api-key");
    lo_cli_stream_free(st);
    seen_clear(&s);
}

/* Every agent's stream, cut after each of its lines: never complete before
 * its end, never a crash, and the same result at every chunk size. */
static void test_cut_everywhere(void **state)
{
    static const char *const names[] = {"claude.ok.jsonl", "codex.ok.jsonl", "gemini.ok.jsonl",
                                        "opencode.ok.jsonl"};
    for (lo_cli_agent a = LO_CLI_CLAUDE; a <= LO_CLI_OPENCODE; a++) {
        size_t len;
        char *data = fixture(names[a], &len);
        size_t last_nl = len - 1;
        while (last_nl > 0 && data[last_nl - 1] != '\n')
            last_nl--;
        for (size_t cut = 0; cut < last_nl; cut++) {
            seen s = {0};
            lo_cli_stream *st = lo_cli_stream_new(a, on_event, &s);
            assert_int_equal(lo_cli_stream_feed(st, data, cut), 0);
            lo_cli_stream_finish(st);
            lo_cli_summary sum;
            lo_cli_stream_summary(st, &sum);
            if (sum.completed)
                fail_msg("%s cut at byte %zu of %zu counts as complete", names[a], cut, len);
            lo_cli_stream_free(st);
            seen_clear(&s);
        }
        free(data);
    }
}

static void test_noise(void **state)
{
    seen s = {0};
    lo_cli_stream *st = lo_cli_stream_new(LO_CLI_CODEX, on_event, &s);
    const char *in = "Loaded cached credentials.\r\n\n   \n[1,2]\n\"str\"\n{\"type\":\"who.knows\"}\n"
                     "{\"no_type\":1}\n{\"type\":\"item.completed\",\"item\":7}\n"
                     "{\"type\":\"item.completed\",\"item\":{\"type\":\"agent_message\",\"text\":5}}\n"
                     "{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":-5,\"output_tokens\":\"x\"}}";
    assert_int_equal(lo_cli_stream_feed(st, in, strlen(in)), 0);
    lo_cli_stream_finish(st);
    lo_cli_summary sum;
    lo_cli_stream_summary(st, &sum);
    assert_true(sum.completed);
    assert_string_equal(sum.text, "");
    assert_int_equal(sum.usage.input_tokens, LO_TOKENS_UNREPORTED);
    assert_int_equal(count(&s, LO_AGENT_WARNING), 3); /* text, array, string */
    const json_t *w = first(&s, LO_AGENT_WARNING);
    assert_non_null(strstr(text_of(w, "message"), "Loaded cached credentials."));
    lo_cli_stream_free(st);
    seen_clear(&s);
}

static void test_overlong_line(void **state)
{
    seen s = {0};
    lo_cli_stream *st = lo_cli_stream_new(LO_CLI_CLAUDE, on_event, &s);
    size_t big = (17u << 20);
    char *junk = malloc(big);
    memset(junk, 'x', big);
    assert_int_equal(lo_cli_stream_feed(st, junk, big), 0);
    free(junk);
    size_t len;
    char *ok = fixture("claude.ok.jsonl", &len);
    assert_int_equal(lo_cli_stream_feed(st, "\n", 1), 0);
    assert_int_equal(lo_cli_stream_feed(st, ok, len), 0);
    free(ok);
    lo_cli_stream_finish(st);
    lo_cli_summary sum;
    lo_cli_stream_summary(st, &sum);
    assert_true(sum.completed);
    assert_int_equal(count(&s, LO_AGENT_WARNING), 1);
    assert_non_null(strstr(text_of(first(&s, LO_AGENT_WARNING), "message"), "MiB"));
    lo_cli_stream_free(st);
    seen_clear(&s);
}

static void test_agent_names(void **state)
{
    lo_cli_agent a;
    lo_error err;
    assert_int_equal(lo_cli_agent_parse("gemini", &a, &err), 0);
    assert_int_equal(a, LO_CLI_GEMINI);
    assert_string_equal(lo_cli_agent_name(LO_CLI_OPENCODE), "opencode");
    assert_int_equal(lo_cli_agent_parse("cursor", &a, &err), LO_EINVAL);
    assert_non_null(strstr(err.msg, "claude, codex, gemini, opencode"));
    assert_null(lo_cli_stream_new((lo_cli_agent)9, on_event, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claude_ok),    cmocka_unit_test(test_claude_error),
        cmocka_unit_test(test_codex_ok),     cmocka_unit_test(test_codex_error),
        cmocka_unit_test(test_gemini_ok),    cmocka_unit_test(test_gemini_error),
        cmocka_unit_test(test_opencode_ok),  cmocka_unit_test(test_opencode_error),
        cmocka_unit_test(test_cut_everywhere), cmocka_unit_test(test_noise),
        cmocka_unit_test(test_overlong_line), cmocka_unit_test(test_agent_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
