#ifndef LO_CLI_PROGRESS_H
#define LO_CLI_PROGRESS_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

/* What agents' sessions cost, summed from agent_usage events. */
typedef struct usage_tally {
    double cost_usd;
    long long tokens;
    int sessions, unpriced; /* sessions; those whose model has no price */
} usage_tally;

/* Adds ev when it is an agent_usage event. */
void usage_tally_add(usage_tally *t, const json_t *ev);
/* "$0.0420 at list prices (2 agent sessions, 30982 tokens)" into buf, or ""
 * when no agent ran. */
void usage_tally_format(const usage_tally *t, char *buf, size_t n);

typedef struct progress {
    FILE *out;
    bool json, tty, quit, ticking;
    bool asking; /* a human gate owns the terminal: no live line */
    pthread_t thread;
    pthread_mutex_t lock;
    char stage[128];
    double stage_t0;
    int done, seen, retries;
    json_t *seen_ids;
    usage_tally usage;
} progress;

void progress_init(progress *p, FILE *out, bool json);
void progress_done(progress *p);
/* lo_event_fn: print one event. */
void progress_event(const json_t *ev, void *ud);
void progress_format(const json_t *ev, char *buf, size_t n);

#endif
