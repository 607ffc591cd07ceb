/* shell (§3.3, §5.4): run a command through the environment (its own
 * process group, /bin/bash -c, secrets filtered from its environment) and
 * show the model what it printed and how it ended.
 *
 * A command that fails is not a tool error: the model needs its output and
 * exit code to fix things. Only a command that cannot be run at all is. */
#include <signal.h>
#include <string.h>

#include "agent/tools/tools_internal.h"

enum {
    DEFAULT_TIMEOUT_MS = 10000,
    ANTHROPIC_TIMEOUT_MS = 120000, /* Claude Code's Bash default (§3.5) */
    MAX_TIMEOUT_MS = 600000,
};

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGPIPE: return "SIGPIPE";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    default: return "a signal";
    }
}

static int64_t timeout_for(const lo_agent_tool_ctx *ctx, int flavor, int64_t asked)
{
    const lo_agent_config *c = ctx->config;
    int64_t def = c && c->default_command_timeout_ms > 0 ? c->default_command_timeout_ms
                                                         : DEFAULT_TIMEOUT_MS;
    if (flavor == LO_FLAVOR_ANTHROPIC)
        def = ANTHROPIC_TIMEOUT_MS;
    int64_t max = c && c->max_command_timeout_ms > 0 ? c->max_command_timeout_ms
                                                     : MAX_TIMEOUT_MS;
    int64_t t = asked > 0 ? asked : def;
    return t < max ? t : max;
}

static int format(lo_buf *out, const lo_agent_exec_result *r, int64_t timeout_ms)
{
    const char *so = r->stdout_text ? r->stdout_text : "";
    const char *se = r->stderr_text ? r->stderr_text : "";
    int rc = lo_buf_puts(out, so);
    if (!rc && *so && so[strlen(so) - 1] != '\n')
        rc = lo_buf_putc(out, '\n');
    if (!rc && *se) {
        rc = lo_buf_puts(out, "[stderr]\n");
        rc = rc ? rc : lo_buf_puts(out, se);
        if (!rc && se[strlen(se) - 1] != '\n')
            rc = lo_buf_putc(out, '\n');
    }
    if (!rc && r->timed_out)
        rc = lo_buf_printf(out,
                           "[ERROR: Command timed out after %lldms. Partial output is shown "
                           "above.\nYou can retry with a longer timeout by setting the "
                           "timeout_ms parameter.]\n",
                           (long long)timeout_ms);
    if (!rc && r->cancelled)
        rc = lo_buf_puts(out, "[The command was stopped: the session was aborted.]\n");
    if (!rc && r->output_limited)
        rc = lo_buf_puts(out, "[The command was stopped: it wrote more output than is kept "
                              "(16 MiB). Redirect big output to a file and read parts of "
                              "it.]\n");
    if (rc)
        return rc;
    if (r->term_signal)
        return lo_buf_printf(out, "Exit code: none (killed by %s, signal %d), %lld ms\n",
                             signal_name(r->term_signal), r->term_signal,
                             (long long)r->duration_ms);
    return lo_buf_printf(out, "Exit code: %d, %lld ms\n", r->exit_code,
                         (long long)r->duration_ms);
}

static int run(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    const char *command, *dir = NULL;
    int64_t asked;
    int flavor = lo_agent_tool_flavor_(ctx);
    const char *dir_key = flavor == LO_FLAVOR_GEMINI ? "directory" : "workdir";
    int rc = lo_agent_arg_str_(args, "shell", "command", true, &command, err);
    rc = rc ? rc : lo_agent_arg_int_(args, "shell", "timeout_ms", 1, 0, &asked, err);
    rc = rc ? rc : lo_agent_arg_str_(args, "shell", dir_key, false, &dir, err);
    lo_agent_env *env = rc ? NULL : lo_agent_tool_env_(ctx, "shell", err);
    if (!env)
        return rc ? rc : LO_EINVAL;
    if (!*command)
        return lo_error_set(err, LO_EINVAL, "shell: the command is empty");
    if (!env->ops->exec)
        return lo_error_set(err, LO_EINVAL, "shell: the %s environment cannot run commands",
                            env->ops->name);
    int64_t t = timeout_for(ctx, flavor, asked);
    lo_agent_exec_result r;
    if ((rc = env->ops->exec(env, command, t, dir, NULL, ctx->cancel, &r, err)))
        return rc;
    rc = format(out, &r, t);
    lo_agent_exec_result_release(&r);
    return rc ? lo_error_set(err, rc, "shell: out of memory") : 0;
}

