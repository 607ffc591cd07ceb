/* libFuzzer target for the edge condition language: parse, and when the text
 * parses, evaluate it and run the static satisfiability check. */
#include <stdint.h>
#include <string.h>

#include "lightsout/condition.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(void *ud, const char *key)
{
    (void)ud;
    /* A few fixed values so both the prefixed and the plain lookup paths and
     * every truthiness case get exercised. */
    static const char *const kv[] = {
        "context.tests_passed", "true", "loop_state", "exhausted",
        "zero", "0", "no", "false", "empty", "", "a.b", "nested",
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i += 2)
        if (strcmp(kv[i], key) == 0)
            return kv[i + 1];
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The API takes a C string; an embedded NUL simply ends it. */
    char *text = lo_malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    lo_error err;
    lo_cond *c = lo_cond_parse(text, &err);
    if (c) {
        lo_cond_env env = {.outcome = "success", .preferred_label = "Fix",
                           .lookup = lookup, .ud = NULL};
        (void)lo_cond_eval(c, &env);
        for (size_t i = 0; i < lo_cond_count(c); i++) {
            const lo_cond_clause *cl = lo_cond_clause_at(c, i);
            (void)lo_cond_resolve(&env, cl->key);
            if (cl->key_col < 1 || cl->key_col > size)
                __builtin_trap(); /* columns must point inside the text */
        }
        char why[128];
        (void)lo_cond_satisfiable(c, why, sizeof why);
        if (!memchr(why, '\0', sizeof why))
            __builtin_trap();
        lo_cond_free(c);
    } else if (err.code == LO_EPARSE && (err.line != 1 || err.col < 1 ||
                                         err.col > size + 1)) {
        __builtin_trap(); /* error columns must point into or just past it */
    }
    free(text);
    return 0;
}
