/* lightsout models: the model catalog (data/models.json) as a table or JSON. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "lightsout/llm.h"

static const cli_flag flags[] = {
    {"json", 0, NULL, "print the catalog entries as a JSON array"},
    {"provider", 'p', "PROVIDER", "only the models of PROVIDER (anthropic, openai, gemini)"},
    {0},
};

typedef struct opts {
    bool json;
    const char *provider;
} opts;

static int on_flag(int idx, const char *arg, void *ud)
{
    opts *o = ud;
    if (idx == 0)
        o->json = true;
    if (idx == 1)
        o->provider = arg; /* checked against the catalog once it is loaded */
    return 0;
}

/* 1000000 -> "1M", 1048576 -> "1.05M", 128000 -> "128K", 65536 -> "65.5K". */
static void fmt_tokens(int64_t n, char *buf, size_t len)
{
    if (n < 0) {
        snprintf(buf, len, "-");
        return;
    }
    double v = (double)n;
    const char *unit = "";
    if (n >= 1000000) {
        v /= 1e6;
        unit = "M";
    } else if (n >= 1000) {
        v /= 1e3;
        unit = "K";
    }
    snprintf(buf, len, "%.3g%s", v, unit);
}

/* Up to three decimals without trailing zeros; "-" for an unknown price. */
static void fmt_price(double p, char *buf, size_t len)
{
    if (p < 0) {
        snprintf(buf, len, "-");
        return;
    }
    snprintf(buf, len, "%.3f", p);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *end = buf + strlen(buf) - 1;
        while (end > dot && *end == '0')
            *end-- = '\0';
        if (end == dot)
            *end = '\0';
    }
}

static void print_table(const lo_llm_model *const *v, size_t n, const lo_llm_catalog *cat)
{
    time_t now = time(NULL);
    size_t idw = 2;
    for (size_t i = 0; i < n; i++)
        if (strlen(v[i]->id) + 1 > idw)
            idw = strlen(v[i]->id) + 1;
    printf("%-*s %-9s %7s %7s %7s %7s %7s %7s  %-10s %s\n", (int)idw + 2, "ID", "PROVIDER",
           "CONTEXT", "MAX OUT", "$/M IN", "OUT", "CACHE R", "CACHE W", "STATUS", "ALIASES");
    bool any_long = false, any_change = false;
    for (size_t i = 0; i < n; i++) {
        const lo_llm_model *m = v[i];
        const lo_llm_price_period *pp = lo_llm_model_prices_at(m, now);
        bool long_tier = pp && pp->long_above > 0;
        bool change = pp != &m->prices[m->n_prices - 1]; /* a later period exists */
        any_long |= long_tier;
        any_change |= change;
        char id[160], ctx[16], out[16], in[16], o[16], cr[16], cw[16], aliases[256] = "";
        snprintf(id, sizeof id, "%s%s%s", m->id, long_tier ? "*" : "", change ? "+" : "");
        fmt_tokens(m->context_window, ctx, sizeof ctx);
        fmt_tokens(m->max_output, out, sizeof out);
        fmt_price(pp ? pp->base.input : -1, in, sizeof in);
        fmt_price(pp ? pp->base.output : -1, o, sizeof o);
        fmt_price(pp ? pp->base.cache_read : -1, cr, sizeof cr);
        fmt_price(pp ? pp->base.cache_write : -1, cw, sizeof cw);
        for (size_t a = 0; a < m->n_aliases; a++) {
            size_t used = strlen(aliases);
            snprintf(aliases + used, sizeof aliases - used, "%s%s", a ? ", " : "", m->aliases[a]);
        }
        char line[1024];
        snprintf(line, sizeof line, "%-*s %-9s %7s %7s %7s %7s %7s %7s  %-10s %s", (int)idw + 2,
                 id, m->provider, ctx, out, in, o, cr, cw, m->status ? m->status : "", aliases);
        size_t end = strlen(line);
        while (end > 0 && line[end - 1] == ' ') /* no trailing blanks when columns are empty */
            line[--end] = '\0';
        printf("%s\n", line);
    }
    const char *upd = lo_llm_catalog_updated(cat);
    printf("\nPrices: USD per million tokens at today's rates; '-' = not known (cost reported as "
           "unknown).\n");
    if (any_long)
        printf("* a long-context tier applies above a prompt size: see --json.\n");
    if (any_change)
        printf("+ a scheduled price change follows: see --json.\n");
    printf("Catalog: %s%s%s%s\n", lo_llm_catalog_path(cat), upd ? " (updated " : "",
           upd ? upd : "", upd ? ")" : "");
}

static int run(int argc, char **argv)
{
    opts o = {0};
    int nops, code;
    if (cli_parse(&cmd_models, argc, argv, on_flag, &o, &nops, &code))
        return code;
    if (nops != 0) {
        cli_error("models", "takes no arguments (usage: lightsout models %s)", cmd_models.usage);
        return EXIT_USAGE;
    }
    lo_error err = {0};
    lo_llm_catalog *cat = NULL;
    if (lo_llm_catalog_load(NULL, &cat, &err) != 0) {
        cli_error("models", "%s", err.msg);
        return EXIT_USAGE;
    }
    size_t n = 0;
    const lo_llm_model **v = lo_llm_model_list(cat, o.provider, &n);
    if (o.provider && n == 0) {
        /* Name the providers the catalog does know, so a typo is obvious. */
        char known[256] = "";
        for (size_t i = 0; i < lo_llm_catalog_count(cat); i++) {
            const char *p = lo_llm_catalog_at(cat, i)->provider;
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = strcmp(lo_llm_catalog_at(cat, j)->provider, p) == 0;
            size_t used = strlen(known);
            if (!seen)
                snprintf(known + used, sizeof known - used, "%s%s", used ? ", " : "", p);
        }
        cli_error("models", "no models for provider '%s' (known: %s)", o.provider, known);
        lo_llm_catalog_free(cat);
        return EXIT_USAGE;
    }
    if (o.json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
            json_array_append(arr, (json_t *)v[i]->json);
        json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        fputc('\n', stdout);
        json_decref(arr);
    } else {
        print_table(v, n, cat);
    }
    free(v);
    lo_llm_catalog_free(cat);
    return EXIT_OK;
}

const cli_command cmd_models = {
    .name = "models",
    .usage = "[--json] [--provider PROVIDER]",
    .summary = "the model catalog: ids, context windows, prices per million tokens",
    .details = "Reads the catalog from $LIGHTSOUT_MODELS, else <binary dir>/../data/models.json,\n"
               "else data/models.json under the current directory. Within a provider the\n"
               "recommended default comes first. See docs/models.md for the format and how\n"
               "costs are computed.",
    .flags = flags,
    .run = run,
};
