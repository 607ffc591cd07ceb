/*
 * The unified LLM client, first layer: the data model (unified-llm-spec §3),
 * the error taxonomy with retryability and HTTP status mapping (§6.1-§6.5),
 * and the model catalog with prices (§2.9, §2.10). Provider adapters build on
 * these types; nothing here talks to the network.
 *
 * Ownership:
 *  - Every _new or constructor returns a heap object that its _free releases;
 *    _free functions accept NULL.
 *  - A message owns its parts; a request owns its messages, tools and stop
 *    sequences; a response owns its message and warnings; a stream event owns
 *    everything it points to.
 *  - const char * arguments are borrowed and copied. json_t * arguments are
 *    stolen (the caller's reference passes to the callee, also on failure)
 *    unless the comment says "borrowed".
 *  - char * results are the caller's to free(). Arrays of pointers returned by
 *    the _tool_calls and _list functions are the caller's to free(); the
 *    objects they point to are not.
 *  - A catalog owns its models; a const lo_llm_model * is valid until
 *    lo_llm_catalog_free.
 *
 * Token counts are int64_t with LO_TOKENS_UNREPORTED (-1) meaning "the
 * provider did not say"; zero is a real count.
 */
#ifndef LIGHTSOUT_LLM_H
#define LIGHTSOUT_LLM_H

#include <jansson.h>
#include <time.h>

#include "lightsout/base.h"

/* ---- roles (§3.2) ---- */

typedef enum lo_llm_role {
    LO_ROLE_SYSTEM,
    LO_ROLE_USER,
    LO_ROLE_ASSISTANT,
    LO_ROLE_TOOL,
    LO_ROLE_DEVELOPER,
} lo_llm_role;

const char *lo_llm_role_name(lo_llm_role r);              /* "system", ... */
int lo_llm_role_parse(const char *s, lo_llm_role *out);    /* 0 or LO_EINVAL */

/* ---- content parts (§3.3-§3.5): a tagged union ---- */

typedef enum lo_llm_content_kind {
    LO_CONTENT_TEXT,
    LO_CONTENT_IMAGE,
    LO_CONTENT_AUDIO,
    LO_CONTENT_DOCUMENT,
    LO_CONTENT_TOOL_CALL,
    LO_CONTENT_TOOL_RESULT,
    LO_CONTENT_THINKING,
    LO_CONTENT_REDACTED_THINKING,
    LO_CONTENT_OTHER, /* a provider-specific kind, kept verbatim (§3.3 note) */
} lo_llm_content_kind;

const char *lo_llm_content_kind_name(lo_llm_content_kind k); /* "text", ... */

/* Image, audio or document. Exactly one of url, data and path is set: the
 * adapter sends a URL as is, data as inline base64, and reads a path itself. */
typedef struct lo_llm_media {
    char *url;        /* http(s) URL (or a data: URL) */
    char *data;       /* the bytes, base64-encoded */
    char *path;       /* a local file for the adapter to read */
    char *media_type; /* MIME type; NULL = inferred (image data: image/png) */
    char *detail;     /* images: "auto", "low", "high" or NULL */
    char *file_name;  /* documents: display name or NULL */
} lo_llm_media;

typedef struct lo_llm_tool_call {
    char *id;            /* provider-assigned (adapters synthesise one for Gemini) */
    char *name;
    json_t *arguments;   /* the parsed object; NULL when raw_arguments is not an object */
    char *raw_arguments; /* the argument text as received; NULL when built from an object */
    char *type;          /* NULL = "function"; "custom" for free-form tools */
} lo_llm_tool_call;

typedef struct lo_llm_tool_result {
    char *tool_call_id;
    json_t *content;     /* a JSON string for text, or an object or array */
    bool is_error;
    lo_llm_media image;  /* optional image result; all NULL when none */
} lo_llm_tool_result;

typedef struct lo_llm_part {
    lo_llm_content_kind kind;
    union {
        char *text;                     /* TEXT */
        lo_llm_media media;             /* IMAGE, AUDIO, DOCUMENT */
        lo_llm_tool_call tool_call;     /* TOOL_CALL */
        lo_llm_tool_result tool_result; /* TOOL_RESULT */
        struct {
            char *text;
            char *signature;            /* round-tripped verbatim; NULL when none */
        } thinking;                     /* THINKING */
        struct {
            char *data;                 /* opaque; must be sent back verbatim */
        } redacted;                     /* REDACTED_THINKING */
        struct {
            char *name;                 /* the provider's kind name */
            json_t *raw;                /* the provider's block, verbatim */
        } other;                        /* OTHER */
    };
} lo_llm_part;

/* Release what a part owns (not the part itself). */
void lo_llm_part_release(lo_llm_part *p);

/* ---- messages (§3.1) ---- */

typedef struct lo_llm_message {
    lo_llm_role role;
    lo_llm_part *parts;
    size_t n_parts, cap_parts;
    char *name;         /* NULL when none */
    char *tool_call_id; /* TOOL messages: the call this answers */
} lo_llm_message;

lo_llm_message *lo_llm_message_new(lo_llm_role role);
void lo_llm_message_free(lo_llm_message *m);
lo_llm_message *lo_llm_message_clone(const lo_llm_message *m); /* deep copy */
/* A message with one text part: Message.system/user/assistant(text). */
lo_llm_message *lo_llm_text_message(lo_llm_role role, const char *text);
/* A TOOL message answering tool_call_id with text content. */
lo_llm_message *lo_llm_tool_result_message(const char *tool_call_id, const char *content,
                                           bool is_error);
