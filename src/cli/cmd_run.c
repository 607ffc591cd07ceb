/* lightsout run / resume: execute a pipeline, or continue one from its
 * checkpoint. Preflight first, so a run fails in its first second. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/run_repo.h"
#include "cli/run_backend.h"
#include "lightsout/engine.h"
#include "lightsout/lint.h"
#include "lightsout/proc.h"
#include "lightsout/transform.h"

typedef struct opts {
    const char *logs, *workdir, *answers, *backend;
    bool agent_sandbox;
    json_t *set;
    const char *twins[PROVIDER_MAX_TAPES];
    size_t n_twins;
    const json_t *recorded; /* resume: the manifest's backend_choice */
    bool json, auto_approve;
    int64_t stall_ms;
    const char *cmd;
    const char *repo;          /* --repo DIR */
    bool keep;                 /* --keep */
    const json_t *manifest;    /* resume: the run's manifest.json */
} opts;

static const cli_flag run_flags[] = {
    {"logs", 0, "DIR", "run directory (default .lightsout/runs/RUN_ID)"},
    {"workdir", 'C', "DIR", "directory stages run in (default: the current one)"},
    {"set", 0, "KEY=VALUE", "set a context value before the run (repeatable)"},
    {"answers", 0, "FILE", "answers for human gates, one a line, in order"},
    {"auto-approve", 0, NULL, "human gates take their first choice"},
    {"backend", 0, "NAME", "every codergen stage on api, cli or sim (simulated)"},
    {"twin", 0, "TAPE", "run the api backend against a twin serving TAPE (repeatable)"},
    {"agent-sandbox", 0, NULL, "the api backend's commands under bubblewrap (workdir writable, no network)"},
    {"stall-timeout", 0, "DURATION", "stop a stage silent this long (e.g. 10m)"},
    {"json", 0, NULL, "print events as JSON lines on stdout"},
    {"repo", 0, "DIR", "run in a git worktree of DIR on a new branch lightsout/RUN_ID"},
    {"keep", 0, NULL, "with --repo: keep the worktree when the run ends"},
    {0},
};

static const cli_flag resume_flags[] = {
    {"answers", 0, "FILE", "answers for human gates, one a line, in order"},
    {"auto-approve", 0, NULL, "human gates take their first choice"},
    {"backend", 0, "NAME", "every codergen stage on api, cli or sim (default: the run's)"},
    {"twin", 0, "TAPE", "a twin serving TAPE for the api backend (default: the run's)"},
    {"stall-timeout", 0, "DURATION", "stop a stage silent this long (e.g. 10m)"},
    {"json", 0, NULL, "print events as JSON lines on stdout"},
    {"keep", 0, NULL, "a --repo run: keep the worktree when the run ends"},
    {0},
};

static int on_flag(const cli_flag *flags, int idx, const char *arg, opts *o)
{
    const char *name = flags[idx].name;
    if (!strcmp(name, "logs")) o->logs = arg;
    else if (!strcmp(name, "workdir")) o->workdir = arg;
    else if (!strcmp(name, "answers")) o->answers = arg;
    else if (!strcmp(name, "auto-approve")) o->auto_approve = true;
    else if (!strcmp(name, "backend")) o->backend = arg;
    else if (!strcmp(name, "twin")) {
        if (o->n_twins == PROVIDER_MAX_TAPES) {
            cli_error(o->cmd, "at most %d --twin tapes", PROVIDER_MAX_TAPES);
            return EXIT_USAGE;
        }
        o->twins[o->n_twins++] = arg;
    }
    else if (!strcmp(name, "json")) o->json = true;
    else if (!strcmp(name, "agent-sandbox")) o->agent_sandbox = true;
    else if (!strcmp(name, "repo")) o->repo = arg;
    else if (!strcmp(name, "keep")) o->keep = true;
    else if (!strcmp(name, "stall-timeout")) {
        if (lo_parse_duration_ms(arg, &o->stall_ms) || o->stall_ms <= 0) {
            cli_error(o->cmd, "--stall-timeout wants a duration such as 90s or 10m, not '%s'", arg);
            return EXIT_USAGE;
        }
    } else if (!strcmp(name, "set")) {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg) {
            cli_error(o->cmd, "--set wants KEY=VALUE, not '%s'", arg);
            return EXIT_USAGE;
        }
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
        json_object_set_new(o->set, key, json_string(eq + 1));
    }
    return 0;
}

