/* libFuzzer target for the CLI agents' stream parsers (src/pipeline/
 * cli_stream.c).
 *
 * Input: byte 0 picks the agent (mod 4) and the chunk size bound, the rest
 * is the stream. It is parsed twice, fed in pseudo-random chunks and fed
 * whole: both must give the same events and the same summary (completed,
 * failed, text, error, usage, counts). Every event's data must be an
 * object; usage fields are -1 (unreported) or counts, and a reported total
 * is at least the input plus the output. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seen {
    uint64_t h;
    size_t n;
} seen;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static void on_event(lo_agent_event_kind kind, const json_t *d, void *ud)
{
    seen *s = ud;
    if (!json_is_object(d))
        __builtin_trap();
    char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    s->h = fnv(s->h, &kind, sizeof kind);
    if (text)
        s->h = fnv(s->h, text, strlen(text));
    free(text);
    s->n++;
}

static uint64_t summary_hash(const lo_cli_stream *st)
{
    lo_cli_summary m;
    lo_cli_stream_summary(st, &m);
    const int64_t *f = &m.usage.input_tokens;
    for (int i = 0; i < 6; i++)
        if (f[i] < -1)
            __builtin_trap();
    if (m.usage.total_tokens >= 0 && m.usage.input_tokens >= 0 && m.usage.output_tokens >= 0 &&
        m.usage.total_tokens < m.usage.input_tokens + m.usage.output_tokens)
        __builtin_trap();
    if (!m.text || m.lines < 0 || m.turns < 0 || m.tool_calls < 0 || (m.failed && !m.error))
        __builtin_trap();
    uint64_t h = 1469598103934665603ULL;
    h = fnv(h, &m.completed, sizeof m.completed);
    h = fnv(h, &m.failed, sizeof m.failed);
    h = fnv(h, m.text, strlen(m.text));
    if (m.error)
        h = fnv(h, m.error, strlen(m.error));
    h = fnv(h, &m.usage, sizeof m.usage);
    h = fnv(h, &m.lines, sizeof m.lines);
    h = fnv(h, &m.turns, sizeof m.turns);
    h = fnv(h, &m.tool_calls, sizeof m.tool_calls);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    lo_cli_agent agent = (lo_cli_agent)(data[0] % 4);
    size_t bound = 1 + data[0] / 4;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;

    seen a = {1469598103934665603ULL, 0}, b = a;
    lo_cli_stream *p = lo_cli_stream_new(agent, on_event, &a);
    if (!p)
        return 0;
    uint32_t x = 0x9e3779b9u ^ data[0];
    for (size_t at = 0; at < len;) {
        x = x * 1664525u + 1013904223u;
        size_t n = 1 + (x >> 16) % bound;
        if (n > len - at)
            n = len - at;
        if (lo_cli_stream_feed(p, in + at, n))
            __builtin_trap();
        at += n;
    }
    lo_cli_stream_finish(p);
    uint64_t sa = summary_hash(p);
    lo_cli_stream_free(p);

    p = lo_cli_stream_new(agent, on_event, &b);
    if (!p)
        return 0;
    if (lo_cli_stream_feed(p, in, len))
        __builtin_trap();
    lo_cli_stream_finish(p);
    uint64_t sb = summary_hash(p);
    lo_cli_stream_free(p);
    if (sa != sb || a.n != b.n || a.h != b.h)
        __builtin_trap();
    return 0;
}
