/* The session loop (coding-agent-loop-spec §2) against the provider twins:
 * completion, tool dispatch and its errors, truncation, steering,
 * follow-ups, limits, loop detection, abort, provider errors, the context
 * warning, parallel calls, streaming, events, usage and cost. Tools here
 * are custom ones registered on the profile, so the loop is tested apart
 * from the built-in tools (test_agent_parity.c covers those). */
#include <time.h>

#include "agent_testutil.h"

/* ------------------------------------------------------------ custom tools */

static int tool_big(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    for (int i = 0; i < 100000; i++)
        lo_buf_putc(out, i == 0 ? 'B' : 'y');
    return 0;
}

static int tool_fail(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    return lo_error_set(err, LO_EIO, "disk on fire");
}

/* Two calls meet: each waits (5 s at most) until both have started. Run one
 * after the other, the first would wait in vain. */
static pthread_mutex_t meet_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t meet_cv = PTHREAD_COND_INITIALIZER;
static int meet_count;

static int tool_meet(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&meet_mu);
    meet_count++;
    pthread_cond_broadcast(&meet_cv);
    while (meet_count < 2 && pthread_cond_timedwait(&meet_cv, &meet_mu, &until) == 0)
        ;
    bool met = meet_count >= 2;
    pthread_mutex_unlock(&meet_mu);
    lo_buf_printf(out, "%s %lld", met ? "met" : "alone",
                  (long long)json_integer_value(json_object_get(args, "n")));
    return 0;
}

static int tool_streamer(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    lo_agent_tool_output(ctx, "part one", 8);
    lo_buf_puts(out, "part one");
    lo_agent_tool_output(ctx, " part two", 9);
    lo_buf_puts(out, " part two");
    return 0;
}

static void add_test_tools(agent_fx *f)
{
    fx_add_tool(f, "note", FX_TEXT_ARG, fx_tool_note, 0);
    fx_add_tool(f, "big", FX_NO_ARGS, tool_big, 0);
    fx_add_tool(f, "fail", FX_NO_ARGS, tool_fail, 0);
    fx_add_tool(f, "slow", FX_NO_ARGS, fx_tool_slow, 0);
    fx_add_tool(f, "meet", "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}}}",
                tool_meet, 0);
    fx_add_tool(f, "streamer", FX_NO_ARGS, tool_streamer, 0);
}

static void start(agent_fx *f, const char *provider, const char *tape)
{
    fx_start(f, provider, tape);
    add_test_tools(f);
}

static const char *const providers[] = {"anthropic", "openai", "gemini"};
#define NPROV (sizeof providers / sizeof providers[0])

/* ------------------------------------------------------------ tests */

static void test_natural_completion(void **state)
{
    for (size_t p = 0; p < NPROV; p++) {
        agent_fx f;
        start(&f, providers[p], "text.jsonl");
        fx_session(&f);
        assert_int_equal(lo_agent_session_state(f.session), LO_AGENT_IDLE);
        fx_submit(&f, "say hello");
        assert_string_equal(lo_agent_last_text(f.session), "Hello from the twin.");
        assert_int_equal(lo_agent_turns(f.session), 1);
        assert_int_equal(lo_agent_tool_calls(f.session), 0);
        assert_int_equal(lo_agent_session_state(f.session), LO_AGENT_IDLE);
        /* events in order */
        const char *order[] = {"session_start", "user_input", "assistant_text_start",
                               "assistant_text_end", "processing_end"};
        for (size_t i = 0; i < 5; i++)
            assert_int_equal(fx_index(&f, order[i], 0), (long)i);
        json_t *end = fx_event(&f, "assistant_text_end", NULL, NULL, 0);
        assert_string_equal(json_string_value(json_object_get(end, "text")),
                            "Hello from the twin.");
        assert_true(json_integer_value(json_object_get(json_object_get(end, "usage"),
                                                       "output_tokens")) > 0);
        json_t *st = fx_event(&f, "session_start", NULL, NULL, 0);
        assert_string_equal(json_string_value(json_object_get(st, "provider")), providers[p]);
        assert_string_equal(json_string_value(json_object_get(st, "session_id")),
                            lo_agent_session_id(f.session));
        assert_int_equal(strlen(lo_agent_session_id(f.session)), 36);
        /* SESSION_END comes when the session goes */
        assert_int_equal(fx_count(&f, "session_end"), 0);
        lo_agent_session_free(f.session);
        f.session = NULL;
        assert_int_equal(fx_count(&f, "session_end"), 1);
        fx_stop(&f);
    }
}

