/* Unit tests for src/base: strings, numbers, durations, sizes, UTF-8,
 * buffers, the hash map, the arena and files. */
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static void test_durations(void **state)
{
    int64_t ms;
    assert_int_equal(lo_parse_duration_ms("250ms", &ms), 0);
    assert_int_equal(ms, 250);
    assert_int_equal(lo_parse_duration_ms("900s", &ms), 0);
    assert_int_equal(ms, 900000);
    assert_int_equal(lo_parse_duration_ms("15m", &ms), 0);
    assert_int_equal(ms, 900000);
    assert_int_equal(lo_parse_duration_ms("2h", &ms), 0);
    assert_int_equal(ms, 7200000);
    assert_int_equal(lo_parse_duration_ms("1d", &ms), 0);
    assert_int_equal(ms, 86400000);
    assert_int_equal(lo_parse_duration_ms("30", &ms), 0); /* bare: seconds */
    assert_int_equal(ms, 30000);
    assert_int_equal(lo_parse_duration_ms("1.5s", &ms), LO_EINVAL);
    assert_int_equal(lo_parse_duration_ms("-1s", &ms), LO_EINVAL);
    assert_int_equal(lo_parse_duration_ms("5x", &ms), LO_EINVAL);
    assert_int_equal(lo_parse_duration_ms("", &ms), LO_EINVAL);
    assert_int_equal(lo_parse_duration_ms("s", &ms), LO_EINVAL);
}

static void test_sizes(void **state)
{
    int64_t b;
    assert_int_equal(lo_parse_size("512", &b), 0);
    assert_int_equal(b, 512);
    assert_int_equal(lo_parse_size("512KB", &b), 0);
    assert_int_equal(b, 512 * 1024);
    assert_int_equal(lo_parse_size("100MB", &b), 0);
    assert_int_equal(b, 100LL * 1024 * 1024);
    assert_int_equal(lo_parse_size("2GB", &b), 0);
    assert_int_equal(b, 2LL * 1024 * 1024 * 1024);
    assert_int_equal(lo_parse_size("1.5K", &b), 0);
    assert_int_equal(b, 1536);
    assert_int_equal(lo_parse_size("3mib", &b), 0); /* units ignore case */
    assert_int_equal(b, 3LL * 1024 * 1024);
    assert_int_equal(lo_parse_size("lots", &b), LO_EINVAL);
    assert_int_equal(lo_parse_size("5PB", &b), LO_EINVAL);
}

static void test_numbers(void **state)
{
    int64_t i;
    double d;
    assert_int_equal(lo_parse_int64("-42", &i), 0);
    assert_int_equal(i, -42);
    assert_int_equal(lo_parse_int64("42x", &i), LO_EINVAL);
    assert_int_equal(lo_parse_int64(" 4", &i), LO_EINVAL);
    assert_int_equal(lo_parse_int64("99999999999999999999", &i), LO_EINVAL);
    assert_int_equal(lo_parse_double("0.5", &d), 0);
    assert_true(d == 0.5);
    assert_int_equal(lo_parse_double("inf", &d), LO_EINVAL);
    assert_int_equal(lo_parse_double("1e999", &d), LO_EINVAL);
}

static void test_edit_distance_and_closest(void **state)
{
    assert_int_equal(lo_edit_distance("kitten", "sitting", 5), 3);
    assert_int_equal(lo_edit_distance("same", "same", 2), 0);
    assert_int_equal(lo_edit_distance("Shape", "shape", 2), 0); /* case-insensitive */
    assert_int_equal(lo_edit_distance("a", "abcdef", 2), 3);    /* capped: cap + 1 */
    const char *cands[] = {"max_retries", "retry_target", "timeout"};
    assert_string_equal(lo_closest("max_retrys", cands, 3, 2), "max_retries");
    assert_string_equal(lo_closest("TIMEOUT", cands, 3, 0), "timeout");
    assert_null(lo_closest("zzzzzz", cands, 3, 2));
}

