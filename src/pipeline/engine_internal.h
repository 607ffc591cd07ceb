/* Engine state shared between engine.c (traversal), run.c (run directory,
 * events, checkpoints) and the built-in handlers; not public. */
#ifndef LO_ENGINE_INTERNAL_H
#define LO_ENGINE_INTERNAL_H

#include <pthread.h>

#include "lightsout/engine.h"

typedef struct handler_entry {
    char *type;
    lo_handler_fn fn;
    void *ud;
} handler_entry;

struct lo_run {
    struct lo_engine *e;
};

/* Where a traversal stands; what the checkpoint holds. */
typedef struct trav {
    lo_context *ctx;
    json_t *completed;  /* array of node ids, in order */
    json_t *outcomes;   /* node id -> final status of its last visit */
    json_t *retries;    /* node id -> retries used on its last visit */
    json_t *visits;     /* node id -> visits completed (max_visits); kept across
                         * loop restarts, like steps */
    int64_t steps;      /* stages completed in all (max_steps) */
    char *current;      /* node to run next (NULL when finished) */
    char *last;         /* last node completed */
    int restarts;       /* loop_restart count: stage dirs go under restart-N */
    bool checkpoints;   /* false for parallel branches */
    const lo_edge *incoming; /* the edge that led to current, for fidelity */
    bool resumed;       /* the next stage is the first after a resume */
    /* checkpoint persistence (run.c): snapshot generation, journal lines
     * since the snapshot, the context as last persisted */
    uint64_t gen;
    size_t journal_n;
    json_t *ctx_saved;
    bool force_snapshot;
} trav;

struct lo_engine {
    lo_graph *g;
    lo_engine_config cfg;
    char *logs_root, *workdir, *dot_path;
    handler_entry *handlers;
    size_t n_handlers, cap_handlers;
    lo_backend *own_backend;
    lo_interviewer *own_interviewer;
    lo_run run;
    lo_artifacts *artifacts;
    char run_id[64];
    /* stopping: cancel is sticky (signal); stop is per stage (cancel or stall) */
    atomic_bool cancel, stop, stalled;
    atomic_llong last_activity_ms;
    atomic_llong stall_ms;     /* for the stage running now; 0 = off */
    atomic_bool stage_running;
    atomic_bool quit_watchdog;
    pthread_t watchdog;
    pthread_mutex_t wd_lock;
    pthread_cond_t wd_cond;
    bool watchdog_started;
    /* events */
    pthread_mutex_t ev_lock;
    FILE *events;
    uint64_t seq;
    int lock_fd;        /* flock on {logs_root}/lock while a run is going */
    int journal_fd;     /* journal.jsonl, appended after each stage */
    json_t *manifest_set; /* --set values recorded in the manifest (resume) */
};

int64_t lo_now_ms(void);        /* monotonic */
void lo_rfc3339_now(char *buf, size_t n);

/* run.c */
int run_lock(struct lo_engine *e, lo_error *err);
void run_unlock(struct lo_engine *e);
int run_open(struct lo_engine *e, bool resume, lo_error *err);
void run_close(struct lo_engine *e);
int run_write_manifest(struct lo_engine *e, lo_error *err);
int run_check_manifest(struct lo_engine *e, lo_error *err);
int run_save_checkpoint(struct lo_engine *e, trav *t, const char *state, lo_error *err);
int run_load_checkpoint(struct lo_engine *e, trav *t, char *state, size_t n, lo_error *err);
char *run_stage_dir(struct lo_engine *e, const trav *t, const char *node_id);

/* engine_timing.c: retry policy, backoff, sleeps, the stall watchdog */
typedef struct retry_policy {
    int max_attempts;
    int64_t initial_ms, max_ms;
    double factor;
    bool jitter;
} retry_policy;
retry_policy lo_retry_policy_for(const lo_graph *g, const lo_node *n);
int64_t lo_retry_delay(const retry_policy *p, int attempt);
void lo_engine_sleep(struct lo_engine *e, int64_t ms);   /* returns early on cancel */
void *lo_engine_watchdog(void *arg);
int64_t lo_engine_stall_limit(struct lo_engine *e, const lo_node *n);

/* handlers/builtin: registers start, exit, conditional, codergen and the
 * others compiled in */
int lo_register_builtin_handlers(struct lo_engine *e);

#endif