static void test_tool_round_trip(void **state)
{
    for (size_t p = 0; p < NPROV; p++) {
        agent_fx f;
        start(&f, providers[p], "tool_round.jsonl");
        fx_session(&f);
        fx_submit(&f, "note this down");
        assert_string_equal(lo_agent_last_text(f.session), "Noted.");
        assert_int_equal(lo_agent_turns(f.session), 2);
        assert_int_equal(lo_agent_tool_calls(f.session), 1);
        json_t *s = fx_event(&f, "tool_call_start", "tool_name", "note", 0);
        assert_non_null(s);
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(s, "arguments"), "text")),
                            "first");
        json_t *e = fx_tool_end(&f, "note", 0);
        assert_string_equal(json_string_value(json_object_get(e, "output")), "noted: first");
        assert_false(json_is_true(json_object_get(e, "is_error")));
        assert_string_equal(json_string_value(json_object_get(s, "call_id")),
                            json_string_value(json_object_get(e, "call_id")));
        assert_true(fx_index(&f, "tool_call_end", 0) < fx_index(&f, "assistant_text_end", 1));
        fx_stop(&f);
    }
}

static void test_error_results(void **state)
{
    for (size_t p = 0; p < NPROV; p++) {
        agent_fx f;
        start(&f, providers[p], "errors.jsonl");
        fx_session(&f);
        fx_submit(&f, "try things");
        assert_string_equal(lo_agent_last_text(f.session), "Recovered.");
        assert_int_equal(lo_agent_turns(f.session), 5);
        json_t *e = fx_tool_end(&f, "nope", 0);
        assert_true(json_is_true(json_object_get(e, "is_error")));
        assert_true(lo_str_starts(json_string_value(json_object_get(e, "error")),
                                  "Unknown tool: nope"));
        e = fx_tool_end(&f, "note", 0);
        assert_non_null(strstr(json_string_value(json_object_get(e, "error")),
                               "Invalid arguments for tool note"));
        e = fx_tool_end(&f, "fail", 0);
        assert_string_equal(json_string_value(json_object_get(e, "error")),
                            "Tool error (fail): disk on fire");
        fx_stop(&f);
    }
}

static void test_unknown_tool_suggests(void **state)
{
    agent_fx f;
    start(&f, "anthropic", "errors.jsonl");
    fx_session(&f);
    /* "nope" is one letter from "note", a registered tool */
    fx_submit(&f, "try things");
    assert_string_equal(json_string_value(json_object_get(fx_tool_end(&f, "nope", 0), "error")),
                        "Unknown tool: nope (did you mean note?)");
    fx_stop(&f);
}

static void test_truncation_full_output_in_event(void **state)
{
    for (size_t p = 0; p < NPROV; p++) {
        agent_fx f;
        start(&f, providers[p], "big.jsonl");
        fx_session(&f);
        /* The twin's second entry matches only when the model got the marker. */
        fx_submit(&f, "produce a lot");
        assert_string_equal(lo_agent_last_text(f.session), "I saw the truncation marker.");
        json_t *e = fx_tool_end(&f, "big", 0);
        const char *out = json_string_value(json_object_get(e, "output"));
        assert_int_equal(strlen(out), 100000);
        assert_int_equal(out[0], 'B');
        assert_true(json_is_true(json_object_get(e, "truncated")));
        fx_stop(&f);
    }
}

static void test_truncation_limit_override(void **state)
{
    agent_fx f;
    start(&f, "anthropic", "big.jsonl");
    lo_agent_limit lim = {.tool = "big", .max_chars = 500};
    f.cfg.limits = &lim;
    f.cfg.n_limits = 1;
    fx_session(&f);
    fx_submit(&f, "produce a lot");
    assert_string_equal(lo_agent_last_text(f.session), "I saw the truncation marker.");
    fx_stop(&f);
}

