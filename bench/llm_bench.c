/* LLM client benchmarks, driven by bench/llm.sh.
 *
 *   llm_bench overhead PROVIDER N TAPE MODELS
 *       N sequential lo_llm_complete calls of a short text reply (user text
 *       "plain"), then N lo_llm_stream calls of a ~200-event text stream
 *       (user text "long"), each against a fresh in-process twin, after 3
 *       unmeasured calls. Prints, per request: plain_wall_us plain_cpu_us
 *       stream_wall_us stream_cpu_us events_per_stream cpu_us_per_event.
 *       CPU is the calling thread's: the client (request JSON, libcurl, SSE
 *       parse, events, response) and not the twin, which runs on its
 *       server's threads.
 *
 *   llm_bench burst PROVIDER STREAMS USER TAPE MODELS
 *       STREAMS threads, released together by a barrier, each making one
 *       lo_llm_stream call (user text USER: "long" for the ~200-event
 *       stream, "drip" for the tape's dripped entry, which keeps every
 *       stream open at once) on one client. Prints: wall_s streams_per_s
 *       events_per_s rss_before_mb peak_rss_mb max_open kb_per_open_stream.
 *       Peak RSS is the process's (getrusage), twin included: run one burst
 *       per process.
 *
 *   With LLM_BENCH_TWIN_URL set (a twin's base URL, serving TAPE with the
 *   key sk-bench) no twin is started in the process: the burst's RSS is then
 *   the client's alone.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lightsout/llm.h"
#include "lightsout/twin.h"

#define KEY "sk-bench"
#define WARM 3

static double clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double wall_us(void) { return clock_us(CLOCK_MONOTONIC); }
/* The calling thread only: the twin's work lands on its server threads. */
static double cpu_us(void) { return clock_us(CLOCK_THREAD_CPUTIME_ID); }

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "llm_bench: %s: %s\n", what, msg);
    exit(1);
}

static const char *model_of(const char *provider)
{
    if (strcmp(provider, "anthropic") == 0)
        return "claude-sonnet-4-5";
    if (strcmp(provider, "gemini") == 0)
        return "gemini-3.8-flash";
    return "gpt-5.2-codex"; /* openai, openai_chat */
}

typedef struct world {
    lo_tape *tape;
    lo_twin *twin;
    lo_llm_catalog *cat;
    lo_llm_client *client;
} world;

static void world_up(world *w, const char *tape, const char *models)
{
    memset(w, 0, sizeof *w);
    lo_error err;
    if (lo_llm_catalog_load(models, &w->cat, &err))
        die("catalog", err.msg);
    const char *base = getenv("LLM_BENCH_TWIN_URL");
    if (!base || !*base) {
        if (!(w->tape = lo_tape_load(tape, &err)))
            die("tape", err.msg);
        lo_twin_config tc = {.providers = LO_TWIN_ALL, .tapes = &w->tape, .n_tapes = 1,
                             .api_key = KEY, .models_path = models};
        if (!(w->twin = lo_twin_start(&tc, &err)))
            die("twin", err.msg);
        base = lo_twin_base_url(w->twin);
    }
    char v1[256];
    snprintf(v1, sizeof v1, "%s/v1", base);
    w->client = lo_llm_client_new();
    lo_llm_provider_config pcs[] = {
        {.provider = "anthropic", .api_key = KEY, .base_url = base},
        {.provider = "openai", .api_key = KEY, .base_url = v1},
        {.provider = "openai_chat", .api_key = KEY, .base_url = v1},
        {.provider = "gemini", .api_key = KEY, .base_url = base},
    };
    lo_llm_error le;
    for (size_t i = 0; i < sizeof pcs / sizeof pcs[0]; i++)
        if (lo_llm_client_add_provider(w->client, &pcs[i], &le))
            die("client", le.message);
    lo_llm_client_set_catalog(w->client, w->cat);
    /* A failure must show, not hide behind a retry's sleep. */
    lo_llm_retry_policy rp;
    lo_llm_retry_policy_init(&rp);
    rp.max_retries = 0;
    lo_llm_client_set_retry(w->client, &rp);
}

static void world_down(world *w)
{
    lo_llm_client_free(w->client);
    lo_twin_stop(w->twin);
    if (w->tape)
        lo_tape_free(w->tape);
    lo_llm_catalog_free(w->cat);
}

/* Built once per run: the caller's work, not the client's. */
static lo_llm_request *request(const char *provider, const char *user)
{
    lo_llm_request *r = lo_llm_request_new(model_of(provider));
    if (!r || !(r->provider = strdup(provider)) ||
        lo_llm_request_add_message(r, lo_llm_text_message(LO_ROLE_USER, user)))
        die("request", "out of memory");
    return r;
}

typedef struct counts {
    long events, deltas;
    bool finished, started;
    atomic_int *open, *max_open; /* burst only */
} counts;

static int on_event(const lo_llm_stream_event *ev, void *ud)
{
    counts *c = ud;
    if (!c->started && c->open) {
        c->started = true;
        int now = atomic_fetch_add(c->open, 1) + 1;
        int seen = atomic_load(c->max_open);
        while (now > seen && !atomic_compare_exchange_weak(c->max_open, &seen, now))
            ;
    }
    c->events++;
    if (ev->type == LO_STREAM_TEXT_DELTA)
        c->deltas++;
    if (ev->type == LO_STREAM_FINISH)
        c->finished = true;
    return 0;
}

