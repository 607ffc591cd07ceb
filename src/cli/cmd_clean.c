/* lightsout clean: remove the git worktrees that --repo runs left behind
 * (lo_worktree_clean). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lightsout/worktree.h"

typedef struct opts {
    const char *repo;
    bool all;
    int removed, kept;
} opts;

static const cli_flag clean_flags[] = {
    {"repo", 0, "DIR", "the repository (default: the one around the current directory)"},
    {"all", 0, NULL, "also the worktrees of runs that could be resumed"},
    {0},
};

static int on_flag(int idx, const char *arg, void *ud)
{
    opts *o = ud;
    if (!strcmp(clean_flags[idx].name, "repo"))
        o->repo = arg;
    else
        o->all = true;
    return 0;
}

static void report(const lo_clean_entry *e, void *ud)
{
    opts *o = ud;
    const char *where = *e->path ? e->path : "(directory already gone)";
    if (e->removed) {
        o->removed++;
        printf("removed %s: run %s, %s; %s\n", where, e->run_id, e->state, e->why);
    } else {
        o->kept++;
        printf("kept    %s: run %s, %s; %s\n", where, e->run_id, e->state, e->why);
    }
}

static int clean_main(int argc, char **argv)
{
    opts o = {0};
    int nops, code;
    if (cli_parse(&cmd_clean, argc, argv, on_flag, &o, &nops, &code))
        return code;
    if (nops) {
        cli_error("clean", "unexpected argument '%s' (usage: lightsout clean [--repo DIR] "
                  "[--all])", argv[1]);
        return EXIT_USAGE;
    }
    lo_repo r;
    lo_error err;
    lo_error_clear(&err);
    if (lo_repo_open(o.repo ? o.repo : ".", &r, &err)) {
        /* the messages speak of --repo; without it the directory was "." */
        cli_error("clean", "%s", err.msg);
        return EXIT_USAGE;
    }
    if (lo_worktree_clean(&r, o.all, report, &o, &err)) {
        cli_error("clean", "%s", err.msg);
        return EXIT_FAIL;
    }
    printf("%d worktree%s removed, %d kept; git's worktree list pruned\n", o.removed,
           o.removed == 1 ? "" : "s", o.kept);
    return EXIT_OK;
}

const cli_command cmd_clean = {
    .name = "clean",
    .usage = "[--repo DIR] [--all]",
    .summary = "remove the worktrees of --repo runs that are not running",
    .details =
        "Looks at the worktrees 'lightsout run --repo' made in DIR's git directory\n"
        "(.git/lightsout/worktrees). A worktree whose run is running (its run\n"
        "directory is locked) is always kept; one whose run ended, or whose run\n"
        "directory is gone, is removed; one whose run was interrupted or killed is\n"
        "kept for 'lightsout resume' unless --all. The runs' branches stay. Then\n"
        "prunes git's list of worktrees. Says what it removed and what it kept.\n"
        "Exit 0 done, 1 a removal failed, 2 DIR is not a usable repository.",
    .flags = clean_flags,
    .run = clean_main,
};
