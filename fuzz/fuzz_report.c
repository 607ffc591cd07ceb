/* libFuzzer target for the test-report parsers (src/gate/report.c,
 * src/gate/report_junit.c).
 *
 * The input is parsed with every format and with AUTO. Each result must hold
 * the invariants the gate relies on: counts never negative, the total covers
 * passed + failed + skipped, nothing recognised means no tests, every test
 * has a non-NULL, valid UTF-8 name of at most 512 bytes, and the failing
 * names string stays within its cut. AUTO must agree with the format it
 * picked when that format is asked for by name (TAP aside). */
#include <stdint.h>
#include <string.h>

#include "lightsout/gate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const lo_report *r)
{
    if (r->passed < 0 || r->failed < 0 || r->skipped < 0)
        __builtin_trap();
    if (r->found && r->passed + r->failed + r->skipped > r->total)
        __builtin_trap();
    if (!r->found && (r->n_tests != 0 || r->tests))
        __builtin_trap();
    for (size_t i = 0; i < r->n_tests; i++) {
        const lo_test_result *t = &r->tests[i];
        if (!t->name || strlen(t->name) > 512 || !lo_utf8_valid(t->name, strlen(t->name)))
            __builtin_trap();
        if (t->status < 0 || t->status > 2)
            __builtin_trap();
        if (t->message && !lo_utf8_valid(t->message, strlen(t->message)))
            __builtin_trap();
    }
    char *names = lo_report_failing_names(r, 40);
    if (names && strlen(names) > 40)
        __builtin_trap();
    free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    for (int f = LO_REPORT_AUTO; f <= LO_REPORT_NONE; f++) {
        lo_report r;
        if (lo_report_parse(t, size, (lo_report_format)f, &r) != 0)
            __builtin_trap(); /* only LO_ENOMEM, which cannot happen here */
        check(&r);
        /* (TAP is stricter under AUTO: unnumbered test lines are ignored.) */
        if (f == LO_REPORT_AUTO && r.found && r.format != LO_REPORT_TAP) {
            lo_report again;
            if (lo_report_parse(t, size, r.format, &again) != 0 || !again.found ||
                again.passed != r.passed || again.failed != r.failed || again.skipped != r.skipped)
                __builtin_trap();
            lo_report_release(&again);
        }
        lo_report_release(&r);
    }
    return 0;
}
