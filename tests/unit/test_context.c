/* Unit tests for the run context (src/pipeline/context.c) and outcomes with
 * their status.json form (src/pipeline/outcome.c). */
#include "testutil.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lightsout/engine.h"

/* Get key as a string and compare; the string is freed here. */
static void expect_str(const lo_context *c, const char *key, const char *want)
{
    char *s = lo_context_get_str(c, key);
    if (!s)
        fail_msg("'%s' is missing; expected '%s'", key, want);
    if (strcmp(s, want) != 0) {
        char got[256];
        snprintf(got, sizeof got, "%s", s);
        free(s);
        fail_msg("'%s' is '%s'; expected '%s'", key, got, want);
    }
    free(s);
}

static void expect_msg(const lo_error *err, const char *needle)
{
    if (!strstr(err->msg, needle))
        fail_msg("message '%s' lacks '%s'", err->msg, needle);
}

/* ---- context ---- */

static void test_set_get_types(void **state)
{
    (void)state;
    lo_context *c = lo_context_new();
    assert_non_null(c);
    assert_int_equal(lo_context_set_str(c, "s", "hello"), 0);
    assert_int_equal(lo_context_set_int(c, "i", -42), 0);
    assert_int_equal(lo_context_set(c, "r", json_real(2.5)), 0);
    assert_int_equal(lo_context_set(c, "t", json_true()), 0);
    assert_int_equal(lo_context_set(c, "f", json_false()), 0);
    assert_int_equal(lo_context_set(c, "n", json_null()), 0);
    assert_int_equal(lo_context_set(c, "a", json_pack("[i,s]", 1, "x")), 0);
    assert_int_equal(lo_context_set(c, "o", json_pack("{s:i}", "k", 7)), 0);

    json_t *v = lo_context_get(c, "s");
    assert_true(json_is_string(v));
    assert_string_equal(json_string_value(v), "hello");
    json_decref(v);
    v = lo_context_get(c, "i");
    assert_true(json_is_integer(v));
    assert_int_equal(json_integer_value(v), -42);
    json_decref(v);
    v = lo_context_get(c, "r");
    assert_true(json_is_real(v));
    assert_true(json_real_value(v) == 2.5);
    json_decref(v);
    v = lo_context_get(c, "t");
    assert_true(json_is_true(v));
    json_decref(v);
    v = lo_context_get(c, "f");
    assert_true(json_is_false(v));
    json_decref(v);
    v = lo_context_get(c, "n");
    assert_true(json_is_null(v));
    json_decref(v);

    /* a returned array is a copy: changing it changes nothing stored */
    v = lo_context_get(c, "a");
    assert_true(json_is_array(v));
    assert_int_equal(json_array_size(v), 2);
    json_array_append_new(v, json_integer(3));
    json_decref(v);
    v = lo_context_get(c, "a");
    assert_int_equal(json_array_size(v), 2);
    json_decref(v);
    v = lo_context_get(c, "o");
    assert_true(json_is_object(v));
    assert_int_equal(json_integer_value(json_object_get(v, "k")), 7);
    json_object_set_new(v, "k", json_integer(8));
    json_decref(v);
    expect_str(c, "o", "{\"k\":7}");

    /* replacing a value, and a value of another type under the same key */
    assert_int_equal(lo_context_set_str(c, "s", "again"), 0);
    expect_str(c, "s", "again");
    assert_int_equal(lo_context_set_int(c, "s", 5), 0);
    expect_str(c, "s", "5");
    lo_context_free(c);
}

