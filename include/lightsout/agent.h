/*
 * The coding agent (coding-agent-loop-spec): execution environments, tools
 * and their registry, output truncation, provider profiles and the session
 * loop. It drives a model through the unified LLM client (lightsout/llm.h)
 * and runs the model's tool calls in an execution environment.
 *
 * Owners: src/agent/ — env_local.c, env_sandbox.c (environments), path.c
 * (confinement), tools/ (one file per tool), patch.c (apply_patch v4a),
 * truncate.c, registry.c; session.c, loop.c, profile_*.c, prompt.c,
 * subagent.c, events.c.
 *
 * Ownership: every _new has a _free; const char * arguments are borrowed and
 * copied; json_t * arguments are borrowed unless the comment says "stolen";
 * char * results are the caller's to free().
 *
 * Confinement: every file a tool touches is resolved against the
 * environment's working directory first. A path that resolves outside it —
 * through "..", an absolute path elsewhere, or a symlink pointing out — is
 * refused with an error the model can read. Agents never write outside
 * their working directory.
 *
 * Threads: a session runs its loop on the thread that calls
 * lo_agent_submit; tool calls of one round may run on worker threads.
 * lo_agent_steer, lo_agent_follow_up, lo_agent_set_reasoning_effort and
 * lo_agent_abort may be called from any thread while it runs.
 */
#ifndef LIGHTSOUT_AGENT_H
#define LIGHTSOUT_AGENT_H

#include <jansson.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lightsout/base.h"
#include "lightsout/llm.h"

/* ======================================================================
 * Execution environments (§4)
 * ====================================================================== */

typedef struct lo_agent_env lo_agent_env;

/* The result of one command. */
typedef struct lo_agent_exec_result {
    char *stdout_text;       /* captured, valid UTF-8 (invalid bytes replaced) */
    char *stderr_text;
    int exit_code;           /* -1 when killed by a signal */
    int term_signal;         /* that signal, or 0 */
    bool timed_out;          /* the timeout stopped it (SIGTERM, then SIGKILL after 2 s) */
    bool cancelled;          /* the cancel flag stopped it */
    bool output_limited;     /* it wrote more than the environment keeps (stopped) */
    int64_t duration_ms;
} lo_agent_exec_result;

void lo_agent_exec_result_release(lo_agent_exec_result *r);

typedef struct lo_agent_dir_entry {
    char *name;              /* relative to the listed directory ("src/a.c" below depth 1) */
    bool is_dir;
    int64_t size;            /* -1 for directories or when unknown */
} lo_agent_dir_entry;

typedef struct lo_agent_grep_opts {
    const char *glob_filter; /* e.g. "*.c"; NULL = all files */
    bool case_insensitive;
    long max_results;        /* 0 = 100 */
    /* Anthropic's output modes: "content" (path:line:text, the default),
     * "files_with_matches", "count". */
    const char *output_mode;
    bool builtin;            /* use the built-in search even when rg is installed */
} lo_agent_grep_opts;

/* An environment is a table of operations plus its state. Paths given to
 * the file operations may be relative (to the working directory) or
 * absolute; each operation confines them as described at the top. Every
 * operation returns 0 or a negative lo_err with err filled with a message
 * fit to show the model ("read_file: src/x.c: no such file"). */
typedef struct lo_agent_env_ops {
    const char *name;        /* "local", "sandbox", or a custom name */
    /* The file's bytes (NUL-terminated; *len without the NUL). */
    int (*read_file)(lo_agent_env *e, const char *path, char **data, size_t *len, lo_error *err);
    /* Create or replace, creating parent directories. */
    int (*write_file)(lo_agent_env *e, const char *path, const char *data, size_t len,
                      lo_error *err);
    int (*delete_file)(lo_agent_env *e, const char *path, lo_error *err);
    bool (*file_exists)(lo_agent_env *e, const char *path);
    /* Entries below path to depth levels (1 = direct children), sorted by
     * name; *entries is an array of *n the caller frees with
     * lo_agent_dir_entries_free. */
    int (*list_dir)(lo_agent_env *e, const char *path, int depth, lo_agent_dir_entry **entries,
                    size_t *n, lo_error *err);
    /* Run command with the platform shell in its own process group, in cwd
     * (NULL = the working directory; confined like any path) with extra
     * environment variables env ("NAME=value", NULL-terminated, may be
     * NULL). timeout_ms > 0 always. *cancel (may be NULL) stops it. A
     * command that ran returns 0 whatever its exit status. */
    int (*exec)(lo_agent_env *e, const char *command, int64_t timeout_ms, const char *cwd,
                char *const *env, const atomic_bool *cancel, lo_agent_exec_result *r,
                lo_error *err);
    /* Matching lines as text (ripgrep when installed, else a built-in
     * search that honours .gitignore), appended to out. */
    int (*grep)(lo_agent_env *e, const char *pattern, const char *path,
                const lo_agent_grep_opts *o, lo_buf *out, lo_error *err);
    /* Paths matching pattern ("**" allowed) under path, newest first, one a
     * line, appended to out. */
    int (*glob)(lo_agent_env *e, const char *pattern, const char *path, lo_buf *out,
                lo_error *err);
    /* Resolve path for an operation: the absolute, confined path in out, or
     * an error that names the path and says why it was refused. must_exist
     * false allows a path whose last components do not exist yet. */
    int (*resolve)(lo_agent_env *e, const char *path, bool must_exist, char out[PATH_MAX],
                   lo_error *err);
    const char *(*working_directory)(lo_agent_env *e);
    const char *(*platform)(lo_agent_env *e);   /* "linux" */
    const char *(*os_version)(lo_agent_env *e); /* uname -sr */
    int (*initialize)(lo_agent_env *e, lo_error *err); /* may be NULL */
    void (*cleanup)(lo_agent_env *e);                   /* may be NULL */
    void (*destroy)(lo_agent_env *e);
} lo_agent_env_ops;

