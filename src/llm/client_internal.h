/* What the high-level calls (generate.c, object.c) need from the client
 * core beyond the public API: per-call timeouts, a total deadline, a
 * cancel flag and a retry count of their own. Private to src/llm. */
#ifndef LO_LLM_CLIENT_INTERNAL_H
#define LO_LLM_CLIENT_INTERNAL_H

#include "lightsout/llm.h"

typedef struct lo_llm_run_opts_ {
    long timeout_ms;           /* each attempt; 0 = the provider's */
    double deadline;           /* lo_llm_now_s_() time the call must end by; 0 = none */
    const atomic_bool *cancel; /* NULL = the client's */
    int max_retries;           /* < 0 = the client's policy */
} lo_llm_run_opts_;

/* lo_llm_complete / lo_llm_stream with o (may be NULL) applied; the
 * middleware chain runs as usual. */
int lo_llm_complete_opts_(lo_llm_client *c, const lo_llm_request *req, const lo_llm_run_opts_ *o,
                          lo_llm_response **out, lo_llm_error *err);
int lo_llm_stream_opts_(lo_llm_client *c, const lo_llm_request *req, const lo_llm_run_opts_ *o,
                        lo_llm_event_fn on_event, void *ud, lo_llm_response **out,
                        lo_llm_error *err);

/* CLOCK_MONOTONIC in seconds. */
double lo_llm_now_s_(void);

#endif
