/* Unit tests for the test-report parsers (src/gate/report.c,
 * src/gate/report_junit.c): a corpus of real runner outputs with their
 * expected counts (tests/data/reports/EXPECTED), each tricky rule in
 * isolation, garbage, every prefix of every corpus file, and allocation
 * failures. */
#include "testutil.h"

#include "lightsout/gate.h"

static lo_report parse_s(const char *text, lo_report_format f)
{
    lo_report r;
    assert_int_equal(lo_report_parse(text, strlen(text), f, &r), 0);
    return r;
}

/* Failing names joined with '|', for comparing with EXPECTED. */
static void failing(const lo_report *r, char *out, size_t cap)
{
    out[0] = '\0';
    size_t n = 0;
    for (size_t i = 0; i < r->n_tests; i++) {
        if (r->tests[i].status != 1)
            continue;
        n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "|" : "", r->tests[i].name);
    }
    assert_true(n < cap);
}

static void check_counts(const lo_report *r, long p, long f, long s)
{
    assert_true(r->found);
    assert_int_equal(r->passed, p);
    assert_int_equal(r->failed, f);
    assert_int_equal(r->skipped, s);
    assert_true(r->total >= p + f + s);
}

static void check_invariants(const lo_report *r)
{
    assert_true(r->passed >= 0 && r->failed >= 0 && r->skipped >= 0);
    if (r->found)
        assert_true(r->passed + r->failed + r->skipped <= r->total);
    else
        assert_int_equal(r->n_tests, 0);
    for (size_t i = 0; i < r->n_tests; i++) {
        assert_non_null(r->tests[i].name);
        assert_true(r->tests[i].status >= 0 && r->tests[i].status <= 2);
        assert_true(strlen(r->tests[i].name) <= 512);
        assert_true(lo_utf8_valid(r->tests[i].name, strlen(r->tests[i].name)));
    }
}

/* ---- the corpus ---- */

typedef struct expect {
    char file[128], format[32], names[1024];
    long p, f, s;
} expect;

static size_t load_expected(expect *e, size_t cap)
{
    char *data;
    size_t len, n = 0;
    assert_int_equal(lo_file_read(lo_test_data("reports/EXPECTED"), 0, &data, &len, NULL), 0);
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        assert_true(n < cap);
        int used = 0;
        assert_int_equal(sscanf(line, "%127s %31s %ld %ld %ld %n", e[n].file, e[n].format, &e[n].p, &e[n].f,
                                &e[n].s, &used),
                         5);
        snprintf(e[n].names, sizeof e[n].names, "%s", line + used);
        n++;
    }
    free(data);
    return n;
}

static void test_corpus(void **state)
{
    (void)state;
    expect e[64];
    size_t n = load_expected(e, 64);
    assert_true(n >= 12);
    for (size_t i = 0; i < n; i++) {
        char path[256], *data;
        size_t len;
        snprintf(path, sizeof path, "reports/%.127s", e[i].file);
        assert_int_equal(lo_file_read(lo_test_data(path), 0, &data, &len, NULL), 0);
        lo_report_format f;
        assert_int_equal(lo_report_format_parse(e[i].format, &f), 0);
        lo_report_format modes[2] = {f, LO_REPORT_AUTO};
        for (int m = 0; m < 2; m++) {
            lo_report r;
            assert_int_equal(lo_report_parse(data, len, modes[m], &r), 0);
            if (!r.found || r.format != f || r.passed != e[i].p || r.failed != e[i].f || r.skipped != e[i].s)
                print_error("%s (%s): found=%d format=%s %ld/%ld/%ld\n", e[i].file, m ? "auto" : "named",
                            r.found, lo_report_format_name(r.format), r.passed, r.failed, r.skipped);
            assert_int_equal(r.format, f);
            check_counts(&r, e[i].p, e[i].f, e[i].s);
            check_invariants(&r);
            char names[2048];
            failing(&r, names, sizeof names);
            assert_string_equal(names, e[i].names);
            lo_report_release(&r);
        }
        free(data);
    }
}

/* Every prefix of every corpus file, each in a buffer of exactly its size so
 * the sanitizers see any read past the end. */
