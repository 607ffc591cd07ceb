/*
 * Codergen backends (attractor-spec §4.5) and how a run picks one per node:
 * the router, the headless-CLI backend with its stream parsers, and the
 * native-agent backend (lightsout/agent.h).
 *
 * Owner: src/pipeline/backend_*.c (backend_select.c: names, providers and
 * the router; backend_cli.c: CLI agents as subprocesses; cli_stream.c: their
 * JSON streams; backend_usage.c: usage into the stage's status and the run's
 * events; backend_agent.c: the api backend).
 *
 * Ownership: every _new has a _free (lo_backend_free for backends); const
 * char * arguments are borrowed and copied unless the comment says the
 * pointer is kept; a setup's strings, client and catalog are borrowed and
 * must outlive the backends made from it.
 *
 * Which backend a codergen node runs on, first that applies:
 *   1. the run's forced backend (lightsout run --backend NAME);
 *   2. the node's `backend` attribute (also set by the stylesheet);
 *   3. the graph's `backend` attribute;
 *   4. the run's default: "api" when a provider is configured (its API key
 *      variable is set, or the run has a twin), else none -- a codergen node
 *      with no backend fails the run's preflight; simulation is only ever
 *      chosen on purpose.
 * "twin" names the api backend against the run's twin (lightsout run
 * --twin), and is refused without one.
 */
#ifndef LIGHTSOUT_BACKEND_H
#define LIGHTSOUT_BACKEND_H

#include <jansson.h>

#include "lightsout/agent.h"
#include "lightsout/engine.h"
#include "lightsout/llm.h"

/* What the run gives its backends. */
typedef struct lo_backend_setup {
    const char *force;            /* every codergen node uses this; NULL = per node */
    lo_llm_client *client;        /* the api backend's; NULL = no provider configured */
    const lo_llm_catalog *catalog; /* prices and model providers; may be NULL */
    const char *twin_url;         /* the run's twin ("http://127.0.0.1:PORT"); NULL = none */
    const char *twin_key;         /* the dummy key the twin accepts; with twin_url */
    /* api backend only */
    bool sandbox;                 /* tools' commands under bubblewrap */
    int max_turns;                /* per session; 0 = unlimited */
} lo_backend_setup;

/* The backend names a node may give: "api", "cli", "sim", "twin". */
bool lo_backend_name_valid(const char *name);

/* The backend node n runs on by the rules above ("api", "cli", "sim" or
 * "twin"), or NULL when it has none. Does not check that it can run. */
const char *lo_backend_for_node(const lo_graph *g, const lo_node *n, const lo_backend_setup *s);

/* The provider an api node's session uses: llm_provider (node, then
 * graph); else the catalog's provider of llm_model; else the first provider
 * the client has, in the order anthropic, openai, gemini. Copied into out
 * (size >= 32). LO_ENOENT when none can be found, with err saying why. */
int lo_backend_node_provider(const lo_graph *g, const lo_node *n, const lo_backend_setup *s,
                             char *out, size_t n_out, lo_error *err);

/* The environment variable that configures provider ("ANTHROPIC_API_KEY"),
 * or NULL for an unknown provider. */
const char *lo_backend_key_env(const char *provider);

/* Check that every codergen node of g can run: a backend chosen, its
 * provider configured (api) or its program on PATH (cli). Appends one line
 * per problem to problems ("node 'plan': ..."), and returns their count. */
size_t lo_backend_preflight(const lo_graph *g, const lo_backend_setup *s, lo_buf *problems);

/* The router the engine is given: it runs each codergen stage on the
 * backend lo_backend_for_node picks (through lo_backend.select). Its name is
 * the forced backend, else the default ("api"), else "per-node". */
lo_backend *lo_backend_router_new(const lo_backend_setup *s, lo_error *err);

/* The backend that runs stage st: b itself, or the one a router picks
 * (NULL with err filled when it has none). */
lo_backend *lo_backend_pick(lo_backend *b, const lo_stage *st, lo_error *err);