static void steer_on_tool(agent_fx *f, const lo_agent_event *ev)
{
    if (ev->kind == LO_AGENT_TOOL_CALL_START)
        lo_agent_steer(f->session, "STEER: use plan B");
}

static void test_steering(void **state)
{
    for (size_t p = 0; p < NPROV; p++) {
        agent_fx f;
        start(&f, providers[p], "steer.jsonl");
        f.hook = steer_on_tool;
        fx_session(&f);
        fx_submit(&f, "start the task");
        assert_string_equal(lo_agent_last_text(f.session), "Switched to plan B.");
        json_t *st = fx_event(&f, "steering_injected", NULL, NULL, 0);
        assert_non_null(st);
        assert_string_equal(json_string_value(json_object_get(st, "content")),
                            "STEER: use plan B");
        /* injected after the tool round, before the next model call */
        assert_true(fx_index(&f, "tool_call_end", 0) < fx_index(&f, "steering_injected", 0));
        assert_true(fx_index(&f, "steering_injected", 0) <
                    fx_index(&f, "assistant_text_end", 1));
        fx_stop(&f);
    }
}

static void test_steer_while_idle(void **state)
{
    agent_fx f;
    start(&f, "anthropic", "followup.jsonl");
    fx_session(&f);
    lo_agent_steer(f.session, "remember the second input");
    fx_submit(&f, "first input");
    /* delivered on this submit, after the user's input */
    assert_true(fx_index(&f, "user_input", 0) < fx_index(&f, "steering_injected", 0));
    assert_true(fx_index(&f, "steering_injected", 0) < fx_index(&f, "assistant_text_end", 0));
    fx_stop(&f);
}

static void test_follow_up(void **state)
{
    for (size_t p = 0; p < NPROV; p++) {
        agent_fx f;
        start(&f, providers[p], "followup.jsonl");
        fx_session(&f);
        lo_agent_follow_up(f.session, "second input");
        fx_submit(&f, "first input");
        assert_string_equal(lo_agent_last_text(f.session), "Second done.");
        assert_int_equal(fx_count(&f, "user_input"), 2);
        assert_int_equal(fx_count(&f, "processing_end"), 1);
        assert_true(fx_index(&f, "assistant_text_end", 0) < fx_index(&f, "user_input", 1));
        fx_stop(&f);
    }
}

static void test_max_tool_rounds(void **state)
{
    agent_fx f;
    start(&f, "anthropic", "forever.jsonl");
    f.cfg.max_tool_rounds_per_input = 2;
    f.cfg.enable_loop_detection = false;
    fx_session(&f);
    fx_submit(&f, "go");
    assert_int_equal(lo_agent_tool_calls(f.session), 2);
    assert_int_equal(lo_agent_turns(f.session), 2);
    json_t *t = fx_event(&f, "turn_limit", NULL, NULL, 0);
    assert_string_equal(json_string_value(json_object_get(t, "limit")),
                        "max_tool_rounds_per_input");
    assert_int_equal(json_integer_value(json_object_get(t, "round")), 2);
    assert_int_equal(lo_agent_session_state(f.session), LO_AGENT_IDLE);
    /* per input: the next input gets two more rounds */
    fx_submit(&f, "go on");
    assert_int_equal(lo_agent_tool_calls(f.session), 4);
    fx_stop(&f);
}

static void test_max_turns(void **state)
{
    agent_fx f;
    start(&f, "openai", "forever.jsonl");
    f.cfg.max_turns = 3;
    f.cfg.enable_loop_detection = false;
    fx_session(&f);
    fx_submit(&f, "go");
    assert_int_equal(lo_agent_turns(f.session), 3);
    json_t *t = fx_event(&f, "turn_limit", NULL, NULL, 0);
    assert_string_equal(json_string_value(json_object_get(t, "limit")), "max_turns");
    assert_int_equal(json_integer_value(json_object_get(t, "total_turns")), 3);
    /* across the session: a second input gets no model call at all */
    long calls = lo_twin_calls(f.twin);
    fx_submit(&f, "again");
    assert_int_equal(lo_twin_calls(f.twin), calls);
    assert_int_equal(fx_count(&f, "turn_limit"), 2);
    fx_stop(&f);
}

