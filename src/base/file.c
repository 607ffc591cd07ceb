/* Files: whole-file reads with precise errors, atomic writes, mkdir -p. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lightsout/base.h"

int lo_file_read(const char *path, size_t max, char **data, size_t *len,
                 lo_error *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return lo_error_set(err, e == ENOENT ? LO_ENOENT : LO_EIO,
                            "cannot open %s: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return lo_error_set(err, LO_EIO, "cannot stat %s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return lo_error_set(err, LO_EISDIR, "%s is a directory, not a file", path);
    }
    if (max && S_ISREG(st.st_mode) && (size_t)st.st_size > max) {
        close(fd);
        return lo_error_set(err, LO_ETOOBIG, "%s is %lld bytes; the limit is %zu",
                            path, (long long)st.st_size, max);
    }
    lo_buf b;
    lo_buf_init(&b, max);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            lo_buf_release(&b);
            return lo_error_set(err, LO_EIO, "cannot read %s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        if (b.cap == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
            /* size the buffer once so large files are not re-grown */
            b.data = lo_malloc((size_t)st.st_size + 1);
            if (b.data)
                b.cap = (size_t)st.st_size + 1;
        }
        int rc = lo_buf_append(&b, chunk, (size_t)n);
        if (rc) {
            close(fd);
            lo_buf_release(&b);
            if (rc == LO_ETOOBIG)
                return lo_error_set(err, rc, "%s is larger than the limit of %zu bytes",
                                    path, max);
            return lo_error_set(err, rc, "out of memory reading %s", path);
        }
    }
    close(fd);
    *len = b.len;
    *data = lo_buf_steal(&b);
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char *copy = lo_strdup(path);
    if (!copy)
        return LO_ENOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return LO_EIO;
    int rc = fsync(fd) == 0 || errno == EINVAL ? 0 : LO_EIO;
    close(fd);
    return rc;
}

int lo_file_write_atomic(const char *path, const void *data, size_t len,
                         lo_error *err)
{
    return lo_file_write_atomic_ex(path, data, len, true, err);
}

int lo_file_write_atomic_ex(const char *path, const void *data, size_t len, bool sync,
                            lo_error *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return lo_error_set(err, LO_EINVAL, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return lo_error_set(err, LO_EIO, "cannot create %s: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return lo_error_set(err, LO_EIO, "cannot write %s: %s", path, strerror(e));
        }
        p += n;
        left -= (size_t)n;
    }
    if (sync && fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return lo_error_set(err, LO_EIO, "cannot sync %s: %s", path, strerror(e));
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return lo_error_set(err, LO_EIO, "cannot write %s: %s", path, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return lo_error_set(err, LO_EIO, "cannot rename %s to %s: %s", tmp, path,
                            strerror(e));
    }
    if (sync && fsync_dir_of(path) != 0)
        return lo_error_set(err, LO_EIO, "cannot sync the directory of %s", path);
    return 0;
}

int lo_mkdir_p(const char *path, lo_error *err)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return lo_error_set(err, LO_EINVAL, "bad directory path");
    memcpy(buf, path, n + 1);
    /* the common case, a parent that exists, costs one system call */
    if (mkdir(path, 0755) == 0)
        return 0;
    if (errno == EEXIST) {
        struct stat st0;
        if (stat(path, &st0) == 0 && S_ISDIR(st0.st_mode))
            return 0;
    }
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return lo_error_set(err, LO_EIO, "cannot create directory %s: %s",
                                    buf, strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return lo_error_set(err, LO_EIO, "%s exists and is not a directory", path);
    return 0;
}

bool lo_looks_binary(const char *data, size_t len)
{
    size_t n = len < 8192 ? len : 8192;
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == 0)
            return true;
        if (c < 0x80) { i++; continue; }
        size_t need = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 :
                      (c & 0xF8) == 0xF0 ? 3 : 9;
        if (need == 9 || c == 0xC0 || c == 0xC1)
            return true;
        if (i + need >= n) /* cut at the end of the data, or of the window */
            return n == len;
        for (size_t k = 1; k <= need; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return true;
        i += need + 1;
    }
    return false;
}