static void test_utf8(void **state)
{
    assert_int_equal(lo_utf8_seq("a", 1), 1);
    assert_int_equal(lo_utf8_seq("\xC3\xA9", 2), 2);
    assert_int_equal(lo_utf8_seq("\xE2\x82\xAC", 3), 3);
    assert_int_equal(lo_utf8_seq("\xF0\x9F\x98\x80", 4), 4);
    assert_int_equal(lo_utf8_seq("\xF0\x9F\x98\x80", 3), 0); /* cut */
    assert_int_equal(lo_utf8_seq("\xC0\xAF", 2), 0);         /* overlong */
    assert_int_equal(lo_utf8_seq("\xED\xA0\x80", 3), 0);     /* surrogate */
    assert_int_equal(lo_utf8_seq("\xF4\x90\x80\x80", 4), 0); /* above U+10FFFF */
    assert_int_equal(lo_utf8_seq("\x80", 1), 0);
    assert_true(lo_utf8_valid("caf\xC3\xA9", 5));
    assert_false(lo_utf8_valid("caf\xC3", 4));
    char *c = lo_utf8_clean("a\xFF" "b\0c", 5);
    assert_string_equal(c, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c");
    free(c);
}

static void test_buf_limits(void **state)
{
    lo_buf b;
    lo_buf_init(&b, 8);
    assert_int_equal(lo_buf_puts(&b, "12345678"), 0);
    assert_int_equal(lo_buf_putc(&b, '9'), LO_ETOOBIG);
    assert_string_equal(b.data, "12345678");
    lo_buf_clear(&b);
    assert_int_equal(lo_buf_printf(&b, "%d-%s", 7, "x"), 0);
    assert_string_equal(b.data, "7-x");
    lo_buf_release(&b);
    lo_buf_init(&b, 0);
    assert_int_equal(lo_buf_json_str(&b, "a\"b\\\n\x01", 6), 0);
    assert_string_equal(b.data, "\"a\\\"b\\\\\\n\\u0001\"");
    char *s = lo_buf_steal(&b);
    assert_null(b.data);
    free(s);
}

static void test_map(void **state)
{
    lo_map *m = lo_map_new(2);
    char keys[2000][12];
    for (int i = 0; i < 2000; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        assert_int_equal(lo_map_put(m, keys[i], &keys[i]), 0);
    }
    assert_int_equal(lo_map_count(m), 2000);
    for (int i = 0; i < 2000; i++)
        assert_ptr_equal(lo_map_get(m, keys[i]), &keys[i]);
    assert_null(lo_map_get(m, "nope"));
    assert_ptr_equal(lo_map_getn(m, "k12345", 3), &keys[12]); /* "k12" */
    assert_int_equal(lo_map_put(m, keys[5], NULL), 0); /* replace */
    assert_int_equal(lo_map_count(m), 2000);
    assert_true(lo_map_has(m, "k5"));
    size_t it = 0, n = 0;
    const char *k;
    while (lo_map_next(m, &it, &k, NULL))
        n++;
    assert_int_equal(n, 2000);
    lo_map_free(m);
}

static void test_arena(void **state)
{
    lo_arena *a = lo_arena_new(64);
    char *s = lo_arena_strdup(a, "hello");
    void *big = lo_arena_alloc(a, 1000); /* larger than a chunk */
    char *t = lo_arena_printf(a, "%s-%d", s, 42);
    assert_string_equal(s, "hello");
    assert_string_equal(t, "hello-42");
    assert_non_null(big);
    assert_int_equal(((uintptr_t)big) % 8, 0);
    assert_true(lo_arena_used(a) >= 1000);
    lo_arena_free(a);
}

static void test_files(void **state)
{
    char dir[] = "/tmp/lo-base-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], sub[256];
    snprintf(path, sizeof path, "%s/f.txt", dir);
    lo_error err;
    assert_int_equal(lo_file_write_atomic(path, "one", 3, &err), 0);
    assert_int_equal(lo_file_write_atomic_ex(path, "two!", 4, false, &err), 0);
    char *data;
    size_t len;
    assert_int_equal(lo_file_read(path, 0, &data, &len, &err), 0);
    assert_int_equal(len, 4);
    assert_string_equal(data, "two!");
    free(data);
    assert_int_equal(lo_file_read(path, 2, &data, &len, &err), LO_ETOOBIG);
    snprintf(sub, sizeof sub, "%s/no/such", dir);
    assert_int_equal(lo_file_read(sub, 0, &data, &len, &err), LO_ENOENT);
    assert_int_equal(lo_file_read(dir, 0, &data, &len, &err), LO_EISDIR);
    snprintf(sub, sizeof sub, "%s/a/b/c", dir);
    assert_int_equal(lo_mkdir_p(sub, &err), 0);
    assert_int_equal(lo_mkdir_p(sub, &err), 0); /* again: fine */
    assert_int_equal(lo_mkdir_p(path, &err), LO_EIO); /* a file is in the way */
    assert_true(lo_looks_binary("a\0b", 3));
    assert_true(lo_looks_binary("\xFF\xFE", 2));
    assert_false(lo_looks_binary("digraph G {}\n", 13));
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_errors(void **state)
{
    lo_error err;
    assert_int_equal(lo_error_set(&err, LO_EINVAL, "bad %d", 7), LO_EINVAL);
    assert_string_equal(err.msg, "bad 7");
    assert_int_equal(err.line, 0);
    assert_int_equal(lo_error_at(&err, LO_EPARSE, "f.dot", 3, 9, "x"), LO_EPARSE);
    assert_string_equal(err.file, "f.dot");
    assert_int_equal(err.col, 9);
    assert_int_equal(lo_error_set(NULL, LO_EIO, "ignored"), LO_EIO);
    assert_string_equal(lo_err_name(LO_ENOENT), "not found");
    /* injected allocation failure hits exactly the next allocation */
    lo_alloc_fail_after(1);
    assert_null(lo_malloc(8));
    void *p = lo_malloc(8);
    assert_non_null(p);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations), cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_numbers), cmocka_unit_test(test_edit_distance_and_closest),
        cmocka_unit_test(test_utf8), cmocka_unit_test(test_buf_limits),
        cmocka_unit_test(test_map), cmocka_unit_test(test_arena),
        cmocka_unit_test(test_files), cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