int lo_llm_message_set_name(lo_llm_message *m, const char *name);

/* Append parts. All return 0, LO_ENOMEM or LO_EINVAL (a required field is
 * NULL, or a media source does not have exactly one of url, data, path). */
int lo_llm_message_add_text(lo_llm_message *m, const char *text);
/* kind is LO_CONTENT_IMAGE, _AUDIO or _DOCUMENT; src is copied. */
int lo_llm_message_add_media(lo_llm_message *m, lo_llm_content_kind kind,
                             const lo_llm_media *src);
/* arguments (stolen) may be NULL when raw_arguments is given; raw_arguments
 * that parse as a JSON object also fill arguments. */
int lo_llm_message_add_tool_call(lo_llm_message *m, const char *id, const char *name,
                                 json_t *arguments, const char *raw_arguments);
/* content is stolen: a JSON string, object or array. */
int lo_llm_message_add_tool_result(lo_llm_message *m, const char *tool_call_id,
                                   json_t *content, bool is_error);
int lo_llm_message_add_thinking(lo_llm_message *m, const char *text, const char *signature);
int lo_llm_message_add_redacted_thinking(lo_llm_message *m, const char *data);

/* Concatenation of the TEXT parts ("" when there are none). */
char *lo_llm_message_text(const lo_llm_message *m);

/* ---- tools (§5.1, §5.3) ---- */

typedef struct lo_llm_tool {
    char *name;        /* [a-zA-Z][a-zA-Z0-9_]*, at most 64 characters */
    char *description;
    json_t *parameters; /* JSON Schema with "type": "object" at the root */
} lo_llm_tool;

/* True when name satisfies the §5.1 constraints. */
bool lo_llm_tool_name_valid(const char *name);

/* ---- JSON Schema validation (src/llm/schema.c) ----
 *
 * Check value against schema (both borrowed): tool arguments before a tool
 * runs (§5.8) and structured output (§4.5). Keywords: type (a name or an
 * array of names; "integer" is any number without a fraction, 1.0 too),
 * properties, required, additionalProperties (false or a schema), enum,
 * const, items (a schema; also prefixItems and the older array form),
 * minItems, maxItems, uniqueItems, minProperties, maxProperties, minimum,
 * maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, minLength,
 * maxLength (in characters), pattern (POSIX extended syntax; a pattern it
 * cannot compile is skipped), allOf, anyOf, oneOf, not, OpenAPI's nullable,
 * boolean schemas and local "$ref" ("#/$defs/x"). Unknown keywords are
 * ignored. Thread-safe.
 *
 * Returns 0 when value conforms, LO_EINVAL when it does not, LO_EPARSE when
 * the schema itself is malformed (a keyword of the wrong shape, an unknown
 * type name, an unresolvable $ref). why (may be NULL; n bytes, truncated to
 * fit) then holds the first failure, led by the JSON path of the value:
 *   "$.location: expected string, got number"
 *   "$.items[2].unit: \"kelvin\" is not one of \"celsius\", \"fahrenheit\""
 *   "$.city: required property is missing" */
int lo_json_schema_validate(const json_t *schema, const json_t *value, char *why, size_t n);

typedef enum lo_llm_tool_choice_mode {
    LO_TOOL_CHOICE_AUTO,
    LO_TOOL_CHOICE_NONE,
    LO_TOOL_CHOICE_REQUIRED,
    LO_TOOL_CHOICE_NAMED,
} lo_llm_tool_choice_mode;

typedef struct lo_llm_tool_choice {
    lo_llm_tool_choice_mode mode;
    char *tool_name; /* NAMED only */
} lo_llm_tool_choice;

/* ---- response format (§3.10) ---- */

typedef enum lo_llm_format_type {
    LO_FORMAT_TEXT,
    LO_FORMAT_JSON,
    LO_FORMAT_JSON_SCHEMA,
} lo_llm_format_type;

typedef struct lo_llm_response_format {
    lo_llm_format_type type;
    json_t *schema; /* JSON_SCHEMA only */
    bool strict;
} lo_llm_response_format;

/* ---- request (§3.6) ---- */

typedef struct lo_llm_request {
    char *model;                 /* the provider's model id; required */
    char *provider;              /* NULL = the client's default */
    lo_llm_message **messages;
    size_t n_messages, cap_messages;
    lo_llm_tool *tools;
    size_t n_tools, cap_tools;
    bool has_tool_choice;        /* false: auto when tools are present */
    lo_llm_tool_choice tool_choice;
    lo_llm_response_format response_format; /* type TEXT by default */
    /* Optional sampling parameters: a has_ flag says the caller set it, so
     * 0.0 is a value and not "unset". */
    bool has_temperature, has_top_p, has_max_tokens;
    double temperature, top_p;
    int64_t max_tokens;
    char **stop;                 /* stop sequences */
    size_t n_stop;
    char *reasoning_effort;      /* "low", "medium", "high", ...; NULL = provider default */
    json_t *metadata;            /* object of string values, or NULL */
    json_t *provider_options;    /* {"anthropic": {...}, "openai": {...}}, or NULL */
} lo_llm_request;

