/* The JSON streams of headless CLI agents, turned into our agent events.
 * One table entry per agent; the formats were read from the agents' own
 * sources and type definitions (docs/agent.md names the versions):
 *   claude   `--output-format stream-json --verbose`: system/init, assistant
 *            and user messages shaped like Messages API ones, one result
 *   codex    `exec --json`: thread.started, turn.*, item.started/updated/
 *            completed with typed items, error
 *   gemini   `-o stream-json`: init, message (deltas), tool_use, tool_result,
 *            error, result with stats
 *   opencode `run --format json`: step_start, text, reasoning, tool_use,
 *            step_finish with tokens and cost, error, done
 * Unknown event types are skipped (agents add them often); a line that is
 * not a JSON object becomes a warning. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/backend.h"

#define MAX_LINE (16u << 20)

struct lo_cli_stream {
    lo_cli_agent agent;
    lo_cli_event_fn on_event;
    void *ud;
    lo_buf line;
    bool dropping;             /* inside an overlong line */
    bool completed, failed;
    char *error, *text, *session_id, *model;
    lo_buf segment;            /* gemini: the assistant text being streamed */
    bool in_segment;
    char last_msg_id[128];     /* claude: turns are distinct message ids */
    bool started;              /* SESSION_START sent */
    lo_llm_usage usage;
    bool has_cost;
    double cost;
    long lines, turns, tool_calls;
};

static void emit(lo_cli_stream *s, lo_agent_event_kind kind, json_t *data)
{
    if (!data)
        return;
    s->on_event(kind, data, s->ud);
    json_decref(data);
}

static void set_str(char **dst, const char *v)
{
    if (!v)
        return;
    char *c = lo_strdup(v);
    if (c) {
        free(*dst);
        *dst = c;
    }
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A non-negative integer field, or -1 when absent or not a number. */
static int64_t jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return json_integer_value(v) < 0 ? -1 : (int64_t)json_integer_value(v);
    if (json_is_real(v))
        return json_real_value(v) < 0 ? -1 : (int64_t)json_real_value(v);
    return -1;
}

static void add_usage(lo_cli_stream *s, int64_t in, int64_t out, int64_t cache_read,
                      int64_t cache_write, int64_t reasoning)
{
    lo_llm_usage u;
    lo_llm_usage_init(&u);
    u.input_tokens = in;
    u.output_tokens = out;
    u.cache_read_tokens = cache_read;
    u.cache_write_tokens = cache_write;
    u.reasoning_tokens = reasoning;
    if (in >= 0 || out >= 0)
        u.total_tokens = (in > 0 ? in : 0) + (out > 0 ? out : 0) +
                         (cache_read > 0 ? cache_read : 0) + (cache_write > 0 ? cache_write : 0);
    lo_llm_usage_add(&s->usage, &u);
}

static void start_session(lo_cli_stream *s, const char *session_id, const char *model)
{
    set_str(&s->session_id, session_id);
    set_str(&s->model, model);
    if (s->started)
        return;
    s->started = true;
    emit(s, LO_AGENT_SESSION_START,
         json_pack("{s:s, s:s?, s:s?}", "agent", lo_cli_agent_name(s->agent), "session_id",
                   session_id, "model", model));
}

static void text_end(lo_cli_stream *s, const char *text)
{
    set_str(&s->text, text);
    emit(s, LO_AGENT_ASSISTANT_TEXT_END, json_pack("{s:s}", "text", text));
}

static void tool_start(lo_cli_stream *s, const char *name, const char *id, const json_t *args)
{
    s->tool_calls++;
    emit(s, LO_AGENT_TOOL_CALL_START,
         json_pack("{s:s, s:s, s:O}", "tool_name", name ? name : "unknown", "call_id",
                   id ? id : "", "arguments", args ? (json_t *)args : json_null()));
}

/* output NULL and error set: the call failed. */
static void tool_end(lo_cli_stream *s, const char *id, const char *output, const char *error)
{
    emit(s, LO_AGENT_TOOL_CALL_END,
         error ? json_pack("{s:s, s:s}", "call_id", id ? id : "", "error", error)
               : json_pack("{s:s, s:s}", "call_id", id ? id : "", "output", output ? output : ""));
}

static void agent_error(lo_cli_stream *s, const char *message)
{
    s->failed = true;
    set_str(&s->error, message ? message : "the agent reported an error");
    emit(s, LO_AGENT_ERROR, json_pack("{s:s}", "message", s->error));
}