static void test_get_str_forms(void **state)
{
    (void)state;
    lo_context *c = lo_context_new();
    lo_context_set_str(c, "s", "plain text");
    lo_context_set_str(c, "empty", "");
    lo_context_set_int(c, "i", 42);
    lo_context_set_int(c, "neg", -7);
    lo_context_set_int(c, "big", INT64_MAX);
    lo_context_set_int(c, "small", INT64_MIN);
    lo_context_set(c, "half", json_real(1.5));
    lo_context_set(c, "whole", json_real(3.0));
    lo_context_set(c, "tiny", json_real(1e-300));
    lo_context_set(c, "t", json_true());
    lo_context_set(c, "f", json_false());
    lo_context_set(c, "n", json_null());
    lo_context_set(c, "a", json_pack("[i,s,b]", 1, "two", 1));
    lo_context_set(c, "o", json_pack("{s:s}", "k", "v"));
    lo_context_set(c, "ea", json_array());
    lo_context_set(c, "eo", json_object());

    expect_str(c, "s", "plain text");
    expect_str(c, "empty", "");
    expect_str(c, "i", "42");
    expect_str(c, "neg", "-7");
    expect_str(c, "big", "9223372036854775807");
    expect_str(c, "small", "-9223372036854775808");
    expect_str(c, "half", "1.5");
    expect_str(c, "whole", "3.0");
    expect_str(c, "tiny", "1e-300");
    expect_str(c, "t", "true");
    expect_str(c, "f", "false");
    expect_str(c, "n", "");
    expect_str(c, "a", "[1,\"two\",true]");
    expect_str(c, "o", "{\"k\":\"v\"}");
    expect_str(c, "ea", "[]");
    expect_str(c, "eo", "{}");

    /* a real's string form parses back to the same number */
    lo_context_set(c, "pi", json_real(3.141592653589793));
    char *s = lo_context_get_str(c, "pi");
    assert_true(strtod(s, NULL) == 3.141592653589793);
    free(s);
    lo_context_free(c);
}

static void test_missing_keys(void **state)
{
    (void)state;
    lo_context *c = lo_context_new();
    assert_null(lo_context_get(c, "nope"));
    assert_null(lo_context_get_str(c, "nope"));
    assert_false(lo_context_has(c, "nope"));
    assert_null(lo_context_get(c, NULL));
    assert_null(lo_context_get_str(c, NULL));
    assert_false(lo_context_has(c, NULL));
    /* null is a value, not a missing key */
    lo_context_set(c, "n", json_null());
    assert_true(lo_context_has(c, "n"));
    /* keys are exact: no prefix or case folding */
    lo_context_set_str(c, "context.x", "1");
    assert_false(lo_context_has(c, "x"));
    assert_false(lo_context_has(c, "Context.x"));
    assert_true(lo_context_has(c, "context.x"));
    lo_context_free(c);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    lo_context *c = lo_context_new();
    assert_int_equal(lo_context_set(c, "k", NULL), LO_EINVAL);
    assert_int_equal(lo_context_set(c, NULL, json_integer(1)), LO_EINVAL); /* stolen */
    assert_int_equal(lo_context_set_str(c, "k", NULL), LO_EINVAL);
    assert_int_equal(lo_context_set_str(c, NULL, "v"), LO_EINVAL);
    assert_int_equal(lo_context_set_int(c, NULL, 1), LO_EINVAL);
    /* a key JSON cannot hold */
    assert_int_equal(lo_context_set(c, "bad\xff", json_integer(1)), LO_EINVAL);
    assert_int_equal(lo_context_log(c, NULL), LO_EINVAL);
    json_t *arr = json_array();
    assert_int_equal(lo_context_apply(c, arr), LO_EINVAL);
    assert_int_equal(lo_context_restore(c, arr), LO_EINVAL);
    json_decref(arr);
    json_t *obj = json_object();
    assert_int_equal(lo_context_restore_logs(c, obj), LO_EINVAL);
    json_decref(obj);
    json_t *mixed = json_pack("[s,i]", "ok", 2);
    assert_int_equal(lo_context_restore_logs(c, mixed), LO_EINVAL);
    json_decref(mixed);
    assert_int_equal(lo_context_apply(c, NULL), 0);
    json_t *snap = lo_context_snapshot(c);
    assert_int_equal(json_object_size(snap), 0);
    json_decref(snap);
    lo_context_free(c);
    lo_context_free(NULL);
}

