/* How a run looks in a terminal: one line per event off a TTY, a live
 * status line on one, JSON lines with --json. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/progress.h"

static const char *str(const json_t *ev, const char *key)
{
    const char *s = json_string_value(json_object_get(ev, key));
    return s ? s : "";
}

static long long num(const json_t *ev, const char *key)
{
    return (long long)json_integer_value(json_object_get(ev, key));
}

/* One human line for an event, or "" for events not worth a line. */
void progress_format(const json_t *ev, char *buf, size_t n)
{
    const char *type = str(ev, "type");
    buf[0] = '\0';
    if (!strcmp(type, "pipeline_started") || !strcmp(type, "pipeline_resumed"))
        snprintf(buf, n, "%s %s: %s (backend %s, logs %s)",
                 !strcmp(type, "pipeline_started") ? "run" : "resume", str(ev, "run_id"),
                 str(ev, "name"), str(ev, "backend"), str(ev, "logs"));
    else if (!strcmp(type, "stage_started"))
        snprintf(buf, n, "  start  %s%s", str(ev, "node"),
                 num(ev, "attempt") > 1 ? " (retry)" : "");
    else if (!strcmp(type, "stage_completed"))
        snprintf(buf, n, "  done   %s: %s in %.2f s", str(ev, "node"), str(ev, "status"),
                 (double)num(ev, "duration_ms") / 1000.0);
    else if (!strcmp(type, "stage_failed"))
        snprintf(buf, n, "  FAIL   %s: %s%s", str(ev, "node"), str(ev, "error"),
                 json_is_true(json_object_get(ev, "will_retry")) ? " (will retry)" : "");
    else if (!strcmp(type, "stage_interrupted"))
        snprintf(buf, n, "  stop   %s (interrupted)", str(ev, "node"));
    else if (!strcmp(type, "stage_retrying"))
        snprintf(buf, n, "  retry  %s in %lld ms (attempt %lld)", str(ev, "node"),
                 num(ev, "delay_ms"), num(ev, "attempt"));
    else if (!strcmp(type, "edge_selected")) {
        const char *to = str(ev, "to");
        if (*to)
            snprintf(buf, n, "  route  %s -> %s (%s)", str(ev, "from"), to, str(ev, "reason"));
    } else if (!strcmp(type, "goal_gate_unsatisfied"))
        snprintf(buf, n, "  gate   goal gate %s is %s; going back to %s", str(ev, "node"),
                 str(ev, "status"), *str(ev, "retry_target") ? str(ev, "retry_target") : "(none)");
    else if (!strcmp(type, "interview_started"))
        snprintf(buf, n, "  ask    %s: %s", str(ev, "node"), str(ev, "question"));
    else if (!strcmp(type, "interview_completed"))
        snprintf(buf, n, "  answer %s: %s -> %s", str(ev, "node"), str(ev, "answer"), str(ev, "to"));
    else if (!strcmp(type, "loop_restarted"))
        snprintf(buf, n, "  restart at %s", str(ev, "at"));
    else if (!strcmp(type, "loop_bound_reached"))
        snprintf(buf, n, "  bound  %s reached before %s", str(ev, "bound"), str(ev, "node"));
    else if (!strcmp(type, "worktree_committed"))
        snprintf(buf, n, "  commit %s: %.12s on %s", str(ev, "node"), str(ev, "commit"),
                 str(ev, "branch"));
    else if (!strcmp(type, "gate_started") && json_is_false(json_object_get(ev, "sandbox")) &&
             *str(ev, "sandbox_note"))
        snprintf(buf, n, "  note   gate %s is not sandboxed: %s", str(ev, "node"),
                 str(ev, "sandbox_note"));
    else if (!strcmp(type, "agent_usage")) {
        json_t *cost = json_object_get(ev, "cost_usd");
        char price[32] = "cost unknown";
        if (json_is_number(cost))
            snprintf(price, sizeof price, "$%.4f", json_number_value(cost));
        snprintf(buf, n, "  agent  %s: %s %s, %lld turns, %lld tool calls, %lld tokens "
                 "(%lld cached), %s", str(ev, "node"), str(ev, "provider"), str(ev, "model"),
                 num(ev, "turns"), num(ev, "tool_calls"), num(ev, "total_tokens"),
                 num(ev, "cache_read_tokens"), price);
    } else if (!strcmp(type, "pipeline_completed"))
        snprintf(buf, n, "completed: %s", str(ev, "status"));
    else if (!strcmp(type, "pipeline_failed"))
        snprintf(buf, n, "failed: %s", str(ev, "error"));
    else if (!strcmp(type, "pipeline_interrupted"))
        snprintf(buf, n, "interrupted");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The live line: redrawn on each event and by a ticker while a stage runs,
 * so the elapsed time moves. */
static void draw(progress *p)
{
    if (!p->tty || p->asking)
        return;
    char line[256];
    double el = p->stage[0] ? now_s() - p->stage_t0 : 0;
    snprintf(line, sizeof line, "\r\033[K[%s] %s  %5.1fs  done %d/%d seen  retries %d",
             p->stage[0] ? "running" : "idle", p->stage[0] ? p->stage : "-", el, p->done,
             p->seen, p->retries);
    fputs(line, p->out);
    fflush(p->out);
}

static void *ticker(void *arg)
{
    progress *p = arg;
    while (!p->quit) {
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&p->lock);
        if (!p->quit)
            draw(p);
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

void progress_init(progress *p, FILE *out, bool json)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->json = json;
    p->tty = !json && isatty(fileno(out));
    pthread_mutex_init(&p->lock, NULL);
    p->seen_ids = json_object();
    if (p->tty && pthread_create(&p->thread, NULL, ticker, p) == 0)
        p->ticking = true;
}

void progress_done(progress *p)
{
    pthread_mutex_lock(&p->lock);
    p->quit = true;
    if (p->tty)
        fputs("\r\033[K", p->out);
    pthread_mutex_unlock(&p->lock);
    if (p->ticking)
        pthread_join(p->thread, NULL);
    json_decref(p->seen_ids);
    pthread_mutex_destroy(&p->lock);
}

void progress_event(const json_t *ev, void *ud)
{
    progress *p = ud;
    pthread_mutex_lock(&p->lock);
    if (p->json) {
        char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line) {
            fputs(line, p->out);
            fputc('\n', p->out);
            fflush(p->out);
            free(line);
        }
        pthread_mutex_unlock(&p->lock);
        return;
    }
    const char *type = str(ev, "type");
    if (!strcmp(type, "stage_started")) {
        snprintf(p->stage, sizeof p->stage, "%s", str(ev, "node"));
        p->stage_t0 = now_s();
        json_object_set_new(p->seen_ids, str(ev, "node"), json_true());
        p->seen = (int)json_object_size(p->seen_ids);
    } else if (!strcmp(type, "stage_completed")) {
        p->done++;
        p->stage[0] = '\0';
    } else if (!strcmp(type, "stage_retrying")) {
        p->retries++;
    } else if (!strcmp(type, "agent_usage")) {
        usage_tally_add(&p->usage, ev);
    } else if (!strcmp(type, "interview_started")) {
        p->asking = true;
    } else if (!strcmp(type, "interview_completed") || !strcmp(type, "interview_timeout")) {
        p->asking = false;
    } else if (!strcmp(type, "stage_failed") &&
               !json_is_true(json_object_get(ev, "will_retry"))) {
        p->stage[0] = '\0';
    }
    char line[1200];
    progress_format(ev, line, sizeof line);
    /* on a terminal, stage starts only update the live line */
    if (line[0] && !(p->tty && !strcmp(type, "stage_started"))) {
        if (p->tty)
            fputs("\r\033[K", p->out);
        fputs(line, p->out);
        fputc('\n', p->out);
    }
    draw(p);
    fflush(p->out);
    pthread_mutex_unlock(&p->lock);
}

void usage_tally_add(usage_tally *t, const json_t *ev)
{
    if (strcmp(str(ev, "type"), "agent_usage"))
        return;
    json_t *cost = json_object_get(ev, "cost_usd");
    t->sessions++;
    t->tokens += num(ev, "total_tokens");
    if (json_is_number(cost))
        t->cost_usd += json_number_value(cost);
    else
        t->unpriced++;
}

void usage_tally_format(const usage_tally *t, char *buf, size_t n)
{
    buf[0] = '\0';
    if (!t->sessions)
        return;
    char price[64] = "cost unknown (no prices for the models)";
    if (t->unpriced < t->sessions)
        snprintf(price, sizeof price, "$%.4f at list prices%s", t->cost_usd,
                 t->unpriced ? " (some sessions unpriced)" : "");
    snprintf(buf, n, "%s (%d agent session%s, %lld tokens)", price, t->sessions,
             t->sessions == 1 ? "" : "s", t->tokens);
}
