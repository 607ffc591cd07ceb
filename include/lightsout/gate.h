/*
 * Validation gates: test-report parsers (this first section) and the gate
 * handler's measurements and verdicts (below).
 *
 * Ownership: lo_report_parse fills a caller-owned lo_report whose strings and
 * test array are released by lo_report_release; lo_report_failing_names
 * returns a string the caller frees with free().
 */
#ifndef LIGHTSOUT_GATE_H
#define LIGHTSOUT_GATE_H

#include <stdbool.h>
#include <stddef.h>

#include "lightsout/base.h"

/* ---- test reports ----
 *
 * A gate's command output (or a report file) is read as one of the runners'
 * report formats. Counts go into the context for edge conditions and
 * prompts; by default one failing test fails the gate even when the command
 * exits 0. Names and messages are NUL-terminated, valid UTF-8 (invalid bytes
 * become U+FFFD) and cut at 512 bytes. Decisions where formats are vague:
 * - TAP: only top-level tests count (indented subtests and YAML blocks are
 *   skipped); "not ok # TODO" counts as passed, as prove does; "Bail out!"
 *   is one failure and ends the stream; tests the plan promised but that
 *   never ran are failures named "missing test N"; more tests than planned
 *   add one failure.
 * - prove: counts from "Files=, Tests=" and the Test Summary Report; failing
 *   names are "FILE #N"; a file that failed without a failing test (bad
 *   plan, non-zero exit) is one failure named after the file.
 * - go test: top-level tests only (subtests are part of their parent); a
 *   package that fails without a failing test (build failure, panic) is one
 *   failure named after the package.
 * - pytest: errors count as failures, xfailed as skipped, xpassed as
 *   passed; deselected and warnings are not counted.
 * - JUnit: names are "classname.name" (or name alone); <error> counts as a
 *   failure; flaky/rerun children are ignored.
 * - ANSI colour sequences are removed before parsing.
 */
typedef enum lo_report_format { LO_REPORT_AUTO, LO_REPORT_TAP, LO_REPORT_JUNIT, LO_REPORT_PYTEST, LO_REPORT_GO, LO_REPORT_CARGO, LO_REPORT_CTEST, LO_REPORT_PROVE, LO_REPORT_PLAIN, LO_REPORT_NONE } lo_report_format;
typedef struct lo_test_result { char *name; int status; /* 0 pass, 1 fail, 2 skip */ char *message; /* first line of the failure, may be NULL */ } lo_test_result;
typedef struct lo_report { lo_report_format format; long passed, failed, skipped, total; bool found; /* a report was recognised */ lo_test_result *tests; size_t n_tests; /* individual results where the format gives them */ } lo_report;
/* Returns 0, or LO_EINVAL for an unknown name (case-insensitive). */
int lo_report_format_parse(const char *name, lo_report_format *out); /* "tap", "junit", "pytest", "go", "cargo", "ctest", "prove", "plain", "none", "auto" */
const char *lo_report_format_name(lo_report_format f);
/* Parse output text (len bytes, not necessarily NUL-terminated). AUTO tries every format and keeps the first that recognises the text (JUnit first when it starts with '<', else prove/TAP, go, cargo, pytest, ctest, plain). Fills *out (release with lo_report_release); out->found=false when nothing was recognised. Returns 0 or LO_ENOMEM. */
int lo_report_parse(const char *text, size_t len, lo_report_format fmt, lo_report *out);
void lo_report_release(lo_report *r);
/* Names of the failing tests, joined with ", " and cut at max bytes with "…" (for messages and the context). Caller frees. */
/* max counts the whole result including the "…" (0 = no limit); the cut
 * never splits a UTF-8 sequence. "" when no failing test has a name; NULL
 * only when out of memory. */
char *lo_report_failing_names(const lo_report *r, size_t max);

#endif