static void test_corpus_prefixes(void **state)
{
    (void)state;
    expect e[64];
    size_t n = load_expected(e, 64);
    for (size_t i = 0; i < n; i++) {
        char path[256], *data;
        size_t len;
        snprintf(path, sizeof path, "reports/%.127s", e[i].file);
        assert_int_equal(lo_file_read(lo_test_data(path), 0, &data, &len, NULL), 0);
        lo_report_format f;
        assert_int_equal(lo_report_format_parse(e[i].format, &f), 0);
        for (size_t k = 0; k <= len; k++) {
            char *cut = malloc(k ? k : 1);
            assert_non_null(cut);
            memcpy(cut, data, k);
            lo_report r;
            assert_int_equal(lo_report_parse(cut, k, LO_REPORT_AUTO, &r), 0);
            check_invariants(&r);
            lo_report_release(&r);
            assert_int_equal(lo_report_parse(cut, k, f, &r), 0);
            check_invariants(&r);
            lo_report_release(&r);
            free(cut);
        }
        free(data);
    }
}

/* ---- TAP ---- */

static void test_tap_rules(void **state)
{
    (void)state;
    /* Plan at the end, TODO (a failing TODO passes), SKIP, escaped '#'. */
    lo_report r = parse_s("ok 1 - first\nnot ok 2 - later # TODO not yet\nok 3 # SKIP no db\n"
                          "ok 4 - issue \\# 5\n1..4\n",
                          LO_REPORT_AUTO);
    assert_int_equal(r.format, LO_REPORT_TAP);
    check_counts(&r, 3, 0, 1);
    assert_int_equal(r.n_tests, 4);
    assert_string_equal(r.tests[3].name, "issue \\# 5");
    assert_string_equal(r.tests[2].name, "test 3");
    lo_report_release(&r);

    /* Missing tests are failures with names. */
    r = parse_s("1..5\nok 1\nok 2\nnot ok 3 - broken\n", LO_REPORT_TAP);
    check_counts(&r, 2, 3, 0);
    char *names = lo_report_failing_names(&r, 0);
    assert_string_equal(names, "broken, missing test 4, missing test 5");
    free(names);
    lo_report_release(&r);

    /* Bail out! is one failure and ends the stream. */
    r = parse_s("1..3\nok 1\nBail out! database gone\nok 2\n", LO_REPORT_AUTO);
    check_counts(&r, 1, 1, 0);
    assert_string_equal(r.tests[1].name, "Bail out! database gone");
    lo_report_release(&r);

    /* Indented subtests and YAML blocks do not count; the YAML message and
     * '#' diagnostics become the failure's message. */
    r = parse_s("TAP version 14\n1..3\n# Subtest: group\n    1..2\n    ok 1 - a\n    not ok 2 - b\n"
                "not ok 1 - group\n  ---\n  message: 'b failed'\n  severity: fail\n  ...\n"
                "not ok 2 - second\n#   Failed test 'second'\nok 3 - third\n",
                LO_REPORT_AUTO);
    check_counts(&r, 1, 2, 0);
    assert_string_equal(r.tests[0].name, "group");
    assert_string_equal(r.tests[0].message, "b failed");
    assert_string_equal(r.tests[1].message, "Failed test 'second'");
    lo_report_release(&r);

    /* More tests than planned is a failure; two streams in a row. */
    r = parse_s("1..1\nok 1\nok 2\n", LO_REPORT_TAP);
    check_counts(&r, 2, 1, 0);
    lo_report_release(&r);
    r = parse_s("1..2\nok 1\nok 2\n1..2\nok 1\nnot ok 2 - x\n", LO_REPORT_TAP);
    check_counts(&r, 3, 1, 0);
    lo_report_release(&r);

    /* A huge plan: the missing ones are summed, the names capped. */
    r = parse_s("1..1000\nok 1\n", LO_REPORT_TAP);
    check_counts(&r, 1, 999, 0);
    assert_true(r.n_tests <= 70);
    lo_report_release(&r);
    r = parse_s("1..99999999999\nok 1\n", LO_REPORT_TAP);
    check_counts(&r, 1, 99999999998L, 0);
    lo_report_release(&r);

    /* "1..0 # skip" is a recognised, empty report. */
    r = parse_s("1..0 # SKIP no tests here\n", LO_REPORT_AUTO);
    check_counts(&r, 0, 0, 0);
    assert_int_equal(r.format, LO_REPORT_TAP);
    lo_report_release(&r);
}

