/* Private to src/agent: glob patterns, .gitignore rules and the directory
 * walk behind grep's built-in search, glob and read_many_files. Not part of
 * the public API. */
#ifndef LO_AGENT_SEARCH_H
#define LO_AGENT_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "lightsout/base.h"

/* ---- globmatch.c ----
 * A glob over '/'-separated relative paths: * ? [...] within a segment (as
 * fnmatch), "**" as a whole segment for any number of segments, {a,b}
 * alternatives (nested, at most 256 expansions). A leading dot is matched
 * by * like any other character. */
typedef struct lo_agent_glob {
    char **alts;   /* the brace expansions */
    size_t n;
} lo_agent_glob;

int lo_agent_glob_compile_(const char *pattern, lo_agent_glob *g, lo_error *err);
bool lo_agent_glob_match_(const lo_agent_glob *g, const char *path);
void lo_agent_glob_release_(lo_agent_glob *g);

/* ---- ignore.c: .gitignore (and .ignore) rules, a stack per directory ---- */
typedef struct lo_agent_ignore lo_agent_ignore;

lo_agent_ignore *lo_agent_ignore_new_(void);
void lo_agent_ignore_free_(lo_agent_ignore *ig);
/* Read the rules of directory abs, whose path relative to the walk's root
 * is rel ("" for the root); 0 or LO_ENOMEM. */
int lo_agent_ignore_push_(lo_agent_ignore *ig, const char *abs, const char *rel);
void lo_agent_ignore_pop_(lo_agent_ignore *ig);
/* Whether rel (relative to the root) is ignored by the rules pushed. */
bool lo_agent_ignore_match_(const lo_agent_ignore *ig, const char *rel, bool is_dir);
/* Add one rule as if read from the root's ignore file. */
int lo_agent_ignore_add_(lo_agent_ignore *ig, const char *line);

/* ---- walk.c ----
 * Every regular file below start, in name order per directory, skipping
 * .git and symlinks, and -- with use_ignore -- what .gitignore files from
 * root down ignore (unless keep_ignored says to keep an ignored file, as
 * ripgrep keeps files matching a --glob). A start that is a file is
 * visited alone. on_file returns 0 to go on, 1 to stop, or a negative
 * lo_err (with err filled) to fail. */
typedef struct lo_agent_walk {
    const char *root;             /* canonical; rel paths are relative to it */
    bool use_ignore;
    int (*on_file)(const char *abs, const char *rel, void *ud, lo_error *err);
    bool (*keep_ignored)(const char *rel, void *ud); /* may be NULL */
    void *ud;
    size_t max_files;             /* 0 = unlimited; past it the walk fails with LO_ETOOBIG */
} lo_agent_walk;

int lo_agent_walk_(const lo_agent_walk *w, const char *start_abs, lo_error *err);

#endif
