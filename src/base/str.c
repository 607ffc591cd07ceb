/* String helpers: comparison, edit distance for "did you mean", and parsing
 * of the number, duration and size literals pipelines use. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lightsout/base.h"

bool lo_str_eq(const char *a, const char *b)
{
    if (a == b)
        return true;
    if (!a || !b)
        return false;
    return strcmp(a, b) == 0;
}

bool lo_str_starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

size_t lo_edit_distance(const char *a, const char *b, size_t cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if ((la > lb ? la - lb : lb - la) > cap)
        return cap + 1;
    if (lb > 64)
        return cap + 1; /* suggestions are for short words only */
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t prev = row[0], best = i;
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cur = row[j];
            size_t sub = prev + (tolower((unsigned char)a[i - 1]) !=
                                 tolower((unsigned char)b[j - 1]));
            size_t v = sub;
            if (row[j] + 1 < v) v = row[j] + 1;
            if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
            row[j] = v;
            prev = cur;
            if (v < best) best = v;
        }
        if (best > cap)
            return cap + 1;
    }
    return row[lb];
}

const char *lo_closest(const char *word, const char *const *cands, size_t n,
                       size_t max)
{
    const char *best = NULL;
    size_t best_d = max + 1;
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(word, cands[i]) == 0)
            return cands[i];
        size_t d = lo_edit_distance(word, cands[i], max);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best;
}

int lo_parse_int64(const char *s, int64_t *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return LO_EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return LO_EINVAL;
    *out = v;
    return 0;
}

int lo_parse_double(const char *s, double *out)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return LO_EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return LO_EINVAL;
    *out = v;
    return 0;
}

/* Split "123abc" into the number and the unit; the number must be whole
 * digits (durations) or may have a fraction (sizes, allow_frac). */
static int split_unit(const char *s, bool allow_frac, double *num, const char **unit)
{
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return LO_EINVAL;
    while (isdigit((unsigned char)*p))
        p++;
    if (allow_frac && *p == '.' && isdigit((unsigned char)p[1])) {
        p++;
        while (isdigit((unsigned char)*p))
            p++;
    }
    char tmp[64];
    size_t n = (size_t)(p - s);
    if (n >= sizeof tmp)
        return LO_EINVAL;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *num = strtod(tmp, NULL);
    *unit = p;
    return 0;
}

int lo_parse_duration_ms(const char *s, int64_t *ms)
{
    double v;
    const char *u;
    if (!s || split_unit(s, false, &v, &u))
        return LO_EINVAL;
    double mult;
    if (!*u || strcmp(u, "s") == 0) mult = 1000;
    else if (strcmp(u, "ms") == 0) mult = 1;
    else if (strcmp(u, "m") == 0) mult = 60e3;
    else if (strcmp(u, "h") == 0) mult = 3600e3;
    else if (strcmp(u, "d") == 0) mult = 86400e3;
    else return LO_EINVAL;
    double r = v * mult;
    if (r > 9e15)
        return LO_EINVAL;
    *ms = (int64_t)r;
    return 0;
}

int lo_parse_size(const char *s, int64_t *bytes)
{
    double v;
    const char *u;
    if (!s || split_unit(s, true, &v, &u))
        return LO_EINVAL;
    static const struct { const char *u; double m; } units[] = {
        {"", 1}, {"B", 1}, {"K", 1024.0}, {"KB", 1024.0}, {"KiB", 1024.0},
        {"M", 1048576.0}, {"MB", 1048576.0}, {"MiB", 1048576.0},
        {"G", 1073741824.0}, {"GB", 1073741824.0}, {"GiB", 1073741824.0},
        {"T", 1099511627776.0}, {"TB", 1099511627776.0}, {"TiB", 1099511627776.0},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(u, units[i].u) == 0) {
            double r = v * units[i].m;
            if (r > 9e18)
                return LO_EINVAL;
            *bytes = (int64_t)r;
            return 0;
        }
    }
    return LO_EINVAL;
}

size_t lo_utf8_seq(const char *s, size_t left)
{
    const unsigned char *p = (const unsigned char *)s;
    if (left == 0)
        return 0;
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
    else return 0;
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

bool lo_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = lo_utf8_seq(s + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

int lo_utf8_append_clean(lo_buf *b, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t k = s[i] ? lo_utf8_seq(s + i, n - i) : 0;
        int rc = k ? lo_buf_append(b, s + i, k) : lo_buf_puts(b, "\xEF\xBF\xBD");
        if (rc)
            return rc;
        i += k ? k : 1;
    }
    return 0;
}

char *lo_utf8_clean(const char *s, size_t n)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    if (lo_utf8_append_clean(&b, s, n) || lo_buf_append(&b, "", 0)) {
        lo_buf_release(&b);
        return NULL;
    }
    return lo_buf_steal(&b);
}
