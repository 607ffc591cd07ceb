/* Test-report parsers for validation gates: the report itself, format
 * names and dispatch. The parsers are in report_tap.c (TAP, prove),
 * report_text.c (go test, cargo, pytest, ctest, the plain line) and
 * report_junit.c (JUnit XML). */
#include "gate/report_internal.h"

/* ---- the report itself ---- */

/* A copy safe for messages, JSON and the context: at most NAME_MAX_BYTES,
 * never split inside a UTF-8 sequence, invalid bytes and NULs replaced. */
static char *dup_clean(const char *s, size_t n)
{
    char *c = lo_utf8_clean(s, n > NAME_MAX_BYTES ? NAME_MAX_BYTES : n);
    /* Each replaced byte grows to three: cut again, on a boundary. */
    size_t k = c ? strlen(c) : 0;
    if (k > NAME_MAX_BYTES) {
        k = NAME_MAX_BYTES;
        while (k > 0 && ((unsigned char)c[k] & 0xC0) == 0x80)
            k--;
        c[k] = '\0';
    }
    return c;
}

/* The first non-blank line of a message, trimmed. */
static span first_line(const char *m, size_t n)
{
    size_t pos = 0;
    span l;
    while (next_line(m, n, &pos, &l)) {
        l = trim(l);
        if (l.n > 0)
            return l;
    }
    return (span){m, 0};
}

int lo_report_add_test_(lo_report *r, const char *name, size_t nlen, int status,
                        const char *msg, size_t mlen)
{
    size_t n = r->n_tests;
    /* Capacity is implied by the count: grow at 0, 8, 16, 32, ... */
    if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {
        size_t cap = n == 0 ? 8 : n * 2;
        if (cap > SIZE_MAX / sizeof *r->tests)
            return LO_ENOMEM;
        lo_test_result *v = lo_realloc(r->tests, cap * sizeof *v);
        if (!v)
            return LO_ENOMEM;
        r->tests = v;
    }
    span nm = trim((span){name, nlen});
    lo_test_result *t = &r->tests[n];
    t->status = status;
    t->message = NULL;
    t->name = dup_clean(nm.p, nm.n);
    if (!t->name)
        return LO_ENOMEM;
    if (msg) {
        span m = first_line(msg, mlen);
        if (m.n > 0 && !(t->message = dup_clean(m.p, m.n))) {
            free(t->name);
            return LO_ENOMEM;
        }
    }
    r->n_tests = n + 1;
    return 0;
}

int lo_report_set_message_(lo_report *r, size_t idx, span m)
{
    if (idx >= r->n_tests || r->tests[idx].message)
        return 0;
    m = first_line(m.p, m.n);
    if (m.n == 0)
        return 0;
    r->tests[idx].message = dup_clean(m.p, m.n);
    return r->tests[idx].message ? 0 : LO_ENOMEM;
}

void lo_report_release(lo_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_tests; i++) {
        free(r->tests[i].name);
        free(r->tests[i].message);
    }
    free(r->tests);
    r->tests = NULL;
    r->n_tests = 0;
    r->passed = r->failed = r->skipped = r->total = 0;
    r->found = false;
}

static const char *const format_names[] = {
    [LO_REPORT_AUTO] = "auto",     [LO_REPORT_TAP] = "tap",     [LO_REPORT_JUNIT] = "junit",
    [LO_REPORT_PYTEST] = "pytest", [LO_REPORT_GO] = "go",       [LO_REPORT_CARGO] = "cargo",
    [LO_REPORT_CTEST] = "ctest",   [LO_REPORT_PROVE] = "prove", [LO_REPORT_PLAIN] = "plain",
    [LO_REPORT_NONE] = "none",
};

int lo_report_format_parse(const char *name, lo_report_format *out)
{
    if (!name)
        return LO_EINVAL;
    for (size_t i = 0; i < sizeof format_names / sizeof *format_names; i++) {
        if (strcasecmp(name, format_names[i]) == 0) {
            if (out)
                *out = (lo_report_format)i;
            return 0;
        }
    }
    return LO_EINVAL;
}

const char *lo_report_format_name(lo_report_format f)
{
    if ((unsigned)f < sizeof format_names / sizeof *format_names)
        return format_names[f];
    return "unknown";
}

/* ---- dispatch ---- */

