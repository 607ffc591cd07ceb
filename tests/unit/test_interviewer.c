/* Unit tests for interviewers and accelerator keys
 * (src/pipeline/interviewer.c). */
#include "testutil.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "lightsout/engine.h"

static const lo_option deploy_opts[] = {
    {"A", "[A] Approve"},
    {"R", "R) Reject"},
    {"F", "F - Fix first"},
    {"OK", "[OK] Looks fine"},
};

static lo_question choice(void)
{
    return (lo_question){.text = "Deploy to production?",
                         .type = LO_Q_MULTIPLE_CHOICE,
                         .options = deploy_opts,
                         .n_options = 4,
                         .stage = "review"};
}

static lo_question typed(lo_question_type t)
{
    return (lo_question){.text = "Proceed?", .type = t, .stage = "gate"};
}

/* Ask and check the answer's kind, value (NULL = none) and option. */
static void expect_answer(lo_interviewer *iv, const lo_question *q, lo_answer_kind kind,
                          const char *value, int option)
{
    lo_answer a;
    assert_int_equal(iv->ask(iv, q, &a), 0);
    if (a.kind != kind)
        fail_msg("answer kind %d (value '%s'), expected %d", (int)a.kind,
                 a.value ? a.value : "(none)", (int)kind);
    if (value) {
        assert_non_null(a.value);
        assert_string_equal(a.value, value);
    } else {
        assert_null(a.value);
    }
    assert_int_equal(a.option, option);
    lo_answer_release(&a);
}

/* ---- accelerator keys ---- */

static void expect_key(const char *label, const char *want)
{
    char key[8];
    memset(key, 'x', sizeof key);
    lo_accelerator_key(label, key, sizeof key);
    if (strcmp(key, want) != 0)
        fail_msg("label '%s': key '%s', expected '%s'", label ? label : "(null)", key,
                 want);
}

static void test_accelerator_keys(void **state)
{
    (void)state;
    /* the four patterns of §4.6 */
    expect_key("[Y] Yes, deploy", "Y");
    expect_key("Y) Yes, deploy", "Y");
    expect_key("Y - Yes, deploy", "Y");
    expect_key("Yes, deploy", "Y");
    /* brackets hold keys of more than one character */
    expect_key("[OK] fine", "OK");
    expect_key("[ A ] spaced", "A");
    expect_key("[a]lower", "a");
    expect_key("  [N] leading blanks", "N");
    expect_key("3) third", "3");
    expect_key("n - no", "n");
    expect_key("Y\t-\tTabs", "Y");
    /* near misses fall back to the first character */
    expect_key("A-team", "A");
    expect_key("x-ray vision", "x");
    expect_key("[] empty brackets", "[");
    expect_key("[unclosed", "[");
    expect_key("Ok) two letters", "O");
    expect_key("done", "d");
    expect_key("  padded", "p");
    expect_key("\xc3\x89lan", "\xc3\x89"); /* a whole UTF-8 character */
    expect_key("", "");
    expect_key("   ", "");
    expect_key(NULL, "");
    /* cut to the buffer, never mid-character */
    expect_key("[LONGKEY12] x", "LONGKEY");
    expect_key("[ABCDE\xc3\x89\xc3\x89] x", "ABCDE\xc3\x89");
    char small[2];
    lo_accelerator_key("[OK] fine", small, sizeof small);
    assert_string_equal(small, "O");
    char none[1] = {'z'};
    lo_accelerator_key("[OK] fine", none, 0); /* n == 0 writes nothing */
    assert_int_equal(none[0], 'z');
}

/* ---- auto ---- */

static void test_auto(void **state)
{
    (void)state;
    lo_interviewer *iv = lo_interviewer_auto();
    assert_non_null(iv);
    lo_question yn = typed(LO_Q_YES_NO), conf = typed(LO_Q_CONFIRMATION);
    lo_question text = typed(LO_Q_FREEFORM), mc = choice();
    expect_answer(iv, &yn, LO_ANSWER_YES, NULL, -1);
    expect_answer(iv, &conf, LO_ANSWER_YES, NULL, -1);
    expect_answer(iv, &mc, LO_ANSWER_VALUE, "A", 0);
    expect_answer(iv, &text, LO_ANSWER_VALUE, "auto-approved", -1);
    lo_question empty = choice();
    empty.n_options = 0;
    expect_answer(iv, &empty, LO_ANSWER_VALUE, "auto-approved", -1);
    iv->inform(iv, "ignored", "stage"); /* must not crash or print */
    lo_interviewer_free(iv);
    lo_interviewer_free(NULL);
}

