/* lightsout init ralph|factory [DIR]: write a commented starter pipeline
 * (and the small files it needs) from the templates built into the binary
 * (data/init/, src/cli/init_files.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/init_files.h"
#include "lightsout/base.h"

static const char *const templates[] = {"ralph", "factory"};
#define N_TEMPLATES (sizeof templates / sizeof templates[0])

typedef struct opts {
    bool force;
} opts;

static const cli_flag init_flags[] = {
    {"force", 'f', NULL, "overwrite files that exist"},
    {0},
};

static int on_flag(int idx, const char *arg, void *ud)
{
    (void)idx, (void)arg;
    ((opts *)ud)->force = true;
    return 0;
}

/* The template's files: init_files whose path starts with "NAME/". */
static bool in_template(const init_file *f, const char *name, const char **rel)
{
    size_t n = strlen(name);
    if (strncmp(f->path, name, n) || f->path[n] != '/')
        return false;
    *rel = f->path + n + 1;
    return true;
}

static int init_main(int argc, char **argv)
{
    opts o = {0};
    int nops, code;
    if (cli_parse(&cmd_init, argc, argv, on_flag, &o, &nops, &code))
        return code;
    if (nops < 1 || nops > 2) {
        cli_error("init", "give a starter and optionally a directory (usage: lightsout init "
                  "ralph|factory [DIR])");
        return EXIT_USAGE;
    }
    const char *name = argv[1], *dir = nops == 2 ? argv[2] : ".";
    bool known = false;
    for (size_t i = 0; i < N_TEMPLATES; i++)
        known |= !strcmp(templates[i], name);
    if (!known) {
        const char *s = lo_closest(name, templates, N_TEMPLATES, 3);
        cli_error("init", "no starter '%s'%s%s%s (there are: ralph, factory)", name,
                  s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
        return EXIT_USAGE;
    }
    /* all or nothing: every file is checked before any is written */
    char path[PATH_MAX];
    int clash = 0;
    const char *rel;
    for (size_t i = 0; i < n_init_files; i++) {
        if (!in_template(&init_files[i], name, &rel))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        if (!o.force && access(path, F_OK) == 0) {
            cli_error("init", "%s exists; not overwriting it (--force does)", path);
            clash++;
        }
    }
    if (clash)
        return EXIT_USAGE;
    lo_error err;
    lo_error_clear(&err);
    if (lo_mkdir_p(dir, &err)) {
        cli_error("init", "%s", err.msg);
        return EXIT_FAIL;
    }
    for (size_t i = 0; i < n_init_files; i++) {
        if (!in_template(&init_files[i], name, &rel))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        if (lo_file_write_atomic(path, init_files[i].data, init_files[i].len, &err)) {
            cli_error("init", "%s", err.msg);
            return EXIT_FAIL;
        }
        printf("wrote %s\n", path);
    }
    if (!strcmp(name, "ralph"))
        printf("next: describe the task in %s/PROMPT.md and set the check's command in "
               "%s/pipeline.dot;\n", dir, dir);
    else
        printf("next: set the goal and the gate's command in %s/pipeline.dot;\n", dir);
    printf("commit the files (a --repo run starts from HEAD), then:\n"
           "  lightsout validate %s/pipeline.dot\n"
           "  lightsout run %s/pipeline.dot --repo %s\n", dir, dir, dir);
    return EXIT_OK;
}

const cli_command cmd_init = {
    .name = "init",
    .usage = "ralph|factory [DIR] [--force]",
    .summary = "write a starter pipeline",
    .details =
        "Writes a commented starter into DIR (default: the current directory; made\n"
        "when missing). ralph: the classic loop, the same prompt (PROMPT.md) every\n"
        "iteration with state in files and git, until the check passes or after\n"
        "max_visits iterations. factory: plan, implement, a gate of tests and\n"
        "budgets, review, exit; rejections go back to implement with the gate's\n"
        "report. Refuses to overwrite a file that exists unless --force.",
    .flags = init_flags,
    .run = init_main,
};
