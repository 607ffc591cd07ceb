/*
 * lightsout net: the network layer (src/net/).
 *
 * Ownership of this header is by section: each section below belongs to the
 * component named in its heading, and the engineer changing that component
 * edits only its section. Add new components (HTTP client, HTTP server) as
 * new sections at the end; keep includes at the top shared.
 *
 *   - SSE parser ............ src/net/sse.c
 *
 * Library code never prints and never exits; failures are negative lo_err
 * codes from lightsout/base.h.
 */
#ifndef LIGHTSOUT_NET_H
#define LIGHTSOUT_NET_H

#include <stddef.h>

#include "lightsout/base.h"

/* ======================================================================
 * SSE parser (src/net/sse.c)
 *
 * An incremental parser for text/event-stream, following the WHATWG HTML
 * "Parsing an event stream" and "Interpreting an event stream" rules:
 *
 *   - one UTF-8 BOM is skipped at the very start of the stream (a BOM
 *     anywhere else is ordinary bytes);
 *   - lines end with CR, LF or CRLF, also when the CR and the LF arrive in
 *     different lo_sse_feed calls;
 *   - a line starting with ':' is a comment; "name: value" loses one space
 *     after the colon; a line without a colon is a field with an empty
 *     value; unknown fields are ignored;
 *   - "event" sets the type, "data" appends a line to the data (joined with
 *     LF), "id" sets the last event ID unless the value contains a NUL,
 *     "retry" sets the reconnection time when the value is ASCII digits only
 *     (an empty value is ignored; values past LONG_MAX saturate);
 *   - a blank line dispatches: nothing when the data is empty, else an event
 *     of type "message" unless an event field set another;
 *   - an event not ended by a blank line when the stream ends is discarded.
 *
 * Input may be split anywhere across lo_sse_feed calls (inside a CRLF, a
 * BOM or a multi-byte UTF-8 character): the events do not depend on how the
 * stream was chunked. Bytes pass through unchanged: invalid UTF-8 is not
 * replaced with U+FFFD (callers parse the data as JSON, which checks it).
 *
 * Limits: a line longer than max_event_bytes, or an event whose data (with
 * the LFs that join its lines) would exceed it, fails with LO_ETOOBIG. The
 * limit does not depend on chunking either.
 *
 * Not thread-safe: one parser per stream, used by one thread at a time.
 * ====================================================================== */

/* One dispatched event. Every pointer is valid during the callback only. */
typedef struct lo_sse_event {
    const char *type;  /* "message" unless an event field set another; never NULL */
    const char *data;  /* the data lines joined with LF, NUL-terminated; never NULL */
    size_t data_len;   /* bytes in data; == strlen(data) unless data holds a NUL */
    const char *id;    /* the last event ID at dispatch ("" when none); persists
                          across events until an id field changes it */
    long retry_ms;     /* retry field of this event, or -1 when it had none */
} lo_sse_event;

/* Called once per event. Non-zero stops lo_sse_feed at once: it returns that
 * value and the bytes of the chunk after this event are not parsed. */
typedef int (*lo_sse_fn)(const lo_sse_event *ev, void *ud);

typedef struct lo_sse lo_sse;

/* A parser calling fn(ev, ud) for each event (fn may be NULL: events are
 * parsed and dropped, the last event ID and retry still tracked).
 * max_event_bytes 0 means 16 MiB. NULL when out of memory. */
lo_sse *lo_sse_new(lo_sse_fn fn, void *ud, size_t max_event_bytes);
void lo_sse_free(lo_sse *p);

/* Parse the next len bytes of the stream. Returns 0, the callback's non-zero
 * value, or LO_ETOOBIG / LO_ENOMEM. After LO_ETOOBIG or LO_ENOMEM the stream
 * is broken: every later lo_sse_feed returns the same error until
 * lo_sse_finish. */
int lo_sse_feed(lo_sse *p, const char *buf, size_t len);

/* End of stream. Discards whatever was pending and returns 1 when something
 * was: the stream stopped inside a line, after field lines not yet
 * dispatched by a blank line, or after an error (a cut stream); 0 when it
 * ended cleanly between events. The parser is then ready for a new stream
 * (a reconnection): the BOM check starts over, and the last event ID and the
 * reconnection time are kept. */
int lo_sse_finish(lo_sse *p);

/* The last event ID as of the last blank line ("" when none; what a client
 * sends as Last-Event-ID when it reconnects). Valid until the next call on p. */
const char *lo_sse_last_id(const lo_sse *p);

/* The reconnection time last set by a retry field, or -1 when none was. */
long lo_sse_retry_ms(const lo_sse *p);

#endif
