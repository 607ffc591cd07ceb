/* lightsout render: draw a pipeline with Graphviz `dot`. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lightsout/lint.h"
#include "lightsout/proc.h"

static const cli_flag flags[] = {
    {"output", 'o', "FILE", "write the drawing to FILE (default: stdout)"},
    {"format", 'T', "FMT", "svg, png or pdf (default: from -o's extension, else svg)"},
    {"dot", 0, NULL, "print the plain Graphviz DOT instead of drawing it"},
    {0},
};

typedef struct opts {
    const char *output, *format;
    bool dot;
} opts;

static int on_flag(int idx, const char *arg, void *ud)
{
    opts *o = ud;
    if (idx == 0) o->output = arg;
    if (idx == 1) o->format = arg;
    if (idx == 2) o->dot = true;
    return 0;
}

static const char *format_of(const opts *o)
{
    if (o->format)
        return o->format;
    const char *dot = o->output ? strrchr(o->output, '.') : NULL;
    if (dot && (strcmp(dot, ".png") == 0 || strcmp(dot, ".pdf") == 0 || strcmp(dot, ".svg") == 0))
        return dot + 1;
    return "svg";
}

static int run(int argc, char **argv)
{
    opts o = {0};
    int nops, code;
    if (cli_parse(&cmd_render, argc, argv, on_flag, &o, &nops, &code))
        return code;
    if (nops != 1) {
        cli_error("render", "give exactly one pipeline (usage: lightsout render FILE.dot -o out.svg)");
        return EXIT_USAGE;
    }
    const char *fmt = format_of(&o);
    if (strcmp(fmt, "svg") && strcmp(fmt, "png") && strcmp(fmt, "pdf")) {
        cli_error("render", "unknown format '%s': use svg, png or pdf", fmt);
        return EXIT_USAGE;
    }
    lo_error err;
    lo_error_clear(&err);
    lo_graph *g = lo_graph_parse_file(argv[1], &err);
    if (!g) {
        lo_buf b;
        lo_buf_init(&b, 0);
        if (err.code == LO_EPARSE)
            lo_error_format(&err, true, &b);
        else
            lo_buf_printf(&b, "lightsout render: %s\n", err.msg);
        fputs(b.data ? b.data : "", stderr);
        lo_buf_release(&b);
        return EXIT_USAGE;
    }
    lo_buf dot;
    lo_buf_init(&dot, 0);
    if (lo_graph_to_plain_dot(g, &dot)) {
        lo_graph_free(g);
        cli_error("render", "out of memory");
        return EXIT_FAIL;
    }
    lo_graph_free(g);
    int rc = EXIT_OK;
    if (o.dot) {
        FILE *f = o.output ? fopen(o.output, "w") : stdout;
        if (!f || fwrite(dot.data, 1, dot.len, f) != dot.len || (o.output && fclose(f))) {
            cli_error("render", "cannot write %s", o.output ? o.output : "stdout");
            rc = EXIT_FAIL;
        }
        lo_buf_release(&dot);
        return rc;
    }
    char path[4096];
    if (!lo_which("dot", path, sizeof path)) {
        cli_error("render", "Graphviz 'dot' is not installed; install the 'graphviz' "
                  "package (apt-get install graphviz), or use --dot for plain DOT");
        lo_buf_release(&dot);
        return EXIT_FAIL;
    }
    char tflag[16];
    snprintf(tflag, sizeof tflag, "-T%s", fmt);
    char *args[] = {"dot", tflag, o.output ? "-o" : NULL, (char *)o.output, NULL};
    if (!o.output)
        args[2] = NULL;
    lo_buf errb;
    lo_buf_init(&errb, 64 * 1024);
    int status = 0;
    if (lo_proc_run(args, dot.data, dot.len, NULL, &errb, &status, &err)) {
        cli_error("render", "%s", err.msg);
        rc = EXIT_FAIL;
    } else if (status != 0) {
        cli_error("render", "dot failed (exit %d): %s", status,
                  errb.data ? errb.data : "no message");
        rc = EXIT_FAIL;
    }
    lo_buf_release(&errb);
    lo_buf_release(&dot);
    return rc;
}

const cli_command cmd_render = {
    .name = "render",
    .usage = "FILE.dot [-o out.svg] [-T svg|png|pdf] [--dot]",
    .summary = "draw a pipeline with Graphviz (translating our dialect to plain DOT)",
    .details = "Needs 'dot' from the graphviz package; --dot prints the translated\n"
               "plain DOT and needs nothing.",
    .flags = flags,
    .run = run,
};
