/* The cli backend: a stage runs a headless CLI agent (Claude Code, Codex,
 * Gemini CLI, opencode) as a subprocess in the stage's working directory,
 * and its JSON stream becomes our transcript, usage and outcome
 * (lightsout/backend.h lists the commands). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/proc.h"
#include "pipeline/backend_internal.h"
#include "pipeline/engine_internal.h"
#include "pipeline/handlers/builtin.h"

extern char **environ;

/* What each agent runs by default: the arguments that make it headless,
 * print its JSON stream and let it edit files in its working directory. */
static const struct {
    const char *argv[8];
    const char *model_flag;
    const char *prompt_flag; /* the flag the prompt follows, if it needs one */
} defaults[] = {
    [LO_CLI_CLAUDE] = {{"claude", "-p", "--output-format", "stream-json", "--verbose",
                        "--permission-mode", "acceptEdits", NULL}, "--model", NULL},
    [LO_CLI_CODEX] = {{"codex", "exec", "--json", "--skip-git-repo-check", "--sandbox",
                       "workspace-write", NULL}, "--model", NULL},
    [LO_CLI_GEMINI] = {{"gemini", "-o", "stream-json", "--approval-mode", "auto_edit", NULL},
                       "--model", "-p"},
    [LO_CLI_OPENCODE] = {{"opencode", "run", "--format", "json", NULL}, "--model", NULL},
};

/* ---- argv vectors ---- */

typedef struct strv {
    char **v;
    size_t n, cap;
    bool oom;
} strv;

static void strv_push(strv *s, const char *x)
{
    if (s->oom)
        return;
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **v = lo_realloc(s->v, cap * sizeof *v);
        if (!v) {
            s->oom = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = lo_strdup(x))) {
        s->oom = true;
        return;
    }
    s->v[++s->n] = NULL;
}

void lo_cli_argv_free(char **argv)
{
    for (char **p = argv; p && *p; p++)
        free(*p);
    free(argv);
}

static char **strv_done(strv *s, lo_error *err)
{
    if (s->oom || !s->v) {
        lo_cli_argv_free(s->v);
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    return s->v;
}

/* ---- the command ---- */

static int pick_agent(const lo_graph *g, const lo_node *n, lo_cli_agent *a, lo_error *err)
{
    const char *name = backend_attr(g, n, "cli_agent");
    if (name)
        return lo_cli_agent_parse(name, a, err);
    const char *p = backend_attr(g, n, "llm_provider");
    *a = lo_str_eq(p, "openai") || lo_str_eq(p, "openai_chat") ? LO_CLI_CODEX
         : lo_str_eq(p, "gemini")                               ? LO_CLI_GEMINI
                                                                : LO_CLI_CLAUDE;
    return 0;
}

char **lo_cli_command(const lo_graph *g, const lo_node *n, lo_cli_agent *agent, char *program,
                      size_t n_prog, lo_error *err)
{
    if (pick_agent(g, n, agent, err))
        return NULL;
    strv s = {0};
    const char *cmd = backend_attr(g, n, "cli_command");
    if (cmd) {
        /* the shell splits the command; the prompt comes as "$@", so no
         * character of it is ever shell syntax */
        char script[8192];
        snprintf(script, sizeof script, "%s \"$@\"", cmd);
        strv_push(&s, "/bin/sh");
        strv_push(&s, "-c");
        strv_push(&s, script);
        strv_push(&s, "lightsout-cli");
        if (!lo_shell_program(cmd, program, n_prog))
            program[0] = '\0';
        return strv_done(&s, err);
    }
    for (const char *const *a = defaults[*agent].argv; *a; a++)
        strv_push(&s, *a);
    const char *model = backend_attr(g, n, "llm_model");
    if (model) {
        char both[256];
        const char *provider = backend_attr(g, n, "llm_provider");
        /* opencode names models provider/model */
        if (*agent == LO_CLI_OPENCODE && provider && !strchr(model, '/'))
            snprintf(both, sizeof both, "%s/%s", provider, model);
        else
            snprintf(both, sizeof both, "%s", model);
        strv_push(&s, defaults[*agent].model_flag);
        strv_push(&s, both);
    }
    if (defaults[*agent].prompt_flag)
        strv_push(&s, defaults[*agent].prompt_flag);
    snprintf(program, n_prog, "%s", defaults[*agent].argv[0]);
    return strv_done(&s, err);
}

/* With a twin, the agents' own variables point them at it: each CLI reads
 * its provider's base URL and key from the environment. */
static char **twin_env(const lo_backend_setup *setup, lo_error *err)
{
    char anth[512], oai[512], gem[512], key[256];
    snprintf(anth, sizeof anth, "ANTHROPIC_BASE_URL=%s", setup->twin_url);
    snprintf(oai, sizeof oai, "OPENAI_BASE_URL=%s/v1", setup->twin_url);
    snprintf(gem, sizeof gem, "GOOGLE_GEMINI_BASE_URL=%s", setup->twin_url);
    const char *k = setup->twin_key ? setup->twin_key : "lightsout-twin";
    const char *ours[] = {anth, oai, gem, NULL, NULL, NULL, NULL};
    strv s = {0};
    for (char **e = environ; *e; e++) {
        static const char *const replaced[] = {"ANTHROPIC_BASE_URL=", "OPENAI_BASE_URL=",
                                               "GOOGLE_GEMINI_BASE_URL=", "ANTHROPIC_API_KEY=",
                                               "OPENAI_API_KEY=", "GEMINI_API_KEY=",
                                               "GOOGLE_API_KEY=", NULL};
        bool skip = false;
        for (const char *const *r = replaced; *r && !skip; r++)
            skip = lo_str_starts(*e, *r);
        if (!skip)
            strv_push(&s, *e);
    }
    for (const char **o = ours; *o; o++)
        strv_push(&s, *o);
    static const char *const key_vars[] = {"ANTHROPIC_API_KEY", "OPENAI_API_KEY",
                                           "GEMINI_API_KEY"};
    for (size_t i = 0; i < sizeof key_vars / sizeof key_vars[0]; i++) {
        snprintf(key, sizeof key, "%s=%s", key_vars[i], k);
        strv_push(&s, key);
    }
    return strv_done(&s, err);
}

/* ---- one stage ---- */

typedef struct cli_run {
    lo_cli_stream *stream;
    agent_log log;
    FILE *rd;                 /* reads the stdout file as the agent writes it */
    char out_path[PATH_MAX];
    bool oom;
} cli_run;

static void on_stream_event(lo_agent_event_kind kind, const json_t *data, void *ud)
{
    cli_run *c = ud;
    const char *sid = json_string_value(json_object_get(data, "session_id"));
    if (kind == LO_AGENT_SESSION_START && sid && *sid)
        snprintf(c->log.session_id, sizeof c->log.session_id, "%s", sid);
    agent_log_emit(&c->log, kind, data);
}

static void pump(cli_run *c)
{
    if (!c->rd)
        c->rd = fopen(c->out_path, "r");
    if (!c->rd)
        return;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, c->rd)) > 0)
        if (lo_cli_stream_feed(c->stream, buf, n))
            c->oom = true;
    clearerr(c->rd); /* more may come: EOF is only for now */
}