static void warning(lo_cli_stream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warning(lo_cli_stream *s, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *clean = lo_utf8_clean(msg, strlen(msg));
    emit(s, LO_AGENT_WARNING, json_pack("{s:s}", "message", clean ? clean : "warning"));
    free(clean);
}

static void processing_end(lo_cli_stream *s)
{
    json_t *d = json_pack("{s:I, s:I}", "turns", (json_int_t)s->turns, "tool_calls",
                          (json_int_t)s->tool_calls);
    if (d && s->has_cost)
        json_object_set_new(d, "cost_usd", json_real(s->cost));
    if (d && s->usage.input_tokens >= 0)
        json_object_set_new(d, "input_tokens", json_integer(s->usage.input_tokens));
    if (d && s->usage.output_tokens >= 0)
        json_object_set_new(d, "output_tokens", json_integer(s->usage.output_tokens));
    emit(s, LO_AGENT_PROCESSING_END, d);
}

/* Text of a tool result's content: a string, or the text blocks of an array. */
static char *content_text(const json_t *c)
{
    if (json_is_string(c))
        return lo_strdup(json_string_value(c));
    lo_buf b;
    lo_buf_init(&b, 0);
    size_t i;
    const json_t *blk;
    json_array_foreach(c, i, blk) {
        const char *t = jstr(blk, "text");
        if (t && b.len)
            lo_buf_putc(&b, '\n');
        if (t)
            lo_buf_puts(&b, t);
    }
    return b.data ? lo_buf_steal(&b) : lo_strdup("");
}

/* ---- claude ---- */

static void claude_result(lo_cli_stream *s, const json_t *o)
{
    s->completed = true;
    const char *sub = jstr(o, "subtype");
    const char *result = jstr(o, "result");
    const json_t *mu = json_object_get(o, "modelUsage");
    if (json_object_size(mu)) {
        const char *k;
        const json_t *m;
        json_object_foreach((json_t *)mu, k, m)
            add_usage(s, jnum(m, "inputTokens"), jnum(m, "outputTokens"),
                      jnum(m, "cacheReadInputTokens"), jnum(m, "cacheCreationInputTokens"), -1);
    } else if (json_is_object(json_object_get(o, "usage"))) {
        const json_t *u = json_object_get(o, "usage");
        add_usage(s, jnum(u, "input_tokens"), jnum(u, "output_tokens"),
                  jnum(u, "cache_read_input_tokens"), jnum(u, "cache_creation_input_tokens"), -1);
    }
    const json_t *cost = json_object_get(o, "total_cost_usd");
    if (json_is_number(cost)) {
        s->has_cost = true;
        s->cost = json_number_value(cost);
    }
    if (jnum(o, "num_turns") >= 0)
        s->turns = jnum(o, "num_turns");
    if (lo_str_eq(sub, "success") && !json_is_true(json_object_get(o, "is_error"))) {
        set_str(&s->text, result ? result : "");
    } else {
        if (lo_str_eq(sub, "error_max_turns"))
            emit(s, LO_AGENT_TURN_LIMIT, json_pack("{s:I}", "turns", (json_int_t)s->turns));
        const json_t *errs = json_object_get(o, "errors");
        const char *first = json_string_value(json_array_get(errs, 0));
        char msg[512];
        snprintf(msg, sizeof msg, "%s", first ? first : result && *result ? result
                                        : sub ? sub : "the result reports an error");
        agent_error(s, msg);
    }
    processing_end(s);
}

static void claude_assistant(lo_cli_stream *s, const json_t *o)
{
    const json_t *msg = json_object_get(o, "message");
    const char *id = jstr(msg, "id");
    if (!id || strncmp(id, s->last_msg_id, sizeof s->last_msg_id - 1) != 0) {
        s->turns++;
        snprintf(s->last_msg_id, sizeof s->last_msg_id, "%s", id ? id : "");
    }
    size_t i;
    const json_t *blk;
    json_array_foreach(json_object_get(msg, "content"), i, blk) {
        const char *type = jstr(blk, "type");
        if (lo_str_eq(type, "text") && jstr(blk, "text"))
            text_end(s, jstr(blk, "text"));
        else if (lo_str_eq(type, "tool_use"))
            tool_start(s, jstr(blk, "name"), jstr(blk, "id"), json_object_get(blk, "input"));
    }
}

static void claude_user(lo_cli_stream *s, const json_t *o)
{
    size_t i;
    const json_t *blk;
    json_array_foreach(json_object_get(json_object_get(o, "message"), "content"), i, blk) {
        if (!lo_str_eq(jstr(blk, "type"), "tool_result"))
            continue;
        char *text = content_text(json_object_get(blk, "content"));
        bool is_err = json_is_true(json_object_get(blk, "is_error"));
        tool_end(s, jstr(blk, "tool_use_id"), is_err ? NULL : text,
                 is_err ? (text ? text : "error") : NULL);
        free(text);
    }
}

static void parse_claude(lo_cli_stream *s, const char *type, const json_t *o)
{
    if (!strcmp(type, "system") && lo_str_eq(jstr(o, "subtype"), "init"))
        start_session(s, jstr(o, "session_id"), jstr(o, "model"));
    else if (!strcmp(type, "assistant"))
        claude_assistant(s, o);
    else if (!strcmp(type, "user"))
        claude_user(s, o);
    else if (!strcmp(type, "result"))
        claude_result(s, o);
}

/* ---- codex ---- */

static void codex_item(lo_cli_stream *s, const json_t *item, bool done)
{
    const char *type = jstr(item, "type"), *id = jstr(item, "id");
    if (!type)
        return;
    if (!strcmp(type, "agent_message")) {
        if (done) {
            s->turns++;
            text_end(s, jstr(item, "text") ? jstr(item, "text") : "");
        }
    } else if (!strcmp(type, "command_execution")) {
        if (!done) {
            json_t *a = json_pack("{s:s}", "command", jstr(item, "command") ? jstr(item, "command") : "");
            tool_start(s, "shell", id, a);
            json_decref(a);
        } else {
            /* a command that ran and exited non-zero is "failed" with its
             * output; the exit code is part of what it did, not an error */
            const char *st = jstr(item, "status");
            tool_end(s, id, jstr(item, "aggregated_output"),
                     lo_str_eq(st, "declined") ? "the command was declined" : NULL);
        }
    } else if (!strcmp(type, "file_change") && done) {
        /* emitted only once complete: start and end at once */
        lo_buf sum;
        lo_buf_init(&sum, 0);
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(item, "changes"), i, c)
            lo_buf_printf(&sum, "%s %s\n", jstr(c, "kind") ? jstr(c, "kind") : "?",
                          jstr(c, "path") ? jstr(c, "path") : "?");
        tool_start(s, "apply_patch", id, json_object_get(item, "changes"));
        tool_end(s, id, sum.data ? sum.data : "",
                 lo_str_eq(jstr(item, "status"), "failed") ? "the patch failed" : NULL);
        lo_buf_release(&sum);
    } else if (!strcmp(type, "mcp_tool_call")) {
        char name[160];
        snprintf(name, sizeof name, "%s.%s", jstr(item, "server") ? jstr(item, "server") : "mcp",
                 jstr(item, "tool") ? jstr(item, "tool") : "tool");
        if (!done) {
            tool_start(s, name, id, json_object_get(item, "arguments"));
        } else {
            const json_t *res = json_object_get(item, "result");
            char *text = res ? content_text(json_object_get(res, "content")) : NULL;
            const char *e = jstr(json_object_get(item, "error"), "message");
            tool_end(s, id, text, e);
            free(text);
        }
    } else if (!strcmp(type, "error") && done) {
        warning(s, "%s", jstr(item, "message") ? jstr(item, "message") : "error item");
    }
}

