/* JSON Schema validation for tool arguments and structured output
 * (unified-llm-spec §4.5, §5.8): the subset of the 2020-12 vocabulary that
 * tool schemas use, with messages that name the JSON path of the first
 * failure. Unknown keywords are ignored, as the standard says, so a schema
 * written for a provider never fails here for a keyword we do not read. */
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lightsout/llm.h"

/* Deep enough for any real tool schema, shallow enough that a recursive
 * $ref cannot exhaust the stack. */
#define MAX_DEPTH 64

typedef struct vctx {
    const json_t *root; /* for "$ref": "#/..." */
    char *why;
    size_t n;
    bool schema_error;  /* the schema itself is malformed: LO_EPARSE */
} vctx;

/* The JSON path of a value, built as the walk descends. */
typedef struct path {
    const struct path *up;
    const char *key; /* property name, or NULL for an index */
    size_t index;
} path;

static void path_render(const path *p, lo_buf *b)
{
    if (!p) {
        lo_buf_putc(b, '$');
        return;
    }
    path_render(p->up, b);
    if (!p->key) {
        lo_buf_printf(b, "[%zu]", p->index);
        return;
    }
    bool ident = (p->key[0] >= 'a' && p->key[0] <= 'z') || (p->key[0] >= 'A' && p->key[0] <= 'Z') ||
                 p->key[0] == '_';
    for (const char *s = p->key; ident && *s; s++)
        ident = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                *s == '_';
    if (ident) {
        lo_buf_printf(b, ".%s", p->key);
    } else {
        lo_buf_puts(b, "[");
        lo_buf_json_str(b, p->key, strlen(p->key));
        lo_buf_puts(b, "]");
    }
}

static int fail(vctx *c, const path *p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(vctx *c, const path *p, const char *fmt, ...)
{
    if (c->why && c->n) {
        lo_buf b;
        lo_buf_init(&b, 0);
        path_render(p, &b);
        lo_buf_puts(&b, ": ");
        va_list ap;
        va_start(ap, fmt);
        lo_buf_vprintf(&b, fmt, ap);
        va_end(ap);
        snprintf(c->why, c->n, "%s", b.data ? b.data : "out of memory");
        lo_buf_release(&b);
    }
    return LO_EINVAL;
}

static int bad_schema(vctx *c, const path *p, const char *what)
{
    fail(c, p, "invalid schema: %s", what);
    c->schema_error = true;
    return LO_EPARSE;
}

/* A short rendering of a value for messages. */
static void show(const json_t *v, char *out, size_t n)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!s) {
        snprintf(out, n, "?");
        return;
    }
    if (strlen(s) > 40)
        snprintf(out, n, "%.37s...", s);
    else
        snprintf(out, n, "%s", s);
    free(s);
}

/* The JSON type of a value as JSON Schema names it; numbers are "number"
 * whatever jansson's storage, since JSON itself has one number type. */
static const char *type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

/* 1.0 is an integer in JSON Schema: integer-ness is about the value. */
static bool is_integral(const json_t *v)
{
    if (json_is_integer(v))
        return true;
    if (!json_is_real(v))
        return false;
    double d = json_real_value(v);
    return isfinite(d) && floor(d) == d;
}

static bool type_matches(const char *t, const json_t *v)
{
    if (strcmp(t, "integer") == 0)
        return is_integral(v);
    if (strcmp(t, "number") == 0)
        return json_is_number(v);
    return strcmp(t, type_of(v)) == 0;
}

static bool known_type(const char *t)
{
    static const char *const names[] = {"object", "array",   "string", "number",
                                        "integer", "boolean", "null"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(t, names[i]) == 0)
            return true;
    return false;
}

/* Equality as JSON Schema means it for enum and const: numbers by value
 * (1 == 1.0), objects by members regardless of order, arrays in order. */
static bool values_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!values_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        const json_t *va;
        json_object_foreach((json_t *)a, k, va) {
            const json_t *vb = json_object_get(b, k);
            if (!vb || !values_equal(va, vb))
                return false;
        }
        return true;
    }
    return json_equal(a, b);
}

