/* Retry policy and backoff (attractor-spec §3.5, §3.6), interruptible
 * sleeps, and the stall watchdog: the timing side of the engine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/engine_internal.h"

/* ---- retry policy (§3.5, §3.6) ---- */

retry_policy lo_retry_policy_for(const lo_graph *g, const lo_node *n)
{
    retry_policy p = {1, 200, 60000, 2.0, true};
    const char *preset = lo_node_str(n, "retry_policy");
    if (!*preset)
        preset = lo_graph_str(g, "retry_policy");
    static const struct { const char *name; int attempts; int64_t initial; double factor; }
        presets[] = {{"none", 1, 0, 1}, {"standard", 5, 200, 2}, {"aggressive", 5, 500, 2},
                     {"linear", 3, 500, 1}, {"patient", 3, 2000, 3}};
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(preset, presets[i].name) == 0) {
            p.max_attempts = presets[i].attempts;
            p.initial_ms = presets[i].initial;
            p.factor = presets[i].factor;
        }
    const lo_attr *mr = lo_attrs_get(&n->attrs, "max_retries");
    int64_t v;
    if (mr && lo_parse_int64(mr->value.text, &v) == 0 && v >= 0)
        p.max_attempts = (int)(v + 1);
    else if (!lo_attrs_get(&n->attrs, "retry_policy")) {
        const lo_attr *d = lo_attrs_get(&g->attrs, "default_max_retries");
        if (!d)
            d = lo_attrs_get(&g->attrs, "default_max_retry");
        if (d && lo_parse_int64(d->value.text, &v) == 0 && v >= 0)
            p.max_attempts = (int)(v + 1);
    }
    p.initial_ms = lo_node_duration_ms(n, "retry_initial_delay", p.initial_ms);
    p.max_ms = lo_node_duration_ms(n, "retry_max_delay", p.max_ms);
    p.jitter = lo_node_bool(n, "retry_jitter", p.jitter);
    const lo_attr *f = lo_attrs_get(&n->attrs, "retry_backoff_factor");
    double fv;
    if (f && lo_parse_double(f->value.text, &fv) == 0 && fv >= 1.0)
        p.factor = fv;
    return p;
}

int64_t lo_retry_delay(const retry_policy *p, int attempt)
{
    double d = (double)p->initial_ms * pow(p->factor, attempt - 1);
    if (d > (double)p->max_ms)
        d = (double)p->max_ms;
    if (p->jitter)
        d *= 0.5 + (double)rand() / ((double)RAND_MAX + 1.0);
    return (int64_t)d;
}

/* Sleep in small steps so a cancel is honoured promptly. */
void lo_engine_sleep(lo_engine *e, int64_t ms)
{
    int64_t end = lo_now_ms() + ms;
    while (!atomic_load(&e->cancel)) {
        int64_t left = end - lo_now_ms();
        if (left <= 0)
            break;
        struct timespec ts = {0, (left > 50 ? 50 : left) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---- the stall watchdog ---- */

void *lo_engine_watchdog(void *arg)
{
    lo_engine *e = arg;
    pthread_mutex_lock(&e->wd_lock);
    while (!atomic_load(&e->quit_watchdog)) {
        /* a condition variable, not a sleep, so the run's end is not delayed */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&e->wd_cond, &e->wd_lock, &ts);
        int64_t limit = atomic_load(&e->stall_ms);
        if (!limit || !atomic_load(&e->stage_running))
            continue;
        if (lo_now_ms() - atomic_load(&e->last_activity_ms) > limit) {
            atomic_store(&e->stalled, true);
            atomic_store(&e->stop, true);
        }
    }
    pthread_mutex_unlock(&e->wd_lock);
    return NULL;
}

int64_t lo_engine_stall_limit(lo_engine *e, const lo_node *n)
{
    if (e->cfg.stall_timeout_ms)
        return e->cfg.stall_timeout_ms;
    int64_t ms;
    const lo_attr *a = lo_attrs_get(&n->attrs, "stall_timeout");
    if (!a)
        a = lo_attrs_get(&e->g->attrs, "stall_timeout");
    return a && lo_parse_duration_ms(a->value.text, &ms) == 0 ? ms : 0;
}

