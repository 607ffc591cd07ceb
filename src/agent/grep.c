/* The grep operation of the local and sandbox environments: ripgrep when it
 * is installed, else a built-in search over the same files.
 *
 * Both produce the same shape -- "path:line:text", "path" or "path:count",
 * paths relative to the working directory, sorted by path -- so a model
 * cannot tell which one ran, except by speed. The built-in search walks
 * what rg would (hidden files yes, .git no, .gitignore honoured), skips
 * binary files as rg does, and uses POSIX extended regular expressions
 * with the few rg spellings models use most (\d, (?i)) translated. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/env_internal.h"
#include "agent/search.h"
#include "lightsout/proc.h"

enum {
    DEFAULT_MAX = 100,
    LINE_SHOWN = 500,                 /* bytes of a long line shown (rg --max-columns) */
    MAX_FILE = 64 * 1024 * 1024,      /* bigger files are skipped */
    MAX_FILES = 1000000,
    RG_MAX_OUTPUT = 16 * 1024 * 1024,
    RG_TIMEOUT_MS = 120000,
};

typedef enum { MODE_CONTENT, MODE_FILES, MODE_COUNT } grep_mode;

static int parse_mode(const char *s, grep_mode *m, lo_error *err)
{
    if (!s || !*s || strcmp(s, "content") == 0)
        *m = MODE_CONTENT;
    else if (strcmp(s, "files_with_matches") == 0)
        *m = MODE_FILES;
    else if (strcmp(s, "count") == 0)
        *m = MODE_COUNT;
    else
        return lo_error_set(err, LO_EINVAL,
                            "grep: output_mode \"%.100s\" is not one of content, "
                            "files_with_matches, count",
                            s);
    return 0;
}

/* Results are lines of out; past max, one note says there are more. */
typedef struct results {
    lo_buf *out;
    long max, n;
    bool more;
} results;

static bool full(const results *r)
{
    return r->n >= r->max;
}

static int more_note(results *r)
{
    if (!r->more)
        return 0;
    return lo_buf_printf(r->out,
                         "[showing the first %ld results; there are more: narrow the pattern or "
                         "path, or raise max_results]\n",
                         r->max);
}

/* ---- ripgrep ---- */

static int run_rg(const char *rg, const lo_agent_local *st, const char *pattern,
                  const char *rel, const lo_agent_grep_opts *o, grep_mode mode, results *res,
                  lo_error *err)
{
    char tmp[PATH_MAX], out_path[PATH_MAX + 16], err_path[PATH_MAX + 16];
    const char *t = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/lightsout-rg-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmp))
        return lo_error_set(err, LO_EIO, "grep: cannot create a temporary directory");
    snprintf(out_path, sizeof out_path, "%s/stdout", tmp);
    snprintf(err_path, sizeof err_path, "%s/stderr", tmp);
    char glob_arg[4200];
    const char *argv[32];
    size_t n = 0;
    argv[n++] = rg;
    argv[n++] = "--no-config";
    argv[n++] = "--color=never";
    argv[n++] = "--no-heading";
    argv[n++] = "--with-filename";
    argv[n++] = "--line-number";
    argv[n++] = "--hidden";
    argv[n++] = "--no-require-git";
    argv[n++] = "--glob=!.git";
    argv[n++] = "--sort=path";
    argv[n++] = "--max-columns=500";
    argv[n++] = "--max-columns-preview";
    if (o && o->case_insensitive)
        argv[n++] = "--ignore-case";
    if (o && o->glob_filter && *o->glob_filter) {
        snprintf(glob_arg, sizeof glob_arg, "--glob=%s", o->glob_filter);
        argv[n++] = glob_arg;
    }
    if (mode == MODE_FILES)
        argv[n++] = "--files-with-matches";
    else if (mode == MODE_COUNT)
        argv[n++] = "--count";
    argv[n++] = "-e";
    argv[n++] = pattern;
    argv[n++] = "--";
    argv[n++] = *rel ? rel : ".";
    argv[n] = NULL;
    lo_proc_opts po = {.argv = (char *const *)argv, .cwd = st->root, .stdout_path = out_path,
                       .stderr_path = err_path, .timeout_ms = RG_TIMEOUT_MS,
                       .max_output_bytes = RG_MAX_OUTPUT};
    lo_proc_result pr;
    int rc = lo_proc_exec(&po, &pr, err);
    lo_buf_release(&pr.tail);
    char *data = NULL, *msg = NULL;
    size_t len = 0, mlen = 0;
    lo_error fe;
    if (!rc)
        rc = lo_file_read(out_path, 0, &data, &len, &fe);
    if (!rc && pr.exit_code == 2 && len == 0) { /* rg's "error" status, and nothing found */
        lo_file_read(err_path, 0, &msg, &mlen, &fe);
        while (mlen && (msg[mlen - 1] == '\n' || msg[mlen - 1] == ' '))
            msg[--mlen] = '\0';
        rc = lo_error_set(err, LO_EINVAL, "grep: %.900s", msg && *msg ? msg : "rg failed");
    } else if (!rc && pr.timed_out) {
        rc = lo_error_set(err, LO_EIO, "grep: the search took longer than %d s; search a "
                                       "narrower path", RG_TIMEOUT_MS / 1000);
    } else if (rc && rc != LO_EEXEC && rc != LO_EINVAL) {
        rc = lo_error_set(err, rc, "grep: rg's output cannot be read");
    }
    for (const char *p = data; !rc && p && p < data + len;) {
        const char *nl = memchr(p, '\n', (size_t)(data + len - p));
        size_t ln = nl ? (size_t)(nl - p) : (size_t)(data + len - p);
        if (full(res)) {
            res->more = true;
            break;
        }
        const char *s = p;
        if (ln >= 2 && s[0] == '.' && s[1] == '/') { /* searched as "." */
            s += 2;
            ln -= 2;
        }
        rc = lo_utf8_append_clean(res->out, s, ln);
        rc = rc ? rc : lo_buf_putc(res->out, '\n');
        res->n++;
        p += (size_t)(s - p) + ln + 1;
    }
    free(data);
    free(msg);
    unlink(out_path);
    unlink(err_path);
    rmdir(tmp);
    return rc;
}