/* Numeric comparison that stays exact for two integers. */
static int num_cmp(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return x < y ? -1 : x > y;
    }
    double x = json_number_value(a), y = json_number_value(b);
    return x < y ? -1 : x > y;
}

/* Length in characters (code points), as minLength counts. */
static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

/* A non-negative integer keyword (minItems, maxLength, ...); -1 when the
 * keyword is absent, -2 when it is malformed. */
static json_int_t count_kw(const json_t *schema, const char *kw)
{
    const json_t *v = json_object_get(schema, kw);
    if (!v)
        return -1;
    if (!is_integral(v) || json_number_value(v) < 0)
        return -2;
    return (json_int_t)json_number_value(v);
}

static int validate(vctx *c, const json_t *schema, const json_t *v, const path *p, int depth);

static int check_type(vctx *c, const json_t *schema, const json_t *v, const path *p)
{
    const json_t *t = json_object_get(schema, "type");
    if (!t)
        return 0;
    /* OpenAPI's "nullable": true (Gemini's dialect) admits null too. */
    bool nullable = json_is_true(json_object_get(schema, "nullable"));
    if (nullable && json_is_null(v))
        return 0;
    if (json_is_string(t)) {
        const char *name = json_string_value(t);
        if (!known_type(name))
            return bad_schema(c, p, "unknown type");
        if (type_matches(name, v))
            return 0;
        if (strcmp(name, "integer") == 0 && json_is_number(v)) {
            char shown[64];
            show(v, shown, sizeof shown);
            return fail(c, p, "expected integer, got %s", shown);
        }
        return fail(c, p, "expected %s%s, got %s", name, nullable ? " or null" : "", type_of(v));
    }
    if (!json_is_array(t) || json_array_size(t) == 0)
        return bad_schema(c, p, "\"type\" must be a string or a non-empty array");
    lo_buf want;
    lo_buf_init(&want, 0);
    size_t i;
    const json_t *e;
    bool ok = false;
    json_array_foreach(t, i, e) {
        if (!json_is_string(e) || !known_type(json_string_value(e))) {
            lo_buf_release(&want);
            return bad_schema(c, p, "unknown type in \"type\"");
        }
        ok = ok || type_matches(json_string_value(e), v);
        lo_buf_printf(&want, "%s%s", i == 0 ? "" : i + 1 == json_array_size(t) ? " or " : ", ",
                      json_string_value(e));
    }
    int rc = ok ? 0 : fail(c, p, "expected %s, got %s", want.data, type_of(v));
    lo_buf_release(&want);
    return rc;
}

static int check_enum_const(vctx *c, const json_t *schema, const json_t *v, const path *p)
{
    char shown[64];
    const json_t *k = json_object_get(schema, "const");
    if (k && !values_equal(k, v)) {
        char want[64];
        show(k, want, sizeof want);
        show(v, shown, sizeof shown);
        return fail(c, p, "expected the constant %s, got %s", want, shown);
    }
    const json_t *en = json_object_get(schema, "enum");
    if (!en)
        return 0;
    if (!json_is_array(en))
        return bad_schema(c, p, "\"enum\" must be an array");
    size_t i;
    const json_t *e;
    json_array_foreach(en, i, e) if (values_equal(e, v)) return 0;
    lo_buf list;
    lo_buf_init(&list, 0);
    json_array_foreach(en, i, e) {
        char one[64];
        show(e, one, sizeof one);
        if (i == 8) {
            lo_buf_puts(&list, ", ...");
            break;
        }
        lo_buf_printf(&list, "%s%s", i ? ", " : "", one);
    }
    show(v, shown, sizeof shown);
    int rc = fail(c, p, "%s is not one of %s", shown, list.data ? list.data : "");
    lo_buf_release(&list);
    return rc;
}

