#ifndef LO_CLI_PROGRESS_H
#define LO_CLI_PROGRESS_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

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
} progress;

void progress_init(progress *p, FILE *out, bool json);
void progress_done(progress *p);
/* lo_event_fn: print one event. */
void progress_event(const json_t *ev, void *ud);
void progress_format(const json_t *ev, char *buf, size_t n);

#endif
