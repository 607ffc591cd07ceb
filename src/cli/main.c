/* lightsout: entry point and subcommand dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lightsout/base.h"

static const cli_command *const commands[] = {
    &cmd_validate,
    &cmd_render,
    &cmd_run,
    &cmd_resume,
    &cmd_status,
    &cmd_models,
    &cmd_twin,
    &cmd_clean,
    &cmd_init,
    &cmd_llm,
    &cmd_agent,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lightsout%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void cli_print_help(const cli_command *cmd, FILE *out)
{
    fprintf(out, "usage: lightsout %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    if (cmd->details)
        fprintf(out, "\n%s\n", cmd->details);
    fprintf(out, "\noptions:\n");
    for (const cli_flag *f = cmd->flags; f && f->name; f++) {
        char left[64];
        if (f->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", f->short_name, f->name,
                     f->arg ? " " : "", f->arg ? f->arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", f->name, f->arg ? " " : "",
                     f->arg ? f->arg : "");
        fprintf(out, "  %-26s %s\n", left, f->doc);
    }
    fprintf(out, "  %-26s %s\n", "-h, --help", "show this help");
}

int cli_parse(const cli_command *cmd, int argc, char **argv,
              int (*on_flag)(int idx, const char *arg, void *ud), void *ud,
              int *nops, int *exit_code)
{
    bool help = false;
    int out = 1; /* operands are compacted to argv[1..] */
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            while (++i < argc)
                argv[out++] = argv[i];
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            argv[out++] = a;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help = true;
            continue;
        }
        const cli_flag *f = NULL;
        const char *inline_arg = NULL;
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);
            for (const cli_flag *c = cmd->flags; c && c->name; c++)
                if (strlen(c->name) == n && strncmp(c->name, name, n) == 0)
                    f = c;
            if (eq)
                inline_arg = eq + 1;
        } else {
            for (const cli_flag *c = cmd->flags; c && c->name; c++)
                if (c->short_name && c->short_name == a[1])
                    f = c;
            if (f && a[2])
                inline_arg = a + 2;
        }
        if (!f) {
            cli_error(cmd->name, "unknown option '%s' (see 'lightsout %s --help')", a, cmd->name);
            *exit_code = EXIT_USAGE;
            return 1;
        }
        const char *arg = NULL;
        if (f->arg) {
            if (inline_arg)
                arg = inline_arg;
            else if (i + 1 < argc)
                arg = argv[++i];
            else {
                cli_error(cmd->name, "option --%s needs an argument %s", f->name, f->arg);
                *exit_code = EXIT_USAGE;
                return 1;
            }
        } else if (inline_arg) {
            cli_error(cmd->name, "option --%s takes no argument", f->name);
            *exit_code = EXIT_USAGE;
            return 1;
        }
        int rc = on_flag((int)(f - cmd->flags), arg, ud);
        if (rc) {
            *exit_code = rc;
            return 1;
        }
    }
    if (help) {
        cli_print_help(cmd, stdout);
        *exit_code = EXIT_OK;
        return 1;
    }
    *nops = out - 1;
    argv[out] = NULL;
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lightsout COMMAND [options] [arguments]\n\n"
            "lightsout runs Attractor pipelines: coding agents, tool steps and\n"
            "validation gates wired together in DOT.\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out,
            "\noptions:\n"
            "  -h, --help     show this help; 'lightsout COMMAND --help' for a command\n"
            "  -V, --version  print the version\n"
            "\nexit codes: 0 success, 1 the pipeline or check failed, 2 usage or\n"
            "invalid input, 130 interrupted.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            for (size_t i = 0; i < N_COMMANDS; i++)
                if (strcmp(commands[i]->name, argv[2]) == 0) {
                    cli_print_help(commands[i], stdout);
                    return EXIT_OK;
                }
        }
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0 ||
        strcmp(name, "version") == 0) {
        printf("lightsout %s\n", LO_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i]->run(argc - 1, argv + 1);
    const char *names[N_COMMANDS];
    for (size_t i = 0; i < N_COMMANDS; i++)
        names[i] = commands[i]->name;
    const char *s = lo_closest(name, names, N_COMMANDS, 2);
    if (s)
        cli_error(NULL, "unknown command '%s'; did you mean '%s'?", name, s);
    else
        cli_error(NULL, "unknown command '%s' (see 'lightsout --help')", name);
    return EXIT_USAGE;
}