struct lo_agent_env {
    const lo_agent_env_ops *ops;
    void *state;
};

void lo_agent_env_free(lo_agent_env *e); /* cleanup, then destroy; NULL ok */
void lo_agent_dir_entries_free(lo_agent_dir_entry *v, size_t n);

/* Which inherited variables commands see. */
typedef enum lo_agent_env_policy {
    LO_ENV_INHERIT_FILTERED, /* all but secrets (the default) */
    LO_ENV_INHERIT_ALL,
    LO_ENV_INHERIT_CORE,     /* PATH, HOME, USER, SHELL, LANG, TERM, TMPDIR,
                              * LC_*, and language paths (GOPATH, CARGO_HOME, ...) */
    LO_ENV_INHERIT_NONE,
} lo_agent_env_policy;

typedef struct lo_agent_env_opts {
    const char *workdir;          /* required; must exist */
    lo_agent_env_policy policy;
    /* Secrets are names matching *_API_KEY, *_SECRET, *_TOKEN, *_PASSWORD,
     * *_CREDENTIAL (case-insensitive), and the plural and key forms
     * *_SECRETS, *_TOKENS, *_CREDENTIALS, *_SECRET_KEY, *_ACCESS_KEY,
     * *_PRIVATE_KEY; FILTERED and CORE drop them. */
    const char *const *extra_env; /* "NAME=value" added to every command; may be NULL */
    /* Sandbox only (lo_agent_env_sandbox): */
    bool network;                 /* allow the network */
    const char *const *writable;  /* more writable paths; may be NULL */
} lo_agent_env_opts;

/* Everything on this machine, confined to workdir. */
lo_agent_env *lo_agent_env_local(const lo_agent_env_opts *o, lo_error *err);
/* The same, with commands run under bubblewrap (lightsout/proc.h
 * lo_sandbox): the workdir read-write, the rest read-only, no network
 * unless allowed, a new PID namespace. NULL with a message naming the
 * package when bwrap is missing or cannot run here. */
lo_agent_env *lo_agent_env_sandbox(const lo_agent_env_opts *o, lo_error *err);

/* True when name is a secret by the rule above. */
bool lo_agent_env_is_secret(const char *name);

/* ======================================================================
 * Tools and the registry (§3.3-§3.8)
 * ====================================================================== */

typedef struct lo_agent_session lo_agent_session;
typedef struct lo_agent_config lo_agent_config;

/* What a tool's executor gets. */
typedef struct lo_agent_tool_ctx {
    lo_agent_env *env;
    lo_agent_session *session;   /* NULL when a tool runs outside a session */
    const lo_agent_config *config; /* timeouts; NULL = defaults */
    const atomic_bool *cancel;   /* the session's abort flag; may be NULL */
    const char *call_id;
    void *ud;                    /* the tool's own */
} lo_agent_tool_ctx;

/* Execute a call with arguments already validated against the tool's
 * schema. Append the output to out and return 0; or return a negative
 * lo_err with err's message telling the model what went wrong (the session
 * sends it as an error result). A shell command that exits non-zero is not
 * an error: its exit code is part of the output. */
typedef int (*lo_agent_tool_fn)(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out,
                                lo_error *err);

typedef struct lo_agent_tool {
    const char *name;
    const char *description;
    json_t *parameters;          /* JSON Schema, root "type": "object" (borrowed
                                  * by lo_agent_registry_add, which keeps a reference) */
    lo_agent_tool_fn fn;
    void *ud;
    /* Output limits for truncation (§5.2); 0 = the default table's (and
     * for tools not in the table: 20,000 chars, tail, no line limit). */
    int64_t max_chars;
    int64_t max_lines;
} lo_agent_tool;

