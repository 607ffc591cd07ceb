/* The bubblewrap sandbox (lo_sandbox_argv, see lightsout/proc.h).
 *
 * We only build a command line: running it stays with lo_proc_exec, so a
 * sandboxed command gets the same timeouts, budgets and cleanup as any
 * other. The mounts are ordered so that later ones win: the root read-only,
 * then a fresh /dev, /proc and /tmp, then the writable binds on top — which
 * is what lets a working directory under /tmp stay visible and writable. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lightsout/proc.h"

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool probe_ok;
static char probe_why[1536];
static char bwrap_path[PATH_MAX];

/* bwrap can be installed and still fail: no user namespaces in a container,
 * or a kernel that forbids them. Only running one tells. */
static void probe(void)
{
    if (!lo_which("bwrap", bwrap_path, sizeof bwrap_path)) {
        snprintf(probe_why, sizeof probe_why,
                 "the sandbox needs bwrap, which is not installed "
                 "(apt-get install bubblewrap)");
        return;
    }
    char *const argv[] = {bwrap_path, "--die-with-parent", "--unshare-pid", "--unshare-net",
                          "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                          "true", NULL};
    lo_buf out, err_out;
    lo_buf_init(&out, 4096);
    lo_buf_init(&err_out, 4096);
    int status = -1;
    lo_error err;
    int rc = lo_proc_run(argv, NULL, 0, &out, &err_out, &status, &err);
    if (rc) {
        snprintf(probe_why, sizeof probe_why, "the sandbox cannot start bwrap: %s", err.msg);
    } else if (status != 0) {
        char *nl = err_out.data ? strchr(err_out.data, '\n') : NULL;
        if (nl)
            *nl = '\0';
        snprintf(probe_why, sizeof probe_why,
                 "bwrap is installed but cannot create a sandbox here (%s); "
                 "user namespaces may be disabled",
                 err_out.data && *err_out.data ? err_out.data : "no message");
    } else {
        probe_ok = true;
    }
    lo_buf_release(&out);
    lo_buf_release(&err_out);
}

bool lo_sandbox_available(char *why, size_t why_len)
{
    pthread_once(&probe_once, probe);
    if (!probe_ok && why && why_len)
        snprintf(why, why_len, "%s", probe_why);
    return probe_ok;
}

typedef struct argv_vec {
    char **v;
    size_t n, cap;
    bool failed;
} argv_vec;

static void push(argv_vec *a, const char *s)
{
    if (a->failed)
        return;
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        char **v = lo_realloc(a->v, cap * sizeof *v);
        if (!v) {
            a->failed = true;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    char *copy = lo_strdup(s);
    if (!copy) {
        a->failed = true;
        return;
    }
    a->v[a->n++] = copy;
    a->v[a->n] = NULL;
}

/* The absolute, symlink-free form of an existing path: bwrap binds what it
 * is given, and a relative or dangling bind would fail inside bwrap with a
 * message about its own mount steps rather than about our path. */
static int resolve_dir(const char *path, char out[PATH_MAX], lo_error *err)
{
    if (!realpath(path, out))
        return lo_error_set(err, errno == ENOENT ? LO_ENOENT : LO_EINVAL,
                            "sandbox: %.900s: %s", path, strerror(errno));
    return 0;
}

void lo_sandbox_argv_free(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

char **lo_sandbox_argv(const lo_sandbox *sb, char *const *inner, lo_error *err)
{
    if (!sb || !sb->workdir || !*sb->workdir || !inner || !inner[0]) {
        lo_error_set(err, LO_EINVAL, "sandbox: a working directory and a command are required");
        return NULL;
    }
    char why[sizeof probe_why];
    if (!lo_sandbox_available(why, sizeof why)) {
        lo_error_set(err, LO_EEXEC, "%s", why);
        return NULL;
    }
    char wd[PATH_MAX], extra[PATH_MAX];
    if (resolve_dir(sb->workdir, wd, err))
        return NULL;
    argv_vec a = {0};
    push(&a, bwrap_path);
    push(&a, "--die-with-parent");
    push(&a, "--unshare-pid");
    if (!sb->network)
        push(&a, "--unshare-net");
    push(&a, "--ro-bind");
    push(&a, "/");
    push(&a, "/");
    push(&a, "--dev");
    push(&a, "/dev");
    push(&a, "--proc");
    push(&a, "/proc");
    if (!sb->share_tmp) {
        push(&a, "--tmpfs");
        push(&a, "/tmp");
    }
    push(&a, "--bind");
    push(&a, wd);
    push(&a, wd);
    for (const char *const *w = sb->writable; w && *w; w++) {
        if (resolve_dir(*w, extra, err)) {
            lo_sandbox_argv_free(a.v);
            return NULL;
        }
        push(&a, "--bind");
        push(&a, extra);
        push(&a, extra);
    }
    push(&a, "--chdir");
    push(&a, wd);
    push(&a, "--");
    for (char *const *p = inner; *p; p++)
        push(&a, *p);
    if (a.failed) {
        lo_sandbox_argv_free(a.v);
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    return a.v;
}