static int check_number(vctx *c, const json_t *schema, const json_t *v, const path *p)
{
    if (!json_is_number(v))
        return 0;
    static const struct {
        const char *kw;
        int bad_cmp; /* num_cmp(v, bound) results that fail */
        bool exclusive;
        const char *what;
    } bounds[] = {
        {"minimum", -1, false, "below the minimum"},
        {"maximum", 1, false, "above the maximum"},
        {"exclusiveMinimum", -1, true, "not above the exclusive minimum"},
        {"exclusiveMaximum", 1, true, "not below the exclusive maximum"},
    };
    for (size_t i = 0; i < sizeof bounds / sizeof *bounds; i++) {
        const json_t *b = json_object_get(schema, bounds[i].kw);
        if (!b)
            continue;
        if (json_is_boolean(b))
            continue; /* draft-4 boolean exclusive* modify minimum/maximum; rare, ignored */
        if (!json_is_number(b))
            return bad_schema(c, p, "a numeric bound is not a number");
        int cmp = num_cmp(v, b);
        if (cmp == bounds[i].bad_cmp || (bounds[i].exclusive && cmp == 0)) {
            char got[64], lim[64];
            show(v, got, sizeof got);
            show(b, lim, sizeof lim);
            return fail(c, p, "%s is %s %s", got, bounds[i].what, lim);
        }
    }
    const json_t *m = json_object_get(schema, "multipleOf");
    if (m) {
        if (!json_is_number(m) || json_number_value(m) <= 0)
            return bad_schema(c, p, "\"multipleOf\" must be a positive number");
        double q = json_number_value(v) / json_number_value(m);
        if (!isfinite(q) || fabs(q - nearbyint(q)) > 1e-9) {
            char got[64], lim[64];
            show(v, got, sizeof got);
            show(m, lim, sizeof lim);
            return fail(c, p, "%s is not a multiple of %s", got, lim);
        }
    }
    return 0;
}

static int check_string(vctx *c, const json_t *schema, const json_t *v, const path *p)
{
    if (!json_is_string(v))
        return 0;
    size_t len = utf8_chars(json_string_value(v), json_string_length(v));
    json_int_t lo = count_kw(schema, "minLength"), hi = count_kw(schema, "maxLength");
    if (lo == -2 || hi == -2)
        return bad_schema(c, p, "minLength/maxLength must be non-negative integers");
    if (lo >= 0 && (json_int_t)len < lo)
        return fail(c, p, "%zu characters, at least %lld required", len, (long long)lo);
    if (hi >= 0 && (json_int_t)len > hi)
        return fail(c, p, "%zu characters, at most %lld allowed", len, (long long)hi);
    const char *pat = json_string_value(json_object_get(schema, "pattern"));
    if (pat) {
        /* POSIX extended syntax covers the patterns tool schemas use
         * (anchors, classes, repetition); one it cannot compile (\d, look-
         * ahead) is skipped rather than failing every value. */
        regex_t re;
        if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) == 0) {
            int m = regexec(&re, json_string_value(v), 0, NULL, 0);
            regfree(&re);
            if (m != 0) {
                char got[64];
                show(v, got, sizeof got);
                return fail(c, p, "%s does not match the pattern %s", got, pat);
            }
        }
    }
    return 0;
}

