/* TAP (12/13/14) and prove's summary, for validation gates. */
#include "gate/report_internal.h"

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
int lo_report_parse_tap_(const char *t, size_t len, lo_report *r, bool strict)
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
                rc = lo_report_set_message_(r, pending, x);
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
                    rc = lo_report_set_message_(r, pending, x);
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

int lo_report_parse_prove_(const char *t, size_t len, lo_report *r)
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

