/* lightsout twin serve: a digital twin of a provider's API on loopback,
 * answering from tapes, until SIGINT or SIGTERM. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lightsout/twin.h"

static const cli_flag flags[] = {
    {"port", 'p', "N", "TCP port to listen on (default 0: an ephemeral port)"},
    {"bind", 0, "ADDR", "address to listen on (default 127.0.0.1)"},
    {"tape", 't', "FILE", "a tape (JSONL); repeat for more, tried in order"},
    {"api-key", 0, "KEY", "the only API key accepted (default: any non-empty key)"},
    {"log", 0, "FILE", "append one line per request to FILE (default: stderr)"},
    {"cache-min-tokens", 0, "N",
     "smallest prompt prefix the simulated prompt cache keeps (default: each provider's)"},
    {"max-body", 0, "SIZE", "largest request body (default 10MB); a larger one gets 413"},
    {"fault", 0, "JSON",
     "a fault for every generation call, as a tape's \"fault\" (e.g. '{\"status\":529,\"every\":3}')"},
    {"record", 0, NULL, "record mode: proxy to --upstream and write what passed as a tape"},
    {"upstream", 0, "URL", "record mode: the real API (e.g. https://api.anthropic.com)"},
    {"out", 'o', "FILE", "record mode: the tape to write (default: the first --tape)"},
    {0},
};

#define MAX_TAPES 64

typedef struct opts {
    long port;
    int64_t cache_min, max_body;
    const char *fault, *upstream, *out;
    bool record;
    const char *bind, *api_key, *log;
    const char *tapes[MAX_TAPES];
    size_t n_tapes;
} opts;

static int on_flag(int idx, const char *arg, void *ud)
{
    opts *o = ud;
    switch (idx) {
    case 0: {
        int64_t p;
        if (lo_parse_int64(arg, &p) || p < 0 || p > 65535) {
            cli_error("twin", "--port wants a port number from 0 to 65535, not '%s'", arg);
            return EXIT_USAGE;
        }
        o->port = (long)p;
        break;
    }
    case 1: o->bind = arg; break;
    case 2:
        /* repeated: each occurrence adds a tape (files are read after parsing) */
        if (o->n_tapes == MAX_TAPES) {
            cli_error("twin", "at most %d --tape files", MAX_TAPES);
            return EXIT_USAGE;
        }
        o->tapes[o->n_tapes++] = arg;
        break;
    case 3: o->api_key = arg; break;
    case 4: o->log = arg; break;
    case 5:
        if (lo_parse_int64(arg, &o->cache_min) || o->cache_min < 1) {
            cli_error("twin", "--cache-min-tokens wants a positive number of tokens, not '%s'",
                      arg);
            return EXIT_USAGE;
        }
        break;
    case 6:
        if (lo_parse_size(arg, &o->max_body) || o->max_body < 1) {
            cli_error("twin", "--max-body wants a size such as 64KB or 10MB, not '%s'", arg);
            return EXIT_USAGE;
        }
        break;
    case 7: o->fault = arg; break;
    case 8: o->record = true; break;
    case 9: o->upstream = arg; break;
    case 10: o->out = arg; break;
    }
    return 0;
}

static void log_line(const char *line, void *ud)
{
    FILE *f = ud;
    /* the twin serialises calls; flush so `tail -f` sees each request */
    fprintf(f, "%s\n", line);
    fflush(f);
}