static int check_array(vctx *c, const json_t *schema, const json_t *v, const path *p, int depth)
{
    if (!json_is_array(v))
        return 0;
    size_t n = json_array_size(v);
    json_int_t lo = count_kw(schema, "minItems"), hi = count_kw(schema, "maxItems");
    if (lo == -2 || hi == -2)
        return bad_schema(c, p, "minItems/maxItems must be non-negative integers");
    if (lo >= 0 && (json_int_t)n < lo)
        return fail(c, p, "%zu items, at least %lld required", n, (long long)lo);
    if (hi >= 0 && (json_int_t)n > hi)
        return fail(c, p, "%zu items, at most %lld allowed", n, (long long)hi);
    if (json_is_true(json_object_get(schema, "uniqueItems")))
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (values_equal(json_array_get(v, i), json_array_get(v, j)))
                    return fail(c, p, "items %zu and %zu are equal; items must be unique", i, j);
    /* prefixItems (2020-12) or an items array (draft 7) fix the first
     * positions; items (a schema) covers the rest. */
    const json_t *prefix = json_object_get(schema, "prefixItems");
    const json_t *items = json_object_get(schema, "items");
    if (json_is_array(items) && !prefix) {
        prefix = items;
        items = json_object_get(schema, "additionalItems");
    }
    size_t np = json_is_array(prefix) ? json_array_size(prefix) : 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *s = i < np ? json_array_get(prefix, i) : items;
        if (!s)
            continue;
        path here = {.up = p, .key = NULL, .index = i};
        int rc = validate(c, s, json_array_get(v, i), &here, depth + 1);
        if (rc)
            return rc;
    }
    return 0;
}

static int check_object(vctx *c, const json_t *schema, const json_t *v, const path *p, int depth)
{
    if (!json_is_object(v))
        return 0;
    const json_t *req = json_object_get(schema, "required");
    if (req && !json_is_array(req))
        return bad_schema(c, p, "\"required\" must be an array");
    size_t i;
    const json_t *e;
    json_array_foreach(req, i, e) {
        if (!json_is_string(e))
            return bad_schema(c, p, "\"required\" must list property names");
        if (!json_object_get(v, json_string_value(e))) {
            path here = {.up = p, .key = json_string_value(e)};
            return fail(c, &here, "required property is missing");
        }
    }
    size_t n = json_object_size(v);
    json_int_t lo = count_kw(schema, "minProperties"), hi = count_kw(schema, "maxProperties");
    if (lo == -2 || hi == -2)
        return bad_schema(c, p, "minProperties/maxProperties must be non-negative integers");
    if (lo >= 0 && (json_int_t)n < lo)
        return fail(c, p, "%zu properties, at least %lld required", n, (long long)lo);
    if (hi >= 0 && (json_int_t)n > hi)
        return fail(c, p, "%zu properties, at most %lld allowed", n, (long long)hi);
    const json_t *props = json_object_get(schema, "properties");
    if (props && !json_is_object(props))
        return bad_schema(c, p, "\"properties\" must be an object");
    const json_t *extra = json_object_get(schema, "additionalProperties");
    const char *k;
    const json_t *pv;
    json_object_foreach((json_t *)v, k, pv) {
        path here = {.up = p, .key = k};
        const json_t *s = json_object_get(props, k);
        if (!s && json_is_false(extra))
            return fail(c, &here, "property not allowed (additionalProperties is false)");
        if (!s && json_is_object(extra))
            s = extra;
        if (!s)
            continue;
        int rc = validate(c, s, pv, &here, depth + 1);
        if (rc)
            return rc;
    }
    return 0;
}

/* anyOf / oneOf / allOf / not: the failure of a branch is kept only for
 * allOf (the value must pass every one, so the first failure is the
 * reason); for the others the message says how many matched. */
static int check_combinators(vctx *c, const json_t *schema, const json_t *v, const path *p,
                             int depth)
{
    static const char *const kws[] = {"allOf", "anyOf", "oneOf"};
    for (size_t k = 0; k < 3; k++) {
        const json_t *list = json_object_get(schema, kws[k]);
        if (!list)
            continue;
        if (!json_is_array(list) || json_array_size(list) == 0)
            return bad_schema(c, p, "allOf/anyOf/oneOf must be non-empty arrays");
        size_t i, matched = 0;
        const json_t *s;
        char first_why[512] = "";
        json_array_foreach(list, i, s) {
            char branch_why[512] = "";
            vctx sub = {.root = c->root, .why = branch_why, .n = sizeof branch_why};
            int rc = validate(&sub, s, v, p, depth + 1);
            if (rc == 0) {
                matched++;
                continue;
            }
            if (sub.schema_error || k == 0) {
                if (c->why && c->n)
                    snprintf(c->why, c->n, "%s", branch_why);
                c->schema_error = sub.schema_error;
                return rc;
            }
            if (!first_why[0])
                snprintf(first_why, sizeof first_why, "%s", branch_why);
        }
        if (k == 1 && matched == 0)
            return fail(c, p, "matches none of the anyOf alternatives (first: %s)", first_why);
        if (k == 2 && matched != 1) {
            if (matched == 0)
                return fail(c, p, "matches none of the oneOf alternatives (first: %s)",
                            first_why);
            return fail(c, p, "matches %zu of the oneOf alternatives, exactly one allowed",
                        matched);
        }
    }
    const json_t *not = json_object_get(schema, "not");
    if (not) {
        vctx sub = {.root = c->root};
        int rc = validate(&sub, not, v, p, depth + 1);
        if (sub.schema_error)
            return bad_schema(c, p, "invalid \"not\" schema");
        if (rc == 0)
            return fail(c, p, "matches the schema under \"not\"");
    }
    return 0;
}