static void parse_codex(lo_cli_stream *s, const char *type, const json_t *o)
{
    if (!strcmp(type, "thread.started")) {
        start_session(s, jstr(o, "thread_id"), NULL);
    } else if (!strcmp(type, "item.started") || !strcmp(type, "item.completed")) {
        codex_item(s, json_object_get(o, "item"), type[5] == 'c');
    } else if (!strcmp(type, "turn.completed")) {
        const json_t *u = json_object_get(o, "usage");
        int64_t in = jnum(u, "input_tokens"), cached = jnum(u, "cached_input_tokens");
        /* OpenAI counts cached tokens inside input_tokens; ours are apart */
        add_usage(s, in >= 0 && cached > 0 && cached <= in ? in - cached : in,
                  jnum(u, "output_tokens"), cached, -1, -1);
        s->completed = true;
        processing_end(s);
    } else if (!strcmp(type, "turn.failed")) {
        s->completed = true;
        agent_error(s, jstr(json_object_get(o, "error"), "message"));
    } else if (!strcmp(type, "error")) {
        agent_error(s, jstr(o, "message"));
    }
}

/* ---- gemini ---- */

static void gemini_flush(lo_cli_stream *s)
{
    if (!s->in_segment)
        return;
    s->in_segment = false;
    s->turns++;
    text_end(s, s->segment.data ? s->segment.data : "");
    lo_buf_clear(&s->segment);
}

