/* Shared by the backends in src/pipeline/backend_*.c. */
#ifndef LO_BACKEND_INTERNAL_H
#define LO_BACKEND_INTERNAL_H

#include <stdio.h>

#include "lightsout/backend.h"

/* The node's attribute, else the graph's; NULL when neither sets it. */
const char *backend_attr(const lo_graph *g, const lo_node *n, const char *key);

/* ---- backend_usage.c ---- */

/* {stage}/agent.jsonl: one event a line in lo_agent_event_to_json form,
 * flushed as written. Every event also counts as activity for the run's
 * stall watchdog. */
typedef struct agent_log {
    FILE *f;
    lo_run *run;
    char session_id[128];   /* for events the backend itself emits */
} agent_log;

int agent_log_open(agent_log *l, lo_stage *st, const char *session_id, lo_error *err);
void agent_log_event(agent_log *l, const lo_agent_event *ev);
/* An event of our own (data borrowed), stamped now. */
void agent_log_emit(agent_log *l, lo_agent_event_kind kind, const json_t *data);
void agent_log_close(agent_log *l);
int64_t agent_log_now_ms(void);   /* Unix ms */

typedef struct stage_usage {
    const char *backend;     /* "api", "cli" */
    const char *agent;       /* cli: "claude" ...; NULL for api */
    const char *provider;    /* api: "anthropic" ...; may be NULL */
    const char *model;       /* NULL = not known */
    lo_llm_usage usage;
    bool has_cost;
    double cost_usd;
    long turns, tool_calls;
} stage_usage;

/* Usage into the outcome (context updates agent.<node>.<field> and the
 * notes) and one agent_usage event; cost and unreported tokens are null. */
int backend_record_usage(lo_stage *st, lo_outcome *out, const stage_usage *u, lo_error *err);

#endif