typedef struct lo_agent_registry lo_agent_registry;

lo_agent_registry *lo_agent_registry_new(void);
void lo_agent_registry_free(lo_agent_registry *r);
/* Add or replace (latest wins); the tool's strings are copied. */
int lo_agent_registry_add(lo_agent_registry *r, const lo_agent_tool *t, lo_error *err);
int lo_agent_registry_remove(lo_agent_registry *r, const char *name);
const lo_agent_tool *lo_agent_registry_get(const lo_agent_registry *r, const char *name);
size_t lo_agent_registry_count(const lo_agent_registry *r);
/* In registration order (a replaced tool keeps its place). */
const lo_agent_tool *lo_agent_registry_at(const lo_agent_registry *r, size_t i);

/* The tool sets differ per provider in names, schemas and defaults, to match
 * each provider's reference agent (§3.4-§3.6). */
typedef enum lo_agent_flavor {
    LO_FLAVOR_OPENAI,    /* codex: apply_patch, shell, read_file, write_file, grep, glob */
    LO_FLAVOR_ANTHROPIC, /* Claude Code: read_file, write_file, edit_file, shell (120 s), grep, glob */
    LO_FLAVOR_GEMINI,    /* gemini-cli: read_file, read_many_files, write_file, edit_file,
                          * shell, grep, glob, list_dir */
} lo_agent_flavor;

/* Add one built-in tool by name ("read_file", "write_file", "edit_file",
 * "apply_patch", "shell", "grep", "glob", "list_dir", "read_many_files") in
 * the given flavor. LO_ENOENT for an unknown name. */
int lo_agent_add_builtin(lo_agent_registry *r, const char *name, lo_agent_flavor flavor,
                         lo_error *err);
/* Add the flavor's whole core tool set (not the subagent tools). */
int lo_agent_add_core_tools(lo_agent_registry *r, lo_agent_flavor flavor, lo_error *err);

/* Parse and apply a v4a patch (Appendix A) inside env. All or nothing: the
 * patch is parsed and every hunk located before any file is changed; a
 * malformed or non-applying patch changes nothing and err says which file
 * and hunk failed and why. On success the summary of what changed ("A
 * path", "M path", "D path", "R old -> new", one a line) is appended to out. */
int lo_agent_apply_patch(lo_agent_env *env, const char *patch, lo_buf *out, lo_error *err);

/* ---- truncation (§5) ---- */

/* A per-tool override of the limits; 0 keeps the default, < 0 removes it. */
typedef struct lo_agent_limit {
    const char *tool;
    int64_t max_chars;
    int64_t max_lines;
} lo_agent_limit;

/* The output the model sees: character truncation first (head_tail or tail
 * by tool, with the visible marker), then line truncation; lengths count
 * Unicode characters and never split one. Defaults from the §5.2 table,
 * then the tool's own limits, then overrides[0..n). Caller frees; NULL
 * when out of memory. */
char *lo_agent_truncate(const char *tool, const char *output, size_t len,
                        const lo_agent_tool *def, const lo_agent_limit *overrides, size_t n);

/* ======================================================================
 * Provider profiles (§3.2, §6)
 * ====================================================================== */

typedef struct lo_agent_profile lo_agent_profile;

/* provider: "openai", "anthropic", "gemini" (also "openai_chat", which uses
 * the OpenAI flavor); model: a model id (NULL = the catalog's latest
 * tool-capable model of the provider). The profile owns a registry with the
 * flavor's core tools and the subagent tools. catalog (may be NULL) is
 * borrowed: it must outlive the profile and the sessions using it (it gives
 * the context window, the reasoning flag and the prices for lo_agent_cost). */
lo_agent_profile *lo_agent_profile_new(const char *provider, const char *model,
                                       const lo_llm_catalog *catalog, lo_error *err);
void lo_agent_profile_free(lo_agent_profile *p);
const char *lo_agent_profile_provider(const lo_agent_profile *p);
const char *lo_agent_profile_model(const lo_agent_profile *p);
lo_agent_flavor lo_agent_profile_flavor(const lo_agent_profile *p);
/* For custom tools (latest wins over the profile's own). */
lo_agent_registry *lo_agent_profile_registry(lo_agent_profile *p);
bool lo_agent_profile_parallel_tools(const lo_agent_profile *p);
int64_t lo_agent_profile_context_window(const lo_agent_profile *p);

/* ======================================================================
 * Sessions (§2)
 * ====================================================================== */

