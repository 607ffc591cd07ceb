/* The model catalog (unified-llm-spec §2.9): data/models.json loaded,
 * validated strictly, indexed by id and alias, and priced. The format and
 * the cost rules are in docs/models.md. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lightsout/llm.h"

struct lo_llm_catalog {
    char *path;
    json_t *root;           /* the file; models borrow their entries from it */
    lo_arena *arena;        /* strings, alias arrays, price periods */
    lo_llm_model *models;
    size_t n_models;
    lo_map *index;          /* id and every alias -> lo_llm_model * */
};

/* A catalog is a few hundred lines; anything this big is not one. */
#define CATALOG_MAX_BYTES (16u << 20)

/* ---- finding the file ---- */

static bool readable(const char *p)
{
    return access(p, R_OK) == 0;
}

int lo_llm_catalog_find(char *buf, size_t n, lo_error *err)
{
    const char *env = getenv("LIGHTSOUT_MODELS");
    if (env && *env) {
        /* An explicit choice is honoured or reported, never replaced by
         * another file that happens to exist. */
        if (!readable(env))
            return lo_error_set(err, LO_ENOENT, "%s (from LIGHTSOUT_MODELS): %s", env,
                                strerror(errno));
        snprintf(buf, n, "%s", env);
        return 0;
    }
    char exe[PATH_MAX], tried[PATH_MAX + 64] = "";
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(tried, sizeof tried, "%s/../data/models.json", exe);
            char real[PATH_MAX];
            if (readable(tried)) {
                /* "/x/bin/../data/models.json" reads better as "/x/data/models.json". */
                snprintf(buf, n, "%s", realpath(tried, real) ? real : tried);
                return 0;
            }
        }
    }
    if (readable("data/models.json")) {
        snprintf(buf, n, "data/models.json");
        return 0;
    }
    return lo_error_set(err, LO_ENOENT,
                        "no model catalog: LIGHTSOUT_MODELS is not set, and neither %s nor "
                        "data/models.json (under the current directory) exists",
                        tried[0] ? tried : "<binary dir>/../data/models.json");
}

/* ---- validation helpers ---- */

typedef struct ctx {
    const char *file;
    size_t index;       /* entry index; SIZE_MAX for the top level */
    const char *id;     /* the entry's id once known */
    lo_error *err;
} ctx;

__attribute__((format(printf, 2, 3)))
static int bad(const ctx *c, const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int rc;
    if (c->index == SIZE_MAX)
        rc = lo_error_set(c->err, LO_EVALIDATE, "%s: %s", c->file, what);
    else if (c->id)
        rc = lo_error_set(c->err, LO_EVALIDATE, "%s: models[%zu] (\"%s\"): %s", c->file,
                          c->index, c->id, what);
    else
        rc = lo_error_set(c->err, LO_EVALIDATE, "%s: models[%zu]: %s", c->file, c->index,
                          what);
    if (c->err)
        snprintf(c->err->file, sizeof c->err->file, "%s", c->file);
    return rc;
}

/* Reject keys outside allowed: a misspelt "cache_reads" must not silently
 * leave a price unset. */
static int only_keys(const ctx *c, const json_t *obj, const char *where,
                     const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok)
            return bad(c, "%s: unknown key \"%s\"", where, key);
    }
    return 0;
}

