/* What every agent backend records the same way: the transcript of a stage
 * in {stage}/agent.jsonl, and its token usage and cost in the stage's
 * status (context updates, notes) and the run's events (agent_usage). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pipeline/backend_internal.h"
#include "pipeline/engine_internal.h"

int agent_log_open(agent_log *l, lo_stage *st, const char *session_id, lo_error *err)
{
    memset(l, 0, sizeof *l);
    l->run = st->run;
    snprintf(l->session_id, sizeof l->session_id, "%s", session_id);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/agent.jsonl", st->stage_dir);
    /* appended: a retried stage keeps the transcripts of earlier attempts */
    l->f = fopen(path, "a");
    if (!l->f)
        return lo_error_set(err, LO_EIO, "%s: %s", path, strerror(errno));
    return 0;
}

void agent_log_event(agent_log *l, const lo_agent_event *ev)
{
    lo_run_touch(l->run);
    if (!l->f)
        return;
    json_t *j = lo_agent_event_to_json(ev);
    char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (line) {
        fputs(line, l->f);
        fputc('\n', l->f);
        fflush(l->f);
    }
    free(line);
    json_decref(j);
}

void agent_log_emit(agent_log *l, lo_agent_event_kind kind, const json_t *data)
{
    lo_agent_event ev = {.kind = kind, .session_id = l->session_id, .ts_ms = agent_log_now_ms(),
                         .data = data};
    agent_log_event(l, &ev);
}

void agent_log_close(agent_log *l)
{
    if (l->f)
        fclose(l->f);
    l->f = NULL;
}

int64_t agent_log_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *tokens(int64_t v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static void put(json_t *o, const char *key, json_t *v)
{
    json_object_set_new(o, key, v ? v : json_null());
}

/* Thousands separators make token counts readable in notes. */
static void fmt_count(char *buf, size_t n, int64_t v)
{
    if (v < 0) {
        snprintf(buf, n, "?");
        return;
    }
    char raw[32];
    int len = snprintf(raw, sizeof raw, "%lld", (long long)v);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
}

int backend_record_usage(lo_stage *st, lo_outcome *out, const stage_usage *u, lo_error *err)
{
    const lo_llm_usage *k = &u->usage;
    json_t *fields = json_object();
    if (!fields)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    put(fields, "backend", json_string(u->backend));
    put(fields, u->agent ? "agent" : "provider",
        u->agent ? json_string(u->agent) : u->provider ? json_string(u->provider) : NULL);
    put(fields, "model", u->model ? json_string(u->model) : NULL);
    put(fields, "input_tokens", tokens(k->input_tokens));
    put(fields, "output_tokens", tokens(k->output_tokens));
    put(fields, "cache_read_tokens", tokens(k->cache_read_tokens));
    put(fields, "cache_write_tokens", tokens(k->cache_write_tokens));
    put(fields, "reasoning_tokens", tokens(k->reasoning_tokens));
    put(fields, "total_tokens", tokens(k->total_tokens));
    put(fields, "cost_usd", u->has_cost ? json_real(u->cost_usd) : NULL);
    put(fields, "turns", json_integer(u->turns));
    put(fields, "tool_calls", json_integer(u->tool_calls));
    /* the same numbers as context keys agent.<node>.<field> */
    char key[256];
    const char *f;
    json_t *v;
    int rc = 0;
    json_object_foreach(fields, f, v) {
        snprintf(key, sizeof key, "agent.%s.%s", st->node->id, f);
        if (!rc)
            rc = lo_outcome_update(out, key, json_incref(v));
    }
    char in[32], outn[32], cost[48];
    fmt_count(in, sizeof in, k->input_tokens);
    fmt_count(outn, sizeof outn, k->output_tokens);
    if (u->has_cost)
        snprintf(cost, sizeof cost, "$%.4f", u->cost_usd);
    else
        snprintf(cost, sizeof cost, "cost unknown");
    if (!rc)
        rc = lo_outcome_set_notes(out, "%s%s%s: %ld turn%s, %ld tool call%s, %s input + %s output "
                                  "tokens, %s", u->backend, u->agent || u->provider ? " " : "",
                                  u->agent ? u->agent : u->provider ? u->provider : "", u->turns,
                                  u->turns == 1 ? "" : "s", u->tool_calls,
                                  u->tool_calls == 1 ? "" : "s", in, outn, cost);
    json_object_set_new(fields, "node", json_string(st->node->id));
    lo_run_emit(st->run, "agent_usage", fields);
    return rc ? lo_error_set(err, rc, "out of memory") : 0;
}
