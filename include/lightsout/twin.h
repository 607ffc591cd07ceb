/*
 * lightsout twin: digital twins of the model providers' HTTP APIs, answering
 * from tapes (docs/twins.md describes the tape format and every endpoint).
 *
 * Owner: src/twin/ (tape.c: tapes and matching; tokens.c and cache.c: the
 * token approximation and the prompt-cache simulation; twin.c: the server,
 * call counter and faults; exchange.c: what every provider's request goes
 * through; anthropic*.c, openai*.c, gemini*.c: the providers' APIs).
 *
 * A tape is a JSONL file, one exchange a line. lo_tape_load() parses and
 * checks every line up front, so a bad tape fails before the twin serves a
 * single request, with "FILE:LINE: what is wrong". Entries are tried in tape
 * order (tapes in the order given); the first whose matcher fits answers.
 *
 * A twin is an lo_http_server with the routes of one or more providers. It
 * runs on the server's threads; lo_twin_start returns once it is listening,
 * lo_twin_stop ends open streams and joins the threads. Tapes are borrowed:
 * they must outlive the twin.
 *
 * API keys never appear in log lines or error messages.
 */
#ifndef LIGHTSOUT_TWIN_H
#define LIGHTSOUT_TWIN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lightsout/base.h"

/* ---- tapes ---- */

/* What a tape entry does to the exchange (all optional). */
typedef struct lo_tape_fault {
    int status;          /* 0 = none; else answer this HTTP status with the
                            provider's error body (429, 500, 503, 529, ...) */
    long retry_after_s;  /* Retry-After seconds; -1 = the default (1 for 429,
                            503 and 529, none otherwise) */
    long latency_ms;     /* delay before the first byte; 0 = none */
    long cut_after;      /* streams: end after this many events; -1 = never */
    bool malformed;      /* the body (or a stream event) is not valid JSON */
    long drip_ms;        /* streams: delay between events; 0 = none */
    long every;          /* only on calls that are multiples of this; 0 = all */
} lo_tape_fault;

/* A fault given as JSON text with the keys of a tape's "fault" (for a
 * whole twin: lo_twin_config.fault). LO_EINVAL with a message on error. */
int lo_tape_fault_parse(const char *json, lo_tape_fault *out, lo_error *err);

typedef struct lo_tape_entry {
    const char *file;    /* the tape's path as given to lo_tape_load */
    unsigned line;       /* 1-based line in that file */
    json_t *match;       /* the "match" object, or NULL (matches everything) */
    json_t *reply;       /* the provider-neutral "reply" object, or NULL */
    json_t *raw;         /* "raw": a JSON value or a string served as is, or NULL */
    lo_tape_fault fault;
    struct lo_tape_regex *re; /* the compiled match.*_re patterns (private) */
} lo_tape_entry;

typedef struct lo_tape lo_tape;

/* Load and check a tape. NULL on failure with err filled: LO_ENOENT / LO_EIO
 * for the file, LO_EPARSE / LO_EINVAL for a line ("tape.jsonl:3: ..."; the
 * file and line are also in err->file and err->line). */
lo_tape *lo_tape_load(const char *path, lo_error *err);
/* The same from text in memory; name stands for the file in messages. */
lo_tape *lo_tape_parse(const char *text, size_t len, const char *name, lo_error *err);
void lo_tape_free(lo_tape *t);
size_t lo_tape_count(const lo_tape *t);
const lo_tape_entry *lo_tape_at(const lo_tape *t, size_t i);

/* A request, reduced to what matchers look at. Every pointer is borrowed;
 * NULL strings are "absent". */
typedef struct lo_twin_request_view {
    const char *path;             /* "/v1/messages" */
    const char *model;
    long call;                    /* the Nth generation request, from 1 */
    const char *user_text;        /* text of the last user message */
    const char *tool_result_text; /* text of the last tool result */
    const char *const *tools;     /* names of the tools offered */
    size_t n_tools;
    long messages;                /* messages (input items, contents) in the request */
} lo_twin_request_view;