/* ---- JUnit ---- */

static void test_junit_rules(void **state)
{
    (void)state;
    lo_report r = parse_s("<?xml version='1.0'?>\n<!-- generated -->\n<testsuite name='s' tests='3'>\n"
                          "<testcase classname='a.B' name='x &lt;&amp;&gt; &quot;q&quot; &apos;s&apos; &#65;&#x42;&#x20AC;'/>\n"
                          "<testcase name=\"y\"><failure><![CDATA[\n  boom <here> & there\nsecond]]></failure></testcase>\n"
                          "<testcase name='z'><skipped/></testcase>\n</testsuite>\n",
                          LO_REPORT_AUTO);
    assert_int_equal(r.format, LO_REPORT_JUNIT);
    check_counts(&r, 1, 1, 1);
    assert_string_equal(r.tests[0].name, "a.B.x <&> \"q\" 's' AB\xE2\x82\xAC");
    assert_string_equal(r.tests[1].name, "y");
    assert_string_equal(r.tests[1].message, "boom <here> & there");
    lo_report_release(&r);

    /* Unknown entities are kept as written. */
    r = parse_s("<testsuite><testcase name='a &bogus; &#0; &#xD800; &'><error message='m&#10;n'/></testcase></testsuite>",
                LO_REPORT_JUNIT);
    check_counts(&r, 0, 1, 0);
    assert_string_equal(r.tests[0].name, "a &bogus; &#0; &#xD800; &");
    assert_string_equal(r.tests[0].message, "m");
    lo_report_release(&r);

    /* No testcase elements: the suite attributes, outermost suites only. */
    r = parse_s("<testsuites><testsuite tests=\"10\" failures=\"2\" errors=\"1\" skipped=\"3\">"
                "<testsuite tests=\"10\" failures=\"2\"/></testsuite>"
                "<testsuite tests=\"5\" failures=\"0\"/></testsuites>",
                LO_REPORT_AUTO);
    check_counts(&r, 9, 3, 3);
    assert_int_equal(r.total, 15);
    lo_report_release(&r);
    r = parse_s("<testsuites tests=\"4\" failures=\"1\"></testsuites>", LO_REPORT_JUNIT);
    check_counts(&r, 3, 1, 0);
    lo_report_release(&r);

    /* Malformed or foreign XML is not recognised. */
    static const char *const bad[] = {
        "<testsuite><testcase name='a'></testsuite>",
        "<testsuite><testcase name='a'/>",
        "<testsuite name='a></testsuite>",
        "<testsuite><!-- never closed </testsuite>",
        "<testsuite><testcase name='a'><failure><![CDATA[x</failure></testcase></testsuite>",
        "<html><body>ok</body></html>",
        "<testsuite a=b></testsuite>",
        "<testsuite>< testcase/></testsuite>",
        "text <testsuite></testsuite>",
        "<",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        lo_report_format fs[2] = {LO_REPORT_JUNIT, LO_REPORT_AUTO};
        for (int k = 0; k < 2; k++) {
            r = parse_s(bad[i], fs[k]);
            if (r.found)
                print_error("recognised: %s\n", bad[i]);
            assert_false(r.found);
            lo_report_release(&r);
        }
    }
}

/* ---- pytest ---- */

