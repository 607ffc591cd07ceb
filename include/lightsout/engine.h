/*
 * The pipeline engine (attractor-spec §3-§6): context, outcomes, handlers,
 * interviewers, codergen backends, events, checkpoints and the run loop.
 *
 * Ownership: every _new has a _free. Context values are jansson values;
 * functions taking a json_t * "steal" it (the caller's reference passes to
 * the callee) unless the comment says "borrowed". Strings returned as
 * char * are the caller's to free().
 *
 * Threads: a run's traversal is single-threaded; parallel branches run in
 * threads with cloned contexts. lo_context is safe to share; lo_run_emit is
 * safe from any thread.
 */
#ifndef LIGHTSOUT_ENGINE_H
#define LIGHTSOUT_ENGINE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>

#include "lightsout/graph.h"

/* ---- outcome (§5.2, Appendix C) ---- */

typedef enum lo_status {
    LO_SUCCESS, LO_PARTIAL_SUCCESS, LO_RETRY, LO_FAIL, LO_SKIPPED,
} lo_status;

const char *lo_status_name(lo_status s);          /* "success", ... */
int lo_status_parse(const char *s, lo_status *out); /* case-insensitive */

typedef struct lo_outcome {
    lo_status status;
    char *preferred_label;       /* NULL = none */
    json_t *suggested_next_ids;  /* array of strings, or NULL */
    json_t *context_updates;     /* object, or NULL */
    char *notes;                 /* NULL = none */
    char *failure_reason;        /* NULL = none */
} lo_outcome;