/* The first entry of tapes[0..n) whose matcher fits req, or NULL. On NULL,
 * why (when not NULL) receives a one-line explanation naming the closest
 * entry (the one failing the fewest criteria, the earliest on a tie) as
 * FILE:LINE and each criterion it failed, or saying there are no entries. */
const lo_tape_entry *lo_tape_match(lo_tape *const *tapes, size_t n,
                                   const lo_twin_request_view *req, char *why,
                                   size_t why_len);

/* ---- twins ---- */

/* Providers, as a bitmask. */
enum {
    LO_TWIN_ANTHROPIC = 1u << 0,
    LO_TWIN_OPENAI = 1u << 1,
    LO_TWIN_GEMINI = 1u << 2,
    LO_TWIN_ALL = LO_TWIN_ANTHROPIC | LO_TWIN_OPENAI | LO_TWIN_GEMINI,
};

/* The providers this build can serve (all three). */
unsigned lo_twin_supported(void);
/* "anthropic", "openai", "gemini" or "all" -> mask. LO_EINVAL for an unknown
 * name (the message lists the known ones). Says nothing about support. */
int lo_twin_provider_parse(const char *name, unsigned *mask, lo_error *err);

typedef struct lo_twin_config {
    unsigned providers;       /* LO_TWIN_* mask; 0 = use provider */
    const char *provider;     /* a name as for lo_twin_provider_parse */
    const char *bind;         /* NULL = "127.0.0.1" */
    int port;                 /* 0 = ephemeral (see lo_twin_port) */
    lo_tape *const *tapes;    /* borrowed; tried in order */
    size_t n_tapes;
    const char *api_key;      /* the one key accepted; NULL = any non-empty key */
    const char *models_path;  /* model catalog; NULL = lo_llm_catalog_find */
    /* One line per request: "PROVIDER METHOD PATH STATUS ..." (no keys);
     * called from server threads, one call at a time. */
    void (*log)(const char *line, void *ud);
    void *log_ud;
    /* Smallest prompt prefix the simulated prompt cache keeps, in tokens;
     * 0 = each provider's own (docs/twins.md, "Prompt caching"). */
    int64_t cache_min_tokens;
    /* A fault for the whole twin (copied; NULL = none): its status answers
     * every generation call it selects (fault.every) before the tapes; its
     * other fields apply to what tapes answer, where an entry's own fault
     * does not set them. */
    const lo_tape_fault *fault;
    /* The largest request body; 0 = 10 MiB. A larger one gets 413. */
    size_t max_body;
    /* Record mode: every request is proxied to upstream ("https://host",
     * optionally with a path prefix) with the client's own headers, and each
     * generation exchange is appended to record_path (created or replaced)
     * as a tape entry; tapes, api_key and fault are then not used. API keys
     * and auth headers are never written (docs/twins.md, "Record mode"). */
    const char *upstream;
    const char *record_path;
} lo_twin_config;

typedef struct lo_twin lo_twin;

/* Start serving. NULL on failure with err filled: LO_EINVAL (no provider,
 * a provider not in lo_twin_supported(), a bad bind address), LO_EIO (cannot
 * bind), or the catalog's error. */
lo_twin *lo_twin_start(const lo_twin_config *cfg, lo_error *err);
int lo_twin_port(const lo_twin *t);
/* "http://127.0.0.1:PORT" (no trailing slash); valid until lo_twin_stop. */
const char *lo_twin_base_url(const lo_twin *t);
/* Generation requests that reached the tapes so far (the last "call"). */
long lo_twin_calls(const lo_twin *t);
/* Move the twin's clock forward by ms (the prompt cache's TTLs run on it),
 * so a test can expire cache entries without waiting. */
void lo_twin_clock_advance(lo_twin *t, int64_t ms);
/* Stop serving and free. NULL is a no-op. */
void lo_twin_stop(lo_twin *t);

#endif
