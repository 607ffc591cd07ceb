/* Path confinement: every file a tool touches must be under the working
 * directory once symlinks are followed.
 *
 * realpath() will not do: it fails on a path whose last components do not
 * exist yet (a file about to be written) and on a dangling symlink, and a
 * write through a dangling symlink is exactly how a file outside would be
 * created. So the path is walked one component at a time, as the kernel
 * does: lstat each, splice a symlink's target in front of what is left,
 * and once a component is missing take the rest literally. The result is
 * canonical, so one prefix check against the canonical root decides.
 *
 * What is checked is the path as it stands now; a process that swaps a
 * directory for a symlink between this check and the use can still win the
 * race. The tools' own commands run in the same directory, so this guards
 * against a model's mistakes and a hostile repository's symlinks, not
 * against a hostile concurrent process. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/env_internal.h"

enum { MAX_LINKS = 40 }; /* as Linux's ELOOP limit */

/* Drop the last component of the canonical path p (never above "/"). */
static void up(char *p)
{
    char *s = strrchr(p, '/');
    if (s == p)
        p[1] = '\0';
    else if (s)
        *s = '\0';
}

static bool append(char *p, const char *name, size_t n)
{
    size_t len = strlen(p);
    bool slash = len > 1 || p[0] != '/';
    if (len + slash + n + 1 > PATH_MAX)
        return false;
    if (slash)
        p[len++] = '/';
    memcpy(p + len, name, n);
    p[len + n] = '\0';
    return true;
}

/* The next component of *rest (skipping slashes), or false at the end. */
static bool next_part(const char **rest, const char **part, size_t *n)
{
    const char *s = *rest;
    while (*s == '/')
        s++;
    if (!*s)
        return false;
    const char *e = strchr(s, '/');
    *n = e ? (size_t)(e - s) : strlen(s);
    *part = s;
    *rest = s + *n;
    return true;
}

static bool inside(const char *root, const char *p)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return true;
    return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

int lo_agent_path_resolve_(const char *root, const char *what, const char *path, int flags,
                           char out[PATH_MAX], lo_error *err)
{
    if (!path || !*path)
        return lo_error_set(err, LO_EINVAL, "%s: the path is empty", what);
    if (strlen(path) >= PATH_MAX)
        return lo_error_set(err, LO_EINVAL, "%s: the path is too long", what);
    /* what is left to walk; a symlink's target is spliced in front of it */
    char rest_buf[2][2 * PATH_MAX + 2];
    int cur_buf = 0;
    snprintf(rest_buf[0], sizeof rest_buf[0], "%s", path);
    const char *rest = rest_buf[0];
    char cur[PATH_MAX];
    snprintf(cur, sizeof cur, "%s", path[0] == '/' ? "/" : root);
    int links = 0;
    bool via_link = false, missing = false;
    const char *part;
    size_t n;

    while (next_part(&rest, &part, &n)) {
        if (n == 1 && part[0] == '.')
            continue;
        if (n == 2 && part[0] == '.' && part[1] == '.') {
            if (missing)
                return lo_error_set(err, LO_ENOENT,
                                    "%s: %.900s: no such directory before \"..\"", what, path);
            up(cur);
            continue;
        }
        if (!append(cur, part, n))
            return lo_error_set(err, LO_EINVAL, "%s: the path is too long", what);
        if (missing)
            continue;
        bool last = !*rest || strspn(rest, "/") == strlen(rest);
        struct stat st;
        if (lstat(cur, &st) != 0) {
            if (errno != ENOENT)
                return lo_error_set(err, errno == ENOTDIR ? LO_ENOENT : LO_EIO,
                                    "%s: %.900s: %s", what, path, strerror(errno));
            missing = true;
            continue;
        }
        if (S_ISLNK(st.st_mode) && !(last && (flags & LO_PATH_NOFOLLOW))) {
            if (++links > MAX_LINKS)
                return lo_error_set(err, LO_EINVAL, "%s: %.900s: too many symbolic links",
                                    what, path);
            char target[PATH_MAX];
            ssize_t t = readlink(cur, target, sizeof target - 1);
            if (t < 0)
                return lo_error_set(err, LO_EIO, "%s: %.900s: %s", what, path, strerror(errno));
            target[t] = '\0';
            via_link = true;
            up(cur);
            if (target[0] == '/')
                snprintf(cur, sizeof cur, "/");
            int nb = 1 - cur_buf;
            if (snprintf(rest_buf[nb], sizeof rest_buf[nb], "%s/%s", target, rest) >=
                (int)sizeof rest_buf[nb])
                return lo_error_set(err, LO_EINVAL, "%s: the path is too long", what);
            cur_buf = nb;
            rest = rest_buf[nb];
            continue;
        }
        if (!S_ISDIR(st.st_mode) && !last)
            return lo_error_set(err, LO_ENOENT, "%s: %.900s: %.900s is not a directory",
                                what, path, lo_agent_path_rel_(root, strlen(root), cur));
    }
    if (!inside(root, cur))
        return lo_error_set(err, LO_EINVAL,
                            "%s: %.900s: refused: it is outside the working directory %s%s; "
                            "use a path inside it",
                            what, path, root, via_link ? " (through a symbolic link)" : "");
    /* only now: whether something exists outside is none of the model's business */
    if (missing && (flags & LO_PATH_MUST_EXIST))
        return lo_error_set(err, LO_ENOENT, "%s: %.900s: no such file or directory", what,
                            path);
    memcpy(out, cur, strlen(cur) + 1);
    return 0;
}

const char *lo_agent_path_rel_(const char *root, size_t root_len, const char *abs)
{
    if (root_len == 1 && root[0] == '/')
        return abs[0] == '/' ? abs + 1 : abs;
    if (strncmp(abs, root, root_len) != 0)
        return abs;
    if (abs[root_len] == '/')
        return abs + root_len + 1;
    return abs[root_len] == '\0' ? "" : abs;
}