static void on_output(void *ud) { pump(ud); }

/* The last non-empty line of a file, for messages (at most n-1 bytes). */
static bool last_line(const char *path, char *out, size_t n)
{
    char *data;
    size_t len;
    if (lo_file_read(path, 0, &data, &len, NULL))
        return false;
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
        len--;
    size_t start = len;
    while (start && data[start - 1] != '\n')
        start--;
    bool ok = len > start;
    if (ok) {
        char *clean = lo_utf8_clean(data + start, len - start > n - 1 ? n - 1 : len - start);
        snprintf(out, n, "%s", clean ? clean : "");
        free(clean);
    }
    free(data);
    return ok;
}

/* Why the stage failed, or "" when it did not. */
static void judge(const char *agent, const lo_proc_result *res, const lo_cli_summary *sum,
                  const char *err_path, char *why, size_t n)
{
    char line[320] = "";
    why[0] = '\0';
    if (res->timed_out) {
        snprintf(why, n, "the %s CLI ran past the stage's timeout and was stopped", agent);
    } else if (res->term_signal) {
        snprintf(why, n, "the %s CLI was killed by signal %d", agent, res->term_signal);
    } else if (res->exit_code != 0) {
        const char *detail = sum->error ? sum->error
                             : last_line(err_path, line, sizeof line) ? line
                                                                     : "no message";
        snprintf(why, n, "the %s CLI exited with status %d: %s", agent, res->exit_code, detail);
    } else if (sum->failed) {
        snprintf(why, n, "the %s CLI reported an error: %s", agent,
                 sum->error ? sum->error : "no message");
    } else if (!sum->completed) {
        snprintf(why, n, "the %s CLI's stream ended before its result event (after %ld JSON "
                 "line%s): the output was cut short", agent, sum->lines, sum->lines == 1 ? "" : "s");
    }
}

static void cost_from_catalog(const lo_backend_setup *setup, stage_usage *u)
{
    if (u->has_cost || !u->model)
        return;
    const lo_llm_model *m = lo_llm_model_find(setup->catalog, u->model);
    double usd;
    /* the summed usage of the whole stage: a long-context tier is not
     * applied per request, so this can be low for very long stages */
    if (m && lo_llm_cost(m, &u->usage, &usd) == 0) {
        u->has_cost = true;
        u->cost_usd = usd;
    }
}