/* ---- queue ---- */

/* The same answers, checked against the same questions, for the array and
 * file forms of the queue. */
static void check_queue_script(lo_interviewer *iv)
{
    lo_question mc = choice(), yn = typed(LO_Q_YES_NO), conf = typed(LO_Q_CONFIRMATION);
    lo_question text = typed(LO_Q_FREEFORM);
    expect_answer(iv, &mc, LO_ANSWER_VALUE, "R", 1);        /* "r": key, any case */
    expect_answer(iv, &mc, LO_ANSWER_VALUE, "OK", 3);       /* "ok": longer key */
    expect_answer(iv, &mc, LO_ANSWER_VALUE, "A", 0);        /* "approve": label text */
    expect_answer(iv, &mc, LO_ANSWER_VALUE, "F", 2);        /* "F - fix first": whole label */
    expect_answer(iv, &mc, LO_ANSWER_VALUE, "R", 1);        /* "2": a number */
    expect_answer(iv, &mc, LO_ANSWER_VALUE, "no such", -1); /* unmatched: as text */
    expect_answer(iv, &yn, LO_ANSWER_YES, NULL, -1);        /* "yes" */
    expect_answer(iv, &yn, LO_ANSWER_NO, NULL, -1);         /* "N" */
    expect_answer(iv, &conf, LO_ANSWER_YES, NULL, -1);      /* "y" */
    expect_answer(iv, &mc, LO_ANSWER_SKIPPED, NULL, -1);    /* "skip" */
    expect_answer(iv, &mc, LO_ANSWER_TIMEOUT, NULL, -1);    /* "timeout" */
    lo_question with_default = choice();
    with_default.default_answer = "F";
    expect_answer(iv, &with_default, LO_ANSWER_VALUE, "F", 2); /* "timeout" + default */
    expect_answer(iv, &text, LO_ANSWER_VALUE, "Ship it, then # celebrate", -1);
    /* exhausted */
    expect_answer(iv, &mc, LO_ANSWER_SKIPPED, NULL, -1);
    expect_answer(iv, &yn, LO_ANSWER_SKIPPED, NULL, -1);
}

static const char *const script[] = {
    "r", "ok", "approve", "F - fix first", "2", "no such", "yes", "N", "y",
    "skip", "timeout", "timeout", "Ship it, then # celebrate",
};

static void test_queue_array(void **state)
{
    (void)state;
    char *copies[13];
    for (size_t i = 0; i < 13; i++)
        copies[i] = strdup(script[i]);
    lo_interviewer *iv = lo_interviewer_queue((const char *const *)copies, 13);
    assert_non_null(iv);
    for (size_t i = 0; i < 13; i++) { /* the queue keeps its own copies */
        memset(copies[i], '#', strlen(copies[i]));
        free(copies[i]);
    }
    check_queue_script(iv);
    iv->inform(iv, "ignored", "stage");
    lo_interviewer_free(iv);

    /* an empty queue skips everything */
    iv = lo_interviewer_queue(NULL, 0);
    assert_non_null(iv);
    lo_question mc = choice();
    expect_answer(iv, &mc, LO_ANSWER_SKIPPED, NULL, -1);
    lo_interviewer_free(iv);
    assert_null(lo_interviewer_queue(NULL, 2));
}