static int parse_one(const char *t, size_t len, lo_report_format f, bool auto_mode, lo_report *r)
{
    switch (f) {
    case LO_REPORT_TAP: return lo_report_parse_tap_(t, len, r, auto_mode);
    case LO_REPORT_JUNIT: return lo_report_junit_scan_(t, len, r);
    case LO_REPORT_PYTEST: return lo_report_parse_pytest_(t, len, r);
    case LO_REPORT_GO: return lo_report_parse_go_(t, len, r);
    case LO_REPORT_CARGO: return lo_report_parse_cargo_(t, len, r);
    case LO_REPORT_CTEST: return lo_report_parse_ctest_(t, len, r);
    case LO_REPORT_PROVE: return lo_report_parse_prove_(t, len, r);
    case LO_REPORT_PLAIN: return lo_report_parse_plain_(t, len, r);
    default: return 0;
    }
}

/* Colour codes (CSI sequences) split words like "FAILED" when CI forces
 * colour; drop them. NULL when the text has none or out of memory (*rc). */
static char *strip_ansi(const char *t, size_t len, size_t *out_len, int *rc)
{
    *rc = 0;
    if (!memchr(t, 0x1b, len))
        return NULL;
    char *o = lo_malloc(len + 1);
    if (!o) {
        *rc = LO_ENOMEM;
        return NULL;
    }
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] == 0x1b && i + 1 < len && t[i + 1] == '[') {
            i += 2;
            while (i < len && !((unsigned char)t[i] >= 0x40 && (unsigned char)t[i] <= 0x7e))
                i++;
            continue;
        }
        o[j++] = t[i];
    }
    o[j] = '\0';
    *out_len = j;
    return o;
}

static bool starts_with_lt(const char *t, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && is_ws(t[i]))
        i++;
    return i < len && t[i] == '<';
}

int lo_report_parse(const char *text, size_t len, lo_report_format fmt, lo_report *out)
{
    *out = (lo_report){.format = fmt};
    if (fmt == LO_REPORT_NONE || !text || len == 0)
        return 0;
    int rc;
    char *clean = strip_ansi(text, len, &len, &rc);
    if (rc)
        return rc;
    const char *t = clean ? clean : text;
    static const lo_report_format order[] = {
        LO_REPORT_JUNIT, LO_REPORT_PROVE, LO_REPORT_TAP,   LO_REPORT_GO,
        LO_REPORT_CARGO, LO_REPORT_PYTEST, LO_REPORT_CTEST, LO_REPORT_PLAIN,
    };
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        lo_report_format f = fmt == LO_REPORT_AUTO ? order[i] : fmt;
        if (fmt == LO_REPORT_AUTO && f == LO_REPORT_JUNIT && !starts_with_lt(t, len))
            continue;
        lo_report r = {.format = f};
        rc = parse_one(t, len, f, fmt == LO_REPORT_AUTO, &r);
        if (rc) {
            lo_report_release(&r);
            break;
        }
        if (r.found || fmt != LO_REPORT_AUTO) {
            *out = r;
            break;
        }
        lo_report_release(&r);
    }
    free(clean);
    if (rc)
        return rc;
    if (!out->found) {
        lo_report_release(out);
        return 0;
    }
    /* Counts are never negative and the total covers them. */
    if (out->passed < 0)
        out->passed = 0;
    if (out->failed < 0)
        out->failed = 0;
    if (out->skipped < 0)
        out->skipped = 0;
    long sum = sat_add(sat_add(out->passed, out->failed), out->skipped);
    if (out->total < sum)
        out->total = sum;
    return 0;
}

char *lo_report_failing_names(const lo_report *r, size_t max)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    bool cut = false;
    for (size_t i = 0; r && i < r->n_tests && !cut; i++) {
        if (r->tests[i].status != 1 || !r->tests[i].name)
            continue;
        if ((b.len > 0 && lo_buf_puts(&b, ", ") != 0) || lo_buf_puts(&b, r->tests[i].name) != 0) {
            lo_buf_release(&b);
            return NULL;
        }
        cut = max > 0 && b.len > max;
    }
    if (max > 0 && b.len > max) {
        /* Room for the three bytes of "…", never inside a UTF-8 sequence. */
        size_t keep = max >= 3 ? max - 3 : 0;
        while (keep > 0 && ((unsigned char)b.data[keep] & 0xC0) == 0x80)
            keep--;
        b.len = keep;
        b.data[keep] = '\0';
        if (max >= 3 && lo_buf_puts(&b, "\xE2\x80\xA6") != 0) {
            lo_buf_release(&b);
            return NULL;
        }
    }
    char *s = b.data ? lo_buf_steal(&b) : lo_strdup("");
    return s;
}
