/* Helpers shared by the LLM adapters (anthropic.c, openai.c, openai_chat.c,
 * gemini.c). Private to src/llm: not part of the public API. Each adapter
 * passes its provider name where an error is filled in. */
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