static void test_loop_detection(void **state)
{
    for (size_t p = 0; p < NPROV; p++) {
        agent_fx f;
        start(&f, providers[p], "loop.jsonl");
        f.cfg.loop_detection_window = 4;
        fx_session(&f);
        fx_submit(&f, "do the same thing");
        assert_string_equal(lo_agent_last_text(f.session), "I will try something else.");
        assert_int_equal(lo_agent_tool_calls(f.session), 4);
        json_t *l = fx_event(&f, "loop_detection", NULL, NULL, 0);
        assert_non_null(l);
        assert_non_null(strstr(json_string_value(json_object_get(l, "message")),
                               "repeating pattern"));
        fx_stop(&f);
    }
}

static void test_loop_detection_off(void **state)
{
    agent_fx f;
    start(&f, "anthropic", "loop.jsonl");
    f.cfg.loop_detection_window = 4;
    f.cfg.enable_loop_detection = false;
    f.cfg.max_tool_rounds_per_input = 6;
    fx_session(&f);
    fx_submit(&f, "do the same thing");
    assert_int_equal(fx_count(&f, "loop_detection"), 0);
    assert_int_equal(lo_agent_tool_calls(f.session), 6);
    fx_stop(&f);
}

/* ---- abort mid-command ---- */

typedef struct aborter {
    agent_fx *f;
    pthread_t th;
    bool started;
} aborter;

static void *abort_main(void *arg)
{
    aborter *a = arg;
    char pidfile[PATH_MAX + 16];
    snprintf(pidfile, sizeof pidfile, "%s/slow.pid", a->f->dir);
    for (int i = 0; i < 500 && access(pidfile, F_OK) != 0; i++)
        usleep(10000);
    usleep(50000);
    lo_agent_abort(a->f->session);
    return NULL;
}

static void abort_on_slow(agent_fx *f, const lo_agent_event *ev)
{
    aborter *a = f->hook_ud;
    if (ev->kind == LO_AGENT_TOOL_CALL_START && !a->started) {
        a->started = true;
        pthread_create(&a->th, NULL, abort_main, a);
    }
}

static void test_abort_mid_command(void **state)
{
    agent_fx f;
    start(&f, "anthropic", "abort.jsonl");
    aborter a = {.f = &f};
    f.hook = abort_on_slow;
    f.hook_ud = &a;
    fx_session(&f);
    lo_error err;
    int rc = lo_agent_submit(f.session, "run something slow", &err);
    assert_int_equal(rc, LO_ECANCELED);
    pthread_join(a.th, NULL);
    assert_int_equal(lo_agent_session_state(f.session), LO_AGENT_CLOSED);
    assert_int_equal(fx_count(&f, "session_end"), 1);
    assert_int_equal(lo_twin_calls(f.twin), 1);
    char *pid = fx_read(&f, "slow.pid");
    assert_non_null(pid);
    pid_t child = (pid_t)atoi(pid);
    free(pid);
    assert_true(child > 1);
    /* the background sleep went with the command's process group */
    assert_true(fx_gone(child));
    /* a closed session takes no more input */
    assert_int_equal(lo_agent_submit(f.session, "more", &err), LO_EINVAL);
    assert_non_null(strstr(err.msg, "closed"));
    /* freeing it does not end it twice */
    lo_agent_session_free(f.session);
    f.session = NULL;
    assert_int_equal(fx_count(&f, "session_end"), 1);
    fx_stop(&f);
}

static void test_abort_idle_closes(void **state)
{
    agent_fx f;
    start(&f, "gemini", "text.jsonl");
    fx_session(&f);
    lo_agent_abort(f.session);
    assert_int_equal(lo_agent_session_state(f.session), LO_AGENT_CLOSED);
    assert_int_equal(fx_count(&f, "session_end"), 1);
    fx_stop(&f);
}

static void abort_on_end(agent_fx *f, const lo_agent_event *ev)
{
    if (ev->kind == LO_AGENT_PROCESSING_END)
        lo_agent_abort(f->session);
}

/* A callback may call back into the session: abort on processing_end emits
 * session_end from inside the callback, without deadlocking. */
