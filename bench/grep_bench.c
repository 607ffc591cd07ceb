/* The grep tool against rg and grep -r (bench/grep.sh).
 *
 *   grep_bench TREE PATTERN RUNS
 *
 * Four ways of finding every line of TREE matching PATTERN (an extended
 * regular expression both rg and POSIX accept), each RUNS times after one
 * unmeasured warm-up, in rotating order so the machine's noise hits all:
 *
 *   builtin  the local environment's grep with the built-in search
 *   tool-rg  the same operation running rg (what the tool does when rg is
 *            installed: rg --sort=path, so one search thread)
 *   rg       rg -n --hidden on its own (all its threads), output to a file
 *   grep     grep -rnIE on its own, output to a file
 *
 * The two tool engines collect their results in memory as the model would
 * see them; max_results is raised so both report every match. Prints one
 * line per engine: "name=.. ms=.. lines=..", ms the median wall time. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lightsout/agent.h"

enum { ENGINES = 4, MAX_RUNS = 101 };

static const char *const NAMES[ENGINES] = {"builtin", "tool-rg", "rg", "grep"};

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static size_t count_lines(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += s[i] == '\n';
    return c;
}

/* argv run in dir with stdout to out_path; the lines it wrote, or -1. */
static long run_external(char *const argv[], const char *dir, const char *out_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || chdir(dir) != 0)
            _exit(127);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) > 1)
        return -1; /* 1 is "no match" for both */
    char *data = NULL;
    size_t len = 0;
    lo_error err;
    if (lo_file_read(out_path, 0, &data, &len, &err) != 0)
        return -1;
    long n = (long)count_lines(data, len);
    free(data);
    return n;
}

static long run_tool(lo_agent_env *env, const char *pattern, bool builtin)
{
    lo_agent_grep_opts o = {.max_results = 10000000, .builtin = builtin};
    lo_buf out;
    lo_buf_init(&out, 0);
    lo_error err;
    int rc = env->ops->grep(env, pattern, ".", &o, &out, &err);
    if (rc)
        fprintf(stderr, "grep_bench: %s\n", err.msg);
    long n = rc ? -1 : (long)count_lines(out.data, out.len);
    lo_buf_release(&out);
    return n;
}

static long run_one(int e, lo_agent_env *env, const char *tree, const char *pattern,
                    const char *out_path)
{
    char pat[4096];
    snprintf(pat, sizeof pat, "%s", pattern);
    if (e == 0 || e == 1)
        return run_tool(env, pattern, e == 0);
    if (e == 2) {
        char *argv[] = {"rg", "--no-config", "-n", "--hidden", "--no-heading", "-e", pat, ".", NULL};
        return run_external(argv, tree, out_path);
    }
    char *argv[] = {"grep", "-rnIE", "-e", pat, ".", NULL};
    return run_external(argv, tree, out_path);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: grep_bench TREE PATTERN RUNS\n");
        return 2;
    }
    const char *tree = argv[1], *pattern = argv[2];
    int runs = atoi(argv[3]);
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "grep_bench: RUNS must be 1..%d\n", MAX_RUNS);
        return 2;
    }
    char out_path[4096];
    snprintf(out_path, sizeof out_path, "%s.out", tree);
    lo_agent_env_opts o = {.workdir = tree};
    lo_error err;
    lo_agent_env *env = lo_agent_env_local(&o, &err);
    if (!env) {
        fprintf(stderr, "grep_bench: %s\n", err.msg);
        return 1;
    }
    static double ms[ENGINES][MAX_RUNS];
    long lines[ENGINES];
    for (int e = 0; e < ENGINES; e++) /* warm-up: the tree into the page cache */
        lines[e] = run_one(e, env, tree, pattern, out_path);
    for (int r = 0; r < runs; r++)
        for (int k = 0; k < ENGINES; k++) {
            int e = (r + k) % ENGINES;
            double t0 = now_ms();
            long n = run_one(e, env, tree, pattern, out_path);
            ms[e][r] = now_ms() - t0;
            if (n != lines[e])
                lines[e] = -1; /* failed or unstable: say so */
        }
    for (int e = 0; e < ENGINES; e++) {
        qsort(ms[e], (size_t)runs, sizeof(double), cmp);
        double med = runs % 2 ? ms[e][runs / 2] : (ms[e][runs / 2 - 1] + ms[e][runs / 2]) / 2;
        printf("name=%s ms=%.1f lines=%ld\n", NAMES[e], med, lines[e]);
    }
    unlink(out_path);
    lo_agent_env_free(env);
    return 0;
}