lo_llm_request *lo_llm_request_new(const char *model);
void lo_llm_request_free(lo_llm_request *r);
/* Takes ownership of m, also on failure. */
int lo_llm_request_add_message(lo_llm_request *r, lo_llm_message *m);
/* parameters is stolen (NULL = an empty object schema). LO_EINVAL with a
 * message for an invalid name, a duplicate, or a schema whose root is not
 * an object of "type": "object". */
int lo_llm_request_add_tool(lo_llm_request *r, const char *name, const char *description,
                            json_t *parameters, lo_error *err);
/* tool_name is required for NAMED and must be NULL otherwise. */
int lo_llm_request_set_tool_choice(lo_llm_request *r, lo_llm_tool_choice_mode mode,
                                   const char *tool_name);
/* schema (stolen) is required for JSON_SCHEMA and ignored (released) otherwise. */
int lo_llm_request_set_response_format(lo_llm_request *r, lo_llm_format_type type,
                                       json_t *schema, bool strict);
int lo_llm_request_add_stop(lo_llm_request *r, const char *stop);
/* A deep copy (messages, tools, options); NULL when out of memory. */
lo_llm_request *lo_llm_request_clone(const lo_llm_request *r);

/* ---- finish reason (§3.8) ---- */

typedef enum lo_llm_finish {
    LO_FINISH_STOP,
    LO_FINISH_LENGTH,
    LO_FINISH_TOOL_CALLS,
    LO_FINISH_CONTENT_FILTER,
    LO_FINISH_ERROR,
    LO_FINISH_OTHER,
} lo_llm_finish;

typedef struct lo_llm_finish_reason {
    lo_llm_finish reason;
    char *raw; /* the provider's own string, or NULL */
} lo_llm_finish_reason;

const char *lo_llm_finish_name(lo_llm_finish f); /* "stop", ... */
/* Map a provider's native value per the §3.8 table ("end_turn" -> STOP,
 * "MAX_TOKENS" -> LENGTH, ...). provider may be NULL (any). Unknown -> OTHER.
 * Gemini has no tool-call reason: its adapter infers TOOL_CALLS itself. */
lo_llm_finish lo_llm_finish_from_provider(const char *provider, const char *raw);

/* ---- usage (§3.9) ----
 *
 * Token convention, which every adapter must normalise to:
 *  - input_tokens is UNCACHED input: prompt tokens neither read from nor
 *    written to the prompt cache. Anthropic reports it that way; OpenAI and
 *    Gemini report prompt tokens including cached ones, so their adapters
 *    subtract cache_read_tokens (and cache_write_tokens where reported).
 *  - output_tokens includes reasoning tokens (they are billed as output).
 *    Gemini reports thoughtsTokenCount apart from candidatesTokenCount, so
 *    its adapter adds the two. reasoning_tokens is the part of output_tokens
 *    spent thinking, for information.
 *  - total_tokens = input + cache_read + cache_write + output, as reported
 *    or computed by the adapter.
 * The prompt a request sent is therefore input + cache_read + cache_write,
 * which is what long-context price tiers are measured against. */

#define LO_TOKENS_UNREPORTED ((int64_t)-1)

typedef struct lo_llm_usage {
    int64_t input_tokens;
    int64_t output_tokens;
    int64_t total_tokens;
    int64_t reasoning_tokens;
    int64_t cache_read_tokens;
    int64_t cache_write_tokens;
} lo_llm_usage;

/* Every field LO_TOKENS_UNREPORTED. */
void lo_llm_usage_init(lo_llm_usage *u);
/* sum += add, field by field: reported + reported = the sum; reported +
 * unreported = the reported one; unreported + unreported = unreported. */
void lo_llm_usage_add(lo_llm_usage *sum, const lo_llm_usage *add);

/* ---- warnings, rate limits (§3.11, §3.12) ---- */

typedef struct lo_llm_warning {
    char *message;
    char *code; /* NULL when none */
} lo_llm_warning;

typedef struct lo_llm_rate_limit {
    int64_t requests_remaining, requests_limit; /* -1 = not reported */
    int64_t tokens_remaining, tokens_limit;     /* -1 = not reported */
    int64_t reset_at_ms;                        /* Unix ms; -1 = not reported */
} lo_llm_rate_limit;

void lo_llm_rate_limit_init(lo_llm_rate_limit *rl); /* all -1 */

/* ---- response (§3.7) ---- */

typedef struct lo_llm_response {
    char *id, *model, *provider;
    lo_llm_message *message;     /* the assistant's message; never NULL */
    lo_llm_finish_reason finish;
    lo_llm_usage usage;          /* all unreported until the adapter fills it */
    json_t *raw;                 /* the provider's response, or NULL */
    lo_llm_warning *warnings;
    size_t n_warnings;
    bool has_rate_limit;
    lo_llm_rate_limit rate_limit;
} lo_llm_response;

lo_llm_response *lo_llm_response_new(void);
void lo_llm_response_free(lo_llm_response *r);
int lo_llm_response_add_warning(lo_llm_response *r, const char *message, const char *code);
/* Concatenated TEXT parts of the message ("" when none). */
char *lo_llm_response_text(const lo_llm_response *r);
/* Concatenated THINKING text, or NULL when the message has none (thinking
 * parts that only carry a signature do not count). */
char *lo_llm_response_reasoning(const lo_llm_response *r);
/* The TOOL_CALL parts in order: an array of *n pointers into the message
 * (free() the array only), or NULL with *n = 0 when there are none. */
const lo_llm_tool_call **lo_llm_response_tool_calls(const lo_llm_response *r, size_t *n);

