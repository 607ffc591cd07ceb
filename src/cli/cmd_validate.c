/* lightsout validate: lint pipelines, print compiler-style diagnostics. */
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lightsout/lint.h"
#include "lightsout/transform.h"

static const cli_flag flags[] = {
    {"json", 0, NULL, "print the diagnostics as one JSON array on stdout"},
    {"quiet", 'q', NULL, "print errors only (warnings still counted)"},
    {"no-source", 0, NULL, "do not show the source line and caret"},
    {0},
};

typedef struct opts {
    bool json, quiet, no_source;
} opts;

static int on_flag(int idx, const char *arg, void *ud)
{
    opts *o = ud;
    if (idx == 0) o->json = true;
    if (idx == 1) o->quiet = true;
    if (idx == 2) o->no_source = true;
    return 0;
}

static json_t *diag_json(const lo_diag *d)
{
    json_t *edge = d->edge_from ? json_pack("{s:s, s:s}", "from", d->edge_from, "to",
                                            d->edge_to ? d->edge_to : "")
                                : json_null();
    return json_pack("{s:s, s:i, s:i, s:s, s:s, s:o, s:o, s:s, s:o}",
                     "file", d->file ? d->file : "", "line", (json_int_t)d->line,
                     "column", (json_int_t)d->col, "severity", lo_severity_name(d->severity),
                     "rule", d->rule, "node", d->node_id ? json_string(d->node_id) : json_null(),
                     "edge", edge, "message", d->message,
                     "fix", d->fix ? json_string(d->fix) : json_null());
}

/* An error that stops a file from being linted at all (syntax, I/O). */
static json_t *error_json(const char *path, const lo_error *err, const char *rule)
{
    return json_pack("{s:s, s:i, s:i, s:s, s:s, s:n, s:n, s:s, s:n}", "file", path,
                     "line", (json_int_t)err->line, "column", (json_int_t)err->col,
                     "severity", "error", "rule", rule, "node", "edge", "message", err->msg,
                     "fix");
}

static int run(int argc, char **argv)
{
    opts o = {0};
    int nops, code;
    if (cli_parse(&cmd_validate, argc, argv, on_flag, &o, &nops, &code))
        return code;
    if (nops == 0) {
        cli_error("validate", "no pipeline given (usage: lightsout validate FILE.dot...)");
        return EXIT_USAGE;
    }
    bool caret = !o.no_source;
    json_t *all = o.json ? json_array() : NULL;
    lo_transforms *t = lo_transforms_new();
    if (!t || (o.json && !all)) {
        cli_error("validate", "out of memory");
        return EXIT_FAIL;
    }
    size_t errors = 0, warnings = 0, unreadable = 0;
    lo_buf out;
    lo_buf_init(&out, 0);
    for (int i = 1; i <= nops; i++) {
        const char *path = argv[i];
        lo_error err;
        lo_error_clear(&err);
        lo_diags *d = lo_diags_new();
        lo_graph *g = d ? lo_pipeline_prepare(path, t, d, &err) : NULL;
        if (!d)
            lo_error_set(&err, LO_ENOMEM, "out of memory");
        if (!g) {
            bool syntax = err.code == LO_EPARSE;
            if (syntax)
                errors++;
            else
                unreadable++;
            if (o.json) {
                json_array_append_new(all, error_json(path, &err, syntax ? "syntax" : "file"));
            } else {
                lo_buf_clear(&out);
                if (syntax)
                    lo_error_format_rule(&err, "syntax", caret, &out);
                else
                    lo_buf_printf(&out, "lightsout validate: %s\n", err.msg);
                fputs(out.data, stderr);
            }
            lo_diags_free(d);
            continue;
        }
        errors += lo_diags_count(d, LO_SEV_ERROR);
        warnings += lo_diags_count(d, LO_SEV_WARNING);
        for (size_t k = 0; k < d->n; k++) {
            const lo_diag *x = &d->v[k];
            if (o.json) {
                json_array_append_new(all, diag_json(x));
                continue;
            }
            if (o.quiet && x->severity != LO_SEV_ERROR)
                continue;
            lo_buf_clear(&out);
            lo_diag_format(x, g, caret, &out);
            fputs(out.data, stderr);
        }
        lo_graph_free(g);
        lo_diags_free(d);
    }
    lo_buf_release(&out);
    lo_transforms_free(t);
    if (o.json) {
        json_dumpf(all, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(all);
    } else {
        int files = nops - (int)unreadable;
        fprintf(stderr, "%d file%s checked: %zu error%s, %zu warning%s%s\n", files,
                files == 1 ? "" : "s", errors, errors == 1 ? "" : "s", warnings,
                warnings == 1 ? "" : "s",
                unreadable ? " (some files could not be read)" : "");
    }
    if (unreadable)
        return EXIT_USAGE;
    return errors ? EXIT_FAIL : EXIT_OK;
}

const cli_command cmd_validate = {
    .name = "validate",
    .usage = "[--json] [-q] [--no-source] FILE.dot...",
    .summary = "check pipelines: syntax and every lint rule, compiler-style",
    .details =
        "Each diagnostic is printed as 'file:line:col: error|warning: [rule] message'\n"
        "with the source line and a caret, then one summary line. Exit 0 when there\n"
        "are no errors (warnings allowed), 1 on errors, 2 on usage errors or a file\n"
        "that cannot be read. 'docs/lint.md' lists the rules.",
    .flags = flags,
    .run = run,
};