static void test_invalid_utf8_values(void **state)
{
    (void)state;
    lo_context *c = lo_context_new();
    /* command output may hold any bytes; they are kept, repaired */
    assert_int_equal(lo_context_set_str(c, "out", "ok \xff\xfe end"), 0);
    expect_str(c, "out", "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
    assert_int_equal(lo_context_set_str(c, "cut", "caf\xc3"), 0);
    expect_str(c, "cut", "caf\xEF\xBF\xBD");
    assert_int_equal(lo_context_set_str(c, "utf8", "caf\xc3\xa9 \xe2\x9c\x93"), 0);
    expect_str(c, "utf8", "caf\xc3\xa9 \xe2\x9c\x93");
    assert_int_equal(lo_context_log(c, "log \x80"), 0);
    json_t *logs = lo_context_logs(c);
    assert_string_equal(json_string_value(json_array_get(logs, 0)), "log \xEF\xBF\xBD");
    json_decref(logs);
    lo_context_free(c);
}

static void test_clone_isolation(void **state)
{
    (void)state;
    lo_context *c = lo_context_new();
    lo_context_set_str(c, "shared", "original");
    lo_context_set(c, "list", json_pack("[i]", 1));
    lo_context_log(c, "first");

    lo_context *k = lo_context_clone(c);
    assert_non_null(k);
    expect_str(k, "shared", "original");
    expect_str(k, "list", "[1]");
    json_t *logs = lo_context_logs(k);
    assert_int_equal(json_array_size(logs), 1);
    json_decref(logs);

    /* clone -> original */
    lo_context_set_str(k, "shared", "changed in clone");
    lo_context_set_str(k, "clone_only", "x");
    json_t *list = lo_context_get(k, "list");
    json_array_append_new(list, json_integer(2));
    lo_context_set(k, "list", list);
    lo_context_log(k, "clone log");
    expect_str(c, "shared", "original");
    expect_str(c, "list", "[1]");
    assert_false(lo_context_has(c, "clone_only"));
    logs = lo_context_logs(c);
    assert_int_equal(json_array_size(logs), 1);
    json_decref(logs);

    /* original -> clone */
    lo_context_set_str(c, "shared", "changed in original");
    lo_context_set_str(c, "original_only", "y");
    expect_str(k, "shared", "changed in clone");
    expect_str(k, "list", "[1,2]");
    assert_false(lo_context_has(k, "original_only"));
    logs = lo_context_logs(k);
    assert_int_equal(json_array_size(logs), 2);
    json_decref(logs);

    lo_context_free(k);
    lo_context_free(c);
}

static void test_apply(void **state)
{
    (void)state;
    lo_context *c = lo_context_new();
    lo_context_set_str(c, "keep", "kept");
    lo_context_set_str(c, "over", "old");
    json_t *upd = json_pack("{s:s, s:i, s:{s:b}}", "over", "new", "count", 3,
                            "nested", "flag", 1);
    assert_int_equal(lo_context_apply(c, upd), 0);
    expect_str(c, "keep", "kept");
    expect_str(c, "over", "new");
    expect_str(c, "count", "3");
    expect_str(c, "nested", "{\"flag\":true}");
    /* the caller's object stays the caller's */
    json_object_set_new(json_object_get(upd, "nested"), "flag", json_false());
    json_object_set_new(upd, "over", json_string("mutated"));
    expect_str(c, "over", "new");
    expect_str(c, "nested", "{\"flag\":true}");
    json_decref(upd);
    /* an empty object changes nothing */
    json_t *none = json_object();
    assert_int_equal(lo_context_apply(c, none), 0);
    json_decref(none);
    json_t *snap = lo_context_snapshot(c);
    assert_int_equal(json_object_size(snap), 4);
    json_decref(snap);
    lo_context_free(c);
}

static void test_snapshot_restore(void **state)
{
    (void)state;
    lo_context *c = lo_context_new();
    lo_context_set_str(c, "a", "1");
    lo_context_set_int(c, "b", 2);
    lo_context_set(c, "c", json_pack("{s:[i,i]}", "xs", 1, 2));
    json_t *snap = lo_context_snapshot(c);
    assert_non_null(snap);
    assert_int_equal(json_object_size(snap), 3);

    /* the snapshot is a copy */
    json_object_set_new(snap, "a", json_string("edited snapshot"));
    expect_str(c, "a", "1");
    json_object_set_new(snap, "a", json_string("1"));

    /* it survives a trip through JSON text (the checkpoint path) */
    char *text = json_dumps(snap, JSON_COMPACT);
    json_t *back = json_loads(text, 0, NULL);
    free(text);

    lo_context_set_str(c, "a", "changed");
    lo_context_set_str(c, "later", "gone after restore");
    assert_int_equal(lo_context_restore(c, back), 0);
    expect_str(c, "a", "1");
    expect_str(c, "b", "2");
    expect_str(c, "c", "{\"xs\":[1,2]}");
    assert_false(lo_context_has(c, "later"));
    json_t *again = lo_context_snapshot(c);
    assert_true(json_equal(again, snap));
    json_decref(again);

    /* restore copies: editing its source later changes nothing */
    json_object_set_new(back, "b", json_integer(99));
    expect_str(c, "b", "2");
    json_decref(back);
    json_decref(snap);

    /* NULL restores to empty */
    assert_int_equal(lo_context_restore(c, NULL), 0);
    assert_false(lo_context_has(c, "a"));
    lo_context_free(c);
}

static void test_logs(void **state)
{
    (void)state;
    lo_context *c = lo_context_new();
    json_t *logs = lo_context_logs(c);
    assert_int_equal(json_array_size(logs), 0);
    json_decref(logs);
    assert_int_equal(lo_context_log(c, "one"), 0);
    assert_int_equal(lo_context_log(c, "two"), 0);
    assert_int_equal(lo_context_log(c, ""), 0);
    logs = lo_context_logs(c);
    assert_int_equal(json_array_size(logs), 3);
    assert_string_equal(json_string_value(json_array_get(logs, 0)), "one");
    assert_string_equal(json_string_value(json_array_get(logs, 1)), "two");
    assert_string_equal(json_string_value(json_array_get(logs, 2)), "");
    /* a copy */
    json_array_clear(logs);
    json_decref(logs);
    logs = lo_context_logs(c);
    assert_int_equal(json_array_size(logs), 3);
    json_decref(logs);

    json_t *saved = json_pack("[s,s]", "restored 1", "restored 2");
    assert_int_equal(lo_context_restore_logs(c, saved), 0);
    json_array_append_new(saved, json_string("not mine"));
    json_decref(saved);
    lo_context_log(c, "after");
    logs = lo_context_logs(c);
    assert_int_equal(json_array_size(logs), 3);
    assert_string_equal(json_string_value(json_array_get(logs, 0)), "restored 1");
    assert_string_equal(json_string_value(json_array_get(logs, 2)), "after");
    json_decref(logs);
    /* logs are not values */
    json_t *snap = lo_context_snapshot(c);
    assert_int_equal(json_object_size(snap), 0);
    json_decref(snap);
    assert_int_equal(lo_context_restore_logs(c, NULL), 0);
    logs = lo_context_logs(c);
    assert_int_equal(json_array_size(logs), 0);
    json_decref(logs);
    lo_context_free(c);
}

#define N_THREADS 8
#define N_OPS 10000

typedef struct worker {
    lo_context *c;
    int id;
    int errors;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char mine[32];
    snprintf(mine, sizeof mine, "thread.%d", w->id);
    for (int i = 0; i < N_OPS; i++) {
        if (lo_context_set_int(w->c, mine, i) != 0)
            w->errors++;
        json_t *v = lo_context_get(w->c, mine);
        if (!json_is_integer(v) || json_integer_value(v) != i)
            w->errors++; /* nobody else writes this key */
        json_decref(v);

        if (lo_context_set_int(w->c, "shared", w->id) != 0)
            w->errors++;
        char *s = lo_context_get_str(w->c, "shared");
        if (!s || s[1] != '\0' || s[0] < '0' || s[0] >= '0' + N_THREADS)
            w->errors++; /* some thread's id, never a torn value */
        free(s);
        if (!lo_context_has(w->c, "shared"))
            w->errors++;

        if (i % 100 == 0) {
            json_t *upd = json_pack("{s:i}", "applied", i);
            if (lo_context_apply(w->c, upd) != 0)
                w->errors++;
            json_decref(upd);
            json_t *snap = lo_context_snapshot(w->c);
            if (!json_object_get(snap, "shared"))
                w->errors++;
            json_decref(snap);
            lo_context *k = lo_context_clone(w->c);
            if (!k || !lo_context_has(k, mine))
                w->errors++;
            lo_context_free(k);
            char entry[64];
            snprintf(entry, sizeof entry, "%s step %d", mine, i);
            if (lo_context_log(w->c, entry) != 0)
                w->errors++;
        }
    }
    return NULL;
}

static void test_concurrent_access(void **state)
{
    (void)state;
    lo_context *c = lo_context_new();
    pthread_t t[N_THREADS];
    worker w[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (worker){.c = c, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < N_THREADS; i++) {
        assert_int_equal(w[i].errors, 0);
        char key[32];
        snprintf(key, sizeof key, "thread.%d", i);
        expect_str(c, key, "9999");
    }
    json_t *v = lo_context_get(c, "shared");
    assert_true(json_is_integer(v));
    assert_in_range(json_integer_value(v), 0, N_THREADS - 1);
    json_decref(v);
    expect_str(c, "applied", "9900");
    json_t *logs = lo_context_logs(c);
    assert_int_equal(json_array_size(logs), N_THREADS * (N_OPS / 100));
    json_decref(logs);
    lo_context_free(c);
}

static void test_context_alloc_failure(void **state)
{
    (void)state;
    lo_alloc_fail_after(1);
    assert_null(lo_context_new());
    lo_alloc_fail_after(0);
    lo_context *c = lo_context_new();
    lo_context_set_int(c, "n", 12345);
    lo_alloc_fail_after(1);
    assert_null(lo_context_get_str(c, "n"));
    lo_alloc_fail_after(1);
    assert_null(lo_context_clone(c));
    lo_alloc_fail_after(0);
    expect_str(c, "n", "12345");
    lo_context_free(c);
}

/* ---- outcome ---- */

static void test_status_names(void **state)
{
    (void)state;
    const char *names[] = {"success", "partial_success", "retry", "fail", "skipped"};
    const lo_status sts[] = {LO_SUCCESS, LO_PARTIAL_SUCCESS, LO_RETRY, LO_FAIL, LO_SKIPPED};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(lo_status_name(sts[i]), names[i]);
        lo_status s = (lo_status)99;
        assert_int_equal(lo_status_parse(names[i], &s), 0);
        assert_int_equal(s, sts[i]);
    }
    const char *upper[] = {"SUCCESS", "PARTIAL_SUCCESS", "Retry", "FAIL", "Skipped"};
    for (size_t i = 0; i < 5; i++) {
        lo_status s = (lo_status)99;
        assert_int_equal(lo_status_parse(upper[i], &s), 0);
        assert_int_equal(s, sts[i]);
    }
    lo_status s = LO_RETRY;
    assert_int_equal(lo_status_parse("failed", &s), LO_EINVAL);
    assert_int_equal(lo_status_parse("", &s), LO_EINVAL);
    assert_int_equal(lo_status_parse(" success", &s), LO_EINVAL);
    assert_int_equal(lo_status_parse(NULL, &s), LO_EINVAL);
    assert_int_equal(s, LO_RETRY); /* untouched on failure */
}

static void test_outcome_building(void **state)
{
    (void)state;
    lo_outcome o;
    lo_outcome_init(&o, LO_PARTIAL_SUCCESS);
    assert_int_equal(o.status, LO_PARTIAL_SUCCESS);
    assert_null(o.preferred_label);
    assert_null(o.suggested_next_ids);
    assert_null(o.context_updates);
    assert_null(o.notes);
    assert_null(o.failure_reason);

    assert_int_equal(lo_outcome_set_notes(&o, "ran %d of %d", 3, 4), 0);
    assert_string_equal(o.notes, "ran 3 of 4");
    assert_int_equal(lo_outcome_set_notes(&o, "%s", "replaced"), 0);
    assert_string_equal(o.notes, "replaced");
    assert_int_equal(lo_outcome_set_failure(&o, "exit code %d", 2), 0);
    assert_string_equal(o.failure_reason, "exit code 2");
    assert_int_equal(lo_outcome_set_label(&o, "Approve"), 0);
    assert_string_equal(o.preferred_label, "Approve");
    assert_int_equal(lo_outcome_set_label(&o, NULL), 0);
    assert_null(o.preferred_label);
    assert_int_equal(lo_outcome_add_next_id(&o, "a"), 0);
    assert_int_equal(lo_outcome_add_next_id(&o, "b"), 0);
    assert_int_equal(lo_outcome_add_next_id(&o, NULL), LO_EINVAL);
    assert_int_equal(json_array_size(o.suggested_next_ids), 2);
    assert_int_equal(lo_outcome_update(&o, "k", json_integer(1)), 0);
    assert_int_equal(lo_outcome_update(&o, "k", json_integer(2)), 0);
    assert_int_equal(lo_outcome_update_str(&o, "s", "v"), 0);
    assert_int_equal(lo_outcome_update(&o, "x", NULL), LO_EINVAL);
    assert_int_equal(lo_outcome_update(&o, NULL, json_integer(3)), LO_EINVAL);
    assert_int_equal(lo_outcome_update(&o, "bad\xff", json_integer(3)), LO_EINVAL);
    assert_int_equal(lo_outcome_update_str(&o, "s2", NULL), LO_EINVAL);
    assert_int_equal(json_object_size(o.context_updates), 2);
    assert_int_equal(json_integer_value(json_object_get(o.context_updates, "k")), 2);

    lo_outcome_release(&o);
    assert_int_equal(o.status, LO_PARTIAL_SUCCESS);
    assert_null(o.notes);
    assert_null(o.context_updates);
    lo_outcome_release(&o); /* twice is harmless */
    lo_outcome_release(NULL);

    lo_alloc_fail_after(1);
    assert_int_equal(lo_outcome_set_label(&o, "x"), LO_ENOMEM);
    lo_alloc_fail_after(0);
    lo_outcome_release(&o);
}

static void test_outcome_json_round_trip(void **state)
{
    (void)state;
    const lo_status sts[] = {LO_SUCCESS, LO_PARTIAL_SUCCESS, LO_RETRY, LO_FAIL, LO_SKIPPED};
    for (size_t i = 0; i < 5; i++) {
        lo_outcome o;
        lo_outcome_init(&o, sts[i]);
        lo_outcome_set_label(&o, "[A] Approve");
        lo_outcome_add_next_id(&o, "review");
        lo_outcome_add_next_id(&o, "deploy");
        lo_outcome_update_str(&o, "context.result", "ok");
        lo_outcome_update(&o, "nested.key", json_pack("{s:[i]}", "n", 1));
        lo_outcome_set_notes(&o, "notes %zu", i);
        lo_outcome_set_failure(&o, "because \"%s\"", "quoted");

        json_t *j = lo_outcome_to_json(&o);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "outcome")),
                            lo_status_name(sts[i]));
        assert_string_equal(json_string_value(json_object_get(j, "failure_reason")),
                            "because \"quoted\"");
        lo_outcome back;
        lo_error err = {0};
        assert_int_equal(lo_outcome_from_json(j, &back, &err), 0);
        assert_int_equal(back.status, sts[i]);
        assert_string_equal(back.preferred_label, "[A] Approve");
        assert_true(json_equal(back.suggested_next_ids, o.suggested_next_ids));
        assert_true(json_equal(back.context_updates, o.context_updates));
        assert_string_equal(back.notes, o.notes);
        assert_string_equal(back.failure_reason, "because \"quoted\"");
        /* the parsed outcome owns its own copies */
        assert_true(back.context_updates != json_object_get(j, "context_updates"));
        json_t *again = lo_outcome_to_json(&back);
        assert_true(json_equal(again, j));
        json_decref(again);
        json_decref(j);
        lo_outcome_release(&back);
        lo_outcome_release(&o);
    }
}

