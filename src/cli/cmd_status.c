/* lightsout status: where a run stands, from its run directory alone. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "lightsout/engine.h"

static const cli_flag flags[] = {
    {"json", 0, NULL, "print the status as one JSON object"},
    {"follow", 'f', NULL, "print events as they happen until the run ends"},
    {"events", 'n', "N", "how many recent events to show (default 10)"},
    {0},
};

typedef struct opts {
    bool json, follow;
    long n_events;
} opts;

static int on_flag(int idx, const char *arg, void *ud)
{
    opts *o = ud;
    if (idx == 0) o->json = true;
    if (idx == 1) o->follow = true;
    if (idx == 2) {
        char *end;
        o->n_events = strtol(arg, &end, 10);
        if (*end || o->n_events < 0) {
            cli_error("status", "--events wants a number, not '%s'", arg);
            return EXIT_USAGE;
        }
    }
    return 0;
}

static json_t *load(const char *dir, const char *name, bool required)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j && required)
        cli_error("status", "%s: %s", path,
                  access(path, F_OK) ? "not found: is this a run directory?" : je.text);
    return j;
}

/* The last n events (all when n < 0); new reference. */
/* What the whole event log says beyond its tail: the final outcome of
 * each visit of each node, in order (the checkpoint keeps only the last),
 * and what the agents' sessions cost. */
typedef struct run_scan {
    json_t *visits; /* {node: [outcome, ...]} */
    usage_tally usage;
} run_scan;

static void scan_event(run_scan *s, const json_t *ev)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *node = json_string_value(json_object_get(ev, "node"));
    if (!type || !node)
        return;
    const char *outcome = NULL;
    if (!strcmp(type, "stage_completed"))
        outcome = json_string_value(json_object_get(ev, "status"));
    else if (!strcmp(type, "stage_failed") && !json_is_true(json_object_get(ev, "will_retry")))
        outcome = "fail";
    if (outcome) {
        json_t *list = json_object_get(s->visits, node);
        if (!list)
            json_object_set_new(s->visits, node, list = json_array());
        json_array_append_new(list, json_string(outcome));
    }
    usage_tally_add(&s->usage, ev);
}

static json_t *tail_events(const char *dir, long n, long *lines_read, run_scan *scan)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    json_t *all = json_array();
    FILE *f = fopen(path, "r");
    *lines_read = 0;
    if (!f)
        return all;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *ev = json_loads(line, 0, NULL);
        (*lines_read)++;
        if (!ev)
            continue; /* a line cut by a crash mid-write */
        scan_event(scan, ev);
        json_array_append_new(all, ev);
        if (n >= 0 && (long)json_array_size(all) > n)
            json_array_remove(all, 0);
    }
    free(line);
    fclose(f);
    return all;
}

static bool is_terminal(const char *type)
{
    return type && (!strcmp(type, "pipeline_completed") || !strcmp(type, "pipeline_failed") ||
                    !strcmp(type, "pipeline_interrupted"));
}

