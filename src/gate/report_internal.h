/* Shared by the report parsers (report.c, report_tap.c, report_text.c,
 * report_junit.c); not part of the public API.
 *
 * Command output is untrusted and often cut short (timeouts, output caps),
 * so every parser works on (pointer, length) spans, never reads past len,
 * saturates its numbers and treats what it does not understand as noise. */
#ifndef LO_REPORT_INTERNAL_H
#define LO_REPORT_INTERNAL_H

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lightsout/gate.h"

#define NAME_MAX_BYTES 512
#define NUM_CAP 1000000000000L /* counts above this are noise, not tests */
#define MISSING_NAMED 64        /* "missing test N" entries before a range */
#define TAP_BITMAP_MAX (1u << 20)

typedef struct span {
    const char *p;
    size_t n;
} span;

/* ---- small span helpers ---- */

static inline bool next_line(const char *t, size_t len, size_t *pos, span *line)
{
    if (*pos >= len)
        return false;
    const char *s = t + *pos;
    const char *e = memchr(s, '\n', len - *pos);
    size_t n = e ? (size_t)(e - s) : len - *pos;
    *pos += n + (e ? 1 : 0);
    if (n > 0 && s[n - 1] == '\r')
        n--;
    line->p = s;
    line->n = n;
    return true;
}

static inline bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }
static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

static inline span trim(span s)
{
    while (s.n > 0 && is_ws(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_ws(s.p[s.n - 1]))
        s.n--;
    return s;
}

static inline bool starts(span s, const char *pfx)
{
    size_t k = strlen(pfx);
    return s.n >= k && memcmp(s.p, pfx, k) == 0;
}

static inline bool starts_ci(span s, const char *pfx)
{
    size_t k = strlen(pfx);
    return s.n >= k && strncasecmp(s.p, pfx, k) == 0;
}

static inline bool ends(span s, const char *sfx)
{
    size_t k = strlen(sfx);
    return s.n >= k && memcmp(s.p + s.n - k, sfx, k) == 0;
}

static inline span skip(span s, size_t k)
{
    if (k > s.n)
        k = s.n;
    s.p += k;
    s.n -= k;
    return s;
}

/* Offset of needle in s, or -1. */
static inline long find(span s, const char *needle)
{
    size_t k = strlen(needle);
    if (k == 0 || k > s.n)
        return -1;
    for (size_t i = 0; i + k <= s.n; i++)
        if (s.p[i] == needle[0] && memcmp(s.p + i, needle, k) == 0)
            return (long)i;
    return -1;
}

static inline long rfind(span s, const char *needle)
{
    size_t k = strlen(needle);
    if (k == 0 || k > s.n)
        return -1;
    for (size_t i = s.n - k + 1; i-- > 0;)
        if (s.p[i] == needle[0] && memcmp(s.p + i, needle, k) == 0)
            return (long)i;
    return -1;
}

/* Consume leading digits into *out (saturating at NUM_CAP). */
static inline bool take_num(span *s, long *out)
{
    size_t i = 0;
    long v = 0;
    while (i < s->n && is_digit(s->p[i])) {
        if (v < NUM_CAP)
            v = v * 10 + (s->p[i] - '0');
        i++;
    }
    if (i == 0)
        return false;
    *out = v > NUM_CAP ? NUM_CAP : v;
    *s = skip(*s, i);
    return true;
}

static inline span skip_ws(span s)
{
    while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t'))
        s = skip(s, 1);
    return s;
}

static inline long sat_add(long a, long b)
{
    if (a < 0)
        a = 0;
    if (b < 0)
        b = 0;
    return a > LONG_MAX - b ? LONG_MAX : a + b;
}

static inline size_t indent_of(span s)
{
    size_t i = 0;
    while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\t'))
        i++;
    return i;
}

/* report.c: building a report */
int lo_report_add_test_(lo_report *r, const char *name, size_t nlen, int status,
                        const char *msg, size_t mlen);
int lo_report_set_message_(lo_report *r, size_t idx, span m);

/* the parsers: 0 or LO_ENOMEM; r->found says whether the text was theirs */
int lo_report_parse_tap_(const char *t, size_t len, lo_report *r, bool strict); /* report_tap.c */
int lo_report_parse_prove_(const char *t, size_t len, lo_report *r);           /* report_tap.c */
int lo_report_parse_go_(const char *t, size_t len, lo_report *r);              /* report_text.c */
int lo_report_parse_cargo_(const char *t, size_t len, lo_report *r);
int lo_report_parse_pytest_(const char *t, size_t len, lo_report *r);
int lo_report_parse_ctest_(const char *t, size_t len, lo_report *r);
int lo_report_parse_plain_(const char *t, size_t len, lo_report *r);
int lo_report_junit_scan_(const char *t, size_t n, lo_report *r);              /* report_junit.c */

#endif
