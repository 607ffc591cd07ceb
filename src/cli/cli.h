/* The command line: one file per subcommand, dispatched from main.c. Only
 * this layer prints for humans or decides exit codes. */
#ifndef LO_CLI_H
#define LO_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

/* A flag, documented once: --help is generated from this table and the
 * option parser is built from it, so the two cannot disagree. */
typedef struct cli_flag {
    const char *name;   /* long name without dashes */
    char short_name;    /* 0 when none */
    const char *arg;    /* argument placeholder, NULL for a switch */
    const char *doc;
} cli_flag;

typedef struct cli_command {
    const char *name;
    const char *usage;   /* after "lightsout NAME " */
    const char *summary; /* one line */
    const char *details; /* paragraph(s) for --help, may be NULL */
    const cli_flag *flags;
    int (*run)(int argc, char **argv);
} cli_command;

/* Parse argv against cmd->flags. Calls on_flag for each flag (index into
 * cmd->flags, its argument or NULL; a non-zero return is the exit code);
 * moves the operands to argv[1..*nops].
 * Handles --help (prints it, returns 1 with *exit_code 0) and usage errors
 * (prints one line, returns 1 with *exit_code 2). Returns 0 to continue. */
int cli_parse(const cli_command *cmd, int argc, char **argv,
              int (*on_flag)(int idx, const char *arg, void *ud), void *ud,
              int *nops, int *exit_code);
void cli_print_help(const cli_command *cmd, FILE *out);
/* "lightsout CMD: message" on stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

extern const cli_command cmd_validate, cmd_render, cmd_run, cmd_resume, cmd_status, cmd_models,
    cmd_twin, cmd_agent;
extern const cli_command cmd_clean, cmd_init;
extern const cli_command cmd_llm;

#endif
