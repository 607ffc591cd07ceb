/* The local execution environment (§4.2): files and commands on this
 * machine, every path confined to the working directory (path.c). The
 * sandbox environment (env_sandbox.c) is this one with its commands run
 * under bwrap. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/env_internal.h"
#include "lightsout/proc.h"

enum {
    MAX_READ = 64 * 1024 * 1024,  /* bigger files are not read whole */
    MAX_ENTRIES = 200000,         /* list_dir stops there */
};

static lo_agent_local *S(lo_agent_env *e)
{
    return e->state;
}

static int resolve(lo_agent_env *e, const char *path, bool must_exist, char out[PATH_MAX],
                   lo_error *err)
{
    return lo_agent_path_resolve_(S(e)->root, "path", path,
                                  must_exist ? LO_PATH_MUST_EXIST : 0, out, err);
}

static int read_file(lo_agent_env *e, const char *path, char **data, size_t *len, lo_error *err)
{
    char abs[PATH_MAX];
    int rc = lo_agent_path_resolve_(S(e)->root, "read_file", path, LO_PATH_MUST_EXIST, abs, err);
    if (rc)
        return rc;
    struct stat st;
    if (stat(abs, &st) != 0)
        return lo_error_set(err, LO_EIO, "read_file: %.900s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return lo_error_set(err, LO_EISDIR, "read_file: %.900s: is a directory", path);
    if (!S_ISREG(st.st_mode))
        return lo_error_set(err, LO_EINVAL, "read_file: %.900s: not a regular file", path);
    if (st.st_size > MAX_READ)
        return lo_error_set(err, LO_ETOOBIG,
                            "read_file: %.900s: %lld bytes is too big to read whole "
                            "(the limit is %d MiB)",
                            path, (long long)st.st_size, MAX_READ >> 20);
    if (access(abs, R_OK) != 0)
        return lo_error_set(err, LO_EIO, "read_file: %.900s: %s", path, strerror(errno));
    lo_error fe;
    rc = lo_file_read(abs, MAX_READ, data, len, &fe);
    if (rc)
        return lo_error_set(err, rc, "read_file: %.900s: cannot be read", path);
    return 0;
}

static int write_file(lo_agent_env *e, const char *path, const char *data, size_t len,
                      lo_error *err)
{
    char abs[PATH_MAX];
    int rc = lo_agent_path_resolve_(S(e)->root, "write_file", path, 0, abs, err);
    if (rc)
        return rc;
    struct stat st;
    bool existed = stat(abs, &st) == 0;
    if (existed && S_ISDIR(st.st_mode))
        return lo_error_set(err, LO_EISDIR, "write_file: %.900s: is a directory", path);
    if (existed && access(abs, W_OK) != 0)
        return lo_error_set(err, LO_EIO, "write_file: %.900s: %s", path, strerror(errno));
    char parent[PATH_MAX];
    memcpy(parent, abs, strlen(abs) + 1);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        lo_error me;
        if (lo_mkdir_p(parent, &me))
            return lo_error_set(err, LO_EIO, "write_file: %.900s: %s", path, me.msg);
    }
    lo_error we;
    /* no fsync: a model's edits are redone on a crash; the rename still
     * keeps readers from seeing half a file */
    if ((rc = lo_file_write_atomic_ex(abs, data, len, false, &we)))
        return lo_error_set(err, rc, "write_file: %.900s: %s", path, we.msg);
    if (existed) /* the rename made a new file: keep the old one's mode (+x) */
        chmod(abs, st.st_mode & 07777);
    return 0;
}

static int delete_file(lo_agent_env *e, const char *path, lo_error *err)
{
    char abs[PATH_MAX];
    int rc = lo_agent_path_resolve_(S(e)->root, "delete_file", path,
                                    LO_PATH_MUST_EXIST | LO_PATH_NOFOLLOW, abs, err);
    if (rc)
        return rc;
    struct stat st;
    if (lstat(abs, &st) == 0 && S_ISDIR(st.st_mode))
        return lo_error_set(err, LO_EISDIR, "delete_file: %.900s: is a directory", path);
    if (unlink(abs) != 0)
        return lo_error_set(err, LO_EIO, "delete_file: %.900s: %s", path, strerror(errno));
    return 0;
}

static bool file_exists(lo_agent_env *e, const char *path)
{
    char abs[PATH_MAX];
    return lo_agent_path_resolve_(S(e)->root, "file_exists", path, LO_PATH_MUST_EXIST, abs,
                                  NULL) == 0;
}

/* ---- list_dir ---- */