static void test_outcome_json_minimal(void **state)
{
    (void)state;
    /* an empty outcome still writes every Appendix C key, no failure_reason */
    lo_outcome o;
    lo_outcome_init(&o, LO_SUCCESS);
    json_t *j = lo_outcome_to_json(&o);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text, "{\"outcome\":\"success\",\"preferred_label\":\"\","
                              "\"suggested_next_ids\":[],\"context_updates\":{},"
                              "\"notes\":\"\"}");
    free(text);
    lo_outcome back;
    assert_int_equal(lo_outcome_from_json(j, &back, NULL), 0);
    assert_int_equal(back.status, LO_SUCCESS);
    assert_null(back.preferred_label); /* "" and [] and {} read as none */
    assert_null(back.suggested_next_ids);
    assert_null(back.context_updates);
    assert_null(back.notes);
    assert_null(back.failure_reason);
    lo_outcome_release(&back);
    json_decref(j);

    /* only "outcome" is required; nulls are absent; case does not matter;
     * unknown keys are ignored */
    j = json_loads("{\"outcome\":\"PARTIAL_SUCCESS\",\"notes\":null,"
                   "\"preferred_label\":null,\"suggested_next_ids\":null,"
                   "\"context_updates\":null,\"extra\":[1,2]}", 0, NULL);
    assert_int_equal(lo_outcome_from_json(j, &back, NULL), 0);
    assert_int_equal(back.status, LO_PARTIAL_SUCCESS);
    assert_null(back.notes);
    lo_outcome_release(&back);
    json_decref(j);
    lo_outcome_release(&o);

    /* invalid UTF-8 in notes is repaired, not fatal */
    lo_outcome_init(&o, LO_FAIL);
    lo_outcome_set_notes(&o, "bytes: %s", "\xff");
    j = lo_outcome_to_json(&o);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "notes")),
                        "bytes: \xEF\xBF\xBD");
    json_decref(j);
    lo_outcome_release(&o);
}