static int serve(opts *o, const char *provider)
{
    unsigned mask = 0;
    lo_error err = {0};
    if (lo_twin_provider_parse(provider, &mask, &err)) {
        cli_error("twin", "%s", err.msg);
        return EXIT_USAGE;
    }
    /* "all" serves every provider this build has */
    if (mask == LO_TWIN_ALL)
        mask = lo_twin_supported();
    if (mask & ~lo_twin_supported()) {
        cli_error("twin", "%s: not served by this build", provider);
        return EXIT_USAGE;
    }
    /* record mode writes a tape instead of reading them */
    const char *out = o->out ? o->out : o->n_tapes ? o->tapes[0] : NULL;
    if (o->record && (!o->upstream || !out)) {
        cli_error("twin", "--record needs --upstream URL and a tape to write (--out FILE)");
        return EXIT_USAGE;
    }
    if (!o->record && (o->upstream || o->out)) {
        cli_error("twin", "--upstream and --out are for record mode: add --record");
        return EXIT_USAGE;
    }
    if (o->record && (o->api_key || o->fault)) {
        cli_error("twin", "--record passes the client's key on and injects no faults: "
                          "drop --%s", o->api_key ? "api-key" : "fault");
        return EXIT_USAGE;
    }
    lo_tape_fault fault;
    lo_error ferr = {0};
    if (o->fault && lo_tape_fault_parse(o->fault, &fault, &ferr)) {
        cli_error("twin", "--fault: %s", ferr.msg);
        return EXIT_USAGE;
    }
    lo_tape *tapes[MAX_TAPES];
    size_t n = 0, entries = 0;
    int rc = EXIT_OK;
    FILE *logf = stderr;
    lo_twin *t = NULL;
    for (; !o->record && n < o->n_tapes; n++) {
        if (!(tapes[n] = lo_tape_load(o->tapes[n], &err))) {
            cli_error("twin", "%s", err.msg);
            rc = EXIT_USAGE;
            goto out;
        }
        entries += lo_tape_count(tapes[n]);
    }
    if (o->log && !(logf = fopen(o->log, "a"))) {
        cli_error("twin", "--log %s: %s", o->log, strerror(errno));
        logf = stderr;
        rc = EXIT_USAGE;
        goto out;
    }
    /* Block the stop signals before the server's threads exist, so they
     * inherit the mask and sigwait below is the one place that sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    lo_twin_config cfg = {.providers = mask, .bind = o->bind, .port = (int)o->port,
                          .tapes = tapes, .n_tapes = n, .api_key = o->api_key,
                          .log = log_line, .log_ud = logf, .cache_min_tokens = o->cache_min,
                          .fault = o->fault ? &fault : NULL, .max_body = (size_t)o->max_body,
                          .upstream = o->record ? o->upstream : NULL,
                          .record_path = o->record ? out : NULL};
    if (!(t = lo_twin_start(&cfg, &err))) {
        cli_error("twin", "%s", err.msg);
        rc = err.code == LO_EIO ? EXIT_FAIL : EXIT_USAGE;
        goto out;
    }
    const char *url = lo_twin_base_url(t);
    printf("%s twin listening on %s\n", provider, url);
    /* the key is the user's own choice on this command line, shown so the
     * line can be pasted; without one any non-empty key is accepted. In
     * record mode the client's real key goes upstream: none is printed. */
    const char *key = o->api_key ? o->api_key : "twin-any-key";
    if (mask & LO_TWIN_ANTHROPIC) {
        printf("export ANTHROPIC_BASE_URL=%s\n", url);
        if (!o->record)
            printf("export ANTHROPIC_API_KEY=%s\n", key);
    }
    if (mask & LO_TWIN_OPENAI) {
        /* the OpenAI SDKs expect the /v1 in the base URL */
        printf("export OPENAI_BASE_URL=%s/v1\n", url);
        if (!o->record)
            printf("export OPENAI_API_KEY=%s\n", key);
    }
    if (mask & LO_TWIN_GEMINI) {
        /* the Gemini SDKs add /v1beta themselves */
        printf("export GEMINI_BASE_URL=%s\n", url);
        if (!o->record)
            printf("export GEMINI_API_KEY=%s\n", key);
    }
    fflush(stdout);
    if (o->record)
        fprintf(stderr, "lightsout twin: recording to %s, proxying to %s; your own API key is "
                        "passed on, never written; Ctrl-C stops\n", out, o->upstream);
    else
        fprintf(stderr, "lightsout twin: %zu tape entr%s from %zu file%s; Ctrl-C stops\n",
                entries, entries == 1 ? "y" : "ies", n, n == 1 ? "" : "s");
    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    fprintf(stderr, "lightsout twin: stopping (%s) after %ld call%s\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", lo_twin_calls(t), lo_twin_calls(t) == 1 ? "" : "s");
out:
    lo_twin_stop(t);
    for (size_t i = 0; i < n; i++)
        lo_tape_free(tapes[i]);
    if (logf != stderr)
        fclose(logf);
    return rc;
}

static int run(int argc, char **argv)
{
    opts o = {0};
    int nops, code;
    if (cli_parse(&cmd_twin, argc, argv, on_flag, &o, &nops, &code))
        return code;
    if (nops < 1 || strcmp(argv[1], "serve") != 0) {
        cli_error("twin", "usage: lightsout twin serve PROVIDER [options] (see --help)");
        return EXIT_USAGE;
    }
    if (nops != 2) {
        cli_error("twin", "give one provider: anthropic, openai, gemini or all");
        return EXIT_USAGE;
    }
    return serve(&o, argv[2]);
}

const cli_command cmd_twin = {
    .name = "twin",
    .usage = "serve PROVIDER [--port N] [--bind ADDR] [--tape FILE]... [--api-key KEY] "
             "[--log FILE] [--cache-min-tokens N] [--max-body SIZE] [--fault JSON] "
             "[--record --upstream URL [--out FILE]]",
    .summary = "digital twin of a model provider's API, answering from tapes",
    .details = "PROVIDER is anthropic, openai, gemini or all. The twin\n"
               "serves the provider's real endpoints, validation, errors and streams on\n"
               "loopback; it prints its base URL and the environment variables to\n"
               "export, logs one line per request, and stops cleanly on Ctrl-C or\n"
               "SIGTERM. Tapes are JSONL files of canned exchanges: see docs/twins.md.\n"
               "With --record it proxies to the real API instead and writes each\n"
               "exchange to a tape (keys and auth headers are never written).",
    .flags = flags,
    .run = run,
};
