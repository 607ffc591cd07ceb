/* Line-oriented runner outputs for validation gates: go test (plain and
 * -json), cargo test, pytest, ctest and the plain "N passed, N failed". */
#include "gate/report_internal.h"

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

int lo_report_parse_go_(const char *t, size_t len, lo_report *r)
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
            rc = lo_report_set_message_(r, pending, x);
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

int lo_report_parse_cargo_(const char *t, size_t len, lo_report *r)
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
            rc = lo_report_set_message_(r, pending, x);
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

int lo_report_parse_pytest_(const char *t, size_t len, lo_report *r)
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

int lo_report_parse_ctest_(const char *t, size_t len, lo_report *r)
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

int lo_report_parse_plain_(const char *t, size_t len, lo_report *r)
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

