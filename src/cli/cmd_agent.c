/* lightsout agent: the native coding agent (lightsout/agent.h) from the
 * command line. With a task it runs to completion and prints what it did;
 * without one it reads tasks from stdin, and a line typed while the agent
 * works is sent as steering. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/provider_setup.h"
#include "lightsout/agent.h"
#include "lightsout/backend.h"

typedef struct opts {
    const char *provider, *model, *cwd, *task;
    const char *twins[PROVIDER_MAX_TAPES];
    size_t n_twins;
    int max_turns;
    bool sandbox;
} opts;

static const cli_flag agent_flags[] = {
    {"provider", 0, "P", "anthropic, openai or gemini (default: the first configured)"},
    {"model", 0, "M", "model id (default: the provider's latest in the catalog)"},
    {"sandbox", 0, NULL, "commands under bubblewrap: --cwd writable, the rest read-only, no network"},
    {"max-turns", 0, "N", "stop after N assistant turns (default: no limit)"},
    {"cwd", 0, "DIR", "the agent's working directory (default: the current one)"},
    {"twin", 0, "TAPE", "talk to an in-process twin serving TAPE (repeatable)"},
    {0},
};

static int on_flag(int idx, const char *arg, void *ud)
{
    opts *o = ud;
    const char *name = agent_flags[idx].name;
    if (!strcmp(name, "provider")) o->provider = arg;
    else if (!strcmp(name, "model")) o->model = arg;
    else if (!strcmp(name, "sandbox")) o->sandbox = true;
    else if (!strcmp(name, "cwd")) o->cwd = arg;
    else if (!strcmp(name, "max-turns")) {
        char *end;
        errno = 0;
        long n = strtol(arg, &end, 10);
        if (errno || *end || end == arg || n < 1 || n > INT_MAX) {
            cli_error("agent", "--max-turns wants a positive number, not '%s'", arg);
            return EXIT_USAGE;
        }
        o->max_turns = (int)n;
    } else if (!strcmp(name, "twin")) {
        if (o->n_twins == PROVIDER_MAX_TAPES) {
            cli_error("agent", "at most %d --twin tapes", PROVIDER_MAX_TAPES);
            return EXIT_USAGE;
        }
        o->twins[o->n_twins++] = arg;
    }
    return 0;
}

/* ---- what the user sees: one line per tool call, the answer, usage ---- */

/* A tool call between its start and end events (calls of one round may
 * overlap). */
typedef struct pending_call {
    char *id, *line;
    struct pending_call *next;
} pending_call;

typedef struct view {
    pthread_mutex_t mu;      /* stdout is shared with the input thread */
    pending_call *calls;
    bool turn_limit;
    bool interactive;
} view;

/* "name {args}" with the arguments cut to fit one line. */
static char *call_line(const json_t *data)
{
    const char *name = json_string_value(json_object_get(data, "tool_name"));
    char *args = json_dumps(json_object_get(data, "arguments"), JSON_COMPACT | JSON_SORT_KEYS);
    const char *a = args ? args : "";
    lo_buf b;
    lo_buf_init(&b, 0);
    /* newlines in arguments would break the one-line promise */
    lo_buf_printf(&b, "%s ", name ? name : "?");
    size_t max = 100;
    for (size_t i = 0; a[i] && i < max; i++)
        lo_buf_putc(&b, a[i] == '\n' ? ' ' : a[i]);
    if (strlen(a) > max)
        lo_buf_puts(&b, "...");
    free(args);
    return lo_buf_steal(&b);
}

