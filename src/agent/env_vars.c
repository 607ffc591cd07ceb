/* What a command run for the model sees of our environment (§4.2).
 *
 * The factory holds provider keys in its environment; a model that can run
 * `env` must not be able to read them back, so by default every variable
 * whose name looks like a secret is dropped. */
#include <string.h>
#include <strings.h>

#include "agent/env_internal.h"

extern char **environ;

static const char *const SECRET_SUFFIXES[] = {
    "_API_KEY",    "_SECRET",     "_TOKEN",      "_PASSWORD",    "_CREDENTIAL",
    "_SECRETS",    "_TOKENS",     "_CREDENTIALS", "_SECRET_KEY", "_ACCESS_KEY",
    "_PRIVATE_KEY",
};

/* Kept by LO_ENV_INHERIT_CORE: what tools need to find programs, a home, a
 * locale and a terminal, and the usual language tool paths. */
static const char *const CORE[] = {
    "PATH",      "HOME",       "USER",        "LOGNAME",   "SHELL",      "LANG",
    "LANGUAGE",  "TERM",       "TMPDIR",      "TZ",        "GOPATH",     "GOROOT",
    "GOCACHE",   "GOMODCACHE", "CARGO_HOME",  "RUSTUP_HOME", "NVM_DIR",  "NODE_PATH",
    "PYENV_ROOT", "VIRTUAL_ENV", "PYTHONPATH", "JAVA_HOME", "GEM_HOME",  "GEM_PATH",
    "PERL5LIB",  "DENO_DIR",   "BUN_INSTALL", "PNPM_HOME",
};

static size_t name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

static bool secret_n(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof SECRET_SUFFIXES / sizeof *SECRET_SUFFIXES; i++) {
        size_t k = strlen(SECRET_SUFFIXES[i]);
        if (n >= k && strncasecmp(name + n - k, SECRET_SUFFIXES[i], k) == 0)
            return true;
    }
    return false;
}

bool lo_agent_env_is_secret(const char *name)
{
    return name && secret_n(name, name_len(name));
}

static bool core_n(const char *name, size_t n)
{
    if (n > 3 && strncmp(name, "LC_", 3) == 0)
        return true;
    for (size_t i = 0; i < sizeof CORE / sizeof *CORE; i++)
        if (strlen(CORE[i]) == n && strncmp(CORE[i], name, n) == 0)
            return true;
    return false;
}

static bool keep(lo_agent_env_policy p, const char *entry)
{
    size_t n = name_len(entry);
    switch (p) {
    case LO_ENV_INHERIT_ALL:
        return true;
    case LO_ENV_INHERIT_NONE:
        return false;
    case LO_ENV_INHERIT_CORE:
        return core_n(entry, n) && !secret_n(entry, n);
    case LO_ENV_INHERIT_FILTERED:
    default:
        return !secret_n(entry, n);
    }
}

typedef struct vec {
    char **v;
    size_t n, cap;
    bool failed;
} vec;

/* Add a copy of entry, replacing one of the same name. */
static void put(vec *a, const char *entry)
{
    if (a->failed || !strchr(entry, '='))
        return;
    char *copy = lo_strdup(entry);
    if (!copy) {
        a->failed = true;
        return;
    }
    size_t n = name_len(entry);
    for (size_t i = 0; i < a->n; i++)
        if (name_len(a->v[i]) == n && strncmp(a->v[i], entry, n) == 0) {
            free(a->v[i]);
            a->v[i] = copy;
            return;
        }
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        char **v = lo_realloc(a->v, cap * sizeof *v);
        if (!v) {
            free(copy);
            a->failed = true;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = copy;
    a->v[a->n] = NULL;
}

void lo_agent_envv_free_(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

char **lo_agent_envv_build_(lo_agent_env_policy policy, char *const *extra, char *const *call)
{
    vec a = {0};
    for (size_t i = 0; environ && environ[i]; i++)
        if (keep(policy, environ[i]))
            put(&a, environ[i]);
    for (size_t i = 0; extra && extra[i]; i++)
        put(&a, extra[i]);
    for (size_t i = 0; call && call[i]; i++)
        put(&a, call[i]);
    if (!a.failed && !a.v) {
        a.v = lo_calloc(1, sizeof *a.v);
        a.failed = !a.v;
    }
    if (a.failed) {
        lo_agent_envv_free_(a.v);
        return NULL;
    }
    return a.v;
}

char **lo_agent_strv_dup_(const char *const *v, bool *ok)
{
    *ok = true;
    if (!v)
        return NULL;
    size_t n = 0;
    while (v[n])
        n++;
    char **c = lo_calloc(n + 1, sizeof *c);
    if (!c) {
        *ok = false;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!(c[i] = lo_strdup(v[i]))) {
            lo_agent_envv_free_(c);
            *ok = false;
            return NULL;
        }
    return c;
}
