/* Helpers shared by the LLM adapters (anthropic*.c, openai*.c, gemini*.c).
 * Private to src/llm: not part of the public API. Each adapter passes its
 * provider name where an error is filled in.
 *
 * An adapter is two files: X.c translates requests and responses and holds
 * the adapter table, X_stream.c translates the provider's stream events.
 * adapter_call.c runs the HTTP exchange for both, driven by the adapter's
 * lo_llm_wire_ table; the last sections below are what each pair shares. */
#ifndef LO_LLM_ADAPTER_INTERNAL_H
#define LO_LLM_ADAPTER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lightsout/http.h"
#include "lightsout/llm.h"
#include "lightsout/net.h"

/* ---- errors ---- */

/* Fill err (kind, provider, formatted message); returns LO_ECANCELED for an
 * abort, LO_EINVAL for a configuration error, else LO_EIO. */
int lo_llm_fail_(lo_llm_error *err, const char *provider, lo_llm_error_kind kind,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A provider error "out of memory"; returns LO_ENOMEM. */
int lo_llm_oom_(lo_llm_error *err, const char *provider);
/* lo_http_do failed before any response: cancel, timeout or network. */
int lo_llm_transport_error_(int rc, const lo_error *he, lo_llm_error *err, const char *provider);
/* After the first stream event, a failure reaches the handler as an
 * LO_STREAM_ERROR event carrying a copy of err. */
void lo_llm_stream_error_event_(lo_llm_event_fn fn, void *ud, const lo_llm_error *err);

/* ---- stream events ---- */

/* A new event of type t with a copy of raw (when given); NULL on OOM. */
lo_llm_stream_event *lo_llm_event_new_(lo_llm_stream_event_type t, const json_t *raw);
/* The same with a copy of s (when given) in the char * field at offset
 * field (offsetof(lo_llm_stream_event, delta), ...); NULL on OOM. */
lo_llm_stream_event *lo_llm_event_str_(lo_llm_stream_event_type t, const json_t *raw,
                                       size_t field, const char *s);
/* A tool call from a stream's accumulated id, name and argument text (the
 * arguments, "{}" when empty, only with complete_args); NULL on OOM. */
lo_llm_tool_call *lo_llm_tool_call_new_(const char *id, const char *name, const lo_buf *args,
                                        bool complete_args);

/* ---- JSON ---- */

/* json_object_set_new that reports failure. It steals v either way, also
 * when o is NULL, so a value built first never leaks. */
bool lo_llm_put_(json_t *o, const char *k, json_t *v);
bool lo_llm_push_(json_t *a, json_t *v);
/* Push b onto a when ok, else release it; returns whether b landed. */
bool lo_llm_push_if_(json_t *a, json_t *b, bool ok);
const char *lo_llm_jstr_(const json_t *o, const char *k);
/* A token count field: the value when it is a non-negative integer, else
 * LO_TOKENS_UNREPORTED. */
int64_t lo_llm_count_(const json_t *o, const char *k);

/* A stream's array index in data[key]: true with *i when it is an integer
 * in [0, max] (more blocks than any response has is a bug or an attack). */
bool lo_llm_index_(const json_t *data, const char *key, size_t max, size_t *i);
/* Grow arr (*n elements of elem bytes) so that index i exists: the new
 * elements zeroed, *n updated. The array (maybe moved), or NULL when out
 * of memory (arr and *n untouched). */
void *lo_llm_grow_(void *arr, size_t *n, size_t elem, size_t i);

/* ---- response building ---- */

/* Append a part of kind OTHER holding a copy of raw (the data model has no
 * public constructor for it); name NULL = "unknown". 0 or LO_ENOMEM. */
int lo_llm_message_add_other_(lo_llm_message *m, const char *name, const json_t *raw);
/* r's id and model from obj's "id" and "model" (either may be absent),
 * provider from provider. 0 or LO_ENOMEM. */
int lo_llm_set_ids_(lo_llm_response *r, const json_t *obj, const char *provider);
/* r's finish reason from the provider's raw value (NULL: none reported),
 * mapped by lo_llm_finish_from_provider. 0 or LO_ENOMEM. */
int lo_llm_set_finish_(lo_llm_response *r, const char *provider, const char *raw);
/* Copy the request-id header into raw as "_request_id", where the
 * official SDKs expose it. */
void lo_llm_keep_request_id_(json_t *raw, const json_t *hdrs, const char *header);
/* The start of a body that is not the API's JSON (a proxy's HTML page),
 * with control characters blanked, into text; "no error body" when empty. */
const char *lo_llm_quote_body_(const lo_http_result *res, char *text, size_t n);

/* ---- media ---- */

char *lo_llm_base64_encode_(const unsigned char *in, size_t n);
/* MIME type from a file name (images, PDF, text), for media given by path
 * without one. */
const char *lo_llm_guess_type_(const char *path, lo_llm_content_kind kind);
/* The URL to send for m: its own URL, or a data: URL built from inline data
 * or a local file. Caller frees; NULL with *rc set on failure. */
char *lo_llm_media_url_(const lo_llm_media *m, lo_llm_content_kind kind, lo_llm_error *err,
                        int *rc, const char *provider);

/* ---- HTTP ---- */

/* True when extra (the caller's headers) sets header name itself. */
bool lo_llm_caller_sets_(const char *const *extra, const char *name);

typedef struct lo_llm_headers_ {
    char *v[24];
    size_t n;
} lo_llm_headers_;

/* Add "name: value" unless the caller's extras set name; false on OOM. */
bool lo_llm_header_add_(lo_llm_headers_ *h, const char *const *extra, const char *name,
                        const char *value);
/* Wipe (one holds the API key) and free the headers. */
void lo_llm_headers_release_(lo_llm_headers_ *h);

/* POST text to url with headers ours[0..n_ours) followed by the caller's
 * extras; returns lo_http_do's code, the outcome in *res. */
int lo_llm_http_post_(const lo_llm_call *call, const char *url, const char *const *ours,
                      size_t n_ours, const char *text, int (*on_data)(const char *, size_t, void *),
                      void *ud, lo_http_result *res, lo_error *he);

/* Seconds from a Retry-After value: a number of seconds or an HTTP date;
 * -1 when absent or unreadable. */
double lo_llm_parse_retry_after_(const char *v);
/* An integer header's value, or -1. */
int64_t lo_llm_header_int_(const json_t *hdrs, const char *name);

/* ---- the HTTP exchange (adapter_call.c) ---- */

/* One request ready to go: body, URL and headers. */
typedef struct lo_llm_prepared_ {
    char *body;          /* JSON text */
    char url[2048];
    lo_llm_headers_ h;   /* ours; the caller's extras are added when sent */
    bool dropped_stop;   /* openai: stop sequences were left out (a warning) */
} lo_llm_prepared_;

/* What differs between adapters in one exchange: a const table each. */
typedef struct lo_llm_wire_ {
    const char *provider;
    /* Translate req into p (p is zeroed; the runner releases it). */
    int (*prepare)(const lo_llm_call *call, const lo_llm_request *req, bool streaming,
                   lo_llm_prepared_ *p, lo_llm_error *err);
    /* A non-2xx response -> err; returns LO_EIO. */
    int (*http_error)(const lo_http_result *res, lo_llm_error *err);
    /* A whole 2xx body -> r (complete only). */
    int (*parse)(json_t *root, lo_llm_response *r, lo_llm_error *err);
    /* After success: what the response headers and p add to r (rate
     * limits, the request id in r->raw, warnings); may be NULL. */
    int (*annotate)(const lo_http_result *res, const lo_llm_prepared_ *p, lo_llm_response *r,
                    lo_llm_error *err);
    /* The event that ends a stream, for "the stream ended before ...". */
    const char *last_event;
} lo_llm_wire_;

/* The adapter's complete(): prepare, POST, classify, parse, annotate. */
int lo_llm_complete_run_(const lo_llm_wire_ *w, const lo_llm_call *call,
                         const lo_llm_request *req, lo_llm_response **out, lo_llm_error *err);

/* The part of a stream's state every adapter has. An adapter's own state
 * struct starts with one, so the SSE callback's ud is both. */
typedef struct lo_llm_stream_ {
    lo_llm_event_fn fn;
    void *ud;
    const char *provider;
    lo_llm_error *err;
    lo_sse *sse;
    lo_llm_response *resp; /* accumulated; lent to the FINISH event */
    bool delivered;        /* an event reached the caller */
    bool done;             /* the provider's last event arrived */
    bool failed;           /* err is filled: stop reading */
    int rc;
} lo_llm_stream_;

/* Mark the stream failed with rc (err already filled); returns 1, what an
 * SSE callback returns to stop. */
int lo_llm_sfail_(lo_llm_stream_ *s, int rc);
/* Out of memory: fill err and fail; returns 1. */
int lo_llm_soom_(lo_llm_stream_ *s);
/* A stream error (kind LO_LLM_ERR_STREAM) with a message; returns 1. */
int lo_llm_sbad_(lo_llm_stream_ *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Deliver ev (freed here; NULL means it could not be built: OOM). Non-zero
 * when the stream must stop (the handler asked: an abort). */
int lo_llm_emit_(lo_llm_stream_ *s, lo_llm_stream_event *ev);
/* The FINISH event from s->resp (finish reason, usage, the response lent),
 * with a copy of raw when given; sets done. */
int lo_llm_emit_finish_(lo_llm_stream_ *s, const json_t *raw);
/* The SSE event's data as a JSON object (the caller decrefs), or NULL
 * with the stream failed. */
json_t *lo_llm_stream_json_(lo_llm_stream_ *s, const lo_sse_event *sev);

/* For APIs whose events carry their type: the data of sev and *type (the
 * payload's own "type", else the SSE event name), or NULL once the stream
 * is done or failed (return s->failed then). */
json_t *lo_llm_stream_typed_(lo_llm_stream_ *s, const lo_sse_event *sev, const char **type);

/* The adapter's stream(): s has fn, ud, provider and err set; on_sse gets s
 * as its ud. at_end (may be NULL) runs when a 2xx body ended without a
 * failure; the default fails unless s->done. Returns as the adapter's
 * stream does; s->resp and s->sse are released here. */
int lo_llm_stream_run_(const lo_llm_wire_ *w, lo_llm_stream_ *s, lo_sse_fn on_sse,
                       int (*at_end)(lo_llm_stream_ *s), const lo_llm_call *call,
                       const lo_llm_request *req, lo_llm_response **out);

/* ---- Anthropic (anthropic.c, anthropic_stream.c) ---- */

extern const lo_llm_wire_ lo_llm_anthropic_wire_;
/* Merge the counts a usage object reports (a stream reports them in two
 * halves) and recompute the total. */
void lo_llm_anthropic_usage_merge_(lo_llm_usage *u, const json_t *uj);
/* The HTTP status an error type comes with, so an error event inside a
 * stream classifies like the same error over HTTP; 0 when unknown. */
int lo_llm_anthropic_status_of_type_(const char *type);
int lo_llm_anthropic_stream_(const lo_llm_call *call, const lo_llm_request *req,
                             lo_llm_event_fn fn, void *ud, lo_llm_response **out,
                             lo_llm_error *err);

/* ---- OpenAI Responses (openai.c, openai_stream.c) ---- */

extern const lo_llm_wire_ lo_llm_openai_wire_;
/* One output item -> parts of m. 0 or LO_ENOMEM. */
int lo_llm_openai_add_item_(lo_llm_message *m, const json_t *item);
/* A response object's status -> r's finish reason (tool_calls when the
 * message has calls). 0 or LO_ENOMEM. */
int lo_llm_openai_set_finish_(lo_llm_response *r, const json_t *response);
void lo_llm_openai_usage_from_(lo_llm_usage *u, const json_t *usage);
int lo_llm_openai_stream_(const lo_llm_call *call, const lo_llm_request *req, lo_llm_event_fn fn,
                          void *ud, lo_llm_response **out, lo_llm_error *err);

/* ---- Gemini (gemini.c, gemini_stream.c) ---- */

extern const lo_llm_wire_ lo_llm_gemini_wire_;
/* {"error": {code, message, status, details}} -> err, by the gRPC status. */
int lo_llm_gemini_http_error_(const lo_http_result *res, lo_llm_error *err);
/* One Gemini part -> parts of m; merge (streaming) appends text to the part
 * it continues; *n_calls numbers the synthetic call ids. */
int lo_llm_gemini_add_part_(lo_llm_message *m, const json_t *p, int *n_calls, bool merge);
void lo_llm_gemini_usage_from_(lo_llm_usage *u, const json_t *usage_metadata);
/* finishReason -> r's finish (tool_calls when the message has calls). */
int lo_llm_gemini_set_finish_(lo_llm_response *r, const char *raw);
/* The finish reason of a chunk or response (a blocked prompt: SAFETY). */
const char *lo_llm_gemini_finish_of_(const json_t *root);
/* responseId, modelVersion and the provider, the first time they come. */
int lo_llm_gemini_set_ids_(lo_llm_response *r, const json_t *root);
int lo_llm_gemini_stream_(const lo_llm_call *call, const lo_llm_request *req, lo_llm_event_fn fn,
                          void *ud, lo_llm_response **out, lo_llm_error *err);

/* ---- OpenAI-compatible Chat Completions (openai_chat.c, openai_chat_stream.c) ---- */

extern const lo_llm_wire_ lo_llm_chat_wire_;
void lo_llm_chat_usage_from_(lo_llm_usage *u, const json_t *usage);
int lo_llm_chat_set_finish_(lo_llm_response *r, const char *raw);
/* reasoning_content (vLLM, DeepSeek, llama.cpp) or reasoning (OpenRouter,
 * Ollama) of a message or delta; NULL when neither. */
const char *lo_llm_chat_reasoning_of_(const json_t *msg);
/* An "error" object in a 200 body or a chunk -> err; LO_EIO. */
int lo_llm_chat_body_error_(const json_t *e, lo_llm_error *err);
int lo_llm_chat_stream_(const lo_llm_call *call, const lo_llm_request *req, lo_llm_event_fn fn,
                        void *ud, lo_llm_response **out, lo_llm_error *err);

/* ---- OpenAI conventions (openai.c, openai_chat.c) ---- */

/* Authorization (when there is a key), Content-Type, Accept and, with
 * openai_ids, the OpenAI-Organization/-Project ids from the environment. */
bool lo_llm_openai_headers_(lo_llm_headers_ *h, const lo_llm_call *call, bool streaming,
                            bool openai_ids);
/* x-ratelimit-* headers -> r's rate_limit. */
void lo_llm_openai_rate_limit_(const json_t *hdrs, lo_llm_response *r);
/* Refine the status-based kind with OpenAI's error codes. */
void lo_llm_openai_refine_kind_(lo_llm_error *e, const char *code);
/* §7.6: an OpenAI-style HTTP error response -> the taxonomy; LO_EIO. */
int lo_llm_openai_http_error_(const lo_http_result *res, lo_llm_error *err, const char *provider);

#endif
