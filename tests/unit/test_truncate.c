/* Tool output truncation (src/agent/truncate.c): §5's character cut first,
 * then lines, at the exact lengths of the spec's algorithm. */
#include "testutil.h"

#include "lightsout/agent.h"

static const char HT_MARK[] = "\n\n[WARNING: Tool output was truncated. ";
static const char TAIL_MARK[] = "[WARNING: Tool output was truncated. First ";

/* n bytes cycling through the alphabet, so position shows in the text */
static char *letters(size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + i % 26);
    s[n] = '\0';
    return s;
}

static size_t count_lines(const char *s)
{
    size_t n = 1;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_read_file_head_tail_exact(void **state)
{
    char *in = letters(100000);
    char *out = lo_agent_truncate("read_file", in, 100000, NULL, NULL, 0);
    assert_non_null(out);
    /* 25,000 head characters, the marker, 25,000 tail characters */
    assert_memory_equal(out, in, 25000);
    assert_memory_equal(out + 25000, HT_MARK, strlen(HT_MARK));
    const char *mark =
        "\n\n[WARNING: Tool output was truncated. 50000 characters were removed from the "
        "middle. The full output is available in the event stream. If you need to see "
        "specific parts, re-run the tool with more targeted parameters.]\n\n";
    assert_memory_equal(out + 25000, mark, strlen(mark));
    assert_int_equal(strlen(out), 50000 + strlen(mark));
    assert_string_equal(out + 25000 + strlen(mark), in + 75000);
    free(out);
    free(in);
}

static void test_under_limit_is_copy(void **state)
{
    char *in = letters(50000); /* exactly the limit */
    char *out = lo_agent_truncate("read_file", in, 50000, NULL, NULL, 0);
    assert_string_equal(out, in);
    free(out);
    free(in);
}

static void test_tail_mode(void **state)
{
    char *in = letters(25000);
    char *out = lo_agent_truncate("grep", in, 25000, NULL, NULL, 0);
    const char *mark = "[WARNING: Tool output was truncated. First 5000 characters were "
                       "removed. The full output is available in the event stream.]\n\n";
    assert_memory_equal(out, mark, strlen(mark));
    assert_string_equal(out + strlen(mark), in + 5000);
    free(out);
    free(in);
    /* write_file: 1,000 characters, tail */
    in = letters(1500);
    out = lo_agent_truncate("write_file", in, 1500, NULL, NULL, 0);
    assert_non_null(strstr(out, "First 500 characters were removed"));
    assert_string_equal(out + strlen(out) - 1000, in + 500);
    free(out);
    free(in);
}

/* Two lines of 10 MB: the line limit would pass it, the character cut does not. */
static void test_two_huge_lines_cut_by_chars(void **state)
{
    size_t n = 10 * 1000 * 1000;
    char *in = malloc(2 * n + 2);
    assert_non_null(in);
    memset(in, 'x', 2 * n + 1);
    in[n] = '\n';
    in[2 * n + 1] = '\0';
    char *out = lo_agent_truncate("shell", in, 2 * n + 1, NULL, NULL, 0);
    assert_non_null(out);
    assert_true(strlen(out) < 30000 + 300);
    assert_non_null(strstr(out, "19970001 characters were removed from the middle"));
    free(out);
    free(in);
}

static void test_lines_after_chars(void **state)
{
    /* 1,000 short lines for shell: under 30k chars, over 256 lines */
    lo_buf b;
    lo_buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        lo_buf_printf(&b, "line %d%s", i, i < 999 ? "\n" : "");
    char *out = lo_agent_truncate("shell", b.data, b.len, NULL, NULL, 0);
    assert_non_null(strstr(out, "\n[... 744 lines omitted ...]\n"));
    assert_true(lo_str_starts(out, "line 0\nline 1\n"));
    assert_non_null(strstr(out, "line 127\n[... 744 lines omitted ...]\nline 872\n"));
    assert_true(strcmp(out + strlen(out) - 8, "line 999") == 0);
    assert_int_equal(count_lines(out), 257); /* 256 kept + the marker line */
    free(out);
    /* grep: 200 lines */
    out = lo_agent_truncate("grep", b.data, b.len, NULL, NULL, 0);
    assert_non_null(strstr(out, "line 99\n[... 800 lines omitted ...]\nline 900\n"));
    free(out);
    /* glob: 500 */
    out = lo_agent_truncate("glob", b.data, b.len, NULL, NULL, 0);
    assert_non_null(strstr(out, "[... 500 lines omitted ...]"));
    free(out);
    /* read_file has no line limit */
    out = lo_agent_truncate("read_file", b.data, b.len, NULL, NULL, 0);
    assert_string_equal(out, b.data);
    free(out);
    lo_buf_release(&b);
}

/* Both steps: the character marker's lines count as lines. */
static void test_chars_then_lines(void **state)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    for (int i = 0; i < 5000; i++)
        lo_buf_printf(&b, "%08d\n", i); /* 45,000 chars, 5,001 lines */
    char *out = lo_agent_truncate("grep", b.data, b.len, NULL, NULL, 0);
    assert_true(lo_str_starts(out, TAIL_MARK));
    assert_non_null(strstr(out, "First 25000 characters were removed"));
    assert_non_null(strstr(out, "lines omitted ...]"));
    assert_int_equal(count_lines(out), 201);
    free(out);
    lo_buf_release(&b);
}