static void complete_one(lo_llm_client *cl, const lo_llm_request *r)
{
    lo_llm_response *resp;
    lo_llm_error le;
    if (lo_llm_complete(cl, r, &resp, &le))
        die("complete", le.message);
    if (!resp->message || !resp->message->n_parts)
        die("complete", "empty reply");
    lo_llm_response_free(resp);
}

static void stream_one(lo_llm_client *cl, const lo_llm_request *r, counts *c)
{
    lo_llm_error le;
    if (lo_llm_stream(cl, r, on_event, c, NULL, &le))
        die("stream", le.message);
    if (!c->finished)
        die("stream", "no finish event");
}

static void overhead(const char *provider, int n, const char *tape, const char *models)
{
    world w;
    world_up(&w, tape, models);
    lo_llm_request *r = request(provider, "plain");
    for (int i = 0; i < WARM; i++)
        complete_one(w.client, r);
    double t0 = wall_us(), c0 = cpu_us();
    for (int i = 0; i < n; i++)
        complete_one(w.client, r);
    double plain_wall = (wall_us() - t0) / n, plain_cpu = (cpu_us() - c0) / n;
    lo_llm_request_free(r);
    world_down(&w);

    world_up(&w, tape, models);
    r = request(provider, "long");
    counts c = {0};
    for (int i = 0; i < WARM; i++) {
        c = (counts){0};
        stream_one(w.client, r, &c);
    }
    long events = c.events;
    if (c.deltas < 150)
        die("stream", "fewer than 150 text deltas: is the tape's long entry there?");
    t0 = wall_us();
    c0 = cpu_us();
    for (int i = 0; i < n; i++) {
        c = (counts){0};
        stream_one(w.client, r, &c);
        if (c.events != events)
            die("stream", "the event count changed between calls");
    }
    double stream_wall = (wall_us() - t0) / n, stream_cpu = (cpu_us() - c0) / n;
    lo_llm_request_free(r);
    world_down(&w);
    printf("%.1f %.1f %.1f %.1f %ld %.2f\n", plain_wall, plain_cpu, stream_wall, stream_cpu,
           events, stream_cpu / (double)events);
}

/* ---- burst ---- */

typedef struct burst_ctx {
    lo_llm_client *client;
    const lo_llm_request *req;
    pthread_barrier_t go;
    atomic_int open, max_open;
    atomic_long events;
} burst_ctx;

static void *burst_thread(void *ud)
{
    burst_ctx *b = ud;
    counts c = {.open = &b->open, .max_open = &b->max_open};
    pthread_barrier_wait(&b->go);
    stream_one(b->client, b->req, &c);
    /* the stream counts as open until its call returns */
    atomic_fetch_sub(&b->open, 1);
    atomic_fetch_add(&b->events, c.events);
    return NULL;
}

static double vmrss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lf kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024 / 1e6; /* kB here are KiB; our MB are 10^6 bytes */
}

static void burst(const char *provider, int streams, const char *user, const char *tape,
                  const char *models)
{
    world w;
    world_up(&w, tape, models);
    burst_ctx b = {.client = w.client, .req = request(provider, user)};
    atomic_init(&b.open, 0);
    atomic_init(&b.max_open, 0);
    atomic_init(&b.events, 0);
    /* one call first: libcurl's and the twin's start-up are not the
     * burst's memory */
    counts c = {0};
    stream_one(w.client, b.req, &c);
    double before = vmrss_mb();

    pthread_t *tid = malloc((size_t)streams * sizeof *tid);
    if (!tid || pthread_barrier_init(&b.go, NULL, (unsigned)streams + 1))
        die("burst", "out of memory");
    for (int i = 0; i < streams; i++)
        if (pthread_create(&tid[i], NULL, burst_thread, &b))
            die("burst", "pthread_create failed");
    /* threads are made before the clock starts: the burst is the calls */
    pthread_barrier_wait(&b.go);
    double t0 = wall_us();
    for (int i = 0; i < streams; i++)
        pthread_join(tid[i], NULL);
    double secs = (wall_us() - t0) / 1e6;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double peak = ru.ru_maxrss * 1024 / 1e6; /* KiB on Linux */
    int max_open = atomic_load(&b.max_open);
    printf("%.3f %.0f %.0f %.1f %.1f %d %.1f\n", secs, streams / secs,
           (double)atomic_load(&b.events) / secs, before, peak, max_open,
           max_open ? (peak - before) * 1000.0 / max_open : 0.0);
    pthread_barrier_destroy(&b.go);
    free(tid);
    lo_llm_request_free((lo_llm_request *)b.req);
    world_down(&w);
}

int main(int argc, char **argv)
{
    if (argc >= 4 && atoi(argv[3]) < 1)
        die("count", "N and STREAMS must be at least 1");
    if (argc == 6 && strcmp(argv[1], "overhead") == 0)
        overhead(argv[2], atoi(argv[3]), argv[4], argv[5]);
    else if (argc == 7 && strcmp(argv[1], "burst") == 0)
        burst(argv[2], atoi(argv[3]), argv[4], argv[5], argv[6]);
    else {
        fprintf(stderr, "usage: llm_bench overhead PROVIDER N TAPE MODELS\n"
                        "       llm_bench burst PROVIDER STREAMS USER TAPE MODELS\n");
        return 2;
    }
    return 0;
}