/* ---- the built-in search ---- */

typedef struct search {
    regex_t re;
    bool literal, icase;
    const char *lit;
    size_t lit_len;
    const lo_agent_glob *filter;
    bool filter_path;        /* the filter has a '/': match the path, else the name */
    size_t base_len;         /* of the searched directory's rel path, to filter by */
    grep_mode mode;
    results *res;
} search;

static bool is_literal(const char *p)
{
    return strpbrk(p, ".[]()*+?{}|^$\\") == NULL;
}

/* rg spellings POSIX lacks: \d \D, and a leading (?i). */
static int translate(const char *p, lo_buf *b, bool *icase)
{
    if (strncmp(p, "(?i)", 4) == 0) {
        *icase = true;
        p += 4;
    }
    int rc = 0;
    for (; *p && !rc; p++) {
        if (p[0] == '\\' && (p[1] == 'd' || p[1] == 'D')) {
            rc = lo_buf_puts(b, p[1] == 'd' ? "[0-9]" : "[^0-9]");
            p++;
        } else if (p[0] == '\\' && p[1]) {
            rc = lo_buf_append(b, p, 2);
            p++;
        } else {
            rc = lo_buf_putc(b, *p);
        }
    }
    return rc;
}

/* The first match at or after p (a line start), or NULL. */
static const char *find(const search *s, const char *p, const char *end)
{
    if (s->literal) {
        if (!s->lit_len)
            return p;
        if (!s->icase)
            return memmem(p, (size_t)(end - p), s->lit, s->lit_len);
        return strcasestr(p, s->lit); /* the buffer is NUL-terminated */
    }
    regmatch_t m;
    if (regexec(&s->re, p, 1, &m, 0) != 0)
        return NULL;
    return p + m.rm_so;
}

static int emit_line(results *r, const char *rel, long no, const char *s, size_t n)
{
    bool cut = n > LINE_SHOWN;
    if (cut) {
        n = LINE_SHOWN;
        while (n && ((unsigned char)s[n] & 0xC0) == 0x80) /* not inside a character */
            n--;
    }
    int rc = lo_buf_printf(r->out, "%s:%ld:", rel, no);
    rc = rc ? rc : lo_utf8_append_clean(r->out, s, n);
    rc = rc ? rc : lo_buf_puts(r->out, cut ? " [... omitted end of long line]\n" : "\n");
    r->n++;
    return rc;
}

static bool filtered_out(const search *s, const char *rel)
{
    if (!s->filter)
        return false;
    if (s->filter_path) {
        const char *sub = s->base_len && strlen(rel) > s->base_len ? rel + s->base_len + 1 : rel;
        return !lo_agent_glob_match_(s->filter, sub);
    }
    const char *base = strrchr(rel, '/');
    return !lo_agent_glob_match_(s->filter, base ? base + 1 : rel);
}

/* rg lets a --glob match win over the ignore files; so does the fallback */
static bool keep_ignored(const char *rel, void *ud)
{
    const search *s = ud;
    return s->filter && !filtered_out(s, rel);
}