/* from_json(text) must fail with LO_EINVAL and a message holding needle. */
static void expect_from_json_error(const char *text, const char *needle)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!j)
        fail_msg("test JSON '%s' does not parse: %s", text, jerr.text);
    lo_outcome o;
    lo_error err = {0};
    int rc = lo_outcome_from_json(j, &o, &err);
    json_decref(j);
    if (rc != LO_EINVAL)
        fail_msg("'%s' gave %d, expected LO_EINVAL", text, rc);
    assert_int_equal(err.code, LO_EINVAL);
    expect_msg(&err, needle);
    /* a failed parse leaves an empty FAIL outcome */
    assert_int_equal(o.status, LO_FAIL);
    assert_null(o.notes);
    assert_null(o.preferred_label);
    lo_outcome_release(&o);
}

static void test_outcome_from_json_errors(void **state)
{
    (void)state;
    expect_from_json_error("{}", "no \"outcome\"");
    expect_from_json_error("{\"notes\":\"x\"}", "\"outcome\"");
    expect_from_json_error("{\"outcome\":\"done\"}", "\"done\"");
    expect_from_json_error("{\"outcome\":\"done\"}", "partial_success");
    expect_from_json_error("{\"outcome\":1}", "\"outcome\" must be a string");
    expect_from_json_error("{\"outcome\":null}", "\"outcome\" must be a string");
    expect_from_json_error("{\"outcome\":\"success\",\"preferred_label\":1}",
                           "\"preferred_label\" must be a string");
    expect_from_json_error("{\"outcome\":\"success\",\"notes\":[]}",
                           "\"notes\" must be a string");
    expect_from_json_error("{\"outcome\":\"fail\",\"failure_reason\":{}}",
                           "\"failure_reason\" must be a string");
    expect_from_json_error("{\"outcome\":\"success\",\"suggested_next_ids\":\"a\"}",
                           "\"suggested_next_ids\" must be an array");
    expect_from_json_error("{\"outcome\":\"success\",\"suggested_next_ids\":[\"a\",2]}",
                           "\"suggested_next_ids\" item 1");
    expect_from_json_error("{\"outcome\":\"success\",\"context_updates\":[]}",
                           "\"context_updates\" must be an object");
    expect_from_json_error("{\"outcome\":\"success\",\"context_updates\":\"k=v\"}",
                           "\"context_updates\"");
    expect_from_json_error("[\"success\"]", "must be a JSON object");
    expect_from_json_error("\"success\"", "must be a JSON object");
    /* a later field's error releases what was already taken */
    expect_from_json_error("{\"outcome\":\"success\",\"notes\":\"n\",\"preferred_label\":\"l\","
                           "\"suggested_next_ids\":[\"a\"],\"context_updates\":5}",
                           "\"context_updates\"");
}