static void test_abort_from_callback(void **state)
{
    agent_fx f;
    start(&f, "anthropic", "text.jsonl");
    f.hook = abort_on_end;
    fx_session(&f);
    fx_submit(&f, "say hello");
    assert_int_equal(lo_agent_session_state(f.session), LO_AGENT_CLOSED);
    assert_int_equal(fx_count(&f, "session_end"), 1);
    assert_true(fx_index(&f, "processing_end", 0) < fx_index(&f, "session_end", 0));
    fx_stop(&f);
}

static void test_auth_error_closes(void **state)
{
    for (size_t p = 0; p < NPROV; p++) {
        agent_fx f;
        fx_start_ex(&f, providers[p], "anything.jsonl", false, "sk-wrong-key");
        fx_session(&f);
        lo_error err;
        int rc = lo_agent_submit(f.session, "hello", &err);
        assert_true(rc < 0);
        assert_int_equal(lo_agent_session_state(f.session), LO_AGENT_CLOSED);
        json_t *e = fx_event(&f, "error", NULL, NULL, 0);
        assert_non_null(e);
        /* Gemini answers a bad key with 400 INVALID_ARGUMENT, as the API does */
        const char *kind = json_string_value(json_object_get(e, "kind"));
        assert_true(strcmp(kind, "authentication") == 0 || strcmp(kind, "invalid_request") == 0);
        assert_false(json_is_true(json_object_get(e, "retryable")));
        assert_int_equal(fx_count(&f, "session_end"), 1);
        /* exactly one request: no retry */
        assert_int_equal(json_array_size(f.twin_log), 1);
        /* the key never reaches an event or the error */
        assert_null(strstr(err.msg, "sk-wrong-key"));
        char *all = json_dumps(f.events, 0);
        assert_null(strstr(all, "sk-wrong-key"));
        free(all);
        fx_stop(&f);
    }
}

static void test_rate_limit_retried(void **state)
{
    agent_fx f;
    start(&f, "anthropic", "ratelimit.jsonl");
    fx_session(&f);
    fx_submit(&f, "are you there?");
    assert_string_equal(lo_agent_last_text(f.session), "Yes, after a retry.");
    assert_int_equal(lo_twin_calls(f.twin), 2);
    assert_int_equal(lo_agent_turns(f.session), 1);
    assert_int_equal(fx_count(&f, "error"), 0);
    fx_stop(&f);
}

static void test_context_warning(void **state)
{
    agent_fx f;
    start(&f, "anthropic", "anything.jsonl");
    fx_session(&f);
    /* 200,000-token window: 700,000 characters are ~175,000 tokens, past 80% */
    assert_int_equal(lo_agent_profile_context_window(f.profile), 200000);
    size_t n = 700000;
    char *big = malloc(n + 1);
    memset(big, 'w', n);
    memcpy(big, "read this: ", 11);
    big[n] = '\0';
    fx_submit(&f, big);
    free(big);
    json_t *w = fx_event(&f, "warning", "kind", "context_window", 0);
    assert_non_null(w);
    assert_non_null(strstr(json_string_value(json_object_get(w, "message")), "Context usage at ~"));
    assert_true(json_integer_value(json_object_get(w, "approx_tokens")) > 160000);
    fx_stop(&f);
}

static void test_no_context_warning_small(void **state)
{
    agent_fx f;
    start(&f, "anthropic", "text.jsonl");
    fx_session(&f);
    fx_submit(&f, "say hello");
    assert_int_equal(fx_count(&f, "warning"), 0);
    fx_stop(&f);
}

static void test_parallel_calls(void **state)
{
    for (size_t p = 0; p < NPROV; p++) {
        meet_count = 0;
        agent_fx f;
        start(&f, providers[p], "parallel.jsonl");
        assert_true(lo_agent_profile_parallel_tools(f.profile));
        fx_session(&f);
        fx_submit(&f, "meet twice");
        /* the twin's second entry wants the last result to be call 2's */
        assert_string_equal(lo_agent_last_text(f.session), "Both met.");
        for (size_t i = 0; i < 2; i++)
            assert_non_null(strstr(json_string_value(json_object_get(fx_tool_end(&f, "meet", i),
                                                                     "output")),
                                   "met "));
        fx_stop(&f);
    }
}