/* ---- headless CLI agents (backend "cli") ----
 *
 * A cli node runs an agent's own command-line program in the stage's
 * working directory, prompt as its last argument, stdin from /dev/null:
 *   claude    claude -p --output-format stream-json --verbose
 *             --permission-mode acceptEdits [--model M] PROMPT
 *   codex     codex exec --json --skip-git-repo-check --sandbox workspace-write
 *             [--model M] PROMPT
 *   gemini    gemini -o stream-json --approval-mode auto_edit [--model M] -p PROMPT
 *   opencode  opencode run --format json [--model P/M] PROMPT
 * Node (or graph) attributes: cli_agent picks the agent (default: from
 * llm_provider -- anthropic claude, openai codex, gemini gemini -- else
 * claude); cli_command replaces the program and its arguments (run by
 * /bin/sh, the prompt appended as one argument; llm_model is then not
 * added). Its stdout goes to {stage}/cli.stdout.jsonl, its stderr to
 * {stage}/cli.stderr.txt; the stream is parsed as it arrives. */

typedef enum lo_cli_agent {
    LO_CLI_CLAUDE, LO_CLI_CODEX, LO_CLI_GEMINI, LO_CLI_OPENCODE,
} lo_cli_agent;

/* "claude", "codex", "gemini", "opencode" -> agent; LO_EINVAL otherwise,
 * with a message listing the known ones. */
int lo_cli_agent_parse(const char *name, lo_cli_agent *out, lo_error *err);
const char *lo_cli_agent_name(lo_cli_agent a);

/* The command a cli node runs, without the prompt: a NULL-terminated argv
 * (free with lo_cli_argv_free), its agent in *agent, and in program (size
 * n_prog) the program to look for on PATH ("" when cli_command does not
 * start with a plain program name). NULL with err filled for an unknown
 * cli_agent. */
char **lo_cli_command(const lo_graph *g, const lo_node *n, lo_cli_agent *agent, char *program,
                      size_t n_prog, lo_error *err);
void lo_cli_argv_free(char **argv);

/* ---- the stream parsers ----
 *
 * Each agent prints one JSON object a line; a parser turns them into our
 * agent events (the kinds of lightsout/agent.h, JSON as in agent.jsonl) and
 * keeps the final text, the usage, the cost when the agent reports one, and
 * whether the stream reached its end. Lines that are not JSON objects, and
 * objects of types it does not know, become WARNING events; nothing in the
 * input can make it fail but memory. */

typedef struct lo_cli_stream lo_cli_stream;

/* An event in our format: its kind and fields (borrowed for the call). */
typedef void (*lo_cli_event_fn)(lo_agent_event_kind kind, const json_t *data, void *ud);

lo_cli_stream *lo_cli_stream_new(lo_cli_agent agent, lo_cli_event_fn on_event, void *ud);
void lo_cli_stream_free(lo_cli_stream *s);
/* Feed bytes as they come; lines may be cut anywhere. A line over 16 MiB is
 * dropped with a warning. */
int lo_cli_stream_feed(lo_cli_stream *s, const char *data, size_t len);
/* The input ended: parse a last unterminated line. */
int lo_cli_stream_finish(lo_cli_stream *s);

typedef struct lo_cli_summary {
    bool completed;          /* the agent's final event arrived (its result) */
    bool failed;             /* ... and it reported an error, or an error event came */
    const char *error;       /* the agent's own error message, or NULL */
    const char *text;        /* the final answer ("" when none) */
    const char *session_id;  /* the agent's session/thread id, or NULL */
    const char *model;       /* as the agent reported it, or NULL */
    lo_llm_usage usage;      /* summed; fields unreported when it never said */
    bool has_cost;
    double cost_usd;         /* as the agent reported it */
    long lines;              /* JSON lines parsed */
    long turns;              /* assistant messages / steps */
    long tool_calls;
} lo_cli_summary;

/* Borrowed from the stream; valid until the next feed or free. */
void lo_cli_stream_summary(const lo_cli_stream *s, lo_cli_summary *out);

/* The api backend: one native agent session per stage (lightsout/agent.h)
 * on s->client, in the stage's working directory (under bubblewrap with
 * s->sandbox). At its first stage it sets the client's cancel flag to the
 * run's, so calls in flight stop with the run. NULL without a client. The
 * router makes one when the setup has a client. */
lo_backend *lo_backend_api(const lo_backend_setup *s, lo_error *err);

/* The cli backend (the router makes one; exposed for tests). */
lo_backend *lo_backend_cli(const lo_backend_setup *s, lo_error *err);

#endif
