/* Tool call hooks (attractor-spec §9.7): a shell command before and after
 * each agent tool call. The agent loop calls lo_run_tool_hook; the engine
 * only provides the mechanism and records every hook run as an event. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/engine.h"
#include "lightsout/proc.h"

extern char **environ;

static const char *hook_command(const lo_stage *st, const char *phase)
{
    char key[32];
    snprintf(key, sizeof key, "tool_hooks.%s", phase);
    const lo_attr *a = lo_attrs_get(&st->node->attrs, key);
    if (a && a->value.len)
        return a->value.text;
    return lo_graph_str(st->graph, key);
}

int lo_run_tool_hook(lo_run *r, const lo_stage *st, const char *phase, const char *tool_name,
                     const json_t *call, bool *proceed, lo_error *err)
{
    *proceed = true;
    if (strcmp(phase, "pre") != 0 && strcmp(phase, "post") != 0)
        return lo_error_set(err, LO_EINVAL, "tool hook phase must be pre or post, not '%s'", phase);
    const char *cmd = hook_command(st, phase);
    if (!*cmd)
        return 0;
    char input[PATH_MAX], out[PATH_MAX];
    snprintf(input, sizeof input, "%s/hook-%s-input.json", st->stage_dir, phase);
    snprintf(out, sizeof out, "%s/hook-%s.log", st->stage_dir, phase);
    char *text = call ? json_dumps(call, JSON_ENCODE_ANY | JSON_COMPACT) : lo_strdup("null");
    if (!text)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    int rc = lo_file_write_atomic(input, text, strlen(text), err);
    free(text);
    if (rc)
        return rc;
    /* the environment: ours plus the hook's variables */
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = lo_calloc(n + 6, sizeof *env);
    char *vars[5] = {0};
    if (!env)
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LIGHTSOUT_HOOK", 14) != 0 &&
            strncmp(environ[i], "LIGHTSOUT_TOOL_NAME=", 20) != 0 &&
            strncmp(environ[i], "LIGHTSOUT_STAGE=", 16) != 0)
            env[k++] = environ[i];
    const char *kv[5][2] = {{"LIGHTSOUT_HOOK", phase}, {"LIGHTSOUT_TOOL_NAME", tool_name},
                            {"LIGHTSOUT_STAGE", st->node->id}, {"LIGHTSOUT_HOOK_INPUT", input},
                            {"LIGHTSOUT_HOOK_CMD", cmd}};
    for (int i = 0; i < 5; i++) {
        size_t len = strlen(kv[i][0]) + strlen(kv[i][1]) + 2;
        if (!(vars[i] = lo_malloc(len))) {
            rc = lo_error_set(err, LO_ENOMEM, "out of memory");
            goto out;
        }
        snprintf(vars[i], len, "%s=%s", kv[i][0], kv[i][1]);
        env[k++] = vars[i];
    }
    /* the call's JSON on stdin, the command run by the shell as written */
    char *argv[] = {"/bin/sh", "-c", "exec 0<\"$LIGHTSOUT_HOOK_INPUT\"; eval \"$LIGHTSOUT_HOOK_CMD\"",
                    NULL};
    lo_proc_opts o = {.argv = argv, .cwd = st->workdir, .env = env, .stdout_path = out,
                      .stderr_path = out, .timeout_ms = 30000, .tail_bytes = 512,
                      .cancel = lo_run_cancel_flag(r)};
    lo_proc_result res;
    memset(&res, 0, sizeof res);
    rc = lo_proc_exec(&o, &res, err);
    if (!rc) {
        bool ok = res.exit_code == 0 && !res.timed_out;
        if (strcmp(phase, "pre") == 0)
            *proceed = ok;
        lo_run_emit(r, "tool_hook",
                    json_pack("{s:s, s:s, s:s, s:i, s:b, s:b}", "node", st->node->id, "phase",
                              phase, "tool", tool_name, "exit_code", res.exit_code,
                              "timed_out", res.timed_out, "proceed", *proceed));
    }
    lo_buf_release(&res.tail);
out:
    for (int i = 0; i < 5; i++)
        free(vars[i]);
    free(env);
    return rc;
}
