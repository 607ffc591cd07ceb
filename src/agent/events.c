/* Session events (§2.9): names, emission and the JSON form the transcript
 * files use. Every event of a session tree goes to the root session's
 * callback under the root's lock, so a host sees one event at a time even
 * while tool workers and subagent threads run. */
#include <string.h>
#include <time.h>

#include "agent/session_internal.h"

static const char *const names[] = {
    [LO_AGENT_SESSION_START] = "session_start",
    [LO_AGENT_SESSION_END] = "session_end",
    [LO_AGENT_USER_INPUT] = "user_input",
    [LO_AGENT_PROCESSING_END] = "processing_end",
    [LO_AGENT_ASSISTANT_TEXT_START] = "assistant_text_start",
    [LO_AGENT_ASSISTANT_TEXT_DELTA] = "assistant_text_delta",
    [LO_AGENT_ASSISTANT_TEXT_END] = "assistant_text_end",
    [LO_AGENT_TOOL_CALL_START] = "tool_call_start",
    [LO_AGENT_TOOL_CALL_OUTPUT_DELTA] = "tool_call_output_delta",
    [LO_AGENT_TOOL_CALL_END] = "tool_call_end",
    [LO_AGENT_STEERING_INJECTED] = "steering_injected",
    [LO_AGENT_TURN_LIMIT] = "turn_limit",
    [LO_AGENT_LOOP_DETECTION] = "loop_detection",
    [LO_AGENT_WARNING] = "warning",
    [LO_AGENT_ERROR] = "error",
};

const char *lo_agent_event_name(lo_agent_event_kind k)
{
    if ((unsigned)k >= sizeof names / sizeof names[0] || !names[k])
        return "unknown";
    return names[k];
}

int64_t agent_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void session_emit(lo_agent_session *s, lo_agent_event_kind kind, json_t *data)
{
    lo_agent_session *root = s;
    while (root->parent)
        root = root->parent;
    if (!data)
        data = json_object();
    if (root->on_event && data) {
        lo_agent_event ev = {.kind = kind, .session_id = s->id, .ts_ms = agent_now_ms(),
                             .data = data};
        pthread_mutex_lock(&root->emit_mu);
        root->on_event(&ev, root->ud);
        pthread_mutex_unlock(&root->emit_mu);
    }
    json_decref(data);
}

json_t *lo_agent_event_to_json(const lo_agent_event *ev)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    char ts[40];
    time_t sec = (time_t)(ev->ts_ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t k = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + k, sizeof ts - k, ".%03dZ", (int)(ev->ts_ms % 1000));
    json_object_set_new(o, "type", json_string(lo_agent_event_name(ev->kind)));
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "session_id", json_string(ev->session_id ? ev->session_id : ""));
    const char *key;
    json_t *v;
    /* The data's own fields never replace the three above. */
    json_object_foreach((json_t *)ev->data, key, v)
        if (!json_object_get(o, key))
            json_object_set(o, key, v);
    return o;
}

void lo_agent_tool_output(lo_agent_tool_ctx *ctx, const char *text, size_t len)
{
    if (!ctx || !ctx->session || !text || !len)
        return;
    char *clean = lo_utf8_clean(text, len);
    if (!clean)
        return;
    session_emit(ctx->session, LO_AGENT_TOOL_CALL_OUTPUT_DELTA,
                 json_pack("{s:s, s:s}", "call_id", ctx->call_id ? ctx->call_id : "", "delta",
                           clean));
    free(clean);
}