static int cli_exec(lo_backend *b, lo_stage *st, char **argv, cli_run *c, lo_proc_result *res,
                    lo_error *err)
{
    const lo_backend_setup *setup = b->ud;
    char err_path[PATH_MAX];
    snprintf(c->out_path, sizeof c->out_path, "%s/cli.stdout.jsonl", st->stage_dir);
    snprintf(err_path, sizeof err_path, "%s/cli.stderr.txt", st->stage_dir);
    char **env = NULL;
    if (setup->twin_url && !(env = twin_env(setup, err)))
        return err->code;
    int64_t timeout = 0;
    if (st->deadline_ms) {
        timeout = st->deadline_ms - lo_now_ms();
        if (timeout <= 0)
            timeout = 1;
    }
    lo_proc_opts o = {.argv = argv, .cwd = st->workdir, .env = env,
                      .stdout_path = c->out_path, .stderr_path = err_path,
                      .timeout_ms = timeout, .cancel = lo_run_cancel_flag(st->run),
                      .on_output = on_output, .ud = c};
    int rc = lo_proc_exec(&o, res, err);
    lo_cli_argv_free(env);
    return rc;
}

static int cli_run_stage(lo_backend *b, lo_stage *st, const char *prompt, lo_buf *response,
                         lo_outcome *out, bool *has_outcome, lo_error *err)
{
    const lo_backend_setup *setup = b->ud;
    *has_outcome = false;
    lo_cli_agent agent;
    char prog[256];
    char **argv = lo_cli_command(st->graph, st->node, &agent, prog, sizeof prog, err);
    if (!argv)
        return err->code;
    strv full = {.v = argv};
    for (full.n = 0; argv[full.n]; full.n++)
        ;
    full.cap = full.n + 1;
    strv_push(&full, prompt);
    if (!(argv = strv_done(&full, err)))
        return LO_ENOMEM;
    const char *name = lo_cli_agent_name(agent);
    cli_run c = {0};
    char sid[160];
    snprintf(sid, sizeof sid, "cli-%s-%d", st->node->id, st->attempt);
    int rc = agent_log_open(&c.log, st, sid, err);
    c.stream = rc ? NULL : lo_cli_stream_new(agent, on_stream_event, &c);
    if (!rc && !c.stream)
        rc = lo_error_set(err, LO_ENOMEM, "out of memory");
    lo_proc_result res;
    memset(&res, 0, sizeof res);
    if (!rc) {
        json_t *in = json_pack("{s:s, s:s, s:i}", "content", prompt, "agent", name, "attempt",
                               st->attempt);
        agent_log_emit(&c.log, LO_AGENT_USER_INPUT, in);
        json_decref(in);
        rc = cli_exec(b, st, argv, &c, &res, err);
    }
    if (c.stream && (!rc || rc == LO_EIO)) {
        pump(&c);
        lo_cli_stream_finish(c.stream);
    }
    if (!rc && c.oom)
        rc = lo_error_set(err, LO_ENOMEM, "out of memory parsing the %s stream", name);
    if (!rc && res.cancelled)
        rc = lo_error_set(err, LO_ECANCELED, "the %s CLI was stopped", name);
    if (!rc) {
        lo_cli_summary sum;
        lo_cli_stream_summary(c.stream, &sum);
        char why[1024], err_path[PATH_MAX];
        snprintf(err_path, sizeof err_path, "%s/cli.stderr.txt", st->stage_dir);
        judge(name, &res, &sum, err_path, why, sizeof why);
        stage_usage u = {.backend = "cli", .agent = name,
                         .model = sum.model ? sum.model : backend_attr(st->graph, st->node,
                                                                        "llm_model"),
                         .usage = sum.usage, .has_cost = sum.has_cost, .cost_usd = sum.cost_usd,
                         .turns = sum.turns, .tool_calls = sum.tool_calls};
        cost_from_catalog(setup, &u);
        json_t *end = json_pack("{s:s, s:i}", "status", *why ? "fail" : "success", "exit_code",
                                res.exit_code);
        agent_log_emit(&c.log, LO_AGENT_SESSION_END, end);
        json_decref(end);
        rc = backend_record_usage(st, out, &u, err);
        if (!rc && *why) {
            *has_outcome = true;
            out->status = LO_FAIL;
            rc = lo_outcome_set_failure(out, "%s", why);
            if (!rc && *sum.text)
                rc = lo_stage_write(st, "response.md", sum.text, err);
        } else if (!rc && lo_buf_puts(response, sum.text)) {
            rc = lo_error_set(err, LO_ENOMEM, "out of memory");
        }
    }
    if (c.rd)
        fclose(c.rd);
    agent_log_close(&c.log);
    lo_cli_stream_free(c.stream);
    lo_buf_release(&res.tail);
    lo_cli_argv_free(argv);
    return rc;
}

static void cli_destroy(lo_backend *b)
{
    free(b->ud);
    free(b);
}

lo_backend *lo_backend_cli(const lo_backend_setup *s, lo_error *err)
{
    lo_backend *b = lo_calloc(1, sizeof *b);
    lo_backend_setup *copy = lo_malloc(sizeof *copy);
    if (!b || !copy) {
        free(b);
        free(copy);
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    *copy = *s;
    b->name = "cli";
    b->run = cli_run_stage;
    b->destroy = cli_destroy;
    b->ud = copy;
    return b;
}
