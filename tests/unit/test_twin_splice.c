/* The twin's rendering fast paths (src/twin/splice.c) against jansson's
 * own output: twin_json_dump must be byte for byte json_dumps, whatever
 * the tree (shared subtrees, more long strings than it splices, strings
 * that look like its markers, deep nesting), and a template event must be
 * the event json_dumps would have built. */
#include "testutil.h"

#include "twin/twin_internal.h"

static char *long_text(const char *word, int n)
{
    lo_buf b;
    lo_buf_init(&b, 0);
    for (int i = 0; i < n; i++)
        lo_buf_printf(&b, "%s %d \"q\" \\ é\n\t", word, i);
    return lo_buf_steal(&b);
}

static void same_as_jansson(json_t *j)
{
    char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    for (int round = 0; round < 2; round++) { /* the second from the cache */
        char *got = twin_json_dump(j);
        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
    }
    free(want);
}

static void dump_matches(void **state)
{
    (void)state;
    char *a = long_text("alpha", 40), *b = long_text("beta", 50);
    json_t *shared = json_pack("{s:s, s:[s, i]}", "text", a, "more", b, 7);
    json_t *tree = json_pack("{s:s, s:O, s:O, s:[O, s:s], s:n}", "id", "msg_1", "content",
                             shared, "again", shared, "list", shared, "small", "tiny",
                             "nothing");
    same_as_jansson(tree);
    /* the tape's subtree was not touched */
    assert_string_equal(json_string_value(json_object_get(shared, "text")), a);

    /* strings that look like the markers, short and long */
    json_t *tricky = json_pack("{s:s, s:s, s:s}", "m", "\x01lo:0\x01", "t", a, "n",
                               "\"\\u0001lo:1\\u0001\"");
    same_as_jansson(tricky);
    char *marked = long_text("\x01lo:0\x01", 30);
    json_t *tricky2 = json_pack("{s:s, s:s}", "x", marked, "y", "\x01lo:0\x01");
    same_as_jansson(tricky2);

    /* more long strings than it splices */
    json_t *many = json_array();
    for (int i = 0; i < 40; i++) {
        char *t = long_text(i % 2 ? "odd" : "even", 20 + i);
        json_array_append_new(many, json_string(t));
        free(t);
    }
    same_as_jansson(many);

    /* deeper than it looks */
    json_t *deep = json_string(a);
    for (int i = 0; i < 100; i++)
        deep = json_pack("{s:o}", "d", deep);
    same_as_jansson(deep);

    /* nothing long: the ordinary dump */
    json_t *plain = json_pack("{s:i, s:s}", "a", 1, "b", "c");
    assert_null(twin_json_dump_spliced(plain));
    same_as_jansson(plain);

    json_decref(shared);
    json_decref(tree);
    json_decref(tricky);
    json_decref(tricky2);
    json_decref(many);
    json_decref(deep);
    json_decref(plain);
    free(a);
    free(b);
    free(marked);
}

static void template_matches(void **state)
{
    (void)state;
    twin_tmpl t;
    assert_int_equal(twin_tmpl_init(&t, "content_block_delta",
                                    json_pack("{s:s, s:o, s:{s:s, s:o}}", "type", "delta", "seq",
                                              twin_slot(1), "delta", "type", "text_delta", "text",
                                              twin_slot(0))),
                     0);
    static const char *const pieces[] = {"plain", "with \"quotes\"", "é and \\", "\n\t\x01"};
    for (size_t i = 0; i < 4; i++) {
        char buf[256], seq[16];
        snprintf(seq, sizeof seq, "%zu", i + 3);
        const char *vals[2] = {twin_json_piece(pieces[i], strlen(pieces[i]), buf, sizeof buf),
                               seq};
        assert_non_null(vals[0]);
        char *got = twin_tmpl_event(&t, vals);
        twin_events l = {0};
        twin_events_sse(&l, "content_block_delta",
                        json_pack("{s:s, s:I, s:{s:s, s:s}}", "type", "delta", "seq",
                                  (json_int_t)(i + 3), "delta", "type", "text_delta", "text",
                                  pieces[i]),
                        NULL);
        assert_false(l.oom);
        assert_int_equal(l.n, 1);
        size_t len;
        const char *at = twin_events_at(&l, 0, &len);
        char *want = lo_strndup(at, len);
        assert_string_equal(got, want);
        free(got);
        free(want);
        twin_events_release(&l);
    }
    twin_tmpl_release(&t);

    /* the deltas of a long text: the pieces join to the text, numbered from
     * l.seq, the second time from the cache and the same */
    char *text = long_text("délta", 60);
    assert_int_equal(twin_tmpl_init(&t, "d",
                                    json_pack("{s:o, s:o}", "seq", twin_slot(1), "delta",
                                              twin_slot(0))),
                     0);
    char *first = NULL;
    for (int round = 0; round < 2; round++) {
        twin_events l = {.seq = 5};
        assert_int_equal(twin_tmpl_deltas(&l, &t, text), 0);
        assert_false(l.oom);
        assert_true(l.n > 10);
        lo_buf joined, all;
        lo_buf_init(&joined, 0);
        lo_buf_init(&all, 0);
        for (size_t i = 0; i < l.n; i++) {
            size_t len;
            const char *at = twin_events_at(&l, i, &len);
            char *ev = lo_strndup(at, len);
            assert_non_null(ev);
            /* each event is one whole SSE event */
            assert_int_equal(strncmp(ev, "event: d\ndata: ", 15), 0);
            assert_string_equal(ev + len - 2, "\n\n");
            char want[48];
            snprintf(want, sizeof want, "data: {\"seq\":%zu,", i + 5);
            assert_non_null(strstr(ev, want));
            json_error_t je;
            json_t *d = json_loads(strstr(ev, "data: ") + 6, JSON_DISABLE_EOF_CHECK, &je);
            assert_non_null(d);
            lo_buf_puts(&joined, json_string_value(json_object_get(d, "delta")));
            json_decref(d);
            lo_buf_puts(&all, ev);
            free(ev);
        }
        assert_int_equal(all.len, l.b.len);
        twin_events_release(&l);
        assert_string_equal(joined.data, text);
        if (!first)
            first = lo_buf_steal(&all);
        else
            assert_string_equal(all.data, first);
        lo_buf_release(&all);
        lo_buf_release(&joined);
    }
    free(first);
    free(text);
    twin_tmpl_release(&t);

    /* no event type (Chat Completions chunks) */
    assert_int_equal(twin_tmpl_init(&t, NULL, json_pack("{s:o}", "content", twin_slot(0))), 0);
    const char *v = "\"x\"";
    char *got = twin_tmpl_event(&t, &v);
    assert_string_equal(got, "data: {\"content\":\"x\"}\n\n");
    free(got);
    twin_tmpl_release(&t);

    /* a marker number out of range is refused */
    assert_int_equal(twin_tmpl_init(&t, NULL, json_pack("[o, o]", twin_slot(0), twin_slot(9))),
                     -1);
    assert_null(twin_tmpl_event(&t, &v));

    /* a piece that does not fit, or is not UTF-8 */
    char small[4];
    assert_null(twin_json_piece("toolong", 7, small, sizeof small));
    char buf[64];
    assert_null(twin_json_piece("\xff\xfe", 2, buf, sizeof buf));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dump_matches),
        cmocka_unit_test(template_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