static int search_file(const char *abs, const char *rel, void *ud, lo_error *err)
{
    search *s = ud;
    if (filtered_out(s, rel))
        return 0;
    struct stat st;
    if (stat(abs, &st) != 0 || st.st_size > MAX_FILE)
        return 0;
    char *data = NULL;
    size_t len = 0;
    lo_error fe;
    if (lo_file_read(abs, MAX_FILE, &data, &len, &fe))
        return 0; /* unreadable files are skipped, as rg does */
    if (memchr(data, '\0', len < 8192 ? len : 8192)) {
        free(data);
        return 0;
    }
    const char *end = data + len;
    long count = 0, line_no = 1;
    const char *line_start = data;
    int rc = 0;
    while (!rc && line_start < end) {
        const char *m = find(s, line_start, end);
        if (!m || m >= end)
            break;
        /* the line holding m, and its number */
        for (const char *q = line_start; (q = memchr(q, '\n', (size_t)(m - q))); q++) {
            line_no++;
            line_start = q + 1;
        }
        const char *nl = memchr(m, '\n', (size_t)(end - m));
        const char *line_end = nl ? nl : end;
        count++;
        if (s->mode == MODE_CONTENT) {
            if (full(s->res)) {
                s->res->more = true;
                rc = 1;
                break;
            }
            rc = emit_line(s->res, rel, line_no, line_start, (size_t)(line_end - line_start));
        } else if (s->mode == MODE_FILES) {
            break;
        }
        if (!nl)
            break;
        line_start = nl + 1;
        line_no++;
    }
    free(data);
    if (rc < 0)
        return lo_error_set(err, LO_ENOMEM, "grep: out of memory");
    if (rc == 1 || !count || s->mode == MODE_CONTENT)
        return rc;
    if (full(s->res)) {
        s->res->more = true;
        return 1;
    }
    s->res->n++;
    int w = s->mode == MODE_FILES ? lo_buf_printf(s->res->out, "%s\n", rel)
                                  : lo_buf_printf(s->res->out, "%s:%ld\n", rel, count);
    return w ? lo_error_set(err, LO_ENOMEM, "grep: out of memory") : 0;
}

static int run_builtin(const lo_agent_local *st, const char *pattern, const char *abs,
                       const char *rel, const lo_agent_grep_opts *o, grep_mode mode,
                       results *res, lo_error *err)
{
    search s = {.mode = mode, .res = res, .icase = o && o->case_insensitive};
    lo_agent_glob filter = {0};
    int rc;
    if (o && o->glob_filter && *o->glob_filter) {
        if ((rc = lo_agent_glob_compile_(o->glob_filter, &filter, err)))
            return lo_agent_err_prefix_(err, rc, "grep: glob_filter");
        s.filter = &filter;
        s.filter_path = strchr(o->glob_filter, '/') != NULL;
        s.base_len = strlen(rel);
    }
    lo_buf re_text;
    lo_buf_init(&re_text, 0);
    if ((rc = translate(pattern, &re_text, &s.icase))) {
        lo_agent_glob_release_(&filter);
        return lo_error_set(err, LO_ENOMEM, "out of memory");
    }
    const char *re_src = re_text.data ? re_text.data : "";
    s.literal = is_literal(re_src);
    s.lit = re_src;
    s.lit_len = strlen(re_src);
    if (!s.literal) {
        int e = regcomp(&s.re, re_src, REG_EXTENDED | REG_NEWLINE | (s.icase ? REG_ICASE : 0));
        if (e) {
            char why[256];
            regerror(e, &s.re, why, sizeof why);
            lo_buf_release(&re_text);
            lo_agent_glob_release_(&filter);
            return lo_error_set(err, LO_EINVAL, "grep: invalid regular expression \"%.200s\": %s",
                                pattern, why);
        }
    }
    lo_agent_walk w = {.root = st->root, .use_ignore = true, .on_file = search_file,
                       .keep_ignored = keep_ignored, .ud = &s, .max_files = MAX_FILES};
    rc = lo_agent_walk_(&w, abs, err);
    if (rc == LO_ETOOBIG)
        rc = lo_agent_err_prefix_(err, rc, "grep");
    if (!s.literal)
        regfree(&s.re);
    lo_buf_release(&re_text);
    lo_agent_glob_release_(&filter);
    return rc;
}

int lo_agent_local_grep_(lo_agent_env *e, const char *pattern, const char *path,
                         const lo_agent_grep_opts *o, lo_buf *out, lo_error *err)
{
    lo_agent_local *st = e->state;
    if (!pattern)
        return lo_error_set(err, LO_EINVAL, "grep: the pattern is required");
    grep_mode mode;
    int rc = parse_mode(o ? o->output_mode : NULL, &mode, err);
    if (rc)
        return rc;
    char abs[PATH_MAX];
    if ((rc = lo_agent_path_resolve_(st->root, "grep", path && *path ? path : ".",
                                     LO_PATH_MUST_EXIST, abs, err)))
        return rc;
    const char *rel = lo_agent_path_rel_(st->root, st->root_len, abs);
    results res = {.out = out, .max = o && o->max_results > 0 ? o->max_results : DEFAULT_MAX};
    char rg[PATH_MAX];
    if (!(o && o->builtin) && lo_which("rg", rg, sizeof rg))
        rc = run_rg(rg, st, pattern, rel, o, mode, &res, err);
    else
        rc = run_builtin(st, pattern, abs, rel, o, mode, &res, err);
    if (rc < 0)
        return rc;
    return more_note(&res) ? lo_error_set(err, LO_ENOMEM, "out of memory") : 0;
}