/* ---- errors (§6.1-§6.5) ---- */

typedef enum lo_llm_error_kind {
    LO_LLM_ERR_AUTHENTICATION,      /* 401 */
    LO_LLM_ERR_ACCESS_DENIED,       /* 403 */
    LO_LLM_ERR_NOT_FOUND,           /* 404 */
    LO_LLM_ERR_INVALID_REQUEST,     /* 400, 422 */
    LO_LLM_ERR_RATE_LIMIT,          /* 429 */
    LO_LLM_ERR_SERVER,              /* 500-599 (Anthropic's 529 "overloaded" too) */
    LO_LLM_ERR_CONTENT_FILTER,
    LO_LLM_ERR_CONTEXT_LENGTH,      /* 413, or a 400 that says so */
    LO_LLM_ERR_QUOTA_EXCEEDED,      /* billing or usage quota */
    LO_LLM_ERR_REQUEST_TIMEOUT,     /* 408, or our own deadline */
    LO_LLM_ERR_ABORT,               /* cancelled by the caller */
    LO_LLM_ERR_NETWORK,
    LO_LLM_ERR_STREAM,
    LO_LLM_ERR_INVALID_TOOL_CALL,
    LO_LLM_ERR_NO_OBJECT_GENERATED,
    LO_LLM_ERR_CONFIGURATION,
    LO_LLM_ERR_UNSUPPORTED_TOOL_CHOICE,
    /* A provider error no rule classifies. §6.3: unknown errors default to
     * retryable, so it gets a kind of its own rather than a guess. */
    LO_LLM_ERR_PROVIDER,
} lo_llm_error_kind;

const char *lo_llm_error_kind_name(lo_llm_error_kind k); /* "rate_limit", ... */
/* The §6.3 table: rate_limit, server, network, stream and unclassified
 * provider errors are retryable; everything else is not. */
bool lo_llm_error_kind_retryable(lo_llm_error_kind k);
/* Classify an HTTP error (§6.4), refined by the error message where the
 * status alone is ambiguous (§6.5): 400, 403, 422, 429 and statuses the
 * table does not cover. body_message may be NULL. */
lo_llm_error_kind lo_llm_error_from_status(int status, const char *body_message);
/* Classify a gRPC status name ("NOT_FOUND", "RESOURCE_EXHAUSTED", ...), as
 * Gemini reports them; unknown names go through the message rules. */
lo_llm_error_kind lo_llm_error_from_grpc(const char *grpc_status, const char *body_message);

typedef struct lo_llm_error {
    lo_llm_error_kind kind;
    bool retryable;
    int status;             /* HTTP status; 0 when there was none */
    double retry_after;     /* seconds from Retry-After; < 0 = not given */
    char provider[32];      /* "" when not from a provider */
    char code[64];          /* the provider's error code, or "" */
    char message[1024];
} lo_llm_error;