static void parse_gemini(lo_cli_stream *s, const char *type, const json_t *o)
{
    if (!strcmp(type, "message")) {
        if (!lo_str_eq(jstr(o, "role"), "assistant"))
            return;
        const char *c = jstr(o, "content");
        if (!c)
            return;
        if (!json_is_true(json_object_get(o, "delta")))
            lo_buf_clear(&s->segment);
        s->in_segment = true;
        lo_buf_puts(&s->segment, c);
        emit(s, LO_AGENT_ASSISTANT_TEXT_DELTA, json_pack("{s:s}", "delta", c));
        return;
    }
    gemini_flush(s);
    if (!strcmp(type, "init")) {
        start_session(s, jstr(o, "session_id"), jstr(o, "model"));
    } else if (!strcmp(type, "tool_use")) {
        tool_start(s, jstr(o, "tool_name"), jstr(o, "tool_id"), json_object_get(o, "parameters"));
    } else if (!strcmp(type, "tool_result")) {
        bool bad = lo_str_eq(jstr(o, "status"), "error");
        const char *e = jstr(json_object_get(o, "error"), "message");
        tool_end(s, jstr(o, "tool_id"), jstr(o, "output"), bad ? (e ? e : "the tool failed") : NULL);
    } else if (!strcmp(type, "error")) {
        if (lo_str_eq(jstr(o, "severity"), "warning"))
            warning(s, "%s", jstr(o, "message") ? jstr(o, "message") : "warning");
        else
            agent_error(s, jstr(o, "message"));
    } else if (!strcmp(type, "result")) {
        s->completed = true;
        const json_t *st = json_object_get(o, "stats");
        if (st) {
            int64_t total_in = jnum(st, "input_tokens"), cached = jnum(st, "cached");
            int64_t in = jnum(st, "input");
            if (in < 0 && total_in >= 0)
                in = cached > 0 && cached <= total_in ? total_in - cached : total_in;
            add_usage(s, in, jnum(st, "output_tokens"), cached, -1, -1);
        }
        if (lo_str_eq(jstr(o, "status"), "error"))
            agent_error(s, jstr(json_object_get(o, "error"), "message"));
        processing_end(s);
    }
}

/* ---- opencode ---- */

static void parse_opencode(lo_cli_stream *s, const char *type, const json_t *o)
{
    const json_t *part = json_object_get(o, "part");
    if (!s->started && jstr(o, "sessionID"))
        start_session(s, jstr(o, "sessionID"), NULL);
    if (!strcmp(type, "step_start")) {
        s->completed = false; /* another step: the last one was not the end */
        s->turns++;
    } else if (!strcmp(type, "text")) {
        if (jstr(part, "text"))
            text_end(s, jstr(part, "text"));
    } else if (!strcmp(type, "tool_use")) {
        const json_t *state = json_object_get(part, "state");
        const char *id = jstr(part, "callID");
        tool_start(s, jstr(part, "tool"), id, json_object_get(state, "input"));
        bool bad = lo_str_eq(jstr(state, "status"), "error");
        tool_end(s, id, jstr(state, "output"),
                 bad ? (jstr(state, "error") ? jstr(state, "error") : "the tool failed") : NULL);
    } else if (!strcmp(type, "step_finish")) {
        const json_t *t = json_object_get(part, "tokens");
        const json_t *c = json_object_get(t, "cache");
        add_usage(s, jnum(t, "input"), jnum(t, "output"), jnum(c, "read"), jnum(c, "write"),
                  jnum(t, "reasoning"));
        const json_t *cost = json_object_get(part, "cost");
        if (json_is_number(cost)) {
            s->has_cost = true;
            s->cost += json_number_value(cost);
        }
        /* a step that ends other than to call tools ends the run (older
         * versions print no "done") */
        if (!lo_str_eq(jstr(part, "reason"), "tool-calls")) {
            s->completed = true;
            processing_end(s);
        }
    } else if (!strcmp(type, "done")) {
        if (!s->completed)
            processing_end(s);
        s->completed = true;
    } else if (!strcmp(type, "error")) {
        const json_t *e = json_object_get(o, "error");
        const char *m = jstr(json_object_get(e, "data"), "message");
        agent_error(s, m ? m : jstr(e, "name") ? jstr(e, "name") : jstr(e, "message"));
    }
}

