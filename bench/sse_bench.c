/*
 * SSE parser throughput (bench/sse.sh), linked against lib/liblightsout.a.
 *
 *   sse_bench small|large [MB] [RUNS]
 *
 * Builds an event stream of about MB megabytes (default 50) in memory:
 *   small  Anthropic-style content_block_delta events, ~40-byte text deltas
 *          (the shape of a real model stream: many short events);
 *   large  the same events with 4 KB text deltas (long data lines).
 * Then parses it RUNS times (default 5, after one unmeasured warm-up) with
 * lo_sse fed 64 KiB chunks, and as many times with a naive baseline: the
 * usual getline() + strncmp() loop over the same bytes (through fmemopen,
 * with a 64 KiB stdio buffer), accumulating data lines with realloc. Both
 * must see the same events and data bytes. Prints one line of key=value
 * pairs: sizes, event count and the median MB/s (10^6 bytes) of each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lightsout/net.h"

#define CHUNK 65536

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
    fprintf(stderr, "sse_bench: %s\n", msg);
    exit(1);
}

/* Deterministic text of n bytes: words from a small list, JSON-safe. */
static void fill_text(char *o, size_t n, unsigned *seed)
{
    static const char *const words[] = {
        "the ", "parser ", "reads ", "streams ", "of ", "events ", "quickly, ",
        "and ", "each ", "delta ", "carries ", "a ", "little ", "text. ",
    };
    size_t at = 0;
    while (at < n) {
        *seed = *seed * 1103515245u + 12345u;
        const char *w = words[(*seed >> 16) % (sizeof words / sizeof words[0])];
        size_t wl = strlen(w);
        if (wl > n - at)
            wl = n - at;
        memcpy(o + at, w, wl);
        at += wl;
    }
}

static char *gen(size_t target, size_t text_len, size_t *out_len, size_t *events)
{
    static const char pre[] =
        "event: content_block_delta\n"
        "data: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"";
    static const char post[] = "\"}}\n\n";
    size_t ev_len = sizeof pre - 1 + text_len + sizeof post - 1;
    size_t n = target / ev_len + 1;
    char *buf = malloc(n * ev_len);
    if (!buf)
        die("out of memory");
    unsigned seed = 42;
    char *o = buf;
    for (size_t i = 0; i < n; i++) {
        memcpy(o, pre, sizeof pre - 1);
        o += sizeof pre - 1;
        fill_text(o, text_len, &seed);
        o += text_len;
        memcpy(o, post, sizeof post - 1);
        o += sizeof post - 1;
    }
    *out_len = (size_t)(o - buf);
    *events = n;
    return buf;
}

/* ---- lo_sse ---- */

typedef struct tally {
    size_t events, bytes;
} tally;

static int count(const lo_sse_event *ev, void *ud)
{
    tally *t = ud;
    t->events++;
    t->bytes += ev->data_len;
    return 0;
}

static tally run_lo(const char *buf, size_t len)
{
    tally t = {0, 0};
    lo_sse *p = lo_sse_new(count, &t, 0);
    if (!p)
        die("lo_sse_new failed");
    for (size_t at = 0; at < len; at += CHUNK) {
        size_t n = len - at < CHUNK ? len - at : CHUNK;
        if (lo_sse_feed(p, buf + at, n) != 0)
            die("lo_sse_feed failed");
    }
    if (lo_sse_finish(p) != 0)
        die("stream cut");
    lo_sse_free(p);
    return t;
}

/* ---- naive baseline: what a quick hand-written client does ---- */

static tally run_naive(const char *buf, size_t len)
{
    tally t = {0, 0};
    FILE *f = fmemopen((void *)buf, len, "r");
    if (!f)
        die("fmemopen failed");
    static char iobuf[CHUNK];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    char *line = NULL, *data = NULL, type[256] = "";
    size_t cap = 0, dlen = 0, dcap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) != -1) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n == 0) {
            if (dlen) {
                data[--dlen] = '\0'; /* the last LF */
                t.events++;
                t.bytes += dlen;
            }
            dlen = 0;
            type[0] = '\0';
        } else if (strncmp(line, "data: ", 6) == 0) {
            size_t vl = (size_t)n - 6;
            if (dlen + vl + 2 > dcap) {
                dcap = (dlen + vl + 2) * 2;
                data = realloc(data, dcap);
                if (!data)
                    die("out of memory");
            }
            memcpy(data + dlen, line + 6, vl);
            dlen += vl;
            data[dlen++] = '\n';
        } else if (strncmp(line, "event: ", 7) == 0) {
            snprintf(type, sizeof type, "%s", line + 7);
        }
    }
    free(line);
    free(data);
    fclose(f);
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "small") != 0 && strcmp(argv[1], "large") != 0))
        die("usage: sse_bench small|large [MB] [RUNS]");
    size_t mb = argc > 2 ? strtoul(argv[2], NULL, 10) : 50;
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    if (mb < 1 || runs < 1 || runs > 100)
        die("MB and RUNS must be positive (RUNS at most 100)");
    size_t text_len = strcmp(argv[1], "small") == 0 ? 40 : 4096;

    size_t len, events;
    char *buf = gen(mb * 1000000, text_len, &len, &events);

    double lo_t[100], naive_t[100];
    tally a = run_lo(buf, len), b = run_naive(buf, len); /* warm-up */
    if (a.events != events || b.events != events || a.bytes != b.bytes)
        die("lo_sse and the baseline disagree");
    for (int i = 0; i < runs; i++) {
        double t0 = now_s();
        a = run_lo(buf, len);
        double t1 = now_s();
        b = run_naive(buf, len);
        double t2 = now_s();
        if (a.events != events || b.events != events)
            die("event count changed");
        lo_t[i] = t1 - t0;
        naive_t[i] = t2 - t1;
    }
    double mlo = median(lo_t, runs), mnaive = median(naive_t, runs);
    printf("workload=%s bytes=%zu events=%zu data_bytes=%zu runs=%d "
           "lo_mb_s=%.1f naive_mb_s=%.1f ratio=%.2f lo_ns_per_event=%.1f\n",
           argv[1], len, events, a.bytes, runs, (double)len / mlo / 1e6,
           (double)len / mnaive / 1e6, mnaive / mlo, mlo / (double)events * 1e9);
    free(buf);
    return 0;
}