static void test_stream_deltas(void **state)
{
    for (size_t p = 0; p < NPROV; p++) {
        agent_fx f;
        start(&f, providers[p], "stream.jsonl");
        f.cfg.stream = true;
        fx_session(&f);
        fx_submit(&f, "stream please");
        const char *want = "A streamed answer, delivered in pieces by the twin.";
        assert_string_equal(lo_agent_last_text(f.session), want);
        size_t n = fx_count(&f, "assistant_text_delta");
        assert_true(n >= 2);
        lo_buf b;
        lo_buf_init(&b, 0);
        for (size_t i = 0; i < n; i++)
            lo_buf_puts(&b, json_string_value(json_object_get(
                                fx_event(&f, "assistant_text_delta", NULL, NULL, i), "delta")));
        assert_string_equal(b.data, want);
        lo_buf_release(&b);
        assert_true(fx_index(&f, "assistant_text_start", 0) <
                    fx_index(&f, "assistant_text_delta", 0));
        assert_true(fx_index(&f, "assistant_text_delta", (size_t)n - 1) <
                    fx_index(&f, "assistant_text_end", 0));
        fx_stop(&f);
    }
}

static void test_tool_output_delta(void **state)
{
    agent_fx f;
    start(&f, "openai", "output_delta.jsonl");
    fx_session(&f);
    fx_submit(&f, "stream a tool");
    assert_string_equal(lo_agent_last_text(f.session), "Got both parts.");
    assert_int_equal(fx_count(&f, "tool_call_output_delta"), 2);
    json_t *d = fx_event(&f, "tool_call_output_delta", NULL, NULL, 1);
    assert_string_equal(json_string_value(json_object_get(d, "delta")), " part two");
    assert_true(fx_index(&f, "tool_call_output_delta", 1) < fx_index(&f, "tool_call_end", 0));
    fx_stop(&f);
}

static void test_awaiting_input(void **state)
{
    agent_fx f;
    start(&f, "anthropic", "question.jsonl");
    fx_session(&f);
    fx_submit(&f, "change something");
    assert_int_equal(lo_agent_session_state(f.session), LO_AGENT_AWAITING_INPUT);
    /* the answer goes in as the next input */
    fx_submit(&f, "main.c");
    assert_int_equal(lo_agent_turns(f.session), 2);
    fx_stop(&f);
}

static void test_usage_and_cost(void **state)
{
    for (size_t p = 0; p < NPROV; p++) {
        agent_fx f;
        start(&f, providers[p], "tool_round.jsonl");
        fx_session(&f);
        fx_submit(&f, "note this down");
        lo_llm_usage u, sum;
        lo_agent_usage(f.session, &u);
        lo_llm_usage_init(&sum);
        for (size_t i = 0; i < 2; i++) {
            json_t *e = fx_event(&f, "assistant_text_end", NULL, NULL, i);
            json_t *eu = json_object_get(e, "usage");
            lo_llm_usage one;
            lo_llm_usage_init(&one);
            static const char *const keys[] = {"input_tokens", "output_tokens",
                                               "cache_read_tokens", "cache_write_tokens"};
            int64_t *fields[] = {&one.input_tokens, &one.output_tokens, &one.cache_read_tokens,
                                 &one.cache_write_tokens};
            for (size_t k = 0; k < 4; k++) {
                json_t *v = json_object_get(eu, keys[k]);
                if (json_is_integer(v))
                    *fields[k] = json_integer_value(v);
            }
            lo_llm_usage_add(&sum, &one);
        }
        /* the prompt, cached or not, was counted */
        int64_t prompt = u.input_tokens + (u.cache_read_tokens > 0 ? u.cache_read_tokens : 0) +
                         (u.cache_write_tokens > 0 ? u.cache_write_tokens : 0);
        assert_true(prompt > 0);
        assert_true(u.output_tokens > 0);
        assert_int_equal(u.input_tokens, sum.input_tokens);
        assert_int_equal(u.output_tokens, sum.output_tokens);
        assert_int_equal(u.cache_read_tokens, sum.cache_read_tokens);
        assert_int_equal(u.cache_write_tokens, sum.cache_write_tokens);
        double usd = -1;
        assert_int_equal(lo_agent_cost(f.session, &usd), 0);
        assert_true(usd > 0);
        fx_stop(&f);
    }
}