static int on_run_flag(int idx, const char *arg, void *ud) { return on_flag(run_flags, idx, arg, ud); }
static int on_resume_flag(int idx, const char *arg, void *ud) { return on_flag(resume_flags, idx, arg, ud); }

static lo_engine *volatile current;

static void on_signal(int sig)
{
    if (current)
        lo_engine_cancel(current);
}

/* Preflight (issue: a run fails in its first second, not hours in). */
static int preflight(const lo_graph *g, const opts *o, bool *has_human)
{
    int bad = 0;
    *has_human = false;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        const lo_node *n = g->nodes[i];
        const char *type = lo_node_handler_type(n);
        if (!strcmp(type, "wait.human"))
            *has_human = true;
        bool gate = !strcmp(type, "gate");
        if (!strcmp(type, "tool") || gate) {
            char prog[256], path[PATH_MAX];
            if (lo_shell_program(lo_node_str(n, gate ? "command" : "tool_command"), prog,
                                 sizeof prog) &&
                !lo_which(prog, path, sizeof path)) {
                cli_error(o->cmd, "preflight: node '%s' runs '%s', which is not on PATH", n->id,
                          prog);
                bad = 1;
            }
        }
        char why[512];
        if (gate && !strcmp(lo_node_str(n, "sandbox"), "true") &&
            !lo_sandbox_available(why, sizeof why)) {
            cli_error(o->cmd, "preflight: gate '%s' requires the sandbox (sandbox=true): %s",
                      n->id, why);
            bad = 1;
        }
    }
    return bad;
}

static lo_interviewer *make_interviewer(const opts *o, bool has_human, lo_error *err)
{
    if (o->answers)
        return lo_interviewer_queue_file(o->answers, err);
    if (o->auto_approve)
        return lo_interviewer_auto();
    if (isatty(STDIN_FILENO) && isatty(STDERR_FILENO))
        return lo_interviewer_console(stdin, stderr);
    if (!has_human)
        return lo_interviewer_auto(); /* never asked */
    lo_error_set(err, LO_EINVAL, "the pipeline has human gates and stdin is not a terminal: "
                 "give --answers FILE or --auto-approve");
    return NULL;
}