static void test_pytest_rules(void **state)
{
    (void)state;
    lo_report r = parse_s("============================= test session starts ==============================\n"
                          "collected 16 items\n\ntests/test_a.py ..F.sx\n"
                          "=========================== short test summary info ============================\n"
                          "FAILED tests/test_a.py::test_div - ZeroDivisionError: division by zero\n"
                          "ERROR tests/test_b.py::test_db - ConnectionRefusedError\n"
                          "== 1 failed, 10 passed, 1 skipped, 1 xfailed, 1 xpassed, 2 deselected, 3 warnings, 1 error in 0.12s ==\n",
                          LO_REPORT_AUTO);
    assert_int_equal(r.format, LO_REPORT_PYTEST);
    check_counts(&r, 11, 2, 2);
    assert_int_equal(r.n_tests, 2);
    assert_string_equal(r.tests[0].name, "tests/test_a.py::test_div");
    assert_string_equal(r.tests[0].message, "ZeroDivisionError: division by zero");
    lo_report_release(&r);

    /* -q style, other order, old "seconds". */
    r = parse_s("..F\n3 passed, 2 failed in 0.05 seconds\n", LO_REPORT_PYTEST);
    check_counts(&r, 3, 2, 0);
    lo_report_release(&r);
    r = parse_s("=== 5 skipped, 2 errors in 1.02s (0:00:01) ===\n", LO_REPORT_AUTO);
    check_counts(&r, 0, 2, 5);
    lo_report_release(&r);
    r = parse_s("============ no tests ran in 0.01s ============\n", LO_REPORT_PYTEST);
    check_counts(&r, 0, 0, 0);
    lo_report_release(&r);

    /* Verbose lines give names when there is no short summary. */
    r = parse_s("=== test session starts ===\ntests/t.py::test_a PASSED [ 50%]\ntests/t.py::test_b FAILED [100%]\n"
                "=== 1 failed, 1 passed in 0.01s ===\n",
                LO_REPORT_AUTO);
    check_counts(&r, 1, 1, 0);
    char *names = lo_report_failing_names(&r, 0);
    assert_string_equal(names, "tests/t.py::test_b");
    free(names);
    lo_report_release(&r);

    /* Not a summary: an unknown word. */
    r = parse_s("3 bananas, 2 passed in 0.1s\n", LO_REPORT_PYTEST);
    assert_false(r.found);
    lo_report_release(&r);
}

/* ---- go test ---- */

static void test_go_rules(void **state)
{
    (void)state;
    lo_report r = parse_s("=== RUN   TestAdd\n--- PASS: TestAdd (0.00s)\n=== RUN   TestDiv\n"
                          "=== RUN   TestDiv/zero\n    calc_test.go:12: want error\n--- FAIL: TestDiv (0.00s)\n"
                          "    --- FAIL: TestDiv/zero (0.00s)\n"
                          "--- SKIP: TestSlow (0.00s)\n    calc_test.go:30: slow\nFAIL\n"
                          "FAIL\texample.com/calc\t0.003s\nok  \texample.com/other\t0.002s\n"
                          "FAIL\texample.com/broken [build failed]\n",
                          LO_REPORT_AUTO);
    assert_int_equal(r.format, LO_REPORT_GO);
    check_counts(&r, 1, 2, 1);
    char *names = lo_report_failing_names(&r, 0);
    assert_string_equal(names, "TestDiv, example.com/broken");
    free(names);
    assert_string_equal(r.tests[1].message, "calc_test.go:12: want error");
    assert_string_equal(r.tests[3].message, "[build failed]");
    lo_report_release(&r);

    /* Without -v: only failures, their log after the verdict. */
    r = parse_s("--- FAIL: TestDiv (0.00s)\n    --- FAIL: TestDiv/zero (0.00s)\n"
                "        calc_test.go:12: want error\nFAIL\nFAIL\texample.com/calc\t0.003s\nFAIL\n",
                LO_REPORT_AUTO);
    check_counts(&r, 0, 1, 0);
    assert_string_equal(r.tests[0].message, "calc_test.go:12: want error");
    lo_report_release(&r);
    r = parse_s("ok  \texample.com/calc\t0.003s\n?   \texample.com/cmd\t[no test files]\n", LO_REPORT_AUTO);
    assert_int_equal(r.format, LO_REPORT_GO);
    check_counts(&r, 0, 0, 0);
    lo_report_release(&r);

    /* go test -json */
    r = parse_s("{\"Action\":\"start\",\"Package\":\"p\"}\n"
                "{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"TestA\"}\n"
                "{\"Action\":\"output\",\"Package\":\"p\",\"Test\":\"TestA\",\"Output\":\"=== RUN   TestA\\n\"}\n"
                "{\"Action\":\"pass\",\"Package\":\"p\",\"Test\":\"TestA\",\"Elapsed\":0}\n"
                "{\"Action\":\"output\",\"Package\":\"p\",\"Test\":\"TestB\",\"Output\":\"    b_test.go:9: bad value\\n\"}\n"
                "{\"Action\":\"fail\",\"Package\":\"p\",\"Test\":\"TestB/sub\",\"Elapsed\":0}\n"
                "{\"Action\":\"fail\",\"Package\":\"p\",\"Test\":\"TestB\",\"Elapsed\":0}\n"
                "{\"Action\":\"skip\",\"Package\":\"p\",\"Test\":\"TestC\",\"Elapsed\":0}\n"
                "{\"Action\":\"fail\",\"Package\":\"p\",\"Elapsed\":0.1}\n"
                "{\"Action\":\"fail\",\"Package\":\"q\",\"Elapsed\":0.1}\n"
                "not json {\n",
                LO_REPORT_AUTO);
    assert_int_equal(r.format, LO_REPORT_GO);
    check_counts(&r, 1, 2, 1);
    names = lo_report_failing_names(&r, 0);
    assert_string_equal(names, "TestB, q");
    free(names);
    assert_string_equal(r.tests[1].message, "b_test.go:9: bad value");
    lo_report_release(&r);
}