struct lo_agent_config {
    int max_turns;                    /* 0 = unlimited */
    int max_tool_rounds_per_input;    /* 0 = unlimited */
    int64_t default_command_timeout_ms; /* 0 = the profile's: 10,000 (Anthropic: 120,000);
                                         * tools see the resolved value, never 0 */
    int64_t max_command_timeout_ms;   /* 600,000 */
    const char *reasoning_effort;     /* NULL = provider default */
    const lo_agent_limit *limits;     /* per-tool truncation overrides */
    size_t n_limits;
    bool enable_loop_detection;       /* true */
    int loop_detection_window;        /* 10 */
    int max_subagent_depth;           /* 1 */
    const char *user_instructions;    /* appended last to the system prompt; NULL = none */
    bool stream;                      /* stream model output (text deltas as events) */
    int64_t max_tokens;               /* per model call; 0 = the adapter's default */
};

void lo_agent_config_init(lo_agent_config *c); /* the defaults above */

typedef enum lo_agent_state {
    LO_AGENT_IDLE, LO_AGENT_PROCESSING, LO_AGENT_AWAITING_INPUT, LO_AGENT_CLOSED,
} lo_agent_state;

typedef enum lo_agent_event_kind {
    LO_AGENT_SESSION_START,
    LO_AGENT_SESSION_END,
    LO_AGENT_USER_INPUT,
    LO_AGENT_PROCESSING_END,
    LO_AGENT_ASSISTANT_TEXT_START,
    LO_AGENT_ASSISTANT_TEXT_DELTA,
    LO_AGENT_ASSISTANT_TEXT_END,
    LO_AGENT_TOOL_CALL_START,
    LO_AGENT_TOOL_CALL_OUTPUT_DELTA,
    LO_AGENT_TOOL_CALL_END,
    LO_AGENT_STEERING_INJECTED,
    LO_AGENT_TURN_LIMIT,
    LO_AGENT_LOOP_DETECTION,
    LO_AGENT_WARNING,
    LO_AGENT_ERROR,
} lo_agent_event_kind;

const char *lo_agent_event_name(lo_agent_event_kind k); /* "tool_call_end", ... */

typedef struct lo_agent_event {
    lo_agent_event_kind kind;
    const char *session_id;
    int64_t ts_ms;               /* Unix ms */
    const json_t *data;          /* the event's fields (borrowed for the call) */
} lo_agent_event;

/* Called synchronously, possibly from tool worker threads (one call at a
 * time per session). */
typedef void (*lo_agent_event_fn)(const lo_agent_event *ev, void *ud);

/* The event as one JSON object {type, ts, session_id, ...data} (new ref). */
json_t *lo_agent_event_to_json(const lo_agent_event *ev);

/* A session borrows profile, env and client: they must outlive it. */
lo_agent_session *lo_agent_session_new(lo_agent_profile *profile, lo_agent_env *env,
                                       lo_llm_client *client, const lo_agent_config *cfg,
                                       lo_agent_event_fn on_event, void *ud, lo_error *err);
/* Abort if running, close subagents, emit SESSION_END; NULL ok. */
void lo_agent_session_free(lo_agent_session *s);
const char *lo_agent_session_id(const lo_agent_session *s);
lo_agent_state lo_agent_session_state(const lo_agent_session *s);

/* Process one input to completion (the loop of §2.5, follow-ups included).
 * 0 when the loop ended normally (natural completion or a limit); a
 * negative lo_err for an unrecoverable error (authentication, a
 * non-retryable provider error: the session is then CLOSED) with err
 * filled, or LO_ECANCELED after lo_agent_abort. */
int lo_agent_submit(lo_agent_session *s, const char *input, lo_error *err);
void lo_agent_steer(lo_agent_session *s, const char *message);
void lo_agent_follow_up(lo_agent_session *s, const char *message);
void lo_agent_set_reasoning_effort(lo_agent_session *s, const char *effort); /* NULL = default */
void lo_agent_abort(lo_agent_session *s);

/* The text of the last assistant turn ("" when none). Borrowed until the
 * next submit. */
const char *lo_agent_last_text(const lo_agent_session *s);
/* Usage summed over every model call of the session and its subagents. */
void lo_agent_usage(const lo_agent_session *s, lo_llm_usage *out);
/* Cost in USD at list prices, summed per call; LO_ENOENT when any call's
 * cost is unknown (the model is not in the catalog). */
int lo_agent_cost(const lo_agent_session *s, double *usd);
int lo_agent_turns(const lo_agent_session *s);       /* assistant turns so far */
int lo_agent_tool_calls(const lo_agent_session *s);  /* tool calls so far */
/* The system prompt the session sends (built at creation; rebuilt when the
 * profile's tools change). Borrowed until the next submit. */
const char *lo_agent_session_system_prompt(const lo_agent_session *s);

/* For a tool that produces output as it goes: emit TOOL_CALL_OUTPUT_DELTA
 * with this piece (the full output still goes to out, and to TOOL_CALL_END).
 * A no-op outside a session. */
void lo_agent_tool_output(lo_agent_tool_ctx *ctx, const char *text, size_t len);

#endif