static int execute(opts *o, const char *dot, const char *logs, bool resume)
{
    lo_error err;
    lo_error_clear(&err);
    lo_diags *d = lo_diags_new();
    lo_transforms *t = lo_transforms_new();
    if (!d || !t) {
        cli_error(o->cmd, "out of memory");
        return EXIT_FAIL;
    }
    lo_graph *g = lo_pipeline_prepare(dot, t, d, &err);
    lo_transforms_free(t);
    lo_buf out;
    lo_buf_init(&out, 0);
    int code = EXIT_OK;
    lo_interviewer *iv = NULL;
    run_backend rb = {0};
    lo_engine *e = NULL;
    run_repo rr = {0};
    if (!g) {
        if (err.code == LO_EPARSE)
            lo_error_format_rule(&err, "syntax", true, &out);
        else
            lo_buf_printf(&out, "lightsout %s: %s\n", o->cmd, err.msg);
        fputs(out.data ? out.data : "", stderr);
        code = EXIT_USAGE;
        goto done;
    }
    if (lo_diags_count(d, LO_SEV_ERROR)) {
        for (size_t i = 0; i < d->n; i++)
            if (d->v[i].severity == LO_SEV_ERROR)
                lo_diag_format(&d->v[i], g, true, &out);
        fputs(out.data, stderr);
        cli_error(o->cmd, "%s has %zu error%s; not running it", dot, lo_diags_count(d, LO_SEV_ERROR),
                  lo_diags_count(d, LO_SEV_ERROR) == 1 ? "" : "s");
        code = EXIT_USAGE;
        goto done;
    }
    bool has_human;
    if (preflight(g, o, &has_human)) {
        code = EXIT_USAGE;
        goto done;
    }
    if ((code = run_backend_open(&rb, o->cmd, g, o->backend, o->twins, o->n_twins, o->agent_sandbox,
                                 o->recorded)))
        goto done;
    iv = make_interviewer(o, has_human, &err);
    if (!iv) {
        cli_error(o->cmd, "%s", err.msg[0] ? err.msg : "out of memory");
        code = EXIT_USAGE;
        goto done;
    }
    progress p;
    progress_init(&p, o->json ? stdout : stderr, o->json);
    lo_engine_config cfg = {
        .logs_root = logs, .workdir = o->workdir, .dot_path = dot, .interviewer = iv,
        .backend = rb.router, .on_event = progress_event, .event_ud = &p,
        .stall_timeout_ms = o->stall_ms,
        .initial_context = json_object_size(o->set) ? o->set : NULL,
        .manifest_extra = rb.manifest_extra,
    };
    if (o->repo && o->workdir) {
        progress_done(&p);
        cli_error(o->cmd, "--repo and -C do not go together: a --repo run works in its "
                  "worktree");
        code = EXIT_USAGE;
        goto done;
    }
    if ((o->repo && (code = run_repo_start(&rr, o->repo, logs, o->keep, o->cmd, &cfg))) ||
        (o->manifest &&
         (code = run_repo_resume(&rr, o->manifest, dot, logs, o->keep, o->cmd, &cfg)))) {
        progress_done(&p);
        goto done;
    }
    /* a --repo run records its repository there too: one object for both */
    if (rr.extra && rb.manifest_extra && json_object_update_missing(rr.extra, rb.manifest_extra)) {
        progress_done(&p);
        cli_error(o->cmd, "out of memory");
        code = EXIT_FAIL;
        goto done;
    }
    e = lo_engine_new(g, &cfg, &err);
    if (!e) {
        progress_done(&p);
        cli_error(o->cmd, "%s", err.msg);
        code = EXIT_FAIL;
        goto done;
    }
    current = e;
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    lo_run_result res;
    int rc = lo_engine_run(e, resume, &res, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    current = NULL;
    progress_done(&p);
    const char *root = lo_engine_logs_root(e);
    if (rc) {
        cli_error(o->cmd, "%s", err.msg);
        code = rc == LO_EINVAL || rc == LO_ENOENT || rc == LO_EPARSE ? EXIT_USAGE : EXIT_FAIL;
    } else if (res.already_ended) {
        fprintf(stderr, "run %s had already ended (%s)%s%s; nothing to resume. Logs: %s\n",
                lo_engine_run_id(e), res.status == LO_FAIL ? "failed" : "completed",
                res.status == LO_FAIL ? ": " : "", res.status == LO_FAIL ? res.failure_reason : "",
                root);
        code = res.status == LO_FAIL ? EXIT_FAIL : EXIT_OK;
    } else if (res.interrupted) {
        fprintf(stderr, "interrupted; the checkpoint is saved. Resume with:\n  lightsout resume %s\n",
                root);
        code = EXIT_INTERRUPTED;
    } else if (res.status == LO_FAIL) {
        fprintf(stderr, "run failed: %s\n  logs: %s\n", res.failure_reason, root);
        code = EXIT_FAIL;
    } else {
        fprintf(stderr, "run %s: %zu stage%s; logs: %s\n",
                res.status == LO_PARTIAL_SUCCESS ? "partially succeeded" : "succeeded",
                res.stages_run, res.stages_run == 1 ? "" : "s", root);
    }
    char cost[160];
    usage_tally_format(&p.usage, cost, sizeof cost);
    if (cost[0])
        fprintf(stderr, "  cost%s: %s\n", resume ? " of this resume" : "", cost);
    run_repo_finish(&rr, rc == 0 && !res.interrupted, o->cmd);
done:
    run_repo_release(&rr);
    lo_engine_free(e);
    lo_interviewer_free(iv);
    run_backend_close(&rb);
    lo_graph_free(g);
    lo_diags_free(d);
    lo_buf_release(&out);
    return code;
}

static int run_main(int argc, char **argv)
{
    opts o = {.cmd = "run", .set = json_object()};
    int nops, code;
    if (cli_parse(&cmd_run, argc, argv, on_run_flag, &o, &nops, &code)) {
        json_decref(o.set);
        return code;
    }
    if (nops != 1) {
        cli_error("run", "give one pipeline (usage: lightsout run FILE.dot [options])");
        json_decref(o.set);
        return EXIT_USAGE;
    }
    code = execute(&o, argv[1], o.logs, false);
    json_decref(o.set);
    return code;
}

static int resume_main(int argc, char **argv)
{
    opts o = {.cmd = "resume", .set = json_object()};
    int nops, code;
    if (cli_parse(&cmd_resume, argc, argv, on_resume_flag, &o, &nops, &code)) {
        json_decref(o.set);
        return code;
    }
    if (nops != 1) {
        cli_error("resume", "give the run directory (usage: lightsout resume LOGS_DIR)");
        json_decref(o.set);
        return EXIT_USAGE;
    }
    const char *logs = argv[1];
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/manifest.json", logs);
    json_error_t je;
    json_t *m = json_load_file(path, 0, &je);
    const char *dot = m ? json_string_value(json_object_get(m, "pipeline")) : NULL;
    const char *wd = m ? json_string_value(json_object_get(m, "workdir")) : NULL;
    if (!dot || !*dot) {
        cli_error("resume", "%s: %s", path, m ? "no pipeline recorded" :
                  access(path, F_OK) ? "not found: is this a run directory?" : je.text);
        json_decref(m);
        json_decref(o.set);
        return EXIT_USAGE;
    }
    o.workdir = wd;
    o.manifest = m;
    o.recorded = json_object_get(m, "backend_choice");
    code = execute(&o, dot, logs, true);
    json_decref(m);
    json_decref(o.set);
    return code;
}

const cli_command cmd_run = {
    .name = "run",
    .usage = "FILE.dot [--logs DIR] [-C DIR | --repo DIR [--keep]] [--set KEY=VALUE]... "
             "[--backend NAME] [--twin TAPE]... [--agent-sandbox] [--json]",
    .summary = "run a pipeline",
    .details =
        "Validates the pipeline and checks that every tool it runs exists, then runs\n"
        "it from the start node. The run directory holds manifest.json, events.jsonl,\n"
        "checkpoint.json and one directory per stage (status.json, prompt.md,\n"
        "response.md, stdout.txt ...). Ctrl-C stops the running stage, saves the\n"
        "checkpoint and prints the command that resumes.\n"
        "Codergen stages run on --backend when given, else on the backend their\n"
        "node (or the stylesheet, or the graph) names: api (the native agent; the\n"
        "default when ANTHROPIC_API_KEY, OPENAI_API_KEY or GEMINI_API_KEY is set),\n"
        "cli (a headless CLI agent: claude, codex, gemini, opencode) or sim\n"
        "(simulated, only on purpose). With no provider configured the preflight\n"
        "says which variable to set. --twin TAPE starts a twin of every provider\n"
        "in-process and points the api backend at it, so the run stays offline.\n"
        "--agent-sandbox runs the native agent's commands under bubblewrap (the\n"
        "workdir writable, the rest read-only, no network); a resume keeps it.\n"
        "With --repo DIR the run works in a git worktree of DIR on a new branch\n"
        "lightsout/RUN_ID (from DIR's HEAD), commits after every stage that changed\n"
        "files, and never touches DIR's own checkout; the run directory defaults to\n"
        "DIR's .git/lightsout/runs/RUN_ID. The worktree is removed when the run ends\n"
        "(the branch stays) unless --keep; 'lightsout clean' removes leftovers.\n"
        "Exit 0 success or partial success, 1 failed, 2 invalid pipeline or usage,\n"
        "130 interrupted.",
    .flags = run_flags,
    .run = run_main,
};

const cli_command cmd_resume = {
    .name = "resume",
    .usage = "LOGS_DIR [--answers FILE] [--json]",
    .summary = "continue a run from its checkpoint",
    .details =
        "Reads LOGS_DIR/manifest.json for the pipeline and LOGS_DIR/checkpoint.json\n"
        "for where the run stood, and continues from there. Refuses when the pipeline\n"
        "file has changed since the run started. A run that already ended reports how.\n"
        "A --repo run continues on its branch, in its worktree (made again if it was\n"
        "removed), from the last stage its checkpoint recorded.\n"
        "Without --backend or --twin it uses the run's own, recorded in manifest.json.",
    .flags = resume_flags,
    .run = resume_main,
};