/* ---- cargo, ctest, plain ---- */

static void test_cargo_ctest_plain(void **state)
{
    (void)state;
    lo_report r = parse_s("test a ... ok\ntest b ... FAILED\n"
                          "test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n"
                          "test c ... ignored, needs db\n"
                          "test result: ok. 4 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.01s\n",
                          LO_REPORT_AUTO);
    assert_int_equal(r.format, LO_REPORT_CARGO);
    check_counts(&r, 5, 1, 2);
    lo_report_release(&r);
    /* Cut before any result line: the per-test lines. */
    r = parse_s("running 2 tests\ntest a ... ok\ntest b ... FAILED\n", LO_REPORT_CARGO);
    check_counts(&r, 1, 1, 0);
    lo_report_release(&r);

    r = parse_s("75% tests passed, 1 tests failed out of 4\n\nThe following tests FAILED:\n"
                "\t  3 - net (Timeout)\nErrors while running CTest\n",
                LO_REPORT_AUTO);
    assert_int_equal(r.format, LO_REPORT_CTEST);
    check_counts(&r, 3, 1, 0);
    assert_string_equal(r.tests[0].name, "net");
    assert_string_equal(r.tests[0].message, "Timeout");
    lo_report_release(&r);

    r = parse_s("building...\ntests: 5 passed, 1 failed, 2 skipped\n", LO_REPORT_AUTO);
    assert_int_equal(r.format, LO_REPORT_PLAIN);
    check_counts(&r, 5, 1, 2);
    lo_report_release(&r);
    r = parse_s("  12 passed, 0 failed  \n", LO_REPORT_PLAIN);
    check_counts(&r, 12, 0, 0);
    lo_report_release(&r);
    static const char *const not_plain[] = {
        "5 passed, 1 failed and more\n", "two words: 5 passed, 1 failed\n", "5 passed; 1 failed\n",
        "5 passed, 1 failed, x skipped\n",
    };
    for (size_t i = 0; i < sizeof not_plain / sizeof *not_plain; i++) {
        r = parse_s(not_plain[i], LO_REPORT_PLAIN);
        assert_false(r.found);
        lo_report_release(&r);
    }
}

/* ---- garbage, formats, names ---- */