static void test_queue_file(void **state)
{
    (void)state;
    char path[] = "/tmp/lo-test-answers-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    lo_buf b;
    lo_buf_init(&b, 0);
    lo_buf_puts(&b, "# answers for the review gate\n\n");
    for (size_t i = 0; i < 13; i++) {
        /* blank lines, comments, CRLF endings and padding are all ignored */
        lo_buf_printf(&b, "  %s%s", script[i], i % 2 ? "\r\n" : "\n");
        if (i % 4 == 0)
            lo_buf_puts(&b, "   \n#comment\n\t# indented comment\n");
    }
    assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
    close(fd);
    lo_buf_release(&b);

    lo_error err = {0};
    lo_interviewer *iv = lo_interviewer_queue_file(path, &err);
    assert_non_null(iv);
    check_queue_script(iv);
    lo_interviewer_free(iv);

    /* a file with no answers, without a final newline */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "# nothing", 9), 9);
    close(fd);
    iv = lo_interviewer_queue_file(path, &err);
    assert_non_null(iv);
    lo_question yn = typed(LO_Q_YES_NO);
    expect_answer(iv, &yn, LO_ANSWER_SKIPPED, NULL, -1);
    lo_interviewer_free(iv);

    /* the last line needs no newline */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "a\nno", 4), 4);
    close(fd);
    iv = lo_interviewer_queue_file(path, &err);
    lo_question mc = choice();
    expect_answer(iv, &mc, LO_ANSWER_VALUE, "A", 0);
    expect_answer(iv, &yn, LO_ANSWER_NO, NULL, -1);
    expect_answer(iv, &yn, LO_ANSWER_SKIPPED, NULL, -1);
    lo_interviewer_free(iv);
    unlink(path);
}

static void test_queue_file_missing(void **state)
{
    (void)state;
    lo_error err = {0};
    const char *path = "/tmp/lo-test-no-such-dir/answers.txt";
    assert_null(lo_interviewer_queue_file(path, &err));
    assert_int_equal(err.code, LO_ENOENT);
    assert_non_null(strstr(err.msg, path));
    assert_null(lo_interviewer_queue_file(path, NULL));
    /* a directory is not an answer file */
    assert_null(lo_interviewer_queue_file("/tmp", &err));
    assert_int_equal(err.code, LO_EISDIR);
}

/* ---- callback ---- */

typedef struct seen {
    int calls;
    const char *last_text;
} seen;

static int answer_second(const lo_question *q, lo_answer *a, void *ud)
{
    seen *s = ud;
    s->calls++;
    s->last_text = q->text;
    if (q->type == LO_Q_FREEFORM)
        return LO_EIO; /* a failing frontend */
    a->kind = LO_ANSWER_VALUE;
    a->value = strdup(q->options[1].key);
    a->option = 1;
    return 0;
}

static void test_callback(void **state)
{
    (void)state;
    seen s = {0};
    lo_interviewer *iv = lo_interviewer_callback(answer_second, &s);
    assert_non_null(iv);
    lo_question mc = choice();
    expect_answer(iv, &mc, LO_ANSWER_VALUE, "R", 1);
    assert_int_equal(s.calls, 1);
    assert_string_equal(s.last_text, "Deploy to production?");
    lo_question text = typed(LO_Q_FREEFORM);
    lo_answer a;
    assert_int_equal(iv->ask(iv, &text, &a), LO_EIO);
    assert_null(a.value); /* initialised before the callback runs */
    lo_answer_release(&a);
    assert_int_equal(s.calls, 2);
    iv->inform(iv, "ignored", NULL);
    lo_interviewer_free(iv);
    assert_null(lo_interviewer_callback(NULL, NULL));
}

/* ---- console ---- */

typedef struct term {
    FILE *in;      /* what the console reads */
    int wfd;       /* the writing end of its pipe, or -1 once closed */
    FILE *out;     /* what the console prints, captured */
    char *printed;
    size_t printed_len;
    lo_interviewer *iv;
} term;

/* A console reading a pipe that already holds input; the pipe is closed
 * after it unless keep_open (so reads wait instead of seeing EOF). */
static void term_open(term *t, const char *input, bool keep_open)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    size_t n = strlen(input);
    assert_int_equal(write(fds[1], input, n), (ssize_t)n);
    if (!keep_open) {
        close(fds[1]);
        fds[1] = -1;
    }
    t->wfd = fds[1];
    t->in = fdopen(fds[0], "r");
    assert_non_null(t->in);
    t->printed = NULL;
    t->printed_len = 0;
    t->out = open_memstream(&t->printed, &t->printed_len);
    assert_non_null(t->out);
    t->iv = lo_interviewer_console(t->in, t->out);
    assert_non_null(t->iv);
}

/* Everything printed so far (valid until term_close). */
static const char *term_printed(term *t)
{
    fflush(t->out);
    return t->printed ? t->printed : "";
}

static void expect_printed(term *t, const char *needle)
{
    const char *p = term_printed(t);
    if (!strstr(p, needle))
        fail_msg("console printed:\n%s\n--- which lacks '%s'", p, needle);
}