void lo_outcome_init(lo_outcome *o, lo_status s);
void lo_outcome_release(lo_outcome *o);
int lo_outcome_set_notes(lo_outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int lo_outcome_set_failure(lo_outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int lo_outcome_set_label(lo_outcome *o, const char *label);
int lo_outcome_add_next_id(lo_outcome *o, const char *id);
/* Set a context update; value is stolen. */
int lo_outcome_update(lo_outcome *o, const char *key, json_t *value);
int lo_outcome_update_str(lo_outcome *o, const char *key, const char *value);
/* The status.json form (Appendix C). New reference. */
json_t *lo_outcome_to_json(const lo_outcome *o);
/* Parse the status.json form; "outcome" is required. */
int lo_outcome_from_json(const json_t *j, lo_outcome *o, lo_error *err);
/* {stage_dir}/status.json, written atomically / read. */
int lo_outcome_write(const lo_outcome *o, const char *stage_dir, lo_error *err);
int lo_outcome_read(const char *path, lo_outcome *o, lo_error *err);

/* ---- context (§5.1) ---- */

typedef struct lo_context lo_context;

lo_context *lo_context_new(void);
void lo_context_free(lo_context *c);
lo_context *lo_context_clone(const lo_context *c);  /* deep copy, for branches */
int lo_context_set(lo_context *c, const char *key, json_t *value); /* steals */
int lo_context_set_str(lo_context *c, const char *key, const char *value);
int lo_context_set_int(lo_context *c, const char *key, int64_t value);
/* New reference, or NULL when missing. */
json_t *lo_context_get(const lo_context *c, const char *key);
/* The value as a string (strings as is, numbers and booleans printed,
 * null as "", arrays and objects as compact JSON); NULL when missing. */
char *lo_context_get_str(const lo_context *c, const char *key);
bool lo_context_has(const lo_context *c, const char *key);
/* Merge an object of updates (borrowed). */
int lo_context_apply(lo_context *c, const json_t *updates);
/* Deep copy of all values (new reference). */
json_t *lo_context_snapshot(const lo_context *c);
/* Replace all values with those of obj (borrowed). */
int lo_context_restore(lo_context *c, const json_t *obj);
int lo_context_log(lo_context *c, const char *entry);
json_t *lo_context_logs(const lo_context *c);      /* new reference */
int lo_context_restore_logs(lo_context *c, const json_t *logs);

/* ---- human in the loop (§6) ---- */

typedef enum lo_question_type {
    LO_Q_YES_NO, LO_Q_MULTIPLE_CHOICE, LO_Q_FREEFORM, LO_Q_CONFIRMATION,
} lo_question_type;

typedef struct lo_option {
    const char *key;    /* accelerator, e.g. "A" */
    const char *label;  /* e.g. "[A] Approve" */
} lo_option;

typedef struct lo_question {
    const char *text;
    lo_question_type type;
    const lo_option *options;
    size_t n_options;
    const char *default_answer; /* option key or text used on timeout; NULL */
    double timeout_seconds;     /* <= 0: wait forever */
    const char *stage;
} lo_question;

typedef enum lo_answer_kind {
    LO_ANSWER_VALUE,   /* value holds the option key, or the text */
    LO_ANSWER_YES, LO_ANSWER_NO, LO_ANSWER_SKIPPED, LO_ANSWER_TIMEOUT,
} lo_answer_kind;

typedef struct lo_answer {
    lo_answer_kind kind;
    char *value;        /* malloc'd; NULL when none */
    int option;         /* index into the question's options, or -1 */
} lo_answer;

void lo_answer_release(lo_answer *a);

typedef struct lo_interviewer lo_interviewer;
struct lo_interviewer {
    /* Fill *answer; return 0, or a negative lo_err when asking failed. */
    int (*ask)(lo_interviewer *iv, const lo_question *q, lo_answer *answer);
    void (*inform)(lo_interviewer *iv, const char *message, const char *stage);
    void (*destroy)(lo_interviewer *iv);
    void *ud;
};

void lo_interviewer_free(lo_interviewer *iv);
/* YES for yes/no, the first option for a choice, "auto-approved" for text. */
lo_interviewer *lo_interviewer_auto(void);
/* Prompts on out, reads lines from in (a TTY, usually); honours timeouts. */
lo_interviewer *lo_interviewer_console(FILE *in, FILE *out);
/* Answers from a file, one a line, in order (an option key or label, yes,
 * no, skip, or free text); SKIPPED once they run out. */
lo_interviewer *lo_interviewer_queue_file(const char *path, lo_error *err);
lo_interviewer *lo_interviewer_queue(const char *const *answers, size_t n);
lo_interviewer *lo_interviewer_callback(
    int (*fn)(const lo_question *q, lo_answer *answer, void *ud), void *ud);
/* The accelerator key of an edge label: "[K] x", "K) x", "K - x", else the
 * first character. Writes a NUL-terminated key into key (size >= 8). */
void lo_accelerator_key(const char *label, char *key, size_t n);

/* ---- runs, stages, handlers ---- */

typedef struct lo_run lo_run;

/* What a handler gets for one attempt of one node. */
typedef struct lo_stage {
    lo_run *run;
    const lo_graph *graph;
    const lo_node *node;
    lo_context *context;
    const char *logs_root;
    const char *stage_dir;  /* {logs_root}/{node id}, created before the call */
    const char *workdir;    /* where commands run */
    int attempt;            /* 1-based */
    int64_t deadline_ms;    /* monotonic ms when the node's timeout expires; 0 none */
    /* context fidelity (§5.4) resolved for this stage: the mode, the thread
     * key sessions are reused under (for "full"), and the carry-over text
     * for the other modes ("" for full) */
    const char *fidelity;
    const char *thread_id;
    const char *preamble;
} lo_stage;

/* The environment a stage's command runs with: ours, with LIGHTSOUT_STAGE
 * (the node id), LIGHTSOUT_LOGS (the run directory) and
 * LIGHTSOUT_STAGE_DIR set for st, then the "NAME=VALUE" strings of extra
 * (NULL-terminated; may be NULL). Free with lo_env_free (proc.h); NULL
 * when out of memory. */
char **lo_stage_env(const lo_stage *st, const char *const *extra);

/* Execute a node: fill *out (initialised to SUCCESS). A negative return is
 * an error the engine turns into FAIL with the error's message (a handler
 * that "throws"). */
typedef int (*lo_handler_fn)(lo_stage *st, lo_outcome *out, void *ud, lo_error *err);

/* ---- codergen backends (§4.5) ---- */

typedef struct lo_backend lo_backend;
struct lo_backend {
    const char *name;  /* "sim", "api", "cli" */
    /* Run the prompt. Either append the response text to *response, or fill
     * *out and set *has_outcome. Negative return = error (becomes FAIL). */
    int (*run)(lo_backend *b, lo_stage *st, const char *prompt, lo_buf *response,
               lo_outcome *out, bool *has_outcome, lo_error *err);
    void (*destroy)(lo_backend *b);
    void *ud;
    /* A backend that only routes (lightsout/backend.h, the router): the
     * backend that runs this stage, or NULL with err filled. NULL here for
     * a backend that runs prompts itself; run is then not called on it. */
    lo_backend *(*select)(lo_backend *b, const lo_stage *st, lo_error *err);
};
void lo_backend_free(lo_backend *b);
/* The spec's simulation: "[Simulated] Response for stage: ID". */
lo_backend *lo_backend_sim(void);

/* ---- events (§9.6) ---- */

typedef void (*lo_event_fn)(const json_t *event, void *ud);

/* Emit an event: fields (stolen; may be NULL) gets "type", "ts" (RFC 3339
 * UTC with ms) and "seq"; the event is appended to {logs_root}/events.jsonl
 * and flushed, then passed to the observer. Thread-safe. */
int lo_run_emit(lo_run *r, const char *type, json_t *fields);
/* True once the current stage has been asked to stop: the run was
 * cancelled (signal) or the stall watchdog fired. */
bool lo_run_cancelled(const lo_run *r);
/* The same as a flag a process runner can poll. */
const atomic_bool *lo_run_cancel_flag(lo_run *r);
/* Note activity (output from a stage's process) for the stall watchdog. */
void lo_run_touch(lo_run *r);
const char *lo_run_id(const lo_run *r);
/* The handler registered for a type, for handlers that run other nodes
 * (parallel branches). */
lo_handler_fn lo_run_handler(lo_run *r, const char *type, void **ud);
lo_interviewer *lo_run_interviewer(lo_run *r);
lo_backend *lo_run_backend(lo_run *r);
/* Run the subgraph from node `from` with its own context until a node with
 * no eligible edge, the exit, or `stop_at` (exclusive, may be NULL). Used by
 * the parallel handler for each branch. The outcome is the last node's. */
int lo_run_subgraph(lo_run *r, const char *from, const char *stop_at, lo_context *ctx,
                    lo_outcome *out, lo_error *err);

/* ---- artifacts (§5.5) ---- */

typedef struct lo_artifacts lo_artifacts;

/* Values over threshold bytes (0 = 100 KB) are kept in
 * {base_dir}/artifacts/{id}.json when base_dir is set; the rest in memory.
 * Thread-safe. */
lo_artifacts *lo_artifacts_new(const char *base_dir, size_t threshold);
void lo_artifacts_free(lo_artifacts *a);
/* Store data (borrowed) under id, replacing any earlier value. */
int lo_artifacts_store(lo_artifacts *a, const char *id, const char *name, const json_t *data,
                       lo_error *err);
json_t *lo_artifacts_retrieve(lo_artifacts *a, const char *id, lo_error *err); /* new ref */
bool lo_artifacts_has(lo_artifacts *a, const char *id);
int lo_artifacts_remove(lo_artifacts *a, const char *id);
void lo_artifacts_clear(lo_artifacts *a);
/* [{id, name, size_bytes, stored_at, is_file_backed}] (new reference). */
json_t *lo_artifacts_list(lo_artifacts *a);
lo_artifacts *lo_run_artifacts(lo_run *r);

/* ---- tool call hooks (§9.7) ---- */

/* Run the node's (else the graph's) tool_hooks.pre or tool_hooks.post
 * command around an agent tool call. The hook runs under /bin/sh with
 * LIGHTSOUT_HOOK (pre|post), LIGHTSOUT_TOOL_NAME, LIGHTSOUT_STAGE and
 * LIGHTSOUT_HOOK_INPUT (a file holding `call` as JSON, also its stdin), for
 * at most 30 s. For "pre", *proceed becomes false when the hook exits
 * non-zero (the call is skipped); for "post" a failure is only recorded.
 * Each run is a tool_hook event. No hook configured: *proceed = true. */
int lo_run_tool_hook(lo_run *r, const lo_stage *st, const char *phase, const char *tool_name,
                     const json_t *call, bool *proceed, lo_error *err);

/* ---- the engine ---- */

typedef struct lo_engine_config {
    const char *logs_root;   /* run directory; created; NULL = .lightsout/runs/RUN_ID */
    const char *workdir;     /* default "." */
    const char *dot_path;    /* the pipeline file, hashed into manifest.json */
    lo_interviewer *interviewer; /* borrowed; NULL = auto-approve */
    lo_backend *backend;     /* borrowed; NULL = sim */
    lo_event_fn on_event;
    void *event_ud;
    int64_t stall_timeout_ms; /* overrides the graph's stall_timeout; 0 = graph's */
    bool no_fsync;           /* benchmarks only: skip the fsyncs of checkpoints and status.json */
    const json_t *initial_context; /* borrowed object of values set at the start */
    const char *run_id;      /* the run's id (lo_run_id_new); NULL = a new one */
    const json_t *manifest_extra; /* borrowed object merged into manifest.json */
    /* Called after every stage of the main traversal has ended (its outcome
     * final, before the checkpoint that records it; not for the stages
     * inside parallel branches, nor for a stage the run was interrupted
     * in). step counts the stages completed, this one included. A negative
     * return stops the run as an engine error; the checkpoint then still
     * says the stage is to run, so a resume runs it again. --repo commits
     * the worktree here (lightsout/worktree.h). */
    int (*after_stage)(void *ud, lo_run *run, const char *node_id, const char *outcome,
                       int64_t step, lo_error *err);
    void *after_stage_ud;
} lo_engine_config;

typedef struct lo_engine lo_engine;

typedef struct lo_run_result {
    lo_status status;        /* SUCCESS, PARTIAL_SUCCESS or FAIL */
    bool interrupted;        /* stopped by lo_engine_cancel */
    bool already_ended;      /* a resume found the run finished: nothing ran */
    char failure_reason[1024];
    char last_node[128];
    size_t stages_run;
} lo_run_result;

/* A new run id: UTC time and 16 random bits, "20261205-154121-1cca",
 * readable in a directory listing and usable in a git branch name. */
void lo_run_id_new(char *buf, size_t n);
/* Whether a lightsout process holds the lock of the run directory
 * logs_root (is running or resuming it). A directory without a lock file
 * is not locked. */
bool lo_run_dir_locked(const char *logs_root);
/* Whether dot_path is still the pipeline the run in logs_root started with
 * (the hash in its manifest.json; true when none is recorded). A resume
 * of a changed pipeline is refused by lo_engine_run; callers that prepare
 * a resume (a worktree, say) ask first. */
bool lo_run_pipeline_matches(const char *logs_root, const char *dot_path);

lo_engine *lo_engine_new(const lo_graph *g, const lo_engine_config *cfg, lo_error *err);
const char *lo_engine_logs_root(const lo_engine *e);
const char *lo_engine_run_id(const lo_engine *e);
void lo_engine_free(lo_engine *e);
/* Register (or replace) the handler for a type string. */
int lo_engine_register(lo_engine *e, const char *type, lo_handler_fn fn, void *ud);
/* Run from the start node, or resume from {logs_root}/checkpoint.json when
 * resume is true. Returns 0 when the run ended (see res->status), negative
 * on an engine error (I/O, bad checkpoint). */
int lo_engine_run(lo_engine *e, bool resume, lo_run_result *res, lo_error *err);
/* Ask a running engine to stop: async-signal-safe. */
void lo_engine_cancel(lo_engine *e);

/* The checkpoint of a run directory as one object (the fields of
 * checkpoint.json, with the stages completed since its last snapshot folded
 * in from journal.jsonl): state, pid, current_node, next_node,
 * completed_nodes, node_outcomes, node_retries, restarts, context, logs.
 * New reference; NULL with LO_ENOENT when there is none yet. */
json_t *lo_checkpoint_read(const char *logs_root, lo_error *err);

/* ---- edge selection (§3.3), exposed for tests and `status` ---- */

typedef struct lo_selection {
    const lo_edge *edge;    /* NULL = no eligible edge */
    int step;               /* 1 condition, 2 preferred label, 3 suggested id,
                               4 weight, 5 lexical; 0 none */
} lo_selection;

/* Choose the next edge from node n; when trace is not NULL, appends one
 * object per edge considered: {to, condition, result} for the event log. */
lo_selection lo_select_edge(const lo_graph *g, const lo_node *n, const lo_outcome *o,
                            const lo_context *ctx, json_t *trace);
/* Lowercase, trim, strip an accelerator prefix ("[Y] ", "Y) ", "Y - "). */
void lo_normalize_label(const char *label, char *out, size_t n);

#endif