static void test_garbage_and_formats(void **state)
{
    (void)state;
    static const char *const junk[] = {"", "\n\n", "hello world\n", "ok", "Files=x", "test result: ok.",
                                       "{\"a\":1}\n", "<>", "% tests passed", "\x1b[31m\x1b["};
    for (size_t i = 0; i < sizeof junk / sizeof *junk; i++) {
        lo_report r = parse_s(junk[i], LO_REPORT_AUTO);
        assert_false(r.found);
        check_invariants(&r);
        lo_report_release(&r);
    }
    /* NUL bytes and invalid UTF-8 in names come out clean. */
    static const char bin[] = "1..1\nnot ok 1 - a\0b\xff\n";
    lo_report r;
    assert_int_equal(lo_report_parse(bin, sizeof bin - 1, LO_REPORT_TAP, &r), 0);
    check_counts(&r, 0, 1, 0);
    check_invariants(&r);
    lo_report_release(&r);
    /* NONE never recognises anything; colour codes are ignored. */
    r = parse_s("1..1\nok 1\n", LO_REPORT_NONE);
    assert_false(r.found);
    lo_report_release(&r);
    r = parse_s("\x1b[31m= \x1b[1m2 failed\x1b[0m, \x1b[32m3 passed\x1b[0m in 0.1s =\x1b[0m\n", LO_REPORT_AUTO);
    check_counts(&r, 3, 2, 0);
    lo_report_release(&r);

    static const char *const names[] = {"auto", "tap", "junit", "pytest", "go", "cargo", "ctest", "prove", "plain", "none"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        lo_report_format f;
        assert_int_equal(lo_report_format_parse(names[i], &f), 0);
        assert_int_equal((int)f, (int)i);
        assert_string_equal(lo_report_format_name(f), names[i]);
    }
    lo_report_format f;
    assert_int_equal(lo_report_format_parse("JUnit", &f), 0);
    assert_int_equal(f, LO_REPORT_JUNIT);
    assert_int_equal(lo_report_format_parse("xunit", &f), LO_EINVAL);
    assert_int_equal(lo_report_format_parse(NULL, &f), LO_EINVAL);
}

static void test_failing_names_cut(void **state)
{
    (void)state;
    lo_report r = parse_s("1..3\nnot ok 1 - alpha\nok 2 - beta\nnot ok 3 - \xC3\xA9t\xC3\xA9\n", LO_REPORT_TAP);
    char *s = lo_report_failing_names(&r, 0);
    assert_string_equal(s, "alpha, \xC3\xA9t\xC3\xA9");
    free(s);
    s = lo_report_failing_names(&r, 100);
    assert_string_equal(s, "alpha, \xC3\xA9t\xC3\xA9");
    free(s);
    /* 10 bytes: 7 kept, but byte 7 is inside "é", so 7 is the cut. */
    s = lo_report_failing_names(&r, 11);
    assert_string_equal(s, "alpha, \xE2\x80\xA6");
    free(s);
    for (size_t max = 1; max < 16; max++) {
        s = lo_report_failing_names(&r, max);
        assert_non_null(s);
        assert_true(strlen(s) <= max);
        assert_true(lo_utf8_valid(s, strlen(s)));
        free(s);
    }
    lo_report_release(&r);
    lo_report empty = {0};
    s = lo_report_failing_names(&empty, 10);
    assert_string_equal(s, "");
    free(s);
}

/* Every allocation failing in turn: LO_ENOMEM, nothing leaked (ASan). */
static void test_alloc_failures(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "1..3\nok 1\nnot ok 2 - x\n# why\n",
        "<testsuite><testcase classname='c' name='n'><failure message='m'/></testcase></testsuite>",
        ("{\"Action\":\"output\",\"Package\":\"p\",\"Test\":\"T\",\"Output\":\"x\\n\"}\n"
         "{\"Action\":\"fail\",\"Package\":\"p\",\"Test\":\"T\"}\n"),
        "\x1b[0m== 1 failed in 0.1s ==\nFAILED a::b - c\n",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        for (long n = 1; n < 200; n++) {
            lo_alloc_fail_after(n);
            lo_report r;
            int rc = lo_report_parse(inputs[i], strlen(inputs[i]), LO_REPORT_AUTO, &r);
            lo_alloc_fail_after(0);
            if (rc == 0) {
                check_invariants(&r);
                lo_report_release(&r);
            } else {
                assert_int_equal(rc, LO_ENOMEM);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_corpus_prefixes),
        cmocka_unit_test(test_tap_rules),
        cmocka_unit_test(test_junit_rules),
        cmocka_unit_test(test_pytest_rules),
        cmocka_unit_test(test_go_rules),
        cmocka_unit_test(test_cargo_ctest_plain),
        cmocka_unit_test(test_garbage_and_formats),
        cmocka_unit_test(test_failing_names_cut),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
