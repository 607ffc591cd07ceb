/* Private to the session side of src/agent/: the session record shared by
 * session.c (lifecycle, queues, accessors), loop.c (the core loop), events.c
 * (emission), loopdetect.c, prompt.c (the layered system prompt),
 * profile*.c and subagent.c. Nothing here is public API. */
#ifndef LO_AGENT_SESSION_INTERNAL_H
#define LO_AGENT_SESSION_INTERNAL_H

#include <pthread.h>

#include "lightsout/agent.h"

/* ---- profiles (profile.c and one file per flavor) ---- */

/* What differs between the flavors besides their tools. */
typedef struct profile_flavor {
    lo_agent_flavor flavor;
    const char *name;               /* "openai", "anthropic", "gemini" */
    const char *(*base_prompt)(void);
    const char *doc_file;           /* the flavor's own project file, after AGENTS.md */
    int64_t default_timeout_ms;     /* the shell default */
    bool parallel_tools;
} profile_flavor;

extern const profile_flavor profile_openai, profile_anthropic, profile_gemini;

struct lo_agent_profile {
    char *provider;                 /* as given ("openai_chat" keeps its name) */
    char *model;
    const profile_flavor *fl;
    lo_agent_registry *reg;
    const lo_llm_catalog *catalog;  /* borrowed, may be NULL */
    const lo_llm_model *entry;      /* the model in the catalog, or NULL */
    int64_t context_window;
};

/* Models without a catalog entry get this window, so the 80% warning still
 * has something to measure against. */
#define PROFILE_FALLBACK_WINDOW 128000

/* ---- the system prompt (prompt.c) ---- */

/* The layers that do not change during a session: base instructions plus
 * the environment and git blocks (head), project documents and user
 * instructions (tail). The tool layer sits between them and is rebuilt when
 * the registry changes. */
typedef struct prompt_parts {
    char *head;
    char *tail;
} prompt_parts;

int prompt_parts_build(const lo_agent_profile *p, lo_agent_env *env, const char *model,
                       const char *user_instructions, prompt_parts *out, lo_error *err);
void prompt_parts_release(prompt_parts *pp);
/* head + the tool layer for tools[0..n) + tail. */
char *prompt_assemble(const prompt_parts *pp, const lo_agent_tool *tools, size_t n);

/* Project instruction files from root down to dir (root and dir absolute,
 * dir inside root), AGENTS.md and then extra (may be NULL) in each
 * directory; appended to out under the 32 KB budget. Files inside workdir
 * are read through env (so confinement applies); files above it only when
 * above is true (the environment shares this machine's filesystem). */
int prompt_project_docs(lo_agent_env *env, const char *root, const char *extra, bool above,
                        lo_buf *out);

#define PROMPT_DOCS_BUDGET 32768

/* ---- loop detection (loopdetect.c) ---- */

typedef struct loop_detector {
    uint64_t *sig;                  /* ring of the last `window` call signatures */
    int window, n, next;
} loop_detector;

int loop_detector_init(loop_detector *d, int window);
void loop_detector_release(loop_detector *d);
void loop_detector_push(loop_detector *d, const char *name, const json_t *args,
                        const char *raw_args);
/* True when the last `window` calls repeat a pattern of 1, 2 or 3 calls. */
bool loop_detector_check(const loop_detector *d);
void loop_detector_reset(loop_detector *d);

/* ---- subagents (subagent.c) ---- */

typedef struct subagent subagent;

int subagent_add_tools(lo_agent_registry *r, lo_error *err);
bool subagent_tool(const char *name); /* spawn_agent, send_input, wait, close_agent */
/* Abort every child (flags only: safe from any thread). */
void subagents_abort(lo_agent_session *s);
/* Abort, join and free every child. */
void subagents_close(lo_agent_session *s);

/* ---- string queue (session.c) ---- */

typedef struct str_queue {
    char **v;
    size_t head, n, cap;
} str_queue;

/* ---- the session ---- */

struct lo_agent_session {
    char id[40];
    lo_agent_profile *profile;
    lo_agent_env *env;              /* where tools run (borrowed, or own_env) */
    lo_agent_env *own_env;          /* a subagent's scoped view; freed with it */
    lo_llm_client *client;
    lo_agent_config cfg;            /* resolved copy; strings and limits owned */
    lo_agent_event_fn on_event;
    void *ud;
    lo_agent_session *parent;       /* subagents: events and usage go up */
    int depth;                      /* 0 for a top-level session */
    char *model;
    const lo_llm_model *entry;      /* the model in the catalog, or NULL */

    pthread_mutex_t emit_mu;        /* one event at a time (used on the root) */
    pthread_mutex_t mu;             /* everything below that other threads touch */
    lo_agent_state state;
    atomic_bool abort;
    bool ended;                     /* SESSION_END emitted */
    str_queue steer, follow;
    char *effort;                   /* reasoning effort for the next call */
    lo_llm_usage usage;             /* every call, subagents' included */
    double cost_usd;
    bool cost_unknown;
    char *last_text;
    int turns, tool_calls;

    /* Owned by the thread running the loop. */
    lo_llm_request *req;            /* [system, history...]: append-only */
    prompt_parts prompt;
    lo_agent_tool *snap;            /* copies of the tools the request was built from */
    size_t n_snap;
    int64_t history_chars;          /* for the context estimate */
    bool context_warned, effort_warned;
    loop_detector loops;

    /* subagent.c */
    pthread_mutex_t sub_mu;
    subagent *subs;
    int next_sub;
};

/* Create a session; parent NULL for a top-level one. model NULL = the
 * profile's. */
lo_agent_session *session_create(lo_agent_profile *profile, lo_agent_env *env,
                                 lo_llm_client *client, const lo_agent_config *cfg,
                                 lo_agent_event_fn on_event, void *ud,
                                 lo_agent_session *parent, const char *model, lo_error *err);

/* events.c: emit kind with data (stolen; NULL = {}). Goes to the root
 * session's callback under its lock. */
void session_emit(lo_agent_session *s, lo_agent_event_kind kind, json_t *data);
int64_t agent_now_ms(void);

/* loop.c: one submitted input to completion, follow-ups included. */
int session_process(lo_agent_session *s, const char *input, lo_error *err);
/* The graceful shutdown of Appendix B: subagents closed, SESSION_END, CLOSED. */
void session_shutdown(lo_agent_session *s);

/* loop.c: (re)build the tool definitions and the system prompt when the
 * registry changed since the last call. */
int session_refresh(lo_agent_session *s, lo_error *err);

/* session.c */
json_t *agent_usage_json(const lo_llm_usage *u);
char *queue_pop(lo_agent_session *s, str_queue *q);
/* Add one call's usage (and its price) to s and every ancestor. */
void session_account(lo_agent_session *s, const lo_llm_usage *u);

#endif