static void term_close(term *t)
{
    lo_interviewer_free(t->iv);
    fclose(t->in);
    if (t->wfd >= 0)
        close(t->wfd);
    fclose(t->out);
    free(t->printed);
}

static void test_console_choices(void **state)
{
    (void)state;
    term t;
    /* one line per question: key, label, number, whole label, padded key */
    term_open(&t, "a\nreject\n3\n[OK] Looks fine\n  r  \n", false);
    lo_question mc = choice();
    expect_answer(t.iv, &mc, LO_ANSWER_VALUE, "A", 0);
    expect_printed(&t, "[?] Deploy to production?\n");
    expect_printed(&t, "  [A] Approve\n");
    expect_printed(&t, "  [R] Reject\n");
    expect_printed(&t, "  [F] Fix first\n");
    expect_printed(&t, "  [OK] Looks fine\n");
    expect_printed(&t, "Select");
    expect_answer(t.iv, &mc, LO_ANSWER_VALUE, "R", 1);
    expect_answer(t.iv, &mc, LO_ANSWER_VALUE, "F", 2);
    expect_answer(t.iv, &mc, LO_ANSWER_VALUE, "OK", 3);
    expect_answer(t.iv, &mc, LO_ANSWER_VALUE, "R", 1);
    /* then the input ends */
    expect_answer(t.iv, &mc, LO_ANSWER_SKIPPED, NULL, -1);
    term_close(&t);
}

static void test_console_reask(void **state)
{
    (void)state;
    term t;
    term_open(&t, "maybe\n9\n\nF\n", false);
    lo_question mc = choice();
    expect_answer(t.iv, &mc, LO_ANSWER_VALUE, "F", 2);
    expect_printed(&t, "'maybe' is not one of the choices");
    expect_printed(&t, "'9' is not one of the choices");
    /* the question is shown once, the prompt on every try */
    const char *p = term_printed(&t);
    size_t questions = 0, prompts = 0;
    for (const char *s = p; (s = strstr(s, "[?] ")); s++)
        questions++;
    for (const char *s = p; (s = strstr(s, "Select")); s++)
        prompts++;
    assert_int_equal(questions, 1);
    assert_int_equal(prompts, 4);
    term_close(&t);

    /* four wrong answers: skipped, and the fifth line is left unread */
    term_open(&t, "w\nx\ny\nz\nA\n", false);
    expect_answer(t.iv, &mc, LO_ANSWER_SKIPPED, NULL, -1);
    expect_printed(&t, "'z' is not one of the choices; skipping");
    expect_answer(t.iv, &mc, LO_ANSWER_VALUE, "A", 0);
    term_close(&t);

    /* "skip" skips at once */
    term_open(&t, "skip\nA\n", false);
    expect_answer(t.iv, &mc, LO_ANSWER_SKIPPED, NULL, -1);
    term_close(&t);
}

static void test_console_yes_no_text(void **state)
{
    (void)state;
    term t;
    term_open(&t, "yes\nN\nperhaps\ny\nHello, world  \nlast line without newline", false);
    lo_question yn = typed(LO_Q_YES_NO), conf = typed(LO_Q_CONFIRMATION);
    lo_question text = typed(LO_Q_FREEFORM);
    expect_answer(t.iv, &yn, LO_ANSWER_YES, NULL, -1);
    expect_printed(&t, "[?] Proceed?\n");
    expect_printed(&t, "[Y/N]");
    expect_answer(t.iv, &conf, LO_ANSWER_NO, NULL, -1);
    expect_answer(t.iv, &yn, LO_ANSWER_YES, NULL, -1); /* after "perhaps" */
    expect_answer(t.iv, &text, LO_ANSWER_VALUE, "Hello, world", -1);
    expect_answer(t.iv, &text, LO_ANSWER_VALUE, "last line without newline", -1);
    expect_answer(t.iv, &text, LO_ANSWER_SKIPPED, NULL, -1);
    term_close(&t);
}