/* A fresh temporary directory; removed by rm_tree. */
static char *temp_dir(void)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/lo-test-context-XXXXXX");
    assert_non_null(mkdtemp(path));
    return path;
}

static void rm_file_in(const char *dir, const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    unlink(p);
}

static void test_outcome_write_read(void **state)
{
    (void)state;
    char *dir = temp_dir();
    lo_outcome o;
    lo_outcome_init(&o, LO_RETRY);
    lo_outcome_set_label(&o, "Fix");
    lo_outcome_add_next_id(&o, "implement");
    lo_outcome_update_str(&o, "context.tests", "3 failed");
    lo_outcome_update(&o, "context.count", json_integer(3));
    lo_outcome_set_notes(&o, "line one\nline two");
    lo_outcome_set_failure(&o, "tests failed");
    lo_error err = {0};
    assert_int_equal(lo_outcome_write(&o, dir, &err), 0);

    char path[256];
    snprintf(path, sizeof path, "%s/status.json", dir);
    char *data;
    size_t len;
    assert_int_equal(lo_file_read(path, 0, &data, &len, NULL), 0);
    assert_true(len > 2);
    assert_int_equal(data[len - 1], '\n');          /* trailing newline */
    assert_non_null(strstr(data, "\n  \"outcome\": \"retry\"")); /* pretty */
    assert_true(strncmp(data, "{\n  \"outcome\"", 13) == 0);     /* outcome first */
    free(data);

    lo_outcome back;
    assert_int_equal(lo_outcome_read(path, &back, &err), 0);
    assert_int_equal(back.status, LO_RETRY);
    assert_string_equal(back.preferred_label, "Fix");
    assert_true(json_equal(back.suggested_next_ids, o.suggested_next_ids));
    assert_true(json_equal(back.context_updates, o.context_updates));
    assert_string_equal(back.notes, "line one\nline two");
    assert_string_equal(back.failure_reason, "tests failed");
    lo_outcome_release(&back);

    /* overwriting leaves no temporary files behind */
    o.status = LO_SUCCESS;
    assert_int_equal(lo_outcome_write(&o, dir, &err), 0);
    assert_int_equal(lo_outcome_read(path, &back, &err), 0);
    assert_int_equal(back.status, LO_SUCCESS);
    lo_outcome_release(&back);
    lo_outcome_release(&o);

    /* a missing stage directory is an I/O error naming the path */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/no/such", dir);
    lo_outcome_init(&o, LO_SUCCESS);
    assert_int_equal(lo_outcome_write(&o, missing, &err), LO_EIO);
    expect_msg(&err, "no/such/status.json");

    rm_file_in(dir, "status.json");
    assert_int_equal(rmdir(dir), 0); /* empty: nothing else was left */
}