typedef struct listing {
    lo_agent_dir_entry *v;
    size_t n, cap;
    int rc;
} listing;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_entry(listing *l, const char *name, bool is_dir, int64_t size)
{
    if (l->rc)
        return;
    if (l->n == MAX_ENTRIES) {
        l->rc = LO_ETOOBIG;
        return;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        lo_agent_dir_entry *v = lo_realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->rc = LO_ENOMEM;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    char *copy = lo_strdup(name);
    if (!copy) {
        l->rc = LO_ENOMEM;
        return;
    }
    l->v[l->n++] = (lo_agent_dir_entry){copy, is_dir, size};
}

/* Children of abs, sorted, each followed by its own children down to depth.
 * Symlinked directories are listed, not entered (they may lead outside). */
static void walk(listing *l, const char *abs, const char *rel, int depth)
{
    DIR *d = opendir(abs);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) && !l->rc) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **v = lo_realloc(names, cap * sizeof *v);
            if (!v) {
                l->rc = LO_ENOMEM;
                break;
            }
            names = v;
        }
        if (!(names[n] = lo_strdup(de->d_name)))
            l->rc = LO_ENOMEM;
        else
            n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        char child[PATH_MAX], child_rel[PATH_MAX];
        if (snprintf(child, sizeof child, "%s/%s", abs, names[i]) >= (int)sizeof child ||
            snprintf(child_rel, sizeof child_rel, "%s%s%s", rel, *rel ? "/" : "", names[i]) >=
                (int)sizeof child_rel)
            continue;
        struct stat st;
        if (lstat(child, &st) != 0)
            continue;
        bool dir = S_ISDIR(st.st_mode);
        add_entry(l, child_rel, dir, S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1);
        if (dir && depth > 1 && strcmp(names[i], ".git") != 0)
            walk(l, child, child_rel, depth - 1);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int list_dir(lo_agent_env *e, const char *path, int depth, lo_agent_dir_entry **entries,
                    size_t *n, lo_error *err)
{
    *entries = NULL;
    *n = 0;
    char abs[PATH_MAX];
    int rc = lo_agent_path_resolve_(S(e)->root, "list_dir", path ? path : ".",
                                    LO_PATH_MUST_EXIST, abs, err);
    if (rc)
        return rc;
    struct stat st;
    if (stat(abs, &st) != 0 || !S_ISDIR(st.st_mode))
        return lo_error_set(err, LO_EINVAL, "list_dir: %.900s: not a directory", path);
    if (access(abs, R_OK | X_OK) != 0)
        return lo_error_set(err, LO_EIO, "list_dir: %.900s: %s", path, strerror(errno));
    listing l = {0};
    walk(&l, abs, "", depth < 1 ? 1 : depth);
    if (l.rc) {
        lo_agent_dir_entries_free(l.v, l.n);
        return l.rc == LO_ETOOBIG
                   ? lo_error_set(err, LO_ETOOBIG,
                                  "list_dir: %.900s: more than %d entries; list less deep or "
                                  "a subdirectory",
                                  path, MAX_ENTRIES)
                   : lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    *entries = l.v;
    *n = l.n;
    return 0;
}

/* ---- metadata and lifecycle ---- */

static const char *working_directory(lo_agent_env *e)
{
    return S(e)->root;
}

static const char *platform(lo_agent_env *e)
{
    return "linux";
}

static const char *os_version(lo_agent_env *e)
{
    return S(e)->os_version;
}

static void destroy(lo_agent_env *e)
{
    lo_agent_local *st = S(e);
    if (st) {
        lo_agent_envv_free_(st->extra_env);
        lo_agent_envv_free_(st->writable);
        free(st);
    }
    free(e);
}

const lo_agent_env_ops lo_agent_local_ops_ = {
    .name = "local",
    .read_file = read_file,
    .write_file = write_file,
    .delete_file = delete_file,
    .file_exists = file_exists,
    .list_dir = list_dir,
    .exec = lo_agent_local_exec_,
    .grep = lo_agent_local_grep_,
    .glob = lo_agent_local_glob_,
    .resolve = resolve,
    .working_directory = working_directory,
    .platform = platform,
    .os_version = os_version,
    .destroy = destroy,
};

lo_agent_env *lo_agent_local_new_(const lo_agent_env_opts *o, const lo_agent_env_ops *ops,
                                  bool sandbox, lo_error *err)
{
    if (!o || !o->workdir || !*o->workdir) {
        lo_error_set(err, LO_EINVAL, "environment: a working directory is required");
        return NULL;
    }
    lo_agent_local *st = lo_calloc(1, sizeof *st);
    lo_agent_env *e = lo_calloc(1, sizeof *e);
    if (!st || !e) {
        free(st);
        free(e);
        lo_error_set(err, LO_ENOMEM, "out of memory");
        return NULL;
    }
    e->ops = ops;
    e->state = st;
    struct stat sb;
    if (!realpath(o->workdir, st->root) || stat(st->root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        int en = errno;
        bool not_dir = st->root[0] && stat(st->root, &sb) == 0;
        lo_error_set(err, LO_ENOENT, "environment: working directory %.900s: %s", o->workdir,
                     not_dir ? "not a directory" : strerror(en));
        destroy(e);
        return NULL;
    }
    st->root_len = strlen(st->root);
    st->policy = o->policy;
    st->sandbox = sandbox;
    st->network = o->network;
    bool ok1, ok2;
    st->extra_env = lo_agent_strv_dup_(o->extra_env, &ok1);
    st->writable = lo_agent_strv_dup_(o->writable, &ok2);
    if (!ok1 || !ok2) {
        lo_error_set(err, LO_ENOMEM, "out of memory");
        destroy(e);
        return NULL;
    }
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(st->os_version, sizeof st->os_version, "%s %s", u.sysname, u.release);
    else
        snprintf(st->os_version, sizeof st->os_version, "Linux");
    return e;
}

lo_agent_env *lo_agent_env_local(const lo_agent_env_opts *o, lo_error *err)
{
    return lo_agent_local_new_(o, &lo_agent_local_ops_, false, err);
}

lo_agent_env *lo_agent_env_sandbox(const lo_agent_env_opts *o, lo_error *err)
{
    /* never a silent fallback to unconfined commands */
    char why[512];
    if (!lo_sandbox_available(why, sizeof why)) {
        lo_error_set(err, LO_EEXEC, "environment: the sandbox needs bubblewrap "
                     "(Debian package bubblewrap), which cannot run here: %s", why);
        return NULL;
    }
    return lo_agent_local_new_(o, &lo_agent_local_ops_, true, err);
}
