/* Test-report parsers for validation gates: TAP, prove, go test (plain and
 * -json), cargo test, pytest, ctest and the plain "N passed, N failed" line.
 * JUnit XML lives in report_junit.c.
 *
 * Command output is untrusted and often cut short (timeouts, output caps),
 * so every parser works on (pointer, length) spans, never reads past len,
 * saturates its numbers and treats what it does not understand as noise. */
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lightsout/gate.h"

/* Shared with report_junit.c; declared here and there because the gate layer
 * has no private header for the report parsers. */
int lo_report_add_test_(lo_report *r, const char *name, size_t nlen, int status,
                        const char *msg, size_t mlen);
int lo_report_junit_scan_(const char *t, size_t n, lo_report *r);

#define NAME_MAX_BYTES 512
#define NUM_CAP 1000000000000L /* counts above this are noise, not tests */
#define MISSING_NAMED 64        /* "missing test N" entries before a range */
#define TAP_BITMAP_MAX (1u << 20)

typedef struct span {
    const char *p;
    size_t n;
} span;

/* ---- small span helpers ---- */

static bool next_line(const char *t, size_t len, size_t *pos, span *line)
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

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static span trim(span s)
{
    while (s.n > 0 && is_ws(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_ws(s.p[s.n - 1]))
        s.n--;
    return s;
}

static bool starts(span s, const char *pfx)
{
    size_t k = strlen(pfx);
    return s.n >= k && memcmp(s.p, pfx, k) == 0;
}

static bool starts_ci(span s, const char *pfx)
{
    size_t k = strlen(pfx);
    return s.n >= k && strncasecmp(s.p, pfx, k) == 0;
}

static bool ends(span s, const char *sfx)
{
    size_t k = strlen(sfx);
    return s.n >= k && memcmp(s.p + s.n - k, sfx, k) == 0;
}

static span skip(span s, size_t k)
{
    if (k > s.n)
        k = s.n;
    s.p += k;
    s.n -= k;
    return s;
}

/* Offset of needle in s, or -1. */
static long find(span s, const char *needle)
{
    size_t k = strlen(needle);
    if (k == 0 || k > s.n)
        return -1;
    for (size_t i = 0; i + k <= s.n; i++)
        if (s.p[i] == needle[0] && memcmp(s.p + i, needle, k) == 0)
            return (long)i;
    return -1;
}

static long rfind(span s, const char *needle)
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
static bool take_num(span *s, long *out)
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

static span skip_ws(span s)
{
    while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t'))
        s = skip(s, 1);
    return s;
}

static long sat_add(long a, long b)
{
    if (a < 0)
        a = 0;
    if (b < 0)
        b = 0;
    return a > LONG_MAX - b ? LONG_MAX : a + b;
}

static size_t indent_of(span s)
{
    size_t i = 0;
    while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\t'))
        i++;
    return i;
}

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

static int set_message(lo_report *r, size_t idx, span m)
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

/* ---- TAP ---- */

typedef struct tap_stream {
    bool has_plan;
    long plan, count, last;
    unsigned char *seen; /* bitmap of test numbers 1..TAP_BITMAP_MAX */
    size_t seen_bytes;
} tap_stream;

static int tap_mark(tap_stream *s, long num)
{
    if (num <= 0 || (unsigned long)num > TAP_BITMAP_MAX)
        return 0;
    size_t byte = (size_t)num / 8;
    if (byte >= s->seen_bytes) {
        size_t nb = s->seen_bytes ? s->seen_bytes : 64;
        while (nb <= byte)
            nb *= 2;
        unsigned char *v = lo_realloc(s->seen, nb);
        if (!v)
            return LO_ENOMEM;
        memset(v + s->seen_bytes, 0, nb - s->seen_bytes);
        s->seen = v;
        s->seen_bytes = nb;
    }
    s->seen[byte] |= (unsigned char)(1u << (num % 8));
    return 0;
}

static bool tap_seen(const tap_stream *s, long num)
{
    size_t byte = (size_t)num / 8;
    return byte < s->seen_bytes && (s->seen[byte] & (1u << (num % 8)));
}

/* End of one TAP stream: tests the plan promised that never ran fail. */
static int tap_finish(tap_stream *s, lo_report *r)
{
    int rc = 0;
    if (s->has_plan) {
        char nm[96];
        if (s->plan > (long)TAP_BITMAP_MAX) {
            if (s->count < s->plan) {
                r->failed = sat_add(r->failed, s->plan - s->count);
                snprintf(nm, sizeof nm, "missing tests (%ld of %ld)", s->plan - s->count, s->plan);
                rc = lo_report_add_test_(r, nm, strlen(nm), 1, NULL, 0);
            }
        } else {
            long named = 0;
            for (long i = 1; i <= s->plan && !rc; i++) {
                if (tap_seen(s, i))
                    continue;
                if (named == MISSING_NAMED) {
                    long left = 0;
                    for (long j = i; j <= s->plan; j++)
                        left += !tap_seen(s, j);
                    r->failed = sat_add(r->failed, left);
                    snprintf(nm, sizeof nm, "missing tests %ld-%ld (%ld)", i, s->plan, left);
                    rc = lo_report_add_test_(r, nm, strlen(nm), 1, NULL, 0);
                    break;
                }
                r->failed = sat_add(r->failed, 1);
                snprintf(nm, sizeof nm, "missing test %ld", i);
                rc = lo_report_add_test_(r, nm, strlen(nm), 1, NULL, 0);
                named++;
            }
        }
        if (!rc && s->count > s->plan) {
            r->failed = sat_add(r->failed, 1);
            snprintf(nm, sizeof nm, "planned %ld tests but ran %ld", s->plan, s->count);
            rc = lo_report_add_test_(r, nm, strlen(nm), 1, NULL, 0);
        }
    }
    free(s->seen);
    *s = (tap_stream){0};
    return rc;
}

/* "1..N" with an optional "# skip reason"; *n gets N. */
static bool tap_plan(span l, long *n)
{
    if (!take_num(&l, n) || !starts(l, ".."))
        return false;
    l = skip(l, 2);
    long to;
    if (!take_num(&l, &to))
        return false;
    l = skip_ws(l);
    if (l.n > 0 && l.p[0] != '#')
        return false;
    *n = to;
    return true;
}

/* strict: only numbered test lines, plans and version lines make it TAP
 * (so go's "ok  \tpkg" lines are not taken for TAP under AUTO). */
static int parse_tap(const char *t, size_t len, lo_report *r, bool strict)
{
    tap_stream s = {0};
    size_t pos = 0, pending = SIZE_MAX; /* failed test still without message */
    span l;
    int rc = 0;
    while (!rc && next_line(t, len, &pos, &l)) {
        if (l.n == 0)
            continue;
        if (is_ws(l.p[0])) {
            /* Subtests and YAML blocks; the YAML message names the failure. */
            span x = trim(l);
            if (pending != SIZE_MAX && starts(x, "message:")) {
                x = trim(skip(x, 8));
                if (x.n >= 2 && (x.p[0] == '"' || x.p[0] == '\'') && x.p[x.n - 1] == x.p[0])
                    x = (span){x.p + 1, x.n - 2};
                rc = set_message(r, pending, x);
                pending = SIZE_MAX;
            }
            continue;
        }
        long n;
        if (starts_ci(l, "TAP version ")) {
            r->found = true;
            if (s.count > 0 || s.has_plan)
                rc = tap_finish(&s, r);
            continue;
        }
        if (tap_plan(l, &n)) {
            r->found = true;
            if (s.has_plan && (s.count > 0 || s.plan == 0))
                rc = tap_finish(&s, r); /* a second stream */
            if (!rc) {
                s.has_plan = true;
                s.plan = n;
            }
            continue;
        }
        if (starts(l, "Bail out!")) {
            r->found = true;
            r->failed = sat_add(r->failed, 1);
            rc = lo_report_add_test_(r, l.p, l.n, 1, NULL, 0);
            free(s.seen);
            return rc; /* nothing after a bail-out counts */
        }
        if (l.p[0] == '#') {
            if (pending != SIZE_MAX) {
                span x = trim(skip(l, 1));
                if (x.n > 0) {
                    rc = set_message(r, pending, x);
                    pending = SIZE_MAX;
                }
            }
            continue;
        }
        bool ok;
        span x;
        if (starts(l, "ok") && (l.n == 2 || is_ws(l.p[2]))) {
            ok = true;
            x = skip(l, 2);
        } else if (starts(l, "not ok") && (l.n == 6 || is_ws(l.p[6]))) {
            ok = false;
            x = skip(l, 6);
        } else {
            continue;
        }
        x = skip_ws(x);
        long num;
        bool numbered = take_num(&x, &num);
        if (numbered && x.n > 0 && !is_ws(x.p[0]))
            continue; /* "ok 12abc" is not a test line */
        if (strict && !numbered)
            continue;
        r->found = true;
        if (!numbered)
            num = s.last < NUM_CAP ? s.last + 1 : NUM_CAP;
        s.last = num;
        s.count = sat_add(s.count, 1);
        if ((rc = tap_mark(&s, num)))
            break;
        /* Description up to an unescaped '#', then the directive. */
        x = skip_ws(x);
        if (starts(x, "- "))
            x = skip(x, 2);
        size_t h = 0;
        while (h < x.n && !(x.p[h] == '#' && (h == 0 || x.p[h - 1] != '\\')))
            h++;
        span desc = trim((span){x.p, h});
        span dir = trim(skip(x, h + 1));
        int status = ok ? 0 : 1;
        if (h < x.n && starts_ci(dir, "skip"))
            status = 2;
        else if (h < x.n && starts_ci(dir, "todo"))
            status = 0;
        if (status == 0)
            r->passed = sat_add(r->passed, 1);
        else if (status == 1)
            r->failed = sat_add(r->failed, 1);
        else
            r->skipped = sat_add(r->skipped, 1);
        char nm[40];
        if (desc.n == 0) {
            snprintf(nm, sizeof nm, "test %ld", num);
            desc = (span){nm, strlen(nm)};
        }
        rc = lo_report_add_test_(r, desc.p, desc.n, status, NULL, 0);
        pending = status == 1 ? r->n_tests - 1 : SIZE_MAX;
    }
    if (!rc)
        rc = tap_finish(&s, r);
    else
        free(s.seen);
    return rc;
}

/* ---- prove ---- */

static int prove_failed_list(lo_report *r, span file, span list, long *added)
{
    /* "2, 4-6": expand ranges, a bounded number of names per file. */
    int rc = 0;
    while (!rc && list.n > 0) {
        list = skip_ws(list);
        long a, b;
        if (!take_num(&list, &a))
            break;
        b = a;
        if (starts(list, "-")) {
            list = skip(list, 1);
            if (!take_num(&list, &b) || b < a)
                b = a;
        }
        for (long i = a; i <= b && !rc; i++) {
            char nm[NAME_MAX_BYTES + 40];
            if (*added >= 1000 || i - a >= MISSING_NAMED) {
                snprintf(nm, sizeof nm, "%.*s #%ld-%ld", (int)(file.n > NAME_MAX_BYTES ? NAME_MAX_BYTES : file.n),
                         file.p, i, b);
                rc = lo_report_add_test_(r, nm, strlen(nm), 1, NULL, 0);
                (*added)++;
                break;
            }
            snprintf(nm, sizeof nm, "%.*s #%ld", (int)(file.n > NAME_MAX_BYTES ? NAME_MAX_BYTES : file.n),
                     file.p, i);
            rc = lo_report_add_test_(r, nm, strlen(nm), 1, NULL, 0);
            (*added)++;
        }
        list = skip_ws(list);
        if (starts(list, ","))
            list = skip(list, 1);
        else
            break;
    }
    return rc;
}

static int parse_prove(const char *t, size_t len, lo_report *r)
{
    size_t pos = 0;
    span l, file = {NULL, 0};
    bool in_summary = false, file_counted = true, summary_seen = false;
    long tests = -1, failed_tests = 0, fallback_failed = 0, less_skipped = 0, skip_lines = 0;
    long added = 0;
    int rc = 0;
    while (!rc && next_line(t, len, &pos, &l)) {
        span x = trim(l);
        if (starts(l, "All tests successful.") || starts(l, "Result: ")) {
            r->found = true;
            continue;
        }
        if (starts(l, "Files=")) {
            span y = skip(l, 6);
            long f;
            if (take_num(&y, &f) && starts(y, ", Tests=")) {
                y = skip(y, 8);
                long n;
                if (take_num(&y, &n)) {
                    r->found = true;
                    tests = sat_add(tests < 0 ? 0 : tests, n);
                }
            }
            in_summary = false;
            continue;
        }
        if (starts(l, "Test Summary Report")) {
            r->found = summary_seen = in_summary = true;
            continue;
        }
        if (starts(x, "(less ")) {
            span y = skip(x, 6);
            long n;
            if (take_num(&y, &n) && starts(y, " skipped subtest"))
                less_skipped = sat_add(less_skipped, n);
            continue;
        }
        if (starts(l, "ok ") && find(l, "# skip") >= 0)
            skip_lines = sat_add(skip_lines, 1);
        if (starts(x, "Failed ") && ends(x, "subtests")) {
            span y = skip(x, 7);
            long n;
            if (take_num(&y, &n) && starts(y, "/")) {
                r->found = true;
                fallback_failed = sat_add(fallback_failed, n);
            }
            continue;
        }
        if (!in_summary || l.n == 0 || starts(l, "---"))
            continue;
        if (!is_ws(l.p[0])) {
            long w = find(l, " (Wstat: ");
            if (w < 0)
                continue;
            file = (span){l.p, (size_t)w};
            file_counted = false;
            long f = rfind(l, "Failed: ");
            if (f >= 0) {
                span y = skip(l, (size_t)f + 8);
                long n;
                if (take_num(&y, &n) && n > 0) {
                    failed_tests = sat_add(failed_tests, n);
                    file_counted = true;
                }
            }
            continue;
        }
        if (!file.p)
            continue;
        if (starts(x, "Failed test:") || starts(x, "Failed tests:")) {
            rc = prove_failed_list(r, file, skip(x, (size_t)find(x, ":") + 1), &added);
        } else if (!file_counted && (starts(x, "Parse errors:") || starts(x, "Non-zero exit status:") ||
                                     starts(x, "Non-zero wait status:"))) {
            /* The file failed without a failing test: one failure for it. */
            file_counted = true;
            r->failed = sat_add(r->failed, 1);
            rc = lo_report_add_test_(r, file.p, file.n, 1, x.p, x.n);
        }
    }
    if (rc)
        return rc;
    r->skipped = less_skipped > skip_lines ? less_skipped : skip_lines;
    long ft = summary_seen ? failed_tests : fallback_failed;
    r->failed = sat_add(r->failed, ft);
    if (tests >= 0) {
        long p = tests - ft - r->skipped;
        r->passed = p > 0 ? p : 0;
    }
    return 0;
}

/* ---- go test ---- */

static int go_json_line(span l, lo_report *r, json_t *fails_by_pkg, json_t *msgs, bool *any)
{
    json_error_t je;
    json_t *o = json_loadb(l.p, l.n, 0, &je);
    if (!o)
        return 0;
    int rc = 0;
    const char *action = json_string_value(json_object_get(o, "Action"));
    const char *test = json_string_value(json_object_get(o, "Test"));
    const char *pkg = json_string_value(json_object_get(o, "Package"));
    if (!json_is_object(o) || !action)
        goto out;
    *any = true;
    if (!pkg)
        pkg = "";
    if (test && strchr(test, '/'))
        goto out; /* subtests are part of their parent */
    if (test) {
        char key[NAME_MAX_BYTES * 2 + 2];
        snprintf(key, sizeof key, "%s\x1f%s", pkg, test);
        if (strcmp(action, "output") == 0) {
            const char *out = json_string_value(json_object_get(o, "Output"));
            span x = out ? trim((span){out, strlen(out)}) : (span){"", 0};
            if (x.n > 0 && !json_object_get(msgs, key) && !starts(x, "=== ") && !starts(x, "--- ")) {
                json_t *v = json_stringn(x.p, x.n);
                if (!v || json_object_set_new(msgs, key, v) != 0)
                    rc = LO_ENOMEM;
            }
        } else if (strcmp(action, "pass") == 0) {
            r->passed = sat_add(r->passed, 1);
            rc = lo_report_add_test_(r, test, strlen(test), 0, NULL, 0);
        } else if (strcmp(action, "skip") == 0) {
            r->skipped = sat_add(r->skipped, 1);
            rc = lo_report_add_test_(r, test, strlen(test), 2, NULL, 0);
        } else if (strcmp(action, "fail") == 0) {
            r->failed = sat_add(r->failed, 1);
            const char *m = json_string_value(json_object_get(msgs, key));
            rc = lo_report_add_test_(r, test, strlen(test), 1, m, m ? strlen(m) : 0);
            json_t *c = rc ? NULL : json_integer(json_integer_value(json_object_get(fails_by_pkg, pkg)) + 1);
            if (!rc && (!c || json_object_set_new(fails_by_pkg, pkg, c) != 0))
                rc = LO_ENOMEM; /* set_new frees c on failure */
        }
    } else if (strcmp(action, "fail") == 0 && json_integer_value(json_object_get(fails_by_pkg, pkg)) == 0) {
        /* A package that failed with no failing test: build error or panic. */
        r->failed = sat_add(r->failed, 1);
        rc = lo_report_add_test_(r, pkg, strlen(pkg), 1, "package failed", 14);
    }
out:
    json_decref(o);
    return rc;
}

static int parse_go(const char *t, size_t len, lo_report *r)
{
    size_t pos = 0, pending = SIZE_MAX;
    span l, first_log = {NULL, 0}; /* -v streams a test's log before its verdict */
    long fails_since_pkg = 0;
    bool any_json = false;
    int rc = 0;
    json_t *fails_by_pkg = json_object(), *msgs = json_object();
    if (!fails_by_pkg || !msgs) {
        json_decref(fails_by_pkg);
        json_decref(msgs);
        return LO_ENOMEM;
    }
    while (!rc && next_line(t, len, &pos, &l)) {
        if (l.n > 0 && l.p[0] == '{') {
            rc = go_json_line(l, r, fails_by_pkg, msgs, &any_json);
            continue;
        }
        size_t ind = indent_of(l);
        span x = trim(l);
        int status = -1;
        if (starts(x, "--- FAIL: "))
            status = 1;
        else if (starts(x, "--- PASS: "))
            status = 0;
        else if (starts(x, "--- SKIP: "))
            status = 2;
        if (status >= 0) {
            r->found = true;
            if (ind > 0)
                continue; /* a subtest; its parent carries the verdict */
            span name = skip(x, 10);
            long paren = rfind(name, " (");
            if (paren >= 0)
                name.n = (size_t)paren;
            if (status == 0)
                r->passed = sat_add(r->passed, 1);
            else if (status == 1)
                r->failed = sat_add(r->failed, 1), fails_since_pkg++;
            else
                r->skipped = sat_add(r->skipped, 1);
            rc = lo_report_add_test_(r, name.p, name.n, status, status == 1 ? first_log.p : NULL,
                                     first_log.n);
            pending = status == 1 && !first_log.p ? r->n_tests - 1 : SIZE_MAX;
            first_log = (span){NULL, 0};
            continue;
        }
        if (starts(x, "=== RUN") || (ind == 0 && x.n == 4 && starts(x, "PASS"))) {
            if (ind == 0 && find(x, "/") < 0)
                first_log = (span){NULL, 0};
            r->found = true;
            continue;
        }
        if (ind == 0 && ((starts(l, "ok") && l.n > 2 && is_ws(l.p[2])) ||
                         (starts(l, "FAIL") && l.n > 4 && is_ws(l.p[4])))) {
            span y = skip_ws(skip(l, l.p[0] == 'o' ? 2 : 4));
            if (y.n == 0 || is_digit(y.p[0]))
                continue; /* TAP-like "ok 1", not a package line */
            r->found = true;
            if (l.p[0] == 'F' && fails_since_pkg == 0) {
                size_t e = 0;
                while (e < y.n && !is_ws(y.p[e]))
                    e++;
                r->failed = sat_add(r->failed, 1);
                span rest = trim(skip(y, e));
                rc = lo_report_add_test_(r, y.p, e, 1, rest.n ? rest.p : "package failed",
                                         rest.n ? rest.n : 14);
            }
            fails_since_pkg = 0;
            pending = SIZE_MAX;
            continue;
        }
        if (ind > 0 && x.n > 0 && !first_log.p && pending == SIZE_MAX && !starts(x, "=== "))
            first_log = x;
        if (pending != SIZE_MAX && ind > 0 && x.n > 0 && !starts(x, "=== ")) {
            rc = set_message(r, pending, x);
            pending = SIZE_MAX;
        }
    }
    if (any_json)
        r->found = true;
    json_decref(fails_by_pkg);
    json_decref(msgs);
    return rc;
}

/* ---- cargo test ---- */

static int parse_cargo(const char *t, size_t len, lo_report *r)
{
    size_t pos = 0;
    span l;
    bool results = false;
    long lp = 0, lf = 0, ls = 0;  /* from per-test lines */
    long rp = 0, rf = 0, rs = 0;  /* from "test result:" lines */
    size_t pending = SIZE_MAX;
    int rc = 0;
    while (!rc && next_line(t, len, &pos, &l)) {
        if (starts(l, "test result: ")) {
            span y = skip(l, 13);
            long s = find(y, ". ");
            if (s < 0)
                continue;
            y = skip(y, (size_t)s + 2);
            bool any = false;
            while (y.n > 0) {
                long n;
                y = skip_ws(y);
                if (!take_num(&y, &n))
                    break;
                y = skip_ws(y);
                if (starts(y, "passed"))
                    rp = sat_add(rp, n), any = true;
                else if (starts(y, "failed"))
                    rf = sat_add(rf, n), any = true;
                else if (starts(y, "ignored"))
                    rs = sat_add(rs, n), any = true;
                long semi = find(y, ";");
                if (semi < 0)
                    break;
                y = skip(y, (size_t)semi + 1);
            }
            if (any)
                results = r->found = true;
            continue;
        }
        if (starts(l, "---- ") && ends(l, " stdout ----")) {
            span name = {l.p + 5, l.n - 5 - 12};
            pending = SIZE_MAX;
            for (size_t i = r->n_tests; i-- > 0;) {
                if (r->tests[i].status == 1 && strlen(r->tests[i].name) == trim(name).n &&
                    memcmp(r->tests[i].name, trim(name).p, trim(name).n) == 0) {
                    pending = i;
                    break;
                }
            }
            continue;
        }
        if (pending != SIZE_MAX) {
            span x = trim(l);
            if (x.n == 0)
                continue;
            /* New panics end with "panicked at file:line:col:" and put the
             * message on the next line. */
            if (find(x, "panicked at ") >= 0 && ends(x, ":"))
                continue;
            rc = set_message(r, pending, x);
            pending = SIZE_MAX;
            continue;
        }
        if (starts(l, "test ")) {
            long sep = rfind(l, " ... ");
            if (sep < 5)
                continue;
            span name = {l.p + 5, (size_t)sep - 5};
            span st = trim(skip(l, (size_t)sep + 5));
            int status;
            if (starts(st, "ok"))
                status = 0, lp = sat_add(lp, 1);
            else if (starts(st, "FAILED"))
                status = 1, lf = sat_add(lf, 1);
            else if (starts(st, "ignored"))
                status = 2, ls = sat_add(ls, 1);
            else
                continue;
            r->found = true;
            rc = lo_report_add_test_(r, name.p, name.n, status, NULL, 0);
        }
    }
    if (results) {
        r->passed = rp;
        r->failed = rf;
        r->skipped = rs;
    } else {
        r->passed = lp;
        r->failed = lf;
        r->skipped = ls;
    }
    return rc;
}

/* ---- pytest ---- */

/* "3 failed, 10 passed, 1 skipped in 0.12s" (decoration already removed). */
static bool pytest_summary(span x, long c[4])
{
    long in = rfind(x, " in ");
    if (in < 0 || (size_t)in + 4 >= x.n || !is_digit(x.p[in + 4]))
        return false;
    span items = {x.p, (size_t)in};
    long v[4] = {0, 0, 0, 0}; /* passed, failed, skipped, recognised items */
    if (starts(items, "no tests ran")) {
        memcpy(c, v, sizeof v);
        return true;
    }
    while (items.n > 0) {
        long n;
        items = skip_ws(items);
        if (!take_num(&items, &n) || !starts(items, " "))
            return false;
        items = skip(items, 1);
        size_t w = 0;
        while (w < items.n && items.p[w] != ',')
            w++;
        span word = trim((span){items.p, w});
        static const struct { const char *w; int slot; } kinds[] = {
            {"passed", 0},    {"failed", 1},  {"error", 1},      {"errors", 1},     {"skipped", 2},
            {"xfailed", 2},   {"xpassed", 0}, {"deselected", 3}, {"warning", 3},    {"warnings", 3},
            {"rerun", 3},     {"reruns", 3},
        };
        int slot = -1;
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
            if (word.n == strlen(kinds[k].w) && memcmp(word.p, kinds[k].w, word.n) == 0)
                slot = kinds[k].slot;
        if (slot < 0)
            return false;
        if (slot < 3)
            v[slot] = sat_add(v[slot], n);
        v[3]++;
        items = skip(items, w < items.n ? w + 1 : w);
    }
    if (v[3] == 0)
        return false;
    memcpy(c, v, sizeof v);
    return true;
}

static int parse_pytest(const char *t, size_t len, lo_report *r)
{
    size_t pos = 0;
    span l;
    bool summary = false, session = false, short_names = false;
    long c[4] = {0}, vp = 0, vf = 0, vs = 0;
    int rc = 0;
    while (!rc && next_line(t, len, &pos, &l)) {
        span x = trim(l);
        if (find(x, "test session starts") >= 0)
            session = true;
        span d = x;
        while (d.n > 0 && d.p[0] == '=')
            d = skip(d, 1);
        while (d.n > 0 && d.p[d.n - 1] == '=')
            d.n--;
        long cc[4];
        if (pytest_summary(trim(d), cc)) {
            summary = true; /* the last summary line wins */
            memcpy(c, cc, sizeof c);
            continue;
        }
        if (starts(l, "FAILED ") || starts(l, "ERROR ")) {
            span y = skip(l, l.p[0] == 'F' ? 7 : 6);
            long dash = find(y, " - ");
            span name = dash >= 0 ? (span){y.p, (size_t)dash} : y;
            span msg = dash >= 0 ? skip(y, (size_t)dash + 3) : (span){NULL, 0};
            if (!short_names) {
                /* The short summary names failures better than the verbose
                 * lines do: drop those collected so far. */
                for (size_t i = 0; i < r->n_tests; i++) {
                    free(r->tests[i].name);
                    free(r->tests[i].message);
                }
                r->n_tests = 0;
                short_names = true;
            }
            rc = lo_report_add_test_(r, name.p, name.n, 1, msg.p, msg.n);
            continue;
        }
        if (!short_names && find(x, "::") > 0) {
            /* Verbose: "path::test PASSED [ 50%]". */
            static const struct { const char *w; int st; } v[] = {
                {" PASSED", 0}, {" FAILED", 1}, {" ERROR", 1}, {" SKIPPED", 2}, {" XFAIL", 2}, {" XPASS", 0},
            };
            for (size_t k = 0; k < sizeof v / sizeof *v; k++) {
                long at = find(x, v[k].w);
                if (at <= 0)
                    continue;
                if (v[k].st == 0)
                    vp = sat_add(vp, 1);
                else if (v[k].st == 1)
                    vf = sat_add(vf, 1);
                else
                    vs = sat_add(vs, 1);
                rc = lo_report_add_test_(r, x.p, (size_t)at, v[k].st, NULL, 0);
                break;
            }
        }
    }
    if (summary) {
        r->found = true;
        r->passed = c[0];
        r->failed = c[1];
        r->skipped = c[2];
    } else if (session && vp + vf + vs > 0) {
        r->found = true;
        r->passed = vp;
        r->failed = vf;
        r->skipped = vs;
    }
    return rc;
}

/* ---- ctest ---- */

static int parse_ctest(const char *t, size_t len, lo_report *r)
{
    size_t pos = 0;
    span l;
    enum { NONE, FAILED, NOTRUN } list = NONE;
    bool summary = false;
    long total = 0, failed = 0, skipped = 0, lp = 0, lf = 0, ls = 0;
    int rc = 0;
    while (!rc && next_line(t, len, &pos, &l)) {
        span x = trim(l);
        long pct;
        span y = x;
        if (take_num(&y, &pct) && starts(y, "% tests passed, ")) {
            y = skip(y, 16);
            long f, n;
            if (take_num(&y, &f) && starts(y, " tests failed out of ")) {
                y = skip(y, 21);
                if (take_num(&y, &n)) {
                    summary = r->found = true;
                    total = sat_add(total, n);
                    failed = sat_add(failed, f);
                }
            }
            list = NONE;
            continue;
        }
        if (starts(x, "The following tests FAILED:")) {
            list = FAILED;
            continue;
        }
        if (starts(x, "The following tests did not run:")) {
            list = NOTRUN;
            continue;
        }
        if (list != NONE) {
            /* "  3 - name (Failed)" */
            long num;
            span z = x;
            if (!take_num(&z, &num) || !starts(z, " - ")) {
                list = NONE;
                continue;
            }
            z = skip(z, 3);
            long paren = rfind(z, " (");
            span name = paren >= 0 ? (span){z.p, (size_t)paren} : z;
            span why = paren >= 0 ? skip(z, (size_t)paren + 2) : (span){NULL, 0};
            if (why.n > 0 && why.p[why.n - 1] == ')')
                why.n--;
            if (list == NOTRUN && (starts(why, "Skipped") || starts(why, "Disabled"))) {
                skipped = sat_add(skipped, 1);
                rc = lo_report_add_test_(r, name.p, name.n, 2, why.p, why.n);
            } else if (list == FAILED || list == NOTRUN) {
                /* "Not Run" / "Could not find executable" are failures,
                 * already counted in the summary line. */
                rc = lo_report_add_test_(r, name.p, name.n, 1, why.p, why.n);
            }
            continue;
        }
        /* "2/6 Test #2: name ....***Failed  0.00 sec": used without a summary. */
        long a, b;
        y = x;
        if (take_num(&y, &a) && starts(y, "/") && (y = skip(y, 1), take_num(&y, &b)) &&
            starts(y, " Test #")) {
            if (find(y, "   Passed") >= 0)
                lp = sat_add(lp, 1);
            else if (find(y, "***Skipped") >= 0 || find(y, "***Not Run (Disabled)") >= 0)
                ls = sat_add(ls, 1);
            else if (find(y, "***") >= 0)
                lf = sat_add(lf, 1);
        }
    }
    if (summary) {
        r->failed = failed;
        r->skipped = skipped;
        long p = total - failed - skipped;
        r->passed = p > 0 ? p : 0;
        r->total = total;
    } else if (lp + lf + ls > 0) {
        r->found = true;
        r->passed = lp;
        r->failed = lf;
        r->skipped = ls;
    }
    return rc;
}

/* ---- plain "N passed, N failed" ---- */

static int parse_plain(const char *t, size_t len, lo_report *r)
{
    size_t pos = 0;
    span l;
    while (next_line(t, len, &pos, &l)) {
        span x = trim(l);
        /* An optional single-word label with a colon. */
        size_t w = 0;
        while (w < x.n && !is_ws(x.p[w]) && x.p[w] != ':')
            w++;
        if (w > 0 && w < x.n && x.p[w] == ':' && !is_digit(x.p[0]))
            x = skip_ws(skip(x, w + 1));
        long p, f, s = 0;
        if (!take_num(&x, &p) || !starts(x, " passed, "))
            continue;
        x = skip(x, 9);
        if (!take_num(&x, &f) || !starts(x, " failed"))
            continue;
        x = skip(x, 7);
        if (starts(x, ", ")) {
            x = skip(x, 2);
            if (!take_num(&x, &s) || !starts(x, " skipped"))
                continue;
            x = skip(x, 8);
        }
        if (x.n != 0)
            continue;
        r->found = true;
        r->passed = sat_add(r->passed, p);
        r->failed = sat_add(r->failed, f);
        r->skipped = sat_add(r->skipped, s);
    }
    return 0;
}

/* ---- dispatch ---- */

static int parse_one(const char *t, size_t len, lo_report_format f, bool auto_mode, lo_report *r)
{
    switch (f) {
    case LO_REPORT_TAP: return parse_tap(t, len, r, auto_mode);
    case LO_REPORT_JUNIT: return lo_report_junit_scan_(t, len, r);
    case LO_REPORT_PYTEST: return parse_pytest(t, len, r);
    case LO_REPORT_GO: return parse_go(t, len, r);
    case LO_REPORT_CARGO: return parse_cargo(t, len, r);
    case LO_REPORT_CTEST: return parse_ctest(t, len, r);
    case LO_REPORT_PROVE: return parse_prove(t, len, r);
    case LO_REPORT_PLAIN: return parse_plain(t, len, r);
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