static void test_cost_unknown(void **state)
{
    /* gpt-5.6-sol has no published input price in the catalog */
    agent_fx f;
    start(&f, "openai", "text.jsonl");
    lo_agent_profile_free(f.profile);
    lo_error err;
    f.profile = lo_agent_profile_new("openai", "gpt-5.6-sol", f.catalog, &err);
    assert_non_null(f.profile);
    fx_session(&f);
    fx_submit(&f, "say hello");
    double usd = 42;
    assert_int_equal(lo_agent_cost(f.session, &usd), LO_ENOENT);
    assert_true(usd == 42);
    fx_stop(&f);
}

static void test_event_json(void **state)
{
    json_t *data = json_pack("{s:s, s:s}", "content", "hi", "type", "not this");
    lo_agent_event ev = {.kind = LO_AGENT_USER_INPUT, .session_id = "abc",
                         .ts_ms = 1767225600123LL, .data = data};
    json_t *j = lo_agent_event_to_json(&ev);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "user_input");
    assert_string_equal(json_string_value(json_object_get(j, "session_id")), "abc");
    assert_string_equal(json_string_value(json_object_get(j, "ts")), "2026-01-01T00:00:00.123Z");
    assert_string_equal(json_string_value(json_object_get(j, "content")), "hi");
    json_decref(j);
    json_decref(data);
    assert_string_equal(lo_agent_event_name(LO_AGENT_TOOL_CALL_END), "tool_call_end");
    assert_string_equal(lo_agent_event_name(LO_AGENT_ERROR), "error");
    assert_string_equal(lo_agent_event_name((lo_agent_event_kind)99), "unknown");
}

static void test_config_defaults(void **state)
{
    lo_agent_config c;
    lo_agent_config_init(&c);
    assert_int_equal(c.max_turns, 0);
    assert_int_equal(c.max_tool_rounds_per_input, 0);
    assert_int_equal(c.max_command_timeout_ms, 600000);
    assert_true(c.enable_loop_detection);
    assert_int_equal(c.loop_detection_window, 10);
    assert_int_equal(c.max_subagent_depth, 1);
    assert_null(c.reasoning_effort);
}

static void test_submit_null_refused(void **state)
{
    agent_fx f;
    start(&f, "anthropic", "text.jsonl");
    fx_session(&f);
    lo_error err;
    assert_int_equal(lo_agent_submit(f.session, NULL, &err), LO_EINVAL);
    fx_submit(&f, "say hello");
    fx_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_natural_completion),
        cmocka_unit_test(test_tool_round_trip),
        cmocka_unit_test(test_error_results),
        cmocka_unit_test(test_unknown_tool_suggests),
        cmocka_unit_test(test_truncation_full_output_in_event),
        cmocka_unit_test(test_truncation_limit_override),
        cmocka_unit_test(test_steering),
        cmocka_unit_test(test_steer_while_idle),
        cmocka_unit_test(test_follow_up),
        cmocka_unit_test(test_max_tool_rounds),
        cmocka_unit_test(test_max_turns),
        cmocka_unit_test(test_loop_detection),
        cmocka_unit_test(test_loop_detection_off),
        cmocka_unit_test(test_abort_mid_command),
        cmocka_unit_test(test_abort_idle_closes),
        cmocka_unit_test(test_abort_from_callback),
        cmocka_unit_test(test_auth_error_closes),
        cmocka_unit_test(test_rate_limit_retried),
        cmocka_unit_test(test_context_warning),
        cmocka_unit_test(test_no_context_warning_small),
        cmocka_unit_test(test_parallel_calls),
        cmocka_unit_test(test_stream_deltas),
        cmocka_unit_test(test_tool_output_delta),
        cmocka_unit_test(test_awaiting_input),
        cmocka_unit_test(test_usage_and_cost),
        cmocka_unit_test(test_cost_unknown),
        cmocka_unit_test(test_event_json),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_submit_null_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