/* "$ref": "#/$defs/x" (a JSON pointer into the root schema); other
 * references (other documents, anchors) are not resolved. */
static const json_t *resolve_ref(const json_t *root, const char *ref)
{
    if (strcmp(ref, "#") == 0)
        return root;
    if (strncmp(ref, "#/", 2) != 0)
        return NULL;
    const json_t *cur = root;
    const char *s = ref + 2;
    char tok[256];
    while (cur && *s) {
        size_t n = 0;
        for (; *s && *s != '/' && n + 1 < sizeof tok; s++) {
            if (s[0] == '~' && s[1] == '1') {
                tok[n++] = '/';
                s++;
            } else if (s[0] == '~' && s[1] == '0') {
                tok[n++] = '~';
                s++;
            } else {
                tok[n++] = *s;
            }
        }
        tok[n] = 0;
        if (*s == '/')
            s++;
        if (json_is_array(cur)) {
            int64_t idx;
            cur = lo_parse_int64(tok, &idx) == 0 && idx >= 0 ? json_array_get(cur, (size_t)idx)
                                                            : NULL;
        } else {
            cur = json_object_get(cur, tok);
        }
    }
    return cur;
}

static int validate(vctx *c, const json_t *schema, const json_t *v, const path *p, int depth)
{
    if (depth > MAX_DEPTH)
        return bad_schema(c, p, "nested too deeply (a recursive $ref?)");
    if (json_is_true(schema))
        return 0;
    if (json_is_false(schema))
        return fail(c, p, "no value is allowed here (the schema is false)");
    if (!json_is_object(schema))
        return bad_schema(c, p, "a schema must be an object or a boolean");
    const char *ref = json_string_value(json_object_get(schema, "$ref"));
    if (ref) {
        const json_t *target = resolve_ref(c->root, ref);
        if (!target)
            return bad_schema(c, p, "unresolvable $ref");
        int rc = validate(c, target, v, p, depth + 1);
        if (rc)
            return rc;
    }
    int rc;
    if ((rc = check_type(c, schema, v, p)) || (rc = check_enum_const(c, schema, v, p)) ||
        (rc = check_number(c, schema, v, p)) || (rc = check_string(c, schema, v, p)) ||
        (rc = check_array(c, schema, v, p, depth)) || (rc = check_object(c, schema, v, p, depth)) ||
        (rc = check_combinators(c, schema, v, p, depth)))
        return rc;
    return 0;
}

int lo_json_schema_validate(const json_t *schema, const json_t *value, char *why, size_t n)
{
    if (why && n)
        why[0] = 0;
    vctx c = {.root = schema, .why = why, .n = n};
    if (!schema || !value) {
        if (why && n)
            snprintf(why, n, "$: %s", schema ? "no value" : "no schema");
        return schema ? LO_EINVAL : LO_EPARSE;
    }
    int rc = validate(&c, schema, value, NULL, 0);
    if (rc == 0)
        return 0;
    return c.schema_error ? LO_EPARSE : LO_EINVAL;
}