/* ---- the table and the line splitter ---- */

static const struct {
    const char *name;
    void (*parse)(lo_cli_stream *s, const char *type, const json_t *o);
} agents[] = {
    [LO_CLI_CLAUDE] = {"claude", parse_claude},
    [LO_CLI_CODEX] = {"codex", parse_codex},
    [LO_CLI_GEMINI] = {"gemini", parse_gemini},
    [LO_CLI_OPENCODE] = {"opencode", parse_opencode},
};
#define N_AGENTS (sizeof agents / sizeof agents[0])

const char *lo_cli_agent_name(lo_cli_agent a)
{
    return (size_t)a < N_AGENTS ? agents[a].name : "unknown";
}

int lo_cli_agent_parse(const char *name, lo_cli_agent *out, lo_error *err)
{
    for (size_t i = 0; i < N_AGENTS; i++)
        if (lo_str_eq(name, agents[i].name)) {
            *out = (lo_cli_agent)i;
            return 0;
        }
    return lo_error_set(err, LO_EINVAL, "unknown cli_agent '%s' (known: claude, codex, gemini, "
                        "opencode)", name ? name : "");
}

lo_cli_stream *lo_cli_stream_new(lo_cli_agent agent, lo_cli_event_fn on_event, void *ud)
{
    if ((size_t)agent >= N_AGENTS || !on_event)
        return NULL;
    lo_cli_stream *s = lo_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->agent = agent;
    s->on_event = on_event;
    s->ud = ud;
    lo_buf_init(&s->line, MAX_LINE);
    lo_buf_init(&s->segment, 0);
    lo_llm_usage_init(&s->usage);
    return s;
}

void lo_cli_stream_free(lo_cli_stream *s)
{
    if (!s)
        return;
    lo_buf_release(&s->line);
    lo_buf_release(&s->segment);
    free(s->error);
    free(s->text);
    free(s->session_id);
    free(s->model);
    free(s);
}

static void parse_line(lo_cli_stream *s, const char *p, size_t n)
{
    while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    if (!n)
        return;
    json_error_t je;
    json_t *o = json_loadb(p, n, 0, &je);
    if (!json_is_object(o)) {
        warning(s, "line %ld of the %s stream is not a JSON object: %.120s", s->lines + 1,
                agents[s->agent].name, p);
        json_decref(o);
        return;
    }
    s->lines++;
    const char *type = jstr(o, "type");
    if (type)
        agents[s->agent].parse(s, type, o);
    json_decref(o);
}

int lo_cli_stream_feed(lo_cli_stream *s, const char *data, size_t len)
{
    while (len) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        int rc = s->dropping ? 0 : lo_buf_append(&s->line, data, take);
        if (rc == LO_ENOMEM)
            return rc;
        if (rc) {
            s->dropping = true; /* too long: skip to its end */
            warning(s, "a line of the %s stream is over %u MiB; dropped", agents[s->agent].name,
                    MAX_LINE >> 20);
        }
        if (!nl)
            break;
        if (!s->dropping)
            parse_line(s, s->line.data ? s->line.data : "", s->line.len);
        s->dropping = false;
        lo_buf_clear(&s->line);
        data = nl + 1;
        len -= take + 1;
    }
    return 0;
}

int lo_cli_stream_finish(lo_cli_stream *s)
{
    if (s->line.len && !s->dropping)
        parse_line(s, s->line.data, s->line.len);
    lo_buf_clear(&s->line);
    s->dropping = false;
    if (s->agent == LO_CLI_GEMINI)
        gemini_flush(s);
    return 0;
}

void lo_cli_stream_summary(const lo_cli_stream *s, lo_cli_summary *out)
{
    *out = (lo_cli_summary){
        .completed = s->completed,
        .failed = s->failed,
        .error = s->error,
        .text = s->text ? s->text : "",
        .session_id = s->session_id,
        .model = s->model,
        .usage = s->usage,
        .has_cost = s->has_cost,
        .cost_usd = s->cost,
        .lines = s->lines,
        .turns = s->turns,
        .tool_calls = s->tool_calls,
    };
}
