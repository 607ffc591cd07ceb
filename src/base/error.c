/* Error values: a code, a message, and a source position where one exists. */
#include <stdio.h>
#include <string.h>

#include "lightsout/base.h"

int lo_error_setv(lo_error *err, int code, const char *fmt, va_list ap)
{
    if (!err)
        return code;
    err->code = code;
    err->file[0] = '\0';
    err->line = err->col = 0;
    err->snippet[0] = '\0';
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return code;
}

int lo_error_set(lo_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lo_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int lo_error_at(lo_error *err, int code, const char *file, uint32_t line,
                uint32_t col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lo_error_setv(err, code, fmt, ap);
    va_end(ap);
    if (err) {
        snprintf(err->file, sizeof err->file, "%s", file ? file : "");
        err->line = line;
        err->col = col;
    }
    return code;
}

void lo_error_clear(lo_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

const char *lo_err_name(int code)
{
    switch (code) {
    case LO_OK: return "ok";
    case LO_ENOMEM: return "out of memory";
    case LO_EIO: return "I/O error";
    case LO_EPARSE: return "syntax error";
    case LO_EINVAL: return "invalid value";
    case LO_ENOENT: return "not found";
    case LO_EVALIDATE: return "validation failed";
    case LO_ETOOBIG: return "too big";
    case LO_EISDIR: return "is a directory";
    case LO_EEXEC: return "execution failed";
    case LO_ECANCELED: return "canceled";
    }
    return "unknown error";
}
