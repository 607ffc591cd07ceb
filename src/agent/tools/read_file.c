/* read_file (§3.3): a text file with line numbers, a window of it with
 * offset/limit. Line numbers look the way each provider's reference agent
 * prints them (codex "L12: ", Claude Code's cat -n, the spec's "12 | "),
 * since that is the shape the models have learnt to quote back. */
#include <string.h>

#include "agent/tools/tools_internal.h"

enum { DEFAULT_LIMIT = 2000 };

static int digits(int64_t n)
{
    int d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

static int number_line(lo_buf *out, int flavor, int width, int64_t no, const char *s, size_t n)
{
    switch (flavor) {
    case LO_FLAVOR_OPENAI:
        return lo_buf_printf(out, "L%lld: %.*s\n", (long long)no, (int)n, s);
    case LO_FLAVOR_ANTHROPIC:
        return lo_buf_printf(out, "%6lld\t%.*s\n", (long long)no, (int)n, s);
    default:
        return lo_buf_printf(out, "%*lld | %.*s\n", width, (long long)no, (int)n, s);
    }
}

static int64_t count_lines(const char *s, size_t len)
{
    int64_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n';
    return n + (len && s[len - 1] != '\n');
}

static int run(const json_t *args, lo_agent_tool_ctx *ctx, lo_buf *out, lo_error *err)
{
    const char *path;
    int64_t offset, limit;
    int rc = lo_agent_arg_str_(args, "read_file", "file_path", true, &path, err);
    rc = rc ? rc : lo_agent_arg_int_(args, "read_file", "offset", 1, 1, &offset, err);
    rc = rc ? rc : lo_agent_arg_int_(args, "read_file", "limit", 1, DEFAULT_LIMIT, &limit, err);
    lo_agent_env *env = rc ? NULL : lo_agent_tool_env_(ctx, "read_file", err);
    if (!env)
        return rc ? rc : LO_EINVAL;
    char *data = NULL;
    size_t len = 0;
    if ((rc = env->ops->read_file(env, path, &data, &len, err)))
        return rc;
    const char *kind = lo_agent_binary_kind_(path, data, len);
    if (kind) {
        free(data);
        return lo_error_set(err, LO_EINVAL,
                            "read_file: %.900s is %s; this tool reads text only (use shell "
                            "tools such as file or xxd to inspect it)",
                            path, kind);
    }
    int64_t total = count_lines(data, len);
    if (total == 0) {
        free(data);
        return lo_buf_printf(out, "[%s is empty]\n", path);
    }
    if (offset > total) {
        free(data);
        return lo_error_set(err, LO_EINVAL,
                            "read_file: offset %lld is past the end of %.900s, which has %lld "
                            "line%s",
                            (long long)offset, path, (long long)total, total == 1 ? "" : "s");
    }
    int64_t last = offset - 1 + limit < total ? offset - 1 + limit : total;
    int flavor = lo_agent_tool_flavor_(ctx);
    int width = digits(last) < 3 ? 3 : digits(last);
    const char *p = data, *end = data + len;
    for (int64_t no = 1; no <= last && p < end && !rc; no++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (no >= offset)
            rc = number_line(out, flavor, width, no, p, n);
        p += n + (nl != NULL);
    }
    if (!rc && last < total)
        rc = lo_buf_printf(out, "[lines %lld-%lld of %lld; read on with offset=%lld]\n",
                           (long long)offset, (long long)last, (long long)total,
                           (long long)last + 1);
    free(data);
    return rc ? lo_error_set(err, rc, "read_file: out of memory") : 0;
}

static const char *const DESC[] = {
    [LO_FLAVOR_OPENAI] =
        "Read a text file from the workspace. Each line comes back prefixed with its number "
        "as \"L<n>: \". Use offset (1-based line) and limit (default 2000 lines) to read a "
        "slice of a long file. Binary files and images are refused.",
    [LO_FLAVOR_ANTHROPIC] =
        "Reads a file from the local filesystem. The file_path may be absolute or relative to "
        "the working directory; only files inside the working directory can be read.\n"
        "- By default up to 2000 lines are read from the start of the file; pass offset "
        "(1-based line) and limit for long files.\n"
        "- Output is numbered like cat -n: the line number, a tab, then the line. When you "
        "quote text back for an edit, leave the number and the tab out.\n"
        "- Binary files and images are refused with an error.\n"
        "- Reading several files that may all be useful at once is fine: call the tool for "
        "each.",
    [LO_FLAVOR_GEMINI] =
        "Reads and returns the content of a text file, each line prefixed with its number "
        "(\"  12 | text\"). For large files, use offset (1-based first line) and limit (how "
        "many lines) to page through them. Binary files and images are refused.",
};

static const char SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"file_path\":{\"type\":\"string\",\"description\":\"Path of the file: absolute, or "
    "relative to the working directory.\"},"
    "\"offset\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"1-based line number "
    "to start reading from.\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"Maximum number of "
    "lines to read (default 2000).\"}},"
    "\"required\":[\"file_path\"],\"additionalProperties\":false}";

int lo_agent_add_read_file_(lo_agent_registry *r, lo_agent_flavor f, lo_error *err)
{
    return lo_agent_tool_register_(r, "read_file", DESC[f], SCHEMA, run, f, err);
}