static const char OPENAI_DESC[] =
    "Run a shell command (bash -c) in the workspace and return its output and exit code. "
    "Commands run in the working directory unless workdir is given; the default timeout is "
    "10 seconds, timeout_ms raises it. Prefer rg for searching text and files. Avoid "
    "interactive commands: there is no terminal and no input.";

static const char ANTHROPIC_DESC[] =
    "Executes a bash command and returns its stdout, stderr and exit code.\n"
    "- Commands run in the working directory, in a fresh shell each time: cd does not "
    "persist between calls, so use paths or `cd dir && ...` in one command.\n"
    "- The default timeout is 120000 ms (2 minutes); set timeout_ms for longer work, up to "
    "the configured maximum.\n"
    "- Quote paths that contain spaces. Chain dependent commands with &&.\n"
    "- Use the grep, glob and read_file tools rather than grep, find or cat in the shell.\n"
    "- Describe what the command does in a few words in description.\n"
    "- Never run interactive commands (editors, pagers, prompts): there is no input.";

static const char GEMINI_DESC[] =
    "Executes a command with bash -c and returns stdout, stderr, the exit code and the "
    "time it took. The command runs in its own process group, in the working directory or "
    "in directory (relative to it). The default timeout is 10 seconds; timeout_ms changes "
    "it. Explain in description what the command does and why, especially before "
    "commands that modify files or the system. Interactive commands are not supported.";

static const char OPENAI_SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"command\":{\"type\":\"string\",\"description\":\"The command to run with bash -c.\"},"
    "\"workdir\":{\"type\":\"string\",\"description\":\"Directory to run it in (default: "
    "the working directory).\"},"
    "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"Timeout in "
    "milliseconds (default 10000).\"}},"
    "\"required\":[\"command\"],\"additionalProperties\":false}";

static const char ANTHROPIC_SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"command\":{\"type\":\"string\",\"description\":\"The command to execute.\"},"
    "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"Optional timeout "
    "in milliseconds (default 120000).\"},"
    "\"description\":{\"type\":\"string\",\"description\":\"What this command does, in 5-10 "
    "words.\"}},"
    "\"required\":[\"command\"],\"additionalProperties\":false}";

static const char GEMINI_SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"command\":{\"type\":\"string\",\"description\":\"Exact bash command to execute.\"},"
    "\"description\":{\"type\":\"string\",\"description\":\"Brief description of the "
    "command for the user.\"},"
    "\"directory\":{\"type\":\"string\",\"description\":\"Directory to run the command in, "
    "relative to the working directory (default: the working directory).\"},"
    "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"Timeout in "
    "milliseconds (default 10000).\"}},"
    "\"required\":[\"command\"],\"additionalProperties\":false}";

int lo_agent_add_shell_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err)
{
    const char *desc = f == LO_FLAVOR_ANTHROPIC ? ANTHROPIC_DESC
                       : f == LO_FLAVOR_GEMINI  ? GEMINI_DESC
                                                : OPENAI_DESC;
    const char *schema = f == LO_FLAVOR_ANTHROPIC ? ANTHROPIC_SCHEMA
                         : f == LO_FLAVOR_GEMINI  ? GEMINI_SCHEMA
                                                  : OPENAI_SCHEMA;
    return lo_agent_tool_register_(r, "shell", desc, schema, run, f, err);
}