static void test_outcome_read_errors(void **state)
{
    (void)state;
    char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/status.json", dir);
    lo_outcome o;
    lo_error err = {0};

    /* missing */
    assert_int_equal(lo_outcome_read(path, &o, &err), LO_ENOENT);
    expect_msg(&err, path);
    assert_int_equal(o.status, LO_FAIL);
    lo_outcome_release(&o);

    /* truncated */
    const char *cut = "{\n  \"outcome\": \"success\",\n  \"notes\": \"half";
    assert_int_equal(lo_file_write_atomic(path, cut, strlen(cut), NULL), 0);
    assert_int_equal(lo_outcome_read(path, &o, &err), LO_EPARSE);
    assert_int_equal(err.code, LO_EPARSE);
    expect_msg(&err, path);
    expect_msg(&err, "invalid JSON");
    assert_string_equal(err.file, path);
    assert_int_equal(err.line, 3);
    assert_true(err.col > 0);
    assert_int_equal(o.status, LO_FAIL);
    lo_outcome_release(&o);

    /* empty */
    assert_int_equal(lo_file_write_atomic(path, "", 0, NULL), 0);
    assert_int_equal(lo_outcome_read(path, &o, &err), LO_EPARSE);
    expect_msg(&err, path);
    lo_outcome_release(&o);

    /* valid JSON, wrong shape: the message names the file and the field */
    const char *bad = "{\"outcome\": \"maybe\"}\n";
    assert_int_equal(lo_file_write_atomic(path, bad, strlen(bad), NULL), 0);
    assert_int_equal(lo_outcome_read(path, &o, &err), LO_EINVAL);
    expect_msg(&err, path);
    expect_msg(&err, "\"maybe\"");
    lo_outcome_release(&o);

    /* a directory where the file should be */
    unlink(path);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(lo_outcome_read(path, &o, &err), LO_EISDIR);
    lo_outcome_release(&o);
    rmdir(path);

    /* an allocation failing anywhere in a read is reported, never a crash */
    const char *good = "{\"outcome\":\"fail\",\"notes\":\"n\",\"preferred_label\":\"p\","
                       "\"failure_reason\":\"f\",\"suggested_next_ids\":[\"x\"],"
                       "\"context_updates\":{\"k\":1}}";
    assert_int_equal(lo_file_write_atomic(path, good, strlen(good), NULL), 0);
    for (long k = 1; k < 40; k++) {
        lo_alloc_fail_after(k);
        int rc = lo_outcome_read(path, &o, &err);
        lo_alloc_fail_after(0);
        assert_true(rc == 0 || rc == LO_ENOMEM);
        lo_outcome_release(&o);
    }
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_types),
        cmocka_unit_test(test_get_str_forms),
        cmocka_unit_test(test_missing_keys),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_invalid_utf8_values),
        cmocka_unit_test(test_clone_isolation),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_snapshot_restore),
        cmocka_unit_test(test_logs),
        cmocka_unit_test(test_concurrent_access),
        cmocka_unit_test(test_context_alloc_failure),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_outcome_building),
        cmocka_unit_test(test_outcome_json_round_trip),
        cmocka_unit_test(test_outcome_json_minimal),
        cmocka_unit_test(test_outcome_from_json_errors),
        cmocka_unit_test(test_outcome_write_read),
        cmocka_unit_test(test_outcome_read_errors),
    };
    return cmocka_run_group_tests_name("context", tests, NULL, NULL);
}