static void test_console_eof(void **state)
{
    (void)state;
    term t;
    term_open(&t, "", false);
    lo_question mc = choice(), yn = typed(LO_Q_YES_NO);
    expect_answer(t.iv, &mc, LO_ANSWER_SKIPPED, NULL, -1);
    expect_answer(t.iv, &yn, LO_ANSWER_SKIPPED, NULL, -1);
    expect_printed(&t, "[?] Deploy to production?");
    term_close(&t);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_console_timeout(void **state)
{
    (void)state;
    term t;
    term_open(&t, "", true); /* open and silent: nobody answers */
    lo_question mc = choice();
    mc.timeout_seconds = 0.2;
    double t0 = now_s();
    expect_answer(t.iv, &mc, LO_ANSWER_TIMEOUT, NULL, -1);
    double took = now_s() - t0;
    if (took < 0.19 || took > 2.0)
        fail_msg("timeout of 0.2 s took %.3f s", took);
    expect_printed(&t, "no answer within 0.2 s");

    /* a default answer is used on timeout (§6.5) */
    mc.default_answer = "R";
    expect_answer(t.iv, &mc, LO_ANSWER_VALUE, "R", 1);
    expect_printed(&t, "(default: R)");
    lo_question yn = typed(LO_Q_YES_NO);
    yn.timeout_seconds = 0.05;
    yn.default_answer = "no";
    expect_answer(t.iv, &yn, LO_ANSWER_NO, NULL, -1);
    lo_question text = typed(LO_Q_FREEFORM);
    text.timeout_seconds = 0.05;
    text.default_answer = "whatever you think";
    expect_answer(t.iv, &text, LO_ANSWER_VALUE, "whatever you think", -1);

    /* input that arrives in time wins; a timeout does not lose later input */
    assert_int_equal(write(t.wfd, "f\n", 2), 2);
    expect_answer(t.iv, &mc, LO_ANSWER_VALUE, "F", 2);
    /* an empty line takes the default too */
    assert_int_equal(write(t.wfd, "\n", 1), 1);
    expect_answer(t.iv, &mc, LO_ANSWER_VALUE, "R", 1);
    term_close(&t);
}

static void test_console_stdio_streams(void **state)
{
    (void)state;
    /* a stream with no descriptor (fmemopen) is read through stdio */
    char input[] = "2\nzzz\nA\n";
    FILE *in = fmemopen(input, strlen(input), "r");
    assert_non_null(in);
    char *printed = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&printed, &len);
    lo_interviewer *iv = lo_interviewer_console(in, out);
    lo_question mc = choice();
    expect_answer(iv, &mc, LO_ANSWER_VALUE, "R", 1);
    expect_answer(iv, &mc, LO_ANSWER_VALUE, "A", 0);
    expect_answer(iv, &mc, LO_ANSWER_SKIPPED, NULL, -1);

    /* inform prints "[i] stage: message" */
    iv->inform(iv, "tests passed", "verify");
    iv->inform(iv, "no stage", NULL);
    fflush(out);
    assert_non_null(strstr(printed, "[i] verify: tests passed\n"));
    assert_non_null(strstr(printed, "[i] no stage\n"));
    lo_interviewer_free(iv);
    fclose(in);
    fclose(out);
    free(printed);

    /* a regular file works as input too */
    FILE *f = tmpfile();
    fputs("n\n", f);
    rewind(f);
    out = open_memstream(&printed, &len);
    iv = lo_interviewer_console(f, out);
    lo_question yn = typed(LO_Q_YES_NO);
    expect_answer(iv, &yn, LO_ANSWER_NO, NULL, -1);
    expect_answer(iv, &yn, LO_ANSWER_SKIPPED, NULL, -1);
    lo_interviewer_free(iv);
    fclose(f);
    fclose(out);
    free(printed);
    assert_null(lo_interviewer_console(NULL, stdout));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accelerator_keys),
        cmocka_unit_test(test_auto),
        cmocka_unit_test(test_queue_array),
        cmocka_unit_test(test_queue_file),
        cmocka_unit_test(test_queue_file_missing),
        cmocka_unit_test(test_callback),
        cmocka_unit_test(test_console_choices),
        cmocka_unit_test(test_console_reask),
        cmocka_unit_test(test_console_yes_no_text),
        cmocka_unit_test(test_console_eof),
        cmocka_unit_test(test_console_timeout),
        cmocka_unit_test(test_console_stdio_streams),
    };
    return cmocka_run_group_tests_name("interviewer", tests, NULL, NULL);
}