static int follow(const char *dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    for (int waited = 0; !f; waited++) {
        f = fopen(path, "r");
        if (!f) {
            if (waited > 50) {
                cli_error("status", "%s: %s", path, strerror(errno));
                return EXIT_USAGE;
            }
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    for (;;) {
        ssize_t n = getline(&line, &cap, f);
        if (n <= 0) {
            clearerr(f);
            struct timespec ts = {0, 200 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        json_t *ev = json_loads(line, 0, NULL);
        if (!ev)
            continue;
        char buf[1200];
        progress_format(ev, buf, sizeof buf);
        if (buf[0])
            printf("%s\n", buf);
        fflush(stdout);
        bool end = is_terminal(json_string_value(json_object_get(ev, "type")));
        json_decref(ev);
        if (end)
            break;
    }
    free(line);
    fclose(f);
    return EXIT_OK;
}

static int run(int argc, char **argv)
{
    opts o = {.n_events = 10};
    int nops, code;
    if (cli_parse(&cmd_status, argc, argv, on_flag, &o, &nops, &code))
        return code;
    if (nops != 1) {
        cli_error("status", "give the run directory (usage: lightsout status LOGS_DIR)");
        return EXIT_USAGE;
    }
    const char *dir = argv[1];
    json_t *m = load(dir, "manifest.json", true);
    if (!m)
        return EXIT_USAGE;
    json_t *cp = lo_checkpoint_read(dir, NULL); /* NULL: not started yet */
    long nread;
    run_scan scan = {.visits = json_object()};
    json_t *events = tail_events(dir, o.n_events, &nread, &scan);
    const char *state = cp ? json_string_value(json_object_get(cp, "state")) : "starting";
    if (!state)
        state = "unknown";
    /* a "running" checkpoint whose process is gone was killed: say so */
    bool gone = false;
    json_int_t pid = cp ? json_integer_value(json_object_get(cp, "pid")) : 0;
    if (!strcmp(state, "running") && pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        gone = true;
    json_t *stages = json_array();
    json_t *completed = cp ? json_object_get(cp, "completed_nodes") : NULL;
    json_t *outcomes = cp ? json_object_get(cp, "node_outcomes") : NULL;
    json_t *retries = cp ? json_object_get(cp, "node_retries") : NULL;
    size_t i;
    json_t *v;
    json_t *seen = json_object(); /* node -> visits listed so far */
    json_array_foreach(completed, i, v) {
        const char *id = json_string_value(v);
        id = id ? id : "";
        json_int_t k = json_integer_value(json_object_get(seen, id));
        json_object_set_new(seen, id, json_integer(k + 1));
        /* this visit's own outcome when the events have it, else the last */
        const char *outcome = json_string_value(
            json_array_get(json_object_get(scan.visits, id), (size_t)k));
        if (!outcome)
            outcome = json_string_value(json_object_get(outcomes, id));
        json_array_append_new(stages,
            json_pack("{s:s, s:s?, s:I}", "node", id, "outcome", outcome,
                      "retries", json_integer_value(json_object_get(retries, id))));
    }
    json_decref(seen);
    json_t *cost = json_pack("{s:i, s:I, s:f, s:i}", "agent_sessions", scan.usage.sessions,
                             "total_tokens", (json_int_t)scan.usage.tokens,
                             "cost_usd", scan.usage.cost_usd,
                             "unpriced_sessions", scan.usage.unpriced);
    const char *next = cp ? json_string_value(json_object_get(cp, "next_node")) : NULL;
    if (o.json) {
        json_t *out = json_pack("{s:O, s:s, s:b, s:s?, s:s?, s:O, s:O?, s:O}", "manifest", m,
                                "state", gone ? "stopped" : state, "process_gone", gone,
                                "current_node", cp ? json_string_value(json_object_get(cp, "current_node")) : NULL,
                                "next_node", next, "stages", stages, "usage", cost,
                                "events", events);
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(out);
    } else {
        printf("run %s: %s\n  pipeline: %s\n  started:  %s\n",
               json_string_value(json_object_get(m, "run_id")),
               json_string_value(json_object_get(m, "name")),
               json_string_value(json_object_get(m, "pipeline")),
               json_string_value(json_object_get(m, "started_at")));
        if (gone)
            printf("  state:    stopped (process %lld is gone); resume with: lightsout resume %s\n",
                   (long long)pid, dir);
        else
            printf("  state:    %s%s%s\n", state, next ? ", next: " : "", next ? next : "");
        printf("  stages completed: %zu\n", json_array_size(stages));
        json_array_foreach(stages, i, v) {
            json_int_t r = json_integer_value(json_object_get(v, "retries"));
            printf("    %-24s %s", json_string_value(json_object_get(v, "node")),
                   json_string_value(json_object_get(v, "outcome")) ?
                   json_string_value(json_object_get(v, "outcome")) : "?");
            if (r)
                printf(" (%lld retr%s)", (long long)r, r == 1 ? "y" : "ies");
            printf("\n");
        }
        char price[160];
        usage_tally_format(&scan.usage, price, sizeof price);
        if (price[0])
            printf("  agents:   %s\n", price);
        if (json_array_size(events))
            printf("  last events:\n");
        json_array_foreach(events, i, v) {
            char buf[1200];
            progress_format(v, buf, sizeof buf);
            if (buf[0])
                printf("    %s  %s\n", json_string_value(json_object_get(v, "ts")), buf);
        }
    }
    bool follow_it = o.follow && !o.json && strcmp(state, "running") == 0 && !gone;
    json_decref(cost);
    json_decref(scan.visits);
    json_decref(stages);
    json_decref(events);
    json_decref(cp); /* state pointed into it */
    json_decref(m);
    if (follow_it)
        return follow(dir);
    return EXIT_OK;
}

const cli_command cmd_status = {
    .name = "status",
    .usage = "LOGS_DIR [--json] [--follow] [-n N]",
    .summary = "where a run stands: state, stages, retries, last events",
    .details = "Reads only the run directory, so it works on a run that is going on,\n"
               "finished, or was killed (it says when the process is gone).",
    .flags = flags,
    .run = run,
};