static void on_event(const lo_agent_event *ev, void *ud)
{
    view *v = ud;
    const json_t *d = ev->data;
    const char *id = json_string_value(json_object_get(d, "call_id"));
    pthread_mutex_lock(&v->mu);
    if (ev->kind == LO_AGENT_TOOL_CALL_START) {
        pending_call *c = calloc(1, sizeof *c);
        if (c && (c->id = strdup(id ? id : "")) && (c->line = call_line(d))) {
            c->next = v->calls;
            v->calls = c;
        } else if (c) {
            free(c->id);
            free(c);
        }
    } else if (ev->kind == LO_AGENT_TOOL_CALL_END) {
        pending_call **p = &v->calls, *c = NULL;
        for (; *p; p = &(*p)->next)
            if (!strcmp((*p)->id, id ? id : "")) {
                c = *p;
                *p = c->next;
                break;
            }
        const char *name = json_string_value(json_object_get(d, "tool_name"));
        const char *error = json_string_value(json_object_get(d, "error"));
        printf("> %s", c ? c->line : name ? name : "?");
        if (json_is_true(json_object_get(d, "is_error"))) {
            printf("  [error: ");
            for (const char *e = error ? error : ""; *e && e - error < 160; e++)
                putchar(*e == '\n' ? ' ' : *e);
            printf("]\n");
        } else {
            printf("  [ok, %lld ms]\n",
                   (long long)json_integer_value(json_object_get(d, "duration_ms")));
        }
        if (c) {
            free(c->id);
            free(c->line);
            free(c);
        }
    } else if (ev->kind == LO_AGENT_STEERING_INJECTED && v->interactive) {
        printf("(steering sent to the agent)\n");
    } else if (ev->kind == LO_AGENT_TURN_LIMIT) {
        v->turn_limit = true;
    } else if (ev->kind == LO_AGENT_WARNING) {
        const char *m = json_string_value(json_object_get(d, "message"));
        fprintf(stderr, "lightsout agent: warning: %s\n", m ? m : "");
    }
    fflush(stdout);
    pthread_mutex_unlock(&v->mu);
}

static long long count(int64_t n) { return n < 0 ? 0 : (long long)n; }

static void print_usage(lo_agent_session *s, const lo_agent_profile *p)
{
    lo_llm_usage u;
    lo_agent_usage(s, &u);
    double cost;
    int turns = lo_agent_turns(s), calls = lo_agent_tool_calls(s);
    /* input_tokens is the uncached part: the prompts were all three */
    printf("usage: %lld prompt tokens (%lld read from cache, %lld written to it), %lld output "
           "tokens; %d turn%s, %d tool call%s; ",
           count(u.input_tokens) + count(u.cache_read_tokens) + count(u.cache_write_tokens),
           count(u.cache_read_tokens), count(u.cache_write_tokens), count(u.output_tokens), turns,
           turns == 1 ? "" : "s", calls, calls == 1 ? "" : "s");
    if (lo_agent_cost(s, &cost) == 0)
        printf("cost $%.4f (%s %s)\n", cost, lo_agent_profile_provider(p),
               lo_agent_profile_model(p));
    else
        printf("cost unknown (%s is not in the model catalog)\n", lo_agent_profile_model(p));
}

/* ---- Ctrl-C ----
 * The handler only sets flags: the client's cancel flag stops a call in
 * flight at once, and a watcher thread turns it into lo_agent_abort (which
 * takes locks, so it cannot run in the handler). */

static atomic_bool cancel_flag;
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
    atomic_store(&cancel_flag, true);
}

typedef struct watcher {
    lo_agent_session *s;
    atomic_bool done;
} watcher;

static void *watch(void *arg)
{
    watcher *w = arg;
    struct timespec step = {0, 20 * 1000 * 1000};
    while (!atomic_load(&w->done)) {
        if (atomic_load(&cancel_flag)) {
            lo_agent_abort(w->s);
            break;
        }
        nanosleep(&step, NULL);
    }
    return NULL;
}

/* Threads we start leave SIGINT and SIGTERM to the main thread, so that
 * they interrupt its read of stdin. */
