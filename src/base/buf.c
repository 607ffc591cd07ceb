/* Growable byte buffer with an optional maximum. */
#include <stdio.h>
#include <string.h>

#include "lightsout/base.h"

void lo_buf_init(lo_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void lo_buf_release(lo_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void lo_buf_clear(lo_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int reserve(lo_buf *b, size_t extra)
{
    if (b->max && b->len + extra > b->max)
        return LO_ETOOBIG;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = lo_realloc(b->data, cap);
    if (!d)
        return LO_ENOMEM;
    b->data = d;
    b->cap = cap;
    return 0;
}

int lo_buf_append(lo_buf *b, const void *p, size_t n)
{
    int rc = reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int lo_buf_puts(lo_buf *b, const char *s) { return lo_buf_append(b, s, strlen(s)); }
int lo_buf_putc(lo_buf *b, char c) { return lo_buf_append(b, &c, 1); }

int lo_buf_vprintf(lo_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    int rc;
    if (n < 0) {
        rc = LO_EINVAL;
    } else if ((size_t)n < sizeof small) {
        rc = lo_buf_append(b, small, (size_t)n);
    } else if ((rc = reserve(b, (size_t)n)) == 0) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
    return rc;
}

int lo_buf_printf(lo_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = lo_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int lo_buf_json_str(lo_buf *b, const char *s, size_t n)
{
    int rc = lo_buf_putc(b, '"');
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': rc = lo_buf_puts(b, "\\\""); break;
        case '\\': rc = lo_buf_puts(b, "\\\\"); break;
        case '\n': rc = lo_buf_puts(b, "\\n"); break;
        case '\r': rc = lo_buf_puts(b, "\\r"); break;
        case '\t': rc = lo_buf_puts(b, "\\t"); break;
        default:
            if (c < 0x20)
                rc = lo_buf_printf(b, "\\u%04x", c);
            else
                rc = lo_buf_putc(b, (char)c);
        }
    }
    return rc ? rc : lo_buf_putc(b, '"');
}

char *lo_buf_steal(lo_buf *b)
{
    char *d = b->data;
    if (!d)
        d = lo_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}