/* Fill e: kind, retryable from the kind, status 0, retry_after -1. */
void lo_llm_error_set(lo_llm_error *e, lo_llm_error_kind kind, const char *provider,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Fill e from an HTTP error response: kind from lo_llm_error_from_status. */
void lo_llm_error_from_http(lo_llm_error *e, const char *provider, int status,
                            const char *code, const char *message);

/* ---- streaming (§3.13, §3.14) ---- */

typedef enum lo_llm_stream_event_type {
    LO_STREAM_START,
    LO_STREAM_TEXT_START,
    LO_STREAM_TEXT_DELTA,
    LO_STREAM_TEXT_END,
    LO_STREAM_REASONING_START,
    LO_STREAM_REASONING_DELTA,
    LO_STREAM_REASONING_END,
    LO_STREAM_TOOL_CALL_START,
    LO_STREAM_TOOL_CALL_DELTA,
    LO_STREAM_TOOL_CALL_END,
    LO_STREAM_FINISH,
    LO_STREAM_ERROR,
    LO_STREAM_PROVIDER_EVENT,
    /* lo_llm_generate_stream only: a step whose tool calls were executed
     * ended; the next step streams next (finish, usage, response set). */
    LO_STREAM_STEP_FINISH,
} lo_llm_stream_event_type;

const char *lo_llm_stream_event_name(lo_llm_stream_event_type t); /* "text_delta", ... */

typedef struct lo_llm_stream_event {
    lo_llm_stream_event_type type;
    char *delta;             /* TEXT_DELTA, TOOL_CALL_DELTA (partial arguments) */
    char *text_id;           /* TEXT_*: which segment */
    char *reasoning_delta;   /* REASONING_DELTA */
    lo_llm_tool_call *tool_call; /* TOOL_CALL_*: partial or complete */
    bool has_finish;
    lo_llm_finish_reason finish_reason; /* FINISH */
    bool has_usage;
    lo_llm_usage usage;      /* FINISH */
    lo_llm_response *response; /* FINISH: the accumulated response */
    lo_llm_error *error;     /* ERROR */
    json_t *raw;             /* the provider's event, for passthrough */
} lo_llm_stream_event;

lo_llm_stream_event *lo_llm_stream_event_new(lo_llm_stream_event_type type);
void lo_llm_stream_event_free(lo_llm_stream_event *e);

/* ---- model catalog (§2.9) and cost ----
 *
 * The catalog is data/models.json (docs/models.md describes the format).
 * Prices are USD per million tokens; a price below zero means the file says
 * null: not known, never guessed. */

typedef struct lo_llm_prices {
    double input, output, cache_read, cache_write; /* < 0 = unknown */
} lo_llm_prices;

/* The prices in force from one date on. A long-context tier replaces the
 * base prices for a whole request whose prompt (input + cache_read +
 * cache_write) exceeds long_above tokens. */
typedef struct lo_llm_price_period {
    char from[11];           /* "YYYY-MM-DD" (UTC); "" for the file's base prices */
    lo_llm_prices base;
    int64_t long_above;      /* 0 = no long-context tier */
    lo_llm_prices long_ctx;
} lo_llm_price_period;

typedef struct lo_llm_model {
    const char *id, *provider, *display_name;
    const char *status;      /* "active", "legacy", "deprecated", "preview", ... or NULL */
    const char *released;    /* "YYYY-MM-DD" or NULL */
    const char *notes;       /* or NULL */
    const char *const *aliases;
    size_t n_aliases;
    int64_t context_window;  /* tokens, input + output */
    int64_t max_output;      /* -1 = not known */
    bool supports_tools, supports_vision, supports_reasoning;
    const lo_llm_price_period *prices; /* n_prices >= 1; [0] is the base, the rest by date */
    size_t n_prices;
    const json_t *json;      /* the entry as written in the file (borrowed) */
} lo_llm_model;

typedef struct lo_llm_catalog lo_llm_catalog;

/* Where the catalog is read from, first that applies:
 *   1. $LIGHTSOUT_MODELS when set and non-empty (a missing file is an error:
 *      an explicit choice never falls through to another file);
 *   2. <directory of /proc/self/exe>/../data/models.json (bin/lightsout in a
 *      source tree or an install prefix);
 *   3. data/models.json under the current directory.
 * Writes the path into buf; LO_ENOENT with a message naming what was tried. */
int lo_llm_catalog_find(char *buf, size_t n, lo_error *err);
/* Load and validate; path NULL = lo_llm_catalog_find. Every error message
 * names the file and, for an entry, its index and id. */
int lo_llm_catalog_load(const char *path, lo_llm_catalog **out, lo_error *err);
/* The same from text already in memory; name is used in messages. */
int lo_llm_catalog_parse(const char *text, size_t len, const char *name,
                         lo_llm_catalog **out, lo_error *err);
void lo_llm_catalog_free(lo_llm_catalog *c);

const char *lo_llm_catalog_path(const lo_llm_catalog *c);    /* as loaded */
const char *lo_llm_catalog_updated(const lo_llm_catalog *c); /* "updated", or NULL */
size_t lo_llm_catalog_count(const lo_llm_catalog *c);
const lo_llm_model *lo_llm_catalog_at(const lo_llm_catalog *c, size_t i); /* file order */

/* By id or alias (exact, case-sensitive as model ids are); NULL when unknown. */
const lo_llm_model *lo_llm_model_find(const lo_llm_catalog *c, const char *id_or_alias);
/* The models of one provider (NULL = all) in file order: an array of *n
 * pointers (free() it), or NULL with *n = 0 when none match. */
const lo_llm_model **lo_llm_model_list(const lo_llm_catalog *c, const char *provider,
                                       size_t *n);
/* The first model of provider in file order (the file lists each provider's
 * models best-and-newest first) that has capability: NULL (any), "tools",
 * "vision" or "reasoning". NULL when none, or for an unknown capability. */
const lo_llm_model *lo_llm_model_latest(const lo_llm_catalog *c, const char *provider,
                                        const char *capability);

/* The price period in force at when (UTC calendar date). */
const lo_llm_price_period *lo_llm_model_prices_at(const lo_llm_model *m, time_t when);

/* Cost in USD of one request's usage at today's prices:
 *   (input*in + output*out + cache_read*cr + cache_write*cw) / 1e6
 * with the long-context tier when the prompt exceeds it. 0 with *usd set, or
 * LO_ENOENT ("unknown cost", *usd untouched) when m is NULL, when input or
 * output tokens are unreported, or when a token class with a non-zero count
 * has a null price. Unreported cache counts count as zero.
 * Price each request on its own: summed usage cannot tell which requests
 * crossed a long-context threshold. */
int lo_llm_cost(const lo_llm_model *m, const lo_llm_usage *u, double *usd);
/* The same at the prices in force at when. */
int lo_llm_cost_at(const lo_llm_model *m, const lo_llm_usage *u, time_t when, double *usd);

/* ======================================================================
 * Client and provider adapters (§2.4, §4.1, §4.2, §6.6, §7)
 * src/llm/client.c (client core), src/llm/anthropic.c (Messages API)
 *
 * A client holds one configuration per provider (API key, base URL, extra
 * headers, timeouts), a retry policy, an optional model catalog and an
 * optional cancel flag. It picks the provider of a request, calls that
 * provider's adapter and retries retryable failures. A client is immutable
 * once requests run: lo_llm_complete and lo_llm_stream may be called from
 * many threads at once on one client.
 *
 * API keys never appear in error messages, logs or stream events: adapters
 * send them only as headers, and the client scrubs the key from any message
 * a provider sends back.
 * ====================================================================== */

#include <stdatomic.h>

/* A stream event handler. The event and everything it points to are valid
 * during the call only. Return non-zero to stop the stream: the call then
 * fails with LO_LLM_ERR_ABORT. */
typedef int (*lo_llm_event_fn)(const lo_llm_stream_event *ev, void *ud);

/* What an adapter gets for one call: the resolved provider configuration.
 * Every pointer is borrowed for the duration of the call. */
typedef struct lo_llm_call {
    const char *provider;         /* the adapter's name */
    const char *api_key;          /* never NULL; "" only for a keyless openai_chat server */
    const char *base_url;         /* without a trailing slash */
    const char *const *headers;   /* extra "Name: value", NULL-terminated; may be NULL */
    long timeout_ms;              /* whole request, streams included; 0 = none */
    long connect_timeout_ms;      /* 0 = libcurl's default */
    const atomic_bool *cancel;    /* may be NULL */
} lo_llm_call;

/* A provider adapter: a const table, one per provider API. Both calls return
 * 0 with *out set (the caller frees it) or a negative lo_err with err filled
 * and *out NULL. stream delivers events to on_event as they arrive; a
 * failure after the first event also reaches on_event as one ERROR event.
 * Adapters never retry: the client does. */
typedef struct lo_llm_adapter {
    const char *name;             /* "anthropic" */
    const char *api_key_env;      /* "ANTHROPIC_API_KEY" */
    const char *base_url_env;     /* "ANTHROPIC_BASE_URL" */
    const char *default_base_url; /* "https://api.anthropic.com" */
    int (*complete)(const lo_llm_call *call, const lo_llm_request *req,
                    lo_llm_response **out, lo_llm_error *err);
    int (*stream)(const lo_llm_call *call, const lo_llm_request *req,
                  lo_llm_event_fn on_event, void *ud,
                  lo_llm_response **out, lo_llm_error *err);
} lo_llm_adapter;

/* The Anthropic Messages API (POST {base}/v1/messages). docs/llm.md lists
 * its translation choices: max_tokens default, reasoning_effort mapping,
 * automatic cache_control breakpoints, provider_options keys. */
extern const lo_llm_adapter lo_llm_anthropic_adapter;
/* The OpenAI Responses API (POST {base}/responses) and the Chat Completions
 * API of OpenAI-compatible servers (POST {base}/chat/completions, provider
 * "openai_chat"); docs/llm.md lists their translation choices. */
extern const lo_llm_adapter lo_llm_openai_adapter, lo_llm_openai_chat_adapter;
extern const lo_llm_adapter lo_llm_gemini_adapter;

#define LO_LLM_ANTHROPIC_VERSION "2023-06-01"
#define LO_LLM_ANTHROPIC_DEFAULT_MAX_TOKENS 4096

/* The adapter of a provider name; NULL when this build has none. */
const lo_llm_adapter *lo_llm_adapter_find(const char *name);
/* The adapters of this build, in a fixed order; *n is their count. */
const lo_llm_adapter *const *lo_llm_adapters(size_t *n);

/* ---- client ---- */

typedef struct lo_llm_client lo_llm_client;

typedef struct lo_llm_provider_config {
    const char *provider;         /* an adapter name; required */
    const char *api_key;          /* NULL = the adapter's environment variable */
    const char *base_url;         /* NULL = its _BASE_URL variable, else the default */
    const char *const *headers;   /* extra "Name: value", NULL-terminated; copied */
    long timeout_ms;              /* 0 = LO_LLM_DEFAULT_TIMEOUT_MS; < 0 = none */
    long connect_timeout_ms;      /* 0 = LO_LLM_DEFAULT_CONNECT_TIMEOUT_MS */
} lo_llm_provider_config;

#define LO_LLM_DEFAULT_TIMEOUT_MS 600000L        /* 10 minutes, as the SDKs */
#define LO_LLM_DEFAULT_CONNECT_TIMEOUT_MS 10000L

/* §6.6. The client applies it to every complete and stream call (set
 * max_retries to 0 to turn retries off). Only retryable errors are retried;
 * a Retry-After within max_delay replaces the computed delay and one beyond
 * it fails at once; a stream is retried only until its first event reached
 * the caller. */
typedef struct lo_llm_retry_policy {
    int max_retries;              /* 2: attempts after the first */
    double base_delay;            /* 1.0 s */
    double max_delay;             /* 60.0 s */
    double backoff_multiplier;    /* 2.0 */
    bool jitter;                  /* true: delay * uniform(0.5, 1.5) */
    /* Called before each retry sleep; may be NULL. */
    void (*on_retry)(const lo_llm_error *e, int attempt, double delay_s, void *ud);
    void *on_retry_ud;
} lo_llm_retry_policy;

void lo_llm_retry_policy_init(lo_llm_retry_policy *p); /* the defaults above */

/* An empty client: no providers, default retry policy, no catalog. */
lo_llm_client *lo_llm_client_new(void);
/* A client with every provider whose API key variable is set and non-empty
 * (ANTHROPIC_API_KEY, with ANTHROPIC_BASE_URL or the default base URL), and
 * the model catalog when one can be found (lo_llm_catalog_find; none is not
 * an error). No key set is not an error either: a call then fails with a
 * configuration error naming the variable to set. */
int lo_llm_client_from_env(lo_llm_client **out, lo_llm_error *err);
void lo_llm_client_free(lo_llm_client *c);

/* Configure (or reconfigure) one provider. LO_EINVAL with a configuration
 * error for an unknown provider or a missing key (naming the variable). */
int lo_llm_client_add_provider(lo_llm_client *c, const lo_llm_provider_config *cfg,
                               lo_llm_error *err);
/* True when provider is configured. */
bool lo_llm_client_has_provider(const lo_llm_client *c, const char *provider);
void lo_llm_client_set_retry(lo_llm_client *c, const lo_llm_retry_policy *p);
/* Borrowed; replaces (and frees) a catalog from_env loaded. NULL = none. */
void lo_llm_client_set_catalog(lo_llm_client *c, const lo_llm_catalog *cat);
/* Borrowed flag: when it becomes true, calls in flight stop (retry sleeps
 * included) and fail with LO_LLM_ERR_ABORT. NULL = none. */
void lo_llm_client_set_cancel(lo_llm_client *c, const atomic_bool *flag);

/* Which provider serves req: req->provider when set; else the catalog's
 * provider for req->model; else the only configured provider. Returns the
 * adapter name, or NULL with a configuration error. */
const char *lo_llm_client_resolve(const lo_llm_client *c, const lo_llm_request *req,
                                  lo_llm_error *err);

/* One request, the whole response (§4.1). 0 with *out set (free it with
 * lo_llm_response_free), or a negative lo_err with *out NULL and err (may
 * be NULL) filled: LO_EINVAL for configuration errors, LO_ECANCELED for
 * aborts, LO_EIO for everything a provider or the network did. */
int lo_llm_complete(lo_llm_client *c, const lo_llm_request *req,
                    lo_llm_response **out, lo_llm_error *err);
/* One streamed request (§4.2): events go to on_event as they arrive, the
 * last one FINISH (with the accumulated response) or ERROR; *out (may be
 * NULL) receives the accumulated response. Returns as lo_llm_complete. */
int lo_llm_stream(lo_llm_client *c, const lo_llm_request *req,
                  lo_llm_event_fn on_event, void *ud,
                  lo_llm_response **out, lo_llm_error *err);

/* ---- middleware (§2.3) ----
 *
 * A middleware wraps every call a client makes: it sees the request first
 * and the response last, and may replace either (build a new request with
 * lo_llm_request_clone and pass that on; change or replace *out after the
 * rest of the chain returns), or answer without calling on at all (a
 * cache). Requests pass the middleware in registration order and responses
 * come back in the reverse order. For streams a middleware gets the
 * downstream event handler and may pass its own in its place, to watch or
 * change events. The chain sits outside the client's retries: one call of
 * the chain per logical request, whatever the attempts. */

typedef struct lo_llm_next lo_llm_next; /* the rest of the chain (opaque) */

/* Call the rest of the chain (the next middleware, at the end the provider
 * with retries). Same contract as lo_llm_complete / lo_llm_stream; err is
 * never NULL inside a middleware. */
int lo_llm_next_complete(lo_llm_next *next, const lo_llm_request *req, lo_llm_response **out,
                         lo_llm_error *err);
int lo_llm_next_stream(lo_llm_next *next, const lo_llm_request *req, lo_llm_event_fn on_event,
                       void *event_ud, lo_llm_response **out, lo_llm_error *err);

typedef struct lo_llm_middleware {
    const char *name; /* shown in errors; may be NULL */
    /* Either may be NULL: that kind of call passes straight on. Both must
     * be thread-safe when the client is used from several threads. */
    int (*complete)(void *ud, const lo_llm_request *req, lo_llm_next *next,
                    lo_llm_response **out, lo_llm_error *err);
    int (*stream)(void *ud, const lo_llm_request *req, lo_llm_event_fn on_event, void *event_ud,
                  lo_llm_next *next, lo_llm_response **out, lo_llm_error *err);
    void *ud;
} lo_llm_middleware;

/* Append mw (copied) to the client's chain. Before any request runs: the
 * client is not locked. 0 or LO_ENOMEM / LO_EINVAL. */
int lo_llm_client_use(lo_llm_client *c, const lo_llm_middleware *mw);

/* ---- the default client (§2.5) ---- */

/* The client lo_llm_generate and friends use when given none: the one set
 * with lo_llm_set_default_client, else one made once from the environment
 * (lo_llm_client_from_env) and kept for the life of the process. NULL with
 * err filled when that fails. Thread-safe. */
lo_llm_client *lo_llm_default_client(lo_llm_error *err);
/* Borrowed: c must outlive its use as the default. NULL: back to the one
 * from the environment. */
void lo_llm_set_default_client(lo_llm_client *c);

/* ======================================================================
 * High-level generation (§4.3-§4.5, §5.5-§5.8): src/llm/generate.c,
 * tools.c, object.c
 *
 * lo_llm_generate runs a request and, when the model calls tools that have
 * handlers, executes them (several at once on threads), sends the results
 * back and asks again, until the model answers without tool calls, the
 * tool rounds are used up, or a stop condition holds. Each model call is a
 * step, retried on its own by the client's policy.
 * ====================================================================== */

/* What a tool handler is told about its call. Everything is borrowed for
 * the duration of the call. */
typedef struct lo_llm_tool_ctx {
    const char *tool_call_id;
    const char *tool_name;
    const lo_llm_request *conversation; /* the request the call came from */
    const atomic_bool *cancel;          /* set when the caller cancels; may be NULL */
} lo_llm_tool_ctx;

/* An active tool (§5.2). args are the call's arguments, already checked
 * against the tool's parameter schema (borrowed). Return 0 with *result
 * set to the output (stolen: a string, object, array or any JSON value),
 * or non-zero for a failure, with *result optionally set to what the model
 * is told (else "tool NAME failed"); a failure goes to the model as an
 * error result, it does not stop the call. When a response makes several
 * calls they run at once on threads of their own: handlers must be
 * thread-safe. */
typedef int (*lo_llm_tool_fn)(void *ud, const json_t *args, const lo_llm_tool_ctx *ctx,
                              json_t **result);

/* The handler of a tool the request defines (lo_llm_request_add_tool).
 * Tools without a handler are passive (§5.5). */
typedef struct lo_llm_tool_handler {
    const char *name;
    lo_llm_tool_fn execute;
    void *ud;
} lo_llm_tool_handler;

/* One model call of a generate (§4.3 StepResult). */
typedef struct lo_llm_step {
    lo_llm_response *response;            /* owned by the result */
    char *text;                           /* the response's text; "" when none */
    char *reasoning;                      /* its reasoning; NULL when none */
    const lo_llm_tool_call **tool_calls;  /* into response->message, in order */
    size_t n_tool_calls;
    lo_llm_tool_result *tool_results;     /* of the executed calls, in call order */
    size_t n_tool_results;
} lo_llm_step;

/* A custom stop condition (§4.3 stop_when), asked after each step that
 * executed tools: true ends the loop there. */
typedef bool (*lo_llm_stop_fn)(void *ud, const lo_llm_step *steps, size_t n_steps);

typedef struct lo_llm_generate_opts {
    /* A user message appended to the request, and a system message put
     * first. A prompt with a request that already holds a conversation
     * (any message but system and developer ones) is an error: one or the
     * other. */
    const char *prompt;
    const char *system;
    const lo_llm_tool_handler *handlers;
    size_t n_handlers;
    /* How many times tool results are sent back: at most max_tool_rounds
     * + 1 model calls. 0: tool calls are returned, never executed. */
    int max_tool_rounds;
    lo_llm_stop_fn stop_when;
    void *stop_ud;
    int max_retries;          /* per step; < 0: the client's retry policy */
    long timeout_ms;          /* the whole generate, every step; 0 = none */
    long step_timeout_ms;     /* each model call; 0 = the provider's timeout */
    const atomic_bool *cancel; /* NULL = the client's flag */
    bool no_validation;       /* true: tool arguments go to handlers unchecked */
    /* generate_object on Anthropic: "tool" (a forced tool call, the default)
     * or "prompt" (the schema in the system prompt); other providers use
     * their native JSON-schema output unless this is "prompt". */
    const char *object_strategy;
} lo_llm_generate_opts;

/* The defaults: max_tool_rounds 1, max_retries -1, everything else 0/NULL. */
void lo_llm_generate_opts_init(lo_llm_generate_opts *o);

/* What a generate returns (§4.3 GenerateResult). The first fields are the
 * final step's, as pointers into steps[n_steps - 1]. */
typedef struct lo_llm_result {
    const char *text;
    const char *reasoning;                   /* NULL when none */
    const lo_llm_response *response;
    lo_llm_finish finish;
    lo_llm_usage usage;                      /* of the final step */
    lo_llm_usage total_usage;                /* of every step */
    const lo_llm_tool_call *const *tool_calls;
    size_t n_tool_calls;
    const lo_llm_tool_result *tool_results;
    size_t n_tool_results;
    lo_llm_step *steps;
    size_t n_steps;
    /* The last request sent. Appending the final response's message and
     * the results of its (passive) tool calls continues the conversation. */
    lo_llm_request *conversation;
    json_t *output;                          /* generate_object: the object; else NULL */
} lo_llm_result;

void lo_llm_result_free(lo_llm_result *r);

/* Generate (§4.3). c NULL = the default client; req is borrowed (copied);
 * opts NULL = the defaults. 0 with *out set (free it), or a negative
 * lo_err with *out NULL and err filled: LO_EINVAL for configuration and
 * invalid requests (prompt with messages, a handler for an undefined tool,
 * a tool schema the validator cannot read), LO_ECANCELED for aborts,
 * LO_EIO for the provider and the network (the failing step's error;
 * earlier steps are discarded). A step's own calls: unknown tools and
 * arguments that fail validation are answered with error results
 * (is_error), which the model sees. */
int lo_llm_generate(lo_llm_client *c, const lo_llm_request *req, const lo_llm_generate_opts *opts,
                    lo_llm_result **out, lo_llm_error *err);

/* The same, streamed (§4.4): every step's events reach on_event as they
 * arrive. A step whose tool calls are executed ends with STEP_FINISH
 * instead of FINISH; the last event is one FINISH (the final step's) or
 * one ERROR. */
int lo_llm_generate_stream(lo_llm_client *c, const lo_llm_request *req,
                           const lo_llm_generate_opts *opts, lo_llm_event_fn on_event, void *ud,
                           lo_llm_result **out, lo_llm_error *err);

/* Structured output (§4.5): the model's answer, parsed and validated
 * against schema (borrowed), in (*out)->output. Per provider: OpenAI and
 * compatible servers get a json_schema response format (strict when the
 * schema allows strict mode), Gemini responseMimeType + responseSchema,
 * Anthropic a forced tool call whose input schema is the schema (a schema
 * whose root is not an object is wrapped in one). A reply that is not JSON
 * or does not satisfy the schema fails with LO_LLM_ERR_NO_OBJECT_GENERATED
 * (LO_EIO), the message saying why. */
int lo_llm_generate_object(lo_llm_client *c, const lo_llm_request *req, const json_t *schema,
                           const lo_llm_generate_opts *opts, lo_llm_result **out,
                           lo_llm_error *err);

#endif