static bool valid_date(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    int month = (s[5] - '0') * 10 + (s[6] - '0'), day = (s[8] - '0') * 10 + (s[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

static int get_string(const ctx *c, lo_arena *a, const json_t *o, const char *key,
                      bool required, const char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return bad(c, "missing \"%s\"", key);
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return bad(c, "\"%s\" must be a non-empty string", key);
    if (!(*out = lo_arena_strdup(a, json_string_value(v))))
        return lo_error_set(c->err, LO_ENOMEM, "out of memory");
    return 0;
}

static int get_bool(const ctx *c, const json_t *o, const char *key, bool *out)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return bad(c, "missing \"%s\"", key);
    if (!json_is_boolean(v))
        return bad(c, "\"%s\" must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

/* A positive integer; null allowed (-1) unless required. */
static int get_count(const ctx *c, const json_t *o, const char *key, bool required,
                     int64_t *out)
{
    json_t *v = json_object_get(o, key);
    *out = -1;
    if (!v || json_is_null(v)) {
        if (required)
            return bad(c, "missing \"%s\"", key);
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return bad(c, "\"%s\" must be a positive integer%s", key, required ? "" : " or null");
    *out = json_integer_value(v);
    return 0;
}

/* One price: present, and a number >= 0 or null (unknown: -1). */
static int get_price(const ctx *c, const json_t *o, const char *where, const char *key,
                     double *out)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return bad(c, "%s: missing \"%s\" (write null when the price is not known)", where,
                   key);
    if (json_is_null(v)) {
        *out = -1;
        return 0;
    }
    if (!json_is_number(v) || json_number_value(v) < 0)
        return bad(c, "%s.%s must be a number >= 0 (USD per million tokens) or null", where,
                   key);
    *out = json_number_value(v);
    return 0;
}

static int get_prices(const ctx *c, const json_t *o, const char *where, lo_llm_prices *p)
{
    int rc;
    if ((rc = get_price(c, o, where, "input", &p->input)) ||
        (rc = get_price(c, o, where, "output", &p->output)) ||
        (rc = get_price(c, o, where, "cache_read", &p->cache_read)) ||
        (rc = get_price(c, o, where, "cache_write", &p->cache_write)))
        return rc;
    return 0;
}

/* A price set: the four prices and an optional long-context tier; "from"
 * is checked by the caller. */
static int get_period(const ctx *c, const json_t *o, const char *where,
                      lo_llm_price_period *pp, bool dated)
{
    static const char *const keys[] = {"input", "output", "cache_read", "cache_write",
                                       "long_context", NULL};
    static const char *const dated_keys[] = {"from", "input", "output", "cache_read",
                                             "cache_write", "long_context", NULL};
    static const char *const long_keys[] = {"above_prompt_tokens", "input", "output",
                                            "cache_read", "cache_write", NULL};
    if (!json_is_object(o))
        return bad(c, "%s must be an object", where);
    int rc = only_keys(c, o, where, dated ? dated_keys : keys);
    if (rc || (rc = get_prices(c, o, where, &pp->base)))
        return rc;
    json_t *lc = json_object_get(o, "long_context");
    if (lc && !json_is_null(lc)) {
        char w[96];
        snprintf(w, sizeof w, "%s.long_context", where);
        if (!json_is_object(lc))
            return bad(c, "%s must be an object", w);
        if ((rc = only_keys(c, lc, w, long_keys)))
            return rc;
        json_t *t = json_object_get(lc, "above_prompt_tokens");
        if (!json_is_integer(t) || json_integer_value(t) <= 0)
            return bad(c, "%s.above_prompt_tokens must be a positive integer", w);
        pp->long_above = json_integer_value(t);
        if ((rc = get_prices(c, lc, w, &pp->long_ctx)))
            return rc;
    }
    return 0;
}

static int oom(const ctx *c)
{
    return lo_error_set(c->err, LO_ENOMEM, "out of memory");
}

/* Index key -> m; a second model claiming the same name is an error that
 * names both. */
static int index_name(const ctx *c, lo_map *idx, const char *key, lo_llm_model *m,
                      const char *what)
{
    lo_llm_model *prev = lo_map_get(idx, key);
    if (prev)
        return bad(c, "%s \"%s\" is already used by \"%s\"", what, key, prev->id);
    return lo_map_put(idx, key, m) ? oom(c) : 0;
}

static int parse_model(ctx *c, lo_llm_catalog *cat, const json_t *e, lo_llm_model *m)
{
    static const char *const keys[] = {
        "id", "provider", "display_name", "aliases", "context_window", "max_output",
        "supports_tools", "supports_vision", "supports_reasoning", "status", "released",
        "prices", "price_changes", "notes", NULL};
    lo_arena *a = cat->arena;
    int rc;
    memset(m, 0, sizeof *m);
    m->json = e;
    if (!json_is_object(e))
        return bad(c, "an entry must be an object");
    if ((rc = get_string(c, a, e, "id", true, &m->id)))
        return rc;
    c->id = m->id;
    if ((rc = only_keys(c, e, "entry", keys)) ||
        (rc = get_string(c, a, e, "provider", true, &m->provider)) ||
        (rc = get_string(c, a, e, "display_name", true, &m->display_name)) ||
        (rc = get_string(c, a, e, "status", false, &m->status)) ||
        (rc = get_string(c, a, e, "released", false, &m->released)) ||
        (rc = get_string(c, a, e, "notes", false, &m->notes)) ||
        (rc = get_count(c, e, "context_window", true, &m->context_window)) ||
        (rc = get_count(c, e, "max_output", false, &m->max_output)) ||
        (rc = get_bool(c, e, "supports_tools", &m->supports_tools)) ||
        (rc = get_bool(c, e, "supports_vision", &m->supports_vision)) ||
        (rc = get_bool(c, e, "supports_reasoning", &m->supports_reasoning)))
        return rc;
    if (m->released && !valid_date(m->released))
        return bad(c, "\"released\" must be a date YYYY-MM-DD");

    json_t *al = json_object_get(e, "aliases");
    if (al && !json_is_null(al)) {
        if (!json_is_array(al))
            return bad(c, "\"aliases\" must be an array of strings");
        size_t n = json_array_size(al);
        const char **v = lo_arena_alloc(a, (n ? n : 1) * sizeof *v);
        if (!v)
            return oom(c);
        for (size_t i = 0; i < n; i++) {
            json_t *s = json_array_get(al, i);
            if (!json_is_string(s) || json_string_length(s) == 0)
                return bad(c, "aliases[%zu] must be a non-empty string", i);
            if (!(v[i] = lo_arena_strdup(a, json_string_value(s))))
                return oom(c);
        }
        m->aliases = v;
        m->n_aliases = n;
    }

    json_t *pc = json_object_get(e, "price_changes");
    size_t n_changes = 0;
    if (pc && !json_is_null(pc)) {
        if (!json_is_array(pc))
            return bad(c, "\"price_changes\" must be an array");
        n_changes = json_array_size(pc);
    }
    lo_llm_price_period *pp = lo_arena_alloc(a, (1 + n_changes) * sizeof *pp);
    if (!pp)
        return oom(c);
    json_t *prices = json_object_get(e, "prices");
    if (!prices)
        return bad(c, "missing \"prices\"");
    if ((rc = get_period(c, prices, "prices", &pp[0], false)))
        return rc;
    for (size_t i = 0; i < n_changes; i++) {
        char where[48];
        snprintf(where, sizeof where, "price_changes[%zu]", i);
        json_t *ch = json_array_get(pc, i);
        if ((rc = get_period(c, ch, where, &pp[1 + i], true)))
            return rc;
        const char *from = json_string_value(json_object_get(ch, "from"));
        if (!valid_date(from))
            return bad(c, "%s.from must be a date YYYY-MM-DD", where);
        /* Periods are looked up by date, so they must be in date order. */
        if (i > 0 && strcmp(from, pp[i].from) <= 0)
            return bad(c, "%s.from must be later than the change before it", where);
        memcpy(pp[1 + i].from, from, 11);
    }
    m->prices = pp;
    m->n_prices = 1 + n_changes;

    if ((rc = index_name(c, cat->index, m->id, m, "id")))
        return rc;
    for (size_t i = 0; i < m->n_aliases; i++)
        if ((rc = index_name(c, cat->index, m->aliases[i], m, "alias")))
            return rc;
    return 0;
}

int lo_llm_catalog_parse(const char *text, size_t len, const char *name,
                         lo_llm_catalog **out, lo_error *err)
{
    static const char *const top_keys[] = {"updated", "sources", "notes", "models", NULL};
    *out = NULL;
    if (!name)
        name = "(catalog)";
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return lo_error_at(err, LO_EPARSE, name, (uint32_t)je.line, (uint32_t)je.column,
                           "%s:%d:%d: not valid JSON: %s", name, je.line, je.column, je.text);
    lo_llm_catalog *cat = lo_calloc(1, sizeof *cat);
    ctx c = {.file = name, .index = SIZE_MAX, .err = err};
    int rc = 0;
    if (!cat) {
        json_decref(root);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    cat->root = root;
    if (!(cat->path = lo_strdup(name)) || !(cat->arena = lo_arena_new(16384))) {
        rc = oom(&c);
        goto fail;
    }
    if (!json_is_object(root)) {
        rc = bad(&c, "the top level must be an object with a \"models\" array");
        goto fail;
    }
    if ((rc = only_keys(&c, root, "top level", top_keys)))
        goto fail;
    json_t *upd = json_object_get(root, "updated");
    if (upd && !valid_date(json_string_value(upd))) {
        rc = bad(&c, "\"updated\" must be a date YYYY-MM-DD");
        goto fail;
    }
    json_t *models = json_object_get(root, "models");
    if (!json_is_array(models)) {
        rc = bad(&c, "missing \"models\" array");
        goto fail;
    }
    size_t n = json_array_size(models);
    cat->models = lo_calloc(n ? n : 1, sizeof *cat->models);
    cat->index = lo_map_new(n * 4 + 8);
    if (!cat->models || !cat->index) {
        rc = oom(&c);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        c.index = i;
        c.id = NULL;
        if ((rc = parse_model(&c, cat, json_array_get(models, i), &cat->models[i])))
            goto fail;
        cat->n_models++;
    }
    *out = cat;
    return 0;
fail:
    lo_llm_catalog_free(cat);
    return rc;
}

int lo_llm_catalog_load(const char *path, lo_llm_catalog **out, lo_error *err)
{
    char found[PATH_MAX];
    *out = NULL;
    if (!path) {
        int rc = lo_llm_catalog_find(found, sizeof found, err);
        if (rc)
            return rc;
        path = found;
    }
    char *data = NULL;
    size_t len = 0;
    int rc = lo_file_read(path, CATALOG_MAX_BYTES, &data, &len, err);
    if (rc) {
        /* lo_file_read's message may not name the file; make sure it does. */
        if (err && !strstr(err->msg, path)) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            lo_error_set(err, rc, "%s: %s", path, msg);
        }
        return rc;
    }
    rc = lo_llm_catalog_parse(data, len, path, out, err);
    free(data);
    return rc;
}

void lo_llm_catalog_free(lo_llm_catalog *c)
{
    if (!c)
        return;
    lo_map_free(c->index);
    free(c->models);
    lo_arena_free(c->arena);
    json_decref(c->root);
    free(c->path);
    free(c);
}

/* ---- queries ---- */

const char *lo_llm_catalog_path(const lo_llm_catalog *c)
{
    return c ? c->path : NULL;
}

const char *lo_llm_catalog_updated(const lo_llm_catalog *c)
{
    return c ? json_string_value(json_object_get(c->root, "updated")) : NULL;
}

size_t lo_llm_catalog_count(const lo_llm_catalog *c)
{
    return c ? c->n_models : 0;
}

const lo_llm_model *lo_llm_catalog_at(const lo_llm_catalog *c, size_t i)
{
    return c && i < c->n_models ? &c->models[i] : NULL;
}

const lo_llm_model *lo_llm_model_find(const lo_llm_catalog *c, const char *id_or_alias)
{
    if (!c || !id_or_alias)
        return NULL;
    return lo_map_get(c->index, id_or_alias);
}

const lo_llm_model **lo_llm_model_list(const lo_llm_catalog *c, const char *provider,
                                       size_t *n)
{
    *n = 0;
    size_t count = 0;
    for (size_t i = 0; c && i < c->n_models; i++)
        count += !provider || strcmp(c->models[i].provider, provider) == 0;
    if (!count)
        return NULL;
    const lo_llm_model **v = lo_malloc(count * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < c->n_models; i++)
        if (!provider || strcmp(c->models[i].provider, provider) == 0)
            v[(*n)++] = &c->models[i];
    return v;
}

const lo_llm_model *lo_llm_model_latest(const lo_llm_catalog *c, const char *provider,
                                        const char *capability)
{
    if (capability && strcmp(capability, "tools") != 0 && strcmp(capability, "vision") != 0 &&
        strcmp(capability, "reasoning") != 0)
        return NULL;
    for (size_t i = 0; c && i < c->n_models; i++) {
        const lo_llm_model *m = &c->models[i];
        if (provider && strcmp(m->provider, provider) != 0)
            continue;
        if (capability && ((capability[0] == 't' && !m->supports_tools) ||
                           (capability[0] == 'v' && !m->supports_vision) ||
                           (capability[0] == 'r' && !m->supports_reasoning)))
            continue;
        return m;
    }
    return NULL;
}

/* ---- prices and cost ---- */

const lo_llm_price_period *lo_llm_model_prices_at(const lo_llm_model *m, time_t when)
{
    if (!m || !m->n_prices)
        return NULL;
    /* Price changes take effect on a calendar day; providers state them in
     * UTC dates, and comparing "YYYY-MM-DD" strings orders them. */
    struct tm tm;
    char today[16] = "";
    if (gmtime_r(&when, &tm))
        strftime(today, sizeof today, "%Y-%m-%d", &tm);
    const lo_llm_price_period *p = &m->prices[0];
    for (size_t i = 1; i < m->n_prices; i++)
        if (strcmp(m->prices[i].from, today) <= 0)
            p = &m->prices[i];
    return p;
}

/* count tokens at price (USD per million) into *acc. A class with tokens
 * and no known price makes the whole cost unknown; a class with no tokens
 * needs no price. */
static int add_term(int64_t count, double price, double *acc)
{
    if (count <= 0)
        return 0;
    if (price < 0)
        return LO_ENOENT;
    *acc += (double)count * price;
    return 0;
}

int lo_llm_cost_at(const lo_llm_model *m, const lo_llm_usage *u, time_t when, double *usd)
{
    if (!m || !u || u->input_tokens < 0 || u->output_tokens < 0)
        return LO_ENOENT;
    const lo_llm_price_period *pp = lo_llm_model_prices_at(m, when);
    if (!pp)
        return LO_ENOENT;
    int64_t cr = u->cache_read_tokens > 0 ? u->cache_read_tokens : 0;
    int64_t cw = u->cache_write_tokens > 0 ? u->cache_write_tokens : 0;
    int64_t prompt = u->input_tokens + cr + cw;
    const lo_llm_prices *p =
        pp->long_above > 0 && prompt > pp->long_above ? &pp->long_ctx : &pp->base;
    double acc = 0;
    if (add_term(u->input_tokens, p->input, &acc) || add_term(u->output_tokens, p->output, &acc) ||
        add_term(cr, p->cache_read, &acc) || add_term(cw, p->cache_write, &acc))
        return LO_ENOENT;
    *usd = acc / 1e6;
    return 0;
}

int lo_llm_cost(const lo_llm_model *m, const lo_llm_usage *u, double *usd)
{
    return lo_llm_cost_at(m, u, time(NULL), usd);
}
