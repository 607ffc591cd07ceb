/* Private to src/agent: the state of the local and sandbox environments,
 * path confinement, the command environment, and the searches (grep, glob)
 * the environments and tools share. Not part of the public API. */
#ifndef LO_AGENT_ENV_INTERNAL_H
#define LO_AGENT_ENV_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "lightsout/agent.h"

/* The state behind lo_agent_env_local and lo_agent_env_sandbox. */
typedef struct lo_agent_local {
    char root[PATH_MAX];       /* the working directory, canonical */
    size_t root_len;
    lo_agent_env_policy policy;
    char **extra_env;          /* copied, NULL-terminated; may be NULL */
    bool sandbox;              /* commands run under bwrap */
    bool network;              /* sandbox: keep the network */
    char **writable;           /* sandbox: more writable paths, copied; may be NULL */
    char os_version[256];
} lo_agent_local;

/* ---- path.c: confinement ---- */

enum {
    LO_PATH_MUST_EXIST = 1,    /* every component must exist */
    LO_PATH_NOFOLLOW = 2,      /* do not follow a symlink in the last component
                                * (deleting a link deletes the link) */
};

/* Resolve path (relative to root, or absolute) to its canonical form in out,
 * following symlinks -- dangling ones too, so a write through one lands
 * where it points -- and refuse it when that is outside root (canonical,
 * no trailing slash). what prefixes messages ("read_file"). Errors:
 * LO_EINVAL for a refused or malformed path, LO_ENOENT for a missing one
 * (with LO_PATH_MUST_EXIST, or a missing directory followed by ".."),
 * LO_EIO for permission and other system errors. */
int lo_agent_path_resolve_(const char *root, const char *what, const char *path, int flags,
                           char out[PATH_MAX], lo_error *err);
/* abs (canonical, inside root) relative to root: "" for root itself. */
const char *lo_agent_path_rel_(const char *root, size_t root_len, const char *abs);

/* ---- env_vars.c: what commands see ---- */

/* The environment for a command: the inherited variables the policy keeps,
 * then extra, then call (later ones replace earlier ones of the same name).
 * NULL-terminated; free with lo_agent_envv_free_. NULL when out of memory. */
char **lo_agent_envv_build_(lo_agent_env_policy policy, char *const *extra, char *const *call);
void lo_agent_envv_free_(char **v);
/* A NULL-terminated deep copy (NULL for NULL); *ok false when out of memory. */
char **lo_agent_strv_dup_(const char *const *v, bool *ok);

/* ---- env_exec.c ---- */

int lo_agent_local_exec_(lo_agent_env *e, const char *command, int64_t timeout_ms,
                         const char *cwd, char *const *env, const atomic_bool *cancel,
                         lo_agent_exec_result *r, lo_error *err);

/* ---- env.c ---- */

/* Put "prefix: " before err's message (err may be NULL); returns code. */
int lo_agent_err_prefix_(lo_error *err, int code, const char *prefix);

/* ---- grep.c, glob.c: the search operations ---- */

int lo_agent_local_grep_(lo_agent_env *e, const char *pattern, const char *path,
                         const lo_agent_grep_opts *o, lo_buf *out, lo_error *err);
int lo_agent_local_glob_(lo_agent_env *e, const char *pattern, const char *path, lo_buf *out,
                         lo_error *err);

/* ---- env_local.c ---- */

/* A local environment with the given ops (local or sandbox). */
lo_agent_env *lo_agent_local_new_(const lo_agent_env_opts *o, const lo_agent_env_ops *ops,
                                  bool sandbox, lo_error *err);
extern const lo_agent_env_ops lo_agent_local_ops_;

#endif