static void test_unicode_never_split(void **state)
{
    /* 40,000 three-byte characters: 120,000 bytes, 40,000 characters */
    size_t n = 40000;
    char *in = malloc(3 * n + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(in + 3 * i, "\xe2\x82\xac", 3); /* € */
    in[3 * n] = '\0';
    char *out = lo_agent_truncate("read_file", in, 3 * n, NULL, NULL, 0);
    assert_string_equal(out, in); /* 40,000 characters fit in 50,000 */
    free(out);
    out = lo_agent_truncate("grep", in, 3 * n, NULL, NULL, 0);
    assert_non_null(strstr(out, "First 20000 characters were removed"));
    assert_true(lo_utf8_valid(out, strlen(out)));
    const char *body = strstr(out, "]\n\n") + 3;
    assert_int_equal(strlen(body), 3 * 20000);
    free(out);
    free(in);
}

static void test_overrides(void **state)
{
    char *in = letters(3000);
    /* the tool's own limit */
    lo_agent_tool def = {.name = "custom", .max_chars = 1000};
    char *out = lo_agent_truncate("custom", in, 3000, &def, NULL, 0);
    assert_non_null(strstr(out, "First 2000 characters were removed"));
    free(out);
    /* unknown tools: 20,000, tail */
    out = lo_agent_truncate("custom", in, 3000, NULL, NULL, 0);
    assert_string_equal(out, in);
    free(out);
    /* a session override wins; 0 keeps, < 0 removes */
    lo_agent_limit lim[] = {{"read_file", 100, 0}, {"shell", -1, 2}, {"grep", 0, -1}};
    out = lo_agent_truncate("read_file", in, 3000, NULL, lim, 3);
    assert_non_null(strstr(out, "2900 characters were removed from the middle"));
    assert_memory_equal(out, in, 50);
    free(out);
    out = lo_agent_truncate("shell", "a\nb\nc\nd", 7, NULL, lim, 3);
    assert_string_equal(out, "a\n[... 2 lines omitted ...]\nd");
    free(out);
    char *many = letters(30000);
    out = lo_agent_truncate("shell", many, 30000 - 1, NULL, lim, 3);
    assert_int_equal(strlen(out), 30000 - 1); /* no character limit left */
    free(out);
    lo_buf b;
    lo_buf_init(&b, 0);
    for (int i = 0; i < 300; i++)
        lo_buf_puts(&b, "x\n");
    out = lo_agent_truncate("grep", b.data, b.len, NULL, lim, 3);
    assert_string_equal(out, b.data); /* grep's 200 lines removed */
    free(out);
    lo_buf_release(&b);
    free(many);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_file_head_tail_exact),
        cmocka_unit_test(test_under_limit_is_copy),
        cmocka_unit_test(test_tail_mode),
        cmocka_unit_test(test_two_huge_lines_cut_by_chars),
        cmocka_unit_test(test_lines_after_chars),
        cmocka_unit_test(test_chars_then_lines),
        cmocka_unit_test(test_unicode_never_split),
        cmocka_unit_test(test_overrides),
    };
    return cmocka_run_group_tests_name("truncate", tests, NULL, NULL);
}