static int start_thread(pthread_t *th, void *(*fn)(void *), void *arg)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(th, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* ---- the provider: --provider, else the model's, else the first one ---- */

static int pick_provider(const opts *o, const provider_setup *ps, char *out, size_t n)
{
    static const char *const order[] = {"anthropic", "openai", "gemini"};
    if (o->provider) {
        const char *var = lo_backend_key_env(o->provider);
        if (!var) {
            cli_error("agent", "unknown provider '%s' (known: anthropic, openai, gemini)",
                      o->provider);
            return EXIT_USAGE;
        }
        if (!lo_llm_client_has_provider(ps->client, o->provider)) {
            cli_error("agent", "--provider %s: %s is not set (or give --twin TAPE)", o->provider,
                      var);
            return EXIT_USAGE;
        }
        snprintf(out, n, "%s", o->provider);
        return 0;
    }
    const lo_llm_model *m = o->model ? lo_llm_model_find(ps->catalog, o->model) : NULL;
    if (m && m->provider) {
        if (!lo_llm_client_has_provider(ps->client, m->provider)) {
            cli_error("agent", "--model %s is a %s model: %s is not set (or give --twin TAPE)",
                      o->model, m->provider, lo_backend_key_env(m->provider));
            return EXIT_USAGE;
        }
        snprintf(out, n, "%s", m->provider);
        return 0;
    }
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (lo_llm_client_has_provider(ps->client, order[i])) {
            snprintf(out, n, "%s", order[i]);
            return 0;
        }
    cli_error("agent", "no model provider is configured: set ANTHROPIC_API_KEY, OPENAI_API_KEY "
              "or GEMINI_API_KEY, or give --twin TAPE");
    return EXIT_USAGE;
}

/* ---- one task, or the interactive loop ---- */

/* The outcome of one submit: prints the answer or the error. */
static int finish_input(view *v, lo_agent_session *s, int rc, const lo_error *err)
{
    pthread_mutex_lock(&v->mu);
    const char *text = lo_agent_last_text(s);
    if (rc != LO_ECANCELED && *text)
        printf("%s%s", text, text[strlen(text) - 1] == '\n' ? "" : "\n");
    fflush(stdout);
    pthread_mutex_unlock(&v->mu);
    if (rc == LO_ECANCELED)
        return EXIT_INTERRUPTED;
    if (rc) {
        cli_error("agent", "%s", err->msg);
        return EXIT_FAIL;
    }
    if (v->turn_limit) {
        cli_error("agent", "stopped at the turn limit before finishing");
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

typedef struct loop {
    view *v;
    lo_agent_session *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *next;              /* the input waiting for the worker */
    bool busy;               /* an input is queued or being processed */
    bool printing;           /* its answer is being shown */
    bool eof;
    int code;                /* the last input's exit code */
} loop;

/* The worker: submits inputs one at a time, so the reading thread stays
 * free to steer. */
static void *worker(void *arg)
{
    loop *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->next && !l->eof)
            pthread_cond_wait(&l->cv, &l->mu);
        if (!l->next)
            break;
        char *input = l->next;
        l->next = NULL;
        pthread_mutex_unlock(&l->mu);
        lo_error err;
        lo_error_clear(&err);
        l->v->turn_limit = false;
        int rc = lo_agent_submit(l->s, input, &err);
        free(input);
        /* not busy before the answer is shown: a line typed after it is a
         * new input, never a late steer */
        pthread_mutex_lock(&l->mu);
        l->busy = false;
        l->printing = true;
        pthread_mutex_unlock(&l->mu);
        int code = finish_input(l->v, l->s, rc, &err);
        pthread_mutex_lock(&l->mu);
        l->code = code;
        l->printing = false;
        pthread_cond_broadcast(&l->cv);
        if (rc == LO_ECANCELED || lo_agent_session_state(l->s) == LO_AGENT_CLOSED) {
            l->eof = true; /* the session cannot take more */
            break;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void prompt(view *v)
{
    if (!isatty(STDIN_FILENO))
        return;
    pthread_mutex_lock(&v->mu);
    printf("agent> ");
    fflush(stdout);
    pthread_mutex_unlock(&v->mu);
}

static int interactive(view *v, lo_agent_session *s)
{
    loop l = {.v = v, .s = s};
    pthread_mutex_init(&l.mu, NULL);
    pthread_cond_init(&l.cv, NULL);
    pthread_t th;
    if (start_thread(&th, worker, &l)) {
        cli_error("agent", "cannot start a thread");
        return EXIT_FAIL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    prompt(v);
    while (!interrupted && (n = getline(&line, &cap, stdin)) >= 0) {
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (!n) {
            prompt(v);
            continue;
        }
        pthread_mutex_lock(&l.mu);
        if (l.eof) {
            pthread_mutex_unlock(&l.mu);
            break;
        }
        if (l.busy) {
            /* the agent is working: this line steers it */
            lo_agent_steer(s, line);
        } else {
            l.next = strdup(line);
            l.busy = l.next != NULL;
            pthread_cond_broadcast(&l.cv);
        }
        pthread_mutex_unlock(&l.mu);
        if (isatty(STDIN_FILENO)) {
            /* at a terminal, the prompt comes back when the agent is done */
            pthread_mutex_lock(&l.mu);
            while ((l.busy || l.printing) && !l.eof)
                pthread_cond_wait(&l.cv, &l.mu);
            bool over = l.eof;
            pthread_mutex_unlock(&l.mu);
            if (over)
                break;
            prompt(v);
        }
    }
    free(line);
    pthread_mutex_lock(&l.mu);
    l.eof = true; /* end of input: the worker finishes what it has */
    pthread_cond_broadcast(&l.cv);
    pthread_mutex_unlock(&l.mu);
    pthread_join(th, NULL);
    pthread_mutex_destroy(&l.mu);
    pthread_cond_destroy(&l.cv);
    return interrupted ? EXIT_INTERRUPTED : l.code;
}

static int run_agent(int argc, char **argv)
{
    opts o = {0};
    int nops = 0, code = 0;
    if (cli_parse(&cmd_agent, argc, argv, on_flag, &o, &nops, &code))
        return code;
    if (nops > 1) {
        cli_error("agent", "give the task as one argument (quote it), or none for the "
                  "interactive loop");
        return EXIT_USAGE;
    }
    o.task = nops ? argv[1] : NULL;
    char cwd[PATH_MAX];
    struct stat sb;
    if (o.cwd && (stat(o.cwd, &sb) || !S_ISDIR(sb.st_mode))) {
        cli_error("agent", "--cwd %s: not a directory", o.cwd);
        return EXIT_USAGE;
    }
    if (!realpath(o.cwd ? o.cwd : ".", cwd)) {
        cli_error("agent", "%s: %s", o.cwd ? o.cwd : ".", strerror(errno));
        return EXIT_USAGE;
    }
    provider_setup ps;
    if ((code = provider_setup_open(&ps, "agent", o.twins, o.n_twins))) {
        provider_setup_close(&ps);
        return code;
    }
    char provider[32];
    lo_error err;
    lo_error_clear(&err);
    view v = {.interactive = !o.task};
    pthread_mutex_init(&v.mu, NULL);
    lo_agent_profile *profile = NULL;
    lo_agent_env *env = NULL;
    lo_agent_session *s = NULL;
    if ((code = pick_provider(&o, &ps, provider, sizeof provider)))
        goto done;
    if (!(profile = lo_agent_profile_new(provider, o.model, ps.catalog, &err))) {
        cli_error("agent", "%s", err.msg);
        code = EXIT_USAGE;
        goto done;
    }
    lo_agent_env_opts eo = {.workdir = cwd, .policy = LO_ENV_INHERIT_FILTERED};
    if (!(env = o.sandbox ? lo_agent_env_sandbox(&eo, &err) : lo_agent_env_local(&eo, &err))) {
        cli_error("agent", "%s", err.msg);
        code = o.sandbox ? EXIT_USAGE : EXIT_FAIL;
        goto done;
    }
    lo_agent_config cfg;
    lo_agent_config_init(&cfg);
    cfg.max_turns = o.max_turns;
    if (!(s = lo_agent_session_new(profile, env, ps.client, &cfg, on_event, &v, &err))) {
        cli_error("agent", "%s", err.msg);
        code = EXIT_FAIL;
        goto done;
    }
    /* no SA_RESTART: the signal ends a read of stdin */
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    lo_llm_client_set_cancel(ps.client, &cancel_flag);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    watcher w = {.s = s};
    atomic_init(&w.done, false);
    pthread_t wth;
    bool watching = start_thread(&wth, watch, &w) == 0;
    if (o.task) {
        int rc = lo_agent_submit(s, o.task, &err);
        code = finish_input(&v, s, rc, &err);
    } else {
        code = interactive(&v, s);
    }
    atomic_store(&w.done, true);
    if (watching)
        pthread_join(wth, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (interrupted)
        code = EXIT_INTERRUPTED;
    print_usage(s, profile);
    if (code == EXIT_INTERRUPTED)
        cli_error("agent", "interrupted");
done:
    lo_agent_session_free(s);
    lo_agent_env_free(env);
    lo_agent_profile_free(profile);
    for (pending_call *c = v.calls, *next; c; c = next) {
        next = c->next;
        free(c->id);
        free(c->line);
        free(c);
    }
    pthread_mutex_destroy(&v.mu);
    provider_setup_close(&ps);
    return code;
}

const cli_command cmd_agent = {
    .name = "agent",
    .usage = "[options] [\"task\"]",
    .summary = "run the coding agent on a task, or interactively",
    .details =
        "With a task, the agent works in --cwd until it is done, then prints one line per\n"
        "tool call (\"> tool {arguments}  [ok, N ms]\"), its answer, and a usage line with\n"
        "tokens and cost. Without one, it reads tasks from stdin, one a line; a line\n"
        "typed while the agent works is sent to it as steering. Files are confined to\n"
        "the working directory; commands run with provider keys and other secrets\n"
        "removed from their environment. The provider needs its key: ANTHROPIC_API_KEY, OPENAI_API_KEY or\n"
        "GEMINI_API_KEY (or --twin TAPE, offline).\n"
        "\n"
        "exit codes: 0 done, 1 the session failed or stopped at --max-turns, 2 usage or\n"
        "configuration error, 130 interrupted.",
    .flags = agent_flags,
    .run = run_agent,
};
