/*
 * gen_pipeline NODES EDGES [--plain]
 *
 * Writes a deterministic Attractor pipeline to stdout for the parse+lint
 * benchmark (bench/parse_lint.sh). The graph has a start node, an exit node
 * and NODES-2 stages n1..nN; a chain start -> n1 -> ... -> nN -> exit keeps
 * every node reachable, and the remaining EDGES-(NODES-1) edges join random
 * stages forward and backward (never into start, never out of exit).
 *
 * With --plain every value is quoted so Graphviz (`nop`) reads the same graph;
 * Attractor allows bare values such as timeout=900s that plain DOT does not.
 *
 * Standalone on purpose: no lightsout headers, so the benchmark input does not
 * depend on the code it measures.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int plain;

/* splitmix64: small, fast, and the same sequence on every platform. */
static uint64_t rng_state = 0x6c696768746f7574ULL; /* "lightout" */

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static long rng_below(long n)
{
    return (long)(rng_next() % (uint64_t)n);
}

/* A value Attractor accepts bare; quoted in --plain mode. */
static const char *q(void)
{
    return plain ? "\"" : "";
}

/* Node ids: 0 is start, 1..stages are n1..nN, stages+1 is exit. */
static void put_id(long id, long stages)
{
    if (id == 0)
        fputs("start", stdout);
    else if (id == stages + 1)
        fputs("exit", stdout);
    else
        printf("n%ld", id);
}

static void put_node(long i)
{
    const char *b = q();

    if (i % 10 == 0) {
        printf("n%ld [label=\"Test %ld\", shape=%sparallelogram%s, "
               "tool_command=\"make test\", timeout=%s600s%s, class=\"test\"];\n",
               i, i, b, b, b, b);
        return;
    }
    if (i % 7 == 0) {
        printf("n%ld [label=\"Check %ld\", shape=%sdiamond%s, class=\"gate\"];\n",
               i, i, b, b);
        return;
    }
    /* Not every stage sets everything: some inherit the model and class. */
    printf("n%ld [label=\"Stage %ld\", shape=%sbox%s, "
           "prompt=\"Implement step %ld of the plan for $goal and run the tests\", ",
           i, i, b, b, i);
    if (i % 2 == 1)
        printf("llm_model=%sclaude-sonnet-4-5%s, ", b, b);
    printf("timeout=%s900s%s, max_retries=%s2%s", b, b, b, b);
    if (i % 3 == 0)
        fputs(", class=\"code,step\"", stdout);
    fputs("];\n", stdout);
}

/* Attribute lists for the extra edges, picked at random. */
static void put_extra_attrs(long k)
{
    const char *b = q();

    switch (k) {
    case 0:
        printf(" [label=\"next\", condition=\"outcome=success\", weight=%s2%s]", b, b);
        break;
    case 1:
        fputs(" [condition=\"outcome=fail && context.retries!=3\"]", stdout);
        break;
    case 2:
        printf(" [label=\"retry\", condition=\"outcome=retry\", weight=%s1%s]", b, b);
        break;
    default:
        break;
    }
}

static int usage(void)
{
    fputs("usage: gen_pipeline NODES EDGES [--plain]\n"
          "  NODES >= 3 (start, exit and NODES-2 stages), EDGES >= NODES-1\n",
          stderr);
    return 2;
}

static int parse_count(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    long nodes, edges;

    if (argc == 4 && strcmp(argv[3], "--plain") == 0)
        plain = 1;
    else if (argc != 3)
        return usage();
    if (parse_count(argv[1], &nodes) || parse_count(argv[2], &edges))
        return usage();
    if (nodes < 3 || edges < nodes - 1)
        return usage();

    long stages = nodes - 2;

    puts("digraph Big {");
    printf("graph [goal=\"Build the generated benchmark pipeline with %ld stages\", "
           "label=\"Generated benchmark pipeline\", default_max_retries=%s1%s];\n",
           stages, q(), q());
    printf("start [shape=%sMdiamond%s, label=\"Start\"];\n", q(), q());
    printf("exit [shape=%sMsquare%s, label=\"Exit\"];\n", q(), q());
    for (long i = 1; i <= stages; i++)
        put_node(i);

    /* The chain: every stage reachable from start, exit reachable from all. */
    for (long i = 0; i <= stages; i++) {
                put_id(i, stages);
        fputs(" -> ", stdout);
        put_id(i + 1, stages);
        if (i > 0 && i % 7 == 0 && i % 10 != 0)
            fputs(" [label=\"pass\", condition=\"outcome=success\"]", stdout);
        fputs(";\n", stdout);
    }

    /* Extra edges: sources in start..nN, targets in n1..exit, no self-loops. */
    for (long e = nodes - 1; e < edges; e++) {
        long from, to;
        do {
            from = rng_below(stages + 1);
            to = 1 + rng_below(stages + 1);
        } while (from == to);
                put_id(from, stages);
        fputs(" -> ", stdout);
        put_id(to, stages);
        put_extra_attrs(rng_below(4));
        fputs(";\n", stdout);
    }
    puts("}");

    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("gen_pipeline: write");
        return 1;
    }
    return 0;
}
